/* sim_rollout.c: what a decision does to the simulated service: replica
 * changes on the current revision (new instances pending until a GPU is
 * free; scale-in removes pending, then starting, then the least busy
 * serving ones, which drain), and a tier change.
 *
 * A tier change follows the steps of ksiss run's src/core/transition.c
 * (docs/actuation.md), one per control-loop tick: it starts only when a
 * unit of the new tier is free and the tier is not in backoff; the new
 * revision starts with ONE instance; once it serves, traffic moves to it
 * in the traffic steps (one instance: 10/50/100%) or k/N with k of N new
 * instances serving, each step adding one new instance and removing one
 * old (at most one extra instance, so N instances take N cold starts);
 * at 100% the old revision is deleted on the next tick and the change is
 * done on the one after. A new revision with no serving instance after
 * the ready timeout (5 min) is removed, the old one restored, the tier
 * barred for the backoff (30 min).
 *
 * Where it may differ from transition.c, and why:
 *  - a revision is Ready when one of its instances serves, and never
 *    fails once it does: the simulator has no crash, no Ready=False, so
 *    none of transition.c's 30 s grace periods, and a tier that cannot
 *    hold the model waits for the ready timeout (a real one crash-loops
 *    and is rolled back 30 s after Knative reports it failed);
 *  - Knative's status is never behind: the old revision is deleted on
 *    the tick after the last step, as soon as transition.c would see the
 *    route report no traffic on it;
 *  - within a revision, requests go to its least loaded serving instance
 *    (sim_router.c), the revision by the traffic split. */
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

/* Instances whose cold start is over become ready and take the requests
 * that waited for any. */
void simroll_handle_ready(world *w, double now)
{
    bool any = false;
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st == ST_STARTING && x->ready_at <= now) {
            x->st = ST_READY;
            x->m.clock = fmax(x->m.clock, x->ready_at);
            any = true;
        }
    }
    if (any)
        simroute_dispatch_central(w);
}

double simroll_next_ready(const world *w)
{
    double t = INFINITY;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_STARTING && w->ins[i].ready_at < t)
            t = w->ins[i].ready_at;
    return t;
}

/* Scales revision `rev` (on `tier`) to `want` instances: new ones are
 * pending until a GPU is free; fewer removes pending, then starting, then
 * the least busy serving ones (which drain). */
static void set_replicas(world *w, int rev, const ksiss_tier *tier, int want, double now)
{
    int pend, start, ready;
    simroll_count_rev(w, rev, &pend, &start, &ready);
    int have = pend + start + ready;
    for (int k = have; k < want; k++)
        simplace_add_instance(w, tier, rev, now, false);
    for (int k = want; k < have; k++) {
        size_t i = find_state(w, rev, ST_PENDING);
        if (i == (size_t)-1)
            i = find_state(w, rev, ST_STARTING);
        if (i == (size_t)-1)
            i = least_busy_ready(w, rev);
        if (i == (size_t)-1)
            break;
        retire(w, i, now);
    }
}

/* ---- the tier change, step by step as core/transition.c ---- */

static void set_traffic(world *w, int pct)
{
    if (pct != w->traffic_pct) {
        w->traffic_pct = pct;
        w->routed_new = w->routed_all = 0;
    }
}

static void end_transition(world *w)
{
    w->in_transition = false;
    w->tr_phase = SIMTR_NONE;
    set_traffic(w, 100);
}

/* transition.c's traffic_percent_for: k of N new instances serving get k/N
 * of the traffic; one instance moves in the traffic steps. */
static int traffic_percent(const world *w, int step)
{
    if (w->tr_replicas > 1)
        return step >= w->tr_replicas ? 100 : (int)((100LL * step) / w->tr_replicas);
    static const int default_steps[] = { 10, 50, 100 };
    const int *steps = w->o->traffic_steps ? w->o->traffic_steps : default_steps;
    size_t n = w->o->traffic_steps ? w->o->n_traffic_steps : 3;
    if (n == 0)
        return 100;
    size_t i = (size_t)step < n ? (size_t)step : n - 1;
    return steps[i] > 100 ? 100 : steps[i];
}

