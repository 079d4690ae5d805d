/* prom_read.c: the per-tick read of one service's configured metrics
 * (ksiss_prom_read_service[_shared], see prom.h): each metric's query with
 * the service's placeholders filled, or its share of a query batched
 * across services (prom_batch.c); the service-level value or the pods'
 * values taken from the samples, and why a metric has no value when it
 * has none. */
#include "shell/prom_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static void reading_missing(ksiss_metric_reading *r, const char *why)
{
    r->obs.present = false;
    r->obs.value = NAN;
    free(r->why);
    r->why = ksiss_xstrdup(why);
    r->obs.why_missing = r->why;
}

static void reading_failed(ksiss_metric_reading *r, const ksiss_metric_cfg *m, const char *cause)
{
    if (!r->failed) {
        r->failed = true;
        r->error = ksiss_xasprintf("metric %s: %s", m->name, cause);
    }
    for (size_t p = 0; p < r->n_pods; p++)
        if (!r->pods[p].present)
            r->pods[p].why_missing = "the query failed";
}

/* A service-level metric from its samples (all of this service's). */
static void take_service_level(const ksiss_metric_cfg *m, const ksiss_promql_sample *s, size_t n,
                               ksiss_metric_reading *r)
{
    ksiss_pod_value *vals = ksiss_xcalloc(n ? n : 1, sizeof(*vals));
    for (size_t i = 0; i < n; i++) {
        const char *nf = ksiss_promql_nonfinite_why(s[i].value);
        vals[i] = (ksiss_pod_value){!nf, s[i].value, nf};
    }
    ksiss_pod_value agg = ksiss_promql_combine(vals, n, m->aggregate);
    free(vals);
    if (agg.present) {
        r->obs.present = true;
        r->obs.value = agg.value;
    } else {
        reading_missing(r, agg.why_missing);
    }
}

/* The aggregate over the pods' readings (after a pod read). */
static void take_pods(const ksiss_metric_cfg *m, ksiss_metric_reading *r)
{
    ksiss_pod_value agg = ksiss_promql_combine(r->pods, r->n_pods, m->aggregate);
    if (agg.present) {
        r->obs.present = true;
        r->obs.value = agg.value;
    } else {
        reading_missing(r, agg.why_missing);
    }
}

/* The metric from its share of a query batched across services: the same
 * steps as after the service's own query, on the same samples. */
static void read_shared(const ksiss_metric_cfg *m, const ksiss_prom_share *sh, const char *const *pods,
                        size_t n_pods, ksiss_metric_reading *r)
{
    r->per_pod = ksiss_promql_uses_pod(m->query);
    r->batched = true;
    r->shared = true;
    if (r->per_pod) {
        r->pods = ksiss_xcalloc(n_pods ? n_pods : 1, sizeof(*r->pods));
        r->n_pods = n_pods;
        for (size_t p = 0; p < n_pods; p++)
            r->pods[p] = (ksiss_pod_value){false, NAN, "not read"};
    }
    if (!sh->ok) {
        reading_failed(r, m, sh->error ? sh->error : "the batched query failed");
        return;
    }
    if (!r->per_pod) {
        take_service_level(m, sh->samples, sh->n, r);
        return;
    }
    ksiss_promql_spread(sh->samples, sh->n, pods, n_pods, m->aggregate, r->pods);
    take_pods(m, r);
}

/* The answer's samples as the core reads them, each with the pod it
 * names (answer_pods) or with `pod` (NULL: service-level). Caller frees. */
static ksiss_promql_sample *samples_of(const ksiss_prom_result *res, bool answer_pods, const char *pod)
{
    ksiss_promql_sample *ss = ksiss_xcalloc(res->n ? res->n : 1, sizeof(*ss));
    for (size_t i = 0; i < res->n; i++)
        ss[i] = (ksiss_promql_sample){answer_pods ? res->samples[i].pod : pod, res->samples[i].value, NULL};
    return ss;
}

/* r->query made from m's with vars and pod (NULL: none) and sent, its
 * answer in *res (the caller frees it; res->ok says whether it was read);
 * false (r failed) when the query cannot be made: nothing sent. */
static bool send_filled(ksiss_prom *c, const ksiss_metric_cfg *m, const ksiss_promql_vars *vars, const char *pod,
                        ksiss_metrics *reg, ksiss_metric_reading *r, ksiss_prom_result *res)
{
    char *err = NULL;
    ksiss_promql_vars v = *vars;
    v.pod = pod;
    free(r->query);
    r->query = ksiss_promql_fill(m->query, &v, &err);
    if (!r->query) {
        reading_failed(r, m, err);
        free(err);
        return false;
    }
    r->requests++;
    ksiss_prom_query(c, r->query, NULL, reg, res);
    return true;
}

