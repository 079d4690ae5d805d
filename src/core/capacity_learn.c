/* capacity_learn.c: the online service-time model behind a learned
 * capacity (capacity_learn.h, docs/policy.md "Learned capacity"): two
 * small Kalman filters per tier, the gates in front of them, the carry-over
 * between tiers and the capacity they give. */
#include "core/capacity_learn.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define TINY 1e-12
#define MS_PER_H 3600000.0

static void filter_reset(ksiss_learn_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->at_ms = INT64_MIN;
    f->last_ms = INT64_MIN;
}

static bool filter_started(const ksiss_learn_filter *f)
{
    return f->at_ms != INT64_MIN;
}

void ksiss_learner_init(ksiss_learner *L, const ksiss_tier *const *tiers, size_t n, ksiss_throughput_kind kind,
                        double per_gpu, double tpot_slo_s)
{
    memset(L, 0, sizeof(*L));
    L->kind = kind;
    L->per_gpu = per_gpu > 0 && isfinite(per_gpu) ? per_gpu : 0;
    L->tpot_slo_s = tpot_slo_s > 0 && isfinite(tpot_slo_s) ? tpot_slo_s : 0;
    for (size_t i = 0; i < n && L->n < KSISS_LEARN_MAX_TIERS; i++) {
        if (!tiers[i] || ksiss_learner_tier(L, tiers[i]))
            continue;
        ksiss_learn_tier *t = &L->tiers[L->n++];
        t->tier = tiers[i];
        filter_reset(&t->prefill);
        filter_reset(&t->decode);
    }
}

ksiss_learn_tier *ksiss_learner_tier(ksiss_learner *L, const ksiss_tier *tier)
{
    for (size_t i = 0; tier && i < L->n; i++)
        if (L->tiers[i].tier == tier)
            return &L->tiers[i];
    return NULL;
}

static const ksiss_learn_tier *find_const(const ksiss_learner *L, const ksiss_tier *tier)
{
    return ksiss_learner_tier((ksiss_learner *)L, tier);
}

/* The covariance of f carried to now_ms: each parameter drifts by
 * KSISS_LEARN_DRIFT_PER_H of its value per sqrt(hour). */
static void predicted_cov(const ksiss_learn_filter *f, int64_t now_ms, double P[3])
{
    memcpy(P, f->P, sizeof(f->P));
    if (!filter_started(f) || now_ms <= f->at_ms)
        return;
    /* by whole hours: an estimate does not creep between two ticks */
    int64_t steps = (now_ms - f->at_ms) / KSISS_LEARN_DECAY_STEP_MS;
    double h = (double)(steps * KSISS_LEARN_DECAY_STEP_MS) / MS_PER_H;
    double q = KSISS_LEARN_DRIFT_PER_H * KSISS_LEARN_DRIFT_PER_H * h;
    P[0] += q * f->m[0] * f->m[0];
    P[2] += q * f->m[1] * f->m[1];
}

static double rel_of(const ksiss_tier *t, bool prefill)
{
    double r = prefill ? t->prefill_rel : t->decode_rel;
    return r > 0 && isfinite(r) ? r : 0;
}

/* What the tiers that have served say about `self` through the catalogue's
 * ratios: parameters scaled to `self` (a whole-GPU-normalized mean,
 * precision-weighted, its variance widened by the ratio's uncertainty).
 * Returns false when no other tier has served (or the ratios are
 * unknown). */
static bool carried(const ksiss_learner *L, const ksiss_learn_tier *self, bool prefill, int64_t now_ms,
                    double m[2], double P[3], long *n_obs, int64_t *newest)
{
    double rs = rel_of(self->tier, prefill);
    if (rs <= 0)
        return false;
    double w0 = 0, s0 = 0, w1 = 0, s1 = 0;
    long n = 0;
    int64_t last = INT64_MIN;
    for (size_t i = 0; i < L->n; i++) {
        const ksiss_learn_tier *t = &L->tiers[i];
        const ksiss_learn_filter *f = prefill ? &t->prefill : &t->decode;
        double r = rel_of(t->tier, prefill);
        if (t == self || f->n == 0 || r <= 0)
            continue;
        double Pc[3];
        predicted_cov(f, now_ms, Pc);
        /* service times scale as 1/rel: normalize to a whole GPU */
        double g0 = f->m[0] * r, v0 = Pc[0] * r * r + TINY * TINY;
        double g1 = f->m[1] * r, v1 = Pc[2] * r * r + TINY * TINY;
        w0 += 1 / v0;
        s0 += g0 / v0;
        w1 += 1 / v1;
        s1 += g1 / v1;
        n += f->n;
        if (f->last_ms > last)
            last = f->last_ms;
    }
    if (n == 0)
        return false;
    double g0 = s0 / w0, g1 = s1 / w1;
    double ts = KSISS_LEARN_TRANSFER_SD * KSISS_LEARN_TRANSFER_SD;
    m[0] = g0 / rs;
    m[1] = g1 / rs;
    P[0] = (1 / w0 + ts * g0 * g0) / (rs * rs);
    P[1] = 0;
    P[2] = (1 / w1 + ts * g1 * g1) / (rs * rs);
    *n_obs = n;
    *newest = last;
    return true;
}

/* The served tier (prefill windows, not self) with the most windows: whose
 * queueing-slope prior a carried-over estimate stands on. */
