/* test_kube.c: the pure parts of the Kubernetes client: URL paths and
 * escaping, the retry/backoff schedule, Retry-After, API Status errors,
 * kubeconfig parsing (tests/data/kube/kubeconfig-*.yaml and malformed
 * inline files, with positioned errors), in-cluster configuration from a
 * service-account directory, and base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/diag.h"
#include "core/util.h"
#include "shell/kube.h"
#include "shell/kubeconfig.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- paths ---------------------------------------------------------- */

static void test_paths_for_core_grouped_namespaced_and_cluster_scoped_resources(void **state)
{
    (void)state;
    static const struct {
        const ksiss_kube_resource *res;
        const char *ns, *name, *sub, *want;
    } cases[] = {
        {&KSISS_KUBE_PODS, "default", "web-0", NULL, "/api/v1/namespaces/default/pods/web-0"},
        {&KSISS_KUBE_PODS, NULL, NULL, NULL, "/api/v1/pods"},
        {&KSISS_KUBE_PODS, "", NULL, NULL, "/api/v1/pods"},
        {&KSISS_KUBE_PODS, "ml", NULL, NULL, "/api/v1/namespaces/ml/pods"},
        {&KSISS_KUBE_NODES, NULL, "gpu-1", NULL, "/api/v1/nodes/gpu-1"},
        {&KSISS_KUBE_LEASES, "kube-system", "ksiss", NULL,
         "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ksiss"},
        {&KSISS_KUBE_KNATIVE_SERVICES, "ml", "llama", "status",
         "/apis/serving.knative.dev/v1/namespaces/ml/services/llama/status"},
        {&KSISS_KUBE_KNATIVE_REVISIONS, "ml", "llama-00001", NULL,
         "/apis/serving.knative.dev/v1/namespaces/ml/revisions/llama-00001"},
        /* Names are escaped as one path segment each. */
        {&KSISS_KUBE_CONFIGMAPS, "a b", "x/../y?z=1#f", NULL,
         "/api/v1/namespaces/a%20b/configmaps/x%2F..%2Fy%3Fz%3D1%23f"},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        char *p = ksiss_kube_path(cases[i].res, cases[i].ns, cases[i].name, cases[i].sub);
        if (!p || strcmp(p, cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, p ? p : "(null)", cases[i].want);
        free(p);
    }
}

static void test_impossible_paths_are_refused(void **state)
{
    (void)state;
    static const struct {
        const ksiss_kube_resource *res;
        const char *ns, *name, *sub;
    } cases[] = {
        {&KSISS_KUBE_NODES, "default", "n", NULL},     /* cluster-scoped with a namespace */
        {&KSISS_KUBE_PODS, NULL, "p", NULL},           /* namespaced name without a namespace */
        {&KSISS_KUBE_PODS, "default", "", NULL},       /* empty name */
        {&KSISS_KUBE_PODS, "default", "..", NULL},     /* would climb a level */
        {&KSISS_KUBE_PODS, "..", "p", NULL},
        {&KSISS_KUBE_PODS, "default", NULL, "status"}, /* subresource of a collection */
    };
    for (size_t i = 0; i < N_(cases); i++) {
        char *p = ksiss_kube_path(cases[i].res, cases[i].ns, cases[i].name, cases[i].sub);
        if (p)
            fail_msg("case %zu: got %s, want refusal", i, p);
    }
}

static void test_escape_keeps_only_unreserved_characters(void **state)
{
    (void)state;
    char *e = ksiss_kube_escape("app=llm,tier in (mig-1g.10gb)~_\xc3\xa9");
    assert_string_equal(e, "app%3Dllm%2Ctier%20in%20%28mig-1g.10gb%29~_%C3%A9");
    free(e);
    /* A long name (253 characters and more) is no problem: no fixed buffer. */
    char big[2001];
    memset(big, 'a', 2000);
    big[2000] = '\0';
    e = ksiss_kube_escape(big);
    assert_int_equal(strlen(e), 2000);
    free(e);
}

/* ---- retries -------------------------------------------------------- */

static void test_backoff_doubles_up_to_the_cap_with_equal_jitter(void **state)
{
    (void)state;
    static const struct {
        int attempt;
        double jitter;
        int64_t want;
    } cases[] = {
        {0, 0.0, 100},  {0, 0.5, 150},  {1, 0.0, 200},  {2, 0.0, 400},  {3, 0.999, 1599},
        {4, 0.0, 1000}, {30, 0.0, 1000}, {200, 0.99, 1990}, {-5, 0.0, 100}, {1, -1.0, 200},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        int64_t got = ksiss_kube_backoff_ms(cases[i].attempt, 200, 2000, cases[i].jitter);
        if (got != cases[i].want)
            fail_msg("attempt %d jitter %g: got %lld, want %lld", cases[i].attempt, cases[i].jitter, (long long)got,
                     (long long)cases[i].want);
    }
}

/* Found by the fault e2e suite (watches cut again and again): the
 * informer's backoff only ever reset at a watch's normal end (every 5 min),
 * so each cut of a healthy stream doubled it, up to 30 s of blindness. */
static void test_watch_backoff_starts_over_after_a_stream_that_broke(void **state)
{
    (void)state;
    int attempt = 0;
    /* Ten cuts of streams that were up: always the first, shortest delay. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_BROKE), 0);
    /* Failures to get a stream grow it... */
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_FAILED), 1);
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_FAILED), 2);
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_FAILED), 3);
    /* ...until a stream is up again and breaks: back to the first delay. */
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_BROKE), 0);
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_FAILED), 1);
    /* A normal end (server timeout, 410 then relist) reconnects at once and resets. */
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_ENDED), -1);
    assert_int_equal(ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_FAILED), 0);
}

