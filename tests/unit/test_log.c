/* test_log.c: the log writer (src/shell/log.c) against the strict reader
 * (support/logfmt.c, the e2e suites' checker): ts/level/msg first, every
 * byte value escaped so that it reads back as it was, values and lines cut
 * at their limits with the quote closed and the cut said; and the reader
 * refuses the lines the shell used to print by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "shell/log.h"
#include "support/logfmt.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-12-07T07:05:35.123Z */
static const int64_t T0 = 1796627135123;

/* Formats one line (kv: key, value, ..., NULL) and returns it (caller frees). */
static char *fmt(const char *level, const char *msg, const char *const *kv, size_t n)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_log_format(&sb, T0, level, msg, kv, n);
    return ksiss_sb_take(&sb);
}

/* Reads a formatted line (with its newline) back; fails the test when the
 * reader refuses it, showing why and where. */
static void read_back(const char *line, logfmt_line *out)
{
    size_t len = strlen(line), at = 0;
    assert_true(len > 0 && line[len - 1] == '\n');
    assert_null(memchr(line, '\n', len - 1));
    const char *why = logfmt_parse(line, len - 1, out, &at);
    if (why)
        fail_msg("refused at byte %zu: %s: %.200s", at, why, line + (at > 40 ? at - 40 : 0));
}

static void test_a_line_is_ts_level_msg_then_the_pairs(void **state)
{
    (void)state;
    const char *kv[] = {"service", "chat", "tier", NULL, "replicas", "3"};
    char *line = fmt("info", "decision", kv, N_(kv));
    assert_string_equal(line, "ts=2026-12-07T07:05:35.123Z level=info msg=decision service=chat replicas=3\n");
    free(line);
    line = fmt("warn", "lease now held by another", NULL, 0);
    assert_string_equal(line, "ts=2026-12-07T07:05:35.123Z level=warn msg=\"lease now held by another\"\n");
    free(line);
}

static void test_quotes_backslashes_and_newlines_are_escaped(void **state)
{
    (void)state;
    const char *err = "Operation cannot be fulfilled on services \"chat\": C:\\x\nlevel=info msg=\"forged\"\t\r";
    const char *kv[] = {"error", err, "empty", ""};
    char *line = fmt("error", "cannot write the lease", kv, N_(kv));
    assert_string_equal(line, "ts=2026-12-07T07:05:35.123Z level=error msg=\"cannot write the lease\" "
                              "error=\"Operation cannot be fulfilled on services \\\"chat\\\": C:\\\\x\\n"
                              "level=info msg=\\\"forged\\\"\\t\\r\" empty=\"\"\n");
    logfmt_line l;
    read_back(line, &l);
    assert_int_equal(l.n, 5);
    assert_string_equal(logfmt_get(&l, "error")->value, err);
    assert_string_equal(logfmt_get(&l, "empty")->value, "");
    logfmt_line_free(&l);
    free(line);
}

/* Every byte value 1..255, alone and followed by every other, as a value,
 * a message and a key: the line reads back and the value is the same bytes
 * (invalid UTF-8 as \xNN, valid UTF-8 as it is). */
static void test_every_byte_value_reads_back_as_it_was(void **state)
{
    (void)state;
    for (int a = 1; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            char v[4] = {(char)a, (char)b, 'z', '\0'};
            const char *kv[] = {v, v};
            char *line = fmt("info", v, kv, N_(kv));
            logfmt_line l;
            read_back(line, &l);
            assert_int_equal(l.n, 4);
            assert_int_equal(l.pairs[2].value_len, strlen(v));
            assert_memory_equal(l.pairs[2].value, v, strlen(v));
            assert_memory_equal(l.pairs[3].value, v, strlen(v));
            logfmt_line_free(&l);
            free(line);
        }
    }
}

static void test_utf8_is_kept_and_what_is_not_utf8_is_escaped(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xe2\x82\xac 5", "\"\xe2\x82\xac 5\""},                      /* the euro sign */
        {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},                  /* U+1F600 */
        {"\xc2\x85", "\"\\xc2\\x85\""},                                /* C1 control NEL */
        {"\xc0\xaf", "\"\\xc0\\xaf\""},                                /* overlong '/' */
        {"\xe0\x80\xaf", "\"\\xe0\\x80\\xaf\""},                       /* overlong, 3 bytes */
        {"\xed\xa0\x80", "\"\\xed\\xa0\\x80\""},                       /* a surrogate */
        {"\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\""},              /* past U+10FFFF */
        {"\xe2\x82", "\"\\xe2\\x82\""},                                /* cut short */
        {"\x1b[2J", "\"\\x1b[2J\""},                                   /* a terminal escape */
        {"\x7f", "\"\\x7f\""},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        const char *kv[] = {"v", cases[i].in};
        char *line = fmt("info", "m", kv, N_(kv));
        const char *v = strstr(line, " v=");
        assert_non_null(v);
        assert_int_equal(strlen(v + 3), strlen(cases[i].out) + 1);
        assert_memory_equal(v + 3, cases[i].out, strlen(cases[i].out));
        free(line);
    }
}