static const ksiss_learn_tier *k_source(const ksiss_learner *L, const ksiss_learn_tier *self)
{
    const ksiss_learn_tier *best = NULL;
    for (size_t i = 0; i < L->n; i++) {
        const ksiss_learn_tier *t = &L->tiers[i];
        if (t != self && t->prefill.n > 0 && t->k_src != KSISS_KPRIOR_UNSET && (!best || t->prefill.n > best->prefill.n))
            best = t;
    }
    return best;
}

/* Puts the histogram's prior under a prefill filter that started on the
 * fallback (k = 0.5 +- 0.15, the shared queue's x): phi starts over as
 * k0 x theta +- k_sd x theta, uncorrelated with theta, which keeps its
 * mean and variance; what the windows said about the queue under the
 * other model is let go rather than carried into the new one. Without
 * this a tier whose first window came before the histogram could be read
 * (a query failing at start, a histogram that appears later) kept the
 * low prior until the filter restarted. */
static void reseat_k(ksiss_learn_tier *t, double k0, double k_sd)
{
    ksiss_learn_filter *f = &t->prefill;
    f->m[1] = k0 * f->m[0];
    f->P[1] = 0;
    f->P[2] = k_sd * k_sd * f->m[0] * f->m[0];
    t->k_src = KSISS_KPRIOR_HISTOGRAM;
    t->k0 = k0;
    t->k_sd = k_sd;
    t->k_carried = false;
}

/* Starts a filter from what is known before its first window: another
 * tier's estimate, the profile, or (neither, or afresh after the service
 * changed) the window itself, widely. */
static void start(const ksiss_learner *L, ksiss_learn_tier *t, bool prefill, double y, double x, double k0,
                  double k_sd, ksiss_k_prior ksrc, int64_t now_ms, bool afresh)
{
    ksiss_learn_filter *f = prefill ? &t->prefill : &t->decode;
    long n;
    int64_t newest;
    double m[2], P[3];
    f->at_ms = now_ms;
    if (!afresh && carried(L, t, prefill, now_ms, m, P, &n, &newest)) {
        memcpy(f->m, m, sizeof(m));
        memcpy(f->P, P, sizeof(P));
        if (prefill) {
            const ksiss_learn_tier *from = k_source(L, t);
            t->k_src = from ? from->k_src : KSISS_KPRIOR_UNSET;
            t->k0 = from ? from->k0 : NAN;
            t->k_sd = from ? from->k_sd : NAN;
            t->k_carried = true;
        }
        return;
    }
    if (prefill) {
        t->k_src = ksrc;
        t->k0 = k0;
        t->k_sd = k_sd;
        t->k_carried = false;
    }
    double r = rel_of(t->tier, prefill);
    if (prefill) {
        double theta;
        double sd = KSISS_LEARN_PROFILE_SD;
        if (!afresh && L->per_gpu > 0 && L->kind == KSISS_THROUGHPUT_PREFILL && r > 0) {
            theta = KSISS_LEARN_PREFILL_UTIL / (L->per_gpu * r);
        } else {
            theta = y / (1 + k0 * x);
            sd = 1.0;
        }
        /* phi = theta * k. M/G/1 would give k = (1 + c^2) / 2 for prompts
         * whose squared coefficient of variation is c^2, but requests
         * routed to the least-loaded of several instances wait much less
         * (the Azure conversation trace on two 3g slices: k ~ 0.6). At the
         * loads the gate lets through, x varies little, so the data cannot
         * tell theta from phi and the prior decides: a low, tight k
         * (0.5 +- 0.15) errs towards a slower prefill, the pessimistic
         * side (with k = 1 +- 0.5 the 3g slice came out 19% faster than it
         * is, with 0.5 +- 0.5 15%: the slope fitted over a narrow range of
         * x follows the noise). The profile says nothing about the queue:
         * theta for phi is this window's. */
        double own = y / (1 + k0 * x);
        f->m[0] = theta;
        f->m[1] = k0 * own;
        f->P[0] = sd * sd * theta * theta;
        f->P[1] = 0;
        f->P[2] = k_sd * k_sd * own * own;
    } else {
        /* one window cannot tell the step's base from its slope: assume the
         * step doubles at 32 sequences, with the width of each its value */
        double c = y / (x + 32), a = y - c * x;
        f->m[0] = a;
        f->m[1] = c;
        f->P[0] = a * a;
        f->P[1] = 0;
        f->P[2] = c * c;
    }
}

/* One scalar observation y = m0 + m1 * x with relative noise r_rel,
 * through the innovation gate. */
