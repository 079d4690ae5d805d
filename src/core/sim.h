/* sim.h: the simulation driver of `ksiss simulate`. Replays a request trace
 * against modelled instances (sim_model.h) on a simulated cluster, calls a
 * decision policy from the policy table at every control-loop tick with
 * the observations Prometheus would have returned, and applies its
 * decisions (cold starts, rolling tier changes, GPU placement). Also the
 * simulator-side baselines `static` and `oracle`. Pure: no I/O, no clock,
 * no globals; deterministic. docs/simulator.md describes the model. */
#ifndef KSISS_SIM_H
#define KSISS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/policy.h"
#include "core/sim_model.h"
#include "core/tiers.h"
#include "core/trace.h"

/* ---- the simulated cluster ---- */

/* Allocatable units of one GPU resource of one GPU model, summed over the
 * cluster's nodes. */
typedef struct {
    char *resource;         /* "nvidia.com/mig-3g.40gb"; owned */
    char *gpu_model;        /* catalogue model name ("H100-80GB"), NULL when unknown; owned */
    long long units;
} ksiss_sim_pool;

typedef struct {
    ksiss_sim_pool *v;      /* owned */
    size_t n;
    size_t nodes;
} ksiss_sim_cluster;

/* Parses a cluster inventory (YAML: `nodes: [{name, labels: {nvidia.com/
 * gpu.product: ...}, allocatable: {nvidia.com/mig-1g.10gb: "14", ...}}]`,
 * the format of the local control plane's fake nodes). Non-GPU resources
 * are ignored; GPU counts must be whole numbers >= 0. Problems go to *d
 * with positions. Returns 0 or -1; *out must be freed either way. */
int ksiss_sim_cluster_parse(const char *text, size_t len, const char *file,
                            const ksiss_catalog *cat, ksiss_sim_cluster *out, ksiss_diags *d);
void ksiss_sim_cluster_free(ksiss_sim_cluster *c);

/* Parses a model profile (YAML mapping: name, prefillTokensPerSecond,
 * decodeTokensPerSecond, decodeStepMs, weightsGiB, kvBytesPerToken,
 * maxBatch, optional gpuMemoryUtilization (default 0.9)). Returns 0 or -1;
 * *out must be freed with ksiss_sim_profile_free either way. */
int ksiss_sim_profile_parse(const char *text, size_t len, const char *file,
                            ksiss_sim_profile *out, ksiss_diags *d);

/* ---- how metric queries map to what the model produces ---- */

typedef enum {
    KSISS_SIG_TTFT = 0,     /* time to first token, per request (s) */
    KSISS_SIG_TPOT,         /* time per output token after the first, per request (s) */
    KSISS_SIG_E2E,          /* end-to-end latency, per request (s) */
    KSISS_SIG_QUEUE_TIME,   /* time waiting before prefill, per request (s) */
    KSISS_SIG_QUEUE,        /* requests waiting (gauge, per instance) */
    KSISS_SIG_RUNNING,      /* requests in the batch (gauge, per instance) */
    KSISS_SIG_KV,           /* KV-cache use 0..1 (gauge, per instance) */
    KSISS_SIG_GEN_RATE,     /* generated tokens/s over the window (service) */
    KSISS_SIG_PROMPT_RATE,  /* prompt tokens/s over the window (service) */
    KSISS_SIG_REQ_RATE,     /* finished requests/s over the window (service) */
} ksiss_sim_signal;

typedef struct {
    ksiss_sim_signal sig;
    double quantile;        /* per-request signals: quantile in (0,1), or < 0 for the mean */
} ksiss_sim_metric_map;

/* Maps a query (and the metric's name as a fallback) to a signal by the
 * convention of docs/simulator.md. Returns 0, or -1 and *err (caller frees)
 * naming what it could not map. */
int ksiss_sim_map_metric(const char *name, const char *query, ksiss_sim_metric_map *out, char **err);
bool ksiss_sim_signal_per_request(ksiss_sim_signal s);
/* The SLO the learned decode capacity is sized to: that of the first
 * metric measuring the mean time per output token (ksiss_sim_map_metric: a
 * TPOT signal, no quantile; lower is better), or 0 when none. One rule for
 * `ksiss run` and the simulator. */
