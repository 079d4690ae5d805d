/* test_kube_client.c: the Kubernetes client's HTTP behaviour against a
 * scripted stand-in API server on 127.0.0.1 (test_kube_fake.h): bearer
 * token and its rotation, retries on 503/429 with Retry-After, bounded
 * retry count, 409 returned distinctly and never retried, POST not retried
 * on 500, LIST pagination, response size cap, undecodable bodies, PATCH
 * content types and preconditions, DELETE options, transport errors, the
 * request hook, the informer (list, watch events, bookmark, 410 relist), and
 * connection reuse (counted by the stand-in: fewer connections than
 * requests, no more than requests in flight). */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/kube.h"
#include "shell/metrics.h"
#include "test_kube_fake.h"

typedef struct {
    fake_server *fs;
    ksiss_kube *k;
    pthread_mutex_t mu;
    char *hook_log;     /* "GET:200 GET:503 ..." */
} fx;

static void hook(void *ud, const char *verb, long code)
{
    fx *f = ud;
    pthread_mutex_lock(&f->mu);
    char *n = ksiss_xasprintf("%s%s%s:%ld", f->hook_log ? f->hook_log : "", f->hook_log ? " " : "", verb, code);
    free(f->hook_log);
    f->hook_log = n;
    pthread_mutex_unlock(&f->mu);
}

static ksiss_kube *client_for(fx *f, const char *token, const char *token_file)
{
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {0};
    cfg.server = server;
    cfg.token = (char *)token;
    cfg.token_file = (char *)token_file;
    cfg.namespace = "default";
    cfg.source = "test";
    ksiss_kube_options o = {0};
    o.max_retries = 3;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 4;
    o.timeout_ms = 5000;
    o.max_response_bytes = 4096;
    o.hook = hook;
    o.hook_ud = f;
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &err);
    if (!k)
        fail_msg("client: %s", err);
    free(server);
    return k;
}

static int setup(void **state)
{
    fx *f = ksiss_xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->fs = fake_start();
    if (!f->fs)
        fail_msg("cannot start the fake API server on 127.0.0.1");
    f->k = client_for(f, "secret-token", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ksiss_kube_free(f->k);
    fake_stop(f->fs);
    free(f->hook_log);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static const char *pod_json = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web-0\","
                              "\"namespace\":\"default\",\"resourceVersion\":\"42\"}}";

static void test_get_returns_the_object_and_sends_the_bearer_token(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    json_t *obj = NULL;
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_PODS, "default", "web-0", &obj, &err), KSISS_KUBE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion")), "42");
    assert_string_equal(f->fs->reqs[0].auth, "Bearer secret-token");
    assert_string_equal(f->hook_log, "GET:200");
    json_decref(obj);
}

static void test_503_and_429_are_retried_until_success(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/nodes/n1", 503, "{\"kind\":\"Status\",\"message\":\"etcd down\"}", NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/n1", 429, "{\"kind\":\"Status\",\"message\":\"slow down\"}", "0");
    fake_add(f->fs, "GET", "/api/v1/nodes/n1", 200, "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"}}", NULL);
    json_t *obj = NULL;
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "n1", &obj, NULL), KSISS_KUBE_OK);
    assert_string_equal(f->hook_log, "GET:503 GET:429 GET:200");
    json_decref(obj);
}

static void test_retries_are_bounded_and_the_last_status_is_reported(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 6; i++)
        fake_add(f->fs, "GET", "/api/v1/nodes/n1", 503,
                 "{\"kind\":\"Status\",\"message\":\"the server is currently unable to handle the request\","
                 "\"reason\":\"ServiceUnavailable\",\"code\":503}",
                 NULL);
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "n1", NULL, &err), KSISS_KUBE_E_UNAVAILABLE);
    assert_int_equal(fake_count(f->fs), 4);     /* 1 + max_retries */
    assert_string_equal(err.reason, "ServiceUnavailable");
    assert_non_null(strstr(err.message, "unable to handle"));
    ksiss_kube_error_clear(&err);
}

static void test_zero_options_mean_the_default_retry_count(void **state)
{
    fx *f = *state;
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.backoff_base_ms = 1, .backoff_max_ms = 2};     /* max_retries left 0 */
    char *e = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &e);
    for (int i = 0; i < 4; i++)
        fake_add(f->fs, "GET", "/api/v1/nodes/n", 503, "{}", NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(fake_count(f->fs), 5);
    ksiss_kube_free(k);
    free(server);
}