static ksiss_learn_result update(ksiss_learn_filter *f, double y, double x, double h0, double r_rel, int64_t now_ms)
{
    double P[3];
    predicted_cov(f, now_ms, P);
    double yhat = f->m[0] + f->m[1] * x;
    double R = (yhat * r_rel) * (yhat * r_rel) + TINY * TINY;
    /* S = H P H' + R, H = [h0 x]: h0 = dy/dm0, 1 but where x itself
     * depends on m0 (the prefill's rho = lambda prompt theta) */
    double PH0 = P[0] * h0 + P[1] * x, PH1 = P[1] * h0 + P[2] * x;
    double S = h0 * PH0 + PH1 * x + R;
    double nu = y - yhat;
    double nis = nu * nu / S;
    ksiss_learn_result res = KSISS_LEARN_ACCEPTED;
    f->last_ms = now_ms;
    if (nis > KSISS_LEARN_NIS_GATE) {
        int sign = nu > 0 ? 1 : -1;
        if (sign == f->reject_sign)
            f->reject_run++;
        else {
            f->reject_sign = sign;
            f->reject_run = 1;
        }
        if (f->reject_run < KSISS_LEARN_REGIME_RUN) {
            f->rejected++;
            return KSISS_LEARN_OUTLIER;
        }
        /* The same side, window after window: the service changed (a new
         * model version, another GPU clock), not an outlier. The caller
         * starts the filter over from this window. */
        f->reject_run = 0;
        f->reject_sign = 0;
        return KSISS_LEARN_REGIME;
    }
    f->reject_run = 0;
    f->reject_sign = 0;
    double K0 = PH0 / S, K1 = PH1 / S;
    f->m[0] += K0 * nu;
    f->m[1] += K1 * nu;
    f->P[0] = P[0] - K0 * K0 * S;
    f->P[1] = P[1] - K0 * K1 * S;
    f->P[2] = P[2] - K1 * K1 * S;
    /* service times are positive, the queueing and batch slopes not negative */
    if (f->m[0] < TINY)
        f->m[0] = TINY;
    if (f->m[1] < 0)
        f->m[1] = 0;
    if (f->P[0] < TINY * TINY)
        f->P[0] = TINY * TINY;
    if (f->P[2] < TINY * TINY)
        f->P[2] = TINY * TINY;
    f->at_ms = now_ms;
    f->n++;
    return res;
}

static bool pos(double v)
{
    return isfinite(v) && v > 0;
}

/* The queueing regressor x of TTFT / prompt = theta (1 + k x). Without the
 * prompts' spread: rho / (1 - rho), k a low prior. With it: one M/G/1
 * queue per instance, Pollaczek-Khinchine's Wq = E[S] (1 + c^2) / 2 x
 * rho / (1 - rho), so k = (1 + c^2) / 2 is known up to the arrivals'
 * burstiness and the histogram's resolution; over c instances the
 * least-loaded routing shares the wait, x / c (between a random split, x,
 * and one shared queue, Sakasegawa's rho^(sqrt(2(c + 1)) - 1) / (c (1 -
 * rho)), which waits 3x less than the Azure conversation trace's two 3g
 * slices do). */
static double queue_factor(double rho, int instances, bool mgc)
{
    if (!mgc || instances <= 1)
        return rho / (1 - rho);
    return rho / ((1 - rho) * instances);
}

double ksiss_learn_prompt_le(size_t i)
{
    static const double mant[3] = { 1, 2, 5 };
    if (i >= KSISS_LEARN_PROMPT_LE)
        return INFINITY;
    double p = 1;
    for (size_t j = 0; j < i / 3; j++)
        p *= 10;
    return mant[i % 3] * p;
}

void ksiss_learn_bucket_span(const double *le, size_t n, size_t i, double *a, double *b)
{
    *a = i > 0 ? le[i - 1] : le[0] / 2;
    *b = i + 1 < n ? le[i] : 2 * *a;
}

double ksiss_learn_prompt_m2_le(const double *le, const double *counts, size_t n)
{
    if (n < 2 || !(le[0] > 0) || !isinf(le[n - 1]))
        return NAN;
    double sn = 0, s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double c = counts[i];
        if (!isfinite(c) || c < 0)
            return NAN;
        if (i + 1 < n && !(isfinite(le[i]) && (i == 0 || le[i] > le[i - 1])))
            return NAN;
        if (c == 0)
            continue;
        double a, b;
        ksiss_learn_bucket_span(le, n, i, &a, &b);
        /* log-uniform on (a, b]: E[x] = (b - a) / ln(b/a), E[x^2] = (b^2 - a^2) / (2 ln(b/a)) */
        double lr = log(b / a);
        sn += c;
        s1 += c * (b - a) / lr;
        s2 += c * (b * b - a * a) / (2 * lr);
    }
    if (sn < KSISS_LEARN_MIN_REQUESTS || !(s1 > 0))
        return NAN;
    double m = s1 / sn;
    return s2 / sn / (m * m);
}

double ksiss_learn_prompt_m2(const double *counts)
{
    double le[KSISS_LEARN_PROMPT_LE + 1];
    for (size_t i = 0; i <= KSISS_LEARN_PROMPT_LE; i++)
        le[i] = ksiss_learn_prompt_le(i);
    return ksiss_learn_prompt_m2_le(le, counts, KSISS_LEARN_PROMPT_LE + 1);
}

/* "+Inf" / "Inf" / a number, as Prometheus writes `le` */
static bool parse_le(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    if (!strcmp(s, "+Inf") || !strcmp(s, "Inf") || !strcmp(s, "+inf") || !strcmp(s, "inf")) {
        *out = INFINITY;
        return true;
    }
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || *end || end == s || !isfinite(v))
        return false;
    *out = v;
    return true;
}

typedef struct {
    double le, value;
    const char *text;
} hist_point;

static int cmp_point(const void *a, const void *b)
{
    double x = ((const hist_point *)a)->le, y = ((const hist_point *)b)->le;
    return (x > y) - (x < y);
}

