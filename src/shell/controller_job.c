/* controller_job.c: one managed service's work in one tick (a job on the
 * worker pool): its metric queries offered to the tick's batch, then, once
 * answered, the evaluation, the decision (logged and counted), and one
 * transition step, re-checked against a fresh read before anything is
 * written; the reading kept while the service's records are unchanged
 * (reading_memo); and the tick's shared snapshot's reference count. */
#include "shell/controller_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/json_path.h"
#include "core/util.h"
#include "shell/clock.h"
#include "shell/log.h"

void ksiss_ctl_snap_unref(snapshot *s)
{
    if (!s)
        return;
    if (!ksiss_ctl_unref(&s->refs))
        return;
    /* The last service of the tick is done. */
    ksiss_metrics_observe(s->c->reg, KSISS_M_TICK_DURATION, NULL, ksiss_mono_s() - s->t0_s);
    ksiss_ctl_cfg_unref(s->cfg);
    ksiss_ctl_inv_unref(s->inv);
    ksiss_ctl_index_unref(s->services);
    ksiss_ctl_index_unref(s->pods);
    ksiss_ctl_index_unref(s->revs);
    ksiss_prom_batch_free(s->batch);
    free(s);
#ifdef __GLIBC__
    /* The tick's transient memory (answers, parsed objects) goes back
     * to the system instead of staying in the arenas' free lists. */
    malloc_trim(0);
#endif
}

snapshot *ksiss_ctl_snap_ref(snapshot *s)
{
    ksiss_ctl_ref(&s->refs);
    return s;
}

static long long free_units_for(const snapshot *s, const ksiss_tier *t)
{
    if (!t || !s->inv)
        return -1;
    long long n = 0;
    for (size_t i = 0; i < s->inv->n_free; i++) {
        const ksiss_free_gpu *f = &s->inv->free[i];
        if (!strcmp(f->resource, t->resource) && (!f->gpu_model || !t->gpu_model || !strcmp(f->gpu_model, t->gpu_model)))
            n += f->free_units;
    }
    return n;
}

void ksiss_ctl_memo_clear(reading_memo *m)
{
    ksiss_kobj_unref(m->service);
    ksiss_kobj_unref(m->rev_one);
    for (size_t i = 0; m->n_revs > 1 && i < m->n_revs; i++)
        ksiss_kobj_unref(m->revs[i]);
    free(m->revs);
    memset(m, 0, sizeof(*m));
}

static ksiss_kobj *const *memo_revs(const reading_memo *m)
{
    return m->n_revs == 1 ? &m->rev_one : m->revs;
}

/* The kept reading of this job's service, when its records and its
 * configuration are those it was read from; NULL otherwise. */
static const ksiss_deployment *memo_get(const job *j)
{
    const reading_memo *m = &j->st->memo;
    if (!m->service || m->service != j->service || !j->revisions || m->n_revs != j->revisions->n ||
        m->cfg_gen != j->s->cfg->gen)
        return NULL;
    ksiss_kobj *const *v = memo_revs(m);
    for (size_t i = 0; i < m->n_revs; i++)
        if (v[i] != j->revisions->v[i])
            return NULL;
    return &m->current;
}

static void memo_keep(job *j, const ksiss_deployment *current)
{
    reading_memo *m = &j->st->memo;
    ksiss_ctl_memo_clear(m);
    if (!j->revisions)
        return;
    m->service = ksiss_kobj_ref(j->service);
    m->n_revs = j->revisions->n;
    if (m->n_revs == 1) {
        m->rev_one = ksiss_kobj_ref(j->revisions->v[0]);
    } else if (m->n_revs > 1) {
        m->revs = ksiss_xcalloc(m->n_revs, sizeof(*m->revs));
        for (size_t i = 0; i < m->n_revs; i++)
            m->revs[i] = ksiss_kobj_ref(j->revisions->v[i]);
    }
    m->cfg_gen = j->s->cfg->gen;
    m->current = *current;
}

/* An Event on the Knative Service `name` (its uid from `service`, NULL
 * when not at hand); one that cannot be recorded is logged. */
