/* transition.c: the pure reconcile step of Knative actions (tier change with
 * crash-safe state in annotations, instance count through per-revision
 * scale bounds). See transition.h for the contract, docs/actuation.md for
 * the design. */
#include "core/transition.h"

#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_path.h"
#include "core/util.h"

/* Kubernetes names of revisions are DNS-1035 labels. */
#define REVISION_NAME_MAX 63

/* ---------------------------------------------------------------- JSON --- */

static const json_t *jget(const json_t *o, const char *k)
{
    return json_is_object(o) ? json_object_get(o, k) : NULL;
}

static long long jint(const json_t *o, const char *a, const char *b, const char *c, long long dflt)
{
    const json_t *v = ksiss_json_path(o, a, b, c);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* Returns o[k], creating an empty object there when absent. Borrowed. */
static json_t *jobj(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, k, v);
    }
    return v;
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

const char *ksiss_tr_annotation(const json_t *obj, const char *key)
{
    return ksiss_json_str(obj, "metadata", "annotations", key);
}

/* --------------------------------------------------------------- state --- */

static const char *const phase_names[] = {"idle", "wait-ready", "shift", "cleanup", "rollback"};

const char *ksiss_tr_phase_name(ksiss_tr_phase p)
{
    return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "?";
}

void ksiss_tr_state_clear(ksiss_tr_state *s)
{
    free(s->from_rev);
    free(s->to_rev);
    free(s->from_tier);
    free(s->to_tier);
    free(s->reason);
    free(s->from_min_scale);
    free(s->from_max_scale);
    memset(s, 0, sizeof(*s));
}

static int state_str(const json_t *o, const char *k, bool required, char **out, char **err)
{
    const json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        if (required) {
            *err = ksiss_xasprintf("%s: missing \"%s\"", KSISS_ANN_TRANSITION, k);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v) || (required && !*json_string_value(v))) {
        *err = ksiss_xasprintf("%s: \"%s\" must be a non-empty string", KSISS_ANN_TRANSITION, k);
        return -1;
    }
    *out = ksiss_xstrdup(json_string_value(v));
    return 0;
}

static int state_int(const json_t *o, const char *k, long long lo, long long hi, long long *out, char **err)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        *err = ksiss_xasprintf("%s: \"%s\" must be an integer in [%lld, %lld]", KSISS_ANN_TRANSITION, k, lo, hi);
        return -1;
    }
    *out = (long long)json_integer_value(v);
    return 0;
}

int ksiss_tr_state_parse(const char *text, ksiss_tr_state *out, char **err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        *err = o ? ksiss_xasprintf("%s: not a JSON object", KSISS_ANN_TRANSITION)
                 : ksiss_xasprintf("%s: invalid JSON at column %d: %s", KSISS_ANN_TRANSITION, je.column, je.text);
        json_decref(o);
        return -1;
    }
    const char *ph = ksiss_json_str(o, "phase", NULL, NULL);
    int phase = -1;
    for (size_t i = 1; ph && i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
        if (!strcmp(ph, phase_names[i]))
            phase = (int)i;
    long long replicas = 0, from_replicas = 0, step = 0, started = 0, phase_at = 0;
    int rc = -1;
    if (phase < 0) {
        *err = ksiss_xasprintf("%s: \"phase\" must be one of wait-ready, shift, cleanup, rollback", KSISS_ANN_TRANSITION);
        goto out;
    }
    out->phase = (ksiss_tr_phase)phase;
    if (state_str(o, "from", true, &out->from_rev, err) || state_str(o, "to", true, &out->to_rev, err) ||
        state_str(o, "fromTier", false, &out->from_tier, err) ||
        state_str(o, "toTier", true, &out->to_tier, err) || state_str(o, "reason", false, &out->reason, err) ||
        state_str(o, "fromMinScale", false, &out->from_min_scale, err) ||
        state_str(o, "fromMaxScale", false, &out->from_max_scale, err) ||
        state_int(o, "replicas", 1, 10000, &replicas, err) ||
        state_int(o, "fromReplicas", 1, 10000, &from_replicas, err) ||
        state_int(o, "step", 0, 10000, &step, err) ||
        state_int(o, "startedAt", 0, INT64_MAX / 2, &started, err) ||
        state_int(o, "phaseAt", 0, INT64_MAX / 2, &phase_at, err))
        goto out;
    const json_t *tl = json_object_get(o, "trafficLatest");
    if (tl && !json_is_boolean(tl)) {
        *err = ksiss_xasprintf("%s: \"trafficLatest\" must be true or false", KSISS_ANN_TRANSITION);
        goto out;
    }
    out->traffic_latest = json_is_true(tl);
    out->replicas = (int)replicas;
    out->from_replicas = (int)from_replicas;
    out->step = (int)step;
    out->started_at_ms = started;
    out->phase_at_ms = phase_at;
    rc = 0;
out:
    json_decref(o);
    if (rc)
        ksiss_tr_state_clear(out);
    return rc;
}

static void set_opt_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *state_json(const ksiss_tr_state *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "phase", json_string(ksiss_tr_phase_name(s->phase)));
    json_object_set_new(o, "from", json_string(s->from_rev));
    json_object_set_new(o, "to", json_string(s->to_rev));
    set_opt_str(o, "fromTier", s->from_tier);
    json_object_set_new(o, "toTier", json_string(s->to_tier));
    json_object_set_new(o, "replicas", json_integer(s->replicas));
    json_object_set_new(o, "fromReplicas", json_integer(s->from_replicas));
    json_object_set_new(o, "step", json_integer(s->step));
    json_object_set_new(o, "startedAt", json_integer(s->started_at_ms));
    json_object_set_new(o, "phaseAt", json_integer(s->phase_at_ms));
    json_object_set_new(o, "trafficLatest", json_boolean(s->traffic_latest));
    set_opt_str(o, "reason", s->reason);
    set_opt_str(o, "fromMinScale", s->from_min_scale);
    set_opt_str(o, "fromMaxScale", s->from_max_scale);
    return o;
}

