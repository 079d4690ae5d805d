/* controller_eval.c: one service's evaluation, shared by `ksiss run` and
 * `ksiss explain` (read the Knative objects, fetch metrics, build the
 * policy input, decide), and the small pure helpers around it (current
 * deployment from the Revisions, backoff annotation, traffic steps). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/promql.h"
#include "core/json_path.h"
#include "core/util.h"
#include "shell/controller.h"


int ksiss_parse_traffic_steps(const char *text, int **out, size_t *n, char **err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    int *v = ksiss_xcalloc(cap, sizeof(*v));
    const char *p = text;
    size_t count = 0;
    while (1) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *item = ksiss_xstrndup(p, len);
        int64_t pct;
        int bad = ksiss_parse_int64(item, &pct) != 0 || pct < 1 || pct > 100 ||
                  (count > 0 && pct <= v[count - 1]);
        free(item);
        if (bad) {
            *err = ksiss_xasprintf("traffic steps \"%s\": want ascending percentages in 1..100 ending at 100, "
                                   "e.g. \"10,50,100\" or \"100\"", text);
            free(v);
            return -1;
        }
        v[count++] = (int)pct;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (v[count - 1] != 100) {
        *err = ksiss_xasprintf("traffic steps \"%s\": the last step must be 100", text);
        free(v);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}


int ksiss_controller_serving_gpu(const json_t *service, const json_t *revisions, const char **resource,
                                 long long *count, char **why)
{
    *resource = NULL;
    *count = 0;
    *why = NULL;
    const char *ready = ksiss_json_str(service, "status", "latestReadyRevisionName", NULL);
    const json_t *rev = ksiss_tr_find_revision(revisions, ready);
    /* The revision serving, which is the template's except while a
     * transition is in flight. */
    const json_t *spec = rev ? json_object_get(rev, "spec") : ksiss_json_path(service, "spec", "template", "spec");
    json_t *c = ksiss_tr_gpu_container(spec, why);
    if (!c)
        return -1;
    int rc = ksiss_tr_container_gpu(c, resource, count, why);
    if (rc > 0)
        *why = rev ? ksiss_xasprintf("revision %s requests no GPU", ready)
                   : ksiss_xstrdup("the service's container requests no GPU");
    return rc == 0 ? 0 : -1;
}

void ksiss_controller_deployment(const ksiss_catalog *cat, const char *gpu_model, const json_t *service,
                                 const json_t *revisions, ksiss_deployment *out, char **why)
{
    memset(out, 0, sizeof(*out));
    out->transition_in_flight = ksiss_tr_annotation(service, KSISS_ANN_TRANSITION) != NULL;
    const char *res;
    long long n;
    if (ksiss_controller_serving_gpu(service, revisions, &res, &n, why) == 0)
        out->tier = ksiss_catalog_tier_for_resource(cat, gpu_model, res, n, why);
    const char *ready = ksiss_json_str(service, "status", "latestReadyRevisionName", NULL);
    const json_t *rev = ksiss_tr_find_revision(revisions, ready);
    json_int_t actual = json_integer_value(ksiss_json_path(rev, "status", "actualReplicas", NULL));
    json_int_t desired = json_integer_value(ksiss_json_path(rev, "status", "desiredReplicas", NULL));
    out->replicas_ready = actual > 0 && actual < 100000 ? (int)actual : 0;
    out->replicas_starting = desired > actual && desired < 100000 ? (int)(desired - actual) : 0;
}

void ksiss_controller_backoff(const json_t *service, int64_t now_ms, char **tier, int64_t *until_ms)
{
    *tier = NULL;
    *until_ms = INT64_MIN;
    const char *text = ksiss_tr_annotation(service, KSISS_ANN_BACKOFF);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    if (json_is_object(o))
        json_object_foreach(o, k, v)
            if (json_is_integer(v) && json_integer_value(v) > now_ms && json_integer_value(v) > *until_ms) {
                free(*tier);
                *tier = ksiss_xstrdup(k);
                *until_ms = json_integer_value(v);
            }
    json_decref(o);
}

/* ---------------------------------------------------------- evaluation --- */

void ksiss_eval_free(ksiss_eval *e)
{
    ksiss_metric_readings_free(e->readings, e->n_readings);
    free(e->readings);
    free(e->obs);
    free(e->load_why);
    free(e->tier_why);
    free((void *)e->pods);
    ksiss_tr_state_clear(&e->state);
    free(e->state_error);
    if (e->decided)
        ksiss_decision_clear(&e->decision);
    free(e->error);
    ksiss_gpu_resolution_clear(&e->gpu);
    if (e->has_effective)
        ksiss_gpu_service_free(&e->effective);
    ksiss_knative_view_free(&e->view);
    memset(e, 0, sizeof(*e));
}

