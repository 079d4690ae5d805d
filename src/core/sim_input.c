/* sim_input.c: the simulator's own input files, parsed from buffers with
 * the positioned YAML tree: the model profile (examples/sim/model.yaml) and
 * the cluster inventory (the local control plane's fake-node format). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim.h"
#include "core/util.h"
#include "core/yaml_tree.h"

static const ksiss_ynode *single_doc(ksiss_ynode **docs, size_t n, const char *file, const char *what,
                                     ksiss_diags *d)
{
    ksiss_pos none = { 0, 0 };
    if (n == 0 || !docs[0] || docs[0]->kind != KSISS_Y_MAP) {
        ksiss_diags_add(d, file, n && docs[0] ? docs[0]->pos : none, "%s: expected a YAML mapping%s%s", what,
                        n && docs[0] ? ", got " : "", n && docs[0] ? ksiss_y_kind_name(docs[0]) : "");
        return NULL;
    }
    return docs[0];
}

int ksiss_sim_profile_parse(const char *text, size_t len, const char *file,
                            ksiss_sim_profile *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    out->gpu_mem_util = 0.9;
    ksiss_ynode **docs = NULL;
    size_t n = 0;
    size_t before = d->n + d->dropped;
    ksiss_yaml_parse(text, len, file, 0, 0, &docs, &n, d);
    const ksiss_ynode *m = single_doc(docs, n, file, "model profile", d);
    if (m) {
        static const char *const keys[] = { "name", "prefillTokensPerSecond", "decodeTokensPerSecond",
                                            "decodeStepMs", "weightsGiB", "kvBytesPerToken", "maxBatch",
                                            "gpuMemoryUtilization", "gpu", "source", NULL };
        ksiss_y_check_keys(m, file, "model profile", keys, d);
        const char *name = NULL;
        const ksiss_ynode *v = ksiss_ymap_get(m, "name");
        if (v && ksiss_y_string(v, file, "model profile: name", &name, d) == 0)
            out->name = ksiss_xstrdup(name);
        struct { const char *key; double *dst; } f[] = {
            { "prefillTokensPerSecond", &out->prefill_tps },
            { "decodeTokensPerSecond", &out->decode_tps },
            { "decodeStepMs", &out->decode_step_ms },
            { "weightsGiB", &out->weights_gib },
            { "kvBytesPerToken", &out->kv_bytes_per_token },
            { "gpuMemoryUtilization", &out->gpu_mem_util },
        };
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
            v = ksiss_ymap_get(m, f[i].key);
            if (!v) {
                if (strcmp(f[i].key, "gpuMemoryUtilization") != 0)
                    ksiss_diags_add(d, file, m->pos, "model profile: missing field %s", f[i].key);
                continue;
            }
            char *what = ksiss_xasprintf("model profile: %s", f[i].key);
            ksiss_y_double(v, file, what, f[i].dst, d);
            free(what);
        }
        v = ksiss_ymap_get(m, "maxBatch");
        int64_t mb = 0;
        if (!v)
            ksiss_diags_add(d, file, m->pos, "model profile: missing field maxBatch");
        else if (ksiss_y_int(v, file, "model profile: maxBatch", 1, 65536, &mb, d) == 0)
            out->max_batch = (int)mb;
    }
    ksiss_ynodes_free(docs, n);
    if (d->n + d->dropped != before)
        return -1;
    if (!out->name)
        out->name = ksiss_xstrdup("model");
    return ksiss_sim_profile_check(out, file, d);
}

static void add_units(ksiss_sim_cluster *c, const char *resource, const char *model, long long units)
{
    for (size_t i = 0; i < c->n; i++) {
        ksiss_sim_pool *p = &c->v[i];
        bool same_model = (!p->gpu_model && !model) || (p->gpu_model && model && !strcmp(p->gpu_model, model));
        if (same_model && !strcmp(p->resource, resource)) {
            p->units += units;
            return;
        }
    }
    c->v = ksiss_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->v[c->n].resource = ksiss_xstrdup(resource);
    c->v[c->n].gpu_model = ksiss_xstrdup(model);
    c->v[c->n].units = units;
    c->n++;
}

int ksiss_sim_cluster_parse(const char *text, size_t len, const char *file,
                            const ksiss_catalog *cat, ksiss_sim_cluster *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    ksiss_ynode **docs = NULL;
    size_t ndocs = 0;
    size_t before = d->n + d->dropped;
    ksiss_yaml_parse(text, len, file, 0, 0, &docs, &ndocs, d);
    const ksiss_ynode *root = single_doc(docs, ndocs, file, "cluster inventory", d);
    const ksiss_ynode *nodes = root ? ksiss_ymap_get(root, "nodes") : NULL;
    if (root && (!nodes || nodes->kind != KSISS_Y_SEQ)) {
        ksiss_diags_add(d, file, nodes ? nodes->pos : root->pos,
                        "cluster inventory: expected `nodes:` with a list of nodes");
        nodes = NULL;
    }
    for (size_t i = 0; nodes && i < nodes->n; i++) {
        const ksiss_ynode *nd = nodes->items[i];
        if (nd->kind != KSISS_Y_MAP) {
            ksiss_diags_add(d, file, nd->pos, "cluster inventory: node %zu: expected a mapping, got %s", i + 1,
                            ksiss_y_kind_name(nd));
            continue;
        }
        const char *name = NULL;
        const ksiss_ynode *v = ksiss_ymap_get(nd, "name");
        char *what = ksiss_xasprintf("cluster inventory: node %zu: name", i + 1);
        if (!v)
            ksiss_diags_add(d, file, nd->pos, "cluster inventory: node %zu: missing name", i + 1);
        else
            ksiss_y_string(v, file, what, &name, d);
        free(what);
        char *label = ksiss_xasprintf("node %s", name ? name : "?");
        const ksiss_ynode *labels = ksiss_ymap_get(nd, "labels");
        const ksiss_ynode *prod = labels ? ksiss_ymap_get(labels, "nvidia.com/gpu.product") : NULL;
        const char *product = NULL;
        if (prod) {
            char *w2 = ksiss_xasprintf("cluster inventory: %s: nvidia.com/gpu.product", label);
            ksiss_y_string(prod, file, w2, &product, d);
            free(w2);
        }
        const ksiss_ynode *alloc = ksiss_ymap_get(nd, "allocatable");
        if (alloc && alloc->kind != KSISS_Y_MAP) {
            ksiss_diags_add(d, file, alloc->pos, "cluster inventory: %s: allocatable: expected a mapping", label);
            alloc = NULL;
        }
        const ksiss_gpu_model *gm = NULL;
        bool has_gpu = false;
        for (size_t k = 0; alloc && k < alloc->n; k++)
            if (ksiss_is_gpu_resource(alloc->keys[k]->scalar))
                has_gpu = true;
        if (has_gpu) {
            gm = product ? ksiss_catalog_model_by_product(cat, product) : NULL;
            if (!gm) {
                ksiss_diags_add(d, file, prod ? prod->pos : nd->pos,
                                "cluster inventory: %s has GPU resources but %s", label,
                                product ? "its nvidia.com/gpu.product is not a GPU model of the catalogue"
                                        : "no nvidia.com/gpu.product label");
            }
        }
        for (size_t k = 0; gm && alloc && k < alloc->n; k++) {
            const char *res = alloc->keys[k]->scalar;
            if (!ksiss_is_gpu_resource(res))
                continue;
            int64_t units;
            char *w3 = ksiss_xasprintf("cluster inventory: %s: allocatable %s", label, res);
            if (ksiss_y_int(alloc->items[k], file, w3, 0, 1000000, &units, d) == 0 && units > 0)
                add_units(out, res, gm->name, units);
            free(w3);
        }
        free(label);
        out->nodes++;
    }
    ksiss_ynodes_free(docs, ndocs);
    if (d->n + d->dropped != before)
        return -1;
    if (out->n == 0) {
        ksiss_pos none = { 0, 0 };
        ksiss_diags_add(d, file, none, "cluster inventory: no node has allocatable GPU resources");
        return -1;
    }
    return 0;
}

void ksiss_sim_cluster_free(ksiss_sim_cluster *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].resource);
        free(c->v[i].gpu_model);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}
