/* test_prom.c: the Prometheus client against a stand-in API server on a
 * free loopback port (libmicrohttpd): response parsing (vector, scalar,
 * refused matrix/string, NaN/Inf kept), errors passed on (HTTP 400 with
 * Prometheus' message, refused connection, a server that never answers,
 * an oversized response), URL-encoding, auth options, URL normalization and
 * redaction, and the per-tick read of a service (one request for all pods
 * when batched, one per pod otherwise, failures as missing data). The real
 * Prometheus is exercised by tests/integration/. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "core/util.h"
#include "shell/metrics.h"
#include "shell/prom.h"
#include "prom_url_cases.h"
#include "support/test_http.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))


/* ---- the stand-in API server ---- */

typedef struct {
    pthread_mutex_t lock;
    unsigned status;
    char *body;             /* answer to every request */
    int requests;
    char *last_query;       /* decoded `query` form field */
    char *last_auth;        /* Authorization header */
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
    pthread_mutex_lock(&fake.lock);
    fake.requests++;
    free(fake.last_query);
    fake.last_query = test_http_form_query(form);
    free(fake.last_auth);
    fake.last_auth = ksiss_xstrdup(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
    char *body = ksiss_xstrdup(fake.body ? fake.body : "");
    unsigned status = fake.status;
    pthread_mutex_unlock(&fake.lock);
    return test_http_reply_json(c, status, body);
}

static void fake_answer(unsigned status, const char *body)
{
    pthread_mutex_lock(&fake.lock);
    fake.status = status;
    free(fake.body);
    fake.body = ksiss_xstrdup(body);
    fake.requests = 0;
    pthread_mutex_unlock(&fake.lock);
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
    free(fake.body);
    free(fake.last_query);
    free(fake.last_auth);
    return 0;
}

static ksiss_prom *client_for(const char *url, int64_t timeout_ms)
{
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    char *err = NULL;
    o.url = ksiss_prom_normalize_url(url, &err);
    o.timeout_ms = timeout_ms;
    o.connect_timeout_ms = timeout_ms;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    ksiss_prom_opts_free(&o);
    assert_non_null(c);
    return c;
}

static ksiss_prom *fake_client(void)
{
    char *url = ksiss_xasprintf("http://127.0.0.1:%d", fake.port);
    ksiss_prom *c = client_for(url, 3000);
    free(url);
    return c;
}

/* ---- parsing ---- */

typedef struct {
    const char *what;
    long status;
    const char *body;
    int rc;
    const char *reason;         /* failure reason */
    const char *message;        /* part of the error message */
    size_t n;                   /* samples when ok */
    const char *pod0;
    double v0;
} parse_case;

static const parse_case parse_cases[] = {
    {"vector with pod labels", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
     "{\"metric\":{\"pod\":\"a\",\"job\":\"vllm\"},\"value\":[1700000000.1,\"0.25\"]},"
     "{\"metric\":{\"pod\":\"b\"},\"value\":[1700000000.1,\"3\"]}]}}",
     0, NULL, NULL, 2, "a", 0.25},
    {"empty vector", 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", 0, NULL, NULL, 0, NULL, 0},
    {"scalar", 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000,\"42\"]}}", 0, NULL, NULL, 1, NULL, 42},
    {"NaN is kept as NaN", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"NaN\"]}]}}",
     0, NULL, NULL, 1, "a", NAN},
    {"+Inf is kept as +Inf", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"+Inf\"]}]}}",
     0, NULL, NULL, 1, "a", INFINITY},
    {"an exponent as Go writes it", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"1e-05\"]}]}}",
     0, NULL, NULL, 1, "a", 1e-05},
    {"-Inf is kept as -Inf", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"-Inf\"]}]}}",
     0, NULL, NULL, 1, "a", -INFINITY},
    {"a value with a blank is refused", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\" 1\"]}]}}",
     -1, "bad_response", "sample 0", 0, NULL, 0},
    {"a hex value is refused", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"0x10\"]}]}}",
     -1, "bad_response", "sample 0", 0, NULL, 0},
    {"matrix is refused", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"1\"]]}]}}",
     -1, "result_type", "returns a matrix", 0, NULL, 0},
    {"string is refused", 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"x\"]}}",
     -1, "result_type", "returns a string", 0, NULL, 0},
    {"Prometheus error passed on", 400,
     "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error: unexpected \\\"}\\\"\"}",
     -1, "prometheus", "HTTP 400, bad_data): 1:5: parse error: unexpected \"}\"", 0, NULL, 0},
    {"proxy error page", 502, "<html>Bad Gateway</html>", -1, "http", "HTTP 502 from Prometheus: <html>Bad Gateway</html>", 0, NULL, 0},
    {"credentials refused by a proxy", 401, "Unauthorized", -1, "auth", "HTTP 401 from Prometheus (check the bearer token", 0, NULL, 0},
    {"credentials refused with an API error body", 403,
     "{\"status\":\"error\",\"errorType\":\"forbidden\",\"error\":\"no access\"}",
     -1, "auth", "HTTP 403, forbidden; check the bearer token or basic auth credentials): no access", 0, NULL, 0},
    {"not JSON with 200", 200, "hello", -1, "bad_response", "not a Prometheus API JSON object", 0, NULL, 0},
    {"JSON array", 200, "[1,2]", -1, "bad_response", "not an object", 0, NULL, 0},
    {"success without data", 200, "{\"status\":\"success\"}", -1, "bad_response", "no data.resultType", 0, NULL, 0},
    {"value that is not a number", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"abc\"]}]}}",
     -1, "bad_response", "sample 0", 0, NULL, 0},
    {"value that is a JSON number", 200,
     "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,2]}]}}",
     -1, "bad_response", "sample 0", 0, NULL, 0},
    {"success with a non-200 status", 500, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
     -1, "http", "HTTP 500", 0, NULL, 0},
};

static void test_responses_are_parsed_or_refused_with_a_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(parse_cases); i++) {
        const parse_case *c = &parse_cases[i];
        ksiss_prom_result r;
        int rc = ksiss_prom_parse_response(c->body, strlen(c->body), c->status, "pod", &r);
        if (rc != c->rc)
            fail_msg("%s: rc %d (%s)", c->what, rc, r.error ? r.error : "");
        if (rc == 0) {
            assert_true(r.ok);
            if (r.n != c->n)
                fail_msg("%s: %zu samples, want %zu", c->what, r.n, c->n);
            if (c->n) {
                if ((c->pod0 == NULL) != (r.samples[0].pod == NULL) ||
                    (c->pod0 && strcmp(c->pod0, r.samples[0].pod)))
                    fail_msg("%s: pod '%s'", c->what, r.samples[0].pod ? r.samples[0].pod : "(null)");
                double v = r.samples[0].value;
                if (!(isnan(c->v0) ? isnan(v) : v == c->v0))
                    fail_msg("%s: value %g, want %g", c->what, v, c->v0);
            }
        } else {
            assert_false(r.ok);
            if (strcmp(r.reason, c->reason))
                fail_msg("%s: reason %s, want %s", c->what, r.reason, c->reason);
            if (!strstr(r.error, c->message))
                fail_msg("%s: message '%s' lacks '%s'", c->what, r.error, c->message);
            assert_int_equal(r.n, 0);
        }
        ksiss_prom_result_free(&r);
    }
}

