/* test_http_auth.c: credentials on the way out (shell/http_auth.h), through
 * the Kubernetes client and the Prometheus client against the stand-in
 * server of test_kube_fake.h on 127.0.0.1:
 *   - a token or password sent over http:// is warned about once per
 *     process and kind of destination, never when no credential goes;
 *   - a header libcurl cannot add fails the request, which is not sent
 *     (it went out without Authorization before);
 *   - no token is left readable in memory the client frees.
 * Linked with -Wl,--wrap=free,--wrap=curl_slist_append (Makefile,
 * TEST_LINK_test_http_auth): every free() in libksiss.a goes through
 * __wrap_free, which looks for the tokens in the block it frees, and
 * curl_slist_append can be made to fail for one header. */
#include <malloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/http_auth.h"
#include "shell/kube.h"
#include "shell/prom.h"
#include "test_kube_fake.h"

/* ---- the wrapped allocator and header list ---- */

void __real_free(void *p);
void __wrap_free(void *p);
struct curl_slist *__real_curl_slist_append(struct curl_slist *l, const char *s);
struct curl_slist *__wrap_curl_slist_append(struct curl_slist *l, const char *s);

/* Set and read with __atomic (the stand-in's threads free too). */
static const char *needles[2];           /* looked for in freed blocks while set */
static int leaked;                       /* blocks freed with a needle in them */
static char leaked_what[128];
static const char *fail_prefix;          /* curl_slist_append fails for a line starting so */

static void set_needles(const char *a, const char *b)
{
    __atomic_store_n(&needles[0], a, __ATOMIC_SEQ_CST);
    __atomic_store_n(&needles[1], b, __ATOMIC_SEQ_CST);
}

static void set_fail_prefix(const char *p)
{
    __atomic_store_n(&fail_prefix, p, __ATOMIC_SEQ_CST);
}

static bool contains(const char *p, size_t len, const char *nd)
{
    size_t m = strlen(nd);
    for (size_t i = 0; i + m <= len; i++)
        if (!memcmp(p + i, nd, m))
            return true;
    return false;
}

void __wrap_free(void *p)
{
    if (p) {
        size_t n = malloc_usable_size(p);
        size_t len = strnlen(p, n);
        for (int i = 0; i < 2; i++) {
            const char *nd = __atomic_load_n(&needles[i], __ATOMIC_SEQ_CST);
            if (nd && contains(p, len, nd)) {
                if (__atomic_fetch_add(&leaked, 1, __ATOMIC_SEQ_CST) == 0)
                    snprintf(leaked_what, sizeof leaked_what, "%.*s", (int)(len < 100 ? len : 100), (char *)p);
            }
        }
    }
    __real_free(p);
}

struct curl_slist *__wrap_curl_slist_append(struct curl_slist *l, const char *s)
{
    const char *f = __atomic_load_n(&fail_prefix, __ATOMIC_SEQ_CST);
    if (f && s && !strncmp(s, f, strlen(f)))
        return NULL;
    return __real_curl_slist_append(l, s);
}

/* ---- stderr, captured ---- */

typedef struct {
    char path[64];
    int fd, saved;
} capture;

