/* sim_router.c: where requests go: to the serving instance with the
 * fewest outstanding (Knative's activator, least-loaded), or a central
 * queue while none serves; during a tier change, first to a revision by
 * the traffic split (sim_rollout.c), then to its least loaded instance;
 * draining an instance re-routes its queue; a drained instance is removed
 * and frees its GPU. */
#include "core/sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* During a tier change: true to send the next request to the new
 * revision, false to the old, -1 for either (one side has no serving
 * instance). The split follows traffic_pct over the requests routed since
 * it was set (the share Knative's route gives each revision). */
static int pick_revision(world *w)
{
    if (!w->in_transition)
        return -1;
    bool new_ready = false, old_ready = false;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_READY) {
            if (w->ins[i].rev == w->cur_rev)
                new_ready = true;
            else
                old_ready = true;
        }
    if (!new_ready || !old_ready)
        return -1;
    bool to_new = w->routed_new * 100 < (long long)w->traffic_pct * (w->routed_all + 1);
    w->routed_all++;
    if (to_new)
        w->routed_new++;
    return to_new;
}

void simroute_request(world *w, size_t idx)
{
    inst *best = NULL;
    size_t best_out = 0;
    int side = pick_revision(w);
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st != ST_READY)
            continue;
        if (side >= 0 && (x->rev == w->cur_rev) != (side == 1))
            continue;
        size_t o = ksiss_sim_instance_outstanding(&x->m);
        if (!best || o < best_out) {
            best = x;
            best_out = o;
        }
    }
    if (best) {
        ksiss_sim_instance_enqueue(&best->m, idx);
        return;
    }
    if (w->ncentral == w->centralcap) {
        w->centralcap = w->centralcap ? w->centralcap * 2 : 64;
        w->central = ksiss_xrealloc(w->central, w->centralcap * sizeof(*w->central));
    }
    w->central[w->ncentral++] = idx;
}

static bool any_ready(const world *w)
{
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_READY)
            return true;
    return false;
}

void simroute_dispatch_central(world *w)
{
    if (w->ncentral == 0 || !any_ready(w))
        return;
    size_t n = w->ncentral;
    size_t *tmp = ksiss_xmalloc(n * sizeof(*tmp));
    memcpy(tmp, w->central, n * sizeof(*tmp));
    w->ncentral = 0;
    for (size_t i = 0; i < n; i++)
        simroute_request(w, tmp[i]);
    free(tmp);
}

/* Stops sending to instance x; its waiting requests go elsewhere. */
void simroute_drain(world *w, inst *x)
{
    x->st = ST_DRAINING;
    w->nscratch = 0;
    ksiss_sim_instance_take_queue(&x->m, &w->scratch, &w->nscratch, &w->scratchcap);
    for (size_t i = 0; i < w->nscratch; i++)
        simroute_request(w, w->scratch[i]);
}

/* Removes drained instances that have nothing left. */
void simroute_reap(world *w, double now)
{
    bool freed = false;
    for (size_t i = 0; i < w->nins;) {
        inst *x = &w->ins[i];
        if (x->st == ST_DRAINING && ksiss_sim_instance_outstanding(&x->m) == 0) {
            simplace_remove_instance(w, i, fmax(now, x->m.clock));
            freed = true;
            continue;
        }
        i++;
    }
    if (freed)
        simplace_place_pending(w, now);
}
