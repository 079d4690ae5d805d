/* fuzz_config.c: libFuzzer target for the ConfigMap parser
 * (ksiss_config_parse): any bytes as the autoscaler ConfigMap file, parsed
 * against the built-in catalogue (which `ksiss.catalog` may extend). When
 * the bytes are a ConfigMap in JSON (as the API server returns it), its
 * data is also parsed the way the controller does (ksiss_config_parse_data).
 * Checks what a parsed configuration promises the policy, not just that
 * nothing crashes (docs/fuzzing.md lists the invariants). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/config.h"
#include "core/policy.h"
#include "fuzz_common.h"

static bool is_warning(const ksiss_diag *e)
{
    return e->msg && !strncmp(e->msg, "warning:", 8);
}

static void check_metric(const ksiss_service_cfg *s, const ksiss_metric_cfg *m)
{
    FUZZ_CHECK(m->name && m->name[0], "service %s: a metric has no name", s->name);
    FUZZ_CHECK(m->query && m->query[0], "service %s metric %s: no query", s->name, m->name);
    FUZZ_CHECK(isfinite(m->slo) && m->slo > 0, "service %s metric %s: slo %g", s->name, m->name, m->slo);
    FUZZ_CHECK(isfinite(m->scale_up_factor) && m->scale_up_factor >= 1, "service %s metric %s: scaleUpFactor %g",
               s->name, m->name, m->scale_up_factor);
    FUZZ_CHECK(m->scale_down_factor > 0 && m->scale_down_factor <= 1, "service %s metric %s: scaleDownFactor %g",
               s->name, m->name, m->scale_down_factor);
    FUZZ_CHECK(m->scale_down_factor <= m->scale_up_factor, "service %s metric %s: down %g above up %g", s->name,
               m->name, m->scale_down_factor, m->scale_up_factor);
    FUZZ_CHECK(m->direction == KSISS_LOWER_IS_BETTER || m->direction == KSISS_HIGHER_IS_BETTER,
               "service %s metric %s: direction %d", s->name, m->name, (int)m->direction);
    FUZZ_CHECK(m->aggregate == KSISS_AGG_MAX || m->aggregate == KSISS_AGG_AVG || m->aggregate == KSISS_AGG_SUM,
               "service %s metric %s: aggregate %d", s->name, m->name, (int)m->aggregate);
}

static void check_service(const ksiss_config *cfg, const ksiss_catalog *cat, const ksiss_service_cfg *s)
{
    FUZZ_CHECK(s->name && s->name[0], "a service has no name");
    bool by_prefix = true;
    FUZZ_CHECK(ksiss_config_find(cfg, s->name, &by_prefix) == s && !by_prefix,
               "service %s is not found by its own name (listed twice?)", s->name);
    FUZZ_CHECK(s->n_metrics > 0 || s->has_load, "service %s has neither a metric nor a load signal", s->name);
    for (size_t i = 0; i < s->n_metrics; i++)
        check_metric(s, &s->metrics[i]);
    if (s->has_load) {
        FUZZ_CHECK(s->load.query && s->load.query[0], "service %s: load signal without a query", s->name);
        FUZZ_CHECK(isfinite(s->load.per_gpu) && (s->load.per_gpu > 0 || (s->load.per_gpu == 0 && s->load.learn)),
                   "service %s: load perGpu %g (learn %d)", s->name, s->load.per_gpu, (int)s->load.learn);
        FUZZ_CHECK(s->load.target_utilization > 0 && s->load.target_utilization <= 1,
                   "service %s: targetUtilization %g", s->name, s->load.target_utilization);
    }
    FUZZ_CHECK(s->n_ladder >= 1 && s->ladder, "service %s: empty ladder", s->name);
    const char *model = s->gpu_model ? s->gpu_model : cat->default_model;
    const ksiss_gpu_model *gm = ksiss_catalog_model(cat, model);
    FUZZ_CHECK(gm != NULL, "service %s: GPU model %s not in the catalogue", s->name, model);
    for (size_t i = 0; i < s->n_ladder; i++) {
        const ksiss_tier *t = s->ladder[i];
        FUZZ_CHECK(t >= cat->tiers && t < cat->tiers + cat->n_tiers, "service %s: ladder entry %zu not in the catalogue",
                   s->name, i);
        FUZZ_CHECK(!strcmp(t->gpu_model, gm->name), "service %s (model %s): ladder holds %s of %s", s->name, gm->name,
                   t->name, t->gpu_model);
        FUZZ_CHECK(i == 0 || s->ladder[i - 1]->rank < t->rank, "service %s: ladder not ascending at %s", s->name,
                   t->name);
        FUZZ_CHECK(!(s->model_memory_gib > 0) || t->mem_gib >= s->model_memory_gib,
                   "service %s: tier %s (%g GiB) cannot hold modelMemoryGiB %g", s->name, t->name, t->mem_gib,
                   s->model_memory_gib);
    }
    FUZZ_CHECK(s->min_replicas >= 0 && s->max_replicas >= 1 && s->min_replicas <= s->max_replicas,
               "service %s: replicas %d..%d", s->name, s->min_replicas, s->max_replicas);
    FUZZ_CHECK(s->cooldown_up_ms >= 0 && s->cooldown_down_ms >= 0 && s->stabilization_up_ms >= 0 &&
                   s->stabilization_down_ms >= 0 && s->stale_after_ms > 0,
               "service %s: negative duration", s->name);
    FUZZ_CHECK(s->slo_target > 0 && s->slo_target < 1, "service %s: sloTarget %g", s->name, s->slo_target);
    FUZZ_CHECK(s->policy && ksiss_policy_find(s->policy), "service %s: policy %s unknown", s->name,
               s->policy ? s->policy : "(null)");
}

/* The invariants of one parse result (either entry point). */
static void check_result(int rc, ksiss_catalog *cat, ksiss_config *cfg, ksiss_diags *d)
{
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    ksiss_fuzz_check_diags(d);
    size_t errors = d->dropped;
    for (size_t i = 0; i < d->n; i++)
        errors += !is_warning(&d->v[i]);
    if (rc == 0) {
        FUZZ_CHECK(errors == 0, "valid, yet %zu error diagnostics (first: %s)", errors, d->n ? d->v[0].msg : "");
        ksiss_fuzz_check_catalog(cat);
        for (size_t i = 0; i < cfg->n_services; i++)
            check_service(cfg, cat, &cfg->services[i]);
    } else {
        FUZZ_CHECK(errors > 0, "invalid without an error diagnostic (%zu warnings)", d->n);
    }
}

