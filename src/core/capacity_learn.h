/* capacity_learn.h: learns, per service and per tier, what one instance
 * serves within the SLO, from the windowed means Prometheus gives (mean
 * TTFT, mean prompt tokens, completed requests/s, mean running batch, mean
 * TPOT), so that `load.perGpu` may be left out (issue 17, docs/policy.md
 * "Learned capacity"). A Kalman filter per tier and phase estimates the
 * service time (seconds per prompt token with a queueing term; the decode
 * step against the batch) with its uncertainty; process noise widens a
 * stale estimate, an innovation (NIS) gate rejects bad windows, and tiers
 * that have not served borrow through the catalogue's prefill/decode
 * ratios. Pure: no I/O, no clock (times are handed in), no globals. */
#ifndef KSISS_CAPACITY_LEARN_H
#define KSISS_CAPACITY_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/tiers.h"

#define KSISS_LEARN_MAX_TIERS 32

/* Where a tier's capacity figure comes from (`ksiss explain`). */
typedef enum {
    KSISS_CAP_NONE = 0,     /* nothing known: no profile, nothing served anywhere */
    KSISS_CAP_PROFILE,      /* load.perGpu x the catalogue's ratio, nothing learned yet */
    KSISS_CAP_CATALOGUE,    /* learned on other tiers, carried over by the catalogue's ratios */
    KSISS_CAP_LEARNED,      /* learned on this tier */
} ksiss_cap_source;

/* Where the prior of the prefill's queueing slope k came from when its
 * filter started (`ksiss explain`). */
typedef enum {
    KSISS_KPRIOR_UNSET = 0,     /* no prefill window yet (or a state written before it was kept) */
    KSISS_KPRIOR_FALLBACK,      /* no prompt-length histogram: k = KSISS_LEARN_QUEUE_K +- 0.15 */
    KSISS_KPRIOR_HISTOGRAM,     /* the histogram's 1 + c^2: k = (1 + c^2) / 2 +- KSISS_LEARN_QUEUE_K_SD_REL */
} ksiss_k_prior;

/* One window's readings for the instances of one tier (NAN: not read).
 * Rates and means as `rate(x_sum[w]) / rate(x_count[w])` gives them. */
typedef struct {
    double ttft_mean_s;         /* mean time to first token */
    double prompt_mean;         /* mean prompt tokens per request: rate(prompt_tokens) / rate(request_success) */
    double req_rate;            /* completed requests/s, all instances together */
    double running_mean;        /* mean running batch per instance (num_requests_running) */
    double tpot_mean_s;         /* mean time per output token */
    double prompt_m2;           /* mean squared prompt over the squared mean prompt, 1 + c^2 (the prompt-length
                                 * histogram, ksiss_learn_prompt_m2); 0 or NAN: not read */
    double prefill_s_per_token; /* the prefill alone: the seconds the window's finished requests spent in their
                                 * prefill over their prompt tokens (vLLM's request_prefill_time_seconds_sum over
                                 * request_prompt_tokens_sum, both counted at the finish); 0 or NAN: not read */
    double window_s;            /* the queries' range window (60 for [1m]) */
    int instances;              /* instances of the tier serving at the window's end */
    bool counts_changed;        /* their count changed within the window: only a prefill read directly is used */
} ksiss_learn_window;

/* A 2-parameter linear Kalman filter: y = m0 + m1 * x. */
typedef struct {
    double m[2];
    double P[3];                /* P00, P01, P11 */
    long n;                     /* accepted windows */
    long rejected;              /* windows the innovation gate refused */
    int reject_run;             /* consecutive refusals with the same sign */
    int reject_sign;
    int64_t at_ms;              /* time of m and P (process noise is added from here) */
    int64_t last_ms;            /* end of the last window used (windows must not overlap) */
} ksiss_learn_filter;

typedef struct {
    const ksiss_tier *tier;     /* borrowed from the catalogue */
    double published;           /* the bound last handed to the policy (ksiss_learner_view); 0: none */
    ksiss_k_prior k_src;        /* the prior the prefill filter's queueing slope started from, and its */
    double k0, k_sd;            /* value and s.d. (the prior itself; carried from another tier: that tier's) */
    bool k_carried;             /* the filter started from other tiers' estimates (k_src is theirs) */
    ksiss_learn_filter prefill; /* TTFT / prompt tokens = theta + phi * rho / (1 - rho): theta s/token */
    ksiss_learn_filter decode;  /* TPOT = a + c * batch */
} ksiss_learn_tier;

