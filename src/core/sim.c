/* sim.c: the simulation driver (see sim.h): the world around the decision
 * policy (router, instances, GPU placement, rolling tier changes, what
 * Prometheus would see), the `static` and `oracle` baselines, and the
 * metric-to-signal convention. docs/simulator.md explains the choices. */
#include "core/sim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "core/policy_baselines.h"
#include "core/util.h"

const char *const ksiss_sim_all_policies[] = { "ksiss", "seed", "horizontal", "static", "oracle", NULL };

void ksiss_sim_opts_default(ksiss_sim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->interval_ms = 10000;
    o->scrape_ms = 15000;
    o->window_ms = 60000;
    o->cold_start_ms = 60000;
    o->ready_timeout_ms = 600000;
    o->oracle_window_ms = 60000;
    o->drain_limit_ms = 1800000;
    o->slo_target = 0.99;
}

/* ---- metric convention ---- */

static bool has(const char *lower, const char *needle)
{
    return strstr(lower, needle) != NULL;
}

/* The quantile of a histogram_quantile(q, ...) query, or -1. */
static double query_quantile(const char *lower)
{
    const char *p = strstr(lower, "histogram_quantile(");
    if (!p)
        return -1;
    p += strlen("histogram_quantile(");
    while (*p == ' ')
        p++;
    const char *e = p;
    while ((*e >= '0' && *e <= '9') || *e == '.')
        e++;
    if (e == p || e - p > 30)
        return -1;
    char num[32];
    memcpy(num, p, (size_t)(e - p));
    num[e - p] = '\0';
    double q;
    if (ksiss_parse_double(num, &q) != 0 || !(q > 0) || !(q < 1))
        return -1;
    return q;
}

static int map_text(const char *text, ksiss_sim_metric_map *out)
{
    size_t n = strlen(text);
    char *l = ksiss_xmalloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        l[i] = (char)tolower((unsigned char)text[i]);
    int found = 0;
    out->quantile = -1;
    if (has(l, "time_to_first_token") || has(l, "ttft")) {
        out->sig = KSISS_SIG_TTFT;
        found = 1;
    } else if (has(l, "time_per_output_token") || has(l, "time_per_token") || has(l, "inter_token") ||
               has(l, "tpot")) {
        out->sig = KSISS_SIG_TPOT;
        found = 1;
    } else if (has(l, "e2e") || has(l, "request_latency") || has(l, "request_duration")) {
        out->sig = KSISS_SIG_E2E;
        found = 1;
    } else if (has(l, "queue_time") || has(l, "queue_duration")) {
        out->sig = KSISS_SIG_QUEUE_TIME;
        found = 1;
    } else if (has(l, "num_requests_waiting") || has(l, "queue_size") || has(l, "queue")) {
        out->sig = KSISS_SIG_QUEUE;
        found = 1;
    } else if (has(l, "num_requests_running") || has(l, "batch_current_size")) {
        out->sig = KSISS_SIG_RUNNING;
        found = 1;
    } else if (has(l, "kv_cache_usage") || has(l, "cache_usage")) {
        out->sig = KSISS_SIG_KV;
        found = 1;
    } else if (has(l, "generation_tokens") || has(l, "generated_tokens")) {
        out->sig = KSISS_SIG_GEN_RATE;
        found = 1;
    } else if (has(l, "prompt_tokens")) {
        out->sig = KSISS_SIG_PROMPT_RATE;
        found = 1;
    } else if (has(l, "request_success") || has(l, "requests_total") || has(l, "request_count")) {
        out->sig = KSISS_SIG_REQ_RATE;
        found = 1;
    }
    if (found && ksiss_sim_signal_per_request(out->sig))
        out->quantile = query_quantile(l);
    free(l);
    return found ? 0 : -1;
}

int ksiss_sim_map_metric(const char *name, const char *query, ksiss_sim_metric_map *out, char **err)
{
    if (query && map_text(query, out) == 0)
        return 0;
    if (name && map_text(name, out) == 0)
        return 0;
    *err = ksiss_xasprintf("metric %s: the simulator cannot tell what the query measures (%s); "
                           "name a vLLM/TGI series (time_to_first_token, time_per_output_token, e2e, "
                           "queue, num_requests_running, kv_cache_usage, generation_tokens, prompt_tokens, "
                           "request_success) as docs/simulator.md explains",
                           name ? name : "(unnamed)", query ? query : "no query");
    return -1;
}

bool ksiss_sim_signal_per_request(ksiss_sim_signal s)
{
    return s == KSISS_SIG_TTFT || s == KSISS_SIG_TPOT || s == KSISS_SIG_E2E || s == KSISS_SIG_QUEUE_TIME;
}

const char *ksiss_sim_signal_name(ksiss_sim_signal s)
{
    switch (s) {
    case KSISS_SIG_TTFT: return "TTFT";
    case KSISS_SIG_TPOT: return "TPOT";
    case KSISS_SIG_E2E: return "e2e latency";
    case KSISS_SIG_QUEUE_TIME: return "queue time";
    case KSISS_SIG_QUEUE: return "queue length";
    case KSISS_SIG_RUNNING: return "running requests";
    case KSISS_SIG_KV: return "KV-cache use";
    case KSISS_SIG_GEN_RATE: return "generated tokens/s";
    case KSISS_SIG_PROMPT_RATE: return "prompt tokens/s";
    case KSISS_SIG_REQ_RATE: return "requests/s";
    }
    return "?";
}

/* ---- small numeric helpers ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile (linear between closest ranks) of v[0..n), sorting v. NAN for n == 0. */
static double quantile_sorting(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(*v), cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n)
        return v[n - 1];
    double f = pos - (double)i;
    return v[i] + (v[i + 1] - v[i]) * f;
}

/* Per-request latency of signal s, NAN when it did not happen. */
static double req_latency(const ksiss_sim_req *r, ksiss_sim_signal s)
{
    switch (s) {
    case KSISS_SIG_TTFT: return r->first_token - r->arrival;
    case KSISS_SIG_TPOT:
        if (isnan(r->finished))
            return NAN;
        return r->out_tokens > 1 ? (r->finished - r->first_token) / (r->out_tokens - 1) : 0;
    case KSISS_SIG_E2E: return r->finished - r->arrival;
    case KSISS_SIG_QUEUE_TIME: return r->admitted - r->arrival;
    default: return NAN;
    }
}

/* ---- the world ---- */

typedef enum { ST_PENDING = 0, ST_STARTING, ST_READY, ST_DRAINING } inst_state;

typedef struct {
    ksiss_sim_instance m;
    const ksiss_tier *tier;
    int rev;
    inst_state st;
    int pool;               /* -1 while pending */
    double placed;
    double ready_at;
} inst;

