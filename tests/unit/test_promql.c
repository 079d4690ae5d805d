/* test_promql.c: placeholder filling (hostile pod, service and namespace
 * names can never change a query's structure), the batching rewrite for
 * each query shape (which are batched into one query, which fall back to
 * per-pod queries and why), and spreading a result vector over pods and
 * aggregating it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/promql.h"
#include "core/util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static char *fill_ok(const char *q, const ksiss_promql_vars *v)
{
    char *err = NULL;
    char *out = ksiss_promql_fill(q, v, &err);
    if (!out)
        fail_msg("fill of %s failed: %s", q, err);
    return out;
}

static char *shape_of(const char *q)
{
    char *err = NULL;
    char *s = ksiss_promql_shape(q, &err);
    if (!s)
        fail_msg("shape of %s failed: %s", q, err);
    return s;
}

/* ---- filling ---- */

static void test_original_ratio_query_replaces_every_percent_s(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "gpt2-00001-deployment-7d9f-abcde"};
    char *q = fill_ok("increase(tgi_request_mean_time_per_token_duration_sum{pod=\"%s\"}[1m])/"
                      "increase(tgi_request_mean_time_per_token_duration_count{pod=\"%s\"}[1m])", &v);
    assert_string_equal(q, "increase(tgi_request_mean_time_per_token_duration_sum{pod=\"gpt2-00001-deployment-7d9f-abcde\"}[1m])/"
                           "increase(tgi_request_mean_time_per_token_duration_count{pod=\"gpt2-00001-deployment-7d9f-abcde\"}[1m])");
    free(q);
}

static void test_named_placeholders_are_filled(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "p-1", .service = "llama", .namespace_name = "ml", .revision = "llama-00002"};
    char *q = fill_ok("sum(rate(x{pod=\"{pod}\",service=\"{service}\",namespace='{namespace}',rev=`{revision}`}[1m]))", &v);
    assert_string_equal(q, "sum(rate(x{pod=\"p-1\",service=\"llama\",namespace='ml',rev=`llama-00002`}[1m]))");
    free(q);
}

static void test_placeholder_outside_a_string_becomes_a_string_literal(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "a\"b"};
    char *q = fill_ok("x{pod=%s}", &v);
    assert_string_equal(q, "x{pod=\"a\\\"b\"}");
    free(q);
}

/* `%s` outside a string is the pod only as the whole value of a label
 * matcher; elsewhere it is PromQL's modulo operator before a name, and
 * `%` and `%%` are never placeholders. Inside strings every `%s` is the pod
 * (as the original's replace-every-occurrence), `%%` stays as written. */
typedef struct {
    const char *query;
    const char *want;
    bool per_pod;
} percent_case;

static const percent_case percent_cases[] = {
    /* outside strings */
    {"sum(a)%sum(b)", "sum(a)%sum(b)", false},
    {"sum(a) % sum(b)", "sum(a) % sum(b)", false},
    {"a%s", "a%s", false},
    {"a %s", "a %s", false},
    {"(a)%s_total", "(a)%s_total", false},
    {"a % 2", "a % 2", false},
    {"a %% b", "a %% b", false},
    {"x{pod=%sx}", "x{pod=%sx}", false},
    {"label_replace(x, \"dst\", %s, \"src\", \"(.*)\")", "label_replace(x, \"dst\", %s, \"src\", \"(.*)\")", false},
    {"x{pod=%s}", "x{pod=\"p-1\"}", true},
    {"x{pod= %s , job=\"j\"}", "x{pod= \"p-1\" , job=\"j\"}", true},
    {"x{pod=~%s}", "x{pod=~\"p-1\"}", true},
    {"x{job!=\"a\",pod=%s # the pod\n}", "x{job!=\"a\",pod=\"p-1\" # the pod\n}", true},
    {"sum(x{pod=%s})%sum(y)", "sum(x{pod=\"p-1\"})%sum(y)", true},
    /* inside strings */
    {"x{pod=\"%s\"} % 2", "x{pod=\"p-1\"} % 2", true},
    {"x{pod=\"%s\"}%sum(y)", "x{pod=\"p-1\"}%sum(y)", true},
    {"x{pod=\"50%\"}", "x{pod=\"50%\"}", false},
    {"x{pod=\"%%\"}", "x{pod=\"%%\"}", false},
    {"x{pod='%s%s'}", "x{pod='p-1p-1'}", true},
    {"x{pod=\"%%s\"}", "x{pod=\"%p-1\"}", true},
};

