/* fuzz_promql.c: libFuzzer target for the PromQL text work of
 * src/core/promql.c: placeholder filling (ksiss_promql_fill), the batching
 * rewrite (ksiss_promql_batch) and escaping (ksiss_promql_escape), with
 * arbitrary queries and arbitrary (hostile) names. It checks that no name
 * can change a query: the token shape of a query filled with hostile names
 * is the shape filled with harmless ones; a literal that was exactly one
 * placeholder decodes back to exactly the name (regex-escaped, and matching
 * only itself, after =~ / !~); a batched alternation matches exactly the
 * pods given, each literally; uses_pod agrees with what fill needs.
 *
 * Input: QUERY [NUL NAME [NUL NAME ...]] (at most 8 names). Without names a
 * fixed set of hostile ones is used. The pod is NAME0, the service NAME1,
 * the namespace NAME2, the revision NAME3 (cycling when fewer); every name
 * is a pod for batching. */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/promql.h"
#include "fuzz_common.h"

#define MAX_NAMES 8

static const char *const default_names[] = {"a\"} or vector(1) #", "x\\\"}\ny", ".*|b", "it's`{pod}%s"};

/* Harmless values of the same length per placeholder, two sets: a literal
 * that decodes to the value of set 1 when filled with set 1 AND to the
 * value of set 2 when filled with set 2 was exactly that placeholder
 * (whatever else the query says). */
static const char *const marker1[4] = {"kspod1", "kssvc1", "ksnsp1", "ksrev1"};
static const char *const marker2[4] = {"kspod2", "kssvc2", "ksnsp2", "ksrev2"};

