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
    char *name;             /* ladder name users write: "mig-3g.40gb", "gpu", "gpu*2", "shared/4", "gpu-20gb"
                             * (media-extension slices: "mig-1g.10gb.me", like their resource; "+me" accepted) */
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
    /* --- added by the tier catalogue (docs/tiers.md) --- */
    bool in_ladder;         /* on the model's default ladder (what ksiss_catalog_ladder returns:
                             * MIG profiles without +me, gpu, gpu*N). Shares, gpu-<N>gb and +me
                             * slices are ranked too but only used when a service lists them.
                             * `rank` orders ALL tiers of a model by capacity. */
    int replicas;           /* shared tiers (nvidia.com/gpu.shared): N per GPU; otherwise 0 */
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

/* ---- added by the tier catalogue (src/core/tiers.c, docs/tiers.md) ---- */

/* Name of the built-in default model ("H100-80GB"). */
#define KSISS_DEFAULT_GPU_MODEL "H100-80GB"

/* Model by canonical name, case-insensitively ("h100-80gb"), or by a
 * nvidia.com/gpu.product label; NULL when neither. */
const ksiss_gpu_model *ksiss_catalog_find_model(const ksiss_catalog *cat, const char *name_or_product);

/* With `nvidia.com/mig.strategy=single` the device plugin advertises MIG
 * slices as nvidia.com/gpu and GFD appends "-MIG-<profile>" to the product
 * label ("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb"). Returns the MIG tier such a
 * label names, or NULL (no MIG suffix, unknown model or profile; *err then
 * says which when err is non-NULL and the label had a MIG suffix; caller
 * frees). */
const ksiss_tier *ksiss_catalog_product_mig_tier(const ksiss_catalog *cat, const char *product, char **err);

/* The nvidia.com/gpu.shared tier of `model` (NULL = default) for a node
 * sharing each GPU `replicas` ways (label nvidia.com/gpu.replicas;
 * replicas <= 0 = the model's default). NULL and *err (caller frees) when
 * the catalogue has no such share. */
const ksiss_tier *ksiss_catalog_shared_tier(const ksiss_catalog *cat, const char *model,
                                            int replicas, char **err);

/* A comma-separated list of the model's tier names in rank order (for
 * messages); caller frees. NULL model = default. */
char *ksiss_catalog_tier_names(const ksiss_catalog *cat, const char *model);
/* A comma-separated list of the model names; caller frees. */
char *ksiss_catalog_model_names(const ksiss_catalog *cat);

/* ---- for catalog_ext.c (and the shell): building and extending ---- */

/* Deep copy of src into *dst (dst need not be initialised). Lets a caller
 * extend a copy and keep the original unchanged on failure. Returns 0. */
int ksiss_catalog_copy(ksiss_catalog *dst, const ksiss_catalog *src);

/* Adds a GPU model (strings and labels are copied; labels may be NULL when
 * n_labels is 0). mem_gib must be finite and > 0, shared_replicas >= 1.
 * Returns 0, or -1 and *err (caller frees) for a duplicate name or a bad
 * figure. */
int ksiss_catalog_add_model(ksiss_catalog *cat, const char *name, double mem_gib,
                            int shared_replicas, const char *const *labels, size_t n_labels,
                            char **err);

/* Adds a copy of *t (every string is copied; t stays the caller's) to the
 * group of its model t->gpu_model, then re-ranks that model's tiers by
 * capacity (ksiss_catalog_rerank). Refuses (-1, *err, caller frees) an
 * unknown model, a duplicate tier name or resource+count within the model,
 * a count < 1, non-finite or negative figures, a zero capacity.
 * Reallocates cat->tiers: tier pointers taken before are invalid after. */
int ksiss_catalog_add_tier(ksiss_catalog *cat, const ksiss_tier *t, char **err);

/* Re-sorts `model`'s tiers by capacity and renumbers their ranks.
 * Capacity order: mean of prefill_rel and decode_rel, then memory, cost,
 * kind (MIG < shared < whole GPU), count, name. */
void ksiss_catalog_rerank(ksiss_catalog *cat, const char *model);

/* Fill *t (all strings owned by t; free with ksiss_tier_clear) with the
 * catalogue's default figures, as used for the built-in tiers:
 *  - MIG profile `profile` ("3g.40gb" or "1g.10gb+me") of model m, using
 *    g of g_total compute slices and mem_slices of mem_total memory slices,
 *    mem_gib of memory. sm7_share is the 7g (full) slice's share of the
 *    whole GPU's SMs (1.0 unless known otherwise, A100: 98/108).
 *  - a nvidia.com/gpu.shared share, 1 of `replicas` per GPU;
 *  - an MPS slice in the original's nvidia.com/gpu-<gb>gb naming;
 *  - `count` whole GPUs (1, 2, 4, 8 have built-in scaling factors; other
 *    counts get 0.8 x count, documented as an assumption).
 * Return 0, or -1 and *err (caller frees) for impossible figures (e.g.
 * g > g_total, gb >= the GPU's memory, replicas < 2 or > 48). */
int ksiss_tier_init_mig(ksiss_tier *t, const ksiss_gpu_model *m, const char *profile,
                        int g, int g_total, int mem_slices, int mem_total, double mem_gib,
                        double sm7_share, char **err);
int ksiss_tier_init_shared(ksiss_tier *t, const ksiss_gpu_model *m, int replicas, char **err);
int ksiss_tier_init_mps_gb(ksiss_tier *t, const ksiss_gpu_model *m, int gb, char **err);
int ksiss_tier_init_gpus(ksiss_tier *t, const ksiss_gpu_model *m, int count, char **err);
/* Frees the strings of *t and zeroes it (not t itself). */
void ksiss_tier_clear(ksiss_tier *t);

/* Parses a MIG profile "<g>g.<mem>gb" with an optional "+me" suffix
 * (NVIDIA's spelling) or ".me" (the device plugin's resource spelling).
 * Returns 0 and the numbers, or -1 for anything else (no overflow, no
 * signs, no leading zeros, g and mem >= 1). */
int ksiss_parse_mig_profile(const char *profile, int *g, int *mem_gb, bool *media_ext);

#endif