double ksiss_mean_tpot_slo(const ksiss_service_cfg *svc);
/* The SLO of the first metric that measures the time to first token (a
 * quantile or a mean, lower is better), in seconds; 0 when none does. */
double ksiss_ttft_slo(const ksiss_service_cfg *svc);
const char *ksiss_sim_signal_name(ksiss_sim_signal s);

/* ---- running ---- */

typedef struct {
    const ksiss_service_cfg *svc;       /* borrowed: all of these must outlive the run */
    const ksiss_sim_profile *profile;
    const ksiss_sim_cluster *cluster;
    const ksiss_trace *trace;
    int64_t interval_ms;        /* control-loop tick (default 10 s, METRICS_SCRAPE_INTERVAL) */
    int64_t scrape_ms;          /* Prometheus scrape interval (default 15 s) */
    int64_t window_ms;          /* range of rate() and histogram windows (default 1 min) */
    int64_t cold_start_ms;      /* instance created -> serving (default 60 s) */
    int64_t ready_timeout_ms;   /* a new revision not ready by then is rolled back (default 5 min, as
                                 * ksiss run's --ready-timeout) */
    int64_t backoff_ms;         /* a rolled-back tier is not tried again for this long (default 30 min,
                                 * as --backoff) */
    const int *traffic_steps;   /* a one-instance tier change's traffic steps, rising to 100 (as
                                 * --traffic-steps); NULL: 10, 50, 100 */
    size_t n_traffic_steps;
    int64_t oracle_window_ms;   /* the oracle's decision window (default 1 min) */
    int64_t drain_limit_ms;     /* after the trace, wait at most this for requests to finish (default 30 min) */
    int64_t warmup_ms;          /* the figures "after warm-up" leave out requests arriving and GPUs held
                                 * before this (default 10 min: a learned capacity's warm-up, issue 17) */
    double slo_target;          /* fraction of requests that must meet the SLO (default 0.99) */
    const ksiss_tier *static_tier;  /* `static` deployment; NULL: search */
    int static_replicas;
    /* Optional: told every decision that is not a hold (for --decisions).
     * `applied` is false when the simulator ignored it (tier change in
     * flight, or a tier change ksiss run would not start: the tier is in
     * backoff after a rollback, or no unit of it is free). Borrowed arguments, valid during the call only. */
    void (*on_decision)(void *ctx, const char *policy, double t_s, const ksiss_decision *d, bool applied);
    void *on_decision_ctx;
} ksiss_sim_opts;

void ksiss_sim_opts_default(ksiss_sim_opts *o);

/* One point of the time series (every scrape). */
typedef struct {
    double t_s;
    /* Tokens/s in the unit of the service's load signal: prompt tokens when
     * its load is `throughput: prefill`, generated tokens otherwise. */
    double demand_tps;      /* what the arriving requests ask for (window mean) */
    double served_tps;      /* what was processed (window rate) */
    double capacity_tps;    /* what the serving instances can do (prefill rate, or decode at full batch) */
    double gpu_eq;          /* cost weight of the GPUs held (GPU equivalents) */
    int tier_rank;          /* rank of the current tier in its model's ladder, -1 none */
    int replicas;           /* instances of the current revision holding a GPU */
    double latency_s;       /* the SLO latency's quantile over the window, NAN when none */
    /* Learned capacity of one instance of the current tier (load units),
     * NAN when the run does not learn: the estimate, the bound the policy
     * plans with, and what the serving model truly gives. */
    double learned_tps, learned_bound_tps, true_tps;
} ksiss_sim_sample;

typedef struct {
    char *policy;           /* owned */
    double slo_attainment;  /* fraction of requests whose SLO latency met the SLO */
    double gpu_hours;       /* cost-weighted GPU hours over the horizon */
    long transitions;       /* deployment changes applied (tier moves and replica changes) */
    double p95_latency_s;   /* of the SLO latency over served requests */
    double p99_latency_s;
    long ignored;           /* decisions not applied: a tier change in flight, or a tier change
                             * ksiss run would not start (tier in backoff, no unit free) */
    long rollbacks;         /* tier changes rolled back (new revision never ready) */
    long policy_errors;     /* decide() returned an error (counted as hold) */
    size_t rejected;        /* requests too long for the KV cache */
    size_t unfinished;      /* requests not done when the simulation ended */
    char *deployment;       /* static/initial deployment, e.g. "mig-3g.40gb x2"; owned */
    double slo_attainment_warm; /* over the requests arriving after opts.warmup_ms (policy runs; else NAN) */
    double gpu_hours_warm;      /* GPUs held after opts.warmup_ms (policy runs; else NAN) */
    bool learned;           /* the run learned the capacity (no perGpu, or learn: true) */
    ksiss_sim_sample *samples;  /* owned */
    size_t n_samples;
} ksiss_sim_result;