/* A histogram's bucket keeps its `le` (the prompt-length histogram per
 * bucket); a series without one has none. */
static void test_a_bucket_keeps_its_le(void **state)
{
    (void)state;
    const char *body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                       "{\"metric\":{\"le\":\"+Inf\",\"service\":\"s\"},\"value\":[1,\"3\"]},"
                       "{\"metric\":{\"le\":\"1000.0\"},\"value\":[1,\"2\"]},"
                       "{\"metric\":{\"pod\":\"a\"},\"value\":[1,\"1\"]}]}}";
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_parse_response(body, strlen(body), 200, "service", &r), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.samples[0].le, "+Inf");
    assert_string_equal(r.samples[0].pod, "s");
    assert_string_equal(r.samples[1].le, "1000.0");
    assert_null(r.samples[2].le);
    ksiss_prom_result_free(&r);
}

/* ---- URLs and options ---- */

/* The --prometheus flags (ksiss_prom_normalize_url) and the client's
 * PROMETHEUS_URL (ksiss_prom_opts_from_env) follow the core's one set of
 * rules (test_env.c checks the core against the same table). */
static const char *one_var(const char *name, void *ctx)
{
    return !strcmp(name, "PROMETHEUS_URL") ? ctx : NULL;
}

static void test_prometheus_url_is_accepted_with_or_without_the_query_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(prom_url_cases); i++) {
        const prom_url_case *c = &prom_url_cases[i];
        char *err = NULL;
        char *u = ksiss_prom_normalize_url(c->in, &err);
        if (c->out ? !u || strcmp(u, c->out) : u != NULL || !err || !strstr(err, c->why))
            fail_msg("--prometheus '%s' -> %s", c->in, u ? u : err);
        if (!c->out && !strstr(err, "the Prometheus URL '"))
            fail_msg("'%s': the message does not name the URL: %s", c->in, err);
        free(u);
        free(err);

        ksiss_prom_opts o;
        ksiss_prom_opts_init(&o);
        err = NULL;
        int rc = ksiss_prom_opts_from_env(&o, one_var, (void *)c->in, &err);
        if (c->out ? rc != 0 || strcmp(o.url, c->out) : rc != -1 || !strstr(err, "PROMETHEUS_URL") || !strstr(err, c->why))
            fail_msg("PROMETHEUS_URL='%s': rc %d -> %s", c->in, rc, rc == 0 ? o.url : err);
        free(err);
        ksiss_prom_opts_free(&o);
    }
    char *err = NULL;
    assert_null(ksiss_prom_normalize_url(NULL, &err));
    assert_non_null(strstr(err, "is empty"));
    free(err);
}

