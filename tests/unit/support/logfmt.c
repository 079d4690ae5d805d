/* logfmt.c: the strict reader of K-SISS's log lines (see logfmt.h). It
 * decodes UTF-8 to code points where the writer matches byte ranges, on
 * purpose: the two are independent checks of the same rules. */
#include "logfmt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 65535

typedef struct {
    const unsigned char *p;
    size_t len, i;
} cursor;

/* Bytes of the UTF-8 character at p that is valid in a quoted value, or 0. */
static size_t utf8_char(const unsigned char *p, size_t left)
{
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    unsigned long cp;
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
        return 0;
    return n;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

/* Reads a value at c->i into a new buffer; NULL (and *why) when invalid. */
static char *read_value(cursor *c, size_t *vlen, const char **why)
{
    char *v = malloc(c->len - c->i + 1);
    size_t n = 0;
    if (!v) {
        *why = "out of memory";
        return NULL;
    }
    if (c->i >= c->len || c->p[c->i] == ' ') {
        *why = "empty value (write \"\")";
        goto bad;
    }
    if (c->p[c->i] != '"') {
        while (c->i < c->len && c->p[c->i] != ' ') {
            unsigned char b = c->p[c->i];
            if (b < 0x21 || b > 0x7e || b == '"' || b == '=' || b == '\\') {
                *why = "a bare value holds a byte that needs quoting";
                goto bad;
            }
            v[n++] = (char)b;
            c->i++;
        }
        goto done;
    }
    c->i++;     /* the opening quote */
    for (;;) {
        if (c->i >= c->len) {
            *why = "unterminated quoted value";
            goto bad;
        }
        unsigned char b = c->p[c->i];
        if (b == '"') {
            c->i++;
            break;
        }
        if (b == '\\') {
            if (c->i + 1 >= c->len) {
                *why = "a backslash ends the line";
                goto bad;
            }
            unsigned char e = c->p[c->i + 1];
            const char *simple = strchr("\"\\nrt", e);
            if (e && simple) {
                v[n++] = "\"\\\n\r\t"[simple - "\"\\nrt"];
                c->i += 2;
            } else if (e == 'x' && c->i + 3 < c->len && hexval(c->p[c->i + 2]) >= 0 && hexval(c->p[c->i + 3]) >= 0) {
                v[n++] = (char)(hexval(c->p[c->i + 2]) * 16 + hexval(c->p[c->i + 3]));
                c->i += 4;
            } else {
                *why = "unknown escape (known: \\\" \\\\ \\n \\r \\t \\xNN, NN lower-case hex)";
                goto bad;
            }
            continue;
        }
        if (b >= 0x20 && b < 0x7f) {
            v[n++] = (char)b;
            c->i++;
            continue;
        }
        size_t u = b >= 0x80 ? utf8_char(c->p + c->i, c->len - c->i) : 0;
        if (!u) {
            *why = b < 0x80 ? "a control byte in a quoted value (must be escaped)"
                            : "invalid UTF-8 or a C1 control in a quoted value (must be escaped)";
            goto bad;
        }
        memcpy(v + n, c->p + c->i, u);
        n += u;
        c->i += u;
    }
done:
    v[n] = '\0';
    *vlen = n;
    return v;
bad:
    free(v);
    return NULL;
}

static bool matches_shape(const char *s, const char *shape)
{
    for (; *shape; s++, shape++) {
        if (*shape == 'D' ? !(*s >= '0' && *s <= '9') : *s != *shape)
            return false;
    }
    return *s == '\0';
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t k = 0; k < n; k++)
        v = v * 10 + (s[k] - '0');
    return v;
}

static const char *check_ts(const char *v)
{
    if (!matches_shape(v, "DDDD-DD-DDTDD:DD:DD.DDDZ"))
        return "ts is not YYYY-MM-DDTHH:MM:SS.mmmZ";
    int mo = num(v + 5, 2), d = num(v + 8, 2), h = num(v + 11, 2), mi = num(v + 14, 2), s = num(v + 17, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return "ts is not a valid time";
    return NULL;
}

const char *logfmt_parse(const char *line, size_t len, logfmt_line *out, size_t *at)
{
    static const char *const first[] = {"ts", "level", "msg"};
    cursor c = {(const unsigned char *)line, len, 0};
    logfmt_line l = {0};
    const char *why = NULL;
    if (len > LINE_MAX_BYTES) {
        c.i = LINE_MAX_BYTES;
        why = "line longer than 65535 bytes";
        goto out;
    }
    if (memchr(line, '\0', len)) {
        c.i = (size_t)((const char *)memchr(line, '\0', len) - line);
        why = "NUL byte in the line";
        goto out;
    }
    while (c.i < len || l.n == 0) {
        if (l.n > 0) {
            if (c.p[c.i] != ' ') {
                why = "expected one space between pairs";
                goto out;
            }
            c.i++;
        }
        size_t k0 = c.i;
        while (c.i < len && key_char(c.p[c.i]))
            c.i++;
        if (c.i == k0) {
            why = c.i < len && c.p[c.i] == ' ' ? "two spaces, or a space at the end" : "expected a key";
            goto out;
        }
        if (c.i >= len || c.p[c.i] != '=') {
            why = "expected '=' after the key";
            goto out;
        }
        char *key = strndup(line + k0, c.i - k0);
        c.i++;
        if (l.n < 3 && strcmp(key, first[l.n]) != 0) {
            free(key);
            c.i = k0;
            why = "the line must start with ts=, level=, msg=";
            goto out;
        }
        for (size_t k = 0; k < l.n; k++)
            if (strcmp(l.pairs[k].key, key) == 0) {
                free(key);
                c.i = k0;
                why = "duplicate key";
                goto out;
            }
        size_t vlen = 0, v0 = c.i;
        char *v = read_value(&c, &vlen, &why);
        if (!v) {
            free(key);
            goto out;
        }
        logfmt_pair *np = realloc(l.pairs, (l.n + 1) * sizeof *np);
        if (!np) {
            free(key);
            free(v);
            why = "out of memory";
            goto out;
        }
        l.pairs = np;
        l.pairs[l.n++] = (logfmt_pair){key, v, vlen};
        if (l.n == 1 && (why = check_ts(v)) != NULL) {
            c.i = v0;
            goto out;
        }
        if (l.n == 2 && strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error")) {
            c.i = v0;
            why = "level is not debug, info, warn or error";
            goto out;
        }
    }
    if (l.n < 3) {
        why = "the line must start with ts=, level=, msg=";
        goto out;
    }
out:
    if (at)
        *at = c.i;
    if (why || !out)
        logfmt_line_free(&l);
    else
        *out = l;
    return why;
}

void logfmt_line_free(logfmt_line *l)
{
    for (size_t k = 0; k < l->n; k++) {
        free(l->pairs[k].key);
        free(l->pairs[k].value);
    }
    free(l->pairs);
    l->pairs = NULL;
    l->n = 0;
}

const logfmt_pair *logfmt_get(const logfmt_line *l, const char *key)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->pairs[k].key, key) == 0)
            return &l->pairs[k];
    return NULL;
}
