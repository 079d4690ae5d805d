/* test_kube_transform.c: the informers' arrival transforms (kube_informer.c)
 * drop what the controller never reads (managedFields, the kubectl
 * last-applied annotation, pod spec parts, node images) and keep what it
 * does: the GPU inventory and a service's Running pods come out the same
 * from trimmed objects as from whole ones. */
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

#include "core/inventory.h"
#include "shell/kube_object.h"
#include "core/transition.h"
#include "shell/controller.h"
#include "core/tiers.h"
#include "core/util.h"
#include "shell/knative.h"
#include "shell/kube.h"
#include "support/test_support.h"
#include "test_kube_fake.h"

/* A pod as the API returns it, with the bulk a real one carries. */
static const char *const full_pod =
    "{\"metadata\":{\"name\":\"llama-00001-deployment-7f9c-x2\",\"namespace\":\"ml\",\"uid\":\"u1\","
    "\"resourceVersion\":\"42\",\"labels\":{\"serving.knative.dev/service\":\"llama\",\"app\":\"x\","
    "\"serving.knative.dev/revision\":\"llama-00001\"},"
    "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"big\\\":1}\",\"keep\":\"me\"},"
    "\"managedFields\":[{\"manager\":\"kubelet\",\"fieldsV1\":{\"f:status\":{}}}]},"
    "\"spec\":{\"nodeName\":\"gpu-mig\",\"nodeSelector\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\"},"
    "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],\"tolerations\":[{\"key\":\"k\"}],"
    "\"containers\":[{\"name\":\"user-container\",\"image\":\"vllm:latest\",\"env\":[{\"name\":\"A\",\"value\":\"b\"}],"
    "\"resources\":{\"requests\":{\"nvidia.com/mig-3g.40gb\":\"1\"},\"limits\":{\"nvidia.com/mig-3g.40gb\":\"1\"}}}],"
    "\"initContainers\":[{\"name\":\"init\",\"image\":\"x\",\"restartPolicy\":\"Always\","
    "\"resources\":{\"requests\":{\"cpu\":\"1\"}}},"
    "{\"name\":\"gpu-init\",\"restartPolicy\":\"Always\","
    "\"resources\":{\"requests\":{\"cpu\":\"1\",\"nvidia.com/mig-3g.40gb\":\"1\"}}}]},"
    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}],\"containerStatuses\":[{\"name\":\"c\"}]}}";

static void test_pod_transform_keeps_what_readers_use_and_drops_the_rest(void **state)
{
    (void)state;
    json_t *pod = json_loads(full_pod, 0, NULL);
    assert_non_null(pod);
    ksiss_kube_transform_pod(pod);
    json_t *md = json_object_get(pod, "metadata");
    assert_null(json_object_get(md, "managedFields"));
    assert_null(json_object_get(md, "annotations"));
    assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")), "42");
    assert_string_equal(json_string_value(json_object_get(md, "namespace")), "ml");
    /* the service (pods by service) and the revision (its nodes tell a
     * legacy service's GPU model) */
    assert_int_equal(json_object_size(json_object_get(md, "labels")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "labels"), "serving.knative.dev/revision")),
                        "llama-00001");
    json_t *spec = json_object_get(pod, "spec");
    assert_null(json_object_get(spec, "volumes"));
    assert_null(json_object_get(spec, "tolerations"));
    assert_string_equal(json_string_value(json_object_get(spec, "nodeName")), "gpu-mig");
    assert_non_null(json_object_get(spec, "nodeSelector"));
    json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
    assert_null(json_object_get(c, "image"));
    assert_null(json_object_get(c, "env"));
    assert_non_null(json_object_get(json_object_get(c, "resources"), "requests"));
    /* Of the resources only GPUs stay; a container asking for none goes. */
    assert_null(json_object_get(json_object_get(json_object_get(c, "resources"), "requests"), "cpu"));
    assert_int_equal(json_array_size(json_object_get(spec, "initContainers")), 1);
    json_t *ic = json_array_get(json_object_get(spec, "initContainers"), 0);
    assert_string_equal(json_string_value(json_object_get(ic, "name")), "gpu-init");
    assert_string_equal(json_string_value(json_object_get(ic, "restartPolicy")), "Always");
    assert_null(json_object_get(json_object_get(json_object_get(ic, "resources"), "requests"), "cpu"));
    json_t *st = json_object_get(pod, "status");
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "Running");
    assert_null(json_object_get(st, "conditions"));
    /* the service's Running pods are read from the trimmed pod */
    json_t *pods = json_pack("[O]", pod);
    json_t *svc = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "llama", "namespace", "ml", "resourceVersion", "1");
    json_t *revs = json_array();
    ksiss_knative_view v;
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_knative_read_cached(NULL, "ml", "llama", svc, pods, revs, &v, &e), KSISS_KUBE_OK);
    size_t n = 0;
    const char **names = ksiss_knative_running_pods(&v, &n);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "llama-00001-deployment-7f9c-x2");
    free((void *)names);
    ksiss_knative_view_free(&v);
    json_decref(revs);
    json_decref(svc);
    json_decref(pods);
    json_decref(pod);
}

