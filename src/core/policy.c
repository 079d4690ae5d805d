/* policy.c: the `ksiss` decision policy and the helpers every policy
 * shares (pressure, tier capacity, free units, decision history).
 *
 * How `ksiss` decides, in one paragraph (docs/policy.md has the long
 * form): each metric becomes a pressure (observed / SLO, or SLO / observed
 * for higher-is-better); the worst one is the service's pressure. The
 * capacity the service needs, in whole-GPU equivalents of throughput, comes
 * from the optional load signal (load / perGpu / targetUtilization, raised
 * by a load trend half a cold start ahead) and, when an SLO is breached,
 * from the capacity that served over the last minutes times the bounded
 * pressure (feedback correction), plus, under a load signal, once, the
 * capacity to drain the backlog. The load's need is corrected by what the
 * SLO taught: a breach at a capacity the load said was enough (peaks
 * shorter than the load's rate window, requests heavier than perGpu)
 * multiplies it, for 20 minutes, by that capacity over what the load
 * showed. Capacity still starting counts, so nothing
 * is added twice while pods load. Scale-down needs every metric present,
 * fresh and below its scaleDownFactor, and uses the highest need seen over
 * the stabilization window (as the HPA does; two windows for a tier change,
 * which cold-starts every instance). Under a load signal, ticks in a breach
 * feed neither the trend nor the stabilization with the served load (it is
 * not demand then). Among the allowed tiers and
 * replica counts that hold the model and fit the free GPUs, it picks the
 * cheapest that covers the need (more instances of the current tier first
 * under a breach; a tier change up also covers the trend a cold start
 * ahead); on a tie between tier changes, the smaller instances, otherwise
 * the one with fewer changes. Fewer instances of the same tier keep HPA's
 * 10% tolerance above the load need, a tier change down 15%. */
#include "core/policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy_baselines.h"
#include "core/policy_impl.h"
#include "core/util.h"

/* Feedback: an SLO breach of pressure p asks for the settled serving
 * capacity times clamp(p, MIN, MAX). Latency is not proportional to load,
 * so the factor is bounded on both sides; at most 4x in one step (a 1-minute
 * window that has seen 20 s of a burst under-states it; Knative's panic
 * mode may go further). */
#define FEEDBACK_FACTOR_MIN 1.25
#define FEEDBACK_FACTOR_MAX 4.0
/* A breach this many times the scale-up threshold ignores the up cooldown
 * (Knative's panic mode uses 2x). */
#define PANIC_MULTIPLE 2.0
/* A downward tier change costs a cold start and double occupancy: it must
 * save at least this share of the current cost to be worth it. */
#define TIER_CHANGE_MIN_SAVING 0.10
/* Windowed metrics (a p95 over a minute) keep reporting a backlog for the
 * window's length after it has drained, and draining takes a while itself:
 * feedback multiplies the least serving capacity seen over this long (a
 * 60 s window + a 15 s scrape + up to ~100 s of draining), so capacity that
 * just became ready is not multiplied by a pressure it did not cause. */
#define FEEDBACK_SETTLE_MS 180000
/* A scale-down keeps this much headroom above the need, so that the next
 * tick's load-based check does not scale straight back up (HPA keeps a 10%
 * tolerance for the same reason). */
#define DOWN_HEADROOM 1.15
/* Fewer instances of the same tier (scale-in) keep HPA's 10% tolerance
 * (kube-controller-manager --horizontal-pod-autoscaler-tolerance, 0.1 by
 * default; per direction since KEP-4951) above the load need instead of
 * DOWN_HEADROOM: an instance removed too
 * early is added back while the others keep serving (one cold start, no
 * double occupancy), whereas a tier change down rolls every instance.
 * On the Azure trace this lets 4g x2 step to 4g x1 at minute 38 rather
 * than wait for a tier change to 3g x2 (0.976 -> 0.929 GPU-hours with the
 * tie-break below); at 1.12 or more the step comes too late to matter. */
#define IN_HEADROOM 1.10
/* Moving to another tier costs a cold start of every instance and double
 * occupancy while it rolls: a candidate on another tier must be cheaper by
 * this share of the current cost to beat one on the current tier. */
#define TIER_CHANGE_PENALTY 0.10
/* Trend (AIBrix's predictive scaling, made conservative): a least-squares
 * line through the load readings of the last TREND_WINDOW_MS (and now),
 * once they span TREND_MIN_SPAN_MS, predicts the load TREND_HORIZON_MS
 * ahead. Half a cold start, not a whole one: a line through a ramp that is
 * levelling off overshoots, and the feedback still corrects what the trend
 * missed. The prediction only ever raises the load-based need. */
#define TREND_WINDOW_MS 120000
#define TREND_MIN_SPAN_MS 60000
#define TREND_HORIZON_MS 30000
/* A tier change up must also cover the load the line predicts over its
 * lead time: a cold start of every instance and then the rollout (the new
 * revision serves, the traffic moves, the old one goes: ksiss run's
 * steps, one per tick), while both tiers are held; a tier that the rising
 * load outgrows before the change is done only leads to a second one. As
 * far ahead as the line has seen behind (TREND_WINDOW_MS), no further.
 * Adding instances of the current tier keeps TREND_HORIZON_MS: what it
 * adds stays when more is added. Suite: 30 s: 46 of 65, 60 s (a cold start
 * alone): 47, 90 and 120 s: 49 (the Azure trace at a 30 s tick flipped
 * between 3g and 4g slices: 97.60% -> 98.04%), nothing lower; 180 s
 * (further than the line has seen): 47. */
#define TIER_UP_HORIZON_MS TREND_WINDOW_MS
/* Pressure-only step down (no load signal): every metric's pressure scaled
 * by the capacity lost (HPA's ratio rule) must stay below this share of its
 * scale-up threshold; latency grows faster than in proportion near
 * saturation, so the margin is wide. */
#define STEP_DOWN_PREDICTED_MAX 0.7
/* A downward tier change with a load signal must cover the highest need
 * over this many stabilization windows, not one: it cold-starts every
 * instance and holds both tiers while it rolls, so a dip that the load
 * climbs back out of within minutes costs more than it saves (Azure
 * trace: three round trips through a 4g slice that served 0-130 s, at two
 * cold starts of double occupancy each; 1.036 GPU-hours with one window,
 * 0.976 with two, 1.016 with three). Fewer instances of the same tier wait
 * one window only: removing an instance costs nothing. */
#define TIER_DOWN_WINDOW_MULT 2
/* Recurring breaches (the upper estimate's memory): no scale-in to a
 * capacity at or below one that breached the SLO in RECURRENCE_EPISODES
 * separate episodes (breach ticks more than RECURRENCE_GAP_MS apart) within
 * the last RECURRENCE_MEMORY_MS. A breach at serving capacity S says the
 * demand's upper estimate exceeds S; once it has happened twice, it is a
 * recurring peak that the next one will repeat within a cold start of any
 * scale-in (the Azure code trace: bursts of 30-130k prompt tokens in a few
 * seconds every 2-6 minutes, seen by a 1-minute load rate as 1-2 GPUs).
 * One breach alone is not a recurrence: a one-off burst or a step scales in
 * as before (the burst, step and flash shapes are unchanged by the rule).
 * Suite (docs/simulator.md): 20 min is the shortest memory that spans the
 * code trace's longest quiet stretches between bursts (15 min: 76.5%,
 * 20 min: 81.1%, at 1.63x and 1.87x the oracle's cost); one episode
 * instead of two holds the two 5-minute bursts' capacity for 20 minutes
 * (burst 0.87 -> 1.20 GPU-hours, dominated by `static`). The breach
 * correction (breach_correction) remembers an episode as long from its
 * start: with 10 minutes the suite loses three Mooncake cases (44 of 65
 * instead of 47), with 30 it gains nothing (47). */
#define RECURRENCE_MEMORY_MS 1200000
#define RECURRENCE_GAP_MS 120000
#define RECURRENCE_EPISODES 2
/* History sizing (ksiss_history_capacity): entries beyond the longest
 * window, for ticks that come a little early, and the least capacity. */
#define HISTORY_MARGIN 2
#define HISTORY_MIN 4
#define EPS 1e-9

/* ---- shared helpers ---- */

