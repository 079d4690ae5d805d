/* cmd_tiers.c: `ksiss tiers [--gpu MODEL] [--json]`: prints the GPU tier
 * catalogue, one table per model in ladder (capacity) order, with the
 * sources of the throughput estimates below each table. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/tiers.h"
#include "core/util.h"

static void short_usage(void)
{
    fprintf(stderr, "usage: ksiss tiers [--gpu MODEL] [--json]   (ksiss tiers --help)\n");
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ksiss tiers [--gpu MODEL] [--json]\n"
            "\n"
            "Lists the GPU tier catalogue: for each GPU model (or only MODEL, a name\n"
            "such as H100-80GB, H200-141GB, A100-40GB, or a nvidia.com/gpu.product\n"
            "label), every tier in ladder order, smallest first: its Kubernetes\n"
            "resource and count, kind, share of the GPU's compute, memory (GiB),\n"
            "share of its memory bandwidth, cost weight (GPUs it blocks) and the\n"
            "prefill and decode throughput estimates relative to one whole GPU,\n"
            "with their sources below the table.\n"
            "\n"
            "The ladder column marks the default ladder (used when a service lists\n"
            "no tiers:); shares (shared/N, gpu-<N>gb) and +me slices are used only\n"
            "when a service lists them. docs/tiers.md explains the figures.\n"
            "\n"
            "  --gpu MODEL   one model only (unknown model: exit 2)\n"
            "  --json        machine-readable output\n"
            "  -h, --help    this text\n");
}

/* Footnotes of one table: distinct perf_source strings, in first-use
 * order. Borrowed from the catalogue. */
typedef struct {
    const char **v;
    size_t n;
} sources;

static size_t source_index(sources *s, const char *src)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], src))
            return i;
    s->v = ksiss_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n] = src;
    return s->n++;
}

static void print_model(const ksiss_catalog *cat, const ksiss_gpu_model *m)
{
    printf("%s: %g GiB per GPU; nvidia.com/gpu.shared default %d replicas per GPU", m->name, m->mem_gib,
           m->shared_replicas);
    if (m->n_product_labels) {
        printf("; product labels:");
        for (size_t i = 0; i < m->n_product_labels; i++)
            printf("%s %s", i ? "," : "", m->product_labels[i]);
    }
    printf("\n");
    int wname = (int)strlen("name"), wres = (int)strlen("resource x count");
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (strcmp(t->gpu_model, m->name) != 0)
            continue;
        int ln = (int)strlen(t->name);
        char *r = ksiss_xasprintf("%s x%d", t->resource, t->count);
        int lr = (int)strlen(r);
        free(r);
        if (ln > wname)
            wname = ln;
        if (lr > wres)
            wres = lr;
    }
    printf("%4s  %-*s  %-*s  %-6s  %7s  %7s  %5s  %5s  %7s  %6s  %6s  %s\n", "rank", wname, "name", wres,
           "resource x count", "kind", "compute", "mem_GiB", "bw", "cost", "prefill", "decode", "ladder", "src");
    sources srcs = {NULL, 0};
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (strcmp(t->gpu_model, m->name) != 0)
            continue;
        char *r = ksiss_xasprintf("%s x%d", t->resource, t->count);
        size_t si = source_index(&srcs, t->perf_source ? t->perf_source : "");
        printf("%4d  %-*s  %-*s  %-6s  %7.3f  %7.1f  %5.3f  %5.3f  %7.3f  %6.3f  %6s  [%zu]\n", t->rank, wname,
               t->name, wres, r, ksiss_tier_kind_name(t->kind), t->compute_frac, t->mem_gib, t->bw_frac, t->cost,
               t->prefill_rel, t->decode_rel, t->in_ladder ? "*" : "-", si + 1);
        free(r);
    }
    printf("sources:\n");
    for (size_t i = 0; i < srcs.n; i++)
        printf("  [%zu] %s\n", i + 1, srcs.v[i]);
    printf("\n");
    free(srcs.v);
}