int ksiss_learn_prompt_buckets(const ksiss_learn_bucket *b, size_t n, double window_s, double *le, double *counts,
                               char **why)
{
    *why = NULL;
    if (n == 0) {
        *why = ksiss_xstrdup("no series (the histogram is not exported, or the query matches nothing)");
        return -1;
    }
    if (n > KSISS_LEARN_MAX_BUCKETS) {
        *why = ksiss_xasprintf("%zu buckets, more than %d (is the query summed by le?)", n, KSISS_LEARN_MAX_BUCKETS);
        return -1;
    }
    if (!(window_s > 0) || !isfinite(window_s)) {
        *why = ksiss_xasprintf("window of %g s", window_s);
        return -1;
    }
    hist_point p[KSISS_LEARN_MAX_BUCKETS];
    for (size_t i = 0; i < n; i++) {
        if (!b[i].le) {
            *why = ksiss_xasprintf("sample %zu has no le label (is the query summed by le?)", i + 1);
            return -1;
        }
        if (!parse_le(b[i].le, &p[i].le) || !(p[i].le > 0)) {
            *why = ksiss_xasprintf("le=\"%s\" is not a positive number or +Inf", b[i].le);
            return -1;
        }
        if (!isfinite(b[i].value) || b[i].value < 0) {
            *why = ksiss_xasprintf("le=\"%s\": value %g (not a finite rate >= 0)", b[i].le, b[i].value);
            return -1;
        }
        p[i].value = b[i].value;
        p[i].text = b[i].le;
    }
    qsort(p, n, sizeof(p[0]), cmp_point);
    for (size_t i = 1; i < n; i++) {
        if (p[i].le == p[i - 1].le) {
            *why = ksiss_xasprintf("le=\"%s\" and le=\"%s\": the same bound twice", p[i - 1].text, p[i].text);
            return -1;
        }
        /* cumulative: a bucket holds those below it; rates of counters
         * scraped at once may differ by rounding only */
        if (p[i].value < p[i - 1].value - 1e-9 * (p[i - 1].value > 1 ? p[i - 1].value : 1)) {
            *why = ksiss_xasprintf("not cumulative: le=\"%s\" has %g, le=\"%s\" below it %g", p[i].text,
                                   p[i].value, p[i - 1].text, p[i - 1].value);
            return -1;
        }
    }
    if (!isinf(p[n - 1].le)) {
        *why = ksiss_xstrdup("no le=\"+Inf\" bucket");
        return -1;
    }
    if (n < 2) {
        *why = ksiss_xstrdup("only the le=\"+Inf\" bucket: no bounds to read a spread from");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        le[i] = p[i].le;
        double d = p[i].value - (i > 0 ? p[i - 1].value : 0);
        counts[i] = (d > 0 ? d : 0) * window_s;
    }
    return 0;
}

int ksiss_learn_prompt_hist(const ksiss_learn_bucket *b, size_t n, double window_s, double *m2, char **why)
{
    *m2 = NAN;
    double le[KSISS_LEARN_MAX_BUCKETS], counts[KSISS_LEARN_MAX_BUCKETS];
    if (ksiss_learn_prompt_buckets(b, n, window_s, le, counts, why) != 0)
        return -1;
    *m2 = ksiss_learn_prompt_m2_le(le, counts, n);
    return isfinite(*m2) ? 0 : 1;
}

