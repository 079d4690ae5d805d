/* test_metrics.c: the metrics registry (set/add/observe by type, label
 * checks, removal of a vanished service's series), its text-format
 * rendering (HELP/TYPE, label escaping, histogram buckets, NaN/Inf), and the
 * exporter's HTTP endpoints on a free loopback port. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "shell/exporter.h"
#include "shell/metrics.h"

static int setup(void **state)
{
    *state = ksiss_metrics_new();
    return 0;
}

static int teardown(void **state)
{
    ksiss_metrics_free(*state);
    return 0;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected to find\n  %s\nin\n%s", part, text);
}

static void assert_lacks(const char *text, const char *part)
{
    if (strstr(text, part))
        fail_msg("did not expect\n  %s\nin\n%s", part, text);
}

static void test_every_metric_has_help_and_type_lines(void **state)
{
    char *text = ksiss_metrics_render(*state);
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        const ksiss_metric_def *d = &ksiss_metric_defs[id];
        char *help = ksiss_xasprintf("# HELP %s ", d->name);
        char *type = ksiss_xasprintf("# TYPE %s %s\n", d->name,
                                     d->type == KSISS_MT_GAUGE ? "gauge" : d->type == KSISS_MT_COUNTER ? "counter" : "histogram");
        assert_contains(text, help);
        assert_contains(text, type);
        free(help);
        free(type);
    }
    free(text);
}

static void test_metric_names_follow_the_conventions(void **state)
{
    (void)state;
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        const ksiss_metric_def *d = &ksiss_metric_defs[id];
        if (id == KSISS_M_LEGACY_GPU_RESOURCE)
            continue;
        if (!ksiss_str_has_prefix(d->name, "ksiss_"))
            fail_msg("%s lacks the ksiss_ prefix", d->name);
        if (d->type == KSISS_MT_COUNTER && !ksiss_str_has_suffix(d->name, "_total"))
            fail_msg("counter %s does not end in _total", d->name);
        if (d->type == KSISS_MT_HISTOGRAM && !ksiss_str_has_suffix(d->name, "_seconds"))
            fail_msg("histogram %s has no unit", d->name);
    }
    assert_string_equal(ksiss_metric_defs[KSISS_M_LEGACY_GPU_RESOURCE].name, "KubeComp_gpu_resource");
}

static void test_unlabelled_series_exist_from_the_start(void **state)
{
    char *text = ksiss_metrics_render(*state);
    assert_contains(text, "\nksiss_leader 0\n");
    assert_contains(text, "\nksiss_prometheus_query_duration_seconds_count 0\n");
    assert_contains(text, "ksiss_build_info{version=\"");
    free(text);
}

static void test_gauge_set_and_counter_add_render_their_values(void **state)
{
    ksiss_metrics *m = *state;
    assert_int_equal(ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "llama", "ttft"), 0.25), 0);
    assert_int_equal(ksiss_metrics_add(m, KSISS_M_DECISIONS_TOTAL, KSISS_LABELS("ml", "llama", "up", "slo_breach"), 1), 0);
    assert_int_equal(ksiss_metrics_add(m, KSISS_M_DECISIONS_TOTAL, KSISS_LABELS("ml", "llama", "up", "slo_breach"), 2), 0);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "\nksiss_metric_value{namespace=\"ml\",service=\"llama\",metric=\"ttft\"} 0.25\n");
    assert_contains(text, "\nksiss_decisions_total{namespace=\"ml\",service=\"llama\",action=\"up\",reason=\"slo_breach\"} 3\n");
    free(text);
}

typedef struct {
    const char *what;
    ksiss_metric_id id;
    int op;     /* 0 set, 1 add, 2 observe */
    double x;
} misuse_case;

static const misuse_case misuse[] = {
    {"set on a counter", KSISS_M_DECISIONS_TOTAL, 0, 1},
    {"observe on a gauge", KSISS_M_METRIC_VALUE, 2, 1},
    {"add on a histogram", KSISS_M_TRANSITION_DURATION, 1, 1},
    {"negative counter increment", KSISS_M_DECISIONS_TOTAL, 1, -1},
    {"NaN counter increment", KSISS_M_DECISIONS_TOTAL, 1, NAN},
};

static void test_operations_of_the_wrong_type_are_refused(void **state)
{
    ksiss_metrics *m = *state;
    const char *const *l = KSISS_LABELS("a", "b", "c", "d");
    for (size_t i = 0; i < sizeof(misuse) / sizeof(misuse[0]); i++) {
        const misuse_case *c = &misuse[i];
        int rc = c->op == 0 ? ksiss_metrics_set(m, c->id, l, c->x)
               : c->op == 1 ? ksiss_metrics_add(m, c->id, l, c->x)
                            : ksiss_metrics_observe(m, c->id, l, c->x);
        if (rc != -1)
            fail_msg("%s was accepted", c->what);
        double v;
        if (ksiss_metrics_get(m, c->id, l, &v) == 0)
            fail_msg("%s created a series", c->what);
    }
}