/* json_object_set_new steals the value reference. */
static json_t *model_json(const ksiss_catalog *cat, const ksiss_gpu_model *m)
{
    json_t *jm = json_object();
    json_object_set_new(jm, "name", json_string(m->name));
    json_object_set_new(jm, "memory_gib", json_real(m->mem_gib));
    json_object_set_new(jm, "shared_replicas", json_integer(m->shared_replicas));
    json_t *labels = json_array();
    for (size_t i = 0; i < m->n_product_labels; i++)
        json_array_append_new(labels, json_string(m->product_labels[i]));
    json_object_set_new(jm, "product_labels", labels);
    json_t *tiers = json_array();
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        if (strcmp(t->gpu_model, m->name) != 0)
            continue;
        json_t *jt = json_object();
        json_object_set_new(jt, "rank", json_integer(t->rank));
        json_object_set_new(jt, "name", json_string(t->name));
        json_object_set_new(jt, "resource", json_string(t->resource));
        json_object_set_new(jt, "count", json_integer(t->count));
        json_object_set_new(jt, "kind", json_string(ksiss_tier_kind_name(t->kind)));
        json_object_set_new(jt, "compute_frac", json_real(t->compute_frac));
        json_object_set_new(jt, "memory_gib", json_real(t->mem_gib));
        json_object_set_new(jt, "bandwidth_frac", json_real(t->bw_frac));
        json_object_set_new(jt, "cost", json_real(t->cost));
        json_object_set_new(jt, "prefill_rel", json_real(t->prefill_rel));
        json_object_set_new(jt, "decode_rel", json_real(t->decode_rel));
        json_object_set_new(jt, "default_ladder", json_boolean(t->in_ladder));
        if (t->replicas)
            json_object_set_new(jt, "replicas", json_integer(t->replicas));
        json_object_set_new(jt, "source", json_string(t->perf_source ? t->perf_source : ""));
        json_array_append_new(tiers, jt);
    }
    json_object_set_new(jm, "tiers", tiers);
    return jm;
}

int ksiss_cmd_tiers(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        usage(stdout);
        return KSISS_EXIT_OK;
    }
    const char *gpu = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--gpu")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ksiss tiers: --gpu needs a model name\n");
                short_usage();
                return KSISS_EXIT_USAGE;
            }
            gpu = argv[++i];
        } else if (ksiss_str_has_prefix(a, "--gpu=")) {
            gpu = a + strlen("--gpu=");
        } else {
            fprintf(stderr, "ksiss tiers: unknown argument '%s'\n", a);
            short_usage();
            return KSISS_EXIT_USAGE;
        }
    }
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    const ksiss_gpu_model *only = NULL;
    if (gpu) {
        only = ksiss_catalog_find_model(&cat, gpu);
        if (!only) {
            char *names = ksiss_catalog_model_names(&cat);
            fprintf(stderr, "ksiss tiers: unknown GPU model '%s' (known: %s)\n", gpu, names);
            free(names);
            ksiss_catalog_free(&cat);
            return KSISS_EXIT_USAGE;
        }
    }
    int rc = KSISS_EXIT_OK;
    if (json) {
        json_t *root = json_object();
        json_object_set_new(root, "default_model", json_string(cat.default_model));
        json_t *models = json_array();
        for (size_t i = 0; i < cat.n_models; i++)
            if (!only || only == &cat.models[i])
                json_array_append_new(models, model_json(&cat, &cat.models[i]));
        json_object_set_new(root, "models", models);
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        json_decref(root);
        if (!s) {
            fprintf(stderr, "ksiss tiers: cannot encode JSON\n");
            rc = KSISS_EXIT_RUNTIME;
        } else {
            printf("%s\n", s);
            free(s);
        }
    } else {
        printf("GPU tier catalogue (default model %s). Ladder order: capacity = mean of prefill and decode,\n"
               "then memory, cost, kind. ladder * = default ladder; figures per instance; see docs/tiers.md.\n\n",
               cat.default_model);
        for (size_t i = 0; i < cat.n_models; i++)
            if (!only || only == &cat.models[i])
                print_model(&cat, &cat.models[i]);
    }
    if (fflush(stdout) != 0 && rc == KSISS_EXIT_OK) {
        fprintf(stderr, "ksiss tiers: cannot write output\n");
        rc = KSISS_EXIT_RUNTIME;
    }
    ksiss_catalog_free(&cat);
    return rc;
}
