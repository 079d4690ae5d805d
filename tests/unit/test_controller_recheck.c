/* test_controller_recheck.c: a Revision is never deleted on watch-cache data
 * alone (ksiss_controller_recheck, src/shell/controller_eval.c).
 * The cached Service says the route moved all traffic to the new Revision,
 * so the cached plan deletes the old one; the step is decided again on the
 * Service and Revisions the API (a scripted stand-in on loopback) returns
 * now: when the route still sends traffic to the old one, nothing is
 * deleted; when the API cannot be read, nothing is applied. */
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
#include "shell/controller.h"
#include "test_kube_fake.h"
#include "support/test_support.h"

#define OLD "llama3-8b-00001"
#define NEW "llama3-8b-ks1"

/* True when the plan deletes a Revision. */
static bool plan_deletes(const ksiss_tr_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].kind == KSISS_TRA_DELETE_REVISION)
            return true;
    return false;
}

static const int steps[] = {10, 50, 100};

typedef struct {
    fake_server *fs;
    ksiss_kube *k;
    ksiss_catalog cat;
    json_t *svc;        /* cached: cleanup phase, all traffic on NEW */
    json_t *revs;       /* OLD and NEW, both Ready */
    char *bodies[2];    /* scripted answers (the stand-in borrows them) */
} fx;

static void set_traffic(json_t *svc, int old_pct)
{
    json_t *st = json_pack("[{s:s,s:i},{s:s,s:i}]", "revisionName", OLD, "percent", old_pct, "revisionName", NEW,
                           "percent", 100 - old_pct);
    json_object_set(json_object_get(svc, "status"), "traffic", st);
    json_object_set_new(json_object_get(svc, "spec"), "traffic", st);
}