static void test_missing_label_value_is_refused(void **state)
{
    ksiss_metrics *m = *state;
    assert_int_equal(ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", NULL, "ttft"), 1), -1);
    assert_int_equal(ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, NULL, 1), -1);
}

static void test_label_values_are_escaped(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ns", "s\"v\\c", "line\nbreak"), 1);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "ksiss_metric_value{namespace=\"ns\",service=\"s\\\"v\\\\c\",metric=\"line\\nbreak\"} 1\n");
    free(text);
}

static void test_values_render_as_the_format_spells_them_and_round_trip(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ns", "a", "m"), NAN);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ns", "b", "m"), INFINITY);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ns", "c", "m"), -INFINITY);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ns", "d", "m"), 0.1);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ns", "e", "m"), 1.0 / 3.0);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "service=\"a\",metric=\"m\"} NaN\n");
    assert_contains(text, "service=\"b\",metric=\"m\"} +Inf\n");
    assert_contains(text, "service=\"c\",metric=\"m\"} -Inf\n");
    assert_contains(text, "service=\"d\",metric=\"m\"} 0.1\n");
    assert_contains(text, "service=\"e\",metric=\"m\"} 0.3333333333333333\n");
    free(text);
}

static void test_histogram_buckets_are_cumulative_with_sum_and_count(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_metrics_observe(m, KSISS_M_PROM_QUERY_DURATION, NULL, 0.003);
    ksiss_metrics_observe(m, KSISS_M_PROM_QUERY_DURATION, NULL, 0.2);
    ksiss_metrics_observe(m, KSISS_M_PROM_QUERY_DURATION, NULL, 60);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_bucket{le=\"0.005\"} 1\n");
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_bucket{le=\"0.1\"} 1\n");
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_bucket{le=\"0.25\"} 2\n");
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_bucket{le=\"10\"} 2\n");
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_bucket{le=\"+Inf\"} 3\n");
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_sum 60.203\n");
    assert_contains(text, "ksiss_prometheus_query_duration_seconds_count 3\n");
    free(text);
}

static void test_labelled_histogram_puts_le_last(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_metrics_observe(m, KSISS_M_TRANSITION_DURATION, KSISS_LABELS("ml", "llama", "done"), 42);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "ksiss_transition_duration_seconds_bucket{namespace=\"ml\",service=\"llama\",outcome=\"done\",le=\"60\"} 1\n");
    assert_contains(text, "ksiss_transition_duration_seconds_bucket{namespace=\"ml\",service=\"llama\",outcome=\"done\",le=\"30\"} 0\n");
    free(text);
}

static void test_a_vanished_service_loses_all_its_series(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "llama", "ttft"), 1);
    ksiss_metrics_set(m, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS("ml", "llama", "ready"), 2);
    ksiss_metrics_add(m, KSISS_M_DECISIONS_TOTAL, KSISS_LABELS("ml", "llama", "hold", "within_slo"), 1);
    ksiss_metrics_observe(m, KSISS_M_TRANSITION_DURATION, KSISS_LABELS("ml", "llama", "done"), 3);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "gpt2", "ttft"), 1);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("other", "llama", "ttft"), 1);
    assert_int_equal(ksiss_metrics_remove_service(m, "ml", "llama"), 4);
    char *text = ksiss_metrics_render(m);
    assert_lacks(text, "namespace=\"ml\",service=\"llama\"");
    assert_contains(text, "namespace=\"ml\",service=\"gpt2\"");
    assert_contains(text, "namespace=\"other\",service=\"llama\"");
    free(text);
}

static void test_remove_drops_one_series(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_metrics_set(m, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS("gpt2-00001"), 3);
    double v = 0;
    assert_int_equal(ksiss_metrics_get(m, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS("gpt2-00001"), &v), 0);
    assert_true(v == 3);
    assert_int_equal(ksiss_metrics_remove(m, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS("gpt2-00001")), 1);
    assert_int_equal(ksiss_metrics_remove(m, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS("gpt2-00001")), 0);
    assert_int_equal(ksiss_metrics_get(m, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS("gpt2-00001"), &v), -1);
}

static bool pod_odd(const char *const *labels, void *ud)
{
    (void)ud;
    size_t n = strlen(labels[3]);
    return (labels[3][n - 1] - '0') % 2 == 1;
}

/* Thousands of services: every series stays reachable by its labels
 * through growth and removals (the registry's hash index), and a group
 * removal touches only the service it names. */