/* Found by the fault e2e suite (kube-apiserver killed and restarted): after
 * an outage of ~20 s the informers' next try could be 16 s (up to 30 s)
 * away, so the restarted apiserver was seen only ~30 s later. Ten failures
 * in a row now leave at most the 5 s cap, jitter included. */
static void test_informer_retries_within_5s_however_long_the_outage(void **state)
{
    (void)state;
    int attempt = 0;
    int64_t worst = 0;
    for (int i = 0; i < 10; i++) {
        int a = ksiss_kube_watch_backoff_attempt(&attempt, KSISS_WATCH_FAILED);
        int64_t d = ksiss_kube_backoff_ms(a, KSISS_INFORMER_BACKOFF_BASE_MS, KSISS_INFORMER_BACKOFF_MAX_MS, 0.999);
        if (d > worst)
            worst = d;
    }
    assert_true(worst <= 5000);
    assert_true(worst >= 4000);     /* it does back off */
}

static void test_retry_on_429_and_5xx_but_not_on_client_errors_or_post_500(void **state)
{
    (void)state;
    static const struct {
        const char *verb;
        long code;
        bool want;
    } cases[] = {
        {"GET", 429, true},     {"GET", 500, true},     {"GET", 502, true},   {"GET", 503, true},
        {"GET", 504, true},     {"GET", 0, true},       {"PATCH", 503, true}, {"POST", 429, true},
        {"POST", 503, true},    {"POST", 500, false},   {"POST", 0, false},   {"GET", 400, false},
        {"GET", 401, false},    {"GET", 403, false},    {"GET", 404, false},  {"PUT", 409, false},
        {"GET", 410, false},    {"PATCH", 422, false},  {"DELETE", 501, false},
    };
    for (size_t i = 0; i < N_(cases); i++)
        if (ksiss_kube_should_retry(cases[i].verb, cases[i].code) != cases[i].want)
            fail_msg("%s %ld: want retry=%d", cases[i].verb, cases[i].code, cases[i].want);
}

