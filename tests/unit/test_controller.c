/* test_controller.c: the pure helpers of the control loop
 * (src/shell/controller_eval.c): traffic-step settings, the current
 * deployment read from Knative objects written like the API returns them
 * (tests/data/knative/), and the backoff annotation fed to the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "shell/controller.h"
#include "core/util.h"
#include "support/test_support.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *text;
    int ok;
    size_t n;
    int last;
} steps_case;

static void test_traffic_steps_accept_ascending_percentages_ending_at_100(void **state)
{
    (void)state;
    static const steps_case cases[] = {
        {"10,50,100", 1, 3, 100}, {"100", 1, 1, 100}, {"1,2,3,100", 1, 4, 100},
        {"50,10,100", 0, 0, 0},   {"10,50", 0, 0, 0}, {"0,100", 0, 0, 0},
        {"10,,100", 0, 0, 0},     {"", 0, 0, 0},      {"10,50,100,100", 0, 0, 0},
        {"ten,100", 0, 0, 0},     {"10,150", 0, 0, 0}, {"-5,100", 0, 0, 0},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        int *v = NULL;
        size_t n = 0;
        char *err = NULL;
        int rc = ksiss_parse_traffic_steps(cases[i].text, &v, &n, &err);
        if ((rc == 0) != cases[i].ok)
            fail_msg("\"%s\": rc %d (%s)", cases[i].text, rc, err ? err : "");
        if (rc == 0) {
            assert_int_equal(n, cases[i].n);
            assert_int_equal(v[n - 1], cases[i].last);
        } else {
            assert_non_null(strstr(err, "traffic steps"));
        }
        free(v);
        free(err);
    }
}

static void test_deployment_reads_tier_and_instances_of_the_serving_revision(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    json_t *st = json_object_get(json_array_get(revs, 0), "status");
    json_object_set_new(st, "actualReplicas", json_integer(2));
    json_object_set_new(st, "desiredReplicas", json_integer(3));
    ksiss_deployment d;
    char *why = NULL;
    ksiss_controller_deployment(&cat, NULL, svc, revs, &d, &why);
    assert_null(why);
    assert_non_null(d.tier);
    assert_string_equal(d.tier->name, "mig-1g.10gb");
    assert_int_equal(d.replicas_ready, 2);
    assert_int_equal(d.replicas_starting, 1);
    assert_false(d.transition_in_flight);
    json_decref(svc);
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

static void test_deployment_during_a_transition_is_the_old_tier_and_in_flight(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *svc = test_load_json("tests/data/knative", "service-wait-ready.json");   /* template already on mig-2g.20gb */
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    ksiss_deployment d;
    char *why = NULL;
    ksiss_controller_deployment(&cat, NULL, svc, revs, &d, &why);
    assert_non_null(d.tier);
    assert_string_equal(d.tier->name, "mig-1g.10gb");
    assert_true(d.transition_in_flight);
    json_decref(svc);
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

static void test_unknown_gpu_resource_leaves_the_tier_unknown_with_a_reason(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    json_t *c = json_array_get(json_object_get(json_object_get(json_array_get(revs, 0), "spec"), "containers"), 1);
    json_t *res = json_object_get(c, "resources");
    json_object_set_new(res, "limits", json_pack("{s:s}", "nvidia.com/mig-5g.99gb", "1"));
    json_object_set_new(res, "requests", json_pack("{s:s}", "nvidia.com/mig-5g.99gb", "1"));
    ksiss_deployment d;
    char *why = NULL;
    ksiss_controller_deployment(&cat, NULL, svc, revs, &d, &why);
    assert_null(d.tier);
    assert_non_null(why);
    free(why);
    json_decref(svc);
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

typedef struct {
    const char *annotation;     /* NULL: none */
    const char *tier;           /* expected, NULL: none */
} backoff_case;

static void test_backoff_picks_the_latest_unexpired_tier(void **state)
{
    (void)state;
    static const backoff_case cases[] = {
        {NULL, NULL},
        {"{\"mig-2g.20gb\": 2000}", "mig-2g.20gb"},
        {"{\"mig-2g.20gb\": 500}", NULL},
        {"{\"mig-2g.20gb\": 2000, \"gpu\": 3000, \"mig-3g.40gb\": 900}", "gpu"},
        {"not json", NULL},
        {"{\"gpu\": \"soon\"}", NULL},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        json_t *svc = test_load_json("tests/data/knative", "service.json");
        if (cases[i].annotation)
            json_object_set_new(json_object_get(json_object_get(svc, "metadata"), "annotations"), KSISS_ANN_BACKOFF,
                                json_string(cases[i].annotation));
        char *tier;
        int64_t until;
        ksiss_controller_backoff(svc, 1000, &tier, &until);
        if (cases[i].tier) {
            if (!tier || strcmp(tier, cases[i].tier) != 0)
                fail_msg("%s: got %s", cases[i].annotation, tier ? tier : "none");
            assert_true(until > 1000);
        } else if (tier) {
            fail_msg("%s: got %s, want none", cases[i].annotation, tier);
        }
        free(tier);
        json_decref(svc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traffic_steps_accept_ascending_percentages_ending_at_100),
        cmocka_unit_test(test_deployment_reads_tier_and_instances_of_the_serving_revision),
        cmocka_unit_test(test_deployment_during_a_transition_is_the_old_tier_and_in_flight),
        cmocka_unit_test(test_unknown_gpu_resource_leaves_the_tier_unknown_with_a_reason),
        cmocka_unit_test(test_backoff_picks_the_latest_unexpired_tier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