char *ksiss_tr_state_format(const ksiss_tr_state *s)
{
    json_t *o = state_json(s);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char *copy = ksiss_xstrdup(text);   /* ours to free with free() whatever jansson's allocator */
    free(text);
    return copy;
}

/* ------------------------------------------------------ reading objects --- */

static int parse_quantity_count(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return *out >= 0 ? 0 : -1;
    }
    if (!json_is_string(v))
        return -1;
    int64_t n;
    if (ksiss_parse_int64(json_string_value(v), &n) != 0 || n < 0)
        return -1;
    *out = (long long)n;
    return 0;
}

int ksiss_tr_container_gpu(const json_t *container, const char **resource, long long *count, char **err)
{
    static const char *const kinds[] = {"limits", "requests"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *m = ksiss_json_path(container, "resources", kinds[k], NULL);
        const char *key;
        const json_t *v;
        if (!json_is_object(m))
            continue;
        json_object_foreach((json_t *)m, key, v) {
            if (!ksiss_is_gpu_resource(key))
                continue;
            if (parse_quantity_count(v, count) != 0) {
                *err = ksiss_xasprintf("container \"%s\": resources.%s[\"%s\"] is not a whole count",
                                       ksiss_json_str(container, "name", NULL, NULL) ? ksiss_json_str(container, "name", NULL, NULL) : "?",
                                       kinds[k], key);
                return -1;
            }
            *resource = key;
            return 0;
        }
    }
    return 1;
}

json_t *ksiss_tr_gpu_container(const json_t *pod_spec, char **err)
{
    const json_t *cs = jget(pod_spec, "containers");
    if (!json_is_array(cs) || json_array_size(cs) == 0) {
        *err = ksiss_xstrdup("the pod template has no containers");
        return NULL;
    }
    json_t *found = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) {
        const char *res;
        long long n;
        char *e = NULL;
        int rc = ksiss_tr_container_gpu(c, &res, &n, &e);
        if (rc < 0) {
            *err = e;
            return NULL;
        }
        if (rc == 0) {
            if (found) {
                *err = ksiss_xasprintf("containers \"%s\" and \"%s\" both request a GPU: refusing to guess which one to resize",
                                       ksiss_json_str(found, "name", NULL, NULL) ? ksiss_json_str(found, "name", NULL, NULL) : "?",
                                       ksiss_json_str(c, "name", NULL, NULL) ? ksiss_json_str(c, "name", NULL, NULL) : "?");
                return NULL;
            }
            found = c;
        }
    }
    if (!found && json_array_size(cs) == 1)
        found = json_array_get(cs, 0);
    if (!found)
        *err = ksiss_xstrdup("no container requests a GPU and there are several: cannot tell which serves the model");
    return found;
}

const ksiss_tier *ksiss_tr_service_tier(const json_t *service, const ksiss_catalog *cat,
                                        const char *gpu_model, char **err)
{
    const json_t *spec = ksiss_json_path(service, "spec", "template", "spec");
    json_t *c = ksiss_tr_gpu_container(spec, err);
    if (!c)
        return NULL;
    const char *res;
    long long n;
    int rc = ksiss_tr_container_gpu(c, &res, &n, err);
    if (rc < 0)
        return NULL;
    if (rc > 0) {
        *err = ksiss_xstrdup("the service's container requests no GPU");
        return NULL;
    }
    return ksiss_catalog_tier_for_resource(cat, gpu_model, res, n, err);
}

/* The condition of `type` in obj's status.conditions, or NULL. */
static const json_t *condition(const json_t *obj, const char *type)
{
    const json_t *conds = ksiss_json_path(obj, "status", "conditions", NULL);
    size_t i;
    json_t *c;
    if (!json_is_array(conds))
        return NULL;
    json_array_foreach(conds, i, c)
        if (streq(ksiss_json_str(c, "type", NULL, NULL), type))
            return c;
    return NULL;
}

static const char *condition_status(const json_t *obj, const char *type)
{
    return ksiss_json_str(condition(obj, type), "status", NULL, NULL);
}

bool ksiss_tr_revision_ready(const json_t *revision)
{
    return revision && streq(condition_status(revision, "Ready"), "True");
}

/* The Ready condition's message, else its reason, else "no reason given";
 * for people; borrowed or static. */
static const char *ready_message(const json_t *revision)
{
    const json_t *c = condition(revision, "Ready");
    const char *m = ksiss_json_str(c, "message", NULL, NULL);
    const char *r = ksiss_json_str(c, "reason", NULL, NULL);
    return m ? m : r ? r : "no reason given";
}

static bool revision_failed(const json_t *revision)
{
    return revision && streq(condition_status(revision, "Ready"), "False");
}

/* How long (>= 0) a new revision's Ready has had its present status (False,
 * or Unknown) at now_ms: since its Ready condition's lastTransitionTime,
 * counted from started_ms at the earliest (a time before then, one that does
 * not parse, or none, all count from started_ms: a clock behind ours cannot
 * shorten the grace). */
