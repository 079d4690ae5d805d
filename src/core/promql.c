/* promql.c: placeholder filling with escaping, the batching rewrite and
 * result spreading for PromQL (see promql.h). A small lexer splits the
 * query into tokens so that substitution and rewriting act on structure
 * (strings, selectors, aggregations), never on raw text positions. */
#include "core/promql.h"

#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

typedef enum {
    TK_IDENT,
    TK_NUM,
    TK_STR,
    TK_DUR,     /* [...] range or subquery, brackets included */
    TK_PH,      /* a placeholder outside any string */
    TK_COMMENT,
    TK_PUNCT,
    TK_OTHER,
} tok_kind;

enum { PH_POD = 0, PH_SERVICE, PH_NAMESPACE, PH_REVISION, PH_COUNT };

static const char *const ph_names[PH_COUNT] = {"{pod}", "{service}", "{namespace}", "{revision}"};

typedef struct {
    tok_kind kind;
    size_t start;
    size_t len;
    int ph;
} token;

typedef struct {
    token *v;
    size_t n;
    size_t cap;
} tokens;

static void tok_push(tokens *t, tok_kind k, size_t start, size_t len, int ph)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->v = ksiss_xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = (token){k, start, len, ph};
}

/* Placeholder text starting at s, or -1; sets *len. Inside strings every
 * one counts; outside, `%s` only where bare_pod_placeholder says so. */
static int placeholder_at(const char *s, size_t *len)
{
    if (s[0] == '%' && s[1] == 's') {
        *len = 2;
        return PH_POD;
    }
    if (s[0] == '{') {
        for (int i = 0; i < PH_COUNT; i++) {
            size_t n = strlen(ph_names[i]);
            if (!strncmp(s, ph_names[i], n)) {
                *len = n;
                return i;
            }
        }
    }
    return -1;
}

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* Whether the `%s` at q[i] outside any string is the pod placeholder: only
 * as the whole value of a label matcher (`{pod=%s}`, `{pod=~%s,...}`), the
 * previous token a matcher operator inside braces and the next a `,` or
 * `}`. Anywhere else it is PromQL's modulo operator before a name
 * (`sum(a)%sum(b)`, `a % s`). */
static bool bare_pod_placeholder(const char *q, size_t i, const tokens *t, int brace_depth)
{
    if (brace_depth <= 0 || is_ident_char(q[i + 2]))
        return false;
    size_t p = t->n;
    while (p > 0 && t->v[p - 1].kind == TK_COMMENT)
        p--;
    if (p == 0 || t->v[p - 1].kind != TK_PUNCT)
        return false;
    static const char *const matcher_ops[] = {"=", "!=", "=~", "!~"};
    const token *op = &t->v[p - 1];
    bool is_matcher_op = false;
    for (size_t k = 0; k < sizeof(matcher_ops) / sizeof(matcher_ops[0]); k++)
        is_matcher_op |= op->len == strlen(matcher_ops[k]) && !strncmp(q + op->start, matcher_ops[k], op->len);
    if (!is_matcher_op)
        return false;
    for (size_t j = i + 2; q[j];) {
        if (isspace((unsigned char)q[j])) {
            j++;
        } else if (q[j] == '#') {
            while (q[j] && q[j] != '\n')
                j++;
        } else {
            return q[j] == ',' || q[j] == '}';
        }
    }
    return false;
}

/* Splits q into tokens. Returns 0, or -1 with *err for an unterminated
 * string or bracket. */