static void test_credentials_in_a_url_are_redacted(void **state)
{
    (void)state;
    char *r = ksiss_url_redact("https://user:s3cret@prom:9090/api/v1/query");
    assert_string_equal(r, "https://***@prom:9090/api/v1/query");
    free(r);
    r = ksiss_url_redact("http://prom:9090/a@b");
    assert_string_equal(r, "http://prom:9090/a@b");
    free(r);
}

typedef struct {
    const char *vars[8][2];
    const char *error;      /* NULL: accepted */
} env_case;

static const env_case env_cases[] = {
    {{{"PROMETHEUS_URL", "http://p:9090"}, {"PROMETHEUS_TIMEOUT", "750ms"}}, NULL},
    {{{"PROMETHEUS_URL", "p:9090"}}, "PROMETHEUS_URL"},
    {{{"PROMETHEUS_PASSWORD", "x"}}, "PROMETHEUS_USERNAME is not"},
    {{{"PROMETHEUS_BEARER_TOKEN", "t"}, {"PROMETHEUS_USERNAME", "u"}}, "not both"},
    {{{"PROMETHEUS_TIMEOUT", "soon"}}, "PROMETHEUS_TIMEOUT"},
    {{{"PROMETHEUS_CONNECT_TIMEOUT", "-1s"}}, "PROMETHEUS_CONNECT_TIMEOUT"},
    {{{"PROMETHEUS_CONNECT_TIMEOUT", "0"}}, "PROMETHEUS_CONNECT_TIMEOUT"},
};

static const char *env_get(const char *name, void *ctx)
{
    const env_case *c = ctx;
    for (size_t i = 0; i < 8 && c->vars[i][0]; i++)
        if (!strcmp(c->vars[i][0], name))
            return c->vars[i][1];
    return NULL;
}

static void test_environment_options_are_checked(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(env_cases); i++) {
        ksiss_prom_opts o;
        ksiss_prom_opts_init(&o);
        char *err = NULL;
        int rc = ksiss_prom_opts_from_env(&o, env_get, (void *)&env_cases[i], &err);
        if (env_cases[i].error ? rc != -1 || !strstr(err, env_cases[i].error) : rc != 0)
            fail_msg("case %zu: rc %d, err %s", i, rc, err ? err : "(none)");
        free(err);
        ksiss_prom_opts_free(&o);
    }
}

static void test_environment_defaults_are_the_originals(void **state)
{
    (void)state;
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    char *err = NULL;
    env_case none = {{{NULL, NULL}}, NULL};
    assert_int_equal(ksiss_prom_opts_from_env(&o, env_get, &none, &err), 0);
    assert_string_equal(o.url, "http://prometheus-kube-prometheus-prometheus.monitoring.svc.cluster.local:9090/api/v1/query");
    assert_int_equal(o.timeout_ms, KSISS_PROM_DEFAULT_TIMEOUT_MS);
    assert_int_equal(o.connect_timeout_ms, KSISS_PROM_DEFAULT_CONNECT_TIMEOUT_MS);
    ksiss_prom_opts_free(&o);
}

/* ---- over HTTP ---- */

#define VEC(...) "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" __VA_ARGS__ "]}}"

static void test_query_arrives_url_encoded_and_intact(void **state)
{
    (void)state;
    fake_answer(200, VEC());
    ksiss_prom *c = fake_client();
    const char *q = "sum(rate(x{a=\"b&c=d+e %2F\",f=~'g|h'}[1m])) / 2 # 100%";
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_query(c, q, NULL, NULL, &r), 0);
    assert_string_equal(fake.last_query, q);
    assert_null(fake.last_auth);
    ksiss_prom_result_free(&r);
    ksiss_prom_free(c);
}

