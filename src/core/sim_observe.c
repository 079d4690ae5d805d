/* sim_observe.c: what the policy and the reports see of the simulated
 * service: which model output a configured metric reads (the metric
 * convention of docs/simulator.md), the records the instances leave
 * (per-request latencies, counters, gauges at each scrape), the values a
 * query returns at a tick over its window, the plots' samples, and the
 * quantile and per-request latency helpers. */
#include "core/sim_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

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

/* The SLO of the first lower-is-better metric that measures `sig` (a mean
 * only, when mean_only), or 0. */
static double first_slo(const ksiss_service_cfg *svc, ksiss_sim_signal sig, bool mean_only)
{
    for (size_t i = 0; svc && i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        ksiss_sim_metric_map map;
        char *err = NULL;
        if (ksiss_sim_map_metric(m->name, m->query, &map, &err) != 0) {
            free(err);
            continue;
        }
        if (map.sig == sig && !(mean_only && map.quantile >= 0) && m->direction == KSISS_LOWER_IS_BETTER)
            return m->slo;
    }
    return 0;
}

double ksiss_mean_tpot_slo(const ksiss_service_cfg *svc)
{
    return first_slo(svc, KSISS_SIG_TPOT, true);
}

double ksiss_ttft_slo(const ksiss_service_cfg *svc)
{
    return first_slo(svc, KSISS_SIG_TTFT, false);
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile (linear between closest ranks) of v[0..n), sorting v. NAN for n == 0. */
double simobs_quantile_sorting(double *v, size_t n, double q)
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
double simobs_req_latency(const ksiss_sim_req *r, ksiss_sim_signal s)
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
    if (w->adv_rev == w->rv_rev) {
        w->rv[RV_TTFT_S] += r->first_token - r->arrival;
        w->rv[RV_TTFT_N] += 1;
    }
}

static void on_finished(void *ctx, const ksiss_sim_req *r, size_t idx)
{
    world *w = ctx;
    (void)idx;
    w->done++;
    w->done_count += 1;
    /* vLLM counts a request's prefill time and prompt at its finish */
    w->prefill_fin += r->first_token - r->admitted;
    w->prompt_fin += (double)r->in_tokens;
    size_t b = 0;
    while (b < KSISS_LEARN_PROMPT_LE && (double)r->in_tokens > ksiss_learn_prompt_le(b))
        b++;
    w->prompt_hist[b] += 1;
    if (w->adv_rev == w->rv_rev) {
        w->rv[RV_DONE] += 1;
        w->rv[RV_PROMPT] += (double)r->in_tokens;
        w->rv[RV_PF] += r->first_token - r->admitted;
        w->rv[RV_PT] += (double)r->in_tokens;
        if (r->out_tokens > 1) {
            w->rv[RV_TPOT_S] += (r->finished - r->first_token) / (r->out_tokens - 1);
            w->rv[RV_TPOT_N] += 1;
        }
    }
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

ksiss_sim_listener simobs_listener(world *w)
{
    ksiss_sim_listener l = { w, on_admitted, on_first, on_finished, on_rejected };
    return l;
}

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
    return simobs_quantile_sorting(*buf, n, q);
}

void simobs_scrape(world *w, double s)
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
    c->prefill_fin = w->prefill_fin;
    c->prompt_fin = w->prompt_fin;
    memcpy(c->prompt_hist, w->prompt_hist, sizeof(c->prompt_hist));
    c->rv_rev = w->rv_rev;
    memcpy(c->rv, w->rv, sizeof(c->rv));
    w->rv_running = 0;
    w->rv_pods = 0;
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
        if (x->rev == w->rv_rev && x->st == ST_READY) {
            w->rv_running += g[1];
            w->rv_pods++;
        }
    }
    w->last_scrape = s;
}

/* The scrape the window ending at the last one starts from; NULL: none. */
static const counter_sample *window_first(const world *w)
{
    if (w->ncs == 0)
        return NULL;
    const counter_sample *last = &w->cs[w->ncs - 1];
    double from = last->t - w->o->window_ms / 1000.0;
    const counter_sample *first = &w->cs[0];
    for (size_t i = w->ncs; i-- > 0;)
        if (w->cs[i].t <= from + 1e-9) {
            first = &w->cs[i];
            break;
        }
    return first;
}

/* Rate of counter `which` (0 gen, 1 prompt, 2 done, 3 prefill seconds and
 * 4 prompt tokens of the finished requests) over the window ending at the
 * last scrape. */