/* A query with no {pod}: one request, one service-level value. */
static void read_service_level(ksiss_prom *c, const ksiss_metric_cfg *m, const ksiss_promql_vars *vars,
                               ksiss_metrics *reg, ksiss_metric_reading *r)
{
    ksiss_prom_result res;
    if (!send_filled(c, m, vars, NULL, reg, r, &res))
        return;
    if (!res.ok) {
        reading_failed(r, m, res.error);
    } else {
        ksiss_promql_sample *ss = samples_of(&res, false, NULL);
        take_service_level(m, ss, res.n, r);
        free(ss);
    }
    ksiss_prom_result_free(&res);
}

/* Every pod in one query q (made by ksiss_promql_batch), its samples
 * spread to the pods by their `label`. */
static void read_pods_batched(ksiss_prom *c, const ksiss_metric_cfg *m, char *q, const char *label,
                              const char *const *pods, size_t n_pods, ksiss_metrics *reg, ksiss_metric_reading *r)
{
    ksiss_prom_result res;
    r->batched = true;
    r->query = q;
    r->requests++;
    if (ksiss_prom_query(c, q, label, reg, &res) < 0) {
        reading_failed(r, m, res.error);
    } else {
        ksiss_promql_sample *ss = samples_of(&res, true, NULL);
        ksiss_promql_spread(ss, res.n, pods, n_pods, m->aggregate, r->pods);
        free(ss);
    }
    ksiss_prom_result_free(&res);
}

/* One query per pod (the query's shape does not allow one for all),
 * stopping at the first failure. */
static void read_pods_one_by_one(ksiss_prom *c, const ksiss_metric_cfg *m, const ksiss_promql_vars *vars,
                                 const char *const *pods, size_t n_pods, ksiss_metrics *reg,
                                 ksiss_metric_reading *r)
{
    for (size_t p = 0; p < n_pods && !r->failed; p++) {
        ksiss_prom_result res;
        if (!send_filled(c, m, vars, pods[p], reg, r, &res))
            return;
        if (!res.ok) {
            char *cause = ksiss_xasprintf("pod %s: %s", pods[p], res.error);
            reading_failed(r, m, cause);
            free(cause);
        } else {
            ksiss_promql_sample *ss = samples_of(&res, false, pods[p]);
            ksiss_promql_spread(ss, res.n, &pods[p], 1, m->aggregate, &r->pods[p]);
            free(ss);
        }
        ksiss_prom_result_free(&res);
    }
}

static void read_one(ksiss_prom *c, const ksiss_metric_cfg *m, const ksiss_promql_vars *vars,
                     const char *const *pods, size_t n_pods, ksiss_metrics *reg, ksiss_metric_reading *r)
{
    r->per_pod = ksiss_promql_uses_pod(m->query);
    if (!r->per_pod) {
        read_service_level(c, m, vars, reg, r);
        return;
    }
    r->pods = ksiss_xcalloc(n_pods ? n_pods : 1, sizeof(*r->pods));
    r->n_pods = n_pods;
    for (size_t p = 0; p < n_pods; p++)
        r->pods[p] = (ksiss_pod_value){false, NAN, "not read"};
    if (n_pods == 0) {
        reading_missing(r, "the service has no pods to read");
        return;
    }
    char *label = NULL, *why_not = NULL, *q = NULL;
    int b = ksiss_promql_batch(m->query, vars, pods, n_pods, &q, &label, &why_not);
    if (b < 0) {
        reading_failed(r, m, why_not);
        free(why_not);
        return;
    }
    if (b == 1)
        read_pods_batched(c, m, q, label, pods, n_pods, reg, r);
    else
        read_pods_one_by_one(c, m, vars, pods, n_pods, reg, r);
    free(label);
    free(why_not);
    if (!r->failed)
        take_pods(m, r);
}

size_t ksiss_prom_read_service(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                               const char *const *pods, size_t n_pods, int64_t now_ms, ksiss_metrics *reg,
                               ksiss_metric_reading *out)
{
    return ksiss_prom_read_service_shared(c, svc, vars, pods, n_pods, NULL, now_ms, reg, out);
}

size_t ksiss_prom_read_service_shared(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                                      const char *const *pods, size_t n_pods, const ksiss_prom_share *const *shares,
                                      int64_t now_ms, ksiss_metrics *reg, ksiss_metric_reading *out)
{
    size_t missing = 0;
    for (size_t i = 0; i < svc->n_metrics; i++) {
        ksiss_metric_reading *r = &out[i];
        memset(r, 0, sizeof(*r));
        r->obs.value = NAN;
        r->obs.observed_at_ms = now_ms;
        if (shares && shares[i])
            read_shared(&svc->metrics[i], shares[i], pods, n_pods, r);
        else
            read_one(c, &svc->metrics[i], vars, pods, n_pods, reg, r);
        if (r->failed)
            reading_missing(r, r->error);
        if (!r->obs.present)
            missing++;
    }
    return missing;
}

void ksiss_metric_readings_free(ksiss_metric_reading *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].why);
        free(r[i].pods);
        free(r[i].error);
        free(r[i].query);
        memset(&r[i], 0, sizeof(r[i]));
    }
}
