/* test_yaml_tree.c: the positioned YAML tree: positions (with offsets for
 * embedded text), block-scalar indentation, multiple documents, the
 * defences (depth, aliases, duplicate keys, complex keys, NUL bytes,
 * invalid UTF-8, huge values) and the typed getters' diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "core/yaml_tree.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    ksiss_ynode **docs;
    size_t n;
    ksiss_diags d;
    int rc;
} parsed;

static void parse_text(parsed *p, const char *text, size_t len, int loff, int coff)
{
    ksiss_diags_init(&p->d);
    p->rc = ksiss_yaml_parse(text, len, "f.yaml", loff, coff, &p->docs, &p->n, &p->d);
}

static void parse_str(parsed *p, const char *text)
{
    parse_text(p, text, strlen(text), 0, 0);
}

static void parsed_free(parsed *p)
{
    ksiss_ynodes_free(p->docs, p->n);
    ksiss_diags_free(&p->d);
}

/* First diagnostic formatted, for comparisons; caller frees. */
static char *diag0(const parsed *p)
{
    if (p->d.n == 0)
        return ksiss_xstrdup("(no diagnostic)");
    return ksiss_diag_format(&p->d.v[0]);
}

static void assert_diag_prefix(const parsed *p, const char *prefix)
{
    char *s = diag0(p);
    if (strncmp(s, prefix, strlen(prefix)) != 0) {
        print_error("diagnostic: %s\nwanted prefix: %s\n", s, prefix);
        free(s);
        fail();
    }
    free(s);
}

static void test_mapping_values_carry_line_and_column(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "a: 1\nb:\n  c: [x, y]\n");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 1);
    const ksiss_ynode *root = p.docs[0];
    assert_int_equal(root->kind, KSISS_Y_MAP);
    const ksiss_ynode *b = ksiss_ymap_get(root, "b");
    assert_non_null(b);
    const ksiss_ynode *c = ksiss_ymap_get(b, "c");
    assert_int_equal(c->kind, KSISS_Y_SEQ);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->pos.line, 3);
    assert_int_equal(c->pos.col, 6);
    assert_string_equal(c->items[1]->scalar, "y");
    assert_int_equal(c->items[1]->pos.col, 10);
    parsed_free(&p);
}

static void test_offsets_shift_positions_of_embedded_text(void **state)
{
    (void)state;
    parsed p;
    parse_text(&p, "- name: x\n  slo: 1\n", 19, 10, 4);
    assert_int_equal(p.rc, 0);
    const ksiss_ynode *slo = ksiss_ymap_get(p.docs[0]->items[0], "slo");
    assert_int_equal(slo->pos.line, 12);
    assert_int_equal(slo->pos.col, 8 + 4);
    parsed_free(&p);
}

static void test_literal_block_knows_its_content_indentation(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "data:\n  gpt2: |\n\n      - name: x\n      query: q\n");
    assert_int_equal(p.rc, 0);
    const ksiss_ynode *v = ksiss_ymap_get(ksiss_ymap_get(p.docs[0], "data"), "gpt2");
    assert_int_equal(v->style, KSISS_YS_LITERAL);
    assert_int_equal(v->block_line, 2);
    assert_int_equal(v->block_indent, 6);
    parsed_free(&p);
}

static void test_block_indentation_indicator_is_honoured(void **state)
{
    (void)state;
    parsed p;
    /* `|2`: content indented 2 past the key's line, its first line more. */
    parse_str(&p, "data:\n  gpt2: |2\n        - deep\n      - name: x\n");
    assert_int_equal(p.rc, 0);
    const ksiss_ynode *v = ksiss_ymap_get(ksiss_ymap_get(p.docs[0], "data"), "gpt2");
    assert_int_equal(v->block_indent, 4);
    assert_string_equal(v->scalar, "    - deep\n  - name: x\n");
    parsed_free(&p);
}

static void test_every_document_of_a_stream_is_returned(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "a: 1\n---\nkind: ConfigMap\n---\n");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(ksiss_ymap_get(p.docs[1], "kind")->scalar, "ConfigMap");
    assert_true(ksiss_y_is_null(p.docs[2]));
    parsed_free(&p);
}

static void test_empty_text_has_no_documents(void **state)
{
    (void)state;
    parsed p;
    parse_text(&p, "", 0, 0, 0);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 0);
    parsed_free(&p);
}

static void test_syntax_error_is_positioned(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "a: 1\nb: [1, 2\nc: 3\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.n, 0);
    assert_null(p.docs);
    assert_diag_prefix(&p, "f.yaml:3:2: YAML syntax error");
    parsed_free(&p);
}

