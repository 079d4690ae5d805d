/* sim_rollout.c: what a decision does to the simulated service: replica
 * changes on the current revision (new instances pending until a GPU is
 * free; scale-in removes pending, then starting, then the least busy
 * serving ones, which drain), and a tier change as a new revision rolled
 * out alongside the old, completed or rolled back after the ready timeout
 * (Knative's progress deadline).
 *
 * ksiss run changes a tier through src/core/transition.c (docs/actuation.md).
 * This model differs from it, and says where:
 *  - transition.c starts the new revision with ONE instance and adds the
 *    next only once the previous ones serve (at most one extra instance,
 *    so N instances take N cold starts); here all N new instances are
 *    created at once and each one that becomes ready retires one old one
 *    (N extra instances at most, one cold start);
 *  - transition.c moves traffic in steps at the ticks (10/50/100% with one
 *    instance, k/N with k of N new instances serving) and deletes the old
 *    revision once the route reports no traffic on it; here the router
 *    sends each request to the least loaded serving instance of either
 *    revision, and the old revision drains as soon as all new ones serve;
 *  - transition.c gives up after --ready-timeout (5 min) and bars the tier
 *    for --backoff (30 min); here the deadline is ready_timeout_ms (10 min)
 *    and there is no backoff. */
#include "core/sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "core/util.h"

/* Takes instance x out of service: pending or starting ones go at once,
 * serving ones drain. */
static void retire(world *w, size_t i, double now)
{
    inst *x = &w->ins[i];
    if (x->st == ST_PENDING || x->st == ST_STARTING) {
        simplace_remove_instance(w, i, now);
        simplace_place_pending(w, now);
    } else if (x->st == ST_READY) {
        simroute_drain(w, x);
    }
}

static size_t least_busy_ready(const world *w, int rev)
{
    size_t best = (size_t)-1, best_out = 0;
    for (size_t i = 0; i < w->nins; i++) {
        const inst *x = &w->ins[i];
        if (x->rev != rev || x->st != ST_READY)
            continue;
        size_t o = ksiss_sim_instance_outstanding(&x->m);
        if (best == (size_t)-1 || o < best_out) {
            best = i;
            best_out = o;
        }
    }
    return best;
}

/* Finds an instance of `rev` in state st, preferring the newest. */
static size_t find_state(const world *w, int rev, inst_state st)
{
    for (size_t i = w->nins; i-- > 0;)
        if (w->ins[i].rev == rev && w->ins[i].st == st)
            return i;
    return (size_t)-1;
}

void simroll_count_rev(const world *w, int rev, int *pending, int *starting, int *ready)
{
    *pending = *starting = *ready = 0;
    for (size_t i = 0; i < w->nins; i++) {
        const inst *x = &w->ins[i];
        if (x->rev != rev)
            continue;
        if (x->st == ST_PENDING)
            (*pending)++;
        else if (x->st == ST_STARTING)
            (*starting)++;
        else if (x->st == ST_READY)
            (*ready)++;
    }
}

/* Old revisions still serving (not draining). */
static size_t old_serving(const world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].rev != w->cur_rev && w->ins[i].st != ST_DRAINING)
            n++;
    return n;
}

static void retire_old(world *w, double now, size_t how_many)
{
    while (how_many-- > 0) {
        size_t pick = (size_t)-1;
        /* pending/starting old instances first, then the least busy ready one */
        for (size_t i = 0; i < w->nins && pick == (size_t)-1; i++)
            if (w->ins[i].rev != w->cur_rev && (w->ins[i].st == ST_PENDING || w->ins[i].st == ST_STARTING))
                pick = i;
        if (pick == (size_t)-1) {
            size_t best_out = 0;
            for (size_t i = 0; i < w->nins; i++) {
                inst *x = &w->ins[i];
                if (x->rev == w->cur_rev || x->st != ST_READY)
                    continue;
                size_t o = ksiss_sim_instance_outstanding(&x->m);
                if (pick == (size_t)-1 || o < best_out) {
                    pick = i;
                    best_out = o;
                }
            }
        }
        if (pick == (size_t)-1)
            return;
        retire(w, pick, now);
    }
}

