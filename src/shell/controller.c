/* controller.c: `ksiss run`'s control loop (see controller.h): config from
 * the ConfigMap (watched; the last good one stays in force), leader
 * election, GPU inventory from Node/Pod informers, one worker thread per
 * service and tick, the policy, then one transition step per tick. Logs are
 * logfmt lines on stderr (key=value), one per event. */
#include "shell/controller.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/inventory.h"
#include "core/promql.h"
#include "core/util.h"
#include "shell/events.h"
#include "shell/exporter.h"
#include "shell/leader.h"

static const int default_steps[] = {10, 50, 100};

/* ------------------------------------------------------------- logging --- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends `v` as a logfmt value: bare when it is a plain word, else quoted
 * with \\, \" and control characters escaped. */
static void put_value(ksiss_strbuf *sb, const char *v)
{
    bool plain = *v != '\0';
    for (const char *p = v; *p && plain; p++)
        plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != '\\' && (unsigned char)*p < 127;
    if (plain) {
        ksiss_sb_puts(sb, v);
        return;
    }
    ksiss_sb_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            ksiss_sb_putc(sb, '\\');
            ksiss_sb_putc(sb, (char)*p);
        } else if (*p == '\n') {
            ksiss_sb_puts(sb, "\\n");
        } else if (*p < ' ' || *p == 127) {
            ksiss_sb_printf(sb, "\\x%02x", *p);
        } else {
            ksiss_sb_putc(sb, (char)*p);
        }
    }
    ksiss_sb_putc(sb, '"');
}

/* One logfmt line on stderr (the format of the rest of the shell):
 * ts=... level=... msg="..." key=value...; the variadic part is key/value
 * string pairs ended by NULL (NULL values are left out). */
static void logkv(const char *level, const char *msg, ...)
{
    int64_t now = wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    char ts[64];
    gmtime_r(&secs, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)(now % 1000));
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 64 * 1024);
    ksiss_sb_printf(&sb, "ts=%s level=%s msg=", ts, level);
    put_value(&sb, msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (!v)
            continue;
        ksiss_sb_printf(&sb, " %s=", k);
        put_value(&sb, v);
    }
    va_end(ap);
    pthread_mutex_lock(&log_mu);
    fprintf(stderr, "%s\n", ksiss_sb_str(&sb));
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
    ksiss_sb_free(&sb);
}

/* ------------------------------------------------------- matching --- */

const ksiss_service_cfg *ksiss_controller_match(const ksiss_config *cfg, const ksiss_env *env, const char *name,
                                                bool *by_prefix, const char **skip)
{
    *by_prefix = false;
    *skip = NULL;
    if (env) {
        for (size_t i = 0; i < env->n_ignore; i++)
            if (env->ignore[i][0] && strstr(name, env->ignore[i])) {
                *skip = env->ignore[i];
                return NULL;
            }
    }
    return cfg ? ksiss_config_find(cfg, name, by_prefix) : NULL;
}

static const json_t *jp(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return v;
}

/* ------------------------------------------------------- the controller --- */

/* A parsed configuration with its own catalogue (the parser may extend
 * it; ladders borrow from it). Shared by workers: reference counted. */
typedef struct {
    int refs;
    ksiss_catalog cat;
    ksiss_config cfg;
} cfg_bundle;

/* What one tick's workers share (reference counted). */
typedef struct {
    int refs;
    cfg_bundle *cfg;
    bool has_inventory;
    ksiss_inventory inv;
    ksiss_free_gpu *free;
    size_t n_free;
    json_t *services;       /* the Knative Services of this tick (watch cache snapshot) */
    json_t *pods;           /* every pod of this tick (watch cache snapshot), NULL when not synced */
    int64_t now_ms;
} snapshot;

typedef struct worker worker;

typedef struct {
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
    worker *workers;
} controller;

struct worker {
    controller *c;
    char *name;
    pthread_t th;
    bool has_thread;
    bool busy;              /* under c->mu */
    ksiss_history history;  /* touched only by the worker thread while busy */
    ksiss_prom *prom;
    snapshot *snap;         /* the current job's */
    const ksiss_service_cfg *svc;
    const json_t *service;  /* this job's Service, borrowed from snap->services */
    bool by_prefix;
    bool seen;              /* managed at this tick (main thread only) */
    worker *next;
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

static void snap_unref(controller *c, snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&c->mu);
    int left = --s->refs;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) {
        cfg_unref(c, s->cfg);
        if (s->has_inventory)
            ksiss_inventory_free(&s->inv);
        json_decref(s->services);
        json_decref(s->pods);
        free(s->free);
        free(s);
    }
}