static void test_percent_s_outside_strings_is_modulo_unless_a_matcher_value(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "p-1"};
    for (size_t i = 0; i < N_(percent_cases); i++) {
        const percent_case *c = &percent_cases[i];
        char *q = fill_ok(c->query, &v);
        if (strcmp(q, c->want))
            fail_msg("%s:\n  got  %s\n  want %s", c->query, q, c->want);
        free(q);
        if (ksiss_promql_uses_pod(c->query) != c->per_pod)
            fail_msg("%s: per_pod should be %d", c->query, c->per_pod);
        /* not per pod: it also fills without any pod known */
        ksiss_promql_vars none = {0};
        char *err = NULL;
        q = ksiss_promql_fill(c->query, &none, &err);
        if (c->per_pod ? q != NULL : q == NULL || strcmp(q, c->query))
            fail_msg("%s without a pod: %s", c->query, q ? q : err);
        free(q);
        free(err);
    }
}

static void test_placeholders_in_comments_are_left_alone(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "p\n) or vector(1"};
    char *q = fill_ok("x{pod=\"%s\"} # per pod: %s\n", &v);
    assert_string_equal(q, "x{pod=\"p\\x0a) or vector(1\"} # per pod: %s\n");
    free(q);
}

typedef struct {
    const char *name;
} hostile_case;

static const hostile_case hostile[] = {
    {"a\"} or vector(1) #"},
    {"a\\"},
    {"a\\\"}"},
    {"x\ny"},
    {"}"},
    {"%s"},
    {"{pod}"},
    {"it's"},
    {".*"},
    {"a|b"},
    {"\xc3\xa9t\xc3\xa9"},
    {"tab\there\r"},
    {""},
};

typedef struct {
    const char *query;
    size_t literal;     /* index of the string literal holding the first value */
    bool regex;
} hostile_template;

static const hostile_template hostile_templates[] = {
    {"rate(x{pod=\"%s\"}[1m])", 0, false},
    {"rate(x{pod='%s'}[1m])", 0, false},
    {"x{pod=~\"%s\"} / x{pod!~'{pod}'}", 0, true},
    {"label_replace(x, \"dst\", \"%s\", \"src\", \"(.*)\")", 1, false},
    {"sum(x{namespace=\"{namespace}\",service=\"{service}\",pod=\"{pod}\"})", 0, false},
};

/* Every hostile name, in every kind of string, leaves the token structure
 * of the query exactly as a harmless name does, and the literal decodes
 * back to the name (regex-escaped after =~ / !~). */
static void test_hostile_names_never_change_the_query_structure(void **state)
{
    (void)state;
    for (size_t t = 0; t < N_(hostile_templates); t++) {
        ksiss_promql_vars plain = {.pod = "pod", .service = "svc", .namespace_name = "ns"};
        const hostile_template *ht = &hostile_templates[t];
        char *ref = fill_ok(ht->query, &plain);
        char *ref_shape = shape_of(ref);
        for (size_t h = 0; h < N_(hostile); h++) {
            const char *name = hostile[h].name;
            ksiss_promql_vars v = {.pod = name, .service = name, .namespace_name = name};
            char *q = fill_ok(ht->query, &v);
            char *s = shape_of(q);
            if (strcmp(s, ref_shape))
                fail_msg("template %zu, name %zu changed the query:\n  %s\n  %s", t, h, q, s);
            char *lit = NULL;
            assert_int_equal(ksiss_promql_string_at(q, ht->literal, &lit), 0);
            if (!ht->regex && strcmp(lit, name))
                fail_msg("template %zu: literal decodes to '%s', want '%s'", t, lit, name);
            free(lit);
            free(s);
            free(q);
        }
        free(ref_shape);
        free(ref);
    }
}

static void test_regex_matcher_value_is_escaped_to_match_literally(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "a.b*c|d"};
    char *q = fill_ok("x{pod=~\"%s\"}", &v);
    char *lit = NULL;
    assert_int_equal(ksiss_promql_string_at(q, 0, &lit), 0);
    assert_string_equal(lit, "a\\.b\\*c\\|d");
    free(lit);
    free(q);
}

