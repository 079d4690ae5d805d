/* trace.c: request-trace parsing for the simulator (see trace.h): the Azure
 * CSV (2023 and 2024 timestamps), BurstGPT's CSV and JSON lines, line by
 * line over a buffer, never trusting a field. */
#include "core/trace.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

typedef struct {
    const char *file;
    ksiss_diags *d;
    size_t reported;
    ksiss_trace *t;
    size_t cap;
    size_t order_breaks;    /* arrivals earlier than the previous one */
} parse_ctx;

static void bad_line(parse_ctx *c, int line, const char *fmt, const char *detail)
{
    c->t->bad_lines++;
    if (c->reported < KSISS_TRACE_MAX_REPORTED) {
        ksiss_pos pos = { line, 0 };
        ksiss_diags_add(c->d, c->file, pos, fmt, detail ? detail : "");
    }
    c->reported++;
}

static void push(parse_ctx *c, int64_t abs_ms, long long in, long long out)
{
    ksiss_trace *t = c->t;
    if (t->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        t->v = ksiss_xrealloc(t->v, c->cap * sizeof(*t->v));
    }
    if (t->n > 0 && abs_ms < t->v[t->n - 1].t_ms)
        c->order_breaks++;
    t->v[t->n].t_ms = abs_ms;   /* made relative once all are read */
    t->v[t->n].in_tokens = (int32_t)in;
    t->v[t->n].out_tokens = (int32_t)out;
    t->n++;
}

/* A token count: digits only, 1..KSISS_TRACE_MAX_TOKENS. */
static int parse_tokens(const char *s, const char *end, long long *out)
{
    if (s == end)
        return -1;
    long long v = 0;
    for (const char *p = s; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > KSISS_TRACE_MAX_TOKENS)
            return -2;
    }
    if (v < 1)
        return -2;
    *out = v;
    return 0;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

static bool field_is(const char *s, const char *e, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(e - s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)name[i]))
            return false;
    return true;
}

#define MAX_COLS 64

typedef enum {
    TS_UNKNOWN = 0,     /* no valid timestamp yet: the first one decides */
    TS_DATETIME,        /* "YYYY-MM-DD HH:MM:SS[.f][Z|+HH:MM]" (Azure 2023, 2024) */
    TS_SECONDS,         /* seconds from the trace's start (BurstGPT) */
} ts_form;

typedef struct {
    int ts, in, out;    /* column indexes */
    int ncols;
    bool burstgpt;      /* Request tokens / Response tokens: a 0 response is a failed request */
    ts_form form;
} csv_layout;

#define TS_FORMS "YYYY-MM-DD HH:MM:SS with an optional fraction and an optional Z or +HH:MM " \
                 "(Azure: 2023-11-16 18:15:46.6805900, 2024-05-12 00:00:00.001163+00:00), or seconds " \
                 "from the trace's start (BurstGPT: 45.5), one form throughout the file"

/* A date and time, UTC or with a numeric offset (+HH:MM, -HH:MM, as the
 * Azure 2024 traces write +00:00), to ms since the epoch. */
static int parse_datetime(const char *s, const char *e, int64_t *ms)
{
    int64_t off_min = 0;
    if (e - s > 6 && (e[-6] == '+' || e[-6] == '-') && e[-3] == ':') {
        const char *o = e - 5;
        if (!isdigit((unsigned char)o[0]) || !isdigit((unsigned char)o[1]) || !isdigit((unsigned char)o[3]) ||
            !isdigit((unsigned char)o[4]))
            return -1;
        int hh = (o[0] - '0') * 10 + (o[1] - '0'), mm = (o[3] - '0') * 10 + (o[4] - '0');
        if (hh > 23 || mm > 59 || e[-7] == 'Z')
            return -1;
        off_min = (e[-6] == '-' ? -1 : 1) * (hh * 60 + mm);
        e -= 6;
    }
    if (ksiss_parse_utc_time(s, e, ms) != 0)
        return -1;
    *ms -= off_min * 60000;
    return 0;
}

/* Seconds as a plain decimal ("45", "45.5"), 0 to 1e10, to whole ms. */
static int parse_seconds(const char *s, const char *e, int64_t *ms)
{
    int64_t whole = 0, frac = 0;
    int nfrac = 0;
    const char *p = s;
    if (p == e || !isdigit((unsigned char)*p))
        return -1;
    for (; p < e && isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 10000000000LL)
            return -1;
    }
    if (p < e && *p == '.') {
        p++;
        if (p == e || !isdigit((unsigned char)*p))
            return -1;
        for (; p < e && isdigit((unsigned char)*p); p++)
            if (nfrac < 3) {
                frac = frac * 10 + (*p - '0');
                nfrac++;
            }
    }
    if (p != e)
        return -1;
    for (; nfrac < 3; nfrac++)
        frac *= 10;
    *ms = whole * 1000 + frac;
    return 0;
}

