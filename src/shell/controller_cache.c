/* controller_cache.c: the tick cache (tick_cache): the control loop's
 * views of the Service, Revision and pod watches (controller_index.c) and
 * the GPU inventory computed from the Node and pod watches (inv_bundle,
 * reference counted), each made again only when its watch changed (or,
 * for the inventory, the configuration did); and the cache-size gauges. */
#include "shell/controller_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shell/inventory_records.h"

inv_bundle *ksiss_ctl_inv_ref(inv_bundle *b)
{
    if (b)
        ksiss_ctl_ref(&b->refs);
    return b;
}

void ksiss_ctl_inv_unref(inv_bundle *b)
{
    if (!b || !ksiss_ctl_unref(&b->refs))
        return;
    ksiss_inventory_free(&b->inv);
    free(b->free);
    ksiss_ctl_cfg_unref(b->cfg);
    free(b);
}

void ksiss_ctl_cache_free(tick_cache *tc)
{
    ksiss_ctl_index_unref(tc->services);
    ksiss_ctl_index_unref(tc->pods);
    ksiss_ctl_index_unref(tc->revs);
    ksiss_ctl_inv_unref(tc->inv);
    memset(tc, 0, sizeof(*tc));
}

/* ksiss_cache_objects and ksiss_cache_bytes of a watch cache. */
static void export_cache(controller *c, const char *resource, const ksiss_kobj_list *l)
{
    size_t bytes = 0;
    for (size_t i = 0; i < l->n; i++)
        bytes += ksiss_kobj_size(l->v[i]);
    ksiss_metrics_set(c->reg, KSISS_M_CACHE_OBJECTS, KSISS_LABELS(resource), (double)l->n);
    ksiss_metrics_set(c->reg, KSISS_M_CACHE_BYTES, KSISS_LABELS(resource), (double)bytes);
}

/* Makes *x again from inf when inf's generation is not *gen (or *x was
 * never made); true when it did. */
static bool index_refresh(controller *c, ksiss_kube_informer *inf, const char *resource, bool group, obj_index **x,
                          uint64_t *gen, bool *have)
{
    uint64_t g = ksiss_kube_informer_generation(inf);
    if (*have && g == *gen)
        return false;
    ksiss_ctl_index_unref(*x);
    *x = ksiss_ctl_index_new(inf, c->ns, group);
    export_cache(c, resource, &(*x)->objs);
    *gen = g;
    *have = true;
    return true;
}

/* The GPU inventory of the Nodes watched and the pods indexed, under
 * configuration cfg, its gauges set; NULL when it cannot be computed. */
static inv_bundle *inventory_new(controller *c, cfg_bundle *cfg, ksiss_kube_informer *inf_nodes,
                                 const obj_index *pods)
{
    ksiss_kobj_list node_objs = ksiss_kube_informer_objects(inf_nodes);
    export_cache(c, "nodes", &node_objs);
    inv_bundle *b = ksiss_xcalloc(1, sizeof(*b));
    b->refs = 1;
    /* The inventory borrows the catalogue's model names: it keeps the
     * configuration alive (and its address unique while compared with
     * inv_cfg). */
    b->cfg = ksiss_ctl_cfg_ref(cfg);
    int irc = ksiss_inventory_from_records(&cfg->cat, &node_objs, &pods->objs, &b->inv);
    ksiss_kobj_list_free(&node_objs);
    if (irc != 0) {
        ksiss_ctl_inv_unref(b);
        return NULL;
    }
    size_t n = ksiss_inventory_free_gpus(&b->inv, NULL, 0);
    b->free = ksiss_xcalloc(n ? n : 1, sizeof(*b->free));
    b->n_free = ksiss_inventory_free_gpus(&b->inv, b->free, n);
    for (size_t i = 0; i < b->inv.n_entries; i++) {
        const ksiss_inventory_entry *e = &b->inv.entries[i];
        const char *model = e->gpu_model ? e->gpu_model : "unknown";
        ksiss_metrics_set(c->reg, KSISS_M_GPU_FREE, KSISS_LABELS(model, e->resource), (double)e->free);
        ksiss_metrics_set(c->reg, KSISS_M_GPU_ALLOCATABLE, KSISS_LABELS(model, e->resource), (double)e->allocatable);
    }
    return b;
}

/* Brings c->tc up to date with the informers under the configuration in
 * force (what is replaced goes back to the system at the tick's end,
 * ksiss_ctl_snap_unref). */
void ksiss_ctl_cache_refresh(controller *c)
{
    tick_cache *tc = &c->tc;
    index_refresh(c, c->inf_svc, "services", false, &tc->services, &tc->svc_gen, &tc->have_svc);
    if (ksiss_kube_informer_synced(c->inf_revs))
        index_refresh(c, c->inf_revs, "revisions", true, &tc->revs, &tc->rev_gen, &tc->have_revs);
    if (!ksiss_kube_informer_synced(c->inf_pods))
        return;
    bool pods_changed = index_refresh(c, c->inf_pods, "pods", true, &tc->pods, &tc->pod_gen, &tc->have_pods);
    if (!ksiss_kube_informer_synced(c->inf_nodes))
        return;
    uint64_t gn = ksiss_kube_informer_generation(c->inf_nodes);
    if (!pods_changed && tc->have_inv && gn == tc->node_gen && tc->inv_cfg == c->cfg)
        return;
    ksiss_ctl_inv_unref(tc->inv);
    tc->inv = inventory_new(c, c->cfg, c->inf_nodes, tc->pods);
    tc->node_gen = gn;
    tc->inv_cfg = c->cfg;
    tc->have_inv = true;
}
