/* test_gpu_resolve.c: the GPU model of a service in the original's format
 * (src/core/gpu_resolve.c, issue 18): an explicit gpu: wins; a resource
 * only one model has decides alone; the nodes' nvidia.com/gpu.product label
 * tells A100-80GB from H100-80GB; undeterminable and mixed-node services
 * hold with a reason code naming what was seen; the original's ladder on
 * A100-40GB. Then the same through the inventory (which nodes a revision's
 * pods run on) and a whole evaluation (src/shell/controller_eval.c): a
 * legacy service on nvidia.com/mig-1g.5gb scales up on A100-40GB instead of
 * holding on "current GPU tier unknown". */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/gpu_resolve.h"
#include "core/inventory.h"
#include "core/util.h"
#include "shell/controller.h"
#include "support/test_support.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* The original's ConfigMap, unchanged (shared/seed/COMPATIBILITY.md), and
 * the same service in the extended format naming its model. */
static const char *LEGACY =
    "gpt2: |\n"
    "  - name: tgi_request_metric\n"
    "    query: increase(tgi_request_mean_time_per_token_duration_sum{pod=\"%s\"}[1m])/"
    "increase(tgi_request_mean_time_per_token_duration_count{pod=\"%s\"}[1m])\n"
    "    slo: 0.5\n"
    "    scaleDownFactor: 0.5\n"
    "    scaleUpFactor: 1.5\n";

static const char *EXPLICIT =
    "gpt2: |\n"
    "  gpu: A100-40GB\n"
    "  metrics:\n"
    "    - {name: tpot, query: 'tpot{pod=\"{pod}\"}', slo: 0.5, scaleUpFactor: 1.5}\n";

static const char *EXTENDED_NO_GPU =
    "gpt2: |\n"
    "  metrics:\n"
    "    - {name: tpot, query: 'tpot{pod=\"{pod}\"}', slo: 0.5, scaleUpFactor: 1.5}\n";

typedef struct {
    ksiss_catalog cat;
    ksiss_config cfg;
} fixture;

static void parse(fixture *f, const char *text)
{
    ksiss_diags d;
    ksiss_diags_init(&d);
    assert_int_equal(ksiss_catalog_builtin(&f->cat), 0);
    if (ksiss_config_parse(text, strlen(text), "test.yaml", NULL, &f->cat, &f->cfg, &d) != 0)
        fail_msg("config did not parse (%zu problems)", d.n);
    ksiss_diags_free(&d);
}

static void unparse(fixture *f)
{
    ksiss_config_free(&f->cfg);
    ksiss_catalog_free(&f->cat);
}

typedef struct {
    const char *what;
    const char *config;
    const char *resource;           /* NULL: none known */
    long long count;
    const char *products[3];        /* one per node; "-" = a node without the label */
    ksiss_gpu_source source;
    const char *model;              /* NULL: not resolved */
    const char *seen;               /* a part of the sentence naming what was seen */
} resolve_case;

