/* tiers.c: the GPU tier catalogue: built-in GPU models and their MIG
 * profiles, MPS/time-sliced shares and whole-GPU tiers with their figures
 * and sources; parsing of Kubernetes GPU resource names and GFD product
 * labels into tiers; the capacity-ordered ladder per model; and the helpers
 * catalog_ext.c uses to add user models and tiers. Pure: no I/O, no
 * globals besides const tables. Figures and their sources: docs/tiers.md. */
#include "core/tiers.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

/* ------------------------------------------------------------------ */
/* Built-in tables (profile names as NVIDIA writes them; the resource  */
/* and tier names spell "+me" as ".me", see ksiss_tier_init_mig).      */
/*                                                                     */
/* MIG profiles: NVIDIA Multi-Instance GPU User Guide (R580), "Supported */
/* MIG Profiles", https://docs.nvidia.com/datacenter/tesla/mig-user-guide/ */
/* supported-mig-profiles.html: Table "GPU Instance Profiles on A100"   */
/* (A100-SXM4-40GB; the 80GB names scale the memory), "... on H100"     */
/* (80GB), "... on H200" (141GB), and the A30-24GB table. Each row:     */
/* profile, compute slices, memory slices (of 7 and 8; A30: of 4 and 4), */
/* and the memory the profile name advertises (nominal GB; nvidia-smi   */
/* mig -lgip reports a little less usable memory, e.g. 19.50 GiB for    */
/* A100-40GB 3g.20gb: docs/tiers.md).                                   */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *profile;
    int g;          /* compute slices */
    int mem;        /* memory slices */
    double mem_gib; /* nominal memory of the profile */
} mig_def;

static const mig_def mig_a30[] = {
    {"1g.6gb", 1, 1, 6}, {"1g.6gb+me", 1, 1, 6},
    {"2g.12gb", 2, 2, 12}, {"2g.12gb+me", 2, 2, 12},
    {"4g.24gb", 4, 4, 24},
};
static const mig_def mig_a100_40[] = {
    {"1g.5gb", 1, 1, 5}, {"1g.5gb+me", 1, 1, 5}, {"1g.10gb", 1, 2, 10},
    {"2g.10gb", 2, 2, 10}, {"3g.20gb", 3, 4, 20}, {"4g.20gb", 4, 4, 20},
    {"7g.40gb", 7, 8, 40},
};
/* A100-80GB and H100-80GB share the profile names. */
static const mig_def mig_80[] = {
    {"1g.10gb", 1, 1, 10}, {"1g.10gb+me", 1, 1, 10}, {"1g.20gb", 1, 2, 20},
    {"2g.20gb", 2, 2, 20}, {"3g.40gb", 3, 4, 40}, {"4g.40gb", 4, 4, 40},
    {"7g.80gb", 7, 8, 80},
};
/* H200: 1g.35gb has 1/4 of the memory (2 slices) like A100's 1g.10gb. */
static const mig_def mig_h200[] = {
    {"1g.18gb", 1, 1, 18}, {"1g.18gb+me", 1, 1, 18}, {"1g.35gb", 1, 2, 35},
    {"2g.35gb", 2, 2, 35}, {"3g.71gb", 3, 4, 71}, {"4g.71gb", 4, 4, 71},
    {"7g.141gb", 7, 8, 141},
};

/* GFD's nvidia.com/gpu.product is the CUDA device name with spaces turned
 * into '-' (older drivers omit "NVIDIA "); the lookup also strips a
 * "-MIG-<profile>" suffix (single MIG strategy) and "-SHARED" (sharing
 * without renameByDefault), and ignores case. */
static const char *const labels_a30[] = {"NVIDIA-A30", "A30"};
static const char *const labels_a100_40[] = {
    "NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB", "A100-SXM4-40GB", "A100-PCIE-40GB",
};
static const char *const labels_a100_80[] = {
    "NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe", "NVIDIA-A100-PCIE-80GB",
    "A100-SXM4-80GB", "A100-80GB-PCIe",
};
static const char *const labels_h100[] = {
    "NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-SXM5-80GB", "NVIDIA-H100",
};
static const char *const labels_h200[] = {"NVIDIA-H200", "NVIDIA-H200-NVL", "NVIDIA-H200-141GB-HBM3e"};

/* The shares built in for each model: nvidia.com/gpu.shared 1 of N, and
 * the original's nvidia.com/gpu-<N>gb at the memory sizes of the model's
 * 1/8, 1/4 and 1/2 MIG profiles. Other N: ksiss_catalog_add_tier. */
static const int shared_7[] = {2, 4, 7};
static const int shared_4[] = {2, 4};
static const int mps_a30[] = {6, 12};
static const int mps_a100_40[] = {5, 10, 20};
static const int mps_80[] = {10, 20, 40};
static const int mps_h200[] = {18, 35, 71};
static const int whole_gpus[] = {1, 2, 4, 8};

typedef struct {
    const char *name;
    double mem_gib;
    int shared_default;     /* default N of nvidia.com/gpu.shared */
    int g_total, mem_total; /* MIG slices */
    double sm7_share;       /* SMs of the full MIG slice / SMs of the GPU */
    const mig_def *mig;
    size_t n_mig;
    const char *const *labels;
    size_t n_labels;
    const int *shared;
    size_t n_shared;
    const int *mps;
    size_t n_mps;
} model_def;

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* A100 in MIG mode: the 7g.40gb slice has 98 SMs of the 108 the GPU has
 * (14 per slice; NVIDIA MIG User Guide, `nvidia-smi mig -lgip` example on
 * A100-SXM4-40GB). Hopper's 7g slice keeps all SMs (132 on SXM). A30's
 * 4g.24gb slice is the whole GPU. */
