/* log.c: logfmt lines on stderr, every key and value escaped, lines and
 * values bounded (the rules are in log.h). */
#include "shell/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shell/clock.h"

/* Room kept at the end of a line for " dropped_fields=N", and the least
 * room worth starting a pair with. */
#define DROP_RESERVE 40
#define MIN_VALUE_ROOM 64

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

/* Length of the valid UTF-8 sequence of two to four bytes at p (left bytes
 * available), or 0: overlong forms, surrogates, code points past U+10FFFF
 * and C1 control characters (U+0080..U+009F) count as invalid, so their
 * bytes are escaped one by one. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char b = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;    /* the second byte's range */
    if (b == 0xc2) {
        n = 2;
        lo = 0xa0;                          /* C2 80..9F: C1 controls */
    } else if (b >= 0xc3 && b <= 0xdf) {
        n = 2;
    } else if (b == 0xe0) {
        n = 3;
        lo = 0xa0;
    } else if (b >= 0xe1 && b <= 0xef) {
        n = 3;
        if (b == 0xed)
            hi = 0x9f;                      /* no surrogates */
    } else if (b == 0xf0) {
        n = 4;
        lo = 0x90;
    } else if (b >= 0xf1 && b <= 0xf3) {
        n = 4;
    } else if (b == 0xf4) {
        n = 4;
        hi = 0x8f;
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* The escaped form of the character at p (inside quotes) into out (at
 * least 8 bytes); returns its length and sets *used to the bytes read. */
static size_t escape_unit(const unsigned char *p, size_t left, char *out, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = p[0];
    *used = 1;
    switch (c) {
    case '"':  memcpy(out, "\\\"", 2); return 2;
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    if (c >= 0x80) {
        size_t n = utf8_seq(p, left);
        if (n) {
            memcpy(out, p, n);
            *used = n;
            return n;
        }
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

static bool bare_ok(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\')
            return false;
    }
    return true;
}

/* Appends v as a value of at most cap bytes (cap >= MIN_VALUE_ROOM). */
static void put_value(ksiss_strbuf *sb, const char *v, size_t cap)
{
    size_t n = strlen(v);
    if (bare_ok(v, n) && n <= cap) {
        ksiss_sb_append(sb, v, n);
        return;
    }
    const unsigned char *p = (const unsigned char *)v;
    char unit[8];
    size_t used, total = 2;
    for (size_t i = 0; i < n && total <= cap; i += used)
        total += escape_unit(p + i, n - i, unit, &used);
    char marker[48] = "";
    if (total > cap)
        snprintf(marker, sizeof marker, "...(truncated, %zu bytes)", n);
    size_t room = cap - 2 - strlen(marker);  /* for the escaped text */
    ksiss_sb_putc(sb, '"');
    size_t out = 0;
    for (size_t i = 0; i < n; i += used) {
        size_t u = escape_unit(p + i, n - i, unit, &used);
        if (out + u > room)
            break;
        ksiss_sb_append(sb, unit, u);
        out += u;
    }
    ksiss_sb_puts(sb, marker);
    ksiss_sb_putc(sb, '"');
}

/* Appends " key=" with the key cut to [A-Za-z0-9_.-]{1,KSISS_LOG_KEY_MAX}. */
static void put_key(ksiss_strbuf *sb, const char *k)
{
    ksiss_sb_putc(sb, ' ');
    size_t i = 0;
    for (; k[i] && i < KSISS_LOG_KEY_MAX; i++) {
        char c = k[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        ksiss_sb_putc(sb, ok ? c : '_');
    }
    if (i == 0)
        ksiss_sb_putc(sb, '_');
    ksiss_sb_putc(sb, '=');
}

void ksiss_log_format(ksiss_strbuf *sb, int64_t now_ms, const char *level, const char *msg,
                      const char *const *kv, size_t n_kv)
{
    ksiss_sb_free(sb);
    ksiss_sb_init(sb, 0);
    if (now_ms < 0)
        now_ms = 0;
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    ksiss_sb_printf(sb, "ts=%s.%03dZ level=", ts, (int)(now_ms % 1000));
    put_value(sb, level ? level : "info", MIN_VALUE_ROOM);
    ksiss_sb_puts(sb, " msg=");
    const size_t limit = KSISS_LOG_LINE_MAX - 1 - DROP_RESERVE;
    put_value(sb, msg ? msg : "", KSISS_LOG_VALUE_MAX);
    size_t dropped = 0;
    for (size_t i = 0; i + 1 < n_kv; i += 2) {
        if (!kv[i + 1])
            continue;
        size_t klen = strnlen(kv[i] ? kv[i] : "", KSISS_LOG_KEY_MAX);
        size_t head = sb->len + 2 + (klen ? klen : 1);     /* " key=" */
        if (dropped || head + MIN_VALUE_ROOM > limit) {
            dropped++;
            continue;
        }
        put_key(sb, kv[i] ? kv[i] : "");
        size_t cap = limit - sb->len;
        put_value(sb, kv[i + 1], cap < KSISS_LOG_VALUE_MAX ? cap : KSISS_LOG_VALUE_MAX);
    }
    if (dropped)
        ksiss_sb_printf(sb, " dropped_fields=%zu", dropped);
    ksiss_sb_putc(sb, '\n');
}

void ksiss_log(const char *level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    size_t n = 0;   /* keys and values (a value may be NULL; a NULL key ends) */
    va_list count;
    va_copy(count, ap);
    while (va_arg(count, const char *)) {
        (void)va_arg(count, const char *);
        n += 2;
    }
    va_end(count);
    const char **kv = ksiss_xcalloc(n ? n : 1, sizeof *kv);
    for (size_t i = 0; i < n; i++)
        kv[i] = va_arg(ap, const char *);
    va_end(ap);
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_log_format(&sb, ksiss_wall_ms(), level, msg, kv, n);
    free(kv);
    /* One write per line (stderr is unbuffered: fprintf would make many). */
    pthread_mutex_lock(&log_mu);
    fwrite(sb.buf, 1, sb.len, stderr);
    pthread_mutex_unlock(&log_mu);
    ksiss_sb_free(&sb);
}
