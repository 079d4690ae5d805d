/* inventory_watch.c: Nodes and Pods informers feeding the pure inventory
 * computation, recomputed lazily when either cache changed. */
#include "shell/inventory_watch.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct ksiss_inventory_watch {
    ksiss_kube_informer *nodes;
    ksiss_kube_informer *pods;
    uint64_t nodes_gen, pods_gen;
    const ksiss_catalog *cat;
    bool have;
    ksiss_inventory inv;
};

ksiss_inventory_watch *ksiss_inventory_watch_start(ksiss_kube *k, char **err)
{
    ksiss_inventory_watch *w = ksiss_xcalloc(1, sizeof *w);
    ksiss_kube_informer_opts no = {.res = &KSISS_KUBE_NODES};
    /* Terminated pods hold nothing: leave them out of the cache. */
    ksiss_kube_informer_opts po = {.res = &KSISS_KUBE_PODS,
                                   .field_selector = "status.phase!=Succeeded,status.phase!=Failed"};
    w->nodes = ksiss_kube_informer_start(k, &no, err);
    if (!w->nodes) {
        free(w);
        return NULL;
    }
    w->pods = ksiss_kube_informer_start(k, &po, err);
    if (!w->pods) {
        ksiss_kube_informer_stop(w->nodes);
        free(w);
        return NULL;
    }
    return w;
}

void ksiss_inventory_watch_stop(ksiss_inventory_watch *w)
{
    if (!w)
        return;
    ksiss_kube_informer_stop(w->nodes);
    ksiss_kube_informer_stop(w->pods);
    if (w->have)
        ksiss_inventory_free(&w->inv);
    free(w);
}

bool ksiss_inventory_watch_synced(ksiss_inventory_watch *w)
{
    return ksiss_kube_informer_synced(w->nodes) && ksiss_kube_informer_synced(w->pods);
}

const ksiss_inventory *ksiss_inventory_watch_get(ksiss_inventory_watch *w, const ksiss_catalog *cat, char **problem)
{
    if (problem) {
        char *a = ksiss_kube_informer_last_error(w->nodes);
        char *b = ksiss_kube_informer_last_error(w->pods);
        *problem = a && b ? ksiss_xasprintf("%s; %s", a, b) : a ? ksiss_xstrdup(a) : ksiss_xstrdup(b);
        free(a);
        free(b);
    }
    if (!ksiss_inventory_watch_synced(w))
        return NULL;
    uint64_t ng = ksiss_kube_informer_generation(w->nodes);
    uint64_t pg = ksiss_kube_informer_generation(w->pods);
    if (w->have && ng == w->nodes_gen && pg == w->pods_gen && cat == w->cat)
        return &w->inv;
    json_t *nodes = ksiss_kube_informer_snapshot(w->nodes);
    json_t *pods = ksiss_kube_informer_snapshot(w->pods);
    if (w->have)
        ksiss_inventory_free(&w->inv);
    ksiss_inventory_compute(cat, nodes, pods, &w->inv);
    json_decref(nodes);
    json_decref(pods);
    w->have = true;
    w->nodes_gen = ng;
    w->pods_gen = pg;
    w->cat = cat;
    return &w->inv;
}