static void test_timeouts_are_retried_for_reads_but_not_for_post(void **state)
{
    fx *f = *state;
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.timeout_ms = 100, .max_retries = 2, .backoff_base_ms = 1, .backoff_max_ms = 2,
                            .hook = hook, .hook_ud = f};
    char *e = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &e);
    fake_add_delayed(f->fs, "GET", "/api/v1/nodes/slow", 200, "{}", 400);
    fake_add(f->fs, "GET", "/api/v1/nodes/slow", 200, "{\"kind\":\"Node\"}", NULL);
    json_t *obj = NULL;
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "slow", &obj, NULL), KSISS_KUBE_OK);
    assert_string_equal(f->hook_log, "GET:0 GET:200");
    json_decref(obj);
    fake_add_delayed(f->fs, "POST", "/api/v1/namespaces/default/events", 201, "{}", 400);
    json_t *ev = json_object();
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_create(k, &KSISS_KUBE_EVENTS, "default", ev, NULL, &err), KSISS_KUBE_E_TRANSPORT);
    assert_non_null(strstr(err.message, "imed out"));
    assert_string_equal(f->hook_log, "GET:0 GET:200 POST:0");
    ksiss_kube_error_clear(&err);
    json_decref(ev);
    ksiss_kube_free(k);
    free(server);
}

static void test_conflict_is_returned_at_once_never_retried(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/l", 409,
             "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Operation cannot be fulfilled on "
             "leases.coordination.k8s.io \\\"l\\\": the object has been modified\",\"reason\":\"Conflict\",\"code\":409}",
             NULL);
    json_t *body = json_pack("{s:{s:s, s:s}}", "metadata", "name", "l", "resourceVersion", "7");
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_replace(f->k, &KSISS_KUBE_LEASES, "default", "l", body, NULL, &err),
                     KSISS_KUBE_E_CONFLICT);
    assert_int_equal(err.rc, KSISS_KUBE_E_CONFLICT);
    assert_string_equal(err.reason, "Conflict");
    assert_int_equal(fake_count(f->fs), 1);
    ksiss_kube_error_clear(&err);
    json_decref(body);
}

static void test_post_is_not_retried_after_a_500(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "POST", "/api/v1/namespaces/default/events", 500, "{\"kind\":\"Status\",\"message\":\"boom\"}",
             NULL);
    json_t *ev = json_pack("{s:{s:s}}", "metadata", "generateName", "x.");
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_create(f->k, &KSISS_KUBE_EVENTS, "default", ev, NULL, &err),
                     KSISS_KUBE_E_UNAVAILABLE);
    assert_int_equal(fake_count(f->fs), 1);
    assert_string_equal(f->fs->reqs[0].content_type, "application/json");
    ksiss_kube_error_clear(&err);
    json_decref(ev);
}

static void test_list_follows_continue_tokens_across_pages(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/namespaces/ml/pods?labelSelector=app=llm&limit=2&continue=tok2", 200,
             "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"101\"},\"items\":[{\"metadata\":{\"name\":\"c\"}}]}",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/namespaces/ml/pods?labelSelector=app=llm&limit=2", 200,
             "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"100\",\"continue\":\"tok2\"},"
             "\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}",
             NULL);
    ksiss_kube_list_opts lo = {.label_selector = "app=llm", .page_size = 2};
    json_t *items = NULL;
    char *rv = NULL;
    assert_int_equal(ksiss_kube_list(f->k, &KSISS_KUBE_PODS, "ml", &lo, &items, &rv, NULL), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(items, 2), "metadata"), "name")),
                        "c");
    assert_string_equal(rv, "101");
    assert_int_equal(fake_count(f->fs), 2);
    assert_non_null(strstr(f->fs->reqs[1].url, "continue=tok2"));
    assert_string_equal(f->hook_log, "LIST:200 LIST:200");
    json_decref(items);
    free(rv);
}

