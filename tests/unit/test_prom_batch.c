/* test_prom_batch.c: Prometheus queries batched ACROSS services
 * (ksiss_prom_batch in src/shell/prom_batch.c) give every service exactly the
 * readings its own queries give on the same data. A stand-in Prometheus on
 * a loopback port answers selector queries from a fixed set of series: it
 * reads the first label matcher (`L="v"` or `L=~"a|b"`) and returns the
 * series whose label L is one of those values, as a real one would for a
 * plain selector. Aggregations by label are exercised against the real
 * Prometheus in tests/integration/prom_test.sh. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "core/promql.h"
#include "core/util.h"
#include "shell/prom.h"
#include "support/test_http.h"


#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the data: series with their labels and value ---- */

typedef struct {
    const char *name, *service, *pod, *revision;
    const char *value;      /* as Prometheus writes it */
} series;

static const series data[] = {
    {"ttft", "llama", "llama-1", "llama-00001", "0.4"},
    {"ttft", "llama", "llama-2", "llama-00001", "0.9"},
    {"ttft", "mis.tral", "mis.tral-1", "mis.tral-00002", "NaN"},
    {"ttft", "qwen", "qwen-1", "qwen-00001", "0.2"},
    {"ttft", "misxtral", "misxtral-1", "misxtral-00001", "7"},     /* must not match mis.tral */
    {"queue", "llama", "llama-1", "llama-00001", "3"},
    {"queue", "llama", "llama-1", "llama-00001", "2"},              /* two series of one pod */
    {"queue", "llama", "llama-3", "llama-00001", "+Inf"},
    {"queue", "mis.tral", "mis.tral-1", "mis.tral-00002", "5"},
    {"queue", "qwen", "qwen-1", "qwen-00001", "1"},
    {"tokens", "llama", "llama-1", "llama-00001", "100"},
    {"tokens", "llama", "llama-2", "llama-00001", "300"},
    {"tokens", "mis.tral", "mis.tral-1", "mis.tral-00002", "50"},
    {"up", "llama", "llama-1", "llama-00001", "1"},
    {"up", "qwen", "qwen-1", "qwen-00001", "1"},
};

static const char *label_of(const series *s, const char *label)
{
    if (!strcmp(label, "service"))
        return s->service;
    if (!strcmp(label, "pod"))
        return s->pod;
    if (!strcmp(label, "revision"))
        return s->revision;
    return NULL;
}

/* Splits an RE2 alternation of escaped literals back into the literals. */
static size_t alternatives(const char *re, char out[][64], size_t max)
{
    size_t n = 0, len = 0;
    for (const char *p = re;; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '|' || !*p) {
            if (n < max) {
                out[n][len] = '\0';
                n++;
            }
            len = 0;
            if (!*p)
                break;
            continue;
        }
        if (len < 63 && n < max)
            out[n][len++] = *p;
    }
    return n;
}

/* The answer to `query`: the series of metric name N (first identifier)
 * whose label L matches the first matcher's value(s). */
static char *evaluate(const char *query, int *status)
{
    *status = 200;
    char name[64] = "", label[64] = "";
    const char *brace = strchr(query, '{');
    const char *op = brace ? strchr(brace, '=') : NULL;
    if (!brace || !op) {
        *status = 400;
        return ksiss_xstrdup("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"unsupported by the stand-in\"}");
    }
    /* The metric name: the identifier just before the brace. */
    const char *b = brace;
    while (b > query && (b[-1] == '_' || b[-1] == ':' || (b[-1] >= 'a' && b[-1] <= 'z')))
        b--;
    snprintf(name, sizeof(name), "%.*s", (int)(brace - b), b);
    snprintf(label, sizeof(label), "%.*s", (int)(op - brace - 1), brace + 1);
    bool regex = op[1] == '~';
    char *lit = NULL;
    /* The matcher's value is the first string literal of the query. */
    assert_int_equal(ksiss_promql_string_at(query, 0, &lit), 0);
    char vals[256][64];
    size_t nv = regex ? alternatives(lit, vals, 256) : 1;
    if (!regex)
        snprintf(vals[0], sizeof(vals[0]), "%s", lit);
    free(lit);
    json_t *result = json_array();
    for (size_t i = 0; i < N_(data); i++) {
        const char *lv = label_of(&data[i], label);
        if (strcmp(data[i].name, name) || !lv)
            continue;
        bool match = false;
        for (size_t k = 0; k < nv && !match; k++)
            match = !strcmp(vals[k], lv);
        if (!match)
            continue;
        json_array_append_new(result,
                              json_pack("{s:{s:s,s:s,s:s,s:s},s:[i,s]}", "metric", "__name__", data[i].name, "service",
                                        data[i].service, "pod", data[i].pod, "revision", data[i].revision, "value",
                                        1, data[i].value));
    }
    json_t *root = json_pack("{s:s,s:{s:s,s:o}}", "status", "success", "data", "resultType", "vector", "result", result);
    char *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return body;
}

