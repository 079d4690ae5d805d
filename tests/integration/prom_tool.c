/* prom_tool.c: small helpers for the Prometheus integration test
 * (tests/integration/prom_test.sh), so that it needs no curl, jq or python:
 *   prom_tool free-port                      print a free loopback TCP port
 *   prom_tool hang PORT_FILE                 listen on a free port, never answer
 *   prom_tool get URL                        print the body; exit 0 on HTTP 200
 *   prom_tool json FILE PATH                 print the JSON value at a.b.0.c ("null" for null)
 *   prom_tool export-sample ADDR             serve the K-SISS exporter with a value for
 *                                            every metric of the table (hostile label values)
 *   prom_tool compare-export EXPORTER PROM JOB
 *                                            every series on EXPORTER/metrics must be in
 *                                            Prometheus (job JOB) with the same value
 *   prom_tool cross-batch PROM               reads the services of job "cross" (see
 *                                            prom_test.sh) per service and batched across
 *                                            services (ksiss_prom_batch): same readings,
 *                                            fewer queries
 *   prom_tool cross-hist PROM                the prompt-length histogram per bucket (`sum by
 *                                            (le)`) of each service of job "cross", per
 *                                            service and batched: the same 1 + c^2, the one
 *                                            the stand-ins' prompts give (idle: no series)
 *   prom_tool learn-defaults PROM SERVER SERVICE NS REVISION
 *                                            the learned capacity's default queries of SERVER
 *                                            (vllm, tgi; core/config.c) for SERVICE in NS,
 *                                            read on PROM by the controller's reader: one
 *                                            "key value" line each (nan: no value)
 * Processes it starts stop on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/promql.h"
#include "core/util.h"
#include "core/capacity_learn.h"
#include "core/config.h"
#include "shell/controller.h"
#include "shell/exporter.h"
#include "shell/metrics.h"
#include "shell/prom.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void wait_for_signal(void)
{
    struct sigaction act = {.sa_handler = on_signal};
    sigemptyset(&act.sa_mask);
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    while (!stop) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000000L};
        nanosleep(&ts, NULL);
    }
}

static int listen_free(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return ksiss_sb_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* GET url; returns the HTTP status (0 on failure) and the body. */
static long http_get(const char *url, ksiss_strbuf *body)
{
    ksiss_sb_init(body, 64u * 1024u * 1024u);
    CURL *h = curl_easy_init();
    long status = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

static int cmd_json(const char *file, const char *path)
{
    json_error_t je;
    json_t *root = json_load_file(file, 0, &je);
    if (!root) {
        fprintf(stderr, "prom_tool json: %s: %s\n", file, je.text);
        return 1;
    }
    json_t *cur = root;
    char *p = ksiss_xstrdup(path);
    for (char *seg = p, *next; cur && seg; seg = next) {
        next = strchr(seg, '.');
        if (next)
            *next++ = '\0';
        int64_t idx;
        if (json_is_array(cur) && ksiss_parse_int64(seg, &idx) == 0)
            cur = json_array_get(cur, (size_t)idx);
        else
            cur = json_object_get(cur, seg);
    }
    free(p);
    int rc = 0;
    if (!cur) {
        fprintf(stderr, "prom_tool json: no %s in %s\n", path, file);
        rc = 1;
    } else if (json_is_string(cur)) {
        printf("%s\n", json_string_value(cur));
    } else {
        char *s = json_dumps(cur, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s\n", s);
        free(s);
    }
    json_decref(root);
    return rc;
}

/* Representative values for every metric of the table. */
static int cmd_export_sample(const char *addr)
{
    ksiss_metrics *reg = ksiss_metrics_new();
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        const ksiss_metric_def *d = &ksiss_metric_defs[id];
        if (id == KSISS_M_BUILD_INFO)
            continue;   /* set by the registry itself */
        const char *labels[KSISS_METRIC_MAX_LABELS];
        char *owned[KSISS_METRIC_MAX_LABELS] = {0};
        size_t n = 0;
        for (; n < KSISS_METRIC_MAX_LABELS && d->labels[n]; n++)
            labels[n] = owned[n] = !strcmp(d->labels[n], "service") ? ksiss_xstrdup("llama \"3\" 8b\\x\nend")
                                                                    : ksiss_xasprintf("%s-%d", d->labels[n], id);
        double v = 1.5 + id;
        if (d->type == KSISS_MT_GAUGE)
            ksiss_metrics_set(reg, (ksiss_metric_id)id, n ? labels : NULL, v);
        else if (d->type == KSISS_MT_COUNTER)
            ksiss_metrics_add(reg, (ksiss_metric_id)id, n ? labels : NULL, v);
        else
            for (int k = 0; k < 3; k++)
                ksiss_metrics_observe(reg, (ksiss_metric_id)id, n ? labels : NULL, d->buckets[k] * 0.9);
        for (size_t k = 0; k < n; k++)
            free(owned[k]);
    }
    char *err = NULL;
    ksiss_exporter *e = ksiss_exporter_start(addr, reg, &err);
    if (!e) {
        fprintf(stderr, "prom_tool export-sample: %s\n", err);
        free(err);
        ksiss_metrics_free(reg);
        return 1;
    }
    ksiss_exporter_set_ready(e, true);
    fprintf(stderr, "prom_tool export-sample: serving on port %d\n", ksiss_exporter_port(e));
    wait_for_signal();
    ksiss_exporter_stop(e);
    ksiss_metrics_free(reg);
    return 0;
}

/* Parses one sample line of the text format into a PromQL selector
 * (with job) and its value. Returns 0, or -1 for a line it cannot read. */
static int sample_selector(const char *line, const char *job, char **sel, double *value)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    size_t n = strcspn(line, "{ ");
    char *name = ksiss_xstrndup(line, n);
    char *esc = ksiss_promql_escape(job, false);
    ksiss_sb_printf(&sb, "{__name__=\"%s\",job=\"%s\"", name, esc);
    free(esc);
    free(name);
    const char *p = line + n;
    if (*p == '{') {
        p++;
        while (*p && *p != '}') {
            size_t kn = strcspn(p, "=");
            char *key = ksiss_xstrndup(p, kn);
            p += kn;
            if (p[0] != '=' || p[1] != '"') {
                free(key);
                ksiss_sb_free(&sb);
                return -1;
            }
            p += 2;
            ksiss_strbuf val;
            ksiss_sb_init(&val, 0);
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;
                    ksiss_sb_putc(&val, *p == 'n' ? '\n' : *p);
                } else {
                    ksiss_sb_putc(&val, *p);
                }
                p++;
            }
            if (*p == '"')
                p++;
            if (*p == ',')
                p++;
            char *ev = ksiss_promql_escape(ksiss_sb_str(&val), false);
            ksiss_sb_printf(&sb, ",%s=\"%s\"", key, ev);
            free(ev);
            free(key);
            ksiss_sb_free(&val);
        }
        if (*p == '}')
            p++;
    }
    ksiss_sb_putc(&sb, '}');
    while (*p == ' ')
        p++;
    if (!strcmp(p, "NaN"))
        *value = NAN;
    else if (!strcmp(p, "+Inf"))
        *value = INFINITY;
    else if (!strcmp(p, "-Inf"))
        *value = -INFINITY;
    else if (ksiss_parse_double(p, value) < 0) {
        ksiss_sb_free(&sb);
        return -1;
    }
    *sel = ksiss_sb_take(&sb);
    return 0;
}

