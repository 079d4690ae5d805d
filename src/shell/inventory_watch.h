/* inventory_watch.h: the live GPU inventory kept current from two
 * informers (Nodes, and Pods not yet Succeeded/Failed) instead of relisting
 * every tick; the pure computation is src/core/inventory.c. */
#ifndef KSISS_INVENTORY_WATCH_H
#define KSISS_INVENTORY_WATCH_H

#include <stdbool.h>

#include "core/inventory.h"
#include "core/tiers.h"
#include "shell/kube.h"

typedef struct ksiss_inventory_watch ksiss_inventory_watch;

/* Starts watching Nodes and Pods cluster-wide (RBAC: list/watch nodes and
 * pods). k must outlive the watch. NULL and *err (caller frees) on failure. */
ksiss_inventory_watch *ksiss_inventory_watch_start(ksiss_kube *k, char **err);
void ksiss_inventory_watch_stop(ksiss_inventory_watch *w);

/* True once both informers have listed. */
bool ksiss_inventory_watch_synced(ksiss_inventory_watch *w);

/* The inventory now, recomputed only when a Node or Pod changed (or cat is
 * another catalogue) since the last call. Borrowed: valid until the next
 * call or stop; one caller at a time (the control loop). NULL until
 * synced. *problem (caller frees; may be NULL) gets the informers' last
 * error, if any, so a stale inventory is never silent. */
const ksiss_inventory *ksiss_inventory_watch_get(ksiss_inventory_watch *w, const ksiss_catalog *cat,
                                                 char **problem);

#endif