static const resolve_case cases[] = {
    /* explicit gpu: wins over every evidence */
    {"explicit gpu: wins over the nodes", "explicit", "nvidia.com/mig-1g.10gb", 1, {"NVIDIA-H100-80GB-HBM3"},
     KSISS_GPU_FROM_CONFIG, "A100-40GB", "gpu: A100-40GB"},
    {"extended format without gpu: keeps the default", "extended", "nvidia.com/mig-1g.5gb", 1, {NULL},
     KSISS_GPU_DEFAULT, "H100-80GB", "default"},
    /* a resource only one model has decides alone */
    {"mig-1g.5gb exists only on A100-40GB", "legacy", "nvidia.com/mig-1g.5gb", 1, {NULL},
     KSISS_GPU_FROM_RESOURCE, "A100-40GB", "the only GPU model with that resource"},
    {"the original's MPS naming gpu-5gb exists only on A100-40GB", "legacy", "nvidia.com/gpu-5gb", 1, {NULL},
     KSISS_GPU_FROM_RESOURCE, "A100-40GB", "nvidia.com/gpu-5gb x1"},
    {"a unique resource with an unlabelled node", "legacy", "nvidia.com/mig-7g.40gb", 1, {"-"},
     KSISS_GPU_FROM_RESOURCE, "A100-40GB", "no nvidia.com/gpu.product label"},
    /* the label tells models that share profile names apart */
    {"mig-1g.10gb on an A100-80GB node", "legacy", "nvidia.com/mig-1g.10gb", 1, {"NVIDIA-A100-SXM4-80GB"},
     KSISS_GPU_FROM_NODES, "A100-80GB", "NVIDIA-A100-SXM4-80GB: A100-80GB"},
    {"mig-1g.10gb on an H100-80GB node", "legacy", "nvidia.com/mig-1g.10gb", 1, {"NVIDIA-H100-80GB-HBM3"},
     KSISS_GPU_FROM_NODES, "H100-80GB", "H100-80GB from the nodes' label"},
    {"gpu-20gb (the original's MPS naming) on an A100-40GB MPS node", "legacy", "nvidia.com/gpu-20gb", 1,
     {"NVIDIA-A100-SXM4-40GB-SHARED"}, KSISS_GPU_FROM_NODES, "A100-40GB", "A100-40GB"},
    {"a whole GPU on two nodes of one model", "legacy", "nvidia.com/gpu", 1,
     {"NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"}, KSISS_GPU_FROM_NODES, "A100-40GB", "A100-40GB"},
    {"no resource known but a labelled node", "legacy", NULL, 0, {"NVIDIA-H100-80GB-HBM3"},
     KSISS_GPU_FROM_NODES, "H100-80GB", "requests no GPU resource"},
    /* undeterminable: hold */
    {"mig-1g.10gb without any node", "legacy", "nvidia.com/mig-1g.10gb", 1, {NULL}, KSISS_GPU_UNKNOWN, NULL,
     "A100-40GB, A100-80GB and H100-80GB all have nvidia.com/mig-1g.10gb, and no node label tells which"},
    {"a whole GPU on a node of a model not in the catalogue", "legacy", "nvidia.com/gpu", 1, {"NVIDIA-L40S"},
     KSISS_GPU_UNKNOWN, NULL, "nvidia.com/gpu.product=NVIDIA-L40S, not in the catalogue"},
    {"label and resource disagree", "legacy", "nvidia.com/mig-1g.5gb", 1, {"NVIDIA-H100-80GB-HBM3"},
     KSISS_GPU_UNKNOWN, NULL, "H100-80GB has no tier for nvidia.com/mig-1g.5gb x1"},
    {"a resource no model has", "legacy", "nvidia.com/mig-5g.30gb", 1, {NULL}, KSISS_GPU_UNKNOWN, NULL,
     "no GPU model of the catalogue has"},
    {"nothing at all", "legacy", NULL, 0, {NULL}, KSISS_GPU_UNKNOWN, NULL, "nothing tells the GPU model"},
    {"no revision Ready: the template's resource", "template", "nvidia.com/mig-1g.20gb", 1, {NULL},
     KSISS_GPU_UNKNOWN, NULL, "no revision is Ready; the template requests nvidia.com/mig-1g.20gb x1; none of its pods is on a "
     "node: A100-80GB and H100-80GB all have"},
    /* pods on nodes of two models: hold */
    {"mixed A100-80GB and H100-80GB nodes", "legacy", "nvidia.com/mig-1g.10gb", 1,
     {"NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3"}, KSISS_GPU_MIXED, NULL, "nodes of different GPU models"},
    {"mixed even when the resource is unique", "legacy", "nvidia.com/gpu", 1,
     {"NVIDIA-A100-SXM4-40GB", "-", "NVIDIA-H100-80GB-HBM3"}, KSISS_GPU_MIXED, NULL, "node-1 (no nvidia.com"},
};