void ksiss_learner_observe(ksiss_learner *L, const ksiss_tier *tier, const ksiss_learn_window *w, int64_t now_ms,
                           ksiss_learn_result *prefill, ksiss_learn_result *decode)
{
    ksiss_learn_result rp = KSISS_LEARN_NOT_READ, rd = KSISS_LEARN_NOT_READ;
    ksiss_learn_tier *t = ksiss_learner_tier(L, tier);
    if (!t) {
        rp = rd = KSISS_LEARN_UNKNOWN_TIER;
        goto out;
    }
    if (!w || !pos(w->req_rate) || !pos(w->window_s) || w->instances < 1)
        goto out;
    double nreq = w->req_rate * w->window_s;
    double lambda = w->req_rate / w->instances;
    if (nreq < KSISS_LEARN_MIN_REQUESTS) {
        rp = rd = KSISS_LEARN_FEW;
        goto out;
    }
    /* Little: requests per instance waiting for or in their prefill */
    double in_prefill = pos(w->ttft_mean_s) ? lambda * w->ttft_mean_s : NAN;
    bool queueing = isfinite(in_prefill) && in_prefill > KSISS_LEARN_MAX_IN_PREFILL;
    /* the prompts' spread read: the queue's model is M/G/1's per instance.
     * A filter that stands on the histogram's prior keeps that model
     * through a window that could not read it (a failed query): its phi
     * was learned against the per-instance x, not the shared one. */
    bool m2_read = isfinite(w->prompt_m2) && w->prompt_m2 >= 1;
    bool mgc = m2_read || (filter_started(&t->prefill) && t->k_src == KSISS_KPRIOR_HISTOGRAM);
    if (t->prefill.n > 0 && pos(w->prompt_mean) && isfinite(in_prefill)) {
        /* Once the prefill is learned, the gate asks the model what this
         * load puts in prefill, not the window's own TTFT: refusing the
         * windows whose waits happened to be long keeps the short ones
         * near the gate, and theta came out 8% optimistic on the burst
         * trace (it sits at the gate). A window measured at twice the
         * limit is still refused. */
        double r0 = lambda * w->prompt_mean * t->prefill.m[0];
        double pred = r0 < 0.9 ? lambda * w->prompt_mean *
                                     (t->prefill.m[0] + t->prefill.m[1] * queue_factor(r0, w->instances, mgc))
                               : INFINITY;
        queueing = pred > KSISS_LEARN_MAX_IN_PREFILL || in_prefill > 2 * KSISS_LEARN_MAX_IN_PREFILL;
    }
    double rho = NAN;

    bool direct = ksiss_learn_prefill_usable(w->prefill_s_per_token, w->ttft_mean_s, w->prompt_mean);
    if (pos(w->ttft_mean_s) && pos(w->prompt_mean)) {
        ksiss_learn_filter *f = &t->prefill;
        if (w->counts_changed && !direct)
            rp = KSISS_LEARN_UNSTEADY;
        else if (queueing)
            rp = KSISS_LEARN_QUEUEING;
        else if (f->last_ms != INT64_MIN && (double)(now_ms - f->last_ms) < w->window_s * 1000.0 - 1)
            rp = KSISS_LEARN_OVERLAP;
        else {
            double y = w->ttft_mean_s / w->prompt_mean;
            /* The prefill read on its own is theta itself: no queueing
             * model stands between the reading and the estimate. From
             * TTFT the model must split the wait off with k's prior, and
             * arrivals burstier than Poisson's put their extra wait into
             * theta (the Azure conversation trace's 3g slice 9% slow at a
             * 20 s cold start; read directly, within 1%). A request's
             * prefill is part of its TTFT: a reading above the TTFT's per
             * token (with room for the two means' different requests,
             * counted at the finish and at the first token) contradicts it
             * (a query in milliseconds, say) and is not used: the split
             * below stands for the window. */
            if (direct)
                y = w->prefill_s_per_token;
            /* The prefill's utilization, rho = lambda x prompt x theta,
             * from the filter's theta: computing it from this window's
             * own TTFT would tie the noise of x to that of y and bias the
             * queueing slope up and theta down (the optimistic side; on
             * the Azure trace by 10%). Before the first window, the theta
             * that explains this one with the prior k (a fixed point). At
             * most Little's count. */
            double theta = filter_started(f) ? f->m[0] : y, x = 0;
            /* With the prompts' spread read, one M/G/1 queue per
             * instance (queue_factor): k's prior is (1 + c^2) / 2, what
             * the spread says, not the low guess that put a heavy tail's
             * wait into theta (the flash trace's 4g slice 12% slow). */
            double k0 = m2_read ? w->prompt_m2 / 2 : KSISS_LEARN_QUEUE_K;
            double k_sd = m2_read ? KSISS_LEARN_QUEUE_K_SD_REL * k0 : 0.15;
            ksiss_k_prior ksrc = m2_read ? KSISS_KPRIOR_HISTOGRAM : KSISS_KPRIOR_FALLBACK;
            /* The first window that reads the spread for a filter started
             * on the fallback (its first windows came before the histogram
             * could be read, or its carried estimate stood on one) */
            if (filter_started(f) && m2_read && t->k_src != KSISS_KPRIOR_HISTOGRAM)
                reseat_k(t, k0, k_sd);
            for (int it = 0; it < (filter_started(f) ? 1 : 8); it++) {
                rho = lambda * w->prompt_mean * theta;
                if (rho > in_prefill)
                    rho = in_prefill;
                if (rho > 0.9)
                    rho = 0.9;
                x = direct ? 0 : queue_factor(rho, w->instances, mgc);
                if (!filter_started(f))
                    theta = y / (1 + k0 * x);
            }
            if (!filter_started(f))
                start(L, t, true, y, x, k0, k_sd, ksrc, now_ms, false);
            /* Noise: a 3% model error, and the sampling noise of the
             * mean wait over nreq requests (the prefill's own time is
             * nearly proportional to the prompt: its ratio of means has
             * little noise; a wait's coefficient of variation is ~2). */
            double wait = f->m[1] * x / (f->m[0] + f->m[1] * x);
            double r_rel = sqrt(0.03 * 0.03 + 4 * wait * wait / nreq);
            /* An extended Kalman filter: x grows with theta (through rho),
             * so a slower prefill explains a longer TTFT twice over, by its
             * own time and by the queue it makes; with H = [1 x] the fit
             * slid along theta + phi x = y at a steady load (the burst
             * trace's 3g slice: theta 30% slow, phi a third of its prior) */
            double h0 = 1;
            double rho_f = lambda * w->prompt_mean * f->m[0];
            if (!direct && rho_f < 0.9 && rho_f <= in_prefill && fabs(rho_f - rho) <= 1e-9 * rho_f)
                h0 = 1 + f->m[1] * lambda * w->prompt_mean /
                             ((1 - rho) * (1 - rho) * (mgc && w->instances > 1 ? w->instances : 1));
            rp = update(f, y, x, h0, r_rel, now_ms);
            if (rp == KSISS_LEARN_REGIME) {
                /* forget what no longer holds: this window starts it over
                 * (and it is not learned again before KSISS_LEARN_LEARNED_N) */
                long rejected = f->rejected;
                filter_reset(f);
                f->rejected = rejected;
                start(L, t, true, y, 0, k0, k_sd, ksrc, now_ms, true);
                update(f, y, 0, 1, r_rel, now_ms);
            }
            rho = lambda * w->prompt_mean * f->m[0];
        }
    }
    if (pos(w->tpot_mean_s) && pos(w->running_mean)) {
        ksiss_learn_filter *f = &t->decode;
        if (w->counts_changed)
            rd = KSISS_LEARN_UNSTEADY;
        else if (queueing)
            rd = KSISS_LEARN_QUEUEING;
        else if (f->last_ms != INT64_MIN && (double)(now_ms - f->last_ms) < w->window_s * 1000.0 - 1)
            rd = KSISS_LEARN_OVERLAP;
        else {
            /* prefills stop the batch (no chunked prefill): a decode step
             * gets 1 - rho of the time */
            if (!isfinite(rho) && t->prefill.n > 0 && pos(w->prompt_mean))
                rho = lambda * w->prompt_mean * t->prefill.m[0];
            double y = w->tpot_mean_s * (isfinite(rho) && rho < 0.9 ? 1 - rho : 1);
            double x = w->running_mean;
            if (!filter_started(f))
                start(L, t, false, y, x, 0, 0, KSISS_KPRIOR_UNSET, now_ms, false);
            /* a 3% model error and the noise of a mean over nreq
             * requests' batches */
            double r_rel = sqrt(0.03 * 0.03 + 1.0 / nreq);
            rd = update(f, y, x, 1, r_rel, now_ms);
            if (rd == KSISS_LEARN_REGIME) {
                long rejected = f->rejected;
                filter_reset(f);
                f->rejected = rejected;
                start(L, t, false, y, x, 0, 0, KSISS_KPRIOR_UNSET, now_ms, true);
                update(f, y, x, 1, r_rel, now_ms);
            }
        }
    }
out:
    if (prefill)
        *prefill = rp;
    if (decode)
        *decode = rd;
}