typedef struct {
    double t, v;
} rec;

typedef struct {
    rec *v;
    size_t n, cap, lo;
} rec_stream;

typedef struct {
    double t, gen, prompt, done;
} counter_sample;

/* What the run needs to know about the service's metrics. */
typedef struct {
    ksiss_sim_metric_map *maps;     /* one per svc metric */
    ksiss_sim_metric_map load;      /* when svc->has_load */
    int slo_metric;                 /* index of the metric the SLO attainment uses */
    ksiss_sim_signal slo_sig;
    double slo_s;
    double slo_q;                   /* its quantile for the plots (0.95 when a mean) */
    double horizon;
    bool plot_prefill;              /* plots in prompt tokens (the load signal's unit) */
} plan;

typedef struct {
    const ksiss_sim_opts *o;
    const plan *pl;
    const char *policy;             /* name, for on_decision */
    ksiss_sim_req *reqs;            /* borrowed from the caller */
    size_t r0, r1;                  /* requests [r0, r1) are replayed */
    size_t next_arrival;
    size_t done;                    /* finished or rejected */
    size_t rejected;

    inst *ins;
    size_t nins, inscap;
    long long *pool_used;

    int cur_rev;
    const ksiss_tier *cur_tier;
    bool in_transition;
    double transition_started;

    size_t *central;                /* requests waiting for any serving instance */
    size_t ncentral, centralcap;
    size_t *scratch;
    size_t nscratch, scratchcap;

    rec_stream streams[4];          /* TTFT, TPOT, E2E, QUEUE_TIME records */
    bool record;                    /* keep the streams (policy runs) */
    counter_sample *cs;
    size_t ncs, cscap;
    double retired_gen, retired_prompt, done_count;
    /* gauges at the last scrape: sum, max, count over serving instances */
    double g_sum[3], g_max[3];
    int g_n;
    double last_scrape;

    double cost_s;                  /* cost weight x seconds within the horizon */
    long transitions, ignored, rollbacks, policy_errors;

    ksiss_sim_sample *samples;
    size_t nsamples, samplecap;
    size_t demand_lo;
    double demand_tokens;           /* tokens (plan's unit) of the arrivals within the window */
} world;

static void stream_push(rec_stream *s, double t, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = ksiss_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n].t = t;
    s->v[s->n].v = v;
    s->n++;
}

static int stream_of(ksiss_sim_signal s)
{
    switch (s) {
    case KSISS_SIG_TTFT: return 0;
    case KSISS_SIG_TPOT: return 1;
    case KSISS_SIG_E2E: return 2;
    case KSISS_SIG_QUEUE_TIME: return 3;
    default: return -1;
    }
}

static void on_admitted(void *ctx, const ksiss_sim_req *r, size_t idx)
{
    world *w = ctx;
    (void)idx;
    if (w->record)
        stream_push(&w->streams[3], r->admitted, r->admitted - r->arrival);
}

static void on_first(void *ctx, const ksiss_sim_req *r, size_t idx)
{
    world *w = ctx;
    (void)idx;
    if (w->record)
        stream_push(&w->streams[0], r->first_token, r->first_token - r->arrival);
}

static void on_finished(void *ctx, const ksiss_sim_req *r, size_t idx)
{
    world *w = ctx;
    (void)idx;
    w->done++;
    w->done_count += 1;
    if (w->record) {
        if (r->out_tokens > 1)
            stream_push(&w->streams[1], r->finished, (r->finished - r->first_token) / (r->out_tokens - 1));
        stream_push(&w->streams[2], r->finished, r->finished - r->arrival);
    }
}

static void on_rejected(void *ctx, const ksiss_sim_req *r, size_t idx)
{
    world *w = ctx;
    (void)r;
    (void)idx;
    w->done++;
    w->rejected++;
}

static ksiss_sim_listener listener_of(world *w)
{
    ksiss_sim_listener l = { w, on_admitted, on_first, on_finished, on_rejected };
    return l;
}

/* ---- GPUs ---- */

static bool pool_matches(const ksiss_sim_pool *p, const ksiss_tier *t)
{
    if (strcmp(p->resource, t->resource) != 0)
        return false;
    return !p->gpu_model || !t->gpu_model || !strcmp(p->gpu_model, t->gpu_model);
}

static long long pool_total_for(const ksiss_sim_cluster *c, const ksiss_tier *t)
{
    long long n = 0;
    for (size_t i = 0; i < c->n; i++)
        if (pool_matches(&c->v[i], t))
            n += c->v[i].units;
    return n;
}

/* Adds the cost of holding x's GPU from its placement up to `until` (both
 * clipped to the horizon). */
static void charge(world *w, const inst *x, double until)
{
    double a = fmin(x->placed, w->pl->horizon), b = fmin(until, w->pl->horizon);
    if (b > a)
        w->cost_s += x->tier->cost * (b - a);
}

static void try_place(world *w, inst *x, double now)
{
    const ksiss_sim_cluster *c = w->o->cluster;
    long long need = x->tier->count > 0 ? x->tier->count : 1;
    for (size_t i = 0; i < c->n; i++) {
        if (!pool_matches(&c->v[i], x->tier) || c->v[i].units - w->pool_used[i] < need)
            continue;
        w->pool_used[i] += need;
        x->pool = (int)i;
        x->placed = now;
        x->st = ST_STARTING;
        x->ready_at = ksiss_sim_fits(w->o->profile, x->tier) ? now + w->o->cold_start_ms / 1000.0 : INFINITY;
        ksiss_sim_instance_init(&x->m, w->o->profile, x->tier, now);
        return;
    }
}

static void place_pending(world *w, double now)
{
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_PENDING)
            try_place(w, &w->ins[i], now);
}

static inst *add_instance(world *w, const ksiss_tier *t, int rev, double now, bool ready)
{
    if (w->nins == w->inscap) {
        w->inscap = w->inscap ? w->inscap * 2 : 16;
        w->ins = ksiss_xrealloc(w->ins, w->inscap * sizeof(*w->ins));
    }
    inst *x = &w->ins[w->nins++];
    memset(x, 0, sizeof(*x));
    x->tier = t;
    x->rev = rev;
    x->pool = -1;
    x->st = ST_PENDING;
    try_place(w, x, now);
    if (ready && x->st == ST_STARTING && isfinite(x->ready_at)) {
        x->st = ST_READY;
        x->ready_at = now;
    }
    return x;
}

/* Removes instance i (its GPU is freed; its queue must be empty). */
static void remove_instance(world *w, size_t i, double now)
{
    inst *x = &w->ins[i];
    if (x->st != ST_PENDING) {
        charge(w, x, now);
        w->pool_used[x->pool] -= x->tier->count > 0 ? x->tier->count : 1;
        w->retired_gen += x->m.gen_tokens;
        w->retired_prompt += x->m.prompt_tokens;
        ksiss_sim_instance_free(&x->m);
    }
    w->ins[i] = w->ins[--w->nins];
}

