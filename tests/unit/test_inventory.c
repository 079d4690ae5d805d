/* test_inventory.c: the live GPU inventory (src/core/inventory.c) from Node
 * and Pod objects written as the API returns them (tests/data/kube/):
 * usable nodes, requests of bound non-terminated pods, init-container
 * rule, pending claims, single-strategy MIG nodes, unknown products. */
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
#include "core/util.h"
#include "support/test_support.h"

typedef struct {
    ksiss_catalog cat;
    json_t *nodes;      /* NodeList */
    json_t *pods;       /* PodList */
    ksiss_inventory inv;
} fixture;

static int setup(void **state)
{
    fixture *f = ksiss_xcalloc(1, sizeof *f);
    ksiss_catalog_builtin(&f->cat);
    f->nodes = test_load_json(NULL, "tests/data/kube/nodes.json");
    f->pods = test_load_json(NULL, "tests/data/kube/pods.json");
    assert_int_equal(ksiss_inventory_compute(&f->cat, json_object_get(f->nodes, "items"),
                                             json_object_get(f->pods, "items"), &f->inv),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ksiss_inventory_free(&f->inv);
    json_decref(f->nodes);
    json_decref(f->pods);
    ksiss_catalog_free(&f->cat);
    free(f);
    return 0;
}

static const ksiss_inventory_entry *must_find(const ksiss_inventory *inv, const char *model, const char *res)
{
    const ksiss_inventory_entry *e = ksiss_inventory_find(inv, model, res);
    if (!e)
        fail_msg("no inventory entry for %s %s", model, res);
    return e;
}

static void test_free_is_allocatable_minus_running_pod_requests_and_pending_claims(void **state)
{
    fixture *f = *state;
    const ksiss_inventory_entry *e = must_find(&f->inv, "H100-80GB", "nvidia.com/mig-1g.10gb");
    assert_int_equal(e->allocatable, 14);
    assert_int_equal(e->requested, 1);
    assert_int_equal(e->pending, 1);
    assert_int_equal(e->free, 12);
}

static void test_limits_alone_count_as_requests(void **state)
{
    fixture *f = *state;
    const ksiss_inventory_entry *e = must_find(&f->inv, "H100-80GB", "nvidia.com/mig-3g.40gb");
    assert_int_equal(e->requested, 1);
    assert_int_equal(e->free, 1);
}

static void test_succeeded_and_failed_pods_hold_nothing_and_init_containers_use_the_max_rule(void **state)
{
    fixture *f = *state;
    /* gpu-whole: 4 GPUs; with-init needs max(init 2, containers 1) = 2;
     * the Succeeded and Failed pods (4 each) are not counted. */
    const ksiss_inventory_entry *e = must_find(&f->inv, "H100-80GB", "nvidia.com/gpu");
    assert_int_equal(e->requested, 2);
    assert_int_equal(e->free, 2);
}

static void test_cordoned_and_not_ready_nodes_are_not_counted(void **state)
{
    fixture *f = *state;
    /* gpu-cordoned and gpu-notready have 8 GPUs each. */
    assert_int_equal(must_find(&f->inv, "H100-80GB", "nvidia.com/gpu")->allocatable, 4);
    for (size_t i = 0; i < f->inv.n_nodes; i++) {
        const ksiss_inventory_node *n = &f->inv.nodes[i];
        if (!strcmp(n->name, "gpu-cordoned"))
            assert_false(n->schedulable);
        if (!strcmp(n->name, "gpu-notready"))
            assert_false(n->ready);
        if (!strcmp(n->name, "gpu-mig")) {
            assert_true(n->ready && n->schedulable);
            assert_int_equal(n->replicas, 1);
        }
    }
}

static void test_single_strategy_mig_node_reports_its_slice_resource(void **state)
{
    fixture *f = *state;
    const ksiss_inventory_entry *e = must_find(&f->inv, "A100-40GB", "nvidia.com/mig-1g.5gb");
    assert_int_equal(e->allocatable, 7);
    assert_int_equal(e->requested, 3);
    assert_int_equal(e->free, 4);
    assert_null(ksiss_inventory_find(&f->inv, "A100-40GB", "nvidia.com/gpu"));
}

static void test_unknown_gpu_product_counts_for_no_model_with_a_warning(void **state)
{
    fixture *f = *state;
    bool warned = false;
    for (size_t i = 0; i < f->inv.n_warnings; i++)
        if (strstr(f->inv.warnings[i], "gpu-t4") && strstr(f->inv.warnings[i], "Tesla-T4"))
            warned = true;
    assert_true(warned);
    /* Only the 4 whole GPUs of gpu-whole; none of the T4's. */
    size_t n = 0;
    for (size_t i = 0; i < f->inv.n_entries; i++)
        if (!strcmp(f->inv.entries[i].resource, "nvidia.com/gpu"))
            n++;
    assert_int_equal(n, 1);
}

static void test_free_gpus_feed_the_policy_in_a_stable_order(void **state)
{
    fixture *f = *state;
    ksiss_free_gpu out[16];
    size_t n = ksiss_inventory_free_gpus(&f->inv, out, 16);
    assert_int_equal(n, 4);
    assert_string_equal(out[0].gpu_model, "A100-40GB");
    assert_string_equal(out[0].resource, "nvidia.com/mig-1g.5gb");
    assert_int_equal(out[0].free_units, 4);
    assert_string_equal(out[1].gpu_model, "H100-80GB");
    assert_string_equal(out[1].resource, "nvidia.com/gpu");
    assert_string_equal(out[2].resource, "nvidia.com/mig-1g.10gb");
    assert_int_equal(out[2].free_units, 12);
    assert_string_equal(out[3].resource, "nvidia.com/mig-3g.40gb");
    /* A short output array still learns the total. */
    assert_int_equal(ksiss_inventory_free_gpus(&f->inv, out, 1), 4);
}

/* --- pod request rule, table-driven ------------------------------------- */

static void test_pod_request_follows_the_kubernetes_rule(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *pod_json;
        long long want;
    } cases[] = {
        {"no GPU", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}", 0},
        {"request wins over limit",
         "{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"1\"},"
         "\"limits\":{\"nvidia.com/gpu\":\"2\"}}}]}}",
         1},
        {"sum of containers",
         "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}},"
         "{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"2\"}}}]}}",
         3},
        {"largest init container when larger than the sum",
         "{\"spec\":{\"initContainers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"4\"}}},"
         "{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"2\"}}}],"
         "\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}}",
         4},
        {"sidecar init container adds to the app containers",
         "{\"spec\":{\"initContainers\":[{\"restartPolicy\":\"Always\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}],"
         "\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}}",
         2},
        {"pod overhead is added",
         "{\"spec\":{\"overhead\":{\"nvidia.com/gpu\":\"1\"},"
         "\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]}}",
         2},
        {"fractional quantity refused",
         "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"0.5\"}}}]}}", -1},
        {"suffixed quantity refused",
         "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1k\"}}}]}}", -1},
        {"negative quantity refused",
         "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"-1\"}}}]}}", -1},
        {"huge quantity saturates, no overflow",
         "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"9223372036854775807\"}}},"
         "{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"9223372036854775807\"}}}]}}",
         1LL << 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_error_t je;
        json_t *pod = json_loads(cases[i].pod_json, 0, &je);
        if (!pod)
            fail_msg("case \"%s\": bad JSON: %s", cases[i].what, je.text);
        long long got = ksiss_pod_request(pod, "nvidia.com/gpu");
        if (got != cases[i].want)
            fail_msg("case \"%s\": got %lld, want %lld", cases[i].what, got, cases[i].want);
        json_decref(pod);
    }
}

static void test_odd_objects_are_skipped_not_fatal(void **state)
{
    fixture *f = *state;
    json_t *nodes = json_loads("[42, {\"metadata\":{\"name\":\"n1\",\"labels\":{\"nvidia.com/gpu.product\":"
                               "\"NVIDIA-H100-80GB-HBM3\",\"nvidia.com/gpu.replicas\":\"lots\"}},"
                               "\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"two\"},"
                               "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}]",
                               0, NULL);
    json_t *pods = json_loads("[\"x\", {\"spec\":{\"nodeName\":\"n1\"}}]", 0, NULL);
    ksiss_inventory inv;
    assert_int_equal(ksiss_inventory_compute(&f->cat, nodes, pods, &inv), 0);
    assert_int_equal(inv.n_nodes, 1);
    assert_true(inv.n_warnings >= 3);
    assert_int_equal(must_find(&inv, "H100-80GB", "nvidia.com/gpu")->free, 0);
    ksiss_inventory_free(&inv);
    json_t *notarray = json_object();
    assert_int_equal(ksiss_inventory_compute(&f->cat, notarray, NULL, &inv), -1);
    ksiss_inventory_free(&inv);
    json_decref(notarray);
    json_decref(nodes);
    json_decref(pods);
}

static void test_pending_pod_pinned_to_a_model_claims_only_that_model(void **state)
{
    fixture *f = *state;
    json_t *nodes = json_loads(
        "[{\"metadata\":{\"name\":\"h\",\"labels\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\"}},"
        "\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"2\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
        "{\"metadata\":{\"name\":\"a\",\"labels\":{\"nvidia.com/gpu.product\":\"NVIDIA-A100-SXM4-80GB\"}},"
        "\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"2\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}]",
        0, NULL);
    json_t *pods = json_loads(
        "[{\"spec\":{\"nodeSelector\":{\"nvidia.com/gpu.product\":\"NVIDIA-A100-SXM4-80GB\"},"
        "\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]},\"status\":{\"phase\":\"Pending\"}},"
        "{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}]},"
        "\"status\":{\"phase\":\"Pending\"}}]",
        0, NULL);
    ksiss_inventory inv;
    assert_int_equal(ksiss_inventory_compute(&f->cat, nodes, pods, &inv), 0);
    /* The pinned pod claims only A100; the unpinned one claims against both. */
    assert_int_equal(must_find(&inv, "A100-80GB", "nvidia.com/gpu")->free, 0);
    assert_int_equal(must_find(&inv, "H100-80GB", "nvidia.com/gpu")->free, 1);
    ksiss_inventory_free(&inv);
    json_decref(nodes);
    json_decref(pods);
}

