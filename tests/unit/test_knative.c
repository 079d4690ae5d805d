/* test_knative.c: the Knative shell (src/shell/knative.c) against a scripted
 * stand-in API server on 127.0.0.1 (tests/unit/test_kube_fake.h): plans
 * computed by the pure transition step are sent as the right requests
 * (merge patch with the resourceVersion precondition, scale bounds on the
 * Revision's PodAutoscaler only, DELETE), a 409 stops the plan as a
 * conflict to re-read, failures stop it with a message naming the object,
 * and reading a service lists revisions and pods by the service label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/knative.h"
#include "test_kube_fake.h"
#include "support/test_support.h"

typedef struct {
    fake_server *fs;
    ksiss_kube *k;
    int events;
    char *last_event;
} fx;

static int setup(void **state)
{
    fx *f = ksiss_xcalloc(1, sizeof(*f));
    f->fs = fake_start();
    if (!f->fs)
        return -1;
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = 1, .backoff_base_ms = 1, .backoff_max_ms = 2, .timeout_ms = 5000};
    char *err = NULL;
    f->k = ksiss_kube_new(&cfg, &o, &err);
    free(server);
    if (!f->k) {
        free(err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ksiss_kube_free(f->k);
    fake_stop(f->fs);
    free(f->last_event);
    free(f);
    return 0;
}

static int record_event(void *ud, const json_t *service, const char *type, const char *reason, const char *message)
{
    (void)service;
    fx *f = ud;
    f->events++;
    free(f->last_event);
    f->last_event = ksiss_xasprintf("%s %s: %s", type, reason, message);
    return 0;
}

/* The plan of the first tick from the fixtures: move llama3-8b to target. */
static void plan_for(const char *tier, int replicas, ksiss_tr_plan *p, json_t **svc_out)
{
    static ksiss_catalog cat;
    static bool have_cat;
    if (!have_cat) {
        ksiss_catalog_builtin(&cat);
        have_cat = true;
    }
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    ksiss_tr_input in = {
        .service = svc, .revisions = revs, .cat = &cat, .target_tier = ksiss_catalog_tier(&cat, NULL, tier),
        .target_replicas = replicas, .reason = "slow", .free_target_units = 2, .ready_timeout_ms = 60000,
        .backoff_ms = 60000, .now_ms = 1700000000000LL,
    };
    char *err = NULL;
    if (ksiss_transition_step(&in, p, &err) != 0)
        fail_msg("%s", err);
    json_decref(revs);
    *svc_out = svc;
}

static void test_tier_change_is_one_merge_patch_with_the_resource_version(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    json_t *svc;
    plan_for("mig-2g.20gb", 1, &p, &svc);
    fake_add(f->fs, "PATCH", "/apis/serving.knative.dev/v1/namespaces/default/services/llama3-8b", 200, "{}", NULL);
    char *err = NULL;
    assert_int_equal(ksiss_knative_apply(f->k, record_event, f, "default", svc, &p, &err), KSISS_APPLY_DONE);
    assert_int_equal(fake_count(f->fs), 1);
    assert_string_equal(f->fs->reqs[0].content_type, "application/merge-patch+json");
    json_t *body = json_loads(f->fs->reqs[0].body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion")),
                        "1000");
    assert_non_null(json_object_get(json_object_get(json_object_get(body, "metadata"), "annotations"),
                                    KSISS_ANN_TRANSITION));
    json_decref(body);
    assert_int_equal(f->events, 1);
    assert_non_null(strstr(f->last_event, "Normal TierChangeStarted"));
    ksiss_tr_plan_free(&p);
    json_decref(svc);
}

static void test_conflict_stops_the_plan_for_a_reread(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    json_t *svc;
    plan_for("mig-2g.20gb", 1, &p, &svc);
    fake_add(f->fs, "PATCH", "/apis/serving.knative.dev/v1/namespaces/default/services/llama3-8b", 409,
             "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\",\"code\":409}",
             NULL);
    char *err = NULL;
    assert_int_equal(ksiss_knative_apply(f->k, record_event, f, "default", svc, &p, &err), KSISS_APPLY_CONFLICT);
    assert_non_null(strstr(err, "409"));
    assert_int_equal(f->events, 0);   /* no Event for a step that did not happen */
    free(err);
    ksiss_tr_plan_free(&p);
    json_decref(svc);
}

/* Only the PodAutoscaler: a change of the Revision's annotations would
 * change its pod template and re-create every pod (Knative 1.15). */
