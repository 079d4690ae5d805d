/* policy.h: the decision policy interface. A policy is a pure function from
 * one service's configuration, observations, current deployment, free GPUs
 * and decision history to exactly one decision with a readable reason.
 * Policies live in a named table; the controller (`ksiss run`) and the
 * simulator (`ksiss simulate`) call the same functions. */
#ifndef KSISS_POLICY_H
#define KSISS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/tiers.h"

/* One metric's reading for the whole service (already aggregated across
 * pods by the metric's `aggregate`). */
typedef struct {
    bool present;               /* false: no usable value (missing, empty, NaN, Inf, error) */
    double value;
    int64_t observed_at_ms;     /* when it was read (same clock as now_ms) */
    const char *why_missing;    /* borrowed, for the reason text; may be NULL */
} ksiss_observation;

typedef struct {
    const ksiss_tier *tier;     /* current tier; NULL when unknown (then the policy holds) */
    int replicas_ready;         /* instances serving */
    int replicas_starting;      /* instances created but not yet serving (count as capacity) */
    bool transition_in_flight;  /* a tier change is under way: hold */
} ksiss_deployment;

/* Free units of a GPU resource, beyond what the service itself holds. */
typedef struct {
    const char *resource;       /* "nvidia.com/mig-3g.40gb" */
    const char *gpu_model;      /* NULL = any model */
    long long free_units;
} ksiss_free_gpu;

/* Recommendations and actions remembered between ticks (HPA-style
 * stabilization, cooldowns, trend). The ring holds our own numbers, never
 * outside data; its capacity is sized to the longest window the policies
 * read for the service (ksiss_history_capacity), at most
 * KSISS_HISTORY_MAX entries, so 10,000 services do not each hold 10 KB. */
#define KSISS_HISTORY_MAX 256
typedef struct {
    int64_t at_ms;
    double capacity;            /* GPU-equivalents of throughput the policy asked for */
    double load;                /* load observation then, or NAN */
    double serving_capacity;    /* capacity of the instances that were serving then (0: not recorded) */
    bool slo_breach;            /* an SLO was breached then: the load reading was not demand */
} ksiss_reco;

/* How the ring stores an entry: the numbers, and apart from them the time
 * as a 32-bit offset from the ring's base and the flag as a bit, so an
 * entry takes 28 bytes and 1 bit instead of 40 bytes. */
typedef struct {
    double capacity, load, serving_capacity;
} ksiss_reco_slot;

typedef struct {
    ksiss_reco_slot *recos;     /* ring buffer of cap entries, then cap uint32_t time offsets, then cap bits
                                   of slo_breach (one allocation, owned; NULL while cap is 0) */
    size_t cap;                 /* 0: not reserved yet (the first record reserves KSISS_HISTORY_MAX) */
    size_t n;
    size_t head;                /* index of the oldest entry */
    int64_t base_ms;            /* entry k was at base_ms + its offset (base_ms <= every entry's time) */
    int64_t last_up_ms;         /* INT64_MIN: never */
    int64_t last_down_ms;
    int64_t missing_since_ms;   /* INT64_MIN: data present at the last tick */
    char *backoff_tier;         /* tier name refused after a rollback (owned), or NULL */
    int64_t backoff_until_ms;
    /* The units of the capacities recorded since unit_since_ms, when the
     * tier of rank unit_rank became the current one: one instance of it was
     * unit_capacity GPU-equivalents (0: not known). A learned capacity
     * moves them; ksiss_history_record rescales those entries (older ones
     * were recorded on another tier, whose figure this is not). */
    double unit_capacity;
    int64_t unit_since_ms;
    int unit_rank;
} ksiss_history;

/* The i-th oldest entry (i < h->n). */
static inline ksiss_reco ksiss_history_at(const ksiss_history *h, size_t i)
{
    size_t k = (h->head + i) % h->cap;
    const ksiss_reco_slot *s = &h->recos[k];
    const uint32_t *off = (const uint32_t *)(h->recos + h->cap);
    const unsigned char *bits = (const unsigned char *)(off + h->cap);
    ksiss_reco r = {h->base_ms + off[k], s->capacity, s->load, s->serving_capacity, (bits[k / 8] >> (k % 8)) & 1};
    return r;
}

/* A learned capacity in place of load.perGpu and the catalogue's ratios
 * (issue 17, core/capacity_learn.h): what one instance of each tier
 * sustains, in the load's unit, on the pessimistic side. */
typedef struct {
    double per_gpu;                 /* the unit of the policy's GPU-equivalents (load per GPU-equivalent);
                                     * <= 0: nothing known yet (no load-based need; catalogue ratios) */
    const ksiss_tier *const *tiers; /* tiers with a figure, borrowed */
    const double *per_instance;     /* load one instance of tiers[i] sustains; a tier not listed keeps
                                     * per_gpu x the catalogue's ratio */
    size_t n;
    bool scale_down_ok;             /* the current tier's estimate is learned: scale-down allowed */
} ksiss_capacity_view;