/* ---- routing ---- */

static void route(world *w, size_t idx)
{
    inst *best = NULL;
    size_t best_out = 0;
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st != ST_READY)
            continue;
        size_t o = ksiss_sim_instance_outstanding(&x->m);
        if (!best || o < best_out) {
            best = x;
            best_out = o;
        }
    }
    if (best) {
        ksiss_sim_instance_enqueue(&best->m, idx);
        return;
    }
    if (w->ncentral == w->centralcap) {
        w->centralcap = w->centralcap ? w->centralcap * 2 : 64;
        w->central = ksiss_xrealloc(w->central, w->centralcap * sizeof(*w->central));
    }
    w->central[w->ncentral++] = idx;
}

static bool any_ready(const world *w)
{
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_READY)
            return true;
    return false;
}

static void dispatch_central(world *w)
{
    if (w->ncentral == 0 || !any_ready(w))
        return;
    size_t n = w->ncentral;
    size_t *tmp = ksiss_xmalloc(n * sizeof(*tmp));
    memcpy(tmp, w->central, n * sizeof(*tmp));
    w->ncentral = 0;
    for (size_t i = 0; i < n; i++)
        route(w, tmp[i]);
    free(tmp);
}

/* Stops sending to instance x; its waiting requests go elsewhere. */
static void drain(world *w, inst *x)
{
    x->st = ST_DRAINING;
    w->nscratch = 0;
    ksiss_sim_instance_take_queue(&x->m, &w->scratch, &w->nscratch, &w->scratchcap);
    for (size_t i = 0; i < w->nscratch; i++)
        route(w, w->scratch[i]);
}

/* Removes drained instances that have nothing left. */
static void reap(world *w, double now)
{
    bool freed = false;
    for (size_t i = 0; i < w->nins;) {
        inst *x = &w->ins[i];
        if (x->st == ST_DRAINING && ksiss_sim_instance_outstanding(&x->m) == 0) {
            remove_instance(w, i, fmax(now, x->m.clock));
            freed = true;
            continue;
        }
        i++;
    }
    if (freed)
        place_pending(w, now);
}

/* Takes instance x out of service: pending or starting ones go at once,
 * serving ones drain. */
static void retire(world *w, size_t i, double now)
{
    inst *x = &w->ins[i];
    if (x->st == ST_PENDING || x->st == ST_STARTING) {
        remove_instance(w, i, now);
        place_pending(w, now);
    } else if (x->st == ST_READY) {
        drain(w, x);
    }
}

static size_t least_busy_ready(const world *w, int rev)
{
    size_t best = (size_t)-1, best_out = 0;
    for (size_t i = 0; i < w->nins; i++) {
        const inst *x = &w->ins[i];
        if (x->rev != rev || x->st != ST_READY)
            continue;
        size_t o = ksiss_sim_instance_outstanding(&x->m);
        if (best == (size_t)-1 || o < best_out) {
            best = i;
            best_out = o;
        }
    }
    return best;
}

/* Finds an instance of `rev` in state st, preferring the newest. */
static size_t find_state(const world *w, int rev, inst_state st)
{
    for (size_t i = w->nins; i-- > 0;)
        if (w->ins[i].rev == rev && w->ins[i].st == st)
            return i;
    return (size_t)-1;
}

static void count_rev(const world *w, int rev, int *pending, int *starting, int *ready)
{
    *pending = *starting = *ready = 0;
    for (size_t i = 0; i < w->nins; i++) {
        const inst *x = &w->ins[i];
        if (x->rev != rev)
            continue;
        if (x->st == ST_PENDING)
            (*pending)++;
        else if (x->st == ST_STARTING)
            (*starting)++;
        else if (x->st == ST_READY)
            (*ready)++;
    }
}

/* Old revisions still serving (not draining). */
static size_t old_serving(const world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].rev != w->cur_rev && w->ins[i].st != ST_DRAINING)
            n++;
    return n;
}

static void retire_old(world *w, double now, size_t how_many)
{
    while (how_many-- > 0) {
        size_t pick = (size_t)-1;
        /* pending/starting old instances first, then the least busy ready one */
        for (size_t i = 0; i < w->nins && pick == (size_t)-1; i++)
            if (w->ins[i].rev != w->cur_rev && (w->ins[i].st == ST_PENDING || w->ins[i].st == ST_STARTING))
                pick = i;
        if (pick == (size_t)-1) {
            size_t best_out = 0;
            for (size_t i = 0; i < w->nins; i++) {
                inst *x = &w->ins[i];
                if (x->rev == w->cur_rev || x->st != ST_READY)
                    continue;
                size_t o = ksiss_sim_instance_outstanding(&x->m);
                if (pick == (size_t)-1 || o < best_out) {
                    pick = i;
                    best_out = o;
                }
            }
        }
        if (pick == (size_t)-1)
            return;
        retire(w, pick, now);
    }
}

/* Instances whose cold start is over become ready; a rolling tier change
 * retires one old instance per new one ready, and completes (or rolls
 * back after the ready timeout). */
static void handle_ready(world *w, double now)
{
    bool any = false;
    size_t newly_cur = 0;
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st == ST_STARTING && x->ready_at <= now) {
            x->st = ST_READY;
            x->m.clock = fmax(x->m.clock, x->ready_at);
            any = true;
            if (x->rev == w->cur_rev)
                newly_cur++;
        }
    }
    if (any)
        dispatch_central(w);
    if (!w->in_transition)
        return;
    int pend, start, ready;
    count_rev(w, w->cur_rev, &pend, &start, &ready);
    if (pend + start == 0) {
        retire_old(w, now, old_serving(w));
        w->in_transition = false;
    } else if (newly_cur > 0) {
        retire_old(w, now, newly_cur);
    }
    if (w->in_transition && now >= w->transition_started + w->o->ready_timeout_ms / 1000.0) {
        /* Knative's progress deadline: give up on what is not ready. */
        for (size_t i = 0; i < w->nins;) {
            inst *x = &w->ins[i];
            if (x->rev == w->cur_rev && (x->st == ST_PENDING || x->st == ST_STARTING)) {
                remove_instance(w, i, now);
                continue;
            }
            i++;
        }
        if (ready == 0) {
            /* Roll back: the old revision becomes current again. */
            int old_rev = -1;
            for (size_t i = 0; i < w->nins; i++)
                if (w->ins[i].st != ST_DRAINING && w->ins[i].rev != w->cur_rev)
                    old_rev = w->ins[i].rev;
            if (old_rev >= 0) {
                w->cur_rev = old_rev;
                for (size_t i = 0; i < w->nins; i++)
                    if (w->ins[i].rev == old_rev) {
                        w->cur_tier = w->ins[i].tier;
                        break;
                    }
            }
            w->rollbacks++;
        } else {
            retire_old(w, now, old_serving(w));
        }
        w->in_transition = false;
        place_pending(w, now);
    }
}

