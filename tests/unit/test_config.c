/* test_config.c: the autoscaler ConfigMap parser: the original's shipped
 * example and our example parse with their defaults; errors carry the
 * FILE:LINE:COLUMN of the file the user edits (inside `|` blocks too);
 * every semantic check; hostile input never crashes; the catalogue
 * extension; the API's data form; service lookup with the original's
 * prefix rule; and `ksiss check-config` exit codes and summary. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/tiers.h"
#include "core/util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define DATA "tests/data/config/"
#define S_(lit) {lit, sizeof(lit) - 1}

typedef struct {
    ksiss_catalog cat;
    ksiss_config cfg;
    ksiss_diags d;
    int rc;
} fixture;

static void parse_text(fixture *f, const char *text, size_t len, const char *file, const char *cm)
{
    ksiss_catalog_builtin(&f->cat);
    ksiss_diags_init(&f->d);
    f->rc = ksiss_config_parse(text, len, file, cm, &f->cat, &f->cfg, &f->d);
}

static void parse_yaml(fixture *f, const char *yaml)
{
    parse_text(f, yaml, strlen(yaml), "c.yaml", NULL);
}

static void parse_file(fixture *f, const char *path, const char *cm)
{
    size_t len = 0;
    char *err = NULL;
    char *text = ksiss_read_file(path, 1u << 26, &len, &err);
    if (!text)
        fail_msg("%s", err);
    parse_text(f, text, len, path, cm);
    free(text);
}

static void fixture_free(fixture *f)
{
    ksiss_config_free(&f->cfg);
    ksiss_diags_free(&f->d);
    ksiss_catalog_free(&f->cat);
}

/* All diagnostics, one a line, in the order found; caller frees. */
static char *all_diags(const ksiss_diags *d)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (size_t i = 0; i < d->n; i++) {
        char *s = ksiss_diag_format(&d->v[i]);
        ksiss_sb_printf(&sb, "%s\n", s);
        free(s);
    }
    char *r = ksiss_sb_take(&sb);
    return r ? r : ksiss_xstrdup("");
}

/* Asserts that one diagnostic is exactly `want`. */
static void assert_has_diag(const ksiss_diags *d, const char *want)
{
    for (size_t i = 0; i < d->n; i++) {
        char *s = ksiss_diag_format(&d->v[i]);
        bool eq = !strcmp(s, want);
        free(s);
        if (eq)
            return;
    }
    char *all = all_diags(d);
    print_error("wanted: %s\ngot:\n%s", want, all);
    free(all);
    fail();
}

static const ksiss_service_cfg *svc(const fixture *f, const char *name)
{
    bool by_prefix;
    const ksiss_service_cfg *s = ksiss_config_find(&f->cfg, name, &by_prefix);
    if (!s || by_prefix)
        fail_msg("no service %s", name);
    return s;
}

/* ---- valid configurations ---- */

static void test_original_shipped_example_parses_with_legacy_defaults(void **state)
{
    (void)state;
    fixture f;
    parse_file(&f, DATA "original-shipped.yaml", NULL);
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.d.n, 0);
    assert_int_equal(f.cfg.n_services, 1);
    const ksiss_service_cfg *s = svc(&f, "gpt2");
    assert_true(s->legacy);
    assert_int_equal(s->n_metrics, 1);
    const ksiss_metric_cfg *m = &s->metrics[0];
    assert_string_equal(m->name, "tgi_request_metric");
    assert_string_equal(m->query, "increase(tgi_request_mean_time_per_token_duration_sum{pod=\"%s\"}[1m])/"
                                  "increase(tgi_request_mean_time_per_token_duration_count{pod=\"%s\"}[1m])");
    assert_true(m->slo == 0.5 && m->scale_down_factor == 0.5 && m->scale_up_factor == 1.5);
    assert_int_equal(m->direction, KSISS_LOWER_IS_BETTER);
    assert_int_equal(m->aggregate, KSISS_AGG_MAX);
    assert_int_equal(m->pos.line, 9);
    assert_int_equal(m->pos.col, 7);
    assert_int_equal(s->min_replicas, 1);
    assert_int_equal(s->max_replicas, 1);
    assert_null(s->gpu_model);
    assert_string_equal(s->policy, "ksiss");
    assert_int_equal(s->cooldown_up_ms, KSISS_DEFAULT_COOLDOWN_UP_MS);
    assert_int_equal(s->stabilization_down_ms, KSISS_DEFAULT_STABILIZATION_DOWN_MS);
    assert_int_equal(s->stale_after_ms, KSISS_DEFAULT_STALE_AFTER_MS);
    assert_true(s->slo_target == KSISS_DEFAULT_SLO_TARGET);
    /* The ladder: every tier of the default model's ladder. */
    const ksiss_tier *want[32];
    size_t n = ksiss_catalog_ladder(&f.cat, NULL, want, N_(want));
    assert_int_equal(s->n_ladder, n);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(s->ladder[i], want[i]);
    fixture_free(&f);
}

static void test_load_signal_shortens_default_down_window(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "withload: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000}\n"
                   "without: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "explicit: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000}\n"
                   "  stabilization: {down: 5m}\n");
    assert_int_equal(f.rc, 0);
    assert_int_equal(svc(&f, "withload")->stabilization_down_ms, KSISS_DEFAULT_STABILIZATION_DOWN_LOAD_MS);
    assert_int_equal(svc(&f, "without")->stabilization_down_ms, KSISS_DEFAULT_STABILIZATION_DOWN_MS);
    assert_int_equal(svc(&f, "explicit")->stabilization_down_ms, 300000);
    fixture_free(&f);
}

/* perGpu is optional: without it the capacity is learned; learn: true
 * learns with perGpu as the starting point; with perGpu alone, as before. */