static int64_t not_ready_for_ms(const json_t *revision, int64_t now_ms, int64_t started_ms)
{
    const char *t = ksiss_json_str(condition(revision, "Ready"), "lastTransitionTime", NULL, NULL);
    int64_t since = started_ms, at;
    if (t && ksiss_parse_utc_time(t, t + strlen(t), &at) == 0 && at > since)
        since = at;
    return now_ms > since ? now_ms - since : 0;  /* a time ahead of ours: just now */
}

const json_t *ksiss_tr_find_revision(const json_t *revisions, const char *name)
{
    size_t i;
    json_t *r;
    if (!json_is_array(revisions) || !name)
        return NULL;
    json_array_foreach(revisions, i, r)
        if (streq(ksiss_json_str(r, "metadata", "name", NULL), name))
            return r;
    return NULL;
}

int ksiss_tr_status_percent(const json_t *service, const char *revision)
{
    const json_t *tr = ksiss_json_path(service, "status", "traffic", NULL);
    const char *latest = ksiss_json_str(service, "status", "latestReadyRevisionName", NULL);
    size_t i;
    json_t *t;
    int sum = 0;
    if (!json_is_array(tr))
        return 0;
    json_array_foreach(tr, i, t) {
        const char *name = ksiss_json_str(t, "revisionName", NULL, NULL);
        if (!name && json_is_true(jget(t, "latestRevision")))
            name = latest;
        if (streq(name, revision)) {
            /* Knative writes 0..100. Anything else counts as all the
             * traffic: entries cannot cancel out (a revision named with
             * -50 and 50 still serves) and the sum cannot overflow. */
            long long pct = jint(t, "percent", NULL, NULL, 0);
            sum += pct < 0 || pct > 100 ? 100 : (int)pct;
            if (sum > 100)
                sum = 100;
        }
    }
    return sum;
}

int64_t ksiss_tr_backoff_until(const json_t *service, const char *tier)
{
    const char *text = ksiss_tr_annotation(service, KSISS_ANN_BACKOFF);
    if (!text || !tier)
        return INT64_MIN;
    json_t *o = json_loads(text, 0, NULL);
    const json_t *v = jget(o, tier);
    int64_t until = json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
    json_decref(o);
    return until;
}

/* Instances a revision is meant to have: Knative's desired scale (the KPA
 * applies the bounds K-SISS sets on the PodAutoscaler, and the Revision
 * reports it as status.desiredReplicas), else the Revision's own min-scale
 * annotation (from its template), else what runs, else 1. */
static int revision_replicas(const json_t *rev)
{
    long long desired = jint(rev, "status", "desiredReplicas", NULL, 0);
    if (desired >= 1 && desired <= 10000)
        return (int)desired;
    const char *min = ksiss_tr_annotation(rev, KSISS_ANN_MIN_SCALE);
    int64_t n;
    if (min && ksiss_parse_int64(min, &n) == 0 && n >= 1 && n <= 10000)
        return (int)n;
    long long actual = jint(rev, "status", "actualReplicas", NULL, 1);
    return actual >= 1 && actual <= 10000 ? (int)actual : 1;
}

static int revision_actual(const json_t *rev)
{
    long long actual = jint(rev, "status", "actualReplicas", NULL, 0);
    return actual >= 0 && actual <= 10000 ? (int)actual : 0;
}

/* --------------------------------------------------------------- plans --- */