static void test_resolution_rule_case_by_case(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(cases); i++) {
        const resolve_case *c = &cases[i];
        fixture f;
        parse(&f, !strcmp(c->config, "legacy") || !strcmp(c->config, "template") ? LEGACY : !strcmp(c->config, "explicit") ? EXPLICIT
                                                                                           : EXTENDED_NO_GPU);
        ksiss_gpu_node_seen nodes[3];
        static const char *const names[] = {"node-0", "node-1", "node-2"};
        size_t n = 0;
        for (size_t k = 0; k < 3 && c->products[k]; k++, n++)
            nodes[n] = (ksiss_gpu_node_seen){names[k], strcmp(c->products[k], "-") ? c->products[k] : NULL};
        ksiss_gpu_evidence ev = {.revision = strcmp(c->config, "template") ? "gpt2-00001" : NULL, .resource = c->resource, .count = c->count,
                                 .nodes = nodes, .n_nodes = n};
        ksiss_gpu_resolution r;
        ksiss_gpu_resolve(&f.cat, &f.cfg.services[0], &ev, &r);
        if (r.source != c->source || (c->model ? !r.model || strcmp(r.model, c->model) : r.model != NULL) ||
            !strstr(r.seen, c->seen))
            fail_msg("%s: got %s %s (%s), want %s %s with \"%s\"", c->what, ksiss_gpu_source_name(r.source),
                     r.model ? r.model : "-", r.seen, ksiss_gpu_source_name(c->source), c->model ? c->model : "-",
                     c->seen);
        ksiss_gpu_resolution_clear(&r);
        unparse(&f);
    }
}

static void test_undeterminable_model_holds_with_a_reason_code_naming_what_was_seen(void **state)
{
    (void)state;
    fixture f;
    parse(&f, LEGACY);
    ksiss_gpu_node_seen nodes[] = {{"a100-node", "NVIDIA-A100-SXM4-80GB"}, {"h100-node", "NVIDIA-H100-80GB-HBM3"}};
    ksiss_gpu_evidence mixed = {.revision = "gpt2-00003", .resource = "nvidia.com/mig-1g.10gb", .count = 1,
                                .nodes = nodes, .n_nodes = 2};
    ksiss_gpu_evidence unknown = {.revision = "gpt2-00003", .resource = "nvidia.com/mig-1g.10gb", .count = 1};
    const ksiss_tier *cur = ksiss_catalog_tier(&f.cat, "A100-80GB", "mig-1g.10gb");
    ksiss_deployment dep = {.tier = cur, .replicas_ready = 2, .replicas_starting = 1};
    struct {
        const ksiss_gpu_evidence *ev;
        const char *code, *words[3];
    } want[] = {
        {&mixed, "gpu_model_mixed", {"run on GPUs of different models", "a100-node", "h100-node"}},
        {&unknown, "gpu_model_unknown", {"cannot be determined", "gpt2-00003 requests nvidia.com/mig-1g.10gb x1",
                                         "gpu: in the extended format"}},
    };
    for (size_t i = 0; i < N_(want); i++) {
        ksiss_gpu_resolution r;
        ksiss_gpu_resolve(&f.cat, &f.cfg.services[0], want[i].ev, &r);
        assert_null(r.model);
        ksiss_decision d;
        ksiss_gpu_hold(&r, &dep, &d);
        assert_int_equal(d.action, KSISS_HOLD);
        assert_string_equal(d.reason_code, want[i].code);
        assert_ptr_equal(d.tier, cur);          /* nothing changes: the instances stay as they are */
        assert_int_equal(d.replicas, 3);
        assert_true(isnan(d.required_capacity));
        for (size_t k = 0; k < 3; k++)
            if (!strstr(d.reason, want[i].words[k]))
                fail_msg("reason lacks \"%s\": %s", want[i].words[k], d.reason);
        ksiss_decision_clear(&d);
        ksiss_gpu_resolution_clear(&r);
    }
    unparse(&f);
}

static void names_of(const ksiss_tier *const *t, size_t n, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, size - l, "%s%s", i ? " " : "", t[i]->name);
    }
}