static long long free_units_for(const snapshot *s, const ksiss_tier *t)
{
    if (!t || !s->has_inventory)
        return -1;
    long long n = 0;
    for (size_t i = 0; i < s->n_free; i++)
        if (!strcmp(s->free[i].resource, t->resource) &&
            (!s->free[i].gpu_model || !t->gpu_model || !strcmp(s->free[i].gpu_model, t->gpu_model)))
            n += s->free[i].free_units;
    return n;
}

static void export_service(controller *c, const char *name, const ksiss_eval *ev)
{
    const char *ns = c->ns;
    const ksiss_tier *t = ev->current.tier;
    if (t) {
        ksiss_metrics_set(c->reg, KSISS_M_SERVICE_TIER_INFO, KSISS_LABELS(ns, name, t->name, t->resource), 1);
        const char *rev = json_string_value(jp(ev->view.service, "status", "latestReadyRevisionName", NULL));
        int g = 0, mem = 0;
        bool me = false;
        double slices = t->count;
        if (ksiss_str_has_prefix(t->resource, "nvidia.com/mig-") &&
            ksiss_parse_mig_profile(t->resource + strlen("nvidia.com/mig-"), &g, &mem, &me) == 0)
            slices = g;
        if (rev)
            ksiss_metrics_set(c->reg, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS(rev), slices);
    }
    ksiss_metrics_set(c->reg, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS(ns, name, "ready"), ev->current.replicas_ready);
    ksiss_metrics_set(c->reg, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS(ns, name, "starting"),
                      ev->current.replicas_starting);
    ksiss_metrics_set(c->reg, KSISS_M_TRANSITIONS_IN_FLIGHT, KSISS_LABELS(ns, name),
                      ev->current.transition_in_flight ? 1 : 0);
}

static int service_event(void *ud, const json_t *service, const char *type, const char *reason, const char *message)
{
    controller *c = ud;
    if (!c->events)
        return 0;
    ksiss_kube_object_ref ref = {
        .api_version = "serving.knative.dev/v1", .kind = "Service", .ns = c->ns,
        .name = json_string_value(jp(service, "metadata", "name", NULL)),
        .uid = json_string_value(jp(service, "metadata", "uid", NULL)),
    };
    ksiss_kube_error e = {0};
    int rc = ksiss_events_emit(c->events, &ref, type, reason, message, &e);
    if (rc != 0)
        logkv("warn", "event not recorded", "service", ref.name, "reason", reason, "error", e.message, NULL);
    ksiss_kube_error_clear(&e);
    return rc;
}