/* A Prometheus client for prom_url, or NULL after a line on stderr naming
 * `who` and what was wrong. */
static ksiss_prom *prom_client(const char *prom_url, const char *who)
{
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    char *err = NULL;
    o.url = ksiss_prom_normalize_url(prom_url, &err);
    ksiss_prom *c = o.url ? ksiss_prom_new(&o, &err) : NULL;
    ksiss_prom_opts_free(&o);
    if (!c) {
        fprintf(stderr, "%s: %s\n", who, err ? err : "no client");
        free(err);
    }
    return c;
}

static int cmd_compare_export(const char *exporter, const char *prom_url, const char *job)
{
    ksiss_strbuf body;
    char *murl = ksiss_xasprintf("%s/metrics", exporter);
    long st = http_get(murl, &body);
    free(murl);
    if (st != 200) {
        fprintf(stderr, "prom_tool compare-export: GET %s/metrics: HTTP %ld\n", exporter, st);
        ksiss_sb_free(&body);
        return 1;
    }
    ksiss_prom *c = prom_client(prom_url, "prom_tool compare-export");
    if (!c) {
        ksiss_sb_free(&body);
        return 1;
    }
    int pass = 0, fail = 0;
    char *text = ksiss_sb_take(&body);
    char *save = text;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line && *line != '#') {
            char *sel = NULL;
            double want = 0;
            ksiss_prom_result r;
            if (sample_selector(line, job, &sel, &want) < 0) {
                printf("FAIL cannot read exported line: %s\n", line);
                fail++;
            } else if (ksiss_prom_query(c, sel, NULL, NULL, &r) < 0 || r.n != 1) {
                printf("FAIL %s: %s\n", sel, r.error ? r.error : "not exactly one series in Prometheus");
                fail++;
                ksiss_prom_result_free(&r);
            } else {
                double got = r.samples[0].value;
                bool same = isnan(want) ? isnan(got) : got == want;
                if (same)
                    pass++;
                else
                    fail++;
                if (!same)
                    printf("FAIL %s: Prometheus has %.17g, exported %.17g\n", sel, got, want);
                ksiss_prom_result_free(&r);
            }
            free(sel);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(save);
    ksiss_prom_free(c);
    printf("compare-export %s: %d series equal, %d differ or are missing\n", job, pass, fail);
    return fail || !pass ? 1 : 0;
}