static ksiss_tr_action *plan_add(ksiss_tr_plan *p, ksiss_tra_kind kind)
{
    p->v = ksiss_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
    ksiss_tr_action *a = &p->v[p->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    return a;
}

static void plan_scale(ksiss_tr_plan *p, const char *rev, int scale)
{
    ksiss_tr_action *a = plan_add(p, KSISS_TRA_SCALE_REVISION);
    a->revision = ksiss_xstrdup(rev);
    a->scale = scale;
}

static void plan_delete(ksiss_tr_plan *p, const char *rev)
{
    ksiss_tr_action *a = plan_add(p, KSISS_TRA_DELETE_REVISION);
    a->revision = ksiss_xstrdup(rev);
}

static void plan_event(ksiss_tr_plan *p, bool warning, const char *reason, char *message_owned)
{
    ksiss_tr_action *a = plan_add(p, KSISS_TRA_EVENT);
    a->warning = warning;
    a->event_reason = ksiss_xstrdup(reason);
    a->message = message_owned;
}

/* A merge patch with the resourceVersion precondition. Returns the patch
 * (added to the plan, borrowed). */
static json_t *plan_patch(ksiss_tr_plan *p, const json_t *service)
{
    ksiss_tr_action *a = plan_add(p, KSISS_TRA_PATCH_SERVICE);
    a->patch = json_object();
    json_t *meta = jobj(a->patch, "metadata");
    json_object_set_new(meta, "resourceVersion", json_string(ksiss_json_str(service, "metadata", "resourceVersion", NULL)));
    return a->patch;
}

static void patch_state(json_t *patch, const ksiss_tr_state *s)
{
    json_t *ann = jobj(jobj(patch, "metadata"), "annotations");
    if (s) {
        char *text = ksiss_tr_state_format(s);
        json_object_set_new(ann, KSISS_ANN_TRANSITION, json_string(text));
        free(text);
    } else {
        json_object_set_new(ann, KSISS_ANN_TRANSITION, json_null());
    }
}

static json_t *traffic_entry(const char *rev, int percent)
{
    json_t *e = json_object();
    if (rev) {
        json_object_set_new(e, "revisionName", json_string(rev));
        json_object_set_new(e, "latestRevision", json_false());
    } else {
        json_object_set_new(e, "latestRevision", json_true());
    }
    json_object_set_new(e, "percent", json_integer(percent));
    return e;
}

/* Traffic split: `to_percent` on `to`, the rest on `from` (entries at 0%
 * left out). */
static void patch_traffic(json_t *patch, const char *from, const char *to, int to_percent)
{
    json_t *list = json_array();
    if (to_percent < 100)
        json_array_append_new(list, traffic_entry(from, 100 - to_percent));
    if (to_percent > 0)
        json_array_append_new(list, traffic_entry(to, to_percent));
    json_object_set_new(jobj(patch, "spec"), "traffic", list);
}

static void patch_traffic_latest(json_t *patch)
{
    json_t *list = json_array();
    json_array_append_new(list, traffic_entry(NULL, 100));
    json_object_set_new(jobj(patch, "spec"), "traffic", list);
}

static void set_summary(ksiss_tr_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_summary(ksiss_tr_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(p->summary);
    p->summary = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
}

void ksiss_tr_plan_free(ksiss_tr_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        json_decref(p->v[i].patch);
        free(p->v[i].revision);
        free(p->v[i].event_reason);
        free(p->v[i].message);
    }
    free(p->v);
    free(p->summary);
    memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------ the service spec --- */

/* Is the Service's traffic something we may take over: absent, all on the
 * latest ready revision, or all on `current`? Sets *latest. */
static bool traffic_owned(const json_t *service, const char *current, bool *latest)
{
    const json_t *tr = ksiss_json_path(service, "spec", "traffic", NULL);
    *latest = true;
    if (!tr || json_is_null(tr) || (json_is_array(tr) && json_array_size(tr) == 0))
        return true;
    if (!json_is_array(tr) || json_array_size(tr) != 1)
        return false;
    const json_t *e = json_array_get(tr, 0);
    if (jget(e, "tag") || jint(e, "percent", NULL, NULL, 100) != 100)
        return false;
    if (json_is_true(jget(e, "latestRevision")))
        return true;
    *latest = false;
    return streq(ksiss_json_str(e, "revisionName", NULL, NULL), current);
}

/* Builds the new container list: the GPU container gets `tier`'s resource
 * as requests = limits; every other resource, container and field is
 * kept; cpu/memory defaults are written only where the container has none. */
static json_t *containers_for_tier(const json_t *pod_spec, const ksiss_tier *tier,
                                   const char *default_cpu, const char *default_memory, char **err)
{
    json_t *gpu = ksiss_tr_gpu_container(pod_spec, err);
    if (!gpu)
        return NULL;
    json_t *list = json_deep_copy(jget(pod_spec, "containers"));
    size_t idx = 0, i;
    json_t *c;
    json_array_foreach(jget(pod_spec, "containers"), i, c)
        if (c == gpu)
            idx = i;
    json_t *target = json_array_get(list, idx);
    json_t *res = jobj(target, "resources");
    json_t *limits = jobj(res, "limits");
    json_t *requests = jobj(res, "requests");
    json_t *maps[2] = {limits, requests};
    for (size_t m = 0; m < 2; m++) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(maps[m], tmp, key, v) {
            if (ksiss_is_gpu_resource(key))
                json_object_del(maps[m], key);
        }
    }
    char *count = ksiss_xasprintf("%d", tier->count);
    json_object_set_new(limits, tier->resource, json_string(count));
    json_object_set_new(requests, tier->resource, json_string(count));
    free(count);
    static const char *const names[2] = {"cpu", "memory"};
    const char *dflt[2] = {default_cpu, default_memory};
    for (size_t k = 0; k < 2; k++) {
        if (!dflt[k] || json_object_get(limits, names[k]) || json_object_get(requests, names[k]))
            continue;
        json_object_set_new(limits, names[k], json_string(dflt[k]));
        json_object_set_new(requests, names[k], json_string(dflt[k]));
    }
    return list;
}

static char *base36(uint64_t v)
{
    char tmp[32];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v && n < sizeof(tmp));
    char *out = ksiss_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return out;
}

/* --------------------------------------------------------------- steps --- */

typedef struct {
    const ksiss_tr_input *in;
    const char *svc;
    ksiss_tr_plan *p;
} ctx;

/* The new revision, Ready once and now serving part or all of the traffic
 * (SHIFT, CLEANUP), is not Ready. Ready=False is a failure: rolled back at
 * once. Unknown (or no condition) is Knative still deciding: its autoscaler
 * restarting marks a serving revision so for a moment (seen after an API
 * server restart). That gets KSISS_TR_FAIL_GRACE_MS from the condition's
 * last transition (never before phase_at_ms, when the traffic last moved),
 * the traffic held where it is. Returns true while holding, with the
 * plan's summary set. */
static bool unready_grace(ctx *c, const ksiss_tr_state *s, const json_t *to)
{
    if (!to || revision_failed(to))
        return false;
    int64_t unready_ms = not_ready_for_ms(to, c->in->now_ms, s->phase_at_ms);
    if (unready_ms >= KSISS_TR_FAIL_GRACE_MS)
        return false;
    set_summary(c->p, "revision %s (%s) serves %d%% and its Ready is Unknown for %" PRId64 "s (%s): traffic held "
                "where it is; rolled back if it stays so for %ds", s->to_rev, s->to_tier,
                ksiss_tr_status_percent(c->in->service, s->to_rev), unready_ms / 1000, ready_message(to),
                KSISS_TR_FAIL_GRACE_MS / 1000);
    return true;
}