static void test_per_gpu_optional_learns(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "nopg: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, throughput: prefill}\n"
                   "prior: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000, learn: true}\n"
                   "given: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000}\n"
                   "tgi: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, learnQueries: {server: tgi, running: 'max(my_batch)'}}\n"
                   "nohist: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, learnQueries: {promptHistogram: '', prefillPerToken: ''}}\n"
                   "ownhist: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, learnQueries: {promptHistogram: 'sum by (le) (rate(p_bucket[1m]))'}}\n");
    assert_int_equal(f.rc, 0);
    const ksiss_service_cfg *a = svc(&f, "nopg"), *b = svc(&f, "prior"), *c = svc(&f, "given"), *t = svc(&f, "tgi");
    assert_true(a->has_load && a->load.learn);
    assert_true(a->load.per_gpu == 0);
    assert_true(b->has_load && b->load.learn);
    assert_true(b->load.per_gpu == 1000);
    assert_true(c->has_load && !c->load.learn);
    /* the series: vLLM's by default, TGI's when asked, each overridable */
    assert_string_equal(a->load.server, "vllm");
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_TTFT], "vllm:time_to_first_token_seconds_sum"));
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_PROMPT], "vllm:prompt_tokens_total"));
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_REQUESTS], "vllm:request_success_total"));
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_RUNNING], "vllm:num_requests_running"));
    /* TPOT: vLLM 0.11's new name per pod, else the old one (removed in 0.13) */
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_TPOT],
                           "sum(rate(vllm:inter_token_latency_seconds_sum{namespace=\"{namespace}\",pod=~\"{revision}-deployment-.*\"}[1m]) "
                           "or rate(vllm:time_per_output_token_seconds_sum{"));
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_TPOT],
                           "sum(rate(vllm:inter_token_latency_seconds_count{namespace=\"{namespace}\",pod=~\"{revision}-deployment-.*\"}[1m]) "
                           "or rate(vllm:time_per_output_token_seconds_count{"));
    /* over the latest ready revision's pods (Knative's <revision>-deployment-...):
     * a tier change's new revision is read apart from the old one */
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_TTFT], "pod=~\"{revision}-deployment-.*\""));
    assert_null(c->load.learn_queries[KSISS_LQ_TTFT]);
    assert_true(ksiss_learn_per_revision(&a->load));
    assert_false(ksiss_learn_per_revision(&c->load));     /* nothing learned */
    assert_false(ksiss_learn_per_revision(&t->load));     /* running: max(my_batch), over whatever it reads */
    assert_string_equal(t->load.server, "tgi");
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PROMPT], "tgi_request_input_length_sum"));
    assert_string_equal(t->load.learn_queries[KSISS_LQ_RUNNING], "max(my_batch)");
    /* the prompt-length histogram per bucket: vLLM's and TGI's by default, "" for none, overridable */
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_PROMPT_HIST],
                           "sum by (le) (rate(vllm:request_prompt_tokens_bucket{"));
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PROMPT_HIST],
                           "sum by (le) (rate(tgi_request_input_length_bucket{"));
    assert_null(svc(&f, "nohist")->load.learn_queries[KSISS_LQ_PROMPT_HIST]);
    assert_non_null(svc(&f, "nohist")->load.learn_queries[KSISS_LQ_TTFT]);
    assert_string_equal(svc(&f, "ownhist")->load.learn_queries[KSISS_LQ_PROMPT_HIST],
                        "sum by (le) (rate(p_bucket[1m]))");
    /* the prefill apart from the wait: the finished requests' prefill
     * seconds over their prompt tokens (TGI: the prefill passes over the
     * input lengths); "" for none */
    assert_non_null(strstr(a->load.learn_queries[KSISS_LQ_PREFILL],
                           "sum(rate(vllm:request_prefill_time_seconds_sum{namespace=\"{namespace}\",pod=~\"{revision}-deployment-.*\"}[1m]))"
                           " / sum(rate(vllm:request_prompt_tokens_sum{"));
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PREFILL], "tgi_batch_forward_duration_sum{"));
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PREFILL], "method=\"prefill\""));
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PREFILL], "/ sum(rate(tgi_request_input_length_sum{"));
    assert_null(svc(&f, "nohist")->load.learn_queries[KSISS_LQ_PREFILL]);
    assert_non_null(svc(&f, "ownhist")->load.learn_queries[KSISS_LQ_PREFILL]);
    /* "" (none) leaves the others per revision; a query of one's own without {revision} does not */
    assert_true(ksiss_learn_per_revision(&svc(&f, "nohist")->load));
    assert_false(ksiss_learn_per_revision(&svc(&f, "ownhist")->load));
    fixture_free(&f);
}

/* A prompt-token load with perGpu learns nothing but still reads the
 * prompt-length histogram (the tiers too slow for the prompts,
 * tier_floor.h): the server's default query, its own, or "" for none;
 * no other learnQueries key. A generated-token load reads none. */
static void test_prompt_histogram_without_learning(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "vllm: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000, throughput: prefill}\n"
                   "tgi: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000, throughput: prefill, learnQueries: {server: tgi}}\n"
                   "none: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000, throughput: prefill, learnQueries: {promptHistogram: ''}}\n"
                   "decode: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  load: {query: l, perGpu: 1000}\n");
    assert_int_equal(f.rc, 0);
    const ksiss_service_cfg *v = svc(&f, "vllm"), *t = svc(&f, "tgi");
    assert_false(v->load.learn);
    assert_non_null(strstr(v->load.learn_queries[KSISS_LQ_PROMPT_HIST],
                           "sum by (le) (rate(vllm:request_prompt_tokens_bucket{"));
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PROMPT_HIST],
                           "sum by (le) (rate(tgi_request_input_length_bucket{"));
    for (int i = 0; i < KSISS_LQ_N; i++) {
        if (i != KSISS_LQ_PROMPT_HIST) {
            assert_null(v->load.learn_queries[i]);
            assert_null(t->load.learn_queries[i]);
        }
        assert_null(svc(&f, "none")->load.learn_queries[i]);
        assert_null(svc(&f, "decode")->load.learn_queries[i]);
    }
    /* the simulator's --no-per-gpu then fills the rest from the same server */
    ksiss_service_cfg *tw = (ksiss_service_cfg *)t;
    tw->load.learn = true;
    ksiss_learn_queries_default(&tw->load);
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_TTFT], "tgi_request_queue_duration_sum"));
    assert_non_null(strstr(t->load.learn_queries[KSISS_LQ_PROMPT_HIST], "tgi_request_input_length_bucket"));
    fixture_free(&f);
}

/* sloTarget: the share of requests that should meet the SLO, 0.99 unless
 * given (also for the legacy format, which cannot give it). */
static void test_slo_target_defaults_and_parses(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "given: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  sloTarget: 0.95\n"
                   "low: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n"
                   "  sloTarget: 0.1\n"
                   "absent: |\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: q, slo: 1}\n");
    assert_int_equal(f.rc, 0);
    assert_true(svc(&f, "given")->slo_target == 0.95);
    assert_true(svc(&f, "low")->slo_target == 0.1);
    assert_true(svc(&f, "absent")->slo_target == 0.99);
    fixture_free(&f);
}

static void test_configmap_json_from_the_api_parses_its_data(void **state)
{
    (void)state;
    json_error_t je;
    json_t *cm = json_loads("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\","
                            " \"metadata\": {\"name\": \"autoscaler-config\"},"
                            " \"data\": {\"gpt2\": \"- name: m\\n  query: q{pod=\\\"%s\\\"}\\n  slo: 0.5\\n"
                            "  scaleDownFactor: 0.5\\n  scaleUpFactor: 1.5\\n\","
                            " \"bad\": \"- name: m\\n  slo: -1\\n\"}}", 0, &je);
    assert_non_null(cm);
    ksiss_catalog cat;
    ksiss_config cfg;
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_catalog_builtin(&cat), 0);
    assert_int_equal(ksiss_config_parse_configmap_json(cm, "configmap default/autoscaler-config", &cat, &cfg, &d), -1);
    /* the valid key is kept, the invalid one named with its key and line */
    bool by_prefix = false;
    assert_non_null(ksiss_config_find(&cfg, "gpt2", &by_prefix));
    char *all = all_diags(&d);
    assert_non_null(strstr(all, "configmap default/autoscaler-config"));
    assert_non_null(strstr(all, "bad"));
    assert_non_null(strstr(all, "slo"));
    free(all);
    ksiss_diags_free(&d);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
    json_decref(cm);
}

