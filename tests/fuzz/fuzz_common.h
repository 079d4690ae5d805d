/* fuzz_common.h: helpers shared by the libFuzzer targets in tests/fuzz/:
 * an invariant check that reports what broke and aborts (libFuzzer then
 * saves the input as a crash), and small JSON/text utilities. Header-only
 * so that each target stays one file. */
#ifndef KSISS_FUZZ_COMMON_H
#define KSISS_FUZZ_COMMON_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/tiers.h"

/* Fails the run when `cond` is false: prints the broken invariant with its
 * place in the target, then aborts so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                                           \
    do {                                                                                \
        if (!(cond))                                                                    \
            ksiss_fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                    \
    } while (0)

static void ksiss_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));
static void ksiss_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n%s:%d: invariant broken: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* A NUL-terminated copy of the fuzzer's bytes (caller frees). Embedded NUL
 * bytes stay in the copy; parsers that take (text, len) see all of them. */
static inline char *ksiss_fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Every diagnostic has a non-empty message and a file, its position is
 * either unknown (0) or positive, and it formats to a non-empty line.
 * Returns the number of diagnostics counted (kept + dropped). */
static inline size_t ksiss_fuzz_check_diags(const ksiss_diags *d)
{
    FUZZ_CHECK(d->n <= KSISS_DIAGS_MAX, "%zu diagnostics kept, more than the cap %d", d->n, KSISS_DIAGS_MAX);
    for (size_t i = 0; i < d->n; i++) {
        const ksiss_diag *e = &d->v[i];
        FUZZ_CHECK(e->msg && e->msg[0], "diagnostic %zu has no message", i);
        FUZZ_CHECK(e->file && e->file[0], "diagnostic %zu (%s) names no file", i, e->msg);
        FUZZ_CHECK(e->pos.line >= 0 && e->pos.col >= 0, "diagnostic %zu (%s) at %d:%d", i, e->msg, e->pos.line,
                   e->pos.col);
        char *line = ksiss_diag_format(e);
        FUZZ_CHECK(line && line[0], "diagnostic %zu formats to nothing", i);
        free(line);
    }
    return d->n + d->dropped;
}

/* The built-in catalogue, built once per process (building it costs ten
 * times a copy); targets that extend it work on a ksiss_catalog_copy. */
static inline const ksiss_catalog *ksiss_fuzz_builtin(void)
{
    static ksiss_catalog cat;
    static bool built;
    if (!built) {
        ksiss_catalog_builtin(&cat);
        built = true;
    }
    return &cat;
}

static inline bool ksiss_fuzz_finite_nonneg(double v)
{
    return isfinite(v) && v >= 0;
}

/* The catalogue is whole after any extension: every model has a name,
 * memory > 0 and shares >= 1; every tier has a name, a resource, a count
 * >= 1, finite non-negative figures and belongs to a known model; tiers are
 * grouped by model with ranks 0, 1, 2, ... in order; a tier is found again
 * by its model and name; the default model exists; every model's ladder
 * ascends. */
static inline void ksiss_fuzz_check_catalog(const ksiss_catalog *cat)
{
    FUZZ_CHECK(cat->default_model && ksiss_catalog_model(cat, cat->default_model),
               "default model %s is not in the catalogue", cat->default_model ? cat->default_model : "(null)");
    for (size_t i = 0; i < cat->n_models; i++) {
        const ksiss_gpu_model *m = &cat->models[i];
        FUZZ_CHECK(m->name && m->name[0], "model %zu has no name", i);
        FUZZ_CHECK(isfinite(m->mem_gib) && m->mem_gib > 0, "model %s: memory %g", m->name, m->mem_gib);
        FUZZ_CHECK(m->shared_replicas >= 1, "model %s: shared replicas %d", m->name, m->shared_replicas);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cat->models[j].name, m->name) != 0, "model %s listed twice", m->name);
    }
    const char *group = NULL;
    int next_rank = 0;
    for (size_t i = 0; i < cat->n_tiers; i++) {
        const ksiss_tier *t = &cat->tiers[i];
        FUZZ_CHECK(t->name && t->name[0], "tier %zu has no name", i);
        FUZZ_CHECK(t->resource && t->resource[0], "tier %s has no resource", t->name);
        FUZZ_CHECK(t->count >= 1, "tier %s: count %d", t->name, t->count);
        FUZZ_CHECK(t->gpu_model && ksiss_catalog_model(cat, t->gpu_model), "tier %s: unknown model %s", t->name,
                   t->gpu_model ? t->gpu_model : "(null)");
        FUZZ_CHECK(ksiss_fuzz_finite_nonneg(t->compute_frac) && ksiss_fuzz_finite_nonneg(t->mem_gib) &&
                       ksiss_fuzz_finite_nonneg(t->bw_frac) && ksiss_fuzz_finite_nonneg(t->cost) &&
                       ksiss_fuzz_finite_nonneg(t->prefill_rel) && ksiss_fuzz_finite_nonneg(t->decode_rel),
                   "tier %s of %s: a figure is negative or not finite", t->name, t->gpu_model);
        if (!group || strcmp(group, t->gpu_model) != 0) {
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(cat->tiers[j].gpu_model, t->gpu_model) != 0,
                           "tiers of model %s are not grouped together", t->gpu_model);
            group = t->gpu_model;
            next_rank = 0;
        }
        FUZZ_CHECK(t->rank == next_rank, "tier %s of %s: rank %d, expected %d", t->name, t->gpu_model, t->rank,
                   next_rank);
        next_rank++;
        FUZZ_CHECK(ksiss_catalog_tier(cat, t->gpu_model, t->name) == t, "tier %s of %s is not found by its name",
                   t->name, t->gpu_model);
    }
    for (size_t i = 0; i < cat->n_models; i++) {
        size_t n = ksiss_catalog_ladder(cat, cat->models[i].name, NULL, 0);
        const ksiss_tier **lad = calloc(n ? n : 1, sizeof(*lad));
        if (!lad)
            abort();
        size_t got = ksiss_catalog_ladder(cat, cat->models[i].name, lad, n);
        FUZZ_CHECK(got == n, "ladder of %s: %zu tiers, then %zu", cat->models[i].name, n, got);
        for (size_t j = 0; j < n; j++) {
            FUZZ_CHECK(lad[j] >= cat->tiers && lad[j] < cat->tiers + cat->n_tiers,
                       "ladder of %s: tier %zu is not in the catalogue", cat->models[i].name, j);
            FUZZ_CHECK(!strcmp(lad[j]->gpu_model, cat->models[i].name), "ladder of %s holds %s of %s",
                       cat->models[i].name, lad[j]->name, lad[j]->gpu_model);
            FUZZ_CHECK(j == 0 || lad[j - 1]->rank < lad[j]->rank, "ladder of %s does not ascend at %s",
                       cat->models[i].name, lad[j]->name);
        }
        free(lad);
    }
}

#endif
