/* catalog_ext.c: user extensions of the GPU tier catalogue (tiers.h
 * ksiss_catalog_extend; format in docs/catalog.md): new GPU models with
 * their MIG geometry, shares and whole-GPU tiers, and extra tiers for any
 * model, validated like the rest of the configuration. All or nothing:
 * the extension is applied to a copy, which replaces the catalogue only
 * when every entry was valid. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/tiers.h"
#include "core/util.h"
#include "core/yaml_tree.h"

typedef struct {
    ksiss_catalog *cat;     /* the working copy */
    ksiss_diags *d;
    const char *file;
    bool bad;
} ext;

#define MAX_MODELS 64    /* per document; bounds the work of duplicate checks and re-ranking */
#define MAX_TIERS 256

#define GETX(call) ((call) == 0 ? 0 : (x->bad = true, -1))

static void xerr(ext *x, ksiss_pos pos, const char *what, char *msg)
{
    ksiss_diags_add(x->d, x->file, pos, "%s: %s", what, msg ? msg : "invalid");
    free(msg);
    x->bad = true;
}

static const char *const top_keys[] = {"models", "tiers", NULL};
static const char *const model_keys[] = {
    "name", "memoryGiB", "productLabels", "sharedReplicas", "wholeGpus", "shared", "mpsGiB", "mig", NULL,
};
static const char *const mig_keys[] = {"computeSlices", "memorySlices", "fullSliceShare", "profiles", NULL};
static const char *const profile_keys[] = {"profile", "compute", "memory", "memoryGiB", NULL};
static const char *const tier_keys[] = {
    "gpu", "gpus", "shared", "mpsGiB", "name", "resource", "count", "kind", "computeFraction", "memoryGiB",
    "bandwidthFraction", "cost", "prefillRelative", "decodeRelative", "source", "inLadder", NULL,
};

/* Adds a filled tier (consumed: cleared afterwards). */
static void add_tier(ext *x, ksiss_tier *t, ksiss_pos pos, const char *what)
{
    char *e = NULL;
    if (ksiss_catalog_add_tier(x->cat, t, &e) != 0)
        xerr(x, pos, what, e);
    ksiss_tier_clear(t);
}

/* A list of small positive integers (wholeGpus, shared, mpsGiB). */
static size_t int_list(ext *x, const ksiss_ynode *n, const char *what, int64_t lo, int64_t hi, int64_t *out,
                       size_t max)
{
    if (n->kind != KSISS_Y_SEQ) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: expected a list of integers, got %s", what,
                        ksiss_y_kind_name(n));
        x->bad = true;
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (k == max) {
            ksiss_diags_add(x->d, x->file, n->items[i]->pos, "%s: at most %zu entries", what, max);
            x->bad = true;
            break;
        }
        int64_t v;
        if (GETX(ksiss_y_int(n->items[i], x->file, what, lo, hi, &v, x->d)) == 0)
            out[k++] = v;
    }
    return k;
}

