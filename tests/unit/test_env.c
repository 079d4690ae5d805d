/* test_env.c: the original's environment variables (COMPATIBILITY.md):
 * defaults, accepted spellings, and a clear diagnostic naming the variable
 * for every bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/util.h"
#include "prom_url_cases.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* A fake environment: NULL-terminated name/value pairs. */
static const char *fake_getenv(const char *name, void *ctx)
{
    const char *const *kv = ctx;
    for (size_t i = 0; kv[i]; i += 2)
        if (!strcmp(kv[i], name))
            return kv[i + 1];
    return NULL;
}

static void test_defaults_match_the_original(void **state)
{
    (void)state;
    const char *env[] = {NULL};
    ksiss_env e;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_env_parse(fake_getenv, env, &e, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(e.interval_ms, 10000);
    assert_string_equal(e.namespace_name, "default");
    assert_int_equal(e.n_ignore, 0);
    assert_string_equal(e.config_map_name, "autoscaler-config");
    assert_string_equal(e.prometheus_url,
                        "http://prometheus-kube-prometheus-prometheus.monitoring.svc.cluster.local:9090/api/v1/query");
    assert_string_equal(e.default_cpu, "1");
    assert_string_equal(e.default_memory, "10Gi");
    ksiss_env_free(&e);
    ksiss_diags_free(&d);
}

typedef struct {
    const char *value;
    int64_t want_ms;    /* -1: refused */
} interval_case;

static const interval_case interval_cases[] = {
    {"10", 10000}, {"3", 3000}, {"2.5", 2500}, {"30s", 30000}, {"500ms", 500}, {"1m", 60000},
    {"0", -1}, {"-5", -1}, {"ten", -1}, {"10 s", -1}, {"1e400", -1}, {"nan", -1}, {"48h", -1}, {" 10", -1},
};

static void test_scrape_interval_accepts_seconds_or_durations_and_names_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(interval_cases); i++) {
        const interval_case *c = &interval_cases[i];
        const char *env[] = {"METRICS_SCRAPE_INTERVAL", c->value, NULL};
        ksiss_env e;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_env_parse(fake_getenv, (void *)env, &e, &d);
        if (c->want_ms >= 0) {
            if (rc != 0 || e.interval_ms != c->want_ms)
                fail_msg("%s: rc %d, %lld ms", c->value, rc, (long long)e.interval_ms);
        } else {
            if (rc != -1 || d.n != 1)
                fail_msg("%s accepted", c->value);
            char *s = ksiss_diag_format(&d.v[0]);
            if (strncmp(s, "environment: METRICS_SCRAPE_INTERVAL=\"", 38) != 0)
                fail_msg("%s: %s", c->value, s);
            free(s);
            assert_int_equal(e.interval_ms, 10000);
        }
        ksiss_env_free(&e);
        ksiss_diags_free(&d);
    }
}

static void test_prometheus_url_is_normalized_to_the_query_endpoint(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(prom_url_cases); i++) {
        const prom_url_case *c = &prom_url_cases[i];
        const char *why = NULL;
        char *u = ksiss_prometheus_url_normalize(c->in, &why);
        if (c->out ? !u || strcmp(u, c->out) : u != NULL || !why || !strstr(why, c->why))
            fail_msg("'%s' -> %s (%s)", c->in, u ? u : "refused", why ? why : "");
        if (u) {
            /* idempotent: the normalized URL normalizes to itself */
            char *again = ksiss_prometheus_url_normalize(u, &why);
            if (!again || strcmp(again, u))
                fail_msg("'%s' -> '%s' -> %s", c->in, u, again ? again : why);
            free(again);
        }
        free(u);

        const char *env[] = {"PROMETHEUS_URL", c->in, NULL};
        ksiss_env e;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_env_parse(fake_getenv, (void *)env, &e, &d);
        if (c->out) {
            if (rc != 0 || strcmp(e.prometheus_url, c->out) != 0)
                fail_msg("PROMETHEUS_URL=%s: rc %d -> %s", c->in, rc, e.prometheus_url);
        } else {
            if (rc != -1 || d.n != 1 || !strstr(d.v[0].msg, "PROMETHEUS_URL=") || !strstr(d.v[0].msg, c->why))
                fail_msg("PROMETHEUS_URL=%s: rc %d, %s", c->in, rc, d.n ? d.v[0].msg : "no diagnostic");
        }
        ksiss_env_free(&e);
        ksiss_diags_free(&d);
    }
}

static void test_a_refused_prometheus_url_is_shown_without_its_password(void **state)
{
    (void)state;
    const char *env[] = {"PROMETHEUS_URL", "http://user:s3cret@prom:99999", NULL};
    ksiss_env e;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_env_parse(fake_getenv, (void *)env, &e, &d), -1);
    assert_int_equal(d.n, 1);
    if (strstr(d.v[0].msg, "s3cret") || !strstr(d.v[0].msg, "http://***@prom:99999"))
        fail_msg("%s", d.v[0].msg);
    ksiss_env_free(&e);
    ksiss_diags_free(&d);
}

