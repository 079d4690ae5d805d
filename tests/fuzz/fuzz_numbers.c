/* fuzz_numbers.c: libFuzzer target for the strict parsers of core/util.h
 * (ksiss_parse_int64, ksiss_parse_double, ksiss_parse_duration_ms), which
 * read ConfigMap values, environment variables, flags and Prometheus
 * samples. Each NUL-separated piece of the input goes through all three;
 * what they accept is checked against util.h's grammar written
 * independently as POSIX EREs (no blanks, '+', hex, "inf"/"nan" or
 * exponents in durations), and the values against libc and a round trip.
 *
 * Input: TEXT [NUL TEXT ...]. */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "fuzz_common.h"

#define DEC "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)"

static regex_t re_int, re_double, re_seconds, re_part;

static void compile_once(void)
{
    static bool done;
    if (done)
        return;
    if (regcomp(&re_int, "^-?[0-9]+$", REG_EXTENDED | REG_NOSUB) ||
        regcomp(&re_double, "^-?" DEC "([eE][-+]?[0-9]+)?$", REG_EXTENDED | REG_NOSUB) ||
        regcomp(&re_seconds, "^" DEC "$", REG_EXTENDED | REG_NOSUB) ||
        regcomp(&re_part, "^" DEC "(ms|s|m|h)", REG_EXTENDED))
        abort();
    done = true;
}

static bool matches(const regex_t *re, const char *s)
{
    return regexec(re, s, 0, NULL, 0) == 0;
}

static void check_int64(const char *s)
{
    int64_t v = 77;
    int rc = ksiss_parse_int64(s, &v);
    bool grammar = matches(&re_int, s);
    FUZZ_CHECK(rc == 0 || rc == -1, "parse_int64('%s') returned %d", s, rc);
    if (rc == 0) {
        FUZZ_CHECK(grammar, "parse_int64 accepted '%s', which is not -?[0-9]+", s);
        errno = 0;
        long long want = strtoll(s, NULL, 10);
        FUZZ_CHECK(errno == 0 && want == v, "parse_int64('%s') = %" PRId64 ", libc reads %lld", s, v, want);
        /* written back, it is the text without a sign on 0 and leading zeros */
        const char *digits = s[0] == '-' ? s + 1 : s;
        while (digits[0] == '0' && digits[1])
            digits++;
        char want_text[32], got_text[32];
        snprintf(want_text, sizeof(want_text), "%s%s", s[0] == '-' && strcmp(digits, "0") ? "-" : "", digits);
        snprintf(got_text, sizeof(got_text), "%" PRId64, v);
        FUZZ_CHECK(!strcmp(want_text, got_text), "parse_int64('%s') = %s", s, got_text);
    } else {
        FUZZ_CHECK(v == 77, "parse_int64 refused '%s' but wrote the output", s);
        if (grammar) {
            errno = 0;
            (void)strtoll(s, NULL, 10);
            FUZZ_CHECK(errno == ERANGE, "parse_int64 refused '%s', a decimal within int64", s);
        }
    }
}

static void check_double(const char *s)
{
    double v = 77;
    int rc = ksiss_parse_double(s, &v);
    bool grammar = matches(&re_double, s);
    FUZZ_CHECK(rc == 0 || rc == -1, "parse_double('%s') returned %d", s, rc);
    errno = 0;
    double want = grammar ? strtod(s, NULL) : 0;
    bool range = errno != ERANGE && isfinite(want);
    if (rc == 0) {
        FUZZ_CHECK(grammar, "parse_double accepted '%s', outside util.h's grammar", s);
        FUZZ_CHECK(isfinite(v) && v == want, "parse_double('%s') = %g, libc reads %g", s, v, want);
        FUZZ_CHECK(range, "parse_double accepted '%s', out of range", s);
    } else {
        FUZZ_CHECK(v == 77, "parse_double refused '%s' but wrote the output", s);
        FUZZ_CHECK(!grammar || !range, "parse_double refused '%s', a decimal in range", s);
    }
}

/* The value of a duration by util.h's grammar, read with the EREs; -1 when
 * the text is not one. */
static double duration_by_grammar(const char *s)
{
    if (matches(&re_seconds, s))
        return strtod(s, NULL) * 1000.0;
    if (!*s)
        return -1;
    double total = 0;
    for (const char *p = s; *p;) {
        regmatch_t m[4];
        if (regexec(&re_part, p, 4, m, 0) != 0)
            return -1;
        const char *unit = p + m[3].rm_so;
        size_t ulen = (size_t)(m[3].rm_eo - m[3].rm_so);
        double scale = ulen == 2 ? 1 : *unit == 's' ? 1000 : *unit == 'm' ? 60000 : 3600000;
        total += strtod(p, NULL) * scale;
        p += m[0].rm_eo;
    }
    return total;
}

static void check_duration(const char *s)
{
    int64_t ms = 77;
    int rc = ksiss_parse_duration_ms(s, &ms);
    double want = duration_by_grammar(s);
    FUZZ_CHECK(rc == 0 || rc == -1, "parse_duration_ms('%s') returned %d", s, rc);
    if (rc == 0) {
        FUZZ_CHECK(want >= 0, "parse_duration_ms accepted '%s', outside util.h's grammar", s);
        FUZZ_CHECK(ms >= 0 && want <= 9.0e15, "parse_duration_ms('%s') = %" PRId64 " ms", s, ms);
        /* summed in another order the result may differ by rounding only */
        double diff = (double)ms - want;
        FUZZ_CHECK(diff <= 1 + want * 1e-12 && diff >= -1 - want * 1e-12,
                   "parse_duration_ms('%s') = %" PRId64 " ms, the grammar reads %.3f", s, ms, want);
        char *back_text = ksiss_format_duration(ms);
        int64_t back = -1;
        FUZZ_CHECK(ksiss_parse_duration_ms(back_text, &back) == 0 && back == ms,
                   "'%s' = %" PRId64 " ms is written '%s', read back as %" PRId64, s, ms, back_text, back);
        free(back_text);
    } else {
        FUZZ_CHECK(ms == 77, "parse_duration_ms refused '%s' but wrote the output", s);
        FUZZ_CHECK(want < 0 || want > 9.0e15 * (1 - 1e-12), "parse_duration_ms refused '%s' (%.3f ms)", s, want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    compile_once();
    char *text = ksiss_fuzz_text(data, size);
    for (size_t i = 0; i <= size;) {
        const char *piece = text + i;
        check_int64(piece);
        check_double(piece);
        check_duration(piece);
        i += strlen(piece) + 1;
    }
    free(text);
    return 0;
}