static void test_many_series_stay_findable_through_growth_and_removals(void **state)
{
    ksiss_metrics *m = *state;
    char svc[32], pod[32];
    for (int s = 0; s < 3000; s++) {
        snprintf(svc, sizeof(svc), "svc-%d", s);
        for (int p = 0; p < 4; p++) {
            snprintf(pod, sizeof(pod), "svc-%d-pod-%d", s, p);
            assert_int_equal(ksiss_metrics_set(m, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", svc, "q", pod), s * 10 + p), 0);
        }
    }
    /* svc-7: drop the odd pods only */
    assert_int_equal(ksiss_metrics_remove_if_group(m, KSISS_M_METRIC_POD_VALUE, "ml", "svc-7", pod_odd, NULL), 2);
    assert_int_equal(ksiss_metrics_remove_if_group(m, KSISS_M_METRIC_POD_VALUE, "other", "svc-7", pod_odd, NULL), 0);
    /* every 3rd service vanishes */
    for (int s = 0; s < 3000; s += 3) {
        snprintf(svc, sizeof(svc), "svc-%d", s);
        assert_int_equal(ksiss_metrics_remove_service(m, "ml", svc), 4);
    }
    for (int s = 0; s < 3000; s++) {
        snprintf(svc, sizeof(svc), "svc-%d", s);
        for (int p = 0; p < 4; p++) {
            snprintf(pod, sizeof(pod), "svc-%d-pod-%d", s, p);
            double v = -1;
            int rc = ksiss_metrics_get(m, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", svc, "q", pod), &v);
            bool gone = s % 3 == 0 || (s == 7 && p % 2 == 1);
            if (gone ? rc != -1 : (rc != 0 || v != s * 10 + p))
                fail_msg("%s: rc %d value %g", pod, rc, v);
        }
    }
    /* set after removals updates the one series, adds none */
    assert_int_equal(ksiss_metrics_set(m, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "svc-8", "q", "svc-8-pod-1"), 5), 0);
    char *text = ksiss_metrics_render(m);
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "ksiss_metric_pod_value{")); p++)
        n++;
    assert_int_equal(n, 2000 * 4 - 2);
    assert_contains(text, "pod=\"svc-8-pod-1\"} 5\n");
    free(text);
}

/* ---- exporter over HTTP ---- */

typedef struct {
    long status;
    char *type;
    ksiss_strbuf body;
} http_reply;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    ksiss_sb_append(ud, p, size * n);
    return size * n;
}