static ksiss_promql_vars vars_of(const char *const *v)
{
    return (ksiss_promql_vars){.pod = v[0], .service = v[1], .namespace_name = v[2], .revision = v[3]};
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* ---- an independent reading of the filled text ---- */

/* Scans a filled query the way PromQL lexes it (comments, strings with
 * backslash escapes, raw strings, [...] ranges, the two-character operators)
 * and records, for each string literal in order, whether it follows =~ or
 * !~. Returns the number of literals (at most cap recorded). */
static size_t scan_literals(const char *q, bool *regex, size_t cap)
{
    size_t n = 0, len = strlen(q);
    bool after_re = false;
    for (size_t i = 0; i < len;) {
        char c = q[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            i++;
        } else if (c == '#') {
            while (i < len && q[i] != '\n')
                i++;
        } else if (c == '"' || c == '\'' || c == '`') {
            size_t j = i + 1;
            while (j < len && q[j] != c)
                j += (c != '`' && q[j] == '\\' && j + 1 < len) ? 2 : 1;
            if (n < cap)
                regex[n] = after_re;
            n++;
            after_re = false;
            i = j + 1;
        } else if (c == '[') {
            while (i < len && q[i] != ']')
                i++;
            i++;
            after_re = false;
        } else if (strchr("=!<>", c) && (q[i + 1] == '=' || ((c == '=' || c == '!') && q[i + 1] == '~'))) {
            after_re = q[i + 1] == '~';
            i += 2;
        } else {
            after_re = false;
            i++;
        }
    }
    return n;
}

/* Reads an RE2 pattern that must be a sequence of literal characters split
 * into alternatives by unescaped '|': every metacharacter escaped, nothing
 * else escaped. Returns the number of alternatives written to alt[] (each
 * malloc'ed), or -1 when the pattern is not purely literal. */
static int literal_alternatives(const char *re, char **alt, int cap)
{
    static const char meta[] = "\\.+*?()|[]{}^$";
    int n = 0;
    size_t len = strlen(re);
    char *cur = malloc(len + 1);
    size_t cl = 0;
    if (!cur)
        abort();
    for (size_t i = 0; i <= len; i++) {
        char c = re[i];
        if (c == '\0' || c == '|') {
            if (n == cap) {
                free(cur);
                return -1;
            }
            cur[cl] = '\0';
            alt[n++] = xstrdup(cur);
            cl = 0;
        } else if (c == '\\') {
            if (!re[i + 1] || !strchr(meta, re[i + 1])) {
                free(cur);
                return -1;
            }
            cur[cl++] = re[++i];
        } else if (strchr(meta, c)) {
            free(cur);
            return -1;
        } else {
            cur[cl++] = c;
        }
    }
    free(cur);
    return n;
}

static void free_alts(char **alt, int n)
{
    for (int i = 0; i < n; i++)
        free(alt[i]);
}

/* The pattern (an RE2 regex text, as Prometheus anchors it) matches each of
 * names[] literally and nothing else: it reads as exactly those literal
 * alternatives, in order, and a POSIX ERE built from it accepts each name
 * and refuses each name with a character added. */
static void check_matches_exactly(const char *pattern, const char *const *names, size_t n, const char *where)
{
    char *alt[MAX_NAMES + 1];
    int got = literal_alternatives(pattern, alt, MAX_NAMES + 1);
    FUZZ_CHECK(got >= 0, "%s: the pattern '%s' is not a literal alternation", where, pattern);
    FUZZ_CHECK((size_t)got == n, "%s: the pattern '%s' has %d alternatives for %zu names", where, pattern, got, n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(!strcmp(alt[i], names[i]), "%s: alternative %zu reads '%s', the name is '%s'", where, i, alt[i],
                   names[i]);
    free_alts(alt, got);

    size_t plen = strlen(pattern);
    char *anchored = malloc(plen + 5);
    if (!anchored)
        abort();
    memcpy(anchored, "^(", 2);
    memcpy(anchored + 2, pattern, plen);
    memcpy(anchored + 2 + plen, ")$", 3);
    regex_t rx;
    if (regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
        /* glibc refuses some byte sequences RE2 would take (the literal
         * reading above already held); nothing more to check here. */
        free(anchored);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(regexec(&rx, names[i], 0, NULL, 0) == 0, "%s: '%s' does not match name '%s'", where, anchored,
                   names[i]);
        size_t l = strlen(names[i]);
        char *more = malloc(l + 2);
        if (!more)
            abort();
        memcpy(more, names[i], l);
        more[l] = 'Z';
        more[l + 1] = '\0';
        bool listed = false;
        for (size_t j = 0; j < n; j++)
            listed = listed || !strcmp(names[j], more);
        FUZZ_CHECK(listed || regexec(&rx, more, 0, NULL, 0) != 0, "%s: '%s' also matches '%s'", where, anchored,
                   more);
        free(more);
    }
    regfree(&rx);
    free(anchored);
}

/* The n-th literal of q decoded (caller frees), or NULL. */
static char *literal(const char *q, size_t n)
{
    char *s = NULL;
    return ksiss_promql_string_at(q, n, &s) == 0 ? s : NULL;
}

static size_t count_literals(const char *q)
{
    size_t n = 0;
    char *s;
    while ((s = literal(q, n)) != NULL) {
        free(s);
        n++;
    }
    return n;
}

static bool any_has_backquote(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && strchr(v[i], '`'))
            return true;
    return false;
}

static char *shape(const char *q)
{
    char *err = NULL;
    char *s = ksiss_promql_shape(q, &err);
    FUZZ_CHECK(s != NULL, "a query produced by fill/batch does not lex (%s): %s", err ? err : "?", q);
    free(err);
    return s;
}

/* ---- escape ---- */

static void check_escape(const char *name)
{
    char *e = ksiss_promql_escape(name, false);
    size_t l = strlen(e);
    char *lit = malloc(l + 3);
    if (!lit)
        abort();
    lit[0] = '"';
    memcpy(lit + 1, e, l);
    memcpy(lit + 1 + l, "\"", 2);
    char *s = shape(lit);
    FUZZ_CHECK(!strcmp(s, "str"), "escaped name '%s' is not one string literal: %s", name, s);
    char *back = literal(lit, 0);
    FUZZ_CHECK(back && !strcmp(back, name), "escaped '%s' decodes to '%s'", name, back ? back : "(nothing)");
    free(back);
    free(s);
    free(lit);
    free(e);

    e = ksiss_promql_escape(name, true);
    l = strlen(e);
    lit = malloc(l + 3);
    if (!lit)
        abort();
    lit[0] = '"';
    memcpy(lit + 1, e, l);
    memcpy(lit + 1 + l, "\"", 2);
    s = shape(lit);
    FUZZ_CHECK(!strcmp(s, "str"), "regex-escaped name '%s' is not one string literal: %s", name, s);
    char *re = literal(lit, 0);
    FUZZ_CHECK(re != NULL, "regex-escaped '%s' does not decode", name);
    check_matches_exactly(re, &name, 1, "escape(regex)");
    free(re);
    free(s);
    free(lit);
    free(e);
}

/* ---- fill ---- */

static void check_fill(const char *q, const char *const *hv)
{
    ksiss_promql_vars p1 = vars_of(marker1), p2 = vars_of(marker2), h = vars_of(hv);
    char *e1 = NULL, *e2 = NULL, *eh = NULL;
    char *f1 = ksiss_promql_fill(q, &p1, &e1);
    char *f2 = ksiss_promql_fill(q, &p2, &e2);
    char *fh = ksiss_promql_fill(q, &h, &eh);
    FUZZ_CHECK(!f1 == !f2, "harmless names: one fill fails (%s), the other not", e1 ? e1 : e2);
    FUZZ_CHECK(f1 || (e1 && e1[0]), "a failed fill says nothing");
    FUZZ_CHECK(fh || (eh && eh[0]), "a failed fill with hostile names says nothing");
    if (!f1) {
        FUZZ_CHECK(!fh, "a query refused with harmless names (%s) is accepted with hostile ones: %s", e1, fh);
        goto out;
    }
    if (!fh) {
        FUZZ_CHECK(strstr(eh, "backquote") && any_has_backquote(hv, 4),
                   "a hostile name makes a valid query fail: %s", eh);
        goto out;
    }

    /* the token shape never changes */
    char *s1 = shape(f1), *sh = shape(fh);
    FUZZ_CHECK(!strcmp(s1, sh), "a hostile name changed the query\n  template: %s\n  harmless: %s\n  hostile:  %s\n"
               "  shapes: %s | %s", q, f1, fh, s1, sh);
    free(s1);
    free(sh);

    /* uses_pod says exactly whether the pod value is needed */
    ksiss_promql_vars nopod = p1;
    nopod.pod = NULL;
    char *en = NULL;
    char *fn = ksiss_promql_fill(q, &nopod, &en);
    FUZZ_CHECK(!fn == ksiss_promql_uses_pod(q), "uses_pod %d but a fill without a pod %s: %s",
               (int)ksiss_promql_uses_pod(q), fn ? "works" : "fails", en ? en : fn);
    free(fn);
    free(en);

    /* every literal that was exactly one placeholder holds exactly the name */
    size_t n = count_literals(f1);
    FUZZ_CHECK(n == count_literals(fh), "%zu literals with harmless names, %zu with hostile ones", n,
               count_literals(fh));
    bool regex[256];
    size_t scanned = scan_literals(fh, regex, 256);
    FUZZ_CHECK(scanned == n, "the filled query has %zu string literals, %zu as PromQL reads it: %s", n, scanned, fh);
    for (size_t k = 0; k < n && k < 256; k++) {
        char *l1 = literal(f1, k), *l2 = literal(f2, k), *lh = literal(fh, k);
        FUZZ_CHECK(l1 && l2 && lh, "literal %zu does not decode", k);
        for (int j = 0; j < 4; j++) {
            if (strcmp(l1, marker1[j]) || strcmp(l2, marker2[j]))
                continue;
            if (regex[k])
                check_matches_exactly(lh, &hv[j], 1, "fill after =~");
            else
                FUZZ_CHECK(!strcmp(lh, hv[j]), "literal %zu decodes to '%s', the name is '%s'\n  %s", k, lh, hv[j],
                           fh);
        }
        free(l1);
        free(l2);
        free(lh);
    }
out:
    free(f1);
    free(f2);
    free(fh);
    free(e1);
    free(e2);
    free(eh);
}

/* ---- batch ---- */

static char *join_pipe(const char *const *v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *s = calloc(1, len);
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, "|");
        strcat(s, v[i]);
    }
    return s;
}

