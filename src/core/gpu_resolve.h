/* gpu_resolve.h: which GPU model a service's tiers belong to. A service in
 * the original's list format names no model, so it is found at run time
 * from what the shell saw: the GPU resource its serving revision requests
 * (nvidia.com/mig-1g.5gb exists only on A100-40GB) and the
 * nvidia.com/gpu.product label of the nodes its pods run on (A100-80GB and
 * H100-80GB share profile names; the label tells them apart). Pure: the
 * shell gathers the evidence, this decides. Rules in docs/configuration.md
 * ("The original's format"). */
#ifndef KSISS_GPU_RESOLVE_H
#define KSISS_GPU_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/tiers.h"

/* A node one of the serving revision's pods is bound to. */
typedef struct {
    const char *name;       /* node name (for messages) */
    const char *product;    /* its nvidia.com/gpu.product label, NULL when it has none */
} ksiss_gpu_node_seen;

/* What the shell saw of a service (every string borrowed). */
typedef struct {
    const char *revision;   /* the serving revision (status.latestReadyRevisionName), NULL: none */
    const char *resource;   /* the GPU resource it requests ("nvidia.com/mig-1g.5gb"), NULL: none known */
    long long count;        /* units of resource */
    const ksiss_gpu_node_seen *nodes;   /* the nodes its pods are bound to, each once */
    size_t n_nodes;
} ksiss_gpu_evidence;

typedef enum {
    KSISS_GPU_FROM_CONFIG = 0,  /* `gpu:` in the extended format (always wins) */
    KSISS_GPU_DEFAULT,          /* extended format without `gpu:`: the catalogue's default model */
    KSISS_GPU_FROM_RESOURCE,    /* only one model has the resource the revision requests */
    KSISS_GPU_FROM_NODES,       /* the product label of the nodes its pods run on */
    KSISS_GPU_UNKNOWN,          /* cannot be determined: hold (reason code gpu_model_unknown) */
    KSISS_GPU_MIXED,            /* pods on nodes of two or more models: hold (gpu_model_mixed) */
} ksiss_gpu_source;

typedef struct {
    const char *model;      /* catalogue model name (borrowed from the catalogue); NULL when UNKNOWN or MIXED */
    ksiss_gpu_source source;
    char *seen;             /* owned: one sentence naming what was seen (resource, nodes, labels) */
} ksiss_gpu_resolution;

/* True when the service's GPU model is found at run time: the original's
 * list format, which cannot name one. */
bool ksiss_gpu_model_inferred(const ksiss_service_cfg *svc);

/* Resolves the service's model. An explicit model (extended format) wins
 * and needs no evidence (ev may be NULL). Otherwise:
 *  - pods on nodes whose labels name two or more models: MIXED;
 *  - one model named by the nodes' labels: that model, unless the
 *    revision's resource is not a tier of it (UNKNOWN: label and resource
 *    disagree); nodes without a known label are named in `seen`;
 *  - no labelled node: the model the resource belongs to when exactly one
 *    model of the catalogue has it, else UNKNOWN.
 * Always fills *out (free with ksiss_gpu_resolution_clear). */
void ksiss_gpu_resolve(const ksiss_catalog *cat, const ksiss_service_cfg *svc, const ksiss_gpu_evidence *ev,
                       ksiss_gpu_resolution *out);
void ksiss_gpu_resolution_clear(ksiss_gpu_resolution *r);

/* "gpu:", "default", "resource", "nodes", "unknown", "mixed". */
const char *ksiss_gpu_source_name(ksiss_gpu_source s);

/* The decision when the model is not resolved (UNKNOWN or MIXED): hold
 * the current instances, reason code gpu_model_unknown or
 * gpu_model_mixed, the reason naming what was seen. *out is overwritten
 * (free with ksiss_decision_clear). */
void ksiss_gpu_hold(const ksiss_gpu_resolution *r, const ksiss_deployment *current, ksiss_decision *out);

/* The ladder of a service in the original's format on `model`: on
 * A100-40GB the original's own (mig-1g.5gb, 2g.10gb, 3g.20gb, 4g.20gb,
 * 7g.40gb), then the whole GPUs it could not reach; on any other model its
 * default ladder. Up to max tiers into out; returns how many there are. */
size_t ksiss_gpu_legacy_ladder(const ksiss_catalog *cat, const char *model, const ksiss_tier **out, size_t max);

/* *out = svc as it applies on `model`: a shallow copy (metrics, names and
 * the rest borrowed from svc) whose gpu_model is the catalogue's name of
 * model and whose ladder is its own (ksiss_gpu_legacy_ladder for a service
 * in the original's format, svc's otherwise). Free with
 * ksiss_gpu_service_free, which frees only that ladder; svc must outlive
 * *out. */
void ksiss_gpu_service_for_model(const ksiss_catalog *cat, const ksiss_service_cfg *svc, const char *model,
                                 ksiss_service_cfg *out);
void ksiss_gpu_service_free(ksiss_service_cfg *s);

#endif