static double next_ready(const world *w)
{
    double t = INFINITY;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st == ST_STARTING && w->ins[i].ready_at < t)
            t = w->ins[i].ready_at;
    if (w->in_transition) {
        double dl = w->transition_started + w->o->ready_timeout_ms / 1000.0;
        if (dl < t)
            t = dl;
    }
    return t;
}

static void advance_all(world *w, double now)
{
    ksiss_sim_listener l = listener_of(w);
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st == ST_READY || x->st == ST_DRAINING)
            ksiss_sim_instance_advance(&x->m, w->reqs, now, &l);
    }
}

/* ---- what Prometheus sees ---- */

static double totals(const world *w, int which)
{
    double s = which == 0 ? w->retired_gen : w->retired_prompt;
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st != ST_PENDING)
            s += which == 0 ? w->ins[i].m.gen_tokens : w->ins[i].m.prompt_tokens;
    return s;
}

static double window_quantile(world *w, ksiss_sim_signal sig, double q, double end, double **buf, size_t *bufcap)
{
    int si = stream_of(sig);
    if (si < 0)
        return NAN;
    rec_stream *s = &w->streams[si];
    double from = end - w->o->window_ms / 1000.0;
    /* Records arrive nearly in time order: the slack covers prefills that
     * ran past the event time. */
    while (s->lo < s->n && s->v[s->lo].t < from - 600)
        s->lo++;
    size_t n = 0;
    double sum = 0;
    for (size_t i = s->lo; i < s->n; i++) {
        if (s->v[i].t <= from || s->v[i].t > end)
            continue;
        if (n == *bufcap) {
            *bufcap = *bufcap ? *bufcap * 2 : 1024;
            *buf = ksiss_xrealloc(*buf, *bufcap * sizeof(**buf));
        }
        (*buf)[n++] = s->v[i].v;
        sum += s->v[i].v;
    }
    if (n == 0)
        return NAN;
    if (q < 0)
        return sum / n;
    return quantile_sorting(*buf, n, q);
}

static void scrape(world *w, double s)
{
    if (w->ncs == w->cscap) {
        w->cscap = w->cscap ? w->cscap * 2 : 512;
        w->cs = ksiss_xrealloc(w->cs, w->cscap * sizeof(*w->cs));
    }
    counter_sample *c = &w->cs[w->ncs++];
    c->t = s;
    c->gen = totals(w, 0);
    c->prompt = totals(w, 1);
    c->done = w->done_count;
    memset(w->g_sum, 0, sizeof(w->g_sum));
    memset(w->g_max, 0, sizeof(w->g_max));
    w->g_n = 0;
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st != ST_READY && x->st != ST_DRAINING)
            continue;
        double g[3] = { (double)x->m.qlen, (double)x->m.nrun,
                        x->m.kv_cap_tokens > 0 ? x->m.kv_used / x->m.kv_cap_tokens : 0 };
        for (int k = 0; k < 3; k++) {
            w->g_sum[k] += g[k];
            if (g[k] > w->g_max[k])
                w->g_max[k] = g[k];
        }
        w->g_n++;
    }
    w->last_scrape = s;
}

/* Rate of counter `which` (0 gen, 1 prompt, 2 done) over the window ending
 * at the last scrape. */
static double counter_rate(const world *w, int which)
{
    if (w->ncs == 0)
        return NAN;
    const counter_sample *last = &w->cs[w->ncs - 1];
    double from = last->t - w->o->window_ms / 1000.0;
    const counter_sample *first = &w->cs[0];
    for (size_t i = w->ncs; i-- > 0;)
        if (w->cs[i].t <= from + 1e-9) {
            first = &w->cs[i];
            break;
        }
    double dt = last->t - first->t;
    if (dt <= 0)
        return NAN;
    double a = which == 0 ? first->gen : which == 1 ? first->prompt : first->done;
    double b = which == 0 ? last->gen : which == 1 ? last->prompt : last->done;
    return (b - a) / dt;
}

static double gauge(const world *w, int k, ksiss_aggregate agg)
{
    if (w->g_n == 0)
        return NAN;
    switch (agg) {
    case KSISS_AGG_SUM: return w->g_sum[k];
    case KSISS_AGG_AVG: return w->g_sum[k] / w->g_n;
    case KSISS_AGG_MAX: return w->g_max[k];
    }
    return w->g_max[k];
}

static double observe(world *w, const ksiss_sim_metric_map *m, ksiss_aggregate agg, double **buf, size_t *bufcap)
{
    if (w->ncs == 0)
        return NAN;
    switch (m->sig) {
    case KSISS_SIG_TTFT:
    case KSISS_SIG_TPOT:
    case KSISS_SIG_E2E:
    case KSISS_SIG_QUEUE_TIME:
        return window_quantile(w, m->sig, m->quantile, w->last_scrape, buf, bufcap);
    case KSISS_SIG_QUEUE: return gauge(w, 0, agg);
    case KSISS_SIG_RUNNING: return gauge(w, 1, agg);
    case KSISS_SIG_KV: return gauge(w, 2, agg);
    case KSISS_SIG_GEN_RATE: return counter_rate(w, 0);
    case KSISS_SIG_PROMPT_RATE: return counter_rate(w, 1);
    case KSISS_SIG_REQ_RATE: return counter_rate(w, 2);
    }
    return NAN;
}

/* Tokens of request r in the plots' unit, and one tier's capacity in it. */
static double plot_tokens(const plan *pl, const ksiss_sim_req *r)
{
    return pl->plot_prefill ? r->in_tokens : r->out_tokens;
}

static double plot_capacity(const plan *pl, const ksiss_sim_profile *p, const ksiss_tier *t)
{
    if (!ksiss_sim_fits(p, t))
        return 0;
    return pl->plot_prefill ? p->prefill_tps * t->prefill_rel : ksiss_sim_decode_capacity(p, t);
}

