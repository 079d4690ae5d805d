/* test_tiers.c: the GPU tier catalogue: every MIG profile of every built-in
 * model parses from its Kubernetes resource name, names and resources
 * round-trip, the ladder crosses types (7g -> gpu -> gpu*2), cost weights,
 * refusal of unknown names and counts, GFD product labels, the extension
 * helpers catalog_ext.c uses, and the `ksiss tiers` command. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/tiers.h"
#include "core/util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define EPS 1e-9

static int setup(void **state)
{
    ksiss_catalog *cat = ksiss_xmalloc(sizeof(*cat));
    ksiss_catalog_builtin(cat);
    *state = cat;
    return 0;
}

static int teardown(void **state)
{
    ksiss_catalog_free(*state);
    free(*state);
    return 0;
}

static void assert_close(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-6)
        fail_msg("%s: got %.6f, want %.6f", what, got, want);
}

/* ---- every MIG profile of every model (NVIDIA MIG User Guide tables) ---- */

typedef struct {
    const char *model;
    const char *resource;
    int g, g_total, mem, mem_total;
    double mem_gib;
} mig_case;

static const mig_case mig_cases[] = {
    {"A30-24GB", "nvidia.com/mig-1g.6gb", 1, 4, 1, 4, 6},
    {"A30-24GB", "nvidia.com/mig-1g.6gb.me", 1, 4, 1, 4, 6},
    {"A30-24GB", "nvidia.com/mig-2g.12gb", 2, 4, 2, 4, 12},
    {"A30-24GB", "nvidia.com/mig-2g.12gb.me", 2, 4, 2, 4, 12},
    {"A30-24GB", "nvidia.com/mig-4g.24gb", 4, 4, 4, 4, 24},
    {"A100-40GB", "nvidia.com/mig-1g.5gb", 1, 7, 1, 8, 5},
    {"A100-40GB", "nvidia.com/mig-1g.5gb.me", 1, 7, 1, 8, 5},
    {"A100-40GB", "nvidia.com/mig-1g.10gb", 1, 7, 2, 8, 10},
    {"A100-40GB", "nvidia.com/mig-2g.10gb", 2, 7, 2, 8, 10},
    {"A100-40GB", "nvidia.com/mig-3g.20gb", 3, 7, 4, 8, 20},
    {"A100-40GB", "nvidia.com/mig-4g.20gb", 4, 7, 4, 8, 20},
    {"A100-40GB", "nvidia.com/mig-7g.40gb", 7, 7, 8, 8, 40},
    {"A100-80GB", "nvidia.com/mig-1g.10gb", 1, 7, 1, 8, 10},
    {"A100-80GB", "nvidia.com/mig-1g.10gb.me", 1, 7, 1, 8, 10},
    {"A100-80GB", "nvidia.com/mig-1g.20gb", 1, 7, 2, 8, 20},
    {"A100-80GB", "nvidia.com/mig-2g.20gb", 2, 7, 2, 8, 20},
    {"A100-80GB", "nvidia.com/mig-3g.40gb", 3, 7, 4, 8, 40},
    {"A100-80GB", "nvidia.com/mig-4g.40gb", 4, 7, 4, 8, 40},
    {"A100-80GB", "nvidia.com/mig-7g.80gb", 7, 7, 8, 8, 80},
    {"H100-80GB", "nvidia.com/mig-1g.10gb", 1, 7, 1, 8, 10},
    {"H100-80GB", "nvidia.com/mig-1g.10gb.me", 1, 7, 1, 8, 10},
    {"H100-80GB", "nvidia.com/mig-1g.20gb", 1, 7, 2, 8, 20},
    {"H100-80GB", "nvidia.com/mig-2g.20gb", 2, 7, 2, 8, 20},
    {"H100-80GB", "nvidia.com/mig-3g.40gb", 3, 7, 4, 8, 40},
    {"H100-80GB", "nvidia.com/mig-4g.40gb", 4, 7, 4, 8, 40},
    {"H100-80GB", "nvidia.com/mig-7g.80gb", 7, 7, 8, 8, 80},
    {"H200-141GB", "nvidia.com/mig-1g.18gb", 1, 7, 1, 8, 18},
    {"H200-141GB", "nvidia.com/mig-1g.18gb.me", 1, 7, 1, 8, 18},
    {"H200-141GB", "nvidia.com/mig-1g.35gb", 1, 7, 2, 8, 35},
    {"H200-141GB", "nvidia.com/mig-2g.35gb", 2, 7, 2, 8, 35},
    {"H200-141GB", "nvidia.com/mig-3g.71gb", 3, 7, 4, 8, 71},
    {"H200-141GB", "nvidia.com/mig-4g.71gb", 4, 7, 4, 8, 71},
    {"H200-141GB", "nvidia.com/mig-7g.141gb", 7, 7, 8, 8, 141},
};

static void test_every_mig_profile_of_every_model_parses(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(mig_cases); i++) {
        const mig_case *c = &mig_cases[i];
        char *err = NULL;
        const ksiss_tier *t = ksiss_catalog_tier_for_resource(cat, c->model, c->resource, 1, &err);
        if (!t)
            fail_msg("%s on %s: %s", c->resource, c->model, err ? err : "(no message)");
        assert_null(err);
        char *name = ksiss_xasprintf("mig-%s", c->resource + strlen("nvidia.com/mig-"));
        assert_string_equal(t->name, name);
        free(name);
        assert_string_equal(t->resource, c->resource);
        assert_string_equal(t->gpu_model, c->model);
        assert_int_equal(t->kind, KSISS_TIER_MIG);
        assert_int_equal(t->count, 1);
        assert_close(t->compute_frac, (double)c->g / c->g_total, c->resource);
        assert_close(t->bw_frac, (double)c->mem / c->mem_total, c->resource);
        assert_close(t->decode_rel, (double)c->mem / c->mem_total, c->resource);
        assert_close(t->mem_gib, c->mem_gib, c->resource);
        assert_non_null(t->perf_source);
        assert_true(strlen(t->perf_source) > 0);
    }
}

