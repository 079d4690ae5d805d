/* cmd_run.c: `ksiss run`: the autoscaler's control loop (src/shell/
 * controller.c) with the original's environment variables (COMPATIBILITY.md)
 * and flags that override them. SIGTERM/SIGINT stop it cleanly (the Lease
 * is released). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "shell/controller.h"

static const char usage[] =
    "usage: ksiss run [--kubeconfig FILE] [--namespace NS] [--prometheus URL]\n"
    "                 [--interval DURATION] [--listen ADDR] [--dry-run]\n"
    "                 [--lease-namespace NS] [--lease-name NAME] [--no-leader-election]\n"
    "                 [--traffic-steps 10,50,100] [--ready-timeout DURATION] [--backoff DURATION]\n"
    "Runs the autoscaler: every interval, for each Knative Service of the\n"
    "namespace named in the ConfigMap, reads its metrics, decides, and advances\n"
    "its tier change or instance count one step. Environment (as the original):\n"
    "METRICS_SCRAPE_INTERVAL, NAMESPACE, IGNORE_LIST, CONFIG_MAP_NAME,\n"
    "PROMETHEUS_URL, DEFAULT_CPU, DEFAULT_MEMORY; flags override them.\n"
    "  --dry-run              decide and log, change nothing\n"
    "  --listen ADDR          /metrics, /healthz, /readyz (default :8080)\n"
    "  --traffic-steps LIST   percentages of traffic moved per tick to a new tier (default 10,50,100;\n"
    "                         100 = at once)\n"
    "  --ready-timeout D      a new revision not Ready within D is rolled back (default 5m)\n"
    "  --backoff D            a rolled-back tier is not tried again for D (default 30m)\n"
    "  --no-leader-election   act without a Lease (one instance only)\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int ksiss_cmd_run(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return KSISS_EXIT_OK;
    }
    ksiss_controller_opts o = {0};
    const char *interval = NULL, *steps = NULL, *ready = NULL, *backoff = NULL, *max_ticks = NULL;
    static const char *const names[] = {"--kubeconfig", "--namespace", "--prometheus", "--interval",
                                        "--listen", "--lease-namespace", "--lease-name", "--traffic-steps",
                                        "--ready-timeout", "--backoff", "--max-ticks"};
    const char **slots[] = {&o.kubeconfig, &o.namespace_name, &o.prometheus_url, &interval, &o.listen,
                            &o.lease_namespace, &o.lease_name, &steps, &ready, &backoff, &max_ticks};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run")) {
            o.dry_run = true;
            continue;
        }
        if (!strcmp(argv[i], "--no-leader-election")) {
            o.no_leader_election = true;
            continue;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !known; k++) {
            size_t len = strlen(names[k]);
            if (!strcmp(argv[i], names[k])) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "ksiss run: %s needs a value\n%s", names[k], usage);
                    return KSISS_EXIT_USAGE;
                }
                *slots[k] = argv[++i];
                known = true;
            } else if (!strncmp(argv[i], names[k], len) && argv[i][len] == '=') {
                *slots[k] = argv[i] + len + 1;
                known = true;
            }
        }
        if (!known) {
            fprintf(stderr, "ksiss run: unknown argument \"%s\"\n%s", argv[i], usage);
            return KSISS_EXIT_USAGE;
        }
    }
    struct {
        const char *flag, *value;
        int64_t *out;
    } durations[] = {
        {"--interval", interval, &o.interval_ms},
        {"--ready-timeout", ready, &o.ready_timeout_ms},
        {"--backoff", backoff, &o.backoff_ms},
    };
    for (size_t k = 0; k < sizeof(durations) / sizeof(durations[0]); k++) {
        if (!durations[k].value)
            continue;
        if (ksiss_parse_duration_ms(durations[k].value, durations[k].out) != 0 || *durations[k].out <= 0) {
            fprintf(stderr, "ksiss run: %s \"%s\": expected a positive duration (10s, 500ms, 5m)\n",
                    durations[k].flag, durations[k].value);
            return KSISS_EXIT_USAGE;
        }
    }
    if (max_ticks) {
        int64_t n;
        if (ksiss_parse_int64(max_ticks, &n) != 0 || n < 1 || n > 1000000000) {
            fprintf(stderr, "ksiss run: --max-ticks \"%s\": expected a positive count\n", max_ticks);
            return KSISS_EXIT_USAGE;
        }
        o.max_ticks = (int)n;
    }
    int *step_list = NULL;
    if (steps) {
        char *err = NULL;
        if (ksiss_parse_traffic_steps(steps, &step_list, &o.n_traffic_steps, &err) != 0) {
            fprintf(stderr, "ksiss run: --traffic-steps: %s\n", err);
            free(err);
            return KSISS_EXIT_USAGE;
        }
        o.traffic_steps = step_list;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = ksiss_controller_run(&o, &stop_flag);
    free(step_list);
    return rc;
}
