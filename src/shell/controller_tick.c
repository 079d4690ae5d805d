/* controller_tick.c: one tick of `ksiss run` while leading, once the
 * caches are synced: a snapshot of the configuration and the caches that
 * the tick's jobs share, one job per managed Knative Service (a service
 * whose last job still runs is skipped, never waited for), the tick's
 * batched Prometheus queries on the pool, then each job once its answers
 * are in; finally the state of services no longer managed is dropped. */
#include "shell/controller_internal.h"

#include <stdlib.h>

#include "core/util.h"
#include "shell/clock.h"
#include "shell/log.h"

/* What this tick's jobs share: the configuration in force and the caches'
 * views, each held (one reference) until the tick's last job is done. */
static snapshot *snapshot_new(controller *c, int64_t t0)
{
    snapshot *s = ksiss_xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->c = c;
    s->now_ms = t0;
    s->t0_s = ksiss_mono_s();
    s->cfg = ksiss_ctl_cfg_ref(c->cfg);
    s->inv = ksiss_ctl_inv_ref(c->tc.inv);
    s->services = ksiss_ctl_index_ref(c->tc.services);
    s->pods = ksiss_ctl_index_ref(c->tc.pods);
    s->revs = ksiss_ctl_index_ref(c->tc.revs);
    s->batch = ksiss_prom_batch_new(c->batch_keys, ksiss_ctl_job_release);
    return s;
}

/* The job of Knative Service sv at this tick, its queries offered to the
 * tick's batch; NULL when the service is not managed or its last job
 * still runs (*skipped counts it). */
static job *service_job(controller *c, snapshot *s, ksiss_kobj *sv, int tick, size_t *skipped)
{
    const char *name = ksiss_kobj_str(sv, KSISS_KOBJ_NAME);
    bool by_prefix;
    const char *skip;
    if (!name)
        return NULL;
    const ksiss_service_cfg *sc = ksiss_controller_match(&s->cfg->cfg, &c->env, name, &by_prefix, &skip);
    if (!sc) {
        if (skip && tick == 0)
            ksiss_log("info", "ignored (IGNORE_LIST)", "service", name, "pattern", skip, NULL);
        return NULL;
    }
    svc_state *st = ksiss_ctl_state_get(c, name);
    st->seen = true;
    pthread_mutex_lock(&c->mu);
    bool busy = st->busy;
    pthread_mutex_unlock(&c->mu);
    if (busy) {
        ksiss_log("warn", "previous tick still running: skipped this tick", "service", name, NULL);
        (*skipped)++;
        return NULL;
    }
    if (by_prefix && !st->by_prefix)
        ksiss_log("info", "configuration matched by the original's prefix rule", "service", name, "key", sc->name,
                  NULL);
    st->by_prefix = by_prefix;
    const kobj_group *pods = ksiss_ctl_index_group(s->pods, name);
    job *j = ksiss_ctl_job_new(sc, pods);
    j->s = s;
    j->st = st;
    j->svc = sc;
    j->service = sv;
    j->pods = pods;
    j->revisions = ksiss_ctl_index_group(s->revs, name);
    j->pending = 1;     /* held until dispatched */
    ksiss_ctl_snap_ref(s);
    pthread_mutex_lock(&c->mu);
    st->busy = true;
    pthread_mutex_unlock(&c->mu);
    ksiss_ctl_job_offer_queries(c, j);
    return j;
}

/* The batched queries first, then each job once its answers are in; the
 * dispatch's own hold on s is dropped. */
static void dispatch(controller *c, snapshot *s, job **jobs, size_t n_jobs)
{
    size_t n_chunks = ksiss_prom_batch_seal(s->batch);
    for (size_t k = 0; k < n_chunks; k++) {
        chunk_arg *a = ksiss_xcalloc(1, sizeof(*a));
        a->s = s;
        a->i = k;
        ksiss_ctl_snap_ref(s);
        ksiss_pool_submit(c->pool, ksiss_ctl_chunk_task, a);
    }
    for (size_t k = 0; k < n_jobs; k++)
        ksiss_ctl_job_release(jobs[k]);
    ksiss_ctl_snap_unref(s);
}

void ksiss_ctl_tick_run(controller *c, int tick, int64_t t0)
{
    /* The caches as of now: copied, indexed and the inventory
     * recomputed only when something changed since the last tick. */
    ksiss_ctl_cache_refresh(c);
    snapshot *s = snapshot_new(c, t0);
    job **jobs = ksiss_xcalloc(s->services->objs.n + 1, sizeof(*jobs));
    size_t n_jobs = 0, skipped = 0;
    for (size_t i = 0; i < s->services->objs.n; i++) {
        job *j = service_job(c, s, s->services->objs.v[i], tick, &skipped);
        if (j)
            jobs[n_jobs++] = j;
    }
    dispatch(c, s, jobs, n_jobs);
    free(jobs);
    ksiss_metrics_set(c->reg, KSISS_M_TICK_SERVICES, KSISS_LABELS("evaluated"), (double)n_jobs);
    ksiss_metrics_set(c->reg, KSISS_M_TICK_SERVICES, KSISS_LABELS("skipped"), (double)skipped);
    ksiss_ctl_states_forget_unseen(c);
}