static int emit_service_event(controller *c, const char *name, const json_t *service, const char *type,
                              const char *reason, const char *message)
{
    if (!c->events)
        return 0;
    ksiss_kube_object_ref ref = {
        .api_version = "serving.knative.dev/v1", .kind = "Service", .ns = c->ns, .name = name,
        .uid = ksiss_json_str(service, "metadata", "uid", NULL),
    };
    ksiss_kube_error e = {0};
    int rc = ksiss_events_emit(c->events, &ref, type, reason, message, &e);
    if (rc != 0)
        ksiss_log("warn", "event not recorded", "service", name, "reason", reason, "error", e.message, NULL);
    ksiss_kube_error_clear(&e);
    return rc;
}

/* The Event callback of ksiss_knative_apply. */
static int service_event(void *ud, const json_t *service, const char *type, const char *reason, const char *message)
{
    return emit_service_event(ud, ksiss_json_str(service, "metadata", "name", NULL), service, type, reason, message);
}

/* A Warning Event when a service holds because its GPU model cannot be
 * told (gpu_resolve.h), once per distinct reason: never a silent hold, and
 * no Event per tick. */
static void gpu_model_event(controller *c, svc_state *w, const json_t *service, const ksiss_eval *ev)
{
    const ksiss_decision *d = &ev->decision;
    bool held = ev->decided && !ev->gpu.model && d->reason;
    if (!held) {
        free(w->gpu_event);
        w->gpu_event = NULL;
        return;
    }
    if (w->gpu_event && !strcmp(w->gpu_event, d->reason))
        return;
    free(w->gpu_event);
    w->gpu_event = ksiss_xstrdup(d->reason);
    bool mixed = ev->gpu.source == KSISS_GPU_MIXED;
    ksiss_log("warn", mixed ? "GPU model mixed: holding" : "GPU model unknown: holding", "service", w->name,
              "reason_code", d->reason_code, "seen", ev->gpu.seen, NULL);
    emit_service_event(c, w->name, service, "Warning", mixed ? "GPUModelMixed" : "GPUModelUnknown", d->reason);
}

/* A Warning Event when the SLO is breached at the largest deployment the
 * service may use (reason code slo_unattainable), once per breach: never a
 * silent hold at the maximum, and no Event per tick. */
static void unattainable_event(controller *c, svc_state *w, const json_t *service, const ksiss_decision *d)
{
    if (!ksiss_slo_unattainable_due(&w->unattainable_reported, d))
        return;
    ksiss_log("warn", "SLO unattainable at the largest allowed deployment", "service", w->name, "reason_code",
              d->reason_code, "reason", d->reason, NULL);
    emit_service_event(c, w->name, service, "Warning", "SLOUnattainable", d->reason);
}

/* This job's Service and Revisions as JSON, for this job only (the caches
 * keep compact text, kube_object.h); false (logged, nothing parsed kept)
 * when the Service's record cannot be read back. */
static bool parse_objects(const job *j, const char *what, json_t **service, json_t **revisions)
{
    *service = ksiss_kobj_parse(j->service);
    *revisions = ksiss_ctl_group_parse(j->revisions);
    if (*service)
        return true;
    ksiss_log("error", what, "service", j->st->name, "error", "cached object unreadable", NULL);
    json_decref(*revisions);
    *revisions = NULL;
    return false;
}

/* The service's learned-capacity state, made on its first learning tick;
 * NULL for a service that does not learn (the state of one that stopped
 * learning is kept: its configuration may come back). */
static ksiss_learn_state *learn_state(job *j)
{
    if (!j->svc->has_load || !j->svc->load.learn)
        return NULL;
    if (!j->st->learn)
        j->st->learn = ksiss_xcalloc(1, sizeof(*j->st->learn));
    return j->st->learn;
}

/* The learned capacity's state into the Service's annotation, when it has
 * moved: at most once per LEARN_SAVE_MS a service, so that 10,000
 * learning services do not each write every minute; a restart loses at
 * most that much learning. Not in a dry run. */