typedef struct {
    ksiss_learn_tier tiers[KSISS_LEARN_MAX_TIERS];
    size_t n;
    ksiss_throughput_kind kind; /* the load's unit: prompt or generated tokens/s */
    double per_gpu;             /* profile: load a whole GPU sustains within the SLO; 0: none */
    double tpot_slo_s;          /* TPOT SLO for the decode capacity; 0: none */
    double unit;                /* the policy's GPU-equivalent in load units: per_gpu, or (none) fixed at the
                                 * first estimate, so that needs kept in its history keep one unit; 0: not yet */
} ksiss_learner;

/* What the learner says about one tier now. Capacities are in the load's
 * unit (prompt or generated tokens/s) for one instance, within the SLO. */
typedef struct {
    double capacity;            /* best estimate; NAN when nothing is known */
    double bound;               /* pessimistic side (the policy plans with it); NAN when unknown */
    double rel_sd;              /* relative standard deviation of the capacity; NAN when unknown */
    ksiss_cap_source source;
    long n_obs;                 /* windows behind the estimate (this tier's, or all tiers' when carried over) */
    int64_t age_ms;             /* since the newest of those windows; -1 when none */
    bool learned;               /* this tier's own estimate is tight enough to scale down on */
    ksiss_k_prior k_src;        /* the prefill's queueing-slope prior behind the estimate (carried over: */
    double k0, k_sd;            /* the served tier's with the most windows); NAN when unset */
    bool k_carried;             /* k_src is another tier's */
} ksiss_cap_estimate;

/* Why a window did or did not update a filter. */
typedef enum {
    KSISS_LEARN_ACCEPTED = 0,
    KSISS_LEARN_REGIME,         /* accepted after a run of same-sign refusals, with a widened covariance */
    KSISS_LEARN_NOT_READ,       /* a reading the phase needs is missing, zero or not finite */
    KSISS_LEARN_FEW,            /* fewer than KSISS_LEARN_MIN_REQUESTS requests in the window */
    KSISS_LEARN_QUEUEING,       /* requests waited for a prefill: the window measures the queue */
    KSISS_LEARN_OVERLAP,        /* the window overlaps the last one used */
    KSISS_LEARN_OUTLIER,        /* the innovation gate refused it */
    KSISS_LEARN_UNKNOWN_TIER,   /* not a tier of the learner */
    KSISS_LEARN_UNSTEADY,       /* the instance count changed within the window and the phase has no direct reading */
} ksiss_learn_result;

/* Tuning, documented in docs/policy.md "Learned capacity". */
#define KSISS_LEARN_MIN_REQUESTS 20     /* requests in a window before it says anything */
#define KSISS_LEARN_MAX_IN_PREFILL 0.6  /* mean requests per instance waiting for or in prefill (Little) */
#define KSISS_LEARN_PREFILL_UTIL 0.7    /* prefill utilization the TTFT SLO allows: capacity = 0.7 / theta */
#define KSISS_LEARN_PREFILL_SLACK 1.25  /* a prefill read directly may exceed TTFT per token by this much at most */
#define KSISS_LEARN_QUEUE_K 0.5        /* prior of the queueing coefficient k (phi = k theta), s.d. 0.15,
                                         * without the prompts' spread */
#define KSISS_LEARN_QUEUE_K_SD_REL 0.15 /* with the prompts' spread read: k's prior (1 + c^2) / 2, this s.d. relative:
                                         * the histogram gives c^2 within ~30%, k within 0.3 c^2 / (1 + c^2) ~ 15% */