typedef struct {
    pthread_mutex_t lock;
    int requests;
    bool fail;              /* answer 503 to everything */
    struct MHD_Daemon *d;
    int port;
} fake_prom;

static fake_prom fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

static MHD_RESULT fake_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    const char *form = test_http_body(con_cls, upload, upload_size);
    if (!form)
        return MHD_YES;
    char *query = test_http_form_query(form);
    pthread_mutex_lock(&fake.lock);
    fake.requests++;
    bool fail = fake.fail;
    pthread_mutex_unlock(&fake.lock);
    int status = 503;
    char *body = fail ? ksiss_xstrdup("overloaded") : evaluate(query ? query : "", &status);
    free(query);
    return test_http_reply_json(c, (unsigned)status, body);
}

static int fake_start(void **state)
{
    (void)state;
    fake.d = test_http_start(fake_handle, NULL, &fake.port);
    return fake.d ? 0 : -1;
}

static int fake_stop(void **state)
{
    (void)state;
    MHD_stop_daemon(fake.d);
    return 0;
}

static ksiss_prom *fake_client(void)
{
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    char *err = NULL;
    char *url = ksiss_xasprintf("http://127.0.0.1:%d", fake.port);
    o.url = ksiss_prom_normalize_url(url, &err);
    o.timeout_ms = 3000;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    ksiss_prom_opts_free(&o);
    free(url);
    assert_non_null(c);
    return c;
}

static int take_requests(void)
{
    pthread_mutex_lock(&fake.lock);
    int n = fake.requests;
    fake.requests = 0;
    pthread_mutex_unlock(&fake.lock);
    return n;
}

/* ---- the services ---- */

static ksiss_metric_cfg metric(const char *name, const char *query, ksiss_aggregate agg)
{
    return (ksiss_metric_cfg){.name = (char *)name, .query = (char *)query, .slo = 1, .scale_up_factor = 1.5,
                              .scale_down_factor = 0.5, .direction = KSISS_LOWER_IS_BETTER, .aggregate = agg};
}

typedef struct {
    const char *name, *revision;
    const char *pods[3];
    size_t n_pods;
} svc_case;

static const svc_case services[] = {
    {"llama", "llama-00001", {"llama-1", "llama-2", "llama-3"}, 3},
    {"mis.tral", "mis.tral-00002", {"mis.tral-1"}, 1},
    {"qwen", NULL, {"qwen-1"}, 1},          /* no Ready revision yet */
    {"idle", "idle-00001", {0}, 0},         /* no pods */
};

#define N_METRICS 6

static void metrics_of(ksiss_metric_cfg *m)
{
    m[0] = metric("ttft", "ttft{service=\"{service}\"}", KSISS_AGG_MAX);
    m[1] = metric("queue", "queue{pod=\"%s\"}", KSISS_AGG_SUM);
    m[2] = metric("tokens", "tokens{revision=\"{revision}\"}", KSISS_AGG_AVG);
    m[3] = metric("up", "up{service=\"{service}\",namespace=\"{namespace}\"}", KSISS_AGG_SUM);
    /* not batchable across services: read per service */
    m[4] = metric("ttft_prefix", "ttft{pod=~\"{service}-.*\"}", KSISS_AGG_MAX);
    m[5] = metric("mixed", "queue{pod=\"%s\",service=\"{service}\"}", KSISS_AGG_MAX);
}

