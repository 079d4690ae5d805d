/* test_controller_explain.c: `ksiss explain` end to end against one
 * scripted stand-in server on 127.0.0.1 playing both the Kubernetes API
 * (ConfigMap in the original's format, nodes, pods, the Knative Service and
 * its Revision from tests/data/knative/) and Prometheus (/api/v1/query):
 * the report names the tier, the metric against its SLO, the free GPUs of
 * the allowed tiers, the decision with its reason and the next step, and
 * changes nothing (no PATCH, POST to the API or DELETE is sent). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/util.h"
#include "test_kube_fake.h"

static char *slurp(const char *path)
{
    size_t len;
    char *err = NULL;
    char *t = ksiss_read_file(path, 1 << 20, &len, &err);
    if (!t)
        fail_msg("%s", err);
    return t;
}

/* Runs `ksiss explain --service llama3-8b` against the stand-in fs (as
 * Kubernetes and Prometheus) and returns its report (stdout); *rc its exit
 * code. */
static char *explain_report(fake_server *fs, int *rc)
{
    char kubeconfig[] = "/tmp/ksiss-explain-kubeconfig-XXXXXX";
    int kfd = mkstemp(kubeconfig);
    assert_true(kfd >= 0);
    char *kc = ksiss_xasprintf("apiVersion: v1\nkind: Config\n"
                               "clusters: [{name: c, cluster: {server: \"http://127.0.0.1:%u\"}}]\n"
                               "users: [{name: u, user: {token: t0k}}]\n"
                               "contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]\n"
                               "current-context: x\n", fs->port);
    assert_int_equal(write(kfd, kc, strlen(kc)), (ssize_t)strlen(kc));
    close(kfd);
    char *prom = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    unsetenv("NAMESPACE");
    unsetenv("CONFIG_MAP_NAME");
    char out_path[] = "/tmp/ksiss-explain-out-XXXXXX";
    int ofd = mkstemp(out_path);
    assert_true(ofd >= 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(ofd, 1);
    char *argv[] = {"explain", "--service", "llama3-8b", "--kubeconfig", kubeconfig, "--prometheus", prom, NULL};
    *rc = ksiss_cmd_explain(7, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(ofd);
    char *report = slurp(out_path);
    unlink(out_path);
    unlink(kubeconfig);
    free(prom);
    free(kc);
    return report;
}

static const char configmap[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"autoscaler-config\","
    "\"namespace\":\"default\",\"resourceVersion\":\"7\"},\"data\":{\"llama3-8b\":"
    "\"- name: tgi_request_metric\\n"
    "  query: increase(tgi_request_mean_time_per_token_duration_sum{pod=\\\"%s\\\"}[1m])/"
    "increase(tgi_request_mean_time_per_token_duration_count{pod=\\\"%s\\\"}[1m])\\n"
    "  slo: 0.5\\n  scaleDownFactor: 0.5\\n  scaleUpFactor: 1.5\\n\"}}";

static const char nodes[] =
    "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[{\"metadata\":{\"name\":\"gpu-node-mig\","
    "\"labels\":{\"nvidia.com/gpu.product\":\"NVIDIA-H100-80GB-HBM3\"}},\"spec\":{},"
    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
    "\"allocatable\":{\"cpu\":\"64\",\"nvidia.com/mig-1g.10gb\":\"7\",\"nvidia.com/mig-2g.20gb\":\"3\"}}}]}";

static const char pods[] =
    "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":[{\"metadata\":{"
    "\"name\":\"llama3-8b-00001-deployment-5d7bf-abcde\",\"namespace\":\"default\","
    "\"labels\":{\"serving.knative.dev/service\":\"llama3-8b\",\"serving.knative.dev/revision\":\"llama3-8b-00001\"}},"
    "\"spec\":{\"nodeName\":\"gpu-node-mig\","
    "\"containers\":[{\"name\":\"vllm\",\"resources\":{\"requests\":{\"nvidia.com/mig-1g.10gb\":\"1\"},"
    "\"limits\":{\"nvidia.com/mig-1g.10gb\":\"1\"}}}]},\"status\":{\"phase\":\"Running\"}}]}";

/* tests/data/knative/revisions.json as the RevisionList the API answers. */
static char *revision_list(void)
{
    char *items = slurp("tests/data/knative/revisions.json");
    char *list = ksiss_xasprintf("{\"kind\":\"RevisionList\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":%s}",
                                 items);
    free(items);
    return list;
}

/* The stand-in's Kubernetes objects: the ConfigMap, the nodes and pods,
 * the Service and its Revisions. */
static void add_objects(fake_server *fs, const char *cm, const char *svc, const char *revs)
{
    fake_add(fs, "GET", "/api/v1/namespaces/default/configmaps/autoscaler-config", 200, cm, NULL);
    fake_add(fs, "GET", "/api/v1/nodes", 200, nodes, NULL);
    fake_add(fs, "GET", "/api/v1/pods", 200, pods, NULL);
    fake_add(fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services/llama3-8b", 200, svc, NULL);
    fake_add(fs, "GET", "/apis/serving.knative.dev/v1/namespaces/default/revisions", 200, revs, NULL);
    fake_add(fs, "GET", "/api/v1/namespaces/default/pods", 200, pods, NULL);
}

/* 0.9 s per token: 1.8 x the SLO of 0.5, above scaleUpFactor 1.5. */
static const char prom_reply[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
    "{\"pod\":\"llama3-8b-00001-deployment-5d7bf-abcde\"},\"value\":[1700000000,\"0.9\"]}]}}";

static void test_explain_reports_tier_metric_free_gpus_decision_and_changes_nothing(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    char *svc = slurp("tests/data/knative/service.json");
    char *revs = revision_list();
    add_objects(fs, configmap, svc, revs);
    for (int i = 0; i < 4; i++)
        fake_add(fs, "POST", "/api/v1/query", 200, prom_reply, NULL);

    int rc;
    char *report = explain_report(fs, &rc);

    if (rc != KSISS_EXIT_OK)
        fail_msg("exit %d, report:\n%s", rc, report);
    static const char *const want[] = {
        "Name:             llama3-8b",
        /* the original's format names no model: the node's label tells it */
        "GPU model:        H100-80GB (from nodes: revision llama3-8b-00001 requests nvidia.com/mig-1g.10gb x1; "
        "its pods run on gpu-node-mig (nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3: H100-80GB)",
        "Tier:             mig-1g.10gb (nvidia.com/mig-1g.10gb x1",
        "1 ready, 0 starting (revision llama3-8b-00001)",
        "tgi_request_metric",
        "0.9",
        "1.8",                                          /* pressure */
        "nvidia.com/mig-2g.20gb",                       /* a free tier that matters */
        "3 free of 3",
        "nvidia.com/mig-1g.10gb       H100-80GB    6 free of 7",
        "Transition:       none",
        "Decision now:     up",
        "Next step:        start tier change mig-1g.10gb ->",
        "not applied",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(report, want[i]))
            fail_msg("report lacks \"%s\":\n%s", want[i], report);
    /* Read-only: nothing but GETs to the API (POSTs only to /api/v1/query). */
    for (size_t i = 0; i < fake_count(fs); i++) {
        const fake_req *r = &fs->reqs[i];
        if (strcmp(r->method, "GET") != 0 && strncmp(r->url, "/api/v1/query", 13) != 0)
            fail_msg("explain sent %s %s", r->method, r->url);
    }
    free(report);
    free(svc);
    free(revs);
    fake_stop(fs);
}

/* A service without perGpu (issue 17): the report shows, per tier, the
 * capacity learned (from the Service's annotation), its bound, uncertainty,
 * source and windows; the tiers never served as carried over by the
 * catalogue; still read-only. */
static const char configmap_learning[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"autoscaler-config\","
    "\"namespace\":\"default\",\"resourceVersion\":\"7\"},\"data\":{\"llama3-8b\":"
    "\"metrics:\\n  - {name: ttft_p95, query: 'histogram_quantile(0.95, rate(ttft_bucket[1m]))', slo: 1.0}\\n"
    "load: {query: 'sum(rate(vllm:prompt_tokens_total[1m]))', throughput: prefill}\\n"
    "gpu: H100-80GB\\ntiers: [mig-1g.10gb, mig-2g.20gb]\\n\"}}";

static void test_explain_shows_the_learned_capacity_per_tier(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    char *svc_text = slurp("tests/data/knative/service.json");
    json_t *svc_json = json_loads(svc_text, 0, NULL);
    assert_non_null(svc_json);
    json_t *meta = json_object_get(svc_json, "metadata");
    json_t *ann = json_object_get(meta, "annotations");
    if (!ann) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    /* 1e-4 s per prompt token on the 1g slice, 5 windows: 0.7 / 1e-4 = 7000 */
    json_object_set_new(ann, "ksiss.io/learned-capacity",
                        json_string("{\"v\":1,\"at\":0,\"unit\":14000,\"tiers\":{\"mig-1g.10gb\":{\"prefill\":"
                                    "[0.0001,0.00005,1e-12,0,1e-12,5,0,0],\"k\":{\"prior\":\"histogram\","
                                    "\"k\":0.9,\"sd\":0.135,\"carried\":false}}}}"));
    char *svc = json_dumps(svc_json, JSON_COMPACT);
    json_decref(svc_json);
    char *revs = revision_list();
    add_objects(fs, configmap_learning, svc, revs);
    for (int i = 0; i < 10; i++)
        fake_add(fs, "POST", "/api/v1/query", 200, prom_reply, NULL);

    int rc;
    char *report = explain_report(fs, &rc);
    if (rc != KSISS_EXIT_OK)
        fail_msg("exit %d, report:\n%s", rc, report);
    static const char *const want[] = {
        "capacity learned per tier",
        "Learned capacity (one instance, prompt tokens/s within the SLO",
        "mig-1g.10gb",
        "7000",
        "learned",
        "catalogue",        /* the 2g slice: carried over */
        "(current: not learned, no scale-down)",   /* stale (written at time 0): no longer learned */
        "k's prior",
        "histogram 0.9+-0.14 ",                     /* the 1g slice's, from the annotation */
        "histogram 0.9+-0.14 (carried)",            /* the 2g slice stands on it */
        /* the stand-in Prometheus answers one sample without le */
        "prompt-length histogram not read (sample 1 has no le label (is the query summed by le?)): k's prior the "
        "fallback 0.5 +- 0.15",
        /* this tick's learnQueries.prefillPerToken (the stand-in's 0.9) */
        "prefill: 0.9 s per prompt token, read apart from the wait (learnQueries.prefillPerToken)",
        /* the defaults read the latest ready revision's own pods */
        "series: revision llama3-8b-00001's own pods ({revision}): a window counts once it has served a whole minute, "
        "also while a tier change rolls",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(report, want[i]))
            fail_msg("report lacks \"%s\":\n%s", want[i], report);
    for (size_t i = 0; i < fake_count(fs); i++) {
        const fake_req *r = &fs->reqs[i];
        if (strcmp(r->method, "GET") != 0 && strncmp(r->url, "/api/v1/query", 13) != 0)
            fail_msg("explain sent %s %s", r->method, r->url);
    }
    free(report);
    free(svc);
    free(svc_text);
    free(revs);
    fake_stop(fs);
}

/* A prompt-token load with perGpu (nothing learned) still reads the
 * prompt-length histogram: a minute of 3-5k-token prompts misses a 1 s
 * TTFT on an idle 1g slice (prefill 0.15 of 20k tokens/s: 3k tokens a
 * second) for 56% of them, on the 2g (6.2k) for none. */
static const char configmap_prompts[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"autoscaler-config\","
    "\"namespace\":\"default\",\"resourceVersion\":\"7\"},\"data\":{\"llama3-8b\":"
    "\"metrics:\\n  - {name: ttft_p95, query: 'histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_bucket[1m]))', "
    "slo: 1.0}\\n"
    "load: {query: 'sum(rate(vllm:prompt_tokens_total[1m]))', perGpu: 14000, throughput: prefill}\\n"
    "gpu: H100-80GB\\ntiers: [mig-1g.10gb, mig-2g.20gb]\\n\"}}";

static const char prom_scalar[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
    "\"value\":[1700000000,\"0.3\"]}]}}";

static const char prom_buckets[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
    "{\"metric\":{\"le\":\"1000\"},\"value\":[1700000000,\"0\"]},"
    "{\"metric\":{\"le\":\"2000\"},\"value\":[1700000000,\"0\"]},"
    "{\"metric\":{\"le\":\"5000\"},\"value\":[1700000000,\"1\"]},"
    "{\"metric\":{\"le\":\"10000\"},\"value\":[1700000000,\"1\"]},"
    "{\"metric\":{\"le\":\"+Inf\"},\"value\":[1700000000,\"1\"]}]}}";

static void test_explain_names_the_tiers_too_slow_for_the_prompts(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    char *svc = slurp("tests/data/knative/service.json");
    char *revs = revision_list();
    add_objects(fs, configmap_prompts, svc, revs);
    /* the metric, the load, then the histogram */
    fake_add(fs, "POST", "/api/v1/query", 200, prom_scalar, NULL);
    fake_add(fs, "POST", "/api/v1/query", 200, prom_scalar, NULL);
    fake_add(fs, "POST", "/api/v1/query", 200, prom_buckets, NULL);

    int rc;
    char *report = explain_report(fs, &rc);
    if (rc != KSISS_EXIT_OK)
        fail_msg("exit %d, report:\n%s", rc, report);
    if (!strstr(report, "Prompt lengths:   60 requests") ||
        !strstr(report, "misses the 1 s TTFT SLO on more than 1% of them beyond the fastest tier are no tier "
                         "change's target: mig-1g.10gb (55.7% miss, the fastest 0%)\n"))
        fail_msg("report:\n%s", report);
    if (strstr(report, "mig-2g.20gb (") || strstr(report, "Learned capacity"))
        fail_msg("report:\n%s", report);
    free(report);
    free(svc);
    free(revs);
    fake_stop(fs);
}

static void test_explain_without_service_is_a_usage_error(void **state)
{
    (void)state;
    char *argv[] = {"explain", "--namespace", "default", NULL};
    assert_int_equal(ksiss_cmd_explain(3, argv), KSISS_EXIT_USAGE);
}

static void test_explain_unknown_flag_is_a_usage_error(void **state)
{
    (void)state;
    char *argv[] = {"explain", "--service", "a", "--frobnicate", NULL};
    assert_int_equal(ksiss_cmd_explain(4, argv), KSISS_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explain_reports_tier_metric_free_gpus_decision_and_changes_nothing),
        cmocka_unit_test(test_explain_shows_the_learned_capacity_per_tier),
        cmocka_unit_test(test_explain_names_the_tiers_too_slow_for_the_prompts),
        cmocka_unit_test(test_explain_without_service_is_a_usage_error),
        cmocka_unit_test(test_explain_unknown_flag_is_a_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