static const model_def builtin_models[] = {
    {"A30-24GB", 24, 4, 4, 4, 1.0, mig_a30, N_(mig_a30), labels_a30, N_(labels_a30),
     shared_4, N_(shared_4), mps_a30, N_(mps_a30)},
    {"A100-40GB", 40, 7, 7, 8, 98.0 / 108.0, mig_a100_40, N_(mig_a100_40), labels_a100_40,
     N_(labels_a100_40), shared_7, N_(shared_7), mps_a100_40, N_(mps_a100_40)},
    {"A100-80GB", 80, 7, 7, 8, 98.0 / 108.0, mig_80, N_(mig_80), labels_a100_80,
     N_(labels_a100_80), shared_7, N_(shared_7), mps_80, N_(mps_80)},
    {"H100-80GB", 80, 7, 7, 8, 1.0, mig_80, N_(mig_80), labels_h100, N_(labels_h100),
     shared_7, N_(shared_7), mps_80, N_(mps_80)},
    {"H200-141GB", 141, 7, 7, 8, 1.0, mig_h200, N_(mig_h200), labels_h200, N_(labels_h200),
     shared_7, N_(shared_7), mps_h200, N_(mps_h200)},
};

/* ParvaGPU (Lee et al., SC'24), A100-80GB MIG profiling of 11 DNN models:
 * best throughput of a g-slice relative to the 7g slice. Measured; applied
 * to LLM prefill (compute bound) on every 7-slice GPU. */
static double parva_rel(int g)
{
    switch (g) {
    case 1: return 0.15;
    case 2: return 0.31;
    case 3: return 0.51;
    case 4: return 0.62;
    case 7: return 1.0;
    default: return -1;
    }
}

/* Tensor-parallel speed-up of N whole GPUs over one: an assumption
 * (90%, 85%, 80% scaling efficiency for TP 2, 4, 8: each layer ends in an
 * all-reduce over NVLink; published TP benchmarks scale sub-linearly).
 * Other counts: 0.8 x N. */
static double tp_speedup(int n)
{
    switch (n) {
    case 1: return 1.0;
    case 2: return 1.8;
    case 4: return 3.4;
    case 8: return 6.4;
    default: return 0.8 * n;
    }
}

#define SRC_DECODE_BW "decode: memory slices/%d (reasoned: LLM decode is memory-bandwidth bound and a slice's bandwidth follows its memory slices; not measured)"

static char *mig_source(int g, int g_total, int mem_total, double sm7_share)
{
    if (g_total == 7 && parva_rel(g) > 0) {
        char *a100 = sm7_share < 1.0
                         ? ksiss_xasprintf(" x %.3f (98 of 108 SMs: the A100's 7g slice vs the whole GPU, NVIDIA MIG User Guide)", sm7_share)
                         : ksiss_xstrdup("");
        char *s = ksiss_xasprintf("MIG: prefill: ParvaGPU (SC'24) A100 MIG profiling, g-slice vs 7g: 1g 0.15, 2g 0.31, 3g 0.51, 4g 0.62 (measured on DNN models)%s; " SRC_DECODE_BW,
                                  a100, mem_total);
        free(a100);
        return s;
    }
    return ksiss_xasprintf("MIG: prefill: compute slices/%d (reasoned: prefill is compute bound, linear in SMs; not measured); " SRC_DECODE_BW,
                           g_total, mem_total);
}

static const char SRC_SHARED[] =
    "shared: 1/N of compute, memory and bandwidth (reasoned: MPS with a 1/N active-thread and memory limit per client, as the GPU Operator sets them; time-slicing isolates neither; not measured)";
static const char SRC_MPS_GB[] =
    "gpu-<N>gb: the original's MPS slices: N GB of the GPU's memory, compute and bandwidth in the same proportion (reasoned; not measured)";
static const char SRC_GPUS[] =
    "gpu: one whole GPU is the reference (1.0); N GPUs with tensor parallelism: 1.8x (2), 3.4x (4), 6.4x (8), i.e. 90/85/80% scaling efficiency (assumption for the per-layer all-reduce; not measured)";

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */
/* ------------------------------------------------------------------ */

static bool figure_ok(double v)
{
    return isfinite(v) && v >= 0;
}

/* Parses a decimal integer in [lo, hi] spanning exactly s[0..n): digits
 * only, no sign, no leading zero. */