static void test_expired_continue_token_restarts_the_list_once(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/pods?limit=500&continue=old", 410,
             "{\"kind\":\"Status\",\"message\":\"continue token expired\",\"reason\":\"Expired\",\"code\":410}", NULL);
    fake_add(f->fs, "GET", "/api/v1/pods?limit=500", 200,
             "{\"metadata\":{\"resourceVersion\":\"5\",\"continue\":\"old\"},\"items\":[{\"metadata\":{\"name\":\"a\"}}]}",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/pods?limit=500", 200,
             "{\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},"
             "{\"metadata\":{\"name\":\"b\"}}]}",
             NULL);
    json_t *items = NULL;
    char *rv = NULL;
    assert_int_equal(ksiss_kube_list(f->k, &KSISS_KUBE_PODS, NULL, NULL, &items, &rv, NULL), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(items), 2);    /* not 3: the first page was dropped */
    assert_string_equal(rv, "9");
    json_decref(items);
    free(rv);
}

static void test_response_larger_than_the_cap_is_refused(void **state)
{
    fx *f = *state;
    ksiss_strbuf big;
    ksiss_sb_init(&big, 0);
    ksiss_sb_puts(&big, "{\"kind\":\"Pod\",\"data\":\"");
    for (int i = 0; i < 10000; i++)
        ksiss_sb_putc(&big, 'x');
    ksiss_sb_puts(&big, "\"}");
    fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/big", 200, ksiss_sb_str(&big), NULL);
    ksiss_kube_error err = {0};
    json_t *obj = NULL;
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_PODS, "default", "big", &obj, &err), KSISS_KUBE_E_TOO_LARGE);
    assert_null(obj);
    assert_non_null(strstr(err.message, "larger than 4096 bytes"));
    ksiss_kube_error_clear(&err);
    ksiss_sb_free(&big);
}

static void test_a_body_that_is_not_json_is_a_decode_error(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/p", 200, "<html>proxy login</html>", NULL);
    ksiss_kube_error err = {0};
    json_t *obj = NULL;
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_PODS, "default", "p", &obj, &err), KSISS_KUBE_E_DECODE);
    assert_non_null(strstr(err.message, "not JSON"));
    ksiss_kube_error_clear(&err);
}

static void test_merge_patch_carries_the_resource_version_precondition(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "PATCH", "/apis/serving.knative.dev/v1/namespaces/ml/services/llama", 200, "{}", NULL);
    json_t *patch = json_loads("{\"metadata\":{\"annotations\":{\"ksiss.io/transition\":\"up\"}}}", 0, NULL);
    assert_int_equal(ksiss_kube_patch(f->k, &KSISS_KUBE_KNATIVE_SERVICES, "ml", "llama", NULL, KSISS_KUBE_MERGE_PATCH,
                                      patch, "77", NULL, NULL),
                     KSISS_KUBE_OK);
    assert_string_equal(f->fs->reqs[0].content_type, "application/merge-patch+json");
    json_t *sent = json_loads(f->fs->reqs[0].body, 0, NULL);
    json_t *meta = json_object_get(sent, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "resourceVersion")), "77");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "annotations"), "ksiss.io/transition")),
                        "up");
    /* The caller's patch is untouched. */
    assert_null(json_object_get(json_object_get(patch, "metadata"), "resourceVersion"));
    json_decref(sent);
    json_decref(patch);
}

static void test_json_patch_prepends_a_resource_version_test(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "PATCH", "/apis/serving.knative.dev/v1/namespaces/ml/services/llama", 200, "{}", NULL);
    json_t *patch = json_loads("[{\"op\":\"replace\",\"path\":\"/spec/traffic/0/percent\",\"value\":50}]", 0, NULL);
    assert_int_equal(ksiss_kube_patch(f->k, &KSISS_KUBE_KNATIVE_SERVICES, "ml", "llama", NULL, KSISS_KUBE_JSON_PATCH,
                                      patch, "78", NULL, NULL),
                     KSISS_KUBE_OK);
    assert_string_equal(f->fs->reqs[0].content_type, "application/json-patch+json");
    json_t *sent = json_loads(f->fs->reqs[0].body, 0, NULL);
    assert_int_equal(json_array_size(sent), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 0), "op")), "test");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 0), "value")), "78");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 1), "op")), "replace");
    json_decref(sent);
    /* A merge patch must be an object, a JSON patch an array. */
    assert_int_equal(ksiss_kube_patch(f->k, &KSISS_KUBE_KNATIVE_SERVICES, "ml", "llama", NULL, KSISS_KUBE_MERGE_PATCH,
                                      patch, NULL, NULL, NULL),
                     KSISS_KUBE_E_ARG);
    json_decref(patch);
}

