/* sim_oracle.c: the simulator-side baselines that know the whole trace:
 * the candidate deployments (the service's ladder x instances that fit the
 * cluster), the oracle (each 1-minute window simulated on candidates,
 * then a dynamic program over the windows, a multiple-choice knapsack on
 * the violation budget) and `static` (the cheapest fixed deployment that
 * meets the target, searched from the oracle's per-window minima).
 * docs/simulator.md says why the oracle is a lower bound. */
#include "core/sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static int cmp_deployment(const void *a, const void *b)
{
    const deployment *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    double cx = x->tier->decode_rel * x->replicas, cy = y->tier->decode_rel * y->replicas;
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return x->tier->rank - y->tier->rank;
}

void simoracle_enumerate(const ksiss_sim_opts *o, oracle_data *od)
{
    const ksiss_service_cfg *svc = o->svc;
    int min_r = svc->min_replicas > 1 ? svc->min_replicas : 1;
    int max_r = svc->max_replicas > min_r ? svc->max_replicas : min_r;
    if (max_r > 64)
        max_r = 64;
    size_t cap = svc->n_ladder * (size_t)(max_r - min_r + 1) + 1;
    od->cands = ksiss_xcalloc(cap, sizeof(*od->cands));
    for (size_t i = 0; i < svc->n_ladder; i++) {
        const ksiss_tier *t = svc->ladder[i];
        if (!t || !ksiss_sim_fits(o->profile, t))
            continue;
        if (svc->model_memory_gib > 0 && t->mem_gib + 1e-9 < svc->model_memory_gib)
            continue;
        long long total = simplace_pool_total_for(o->cluster, t);
        for (int r = min_r; r <= max_r; r++) {
            if ((long long)r * (t->count > 0 ? t->count : 1) > total)
                break;
            deployment dp = { t, r, t->cost * r };
            od->cands[od->ncands++] = dp;
        }
    }
    qsort(od->cands, od->ncands, sizeof(*od->cands), cmp_deployment);
}

static long violations_of(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, const oracle_data *od,
                          size_t k, deployment dp, size_t *rej)
{
    size_t a = od->wr[k], b = od->wr[k + 1];
    world w;
    simworld_init(&w, o, pl, reqs, a, b, dp, (double)k * od->win_s, false);
    simworld_run(&w, NULL, (double)k * od->win_s);
    simworld_free(&w);
    return (long)simrun_window_violations(pl, reqs, a, b, rej);
}

/* Simulates each window on candidates in cost order until one serves every
 * request it can within the SLO; then picks, by dynamic programming over the
 * windows, the cheapest schedule whose total violations stay within the
 * attainment target (a multiple-choice knapsack). */