static bool parse_uint_span(const char *s, size_t n, int lo, int hi, int *out)
{
    if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int ksiss_parse_mig_profile(const char *profile, int *g, int *mem_gb, bool *media_ext)
{
    if (!profile)
        return -1;
    const char *gpos = strchr(profile, 'g');
    if (!gpos || gpos[1] != '.')
        return -1;
    int gv, mv;
    if (!parse_uint_span(profile, (size_t)(gpos - profile), 1, 1000, &gv))
        return -1;
    const char *mstart = gpos + 2;
    const char *mend = strstr(mstart, "gb");
    if (!mend)
        return -1;
    if (!parse_uint_span(mstart, (size_t)(mend - mstart), 1, 1000000, &mv))
        return -1;
    const char *rest = mend + 2;
    bool me = false;
    if (!strcmp(rest, "+me") || !strcmp(rest, ".me"))
        me = true;
    else if (*rest)
        return -1;
    *g = gv;
    *mem_gb = mv;
    *media_ext = me;
    return 0;
}

/* "nvidia.com/gpu-<N>gb": N, or -1. */
static int parse_mps_gb_resource(const char *resource)
{
    if (!ksiss_str_has_prefix(resource, "nvidia.com/gpu-") || !ksiss_str_has_suffix(resource, "gb"))
        return -1;
    const char *s = resource + strlen("nvidia.com/gpu-");
    size_t n = strlen(s);
    if (n < 3)
        return -1;
    int v;
    if (!parse_uint_span(s, n - 2, 1, 1000000, &v))
        return -1;
    return v;
}

/* ------------------------------------------------------------------ */
/* Tier construction.                                                  */
/* ------------------------------------------------------------------ */

void ksiss_tier_clear(ksiss_tier *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->resource);
    free(t->gpu_model);
    free(t->perf_source);
    memset(t, 0, sizeof(*t));
}

static void tier_copy(ksiss_tier *dst, const ksiss_tier *src)
{
    *dst = *src;
    dst->name = ksiss_xstrdup(src->name);
    dst->resource = ksiss_xstrdup(src->resource);
    dst->gpu_model = ksiss_xstrdup(src->gpu_model);
    dst->perf_source = ksiss_xstrdup(src->perf_source ? src->perf_source : "");
}

static int fail(char **err, char *msg)
{
    if (err)
        *err = msg;
    else
        free(msg);
    return -1;
}

int ksiss_tier_init_mig(ksiss_tier *t, const ksiss_gpu_model *m, const char *profile,
                        int g, int g_total, int mem_slices, int mem_total, double mem_gib,
                        double sm7_share, char **err)
{
    memset(t, 0, sizeof(*t));
    int pg, pmem;
    bool me;
    if (!m || !profile || ksiss_parse_mig_profile(profile, &pg, &pmem, &me) != 0)
        return fail(err, ksiss_xasprintf("MIG profile '%s' is not of the form <g>g.<mem>gb[+me]",
                                         profile ? profile : "(null)"));
    if (g_total < 1 || g_total > 64 || mem_total < 1 || mem_total > 64 || g < 1 || g > g_total ||
        mem_slices < 1 || mem_slices > mem_total)
        return fail(err, ksiss_xasprintf("MIG profile %s of %s: slices %d/%d compute, %d/%d memory are impossible",
                                         profile, m->name, g, g_total, mem_slices, mem_total));
    if (pg != g)
        return fail(err, ksiss_xasprintf("MIG profile %s names %d compute slices, not %d", profile, pg, g));
    if (!isfinite(mem_gib) || mem_gib <= 0 || mem_gib > m->mem_gib * 1.0001)
        return fail(err, ksiss_xasprintf("MIG profile %s of %s: memory %g GiB is not in (0, %g]",
                                         profile, m->name, mem_gib, m->mem_gib));
    if (!isfinite(sm7_share) || sm7_share <= 0 || sm7_share > 1)
        return fail(err, ksiss_xasprintf("MIG profile %s of %s: the full slice's SM share %g is not in (0, 1]",
                                         profile, m->name, sm7_share));
    t->kind = KSISS_TIER_MIG;
    /* Kubernetes resource names cannot hold '+': the device plugin
     * advertises profile 1g.10gb+me as nvidia.com/mig-1g.10gb.me
     * (k8s-device-plugin internal/rm/rm.go: ReplaceAll("mig-"+profile, "+", ".")).
     * The tier name follows the resource; "+me" is accepted as an alias. */
    t->name = ksiss_xasprintf("mig-%dg.%dgb%s", pg, pmem, me ? ".me" : "");
    t->resource = ksiss_xasprintf("nvidia.com/%s", t->name);
    t->count = 1;
    t->gpu_model = ksiss_xstrdup(m->name);
    double cfrac = (double)g / g_total, mfrac = (double)mem_slices / mem_total;
    t->compute_frac = cfrac;
    t->mem_gib = mem_gib;
    t->bw_frac = mfrac;
    /* The share of the GPU the slice blocks: a 3g.40gb slice leaves 4
     * compute slices but only half the memory, so it blocks half. */
    t->cost = cfrac > mfrac ? cfrac : mfrac;
    double parva = g_total == 7 ? parva_rel(g) : -1;
    t->prefill_rel = (parva > 0 ? parva : cfrac) * sm7_share;
    t->decode_rel = mfrac;
    t->perf_source = mig_source(g, g_total, mem_total, sm7_share);
    t->in_ladder = !me;
    return 0;
}

int ksiss_tier_init_shared(ksiss_tier *t, const ksiss_gpu_model *m, int replicas, char **err)
{
    memset(t, 0, sizeof(*t));
    if (!m)
        return fail(err, ksiss_xstrdup("shared tier without a GPU model"));
    /* MPS serves at most 48 clients per GPU (NVIDIA MPS documentation,
     * Volta and later); the device plugin needs at least 2 replicas to
     * share at all. */
    if (replicas < 2 || replicas > 48)
        return fail(err, ksiss_xasprintf("nvidia.com/gpu.shared on %s: %d replicas per GPU is outside 2..48",
                                         m->name, replicas));
    double f = 1.0 / replicas;
    t->kind = KSISS_TIER_SHARED;
    t->name = ksiss_xasprintf("shared/%d", replicas);
    t->resource = ksiss_xstrdup("nvidia.com/gpu.shared");
    t->count = 1;
    t->gpu_model = ksiss_xstrdup(m->name);
    t->compute_frac = f;
    t->mem_gib = m->mem_gib * f;
    t->bw_frac = f;
    t->cost = f;
    t->prefill_rel = f;
    t->decode_rel = f;
    t->perf_source = ksiss_xstrdup(SRC_SHARED);
    t->replicas = replicas;
    t->in_ladder = false;
    return 0;
}

