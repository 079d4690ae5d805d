/* cmd_query.c: `ksiss query --config FILE --service NAME [--pods P1,P2,...]
 * [--namespace NS] [--prometheus URL] [--json] [--serve ADDR]`: reads a
 * service's metrics from Prometheus now, per pod and aggregated, with SLO
 * and pressure: a user's first check that their PromQL works. Without
 * --pods the Running pods of the Knative Service are listed from the
 * cluster (kubeconfig / in-cluster), when one is configured. With
 * --serve it keeps the K-SISS exporter up with the values read, refreshed
 * every interval, until SIGINT/SIGTERM. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/policy.h"
#include "core/promql.h"
#include "core/util.h"
#include "shell/exporter.h"
#include "shell/clock.h"
#include "shell/env.h"
#include "shell/knative.h"
#include "shell/kube.h"
#include "shell/metrics.h"
#include "shell/prom.h"

#define MAX_CONFIG_BYTES (8u * 1024u * 1024u)
#define MAX_PODS 10000

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out, bool full)
{
    fprintf(out, "usage: ksiss query --config FILE --service NAME [--pods P1,P2,...] [--namespace NS]\n"
                 "                   [--prometheus URL] [--revision REV] [--json] [--serve ADDR] [--interval DUR]\n"
                 "                   [--timeout DUR] [--connect-timeout DUR] [--bearer-token-file FILE]\n"
                 "                   [--ca-file FILE] [--configmap NAME] [--kubeconfig FILE] [--context NAME]\n");
    if (!full) {
        fprintf(out, "(ksiss query --help)\n");
        return;
    }
    fprintf(out,
            "\nReads each metric of the service from Prometheus now (per pod and aggregated)\n"
            "and prints it with its SLO and pressure. Exit 0 when every metric was read,\n"
            "1 when one gave no usable value (the message names the metric and the cause),\n"
            "2 for a usage error, 3 when the config file cannot be read.\n\n"
            "  --config FILE            ConfigMap manifest or bare data mapping\n"
            "  --service NAME           the ConfigMap key (Knative Service name)\n"
            "  --pods P1,P2,...         the service's pods (default: its Running pods, read from the\n"
            "                           cluster when a kubeconfig or in-cluster account is there)\n"
            "  --kubeconfig FILE        cluster to list pods from (default $KUBECONFIG, in-cluster,\n"
            "                           ~/.kube/config); --context NAME picks a context\n"
            "  --namespace NS           fills {namespace} (default: $NAMESPACE or \"default\")\n"
            "  --revision REV           fills {revision}\n"
            "  --prometheus URL         base, /api/v1 or /api/v1/query URL (default: $PROMETHEUS_URL)\n"
            "  --timeout DUR            whole-request timeout (default 5s; $PROMETHEUS_TIMEOUT)\n"
            "  --connect-timeout DUR    connect timeout (default 2s; $PROMETHEUS_CONNECT_TIMEOUT)\n"
            "  --bearer-token-file F    send the token in F (reread each query)\n"
            "  --ca-file FILE           CA bundle for https\n"
            "  --configmap NAME         which ConfigMap of a multi-document file\n"
            "  --json                   {\"service\":..., \"metrics\":[{\"name\",\"value\",\"slo\",\"pressure\",\"pods\"}]}\n"
            "  --serve ADDR             then serve /metrics on ADDR (e.g. :8080, 127.0.0.1:0) with the\n"
            "                           values, re-read every --interval (default 10s), until SIGINT/SIGTERM\n"
            "Credentials also come from $PROMETHEUS_BEARER_TOKEN, $PROMETHEUS_BEARER_TOKEN_FILE,\n"
            "$PROMETHEUS_USERNAME/$PROMETHEUS_PASSWORD and $PROMETHEUS_CA_FILE.\n");
}

typedef struct {
    const char *config;
    const char *service;
    const char *pods;
    const char *namespace_name;
    const char *revision;
    const char *prometheus;
    const char *serve;
    const char *configmap;
    const char *token_file;
    const char *ca_file;
    const char *kubeconfig;
    const char *context;
    int64_t interval_ms;
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    bool json;
} query_args;

/* Value of option a (as "--opt V" or "--opt=V"); advances *i. */
static int opt_value(int argc, char **argv, int *i, const char *opt, const char **out)
{
    const char *a = argv[*i];
    size_t n = strlen(opt);
    if (!strncmp(a, opt, n) && a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (strcmp(a, opt))
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ksiss query: %s needs a value\n", opt);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

static int parse_duration_opt(const char *opt, const char *v, int64_t *out)
{
    if (ksiss_parse_duration_ms(v, out) < 0 || *out <= 0 || *out > 86400000) {
        fprintf(stderr, "ksiss query: %s '%s': expected a duration such as 10s or 500ms\n", opt, v);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, query_args *a)
{
    static const char *const str_opts[] = {"--config", "--service", "--pods", "--namespace", "--revision",
                                           "--prometheus", "--serve", "--configmap", "--bearer-token-file",
                                           "--ca-file", "--kubeconfig", "--context"};
    for (int i = 1; i < argc; i++) {
        const char **dst[] = {&a->config, &a->service, &a->pods, &a->namespace_name, &a->revision,
                              &a->prometheus, &a->serve, &a->configmap, &a->token_file, &a->ca_file,
                              &a->kubeconfig, &a->context};
        const char *v = NULL;
        int rc = 0;
        for (size_t k = 0; k < sizeof(str_opts) / sizeof(str_opts[0]) && rc == 0; k++)
            if ((rc = opt_value(argc, argv, &i, str_opts[k], &v)) == 1)
                *dst[k] = v;
        if (rc < 0)
            return -1;
        if (rc == 1)
            continue;
        if (!strcmp(argv[i], "--json")) {
            a->json = true;
        } else if ((rc = opt_value(argc, argv, &i, "--interval", &v)) != 0) {
            if (rc < 0 || parse_duration_opt("--interval", v, &a->interval_ms) < 0)
                return -1;
        } else if ((rc = opt_value(argc, argv, &i, "--timeout", &v)) != 0) {
            if (rc < 0 || parse_duration_opt("--timeout", v, &a->timeout_ms) < 0)
                return -1;
        } else if ((rc = opt_value(argc, argv, &i, "--connect-timeout", &v)) != 0) {
            if (rc < 0 || parse_duration_opt("--connect-timeout", v, &a->connect_timeout_ms) < 0)
                return -1;
        } else {
            fprintf(stderr, "ksiss query: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (!a->config || !a->service) {
        fprintf(stderr, "ksiss query: --config and --service are required\n");
        return -1;
    }
    return 0;
}

/* Splits "a,b,c" into owned names; refuses empty names. */
static char **split_pods(const char *s, size_t *n)
{
    *n = 0;
    if (!s)
        return ksiss_xcalloc(1, sizeof(char *));
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    if (cap > MAX_PODS) {
        fprintf(stderr, "ksiss query: --pods: more than %d pods\n", MAX_PODS);
        return NULL;
    }
    char **v = ksiss_xcalloc(cap + 1, sizeof(char *));
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == ',' || !*p) {
            if (p == start) {
                fprintf(stderr, "ksiss query: --pods: empty pod name in '%s'\n", s);
                for (size_t i = 0; i < *n; i++)
                    free(v[i]);
                free(v);
                return NULL;
            }
            v[(*n)++] = ksiss_xstrndup(start, (size_t)(p - start));
            start = p + 1;
        }
        if (!*p)
            break;
    }
    return v;
}

/* Without --pods: the Running pods of Knative Service `name` (and its
 * latest ready revision when *revision is NULL) from the cluster. Problems
 * are warnings (the service-level metrics can still be read): returns an
 * empty list then. Never waits beyond the client's timeouts. */
static char **cluster_pods(const query_args *a, const char *name, char **ns, char **revision, size_t *n)
{
    char *err = NULL;
    ksiss_kube_config kc;
    memset(&kc, 0, sizeof(kc));
    ksiss_kube *k = NULL;
    ksiss_knative_view v = {0};
    ksiss_kube_error ke = {0};
    char **pods = ksiss_xcalloc(1, sizeof(char *));
    *n = 0;
    if (ksiss_kube_config_load(&kc, a->kubeconfig, a->context, &err) != 0) {
        fprintf(stderr, "ksiss query: no --pods and no cluster to list them from (%s): per-pod metrics cannot be read\n",
                err);
        goto out;
    }
    if (!*ns)
        *ns = ksiss_xstrdup(kc.namespace);
    ksiss_kube_options ko = {.connect_timeout_ms = 2000, .timeout_ms = 5000, .max_retries = -1};
    if (!(k = ksiss_kube_new(&kc, &ko, &err))) {
        fprintf(stderr, "ksiss query: cluster %s: %s; give the pods with --pods\n", kc.source, err);
        goto out;
    }
    if (ksiss_knative_read(k, *ns, name, &v, &ke) != 0) {
        fprintf(stderr, "ksiss query: cannot list the pods of Knative Service %s/%s (%s): %s; give them with --pods\n",
                *ns, name, kc.source, ke.message ? ke.message : ksiss_kube_rc_name(ke.rc));
        goto out;
    }
    const char **names = ksiss_knative_running_pods(&v, n);
    free(pods);
    pods = ksiss_xcalloc(*n + 1, sizeof(char *));
    for (size_t i = 0; i < *n; i++)
        pods[i] = ksiss_xstrdup(names[i]);
    free((void *)names);
    if (!*revision) {
        json_t *status = json_object_get(v.service, "status");     /* borrowed */
        *revision = ksiss_xstrdup(json_string_value(json_object_get(status, "latestReadyRevisionName")));
    }
    fprintf(stderr, "ksiss query: %zu Running pod%s of %s/%s from %s\n", *n, *n == 1 ? "" : "s", *ns, name, kc.source);
out:
    ksiss_knative_view_free(&v);
    ksiss_kube_error_clear(&ke);
    ksiss_kube_free(k);
    ksiss_kube_config_free(&kc);
    free(err);
    return pods;
}

static json_t *num_or_null(bool present, double v)
{
    return present && isfinite(v) ? json_real(v) : json_null();
}

static void print_json(const ksiss_service_cfg *svc, const char *ns, const ksiss_metric_reading *r,
                       char *const *pods)
{
    json_t *root = json_object();
    json_object_set_new(root, "service", json_string(svc->name));
    json_object_set_new(root, "namespace", json_string(ns));
    json_t *arr = json_array();
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        json_t *o = json_object();
        double p = r[i].obs.present ? ksiss_metric_pressure(m, r[i].obs.value) : NAN;
        json_object_set_new(o, "name", json_string(m->name));
        json_object_set_new(o, "value", num_or_null(r[i].obs.present, r[i].obs.value));
        json_object_set_new(o, "slo", json_real(m->slo));
        json_object_set_new(o, "pressure", num_or_null(!isnan(p), p));
        json_object_set_new(o, "direction", json_string(ksiss_direction_name(m->direction)));
        json_object_set_new(o, "aggregate", json_string(ksiss_aggregate_name(m->aggregate)));
        json_t *po = json_object();
        for (size_t k = 0; k < r[i].n_pods; k++)
            json_object_set_new(po, pods[k], num_or_null(r[i].pods[k].present, r[i].pods[k].value));
        json_object_set_new(o, "pods", po);
        if (!r[i].obs.present)
            json_object_set_new(o, "missing", json_string(r[i].obs.why_missing ? r[i].obs.why_missing : "unknown"));
        json_object_set_new(o, "batched", json_boolean(r[i].batched));
        json_object_set_new(o, "requests", json_integer(r[i].requests));
        if (r[i].query)
            json_object_set_new(o, "query", json_string(r[i].query));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "metrics", arr);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(root);
}

static void print_text(const ksiss_service_cfg *svc, const char *ns, const ksiss_metric_reading *r,
                       char *const *pods, const char *url)
{
    char *ru = ksiss_url_redact(url);
    printf("service %s (namespace %s), Prometheus %s\n", svc->name, ns, ru);
    free(ru);
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        printf("metric %s (%s, %s over pods): ", m->name, ksiss_direction_name(m->direction),
               ksiss_aggregate_name(m->aggregate));
        if (r[i].obs.present) {
            double p = ksiss_metric_pressure(m, r[i].obs.value);
            printf("%.6g  slo %.6g  pressure ", r[i].obs.value, m->slo);
            if (isnan(p))
                printf("n/a");
            else
                printf("%.3f", p);
        } else {
            printf("NO VALUE (%s)  slo %.6g", r[i].obs.why_missing ? r[i].obs.why_missing : "unknown", m->slo);
        }
        printf("  [%d request%s%s]\n", r[i].requests, r[i].requests == 1 ? "" : "s",
               r[i].batched ? ", pods batched" : r[i].per_pod && r[i].requests ? ", one per pod" : "");
        for (size_t k = 0; k < r[i].n_pods; k++) {
            if (r[i].pods[k].present)
                printf("  pod %s: %.6g\n", pods[k], r[i].pods[k].value);
            else
                printf("  pod %s: no value (%s)\n", pods[k], r[i].pods[k].why_missing);
        }
    }
    fflush(stdout);
}

/* Reads every metric once; reports problems on stderr. Returns how many
 * metrics had no usable value. */
static size_t read_once(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                        char *const *pods, size_t n_pods, ksiss_metrics *reg, ksiss_metric_reading *r,
                        bool report)
{
    size_t missing = ksiss_prom_read_service(c, svc, vars, (const char *const *)pods, n_pods, ksiss_wall_ms(), reg, r);
    if (reg)
        ksiss_prom_export_readings(reg, vars->namespace_name, vars->service, svc, r, (const char *const *)pods);
    for (size_t i = 0; report && i < svc->n_metrics; i++) {
        if (r[i].obs.present)
            continue;
        if (r[i].failed)
            fprintf(stderr, "ksiss query: %s\n", r[i].error);
        else
            fprintf(stderr, "ksiss query: metric %s: no usable value (%s)%s\n", svc->metrics[i].name,
                    r[i].obs.why_missing ? r[i].obs.why_missing : "unknown",
                    r[i].per_pod && n_pods == 0 ? "; give the pods with --pods" : "");
    }
    return missing;
}

int ksiss_cmd_query(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        usage(stdout, true);
        return KSISS_EXIT_OK;
    }
    query_args a = {.interval_ms = 10000};
    if (parse_args(argc, argv, &a) < 0) {
        usage(stderr, false);
        return KSISS_EXIT_USAGE;
    }
    int rc = KSISS_EXIT_OK;
    char *err = NULL, *text = NULL, *ns_owned = NULL, *revision = NULL;
    char **pods = NULL;
    size_t n_pods = 0, len = 0;
    ksiss_catalog cat;
    ksiss_config cfg = {0};
    ksiss_diags d;
    ksiss_prom_opts o;
    ksiss_prom *c = NULL;
    ksiss_metrics *reg = NULL;
    ksiss_exporter *exp = NULL;
    ksiss_metric_reading *r = NULL;
    const ksiss_service_cfg *svc = NULL;
    ksiss_catalog_builtin(&cat);
    ksiss_diags_init(&d);
    ksiss_prom_opts_init(&o);

    if (!(pods = split_pods(a.pods, &n_pods))) {
        rc = KSISS_EXIT_USAGE;
        goto out;
    }
    if (ksiss_prom_opts_from_env(&o, ksiss_process_getenv, NULL, &err) < 0) {
        fprintf(stderr, "ksiss query: %s\n", err);
        rc = KSISS_EXIT_PROBLEM; /* invalid configuration, not usage */
        goto out;
    }
    if (a.prometheus) {
        char *u = ksiss_prom_normalize_url(a.prometheus, &err);
        if (!u) {
            fprintf(stderr, "ksiss query: --prometheus: %s\n", err);
            rc = KSISS_EXIT_USAGE;
            goto out;
        }
        free(o.url);
        o.url = u;
    }
    if (a.timeout_ms)
        o.timeout_ms = a.timeout_ms;
    if (a.connect_timeout_ms)
        o.connect_timeout_ms = a.connect_timeout_ms;
    if (a.token_file) {
        free(o.bearer_token_file);
        o.bearer_token_file = ksiss_xstrdup(a.token_file);
    }
    if (a.ca_file) {
        free(o.ca_file);
        o.ca_file = ksiss_xstrdup(a.ca_file);
    }

    if (!(text = ksiss_read_file(a.config, MAX_CONFIG_BYTES, &len, &err))) {
        fprintf(stderr, "ksiss query: %s\n", err);
        rc = KSISS_EXIT_RUNTIME;
        goto out;
    }
    if (ksiss_config_parse(text, len, a.config, a.configmap, &cat, &cfg, &d) < 0) {
        for (size_t i = 0; i < d.n; i++) {
            char *m = ksiss_diag_format(&d.v[i]);
            fprintf(stderr, "%s\n", m);
            free(m);
        }
        fprintf(stderr, "ksiss query: %s is not a valid configuration (ksiss check-config %s)\n", a.config, a.config);
        rc = KSISS_EXIT_PROBLEM;
        goto out;
    }
    bool by_prefix = false;
    svc = ksiss_config_find(&cfg, a.service, &by_prefix);
    if (!svc) {
        fprintf(stderr, "ksiss query: %s has no entry for service '%s'\n", a.config, a.service);
        rc = KSISS_EXIT_PROBLEM;
        goto out;
    }
    if (by_prefix)
        fprintf(stderr, "ksiss query: no key '%s'; using '%s' by the original's prefix rule\n", a.service, svc->name);

    /* The namespace fills {namespace} in PromQL and names the pods' API
     * path: a name Kubernetes would refuse is refused here, named. */
    if (a.namespace_name && !ksiss_dns1123_label(a.namespace_name)) {
        fprintf(stderr, "ksiss query: --namespace \"%s\" is not a valid namespace name (lower-case letters, digits and '-', at most 63)\n",
                a.namespace_name);
        rc = KSISS_EXIT_USAGE;
        goto out;
    }
    const char *env_ns = getenv("NAMESPACE");
    if (!a.namespace_name && env_ns && *env_ns && !ksiss_dns1123_label(env_ns)) {
        fprintf(stderr, "ksiss query: NAMESPACE \"%s\" is not a valid namespace name (lower-case letters, digits and '-', at most 63)\n",
                env_ns);
        rc = KSISS_EXIT_PROBLEM; /* invalid configuration, as every environment variable */
        goto out;
    }
    if (a.namespace_name || (env_ns && *env_ns))
        ns_owned = ksiss_xstrdup(a.namespace_name ? a.namespace_name : env_ns);
    revision = ksiss_xstrdup(a.revision);
    if (!a.pods) {
        for (size_t i = 0; i < n_pods; i++)
            free(pods[i]);
        free(pods);
        pods = cluster_pods(&a, a.service, &ns_owned, &revision, &n_pods);
    }
    const char *ns = ns_owned ? ns_owned : "default";
    ksiss_promql_vars vars = {.service = a.service, .namespace_name = ns, .revision = revision};
    if (!(c = ksiss_prom_new(&o, &err))) {
        fprintf(stderr, "ksiss query: %s\n", err);
        rc = KSISS_EXIT_RUNTIME;
        goto out;
    }
    if (a.serve) {
        reg = ksiss_metrics_new();
        if (!(exp = ksiss_exporter_start(a.serve, reg, &err))) {
            fprintf(stderr, "ksiss query: --serve: %s\n", err);
            rc = KSISS_EXIT_RUNTIME;
            goto out;
        }
    }
    r = ksiss_xcalloc(svc->n_metrics ? svc->n_metrics : 1, sizeof(*r));
    size_t missing = read_once(c, svc, &vars, pods, n_pods, reg, r, true);
    if (a.json)
        print_json(svc, ns, r, pods);
    else
        print_text(svc, ns, r, pods, o.url);
    if (missing)
        rc = KSISS_EXIT_PROBLEM;
    if (!exp)
        goto out;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ksiss_exporter_set_ready(exp, true);
    fprintf(stderr, "ksiss query: serving /metrics on port %d (%s); Ctrl-C stops\n", ksiss_exporter_port(exp), a.serve);
    fflush(stderr);
    while (!stop_requested) {
        ksiss_sleep_ms(a.interval_ms, &stop_requested);
        if (stop_requested)
            break;
        ksiss_metric_readings_free(r, svc->n_metrics);
        read_once(c, svc, &vars, pods, n_pods, reg, r, false);
    }
    rc = KSISS_EXIT_OK;

out:
    if (r)
        ksiss_metric_readings_free(r, svc->n_metrics);
    free(r);
    ksiss_exporter_stop(exp);
    ksiss_metrics_free(reg);
    ksiss_prom_free(c);
    ksiss_prom_opts_free(&o);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
    ksiss_diags_free(&d);
    for (size_t i = 0; pods && i < n_pods; i++)
        free(pods[i]);
    free(pods);
    free(text);
    free(err);
    free(ns_owned);
    free(revision);
    return rc;
}