typedef struct {
    const char *var;
    const char *value;
    bool ok;
} quantity_case;

static const quantity_case quantity_cases[] = {
    {"DEFAULT_CPU", "1", true},        {"DEFAULT_CPU", "500m", true},   {"DEFAULT_CPU", "2.5", true},
    {"DEFAULT_CPU", "1e3", true},      {"DEFAULT_CPU", "0", false},     {"DEFAULT_CPU", "-1", false},
    {"DEFAULT_CPU", "one", false},     {"DEFAULT_CPU", "1 core", false}, {"DEFAULT_MEMORY", "10Gi", true},
    {"DEFAULT_MEMORY", "512Mi", true}, {"DEFAULT_MEMORY", "8G", true},  {"DEFAULT_MEMORY", "10GB", false},
    {"DEFAULT_MEMORY", "10gi", false}, {"DEFAULT_MEMORY", "Gi", false}, {"DEFAULT_MEMORY", "1.5.5Gi", false},
};

static void test_default_resources_must_be_positive_kubernetes_quantities(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(quantity_cases); i++) {
        const quantity_case *c = &quantity_cases[i];
        const char *env[] = {c->var, c->value, NULL};
        ksiss_env e;
        ksiss_diags d;
        ksiss_diags_init(&d);
        int rc = ksiss_env_parse(fake_getenv, (void *)env, &e, &d);
        if (c->ok != (rc == 0))
            fail_msg("%s=%s: rc %d", c->var, c->value, rc);
        if (!c->ok && !strstr(d.v[0].msg, c->var))
            fail_msg("%s=%s: message %s does not name the variable", c->var, c->value, d.v[0].msg);
        ksiss_env_free(&e);
        ksiss_diags_free(&d);
    }
}

static void test_ignore_list_splits_on_commas_and_matches_substrings(void **state)
{
    (void)state;
    const char *env[] = {"IGNORE_LIST", " canary, ,test-,", NULL};
    ksiss_env e;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_env_parse(fake_getenv, (void *)env, &e, &d), 0);
    assert_int_equal(e.n_ignore, 2);
    assert_string_equal(e.ignore[0], "canary");
    assert_string_equal(e.ignore[1], "test-");
    assert_string_equal(ksiss_env_ignored(&e, "llama-canary"), "canary");
    assert_string_equal(ksiss_env_ignored(&e, "test-gpt2"), "test-");
    assert_null(ksiss_env_ignored(&e, "gpt2"));
    ksiss_env_free(&e);
    ksiss_diags_free(&d);
}

/* The controller asks the same function which pattern skipped a service
 * (it logs it); an empty pattern in a hand-built list skips nothing. */
static void test_ignored_names_the_pattern_and_an_empty_one_matches_nothing(void **state)
{
    (void)state;
    char empty[] = "", canary[] = "canary";
    char *patterns[] = {empty, canary};
    ksiss_env e = {.ignore = patterns, .n_ignore = 2};
    assert_null(ksiss_env_ignored(&e, "gpt2"));
    assert_ptr_equal(ksiss_env_ignored(&e, "llama-canary"), canary);
    assert_null(ksiss_env_ignored(NULL, "gpt2"));
    assert_null(ksiss_env_ignored(&e, NULL));
}

static void test_names_are_checked_against_kubernetes_rules(void **state)
{
    (void)state;
    const char *env[] = {"NAMESPACE", "My_Namespace", "CONFIG_MAP_NAME", "ksiss.config-v2", NULL};
    ksiss_env e;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_env_parse(fake_getenv, (void *)env, &e, &d), -1);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.v[0].msg, "NAMESPACE=\"My_Namespace\""));
    assert_string_equal(e.config_map_name, "ksiss.config-v2");
    ksiss_env_free(&e);
    ksiss_diags_free(&d);
}

static void test_empty_variables_take_the_defaults(void **state)
{
    (void)state;
    const char *env[] = {"METRICS_SCRAPE_INTERVAL", "", "NAMESPACE", "", "PROMETHEUS_URL", "", NULL};
    ksiss_env e;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_env_parse(fake_getenv, (void *)env, &e, &d), 0);
    assert_int_equal(e.interval_ms, 10000);
    assert_string_equal(e.namespace_name, "default");
    ksiss_env_free(&e);
    ksiss_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_the_original),
        cmocka_unit_test(test_scrape_interval_accepts_seconds_or_durations_and_names_bad_values),
        cmocka_unit_test(test_prometheus_url_is_normalized_to_the_query_endpoint),
        cmocka_unit_test(test_a_refused_prometheus_url_is_shown_without_its_password),
        cmocka_unit_test(test_default_resources_must_be_positive_kubernetes_quantities),
        cmocka_unit_test(test_ignore_list_splits_on_commas_and_matches_substrings),
        cmocka_unit_test(test_ignored_names_the_pattern_and_an_empty_one_matches_nothing),
        cmocka_unit_test(test_names_are_checked_against_kubernetes_rules),
        cmocka_unit_test(test_empty_variables_take_the_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
