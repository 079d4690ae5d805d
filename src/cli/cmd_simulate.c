/* cmd_simulate.c: `ksiss simulate`: replays a request trace through the
 * decision policies (the same code `ksiss run` calls) against modelled GPU
 * tiers, and reports SLO attainment, GPU-hours, transitions and latency as
 * a table, optionally as JSON and an SVG plot. The shell part: reads the
 * files, calls the pure simulator (core/sim.h), writes the outputs. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/sim.h"
#include "core/tiers.h"
#include "core/trace.h"
#include "core/util.h"

#define MAX_TRACE_BYTES ((size_t)1 << 30)
#define MAX_INPUT_BYTES ((size_t)16 << 20)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ksiss simulate --trace FILE --config FILE --cluster FILE [--service NAME]\n"
            "                      [--policy P|all] [--json FILE] [--plot FILE.svg] [--profile FILE]\n"
            "                      [--cold-start DUR] [--interval DUR] [--static TIER[xN]] [--target FRACTION]\n"
            "                      [--sweep [--targets F,F,...]] [--learn] [--no-per-gpu] [--per-gpu-scale F]\n"
            "                      [--learning-plot FILE.svg]\n"
            "\n"
            "Replays a request trace through a decision policy against modelled GPU tiers\n"
            "and prints, per policy: the fraction of requests that met the SLO, the\n"
            "cost-weighted GPU-hours, the deployment changes and the p95/p99 latency.\n"
            "docs/simulator.md describes the model and its assumptions.\n"
            "\n"
            "  --trace FILE       Azure CSV (TIMESTAMP,ContextTokens,GeneratedTokens; 2023 or 2024\n"
            "                     timestamps), BurstGPT CSV (Timestamp s, Request tokens, Response\n"
            "                     tokens) or JSON lines (timestamp ms, input_length, output_length)\n"
            "  --config FILE      the autoscaler ConfigMap (or its data mapping)\n"
            "  --cluster FILE     cluster inventory: nodes with their allocatable GPU resources\n"
            "  --service NAME     the service to simulate (may be omitted when there is one)\n"
            "  --policy P         ksiss, seed, horizontal, static, oracle, a comma list, or all\n"
            "                     (default: all)\n"
            "  --json FILE        write {\"initial_deployment\", \"static_deployment\", \"requests\",\n"
            "                     \"unattainable\" (share no deployment serves within the SLO),\n"
            "                     \"unattainable_requests\", \"policies\": {P: {slo_attainment, gpu_hours,\n"
            "                     cost_vs_oracle, transitions, p95_latency_s, p99_latency_s,\n"
            "                     after_warmup: {slo_attainment, gpu_hours} (from minute 10),\n"
            "                     learned_capacity}}}\n"
            "  --plot FILE.svg    load, capacity, GPUs, tier and latency over time per policy\n"
            "  --profile FILE     model serving profile (default: model.yaml beside the config)\n"
            "  --cold-start DUR   instance creation to serving (default 60s)\n"
            "  --interval DUR     control-loop tick (default: METRICS_SCRAPE_INTERVAL or 10s)\n"
            "  --static TIER[xN]  the `static` deployment (default: the cheapest that meets the\n"
            "                     SLO target over the whole trace)\n"
            "  --target FRACTION  share of requests that must meet the SLO (default: the\n"
            "                     service's sloTarget, 0.99 unless the config sets it)\n"
            "  --sweep            run the policies (default ksiss, horizontal, static, oracle) at\n"
            "                     several sloTarget values and show attainment against cost per\n"
            "                     target: a table, --json {requests, unattainable, sweep: [{target,\n"
            "                     initial_deployment, static_deployment, policies}]}, --plot\n"
            "  --targets F,F,...  the sweep's targets, rising, each above 0 and below 1\n"
            "                     (default 0.9,0.95,0.98,0.99,0.995,0.999)\n"
            "  --decisions        print every decision that is not a hold, with its reason\n"
            "  --learn            learn each tier's capacity (docs/policy.md \"Learned capacity\"),\n"
            "                     with the load's perGpu as the starting point (as load.learn: true)\n"
            "  --no-per-gpu       leave the load's perGpu out: learn from nothing\n"
            "  --per-gpu-scale F  multiply the load's perGpu by F and learn (a wrong profile: 2, 0.5)\n"
            "  --learning-plot FILE.svg  estimated, planned-with and true capacity of one instance\n"
            "                     over time, for the runs that learned\n"
            "  -h, --help         this text\n"
            "\n"
            "exit: 0 done, 1 invalid input (config, trace, profile, cluster), 2 usage, 3 a file\n"
            "could not be read or written\n");
}

static void print_decision(void *ctx, const char *policy, double t_s, const ksiss_decision *d, bool applied)
{
    (void)ctx;
    printf("%-10s t=%7.1fs %-4s -> %s x%d%s: %s\n", policy, t_s, ksiss_action_name(d->action),
           d->tier ? d->tier->name : "?", d->replicas, applied ? "" : " (ignored: tier change in flight)",
           d->reason ? d->reason : "");
}

static void print_diags(const ksiss_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *s = ksiss_diag_format(&d->v[i]);
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    if (d->dropped)
        fprintf(stderr, "(%zu more problems not shown)\n", d->dropped);
}

static char *read_or_complain(const char *path, size_t max, size_t *len)
{
    char *err = NULL;
    char *text = ksiss_read_file(path, max, len, &err);
    if (!text) {
        fprintf(stderr, "ksiss simulate: %s\n", err);
        free(err);
    }
    return text;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? ksiss_xstrndup(path, (size_t)(slash - path + 1)) : ksiss_xstrdup("");
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The oracle's GPU-hours, NAN when it was not run (or cost nothing). */
static double oracle_hours(const ksiss_sim_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].policy, "oracle") && r->v[i].gpu_hours > 0)
            return r->v[i].gpu_hours;
    return NAN;
}

