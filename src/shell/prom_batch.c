/* prom_batch.c: one tick's Prometheus queries batched across services
 * (ksiss_prom_batch, see prom.h): the services whose metric has the same
 * query but for their own name are read by one query per chunk of names
 * (name=~"a|b|..."), whose answer each service's share borrows; a query
 * that cannot be batched is left to the service's own read. */
#include "shell/prom_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

typedef struct {
    ksiss_prom_share *share;
    void *owner;
    size_t first_key, n_keys;   /* into the group's keys */
} batch_member;

typedef struct {
    const char *query;          /* borrowed */
    char *ns;
    unsigned key;               /* KSISS_PROMQL_PH_* bit, 0: no per-service placeholder */
    bool batchable;
    batch_member *m;
    size_t n, cap;
    char **keys;
    size_t nk, capk;
} batch_group;

typedef struct {
    size_t group, first, n;     /* members first..first+n-1 of the group */
    ksiss_prom_result res;      /* the answer (samples borrowed by the shares) */
    char *error;                /* why it failed before being sent */
} batch_chunk;

struct ksiss_prom_batch {
    size_t max_keys;
    ksiss_prom_batch_done_fn done;
    json_t *index;              /* group key -> group number */
    batch_group *g;
    size_t ng, capg;
    batch_chunk *c;
    size_t nc;
    bool sealed;
};

void ksiss_prom_share_clear(ksiss_prom_share *s)
{
    free(s->samples);
    memset(s, 0, sizeof(*s));
}

ksiss_prom_batch *ksiss_prom_batch_new(size_t max_keys, ksiss_prom_batch_done_fn done)
{
    ksiss_prom_batch *b = ksiss_xcalloc(1, sizeof(*b));
    b->max_keys = max_keys ? max_keys : KSISS_PROM_DEFAULT_BATCH_KEYS;
    b->done = done;
    b->index = json_object();
    return b;
}

void ksiss_prom_batch_free(ksiss_prom_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ng; i++) {
        batch_group *g = &b->g[i];
        for (size_t k = 0; k < g->nk; k++)
            free(g->keys[k]);
        free(g->keys);
        free(g->m);
        free(g->ns);
    }
    for (size_t i = 0; i < b->nc; i++) {
        ksiss_prom_result_free(&b->c[i].res);
        free(b->c[i].error);
    }
    free(b->g);
    free(b->c);
    json_decref(b->index);
    free(b);
}

/* The per-service placeholder the query is keyed on: 0 none, a
 * KSISS_PROMQL_PH_* bit, or ~0u when several (not batchable). */
static unsigned query_key(const char *query)
{
    unsigned per = ksiss_promql_placeholders(query) &
                   (KSISS_PROMQL_PH_POD | KSISS_PROMQL_PH_SERVICE | KSISS_PROMQL_PH_REVISION);
    return per & (per - 1) ? ~0u : per;
}

/* Builds the query of a group for the given key values. Returns the
 * query (caller frees) and *label (caller frees; NULL for key 0), or NULL
 * with *why (caller frees). */
static char *group_query(const batch_group *g, const char *const *values, size_t n, char **label, char **why)
{
    ksiss_promql_vars v = {.namespace_name = g->ns};
    *label = NULL;
    *why = NULL;
    if (!g->key)
        return ksiss_promql_fill(g->query, &v, why);
    char *q = NULL;
    int rc = ksiss_promql_batch_keyed(g->query, &v, g->key, values, n, &q, label, why);
    if (rc != 1) {
        free(q);
        free(*label);
        *label = NULL;
        if (!*why)
            *why = ksiss_xstrdup("not batchable");
        return NULL;
    }
    return q;
}

bool ksiss_prom_batch_add(ksiss_prom_batch *b, const char *query, const ksiss_promql_vars *vars,
                          const char *const *pods, size_t n_pods, ksiss_prom_share *share, void *owner)
{
    memset(share, 0, sizeof(*share));
    if (b->sealed || !query)
        return false;
    unsigned key = query_key(query);
    if (key == ~0u)
        return false;
    const char *const *keys = NULL;
    size_t nk = 0;
    if (key == KSISS_PROMQL_PH_POD) {
        keys = pods;
        nk = n_pods;
    } else if (key == KSISS_PROMQL_PH_SERVICE) {
        keys = &vars->service;
        nk = vars->service ? 1 : 0;
    } else if (key == KSISS_PROMQL_PH_REVISION) {
        keys = &vars->revision;
        nk = vars->revision ? 1 : 0;
    }
    if (key && nk == 0)
        return false;   /* read per service: it says why (no pods, no revision) */
    char *gk = ksiss_xasprintf("%s\n%u\n%s", vars->namespace_name ? vars->namespace_name : "", key, query);
    json_t *gi = json_object_get(b->index, gk);
    batch_group *g;
    if (gi) {
        g = &b->g[json_integer_value(gi)];
    } else {
        if (b->ng == b->capg) {
            b->capg = b->capg ? b->capg * 2 : 8;
            b->g = ksiss_xrealloc(b->g, b->capg * sizeof(*b->g));
        }
        g = &b->g[b->ng];
        memset(g, 0, sizeof(*g));
        g->query = query;
        g->ns = ksiss_xstrdup(vars->namespace_name);
        g->key = key;
        /* The shape decides, not the names (they are escaped). */
        char *label = NULL, *why = NULL;
        char *q = group_query(g, keys, nk, &label, &why);
        g->batchable = q != NULL;
        free(q);
        free(label);
        free(why);
        json_object_set_new(b->index, gk, json_integer((json_int_t)b->ng));
        b->ng++;
    }
    free(gk);
    if (!g->batchable)
        return false;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->m = ksiss_xrealloc(g->m, g->cap * sizeof(*g->m));
    }
    if (g->nk + nk > g->capk) {
        while (g->nk + nk > g->capk)
            g->capk = g->capk ? g->capk * 2 : 16;
        g->keys = ksiss_xrealloc(g->keys, g->capk * sizeof(*g->keys));
    }
    g->m[g->n++] = (batch_member){share, owner, g->nk, nk};
    for (size_t k = 0; k < nk; k++)
        g->keys[g->nk++] = ksiss_xstrdup(keys[k]);
    return true;
}

