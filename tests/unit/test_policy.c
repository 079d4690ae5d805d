/* test_policy.c: table-driven tests of the `ksiss` decision policy. Each
 * case is the YAML a user writes, the deployment and readings of one tick,
 * and the decision expected; multi-tick behaviours (stabilization,
 * cooldowns, missing data over time) have their own tests below. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/tiers.h"
#include "core/util.h"

#define MISSING NAN
#define MAXM 4

/* The original's shipped example (COMPATIBILITY.md), unchanged. */
static const char *ORIGINAL_GPT2 =
    "gpt2: |\n"
    "  - name: tgi_request_metric\n"
    "    query: increase(tgi_request_mean_time_per_token_duration_sum{pod=\"%s\"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod=\"%s\"}[1m])\n"
    "    slo: 0.5\n"
    "    scaleDownFactor: 0.5\n"
    "    scaleUpFactor: 1.5\n";

/* A vLLM service in the extended format: latency and throughput SLOs. */
static const char *VLLM_TWO_METRICS =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{pod=~\"{service}-.*\"}[1m])))\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "    - name: tokens_per_second\n"
    "      query: sum(rate(vllm:generation_tokens_total{pod=~\"{service}-.*\"}[1m]))\n"
    "      direction: higher\n"
    "      slo: 100\n"
    "      scaleUpFactor: 1.2\n"
    "      scaleDownFactor: 0.5\n"
    "  tiers: [mig-1g.10gb, mig-3g.40gb, mig-7g.80gb, gpu, gpu*2]\n"
    "  maxReplicas: 1\n";

static const char *LADDER_7G_UP =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  tiers: [mig-3g.40gb, mig-7g.80gb, gpu, gpu*2]\n"
    "  maxReplicas: 1\n";

static const char *MEMORY_30G =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  tiers: [mig-1g.10gb, mig-2g.20gb, mig-3g.40gb, mig-7g.80gb]\n"
    "  modelMemoryGiB: 30\n"
    "  maxReplicas: 1\n"
    "  stabilization: {down: 0s}\n";

static const char *HORIZONTAL_3G =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  tiers: [mig-3g.40gb]\n"
    "  minReplicas: 2\n"
    "  maxReplicas: 4\n";

static const char *WITH_LOAD =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  load:\n"
    "    query: sum(rate(vllm:generation_tokens_total[1m]))\n"
    "    perGpu: 1000\n"
    "    targetUtilization: 0.8\n"
    "  tiers: [mig-3g.40gb, mig-7g.80gb]\n"
    "  maxReplicas: 4\n"
    "  stabilization: {down: 0s}\n"
    "  cooldown: {down: 0s}\n";

/* Replicas of a 3g slice without a load signal, no stabilization wait. */
static const char *PRESSURE_3G =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  tiers: [mig-3g.40gb, gpu]\n"
    "  maxReplicas: 4\n"
    "  stabilization: {down: 0s}\n"
    "  cooldown: {down: 0s}\n";

/* Replicas of a 3g slice sized by load (1000 tokens/s per GPU of decode). */
static const char *LOAD_3G =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  load:\n"
    "    query: sum(rate(vllm:generation_tokens_total[1m]))\n"
    "    perGpu: 1000\n"
    "    targetUtilization: 0.8\n"
    "  tiers: [mig-3g.40gb]\n"
    "  maxReplicas: 8\n";

/* Prefill-sized load on 3g and 4g slices (4g: more prefill per cost). */
static const char *PREFILL_3G_4G =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  load:\n"
    "    query: sum(rate(vllm:prompt_tokens_total[1m]))\n"
    "    perGpu: 1000\n"
    "    throughput: prefill\n"
    "    targetUtilization: 1.0\n"
    "  tiers: [mig-3g.40gb, mig-4g.40gb]\n"
    "  maxReplicas: 4\n";

/* Decode-sized load on 3g and 7g slices with a one-minute down window. */
static const char *LOAD_3G_7G_WINDOW =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  load:\n"
    "    query: sum(rate(vllm:generation_tokens_total[1m]))\n"
    "    perGpu: 1000\n"
    "    targetUtilization: 0.8\n"
    "  tiers: [mig-3g.40gb, mig-7g.80gb]\n"
    "  maxReplicas: 4\n"
    "  stabilization: {down: 60s}\n"
    "  cooldown: {down: 0s}\n";

/* Prefill-sized load on 3g, 4g and 7g slices, no down window. */
static const char *PREFILL_3G_4G_7G =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: q\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  load:\n"
    "    query: sum(rate(vllm:prompt_tokens_total[1m]))\n"
    "    perGpu: 1000\n"
    "    throughput: prefill\n"
    "    targetUtilization: 1.0\n"
    "  tiers: [mig-3g.40gb, mig-4g.40gb, mig-7g.80gb]\n"
    "  maxReplicas: 4\n"
    "  stabilization: {down: 0s}\n"
    "  cooldown: {down: 0s}\n";

typedef struct {
    const char *name;
    const char *yaml;
    const char *tier;           /* current tier (ladder name) */
    int ready, starting;
    bool in_flight;
    double values[MAXM];        /* MISSING: no usable value */
    double load;                /* MISSING: none */
    const char *free_spec;      /* "resource=units,..."; NULL: availability unknown */
    ksiss_action want_action;
    const char *want_tier;      /* NULL: the current one */
    int want_replicas;          /* 0: the current count */
    const char *want_code;
} policy_case;

#define PLENTY "nvidia.com/mig-1g.10gb=7,nvidia.com/mig-1g.20gb=4,nvidia.com/mig-2g.20gb=3,nvidia.com/mig-3g.40gb=2," \
               "nvidia.com/mig-4g.40gb=1,nvidia.com/mig-7g.80gb=1,nvidia.com/gpu=8"

static const policy_case CASES[] = {
    /* The original's example: a breach of slo*scaleUpFactor moves up. */
    {"original_breach_moves_up", NULL, "mig-1g.10gb", 1, 0, false, {0.9}, MISSING, PLENTY, KSISS_UP, NULL, 1, "slo_breach"},
    /* ... within the band it holds. */
    {"original_within_band_holds", NULL, "mig-3g.40gb", 1, 0, false, {0.6}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "within_slo"},
    /* The original walked down on NaN every tick; we hold. */
    {"original_missing_holds", NULL, "mig-3g.40gb", 1, 0, false, {MISSING}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "missing_data"},
    /* Low latency but no history yet: never straight down after a restart. */
    {"low_latency_first_tick_waits", NULL, "mig-3g.40gb", 1, 0, false, {0.05}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "stabilizing"},
    /* Throughput (higher is better) below its SLO is a breach. */
    {"throughput_below_slo_moves_up", "two", "mig-3g.40gb", 1, 0, false, {0.4, 50}, MISSING, PLENTY, KSISS_UP, "mig-7g.80gb", 1, "slo_breach"},
    /* ... and latency decides when it is the worse one. */
    {"latency_worst_of_two_moves_up", "two", "mig-1g.10gb", 1, 0, false, {1.5, 150}, MISSING, PLENTY, KSISS_UP, "mig-3g.40gb", 1, "slo_breach"},
    /* High throughput with fine latency: hold. */
    {"two_metrics_within_holds", "two", "mig-3g.40gb", 1, 0, false, {0.8, 150}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "within_slo"},
    /* One metric missing, the other breached: the breach still counts. */
    {"breach_with_other_missing_moves_up", "two", "mig-3g.40gb", 1, 0, false, {2.0, MISSING}, MISSING, PLENTY, KSISS_UP, "mig-7g.80gb", 1, "slo_breach"},
    /* One metric missing, the other comfortable: never down. */
    {"comfortable_with_other_missing_holds", "two", "mig-3g.40gb", 1, 0, false, {0.1, MISSING}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "partial_data"},
    /* Zero throughput is no traffic, not a breach. */
    {"zero_throughput_is_no_signal", "two", "mig-3g.40gb", 1, 0, false, {0.1, 0}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "partial_data"},
    /* A 7g slice moves up to whole GPUs (across tier types). */
    {"mig_7g_moves_to_two_gpus", "7g", "mig-7g.80gb", 1, 0, false, {1.6}, MISSING, PLENTY, KSISS_UP, "gpu*2", 1, "slo_breach"},
    /* No free GPU of the wanted tier: hold and say so. */
    {"exhausted_gpus_hold", "7g", "mig-3g.40gb", 1, 0, false, {1.6}, MISSING,
     "nvidia.com/mig-7g.80gb=0,nvidia.com/gpu=0", KSISS_HOLD, NULL, 0, "no_free_gpu"},
    /* Availability unknown: take no new GPU. */
    {"unknown_availability_holds", "7g", "mig-3g.40gb", 1, 0, false, {1.6}, MISSING, NULL, KSISS_HOLD, NULL, 0, "no_free_gpu"},
    /* The tier that covers the need (gpu*2) is not free: the largest bigger
     * one that is (a 7g slice) is chosen rather than nothing. */
    {"largest_free_tier_when_best_is_taken", "7g", "mig-3g.40gb", 1, 0, false, {3.0}, MISSING,
     "nvidia.com/mig-7g.80gb=1,nvidia.com/gpu=1", KSISS_UP, "mig-7g.80gb", 1, "slo_breach"},
    /* Memory fit: 30 GiB of model never goes to a 10 or 20 GB slice. */
    {"memory_fit_never_smaller_slice", "mem", "mig-3g.40gb", 1, 0, false, {0.01}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "at_min"},
    /* Horizontal: a breach adds instances on the same tier. */
    {"breach_scales_out_same_tier", "h3g", "mig-3g.40gb", 2, 0, false, {1.6}, MISSING, PLENTY, KSISS_OUT, "mig-3g.40gb", 4, "slo_breach"},
    /* Capacity still starting counts: no runaway scale-up while pods load. */
    {"starting_capacity_counts", "h3g", "mig-3g.40gb", 2, 2, false, {1.6}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "capacity_starting"},
    /* Below minReplicas: out, whatever the metrics. */
    {"below_min_replicas_scales_out", "h3g", "mig-3g.40gb", 1, 0, false, {MISSING}, MISSING, PLENTY, KSISS_OUT, "mig-3g.40gb", 2, "replica_bounds"},
    /* A transition in flight: hold. */
    {"transition_in_flight_holds", "h3g", "mig-3g.40gb", 2, 0, true, {3.0}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "in_transition"},
    /* Load rising before any SLO breach: sized from load (2400/1000/0.8 = 3 GPU). */
    {"load_sizes_before_breach", "load", "mig-7g.80gb", 1, 0, false, {0.7}, 2400, "nvidia.com/mig-7g.80gb=3", KSISS_OUT, "mig-7g.80gb", 3, "load_increase"},
    /* Low load, low latency: the cheapest deployment that covers it with
     * 15% headroom (300/1000/0.8 = 0.375 GPU, x1.15 = 0.43). */
    {"low_load_moves_down", "load", "mig-7g.80gb", 2, 0, false, {0.2}, 300, PLENTY, KSISS_DOWN, "mig-3g.40gb", 1, "underutilized"},
    /* Without a load signal, a step down that would put the pressure near
     * a breach if it grew with the lost capacity holds: 0.4 x 2/1 = 0.8 of
     * the 1.1 threshold is 0.73, above 0.7 ... */
    {"pressure_only_step_down_into_a_breach_holds", "p3g", "mig-3g.40gb", 2, 0, false, {0.4}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "within_slo"},
    /* ... while 0.3 x 2/1 = 0.6, 0.55 of the threshold, steps down. */
    {"pressure_only_step_down_with_margin_scales_in", "p3g", "mig-3g.40gb", 2, 0, false, {0.3}, MISSING, PLENTY, KSISS_IN, NULL, 1, "underutilized"},
    /* A breach the current tier cannot cover even at maxReplicas (1.0 GPU
     * x 3 > 4 x 0.5): its largest count, not a tier change that would
     * re-cold-start every instance. */
    {"breach_beyond_tier_takes_its_largest_count", "p3g", "mig-3g.40gb", 2, 0, false, {3.0}, MISSING, PLENTY, KSISS_OUT, NULL, 4, "slo_breach"},
    /* Missing load and metrics: hold. */
    {"load_and_metrics_missing_hold", "load", "mig-7g.80gb", 2, 0, false, {MISSING}, MISSING, PLENTY, KSISS_HOLD, NULL, 0, "missing_data"},
};

typedef struct {
    ksiss_catalog cat;
    ksiss_config cfg;
} fixture;

static const char *yaml_for(const char *key)
{
    if (!key) return ORIGINAL_GPT2;
    if (!strcmp(key, "two")) return VLLM_TWO_METRICS;
    if (!strcmp(key, "7g")) return LADDER_7G_UP;
    if (!strcmp(key, "mem")) return MEMORY_30G;
    if (!strcmp(key, "h3g")) return HORIZONTAL_3G;
    if (!strcmp(key, "load")) return WITH_LOAD;
    if (!strcmp(key, "p3g")) return PRESSURE_3G;
    fail_msg("unknown yaml key %s", key);
    return NULL;
}

static void load_config(fixture *f, const char *yaml)
{
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_catalog_builtin(&f->cat), 0);
    int rc = ksiss_config_parse(yaml, strlen(yaml), "test.yaml", NULL, &f->cat, &f->cfg, &d);
    for (size_t i = 0; i < d.n; i++) {
        char *s = ksiss_diag_format(&d.v[i]);
        print_message("%s\n", s);
        free(s);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(f->cfg.n_services, 1);
    ksiss_diags_free(&d);
}

static void free_fixture(fixture *f)
{
    ksiss_config_free(&f->cfg);
    ksiss_catalog_free(&f->cat);
}

/* Parses "res=units,res=units" into free entries (strings owned by *buf). */
static size_t parse_free(const char *spec, ksiss_free_gpu *out, size_t max, char **buf)
{
    *buf = ksiss_xstrdup(spec);
    size_t n = 0;
    for (char *tok = *buf; tok && *tok && n < max;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        out[n].resource = tok;
        out[n].gpu_model = NULL;
        out[n].free_units = strtoll(eq + 1, NULL, 10);
        n++;
        tok = comma ? comma + 1 : NULL;
    }
    return n;
}

static const ksiss_tier *tier_named(const fixture *f, const char *name)
{
    const ksiss_tier *t = ksiss_catalog_tier(&f->cat, NULL, name);
    if (!t)
        fail_msg("tier %s not in the catalogue", name);
    return t;
}

typedef struct {
    ksiss_observation obs[MAXM];
    ksiss_free_gpu free[16];
    char *free_buf;
    ksiss_policy_input in;
} tick_input;

static void build_input(const fixture *f, tick_input *t, const char *tier, int ready, int starting,
                        const double *values, double load, const char *free_spec, int64_t now_ms,
                        const ksiss_history *h)
{
    memset(t, 0, sizeof(*t));
    const ksiss_service_cfg *svc = &f->cfg.services[0];
    for (size_t i = 0; i < svc->n_metrics && i < MAXM; i++) {
        t->obs[i].present = !isnan(values[i]);
        t->obs[i].value = values[i];
        t->obs[i].observed_at_ms = now_ms;
        t->obs[i].why_missing = isnan(values[i]) ? "empty result" : NULL;
    }
    t->in.svc = svc;
    t->in.obs = t->obs;
    t->in.load.present = !isnan(load);
    t->in.load.value = load;
    t->in.load.observed_at_ms = now_ms;
    t->in.current.tier = tier_named(f, tier);
    t->in.current.replicas_ready = ready;
    t->in.current.replicas_starting = starting;
    if (free_spec) {
        t->in.n_free = parse_free(free_spec, t->free, 16, &t->free_buf);
        t->in.free = t->free;
    }
    t->in.history = h;
    t->in.now_ms = now_ms;
    t->in.interval_ms = 10000;
}

static void test_policy_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        const policy_case *c = &CASES[i];
        fixture f;
        memset(&f, 0, sizeof(f));
        load_config(&f, yaml_for(c->yaml));
        tick_input t;
        ksiss_history h;
        ksiss_history_init(&h);
        build_input(&f, &t, c->tier, c->ready, c->starting, c->values, c->load, c->free_spec, 1000000, &h);
        t.in.current.transition_in_flight = c->in_flight;
        ksiss_decision d;
        assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
        print_message("%-40s %s %s x%d [%s] %s\n", c->name, ksiss_action_name(d.action), d.tier ? d.tier->name : "-",
                      d.replicas, d.reason_code, d.reason);
        assert_non_null(d.reason);
        assert_true(strlen(d.reason) > 10);
        if (d.action != c->want_action || strcmp(d.reason_code, c->want_code) != 0)
            fail_msg("%s: got %s/%s, want %s/%s", c->name, ksiss_action_name(d.action), d.reason_code,
                     ksiss_action_name(c->want_action), c->want_code);
        const char *want_tier = c->want_tier ? c->want_tier : c->tier;
        if (c->want_action != KSISS_UP || c->want_tier)
            assert_string_equal(d.tier->name, want_tier);
        assert_int_equal(d.replicas, c->want_replicas ? c->want_replicas : c->ready + c->starting);
        if (d.action == KSISS_UP) {
            /* up means a larger instance than the current one */
            assert_true(d.tier->decode_rel > t.in.current.tier->decode_rel);
        }
        ksiss_decision_clear(&d);
        free(t.free_buf);
        ksiss_history_free(&h);
        free_fixture(&f);
    }
}

