/* util.h: small allocation and string helpers shared by core and shell:
 * a growable string buffer with a size cap, checked number parsing, and
 * allocation wrappers that abort on out-of-memory (the only sane policy
 * for a controller whose state would otherwise be half-built). */
#ifndef KSISS_UTIL_H
#define KSISS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *ksiss_xmalloc(size_t n);
void *ksiss_xcalloc(size_t n, size_t size);
void *ksiss_xrealloc(void *p, size_t n);
/* Returns a copy of s (NULL stays NULL); caller frees. */
char *ksiss_xstrdup(const char *s);
char *ksiss_xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *ksiss_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ksiss_xvasprintf(const char *fmt, va_list ap);

/* Growable string. `cap_limit` (0 = unlimited) bounds the length: appends
 * beyond it fail with -1 and set `overflow`, the content stays valid. */
typedef struct {
    char *buf;      /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
    size_t cap_limit;
    bool overflow;
} ksiss_strbuf;

void ksiss_sb_init(ksiss_strbuf *sb, size_t cap_limit);
int ksiss_sb_append(ksiss_strbuf *sb, const char *s, size_t n);
int ksiss_sb_puts(ksiss_strbuf *sb, const char *s);
int ksiss_sb_putc(ksiss_strbuf *sb, char c);
/* Appends s escaped for XML text and attribute values (< > & "), control
 * characters dropped (XML 1.0 forbids most; a label needs none). */
int ksiss_sb_put_xml(ksiss_strbuf *sb, const char *s);
int ksiss_sb_printf(ksiss_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The content ("" when empty); borrowed, valid until the next append/free. */
const char *ksiss_sb_str(const ksiss_strbuf *sb);
/* Hands the buffer to the caller (who frees it) and resets sb. */
char *ksiss_sb_take(ksiss_strbuf *sb);
void ksiss_sb_free(ksiss_strbuf *sb);

/* Secrets (tokens, passwords, keys, Authorization headers): ksiss_wipe
 * zeroes n bytes at p in a way the compiler may not remove as a dead store
 * (a plain memset before free may be); ksiss_free_secret wipes a string up
 * to its NUL, then frees it (NULL is fine). */
void ksiss_wipe(void *p, size_t n);
void ksiss_free_secret(char *s);

/* Strict number parsing: the whole string is the number, in ASCII decimal,
 * nothing before or after it (no blanks, no '+', no "0x" or other base
 * prefix, no digit separators). Return 0 on success, -1 otherwise.
 * ksiss_parse_double: -?([0-9]+(.[0-9]*)?|.[0-9]+)([eE][-+]?[0-9]+)?
 *   ("2", "-0.5", ".5", "1e-05", "1.5E+06"); refused: "inf", "nan", hex
 *   floats, and values outside the normal range of a double (beyond the
 *   largest, or so small that they would become 0 or a subnormal, as
 *   strtod's ERANGE says). Prometheus' "NaN" and "+Inf" are the caller's
 *   to handle.
 * ksiss_parse_int64: -?[0-9]+ within int64 ("8", "-3", "007" is 7). */
int ksiss_parse_double(const char *s, double *out);
int ksiss_parse_int64(const char *s, int64_t *out);

/* Duration "500ms", "30s", "5m", "1h", "1m30s", or a bare number of
 * seconds ("10", "2.5"). Each number is an unsigned decimal
 * ([0-9]+(.[0-9]*)? or .[0-9]+: no sign, exponent, base prefix or blank)
 * and each unit one of ms, s, m, h; a sum beyond 9e15 ms is refused.
 * Returns 0 and sets *out_ms, or -1. */
int ksiss_parse_duration_ms(const char *s, int64_t *out_ms);
/* A UTC time "YYYY-MM-DD HH:MM:SS[.fraction][Z]" (or 'T' between date and
 * time: RFC 3339 as Kubernetes writes it, "2026-12-02T04:23:36Z") in
 * [s, end), whole, to milliseconds since the epoch; no libc time zone or
 * clock is involved. Returns 0, or -1 when it is not one. */
int ksiss_parse_utc_time(const char *s, const char *end, int64_t *ms);
/* Writes a duration as the shortest of "1h", "5m", "30s", "500ms" forms. */
char *ksiss_format_duration(int64_t ms);

bool ksiss_str_has_prefix(const char *s, const char *prefix);

/* FNV-1a hash of a NUL-terminated string (for hash tables). */
uint64_t ksiss_str_hash(const char *s);
bool ksiss_str_has_suffix(const char *s, const char *suffix);

/* Kubernetes object names: an RFC 1123 label (namespaces: lower-case
 * letters, digits and '-', alphanumeric at both ends, at most 63) and an
 * RFC 1123 subdomain (ConfigMaps: the same plus '.', at most 253). */
bool ksiss_dns1123_label(const char *s);
bool ksiss_dns1123_subdomain(const char *s);

#endif