double ksiss_metric_pressure(const ksiss_metric_cfg *m, double value)
{
    if (!m || !isfinite(value) || !(m->slo > 0))
        return NAN;
    if (m->direction == KSISS_HIGHER_IS_BETTER) {
        /* Zero throughput means no traffic (or no data), not a breach. */
        if (value <= 0)
            return NAN;
        return m->slo / value;
    }
    if (value < 0)
        return NAN;
    return value / m->slo;
}

double ksiss_tier_capacity(const ksiss_tier *tier, ksiss_throughput_kind kind)
{
    if (!tier)
        return 0;
    return kind == KSISS_THROUGHPUT_PREFILL ? tier->prefill_rel : tier->decode_rel;
}

long long ksiss_free_units(const ksiss_policy_input *in, const ksiss_tier *tier)
{
    long long sum = 0;
    for (size_t i = 0; i < in->n_free; i++) {
        const ksiss_free_gpu *f = &in->free[i];
        if (!f->resource || strcmp(f->resource, tier->resource) != 0)
            continue;
        if (f->gpu_model && tier->gpu_model && strcmp(f->gpu_model, tier->gpu_model) != 0)
            continue;
        if (f->free_units > 0)
            sum += f->free_units;
    }
    return sum;
}

/* Entries one window of window_ms needs at a tick of interval_ms (both
 * > 0): ceil(window / interval) + 1, so that the first and the last span
 * the window; SIZE_MAX when that is more than the ring may hold. */
static size_t entries_for_window(int64_t window_ms, int64_t interval_ms)
{
    if (window_ms <= 0)
        return 0;
    int64_t ticks = window_ms / interval_ms + (window_ms % interval_ms != 0);
    return ticks >= KSISS_HISTORY_MAX ? SIZE_MAX : (size_t)ticks + 1;
}

size_t ksiss_history_capacity(const ksiss_service_cfg *svc, int64_t interval_ms)
{
    if (!svc || interval_ms <= 0)
        return KSISS_HISTORY_MAX;
    /* Every window a policy reads the history over. Leaving one out
     * silently changes decisions: keep this list in step with the readers
     * (stabilized, settled_serving_capacity, trend_load, recurring_breach here; window_mean
     * and panic_seen in policy_horizontal.c). */
    int64_t down = svc->stabilization_down_ms;
    int64_t tier_down = down > INT64_MAX / TIER_DOWN_WINDOW_MULT ? INT64_MAX : TIER_DOWN_WINDOW_MULT * down;
    const int64_t windows[] = {
        svc->stabilization_up_ms,   /* stabilized(), scale-up */
        down,                       /* stabilized(), scale-down */
        tier_down,                  /* stabilized(), tier change down */
        FEEDBACK_SETTLE_MS,         /* settled_serving_capacity() */
        TREND_WINDOW_MS,            /* trend_load() */
        RECURRENCE_MEMORY_MS,       /* recurring_breach() */
        RECURRENCE_MEMORY_MS + FEEDBACK_SETTLE_MS, /* breach_correction(): an episode and the capacity before it */
        KSISS_KPA_STABLE_WINDOW_MS, /* horizontal: window_mean(), panic_seen() */
        KSISS_KPA_PANIC_WINDOW_MS,  /* horizontal: window_mean() */
    };
    size_t need = 0;
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        size_t e = entries_for_window(windows[i], interval_ms);
        if (e > need)
            need = e;
    }
    if (need > KSISS_HISTORY_MAX - HISTORY_MARGIN)
        return KSISS_HISTORY_MAX;
    need += HISTORY_MARGIN;
    return need < HISTORY_MIN ? HISTORY_MIN : need;
}

void ksiss_history_init(ksiss_history *h)
{
    memset(h, 0, sizeof(*h));
    h->recos = NULL;
    h->last_up_ms = INT64_MIN;
    h->last_down_ms = INT64_MIN;
    h->missing_since_ms = INT64_MIN;
    h->backoff_until_ms = INT64_MIN;
}

void ksiss_history_reserve(ksiss_history *h, size_t cap)
{
    if (cap == 0 || cap > KSISS_HISTORY_MAX)
        cap = KSISS_HISTORY_MAX;
    if (cap == h->cap)
        return;
    ksiss_reco_slot *recos = ksiss_xcalloc(1, cap * (sizeof(*recos) + sizeof(uint32_t)) + (cap + 7) / 8);
    uint32_t *off = (uint32_t *)(recos + cap);
    unsigned char *bits = (unsigned char *)(off + cap);
    size_t keep = h->n < cap ? h->n : cap;
    for (size_t i = 0; i < keep; i++) {
        ksiss_reco r = ksiss_history_at(h, h->n - keep + i);
        recos[i] = (ksiss_reco_slot){r.capacity, r.load, r.serving_capacity};
        off[i] = (uint32_t)(r.at_ms - h->base_ms);  /* the kept entries keep the base */
        if (r.slo_breach)
            bits[i / 8] |= (unsigned char)(1u << (i % 8));
    }
    free(h->recos);
    h->recos = recos;
    h->cap = cap;
    h->n = keep;
    h->head = 0;
}

/* The ring's time offsets and breach bits, after its cap entries. */
static uint32_t *off_of(const ksiss_history *h)
{
    return (uint32_t *)(h->recos + h->cap);
}

static unsigned char *bits_of(const ksiss_history *h)
{
    return (unsigned char *)(off_of(h) + h->cap);
}

/* Makes at_ms representable: the base moves to the earliest of the
 * entries and at_ms. When they span 2^32 ms (~49 days: a clock step) or
 * more, the entries are dropped. */