/* Why a revision that was Ready is a reason to roll back now. */
static char *stopped_ready_why(const ksiss_tr_state *s, const json_t *to)
{
    if (revision_failed(to))
        return ksiss_xasprintf("revision %s stopped being Ready: %s", s->to_rev, ready_message(to));
    return ksiss_xasprintf("revision %s stopped being Ready (Ready is not True for %ds)", s->to_rev,
                           KSISS_TR_FAIL_GRACE_MS / 1000);
}

static int traffic_percent_for(const ksiss_tr_input *in, const ksiss_tr_state *s, int step)
{
    if (s->replicas > 1) {
        int pct = (int)((100LL * step) / s->replicas);
        return step >= s->replicas ? 100 : pct;
    }
    if (!in->traffic_steps || in->n_traffic_steps == 0)
        return 100;
    size_t i = (size_t)step < in->n_traffic_steps ? (size_t)step : in->n_traffic_steps - 1;
    int pct = in->traffic_steps[i];
    return pct < 1 ? 1 : pct > 100 ? 100 : pct;
}

/* IDLE: maybe start a tier change, or change the instance count. */
static int step_idle(ctx *c, char **err)
{
    const ksiss_tr_input *in = c->in;
    ksiss_tr_plan *p = c->p;
    const char *ready = ksiss_json_str(in->service, "status", "latestReadyRevisionName", NULL);
    const char *created = ksiss_json_str(in->service, "status", "latestCreatedRevisionName", NULL);
    const json_t *cur = ksiss_tr_find_revision(in->revisions, ready);
    const ksiss_tier *tier = NULL;
    char *terr = NULL;
    if (in->target_tier) {
        tier = ksiss_tr_service_tier(in->service, in->cat, in->gpu_model, &terr);
        if (!tier) {
            *err = ksiss_xasprintf("cannot tell the current tier: %s", terr);
            free(terr);
            return -1;
        }
    }
    int cur_replicas = cur ? revision_replicas(cur) : 1;
    if (tier && tier != in->target_tier && strcmp(tier->name, in->target_tier->name) != 0) {
        const ksiss_tier *to = in->target_tier;
        int64_t until = ksiss_tr_backoff_until(in->service, to->name);
        if (until != INT64_MIN && until > in->now_ms) {
            set_summary(p, "hold: tier %s is in backoff for %" PRId64 "s after a rollback", to->name,
                        (until - in->now_ms + 999) / 1000);
            return 0;
        }
        if (!ready || !cur || !ksiss_tr_revision_ready(cur) || !streq(ready, created) ||
            jint(in->service, "status", "observedGeneration", NULL, -1) !=
                jint(in->service, "metadata", "generation", NULL, -2)) {
            set_summary(p, "hold: the service is not settled (latest created %s, latest ready %s): "
                           "waiting before changing tier", created ? created : "none", ready ? ready : "none");
            return 0;
        }
        bool latest;
        if (!traffic_owned(in->service, ready, &latest)) {
            *err = ksiss_xasprintf("spec.traffic splits traffic or uses tags: K-SISS changes tiers only of "
                                   "services whose traffic goes 100%% to one revision");
            return -1;
        }
        if (in->free_target_units < to->count) {
            set_summary(p, "hold: no free %s (need %d, free %lld): not starting the move to %s", to->resource,
                        to->count, in->free_target_units, to->name);
            return 0;
        }
        char *suffix = base36((uint64_t)in->now_ms);
        char *name = ksiss_xasprintf("%s-ks%s", c->svc, suffix);
        free(suffix);
        if (strlen(name) > REVISION_NAME_MAX) {
            *err = ksiss_xasprintf("service name too long to name a new revision (%s is over %d characters)",
                                   name, REVISION_NAME_MAX);
            free(name);
            return -1;
        }
        if (ksiss_tr_find_revision(in->revisions, name)) {
            set_summary(p, "hold: revision %s already exists; trying again next tick", name);
            free(name);
            return 0;
        }
        const json_t *tmpl = ksiss_json_path(in->service, "spec", "template", NULL);
        json_t *containers = containers_for_tier(jget(tmpl, "spec"), to, in->default_cpu, in->default_memory, err);
        if (!containers) {
            free(name);
            return -1;
        }
        int replicas = in->target_replicas > 0 ? in->target_replicas : cur_replicas;
        ksiss_tr_state s = {
            .phase = KSISS_TR_WAIT_READY,
            .from_rev = ksiss_xstrdup(ready),
            .to_rev = name,
            .from_tier = ksiss_xstrdup(tier->name),
            .to_tier = ksiss_xstrdup(to->name),
            .replicas = replicas,
            .from_replicas = cur_replicas,
            .step = 0,
            .started_at_ms = in->now_ms,
            .phase_at_ms = in->now_ms,
            .traffic_latest = latest,
            .reason = ksiss_xstrdup(in->reason ? in->reason : "policy decision"),
            .from_min_scale = ksiss_xstrdup(ksiss_json_str(tmpl, "metadata", "annotations", KSISS_ANN_MIN_SCALE)),
            .from_max_scale = ksiss_xstrdup(ksiss_json_str(tmpl, "metadata", "annotations", KSISS_ANN_MAX_SCALE)),
        };
        json_t *patch = plan_patch(p, in->service);
        patch_state(patch, &s);
        json_t *ptmpl = jobj(jobj(patch, "spec"), "template");
        json_t *pmeta = jobj(ptmpl, "metadata");
        json_object_set_new(pmeta, "name", json_string(name));
        json_t *pann = jobj(pmeta, "annotations");
        json_object_set_new(pann, KSISS_ANN_TIER, json_string(to->name));
        /* The new revision starts with one instance; with several, the
         * rest come one by one (bounded extra GPUs: one instance). */
        json_object_set_new(pann, KSISS_ANN_MIN_SCALE, json_string("1"));
        json_object_set_new(pann, KSISS_ANN_MAX_SCALE, json_string("1"));
        json_object_set_new(jobj(ptmpl, "spec"), "containers", containers);
        patch_traffic(patch, ready, NULL, 0);
        plan_event(p, false, "TierChangeStarted",
                   ksiss_xasprintf("moving %s from %s to %s (%d instance%s) as revision %s: %s", c->svc, tier->name,
                                   to->name, replicas, replicas == 1 ? "" : "s", name, s.reason));
        set_summary(p, "start tier change %s -> %s: new revision %s, traffic stays on %s", tier->name, to->name,
                    name, ready);
        p->phase = KSISS_TR_WAIT_READY;
        p->in_flight = true;
        ksiss_tr_state_clear(&s);
        return 0;
    }
    if (in->target_replicas > 0 && in->target_replicas != cur_replicas) {
        if (!cur || !ksiss_tr_revision_ready(cur)) {
            set_summary(p, "hold: no ready revision to rescale");
            return 0;
        }
        plan_scale(p, ready, in->target_replicas);
        plan_event(p, false, "SuccessfulRescale",
                   ksiss_xasprintf("new instance count %d (was %d) on revision %s: %s", in->target_replicas,
                                   cur_replicas, ready, in->reason ? in->reason : "policy decision"));
        set_summary(p, "rescale revision %s: %d -> %d instances", ready, cur_replicas, in->target_replicas);
        return 0;
    }
    set_summary(p, "nothing to do");
    return 0;
}