/* The load reading from its samples: their sum, when finite and >= 0. */
static void take_load(const ksiss_promql_sample *s, size_t n, ksiss_eval *out)
{
    if (n == 0) {
        out->load_why = ksiss_xstrdup("load query: empty result");
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i].value;
    if (isfinite(sum) && sum >= 0) {
        out->load.present = true;
        out->load.value = sum;
    } else {
        out->load_why = ksiss_xstrdup("load query: not a finite non-negative number");
    }
}

static void read_load(const ksiss_eval_in *in, const ksiss_promql_vars *vars, ksiss_eval *out)
{
    out->load.present = false;
    out->load.value = NAN;
    out->load.observed_at_ms = in->now_ms;
    char *err = NULL;
    if (in->load_share) {
        /* Read in a query batched across services: same steps, same samples. */
        if (!in->load_share->ok)
            out->load_why = ksiss_xasprintf("load query: %s",
                                            in->load_share->error ? in->load_share->error : "failed");
        else
            take_load(in->load_share->samples, in->load_share->n, out);
        out->load.why_missing = out->load_why;
        return;
    }
    char *q = ksiss_promql_fill(in->svc->load.query, vars, &err);
    if (!q) {
        out->load_why = ksiss_xasprintf("load query: %s", err);
        free(err);
    } else {
        ksiss_prom_result r;
        if (ksiss_prom_query(in->prom, q, NULL, in->reg, &r) != 0) {
            out->load_why = ksiss_xasprintf("load query: %s", r.error ? r.error : "failed");
        } else {
            ksiss_promql_sample *ss = ksiss_xcalloc(r.n ? r.n : 1, sizeof(*ss));
            for (size_t i = 0; i < r.n; i++)
                ss[i] = (ksiss_promql_sample){NULL, r.samples[i].value, NULL};
            take_load(ss, r.n, out);
            free(ss);
        }
        ksiss_prom_result_free(&r);
        free(q);
    }
    out->load.why_missing = out->load_why;
}

bool ksiss_controller_reusable(const json_t *service, const ksiss_deployment *current)
{
    return current->tier && !current->transition_in_flight && !ksiss_tr_annotation(service, KSISS_ANN_TRANSITION) &&
           !ksiss_tr_annotation(service, KSISS_ANN_BACKOFF);
}

/* The objects' part of the evaluation: view, transition state, current
 * deployment, revision name (from the caches or the API, or known). */
static int read_objects(const ksiss_eval_in *in, ksiss_eval *out)
{
    if (in->known) {
        out->current = *in->known;
        out->revision = in->known_revision;
        return 0;
    }
    ksiss_kube_error ke = {0};
    json_t *no_pods = in->running_pods ? json_array() : NULL;
    int rc = ksiss_knative_read_cached(in->kube, in->ns, in->name, in->service,
                                       no_pods ? no_pods : in->all_pods, in->all_revisions, &out->view, &ke);
    json_decref(no_pods);
    if (rc != KSISS_KUBE_OK) {
        out->error = ksiss_xasprintf("cannot read service %s/%s: %s", in->ns, in->name,
                                     ke.message ? ke.message : ksiss_kube_rc_name(ke.rc));
        ksiss_kube_error_clear(&ke);
        return -1;
    }
    const json_t *svc = out->view.service;
    const char *text = ksiss_tr_annotation(svc, KSISS_ANN_TRANSITION);
    if (text) {
        out->has_state = ksiss_tr_state_parse(text, &out->state, &out->state_error) == 0;
        if (!out->has_state) {
            char *e = out->state_error;
            out->state_error = ksiss_xasprintf("annotation %s: %s", KSISS_ANN_TRANSITION, e);
            free(e);
        }
    }
    out->revision = ksiss_json_str(svc, "status", "latestReadyRevisionName", NULL);
    return 0;
}

/* The service's GPU model (gpu_resolve.h), then its current deployment on
 * that model. For a service in the original's format the evidence is the
 * serving revision's GPU resource (from the objects read, or from the
 * tier of a kept reading) and the nodes its pods run on (the inventory).
 * A model that cannot be told leaves the tier unknown. */
