/* test_tier_floor.c: the tiers too slow for the prompts
 * (core/tier_floor.c): the prompt-length tally (log-uniform buckets, its
 * half-life, other bounds starting it over, bad input ignored) and which
 * tiers of an H100 ladder an idle instance of misses a TTFT SLO on more
 * than the error budget, with the noise margin, sloTarget, a learner's
 * optimistic side and the cases that judge nothing. */
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
#include "core/sim.h"
#include "core/tier_floor.h"
#include "core/tiers.h"

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))
#define HOUR_MS 3600000LL

static void test_share_is_log_uniform_within_a_bucket(void **state)
{
    (void)state;
    ksiss_prompt_tally t = {0};
    double le[3] = {1000, 2000, INFINITY};
    ksiss_prompt_tally_add(&t, le, (double[3]){0, 10, 0}, 3, 0);
    double n;
    assert_near(ksiss_prompt_share_above(&t, 1000 * sqrt(2), &n), 0.5, 1e-12);
    assert_near(n, 10, 1e-12);
    assert_near(ksiss_prompt_share_above(&t, 999, &n), 1, 1e-12);
    assert_near(ksiss_prompt_share_above(&t, 2000, &n), 0, 1e-12);
    /* the +Inf bucket: up to twice the last bound; the first from half the first */
    ksiss_prompt_tally_add(&t, le, (double[3]){10, 0, 10}, 3, 0);
    assert_near(ksiss_prompt_share_above(&t, 3000, &n), (10 * log(4000.0 / 3000) / log(2) + 0) / 30, 1e-12);
    assert_near(ksiss_prompt_share_above(&t, 500 * sqrt(2), &n), (5 + 10 + 10) / 30.0, 1e-12);
    ksiss_prompt_tally_free(&t);
    assert_true(isnan(ksiss_prompt_share_above(&t, 1, &n)));
    assert_near(n, 0, 0);
}

static void test_tally_decays_and_starts_over(void **state)
{
    (void)state;
    ksiss_prompt_tally t = {0};
    double le[3] = {1000, 2000, INFINITY}, n;
    ksiss_prompt_tally_add(&t, le, (double[3]){0, 8, 0}, 3, HOUR_MS);
    ksiss_prompt_tally_add(&t, le, (double[3]){2, 0, 0}, 3, HOUR_MS + KSISS_PROMPT_TALLY_HALF_LIFE_MS);
    /* 8 a half-life ago count 4 */
    assert_near(ksiss_prompt_share_above(&t, 1000, &n), 4.0 / 6, 1e-12);
    assert_near(n, 6, 1e-12);
    /* refused: a negative count, bounds not ascending, no +Inf */
    ksiss_prompt_tally_add(&t, le, (double[3]){-1, 5, 0}, 3, 2 * KSISS_PROMPT_TALLY_HALF_LIFE_MS);
    ksiss_prompt_tally_add(&t, (double[3]){2000, 1000, INFINITY}, (double[3]){5, 5, 5}, 3, 0);
    ksiss_prompt_tally_add(&t, (double[2]){1000, 2000}, (double[2]){5, 5}, 2, 0);
    ksiss_prompt_tally_add(&t, le, (double[3]){NAN, 5, 0}, 3, 0);
    assert_near(ksiss_prompt_share_above(&t, 0, &n), 1, 0);
    assert_near(n, 6, 1e-12);
    assert_int_equal(t.at_ms, HOUR_MS + KSISS_PROMPT_TALLY_HALF_LIFE_MS);
    /* a server with other buckets: only what it says from now on */
    ksiss_prompt_tally_add(&t, (double[2]){4000, INFINITY}, (double[2]){3, 1}, 2, 3 * HOUR_MS);
    assert_near(ksiss_prompt_share_above(&t, 4000, &n), 0.25, 1e-12);
    assert_near(n, 4, 1e-12);
    ksiss_prompt_tally_free(&t);
}

/* A Mooncake-like service on an H100 ladder: perGpu 14000 prompt
 * tokens/s (20000 of prefill at KSISS_LEARN_PREFILL_UTIL 0.7), a 2 s
 * p95 TTFT SLO. */
static const char *LONG_PROMPTS =
    "svc: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[1m])))\n"
    "      slo: 2\n"
    "  load:\n"
    "    query: sum(rate(vllm:prompt_tokens_total[1m]))\n"
    "    perGpu: 14000\n"
    "    throughput: prefill\n"
    "  gpu: H100-80GB\n"
    "  tiers: [mig-3g.40gb, mig-4g.40gb, mig-7g.80gb, gpu*2]\n"
    "  maxReplicas: 8\n";

typedef struct {
    ksiss_catalog cat;
    ksiss_config cfg;
} fixture;

static ksiss_service_cfg *load(fixture *f, const char *yaml)
{
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_catalog_builtin(&f->cat), 0);
    assert_int_equal(ksiss_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &f->cat, &f->cfg, &d), 0);
    ksiss_diags_free(&d);
    return &f->cfg.services[0];
}

static void unload(fixture *f)
{
    ksiss_config_free(&f->cfg);
    ksiss_catalog_free(&f->cat);
}

/* `scale` requests with 60% of the prompts in (5k, 10k], 25% in (10k,
 * 20k], 15% in (20k, 50k] (vLLM's buckets). */
