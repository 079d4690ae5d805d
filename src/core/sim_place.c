/* sim_place.c: the simulated cluster's GPUs: which pool an instance's
 * tier draws from, placing instances (pending until a unit set is free,
 * cold start from placement), freeing them, and the cost of holding a GPU
 * (cost weight x time, within the horizon). */
#include "core/sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static bool pool_matches(const ksiss_sim_pool *p, const ksiss_tier *t)
{
    if (strcmp(p->resource, t->resource) != 0)
        return false;
    return !p->gpu_model || !t->gpu_model || !strcmp(p->gpu_model, t->gpu_model);
}

long long simplace_pool_total_for(const ksiss_sim_cluster *c, const ksiss_tier *t)
{
    long long n = 0;
    for (size_t i = 0; i < c->n; i++)
        if (pool_matches(&c->v[i], t))
            n += c->v[i].units;
    return n;
}

/* Free units of t's resource (what ksiss run's inventory reports free). */
long long simplace_free_for(const world *w, const ksiss_tier *t)
{
    const ksiss_sim_cluster *c = w->o->cluster;
    long long n = 0;
    for (size_t i = 0; i < c->n; i++)
        if (pool_matches(&c->v[i], t))
            n += c->v[i].units - w->pool_used[i];
    return n;
}

/* Adds the cost of holding x's GPU from its placement up to `until` (both
 * clipped to the horizon). */
void simplace_charge(world *w, const inst *x, double until)
{
    double a = fmin(x->placed, w->pl->horizon), b = fmin(until, w->pl->horizon);
    if (b > a)
        w->cost_s += x->tier->cost * (b - a);
    double wa = fmax(a, w->o->warmup_ms / 1000.0);
    if (b > wa)
        w->cost_warm_s += x->tier->cost * (b - wa);
}

static void try_place(world *w, inst *x, double now)
{
    const ksiss_sim_cluster *c = w->o->cluster;
    long long need = x->tier->count > 0 ? x->tier->count : 1;
    for (size_t i = 0; i < c->n; i++) {
        if (!pool_matches(&c->v[i], x->tier) || c->v[i].units - w->pool_used[i] < need)
            continue;
        w->pool_used[i] += need;
        x->pool = (int)i;
        x->placed = now;
        x->st = ST_STARTING;
        x->ready_at = ksiss_sim_fits(w->o->profile, x->tier) ? now + w->o->cold_start_ms / 1000.0 : INFINITY;
        ksiss_sim_instance_init(&x->m, w->o->profile, x->tier, now);
        return;
    }
}

void simplace_place_pending(world *w, double now)
{
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_PENDING)
            try_place(w, &w->ins[i], now);
}

inst *simplace_add_instance(world *w, const ksiss_tier *t, int rev, double now, bool ready)
{
    if (w->nins == w->inscap) {
        w->inscap = w->inscap ? w->inscap * 2 : 16;
        w->ins = ksiss_xrealloc(w->ins, w->inscap * sizeof(*w->ins));
    }
    inst *x = &w->ins[w->nins++];
    memset(x, 0, sizeof(*x));
    x->tier = t;
    x->rev = rev;
    x->pool = -1;
    x->st = ST_PENDING;
    try_place(w, x, now);
    if (ready && x->st == ST_STARTING && isfinite(x->ready_at)) {
        x->st = ST_READY;
        x->ready_at = now;
    }
    return x;
}

/* Removes instance i (its GPU is freed; its queue must be empty). */
void simplace_remove_instance(world *w, size_t i, double now)
{
    inst *x = &w->ins[i];
    if (x->st != ST_PENDING) {
        simplace_charge(w, x, now);
        w->pool_used[x->pool] -= x->tier->count > 0 ? x->tier->count : 1;
        w->retired_gen += x->m.gen_tokens;
        w->retired_prompt += x->m.prompt_tokens;
        ksiss_sim_instance_free(&x->m);
    }
    w->ins[i] = w->ins[--w->nins];
}