static int lex(const char *q, tokens *t, char **err)
{
    size_t n = strlen(q), i = 0;
    int brace_depth = 0;
    while (i < n) {
        char c = q[i];
        size_t len;
        int ph;
        if (isspace((unsigned char)c)) {
            i++;
        } else if (c == '#') {
            size_t j = i;
            while (j < n && q[j] != '\n')
                j++;
            tok_push(t, TK_COMMENT, i, j - i, -1);
            i = j;
        } else if (c == '"' || c == '\'' || c == '`') {
            size_t j = i + 1;
            while (j < n && q[j] != c) {
                if (c != '`' && q[j] == '\\' && j + 1 < n)
                    j++;
                j++;
            }
            if (j >= n) {
                *err = ksiss_xasprintf("unterminated %c-quoted string at offset %zu", c, i + 1);
                return -1;
            }
            tok_push(t, TK_STR, i, j + 1 - i, -1);
            i = j + 1;
        } else if ((ph = placeholder_at(q + i, &len)) >= 0 && (c != '%' || bare_pod_placeholder(q, i, t, brace_depth))) {
            tok_push(t, TK_PH, i, len, ph);
            i += len;
        } else if (c == '[') {
            size_t j = i + 1;
            while (j < n && q[j] != ']')
                j++;
            if (j >= n) {
                *err = ksiss_xasprintf("unterminated '[' at offset %zu", i + 1);
                return -1;
            }
            tok_push(t, TK_DUR, i, j + 1 - i, -1);
            i = j + 1;
        } else if (is_ident_start(c)) {
            size_t j = i;
            while (j < n && is_ident_char(q[j]))
                j++;
            tok_push(t, TK_IDENT, i, j - i, -1);
            i = j;
        } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)q[i + 1]))) {
            size_t j = i;
            while (j < n && (isalnum((unsigned char)q[j]) || q[j] == '.' || q[j] == '_' ||
                             ((q[j] == '+' || q[j] == '-') && (q[j - 1] == 'e' || q[j - 1] == 'E') &&
                              !(j - i > 1 && (q[i + 1] == 'x' || q[i + 1] == 'X')))))
                j++;
            tok_push(t, TK_NUM, i, j - i, -1);
            i = j;
        } else if (strchr("=!<>", c) && (q[i + 1] == '=' || ((c == '=' || c == '!') && q[i + 1] == '~'))) {
            tok_push(t, TK_PUNCT, i, 2, -1);
            i += 2;
        } else if (strchr("=<>+-*/%^,(){}@", c)) {
            if (c == '{')
                brace_depth++;
            else if (c == '}' && brace_depth > 0)
                brace_depth--;
            tok_push(t, TK_PUNCT, i, 1, -1);
            i++;
        } else {
            tok_push(t, TK_OTHER, i, 1, -1);
            i++;
        }
    }
    return 0;
}

static bool tok_is(const char *q, const token *k, tok_kind kind, const char *text)
{
    return k->kind == kind && strlen(text) == k->len && !strncmp(q + k->start, text, k->len);
}

static bool tok_is_word(const char *q, const token *k, const char *word)
{
    return k->kind == TK_IDENT && strlen(word) == k->len && !strncasecmp(q + k->start, word, k->len);
}

/* Index of the next/previous non-comment token, or (size_t)-1. */
static size_t next_tok(const tokens *t, size_t i)
{
    for (size_t j = i + 1; j < t->n; j++)
        if (t->v[j].kind != TK_COMMENT)
            return j;
    return (size_t)-1;
}

static size_t prev_tok(const tokens *t, size_t i)
{
    while (i-- > 0)
        if (t->v[i].kind != TK_COMMENT)
            return i;
    return (size_t)-1;
}

/* ---- escaping ---- */

static void put_escaped(ksiss_strbuf *sb, const char *s, char quote)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == (unsigned char)quote) {
            ksiss_sb_putc(sb, '\\');
            ksiss_sb_putc(sb, (char)*p);
        } else if (*p >= 0x20 && *p < 0x7f) {
            ksiss_sb_putc(sb, (char)*p);
        } else {
            char e[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
            ksiss_sb_append(sb, e, 4);
        }
    }
}

static char *regex_escape(const char *s)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (const char *p = s; *p; p++) {
        if (strchr("\\.+*?()|[]{}^$", *p))
            ksiss_sb_putc(&sb, '\\');
        ksiss_sb_putc(&sb, *p);
    }
    return ksiss_sb_take(&sb);
}

char *ksiss_promql_escape(const char *s, bool regex)
{
    char *r = regex ? regex_escape(s) : NULL;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    put_escaped(&sb, r ? r : s, '"');
    free(r);
    return ksiss_sb_take(&sb);
}

static const char *var_value(const ksiss_promql_vars *v, int ph)
{
    switch (ph) {
    case PH_POD: return v->pod;
    case PH_SERVICE: return v->service;
    case PH_NAMESPACE: return v->namespace_name;
    default: return v->revision;
    }
}

static const char *const var_label[PH_COUNT] = {"pod", "service", "namespace", "revision"};