/* A placeholder outside quotes after =~ becomes a regex literal too: a pod
 * named ".*" must not select every pod (found by fuzz_promql). */
static void test_unquoted_placeholder_after_regex_match_is_regex_escaped(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = ".*", .revision = "a|b"};
    char *q = fill_ok("x{pod=~%s, rev!~{revision}}", &v);
    assert_string_equal(q, "x{pod=~\"\\\\.\\\\*\", rev!~\"a\\\\|b\"}");
    free(q);
}

static void test_backquote_in_a_raw_string_value_is_refused(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "a`b"};
    char *err = NULL;
    assert_null(ksiss_promql_fill("x{pod=`%s`}", &v, &err));
    assert_non_null(strstr(err, "backquote"));
    free(err);
}

static void test_unknown_placeholder_value_is_an_error_naming_it(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.service = "svc"};
    char *err = NULL;
    assert_null(ksiss_promql_fill("x{revision=\"{revision}\"}", &v, &err));
    assert_non_null(strstr(err, "revision"));
    free(err);
}

static void test_unterminated_string_is_an_error(void **state)
{
    (void)state;
    ksiss_promql_vars v = {.pod = "p"};
    char *err = NULL;
    assert_null(ksiss_promql_fill("x{pod=\"%s}", &v, &err));
    assert_non_null(strstr(err, "unterminated"));
    free(err);
}

typedef struct {
    const char *query;
    bool per_pod;
} uses_case;

static const uses_case uses_cases[] = {
    {"x{pod=\"%s\"}", true},
    {"x{pod=\"{pod}\"}", true},
    {"x{pod=%s}", true},
    {"sum(rate(vllm:generation_tokens_total{service=\"{service}\"}[1m]))", false},
    {"x # %s in a comment", false},
    {"x{pod=\"%%\"}", false},
};

static void test_per_pod_queries_are_recognised(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(uses_cases); i++)
        if (ksiss_promql_uses_pod(uses_cases[i].query) != uses_cases[i].per_pod)
            fail_msg("%s: per_pod should be %d", uses_cases[i].query, uses_cases[i].per_pod);
}

/* ---- batching ---- */

typedef struct {
    const char *query;
    int rc;                 /* 1 batched, 0 per pod */
    const char *want;       /* batched query, or a part of the reason */
    const char *label;
} batch_case;

