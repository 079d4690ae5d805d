/* metrics.c: the metrics registry and the table of every exported metric
 * (see metrics.h and metrics_names.h). One mutex guards the registry. With
 * thousands of services a family holds tens of thousands of series, so
 * each family is hashed twice: by all its labels (set/add/get/remove) and
 * by its first two (namespace, service: ksiss_metrics_remove_if_group). */
#include "shell/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shell/strmap.h"

#ifndef KSISS_VERSION
#define KSISS_VERSION "0.0.0"
#endif
#ifndef KSISS_GIT_REV
#define KSISS_GIT_REV "unknown"
#endif

static const double transition_buckets[] = {5, 10, 30, 60, 120, 300, 600, 1200, 1800};
static const double query_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double tick_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

#define NB(a) (sizeof(a) / sizeof((a)[0]))

const ksiss_metric_def ksiss_metric_defs[KSISS_M_COUNT] = {
    [KSISS_M_SERVICE_TIER_INFO] = {"ksiss_service_tier_info", KSISS_MT_GAUGE,
        "Current GPU tier of a service (always 1; the tier and its resource are labels).",
        {"namespace", "service", "tier", "resource", NULL}, NULL, 0},
    [KSISS_M_SERVICE_REPLICAS] = {"ksiss_service_replicas", KSISS_MT_GAUGE,
        "Instances of a service, by state (ready: serving; starting: created, not yet serving).",
        {"namespace", "service", "state", NULL}, NULL, 0},
    [KSISS_M_METRIC_VALUE] = {"ksiss_metric_value", KSISS_MT_GAUGE,
        "Value of a configured metric, aggregated across the service's pods, as last read.",
        {"namespace", "service", "metric", NULL}, NULL, 0},
    [KSISS_M_METRIC_POD_VALUE] = {"ksiss_metric_pod_value", KSISS_MT_GAUGE,
        "Value of a configured per-pod metric for one pod, as last read.",
        {"namespace", "service", "metric", "pod", NULL}, NULL, 0},
    [KSISS_M_METRIC_SLO] = {"ksiss_metric_slo", KSISS_MT_GAUGE,
        "SLO configured for a metric (same unit as the metric).",
        {"namespace", "service", "metric", NULL}, NULL, 0},
    [KSISS_M_METRIC_PRESSURE_RATIO] = {"ksiss_metric_pressure_ratio", KSISS_MT_GAUGE,
        "Pressure of a metric against its SLO (above 1 is worse than the SLO), direction applied.",
        {"namespace", "service", "metric", NULL}, NULL, 0},
    [KSISS_M_METRIC_MISSING] = {"ksiss_metric_missing", KSISS_MT_GAUGE,
        "1 when the last read of a metric gave no usable value (error, empty, NaN, Inf), else 0.",
        {"namespace", "service", "metric", NULL}, NULL, 0},
    [KSISS_M_DECISIONS_TOTAL] = {"ksiss_decisions_total", KSISS_MT_COUNTER,
        "Decisions taken, by action (hold, up, down, out, in) and reason code.",
        {"namespace", "service", "action", "reason", NULL}, NULL, 0},
    [KSISS_M_TRANSITIONS_IN_FLIGHT] = {"ksiss_transitions_in_flight", KSISS_MT_GAUGE,
        "Tier changes under way for a service (0 or 1).",
        {"namespace", "service", NULL}, NULL, 0},
    [KSISS_M_TRANSITION_DURATION] = {"ksiss_transition_duration_seconds", KSISS_MT_HISTOGRAM,
        "Duration of tier changes, from the new revision's creation to its outcome.",
        {"namespace", "service", "outcome", NULL}, transition_buckets, NB(transition_buckets)},
    [KSISS_M_PROM_QUERY_DURATION] = {"ksiss_prometheus_query_duration_seconds", KSISS_MT_HISTOGRAM,
        "Duration of Prometheus instant queries, failed ones included.",
        {NULL}, query_buckets, NB(query_buckets)},
    [KSISS_M_PROM_QUERY_ERRORS_TOTAL] = {"ksiss_prometheus_query_errors_total", KSISS_MT_COUNTER,
        "Prometheus queries that gave no result, by reason.",
        {"reason", NULL}, NULL, 0},
    [KSISS_M_KUBE_REQUESTS_TOTAL] = {"ksiss_kubernetes_requests_total", KSISS_MT_COUNTER,
        "Kubernetes API requests, by verb and HTTP status code (0: no response).",
        {"verb", "code", NULL}, NULL, 0},
    [KSISS_M_GPU_FREE] = {"ksiss_gpu_free", KSISS_MT_GAUGE,
        "Units of a GPU resource allocatable and not requested by any pod.",
        {"gpu_model", "resource", NULL}, NULL, 0},
    [KSISS_M_GPU_ALLOCATABLE] = {"ksiss_gpu_allocatable", KSISS_MT_GAUGE,
        "Units of a GPU resource allocatable on the cluster's nodes.",
        {"gpu_model", "resource", NULL}, NULL, 0},
    [KSISS_M_LEADER] = {"ksiss_leader", KSISS_MT_GAUGE,
        "1 when this replica holds the leader lease and acts, 0 otherwise.",
        {NULL}, NULL, 0},
    [KSISS_M_BUILD_INFO] = {"ksiss_build_info", KSISS_MT_GAUGE,
        "Build of the running ksiss (always 1).",
        {"version", "revision", NULL}, NULL, 0},
    [KSISS_M_LEGACY_GPU_RESOURCE] = {"KubeComp_gpu_resource", KSISS_MT_GAUGE,
        "The original K-SISS gauge: MIG slice count (g) of a revision's GPU tier, kept for dashboards.",
        {"revision", NULL}, NULL, 0},
    [KSISS_M_PROM_QUERIES_TOTAL] = {"ksiss_prometheus_queries_total", KSISS_MT_COUNTER,
        "Prometheus instant queries sent (a query batched across services counts once).",
        {NULL}, NULL, 0},
    [KSISS_M_TICK_DURATION] = {"ksiss_tick_duration_seconds", KSISS_MT_HISTOGRAM,
        "Duration of a control-loop tick, from its start until the last of its services was evaluated and acted on.",
        {NULL}, tick_buckets, NB(tick_buckets)},
    [KSISS_M_TICK_SERVICES] = {"ksiss_tick_services", KSISS_MT_GAUGE,
        "Managed services at the last tick, by state (evaluated; skipped: still in flight from an earlier tick).",
        {"state", NULL}, NULL, 0},
    [KSISS_M_WORKERS] = {"ksiss_workers", KSISS_MT_GAUGE,
        "Worker threads evaluating services (KSISS_WORKERS).",
        {NULL}, NULL, 0},
    [KSISS_M_CACHE_OBJECTS] = {"ksiss_cache_objects", KSISS_MT_GAUGE,
        "Objects in a watch cache (services, revisions, pods, nodes), as of the last tick that read it.",
        {"resource", NULL}, NULL, 0},
    [KSISS_M_CACHE_BYTES] = {"ksiss_cache_bytes", KSISS_MT_GAUGE,
        "Bytes taken by the records of a watch cache (compact trimmed objects, kube_object.h).",
        {"resource", NULL}, NULL, 0},
    [KSISS_M_LEARNED_CAPACITY] = {"ksiss_learned_capacity", KSISS_MT_GAUGE,
        "Learned capacity of one instance of a tier, in the load's unit, within the SLO (best estimate; the "
        "policy plans with the pessimistic side). Services whose load has no perGpu, or learn: true.",
        {"service", "tier", NULL}, NULL, 0},
    [KSISS_M_LEARNED_CAPACITY_SD] = {"ksiss_learned_capacity_uncertainty", KSISS_MT_GAUGE,
        "Relative standard deviation of ksiss_learned_capacity (0.05: +-5%).",
        {"service", "tier", NULL}, NULL, 0},
    [KSISS_M_TIER_TOO_SLOW] = {"ksiss_tier_too_slow", KSISS_MT_GAUGE,
        "A tier too slow for the service's prompts (no tier change's target): the share of them its idle "
        "instance misses the TTFT SLO on. Only for the tiers judged so.",
        {"service", "tier", NULL}, NULL, 0},
};

