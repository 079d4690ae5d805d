/* controller.h: the control loop behind `ksiss run`, and the per-service
 * evaluation it shares with `ksiss explain`: read the Knative Service, its
 * Revisions and pods, fetch its metrics, build the policy input (current
 * deployment, free GPUs, history) and decide; then advance the service's
 * transition ONE step. Each tick, each service's evaluation is a job on a
 * bounded pool of worker threads (KSISS_WORKERS): a slow one (Prometheus
 * timing out, a slow API) holds one worker, never the loop, and a service
 * whose last job still runs is skipped that tick; the loop itself never
 * waits on a transition. The loop's own files: controller_internal.h. */
#ifndef KSISS_CONTROLLER_H
#define KSISS_CONTROLLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/capacity_learn.h"
#include "core/tier_floor.h"
#include "core/config.h"
#include "core/gpu_resolve.h"
#include "core/inventory.h"
#include "core/policy.h"
#include "core/tiers.h"
#include "core/transition.h"
#include "shell/knative.h"
#include "shell/kube.h"
#include "shell/metrics.h"
#include "shell/prom.h"

/* ---- settings ---- */

#define KSISS_DEFAULT_READY_TIMEOUT_MS 300000   /* new Revision Ready within 5 min, else roll back */
#define KSISS_DEFAULT_BACKOFF_MS      1800000   /* a rolled-back tier is not retried for 30 min */

typedef struct {
    const char *kubeconfig;         /* NULL: KUBECONFIG, in-cluster, ~/.kube/config */
    const char *namespace_name;     /* NULL: NAMESPACE (default "default") */
    const char *prometheus_url;     /* NULL: PROMETHEUS_URL */
    int64_t interval_ms;            /* 0: METRICS_SCRAPE_INTERVAL */
    const char *listen;             /* NULL: ":8080" */
    bool dry_run;                   /* decide and log, change nothing */
    const char *lease_namespace;    /* NULL: the namespace managed */
    const char *lease_name;         /* NULL: "ksiss-leader" */
    bool no_leader_election;        /* act without a Lease (single instance, tests) */
    int64_t ready_timeout_ms;       /* 0: default */
    int64_t backoff_ms;             /* 0: default */
    const int *traffic_steps;       /* NULL: {10, 50, 100} */
    size_t n_traffic_steps;
    int max_ticks;                  /* > 0: stop after that many ticks (tests) */
} ksiss_controller_opts;

/* Runs until *stop becomes non-zero (SIGTERM/SIGINT handlers set it) or
 * max_ticks. *stop also aborts every Kubernetes request and Prometheus
 * query in flight (their retries too), so the way out takes about a second
 * however slow the servers are; the Lease is released on the way out.
 * With leader election, every write is checked against the lease right
 * before it goes out (ksiss_leader_write_guard). Returns a CLI exit code
 * (0 clean stop, 3 cannot start: bad environment, unreachable API, ...). */
int ksiss_controller_run(const ksiss_controller_opts *o, volatile sig_atomic_t *stop);

/* Parses "10,50,100" (ascending percentages in 1..100, ending at 100) or
 * "100" (at once). Returns 0 and a new array in *out (caller frees), or -1
 * and *err (caller frees). */
int ksiss_parse_traffic_steps(const char *text, int **out, size_t *n, char **err);

/* ---- pure helpers (tested in tests/unit/test_controller.c) ---- */

/* Which decisions `ksiss run` writes to its log (KSISS_DECISION_LOG): at
 * 10,000 services a line per service per tick would be ~1,000 lines a
 * second of holds; every decision is counted in ksiss_decisions_total
 * either way. */
typedef enum {
    KSISS_DECISION_LOG_CHANGES,     /* actions, and holds that differ from the last line (default) */
    KSISS_DECISION_LOG_ALL,         /* every decision of every tick */
} ksiss_decision_log_mode;

