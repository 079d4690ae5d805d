/* fuzz_inventory.c: libFuzzer target for the inventory decoder
 * (ksiss_inventory_compute, ksiss_pod_request): the input is one JSON
 * object {"nodes": NodeList or [Node...], "pods": PodList or [Pod...]}, as
 * the API server returns them. Checks the arithmetic the policy relies on:
 * counts never negative, free = max(0, allocatable - requested - pending),
 * totals only from usable nodes of a known model, entries sorted and found. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/inventory.h"
#include "fuzz_common.h"

/* The items of a List object, or the array itself; NULL otherwise. */
static const json_t *items_of(const json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "items");
    return json_is_array(v) ? v : NULL;
}

static long long add_sat(long long a, long long b)
{
    return a > LLONG_MAX - b ? LLONG_MAX : a + b;
}

static void check_entry(const ksiss_catalog *cat, const ksiss_inventory *inv, size_t i)
{
    const ksiss_inventory_entry *e = &inv->entries[i];
    FUZZ_CHECK(e->gpu_model && ksiss_catalog_model(cat, e->gpu_model), "entry %zu: model not in the catalogue", i);
    FUZZ_CHECK(e->resource && ksiss_is_gpu_resource(e->resource), "entry %zu (%s): not a GPU resource %s", i,
               e->gpu_model, e->resource ? e->resource : "(null)");
    FUZZ_CHECK(e->allocatable >= 0 && e->requested >= 0 && e->pending >= 0 && e->free >= 0,
               "%s %s: allocatable %lld requested %lld pending %lld free %lld", e->gpu_model, e->resource,
               e->allocatable, e->requested, e->pending, e->free);
    __int128 want = (__int128)e->allocatable - e->requested - e->pending;
    FUZZ_CHECK(e->free == (want > 0 ? (long long)want : 0), "%s %s: free %lld, not max(0, %lld - %lld - %lld)",
               e->gpu_model, e->resource, e->free, e->allocatable, e->requested, e->pending);
    if (i > 0) {
        const ksiss_inventory_entry *p = &inv->entries[i - 1];
        int c = strcmp(p->gpu_model, e->gpu_model);
        FUZZ_CHECK(c < 0 || (c == 0 && strcmp(p->resource, e->resource) < 0),
                   "entries not sorted or repeated at %s %s", e->gpu_model, e->resource);
    }
    FUZZ_CHECK(ksiss_inventory_find(inv, e->gpu_model, e->resource) == e, "%s %s not found by its key",
               e->gpu_model, e->resource);
    /* Totals come from usable nodes of this model only. */
    long long alloc = 0, req = 0;
    for (size_t k = 0; k < inv->n_nodes; k++) {
        const ksiss_inventory_node *n = &inv->nodes[k];
        if (!n->ready || !n->schedulable || !n->gpu_model || strcmp(n->gpu_model, e->gpu_model) != 0)
            continue;
        for (size_t r = 0; r < n->n_res; r++)
            if (!strcmp(n->res[r].resource, e->resource)) {
                alloc = add_sat(alloc, n->res[r].allocatable);
                req = add_sat(req, n->res[r].requested);
            }
    }
    FUZZ_CHECK(alloc == e->allocatable && req == e->requested,
               "%s %s: totals %lld/%lld, usable nodes add up to %lld/%lld", e->gpu_model, e->resource,
               e->allocatable, e->requested, alloc, req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (!root)
        return 0;   /* the JSON decoder is jansson's; the inventory starts at a decoded object */
    const json_t *nodes = items_of(json_object_get(root, "nodes"));
    const json_t *pods = items_of(json_object_get(root, "pods"));
    const ksiss_catalog *cat = ksiss_fuzz_builtin();
    ksiss_inventory inv;
    int rc = ksiss_inventory_compute(cat, nodes, pods, &inv);
    FUZZ_CHECK(rc == 0, "returned %d for arrays", rc);

    size_t n_objects = 0;
    for (size_t i = 0; i < json_array_size(nodes); i++)
        n_objects += json_is_object(json_array_get(nodes, i));
    FUZZ_CHECK(inv.n_nodes == n_objects, "%zu nodes decoded from %zu node objects", inv.n_nodes, n_objects);
    for (size_t k = 0; k < inv.n_nodes; k++) {
        const ksiss_inventory_node *n = &inv.nodes[k];
        FUZZ_CHECK(n->name != NULL, "node %zu has no name string", k);
        FUZZ_CHECK(n->replicas >= 0, "node %s: replicas %d", n->name, n->replicas);
        for (size_t r = 0; r < n->n_res; r++)
            FUZZ_CHECK(n->res[r].allocatable >= 0 && n->res[r].requested >= 0, "node %s %s: %lld/%lld", n->name,
                       n->res[r].resource, n->res[r].allocatable, n->res[r].requested);
    }
    for (size_t i = 0; i < inv.n_entries; i++)
        check_entry(cat, &inv, i);
    for (size_t i = 0; i < inv.n_warnings; i++)
        FUZZ_CHECK(inv.warnings[i] && inv.warnings[i][0], "warning %zu is empty", i);

    size_t n_free = ksiss_inventory_free_gpus(&inv, NULL, 0);
    ksiss_free_gpu *fg = calloc(n_free ? n_free : 1, sizeof(*fg));
    if (!fg)
        abort();
    FUZZ_CHECK(ksiss_inventory_free_gpus(&inv, fg, n_free) == n_free, "free GPU count changed between calls");
    free(fg);

    /* A pod's request is a count or -1, never another negative. */
    for (size_t p = 0; p < json_array_size(pods); p++)
        for (size_t i = 0; i < inv.n_entries; i++) {
            long long u = ksiss_pod_request(json_array_get(pods, p), inv.entries[i].resource);
            FUZZ_CHECK(u >= -1, "pod %zu asks for %lld of %s", p, u, inv.entries[i].resource);
        }
    ksiss_inventory_free(&inv);
    json_decref(root);
    return 0;
}
