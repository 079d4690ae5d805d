/* test_trace.c: request-trace parsing for the simulator: the Azure CSV as
 * published (last line without a newline), JSON lines, bad lines reported
 * with their line numbers and skipped, the too-many-bad-lines error, and
 * junk of every kind never crashing the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/trace.h"
#include "core/util.h"

static int parse(const char *text, ksiss_trace *t, ksiss_diags *d)
{
    ksiss_diags_init(d);
    return ksiss_trace_parse(text, strlen(text), "trace.csv", KSISS_TRACE_AUTO, t, d);
}

/* True when some diagnostic is at `line` and contains `needle`. */
static bool has_diag(const ksiss_diags *d, int line, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].pos.line == line && strstr(d->v[i].msg, needle))
            return true;
    return false;
}

static void test_azure_csv_parses_with_last_line_lacking_newline(void **state)
{
    (void)state;
    const char *csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                      "2023-11-16 18:15:46.6805900,374,44\n"
                      "2023-11-16 18:15:50.9951690,396,109\n"
                      "2023-11-16 18:15:51.2224670,879,55";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.bad_lines, 0);
    assert_int_equal(t.v[0].t_ms, 0);
    assert_int_equal(t.v[1].t_ms, 4315);   /* 50.995 - 46.680 (ms, truncated) */
    assert_int_equal(t.v[2].t_ms, 4542);
    assert_int_equal(t.v[2].in_tokens, 879);
    assert_int_equal(t.v[2].out_tokens, 55);
    assert_int_equal(d.n, 0);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

