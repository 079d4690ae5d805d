/* bench_source.c: `ksiss-bench source`, the scale benchmark's metrics
 * source: one HTTP server (libmicrohttpd, 127.0.0.1 only) exposing vLLM's
 * per-pod series for every bench service, in shards that Prometheus scrapes
 * as separate targets (GET /metrics?shard=K&of=S: the services with
 * index % S == K). Per pod (labels namespace, service, pod):
 *   vllm:generation_tokens_total          counter, grows at --tokens-rate/s
 *   vllm:time_to_first_token_seconds_*    histogram (le 0.1 0.25 0.5 1 +Inf,
 *                                         _sum, _count), --obs-rate obs/s
 * A service is "steady" (p95 TTFT ~0.48 s) or, after GET /set?service=NAME&
 * mode=breach, "breach" (every observation above 0.5 s: p95 1 s) until
 * /set?...&mode=steady. Counters only grow (accumulated per service at each
 * scrape of its shard), so rate() over them is exact. /set answers with the
 * change's time in epoch milliseconds. Pod names follow
 * `ksiss-bench populate`: the caller passes them in a file, one line
 * "SERVICE POD POD..." per service (--pods-file). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "bench.h"
#include "../integration/serve_port.h"

#if MHD_VERSION < 0x00097002
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

#define N_LE 4
static const char *const le_text[N_LE] = {"0.1", "0.25", "0.5", "1"};
/* Cumulative share of observations at or below each bound. */
static const double share_steady[N_LE] = {0.2, 0.7, 0.97, 1.0};    /* p95 = 0.48 s */
static const double share_breach[N_LE] = {0.0, 0.0, 0.0, 0.3};     /* p95 in +Inf: 1 s */

typedef struct {
    char *name;
    char **pods;
    size_t n_pods;
    bool breach;
    double last_s;          /* accumulated up to (monotonic seconds) */
    double count, sum, bucket[N_LE];
} svc;

typedef struct {
    const char *ns;
    svc *v;
    size_t n;
    double tokens_rate, obs_rate, t0;
    pthread_mutex_t mu;
} source;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void advance(source *s, svc *v, double now)
{
    double dt = now - v->last_s;
    if (dt <= 0)
        return;
    v->last_s = now;
    double obs = s->obs_rate * dt;
    const double *share = v->breach ? share_breach : share_steady;
    v->count += obs;
    v->sum += obs * (v->breach ? 1.2 : 0.35);
    for (int b = 0; b < N_LE; b++)
        v->bucket[b] += obs * share[b];
}

static char *render(source *s, size_t shard, size_t of)
{
    double now = mono_s();
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "# TYPE vllm:generation_tokens_total counter\n"
                       "# TYPE vllm:time_to_first_token_seconds histogram\n");
    double tokens = s->tokens_rate * (now - s->t0);
    pthread_mutex_lock(&s->mu);
    for (size_t i = shard; i < s->n; i += of) {
        svc *v = &s->v[i];
        advance(s, v, now);
        for (size_t k = 0; k < v->n_pods; k++) {
            char lbl[512];
            snprintf(lbl, sizeof(lbl), "namespace=\"%s\",service=\"%s\",pod=\"%s\",model_name=\"m\"", s->ns, v->name,
                     v->pods[k]);
            ksiss_sb_printf(&sb, "vllm:generation_tokens_total{%s} %.17g\n", lbl, tokens);
            for (int b = 0; b < N_LE; b++)
                ksiss_sb_printf(&sb, "vllm:time_to_first_token_seconds_bucket{%s,le=\"%s\"} %.17g\n", lbl, le_text[b],
                                v->bucket[b]);
            ksiss_sb_printf(&sb,
                            "vllm:time_to_first_token_seconds_bucket{%s,le=\"+Inf\"} %.17g\n"
                            "vllm:time_to_first_token_seconds_sum{%s} %.17g\n"
                            "vllm:time_to_first_token_seconds_count{%s} %.17g\n",
                            lbl, v->count, lbl, v->sum, lbl, v->count);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ksiss_sb_take(&sb);
}

static svc *find(source *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].name, name))
            return &s->v[i];
    return NULL;
}