bool ksiss_learn_prefill_usable(double prefill_s_per_token, double ttft_mean_s, double prompt_mean)
{
    return pos(prefill_s_per_token) && pos(ttft_mean_s) && pos(prompt_mean) &&
           prefill_s_per_token <= KSISS_LEARN_PREFILL_SLACK * ttft_mean_s / prompt_mean;
}

double ksiss_learn_capacity_of(ksiss_throughput_kind kind, double tpot_slo_s, double p0, double p1)
{
    if (kind == KSISS_THROUGHPUT_PREFILL)
        return p0 > 0 ? KSISS_LEARN_PREFILL_UTIL / p0 : NAN;
    /* decode: the batch whose step meets the TPOT SLO (or, without one,
     * twice the batch-1 step), its tokens/s */
    double T = tpot_slo_s > 0 ? tpot_slo_s : 2 * p0;
    double b = p1 > TINY ? (T - p0) / p1 : 1024;
    if (b > 1024)
        b = 1024;
    if (b < 1)
        b = 1;
    double step = p0 + p1 * b;
    return step > 0 ? b / step : NAN;
}

static double capacity_of(const ksiss_learner *L, bool prefill, double p0, double p1)
{
    return ksiss_learn_capacity_of(prefill ? KSISS_THROUGHPUT_PREFILL : KSISS_THROUGHPUT_DECODE, L->tpot_slo_s, p0, p1);
}

void ksiss_learner_estimate(const ksiss_learner *L, const ksiss_tier *tier, int64_t now_ms, ksiss_cap_estimate *out)
{
    out->capacity = out->bound = out->rel_sd = NAN;
    out->source = KSISS_CAP_NONE;
    out->n_obs = 0;
    out->age_ms = -1;
    out->learned = false;
    out->k_src = KSISS_KPRIOR_UNSET;
    out->k0 = out->k_sd = NAN;
    out->k_carried = false;
    const ksiss_learn_tier *t = find_const(L, tier);
    if (!t)
        return;
    /* k's prior: this tier's own filter's, else what a carry-over stands on */
    const ksiss_learn_tier *kt = t->k_src != KSISS_KPRIOR_UNSET ? t : k_source(L, t);
    if (kt) {
        out->k_src = kt->k_src;
        out->k0 = kt->k0;
        out->k_sd = kt->k_sd;
        out->k_carried = kt != t || t->k_carried;
    }
    bool prefill = L->kind == KSISS_THROUGHPUT_PREFILL;
    const ksiss_learn_filter *f = prefill ? &t->prefill : &t->decode;
    double m[2], P[3];
    int64_t newest = INT64_MIN;
    if (f->n > 0) {
        memcpy(m, f->m, sizeof(m));
        predicted_cov(f, now_ms, P);
        out->source = KSISS_CAP_LEARNED;
        out->n_obs = f->n;
        newest = f->last_ms;
    } else if (carried(L, t, prefill, now_ms, m, P, &out->n_obs, &newest)) {
        out->source = KSISS_CAP_CATALOGUE;
    } else {
        double r = rel_of(tier, prefill);
        if (L->per_gpu > 0 && r > 0) {
            /* the user's figure, planned with as given (as without learning) */
            out->source = KSISS_CAP_PROFILE;
            out->capacity = out->bound = L->per_gpu * r;
            out->rel_sd = KSISS_LEARN_PROFILE_SD;
        }
        return;
    }
    double sd0 = sqrt(P[0] > 0 ? P[0] : 0), sd1 = sqrt(P[2] > 0 ? P[2] : 0);
    out->capacity = capacity_of(L, prefill, m[0], m[1]);
    out->bound = capacity_of(L, prefill, m[0] + KSISS_LEARN_Z * sd0, m[1] + KSISS_LEARN_Z * sd1);
    out->rel_sd = prefill ? sd0 / m[0] : (out->capacity / out->bound - 1) / KSISS_LEARN_Z;
    if (newest != INT64_MIN)
        out->age_ms = now_ms > newest ? now_ms - newest : 0;
    out->learned = out->source == KSISS_CAP_LEARNED && out->n_obs >= KSISS_LEARN_LEARNED_N &&
                   out->rel_sd <= KSISS_LEARN_LEARNED_SD;
}