static void test_media_extension_slice_has_its_base_figures_and_stays_off_the_default_ladder(void **state)
{
    const ksiss_catalog *cat = *state;
    const ksiss_tier *me = ksiss_catalog_tier_for_resource(cat, "H100-80GB", "nvidia.com/mig-1g.10gb.me", 1, NULL);
    const ksiss_tier *base = ksiss_catalog_tier_for_resource(cat, "H100-80GB", "nvidia.com/mig-1g.10gb", 1, NULL);
    assert_non_null(me);
    assert_non_null(base);
    assert_ptr_not_equal(me, base);
    assert_close(me->prefill_rel, base->prefill_rel, "prefill");
    assert_close(me->decode_rel, base->decode_rel, "decode");
    assert_close(me->cost, base->cost, "cost");
    assert_false(me->in_ladder);
    assert_true(base->in_ladder);
}

/* The device plugin advertises profile 1g.10gb+me as nvidia.com/mig-1g.10gb.me
 * (Kubernetes resource names cannot hold '+'); NVIDIA's spelling is an alias. */
static void test_media_extension_profile_parses_in_both_spellings(void **state)
{
    const ksiss_catalog *cat = *state;
    const ksiss_tier *dot = ksiss_catalog_tier_for_resource(cat, "H200-141GB", "nvidia.com/mig-1g.18gb.me", 1, NULL);
    assert_non_null(dot);
    assert_string_equal(dot->resource, "nvidia.com/mig-1g.18gb.me");
    assert_string_equal(dot->name, "mig-1g.18gb.me");
    assert_ptr_equal(ksiss_catalog_tier_for_resource(cat, "H200-141GB", "nvidia.com/mig-1g.18gb+me", 1, NULL), dot);
    assert_ptr_equal(ksiss_catalog_tier(cat, "H200-141GB", "mig-1g.18gb+me"), dot);
    assert_ptr_equal(ksiss_catalog_product_mig_tier(cat, "NVIDIA-H200-MIG-1g.18gb.me", NULL), dot);
    assert_ptr_equal(ksiss_catalog_product_mig_tier(cat, "NVIDIA-H200-MIG-1g.18gb+me", NULL), dot);
}

/* ---- names and resources round-trip ---- */

static void test_every_tier_round_trips_through_name_and_resource(void **state)
{
    const ksiss_catalog *cat = *state;
    assert_true(cat->n_tiers > 0);
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        assert_ptr_equal(ksiss_catalog_tier(cat, t->gpu_model, t->name), t);
        char *err = NULL;
        const ksiss_tier *back;
        if (t->replicas)
            back = ksiss_catalog_shared_tier(cat, t->gpu_model, t->replicas, &err);
        else
            back = ksiss_catalog_tier_for_resource(cat, t->gpu_model, t->resource, t->count, &err);
        if (back != t)
            fail_msg("%s of %s: %s x%d gave %s (%s)", t->name, t->gpu_model, t->resource, t->count,
                     back ? back->name : "NULL", err ? err : "");
        assert_true(ksiss_is_gpu_resource(t->resource));
    }
}

static void test_null_model_means_the_default_model(void **state)
{
    const ksiss_catalog *cat = *state;
    assert_string_equal(cat->default_model, "H100-80GB");
    const ksiss_tier *t = ksiss_catalog_tier_for_resource(cat, NULL, "nvidia.com/mig-3g.40gb", 1, NULL);
    assert_non_null(t);
    assert_string_equal(t->gpu_model, "H100-80GB");
    assert_ptr_equal(ksiss_catalog_tier(cat, NULL, "gpu*2"), ksiss_catalog_tier(cat, "H100-80GB", "gpu*2"));
}

/* ---- whole GPUs and shares ---- */

typedef struct {
    const char *model;
    const char *resource;
    long long count;
    const char *name;
    double compute, mem_gib, cost, prefill, decode;
} res_case;

static const res_case res_cases[] = {
    {"H100-80GB", "nvidia.com/gpu", 1, "gpu", 1, 80, 1, 1, 1},
    {"H100-80GB", "nvidia.com/gpu", 2, "gpu*2", 2, 160, 2, 1.8, 1.8},
    {"H100-80GB", "nvidia.com/gpu", 4, "gpu*4", 4, 320, 4, 3.4, 3.4},
    {"H100-80GB", "nvidia.com/gpu", 8, "gpu*8", 8, 640, 8, 6.4, 6.4},
    {"A100-40GB", "nvidia.com/gpu", 2, "gpu*2", 2, 80, 2, 1.8, 1.8},
    {"H200-141GB", "nvidia.com/gpu", 1, "gpu", 1, 141, 1, 1, 1},
    {"H100-80GB", "nvidia.com/gpu.shared", 1, "shared/7", 1.0 / 7, 80.0 / 7, 1.0 / 7, 1.0 / 7, 1.0 / 7},
    {"A30-24GB", "nvidia.com/gpu.shared", 1, "shared/4", 0.25, 6, 0.25, 0.25, 0.25},
    {"H100-80GB", "nvidia.com/gpu-20gb", 1, "gpu-20gb", 0.25, 20, 0.25, 0.25, 0.25},
    {"A100-40GB", "nvidia.com/gpu-10gb", 1, "gpu-10gb", 0.25, 10, 0.25, 0.25, 0.25},
    {"H200-141GB", "nvidia.com/gpu-71gb", 1, "gpu-71gb", 71.0 / 141, 71, 71.0 / 141, 71.0 / 141, 71.0 / 141},
};