static void test_rescale_patches_only_the_podautoscaler(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    json_t *svc;
    plan_for("mig-1g.10gb", 3, &p, &svc);
    fake_add(f->fs, "PATCH",
             "/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/default/podautoscalers/llama3-8b-00001", 200,
             "{}", NULL);
    char *err = NULL;
    assert_int_equal(ksiss_knative_apply(f->k, record_event, f, "default", svc, &p, &err), KSISS_APPLY_DONE);
    assert_int_equal(fake_count(f->fs), 1);
    assert_non_null(strstr(f->fs->reqs[0].url, "/podautoscalers/llama3-8b-00001"));
    json_t *body = json_loads(f->fs->reqs[0].body, 0, NULL);
    json_t *ann = json_object_get(json_object_get(body, "metadata"), "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, KSISS_ANN_MIN_SCALE)), "3");
    assert_string_equal(json_string_value(json_object_get(ann, KSISS_ANN_MAX_SCALE)), "3");
    json_decref(body);
    assert_non_null(strstr(f->last_event, "SuccessfulRescale"));
    ksiss_tr_plan_free(&p);
    json_decref(svc);
}

static void test_forbidden_rescale_fails_naming_the_object(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    json_t *svc;
    plan_for("mig-1g.10gb", 2, &p, &svc);
    fake_add(f->fs, "PATCH",
             "/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/default/podautoscalers/llama3-8b-00001", 403,
             "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"podautoscalers is forbidden\",\"code\":403}",
             NULL);
    char *err = NULL;
    assert_int_equal(ksiss_knative_apply(f->k, record_event, f, "default", svc, &p, &err), KSISS_APPLY_FAILED);
    assert_non_null(strstr(err, "PodAutoscaler default/llama3-8b-00001"));
    assert_int_equal(f->events, 0);
    free(err);
    ksiss_tr_plan_free(&p);
    json_decref(svc);
}

static void test_delete_of_a_revision_already_gone_counts_as_done(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p = {0};
    p.v = ksiss_xcalloc(1, sizeof(*p.v));
    p.n = 1;
    p.v[0].kind = KSISS_TRA_DELETE_REVISION;
    p.v[0].revision = ksiss_xstrdup("llama3-8b-00001");
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    fake_add(f->fs, "DELETE", "/apis/serving.knative.dev/v1/namespaces/default/revisions/llama3-8b-00001", 404,
             "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}", NULL);
    char *err = NULL;
    assert_int_equal(ksiss_knative_apply(f->k, NULL, NULL, "default", svc, &p, &err), KSISS_APPLY_DONE);
    assert_string_equal(f->fs->reqs[0].method, "DELETE");
    ksiss_tr_plan_free(&p);
    json_decref(svc);
}

static void test_read_lists_revisions_and_pods_by_service_label_and_drops_finished_pods(void **state)
{
    fx *f = *state;
    char *svc_text = NULL;
    {
        json_t *svc = test_load_json("tests/data/knative", "service.json");
        svc_text = json_dumps(svc, JSON_COMPACT);
        json_decref(svc);
    }
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services/llama3-8b", 200, svc_text, NULL);
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/revisions", 200,
             "{\"kind\":\"RevisionList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":"
             "[{\"metadata\":{\"name\":\"llama3-8b-00001\"}}]}", NULL);
    fake_add(f->fs, "GET", "/api/v1/namespaces/default/pods", 200,
             "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":["
             "{\"metadata\":{\"name\":\"a\"},\"status\":{\"phase\":\"Running\"}},"
             "{\"metadata\":{\"name\":\"b\"},\"status\":{\"phase\":\"Succeeded\"}},"
             "{\"metadata\":{\"name\":\"c\"},\"status\":{\"phase\":\"Pending\"}}]}", NULL);
    ksiss_knative_view v;
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_knative_read(f->k, "default", "llama3-8b", &v, &e), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(v.revisions), 1);
    assert_int_equal(json_array_size(v.pods), 2);
    size_t n;
    const char **running = ksiss_knative_running_pods(&v, &n);
    assert_int_equal(n, 1);
    assert_string_equal(running[0], "a");
    free((void *)running);
    assert_non_null(strstr(f->fs->reqs[1].url, "labelSelector=serving.knative.dev"));
    assert_non_null(strstr(f->fs->reqs[2].url, "labelSelector=serving.knative.dev"));
    ksiss_knative_view_free(&v);
    free(svc_text);
}

/* The controller hands in the Service and the pods from its watch caches:
 * only the Revisions are listed, and only this service's live pods kept. */