#define LEARN_SAVE_MS 300000
static void learned_saved(job *j, const ksiss_eval *ev)
{
    controller *c = j->s->c;
    ksiss_learn_state *st = j->st->learn;
    if (!ev->learning || !st || !st->state || st->saved_n == st->written_n || c->o->dry_run)
        return;
    if (st->written_n > 0 && j->s->now_ms - st->written_ms < LEARN_SAVE_MS)
        return;
    char *err = NULL;
    if (ksiss_controller_save_learned(c->kube, c->ns, j->st->name, st->state, &err) == 0) {
        st->written_n = st->saved_n;
        st->written_ms = j->s->now_ms;
    } else {
        ksiss_log("warn", "learned capacity not saved; kept for the next try", "service", j->st->name, "error", err,
                  NULL);
    }
    free(err);
}

/* What a decision asks of the transition step. */
typedef struct {
    const ksiss_tier *tier;     /* the tier to move to, NULL: none */
    int replicas;               /* the instances wanted, 0: none */
    const char *reason;         /* borrowed from the decision */
} step_target;

/* The decision d: logged when due, counted, recorded in the history, its
 * SLOUnattainable Event when due; returns what it asks of the step. */
static step_target decision_taken(job *j, const ksiss_eval *ev)
{
    controller *c = j->s->c;
    svc_state *w = j->st;
    const ksiss_decision *d = &ev->decision;
    if (ksiss_decision_log_due(c->decision_log, &w->logged, d, j->s->now_ms)) {
        char rep[24], pres[32];
        snprintf(rep, sizeof(rep), "%d", d->replicas);
        snprintf(pres, sizeof(pres), "%.3g", d->pressure);
        ksiss_log("info", "decision", "service", w->name, "namespace", c->ns, "decision",
                  ksiss_action_name(d->action), "tier", d->tier ? d->tier->name : NULL, "replicas", rep,
                  "pressure", pres, "reason_code", d->reason_code, "reason", d->reason, "config_match",
                  w->by_prefix ? "legacy-prefix" : NULL, NULL);
    }
    ksiss_metrics_add(c->reg, KSISS_M_DECISIONS_TOTAL,
                      KSISS_LABELS(c->ns, w->name, ksiss_action_name(d->action),
                                   d->reason_code ? d->reason_code : "unknown"), 1);
    ksiss_history_record(&w->history, d, ev->load.present ? ev->load.value : NAN, j->s->now_ms);
    unattainable_event(c, w, ev->view.service, d);
    step_target t = {.reason = d->reason};
    if ((d->action == KSISS_UP || d->action == KSISS_DOWN) && d->tier)
        t.tier = d->tier;
    if (d->action != KSISS_HOLD)
        t.replicas = d->replicas;
    return t;
}

/* Evaluates the service and takes the decision (*ev filled in every case:
 * the caller frees it). false (logged) when there is no step to take: not
 * evaluated, or no decision with no transition in flight. service and
 * revisions: the service's objects parsed from the caches, or NULL with
 * `known`, the reading kept from an earlier tick. */