static void test_whole_gpu_and_shared_resources_parse_with_their_figures(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(res_cases); i++) {
        const res_case *c = &res_cases[i];
        char *err = NULL;
        const ksiss_tier *t = ksiss_catalog_tier_for_resource(cat, c->model, c->resource, c->count, &err);
        if (!t)
            fail_msg("%s x%lld on %s: %s", c->resource, c->count, c->model, err ? err : "");
        assert_string_equal(t->name, c->name);
        assert_close(t->compute_frac, c->compute, c->name);
        assert_close(t->mem_gib, c->mem_gib, c->name);
        assert_close(t->cost, c->cost, c->name);
        assert_close(t->prefill_rel, c->prefill, c->name);
        assert_close(t->decode_rel, c->decode, c->name);
    }
}

static void test_shared_tier_follows_the_node_replicas_label(void **state)
{
    const ksiss_catalog *cat = *state;
    const ksiss_tier *t = ksiss_catalog_shared_tier(cat, "H100-80GB", 0, NULL);
    assert_non_null(t);
    assert_string_equal(t->name, "shared/7");
    t = ksiss_catalog_shared_tier(cat, "H100-80GB", 4, NULL);
    assert_non_null(t);
    assert_string_equal(t->name, "shared/4");
    assert_int_equal(t->replicas, 4);
    char *err = NULL;
    assert_null(ksiss_catalog_shared_tier(cat, "H100-80GB", 10, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "shared/10"));
    assert_non_null(strstr(err, "H100-80GB"));
    free(err);
}

/* ---- cost weights: the share of the GPU a tier blocks ---- */

typedef struct {
    const char *model, *name;
    double cost;
} cost_case;

static const cost_case cost_cases[] = {
    {"H100-80GB", "mig-1g.10gb", 1.0 / 7},  /* 1 of 7 compute > 1 of 8 memory */
    {"H100-80GB", "mig-1g.20gb", 2.0 / 8},  /* memory decides */
    {"H100-80GB", "mig-2g.20gb", 2.0 / 7},
    {"H100-80GB", "mig-3g.40gb", 4.0 / 8},  /* leaves compute but no memory for a 4g */
    {"H100-80GB", "mig-4g.40gb", 4.0 / 7},
    {"H100-80GB", "mig-7g.80gb", 1.0},
    {"H100-80GB", "gpu", 1.0},
    {"H100-80GB", "gpu*2", 2.0},
    {"H100-80GB", "gpu*8", 8.0},
    {"H100-80GB", "shared/4", 0.25},
    {"H100-80GB", "shared/2", 0.5},
    {"H100-80GB", "gpu-40gb", 0.5},
    {"A100-40GB", "mig-1g.5gb", 1.0 / 7},
    {"A100-40GB", "mig-3g.20gb", 0.5},
    {"A30-24GB", "mig-1g.6gb", 0.25},
    {"A30-24GB", "mig-2g.12gb", 0.5},
    {"A30-24GB", "mig-4g.24gb", 1.0},
    {"H200-141GB", "mig-1g.35gb", 0.25},
    {"H200-141GB", "mig-3g.71gb", 0.5},
};

static void test_cost_weight_is_the_share_of_the_gpu_a_tier_blocks(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(cost_cases); i++) {
        const ksiss_tier *t = ksiss_catalog_tier(cat, cost_cases[i].model, cost_cases[i].name);
        if (!t)
            fail_msg("no tier %s of %s", cost_cases[i].name, cost_cases[i].model);
        assert_close(t->cost, cost_cases[i].cost, cost_cases[i].name);
    }
}

/* ---- throughput estimates ---- */

typedef struct {
    const char *model, *name;
    double prefill, decode;
} perf_case;

static const perf_case perf_cases[] = {
    /* ParvaGPU (SC'24): g-slice vs 7g; Hopper's 7g is the whole GPU. */
    {"H100-80GB", "mig-1g.10gb", 0.15, 0.125},
    {"H100-80GB", "mig-2g.20gb", 0.31, 0.25},
    {"H100-80GB", "mig-3g.40gb", 0.51, 0.5},
    {"H100-80GB", "mig-4g.40gb", 0.62, 0.5},
    {"H200-141GB", "mig-3g.71gb", 0.51, 0.5},
    /* A100 in MIG mode: 7g has 98 of the 108 SMs. */
    {"A100-40GB", "mig-7g.40gb", 98.0 / 108, 1.0},
    {"A100-80GB", "mig-3g.40gb", 0.51 * 98 / 108, 0.5},
    /* A30 (4 slices): linear, ParvaGPU does not apply. */
    {"A30-24GB", "mig-2g.12gb", 0.5, 0.5},
};

static void test_prefill_tracks_compute_and_decode_tracks_memory_slices(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(perf_cases); i++) {
        const ksiss_tier *t = ksiss_catalog_tier(cat, perf_cases[i].model, perf_cases[i].name);
        if (!t)
            fail_msg("no tier %s of %s", perf_cases[i].name, perf_cases[i].model);
        assert_close(t->prefill_rel, perf_cases[i].prefill, perf_cases[i].name);
        assert_close(t->decode_rel, perf_cases[i].decode, perf_cases[i].name);
    }
}

/* ---- the ladder ---- */

typedef struct {
    const char *model;
    const char *ladder[12];
} ladder_case;