/* ---- batching across services against the real Prometheus ---- */

typedef struct {
    const char *name, *revision;
    const char *pods[2];
    size_t n_pods;
} cross_service;

/* Targets of job "cross" in prom_test.sh: server a as svc1-a (svc1) and as
 * odd-a (odd.name), server b as svc1-b (svc1) and as oddx-b (oddxname):
 * "odd.name" unescaped would match "oddxname" too. */
static const cross_service cross_services[] = {
    {"svc1", "svc1-00001", {"svc1-a", "svc1-b"}, 2},
    {"odd.name", "odd.name-00001", {"odd-a"}, 1},
    {"oddxname", "oddxname-00001", {"oddx-b"}, 1},
    {"idle", "idle-00001", {NULL}, 0},
};
#define N_CROSS (sizeof(cross_services) / sizeof(cross_services[0]))

static ksiss_metric_cfg cross_metric(const char *name, const char *query, ksiss_aggregate agg)
{
    return (ksiss_metric_cfg){.name = (char *)name, .query = (char *)query, .slo = 1, .scale_up_factor = 1.5,
                              .scale_down_factor = 0.5, .direction = KSISS_LOWER_IS_BETTER, .aggregate = agg};
}

static void count_done(void *owner)
{
    (*(int *)owner)++;
}