/* Parses KSISS_DECISION_LOG: "changes" (also when unset or empty) or
 * "all". Returns 0, or -1 and *err (caller frees). */
int ksiss_decision_log_from_env(const char *value, ksiss_decision_log_mode *out, char **err);

/* A hold that changes nothing is logged again after this long, so that
 * the log alone still shows every service alive. */
#define KSISS_DECISION_LOG_HEARTBEAT_MS (10 * 60 * 1000)

/* The last decision logged for a service (zero-initialised: none yet). */
typedef struct {
    bool any;
    int64_t at_ms;
    ksiss_action action;
    int replicas;
    char reason_code[32];
    char tier[64];
} ksiss_decision_logged;

/* Whether decision d, made at now_ms, gets a log line: under
 * KSISS_DECISION_LOG_ALL always; otherwise every action, the first
 * decision, a hold whose reason code, tier or instance count differs from
 * the last line logged, and a hold when nothing was logged for
 * KSISS_DECISION_LOG_HEARTBEAT_MS (or the clock went back). When it says
 * yes, *last becomes d. */
/* Whether the decision d should raise the Warning Event SLOUnattainable
 * now: once when a service enters slo_unattainable (its SLO breached at
 * the largest deployment it may use), not again while the breach lasts
 * (any decision with the SLO breached keeps *reported), again after a
 * decision without a breach. *reported: the service's memory, false at
 * first. Pure. */
bool ksiss_slo_unattainable_due(bool *reported, const ksiss_decision *d);

bool ksiss_decision_log_due(ksiss_decision_log_mode mode, ksiss_decision_logged *last, const ksiss_decision *d,
                            int64_t now_ms);

/* The configuration entry managing the Knative Service `name`: NULL when
 * ignored (IGNORE_LIST; *skip names the entry) or not configured.
 * *by_prefix says the original's prefix rule matched (log it). */
const ksiss_service_cfg *ksiss_controller_match(const ksiss_config *cfg, const ksiss_env *env, const char *name,
                                                bool *by_prefix, const char **skip);

/* The current deployment of a service: its tier (from the template's GPU
 * container; NULL and *why when unknown, caller frees), instances ready
 * (the serving Revision's actualReplicas) and starting (desired minus
 * actual), and whether a transition is in flight. */
void ksiss_controller_deployment(const ksiss_catalog *cat, const char *gpu_model, const json_t *service,
                                 const json_t *revisions, ksiss_deployment *out, char **why);

/* The GPU resource and count the serving revision requests (the
 * template's when no revision is Ready): 0 with *resource borrowed from
 * the objects, or -1 and *why (caller frees). */
int ksiss_controller_serving_gpu(const json_t *service, const json_t *revisions, const char **resource,
                                 long long *count, char **why);

/* The most recent tier still in backoff (KSISS_ANN_BACKOFF) at now_ms, as
 * history fields: *tier (caller frees) and *until_ms; *tier NULL when none. */
void ksiss_controller_backoff(const json_t *service, int64_t now_ms, char **tier, int64_t *until_ms);

/* Nothing is written on watch caches alone: they may lag, and they hold
 * trimmed objects while a write copies whole ones. Before a plan is
 * applied, the Service and its Revisions are read from the API (k) and the
 * step is decided again on them (tin: the input the plan was computed
 * from; its service and revisions are replaced by the fresh ones in a
 * copy). Returns 0 with *plan replaced by the fresh plan and *fresh
 * holding the objects read (apply the plan to fresh->service; free with
 * ksiss_knative_view_free), or -1 with *err (caller frees): nothing must
 * be applied then. */
int ksiss_controller_recheck(ksiss_kube *k, const char *ns, const char *name, const ksiss_tr_input *tin,
                                    ksiss_tr_plan *plan, ksiss_knative_view *fresh, char **err);

/* ---- one service's evaluation (controller and explain) ---- */

