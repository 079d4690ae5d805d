/* tiers.h: the GPU tier catalogue. A tier is what one serving instance of a
 * service gets: a MIG slice, an MPS/time-sliced share, or one or more whole
 * GPUs, of a given GPU model, with its Kubernetes resource name, its share
 * of the GPU (compute, memory, bandwidth), a cost weight and relative
 * throughput estimates. Pure: built-in tables plus user extensions parsed
 * from text; no I/O. */
#ifndef KSISS_TIERS_H
#define KSISS_TIERS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/diag.h"

typedef enum {
    KSISS_TIER_MIG = 0,     /* nvidia.com/mig-<g>g.<mem>gb */
    KSISS_TIER_SHARED,      /* nvidia.com/gpu.shared (MPS/time-slicing) or the original's nvidia.com/gpu-<N>gb */
    KSISS_TIER_GPU,         /* nvidia.com/gpu x count */
} ksiss_tier_kind;

typedef struct {
    char *name;             /* canonical: "H100-80GB" */
    char **product_labels;  /* values of nvidia.com/gpu.product that mean this model */
    size_t n_product_labels;
    double mem_gib;         /* whole-GPU memory */
    int shared_replicas;    /* default N for nvidia.com/gpu.shared shares (node label nvidia.com/gpu.replicas overrides) */
} ksiss_gpu_model;

typedef struct {
    char *name;             /* ladder name users write: "mig-3g.40gb", "gpu", "gpu*2", "shared/4", "gpu-20gb" */
    char *resource;         /* Kubernetes extended resource: "nvidia.com/mig-3g.40gb" */
    int count;              /* units of `resource` one instance requests (gpu*2 -> 2) */
    ksiss_tier_kind kind;
    char *gpu_model;        /* name of the ksiss_gpu_model it belongs to */
    double compute_frac;    /* share of one GPU's compute (gpu*2 -> 2.0) */
    double mem_gib;         /* memory the instance can use */
    double bw_frac;         /* share of one GPU's memory bandwidth */
    double cost;            /* cost weight in GPU-equivalents: the share of GPUs it blocks */
    double prefill_rel;     /* prefill throughput relative to one whole GPU of the model */
    double decode_rel;      /* decode throughput relative to one whole GPU of the model */
    char *perf_source;      /* where the two estimates come from (citation or "measured: ...") */
    int rank;               /* position in the model's ladder, 0 = smallest */
} ksiss_tier;

typedef struct {
    ksiss_gpu_model *models;
    size_t n_models;
    ksiss_tier *tiers;      /* grouped by model; within a model ordered by rank */
    size_t n_tiers;
    char *default_model;    /* model assumed when a service names none ("H100-80GB") */
} ksiss_catalog;

/* Fills *cat with the built-in catalogue (A30-24GB, A100-40GB, A100-80GB,
 * H100-80GB, H200-141GB). Returns 0. Free with ksiss_catalog_free. */
int ksiss_catalog_builtin(ksiss_catalog *cat);

/* Extends *cat with GPU models and tiers from a catalogue document (YAML
 * text; format in docs/catalog.md). Every problem goes to *d with FILE,
 * line and column (line_offset is added to lines: used when the text is
 * embedded in a ConfigMap block). Returns 0 when nothing was wrong, -1
 * otherwise (cat is then unchanged). */
int ksiss_catalog_extend(ksiss_catalog *cat, const char *text, size_t len,
                         const char *file, int line_offset, int col_offset,
                         ksiss_diags *d);

void ksiss_catalog_free(ksiss_catalog *cat);

const ksiss_gpu_model *ksiss_catalog_model(const ksiss_catalog *cat, const char *name);
/* Model named by a node's nvidia.com/gpu.product label, or NULL. */
const ksiss_gpu_model *ksiss_catalog_model_by_product(const ksiss_catalog *cat, const char *product);

/* Tier of `model` (NULL = default model) by ladder name ("mig-3g.40gb",
 * "gpu*2", ...), or NULL. */
const ksiss_tier *ksiss_catalog_tier(const ksiss_catalog *cat, const char *model, const char *name);

/* Tier of `model` (NULL = default) that `count` units of the Kubernetes
 * resource `resource` make ("nvidia.com/mig-3g.40gb" x1, "nvidia.com/gpu"
 * x2, ...). Unknown resource names or counts: NULL and a message in *err
 * (caller frees). Never a silent default. */
const ksiss_tier *ksiss_catalog_tier_for_resource(const ksiss_catalog *cat, const char *model,
                                                  const char *resource, long long count, char **err);

/* True when `resource` looks like an NVIDIA GPU resource at all
 * (nvidia.com/gpu, nvidia.com/gpu.shared, nvidia.com/gpu-<N>gb, nvidia.com/mig-...). */
bool ksiss_is_gpu_resource(const char *resource);

/* The ordered ladder of `model` (NULL = default): up to `max` tier
 * pointers, smallest first, crossing types (mig-7g -> gpu -> gpu*2 ...).
 * Returns the number of tiers in the ladder (may exceed max). */
size_t ksiss_catalog_ladder(const ksiss_catalog *cat, const char *model,
                            const ksiss_tier **out, size_t max);

const char *ksiss_tier_kind_name(ksiss_tier_kind k);

#endif