/* Runs the policy once per tick with the same readings, recording history;
 * returns the first tick (1-based) whose action is not hold, 0 if none. */
static int ticks_until_action(const fixture *f, ksiss_history *h, const char *tier, int ready, const double *values,
                              double load, int max_ticks, int64_t *now_ms, ksiss_decision *last)
{
    for (int k = 1; k <= max_ticks; k++) {
        tick_input t;
        build_input(f, &t, tier, ready, 0, values, load, PLENTY, *now_ms, h);
        ksiss_decision_clear(last);
        assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, last), 0);
        ksiss_history_record(h, last, load, *now_ms);
        free(t.free_buf);
        *now_ms += 10000;
        if (last->action != KSISS_HOLD)
            return k;
    }
    return 0;
}

static void test_low_latency_scales_down_only_after_stabilization(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, ORIGINAL_GPT2);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double low[MAXM] = {0.05};
    /* default down stabilization is 300 s at a 10 s tick: 31 ticks */
    int k = ticks_until_action(&f, &h, "mig-3g.40gb", 1, low, MISSING, 100, &now, &d);
    assert_int_equal(k, (int)(KSISS_DEFAULT_STABILIZATION_DOWN_MS / 10000) + 1);
    assert_int_equal(d.action, KSISS_DOWN);
    assert_string_equal(d.reason_code, "underutilized");
    assert_true(d.tier->decode_rel < tier_named(&f, "mig-3g.40gb")->decode_rel);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