static void parse_mig(ext *x, const ksiss_gpu_model *m, const ksiss_ynode *n, const char *what)
{
    if (n->kind != KSISS_Y_MAP) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: expected a mapping with computeSlices, memorySlices, profiles",
                        what);
        x->bad = true;
        return;
    }
    if (ksiss_y_check_keys(n, x->file, what, mig_keys, x->d))
        x->bad = true;
    int64_t g_total = 7, mem_total = 8;
    double sm7 = 1.0;
    const ksiss_ynode *v;
    char *f;
    bool ok = true;
    if ((v = ksiss_ymap_get(n, "computeSlices"))) {
        f = ksiss_xasprintf("%s: computeSlices", what);
        ok = GETX(ksiss_y_int(v, x->file, f, 1, 64, &g_total, x->d)) == 0 && ok;
        free(f);
    }
    if ((v = ksiss_ymap_get(n, "memorySlices"))) {
        f = ksiss_xasprintf("%s: memorySlices", what);
        ok = GETX(ksiss_y_int(v, x->file, f, 1, 64, &mem_total, x->d)) == 0 && ok;
        free(f);
    }
    if ((v = ksiss_ymap_get(n, "fullSliceShare"))) {
        f = ksiss_xasprintf("%s: fullSliceShare", what);
        if (GETX(ksiss_y_double(v, x->file, f, &sm7, x->d)) == 0 && !(sm7 > 0 && sm7 <= 1)) {
            ksiss_diags_add(x->d, x->file, v->pos, "%s: must be in (0, 1], got %g", f, sm7);
            x->bad = true;
            ok = false;
        }
        free(f);
    }
    const ksiss_ynode *profiles = ksiss_ymap_get(n, "profiles");
    if (!profiles || profiles->kind != KSISS_Y_SEQ || profiles->n == 0) {
        ksiss_diags_add(x->d, x->file, profiles ? profiles->pos : n->pos, "%s: profiles: expected a non-empty list",
                        what);
        x->bad = true;
        return;
    }
    if (profiles->n > 32) {
        ksiss_diags_add(x->d, x->file, profiles->items[32]->pos, "%s: profiles: more than 32 profiles", what);
        x->bad = true;
        return;
    }
    if (!ok)
        return;
    for (size_t i = 0; i < profiles->n; i++) {
        const ksiss_ynode *p = profiles->items[i];
        char *pw = ksiss_xasprintf("%s: profiles[%zu]", what, i);
        if (p->kind != KSISS_Y_MAP) {
            ksiss_diags_add(x->d, x->file, p->pos, "%s: expected a mapping with profile, compute, memory, memoryGiB",
                            pw);
            x->bad = true;
            free(pw);
            continue;
        }
        if (ksiss_y_check_keys(p, x->file, pw, profile_keys, x->d))
            x->bad = true;
        const char *prof = NULL;
        int64_t g = 0, mem = 0;
        double gib = 0;
        bool pok = true;
        const ksiss_ynode *pv = ksiss_ymap_get(p, "profile");
        const ksiss_ynode *gv = ksiss_ymap_get(p, "compute");
        const ksiss_ynode *mv = ksiss_ymap_get(p, "memory");
        const ksiss_ynode *bv = ksiss_ymap_get(p, "memoryGiB");
        if (!pv || !gv || !mv || !bv) {
            ksiss_diags_add(x->d, x->file, p->pos, "%s: needs profile, compute, memory and memoryGiB", pw);
            x->bad = true;
            free(pw);
            continue;
        }
        f = ksiss_xasprintf("%s: profile", pw);
        pok = GETX(ksiss_y_string(pv, x->file, f, &prof, x->d)) == 0 && pok;
        free(f);
        f = ksiss_xasprintf("%s: compute", pw);
        pok = GETX(ksiss_y_int(gv, x->file, f, 1, g_total, &g, x->d)) == 0 && pok;
        free(f);
        f = ksiss_xasprintf("%s: memory", pw);
        pok = GETX(ksiss_y_int(mv, x->file, f, 1, mem_total, &mem, x->d)) == 0 && pok;
        free(f);
        f = ksiss_xasprintf("%s: memoryGiB", pw);
        pok = GETX(ksiss_y_double(bv, x->file, f, &gib, x->d)) == 0 && pok;
        free(f);
        if (pok) {
            ksiss_tier t;
            char *e = NULL;
            if (ksiss_tier_init_mig(&t, m, prof, (int)g, (int)g_total, (int)mem, (int)mem_total, gib, sm7, &e) != 0)
                xerr(x, p->pos, pw, e);
            else
                add_tier(x, &t, p->pos, pw);
        }
        free(pw);
    }
}