static void worker_tick(worker *w)
{
    controller *c = w->c;
    snapshot *s = w->snap;
    const ksiss_catalog *cat = &s->cfg->cat;
    char *bo_tier = NULL;
    ksiss_eval_in in = {
        .kube = c->kube, .prom = w->prom, .reg = c->reg, .cat = cat, .svc = w->svc, .ns = c->ns,
        .name = w->name, .service = w->service, .all_pods = s->pods, .free = s->has_inventory ? s->free : NULL, .n_free = s->has_inventory ? s->n_free : 0,
        .history = &w->history, .now_ms = s->now_ms, .interval_ms = c->interval_ms,
    };
    ksiss_eval ev;
    if (ksiss_controller_evaluate(&in, &ev) != 0 && !ev.view.service) {
        logkv("error", "service not evaluated", "service", w->name, "error", ev.error, NULL);
        ksiss_eval_free(&ev);
        return;
    }
    /* The backoff recorded in the Service feeds the policy's history. */
    int64_t until;
    ksiss_controller_backoff(ev.view.service, s->now_ms, &bo_tier, &until);
    free(w->history.backoff_tier);
    w->history.backoff_tier = bo_tier;
    w->history.backoff_until_ms = until;
    export_service(c, w->name, &ev);
    const ksiss_tier *target_tier = NULL;
    int target_replicas = 0;
    const char *reason = NULL;
    if (ev.decided) {
        ksiss_decision *d = &ev.decision;
        char rep[24], pres[32];
        snprintf(rep, sizeof(rep), "%d", d->replicas);
        snprintf(pres, sizeof(pres), "%.3g", d->pressure);
        logkv("info", "decision", "service", w->name, "namespace", c->ns, "decision", ksiss_action_name(d->action),
             "tier", d->tier ? d->tier->name : NULL, "replicas", rep, "pressure", pres, "reason_code",
             d->reason_code, "reason", d->reason, "config_match", w->by_prefix ? "legacy-prefix" : NULL, NULL);
        ksiss_metrics_add(c->reg, KSISS_M_DECISIONS_TOTAL,
                          KSISS_LABELS(c->ns, w->name, ksiss_action_name(d->action),
                                       d->reason_code ? d->reason_code : "unknown"), 1);
        ksiss_history_record(&w->history, d, ev.load.present ? ev.load.value : NAN, s->now_ms);
        if ((d->action == KSISS_UP || d->action == KSISS_DOWN) && d->tier)
            target_tier = d->tier;
        if (d->action != KSISS_HOLD)
            target_replicas = d->replicas;
        reason = d->reason;
    } else {
        logkv("warn", "no decision", "service", w->name, "error", ev.error, NULL);
        if (!ev.has_state) {   /* nothing to advance */
            ksiss_eval_free(&ev);
            return;
        }
    }
    ksiss_tr_input tin = {
        .service = ev.view.service, .revisions = ev.view.revisions, .cat = cat, .gpu_model = w->svc->gpu_model,
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
        logkv("error", "transition refused", "service", w->name, "error", err, NULL);
        free(err);
        ksiss_eval_free(&ev);
        return;
    }
    if (plan.n > 0) {
        if (c->o->dry_run) {
            logkv("info", "dry-run: would act", "service", w->name, "phase", ksiss_tr_phase_name(plan.phase), "step",
                 plan.summary, NULL);
        } else {
            ksiss_apply_rc rc = ksiss_knative_apply(c->kube, service_event, c, c->ns, ev.view.service, &plan, &err);
            logkv(rc == KSISS_APPLY_FAILED ? "error" : "info",
                 rc == KSISS_APPLY_DONE ? "acted" : rc == KSISS_APPLY_CONFLICT ? "conflict" : "action failed",
                 "service", w->name, "phase", ksiss_tr_phase_name(plan.phase), "step", plan.summary, "error", err,
                 NULL);
            free(err);
        }
    } else if (ev.has_state || (plan.summary && strcmp(plan.summary, "nothing to do") != 0)) {
        logkv("info", "transition", "service", w->name, "phase", ksiss_tr_phase_name(plan.phase), "step",
             plan.summary, NULL);
    }
    ksiss_tr_plan_free(&plan);
    ksiss_eval_free(&ev);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    worker_tick(w);
    snap_unref(w->c, w->snap);
    w->snap = NULL;
    pthread_mutex_lock(&w->c->mu);
    w->busy = false;
    pthread_mutex_unlock(&w->c->mu);
    return NULL;
}

static worker *worker_get(controller *c, const char *name)
{
    for (worker *w = c->workers; w; w = w->next)
        if (!strcmp(w->name, name))
            return w;
    worker *w = ksiss_xcalloc(1, sizeof(*w));
    w->c = c;
    w->name = ksiss_xstrdup(name);
    ksiss_history_init(&w->history);
    char *err = NULL;
    w->prom = ksiss_prom_new(&c->prom_opts, &err);
    if (!w->prom) {
        logkv("error", "prometheus client", "service", name, "error", err, NULL);
        free(err);
    }
    w->next = c->workers;
    c->workers = w;
    return w;
}

static void worker_join(worker *w)
{
    if (w->has_thread) {
        pthread_join(w->th, NULL);
        w->has_thread = false;
    }
}

static void workers_free(controller *c)
{
    worker *w = c->workers;
    while (w) {
        worker *next = w->next;
        worker_join(w);
        ksiss_history_free(&w->history);
        ksiss_prom_free(w->prom);
        free(w->name);
        free(w);
        w = next;
    }
    c->workers = NULL;
}

/* Drops the workers (history, metrics) of services no longer managed
 * (deleted, ignored, or gone from the configuration), once idle; clears
 * the `seen` marks for the next tick. */