static void test_inventory_is_the_same_from_trimmed_nodes_and_pods(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *nodes = test_load_json(NULL, "tests/data/kube/nodes.json");
    json_t *pods = test_load_json(NULL, "tests/data/kube/pods.json");
    json_t *pod = json_loads(full_pod, 0, NULL);
    json_array_append_new(json_object_get(pods, "items"), pod);
    json_t *tn = json_deep_copy(json_object_get(nodes, "items"));
    json_t *tp = json_deep_copy(json_object_get(pods, "items"));
    size_t i;
    json_t *o;
    json_array_foreach(tn, i, o) {
        json_object_set_new(json_object_get(o, "status"), "images", json_pack("[{s:[s]}]", "names", "big"));
        ksiss_kube_transform_node(o);
        assert_null(json_object_get(json_object_get(o, "status"), "images"));
    }
    json_array_foreach(tp, i, o)
        ksiss_kube_transform_pod(o);
    ksiss_inventory a, b;
    assert_int_equal(ksiss_inventory_compute(&cat, json_object_get(nodes, "items"), json_object_get(pods, "items"), &a), 0);
    assert_int_equal(ksiss_inventory_compute(&cat, tn, tp, &b), 0);
    assert_int_equal(a.n_entries, b.n_entries);
    assert_true(a.n_entries > 0);
    bool some_requested = false;
    for (size_t k = 0; k < a.n_entries; k++) {
        assert_string_equal(a.entries[k].resource, b.entries[k].resource);
        assert_true(a.entries[k].allocatable == b.entries[k].allocatable);
        assert_true(a.entries[k].requested == b.entries[k].requested);
        assert_true(a.entries[k].pending == b.entries[k].pending);
        assert_true(a.entries[k].free == b.entries[k].free);
        some_requested = some_requested || a.entries[k].requested > 0;
    }
    assert_true(some_requested);
    assert_int_equal(a.n_nodes, b.n_nodes);
    for (size_t k = 0; k < a.n_nodes; k++) {
        assert_string_equal(a.nodes[k].name, b.nodes[k].name);
        assert_true(a.nodes[k].ready == b.nodes[k].ready);
        assert_true(a.nodes[k].schedulable == b.nodes[k].schedulable);
        assert_true(a.nodes[k].gpu_model == b.nodes[k].gpu_model);
        assert_int_equal(a.nodes[k].replicas, b.nodes[k].replicas);
        assert_int_equal(a.nodes[k].n_res, b.nodes[k].n_res);
    }
    assert_int_equal(a.n_warnings, b.n_warnings);
    ksiss_inventory_free(&a);
    ksiss_inventory_free(&b);
    json_decref(tn);
    json_decref(tp);
    json_decref(nodes);
    json_decref(pods);
    ksiss_catalog_free(&cat);
}

/* A node's heartbeat (new resourceVersion, condition times, a non-GPU
 * allocatable) packs to the same content once trimmed; its Ready status
 * or a GPU count does not. */
