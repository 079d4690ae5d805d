/* bench_latency.c: `ksiss-bench latency` measures decision latency. For
 * each chosen service, staggered so the samples fall at different points
 * of the autoscaler's tick: t0 = the metrics source switches it into an SLO
 * breach (GET /set?mode=breach); t1 = Prometheus first answers the SLO
 * query above the threshold (polled every --poll-ms); t2 = the first change
 * the autoscaler makes to the service's PodAutoscaler (scale bounds: "out")
 * or Service (tier change) arrives on a watch of the apiserver. Then the
 * service goes back to steady. Prints one "sample" line per service and a
 * "latency" summary line (key=value: medians and maxima of t2-t1, the
 * decision latency, and t2-t0, end to end). Exits 1 only when the tool
 * itself fails (bad arguments, no apiserver); samples that time out are
 * counted as missed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

typedef struct {
    char *svc, *rev;
    int64_t t0, t1, t2;
    char what[160];
    bool started, done;
} sample;

typedef struct {
    bench_api api;
    const char *ns;
    sample *v;
    size_t n;
    pthread_mutex_t mu;
    volatile int stop;
} lat;

typedef struct {
    lat *L;
    const char *coll;       /* collection path */
    const char *kind;       /* "podautoscaler" or "service" */
    char *rv;
    ksiss_strbuf line;
    char *err;
} watch;

static void on_event(watch *w, const char *text, size_t len)
{
    int64_t now = bench_now_ms();
    json_t *ev = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *o = json_object_get(ev, "object");
    json_t *md = json_object_get(o, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    if (type && name && !strcmp(type, "MODIFIED")) {
        lat *L = w->L;
        pthread_mutex_lock(&L->mu);
        for (size_t i = 0; i < L->n; i++) {
            sample *s = &L->v[i];
            bool match = !strcmp(w->kind, "service") ? !strcmp(name, s->svc) : (s->rev && !strcmp(name, s->rev));
            if (!match || !s->started || s->t2)
                continue;
            s->t2 = now;
            json_t *ann = json_object_get(md, "annotations");
            const char *mn = json_string_value(json_object_get(ann, "autoscaling.knative.dev/min-scale"));
            const char *tr = json_string_value(json_object_get(ann, "ksiss.dev/transition"));
            if (!strcmp(w->kind, "service"))
                snprintf(s->what, sizeof(s->what), "service patched (transition %.100s)", tr ? tr : "none");
            else
                snprintf(s->what, sizeof(s->what), "podautoscaler min-scale=%s", mn ? mn : "?");
        }
        pthread_mutex_unlock(&L->mu);
    }
    json_decref(ev);
}

static size_t on_watch_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    watch *w = ud;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            on_event(w, ksiss_sb_str(&w->line), w->line.len);
            ksiss_sb_free(&w->line);
            ksiss_sb_init(&w->line, 0);
        } else {
            ksiss_sb_putc(&w->line, buf[i]);
        }
    }
    return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    watch *w = ud;
    return w->L->stop ? 1 : 0;
}

