/* test_sim_score.c: the evaluation suite's rules (core/sim_score.c) on small
 * fixed figures: a dominated case and one that passes, each threshold on
 * both sides, the two class floors, the jitter rule, and missing results. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/sim_score.h"

/* A case where ksiss has 99.50% at 1.0 GPU-hours, the oracle 99.10% at 0.7,
 * and every baseline is clearly worse (lower attainment or dearer). */
static ksiss_score_case passing(ksiss_score_class cls)
{
    ksiss_score_case c;
    memset(&c, 0, sizeof(c));
    c.cls = cls;
    c.p[KSISS_SCORE_KSISS] = (ksiss_score_point){ true, 0.995, 1.0 };
    c.p[KSISS_SCORE_SEED] = (ksiss_score_point){ true, 0.80, 0.80 };
    c.p[KSISS_SCORE_HORIZONTAL] = (ksiss_score_point){ true, 0.992, 0.90 };  /* 0.3 points below */
    c.p[KSISS_SCORE_STATIC] = (ksiss_score_point){ true, 0.999, 0.99 };      /* better, only 1% cheaper */
    c.p[KSISS_SCORE_ORACLE] = (ksiss_score_point){ true, 0.991, 0.70 };
    return c;
}

static void test_a_case_no_baseline_dominates_passes(void **state)
{
    (void)state;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    ksiss_score_verdict v;
    ksiss_score_eval(&c, &v);
    assert_true(v.meets);
    assert_int_equal(v.dominated_by, -1);
    assert_true(v.floor_ok);
    assert_true(fabs(v.floor - 0.98) < 1e-12);      /* min(0.99, 0.991) - 0.01 */
    assert_true(fabs(v.cost_vs_oracle - 1.0 / 0.7) < 1e-12);
    assert_false(v.jitter_checked);
    assert_string_equal(v.why, "");
}

static void test_a_cheaper_baseline_with_the_same_attainment_dominates(void **state)
{
    (void)state;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    c.p[KSISS_SCORE_HORIZONTAL] = (ksiss_score_point){ true, 0.994, 0.97 };  /* 0.1 points below, 3% cheaper */
    ksiss_score_verdict v;
    ksiss_score_eval(&c, &v);
    assert_false(v.meets);
    assert_int_equal(v.dominated_by, KSISS_SCORE_HORIZONTAL);
    assert_string_equal(v.why, "dominated by horizontal");
    /* Better and cheaper dominates too. */
    c = passing(KSISS_SCORE_SPIKE);
    c.p[KSISS_SCORE_STATIC] = (ksiss_score_point){ true, 0.999, 0.5 };
    ksiss_score_eval(&c, &v);
    assert_false(v.meets);
    assert_int_equal(v.dominated_by, KSISS_SCORE_STATIC);
}

static void test_dominance_thresholds_on_both_sides(void **state)
{
    (void)state;
    ksiss_score_verdict v;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    /* Exactly 0.2 points below and exactly 2% cheaper: dominated. */
    c.p[KSISS_SCORE_SEED] = (ksiss_score_point){ true, 0.993, 0.98 };
    ksiss_score_eval(&c, &v);
    assert_int_equal(v.dominated_by, KSISS_SCORE_SEED);
    /* 0.21 points below: not. */
    c.p[KSISS_SCORE_SEED] = (ksiss_score_point){ true, 0.9929, 0.5 };
    ksiss_score_eval(&c, &v);
    assert_int_equal(v.dominated_by, -1);
    assert_true(v.meets);
    /* 1.9% cheaper: not. */
    c.p[KSISS_SCORE_SEED] = (ksiss_score_point){ true, 0.995, 0.981 };
    ksiss_score_eval(&c, &v);
    assert_int_equal(v.dominated_by, -1);
}

static void test_real_floor_is_the_oracle_capped_at_99_less_one_point(void **state)
{
    (void)state;
    ksiss_score_verdict v;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    c.p[KSISS_SCORE_ORACLE].attainment = 0.9753;  /* the code trace's oracle */
    c.p[KSISS_SCORE_KSISS].attainment = 0.9652;   /* below 96.53% */
    c.p[KSISS_SCORE_HORIZONTAL].attainment = 0.90;
    ksiss_score_eval(&c, &v);
    assert_false(v.floor_ok);
    assert_false(v.meets);
    assert_string_equal(v.why, "below min(99%, oracle) - 1 point");
    c.p[KSISS_SCORE_KSISS].attainment = 0.9653;
    ksiss_score_eval(&c, &v);
    assert_true(v.floor_ok);
    assert_true(v.meets);
    /* An oracle above 99% does not raise the floor above 98%. */
    c.p[KSISS_SCORE_ORACLE].attainment = 0.9999;
    c.p[KSISS_SCORE_KSISS].attainment = 0.9801;
    ksiss_score_eval(&c, &v);
    assert_true(fabs(v.floor - 0.98) < 1e-12);
    assert_true(v.meets);
}

static void test_spike_floor_is_horizontal_less_half_a_point(void **state)
{
    (void)state;
    ksiss_score_verdict v;
    ksiss_score_case c = passing(KSISS_SCORE_SPIKE);
    c.p[KSISS_SCORE_ORACLE].attainment = 0.999;   /* ignored for spikes */
    c.p[KSISS_SCORE_HORIZONTAL] = (ksiss_score_point){ true, 0.90, 1.2 };
    c.p[KSISS_SCORE_KSISS].attainment = 0.896;
    ksiss_score_eval(&c, &v);
    assert_true(v.meets);
    c.p[KSISS_SCORE_KSISS].attainment = 0.894;
    c.p[KSISS_SCORE_STATIC].cost = 2.0;           /* keep static from dominating */
    ksiss_score_eval(&c, &v);
    assert_false(v.meets);
    assert_string_equal(v.why, "below horizontal - 0.5 points");
}