void simoracle_compute(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                       oracle_data *od)
{
    od->win_s = o->oracle_window_ms / 1000.0;
    od->nwin = (size_t)llround(pl->horizon / od->win_s);
    if (od->nwin < 1)
        od->nwin = 1;
    od->wr = ksiss_xcalloc(od->nwin + 1, sizeof(*od->wr));
    size_t j = 0;
    for (size_t k = 0; k <= od->nwin; k++) {
        double from = (double)k * od->win_s;
        while (j < n && reqs[j].arrival < from)
            j++;
        od->wr[k] = k == od->nwin ? n : j;
    }
    size_t C = od->ncands;
    od->viol = ksiss_xmalloc(od->nwin * C * sizeof(*od->viol));
    od->rej = ksiss_xcalloc(od->nwin, sizeof(*od->rej));
    od->meets = ksiss_xcalloc(od->nwin, sizeof(*od->meets));
    od->choice = ksiss_xcalloc(od->nwin, sizeof(*od->choice));
    for (size_t k = 0; k < od->nwin; k++) {
        size_t nk = od->wr[k + 1] - od->wr[k];
        double allowed = (1.0 - o->slo_target) * (double)nk;
        od->meets[k] = (size_t)-1;
        for (size_t c = 0; c < C; c++)
            od->viol[k * C + c] = -1;
        if (nk == 0) {
            od->viol[k * C] = 0;
            od->meets[k] = 0;
            continue;
        }
        for (size_t c = 0; c < C; c++) {
            size_t rej;
            long v = violations_of(o, pl, reqs, od, k, od->cands[c], &rej);
            od->viol[k * C + c] = v;
            od->rej[k] = rej;
            if (od->meets[k] == (size_t)-1 && (double)v <= allowed + 1e-9)
                od->meets[k] = c;
            if ((size_t)v <= rej)
                break;  /* every request it could serve met the SLO: dearer ones add nothing */
        }
        if (od->meets[k] == (size_t)-1) {
            /* Nothing meets the target here: the cheapest with the fewest misses. */
            size_t best = 0;
            for (size_t c = 1; c < C && od->viol[k * C + c] >= 0; c++)
                if (od->viol[k * C + c] < od->viol[k * C + best])
                    best = c;
            od->meets[k] = best;
        }
    }
    /* Dynamic programming over the violation budget. */
    size_t budget = (size_t)floor((1.0 - o->slo_target) * (double)n + 1e-9);
    size_t scale = 1;
    while ((budget / scale + 1) * od->nwin > 4000000)
        scale++;
    size_t B = budget / scale;
    double *dp = ksiss_xmalloc((B + 1) * sizeof(*dp));
    double *nx = ksiss_xmalloc((B + 1) * sizeof(*nx));
    int *back = ksiss_xmalloc(od->nwin * (B + 1) * sizeof(*back));
    for (size_t b = 0; b <= B; b++)
        dp[b] = 0;
    bool feasible = true;
    for (size_t k = 0; k < od->nwin && feasible; k++) {
        for (size_t b = 0; b <= B; b++) {
            nx[b] = INFINITY;
            back[k * (B + 1) + b] = -1;
            for (size_t c = 0; c < C; c++) {
                long v = od->viol[k * C + c];
                if (v < 0)
                    v = (long)od->rej[k];
                size_t units = ((size_t)v + scale - 1) / scale;
                if (units > b || !isfinite(dp[b - units]))
                    continue;
                double cost = dp[b - units] + od->cands[c].cost;
                if (cost < nx[b] - 1e-12) {
                    nx[b] = cost;
                    back[k * (B + 1) + b] = (int)c;
                }
            }
        }
        memcpy(dp, nx, (B + 1) * sizeof(*dp));
        if (!isfinite(dp[B]))
            feasible = false;
    }
    if (feasible) {
        size_t b = B;
        for (size_t k = od->nwin; k-- > 0;) {
            int c = back[k * (B + 1) + b];
            od->choice[k] = (size_t)c;
            long v = od->viol[k * C + (size_t)c];
            if (v < 0)
                v = (long)od->rej[k];
            b -= ((size_t)v + scale - 1) / scale;
        }
    } else {
        /* The target cannot be met at all: the fewest violations, cheapest first. */
        for (size_t k = 0; k < od->nwin; k++) {
            size_t best = 0;
            for (size_t c = 0; c < C; c++) {
                long v = od->viol[k * C + c], bv = od->viol[k * C + best];
                if (v < 0)
                    v = (long)od->rej[k];
                if (bv < 0)
                    bv = (long)od->rej[k];
                if (v < bv)
                    best = c;
            }
            od->choice[k] = best;
        }
    }
    free(dp);
    free(nx);
    free(back);
}

void simoracle_free(oracle_data *od)
{
    free(od->cands);
    free(od->wr);
    free(od->viol);
    free(od->rej);
    free(od->meets);
    free(od->choice);
}

static void push_sample(ksiss_sim_result *res, size_t *cap, const ksiss_sim_sample *s)
{
    if (res->n_samples == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        res->samples = ksiss_xrealloc(res->samples, *cap * sizeof(*res->samples));
    }
    res->samples[res->n_samples++] = *s;
}

