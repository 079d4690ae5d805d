/* sim_internal.h: what the simulator's files share and nothing else
 * includes (the API is sim.h): the world a policy runs in (instances, their
 * GPUs, the queues, the records Prometheus would scrape), the run's plan,
 * deployments and tallies, and one block of functions per file, each file
 * owning one part of the model (docs/simulator.md, "Files"). Prefixes name
 * the file: simobs_ sim_observe.c, simplace_ sim_place.c, simroute_
 * sim_router.c, simroll_ sim_rollout.c, simworld_ sim_world.c, simoracle_
 * sim_oracle.c, simrun_ sim.c. Pure, like the rest of the simulator. */
#ifndef KSISS_SIM_INTERNAL_H
#define KSISS_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/capacity_learn.h"
#include "core/tier_floor.h"
#include "core/policy.h"
#include "core/sim.h"
#include "core/sim_model.h"
#include "core/tiers.h"

/* ---- the world ---- */

/* An instance's life: pending (no GPU free yet), starting (holds its GPU,
 * cold start), ready (serving), draining (no new requests, finishing). */
typedef enum { ST_PENDING = 0, ST_STARTING, ST_READY, ST_DRAINING } inst_state;

/* One serving instance of revision `rev` on `tier`. */
typedef struct {
    ksiss_sim_instance m;
    const ksiss_tier *tier;
    int rev;
    inst_state st;
    int pool;               /* -1 while pending */
    double placed;
    double ready_at;
} inst;

/* A recorded per-request latency: when it was seen, its value. */
typedef struct {
    double t, v;
} rec;

typedef struct {
    rec *v;
    size_t n, cap, lo;
} rec_stream;

/* The current revision's own counters (its pods' series, what a query on
 * {revision}'s pods reads): finished requests, their prompt tokens,
 * prefill seconds and prompt tokens, TTFT sum and count (at the first
 * token), the per-request TPOT sum and count (at the finish). */
enum { RV_DONE, RV_PROMPT, RV_PF, RV_PT, RV_TTFT_S, RV_TTFT_N, RV_TPOT_S, RV_TPOT_N, RV_N };

/* The counters (generated and prompt tokens, finished requests) at a scrape. */
typedef struct {
    double t, gen, prompt, done;
    double prefill_fin, prompt_fin;     /* prefill seconds and prompt tokens of the finished requests */
    double prompt_hist[KSISS_LEARN_PROMPT_LE + 1];  /* vllm:request_prompt_tokens' buckets, not cumulative */
    int rv_rev;                         /* the revision rv[] counts (the current one's pods' series) */
    double rv[RV_N];
} counter_sample;

/* What the run needs to know about the service's metrics. */
typedef struct {
    ksiss_sim_metric_map *maps;     /* one per svc metric */
    ksiss_sim_metric_map load;      /* when svc->has_load */
    int slo_metric;                 /* index of the metric the SLO attainment uses */
    ksiss_sim_signal slo_sig;
    double slo_s;
    double slo_q;                   /* its quantile for the plots (0.95 when a mean) */
    double horizon;
    bool plot_prefill;              /* plots in prompt tokens (the load signal's unit) */
} plan;

/* Everything one run (a policy over the trace, or a deployment over one
 * oracle window) changes. */
typedef struct {
    const ksiss_sim_opts *o;
    const plan *pl;
    const char *policy;             /* name, for on_decision */
    ksiss_sim_req *reqs;            /* borrowed from the caller */
    size_t r0, r1;                  /* requests [r0, r1) are replayed */
    size_t next_arrival;
    size_t done;                    /* finished or rejected */
    size_t rejected;

    inst *ins;
    size_t nins, inscap;
    long long *pool_used;

    int cur_rev;
    const ksiss_tier *cur_tier;
    bool in_transition;
    double transition_started;
    /* The tier change in flight, stepped at the ticks as core/transition.c
     * steps it (sim_rollout.c). */
    int tr_phase;                   /* SIMTR_* */
    int tr_from_rev;
    const ksiss_tier *tr_from_tier;
    int tr_replicas;                /* instances of the new tier at the end */
    int tr_from_replicas;           /* instances of the old revision when it started */
    int tr_step;                    /* as transition.c's step */
    int traffic_pct;                /* share of the requests routed to the new revision, 0..100 */
    long long routed_new, routed_all;   /* requests routed at this share so far */
    const ksiss_tier *barred_tier;  /* rolled back: not started again before barred_until */
    double barred_until;

    size_t *central;                /* requests waiting for any serving instance */
    size_t ncentral, centralcap;
    size_t *scratch;
    size_t nscratch, scratchcap;

    rec_stream streams[4];          /* TTFT, TPOT, E2E, QUEUE_TIME records */
    bool record;                    /* keep the streams (policy runs) */
    counter_sample *cs;
    size_t ncs, cscap;
    double retired_gen, retired_prompt, done_count;
    double prefill_fin, prompt_fin;     /* vllm:request_prefill_time_seconds_sum, vllm:request_prompt_tokens_sum */
    double prompt_hist[KSISS_LEARN_PROMPT_LE + 1];  /* finished requests per prompt-length bucket */
    /* gauges at the last scrape: sum, max, count over serving instances */
    double g_sum[3], g_max[3];
    int g_n;
    int rv_rev;                     /* the revision rv[] counts */
    double rv[RV_N];
    int adv_rev;                    /* the revision of the instance being advanced */
    double rv_running;              /* its pods' running requests at the last scrape, and how many pods */
    int rv_pods;
    double last_scrape;

    double cost_s;                  /* cost weight x seconds within the horizon */
    double cost_warm_s;             /* the same from opts.warmup_ms on */
    long transitions, ignored, rollbacks, policy_errors;

    /* Learned capacity (a load signal without perGpu, or learn: true):
     * the learner, the serving set's signature and since when it held,
     * and the current tier's figures at the last tick (for the samples). */
    ksiss_learner *learner;         /* owned; NULL: not learning */
    /* The prompt-length histogram as ksiss run tallies it (the tiers too
     * slow for the prompts, tier_floor.h): fed at each tick with the
     * buckets' counts since the last. */
    ksiss_prompt_tally tally;
    double tallied[KSISS_LEARN_PROMPT_LE + 1];
    long serving_sig;
    double serving_since;
    double rv_serving_since;        /* the current revision has had ready instances since */
    double rv_count_since;          /* and this many (rv_ready) since */
    int rv_ready;
    double learn_est, learn_bound, learn_true;

    ksiss_sim_sample *samples;
    size_t nsamples, samplecap;
    size_t demand_lo;
    double demand_tokens;           /* tokens (plan's unit) of the arrivals within the window */
} world;