/* One timestamp field in the file's form (fixed by its first valid one). */
static int parse_csv_time(csv_layout *lay, const char *s, const char *e, int64_t *ms)
{
    if (lay->form != TS_SECONDS && parse_datetime(s, e, ms) == 0) {
        lay->form = TS_DATETIME;
        return 0;
    }
    if (lay->form != TS_DATETIME && parse_seconds(s, e, ms) == 0) {
        lay->form = TS_SECONDS;
        return 0;
    }
    return -1;
}

/* Splits [s, e) at commas into at most MAX_COLS fields (more: -1). */
static int split_csv(const char *s, const char *e, const char **fs, const char **fe)
{
    int n = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (p == e || *p == ',') {
            if (n == MAX_COLS)
                return -1;
            fs[n] = start;
            fe[n] = p;
            trim(&fs[n], &fe[n]);
            n++;
            if (p == e)
                break;
            start = p + 1;
        }
    }
    return n;
}

static void csv_line(parse_ctx *c, const char *s, const char *e, int line,
                     csv_layout *lay, bool *header_done)
{
    const char *fs[MAX_COLS], *fe[MAX_COLS];
    int n = split_csv(s, e, fs, fe);
    if (!*header_done) {
        *header_done = true;
        if (n > 0 && !isdigit((unsigned char)*fs[0])) {
            /* A header: find the three columns by name. */
            /* Azure's names, or BurstGPT's (Timestamp, Request tokens, Response tokens). */
            lay->ts = lay->in = lay->out = -1;
            for (int i = 0; i < n; i++) {
                if (field_is(fs[i], fe[i], "TIMESTAMP"))
                    lay->ts = i;
                else if (field_is(fs[i], fe[i], "ContextTokens") || field_is(fs[i], fe[i], "Request tokens"))
                    lay->in = i;
                else if (field_is(fs[i], fe[i], "GeneratedTokens"))
                    lay->out = i;
                else if (field_is(fs[i], fe[i], "Response tokens")) {
                    lay->out = i;
                    lay->burstgpt = true;
                }
            }
            if (lay->ts < 0 || lay->in < 0 || lay->out < 0) {
                ksiss_pos pos = { line, 0 };
                ksiss_diags_add(c->d, c->file, pos,
                                "CSV header must name the columns TIMESTAMP, ContextTokens and GeneratedTokens "
                                "(Azure) or Timestamp, Request tokens and Response tokens (BurstGPT)");
                lay->ncols = -1;
            }
            return;
        }
    }
    if (lay->ncols < 0)
        return;     /* unusable header: already reported */
    c->t->lines++;
    int need = lay->ts;
    if (lay->in > need)
        need = lay->in;
    if (lay->out > need)
        need = lay->out;
    if (n < 0 || n <= need) {
        bad_line(c, line, "expected the columns %s", lay->burstgpt ? "Timestamp,Request tokens,Response tokens"
                                                                   : "TIMESTAMP,ContextTokens,GeneratedTokens");
        return;
    }
    int64_t ms;
    if (parse_csv_time(lay, fs[lay->ts], fe[lay->ts], &ms) != 0) {
        char shown[48];
        size_t len = (size_t)(fe[lay->ts] - fs[lay->ts]);
        snprintf(shown, sizeof(shown), "%.*s%s", (int)(len > 40 ? 40 : len), fs[lay->ts], len > 40 ? "..." : "");
        bad_line(c, line, "bad timestamp \"%s\": expected " TS_FORMS, shown);
        return;
    }
    long long in, out;
    /* BurstGPT marks a failed request with 0 response tokens: skipped, counted. */
    if (lay->burstgpt && fe[lay->out] - fs[lay->out] == 1 && *fs[lay->out] == '0') {
        c->t->failed++;
        return;
    }
    int r1 = parse_tokens(fs[lay->in], fe[lay->in], &in);
    int r2 = r1 == 0 ? parse_tokens(fs[lay->out], fe[lay->out], &out) : 0;
    if (r1 != 0 || r2 != 0) {
        const char *col = r1 != 0 ? (lay->burstgpt ? "Request tokens" : "ContextTokens")
                                  : (lay->burstgpt ? "Response tokens" : "GeneratedTokens");
        bad_line(c, line, "%s must be a whole number from 1 to 10000000", col);
        return;
    }
    push(c, ms, in, out);
}

/* A JSON number that is a whole count within limits. */
static int json_count(json_t *v, double max, long long *out)
{
    double x;
    if (json_is_integer(v))
        x = (double)json_integer_value(v);
    else if (json_is_real(v))
        x = json_real_value(v);
    else
        return -1;
    if (!isfinite(x) || x < 1 || x > max || floor(x) != x)
        return -1;
    *out = (long long)x;
    return 0;
}