static void test_failed_json_patch_test_on_a_changed_object_is_a_conflict(void **state)
{
    fx *f = *state;
    const char *invalid = "{\"kind\":\"Status\",\"message\":\"the server rejected our request due to an error in "
                          "our request\",\"reason\":\"Invalid\",\"code\":422}";
    fake_add(f->fs, "PATCH", "/api/v1/namespaces/default/pods/web-0", 422, invalid, NULL);
    fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);  /* now at rv 42 */
    fake_add(f->fs, "PATCH", "/api/v1/namespaces/default/pods/web-0", 422, invalid, NULL);
    fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    json_t *jp = json_loads("[{\"op\":\"remove\",\"path\":\"/metadata/labels/x\"}]", 0, NULL);
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_patch(f->k, &KSISS_KUBE_PODS, "default", "web-0", NULL, KSISS_KUBE_JSON_PATCH, jp, "41",
                                      NULL, &err),
                     KSISS_KUBE_E_CONFLICT);
    assert_string_equal(err.reason, "Conflict");
    ksiss_kube_error_clear(&err);
    /* Same resourceVersion: the patch itself was wrong, not stale. */
    assert_int_equal(ksiss_kube_patch(f->k, &KSISS_KUBE_PODS, "default", "web-0", NULL, KSISS_KUBE_JSON_PATCH, jp, "42",
                                      NULL, &err),
                     KSISS_KUBE_E_INVALID);
    ksiss_kube_error_clear(&err);
    json_decref(jp);
}

static void test_delete_sends_preconditions_and_propagation_policy(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "DELETE", "/apis/serving.knative.dev/v1/namespaces/ml/revisions/llama-00001", 200,
             "{\"kind\":\"Status\",\"status\":\"Success\"}", NULL);
    fake_add(f->fs, "DELETE", "/apis/serving.knative.dev/v1/namespaces/ml/revisions/gone", 404,
             "{\"kind\":\"Status\",\"message\":\"revisions.serving.knative.dev \\\"gone\\\" not found\","
             "\"reason\":\"NotFound\",\"code\":404}",
             NULL);
    ksiss_kube_delete_opts o = {"Background", "uid-1", "99"};
    assert_int_equal(ksiss_kube_delete(f->k, &KSISS_KUBE_KNATIVE_REVISIONS, "ml", "llama-00001", &o, NULL),
                     KSISS_KUBE_OK);
    json_t *sent = json_loads(f->fs->reqs[0].body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "propagationPolicy")), "Background");
    json_t *pre = json_object_get(sent, "preconditions");
    assert_string_equal(json_string_value(json_object_get(pre, "uid")), "uid-1");
    assert_string_equal(json_string_value(json_object_get(pre, "resourceVersion")), "99");
    json_decref(sent);
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_delete(f->k, &KSISS_KUBE_KNATIVE_REVISIONS, "ml", "gone", NULL, &err),
                     KSISS_KUBE_E_NOT_FOUND);
    ksiss_kube_error_clear(&err);
}

static void test_unreachable_server_is_a_transport_error_after_retries(void **state)
{
    fx *f = *state;
    /* A port nobody listens on: bind one, note it, close it. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(s, (struct sockaddr *)&sa, &sl);
    close(s);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", ntohs(sa.sin_port));
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = 2, .backoff_base_ms = 1, .backoff_max_ms = 2, .hook = hook, .hook_ud = f};
    char *e = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &e);
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "n", NULL, &err), KSISS_KUBE_E_TRANSPORT);
    assert_int_equal(err.http_code, 0);
    assert_non_null(strstr(err.message, server));
    assert_string_equal(f->hook_log, "GET:0 GET:0 GET:0");
    ksiss_kube_error_clear(&err);
    ksiss_kube_free(k);
    free(server);
}

static void test_rotated_token_file_is_picked_up(void **state)
{
    fx *f = *state;
    char path[] = "/tmp/ksiss-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "first\n", 6), 6);
    close(fd);
    ksiss_kube *k = client_for(f, "first", path);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    /* Rewrite with a different mtime (set explicitly: same-second writes). */
    FILE *fp = fopen(path, "w");
    fputs("second\n", fp);
    fclose(fp);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {12345, 0}};
    utimensat(AT_FDCWD, path, ts, 0);
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    assert_string_equal(f->fs->reqs[0].auth, "Bearer first");
    assert_string_equal(f->fs->reqs[1].auth, "Bearer second");
    ksiss_kube_free(k);
    unlink(path);
}

