/* sim_world.c: one run of the simulated world, event by event (arrivals,
 * ticks, scrapes, cold starts ending): sets it up from a deployment, calls
 * the policy at each control-loop tick with what Prometheus would return
 * and the free GPUs, hands its decision to the rollout model, and charges
 * what is held up to the horizon. The oracle and static runs use it
 * without a policy. */
#include "core/sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "core/util.h"

static void advance_all(world *w, double now)
{
    ksiss_sim_listener l = simobs_listener(w);
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st == ST_READY || x->st == ST_DRAINING) {
            w->adv_rev = x->rev;
            ksiss_sim_instance_advance(&x->m, w->reqs, now, &l);
        }
    }
}

void simworld_init(world *w, const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs,
                   size_t r0, size_t r1, deployment start, double t0, bool record)
{
    memset(w, 0, sizeof(*w));
    w->o = o;
    w->pl = pl;
    w->reqs = reqs;
    w->r0 = r0;
    w->r1 = r1;
    w->next_arrival = r0;
    w->demand_lo = r0;
    w->record = record;
    w->pool_used = ksiss_xcalloc(o->cluster->n ? o->cluster->n : 1, sizeof(*w->pool_used));
    for (size_t i = r0; i < r1; i++) {
        ksiss_sim_req *r = &reqs[i];
        r->admitted = r->first_token = r->finished = NAN;
        r->rejected = false;
    }
    w->cur_tier = start.tier;
    for (int k = 0; k < start.replicas; k++)
        simplace_add_instance(w, start.tier, 0, t0, true);
}

/* Frees everything (costs were charged by world_run). */
void simworld_free(world *w)
{
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st != ST_PENDING)
            ksiss_sim_instance_free(&w->ins[i].m);
    free(w->ins);
    free(w->pool_used);
    free(w->central);
    free(w->scratch);
    for (int i = 0; i < 4; i++)
        free(w->streams[i].v);
    free(w->cs);
    free(w->samples);
    free(w->learner);
    w->learner = NULL;
    ksiss_prompt_tally_free(&w->tally);
}

/* A signature of the serving instances: the current tier's ready count,
 * and whether any instance of another revision still serves. */
static long serving_signature(const world *w, int *ready_cur)
{
    long cur = 0, other = 0;
    for (size_t i = 0; i < w->nins; i++) {
        const inst *x = &w->ins[i];
        if (x->st == ST_READY && x->rev == w->cur_rev && x->tier == w->cur_tier)
            cur++;
        else if (x->st == ST_READY || x->st == ST_DRAINING)
            other++;
    }
    *ready_cur = (int)cur;
    return cur * 4096 + other;
}

/* As ksiss run at each tick: the prompts finished since the last tick
 * into the tally (vLLM's buckets), then the tiers too slow for them;
 * their count, or 0 without a prompt-token load, a TTFT SLO or the
 * histogram's query. */
static size_t tally_slow(world *w, int64_t now_ms, ksiss_slow_tier *slow, const ksiss_tier **tiers)
{
    const ksiss_service_cfg *svc = w->o->svc;
    double slo = ksiss_ttft_slo(svc);
    if (!svc->has_load || !svc->load.learn_queries[KSISS_LQ_PROMPT_HIST] || !(slo > 0))
        return 0;
    double le[KSISS_LEARN_PROMPT_LE + 1], d[KSISS_LEARN_PROMPT_LE + 1];
    for (size_t i = 0; i <= KSISS_LEARN_PROMPT_LE; i++) {
        le[i] = ksiss_learn_prompt_le(i);
        d[i] = w->prompt_hist[i] - w->tallied[i];
        w->tallied[i] = w->prompt_hist[i];
    }
    ksiss_prompt_tally_add(&w->tally, le, d, KSISS_LEARN_PROMPT_LE + 1, now_ms);
    ksiss_cap_estimate est[KSISS_LEARN_MAX_TIERS];
    const ksiss_tier *est_tiers[KSISS_LEARN_MAX_TIERS];
    size_t n_est = 0;
    for (size_t i = 0; w->learner && i < w->learner->n; i++) {
        est_tiers[n_est] = w->learner->tiers[i].tier;
        ksiss_learner_estimate(w->learner, est_tiers[n_est], now_ms, &est[n_est]);
        n_est++;
    }
    size_t n = ksiss_slow_tiers(svc, est_tiers, w->learner ? est : NULL, n_est, slo, &w->tally, slow,
                                KSISS_LEARN_MAX_TIERS);
    for (size_t i = 0; i < n; i++)
        tiers[i] = slow[i].tier;
    return n;
}

/* One tick of learning (a run with a learner), as ksiss run reads the
 * series: with per-revision queries (the defaults), the window of the
 * current revision's own instances once they have served through all of
 * it, also while a tier change rolls (marked when their count changed
 * within it); with queries over the whole service, only when the same
 * instances of one tier served through all of it. Then fills the policy's
 * view. */