static void test_bearer_token_is_sent_and_its_file_reread(void **state)
{
    (void)state;
    fake_answer(200, VEC());
    char path[] = "/tmp/ksiss-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "first\n", 6), 6);
    close(fd);
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    o.url = ksiss_xasprintf("http://127.0.0.1:%d/api/v1/query", fake.port);
    o.bearer_token_file = ksiss_xstrdup(path);
    char *err = NULL;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    ksiss_prom_opts_free(&o);
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), 0);
    ksiss_prom_result_free(&r);
    assert_string_equal(fake.last_auth, "Bearer first");
    FILE *f = fopen(path, "w");
    fputs("second", f);
    fclose(f);
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), 0);
    ksiss_prom_result_free(&r);
    assert_string_equal(fake.last_auth, "Bearer second");
    unlink(path);
    ksiss_prom_free(c);
}

/* A token file that cannot be read, or is larger than 64 KiB, fails the
 * query as an authentication problem naming the file: nothing is sent
 * without the token. */
static void test_unreadable_or_oversized_token_file_fails_naming_it(void **state)
{
    (void)state;
    fake_answer(200, VEC());
    char path[] = "/tmp/ksiss-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char big[70 * 1024];
    memset(big, 'x', sizeof(big));
    assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
    close(fd);
    const char *files[] = {path, "/nonexistent/ksiss-token"};
    const char *why[] = {"larger than", "cannot open"};
    for (size_t i = 0; i < 2; i++) {
        ksiss_prom_opts o;
        ksiss_prom_opts_init(&o);
        o.url = ksiss_xasprintf("http://127.0.0.1:%d/api/v1/query", fake.port);
        o.bearer_token_file = ksiss_xstrdup(files[i]);
        char *err = NULL;
        ksiss_prom *c = ksiss_prom_new(&o, &err);
        ksiss_prom_opts_free(&o);
        ksiss_prom_result r;
        assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), -1);
        assert_false(r.ok);
        assert_string_equal(r.reason, KSISS_PROM_REASON_AUTH);
        assert_non_null(strstr(r.error, "bearer token file"));
        assert_non_null(strstr(r.error, files[i]));
        assert_non_null(strstr(r.error, why[i]));
        ksiss_prom_result_free(&r);
        ksiss_prom_free(c);
    }
    unlink(path);
}

static void test_basic_auth_is_sent_and_never_in_messages(void **state)
{
    (void)state;
    fake_answer(400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"nope\"}");
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    o.url = ksiss_xasprintf("http://127.0.0.1:%d/api/v1/query", fake.port);
    o.username = ksiss_xstrdup("ksiss");
    o.password = ksiss_xstrdup("s3cret");
    char *err = NULL;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    ksiss_prom_opts_free(&o);
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), -1);
    assert_string_equal(fake.last_auth, "Basic a3Npc3M6czNjcmV0");
    assert_null(strstr(r.error, "s3cret"));
    ksiss_prom_result_free(&r);
    ksiss_prom_free(c);
}

static void test_rejected_query_passes_on_prometheus_message_and_counts_an_error(void **state)
{
    (void)state;
    fake_answer(400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:8: parse error\"}");
    ksiss_prom *c = fake_client();
    ksiss_metrics *reg = ksiss_metrics_new();
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_query(c, "rate(x[", NULL, reg, &r), -1);
    assert_string_equal(r.reason, "prometheus");
    assert_non_null(strstr(r.error, "1:8: parse error"));
    assert_int_equal(r.http_status, 400);
    double v = 0;
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_PROM_QUERY_ERRORS_TOTAL, KSISS_LABELS("prometheus"), &v), 0);
    assert_true(v == 1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_PROM_QUERY_DURATION, NULL, &v), 0);
    assert_true(v == 1);
    ksiss_prom_result_free(&r);
    ksiss_metrics_free(reg);
    ksiss_prom_free(c);
}

static void test_oversized_response_is_refused(void **state)
{
    (void)state;
    ksiss_strbuf big;
    ksiss_sb_init(&big, 0);
    ksiss_sb_puts(&big, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
    for (int i = 0; i < 2000; i++)
        ksiss_sb_printf(&big, "%s{\"metric\":{\"pod\":\"p%d\"},\"value\":[1,\"1\"]}", i ? "," : "", i);
    ksiss_sb_puts(&big, "]}}");
    fake_answer(200, ksiss_sb_str(&big));
    ksiss_sb_free(&big);
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    o.url = ksiss_xasprintf("http://127.0.0.1:%d/api/v1/query", fake.port);
    o.max_response_bytes = 4096;
    char *err = NULL;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    ksiss_prom_opts_free(&o);
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_query(c, "up", "pod", NULL, &r), -1);
    assert_string_equal(r.reason, "too_large");
    assert_non_null(strstr(r.error, "larger than 4096 bytes"));
    ksiss_prom_result_free(&r);
    ksiss_prom_free(c);
}