static void parse_model(ext *x, const ksiss_ynode *n, size_t idx)
{
    char *what = ksiss_xasprintf("catalogue: models[%zu]", idx);
    if (n->kind != KSISS_Y_MAP) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: expected a mapping with name and memoryGiB, got %s", what,
                        ksiss_y_kind_name(n));
        x->bad = true;
        free(what);
        return;
    }
    if (ksiss_y_check_keys(n, x->file, what, model_keys, x->d))
        x->bad = true;
    const ksiss_ynode *nn = ksiss_ymap_get(n, "name"), *mem = ksiss_ymap_get(n, "memoryGiB");
    if (!nn || !mem) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: needs name and memoryGiB", what);
        x->bad = true;
        free(what);
        return;
    }
    const char *name;
    double gib;
    int64_t shared_n = 4;
    bool ok = GETX(ksiss_y_string(nn, x->file, what, &name, x->d)) == 0;
    char *f = ksiss_xasprintf("%s: memoryGiB", what);
    if (GETX(ksiss_y_double(mem, x->file, f, &gib, x->d)) != 0) {
        ok = false;
    } else if (!(gib > 0) || gib > 1.0e5) {
        ksiss_diags_add(x->d, x->file, mem->pos, "%s: must be a positive number of GiB up to 100000, got %g", f, gib);
        x->bad = true;
        ok = false;
    }
    free(f);
    const ksiss_ynode *sr = ksiss_ymap_get(n, "sharedReplicas");
    if (sr) {
        f = ksiss_xasprintf("%s: sharedReplicas", what);
        ok = GETX(ksiss_y_int(sr, x->file, f, 1, 48, &shared_n, x->d)) == 0 && ok;
        free(f);
    }
    const ksiss_ynode *labels = ksiss_ymap_get(n, "productLabels");
    const char **lv = NULL;
    size_t nl = 0;
    if (labels) {
        if (labels->kind != KSISS_Y_SEQ) {
            ksiss_diags_add(x->d, x->file, labels->pos, "%s: productLabels: expected a list of strings", what);
            x->bad = true;
            ok = false;
        } else {
            lv = ksiss_xcalloc(labels->n + 1, sizeof(*lv));
            for (size_t i = 0; i < labels->n; i++) {
                f = ksiss_xasprintf("%s: productLabels[%zu]", what, i);
                if (GETX(ksiss_y_string(labels->items[i], x->file, f, &lv[nl], x->d)) == 0)
                    nl++;
                else
                    ok = false;
                free(f);
            }
        }
    }
    if (!ok) {
        free(lv);
        free(what);
        return;
    }
    char *e = NULL;
    if (ksiss_catalog_add_model(x->cat, name, gib, (int)shared_n, lv, nl, &e) != 0) {
        xerr(x, nn->pos, what, e);
        free(lv);
        free(what);
        return;
    }
    free(lv);
    char *w2 = ksiss_xasprintf("catalogue: model %s", name);
    free(what);
    what = w2;
    /* The model pointer is stable until the next add_model. */
    const ksiss_gpu_model *m = ksiss_catalog_model(x->cat, name);
    int64_t vals[16];
    size_t k;
    const ksiss_ynode *v;
    ksiss_tier t;

    if ((v = ksiss_ymap_get(n, "mig"))) {
        f = ksiss_xasprintf("%s: mig", what);
        parse_mig(x, m, v, f);
        free(f);
    }
    if ((v = ksiss_ymap_get(n, "shared"))) {
        f = ksiss_xasprintf("%s: shared", what);
        k = int_list(x, v, f, 2, 48, vals, 16);
        for (size_t i = 0; i < k; i++) {
            if (ksiss_tier_init_shared(&t, m, (int)vals[i], &e) != 0)
                xerr(x, v->items[i]->pos, f, e);
            else
                add_tier(x, &t, v->items[i]->pos, f);
        }
        free(f);
    }
    if ((v = ksiss_ymap_get(n, "mpsGiB"))) {
        f = ksiss_xasprintf("%s: mpsGiB", what);
        k = int_list(x, v, f, 1, 100000, vals, 16);
        for (size_t i = 0; i < k; i++) {
            if (ksiss_tier_init_mps_gb(&t, m, (int)vals[i], &e) != 0)
                xerr(x, v->items[i]->pos, f, e);
            else
                add_tier(x, &t, v->items[i]->pos, f);
        }
        free(f);
    }
    v = ksiss_ymap_get(n, "wholeGpus");
    f = ksiss_xasprintf("%s: wholeGpus", what);
    if (v) {
        k = int_list(x, v, f, 1, 64, vals, 16);
    } else {
        static const int64_t dflt[] = {1, 2, 4, 8};
        k = 4;
        memcpy(vals, dflt, sizeof(dflt));
    }
    for (size_t i = 0; i < k; i++) {
        ksiss_pos pos = v ? v->items[i]->pos : n->pos;
        if (ksiss_tier_init_gpus(&t, m, (int)vals[i], &e) != 0)
            xerr(x, pos, f, e);
        else
            add_tier(x, &t, pos, f);
    }
    free(f);
    free(what);
}

