/* test_util.c: the strict number and duration parsers of core/util.h, one
 * table per parser: every accepted form with its value, and every form
 * strtod/strtoll would take but util.h excludes (blanks, '+', hex, "inf",
 * exponents in durations, trailing bytes) refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *in;
    int ok;
    int64_t want;
} int_case;

static const int_case int_cases[] = {
    {"8", 1, 8},
    {"-3", 1, -3},
    {"0", 1, 0},
    {"-0", 1, 0},
    {"007", 1, 7},
    {"9223372036854775807", 1, INT64_MAX},
    {"-9223372036854775808", 1, INT64_MIN},
    {"9223372036854775808", 0, 0},
    {"-9223372036854775809", 0, 0},
    {" 8", 0, 0},
    {"8 ", 0, 0},
    {"\t8", 0, 0},
    {"\n8", 0, 0},
    {"+8", 0, 0},
    {"--8", 0, 0},
    {"-", 0, 0},
    {"", 0, 0},
    {"0x10", 0, 0},
    {"0X10", 0, 0},
    {"1_000", 0, 0},
    {"1,000", 0, 0},
    {"8.0", 0, 0},
    {"1e3", 0, 0},
    {"8s", 0, 0},
    {"\xd9\xa8", 0, 0},  /* an Arabic-Indic digit */
};

static void test_int64_is_optional_minus_and_decimal_digits(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(int_cases); i++) {
        const int_case *c = &int_cases[i];
        int64_t v = 12345;
        int rc = ksiss_parse_int64(c->in, &v);
        if (c->ok ? rc != 0 || v != c->want : rc != -1 || v != 12345)
            fail_msg("'%s': rc %d value %lld", c->in, rc, (long long)v);
    }
    int64_t v;
    assert_int_equal(ksiss_parse_int64(NULL, &v), -1);
}

typedef struct {
    const char *in;
    int ok;
    double want;
} double_case;

static const double_case double_cases[] = {
    {"2", 1, 2},
    {"-0.5", 1, -0.5},
    {"0.5", 1, 0.5},
    {".5", 1, 0.5},
    {"5.", 1, 5},
    {"1e-05", 1, 1e-05},     /* Prometheus' sample values, as Go writes them */
    {"1.5e+06", 1, 1.5e6},
    {"-2.5E3", 1, -2500},
    {"2.2250738585072014e-308", 1, 2.2250738585072014e-308},
    {"1e-400", 0, 0},         /* would be 0 */
    {"1e-320", 0, 0},         /* would be a subnormal */
    {"1.7976931348623157e308", 1, 1.7976931348623157e308},
    {"1e999", 0, 0},
    {"-1e999", 0, 0},
    {" 8", 0, 0},
    {"8 ", 0, 0},
    {"+8", 0, 0},
    {"+0.5", 0, 0},
    {"0x10", 0, 0},
    {"0x1p3", 0, 0},
    {"inf", 0, 0},
    {"Inf", 0, 0},
    {"+Inf", 0, 0},
    {"infinity", 0, 0},
    {"nan", 0, 0},
    {"NaN", 0, 0},
    {".", 0, 0},
    {"-.", 0, 0},
    {"e5", 0, 0},
    {"1e", 0, 0},
    {"1e+", 0, 0},
    {"1.2.3", 0, 0},
    {"--1", 0, 0},
    {"", 0, 0},
    {"1,5", 0, 0},
    {"2s", 0, 0},
};

static void test_double_is_a_plain_decimal_with_an_optional_exponent(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(double_cases); i++) {
        const double_case *c = &double_cases[i];
        double v = 12345;
        int rc = ksiss_parse_double(c->in, &v);
        if (c->ok ? rc != 0 || v != c->want : rc != -1 || v != 12345)
            fail_msg("'%s': rc %d value %g", c->in, rc, v);
    }
    double v;
    assert_int_equal(ksiss_parse_double(NULL, &v), -1);
}