static MHD_RESULT reply(struct MHD_Connection *c, unsigned code, char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    MHD_RESULT rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

static MHD_RESULT handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    source *s = cls;
    if (!strcmp(url, "/metrics")) {
        const char *sh = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "shard");
        const char *of = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "of");
        int64_t k = 0, n = 1;
        if ((sh && ksiss_parse_int64(sh, &k) != 0) || (of && ksiss_parse_int64(of, &n) != 0) || n < 1 || k < 0 ||
            k >= n)
            return reply(c, MHD_HTTP_BAD_REQUEST, ksiss_xstrdup("bad shard/of\n"));
        return reply(c, MHD_HTTP_OK, render(s, (size_t)k, (size_t)n));
    }
    if (!strcmp(url, "/set")) {
        const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "service");
        const char *mode = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "mode");
        svc *v = name ? find(s, name) : NULL;
        if (!v || !mode || (strcmp(mode, "breach") && strcmp(mode, "steady")))
            return reply(c, MHD_HTTP_BAD_REQUEST, ksiss_xstrdup("want service=NAME (a known one) and mode=breach|steady\n"));
        pthread_mutex_lock(&s->mu);
        advance(s, v, mono_s());    /* what was observed so far keeps its old shape */
        v->breach = !strcmp(mode, "breach");
        pthread_mutex_unlock(&s->mu);
        return reply(c, MHD_HTTP_OK, ksiss_xasprintf("%lld\n", (long long)bench_now_ms()));
    }
    return reply(c, MHD_HTTP_NOT_FOUND, ksiss_xstrdup("not found\n"));
}

static int load_pods(source *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "source: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 0;
    char *line = NULL;
    size_t len = 0;
    while (getline(&line, &len, f) > 0) {
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        if (!tok)
            continue;
        if (s->n == cap) {
            cap = cap ? cap * 2 : 1024;
            s->v = ksiss_xrealloc(s->v, cap * sizeof(*s->v));
        }
        svc *v = &s->v[s->n++];
        memset(v, 0, sizeof(*v));
        v->name = ksiss_xstrdup(tok);
        while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
            v->pods = ksiss_xrealloc(v->pods, (v->n_pods + 1) * sizeof(*v->pods));
            v->pods[v->n_pods++] = ksiss_xstrdup(tok);
        }
    }
    free(line);
    fclose(f);
    return s->n ? 0 : -1;
}

int bench_source(int argc, char **argv)
{
    source s = {0};
    pthread_mutex_init(&s.mu, NULL);
    s.ns = bench_arg(argc, argv, "--namespace");
    const char *pods = bench_arg(argc, argv, "--pods-file");
    const char *port_file = bench_arg(argc, argv, "--port-file");
    s.tokens_rate = bench_arg_double(argc, argv, "--tokens-rate", 150);
    s.obs_rate = bench_arg_double(argc, argv, "--obs-rate", 2);
    if (!s.ns || !pods || !port_file) {
        fprintf(stderr, "usage: ksiss-bench source --namespace NS --pods-file FILE --port-file FILE "
                        "[--tokens-rate 150] [--obs-rate 2]\n");
        return 2;
    }
    if (load_pods(&s, pods) != 0) {
        fprintf(stderr, "source: no services in %s\n", pods);
        return 1;
    }
    s.t0 = mono_s();
    for (size_t i = 0; i < s.n; i++)
        s.v[i].last_s = s.t0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, &s,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "source: cannot listen on 127.0.0.1\n");
        return 1;
    }
    unsigned port = 0;
    if (itest_publish_port(d, port_file, "source", &port) != 0) {
        MHD_stop_daemon(d);
        return 1;
    }
    fprintf(stderr, "source: %zu services on 127.0.0.1:%u\n", s.n, port);
    itest_wait_for_signal();
    MHD_stop_daemon(d);
    for (size_t i = 0; i < s.n; i++) {
        for (size_t k = 0; k < s.v[i].n_pods; k++)
            free(s.v[i].pods[k]);
        free(s.v[i].pods);
        free(s.v[i].name);
    }
    free(s.v);
    return 0;
}