static int cmd_cross_batch(const char *prom_url)
{
    ksiss_metric_cfg m[] = {
        cross_metric("running", "sum(vllm:num_requests_running{job=\"cross\",service=\"{service}\"})", KSISS_AGG_SUM),
        cross_metric("ttft_p90", "histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket"
                                 "{job=\"cross\",service=\"{service}\"}[15s])))", KSISS_AGG_MAX),
        cross_metric("running_pod", "sum by (pod) (vllm:num_requests_running{job=\"cross\",pod=\"%s\"})", KSISS_AGG_AVG),
        cross_metric("waiting", "avg(vllm:num_requests_waiting{job=\"cross\",revision=\"{revision}\"})", KSISS_AGG_MAX),
        cross_metric("prefix", "sum(vllm:num_requests_running{job=\"cross\",service=~\"{service}.*\"})", KSISS_AGG_SUM),
        cross_metric("tokens", "sum(rate(vllm:generation_tokens_total{job=\"cross\"}[15s]))", KSISS_AGG_SUM),
    };
    const size_t nm = sizeof(m) / sizeof(m[0]);
    /* What the series hold: running a=3 b=5, waiting a=1 b=0. */
    const double want_running[N_CROSS] = {8, 3, 5, NAN};
    const double want_waiting[N_CROSS] = {0.5, 1, 0, NAN};
    ksiss_prom *c = prom_client(prom_url, "cross-batch");
    if (!c)
        return 1;
    ksiss_metrics *reg = ksiss_metrics_new();
    ksiss_metric_reading own[N_CROSS][6], shared[N_CROSS][6];
    ksiss_prom_share shares[N_CROSS][6];
    const ksiss_prom_share *use[N_CROSS][6];
    ksiss_service_cfg cfg[N_CROSS];
    ksiss_promql_vars vars[N_CROSS];
    double q0, q1, q2;
    ksiss_metrics_get(reg, KSISS_M_PROM_QUERIES_TOTAL, NULL, &q0);
    for (size_t s = 0; s < N_CROSS; s++) {
        cfg[s] = (ksiss_service_cfg){.name = (char *)cross_services[s].name, .metrics = m, .n_metrics = nm};
        vars[s] = (ksiss_promql_vars){.service = cross_services[s].name, .namespace_name = "ml",
                                      .revision = cross_services[s].revision};
        ksiss_prom_read_service(c, &cfg[s], &vars[s], cross_services[s].pods, cross_services[s].n_pods, 0, reg,
                                own[s]);
    }
    ksiss_metrics_get(reg, KSISS_M_PROM_QUERIES_TOTAL, NULL, &q1);
    int done = 0, taken = 0;
    ksiss_prom_batch *b = ksiss_prom_batch_new(0, count_done);
    for (size_t s = 0; s < N_CROSS; s++)
        for (size_t i = 0; i < nm; i++) {
            bool t = ksiss_prom_batch_add(b, m[i].query, &vars[s], cross_services[s].pods, cross_services[s].n_pods,
                                          &shares[s][i], &done);
            use[s][i] = t ? &shares[s][i] : NULL;
            taken += t;
        }
    size_t nq = ksiss_prom_batch_seal(b);
    for (size_t q = 0; q < nq; q++)
        ksiss_prom_batch_run(b, q, c, reg, false);
    for (size_t s = 0; s < N_CROSS; s++)
        ksiss_prom_read_service_shared(c, &cfg[s], &vars[s], cross_services[s].pods, cross_services[s].n_pods, use[s],
                                       0, reg, shared[s]);
    ksiss_metrics_get(reg, KSISS_M_PROM_QUERIES_TOTAL, NULL, &q2);
    int fail = done != taken;
    if (fail)
        printf("FAIL %d shares filled, %d taken\n", done, taken);
    for (size_t s = 0; s < N_CROSS; s++) {
        for (size_t i = 0; i < nm; i++) {
            const ksiss_metric_reading *a = &own[s][i], *x = &shared[s][i];
            /* Rates move between two evaluations a few ms apart (a new
             * scrape may land in between): 1e-3 relative; the gauges
             * must be equal exactly. */
            double tol = i == 1 || i == 5 ? 1e-3 * fabs(a->obs.value) : 0;
            bool same = a->obs.present == x->obs.present &&
                        (!a->obs.present || fabs(a->obs.value - x->obs.value) <= tol) &&
                        (a->why == NULL) == (x->why == NULL) && (!a->why || !strcmp(a->why, x->why)) &&
                        a->n_pods == x->n_pods;
            for (size_t p = 0; same && p < a->n_pods; p++)
                same = a->pods[p].present == x->pods[p].present &&
                       (!a->pods[p].present || a->pods[p].value == x->pods[p].value);
            if (!same) {
                printf("FAIL %s/%s: per service %s %g (%s), batched %s %g (%s)\n", cross_services[s].name, m[i].name,
                       a->obs.present ? "present" : "missing", a->obs.value, a->why ? a->why : "", x->obs.present ?
                       "present" : "missing", x->obs.value, x->why ? x->why : "");
                fail = 1;
            }
        }
        double wr = want_running[s], ww = want_waiting[s];
        const ksiss_metric_reading *r = &shared[s][0], *w = &shared[s][3];
        if (isnan(wr) ? r->obs.present : !(r->obs.present && r->obs.value == wr)) {
            printf("FAIL %s/running: got %g, want %g\n", cross_services[s].name, r->obs.value, wr);
            fail = 1;
        }
        if (isnan(ww) ? w->obs.present : !(w->obs.present && w->obs.value == ww)) {
            printf("FAIL %s/waiting: got %g, want %g\n", cross_services[s].name, w->obs.value, ww);
            fail = 1;
        }
        ksiss_metric_readings_free(own[s], nm);
        ksiss_metric_readings_free(shared[s], nm);
        for (size_t i = 0; i < nm; i++)
            ksiss_prom_share_clear(&shares[s][i]);
    }
    printf("%s %zu services x %zu metrics: same readings; %.0f queries per service, %.0f batched (%zu batched queries)\n",
           fail ? "FAIL" : "ok", N_CROSS, nm, q1 - q0, q2 - q1, nq);
    ksiss_prom_batch_free(b);
    ksiss_metrics_free(reg);
    ksiss_prom_free(c);
    return fail;
}