static void take_sample(world *w, double s, double **buf, size_t *bufcap)
{
    double win = w->o->window_ms / 1000.0;
    while (w->next_arrival > w->demand_lo && w->demand_lo < w->r1 && w->reqs[w->demand_lo].arrival <= s - win) {
        w->demand_tokens -= plot_tokens(w->pl, &w->reqs[w->demand_lo]);
        w->demand_lo++;
    }
    if (w->nsamples == w->samplecap) {
        w->samplecap = w->samplecap ? w->samplecap * 2 : 512;
        w->samples = ksiss_xrealloc(w->samples, w->samplecap * sizeof(*w->samples));
    }
    ksiss_sim_sample *p = &w->samples[w->nsamples++];
    p->t_s = s;
    p->demand_tps = w->demand_tokens / win;
    p->served_tps = counter_rate(w, w->pl->plot_prefill ? 1 : 0);
    p->capacity_tps = 0;
    p->gpu_eq = 0;
    p->replicas = 0;
    for (size_t i = 0; i < w->nins; i++) {
        inst *x = &w->ins[i];
        if (x->st == ST_READY)
            p->capacity_tps += plot_capacity(w->pl, w->o->profile, x->tier);
        if (x->st != ST_PENDING)
            p->gpu_eq += x->tier->cost;
        if (x->rev == w->cur_rev && x->st != ST_PENDING && x->st != ST_DRAINING)
            p->replicas++;
    }
    p->tier_rank = w->cur_tier ? w->cur_tier->rank : -1;
    p->latency_s = window_quantile(w, w->pl->slo_sig, w->pl->slo_q, s, buf, bufcap);
}

/* ---- applying a decision ---- */

static void set_replicas(world *w, int want, double now)
{
    int pend, start, ready;
    count_rev(w, w->cur_rev, &pend, &start, &ready);
    int have = pend + start + ready;
    for (int k = have; k < want; k++)
        add_instance(w, w->cur_tier, w->cur_rev, now, false);
    for (int k = want; k < have; k++) {
        size_t i = find_state(w, w->cur_rev, ST_PENDING);
        if (i == (size_t)-1)
            i = find_state(w, w->cur_rev, ST_STARTING);
        if (i == (size_t)-1)
            i = least_busy_ready(w, w->cur_rev);
        if (i == (size_t)-1)
            break;
        retire(w, i, now);
    }
}

static void apply_decision(world *w, const ksiss_decision *d, double now)
{
    if (d->action == KSISS_HOLD)
        return;
    if (w->o->on_decision)
        w->o->on_decision(w->o->on_decision_ctx, w->policy, now, d, !w->in_transition);
    if (w->in_transition) {
        w->ignored++;
        return;
    }
    int pend, start, ready;
    count_rev(w, w->cur_rev, &pend, &start, &ready);
    int have = pend + start + ready;
    int want = d->replicas < 1 ? 1 : d->replicas;
    if (want > 4096)
        want = 4096;
    if (d->tier && d->tier != w->cur_tier) {
        w->cur_rev++;
        w->cur_tier = d->tier;
        w->in_transition = true;
        w->transition_started = now;
        for (int k = 0; k < want; k++)
            add_instance(w, d->tier, w->cur_rev, now, false);
        w->transitions++;
        return;
    }
    if (want != have) {
        set_replicas(w, want, now);
        w->transitions++;
    }
}

/* ---- one run ---- */

typedef struct {
    const ksiss_tier *tier;
    int replicas;
    double cost;
} deployment;

static void world_init(world *w, const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs,
                       size_t r0, size_t r1, deployment start, double t0, bool record)
{
    memset(w, 0, sizeof(*w));
    w->o = o;
    w->pl = pl;
    w->reqs = reqs;
    w->r0 = r0;
    w->r1 = r1;
    w->next_arrival = r0;
    w->demand_lo = r0;
    w->record = record;
    w->pool_used = ksiss_xcalloc(o->cluster->n ? o->cluster->n : 1, sizeof(*w->pool_used));
    for (size_t i = r0; i < r1; i++) {
        ksiss_sim_req *r = &reqs[i];
        r->admitted = r->first_token = r->finished = NAN;
        r->rejected = false;
    }
    w->cur_tier = start.tier;
    for (int k = 0; k < start.replicas; k++)
        add_instance(w, start.tier, 0, t0, true);
}

/* Frees everything (costs were charged by world_run). */
static void world_free(world *w)
{
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st != ST_PENDING)
            ksiss_sim_instance_free(&w->ins[i].m);
    free(w->ins);
    free(w->pool_used);
    free(w->central);
    free(w->scratch);
    for (int i = 0; i < 4; i++)
        free(w->streams[i].v);
    free(w->cs);
    free(w->samples);
}

/* Runs until every request is done (or the drain limit), calling the
 * policy at each tick when `decide` is set. Returns the end time. */
