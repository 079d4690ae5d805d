/* controller.c: `ksiss run` (see controller.h): start-up (environment,
 * clients, metrics endpoint, leader election, watches, worker pool), the
 * loop (each tick: the ConfigMap read again if it changed, leadership,
 * then, leading and synced, the tick of controller_tick.c), and shut-down.
 * What each tick does lives in the other controller_*.c files
 * (controller_internal.h lists them). */
#include "shell/controller_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/util.h"
#include "shell/clock.h"
#include "shell/env.h"
#include "shell/exit_codes.h"
#include "shell/inventory_records.h"
#include "shell/log.h"

static const int default_steps[] = {10, 50, 100};

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

/* The settings from the environment and the options: 0, or the exit code
 * (logged): an invalid environment is invalid configuration, a bad
 * --prometheus a usage error (README "Exit codes"). */
static int read_settings(controller *c, volatile sig_atomic_t *stop, char **err)
{
    const ksiss_controller_opts *o = c->o;
    ksiss_diags d;
    ksiss_diags_init(&d);
    if (ksiss_env_parse(ksiss_process_getenv, NULL, &c->env, &d) != 0) {
        for (size_t i = 0; i < d.n; i++) {
            char *line = ksiss_diag_format(&d.v[i]);
            ksiss_log("error", "invalid environment", "problem", line, NULL);
            free(line);
        }
        ksiss_diags_free(&d);
        return KSISS_EXIT_PROBLEM;
    }
    ksiss_diags_free(&d);
    c->interval_ms = o->interval_ms > 0 ? o->interval_ms : c->env.interval_ms;
    c->n_workers = ksiss_pool_threads_from_env(getenv("KSISS_WORKERS"), err);
    if (c->n_workers < 0 || batch_keys_from_env(getenv("KSISS_PROM_BATCH_SIZE"), &c->batch_keys, err) != 0 ||
        ksiss_decision_log_from_env(getenv("KSISS_DECISION_LOG"), &c->decision_log, err) != 0) {
        ksiss_log("error", "invalid environment", "problem", *err, NULL);
        return KSISS_EXIT_PROBLEM;
    }
    if (ksiss_prom_opts_from_env(&c->prom_opts, ksiss_process_getenv, NULL, err) != 0) {
        ksiss_log("error", "invalid Prometheus settings", "error", *err, NULL);
        return KSISS_EXIT_PROBLEM;
    }
    /* SIGTERM aborts the queries in flight (the pod's grace period is
     * 30 s; a query's timeout could hold a job past it). */
    c->prom_opts.stop = stop;
    const char *url = o->prometheus_url ? o->prometheus_url : c->env.prometheus_url;
    char *norm = ksiss_prom_normalize_url(url, err);
    if (!norm) {
        ksiss_log("error", "invalid Prometheus URL", "error", *err, NULL);
        return o->prometheus_url ? KSISS_EXIT_USAGE : KSISS_EXIT_PROBLEM;
    }
    free(c->prom_opts.url);
    c->prom_opts.url = norm;
    return 0;
}

/* One Prometheus client per worker, the Kubernetes client, the Event
 * recorder and the metrics endpoint: 0, or -1 logged. */
static int start_clients(controller *c, volatile sig_atomic_t *stop, char **err)
{
    const ksiss_controller_opts *o = c->o;
    c->proms = ksiss_xcalloc((size_t)c->n_workers, sizeof(*c->proms));
    for (int i = 0; i < c->n_workers; i++) {
        c->proms[i] = ksiss_prom_new(&c->prom_opts, err);
        if (!c->proms[i]) {
            ksiss_log("error", "prometheus client", "error", *err, NULL);
            return -1;
        }
        c->n_proms = i + 1;
    }
    if (ksiss_kube_config_load(&c->kc, o->kubeconfig, NULL, err) != 0) {
        ksiss_log("error", "no Kubernetes configuration", "error", *err, NULL);
        return -1;
    }
    c->ns = ksiss_xstrdup(o->namespace_name ? o->namespace_name : c->env.namespace_name);
    c->reg = ksiss_metrics_new();
    ksiss_metrics_set(c->reg, KSISS_M_WORKERS, NULL, c->n_workers);
    ksiss_kube_options ko = {.hook = kube_hook, .hook_ud = c->reg};
    c->kube = ksiss_kube_new(&c->kc, &ko, err);
    if (!c->kube) {
        ksiss_log("error", "Kubernetes client", "error", *err, NULL);
        return -1;
    }
    /* SIGTERM aborts every request in flight and stops retries: the way
     * out (jobs, informers, the Lease's release) fits the grace period. */
    ksiss_kube_set_stop(c->kube, stop);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    c->events = ksiss_events_new(c->kube, "ksiss", host);
    c->exp = ksiss_exporter_start(o->listen ? o->listen : KSISS_EXPORTER_DEFAULT_ADDR, c->reg, err);
    if (!c->exp) {
        ksiss_log("error", "metrics endpoint", "error", *err, NULL);
        return -1;
    }
    return 0;
}

