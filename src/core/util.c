/* util.c: allocation wrappers, the capped string buffer and strict number
 * and duration parsing (see util.h). */
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "ksiss: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ksiss_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *ksiss_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *ksiss_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *ksiss_xstrdup(const char *s)
{
    return s ? ksiss_xstrndup(s, strlen(s)) : NULL;
}

char *ksiss_xstrndup(const char *s, size_t n)
{
    char *p = ksiss_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ksiss_xvasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ksiss_xstrdup("");
    char *p = ksiss_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *ksiss_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void ksiss_sb_init(ksiss_strbuf *sb, size_t cap_limit)
{
    memset(sb, 0, sizeof(*sb));
    sb->cap_limit = cap_limit;
}

int ksiss_sb_append(ksiss_strbuf *sb, const char *s, size_t n)
{
    if (sb->cap_limit && (n > sb->cap_limit || sb->len > sb->cap_limit - n)) {
        sb->overflow = true;
        return -1;
    }
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->len + n + 1)
            cap *= 2;
        sb->buf = ksiss_xrealloc(sb->buf, cap);
        sb->cap = cap;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    return 0;
}

int ksiss_sb_puts(ksiss_strbuf *sb, const char *s)
{
    return ksiss_sb_append(sb, s, strlen(s));
}

int ksiss_sb_putc(ksiss_strbuf *sb, char c)
{
    return ksiss_sb_append(sb, &c, 1);
}

int ksiss_sb_put_xml(ksiss_strbuf *sb, const char *s)
{
    int rc = 0;
    for (; s && *s && rc == 0; s++) {
        switch (*s) {
        case '<': rc = ksiss_sb_puts(sb, "&lt;"); break;
        case '>': rc = ksiss_sb_puts(sb, "&gt;"); break;
        case '&': rc = ksiss_sb_puts(sb, "&amp;"); break;
        case '"': rc = ksiss_sb_puts(sb, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20)
                rc = ksiss_sb_putc(sb, *s);
        }
    }
    return rc;
}

int ksiss_sb_printf(ksiss_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    int rc = ksiss_sb_puts(sb, p);
    free(p);
    return rc;
}