static void test_missing_data_never_scales_down(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, ORIGINAL_GPT2);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double none[MAXM] = {MISSING};
    assert_int_equal(ticks_until_action(&f, &h, "mig-3g.40gb", 1, none, MISSING, 500, &now, &d), 0);
    assert_string_equal(d.reason_code, "missing_data");
    assert_true(h.missing_since_ms == 1000000);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

static void test_a_breach_inside_the_window_restarts_it(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, ORIGINAL_GPT2);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double low[MAXM] = {0.05}, mid[MAXM] = {0.6};
    assert_int_equal(ticks_until_action(&f, &h, "mig-3g.40gb", 1, low, MISSING, 20, &now, &d), 0);
    /* latency back in the band for one tick: the window must start over */
    assert_int_equal(ticks_until_action(&f, &h, "mig-3g.40gb", 1, mid, MISSING, 1, &now, &d), 0);
    int k = ticks_until_action(&f, &h, "mig-3g.40gb", 1, low, MISSING, 100, &now, &d);
    assert_int_equal(k, (int)(KSISS_DEFAULT_STABILIZATION_DOWN_MS / 10000) + 1);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

static void test_up_cooldown_holds_second_step_unless_panic(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LADDER_7G_UP);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double high[MAXM] = {1.5};
    assert_int_equal(ticks_until_action(&f, &h, "mig-3g.40gb", 1, high, MISSING, 1, &now, &d), 1);
    assert_int_equal(d.action, KSISS_UP);
    /* the new tier is serving but its latency window still holds the old
     * capacity's: 0.5 GPU x 1.5 is covered by the 7g slice, hold */
    assert_int_equal(ticks_until_action(&f, &h, "mig-7g.80gb", 1, high, MISSING, 1, &now, &d), 0);
    assert_string_equal(d.reason_code, "capacity_starting");
    /* worse, though not twice the threshold: 0.5 x 2.1 > 1.0, but cooldown */
    double higher[MAXM] = {2.1};
    assert_int_equal(ticks_until_action(&f, &h, "mig-7g.80gb", 1, higher, MISSING, 1, &now, &d), 0);
    assert_string_equal(d.reason_code, "cooldown");
    /* more than twice the scale-up threshold: panic ignores the cooldown */
    double panic[MAXM] = {2.5};
    assert_int_equal(ticks_until_action(&f, &h, "mig-7g.80gb", 1, panic, MISSING, 1, &now, &d), 1);
    assert_int_equal(d.action, KSISS_UP);
    assert_string_equal(d.tier->name, "gpu*2");
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