static void test_a_node_heartbeat_is_no_change_of_content(void **state)
{
    (void)state;
    json_t *nodes = test_load_json(NULL, "tests/data/kube/nodes.json");
    json_t *base = json_deep_copy(json_array_get(json_object_get(nodes, "items"), 0));
    json_t *st = json_object_get(base, "status");
    json_object_set_new(st, "conditions",
                        json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s,s:s}]", "type", "MemoryPressure", "status", "False",
                                  "lastHeartbeatTime", "2026-12-02T00:00:00Z", "type", "Ready", "status", "True",
                                  "lastHeartbeatTime", "2026-12-02T00:00:00Z", "reason", "KubeletReady"));
    json_object_set_new(json_object_get(st, "allocatable"), "cpu", json_string("64"));
    json_object_set_new(json_object_get(base, "metadata"), "resourceVersion", json_string("100"));
    json_t *beat = json_deep_copy(base), *down = json_deep_copy(base), *gpus = json_deep_copy(base);
    json_object_set_new(json_object_get(beat, "metadata"), "resourceVersion", json_string("101"));
    json_t *bc = json_object_get(json_object_get(beat, "status"), "conditions");
    json_object_set_new(json_array_get(bc, 0), "lastHeartbeatTime", json_string("2026-12-02T00:00:40Z"));
    json_object_set_new(json_array_get(bc, 1), "lastHeartbeatTime", json_string("2026-12-02T00:00:40Z"));
    json_object_set_new(json_object_get(json_object_get(beat, "status"), "allocatable"), "cpu", json_string("63"));
    json_object_set_new(json_array_get(json_object_get(json_object_get(down, "status"), "conditions"), 1), "status",
                        json_string("False"));
    const char *gk = NULL;
    json_t *gv;
    json_object_foreach(json_object_get(json_object_get(gpus, "status"), "allocatable"), gk, gv)
        if (ksiss_is_gpu_resource(gk))
            break;
    assert_non_null(gk);
    json_object_set_new(json_object_get(json_object_get(gpus, "status"), "allocatable"), gk, json_string("99"));
    json_t *v[] = {base, beat, down, gpus};
    ksiss_kobj_packer pk = {0};
    ksiss_kobj *r[4];
    for (size_t i = 0; i < 4; i++) {
        ksiss_kube_transform_node(v[i]);
        r[i] = ksiss_kobj_pack(&pk, v[i]);
        assert_non_null(r[i]);
    }
    assert_true(ksiss_kobj_same_content(r[0], r[1]));
    assert_string_equal(ksiss_kobj_str(r[1], KSISS_KOBJ_RV), "101");
    assert_false(ksiss_kobj_same_content(r[0], r[2]));
    assert_false(ksiss_kobj_same_content(r[0], r[3]));
    /* Parsed back, the record has its own resourceVersion. */
    json_t *back = ksiss_kobj_parse(r[1]);
    assert_true(json_equal(back, beat));
    json_decref(back);
    for (size_t i = 0; i < 4; i++) {
        ksiss_kobj_unref(r[i]);
        json_decref(v[i]);
    }
    ksiss_kobj_packer_free(&pk);
    json_decref(nodes);
}

static void test_common_transform_leaves_other_objects_whole(void **state)
{
    (void)state;
    json_t *svc = test_load_json(NULL, "tests/data/knative/service.json");
    json_t *copy = json_deep_copy(svc);
    json_object_set_new(json_object_get(copy, "metadata"), "managedFields", json_pack("[{s:s}]", "manager", "kubectl"));
    ksiss_kube_transform_common(copy);
    json_object_del(json_object_get(json_object_get(svc, "metadata"), "annotations"),
                    "kubectl.kubernetes.io/last-applied-configuration");
    assert_true(json_equal(svc, copy));
    json_decref(copy);
    json_decref(svc);
}

/* The same step: phase, summary, actions, their revisions and messages.
 * Patches are not compared: a write copies whole containers, which the
 * caches trim, and so is always planned again on objects read from the
 * API (ksiss_controller_recheck) before it is sent. */
static void plans_equal(const char *what, const ksiss_tr_plan *a, const ksiss_tr_plan *b)
{
    if (a->n != b->n || a->phase != b->phase || strcmp(a->summary ? a->summary : "", b->summary ? b->summary : ""))
        fail_msg("%s: '%s' (%zu actions) vs trimmed '%s' (%zu)", what, a->summary, a->n, b->summary, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->v[i].kind, b->v[i].kind);
        assert_true(!a->v[i].patch == !b->v[i].patch);
        if (a->v[i].revision)
            assert_string_equal(a->v[i].revision, b->v[i].revision);
        if (a->v[i].message)
            assert_string_equal(a->v[i].message, b->v[i].message);
    }
}

/* Every transition step and the current deployment come out the same from
 * the trimmed Service and Revisions: waiting, shifting, rolling back, for
 * each Ready state. */