/* The inventory built one pod at a time, in any order (pending pods first,
 * reversed), and with the nodes added one at a time too, is the one
 * computed from the whole lists. */
static void test_pod_at_a_time_in_any_order_gives_the_same_inventory(void **state)
{
    fixture *f = *state;
    const json_t *pods = json_object_get(f->pods, "items");
    size_t n = json_array_size(pods);
    const json_t *nodes = json_object_get(f->nodes, "items");
    assert_true(json_array_size(nodes) > 1);
    for (int order = 0; order < 3; order++) {
        ksiss_inventory inv;
        ksiss_inventory_builder b;
        if (order < 2) {
            assert_int_equal(ksiss_inventory_begin(&b, &f->cat, nodes, &inv), 0);
        } else {
            assert_int_equal(ksiss_inventory_begin(&b, &f->cat, NULL, &inv), 0);
            for (size_t i = 0; i < json_array_size(nodes); i++)
                ksiss_inventory_add_node(&b, json_array_get(nodes, i));
        }
        assert_int_equal(inv.n_nodes, json_array_size(nodes));
        for (size_t i = 0; i < n; i++)
            ksiss_inventory_add_pod(&b, json_array_get(pods, order == 0 ? n - 1 - i : i));
        ksiss_inventory_end(&b);
        assert_int_equal(inv.n_entries, f->inv.n_entries);
        assert_true(inv.n_entries > 0);
        for (size_t k = 0; k < inv.n_entries; k++) {
            assert_string_equal(inv.entries[k].gpu_model, f->inv.entries[k].gpu_model);
            assert_string_equal(inv.entries[k].resource, f->inv.entries[k].resource);
            assert_true(inv.entries[k].allocatable == f->inv.entries[k].allocatable);
            assert_true(inv.entries[k].requested == f->inv.entries[k].requested);
            assert_true(inv.entries[k].pending == f->inv.entries[k].pending);
            assert_true(inv.entries[k].free == f->inv.entries[k].free);
        }
        for (size_t k = 0; k < inv.n_nodes; k++)
            for (size_t r = 0; r < inv.nodes[k].n_res; r++)
                assert_true(inv.nodes[k].res[r].requested == f->inv.nodes[k].res[r].requested);
        ksiss_inventory_free(&inv);
    }
    /* Not an array of nodes: refused, nothing to free. */
    ksiss_inventory inv;
    ksiss_inventory_builder b;
    json_t *bad = json_object();
    assert_int_equal(ksiss_inventory_begin(&b, &f->cat, bad, &inv), -1);
    assert_int_equal(inv.n_nodes, 0);
    json_decref(bad);
}