static void test_example_config_parses_with_every_extended_field(void **state)
{
    (void)state;
    fixture f;
    parse_file(&f, "examples/autoscaler-config.yaml", NULL);
    char *all = all_diags(&f.d);
    if (f.rc != 0)
        fail_msg("%s", all);
    free(all);
    assert_int_equal(f.cfg.n_services, 2);
    const ksiss_service_cfg *s = svc(&f, "llama3-8b");
    assert_false(s->legacy);
    assert_string_equal(s->gpu_model, "H100-80GB");
    static const char *const ladder[] = {"mig-3g.40gb", "mig-4g.40gb", "mig-7g.80gb", "gpu", "gpu*2"};
    assert_int_equal(s->n_ladder, N_(ladder));
    for (size_t i = 0; i < N_(ladder); i++)
        assert_string_equal(s->ladder[i]->name, ladder[i]);
    assert_int_equal(s->min_replicas, 1);
    assert_int_equal(s->max_replicas, 4);
    assert_true(s->model_memory_gib == 24);
    assert_int_equal(s->cooldown_up_ms, 60000);
    assert_int_equal(s->cooldown_down_ms, 300000);
    assert_int_equal(s->stabilization_up_ms, 0);
    assert_int_equal(s->stabilization_down_ms, 120000);
    assert_int_equal(s->stale_after_ms, 90000);
    assert_true(s->has_load);
    assert_true(s->load.per_gpu == 2500);
    assert_int_equal(s->load.throughput, KSISS_THROUGHPUT_DECODE);
    assert_true(s->load.target_utilization == 0.8);
    assert_int_equal(s->n_metrics, 2);
    assert_int_equal(s->metrics[1].direction, KSISS_HIGHER_IS_BETTER);
    assert_int_equal(s->metrics[1].aggregate, KSISS_AGG_AVG);
    assert_true(s->metrics[0].scale_up_factor == 1.2);
    fixture_free(&f);
}

static void test_bare_data_mapping_accepts_values_written_directly(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "gpt2:\n"
                   "  - name: tpot\n"
                   "    query: tpot{pod=\"%s\"}\n"
                   "    slo: 0.05\n"
                   "llama:\n"
                   "  maxReplicas: 3\n"
                   "  metrics:\n"
                   "    - {name: ttft, query: 'ttft{pod=\"{pod}\"}', slo: 0.5}\n");
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.cfg.n_services, 2);
    assert_true(svc(&f, "gpt2")->legacy);
    assert_true(svc(&f, "gpt2")->metrics[0].scale_up_factor == 1.0);
    assert_true(svc(&f, "gpt2")->metrics[0].scale_down_factor == 0.5);
    assert_int_equal(svc(&f, "llama")->max_replicas, 3);
    assert_int_equal(svc(&f, "llama")->metrics[0].pos.line, 8);
    fixture_free(&f);
}

static void test_data_section_alone_is_read_as_the_data_mapping(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "data:\n  gpt2: |\n    - {name: m, query: q, slo: 1}\n");
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.cfg.n_services, 1);
    assert_true(svc(&f, "gpt2")->legacy);
    fixture_free(&f);
}

static void test_configmap_is_picked_by_name_among_several_documents(void **state)
{
    (void)state;
    static const char yaml[] = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ksiss}\n"
                               "---\nkind: ConfigMap\nmetadata: {name: other}\ndata:\n  a: '[{name: m, query: q, slo: 1}]'\n"
                               "---\nkind: ConfigMap\nmetadata: {name: autoscaler-config}\ndata:\n"
                               "  b: '[{name: m, query: q, slo: 2}]'\n";
    fixture f;
    parse_text(&f, yaml, strlen(yaml), "c.yaml", "autoscaler-config");
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.cfg.n_services, 1);
    assert_true(svc(&f, "b")->metrics[0].slo == 2);
    fixture_free(&f);
    parse_text(&f, yaml, strlen(yaml), "c.yaml", NULL);
    assert_int_equal(f.rc, 0);
    assert_true(svc(&f, "a")->metrics[0].slo == 1);
    fixture_free(&f);
    parse_text(&f, yaml, strlen(yaml), "c.yaml", "missing");
    assert_int_equal(f.rc, -1);
    assert_has_diag(&f.d, "c.yaml: no ConfigMap named \"missing\" (found: other, autoscaler-config)");
    fixture_free(&f);
}

/* ---- positions inside | blocks ---- */

static void test_errors_inside_blocks_point_into_the_configmap_file(void **state)
{
    (void)state;
    static const char *const want[] = {
        DATA "invalid-block.yaml:10:12: service \"gpt2\": metric \"latency\": slo: must be a positive number, got -0.5",
        DATA "invalid-block.yaml:11:24: service \"gpt2\": metric \"latency\": scaleDownFactor: must be in (0, 1] "
             "(scale down when the metric is that fraction of its slo), got 1.5",
        DATA "invalid-block.yaml:12:22: service \"gpt2\": metric \"latency\": scaleUpFactor: must be at least 1 "
             "(scale up when the metric is that many times worse than its slo), got 0.9",
        DATA "invalid-block.yaml:16:11: service \"llama\": metric \"ttft\": unknown field \"qeury\" (did you mean "
             "\"query\"?)",
        DATA "invalid-block.yaml:15:11: service \"llama\": metric \"ttft\": query is missing",
        DATA "invalid-block.yaml:17:16: service \"llama\": metric \"ttft\": slo: expected a finite number, got \".nan\"",
        DATA "invalid-block.yaml:18:33: service \"llama\": tiers: mig-7g.80gb is smaller than gpu before it: list the "
             "ladder smallest first",
        DATA "invalid-block.yaml:18:46: service \"llama\": tiers: unknown tier \"gpu*3\" for GPU H100-80GB (did you "
             "mean \"gpu*2\"?)",
        DATA "invalid-block.yaml:19:20: service \"llama\": minReplicas 5 is larger than maxReplicas 2",
        DATA "invalid-block.yaml:21:22: service \"llama\": cooldown.up: expected a duration such as 500ms, 30s, 5m "
             "or 1h, got \"10 minutes\"",
        DATA "invalid-block.yaml:22:15: service \"llama\": policy: unknown policy \"fastest\" (known: ksiss, seed, "
             "horizontal)",
    };
    fixture f;
    parse_file(&f, DATA "invalid-block.yaml", NULL);
    assert_int_equal(f.rc, -1);
    for (size_t i = 0; i < N_(want); i++)
        assert_has_diag(&f.d, want[i]);
    assert_int_equal(f.d.n, N_(want));
    fixture_free(&f);
}

static void test_yaml_syntax_error_inside_a_block_points_into_the_file(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "kind: ConfigMap\n"
                   "data:\n"
                   "  gpt2: |\n"
                   "    - name: a\n"
                   "      query: q\n"
                   "     slo: 1\n");
    assert_int_equal(f.rc, -1);
    assert_int_equal(f.d.n, 1);
    assert_int_equal(f.d.v[0].pos.line, 6);
    assert_non_null(strstr(f.d.v[0].msg, "YAML syntax error"));
    fixture_free(&f);
}

static void test_quoted_single_line_value_keeps_its_column(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "kind: ConfigMap\ndata:\n  gpt2: \"[{name: m, query: q, slo: x}]\"\n");
    assert_int_equal(f.rc, -1);
    assert_has_diag(&f.d, "c.yaml:3:36: service \"gpt2\": metric \"m\": slo: expected a finite number, got \"x\"");
    fixture_free(&f);
}

