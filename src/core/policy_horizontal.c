/* policy_horizontal.c: the `horizontal` baseline: replica count only, on
 * the current tier, reacting like Knative's KPA (stable and panic windows;
 * see policy_baselines.h). The window state lives in the decision history:
 * each tick's demand is recorded as the decision's required_capacity. */
#include "core/policy_baselines.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Mean of the demands recorded within `window_ms` before now, together
 * with the current one. */
static double window_mean(const ksiss_policy_input *in, double now_demand, int64_t window_ms)
{
    double sum = now_demand;
    int n = 1;
    const ksiss_history *h = in->history;
    if (h) {
        for (size_t i = 0; i < h->n; i++) {
            const ksiss_reco rv = ksiss_history_at(h, i), *r = &rv;
            if (r->at_ms > in->now_ms - window_ms && r->at_ms < in->now_ms && isfinite(r->capacity)) {
                sum += r->capacity;
                n++;
            }
        }
    }
    return sum / n;
}

/* True when a tick within the stable window had a panic-window demand of at
 * least twice `ready_cap` (the ready capacity now: in panic nothing scales
 * down, so it is at least what was ready then). */
static bool panic_seen(const ksiss_policy_input *in, double ready_cap)
{
    const ksiss_history *h = in->history;
    if (!h || !(ready_cap > 0))
        return false;
    for (size_t i = 0; i < h->n; i++) {
        const ksiss_reco rv = ksiss_history_at(h, i), *r = &rv;
        if (r->at_ms > in->now_ms - KSISS_KPA_STABLE_WINDOW_MS && r->at_ms < in->now_ms &&
            isfinite(r->capacity) && r->capacity >= KSISS_KPA_PANIC_THRESHOLD * ready_cap)
            return true;
    }
    return false;
}

static long long free_for(const ksiss_policy_input *in, const ksiss_tier *t)
{
    if (!in->free || in->n_free == 0)
        return 0;
    return ksiss_free_units(in, t);
}

int ksiss_policy_horizontal_decide(const ksiss_policy_input *in, ksiss_decision *out)
{
    if (!in || !out || !in->svc)
        return -1;
    memset(out, 0, sizeof(*out));
    const ksiss_service_cfg *svc = in->svc;
    const ksiss_tier *t = in->current.tier;
    int cur = in->current.replicas_ready + in->current.replicas_starting;
    out->action = KSISS_HOLD;
    out->tier = t;
    out->replicas = cur;
    out->pressure = NAN;
    out->worst_metric = -1;
    out->required_capacity = NAN;
    if (!t) {
        out->reason_code = "unknown_tier";
        out->reason = ksiss_xstrdup("current GPU tier unknown: holding");
        return 0;
    }
    if (in->current.transition_in_flight) {
        out->reason_code = "in_transition";
        out->reason = ksiss_xstrdup("a tier change is in flight: holding");
        return 0;
    }
    int min_r = svc->min_replicas > 1 ? svc->min_replicas : 1;
    int max_r = svc->max_replicas > min_r ? svc->max_replicas : min_r;
    ksiss_throughput_kind kind = svc->has_load ? svc->load.throughput : KSISS_THROUGHPUT_DECODE;
    double per = ksiss_tier_capacity(t, kind);
    if (!(per > 0)) {
        out->reason_code = "unknown_capacity";
        out->reason = ksiss_xasprintf("tier %s has no capacity estimate: holding", t->name);
        return 0;
    }

    /* Worst pressure over the metrics that have data. */
    double worst = NAN;
    for (size_t i = 0; i < svc->n_metrics; i++) {
        if (!in->obs || !in->obs[i].present)
            continue;
        double p = ksiss_metric_pressure(&svc->metrics[i], in->obs[i].value);
        if (isfinite(p) && (isnan(worst) || p > worst)) {
            worst = p;
            out->worst_metric = (int)i;
        }
    }
    out->pressure = worst;

    /* Demand in GPU equivalents of throughput: from the load signal, and
     * from the pressure (current capacity x worst pressure), whichever asks
     * for more. The served load saturates at the capacity, so load alone
     * would never see an overload; KPA's own signal, concurrency, counts
     * queued requests and sees it. */
    double demand = NAN;
    const char *signal = "load or pressure";
    if (svc->has_load && in->load.present && isfinite(in->load.value) && in->load.value >= 0 &&
        svc->load.per_gpu > 0) {
        double u = svc->load.target_utilization > 0 ? svc->load.target_utilization : 0.8;
        demand = in->load.value / svc->load.per_gpu / u;
        signal = "load";
    }
    if (isfinite(worst)) {
        double by_pressure = worst * per * (cur > 0 ? cur : 1);
        if (isnan(demand) || by_pressure > demand) {
            demand = by_pressure;
            signal = "pressure";
        }
    }
    if (isnan(demand)) {
        out->reason_code = "missing_data";
        out->reason = ksiss_xasprintf("no usable %s signal: holding", signal);
        return 0;
    }
    out->required_capacity = demand;

    double ready_cap = per * in->current.replicas_ready;
    double stable = window_mean(in, demand, KSISS_KPA_STABLE_WINDOW_MS);
    double panic = window_mean(in, demand, KSISS_KPA_PANIC_WINDOW_MS);
    int want_stable = (int)fmin(ceil(stable / per - 1e-9), 1e6);
    int want_panic = (int)fmin(ceil(panic / per - 1e-9), 1e6);
    bool panicking = (ready_cap > 0 && panic >= KSISS_KPA_PANIC_THRESHOLD * ready_cap) || panic_seen(in, ready_cap);

    int want;
    const char *mode;
    if (panicking) {
        mode = "panic";
        want = want_panic > cur ? want_panic : cur;
    } else {
        mode = "stable";
        want = want_stable;
        int floor_r = (int)ceil(cur / KSISS_KPA_MAX_SCALE_DOWN_RATE);
        if (want < floor_r)
            want = floor_r;
    }
    if (want < min_r)
        want = min_r;
    if (want > max_r)
        want = max_r;
    if (want > cur) {
        long long avail = free_for(in, t) / (t->count > 0 ? t->count : 1);
        if (avail < want - cur)
            want = cur + (int)avail;
    }
    out->replicas = want;
    if (want > cur) {
        out->action = KSISS_OUT;
        out->reason_code = panicking ? "kpa_panic_out" : "kpa_out";
    } else if (want < cur) {
        out->action = KSISS_IN;
        out->reason_code = "kpa_in";
    } else {
        out->reason_code = "kpa_hold";
    }
    out->reason = ksiss_xasprintf("%s mode: %s demand %.3g GPU-eq (stable %.3g, panic %.3g) over %s x %.3g: "
                                  "%d -> %d instance(s)",
                                  mode, signal, demand, stable, panic, t->name, per, cur, want);
    return 0;
}
