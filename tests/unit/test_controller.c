/* test_controller.c: the pure helpers of the control loop
 * (src/shell/controller_eval.c): traffic-step settings, the current
 * deployment read from Knative objects written like the API returns them
 * (tests/data/knative/), the backoff annotation fed to the policy, and a
 * reading kept across ticks (reusable, and deciding as the objects do). */
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

#include "core/config.h"
#include "core/json_path.h"
#include "shell/controller.h"
#include "shell/prom.h"
#include "core/util.h"
#include "support/logfmt.h"
#include "support/test_support.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *text;
    int ok;
    size_t n;
    int last;
} steps_case;

static void test_traffic_steps_accept_ascending_percentages_ending_at_100(void **state)
{
    (void)state;
    static const steps_case cases[] = {
        {"10,50,100", 1, 3, 100}, {"100", 1, 1, 100}, {"1,2,3,100", 1, 4, 100},
        {"50,10,100", 0, 0, 0},   {"10,50", 0, 0, 0}, {"0,100", 0, 0, 0},
        {"10,,100", 0, 0, 0},     {"", 0, 0, 0},      {"10,50,100,100", 0, 0, 0},
        {"ten,100", 0, 0, 0},     {"10,150", 0, 0, 0}, {"-5,100", 0, 0, 0},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        int *v = NULL;
        size_t n = 0;
        char *err = NULL;
        int rc = ksiss_parse_traffic_steps(cases[i].text, &v, &n, &err);
        if ((rc == 0) != cases[i].ok)
            fail_msg("\"%s\": rc %d (%s)", cases[i].text, rc, err ? err : "");
        if (rc == 0) {
            assert_int_equal(n, cases[i].n);
            assert_int_equal(v[n - 1], cases[i].last);
        } else {
            assert_non_null(strstr(err, "traffic steps"));
        }
        free(v);
        free(err);
    }
}

