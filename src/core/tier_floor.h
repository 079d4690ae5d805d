/* tier_floor.h: which tiers cannot meet the TTFT SLO for the service's
 * prompts however many instances serve (docs/policy.md "Tiers too slow
 * for the prompts"): the prompt-length histogram tallied over hours,
 * against each tier's prefill seconds per token. More instances shorten
 * the queue, never a prefill: a 13k-token prompt takes 1.3 s on an idle
 * 3g slice whatever the count. Pure: no I/O, no clock, no globals. */
#ifndef KSISS_TIER_FLOOR_H
#define KSISS_TIER_FLOOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/capacity_learn.h"
#include "core/config.h"
#include "core/tiers.h"

/* The tally's half-life: the prompts of the last hours, not of last week. */
#define KSISS_PROMPT_TALLY_HALF_LIFE_MS (6 * 3600000LL)

/* Requests per prompt-length bucket, decayed by the half-life. */
typedef struct {
    double *le;         /* ascending upper bounds, the last +Inf; owned */
    double *count;      /* requests in (le[i - 1], le[i]], not cumulative; owned */
    size_t n;           /* buckets; 0: nothing tallied */
    int64_t at_ms;      /* time of the last add */
} ksiss_prompt_tally;

/* Adds the requests counts[0..n) (per bucket of the bounds le[0..n),
 * ascending, the last +Inf) seen up to now_ms, after decaying what the
 * tally held since its last add. Other bounds than the tally's (a server
 * that changed its buckets) start it over. Counts that are negative or
 * not finite, or bounds that are not ascending with +Inf last, are
 * ignored: the tally is unchanged. */
void ksiss_prompt_tally_add(ksiss_prompt_tally *t, const double *le, const double *counts, size_t n, int64_t now_ms);
void ksiss_prompt_tally_free(ksiss_prompt_tally *t);

/* The share of the tallied requests whose prompt is longer than `tokens`,
 * each bucket taken as log-uniform between its bounds (the first from
 * le[0] / 2, the +Inf one up to twice the last bound, as
 * ksiss_learn_prompt_m2_le); *total: the requests tallied. NAN when none. */
double ksiss_prompt_share_above(const ksiss_prompt_tally *t, double tokens, double *total);

/* One tier too slow for the prompts. */
typedef struct {
    const ksiss_tier *tier;
    double share;       /* of the requests, those whose prefill alone on an idle instance exceeds the SLO */
    double best;        /* the same on the ladder's fastest tier (what no deployment avoids) */
} ksiss_slow_tier;

/* The ladder's tiers (that hold the model) on which an idle instance alone
 * would miss a TTFT SLO of ttft_slo_s on more of the tallied requests than
 * the error budget (1 - sloTarget) beyond what the fastest tier misses, by
 * more than two standard deviations of a Poisson count at the budget (a
 * few long prompts among a hundred are not evidence). A tier's prefill
 * seconds per prompt token is KSISS_LEARN_PREFILL_UTIL over its capacity
 * in prompt tokens/s: with a learner's estimates (est[i] for est_tiers[i],
 * ksiss_learner_estimate) the optimistic side, capacity x (1 +
 * KSISS_LEARN_Z x rel_sd): a tier is ruled out only when even that misses,
 * one without an estimate is not; without (est NULL) perGpu x the tier's
 * prefill ratio. Only for a prompt-token load (`throughput: prefill`).
 * Writes at most max into out; returns how many. */
size_t ksiss_slow_tiers(const ksiss_service_cfg *svc, const ksiss_tier *const *est_tiers, const ksiss_cap_estimate *est,
                        size_t n_est, double ttft_slo_s, const ksiss_prompt_tally *t, ksiss_slow_tier *out, size_t max);

#endif