/* 1 + c^2 of the prompts behind the share, or NAN with what was wrong. */
static double hist_of(const ksiss_promql_sample *s, size_t n, char *why, size_t whylen)
{
    double m2;
    ksiss_hist_status st = ksiss_controller_prompt_hist(s, n, &m2, why, whylen);
    return st == KSISS_HIST_READ ? m2 : NAN;
}

/* One histogram's check (cross-hist): `query` per service and batched
 * against what the stand-ins' prompts give in the buckets `le` (n, the
 * last +Inf): a 10 req/s of 1000-token prompts, b 10 req/s, half 100
 * tokens and half 2000 (prom_test.sh). ia, ib0, ib1: the buckets of
 * 1000, 100 and 2000 tokens. */
static int cross_hist_one(ksiss_prom *c, const char *what, const char *query, const double *le, size_t n, size_t ia,
                          size_t ib0, size_t ib1)
{
    double *ca = ksiss_xcalloc(n, sizeof(double)), *cb = ksiss_xcalloc(n, sizeof(double));
    double *cab = ksiss_xcalloc(n, sizeof(double));
    ca[ia] = 10 * 60;    /* over the learning window, as ksiss_controller_prompt_hist counts */
    cb[ib0] = 5 * 60;
    cb[ib1] = 5 * 60;
    for (size_t i = 0; i < n; i++)
        cab[i] = ca[i] + cb[i];
    const double want[N_CROSS] = {ksiss_learn_prompt_m2_le(le, cab, n), ksiss_learn_prompt_m2_le(le, ca, n),
                                  ksiss_learn_prompt_m2_le(le, cb, n), NAN};
    free(ca);
    free(cb);
    free(cab);
    char *err = NULL;
    int fail = 0, done = 0;
    ksiss_prom_batch *b = ksiss_prom_batch_new(0, count_done);
    ksiss_prom_share shares[N_CROSS];
    ksiss_promql_vars vars[N_CROSS];
    double own[N_CROSS];
    char own_why[N_CROSS][200];
    for (size_t s = 0; s < N_CROSS; s++) {
        vars[s] = (ksiss_promql_vars){.service = cross_services[s].name, .namespace_name = "ml",
                                      .revision = cross_services[s].revision};
        char *q = ksiss_promql_fill(query, &vars[s], &err);
        ksiss_prom_result r;
        own_why[s][0] = 0;
        if (!q || ksiss_prom_query(c, q, NULL, NULL, &r) != 0) {
            printf("FAIL %s %s: the per-service query failed: %s\n", what, cross_services[s].name, q ? r.error : err);
            fail = 1;
            own[s] = NAN;
        } else {
            ksiss_promql_sample *ss = ksiss_xcalloc(r.n ? r.n : 1, sizeof(*ss));
            for (size_t k = 0; k < r.n; k++)
                ss[k] = (ksiss_promql_sample){NULL, r.samples[k].value, r.samples[k].le};
            own[s] = hist_of(ss, r.n, own_why[s], sizeof(own_why[s]));
            free(ss);
        }
        if (q)
            ksiss_prom_result_free(&r);
        free(q);
        if (!ksiss_prom_batch_add(b, query, &vars[s], NULL, 0, &shares[s], &done)) {
            printf("FAIL %s %s: the histogram query was not taken into the batch\n", what, cross_services[s].name);
            fail = 1;
        }
    }
    size_t nq = ksiss_prom_batch_seal(b);
    for (size_t q = 0; q < nq; q++)
        ksiss_prom_batch_run(b, q, c, NULL, false);
    for (size_t s = 0; s < N_CROSS; s++) {
        char why[200] = "";
        double x = shares[s].ok ? hist_of(shares[s].samples, shares[s].n, why, sizeof(why)) : NAN;
        bool idle = isnan(want[s]);
        /* rates taken a few ms apart: 1e-3; against the stand-ins' rates, a
         * scrape's timing (a and b are scraped apart): 1e-2 */
        bool same = idle ? isnan(x) && isnan(own[s]) && strstr(why, "no series") && strstr(own_why[s], "no series")
                         : fabs(x - own[s]) <= 1e-3 * own[s] && fabs(x - want[s]) <= 1e-2 * want[s];
        if (!same) {
            printf("FAIL %s %s: 1 + c^2 per service %g (%s), batched %g (%s), want %g\n", what,
                   cross_services[s].name, own[s], own_why[s], x, why, want[s]);
            fail = 1;
        }
        ksiss_prom_share_clear(&shares[s]);
    }
    printf("%s %s, %zu buckets, %zu services: 1 + c^2 %.4g (svc1), %.4g (odd.name), %.4g (oddxname) per service "
           "and batched (%zu batched queries), idle: no series\n", fail ? "FAIL" : "ok", what, n, N_CROSS, own[0],
           own[1], own[2], nq);
    ksiss_prom_batch_free(b);
    return fail;
}