/* A socket that listens but never accepts: connections complete in the
 * kernel's backlog and no byte ever comes back. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
        return -1;
    socklen_t l = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &l);
    *port = ntohs(sa.sin_port);
    return fd;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_server_that_never_answers_times_out(void **state)
{
    (void)state;
    int port = 0;
    int fd = silent_listener(&port);
    assert_true(fd >= 0);
    char *url = ksiss_xasprintf("http://127.0.0.1:%d", port);
    ksiss_prom *c = client_for(url, 300);
    ksiss_prom_result r;
    double t0 = now_s();
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), -1);
    double took = now_s() - t0;
    assert_string_equal(r.reason, "timeout");
    assert_non_null(strstr(r.error, "within 300 ms"));
    if (took > 2.0)
        fail_msg("the query took %.2f s with a 300 ms timeout", took);
    ksiss_prom_result_free(&r);
    ksiss_prom_free(c);
    free(url);
    close(fd);
}

static volatile sig_atomic_t prom_stop;

static void *raise_prom_stop(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    __atomic_store_n(&prom_stop, 1, __ATOMIC_RELEASE); /* the query's thread reads it */
    return NULL;
}

/* `ksiss run`'s SIGTERM: a query in flight is aborted (not left to its
 * timeout), and none is sent once the flag is set. */
static void test_stop_flag_aborts_a_query_in_flight(void **state)
{
    (void)state;
    int port = 0;
    int fd = silent_listener(&port);
    assert_true(fd >= 0);
    char *url = ksiss_xasprintf("http://127.0.0.1:%d", port);
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    char *err = NULL;
    o.url = ksiss_prom_normalize_url(url, &err);
    o.timeout_ms = 20000;
    prom_stop = 0;
    o.stop = &prom_stop;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    ksiss_prom_opts_free(&o);
    assert_non_null(c);
    pthread_t th;
    pthread_create(&th, NULL, raise_prom_stop, NULL);
    ksiss_prom_result r;
    double t0 = now_s();
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), -1);
    double took = now_s() - t0;
    pthread_join(th, NULL);
    assert_non_null(strstr(r.error, "stopping"));
    if (took > 3.0)
        fail_msg("the query went on %.2f s (stop flag set at 0.2 s, timeout 20 s)", took);
    ksiss_prom_result_free(&r);
    t0 = now_s();
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), -1);
    assert_non_null(strstr(r.error, "stopping"));
    assert_true(now_s() - t0 < 1.0);
    ksiss_prom_result_free(&r);
    ksiss_prom_free(c);
    free(url);
    close(fd);
}

static void test_refused_connection_is_a_connect_error(void **state)
{
    (void)state;
    int port = 0;
    int fd = silent_listener(&port);
    close(fd);     /* the port is now closed */
    char *url = ksiss_xasprintf("http://127.0.0.1:%d", port);
    ksiss_prom *c = client_for(url, 1000);
    ksiss_prom_result r;
    assert_int_equal(ksiss_prom_query(c, "up", NULL, NULL, &r), -1);
    assert_string_equal(r.reason, "connect");
    assert_non_null(strstr(r.error, "cannot reach Prometheus"));
    ksiss_prom_result_free(&r);
    ksiss_prom_free(c);
    free(url);
}

/* ---- reading a service ---- */

static ksiss_metric_cfg metric(const char *name, const char *query, double slo, ksiss_aggregate agg)
{
    return (ksiss_metric_cfg){.name = (char *)name, .query = (char *)query, .slo = slo, .scale_up_factor = 1.5,
                              .scale_down_factor = 0.5, .direction = KSISS_LOWER_IS_BETTER, .aggregate = agg};
}