/* The pod label is one identifier token of the template (':' included: a
 * template that names a label with ':' is refused by Prometheus itself, a
 * missing reading, never another series). */
static bool is_label_name(const char *s)
{
    if (!s || !(s[0] == '_' || s[0] == ':' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || *s == ':' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static void check_batch(const char *q, const char *const *hv, const char *const *pods, size_t n_pods)
{
    static const char *const pods1[MAX_NAMES] = {"kp1a", "kp1b", "kp1c", "kp1d", "kp1e", "kp1f", "kp1g", "kp1h"};
    static const char *const pods2[MAX_NAMES] = {"kp2a", "kp2b", "kp2c", "kp2d", "kp2e", "kp2f", "kp2g", "kp2h"};
    ksiss_promql_vars p1 = vars_of(marker1), p2 = vars_of(marker2), h = vars_of(hv);
    char *b1 = NULL, *b2 = NULL, *bh = NULL, *l1 = NULL, *l2 = NULL, *lh = NULL, *w1 = NULL, *w2 = NULL, *wh = NULL;
    int r1 = ksiss_promql_batch(q, &p1, pods1, n_pods, &b1, &l1, &w1);
    int r2 = ksiss_promql_batch(q, &p2, pods2, n_pods, &b2, &l2, &w2);
    int rh = ksiss_promql_batch(q, &h, pods, n_pods, &bh, &lh, &wh);
    FUZZ_CHECK(r1 == r2, "harmless names: batch returns %d and %d", r1, r2);
    FUZZ_CHECK(rh >= -1 && rh <= 1, "batch returned %d", rh);
    FUZZ_CHECK(rh == 1 ? (bh && lh && !wh) : (!bh && !lh && wh && wh[0]),
               "batch %d: query %p label %p reason %p", rh, (void *)bh, (void *)lh, (void *)wh);
    if (rh != r1)
        FUZZ_CHECK(r1 == 1 && rh == -1 && strstr(wh, "backquote") && any_has_backquote(hv, 4),
                   "hostile names turn batch %d into %d (%s)\n  %s", r1, rh, wh ? wh : "", q);
    if (r1 != 1 || rh != 1)
        goto out;

    FUZZ_CHECK(!strcmp(l1, lh) && is_label_name(lh), "pod label '%s' with harmless names, '%s' with hostile ones",
               l1, lh);
    FUZZ_CHECK(!ksiss_promql_uses_pod(b1), "a batched query still uses the pod placeholder: %s", b1);
    char *s1 = shape(b1), *sh = shape(bh);
    FUZZ_CHECK(!strcmp(s1, sh), "hostile names changed the batched query\n  template: %s\n  harmless: %s\n"
               "  hostile:  %s", q, b1, bh);
    free(s1);
    free(sh);

    char *alt1 = join_pipe(pods1, n_pods), *alt2 = join_pipe(pods2, n_pods);
    size_t n = count_literals(b1), seen = 0;
    bool regex[256];
    size_t scanned = scan_literals(bh, regex, 256);
    FUZZ_CHECK(scanned == n, "the batched query has %zu string literals, %zu as PromQL reads it: %s", n, scanned, bh);
    for (size_t k = 0; k < n && k < 256; k++) {
        char *a = literal(b1, k), *b = literal(b2, k), *c = literal(bh, k);
        FUZZ_CHECK(a && b && c, "batched literal %zu does not decode", k);
        if (!strcmp(a, alt1) && !strcmp(b, alt2)) {
            seen++;
            FUZZ_CHECK(regex[k], "the pod alternation is not after =~: %s", bh);
            check_matches_exactly(c, pods, n_pods, "batched alternation");
        }
        for (int j = 1; j < 4; j++)
            if (!strcmp(a, marker1[j]) && !strcmp(b, marker2[j])) {
                if (regex[k])
                    check_matches_exactly(c, &hv[j], 1, "batch: fill after =~");
                else
                    FUZZ_CHECK(!strcmp(c, hv[j]), "batched literal %zu decodes to '%s', the name is '%s'", k, c,
                               hv[j]);
            }
        free(a);
        free(b);
        free(c);
    }
    FUZZ_CHECK(seen >= 1, "batched (label %s) but no pod alternation in %s", lh, bh);
    free(alt1);
    free(alt2);
out:
    free(b1);
    free(b2);
    free(bh);
    free(l1);
    free(l2);
    free(lh);
    free(w1);
    free(w2);
    free(wh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = ksiss_fuzz_text(data, size);
    const char *names[MAX_NAMES];
    size_t n = 0;
    for (size_t i = 0; i < size && n < MAX_NAMES; i++)
        if (text[i] == '\0')
            names[n++] = text + i + 1;
    if (n == 0)
        for (; n < sizeof default_names / sizeof default_names[0]; n++)
            names[n] = default_names[n];
    const char *hv[4];
    for (int j = 0; j < 4; j++)
        hv[j] = names[(size_t)j % n];

    for (size_t i = 0; i < n; i++)
        check_escape(names[i]);
    check_fill(text, hv);
    check_batch(text, hv, names, n);
    free(text);
    return 0;
}