static void test_stale_observation_counts_as_missing(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, ORIGINAL_GPT2);
    tick_input t;
    double high[MAXM] = {5.0};
    build_input(&f, &t, "mig-3g.40gb", 1, 0, high, MISSING, PLENTY, 10000000, NULL);
    t.obs[0].observed_at_ms = 10000000 - KSISS_DEFAULT_STALE_AFTER_MS - 1;
    ksiss_decision d;
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
    assert_int_equal(d.action, KSISS_HOLD);
    assert_string_equal(d.reason_code, "missing_data");
    assert_non_null(strstr(d.reason, "stale"));
    ksiss_decision_clear(&d);
    free(t.free_buf);
    free_fixture(&f);
}

static void test_reason_names_metric_and_numbers(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, ORIGINAL_GPT2);
    tick_input t;
    double high[MAXM] = {0.9};
    build_input(&f, &t, "mig-1g.10gb", 1, 0, high, MISSING, PLENTY, 1000000, NULL);
    ksiss_decision d;
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
    assert_non_null(strstr(d.reason, "tgi_request_metric"));
    assert_non_null(strstr(d.reason, "0.9"));
    assert_non_null(strstr(d.reason, "1.80x"));
    assert_true(fabs(d.pressure - 1.8) < 1e-9);
    assert_int_equal(d.worst_metric, 0);
    ksiss_decision_clear(&d);
    free(t.free_buf);
    free_fixture(&f);
}

