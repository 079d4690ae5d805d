/* inventory_records.h: the GPU inventory computed from the watch caches'
 * Node and Pod records (kube_object.h), one record parsed at a time; the
 * pure computation is src/core/inventory.c. */
#ifndef KSISS_INVENTORY_RECORDS_H
#define KSISS_INVENTORY_RECORDS_H

#include "core/inventory.h"
#include "core/tiers.h"
#include "shell/kube.h"
#include "shell/kube_object.h"

/* The informers the inventory's records come from, as the control loop
 * starts them: Nodes and Pods cluster-wide (Pods of every phase: the
 * Knative view reads them too), trimmed by ksiss_kube_transform_node/_pod. */
extern const ksiss_kube_informer_opts KSISS_INVENTORY_NODES_INFORMER;
extern const ksiss_kube_informer_opts KSISS_INVENTORY_PODS_INFORMER;

/* The inventory of `nodes` and `pods` (borrowed; pods of every namespace,
 * terminated ones included: they hold nothing). Each record is parsed,
 * added and dropped in turn, so no Node or Pod list is ever held as JSON
 * (400 Nodes would be ~4 MB of JSON values). What cannot be understood is
 * skipped with a warning in out->warnings, as ksiss_inventory_compute
 * does. Returns 0; free with ksiss_inventory_free. */
int ksiss_inventory_from_records(const ksiss_catalog *cat, const ksiss_kobj_list *nodes,
                                 const ksiss_kobj_list *pods, ksiss_inventory *out);

#endif