/* Series indexes and hashes are 32-bit, and a series' labels (as many as
 * its family has, each the 32-bit number of a string of the registry's
 * pool) and histogram counts are kept in arrays of the family: a series
 * of a 3-label gauge takes 36 bytes (it took 96 with inline labels and
 * histogram fields), 120,000 of them at 10,000 services. */
typedef uint32_t sidx;
#define NONE ((sidx)UINT32_MAX)

typedef struct {
    double value;       /* gauge/counter value, histogram sum */
    uint32_t h, g;      /* hash of all labels, of the first two */
    sidx next, gnext;   /* next series in the same bucket of each hash */
} series;

typedef struct {
    series *v;
    uint32_t *lab;          /* nl labels per series (numbers of the pool's strings), series i's at i * nl */
    double *hist;           /* histograms: n_buckets + 1 per series (per bucket, not cumulative; then the count) */
    size_t nl, nh;          /* labels, histogram values per series */
    size_t n, cap;
    sidx *heads, *gheads;   /* nb buckets each: first series, NONE when empty */
    size_t nb;
} family;

static uint32_t *labels_of(const family *f, size_t i)
{
    return f->lab + i * f->nl;
}

static uint32_t hash_labels(const char *const *labels, size_t n)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a, a 0x1f between labels */
    for (size_t j = 0; j < n; j++) {
        for (const unsigned char *p = (const unsigned char *)labels[j]; *p; p++) {
            h ^= *p;
            h *= 1099511628211ull;
        }
        h ^= 0x1f;
        h *= 1099511628211ull;
    }
    return (uint32_t)(h ^ (h >> 32));
}