static void test_alias_is_refused_not_expanded(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "a: &x [1, 2]\nb: *x\n");
    assert_int_equal(p.rc, -1);
    assert_diag_prefix(&p, "f.yaml:2:4: aliases (*x) are not supported");
    assert_int_equal(p.n, 1);
    parsed_free(&p);
}

static void test_billion_laughs_stays_small_and_fails(void **state)
{
    (void)state;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) {
        ksiss_sb_printf(&sb, "a%d: &a%d [", i, i);
        for (int j = 0; j < 9; j++)
            ksiss_sb_printf(&sb, "%s*a%d", j ? ", " : "", i - 1);
        ksiss_sb_puts(&sb, "]\n");
    }
    parsed p;
    parse_text(&p, sb.buf, sb.len, 0, 0);
    assert_int_equal(p.rc, -1);
    assert_true(p.d.n >= 81);
    parsed_free(&p);
    ksiss_sb_free(&sb);
}

static void test_duplicate_key_is_reported_and_first_kept(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "slo: 1\nquery: q\nslo: 2\n");
    assert_int_equal(p.rc, -1);
    assert_diag_prefix(&p, "f.yaml:3:1: duplicate key \"slo\" (first at line 1)");
    assert_int_equal(p.docs[0]->n, 2);
    assert_string_equal(ksiss_ymap_get(p.docs[0], "slo")->scalar, "1");
    parsed_free(&p);
}

static void test_complex_key_is_refused(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "? [a, b]\n: {c: [d]}\ne: 1\n");
    assert_int_equal(p.rc, -1);
    assert_diag_prefix(&p, "f.yaml:1:3: a mapping key must be a plain value, not a list");
    assert_int_equal(p.docs[0]->n, 1);
    assert_non_null(ksiss_ymap_get(p.docs[0], "e"));
    parsed_free(&p);
}

static void test_deep_nesting_is_refused(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *t = ksiss_xmalloc(depth * 2 + 1);
    memset(t, '[', depth);
    memset(t + depth, ']', depth);
    t[depth * 2] = '\0';
    parsed p;
    parse_text(&p, t, depth * 2, 0, 0);
    assert_int_equal(p.rc, -1);
    assert_diag_prefix(&p, "f.yaml:1:65: nesting deeper than 64 levels");
    parsed_free(&p);
    free(t);
}

static void test_too_many_nodes_are_refused(void **state)
{
    (void)state;
    size_t n = KSISS_YAML_MAX_NODES + 10;
    char *t = ksiss_xmalloc(n * 2 + 3);
    t[0] = '[';
    for (size_t i = 0; i < n; i++) {
        t[1 + 2 * i] = '1';
        t[2 + 2 * i] = ',';
    }
    t[n * 2] = ']';
    t[n * 2 + 1] = '\0';
    parsed p;
    parse_text(&p, t, n * 2 + 1, 0, 0);
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.d.v[0].msg, "YAML nodes"));
    parsed_free(&p);
    free(t);
}

static void test_nul_byte_and_invalid_utf8_are_errors(void **state)
{
    (void)state;
    static const char nul[] = "a: b\0c\n";
    parsed p;
    parse_text(&p, nul, sizeof(nul) - 1, 0, 0);
    assert_int_equal(p.rc, -1);
    assert_diag_prefix(&p, "f.yaml:1:5: YAML syntax error");
    parsed_free(&p);
    static const char bad[] = "a: \xff\xfe\n";
    parse_text(&p, bad, sizeof(bad) - 1, 0, 0);
    assert_int_equal(p.rc, -1);
    assert_diag_prefix(&p, "f.yaml:1:4: YAML syntax error");
    parsed_free(&p);
}

static void test_ten_megabyte_value_parses(void **state)
{
    (void)state;
    size_t big = 10u << 20;
    char *t = ksiss_xmalloc(big + 16);
    memcpy(t, "q: ", 3);
    memset(t + 3, 'x', big);
    memcpy(t + 3 + big, "\n", 2);
    parsed p;
    parse_text(&p, t, big + 4, 0, 0);
    assert_int_equal(p.rc, 0);
    const ksiss_ynode *q = ksiss_ymap_get(p.docs[0], "q");
    assert_int_equal(q->scalar_len, big);
    char *ex = ksiss_y_excerpt(q);
    assert_true(strlen(ex) < 50);
    free(ex);
    parsed_free(&p);
    free(t);
}

/* ---- typed getters ---- */

typedef struct {
    const char *yaml;       /* "v: ..." */
    int ok;
    double want;
    const char *msg;        /* expected diagnostic when !ok */
} double_case;