static void jsonl_line(parse_ctx *c, const char *s, const char *e, int line)
{
    c->t->lines++;
    json_error_t err;
    json_t *o = json_loadb(s, (size_t)(e - s), JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &err);
    if (!o) {
        bad_line(c, line, "not valid JSON: %s", err.text);
        return;
    }
    if (!json_is_object(o)) {
        bad_line(c, line, "expected a JSON object%s", NULL);
        json_decref(o);
        return;
    }
    /* The rest of the line after the object must be blank. */
    const char *rest = s + err.position;
    while (rest < e && isspace((unsigned char)*rest))
        rest++;
    if (rest != e) {
        bad_line(c, line, "extra text after the JSON object%s", NULL);
        json_decref(o);
        return;
    }
    json_t *ts = json_object_get(o, "timestamp");   /* borrowed */
    double t;
    if (json_is_integer(ts))
        t = (double)json_integer_value(ts);
    else if (json_is_real(ts))
        t = json_real_value(ts);
    else {
        bad_line(c, line, "\"timestamp\" must be a number of milliseconds%s", NULL);
        json_decref(o);
        return;
    }
    /* Up to ~300 years in ms: beyond that the arithmetic would overflow. */
    if (!isfinite(t) || t < 0 || t > 1e13) {
        bad_line(c, line, "\"timestamp\" out of range (0 to 1e13 ms)%s", NULL);
        json_decref(o);
        return;
    }
    long long in, out;
    if (json_count(json_object_get(o, "input_length"), KSISS_TRACE_MAX_TOKENS, &in) != 0) {
        bad_line(c, line, "\"input_length\" must be a whole number from 1 to 10000000%s", NULL);
        json_decref(o);
        return;
    }
    if (json_count(json_object_get(o, "output_length"), KSISS_TRACE_MAX_TOKENS, &out) != 0) {
        bad_line(c, line, "\"output_length\" must be a whole number from 1 to 10000000%s", NULL);
        json_decref(o);
        return;
    }
    push(c, (int64_t)floor(t), in, out);
    json_decref(o);
}

typedef struct {
    ksiss_request r;
    size_t idx;
} sort_item;

static int cmp_item(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->r.t_ms != y->r.t_ms)
        return x->r.t_ms < y->r.t_ms ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void sort_stable(ksiss_trace *t)
{
    sort_item *it = ksiss_xmalloc(t->n * sizeof(*it));
    for (size_t i = 0; i < t->n; i++) {
        it[i].r = t->v[i];
        it[i].idx = i;
    }
    qsort(it, t->n, sizeof(*it), cmp_item);
    for (size_t i = 0; i < t->n; i++)
        t->v[i] = it[i].r;
    free(it);
}

int ksiss_trace_parse(const char *text, size_t len, const char *file,
                      ksiss_trace_format fmt, ksiss_trace *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    parse_ctx c = { .file = file, .d = d, .t = out };
    const char *end = text + len;
    if (fmt == KSISS_TRACE_AUTO) {
        const char *p = text;
        while (p < end && isspace((unsigned char)*p))
            p++;
        fmt = (p < end && *p == '{') ? KSISS_TRACE_JSONL : KSISS_TRACE_CSV;
    }
    csv_layout lay = { 0, 1, 2, 3, false, TS_UNKNOWN };
    bool header_done = false;
    int line = 0;
    const char *s = text;
    /* Skip a UTF-8 byte-order mark. */
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        s += 3;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        const char *next = e ? e + 1 : end;
        if (!e)
            e = end;
        if (line < 2000000000)
            line++;
        const char *ts = s, *te = e;
        trim(&ts, &te);
        if (ts < te) {
            if (memchr(ts, '\0', (size_t)(te - ts))) {
                out->lines++;
                bad_line(&c, line, "NUL byte in line%s", NULL);
            } else if (fmt == KSISS_TRACE_JSONL) {
                jsonl_line(&c, ts, te, line);
            } else {
                csv_line(&c, ts, te, line, &lay, &header_done);
            }
        }
        s = next;
    }
    if (c.reported > KSISS_TRACE_MAX_REPORTED) {
        ksiss_pos none = { 0, 0 };
        ksiss_diags_add(d, file, none, "%zu more bad lines not shown",
                        c.reported - KSISS_TRACE_MAX_REPORTED);
    }
    if (out->n > 0) {
        if (c.order_breaks)
            sort_stable(out);
        out->start_epoch_ms = out->v[0].t_ms;
        for (size_t i = 0; i < out->n; i++)
            out->v[i].t_ms -= out->start_epoch_ms;
    }
    ksiss_pos none = { 0, 0 };
    if (out->failed)
        ksiss_diags_add(d, file, none, "%zu failed requests (Response tokens 0, as BurstGPT marks them) skipped",
                        out->failed);
    if (lay.ncols < 0)
        return -1;
    if (out->n == 0) {
        ksiss_diags_add(d, file, none, "no valid request in the trace (%zu bad lines)", out->bad_lines);
        return -1;
    }
    if (out->bad_lines * 10 > out->lines) {
        ksiss_diags_add(d, file, none, "%zu of %zu lines are malformed (more than 10%%): is this the right file and format?",
                        out->bad_lines, out->lines);
        return -1;
    }
    return 0;
}

void ksiss_trace_free(ksiss_trace *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

int64_t ksiss_trace_span_ms(const ksiss_trace *t)
{
    return t->n ? t->v[t->n - 1].t_ms : 0;
}