static void workers_forget_unseen(controller *c)
{
    worker **link = &c->workers;
    while (*link) {
        worker *w = *link;
        pthread_mutex_lock(&c->mu);
        bool busy = w->busy;
        pthread_mutex_unlock(&c->mu);
        if (w->seen || busy) {
            w->seen = false;
            link = &w->next;
            continue;
        }
        *link = w->next;
        worker_join(w);
        logkv("info", "service no longer managed", "service", w->name, NULL);
        ksiss_metrics_remove_service(c->reg, c->ns, w->name);
        ksiss_history_free(&w->history);
        ksiss_prom_free(w->prom);
        free(w->name);
        free(w);
    }
}

/* Parses the ConfigMap object; returns a new bundle or NULL (logged, and
 * an Event on the ConfigMap). */
static cfg_bundle *load_configmap(controller *c, const json_t *cm)
{
    cfg_bundle *b = ksiss_xcalloc(1, sizeof(*b));
    b->refs = 1;
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
            logkv("error", "invalid configuration", "configmap", c->env.config_map_name, "problem", line, NULL);
            if (j)
                ksiss_sb_puts(&sb, "; ");
            ksiss_sb_puts(&sb, line);
            free(line);
        }
        if (c->events) {
            ksiss_kube_object_ref ref = {.api_version = "v1", .kind = "ConfigMap", .ns = c->ns,
                                         .name = c->env.config_map_name,
                                         .uid = json_string_value(jp(cm, "metadata", "uid", NULL))};
            char *msg = ksiss_xasprintf("invalid configuration, the last good one stays in force: %s",
                                        ksiss_sb_str(&sb));
            ksiss_events_emit(c->events, &ref, "Warning", "InvalidConfiguration", msg, NULL);
            free(msg);
        }
        ksiss_sb_free(&sb);
        ksiss_config_free(&b->cfg);
        ksiss_catalog_free(&b->cat);
        free(b);
        b = NULL;
    } else {
        char nsvc[24];
        snprintf(nsvc, sizeof(nsvc), "%zu", b->cfg.n_services);
        logkv("info", "configuration loaded", "source", source, "services", nsvc, NULL);
    }
    free(source);
    ksiss_diags_free(&d);
    return b;
}