/* Puts the value of placeholder ph inside a string quoted with `quote`. */
static int put_value(ksiss_strbuf *sb, const ksiss_promql_vars *v, int ph, char quote, bool regex, char **err)
{
    const char *val = var_value(v, ph);
    if (!val) {
        *err = ksiss_xasprintf("the query uses the %s placeholder but no %s is known here",
                               ph == PH_POD ? "pod (%s / {pod})" : ph_names[ph], var_label[ph]);
        return -1;
    }
    char *r = regex ? regex_escape(val) : NULL;
    const char *x = r ? r : val;
    if (quote == '`') {
        if (strchr(x, '`')) {
            *err = ksiss_xasprintf("the %s value contains a backquote and cannot be placed in a `-quoted string", var_label[ph]);
            free(r);
            return -1;
        }
        ksiss_sb_puts(sb, x);
    } else {
        put_escaped(sb, x, quote);
    }
    free(r);
    return 0;
}

/* Copies string token k, filling placeholders inside it. */
static int fill_string(ksiss_strbuf *sb, const char *q, const token *k, const ksiss_promql_vars *v,
                       bool regex, char **err)
{
    char quote = q[k->start];
    size_t end = k->start + k->len - 1;
    ksiss_sb_putc(sb, quote);
    for (size_t j = k->start + 1; j < end;) {
        size_t len;
        int ph;
        if (quote != '`' && q[j] == '\\') {
            ksiss_sb_append(sb, q + j, 2);
            j += 2;
        } else if ((ph = placeholder_at(q + j, &len)) >= 0 && j + len <= end) {
            if (put_value(sb, v, ph, quote, regex, err) < 0)
                return -1;
            j += len;
        } else {
            ksiss_sb_putc(sb, q[j]);
            j++;
        }
    }
    ksiss_sb_putc(sb, quote);
    return 0;
}

static bool string_is_regex(const char *q, const tokens *t, size_t i)
{
    size_t p = prev_tok(t, i);
    return p != (size_t)-1 && (tok_is(q, &t->v[p], TK_PUNCT, "=~") || tok_is(q, &t->v[p], TK_PUNCT, "!~"));
}

/* Writes token i as filled (strings and placeholders), else verbatim. */
static int emit_filled(ksiss_strbuf *sb, const char *q, const tokens *t, size_t i,
                       const ksiss_promql_vars *v, char **err)
{
    const token *k = &t->v[i];
    if (k->kind == TK_STR)
        return fill_string(sb, q, k, v, string_is_regex(q, t, i), err);
    if (k->kind == TK_PH) {
        /* after =~ / !~ the new literal is a regex: escape it like one */
        ksiss_sb_putc(sb, '"');
        int rc = put_value(sb, v, k->ph, '"', string_is_regex(q, t, i), err);
        ksiss_sb_putc(sb, '"');
        return rc;
    }
    ksiss_sb_append(sb, q + k->start, k->len);
    return 0;
}

/* Copies the whitespace between token i-1 and token i. */
static void emit_gap(ksiss_strbuf *sb, const char *q, const tokens *t, size_t i)
{
    size_t from = i ? t->v[i - 1].start + t->v[i - 1].len : 0;
    size_t to = i < t->n ? t->v[i].start : strlen(q);
    ksiss_sb_append(sb, q + from, to - from);
}

char *ksiss_promql_fill(const char *query, const ksiss_promql_vars *v, char **err)
{
    tokens t = {0};
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    *err = NULL;
    if (lex(query, &t, err) < 0)
        goto fail;
    for (size_t i = 0; i < t.n; i++) {
        emit_gap(&sb, query, &t, i);
        if (emit_filled(&sb, query, &t, i, v, err) < 0)
            goto fail;
    }
    emit_gap(&sb, query, &t, t.n);
    free(t.v);
    return ksiss_sb_take(&sb);
fail:
    free(t.v);
    ksiss_sb_free(&sb);
    return NULL;
}

/* Whether string token k holds placeholder ph (outside escapes). */
static bool str_has_ph(const char *q, const token *k, int ph)
{
    size_t len;
    for (size_t j = k->start + 1; j + 1 < k->start + k->len; j++) {
        if (q[k->start] != '`' && q[j] == '\\') {
            j++;
            continue;
        }
        if (placeholder_at(q + j, &len) == ph && j + len < k->start + k->len)
            return true;
    }
    return false;
}

bool ksiss_promql_uses_pod(const char *query)
{
    return (ksiss_promql_placeholders(query) & KSISS_PROMQL_PH_POD) != 0;
}