/* A service's learned capacity across ticks (controller_learn.c). */
typedef struct {
    ksiss_learner L;
    uint64_t cfg_gen;               /* the configuration L's tiers belong to; 0: not set up */
    bool restored;                  /* the Service's annotation was read */
    int ready;                      /* ready instances of the current tier last seen ... */
    const ksiss_tier *tier;         /* ... on this tier (of cfg_gen's catalogue) */
    int64_t since_ms;               /* ... since then (a window counts once it is all inside) */
    char revision[254];             /* per-revision queries: the latest ready revision last seen ("": none) */
    int64_t rev_since_ms;           /* ... serving (ready instances) since then */
    char *state;                    /* the state as last written (or read), JSON; owned */
    long saved_n;                   /* windows behind it */
    long written_n;                 /* windows behind the state last written to the Service */
    int64_t written_ms;             /* when (INT64_MIN before the first) */
    char hist_why[200];             /* what was wrong with the prompt-length histogram when last logged ("":
                                       nothing logged, or read since) */
} ksiss_learn_state;

/* How this tick's prompt-length histogram (learnQueries.promptHistogram)
 * went: k's prior is the histogram's only when READ. */
typedef enum {
    KSISS_HIST_NONE = 0,            /* no query configured: the fallback prior */
    KSISS_HIST_READ,                /* 1 + c^2 read */
    KSISS_HIST_FEW,                 /* fewer requests in the window than a spread needs: not an error */
    KSISS_HIST_BAD,                 /* the query failed, or its answer is missing or malformed (why says) */
} ksiss_hist_status;

void ksiss_learn_state_free(ksiss_learn_state *s);

typedef struct {
    ksiss_kube *kube;
    ksiss_prom *prom;
    ksiss_metrics *reg;             /* may be NULL */
    const ksiss_catalog *cat;
    const ksiss_service_cfg *svc;
    const char *ns;
    const char *name;               /* the Knative Service */
    const json_t *service;          /* the Service from the watch cache (borrowed), NULL: read it */
    const json_t *all_pods;         /* pods from the watch cache (borrowed, any service), NULL: list them */
    const char *const *running_pods;    /* when set, the service's Running pods by name (borrowed; from the
                                           pod cache's records), and all_pods is not read */
    size_t n_running_pods;
    const json_t *all_revisions;    /* Revisions from the watch cache (borrowed, any service), NULL: list them */
    const ksiss_prom_share *const *shares;  /* svc->n_metrics entries: a metric's share of a query batched
                                               across services, NULL entries (or NULL): query it here */
    const ksiss_prom_share *load_share;     /* the load query's share, NULL: query it here */
    const ksiss_prom_share *const *learn_shares;    /* KSISS_LQ_N: the learned capacity's series batched,
                                                       NULL entries (or NULL): query them here */
    ksiss_learn_state *learn;       /* a learning service's state across ticks; NULL: none kept (a learning
                                       service is then decided from the Service's annotation alone) */
    ksiss_prompt_tally *tally;      /* the service's prompt-length tally across ticks (tier_floor.h); NULL:
                                       none kept (this tick's window alone: ksiss explain) */
    uint64_t cfg_gen;               /* the configuration's generation (with learn) */
    const ksiss_free_gpu *free;     /* NULL/0: unknown */
    size_t n_free;
    const ksiss_inventory *inv;     /* borrowed, NULL: unknown; the nodes a revision's pods run on tell the
                                       GPU model of a service in the original's format (gpu_resolve.h) */
    const ksiss_history *history;   /* may be NULL */
    int64_t now_ms;
    int64_t interval_ms;
    /* When set, the service's deployment as read at an earlier tick from
     * the same Service and Revisions, unchanged since and found reusable
     * then (ksiss_controller_reusable): they are not read again and the
     * view stays empty. running_pods must be set with it. */
    const ksiss_deployment *known;
    const char *known_revision;     /* with known: its status.latestReadyRevisionName (borrowed) */
} ksiss_eval_in;

