/* test_cli_exit.c: the exit codes of README "Exit codes", the same for every
 * command that reads the environment: an invalid environment variable is
 * invalid configuration (1, the message names the variable), an invalid
 * flag value a usage error (2), a file that cannot be read a runtime
 * failure (3). `ksiss run` exited 3 and query/explain/simulate 2 on an
 * invalid environment variable. Nothing here reaches the network: each
 * case fails before the first request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "core/util.h"

typedef int (*cmd_fn)(int argc, char **argv);

/* Every variable a case may set; each case starts with none of them. */
static const char *const env_vars[] = {
    "METRICS_SCRAPE_INTERVAL", "NAMESPACE", "IGNORE_LIST", "CONFIG_MAP_NAME", "PROMETHEUS_URL",
    "DEFAULT_CPU", "DEFAULT_MEMORY", "KSISS_WORKERS", "KSISS_PROM_BATCH_SIZE", "KSISS_DECISION_LOG",
    "PROMETHEUS_TIMEOUT", "PROMETHEUS_CONNECT_TIMEOUT", "PROMETHEUS_PASSWORD", "PROMETHEUS_USERNAME",
    "PROMETHEUS_BEARER_TOKEN", "PROMETHEUS_BEARER_TOKEN_FILE", "KUBECONFIG", "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
};

typedef struct {
    const char *name;
    cmd_fn cmd;
    const char *args[12];    /* argv after the command's name */
    const char *env[4];      /* NAME=VALUE, NULL-ended */
    int rc;
    const char *stderr_has; /* what the message must name */
} exit_case;

static char *slurp_and_remove(const char *path)
{
    size_t len;
    char *err = NULL;
    char *t = ksiss_read_file(path, 1 << 20, &len, &err);
    if (!t)
        fail_msg("%s", err);
    unlink(path);
    return t;
}

/* Runs one case with stderr and stdout captured; returns the exit code and
 * what went to stderr in *out (caller frees). */
static int run_case(const exit_case *c, char **out)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
    setenv("HOME", "/nonexistent-ksiss-home", 1);
    for (size_t i = 0; c->env[i]; i++) {
        char *kv = ksiss_xstrdup(c->env[i]);
        char *eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        setenv(kv, eq + 1, 1);
        free(kv);
    }
    char *argv[14] = {"cmd"};
    int argc = 1;
    for (size_t i = 0; c->args[i]; i++)
        argv[argc++] = (char *)c->args[i];
    argv[argc] = NULL;
    fflush(stderr);
    fflush(stdout);
    char epath[] = "/tmp/ksiss-exit-err-XXXXXX", opath[] = "/tmp/ksiss-exit-out-XXXXXX";
    int efd = mkstemp(epath), ofd = mkstemp(opath);
    assert_true(efd >= 0 && ofd >= 0);
    int saved_err = dup(2), saved_out = dup(1);
    dup2(efd, 2);
    dup2(ofd, 1);
    int rc = c->cmd(argc, argv);
    fflush(stderr);
    fflush(stdout);
    dup2(saved_err, 2);
    dup2(saved_out, 1);
    close(saved_err);
    close(saved_out);
    close(efd);
    close(ofd);
    *out = slurp_and_remove(epath);
    free(slurp_and_remove(opath));
    return rc;
}

#define CFG_FILE "examples/autoscaler-config.yaml"
#define NO_FILE "/nonexistent/ksiss-kubeconfig"