static int setup(void **state)
{
    fx *f = ksiss_xcalloc(1, sizeof(*f));
    f->fs = fake_start();
    if (!f->fs)
        return -1;
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", f->fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = -1, .timeout_ms = 5000};
    char *err = NULL;
    f->k = ksiss_kube_new(&cfg, &o, &err);
    free(server);
    if (!f->k)
        return -1;
    ksiss_catalog_builtin(&f->cat);
    f->svc = test_load_json("tests/data/knative", "service-shift.json");
    json_t *ann = json_object_get(json_object_get(f->svc, "metadata"), "annotations");
    json_t *st = json_loads(json_string_value(json_object_get(ann, KSISS_ANN_TRANSITION)), 0, NULL);
    json_object_set_new(st, "phase", json_string("cleanup"));
    json_object_set_new(st, "step", json_integer(2));
    char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(ann, KSISS_ANN_TRANSITION, json_string(text));
    free(text);
    json_decref(st);
    set_traffic(f->svc, 0);
    f->revs = test_load_json("tests/data/knative", "revisions.json");
    json_t *r = json_deep_copy(json_array_get(f->revs, 0));
    json_object_set_new(json_object_get(r, "metadata"), "name", json_string(NEW));
    json_t *conds = json_pack("[{s:s,s:s}]", "type", "Ready", "status", "True");
    json_object_set_new(json_object_get(r, "status"), "conditions", conds);
    json_array_append_new(f->revs, r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    json_decref(f->svc);
    json_decref(f->revs);
    free(f->bodies[0]);
    free(f->bodies[1]);
    ksiss_catalog_free(&f->cat);
    ksiss_kube_free(f->k);
    fake_stop(f->fs);
    free(f);
    return 0;
}

static ksiss_tr_input input_for(fx *f)
{
    return (ksiss_tr_input){
        .service = f->svc, .revisions = f->revs, .cat = &f->cat, .traffic_steps = steps, .n_traffic_steps = 3,
        .ready_timeout_ms = 300000, .backoff_ms = 600000, .now_ms = 1700000060000LL, .free_target_units = -1,
    };
}

/* The plan from the cached objects: delete OLD. */
static void cached_plan(fx *f, ksiss_tr_plan *p)
{
    ksiss_tr_input in = input_for(f);
    char *err = NULL;
    if (ksiss_transition_step(&in, p, &err) != 0)
        fail_msg("cached plan: %s", err);
    assert_true(plan_deletes(p));
}

/* Scripts the API's answers: the Service as `svc`, the Revisions. */
static void api_returns(fx *f, const json_t *svc)
{
    char *s = json_dumps(svc, JSON_COMPACT);
    json_t *list = json_pack("{s:s,s:{s:s},s:O}", "kind", "RevisionList", "metadata", "resourceVersion", "77", "items",
                             f->revs);
    char *l = json_dumps(list, JSON_COMPACT);
    f->bodies[0] = s;
    f->bodies[1] = l;
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services/llama3-8b", 200, s, NULL);
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/revisions", 200, l, NULL);
    json_decref(list);
}

static void test_delete_confirmed_by_the_api_goes_ahead_on_the_fresh_objects(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    cached_plan(f, &p);
    json_t *now = json_deep_copy(f->svc);
    json_object_set_new(json_object_get(now, "metadata"), "resourceVersion", json_string("2001"));
    api_returns(f, now);
    ksiss_tr_input in = input_for(f);
    ksiss_knative_view fresh = {0};
    char *err = NULL;
    assert_int_equal(ksiss_controller_recheck(f->k, "default", "llama3-8b", &in, &p, &fresh, &err), 0);
    assert_true(plan_deletes(&p));
    bool deletes_old = false;
    for (size_t i = 0; i < p.n; i++)
        deletes_old = deletes_old || (p.v[i].kind == KSISS_TRA_DELETE_REVISION && !strcmp(p.v[i].revision, OLD));
    assert_true(deletes_old);
    /* the plan is applied to the object just read */
    assert_string_equal(json_string_value(json_object_get(json_object_get(fresh.service, "metadata"),
                                                          "resourceVersion")), "2001");
    assert_int_equal(json_array_size(fresh.revisions), 2);
    assert_int_equal(fake_count(f->fs), 2);     /* GET Service + LIST Revisions, no pod LIST */
    ksiss_knative_view_free(&fresh);
    ksiss_tr_plan_free(&p);
    json_decref(now);
}

static void test_stale_cache_never_deletes_a_revision_that_still_serves_traffic(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    cached_plan(f, &p);
    json_t *now = json_deep_copy(f->svc);
    set_traffic(now, 50);   /* the route has not moved yet */
    api_returns(f, now);
    ksiss_tr_input in = input_for(f);
    ksiss_knative_view fresh = {0};
    char *err = NULL;
    assert_int_equal(ksiss_controller_recheck(f->k, "default", "llama3-8b", &in, &p, &fresh, &err), 0);
    assert_false(plan_deletes(&p));
    assert_non_null(strstr(p.summary, "waiting for the route"));
    ksiss_knative_view_free(&fresh);
    ksiss_tr_plan_free(&p);
    json_decref(now);
}

static void test_no_fresh_read_means_nothing_is_applied(void **state)
{
    fx *f = *state;
    ksiss_tr_plan p;
    cached_plan(f, &p);
    fake_add(f->fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services/llama3-8b", 503,
             "{\"kind\":\"Status\",\"message\":\"etcd is down\",\"code\":503}", NULL);
    ksiss_tr_input in = input_for(f);
    ksiss_knative_view fresh = {0};
    char *err = NULL;
    assert_int_equal(ksiss_controller_recheck(f->k, "default", "llama3-8b", &in, &p, &fresh, &err), -1);
    assert_non_null(strstr(err, "before acting"));
    assert_null(fresh.service);
    free(err);
    ksiss_tr_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_confirmed_by_the_api_goes_ahead_on_the_fresh_objects, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stale_cache_never_deletes_a_revision_that_still_serves_traffic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_fresh_read_means_nothing_is_applied, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
