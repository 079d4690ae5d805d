/* controller_internal.h: what the files of `ksiss run`'s control loop
 * share (not for use outside src/shell/controller*.c):
 *   controller.c         start-up, the loop, shut-down (ksiss_controller_run)
 *   controller_config.c  the ConfigMap: loading, reloading, its Event, cfg_bundle
 *   controller_cache.c   the tick cache: informers' views and the GPU inventory
 *   controller_index.c   obj_index: an informer's records, grouped by service
 *   controller_tick.c    one tick: a job per managed service, then dispatch
 *   controller_job.c     one service's job: evaluate, decide, one step
 *   controller_state.c   each managed service's state across ticks
 * cfg_bundle, inv_bundle, obj_index and snapshot are shared between the
 * main thread and the workers by one scheme of reference counts: `refs`,
 * 1 when made, changed only by ksiss_ctl_ref/ksiss_ctl_unref (atomic);
 * the holder that drops the last one frees it. c->mu guards svc_state's
 * `busy` only. */
#ifndef KSISS_CONTROLLER_INTERNAL_H
#define KSISS_CONTROLLER_INTERNAL_H

#include <pthread.h>

#include "shell/controller.h"
#include "shell/controller_pool.h"
#include "shell/events.h"
#include "shell/exporter.h"
#include "shell/kube_object.h"
#include "shell/leader.h"
#include "shell/strmap.h"

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
    int refs;
    ksiss_kobj_list objs;
    ksiss_kobj **by_svc;    /* the grouped records, ordered by (service, key); NULL: not grouped */
    svc_group *groups;      /* one per service, ordered by service name */
    size_t n_groups;
} obj_index;

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
    ksiss_learn_state *learn;   /* likewise: a learned capacity (load without perGpu, or learn: true); owned,
                                   allocated for a learning service only (~6 KB: 10,000 services that do
                                   not learn must not carry it) */
    ksiss_prompt_tally tally;   /* likewise: the prompt lengths served (tier_floor.h); its buckets allocated
                                   when a histogram is first read */
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
    ksiss_prom_share *shares;   /* svc->n_metrics + 1 + KSISS_LQ_N (the load's, then the learned capacity's) */
    const ksiss_prom_share **use;   /* svc->n_metrics: the batched ones, NULL: query them */
    bool load_shared;
    const ksiss_prom_share *learn_use[KSISS_LQ_N];  /* the learned capacity's batched series, NULL: query them */
    const char **running;       /* its Running pods' names (borrowed from the records); NULL: list them */
    size_t n_running;
    int pending;                /* batched queries still to answer, + 1 until dispatched (atomic) */
} job;

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
    ksiss_kube_config kc;
    ksiss_exporter *exp;
    ksiss_leader *leader;   /* NULL: no leader election */
    ksiss_kube_informer *inf_cm, *inf_svc, *inf_nodes, *inf_pods, *inf_revs;
    char *cm_selector;
    uint64_t cm_gen;        /* the ConfigMap watch's generation last read (main thread) */
    cfg_bundle *cfg;        /* the configuration in force, NULL: none yet (main thread) */
    tick_cache tc;          /* main thread */
    int n_workers;
};

/* Takes one more reference on *refs. */
static inline void ksiss_ctl_ref(int *refs)
{
    __atomic_add_fetch(refs, 1, __ATOMIC_RELAXED);
}

/* Drops one; true when it was the last (the caller frees the object). */
static inline bool ksiss_ctl_unref(int *refs)
{
    return __atomic_sub_fetch(refs, 1, __ATOMIC_ACQ_REL) == 0;
}

/* controller_index.c */
obj_index *ksiss_ctl_index_new(ksiss_kube_informer *inf, const char *ns, bool group);
obj_index *ksiss_ctl_index_ref(obj_index *x);
void ksiss_ctl_index_unref(obj_index *x);
/* The records of `service` (an empty group when it has none); NULL when x
 * is NULL (not synced). */
const kobj_group *ksiss_ctl_index_group(const obj_index *x, const char *service);
json_t *ksiss_ctl_group_parse(const kobj_group *g);

/* controller_config.c */
cfg_bundle *ksiss_ctl_cfg_ref(cfg_bundle *b);
void ksiss_ctl_cfg_unref(cfg_bundle *b);
void ksiss_ctl_config_refresh(controller *c, int tick);
void ksiss_ctl_config_event_record(controller *c);
void ksiss_ctl_config_event_clear(controller *c);

/* controller_cache.c */
inv_bundle *ksiss_ctl_inv_ref(inv_bundle *b);
void ksiss_ctl_inv_unref(inv_bundle *b);
void ksiss_ctl_cache_refresh(controller *c);
void ksiss_ctl_cache_free(tick_cache *tc);

/* controller_state.c */
svc_state *ksiss_ctl_state_get(controller *c, const char *name);
void ksiss_ctl_state_free(svc_state *st);
void ksiss_ctl_states_forget_unseen(controller *c);
void ksiss_ctl_states_free(controller *c);

/* controller_job.c */
snapshot *ksiss_ctl_snap_ref(snapshot *s);
void ksiss_ctl_snap_unref(snapshot *s);
void ksiss_ctl_memo_clear(reading_memo *m);
job *ksiss_ctl_job_new(const ksiss_service_cfg *svc, const kobj_group *pods);
void ksiss_ctl_job_offer_queries(controller *c, job *j);
void ksiss_ctl_job_release(void *owner);
void ksiss_ctl_chunk_task(void *arg, int worker, bool cancelled);

/* The arguments of ksiss_ctl_chunk_task: batched query chunk i of s. */
typedef struct {
    snapshot *s;
    size_t i;
} chunk_arg;

/* controller_tick.c */
void ksiss_ctl_tick_run(controller *c, int tick, int64_t t0);

#endif