/* A field overriding a figure of a tier: a finite number >= 0. */
static void override_num(ext *x, const ksiss_ynode *n, const char *key, const char *what, double *out)
{
    const ksiss_ynode *v = ksiss_ymap_get(n, key);
    if (!v)
        return;
    char *f = ksiss_xasprintf("%s: %s", what, key);
    double val;
    if (GETX(ksiss_y_double(v, x->file, f, &val, x->d)) == 0) {
        if (val < 0 || val > 1.0e6) {
            ksiss_diags_add(x->d, x->file, v->pos, "%s: must be between 0 and 1e6, got %g", f, val);
            x->bad = true;
        } else {
            *out = val;
        }
    }
    free(f);
}

static void override_str(ext *x, const ksiss_ynode *n, const char *key, const char *what, char **out)
{
    const ksiss_ynode *v = ksiss_ymap_get(n, key);
    if (!v)
        return;
    char *f = ksiss_xasprintf("%s: %s", what, key);
    const char *s;
    if (GETX(ksiss_y_string(v, x->file, f, &s, x->d)) == 0) {
        if (v->scalar_len != strlen(s) || v->scalar_len > 253 || !*s) {
            ksiss_diags_add(x->d, x->file, v->pos, "%s: must be 1 to 253 characters", f);
            x->bad = true;
        } else {
            free(*out);
            *out = ksiss_xstrdup(s);
        }
    }
    free(f);
}