int ksiss_tier_init_mps_gb(ksiss_tier *t, const ksiss_gpu_model *m, int gb, char **err)
{
    memset(t, 0, sizeof(*t));
    if (!m)
        return fail(err, ksiss_xstrdup("MPS tier without a GPU model"));
    if (gb < 1 || (double)gb >= m->mem_gib)
        return fail(err, ksiss_xasprintf("nvidia.com/gpu-%dgb on %s: a share must be between 1 GB and less than the GPU's %g GB",
                                         gb, m->name, m->mem_gib));
    double f = gb / m->mem_gib;
    t->kind = KSISS_TIER_SHARED;
    t->name = ksiss_xasprintf("gpu-%dgb", gb);
    t->resource = ksiss_xasprintf("nvidia.com/gpu-%dgb", gb);
    t->count = 1;
    t->gpu_model = ksiss_xstrdup(m->name);
    t->compute_frac = f;
    t->mem_gib = gb;
    t->bw_frac = f;
    t->cost = f;
    t->prefill_rel = f;
    t->decode_rel = f;
    t->perf_source = ksiss_xstrdup(SRC_MPS_GB);
    t->in_ladder = false;
    return 0;
}

int ksiss_tier_init_gpus(ksiss_tier *t, const ksiss_gpu_model *m, int count, char **err)
{
    memset(t, 0, sizeof(*t));
    if (!m)
        return fail(err, ksiss_xstrdup("GPU tier without a GPU model"));
    if (count < 1 || count > 64)
        return fail(err, ksiss_xasprintf("nvidia.com/gpu x%d on %s: a count must be 1..64", count, m->name));
    t->kind = KSISS_TIER_GPU;
    t->name = count == 1 ? ksiss_xstrdup("gpu") : ksiss_xasprintf("gpu*%d", count);
    t->resource = ksiss_xstrdup("nvidia.com/gpu");
    t->count = count;
    t->gpu_model = ksiss_xstrdup(m->name);
    t->compute_frac = count;
    t->mem_gib = m->mem_gib * count;
    t->bw_frac = count;
    t->cost = count;
    t->prefill_rel = tp_speedup(count);
    t->decode_rel = tp_speedup(count);
    t->perf_source = ksiss_xstrdup(SRC_GPUS);
    t->in_ladder = true;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Catalogue storage.                                                  */
/* ------------------------------------------------------------------ */

static void model_clear(ksiss_gpu_model *m)
{
    free(m->name);
    for (size_t i = 0; i < m->n_product_labels; i++)
        free(m->product_labels[i]);
    free(m->product_labels);
    memset(m, 0, sizeof(*m));
}

void ksiss_catalog_free(ksiss_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->n_models; i++)
        model_clear(&cat->models[i]);
    free(cat->models);
    for (size_t i = 0; i < cat->n_tiers; i++)
        ksiss_tier_clear(&cat->tiers[i]);
    free(cat->tiers);
    free(cat->default_model);
    memset(cat, 0, sizeof(*cat));
}

int ksiss_catalog_copy(ksiss_catalog *dst, const ksiss_catalog *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->models = ksiss_xcalloc(src->n_models, sizeof(*dst->models));
    for (size_t i = 0; i < src->n_models; i++) {
        const ksiss_gpu_model *s = &src->models[i];
        ksiss_gpu_model *d = &dst->models[i];
        *d = *s;
        d->name = ksiss_xstrdup(s->name);
        d->product_labels = ksiss_xcalloc(s->n_product_labels, sizeof(char *));
        for (size_t j = 0; j < s->n_product_labels; j++)
            d->product_labels[j] = ksiss_xstrdup(s->product_labels[j]);
    }
    dst->n_models = src->n_models;
    dst->tiers = ksiss_xcalloc(src->n_tiers, sizeof(*dst->tiers));
    for (size_t i = 0; i < src->n_tiers; i++)
        tier_copy(&dst->tiers[i], &src->tiers[i]);
    dst->n_tiers = src->n_tiers;
    dst->default_model = ksiss_xstrdup(src->default_model);
    return 0;
}

static const ksiss_gpu_model *model_exact(const ksiss_catalog *cat, const char *name)
{
    if (!cat || !name)
        return NULL;
    for (size_t i = 0; i < cat->n_models; i++)
        if (!strcasecmp(cat->models[i].name, name))
            return &cat->models[i];
    return NULL;
}