static const char *env_get(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static void sleep_ms_interruptible(int64_t ms, volatile sig_atomic_t *stop)
{
    while (ms > 0 && !*stop) {
        int64_t chunk = ms < 100 ? ms : 100;
        struct timespec ts = {chunk / 1000, (long)(chunk % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= chunk;
    }
}

static void kube_hook(void *ud, const char *verb, long code)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%ld", code);
    ksiss_metrics_add(ud, KSISS_M_KUBE_REQUESTS_TOTAL, KSISS_LABELS(verb, buf), 1);
}

int ksiss_controller_run(const ksiss_controller_opts *o, volatile sig_atomic_t *stop)
{
    controller c;
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.mu, NULL);
    c.o = o;
    c.steps = o->traffic_steps ? o->traffic_steps : default_steps;
    c.n_steps = o->traffic_steps ? o->n_traffic_steps : sizeof(default_steps) / sizeof(default_steps[0]);
    int exit_code = KSISS_EXIT_RUNTIME;
    ksiss_kube_config kc = {0};
    ksiss_exporter *exp = NULL;
    ksiss_leader *leader = NULL;
    ksiss_kube_informer *inf_cm = NULL, *inf_svc = NULL, *inf_nodes = NULL, *inf_pods = NULL;
    cfg_bundle *cfg = NULL;
    uint64_t cm_gen = 0;
    char *err = NULL;
    char *cm_selector = NULL;
    ksiss_prom_opts_init(&c.prom_opts);

    ksiss_diags d;
    ksiss_diags_init(&d);
    if (ksiss_env_parse(env_get, NULL, &c.env, &d) != 0) {
        for (size_t i = 0; i < d.n; i++) {
            char *line = ksiss_diag_format(&d.v[i]);
            logkv("error", "invalid environment", "problem", line, NULL);
            free(line);
        }
        ksiss_diags_free(&d);
        goto out;
    }
    ksiss_diags_free(&d);
    c.interval_ms = o->interval_ms > 0 ? o->interval_ms : c.env.interval_ms;
    if (ksiss_prom_opts_from_env(&c.prom_opts, env_get, NULL, &err) != 0) {
        logkv("error", "invalid Prometheus settings", "error", err, NULL);
        goto out;
    }
    {
        const char *url = o->prometheus_url ? o->prometheus_url : c.env.prometheus_url;
        char *norm = ksiss_prom_normalize_url(url, &err);
        if (!norm) {
            logkv("error", "invalid Prometheus URL", "error", err, NULL);
            goto out;
        }
        free(c.prom_opts.url);
        c.prom_opts.url = norm;
    }
    if (ksiss_kube_config_load(&kc, o->kubeconfig, NULL, &err) != 0) {
        logkv("error", "no Kubernetes configuration", "error", err, NULL);
        goto out;
    }
    c.ns = ksiss_xstrdup(o->namespace_name ? o->namespace_name : c.env.namespace_name);
    c.reg = ksiss_metrics_new();
    ksiss_kube_options ko = {.hook = kube_hook, .hook_ud = c.reg};
    c.kube = ksiss_kube_new(&kc, &ko, &err);
    if (!c.kube) {
        logkv("error", "Kubernetes client", "error", err, NULL);
        goto out;
    }
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    c.events = ksiss_events_new(c.kube, "ksiss", host);
    exp = ksiss_exporter_start(o->listen ? o->listen : KSISS_EXPORTER_DEFAULT_ADDR, c.reg, &err);
    if (!exp) {
        logkv("error", "metrics endpoint", "error", err, NULL);
        goto out;
    }
    if (!o->no_leader_election) {
        ksiss_leader_options lo = {.ns = o->lease_namespace ? o->lease_namespace : c.ns, .name = o->lease_name};
        leader = ksiss_leader_start(c.kube, &lo, &err);
        if (!leader) {
            logkv("error", "leader election", "error", err, NULL);
            goto out;
        }
        logkv("info", "leader election started", "identity", ksiss_leader_identity(leader), NULL);
    }
    cm_selector = ksiss_xasprintf("metadata.name=%s", c.env.config_map_name);
    {
        ksiss_kube_informer_opts io = {.res = &KSISS_KUBE_CONFIGMAPS, .ns = c.ns, .field_selector = cm_selector};
        inf_cm = ksiss_kube_informer_start(c.kube, &io, &err);
        ksiss_kube_informer_opts is = {.res = &KSISS_KUBE_KNATIVE_SERVICES, .ns = c.ns};
        if (inf_cm)
            inf_svc = ksiss_kube_informer_start(c.kube, &is, &err);
        ksiss_kube_informer_opts in_ = {.res = &KSISS_KUBE_NODES};
        if (inf_svc)
            inf_nodes = ksiss_kube_informer_start(c.kube, &in_, &err);
        ksiss_kube_informer_opts ip = {.res = &KSISS_KUBE_PODS};
        if (inf_nodes)
            inf_pods = ksiss_kube_informer_start(c.kube, &ip, &err);
        if (!inf_pods) {
            logkv("error", "watch", "error", err, NULL);
            goto out;
        }
    }
    {
        char iv[32];
        snprintf(iv, sizeof(iv), "%" PRId64 "ms", c.interval_ms);
        logkv("info", "started", "namespace", c.ns, "configmap", c.env.config_map_name, "interval", iv, "dry_run",
             o->dry_run ? "true" : "false", "kubernetes", kc.source, NULL);
    }
    ksiss_exporter_set_ready(exp, true);

    for (int tick = 0; !*stop && (o->max_ticks <= 0 || tick < o->max_ticks); tick++) {
        int64_t t0 = wall_ms();
        /* Configuration: re-read when the ConfigMap changed. */
        uint64_t g = ksiss_kube_informer_generation(inf_cm);
        if (ksiss_kube_informer_synced(inf_cm) && (g != cm_gen || (!cfg && tick == 0))) {
            cm_gen = g;
            json_t *cm = ksiss_kube_informer_get(inf_cm, c.ns, c.env.config_map_name);
            if (!cm) {
                logkv("warn", "configmap not found: nothing is managed", "configmap", c.env.config_map_name,
                     "namespace", c.ns, NULL);
            } else {
                cfg_bundle *nb = load_configmap(&c, cm);
                if (nb) {
                    cfg_unref(&c, cfg);
                    cfg = nb;
                } else if (cfg) {
                    logkv("warn", "keeping the last good configuration", NULL);
                }
                json_decref(cm);
            }
        }
        bool leading = !leader || ksiss_leader_is_leader(leader);
        ksiss_metrics_set(c.reg, KSISS_M_LEADER, NULL, leading ? 1 : 0);
        if (!leading || !cfg || !ksiss_kube_informer_synced(inf_svc)) {
            sleep_ms_interruptible(c.interval_ms, stop);
            continue;
        }
        /* What this tick's workers share. */
        snapshot *s = ksiss_xcalloc(1, sizeof(*s));
        s->refs = 1;
        s->now_ms = t0;
        pthread_mutex_lock(&c.mu);
        cfg->refs++;
        pthread_mutex_unlock(&c.mu);
        s->cfg = cfg;
        if (ksiss_kube_informer_synced(inf_nodes) && ksiss_kube_informer_synced(inf_pods)) {
            json_t *nodes = ksiss_kube_informer_snapshot(inf_nodes);
            json_t *pods = ksiss_kube_informer_snapshot(inf_pods);
            if (ksiss_inventory_compute(&cfg->cat, nodes, pods, &s->inv) == 0) {
                s->has_inventory = true;
                size_t n = ksiss_inventory_free_gpus(&s->inv, NULL, 0);
                s->free = ksiss_xcalloc(n ? n : 1, sizeof(*s->free));
                s->n_free = ksiss_inventory_free_gpus(&s->inv, s->free, n);
                for (size_t i = 0; i < s->inv.n_entries; i++) {
                    const ksiss_inventory_entry *e = &s->inv.entries[i];
                    const char *model = e->gpu_model ? e->gpu_model : "unknown";
                    ksiss_metrics_set(c.reg, KSISS_M_GPU_FREE, KSISS_LABELS(model, e->resource), (double)e->free);
                    ksiss_metrics_set(c.reg, KSISS_M_GPU_ALLOCATABLE, KSISS_LABELS(model, e->resource),
                                      (double)e->allocatable);
                }
            }
            json_decref(nodes);
            s->pods = pods; /* also the workers' pods: no LIST per service */
        }
        /* One worker per managed service; a busy one is skipped, not waited for. */
        json_t *svcs = ksiss_kube_informer_snapshot(inf_svc);
        s->services = svcs; /* owned by the snapshot; workers borrow their Service */
        size_t i;
        json_t *sv;
        json_array_foreach(svcs, i, sv) {
            const char *name = json_string_value(jp(sv, "metadata", "name", NULL));
            bool by_prefix;
            const char *skip;
            if (!name)
                continue;
            const ksiss_service_cfg *sc = ksiss_controller_match(&cfg->cfg, &c.env, name, &by_prefix, &skip);
            if (!sc) {
                if (skip && tick == 0)
                    logkv("info", "ignored (IGNORE_LIST)", "service", name, "pattern", skip, NULL);
                continue;
            }
            worker *w = worker_get(&c, name);
            w->seen = true;
            pthread_mutex_lock(&c.mu);
            bool busy = w->busy;
            pthread_mutex_unlock(&c.mu);
            if (busy) {
                logkv("warn", "previous tick still running: skipped this tick", "service", name, NULL);
                continue;
            }
            if (!w->prom)
                continue;
            worker_join(w);
            if (by_prefix && !w->by_prefix)
                logkv("info", "configuration matched by the original's prefix rule", "service", name, "key",
                     sc->name, NULL);
            w->svc = sc;
            w->service = sv;
            w->by_prefix = by_prefix;
            pthread_mutex_lock(&c.mu);
            s->refs++;
            w->busy = true;
            pthread_mutex_unlock(&c.mu);
            w->snap = s;
            if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
                logkv("error", "cannot start a worker thread", "service", name, NULL);
                pthread_mutex_lock(&c.mu);
                w->busy = false;
                pthread_mutex_unlock(&c.mu);
                w->snap = NULL;
                snap_unref(&c, s);
                continue;
            }
            w->has_thread = true;
        }
        snap_unref(&c, s);
        workers_forget_unseen(&c);
        int64_t spent = wall_ms() - t0;
        sleep_ms_interruptible(c.interval_ms - spent, stop);
    }
    logkv("info", "stopping", NULL);
    exit_code = KSISS_EXIT_OK;
out:
    free(err);
    workers_free(&c);   /* waits for the workers in flight (each bounded by its timeouts) */
    ksiss_kube_informer_stop(inf_cm);
    ksiss_kube_informer_stop(inf_svc);
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
    ksiss_metrics_free(c.reg);
    ksiss_prom_opts_free(&c.prom_opts);
    ksiss_env_free(&c.env);
    free(c.ns);
    free(cm_selector);
    pthread_mutex_destroy(&c.mu);
    return exit_code;
}