static void parse_tier_checked(ext *x, const ksiss_ynode *n, size_t idx)
{
    char *what = ksiss_xasprintf("catalogue: tiers[%zu]", idx);
    if (n->kind != KSISS_Y_MAP) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: expected a mapping with gpu and the tier's figures, got %s", what,
                        ksiss_y_kind_name(n));
        x->bad = true;
        free(what);
        return;
    }
    if (ksiss_y_check_keys(n, x->file, what, tier_keys, x->d))
        x->bad = true;
    const ksiss_ynode *g = ksiss_ymap_get(n, "gpu");
    const char *gname;
    if (!g) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: gpu (the GPU model) is missing", what);
        x->bad = true;
        free(what);
        return;
    }
    char *f = ksiss_xasprintf("%s: gpu", what);
    int grc = GETX(ksiss_y_string(g, x->file, f, &gname, x->d));
    free(f);
    if (grc != 0) {
        free(what);
        return;
    }
    const ksiss_gpu_model *m = ksiss_catalog_find_model(x->cat, gname);
    if (!m) {
        char *names = ksiss_catalog_model_names(x->cat);
        xerr(x, g->pos, what, ksiss_xasprintf("unknown GPU model \"%s\" (known: %s; add it under models:)",
                                              gname, names ? names : "none"));
        free(names);
        free(what);
        return;
    }
    /* Start from a shorthand's figures, or from nothing. */
    ksiss_tier t;
    memset(&t, 0, sizeof(t));
    char *e = NULL;
    int64_t v;
    const ksiss_ynode *sh;
    int n_short = 0;
    int rc = 0;
    if ((sh = ksiss_ymap_get(n, "gpus"))) {
        n_short++;
        f = ksiss_xasprintf("%s: gpus", what);
        if (GETX(ksiss_y_int(sh, x->file, f, 1, 64, &v, x->d)) == 0 && (rc = ksiss_tier_init_gpus(&t, m, (int)v, &e)))
            xerr(x, sh->pos, f, e);
        free(f);
    }
    if ((sh = ksiss_ymap_get(n, "shared"))) {
        n_short++;
        f = ksiss_xasprintf("%s: shared", what);
        ksiss_tier_clear(&t);   /* several shorthands (refused below): the earlier one's strings */
        if (GETX(ksiss_y_int(sh, x->file, f, 2, 48, &v, x->d)) == 0 && (rc = ksiss_tier_init_shared(&t, m, (int)v, &e)))
            xerr(x, sh->pos, f, e);
        free(f);
    }
    if ((sh = ksiss_ymap_get(n, "mpsGiB"))) {
        n_short++;
        f = ksiss_xasprintf("%s: mpsGiB", what);
        ksiss_tier_clear(&t);
        if (GETX(ksiss_y_int(sh, x->file, f, 1, 100000, &v, x->d)) == 0 &&
            (rc = ksiss_tier_init_mps_gb(&t, m, (int)v, &e)))
            xerr(x, sh->pos, f, e);
        free(f);
    }
    (void)rc;
    if (n_short > 1) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: give at most one of gpus, shared, mpsGiB", what);
        x->bad = true;
    }
    if (x->bad) {
        ksiss_tier_clear(&t);
        free(what);
        return;
    }
    if (n_short == 0) {
        static const char *const required[] = {"name", "resource", "kind", "computeFraction", "memoryGiB",
                                               "prefillRelative", "decodeRelative", NULL};
        bool miss = false;
        for (size_t i = 0; required[i]; i++) {
            if (!ksiss_ymap_get(n, required[i])) {
                ksiss_diags_add(x->d, x->file, n->pos, "%s: %s is missing (or use a shorthand: gpus, shared, mpsGiB)",
                                what, required[i]);
                miss = true;
            }
        }
        if (miss) {
            x->bad = true;
            free(what);
            return;
        }
        t.count = 1;
        t.gpu_model = ksiss_xstrdup(m->name);
        t.cost = -1;
        t.bw_frac = -1;
        const ksiss_ynode *kind = ksiss_ymap_get(n, "kind");
        const char *ks;
        f = ksiss_xasprintf("%s: kind", what);
        if (GETX(ksiss_y_string(kind, x->file, f, &ks, x->d)) == 0) {
            if (!strcmp(ks, "mig"))
                t.kind = KSISS_TIER_MIG;
            else if (!strcmp(ks, "shared"))
                t.kind = KSISS_TIER_SHARED;
            else if (!strcmp(ks, "gpu"))
                t.kind = KSISS_TIER_GPU;
            else {
                ksiss_diags_add(x->d, x->file, kind->pos, "%s: must be mig, shared or gpu", f);
                x->bad = true;
            }
        }
        free(f);
    }
    override_str(x, n, "name", what, &t.name);
    override_str(x, n, "resource", what, &t.resource);
    override_str(x, n, "source", what, &t.perf_source);
    override_num(x, n, "computeFraction", what, &t.compute_frac);
    override_num(x, n, "memoryGiB", what, &t.mem_gib);
    override_num(x, n, "bandwidthFraction", what, &t.bw_frac);
    override_num(x, n, "cost", what, &t.cost);
    override_num(x, n, "prefillRelative", what, &t.prefill_rel);
    override_num(x, n, "decodeRelative", what, &t.decode_rel);
    const ksiss_ynode *cnt = ksiss_ymap_get(n, "count");
    if (cnt) {
        f = ksiss_xasprintf("%s: count", what);
        if (GETX(ksiss_y_int(cnt, x->file, f, 1, 64, &v, x->d)) == 0)
            t.count = (int)v;
        free(f);
    }
    const ksiss_ynode *il = ksiss_ymap_get(n, "inLadder");
    if (il) {
        f = ksiss_xasprintf("%s: inLadder", what);
        GETX(ksiss_y_bool(il, x->file, f, &t.in_ladder, x->d));
        free(f);
    } else if (n_short == 0) {
        t.in_ladder = true;
    }
    if (t.bw_frac < 0)
        t.bw_frac = t.compute_frac;
    if (t.cost < 0)
        t.cost = t.compute_frac;
    if (!t.perf_source)
        t.perf_source = ksiss_xasprintf("catalogue extension %s", x->file);
    if (t.mem_gib > m->mem_gib * (t.kind == KSISS_TIER_GPU ? t.count : 1) * 1.0001) {
        ksiss_diags_add(x->d, x->file, n->pos, "%s: memoryGiB %g is more than %d x %g GiB of %s", what, t.mem_gib,
                        t.kind == KSISS_TIER_GPU ? t.count : 1, m->mem_gib, m->name);
        x->bad = true;
    }
    if (!x->bad)
        add_tier(x, &t, n->pos, what);
    ksiss_tier_clear(&t);
    free(what);
}