/* learn-defaults: the defaults a configuration without learnQueries (or
 * with only its server) gets, read by the controller's own reader
 * (ksiss_controller_read_learn): each query filled, sent and its answer
 * summed as on a tick. */
static int cmd_learn_defaults(const char *prom_url, const char *server, const char *service, const char *ns,
                              const char *revision)
{
    char *text = ksiss_xasprintf("svc: |\n  metrics:\n    - {name: ttft, query: q, slo: 1}\n"
                                 "  load: {query: l, learnQueries: {server: %s}}\n", server);
    ksiss_catalog cat;
    ksiss_config cfg = {0};
    ksiss_diags d;
    ksiss_catalog_builtin(&cat);
    ksiss_diags_init(&d);
    int rc = ksiss_config_parse(text, strlen(text), "learn-defaults", NULL, &cat, &cfg, &d);
    free(text);
    ksiss_prom *c = rc == 0 ? prom_client(prom_url, "learn-defaults") : NULL;
    if (rc == 0 && cfg.n_services == 1 && c) {
        ksiss_eval_in in = {.prom = c, .svc = &cfg.services[0]};
        ksiss_promql_vars vars = {.service = service, .namespace_name = ns, .revision = revision};
        ksiss_eval e;
        memset(&e, 0, sizeof(e));
        ksiss_controller_read_learn(&in, &vars, &e);
        for (int i = 0; i < KSISS_LQ_N; i++)
            if (i != KSISS_LQ_PROMPT_HIST)
                printf("%s %.9g\n", ksiss_learn_query_keys[i], e.learn_values[i]);
    } else {
        fprintf(stderr, "prom_tool learn-defaults: server %s: %s\n", server,
                rc != 0 ? "not a valid learnQueries.server" : "no Prometheus client");
        rc = 1;
    }
    ksiss_prom_free(c);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
    ksiss_diags_free(&d);
    return rc == 0 ? 0 : 1;
}