static void test_deployment_reads_tier_and_instances_of_the_serving_revision(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    json_t *st = json_object_get(json_array_get(revs, 0), "status");
    json_object_set_new(st, "actualReplicas", json_integer(2));
    json_object_set_new(st, "desiredReplicas", json_integer(3));
    ksiss_deployment d;
    char *why = NULL;
    ksiss_controller_deployment(&cat, NULL, svc, revs, &d, &why);
    assert_null(why);
    assert_non_null(d.tier);
    assert_string_equal(d.tier->name, "mig-1g.10gb");
    assert_int_equal(d.replicas_ready, 2);
    assert_int_equal(d.replicas_starting, 1);
    assert_false(d.transition_in_flight);
    json_decref(svc);
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

static void test_deployment_during_a_transition_is_the_old_tier_and_in_flight(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *svc = test_load_json("tests/data/knative", "service-wait-ready.json");   /* template already on mig-2g.20gb */
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    ksiss_deployment d;
    char *why = NULL;
    ksiss_controller_deployment(&cat, NULL, svc, revs, &d, &why);
    assert_non_null(d.tier);
    assert_string_equal(d.tier->name, "mig-1g.10gb");
    assert_true(d.transition_in_flight);
    json_decref(svc);
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

static void test_unknown_gpu_resource_leaves_the_tier_unknown_with_a_reason(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    json_t *c = json_array_get(json_object_get(json_object_get(json_array_get(revs, 0), "spec"), "containers"), 1);
    json_t *res = json_object_get(c, "resources");
    json_object_set_new(res, "limits", json_pack("{s:s}", "nvidia.com/mig-5g.99gb", "1"));
    json_object_set_new(res, "requests", json_pack("{s:s}", "nvidia.com/mig-5g.99gb", "1"));
    ksiss_deployment d;
    char *why = NULL;
    ksiss_controller_deployment(&cat, NULL, svc, revs, &d, &why);
    assert_null(d.tier);
    assert_non_null(why);
    free(why);
    json_decref(svc);
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

typedef struct {
    const char *annotation;     /* NULL: none */
    const char *tier;           /* expected, NULL: none */
} backoff_case;

static void test_backoff_picks_the_latest_unexpired_tier(void **state)
{
    (void)state;
    static const backoff_case cases[] = {
        {NULL, NULL},
        {"{\"mig-2g.20gb\": 2000}", "mig-2g.20gb"},
        {"{\"mig-2g.20gb\": 500}", NULL},
        {"{\"mig-2g.20gb\": 2000, \"gpu\": 3000, \"mig-3g.40gb\": 900}", "gpu"},
        {"not json", NULL},
        {"{\"gpu\": \"soon\"}", NULL},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        json_t *svc = test_load_json("tests/data/knative", "service.json");
        if (cases[i].annotation)
            json_object_set_new(json_object_get(json_object_get(svc, "metadata"), "annotations"), KSISS_ANN_BACKOFF,
                                json_string(cases[i].annotation));
        char *tier;
        int64_t until;
        ksiss_controller_backoff(svc, 1000, &tier, &until);
        if (cases[i].tier) {
            if (!tier || strcmp(tier, cases[i].tier) != 0)
                fail_msg("%s: got %s", cases[i].annotation, tier ? tier : "none");
            assert_true(until > 1000);
        } else if (tier) {
            fail_msg("%s: got %s, want none", cases[i].annotation, tier);
        }
        free(tier);
        json_decref(svc);
    }
}

static void test_reading_is_reusable_only_when_settled_and_known(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    static const struct {
        const char *file, *annotation, *resource;
        bool reusable;
    } cases[] = {
        {"service.json", NULL, NULL, true},
        {"service-wait-ready.json", NULL, NULL, false},     /* a transition in flight */
        {"service.json", KSISS_ANN_BACKOFF, NULL, false},   /* depends on the time */
        {"service.json", KSISS_ANN_TRANSITION, NULL, false},
        {"service.json", NULL, "nvidia.com/mig-5g.99gb", false},   /* tier unknown */
    };
    for (size_t i = 0; i < N_(cases); i++) {
        json_t *svc = test_load_json("tests/data/knative", cases[i].file);
        json_t *r = json_deep_copy(revs);
        if (cases[i].annotation)
            json_object_set_new(json_object_get(json_object_get(svc, "metadata"), "annotations"),
                                cases[i].annotation, json_string("{}"));
        if (cases[i].resource) {
            json_t *c = json_array_get(json_object_get(json_object_get(json_array_get(r, 0), "spec"), "containers"), 1);
            json_t *res = json_object_get(c, "resources");
            json_object_set_new(res, "limits", json_pack("{s:s}", cases[i].resource, "1"));
            json_object_set_new(res, "requests", json_pack("{s:s}", cases[i].resource, "1"));
        }
        ksiss_deployment d;
        char *why = NULL;
        ksiss_controller_deployment(&cat, NULL, svc, r, &d, &why);
        if (ksiss_controller_reusable(svc, &d) != cases[i].reusable)
            fail_msg("case %zu (%s, %s, %s): reusable %d, want %d", i, cases[i].file,
                     cases[i].annotation ? cases[i].annotation : "-", cases[i].resource ? cases[i].resource : "-",
                     !cases[i].reusable, cases[i].reusable);
        free(why);
        json_decref(r);
        json_decref(svc);
    }
    json_decref(revs);
    ksiss_catalog_free(&cat);
}

static const char *ONE_SERVICE =
    "llama3-8b: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: histogram_quantile(0.95, sum by (le) (rate(ttft_bucket{service=\"{service}\"}[1m])))\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n";

/* The same evaluation twice, from the objects and from the reading kept
 * from them: the same deployment, revision and decision, and the second
 * reads no object (no API client, no cached objects given). */
static void test_evaluation_on_a_kept_reading_decides_as_on_the_objects(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_config cfg;
    ksiss_diags dg;
    ksiss_diags_init(&dg);
    assert_int_equal(ksiss_catalog_builtin(&cat), 0);
    assert_int_equal(ksiss_config_parse(ONE_SERVICE, strlen(ONE_SERVICE), "test.yaml", NULL, &cat, &cfg, &dg), 0);
    ksiss_diags_free(&dg);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    const char *pods[] = {"llama3-8b-00001-deployment-abc"};
    ksiss_free_gpu free_gpus[] = {{"nvidia.com/mig-2g.20gb", NULL, 4}, {"nvidia.com/mig-3g.40gb", NULL, 4}};
    static const double values[] = {2.0, 0.8, 0.1};    /* breach, within, idle */
    int up = 0;
    for (size_t i = 0; i < N_(values); i++) {
        ksiss_promql_sample sample = {NULL, values[i], NULL};
        ksiss_prom_share share = {.ok = true, .samples = &sample, .n = 1};
        const ksiss_prom_share *shares[] = {&share};
        ksiss_eval_in in = {
            .cat = &cat, .svc = &cfg.services[0], .ns = "default", .name = "llama3-8b", .service = svc,
            .running_pods = pods, .n_running_pods = 1, .all_revisions = revs, .shares = shares,
            .free = free_gpus, .n_free = N_(free_gpus), .now_ms = 1000000, .interval_ms = 10000,
        };
        ksiss_eval a, b;
        assert_int_equal(ksiss_controller_evaluate(&in, &a), 0);
        assert_true(ksiss_controller_reusable(a.view.service, &a.current));
        ksiss_eval_in kept = in;
        kept.service = NULL;
        kept.all_revisions = NULL;
        kept.known = &a.current;
        kept.known_revision = "llama3-8b-00001";
        assert_int_equal(ksiss_controller_evaluate(&kept, &b), 0);
        assert_null(b.view.service);
        assert_string_equal(a.revision, "llama3-8b-00001");
        assert_string_equal(b.revision, a.revision);
        assert_ptr_equal(b.current.tier, a.current.tier);
        assert_int_equal(b.current.replicas_ready, a.current.replicas_ready);
        assert_true(a.decided && b.decided);
        if (a.decision.action != b.decision.action || a.decision.tier != b.decision.tier ||
            a.decision.replicas != b.decision.replicas || strcmp(a.decision.reason, b.decision.reason) != 0)
            fail_msg("value %g: from the objects %s %s x%d (%s), kept %s %s x%d (%s)", values[i],
                     ksiss_action_name(a.decision.action), a.decision.tier ? a.decision.tier->name : "-",
                     a.decision.replicas, a.decision.reason, ksiss_action_name(b.decision.action),
                     b.decision.tier ? b.decision.tier->name : "-", b.decision.replicas, b.decision.reason);
        up += a.decision.action == KSISS_UP;
        ksiss_eval_free(&a);
        ksiss_eval_free(&b);
    }
    assert_int_equal(up, 1);    /* the breach moves up: the comparison covers an action */
    json_decref(svc);
    json_decref(revs);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
}

/* A prompt-token load with perGpu learns nothing but reads the
 * prompt-length histogram into the service's tally across ticks (the
 * rate times the time since the last tick, a minute at first): 3-5k-token
 * prompts miss a 1 s TTFT on an idle 1g slice (3k tokens a second) for
 * 56% of them, on 2g and 3g for none; promptHistogram: "" reads none. */
static void test_the_prompt_tally_rules_out_a_slice_across_ticks(void **state)
{
    (void)state;
    static const char *yaml[] = {
        "llama3-8b: |\n  metrics:\n    - name: ttft_p95\n"
        "      query: histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_bucket[1m]))\n      slo: 1.0\n"
        "  load: {query: 'sum(rate(vllm:prompt_tokens_total[1m]))', perGpu: 14000, throughput: prefill}\n"
        "  tiers: [mig-1g.10gb, mig-2g.20gb, mig-3g.40gb]\n",
        "llama3-8b: |\n  metrics:\n    - name: ttft_p95\n"
        "      query: histogram_quantile(0.95, rate(vllm:time_to_first_token_seconds_bucket[1m]))\n      slo: 1.0\n"
        "  load: {query: 'sum(rate(vllm:prompt_tokens_total[1m]))', perGpu: 14000, throughput: prefill,\n"
        "         learnQueries: {promptHistogram: ''}}\n"
        "  tiers: [mig-1g.10gb, mig-2g.20gb, mig-3g.40gb]\n",
    };
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    const char *pods[] = {"llama3-8b-00001-deployment-abc"};
    ksiss_free_gpu free_gpus[] = {{"nvidia.com/mig-2g.20gb", NULL, 4}, {"nvidia.com/mig-3g.40gb", NULL, 4}};
    for (int c = 0; c < 2; c++) {
        ksiss_catalog cat;
        ksiss_config cfg;
        ksiss_diags dg;
        ksiss_diags_init(&dg);
        assert_int_equal(ksiss_catalog_builtin(&cat), 0);
        assert_int_equal(ksiss_config_parse(yaml[c], strlen(yaml[c]), "test.yaml", NULL, &cat, &cfg, &dg), 0);
        ksiss_diags_free(&dg);
        ksiss_promql_sample metric = {NULL, 0.4, NULL}, load = {NULL, 3000, NULL};
        ksiss_promql_sample hist[] = {{NULL, 1, "+Inf"}, {NULL, 0, "2000"}, {NULL, 1, "5000"}, {NULL, 0, "1000"}};
        ksiss_prom_share mshare = {.ok = true, .samples = &metric, .n = 1};
        ksiss_prom_share lshare = {.ok = true, .samples = &load, .n = 1};
        ksiss_prom_share hshare = {.ok = true, .samples = hist, .n = N_(hist)};
        const ksiss_prom_share *shares[] = {&mshare};
        const ksiss_prom_share *learn_shares[KSISS_LQ_N] = {0};
        learn_shares[KSISS_LQ_PROMPT_HIST] = c == 0 ? &hshare : NULL;
        ksiss_prompt_tally tally = {0};
        ksiss_eval_in in = {
            .cat = &cat, .svc = &cfg.services[0], .ns = "default", .name = "llama3-8b", .service = svc,
            .running_pods = pods, .n_running_pods = 1, .all_revisions = revs, .shares = shares,
            .load_share = &lshare, .learn_shares = learn_shares, .tally = &tally,
            .free = free_gpus, .n_free = N_(free_gpus), .now_ms = 1000000, .interval_ms = 10000,
        };
        ksiss_eval e;
        ksiss_metrics *reg = ksiss_metrics_new();
        for (int tick = 0; tick < 2; tick++) {
            assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
            assert_false(e.learning);
            ksiss_controller_export_floor(reg, "llama3-8b", &cfg.services[0], &e);
            char *text = ksiss_metrics_render(reg);
            if (c == 1) {
                assert_int_equal(e.n_slow, 0);
                assert_true(e.tallied == 0);
                assert_null(strstr(text, "ksiss_tier_too_slow{"));
            } else {
                assert_true(fabs(e.tallied - (tick == 0 ? 60 : 70)) < 0.05);
                assert_int_equal(e.n_slow, 1);
                assert_string_equal(e.slow[0].tier->name, "mig-1g.10gb");
                assert_true(fabs(e.slow[0].share - log(5000 / 3000.0) / log(2.5)) < 1e-3);
                /* the gauge: the 1g slice's share, no other tier */
                const char *g = strstr(text, "ksiss_tier_too_slow{service=\"llama3-8b\",tier=\"mig-1g.10gb\"} 0.557");
                assert_non_null(g);
                assert_null(strstr(text, "ksiss_tier_too_slow{service=\"llama3-8b\",tier=\"mig-2g"));
            }
            free(text);
            ksiss_eval_free(&e);
            in.now_ms += 10000;
        }
        /* no longer too slow (a service whose prompts it now meets): its series goes */
        ksiss_eval none;
        memset(&none, 0, sizeof(none));
        ksiss_controller_export_floor(reg, "llama3-8b", &cfg.services[0], &none);
        char *text = ksiss_metrics_render(reg);
        assert_null(strstr(text, "ksiss_tier_too_slow{service"));
        free(text);
        ksiss_metrics_free(reg);
        ksiss_prompt_tally_free(&tally);
        ksiss_config_free(&cfg);
        ksiss_catalog_free(&cat);
    }
    json_decref(svc);
    json_decref(revs);
}

static const char *LEARNING_SERVICE =
    "llama3-8b: |\n"
    "  metrics:\n"
    "    - name: ttft_p95\n"
    "      query: histogram_quantile(0.95, sum by (le) (rate(ttft_bucket{service=\"{service}\"}[1m])))\n"
    "      slo: 1.0\n"
    "      scaleUpFactor: 1.1\n"
    "      scaleDownFactor: 0.5\n"
    "  load: {query: 'sum(rate(vllm:prompt_tokens_total[1m]))', throughput: prefill}\n";

/* A fresh learner state (configuration generation gen) through one
 * evaluation on one ready instance, one 30 s later on two (rstatus, the
 * latest ready revision's status, says so) and one 30 s after that, a
 * whole window since the first: the last tick's prefill result, its
 * decode's in *decode. */
static ksiss_learn_result learn_across_a_scale_out(ksiss_eval_in *in, ksiss_learn_state *st, uint64_t gen,
                                                   json_t *rstatus, ksiss_learn_result *decode)
{
    ksiss_eval e;
    memset(st, 0, sizeof(*st));
    in->learn = st;
    in->cfg_gen = gen;
    json_object_set_new(rstatus, "actualReplicas", json_integer(1));
    for (int i = 0; i < 3; i++) {
        if (i == 1)
            json_object_set_new(rstatus, "actualReplicas", json_integer(2));
        assert_int_equal(ksiss_controller_evaluate(in, &e), 0);
        if (i == 0) {
            assert_true(e.current.transition_in_flight);
            assert_int_equal(e.learn_prefill, KSISS_LEARN_NOT_READ);
        }
        ksiss_learn_result rp = e.learn_prefill;
        *decode = e.learn_decode;
        ksiss_eval_free(&e);
        if (i == 2)
            return rp;
        in->now_ms += 30000;
    }
    return KSISS_LEARN_NOT_READ;
}

/* The learned capacity in ksiss run (issue 17): a service without perGpu
 * reads the five series (here batched shares), learns once one tier's
 * instances have served a whole window, hands the policy its view, keeps
 * the state to write; a restart reads it back from the Service's
 * annotation and knows what was learned without a new window. */
static void test_a_service_without_per_gpu_learns_and_restores(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_config cfg;
    ksiss_diags dg;
    ksiss_diags_init(&dg);
    assert_int_equal(ksiss_catalog_builtin(&cat), 0);
    assert_int_equal(ksiss_config_parse(LEARNING_SERVICE, strlen(LEARNING_SERVICE), "test.yaml", NULL, &cat, &cfg,
                                        &dg), 0);
    ksiss_diags_free(&dg);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    const char *pods[] = {"llama3-8b-00001-deployment-abc"};
    ksiss_free_gpu free_gpus[] = {{"nvidia.com/mig-2g.20gb", NULL, 4}, {"nvidia.com/mig-3g.40gb", NULL, 4}};
    ksiss_learn_state ls;
    memset(&ls, 0, sizeof(ls));
    ksiss_promql_sample metric = {NULL, 0.4, NULL}, load = {NULL, 1500, NULL};
    /* one instance at 1.5 req/s of 1000-token prompts, TTFT 0.12 s: theta ~1.1e-4 s/token */
    double lv[KSISS_LQ_N] = {0.12, 1000, 1.5, 3, 0.03, NAN, NAN};    /* the prefill not read: TTFT's split */
    ksiss_promql_sample ls_s[KSISS_LQ_N];
    ksiss_prom_share ls_sh[KSISS_LQ_N];
    const ksiss_prom_share *learn_shares[KSISS_LQ_N];
    for (int i = 0; i < KSISS_LQ_N; i++) {
        ls_s[i] = (ksiss_promql_sample){NULL, lv[i], NULL};
        ls_sh[i] = (ksiss_prom_share){.ok = true, .samples = &ls_s[i], .n = 1};
        learn_shares[i] = &ls_sh[i];
    }
    /* the prompt-length histogram by le (cumulative rates), in no order:
     * the 1000-token prompts all in (500, 1000], 1 + c^2 of a log-uniform
     * spread over that bucket */
    ksiss_promql_sample hist[] = {{NULL, 1.5, "+Inf"}, {NULL, 0, "500"}, {NULL, 1.5, "1000"}, {NULL, 0, "200"}};
    ls_sh[KSISS_LQ_PROMPT_HIST] = (ksiss_prom_share){.ok = true, .samples = hist, .n = N_(hist)};
    double m2 = (1000.0 * 1000 - 500 * 500) / (2 * log(2.0)) / pow(500 / log(2.0), 2);
    lv[KSISS_LQ_PROMPT_HIST] = m2;
    ksiss_prom_share mshare = {.ok = true, .samples = &metric, .n = 1};
    ksiss_prom_share lshare = {.ok = true, .samples = &load, .n = 1};
    const ksiss_prom_share *shares[] = {&mshare};
    ksiss_eval_in in = {
        .cat = &cat, .svc = &cfg.services[0], .ns = "default", .name = "llama3-8b", .service = svc,
        .running_pods = pods, .n_running_pods = 1, .all_revisions = revs, .shares = shares, .load_share = &lshare,
        .learn_shares = learn_shares, .learn = &ls, .cfg_gen = 7,
        .free = free_gpus, .n_free = N_(free_gpus), .now_ms = 1000000, .interval_ms = 10000,
    };
    ksiss_eval e;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_true(e.learning);
    for (int i = 0; i < KSISS_LQ_PROMPT_HIST; i++)
        assert_true(e.learn_values[i] == lv[i]);
    assert_int_equal(e.learn_hist, KSISS_HIST_READ);
    assert_true(fabs(e.learn_values[KSISS_LQ_PROMPT_HIST] - m2) < 1e-9);
    const ksiss_tier *cur = e.current.tier;
    assert_non_null(cur);
    /* the first tick starts the window: nothing learned, no load-based need */
    assert_int_equal(e.learn_prefill, KSISS_LEARN_NOT_READ);
    assert_true(e.cap_view.per_gpu == 0);
    assert_false(e.learn_changed);
    ksiss_eval_free(&e);
    /* a whole window later on the same instances: learned, kept to write */
    in.now_ms += 60000;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learn_prefill, KSISS_LEARN_ACCEPTED);
    assert_true(e.learn_changed);
    assert_non_null(ls.state);
    assert_non_null(strstr(ls.state, cur->name));
    assert_true(e.cap_view.per_gpu > 0);
    size_t k;
    for (k = 0; k < e.cap_view.n && e.view_tiers[k] != cur; k++)
        ;
    assert_true(k < e.cap_view.n);
    assert_int_equal(e.learned[k].source, KSISS_CAP_LEARNED);
    /* k's prior from the histogram: (1 + c^2) / 2 +- 15% */
    assert_int_equal(e.learned[k].k_src, KSISS_KPRIOR_HISTOGRAM);
    assert_true(fabs(e.learned[k].k0 - m2 / 2) < 1e-9);
    assert_true(fabs(e.learned[k].k_sd - 0.15 * m2 / 2) < 1e-9);
    assert_non_null(strstr(ls.state, "\"prior\":\"histogram\""));
    /* 0.7 / theta, theta a little under 0.12 / 1000 (the queueing term) */
    assert_true(e.learned[k].capacity > 0.7 / 1.2e-4 && e.learned[k].capacity < 0.7 / 0.9e-4);
    ksiss_eval_free(&e);
    /* the next tick overlaps that window: not fed again, nothing to write */
    in.now_ms += 10000;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learn_prefill, KSISS_LEARN_OVERLAP);
    assert_false(e.learn_changed);
    ksiss_eval_free(&e);
    /* a restart: a new state, the Service carries the annotation */
    json_t *ann = json_object_get(json_object_get(svc, "metadata"), "annotations");
    if (!ann) {
        ann = json_object();
        json_object_set_new(json_object_get(svc, "metadata"), "annotations", ann);
    }
    json_object_set_new(ann, KSISS_LEARN_ANNOTATION, json_string(ls.state));
    ksiss_learn_state fresh;
    memset(&fresh, 0, sizeof(fresh));
    in.learn = &fresh;
    in.cfg_gen = 8;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learned[k].source, KSISS_CAP_LEARNED);
    assert_int_equal(e.learned[k].n_obs, 1);
    assert_int_equal(e.learned[k].k_src, KSISS_KPRIOR_HISTOGRAM);     /* kept in the annotation */
    assert_true(e.cap_view.per_gpu > 0);
    /* what the Service carries is not written back */
    assert_false(e.learn_changed);
    assert_int_equal(fresh.written_n, fresh.saved_n);
    ksiss_eval_free(&e);
    /* an unreadable annotation: learning afresh, no failure */
    json_object_set_new(ann, KSISS_LEARN_ANNOTATION, json_string("{broken"));
    ksiss_learn_state third;
    memset(&third, 0, sizeof(third));
    in.learn = &third;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learned[k].source, KSISS_CAP_NONE);
    ksiss_eval_free(&e);
    /* the prefill read apart from the wait (learnQueries.prefillPerToken):
     * theta is the reading, 1e-4 s per prompt token, so 7000 within 1%,
     * where the TTFT split above gave 0.7 / (a little under 1.2e-4) */
    ls_s[KSISS_LQ_PREFILL].value = 1e-4;
    ksiss_learn_state direct;
    memset(&direct, 0, sizeof(direct));
    in.learn = &direct;
    in.cfg_gen = 9;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_true(e.learn_values[KSISS_LQ_PREFILL] == 1e-4);
    ksiss_eval_free(&e);
    in.now_ms += 60000;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learn_prefill, KSISS_LEARN_ACCEPTED);
    assert_true(fabs(e.learned[k].capacity / 7000 - 1) < 0.01);
    ksiss_eval_free(&e);
    /* The defaults read the latest ready revision's own pods: a tier
     * change rolling does not hold the window back, and an instance that
     * became ready within it leaves only the prefill read directly (the
     * TTFT split and the decode need the same instances throughout). */
    json_object_del(ann, KSISS_LEARN_ANNOTATION);
    json_object_set_new(ann, KSISS_ANN_TRANSITION, json_string("{}"));
    json_t *rstatus = NULL;
    for (size_t i = 0; i < json_array_size(revs); i++) {
        json_t *r = json_array_get(revs, i);
        if (!strcmp(ksiss_json_str(r, "metadata", "name", NULL), "llama3-8b-00001"))
            rstatus = json_object_get(r, "status");
    }
    assert_non_null(rstatus);
    ksiss_learn_state roll;
    ksiss_learn_result rd;
    assert_int_equal(learn_across_a_scale_out(&in, &roll, 10, rstatus, &rd), KSISS_LEARN_ACCEPTED);
    assert_int_equal(rd, KSISS_LEARN_UNSTEADY);
    /* the same without the prefill's series: nothing but a reason */
    ls_s[KSISS_LQ_PREFILL].value = NAN;
    ksiss_learn_state split;
    assert_int_equal(learn_across_a_scale_out(&in, &split, 11, rstatus, &rd), KSISS_LEARN_UNSTEADY);
    /* a whole window on two instances: the TTFT split again */
    in.now_ms += 30000;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learn_prefill, KSISS_LEARN_ACCEPTED);
    ksiss_eval_free(&e);
    /* queries over the whole service (no {revision}): no window while the
     * tier change rolls, however long */
    static const char *WHOLE = "llama3-8b: |\n"
                               "  metrics:\n"
                               "    - {name: ttft_p95, query: q, slo: 1.0}\n"
                               "  load: {query: l, throughput: prefill, learnQueries: {ttft: 'sum(ttft{service=\"{service}\"})'}}\n";
    ksiss_config whole;
    ksiss_diags_init(&dg);
    assert_int_equal(ksiss_config_parse(WHOLE, strlen(WHOLE), "test.yaml", NULL, &cat, &whole, &dg), 0);
    ksiss_diags_free(&dg);
    assert_false(ksiss_learn_per_revision(&whole.services[0].load));
    ksiss_learn_state all;
    memset(&all, 0, sizeof(all));
    in.learn = &all;
    in.svc = &whole.services[0];
    in.cfg_gen = 12;
    for (int i = 0; i < 4; i++, in.now_ms += 60000) {
        assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
        assert_int_equal(e.learn_prefill, KSISS_LEARN_NOT_READ);
        ksiss_eval_free(&e);
    }
    /* the tier change done: a whole window later it learns */
    json_object_del(ann, KSISS_ANN_TRANSITION);
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    ksiss_eval_free(&e);
    in.now_ms += 60000;
    assert_int_equal(ksiss_controller_evaluate(&in, &e), 0);
    assert_int_equal(e.learn_prefill, KSISS_LEARN_ACCEPTED);
    ksiss_eval_free(&e);
    ksiss_learn_state_free(&roll);
    ksiss_learn_state_free(&split);
    ksiss_learn_state_free(&all);
    ksiss_config_free(&whole);
    ksiss_learn_state_free(&ls);
    ksiss_learn_state_free(&fresh);
    ksiss_learn_state_free(&third);
    ksiss_learn_state_free(&direct);
    json_decref(svc);
    json_decref(revs);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
}

