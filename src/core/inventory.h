/* inventory.h: the live GPU inventory, computed purely from Node and Pod
 * objects (as the API returns them, jansson values; no I/O): per usable
 * node (Ready and not cordoned) its GPU model and GPU resources, and per
 * (GPU model, resource) the allocatable units, what bound non-terminated
 * pods request, what Pending unbound pods claim, and what is free. The
 * free units feed ksiss_free_gpu[] of the decision policy. Rules in
 * docs/kubernetes.md ("Inventory"). */
#ifndef KSISS_INVENTORY_H
#define KSISS_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/policy.h"
#include "core/tiers.h"

typedef struct {
    char *resource;             /* as the policy names it: "nvidia.com/mig-3g.40gb" (single-strategy MIG
                                 * nodes' nvidia.com/gpu is reported under its slice's resource) */
    long long allocatable;
    long long requested;        /* by non-terminated pods bound to the node */
} ksiss_inventory_res;

typedef struct {
    char *name;
    bool ready;                 /* condition Ready == "True" */
    bool schedulable;           /* not spec.unschedulable */
    char *product;              /* nvidia.com/gpu.product label, or NULL */
    const char *gpu_model;      /* catalogue model name (borrowed from the catalogue), NULL = unknown */
    int replicas;               /* nvidia.com/gpu.replicas label; 0 = absent */
    ksiss_inventory_res *res;   /* GPU resources only */
    size_t n_res;
} ksiss_inventory_node;

typedef struct {
    const char *gpu_model;      /* borrowed from the catalogue */
    char *resource;
    long long allocatable;      /* on usable nodes */
    long long requested;        /* by bound, non-terminated pods on usable nodes */
    long long pending;          /* claims of Pending pods not yet bound */
    long long free;             /* max(0, allocatable - requested - pending) */
} ksiss_inventory_entry;

/* Where a Knative revision's pod is bound (pods with the label
 * serving.knative.dev/revision, not terminated, on a node given). */
typedef struct {
    char *ns;
    char *revision;
    size_t node;                /* index into nodes */
} ksiss_inventory_placement;

typedef struct {
    ksiss_inventory_node *nodes;    /* every node given, usable or not */
    size_t n_nodes;
    ksiss_inventory_entry *entries; /* sorted by model then resource */
    size_t n_entries;
    char **warnings;                /* things skipped and why (unknown product, bad quantity, ...) */
    size_t n_warnings;
    ksiss_inventory_placement *placements;  /* sorted by (ns, revision, node) */
    size_t n_placements;
} ksiss_inventory;

/* Computes the inventory. `nodes` and `pods` are JSON arrays of Node and
 * Pod objects (borrowed; NULL = empty). Never fails on odd objects: what
 * cannot be understood is skipped with a warning (a node whose product is
 * unknown counts for no model, so no tier is believed free). Returns 0;
 * -1 only when nodes/pods are not arrays. Free with ksiss_inventory_free. */
int ksiss_inventory_compute(const ksiss_catalog *cat, const json_t *nodes, const json_t *pods,
                            ksiss_inventory *out);
void ksiss_inventory_free(ksiss_inventory *inv);

/* The same computation one object at a time, for callers that never hold
 * every Node or Pod as JSON at once: begin with the nodes (a JSON array,
 * or NULL; -1 when not an array: nothing is allocated then and end is not
 * needed), add more nodes one by one (borrowed), then each pod (borrowed;
 * any order, each once; no node may be added after the first pod), end.
 * ksiss_inventory_compute is begin + add each pod + end. */
typedef struct {
    const char *name;
    size_t idx;
} ksiss_inventory_node_ref;

typedef struct {
    const ksiss_catalog *cat;
    ksiss_inventory *inv;
    const ksiss_tier **single;          /* per node: its single-strategy MIG slice, or NULL */
    ksiss_inventory_node_ref *by_name;  /* the nodes sorted by (name, index), made at the first pod */
    size_t cap;                         /* nodes and single allocated */
} ksiss_inventory_builder;

int ksiss_inventory_begin(ksiss_inventory_builder *b, const ksiss_catalog *cat, const json_t *nodes,
                          ksiss_inventory *out);
void ksiss_inventory_add_node(ksiss_inventory_builder *b, const json_t *node);
void ksiss_inventory_add_pod(ksiss_inventory_builder *b, const json_t *pod);
void ksiss_inventory_end(ksiss_inventory_builder *b);

/* Writes up to `max` ksiss_free_gpu entries (strings borrowed from inv and
 * the catalogue) and returns how many there are in all. */
size_t ksiss_inventory_free_gpus(const ksiss_inventory *inv, ksiss_free_gpu *out, size_t max);

/* The entry for (model, resource), or NULL; borrowed. */
const ksiss_inventory_entry *ksiss_inventory_find(const ksiss_inventory *inv, const char *gpu_model,
                                                  const char *resource);

/* The distinct nodes the pods of revision `revision` in namespace `ns`
 * are bound to (borrowed from inv), up to max into out, in node order;
 * returns how many there are. What tells the GPU model of a service in
 * the original's format (gpu_resolve.h). */
size_t ksiss_inventory_revision_nodes(const ksiss_inventory *inv, const char *ns, const char *revision,
                                      const ksiss_inventory_node **out, size_t max);

/* Units of `resource` a pod asks for by the Kubernetes rule: the larger of
 * the largest init container and the sum of the app containers (sidecar
 * init containers, restartPolicy Always, count with the app containers),
 * plus spec.overhead. A container's requests, or its limits when it sets
 * no request. -1 when a quantity is not a non-negative integer. */
long long ksiss_pod_request(const json_t *pod, const char *resource);

#endif