/* One tier entry; its own problems only decide whether it is added. */
static void parse_tier(ext *x, const ksiss_ynode *n, size_t idx)
{
    bool before = x->bad;
    x->bad = false;
    parse_tier_checked(x, n, idx);
    x->bad = x->bad || before;
}

int ksiss_catalog_extend_node(ksiss_catalog *cat, const struct ksiss_ynode *doc, const char *file, ksiss_diags *d)
{
    ksiss_catalog work;
    ksiss_catalog_copy(&work, cat);
    ext x = {&work, d, file, false};
    if (!doc || doc->kind != KSISS_Y_MAP) {
        ksiss_diags_add(d, file, doc ? doc->pos : (ksiss_pos){0, 0},
                        "catalogue: expected a mapping with models: and/or tiers:, got %s", ksiss_y_kind_name(doc));
        x.bad = true;
    } else {
        if (ksiss_y_check_keys(doc, file, "catalogue", top_keys, d))
            x.bad = true;
        const ksiss_ynode *models = ksiss_ymap_get(doc, "models");
        const ksiss_ynode *tiers = ksiss_ymap_get(doc, "tiers");
        if (models && models->kind != KSISS_Y_SEQ) {
            ksiss_diags_add(d, file, models->pos, "catalogue: models: expected a list, got %s",
                            ksiss_y_kind_name(models));
            x.bad = true;
        } else if (models && models->n > MAX_MODELS) {
            ksiss_diags_add(d, file, models->items[MAX_MODELS]->pos, "catalogue: models: more than %d models",
                            MAX_MODELS);
            x.bad = true;
        } else if (models) {
            for (size_t i = 0; i < models->n; i++)
                parse_model(&x, models->items[i], i);
        }
        if (tiers && tiers->kind != KSISS_Y_SEQ) {
            ksiss_diags_add(d, file, tiers->pos, "catalogue: tiers: expected a list, got %s", ksiss_y_kind_name(tiers));
            x.bad = true;
        } else if (tiers && tiers->n > MAX_TIERS) {
            ksiss_diags_add(d, file, tiers->items[MAX_TIERS]->pos, "catalogue: tiers: more than %d tiers", MAX_TIERS);
            x.bad = true;
        } else if (tiers) {
            for (size_t i = 0; i < tiers->n; i++)
                parse_tier(&x, tiers->items[i], i);
        }
    }
    if (x.bad) {
        ksiss_catalog_free(&work);
        return -1;
    }
    ksiss_catalog_free(cat);
    *cat = work;
    return 0;
}

int ksiss_catalog_extend(ksiss_catalog *cat, const char *text, size_t len,
                         const char *file, int line_offset, int col_offset,
                         ksiss_diags *d)
{
    ksiss_ynode **docs = NULL;
    size_t n = 0;
    int rc = ksiss_yaml_parse(text, len, file, line_offset, col_offset, &docs, &n, d);
    if (rc == 0 && n != 1) {
        ksiss_diags_add(d, file, (ksiss_pos){line_offset + 1, col_offset + 1},
                        "catalogue: expected one YAML document, found %zu", n);
        rc = -1;
    }
    if (rc == 0)
        rc = ksiss_catalog_extend_node(cat, docs[0], file, d);
    ksiss_ynodes_free(docs, n);
    return rc;
}