static void read_deployment(const ksiss_eval_in *in, ksiss_eval *out)
{
    const ksiss_service_cfg *svc = in->svc;
    if (!ksiss_gpu_model_inferred(svc)) {
        ksiss_gpu_resolve(in->cat, svc, NULL, &out->gpu);
        if (!in->known)
            ksiss_controller_deployment(in->cat, svc->gpu_model, out->view.service, out->view.revisions,
                                        &out->current, &out->tier_why);
        return;
    }
    ksiss_gpu_evidence ev = {.revision = out->revision};
    char *why = NULL;
    if (in->known) {
        if (in->known->tier) {
            ev.resource = in->known->tier->resource;
            ev.count = in->known->tier->count;
        }
    } else if (ksiss_controller_serving_gpu(out->view.service, out->view.revisions, &ev.resource, &ev.count,
                                            &why) != 0) {
        ev.resource = NULL;
    }
    size_t n = ksiss_inventory_revision_nodes(in->inv, in->ns, out->revision, NULL, 0);
    const ksiss_inventory_node **nodes = ksiss_xcalloc(n ? n : 1, sizeof(*nodes));
    ksiss_gpu_node_seen *seen = ksiss_xcalloc(n ? n : 1, sizeof(*seen));
    n = ksiss_inventory_revision_nodes(in->inv, in->ns, out->revision, nodes, n);
    for (size_t i = 0; i < n; i++)
        seen[i] = (ksiss_gpu_node_seen){nodes[i]->name, nodes[i]->product};
    ev.nodes = seen;
    ev.n_nodes = n;
    ksiss_gpu_resolve(in->cat, svc, &ev, &out->gpu);
    if (out->gpu.model) {
        ksiss_gpu_service_for_model(in->cat, svc, out->gpu.model, &out->effective);
        out->has_effective = true;
        if (in->known) {
            out->current.tier = ev.resource ? ksiss_catalog_tier_for_resource(in->cat, out->gpu.model, ev.resource,
                                                                              ev.count, &out->tier_why)
                                            : NULL;
        } else {
            ksiss_controller_deployment(in->cat, out->gpu.model, out->view.service, out->view.revisions,
                                        &out->current, &out->tier_why);
        }
    } else if (!in->known) {
        /* Instances and transition as read; no tier without a model. */
        ksiss_controller_deployment(in->cat, NULL, out->view.service, out->view.revisions, &out->current,
                                    &out->tier_why);
        free(out->tier_why);
        out->tier_why = ksiss_xasprintf("GPU model unknown: %s", out->gpu.seen);
        out->current.tier = NULL;
    } else {
        out->current.tier = NULL;
        out->tier_why = ksiss_xasprintf("GPU model unknown: %s", out->gpu.seen);
    }
    free(why);
    free(seen);
    free(nodes);
}

const ksiss_service_cfg *ksiss_eval_service(const ksiss_eval *e, const ksiss_service_cfg *configured)
{
    return e->has_effective ? &e->effective : configured;
}

int ksiss_controller_evaluate(const ksiss_eval_in *in, ksiss_eval *out)
{
    memset(out, 0, sizeof(*out));
    if (read_objects(in, out) != 0)
        return -1;
    read_deployment(in, out);
    if (in->running_pods) {
        out->pods = ksiss_xcalloc(in->n_running_pods ? in->n_running_pods : 1, sizeof(*out->pods));
        memcpy((void *)out->pods, in->running_pods, in->n_running_pods * sizeof(*out->pods));
        out->n_pods = in->n_running_pods;
    } else {
        out->pods = ksiss_knative_running_pods(&out->view, &out->n_pods);
    }
    ksiss_promql_vars vars = {.service = in->name, .namespace_name = in->ns, .revision = out->revision};
    out->n_readings = in->svc->n_metrics;
    out->readings = ksiss_xcalloc(out->n_readings ? out->n_readings : 1, sizeof(*out->readings));
    out->obs = ksiss_xcalloc(out->n_readings ? out->n_readings : 1, sizeof(*out->obs));
    ksiss_prom_read_service_shared(in->prom, in->svc, &vars, out->pods, out->n_pods, in->shares, in->now_ms, in->reg,
                                   out->readings);
    if (in->reg)
        ksiss_prom_export_readings(in->reg, in->ns, in->name, in->svc, out->readings, out->pods);
    for (size_t i = 0; i < out->n_readings; i++)
        out->obs[i] = out->readings[i].obs;
    if (in->svc->has_load)
        read_load(in, &vars, out);
    const ksiss_service_cfg *esvc = ksiss_eval_service(out, in->svc);
    if (in->svc->has_load) {
        /* the learned capacity's series; without learning, the prompt-length histogram alone */
        ksiss_controller_read_learn(in, &vars, out);
        if (in->svc->load.learn)
            ksiss_controller_learn(in, esvc, out);
        ksiss_controller_floor(in, esvc, out);
    }
    if (!out->gpu.model) {
        /* Never a silent hold: the reason names what was seen. */
        ksiss_gpu_hold(&out->gpu, &out->current, &out->decision);
        out->decided = true;
        return 0;
    }
    const ksiss_policy *pol = ksiss_policy_find(in->svc->policy ? in->svc->policy : "ksiss");
    if (!pol) {
        out->error = ksiss_xasprintf("service %s: unknown policy \"%s\"", in->name, in->svc->policy);
        return -1;
    }
    ksiss_policy_input pin = {
        .svc = ksiss_eval_service(out, in->svc),
        .obs = out->obs,
        .load = out->load,
        .current = out->current,
        .free = in->free,
        .n_free = in->n_free,
        .history = in->history,
        .now_ms = in->now_ms,
        .interval_ms = in->interval_ms,
        .capacity = out->learning ? &out->cap_view : NULL,
        .too_slow = out->slow_tiers,
        .n_too_slow = out->n_slow,
    };
    if (pol->decide(&pin, &out->decision) != 0) {
        out->error = ksiss_xasprintf("service %s: policy %s failed: %s", in->name, pol->name,
                                     out->decision.reason ? out->decision.reason : "no reason given");
        ksiss_decision_clear(&out->decision);
        return -1;
    }
    out->decided = true;
    return 0;
}