static void history_rebase(ksiss_history *h, int64_t at_ms)
{
    uint32_t *off = off_of(h);
    if (h->n > 0 && at_ms >= h->base_ms && (uint64_t)at_ms - (uint64_t)h->base_ms <= UINT32_MAX)
        return;
    int64_t lo = at_ms, hi = at_ms;
    for (size_t i = 0; i < h->n; i++) {
        int64_t t = h->base_ms + off[(h->head + i) % h->cap];
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    if ((uint64_t)hi - (uint64_t)lo > UINT32_MAX) {
        h->n = 0;
        h->head = 0;
        lo = at_ms;
    }
    for (size_t i = 0; i < h->n; i++) {
        size_t k = (h->head + i) % h->cap;
        off[k] = (uint32_t)(h->base_ms + off[k] - lo);
    }
    h->base_ms = lo;
}

void ksiss_history_record(ksiss_history *h, const ksiss_decision *d, double load, int64_t now_ms)
{
    if (h->cap == 0)
        ksiss_history_reserve(h, KSISS_HISTORY_MAX);
    history_rebase(h, now_ms);
    size_t idx;
    if (h->n < h->cap) {
        idx = (h->head + h->n) % h->cap;
        h->n++;
    } else {
        idx = h->head;
        h->head = (h->head + 1) % h->cap;
    }
    /* A learned capacity moved what one instance of the current tier is
     * worth: the capacities recorded since it became the current tier
     * (what served, and what a breach left as its need; those recorded on
     * the tier before keep theirs) are put in the new units, so the breach
     * correction and the recurrence floor do not compare a capacity the
     * policy no longer believes with today's load (a 2x too high perGpu
     * left kappa ~1.8 for 20 minutes after the learner had corrected it). */
    if (d->unit_capacity > 0 && h->unit_capacity > 0 && d->unit_rank == h->unit_rank &&
        d->unit_capacity != h->unit_capacity) {
        double f = d->unit_capacity / h->unit_capacity;
        for (size_t i = 0; i < h->n; i++) {
            size_t k = (h->head + i) % h->cap;
            if (k == idx || h->base_ms + (int64_t)off_of(h)[k] < h->unit_since_ms)
                continue;   /* the slot being written, or recorded on the tier before */
            h->recos[k].serving_capacity *= f;
            if ((bits_of(h)[k / 8] >> (k % 8)) & 1)
                h->recos[k].capacity *= f;
        }
    }
    if (d->unit_capacity > 0) {
        if (d->unit_rank != h->unit_rank || !(h->unit_capacity > 0))
            h->unit_since_ms = now_ms;
        h->unit_capacity = d->unit_capacity;
        h->unit_rank = d->unit_rank;
    }
    h->recos[idx] = (ksiss_reco_slot){d->has_remembered_need ? d->remembered_need : d->required_capacity, load,
                                      d->serving_capacity};
    off_of(h)[idx] = (uint32_t)(now_ms - h->base_ms);
    unsigned char *bits = bits_of(h);
    if (d->slo_breach)
        bits[idx / 8] |= (unsigned char)(1u << (idx % 8));
    else
        bits[idx / 8] &= (unsigned char)~(1u << (idx % 8));
    if (d->action == KSISS_UP || d->action == KSISS_OUT)
        h->last_up_ms = now_ms;
    else if (d->action == KSISS_DOWN || d->action == KSISS_IN)
        h->last_down_ms = now_ms;
    if (d->reason_code && !strcmp(d->reason_code, "missing_data")) {
        if (h->missing_since_ms == INT64_MIN)
            h->missing_since_ms = now_ms;
    } else {
        h->missing_since_ms = INT64_MIN;
    }
}

void ksiss_history_free(ksiss_history *h)
{
    free(h->recos);
    free(h->backoff_tier);
    ksiss_history_init(h);
}

void ksiss_decision_clear(ksiss_decision *d)
{
    free(d->reason);
    memset(d, 0, sizeof(*d));
}

const char *ksiss_action_name(ksiss_action a)
{
    switch (a) {
    case KSISS_HOLD: return "hold";
    case KSISS_UP: return "up";
    case KSISS_DOWN: return "down";
    case KSISS_OUT: return "out";
    case KSISS_IN: return "in";
    }
    return "unknown";
}

/* ---- the ksiss policy ---- */

typedef struct {
    const ksiss_tier *tier;
    int replicas;
    double capacity;
    double cost;
    bool feasible;          /* fits the free GPUs */
    long long need_units;   /* new units of tier->resource it needs */
} candidate;

typedef struct {
    const ksiss_policy_input *in;
    const ksiss_service_cfg *svc;
    ksiss_throughput_kind kind;
    const ksiss_tier *cur_tier;
    int cur_replicas;       /* ready + starting */
    double cap_total;       /* capacity of ready + starting */
    double cap_ready;
    double cur_cost;
    bool same_tier_only;    /* scale-in: only fewer instances of the current tier (pick_down) */
} ctx;

/* One instance of t in GPU-equivalents: the catalogue's ratio, or with a
 * learned capacity (in->capacity) its figure over the view's unit. */
static double tier_cap(const ctx *c, const ksiss_tier *t)
{
    const ksiss_capacity_view *v = c->in->capacity;
    if (v && v->per_gpu > 0)
        for (size_t i = 0; i < v->n; i++)
            if (v->tiers[i] == t && v->per_instance[i] > 0)
                return v->per_instance[i] / v->per_gpu;
    return ksiss_tier_capacity(t, c->kind);
}

static void set_reason(ksiss_decision *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(ksiss_decision *out, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(out->reason);
    out->reason = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    out->reason_code = code;
}

static bool tier_backed_off(const ksiss_policy_input *in, const ksiss_tier *t)
{
    const ksiss_history *h = in->history;
    return h && h->backoff_tier && h->backoff_until_ms > in->now_ms && !strcmp(h->backoff_tier, t->name);
}

static bool tier_too_slow(const ksiss_policy_input *in, const ksiss_tier *t)
{
    for (size_t i = 0; in->too_slow && i < in->n_too_slow; i++)
        if (in->too_slow[i] == t)
            return true;
    return false;
}

static bool tier_holds_model(const ksiss_service_cfg *svc, const ksiss_tier *t)
{
    return !(svc->model_memory_gib > 0) || t->mem_gib + EPS >= svc->model_memory_gib;
}

/* New units of t->resource a move from the current deployment to (t, r)
 * needs at its peak. A tier change rolls one instance at a time, so a move
 * within the same resource (gpu -> gpu*2) needs one new instance's units
 * on top of what it holds; a move to another resource needs all of them. */
static long long units_needed(const ctx *c, const ksiss_tier *t, int r)
{
    if (t == c->cur_tier)
        return r > c->cur_replicas ? (long long)(r - c->cur_replicas) * t->count : 0;
    long long final_units = (long long)r * t->count;
    if (c->cur_tier && !strcmp(t->resource, c->cur_tier->resource) &&
        (!t->gpu_model || !c->cur_tier->gpu_model || !strcmp(t->gpu_model, c->cur_tier->gpu_model))) {
        long long held = (long long)c->cur_replicas * c->cur_tier->count;
        long long more = final_units - held;
        return more > t->count ? more : t->count;
    }
    return final_units;
}

static int min_replicas(const ksiss_service_cfg *svc)
{
    /* Scale to zero is left to Knative: an LLM cold start is minutes. */
    return svc->min_replicas > 1 ? svc->min_replicas : 1;
}

static int max_replicas(const ksiss_service_cfg *svc)
{
    int mx = svc->max_replicas > 0 ? svc->max_replicas : 1;
    return mx < min_replicas(svc) ? min_replicas(svc) : mx;
}

/* Enumerates (tier, replicas) over the ladder; calls back with each. */
static size_t enumerate(const ctx *c, candidate *cands, size_t max)
{
    size_t n = 0;
    const ksiss_service_cfg *svc = c->svc;
    for (size_t i = 0; i < svc->n_ladder; i++) {
        const ksiss_tier *t = svc->ladder[i];
        if (!t || !tier_holds_model(svc, t) || tier_backed_off(c->in, t) ||
            (t != c->cur_tier && tier_too_slow(c->in, t)))
            continue;
        for (int r = min_replicas(svc); r <= max_replicas(svc) && n < max; r++) {
            candidate *k = &cands[n++];
            k->tier = t;
            k->replicas = r;
            k->capacity = tier_cap(c, t) * r;
            k->cost = t->cost * r;
            k->need_units = units_needed(c, t, r);
            if (k->need_units == 0)
                k->feasible = true;
            else if (!c->in->free || c->in->n_free == 0)
                k->feasible = false;    /* availability unknown: take no new GPU */
            else
                k->feasible = ksiss_free_units(c->in, t) >= k->need_units;
        }
    }
    return n;
}

/* Fewer changes first: same tier, then the smaller replica change. */
static int change_size(const ctx *c, const candidate *k)
{
    int tier_change = k->tier == c->cur_tier ? 0 : 1000;
    return tier_change + abs(k->replicas - c->cur_replicas);
}

static double effective_cost(const ctx *c, const candidate *k)
{
    return k->cost + (k->tier != c->cur_tier ? TIER_CHANGE_PENALTY * c->cur_cost : 0);
}

static bool better(const ctx *c, const candidate *a, const candidate *b)
{
    if (!b)
        return true;
    double ea = effective_cost(c, a), eb = effective_cost(c, b);
    if (ea < eb - EPS)
        return true;
    if (ea > eb + EPS)
        return false;
    /* Two tier changes at the same cost: the smaller instances (3g x2
     * rather than 7g x1). The way back down from them is an instance
     * fewer (one window, no cold start) instead of another tier change
     * (two windows, every instance cold-started, both tiers held while it
     * rolls), and the way up an instance more; llm-d's variant autoscaler
     * and Melange likewise add and remove capacity at the granularity of
     * the cheapest variant. */
    if (a->tier != c->cur_tier && b->tier != c->cur_tier && a->tier != b->tier) {
        double pa = tier_cap(c, a->tier), pb = tier_cap(c, b->tier);
        if (fabs(pa - pb) > EPS)
            return pa < pb;
    }
    int ca = change_size(c, a), cb = change_size(c, b);
    if (ca != cb)
        return ca < cb;
    return a->capacity > b->capacity + EPS;
}

static bool is_current(const ctx *c, const candidate *k)
{
    return k->tier == c->cur_tier && k->replicas == c->cur_replicas;
}

static ksiss_action classify(const ctx *c, const candidate *k)
{
    if (k->tier == c->cur_tier) {
        if (k->replicas > c->cur_replicas)
            return KSISS_OUT;
        if (k->replicas < c->cur_replicas)
            return KSISS_IN;
        return KSISS_HOLD;
    }
    /* A tier change is up when it adds capacity in all (7g x1 -> 4g x2 is
     * up, 3g x2 -> 4g x1 down): the direction is what the cooldowns and
     * the reason mean. Equal totals: the larger instance, then the cost. */
    if (fabs(k->capacity - c->cap_total) > EPS)
        return k->capacity > c->cap_total ? KSISS_UP : KSISS_DOWN;
    double a = tier_cap(c, k->tier), b = tier_cap(c, c->cur_tier);
    if (fabs(a - b) > EPS)
        return a > b ? KSISS_UP : KSISS_DOWN;
    return k->cost > c->cur_cost ? KSISS_UP : KSISS_DOWN;
}

static void apply(ksiss_decision *out, const ctx *c, const candidate *k)
{
    out->action = classify(c, k);
    out->tier = k->tier;
    out->replicas = k->replicas;
}

/* Max (down) or min (up) of the needs recorded within `window_ms`,
 * together with `now_need`. *covered tells whether the history reaches
 * back over the whole window (or is as long as it can be: a full ring,
 * which ksiss_history_capacity sizes to reach back over every window, or
 * to KSISS_HISTORY_MAX entries when ticks are too short for that): after a
 * restart nothing scales down before a full window has been seen. */
static double stabilized(const ksiss_policy_input *in, double now_need, int64_t window_ms, bool take_max,
                         bool *covered)
{
    double v = now_need;
    const ksiss_history *h = in->history;
    *covered = window_ms <= 0;
    if (!h || window_ms <= 0)
        return v;
    if ((h->cap > 0 && h->n == h->cap) || (h->n > 0 && ksiss_history_at(h, 0).at_ms <= in->now_ms - window_ms))
        *covered = true;
    for (size_t i = 0; i < h->n; i++) {
        const ksiss_reco rv = ksiss_history_at(h, i), *r = &rv;
        if (r->at_ms < in->now_ms - window_ms || r->at_ms > in->now_ms || !isfinite(r->capacity))
            continue;
        v = take_max ? fmax(v, r->capacity) : fmin(v, r->capacity);
    }
    return v;
}

/* The least serving capacity over the last FEEDBACK_SETTLE_MS. With a
 * load signal, when the breach of this tick continues an episode (breach
 * ticks no more than RECURRENCE_GAP_MS apart), over FEEDBACK_SETTLE_MS
 * before the episode began too: the feedback multiplies the capacity that
 * breached once per episode. A breach that lasts after capacity was added
 * for it is the backlog the smaller deployment left (routed to its
 * instances, drained at their pace, reported by the latency window as
 * long as it lasts), not a sign that the new capacity is short: that one
 * shows in the load, whose need still sizes every tick. Without a load
 * signal the feedback is all there is, and a lasting breach asks again
 * after FEEDBACK_SETTLE_MS. */
static double settled_serving_capacity(const ksiss_policy_input *in, double now_serving)
{
    double v = now_serving;
    const ksiss_history *h = in->history;
    int64_t from = in->now_ms - FEEDBACK_SETTLE_MS;
    int64_t start = in->now_ms;
    for (size_t i = h && in->svc->has_load ? h->n : 0; i-- > 0;) {
        ksiss_reco r = ksiss_history_at(h, i);
        if (r.at_ms > in->now_ms)
            continue;
        if (start - r.at_ms > RECURRENCE_GAP_MS)
            break;
        if (r.slo_breach)
            start = r.at_ms;
    }
    if (start - FEEDBACK_SETTLE_MS < from)
        from = start - FEEDBACK_SETTLE_MS;
    for (size_t i = 0; h && i < h->n; i++) {
        const ksiss_reco rv = ksiss_history_at(h, i), *r = &rv;
        if (r->at_ms >= from && r->at_ms <= in->now_ms && r->serving_capacity > 0)
            v = fmin(v, r->serving_capacity);
    }
    return v;
}

typedef struct {
    int n_present;
    int n_missing;
    int first_missing;          /* index, -1 */
    const char *first_missing_why;
    bool all_below_down;        /* every metric present and below its scaleDownFactor */
    bool breach;                /* worst metric above its scaleUpFactor */
    double worst_p;
    int worst;
    double up_ratio;            /* largest pressure / scaleUpFactor among present metrics (0: none) */
} metric_view;

static metric_view view_metrics(const ksiss_policy_input *in)
{
    const ksiss_service_cfg *svc = in->svc;
    metric_view v = {0, 0, -1, NULL, true, false, NAN, -1, 0};
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        const ksiss_observation *o = in->obs ? &in->obs[i] : NULL;
        double p = NAN;
        const char *why = NULL;
        if (!o || !o->present)
            why = o && o->why_missing ? o->why_missing : "no value";
        else if (svc->stale_after_ms > 0 && in->now_ms - o->observed_at_ms > svc->stale_after_ms)
            why = "stale";
        else if (isnan(p = ksiss_metric_pressure(m, o->value)))
            why = m->direction == KSISS_HIGHER_IS_BETTER ? "no throughput (zero or negative)" : "not a usable number";
        if (why) {
            v.n_missing++;
            v.all_below_down = false;
            if (v.first_missing < 0) {
                v.first_missing = (int)i;
                v.first_missing_why = why;
            }
            continue;
        }
        v.n_present++;
        if (!(p < m->scale_down_factor))
            v.all_below_down = false;
        if (m->scale_up_factor > 0)
            v.up_ratio = fmax(v.up_ratio, p / m->scale_up_factor);
        if (v.worst < 0 || p / m->scale_up_factor > v.worst_p / svc->metrics[v.worst].scale_up_factor) {
            v.worst = (int)i;
            v.worst_p = p;
        }
    }
    if (v.worst >= 0)
        v.breach = v.worst_p > svc->metrics[v.worst].scale_up_factor;
    if (svc->n_metrics == 0)
        v.all_below_down = false;
    return v;
}

/* The load predicted horizon_ms ahead by a line fitted to the recorded
 * loads of the last TREND_WINDOW_MS and `load_now`; `load_now` itself when
 * the line falls or there is too little history. */
static double trend_load(const ksiss_policy_input *in, double load_now, int64_t horizon_ms)
{
    const ksiss_history *h = in->history;
    if (!h || !isfinite(load_now))
        return load_now;
    /* Times relative to now, in seconds, keep the sums well conditioned. */
    double n = 1, sx = 0, sy = load_now, sxx = 0, sxy = 0, oldest = 0;
    for (size_t i = 0; i < h->n; i++) {
        const ksiss_reco rv = ksiss_history_at(h, i), *r = &rv;
        if (r->at_ms < in->now_ms - TREND_WINDOW_MS || r->at_ms >= in->now_ms || !isfinite(r->load) || r->load < 0 ||
            r->slo_breach)
            continue;
        double x = (double)(r->at_ms - in->now_ms) / 1000.0;
        n += 1;
        sx += x;
        sy += r->load;
        sxx += x * x;
        sxy += x * r->load;
        oldest = fmin(oldest, x);
    }
    double den = n * sxx - sx * sx;
    if (-oldest * 1000.0 < TREND_MIN_SPAN_MS || !(den > EPS))
        return load_now;
    double slope = (n * sxy - sx * sy) / den;
    if (!(slope > 0))
        return load_now;
    double at_now = (sy - slope * sx) / n;
    double predicted = at_now + slope * (double)horizon_ms / 1000.0;
    return isfinite(predicted) ? fmax(load_now, predicted) : load_now;
}

/* The load-based need (GPU equivalents) of a load reading. */
/* Load per GPU-equivalent: perGpu, or a learned capacity's unit. */
static double load_unit(const ksiss_policy_input *in)
{
    return in->capacity ? in->capacity->per_gpu : in->svc->load.per_gpu;
}

static double need_of_load(const ksiss_policy_input *in, double load)
{
    const ksiss_service_cfg *svc = in->svc;
    double util = svc->load.target_utilization > 0 ? svc->load.target_utilization : KSISS_DEFAULT_TARGET_UTILIZATION;
    return load / load_unit(in) / util;
}

/* The breach correction (the load's own uncertainty, learned from the SLO;
 * Dynamo's planner corrects its profile the same way): the factor by which
 * the load reading under-states the capacity the traffic needs. An episode
 * of breaches (ticks no more than RECURRENCE_GAP_MS apart) at capacity S
 * (the least that served over FEEDBACK_SETTLE_MS before its first breach,
 * so capacity added for it is not blamed) whose load showed at most a need
 * N < S (the highest from its start until FEEDBACK_SETTLE_MS after its
 * last breach: the load's rate window lags the latency's as much) says
 * that S did not cover what a load of N asks: the peaks are shorter than
 * the load's rate window (the Azure code trace's sub-minute bursts) or the
 * requests heavier than perGpu assumes (Mooncake's 13k-token prompts). The
 * load need is then multiplied by S / N, the largest over the episodes
 * begun within RECURRENCE_MEMORY_MS: it sizes scale-up, the trend and
 * scale-in alike. A breach the load showed (N >= S: a rise) corrects
 * nothing: the load need already sized for it. 1 when none. *pending: the
 * largest capacity of an episode not judged yet (its load has not had
 * FEEDBACK_SETTLE_MS since), into which nothing scales in meanwhile. */
static double breach_correction(const ksiss_policy_input *in, double *pending)
{
    const ksiss_history *h = in->history;
    const ksiss_service_cfg *svc = in->svc;
    double kappa = 1;
    if (pending)
        *pending = 0;
    if (!h || !svc->has_load || !(load_unit(in) > 0))
        return 1;
    size_t i = 0;
    while (i < h->n) {
        ksiss_reco r = ksiss_history_at(h, i);
        if (r.at_ms > in->now_ms || !r.slo_breach || !(r.serving_capacity > 0)) {
            i++;
            continue;
        }
        /* An episode: breach ticks no more than RECURRENCE_GAP_MS apart,
         * from r. Its capacity: the least that served over
         * FEEDBACK_SETTLE_MS before its first breach (what came later was
         * added for it). */
        double cap = r.serving_capacity;
        for (size_t j = i; j-- > 0;) {
            ksiss_reco q = ksiss_history_at(h, j);
            if (q.at_ms < r.at_ms - FEEDBACK_SETTLE_MS)
                break;
            if (q.serving_capacity > 0)
                cap = fmin(cap, q.serving_capacity);
        }
        int64_t end = r.at_ms;
        size_t k = i + 1;
        for (; k < h->n; k++) {
            ksiss_reco q = ksiss_history_at(h, k);
            if (q.at_ms > in->now_ms || q.at_ms - end > RECURRENCE_GAP_MS)
                break;
            if (q.slo_breach)
                end = q.at_ms;
        }
        /* Remembered for RECURRENCE_MEMORY_MS from its start; judged once
         * the load has had FEEDBACK_SETTLE_MS after its end to show it
         * (the load's rate window lags the latency's as much): the highest
         * need read from its start until then. */
        if (r.at_ms >= in->now_ms - RECURRENCE_MEMORY_MS && end + FEEDBACK_SETTLE_MS <= in->now_ms) {
            double shown = 0;
            for (size_t j = i; j < h->n; j++) {
                ksiss_reco q = ksiss_history_at(h, j);
                if (q.at_ms > end + FEEDBACK_SETTLE_MS)
                    break;
                if (isfinite(q.load) && q.load >= 0)
                    shown = fmax(shown, need_of_load(in, q.load));
            }
            if (shown > EPS && shown < cap - EPS)
                kappa = fmax(kappa, cap / shown);
        } else if (end + FEEDBACK_SETTLE_MS > in->now_ms && pending) {
            /* Not judged yet: until the load has had its time to show it,
             * the capacity that breached is not known to have been enough
             * (no scale-in to it). */
            *pending = fmax(*pending, cap);
        }
        i = k;
    }
    return kappa;
}

/* Load-based need in GPU equivalents, or NAN when no usable load; with
 * the trend horizon_ms ahead when horizon_ms > 0. */
static double load_need(const ksiss_policy_input *in, double *load_out, int64_t horizon_ms)
{
    double kappa = breach_correction(in, NULL);
    const ksiss_service_cfg *svc = in->svc;
    *load_out = NAN;
    if (!svc->has_load || !in->load.present || !isfinite(in->load.value) || in->load.value < 0)
        return NAN;
    if (svc->stale_after_ms > 0 && in->now_ms - in->load.observed_at_ms > svc->stale_after_ms)
        return NAN;
    double per_gpu = load_unit(in);
    if (!(per_gpu > 0))
        return NAN;
    double util = svc->load.target_utilization > 0 ? svc->load.target_utilization : KSISS_DEFAULT_TARGET_UTILIZATION;
    *load_out = in->load.value;
    return kappa * (horizon_ms > 0 ? trend_load(in, in->load.value, horizon_ms) : in->load.value) / per_gpu / util;
}

static const char *metric_name(const ksiss_service_cfg *svc, int i)
{
    return i >= 0 && (size_t)i < svc->n_metrics ? svc->metrics[i].name : "?";
}

/* Candidate selection for more capacity: the cheapest that covers need
 * (a candidate on another tier also need_tier, unless NAN). Returns the
 * chosen candidate or NULL; *blocked names the cheapest covering
 * candidate that did not fit. */
static const candidate *pick_up(const ctx *c, const candidate *cands, size_t n, double need, double need_tier,
                                bool same_tier_first, const candidate **blocked)
{
    const candidate *best = NULL, *largest = NULL;
    *blocked = NULL;
    if (same_tier_first) {
        /* Under a breach: more instances of the current tier add capacity
         * on top of what serves; a tier change only replaces it, one cold
         * start later, and re-cold-starts every instance. */
        const candidate *most = NULL;
        for (size_t i = 0; i < n; i++) {
            const candidate *k = &cands[i];
            if (k->tier != c->cur_tier || !k->feasible || k->capacity <= c->cap_total + EPS)
                continue;
            if (k->capacity + EPS >= need && better(c, k, best))
                best = k;
            if (!most || k->capacity > most->capacity + EPS)
                most = k;
        }
        /* The feedback's need is a bounded guess: when the current tier
         * cannot cover it, its largest count still relieves the breach
         * sooner than a tier change would; the next tick corrects. */
        if (best || most)
            return best ? best : most;
    }
    for (size_t i = 0; i < n; i++) {
        const candidate *k = &cands[i];
        if (k->capacity <= c->cap_total + EPS)
            continue;   /* not more capacity */
        /* another tier must also cover need_tier (when given) */
        double nk = k->tier != c->cur_tier && isfinite(need_tier) ? fmax(need, need_tier) : need;
        if (!k->feasible) {
            if (k->capacity + EPS >= nk && better(c, k, *blocked))
                *blocked = k;
            continue;
        }
        if (k->capacity + EPS >= nk && better(c, k, best))
            best = k;
        if (!largest || k->capacity > largest->capacity + EPS ||
            (fabs(k->capacity - largest->capacity) <= EPS && better(c, k, largest)))
            largest = k;
    }
    return best ? best : largest;
}

/* Candidate selection for less cost: the cheapest feasible deployment that
 * still covers `need` (NAN: one step down, see below); a tier change must
 * also cover `need_tier` (the longer window's need) and save
 * TIER_CHANGE_MIN_SAVING. */
/* need and need_tier carry DOWN_HEADROOM; a candidate on the current tier
 * (fewer instances) must cover need x in_scale (IN_HEADROOM / DOWN_HEADROOM
 * with a load signal, 1 without), or, when the need made no more than one
 * excursion above what it covers within RECURRENCE_MEMORY_MS
 * (need_excursions), need_upper x in_scale: the need now raised by its
 * recent spread (NAN: not used). */
/* True when the SLO was breached while no more than `cap` served, in
 * RECURRENCE_EPISODES separate episodes within RECURRENCE_MEMORY_MS: the
 * upper estimate of the demand does not fit in `cap`. */
static bool recurring_breach(const ksiss_policy_input *in, double cap)
{
    const ksiss_history *h = in->history;
    int episodes = 0;
    int64_t last = INT64_MIN;
    for (size_t i = 0; h && i < h->n; i++) {
        ksiss_reco r = ksiss_history_at(h, i);
        if (r.at_ms < in->now_ms - RECURRENCE_MEMORY_MS || r.at_ms > in->now_ms || !r.slo_breach ||
            !(r.serving_capacity > 0) || cap > r.serving_capacity + EPS)
            continue;
        if (last == INT64_MIN || r.at_ms - last > RECURRENCE_GAP_MS)
            episodes++;
        last = r.at_ms;
    }
    return episodes >= RECURRENCE_EPISODES;
}

/* How many separate excursions the recorded need (and now's, `now_need`)
 * made above `cap` within RECURRENCE_MEMORY_MS: the need's own recurrence,
 * as recurring_breach counts the SLO's. One excursion that has ended (a
 * burst, a flash crowd, a step down) is not a recurrence; two are peaks
 * between troughs, which the stabilization window is there for. */
static int need_excursions(const ksiss_policy_input *in, double cap, double now_need)
{
    const ksiss_history *h = in->history;
    if (!h || h->n == 0 || ksiss_history_at(h, 0).at_ms > in->now_ms - RECURRENCE_MEMORY_MS)
        return RECURRENCE_EPISODES;   /* the memory not seen in full (or a ring too short for it, at ticks
                                         under ~5 s): no evidence that the need does not come back */
    int n = 0;
    bool above = false;
    for (size_t i = 0; i < h->n; i++) {
        ksiss_reco r = ksiss_history_at(h, i);
        if (r.at_ms < in->now_ms - RECURRENCE_MEMORY_MS || r.at_ms > in->now_ms || !isfinite(r.capacity))
            continue;
        bool up = r.capacity > cap + EPS;
        n += up && !above;
        above = up;
    }
    return n + (now_need > cap + EPS && !above);
}

/* The standard normal quantile at p in (0.5, 1) (Abramowitz and Stegun
 * 26.2.23, within 4.5e-4): how many standard deviations above the mean a
 * share p of a normal load stays below. */
static double normal_upper_quantile(double p)
{
    if (!(p > 0.5) || !(p < 1))
        p = KSISS_DEFAULT_SLO_TARGET;
    double t = sqrt(-2.0 * log(1.0 - p));
    return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}

/* The spread of the recorded need (outside breaches) around its
 * least-squares line over TREND_WINDOW_MS, with now's: the standard
 * deviation of the residuals; INFINITY with fewer than three readings or
 * when they do not span TREND_MIN_SPAN_MS. */
static double need_spread(const ksiss_policy_input *in, double now_need)
{
    const ksiss_history *h = in->history;
    double n = 1, sx = 0, sy = now_need, sxx = 0, sxy = 0, syy = now_need * now_need, oldest = 0;
    for (size_t i = 0; h && i < h->n; i++) {
        ksiss_reco r = ksiss_history_at(h, i);
        if (r.at_ms < in->now_ms - TREND_WINDOW_MS || r.at_ms >= in->now_ms || !isfinite(r.capacity) || r.slo_breach)
            continue;
        double x = (double)(r.at_ms - in->now_ms) / 1000.0;
        n += 1;
        sx += x;
        sy += r.capacity;
        sxx += x * x;
        sxy += x * r.capacity;
        syy += r.capacity * r.capacity;
        oldest = fmin(oldest, x);
    }
    double den = n * sxx - sx * sx;
    if (n < 3 || -oldest * 1000.0 < TREND_MIN_SPAN_MS || !(den > EPS))
        return INFINITY;
    double slope = (n * sxy - sx * sy) / den;
    double icpt = (sy - slope * sx) / n;
    /* residual sum of squares: syy - icpt*sy - slope*sxy */
    double rss = syy - icpt * sy - slope * sxy;
    return sqrt(fmax(rss, 0.0) / (n - 2));
}

static const candidate *pick_down(const ctx *c, const candidate *cands, size_t n, double need, double need_tier,
                                  double in_scale, double need_upper)
{
    const candidate *best = NULL;
    double pending;
    breach_correction(c->in, &pending);
    for (size_t i = 0; i < n; i++) {
        const candidate *k = &cands[i];
        if (!k->feasible || is_current(c, k) || k->cost >= c->cur_cost - EPS)
            continue;
        if (c->same_tier_only && k->tier != c->cur_tier)
            continue;
        if (recurring_breach(c->in, k->capacity))
            continue;   /* a recurring peak did not fit in it */
        if (k->capacity <= pending + EPS)
            continue;   /* it breached, and the load has not yet shown why */
        if (k->tier != c->cur_tier && k->cost > c->cur_cost * (1.0 - TIER_CHANGE_MIN_SAVING) + EPS)
            continue;
        if (isnan(need)) {
            /* One step: the most capacity among the cheaper deployments,
             * at the lowest cost (a 4g and a 3g slice decode alike: go
             * straight to the 3g), then the fewest changes. */
            if (!best || k->capacity > best->capacity + EPS ||
                (fabs(k->capacity - best->capacity) <= EPS && better(c, k, best)))
                best = k;
        } else if ((k->capacity + EPS >= (k->tier != c->cur_tier ? fmax(need, need_tier) : need * in_scale) ||
                    (k->tier == c->cur_tier && !isnan(need_upper) && k->capacity + EPS >= need_upper * in_scale &&
                     need_excursions(c->in, k->capacity / in_scale, need_upper) < RECURRENCE_EPISODES)) &&
                   better(c, k, best)) {
            best = k;
        }
    }
    return best;
}

/* Within `cooldown.down` after a scale-down only fewer instances of the
 * current tier may go (c->same_tier_only); true when none does but a tier
 * change down would, so the hold can say it waits for the cooldown. */
static bool only_a_tier_change_would_do(const ctx *c, const candidate *cands, size_t n, double want,
                                        double want_tier, double need_up)
{
    ctx any = *c;
    any.same_tier_only = false;
    return pick_down(&any, cands, n, want, want_tier, IN_HEADROOM / DOWN_HEADROOM, need_up) != NULL;
}

int ksiss_policy_ksiss_decide(const ksiss_policy_input *in, ksiss_decision *out)
{
    memset(out, 0, sizeof(*out));
    const ksiss_service_cfg *svc = in->svc;
    out->action = KSISS_HOLD;
    out->tier = in->current.tier;
    out->replicas = in->current.replicas_ready + in->current.replicas_starting;
    out->pressure = NAN;
    out->worst_metric = -1;
    out->required_capacity = NAN;

    if (!in->current.tier) {
        set_reason(out, "unknown_tier", "current GPU tier unknown: holding");
        return 0;
    }
    ctx c = {
        .in = in,
        .svc = svc,
        .kind = svc->has_load ? svc->load.throughput : KSISS_THROUGHPUT_DECODE,
        .cur_tier = in->current.tier,
        .cur_replicas = out->replicas,
    };
    double per = tier_cap(&c, c.cur_tier);
    out->unit_capacity = per;
    out->unit_rank = c.cur_tier->rank;
    c.cap_total = per * c.cur_replicas;
    c.cap_ready = per * in->current.replicas_ready;
    c.cur_cost = c.cur_tier->cost * c.cur_replicas;
    out->required_capacity = c.cap_total;
    out->serving_capacity = c.cap_ready;

    metric_view mv = view_metrics(in);
    out->slo_breach = mv.breach;
    out->pressure = mv.worst_p;
    out->worst_metric = mv.worst;
    double load;
    /* The trend raises the proactive and the scale-down need; under a
     * breach the load reading is still climbing towards a step it has
     * only partly seen, and the feedback already sizes for it. */
    double need_load = load_need(in, &load, mv.breach ? 0 : TREND_HORIZON_MS);
    /* What a tier change up must cover (TIER_UP_HORIZON_MS); NAN under a
     * breach, where the feedback sizes the step. */
    double need_tier_up = mv.breach ? NAN : load_need(in, &load, TIER_UP_HORIZON_MS);
    /* With a load signal, the need remembered for stabilization is the
     * load's (with the scale-down headroom), also on ticks that hold: the
     * current capacity is not a need, and recording it would keep every
     * scale-down waiting a whole window after any hold. */
    if (!isnan(need_load))
        out->required_capacity = fmin(need_load * DOWN_HEADROOM, c.cap_total);

    if (in->current.transition_in_flight) {
        set_reason(out, "in_transition", "a tier change is in flight: holding until it completes");
        return 0;
    }

    size_t max_cands = 0;
    for (size_t i = 0; i < svc->n_ladder; i++)
        max_cands += (size_t)(max_replicas(svc) - min_replicas(svc) + 1);
    candidate *cands = ksiss_xcalloc(max_cands ? max_cands : 1, sizeof(*cands));
    size_t n = enumerate(&c, cands, max_cands);
    const candidate *blocked = NULL;
    const candidate *pick = NULL;

    /* Replica bounds come first: they need no metric. */
    if (c.cur_replicas < min_replicas(svc) || c.cur_replicas > max_replicas(svc)) {
        int target = c.cur_replicas < min_replicas(svc) ? min_replicas(svc) : max_replicas(svc);
        for (size_t i = 0; i < n; i++)
            if (cands[i].tier == c.cur_tier && cands[i].replicas == target)
                pick = &cands[i];
        if (pick && pick->feasible) {
            apply(out, &c, pick);
            set_reason(out, "replica_bounds", "%d instance(s) outside minReplicas %d / maxReplicas %d: %s to %d",
                       c.cur_replicas, svc->min_replicas, svc->max_replicas, ksiss_action_name(out->action), target);
        } else {
            set_reason(out, "no_free_gpu", "%d instance(s) below minReplicas %d but no free %s for more",
                       c.cur_replicas, svc->min_replicas, c.cur_tier->name);
        }
        goto done;
    }

    if (mv.n_present == 0 && isnan(need_load)) {
        if (svc->n_metrics == 0 && !svc->has_load)
            set_reason(out, "missing_data", "no metric configured: holding");
        else
            set_reason(out, "missing_data", "no usable data (%s: %s): holding, never scaling down on missing data",
                       svc->n_metrics ? metric_name(svc, mv.first_missing) : "load",
                       svc->n_metrics ? mv.first_missing_why : "no value");
        goto done;
    }

    /* What the service needs now (GPU equivalents of throughput). */
    double need = NAN;
    const char *why_code = NULL;
    double settled = NAN;
    if (mv.breach) {
        double f = fmin(fmax(mv.worst_p, FEEDBACK_FACTOR_MIN), FEEDBACK_FACTOR_MAX);
        settled = settled_serving_capacity(in, c.cap_ready);
        need = settled * f;
        why_code = "slo_breach";
        if (!isnan(need_load)) {
            /* A breach under a measured load means a backlog: ask for the
             * load's capacity times the same bounded factor so it drains,
             * but only once: not while capacity added for it is starting
             * or has just become ready. */
            bool grew = in->current.replicas_starting > 0 || c.cap_ready > settled + EPS;
            need = fmax(need, grew ? need_load : need_load * f);
        }
    } else if (!isnan(need_load) && need_load > c.cap_total + EPS) {
        need = need_load;
        why_code = "load_increase";
    }

    if (why_code) {
        out->required_capacity = need;
        if (mv.breach && !isnan(need_load)) {
            /* What scale-down stabilization remembers of a breach under a
             * load signal: that the capacity which breached was not
             * enough (+25%), not the feedback's bounded guess (up to 4x,
             * sized to drain a backlog quickly) nor the load reading (the
             * served load: capped by capacity, then inflated while the
             * backlog drains; neither is demand). Without this, a burst's
             * extra instances stayed 3 minutes after the backlog drained. */
            out->has_remembered_need = true;
            out->remembered_need = fmin(settled * FEEDBACK_FACTOR_MIN, c.cap_total);
        }
        bool up_covered;
        double want = stabilized(in, need, svc->stabilization_up_ms, false, &up_covered);
        (void)up_covered; /* scale-up never waits for history */
        const ksiss_metric_cfg *wm = mv.worst >= 0 ? &svc->metrics[mv.worst] : NULL;
        char *what = !strcmp(why_code, "slo_breach") && wm
                         ? ksiss_xasprintf("%s = %.4g is %.2fx its SLO %.4g (scale-up above %.2fx)", wm->name,
                                           in->obs[mv.worst].value, mv.worst_p, wm->slo, wm->scale_up_factor)
                         : ksiss_xasprintf("load %.4g needs %.2f GPU at %.0f%% utilization", load, need_load,
                                           100.0 * (svc->load.target_utilization > 0 ? svc->load.target_utilization
                                                                                     : KSISS_DEFAULT_TARGET_UTILIZATION));
        if (c.cap_total + EPS >= want) {
            set_reason(out, "capacity_starting", "%s; capacity %.2f GPU incl. %d starting instance(s) covers need %.2f: holding",
                       what, c.cap_total, in->current.replicas_starting, want);
        } else if (in->history && in->history->last_up_ms != INT64_MIN &&
                   in->now_ms - in->history->last_up_ms < svc->cooldown_up_ms &&
                   !(mv.breach && mv.worst_p > PANIC_MULTIPLE * wm->scale_up_factor)) {
            set_reason(out, "cooldown", "%s; last scale-up %llds ago, up cooldown %llds: holding", what,
                       (long long)((in->now_ms - in->history->last_up_ms) / 1000), (long long)(svc->cooldown_up_ms / 1000));
        } else if ((pick = pick_up(&c, cands, n, want, need_tier_up, mv.breach, &blocked)) != NULL) {
            apply(out, &c, pick);
            bool full = pick->capacity + EPS >= want;
            set_reason(out, why_code, "%s; capacity %.2f GPU, need %.2f: %s %s x%d (capacity %.2f, cost %.3f)%s%s%s",
                       what, c.cap_total, want, ksiss_action_name(out->action), pick->tier->name, pick->replicas,
                       pick->capacity, pick->cost,
                       full ? "" : (mv.breach && pick->tier == c.cur_tier) ? ", the most of the current tier (a tier change would cold-start every instance)" : ", the largest that fits",
                       (!full && blocked) ? "; " : "", (!full && blocked) ? "a larger one has no free GPU" : "");
        } else if (blocked) {
            set_reason(out, "no_free_gpu", "%s; need %.2f GPU: %s x%d would cover it but needs %lld more %s and %lld are free: holding",
                       what, want, blocked->tier->name, blocked->replicas, blocked->need_units,
                       blocked->tier->resource, ksiss_free_units(in, blocked->tier));
        } else if (mv.breach) {
            /* The SLO is breached at the largest deployment the service
             * may use: say so (the controller raises a Warning Event)
             * instead of holding silently at the maximum. */
            set_reason(out, "slo_unattainable", "%s at the largest allowed deployment, %s x%d (capacity %.2f GPU, "
                       "maxReplicas %d, last allowed tier %s): the SLO cannot be met; holding (widen tiers or "
                       "maxReplicas, or relax the SLO)", what, c.cur_tier->name, c.cur_replicas, c.cap_total,
                       max_replicas(svc), svc->ladder[svc->n_ladder - 1]->name);
        } else {
            set_reason(out, "at_max", "%s; need %.2f GPU but no allowed tier and replica count (max %d) gives more than %.2f: holding",
                       what, want, max_replicas(svc), c.cap_total);
        }
        free(what);
        goto done;
    }

    if (mv.all_below_down && mv.n_missing == 0) {
        /* Comfortably below every SLO: less capacity, after stabilization. */
        double need_now = isnan(need_load) ? NAN : need_load * DOWN_HEADROOM;
        const candidate *step = NULL;
        if (isnan(need_now)) {
            step = pick_down(&c, cands, n, NAN, NAN, 1.0, NAN);
            if (!step) {
                const ksiss_metric_cfg *bm = &svc->metrics[mv.worst];
                set_reason(out, "at_min", "every metric below its scale-down threshold (worst %s = %.4g, %.2fx its SLO %.4g); "
                           "no cheaper allowed deployment: holding", bm->name, in->obs[mv.worst].value, mv.worst_p, bm->slo);
                goto done;
            }
            /* Without a load signal, a step down must not lead straight
             * into a breach: scaling every metric's pressure by the lost
             * capacity (HPA's ratio rule) must leave it below
             * STEP_DOWN_PREDICTED_MAX of its scale-up threshold (latency
             * grows faster than in proportion near saturation). */
            double after = mv.up_ratio * c.cap_total / fmax(step->capacity, EPS);
            if (!(after < STEP_DOWN_PREDICTED_MAX)) {
                const ksiss_metric_cfg *bm = &svc->metrics[mv.worst];
                out->required_capacity = c.cap_total;
                set_reason(out, "within_slo", "every metric below its scale-down threshold (worst %s = %.4g, %.2fx its SLO %.4g), "
                           "but %s x%d (capacity %.2f of %.2f) would put it at %.2fx its scale-up threshold: holding",
                           bm->name, in->obs[mv.worst].value, mv.worst_p, bm->slo, step->tier->name, step->replicas,
                           step->capacity, c.cap_total, after);
                goto done;
            }
            need_now = step->capacity;
        }
        if (need_now > c.cap_total)
            need_now = c.cap_total;
        out->required_capacity = need_now;
        bool covered;
        double want = stabilized(in, need_now, svc->stabilization_down_ms, true, &covered);
        /* A tier change down must also cover the highest need over
         * TIER_DOWN_WINDOW_MULT windows (none before they have been seen). */
        bool covered_long;
        double want_tier = stabilized(in, need_now, TIER_DOWN_WINDOW_MULT * svc->stabilization_down_ms, true, &covered_long);
        if (!covered_long)
            want_tier = INFINITY;
        /* The need's upper estimate from its own uncertainty: now's, plus
         * sloTarget's normal quantile of its spread around the line of the
         * last TREND_WINDOW_MS (2.33 standard deviations at 0.99). Fewer
         * instances of the same tier may go by it instead of the window's
         * highest need when the need exceeded what they cover in one
         * excursion only (a burst that ended, not peaks between troughs):
         * the scale-in after a one-off peak is as quick as its readings are
         * steady, not a fixed window late. */
        double need_up = NAN;
        if (!isnan(need_load))
            need_up = need_now + normal_upper_quantile(svc->slo_target) * need_spread(in, need_now);
        const ksiss_metric_cfg *wm = &svc->metrics[mv.worst];
        char *what = ksiss_xasprintf("every metric below its scale-down threshold (worst %s = %.4g, %.2fx its SLO %.4g)",
                                     wm->name, in->obs[mv.worst].value, mv.worst_p, wm->slo);
        const ksiss_history *h = in->history;
        int64_t since_change = INT64_MAX;
        if (h && h->last_down_ms != INT64_MIN)
            since_change = in->now_ms - h->last_down_ms;
        /* `cooldown.down` lets the metrics settle after a change. After a
         * scale-down, with a load signal, the next instance may go at once
         * when the load says so: the load (the demand) does not move when an
         * instance is removed, and any breach it leads to scales back out
         * within a tick. A tier change waits the whole cooldown: its latency
         * on the new tier is not known yet. KPA scales in at every tick
         * too. Suite: burst-3 and a held-out burst at a 90 s cold start were
         * dominated by `horizontal` (the same attainment, 2-6% cheaper: the
         * steps down 120 s apart): 52 -> 53 of 65 (held out: 12 -> 13 of 23),
         * the learned-capacity columns unchanged (54, 53, 51 of 65). */
        int64_t since_down = since_change;
        if (!isnan(need_load) && since_change < svc->cooldown_down_ms) {
            c.same_tier_only = true;
            since_change = INT64_MAX;
        }
        if (h && h->last_up_ms != INT64_MIN && in->now_ms - h->last_up_ms < since_change)
            since_change = in->now_ms - h->last_up_ms;
        if (since_change < svc->cooldown_down_ms) {
            set_reason(out, "cooldown", "%s; last change %llds ago, down cooldown %llds: holding", what,
                       (long long)(since_change / 1000), (long long)(svc->cooldown_down_ms / 1000));
        } else if (!covered) {
            set_reason(out, "stabilizing", "%s; waiting to have seen a full %llds stabilization window before scaling down",
                       what, (long long)(svc->stabilization_down_ms / 1000));
        } else if (want + EPS >= c.cap_total && !(need_up * IN_HEADROOM / DOWN_HEADROOM < c.cap_total - EPS)) {
            set_reason(out, "stabilizing", "%s; highest need over the %llds stabilization window is %.2f GPU, current %.2f: holding",
                       what, (long long)(svc->stabilization_down_ms / 1000), want, c.cap_total);
        } else if ((pick = pick_down(&c, cands, n, isnan(need_load) ? NAN : want, isnan(need_load) ? NAN : want_tier,
                                     isnan(need_load) ? 1.0 : IN_HEADROOM / DOWN_HEADROOM, need_up)) != NULL &&
                   (!isnan(need_load) || pick->capacity + EPS >= want)) {
            apply(out, &c, pick);
            if (!isnan(need_load) && pick->tier == c.cur_tier && pick->capacity + EPS < want * IN_HEADROOM / DOWN_HEADROOM)
                set_reason(out, "underutilized", "%s; need %.2f GPU now with its spread (%.2f over the window, but only "
                           "one excursion above what %s x%d covers in %llds, ended), capacity %.2f: %s %s x%d (capacity "
                           "%.2f, cost %.3f -> %.3f)", what, need_up, want, pick->tier->name, pick->replicas,
                           (long long)(RECURRENCE_MEMORY_MS / 1000), c.cap_total, ksiss_action_name(out->action),
                           pick->tier->name, pick->replicas, pick->capacity, c.cur_cost, pick->cost);
            else
                set_reason(out, "underutilized", "%s; need %.2f GPU over the window, capacity %.2f: %s %s x%d (capacity %.2f, cost %.3f -> %.3f)",
                           what, want, c.cap_total, ksiss_action_name(out->action), pick->tier->name, pick->replicas,
                           pick->capacity, c.cur_cost, pick->cost);
        } else if (c.same_tier_only && only_a_tier_change_would_do(&c, cands, n, want, want_tier, need_up)) {
            /* Only a tier change would do: it waits out the cooldown. */
            set_reason(out, "cooldown", "%s; last scale-down %llds ago, down cooldown %llds: a tier change down waits "
                       "for it (fewer instances of %s would not cover the need): holding", what,
                       (long long)(since_down / 1000), (long long)(svc->cooldown_down_ms / 1000), c.cur_tier->name);
        } else if (!isnan(need_load) && (pick = pick_down(&c, cands, n, want, want, IN_HEADROOM / DOWN_HEADROOM, NAN)) != NULL) {
            /* Only a tier change would do, and the longer window still
             * holds a higher need (or has not been seen in full yet). */
            pick = NULL;
            long long w1 = (long long)(svc->stabilization_down_ms / 1000);
            long long w2 = (long long)(TIER_DOWN_WINDOW_MULT * svc->stabilization_down_ms / 1000);
            if (isfinite(want_tier))
                set_reason(out, "stabilizing", "%s; need %.2f GPU over the %llds window, but a tier change down must also "
                           "cover the highest need over %llds, %.2f GPU: holding", what, want, w1, w2, want_tier);
            else
                set_reason(out, "stabilizing", "%s; need %.2f GPU over the %llds window, but a tier change down waits to "
                           "have seen %llds: holding", what, want, w1, w2);
        } else {
            set_reason(out, "at_min", "%s; no cheaper allowed deployment covers %.2f GPU: holding", what, want);
        }
        free(what);
        goto done;
    }

    /* Between the thresholds, or some metric missing: hold. */
    if (mv.n_missing > 0) {
        set_reason(out, "missing_data", "%s has no usable value (%s); the others are within their SLO: holding, never scaling down on missing data",
                   metric_name(svc, mv.first_missing), mv.first_missing_why);
        /* Not all data missing: this is not an unmanaged service. */
        out->reason_code = "partial_data";
    } else {
        const ksiss_metric_cfg *wm = &svc->metrics[mv.worst];
        set_reason(out, "within_slo", "%s = %.4g is %.2fx its SLO %.4g, between %.2fx and %.2fx: holding", wm->name,
                   in->obs[mv.worst].value, mv.worst_p, wm->slo, wm->scale_down_factor, wm->scale_up_factor);
    }

done:
    /* A learned capacity: no scale-down on an estimate not learned yet
     * (nor when the caller has no learner for a service that asks for one). */
    if (((in->capacity && !in->capacity->scale_down_ok) ||
         (!in->capacity && svc->has_load && svc->load.learn)) &&
        out->reason_code && !strcmp(out->reason_code, "underutilized")) {
        out->action = KSISS_HOLD;
        out->tier = c.cur_tier;
        out->replicas = c.cur_replicas;
        out->required_capacity = c.cap_total;   /* a hold remembers what it holds */
        out->has_remembered_need = false;
        set_reason(out, "capacity_unlearned", "the load would allow less, but %s's capacity is not learned yet "
                   "(no scale-down on an unlearned estimate): holding", c.cur_tier->name);
    }
    free(cands);
    return 0;
}