unsigned ksiss_promql_placeholders(const char *query)
{
    tokens t = {0};
    char *err = NULL;
    unsigned mask = 0;
    if (lex(query, &t, &err) < 0) {
        /* Unlexable: decide on the text; the fill will report the error. */
        free(err);
        free(t.v);
        for (int ph = 0; ph < PH_COUNT; ph++)
            if (strstr(query, ph_names[ph]))
                mask |= 1u << ph;
        if (strstr(query, "%s"))
            mask |= KSISS_PROMQL_PH_POD;
        return mask;
    }
    for (size_t i = 0; i < t.n; i++) {
        if (t.v[i].kind == TK_PH)
            mask |= 1u << t.v[i].ph;
        else if (t.v[i].kind == TK_STR)
            for (int ph = 0; ph < PH_COUNT; ph++)
                if (str_has_ph(query, &t.v[i], ph))
                    mask |= 1u << ph;
    }
    free(t.v);
    return mask;
}

/* ---- batching ---- */

static bool word_in(const char *q, const token *k, const char *const *words)
{
    for (; *words; words++)
        if (tok_is_word(q, k, *words))
            return true;
    return false;
}

static const char *const batch_aggs[] = {"sum", "min", "max", "avg", "group", "stddev", "stdvar",
                                         "count", "quantile", NULL};
static const char *const refused_aggs[] = {"topk", "bottomk", "count_values", "limitk", "limit_ratio", NULL};
static const char *const refused_funcs[] = {"label_replace", "label_join", "absent", "absent_over_time",
                                            "scalar", "vector", "sort_by_label", "sort_by_label_desc",
                                            "info", NULL};
static const char *const plain_words[] = {"bool", "offset", "and", "or", "unless", "atan2", "inf", "nan",
                                          "group_left", "group_right", NULL};

/* Whether the label list ( ... ) opening at token `open` names `label`. */
static bool list_has(const char *q, const tokens *t, size_t open, size_t close, const char *label)
{
    size_t n = strlen(label);
    for (size_t j = open + 1; j < close; j++) {
        const token *k = &t->v[j];
        if (k->kind == TK_IDENT && k->len == n && !strncmp(q + k->start, label, n))
            return true;
        if (k->kind == TK_STR && k->len == n + 2 && !strncmp(q + k->start + 1, label, n))
            return true;
    }
    return false;
}

static bool list_empty(const tokens *t, size_t open, size_t close)
{
    for (size_t j = open + 1; j < close; j++)
        if (t->v[j].kind != TK_COMMENT)
            return false;
    return true;
}

typedef struct {
    const char *q;
    tokens t;
    size_t *match;      /* matching paren/brace index, (size_t)-1 otherwise */
    char **replace;     /* replacement text per token (owned), or NULL */
    char **after;       /* text appended after a token (owned), or NULL */
    int key;            /* the keyed placeholder (PH_POD for pods) */
    const char *what;   /* its name in messages: "pod", "service", "revision" */
    char *label;        /* the keyed label name L (owned) */
    char *why;          /* reason not batchable (owned) */
} batch_ctx;