size_t ksiss_prom_batch_seal(ksiss_prom_batch *b)
{
    if (b->sealed)
        return b->nc;
    b->sealed = true;
    size_t cap = 0;
    for (size_t gi = 0; gi < b->ng; gi++) {
        const batch_group *g = &b->g[gi];
        size_t i = 0;
        while (i < g->n) {
            size_t first = i, keys = 0;
            /* A service's names stay in one query; key 0: all in one. */
            while (i < g->n && (i == first || !g->key || keys + g->m[i].n_keys <= b->max_keys))
                keys += g->m[i++].n_keys;
            if (b->nc == cap) {
                cap = cap ? cap * 2 : 8;
                b->c = ksiss_xrealloc(b->c, cap * sizeof(*b->c));
            }
            b->c[b->nc++] = (batch_chunk){.group = gi, .first = first, .n = i - first};
        }
    }
    return b->nc;
}

static int cmp_sample_ptr(const void *a, const void *b)
{
    const ksiss_prom_sample *x = *(ksiss_prom_sample *const *)a, *y = *(ksiss_prom_sample *const *)b;
    if (!x->pod || !y->pod)
        return !x->pod - !y->pod;
    return strcmp(x->pod, y->pod);
}

/* First index in sorted[0..n) whose label is >= key. */
static size_t lower_bound(ksiss_prom_sample *const *sorted, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid]->pod && strcmp(sorted[mid]->pod, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void ksiss_prom_batch_run(ksiss_prom_batch *b, size_t i, ksiss_prom *c, ksiss_metrics *reg, bool cancelled)
{
    if (i >= b->nc)
        return;
    batch_chunk *ch = &b->c[i];
    const batch_group *g = &b->g[ch->group];
    const batch_member *mem = &g->m[ch->first];
    const char *error = NULL;
    if (cancelled) {
        ch->error = ksiss_xstrdup("not read: the controller is stopping");
        error = ch->error;
    } else {
        size_t first_key = mem[0].first_key, nk = 0;
        for (size_t k = 0; k < ch->n; k++)
            nk += mem[k].n_keys;
        char *label = NULL, *why = NULL;
        char *q = group_query(g, (const char *const *)g->keys + first_key, nk, &label, &why);
        if (!q) {
            ch->error = why;
            error = ch->error;
        } else if (ksiss_prom_query(c, q, label, reg, &ch->res) < 0) {
            error = ch->res.error ? ch->res.error : "the batched query failed";
            free(why);
        }
        free(q);
        free(label);
    }
    if (error) {
        for (size_t k = 0; k < ch->n; k++) {
            mem[k].share->ok = false;
            mem[k].share->error = error;
            b->done(mem[k].owner);
        }
        return;
    }
    size_t n = ch->res.n;
    ksiss_prom_sample **sorted = ksiss_xcalloc(n ? n : 1, sizeof(*sorted));
    for (size_t s = 0; s < n; s++)
        sorted[s] = &ch->res.samples[s];
    if (g->key)
        qsort(sorted, n, sizeof(*sorted), cmp_sample_ptr);
    for (size_t k = 0; k < ch->n; k++) {
        ksiss_prom_share *sh = mem[k].share;
        sh->ok = true;
        sh->error = NULL;
        size_t cap = g->key ? 4 : n, got = 0;
        sh->samples = ksiss_xcalloc(cap ? cap : 1, sizeof(*sh->samples));
        if (!g->key) {
            for (size_t s = 0; s < n; s++)
                sh->samples[got++] = (ksiss_promql_sample){NULL, ch->res.samples[s].value, ch->res.samples[s].le};
        } else {
            for (size_t kk = 0; kk < mem[k].n_keys; kk++) {
                const char *key = g->keys[mem[k].first_key + kk];
                for (size_t s = lower_bound(sorted, n, key); s < n && sorted[s]->pod && !strcmp(sorted[s]->pod, key);
                     s++) {
                    if (got == cap) {
                        cap *= 2;
                        sh->samples = ksiss_xrealloc(sh->samples, cap * sizeof(*sh->samples));
                    }
                    sh->samples[got++] = (ksiss_promql_sample){sorted[s]->pod, sorted[s]->value, sorted[s]->le};
                }
            }
        }
        sh->n = got;
        b->done(mem[k].owner);
    }
    free(sorted);
}