int ksiss_catalog_add_model(ksiss_catalog *cat, const char *name, double mem_gib,
                            int shared_replicas, const char *const *labels, size_t n_labels,
                            char **err)
{
    if (!name || !*name)
        return fail(err, ksiss_xstrdup("a GPU model needs a name"));
    if (model_exact(cat, name))
        return fail(err, ksiss_xasprintf("GPU model %s is already in the catalogue", name));
    if (!isfinite(mem_gib) || mem_gib <= 0 || mem_gib > 1e6)
        return fail(err, ksiss_xasprintf("GPU model %s: memory %g GiB must be a positive number", name, mem_gib));
    if (shared_replicas < 1 || shared_replicas > 48)
        return fail(err, ksiss_xasprintf("GPU model %s: shared replicas %d must be 1..48", name, shared_replicas));
    for (size_t j = 0; j < n_labels; j++)
        if (!labels[j] || !*labels[j])
            return fail(err, ksiss_xasprintf("GPU model %s: empty product label", name));
    cat->models = ksiss_xrealloc(cat->models, (cat->n_models + 1) * sizeof(*cat->models));
    ksiss_gpu_model *m = &cat->models[cat->n_models++];
    memset(m, 0, sizeof(*m));
    m->name = ksiss_xstrdup(name);
    m->mem_gib = mem_gib;
    m->shared_replicas = shared_replicas;
    m->product_labels = ksiss_xcalloc(n_labels, sizeof(char *));
    for (size_t j = 0; j < n_labels; j++)
        m->product_labels[j] = ksiss_xstrdup(labels[j]);
    m->n_product_labels = n_labels;
    return 0;
}

/* Capacity order (see tiers.h). */
static int tier_cmp(const void *pa, const void *pb)
{
    const ksiss_tier *a = pa, *b = pb;
    const double eps = 1e-9;
    double ka = (a->prefill_rel + a->decode_rel) / 2, kb = (b->prefill_rel + b->decode_rel) / 2;
    if (fabs(ka - kb) > eps)
        return ka < kb ? -1 : 1;
    if (fabs(a->mem_gib - b->mem_gib) > eps)
        return a->mem_gib < b->mem_gib ? -1 : 1;
    if (fabs(a->cost - b->cost) > eps)
        return a->cost < b->cost ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Index range [*lo, *hi) of `model`'s group in cat->tiers. */
static bool model_group(const ksiss_catalog *cat, const char *model, size_t *lo, size_t *hi)
{
    size_t i = 0;
    while (i < cat->n_tiers && strcmp(cat->tiers[i].gpu_model, model) != 0)
        i++;
    size_t j = i;
    while (j < cat->n_tiers && !strcmp(cat->tiers[j].gpu_model, model))
        j++;
    *lo = i;
    *hi = j;
    return i < j;
}

void ksiss_catalog_rerank(ksiss_catalog *cat, const char *model)
{
    size_t lo, hi;
    const ksiss_gpu_model *m = model_exact(cat, model);
    if (!m || !model_group(cat, m->name, &lo, &hi))
        return;
    qsort(cat->tiers + lo, hi - lo, sizeof(*cat->tiers), tier_cmp);
    for (size_t i = lo; i < hi; i++)
        cat->tiers[i].rank = (int)(i - lo);
}

int ksiss_catalog_add_tier(ksiss_catalog *cat, const ksiss_tier *t, char **err)
{
    if (!t || !t->name || !*t->name || !t->resource || !*t->resource)
        return fail(err, ksiss_xstrdup("a tier needs a name and a resource"));
    const ksiss_gpu_model *m = model_exact(cat, t->gpu_model);
    if (!m) {
        char *names = ksiss_catalog_model_names(cat);
        int rc = fail(err, ksiss_xasprintf("tier %s: unknown GPU model '%s' (known: %s)", t->name,
                                           t->gpu_model ? t->gpu_model : "(none)", names));
        free(names);
        return rc;
    }
    if (t->count < 1)
        return fail(err, ksiss_xasprintf("tier %s of %s: count %d must be at least 1", t->name, m->name, t->count));
    if (!figure_ok(t->compute_frac) || !figure_ok(t->mem_gib) || !figure_ok(t->bw_frac) ||
        !figure_ok(t->cost) || !figure_ok(t->prefill_rel) || !figure_ok(t->decode_rel))
        return fail(err, ksiss_xasprintf("tier %s of %s: figures must be finite and not negative", t->name, m->name));
    if (t->prefill_rel <= 0 && t->decode_rel <= 0)
        return fail(err, ksiss_xasprintf("tier %s of %s: prefill and decode throughput are both zero", t->name, m->name));
    if ((int)t->kind < KSISS_TIER_MIG || (int)t->kind > KSISS_TIER_GPU)
        return fail(err, ksiss_xasprintf("tier %s of %s: unknown kind", t->name, m->name));
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *o = &cat->tiers[i];
        if (strcmp(o->gpu_model, m->name) != 0)
            continue;
        if (!strcmp(o->name, t->name))
            return fail(err, ksiss_xasprintf("tier %s of %s is already in the catalogue", t->name, m->name));
        /* Shares of one resource differ by replicas (node label), not count. */
        if (!strcmp(o->resource, t->resource) && o->count == t->count && o->replicas == t->replicas)
            return fail(err, ksiss_xasprintf("tier %s of %s: %s x%d is already tier %s", t->name, m->name,
                                             t->resource, t->count, o->name));
    }
    size_t lo, hi;
    if (!model_group(cat, m->name, &lo, &hi))
        hi = cat->n_tiers; /* first tier of this model: a new group at the end */
    cat->tiers = ksiss_xrealloc(cat->tiers, (cat->n_tiers + 1) * sizeof(*cat->tiers));
    memmove(cat->tiers + hi + 1, cat->tiers + hi, (cat->n_tiers - hi) * sizeof(*cat->tiers));
    tier_copy(&cat->tiers[hi], t);
    /* The stored model name is the catalogue's spelling. */
    free(cat->tiers[hi].gpu_model);
    cat->tiers[hi].gpu_model = ksiss_xstrdup(m->name);
    cat->n_tiers++;
    ksiss_catalog_rerank(cat, m->name);
    return 0;
}