static double counter_rate(const world *w, int which)
{
    const counter_sample *first = window_first(w);
    if (!first)
        return NAN;
    const counter_sample *last = &w->cs[w->ncs - 1];
    double dt = last->t - first->t;
    if (dt <= 0)
        return NAN;
    const double fa[5] = { first->gen, first->prompt, first->done, first->prefill_fin, first->prompt_fin };
    const double fb[5] = { last->gen, last->prompt, last->done, last->prefill_fin, last->prompt_fin };
    return which >= 0 && which < 5 ? (fb[which] - fa[which]) / dt : NAN;
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

double simobs_observe(world *w, const ksiss_sim_metric_map *m, ksiss_aggregate agg, double **buf, size_t *bufcap)
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
double simobs_plot_tokens(const plan *pl, const ksiss_sim_req *r)
{
    return pl->plot_prefill ? r->in_tokens : r->out_tokens;
}

double simobs_plot_capacity(const plan *pl, const ksiss_sim_profile *p, const ksiss_tier *t)
{
    if (!ksiss_sim_fits(p, t))
        return 0;
    return pl->plot_prefill ? p->prefill_tps * t->prefill_rel : ksiss_sim_decode_capacity(p, t);
}

void simobs_take_sample(world *w, double s, double **buf, size_t *bufcap)
{
    double win = w->o->window_ms / 1000.0;
    while (w->next_arrival > w->demand_lo && w->demand_lo < w->r1 && w->reqs[w->demand_lo].arrival <= s - win) {
        w->demand_tokens -= simobs_plot_tokens(w->pl, &w->reqs[w->demand_lo]);
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
            p->capacity_tps += simobs_plot_capacity(w->pl, w->o->profile, x->tier);
        if (x->st != ST_PENDING)
            p->gpu_eq += x->tier->cost;
        if (x->rev == w->cur_rev && x->st != ST_PENDING && x->st != ST_DRAINING)
            p->replicas++;
    }
    p->learned_tps = w->learner ? w->learn_est : NAN;
    p->learned_bound_tps = w->learner ? w->learn_bound : NAN;
    p->true_tps = w->learner ? w->learn_true : NAN;
    p->tier_rank = w->cur_tier ? w->cur_tier->rank : -1;
    p->latency_s = window_quantile(w, w->pl->slo_sig, w->pl->slo_q, s, buf, bufcap);
}

/* The prompt-length histogram's buckets between two scrapes (increase()),
 * as 1 + c^2 (ksiss_learn_prompt_m2). */
static double window_prompt_m2(const counter_sample *first, const counter_sample *last)
{
    double d[KSISS_LEARN_PROMPT_LE + 1];
    for (size_t i = 0; i <= KSISS_LEARN_PROMPT_LE; i++)
        d[i] = last->prompt_hist[i] - first->prompt_hist[i];
    return ksiss_learn_prompt_m2(d);
}

void simobs_learn_window(world *w, int instances, ksiss_learn_window *out, double **buf, size_t *bufcap)
{
    memset(out, 0, sizeof(*out));
    /* sum(rate(x_sum)) / sum(rate(x_count)): the mean over the window */
    out->ttft_mean_s = window_quantile(w, KSISS_SIG_TTFT, -1, w->last_scrape, buf, bufcap);
    out->tpot_mean_s = window_quantile(w, KSISS_SIG_TPOT, -1, w->last_scrape, buf, bufcap);
    out->req_rate = counter_rate(w, 2);
    double prompt = counter_rate(w, 1);
    out->prompt_mean = out->req_rate > 0 ? prompt / out->req_rate : NAN;
    /* sum(rate(vllm:request_prefill_time_seconds_sum)) / sum(rate(vllm:request_prompt_tokens_sum)) */
    double pf = counter_rate(w, 3), pt = counter_rate(w, 4);
    out->prefill_s_per_token = pf > 0 && pt > 0 ? pf / pt : NAN;
    /* avg(vllm:num_requests_running) at the last scrape */
    out->running_mean = w->g_n > 0 ? w->g_sum[1] / w->g_n : NAN;
    out->window_s = w->o->window_ms / 1000.0;
    out->instances = instances;
    const counter_sample *first = window_first(w);
    out->prompt_m2 = first ? window_prompt_m2(first, &w->cs[w->ncs - 1]) : NAN;
}

/* The current revision's own window (its pods' series, as a query on
 * {revision}'s pods reads them), ending at the last scrape: false when the
 * window does not lie within what the revision's counters cover. */
bool simobs_rev_window(world *w, int instances, ksiss_learn_window *out, double *first_t)
{
    const counter_sample *first = window_first(w);
    if (!first || w->ncs == 0)
        return false;
    const counter_sample *last = &w->cs[w->ncs - 1];
    double dt = last->t - first->t, win = w->o->window_ms / 1000.0;
    if (first->rv_rev != w->cur_rev || last->rv_rev != w->cur_rev || dt < win - 1e-9)
        return false;
    double d[RV_N];
    for (int i = 0; i < RV_N; i++)
        d[i] = last->rv[i] - first->rv[i];
    memset(out, 0, sizeof(*out));
    out->req_rate = d[RV_DONE] / dt;
    out->prompt_mean = d[RV_DONE] > 0 ? d[RV_PROMPT] / d[RV_DONE] : NAN;
    out->prefill_s_per_token = d[RV_PF] > 0 && d[RV_PT] > 0 ? d[RV_PF] / d[RV_PT] : NAN;
    out->ttft_mean_s = d[RV_TTFT_N] > 0 ? d[RV_TTFT_S] / d[RV_TTFT_N] : NAN;
    out->tpot_mean_s = d[RV_TPOT_N] > 0 ? d[RV_TPOT_S] / d[RV_TPOT_N] : NAN;
    out->running_mean = w->rv_pods > 0 ? w->rv_running / w->rv_pods : NAN;
    out->window_s = win;
    out->instances = instances;
    out->prompt_m2 = window_prompt_m2(first, last);
    *first_t = first->t;
    return true;
}

double simobs_true_capacity(const world *w, const ksiss_tier *t, double tpot_slo_s)
{
    const ksiss_sim_profile *p = w->o->profile;
    if (!t || !ksiss_sim_fits(p, t))
        return NAN;
    ksiss_throughput_kind kind = w->o->svc->has_load ? w->o->svc->load.throughput : KSISS_THROUGHPUT_DECODE;
    if (kind == KSISS_THROUGHPUT_PREFILL)
        return t->prefill_rel > 0 ? ksiss_learn_capacity_of(kind, 0, 1 / (p->prefill_tps * t->prefill_rel), 0) : NAN;
    ksiss_sim_instance m;
    ksiss_sim_instance_init(&m, p, t, 0);
    double per = m.step_per_seq_s, base = m.step_base_s - per;
    ksiss_sim_instance_free(&m);
    return ksiss_learn_capacity_of(kind, tpot_slo_s, base, per);
}