/* A kubeconfig with only tokenFile: the very first request carries it (an
 * anonymous request is answered 403 by API servers with anonymous auth,
 * which forces no re-read). */
static void test_token_file_alone_is_sent_on_the_first_request(void **state)
{
    fx *f = *state;
    char path[] = "/tmp/ksiss-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "from-file\n", 10), 10);
    close(fd);
    ksiss_kube *k = client_for(f, NULL, path);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    assert_string_equal(f->fs->reqs[0].auth, "Bearer from-file");
    ksiss_kube_free(k);
    unlink(path);
}

static void test_401_rereads_the_token_once_then_reports(void **state)
{
    fx *f = *state;
    char path[] = "/tmp/ksiss-token-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "t1", 2), 2);
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    ksiss_kube *k = client_for(f, "t1", path);
    /* Rotated behind our back with the same mtime: only the 401 reveals it. */
    FILE *fp = fopen(path, "w");
    fputs("t2", fp);
    fclose(fp);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, path, ts, 0);
    const char *unauthorized = "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}";
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 401, unauthorized, NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    assert_string_equal(f->fs->reqs[0].auth, "Bearer t1");
    assert_string_equal(f->fs->reqs[1].auth, "Bearer t2");
    /* Still refused after the re-read: reported, not retried forever. */
    for (int i = 0; i < 3; i++)
        fake_add(f->fs, "GET", "/api/v1/nodes/m", 401, unauthorized, NULL);
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_NODES, NULL, "m", NULL, &err), KSISS_KUBE_E_FORBIDDEN);
    assert_int_equal(fake_count(f->fs), 4);
    assert_string_equal(err.reason, "Unauthorized");
    ksiss_kube_error_clear(&err);
    ksiss_kube_free(k);
    unlink(path);
}

static void test_bad_arguments_are_refused_without_a_request(void **state)
{
    fx *f = *state;
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_PODS, NULL, "p", NULL, &err), KSISS_KUBE_E_ARG);
    ksiss_kube_error_clear(&err);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_PODS, "default", NULL, NULL, &err), KSISS_KUBE_E_ARG);
    ksiss_kube_error_clear(&err);
    json_t *b = json_object();
    assert_int_equal(ksiss_kube_create(f->k, &KSISS_KUBE_PODS, NULL, b, NULL, &err), KSISS_KUBE_E_ARG);
    ksiss_kube_error_clear(&err);
    json_decref(b);
    assert_int_equal(fake_count(f->fs), 0);
}

static void test_requests_are_counted_in_the_exporter_registry(void **state)
{
    fx *f = *state;
    ksiss_metrics *m = ksiss_metrics_new();
    ksiss_kube_set_hook(f->k, ksiss_kube_metrics_hook, m);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 503, "{}", NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/n", 200, "{}", NULL);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "n", NULL, NULL), KSISS_KUBE_OK);
    double v = 0;
    assert_int_equal(ksiss_metrics_get(m, KSISS_M_KUBE_REQUESTS_TOTAL, KSISS_LABELS("GET", "200"), &v), 0);
    assert_true(v == 2.0);
    assert_int_equal(ksiss_metrics_get(m, KSISS_M_KUBE_REQUESTS_TOTAL, KSISS_LABELS("GET", "503"), &v), 0);
    assert_true(v == 1.0);
    ksiss_kube_set_hook(f->k, NULL, NULL);
    ksiss_metrics_free(m);
}