/* Instances whose cold start is over become ready; a rolling tier change
 * retires one old instance per new one ready, and completes (or rolls
 * back after the ready timeout). */
void simroll_handle_ready(world *w, double now)
{
    bool any = false;
    size_t newly_cur = 0;
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st == ST_STARTING && x->ready_at <= now) {
            x->st = ST_READY;
            x->m.clock = fmax(x->m.clock, x->ready_at);
            any = true;
            if (x->rev == w->cur_rev)
                newly_cur++;
        }
    }
    if (any)
        simroute_dispatch_central(w);
    if (!w->in_transition)
        return;
    int pend, start, ready;
    simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
    if (pend + start == 0) {
        retire_old(w, now, old_serving(w));
        w->in_transition = false;
    } else if (newly_cur > 0) {
        retire_old(w, now, newly_cur);
    }
    if (w->in_transition && now >= w->transition_started + w->o->ready_timeout_ms / 1000.0) {
        /* Knative's progress deadline: give up on what is not ready. */
        for (size_t i = 0; i < w->nins;) {
            inst *x = &w->ins[i];
            if (x->rev == w->cur_rev && (x->st == ST_PENDING || x->st == ST_STARTING)) {
                simplace_remove_instance(w, i, now);
                continue;
            }
            i++;
        }
        if (ready == 0) {
            /* Roll back: the old revision becomes current again. */
            int old_rev = -1;
            for (size_t i = 0; i < w->nins; i++)
                if (w->ins[i].st != ST_DRAINING && w->ins[i].rev != w->cur_rev)
                    old_rev = w->ins[i].rev;
            if (old_rev >= 0) {
                w->cur_rev = old_rev;
                for (size_t i = 0; i < w->nins; i++)
                    if (w->ins[i].rev == old_rev) {
                        w->cur_tier = w->ins[i].tier;
                        break;
                    }
            }
            w->rollbacks++;
        } else {
            retire_old(w, now, old_serving(w));
        }
        w->in_transition = false;
        simplace_place_pending(w, now);
    }
}

double simroll_next_ready(const world *w)
{
    double t = INFINITY;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_STARTING && w->ins[i].ready_at < t)
            t = w->ins[i].ready_at;
    if (w->in_transition) {
        double dl = w->transition_started + w->o->ready_timeout_ms / 1000.0;
        if (dl < t)
            t = dl;
    }
    return t;
}

static void set_replicas(world *w, int want, double now)
{
    int pend, start, ready;
    simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
    int have = pend + start + ready;
    for (int k = have; k < want; k++)
        simplace_add_instance(w, w->cur_tier, w->cur_rev, now, false);
    for (int k = want; k < have; k++) {
        size_t i = find_state(w, w->cur_rev, ST_PENDING);
        if (i == (size_t)-1)
            i = find_state(w, w->cur_rev, ST_STARTING);
        if (i == (size_t)-1)
            i = least_busy_ready(w, w->cur_rev);
        if (i == (size_t)-1)
            break;
        retire(w, i, now);
    }
}

void simroll_apply_decision(world *w, const ksiss_decision *d, double now)
{
    if (d->action == KSISS_HOLD)
        return;
    if (w->o->on_decision)
        w->o->on_decision(w->o->on_decision_ctx, w->policy, now, d, !w->in_transition);
    if (w->in_transition) {
        w->ignored++;
        return;
    }
    int pend, start, ready;
    simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
    int have = pend + start + ready;
    int want = d->replicas < 1 ? 1 : d->replicas;
    if (want > 4096)
        want = 4096;
    if (d->tier && d->tier != w->cur_tier) {
        w->cur_rev++;
        w->cur_tier = d->tier;
        w->in_transition = true;
        w->transition_started = now;
        for (int k = 0; k < want; k++)
            simplace_add_instance(w, d->tier, w->cur_rev, now, false);
        w->transitions++;
        return;
    }
    if (want != have) {
        set_replicas(w, want, now);
        w->transitions++;
    }
}