/* Rebuilds both bucket arrays for nb buckets. */
static void rehash(family *f, size_t nb)
{
    free(f->heads);
    free(f->gheads);
    f->nb = nb;
    f->heads = ksiss_xmalloc(nb * sizeof(*f->heads));
    f->gheads = ksiss_xmalloc(nb * sizeof(*f->gheads));
    for (size_t b = 0; b < nb; b++)
        f->heads[b] = f->gheads[b] = NONE;
    for (size_t i = 0; i < f->n; i++) {
        series *s = &f->v[i];
        s->next = f->heads[s->h & (nb - 1)];
        f->heads[s->h & (nb - 1)] = i;
        s->gnext = f->gheads[s->g & (nb - 1)];
        f->gheads[s->g & (nb - 1)] = i;
    }
}

/* The link (a bucket head or a series' next) that holds index i. */
static sidx *link_of(family *f, size_t i, bool group)
{
    const series *s = &f->v[i];
    sidx *l = group ? &f->gheads[s->g & (f->nb - 1)] : &f->heads[s->h & (f->nb - 1)];
    while (*l != i && *l != NONE)
        l = group ? &f->v[*l].gnext : &f->v[*l].next;
    return l;
}

/* The label values, each stored once: a value's number indexes str and
 * refs (the series holding it); numbers of values no series holds any
 * more are reused. */
typedef struct {
    ksiss_strmap *ids;      /* value -> its number + 1 */
    const char **str;       /* number -> the map's copy of the value, NULL: free */
    uint32_t *refs;
    uint32_t n, cap;
    uint32_t *free_ids;
    uint32_t n_free;
} label_pool;

struct ksiss_metrics {
    pthread_mutex_t lock;
    family fam[KSISS_M_COUNT];
    label_pool pool;
};