/* A ConfigMap's data as the API returns it: {"data": {"key": "value"...}}. */
static void parse_api_data(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    const json_t *m = json_object_get(root, "data");
    if (!json_is_object(m)) {
        json_decref(root);
        return;
    }
    size_t n = json_object_size(m), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char **vals = calloc(n ? n : 1, sizeof(*vals));
    if (!keys || !vals)
        abort();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)m, key, v) {
        if (!json_is_string(v))
            continue;   /* the API's data holds strings only */
        keys[k] = key;
        vals[k++] = json_string_value(v);
    }
    ksiss_catalog cat;
    ksiss_catalog_copy(&cat, ksiss_fuzz_builtin());
    ksiss_config cfg;
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_config_parse_data(keys, vals, k, "configmap fuzz", &cat, &cfg, &d);
    check_result(rc, &cat, &cfg, &d);
    ksiss_config_free(&cfg);
    ksiss_diags_free(&d);
    ksiss_catalog_free(&cat);
    free(keys);
    free(vals);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = ksiss_fuzz_text(data, size);
    ksiss_catalog cat;
    ksiss_catalog_copy(&cat, ksiss_fuzz_builtin());
    ksiss_config cfg;
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_config_parse(text, size, "fuzz.yaml", NULL, &cat, &cfg, &d);
    check_result(rc, &cat, &cfg, &d);
    ksiss_config_free(&cfg);
    ksiss_diags_free(&d);
    ksiss_catalog_free(&cat);
    free(text);
    if (size > 0 && data[0] == '{')
        parse_api_data(data, size);
    return 0;
}

