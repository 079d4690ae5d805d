/* cmd_explain.c: `ksiss explain --service NAME [--namespace NS]
 * [--kubeconfig FILE] [--prometheus URL] [--config FILE]`: like `kubectl
 * describe hpa`: the service's tier and instances, each metric against its
 * SLO, the free GPUs that matter to it, any transition in flight, and the
 * decision the policy would take now with its reason, plus the transition
 * step that would follow. Reads only; changes nothing. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/inventory.h"
#include "core/transition.h"
#include "core/util.h"
#include "shell/controller.h"
#include "shell/clock.h"
#include "shell/env.h"

#define CONFIG_FILE_MAX (4u << 20)

static const char usage[] =
    "usage: ksiss explain --service NAME [--namespace NS] [--kubeconfig FILE]\n"
    "                     [--prometheus URL] [--config FILE]\n"
    "Shows what K-SISS sees of one Knative Service and the decision it would\n"
    "take now, without changing anything.\n"
    "  --service NAME     the Knative Service\n"
    "  --namespace NS     its namespace (default: $NAMESPACE, else \"default\")\n"
    "  --kubeconfig FILE  cluster access (default: $KUBECONFIG, in-cluster, ~/.kube/config)\n"
    "  --prometheus URL   Prometheus (default: $PROMETHEUS_URL)\n"
    "  --config FILE      read the configuration from FILE instead of the ConfigMap\n"
    "                     ($CONFIG_MAP_NAME, default autoscaler-config)\n";

static void print_diags(const ksiss_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *line = ksiss_diag_format(&d->v[i]);
        fprintf(stderr, "ksiss explain: %s\n", line);
        free(line);
    }
}

/* Loads the configuration from --config or the ConfigMap. Returns 0, 1
 * (invalid), 3 (unreadable). */
static int load_config(ksiss_kube *kube, const char *ns, const char *cm_name, const char *file, ksiss_catalog *cat,
                       ksiss_config *cfg, char **source)
{
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc;
    if (file) {
        size_t len;
        char *err = NULL;
        char *text = ksiss_read_file(file, CONFIG_FILE_MAX, &len, &err);
        if (!text) {
            fprintf(stderr, "ksiss explain: %s\n", err);
            free(err);
            return KSISS_EXIT_RUNTIME;
        }
        rc = ksiss_config_parse(text, len, file, cm_name, cat, cfg, &d);
        free(text);
        *source = ksiss_xstrdup(file);
    } else {
        json_t *cm = NULL;
        ksiss_kube_error ke = {0};
        if (ksiss_kube_get(kube, &KSISS_KUBE_CONFIGMAPS, ns, cm_name, &cm, &ke) != KSISS_KUBE_OK) {
            fprintf(stderr, "ksiss explain: cannot read ConfigMap %s/%s: %s\n", ns, cm_name,
                    ke.message ? ke.message : ksiss_kube_rc_name(ke.rc));
            ksiss_kube_error_clear(&ke);
            return KSISS_EXIT_RUNTIME;
        }
        *source = ksiss_xasprintf("configmap %s/%s", ns, cm_name);
        rc = ksiss_config_parse_configmap_json(cm, *source, cat, cfg, &d);
        json_decref(cm);
    }
    if (rc != 0) {
        print_diags(&d);
        fprintf(stderr, "ksiss explain: the configuration is invalid\n");
    }
    ksiss_diags_free(&d);
    return rc == 0 ? KSISS_EXIT_OK : KSISS_EXIT_PROBLEM;
}

static void print_time_ago(int64_t now_ms, int64_t at_ms)
{
    char *d = ksiss_format_duration(now_ms > at_ms ? now_ms - at_ms : 0);
    printf("%s ago", d);
    free(d);
}