typedef struct {
    ksiss_knative_view view;
    const char **pods;              /* Running pods (borrowed from view) */
    size_t n_pods;
    ksiss_metric_reading *readings; /* svc->n_metrics */
    size_t n_readings;
    ksiss_observation *obs;         /* svc->n_metrics, pointing into readings */
    ksiss_observation load;
    char *load_why;                 /* owned text behind load.why_missing */
    double learn_values[KSISS_LQ_N];    /* the learned capacity's series, NAN: not read (KSISS_LQ_PROMPT_HIST:
                                         * the prompts' 1 + c^2 from the histogram's buckets) */
    ksiss_hist_status learn_hist;   /* how the histogram was read */
    char learn_hist_why[200];       /* KSISS_HIST_BAD: what was wrong */
    double hist_le[KSISS_LEARN_MAX_BUCKETS];    /* the histogram's bounds as read, the last +Inf ... */
    double hist_rate[KSISS_LEARN_MAX_BUCKETS];  /* ... and its requests/s per bucket (not cumulative) */
    size_t hist_n;                  /* buckets read; 0: none */
    double ttft_slo;                /* the TTFT SLO the tiers were judged by (ksiss_ttft_slo); 0: none */
    double tallied;                 /* requests in the tally they were judged on */
    ksiss_slow_tier slow[KSISS_LEARN_MAX_TIERS];    /* the tiers too slow for the prompts (tier_floor.h) */
    const ksiss_tier *slow_tiers[KSISS_LEARN_MAX_TIERS];
    size_t n_slow;
    bool learning;                  /* the service learns its capacity: the fields below are set */
    ksiss_learn_result learn_prefill, learn_decode;     /* what this tick's window did */
    bool learn_changed;             /* the state moved: persist it (learn->state holds it) */
    ksiss_capacity_view cap_view;   /* what the policy was given */
    const ksiss_tier *view_tiers[KSISS_LEARN_MAX_TIERS];
    double view_cap[KSISS_LEARN_MAX_TIERS];
    ksiss_cap_estimate learned[KSISS_LEARN_MAX_TIERS];  /* per tier of the ladder (view_tiers), for explain */
    ksiss_deployment current;
    const char *revision;           /* status.latestReadyRevisionName (borrowed from view or in), or NULL */
    char *tier_why;                 /* why current.tier is NULL */
    bool has_state;
    ksiss_tr_state state;           /* the transition in flight when has_state */
    char *state_error;              /* the annotation could not be read */
    ksiss_gpu_resolution gpu;       /* the service's GPU model and what it was found from; model NULL:
                                       undeterminable, and the decision is the hold that says so */
    bool has_effective;
    ksiss_service_cfg effective;    /* a service in the original's format on its resolved model (its own
                                       ladder): use ksiss_eval_service */
    bool decided;
    ksiss_decision decision;
    char *error;                    /* the service could not be read or decided; owned */
} ksiss_eval;

/* The configuration the evaluation decided with: `configured` on the
 * model found at run time for a service in the original's format, else
 * `configured` itself. Borrowed from e (and configured). */
const ksiss_service_cfg *ksiss_eval_service(const ksiss_eval *e, const ksiss_service_cfg *configured);

/* Reads everything and calls the service's policy. Returns 0 (out->decided)
 * or -1 (out->error says why; nothing must be changed then). Always free
 * with ksiss_eval_free. */
int ksiss_controller_evaluate(const ksiss_eval_in *in, ksiss_eval *out);

/* ---- the learned capacity (controller_learn.c) ---- */

/* Reads the series svc->load.learn_queries name into out->learn_values
 * (from in->learn_shares where batched); the prompt-length histogram's
 * buckets become 1 + c^2 (out->learn_hist says how that went). */