void ksiss_learner_view(ksiss_learner *L, const ksiss_tier *current, int64_t now_ms, const ksiss_tier **tiers,
                        double *per_instance, ksiss_capacity_view *out)
{
    bool prefill = L->kind == KSISS_THROUGHPUT_PREFILL;
    if (!(L->unit > 0) && L->per_gpu > 0)
        L->unit = L->per_gpu;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < L->n; i++) {
        ksiss_cap_estimate e;
        ksiss_learner_estimate(L, L->tiers[i].tier, now_ms, &e);
        tiers[i] = L->tiers[i].tier;
        double b = isfinite(e.bound) && e.bound > 0 ? e.bound : 0;
        double *pub = &L->tiers[i].published;
        if (!(*pub > 0) || !(b > 0) || fabs(b / *pub - 1) >= KSISS_LEARN_DEADBAND)
            *pub = b;
        per_instance[i] = *pub;
        double r = rel_of(L->tiers[i].tier, prefill);
        /* no profile: the unit is what a whole GPU gives by the first estimate */
        if (!(L->unit > 0) && isfinite(e.capacity) && e.capacity > 0 && r > 0)
            L->unit = e.capacity / r;
        if (L->tiers[i].tier == current)
            out->scale_down_ok = e.learned;
    }
    out->per_gpu = L->unit;
    out->tiers = tiers;
    out->per_instance = per_instance;
    out->n = L->n;
}

const char *ksiss_cap_source_name(ksiss_cap_source s)
{
    switch (s) {
    case KSISS_CAP_NONE: return "none";
    case KSISS_CAP_PROFILE: return "profile";
    case KSISS_CAP_CATALOGUE: return "catalogue";
    case KSISS_CAP_LEARNED: return "learned";
    }
    return "?";
}

const char *ksiss_k_prior_name(ksiss_k_prior s)
{
    switch (s) {
    case KSISS_KPRIOR_UNSET: return "-";
    case KSISS_KPRIOR_FALLBACK: return "fallback";
    case KSISS_KPRIOR_HISTOGRAM: return "histogram";
    }
    return "?";
}

const char *ksiss_learn_result_name(ksiss_learn_result r)
{
    switch (r) {
    case KSISS_LEARN_ACCEPTED: return "accepted";
    case KSISS_LEARN_REGIME: return "regime_change";
    case KSISS_LEARN_NOT_READ: return "not_read";
    case KSISS_LEARN_FEW: return "few_requests";
    case KSISS_LEARN_QUEUEING: return "queueing";
    case KSISS_LEARN_OVERLAP: return "overlap";
    case KSISS_LEARN_OUTLIER: return "outlier";
    case KSISS_LEARN_UNKNOWN_TIER: return "unknown_tier";
    case KSISS_LEARN_UNSTEADY: return "instances_changed";
    }
    return "?";
}

static json_t *filter_json(const ksiss_learn_filter *f)
{
    json_t *a = json_array();
    double v[5] = { f->m[0], f->m[1], f->P[0], f->P[1], f->P[2] };
    for (int i = 0; i < 5; i++)
        json_array_append_new(a, json_real(v[i]));
    json_array_append_new(a, json_integer(f->n));
    json_array_append_new(a, json_integer(f->at_ms));
    json_array_append_new(a, json_integer(f->last_ms == INT64_MIN ? f->at_ms : f->last_ms));
    return a;
}

char *ksiss_learner_to_json(const ksiss_learner *L, int64_t now_ms)
{
    json_t *root = json_object(), *tiers = json_object();
    json_object_set_new(root, "v", json_integer(1));
    json_object_set_new(root, "at", json_integer(now_ms));
    json_object_set_new(root, "unit", json_real(L->unit > 0 ? L->unit : 0));
    for (size_t i = 0; i < L->n; i++) {
        const ksiss_learn_tier *t = &L->tiers[i];
        if (!filter_started(&t->prefill) && !filter_started(&t->decode))
            continue;
        json_t *o = json_object();
        if (filter_started(&t->prefill))
            json_object_set_new(o, "prefill", filter_json(&t->prefill));
        if (filter_started(&t->decode))
            json_object_set_new(o, "decode", filter_json(&t->decode));
        if (t->k_src != KSISS_KPRIOR_UNSET && isfinite(t->k0) && isfinite(t->k_sd))
            json_object_set_new(o, "k", json_pack("{s:s,s:f,s:f,s:b}", "prior", ksiss_k_prior_name(t->k_src), "k",
                                                  t->k0, "sd", t->k_sd, "carried", t->k_carried));
        json_object_set_new(tiers, t->tier->name, o);
    }
    json_object_set_new(root, "tiers", tiers);
    char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    json_decref(root);
    char *out = ksiss_xstrdup(s ? s : "{}");
    free(s);
    return out;
}