static void test_original_ladder_on_a100_40gb_and_default_ladder_elsewhere(void **state)
{
    (void)state;
    fixture f;
    parse(&f, LEGACY);
    char buf[512];
    ksiss_service_cfg eff;
    ksiss_gpu_service_for_model(&f.cat, &f.cfg.services[0], "A100-40GB", &eff);
    names_of(eff.ladder, eff.n_ladder, buf, sizeof(buf));
    /* the original's walk, and past its 7g slice to whole GPUs */
    assert_string_equal(buf, "mig-1g.5gb mig-2g.10gb mig-3g.20gb mig-4g.20gb mig-7g.40gb gpu gpu*2 gpu*4 gpu*8");
    assert_string_equal(eff.gpu_model, "A100-40GB");
    assert_ptr_equal(eff.metrics, f.cfg.services[0].metrics);
    assert_true(eff.legacy);
    ksiss_gpu_service_free(&eff);
    ksiss_gpu_service_for_model(&f.cat, &f.cfg.services[0], "A100-80GB", &eff);
    names_of(eff.ladder, eff.n_ladder, buf, sizeof(buf));
    assert_string_equal(buf, "mig-1g.10gb mig-1g.20gb mig-2g.20gb mig-3g.40gb mig-4g.40gb mig-7g.80gb gpu gpu*2 "
                             "gpu*4 gpu*8");
    ksiss_gpu_service_free(&eff);
    /* the configuration itself is untouched (the simulator reads it) */
    assert_null(f.cfg.services[0].gpu_model);
    assert_string_equal(f.cfg.services[0].ladder[0]->name, "mig-1g.10gb");
    unparse(&f);
}

/* ---- through the inventory and one evaluation ----------------------- */

static json_t *node(const char *name, const char *product, const char *res, int n)
{
    json_t *labels = product ? json_pack("{s:s}", "nvidia.com/gpu.product", product) : json_object();
    return json_pack("{s:{s:s,s:o},s:{},s:{s:[{s:s,s:s}],s:{s:s,s:i}}}", "metadata", "name", name, "labels", labels,
                     "spec", "status", "conditions", "type", "Ready", "status", "True", "allocatable", "cpu", "64",
                     res, n);
}

static json_t *pod(const char *name, const char *ns, const char *rev, const char *node_name, const char *phase,
                   const char *res)
{
    return json_pack("{s:{s:s,s:s,s:{s:s,s:s}},s:{s:s,s:[{s:s,s:{s:{s:s}}}]},s:{s:s}}", "metadata", "name", name,
                     "namespace", ns, "labels", "serving.knative.dev/service", "gpt2", "serving.knative.dev/revision",
                     rev, "spec", "nodeName", node_name, "containers", "name", "c", "resources", "limits", res, "1",
                     "status", "phase", phase);
}

static void test_inventory_tells_the_nodes_of_a_revision_each_once(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    json_t *nodes = json_pack("[o,o,o]", node("a100-80", "NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-1g.10gb", 7),
                              node("h100", "NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb", 7),
                              node("bare", NULL, "nvidia.com/mig-1g.10gb", 7));
    json_t *pods = json_pack("[o,o,o,o,o,o]",
                             pod("p1", "ns", "gpt2-00001", "h100", "Running", "nvidia.com/mig-1g.10gb"),
                             pod("p2", "ns", "gpt2-00002", "a100-80", "Running", "nvidia.com/mig-1g.10gb"),
                             pod("p3", "ns", "gpt2-00002", "a100-80", "Running", "nvidia.com/mig-1g.10gb"),
                             pod("p4", "ns", "gpt2-00002", "bare", "Pending", "nvidia.com/mig-1g.10gb"),
                             pod("p5", "ns", "gpt2-00002", "h100", "Succeeded", "nvidia.com/mig-1g.10gb"),
                             pod("p6", "other", "gpt2-00002", "h100", "Running", "nvidia.com/mig-1g.10gb"));
    ksiss_inventory inv;
    assert_int_equal(ksiss_inventory_compute(&cat, nodes, pods, &inv), 0);
    const ksiss_inventory_node *got[4];
    /* two pods on one node count once; a terminated pod and another
     * namespace's pod of the same name do not count */
    size_t n = ksiss_inventory_revision_nodes(&inv, "ns", "gpt2-00002", got, 4);
    assert_int_equal(n, 2);
    assert_string_equal(got[0]->name, "a100-80");
    assert_string_equal(got[0]->product, "NVIDIA-A100-SXM4-80GB");
    assert_string_equal(got[1]->name, "bare");
    assert_null(got[1]->product);
    assert_int_equal(ksiss_inventory_revision_nodes(&inv, "ns", "gpt2-00001", got, 4), 1);
    assert_string_equal(got[0]->name, "h100");
    assert_int_equal(ksiss_inventory_revision_nodes(&inv, "other", "gpt2-00002", NULL, 0), 1);
    assert_int_equal(ksiss_inventory_revision_nodes(&inv, "ns", "gpt2-00009", got, 4), 0);
    assert_int_equal(ksiss_inventory_revision_nodes(NULL, "ns", "gpt2-00002", got, 4), 0);
    ksiss_inventory_free(&inv);
    json_decref(nodes);
    json_decref(pods);
    ksiss_catalog_free(&cat);
}