void ksiss_controller_read_learn(const ksiss_eval_in *in, const ksiss_promql_vars *vars, ksiss_eval *out);
/* Feeds the window to the service's learner (in->learn, or a learner of
 * this call only, restored from the Service's annotation) and fills
 * out->cap_view, out->learned; out->learn_changed when in->learn->state
 * should be written. */
void ksiss_controller_learn(const ksiss_eval_in *in, const ksiss_service_cfg *svc, ksiss_eval *out);
/* This tick's prompt-length histogram into the service's tally (in->tally,
 * or this window alone), then the tiers too slow for the prompts into
 * out->slow (tier_floor.h; by the learned estimates when out->learning). */
void ksiss_controller_floor(const ksiss_eval_in *in, const ksiss_service_cfg *svc, ksiss_eval *out);
/* Writes the state into the Service's annotation KSISS_LEARN_ANNOTATION. */
int ksiss_controller_save_learned(ksiss_kube *k, const char *ns, const char *name, const char *state, char **err);
/* ksiss_tier_too_slow{service,tier} for the tiers of svc's ladder too slow
 * for the prompts (ev->slow); the others' series removed. */
void ksiss_controller_export_floor(ksiss_metrics *reg, const char *name, const ksiss_service_cfg *svc,
                                   const ksiss_eval *ev);
/* ksiss_learned_capacity{service,tier} and its uncertainty. */
void ksiss_controller_export_learned(ksiss_metrics *reg, const char *name, const ksiss_eval *ev);
/* 1 + c^2 of the prompts from a per-bucket answer (samples with their
 * `le`) over the learning window: KSISS_HIST_READ and *m2, or FEW, or BAD
 * with why (NUL-terminated, at most whylen). Exposed for tests. */
ksiss_hist_status ksiss_controller_prompt_hist(const ksiss_promql_sample *s, size_t n, double *m2, char *why,
                                               size_t whylen);

/* Whether the deployment read from this Service (and its Revisions) may be
 * reused, without reading them again, at later ticks while they are
 * unchanged: nothing in the reading depends on the time or a transition
 * (no transition or backoff annotation) and the tier is known. For such a
 * service a hold is a no-op for the transition step too. */
bool ksiss_controller_reusable(const json_t *service, const ksiss_deployment *current);
void ksiss_eval_free(ksiss_eval *e);

/* ---- exported series (controller_metrics.c; docs/metrics.md) ---- */

/* Sets service `name`'s gauges from its evaluation: ksiss_service_tier_info
 * (a former tier's series removed; none while the tier is unknown),
 * ksiss_service_replicas, ksiss_transitions_in_flight, and the original's
 * KubeComp_gpu_resource for its serving revision only. *legacy_rev (owned,
 * NULL: none) is the revision that gauge was last set for: when another
 * revision serves, or none, that series is removed and *legacy_rev
 * follows. */
void ksiss_controller_export_service(ksiss_metrics *reg, const char *ns, const char *name, const ksiss_eval *ev,
                                     char **legacy_rev);

/* Removes what a service no longer managed left: every series with its
 * namespace and service labels, and KubeComp_gpu_resource{legacy_rev}
 * (NULL: none). */
void ksiss_controller_forget_service(ksiss_metrics *reg, const char *ns, const char *name, const char *legacy_rev);

/* Whether metric id is exported only by the replica that leads: every
 * gauge with a `service` label, KubeComp_gpu_resource, ksiss_gpu_free,
 * ksiss_gpu_allocatable and ksiss_tick_services (what describes the
 * cluster as the leader sees it: a follower's stale copy would be summed
 * with the leader's). */
bool ksiss_controller_leader_only(ksiss_metric_id id);

/* A replica that does not lead: removes every series of the leader-only
 * metrics; returns how many. Counters and histograms stay (each counts
 * what this replica did while it led). */
size_t ksiss_controller_export_follower(ksiss_metrics *reg);

#endif
