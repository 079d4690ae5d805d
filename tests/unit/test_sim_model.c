/* test_sim_model.c: properties of the simulator's serving model: latency
 * grows with load, a bigger tier serves more, the KV cache bounds the
 * batch, a model that does not fit is never served, and the profile file
 * is checked field by field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sim.h"
#include "core/sim_model.h"
#include "core/tiers.h"
#include "core/util.h"

static const char *PROFILE =
    "name: llama-3-8b-fp16\n"
    "weightsGiB: 15.0\n"
    "kvBytesPerToken: 131072\n"
    "prefillTokensPerSecond: 20000\n"
    "decodeStepMs: 7\n"
    "decodeTokensPerSecond: 8000\n"
    "maxBatch: 256\n";

typedef struct {
    ksiss_catalog cat;
    ksiss_sim_profile prof;
} fixture;

static int setup(void **state)
{
    fixture *f = ksiss_xcalloc(1, sizeof(*f));
    ksiss_catalog_builtin(&f->cat);
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_sim_profile_parse(PROFILE, strlen(PROFILE), "model.yaml", &f->prof, &d);
    ksiss_diags_free(&d);
    *state = f;
    return rc;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ksiss_sim_profile_free(&f->prof);
    ksiss_catalog_free(&f->cat);
    free(f);
    return 0;
}

static const ksiss_tier *tier(fixture *f, const char *name)
{
    const ksiss_tier *t = ksiss_catalog_tier(&f->cat, "H100-80GB", name);
    assert_non_null(t);
    return t;
}

/* Replays n requests arriving every gap_s seconds on one instance until
 * they are all done; returns the mean of TTFT (which = 0) or e2e (1). */
static double replay(fixture *f, const ksiss_tier *t, size_t n, double gap_s, int in, int out, int which)
{
    ksiss_sim_req *reqs = ksiss_xcalloc(n, sizeof(*reqs));
    ksiss_sim_instance inst;
    ksiss_sim_instance_init(&inst, &f->prof, t, 0);
    for (size_t i = 0; i < n; i++) {
        reqs[i].arrival = (double)i * gap_s;
        reqs[i].in_tokens = in;
        reqs[i].out_tokens = out;
        reqs[i].admitted = reqs[i].first_token = reqs[i].finished = NAN;
        ksiss_sim_instance_advance(&inst, reqs, reqs[i].arrival, NULL);
        ksiss_sim_instance_enqueue(&inst, i);
    }
    ksiss_sim_instance_advance(&inst, reqs, 1e9, NULL);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_false(isnan(reqs[i].finished));
        sum += which == 0 ? reqs[i].first_token - reqs[i].arrival : reqs[i].finished - reqs[i].arrival;
    }
    ksiss_sim_instance_free(&inst);
    free(reqs);
    return sum / (double)n;
}

static void test_latency_grows_with_load(void **state)
{
    fixture *f = *state;
    const ksiss_tier *t = tier(f, "mig-3g.40gb");
    static const double rates[] = { 0.5, 2, 4, 6, 8 };
    double prev_ttft = 0, prev_e2e = 0, first_ttft = 0;
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        double ttft = replay(f, t, 600, 1 / rates[i], 1000, 200, 0);
        double e2e = replay(f, t, 600, 1 / rates[i], 1000, 200, 1);
        if (i == 0)
            first_ttft = ttft;
        else if (!(ttft >= prev_ttft - 1e-6) || !(e2e > prev_e2e))
            fail_msg("at %g req/s: TTFT %g (before %g), e2e %g (before %g)", rates[i], ttft, prev_ttft, e2e,
                     prev_e2e);
        prev_ttft = ttft;
        prev_e2e = e2e;
    }
    /* Near and past saturation the queue makes TTFT explode, not creep. */
    assert_true(prev_ttft > 10 * first_ttft);
}

static void test_idle_latency_is_prefill_plus_decode_time(void **state)
{
    fixture *f = *state;
    /* One request alone on a whole GPU: 2000 / 20000 s of prefill, then 99
     * decode steps of 7 ms. */
    double ttft = replay(f, tier(f, "gpu"), 1, 1, 2000, 100, 0);
    double e2e = replay(f, tier(f, "gpu"), 1, 1, 2000, 100, 1);
    assert_true(fabs(ttft - 0.1) < 1e-9);
    assert_true(fabs(e2e - (0.1 + 99 * 0.007)) < 1e-9);
}

static double tokens_in(fixture *f, const ksiss_tier *t, double seconds)
{
    size_t n = 4000;
    ksiss_sim_req *reqs = ksiss_xcalloc(n, sizeof(*reqs));
    ksiss_sim_instance inst;
    ksiss_sim_instance_init(&inst, &f->prof, t, 0);
    for (size_t i = 0; i < n; i++) {
        reqs[i].in_tokens = 500;
        reqs[i].out_tokens = 300;
        reqs[i].admitted = reqs[i].first_token = reqs[i].finished = NAN;
        ksiss_sim_instance_enqueue(&inst, i);
    }
    ksiss_sim_instance_advance(&inst, reqs, seconds, NULL);
    double tok = inst.gen_tokens;
    ksiss_sim_instance_free(&inst);
    free(reqs);
    return tok;
}