/* The number of v in the pool, one more series holding it. Lock held. */
static uint32_t intern(ksiss_metrics *m, const char *v)
{
    label_pool *p = &m->pool;
    uintptr_t id1 = (uintptr_t)ksiss_strmap_get(p->ids, v);
    if (id1) {
        p->refs[id1 - 1]++;
        return (uint32_t)(id1 - 1);
    }
    uint32_t id;
    if (p->n_free) {
        id = p->free_ids[--p->n_free];
    } else {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap + p->cap / 2 : 64;
            p->str = ksiss_xrealloc(p->str, p->cap * sizeof(*p->str));
            p->refs = ksiss_xrealloc(p->refs, p->cap * sizeof(*p->refs));
            p->free_ids = ksiss_xrealloc(p->free_ids, p->cap * sizeof(*p->free_ids));
        }
        id = p->n++;
    }
    ksiss_strmap_put(p->ids, v, (void *)(uintptr_t)(id + 1));
    p->str[id] = ksiss_strmap_key(p->ids, v);
    p->refs[id] = 1;
    return id;
}

/* One series fewer holds value id; the last one frees it. Lock held. */
static void release(ksiss_metrics *m, uint32_t id)
{
    label_pool *p = &m->pool;
    if (--p->refs[id] > 0)
        return;
    ksiss_strmap_del(p->ids, p->str[id]);   /* frees the string */
    p->str[id] = NULL;
    p->free_ids[p->n_free++] = id;     /* room: at most n <= cap ids are free */
}

static size_t n_labels(const ksiss_metric_def *d)
{
    size_t n = 0;
    while (n < KSISS_METRIC_MAX_LABELS && d->labels[n])
        n++;
    return n;
}

/* Series i's label values as strings, into out (KSISS_METRIC_MAX_LABELS). */
static const char *const *label_strs(const ksiss_metrics *m, const family *f, size_t i, const char **out)
{
    const uint32_t *l = labels_of(f, i);
    for (size_t j = 0; j < f->nl; j++)
        out[j] = m->pool.str[l[j]];
    return out;
}

static void series_free(ksiss_metrics *m, const family *f, size_t i)
{
    const uint32_t *l = labels_of(f, i);
    for (size_t j = 0; j < f->nl; j++)
        release(m, l[j]);
}

static bool labels_ok(const ksiss_metric_def *d, const char *const *labels)
{
    size_t nl = n_labels(d);
    for (size_t i = 0; i < nl; i++)
        if (!labels || !labels[i])
            return false;
    return true;
}

/* Finds (or, when create, adds) a series; its index or NONE. Lock held. */
static sidx find(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, bool create)
{
    family *f = &m->fam[id];
    size_t nl = f->nl;
    uint32_t h = hash_labels(labels, nl);
    for (size_t i = f->nb ? f->heads[h & (f->nb - 1)] : NONE; i != NONE; i = f->v[i].next) {
        if (f->v[i].h != h)
            continue;
        const uint32_t *l = labels_of(f, i);
        size_t j = 0;
        while (j < nl && !strcmp(m->pool.str[l[j]], labels[j]))
            j++;
        if (j == nl)
            return (sidx)i;
    }
    if (!create)
        return NONE;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->v = ksiss_xrealloc(f->v, f->cap * sizeof(*f->v));
        if (nl)
            f->lab = ksiss_xrealloc(f->lab, f->cap * nl * sizeof(*f->lab));
        if (f->nh)
            f->hist = ksiss_xrealloc(f->hist, f->cap * f->nh * sizeof(*f->hist));
    }
    size_t idx = f->n++;
    series *s = &f->v[idx];
    memset(s, 0, sizeof(*s));
    uint32_t *l = labels_of(f, idx);
    for (size_t j = 0; j < nl; j++)
        l[j] = intern(m, labels[j]);
    if (f->nh)
        memset(f->hist + idx * f->nh, 0, f->nh * sizeof(*f->hist));
    s->h = h;
    s->g = hash_labels(labels, nl < 2 ? nl : 2);
    if (f->n > 2 * f->nb) {     /* chains of 2 on average at most */
        rehash(f, f->nb ? f->nb * 2 : 16);
    } else {
        s->next = f->heads[h & (f->nb - 1)];
        f->heads[h & (f->nb - 1)] = idx;
        s->gnext = f->gheads[s->g & (f->nb - 1)];
        f->gheads[s->g & (f->nb - 1)] = idx;
    }
    return (sidx)idx;
}