/* Runs one evaluation with stderr (the log) in a file; returns what was logged (caller frees). */
static char *evaluate_logged(const ksiss_eval_in *in, ksiss_eval *e)
{
    char path[] = "/tmp/ksiss-test-learnlog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_int_equal(dup2(fd, 2), 2);
    assert_int_equal(ksiss_controller_evaluate(in, e), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *buf = ksiss_xcalloc(1, 65536);
    ssize_t n = pread(fd, buf, 65535, 0);
    close(fd);
    unlink(path);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

/* A bad prompt-length histogram (here the batched answer: missing, not
 * cumulative, a bad le, NaN, no +Inf, the query failed) is not read: k's
 * prior is the fallback's, the service still learns, and one warn line
 * names the service and what was wrong, logged when it changes, not every
 * tick; reading it again is said once. */
static void test_a_bad_prompt_histogram_keeps_the_fallback_prior(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_config cfg;
    ksiss_diags dg;
    ksiss_diags_init(&dg);
    assert_int_equal(ksiss_catalog_builtin(&cat), 0);
    assert_int_equal(ksiss_config_parse(LEARNING_SERVICE, strlen(LEARNING_SERVICE), "test.yaml", NULL, &cat, &cfg,
                                        &dg), 0);
    ksiss_diags_free(&dg);
    json_t *svc = test_load_json("tests/data/knative", "service.json");
    json_t *revs = test_load_json("tests/data/knative", "revisions.json");
    const char *pods[] = {"llama3-8b-00001-deployment-abc"};
    ksiss_learn_state ls;
    memset(&ls, 0, sizeof(ls));
    ksiss_promql_sample metric = {NULL, 0.4, NULL}, load = {NULL, 1500, NULL};
    double lv[KSISS_LQ_PROMPT_HIST] = {0.12, 1000, 1.5, 3, 0.03};
    ksiss_promql_sample ls_s[KSISS_LQ_N];
    ksiss_prom_share ls_sh[KSISS_LQ_N];
    const ksiss_prom_share *learn_shares[KSISS_LQ_N];
    for (int i = 0; i < KSISS_LQ_PROMPT_HIST; i++) {
        ls_s[i] = (ksiss_promql_sample){NULL, lv[i], NULL};
        ls_sh[i] = (ksiss_prom_share){.ok = true, .samples = &ls_s[i], .n = 1};
        learn_shares[i] = &ls_sh[i];
    }
    learn_shares[KSISS_LQ_PROMPT_HIST] = &ls_sh[KSISS_LQ_PROMPT_HIST];
    /* no prefill series: the TTFT split, whatever the histogram */
    ls_sh[KSISS_LQ_PREFILL] = (ksiss_prom_share){.ok = true, .samples = NULL, .n = 0};
    learn_shares[KSISS_LQ_PREFILL] = &ls_sh[KSISS_LQ_PREFILL];
    ksiss_prom_share mshare = {.ok = true, .samples = &metric, .n = 1};
    ksiss_prom_share lshare = {.ok = true, .samples = &load, .n = 1};
    const ksiss_prom_share *shares[] = {&mshare};
    ksiss_eval_in in = {
        .cat = &cat, .svc = &cfg.services[0], .ns = "default", .name = "llama3-8b", .service = svc,
        .running_pods = pods, .n_running_pods = 1, .all_revisions = revs, .shares = shares, .load_share = &lshare,
        .learn_shares = learn_shares, .learn = &ls, .cfg_gen = 7, .now_ms = 1000000, .interval_ms = 10000,
    };
    ksiss_promql_sample falls[] = {{NULL, 1.5, "500"}, {NULL, 1.0, "1000"}, {NULL, 1.5, "+Inf"}};
    ksiss_promql_sample badle[] = {{NULL, 0, "half"}, {NULL, 1.5, "+Inf"}};
    ksiss_promql_sample nan[] = {{NULL, NAN, "1000"}, {NULL, 1.5, "+Inf"}};
    ksiss_promql_sample noinf[] = {{NULL, 0, "500"}, {NULL, 1.5, "1000"}};
    ksiss_promql_sample nole[] = {{NULL, 1.5, NULL}};
    ksiss_promql_sample good[] = {{NULL, 0, "500"}, {NULL, 1.5, "1000"}, {NULL, 1.5, "+Inf"}};
    static const struct {
        size_t which, n;
        bool ok;
        const char *says;
    } ticks[] = {
        {0, 0, true, "no series"},
        {0, 0, true, NULL},                 /* the same trouble: not logged again */
        {1, 3, true, "not cumulative: le=\"1000\" has 1"},
        {2, 2, true, "le=\"half\" is not a positive number"},
        {3, 2, true, "le=\"1000\": value nan"},
        {4, 2, true, "no le=\"+Inf\" bucket"},
        {5, 1, true, "no le label"},
        {0, 0, false, "the query failed: prometheus timed out"},
        {6, 3, true, "read again"},
        {6, 3, true, NULL},
    };
    ksiss_promql_sample *answers[] = {NULL, falls, badle, nan, noinf, nole, good};
    for (size_t t = 0; t < N_(ticks); t++) {
        ls_sh[KSISS_LQ_PROMPT_HIST] = (ksiss_prom_share){.ok = ticks[t].ok, .samples = answers[ticks[t].which],
                                                          .n = ticks[t].n,
                                                          .error = ticks[t].ok ? NULL : "prometheus timed out"};
        ksiss_eval e;
        char *logged = evaluate_logged(&in, &e);
        bool read = ticks[t].which == 6;
        assert_int_equal(e.learn_hist, read ? KSISS_HIST_READ : KSISS_HIST_BAD);
        assert_true(read ? isfinite(e.learn_values[KSISS_LQ_PROMPT_HIST]) : isnan(e.learn_values[KSISS_LQ_PROMPT_HIST]));
        if (!ticks[t].says) {
            if (logged[0])
                fail_msg("tick %zu logged: %s", t, logged);
        } else {
            logfmt_line l;
            size_t at = 0;
            const char *bad = logfmt_parse(logged, strcspn(logged, "\n"), &l, &at);
            if (bad)
                fail_msg("tick %zu: not a log line (%s): %s", t, bad, logged);
            assert_string_equal(logfmt_get(&l, "service")->value, "llama3-8b");
            assert_string_equal(logfmt_get(&l, "level")->value, read ? "info" : "warn");
            const char *text = read ? logfmt_get(&l, "msg")->value : logfmt_get(&l, "error")->value;
            if (!strstr(text, ticks[t].says))
                fail_msg("tick %zu: '%s' does not say '%s'", t, text, ticks[t].says);
            const char *nl = strchr(logged, '\n');
            assert_true(nl && nl[1] == 0);      /* one line */
            logfmt_line_free(&l);
        }
        free(logged);
        if (t == 1) {
            /* the windows the bad histogram let through started k from the fallback */
            assert_int_equal(e.learn_prefill, KSISS_LEARN_ACCEPTED);
            size_t k;
            for (k = 0; k < e.cap_view.n && e.view_tiers[k] != e.current.tier; k++)
                ;
            assert_true(k < e.cap_view.n);
            assert_int_equal(e.learned[k].k_src, KSISS_KPRIOR_FALLBACK);
            assert_true(e.learned[k].k0 == KSISS_LEARN_QUEUE_K);
        }
        ksiss_eval_free(&e);
        in.now_ms += 60000;
    }
    ksiss_learn_state_free(&ls);
    json_decref(svc);
    json_decref(revs);
    ksiss_config_free(&cfg);
    ksiss_catalog_free(&cat);
}

static void test_decision_log_setting_is_changes_or_all(void **state)
{
    (void)state;
    ksiss_decision_log_mode m = KSISS_DECISION_LOG_ALL;
    char *err = NULL;
    assert_int_equal(ksiss_decision_log_from_env(NULL, &m, &err), 0);
    assert_int_equal(m, KSISS_DECISION_LOG_CHANGES);
    m = KSISS_DECISION_LOG_ALL;
    assert_int_equal(ksiss_decision_log_from_env("", &m, &err), 0);
    assert_int_equal(m, KSISS_DECISION_LOG_CHANGES);
    assert_int_equal(ksiss_decision_log_from_env("changes", &m, &err), 0);
    assert_int_equal(m, KSISS_DECISION_LOG_CHANGES);
    assert_int_equal(ksiss_decision_log_from_env("all", &m, &err), 0);
    assert_int_equal(m, KSISS_DECISION_LOG_ALL);
    assert_null(err);
    const char *bad[] = {"ALL", "verbose", "all ", "1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ksiss_decision_log_from_env(bad[i], &m, &err), -1);
        assert_non_null(err);
        assert_non_null(strstr(err, "KSISS_DECISION_LOG"));
        assert_non_null(strstr(err, bad[i]));
        free(err);
        err = NULL;
    }
}

/* SLOUnattainable: one Warning Event when the SLO is breached at the
 * largest allowed deployment, none while that breach lasts (whatever the
 * hold's reason on the way), another after the breach ended. */
static void test_slo_unattainable_is_told_once_per_breach(void **state)
{
    (void)state;
    ksiss_decision unattainable = {.action = KSISS_HOLD, .slo_breach = true, .reason_code = "slo_unattainable"};
    ksiss_decision at_max = {.action = KSISS_HOLD, .slo_breach = false, .reason_code = "at_max"};
    ksiss_decision cooldown = {.action = KSISS_HOLD, .slo_breach = true, .reason_code = "cooldown"};
    ksiss_decision fine = {.action = KSISS_HOLD, .slo_breach = false, .reason_code = "within_slo"};
    bool reported = false;
    assert_false(ksiss_slo_unattainable_due(&reported, &at_max));   /* at the maximum, SLO met: nothing */
    assert_true(ksiss_slo_unattainable_due(&reported, &unattainable));
    assert_false(ksiss_slo_unattainable_due(&reported, &unattainable));
    assert_false(ksiss_slo_unattainable_due(&reported, &cooldown));  /* still breached */
    assert_false(ksiss_slo_unattainable_due(&reported, &unattainable));
    assert_false(ksiss_slo_unattainable_due(&reported, &fine));       /* the breach ended */
    assert_true(ksiss_slo_unattainable_due(&reported, &unattainable));
}

static void test_decision_log_keeps_actions_and_changed_holds(void **state)
{
    (void)state;
    ksiss_tier t3 = {.name = "mig-3g.40gb"}, t4 = {.name = "mig-4g.40gb"};
    ksiss_decision hold = {.action = KSISS_HOLD, .tier = &t3, .replicas = 2, .reason_code = "within_slo"};
    ksiss_decision_logged last = {0};
    int64_t t = 1000000;
    const ksiss_decision_log_mode C = KSISS_DECISION_LOG_CHANGES;
    /* The first decision, then the same hold tick after tick: one line. */
    assert_true(ksiss_decision_log_due(C, &last, &hold, t));
    for (int i = 1; i < 59; i++)
        assert_false(ksiss_decision_log_due(C, &last, &hold, t + i * 10000));
    /* Another reason, tier or instance count: a line, once. */
    ksiss_decision other = hold;
    other.reason_code = "stabilizing";
    assert_true(ksiss_decision_log_due(C, &last, &other, t + 590000));
    assert_false(ksiss_decision_log_due(C, &last, &other, t + 600000));
    other.replicas = 3;
    assert_true(ksiss_decision_log_due(C, &last, &other, t + 610000));
    other.tier = &t4;
    assert_true(ksiss_decision_log_due(C, &last, &other, t + 620000));
    assert_false(ksiss_decision_log_due(C, &last, &other, t + 630000));
    other.tier = NULL;
    other.reason_code = NULL;
    assert_true(ksiss_decision_log_due(C, &last, &other, t + 640000));
    assert_false(ksiss_decision_log_due(C, &last, &other, t + 650000));
    /* Every action is logged, even the same one twice. */
    ksiss_decision up = {.action = KSISS_UP, .tier = &t4, .replicas = 2, .reason_code = "load_increase"};
    assert_true(ksiss_decision_log_due(C, &last, &up, t + 660000));
    assert_true(ksiss_decision_log_due(C, &last, &up, t + 670000));
    /* A hold after an action with the same fields is a change. */
    ksiss_decision hold4 = {.action = KSISS_HOLD, .tier = &t4, .replicas = 2, .reason_code = "load_increase"};
    assert_true(ksiss_decision_log_due(C, &last, &hold4, t + 680000));
    /* Nothing new for the heartbeat's length: logged again, and a clock
     * that went back is not trusted to mean "just logged". */
    int64_t at = t + 680000;
    assert_false(ksiss_decision_log_due(C, &last, &hold4, at + KSISS_DECISION_LOG_HEARTBEAT_MS - 1));
    assert_true(ksiss_decision_log_due(C, &last, &hold4, at + KSISS_DECISION_LOG_HEARTBEAT_MS));
    assert_false(ksiss_decision_log_due(C, &last, &hold4, at + KSISS_DECISION_LOG_HEARTBEAT_MS + 10000));
    assert_true(ksiss_decision_log_due(C, &last, &hold4, t));
    /* "all": every decision. */
    for (int i = 1; i < 5; i++)
        assert_true(ksiss_decision_log_due(KSISS_DECISION_LOG_ALL, &last, &hold4, t + i * 10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traffic_steps_accept_ascending_percentages_ending_at_100),
        cmocka_unit_test(test_deployment_reads_tier_and_instances_of_the_serving_revision),
        cmocka_unit_test(test_deployment_during_a_transition_is_the_old_tier_and_in_flight),
        cmocka_unit_test(test_unknown_gpu_resource_leaves_the_tier_unknown_with_a_reason),
        cmocka_unit_test(test_backoff_picks_the_latest_unexpired_tier),
        cmocka_unit_test(test_reading_is_reusable_only_when_settled_and_known),
        cmocka_unit_test(test_evaluation_on_a_kept_reading_decides_as_on_the_objects),
        cmocka_unit_test(test_a_service_without_per_gpu_learns_and_restores),
        cmocka_unit_test(test_the_prompt_tally_rules_out_a_slice_across_ticks),
        cmocka_unit_test(test_a_bad_prompt_histogram_keeps_the_fallback_prior),
        cmocka_unit_test(test_decision_log_setting_is_changes_or_all),
        cmocka_unit_test(test_decision_log_keeps_actions_and_changed_holds),
        cmocka_unit_test(test_slo_unattainable_is_told_once_per_breach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