/* {"slo_attainment", ...} per policy; *fixed = static's deployment or NULL. */
static json_t *policies_json(const ksiss_sim_report *r, const char **fixed)
{
    json_t *pols = json_object();
    double oracle = oracle_hours(r);
    *fixed = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const ksiss_sim_result *x = &r->v[i];
        json_t *o = json_object();
        json_object_set_new(o, "slo_attainment", num_or_null(x->slo_attainment));  /* steals */
        json_object_set_new(o, "gpu_hours", num_or_null(x->gpu_hours));
        json_object_set_new(o, "cost_vs_oracle", num_or_null(x->gpu_hours / oracle));
        json_object_set_new(o, "transitions", json_integer(x->transitions));
        json_object_set_new(o, "p95_latency_s", num_or_null(x->p95_latency_s));
        json_object_set_new(o, "p99_latency_s", num_or_null(x->p99_latency_s));
        json_t *warm = json_object();
        json_object_set_new(warm, "slo_attainment", num_or_null(x->slo_attainment_warm));
        json_object_set_new(warm, "gpu_hours", num_or_null(x->gpu_hours_warm));
        json_object_set_new(o, "after_warmup", warm);
        json_object_set_new(o, "learned_capacity", json_boolean(x->learned));
        json_object_set_new(pols, x->policy, o);
        if (!strcmp(x->policy, "static"))
            *fixed = x->deployment;
    }
    return pols;
}