/* ---- informer -------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    char *log;
} evlog;

static void on_change(void *ud, ksiss_kube_event_type t, const json_t *obj)
{
    evlog *l = ud;
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    pthread_mutex_lock(&l->mu);
    char *n = ksiss_xasprintf("%s%s%s %s", l->log ? l->log : "", l->log ? ", " : "", names[t], name ? name : "?");
    free(l->log);
    l->log = n;
    pthread_mutex_unlock(&l->mu);
}

/* Waits (bounded, 10 s) until the fake server saw n requests. */
static bool wait_requests(fake_server *fs, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (fake_count(fs) >= n)
            return true;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_informer_lists_watches_follows_bookmarks_and_relists_on_410(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200,
             "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["
             "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"8\"}},"
             "{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"9\"}}]}",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?resourceVersion=10&watch=1&allowWatchBookmarks=true", 200,
             "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"11\"}}}\n"
             "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"12\"}}}\n"
             "\n"
             "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"13\"}}}\n"
             "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"resourceVersion\":\"20\"}}}\n",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?resourceVersion=20&watch=1", 200,
             "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"too old resource version: 20 (30)\","
             "\"reason\":\"Expired\",\"code\":410}}\n",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200,
             "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"30\"},\"items\":["
             "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"12\"}},"
             "{\"metadata\":{\"name\":\"d\",\"resourceVersion\":\"29\"}}]}",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?resourceVersion=30&watch=1", 200, "", NULL);
    evlog l = {PTHREAD_MUTEX_INITIALIZER, NULL};
    ksiss_kube_informer_opts o = {.res = &KSISS_KUBE_NODES, .on_change = on_change, .ud = &l, .watch_timeout_s = 60};
    char *err = NULL;
    ksiss_kube_informer *inf = ksiss_kube_informer_start(f->k, &o, &err);
    assert_non_null(inf);
    assert_true(wait_requests(f->fs, 5));
    /* Give the informer the moment it needs to apply the last list. */
    json_t *d = NULL;
    for (int i = 0; i < 500 && !(d = ksiss_kube_informer_get(inf, NULL, "d")); i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_non_null(d);
    json_decref(d);
    assert_true(ksiss_kube_informer_synced(inf));
    json_t *snap = ksiss_kube_informer_snapshot(inf);
    assert_int_equal(json_array_size(snap), 2);
    json_decref(snap);
    json_t *c = ksiss_kube_informer_get(inf, NULL, "c");
    assert_null(c);
    ksiss_kube_informer_stop(inf);
    pthread_mutex_lock(&l.mu);
    assert_string_equal(l.log, "ADDED a, ADDED b, ADDED c, MODIFIED a, DELETED b, DELETED c, ADDED d");
    pthread_mutex_unlock(&l.mu);
    free(l.log);
    /* The second watch resumed from the bookmark's resourceVersion. */
    assert_non_null(strstr(f->fs->reqs[2].url, "resourceVersion=20"));
    assert_non_null(strstr(f->fs->reqs[1].url, "timeoutSeconds=60"));
}

/* An update of the resourceVersion alone (a heartbeat) is not a change of
 * the cache: the generation moves for the list and the label change
 * only; on_change hears of both updates, and the cache holds the latest
 * resourceVersion. */
static void test_informer_generation_ignores_updates_of_the_resource_version_alone(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200,
             "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["
             "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"8\",\"labels\":{\"x\":\"1\"}}}]}",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?resourceVersion=10&watch=1&allowWatchBookmarks=true", 200,
             "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"11\","
             "\"labels\":{\"x\":\"1\"}}}}\n"
             "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"12\","
             "\"labels\":{\"x\":\"2\"}}}}\n"
             "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"13\","
             "\"labels\":{\"x\":\"2\"}}}}\n",
             NULL);
    evlog l = {PTHREAD_MUTEX_INITIALIZER, NULL};
    ksiss_kube_informer_opts o = {.res = &KSISS_KUBE_NODES, .on_change = on_change, .ud = &l, .watch_timeout_s = 60};
    char *err = NULL;
    ksiss_kube_informer *inf = ksiss_kube_informer_start(f->k, &o, &err);
    assert_non_null(inf);
    const char *rv = NULL;
    json_t *a = NULL;
    for (int i = 0; i < 500; i++) {
        json_decref(a);
        a = ksiss_kube_informer_get(inf, NULL, "a");
        rv = json_string_value(json_object_get(json_object_get(a, "metadata"), "resourceVersion"));
        if (rv && !strcmp(rv, "13"))
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_non_null(rv);
    assert_string_equal(rv, "13");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(a, "metadata"), "labels"),
                                                          "x")),
                        "2");
    json_decref(a);
    assert_int_equal(ksiss_kube_informer_generation(inf), 2);  /* the list, then x=2 */
    ksiss_kube_informer_stop(inf);
    pthread_mutex_lock(&l.mu);
    assert_string_equal(l.log, "ADDED a, MODIFIED a, MODIFIED a, MODIFIED a");
    pthread_mutex_unlock(&l.mu);
    free(l.log);
}