static const ladder_case ladder_cases[] = {
    {"H100-80GB", {"mig-1g.10gb", "mig-1g.20gb", "mig-2g.20gb", "mig-3g.40gb", "mig-4g.40gb", "mig-7g.80gb",
                   "gpu", "gpu*2", "gpu*4", "gpu*8", NULL}},
    {"A100-40GB", {"mig-1g.5gb", "mig-1g.10gb", "mig-2g.10gb", "mig-3g.20gb", "mig-4g.20gb", "mig-7g.40gb",
                   "gpu", "gpu*2", "gpu*4", "gpu*8", NULL}},
    {"A100-80GB", {"mig-1g.10gb", "mig-1g.20gb", "mig-2g.20gb", "mig-3g.40gb", "mig-4g.40gb", "mig-7g.80gb",
                   "gpu", "gpu*2", "gpu*4", "gpu*8", NULL}},
    {"H200-141GB", {"mig-1g.18gb", "mig-1g.35gb", "mig-2g.35gb", "mig-3g.71gb", "mig-4g.71gb", "mig-7g.141gb",
                    "gpu", "gpu*2", "gpu*4", "gpu*8", NULL}},
    {"A30-24GB", {"mig-1g.6gb", "mig-2g.12gb", "mig-4g.24gb", "gpu", "gpu*2", "gpu*4", "gpu*8", NULL}},
};

static void test_default_ladder_crosses_from_the_full_slice_to_whole_gpus(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(ladder_cases); i++) {
        const ladder_case *c = &ladder_cases[i];
        const ksiss_tier *got[32];
        size_t n = ksiss_catalog_ladder(cat, c->model, got, N_(got));
        size_t want = 0;
        while (c->ladder[want])
            want++;
        if (n != want)
            fail_msg("%s: ladder has %zu tiers, want %zu", c->model, n, want);
        for (size_t j = 0; j < n; j++) {
            if (strcmp(got[j]->name, c->ladder[j]) != 0)
                fail_msg("%s: ladder[%zu] is %s, want %s", c->model, j, got[j]->name, c->ladder[j]);
            if (j > 0 && got[j]->rank <= got[j - 1]->rank)
                fail_msg("%s: ranks not ascending at %s", c->model, got[j]->name);
        }
    }
}

static void test_ladder_reports_its_full_length_when_the_buffer_is_short(void **state)
{
    const ksiss_catalog *cat = *state;
    const ksiss_tier *two[2];
    assert_int_equal(ksiss_catalog_ladder(cat, "H100-80GB", two, 2), 10);
    assert_string_equal(two[0]->name, "mig-1g.10gb");
    assert_int_equal(ksiss_catalog_ladder(cat, "H100-80GB", NULL, 0), 10);
    assert_int_equal(ksiss_catalog_ladder(cat, "no-such-gpu", NULL, 0), 0);
}

static void test_ranks_order_every_model_by_capacity(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t m = 0; m < cat->n_models; m++) {
        const char *name = cat->models[m].name;
        int expect = 0;
        double prev = -1;
        for (size_t i = 0; i < cat->n_tiers; i++) {
            const ksiss_tier *t = &cat->tiers[i];
            if (strcmp(t->gpu_model, name) != 0)
                continue;
            assert_int_equal(t->rank, expect++);
            double cap = (t->prefill_rel + t->decode_rel) / 2;
            if (cap + EPS < prev)
                fail_msg("%s: %s (capacity %.3f) ranked after a larger tier (%.3f)", name, t->name, cap, prev);
            prev = cap;
        }
        assert_true(expect > 0);
    }
}

static void test_shares_sit_in_the_capacity_order(void **state)
{
    const ksiss_catalog *cat = *state;
    const ksiss_tier *s7 = ksiss_catalog_tier(cat, "H100-80GB", "shared/7");
    const ksiss_tier *g1 = ksiss_catalog_tier(cat, "H100-80GB", "mig-1g.10gb");
    const ksiss_tier *g2 = ksiss_catalog_tier(cat, "H100-80GB", "mig-2g.20gb");
    assert_non_null(s7);
    assert_true(s7->rank > g1->rank && s7->rank < g2->rank);
    assert_false(s7->in_ladder);
}

static void test_tier_names_are_listed_in_rank_order_for_messages(void **state)
{
    const ksiss_catalog *cat = *state;
    char *names = ksiss_catalog_tier_names(cat, "A30-24GB");
    assert_string_equal(names, "mig-1g.6gb, mig-1g.6gb.me, gpu-6gb, shared/4, mig-2g.12gb, mig-2g.12gb.me, "
                               "gpu-12gb, shared/2, mig-4g.24gb, gpu, gpu*2, gpu*4, gpu*8");
    free(names);
    names = ksiss_catalog_tier_names(cat, "no-such-gpu");
    assert_string_equal(names, "");
    free(names);
}

/* ---- refusals ---- */