/* Builds one built-in model's tiers; the figures are fixed, so a failure
 * is a broken table (abort is the BUG() of this code base). */
static void add_builtin_tier(ksiss_catalog *cat, ksiss_tier *t, int rc)
{
    char *err = NULL;
    if (rc != 0 || ksiss_catalog_add_tier(cat, t, &err) != 0)
        abort();
    ksiss_tier_clear(t);
}

int ksiss_catalog_builtin(ksiss_catalog *cat)
{
    memset(cat, 0, sizeof(*cat));
    for (size_t i = 0; i < N_(builtin_models); i++) {
        const model_def *d = &builtin_models[i];
        if (ksiss_catalog_add_model(cat, d->name, d->mem_gib, d->shared_default, d->labels, d->n_labels, NULL) != 0)
            abort();
        const ksiss_gpu_model *m = &cat->models[cat->n_models - 1];
        ksiss_tier t;
        for (size_t j = 0; j < d->n_mig; j++) {
            const mig_def *p = &d->mig[j];
            add_builtin_tier(cat, &t, ksiss_tier_init_mig(&t, m, p->profile, p->g, d->g_total, p->mem,
                                                          d->mem_total, p->mem_gib, d->sm7_share, NULL));
        }
        for (size_t j = 0; j < d->n_shared; j++)
            add_builtin_tier(cat, &t, ksiss_tier_init_shared(&t, m, d->shared[j], NULL));
        for (size_t j = 0; j < d->n_mps; j++)
            add_builtin_tier(cat, &t, ksiss_tier_init_mps_gb(&t, m, d->mps[j], NULL));
        for (size_t j = 0; j < N_(whole_gpus); j++)
            add_builtin_tier(cat, &t, ksiss_tier_init_gpus(&t, m, whole_gpus[j], NULL));
    }
    cat->default_model = ksiss_xstrdup(KSISS_DEFAULT_GPU_MODEL);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Lookups.                                                            */
/* ------------------------------------------------------------------ */

const ksiss_gpu_model *ksiss_catalog_model(const ksiss_catalog *cat, const char *name)
{
    return model_exact(cat, name);
}

/* Length of `p` without a trailing "-MIG-<profile>" (set *mig to the
 * profile) and "-SHARED". */
static size_t product_base_len(const char *p, const char **mig)
{
    size_t n = strlen(p);
    *mig = NULL;
    if (n >= 7 && !strncasecmp(p + n - 7, "-SHARED", 7))
        n -= 7;
    for (size_t i = 0; i + 5 <= n; i++) {
        if (!strncasecmp(p + i, "-MIG-", 5)) {
            *mig = p + i + 5;
            return i;
        }
    }
    return n;
}

static bool label_matches(const char *label, const char *p, size_t n)
{
    if (strlen(label) == n && !strncasecmp(label, p, n))
        return true;
    /* Older drivers name the device without "NVIDIA ". */
    if (n > 7 && !strncasecmp(p, "NVIDIA-", 7))
        return strlen(label) == n - 7 && !strncasecmp(label, p + 7, n - 7);
    return false;
}

/* Kubernetes label values are at most 63 characters; anything far longer
 * is not a product name (and keeps the %.*s widths below in int range). */
#define PRODUCT_MAX 1024

const ksiss_gpu_model *ksiss_catalog_model_by_product(const ksiss_catalog *cat, const char *product)
{
    if (!cat || !product || !*product || strlen(product) > PRODUCT_MAX)
        return NULL;
    const char *mig;
    size_t n = product_base_len(product, &mig);
    for (size_t i = 0; i < cat->n_models; i++) {
        const ksiss_gpu_model *m = &cat->models[i];
        for (size_t j = 0; j < m->n_product_labels; j++)
            if (label_matches(m->product_labels[j], product, n))
                return m;
    }
    return NULL;
}

const ksiss_gpu_model *ksiss_catalog_find_model(const ksiss_catalog *cat, const char *name_or_product)
{
    const ksiss_gpu_model *m = model_exact(cat, name_or_product);
    return m ? m : ksiss_catalog_model_by_product(cat, name_or_product);
}

/* The model `model` names (NULL = default), or NULL with *err. */
static const ksiss_gpu_model *model_or_err(const ksiss_catalog *cat, const char *model, char **err)
{
    const char *name = model ? model : cat->default_model;
    const ksiss_gpu_model *m = model_exact(cat, name);
    if (!m && err) {
        char *names = ksiss_catalog_model_names(cat);
        *err = ksiss_xasprintf("unknown GPU model '%s' (known: %s)", name ? name : "(none)", names);
        free(names);
    }
    return m;
}

/* A copy of s with a trailing "+me" spelled ".me" (the device plugin's
 * spelling of MIG media-extension profiles); caller frees. */
static char *media_ext_normalized(const char *s)
{
    char *c = ksiss_xstrdup(s);
    size_t n = strlen(c);
    if (n >= 3 && !strcmp(c + n - 3, "+me"))
        c[n - 3] = '.';
    return c;
}

const ksiss_tier *ksiss_catalog_tier(const ksiss_catalog *cat, const char *model, const char *name)
{
    if (!cat || !name)
        return NULL;
    const ksiss_gpu_model *m = model_or_err(cat, model, NULL);
    if (!m)
        return NULL;
    char *norm = ksiss_str_has_prefix(name, "mig-") ? media_ext_normalized(name) : ksiss_xstrdup(name);
    const ksiss_tier *found = NULL;
    for (size_t i = 0; i < cat->n_tiers && !found; i++)
        if (!strcmp(cat->tiers[i].gpu_model, m->name) && !strcmp(cat->tiers[i].name, norm))
            found = &cat->tiers[i];
    free(norm);
    return found;
}

char *ksiss_catalog_model_names(const ksiss_catalog *cat)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (size_t i = 0; cat && i < cat->n_models; i++)
        ksiss_sb_printf(&sb, "%s%s", i ? ", " : "", cat->models[i].name);
    return ksiss_sb_take(&sb);
}