/* Two nodes of the same name: a bound pod counts on the first one only. */
static void test_pod_counts_on_the_first_node_of_its_name(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *nodes = json_loads("[{\"metadata\":{\"name\":\"n\",\"labels\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\"}},"
                               "\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"8\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
                               "{\"metadata\":{\"name\":\"n\",\"labels\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\"}},"
                               "\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"8\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}]",
                               0, NULL);
    json_t *pods = json_loads("[{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\",\"containers\":[{\"name\":\"c\","
                              "\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"3\"}}}]},\"status\":{\"phase\":\"Running\"}}]",
                              0, NULL);
    assert_non_null(nodes);
    assert_non_null(pods);
    ksiss_inventory inv;
    assert_int_equal(ksiss_inventory_compute(&cat, nodes, pods, &inv), 0);
    assert_int_equal(inv.n_nodes, 2);
    assert_true(inv.nodes[0].res[0].requested == 3);
    assert_true(inv.nodes[1].res[0].requested == 0);
    assert_int_equal(inv.n_entries, 1);
    assert_true(inv.entries[0].allocatable == 16);
    assert_true(inv.entries[0].free == 13);
    ksiss_inventory_free(&inv);
    json_decref(nodes);
    json_decref(pods);
    ksiss_catalog_free(&cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_free_is_allocatable_minus_running_pod_requests_and_pending_claims, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limits_alone_count_as_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_succeeded_and_failed_pods_hold_nothing_and_init_containers_use_the_max_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cordoned_and_not_ready_nodes_are_not_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_strategy_mig_node_reports_its_slice_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_gpu_product_counts_for_no_model_with_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_gpus_feed_the_policy_in_a_stable_order, setup, teardown),
        cmocka_unit_test(test_pod_request_follows_the_kubernetes_rule),
        cmocka_unit_test_setup_teardown(test_odd_objects_are_skipped_not_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_pod_pinned_to_a_model_claims_only_that_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_at_a_time_in_any_order_gives_the_same_inventory, setup, teardown),
        cmocka_unit_test(test_pod_counts_on_the_first_node_of_its_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