static void capture_start(capture *c)
{
    strcpy(c->path, "/tmp/ksiss-test-http-auth-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_int_equal(dup2(c->fd, 2), 2);
}

/* Stops capturing; returns what was written (caller frees). */
static char *capture_stop(capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    off_t size = lseek(c->fd, 0, SEEK_END);
    char *buf = ksiss_xcalloc(1, (size_t)size + 1);
    assert_int_equal(pread(c->fd, buf, (size_t)size, 0), size);
    close(c->fd);
    unlink(c->path);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* ---- clients ---- */

static ksiss_kube *kube_for(fake_server *fs, const char *token, const char *token_file)
{
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {0};
    cfg.server = server;
    cfg.token = (char *)token;
    cfg.token_file = (char *)token_file;
    cfg.namespace = "default";
    cfg.source = "test";
    ksiss_kube_options o = {0};
    o.max_retries = -1;
    o.timeout_ms = 5000;
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &err);
    if (!k)
        fail_msg("client: %s", err);
    free(server);
    return k;
}

static ksiss_prom *prom_for(fake_server *fs, const char *token, const char *user, const char *password)
{
    ksiss_prom_opts o;
    ksiss_prom_opts_init(&o);
    o.url = ksiss_xasprintf("http://127.0.0.1:%u/api/v1/query", fs->port);
    o.bearer_token = ksiss_xstrdup(token);
    o.username = ksiss_xstrdup(user);
    o.password = ksiss_xstrdup(password);
    char *err = NULL;
    ksiss_prom *c = ksiss_prom_new(&o, &err);
    if (!c)
        fail_msg("client: %s", err);
    ksiss_prom_opts_free(&o);
    return c;
}

static const char *pod_json = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\"}}";
static const char *prom_ok = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\"]}}";

static int kube_get(ksiss_kube *k, ksiss_kube_error *err)
{
    json_t *obj = NULL;
    int rc = ksiss_kube_get(k, &KSISS_KUBE_PODS, "default", "web-0", &obj, err);
    json_decref(obj);
    return rc;
}

static int prom_query(ksiss_prom *c, ksiss_prom_result *r)
{
    int rc = ksiss_prom_query(c, "up", NULL, NULL, r);
    return rc;
}

/* Runs first: the warnings are once per process. */
static void test_credentials_over_http_are_warned_about_once_per_destination(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    for (int i = 0; i < 8; i++) {
        fake_add(fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
        fake_add(fs, "POST", "/api/v1/query", 200, prom_ok, NULL);
    }
    capture cap;
    capture_start(&cap);

    /* https, and http without credentials: no warning */
    assert_false(ksiss_warn_cleartext_credentials(KSISS_DEST_KUBERNETES, "https://10.0.0.1:6443"));
    assert_false(ksiss_warn_cleartext_credentials(KSISS_DEST_PROMETHEUS, "https://prom:9090/api/v1/query"));
    ksiss_kube *anon = kube_for(fs, NULL, NULL);
    assert_int_equal(kube_get(anon, NULL), KSISS_KUBE_OK);
    ksiss_kube_free(anon);
    ksiss_prom *panon = prom_for(fs, NULL, NULL, NULL);
    ksiss_prom_result r;
    assert_int_equal(prom_query(panon, &r), 0);
    ksiss_prom_result_free(&r);
    ksiss_prom_free(panon);

    /* a token to the API server over http: once, for two clients and three requests */
    ksiss_kube *a = kube_for(fs, "tok-a", NULL), *b = kube_for(fs, "tok-b", NULL);
    assert_int_equal(kube_get(a, NULL), KSISS_KUBE_OK);
    assert_int_equal(kube_get(a, NULL), KSISS_KUBE_OK);
    assert_int_equal(kube_get(b, NULL), KSISS_KUBE_OK);
    ksiss_kube_free(a);
    ksiss_kube_free(b);

    /* a password, then a token, to Prometheus over http: once more */
    ksiss_prom *p1 = prom_for(fs, NULL, "u", "pw-secret-9"), *p2 = prom_for(fs, "tok-p", NULL, NULL);
    assert_int_equal(prom_query(p1, &r), 0);
    ksiss_prom_result_free(&r);
    assert_int_equal(prom_query(p2, &r), 0);
    ksiss_prom_result_free(&r);
    assert_int_equal(prom_query(p1, &r), 0);
    ksiss_prom_result_free(&r);
    ksiss_prom_free(p1);
    ksiss_prom_free(p2);

    char *log = capture_stop(&cap);
    if (count(log, "plain http") != 2 || count(log, "destination=\"the Kubernetes API server\"") != 1 ||
        count(log, "destination=Prometheus") != 1 || count(log, "level=warn") != 2)
        fail_msg("expected one warning per destination, got:\n%s", log);
    /* the URL is named, the credentials are not */
    assert_non_null(strstr(log, "url=http://127.0.0.1:"));
    assert_null(strstr(log, "tok-"));
    assert_null(strstr(log, "pw-secret"));
    /* and it is said once: a later check says nothing */
    assert_false(ksiss_warn_cleartext_credentials(KSISS_DEST_KUBERNETES, "http://10.0.0.1"));
    free(log);
    assert_int_equal(fake_count(fs), 8);
    fake_stop(fs);
}

/* A request whose Authorization (or Content-Type, or Accept) header
 * libcurl could not add fails with a message saying so and is not sent. */
static void test_a_header_that_cannot_be_added_fails_the_request_unsent(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    fake_add(fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    fake_add(fs, "POST", "/api/v1/query", 200, prom_ok, NULL);
    ksiss_kube *k = kube_for(fs, "tok-hdr", NULL);
    ksiss_prom *p = prom_for(fs, "tok-hdr", NULL, NULL);
    static const char *const prefixes[] = {"Authorization", "Accept", "Content-Type"};
    for (size_t i = 0; i < 3; i++) {
        set_fail_prefix(prefixes[i]);
        ksiss_kube_error err = {0};
        json_t *patch = json_pack("{s:{s:s}}", "metadata", "name", "web-0");
        int rc = i == 2 ? ksiss_kube_patch(k, &KSISS_KUBE_PODS, "default", "web-0", NULL, KSISS_KUBE_MERGE_PATCH,
                                           patch, NULL, NULL, &err)
                        : kube_get(k, &err);
        json_decref(patch);
        assert_int_equal(rc, KSISS_KUBE_E_TRANSPORT);
        if (!err.message || !strstr(err.message, "could not add a request header"))
            fail_msg("%s: %s", prefixes[i], err.message ? err.message : "(no message)");
        ksiss_kube_error_clear(&err);
        if (i < 2) {
            ksiss_prom_result r;
            assert_int_equal(prom_query(p, &r), -1);
            assert_string_equal(r.reason, "query");
            assert_non_null(strstr(r.error, "could not add a request header"));
            ksiss_prom_result_free(&r);
        }
        assert_int_equal(fake_count(fs), 0);
    }
    /* the same requests go out, with the token, once headers can be added */
    set_fail_prefix(NULL);
    assert_int_equal(kube_get(k, NULL), KSISS_KUBE_OK);
    ksiss_prom_result r;
    assert_int_equal(prom_query(p, &r), 0);
    ksiss_prom_result_free(&r);
    assert_int_equal(fake_count(fs), 2);
    assert_string_equal(fs->reqs[0].auth, "Bearer tok-hdr");
    assert_string_equal(fs->reqs[1].auth, "Bearer tok-hdr");
    ksiss_kube_free(k);
    ksiss_prom_free(p);
    fake_stop(fs);
}

/* Every token the clients hold or put into a header is wiped before its
 * memory is freed: after a rotation (the old token), requests (the
 * Authorization lines) and the clients' free (the tokens they keep). */
static void test_tokens_are_wiped_before_their_memory_is_freed(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    char path[] = "/tmp/ksiss-test-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t1 = "tok-first-7f3a9c51e2", *t2 = "tok-second-b81e4402d9", *tp = "tok-prom-4c1d99e0aa";
    assert_int_equal(write(fd, t1, strlen(t1)), (ssize_t)strlen(t1));
    close(fd);
    fake_add(fs, "GET", "/api/v1/namespaces/default/pods/web-0", 401, "{\"kind\":\"Status\"}", NULL);
    fake_add(fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    fake_add(fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    fake_add(fs, "POST", "/api/v1/query", 200, prom_ok, NULL);

    set_needles("tok-first-7f3a9c", "tok-second-b81e44");
    ksiss_kube *k = kube_for(fs, NULL, path);
    /* the token is rotated (the file keeps its mtime, so the client
     * learns of it from the server's 401 for the old one) */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(t2, f);
    fputs("\n", f);
    fclose(f);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(kube_get(k, NULL), KSISS_KUBE_OK);
    assert_int_equal(kube_get(k, NULL), KSISS_KUBE_OK);
    ksiss_kube_free(k);
    set_needles("tok-first-7f3a9c", "tok-prom-4c1d99");
    ksiss_prom *p = prom_for(fs, tp, NULL, NULL);
    ksiss_prom_result r;
    assert_int_equal(prom_query(p, &r), 0);
    ksiss_prom_result_free(&r);
    ksiss_prom_free(p);
    set_needles(NULL, NULL);
    unlink(path);

    /* the tokens did go out (the wipe is not of something never used) */
    assert_int_equal(fake_count(fs), 4);
    assert_string_equal(fs->reqs[0].auth, "Bearer tok-first-7f3a9c51e2");
    assert_string_equal(fs->reqs[1].auth, "Bearer tok-second-b81e4402d9");
    assert_string_equal(fs->reqs[3].auth, "Bearer tok-prom-4c1d99e0aa");
    int n_leaked = __atomic_load_n(&leaked, __ATOMIC_SEQ_CST);
    if (n_leaked)
        fail_msg("%d freed blocks still held a token, the first: \"%s\"", n_leaked, leaked_what);
    fake_stop(fs);
}

/* The wipe itself: every byte zero, up to the NUL. */
static void test_wipe_zeroes_every_byte(void **state)
{
    (void)state;
    char buf[16] = "secret-token";
    ksiss_wipe(buf, strlen(buf));
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0);
    ksiss_free_secret(NULL);
}

/* A test that failed half-way leaves no injected failure or needle behind. */
static int reset(void **state)
{
    (void)state;
    set_fail_prefix(NULL);
    set_needles(NULL, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_credentials_over_http_are_warned_about_once_per_destination, reset),
        cmocka_unit_test_teardown(test_a_header_that_cannot_be_added_fails_the_request_unsent, reset),
        cmocka_unit_test_teardown(test_tokens_are_wiped_before_their_memory_is_freed, reset),
        cmocka_unit_test_teardown(test_wipe_zeroes_every_byte, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
