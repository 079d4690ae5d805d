/* controller.c: `ksiss run`'s control loop (see controller.h): config from
 * the ConfigMap (watched; the last good one stays in force), leader
 * election, GPU inventory from Node/Pod informers, one worker thread per
 * service and tick, the policy, then one transition step per tick. Logs go
 * through shell/log.h, one line per event. */
#include "shell/controller.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/inventory.h"
#include "core/json_path.h"
#include "core/promql.h"
#include "core/util.h"
#include "shell/clock.h"
#include "shell/env.h"
#include "shell/events.h"
#include "shell/exit_codes.h"
#include "shell/exporter.h"
#include "shell/inventory_records.h"
#include "shell/controller_pool.h"
#include "shell/leader.h"
#include "shell/log.h"

static const int default_steps[] = {10, 50, 100};

/* ------------------------------------------------------- matching --- */

const ksiss_service_cfg *ksiss_controller_match(const ksiss_config *cfg, const ksiss_env *env, const char *name,
                                                bool *by_prefix, const char **skip)
{
    *by_prefix = false;
    *skip = ksiss_env_ignored(env, name);
    if (*skip)
        return NULL;
    return cfg ? ksiss_config_find(cfg, name, by_prefix) : NULL;
}

/* ------------------------------------------------------- the controller --- */

/* A parsed configuration with its own catalogue (the parser may extend
 * it; ladders borrow from it). Shared by jobs: reference counted. */
typedef struct {
    int refs;
    uint64_t gen;           /* this load's number (1, 2, ...: never reused) */
    ksiss_catalog cat;
    ksiss_config cfg;
} cfg_bundle;

/* The GPU inventory and its free units: recomputed only when a Node or a
 * Pod changed or the configuration (its catalogue) is another; shared by
 * the snapshots of the ticks that use it. */
typedef struct {
    int refs;
    cfg_bundle *cfg;        /* the configuration whose catalogue the inventory borrows model names from (a ref) */
    ksiss_inventory inv;
    ksiss_free_gpu *free;
    size_t n_free;
} inv_bundle;

typedef struct controller controller;

/* Cached records of one kind (kube_object.h), taken from an informer when
 * it changed and shared by the snapshots of the ticks that use them;
 * grouped by the serving.knative.dev/service label (in the managed
 * namespace) for pods and Revisions. */
typedef struct {
    ksiss_kobj **v;         /* borrowed from the index's list */
    size_t n;
} kobj_group;

typedef struct {
    const char *service;    /* borrowed from a record */
    kobj_group g;
} svc_group;

typedef struct {
    int refs;               /* atomic */
    ksiss_kobj_list objs;
    ksiss_kobj **by_svc;    /* the grouped records, ordered by (service, key); NULL: not grouped */
    svc_group *groups;      /* one per service, ordered by service name */
    size_t n_groups;
} obj_index;

static const kobj_group no_objects = {NULL, 0};