static void test_retry_after_seconds_are_read_and_capped(void **state)
{
    (void)state;
    assert_int_equal(ksiss_kube_parse_retry_after_ms(" 3\r\n"), 3000);
    assert_int_equal(ksiss_kube_parse_retry_after_ms("0"), 0);
    assert_int_equal(ksiss_kube_parse_retry_after_ms("3600"), 60000);
    assert_int_equal(ksiss_kube_parse_retry_after_ms("99999999999999999999"), -1);
    assert_int_equal(ksiss_kube_parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
    assert_int_equal(ksiss_kube_parse_retry_after_ms("-1"), -1);
    assert_int_equal(ksiss_kube_parse_retry_after_ms(""), -1);
    assert_int_equal(ksiss_kube_parse_retry_after_ms(NULL), -1);
}

/* ---- Status errors -------------------------------------------------- */

static void test_status_error_carries_reason_message_and_distinct_rc(void **state)
{
    (void)state;
    static const struct {
        long code;
        const char *body;
        ksiss_kube_rc rc;
        const char *reason;
        const char *in_message;
    } cases[] = {
        {409,
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
         "\"Operation cannot be fulfilled on leases.coordination.k8s.io \\\"ksiss\\\": the object has been "
         "modified; please apply your changes to the latest version and try again\",\"reason\":\"Conflict\","
         "\"details\":{\"name\":\"ksiss\",\"group\":\"coordination.k8s.io\",\"kind\":\"leases\"},\"code\":409}",
         KSISS_KUBE_E_CONFLICT, "Conflict", "the object has been modified"},
        {404,
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"services.serving.knative.dev "
         "\\\"llama\\\" not found\",\"reason\":\"NotFound\",\"code\":404}",
         KSISS_KUBE_E_NOT_FOUND, "NotFound", "\"llama\" not found"},
        {403,
         "{\"kind\":\"Status\",\"message\":\"nodes is forbidden: User \\\"system:serviceaccount:ksiss:ksiss\\\" cannot "
         "list resource \\\"nodes\\\"\",\"reason\":\"Forbidden\",\"code\":403}",
         KSISS_KUBE_E_FORBIDDEN, "Forbidden", "cannot list resource"},
        {410, "{\"kind\":\"Status\",\"message\":\"too old resource version: 5 (120)\",\"reason\":\"Expired\",\"code\":410}",
         KSISS_KUBE_E_GONE, "Expired", "too old resource version"},
        {422, "{\"kind\":\"Status\",\"message\":\"Service \\\"x\\\" is invalid\",\"reason\":\"Invalid\",\"code\":422}",
         KSISS_KUBE_E_INVALID, "Invalid", "is invalid"},
        {503, "<html><body>upstream\nconnect error</body></html>", KSISS_KUBE_E_UNAVAILABLE, NULL,
         "<html><body>upstream connect error"},
        {500, "", KSISS_KUBE_E_UNAVAILABLE, NULL, "HTTP 500"},
        {418, "{\"kind\":\"Pod\"}", KSISS_KUBE_E_HTTP, NULL, "HTTP 418"},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        ksiss_kube_error e = {0};
        ksiss_kube_error_from_response(&e, "PUT", "/x", cases[i].code, cases[i].body, strlen(cases[i].body));
        if (e.rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, e.rc, cases[i].rc);
        if (cases[i].reason)
            assert_string_equal(e.reason, cases[i].reason);
        else
            assert_null(e.reason);
        if (!e.message || !strstr(e.message, cases[i].in_message))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, e.message ? e.message : "", cases[i].in_message);
        assert_int_equal(e.http_code, cases[i].code);
        ksiss_kube_error_clear(&e);
        assert_null(e.message);
    }
}

static void test_long_error_bodies_are_cut_for_messages(void **state)
{
    (void)state;
    char body[5000];
    memset(body, 'x', sizeof body);
    ksiss_kube_error e = {0};
    ksiss_kube_error_from_response(&e, "GET", "/api/v1/pods", 502, body, sizeof body);
    assert_true(strlen(e.message) < 400);
    assert_non_null(strstr(e.message, "..."));
    ksiss_kube_error_clear(&e);
}