ksiss_metrics *ksiss_metrics_new(void)
{
    ksiss_metrics *m = ksiss_xcalloc(1, sizeof(*m));
    m->pool.ids = ksiss_strmap_new();
    pthread_mutex_init(&m->lock, NULL);
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        const ksiss_metric_def *d = &ksiss_metric_defs[id];
        m->fam[id].nl = n_labels(d);
        m->fam[id].nh = d->type == KSISS_MT_HISTOGRAM ? d->n_buckets + 1 : 0;
    }
    for (int id = 0; id < KSISS_M_COUNT; id++)
        if (m->fam[id].nl == 0)
            find(m, (ksiss_metric_id)id, NULL, true);
    ksiss_metrics_set(m, KSISS_M_BUILD_INFO, KSISS_LABELS(KSISS_VERSION, KSISS_GIT_REV), 1);
    return m;
}

void ksiss_metrics_free(ksiss_metrics *m)
{
    if (!m)
        return;
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        for (size_t i = 0; i < m->fam[id].n; i++)
            series_free(m, &m->fam[id], i);
        free(m->fam[id].v);
        free(m->fam[id].lab);
        free(m->fam[id].hist);
        free(m->fam[id].heads);
        free(m->fam[id].gheads);
    }
    ksiss_strmap_free(m->pool.ids);
    free(m->pool.str);
    free(m->pool.refs);
    free(m->pool.free_ids);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

typedef enum { OP_SET, OP_ADD, OP_OBSERVE } op_kind;