void simoracle_result(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                      const oracle_data *od, ksiss_sim_result *res)
{
    tally t = { 0 };
    double cost_s = 0;
    for (size_t k = 0; k < od->nwin; k++) {
        deployment dp = od->cands[od->choice[k]];
        cost_s += dp.cost * od->win_s;
        if (k > 0 && od->choice[k] != od->choice[k - 1])
            res->transitions++;
        size_t rej;
        violations_of(o, pl, reqs, od, k, dp, &rej);
        simrun_tally_add(&t, pl, reqs, od->wr[k], od->wr[k + 1]);
    }
    res->gpu_hours = cost_s / 3600.0;
    /* Time series: the chosen deployment, and the SLO latency of the
     * requests that arrived within each scrape's window (reqs now hold the
     * chosen deployments' outcomes). */
    double scr = o->scrape_ms / 1000.0, win = o->window_ms / 1000.0;
    size_t cap = 0, lo = 0, hi = 0;
    double tokens = 0;
    double *buf = ksiss_xmalloc((n + 1) * sizeof(*buf));
    for (long s_k = 0; s_k * scr <= pl->horizon + 1e-9; s_k++) {
        double s = s_k * scr;
        while (hi < n && reqs[hi].arrival <= s)
            tokens += simobs_plot_tokens(pl, &reqs[hi++]);
        while (lo < hi && reqs[lo].arrival <= s - win)
            tokens -= simobs_plot_tokens(pl, &reqs[lo++]);
        size_t k = (size_t)(s / od->win_s);
        if (k >= od->nwin)
            k = od->nwin - 1;
        deployment dp = od->cands[od->choice[k]];
        size_t nb = 0;
        for (size_t i = lo; i < hi; i++) {
            double v = simobs_req_latency(&reqs[i], pl->slo_sig);
            if (!isnan(v))
                buf[nb++] = v;
        }
        ksiss_sim_sample smp = {
            .t_s = s,
            .demand_tps = tokens / win,
            .served_tps = tokens / win,
            .capacity_tps = dp.replicas * simobs_plot_capacity(pl, o->profile, dp.tier),
            .gpu_eq = dp.cost,
            .tier_rank = dp.tier->rank,
            .replicas = dp.replicas,
            .latency_s = simobs_quantile_sorting(buf, nb, pl->slo_q),
            .learned_tps = NAN,
            .learned_bound_tps = NAN,
            .true_tps = NAN,
        };
        push_sample(res, &cap, &smp);
    }
    free(buf);
    simrun_tally_fill(&t, res);
}

static double attainment_of(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n, deployment dp)
{
    world w;
    simworld_init(&w, o, pl, reqs, 0, n, dp, 0, false);
    simworld_run(&w, NULL, 0);
    simworld_free(&w);
    tally t = { 0 };
    simrun_tally_add(&t, pl, reqs, 0, n);
    double a = t.n ? (double)t.ok / (double)t.n : 1.0;
    free(t.lat);
    return a;
}

/* Misses of candidate c summed over the windows simulated alone (warm,
 * from an empty queue): a fixed deployment misses at least about that
 * over the whole trace. */
static double window_misses(const oracle_data *od, size_t c)
{
    double m = 0;
    for (size_t k = 0; k < od->nwin; k++) {
        long v = od->viol[k * od->ncands + c];
        m += v >= 0 ? (double)v : (double)od->rej[k];
    }
    return m;
}

/* The cheapest fixed deployment that meets the target over the whole
 * trace. First the candidates below the dearest per-window minimum whose
 * windows do not already miss more than the target allows (at a target
 * below 1 a fixed deployment may miss more in a burst and less elsewhere,
 * so the per-window minimum is no floor), then upward from that minimum;
 * 12 whole-trace runs at most in each; when none meets the target, the
 * one that came closest. */
deployment simoracle_static_search(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                                   const oracle_data *od)
{
    double floor_cost = 0;
    for (size_t k = 0; k < od->nwin; k++)
        floor_cost = fmax(floor_cost, od->cands[od->meets[k]].cost);
    double allowed = (1.0 - o->slo_target) * (double)n + 1e-9;
    deployment best = od->cands[od->ncands - 1];
    double best_a = -1;
    for (int phase = 0; phase < 2; phase++) {
        int tries = 0;
        for (size_t c = 0; c < od->ncands && tries < 12; c++) {
            bool below = od->cands[c].cost < floor_cost - 1e-9;
            if (phase == 0 ? !below || window_misses(od, c) > allowed : below)
                continue;
            tries++;
            double a = attainment_of(o, pl, reqs, n, od->cands[c]);
            if (a >= o->slo_target)
                return od->cands[c];
            if (a > best_a) {
                best_a = a;
                best = od->cands[c];
            }
        }
    }
    return best;
}