typedef struct {
    const char *model;
    const char *resource;
    long long count;
    const char *msg; /* a part of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"H100-80GB", "nvidia.com/mig-1g.5gb", 1, "not a MIG profile of H100-80GB"},
    {"A100-40GB", "nvidia.com/mig-1g.18gb", 1, "not a MIG profile of A100-40GB"},
    {"H100-80GB", "nvidia.com/mig-3g", 1, "malformed MIG resource name"},
    {"H100-80GB", "nvidia.com/mig-01g.10gb", 1, "malformed MIG resource name"},
    {"H100-80GB", "nvidia.com/mig-1g.10gb+xx", 1, "malformed MIG resource name"},
    {"H100-80GB", "nvidia.com/mig-99999999999g.10gb", 1, "malformed MIG resource name"},
    {"H100-80GB", "nvidia.com/mig-1g.10gb", 2, "one per instance"},
    {"H100-80GB", "nvidia.com/gpu", 3, "no whole-GPU tier with that count"},
    {"H100-80GB", "nvidia.com/gpu", 16, "counts: 1, 2, 4, 8"},
    {"H100-80GB", "nvidia.com/gpu", 0, "positive integer"},
    {"H100-80GB", "nvidia.com/gpu", -1, "positive integer"},
    {"H100-80GB", "nvidia.com/gpu", 1LL << 40, "positive integer"},
    {"H100-80GB", "nvidia.com/gpu.shared", 2, "one per instance"},
    {"H100-80GB", "nvidia.com/gpu-13gb", 1, "not in the catalogue for H100-80GB"},
    {"H100-80GB", "nvidia.com/gpu-100gb", 1, "does not fit"},
    {"H100-80GB", "nvidia.com/gpu-20gb", 2, "one per instance"},
    {"H100-80GB", "nvidia.com/gpu-gb", 1, "malformed MPS resource name"},
    {"H100-80GB", "nvidia.com/gpu.memory", 1, "unknown GPU resource name"},
    {"H100-80GB", "amd.com/gpu", 1, "unknown GPU resource name"},
    {"H100-80GB", "", 1, "empty GPU resource name"},
    {"B200-180GB", "nvidia.com/gpu", 1, "unknown GPU model 'B200-180GB'"},
};

static void test_unknown_resource_names_and_counts_are_refused_with_a_message(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        char *err = NULL;
        const ksiss_tier *t = ksiss_catalog_tier_for_resource(cat, c->model, c->resource, c->count, &err);
        if (t)
            fail_msg("%s x%lld on %s: accepted as %s", c->resource, c->count, c->model, t->name);
        if (!err || !strstr(err, c->msg))
            fail_msg("%s x%lld on %s: message '%s' lacks '%s'", c->resource, c->count, c->model,
                     err ? err : "(none)", c->msg);
        free(err);
    }
}

static void test_unknown_model_message_lists_the_known_models(void **state)
{
    const ksiss_catalog *cat = *state;
    char *err = NULL;
    assert_null(ksiss_catalog_tier_for_resource(cat, "T4", "nvidia.com/gpu", 1, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "A30-24GB, A100-40GB, A100-80GB, H100-80GB, H200-141GB"));
    free(err);
}

typedef struct {
    const char *resource;
    bool gpu;
} isgpu_case;

static const isgpu_case isgpu_cases[] = {
    {"nvidia.com/gpu", true},         {"nvidia.com/gpu.shared", true}, {"nvidia.com/gpu-20gb", true},
    {"nvidia.com/mig-3g.40gb", true}, {"nvidia.com/mig-junk", true},   {"cpu", false},
    {"memory", false},                {"amd.com/gpu", false},          {"nvidia.com/gpu.memory", false},
    {"", false},                      {"NVIDIA.COM/GPU", false},
};

static void test_gpu_resource_names_are_recognised(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(isgpu_cases); i++)
        if (ksiss_is_gpu_resource(isgpu_cases[i].resource) != isgpu_cases[i].gpu)
            fail_msg("ksiss_is_gpu_resource(\"%s\") != %d", isgpu_cases[i].resource, isgpu_cases[i].gpu);
    assert_false(ksiss_is_gpu_resource(NULL));
}

typedef struct {
    const char *profile;
    int ok, g, mem;
    bool me;
} profile_case;

static const profile_case profile_cases[] = {
    {"1g.5gb", 1, 1, 5, false},   {"7g.141gb", 1, 7, 141, false}, {"1g.18gb+me", 1, 1, 18, true},
    {"1g.18gb.me", 1, 1, 18, true}, {"1g.18gb.mx", 0, 0, 0, false},
    {"3g.40gb", 1, 3, 40, false}, {"3g", 0, 0, 0, false},         {"g.10gb", 0, 0, 0, false},
    {"1g.gb", 0, 0, 0, false},    {"1g.10", 0, 0, 0, false},      {"1g.10gb+", 0, 0, 0, false},
    {"-1g.10gb", 0, 0, 0, false}, {"0g.10gb", 0, 0, 0, false},    {"1g.10gbx", 0, 0, 0, false},
    {"1c.3g.20gb", 0, 0, 0, false}, {"", 0, 0, 0, false},
};

static void test_mig_profile_names_parse_strictly(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(profile_cases); i++) {
        const profile_case *c = &profile_cases[i];
        int g = -1, mem = -1;
        bool me = false;
        int rc = ksiss_parse_mig_profile(c->profile, &g, &mem, &me);
        if ((rc == 0) != c->ok)
            fail_msg("'%s': rc %d", c->profile, rc);
        if (c->ok) {
            assert_int_equal(g, c->g);
            assert_int_equal(mem, c->mem);
            assert_int_equal(me, c->me);
        }
    }
    assert_int_equal(ksiss_parse_mig_profile(NULL, NULL, NULL, NULL), -1);
}

/* ---- GFD product labels ---- */

typedef struct {
    const char *label;
    const char *model; /* NULL: unknown */
} product_case;

static const product_case product_cases[] = {
    {"NVIDIA-H100-80GB-HBM3", "H100-80GB"},
    {"NVIDIA-H100-PCIe", "H100-80GB"},
    {"NVIDIA-A100-SXM4-40GB", "A100-40GB"},
    {"NVIDIA-A100-PCIE-40GB", "A100-40GB"},
    {"A100-SXM4-40GB", "A100-40GB"},
    {"NVIDIA-A100-SXM4-80GB", "A100-80GB"},
    {"NVIDIA-A100-80GB-PCIe", "A100-80GB"},
    {"NVIDIA-H200", "H200-141GB"},
    {"NVIDIA-H200-NVL", "H200-141GB"},
    {"NVIDIA-A30", "A30-24GB"},
    {"A30", "A30-24GB"},
    {"NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", "A100-40GB"},
    {"NVIDIA-H100-80GB-HBM3-MIG-3g.40gb", "H100-80GB"},
    {"NVIDIA-A30-SHARED", "A30-24GB"},
    {"nvidia-h100-80gb-hbm3", "H100-80GB"},
    {"NVIDIA-H100-NVL", NULL},  /* 94 GB: not built in */
    {"Tesla-T4", NULL},
    {"NVIDIA-A100", NULL},
    {"", NULL},
};

static void test_product_labels_map_to_models(void **state)
{
    const ksiss_catalog *cat = *state;
    for (size_t i = 0; i < N_(product_cases); i++) {
        const ksiss_gpu_model *m = ksiss_catalog_model_by_product(cat, product_cases[i].label);
        const char *got = m ? m->name : NULL;
        const char *want = product_cases[i].model;
        if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
            fail_msg("label '%s': got %s, want %s", product_cases[i].label, got ? got : "NULL",
                     want ? want : "NULL");
    }
    assert_null(ksiss_catalog_model_by_product(cat, NULL));
}

static void test_overlong_product_label_is_refused_not_matched(void **state)
{
    const ksiss_catalog *cat = *state;
    char *label = ksiss_xasprintf("NVIDIA-H100-80GB-HBM3-MIG-1g.10gb%0*d", 5000, 0);
    assert_null(ksiss_catalog_model_by_product(cat, label));
    char *err = NULL;
    assert_null(ksiss_catalog_product_mig_tier(cat, label, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "not a product name"));
    free(err);
    free(label);
}

static void test_find_model_accepts_names_in_any_case_and_product_labels(void **state)
{
    const ksiss_catalog *cat = *state;
    assert_string_equal(ksiss_catalog_find_model(cat, "h200-141gb")->name, "H200-141GB");
    assert_string_equal(ksiss_catalog_find_model(cat, "NVIDIA-A100-SXM4-80GB")->name, "A100-80GB");
    assert_null(ksiss_catalog_find_model(cat, "H100"));
}

static void test_single_strategy_mig_label_names_its_slice(void **state)
{
    const ksiss_catalog *cat = *state;
    char *err = NULL;
    const ksiss_tier *t = ksiss_catalog_product_mig_tier(cat, "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", &err);
    assert_non_null(t);
    assert_null(err);
    assert_string_equal(t->name, "mig-1g.5gb");
    assert_string_equal(t->gpu_model, "A100-40GB");

    t = ksiss_catalog_product_mig_tier(cat, "NVIDIA-H200-MIG-3g.71gb-SHARED", &err);
    assert_non_null(t);
    assert_string_equal(t->name, "mig-3g.71gb");

    assert_null(ksiss_catalog_product_mig_tier(cat, "NVIDIA-H100-80GB-HBM3", &err));
    assert_null(err); /* no MIG suffix: nothing to report */

    assert_null(ksiss_catalog_product_mig_tier(cat, "NVIDIA-H100-80GB-HBM3-MIG-1g.5gb", &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "not a MIG profile of H100-80GB"));
    free(err);

    assert_null(ksiss_catalog_product_mig_tier(cat, "Tesla-T4-MIG-1g.5gb", &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "not a known model"));
    free(err);
}

/* ---- helpers for catalog_ext.c ---- */

static void test_added_tier_is_ranked_in_capacity_order(void **state)
{
    ksiss_catalog copy;
    ksiss_catalog_copy(&copy, *state);
    const ksiss_gpu_model *h100 = ksiss_catalog_model(&copy, "H100-80GB");
    ksiss_tier t;
    char *err = NULL;
    assert_int_equal(ksiss_tier_init_shared(&t, h100, 3, &err), 0);
    assert_int_equal(ksiss_catalog_add_tier(&copy, &t, &err), 0);
    ksiss_tier_clear(&t);

    const ksiss_tier *s3 = ksiss_catalog_tier(&copy, "H100-80GB", "shared/3");
    const ksiss_tier *g3 = ksiss_catalog_tier(&copy, "H100-80GB", "mig-3g.40gb");
    const ksiss_tier *g2 = ksiss_catalog_tier(&copy, "H100-80GB", "mig-2g.20gb");
    assert_non_null(s3);
    assert_true(g2->rank < s3->rank && s3->rank < g3->rank);
    assert_ptr_equal(ksiss_catalog_shared_tier(&copy, "H100-80GB", 3, NULL), s3);
    /* Ranks stay 0..n-1 and the original catalogue is untouched. */
    int n = 0;
    for (size_t i = 0; i < copy.n_tiers; i++)
        if (!strcmp(copy.tiers[i].gpu_model, "H100-80GB"))
            assert_int_equal(copy.tiers[i].rank, n++);
    assert_null(ksiss_catalog_tier(*state, "H100-80GB", "shared/3"));
    ksiss_catalog_free(&copy);
}

static void test_added_model_gets_tiers_and_a_ladder(void **state)
{
    ksiss_catalog copy;
    ksiss_catalog_copy(&copy, *state);
    const char *labels[] = {"NVIDIA-L40S"};
    char *err = NULL;
    assert_int_equal(ksiss_catalog_add_model(&copy, "L40S-48GB", 48, 4, labels, 1, &err), 0);
    const ksiss_gpu_model *l40s = ksiss_catalog_model(&copy, "L40S-48GB");
    assert_non_null(l40s);
    int counts[] = {2, 1};
    for (size_t i = 0; i < N_(counts); i++) {
        ksiss_tier t;
        assert_int_equal(ksiss_tier_init_gpus(&t, l40s, counts[i], &err), 0);
        assert_int_equal(ksiss_catalog_add_tier(&copy, &t, &err), 0);
        ksiss_tier_clear(&t);
        l40s = ksiss_catalog_model(&copy, "L40S-48GB");
    }
    const ksiss_tier *lad[4];
    assert_int_equal(ksiss_catalog_ladder(&copy, "L40S-48GB", lad, 4), 2);
    assert_string_equal(lad[0]->name, "gpu");
    assert_string_equal(lad[1]->name, "gpu*2");
    assert_string_equal(ksiss_catalog_model_by_product(&copy, "NVIDIA-L40S")->name, "L40S-48GB");
    assert_ptr_equal(ksiss_catalog_tier_for_resource(&copy, "L40S-48GB", "nvidia.com/gpu", 2, NULL), lad[1]);
    /* The other models are unchanged by the new group. */
    assert_int_equal(ksiss_catalog_ladder(&copy, "H100-80GB", NULL, 0), 10);
    ksiss_catalog_free(&copy);
}

static void test_add_tier_refuses_duplicates_unknown_models_and_bad_figures(void **state)
{
    ksiss_catalog copy;
    ksiss_catalog_copy(&copy, *state);
    const ksiss_gpu_model *h100 = ksiss_catalog_model(&copy, "H100-80GB");
    char *err = NULL;
    ksiss_tier t;

    assert_int_equal(ksiss_tier_init_gpus(&t, h100, 2, &err), 0);
    assert_int_equal(ksiss_catalog_add_tier(&copy, &t, &err), -1);
    assert_non_null(strstr(err, "already"));
    free(err);
    err = NULL;

    free(t.gpu_model);
    t.gpu_model = ksiss_xstrdup("B200-180GB");
    assert_int_equal(ksiss_catalog_add_tier(&copy, &t, &err), -1);
    assert_non_null(strstr(err, "unknown GPU model"));
    free(err);
    err = NULL;
    ksiss_tier_clear(&t);

    assert_int_equal(ksiss_tier_init_gpus(&t, h100, 3, &err), 0);
    t.prefill_rel = NAN;
    assert_int_equal(ksiss_catalog_add_tier(&copy, &t, &err), -1);
    assert_non_null(strstr(err, "finite"));
    free(err);
    err = NULL;
    t.prefill_rel = 0;
    t.decode_rel = 0;
    assert_int_equal(ksiss_catalog_add_tier(&copy, &t, &err), -1);
    assert_non_null(strstr(err, "zero"));
    free(err);
    err = NULL;
    ksiss_tier_clear(&t);

    assert_int_equal(ksiss_catalog_add_model(&copy, "h100-80gb", 80, 7, NULL, 0, &err), -1);
    assert_non_null(strstr(err, "already"));
    free(err);
    err = NULL;
    assert_int_equal(ksiss_catalog_add_model(&copy, "X", INFINITY, 7, NULL, 0, &err), -1);
    free(err);
    ksiss_catalog_free(&copy);
}

typedef struct {
    const char *what;
    int kind; /* 0 mig, 1 shared, 2 mps-gb, 3 gpus */
    const char *profile;
    int a, b, c, d;
    double mem_gib;
} init_bad_case;

static const init_bad_case init_bad_cases[] = {
    {"compute slices above the total", 0, "8g.80gb", 8, 7, 8, 8, 80},
    {"memory slices above the total", 0, "1g.10gb", 1, 7, 9, 8, 10},
    {"profile name disagrees with slices", 0, "2g.20gb", 1, 7, 2, 8, 20},
    {"profile name malformed", 0, "2g.20", 2, 7, 2, 8, 20},
    {"slice memory above the GPU's", 0, "7g.90gb", 7, 7, 8, 8, 90},
    {"one replica is no share", 1, NULL, 1, 0, 0, 0, 0},
    {"more replicas than MPS clients", 1, NULL, 49, 0, 0, 0, 0},
    {"a share as large as the GPU", 2, NULL, 80, 0, 0, 0, 0},
    {"zero GB share", 2, NULL, 0, 0, 0, 0, 0},
    {"zero GPUs", 3, NULL, 0, 0, 0, 0, 0},
    {"too many GPUs", 3, NULL, 65, 0, 0, 0, 0},
};

static void test_tier_builders_refuse_impossible_figures(void **state)
{
    const ksiss_gpu_model *h100 = ksiss_catalog_model(*state, "H100-80GB");
    for (size_t i = 0; i < N_(init_bad_cases); i++) {
        const init_bad_case *c = &init_bad_cases[i];
        ksiss_tier t;
        char *err = NULL;
        int rc = -2;
        switch (c->kind) {
        case 0: rc = ksiss_tier_init_mig(&t, h100, c->profile, c->a, c->b, c->c, c->d, c->mem_gib, 1.0, &err); break;
        case 1: rc = ksiss_tier_init_shared(&t, h100, c->a, &err); break;
        case 2: rc = ksiss_tier_init_mps_gb(&t, h100, c->a, &err); break;
        case 3: rc = ksiss_tier_init_gpus(&t, h100, c->a, &err); break;
        }
        if (rc != -1 || !err || !*err)
            fail_msg("%s: accepted (rc %d)", c->what, rc);
        free(err);
    }
}

/* ---- the command ---- */

/* Runs `ksiss tiers ARGS...` with stdout captured; returns the exit code
 * and the output in *out (caller frees). */
static int run_tiers(char **out, int argc, char **argv)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
    int rc = ksiss_cmd_tiers(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    rewind(tmp);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), tmp)) > 0)
        ksiss_sb_append(&sb, buf, n);
    fclose(tmp);
    *out = ksiss_sb_take(&sb);
    return rc;
}