/* ---- semantic checks, table-driven (bare data mappings) ---- */

typedef struct {
    const char *what;
    const char *yaml;
    const char *diag;   /* one of the diagnostics, exactly */
} bad_case;

static const bad_case bad_cases[] = {
    {"slo zero", "s:\n  - {name: m, query: q, slo: 0}\n",
     "c.yaml:2:30: service \"s\": metric \"m\": slo: must be a positive number, got 0"},
    {"slo huge overflow", "s:\n  - {name: m, query: q, slo: 1e999}\n",
     "c.yaml:2:30: service \"s\": metric \"m\": slo: expected a finite number, got \"1e999\""},
    {"slo underflow", "s:\n  - {name: m, query: q, slo: 1e-320}\n",
     "c.yaml:2:30: service \"s\": metric \"m\": slo: expected a finite number, got \"1e-320\""},
    {"slo tiny", "s:\n  - {name: m, query: q, slo: 1e-12}\n",
     "c.yaml:2:30: service \"s\": metric \"m\": slo: 1e-12 is outside [1e-09, 1e+15]"},
    {"perGpu huge", "s:\n  load: {query: q, perGpu: 1e300}\n",
     "c.yaml:2:28: service \"s\": load: perGpu: 1e+300 is outside [1e-09, 1e+15]"},
    {"slo missing", "s:\n  - {name: m, query: q}\n", "c.yaml:2:5: service \"s\": metric \"m\": slo is missing"},
    {"query empty", "s:\n  - {name: m, query: '  ', slo: 1}\n",
     "c.yaml:2:22: service \"s\": metric \"m\": query: is empty"},
    {"query a list", "s:\n  - {name: m, query: [a], slo: 1}\n",
     "c.yaml:2:22: service \"s\": metric \"m\": query: expected a string, got a list"},
    {"scaleDownFactor zero", "s:\n  - {name: m, query: q, slo: 1, scaleDownFactor: 0}\n",
     "c.yaml:2:50: service \"s\": metric \"m\": scaleDownFactor: must be in (0, 1] (scale down when the metric is "
     "that fraction of its slo), got 0"},
    {"direction unknown", "s:\n  - {name: m, query: q, slo: 1, direction: up}\n",
     "c.yaml:2:44: service \"s\": metric \"m\": direction: \"up\" is not one of lower, higher"},
    {"aggregate unknown", "s:\n  - {name: m, query: q, slo: 1, aggregate: p99}\n",
     "c.yaml:2:44: service \"s\": metric \"m\": aggregate: \"p99\" is not one of max, avg, sum"},
    {"metric twice", "s:\n  - {name: m, query: q, slo: 1}\n  - {name: m, query: r, slo: 2}\n",
     "c.yaml:3:5: service \"s\": metric \"m\" is defined twice (first at line 2)"},
    {"metric not a mapping", "s:\n  - fast\n",
     "c.yaml:2:5: service \"s\": metric 1: expected a mapping with name, query, slo, got a string"},
    {"metrics empty", "s:\n  metrics: []\n", "c.yaml:2:12: service \"s\": metrics: the list is empty"},
    {"service without metrics", "s:\n  maxReplicas: 2\n",
     "c.yaml:2:3: service \"s\": needs metrics: (a list of SLO metrics) or load:"},
    {"unknown service field", "s:\n  maxReplica: 2\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:3: service \"s\": unknown field \"maxReplica\" (did you mean \"maxReplicas\"?)"},
    {"max replicas zero", "s:\n  maxReplicas: 0\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:16: service \"s\": maxReplicas: 0 is out of range [1, 1000]"},
    {"max replicas huge", "s:\n  maxReplicas: 99999999999999999999\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:16: service \"s\": maxReplicas: expected an integer, got \"99999999999999999999\""},
    {"min above default max", "s:\n  minReplicas: 9\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:16: service \"s\": minReplicas 9 is larger than maxReplicas 8 (the default)"},
    {"negative duration", "s:\n  staleAfter: -1s\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:15: service \"s\": staleAfter: expected a duration such as 500ms, 30s, 5m or 1h, got \"-1s\""},
    {"duration too long", "s:\n  cooldown: {down: 1000h}\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:20: service \"s\": cooldown.down: \"1000h\" is longer than 24h"},
    {"cooldown not a mapping", "s:\n  cooldown: 30s\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:13: service \"s\": cooldown: expected a mapping such as {up: 30s, down: 5m}, got a string"},
    {"unknown gpu", "s:\n  gpu: H100\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:8: service \"s\": gpu: unknown GPU model \"H100\" (known: A30-24GB, A100-40GB, A100-80GB, H100-80GB, "
     "H200-141GB)"},
    {"tier of another model", "s:\n  gpu: A100-40GB\n  tiers: [mig-3g.40gb]\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:3:11: service \"s\": tiers: unknown tier \"mig-3g.40gb\" for GPU A100-40GB (did you mean "
     "\"mig-3g.20gb\"?)"},
    {"tier twice", "s:\n  tiers: [gpu, gpu]\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:16: service \"s\": tiers: gpu is listed twice"},
    {"tiers not a list", "s:\n  tiers: gpu\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:10: service \"s\": tiers: expected a list of tier names such as [mig-3g.40gb, gpu], got a string"},
    {"model memory fits nowhere", "s:\n  tiers: [mig-3g.40gb]\n  modelMemoryGiB: 60\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:3:19: service \"s\": modelMemoryGiB: no tier of the ladder holds 60 GiB"},
    {"model memory negative", "s:\n  modelMemoryGiB: -1\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:19: service \"s\": modelMemoryGiB: must be between 0 and 1e+06, got -1"},
    {"load learn not a boolean", "s:\n  load: {query: q, learn: often}\n",
     "c.yaml:2:27: service \"s\": load: learn: expected true or false, got \"often\""},
    {"learnQueries without learning", "s:\n  load: {query: q, perGpu: 5, learnQueries: {ttft: x}}\n",
     "c.yaml:2:45: service \"s\": load: learnQueries is given but nothing is learned (perGpu is set and learn is not true)"},
    {"learnQueries other than the histogram without learning",
     "s:\n  load: {query: q, perGpu: 5, throughput: prefill, learnQueries: {ttft: x}}\n",
     "c.yaml:2:73: service \"s\": load: learnQueries: ttft is given but nothing is learned (perGpu is set and learn "
     "is not true): only server and promptHistogram are read then"},
    {"learnQueries unknown server", "s:\n  load: {query: q, learnQueries: {server: triton}}\n",
     "c.yaml:2:43: service \"s\": load: learnQueries: server: \"triton\" is not one of vllm, tgi"},
    {"learnQueries promptHistogram not a string", "s:\n  load: {query: q, learnQueries: {promptHistogram: [a]}}\n",
     "c.yaml:2:52: service \"s\": load: learnQueries: promptHistogram: expected a string, got a list"},
    {"learnQueries ttft empty", "s:\n  load: {query: q, learnQueries: {ttft: ''}}\n",
     "c.yaml:2:41: service \"s\": load: learnQueries: ttft: is empty"},
    {"learnQueries not a mapping", "s:\n  load: {query: q, learnQueries: [a]}\n",
     "c.yaml:2:34: service \"s\": load: learnQueries: expected a mapping of server, ttft, promptTokens, requests, "
     "running, tpot, promptHistogram, prefillPerToken, got a list"},
    {"load learn false without perGpu", "s:\n  load: {query: q, learn: false}\n",
     "c.yaml:2:27: service \"s\": load: learn: is false but perGpu is missing: give perGpu, or let the capacity be learned"},
    {"load utilization above 1", "s:\n  load: {query: q, perGpu: 10, targetUtilization: 1.5}\n",
     "c.yaml:2:51: service \"s\": load: targetUtilization: must be in (0, 1], got 1.5"},
    {"slo target of 1", "s:\n  sloTarget: 1\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:14: service \"s\": sloTarget: the share of requests that should meet the SLO, above 0 and below 1 "
     "(0.99: 99%), got 1"},
    {"slo target of 0", "s:\n  sloTarget: 0\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:14: service \"s\": sloTarget: the share of requests that should meet the SLO, above 0 and below 1 "
     "(0.99: 99%), got 0"},
    {"slo target as a percentage", "s:\n  sloTarget: 99\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:14: service \"s\": sloTarget: the share of requests that should meet the SLO, above 0 and below 1 "
     "(0.99: 99%), got 99"},
    {"slo target not a number", "s:\n  sloTarget: high\n  metrics: [{name: m, query: q, slo: 1}]\n",
     "c.yaml:2:14: service \"s\": sloTarget: expected a finite number, got \"high\""},
    {"load throughput unknown", "s:\n  load: {query: q, perGpu: 10, throughput: tokens}\n",
     "c.yaml:2:44: service \"s\": load: throughput: \"tokens\" is not one of decode, prefill"},
    {"service name not DNS-1035", "Llama_3:\n  - {name: m, query: q, slo: 1}\n",
     "c.yaml:1:1: service \"Llama_3\": not a valid Knative Service name (lower-case letters, digits and '-', "
     "starting with a letter, at most 63 characters)"},
    {"unknown reserved key", "ksiss.settings: x\n",
     "c.yaml:1:1: unknown reserved key \"ksiss.settings\" (keys starting with \"ksiss.\" are reserved; known: "
     "ksiss.catalog)"},
    {"service value a number", "s: 5\n",
     "c.yaml:1:4: service \"s\": expected a list of metrics or a mapping with metrics:, got \"5\""},
    {"service value empty", "s:\n", "c.yaml:1:3: service \"s\": expected a list of metrics or a mapping with metrics:, got nothing"},
    {"document is a list", "- a\n- b\n",
     "c.yaml:1:1: expected a ConfigMap or a mapping of service names to their metrics, got a list"},
};