static double world_run(world *w, ksiss_decide_fn decide, double t0)
{
    const ksiss_sim_opts *o = w->o;
    const ksiss_service_cfg *svc = o->svc;
    double interval = o->interval_ms / 1000.0, scr = o->scrape_ms / 1000.0;
    double last_arrival = w->r1 > w->r0 ? w->reqs[w->r1 - 1].arrival : t0;
    double end_limit = fmax(last_arrival, w->pl->horizon) + o->drain_limit_ms / 1000.0;
    long tick_k = decide ? (long)floor(t0 / interval) + 1 : -1;
    long scrape_k = (long)ceil(t0 / scr);
    ksiss_history hist;
    ksiss_history_init(&hist);
    /* Sized as the controller is to size it (the windows at the tick),
     * so a window the sizing missed shows here as a moved result. */
    ksiss_history_reserve(&hist, ksiss_history_capacity(svc, o->interval_ms));
    ksiss_observation *obs = ksiss_xcalloc(svc->n_metrics ? svc->n_metrics : 1, sizeof(*obs));
    ksiss_free_gpu *freev = ksiss_xcalloc(o->cluster->n ? o->cluster->n : 1, sizeof(*freev));
    double *buf = NULL;
    size_t bufcap = 0;
    size_t total = w->r1 - w->r0;
    double now = t0;

    for (;;) {
        bool all_in = w->next_arrival >= w->r1;
        if (all_in) {
            bool idle = w->done >= total;
            if ((idle && now >= w->pl->horizon) || now >= end_limit)
                break;
            if (idle && !decide && !w->record)
                break;
        }
        double t_arr = all_in ? INFINITY : w->reqs[w->next_arrival].arrival;
        double t_tick = decide ? tick_k * interval : INFINITY;
        double t_scr = w->record ? scrape_k * scr : INFINITY;
        double t_rdy = next_ready(w);
        double t = fmin(fmin(t_arr, t_tick), fmin(t_scr, t_rdy));
        if (!decide && !w->record && all_in) {
            /* nothing left to wait for but the instances: let them finish */
            double fin = t_rdy;
            if (!isfinite(fin))
                fin = end_limit;
            t = fmin(fin, end_limit);
            /* advance in large steps until all done */
            advance_all(w, t);
            handle_ready(w, t);
            reap(w, t);
            now = t;
            if (w->done >= total)
                break;
            if (t >= end_limit)
                break;
            continue;
        }
        if (!isfinite(t))
            t = end_limit;
        if (t > end_limit)
            t = end_limit;
        now = t;
        advance_all(w, now);
        handle_ready(w, now);
        while (w->next_arrival < w->r1 && w->reqs[w->next_arrival].arrival <= now) {
            w->demand_tokens += plot_tokens(w->pl, &w->reqs[w->next_arrival]);
            route(w, w->next_arrival++);
        }
        if (w->record && now >= t_scr) {
            scrape(w, now);
            take_sample(w, now, &buf, &bufcap);
            scrape_k++;
        }
        if (decide && now >= t_tick) {
            int64_t now_ms = (int64_t)tick_k * o->interval_ms;
            for (size_t i = 0; i < svc->n_metrics; i++) {
                double v = observe(w, &w->pl->maps[i], svc->metrics[i].aggregate, &buf, &bufcap);
                obs[i].present = isfinite(v);
                obs[i].value = isfinite(v) ? v : NAN;
                obs[i].observed_at_ms = (int64_t)(w->last_scrape * 1000.0);
                obs[i].why_missing = isfinite(v) ? NULL : "no sample in the window";
            }
            ksiss_policy_input in;
            memset(&in, 0, sizeof(in));
            in.svc = svc;
            in.obs = obs;
            if (svc->has_load) {
                double v = observe(w, &w->pl->load, KSISS_AGG_SUM, &buf, &bufcap);
                in.load.present = isfinite(v);
                in.load.value = isfinite(v) ? v : NAN;
                in.load.observed_at_ms = (int64_t)(w->last_scrape * 1000.0);
                in.load.why_missing = isfinite(v) ? NULL : "no sample yet";
            } else {
                in.load.value = NAN;
            }
            int pend, start, ready;
            count_rev(w, w->cur_rev, &pend, &start, &ready);
            in.current.tier = w->cur_tier;
            in.current.replicas_ready = ready;
            in.current.replicas_starting = pend + start;
            in.current.transition_in_flight = w->in_transition;
            for (size_t i = 0; i < o->cluster->n; i++) {
                freev[i].resource = o->cluster->v[i].resource;
                freev[i].gpu_model = o->cluster->v[i].gpu_model;
                freev[i].free_units = o->cluster->v[i].units - w->pool_used[i];
            }
            in.free = freev;
            in.n_free = o->cluster->n;
            in.history = &hist;
            in.now_ms = now_ms;
            in.interval_ms = o->interval_ms;
            ksiss_decision d;
            memset(&d, 0, sizeof(d));
            if (decide(&in, &d) != 0) {
                w->policy_errors++;
                d.action = KSISS_HOLD;
            }
            apply_decision(w, &d, now);
            ksiss_history_record(&hist, &d, in.load.present ? in.load.value : NAN, now_ms);
            ksiss_decision_clear(&d);
            tick_k++;
        }
        reap(w, now);
    }
    /* Cost of what is still held, up to the horizon. */
    for (size_t i = 0; i < w->nins; i++)
        if (w->ins[i].st != ST_PENDING)
            charge(w, &w->ins[i], w->pl->horizon);
    free(buf);
    free(obs);
    free(freev);
    ksiss_history_free(&hist);
    return now;
}

/* ---- results ---- */

typedef struct {
    size_t n, ok, rejected, unfinished;
    double *lat;        /* served requests' SLO latencies */
    size_t nlat;
} tally;

static void tally_add(tally *t, const plan *pl, const ksiss_sim_req *reqs, size_t r0, size_t r1)
{
    t->lat = ksiss_xrealloc(t->lat, (t->nlat + (r1 - r0) + 1) * sizeof(*t->lat));
    for (size_t i = r0; i < r1; i++) {
        const ksiss_sim_req *r = &reqs[i];
        t->n++;
        if (r->rejected) {
            t->rejected++;
            continue;
        }
        double v = req_latency(r, pl->slo_sig);
        if (isnan(r->finished))
            t->unfinished++;
        if (isnan(v))
            continue;
        t->lat[t->nlat++] = v;
        if (!isnan(r->finished) && v <= pl->slo_s)
            t->ok++;
    }
}

static void tally_fill(tally *t, ksiss_sim_result *res)
{
    res->slo_attainment = t->n ? (double)t->ok / (double)t->n : 1.0;
    res->rejected = t->rejected;
    res->unfinished = t->unfinished;
    res->p95_latency_s = quantile_sorting(t->lat, t->nlat, 0.95);
    res->p99_latency_s = quantile_sorting(t->lat, t->nlat, 0.99);
    free(t->lat);
    t->lat = NULL;
}

static size_t window_violations(const plan *pl, const ksiss_sim_req *reqs, size_t r0, size_t r1, size_t *rej)
{
    size_t v = 0;
    *rej = 0;
    for (size_t i = r0; i < r1; i++) {
        const ksiss_sim_req *r = &reqs[i];
        if (r->rejected) {
            (*rej)++;
            v++;
            continue;
        }
        double x = req_latency(r, pl->slo_sig);
        if (isnan(r->finished) || isnan(x) || x > pl->slo_s)
            v++;
    }
    return v;
}

static char *deployment_name(deployment dp)
{
    return ksiss_xasprintf("%s x%d", dp.tier->name, dp.replicas);
}

/* ---- candidates, oracle and static ---- */

typedef struct {
    deployment *cands;      /* sorted by cost, then capacity (descending) */
    size_t ncands;
    size_t nwin;
    double win_s;
    size_t *wr;             /* window k holds requests [wr[k], wr[k+1]) */
    long *viol;             /* [k * ncands + c]: violations, -1 not simulated (treated as 0) */
    size_t *rej;            /* per window: requests every deployment rejected */
    size_t *meets;          /* per window: cheapest candidate meeting the target within it */
    size_t *choice;         /* per window: the oracle's pick */
} oracle_data;

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

static void enumerate(const ksiss_sim_opts *o, oracle_data *od)
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
        long long total = pool_total_for(o->cluster, t);
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
    world_init(&w, o, pl, reqs, a, b, dp, (double)k * od->win_s, false);
    world_run(&w, NULL, (double)k * od->win_s);
    world_free(&w);
    return (long)window_violations(pl, reqs, a, b, rej);
}

/* Simulates each window on candidates in cost order until one serves every
 * request it can within the SLO; then picks, by dynamic programming over the
 * windows, the cheapest schedule whose total violations stay within the
 * attainment target (a multiple-choice knapsack). */