/* The tiers too slow for the prompts (tier_floor.h): which, and on what. */
static void explain_floor(const ksiss_service_cfg *svc, const ksiss_eval *ev)
{
    double target = svc->slo_target > 0 && svc->slo_target < 1 ? svc->slo_target : KSISS_DEFAULT_SLO_TARGET;
    if (!svc->load.learn_queries[KSISS_LQ_PROMPT_HIST]) {
        printf("Prompt lengths:   no query (learnQueries.promptHistogram is \"\"): no tier is judged too slow\n");
        return;
    }
    if (!(ev->ttft_slo > 0)) {
        printf("Prompt lengths:   no TTFT metric among the metrics: no tier is judged too slow\n");
        return;
    }
    if (!(ev->tallied > 0)) {
        printf("Prompt lengths:   no requests in the histogram%s%s%s: no tier is judged too slow\n",
               ev->learn_hist == KSISS_HIST_BAD ? " (" : "", ev->learn_hist == KSISS_HIST_BAD ? ev->learn_hist_why : "",
               ev->learn_hist == KSISS_HIST_BAD ? ")" : "");
        return;
    }
    printf("Prompt lengths:   %.0f requests (explain reads one window; ksiss run tallies hours); tiers whose idle "
           "instance misses the %.3g s TTFT SLO on more than %.3g%% of them beyond the fastest tier are no tier "
           "change's target:", ev->tallied, ev->ttft_slo, 100 * (1 - target));
    if (ev->n_slow == 0)
        printf(" none\n");
    for (size_t i = 0; i < ev->n_slow; i++)
        printf("%s %s (%.3g%% miss, the fastest %.3g%%)%s", i ? "," : "", ev->slow[i].tier->name,
               100 * ev->slow[i].share, 100 * ev->slow[i].best, i + 1 == ev->n_slow ? "\n" : "");
}