/* The Knative Service and Revision of tests/data/knative/ renamed gpt2 and
 * moved onto `res` (every mention of nvidia.com/mig-1g.10gb). */
static json_t *on_resource(const char *file, const char *res)
{
    char *path = ksiss_xasprintf("tests/data/knative/%s", file), *err = NULL;
    size_t len;
    char *text = ksiss_read_file(path, 1 << 20, &len, &err);
    if (!text)
        fail_msg("%s", err);
    free(path);
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, strlen(text) + 64);
    for (const char *p = text; *p;) {
        if (!strncmp(p, "nvidia.com/mig-1g.10gb", 22)) {
            ksiss_sb_puts(&sb, res);
            p += 22;
        } else if (!strncmp(p, "llama3-8b", 9)) {
            ksiss_sb_puts(&sb, "gpt2");
            p += 9;
        } else {
            ksiss_sb_putc(&sb, *p++);
        }
    }
    json_error_t je;
    json_t *j = json_loads(ksiss_sb_str(&sb), 0, &je);
    if (!j)
        fail_msg("%s: %s", file, je.text);
    ksiss_sb_free(&sb);
    free(text);
    return j;
}

typedef struct {
    const char *what;
    const char *res;                /* the revision's resource */
    const char *product;            /* its pod's node label, NULL: no pod on a node */
    ksiss_action action;
    const char *tier;               /* the decision's tier */
    const char *model;              /* of that tier */
    const char *code;
} eval_case;