static void oracle_compute(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
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

static void oracle_free(oracle_data *od)
{
    free(od->cands);
    free(od->wr);
    free(od->viol);
    free(od->rej);
    free(od->meets);
    free(od->choice);
}

/* ---- requests no deployment can serve within the SLO ---- */

/* The SLO latency request r gets alone on idle instance m (initialized,
 * empty): a lower bound under the model, since a batch only lengthens a
 * decode step and a prefill never runs beside another. INFINITY when it
 * fits no KV cache of the tier (rejected). */
static double idle_latency(const ksiss_sim_instance *m, const ksiss_sim_req *r, ksiss_sim_signal s)
{
    if ((double)r->in_tokens + r->out_tokens > m->kv_cap_tokens)
        return INFINITY;
    double prefill = r->in_tokens / m->prefill_tps;
    double decode = r->out_tokens > 1 ? (r->out_tokens - 1) * ksiss_sim_step_time(m, 1) : 0;
    switch (s) {
    case KSISS_SIG_TTFT: return prefill;
    case KSISS_SIG_TPOT: return r->out_tokens > 1 ? ksiss_sim_step_time(m, 1) : 0;
    case KSISS_SIG_E2E: return prefill + decode;
    case KSISS_SIG_QUEUE_TIME: return 0;
    default: return INFINITY;
    }
}

/* Counts the requests that miss the SLO even alone on an idle instance of
 * every candidate tier (the tiers of od->cands: the service's ladder,
 * holding the model, with GPUs in the cluster). A relative margin of 1e-9
 * keeps a request whose idle latency equals the SLO (up to rounding in
 * the event loop) attainable. */
static size_t count_unattainable(const ksiss_sim_opts *o, const plan *pl, const ksiss_sim_req *reqs, size_t n,
                                 const oracle_data *od)
{
    ksiss_sim_instance *m = ksiss_xcalloc(od->ncands, sizeof(*m));
    size_t nt = 0;
    for (size_t c = 0; c < od->ncands; c++) {
        bool seen = false;
        for (size_t j = 0; j < c && !seen; j++)
            seen = od->cands[j].tier == od->cands[c].tier;
        if (!seen)
            ksiss_sim_instance_init(&m[nt++], o->profile, od->cands[c].tier, 0);
    }
    double limit = pl->slo_s + 1e-9 * fmax(1.0, pl->slo_s);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (size_t t = 0; t < nt && !ok; t++)
            ok = idle_latency(&m[t], &reqs[i], pl->slo_sig) <= limit;
        if (!ok)
            bad++;
    }
    for (size_t t = 0; t < nt; t++)
        ksiss_sim_instance_free(&m[t]);
    free(m);
    return bad;
}

static void push_sample(ksiss_sim_result *res, size_t *cap, const ksiss_sim_sample *s)
{
    if (res->n_samples == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        res->samples = ksiss_xrealloc(res->samples, *cap * sizeof(*res->samples));
    }
    res->samples[res->n_samples++] = *s;
}

static void oracle_result(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
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
        tally_add(&t, pl, reqs, od->wr[k], od->wr[k + 1]);
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
            tokens += plot_tokens(pl, &reqs[hi++]);
        while (lo < hi && reqs[lo].arrival <= s - win)
            tokens -= plot_tokens(pl, &reqs[lo++]);
        size_t k = (size_t)(s / od->win_s);
        if (k >= od->nwin)
            k = od->nwin - 1;
        deployment dp = od->cands[od->choice[k]];
        size_t nb = 0;
        for (size_t i = lo; i < hi; i++) {
            double v = req_latency(&reqs[i], pl->slo_sig);
            if (!isnan(v))
                buf[nb++] = v;
        }
        ksiss_sim_sample smp = {
            .t_s = s,
            .demand_tps = tokens / win,
            .served_tps = tokens / win,
            .capacity_tps = dp.replicas * plot_capacity(pl, o->profile, dp.tier),
            .gpu_eq = dp.cost,
            .tier_rank = dp.tier->rank,
            .replicas = dp.replicas,
            .latency_s = quantile_sorting(buf, nb, pl->slo_q),
        };
        push_sample(res, &cap, &smp);
    }
    free(buf);
    tally_fill(&t, res);
}

/* Runs a fixed deployment over the whole trace (or with a policy). */
static void policy_result(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                          deployment start, ksiss_decide_fn decide, ksiss_sim_result *res)
{
    world w;
    world_init(&w, o, pl, reqs, 0, n, start, 0, true);
    w.policy = res->policy;
    world_run(&w, decide, 0);
    tally t = { 0 };
    tally_add(&t, pl, reqs, 0, n);
    tally_fill(&t, res);
    res->gpu_hours = w.cost_s / 3600.0;
    res->transitions = w.transitions;
    res->ignored = w.ignored;
    res->rollbacks = w.rollbacks;
    res->policy_errors = w.policy_errors;
    res->samples = w.samples;
    res->n_samples = w.nsamples;
    w.samples = NULL;
    world_free(&w);
}

static double attainment_of(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n, deployment dp)
{
    world w;
    world_init(&w, o, pl, reqs, 0, n, dp, 0, false);
    world_run(&w, NULL, 0);
    world_free(&w);
    tally t = { 0 };
    tally_add(&t, pl, reqs, 0, n);
    double a = t.n ? (double)t.ok / (double)t.n : 1.0;
    free(t.lat);
    return a;
}

/* The cheapest fixed deployment that meets the target over the whole
 * trace, searched upward from the dearest per-window minimum. */