static void test_batched_metric_is_one_request_for_all_pods(void **state)
{
    (void)state;
    fake_answer(200, VEC("{\"metric\":{\"pod\":\"llama-1\"},\"value\":[1,\"0.2\"]},"
                         "{\"metric\":{\"pod\":\"llama-2\"},\"value\":[1,\"0.6\"]}"));
    ksiss_metric_cfg m = metric("ttft", "histogram_quantile(0.9, sum by (le) (rate(ttft_bucket{pod=\"%s\"}[1m])))", 0.5,
                                KSISS_AGG_MAX);
    ksiss_service_cfg svc = {.name = "llama", .metrics = &m, .n_metrics = 1};
    const char *pods[] = {"llama-1", "llama-2", "llama-3"};
    ksiss_promql_vars v = {.service = "llama", .namespace_name = "ml"};
    ksiss_prom *c = fake_client();
    ksiss_metric_reading r;
    assert_int_equal(ksiss_prom_read_service(c, &svc, &v, pods, 3, 1234, NULL, &r), 0);
    assert_int_equal(fake.requests, 1);
    assert_true(r.batched);
    assert_string_equal(fake.last_query,
                        "histogram_quantile(0.9, sum by (le, pod) (rate(ttft_bucket{pod=~\"llama-1|llama-2|llama-3\"}[1m])))");
    assert_true(r.obs.present);
    assert_true(r.obs.value == 0.6);
    assert_int_equal(r.obs.observed_at_ms, 1234);
    assert_true(r.pods[0].present && r.pods[0].value == 0.2);
    assert_false(r.pods[2].present);
    ksiss_metric_readings_free(&r, 1);
    ksiss_prom_free(c);
}

static void test_unbatchable_metric_is_one_request_per_pod(void **state)
{
    (void)state;
    fake_answer(200, VEC("{\"metric\":{},\"value\":[1,\"4\"]}"));
    ksiss_metric_cfg m = metric("queue", "x{pod=\"%s\"} / y", 2, KSISS_AGG_SUM);
    ksiss_service_cfg svc = {.name = "llama", .metrics = &m, .n_metrics = 1};
    const char *pods[] = {"llama-1", "llama-2", "llama-3"};
    ksiss_promql_vars v = {.service = "llama", .namespace_name = "ml"};
    ksiss_prom *c = fake_client();
    ksiss_metric_reading r;
    assert_int_equal(ksiss_prom_read_service(c, &svc, &v, pods, 3, 0, NULL, &r), 0);
    assert_int_equal(fake.requests, 3);
    assert_false(r.batched);
    assert_string_equal(fake.last_query, "x{pod=\"llama-3\"} / y");
    assert_true(r.obs.present && r.obs.value == 12);
    ksiss_metric_readings_free(&r, 1);
    ksiss_prom_free(c);
}

static void test_failed_metric_is_missing_never_zero(void **state)
{
    (void)state;
    fake_answer(422, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"many-to-many matching not allowed\"}");
    ksiss_metric_cfg ms[2] = {metric("tokens", "sum(rate(tok{service=\"{service}\"}[1m]))", 100, KSISS_AGG_MAX),
                              metric("queue", "q{pod=\"%s\"}", 2, KSISS_AGG_MAX)};
    ksiss_service_cfg svc = {.name = "llama", .metrics = ms, .n_metrics = 2};
    const char *pods[] = {"llama-1"};
    ksiss_promql_vars v = {.service = "llama", .namespace_name = "ml"};
    ksiss_prom *c = fake_client();
    ksiss_metric_reading r[2];
    assert_int_equal(ksiss_prom_read_service(c, &svc, &v, pods, 1, 0, NULL, r), 2);
    for (int i = 0; i < 2; i++) {
        assert_false(r[i].obs.present);
        assert_true(isnan(r[i].obs.value));
        assert_true(r[i].failed);
        assert_non_null(strstr(r[i].obs.why_missing, "many-to-many"));
        assert_non_null(strstr(r[i].error, i ? "metric queue:" : "metric tokens:"));
    }
    ksiss_metric_readings_free(r, 2);
    ksiss_prom_free(c);
}

static void test_empty_and_nan_results_are_missing_with_their_reason(void **state)
{
    (void)state;
    ksiss_metric_cfg m = metric("tokens", "sum(rate(tok{service=\"{service}\"}[1m]))", 100, KSISS_AGG_MAX);
    ksiss_service_cfg svc = {.name = "llama", .metrics = &m, .n_metrics = 1};
    ksiss_promql_vars v = {.service = "llama"};
    ksiss_prom *c = fake_client();
    ksiss_metric_reading r;
    fake_answer(200, VEC());
    assert_int_equal(ksiss_prom_read_service(c, &svc, &v, NULL, 0, 0, NULL, &r), 1);
    assert_false(r.failed);
    assert_string_equal(r.obs.why_missing, "empty result");
    ksiss_metric_readings_free(&r, 1);
    fake_answer(200, VEC("{\"metric\":{},\"value\":[1,\"NaN\"]}"));
    assert_int_equal(ksiss_prom_read_service(c, &svc, &v, NULL, 0, 0, NULL, &r), 1);
    assert_string_equal(r.obs.why_missing, "NaN");
    ksiss_metric_readings_free(&r, 1);
    ksiss_prom_free(c);
}