static bool job_evaluate(job *j, ksiss_prom *prom, const json_t *service, const json_t *revisions,
                         const ksiss_deployment *known, ksiss_eval *ev, step_target *t)
{
    snapshot *s = j->s;
    controller *c = s->c;
    svc_state *w = j->st;
    char *bo_tier = NULL;
    /* The history as long as this service's windows at this tick need
     * (its configuration may have changed since the last tick). */
    ksiss_history_reserve(&w->history, ksiss_history_capacity(j->svc, c->interval_ms));
    ksiss_eval_in in = {
        .kube = c->kube, .prom = prom, .reg = c->reg, .cat = &s->cfg->cat, .svc = j->svc, .ns = c->ns,
        .name = w->name, .service = service, .running_pods = j->running, .n_running_pods = j->n_running,
        .all_revisions = revisions,
        .shares = j->use, .load_share = j->load_shared ? &j->shares[j->svc->n_metrics] : NULL,
        .learn_shares = j->learn_use, .learn = learn_state(j), .tally = &w->tally, .cfg_gen = s->cfg->gen,
        .free = s->inv ? s->inv->free : NULL, .n_free = s->inv ? s->inv->n_free : 0,
        .inv = s->inv ? &s->inv->inv : NULL, .history = &w->history, .now_ms = s->now_ms, .interval_ms = c->interval_ms,
        .known = known, .known_revision = known ? ksiss_kobj_str(j->service, KSISS_KOBJ_READY_REVISION) : NULL,
    };
    if (ksiss_controller_evaluate(&in, ev) != 0 && !ev->view.service) {
        ksiss_log("error", "service not evaluated", "service", w->name, "error", ev->error, NULL);
        return false;
    }
    /* The backoff recorded in the Service feeds the policy's history (a
     * kept reading has none). */
    int64_t until = INT64_MIN;
    if (!known)
        ksiss_controller_backoff(ev->view.service, s->now_ms, &bo_tier, &until);
    free(w->history.backoff_tier);
    w->history.backoff_tier = bo_tier;
    w->history.backoff_until_ms = until;
    ksiss_controller_export_service(c->reg, c->ns, w->name, ev, &w->legacy_rev);
    ksiss_controller_export_learned(c->reg, w->name, ev);
    ksiss_controller_export_floor(c->reg, w->name, ksiss_eval_service(ev, j->svc), ev);
    learned_saved(j, ev);
    gpu_model_event(c, w, ev->view.service, ev);
    *t = (step_target){0};
    if (ev->decided) {
        *t = decision_taken(j, ev);
        return true;
    }
    ksiss_log("warn", "no decision", "service", w->name, "error", ev->error, NULL);
    return ev->has_state;   /* a transition in flight still advances */
}

/* Nothing is written on a decision taken on watch caches alone: they may
 * lag, and they keep trimmed objects (kube_informer.c) while a write
 * copies whole ones. The step is decided again on the Service and
 * Revisions read from the API now (*fresh, the caller frees it), and that
 * plan replaces *plan (controller.h). false (logged) without a fresh read:
 * nothing is done this tick. */
static bool plan_recheck(job *j, const ksiss_tr_input *tin, ksiss_tr_plan *plan, ksiss_knative_view *fresh)
{
    controller *c = j->s->c;
    const char *name = j->st->name;
    char *err = NULL;
    char *cached = ksiss_xstrdup(plan->summary);
    bool ok = ksiss_controller_recheck(c->kube, c->ns, name, tin, plan, fresh, &err) == 0;
    if (!ok)
        ksiss_log("warn", "not acting: no fresh read; nothing done this tick", "service", name, "error", err, NULL);
    else if (strcmp(cached, plan->summary ? plan->summary : "") != 0)
        ksiss_log("info", "re-read before acting changed the step", "service", name, "cached", cached, "now",
                  plan->summary, NULL);
    free(err);
    free(cached);
    return ok;
}

/* Writes plan's changes to act_on (the fresh Service), or logs them in a
 * dry run. */
static void plan_apply(job *j, const ksiss_tr_plan *plan, const json_t *act_on)
{
    controller *c = j->s->c;
    const char *name = j->st->name;
    if (c->o->dry_run) {
        ksiss_log("info", "dry-run: would act", "service", name, "phase", ksiss_tr_phase_name(plan->phase), "step",
                  plan->summary, NULL);
        return;
    }
    char *err = NULL;
    ksiss_apply_rc rc = ksiss_knative_apply(c->kube, service_event, c, c->ns, act_on, plan, &err);
    ksiss_log(rc == KSISS_APPLY_FAILED ? "error" : "info",
              rc == KSISS_APPLY_DONE ? "acted" : rc == KSISS_APPLY_CONFLICT ? "conflict" : "action failed",
              "service", name, "phase", ksiss_tr_phase_name(plan->phase), "step", plan->summary, "error", err, NULL);
    free(err);
}

/* Advances the service's transition one step toward t. service and
 * revisions as job_evaluate's; with a kept reading (known), a hold with no
 * transition in flight is "nothing to do" (step_idle) and needs no
 * objects; any other decision parses them. */