static const batch_case batch_cases[] = {
    /* a gauge per pod */
    {"vllm:num_requests_waiting{pod=\"%s\"}", 1, "vllm:num_requests_waiting{pod=~\"a-1|b-2\"}", "pod"},
    /* the original's ratio of increases, %s twice: both sides keep pod */
    {"increase(tgi_request_mean_time_per_token_duration_sum{pod=\"%s\"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod=\"%s\"}[1m])",
     1, "increase(tgi_request_mean_time_per_token_duration_sum{pod=~\"a-1|b-2\"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod=~\"a-1|b-2\"}[1m])", "pod"},
    /* histogram_quantile over a sum by (le): pod is added to the grouping */
    {"histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{pod=\"{pod}\"}[1m])))",
     1, "histogram_quantile(0.95, sum by (le, pod) (rate(vllm:time_to_first_token_seconds_bucket{pod=~\"a-1|b-2\"}[1m])))", "pod"},
    /* an aggregation without modifier gets by (pod) */
    {"sum(rate(vllm:generation_tokens_total{pod=\"%s\"}[1m]))", 1,
     "sum by (pod)(rate(vllm:generation_tokens_total{pod=~\"a-1|b-2\"}[1m]))", "pod"},
    /* postfix by */
    {"sum(rate(x_bucket{pod=\"%s\"}[1m])) by (le)", 1, "sum(rate(x_bucket{pod=~\"a-1|b-2\"}[1m])) by (le, pod)", "pod"},
    /* by () */
    {"max by () (x{pod=\"%s\"})", 1, "max by (pod) (x{pod=~\"a-1|b-2\"})", "pod"},
    /* by already naming pod */
    {"avg by (pod) (x{pod=\"%s\"})", 1, "avg by (pod) (x{pod=~\"a-1|b-2\"})", "pod"},
    /* without not naming pod */
    {"avg without (instance) (x{pod=\"%s\"})", 1, "avg without (instance) (x{pod=~\"a-1|b-2\"})", "pod"},
    /* another pod label name */
    {"tgi_queue_size{kubernetes_pod_name=\"%s\",namespace=\"{namespace}\"}", 1,
     "tgi_queue_size{kubernetes_pod_name=~\"a-1|b-2\",namespace=\"ml\"}", "kubernetes_pod_name"},
    /* subquery and offset */
    {"max_over_time(rate(x{pod=\"%s\"}[1m])[5m:30s]) offset 1m", 1,
     "max_over_time(rate(x{pod=~\"a-1|b-2\"}[1m])[5m:30s]) offset 1m", "pod"},
    /* arithmetic with numbers and a matched binary operation */
    {"100 * x{pod=\"%s\"} / on (pod, container) y{pod=\"%s\"}", 1,
     "100 * x{pod=~\"a-1|b-2\"} / on (pod, container) y{pod=~\"a-1|b-2\"}", "pod"},
    /* not batched */
    {"max without (pod) (x{pod=\"%s\"})", 0, "drops the pod label", NULL},
    {"x{pod=\"%s\"} / on (instance) y{pod=\"%s\"}", 0, "matches on labels", NULL},
    {"x{pod=\"%s\"} / ignoring (pod) y{pod=\"%s\"}", 0, "ignores the pod label", NULL},
    {"x{pod=\"%s\"} / y", 0, "selector y has no pod matcher", NULL},
    {"x{pod=\"%s\"} / y{job=\"a\"}", 0, "selector has no pod matcher", NULL},
    {"x{pod=~\"%s\"}", 0, "equality matcher", NULL},
    {"x{pod=\"%s-0\"}", 0, "equality matcher", NULL},
    {"x{pod=%s}", 0, "outside a string", NULL},
    /* PromQL's modulo before a name is no placeholder */
    {"sum(x{pod=\"%s\"})%sum(y{pod=\"%s\"})", 1, "sum by (pod)(x{pod=~\"a-1|b-2\"})%sum by (pod)(y{pod=~\"a-1|b-2\"})", "pod"},
    {"label_replace(x{pod=\"%s\"}, \"a\", \"$1\", \"b\", \"(.*)\")", 0, "label_replace", NULL},
    {"topk(1, x{pod=\"%s\"})", 0, "topk", NULL},
    {"scalar(x{pod=\"%s\"})", 0, "scalar", NULL},
    {"x{pod=\"%s\"} and y{pod_name=\"%s\"}", 0, "different labels", NULL},
    {"sum(rate(x{service=\"{service}\"}[1m]))", 0, "no pod placeholder", NULL},
};

static void test_each_query_shape_is_batched_or_falls_back_with_a_reason(void **state)
{
    (void)state;
    const char *pods[] = {"a-1", "b-2"};
    ksiss_promql_vars v = {.service = "svc", .namespace_name = "ml"};
    for (size_t i = 0; i < N_(batch_cases); i++) {
        const batch_case *c = &batch_cases[i];
        char *q = NULL, *label = NULL, *why = NULL;
        int rc = ksiss_promql_batch(c->query, &v, pods, 2, &q, &label, &why);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->query, rc, c->rc, why ? why : q);
        if (rc == 1) {
            if (strcmp(q, c->want))
                fail_msg("%s:\n  got  %s\n  want %s", c->query, q, c->want);
            assert_string_equal(label, c->label);
        } else if (!why || !strstr(why, c->want)) {
            fail_msg("%s: reason '%s' does not mention '%s'", c->query, why ? why : "(none)", c->want);
        }
        free(q);
        free(label);
        free(why);
    }
}

static void test_batched_alternation_escapes_hostile_pod_names(void **state)
{
    (void)state;
    const char *pods[] = {"a.b", "c\"d})", "e|f\\"};
    ksiss_promql_vars v = {0};
    char *q = NULL, *label = NULL, *why = NULL;
    assert_int_equal(ksiss_promql_batch("sum(x{pod=\"%s\"})", &v, pods, 3, &q, &label, &why), 1);
    char *lit = NULL;
    assert_int_equal(ksiss_promql_string_at(q, 0, &lit), 0);
    assert_string_equal(lit, "a\\.b|c\"d\\}\\)|e\\|f\\\\");
    char *s = shape_of(q);
    assert_string_equal(s, "sum by ( pod ) ( x { pod =~ str } )");
    free(s);
    free(lit);
    free(q);
    free(label);
    free(why);
}