/* Phases of a tier change in flight (transition.c's, and the tick after
 * the old revision is deleted, when the change is done). */
enum { SIMTR_NONE = 0, SIMTR_WAIT_READY, SIMTR_SHIFT, SIMTR_CLEANUP, SIMTR_FINISH };

/* A fixed (tier, instances) and its cost weight. */
typedef struct {
    const ksiss_tier *tier;
    int replicas;
    double cost;
} deployment;

/* SLO attainment over some requests. */
typedef struct {
    size_t n, ok, rejected, unfinished;
    double *lat;        /* served requests' SLO latencies */
    size_t nlat;
} tally;

/* The oracle's candidates and per-window simulations (also what static
 * searches from). */
typedef struct {
    deployment *cands;      /* sorted by cost, then capacity (descending) */
    size_t ncands;
    size_t nwin;
    double win_s;
    size_t *wr;             /* window k holds requests [wr[k], wr[k+1]) */
    long *viol;             /* [k * ncands + c]: violations, -1 not simulated (treated as 0) */
    size_t *rej;            /* per window: requests every deployment rejected */
    size_t *meets;          /* per window: cheapest candidate meeting the target within it */
    size_t *choice;         /* per window: the oracle's pick */
} oracle_data;

/* ---- sim_observe.c: the metric convention and what Prometheus sees ---- */

double simobs_quantile_sorting(double *v, size_t n, double q);
double simobs_req_latency(const ksiss_sim_req *r, ksiss_sim_signal s);
ksiss_sim_listener simobs_listener(world *w);
void simobs_scrape(world *w, double s);
double simobs_observe(world *w, const ksiss_sim_metric_map *m, ksiss_aggregate agg, double **buf, size_t *bufcap);
double simobs_plot_tokens(const plan *pl, const ksiss_sim_req *r);
double simobs_plot_capacity(const plan *pl, const ksiss_sim_profile *p, const ksiss_tier *t);
void simobs_take_sample(world *w, double s, double **buf, size_t *bufcap);
/* The series the capacity learning reads (capacity_learn.h), over the
 * window ending at the last scrape, for the `instances` serving ones. */
void simobs_learn_window(world *w, int instances, ksiss_learn_window *out, double **buf, size_t *bufcap);
/* The same from the current revision's own counters (what a query on
 * {revision}'s pods reads), `instances` its ready ones: false unless the
 * window lies within what they have counted; *first_t its start. */
bool simobs_rev_window(world *w, int instances, ksiss_learn_window *out, double *first_t);
/* What one instance of `t` truly sustains under the learner's rule (the
 * profile's figures through the serving model's scaling). */
double simobs_true_capacity(const world *w, const ksiss_tier *t, double tpot_slo_s);

/* ---- sim_place.c: GPU placement and cost ---- */

long long simplace_pool_total_for(const ksiss_sim_cluster *c, const ksiss_tier *t);
long long simplace_free_for(const world *w, const ksiss_tier *t);
void simplace_charge(world *w, const inst *x, double until);
void simplace_place_pending(world *w, double now);
inst *simplace_add_instance(world *w, const ksiss_tier *t, int rev, double now, bool ready);
void simplace_remove_instance(world *w, size_t i, double now);

/* ---- sim_router.c: where a request goes ---- */

void simroute_request(world *w, size_t idx);
void simroute_dispatch_central(world *w);
void simroute_drain(world *w, inst *x);
void simroute_reap(world *w, double now);

/* ---- sim_rollout.c: applying a decision, rolling tier changes ---- */

void simroll_count_rev(const world *w, int rev, int *pending, int *starting, int *ready);
void simroll_handle_ready(world *w, double now);
double simroll_next_ready(const world *w);
void simroll_apply_decision(world *w, const ksiss_decision *d, double now);
void simroll_step(world *w, double now);

/* ---- sim_world.c: one run, event by event ---- */

void simworld_init(world *w, const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs,
                   size_t r0, size_t r1, deployment start, double t0, bool record);
void simworld_free(world *w);
double simworld_run(world *w, ksiss_decide_fn decide, double t0);

/* ---- sim_oracle.c: candidates, the oracle, the static search ---- */

void simoracle_enumerate(const ksiss_sim_opts *o, oracle_data *od);
void simoracle_compute(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                       oracle_data *od);
void simoracle_free(oracle_data *od);
void simoracle_result(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                      const oracle_data *od, ksiss_sim_result *res);
deployment simoracle_static_search(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                                   const oracle_data *od);

/* ---- sim.c: tallies ---- */

void simrun_tally_add(tally *t, const plan *pl, const ksiss_sim_req *reqs, size_t r0, size_t r1);
void simrun_tally_fill(tally *t, ksiss_sim_result *res);
size_t simrun_window_violations(const plan *pl, const ksiss_sim_req *reqs, size_t r0, size_t r1, size_t *rej);

#endif