static int cmd_cross_hist(const char *prom_url)
{
    ksiss_prom *c = prom_client(prom_url, "cross-hist");
    if (!c)
        return 1;
    /* vLLM's 1-2-5 buckets: le 1 .. 5000, +Inf */
    const double vle[13] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, INFINITY};
    int fail = cross_hist_one(c, "vLLM",
                              "sum by (le) (rate(vllm:request_prompt_tokens_bucket{job=\"cross\",service=\"{service}\"}[15s]))",
                              vle, 13, 9, 6, 10);
    /* TGI's router: 100 linear buckets of max_input_tokens / 100 (4096 in
     * fake_inference), +Inf, each `le` as written (%.15g) and read back */
    double tle[101];
    for (int i = 0; i < 100; i++) {
        char b[40];
        snprintf(b, sizeof(b), "%.15g", 4096.0 / 100.0 * (i + 1));
        tle[i] = strtod(b, NULL);
    }
    tle[100] = INFINITY;
    size_t t1000 = 0, t100 = 0, t2000 = 0;
    while (1000 > tle[t1000])
        t1000++;
    while (100 > tle[t100])
        t100++;
    while (2000 > tle[t2000])
        t2000++;
    fail |= cross_hist_one(c, "TGI",
                           "sum by (le) (rate(tgi_request_input_length_bucket{job=\"cross\",service=\"{service}\"}[15s]))",
                           tle, 101, t1000, t100, t2000);
    ksiss_prom_free(c);
    return fail;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "free-port") && argc == 2) {
        int port;
        int fd = listen_free(&port);
        rc = fd < 0;
        if (fd >= 0) {
            printf("%d\n", port);
            close(fd);
        }
    } else if (!strcmp(cmd, "hang") && argc == 3) {
        int port;
        int fd = listen_free(&port);
        FILE *f = fd >= 0 ? fopen(argv[2], "w") : NULL;
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
            wait_for_signal();
            rc = 0;
        } else {
            rc = 1;
        }
        if (fd >= 0)
            close(fd);
    } else if (!strcmp(cmd, "get") && argc == 3) {
        ksiss_strbuf b;
        long st = http_get(argv[2], &b);
        fputs(ksiss_sb_str(&b), stdout);
        ksiss_sb_free(&b);
        rc = st == 200 ? 0 : 1;
    } else if (!strcmp(cmd, "json") && argc == 4) {
        rc = cmd_json(argv[2], argv[3]);
    } else if (!strcmp(cmd, "export-sample") && argc == 3) {
        rc = cmd_export_sample(argv[2]);
    } else if (!strcmp(cmd, "compare-export") && argc == 5) {
        rc = cmd_compare_export(argv[2], argv[3], argv[4]);
    } else if (!strcmp(cmd, "cross-batch") && argc == 3) {
        rc = cmd_cross_batch(argv[2]);
    } else if (!strcmp(cmd, "cross-hist") && argc == 3) {
        rc = cmd_cross_hist(argv[2]);
    } else if (!strcmp(cmd, "learn-defaults") && argc == 7) {
        rc = cmd_learn_defaults(argv[2], argv[3], argv[4], argv[5], argv[6]);
    } else {
        fprintf(stderr, "usage: prom_tool free-port | hang PORT_FILE | get URL | json FILE PATH |\n"
                        "       export-sample ADDR | compare-export EXPORTER_URL PROM_URL JOB |\n"
                        "       cross-batch PROM_URL | cross-hist PROM_URL |\n"
                        "       learn-defaults PROM_URL SERVER SERVICE NS REVISION\n");
    }
    curl_global_cleanup();
    return rc;
}
