/* test_controller_metrics.c: the series `ksiss run` exports about its
 * services, read on the exporter's text (ksiss_metrics_render): a tier
 * change leaves one ksiss_service_tier_info series, KubeComp_gpu_resource
 * follows the serving revision (a former one's series goes), a service no
 * longer managed leaves nothing, and a replica that does not lead exports
 * no per-service gauge and no GPU inventory while keeping its counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "shell/controller.h"
#include "shell/metrics.h"

static ksiss_tier mig3 = {.name = "mig-3g.40gb", .resource = "nvidia.com/mig-3g.40gb", .count = 1};
static ksiss_tier gpu = {.name = "gpu", .resource = "nvidia.com/gpu", .count = 1};

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

/* The samples of metric `name` in the text (lines starting with name{ or
 * "name "). */
static int samples(const char *text, const char *name)
{
    int n = 0;
    size_t len = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, len) && (p[len] == '{' || p[len] == ' '))
            n++;
    return n;
}

static ksiss_eval eval_at(const ksiss_tier *t, const char *revision, int ready)
{
    ksiss_eval ev;
    memset(&ev, 0, sizeof ev);
    ev.current.tier = t;
    ev.current.replicas_ready = ready;
    ev.revision = revision;
    return ev;
}

static void test_a_tier_change_leaves_one_tier_series(void **state)
{
    (void)state;
    ksiss_metrics *m = ksiss_metrics_new();
    char *rev = NULL;
    ksiss_eval ev = eval_at(&mig3, "llama-00001", 1);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    ev = eval_at(&gpu, "llama-00002", 1);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "ksiss_service_tier_info{namespace=\"ml\",service=\"llama\",tier=\"gpu\","
                          "resource=\"nvidia.com/gpu\"} 1\n");
    assert_lacks(text, "tier=\"mig-3g.40gb\"");
    assert_int_equal(samples(text, "ksiss_service_tier_info"), 1);
    free(text);
    /* Tier unknown now: no tier series at all (not the last one known). */
    ev = eval_at(NULL, "llama-00002", 1);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    text = ksiss_metrics_render(m);
    assert_int_equal(samples(text, "ksiss_service_tier_info"), 0);
    free(text);
    free(rev);
    ksiss_metrics_free(m);
}

static void test_kubecomp_gauge_follows_the_serving_revision(void **state)
{
    (void)state;
    ksiss_metrics *m = ksiss_metrics_new();
    char *rev = NULL, *other = NULL;
    ksiss_eval ev = eval_at(&mig3, "llama-00001", 1);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    ev = eval_at(&gpu, "gpt2-00007", 1);
    ksiss_controller_export_service(m, "ml", "gpt2", &ev, &other);
    char *text = ksiss_metrics_render(m);
    assert_contains(text, "KubeComp_gpu_resource{revision=\"llama-00001\"} 3\n");
    assert_contains(text, "KubeComp_gpu_resource{revision=\"gpt2-00007\"} 1\n");
    free(text);
    /* A tier change: the new revision serves, the former one's series goes
     * (that Revision is deleted once the change completed). */
    for (int i = 0; i < 3; i++) {
        ev = eval_at(&gpu, "llama-00002", 1);
        ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    }
    text = ksiss_metrics_render(m);
    assert_contains(text, "KubeComp_gpu_resource{revision=\"llama-00002\"} 1\n");
    assert_lacks(text, "llama-00001");
    assert_int_equal(samples(text, "KubeComp_gpu_resource"), 2);
    free(text);
    assert_string_equal(rev, "llama-00002");
    /* No serving revision: no series for the service. */
    ev = eval_at(&gpu, NULL, 0);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    assert_null(rev);
    text = ksiss_metrics_render(m);
    assert_lacks(text, "llama-0000");
    assert_contains(text, "gpt2-00007");
    free(text);
    free(other);
    ksiss_metrics_free(m);
}

static void test_a_service_no_longer_managed_leaves_nothing(void **state)
{
    (void)state;
    ksiss_metrics *m = ksiss_metrics_new();
    char *rev = NULL, *other = NULL;
    ksiss_eval ev = eval_at(&mig3, "llama-00001", 2);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    ev = eval_at(&gpu, "gpt2-00007", 1);
    ksiss_controller_export_service(m, "ml", "gpt2", &ev, &other);
    ksiss_metrics_add(m, KSISS_M_DECISIONS_TOTAL, KSISS_LABELS("ml", "llama", "hold", "within_slo"), 1);
    ksiss_controller_forget_service(m, "ml", "llama", rev);
    char *text = ksiss_metrics_render(m);
    assert_lacks(text, "llama");
    assert_contains(text, "KubeComp_gpu_resource{revision=\"gpt2-00007\"} 1\n");
    assert_contains(text, "service=\"gpt2\"");
    free(text);
    free(rev);
    free(other);
    ksiss_metrics_free(m);
}

