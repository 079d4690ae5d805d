/* gpu_resolve.c: the GPU model of a service in the original's format, from
 * the resource its serving revision requests and the product labels of the
 * nodes its pods run on (see gpu_resolve.h), the hold when it cannot be
 * told, and the original's ladder on its own hardware. Pure. */
#include "core/gpu_resolve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

bool ksiss_gpu_model_inferred(const ksiss_service_cfg *svc)
{
    return svc && svc->legacy && !svc->gpu_model;
}

const char *ksiss_gpu_source_name(ksiss_gpu_source s)
{
    switch (s) {
    case KSISS_GPU_FROM_CONFIG: return "gpu:";
    case KSISS_GPU_DEFAULT: return "default";
    case KSISS_GPU_FROM_RESOURCE: return "resource";
    case KSISS_GPU_FROM_NODES: return "nodes";
    case KSISS_GPU_UNKNOWN: return "unknown";
    case KSISS_GPU_MIXED: return "mixed";
    }
    return "?";
}

/* The model a node's product label means, as the inventory reads it
 * (inventory.c read_node): a single-strategy MIG label names its slice's
 * model; otherwise the label itself (with or without -SHARED). */
static const ksiss_gpu_model *model_of_product(const ksiss_catalog *cat, const char *product)
{
    if (!product)
        return NULL;
    char *err = NULL;
    const ksiss_tier *t = ksiss_catalog_product_mig_tier(cat, product, &err);
    free(err);
    if (t)
        return ksiss_catalog_model(cat, t->gpu_model);
    return ksiss_catalog_model_by_product(cat, product);
}

static bool has_resource(const ksiss_catalog *cat, const char *model, const char *resource, long long count)
{
    char *err = NULL;
    const ksiss_tier *t = ksiss_catalog_tier_for_resource(cat, model, resource, count, &err);
    free(err);
    return t != NULL;
}

/* Appends the models of the catalogue that have (resource, count), as
 * "A, B and C"; returns how many and the first in *only. */
static size_t models_with_resource(const ksiss_catalog *cat, const char *resource, long long count,
                                   const char **only, ksiss_strbuf *names)
{
    size_t n = 0, total = 0;
    for (size_t i = 0; i < cat->n_models; i++)
        total += has_resource(cat, cat->models[i].name, resource, count);
    *only = NULL;
    for (size_t i = 0; i < cat->n_models; i++) {
        if (!has_resource(cat, cat->models[i].name, resource, count))
            continue;
        if (n == 0)
            *only = cat->models[i].name;
        ksiss_sb_printf(names, "%s%s", n == 0 ? "" : n + 1 == total ? " and " : ", ", cat->models[i].name);
        n++;
    }
    return n;
}

static void describe_node(ksiss_strbuf *sb, const ksiss_catalog *cat, const ksiss_gpu_node_seen *n)
{
    const ksiss_gpu_model *m = model_of_product(cat, n->product);
    if (!n->product)
        ksiss_sb_printf(sb, "%s (no nvidia.com/gpu.product label)", n->name);
    else if (!m)
        ksiss_sb_printf(sb, "%s (nvidia.com/gpu.product=%s, not in the catalogue)", n->name, n->product);
    else
        ksiss_sb_printf(sb, "%s (nvidia.com/gpu.product=%s: %s)", n->name, n->product, m->name);
}

static void describe_request(ksiss_strbuf *sb, const ksiss_gpu_evidence *ev)
{
    if (ev->resource && ev->revision)
        ksiss_sb_printf(sb, "revision %s requests %s x%lld", ev->revision, ev->resource, ev->count);
    else if (ev->resource)
        ksiss_sb_printf(sb, "no revision is Ready; the template requests %s x%lld", ev->resource, ev->count);
    else if (ev->revision)
        ksiss_sb_printf(sb, "revision %s requests no GPU resource K-SISS can read", ev->revision);
    else
        ksiss_sb_puts(sb, "no serving revision");
}