static void test_each_semantic_problem_is_reported_where_it_is(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        fixture f;
        parse_yaml(&f, c->yaml);
        if (f.rc != -1)
            fail_msg("%s: accepted", c->what);
        bool found = false;
        for (size_t j = 0; j < f.d.n && !found; j++) {
            char *s = ksiss_diag_format(&f.d.v[j]);
            found = !strcmp(s, c->diag);
            free(s);
        }
        if (!found) {
            char *all = all_diags(&f.d);
            print_error("case \"%s\":\nwanted: %s\ngot:\n%s", c->what, c->diag, all);
            free(all);
            fixture_free(&f);
            fail();
        }
        fixture_free(&f);
    }
}

static void test_every_problem_is_reported_in_one_run(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "a:\n  - {name: m, query: q, slo: -1}\nb:\n  - {name: m, query: '', slo: 1}\nc:\n  policy: nope\n"
                   "  metrics: [{name: m, query: q, slo: 1, scaleUpFactor: 0.5}]\n");
    assert_int_equal(f.rc, -1);
    assert_int_equal(f.d.n, 4);
    assert_int_equal(f.cfg.n_services, 3);
    fixture_free(&f);
}

static void test_model_memory_drops_small_listed_tiers_with_a_warning(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "s:\n  tiers: [mig-3g.40gb, mig-7g.80gb, gpu]\n  modelMemoryGiB: 60\n"
                   "  metrics: [{name: m, query: q, slo: 1}]\n");
    assert_int_equal(f.rc, 0);
    const ksiss_service_cfg *s = svc(&f, "s");
    assert_int_equal(s->n_ladder, 2);
    assert_string_equal(s->ladder[0]->name, "mig-7g.80gb");
    assert_has_diag(&f.d, "c.yaml:3:19: warning: service \"s\": tier mig-3g.40gb (40 GiB) cannot hold "
                          "modelMemoryGiB 60: left out of the ladder");
    fixture_free(&f);
}

static void test_model_memory_filters_the_default_ladder_silently(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "s:\n  modelMemoryGiB: 100\n  metrics: [{name: m, query: q, slo: 1}]\n");
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.d.n, 0);
    const ksiss_service_cfg *s = svc(&f, "s");
    assert_true(s->n_ladder >= 1);
    for (size_t i = 0; i < s->n_ladder; i++)
        assert_true(s->ladder[i]->mem_gib >= 100);
    assert_string_equal(s->ladder[0]->name, "gpu*2");
    fixture_free(&f);
}

static void test_configmap_value_that_is_not_a_string_is_explained(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "kind: ConfigMap\ndata:\n  gpt2:\n    - {name: m, query: q, slo: 1}\n");
    assert_int_equal(f.rc, -1);
    assert_has_diag(&f.d, "c.yaml:4:5: service \"gpt2\": ConfigMap data values must be strings: write \"gpt2: |\" "
                          "and indent the list under it");
    fixture_free(&f);
}

/* ---- hostile input ---- */

static void test_hostile_input_is_an_error_never_a_crash(void **state)
{
    (void)state;
    /* Empty, blanks, binary junk, NUL bytes, a lone tab, an unterminated
     * quote, an alias bomb, wrong types everywhere, odd numbers. */
    static const struct {
        const char *text;
        size_t len;
    } inputs[] = {
        S_(""),
        S_("\n\n   \n"),
        S_("\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00"),
        S_("a: \x00\x01\x02"),
        S_("\t"),
        S_("s: \"unterminated\n"),
        S_("a: &a [x]\nb: &b [*a, *a]\nc: [*b, *b]\n"),
        S_("kind: ConfigMap\ndata: [1, 2]\n"),
        S_("kind: ConfigMap\ndata:\n  s: '{metrics: {a: b}, tiers: {x: y}, load: [1]}'\n"),
        S_("s: '[{name: [1], query: {a: b}, slo: [], scaleUpFactor: {}, direction: [x]}]'\n"),
        S_("s: '[{name: m, query: q, slo: .inf, scaleUpFactor: -.inf, scaleDownFactor: .nan}]'\n"),
        S_("s: '[{name: m, query: q, slo: 1e308, scaleUpFactor: 1e308, scaleDownFactor: 1e-320}]'\n"),
        S_("kind: ConfigMap\ndata:\n  ksiss.catalog: '[1, 2]'\n"),
        S_("---\n---\n---\n"),
        S_("? a\n? b\n"),
    };
    for (size_t i = 0; i < N_(inputs); i++) {
        fixture f;
        parse_text(&f, inputs[i].text, inputs[i].len, "c.yaml", NULL);
        if (f.rc != -1 || f.d.n == 0)
            fail_msg("input %zu: rc %d with %zu diagnostics", i, f.rc, f.d.n);
        fixture_free(&f);
    }
}