static deployment static_search(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                                const oracle_data *od)
{
    double floor_cost = 0;
    for (size_t k = 0; k < od->nwin; k++)
        floor_cost = fmax(floor_cost, od->cands[od->meets[k]].cost);
    deployment best = od->cands[od->ncands - 1];
    double best_a = -1;
    int tries = 0;
    for (size_t c = 0; c < od->ncands && tries < 12; c++) {
        if (od->cands[c].cost < floor_cost - 1e-9)
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
    return best;
}

/* ---- entry point ---- */

static ksiss_decide_fn find_policy(const char *name)
{
    const ksiss_policy *p = ksiss_policy_find(name);
    if (p)
        return p->decide;
    /* Until the table lists them, the baselines are reachable by name here. */
    if (!strcmp(name, "seed"))
        return ksiss_policy_seed_decide;
    if (!strcmp(name, "horizontal"))
        return ksiss_policy_horizontal_decide;
    return NULL;
}

static int make_plan(const ksiss_sim_opts *o, plan *pl, ksiss_diags *d)
{
    const ksiss_service_cfg *svc = o->svc;
    int bad = 0;
    pl->maps = ksiss_xcalloc(svc->n_metrics ? svc->n_metrics : 1, sizeof(*pl->maps));
    pl->slo_metric = -1;
    for (size_t i = 0; i < svc->n_metrics; i++) {
        char *err = NULL;
        if (ksiss_sim_map_metric(svc->metrics[i].name, svc->metrics[i].query, &pl->maps[i], &err) != 0) {
            ksiss_diags_add(d, NULL, svc->metrics[i].pos, "service %s: %s", svc->name, err);
            free(err);
            bad = 1;
            continue;
        }
        if (pl->slo_metric < 0 && ksiss_sim_signal_per_request(pl->maps[i].sig) &&
            svc->metrics[i].direction == KSISS_LOWER_IS_BETTER) {
            pl->slo_metric = (int)i;
            pl->slo_sig = pl->maps[i].sig;
            pl->slo_s = svc->metrics[i].slo;
            pl->slo_q = pl->maps[i].quantile >= 0 ? pl->maps[i].quantile : 0.95;
        }
    }
    pl->plot_prefill = svc->has_load && svc->load.throughput == KSISS_THROUGHPUT_PREFILL;
    if (svc->has_load) {
        char *err = NULL;
        if (ksiss_sim_map_metric("load", svc->load.query, &pl->load, &err) != 0) {
            ksiss_diags_add(d, NULL, svc->load.pos, "service %s: %s", svc->name, err);
            free(err);
            bad = 1;
        }
    }
    if (!bad && pl->slo_metric < 0) {
        ksiss_diags_add(d, NULL, svc->pos,
                        "service %s: SLO attainment needs a per-request latency metric (TTFT, time per output "
                        "token, e2e or queue time, lower is better); none of its metrics is one", svc->name);
        bad = 1;
    }
    return bad ? -1 : 0;
}

static bool known_name(const char *name)
{
    return !strcmp(name, "static") || !strcmp(name, "oracle") || find_policy(name) != NULL;
}

int ksiss_sim_run(const ksiss_sim_opts *o, const char *const *policies, size_t n_policies,
                  ksiss_sim_report *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    ksiss_pos none = { 0, 0 };
    int bad = 0;
    for (size_t i = 0; i < n_policies; i++) {
        if (!known_name(policies[i])) {
            ksiss_strbuf sb;
            ksiss_sb_init(&sb, 0);
            for (const ksiss_policy *p = ksiss_policies; p->name; p++)
                ksiss_sb_printf(&sb, "%s, ", p->name);
            ksiss_diags_add(d, NULL, none, "unknown policy \"%s\" (known: %sseed, horizontal, static, oracle, all)",
                            policies[i], ksiss_sb_str(&sb));
            ksiss_sb_free(&sb);
            bad = 1;
        }
    }
    if (!o->trace || o->trace->n == 0) {
        ksiss_diags_add(d, NULL, none, "the trace has no request");
        bad = 1;
    }
    if (o->interval_ms <= 0 || o->scrape_ms <= 0 || o->window_ms <= 0 || o->oracle_window_ms <= 0 ||
        o->cold_start_ms < 0 || !(o->slo_target > 0 && o->slo_target <= 1)) {
        ksiss_diags_add(d, NULL, none, "simulation settings out of range");
        bad = 1;
    }
    if (o->trace && o->trace->n > 0 && ksiss_trace_span_ms(o->trace) > KSISS_SIM_MAX_SPAN_MS) {
        ksiss_diags_add(d, NULL, none, "the trace spans %.1f days; the simulator replays at most 7 days",
                        ksiss_trace_span_ms(o->trace) / 86400000.0);
        bad = 1;
    }
    if (bad)
        return -1;
    plan pl;
    memset(&pl, 0, sizeof(pl));
    if (make_plan(o, &pl, d) != 0) {
        free(pl.maps);
        return -1;
    }
    oracle_data od;
    memset(&od, 0, sizeof(od));
    enumerate(o, &od);
    if (od.ncands == 0) {
        ksiss_diags_add(d, NULL, o->svc->pos,
                        "service %s: no tier of its ladder holds the model (%.1f GiB of weights) and has GPUs "
                        "in the cluster", o->svc->name, o->profile->weights_gib);
        free(pl.maps);
        oracle_free(&od);
        return -1;
    }
    size_t n = o->trace->n;
    double last = o->trace->v[n - 1].t_ms / 1000.0;
    double ow = o->oracle_window_ms / 1000.0;
    pl.horizon = ow * ceil((last + 1e-6) / ow);
    if (pl.horizon < ow)
        pl.horizon = ow;
    ksiss_sim_req *reqs = ksiss_xcalloc(n, sizeof(*reqs));
    for (size_t i = 0; i < n; i++) {
        reqs[i].arrival = o->trace->v[i].t_ms / 1000.0;
        reqs[i].in_tokens = o->trace->v[i].in_tokens;
        reqs[i].out_tokens = o->trace->v[i].out_tokens;
    }
    oracle_compute(o, &pl, reqs, n, &od);
    deployment initial = od.cands[od.meets[0]];
    out->requests = n;
    out->unattainable = count_unattainable(o, &pl, reqs, n, &od);
    out->unattainable_share = (double)out->unattainable / (double)n;

    out->slo_signal = pl.slo_sig;
    out->plot_prompt_tokens = pl.plot_prefill;
    out->slo_s = pl.slo_s;
    out->horizon_s = pl.horizon;
    out->slo_desc = ksiss_xasprintf("%s <= %g s (metric %s)", ksiss_sim_signal_name(pl.slo_sig), pl.slo_s,
                                    o->svc->metrics[pl.slo_metric].name);
    out->initial = deployment_name(initial);
    out->v = ksiss_xcalloc(n_policies ? n_policies : 1, sizeof(*out->v));
    out->n = n_policies;
    for (size_t i = 0; i < n_policies; i++) {
        ksiss_sim_result *res = &out->v[i];
        res->policy = ksiss_xstrdup(policies[i]);
        if (!strcmp(policies[i], "oracle")) {
            oracle_result(o, &pl, reqs, n, &od, res);
        } else if (!strcmp(policies[i], "static")) {
            deployment dp;
            if (o->static_tier) {
                dp.tier = o->static_tier;
                dp.replicas = o->static_replicas > 0 ? o->static_replicas : 1;
                dp.cost = dp.tier->cost * dp.replicas;
            } else {
                dp = static_search(o, &pl, reqs, n, &od);
            }
            res->deployment = deployment_name(dp);
            policy_result(o, &pl, reqs, n, dp, NULL, res);
        } else {
            res->deployment = deployment_name(initial);
            policy_result(o, &pl, reqs, n, initial, find_policy(policies[i]), res);
        }
    }
    free(reqs);
    free(pl.maps);
    oracle_free(&od);
    return 0;
}

void ksiss_sim_report_free(ksiss_sim_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].policy);
        free(r->v[i].deployment);
        free(r->v[i].samples);
    }
    free(r->v);
    free(r->slo_desc);
    free(r->initial);
    memset(r, 0, sizeof(*r));
}