static void *watch_main(void *arg)
{
    watch *w = arg;
    bench_conn bc;
    if (bench_conn_init(&bc, w->L->api.server, w->L->api.ca_file, w->L->api.token_file, &w->err) != 0)
        return NULL;
    while (!w->L->stop) {
        char *url = ksiss_xasprintf("%s%s?watch=1&resourceVersion=%s&timeoutSeconds=600", bc.base, w->coll, w->rv);
        CURL *c = bc.c;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (bc.ca_file)
            curl_easy_setopt(c, CURLOPT_CAINFO, bc.ca_file);
        struct curl_slist *h = bc.auth ? curl_slist_append(NULL, bc.auth) : NULL;
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
        ksiss_sb_init(&w->line, 0);
        curl_easy_perform(c);
        ksiss_sb_free(&w->line);
        curl_slist_free_all(h);
        free(url);
        /* A watch that ends early (timeout) restarts from the same point:
         * events since then come again, and only the first change per
         * sample counts. */
        if (!w->L->stop) {
            struct timespec ts = {0, 200000000L};
            nanosleep(&ts, NULL);
        }
    }
    bench_conn_free(&bc);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void stats(int64_t *v, size_t n, double *median, int64_t *max)
{
    *median = -1;
    *max = -1;
    if (!n)
        return;
    qsort(v, n, sizeof(*v), cmp_i64);
    *median = n % 2 ? (double)v[n / 2] : (double)(v[n / 2 - 1] + v[n / 2]) / 2.0;
    *max = v[n - 1];
}

static char *list_rv(bench_conn *bc, const char *coll, char **err)
{
    char *p = ksiss_xasprintf("%s?limit=1", coll);
    json_t *o = NULL;
    long code = bench_req_json(bc, "GET", p, NULL, NULL, &o, err);
    free(p);
    const char *rv = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
    char *r = code == 200 && rv ? ksiss_xstrdup(rv) : NULL;
    if (!r && !*err)
        *err = ksiss_xasprintf("LIST %s: HTTP %ld", coll, code);
    json_decref(o);
    return r;
}

/* The value of the SLO query for one service, or -1 when none. */
static double prom_value(bench_conn *pc, const char *ns, const char *svc)
{
    char *q = ksiss_xasprintf("histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket"
                              "{namespace=\"%s\",service=\"%s\"}[1m])))", ns, svc);
    char *esc = curl_easy_escape(pc->c, q, 0);
    char *path = ksiss_xasprintf("/api/v1/query?query=%s", esc);
    curl_free(esc);
    free(q);
    json_t *o = NULL;
    char *err = NULL;
    double v = -1;
    if (bench_req_json(pc, "GET", path, NULL, NULL, &o, &err) == 200) {
        json_t *r = json_array_get(json_object_get(json_object_get(o, "data"), "result"), 0);
        const char *s = json_string_value(json_array_get(json_object_get(r, "value"), 1));
        double d;
        if (s && ksiss_parse_double(s, &d) == 0)
            v = d;
    }
    free(err);
    free(path);
    json_decref(o);
    return v;
}

static int set_mode(bench_conn *sc, const char *svc, const char *mode)
{
    char *path = ksiss_xasprintf("/set?service=%s&mode=%s", svc, mode);
    char *err = NULL;
    long code = bench_req(sc, "GET", path, NULL, NULL, NULL, &err);
    if (code != 200)
        fprintf(stderr, "latency: %s: HTTP %ld %s\n", path, code, err ? err : "");
    free(err);
    free(path);
    return code == 200 ? 0 : -1;
}

int bench_latency(int argc, char **argv)
{
    lat L = {0};
    pthread_mutex_init(&L.mu, NULL);
    L.api.server = bench_arg(argc, argv, "--server");
    L.api.ca_file = bench_arg(argc, argv, "--ca");
    L.api.token_file = bench_arg(argc, argv, "--token-file");
    L.ns = bench_arg(argc, argv, "--namespace");
    const char *source = bench_arg(argc, argv, "--source");
    const char *prom = bench_arg(argc, argv, "--prometheus");
    const char *list = bench_arg(argc, argv, "--services");
    long stagger = bench_arg_long(argc, argv, "--stagger-ms", 2300);
    long timeout_s = bench_arg_long(argc, argv, "--timeout-s", 90);
    long poll = bench_arg_long(argc, argv, "--poll-ms", 100);
    double thr = bench_arg_double(argc, argv, "--threshold", 0.6);
    if (!L.api.server || !L.ns || !source || !prom || !list || stagger < 0 || timeout_s < 1 || poll < 10) {
        fprintf(stderr, "usage: ksiss-bench latency --server URL [--ca FILE] [--token-file FILE] --namespace NS\n"
                        "         --source URL --prometheus URL --services NAME,NAME,... [--stagger-ms 2300]\n"
                        "         [--timeout-s 90] [--poll-ms 100] [--threshold 0.6]\n");
        return 2;
    }
    char *copy = ksiss_xstrdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        L.v = ksiss_xrealloc(L.v, (L.n + 1) * sizeof(*L.v));
        memset(&L.v[L.n], 0, sizeof(*L.v));
        L.v[L.n++].svc = ksiss_xstrdup(t);
    }
    free(copy);
    bench_conn kc, sc, pc;
    char *err = NULL;
    if (bench_conn_init(&kc, L.api.server, L.api.ca_file, L.api.token_file, &err) != 0 ||
        bench_conn_init(&sc, source, NULL, NULL, &err) != 0 || bench_conn_init(&pc, prom, NULL, NULL, &err) != 0) {
        fprintf(stderr, "latency: %s\n", err);
        return 1;
    }
    /* Each service's serving revision = its PodAutoscaler's name. */
    for (size_t i = 0; i < L.n; i++) {
        char *p = ksiss_xasprintf("/apis/serving.knative.dev/v1/namespaces/%s/services/%s", L.ns, L.v[i].svc);
        json_t *o = NULL;
        if (bench_req_json(&kc, "GET", p, NULL, NULL, &o, &err) == 200) {
            const char *r = json_string_value(json_object_get(json_object_get(o, "status"), "latestReadyRevisionName"));
            L.v[i].rev = ksiss_xstrdup(r);
        }
        if (!L.v[i].rev)
            fprintf(stderr, "latency: service %s has no ready revision (%s)\n", L.v[i].svc, err ? err : "");
        free(err);
        err = NULL;
        json_decref(o);
        free(p);
    }
    watch w[2] = {
        {.L = &L, .kind = "podautoscaler"},
        {.L = &L, .kind = "service"},
    };
    char *coll[2] = {
        ksiss_xasprintf("/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/%s/podautoscalers", L.ns),
        ksiss_xasprintf("/apis/serving.knative.dev/v1/namespaces/%s/services", L.ns),
    };
    pthread_t th[2];
    int n_th = 0;
    for (int i = 0; i < 2; i++) {
        w[i].coll = coll[i];
        w[i].rv = list_rv(&kc, coll[i], &err);
        if (!w[i].rv) {
            fprintf(stderr, "latency: %s\n", err);
            L.stop = 1;
            break;
        }
        if (pthread_create(&th[n_th], NULL, watch_main, &w[i]) == 0)
            n_th++;
    }
    int rc = L.stop ? 1 : 0;
    int64_t start = bench_now_ms() + 1000;  /* the watches are open by then */
    size_t left = L.stop ? 0 : L.n;
    while (left > 0) {
        int64_t now = bench_now_ms();
        left = 0;
        for (size_t i = 0; i < L.n; i++) {
            sample *s = &L.v[i];
            if (s->done)
                continue;
            left++;
            if (!s->started) {
                if (now < start + (int64_t)i * stagger)
                    continue;
                if (set_mode(&sc, s->svc, "breach") != 0) {
                    s->done = true;
                    continue;
                }
                pthread_mutex_lock(&L.mu);
                s->t0 = bench_now_ms();
                s->started = true;
                pthread_mutex_unlock(&L.mu);
                continue;
            }
            if (!s->t1 && prom_value(&pc, L.ns, s->svc) > thr)
                s->t1 = bench_now_ms();
            pthread_mutex_lock(&L.mu);
            bool patched = s->t2 != 0;
            pthread_mutex_unlock(&L.mu);
            if ((patched && s->t1) || now - s->t0 > timeout_s * 1000) {
                s->done = true;
                set_mode(&sc, s->svc, "steady");
            }
        }
        struct timespec ts = {poll / 1000, (poll % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    L.stop = 1;
    for (int i = 0; i < n_th; i++)
        pthread_join(th[i], NULL);
    int64_t *a = ksiss_xcalloc(L.n + 1, sizeof(int64_t)), *b = ksiss_xcalloc(L.n + 1, sizeof(int64_t)),
            *c = ksiss_xcalloc(L.n + 1, sizeof(int64_t));
    size_t ok = 0;
    for (size_t i = 0; i < L.n; i++) {
        sample *s = &L.v[i];
        printf("sample service=%s revision=%s t0=%lld t1=%lld t2=%lld avail_ms=%lld decision_ms=%lld total_ms=%lld "
               "change=\"%s\"\n",
               s->svc, s->rev ? s->rev : "-", (long long)s->t0, (long long)s->t1, (long long)s->t2,
               s->t1 ? (long long)(s->t1 - s->t0) : -1LL, s->t1 && s->t2 ? (long long)(s->t2 - s->t1) : -1LL,
               s->t2 ? (long long)(s->t2 - s->t0) : -1LL, s->t2 ? s->what : "none within the timeout");
        if (s->t0 && s->t1 && s->t2) {
            a[ok] = s->t2 - s->t1;
            b[ok] = s->t2 - s->t0;
            c[ok] = s->t1 - s->t0;
            ok++;
        }
    }
    double ma, mb, mc;
    int64_t xa, xb, xc;
    stats(a, ok, &ma, &xa);
    stats(b, ok, &mb, &xb);
    stats(c, ok, &mc, &xc);
    printf("latency samples=%zu measured=%zu decision_median_ms=%.0f decision_max_ms=%lld total_median_ms=%.0f "
           "total_max_ms=%lld avail_median_ms=%.0f avail_max_ms=%lld\n",
           L.n, ok, ma, (long long)xa, mb, (long long)xb, mc, (long long)xc);
    free(a);
    free(b);
    free(c);
    for (int i = 0; i < 2; i++) {
        free(w[i].rv);
        free(w[i].err);
        free(coll[i]);
    }
    for (size_t i = 0; i < L.n; i++) {
        free(L.v[i].svc);
        free(L.v[i].rev);
    }
    free(L.v);
    bench_conn_free(&kc);
    bench_conn_free(&sc);
    bench_conn_free(&pc);
    return rc;
}