static int update(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double x, op_kind op)
{
    if ((unsigned)id >= KSISS_M_COUNT)
        return -1;
    const ksiss_metric_def *d = &ksiss_metric_defs[id];
    if (!labels_ok(d, labels))
        return -1;
    if ((op == OP_SET && d->type != KSISS_MT_GAUGE) || (op == OP_OBSERVE && d->type != KSISS_MT_HISTOGRAM) ||
        (op == OP_ADD && (d->type == KSISS_MT_HISTOGRAM || (d->type == KSISS_MT_COUNTER && !(x >= 0)))))
        return -1;
    pthread_mutex_lock(&m->lock);
    family *f = &m->fam[id];
    sidx i = find(m, id, labels, true);
    series *s = &f->v[i];
    if (op == OP_SET) {
        s->value = x;
    } else if (op == OP_ADD) {
        s->value += x;
    } else {
        double *counts = f->hist + (size_t)i * f->nh;
        size_t b = 0;
        while (b < d->n_buckets && !(x <= d->buckets[b]))
            b++;
        if (b < d->n_buckets)
            counts[b] += 1;
        s->value += x;
        counts[d->n_buckets] += 1;
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int ksiss_metrics_set(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double value)
{
    return update(m, id, labels, value, OP_SET);
}

int ksiss_metrics_add(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double delta)
{
    return update(m, id, labels, delta, OP_ADD);
}

int ksiss_metrics_observe(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double value)
{
    return update(m, id, labels, value, OP_OBSERVE);
}

int ksiss_metrics_get(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double *out)
{
    if ((unsigned)id >= KSISS_M_COUNT || !labels_ok(&ksiss_metric_defs[id], labels))
        return -1;
    pthread_mutex_lock(&m->lock);
    const family *f = &m->fam[id];
    sidx i = find(m, id, labels, false);
    if (i != NONE)
        *out = f->nh ? f->hist[(size_t)i * f->nh + f->nh - 1] : f->v[i].value;
    pthread_mutex_unlock(&m->lock);
    return i != NONE ? 0 : -1;
}

/* Removes series i of family id; the last series moves into its place.
 * Lock held. */
static void drop_series(ksiss_metrics *m, ksiss_metric_id id, size_t i)
{
    family *f = &m->fam[id];
    size_t last = f->n - 1;
    *link_of(f, i, false) = f->v[i].next;
    *link_of(f, i, true) = f->v[i].gnext;
    series_free(m, f, i);
    if (i != last) {
        *link_of(f, last, false) = i;
        *link_of(f, last, true) = i;
        f->v[i] = f->v[last];
        memcpy(f->lab + i * f->nl, f->lab + last * f->nl, f->nl * sizeof(*f->lab));
        if (f->nh)
            memcpy(f->hist + i * f->nh, f->hist + last * f->nh, f->nh * sizeof(*f->hist));
    }
    f->n--;
}

int ksiss_metrics_remove(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels)
{
    if ((unsigned)id >= KSISS_M_COUNT || !labels_ok(&ksiss_metric_defs[id], labels))
        return 0;
    pthread_mutex_lock(&m->lock);
    sidx i = find(m, id, labels, false);
    if (i != NONE)
        drop_series(m, id, i);
    pthread_mutex_unlock(&m->lock);
    return i != NONE ? 1 : 0;
}

size_t ksiss_metrics_remove_if(ksiss_metrics *m, ksiss_metric_id id,
                               bool (*drop)(const char *const *labels, void *ud), void *ud)
{
    size_t removed = 0;
    if ((unsigned)id >= KSISS_M_COUNT)
        return 0;
    pthread_mutex_lock(&m->lock);
    family *f = &m->fam[id];
    const char *buf[KSISS_METRIC_MAX_LABELS];
    for (size_t i = 0; i < f->n;) {
        if (drop(label_strs(m, f, i, buf), ud)) {
            drop_series(m, id, i);
            removed++;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return removed;
}

size_t ksiss_metrics_remove_if_group(ksiss_metrics *m, ksiss_metric_id id, const char *label0, const char *label1,
                                     bool (*drop)(const char *const *labels, void *ud), void *ud)
{
    size_t removed = 0;
    if ((unsigned)id >= KSISS_M_COUNT || n_labels(&ksiss_metric_defs[id]) < 2 || !label0 || !label1)
        return 0;
    const char *const first[2] = {label0, label1};
    uint32_t g = hash_labels(first, 2);
    pthread_mutex_lock(&m->lock);
    family *f = &m->fam[id];
    size_t i = f->nb ? f->gheads[g & (f->nb - 1)] : NONE;
    const char *buf[KSISS_METRIC_MAX_LABELS];
    while (i != NONE) {
        series *s = &f->v[i];
        const char *const *l = label_strs(m, f, i, buf);
        sidx next = s->gnext;
        if (s->g == g && !strcmp(l[0], label0) && !strcmp(l[1], label1) && drop(l, ud)) {
            /* The last series moves into i: if it is still to visit in
             * this chain, visit it next (at its new index). */
            size_t last = f->n - 1;
            drop_series(m, id, i);
            removed++;
            if (next == last)
                next = i;
        }
        i = next;
    }
    pthread_mutex_unlock(&m->lock);
    return removed;
}

static int label_index(const ksiss_metric_def *d, const char *name)
{
    for (int i = 0; i < KSISS_METRIC_MAX_LABELS && d->labels[i]; i++)
        if (!strcmp(d->labels[i], name))
            return i;
    return -1;
}

size_t ksiss_metrics_remove_service(ksiss_metrics *m, const char *namespace_name, const char *service)
{
    size_t removed = 0;
    if (!service)
        return 0;
    pthread_mutex_lock(&m->lock);
    for (int id = 0; id < KSISS_M_COUNT; id++) {
        const ksiss_metric_def *d = &ksiss_metric_defs[id];
        int si = label_index(d, "service"), ni = label_index(d, "namespace");
        if (si < 0)
            continue;
        family *f = &m->fam[id];
        for (size_t i = 0; i < f->n;) {
            const uint32_t *l = labels_of(f, i);
            const char *const *str = m->pool.str;
            if (!strcmp(str[l[si]], service) && (!namespace_name || ni < 0 || !strcmp(str[l[ni]], namespace_name))) {
                drop_series(m, (ksiss_metric_id)id, i);
                removed++;
            } else {
                i++;
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
    return removed;
}

void ksiss_metrics_format_value(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "NaN");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    else {
        /* The shortest of %.15g..%.17g that reads back as the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

static void put_label_value(ksiss_strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            ksiss_sb_puts(sb, "\\\\");
        else if (*s == '"')
            ksiss_sb_puts(sb, "\\\"");
        else if (*s == '\n')
            ksiss_sb_puts(sb, "\\n");
        else
            ksiss_sb_putc(sb, *s);
    }
}

static void put_help(ksiss_strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            ksiss_sb_puts(sb, "\\\\");
        else if (*s == '\n')
            ksiss_sb_puts(sb, "\\n");
        else
            ksiss_sb_putc(sb, *s);
    }
}

/* name{l1="v1",...[,le="x"]} value */
static void put_sample(ksiss_strbuf *sb, const ksiss_metric_def *d, const char *suffix, const char *const *labels,
                       const char *le, double v)
{
    char num[64];
    size_t nl = n_labels(d);
    ksiss_sb_puts(sb, d->name);
    ksiss_sb_puts(sb, suffix);
    if (nl || le) {
        ksiss_sb_putc(sb, '{');
        for (size_t j = 0; j < nl; j++) {
            ksiss_sb_printf(sb, "%s%s=\"", j ? "," : "", d->labels[j]);
            put_label_value(sb, labels[j]);
            ksiss_sb_putc(sb, '"');
        }
        if (le)
            ksiss_sb_printf(sb, "%sle=\"%s\"", nl ? "," : "", le);
        ksiss_sb_putc(sb, '}');
    }
    ksiss_metrics_format_value(v, num, sizeof(num));
    ksiss_sb_printf(sb, " %s\n", num);
}

void ksiss_metrics_render_family(ksiss_metrics *m, int id, ksiss_strbuf *sb)
{
    static const char *const type_names[] = {"gauge", "counter", "histogram"};
    if (id < 0 || id >= KSISS_M_COUNT)
        return;
    const ksiss_metric_def *d = &ksiss_metric_defs[id];
    pthread_mutex_lock(&m->lock);
    const family *f = &m->fam[id];
    ksiss_sb_printf(sb, "# HELP %s ", d->name);
    put_help(sb, d->help);
    ksiss_sb_printf(sb, "\n# TYPE %s %s\n", d->name, type_names[d->type]);
    const char *buf[KSISS_METRIC_MAX_LABELS];
    for (size_t i = 0; i < f->n; i++) {
        const series *s = &f->v[i];
        const char *const *l = label_strs(m, f, i, buf);
        if (d->type != KSISS_MT_HISTOGRAM) {
            put_sample(sb, d, "", l, NULL, s->value);
            continue;
        }
        const double *counts = f->hist + i * f->nh;
        double cum = 0;
        char le[64];
        for (size_t b = 0; b < d->n_buckets; b++) {
            cum += counts[b];
            ksiss_metrics_format_value(d->buckets[b], le, sizeof(le));
            put_sample(sb, d, "_bucket", l, le, cum);
        }
        put_sample(sb, d, "_bucket", l, "+Inf", counts[d->n_buckets]);
        put_sample(sb, d, "_sum", l, NULL, s->value);
        put_sample(sb, d, "_count", l, NULL, counts[d->n_buckets]);
    }
    pthread_mutex_unlock(&m->lock);
}

char *ksiss_metrics_render(ksiss_metrics *m)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (int id = 0; id < KSISS_M_COUNT; id++)
        ksiss_metrics_render_family(m, id, &sb);
    return ksiss_sb_take(&sb);
}

size_t ksiss_metrics_label_values(ksiss_metrics *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = ksiss_strmap_size(m->pool.ids);
    pthread_mutex_unlock(&m->lock);
    return n;
}