static void test_pressure_respects_direction(void **state)
{
    (void)state;
    ksiss_metric_cfg lower = {.slo = 2.0, .direction = KSISS_LOWER_IS_BETTER};
    ksiss_metric_cfg higher = {.slo = 100, .direction = KSISS_HIGHER_IS_BETTER};
    assert_true(fabs(ksiss_metric_pressure(&lower, 3.0) - 1.5) < 1e-12);
    assert_true(fabs(ksiss_metric_pressure(&higher, 50) - 2.0) < 1e-12);
    assert_true(isnan(ksiss_metric_pressure(&higher, 0)));
    assert_true(isnan(ksiss_metric_pressure(&lower, NAN)));
    assert_true(isnan(ksiss_metric_pressure(&lower, INFINITY)));
    assert_true(isnan(ksiss_metric_pressure(&lower, -1)));
}

static void test_backed_off_tier_is_skipped(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LADDER_7G_UP);
    ksiss_history h;
    ksiss_history_init(&h);
    h.backoff_tier = ksiss_xstrdup("mig-7g.80gb");
    h.backoff_until_ms = 2000000;
    tick_input t;
    double high[MAXM] = {1.5};
    build_input(&f, &t, "mig-3g.40gb", 1, 0, high, MISSING, PLENTY, 1000000, &h);
    ksiss_decision d;
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
    assert_int_equal(d.action, KSISS_UP);
    assert_string_equal(d.tier->name, "gpu");
    ksiss_decision_clear(&d);
    free(t.free_buf);
    ksiss_history_free(&h);
    free_fixture(&f);
}

static void test_history_ring_keeps_latest(void **state)
{
    (void)state;
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {.action = KSISS_HOLD, .required_capacity = 1.0, .reason_code = "within_slo"};
    for (int i = 0; i < KSISS_HISTORY_MAX + 10; i++)
        ksiss_history_record(&h, &d, NAN, i * 1000);
    assert_int_equal(h.n, KSISS_HISTORY_MAX);
    assert_int_equal(ksiss_history_at(&h, 0)->at_ms, 10 * 1000);
    d.action = KSISS_OUT;
    ksiss_history_record(&h, &d, NAN, 999999);
    assert_int_equal(h.last_up_ms, 999999);
    ksiss_history_free(&h);
}

/* Runs one tick with `load` and `values` at *now_ms on (tier, ready,
 * starting), records it, advances the clock by a 10 s tick. */
static void one_tick(const fixture *f, ksiss_history *h, const char *tier, int ready, int starting, const double *values,
                     double load, int64_t *now_ms, ksiss_decision *d)
{
    tick_input t;
    build_input(f, &t, tier, ready, starting, values, load, PLENTY, *now_ms, h);
    ksiss_decision_clear(d);
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, d), 0);
    ksiss_history_record(h, d, load, *now_ms);
    free(t.free_buf);
    *now_ms += 10000;
}

/* Load rising by 3 tokens/s every second on 3g x2 (1.0 GPU, covers 800
 * tokens/s at 80%): the line predicts 90 tokens/s more half a cold start
 * ahead, so it scales out at 730 tokens/s (tick 12), not at 830 (tick 15). */
static void test_rising_load_trend_scales_out_before_the_load_exceeds_capacity(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double fine[MAXM] = {0.7};
    int k;
    for (k = 0; k < 20; k++) {
        one_tick(&f, &h, "mig-3g.40gb", 2, 0, fine, 400 + 30 * k, &now, &d);
        if (d.action != KSISS_HOLD)
            break;
    }
    assert_int_equal(k, 11);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 3);
    assert_string_equal(d.reason_code, "load_increase");
    /* 730 + 3 x 30 = 820 tokens/s, / 1000 / 0.8 */
    assert_true(fabs(d.required_capacity - 1.025) < 1e-6);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* A falling load never lowers the need below the current reading's:
 * 1000 tokens/s needs 1.25 GPU whatever the line says. */