static void test_legacy_service_decides_on_its_own_hardware(void **state)
{
    (void)state;
    static const eval_case ec[] = {
        /* the report: on A100-40GB the original's user got "current
         * GPU tier unknown: holding" forever; the next tier of the original */
        {"A100-40GB from the resource", "nvidia.com/mig-1g.5gb", NULL, KSISS_UP, "mig-2g.10gb", "A100-40GB",
         "slo_breach"},
        {"A100-80GB from the label", "nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-80GB", KSISS_UP, "mig-1g.20gb",
         "A100-80GB", "slo_breach"},
        {"H100-80GB from the label", "nvidia.com/mig-1g.10gb", "NVIDIA-H100-80GB-HBM3", KSISS_UP, "mig-1g.20gb",
         "H100-80GB", "slo_breach"},
        {"ambiguous without a node", "nvidia.com/mig-1g.10gb", NULL, KSISS_HOLD, NULL, NULL,
         "gpu_model_unknown"},
    };
    for (size_t i = 0; i < N_(ec); i++) {
        const eval_case *c = &ec[i];
        fixture f;
        parse(&f, LEGACY);
        json_t *svc = on_resource("service.json", c->res);
        json_t *revs = on_resource("revisions.json", c->res);
        const char *free_res[] = {"nvidia.com/mig-2g.10gb", "nvidia.com/mig-2g.20gb", "nvidia.com/mig-3g.40gb",
                                  "nvidia.com/mig-7g.40gb", "nvidia.com/mig-1g.20gb", "nvidia.com/gpu"};
        ksiss_free_gpu free_gpus[N_(free_res)];
        for (size_t k = 0; k < N_(free_res); k++)
            free_gpus[k] = (ksiss_free_gpu){free_res[k], NULL, 4};
        json_t *nodes = json_pack("[o]", node("n1", c->product, c->res, 7));
        json_t *pods = json_pack("[o]", pod("gpt2-00001-deployment-abc", "default", "gpt2-00001",
                                            c->product ? "n1" : "", c->product ? "Running" : "Pending", c->res));
        ksiss_inventory inv;
        assert_int_equal(ksiss_inventory_compute(&f.cat, nodes, pods, &inv), 0);
        const char *running[] = {"gpt2-00001-deployment-abc"};
        ksiss_promql_sample sample = {running[0], 0.8, NULL};    /* 1.6x the SLO of 0.5: a breach */
        ksiss_prom_share share = {.ok = true, .samples = &sample, .n = 1};
        const ksiss_prom_share *shares[] = {&share};
        ksiss_eval_in in = {
            .cat = &f.cat, .svc = &f.cfg.services[0], .ns = "default", .name = "gpt2", .service = svc,
            .running_pods = running, .n_running_pods = 1, .all_revisions = revs, .shares = shares,
            .free = free_gpus, .n_free = N_(free_gpus), .inv = &inv, .now_ms = 1000000, .interval_ms = 10000,
        };
        ksiss_eval ev;
        assert_int_equal(ksiss_controller_evaluate(&in, &ev), 0);
        assert_true(ev.decided);
        const ksiss_decision *d = &ev.decision;
        if (d->action != c->action || strcmp(d->reason_code, c->code) != 0 ||
            (c->tier && (!d->tier || strcmp(d->tier->name, c->tier) != 0)) ||
            (c->model && (!d->tier || strcmp(d->tier->gpu_model, c->model) != 0)))
            fail_msg("%s: %s %s (%s) [%s]: %s", c->what, ksiss_action_name(d->action), d->tier ? d->tier->name : "-",
                     d->tier ? d->tier->gpu_model : "-", d->reason_code, d->reason);
        /* the ladder decided on is the model's; the reason of a hold names
         * the revision's resource */
        const ksiss_service_cfg *eff = ksiss_eval_service(&ev, in.svc);
        if (c->model) {
            assert_string_equal(eff->gpu_model, c->model);
            assert_string_equal(ev.current.tier->gpu_model, c->model);
        } else {
            assert_ptr_equal(eff, in.svc);
            assert_null(ev.current.tier);
            assert_null(d->tier);
            assert_non_null(strstr(d->reason, "gpt2-00001 requests nvidia.com/mig-1g.10gb x1"));
            assert_non_null(strstr(ev.tier_why, "GPU model unknown"));
        }
        /* a kept reading (the Service and Revisions not read again) comes
         * to the same model and decision */
        if (c->model) {
            ksiss_eval_in kept = in;
            kept.service = NULL;
            kept.all_revisions = NULL;
            kept.known = &ev.current;
            kept.known_revision = "gpt2-00001";
            ksiss_eval ev2;
            assert_int_equal(ksiss_controller_evaluate(&kept, &ev2), 0);
            assert_string_equal(ev2.gpu.model, c->model);
            assert_ptr_equal(ev2.current.tier, ev.current.tier);
            assert_int_equal(ev2.decision.action, d->action);
            assert_ptr_equal(ev2.decision.tier, d->tier);
            ksiss_eval_free(&ev2);
        }
        ksiss_eval_free(&ev);
        ksiss_inventory_free(&inv);
        json_decref(nodes);
        json_decref(pods);
        json_decref(svc);
        json_decref(revs);
        unparse(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolution_rule_case_by_case),
        cmocka_unit_test(test_undeterminable_model_holds_with_a_reason_code_naming_what_was_seen),
        cmocka_unit_test(test_original_ladder_on_a100_40gb_and_default_ladder_elsewhere),
        cmocka_unit_test(test_inventory_tells_the_nodes_of_a_revision_each_once),
        cmocka_unit_test(test_legacy_service_decides_on_its_own_hardware),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