const char *ksiss_sb_str(const ksiss_strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

char *ksiss_sb_take(ksiss_strbuf *sb)
{
    char *p = sb->buf ? sb->buf : ksiss_xstrdup("");
    size_t lim = sb->cap_limit;
    ksiss_sb_init(sb, lim);
    return p;
}

void ksiss_sb_free(ksiss_strbuf *sb)
{
    free(sb->buf);
    size_t lim = sb->cap_limit;
    ksiss_sb_init(sb, lim);
}

void ksiss_wipe(void *p, size_t n)
{
    /* Stores through a volatile pointer are observable behaviour: they
     * stay even when the memory is freed right after. */
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void ksiss_free_secret(char *s)
{
    if (s)
        ksiss_wipe(s, strlen(s));
    free(s);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the unsigned decimal "[0-9]+(.[0-9]*)?" or ".[0-9]+" at p, 0
 * when there is none. */
static size_t decimal_len(const char *p)
{
    size_t i = 0, digits = 0;
    while (is_digit(p[i]))
        i++, digits++;
    if (p[i] == '.') {
        i++;
        while (is_digit(p[i]))
            i++, digits++;
    }
    return digits ? i : 0;
}

/* Length of the exponent "[eE][-+]?[0-9]+" at p, 0 when there is none. */
static size_t exponent_len(const char *p)
{
    if (p[0] != 'e' && p[0] != 'E')
        return 0;
    size_t i = 1;
    if (p[i] == '+' || p[i] == '-')
        i++;
    size_t d = i;
    while (is_digit(p[i]))
        i++;
    return i > d ? i : 0;
}

int ksiss_parse_double(const char *s, double *out)
{
    if (!s)
        return -1;
    const char *p = s[0] == '-' ? s + 1 : s;
    size_t n = decimal_len(p);
    if (n == 0)
        return -1;
    n += exponent_len(p + n);
    if (p[n] != '\0')
        return -1;
    /* The grammar is checked: strtod reads exactly these bytes. */
    errno = 0;
    double v = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int ksiss_parse_int64(const char *s, int64_t *out)
{
    if (!s)
        return -1;
    const char *p = s[0] == '-' ? s + 1 : s;
    if (!is_digit(*p))
        return -1;
    while (is_digit(*p))
        p++;
    if (*p != '\0')
        return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int ksiss_parse_duration_ms(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return -1;
    /* A bare number of seconds: an unsigned decimal, nothing else. */
    size_t n = decimal_len(s);
    if (n > 0 && s[n] == '\0') {
        double plain = strtod(s, NULL);
        if (!(plain * 1000.0 <= 9.0e15))
            return -1;
        *out_ms = (int64_t)llround(plain * 1000.0);
        return 0;
    }
    /* Sequence of <decimal><unit>, like Go's time.ParseDuration. */
    double total = 0;
    const char *p = s;
    while (*p) {
        n = decimal_len(p);
        if (n == 0)
            return -1;
        double v = strtod(p, NULL);
        p += n;
        double unit;
        if (strncmp(p, "ms", 2) == 0) { unit = 1; p += 2; }
        else if (*p == 's') { unit = 1000; p++; }
        else if (*p == 'm') { unit = 60000; p++; }
        else if (*p == 'h') { unit = 3600000; p++; }
        else return -1;
        total += v * unit;
        if (!(total <= 9.0e15))
            return -1;
    }
    *out_ms = (int64_t)llround(total);
    return 0;
}

char *ksiss_format_duration(int64_t ms)
{
    if (ms != 0 && ms % 3600000 == 0)
        return ksiss_xasprintf("%lldh", (long long)(ms / 3600000));
    if (ms != 0 && ms % 60000 == 0)
        return ksiss_xasprintf("%lldm", (long long)(ms / 60000));
    if (ms % 1000 == 0)
        return ksiss_xasprintf("%llds", (long long)(ms / 1000));
    return ksiss_xasprintf("%lldms", (long long)ms);
}

bool ksiss_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ksiss_str_has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool dns1123(const char *s, size_t max, bool dots)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-' && !(dots && s[i] == '.'))
            return false;
    return true;
}

bool ksiss_dns1123_label(const char *s)
{
    return dns1123(s, 63, false);
}

bool ksiss_dns1123_subdomain(const char *s)
{
    return dns1123(s, 253, true);
}

uint64_t ksiss_str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no libc time zone or clock is involved. */
static int64_t days_from_civil(int64_t y, int m, int dd)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ksiss_parse_utc_time(const char *s, const char *end, int64_t *ms)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *p = s;
    int y, mo, dd, h, mi, se;
    if (digits(&p, end, 4, &y) || p >= end || *p++ != '-' || digits(&p, end, 2, &mo) ||
        p >= end || *p++ != '-' || digits(&p, end, 2, &dd) || p >= end ||
        (*p != ' ' && *p != 'T'))
        return -1;
    p++;
    if (digits(&p, end, 2, &h) || p >= end || *p++ != ':' || digits(&p, end, 2, &mi) ||
        p >= end || *p++ != ':' || digits(&p, end, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || dd < 1 || h > 23 || mi > 59 || se > 60)
        return -1;
    int dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if (dd > dim)
        return -1;
    int frac_ms = 0, nfrac = 0;
    if (p < end && *p == '.') {
        p++;
        while (p < end && isdigit((unsigned char)*p)) {
            if (nfrac < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            nfrac++;
            p++;
        }
        if (nfrac == 0)
            return -1;
        for (int i = nfrac; i < 3; i++)
            frac_ms *= 10;
    }
    if (p < end && *p == 'Z')
        p++;
    if (p != end)
        return -1;
    int64_t days = days_from_civil(y, mo, dd);
    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + frac_ms;
    return 0;
}