static const double_case double_cases[] = {
    {"v: 0.5", 1, 0.5, NULL},
    {"v: '2'", 1, 2, NULL},
    {"v: -3e2", 1, -300, NULL},
    {"v: .nan", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \".nan\""},
    {"v: -.inf", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \"-.inf\""},
    {"v: nan", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \"nan\""},
    {"v: 1e999", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \"1e999\""},
    {"v: 0x10", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \"0x10\""},
    {"v: +0.5", 1, 0.5, NULL},
    {"v: +-0.5", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \"+-0.5\""},
    {"v: ' 0.5'", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \" 0.5\""},
    {"v: fast", 0, 0, "f.yaml:1:4: slo: expected a finite number, got \"fast\""},
    {"v:", 0, 0, "f.yaml:1:3: slo: expected a number, got null"},
    {"v: [1]", 0, 0, "f.yaml:1:4: slo: expected a number, got a list"},
};

static void test_double_getter_accepts_numbers_and_names_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(double_cases); i++) {
        const double_case *c = &double_cases[i];
        parsed p;
        parse_str(&p, c->yaml);
        assert_int_equal(p.rc, 0);
        double v = -1;
        int rc = ksiss_y_double(ksiss_ymap_get(p.docs[0], "v"), "f.yaml", "slo", &v, &p.d);
        if (c->ok) {
            assert_int_equal(rc, 0);
            assert_true(v == c->want);
        } else {
            assert_int_equal(rc, -1);
            char *s = diag0(&p);
            if (strcmp(s, c->msg) != 0)
                fail_msg("case %zu: got %s, want %s", i, s, c->msg);
            free(s);
        }
        parsed_free(&p);
    }
}

typedef struct {
    const char *yaml;
    int ok;
    int64_t want;
    const char *msg;
} int_case;

static const int_case int_cases[] = {
    {"v: 3", 1, 3, NULL},
    {"v: '7'", 1, 7, NULL},
    {"v: 1000", 1, 1000, NULL},
    {"v: 1001", 0, 0, "f.yaml:1:4: maxReplicas: 1001 is out of range [0, 1000]"},
    {"v: -1", 0, 0, "f.yaml:1:4: maxReplicas: -1 is out of range [0, 1000]"},
    {"v: 2.5", 0, 0, "f.yaml:1:4: maxReplicas: expected an integer, got \"2.5\""},
    {"v: 99999999999999999999999", 0, 0,
     "f.yaml:1:4: maxReplicas: expected an integer, got \"99999999999999999999999\""},
    {"v: ' 3'", 0, 0, "f.yaml:1:4: maxReplicas: expected an integer, got \" 3\""},
    {"v: +3", 1, 3, NULL},
    {"v: +-3", 0, 0, "f.yaml:1:4: maxReplicas: expected an integer, got \"+-3\""},
    {"v: 0x10", 0, 0, "f.yaml:1:4: maxReplicas: expected an integer, got \"0x10\""},
};

static void test_int_getter_checks_syntax_and_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(int_cases); i++) {
        const int_case *c = &int_cases[i];
        parsed p;
        parse_str(&p, c->yaml);
        int64_t v = -5;
        int rc = ksiss_y_int(ksiss_ymap_get(p.docs[0], "v"), "f.yaml", "maxReplicas", 0, 1000, &v, &p.d);
        if (c->ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(v, c->want);
        } else {
            assert_int_equal(rc, -1);
            char *s = diag0(&p);
            if (strcmp(s, c->msg) != 0)
                fail_msg("case %zu: got %s, want %s", i, s, c->msg);
            free(s);
        }
        parsed_free(&p);
    }
}

typedef struct {
    const char *yaml;
    int ok;
    int64_t want_ms;
} dur_case;

static const dur_case dur_cases[] = {
    {"v: 500ms", 1, 500},      {"v: 30s", 1, 30000},     {"v: 5m", 1, 300000},
    {"v: 1h", 1, 3600000},     {"v: 1m30s", 1, 90000},   {"v: 10", 1, 10000},
    {"v: -5s", 0, 0},          {"v: 5 minutes", 0, 0},   {"v: 5d", 0, 0},
    {"v: ''", 0, 0},           {"v: 1e300h", 0, 0},      {"v: {a: 1}", 0, 0},
    {"v: 0x10", 0, 0},         {"v: 1e3s", 0, 0},        {"v: ' 5s'", 0, 0},
};