static const exit_case cases[] = {
    /* ksiss run: invalid configuration (1) */
    {"run: METRICS_SCRAPE_INTERVAL", ksiss_cmd_run, {"--no-leader-election", NULL},
     {"METRICS_SCRAPE_INTERVAL=often", NULL}, KSISS_EXIT_PROBLEM, "METRICS_SCRAPE_INTERVAL"},
    {"run: NAMESPACE", ksiss_cmd_run, {"--no-leader-election", NULL}, {"NAMESPACE=Not_A_Namespace", NULL},
     KSISS_EXIT_PROBLEM, "NAMESPACE"},
    {"run: PROMETHEUS_URL with a query string", ksiss_cmd_run, {"--no-leader-election", NULL},
     {"PROMETHEUS_URL=http://prom:9090/?x=1", NULL}, KSISS_EXIT_PROBLEM, "PROMETHEUS_URL"},
    {"run: KSISS_WORKERS", ksiss_cmd_run, {"--no-leader-election", NULL}, {"KSISS_WORKERS=many", NULL},
     KSISS_EXIT_PROBLEM, "KSISS_WORKERS"},
    {"run: KSISS_PROM_BATCH_SIZE", ksiss_cmd_run, {"--no-leader-election", NULL},
     {"KSISS_PROM_BATCH_SIZE=lots", NULL}, KSISS_EXIT_PROBLEM, "KSISS_PROM_BATCH_SIZE"},
    {"run: PROMETHEUS_TIMEOUT", ksiss_cmd_run, {"--no-leader-election", NULL}, {"PROMETHEUS_TIMEOUT=soon", NULL},
     KSISS_EXIT_PROBLEM, "PROMETHEUS_TIMEOUT"},
    {"run: PROMETHEUS_PASSWORD without PROMETHEUS_USERNAME", ksiss_cmd_run, {"--no-leader-election", NULL},
     {"PROMETHEUS_PASSWORD=pw", NULL}, KSISS_EXIT_PROBLEM, "PROMETHEUS_USERNAME"},
    /* ksiss run: usage (2) and runtime (3) stay as they were */
    {"run: --prometheus that is not http", ksiss_cmd_run, {"--no-leader-election", "--prometheus", "ftp://x", NULL},
     {NULL}, KSISS_EXIT_USAGE, "http://"},
    {"run: --prometheus with a query string", ksiss_cmd_run,
     {"--no-leader-election", "--prometheus", "http://prom:9090/api/v1/query?x=1", NULL}, {NULL}, KSISS_EXIT_USAGE,
     "query string"},
    {"run: --interval", ksiss_cmd_run, {"--interval", "often", NULL}, {NULL}, KSISS_EXIT_USAGE, "--interval"},
    {"run: unreadable kubeconfig", ksiss_cmd_run, {"--no-leader-election", "--kubeconfig", NO_FILE, NULL}, {NULL},
     KSISS_EXIT_RUNTIME, NO_FILE},
    /* ksiss query */
    {"query: PROMETHEUS_URL with a query string", ksiss_cmd_query, {"--config", CFG_FILE, "--service", "gpt2", NULL},
     {"PROMETHEUS_URL=http://prom:9090/?x=1", NULL}, KSISS_EXIT_PROBLEM, "PROMETHEUS_URL"},
    {"query: PROMETHEUS_CONNECT_TIMEOUT", ksiss_cmd_query, {"--config", CFG_FILE, "--service", "gpt2", NULL},
     {"PROMETHEUS_CONNECT_TIMEOUT=-1s", NULL}, KSISS_EXIT_PROBLEM, "PROMETHEUS_CONNECT_TIMEOUT"},
    {"query: --prometheus with a query string", ksiss_cmd_query,
     {"--config", CFG_FILE, "--service", "gpt2", "--prometheus", "http://prom:9090/?x=1", NULL}, {NULL},
     KSISS_EXIT_USAGE, "--prometheus"},
    {"query: NAMESPACE", ksiss_cmd_query, {"--config", CFG_FILE, "--service", "gpt2", "--pods", "p0", NULL},
     {"NAMESPACE=a\"} or vector(1) or {x=\"", NULL}, KSISS_EXIT_PROBLEM, "NAMESPACE"},
    {"query: --namespace", ksiss_cmd_query,
     {"--config", CFG_FILE, "--service", "gpt2", "--pods", "p0", "--namespace", "../kube-system", NULL}, {NULL},
     KSISS_EXIT_USAGE, "--namespace \"../kube-system\""},
    /* ksiss simulate (the files are read after the interval is checked) */
    {"simulate: METRICS_SCRAPE_INTERVAL", ksiss_cmd_simulate,
     {"--trace", "t.csv", "--config", "c.yaml", "--cluster", "k.yaml", NULL}, {"METRICS_SCRAPE_INTERVAL=often", NULL},
     KSISS_EXIT_PROBLEM, "METRICS_SCRAPE_INTERVAL \"often\""},
    {"simulate: --interval", ksiss_cmd_simulate,
     {"--trace", "t.csv", "--config", "c.yaml", "--cluster", "k.yaml", "--interval", "often", NULL}, {NULL},
     KSISS_EXIT_USAGE, "--interval \"often\""},
    /* ksiss explain */
    {"explain: METRICS_SCRAPE_INTERVAL", ksiss_cmd_explain, {"--service", "gpt2", NULL},
     {"METRICS_SCRAPE_INTERVAL=often", NULL}, KSISS_EXIT_PROBLEM, "METRICS_SCRAPE_INTERVAL"},
    {"explain: CONFIG_MAP_NAME", ksiss_cmd_explain, {"--service", "gpt2", NULL},
     {"CONFIG_MAP_NAME=Not/A/Name", NULL}, KSISS_EXIT_PROBLEM, "CONFIG_MAP_NAME"},
    {"explain: --namespace", ksiss_cmd_explain, {"--service", "gpt2", "--namespace", "Kube_System", NULL}, {NULL},
     KSISS_EXIT_USAGE, "--namespace \"Kube_System\""},
    {"explain: unreadable kubeconfig", ksiss_cmd_explain, {"--service", "gpt2", "--kubeconfig", NO_FILE, NULL},
     {NULL}, KSISS_EXIT_RUNTIME, NO_FILE},
};

static void test_exit_codes_follow_the_readme(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err = NULL;
        int rc = run_case(&cases[i], &err);
        if (rc != cases[i].rc || !strstr(err, cases[i].stderr_has)) {
            print_error("%s: exit %d (want %d), stderr %s '%s':\n%s\n", cases[i].name, rc, cases[i].rc,
                        strstr(err, cases[i].stderr_has) ? "names" : "does not name", cases[i].stderr_has, err);
            bad++;
        }
        free(err);
    }
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes_follow_the_readme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
