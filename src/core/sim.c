/* sim.c: the entry point of the simulator (see sim.h): checks the run's
 * settings, plans which metric is the SLO and which the load, counts the
 * requests no deployment can serve within the SLO, runs each policy (a
 * decision policy from the table, `static` or `oracle`) and tallies its
 * attainment, cost and latency. The world, the router, the placement, the
 * rollout model and the oracle live in their own files (sim_internal.h). */
#include "core/sim_internal.h"

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
    o->ready_timeout_ms = 300000;
    o->backoff_ms = 1800000;
    o->oracle_window_ms = 60000;
    o->drain_limit_ms = 1800000;
    o->warmup_ms = 600000;
    o->slo_target = 0.99;
}

void simrun_tally_add(tally *t, const plan *pl, const ksiss_sim_req *reqs, size_t r0, size_t r1)
{
    t->lat = ksiss_xrealloc(t->lat, (t->nlat + (r1 - r0) + 1) * sizeof(*t->lat));
    for (size_t i = r0; i < r1; i++) {
        const ksiss_sim_req *r = &reqs[i];
        t->n++;
        if (r->rejected) {
            t->rejected++;
            continue;
        }
        double v = simobs_req_latency(r, pl->slo_sig);
        if (isnan(r->finished))
            t->unfinished++;
        if (isnan(v))
            continue;
        t->lat[t->nlat++] = v;
        if (!isnan(r->finished) && v <= pl->slo_s)
            t->ok++;
    }
}

void simrun_tally_fill(tally *t, ksiss_sim_result *res)
{
    res->slo_attainment = t->n ? (double)t->ok / (double)t->n : 1.0;
    res->rejected = t->rejected;
    res->unfinished = t->unfinished;
    res->p95_latency_s = simobs_quantile_sorting(t->lat, t->nlat, 0.95);
    res->p99_latency_s = simobs_quantile_sorting(t->lat, t->nlat, 0.99);
    free(t->lat);
    t->lat = NULL;
}

size_t simrun_window_violations(const plan *pl, const ksiss_sim_req *reqs, size_t r0, size_t r1, size_t *rej)
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
        double x = simobs_req_latency(r, pl->slo_sig);
        if (isnan(r->finished) || isnan(x) || x > pl->slo_s)
            v++;
    }
    return v;
}

static char *deployment_name(deployment dp)
{
    return ksiss_xasprintf("%s x%d", dp.tier->name, dp.replicas);
}

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

/* Runs a fixed deployment over the whole trace (or with a policy). */
static void policy_result(const ksiss_sim_opts *o, const plan *pl, ksiss_sim_req *reqs, size_t n,
                          deployment start, ksiss_decide_fn decide, ksiss_sim_result *res)
{
    world w;
    simworld_init(&w, o, pl, reqs, 0, n, start, 0, true);
    w.policy = res->policy;
    simworld_run(&w, decide, 0);
    tally t = { 0 };
    simrun_tally_add(&t, pl, reqs, 0, n);
    simrun_tally_fill(&t, res);
    res->gpu_hours = w.cost_s / 3600.0;
    /* after the warm-up: the requests arriving from then on */
    double warm = o->warmup_ms / 1000.0;
    size_t k = 0;
    while (k < n && reqs[k].arrival < warm)
        k++;
    tally tw = { 0 };
    simrun_tally_add(&tw, pl, reqs, k, n);
    res->slo_attainment_warm = tw.n ? (double)tw.ok / (double)tw.n : NAN;
    free(tw.lat);
    res->gpu_hours_warm = w.cost_warm_s / 3600.0;
    res->learned = w.learner != NULL;
    res->transitions = w.transitions;
    res->ignored = w.ignored;
    res->rollbacks = w.rollbacks;
    res->policy_errors = w.policy_errors;
    res->samples = w.samples;
    res->n_samples = w.nsamples;
    w.samples = NULL;
    simworld_free(&w);
}

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
    simoracle_enumerate(o, &od);
    if (od.ncands == 0) {
        ksiss_diags_add(d, NULL, o->svc->pos,
                        "service %s: no tier of its ladder holds the model (%.1f GiB of weights) and has GPUs "
                        "in the cluster", o->svc->name, o->profile->weights_gib);
        free(pl.maps);
        simoracle_free(&od);
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
    simoracle_compute(o, &pl, reqs, n, &od);
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
        res->slo_attainment_warm = res->gpu_hours_warm = NAN;
        if (!strcmp(policies[i], "oracle")) {
            simoracle_result(o, &pl, reqs, n, &od, res);
        } else if (!strcmp(policies[i], "static")) {
            deployment dp;
            if (o->static_tier) {
                dp.tier = o->static_tier;
                dp.replicas = o->static_replicas > 0 ? o->static_replicas : 1;
                dp.cost = dp.tier->cost * dp.replicas;
            } else {
                dp = simoracle_static_search(o, &pl, reqs, n, &od);
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
    simoracle_free(&od);
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