static void test_deep_nesting_is_refused(void **state)
{
    (void)state;
    size_t depth = 200000;
    char *t = ksiss_xmalloc(depth * 2 + 8);
    memcpy(t, "s: ", 3);
    memset(t + 3, '[', depth);
    memset(t + 3 + depth, ']', depth);
    t[3 + depth * 2] = '\0';
    fixture f;
    parse_text(&f, t, 3 + depth * 2, "c.yaml", NULL);
    assert_int_equal(f.rc, -1);
    assert_non_null(strstr(f.d.v[0].msg, "nesting deeper than"));
    fixture_free(&f);
    free(t);
}

static void test_ten_megabyte_query_is_accepted(void **state)
{
    (void)state;
    size_t big = 10u << 20;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "kind: ConfigMap\ndata:\n  s: |\n    - name: m\n      slo: 1\n      query: sum(");
    char *q = ksiss_xmalloc(big);
    memset(q, 'x', big);
    ksiss_sb_append(&sb, q, big);
    free(q);
    ksiss_sb_puts(&sb, ")\n");
    fixture f;
    parse_text(&f, sb.buf, sb.len, "c.yaml", NULL);
    assert_int_equal(f.rc, 0);
    assert_int_equal(strlen(svc(&f, "s")->metrics[0].query), big + 5);
    fixture_free(&f);
    ksiss_sb_free(&sb);
}

static void test_many_errors_are_capped_not_unbounded(void **state)
{
    (void)state;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (int i = 0; i < 3000; i++)
        ksiss_sb_printf(&sb, "s%d: [{name: m, query: q, slo: -1}]\n", i);
    fixture f;
    parse_text(&f, sb.buf, sb.len, "c.yaml", NULL);
    assert_int_equal(f.rc, -1);
    assert_int_equal(f.d.n, KSISS_DIAGS_MAX);
    assert_int_equal(f.d.dropped, 3000 - KSISS_DIAGS_MAX);
    fixture_free(&f);
    ksiss_sb_free(&sb);
}

/* Long lists are refused before any quadratic check could take long. */
static void test_overlong_lists_are_refused_quickly(void **state)
{
    (void)state;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "s:\n");
    for (int i = 0; i < 10000; i++)
        ksiss_sb_printf(&sb, "  - {name: m%d, query: q, slo: 1}\n", i);
    ksiss_sb_puts(&sb, "ksiss.catalog:\n  tiers:\n");
    for (int i = 0; i < 5000; i++)
        ksiss_sb_printf(&sb, "    - {gpu: H100-80GB, shared: 3, name: s%d}\n", i);
    fixture f;
    parse_text(&f, sb.buf, sb.len, "c.yaml", NULL);
    assert_int_equal(f.rc, -1);
    assert_has_diag(&f.d, "c.yaml:102:5: service \"s\": metrics: more than 100 metrics");
    assert_has_diag(&f.d, "c.yaml:10260:7: catalogue: tiers: more than 256 tiers");
    fixture_free(&f);
    ksiss_sb_free(&sb);
}

/* Mutations of the example (a fixed pseudo-random sequence, so a failure
 * reproduces): every result is either rejected with a diagnostic that is
 * an error, or accepted with a configuration that keeps every invariant
 * the policy relies on. */
static void test_mutated_configs_are_rejected_with_errors_or_valid(void **state)
{
    (void)state;
    size_t len = 0;
    char *e = NULL;
    char *orig = ksiss_read_file("examples/autoscaler-config.yaml", 1u << 20, &len, &e);
    assert_non_null(orig);
    static const char bytes[] = ":- \n[]{}\"'|*&09.#\t\xff\x00>!%";
    uint32_t seed = 12345;
    char *buf = ksiss_xmalloc(len * 2 + 1);
    int accepted = 0, rejected = 0;
    for (int iter = 0; iter < 400; iter++) {
        memcpy(buf, orig, len);
        size_t n = len;
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            switch ((seed >> 8) % 3) {
            case 0:
                buf[at] = bytes[(seed >> 12) % (sizeof(bytes) - 1)];
                break;
            case 1: {
                size_t cut = 1 + (seed >> 12) % 16;
                if (at + cut > n)
                    cut = n - at;
                memmove(buf + at, buf + at + cut, n - at - cut);
                n -= cut;
                break;
            }
            default: {
                size_t dup = 1 + (seed >> 12) % 40;
                if (at + dup > n)
                    dup = n - at;
                if (n + dup <= len * 2) {
                    memmove(buf + at + dup, buf + at, n - at);
                    n += dup;
                }
                break;
            }
            }
        }
        fixture f;
        parse_text(&f, buf, n, "m.yaml", NULL);
        if (f.rc != 0) {
            rejected++;
            bool error = false;
            for (size_t i = 0; i < f.d.n; i++)
                error = error || strncmp(f.d.v[i].msg, "warning:", 8) != 0;
            if (!error)
                fail_msg("mutation %d rejected without an error", iter);
        } else {
            accepted++;
            for (size_t i = 0; i < f.cfg.n_services; i++) {
                const ksiss_service_cfg *s = &f.cfg.services[i];
                if (s->min_replicas > s->max_replicas || s->max_replicas < 1 || s->n_ladder == 0 ||
                    (s->n_metrics == 0 && !s->has_load))
                    fail_msg("mutation %d: service %s accepted with broken bounds", iter, s->name);
                for (size_t j = 1; j < s->n_ladder; j++)
                    if (s->ladder[j - 1]->rank >= s->ladder[j]->rank)
                        fail_msg("mutation %d: ladder of %s out of order", iter, s->name);
                for (size_t j = 0; j < s->n_metrics; j++) {
                    const ksiss_metric_cfg *m = &s->metrics[j];
                    if (!(m->slo > 0) || !isfinite(m->slo) || !m->query || m->scale_up_factor < 1 ||
                        !(m->scale_down_factor > 0) || m->scale_down_factor > 1)
                        fail_msg("mutation %d: metric %s of %s accepted with bad figures", iter, m->name, s->name);
                }
            }
        }
        fixture_free(&f);
    }
    free(buf);
    free(orig);
    /* Both outcomes must occur, or the mutations test nothing. */
    print_message("mutations: %d accepted, %d rejected\n", accepted, rejected);
    assert_true(accepted > 20 && rejected > 20);
}

/* ---- catalogue extension ---- */

static void test_catalogue_extension_adds_models_and_tiers_services_can_use(void **state)
{
    (void)state;
    fixture f;
    parse_file(&f, DATA "catalog-ext.yaml", NULL);
    char *all = all_diags(&f.d);
    if (f.rc != 0)
        fail_msg("%s", all);
    free(all);
    const ksiss_service_cfg *m = svc(&f, "mistral");
    assert_string_equal(m->gpu_model, "L40S-48GB");
    assert_int_equal(m->n_ladder, 4);
    assert_string_equal(m->ladder[1]->name, "l40s-half-mps");
    assert_string_equal(m->ladder[1]->resource, "nvidia.com/gpu-24gb");
    assert_true(m->ladder[1]->decode_rel == 0.45);
    assert_string_equal(m->ladder[1]->perf_source, "measured: vLLM 0.6 llama3-8b, 2025-03");
    assert_true(m->ladder[1]->cost == 0.5);
    const ksiss_service_cfg *l = svc(&f, "llama-70b");
    assert_int_equal(l->n_ladder, 3);
    assert_string_equal(l->ladder[1]->name, "gpu*3");
    assert_ptr_equal(ksiss_catalog_model_by_product(&f.cat, "NVIDIA-L40S"), ksiss_catalog_model(&f.cat, "L40S-48GB"));
    fixture_free(&f);
}