/* Leader election (unless turned off), guarding every write: 0, or -1
 * logged. */
static int start_leader_election(controller *c, char **err)
{
    const ksiss_controller_opts *o = c->o;
    if (o->no_leader_election)
        return 0;
    ksiss_leader_options lo = {.ns = o->lease_namespace ? o->lease_namespace : c->ns, .name = o->lease_name};
    c->leader = ksiss_leader_start(c->kube, &lo, err);
    if (!c->leader) {
        ksiss_log("error", "leader election", "error", *err, NULL);
        return -1;
    }
    ksiss_log("info", "leader election started", "identity", ksiss_leader_identity(c->leader), NULL);
    /* Every write (Services, Revisions, PodAutoscalers, Events) is
     * checked right before it goes out, retries too, not once per
     * tick: a job queued while leading writes nothing once the lease
     * is lost, and nothing goes out after the renew deadline. */
    ksiss_kube_set_write_guard(c->kube, ksiss_leader_write_guard, c->leader);
    return 0;
}

/* The watches: the ConfigMap, Knative Services and Revisions, Nodes and
 * pods; 0, or -1 logged. Objects are trimmed on arrival to what the
 * controller reads. */
static int start_watches(controller *c, char **err)
{
    c->cm_selector = ksiss_xasprintf("metadata.name=%s", c->env.config_map_name);
    ksiss_kube_informer_opts io = {.res = &KSISS_KUBE_CONFIGMAPS, .ns = c->ns, .field_selector = c->cm_selector,
                                   .transform = ksiss_kube_transform_service};
    c->inf_cm = ksiss_kube_informer_start(c->kube, &io, err);
    ksiss_kube_informer_opts is = {.res = &KSISS_KUBE_KNATIVE_SERVICES, .ns = c->ns,
                                   .transform = ksiss_kube_transform_service};
    if (c->inf_cm)
        c->inf_svc = ksiss_kube_informer_start(c->kube, &is, err);
    ksiss_kube_informer_opts ir = {.res = &KSISS_KUBE_KNATIVE_REVISIONS, .ns = c->ns,
                                   .transform = ksiss_kube_transform_revision};
    if (c->inf_svc)
        c->inf_revs = ksiss_kube_informer_start(c->kube, &ir, err);
    if (c->inf_revs)
        c->inf_nodes = ksiss_kube_informer_start(c->kube, &KSISS_INVENTORY_NODES_INFORMER, err);
    if (c->inf_nodes)
        c->inf_pods = ksiss_kube_informer_start(c->kube, &KSISS_INVENTORY_PODS_INFORMER, err);
    if (!c->inf_pods) {
        ksiss_log("error", "watch", "error", *err, NULL);
        return -1;
    }
    return 0;
}

/* Everything the loop needs, in order; 0, or the exit code (logged;
 * shut_down frees whatever was started). */
static int start(controller *c, volatile sig_atomic_t *stop)
{
    char *err = NULL;
    int rc = read_settings(c, stop, &err);
    if (rc != 0)
        goto out;
    rc = KSISS_EXIT_RUNTIME;
    if (start_clients(c, stop, &err) != 0 || start_leader_election(c, &err) != 0 || start_watches(c, &err) != 0)
        goto out;
    c->pool = ksiss_pool_new(c->n_workers, &err);
    if (!c->pool) {
        ksiss_log("error", "worker pool", "error", err, NULL);
        goto out;
    }
    char iv[32], nw[16], bk[24];
    snprintf(iv, sizeof(iv), "%" PRId64 "ms", c->interval_ms);
    snprintf(nw, sizeof(nw), "%d", c->n_workers);
    snprintf(bk, sizeof(bk), "%zu", c->batch_keys);
    ksiss_log("info", "started", "namespace", c->ns, "configmap", c->env.config_map_name, "interval", iv, "dry_run",
              c->o->dry_run ? "true" : "false", "kubernetes", c->kc.source, "workers", nw, "prometheus_batch_size",
              bk, NULL);
    ksiss_exporter_set_ready(c->exp, true);
    rc = 0;
out:
    free(err);
    return rc;
}