/* ---- kubeconfig ----------------------------------------------------- */

static void test_kubeconfig_current_context_with_token_and_relative_ca(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    assert_int_equal(ksiss_kubeconfig_load_file("tests/data/kube/kubeconfig-token.yaml", NULL, &cfg, &err), 0);
    assert_string_equal(cfg.server, "https://127.0.0.1:6443/");
    assert_string_equal(cfg.ca_file, "tests/data/kube/pki/ca.crt");
    assert_string_equal(cfg.token, "abc.def.ghi");
    assert_string_equal(cfg.namespace, "inference");
    assert_false(cfg.insecure_skip_tls_verify);
    assert_non_null(strstr(cfg.source, "context dev"));
    ksiss_kube_config_free(&cfg);
}

static void test_kubeconfig_named_context_and_insecure_flag(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    assert_int_equal(ksiss_kubeconfig_load_file("tests/data/kube/kubeconfig-token.yaml", "lab", &cfg, &err), 0);
    assert_string_equal(cfg.server, "https://10.0.0.1");
    assert_true(cfg.insecure_skip_tls_verify);
    assert_string_equal(cfg.namespace, "default");
    ksiss_kube_config_free(&cfg);
}

static void test_kubeconfig_embedded_certificates_are_decoded(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    assert_int_equal(ksiss_kubeconfig_load_file("tests/data/kube/kubeconfig-certs.yaml", NULL, &cfg, &err), 0);
    assert_string_equal(cfg.ca_pem, "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
    assert_string_equal(cfg.client_cert_pem, "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n");
    assert_string_equal(cfg.client_key_pem, "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n");
    assert_null(cfg.token);
    ksiss_kube_config_free(&cfg);
}

static void test_kubeconfig_exec_plugin_is_refused_as_not_supported(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    assert_int_equal(ksiss_kubeconfig_load_file("tests/data/kube/kubeconfig-exec.yaml", NULL, &cfg, &err), -1);
    assert_non_null(strstr(err, "kubeconfig-exec.yaml:14:"));
    assert_non_null(strstr(err, "\"exec\" is not supported"));
    free(err);
}

static void test_kubeconfig_syntax_error_is_positioned(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    assert_int_equal(ksiss_kubeconfig_load_file("tests/data/kube/kubeconfig-broken.yaml", NULL, &cfg, &err), -1);
    assert_non_null(strstr(err, "tests/data/kube/kubeconfig-broken.yaml:"));
    free(err);
    assert_int_equal(ksiss_kubeconfig_load_file("tests/data/kube/no-such-file.yaml", NULL, &cfg, &err), -1);
    assert_non_null(strstr(err, "no-such-file.yaml"));
    free(err);
}

static void test_kubeconfig_semantic_errors_name_line_and_column(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *text;
        const char *want;       /* substring of the first diagnostic, "FILE:LINE:COL: ..." */
    } cases[] = {
        {"no current context", "apiVersion: v1\nkind: Config\nclusters: []\n", "no current-context"},
        {"unknown context", "kind: Config\ncurrent-context: prod\ncontexts: []\n",
         "k.yaml:2:18: kubeconfig: context \"prod\" not found"},
        {"unknown cluster",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context:\n    cluster: nope\n",
         "k.yaml:6:14: kubeconfig: cluster \"nope\" not found"},
        {"unknown user",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
         "clusters:\n- name: c\n  cluster: {server: \"https://x\"}\n",
         "kubeconfig: user \"u\" not found"},
        {"server not a URL",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster:\n    server: 127.0.0.1:6443\n",
         "k.yaml:9:13: cluster \"c\": server \"127.0.0.1:6443\" is not an http(s) URL"},
        {"bad base64",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: \"@@@\"\n",
         "certificate-authority-data is not valid base64"},
        {"insecure flag not a boolean",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://x\n    insecure-skip-tls-verify: maybe\n",
         "k.yaml:10:31:"},
        {"auth-provider refused",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
         "clusters:\n- name: c\n  cluster: {server: \"https://x\"}\nusers:\n- name: u\n  user:\n"
         "    auth-provider: {name: oidc}\n",
         "k.yaml:12:5: user \"u\": \"auth-provider\" is not supported"},
        {"certificate without key",
         "kind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
         "clusters:\n- name: c\n  cluster: {server: \"https://x\"}\nusers:\n- name: u\n  user:\n"
         "    client-certificate: cert.pem\n",
         "needs a client key"},
        {"wrong kind", "kind: Pod\ncurrent-context: a\n", "k.yaml:1:7: kubeconfig: kind is \"Pod\""},
        {"not a mapping", "- 1\n- 2\n", "expected one YAML mapping"},
        {"contexts not a list", "kind: Config\ncurrent-context: a\ncontexts: {a: 1}\n",
         "k.yaml:3:11: contexts: expected a list"},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        ksiss_diags d;
        ksiss_diags_init(&d);
        ksiss_kube_config cfg;
        int rc = ksiss_kubeconfig_parse(cases[i].text, strlen(cases[i].text), "k.yaml", "/etc/k", NULL, &cfg, &d);
        if (rc != -1 || d.n == 0)
            fail_msg("case \"%s\": accepted", cases[i].what);
        bool found = false;
        for (size_t j = 0; j < d.n && !found; j++) {
            char *m = ksiss_diag_format(&d.v[j]);
            found = strstr(m, cases[i].want) != NULL;
            if (!found && j + 1 == d.n) {
                char *first = ksiss_diag_format(&d.v[0]);
                ksiss_diags_free(&d);
                fail_msg("case \"%s\": no diagnostic with \"%s\" (first: %s; last: %s)", cases[i].what,
                         cases[i].want, first, m);
            }
            free(m);
        }
        ksiss_diags_free(&d);
    }
}