#define KSISS_LEARN_NIS_GATE 10.83      /* chi-square, 1 d.o.f., 0.999 */
#define KSISS_LEARN_REGIME_RUN 4        /* refusals of the same sign in a row that mean the service changed */
#define KSISS_LEARN_Z 1.0               /* the bound: one-sided 84% */
#define KSISS_LEARN_DRIFT_PER_H 0.10    /* relative s.d. a parameter drifts per sqrt(hour) unobserved */
#define KSISS_LEARN_TRANSFER_SD 0.15    /* relative s.d. of the catalogue's ratio between two tiers */
#define KSISS_LEARN_PROFILE_SD 0.5      /* relative s.d. of a profile (2x off is 2 s.d. in log terms) */
#define KSISS_LEARN_LEARNED_SD 0.25     /* own estimate at most this uncertain to scale down on */
#define KSISS_LEARN_LEARNED_N 3         /* and at least this many windows */
#define KSISS_LEARN_DECAY_STEP_MS 3600000   /* a stale estimate widens by whole hours */
#define KSISS_LEARN_DEADBAND 0.05       /* the policy's figure moves only when the bound moved 5% (or its source) */

/* vLLM's request_prompt_tokens histogram buckets (1-2-5 up to a million
 * tokens, then +Inf): KSISS_LEARN_PROMPT_LE upper bounds. */
#define KSISS_LEARN_PROMPT_LE 19
double ksiss_learn_prompt_le(size_t i);
/* 1 + c^2 of the prompt lengths from one window's bucket counts (counts[i]:
 * requests in bucket i, not cumulative; KSISS_LEARN_PROMPT_LE + 1 of them,
 * the last +Inf): each bucket taken as log-uniform between its bounds
 * (within ~30% of the true c^2 on the suite's traces, mostly high; a
 * uniform spread inflates it by the buckets' width). NAN when there are
 * fewer than KSISS_LEARN_MIN_REQUESTS or a count is negative. */
double ksiss_learn_prompt_m2(const double *counts);
/* The same for any bucket bounds: le[0..n) ascending upper bounds, the
 * last +Inf, counts[i] the requests in (le[i - 1], le[i]] (not
 * cumulative); the first bucket is taken from le[0] / 2, the +Inf one as
 * (le[n - 2], 2 le[n - 2]]. ksiss_learn_prompt_m2 is this with vLLM's
 * bounds. NAN as there, or when the bounds are not so. */
double ksiss_learn_prompt_m2_le(const double *le, const double *counts, size_t n);
/* Bucket i's span of the bounds le[0..n) as the histogram readers take it:
 * (le[i - 1], le[i]], the first from le[0] / 2, the last (+Inf) up to
 * twice the bound before it. */
void ksiss_learn_bucket_span(const double *le, size_t n, size_t i, double *a, double *b);

/* One sample of a per-bucket query over the prompt-length histogram (the
 * shell's reading of e.g. sum by (le) (rate(vllm:request_prompt_tokens_bucket
 * [1m]))): its `le` label as Prometheus wrote it (NULL: absent) and its
 * value, a cumulative rate per second. */
typedef struct {
    const char *le;
    double value;
} ksiss_learn_bucket;

/* 1 + c^2 of one window's prompts from the cumulative per-second bucket
 * rates of b[0..n) over window_s seconds (order free): `le` parsed
 * ("+Inf" included), sorted, turned into per-bucket counts for
 * ksiss_learn_prompt_m2_le. 0 and *m2 when read; 1 with *m2 NAN when too
 * few requests (fewer than KSISS_LEARN_MIN_REQUESTS: not an error); -1
 * with *m2 NAN and *why (caller frees) naming what is wrong: no sample, a
 * missing, unparseable, non-positive or repeated `le`, a value that is
 * NaN, infinite or negative, no +Inf bucket, cumulative counts that fall
 * as `le` grows (beyond rounding), more than KSISS_LEARN_MAX_BUCKETS
 * buckets. 128: TGI's router cuts tgi_request_input_length into 100
 * linear buckets (max_input_tokens / 100 each) and +Inf, 101 series, and
 * vLLM's 1-2-5 ladder has ~15; an answer not summed by le (one set per
 * pod) has its `le` repeated, which is refused as well. */
#define KSISS_LEARN_MAX_BUCKETS 128
/* The buckets behind ksiss_learn_prompt_hist: le[0..n) the bounds sorted
 * (the last +Inf), counts[0..n) the requests in each over window_s (not
 * cumulative); arrays of n. 0, or -1 with *why (caller frees) as there. */