static void test_csv_timestamps_cross_midnight_and_month_end(void **state)
{
    (void)state;
    const char *csv = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                      "2024-02-29 23:59:59.5,10,1\r\n"
                      "2024-03-01 00:00:00.25,10,1\r\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.v[1].t_ms, 750);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

static void test_csv_columns_found_by_header_name(void **state)
{
    (void)state;
    const char *csv = "GeneratedTokens,TIMESTAMP,ContextTokens\n"
                      "7,2023-11-16 18:15:46.0,100\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.v[0].in_tokens, 100);
    assert_int_equal(t.v[0].out_tokens, 7);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

static void test_jsonl_parses_milliseconds_and_lengths(void **state)
{
    (void)state;
    const char *jl = "{\"timestamp\": 1000, \"input_length\": 512, \"output_length\": 64, \"hash_ids\": [1, 2]}\n"
                     "{\"timestamp\": 1500.5, \"input_length\": 10, \"output_length\": 1}\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(jl, &t, &d), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.start_epoch_ms, 1000);
    assert_int_equal(t.v[1].t_ms, 500);
    assert_int_equal(t.v[0].in_tokens, 512);
    assert_int_equal(t.v[1].out_tokens, 1);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

static void test_unordered_arrivals_are_sorted_stably(void **state)
{
    (void)state;
    const char *jl = "{\"timestamp\": 3000, \"input_length\": 3, \"output_length\": 3}\n"
                     "{\"timestamp\": 1000, \"input_length\": 1, \"output_length\": 1}\n"
                     "{\"timestamp\": 3000, \"input_length\": 4, \"output_length\": 4}\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(jl, &t, &d), 0);
    assert_int_equal(t.v[0].in_tokens, 1);
    assert_int_equal(t.v[1].in_tokens, 3);
    assert_int_equal(t.v[2].in_tokens, 4);
    assert_int_equal(t.v[2].t_ms, 2000);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

/* One bad line among good ones: table of what is wrong and what is said. */
static void test_bad_csv_lines_are_reported_with_line_number_and_skipped(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *says;
    } cases[] = {
        { "2023-11-16 18:15:4x.0,10,10", "bad timestamp" },
        { "2023-02-30 10:00:00.0,10,10", "bad timestamp" },
        { "2023-11-16 25:00:00.0,10,10", "bad timestamp" },
        { "2023-11-16 18:15:47.0,-5,10", "ContextTokens" },
        { "2023-11-16 18:15:47.0,10,0", "GeneratedTokens" },
        { "2023-11-16 18:15:47.0,99999999999999999999,10", "ContextTokens" },
        { "2023-11-16 18:15:47.0,1e3,10", "ContextTokens" },
        { "2023-11-16 18:15:47.0,10", "expected the columns" },
        { "just some words", "expected the columns" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        ksiss_sb_puts(&sb, "TIMESTAMP,ContextTokens,GeneratedTokens\n");
        for (int k = 0; k < 12; k++)
            ksiss_sb_printf(&sb, "2023-11-16 18:15:%02d.0,100,10\n", 10 + k);
        ksiss_sb_printf(&sb, "%s\n", cases[i].line);   /* line 14 */
        ksiss_sb_puts(&sb, "2023-11-16 18:16:00.0,100,10\n");
        ksiss_trace t;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "trace.csv", KSISS_TRACE_AUTO, &t, &d);
        if (rc != 0 || t.n != 13 || t.bad_lines != 1 || !has_diag(&d, 14, cases[i].says))
            fail_msg("case %zu (%s): rc %d n %zu bad %zu, diag \"%s\"", i, cases[i].line, rc, t.n, t.bad_lines,
                     d.n ? d.v[0].msg : "(none)");
        ksiss_trace_free(&t);
        ksiss_diags_free(&d);
        ksiss_sb_free(&sb);
    }
}

static void test_bad_json_lines_are_reported_with_line_number_and_skipped(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *says;
    } cases[] = {
        { "{\"timestamp\": 5, \"input_length\": 10", "not valid JSON" },
        { "[1, 2, 3]", "expected a JSON object" },
        { "{\"timestamp\": \"5\", \"input_length\": 10, \"output_length\": 1}", "timestamp" },
        { "{\"timestamp\": -5, \"input_length\": 10, \"output_length\": 1}", "timestamp" },
        { "{\"timestamp\": 5, \"input_length\": 1.5, \"output_length\": 1}", "input_length" },
        { "{\"timestamp\": 5, \"input_length\": 10}", "output_length" },
        { "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 1e300}", "output_length" },
        { "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 1} trailing", "extra text" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        for (int k = 0; k < 12; k++)
            ksiss_sb_printf(&sb, "{\"timestamp\": %d, \"input_length\": 10, \"output_length\": 5}\n", k * 100);
        ksiss_sb_printf(&sb, "%s\n", cases[i].line);   /* line 13 */
        ksiss_trace t;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "t.jsonl", KSISS_TRACE_AUTO, &t, &d);
        if (rc != 0 || t.n != 12 || t.bad_lines != 1 || !has_diag(&d, 13, cases[i].says))
            fail_msg("case %zu (%s): rc %d n %zu bad %zu, diag \"%s\"", i, cases[i].line, rc, t.n, t.bad_lines,
                     d.n ? d.v[0].msg : "(none)");
        ksiss_trace_free(&t);
        ksiss_diags_free(&d);
        ksiss_sb_free(&sb);
    }
}

static void test_too_many_bad_lines_is_an_error(void **state)
{
    (void)state;
    const char *csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                      "2023-11-16 18:15:46.0,10,10\n"
                      "garbage\n"
                      "more garbage\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), -1);
    assert_true(has_diag(&d, 0, "more than 10%"));
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

static void test_only_the_first_bad_lines_are_listed_the_rest_counted(void **state)
{
    (void)state;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (int k = 0; k < 1000; k++)
        ksiss_sb_printf(&sb, "{\"timestamp\": %d, \"input_length\": 10, \"output_length\": 5}\n", k);
    for (int k = 0; k < 50; k++)
        ksiss_sb_puts(&sb, "{oops\n");
    ksiss_trace t;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "t.jsonl", KSISS_TRACE_AUTO, &t, &d), 0);
    assert_int_equal(t.bad_lines, 50);
    assert_int_equal(d.n, KSISS_TRACE_MAX_REPORTED + 1);
    assert_true(has_diag(&d, 0, "30 more bad lines"));
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
    ksiss_sb_free(&sb);
}

static void test_empty_or_header_only_trace_is_an_error(void **state)
{
    (void)state;
    const char *inputs[] = { "", "\n\n", "TIMESTAMP,ContextTokens,GeneratedTokens\n", "a,b,c\n1,2,3\n" };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        ksiss_trace t;
        ksiss_diags d;
        assert_int_equal(parse(inputs[i], &t, &d), -1);
        assert_true(d.n > 0);
        ksiss_trace_free(&t);
        ksiss_diags_free(&d);
    }
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random bytes, and mutations of a valid trace (bytes flipped, cut,
 * duplicated), in both formats: the parser must return 0 or -1 with
 * consistent counts, never crash (ASan/valgrind runs make this strict). */
static void test_junk_never_crashes_the_parser(void **state)
{
    (void)state;
    const char *seeds[] = {
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n"
        "2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:15:51.2224670,879,55",
        "{\"timestamp\": 1000, \"input_length\": 512, \"output_length\": 64}\n"
        "{\"timestamp\": 1500, \"input_length\": 10, \"output_length\": 1}\n",
    };
    const char alphabet[] = "0123456789-:. ,\n\r{}[]\"etimsap_l\x00\xff\xc3";
    for (int iter = 0; iter < 3000; iter++) {
        size_t len;
        char *buf;
        if (iter % 3 == 0) {
            len = next_rand() % 300;
            buf = ksiss_xmalloc(len + 1);
            for (size_t i = 0; i < len; i++)
                buf[i] = (next_rand() & 1) ? (char)(next_rand() & 0xff)
                                           : alphabet[next_rand() % (sizeof(alphabet) - 1)];
        } else {
            const char *s = seeds[iter % 2];
            size_t sl = strlen(s);
            len = sl;
            buf = ksiss_xmalloc(2 * sl + 1);
            memcpy(buf, s, sl);
            int muts = 1 + (int)(next_rand() % 6);
            for (int m = 0; m < muts; m++) {
                size_t at = len ? next_rand() % len : 0;
                switch (next_rand() % 3) {
                case 0: if (len) buf[at] = alphabet[next_rand() % (sizeof(alphabet) - 1)]; break;
                case 1: len = at; break;
                default:
                    if (len + 10 <= 2 * sl) {
                        memmove(buf + at + 10, buf + at, len - at);
                        for (size_t k = 0; k < 10; k++)
                            buf[at + k] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
                        len += 10;
                    }
                }
            }
        }
        ksiss_trace t;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_trace_parse(buf, len, "junk", KSISS_TRACE_AUTO, &t, &d);
        assert_true(rc == 0 || rc == -1);
        assert_true(t.n + t.bad_lines <= t.lines);
        if (rc == 0)
            assert_true(t.n > 0);
        for (size_t i = 1; i < t.n; i++)
            assert_true(t.v[i].t_ms >= t.v[i - 1].t_ms);
        ksiss_trace_free(&t);
        ksiss_diags_free(&d);
        free(buf);
    }
}

static void test_bundled_azure_trace_parses_completely(void **state)
{
    (void)state;
    FILE *f = fopen("examples/sim/azure-llm-2023-conv.csv", "rb");
    assert_non_null(f);
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ksiss_sb_append(&sb, chunk, n);
    fclose(f);
    ksiss_trace t;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "azure", KSISS_TRACE_AUTO, &t, &d), 0);
    assert_int_equal(t.n, 19366);
    assert_int_equal(t.bad_lines, 0);
    assert_true(ksiss_trace_span_ms(&t) > 55 * 60000 && ksiss_trace_span_ms(&t) < 60 * 60000);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
    ksiss_sb_free(&sb);
}