static void test_falling_load_trend_never_lowers_the_need(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double fine[MAXM] = {0.7};
    for (int k = 0; k < 12; k++) {
        one_tick(&f, &h, "mig-3g.40gb", 4, 0, fine, 1240 - 20 * k, &now, &d);
        assert_int_equal(d.action, KSISS_HOLD);
    }
    one_tick(&f, &h, "mig-3g.40gb", 2, 0, fine, 1000, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 3);
    assert_true(fabs(d.required_capacity - 1.25) < 1e-6);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* After a scale-out, the 1-minute latency window still reports the backlog
 * of the smaller deployment: feedback multiplies the least serving capacity
 * of the last 3 minutes, so the instances that just became ready are not
 * multiplied again; only once they have served for 3 minutes does a
 * persisting breach ask for more. */
static void test_feedback_waits_for_new_capacity_to_settle(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, PRESSURE_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double breach[MAXM] = {1.6};
    one_tick(&f, &h, "mig-3g.40gb", 1, 0, breach, MISSING, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 2);    /* 0.5 x 1.6 = 0.8 GPU */
    for (int k = 0; k < 5; k++) {       /* cold start: 50 s */
        one_tick(&f, &h, "mig-3g.40gb", 1, 1, breach, MISSING, &now, &d);
        assert_string_equal(d.reason_code, "capacity_starting");
    }
    /* Serving 2 from 1060 s; the last 1-instance tick was at 1050 s. */
    int k;
    for (k = 0; k < 30; k++) {
        one_tick(&f, &h, "mig-3g.40gb", 2, 0, breach, MISSING, &now, &d);
        if (d.action != KSISS_HOLD)
            break;
        assert_string_equal(d.reason_code, "capacity_starting");
    }
    /* 1050 s + 180 s: the first tick past it is 1240 s, the 19th. */
    assert_int_equal(k, 18);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 4);    /* 1.0 x 1.6 */
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* A breach under a measured load means a backlog: the load's need
 * (1000 / 1000 / 0.8 = 1.25 GPU) times the bounded factor (1.3), 1.625,
 * i.e. 3g x4, more than the feedback on capacity alone (1.0 x 1.3). */
static void test_breach_under_load_adds_capacity_to_drain_the_backlog(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double breach[MAXM] = {1.3};
    one_tick(&f, &h, "mig-3g.40gb", 2, 0, breach, 1000, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 4);
    assert_string_equal(d.reason_code, "slo_breach");
    assert_true(fabs(d.required_capacity - 1.625) < 1e-6);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* ... but only once: with capacity added in the last 3 minutes (serving
 * 1.5 GPU now, 1.0 before), the backlog is draining, the need is the load's
 * alone (1.25) and the 1.5 GPU serving cover it. */
static void test_backlog_drain_is_not_asked_again_while_new_capacity_settles(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision before = {.action = KSISS_OUT, .required_capacity = 1.5, .serving_capacity = 1.0,
                             .reason_code = "slo_breach"};
    ksiss_history_record(&h, &before, 1000, 1000000 - 90000);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double breach[MAXM] = {1.3};
    one_tick(&f, &h, "mig-3g.40gb", 3, 0, breach, 1000, &now, &d);
    assert_int_equal(d.action, KSISS_HOLD);
    assert_string_equal(d.reason_code, "capacity_starting");
    assert_true(fabs(d.required_capacity - 1.3) < 1e-6);    /* max(1.0 x 1.3, 1.25) */
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* Under a breach, more instances of the current tier beat a tier change
 * that looks cheaper (4g x2 at 1.14 + 10% against 3g x3 at 1.5): the new
 * instances add to what serves, a tier change replaces it a cold start
 * later. Without a breach the cheaper tier change is taken. */
static void test_breach_scales_out_on_the_current_tier_rather_than_change_tier(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, PREFILL_3G_4G);
    ksiss_decision d = {0};
    double breach[MAXM] = {1.3}, fine[MAXM] = {0.7};
    for (int with_breach = 1; with_breach >= 0; with_breach--) {
        ksiss_history h;
        ksiss_history_init(&h);
        /* 3g x2 serves 1.02 GPU of prefill; a minute ago only one did */
        ksiss_decision before = {.action = KSISS_OUT, .required_capacity = 1.02, .serving_capacity = 0.51,
                                 .reason_code = "slo_breach"};
        ksiss_history_record(&h, &before, 1100, 1000000 - 60000);
        /* 1100 tokens/s at 100%: 1.1 GPU */
        tick_input t;
        build_input(&f, &t, "mig-3g.40gb", 2, 0, with_breach ? breach : fine, 1100,
                    "nvidia.com/mig-3g.40gb=4,nvidia.com/mig-4g.40gb=4", 1000000, &h);
        ksiss_decision_clear(&d);
        assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
        free(t.free_buf);
        if (with_breach) {
            assert_int_equal(d.action, KSISS_OUT);
            assert_string_equal(d.tier->name, "mig-3g.40gb");
            assert_int_equal(d.replicas, 3);
        } else {
            assert_int_equal(d.action, KSISS_UP);
            assert_string_equal(d.tier->name, "mig-4g.40gb");
            assert_int_equal(d.replicas, 2);
        }
        ksiss_history_free(&h);
    }
    ksiss_decision_clear(&d);
    free_fixture(&f);
}

/* With a load signal, a tick that holds remembers the load's need (with
 * the scale-down headroom), not the current capacity: 300 / 1000 / 0.8 x
 * 1.15. Remembering the capacity would hold every scale-down a whole
 * stabilization window after any hold. */
static void test_a_hold_remembers_the_load_need_not_the_capacity(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    tick_input t;
    double within[MAXM] = {0.7};
    build_input(&f, &t, "mig-3g.40gb", 4, 0, within, 300, PLENTY, 1000000, NULL);
    ksiss_decision d;
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
    assert_int_equal(d.action, KSISS_HOLD);
    assert_string_equal(d.reason_code, "within_slo");
    assert_true(fabs(d.required_capacity - 0.43125) < 1e-9);
    ksiss_decision_clear(&d);
    free(t.free_buf);
    free_fixture(&f);
}

/* Absurd load readings (1e306 and rising) overflow the line's sums: the
 * prediction falls back to the reading, so the need stays a finite number
 * and the service goes to the largest deployment that fits, as for any huge
 * load (two 3g slices are free: x3). */
static void test_trend_through_huge_readings_stays_finite(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double fine[MAXM] = {0.7};
    for (int k = 0; k < 12; k++)
        one_tick(&f, &h, "mig-3g.40gb", 8, 0, fine, 1e306 * (k + 1), &now, &d);
    one_tick(&f, &h, "mig-3g.40gb", 1, 0, fine, 1.3e307, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 3);
    assert_true(isfinite(d.required_capacity));
    assert_true(fabs(d.required_capacity / (1.3e307 / 1000 / 0.8) - 1) < 1e-9);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* Runs ticks of `load` (fine latency) on (tier, ready) until the first
 * action or `max` ticks; returns the tick index (max when none). */
static int ticks_until_move(const fixture *f, ksiss_history *h, const char *tier, int ready, const double *loads, int max,
                            int64_t *now, ksiss_decision *d)
{
    double fine[MAXM] = {0.2};
    for (int k = 0; k < max; k++) {
        one_tick(f, h, tier, ready, 0, fine, loads[k], now, d);
        if (d->action != KSISS_HOLD)
            return k;
    }
    return max;
}

/* Low load on a 7g slice (300 tokens/s: 0.43 GPU with headroom, a 3g
 * slice covers it): a tier change down waits two stabilization windows
 * (120 s), not one, since it cold-starts every instance; the hold says so. */
static void test_tier_change_down_waits_two_windows(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G_7G_WINDOW);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double loads[40];
    for (int k = 0; k < 40; k++)
        loads[k] = 300;
    assert_int_equal(ticks_until_move(&f, &h, "mig-7g.80gb", 1, loads, 12, &now, &d), 12);
    assert_string_equal(d.reason_code, "stabilizing");
    assert_non_null(strstr(d.reason, "tier change down waits to have seen 120s"));
    assert_int_equal(ticks_until_move(&f, &h, "mig-7g.80gb", 1, loads, 1, &now, &d), 0);
    assert_int_equal(d.action, KSISS_DOWN);
    assert_string_equal(d.tier->name, "mig-3g.40gb");
    assert_int_equal(d.replicas, 1);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* A load peak (700 tokens/s, 1.0 GPU with headroom) at tick 3 blocks the
 * tier change down until it leaves the two-window span (tick 16); with one
 * window it would have gone at tick 10. */
static void test_a_peak_within_two_windows_holds_a_tier_change_down(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G_7G_WINDOW);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double loads[40];
    for (int k = 0; k < 40; k++)
        loads[k] = k == 3 ? 700 : 300;
    /* ticks 0-12: two windows not yet seen; 13: seen, the peak in them */
    assert_int_equal(ticks_until_move(&f, &h, "mig-7g.80gb", 1, loads, 14, &now, &d), 14);
    assert_string_equal(d.reason_code, "stabilizing");
    assert_non_null(strstr(d.reason, "highest need over 120s, 1.00 GPU"));
    assert_int_equal(ticks_until_move(&f, &h, "mig-7g.80gb", 1, loads + 14, 26, &now, &d), 16 - 14);
    assert_int_equal(d.action, KSISS_DOWN);
    assert_string_equal(d.tier->name, "mig-3g.40gb");
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* Fewer instances of the same tier cost nothing to undo: 7g x2 at low load
 * scales in after one window (tick 6), then moves down a tier once two
 * windows have been seen (tick 12). */
static void test_scale_in_waits_one_window_then_tier_change_two(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G_7G_WINDOW);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double loads[40];
    for (int k = 0; k < 40; k++)
        loads[k] = 300;
    assert_int_equal(ticks_until_move(&f, &h, "mig-7g.80gb", 2, loads, 40, &now, &d), 6);
    assert_int_equal(d.action, KSISS_IN);
    assert_int_equal(d.replicas, 1);
    assert_int_equal(ticks_until_move(&f, &h, "mig-7g.80gb", 1, loads, 40, &now, &d), 5);
    assert_int_equal(d.action, KSISS_DOWN);
    assert_string_equal(d.tier->name, "mig-3g.40gb");
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* A tier change's direction is that of the total capacity: 7g x1 (1.0 GPU
 * of prefill) to 4g x2 (1.24) is up, 3g x2 (1.02) to 4g x1 (0.62) down. */
static void test_tier_change_direction_follows_total_capacity(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, PREFILL_3G_4G_7G);
    tick_input t;
    ksiss_decision d = {0};
    double fine[MAXM] = {0.7}, low[MAXM] = {0.2};
    /* 1100 prompt tokens/s at 100%: 1.1 GPU; 4g x2 is the cheapest cover */
    const char *free_spec = "nvidia.com/mig-3g.40gb=4,nvidia.com/mig-4g.40gb=4,nvidia.com/mig-7g.80gb=2";
    build_input(&f, &t, "mig-7g.80gb", 1, 0, fine, 1100, free_spec, 1000000, NULL);
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
    free(t.free_buf);
    assert_string_equal(d.tier->name, "mig-4g.40gb");
    assert_int_equal(d.replicas, 2);
    assert_int_equal(d.action, KSISS_UP);
    ksiss_decision_clear(&d);
    /* 500 tokens/s (0.575 GPU with headroom): one 4g slice covers it, one 3g does not */
    build_input(&f, &t, "mig-3g.40gb", 2, 0, low, 500, free_spec, 1000000, NULL);
    assert_int_equal(ksiss_policy_find("ksiss")->decide(&t.in, &d), 0);
    free(t.free_buf);
    assert_string_equal(d.tier->name, "mig-4g.40gb");
    assert_int_equal(d.replicas, 1);
    assert_int_equal(d.action, KSISS_DOWN);
    ksiss_decision_clear(&d);
    free_fixture(&f);
}

/* Under a breach with a load signal, scale-down stabilization remembers
 * that the capacity which breached was not enough (+25%), not the
 * feedback's guess sized to drain the backlog (up to 4x) nor the served
 * load. 3g x1 (0.5 GPU) breaches at 3x: out to x3 (1.5 GPU); its latency
 * window reports the backlog for a while after the new instances serve
 * (ticks 1-8). Once every metric is low again (tick 9), the remembered
 * 0.625 lets it scale in to x2 at once; remembering the guess (1.5) would
 * hold x3 a whole window. x1 follows once the window has passed (tick 15). */
static void test_a_breach_remembers_the_breaching_capacity_not_the_feedback_guess(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G_7G_WINDOW);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double breach[MAXM] = {3.0}, fine[MAXM] = {0.2};
    one_tick(&f, &h, "mig-3g.40gb", 1, 0, breach, 300, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 3);
    assert_true(fabs(d.required_capacity - 1.5) < 1e-9);
    for (int k = 1; k <= 8; k++) {
        one_tick(&f, &h, "mig-3g.40gb", k <= 5 ? 1 : 3, k <= 5 ? 2 : 0, breach, 300, &now, &d);
        assert_int_equal(d.action, KSISS_HOLD);
        assert_true(fabs(ksiss_history_at(&h, h.n - 1)->capacity - 0.625) < 1e-9);
    }
    one_tick(&f, &h, "mig-3g.40gb", 3, 0, fine, 300, &now, &d);
    assert_int_equal(d.action, KSISS_IN);
    assert_int_equal(d.replicas, 2);
    int k;
    for (k = 10; k < 30; k++) {
        one_tick(&f, &h, "mig-3g.40gb", 2, 0, fine, 300, &now, &d);
        if (d.action != KSISS_HOLD)
            break;
    }
    assert_int_equal(k, 15);
    assert_int_equal(d.action, KSISS_IN);
    assert_int_equal(d.replicas, 1);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* Without a load signal, the feedback's need is all there is and is what
 * the history remembers (3g x1 at 3x: 1.5 GPU). */
static void test_a_breach_without_load_remembers_the_feedback_need(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, PRESSURE_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double breach[MAXM] = {3.0};
    one_tick(&f, &h, "mig-3g.40gb", 1, 0, breach, MISSING, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 3);
    assert_true(fabs(ksiss_history_at(&h, 0)->capacity - 1.5) < 1e-9);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

/* The trend is fitted through readings taken outside a breach only: the
 * served load then is capped by capacity, or inflated while a backlog
 * drains. Readings climbing by 100 tokens/s a tick during a breach, then
 * 1000 tokens/s with fine latency on 3g x2: the need is the reading's,
 * 1.25 GPU (x3); a line through the breach readings would ask 1.625 (x4). */
static void test_trend_ignores_readings_taken_during_a_breach(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    load_config(&f, LOAD_3G);
    ksiss_history h;
    ksiss_history_init(&h);
    ksiss_decision d = {0};
    int64_t now = 1000000;
    double breach[MAXM] = {1.3}, fine[MAXM] = {0.7};
    for (int k = 0; k < 12; k++) {
        one_tick(&f, &h, "mig-3g.40gb", 8, 0, breach, 0 + 100 * k, &now, &d);
        assert_int_equal(d.action, KSISS_HOLD);
        assert_true(ksiss_history_at(&h, h.n - 1)->slo_breach);
    }
    one_tick(&f, &h, "mig-3g.40gb", 2, 0, fine, 1000, &now, &d);
    assert_int_equal(d.action, KSISS_OUT);
    assert_int_equal(d.replicas, 3);
    assert_true(fabs(d.required_capacity - 1.25) < 1e-9);
    ksiss_decision_clear(&d);
    ksiss_history_free(&h);
    free_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_cases),
        cmocka_unit_test(test_low_latency_scales_down_only_after_stabilization),
        cmocka_unit_test(test_missing_data_never_scales_down),
        cmocka_unit_test(test_a_breach_inside_the_window_restarts_it),
        cmocka_unit_test(test_up_cooldown_holds_second_step_unless_panic),
        cmocka_unit_test(test_stale_observation_counts_as_missing),
        cmocka_unit_test(test_reason_names_metric_and_numbers),
        cmocka_unit_test(test_pressure_respects_direction),
        cmocka_unit_test(test_backed_off_tier_is_skipped),
        cmocka_unit_test(test_history_ring_keeps_latest),
        cmocka_unit_test(test_rising_load_trend_scales_out_before_the_load_exceeds_capacity),
        cmocka_unit_test(test_falling_load_trend_never_lowers_the_need),
        cmocka_unit_test(test_feedback_waits_for_new_capacity_to_settle),
        cmocka_unit_test(test_breach_under_load_adds_capacity_to_drain_the_backlog),
        cmocka_unit_test(test_backlog_drain_is_not_asked_again_while_new_capacity_settles),
        cmocka_unit_test(test_breach_scales_out_on_the_current_tier_rather_than_change_tier),
        cmocka_unit_test(test_a_hold_remembers_the_load_need_not_the_capacity),
        cmocka_unit_test(test_trend_through_huge_readings_stays_finite),
        cmocka_unit_test(test_tier_change_down_waits_two_windows),
        cmocka_unit_test(test_a_peak_within_two_windows_holds_a_tier_change_down),
        cmocka_unit_test(test_scale_in_waits_one_window_then_tier_change_two),
        cmocka_unit_test(test_tier_change_direction_follows_total_capacity),
        cmocka_unit_test(test_a_breach_remembers_the_breaching_capacity_not_the_feedback_guess),
        cmocka_unit_test(test_a_breach_without_load_remembers_the_feedback_need),
        cmocka_unit_test(test_trend_ignores_readings_taken_during_a_breach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