static void index_unref(obj_index *x)
{
    if (!x || __atomic_sub_fetch(&x->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(x->by_svc);
    free(x->groups);
    ksiss_kobj_list_free(&x->objs);
    free(x);
}

static obj_index *index_ref(obj_index *x)
{
    if (x)
        __atomic_add_fetch(&x->refs, 1, __ATOMIC_RELAXED);
    return x;
}

static const char *obj_service(const ksiss_kobj *o)
{
    return ksiss_kobj_str(o, KSISS_KOBJ_SERVICE);
}

static int cmp_by_service(const void *a, const void *b)
{
    const ksiss_kobj *x = *(ksiss_kobj *const *)a, *y = *(ksiss_kobj *const *)b;
    int c = strcmp(obj_service(x), obj_service(y));
    return c ? c : strcmp(ksiss_kobj_key(x), ksiss_kobj_key(y));
}

/* The records of an informer; grouped by service (those in namespace ns
 * carrying the label) when group is set: two flat arrays, no allocation
 * per service. */
static obj_index *index_new(ksiss_kube_informer *inf, const char *ns, bool group)
{
    obj_index *x = ksiss_xcalloc(1, sizeof(*x));
    x->refs = 1;
    x->objs = ksiss_kube_informer_objects(inf);
    if (!group)
        return x;
    size_t n = 0;
    x->by_svc = ksiss_xcalloc(x->objs.n ? x->objs.n : 1, sizeof(*x->by_svc));
    for (size_t i = 0; i < x->objs.n; i++) {
        ksiss_kobj *o = x->objs.v[i];
        const char *ons = ksiss_kobj_str(o, KSISS_KOBJ_NS);
        if (obj_service(o) && ons && !strcmp(ons, ns))
            x->by_svc[n++] = o;
    }
    if (n > 1)
        qsort(x->by_svc, n, sizeof(*x->by_svc), cmp_by_service);
    size_t cap = 0;
    for (size_t i = 0; i < n;) {
        size_t k = i + 1;
        while (k < n && !strcmp(obj_service(x->by_svc[k]), obj_service(x->by_svc[i])))
            k++;
        if (x->n_groups == cap) {
            cap = cap ? cap * 2 : 64;
            x->groups = ksiss_xrealloc(x->groups, cap * sizeof(*x->groups));
        }
        x->groups[x->n_groups++] = (svc_group){obj_service(x->by_svc[i]), {x->by_svc + i, k - i}};
        i = k;
    }
    return x;
}

static int cmp_group(const void *key, const void *elem)
{
    return strcmp(key, ((const svc_group *)elem)->service);
}

static const kobj_group *index_group(const obj_index *x, const char *service)
{
    if (!x)
        return NULL;
    const svc_group *g = x->n_groups ? bsearch(service, x->groups, x->n_groups, sizeof(*x->groups), cmp_group) : NULL;
    return g ? &g->g : &no_objects;
}

/* The group's objects parsed into a new JSON array; NULL for no group. */
static json_t *group_parse(const kobj_group *g)
{
    if (!g)
        return NULL;
    ksiss_kobj_list l = {g->v, g->n};
    return ksiss_kobj_list_parse(&l);
}

/* What one tick's jobs share (reference counted: the tick's dispatch, each
 * job and each batched query hold one; the last frees it). */
typedef struct {
    int refs;
    controller *c;
    cfg_bundle *cfg;
    inv_bundle *inv;        /* NULL: inventory not known */
    obj_index *services;    /* the Knative Services of this tick (watch cache) */
    obj_index *pods;        /* grouped by service (managed namespace); NULL: not synced, list them */
    obj_index *revs;        /* the Revisions grouped by service; NULL: not synced, list them */
    ksiss_prom_batch *batch;    /* this tick's queries batched across services */
    int64_t now_ms;
    double t0_s;            /* monotonic start of the tick */
} snapshot;

/* A service's deployment as read from its Service and Revisions, kept
 * while they are unchanged (the same records: held here, so never
 * another object at the same address) under the same configuration, and
 * reused instead of parsing them again (ksiss_controller_reusable). Most
 * services hold most ticks: their objects are not parsed at all. */
typedef struct {
    ksiss_kobj *service;    /* a reference, NULL: nothing kept */
    ksiss_kobj *rev_one;    /* n_revs == 1: the Revision (a reference) */
    ksiss_kobj **revs;      /* n_revs > 1: references */
    size_t n_revs;
    uint64_t cfg_gen;
    ksiss_deployment current;   /* its tier borrowed from that configuration's catalogue */
} reading_memo;

/* A managed service across ticks. */
typedef struct {
    char *name;
    ksiss_history history;  /* touched only by the service's job in flight */
    reading_memo memo;      /* likewise */
    ksiss_decision_logged logged;   /* likewise: the last decision logged */
    char *legacy_rev;       /* likewise: the revision KubeComp_gpu_resource was set for, or NULL */
    char *gpu_event;        /* likewise: the GPU-model hold last reported in an Event, NULL: none */
    bool unattainable_reported; /* likewise: SLOUnattainable told for the breach under way */
    bool busy;              /* a job in flight; under c->mu */
    bool seen;              /* managed at this tick (main thread only) */
    bool by_prefix;         /* main thread only */
} svc_state;

/* One service's evaluation in one tick: queued on the pool once the
 * batched queries it takes part in have answered. */
typedef struct {
    snapshot *s;
    svc_state *st;
    const ksiss_service_cfg *svc;
    ksiss_kobj *service;        /* borrowed from s->services */
    const kobj_group *pods;     /* borrowed from s: this service's pods; NULL: list them */
    const kobj_group *revisions;    /* borrowed from s: its Revisions; NULL: list them */
    ksiss_prom_share *shares;   /* svc->n_metrics + 1 (the load's is last) */
    const ksiss_prom_share **use;   /* svc->n_metrics: the batched ones, NULL: query them */
    bool load_shared;
    const char **running;       /* its Running pods' names (borrowed from the records); NULL: list them */
    size_t n_running;
    int pending;                /* batched queries still to answer, + 1 until dispatched (atomic) */
} job;

struct controller {
    pthread_mutex_t mu;
    const ksiss_controller_opts *o;
    ksiss_env env;
    char *ns;
    ksiss_kube *kube;
    ksiss_events *events;
    ksiss_metrics *reg;
    ksiss_prom_opts prom_opts;
    const int *steps;
    size_t n_steps;
    int64_t interval_ms;
    ksiss_pool *pool;
    ksiss_prom **proms;     /* one Prometheus client per pool thread */
    int n_proms;
    size_t batch_keys;      /* names per batched query; 0: no batching across services */
    ksiss_decision_log_mode decision_log;   /* KSISS_DECISION_LOG */
    uint64_t cfg_loads;     /* configurations loaded so far (main thread) */
    char *cfg_event;        /* an InvalidConfiguration Event still to record once leading, or NULL (main thread) */
    char *cfg_event_uid;    /* the ConfigMap's uid for it */
    ksiss_strmap *states;   /* service name -> svc_state */
};

static void cfg_unref(controller *c, cfg_bundle *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&c->mu);
    int left = --b->refs;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) {
        ksiss_config_free(&b->cfg);
        ksiss_catalog_free(&b->cat);
        free(b);
    }
}

static void inv_unref(controller *c, inv_bundle *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&c->mu);
    int left = --b->refs;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) {
        ksiss_inventory_free(&b->inv);
        free(b->free);
        cfg_unref(c, b->cfg);
        free(b);
    }
}

static void snap_unref(snapshot *s)
{
    if (!s)
        return;
    controller *c = s->c;
    pthread_mutex_lock(&c->mu);
    int left = --s->refs;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) {
        /* The last service of the tick is done. */
        ksiss_metrics_observe(c->reg, KSISS_M_TICK_DURATION, NULL, ksiss_mono_s() - s->t0_s);
        cfg_unref(c, s->cfg);
        inv_unref(c, s->inv);
        index_unref(s->services);
        index_unref(s->pods);
        index_unref(s->revs);
        ksiss_prom_batch_free(s->batch);
        free(s);
#ifdef __GLIBC__
        /* The tick's transient memory (answers, parsed objects) goes back
         * to the system instead of staying in the arenas' free lists. */
        malloc_trim(0);
#endif
    }
}