static void test_per_pod_metric_without_pods_sends_nothing(void **state)
{
    (void)state;
    fake_answer(200, VEC());
    ksiss_metric_cfg m = metric("queue", "q{pod=\"%s\"}", 2, KSISS_AGG_MAX);
    ksiss_service_cfg svc = {.name = "llama", .metrics = &m, .n_metrics = 1};
    ksiss_promql_vars v = {.service = "llama"};
    ksiss_prom *c = fake_client();
    ksiss_metric_reading r;
    assert_int_equal(ksiss_prom_read_service(c, &svc, &v, NULL, 0, 0, NULL, &r), 1);
    assert_int_equal(fake.requests, 0);
    assert_non_null(strstr(r.obs.why_missing, "no pods"));
    ksiss_metric_readings_free(&r, 1);
    ksiss_prom_free(c);
}

static void test_readings_are_exported_and_missing_values_withdrawn(void **state)
{
    (void)state;
    ksiss_metric_cfg m = metric("queue", "q{pod=\"%s\"}", 2, KSISS_AGG_MAX);
    ksiss_service_cfg svc = {.name = "llama", .metrics = &m, .n_metrics = 1};
    const char *pods[] = {"llama-1"};
    ksiss_promql_vars v = {.service = "llama"};
    ksiss_prom *c = fake_client();
    ksiss_metrics *reg = ksiss_metrics_new();
    ksiss_metric_reading r;
    fake_answer(200, VEC("{\"metric\":{\"pod\":\"llama-1\"},\"value\":[1,\"3\"]}"));
    ksiss_prom_read_service(c, &svc, &v, pods, 1, 0, reg, &r);
    ksiss_prom_export_readings(reg, "ml", "llama", &svc, &r, pods);
    ksiss_metric_readings_free(&r, 1);
    double x = 0;
    const char *const *l = KSISS_LABELS("ml", "llama", "queue");
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_VALUE, l, &x), 0);
    assert_true(x == 3);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_PRESSURE_RATIO, l, &x), 0);
    assert_true(x == 1.5);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "llama", "queue", "llama-1"), &x), 0);
    assert_true(x == 3);
    fake_answer(200, VEC());
    ksiss_prom_read_service(c, &svc, &v, pods, 1, 0, reg, &r);
    ksiss_prom_export_readings(reg, "ml", "llama", &svc, &r, pods);
    ksiss_metric_readings_free(&r, 1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_VALUE, l, &x), -1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_PRESSURE_RATIO, l, &x), -1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_MISSING, l, &x), 0);
    assert_true(x == 1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_SLO, l, &x), 0);
    assert_true(x == 2);
    ksiss_metrics_free(reg);
    ksiss_prom_free(c);
}

static void test_series_of_pods_that_are_gone_are_removed(void **state)
{
    (void)state;
    ksiss_metric_cfg m = metric("queue", "q{pod=\"%s\"}", 2, KSISS_AGG_MAX);
    ksiss_service_cfg svc = {.name = "llama", .metrics = &m, .n_metrics = 1};
    ksiss_promql_vars v = {.service = "llama"};
    ksiss_prom *c = fake_client();
    ksiss_metrics *reg = ksiss_metrics_new();
    ksiss_metric_reading r;
    const char *before[] = {"llama-1", "llama-2"};
    fake_answer(200, VEC("{\"metric\":{\"pod\":\"llama-1\"},\"value\":[1,\"3\"]},"
                         "{\"metric\":{\"pod\":\"llama-2\"},\"value\":[1,\"4\"]}"));
    ksiss_prom_read_service(c, &svc, &v, before, 2, 0, reg, &r);
    ksiss_prom_export_readings(reg, "ml", "llama", &svc, &r, before);
    ksiss_metric_readings_free(&r, 1);
    /* another service's pod series must stay */
    ksiss_metrics_set(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "gpt2", "queue", "llama-1"), 9);
    const char *after[] = {"llama-2", "llama-3"};
    fake_answer(200, VEC("{\"metric\":{\"pod\":\"llama-3\"},\"value\":[1,\"5\"]}"));
    ksiss_prom_read_service(c, &svc, &v, after, 2, 0, reg, &r);
    ksiss_prom_export_readings(reg, "ml", "llama", &svc, &r, after);
    ksiss_metric_readings_free(&r, 1);
    double x;
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "llama", "queue", "llama-1"), &x), -1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "llama", "queue", "llama-2"), &x), -1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "llama", "queue", "llama-3"), &x), 0);
    assert_true(x == 5);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "gpt2", "queue", "llama-1"), &x), 0);
    ksiss_metrics_free(reg);
    ksiss_prom_free(c);
}