static void assert_same_reading(const char *svc, const ksiss_metric_reading *a, const ksiss_metric_reading *b)
{
    const char *metric_name = a->error ? a->error : a->why ? a->why : "";
    if (a->obs.present != b->obs.present)
        fail_msg("%s: present %d vs %d (%s / %s)", svc, a->obs.present, b->obs.present, a->why ? a->why : "",
                 b->why ? b->why : "");
    if (a->obs.present && a->obs.value != b->obs.value)
        fail_msg("%s: value %g vs %g", svc, a->obs.value, b->obs.value);
    if ((a->why == NULL) != (b->why == NULL) || (a->why && strcmp(a->why, b->why)))
        fail_msg("%s: why '%s' vs '%s'", svc, a->why ? a->why : "(none)", b->why ? b->why : "(none)");
    if (a->failed != b->failed)
        fail_msg("%s: failed %d vs %d (%s)", svc, a->failed, b->failed, metric_name);
    assert_int_equal(a->per_pod, b->per_pod);
    assert_int_equal(a->n_pods, b->n_pods);
    for (size_t p = 0; p < a->n_pods; p++) {
        assert_int_equal(a->pods[p].present, b->pods[p].present);
        if (a->pods[p].present)
            assert_true(a->pods[p].value == b->pods[p].value);
        else
            assert_string_equal(a->pods[p].why_missing, b->pods[p].why_missing);
    }
}

static void count_done(void *owner)
{
    (*(int *)owner)++;
}

/* Reads every service both ways and compares. Returns the requests the
 * batched way made. */
static int compare_paths(size_t max_keys, bool fail, int *per_service_requests)
{
    ksiss_metric_cfg m[N_METRICS];
    metrics_of(m);
    ksiss_prom *c = fake_client();
    ksiss_metric_reading own[N_(services)][N_METRICS], shared[N_(services)][N_METRICS];
    ksiss_prom_share shares[N_(services)][N_METRICS];
    const ksiss_prom_share *use[N_(services)][N_METRICS];
    ksiss_service_cfg cfg[N_(services)];
    ksiss_promql_vars vars[N_(services)];
    pthread_mutex_lock(&fake.lock);
    fake.fail = fail;
    pthread_mutex_unlock(&fake.lock);
    take_requests();
    for (size_t s = 0; s < N_(services); s++) {
        cfg[s] = (ksiss_service_cfg){.name = (char *)services[s].name, .metrics = m, .n_metrics = N_METRICS};
        vars[s] = (ksiss_promql_vars){.service = services[s].name, .namespace_name = "ml",
                                      .revision = services[s].revision};
        ksiss_prom_read_service(c, &cfg[s], &vars[s], services[s].pods, services[s].n_pods, 7, NULL, own[s]);
    }
    *per_service_requests = take_requests();

    int done = 0, taken = 0;
    ksiss_prom_batch *b = ksiss_prom_batch_new(max_keys, count_done);
    for (size_t s = 0; s < N_(services); s++)
        for (size_t i = 0; i < N_METRICS; i++) {
            bool t = ksiss_prom_batch_add(b, m[i].query, &vars[s], services[s].pods, services[s].n_pods,
                                          &shares[s][i], &done);
            use[s][i] = t ? &shares[s][i] : NULL;
            taken += t;
        }
    size_t nq = ksiss_prom_batch_seal(b);
    for (size_t q = 0; q < nq; q++)
        ksiss_prom_batch_run(b, q, c, NULL, false);
    assert_int_equal(done, taken);
    for (size_t s = 0; s < N_(services); s++)
        ksiss_prom_read_service_shared(c, &cfg[s], &vars[s], services[s].pods, services[s].n_pods, use[s], 7, NULL,
                                       shared[s]);
    int batched_requests = take_requests();
    for (size_t s = 0; s < N_(services); s++) {
        for (size_t i = 0; i < N_METRICS; i++) {
            char *what = ksiss_xasprintf("%s/%s", services[s].name, m[i].name);
            assert_same_reading(what, &own[s][i], &shared[s][i]);
            /* the batchable ones were taken, the others read per service */
            assert_int_equal(use[s][i] != NULL, i < 4 && !(i == 1 && services[s].n_pods == 0) &&
                                                    !(i == 2 && !services[s].revision));
            free(what);
            ksiss_prom_share_clear(&shares[s][i]);
        }
        ksiss_metric_readings_free(own[s], N_METRICS);
        ksiss_metric_readings_free(shared[s], N_METRICS);
    }
    ksiss_prom_batch_free(b);
    ksiss_prom_free(c);
    return batched_requests;
}