typedef struct {
    const ksiss_service_cfg *svc;
    const ksiss_observation *obs;   /* svc->n_metrics entries, same order as svc->metrics */
    const ksiss_capacity_view *capacity;    /* NULL: load.perGpu and the catalogue */
    ksiss_observation load;         /* used when svc->has_load */
    ksiss_deployment current;
    const ksiss_free_gpu *free;     /* NULL/0: GPU availability unknown: only moves that need no new GPU */
    size_t n_free;
    const ksiss_history *history;   /* may be NULL (no memory: first tick) */
    int64_t now_ms;
    int64_t interval_ms;            /* control-loop tick */
    const ksiss_tier *const *too_slow;  /* tiers whose idle instance alone misses the TTFT SLO on more requests
                                         * than the error budget allows (tier_floor.h): never the target of a tier
                                         * change (the current tier keeps its instance count moves) */
    size_t n_too_slow;
} ksiss_policy_input;

typedef enum {
    KSISS_HOLD = 0,
    KSISS_UP,       /* larger tier (replicas may change too) */
    KSISS_DOWN,     /* smaller tier */
    KSISS_OUT,      /* same tier, more instances */
    KSISS_IN,       /* same tier, fewer instances */
} ksiss_action;

typedef struct {
    ksiss_action action;
    const ksiss_tier *tier;     /* target tier (the current one unless up/down) */
    int replicas;               /* target instances */
    double pressure;            /* worst metric's pressure, NAN when no metric had data */
    int worst_metric;           /* index into svc->metrics, -1 when none */
    double required_capacity;   /* GPU-equivalents wanted now, NAN when unknown (recorded in history) */
    double serving_capacity;    /* GPU-equivalents of the instances serving now (recorded in history) */
    bool slo_breach;            /* the worst metric was above its scaleUpFactor (recorded in history) */
    bool has_remembered_need;   /* history remembers remembered_need instead of required_capacity */
    double remembered_need;     /* the need scale-down stabilization should see (ksiss under a breach with a
                                 * load signal: the capacity that breached +25%, not the feedback's guess) */
    const char *reason_code;    /* short static label for metrics/logs: see ksiss_reason_codes */
    char *reason;               /* sentence a person can read, naming metric and numbers; owned */
    double unit_capacity;       /* one instance of the current tier in the GPU-equivalents this decision used
                                 * (0: not told); with a learned capacity it moves, and the history's
                                 * capacities are rescaled to it when it does on the same tier */
    int unit_rank;              /* that tier's rank */
} ksiss_decision;

typedef int (*ksiss_decide_fn)(const ksiss_policy_input *in, ksiss_decision *out);

typedef struct {
    const char *name;
    const char *summary;
    ksiss_decide_fn decide;
} ksiss_policy;

/* The table of policies, terminated by a NULL name. */
extern const ksiss_policy ksiss_policies[];
const ksiss_policy *ksiss_policy_find(const char *name);

/* Pressure of one metric's value against its SLO, respecting direction
 * (>1 is worse than the SLO). NAN when the value gives no signal. */
double ksiss_metric_pressure(const ksiss_metric_cfg *m, double value);

/* Throughput of one instance of `tier` in whole-GPU equivalents for kind. */
double ksiss_tier_capacity(const ksiss_tier *tier, ksiss_throughput_kind kind);

/* Units of `tier` free in `in` (sums matching entries). */
long long ksiss_free_units(const ksiss_policy_input *in, const ksiss_tier *tier);

/* Entries of history that cover the longest window any policy reads for
 * `svc` (stabilization up, down and TIER_DOWN_WINDOW_MULT x down, the
 * feedback's settle window, the trend's window, the KPA baseline's stable
 * and panic windows) at one entry per tick of interval_ms, plus a margin
 * of 2 for ticks that come a little early: at least 4, at most
 * KSISS_HISTORY_MAX. A full ring of that many entries reaches back over
 * every window, so "full" may stand for "covered". KSISS_HISTORY_MAX when
 * svc is NULL or interval_ms <= 0. Pure. */
size_t ksiss_history_capacity(const ksiss_service_cfg *svc, int64_t interval_ms);

/* An empty history: no entries, capacity 0, nothing allocated. */
void ksiss_history_init(ksiss_history *h);
/* Sets the ring's capacity to `cap` (0 or more than KSISS_HISTORY_MAX:
 * KSISS_HISTORY_MAX), keeping the newest min(n, cap) entries in order.
 * Meant to be called every tick, before the policy decides, with
 * ksiss_history_capacity() (the configuration can change at run time);
 * no-op, and no allocation, when the capacity is unchanged. Entries dropped by a shrink are gone: a later
 * grow waits for the longer window to be seen again. */
void ksiss_history_reserve(ksiss_history *h, size_t cap);
/* Remembers the decision taken at now_ms (appends its recommendation,
 * dropping the oldest when the ring is full; updates cooldown clocks when
 * it acted). A history never reserved gets KSISS_HISTORY_MAX entries. */
void ksiss_history_record(ksiss_history *h, const ksiss_decision *d, double load, int64_t now_ms);
/* Frees the entries and the backoff tier; leaves an empty history (init). */
void ksiss_history_free(ksiss_history *h);

void ksiss_decision_clear(ksiss_decision *d);
const char *ksiss_action_name(ksiss_action a);

#endif