static void learn_tick(world *w, double now, int64_t now_ms, const ksiss_tier **vt, double *vcap,
                       ksiss_capacity_view *view, double **buf, size_t *bufcap)
{
    int ready;
    long sig = serving_signature(w, &ready);
    if (sig != w->serving_sig) {
        w->serving_sig = sig;
        w->serving_since = now;
    }
    if (w->rv_rev != w->cur_rev) {
        w->rv_rev = w->cur_rev;
        memset(w->rv, 0, sizeof(w->rv));
    }
    if (ready == 0)
        w->rv_serving_since = INFINITY;
    else if (!isfinite(w->rv_serving_since) || ready != w->rv_ready)
        w->rv_count_since = now;
    if (ready > 0 && !isfinite(w->rv_serving_since))
        w->rv_serving_since = now;
    w->rv_ready = ready;
    ksiss_learn_window lw;
    if (ksiss_learn_per_revision(&w->o->svc->load)) {
        double from;
        if (ready > 0 && simobs_rev_window(w, ready, &lw, &from) && w->rv_serving_since <= from + 1e-9) {
            lw.counts_changed = w->rv_count_since > from + 1e-9;
            ksiss_learner_observe(w->learner, w->cur_tier, &lw, now_ms, NULL, NULL);
        }
    } else {
        double win = w->o->window_ms / 1000.0;
        if (!w->in_transition && ready > 0 && sig == (long)ready * 4096 && now - w->serving_since >= win &&
            w->last_scrape - win >= w->serving_since - 1e-9 && w->ncs > 0) {
            simobs_learn_window(w, ready, &lw, buf, bufcap);
            ksiss_learner_observe(w->learner, w->cur_tier, &lw, now_ms, NULL, NULL);
        }
    }
    ksiss_learner_view(w->learner, w->cur_tier, now_ms, vt, vcap, view);
    ksiss_cap_estimate e;
    ksiss_learner_estimate(w->learner, w->cur_tier, now_ms, &e);
    w->learn_est = e.capacity;
    w->learn_bound = e.bound;
    w->learn_true = simobs_true_capacity(w, w->cur_tier, w->learner->tpot_slo_s);
}

/* Runs until every request is done (or the drain limit), calling the
 * policy at each tick when `decide` is set. Returns the end time. */