static void test_batch_of_an_unterminated_query_is_an_error(void **state)
{
    (void)state;
    const char *pods[] = {"a"};
    ksiss_promql_vars v = {0};
    char *q = NULL, *label = NULL, *why = NULL;
    assert_int_equal(ksiss_promql_batch("x{pod=\"%s}", &v, pods, 1, &q, &label, &why), -1);
    assert_non_null(strstr(why, "unterminated"));
    assert_null(q);
    free(why);
}

/* ---- results ---- */

typedef struct {
    const char *what;
    ksiss_aggregate agg;
    ksiss_promql_sample samples[4];
    size_t n;
    ksiss_pod_value want[3];    /* pods a, b, c */
} spread_case;

#define P(v) {true, (v), NULL}
#define M(w) {false, NAN, (w)}

static const spread_case spread_cases[] = {
    {"one sample per pod, c absent", KSISS_AGG_MAX, {{"a", 1, NULL}, {"b", 3, NULL}}, 2, {P(1), P(3), M("no sample for this pod")}},
    {"NaN and infinities are named", KSISS_AGG_MAX, {{"a", NAN, NULL}, {"b", INFINITY, NULL}, {"c", -INFINITY, NULL}}, 3,
     {M("NaN"), M("+Inf"), M("-Inf")}},
    {"a finite sample wins over a NaN one", KSISS_AGG_MAX, {{"a", NAN, NULL}, {"a", 2, NULL}}, 2, {P(2), M("no sample for this pod"), M("no sample for this pod")}},
    {"several samples of a pod: max", KSISS_AGG_MAX, {{"a", 1, NULL}, {"a", 5, NULL}, {"b", 2, NULL}}, 3, {P(5), P(2), M("no sample for this pod")}},
    {"several samples of a pod: sum", KSISS_AGG_SUM, {{"a", 1, NULL}, {"a", 5, NULL}}, 2, {P(6), M("no sample for this pod"), M("no sample for this pod")}},
    {"several samples of a pod: avg", KSISS_AGG_AVG, {{"a", 1, NULL}, {"a", 5, NULL}}, 2, {P(3), M("no sample for this pod"), M("no sample for this pod")}},
    {"samples of unknown pods and without pod label are ignored", KSISS_AGG_MAX, {{"zz", 1, NULL}, {NULL, 2, NULL}, {"c", 0, NULL}}, 3,
     {M("no sample for this pod"), M("no sample for this pod"), P(0)}},
};

static void test_samples_are_spread_over_pods(void **state)
{
    (void)state;
    const char *pods[] = {"a", "b", "c"};
    for (size_t i = 0; i < N_(spread_cases); i++) {
        const spread_case *c = &spread_cases[i];
        ksiss_pod_value got[3];
        ksiss_promql_spread(c->samples, c->n, pods, 3, c->agg, got);
        for (size_t p = 0; p < 3; p++) {
            if (got[p].present != c->want[p].present)
                fail_msg("%s: pod %s present=%d", c->what, pods[p], got[p].present);
            if (got[p].present && got[p].value != c->want[p].value)
                fail_msg("%s: pod %s value %g, want %g", c->what, pods[p], got[p].value, c->want[p].value);
            if (!got[p].present && strcmp(got[p].why_missing, c->want[p].why_missing))
                fail_msg("%s: pod %s why '%s', want '%s'", c->what, pods[p], got[p].why_missing, c->want[p].why_missing);
        }
    }
}

typedef struct {
    const char *what;
    ksiss_aggregate agg;
    ksiss_pod_value in[3];
    size_t n;
    ksiss_pod_value want;
} combine_case;

static const combine_case combine_cases[] = {
    {"max of present pods", KSISS_AGG_MAX, {P(1), P(4), M("x")}, 3, P(4)},
    {"avg of present pods", KSISS_AGG_AVG, {P(1), P(4), M("x")}, 3, P(2.5)},
    {"sum of present pods", KSISS_AGG_SUM, {P(1), P(4), P(0.5)}, 3, P(5.5)},
    {"nothing read is an empty result", KSISS_AGG_MAX, {{0}}, 0, M("empty result")},
    {"a single NaN keeps its name", KSISS_AGG_MAX, {M("NaN")}, 1, M("NaN")},
    {"no pod with a value is missing, never zero", KSISS_AGG_SUM, {M("NaN"), M("no sample for this pod")}, 2,
     M("no usable value from any pod")},
};