static http_reply http_get(int port, const char *path)
{
    http_reply r = {0};
    ksiss_sb_init(&r.body, 0);
    char *url = ksiss_xasprintf("http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    if (curl_easy_perform(h) != CURLE_OK)
        fail_msg("GET %s failed", url);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    r.type = ksiss_xstrdup(ct);
    curl_easy_cleanup(h);
    free(url);
    return r;
}

static void reply_free(http_reply *r)
{
    free(r->type);
    ksiss_sb_free(&r->body);
}

static ksiss_exporter *start_exporter(ksiss_metrics *m)
{
    char *err = NULL;
    ksiss_exporter *e = ksiss_exporter_start("127.0.0.1:0", m, &err);
    if (!e)
        fail_msg("exporter did not start: %s", err);
    assert_true(ksiss_exporter_port(e) > 0);
    return e;
}

static void test_exporter_serves_metrics_in_text_format(void **state)
{
    ksiss_metrics *m = *state;
    ksiss_exporter *e = start_exporter(m);
    ksiss_metrics_set(m, KSISS_M_LEADER, NULL, 1);
    /* Enough series that the streamed body spans many 64 KiB blocks. */
    char svc[32];
    for (int i = 0; i < 6000; i++) {
        snprintf(svc, sizeof svc, "service-%04d", i);
        ksiss_metrics_set(m, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS("ns", svc, "ready"), i);
    }
    http_reply r = http_get(ksiss_exporter_port(e), "/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    assert_contains(ksiss_sb_str(&r.body), "\nksiss_leader 1\n");
    /* Streamed a family at a time, it is exactly the rendered text. */
    char *whole = ksiss_metrics_render(m);
    assert_true(strlen(whole) > 3 * 64 * 1024);
    assert_string_equal(ksiss_sb_str(&r.body), whole);
    free(whole);
    reply_free(&r);
    ksiss_exporter_stop(e);
}

static void test_exporter_readiness_follows_the_process(void **state)
{
    ksiss_exporter *e = start_exporter(*state);
    int port = ksiss_exporter_port(e);
    http_reply r = http_get(port, "/readyz");
    assert_int_equal(r.status, 503);
    reply_free(&r);
    ksiss_exporter_set_ready(e, true);
    r = http_get(port, "/readyz");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = http_get(port, "/healthz");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = http_get(port, "/nope");
    assert_int_equal(r.status, 404);
    reply_free(&r);
    ksiss_exporter_stop(e);
}

static void test_port_only_address_listens_on_loopback_too(void **state)
{
    char *err = NULL;
    ksiss_exporter *e = ksiss_exporter_start(":0", *state, &err);
    if (!e)
        fail_msg("':0' did not start: %s", err);
    http_reply r = http_get(ksiss_exporter_port(e), "/healthz");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    ksiss_exporter_stop(e);
}

typedef struct {
    const char *addr;
    const char *why;
} bad_addr_case;

static const bad_addr_case bad_addrs[] = {
    {"8080", "HOST:PORT"},
    {"127.0.0.1:http", "port must be a number"},
    {"127.0.0.1:70000", "port must be a number"},
    {"[::1:80", "unbalanced"},
    {"no-such-host.invalid:80", "cannot resolve"},
};

static void test_bad_listen_addresses_are_refused_with_a_reason(void **state)
{
    for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
        char *err = NULL;
        ksiss_exporter *e = ksiss_exporter_start(bad_addrs[i].addr, *state, &err);
        if (e)
            fail_msg("%s was accepted", bad_addrs[i].addr);
        if (!err || !strstr(err, bad_addrs[i].why))
            fail_msg("%s: message '%s' lacks '%s'", bad_addrs[i].addr, err ? err : "", bad_addrs[i].why);
        free(err);
    }
}

static void test_a_port_in_use_is_refused(void **state)
{
    ksiss_exporter *e = start_exporter(*state);
    char *addr = ksiss_xasprintf("127.0.0.1:%d", ksiss_exporter_port(e));
    char *err = NULL;
    assert_null(ksiss_exporter_start(addr, *state, &err));
    assert_non_null(strstr(err, "cannot listen"));
    free(err);
    free(addr);
    ksiss_exporter_stop(e);
}

/* A label value is stored once however many series carry it, and goes
 * with the last of them. */
static void test_label_values_are_shared_and_freed_with_their_series(void **state)
{
    (void)state;
    ksiss_metrics *m = ksiss_metrics_new();
    size_t base = ksiss_metrics_label_values(m);
    char svc[32];
    for (int i = 0; i < 100; i++) {
        snprintf(svc, sizeof svc, "svc-%03d", i);
        ksiss_metrics_set(m, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS("ns", svc, "ready"), 2);
        ksiss_metrics_set(m, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS("ns", svc, "starting"), 0);
        ksiss_metrics_set(m, KSISS_M_TRANSITIONS_IN_FLIGHT, KSISS_LABELS("ns", svc), 0);
    }
    /* 100 names + "ns" + "ready" + "starting", not 500 copies. */
    assert_int_equal(ksiss_metrics_label_values(m), base + 103);
    for (int i = 0; i < 100; i++) {
        snprintf(svc, sizeof svc, "svc-%03d", i);
        assert_int_equal(ksiss_metrics_remove_service(m, "ns", svc), 3);
    }
    assert_int_equal(ksiss_metrics_label_values(m), base);
    /* Values freed, new ones (reusing their numbers) render as themselves,
     * next to a series that kept its values throughout. */
    ksiss_metrics_set(m, KSISS_M_GPU_FREE, KSISS_LABELS("H100-80GB", "nvidia.com/mig-1g.10gb"), 3);
    for (int i = 0; i < 100; i++) {
        snprintf(svc, sizeof svc, "new-%03d", i);
        ksiss_metrics_set(m, KSISS_M_TRANSITIONS_IN_FLIGHT, KSISS_LABELS("other", svc), i);
    }
    assert_int_equal(ksiss_metrics_label_values(m), base + 103);
    char *text = ksiss_metrics_render(m);
    assert_non_null(strstr(text, "ksiss_transitions_in_flight{namespace=\"other\",service=\"new-042\"} 42\n"));
    assert_non_null(strstr(text, "ksiss_gpu_free{gpu_model=\"H100-80GB\",resource=\"nvidia.com/mig-1g.10gb\"} 3\n"));
    assert_null(strstr(text, "svc-0"));
    free(text);
    ksiss_metrics_free(m);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_metric_has_help_and_type_lines, setup, teardown),
        cmocka_unit_test(test_metric_names_follow_the_conventions),
        cmocka_unit_test(test_label_values_are_shared_and_freed_with_their_series),
        cmocka_unit_test_setup_teardown(test_unlabelled_series_exist_from_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge_set_and_counter_add_render_their_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operations_of_the_wrong_type_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_label_value_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_values_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_render_as_the_format_spells_them_and_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_buckets_are_cumulative_with_sum_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labelled_histogram_puts_le_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_vanished_service_loses_all_its_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_drops_one_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_series_stay_findable_through_growth_and_removals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exporter_serves_metrics_in_text_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exporter_readiness_follows_the_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_only_address_listens_on_loopback_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_listen_addresses_are_refused_with_a_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_port_in_use_is_refused, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
