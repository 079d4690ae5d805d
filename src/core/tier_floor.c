/* tier_floor.c: the tiers too slow for the service's prompts (tier_floor.h,
 * docs/policy.md "Tiers too slow for the prompts"): a decayed tally of the
 * prompt-length histogram, the share of its requests above a length, and
 * the tiers whose idle prefill misses the TTFT SLO beyond the error
 * budget. */
#include "core/tier_floor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static bool bounds_ok(const double *le, size_t n)
{
    if (n < 2 || !isinf(le[n - 1]) || !(le[0] > 0))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!isfinite(le[i]) || !(le[i] > le[i - 1]))
            return false;
    return true;
}

void ksiss_prompt_tally_add(ksiss_prompt_tally *t, const double *le, const double *counts, size_t n, int64_t now_ms)
{
    if (!le || !counts || !bounds_ok(le, n))
        return;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(counts[i]) || counts[i] < 0)
            return;
    bool same = t->n == n;
    for (size_t i = 0; same && i < n; i++)
        same = t->le[i] == le[i];
    if (!same) {
        ksiss_prompt_tally_free(t);
        t->le = ksiss_xcalloc(n, sizeof(*t->le));
        t->count = ksiss_xcalloc(n, sizeof(*t->count));
        memcpy(t->le, le, n * sizeof(*le));
        t->n = n;
    } else if (now_ms > t->at_ms) {
        double f = exp2(-(double)(now_ms - t->at_ms) / (double)KSISS_PROMPT_TALLY_HALF_LIFE_MS);
        for (size_t i = 0; i < n; i++)
            t->count[i] *= f;
    }
    for (size_t i = 0; i < n; i++)
        t->count[i] += counts[i];
    t->at_ms = now_ms;
}

void ksiss_prompt_tally_free(ksiss_prompt_tally *t)
{
    free(t->le);
    free(t->count);
    memset(t, 0, sizeof(*t));
}

double ksiss_prompt_share_above(const ksiss_prompt_tally *t, double tokens, double *total)
{
    double sn = 0, above = 0;
    for (size_t i = 0; t && i < t->n; i++) {
        double c = t->count[i];
        if (!(c > 0))
            continue;
        double a, b;
        ksiss_learn_bucket_span(t->le, t->n, i, &a, &b);
        sn += c;
        if (tokens <= a)
            above += c;
        else if (tokens < b)
            above += c * log(b / tokens) / log(b / a);
    }
    *total = sn;
    return sn > 0 ? above / sn : NAN;
}

/* One instance of t in prompt tokens/s, or NAN when nothing is known. */
static double tier_capacity(const ksiss_service_cfg *svc, const ksiss_tier *const *est_tiers,
                            const ksiss_cap_estimate *est, size_t n_est, const ksiss_tier *t)
{
    if (est) {
        for (size_t i = 0; i < n_est; i++)
            if (est_tiers[i] == t)
                return est[i].capacity *
                       (1 + KSISS_LEARN_Z * (isfinite(est[i].rel_sd) && est[i].rel_sd > 0 ? est[i].rel_sd : 0));
        return NAN;
    }
    return t->prefill_rel > 0 ? svc->load.per_gpu * t->prefill_rel : NAN;
}

size_t ksiss_slow_tiers(const ksiss_service_cfg *svc, const ksiss_tier *const *est_tiers, const ksiss_cap_estimate *est,
                        size_t n_est, double ttft_slo_s, const ksiss_prompt_tally *t, ksiss_slow_tier *out, size_t max)
{
    if (!svc || !svc->has_load || svc->load.throughput != KSISS_THROUGHPUT_PREFILL || !(ttft_slo_s > 0) ||
        !isfinite(ttft_slo_s) || !t || t->n == 0)
        return 0;
    double target = svc->slo_target > 0 && svc->slo_target < 1 ? svc->slo_target : KSISS_DEFAULT_SLO_TARGET;
    double share[KSISS_LEARN_MAX_TIERS], best = INFINITY, n = 0;
    size_t m = svc->n_ladder < KSISS_LEARN_MAX_TIERS ? svc->n_ladder : KSISS_LEARN_MAX_TIERS;
    for (size_t i = 0; i < m; i++) {
        const ksiss_tier *tier = svc->ladder[i];
        share[i] = NAN;
        if (!tier || (svc->model_memory_gib > 0 && tier->mem_gib + 1e-9 < svc->model_memory_gib))
            continue;
        double cap = tier_capacity(svc, est_tiers, est, n_est, tier);
        if (!(cap > 0) || !isfinite(cap))
            continue;
        /* capacity = KSISS_LEARN_PREFILL_UTIL / theta: a prompt longer
         * than slo / theta tokens misses the SLO on an idle instance */
        share[i] = ksiss_prompt_share_above(t, ttft_slo_s * cap / KSISS_LEARN_PREFILL_UTIL, &n);
        if (share[i] < best)
            best = share[i];
    }
    if (!isfinite(best) || !(n > 0))
        return 0;
    double budget = (1 - target) * n;
    size_t k = 0;
    for (size_t i = 0; i < m && k < max; i++)
        if (isfinite(share[i]) && (share[i] - best) * n > budget + 2 * sqrt(budget))
            out[k++] = (ksiss_slow_tier){svc->ladder[i], share[i], best};
    return k;
}