static void start_transition(world *w, const ksiss_tier *to, int want, double now)
{
    int pend, start, ready;
    simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
    w->tr_from_rev = w->cur_rev;
    w->tr_from_tier = w->cur_tier;
    w->tr_from_replicas = pend + start + ready;
    w->tr_replicas = want;
    w->tr_step = 0;
    w->tr_phase = SIMTR_WAIT_READY;
    w->cur_rev++;
    w->cur_tier = to;
    w->in_transition = true;
    w->transition_started = now;
    set_traffic(w, 0);
    /* The new revision starts with one instance; the others come one by
     * one as the shift goes (at most one extra instance). */
    simplace_add_instance(w, to, w->cur_rev, now, false);
}

/* The new revision was not ready within the ready timeout: removed, the
 * old one is current again at its old size, and the tier is barred for
 * the backoff. */
static void roll_back(world *w, double now)
{
    for (size_t i = 0; i < w->nins;) {
        if (w->ins[i].rev == w->cur_rev) {
            simplace_remove_instance(w, i, now);
            continue;
        }
        i++;
    }
    w->barred_tier = w->cur_tier;
    w->barred_until = now + w->o->backoff_ms / 1000.0;
    w->cur_rev = w->tr_from_rev;
    w->cur_tier = w->tr_from_tier;
    set_replicas(w, w->cur_rev, w->cur_tier, w->tr_from_replicas, now);
    w->rollbacks++;
    end_transition(w);
    simplace_place_pending(w, now);
}

/* One tick of a tier change in flight: transition.c's step_in_flight with
 * what the simulator knows (a revision is Ready when one of its instances
 * serves; Knative's actualReplicas = its serving instances). */
void simroll_step(world *w, double now)
{
    if (!w->in_transition)
        return;
    if (w->tr_phase == SIMTR_FINISH) {
        /* The state annotation is removed: the change is done. */
        end_transition(w);
        return;
    }
    if (w->tr_phase == SIMTR_CLEANUP) {
        /* All traffic is on the new revision; the old one is deleted. */
        set_replicas(w, w->tr_from_rev, w->tr_from_tier, 0, now);
        w->tr_phase = SIMTR_FINISH;
        return;
    }
    int pend, start, ready, opend, ostart, oready;
    simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
    simroll_count_rev(w, w->tr_from_rev, &opend, &ostart, &oready);
    if (ready == 0) {
        if ((now - w->transition_started) * 1000.0 > (double)w->o->ready_timeout_ms)
            roll_back(w, now);
        return;
    }
    bool waiting = w->tr_phase == SIMTR_WAIT_READY;
    int next = waiting ? (w->tr_replicas > 1 ? 1 : 0) : w->tr_step + 1;
    if (w->tr_replicas > 1 && ready < (waiting ? 1 : w->tr_step + 1))
        return;     /* waiting for the next new instance to serve */
    int pct = oready > 0 ? traffic_percent(w, next) : 100;
    bool done = pct >= 100;
    if (w->tr_replicas > 1) {
        /* One more instance of the new tier before the next step, one
         * fewer of the old: the extra GPUs stay at one instance. */
        set_replicas(w, w->cur_rev, w->cur_tier, done || next + 1 > w->tr_replicas ? w->tr_replicas : next + 1,
                     now);
        if (w->tr_from_replicas - next >= 1)
            set_replicas(w, w->tr_from_rev, w->tr_from_tier, w->tr_from_replicas - next, now);
    }
    set_traffic(w, pct);
    w->tr_step = next;
    w->tr_phase = done ? SIMTR_CLEANUP : SIMTR_SHIFT;
}

void simroll_apply_decision(world *w, const ksiss_decision *d, double now)
{
    if (d->action == KSISS_HOLD)
        return;
    bool change = d->tier && d->tier != w->cur_tier;
    /* What ksiss run's transition step would refuse to start: a tier in
     * backoff after a rollback, a tier with no unit free. */
    bool refused = change && ((d->tier == w->barred_tier && now < w->barred_until) ||
                              simplace_free_for(w, d->tier) < (d->tier->count > 0 ? d->tier->count : 1));
    if (w->o->on_decision)
        w->o->on_decision(w->o->on_decision_ctx, w->policy, now, d, !w->in_transition && !refused);
    if (w->in_transition || refused) {
        w->ignored++;
        return;
    }
    int pend, start, ready;
    simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
    int have = pend + start + ready;
    int want = d->replicas < 1 ? 1 : d->replicas;
    if (want > 4096)
        want = 4096;
    if (change) {
        start_transition(w, d->tier, want, now);
        w->transitions++;
        return;
    }
    if (want != have) {
        set_replicas(w, w->cur_rev, w->cur_tier, want, now);
        w->transitions++;
    }
}