static void job_step(job *j, const ksiss_eval *ev, const step_target *t, const json_t *service,
                     const json_t *revisions, bool known)
{
    snapshot *s = j->s;
    controller *c = s->c;
    json_t *parsed_service = NULL, *parsed_revisions = NULL;
    if (known) {
        if (!t->tier && t->replicas == 0)
            return;
        if (!parse_objects(j, "service not acted on", &parsed_service, &parsed_revisions))
            return;
        service = parsed_service;
        revisions = parsed_revisions;
    } else {
        service = ev->view.service;
        revisions = ev->view.revisions;
    }
    ksiss_tr_input tin = {
        .service = service, .revisions = revisions, .cat = &s->cfg->cat,
        .gpu_model = ev->gpu.model ? ev->gpu.model : j->svc->gpu_model,
        .target_tier = t->tier, .target_replicas = t->replicas, .reason = t->reason,
        .free_target_units = free_units_for(s, t->tier), .traffic_steps = c->steps,
        .n_traffic_steps = c->n_steps,
        .ready_timeout_ms = c->o->ready_timeout_ms > 0 ? c->o->ready_timeout_ms : KSISS_DEFAULT_READY_TIMEOUT_MS,
        .backoff_ms = c->o->backoff_ms > 0 ? c->o->backoff_ms : KSISS_DEFAULT_BACKOFF_MS,
        .default_cpu = c->env.default_cpu, .default_memory = c->env.default_memory, .now_ms = s->now_ms,
    };
    ksiss_tr_plan plan;
    char *err = NULL;
    if (ksiss_transition_step(&tin, &plan, &err) != 0) {
        ksiss_log("error", "transition refused", "service", j->st->name, "error", err, NULL);
        free(err);
        goto out;
    }
    /* Read once, reused while unchanged (an action changes them). */
    if (!known && plan.n == 0 && ksiss_controller_reusable(service, &ev->current))
        memo_keep(j, &ev->current);
    ksiss_knative_view fresh = {0};
    const json_t *act_on = service;
    if (plan.n > 0 && !c->o->dry_run) {
        if (!plan_recheck(j, &tin, &plan, &fresh))
            goto out_plan;
        act_on = fresh.service;
    }
    if (plan.n > 0)
        plan_apply(j, &plan, act_on);
    else if (ev->has_state || (plan.summary && strcmp(plan.summary, "nothing to do") != 0))
        ksiss_log("info", "transition", "service", j->st->name, "phase", ksiss_tr_phase_name(plan.phase), "step",
                  plan.summary, NULL);
out_plan:
    ksiss_knative_view_free(&fresh);
    ksiss_tr_plan_free(&plan);
out:
    json_decref(parsed_service);
    json_decref(parsed_revisions);
}

/* One service's tick: evaluate, decide, advance its transition one step. */
static void job_eval(job *j, ksiss_prom *prom, const json_t *service, const json_t *revisions,
                     const ksiss_deployment *known)
{
    ksiss_eval ev;
    step_target t;
    if (job_evaluate(j, prom, service, revisions, known, &ev, &t))
        job_step(j, &ev, &t, service, revisions, known != NULL);
    ksiss_eval_free(&ev);
}

static void job_run(job *j, ksiss_prom *prom)
{
    const ksiss_deployment *known = memo_get(j);
    if (known) {
        job_eval(j, prom, NULL, NULL, known);
        return;
    }
    ksiss_ctl_memo_clear(&j->st->memo);
    json_t *service, *revisions;
    if (!parse_objects(j, "service not evaluated", &service, &revisions))
        return;
    job_eval(j, prom, service, revisions, NULL);
    json_decref(service);
    json_decref(revisions);
}

static void job_free(job *j)
{
    snapshot *s = j->s;
    controller *c = s->c;
    if (j->shares)
        for (size_t i = 0; i <= j->svc->n_metrics; i++)
            ksiss_prom_share_clear(&j->shares[i]);
    pthread_mutex_lock(&c->mu);
    j->st->busy = false;
    pthread_mutex_unlock(&c->mu);
    free(j);    /* with its shares, use and running (ksiss_ctl_job_new) */
    ksiss_ctl_snap_unref(s);
}