static void long_prompts(ksiss_prompt_tally *t, double scale)
{
    double le[KSISS_LEARN_PROMPT_LE + 1], c[KSISS_LEARN_PROMPT_LE + 1] = {0};
    for (size_t i = 0; i <= KSISS_LEARN_PROMPT_LE; i++) {
        le[i] = ksiss_learn_prompt_le(i);
        if (le[i] == 10000)
            c[i] = 0.60 * scale;
        else if (le[i] == 20000)
            c[i] = 0.25 * scale;
        else if (le[i] == 50000)
            c[i] = 0.15 * scale;
    }
    ksiss_prompt_tally_add(t, le, c, KSISS_LEARN_PROMPT_LE + 1, 0);
}

static bool has(const ksiss_slow_tier *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].tier->name, name))
            return true;
    return false;
}

static void test_long_prompts_rule_out_the_slices(void **state)
{
    (void)state;
    fixture f = {0};
    ksiss_service_cfg *svc = load(&f, LONG_PROMPTS);
    assert_near(ksiss_ttft_slo(svc), 2, 0);
    ksiss_prompt_tally t = {0};
    long_prompts(&t, 1000);
    ksiss_slow_tier s[8];
    /* idle prefill beyond 2 s: the 3g above 20.4k tokens (14.7%), the 4g
     * above 24.8k (11.5%), the 7g above 40k (3.7%), gpu*2 none; the budget
     * 1% of 1000 and two s.d. of its count, 1.6% */
    size_t n = ksiss_slow_tiers(svc, NULL, NULL, 0, 2.0, &t, s, 8);
    assert_int_equal(n, 3);
    assert_true(has(s, n, "mig-3g.40gb") && has(s, n, "mig-4g.40gb") && has(s, n, "mig-7g.80gb"));
    assert_near(s[0].share, 0.15 * log(50000 / 20400.0) / log(2.5), 1e-9);
    assert_near(s[0].best, 0, 1e-12);
    /* 50 requests: 3.7% of them is 1.8, within the budget's 0.5 and its noise */
    ksiss_prompt_tally_free(&t);
    long_prompts(&t, 50);
    n = ksiss_slow_tiers(svc, NULL, NULL, 0, 2.0, &t, s, 8);
    assert_int_equal(n, 2);
    assert_false(has(s, n, "mig-7g.80gb"));
    /* a looser target leaves more; a looser SLO none */
    ksiss_prompt_tally_free(&t);
    long_prompts(&t, 1000);
    svc->slo_target = 0.9;
    n = ksiss_slow_tiers(svc, NULL, NULL, 0, 2.0, &t, s, 8);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].tier->name, "mig-3g.40gb");
    svc->slo_target = 0.99;
    assert_int_equal(ksiss_slow_tiers(svc, NULL, NULL, 0, 10.0, &t, s, 8), 0);
    /* nothing judged: no TTFT SLO, no tally, a generated-token load */
    assert_int_equal(ksiss_slow_tiers(svc, NULL, NULL, 0, 0, &t, s, 8), 0);
    ksiss_prompt_tally empty = {0};
    assert_int_equal(ksiss_slow_tiers(svc, NULL, NULL, 0, 2.0, &empty, s, 8), 0);
    svc->load.throughput = KSISS_THROUGHPUT_DECODE;
    assert_int_equal(ksiss_slow_tiers(svc, NULL, NULL, 0, 2.0, &t, s, 8), 0);
    svc->load.throughput = KSISS_THROUGHPUT_PREFILL;
    /* at most max written */
    assert_int_equal(ksiss_slow_tiers(svc, NULL, NULL, 0, 2.0, &t, s, 1), 1);
    ksiss_prompt_tally_free(&t);
    unload(&f);
}

/* With a learner's estimates the tier is judged on their optimistic side:
 * an uncertain 7g is kept, a tier with no estimate is not judged. */
static void test_learned_estimates_rule_out_on_their_optimistic_side(void **state)
{
    (void)state;
    fixture f = {0};
    ksiss_service_cfg *svc = load(&f, LONG_PROMPTS);
    ksiss_prompt_tally t = {0};
    long_prompts(&t, 1000);
    const ksiss_tier *tiers[4];
    ksiss_cap_estimate est[4];
    for (size_t i = 0; i < 4; i++) {
        tiers[i] = svc->ladder[i];
        memset(&est[i], 0, sizeof(est[i]));
        est[i].capacity = 14000 * tiers[i]->prefill_rel;
        est[i].rel_sd = 0.01;
    }
    ksiss_slow_tier s[8];
    assert_int_equal(ksiss_slow_tiers(svc, tiers, est, 4, 2.0, &t, s, 8), 3);
    est[2].rel_sd = 0.5;    /* the 7g as a profile's: 1.5x, 60k tokens in 2 s */
    size_t n = ksiss_slow_tiers(svc, tiers, est, 4, 2.0, &t, s, 8);
    assert_int_equal(n, 2);
    assert_false(has(s, n, "mig-7g.80gb"));
    est[0].capacity = NAN;  /* the 3g: nothing known */
    n = ksiss_slow_tiers(svc, tiers, est, 4, 2.0, &t, s, 8);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].tier->name, "mig-4g.40gb");
    ksiss_prompt_tally_free(&t);
    unload(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_is_log_uniform_within_a_bucket),
        cmocka_unit_test(test_tally_decays_and_starts_over),
        cmocka_unit_test(test_long_prompts_rule_out_the_slices),
        cmocka_unit_test(test_learned_estimates_rule_out_on_their_optimistic_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