static void test_cost_above_the_aim_is_reported_not_failed(void **state)
{
    (void)state;
    ksiss_score_verdict v;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    c.p[KSISS_SCORE_ORACLE].cost = 0.6;           /* 1.67x */
    ksiss_score_eval(&c, &v);
    assert_true(v.over_cost_aim);
    assert_true(v.meets);
    c.p[KSISS_SCORE_ORACLE].cost = 0.7;
    ksiss_score_eval(&c, &v);
    assert_false(v.over_cost_aim);
}

static void test_jitter_rule_on_both_sides(void **state)
{
    (void)state;
    ksiss_score_verdict v;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    c.base = (ksiss_score_point){ true, 0.9952, 1.029 / 1.0 };  /* -2.8% cost, -0.02 points */
    ksiss_score_eval(&c, &v);
    assert_true(v.jitter_checked);
    assert_true(v.jitter_ok);
    assert_true(v.meets);
    c.base.cost = 1.0 / 1.031;                    /* +3.1% */
    ksiss_score_eval(&c, &v);
    assert_false(v.jitter_ok);
    assert_false(v.meets);
    assert_string_equal(v.why, "jitter moved cost >= 3% or attainment >= 0.3 points");
    c.base = (ksiss_score_point){ true, 0.9981, 1.0 };          /* -0.31 points */
    ksiss_score_eval(&c, &v);
    assert_false(v.jitter_ok);
    c.base.attainment = 0.9979;                   /* -0.29 points */
    ksiss_score_eval(&c, &v);
    assert_true(v.jitter_ok);
}

static void test_missing_results_never_pass(void **state)
{
    (void)state;
    ksiss_score_verdict v;
    ksiss_score_case c = passing(KSISS_SCORE_REAL);
    c.p[KSISS_SCORE_KSISS].present = false;
    ksiss_score_eval(&c, &v);
    assert_false(v.meets);
    c = passing(KSISS_SCORE_REAL);
    c.p[KSISS_SCORE_ORACLE].present = false;
    ksiss_score_eval(&c, &v);
    assert_false(v.meets);
    assert_true(isnan(v.cost_vs_oracle));
    c = passing(KSISS_SCORE_SPIKE);
    c.p[KSISS_SCORE_HORIZONTAL].present = false;
    ksiss_score_eval(&c, &v);
    assert_false(v.meets);
}

static void test_class_names_round_trip(void **state)
{
    (void)state;
    ksiss_score_class k;
    assert_int_equal(ksiss_score_class_parse("real", &k), 0);
    assert_int_equal(k, KSISS_SCORE_REAL);
    assert_string_equal(ksiss_score_class_name(k), "real");
    assert_int_equal(ksiss_score_class_parse("spike", &k), 0);
    assert_int_equal(k, KSISS_SCORE_SPIKE);
    assert_int_equal(ksiss_score_class_parse("burst", &k), -1);
}

/* The learned capacity's bound: 0.5 points less and 10% dearer at most,
 * each on both sides, better is fine, and a missing run is not checked. */
static void test_learned_capacity_bounds(void **state)
{
    (void)state;
    ksiss_score_point prof = { true, 0.990, 1.0 };
    ksiss_score_learn l;
    ksiss_score_point a = { true, 0.986, 1.09 };     /* -0.4 points, +9% */
    ksiss_score_learned(&prof, &a, &l);
    assert_true(l.checked && l.ok);
    assert_true(fabs(l.points + 0.004) < 1e-9 && fabs(l.cost - 0.09) < 1e-9);
    ksiss_score_point b = { true, 0.984, 1.0 };      /* -0.6 points */
    ksiss_score_learned(&prof, &b, &l);
    assert_true(l.checked && !l.ok);
    ksiss_score_point c = { true, 0.999, 1.11 };     /* better, but 11% dearer */
    ksiss_score_learned(&prof, &c, &l);
    assert_true(l.checked && !l.ok);
    ksiss_score_point d = { true, 0.999, 0.8 };      /* better and cheaper */
    ksiss_score_learned(&prof, &d, &l);
    assert_true(l.ok);
    ksiss_score_point e = { false, 0, 0 };
    ksiss_score_learned(&prof, &e, &l);
    assert_false(l.checked || l.ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_case_no_baseline_dominates_passes),
        cmocka_unit_test(test_a_cheaper_baseline_with_the_same_attainment_dominates),
        cmocka_unit_test(test_dominance_thresholds_on_both_sides),
        cmocka_unit_test(test_real_floor_is_the_oracle_capped_at_99_less_one_point),
        cmocka_unit_test(test_spike_floor_is_horizontal_less_half_a_point),
        cmocka_unit_test(test_cost_above_the_aim_is_reported_not_failed),
        cmocka_unit_test(test_jitter_rule_on_both_sides),
        cmocka_unit_test(test_missing_results_never_pass),
        cmocka_unit_test(test_class_names_round_trip),
        cmocka_unit_test(test_learned_capacity_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