static void job_task(void *arg, int worker, bool cancelled)
{
    job *j = arg;
    controller *c = j->s->c;
    if (!cancelled)
        job_run(j, c->proms[worker]);
    job_free(j);
}

/* Drops one hold on the job; the last one queues it. */
void ksiss_ctl_job_release(void *owner)
{
    job *j = owner;
    if (__atomic_sub_fetch(&j->pending, 1, __ATOMIC_ACQ_REL) == 0)
        ksiss_pool_submit(j->s->c->pool, job_task, j);
}


void ksiss_ctl_chunk_task(void *arg, int worker, bool cancelled)
{
    chunk_arg *a = arg;
    controller *c = a->s->c;
    ksiss_prom_batch_run(a->s->batch, a->i, c->proms[worker], c->reg, cancelled);
    ksiss_ctl_snap_unref(a->s);
    free(a);
}

/* A job and its arrays in one allocation (10,000 of them live in a tick):
 * the shares (n_metrics + 1), the batched ones' pointers and room for
 * the names of its Running pods. */
job *ksiss_ctl_job_new(const ksiss_service_cfg *svc, const kobj_group *pods)
{
    size_t n = svc->n_metrics, np = pods ? pods->n : 0;
    size_t size = sizeof(job) + (n + 1 + KSISS_LQ_N) * sizeof(ksiss_prom_share) + n * sizeof(ksiss_prom_share *) +
                  np * sizeof(char *);
    job *j = ksiss_xcalloc(1, size);
    j->shares = (ksiss_prom_share *)(j + 1);
    j->use = (const ksiss_prom_share **)(j->shares + n + 1 + KSISS_LQ_N);
    if (pods)
        j->running = (const char **)(j->use + n);
    return j;
}

/* Offers the service's metric queries (and its load query) to the tick's
 * batch; those taken are read once for every service sharing them. */
void ksiss_ctl_job_offer_queries(controller *c, job *j)
{
    size_t n = j->svc->n_metrics;
    /* The Running pods by name from the records' fields (what
     * ksiss_knative_read_cached + ksiss_knative_running_pods would give,
     * in the same order): the evaluation reads no pod object. */
    if (j->pods) {
        for (size_t i = 0; i < j->pods->n; i++) {
            const char *phase = ksiss_kobj_str(j->pods->v[i], KSISS_KOBJ_PHASE);
            if (phase && !strcmp(phase, "Running"))
                j->running[j->n_running++] = ksiss_kobj_str(j->pods->v[i], KSISS_KOBJ_NAME);
        }
    }
    if (!c->batch_keys)
        return;
    const char **pods = j->running;
    size_t n_pods = j->n_running;
    ksiss_promql_vars vars = {
        .service = j->st->name, .namespace_name = c->ns,
        .revision = ksiss_kobj_str(j->service, KSISS_KOBJ_READY_REVISION),
    };
    for (size_t i = 0; i < n; i++) {
        if (ksiss_prom_batch_add(j->s->batch, j->svc->metrics[i].query, &vars, pods, n_pods, &j->shares[i], j)) {
            j->use[i] = &j->shares[i];
            j->pending++;
        }
    }
    if (j->svc->has_load && ksiss_prom_batch_add(j->s->batch, j->svc->load.query, &vars, NULL, 0, &j->shares[n], j)) {
        j->load_shared = true;
        j->pending++;
    }
    /* the learned capacity's series, service-level like the load's (without
     * learning the prompt-length histogram alone is set) */
    for (int i = 0; j->svc->has_load && i < KSISS_LQ_N; i++) {
        const char *q = j->svc->load.learn_queries[i];
        if (q && ksiss_prom_batch_add(j->s->batch, q, &vars, NULL, 0, &j->shares[n + 1 + i], j)) {
            j->learn_use[i] = &j->shares[n + 1 + i];
            j->pending++;
        }
    }
}