static void test_tiers_command_prints_one_model_with_its_sources(void **state)
{
    (void)state;
    char *argv[] = {"tiers", "--gpu", "H200-141GB", NULL};
    char *out = NULL;
    assert_int_equal(run_tiers(&out, 3, argv), KSISS_EXIT_OK);
    assert_non_null(strstr(out, "H200-141GB:"));
    assert_non_null(strstr(out, "mig-7g.141gb"));
    assert_non_null(strstr(out, "nvidia.com/gpu x8"));
    assert_non_null(strstr(out, "sources:"));
    assert_non_null(strstr(out, "ParvaGPU"));
    assert_null(strstr(out, "H100-80GB:"));
    free(out);
}

static void test_tiers_command_json_lists_every_model(void **state)
{
    (void)state;
    char *argv[] = {"tiers", "--json", NULL};
    char *out = NULL;
    assert_int_equal(run_tiers(&out, 2, argv), KSISS_EXIT_OK);
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr);
    if (!root)
        fail_msg("not JSON: %s", jerr.text);
    json_t *models = json_object_get(root, "models"); /* borrowed */
    assert_int_equal(json_array_size(models), 5);
    json_t *h100 = json_array_get(models, 3);
    assert_string_equal(json_string_value(json_object_get(h100, "name")), "H100-80GB");
    json_t *tiers = json_object_get(h100, "tiers");
    assert_true(json_array_size(tiers) > 10);
    json_t *first = json_array_get(tiers, 0);
    assert_non_null(json_object_get(first, "prefill_rel"));
    assert_non_null(json_object_get(first, "source"));
    json_decref(root);
    free(out);
}