static void test_read_cached_lists_only_revisions_and_filters_cached_pods(void **state)
{
    fx *f = *state;
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/revisions", 200,
             "{\"kind\":\"RevisionList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":"
             "[{\"metadata\":{\"name\":\"llama3-8b-00001\"}}]}", NULL);
    json_error_t je;
    json_t *pods = json_loads(
        "[{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\",\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\"}},"
        "\"status\":{\"phase\":\"Running\"}},"
        "{\"metadata\":{\"name\":\"b\",\"namespace\":\"default\",\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\"}},"
        "\"status\":{\"phase\":\"Succeeded\"}},"
        "{\"metadata\":{\"name\":\"other\",\"namespace\":\"default\",\"labels\":{\"serving.knative.dev/service\":\"llama3-70b\"}},"
        "\"status\":{\"phase\":\"Running\"}},"
        "{\"metadata\":{\"name\":\"elsewhere\",\"namespace\":\"prod\",\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\"}},"
        "\"status\":{\"phase\":\"Running\"}},"
        "{\"metadata\":{\"name\":\"unlabelled\",\"namespace\":\"default\"},\"status\":{\"phase\":\"Running\"}}]",
        0, &je);
    assert_non_null(pods);
    ksiss_knative_view v;
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_knative_read_cached(f->k, "default", "llama3-8b", svc, pods, NULL, &v, &e), KSISS_KUBE_OK);
    assert_ptr_equal(v.service, svc);
    assert_int_equal(json_array_size(v.revisions), 1);
    size_t n;
    const char **running = ksiss_knative_running_pods(&v, &n);
    assert_int_equal(n, 1);
    assert_string_equal(running[0], "a");
    assert_int_equal(json_array_size(v.pods), 1);
    free((void *)running);
    /* one request: the Revisions; no GET of the Service, no LIST of pods */
    assert_int_equal(fake_count(f->fs), 1);
    assert_non_null(strstr(f->fs->reqs[0].url, "/revisions"));
    ksiss_knative_view_free(&v);
    json_decref(pods);
    json_decref(svc);
}

static void test_read_from_watch_caches_sends_no_request_and_picks_the_services_revisions(void **state)
{
    fx *f = *state;
    json_t *svc = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "llama3-8b", "namespace", "default",
                            "resourceVersion", "7");
    json_error_t je;
    json_t *revs = json_loads(
        "[{\"metadata\":{\"name\":\"llama3-8b-00001\",\"namespace\":\"default\","
        "\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\"}}},"
        "{\"metadata\":{\"name\":\"llama3-70b-00001\",\"namespace\":\"default\","
        "\"labels\":{\"serving.knative.dev/service\":\"llama3-70b\"}}},"
        "{\"metadata\":{\"name\":\"llama3-8b-00009\",\"namespace\":\"prod\","
        "\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\"}}},"
        "{\"metadata\":{\"name\":\"llama3-8b-00002\",\"namespace\":\"default\","
        "\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\"}}}]", 0, &je);
    assert_non_null(revs);
    json_t *pods = json_array();
    ksiss_knative_view v;
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_knative_read_cached(f->k, "default", "llama3-8b", svc, pods, revs, &v, &e), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(v.revisions), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(v.revisions, 0), "metadata"),
                                                          "name")), "llama3-8b-00001");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(v.revisions, 1), "metadata"),
                                                          "name")), "llama3-8b-00002");
    assert_int_equal(fake_count(f->fs), 0);
    ksiss_knative_view_free(&v);
    json_decref(pods);
    json_decref(revs);
    json_decref(svc);
}

static void test_read_of_a_missing_service_is_not_found(void **state)
{
    fx *f = *state;
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services/nope", 404,
             "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"services \\\"nope\\\" not found\",\"code\":404}",
             NULL);
    ksiss_knative_view v;
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_knative_read(f->k, "default", "nope", &v, &e), KSISS_KUBE_E_NOT_FOUND);
    assert_null(v.service);
    ksiss_kube_error_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tier_change_is_one_merge_patch_with_the_resource_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_stops_the_plan_for_a_reread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rescale_patches_only_the_podautoscaler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_rescale_fails_naming_the_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_of_a_revision_already_gone_counts_as_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_lists_revisions_and_pods_by_service_label_and_drops_finished_pods,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cached_lists_only_revisions_and_filters_cached_pods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_of_a_missing_service_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from_watch_caches_sends_no_request_and_picks_the_services_revisions,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