static void test_utc_times_as_kubernetes_writes_them(void **state)
{
    (void)state;
    int64_t ms;
    const char *t = "2023-11-14T22:13:20Z";
    assert_int_equal(ksiss_parse_utc_time(t, t + strlen(t), &ms), 0);
    assert_true(ms == 1700000000000LL);
    t = "2023-11-14T22:13:50.5Z";
    assert_int_equal(ksiss_parse_utc_time(t, t + strlen(t), &ms), 0);
    assert_true(ms == 1700000030500LL);
    t = "1970-01-01T00:00:00Z";
    assert_int_equal(ksiss_parse_utc_time(t, t + strlen(t), &ms), 0);
    assert_true(ms == 0);
    t = "2024-02-29T12:00:00Z";
    assert_int_equal(ksiss_parse_utc_time(t, t + strlen(t), &ms), 0);
    assert_true(ms == 1709208000000LL);
    static const char *const bad[] = {"", "yesterday", "2023-11-14", "2023-11-14T22:13Z", "2023-02-29T00:00:00Z",
                                      "2023-11-14T22:13:20+01:00", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20Zx"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ksiss_parse_utc_time(bad[i], bad[i] + strlen(bad[i]), &ms), -1);
}

static void test_azure_2024_timestamps_with_offset_and_without_fraction(void **state)
{
    (void)state;
    /* As the 2024 week-long traces write them: microseconds and +00:00, or
     * no fraction at all; another offset is converted to UTC. */
    const char *csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                      "2024-05-12 00:00:00.001163+00:00,100,10\n"
                      "2024-05-12 00:00:01+00:00,200,20\n"
                      "2024-05-12 02:00:02.5+02:00,300,30\n"
                      "2024-05-11 19:00:03-05:00,400,40\n"
                      "2024-05-12 00:00:04.25,500,50\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), 0);
    assert_int_equal(t.n, 5);
    assert_int_equal(t.bad_lines, 0);
    assert_int_equal(d.n, 0);
    assert_true(t.start_epoch_ms == 1715472000001LL);   /* 2024-05-12T00:00:00.001Z */
    assert_int_equal(t.v[1].t_ms, 999);
    assert_int_equal(t.v[2].t_ms, 2499);                 /* 02:00:02.5 at +02:00 is 00:00:02.5 UTC */
    assert_int_equal(t.v[3].t_ms, 2999);                 /* 19:00:03 at -05:00 is 00:00:03 UTC */
    assert_int_equal(t.v[4].t_ms, 4249);
    assert_int_equal(t.v[4].in_tokens, 500);
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

static void test_bad_offsets_are_bad_timestamps(void **state)
{
    (void)state;
    static const char *const bad[] = { "2024-05-12 00:00:05+24:00", "2024-05-12 00:00:05+0a:00",
                                       "2024-05-12 00:00:05Z+00:00", "2024-05-12 00:00:05+00:60",
                                       "2024-05-12 00:00:05+00", "2024-05-12 00:00:05 +00:00" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        ksiss_sb_puts(&sb, "TIMESTAMP,ContextTokens,GeneratedTokens\n");
        for (int k = 0; k < 12; k++)
            ksiss_sb_printf(&sb, "2024-05-12 00:00:0%d+00:00,100,10\n", k % 5);
        ksiss_sb_printf(&sb, "%s,100,10\n", bad[i]);   /* line 14 */
        ksiss_trace t;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "trace.csv", KSISS_TRACE_AUTO, &t, &d);
        if (rc != 0 || t.n != 12 || t.bad_lines != 1 || !has_diag(&d, 14, "bad timestamp"))
            fail_msg("case %zu (%s): rc %d n %zu bad %zu", i, bad[i], rc, t.n, t.bad_lines);
        ksiss_trace_free(&t);
        ksiss_diags_free(&d);
        ksiss_sb_free(&sb);
    }
}

static void test_a_bad_timestamp_lists_the_accepted_forms(void **state)
{
    (void)state;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for (int k = 0; k < 24; k++)
        ksiss_sb_printf(&sb, "2023-11-16 18:15:%02d.0,100,10\n", 10 + k);
    ksiss_sb_puts(&sb, "16/11/2023 18:15:30,100,10\n");    /* line 26 */
    ksiss_sb_puts(&sb, "45.5,100,10\n");                   /* line 27: seconds, in a file of dates */
    ksiss_trace t;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "trace.csv", KSISS_TRACE_AUTO, &t, &d), 0);
    assert_int_equal(t.n, 24);
    assert_int_equal(t.bad_lines, 2);
    assert_true(has_diag(&d, 26, "\"16/11/2023 18:15:30\""));           /* names what it read */
    assert_true(has_diag(&d, 26, "2023-11-16 18:15:46.6805900"));       /* Azure 2023 */
    assert_true(has_diag(&d, 26, "2024-05-12 00:00:00.001163+00:00"));  /* Azure 2024 */
    assert_true(has_diag(&d, 26, "seconds from the trace's start (BurstGPT"));
    assert_true(has_diag(&d, 27, "one form throughout the file"));
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
    ksiss_sb_free(&sb);
}