static void test_a_follower_exports_no_cluster_state(void **state)
{
    (void)state;
    ksiss_metrics *m = ksiss_metrics_new();
    char *rev = NULL;
    ksiss_eval ev = eval_at(&mig3, "llama-00001", 2);
    ksiss_controller_export_service(m, "ml", "llama", &ev, &rev);
    ksiss_metrics_set(m, KSISS_M_METRIC_VALUE, KSISS_LABELS("ml", "llama", "ttft"), 0.2);
    ksiss_metrics_set(m, KSISS_M_METRIC_POD_VALUE, KSISS_LABELS("ml", "llama", "ttft", "llama-1"), 0.2);
    ksiss_metrics_set(m, KSISS_M_METRIC_SLO, KSISS_LABELS("ml", "llama", "ttft"), 0.5);
    ksiss_metrics_set(m, KSISS_M_METRIC_PRESSURE_RATIO, KSISS_LABELS("ml", "llama", "ttft"), 0.4);
    ksiss_metrics_set(m, KSISS_M_METRIC_MISSING, KSISS_LABELS("ml", "llama", "ttft"), 0);
    ksiss_metrics_set(m, KSISS_M_GPU_FREE, KSISS_LABELS("H100-80GB", "nvidia.com/gpu"), 3);
    ksiss_metrics_set(m, KSISS_M_GPU_ALLOCATABLE, KSISS_LABELS("H100-80GB", "nvidia.com/gpu"), 8);
    ksiss_metrics_set(m, KSISS_M_TICK_SERVICES, KSISS_LABELS("evaluated"), 1);
    ksiss_metrics_add(m, KSISS_M_DECISIONS_TOTAL, KSISS_LABELS("ml", "llama", "up", "slo_pressure"), 1);
    ksiss_metrics_observe(m, KSISS_M_TRANSITION_DURATION, KSISS_LABELS("ml", "llama", "done"), 42);
    ksiss_metrics_add(m, KSISS_M_KUBE_REQUESTS_TOTAL, KSISS_LABELS("PATCH", "200"), 1);
    ksiss_metrics_set(m, KSISS_M_CACHE_OBJECTS, KSISS_LABELS("services"), 1);
    ksiss_metrics_set(m, KSISS_M_LEADER, NULL, 0);
    assert_true(ksiss_controller_export_follower(m) >= 12);
    char *text = ksiss_metrics_render(m);
    static const char *const gone[] = {
        "ksiss_service_tier_info", "ksiss_service_replicas", "ksiss_metric_value", "ksiss_metric_pod_value",
        "ksiss_metric_slo", "ksiss_metric_pressure_ratio", "ksiss_metric_missing", "ksiss_transitions_in_flight",
        "KubeComp_gpu_resource", "ksiss_gpu_free", "ksiss_gpu_allocatable", "ksiss_tick_services",
    };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        if (samples(text, gone[i]) != 0)
            fail_msg("a follower still exports %s:\n%s", gone[i], text);
    /* What a follower still serves: its own counters and histograms, its
     * process's facts (docs/metrics.md). */
    assert_contains(text, "ksiss_decisions_total{namespace=\"ml\",service=\"llama\",action=\"up\","
                          "reason=\"slo_pressure\"} 1\n");
    assert_contains(text, "ksiss_transition_duration_seconds_count{namespace=\"ml\",service=\"llama\","
                          "outcome=\"done\"} 1\n");
    assert_contains(text, "ksiss_kubernetes_requests_total{verb=\"PATCH\",code=\"200\"} 1\n");
    assert_contains(text, "ksiss_cache_objects{resource=\"services\"} 1\n");
    assert_contains(text, "ksiss_leader 0\n");
    assert_int_equal(samples(text, "ksiss_build_info"), 1);
    free(text);
    /* Every gauge with a service label is the leader's alone. */
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        const ksiss_metric_def *d = &ksiss_metric_defs[id];
        bool per_service = false;
        for (int j = 0; d->labels[j]; j++)
            per_service |= !strcmp(d->labels[j], "service");
        if (d->type == KSISS_MT_GAUGE && per_service && !ksiss_controller_leader_only((ksiss_metric_id)id))
            fail_msg("%s is exported by followers", d->name);
    }
    free(rev);
    ksiss_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_tier_change_leaves_one_tier_series),
        cmocka_unit_test(test_kubecomp_gauge_follows_the_serving_revision),
        cmocka_unit_test(test_a_service_no_longer_managed_leaves_nothing),
        cmocka_unit_test(test_a_follower_exports_no_cluster_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