static void test_transitions_are_the_same_from_trimmed_objects(void **state)
{
    (void)state;
    static const int steps[] = {10, 50, 100};
    static const char *const fixtures[] = {"service-wait-ready.json", "service-shift.json", "service.json"};
    static const char *const ready[] = {"True", "False", "Unknown", NULL};
    static const int64_t now[] = {1700000020000LL, 1700000900000LL};
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    for (size_t fi = 0; fi < sizeof(fixtures) / sizeof(fixtures[0]); fi++)
        for (size_t ri = 0; ri < 4; ri++)
            for (size_t ti = 0; ti < 2; ti++) {
                json_t *svc = test_load_json("tests/data/knative", fixtures[fi]);
                json_t *revs = test_load_json("tests/data/knative", "revisions.json");
                if (ready[ri]) {
                    json_t *r = json_deep_copy(json_array_get(revs, 0));
                    json_object_set_new(json_object_get(r, "metadata"), "name", json_string("llama3-8b-ks1"));
                    json_t *conds = json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "type", "Ready", "status", ready[ri],
                                              "reason", "X", "message", "0/3 nodes are available",
                                              "lastTransitionTime", "2026-01-01T00:00:00Z");
                    json_object_set_new(json_object_get(r, "status"), "conditions", conds);
                    json_array_append_new(revs, r);
                }
                json_t *trimmed = json_deep_copy(revs);
                size_t i;
                json_t *r;
                json_array_foreach(trimmed, i, r)
                    ksiss_kube_transform_revision(r);
                json_t *tsvc = json_deep_copy(svc);
                ksiss_kube_transform_service(tsvc);
                assert_true(json_dumpb(tsvc, NULL, 0, JSON_COMPACT) < json_dumpb(svc, NULL, 0, JSON_COMPACT));
                const ksiss_tier *target = ksiss_catalog_tier(&cat, "H100-80GB", "mig-2g.20gb");
                ksiss_tr_input in = {
                    .service = svc, .revisions = revs, .cat = &cat, .target_tier = target, .target_replicas = 2,
                    .traffic_steps = steps, .n_traffic_steps = 3, .ready_timeout_ms = 300000,
                    .backoff_ms = 600000, .now_ms = now[ti], .free_target_units = 4,
                };
                ksiss_tr_input tin = in;
                tin.revisions = trimmed;
                tin.service = tsvc;
                ksiss_tr_plan a, b;
                char *ea = NULL, *eb = NULL;
                int ra = ksiss_transition_step(&in, &a, &ea), rb = ksiss_transition_step(&tin, &b, &eb);
                char *what = ksiss_xasprintf("%s, new revision %s, t=%lld", fixtures[fi], ready[ri] ? ready[ri] : "absent",
                                             (long long)now[ti]);
                assert_int_equal(ra, rb);
                if (ra == 0) {
                    plans_equal(what, &a, &b);
                    ksiss_tr_plan_free(&a);
                    ksiss_tr_plan_free(&b);
                }
                free(ea);
                free(eb);
                ksiss_deployment da, db;
                char *wa = NULL, *wb = NULL;
                ksiss_controller_deployment(&cat, "H100-80GB", svc, revs, &da, &wa);
                ksiss_controller_deployment(&cat, "H100-80GB", tsvc, trimmed, &db, &wb);
                assert_ptr_equal(da.tier, db.tier);
                assert_int_equal(da.replicas_ready, db.replicas_ready);
                assert_int_equal(da.replicas_starting, db.replicas_starting);
                free(wa);
                free(wb);
                free(what);
                json_decref(trimmed);
                json_decref(tsvc);
                json_decref(revs);
                json_decref(svc);
            }
    ksiss_catalog_free(&cat);
}

static void test_list_trims_every_page_as_it_arrives(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = -1, .timeout_ms = 5000};
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &err);
    assert_non_null(k);
    fake_add(fs, "GET", "/api/v1/pods?limit=1&continue=c2", 200,
             "{\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[{\"metadata\":{\"name\":\"b\","
             "\"managedFields\":[{}]},\"spec\":{\"volumes\":[],\"nodeName\":\"n\"},\"status\":{\"phase\":\"Running\"}}]}",
             NULL);
    fake_add(fs, "GET", "/api/v1/pods?limit=1", 200,
             "{\"metadata\":{\"resourceVersion\":\"9\",\"continue\":\"c2\"},\"items\":[{\"metadata\":{\"name\":\"a\","
             "\"managedFields\":[{}]},\"spec\":{\"volumes\":[],\"nodeName\":\"n\"},\"status\":{\"phase\":\"Running\"}}]}",
             NULL);
    ksiss_kube_list_opts lo = {.page_size = 1, .transform = ksiss_kube_transform_pod};
    json_t *items = NULL;
    assert_int_equal(ksiss_kube_list(k, &KSISS_KUBE_PODS, NULL, &lo, &items, NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(items), 2);
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p) {
        assert_null(json_object_get(json_object_get(p, "metadata"), "managedFields"));
        assert_null(json_object_get(json_object_get(p, "spec"), "volumes"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(p, "spec"), "nodeName")), "n");
    }
    json_decref(items);
    ksiss_kube_free(k);
    fake_stop(fs);
    free(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_transform_keeps_what_readers_use_and_drops_the_rest),
        cmocka_unit_test(test_inventory_is_the_same_from_trimmed_nodes_and_pods),
        cmocka_unit_test(test_a_node_heartbeat_is_no_change_of_content),
        cmocka_unit_test(test_common_transform_leaves_other_objects_whole),
        cmocka_unit_test(test_list_trims_every_page_as_it_arrives),
        cmocka_unit_test(test_transitions_are_the_same_from_trimmed_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