static void test_catalogue_extension_errors_are_positioned_and_leave_the_catalogue_unchanged(void **state)
{
    (void)state;
    fixture f;
    parse_file(&f, DATA "catalog-invalid.yaml", NULL);
    assert_int_equal(f.rc, -1);
    assert_has_diag(&f.d, DATA "catalog-invalid.yaml:11:20: catalogue: models[0]: memoryGiB: must be a positive "
                               "number of GiB up to 100000, got -24");
    assert_has_diag(&f.d, DATA "catalog-invalid.yaml:12:15: catalogue: models[1]: GPU model H100-80GB is already "
                               "in the catalogue");
    assert_has_diag(&f.d, DATA "catalog-invalid.yaml:15:14: catalogue: tiers[0]: unknown GPU model \"B200-192GB\" "
                               "(known: A30-24GB, A100-40GB, A100-80GB, H100-80GB, H200-141GB; add it under models:)");
    assert_has_diag(&f.d, DATA "catalog-invalid.yaml:20:15: catalogue: tiers[1]: kind: must be mig, shared or gpu");
    assert_has_diag(&f.d, DATA "catalog-invalid.yaml:25:19: catalogue: tiers[1]: inLadder: expected true or false, "
                               "got \"maybe\"");
    ksiss_catalog builtin;
    ksiss_catalog_builtin(&builtin);
    assert_int_equal(f.cat.n_models, builtin.n_models);
    assert_int_equal(f.cat.n_tiers, builtin.n_tiers);
    ksiss_catalog_free(&builtin);
    fixture_free(&f);
}

static void test_catalogue_extension_mig_profiles_of_a_new_model(void **state)
{
    (void)state;
    static const char doc[] = "models:\n"
                              "  - name: H20-96GB\n"
                              "    memoryGiB: 96\n"
                              "    mig:\n"
                              "      computeSlices: 7\n"
                              "      memorySlices: 8\n"
                              "      profiles:\n"
                              "        - {profile: 1g.12gb, compute: 1, memory: 1, memoryGiB: 11.5}\n"
                              "        - {profile: 3g.48gb, compute: 3, memory: 4, memoryGiB: 47}\n"
                              "        - {profile: 7g.96gb, compute: 7, memory: 8, memoryGiB: 95}\n"
                              "        - {profile: 9g.96gb, compute: 9, memory: 8, memoryGiB: 95}\n";
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_catalog_extend(&cat, doc, strlen(doc), "cat.yaml", 0, 0, &d), -1);
    assert_int_equal(d.n, 1);
    char *s = ksiss_diag_format(&d.v[0]);
    assert_string_equal(s, "cat.yaml:11:39: catalogue: model H20-96GB: mig: profiles[3]: compute: 9 is out of range [1, 7]");
    free(s);
    assert_null(ksiss_catalog_model(&cat, "H20-96GB"));
    ksiss_diags_free(&d);
    /* Without the impossible profile it goes in, with its ladder. */
    size_t ok_len = strstr(doc, "        - {profile: 9g") - doc;
    assert_int_equal(ksiss_catalog_extend(&cat, doc, ok_len, "cat.yaml", 0, 0, &d), 0);
    assert_non_null(ksiss_catalog_tier(&cat, "H20-96GB", "mig-3g.48gb"));
    const ksiss_tier *ladder[16];
    size_t n = ksiss_catalog_ladder(&cat, "H20-96GB", ladder, N_(ladder));
    assert_true(n >= 5);
    assert_string_equal(ladder[0]->name, "mig-1g.12gb");
    ksiss_diags_free(&d);
    ksiss_catalog_free(&cat);
}

static void test_model_without_a_default_ladder_needs_listed_tiers(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "ksiss.catalog:\n"
                   "  models:\n"
                   "    - {name: T4-16GB, memoryGiB: 16, wholeGpus: [], shared: [2]}\n"
                   "a:\n"
                   "  gpu: T4-16GB\n"
                   "  metrics: [{name: m, query: q, slo: 1}]\n"
                   "b:\n"
                   "  gpu: T4-16GB\n"
                   "  tiers: [shared/2]\n"
                   "  metrics: [{name: m, query: q, slo: 1}]\n");
    assert_int_equal(f.rc, -1);
    assert_int_equal(f.d.n, 1);
    assert_has_diag(&f.d, "c.yaml:5:3: service \"a\": GPU T4-16GB has no tier on its default ladder: list the tiers to use");
    assert_int_equal(svc(&f, "b")->n_ladder, 1);
    fixture_free(&f);
}

/* ---- the API's data form ---- */

static void test_data_from_the_api_is_parsed_with_positions_per_key(void **state)
{
    (void)state;
    const char *keys[] = {"gpt2", "llama", "ksiss.catalog"};
    const char *values[] = {
        "- name: tgi\n  query: q{pod=\"%s\"}\n  slo: 0.5\n",
        "metrics:\n  - name: ttft\n    query: q\n    slo: zero\ntiers: [gpu*3]\n",
        "tiers:\n  - {gpu: H100-80GB, gpus: 3}\n",
    };
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    ksiss_config cfg;
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_config_parse_data(keys, values, 3, "configmap default/autoscaler-config", &cat, &cfg, &d);
    assert_int_equal(rc, -1);
    assert_int_equal(d.n, 1);
    char *s = ksiss_diag_format(&d.v[0]);
    assert_string_equal(s, "configmap default/autoscaler-config key llama:4:10: service \"llama\": metric \"ttft\": "
                           "slo: expected a finite number, got \"zero\"");
    free(s);
    assert_int_equal(cfg.n_services, 2);
    bool by_prefix;
    const ksiss_service_cfg *l = ksiss_config_find(&cfg, "llama", &by_prefix);
    assert_int_equal(l->n_ladder, 1);
    assert_string_equal(l->ladder[0]->name, "gpu*3");
    ksiss_config_free(&cfg);
    ksiss_diags_free(&d);
    ksiss_catalog_free(&cat);
}

/* ---- lookup ---- */

static void test_find_prefers_exact_names_then_the_original_prefix_rule(void **state)
{
    (void)state;
    fixture f;
    parse_yaml(&f, "llama3:\n  - {name: m, query: q, slo: 1}\nllama3-70b:\n  - {name: m, query: q, slo: 2}\n");
    assert_int_equal(f.rc, 0);
    static const struct {
        const char *name;
        const char *want;
        bool by_prefix;
    } cases[] = {
        {"llama3-70b", "llama3-70b", false},
        {"llama3", "llama3", false},
        {"llama3-8b", "llama3", true},
        {"llama3-00001", "llama3", true},
        {"mistral", NULL, false},
        {"mistral-7b", NULL, false},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        bool by_prefix = !cases[i].by_prefix;
        const ksiss_service_cfg *s = ksiss_config_find(&f.cfg, cases[i].name, &by_prefix);
        if (!cases[i].want) {
            assert_null(s);
            continue;
        }
        assert_non_null(s);
        assert_string_equal(s->name, cases[i].want);
        assert_int_equal(by_prefix, cases[i].by_prefix);
    }
    fixture_free(&f);
}