static void test_informer_refuses_an_oversized_event_and_relists(void **state)
{
    fx *f = *state;
    ksiss_kube_free(f->k);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options ko = {.max_event_bytes = 256, .backoff_base_ms = 1, .backoff_max_ms = 2};
    char *e = NULL;
    f->k = ksiss_kube_new(&cfg, &ko, &e);
    free(server);
    ksiss_strbuf big;
    ksiss_sb_init(&big, 0);
    ksiss_sb_puts(&big, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"huge\"},\"pad\":\"");
    for (int i = 0; i < 1000; i++)
        ksiss_sb_putc(&big, 'x');
    ksiss_sb_puts(&big, "\"}}\n");
    fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200, "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}",
             NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?resourceVersion=1&watch=1", 200, ksiss_sb_str(&big), NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200, "{\"metadata\":{\"resourceVersion\":\"2\"},\"items\":[]}",
             NULL);
    ksiss_kube_informer_opts o = {.res = &KSISS_KUBE_NODES};
    ksiss_kube_informer *inf = ksiss_kube_informer_start(f->k, &o, &e);
    assert_true(wait_requests(f->fs, 3));
    ksiss_kube_informer_stop(inf);
    assert_non_null(strstr(f->fs->reqs[2].url, "limit=100"));   /* relisted */
    ksiss_sb_free(&big);
}

/* Found by the fault e2e suite: an apiserver that answers every watch with
 * 410 Gone got a full LIST in a hot loop (relist, watch, 410, relist, ...
 * with no delay). A 410 before any event now backs off like any other
 * refused watch: in 1.5 s the delays (at least 250 ms, 500 ms, 1 s) leave
 * room for 3 relists at most, where the hot loop made dozens. */
static void test_informer_backs_off_when_every_watch_is_gone(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 40; i++) {
        fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200,
                 "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}", NULL);
        fake_add(f->fs, "GET", "/api/v1/nodes?resourceVersion=5&watch=1", 410,
                 "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410,\"message\":\"too old resource version\"}",
                 NULL);
    }
    ksiss_kube_informer_opts o = {.res = &KSISS_KUBE_NODES};
    char *e = NULL;
    ksiss_kube_informer *inf = ksiss_kube_informer_start(f->k, &o, &e);
    assert_non_null(inf);
    assert_true(wait_requests(f->fs, 2));   /* the first list and watch */
    struct timespec ts = {1, 500 * 1000000L};
    nanosleep(&ts, NULL);
    size_t n = fake_count(f->fs);
    ksiss_kube_informer_stop(inf);
    size_t lists = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(f->fs->reqs[i].url, "limit=100"))
            lists++;
    if (lists > 4)
        fail_msg("%zu lists in 1.5 s of 410s: relisting without a delay", lists);
    assert_true(lists >= 2);    /* it did relist */
}

static void test_informer_stop_does_not_wait_for_a_quiet_watch(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/api/v1/nodes?limit=100", 200, "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}",
             NULL);
    /* The watch answers nothing for 3 s (a quiet cluster). */
    fake_add_delayed(f->fs, "GET", "/api/v1/nodes?resourceVersion=1&watch=1", 200, "", 3000);
    ksiss_kube_informer_opts o = {.res = &KSISS_KUBE_NODES};
    char *e = NULL;
    ksiss_kube_informer *inf = ksiss_kube_informer_start(f->k, &o, &e);
    assert_true(wait_requests(f->fs, 2));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ksiss_kube_informer_stop(inf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited < 2.5);      /* well before the watch's answer */
}

/* ---- connection reuse ---- */

/* Sequential requests of every verb go over one connection: the client
 * keeps its handles, and their connections, between requests (it opened
 * one connection per request, TLS handshake included, before). */