/* One configuration entry managing several services (the original's
 * prefix rule): each service gets its own series, under its own name. */
static void test_readings_are_exported_under_the_service_not_the_config_entry(void **state)
{
    (void)state;
    ksiss_metric_cfg m = metric("queue", "q{pod=\"%s\"}", 2, KSISS_AGG_MAX);
    ksiss_service_cfg svc = {.name = "bench", .metrics = &m, .n_metrics = 1};
    ksiss_prom *c = fake_client();
    ksiss_metrics *reg = ksiss_metrics_new();
    ksiss_metric_reading r;
    const char *a_pods[] = {"bench-a-1"}, *b_pods[] = {"bench-b-1"};
    ksiss_promql_vars va = {.service = "bench-a"}, vb = {.service = "bench-b"};
    fake_answer(200, VEC("{\"metric\":{\"pod\":\"bench-a-1\"},\"value\":[1,\"3\"]}"));
    ksiss_prom_read_service(c, &svc, &va, a_pods, 1, 0, reg, &r);
    ksiss_prom_export_readings(reg, "ml", "bench-a", &svc, &r, a_pods);
    ksiss_metric_readings_free(&r, 1);
    fake_answer(200, VEC("{\"metric\":{\"pod\":\"bench-b-1\"},\"value\":[1,\"1\"]}"));
    ksiss_prom_read_service(c, &svc, &vb, b_pods, 1, 0, reg, &r);
    ksiss_prom_export_readings(reg, "ml", "bench-b", &svc, &r, b_pods);
    ksiss_metric_readings_free(&r, 1);
    double x = 0;
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "bench-a", "queue"), &x), 0);
    assert_true(x == 3);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "bench-b", "queue"), &x), 0);
    assert_true(x == 1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "bench", "queue"), &x), -1);
    /* b's export did not take a's pod series away */
    assert_int_equal(
        ksiss_metrics_get(reg, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "bench-a", "queue", "bench-a-1"), &x), 0);
    assert_true(x == 3);
    /* and a forgotten service takes its series with it */
    assert_true(ksiss_metrics_remove_service(reg, "ml", "bench-a") >= 4);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_SLO, KSISS_LABELS("ml", "bench-a", "queue"), &x), -1);
    assert_int_equal(ksiss_metrics_get(reg, KSISS_M_METRIC_SLO, KSISS_LABELS("ml", "bench-b", "queue"), &x), 0);
    ksiss_metrics_free(reg);
    ksiss_prom_free(c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responses_are_parsed_or_refused_with_a_reason),
        cmocka_unit_test(test_a_bucket_keeps_its_le),
        cmocka_unit_test(test_prometheus_url_is_accepted_with_or_without_the_query_path),
        cmocka_unit_test(test_credentials_in_a_url_are_redacted),
        cmocka_unit_test(test_environment_options_are_checked),
        cmocka_unit_test(test_environment_defaults_are_the_originals),
        cmocka_unit_test(test_query_arrives_url_encoded_and_intact),
        cmocka_unit_test(test_bearer_token_is_sent_and_its_file_reread),
        cmocka_unit_test(test_unreadable_or_oversized_token_file_fails_naming_it),
        cmocka_unit_test(test_basic_auth_is_sent_and_never_in_messages),
        cmocka_unit_test(test_rejected_query_passes_on_prometheus_message_and_counts_an_error),
        cmocka_unit_test(test_oversized_response_is_refused),
        cmocka_unit_test(test_server_that_never_answers_times_out),
        cmocka_unit_test(test_stop_flag_aborts_a_query_in_flight),
        cmocka_unit_test(test_refused_connection_is_a_connect_error),
        cmocka_unit_test(test_batched_metric_is_one_request_for_all_pods),
        cmocka_unit_test(test_unbatchable_metric_is_one_request_per_pod),
        cmocka_unit_test(test_failed_metric_is_missing_never_zero),
        cmocka_unit_test(test_empty_and_nan_results_are_missing_with_their_reason),
        cmocka_unit_test(test_per_pod_metric_without_pods_sends_nothing),
        cmocka_unit_test(test_readings_are_exported_and_missing_values_withdrawn),
        cmocka_unit_test(test_series_of_pods_that_are_gone_are_removed),
        cmocka_unit_test(test_readings_are_exported_under_the_service_not_the_config_entry),
    };
    int rc = cmocka_run_group_tests(tests, fake_start, fake_stop);
    curl_global_cleanup();
    return rc;
}