static void test_pod_values_are_aggregated_over_present_pods(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(combine_cases); i++) {
        const combine_case *c = &combine_cases[i];
        ksiss_pod_value got = ksiss_promql_combine(c->in, c->n, c->agg);
        if (got.present != c->want.present)
            fail_msg("%s: present=%d", c->what, got.present);
        if (got.present && fabs(got.value - c->want.value) > 1e-12)
            fail_msg("%s: value %g, want %g", c->what, got.value, c->want.value);
        if (!got.present && strcmp(got.why_missing, c->want.why_missing))
            fail_msg("%s: why '%s', want '%s'", c->what, got.why_missing, c->want.why_missing);
        if (!got.present && !isnan(got.value))
            fail_msg("%s: a missing value must be NaN, not %g", c->what, got.value);
    }
}

/* ---- batching across services ---- */

static void test_placeholder_mask_names_every_placeholder_used(void **state)
{
    (void)state;
    assert_int_equal(ksiss_promql_placeholders("sum(x)"), 0);
    assert_int_equal(ksiss_promql_placeholders("x{pod=\"%s\"}"), KSISS_PROMQL_PH_POD);
    assert_int_equal(ksiss_promql_placeholders("x{service=\"{service}\",namespace=\"{namespace}\"}"),
                     KSISS_PROMQL_PH_SERVICE | KSISS_PROMQL_PH_NAMESPACE);
    assert_int_equal(ksiss_promql_placeholders("x{revision={revision}} # {pod} in a comment"),
                     KSISS_PROMQL_PH_REVISION);
}

typedef struct {
    const char *query;
    unsigned key;
    int rc;
    const char *want;       /* rc 1: the query; rc 0: part of the reason */
    const char *label;
} keyed_case;

static const keyed_case keyed_cases[] = {
    {"sum(rate(requests_total{service=\"{service}\",namespace=\"{namespace}\"}[1m]))", KSISS_PROMQL_PH_SERVICE, 1,
     "sum by (service)(rate(requests_total{service=~\"llama|mistral\",namespace=\"ml\"}[1m]))", "service"},
    {"histogram_quantile(0.95, sum by (le) (rate(ttft_bucket{revision_name=\"{revision}\"}[1m])))",
     KSISS_PROMQL_PH_REVISION, 1,
     "histogram_quantile(0.95, sum by (le, revision_name) (rate(ttft_bucket{revision_name=~\"llama|mistral\"}[1m])))",
     "revision_name"},
    {"vllm:num_requests_waiting{service=\"{service}\"}", KSISS_PROMQL_PH_SERVICE, 1,
     "vllm:num_requests_waiting{service=~\"llama|mistral\"}", "service"},
    {"sum(a{service=\"{service}\"}) / sum(b{service=\"{service}\"})", KSISS_PROMQL_PH_SERVICE, 1,
     "sum by (service)(a{service=~\"llama|mistral\"}) / sum by (service)(b{service=~\"llama|mistral\"})", "service"},
    /* not batched across services */
    {"sum(x{pod=~\"{service}-.*\"})", KSISS_PROMQL_PH_SERVICE, 0, "equality matcher", NULL},
    {"sum(x{service=\"{service}\"}) / sum(y)", KSISS_PROMQL_PH_SERVICE, 0, "selector y has no service matcher", NULL},
    {"max without (service) (x{service=\"{service}\"})", KSISS_PROMQL_PH_SERVICE, 0, "drops the service label", NULL},
    {"x{service=\"{service}\"} or y{app=\"{service}\"}", KSISS_PROMQL_PH_SERVICE, 0, "different labels", NULL},
    {"topk(1, x{service=\"{service}\"})", KSISS_PROMQL_PH_SERVICE, 0, "topk", NULL},
    {"sum(x{pod=\"%s\"})", KSISS_PROMQL_PH_SERVICE, 0, "no service placeholder", NULL},
};

