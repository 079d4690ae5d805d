/* test_kube_events.c: Kubernetes Events (src/shell/events.c) against the
 * loopback stand-in API server: the Event a user sees with kubectl
 * describe (involvedObject, reason, type, source ksiss, count, timestamps),
 * aggregation of identical events into one with a growing count, a new
 * Event when the old one expired, refusal of bad arguments. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/events.h"
#include "shell/kube.h"
#include "test_kube_fake.h"

typedef struct {
    fake_server *fs;
    ksiss_kube *k;
    ksiss_events *ev;
} fx;

static int setup(void **state)
{
    fx *f = ksiss_xcalloc(1, sizeof *f);
    f->fs = fake_start();
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = -1};
    char *err = NULL;
    f->k = ksiss_kube_new(&cfg, &o, &err);
    free(server);
    f->ev = ksiss_events_new(f->k, NULL, "ksiss-7f9c");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ksiss_events_free(f->ev);
    ksiss_kube_free(f->k);
    fake_stop(f->fs);
    free(f);
    return 0;
}

static const ksiss_kube_object_ref llama = {"serving.knative.dev/v1", "Service", "ml", "llama", "6f1c-uid"};

static json_t *sent(fx *f, size_t i)
{
    json_t *j = json_loads(f->fs->reqs[i].body, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_first_event_is_created_with_what_kubectl_describe_shows(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.abcde\"}}", NULL);
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "SuccessfulRescale",
                                       "New tier: mig-3g.40gb; reason: ttft p95 above SLO", NULL),
                     KSISS_KUBE_OK);
    json_t *e = sent(f, 0);
    json_t *io = json_object_get(e, "involvedObject");
    assert_string_equal(json_string_value(json_object_get(io, "kind")), "Service");
    assert_string_equal(json_string_value(json_object_get(io, "apiVersion")), "serving.knative.dev/v1");
    assert_string_equal(json_string_value(json_object_get(io, "name")), "llama");
    assert_string_equal(json_string_value(json_object_get(io, "namespace")), "ml");
    assert_string_equal(json_string_value(json_object_get(io, "uid")), "6f1c-uid");
    assert_string_equal(json_string_value(json_object_get(e, "reason")), "SuccessfulRescale");
    assert_string_equal(json_string_value(json_object_get(e, "type")), "Normal");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "source"), "component")), "ksiss");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "source"), "host")), "ksiss-7f9c");
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
    const char *first = json_string_value(json_object_get(e, "firstTimestamp"));
    assert_non_null(first);
    assert_int_equal(strlen(first), 20);     /* 2026-01-02T15:04:05Z */
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "metadata"), "generateName")), "llama.");
    json_decref(e);
}

static void test_identical_events_are_aggregated_into_one_count(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.abcde\"}}", NULL);
    fake_add(f->fs, "PATCH", "/api/v1/namespaces/ml/events/llama.abcde", 200, "{}", NULL);
    fake_add(f->fs, "PATCH", "/api/v1/namespaces/ml/events/llama.abcde", 200, "{}", NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ksiss_events_emit(f->ev, &llama, "Warning", "RolledBack", "revision not ready in 5m", NULL),
                         KSISS_KUBE_OK);
    assert_int_equal(fake_count(f->fs), 3);
    json_t *p = sent(f, 2);
    assert_int_equal(json_integer_value(json_object_get(p, "count")), 3);
    assert_non_null(json_object_get(p, "lastTimestamp"));
    assert_string_equal(f->fs->reqs[2].content_type, "application/merge-patch+json");
    json_decref(p);
}

static void test_a_different_message_is_a_different_event(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.a\"}}", NULL);
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.b\"}}", NULL);
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "TierChange", "to mig-3g.40gb", NULL), 0);
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "TierChange", "to gpu", NULL), 0);
    assert_string_equal(f->fs->reqs[1].method, "POST");
}

static void test_expired_event_is_created_again(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.a\"}}", NULL);
    fake_add(f->fs, "PATCH", "/api/v1/namespaces/ml/events/llama.a", 404,
             "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}", NULL);
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.b\"}}", NULL);
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "SuccessfulRescale", "x", NULL), 0);
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "SuccessfulRescale", "x", NULL), 0);
    assert_int_equal(fake_count(f->fs), 3);
    json_t *e = sent(f, 2);
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
    json_decref(e);
}

static void test_bad_event_arguments_are_refused(void **state)
{
    fx *f = *state;
    ksiss_kube_error err = {0};
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Info", "X", "m", &err), KSISS_KUBE_E_ARG);
    ksiss_kube_error_clear(&err);
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "", "m", &err), KSISS_KUBE_E_ARG);
    ksiss_kube_error_clear(&err);
    ksiss_kube_object_ref no_ns = {"v1", "ConfigMap", NULL, "cfg", NULL};
    assert_int_equal(ksiss_events_emit(f->ev, &no_ns, "Normal", "X", "m", &err), KSISS_KUBE_E_ARG);
    ksiss_kube_error_clear(&err);
    assert_int_equal(fake_count(f->fs), 0);
}

static void test_long_messages_are_cut_at_a_character_boundary(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "POST", "/api/v1/namespaces/ml/events", 201, "{\"metadata\":{\"name\":\"llama.a\"}}", NULL);
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (int i = 0; i < 1000; i++)
        ksiss_sb_puts(&sb, "\xc3\xa9");     /* é, two bytes */
    assert_int_equal(ksiss_events_emit(f->ev, &llama, "Normal", "X", ksiss_sb_str(&sb), NULL), 0);
    json_t *e = sent(f, 0);      /* json_loads refuses invalid UTF-8: the cut is clean */
    const char *m = json_string_value(json_object_get(e, "message"));
    assert_true(strlen(m) <= 1024);
    assert_true(ksiss_str_has_suffix(m, "..."));
    json_decref(e);
    ksiss_sb_free(&sb);
}

static void test_time_format(void **state)
{
    (void)state;
    char *s = ksiss_kube_time_format(1767225605123LL, 0);
    assert_string_equal(s, "2026-01-01T00:00:05Z");
    free(s);
    s = ksiss_kube_time_format(1767225605123LL, 1);
    assert_string_equal(s, "2026-01-01T00:00:05.123000Z");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_event_is_created_with_what_kubectl_describe_shows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identical_events_are_aggregated_into_one_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_different_message_is_a_different_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_event_is_created_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_event_arguments_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_messages_are_cut_at_a_character_boundary, setup, teardown),
        cmocka_unit_test(test_time_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
