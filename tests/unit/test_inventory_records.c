/* test_inventory_records.c: the inventory the control loop computes from
 * its watch caches' Node and Pod records (src/shell/inventory_records.c):
 * the same as the whole-list computation on the untrimmed objects, record
 * by record and from live informers with the controller's options against
 * the loopback stand-in API server (tests/data/kube/ fixtures). */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/inventory_records.h"
#include "shell/kube.h"
#include "support/test_support.h"
#include "test_kube_fake.h"

/* Records of `items` as an informer with `transform` keeps them. */
static ksiss_kobj_list records_of(const json_t *items, void (*transform)(json_t *))
{
    ksiss_kobj_packer pk = {0};
    ksiss_kobj_list l = {0};
    l.v = ksiss_xcalloc(json_array_size(items) + 1, sizeof(*l.v));
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) {
        json_t *c = json_deep_copy(o);
        transform(c);
        l.v[l.n] = ksiss_kobj_pack(&pk, c);
        assert_non_null(l.v[l.n]);
        l.n++;
        json_decref(c);
    }
    ksiss_kobj_packer_free(&pk);
    return l;
}

static void assert_same_inventory(const ksiss_inventory *a, const ksiss_inventory *b)
{
    assert_int_equal(a->n_entries, b->n_entries);
    for (size_t k = 0; k < a->n_entries; k++) {
        assert_string_equal(a->entries[k].resource, b->entries[k].resource);
        if (a->entries[k].gpu_model || b->entries[k].gpu_model)
            assert_string_equal(a->entries[k].gpu_model, b->entries[k].gpu_model);
        assert_true(a->entries[k].allocatable == b->entries[k].allocatable);
        assert_true(a->entries[k].requested == b->entries[k].requested);
        assert_true(a->entries[k].pending == b->entries[k].pending);
        assert_true(a->entries[k].free == b->entries[k].free);
    }
    assert_int_equal(a->n_warnings, b->n_warnings);
}

static void test_records_give_the_inventory_of_the_whole_lists(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *nodes = test_load_json(NULL, "tests/data/kube/nodes.json");
    json_t *pods = test_load_json(NULL, "tests/data/kube/pods.json");
    ksiss_inventory whole, rec;
    assert_int_equal(ksiss_inventory_compute(&cat, json_object_get(nodes, "items"), json_object_get(pods, "items"), &whole),
                     0);
    ksiss_kobj_list nl = records_of(json_object_get(nodes, "items"), ksiss_kube_transform_node);
    ksiss_kobj_list pl = records_of(json_object_get(pods, "items"), ksiss_kube_transform_pod);
    assert_int_equal(ksiss_inventory_from_records(&cat, &nl, &pl, &rec), 0);
    /* The fixture has cordoned, not-ready, single-strategy and CPU-only
     * nodes and pods that hold GPUs: something to get wrong. */
    assert_true(whole.n_entries >= 3);
    assert_same_inventory(&whole, &rec);
    const ksiss_inventory_entry *e = ksiss_inventory_find(&rec, "H100-80GB", "nvidia.com/mig-1g.10gb");
    assert_non_null(e);
    assert_int_equal(e->allocatable, 14);
    assert_int_equal(e->free, 12);
    ksiss_inventory_free(&rec);

    /* No pods: everything allocatable is free; no nodes: nothing is. */
    ksiss_kobj_list none = {0};
    assert_int_equal(ksiss_inventory_from_records(&cat, &nl, &none, &rec), 0);
    e = ksiss_inventory_find(&rec, "H100-80GB", "nvidia.com/mig-1g.10gb");
    assert_non_null(e);
    assert_int_equal(e->free, 14);
    ksiss_inventory_free(&rec);
    assert_int_equal(ksiss_inventory_from_records(&cat, &none, &pl, &rec), 0);
    assert_int_equal(rec.n_entries, 0);
    ksiss_inventory_free(&rec);

    ksiss_kobj_list_free(&nl);
    ksiss_kobj_list_free(&pl);
    ksiss_inventory_free(&whole);
    json_decref(nodes);
    json_decref(pods);
    ksiss_catalog_free(&cat);
}

static void test_live_informers_give_the_inventory_of_the_lists(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    json_t *nodes = test_load_json(NULL, "tests/data/kube/nodes.json");
    json_t *pods = test_load_json(NULL, "tests/data/kube/pods.json");
    char *nodes_s = json_dumps(nodes, JSON_COMPACT), *pods_s = json_dumps(pods, JSON_COMPACT);
    fake_add(fs, "GET", "/api/v1/nodes?limit=100", 200, nodes_s, NULL);
    fake_add(fs, "GET", "/api/v1/pods?limit=100", 200, pods_s, NULL);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = -1};
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &err);
    assert_non_null(k);
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    /* The controller's informers (KSISS_INVENTORY_*_INFORMER) and its computation. */
    ksiss_kube_informer *in = ksiss_kube_informer_start(k, &KSISS_INVENTORY_NODES_INFORMER, &err);
    ksiss_kube_informer *ip = ksiss_kube_informer_start(k, &KSISS_INVENTORY_PODS_INFORMER, &err);
    assert_non_null(in);
    assert_non_null(ip);
    for (int i = 0; i < 1000 && !(ksiss_kube_informer_synced(in) && ksiss_kube_informer_synced(ip)); i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(ksiss_kube_informer_synced(in) && ksiss_kube_informer_synced(ip));
    ksiss_kobj_list nl = ksiss_kube_informer_objects(in), pl = ksiss_kube_informer_objects(ip);
    assert_int_equal(nl.n, json_array_size(json_object_get(nodes, "items")));
    assert_int_equal(pl.n, json_array_size(json_object_get(pods, "items")));
    ksiss_inventory whole, rec;
    assert_int_equal(ksiss_inventory_compute(&cat, json_object_get(nodes, "items"), json_object_get(pods, "items"), &whole),
                     0);
    assert_int_equal(ksiss_inventory_from_records(&cat, &nl, &pl, &rec), 0);
    assert_same_inventory(&whole, &rec);
    ksiss_inventory_free(&whole);
    ksiss_inventory_free(&rec);
    ksiss_kobj_list_free(&nl);
    ksiss_kobj_list_free(&pl);
    ksiss_kube_informer_stop(in);
    ksiss_kube_informer_stop(ip);
    ksiss_catalog_free(&cat);
    ksiss_kube_free(k);
    fake_stop(fs);
    free(server);
    free(nodes_s);
    free(pods_s);
    json_decref(nodes);
    json_decref(pods);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_give_the_inventory_of_the_whole_lists),
        cmocka_unit_test(test_live_informers_give_the_inventory_of_the_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