static void test_sequential_requests_reuse_one_connection(void **state)
{
    fx *f = *state;
    enum { N = 20 };
    for (int i = 0; i < N; i++)
        fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    fake_add(f->fs, "PATCH", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    fake_add(f->fs, "POST", "/api/v1/namespaces/default/events", 201, "{}", NULL);
    fake_add(f->fs, "DELETE", "/api/v1/namespaces/default/pods/web-0", 200, "{}", NULL);
    for (int i = 0; i < N; i++) {
        json_t *obj = NULL;
        assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_PODS, "default", "web-0", &obj, NULL), KSISS_KUBE_OK);
        json_decref(obj);
    }
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "a", "b");
    assert_int_equal(ksiss_kube_patch(f->k, &KSISS_KUBE_PODS, "default", "web-0", NULL, KSISS_KUBE_MERGE_PATCH, patch,
                                      NULL, NULL, NULL),
                     KSISS_KUBE_OK);
    json_decref(patch);
    json_t *ev = json_pack("{s:s}", "kind", "Event");
    assert_int_equal(ksiss_kube_create(f->k, &KSISS_KUBE_EVENTS, "default", ev, NULL, NULL), KSISS_KUBE_OK);
    json_decref(ev);
    assert_int_equal(ksiss_kube_delete(f->k, &KSISS_KUBE_PODS, "default", "web-0", NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(fake_count(f->fs), N + 3);
    /* every request still carries its token */
    for (size_t i = 0; i < N + 3; i++)
        assert_string_equal(f->fs->reqs[i].auth, "Bearer secret-token");
    if (fake_conns(f->fs) != 1)
        fail_msg("%d requests opened %zu connections, expected 1", N + 3, fake_conns(f->fs));
}

typedef struct {
    ksiss_kube *k;
    int n, ok;
} getter;

static void *get_many(void *ud)
{
    getter *g = ud;
    for (int i = 0; i < g->n; i++) {
        json_t *obj = NULL;
        if (ksiss_kube_get(g->k, &KSISS_KUBE_PODS, "default", "web-0", &obj, NULL) == KSISS_KUBE_OK)
            g->ok++;
        json_decref(obj);
    }
    return NULL;
}

/* Threads making requests at once use at most one connection each, kept
 * for their next requests. */
static void test_concurrent_requests_use_a_connection_per_request_in_flight(void **state)
{
    fx *f = *state;
    enum { T = 4, N = 12 };
    for (int i = 0; i < T * N; i++)
        fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods/web-0", 200, pod_json, NULL);
    pthread_t th[T];
    getter g[T];
    for (int t = 0; t < T; t++) {
        g[t] = (getter){f->k, N, 0};
        assert_int_equal(pthread_create(&th[t], NULL, get_many, &g[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(g[t].ok, N);
    }
    assert_int_equal(fake_count(f->fs), T * N);
    size_t conns = fake_conns(f->fs);
    if (conns < 1 || conns > T)
        fail_msg("%d requests from %d threads opened %zu connections, expected 1..%d", T * N, T, conns, T);
}

/* A connection a transfer gave up on (timed out) is not handed to the next
 * request: that one opens a new connection and succeeds. */
static void test_a_timed_out_connection_is_not_reused(void **state)
{
    fx *f = *state;
    ksiss_kube_free(f->k);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.timeout_ms = 200, .max_retries = -1};
    char *err = NULL;
    f->k = ksiss_kube_new(&cfg, &o, &err);
    free(server);
    assert_non_null(f->k);
    fake_add(f->fs, "GET", "/api/v1/nodes/a", 200, "{}", NULL);
    fake_add_delayed(f->fs, "GET", "/api/v1/nodes/slow", 200, "{}", 600);
    fake_add(f->fs, "GET", "/api/v1/nodes/b", 200, "{}", NULL);
    fake_add(f->fs, "GET", "/api/v1/nodes/c", 200, "{}", NULL);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "a", NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "slow", NULL, NULL), KSISS_KUBE_E_TRANSPORT);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "b", NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(ksiss_kube_get(f->k, &KSISS_KUBE_NODES, NULL, "c", NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(fake_conns(f->fs), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_returns_the_object_and_sends_the_bearer_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503_and_429_are_retried_until_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_are_bounded_and_the_last_status_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_options_mean_the_default_retry_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_are_retried_for_reads_but_not_for_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_is_returned_at_once_never_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_is_not_retried_after_a_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_follows_continue_tokens_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_continue_token_restarts_the_list_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_larger_than_the_cap_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_body_that_is_not_json_is_a_decode_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_patch_carries_the_resource_version_precondition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_patch_prepends_a_resource_version_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_json_patch_test_on_a_changed_object_is_a_conflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_sends_preconditions_and_propagation_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_server_is_a_transport_error_after_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotated_token_file_is_picked_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_alone_is_sent_on_the_first_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_401_rereads_the_token_once_then_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments_are_refused_without_a_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_are_counted_in_the_exporter_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_informer_lists_watches_follows_bookmarks_and_relists_on_410, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_informer_generation_ignores_updates_of_the_resource_version_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_informer_refuses_an_oversized_event_and_relists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_informer_backs_off_when_every_watch_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_informer_stop_does_not_wait_for_a_quiet_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequential_requests_reuse_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_requests_use_a_connection_per_request_in_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_timed_out_connection_is_not_reused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
