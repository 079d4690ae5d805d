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

#include <cmocka.h>
#include <jansson.h>

#include "core/inventory.h"
#include "core/tiers.h"
#include "core/util.h"
#include "shell/knative.h"
#include "shell/kube.h"
#include "support/test_support.h"

/* A pod as the API returns it, with the bulk a real one carries. */
static const char *const full_pod =
    "{\"metadata\":{\"name\":\"llama-00001-deployment-7f9c-x2\",\"namespace\":\"ml\",\"uid\":\"u1\","
    "\"resourceVersion\":\"42\",\"labels\":{\"serving.knative.dev/service\":\"llama\"},"
    "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"big\\\":1}\",\"keep\":\"me\"},"
    "\"managedFields\":[{\"manager\":\"kubelet\",\"fieldsV1\":{\"f:status\":{}}}]},"
    "\"spec\":{\"nodeName\":\"gpu-mig\",\"nodeSelector\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\"},"
    "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],\"tolerations\":[{\"key\":\"k\"}],"
    "\"containers\":[{\"name\":\"user-container\",\"image\":\"vllm:latest\",\"env\":[{\"name\":\"A\",\"value\":\"b\"}],"
    "\"resources\":{\"requests\":{\"nvidia.com/mig-3g.40gb\":\"1\"},\"limits\":{\"nvidia.com/mig-3g.40gb\":\"1\"}}}],"
    "\"initContainers\":[{\"name\":\"init\",\"image\":\"x\",\"restartPolicy\":\"Always\","
    "\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]},"
    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}],\"containerStatuses\":[{\"name\":\"c\"}]}}";

static void test_pod_transform_keeps_what_readers_use_and_drops_the_rest(void **state)
{
    (void)state;
    json_t *pod = json_loads(full_pod, 0, NULL);
    assert_non_null(pod);
    ksiss_kube_transform_pod(pod);
    json_t *md = json_object_get(pod, "metadata");
    assert_null(json_object_get(md, "managedFields"));
    assert_null(json_object_get(json_object_get(md, "annotations"), "kubectl.kubernetes.io/last-applied-configuration"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "annotations"), "keep")), "me");
    assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")), "42");
    json_t *spec = json_object_get(pod, "spec");
    assert_null(json_object_get(spec, "volumes"));
    assert_null(json_object_get(spec, "tolerations"));
    assert_string_equal(json_string_value(json_object_get(spec, "nodeName")), "gpu-mig");
    assert_non_null(json_object_get(spec, "nodeSelector"));
    json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
    assert_null(json_object_get(c, "image"));
    assert_null(json_object_get(c, "env"));
    assert_non_null(json_object_get(json_object_get(c, "resources"), "requests"));
    json_t *ic = json_array_get(json_object_get(spec, "initContainers"), 0);
    assert_string_equal(json_string_value(json_object_get(ic, "restartPolicy")), "Always");
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
    ksiss_inventory_free(&a);
    ksiss_inventory_free(&b);
    json_decref(tn);
    json_decref(tp);
    json_decref(nodes);
    json_decref(pods);
    ksiss_catalog_free(&cat);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_transform_keeps_what_readers_use_and_drops_the_rest),
        cmocka_unit_test(test_inventory_is_the_same_from_trimmed_nodes_and_pods),
        cmocka_unit_test(test_common_transform_leaves_other_objects_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