static int refuse(batch_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(batch_ctx *c, const char *fmt, ...)
{
    if (!c->why) {
        va_list ap;
        va_start(ap, fmt);
        c->why = ksiss_xvasprintf(fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* Pass 1: pairs brackets, finds the pod matchers and L. */
static int find_matchers(batch_ctx *c)
{
    const char *q = c->q;
    tokens *t = &c->t;
    size_t *stack = ksiss_xmalloc((t->n + 1) * sizeof(*stack));
    size_t depth = 0, braces = 0;
    int rc = 1;
    for (size_t i = 0; i < t->n; i++) {
        c->match[i] = (size_t)-1;
        const token *k = &t->v[i];
        if (tok_is(q, k, TK_PUNCT, "(") || tok_is(q, k, TK_PUNCT, "{")) {
            stack[depth++] = i;
            braces += q[k->start] == '{';
        } else if (tok_is(q, k, TK_PUNCT, ")") || tok_is(q, k, TK_PUNCT, "}")) {
            char open = q[k->start] == ')' ? '(' : '{';
            if (!depth || q[t->v[stack[depth - 1]].start] != open) {
                rc = refuse(c, "unbalanced %s", q[k->start] == ')' ? "parenthesis" : "brace");
                break;
            }
            depth--;
            c->match[stack[depth]] = i;
            c->match[i] = stack[depth];
            braces -= open == '{';
        } else if (k->kind == TK_PH && k->ph == c->key) {
            rc = refuse(c, "the %s placeholder appears outside a string (not a label matcher)", c->what);
            break;
        } else if (k->kind == TK_STR && str_has_ph(q, k, c->key)) {
            size_t op = prev_tok(t, i), name = op == (size_t)-1 ? op : prev_tok(t, op);
            size_t inner = k->len - 2, plen = 0;
            bool whole = placeholder_at(q + k->start + 1, &plen) == c->key && plen == inner;
            if (!braces || !whole || op == (size_t)-1 || !tok_is(q, &t->v[op], TK_PUNCT, "=") ||
                name == (size_t)-1 || t->v[name].kind != TK_IDENT) {
                rc = refuse(c, "the %s placeholder is not the whole value of an equality matcher like "
                            "pod=\"%%s\" or service=\"{service}\"", c->what);
                break;
            }
            char *lab = ksiss_xstrndup(q + t->v[name].start, t->v[name].len);
            if (c->label && strcmp(c->label, lab)) {
                free(lab);
                rc = refuse(c, "the %s placeholder is matched against different labels (%s)", c->what, c->label);
                break;
            }
            if (!c->label)
                c->label = lab;
            else
                free(lab);
            c->replace[op] = ksiss_xstrdup("=~");
            c->replace[i] = ksiss_xstrdup("");  /* filled by the caller with the alternation */
        }
    }
    if (rc == 1 && depth)
        rc = refuse(c, "unbalanced %s", "brackets");
    free(stack);
    return rc;
}

/* Pass 2: checks every selector, aggregation and modifier. */
static int check_shape(batch_ctx *c)
{
    const char *q = c->q;
    const tokens *t = &c->t;
    const char *L = c->label;
    for (size_t i = 0; i < t->n; i++) {
        const token *k = &t->v[i];
        if (k->kind == TK_OTHER)
            return refuse(c, "unexpected character '%s'", (char[]){q[k->start], 0});
        if (tok_is(q, k, TK_PUNCT, "{")) {
            size_t close = c->match[i];
            bool has = false;
            for (size_t j = i + 1; j < close; j++)
                has = has || (c->replace[j] && t->v[j].kind == TK_STR);
            if (!has)
                return refuse(c, "a series selector has no %s matcher", c->what);
            i = close;
            continue;
        }
        if (k->kind != TK_IDENT)
            continue;
        size_t nx = next_tok(t, i);
        const token *n = nx == (size_t)-1 ? NULL : &t->v[nx];
        bool paren = n && tok_is(q, n, TK_PUNCT, "(");
        if (paren && (tok_is_word(q, k, "by") || tok_is_word(q, k, "without") || tok_is_word(q, k, "on") ||
                      tok_is_word(q, k, "ignoring") || tok_is_word(q, k, "group_left") ||
                      tok_is_word(q, k, "group_right"))) {
            size_t close = c->match[nx];
            bool has = list_has(q, t, nx, close, L);
            if (tok_is_word(q, k, "by") && !has)
                c->replace[close] = ksiss_xasprintf("%s%s)", list_empty(t, nx, close) ? "" : ", ", L);
            else if (tok_is_word(q, k, "without") && has)
                return refuse(c, "an aggregation drops the %s label (without (%s))", c->what, L);
            else if (tok_is_word(q, k, "on") && !has)
                return refuse(c, "a binary operation matches on labels without the %s label %s", c->what, L);
            else if (tok_is_word(q, k, "ignoring") && has)
                return refuse(c, "a binary operation ignores the %s label %s", c->what, L);
            i = close;
            continue;
        }
        if (word_in(q, k, refused_aggs) || (paren && word_in(q, k, refused_funcs))) {
            char *name = ksiss_xstrndup(q + k->start, k->len);
            refuse(c, "%s() changes or drops the series' labels", name);
            free(name);
            return 0;
        }
        if (word_in(q, k, batch_aggs) && n && (paren || tok_is_word(q, n, "by") || tok_is_word(q, n, "without"))) {
            if (paren) {
                size_t after = next_tok(t, c->match[nx]);
                bool postfix = after != (size_t)-1 &&
                               (tok_is_word(q, &t->v[after], "by") || tok_is_word(q, &t->v[after], "without"));
                if (!postfix)
                    c->after[i] = ksiss_xasprintf(" by (%s)", L);
            }
            continue;
        }
        if (paren || word_in(q, k, plain_words))
            continue;   /* a function call or a keyword */
        if (n && tok_is(q, n, TK_PUNCT, "{"))
            continue;   /* metric name; its braces are checked next */
        char *name = ksiss_xstrndup(q + k->start, k->len);
        refuse(c, "the series selector %s has no %s matcher", name, c->what);
        free(name);
        return 0;
    }
    return 1;
}

static void batch_ctx_free(batch_ctx *c)
{
    for (size_t i = 0; i < c->t.n; i++) {
        free(c->replace[i]);
        free(c->after[i]);
    }
    free(c->replace);
    free(c->after);
    free(c->match);
    free(c->t.v);
    free(c->label);
    free(c->why);
}

int ksiss_promql_batch(const char *query, const ksiss_promql_vars *v,
                       const char *const *pods, size_t n_pods,
                       char **out_query, char **out_label, char **why_not)
{
    return ksiss_promql_batch_keyed(query, v, KSISS_PROMQL_PH_POD, pods, n_pods, out_query, out_label, why_not);
}

int ksiss_promql_batch_keyed(const char *query, const ksiss_promql_vars *v, unsigned key,
                             const char *const *values, size_t n_values,
                             char **out_query, char **out_label, char **why_not)
{
    int ph = key == KSISS_PROMQL_PH_POD ? PH_POD : key == KSISS_PROMQL_PH_SERVICE ? PH_SERVICE
           : key == KSISS_PROMQL_PH_REVISION ? PH_REVISION : -1;
    batch_ctx c = {.q = query, .key = ph, .what = ph >= 0 ? var_label[ph] : "?"};
    char *err = NULL;
    int rc;
    *out_query = NULL;
    *out_label = NULL;
    *why_not = NULL;
    if (lex(query, &c.t, &err) < 0) {
        *why_not = err;
        free(c.t.v);
        return -1;
    }
    if (ph < 0) {
        *why_not = ksiss_xstrdup("only the pod, service or revision placeholder can key a batch");
        free(c.t.v);
        return -1;
    }
    c.match = ksiss_xcalloc(c.t.n + 1, sizeof(*c.match));
    c.replace = ksiss_xcalloc(c.t.n + 1, sizeof(*c.replace));
    c.after = ksiss_xcalloc(c.t.n + 1, sizeof(*c.after));
    rc = find_matchers(&c);
    if (rc == 1 && !c.label)
        rc = refuse(&c, "the query has no %s placeholder", c.what);
    if (rc == 1 && n_values == 0)
        rc = refuse(&c, "no %ss to read", c.what);
    if (rc == 1)
        rc = check_shape(&c);
    if (rc != 1) {
        *why_not = c.why;
        c.why = NULL;
        batch_ctx_free(&c);
        return 0;
    }
    ksiss_strbuf alt, sb;
    ksiss_sb_init(&alt, 0);
    ksiss_sb_init(&sb, 0);
    ksiss_sb_putc(&alt, '"');
    for (size_t p = 0; p < n_values; p++) {
        char *e = ksiss_promql_escape(values[p], true);
        if (p)
            ksiss_sb_putc(&alt, '|');
        ksiss_sb_puts(&alt, e);
        free(e);
    }
    ksiss_sb_putc(&alt, '"');
    ksiss_promql_vars nopod = *v;
    if (ph == PH_POD)
        nopod.pod = NULL;
    else if (ph == PH_SERVICE)
        nopod.service = NULL;
    else
        nopod.revision = NULL;
    for (size_t i = 0; i < c.t.n; i++) {
        emit_gap(&sb, query, &c.t, i);
        if (c.replace[i] && c.t.v[i].kind == TK_STR)
            ksiss_sb_puts(&sb, ksiss_sb_str(&alt));
        else if (c.replace[i])
            ksiss_sb_puts(&sb, c.replace[i]);
        else if (emit_filled(&sb, query, &c.t, i, &nopod, &err) < 0)
            break;
        if (c.after[i])
            ksiss_sb_puts(&sb, c.after[i]);
    }
    emit_gap(&sb, query, &c.t, c.t.n);
    ksiss_sb_free(&alt);
    if (err) {
        ksiss_sb_free(&sb);
        *why_not = err;
        batch_ctx_free(&c);
        return -1;
    }
    *out_query = ksiss_sb_take(&sb);
    *out_label = c.label;
    c.label = NULL;
    batch_ctx_free(&c);
    return 1;
}

/* ---- test helpers ---- */

static const char *const kind_names[] = {"ident", "num", "str", "dur", "ph", "comment", "punct", "other"};

char *ksiss_promql_shape(const char *query, char **err)
{
    tokens t = {0};
    *err = NULL;
    if (lex(query, &t, err) < 0) {
        free(t.v);
        return NULL;
    }
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (size_t i = 0; i < t.n; i++) {
        const token *k = &t.v[i];
        if (k->kind == TK_COMMENT)
            continue;
        if (sb.len)
            ksiss_sb_putc(&sb, ' ');
        if (k->kind == TK_STR || k->kind == TK_PH)
            ksiss_sb_puts(&sb, kind_names[k->kind]);
        else
            ksiss_sb_append(&sb, query + k->start, k->len);
    }
    free(t.v);
    return ksiss_sb_take(&sb);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int ksiss_promql_string_at(const char *query, size_t n, char **out)
{
    tokens t = {0};
    char *err = NULL;
    *out = NULL;
    if (lex(query, &t, &err) < 0) {
        free(err);
        free(t.v);
        return -1;
    }
    size_t seen = 0;
    for (size_t i = 0; i < t.n; i++) {
        const token *k = &t.v[i];
        if (k->kind != TK_STR || seen++ != n)
            continue;
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        const char *s = query + k->start;
        bool raw = s[0] == '`';
        for (size_t j = 1; j + 1 < k->len; j++) {
            if (raw || s[j] != '\\') {
                ksiss_sb_putc(&sb, s[j]);
                continue;
            }
            char e = s[++j];
            const char *from = "nrtabfv", *to = "\n\r\t\a\b\f\v";
            const char *f = strchr(from, e);
            if (e == 'x' && j + 2 < k->len && hexval(s[j + 1]) >= 0 && hexval(s[j + 2]) >= 0) {
                ksiss_sb_putc(&sb, (char)(hexval(s[j + 1]) * 16 + hexval(s[j + 2])));
                j += 2;
            } else if (f && e) {
                ksiss_sb_putc(&sb, to[f - from]);
            } else {
                ksiss_sb_putc(&sb, e);
            }
        }
        *out = ksiss_sb_take(&sb);
        free(t.v);
        return 0;
    }
    free(t.v);
    return -1;
}

/* ---- results ---- */

const char *ksiss_promql_nonfinite_why(double value)
{
    if (isnan(value))
        return "NaN";
    if (isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    return NULL;
}

static void combine_into(double *acc, size_t *count, double x, ksiss_aggregate agg)
{
    if (*count == 0)
        *acc = x;
    else if (agg == KSISS_AGG_MAX)
        *acc = x > *acc ? x : *acc;
    else
        *acc += x;  /* sum, and avg before the division */
    (*count)++;
}

void ksiss_promql_spread(const ksiss_promql_sample *s, size_t n,
                         const char *const *pods, size_t n_pods,
                         ksiss_aggregate agg, ksiss_pod_value *out)
{
    for (size_t p = 0; p < n_pods; p++) {
        double acc = 0;
        size_t count = 0;
        const char *why = "no sample for this pod";
        for (size_t i = 0; i < n; i++) {
            if (!s[i].pod || strcmp(s[i].pod, pods[p]))
                continue;
            const char *nf = ksiss_promql_nonfinite_why(s[i].value);
            if (nf)
                why = nf;
            else
                combine_into(&acc, &count, s[i].value, agg);
        }
        if (count && agg == KSISS_AGG_AVG)
            acc /= (double)count;
        out[p] = count ? (ksiss_pod_value){true, acc, NULL} : (ksiss_pod_value){false, NAN, why};
    }
}

ksiss_pod_value ksiss_promql_combine(const ksiss_pod_value *v, size_t n, ksiss_aggregate agg)
{
    double acc = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].present && isfinite(v[i].value))
            combine_into(&acc, &count, v[i].value, agg);
    if (!count) {
        const char *why = n == 0 ? "empty result" : n == 1 && v[0].why_missing ? v[0].why_missing
                                                                              : "no usable value from any pod";
        return (ksiss_pod_value){false, NAN, why};
    }
    if (agg == KSISS_AGG_AVG)
        acc /= (double)count;
    return (ksiss_pod_value){true, acc, NULL};
}