char *ksiss_catalog_tier_names(const ksiss_catalog *cat, const char *model)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    const ksiss_gpu_model *m = cat ? model_or_err(cat, model, NULL) : NULL;
    bool first = true;
    for (size_t i = 0; m && i < cat->n_tiers; i++) {
        if (strcmp(cat->tiers[i].gpu_model, m->name) != 0)
            continue;
        ksiss_sb_printf(&sb, "%s%s", first ? "" : ", ", cat->tiers[i].name);
        first = false;
    }
    return ksiss_sb_take(&sb);
}

/* Names of m's tiers whose resource starts with `prefix` (for messages). */
static char *names_with_resource_prefix(const ksiss_catalog *cat, const ksiss_gpu_model *m,
                                        const char *prefix)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    bool first = true;
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (strcmp(t->gpu_model, m->name) != 0 || !ksiss_str_has_prefix(t->resource, prefix))
            continue;
        ksiss_sb_printf(&sb, "%s%s", first ? "" : ", ", t->resource);
        first = false;
    }
    if (first)
        ksiss_sb_puts(&sb, "none");
    return ksiss_sb_take(&sb);
}

bool ksiss_is_gpu_resource(const char *resource)
{
    if (!resource)
        return false;
    return !strcmp(resource, "nvidia.com/gpu") || !strcmp(resource, "nvidia.com/gpu.shared") ||
           ksiss_str_has_prefix(resource, "nvidia.com/gpu-") ||
           ksiss_str_has_prefix(resource, "nvidia.com/mig-");
}

const ksiss_tier *ksiss_catalog_shared_tier(const ksiss_catalog *cat, const char *model,
                                            int replicas, char **err)
{
    const ksiss_gpu_model *m = model_or_err(cat, model, err);
    if (!m)
        return NULL;
    int n = replicas > 0 ? replicas : m->shared_replicas;
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (!strcmp(t->gpu_model, m->name) && !strcmp(t->resource, "nvidia.com/gpu.shared") &&
            t->replicas == n)
            return t;
    }
    if (err) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        for (size_t i = 0; i < cat->n_tiers; i++) {
            const ksiss_tier *t = &cat->tiers[i];
            if (!strcmp(t->gpu_model, m->name) && !strcmp(t->resource, "nvidia.com/gpu.shared"))
                ksiss_sb_printf(&sb, "%s%s", sb.len ? ", " : "", t->name);
        }
        *err = ksiss_xasprintf("nvidia.com/gpu.shared with %d replicas per GPU: no tier shared/%d for %s "
                               "(known: %s); add one to the catalogue",
                               n, n, m->name, sb.len ? ksiss_sb_str(&sb) : "none");
        ksiss_sb_free(&sb);
    }
    return NULL;
}

static const ksiss_tier *tier_for_resource(const ksiss_catalog *cat, const char *model,
                                           const char *resource, long long count, char **err);

const ksiss_tier *ksiss_catalog_tier_for_resource(const ksiss_catalog *cat, const char *model,
                                                  const char *resource, long long count, char **err)
{
    if (resource && ksiss_str_has_prefix(resource, "nvidia.com/mig-")) {
        char *norm = media_ext_normalized(resource);
        const ksiss_tier *t = tier_for_resource(cat, model, norm, count, err);
        free(norm);
        return t;
    }
    return tier_for_resource(cat, model, resource, count, err);
}