static void test_burstgpt_csv_seconds_and_failed_requests(void **state)
{
    (void)state;
    /* BurstGPT's columns; Timestamp in seconds; a 0 response is a failed
     * request: skipped, counted, told once, not a bad line. */
    const char *csv = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
                      "5,ChatGPT,472,18,490,Conversation log\n"
                      "45,ChatGPT,1087,0,1087,Conversation log\n"
                      "45.25,GPT-4,417,276,693,API log\n"
                      "118,ChatGPT,1360,165,1525,Conversation log";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.bad_lines, 0);
    assert_int_equal(t.failed, 1);
    assert_true(t.start_epoch_ms == 5000);
    assert_int_equal(t.v[0].t_ms, 0);
    assert_int_equal(t.v[1].t_ms, 40250);
    assert_int_equal(t.v[1].in_tokens, 417);
    assert_int_equal(t.v[1].out_tokens, 276);
    assert_int_equal(t.v[2].t_ms, 113000);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.v[0].msg, "1 failed requests (Response tokens 0"));
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);

    /* Its own column names in its messages; a date in a file of seconds is bad. */
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n");
    for (int k = 0; k < 24; k++)
        ksiss_sb_printf(&sb, "%d,ChatGPT,100,10,110,API log\n", k);
    ksiss_sb_puts(&sb, "25,ChatGPT,-1,10,9,API log\n");                    /* line 26 */
    ksiss_sb_puts(&sb, "2024-05-12 00:00:05,ChatGPT,100,10,110,API log\n"); /* line 27 */
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_trace_parse(ksiss_sb_str(&sb), sb.len, "burst.csv", KSISS_TRACE_AUTO, &t, &d), 0);
    assert_int_equal(t.n, 24);
    assert_int_equal(t.bad_lines, 2);
    assert_true(has_diag(&d, 26, "Request tokens must be a whole number"));
    assert_true(has_diag(&d, 27, "bad timestamp"));
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
    ksiss_sb_free(&sb);
}