static void test_each_query_shape_is_batched_across_services_or_falls_back_with_a_reason(void **state)
{
    (void)state;
    const char *names[] = {"llama", "mistral"};
    ksiss_promql_vars v = {.namespace_name = "ml"};
    for (size_t i = 0; i < N_(keyed_cases); i++) {
        const keyed_case *c = &keyed_cases[i];
        char *q = NULL, *label = NULL, *why = NULL;
        int rc = ksiss_promql_batch_keyed(c->query, &v, c->key, names, 2, &q, &label, &why);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->query, rc, c->rc, why ? why : q);
        if (rc == 1) {
            if (strcmp(q, c->want))
                fail_msg("%s:\n  got  %s\n  want %s", c->query, q, c->want);
            assert_string_equal(label, c->label);
        } else if (!why || !strstr(why, c->want)) {
            fail_msg("%s: reason '%s' does not mention '%s'", c->query, why ? why : "(none)", c->want);
        }
        free(q);
        free(label);
        free(why);
    }
}

static void test_hostile_service_names_never_change_a_batched_query(void **state)
{
    (void)state;
    const char *names[] = {"a.b", "x\"}) or vector(1) #", "e|f\\", "`"};
    ksiss_promql_vars v = {.namespace_name = "ml"};
    char *q = NULL, *label = NULL, *why = NULL;
    assert_int_equal(ksiss_promql_batch_keyed("sum(rate(r{service=\"{service}\",namespace=\"{namespace}\"}[1m]))", &v,
                                              KSISS_PROMQL_PH_SERVICE, names, 4, &q, &label, &why), 1);
    char *s = shape_of(q);
    assert_string_equal(s, "sum by ( service ) ( rate ( r { service =~ str , namespace = str } [1m] ) )");
    char *lit = NULL;
    assert_int_equal(ksiss_promql_string_at(q, 0, &lit), 0);
    assert_string_equal(lit, "a\\.b|x\"\\}\\) or vector\\(1\\) #|e\\|f\\\\|`");
    free(lit);
    free(s);
    free(q);
    free(label);
    free(why);
}

static void test_keyed_batch_refuses_the_namespace_as_key(void **state)
{
    (void)state;
    const char *names[] = {"ml"};
    ksiss_promql_vars v = {0};
    char *q = NULL, *label = NULL, *why = NULL;
    assert_int_equal(ksiss_promql_batch_keyed("x{namespace=\"{namespace}\"}", &v, KSISS_PROMQL_PH_NAMESPACE, names, 1,
                                              &q, &label, &why), -1);
    assert_null(q);
    assert_non_null(why);
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_original_ratio_query_replaces_every_percent_s),
        cmocka_unit_test(test_named_placeholders_are_filled),
        cmocka_unit_test(test_placeholder_outside_a_string_becomes_a_string_literal),
        cmocka_unit_test(test_percent_s_outside_strings_is_modulo_unless_a_matcher_value),
        cmocka_unit_test(test_placeholders_in_comments_are_left_alone),
        cmocka_unit_test(test_hostile_names_never_change_the_query_structure),
        cmocka_unit_test(test_regex_matcher_value_is_escaped_to_match_literally),
        cmocka_unit_test(test_unquoted_placeholder_after_regex_match_is_regex_escaped),
        cmocka_unit_test(test_backquote_in_a_raw_string_value_is_refused),
        cmocka_unit_test(test_unknown_placeholder_value_is_an_error_naming_it),
        cmocka_unit_test(test_unterminated_string_is_an_error),
        cmocka_unit_test(test_per_pod_queries_are_recognised),
        cmocka_unit_test(test_each_query_shape_is_batched_or_falls_back_with_a_reason),
        cmocka_unit_test(test_batched_alternation_escapes_hostile_pod_names),
        cmocka_unit_test(test_batch_of_an_unterminated_query_is_an_error),
        cmocka_unit_test(test_samples_are_spread_over_pods),
        cmocka_unit_test(test_pod_values_are_aggregated_over_present_pods),
        cmocka_unit_test(test_placeholder_mask_names_every_placeholder_used),
        cmocka_unit_test(test_each_query_shape_is_batched_across_services_or_falls_back_with_a_reason),
        cmocka_unit_test(test_hostile_service_names_never_change_a_batched_query),
        cmocka_unit_test(test_keyed_batch_refuses_the_namespace_as_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