/* Appends a patch that restores the old template and traffic, records the
 * backoff and moves to ROLLBACK. `why` is owned. */
static void start_rollback(ctx *c, ksiss_tr_state *s, const json_t *from, char *why)
{
    const ksiss_tr_input *in = c->in;
    ksiss_tr_plan *p = c->p;
    if (s->replicas > 1 || s->from_replicas > 1)
        plan_scale(p, s->from_rev, s->from_replicas);
    json_t *patch = plan_patch(p, in->service);
    free(s->reason);
    s->reason = ksiss_xstrdup(why);
    s->phase = KSISS_TR_ROLLBACK;
    s->phase_at_ms = in->now_ms;
    patch_state(patch, s);
    /* Backoff for the refused tier (expired entries dropped). */
    json_t *bo = json_object();
    json_t *old = json_loads(ksiss_tr_annotation(in->service, KSISS_ANN_BACKOFF) ?
                             ksiss_tr_annotation(in->service, KSISS_ANN_BACKOFF) : "{}", 0, NULL);
    const char *k;
    json_t *v;
    if (json_is_object(old))
        json_object_foreach(old, k, v)
            if (json_is_integer(v) && json_integer_value(v) > in->now_ms)
                json_object_set(bo, k, v);
    json_decref(old);
    json_object_set_new(bo, s->to_tier, json_integer(in->now_ms + in->backoff_ms));
    char *bo_text = json_dumps(bo, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(bo);
    json_object_set_new(jobj(jobj(patch, "metadata"), "annotations"), KSISS_ANN_BACKOFF, json_string(bo_text));
    free(bo_text);
    /* The old template: its revision's own containers, so Knative reuses
     * that revision (same BYO name, equal spec) instead of creating one. */
    json_t *ptmpl = jobj(jobj(patch, "spec"), "template");
    json_t *pmeta = jobj(ptmpl, "metadata");
    json_object_set_new(pmeta, "name", json_string(s->from_rev));
    json_t *pann = jobj(pmeta, "annotations");
    json_object_set_new(pann, KSISS_ANN_TIER, s->from_tier ? json_string(s->from_tier) : json_null());
    json_object_set_new(pann, KSISS_ANN_MIN_SCALE, s->from_min_scale ? json_string(s->from_min_scale) : json_null());
    json_object_set_new(pann, KSISS_ANN_MAX_SCALE, s->from_max_scale ? json_string(s->from_max_scale) : json_null());
    json_object_set(jobj(ptmpl, "spec"), "containers", (json_t *)ksiss_json_path(from, "spec", "containers", NULL));
    patch_traffic(patch, s->from_rev, NULL, 0);
    /* Said now (the failure, while it is news) and again when the rollback
     * completes (TierChangeRolledBack): a crash between this patch and this
     * Event loses it, and the completion is a later step. */
    plan_event(p, true, "TierChangeFailed",
               ksiss_xasprintf("moving %s from %s to %s failed (revision %s): %s; rolling back to revision %s",
                               c->svc, s->from_tier ? s->from_tier : s->from_rev, s->to_tier, s->to_rev, why,
                               s->from_rev));
    set_summary(p, "roll back to %s: %s", s->from_rev, why);
    p->phase = KSISS_TR_ROLLBACK;
    p->in_flight = true;
    free(why);
}

static int step_in_flight(ctx *c, ksiss_tr_state *s)
{
    const ksiss_tr_input *in = c->in;
    ksiss_tr_plan *p = c->p;
    const json_t *from = ksiss_tr_find_revision(in->revisions, s->from_rev);
    const json_t *to = ksiss_tr_find_revision(in->revisions, s->to_rev);
    bool from_ready = ksiss_tr_revision_ready(from), to_ready = ksiss_tr_revision_ready(to);
    int64_t waited_ms = in->now_ms - s->started_at_ms;
    p->phase = s->phase;
    p->in_flight = true;

    switch (s->phase) {
    case KSISS_TR_WAIT_READY:
    case KSISS_TR_SHIFT:
        if (!to_ready) {
            bool timed_out = waited_ms > in->ready_timeout_ms;
            /* Ready=False while waiting is a failure once it has lasted
             * KSISS_TR_FAIL_GRACE_MS: Knative reports transient scheduling
             * errors that way too (a bind the scheduler retries after an API
             * server restart) and clears them once the pod runs. */
            int64_t failing_ms = revision_failed(to) ? not_ready_for_ms(to, in->now_ms, s->started_at_ms) : -1;
            if (s->phase == KSISS_TR_WAIT_READY && failing_ms < KSISS_TR_FAIL_GRACE_MS && !timed_out) {
                if (failing_ms >= 0)
                    set_summary(p, "waiting for revision %s (%s): Ready is False for %" PRId64 "s (%s); rolled back if "
                                "it stays so for %ds: %" PRId64 "s of %" PRId64 "s", s->to_rev, s->to_tier,
                                failing_ms / 1000, ready_message(to), KSISS_TR_FAIL_GRACE_MS / 1000, waited_ms / 1000,
                                in->ready_timeout_ms / 1000);
                else
                    set_summary(p, "waiting for revision %s (%s) to be Ready: %" PRId64 "s of %" PRId64 "s", s->to_rev,
                                s->to_tier, waited_ms / 1000, in->ready_timeout_ms / 1000);
                return 0;
            }
            if (!from_ready) {
                set_summary(p, "hold: neither %s nor %s is Ready; traffic left where it is", s->from_rev, s->to_rev);
                return 0;
            }
            if (s->phase == KSISS_TR_SHIFT && unready_grace(c, s, to))
                return 0;
            char *why = !to ? ksiss_xasprintf("revision %s was not created within %" PRId64 "s", s->to_rev,
                                              in->ready_timeout_ms / 1000)
                      : s->phase == KSISS_TR_SHIFT ? stopped_ready_why(s, to)
                      : revision_failed(to) ? ksiss_xasprintf("revision %s failed: %s", s->to_rev, ready_message(to))
                      : ksiss_xasprintf("revision %s not Ready within %" PRId64 "s", s->to_rev,
                                        in->ready_timeout_ms / 1000);
            start_rollback(c, s, from, why);
            return 0;
        }
        {
            /* to is Ready: the next traffic step. */
            int next = s->phase == KSISS_TR_WAIT_READY ? (s->replicas > 1 ? 1 : 0) : s->step + 1;
            if (s->replicas > 1 && revision_actual(to) < (s->phase == KSISS_TR_WAIT_READY ? 1 : s->step + 1)) {
                set_summary(p, "waiting for revision %s to reach %d instance(s) (has %d)", s->to_rev,
                            s->phase == KSISS_TR_WAIT_READY ? 1 : s->step + 1, revision_actual(to));
                return 0;
            }
            int pct = from_ready ? traffic_percent_for(in, s, next) : 100;
            bool done = pct >= 100;
            if (s->replicas > 1) {
                /* One more instance of the new tier before the next step,
                 * one fewer of the old: extra GPUs stay at one instance. */
                if (!done)
                    plan_scale(p, s->to_rev, next + 1 <= s->replicas ? next + 1 : s->replicas);
                else
                    plan_scale(p, s->to_rev, s->replicas);
                if (from && s->from_replicas - next >= 1)
                    plan_scale(p, s->from_rev, s->from_replicas - next);
            }
            json_t *patch = plan_patch(p, in->service);
            if (done) {
                if (s->traffic_latest &&
                    streq(ksiss_json_str(in->service, "status", "latestReadyRevisionName", NULL), s->to_rev))
                    patch_traffic_latest(patch);
                else
                    patch_traffic(patch, s->from_rev, s->to_rev, 100);
                s->phase = KSISS_TR_CLEANUP;
            } else {
                patch_traffic(patch, s->from_rev, s->to_rev, pct);
                s->phase = KSISS_TR_SHIFT;
            }
            s->step = next;
            s->phase_at_ms = in->now_ms;
            patch_state(patch, s);
            set_summary(p, "traffic %d%% on %s (%s), %d%% on %s", pct, s->to_rev, s->to_tier, 100 - pct, s->from_rev);
            p->phase = s->phase;
            return 0;
        }
    case KSISS_TR_CLEANUP:
        if (!to_ready) {
            if (from_ready) {
                if (!unready_grace(c, s, to))
                    start_rollback(c, s, from, stopped_ready_why(s, to));
                return 0;
            }
            set_summary(p, "hold: revision %s is not Ready and %s cannot take the traffic back", s->to_rev,
                        s->from_rev);
            return 0;
        }
        if (from) {
            if (ksiss_tr_status_percent(in->service, s->from_rev) > 0 ||
                jint(in->service, "status", "observedGeneration", NULL, -1) !=
                    jint(in->service, "metadata", "generation", NULL, -2)) {
                set_summary(p, "waiting for the route to move all traffic off %s", s->from_rev);
                return 0;
            }
            plan_delete(p, s->from_rev);
            set_summary(p, "delete the old revision %s (no traffic; %s is Ready)", s->from_rev, s->to_rev);
            return 0;
        }
        {
            /* The user's traffic form back: the last step pinned the new
             * revision by name when the Service's status did not report it
             * as the latest Ready one yet (Knative updates it a moment after
             * the Revision), and nothing else would ever undo that. Any
             * Ready latest revision other than the deleted old one will do
             * (the user may have made a newer one). */
            bool to_latest = false;
            if (s->traffic_latest) {
                bool latest = false;
                const char *lr = ksiss_json_str(in->service, "status", "latestReadyRevisionName", NULL);
                if (!traffic_owned(in->service, NULL, &latest) || !latest) {
                    if (lr && !streq(lr, s->from_rev) &&
                        ksiss_tr_revision_ready(ksiss_tr_find_revision(in->revisions, lr))) {
                        to_latest = true;
                    } else if (in->now_ms - s->phase_at_ms <= in->ready_timeout_ms) {
                        set_summary(p, "waiting for Knative to report %s as the latest Ready revision before the "
                                    "traffic follows the latest revision again (latest Ready: %s)", s->to_rev,
                                    lr ? lr : "none");
                        return 0;
                    } else {
                        plan_event(p, true, "TrafficLeftPinned",
                                   ksiss_xasprintf("%s: Knative did not report %s as the latest Ready revision "
                                                   "within %" PRId64 "s; its traffic stays pinned to it by name "
                                                   "(set spec.traffic to latestRevision: true to follow new "
                                                   "revisions again)", c->svc, s->to_rev,
                                                   in->ready_timeout_ms / 1000));
                    }
                }
            }
            json_t *patch = plan_patch(p, in->service);
            if (to_latest)
                patch_traffic_latest(patch);
            patch_state(patch, NULL);
            plan_event(p, false, "TierChanged",
                       ksiss_xasprintf("%s now runs on %s (revision %s, %d instance%s), was %s: %s", c->svc,
                                       s->to_tier, s->to_rev, s->replicas, s->replicas == 1 ? "" : "s",
                                       s->from_tier ? s->from_tier : s->from_rev, s->reason ? s->reason : ""));
            set_summary(p, "tier change to %s complete", s->to_tier);
            p->phase = KSISS_TR_IDLE;
            p->in_flight = false;
            return 0;
        }
    case KSISS_TR_ROLLBACK:
        if (to) {
            bool referenced = ksiss_tr_status_percent(in->service, s->to_rev) > 0;
            const json_t *tr = ksiss_json_path(in->service, "spec", "traffic", NULL);
            size_t i;
            json_t *e;
            json_array_foreach(tr, i, e)
                if (streq(ksiss_json_str(e, "revisionName", NULL, NULL), s->to_rev))
                    referenced = true;
            if (!from_ready || referenced) {
                set_summary(p, "rollback: waiting until %s is Ready and %s serves nothing", s->from_rev, s->to_rev);
                return 0;
            }
            plan_delete(p, s->to_rev);
            set_summary(p, "rollback: delete the failed revision %s", s->to_rev);
            return 0;
        }
        {
            json_t *patch = plan_patch(p, in->service);
            patch_state(patch, NULL);
            if (s->traffic_latest) {
                /* Pinned is the safe choice otherwise: Knative may still
                 * name the failed (deleted) revision as the latest Ready. */
                const char *lr = ksiss_json_str(in->service, "status", "latestReadyRevisionName", NULL);
                if (streq(lr, s->from_rev))
                    patch_traffic_latest(patch);
                else
                    plan_event(p, true, "TrafficLeftPinned",
                               ksiss_xasprintf("%s: rolled back to %s, but Knative reports %s as the latest Ready "
                                               "revision; its traffic stays pinned to %s by name (set spec.traffic "
                                               "to latestRevision: true to follow new revisions again)", c->svc,
                                               s->from_rev, lr ? lr : "no revision", s->from_rev));
            }
            int64_t until = ksiss_tr_backoff_until(in->service, s->to_tier);
            plan_event(p, true, "TierChangeRolledBack",
                       ksiss_xasprintf("rolled back %s from %s to %s (revision %s deleted): %s; %s not tried again "
                                       "for %" PRId64 "s", c->svc, s->to_tier,
                                       s->from_tier ? s->from_tier : s->from_rev, s->to_rev,
                                       s->reason ? s->reason : "the new revision failed", s->to_tier,
                                       until > in->now_ms ? (until - in->now_ms + 999) / 1000 : 0));
            set_summary(p, "rollback to %s complete", s->from_rev);
            p->phase = KSISS_TR_IDLE;
            p->in_flight = false;
            return 0;
        }
    case KSISS_TR_IDLE:
        break;
    }
    return 0;
}

int ksiss_transition_step(const ksiss_tr_input *in, ksiss_tr_plan *out, char **err)
{
    memset(out, 0, sizeof(*out));
    const char *svc = ksiss_json_str(in->service, "metadata", "name", NULL);
    if (!svc || !ksiss_json_str(in->service, "metadata", "resourceVersion", NULL)) {
        *err = ksiss_xstrdup("the Knative Service has no metadata.name or metadata.resourceVersion");
        return -1;
    }
    if (in->revisions && !json_is_array(in->revisions)) {
        *err = ksiss_xstrdup("the revision list is not an array");
        return -1;
    }
    ctx c = {.in = in, .svc = svc, .p = out};
    const char *text = ksiss_tr_annotation(in->service, KSISS_ANN_TRANSITION);
    int rc;
    if (!text) {
        rc = step_idle(&c, err);
    } else {
        ksiss_tr_state s;
        char *perr = NULL;
        if (ksiss_tr_state_parse(text, &s, &perr) != 0) {
            *err = ksiss_xasprintf("service %s: %s (fix or remove the annotation)", svc, perr);
            free(perr);
            return -1;
        }
        rc = step_in_flight(&c, &s);
        ksiss_tr_state_clear(&s);
    }
    if (rc != 0)
        ksiss_tr_plan_free(out);
    return rc;
}