static const ksiss_tier *tier_for_resource(const ksiss_catalog *cat, const char *model,
                                           const char *resource, long long count, char **err)
{
    if (err)
        *err = NULL;
    if (!cat || !resource || !*resource) {
        fail(err, ksiss_xstrdup("empty GPU resource name"));
        return NULL;
    }
    const ksiss_gpu_model *m = model_or_err(cat, model, err);
    if (!m)
        return NULL;
    if (count < 1 || count > INT32_MAX) {
        fail(err, ksiss_xasprintf("%s x%lld on %s: a GPU resource count must be a positive integer",
                                  resource, count, m->name));
        return NULL;
    }
    if (!strcmp(resource, "nvidia.com/gpu.shared")) {
        /* MPS refuses requests above 1 (failRequestsGreaterThanOne), and a
         * second time-sliced replica adds no guaranteed capacity. */
        if (count != 1) {
            fail(err, ksiss_xasprintf("nvidia.com/gpu.shared x%lld on %s: a shared GPU is requested one per instance",
                                      count, m->name));
            return NULL;
        }
        return ksiss_catalog_shared_tier(cat, m->name, 0, err);
    }
    /* Exact match first: this is where user-registered tiers are found. */
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (!strcmp(t->gpu_model, m->name) && !strcmp(t->resource, resource) && t->count == count)
            return t;
    }
    char *known = NULL;
    if (!strcmp(resource, "nvidia.com/gpu")) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        for (size_t i = 0; i < cat->n_tiers; i++) {
            const ksiss_tier *t = &cat->tiers[i];
            if (!strcmp(t->gpu_model, m->name) && !strcmp(t->resource, "nvidia.com/gpu"))
                ksiss_sb_printf(&sb, "%s%d", sb.len ? ", " : "", t->count);
        }
        fail(err, ksiss_xasprintf("nvidia.com/gpu x%lld on %s: no whole-GPU tier with that count (counts: %s)",
                                  count, m->name, sb.len ? ksiss_sb_str(&sb) : "none"));
        ksiss_sb_free(&sb);
        return NULL;
    }
    if (ksiss_str_has_prefix(resource, "nvidia.com/mig-")) {
        int g, mem;
        bool me;
        const char *profile = resource + strlen("nvidia.com/mig-");
        if (ksiss_parse_mig_profile(profile, &g, &mem, &me) != 0) {
            fail(err, ksiss_xasprintf("%s: malformed MIG resource name (expected nvidia.com/mig-<g>g.<mem>gb[.me])",
                                      resource));
            return NULL;
        }
        known = names_with_resource_prefix(cat, m, "nvidia.com/mig-");
        bool exists = false;
        for (size_t i = 0; i < cat->n_tiers; i++)
            if (!strcmp(cat->tiers[i].gpu_model, m->name) && !strcmp(cat->tiers[i].resource, resource))
                exists = true;
        if (exists)
            fail(err, ksiss_xasprintf("%s x%lld on %s: a MIG slice is requested one per instance "
                                      "(CUDA uses one MIG device per process)", resource, count, m->name));
        else
            fail(err, ksiss_xasprintf("%s is not a MIG profile of %s (profiles: %s)", resource, m->name, known));
        free(known);
        return NULL;
    }
    if (ksiss_str_has_prefix(resource, "nvidia.com/gpu-")) {
        int gb = parse_mps_gb_resource(resource);
        if (gb < 0) {
            fail(err, ksiss_xasprintf("%s: malformed MPS resource name (expected nvidia.com/gpu-<N>gb)", resource));
            return NULL;
        }
        known = names_with_resource_prefix(cat, m, "nvidia.com/gpu-");
        bool exists = false;
        for (size_t i = 0; i < cat->n_tiers; i++)
            if (!strcmp(cat->tiers[i].gpu_model, m->name) && !strcmp(cat->tiers[i].resource, resource))
                exists = true;
        if (exists)
            fail(err, ksiss_xasprintf("%s x%lld on %s: an MPS slice is requested one per instance",
                                      resource, count, m->name));
        else if ((double)gb >= m->mem_gib)
            fail(err, ksiss_xasprintf("%s on %s: a %d GB share does not fit in the GPU's %g GB", resource,
                                      m->name, gb, m->mem_gib));
        else
            fail(err, ksiss_xasprintf("%s is not in the catalogue for %s (MPS slices: %s); register it in the catalogue",
                                      resource, m->name, known));
        free(known);
        return NULL;
    }
    fail(err, ksiss_xasprintf("%s: unknown GPU resource name (known: nvidia.com/gpu, nvidia.com/gpu.shared, "
                              "nvidia.com/gpu-<N>gb, nvidia.com/mig-<g>g.<mem>gb)", resource));
    return NULL;
}

const ksiss_tier *ksiss_catalog_product_mig_tier(const ksiss_catalog *cat, const char *product, char **err)
{
    if (err)
        *err = NULL;
    if (!cat || !product)
        return NULL;
    if (strlen(product) > PRODUCT_MAX) {
        fail(err, ksiss_xasprintf("GPU product label of %zu characters is not a product name", strlen(product)));
        return NULL;
    }
    const char *mig;
    size_t n = product_base_len(product, &mig);
    if (!mig)
        return NULL;
    const ksiss_gpu_model *m = ksiss_catalog_model_by_product(cat, product);
    if (!m) {
        char *names = ksiss_catalog_model_names(cat);
        fail(err, ksiss_xasprintf("GPU product '%.*s' is not a known model (known: %s)", (int)n, product, names));
        free(names);
        return NULL;
    }
    /* The profile runs to the end or to "-SHARED". */
    size_t plen = strlen(mig);
    if (plen >= 7 && !strcasecmp(mig + plen - 7, "-SHARED"))
        plen -= 7;
    char *resource = ksiss_xasprintf("nvidia.com/mig-%.*s", (int)plen, mig);
    const ksiss_tier *t = ksiss_catalog_tier_for_resource(cat, m->name, resource, 1, err);
    free(resource);
    return t;
}

size_t ksiss_catalog_ladder(const ksiss_catalog *cat, const char *model,
                            const ksiss_tier **out, size_t max)
{
    if (!cat)
        return 0;
    const ksiss_gpu_model *m = model_or_err(cat, model, NULL);
    if (!m)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (strcmp(t->gpu_model, m->name) != 0 || !t->in_ladder)
            continue;
        if (out && n < max)
            out[n] = t;
        n++;
    }
    return n;
}

const char *ksiss_tier_kind_name(ksiss_tier_kind k)
{
    switch (k) {
    case KSISS_TIER_MIG: return "mig";
    case KSISS_TIER_SHARED: return "shared";
    case KSISS_TIER_GPU: return "gpu";
    }
    return "unknown";
}