/* ---- in-cluster ----------------------------------------------------- */

static char *write_sa_dir(const char *token, const char *ns)
{
    char tmpl[] = "/tmp/ksiss-sa-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    char *p = ksiss_xasprintf("%s/token", dir);
    FILE *f = fopen(p, "w");
    fputs(token, f);
    fclose(f);
    free(p);
    p = ksiss_xasprintf("%s/ca.crt", dir);
    f = fopen(p, "w");
    fputs("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    free(p);
    if (ns) {
        p = ksiss_xasprintf("%s/namespace", dir);
        f = fopen(p, "w");
        fputs(ns, f);
        fclose(f);
        free(p);
    }
    return ksiss_xstrdup(dir);
}

static void remove_sa_dir(char *dir)
{
    static const char *const files[] = {"token", "ca.crt", "namespace"};
    for (size_t i = 0; i < N_(files); i++) {
        char *p = ksiss_xasprintf("%s/%s", dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
}

static void test_in_cluster_config_reads_the_service_account(void **state)
{
    (void)state;
    char *dir = write_sa_dir("tok-123\n", "ksiss-system\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    ksiss_kube_config cfg;
    char *err = NULL;
    assert_int_equal(ksiss_kube_config_in_cluster(&cfg, dir, &err), 0);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.token, "tok-123");
    assert_string_equal(cfg.namespace, "ksiss-system");
    assert_non_null(strstr(cfg.ca_file, "/ca.crt"));
    assert_non_null(strstr(cfg.token_file, "/token"));
    ksiss_kube_config_free(&cfg);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(ksiss_kube_config_in_cluster(&cfg, dir, &err), 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:443");
    ksiss_kube_config_free(&cfg);
    remove_sa_dir(dir);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_in_cluster_config_explains_what_is_missing(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(ksiss_kube_config_in_cluster(&cfg, "/nonexistent", &err), -1);
    assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
    free(err);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    assert_int_equal(ksiss_kube_config_in_cluster(&cfg, "/nonexistent", &err), -1);
    assert_non_null(strstr(err, "not a port number"));
    free(err);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(ksiss_kube_config_in_cluster(&cfg, "/nonexistent", &err), -1);
    assert_non_null(strstr(err, "/nonexistent/token"));
    free(err);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_config_load_prefers_flag_then_first_kubeconfig_of_the_list(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    setenv("KUBECONFIG", "tests/data/kube/kubeconfig-certs.yaml:tests/data/kube/kubeconfig-token.yaml", 1);
    assert_int_equal(ksiss_kube_config_load(&cfg, NULL, NULL, &err), 0);
    assert_string_equal(cfg.server, "https://127.0.0.1:41235");
    ksiss_kube_config_free(&cfg);
    assert_int_equal(ksiss_kube_config_load(&cfg, "tests/data/kube/kubeconfig-token.yaml", NULL, &err), 0);
    assert_string_equal(cfg.server, "https://127.0.0.1:6443/");
    ksiss_kube_config_free(&cfg);
    unsetenv("KUBECONFIG");
}

static void test_client_refuses_unusable_configurations(void **state)
{
    (void)state;
    char *err = NULL;
    ksiss_kube_config cfg = {0};
    assert_null(ksiss_kube_new(&cfg, NULL, &err));
    assert_non_null(strstr(err, "no API server URL"));
    free(err);
    cfg.server = "ftp://x";
    assert_null(ksiss_kube_new(&cfg, NULL, &err));
    assert_non_null(strstr(err, "not an http(s) URL"));
    free(err);
    cfg.server = "https://127.0.0.1:1";
    cfg.ca_file = "/nonexistent/ca.crt";
    assert_null(ksiss_kube_new(&cfg, NULL, &err));
    assert_non_null(strstr(err, "/nonexistent/ca.crt"));
    free(err);
}

static void test_base64_decoding(void **state)
{
    (void)state;
    size_t n;
    char *s = ksiss_base64_decode("aGVsbG8=", &n);
    assert_string_equal(s, "hello");
    assert_int_equal(n, 5);
    free(s);
    s = ksiss_base64_decode("aGVs\nbG8", &n);
    assert_string_equal(s, "hello");
    free(s);
    assert_null(ksiss_base64_decode("aGVsbG8=x", &n));
    assert_null(ksiss_base64_decode("a", &n));
    assert_null(ksiss_base64_decode("a$b=", &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_for_core_grouped_namespaced_and_cluster_scoped_resources),
        cmocka_unit_test(test_impossible_paths_are_refused),
        cmocka_unit_test(test_escape_keeps_only_unreserved_characters),
        cmocka_unit_test(test_backoff_doubles_up_to_the_cap_with_equal_jitter),
        cmocka_unit_test(test_watch_backoff_starts_over_after_a_stream_that_broke),
        cmocka_unit_test(test_informer_retries_within_5s_however_long_the_outage),
        cmocka_unit_test(test_retry_on_429_and_5xx_but_not_on_client_errors_or_post_500),
        cmocka_unit_test(test_retry_after_seconds_are_read_and_capped),
        cmocka_unit_test(test_status_error_carries_reason_message_and_distinct_rc),
        cmocka_unit_test(test_long_error_bodies_are_cut_for_messages),
        cmocka_unit_test(test_kubeconfig_current_context_with_token_and_relative_ca),
        cmocka_unit_test(test_kubeconfig_named_context_and_insecure_flag),
        cmocka_unit_test(test_kubeconfig_embedded_certificates_are_decoded),
        cmocka_unit_test(test_kubeconfig_exec_plugin_is_refused_as_not_supported),
        cmocka_unit_test(test_kubeconfig_syntax_error_is_positioned),
        cmocka_unit_test(test_kubeconfig_semantic_errors_name_line_and_column),
        cmocka_unit_test(test_in_cluster_config_reads_the_service_account),
        cmocka_unit_test(test_in_cluster_config_explains_what_is_missing),
        cmocka_unit_test(test_config_load_prefers_flag_then_first_kubeconfig_of_the_list),
        cmocka_unit_test(test_client_refuses_unusable_configurations),
        cmocka_unit_test(test_base64_decoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