/* ------------------------------------------------ re-read before acting --- */

int ksiss_controller_recheck(ksiss_kube *k, const char *ns, const char *name, const ksiss_tr_input *tin,
                                    ksiss_tr_plan *plan, ksiss_knative_view *fresh, char **err)
{
    *err = NULL;
    ksiss_kube_error ke = {0};
    json_t *no_pods = json_array();     /* pods play no part in the step */
    int rc = ksiss_knative_read_cached(k, ns, name, NULL, no_pods, NULL, fresh, &ke);
    json_decref(no_pods);
    if (rc != KSISS_KUBE_OK) {
        *err = ksiss_xasprintf("cannot re-read service %s/%s and its revisions before acting: %s", ns,
                               name, ke.message ? ke.message : ksiss_kube_rc_name(ke.rc));
        ksiss_kube_error_clear(&ke);
        return -1;
    }
    ksiss_tr_input again = *tin;
    again.service = fresh->service;
    again.revisions = fresh->revisions;
    ksiss_tr_plan p;
    char *terr = NULL;
    if (ksiss_transition_step(&again, &p, &terr) != 0) {
        *err = ksiss_xasprintf("service %s/%s: %s", ns, name, terr);
        free(terr);
        ksiss_knative_view_free(fresh);
        return -1;
    }
    ksiss_tr_plan_free(plan);
    *plan = p;
    return 0;
}

int ksiss_decision_log_from_env(const char *value, ksiss_decision_log_mode *out, char **err)
{
    *out = KSISS_DECISION_LOG_CHANGES;
    if (!value || !*value || !strcmp(value, "changes"))
        return 0;
    if (!strcmp(value, "all")) {
        *out = KSISS_DECISION_LOG_ALL;
        return 0;
    }
    *err = ksiss_xasprintf("KSISS_DECISION_LOG=\"%s\": want \"changes\" (log actions, and holds that differ from "
                           "the last line logged) or \"all\" (every decision of every tick)", value);
    return -1;
}

/* Copies src into a fixed field, cut to fit (NULL: empty). */
static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static bool same_field(const char *field, size_t size, const char *v)
{
    char buf[64];
    copy_field(buf, size < sizeof(buf) ? size : sizeof(buf), v);
    return !strcmp(field, buf);
}

bool ksiss_decision_log_due(ksiss_decision_log_mode mode, ksiss_decision_logged *last, const ksiss_decision *d,
                            int64_t now_ms)
{
    const char *tier = d->tier ? d->tier->name : NULL;
    bool due = mode == KSISS_DECISION_LOG_ALL || !last->any || d->action != KSISS_HOLD ||
               last->action != d->action || last->replicas != d->replicas ||
               !same_field(last->reason_code, sizeof(last->reason_code), d->reason_code) ||
               !same_field(last->tier, sizeof(last->tier), tier) || now_ms < last->at_ms ||
               now_ms - last->at_ms >= KSISS_DECISION_LOG_HEARTBEAT_MS;
    if (!due)
        return false;
    last->any = true;
    last->at_ms = now_ms;
    last->action = d->action;
    last->replicas = d->replicas;
    copy_field(last->reason_code, sizeof(last->reason_code), d->reason_code);
    copy_field(last->tier, sizeof(last->tier), tier);
    return true;
}


bool ksiss_slo_unattainable_due(bool *reported, const ksiss_decision *d)
{
    if (d->reason_code && !strcmp(d->reason_code, "slo_unattainable")) {
        if (*reported)
            return false;
        *reported = true;
        return true;
    }
    if (!d->slo_breach)
        *reported = false;  /* the breach is over: a new one is a new episode */
    return false;
}