/* One pass of the loop: the configuration, leadership, then the tick when
 * leading with a configuration and synced caches; sleeps until the next. */
static void loop_once(controller *c, int tick, volatile sig_atomic_t *stop)
{
    int64_t t0 = ksiss_wall_ms();
    ksiss_ctl_config_refresh(c, tick);
    bool leading = !c->leader || ksiss_leader_is_leader(c->leader);
    ksiss_metrics_set(c->reg, KSISS_M_LEADER, NULL, leading ? 1 : 0);
    if (!leading) {
        /* A follower exports nothing of the cluster's state: the
         * leader does (docs/metrics.md). Every tick, so that a job of
         * the last tick led that exported late is undone too; the
         * caches' views are rebuilt (and their gauges set again) when
         * this replica leads again. */
        ksiss_controller_export_follower(c->reg);
        ksiss_ctl_cache_free(&c->tc);
    }
    if (leading && c->cfg_event)
        ksiss_ctl_config_event_record(c);
    if (!leading || !c->cfg || !ksiss_kube_informer_synced(c->inf_svc)) {
        ksiss_sleep_ms(c->interval_ms, stop);
        return;
    }
    /* Pods and Revisions from their caches only: until both have
     * listed, evaluating would mean a LIST per service (thousands of
     * requests at once), so the tick waits for them. */
    if (!ksiss_kube_informer_synced(c->inf_pods) || !ksiss_kube_informer_synced(c->inf_revs)) {
        char *e1 = ksiss_kube_informer_last_error(c->inf_pods), *e2 = ksiss_kube_informer_last_error(c->inf_revs);
        ksiss_log("info", "waiting for the pod and revision caches", "pods_error", e1, "revisions_error", e2, NULL);
        free(e1);
        free(e2);
        ksiss_sleep_ms(c->interval_ms < 1000 ? c->interval_ms : 1000, stop);
        return;
    }
    ksiss_ctl_tick_run(c, tick, t0);
    int64_t spent = ksiss_wall_ms() - t0;
    ksiss_sleep_ms(c->interval_ms - spent, stop);
}

/* Frees what start began, in reverse: jobs running finish (each bounded
 * by its timeouts, which *stop cuts short); queued ones are cancelled. */
static void shut_down(controller *c)
{
    ksiss_pool_free(c->pool);
    ksiss_ctl_states_free(c);
    ksiss_ctl_cache_free(&c->tc);
    ksiss_kube_informer_stop(c->inf_cm);
    ksiss_kube_informer_stop(c->inf_svc);
    ksiss_kube_informer_stop(c->inf_revs);
    ksiss_kube_informer_stop(c->inf_nodes);
    ksiss_kube_informer_stop(c->inf_pods);
    if (c->leader)
        ksiss_leader_stop(c->leader, true);
    ksiss_exporter_stop(c->exp);
    ksiss_ctl_cfg_unref(c->cfg);
    if (c->events)
        ksiss_events_free(c->events);
    ksiss_kube_free(c->kube);
    ksiss_kube_config_free(&c->kc);
    for (int i = 0; i < c->n_proms; i++)
        ksiss_prom_free(c->proms[i]);
    free(c->proms);
    ksiss_metrics_free(c->reg);
    ksiss_prom_opts_free(&c->prom_opts);
    ksiss_env_free(&c->env);
    ksiss_ctl_config_event_clear(c);
    free(c->ns);
    free(c->cm_selector);
    pthread_mutex_destroy(&c->mu);
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
    ksiss_prom_opts_init(&c.prom_opts);
#ifdef __GLIBC__
    /* Two malloc arenas instead of one per thread: the informer and worker
     * threads otherwise each keep the peak of their own parsing. */
    mallopt(M_ARENA_MAX, 2);
#endif
    int exit_code = start(&c, stop);
    if (exit_code == 0) {
        for (int tick = 0; !__atomic_load_n(stop, __ATOMIC_ACQUIRE) && (o->max_ticks <= 0 || tick < o->max_ticks); tick++)
            loop_once(&c, tick, stop);
        ksiss_log("info", "stopping", NULL);
        exit_code = KSISS_EXIT_OK;
    }
    shut_down(&c);
    return exit_code;
}