static void test_batched_readings_equal_per_service_readings(void **state)
{
    (void)state;
    int own = 0;
    int batched = compare_paths(0, false, &own);
    /* per service: ttft, tokens (3 with a revision), up, prefix: 1 each;
     * queue 1 per service with pods, mixed 1 per service with pods */
    assert_int_equal(own, 4 + 3 + 4 + 4 + 3 + 3);
    /* batched: one per template (4) + the per-service reads of prefix and mixed */
    assert_int_equal(batched, 4 + 4 + 3);
}

static void test_small_batches_split_queries_with_the_same_readings(void **state)
{
    (void)state;
    int own = 0;
    int batched = compare_paths(1, false, &own);
    /* one name per query: ttft 4, queue 3 services (a service's pods stay
     * together), tokens 3, up 4; plus the 7 per-service reads */
    assert_int_equal(batched, 4 + 3 + 3 + 4 + 4 + 3);
}

static void test_failed_batched_query_fails_every_service_like_its_own_query(void **state)
{
    (void)state;
    int own = 0;
    compare_paths(0, true, &own);
}

static void test_batch_refuses_unbatchable_shapes_and_missing_names(void **state)
{
    (void)state;
    int done = 0;
    ksiss_prom_batch *b = ksiss_prom_batch_new(0, count_done);
    ksiss_prom_share sh;
    ksiss_promql_vars v = {.service = "a", .namespace_name = "ml"};
    const char *pods[] = {"a-1"};
    assert_false(ksiss_prom_batch_add(b, "topk(1, x{service=\"{service}\"})", &v, pods, 1, &sh, &done));
    assert_false(ksiss_prom_batch_add(b, "x{revision=\"{revision}\"}", &v, pods, 1, &sh, &done));  /* no revision */
    assert_false(ksiss_prom_batch_add(b, "x{pod=\"%s\"}", &v, pods, 0, &sh, &done));               /* no pods */
    assert_false(ksiss_prom_batch_add(b, "x{pod=\"%s}", &v, pods, 1, &sh, &done));                 /* invalid */
    assert_true(ksiss_prom_batch_add(b, "sum(x)", &v, pods, 1, &sh, &done));
    assert_int_equal(ksiss_prom_batch_seal(b), 1);
    assert_false(ksiss_prom_batch_add(b, "sum(y)", &v, pods, 1, &sh, &done));                      /* sealed */
    ksiss_prom_batch_run(b, 0, NULL, NULL, true);   /* cancelled: nothing sent, marked failed */
    assert_int_equal(done, 1);
    assert_false(sh.ok);
    assert_non_null(strstr(sh.error, "stopping"));
    ksiss_prom_share_clear(&sh);
    ksiss_prom_batch_free(b);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batched_readings_equal_per_service_readings),
        cmocka_unit_test(test_small_batches_split_queries_with_the_same_readings),
        cmocka_unit_test(test_failed_batched_query_fails_every_service_like_its_own_query),
        cmocka_unit_test(test_batch_refuses_unbatchable_shapes_and_missing_names),
    };
    int rc = cmocka_run_group_tests(tests, fake_start, fake_stop);
    curl_global_cleanup();
    return rc;
}