static void test_duration_getter_accepts_units_and_refuses_the_rest(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(dur_cases); i++) {
        const dur_case *c = &dur_cases[i];
        parsed p;
        parse_str(&p, c->yaml);
        int64_t v = -1;
        int rc = ksiss_y_duration_ms(ksiss_ymap_get(p.docs[0], "v"), "f.yaml", "cooldown.up", &v, &p.d);
        if (c->ok) {
            if (rc != 0 || v != c->want_ms)
                fail_msg("case %s: rc %d value %lld", c->yaml, rc, (long long)v);
        } else {
            if (rc != -1)
                fail_msg("case %s accepted", c->yaml);
            assert_non_null(strstr(p.d.v[0].msg, "cooldown.up: expected a duration"));
        }
        parsed_free(&p);
    }
}

static void test_bool_getter_reads_yaml_booleans(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "a: true\nb: False\nc: 'true'\nd: 1\n");
    bool v = false;
    assert_int_equal(ksiss_y_bool(ksiss_ymap_get(p.docs[0], "a"), "f.yaml", "a", &v, &p.d), 0);
    assert_true(v);
    assert_int_equal(ksiss_y_bool(ksiss_ymap_get(p.docs[0], "b"), "f.yaml", "b", &v, &p.d), 0);
    assert_false(v);
    assert_int_equal(ksiss_y_bool(ksiss_ymap_get(p.docs[0], "c"), "f.yaml", "c", &v, &p.d), -1);
    assert_int_equal(ksiss_y_bool(ksiss_ymap_get(p.docs[0], "d"), "f.yaml", "d", &v, &p.d), -1);
    assert_int_equal(p.d.n, 2);
    parsed_free(&p);
}

static void test_string_getter_refuses_null_and_collections(void **state)
{
    (void)state;
    parsed p;
    parse_str(&p, "a: x\nb: ~\nc: {}\n");
    const char *s = NULL;
    assert_int_equal(ksiss_y_string(ksiss_ymap_get(p.docs[0], "a"), "f.yaml", "a", &s, &p.d), 0);
    assert_string_equal(s, "x");
    assert_int_equal(ksiss_y_string(ksiss_ymap_get(p.docs[0], "b"), "f.yaml", "b", &s, &p.d), -1);
    assert_int_equal(ksiss_y_string(ksiss_ymap_get(p.docs[0], "c"), "f.yaml", "c", &s, &p.d), -1);
    assert_string_equal(p.d.v[1].msg, "c: expected a string, got a mapping");
    parsed_free(&p);
}

static void test_unknown_key_suggests_the_closest_known_one(void **state)
{
    (void)state;
    static const char *const allowed[] = {"name", "query", "slo", "scaleUpFactor", "scaleDownFactor", NULL};
    parsed p;
    parse_str(&p, "name: a\nqeury: q\nscaleupfactor: 2\nbanana: 1\n");
    size_t bad = ksiss_y_check_keys(p.docs[0], "f.yaml", "metric \"a\"", allowed, &p.d);
    assert_int_equal(bad, 3);
    char *s = diag0(&p);
    assert_string_equal(s, "f.yaml:2:1: metric \"a\": unknown field \"qeury\" (did you mean \"query\"?)");
    free(s);
    assert_string_equal(p.d.v[1].msg, "metric \"a\": unknown field \"scaleupfactor\" (did you mean \"scaleUpFactor\"?)");
    assert_non_null(strstr(p.d.v[2].msg, "unknown field \"banana\" (known: name, query"));
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping_values_carry_line_and_column),
        cmocka_unit_test(test_offsets_shift_positions_of_embedded_text),
        cmocka_unit_test(test_literal_block_knows_its_content_indentation),
        cmocka_unit_test(test_block_indentation_indicator_is_honoured),
        cmocka_unit_test(test_every_document_of_a_stream_is_returned),
        cmocka_unit_test(test_empty_text_has_no_documents),
        cmocka_unit_test(test_syntax_error_is_positioned),
        cmocka_unit_test(test_alias_is_refused_not_expanded),
        cmocka_unit_test(test_billion_laughs_stays_small_and_fails),
        cmocka_unit_test(test_duplicate_key_is_reported_and_first_kept),
        cmocka_unit_test(test_complex_key_is_refused),
        cmocka_unit_test(test_deep_nesting_is_refused),
        cmocka_unit_test(test_too_many_nodes_are_refused),
        cmocka_unit_test(test_nul_byte_and_invalid_utf8_are_errors),
        cmocka_unit_test(test_ten_megabyte_value_parses),
        cmocka_unit_test(test_double_getter_accepts_numbers_and_names_bad_values),
        cmocka_unit_test(test_int_getter_checks_syntax_and_range),
        cmocka_unit_test(test_duration_getter_accepts_units_and_refuses_the_rest),
        cmocka_unit_test(test_bool_getter_reads_yaml_booleans),
        cmocka_unit_test(test_string_getter_refuses_null_and_collections),
        cmocka_unit_test(test_unknown_key_suggests_the_closest_known_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