static void test_bigger_tier_serves_more(void **state)
{
    fixture *f = *state;
    static const char *ladder[] = { "mig-3g.40gb", "mig-7g.80gb", "gpu*2", "gpu*4" };
    double prev = 0;
    for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
        double tok = tokens_in(f, tier(f, ladder[i]), 30);
        if (i > 0 && !(tok > prev))
            fail_msg("%s generated %g tokens in 30 s, not more than the tier below (%g)", ladder[i], tok, prev);
        prev = tok;
    }
}

static void test_kv_cache_bounds_the_batch(void **state)
{
    fixture *f = *state;
    const ksiss_tier *t = tier(f, "mig-3g.40gb");
    ksiss_sim_instance inst;
    ksiss_sim_instance_init(&inst, &f->prof, t, 0);
    /* (40 GiB x 0.9 - 15 GiB) / 128 KiB = 172032 tokens: 8 requests of 20000 */
    assert_true(fabs(inst.kv_cap_tokens - 172032) < 1);
    size_t n = 30;
    ksiss_sim_req reqs[30];
    memset(reqs, 0, sizeof(reqs));
    for (size_t i = 0; i < n; i++) {
        reqs[i].in_tokens = 19000;
        reqs[i].out_tokens = 1000;
        reqs[i].admitted = reqs[i].first_token = reqs[i].finished = NAN;
        ksiss_sim_instance_enqueue(&inst, i);
    }
    size_t most = 0;
    for (double t_s = 0.5; t_s < 2000 && inst.nrun + inst.qlen > 0; t_s += 0.5) {
        ksiss_sim_instance_advance(&inst, reqs, t_s, NULL);
        if (inst.nrun > most)
            most = inst.nrun;
    }
    assert_int_equal(most, 8);
    for (size_t i = 0; i < n; i++)
        assert_false(isnan(reqs[i].finished));
    ksiss_sim_instance_free(&inst);
}

static void test_request_longer_than_the_cache_is_rejected(void **state)
{
    fixture *f = *state;
    ksiss_sim_instance inst;
    ksiss_sim_instance_init(&inst, &f->prof, tier(f, "mig-3g.40gb"), 0);
    ksiss_sim_req r = { .in_tokens = 170000, .out_tokens = 5000, .admitted = NAN, .first_token = NAN,
                        .finished = NAN };
    ksiss_sim_instance_enqueue(&inst, 0);
    ksiss_sim_instance_advance(&inst, &r, 100, NULL);
    assert_true(r.rejected);
    assert_int_equal(ksiss_sim_instance_outstanding(&inst), 0);
    ksiss_sim_instance_free(&inst);
}

static void test_model_that_does_not_fit_the_tier_is_never_served(void **state)
{
    fixture *f = *state;
    assert_false(ksiss_sim_fits(&f->prof, tier(f, "mig-1g.10gb")));
    assert_true(ksiss_sim_decode_capacity(&f->prof, tier(f, "mig-1g.10gb")) == 0);
    assert_true(ksiss_sim_fits(&f->prof, tier(f, "mig-2g.20gb")));
}

static void test_profile_problems_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *says;
    } cases[] = {
        { "weightsGiB: 15\nkvBytesPerToken: 131072\nprefillTokensPerSecond: 20000\ndecodeStepMs: 7\n"
          "maxBatch: 256\n", "missing field decodeTokensPerSecond" },
        { "weightsGiB: -15\nkvBytesPerToken: 131072\nprefillTokensPerSecond: 20000\ndecodeStepMs: 7\n"
          "decodeTokensPerSecond: 8000\nmaxBatch: 256\n", "weightsGiB" },
        { "weightsGiB: 15\nkvBytesPerToken: 131072\nprefillTokensPerSecond: 20000\ndecodeStepMs: 7\n"
          "decodeTokensPerSecond: 8000\nmaxBatch: 0\n", "maxBatch" },
        { "weightsGiB: 15\nkvBytesPerToken: 131072\nprefillTokensPerSecond: .nan\ndecodeStepMs: 7\n"
          "decodeTokensPerSecond: 8000\nmaxBatch: 256\n", "prefillTokensPerSecond" },
        { "weightsGiB: 15\nkvBytesPerToken: 131072\nprefillTokensPerSecond: 20000\ndecodeStepMs: 70\n"
          "decodeTokensPerSecond: 8000\nmaxBatch: 256\n", "not coherent" },
        { "weightsGiB: 15\nkvBytesPerTokn: 131072\n", "kvBytesPerTokn" },
        { "- a list\n", "expected a YAML mapping" },
        { "", "expected a YAML mapping" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ksiss_sim_profile p;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_sim_profile_parse(cases[i].yaml, strlen(cases[i].yaml), "model.yaml", &p, &d);
        bool found = false;
        for (size_t k = 0; k < d.n; k++)
            if (strstr(d.v[k].msg, cases[i].says))
                found = true;
        if (rc != -1 || !found)
            fail_msg("case %zu: rc %d, wanted a problem mentioning \"%s\", got \"%s\"", i, rc, cases[i].says,
                     d.n ? d.v[0].msg : "(none)");
        ksiss_sim_profile_free(&p);
        ksiss_diags_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latency_grows_with_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_latency_is_prefill_plus_decode_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bigger_tier_serves_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_cache_bounds_the_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_longer_than_the_cache_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_that_does_not_fit_the_tier_is_never_served, setup, teardown),
        cmocka_unit_test(test_profile_problems_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