double simworld_run(world *w, ksiss_decide_fn decide, double t0)
{
    const ksiss_sim_opts *o = w->o;
    const ksiss_service_cfg *svc = o->svc;
    double interval = o->interval_ms / 1000.0, scr = o->scrape_ms / 1000.0;
    double last_arrival = w->r1 > w->r0 ? w->reqs[w->r1 - 1].arrival : t0;
    double end_limit = fmax(last_arrival, w->pl->horizon) + o->drain_limit_ms / 1000.0;
    long tick_k = decide ? (long)floor(t0 / interval) + 1 : -1;
    long scrape_k = (long)ceil(t0 / scr);
    ksiss_history hist;
    ksiss_history_init(&hist);
    /* Sized as the controller is to size it (the windows at the tick),
     * so a window the sizing missed shows here as a moved result. */
    ksiss_history_reserve(&hist, ksiss_history_capacity(svc, o->interval_ms));
    ksiss_observation *obs = ksiss_xcalloc(svc->n_metrics ? svc->n_metrics : 1, sizeof(*obs));
    ksiss_free_gpu *freev = ksiss_xcalloc(o->cluster->n ? o->cluster->n : 1, sizeof(*freev));
    double *buf = NULL;
    size_t bufcap = 0;
    size_t total = w->r1 - w->r0;
    const ksiss_tier *view_tiers[KSISS_LEARN_MAX_TIERS];
    double view_cap[KSISS_LEARN_MAX_TIERS];
    ksiss_capacity_view view;
    if (decide && w->record && svc->has_load && svc->load.learn) {
        w->learner = ksiss_xcalloc(1, sizeof(*w->learner));
        ksiss_learner_init(w->learner, svc->ladder, svc->n_ladder, svc->load.throughput, svc->load.per_gpu,
                           ksiss_mean_tpot_slo(w->o->svc));
        w->serving_sig = -1;
        w->rv_rev = -1;
        w->rv_serving_since = INFINITY;
        w->learn_est = w->learn_bound = w->learn_true = NAN;
    }
    double now = t0;

    for (;;) {
        bool all_in = w->next_arrival >= w->r1;
        if (all_in) {
            bool idle = w->done >= total;
            if ((idle && now >= w->pl->horizon) || now >= end_limit)
                break;
            if (idle && !decide && !w->record)
                break;
        }
        double t_arr = all_in ? INFINITY : w->reqs[w->next_arrival].arrival;
        double t_tick = decide ? tick_k * interval : INFINITY;
        double t_scr = w->record ? scrape_k * scr : INFINITY;
        double t_rdy = simroll_next_ready(w);
        double t = fmin(fmin(t_arr, t_tick), fmin(t_scr, t_rdy));
        if (!decide && !w->record && all_in) {
            /* nothing left to wait for but the instances: let them finish */
            double fin = t_rdy;
            if (!isfinite(fin))
                fin = end_limit;
            t = fmin(fin, end_limit);
            /* advance in large steps until all done */
            advance_all(w, t);
            simroll_handle_ready(w, t);
            simroute_reap(w, t);
            now = t;
            if (w->done >= total)
                break;
            if (t >= end_limit)
                break;
            continue;
        }
        if (!isfinite(t))
            t = end_limit;
        if (t > end_limit)
            t = end_limit;
        now = t;
        advance_all(w, now);
        simroll_handle_ready(w, now);
        while (w->next_arrival < w->r1 && w->reqs[w->next_arrival].arrival <= now) {
            w->demand_tokens += simobs_plot_tokens(w->pl, &w->reqs[w->next_arrival]);
            simroute_request(w, w->next_arrival++);
        }
        if (w->record && now >= t_scr) {
            simobs_scrape(w, now);
            simobs_take_sample(w, now, &buf, &bufcap);
            scrape_k++;
        }
        if (decide && now >= t_tick) {
            int64_t now_ms = (int64_t)tick_k * o->interval_ms;
            for (size_t i = 0; i < svc->n_metrics; i++) {
                double v = simobs_observe(w, &w->pl->maps[i], svc->metrics[i].aggregate, &buf, &bufcap);
                obs[i].present = isfinite(v);
                obs[i].value = isfinite(v) ? v : NAN;
                obs[i].observed_at_ms = (int64_t)(w->last_scrape * 1000.0);
                obs[i].why_missing = isfinite(v) ? NULL : "no sample in the window";
            }
            ksiss_policy_input in;
            memset(&in, 0, sizeof(in));
            in.svc = svc;
            in.obs = obs;
            if (svc->has_load) {
                double v = simobs_observe(w, &w->pl->load, KSISS_AGG_SUM, &buf, &bufcap);
                in.load.present = isfinite(v);
                in.load.value = isfinite(v) ? v : NAN;
                in.load.observed_at_ms = (int64_t)(w->last_scrape * 1000.0);
                in.load.why_missing = isfinite(v) ? NULL : "no sample yet";
            } else {
                in.load.value = NAN;
            }
            int pend, start, ready;
            simroll_count_rev(w, w->cur_rev, &pend, &start, &ready);
            in.current.tier = w->cur_tier;
            in.current.replicas_ready = ready;
            in.current.replicas_starting = pend + start;
            in.current.transition_in_flight = w->in_transition;
            for (size_t i = 0; i < o->cluster->n; i++) {
                freev[i].resource = o->cluster->v[i].resource;
                freev[i].gpu_model = o->cluster->v[i].gpu_model;
                freev[i].free_units = o->cluster->v[i].units - w->pool_used[i];
            }
            in.free = freev;
            in.n_free = o->cluster->n;
            in.history = &hist;
            in.now_ms = now_ms;
            in.interval_ms = o->interval_ms;
            if (w->learner) {
                learn_tick(w, now, now_ms, view_tiers, view_cap, &view, &buf, &bufcap);
                in.capacity = &view;
            }
            ksiss_slow_tier slow[KSISS_LEARN_MAX_TIERS];
            const ksiss_tier *slow_tiers[KSISS_LEARN_MAX_TIERS];
            in.n_too_slow = tally_slow(w, now_ms, slow, slow_tiers);
            in.too_slow = slow_tiers;
            ksiss_decision d;
            memset(&d, 0, sizeof(d));
            if (decide(&in, &d) != 0) {
                w->policy_errors++;
                d.action = KSISS_HOLD;
            }
            /* As ksiss run's tick: the decision (ignored while a tier
             * change is in flight), then the transition's next step. */
            bool in_flight = w->in_transition;
            simroll_apply_decision(w, &d, now);
            if (in_flight)
                simroll_step(w, now);
            ksiss_history_record(&hist, &d, in.load.present ? in.load.value : NAN, now_ms);
            ksiss_decision_clear(&d);
            tick_k++;
        }
        simroute_reap(w, now);
    }
    /* Cost of what is still held, up to the horizon. */
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st != ST_PENDING)
            simplace_charge(w, &w->ins[i], w->pl->horizon);
    free(buf);
    free(obs);
    free(freev);
    ksiss_history_free(&hist);
    return now;
}