void ksiss_gpu_resolve(const ksiss_catalog *cat, const ksiss_service_cfg *svc, const ksiss_gpu_evidence *ev,
                       ksiss_gpu_resolution *out)
{
    memset(out, 0, sizeof(*out));
    if (!ksiss_gpu_model_inferred(svc)) {
        const ksiss_gpu_model *m = ksiss_catalog_model(cat, svc->gpu_model ? svc->gpu_model : cat->default_model);
        out->model = m ? m->name : NULL;
        out->source = svc->gpu_model ? KSISS_GPU_FROM_CONFIG : KSISS_GPU_DEFAULT;
        out->seen = ksiss_xasprintf(svc->gpu_model ? "gpu: %s in the configuration" : "%s (the default model)",
                                    out->model ? out->model : "?");
        if (!out->model)
            out->source = KSISS_GPU_UNKNOWN;
        return;
    }
    static const ksiss_gpu_evidence none = {0};
    if (!ev)
        ev = &none;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 256);
    describe_request(&sb, ev);

    /* The models the nodes' labels name, in the order first seen. */
    const ksiss_gpu_model *first = NULL;
    bool mixed = false;
    size_t unlabelled = 0;
    for (size_t i = 0; i < ev->n_nodes; i++) {
        const ksiss_gpu_model *m = model_of_product(cat, ev->nodes[i].product);
        if (!m)
            unlabelled++;
        else if (!first)
            first = m;
        else if (m != first)
            mixed = true;
    }
    if (ev->n_nodes > 0) {
        ksiss_sb_puts(&sb, "; its pods run on ");
        for (size_t i = 0; i < ev->n_nodes; i++) {
            if (i)
                ksiss_sb_puts(&sb, ", ");
            describe_node(&sb, cat, &ev->nodes[i]);
        }
    } else {
        ksiss_sb_puts(&sb, "; none of its pods is on a node");
    }

    if (mixed) {
        out->source = KSISS_GPU_MIXED;
        ksiss_sb_puts(&sb, ": nodes of different GPU models");
    } else if (first) {
        if (ev->resource && !has_resource(cat, first->name, ev->resource, ev->count)) {
            out->source = KSISS_GPU_UNKNOWN;
            ksiss_sb_printf(&sb, ": %s has no tier for %s x%lld (the label and the resource disagree)", first->name,
                            ev->resource, ev->count);
        } else {
            out->source = KSISS_GPU_FROM_NODES;
            out->model = first->name;
            ksiss_sb_printf(&sb, ": %s from the nodes' label", first->name);
            if (unlabelled)
                ksiss_sb_printf(&sb, " (%zu node%s without a known label ignored)", unlabelled,
                                unlabelled == 1 ? "" : "s");
        }
    } else if (!ev->resource) {
        out->source = KSISS_GPU_UNKNOWN;
        ksiss_sb_puts(&sb, ": nothing tells the GPU model");
    } else {
        ksiss_strbuf names;
        ksiss_sb_init(&names, 64);
        const char *only;
        size_t n = models_with_resource(cat, ev->resource, ev->count, &only, &names);
        if (n == 1) {
            out->source = KSISS_GPU_FROM_RESOURCE;
            out->model = only;
            ksiss_sb_printf(&sb, ": %s, the only GPU model with that resource", only);
        } else if (n == 0) {
            out->source = KSISS_GPU_UNKNOWN;
            ksiss_sb_printf(&sb, ": no GPU model of the catalogue has %s x%lld", ev->resource, ev->count);
        } else {
            out->source = KSISS_GPU_UNKNOWN;
            ksiss_sb_printf(&sb, ": %s all have %s, and no node label tells which", ksiss_sb_str(&names),
                            ev->resource);
        }
        ksiss_sb_free(&names);
    }
    out->seen = ksiss_sb_take(&sb);
    if (!out->seen)
        out->seen = ksiss_xstrdup("");
}

void ksiss_gpu_resolution_clear(ksiss_gpu_resolution *r)
{
    free(r->seen);
    memset(r, 0, sizeof(*r));
}

void ksiss_gpu_hold(const ksiss_gpu_resolution *r, const ksiss_deployment *current, ksiss_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->action = KSISS_HOLD;
    out->tier = current ? current->tier : NULL;
    out->replicas = current ? current->replicas_ready + current->replicas_starting : 0;
    out->pressure = NAN;
    out->worst_metric = -1;
    out->required_capacity = NAN;
    bool mixed = r->source == KSISS_GPU_MIXED;
    out->reason_code = mixed ? "gpu_model_mixed" : "gpu_model_unknown";
    out->reason = ksiss_xasprintf("%s: %s; holding (name the model with gpu: in the extended format, or "
                                  "label the nodes nvidia.com/gpu.product)",
                                  mixed ? "the service's pods run on GPUs of different models"
                                        : "the service's GPU model cannot be determined",
                                  r->seen ? r->seen : "nothing seen");
}

/* The original autoscaler's ladder: hard-coded to A100-40GB MIG slices
 * (shared/seed/COMPATIBILITY.md, "tiers were hard-coded to A100-40GB"). */
static const char *const original_a100_40gb[] = {
    "mig-1g.5gb", "mig-2g.10gb", "mig-3g.20gb", "mig-4g.20gb", "mig-7g.40gb", NULL,
};

static bool in_original(const ksiss_tier *t)
{
    if (t->kind != KSISS_TIER_MIG)
        return true;        /* the whole GPUs past the 7g slice */
    for (size_t i = 0; original_a100_40gb[i]; i++)
        if (!strcmp(t->name, original_a100_40gb[i]))
            return true;
    return false;
}

size_t ksiss_gpu_legacy_ladder(const ksiss_catalog *cat, const char *model, const ksiss_tier **out, size_t max)
{
    size_t n = ksiss_catalog_ladder(cat, model, NULL, 0);
    const ksiss_tier **all = ksiss_xcalloc(n ? n : 1, sizeof(*all));
    n = ksiss_catalog_ladder(cat, model, all, n);
    const ksiss_gpu_model *m = ksiss_catalog_model(cat, model ? model : cat->default_model);
    bool original = m && !strcmp(m->name, "A100-40GB");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (original && !in_original(all[i]))
            continue;
        if (out && k < max)
            out[k] = all[i];
        k++;
    }
    free(all);
    return k;
}

void ksiss_gpu_service_for_model(const ksiss_catalog *cat, const ksiss_service_cfg *svc, const char *model,
                                 ksiss_service_cfg *out)
{
    *out = *svc;
    const ksiss_gpu_model *m = ksiss_catalog_model(cat, model);
    out->gpu_model = m ? (char *)m->name : svc->gpu_model;   /* borrowed: see the header */
    if (svc->legacy && m) {
        size_t n = ksiss_gpu_legacy_ladder(cat, m->name, NULL, 0);
        out->ladder = ksiss_xcalloc(n ? n : 1, sizeof(*out->ladder));
        out->n_ladder = ksiss_gpu_legacy_ladder(cat, m->name, out->ladder, n);
    } else {
        out->ladder = ksiss_xcalloc(svc->n_ladder ? svc->n_ladder : 1, sizeof(*out->ladder));
        if (svc->n_ladder)
            memcpy(out->ladder, svc->ladder, svc->n_ladder * sizeof(*out->ladder));
    }
}

void ksiss_gpu_service_free(ksiss_service_cfg *s)
{
    free(s->ladder);
    s->ladder = NULL;
    s->n_ladder = 0;
}