static void test_a_header_without_known_columns_names_both_layouts(void **state)
{
    (void)state;
    const char *csv = "Timestamp,Prompt,Completion\n5,10,10\n";
    ksiss_trace t;
    ksiss_diags d;
    assert_int_equal(parse(csv, &t, &d), -1);
    assert_true(has_diag(&d, 1, "TIMESTAMP, ContextTokens and GeneratedTokens (Azure)"));
    assert_true(has_diag(&d, 1, "Timestamp, Request tokens and Response tokens (BurstGPT)"));
    ksiss_trace_free(&t);
    ksiss_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_times_as_kubernetes_writes_them),
        cmocka_unit_test(test_azure_csv_parses_with_last_line_lacking_newline),
        cmocka_unit_test(test_csv_timestamps_cross_midnight_and_month_end),
        cmocka_unit_test(test_csv_columns_found_by_header_name),
        cmocka_unit_test(test_jsonl_parses_milliseconds_and_lengths),
        cmocka_unit_test(test_unordered_arrivals_are_sorted_stably),
        cmocka_unit_test(test_bad_csv_lines_are_reported_with_line_number_and_skipped),
        cmocka_unit_test(test_bad_json_lines_are_reported_with_line_number_and_skipped),
        cmocka_unit_test(test_too_many_bad_lines_is_an_error),
        cmocka_unit_test(test_only_the_first_bad_lines_are_listed_the_rest_counted),
        cmocka_unit_test(test_empty_or_header_only_trace_is_an_error),
        cmocka_unit_test(test_junk_never_crashes_the_parser),
        cmocka_unit_test(test_bundled_azure_trace_parses_completely),
        cmocka_unit_test(test_azure_2024_timestamps_with_offset_and_without_fraction),
        cmocka_unit_test(test_bad_offsets_are_bad_timestamps),
        cmocka_unit_test(test_a_bad_timestamp_lists_the_accepted_forms),
        cmocka_unit_test(test_burstgpt_csv_seconds_and_failed_requests),
        cmocka_unit_test(test_a_header_without_known_columns_names_both_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