static void test_keys_keep_only_safe_characters(void **state)
{
    (void)state;
    char long_key[100];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    const char *kv[] = {"a b=c\"", "1", "", "2", long_key, "3", "x.y-z_0", "4"};
    char *line = fmt("info", "m", kv, N_(kv));
    logfmt_line l;
    read_back(line, &l);
    assert_string_equal(l.pairs[3].key, "a_b_c_");
    assert_string_equal(l.pairs[4].key, "_");
    assert_int_equal(strlen(l.pairs[5].key), KSISS_LOG_KEY_MAX);
    assert_string_equal(l.pairs[6].key, "x.y-z_0");
    logfmt_line_free(&l);
    free(line);
}

/* A value of v_len copies of `unit`, as the only pair. */
static char *line_with_value(const char *unit, size_t v_len, logfmt_line *l)
{
    size_t u = strlen(unit);
    char *v = malloc(v_len + 1);
    for (size_t i = 0; i < v_len; i += u)
        memcpy(v + i, unit, u);
    v[v_len] = '\0';
    const char *kv[] = {"error", v};
    char *line = fmt("warn", "m", kv, N_(kv));
    read_back(line, l);
    free(v);
    return line;
}

static const char *written_value(const char *line)
{
    const char *v = strstr(line, " error=");
    assert_non_null(v);
    return v + strlen(" error=");
}

static void test_a_value_at_the_limit_is_whole_and_one_byte_more_is_cut_and_said(void **state)
{
    (void)state;
    logfmt_line l;
    char *line = line_with_value("a", KSISS_LOG_VALUE_MAX, &l);     /* bare, exactly the limit */
    assert_int_equal(logfmt_get(&l, "error")->value_len, KSISS_LOG_VALUE_MAX);
    assert_int_equal(strlen(written_value(line)), KSISS_LOG_VALUE_MAX + 1);
    logfmt_line_free(&l);
    free(line);

    line = line_with_value("a", KSISS_LOG_VALUE_MAX + 1, &l);
    const char *v = written_value(line);
    assert_true(strlen(v) <= KSISS_LOG_VALUE_MAX + 1);
    assert_true(strlen(v) > KSISS_LOG_VALUE_MAX - 60);
    char tail[64];
    snprintf(tail, sizeof tail, "a...(truncated, %d bytes)\"\n", KSISS_LOG_VALUE_MAX + 1);
    assert_string_equal(v + strlen(v) - strlen(tail), tail);
    logfmt_line_free(&l);
    free(line);

    line = line_with_value(" ", KSISS_LOG_VALUE_MAX - 2, &l);      /* quoted (+2): exactly the limit */
    assert_int_equal(strlen(written_value(line)), KSISS_LOG_VALUE_MAX + 1);
    assert_null(strstr(line, "truncated"));
    logfmt_line_free(&l);
    free(line);

    line = line_with_value(" ", KSISS_LOG_VALUE_MAX - 1, &l);
    v = written_value(line);
    assert_true(strlen(v) <= KSISS_LOG_VALUE_MAX + 1);
    snprintf(tail, sizeof tail, " ...(truncated, %d bytes)\"\n", KSISS_LOG_VALUE_MAX - 1);
    assert_string_equal(v + strlen(v) - strlen(tail), tail);
    logfmt_line_free(&l);
    free(line);
}

/* Cutting never splits an escape or a UTF-8 character (the reader would
 * refuse the line) and the quote is always closed. */