static void print_report(const char *ns, const char *name, const char *source, const ksiss_service_cfg *configured,
                         bool by_prefix, const ksiss_eval *ev, const ksiss_inventory *inv, bool has_inv,
                         const ksiss_catalog *cat, int64_t now_ms)
{
    const ksiss_service_cfg *svc = ksiss_eval_service(ev, configured);
    const json_t *st = json_object_get(ev->view.service, "status");
    const char *rev = json_string_value(json_object_get(st, "latestReadyRevisionName"));
    printf("Name:             %s\n", name);
    printf("Namespace:        %s\n", ns);
    printf("Configuration:    %s, key \"%s\"%s, policy %s\n", source, svc->name,
           by_prefix ? " (matched by the original's prefix rule)" : "", svc->policy ? svc->policy : "ksiss");
    /* Which GPU model, and from what (a service in the original's format
     * names none: found from its revision and nodes, gpu_resolve.h). */
    if (ev->gpu.model)
        printf("GPU model:        %s (from %s: %s)\n", ev->gpu.model, ksiss_gpu_source_name(ev->gpu.source),
               ev->gpu.seen ? ev->gpu.seen : "");
    else
        printf("GPU model:        %s: %s\n", ev->gpu.source == KSISS_GPU_MIXED ? "mixed" : "unknown",
               ev->gpu.seen ? ev->gpu.seen : "nothing seen");
    const ksiss_tier *t = ev->current.tier;
    if (t)
        printf("Tier:             %s (%s x%d, %s)\n", t->name, t->resource, t->count, t->gpu_model);
    else
        printf("Tier:             unknown: %s\n", ev->tier_why ? ev->tier_why : "no serving revision");
    printf("Instances:        %d ready, %d starting (revision %s); allowed %d..%d\n", ev->current.replicas_ready,
           ev->current.replicas_starting, rev ? rev : "none", svc->min_replicas, svc->max_replicas);
    printf("Allowed tiers:   ");
    for (size_t i = 0; i < svc->n_ladder; i++)
        printf("%s%s", i ? ", " : " ", svc->ladder[i]->name);
    printf("\n");
    printf("Metrics:\n");
    printf("  %-28s %12s %10s %9s %7s %7s  %s\n", "NAME", "VALUE", "SLO", "PRESSURE", "UP>", "DOWN<", "STATUS");
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        const ksiss_observation *o = &ev->obs[i];
        char value[32] = "-", pressure[32] = "-";
        if (o->present) {
            snprintf(value, sizeof(value), "%.4g", o->value);
            double p = ksiss_metric_pressure(m, o->value);
            if (!isnan(p))
                snprintf(pressure, sizeof(pressure), "%.3g", p);
        }
        printf("  %-28s %12s %10.4g %9s %7.3g %7.3g  %s%s\n", m->name, value, m->slo, pressure, m->scale_up_factor,
               m->scale_down_factor, o->present ? "ok" : "missing: ", o->present ? "" :
               (o->why_missing ? o->why_missing : "no value"));
    }
    if (svc->has_load) {
        if (ev->load.present && svc->load.learn)
            printf("Load:             %.4g (capacity learned per tier%s)\n", ev->load.value,
                   svc->load.per_gpu > 0 ? ", starting from perGpu" : "");
        else if (ev->load.present)
            printf("Load:             %.4g (one whole GPU sustains %.4g)\n", ev->load.value, svc->load.per_gpu);
        else
            printf("Load:             missing: %s\n", ev->load.why_missing ? ev->load.why_missing : "no value");
    }
    if (svc->has_load && svc->load.throughput == KSISS_THROUGHPUT_PREFILL)
        explain_floor(svc, ev);
    if (ev->learning) {
        /* issue 17: what was learned, per tier, from the Service's annotation and this tick's window */
        const char *unit = svc->load.throughput == KSISS_THROUGHPUT_PREFILL ? "prompt tokens/s" : "generated tokens/s";
        printf("Learned capacity (one instance, %s within the SLO; the policy plans with the bound):\n", unit);
        printf("  %-16s %12s %12s %8s %-10s %-28s %8s %s\n", "tier", "capacity", "bound", "+-", "source",
               "k's prior", "windows", "age");
        for (size_t i = 0; i < ev->cap_view.n; i++) {
            const ksiss_cap_estimate *e = &ev->learned[i];
            char cap[32] = "-", bound[32] = "-", sd[16] = "-", age[32] = "-";
            if (isfinite(e->capacity))
                snprintf(cap, sizeof(cap), "%.4g", e->capacity);
            if (isfinite(e->bound))
                snprintf(bound, sizeof(bound), "%.4g", e->bound);
            if (isfinite(e->rel_sd))
                snprintf(sd, sizeof(sd), "%.1f%%", 100 * e->rel_sd);
            if (e->age_ms >= 0)
                snprintf(age, sizeof(age), "%llds", (long long)(e->age_ms / 1000));
            /* where the queueing slope's prior came from: the histogram's (1 + c^2) / 2 or the fallback */
            char kp[64] = "-";
            if (e->k_src != KSISS_KPRIOR_UNSET && isfinite(e->k0) && isfinite(e->k_sd))
                snprintf(kp, sizeof(kp), "%s %.3g+-%.2g%s", ksiss_k_prior_name(e->k_src), e->k0, e->k_sd,
                         e->k_carried ? " (carried)" : "");
            printf("  %-16s %12s %12s %8s %-10s %-28s %8ld %s%s\n", ev->view_tiers[i]->name, cap, bound, sd,
                   ksiss_cap_source_name(e->source), kp, e->n_obs, age,
                   ev->view_tiers[i] == ev->current.tier ? (e->learned ? "  (current: learned)"
                                                                       : "  (current: not learned, no scale-down)")
                                                         : "");
        }
        printf("  (from the Service's annotation %s, which ksiss run keeps; explain feeds no window)\n",
               KSISS_LEARN_ANNOTATION);
        /* this tick's prompt-length histogram: what a filter starting now would take k's prior from */
        double m2 = ev->learn_values[KSISS_LQ_PROMPT_HIST];
        switch (ev->learn_hist) {
        case KSISS_HIST_READ:
            printf("  prompt-length histogram: 1 + c^2 = %.3g: k's prior (1 + c^2) / 2 = %.3g +- %.0f%%\n", m2,
                   m2 / 2, 100 * KSISS_LEARN_QUEUE_K_SD_REL);
            break;
        case KSISS_HIST_FEW:
            printf("  prompt-length histogram: fewer than %d requests in the window: k's prior the fallback %.2g "
                   "+- 0.15\n", KSISS_LEARN_MIN_REQUESTS, KSISS_LEARN_QUEUE_K);
            break;
        case KSISS_HIST_BAD:
            printf("  prompt-length histogram not read (%s): k's prior the fallback %.2g +- 0.15\n",
                   ev->learn_hist_why, KSISS_LEARN_QUEUE_K);
            break;
        case KSISS_HIST_NONE:
            printf("  prompt-length histogram: no query (learnQueries.promptHistogram): k's prior the fallback "
                   "%.2g +- 0.15\n", KSISS_LEARN_QUEUE_K);
            break;
        }
        /* this tick's prefill per prompt token: theta read apart from the wait, or split from TTFT */
        double pf = ev->learn_values[KSISS_LQ_PREFILL], ttft = ev->learn_values[KSISS_LQ_TTFT];
        double prompt = ev->learn_values[KSISS_LQ_PROMPT];
        if (isfinite(pf) && pf > 0 && !ksiss_learn_prefill_usable(pf, ttft, prompt))
            printf("  prefill: %.4g s per prompt token, not used: not at most %.2gx the TTFT per prompt token (%.4g; "
                   "a query in the wrong unit?): theta split from TTFT by the queue's model\n", pf,
                   KSISS_LEARN_PREFILL_SLACK, ttft / prompt);
        else if (isfinite(pf) && pf > 0)
            printf("  prefill: %.4g s per prompt token, read apart from the wait (learnQueries.prefillPerToken)\n", pf);
        else
            printf("  prefill: %s: theta split from TTFT by the queue's model\n",
                   svc->load.learn_queries[KSISS_LQ_PREFILL] ? "no value (learnQueries.prefillPerToken)"
                                                             : "no query (learnQueries.prefillPerToken)");
        /* whose pods the series are: the revision's own (learned while a tier change rolls), or the service's */
        if (ksiss_learn_per_revision(&svc->load))
            printf("  series: revision %s's own pods ({revision}): a window counts once it has served a whole "
                   "minute, also while a tier change rolls\n", ev->revision ? ev->revision : "(none ready)");
        else
            printf("  series: the whole service's pods (a learnQueries query without {revision}): a window counts "
                   "only once the same instances of one tier served a whole minute, no tier change rolling\n");
    }
    printf("Free GPUs that matter (allowed tiers):\n");
    if (!has_inv) {
        printf("  unknown (nodes or pods could not be read)\n");
    } else {
        int shown = 0;
        for (size_t i = 0; i < inv->n_entries; i++) {
            const ksiss_inventory_entry *e = &inv->entries[i];
            bool matters = false;
            for (size_t j = 0; j < svc->n_ladder && !matters; j++)
                matters = !strcmp(svc->ladder[j]->resource, e->resource) &&
                          (!e->gpu_model || !strcmp(svc->ladder[j]->gpu_model, e->gpu_model));
            if (!matters)
                continue;
            printf("  %-28s %-12s %lld free of %lld (%lld requested, %lld pending)\n", e->resource,
                   e->gpu_model ? e->gpu_model : "?", e->free, e->allocatable, e->requested, e->pending);
            shown++;
        }
        if (!shown)
            printf("  none of the allowed tiers' resources exist on usable nodes\n");
    }
    (void)cat;
    if (ev->state_error) {
        printf("Transition:       unreadable: %s\n", ev->state_error);
    } else if (ev->has_state) {
        const ksiss_tr_state *s = &ev->state;
        printf("Transition:       %s: %s (%s) -> %s (%s), %d instance%s, step %d, started ",
               ksiss_tr_phase_name(s->phase), s->from_rev, s->from_tier ? s->from_tier : "?", s->to_rev, s->to_tier,
               s->replicas, s->replicas == 1 ? "" : "s", s->step);
        print_time_ago(now_ms, s->started_at_ms);
        printf("\n                  reason: %s\n", s->reason ? s->reason : "-");
    } else {
        printf("Transition:       none\n");
    }
    char *bo_tier;
    int64_t until;
    ksiss_controller_backoff(ev->view.service, now_ms, &bo_tier, &until);
    if (bo_tier) {
        char *d = ksiss_format_duration(until - now_ms);
        printf("Backoff:          %s not tried again for %s (rolled back)\n", bo_tier, d);
        free(d);
        free(bo_tier);
    }
    if (ev->decided) {
        const ksiss_decision *d = &ev->decision;
        printf("Decision now:     %s", ksiss_action_name(d->action));
        if (d->tier)
            printf(" -> %s x%d", d->tier->name, d->replicas);
        printf(" (%s)\n                  %s\n", d->reason_code ? d->reason_code : "-", d->reason ? d->reason : "");
        if (d->reason_code && !strcmp(d->reason_code, "slo_unattainable"))
            printf("SLO:              unattainable: breached at the largest allowed deployment (tiers up to %s, "
                   "maxReplicas %d); widen them, add GPUs or relax the SLO (Warning Event SLOUnattainable)\n",
                   svc->n_ladder ? svc->ladder[svc->n_ladder - 1]->name : "-", svc->max_replicas);
    } else {
        printf("Decision now:     none: %s\n", ev->error ? ev->error : "?");
    }
}