static int filter_from(const json_t *a, ksiss_learn_filter *f, const char *tier, const char *phase, char **err)
{
    if (!json_is_array(a) || json_array_size(a) != 8) {
        *err = ksiss_xasprintf("tier %s: %s: expected an array of 8 numbers", tier, phase);
        return -1;
    }
    double v[5];
    for (int i = 0; i < 5; i++) {
        const json_t *x = json_array_get(a, (size_t)i);
        if (!json_is_number(x) || !isfinite(json_number_value(x))) {
            *err = ksiss_xasprintf("tier %s: %s: element %d is not a finite number", tier, phase, i);
            return -1;
        }
        v[i] = json_number_value(x);
    }
    for (int i = 5; i < 8; i++)
        if (!json_is_integer(json_array_get(a, (size_t)i))) {
            *err = ksiss_xasprintf("tier %s: %s: element %d is not an integer", tier, phase, i);
            return -1;
        }
    json_int_t n = json_integer_value(json_array_get(a, 5));
    if (!(v[0] > 0) || v[1] < 0 || !(v[2] > 0) || !(v[4] > 0) || v[3] * v[3] > v[2] * v[4] || n < 0) {
        *err = ksiss_xasprintf("tier %s: %s: not a valid estimate (a positive service time, a covariance that is "
                               "one, a count >= 0)", tier, phase);
        return -1;
    }
    ksiss_learn_filter g;
    filter_reset(&g);
    g.m[0] = v[0];
    g.m[1] = v[1];
    g.P[0] = v[2];
    g.P[1] = v[3];
    g.P[2] = v[4];
    g.n = (long)n;
    g.at_ms = json_integer_value(json_array_get(a, 6));
    g.last_ms = json_integer_value(json_array_get(a, 7));
    *f = g;
    return 0;
}

/* A tier's "k": {"prior": "histogram"|"fallback", "k": K, "sd": SD,
 * "carried": B}; absent (a state written before it was kept): unset. */
static int k_from(const json_t *o, ksiss_learn_tier *t, const char *tier, char **err)
{
    t->k_src = KSISS_KPRIOR_UNSET;
    t->k0 = t->k_sd = NAN;
    t->k_carried = false;
    if (!o)
        return 0;
    const char *prior = json_string_value(json_object_get(o, "prior"));
    const json_t *k = json_object_get(o, "k"), *sd = json_object_get(o, "sd"), *c = json_object_get(o, "carried");
    ksiss_k_prior src = prior && !strcmp(prior, "histogram")  ? KSISS_KPRIOR_HISTOGRAM
                        : prior && !strcmp(prior, "fallback") ? KSISS_KPRIOR_FALLBACK
                                                              : KSISS_KPRIOR_UNSET;
    if (!json_is_object(o) || src == KSISS_KPRIOR_UNSET || !json_is_number(k) || !(json_number_value(k) > 0) ||
        !isfinite(json_number_value(k)) || !json_is_number(sd) || !(json_number_value(sd) >= 0) ||
        !isfinite(json_number_value(sd)) || (c && !json_is_boolean(c))) {
        *err = ksiss_xasprintf("tier %s: k: expected {\"prior\": \"histogram\" or \"fallback\", \"k\": a number > 0, "
                               "\"sd\": a number >= 0, \"carried\": a boolean}", tier);
        return -1;
    }
    t->k_src = src;
    t->k0 = json_number_value(k);
    t->k_sd = json_number_value(sd);
    t->k_carried = c && json_is_true(c);
    return 0;
}

int ksiss_learner_from_json(ksiss_learner *L, const char *text, char **err)
{
    *err = NULL;
    json_error_t je;
    json_t *root = text ? json_loads(text, 0, &je) : NULL;
    if (!root) {
        *err = ksiss_xasprintf("not JSON: %s", text ? je.text : "empty");
        return -1;
    }
    ksiss_learner copy = *L;
    int rc = 0;
    const json_t *v = json_object_get(root, "v"), *unit = json_object_get(root, "unit");
    json_t *tiers = json_object_get(root, "tiers");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        *err = ksiss_xstrdup("\"v\": expected 1");
        rc = -1;
    } else if (!json_is_number(unit) || !isfinite(json_number_value(unit)) || json_number_value(unit) < 0) {
        *err = ksiss_xstrdup("\"unit\": expected a number >= 0");
        rc = -1;
    } else if (!json_is_object(tiers)) {
        *err = ksiss_xstrdup("\"tiers\": expected an object");
        rc = -1;
    } else {
        if (!(copy.unit > 0))
            copy.unit = json_number_value(unit);
        const char *name;
        json_t *o;
        json_object_foreach(tiers, name, o) {
            ksiss_learn_tier *t = NULL;
            for (size_t i = 0; i < copy.n && !t; i++)
                if (!strcmp(copy.tiers[i].tier->name, name))
                    t = &copy.tiers[i];
            if (!t)
                continue;   /* a tier no longer on the ladder */
            const json_t *p = json_object_get(o, "prefill"), *d = json_object_get(o, "decode");
            if ((p && filter_from(p, &t->prefill, name, "prefill", err) != 0) ||
                (d && filter_from(d, &t->decode, name, "decode", err) != 0) ||
                k_from(json_object_get(o, "k"), t, name, err) != 0) {
                rc = -1;
                break;
            }
        }
    }
    json_decref(root);
    if (rc == 0)
        *L = copy;
    return rc;
}