static void test_a_cut_falls_between_characters(void **state)
{
    (void)state;
    static const char *const units[] = {"\"", "\\", "\n", "\x01", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff"};
    for (size_t i = 0; i < N_(units); i++) {
        for (size_t extra = 0; extra < 4; extra++) {
            logfmt_line l;
            size_t u = strlen(units[i]);
            char *line = line_with_value(units[i], (KSISS_LOG_VALUE_MAX / u + extra) * u, &l);
            const char *v = written_value(line);
            assert_true(strlen(v) <= KSISS_LOG_VALUE_MAX + 1);
            assert_non_null(strstr(v, "...(truncated, "));
            logfmt_line_free(&l);
            free(line);
        }
    }
}

static void test_a_line_is_at_most_the_limit_and_says_what_it_left_out(void **state)
{
    (void)state;
    size_t big = KSISS_LOG_VALUE_MAX * 2;
    char *v = malloc(big + 1);
    memset(v, 'q', big);
    v[big] = '\0';
    const char *kv[] = {"a", v, "b", v, "c", v, "d", v, "e", v, "f", v, "g", "small"};
    char *line = fmt("info", v, kv, N_(kv));
    assert_true(strlen(line) <= KSISS_LOG_LINE_MAX);
    assert_true(strlen(line) > KSISS_LOG_LINE_MAX - 200);
    logfmt_line l;
    read_back(line, &l);
    const logfmt_pair *d = logfmt_get(&l, "dropped_fields");
    assert_non_null(d);
    size_t kept = l.n - 4;      /* ts, level, msg, dropped_fields */
    char want[16];
    snprintf(want, sizeof want, "%zu", 7 - kept);
    assert_string_equal(d->value, want);
    assert_true(kept >= 3);
    assert_non_null(strstr(logfmt_get(&l, "msg")->value, "...(truncated, 32768 bytes)"));
    logfmt_line_free(&l);
    free(line);
    free(v);
}

static void test_ksiss_log_writes_one_line_on_stderr(void **state)
{
    (void)state;
    char path[] = "/tmp/ksiss-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_int_equal(dup2(fd, 2), 2);
    ksiss_log("warn", "informer list failed", "resource", "pods", "skipped", NULL, "error",
              "pods is forbidden: User \"x\" cannot list", NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[512] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    logfmt_line l;
    read_back(buf, &l);
    assert_int_equal(l.n, 5);
    assert_string_equal(logfmt_get(&l, "level")->value, "warn");
    assert_string_equal(logfmt_get(&l, "resource")->value, "pods");
    assert_string_equal(logfmt_get(&l, "error")->value, "pods is forbidden: User \"x\" cannot list");
    assert_null(logfmt_get(&l, "skipped"));
    logfmt_line_free(&l);
}

/* The checker refuses what the shell printed by hand before log.c (no ts,
 * an unescaped quote from a Kubernetes message) and every other defect. */
static void test_the_reader_refuses_lines_that_are_not_valid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "level=info msg=\"acquired lease ns/l\" identity=a",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=\"lease ns/l: services \"x\" not found\"",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=\"unterminated",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m error=\"ends in a backslash\\",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m error=\"\\q\"",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m error=\"\\xZZ\"",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m error=\"raw\ttab\"",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m error=\"raw \xff byte\"",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m error=\"C1 \xc2\x85\"",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a=1 a=2",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m  a=1",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a=1 ",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a=",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a=x\"y",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a=b=c",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m =1",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a b=1",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m \"a\"=1",
        "ts=2026-12-07T07:05:35.123Z level=warn msg=m a=\"1\"b",
        "ts=2026-12-07T07:05:35.123Z level=loud msg=m",
        "ts=2026-12-07T07:05:35Z level=info msg=m",
        "ts=2026-13-07T07:05:35.123Z level=info msg=m",
        "ts=2026-12-07T07:05:35.123Z msg=m level=info",
        "ts=2026-12-07T07:05:35.123Z level=info",
        "msg=m ts=2026-12-07T07:05:35.123Z level=info",
        "ksiss: out of memory allocating 12 bytes",
        "",
    };
    for (size_t i = 0; i < N_(bad); i++) {
        size_t at = 0;
        const char *why = logfmt_parse(bad[i], strlen(bad[i]), NULL, &at);
        if (!why)
            fail_msg("accepted: %s", bad[i]);
    }
    char nul[] = "ts=2026-12-07T07:05:35.123Z level=info msg=m a=\"x\0y\"";
    assert_non_null(logfmt_parse(nul, sizeof nul - 1, NULL, NULL));
    size_t long_len = 70000;
    char *huge = malloc(long_len + 1);
    memset(huge, 'x', long_len);
    memcpy(huge, "ts=2026-12-07T07:05:35.123Z level=info msg=", 43);
    huge[long_len] = '\0';
    assert_non_null(logfmt_parse(huge, long_len, NULL, NULL));
    free(huge);

    static const char *const good[] = {
        "ts=2026-12-07T07:05:35.123Z level=info msg=m",
        "ts=2026-12-07T07:05:35.123Z level=debug msg=\"\"",
        "ts=2026-12-07T07:05:35.123Z level=error "
        "msg=\"a \\\"b\\\" \\\\ \\n \\r \\t \\x00 \xe2\x82\xac\" k.e-y_1=v/w:x,y",
    };
    for (size_t i = 0; i < N_(good); i++) {
        size_t at = 0;
        const char *why = logfmt_parse(good[i], strlen(good[i]), NULL, &at);
        if (why)
            fail_msg("refused at byte %zu (%s): %s", at, why, good[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_line_is_ts_level_msg_then_the_pairs),
        cmocka_unit_test(test_quotes_backslashes_and_newlines_are_escaped),
        cmocka_unit_test(test_every_byte_value_reads_back_as_it_was),
        cmocka_unit_test(test_utf8_is_kept_and_what_is_not_utf8_is_escaped),
        cmocka_unit_test(test_keys_keep_only_safe_characters),
        cmocka_unit_test(test_a_value_at_the_limit_is_whole_and_one_byte_more_is_cut_and_said),
        cmocka_unit_test(test_a_cut_falls_between_characters),
        cmocka_unit_test(test_a_line_is_at_most_the_limit_and_says_what_it_left_out),
        cmocka_unit_test(test_ksiss_log_writes_one_line_on_stderr),
        cmocka_unit_test(test_the_reader_refuses_lines_that_are_not_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