typedef struct {
    ksiss_sim_result *v;    /* owned, in the order asked */
    size_t n;
    char *slo_desc;         /* what attainment measures, e.g. "TTFT <= 1 s (metric ttft)"; owned */
    ksiss_sim_signal slo_signal;
    double slo_s;
    double horizon_s;       /* cost is counted over [0, horizon_s] */
    char *initial;          /* deployment every dynamic policy starts from; owned */
    bool plot_prompt_tokens;    /* samples' tokens/s are prompt tokens (else generated) */
    size_t requests;        /* in the trace */
    /* Requests no deployment the service may use in this cluster serves
     * within the SLO even alone on an idle instance (its prefill alone is
     * over a TTFT SLO on the fastest tier, or it fits no tier's KV cache):
     * no policy can meet them, so no attainment exceeds 1 - this share. */
    size_t unattainable;
    double unattainable_share;  /* unattainable / requests */
} ksiss_sim_report;

/* Longest trace replayed (arrival of the last request). */
#define KSISS_SIM_MAX_SPAN_MS (7LL * 86400 * 1000)

/* The policy names `--policy all` runs, NULL-terminated. */
extern const char *const ksiss_sim_all_policies[];

/* Runs each named policy ("static", "oracle" or a name from the policy
 * table) on o->trace. Problems (unknown policy, a metric that maps to
 * nothing, no tier that holds the model, no GPU for any deployment) go to
 * *d; returns 0, or -1 with nothing run. *out must be freed either way. */
int ksiss_sim_run(const ksiss_sim_opts *o, const char *const *policies, size_t n_policies,
                  ksiss_sim_report *out, ksiss_diags *d);
void ksiss_sim_report_free(ksiss_sim_report *r);

/* ---- sweeping the attainment target ---- */

/* One target of a sweep and what each policy did at it. */
typedef struct {
    double target;
    ksiss_sim_report rep;   /* owned; the results carry no time series */
} ksiss_sim_sweep_point;

typedef struct {
    ksiss_sim_sweep_point *v;   /* owned, by rising target */
    size_t n;
} ksiss_sim_sweep;

/* The targets `--sweep` uses unless told others. */
extern const double ksiss_sim_sweep_default_targets[];
extern const size_t ksiss_sim_sweep_n_default_targets;

/* Runs the policies once per target (rising, each above 0 and below 1),
 * with the service's sloTarget (read by the policies) and o->slo_target
 * (static's search, the oracle's budget) both set to it. Problems go to
 * *d; returns 0 or -1. *out must be freed with ksiss_sim_sweep_free
 * either way. */
int ksiss_sim_sweep_run(const ksiss_sim_opts *o, const double *targets, size_t n_targets,
                        const char *const *policies, size_t n_policies, ksiss_sim_sweep *out, ksiss_diags *d);
void ksiss_sim_sweep_free(ksiss_sim_sweep *s);
/* Attainment against GPU-hours, one line per policy through its targets,
 * each target a dashed line. Caller frees. */
char *ksiss_sim_sweep_svg(const ksiss_sim_sweep *s, const char *title);

/* Renders the report as an SVG document (load, capacity, GPUs held, tier
 * and latency over time, one panel per policy). Caller frees. */
char *ksiss_sim_svg(const ksiss_sim_report *r, const char *title);
/* The learning curve of each run that learned its capacity (issue 17):
 * per such run, one instance of the current tier's estimated capacity,
 * the bound the policy planned with and what the serving model truly
 * gives, over time, the warm-up marked. NULL when no run learned. */
char *ksiss_sim_learning_svg(const ksiss_sim_report *r, const char *title, double warmup_s);

#endif