typedef struct {
    const char *a1, *a2;
    int rc;
} cli_case;

static const cli_case cli_cases[] = {
    {"--gpu", "B200", KSISS_EXIT_USAGE},
    {"--gpu", NULL, KSISS_EXIT_USAGE},
    {"--bogus", NULL, KSISS_EXIT_USAGE},
    {"--help", NULL, KSISS_EXIT_OK},
    {"--gpu=a100-40gb", NULL, KSISS_EXIT_OK},
    {"--gpu", "NVIDIA-A30", KSISS_EXIT_OK},
};

static void test_tiers_command_exit_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(cli_cases); i++) {
        char *argv[] = {"tiers", (char *)cli_cases[i].a1, (char *)cli_cases[i].a2, NULL};
        int argc = cli_cases[i].a2 ? 3 : 2;
        char *out = NULL;
        int rc = run_tiers(&out, argc, argv);
        free(out);
        if (rc != cli_cases[i].rc)
            fail_msg("ksiss tiers %s %s: exit %d, want %d", cli_cases[i].a1,
                     cli_cases[i].a2 ? cli_cases[i].a2 : "", rc, cli_cases[i].rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_mig_profile_of_every_model_parses),
        cmocka_unit_test(test_media_extension_slice_has_its_base_figures_and_stays_off_the_default_ladder),
        cmocka_unit_test(test_media_extension_profile_parses_in_both_spellings),
        cmocka_unit_test(test_every_tier_round_trips_through_name_and_resource),
        cmocka_unit_test(test_null_model_means_the_default_model),
        cmocka_unit_test(test_whole_gpu_and_shared_resources_parse_with_their_figures),
        cmocka_unit_test(test_shared_tier_follows_the_node_replicas_label),
        cmocka_unit_test(test_cost_weight_is_the_share_of_the_gpu_a_tier_blocks),
        cmocka_unit_test(test_prefill_tracks_compute_and_decode_tracks_memory_slices),
        cmocka_unit_test(test_default_ladder_crosses_from_the_full_slice_to_whole_gpus),
        cmocka_unit_test(test_ladder_reports_its_full_length_when_the_buffer_is_short),
        cmocka_unit_test(test_ranks_order_every_model_by_capacity),
        cmocka_unit_test(test_shares_sit_in_the_capacity_order),
        cmocka_unit_test(test_tier_names_are_listed_in_rank_order_for_messages),
        cmocka_unit_test(test_unknown_resource_names_and_counts_are_refused_with_a_message),
        cmocka_unit_test(test_unknown_model_message_lists_the_known_models),
        cmocka_unit_test(test_gpu_resource_names_are_recognised),
        cmocka_unit_test(test_mig_profile_names_parse_strictly),
        cmocka_unit_test(test_product_labels_map_to_models),
        cmocka_unit_test(test_overlong_product_label_is_refused_not_matched),
        cmocka_unit_test(test_find_model_accepts_names_in_any_case_and_product_labels),
        cmocka_unit_test(test_single_strategy_mig_label_names_its_slice),
        cmocka_unit_test(test_added_tier_is_ranked_in_capacity_order),
        cmocka_unit_test(test_added_model_gets_tiers_and_a_ladder),
        cmocka_unit_test(test_add_tier_refuses_duplicates_unknown_models_and_bad_figures),
        cmocka_unit_test(test_tier_builders_refuse_impossible_figures),
        cmocka_unit_test(test_tiers_command_prints_one_model_with_its_sources),
        cmocka_unit_test(test_tiers_command_json_lists_every_model),
        cmocka_unit_test(test_tiers_command_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