static void snap_ref(snapshot *s)
{
    pthread_mutex_lock(&s->c->mu);
    s->refs++;
    pthread_mutex_unlock(&s->c->mu);
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

static void memo_clear(reading_memo *m)
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
    memo_clear(m);
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

static int service_event(void *ud, const json_t *service, const char *type, const char *reason, const char *message)
{
    controller *c = ud;
    if (!c->events)
        return 0;
    ksiss_kube_object_ref ref = {
        .api_version = "serving.knative.dev/v1", .kind = "Service", .ns = c->ns,
        .name = json_string_value(ksiss_json_path(service, "metadata", "name", NULL)),
        .uid = json_string_value(ksiss_json_path(service, "metadata", "uid", NULL)),
    };
    ksiss_kube_error e = {0};
    int rc = ksiss_events_emit(c->events, &ref, type, reason, message, &e);
    if (rc != 0)
        ksiss_log("warn", "event not recorded", "service", ref.name, "reason", reason, "error", e.message, NULL);
    ksiss_kube_error_clear(&e);
    return rc;
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
    if (!c->events)
        return;
    ksiss_kube_object_ref ref = {
        .api_version = "serving.knative.dev/v1", .kind = "Service", .ns = c->ns, .name = w->name,
        .uid = json_string_value(ksiss_json_path(service, "metadata", "uid", NULL)),
    };
    ksiss_kube_error e = {0};
    if (ksiss_events_emit(c->events, &ref, "Warning", mixed ? "GPUModelMixed" : "GPUModelUnknown", d->reason, &e) != 0)
        ksiss_log("warn", "event not recorded", "service", w->name, "reason",
                  mixed ? "GPUModelMixed" : "GPUModelUnknown", "error", e.message, NULL);
    ksiss_kube_error_clear(&e);
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
    if (!c->events)
        return;
    ksiss_kube_object_ref ref = {
        .api_version = "serving.knative.dev/v1", .kind = "Service", .ns = c->ns, .name = w->name,
        .uid = json_string_value(ksiss_json_path(service, "metadata", "uid", NULL)),
    };
    ksiss_kube_error e = {0};
    if (ksiss_events_emit(c->events, &ref, "Warning", "SLOUnattainable", d->reason, &e) != 0)
        ksiss_log("warn", "event not recorded", "service", w->name, "reason", "SLOUnattainable", "error", e.message,
                  NULL);
    ksiss_kube_error_clear(&e);
}

/* This job's Service and Revisions as JSON, for this job only (the caches
 * keep compact text, kube_object.h); false (logged, nothing parsed kept)
 * when the Service's record cannot be read back. */
static bool parse_objects(const job *j, const char *what, json_t **service, json_t **revisions)
{
    *service = ksiss_kobj_parse(j->service);
    *revisions = group_parse(j->revisions);
    if (*service)
        return true;
    ksiss_log("error", what, "service", j->st->name, "error", "cached object unreadable", NULL);
    json_decref(*revisions);
    *revisions = NULL;
    return false;
}

/* One service's tick: evaluate, decide, advance its transition one step.
 * service and revisions: the service's objects parsed from the caches, or
 * NULL with `known`, the reading kept from an earlier tick (they are
 * parsed here only if the decision is to act). */
static void job_eval(job *j, ksiss_prom *prom, const json_t *service, const json_t *revisions,
                     const ksiss_deployment *known)
{
    snapshot *s = j->s;
    controller *c = s->c;
    svc_state *w = j->st;
    const ksiss_catalog *cat = &s->cfg->cat;
    char *bo_tier = NULL;
    /* The history as long as this service's windows at this tick need
     * (its configuration may have changed since the last tick). */
    ksiss_history_reserve(&w->history, ksiss_history_capacity(j->svc, c->interval_ms));
    ksiss_eval_in in = {
        .kube = c->kube, .prom = prom, .reg = c->reg, .cat = cat, .svc = j->svc, .ns = c->ns,
        .name = w->name, .service = service, .running_pods = j->running, .n_running_pods = j->n_running,
        .all_revisions = revisions,
        .shares = j->use, .load_share = j->load_shared ? &j->shares[j->svc->n_metrics] : NULL,
        .free = s->inv ? s->inv->free : NULL, .n_free = s->inv ? s->inv->n_free : 0,
        .inv = s->inv ? &s->inv->inv : NULL, .history = &w->history, .now_ms = s->now_ms, .interval_ms = c->interval_ms,
        .known = known, .known_revision = known ? ksiss_kobj_str(j->service, KSISS_KOBJ_READY_REVISION) : NULL,
    };
    ksiss_eval ev;
    if (ksiss_controller_evaluate(&in, &ev) != 0 && !ev.view.service) {
        ksiss_log("error", "service not evaluated", "service", w->name, "error", ev.error, NULL);
        ksiss_eval_free(&ev);
        return;
    }
    /* The backoff recorded in the Service feeds the policy's history (a
     * kept reading has none). */
    int64_t until = INT64_MIN;
    if (!known)
        ksiss_controller_backoff(ev.view.service, s->now_ms, &bo_tier, &until);
    free(w->history.backoff_tier);
    w->history.backoff_tier = bo_tier;
    w->history.backoff_until_ms = until;
    ksiss_controller_export_service(c->reg, c->ns, w->name, &ev, &w->legacy_rev);
    gpu_model_event(c, w, ev.view.service, &ev);
    const ksiss_tier *target_tier = NULL;
    int target_replicas = 0;
    const char *reason = NULL;
    if (ev.decided) {
        ksiss_decision *d = &ev.decision;
        if (ksiss_decision_log_due(c->decision_log, &w->logged, d, s->now_ms)) {
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
        ksiss_history_record(&w->history, d, ev.load.present ? ev.load.value : NAN, s->now_ms);
        unattainable_event(c, w, ev.view.service, d);
        if ((d->action == KSISS_UP || d->action == KSISS_DOWN) && d->tier)
            target_tier = d->tier;
        if (d->action != KSISS_HOLD)
            target_replicas = d->replicas;
        reason = d->reason;
    } else {
        ksiss_log("warn", "no decision", "service", w->name, "error", ev.error, NULL);
        if (!ev.has_state) {   /* nothing to advance */
            ksiss_eval_free(&ev);
            return;
        }
    }
    /* With no transition in flight, a hold is "nothing to do" for the
     * transition step (step_idle): a kept reading needs no objects then.
     * Any other decision reads them. */
    json_t *parsed_service = NULL, *parsed_revisions = NULL;
    if (known) {
        if (!target_tier && target_replicas == 0) {
            ksiss_eval_free(&ev);
            return;
        }
        if (!parse_objects(j, "service not acted on", &parsed_service, &parsed_revisions)) {
            ksiss_eval_free(&ev);
            return;
        }
        service = parsed_service;
        revisions = parsed_revisions;
    } else {
        service = ev.view.service;
        revisions = ev.view.revisions;
    }
    ksiss_tr_input tin = {
        .service = service, .revisions = revisions, .cat = cat,
        .gpu_model = ev.gpu.model ? ev.gpu.model : j->svc->gpu_model,
        .target_tier = target_tier, .target_replicas = target_replicas, .reason = reason,
        .free_target_units = free_units_for(s, target_tier), .traffic_steps = c->steps,
        .n_traffic_steps = c->n_steps,
        .ready_timeout_ms = c->o->ready_timeout_ms > 0 ? c->o->ready_timeout_ms : KSISS_DEFAULT_READY_TIMEOUT_MS,
        .backoff_ms = c->o->backoff_ms > 0 ? c->o->backoff_ms : KSISS_DEFAULT_BACKOFF_MS,
        .default_cpu = c->env.default_cpu, .default_memory = c->env.default_memory, .now_ms = s->now_ms,
    };
    ksiss_tr_plan plan;
    char *err = NULL;
    if (ksiss_transition_step(&tin, &plan, &err) != 0) {
        ksiss_log("error", "transition refused", "service", w->name, "error", err, NULL);
        free(err);
        json_decref(parsed_service);
        json_decref(parsed_revisions);
        ksiss_eval_free(&ev);
        return;
    }
    /* Read once, reused while unchanged (an action changes them). */
    if (!known && plan.n == 0 && ksiss_controller_reusable(service, &ev.current))
        memo_keep(j, &ev.current);
    /* Nothing is written on a decision taken on watch caches alone: they
     * may lag, and they keep trimmed objects (kube_informer.c) while a
     * write copies whole ones. The step is decided again on the Service
     * and Revisions read from the API now, and that plan is applied to
     * them (controller.h). */
    const json_t *act_on = service;
    ksiss_knative_view fresh = {0};
    if (plan.n > 0 && !c->o->dry_run) {
        char *cached = ksiss_xstrdup(plan.summary);
        if (ksiss_controller_recheck(c->kube, c->ns, w->name, &tin, &plan, &fresh, &err) != 0) {
            ksiss_log("warn", "not acting: no fresh read; nothing done this tick", "service", w->name, "error", err,
                      NULL);
            free(err);
            free(cached);
            ksiss_tr_plan_free(&plan);
            json_decref(parsed_service);
            json_decref(parsed_revisions);
            ksiss_eval_free(&ev);
            return;
        }
        if (strcmp(cached, plan.summary ? plan.summary : "") != 0)
            ksiss_log("info", "re-read before acting changed the step", "service", w->name, "cached", cached, "now",
                      plan.summary, NULL);
        free(cached);
        act_on = fresh.service;
    }
    if (plan.n > 0) {
        if (c->o->dry_run) {
            ksiss_log("info", "dry-run: would act", "service", w->name, "phase", ksiss_tr_phase_name(plan.phase),
                      "step", plan.summary, NULL);
        } else {
            ksiss_apply_rc rc = ksiss_knative_apply(c->kube, service_event, c, c->ns, act_on, &plan, &err);
            ksiss_log(rc == KSISS_APPLY_FAILED ? "error" : "info",
                      rc == KSISS_APPLY_DONE ? "acted" : rc == KSISS_APPLY_CONFLICT ? "conflict" : "action failed",
                      "service", w->name, "phase", ksiss_tr_phase_name(plan.phase), "step", plan.summary, "error", err,
                      NULL);
            free(err);
        }
    } else if (ev.has_state || (plan.summary && strcmp(plan.summary, "nothing to do") != 0)) {
        ksiss_log("info", "transition", "service", w->name, "phase", ksiss_tr_phase_name(plan.phase), "step",
                  plan.summary, NULL);
    }
    ksiss_tr_plan_free(&plan);
    ksiss_knative_view_free(&fresh);
    json_decref(parsed_service);
    json_decref(parsed_revisions);
    ksiss_eval_free(&ev);
}

static void job_run(job *j, ksiss_prom *prom)
{
    const ksiss_deployment *known = memo_get(j);
    if (known) {
        job_eval(j, prom, NULL, NULL, known);
        return;
    }
    memo_clear(&j->st->memo);
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
    free(j);    /* with its shares, use and running (job_new) */
    snap_unref(s);
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
static void job_release(void *owner)
{
    job *j = owner;
    if (__atomic_sub_fetch(&j->pending, 1, __ATOMIC_ACQ_REL) == 0)
        ksiss_pool_submit(j->s->c->pool, job_task, j);
}

typedef struct {
    snapshot *s;
    size_t i;
} chunk_arg;

static void chunk_task(void *arg, int worker, bool cancelled)
{
    chunk_arg *a = arg;
    controller *c = a->s->c;
    ksiss_prom_batch_run(a->s->batch, a->i, c->proms[worker], c->reg, cancelled);
    snap_unref(a->s);
    free(a);
}

/* Offers the service's metric queries (and its load query) to the tick's
 * batch; those taken are read once for every service sharing them. */
/* A job and its arrays in one allocation (10,000 of them live in a tick):
 * the shares (n_metrics + 1), the batched ones' pointers and room for
 * the names of its Running pods. */
static job *job_new(const ksiss_service_cfg *svc, const kobj_group *pods)
{
    size_t n = svc->n_metrics, np = pods ? pods->n : 0;
    size_t size = sizeof(job) + (n + 1) * sizeof(ksiss_prom_share) + n * sizeof(ksiss_prom_share *) +
                  np * sizeof(char *);
    job *j = ksiss_xcalloc(1, size);
    j->shares = (ksiss_prom_share *)(j + 1);
    j->use = (const ksiss_prom_share **)(j->shares + n + 1);
    if (pods)
        j->running = (const char **)(j->use + n);
    return j;
}

static void job_offer_queries(controller *c, job *j)
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
}

static void state_free(svc_state *st)
{
    memo_clear(&st->memo);
    ksiss_history_free(&st->history);
    free(st->legacy_rev);
    free(st->gpu_event);
    free(st->name);
    free(st);
}

typedef struct {
    controller *c;
    char **gone;
    size_t n, cap;
} forget_ctx;

static void collect_unseen(const char *key, void *value, void *ud)
{
    forget_ctx *f = ud;
    svc_state *st = value;
    pthread_mutex_lock(&f->c->mu);
    bool busy = st->busy;
    pthread_mutex_unlock(&f->c->mu);
    if (st->seen || busy) {
        st->seen = false;
        return;
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->gone = ksiss_xrealloc(f->gone, f->cap * sizeof(*f->gone));
    }
    f->gone[f->n++] = ksiss_xstrdup(key);
}

/* Drops the state (history, metrics) of services no longer managed
 * (deleted, ignored, or gone from the configuration), once idle; clears
 * the `seen` marks for the next tick. */
static void states_forget_unseen(controller *c)
{
    forget_ctx f = {.c = c};
    ksiss_strmap_each(c->states, collect_unseen, &f);
    for (size_t i = 0; i < f.n; i++) {
        svc_state *st = ksiss_strmap_del(c->states, f.gone[i]);
        ksiss_log("info", "service no longer managed", "service", st->name, NULL);
        ksiss_controller_forget_service(c->reg, c->ns, st->name, st->legacy_rev);
        state_free(st);
        free(f.gone[i]);
    }
    free(f.gone);
}

static void state_free_cb(const char *key, void *value, void *ud)
{
    (void)key;
    (void)ud;
    state_free(value);
}

static void clear_config_event(controller *c)
{
    free(c->cfg_event);
    free(c->cfg_event_uid);
    c->cfg_event = c->cfg_event_uid = NULL;
}

/* Records the pending InvalidConfiguration Event on the ConfigMap. Only
 * the leader writes (the write guard): a configuration loaded before this
 * replica leads keeps its Event pending until it does. */
static void record_config_event(controller *c)
{
    if (!c->cfg_event || !c->events)
        return;
    ksiss_kube_object_ref ref = {.api_version = "v1", .kind = "ConfigMap", .ns = c->ns,
                                 .name = c->env.config_map_name, .uid = c->cfg_event_uid};
    int rc = ksiss_events_emit(c->events, &ref, "Warning", "InvalidConfiguration", c->cfg_event, NULL);
    if (rc != KSISS_KUBE_E_NOT_LEADER)
        clear_config_event(c);
}

/* Parses the ConfigMap object; returns a new bundle or NULL (logged, and
 * an Event on the ConfigMap once leading). */
static cfg_bundle *load_configmap(controller *c, const json_t *cm)
{
    cfg_bundle *b = ksiss_xcalloc(1, sizeof(*b));
    b->refs = 1;
    b->gen = ++c->cfg_loads;
    ksiss_catalog_builtin(&b->cat);
    ksiss_diags d;
    ksiss_diags_init(&d);
    char *source = ksiss_xasprintf("configmap %s/%s", c->ns, c->env.config_map_name);
    int rc = ksiss_config_parse_configmap_json(cm, source, &b->cat, &b->cfg, &d);
    if (rc != 0) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 4096);
        for (size_t j = 0; j < d.n; j++) {
            char *line = ksiss_diag_format(&d.v[j]);
            ksiss_log("error", "invalid configuration", "configmap", c->env.config_map_name, "problem", line, NULL);
            if (j)
                ksiss_sb_puts(&sb, "; ");
            ksiss_sb_puts(&sb, line);
            free(line);
        }
        clear_config_event(c);
        c->cfg_event = ksiss_xasprintf("invalid configuration, the last good one stays in force: %s",
                                       ksiss_sb_str(&sb));
        c->cfg_event_uid = ksiss_xstrdup(json_string_value(ksiss_json_path(cm, "metadata", "uid", NULL)));
        record_config_event(c);
        ksiss_sb_free(&sb);
        ksiss_config_free(&b->cfg);
        ksiss_catalog_free(&b->cat);
        free(b);
        b = NULL;
    } else {
        clear_config_event(c);
        char nsvc[24];
        snprintf(nsvc, sizeof(nsvc), "%zu", b->cfg.n_services);
        ksiss_log("info", "configuration loaded", "source", source, "services", nsvc, NULL);
    }
    free(source);
    ksiss_diags_free(&d);
    return b;
}