/* ---- ksiss check-config ---- */

/* Runs the command with stdout and stderr captured into files; returns
 * the exit code; *out and *err receive the text (caller frees). */
static int run_check_config(const char *const *args, size_t n, char **out, char **err)
{
    char *argv[8];
    argv[0] = (char *)"check-config";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    char out_path[] = "/tmp/ksiss-test-out-XXXXXX", err_path[] = "/tmp/ksiss-test-err-XXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    assert_true(fo >= 0 && fe >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = ksiss_cmd_check_config((int)n + 1, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    size_t len;
    char *e = NULL;
    *out = ksiss_read_file(out_path, 1u << 24, &len, &e);
    *err = ksiss_read_file(err_path, 1u << 24, &len, &e);
    unlink(out_path);
    unlink(err_path);
    return rc;
}

static void test_check_config_prints_a_summary_line_per_service_and_metric(void **state)
{
    (void)state;
    const char *args[] = {DATA "original-shipped.yaml"};
    char *out, *err;
    assert_int_equal(run_check_config(args, 1, &out, &err), KSISS_EXIT_OK);
    /* The original's format names no GPU model: check-config says where it
     * will come from instead of implying the default (issue 18). */
    assert_non_null(strstr(out, "service gpt2: format legacy, gpu from the running revision at run time (the GPU "
                                "resource it requests, the nvidia.com/gpu.product label of its nodes), tiers the "
                                "model's ladder (A100-40GB: [mig-1g.5gb, mig-2g.10gb, mig-3g.20gb, mig-4g.20gb, "
                                "mig-7g.40gb, gpu, gpu*2, gpu*4, gpu*8]; other models: ksiss tiers --gpu MODEL), "));
    assert_null(strstr(out, "H100-80GB"));
    assert_non_null(strstr(out, "replicas 1..1, modelMemoryGiB unknown, cooldown up 30s down 2m, stabilization up 0s "
                                "down 5m, staleAfter 2m, sloTarget 0.99, policy ksiss\n"));
    assert_non_null(strstr(out, "  metric gpt2/tgi_request_metric: slo 0.5, direction lower, aggregate max, "
                                "scaleUpFactor 1.5, scaleDownFactor 0.5, query increase("));
    assert_non_null(strstr(out, DATA "original-shipped.yaml: valid: 1 service, 1 metric\n"));
    assert_string_equal(err, "");
    free(out);
    free(err);
}

static void test_check_config_exit_codes(void **state)
{
    (void)state;
    static const struct {
        const char *args[4];
        size_t n;
        int rc;
        const char *err_has;
    } cases[] = {
        {{DATA "invalid-block.yaml"}, 1, KSISS_EXIT_PROBLEM, DATA "invalid-block.yaml:10:12: service \"gpt2\""},
        {{0}, 0, KSISS_EXIT_USAGE, "FILE is missing"},
        {{"--frobnicate", "x.yaml"}, 2, KSISS_EXIT_USAGE, "unknown option --frobnicate"},
        {{"a.yaml", "b.yaml"}, 2, KSISS_EXIT_USAGE, "one FILE only"},
        {{"--catalog"}, 1, KSISS_EXIT_USAGE, "--catalog needs a value"},
        {{DATA "does-not-exist.yaml"}, 1, KSISS_EXIT_RUNTIME, "cannot open"},
        {{"--configmap", "nope", DATA "original-shipped.yaml"}, 3, KSISS_EXIT_PROBLEM, "no ConfigMap named \"nope\""},
        {{"--catalog", DATA "catalog-only.yaml", DATA "uses-catalog.yaml"}, 3, KSISS_EXIT_OK, ""},
        {{"--catalog", DATA "original-shipped.yaml", DATA "uses-catalog.yaml"}, 3, KSISS_EXIT_PROBLEM,
         "catalogue: unknown field \"apiVersion\""},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        char *out, *err;
        int rc = run_check_config(cases[i].args, cases[i].n, &out, &err);
        if (rc != cases[i].rc || !strstr(err, cases[i].err_has))
            fail_msg("case %zu: rc %d (want %d), stderr: %s", i, rc, cases[i].rc, err);
        free(out);
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_original_shipped_example_parses_with_legacy_defaults),
        cmocka_unit_test(test_example_config_parses_with_every_extended_field),
        cmocka_unit_test(test_load_signal_shortens_default_down_window),
        cmocka_unit_test(test_per_gpu_optional_learns),
        cmocka_unit_test(test_prompt_histogram_without_learning),
        cmocka_unit_test(test_slo_target_defaults_and_parses),
        cmocka_unit_test(test_configmap_json_from_the_api_parses_its_data),
        cmocka_unit_test(test_bare_data_mapping_accepts_values_written_directly),
        cmocka_unit_test(test_data_section_alone_is_read_as_the_data_mapping),
        cmocka_unit_test(test_configmap_is_picked_by_name_among_several_documents),
        cmocka_unit_test(test_errors_inside_blocks_point_into_the_configmap_file),
        cmocka_unit_test(test_yaml_syntax_error_inside_a_block_points_into_the_file),
        cmocka_unit_test(test_quoted_single_line_value_keeps_its_column),
        cmocka_unit_test(test_each_semantic_problem_is_reported_where_it_is),
        cmocka_unit_test(test_every_problem_is_reported_in_one_run),
        cmocka_unit_test(test_model_memory_drops_small_listed_tiers_with_a_warning),
        cmocka_unit_test(test_model_memory_filters_the_default_ladder_silently),
        cmocka_unit_test(test_configmap_value_that_is_not_a_string_is_explained),
        cmocka_unit_test(test_hostile_input_is_an_error_never_a_crash),
        cmocka_unit_test(test_deep_nesting_is_refused),
        cmocka_unit_test(test_ten_megabyte_query_is_accepted),
        cmocka_unit_test(test_many_errors_are_capped_not_unbounded),
        cmocka_unit_test(test_overlong_lists_are_refused_quickly),
        cmocka_unit_test(test_mutated_configs_are_rejected_with_errors_or_valid),
        cmocka_unit_test(test_catalogue_extension_adds_models_and_tiers_services_can_use),
        cmocka_unit_test(test_catalogue_extension_errors_are_positioned_and_leave_the_catalogue_unchanged),
        cmocka_unit_test(test_catalogue_extension_mig_profiles_of_a_new_model),
        cmocka_unit_test(test_model_without_a_default_ladder_needs_listed_tiers),
        cmocka_unit_test(test_data_from_the_api_is_parsed_with_positions_per_key),
        cmocka_unit_test(test_find_prefers_exact_names_then_the_original_prefix_rule),
        cmocka_unit_test(test_check_config_prints_a_summary_line_per_service_and_metric),
        cmocka_unit_test(test_check_config_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