int ksiss_cmd_explain(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return KSISS_EXIT_OK;
    }
    const char *service = NULL, *ns_flag = NULL, *kubeconfig = NULL, *prom_flag = NULL, *config_file = NULL;
    static const char *const names[] = {"--service", "--namespace", "--kubeconfig", "--prometheus", "--config"};
    const char **slots[] = {&service, &ns_flag, &kubeconfig, &prom_flag, &config_file};
    for (int i = 1; i < argc; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !known; k++) {
            size_t len = strlen(names[k]);
            if (!strcmp(argv[i], names[k])) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "ksiss explain: %s needs a value\n%s", names[k], usage);
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
            fprintf(stderr, "ksiss explain: unknown argument \"%s\"\n%s", argv[i], usage);
            return KSISS_EXIT_USAGE;
        }
    }
    if (!service || !*service) {
        fprintf(stderr, "ksiss explain: --service is required\n%s", usage);
        return KSISS_EXIT_USAGE;
    }
    if (ns_flag && !ksiss_dns1123_label(ns_flag)) {
        fprintf(stderr, "ksiss explain: --namespace \"%s\" is not a valid namespace name (lower-case letters, digits and '-', at most 63)\n",
                ns_flag);
        return KSISS_EXIT_USAGE;
    }

    int rc = KSISS_EXIT_RUNTIME;
    char *err = NULL, *source = NULL;
    ksiss_env env;
    ksiss_diags d;
    ksiss_diags_init(&d);
    ksiss_kube_config kc = {0};
    ksiss_kube *kube = NULL;
    ksiss_prom *prom = NULL;
    ksiss_prom_opts po;
    ksiss_catalog cat;
    ksiss_config cfg = {0};
    ksiss_inventory inv = {0};
    bool has_inv = false;
    ksiss_free_gpu *free_gpus = NULL;
    size_t n_free = 0;
    json_t *nodes = NULL, *pods = NULL;
    ksiss_eval ev = {0};
    bool have_ev = false;
    ksiss_catalog_builtin(&cat);
    ksiss_prom_opts_init(&po);
    int env_rc = ksiss_env_parse(ksiss_process_getenv, NULL, &env, &d);
    if (env_rc != 0) {
        print_diags(&d);
        rc = KSISS_EXIT_PROBLEM; /* invalid configuration, not usage */
        goto out;
    }
    const char *ns = ns_flag ? ns_flag : env.namespace_name;
    if (ksiss_kube_config_load(&kc, kubeconfig, NULL, &err) != 0 || !(kube = ksiss_kube_new(&kc, NULL, &err))) {
        fprintf(stderr, "ksiss explain: %s\n", err);
        goto out;
    }
    int crc = load_config(kube, ns, env.config_map_name, config_file, &cat, &cfg, &source);
    if (crc != 0) {
        rc = crc;
        goto out;
    }
    bool by_prefix = false;
    const ksiss_service_cfg *svc = ksiss_config_find(&cfg, service, &by_prefix);
    if (!svc) {
        fprintf(stderr, "ksiss explain: %s has no entry for service \"%s\" (nor for its legacy prefix)\n", source,
                service);
        rc = KSISS_EXIT_PROBLEM;
        goto out;
    }
    if (ksiss_prom_opts_from_env(&po, ksiss_process_getenv, NULL, &err) != 0) {
        fprintf(stderr, "ksiss explain: %s\n", err);
        rc = KSISS_EXIT_PROBLEM;
        goto out;
    }
    {
        char *url = ksiss_prom_normalize_url(prom_flag ? prom_flag : env.prometheus_url, &err);
        if (!url) {
            fprintf(stderr, "ksiss explain: --prometheus: %s\n", err);
            rc = KSISS_EXIT_USAGE;
            goto out;
        }
        free(po.url);
        po.url = url;
    }
    if (!(prom = ksiss_prom_new(&po, &err))) {
        fprintf(stderr, "ksiss explain: %s\n", err);
        goto out;
    }
    {
        ksiss_kube_error ke = {0};
        if (ksiss_kube_list(kube, &KSISS_KUBE_NODES, NULL, NULL, &nodes, NULL, &ke) == KSISS_KUBE_OK &&
            ksiss_kube_list(kube, &KSISS_KUBE_PODS, NULL, NULL, &pods, NULL, &ke) == KSISS_KUBE_OK &&
            ksiss_inventory_compute(&cat, nodes, pods, &inv) == 0) {
            has_inv = true;
            size_t n = ksiss_inventory_free_gpus(&inv, NULL, 0);
            free_gpus = ksiss_xcalloc(n ? n : 1, sizeof(*free_gpus));
            n_free = ksiss_inventory_free_gpus(&inv, free_gpus, n);
        } else if (ke.message) {
            fprintf(stderr, "ksiss explain: GPU inventory unknown: %s\n", ke.message);
        }
        ksiss_kube_error_clear(&ke);
    }
    int64_t now_ms = ksiss_wall_ms();
    ksiss_eval_in in = {
        .kube = kube, .prom = prom, .cat = &cat, .svc = svc, .ns = ns, .name = service,
        .free = has_inv ? free_gpus : NULL, .n_free = n_free, .inv = has_inv ? &inv : NULL, .now_ms = now_ms,
        .interval_ms = env.interval_ms,
    };
    have_ev = true;
    if (ksiss_controller_evaluate(&in, &ev) != 0 && !ev.view.service) {
        fprintf(stderr, "ksiss explain: %s\n", ev.error);
        goto out;
    }
    print_report(ns, service, source, svc, by_prefix, &ev, &inv, has_inv, &cat, now_ms);
    if (ev.decided || ev.has_state) {
        ksiss_tr_input tin = {
            .service = ev.view.service, .revisions = ev.view.revisions, .cat = &cat,
            .gpu_model = ev.gpu.model ? ev.gpu.model : svc->gpu_model,
            .target_tier = ev.decided && (ev.decision.action == KSISS_UP || ev.decision.action == KSISS_DOWN)
                               ? ev.decision.tier : NULL,
            .target_replicas = ev.decided && ev.decision.action != KSISS_HOLD ? ev.decision.replicas : 0,
            .reason = ev.decided ? ev.decision.reason : NULL, .ready_timeout_ms = KSISS_DEFAULT_READY_TIMEOUT_MS,
            .backoff_ms = KSISS_DEFAULT_BACKOFF_MS, .default_cpu = env.default_cpu,
            .default_memory = env.default_memory, .now_ms = now_ms, .free_target_units = -1,
        };
        if (tin.target_tier && has_inv) {
            tin.free_target_units = 0;
            for (size_t i = 0; i < n_free; i++)
                if (!strcmp(free_gpus[i].resource, tin.target_tier->resource))
                    tin.free_target_units += free_gpus[i].free_units;
        }
        ksiss_tr_plan plan;
        if (ksiss_transition_step(&tin, &plan, &err) == 0) {
            printf("Next step:        %s%s\n", plan.summary ? plan.summary : "nothing to do",
                   plan.n ? " (not applied: explain changes nothing)" : "");
            ksiss_tr_plan_free(&plan);
        } else {
            printf("Next step:        refused: %s\n", err);
        }
    }
    printf("Note:             explain keeps no history: stabilization windows and cooldowns that need past\n"
           "                  ticks are judged as on a first tick.\n");
    rc = ev.decided ? KSISS_EXIT_OK : KSISS_EXIT_PROBLEM;
out:
    if (have_ev)
        ksiss_eval_free(&ev);
    free(err);
    free(source);
    json_decref(nodes);
    json_decref(pods);
    free(free_gpus);
    if (has_inv)
        ksiss_inventory_free(&inv);
    ksiss_prom_free(prom);
    ksiss_prom_opts_free(&po);
    ksiss_kube_free(kube);
    ksiss_kube_config_free(&kc);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
    ksiss_env_free(&env); /* filled (defaults where invalid) either way */
    ksiss_diags_free(&d);
    return rc;
}