static void kube_hook(void *ud, const char *verb, long code)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%ld", code);
    ksiss_metrics_add(ud, KSISS_M_KUBE_REQUESTS_TOTAL, KSISS_LABELS(verb, buf), 1);
}

/* KSISS_PROM_BATCH_SIZE: names per query batched across services (0
 * turns batching across services off). Returns -1 with *err when invalid. */
static int batch_keys_from_env(const char *value, size_t *out, char **err)
{
    *out = KSISS_PROM_DEFAULT_BATCH_KEYS;
    if (!value || !*value)
        return 0;
    int64_t n;
    if (ksiss_parse_int64(value, &n) != 0 || n < 0 || n > 100000) {
        *err = ksiss_xasprintf("KSISS_PROM_BATCH_SIZE=\"%s\": want a number of names per query in 0..100000 "
                               "(0: no batching across services)", value);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* What the loop keeps between ticks so that unchanged caches are not
 * copied, indexed or recomputed again. */
typedef struct {
    uint64_t svc_gen, pod_gen, node_gen, rev_gen;
    bool have_svc, have_pods, have_revs, have_inv;
    obj_index *services;    /* last Services */
    obj_index *pods;        /* last pods, grouped */
    obj_index *revs;        /* last Revisions, grouped */
    inv_bundle *inv;        /* last inventory */
    const cfg_bundle *inv_cfg;  /* the configuration it was computed with */
} tick_cache;

static void tick_cache_free(controller *c, tick_cache *tc)
{
    index_unref(tc->services);
    index_unref(tc->pods);
    index_unref(tc->revs);
    inv_unref(c, tc->inv);
    memset(tc, 0, sizeof(*tc));
}

/* ksiss_cache_objects and ksiss_cache_bytes of a watch cache. */
static void export_cache(controller *c, const char *resource, const ksiss_kobj_list *l)
{
    size_t bytes = 0;
    for (size_t i = 0; i < l->n; i++)
        bytes += ksiss_kobj_size(l->v[i]);
    ksiss_metrics_set(c->reg, KSISS_M_CACHE_OBJECTS, KSISS_LABELS(resource), (double)l->n);
    ksiss_metrics_set(c->reg, KSISS_M_CACHE_BYTES, KSISS_LABELS(resource), (double)bytes);
}

/* Brings the cached views up to date with the informers (what is replaced
 * goes back to the system at the tick's end, snap_unref). */
static void tick_cache_refresh(controller *c, tick_cache *tc, cfg_bundle *cfg, ksiss_kube_informer *inf_svc,
                               ksiss_kube_informer *inf_pods, ksiss_kube_informer *inf_nodes,
                               ksiss_kube_informer *inf_revs)
{
    uint64_t g = ksiss_kube_informer_generation(inf_svc);
    if (!tc->have_svc || g != tc->svc_gen) {
        index_unref(tc->services);
        tc->services = index_new(inf_svc, c->ns, false);
        export_cache(c, "services", &tc->services->objs);
        tc->svc_gen = g;
        tc->have_svc = true;
    }
    if (ksiss_kube_informer_synced(inf_revs)) {
        g = ksiss_kube_informer_generation(inf_revs);
        if (!tc->have_revs || g != tc->rev_gen) {
            index_unref(tc->revs);
            tc->revs = index_new(inf_revs, c->ns, true);
            export_cache(c, "revisions", &tc->revs->objs);
            tc->rev_gen = g;
            tc->have_revs = true;
        }
    }
    if (!ksiss_kube_informer_synced(inf_pods))
        return;
    uint64_t gp = ksiss_kube_informer_generation(inf_pods);
    bool pods_changed = !tc->have_pods || gp != tc->pod_gen;
    if (pods_changed) {
        index_unref(tc->pods);
        tc->pods = index_new(inf_pods, c->ns, true);
        export_cache(c, "pods", &tc->pods->objs);
        tc->pod_gen = gp;
        tc->have_pods = true;
    }
    if (ksiss_kube_informer_synced(inf_nodes)) {
        uint64_t gn = ksiss_kube_informer_generation(inf_nodes);
        if (pods_changed || !tc->have_inv || gn != tc->node_gen || tc->inv_cfg != cfg) {
            ksiss_kobj_list node_objs = ksiss_kube_informer_objects(inf_nodes);
            export_cache(c, "nodes", &node_objs);
            inv_bundle *b = ksiss_xcalloc(1, sizeof(*b));
            b->refs = 1;
            /* The inventory borrows the catalogue's model names: it keeps
             * the configuration alive (and its address unique while
             * compared with inv_cfg). */
            pthread_mutex_lock(&c->mu);
            cfg->refs++;
            pthread_mutex_unlock(&c->mu);
            b->cfg = cfg;
            int irc = ksiss_inventory_from_records(&cfg->cat, &node_objs, &tc->pods->objs, &b->inv);
            ksiss_kobj_list_free(&node_objs);
            if (irc == 0) {
                size_t n = ksiss_inventory_free_gpus(&b->inv, NULL, 0);
                b->free = ksiss_xcalloc(n ? n : 1, sizeof(*b->free));
                b->n_free = ksiss_inventory_free_gpus(&b->inv, b->free, n);
                for (size_t i = 0; i < b->inv.n_entries; i++) {
                    const ksiss_inventory_entry *e = &b->inv.entries[i];
                    const char *model = e->gpu_model ? e->gpu_model : "unknown";
                    ksiss_metrics_set(c->reg, KSISS_M_GPU_FREE, KSISS_LABELS(model, e->resource), (double)e->free);
                    ksiss_metrics_set(c->reg, KSISS_M_GPU_ALLOCATABLE, KSISS_LABELS(model, e->resource),
                                      (double)e->allocatable);
                }
                inv_unref(c, tc->inv);
                tc->inv = b;
            } else {
                inv_unref(c, b);
                inv_unref(c, tc->inv);
                tc->inv = NULL;
            }
            tc->node_gen = gn;
            tc->inv_cfg = cfg;
            tc->have_inv = true;
        }
    }
}

int ksiss_controller_run(const ksiss_controller_opts *o, volatile sig_atomic_t *stop)
{
    controller c;
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.mu, NULL);
    c.o = o;
    c.steps = o->traffic_steps ? o->traffic_steps : default_steps;
    c.n_steps = o->traffic_steps ? o->n_traffic_steps : sizeof(default_steps) / sizeof(default_steps[0]);
    c.states = ksiss_strmap_new();
    int exit_code = KSISS_EXIT_RUNTIME;
    ksiss_kube_config kc = {0};
    ksiss_exporter *exp = NULL;
    ksiss_leader *leader = NULL;
    ksiss_kube_informer *inf_cm = NULL, *inf_svc = NULL, *inf_nodes = NULL, *inf_pods = NULL, *inf_revs = NULL;
    cfg_bundle *cfg = NULL;
    uint64_t cm_gen = 0;
    char *err = NULL;
    char *cm_selector = NULL;
    tick_cache tc = {0};
    int n_workers = 0;
    ksiss_prom_opts_init(&c.prom_opts);
#ifdef __GLIBC__
    /* Two malloc arenas instead of one per thread: the informer and worker
     * threads otherwise each keep the peak of their own parsing. */
    mallopt(M_ARENA_MAX, 2);
#endif

    ksiss_diags d;
    ksiss_diags_init(&d);
    if (ksiss_env_parse(ksiss_process_getenv, NULL, &c.env, &d) != 0) {
        for (size_t i = 0; i < d.n; i++) {
            char *line = ksiss_diag_format(&d.v[i]);
            ksiss_log("error", "invalid environment", "problem", line, NULL);
            free(line);
        }
        ksiss_diags_free(&d);
        exit_code = KSISS_EXIT_PROBLEM;
        goto out;
    }
    ksiss_diags_free(&d);
    c.interval_ms = o->interval_ms > 0 ? o->interval_ms : c.env.interval_ms;
    n_workers = ksiss_pool_threads_from_env(getenv("KSISS_WORKERS"), &err);
    if (n_workers < 0 || batch_keys_from_env(getenv("KSISS_PROM_BATCH_SIZE"), &c.batch_keys, &err) != 0 ||
        ksiss_decision_log_from_env(getenv("KSISS_DECISION_LOG"), &c.decision_log, &err) != 0) {
        ksiss_log("error", "invalid environment", "problem", err, NULL);
        exit_code = KSISS_EXIT_PROBLEM;
        goto out;
    }
    if (ksiss_prom_opts_from_env(&c.prom_opts, ksiss_process_getenv, NULL, &err) != 0) {
        ksiss_log("error", "invalid Prometheus settings", "error", err, NULL);
        exit_code = KSISS_EXIT_PROBLEM;
        goto out;
    }
    /* SIGTERM aborts the queries in flight (the pod's grace period is
     * 30 s; a query's timeout could hold a job past it). */
    c.prom_opts.stop = stop;
    {
        const char *url = o->prometheus_url ? o->prometheus_url : c.env.prometheus_url;
        char *norm = ksiss_prom_normalize_url(url, &err);
        if (!norm) {
            ksiss_log("error", "invalid Prometheus URL", "error", err, NULL);
            /* --prometheus is a usage error, PROMETHEUS_URL a configuration
             * problem (README "Exit codes"). */
            exit_code = o->prometheus_url ? KSISS_EXIT_USAGE : KSISS_EXIT_PROBLEM;
            goto out;
        }
        free(c.prom_opts.url);
        c.prom_opts.url = norm;
    }
    c.proms = ksiss_xcalloc((size_t)n_workers, sizeof(*c.proms));
    for (int i = 0; i < n_workers; i++) {
        c.proms[i] = ksiss_prom_new(&c.prom_opts, &err);
        if (!c.proms[i]) {
            ksiss_log("error", "prometheus client", "error", err, NULL);
            goto out;
        }
        c.n_proms = i + 1;
    }
    if (ksiss_kube_config_load(&kc, o->kubeconfig, NULL, &err) != 0) {
        ksiss_log("error", "no Kubernetes configuration", "error", err, NULL);
        goto out;
    }
    c.ns = ksiss_xstrdup(o->namespace_name ? o->namespace_name : c.env.namespace_name);
    c.reg = ksiss_metrics_new();
    ksiss_metrics_set(c.reg, KSISS_M_WORKERS, NULL, n_workers);
    ksiss_kube_options ko = {.hook = kube_hook, .hook_ud = c.reg};
    c.kube = ksiss_kube_new(&kc, &ko, &err);
    if (!c.kube) {
        ksiss_log("error", "Kubernetes client", "error", err, NULL);
        goto out;
    }
    /* SIGTERM aborts every request in flight and stops retries: the way
     * out (jobs, informers, the Lease's release) fits the grace period. */
    ksiss_kube_set_stop(c.kube, stop);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    c.events = ksiss_events_new(c.kube, "ksiss", host);
    exp = ksiss_exporter_start(o->listen ? o->listen : KSISS_EXPORTER_DEFAULT_ADDR, c.reg, &err);
    if (!exp) {
        ksiss_log("error", "metrics endpoint", "error", err, NULL);
        goto out;
    }
    if (!o->no_leader_election) {
        ksiss_leader_options lo = {.ns = o->lease_namespace ? o->lease_namespace : c.ns, .name = o->lease_name};
        leader = ksiss_leader_start(c.kube, &lo, &err);
        if (!leader) {
            ksiss_log("error", "leader election", "error", err, NULL);
            goto out;
        }
        ksiss_log("info", "leader election started", "identity", ksiss_leader_identity(leader), NULL);
        /* Every write (Services, Revisions, PodAutoscalers, Events) is
         * checked right before it goes out, retries too, not once per
         * tick: a job queued while leading writes nothing once the lease
         * is lost, and nothing goes out after the renew deadline. */
        ksiss_kube_set_write_guard(c.kube, ksiss_leader_write_guard, leader);
    }
    cm_selector = ksiss_xasprintf("metadata.name=%s", c.env.config_map_name);
    {
        /* Objects are trimmed on arrival to what the controller reads. */
        ksiss_kube_informer_opts io = {.res = &KSISS_KUBE_CONFIGMAPS, .ns = c.ns, .field_selector = cm_selector,
                                       .transform = ksiss_kube_transform_service};
        inf_cm = ksiss_kube_informer_start(c.kube, &io, &err);
        ksiss_kube_informer_opts is = {.res = &KSISS_KUBE_KNATIVE_SERVICES, .ns = c.ns,
                                       .transform = ksiss_kube_transform_service};
        if (inf_cm)
            inf_svc = ksiss_kube_informer_start(c.kube, &is, &err);
        ksiss_kube_informer_opts ir = {.res = &KSISS_KUBE_KNATIVE_REVISIONS, .ns = c.ns,
                                       .transform = ksiss_kube_transform_revision};
        if (inf_svc)
            inf_revs = ksiss_kube_informer_start(c.kube, &ir, &err);
        if (inf_revs)
            inf_nodes = ksiss_kube_informer_start(c.kube, &KSISS_INVENTORY_NODES_INFORMER, &err);
        if (inf_nodes)
            inf_pods = ksiss_kube_informer_start(c.kube, &KSISS_INVENTORY_PODS_INFORMER, &err);
        if (!inf_pods) {
            ksiss_log("error", "watch", "error", err, NULL);
            goto out;
        }
    }
    c.pool = ksiss_pool_new(n_workers, &err);
    if (!c.pool) {
        ksiss_log("error", "worker pool", "error", err, NULL);
        goto out;
    }
    {
        char iv[32], nw[16], bk[24];
        snprintf(iv, sizeof(iv), "%" PRId64 "ms", c.interval_ms);
        snprintf(nw, sizeof(nw), "%d", n_workers);
        snprintf(bk, sizeof(bk), "%zu", c.batch_keys);
        ksiss_log("info", "started", "namespace", c.ns, "configmap", c.env.config_map_name, "interval", iv, "dry_run",
                  o->dry_run ? "true" : "false", "kubernetes", kc.source, "workers", nw, "prometheus_batch_size", bk,
                  NULL);
    }
    ksiss_exporter_set_ready(exp, true);

    for (int tick = 0; !*stop && (o->max_ticks <= 0 || tick < o->max_ticks); tick++) {
        int64_t t0 = ksiss_wall_ms();
        /* Configuration: re-read when the ConfigMap changed. */
        uint64_t g = ksiss_kube_informer_generation(inf_cm);
        if (ksiss_kube_informer_synced(inf_cm) && (g != cm_gen || (!cfg && tick == 0))) {
            cm_gen = g;
            json_t *cm = ksiss_kube_informer_get(inf_cm, c.ns, c.env.config_map_name);
            if (!cm) {
                ksiss_log("warn", "configmap not found: nothing is managed", "configmap", c.env.config_map_name,
                          "namespace", c.ns, NULL);
            } else {
                cfg_bundle *nb = load_configmap(&c, cm);
                if (nb) {
                    cfg_unref(&c, cfg);
                    cfg = nb;
                } else if (cfg) {
                    ksiss_log("warn", "keeping the last good configuration", NULL);
                }
                json_decref(cm);
            }
        }
        bool leading = !leader || ksiss_leader_is_leader(leader);
        ksiss_metrics_set(c.reg, KSISS_M_LEADER, NULL, leading ? 1 : 0);
        if (!leading) {
            /* A follower exports nothing of the cluster's state: the
             * leader does (docs/metrics.md). Every tick, so that a job of
             * the last tick led that exported late is undone too; the
             * caches' views are rebuilt (and their gauges set again) when
             * this replica leads again. */
            ksiss_controller_export_follower(c.reg);
            tick_cache_free(&c, &tc);
        }
        if (leading && c.cfg_event)
            record_config_event(&c);
        if (!leading || !cfg || !ksiss_kube_informer_synced(inf_svc)) {
            ksiss_sleep_ms(c.interval_ms, stop);
            continue;
        }
        /* Pods and Revisions from their caches only: until both have
         * listed, evaluating would mean a LIST per service (thousands of
         * requests at once), so the tick waits for them. */
        if (!ksiss_kube_informer_synced(inf_pods) || !ksiss_kube_informer_synced(inf_revs)) {
            char *e1 = ksiss_kube_informer_last_error(inf_pods), *e2 = ksiss_kube_informer_last_error(inf_revs);
            ksiss_log("info", "waiting for the pod and revision caches", "pods_error", e1, "revisions_error", e2, NULL);
            free(e1);
            free(e2);
            ksiss_sleep_ms(c.interval_ms < 1000 ? c.interval_ms : 1000, stop);
            continue;
        }
        /* The caches as of now: copied, indexed and the inventory
         * recomputed only when something changed since the last tick. */
        tick_cache_refresh(&c, &tc, cfg, inf_svc, inf_pods, inf_nodes, inf_revs);
        snapshot *s = ksiss_xcalloc(1, sizeof(*s));
        s->refs = 1;
        s->c = &c;
        s->now_ms = t0;
        s->t0_s = ksiss_mono_s();
        pthread_mutex_lock(&c.mu);
        cfg->refs++;
        if (tc.inv)
            tc.inv->refs++;
        pthread_mutex_unlock(&c.mu);
        s->cfg = cfg;
        s->inv = tc.inv;
        s->services = index_ref(tc.services);
        s->pods = index_ref(tc.pods);
        s->revs = index_ref(tc.revs);
        s->batch = ksiss_prom_batch_new(c.batch_keys, job_release);
        /* One job per managed service; a busy one is skipped, not waited for. */
        job **jobs = ksiss_xcalloc(s->services->objs.n + 1, sizeof(*jobs));
        size_t n_jobs = 0, skipped = 0;
        for (size_t i = 0; i < s->services->objs.n; i++) {
            ksiss_kobj *sv = s->services->objs.v[i];
            const char *name = ksiss_kobj_str(sv, KSISS_KOBJ_NAME);
            bool by_prefix;
            const char *skip;
            if (!name)
                continue;
            const ksiss_service_cfg *sc = ksiss_controller_match(&cfg->cfg, &c.env, name, &by_prefix, &skip);
            if (!sc) {
                if (skip && tick == 0)
                    ksiss_log("info", "ignored (IGNORE_LIST)", "service", name, "pattern", skip, NULL);
                continue;
            }
            svc_state *st = ksiss_strmap_get(c.states, name);
            if (!st) {
                st = ksiss_xcalloc(1, sizeof(*st));
                st->name = ksiss_xstrdup(name);
                ksiss_history_init(&st->history);
                ksiss_strmap_put(c.states, name, st);
            }
            st->seen = true;
            pthread_mutex_lock(&c.mu);
            bool busy = st->busy;
            pthread_mutex_unlock(&c.mu);
            if (busy) {
                ksiss_log("warn", "previous tick still running: skipped this tick", "service", name, NULL);
                skipped++;
                continue;
            }
            if (by_prefix && !st->by_prefix)
                ksiss_log("info", "configuration matched by the original's prefix rule", "service", name, "key",
                          sc->name, NULL);
            st->by_prefix = by_prefix;
            const kobj_group *pods = index_group(s->pods, name);
            job *j = job_new(sc, pods);
            j->s = s;
            j->st = st;
            j->svc = sc;
            j->service = sv;
            j->pods = pods;
            j->revisions = index_group(s->revs, name);
            j->pending = 1;     /* held until dispatched below */
            pthread_mutex_lock(&c.mu);
            s->refs++;
            st->busy = true;
            pthread_mutex_unlock(&c.mu);
            job_offer_queries(&c, j);
            jobs[n_jobs++] = j;
        }
        /* The batched queries first, then each job once its answers are in. */
        size_t n_chunks = ksiss_prom_batch_seal(s->batch);
        for (size_t k = 0; k < n_chunks; k++) {
            chunk_arg *a = ksiss_xcalloc(1, sizeof(*a));
            a->s = s;
            a->i = k;
            snap_ref(s);
            ksiss_pool_submit(c.pool, chunk_task, a);
        }
        for (size_t k = 0; k < n_jobs; k++)
            job_release(jobs[k]);
        free(jobs);
        snap_unref(s);
        ksiss_metrics_set(c.reg, KSISS_M_TICK_SERVICES, KSISS_LABELS("evaluated"), (double)n_jobs);
        ksiss_metrics_set(c.reg, KSISS_M_TICK_SERVICES, KSISS_LABELS("skipped"), (double)skipped);
        states_forget_unseen(&c);
        int64_t spent = ksiss_wall_ms() - t0;
        ksiss_sleep_ms(c.interval_ms - spent, stop);
    }
    ksiss_log("info", "stopping", NULL);
    exit_code = KSISS_EXIT_OK;
out:
    free(err);
    /* Jobs running finish (each bounded by its timeouts); queued ones are
     * cancelled. */
    ksiss_pool_free(c.pool);
    ksiss_strmap_each(c.states, state_free_cb, NULL);
    ksiss_strmap_free(c.states);
    tick_cache_free(&c, &tc);
    ksiss_kube_informer_stop(inf_cm);
    ksiss_kube_informer_stop(inf_svc);
    ksiss_kube_informer_stop(inf_revs);
    ksiss_kube_informer_stop(inf_nodes);
    ksiss_kube_informer_stop(inf_pods);
    if (leader)
        ksiss_leader_stop(leader, true);
    ksiss_exporter_stop(exp);
    cfg_unref(&c, cfg);
    if (c.events)
        ksiss_events_free(c.events);
    ksiss_kube_free(c.kube);
    ksiss_kube_config_free(&kc);
    for (int i = 0; i < c.n_proms; i++)
        ksiss_prom_free(c.proms[i]);
    free(c.proms);
    ksiss_metrics_free(c.reg);
    ksiss_prom_opts_free(&c.prom_opts);
    ksiss_env_free(&c.env);
    clear_config_event(&c);
    free(c.ns);
    free(cm_selector);
    pthread_mutex_destroy(&c.mu);
    return exit_code;
}