static void set_unattainable(json_t *root, const ksiss_sim_report *r)
{
    json_object_set_new(root, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(root, "unattainable", json_real(r->unattainable_share));
    json_object_set_new(root, "unattainable_requests", json_integer((json_int_t)r->unattainable));
}

/* Writes root (consumed) to path. */
static int dump_json(const char *path, json_t *root)
{
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (rc != 0) {
        fprintf(stderr, "ksiss simulate: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_json(const char *path, const ksiss_sim_report *r)
{
    json_t *root = json_object();
    const char *fixed;
    json_t *pols = policies_json(r, &fixed);
    json_object_set_new(root, "initial_deployment", json_string(r->initial));
    json_object_set_new(root, "static_deployment", fixed ? json_string(fixed) : json_null());
    set_unattainable(root, r);
    json_object_set_new(root, "policies", pols);
    return dump_json(path, root);
}

/* The sweep: the trace's figures once, then each target's. */
static int write_sweep_json(const char *path, const ksiss_sim_sweep *s)
{
    json_t *root = json_object();
    set_unattainable(root, &s->v[0].rep);
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const ksiss_sim_report *r = &s->v[i].rep;
        json_t *p = json_object();
        const char *fixed;
        json_t *pols = policies_json(r, &fixed);
        json_object_set_new(p, "target", json_real(s->v[i].target));
        json_object_set_new(p, "initial_deployment", json_string(r->initial));
        json_object_set_new(p, "static_deployment", fixed ? json_string(fixed) : json_null());
        json_object_set_new(p, "policies", pols);
        json_array_append_new(arr, p);
    }
    json_object_set_new(root, "sweep", arr);
    return dump_json(path, root);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "ksiss simulate: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    if (fclose(f) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "ksiss simulate: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void print_trace_line(const char *trace, const ksiss_trace *t)
{
    printf("trace %s: %zu requests over %.1f min", trace, t->n, ksiss_trace_span_ms(t) / 60000.0);
    if (t->bad_lines)
        printf(" (%zu bad lines skipped)", t->bad_lines);
    if (t->failed)
        printf(" (%zu failed requests skipped)", t->failed);
    printf("\n");
}

static void print_unattainable(const ksiss_sim_report *r)
{
    printf("%-12s%8.2f%%  ", "unattainable", 100 * r->unattainable_share);
    if (r->unattainable)
        printf("%zu of %zu requests miss the SLO even alone on an idle instance of every tier the service may use "
               "here: no policy meets more than %.2f%%\n", r->unattainable, r->requests,
               100 * (1 - r->unattainable_share));
    else
        printf("every request meets the SLO alone on an idle instance of some tier the service may use here\n");
}

static void print_table(const ksiss_sim_report *r, const char *trace, const ksiss_trace *t, const char *svc)
{
    print_trace_line(trace, t);
    printf("service %s; SLO: %s; cost counted over %.0f s; dynamic policies start at %s\n\n", svc, r->slo_desc,
           r->horizon_s, r->initial);
    double oracle = oracle_hours(r);
    printf("%-11s %9s %10s %10s %12s %9s %9s  %s\n", "policy", "SLO met", "GPU-hours", "vs oracle", "transitions",
           "p95 s", "p99 s", "notes");
    for (size_t i = 0; i < r->n; i++) {
        const ksiss_sim_result *x = &r->v[i];
        char vs[32];
        if (isfinite(oracle))
            snprintf(vs, sizeof(vs), "%.2fx", x->gpu_hours / oracle);
        else
            snprintf(vs, sizeof(vs), "-");
        printf("%-11s %8.2f%% %10.3f %10s %12ld %9.3f %9.3f  ", x->policy, 100 * x->slo_attainment, x->gpu_hours, vs,
               x->transitions, x->p95_latency_s, x->p99_latency_s);
        if (!strcmp(x->policy, "static") && x->deployment)
            printf("fixed %s; ", x->deployment);
        if (x->ignored)
            printf("%ld decisions not applied (a tier change in flight, or one ksiss run would not start); ",
                   x->ignored);
        if (x->rollbacks)
            printf("%ld rollbacks; ", x->rollbacks);
        if (x->policy_errors)
            printf("%ld policy errors; ", x->policy_errors);
        if (x->rejected)
            printf("%zu requests too long for the KV cache; ", x->rejected);
        if (x->unfinished)
            printf("%zu unfinished; ", x->unfinished);
        printf("\n");
    }
    print_unattainable(r);
}

/* One row per target: each policy's attainment, GPU-hours and cost against
 * the oracle at that target. */
static void print_sweep_table(const ksiss_sim_sweep *s, const char *trace, const ksiss_trace *t, const char *svc)
{
    const ksiss_sim_report *r0 = &s->v[0].rep;
    print_trace_line(trace, t);
    printf("service %s; SLO: %s; cost counted over %.0f s\n", svc, r0->slo_desc, r0->horizon_s);
    printf("each row: the service's sloTarget (the policies size for it; static is the cheapest fixed deployment "
           "that meets it; the oracle's budget of misses); SLO met / GPU-hours / against the oracle\n\n");
    printf("%-9s", "sloTarget");
    for (size_t k = 0; k < r0->n; k++)
        printf("  %-24s", r0->v[k].policy);
    printf("  notes\n");
    for (size_t i = 0; i < s->n; i++) {
        const ksiss_sim_report *r = &s->v[i].rep;
        double oracle = oracle_hours(r);
        const char *fixed = NULL;
        printf("%-9g", s->v[i].target);
        for (size_t k = 0; k < r->n; k++) {
            const ksiss_sim_result *x = &r->v[k];
            char cell[64], vs[24];
            if (isfinite(oracle))
                snprintf(vs, sizeof(vs), " / %.2fx", x->gpu_hours / oracle);
            else
                vs[0] = '\0';
            snprintf(cell, sizeof(cell), "%.2f%% / %.3f%s", 100 * x->slo_attainment, x->gpu_hours, vs);
            printf("  %-24s", cell);
            if (!strcmp(x->policy, "static"))
                fixed = x->deployment;
        }
        printf("  start %s", r->initial);
        if (fixed)
            printf(", static %s", fixed);
        printf("\n");
    }
    print_unattainable(r0);
}

/* "0.9,0.99" -> rising targets; a usage error names what is wrong. */
static int parse_targets(const char *list, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *copy = ksiss_xstrdup(list), *p = copy;
    int rc = 0;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        double v;
        if (ksiss_parse_double(p, &v) != 0 || !(v > 0 && v < 1)) {
            fprintf(stderr, "ksiss simulate: --targets: \"%s\" is not a fraction above 0 and below 1 "
                    "(e.g. --targets 0.9,0.95,0.99)\n", p);
            rc = -1;
            break;
        }
        if (*n > 0 && !(v > (*out)[*n - 1])) {
            fprintf(stderr, "ksiss simulate: --targets: %s after %g: list them rising, each once\n", p,
                    (*out)[*n - 1]);
            rc = -1;
            break;
        }
        *out = ksiss_xrealloc(*out, (*n + 1) * sizeof(**out));
        (*out)[(*n)++] = v;
        if (!comma)
            break;
        p = comma + 1;
    }
    free(copy);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* "mig-3g.40gb" or "mig-3g.40gbx2" or "gpu*2x3". */
static int parse_static(const char *s, const ksiss_catalog *cat, const char *model, const ksiss_tier **tier,
                        int *replicas)
{
    *replicas = 1;
    const char *x = strrchr(s, 'x');
    char *name = NULL;
    if (x && x[1]) {
        int64_t n;
        if (ksiss_parse_int64(x + 1, &n) == 0) {
            if (n < 1 || n > 4096)
                return -1;
            *replicas = (int)n;
            name = ksiss_xstrndup(s, (size_t)(x - s));
        }
    }
    if (!name)
        name = ksiss_xstrdup(s);
    *tier = ksiss_catalog_tier(cat, model, name);
    free(name);
    return *tier ? 0 : -1;
}

int ksiss_cmd_simulate(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        usage(stdout);
        return KSISS_EXIT_OK;
    }
    const char *trace_path = NULL, *config_path = NULL, *cluster_path = NULL, *service = NULL;
    const char *policy = NULL, *json_path = NULL, *plot_path = NULL, *profile_path = NULL;
    const char *cold = NULL, *interval = NULL, *static_dep = NULL, *target = NULL, *targets = NULL;
    const char *pg_scale = NULL, *learning_plot = NULL;
    struct { const char *flag; const char **dst; } flags[] = {
        { "--trace", &trace_path }, { "--config", &config_path }, { "--cluster", &cluster_path },
        { "--service", &service }, { "--policy", &policy }, { "--json", &json_path }, { "--plot", &plot_path },
        { "--profile", &profile_path }, { "--cold-start", &cold }, { "--interval", &interval },
        { "--static", &static_dep }, { "--target", &target }, { "--targets", &targets },
        { "--per-gpu-scale", &pg_scale }, { "--learning-plot", &learning_plot },
    };
    bool decisions = false, sweep = false, learn = false, no_per_gpu = false;
    for (int i = 1; i < argc; i++) {
        bool known = !strcmp(argv[i], "--decisions") || !strcmp(argv[i], "--sweep");
        if (known && argv[i][2] == 'd')
            decisions = true;
        else if (known)
            sweep = true;
        if (!known && !strcmp(argv[i], "--learn"))
            known = learn = true;
        if (!known && !strcmp(argv[i], "--no-per-gpu"))
            known = no_per_gpu = true;
        for (size_t k = 0; !known && k < sizeof(flags) / sizeof(flags[0]); k++) {
            size_t fl = strlen(flags[k].flag);
            if (!strncmp(argv[i], flags[k].flag, fl) && argv[i][fl] == '=') {
                *flags[k].dst = argv[i] + fl + 1;
                known = true;
            } else if (!strcmp(argv[i], flags[k].flag)) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "ksiss simulate: %s needs a value\n", flags[k].flag);
                    return KSISS_EXIT_USAGE;
                }
                *flags[k].dst = argv[++i];
                known = true;
            }
            if (known)
                break;
        }
        if (!known) {
            fprintf(stderr, "ksiss simulate: unknown argument \"%s\" (ksiss simulate --help)\n", argv[i]);
            return KSISS_EXIT_USAGE;
        }
    }
    bool policy_given = policy != NULL;
    if (!policy)
        policy = "all";
    if (!trace_path || !config_path || !cluster_path) {
        fprintf(stderr, "ksiss simulate: --trace, --config and --cluster are required (ksiss simulate --help)\n");
        return KSISS_EXIT_USAGE;
    }
    ksiss_sim_opts o;
    ksiss_sim_opts_default(&o);
    const char *env_iv = getenv("METRICS_SCRAPE_INTERVAL");
    bool interval_from_env = false;
    if (!interval && env_iv && *env_iv) {
        interval = env_iv;
        interval_from_env = true;
    }
    if (cold && ksiss_parse_duration_ms(cold, &o.cold_start_ms) != 0) {
        fprintf(stderr, "ksiss simulate: --cold-start \"%s\": expected a duration such as 60s or 2m\n", cold);
        return KSISS_EXIT_USAGE;
    }
    if (o.cold_start_ms > 24LL * 3600 * 1000) {
        fprintf(stderr, "ksiss simulate: --cold-start %s: more than a day\n", cold);
        return KSISS_EXIT_USAGE;
    }
    if (interval && (ksiss_parse_duration_ms(interval, &o.interval_ms) != 0 || o.interval_ms < 100 ||
                     o.interval_ms > 3600 * 1000)) {
        /* from the environment: invalid configuration (README "Exit codes") */
        fprintf(stderr, "ksiss simulate: %s \"%s\": expected a duration from 100ms to 1h\n",
                interval_from_env ? "METRICS_SCRAPE_INTERVAL" : "--interval", interval);
        return interval_from_env ? KSISS_EXIT_PROBLEM : KSISS_EXIT_USAGE;
    }
    if (target && (ksiss_parse_double(target, &o.slo_target) != 0 || !(o.slo_target > 0) || o.slo_target > 1)) {
        fprintf(stderr, "ksiss simulate: --target \"%s\": expected a fraction in (0, 1]\n", target);
        return KSISS_EXIT_USAGE;
    }
    if (sweep && target) {
        fprintf(stderr, "ksiss simulate: --sweep runs several targets: give them with --targets, not --target\n");
        return KSISS_EXIT_USAGE;
    }
    if (targets && !sweep) {
        fprintf(stderr, "ksiss simulate: --targets is the list of --sweep; add --sweep, or use --target\n");
        return KSISS_EXIT_USAGE;
    }
    double pg_factor = 1;
    if (pg_scale && (ksiss_parse_double(pg_scale, &pg_factor) != 0 || !(pg_factor > 0) || pg_factor > 1000)) {
        fprintf(stderr, "ksiss simulate: --per-gpu-scale \"%s\": expected a positive factor up to 1000\n", pg_scale);
        return KSISS_EXIT_USAGE;
    }
    if (pg_scale && no_per_gpu) {
        fprintf(stderr, "ksiss simulate: --per-gpu-scale scales perGpu, --no-per-gpu leaves it out: give one\n");
        return KSISS_EXIT_USAGE;
    }
    double *sweep_targets = NULL;
    size_t n_sweep = 0;
    if (targets && parse_targets(targets, &sweep_targets, &n_sweep) != 0)
        return KSISS_EXIT_USAGE;

    int rc = KSISS_EXIT_PROBLEM;
    char *config_text = NULL, *cluster_text = NULL, *profile_text = NULL, *trace_text = NULL;
    char *profile_default = NULL, *svg = NULL, *title = NULL;
    const char **names = NULL;
    size_t n_names = 0;
    char *policy_copy = NULL;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    ksiss_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    ksiss_sim_cluster cluster;
    memset(&cluster, 0, sizeof(cluster));
    ksiss_sim_profile profile;
    memset(&profile, 0, sizeof(profile));
    ksiss_trace trace;
    memset(&trace, 0, sizeof(trace));
    ksiss_sim_report rep;
    memset(&rep, 0, sizeof(rep));
    ksiss_sim_sweep sw;
    memset(&sw, 0, sizeof(sw));
    ksiss_diags d;
    ksiss_diags_init(&d);
    size_t len;

    if (!(config_text = read_or_complain(config_path, MAX_INPUT_BYTES, &len))) {
        rc = KSISS_EXIT_RUNTIME;
        goto out;
    }
    if (ksiss_config_parse(config_text, len, config_path, NULL, &cat, &cfg, &d) != 0) {
        print_diags(&d);
        goto out;
    }
    if (d.n) {
        print_diags(&d);    /* warnings */
        ksiss_diags_free(&d);
        ksiss_diags_init(&d);
    }
    const ksiss_service_cfg *svc = NULL;
    if (service) {
        bool by_prefix = false;
        svc = ksiss_config_find(&cfg, service, &by_prefix);
        if (!svc) {
            fprintf(stderr, "ksiss simulate: %s: no service \"%s\"\n", config_path, service);
            goto out;
        }
    } else if (cfg.n_services == 1) {
        svc = &cfg.services[0];
    } else {
        fprintf(stderr, "ksiss simulate: %s has %zu services: choose one with --service\n", config_path,
                cfg.n_services);
        rc = KSISS_EXIT_USAGE;
        goto out;
    }
    if (learn || no_per_gpu || pg_scale) {
        /* the service's own copy: the configuration is this command's */
        ksiss_service_cfg *ms = &cfg.services[svc - cfg.services];
        if (!ms->has_load) {
            fprintf(stderr, "ksiss simulate: --learn, --no-per-gpu and --per-gpu-scale need a load: signal, "
                            "and service \"%s\" has none\n", ms->name);
            rc = KSISS_EXIT_USAGE;
            goto out;
        }
        ms->load.learn = true;
        ksiss_learn_queries_default(&ms->load);
        if (no_per_gpu)
            ms->load.per_gpu = 0;
        else if (ms->load.per_gpu > 0)
            ms->load.per_gpu *= pg_factor;
    }

    if (!(cluster_text = read_or_complain(cluster_path, MAX_INPUT_BYTES, &len))) {
        rc = KSISS_EXIT_RUNTIME;
        goto out;
    }
    if (ksiss_sim_cluster_parse(cluster_text, len, cluster_path, &cat, &cluster, &d) != 0) {
        print_diags(&d);
        goto out;
    }
    if (!profile_path) {
        char *dir = dir_of(config_path);
        profile_default = ksiss_xasprintf("%smodel.yaml", dir);
        free(dir);
        profile_path = profile_default;
    }
    if (!(profile_text = read_or_complain(profile_path, MAX_INPUT_BYTES, &len))) {
        if (profile_default)
            fprintf(stderr, "ksiss simulate: give the model's serving profile with --profile FILE\n");
        rc = KSISS_EXIT_RUNTIME;
        goto out;
    }
    if (ksiss_sim_profile_parse(profile_text, len, profile_path, &profile, &d) != 0) {
        print_diags(&d);
        goto out;
    }
    if (!(trace_text = read_or_complain(trace_path, MAX_TRACE_BYTES, &len))) {
        rc = KSISS_EXIT_RUNTIME;
        goto out;
    }
    if (ksiss_trace_parse(trace_text, len, trace_path, KSISS_TRACE_AUTO, &trace, &d) != 0) {
        print_diags(&d);
        goto out;
    }
    free(trace_text);
    trace_text = NULL;
    if (d.n) {
        print_diags(&d);    /* bad lines skipped: shown, not fatal */
        ksiss_diags_free(&d);
        ksiss_diags_init(&d);
    }
    if (static_dep && parse_static(static_dep, &cat, svc->gpu_model, &o.static_tier, &o.static_replicas) != 0) {
        fprintf(stderr, "ksiss simulate: --static \"%s\": expected a tier name of the service's GPU model, "
                        "optionally xN (e.g. mig-3g.40gbx2)\n", static_dep);
        rc = KSISS_EXIT_USAGE;
        goto out;
    }

    if (sweep && !policy_given) {
        /* The online policies judged at each target, beside the baselines
         * that are sized for it. */
        static const char *const sweep_default[] = { "ksiss", "horizontal", "static", "oracle" };
        for (size_t i = 0; i < sizeof(sweep_default) / sizeof(sweep_default[0]); i++) {
            names = ksiss_xrealloc(names, (n_names + 1) * sizeof(*names));
            names[n_names++] = sweep_default[i];
        }
    } else if (!strcmp(policy, "all")) {
        for (const char *const *p = ksiss_sim_all_policies; *p; p++) {
            names = ksiss_xrealloc(names, (n_names + 1) * sizeof(*names));
            names[n_names++] = *p;
        }
    } else {
        policy_copy = ksiss_xstrdup(policy);
        char *s = policy_copy;
        for (;;) {
            char *comma = strchr(s, ',');
            if (comma)
                *comma = '\0';
            if (*s) {
                names = ksiss_xrealloc(names, (n_names + 1) * sizeof(*names));
                names[n_names++] = s;
            }
            if (!comma)
                break;
            s = comma + 1;
        }
        if (n_names == 0) {
            fprintf(stderr, "ksiss simulate: --policy: no policy named\n");
            rc = KSISS_EXIT_USAGE;
            goto out;
        }
    }

    o.svc = svc;
    if (!target)
        o.slo_target = svc->slo_target;    /* the service's own; --target overrides it */
    o.profile = &profile;
    o.cluster = &cluster;
    o.trace = &trace;
    if (decisions)
        o.on_decision = print_decision;
    if (sweep) {
        const double *tv = sweep_targets ? sweep_targets : ksiss_sim_sweep_default_targets;
        size_t tn = sweep_targets ? n_sweep : ksiss_sim_sweep_n_default_targets;
        if (ksiss_sim_sweep_run(&o, tv, tn, names, n_names, &sw, &d) != 0) {
            print_diags(&d);
            goto out;
        }
        print_sweep_table(&sw, trace_path, &trace, svc->name);
        rc = KSISS_EXIT_OK;
        if (json_path) {
            if (write_sweep_json(json_path, &sw) != 0)
                rc = KSISS_EXIT_RUNTIME;
            else
                printf("\nJSON: %s\n", json_path);
        }
        if (plot_path) {
            title = ksiss_xasprintf("ksiss simulate --sweep: %s on %s (%s): attainment against cost per sloTarget",
                                    svc->name, trace_path, sw.v[0].rep.slo_desc);
            svg = ksiss_sim_sweep_svg(&sw, title);
            if (write_text(plot_path, svg) != 0)
                rc = KSISS_EXIT_RUNTIME;
            else
                printf("plot: %s\n", plot_path);
        }
        goto out;
    }
    if (ksiss_sim_run(&o, names, n_names, &rep, &d) != 0) {
        print_diags(&d);
        goto out;
    }
    print_table(&rep, trace_path, &trace, svc->name);
    rc = KSISS_EXIT_OK;
    if (json_path) {
        if (write_json(json_path, &rep) != 0)
            rc = KSISS_EXIT_RUNTIME;
        else
            printf("\nJSON: %s\n", json_path);
    }
    if (plot_path) {
        title = ksiss_xasprintf("ksiss simulate: %s on %s (%s)", svc->name, trace_path, rep.slo_desc);
        svg = ksiss_sim_svg(&rep, title);
        if (write_text(plot_path, svg) != 0)
            rc = KSISS_EXIT_RUNTIME;
        else
            printf("plot: %s\n", plot_path);
    }
    if (learning_plot) {
        free(title);
        title = ksiss_xasprintf("ksiss simulate: learned capacity of %s on %s", svc->name, trace_path);
        char *lsvg = ksiss_sim_learning_svg(&rep, title, o.warmup_ms / 1000.0);
        if (!lsvg) {
            fprintf(stderr, "ksiss simulate: --learning-plot: no run learned its capacity (the service's load has "
                            "perGpu and no learn: true; add --learn or --no-per-gpu)\n");
            rc = KSISS_EXIT_USAGE;
        } else if (write_text(learning_plot, lsvg) != 0) {
            rc = KSISS_EXIT_RUNTIME;
        } else {
            printf("learning plot: %s\n", learning_plot);
        }
        free(lsvg);
    }
out:
    ksiss_sim_report_free(&rep);
    ksiss_sim_sweep_free(&sw);
    free(sweep_targets);
    ksiss_trace_free(&trace);
    ksiss_sim_profile_free(&profile);
    ksiss_sim_cluster_free(&cluster);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
    ksiss_diags_free(&d);
    free(config_text);
    free(cluster_text);
    free(profile_text);
    free(trace_text);
    free(profile_default);
    free(svg);
    free(title);
    free(names);
    free(policy_copy);
    return rc;
}