int ksiss_learn_prompt_buckets(const ksiss_learn_bucket *b, size_t n, double window_s, double *le, double *counts,
                               char **why);
int ksiss_learn_prompt_hist(const ksiss_learn_bucket *b, size_t n, double window_s, double *m2, char **why);

/* Sets up a learner for `tiers` (borrowed; at most KSISS_LEARN_MAX_TIERS
 * are kept). per_gpu > 0: the profile's figure (the prior); tpot_slo_s > 0:
 * the TPOT SLO the decode capacity is sized to. */
void ksiss_learner_init(ksiss_learner *L, const ksiss_tier *const *tiers, size_t n, ksiss_throughput_kind kind,
                        double per_gpu, double tpot_slo_s);

/* Feeds one window of `tier`'s readings, ending at now_ms. *prefill and
 * *decode (may be NULL) say what each phase's filter did with it. */
void ksiss_learner_observe(ksiss_learner *L, const ksiss_tier *tier, const ksiss_learn_window *w, int64_t now_ms,
                           ksiss_learn_result *prefill, ksiss_learn_result *decode);

/* The estimate for `tier` at now_ms (stale estimates are wider). */
void ksiss_learner_estimate(const ksiss_learner *L, const ksiss_tier *tier, int64_t now_ms, ksiss_cap_estimate *out);

/* The policy's view (policy.h) at now_ms: per_instance[i] (caller's
 * array of L->n) the pessimistic bound of L's i-th tier (0 when unknown),
 * tiers[i] that tier, the unit, and whether `current` is learned. Fixes
 * L->unit at the first estimate when there is no profile. A tier's figure
 * changes only when its bound moved by KSISS_LEARN_DEADBAND or more: the
 * policy compares needs it remembered with capacities it computes now, and
 * a capacity that creeps by a percent a tick turned a hold into a needless
 * scale-up (the step trace: 3g x4 -> gpu x3). */
void ksiss_learner_view(ksiss_learner *L, const ksiss_tier *current, int64_t now_ms, const ksiss_tier **tiers,
                        double *per_instance, ksiss_capacity_view *out);

/* Whether a window's prefill per prompt token (learnQueries.prefillPerToken)
 * is read and agrees with its TTFT: positive, and at most
 * KSISS_LEARN_PREFILL_SLACK x the TTFT per prompt token (a prefill is part
 * of its TTFT); otherwise the learner splits TTFT with its queueing model. */
bool ksiss_learn_prefill_usable(double prefill_s_per_token, double ttft_mean_s, double prompt_mean);

/* The capacity one instance gives (load units) under the learner's rule,
 * from a phase's parameters: prefill seconds per token p0, or the decode
 * step at batch 0 p0 and its slope per sequence p1. */
double ksiss_learn_capacity_of(ksiss_throughput_kind kind, double tpot_slo_s, double p0, double p1);

/* The learner's tier entry for `tier`, or NULL. */
ksiss_learn_tier *ksiss_learner_tier(ksiss_learner *L, const ksiss_tier *tier);

/* The learner's state as one line of JSON (what ksiss run keeps in the
 * Service's annotation KSISS_LEARN_ANNOTATION): {"v":1,"at":MS,"unit":U,
 * "tiers":{NAME:{"prefill":[m0,m1,P00,P01,P11,n,at_ms,last_ms],
 * "decode":[...]}}}, filters never started left out. Caller frees. */
char *ksiss_learner_to_json(const ksiss_learner *L, int64_t now_ms);
/* Restores what `text` holds into L (set up with ksiss_learner_init for
 * the service's ladder): tiers by name, those not in L ignored. The times
 * stay as written, so a stale state comes back wider (the process noise
 * runs from them). -1 and *err (caller frees) naming what is wrong; L is
 * then unchanged. */
int ksiss_learner_from_json(ksiss_learner *L, const char *text, char **err);
#define KSISS_LEARN_ANNOTATION "ksiss.io/learned-capacity"

const char *ksiss_cap_source_name(ksiss_cap_source s);
const char *ksiss_k_prior_name(ksiss_k_prior s);    /* "-", "fallback", "histogram" */
const char *ksiss_learn_result_name(ksiss_learn_result r);

#endif