typedef struct {
    const char *in;
    int ok;
    int64_t want_ms;
} dur_case;

static const dur_case dur_cases[] = {
    {"500ms", 1, 500},
    {"30s", 1, 30000},
    {"5m", 1, 300000},
    {"1h", 1, 3600000},
    {"1m30s", 1, 90000},
    {"1h0m0.5s", 1, 3600500},
    {"1.5s", 1, 1500},
    {".5s", 1, 500},
    {"10", 1, 10000},
    {"2.5", 1, 2500},
    {"0", 1, 0},
    {"0x10", 0, 0},
    {"0x10s", 0, 0},
    {"1e3", 0, 0},
    {"1e3s", 0, 0},
    {"1E3ms", 0, 0},
    {" 10", 0, 0},
    {"10 ", 0, 0},
    {" 10s", 0, 0},
    {"10 s", 0, 0},
    {"+10", 0, 0},
    {"+10s", 0, 0},
    {"-5s", 0, 0},
    {"-5", 0, 0},
    {"1m-30s", 0, 0},
    {"1m+30s", 0, 0},
    {"inf", 0, 0},
    {"nan", 0, 0},
    {"infs", 0, 0},
    {"1m30", 0, 0},
    {"5d", 0, 0},
    {"5us", 0, 0},
    {"s", 0, 0},
    {".s", 0, 0},
    {"", 0, 0},
    {"99999999999h", 0, 0},
    {"10000000000000000", 0, 0},
};

static void test_duration_numbers_are_unsigned_decimals_with_known_units(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(dur_cases); i++) {
        const dur_case *c = &dur_cases[i];
        int64_t v = 12345;
        int rc = ksiss_parse_duration_ms(c->in, &v);
        if (c->ok ? rc != 0 || v != c->want_ms : rc != -1 || v != 12345)
            fail_msg("'%s': rc %d value %lld", c->in, rc, (long long)v);
    }
    int64_t v;
    assert_int_equal(ksiss_parse_duration_ms(NULL, &v), -1);
}

/* Every duration the parser accepts is written back by
 * ksiss_format_duration in a form it reads as the same value. */
static void test_formatted_durations_read_back(void **state)
{
    (void)state;
    static const int64_t ms[] = {0, 1, 500, 1000, 1500, 60000, 90000, 3600000, 3600500, 86400000};
    for (size_t i = 0; i < N_(ms); i++) {
        char *s = ksiss_format_duration(ms[i]);
        int64_t back = -1;
        if (ksiss_parse_duration_ms(s, &back) != 0 || back != ms[i])
            fail_msg("%lld -> '%s' -> %lld", (long long)ms[i], s, (long long)back);
        free(s);
    }
}

/* One XML escaper for every SVG the simulator and its scoreboard write. */
static void test_xml_text_is_escaped_and_control_bytes_dropped(void **state)
{
    (void)state;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    assert_int_equal(ksiss_sb_put_xml(&sb, "a<b>&\"c\"\x01\n\t\xc3\xa9"), 0);
    assert_string_equal(ksiss_sb_str(&sb), "a&lt;b&gt;&amp;&quot;c&quot;\xc3\xa9");
    ksiss_sb_free(&sb);
    ksiss_sb_init(&sb, 8);
    assert_int_equal(ksiss_sb_put_xml(&sb, "<<<"), -1); /* 12 bytes past an 8-byte cap */
    assert_true(sb.overflow);
    ksiss_sb_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64_is_optional_minus_and_decimal_digits),
        cmocka_unit_test(test_double_is_a_plain_decimal_with_an_optional_exponent),
        cmocka_unit_test(test_duration_numbers_are_unsigned_decimals_with_known_units),
        cmocka_unit_test(test_formatted_durations_read_back),
        cmocka_unit_test(test_xml_text_is_escaped_and_control_bytes_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
