/* test_transition.c: the pure Knative transition step (src/core/transition.c)
 * driven tick by tick against a small in-memory stand-in for the Knative
 * controller (it creates the BYO-named Revision of the template, makes it
 * Ready on a schedule, resolves traffic), starting from fixtures written like
 * real Knative objects (tests/data/knative/). Every applied action is
 * checked against the invariants: traffic only to Ready revisions, never
 * zero Ready revisions serving, the last Ready revision never deleted.
 * A crash is simulated at every tick after every prefix of the plan: the
 * transition must still complete or roll back the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/transition.h"
#include "core/util.h"
#include "support/test_support.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define TICK_MS 10000
#define MAX_TICKS 80

static ksiss_catalog cat;

static int setup(void **state)
{
    (void)state;
    return ksiss_catalog_builtin(&cat);
}

static int teardown(void **state)
{
    (void)state;
    ksiss_catalog_free(&cat);
    return 0;
}

/* ------------------------------------------------- the Knative stand-in --- */

typedef struct {
    json_t *svc;
    json_t *revs;
    int ready_after;        /* ticks after creation a new revision becomes Ready; -1 never */
    bool fails;             /* instead of staying Unknown, a new revision reports Ready=False */
    int unready_after;      /* ticks after it became Ready that it stops being Ready; -1 never */
    bool unready_unknown;   /* ... with Ready=Unknown (Knative deciding), not False */
    int unready_ticks;      /* ... for this many ticks, then Ready again; 0 for good */
    int violations;
    char *violation;
    int warnings;
    int failed_events;      /* TierChangeFailed: the rollback starts */
    int rolled_back_events; /* TierChangeRolledBack: the rollback is complete */
    int events;
    char *last_event_reason;
    int max_instances;      /* most scale-bound instances summed over revisions */
    int conflicts;
    int status_lag;         /* ticks the Service's status takes to report a Ready revision as the latest Ready
                               one (Knative: a moment after the Revision); -1 never */
    char *lag_rev;          /* the created revision being counted */
    int lag_ticks;
} world;

static void violate(world *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    w->violations++;
    if (!w->violation)
        w->violation = m;
    else
        free(m);
}

static const char *sget(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

static json_t *rev_by_name(world *w, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(w->revs, i, r)
        if (name && !strcmp(sget(r, "metadata", "name"), name))
            return r;
    return NULL;
}

static void set_ready(json_t *rev, const char *status)
{
    json_t *conds = json_array();
    json_t *c = json_object();
    json_object_set_new(c, "type", json_string("Ready"));
    json_object_set_new(c, "status", json_string(status));
    if (!strcmp(status, "False"))
        json_object_set_new(c, "message", json_string("0/3 nodes are available: 3 Insufficient nvidia.com/mig-2g.20gb"));
    json_array_append_new(conds, c);
    json_object_set_new(json_object_get(rev, "status"), "conditions", conds);
}

/* Scale bounds of a revision: its PodAutoscaler's (x-pa-scale, what the
 * plan's SCALE actions set) when set, else the Revision's own annotation
 * (from its template, copied to the PA at creation). */
static int bounds_of(const json_t *rev)
{
    const json_t *pa = json_object_get(rev, "x-pa-scale");
    if (json_is_integer(pa))
        return (int)json_integer_value(pa);
    const char *m = sget(json_object_get(rev, "metadata"), "annotations", KSISS_ANN_MIN_SCALE);
    int64_t n = 1;
    if (m && ksiss_parse_int64(m, &n) != 0)
        fail_msg("bad %s: %s", KSISS_ANN_MIN_SCALE, m);
    return (int)n;
}

/* Knative's controllers, reduced to what the transition relies on. */
static void knative_reconcile(world *w)
{
    json_t *tmpl = json_object_get(json_object_get(w->svc, "spec"), "template");
    const char *name = sget(json_object_get(tmpl, "metadata"), "name", NULL);
    json_t *status = json_object_get(w->svc, "status");
    if (name) {
        json_t *r = rev_by_name(w, name);
        if (!r) {
            r = json_pack("{s:{s:s,s:s,s:{s:s},s:O},s:O,s:{s:i},s:i}", "metadata", "name", name, "namespace",
                          "default", "labels", KSISS_LABEL_SERVICE, "llama3-8b", "annotations",
                          json_object_get(json_object_get(tmpl, "metadata"), "annotations"), "spec",
                          json_object_get(tmpl, "spec"), "status", "actualReplicas", 0, "x-age", 0);
            set_ready(r, "Unknown");
            json_array_append_new(w->revs, r);
        } else if (!json_equal(json_object_get(r, "spec"), json_object_get(tmpl, "spec"))) {
            violate(w, "template name %s reused with another spec: Knative would refuse (RevisionNameTaken)", name);
        }
        json_object_set_new(status, "latestCreatedRevisionName", json_string(name));
    }
    /* Age and readiness of revisions other than the first. */
    size_t i;
    json_t *r;
    json_array_foreach(w->revs, i, r) {
        if (!strcmp(sget(r, "metadata", "name"), "llama3-8b-00001"))
            continue;
        json_int_t age = json_integer_value(json_object_get(r, "x-age"));
        json_object_set_new(r, "x-age", json_integer(age + 1));
        if (w->ready_after >= 0 && age >= w->ready_after) {
            int from = w->ready_after + w->unready_after;
            bool unready = w->unready_after >= 0 && age >= from && (w->unready_ticks <= 0 || age < from + w->unready_ticks);
            set_ready(r, !unready ? "True" : w->unready_unknown ? "Unknown" : "False");
        } else if (w->fails && age >= 1) {
            set_ready(r, "False");
        }
    }
    json_array_foreach(w->revs, i, r) {
        bool ready = ksiss_tr_revision_ready(r);
        /* The KPA: desired = the bounds, running = desired once Ready. */
        json_object_set_new(json_object_get(r, "status"), "desiredReplicas", json_integer(bounds_of(r)));
        json_object_set_new(json_object_get(r, "status"), "actualReplicas", json_integer(ready ? bounds_of(r) : 0));
    }
    const char *created = sget(status, "latestCreatedRevisionName", NULL);
    if (created && ksiss_tr_revision_ready(rev_by_name(w, created))) {
        if (!w->lag_rev || strcmp(w->lag_rev, created)) {
            free(w->lag_rev);
            w->lag_rev = ksiss_xstrdup(created);
            w->lag_ticks = 0;
        }
        if (w->status_lag >= 0 && w->lag_ticks++ >= w->status_lag)
            json_object_set_new(status, "latestReadyRevisionName", json_string(created));
    }
    /* Route: status.traffic mirrors spec.traffic. */
    const char *latest = sget(status, "latestReadyRevisionName", NULL);
    json_t *st = json_array();
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(w->svc, "spec"), "traffic"), i, e) {
        const char *rn = sget(e, "revisionName", NULL);
        json_array_append_new(st, json_pack("{s:s,s:O}", "revisionName", rn ? rn : latest, "percent",
                                            json_object_get(e, "percent")));
    }
    json_object_set_new(status, "traffic", st);
    json_object_set(status, "observedGeneration", json_object_get(json_object_get(w->svc, "metadata"), "generation"));
    int total = 0;
    json_array_foreach(w->revs, i, r)
        total += bounds_of(r);
    if (total > w->max_instances)
        w->max_instances = total;
}

/* RFC 7386 JSON merge patch of `patch` into the object `target`. */
static void merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *child = json_object_get(target, k);
            if (!json_is_object(child)) {
                child = json_object();
                json_object_set_new(target, k, child);
            }
            merge_patch(child, v);
        } else {
            json_object_set_new(target, k, json_deep_copy(v));
        }
    }
}

static int ready_serving(world *w, const char *except)
{
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(w->svc, "status"), "traffic"), i, e) {
        const char *rn = sget(e, "revisionName", NULL);
        if (json_integer_value(json_object_get(e, "percent")) > 0 && (!except || strcmp(rn, except) != 0) &&
            ksiss_tr_revision_ready(rev_by_name(w, rn)))
            n++;
    }
    return n;
}

/* Applies the first `limit` actions of the plan (a crash after them). */
static void apply(world *w, const ksiss_tr_plan *p, size_t limit)
{
    for (size_t i = 0; i < p->n && i < limit; i++) {
        const ksiss_tr_action *a = &p->v[i];
        switch (a->kind) {
        case KSISS_TRA_PATCH_SERVICE: {
            json_t *meta = json_object_get(w->svc, "metadata");
            json_t *patch = json_deep_copy(a->patch);
            const char *want = sget(patch, "metadata", "resourceVersion");
            if (!want || strcmp(want, sget(meta, "resourceVersion", NULL)) != 0) {
                w->conflicts++;
                json_decref(patch);
                return;
            }
            json_object_del(json_object_get(patch, "metadata"), "resourceVersion");
            json_t *traffic = json_object_get(json_object_get(patch, "spec"), "traffic");
            size_t j;
            json_t *e;
            json_array_foreach(traffic, j, e) {
                if (json_integer_value(json_object_get(e, "percent")) <= 0)
                    continue;
                const char *rn = sget(e, "revisionName", NULL);
                if (!rn)
                    rn = sget(json_object_get(w->svc, "status"), "latestReadyRevisionName", NULL);
                if (!ksiss_tr_revision_ready(rev_by_name(w, rn)))
                    violate(w, "traffic routed to %s which is not Ready", rn);
            }
            bool spec = json_object_get(patch, "spec") != NULL;
            merge_patch(w->svc, patch);
            json_decref(patch);
            int64_t rv = 0;
            assert_int_equal(ksiss_parse_int64(sget(meta, "resourceVersion", NULL), &rv), 0);
            char *next_rv = ksiss_xasprintf("%lld", (long long)rv + 1);
            json_object_set_new(meta, "resourceVersion", json_string(next_rv));
            free(next_rv);
            if (spec)
                json_object_set_new(meta, "generation",
                                    json_integer(json_integer_value(json_object_get(meta, "generation")) + 1));
            break;
        }
        case KSISS_TRA_SCALE_REVISION: {
            json_t *r = rev_by_name(w, a->revision);
            if (!r)
                return;
            /* On the PodAutoscaler only: the Revision's annotations (and so
             * its pods) must stay as they are. */
            json_object_set_new(r, "x-pa-scale", json_integer(a->scale));
            if (a->scale < 1)
                violate(w, "revision %s scaled to %d", a->revision, a->scale);
            break;
        }
        case KSISS_TRA_DELETE_REVISION: {
            json_t *r = rev_by_name(w, a->revision);
            if (!r)
                return;
            int ready_others = 0;
            size_t j;
            json_t *o;
            json_array_foreach(w->revs, j, o)
                if (o != r && ksiss_tr_revision_ready(o))
                    ready_others++;
            if (ksiss_tr_revision_ready(r) && ready_others == 0)
                violate(w, "deleted %s, the last Ready revision", a->revision);
            if (ksiss_tr_status_percent(w->svc, a->revision) > 0)
                violate(w, "deleted %s while it serves traffic", a->revision);
            json_array_foreach(w->revs, j, o)
                if (o == r) {
                    json_array_remove(w->revs, j);
                    break;
                }
            break;
        }
        case KSISS_TRA_EVENT:
            w->events++;
            if (a->warning)
                w->warnings++;
            w->failed_events += !strcmp(a->event_reason, "TierChangeFailed");
            w->rolled_back_events += !strcmp(a->event_reason, "TierChangeRolledBack");
            free(w->last_event_reason);
            w->last_event_reason = ksiss_xstrdup(a->event_reason);
            break;
        }
    }
}

static void world_init(world *w, int ready_after, bool fails, int unready_after)
{
    memset(w, 0, sizeof(*w));
    w->svc = test_load_json("tests/data/knative", "service.json");
    w->revs = test_load_json("tests/data/knative", "revisions.json");
    w->ready_after = ready_after;
    w->fails = fails;
    w->unready_after = unready_after;
}

static void world_free(world *w)
{
    json_decref(w->svc);
    json_decref(w->revs);
    free(w->violation);
    free(w->last_event_reason);
    free(w->lag_rev);
}

static const int steps_10_50_100[] = {10, 50, 100};

static ksiss_tr_input input_for(world *w, const char *tier, int replicas, int64_t now)
{
    ksiss_tr_input in = {
        .service = w->svc,
        .revisions = w->revs,
        .cat = &cat,
        .target_tier = tier ? ksiss_catalog_tier(&cat, NULL, tier) : NULL,
        .target_replicas = replicas,
        .reason = "p95 time per token 0.9s > 1.5 x SLO 0.5s",
        .free_target_units = 4,
        .traffic_steps = steps_10_50_100,
        .n_traffic_steps = N_(steps_10_50_100),
        .ready_timeout_ms = 60000,
        .backoff_ms = 600000,
        .default_cpu = "1",
        .default_memory = "10Gi",
        .now_ms = now,
    };
    return in;
}

typedef enum { OUT_COMPLETED, OUT_ROLLED_BACK } outcome;

/* Runs ticks until no transition is in flight (after it started). With
 * crash_tick >= 0, only `crash_prefix` actions of that tick's plan are
 * applied. Returns the number of ticks. */
static int run(world *w, const char *tier, int replicas, int crash_tick, size_t crash_prefix)
{
    int64_t now = 1700000000000LL;
    bool started = false;
    for (int t = 0; t < MAX_TICKS; t++, now += TICK_MS) {
        knative_reconcile(w);
        ksiss_tr_input in = input_for(w, tier, replicas, now);
        ksiss_tr_plan p;
        char *err = NULL;
        if (ksiss_transition_step(&in, &p, &err) != 0)
            fail_msg("tick %d: %s", t, err);
        apply(w, &p, t == crash_tick ? crash_prefix : p.n);
        bool in_flight = ksiss_tr_annotation(w->svc, KSISS_ANN_TRANSITION) != NULL;
        started = started || in_flight;
        ksiss_tr_plan_free(&p);
        if (started && !in_flight) {
            knative_reconcile(w);
            if (ready_serving(w, NULL) < 1)
                violate(w, "no Ready revision serving at the end");
            return t;
        }
        if (ready_serving(w, NULL) < 1 && w->unready_after < 0)
            violate(w, "tick %d: no Ready revision serving", t);
    }
    fail_msg("transition still in flight after %d ticks", MAX_TICKS);
    return -1;
}

static const char *template_gpu(world *w)
{
    const json_t *spec = json_object_get(json_object_get(json_object_get(w->svc, "spec"), "template"), "spec");
    char *err = NULL;
    json_t *c = ksiss_tr_gpu_container(spec, &err);
    free(err);
    const char *res = NULL;
    long long n;
    if (c && ksiss_tr_container_gpu(c, &res, &n, &err) != 0)
        free(err);
    return res;
}

/* An Event is best effort (a crash between the state patch and the Event
 * loses it); the backoff annotation is the durable record. A rollback is
 * told twice, when it starts and when it completes, in two steps: one crash
 * (`crashed`) loses at most one of them. */
static void assert_outcome_events(world *w, outcome o, bool crashed)
{
    if (w->violations)
        fail_msg("%d invariant violation(s), first: %s", w->violations, w->violation);
    assert_null(ksiss_tr_annotation(w->svc, KSISS_ANN_TRANSITION));
    assert_int_equal(json_array_size(w->revs), 1);
    const char *only = sget(json_array_get(w->revs, 0), "metadata", "name");
    if (o == OUT_COMPLETED) {
        assert_string_not_equal(only, "llama3-8b-00001");
        assert_string_equal(template_gpu(w), "nvidia.com/mig-2g.20gb");
        assert_int_equal(ksiss_tr_status_percent(w->svc, only), 100);
        assert_int_equal(w->warnings, 0);
        /* The user had latestRevision: true (tests/data/knative/service.json). */
        const json_t *tr = json_object_get(json_object_get(w->svc, "spec"), "traffic");
        assert_int_equal(json_array_size(tr), 1);
        assert_true(json_is_true(json_object_get(json_array_get(tr, 0), "latestRevision")));
        assert_null(json_object_get(json_array_get(tr, 0), "revisionName"));
    } else {
        assert_string_equal(only, "llama3-8b-00001");
        assert_string_equal(template_gpu(w), "nvidia.com/mig-1g.10gb");
        assert_int_equal(ksiss_tr_status_percent(w->svc, only), 100);
        assert_true(ksiss_tr_backoff_until(w->svc, "mig-2g.20gb") > 0);
        if (crashed) {
            assert_true(w->failed_events + w->rolled_back_events >= 1);
        } else {
            assert_int_equal(w->failed_events, 1);
            assert_int_equal(w->rolled_back_events, 1);
        }
    }
}

static void assert_outcome(world *w, outcome o)
{
    assert_outcome_events(w, o, false);
}

/* Starts from `replicas` instances of the old tier. */
static void set_old_replicas(world *w, int replicas)
{
    if (replicas <= 1)
        return;
    json_t *ann = json_object_get(json_object_get(json_array_get(w->revs, 0), "metadata"), "annotations");
    char *v = ksiss_xasprintf("%d", replicas);
    json_object_set_new(ann, KSISS_ANN_MIN_SCALE, json_string(v));
    json_object_set_new(ann, KSISS_ANN_MAX_SCALE, json_string(v));
    free(v);
    json_object_set_new(json_object_get(json_array_get(w->revs, 0), "status"), "desiredReplicas",
                        json_integer(replicas));
}

/* ------------------------------------------------------------ scenarios --- */

typedef struct {
    const char *name;
    int ready_after;
    bool fails;
    int unready_after;
    int replicas;
    outcome expect;
    bool unready_unknown;
    int unready_ticks;
} scenario;

static void world_for(world *w, const scenario *s)
{
    world_init(w, s->ready_after, s->fails, s->unready_after);
    w->unready_unknown = s->unready_unknown;
    w->unready_ticks = s->unready_ticks;
    set_old_replicas(w, s->replicas);
}

static const scenario scenarios[] = {
    {"new revision Ready after two ticks: traffic 10 -> 50 -> 100, old deleted", 2, false, -1, 1, OUT_COMPLETED, false, 0},
    {"new revision Ready at once", 0, false, -1, 1, OUT_COMPLETED, false, 0},
    {"new revision never Ready: rolled back after the deadline", -1, false, -1, 1, OUT_ROLLED_BACK, false, 0},
    {"new revision fails (Ready=False): rolled back once that has lasted the grace", -1, true, -1, 1, OUT_ROLLED_BACK, false, 0},
    {"new revision Ready=False for a tick (a retried bind), then Ready: no rollback", 2, true, -1, 1, OUT_COMPLETED, false, 0},
    {"new revision stops being Ready while traffic moves: rolled back", 1, false, 1, 1, OUT_ROLLED_BACK, false, 0},
    {"new revision Ready=Unknown for a tick while traffic moves (Knative's autoscaler restarting): no rollback",
     1, false, 1, 1, OUT_COMPLETED, true, 1},
    {"new revision Ready=Unknown for a tick at the last step: no rollback", 1, false, 3, 1, OUT_COMPLETED, true, 1},
    {"new revision Ready=Unknown and stays so while traffic moves: rolled back after the grace",
     1, false, 1, 1, OUT_ROLLED_BACK, true, 0},
    {"three instances: rolling, one instance at a time", 1, false, -1, 3, OUT_COMPLETED, false, 0},
    {"three instances, new revision never Ready: rolled back", -1, false, -1, 3, OUT_ROLLED_BACK, false, 0},
};

static void test_scenarios_reach_their_outcome_keeping_invariants(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(scenarios); i++) {
        const scenario *s = &scenarios[i];
        print_message("scenario: %s\n", s->name);
        world w;
        world_for(&w, s);
        run(&w, "mig-2g.20gb", s->replicas, -1, 0);
        assert_outcome(&w, s->expect);
        world_free(&w);
    }
}

/* Knative reports the new revision as the latest Ready one only a few
 * ticks after it is Ready: the last traffic step pins it by name, and the
 * cleanup gives the traffic back to latestRevision once the status has
 * caught up; if it never does, the change completes after the deadline,
 * pinned, with a Warning Event. */
static void test_traffic_follows_the_latest_revision_again_when_the_status_lags(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    w.status_lag = 4;
    run(&w, "mig-2g.20gb", 1, -1, 0);
    assert_outcome(&w, OUT_COMPLETED);
    world_free(&w);

    world_init(&w, 1, false, -1);
    w.status_lag = -1;
    run(&w, "mig-2g.20gb", 1, -1, 0);
    if (w.violations)
        fail_msg("%d invariant violation(s), first: %s", w.violations, w.violation);
    assert_int_equal(json_array_size(w.revs), 1);
    const char *only = sget(json_array_get(w.revs, 0), "metadata", "name");
    assert_string_not_equal(only, "llama3-8b-00001");
    const json_t *tr = json_object_get(json_object_get(w.svc, "spec"), "traffic");
    assert_int_equal(json_array_size(tr), 1);
    assert_string_equal(sget(json_array_get(tr, 0), "revisionName", NULL), only);
    assert_int_equal(w.warnings, 1);
    assert_string_equal(w.last_event_reason, "TierChanged");
    world_free(&w);
}

/* A rollback's last step gives the traffic back to latestRevision: true
 * when Knative names the old revision as the latest Ready one; when it
 * still names the failed (deleted) one, the traffic stays pinned to the old
 * revision, with a Warning Event. */
static void test_rollback_gives_back_latest_only_when_it_names_the_old_revision(void **state)
{
    (void)state;
    static const char *const latest_ready[] = {"llama3-8b-00001", "llama3-8b-ks1"};
    for (size_t i = 0; i < N_(latest_ready); i++) {
        json_t *svc = test_load_json("tests/data/knative", "service-shift.json");
        json_t *revs = test_load_json("tests/data/knative", "revisions.json");
        json_t *ann = json_object_get(json_object_get(svc, "metadata"), "annotations");
        json_object_set_new(ann, KSISS_ANN_TRANSITION,
                            json_string("{\"from\":\"llama3-8b-00001\",\"fromReplicas\":1,\"fromTier\":\"mig-1g.10gb\","
                                        "\"phase\":\"rollback\",\"phaseAt\":1700000000000,\"reason\":\"x\",\"replicas\":1,"
                                        "\"startedAt\":1700000000000,\"step\":1,\"to\":\"llama3-8b-ks1\","
                                        "\"toTier\":\"mig-2g.20gb\",\"trafficLatest\":true}"));
        json_object_set_new(json_object_get(svc, "spec"), "traffic",
                            json_pack("[{s:s,s:i}]", "revisionName", "llama3-8b-00001", "percent", 100));
        json_object_set_new(json_object_get(svc, "status"), "latestReadyRevisionName", json_string(latest_ready[i]));
        assert_true(ksiss_tr_revision_ready(ksiss_tr_find_revision(revs, "llama3-8b-00001")));
        assert_null(ksiss_tr_find_revision(revs, "llama3-8b-ks1"));
        ksiss_tr_input in = {
            .service = svc, .revisions = revs, .cat = &cat, .traffic_steps = steps_10_50_100,
            .n_traffic_steps = N_(steps_10_50_100), .ready_timeout_ms = 300000, .backoff_ms = 600000,
            .now_ms = 1700000060000LL,
        };
        ksiss_tr_plan p;
        char *err = NULL;
        if (ksiss_transition_step(&in, &p, &err) != 0)
            fail_msg("%s", err);
        assert_int_equal(p.phase, KSISS_TR_IDLE);
        const json_t *traffic = NULL;
        int pinned = 0;
        for (size_t j = 0; j < p.n; j++) {
            if (p.v[j].kind == KSISS_TRA_PATCH_SERVICE)
                traffic = json_object_get(json_object_get(p.v[j].patch, "spec"), "traffic");
            if (p.v[j].kind == KSISS_TRA_EVENT && !strcmp(p.v[j].event_reason, "TrafficLeftPinned")) {
                assert_true(p.v[j].warning);
                pinned++;
            }
        }
        if (i == 0) {
            assert_non_null(traffic);
            assert_true(json_is_true(json_object_get(json_array_get(traffic, 0), "latestRevision")));
            assert_int_equal(pinned, 0);
        } else {
            assert_null(traffic);   /* left as it is: pinned to the old revision */
            assert_int_equal(pinned, 1);
        }
        ksiss_tr_plan_free(&p);
        json_decref(svc);
        json_decref(revs);
    }
}

static void test_crash_at_every_step_still_completes_or_rolls_back(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(scenarios); i++) {
        const scenario *s = &scenarios[i];
        world ref;
        world_for(&ref, s);
        int ticks = run(&ref, "mig-2g.20gb", s->replicas, -1, 0);
        world_free(&ref);
        for (int t = 0; t <= ticks; t++) {
            for (size_t prefix = 0; prefix < 4; prefix++) {
                world w;
                world_for(&w, s);
                run(&w, "mig-2g.20gb", s->replicas, t, prefix);
                assert_outcome_events(&w, s->expect, true);
                world_free(&w);
            }
        }
    }
}

static void test_rolling_change_uses_at_most_one_extra_instance(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    json_t *ann = json_object_get(json_object_get(json_array_get(w.revs, 0), "metadata"), "annotations");
    json_object_set_new(ann, KSISS_ANN_MIN_SCALE, json_string("4"));
    json_object_set_new(ann, KSISS_ANN_MAX_SCALE, json_string("4"));
    run(&w, "mig-2g.20gb", 4, -1, 0);
    assert_outcome(&w, OUT_COMPLETED);
    assert_int_equal(w.max_instances, 5);
    assert_int_equal(bounds_of(json_array_get(w.revs, 0)), 4);
    world_free(&w);
}

/* One step from the fixture, no Knative reaction: the plan of the first tick. */
static int first_plan(world *w, const char *tier, int replicas, long long free_units, ksiss_tr_plan *p, char **err)
{
    ksiss_tr_input in = input_for(w, tier, replicas, 1700000000000LL);
    in.free_target_units = free_units;
    return ksiss_transition_step(&in, p, err);
}

static const json_t *patched_container(const ksiss_tr_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].kind != KSISS_TRA_PATCH_SERVICE)
            continue;
        const json_t *cs = json_object_get(json_object_get(json_object_get(json_object_get(p->v[i].patch, "spec"),
                                                                           "template"), "spec"), "containers");
        size_t j;
        json_t *c;
        json_array_foreach(cs, j, c)
            if (!strcmp(sget(c, "name", NULL), name))
                return c;
    }
    return NULL;
}

static void test_new_tier_goes_on_the_gpu_container_keeping_other_resources(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-3g.40gb", 1, 4, &p, &err), 0);
    const json_t *vllm = patched_container(&p, "vllm");
    assert_non_null(vllm);
    json_t *want = json_loads("{\"requests\": {\"cpu\": \"4\", \"memory\": \"32Gi\", \"nvidia.com/mig-3g.40gb\": \"1\","
                              " \"ephemeral-storage\": \"20Gi\"},"
                              " \"limits\": {\"cpu\": \"8\", \"memory\": \"32Gi\", \"nvidia.com/mig-3g.40gb\": \"1\"}}",
                              0, NULL);
    assert_true(json_equal(json_object_get(vllm, "resources"), want));
    json_decref(want);
    /* Everything else of the container and the sidecar is untouched. */
    const json_t *orig = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(w.svc, "spec"),
                                                                        "template"), "spec"), "containers"), 1);
    assert_true(json_equal(json_object_get(vllm, "env"), json_object_get(orig, "env")));
    assert_true(json_equal(json_object_get(vllm, "volumeMounts"), json_object_get(orig, "volumeMounts")));
    assert_true(json_equal(patched_container(&p, "log-shipper"),
                           json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(w.svc, "spec"),
                                                          "template"), "spec"), "containers"), 0)));
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

static void test_default_cpu_and_memory_only_when_the_container_has_none(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    json_t *res = json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(
                                  w.svc, "spec"), "template"), "spec"), "containers"), 1), "resources");
    json_object_del(json_object_get(res, "requests"), "cpu");
    json_object_del(json_object_get(res, "limits"), "cpu");
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err), 0);
    const json_t *r = json_object_get(patched_container(&p, "vllm"), "resources");
    assert_string_equal(sget(r, "requests", "cpu"), "1");
    assert_string_equal(sget(r, "limits", "cpu"), "1");
    assert_string_equal(sget(r, "limits", "memory"), "32Gi");
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

static void test_two_gpu_containers_are_refused(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    json_t *side = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(w.svc, "spec"),
                                  "template"), "spec"), "containers"), 0);
    json_object_set_new(json_object_get(json_object_get(side, "resources"), "requests"), "nvidia.com/gpu",
                        json_string("1"));
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err), -1);
    assert_non_null(strstr(err, "both request a GPU"));
    free(err);
    world_free(&w);
}

static void test_start_pins_traffic_on_the_serving_revision(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err), 0);
    assert_int_equal(p.phase, KSISS_TR_WAIT_READY);
    assert_true(p.in_flight);
    const json_t *patch = p.v[0].patch;
    assert_string_equal(sget(patch, "metadata", "resourceVersion"), "1000");
    json_t *want = json_loads("[{\"revisionName\": \"llama3-8b-00001\", \"latestRevision\": false, \"percent\": 100}]",
                              0, NULL);
    assert_true(json_equal(json_object_get(json_object_get(patch, "spec"), "traffic"), want));
    json_decref(want);
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

typedef struct {
    const char *name;
    const char *tier;
    long long free_units;
    const char *backoff;        /* ksiss.dev/backoff value, or NULL */
    const char *summary_has;
} hold_case;

static void test_holds_without_action(void **state)
{
    (void)state;
    static const hold_case cases[] = {
        {"no free slice of the wanted tier", "mig-2g.20gb", 0, NULL, "no free"},
        {"tier in backoff after a rollback", "mig-2g.20gb", 4, "{\"mig-2g.20gb\": 1700000300000}", "backoff"},
        {"same tier and instance count", "mig-1g.10gb", 4, NULL, "nothing to do"},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        world w;
        world_init(&w, 1, false, -1);
        if (cases[i].backoff)
            json_object_set_new(json_object_get(json_object_get(w.svc, "metadata"), "annotations"), KSISS_ANN_BACKOFF,
                                json_string(cases[i].backoff));
        ksiss_tr_plan p;
        char *err = NULL;
        assert_int_equal(first_plan(&w, cases[i].tier, 1, cases[i].free_units, &p, &err), 0);
        if (p.n != 0 || !strstr(p.summary, cases[i].summary_has))
            fail_msg("%s: %zu actions, summary \"%s\"", cases[i].name, p.n, p.summary);
        ksiss_tr_plan_free(&p);
        world_free(&w);
    }
}

static void test_expired_backoff_allows_the_tier_again(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    json_object_set_new(json_object_get(json_object_get(w.svc, "metadata"), "annotations"), KSISS_ANN_BACKOFF,
                        json_string("{\"mig-2g.20gb\": 1699999999000}"));
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err), 0);
    assert_int_equal(p.phase, KSISS_TR_WAIT_READY);
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

static void test_unsettled_service_waits(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    json_object_set_new(json_object_get(w.svc, "status"), "latestCreatedRevisionName", json_string("llama3-8b-00002"));
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err), 0);
    assert_int_equal(p.n, 0);
    assert_non_null(strstr(p.summary, "not settled"));
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

static void test_user_traffic_split_is_refused(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    json_object_set_new(json_object_get(w.svc, "spec"), "traffic",
                        json_loads("[{\"revisionName\": \"llama3-8b-00001\", \"percent\": 90},"
                                   " {\"latestRevision\": true, \"percent\": 10, \"tag\": \"canary\"}]", 0, NULL));
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err), -1);
    assert_non_null(strstr(err, "spec.traffic"));
    free(err);
    world_free(&w);
}

static void test_scale_out_sets_bounds_on_the_revision_without_a_new_one(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-1g.10gb", 3, 4, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.v[0].kind, KSISS_TRA_SCALE_REVISION);
    assert_string_equal(p.v[0].revision, "llama3-8b-00001");
    assert_int_equal(p.v[0].scale, 3);
    assert_int_equal(p.v[1].kind, KSISS_TRA_EVENT);
    assert_string_equal(p.v[1].event_reason, "SuccessfulRescale");
    assert_false(p.in_flight);
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

static void test_scale_in_after_out(void **state)
{
    (void)state;
    world w;
    world_init(&w, 1, false, -1);
    /* Scaled out to 3 earlier: the KPA reports 3 desired. */
    json_object_set_new(json_object_get(json_array_get(w.revs, 0), "status"), "desiredReplicas", json_integer(3));
    ksiss_tr_plan p;
    char *err = NULL;
    assert_int_equal(first_plan(&w, "mig-1g.10gb", 2, 4, &p, &err), 0);
    assert_int_equal(p.v[0].kind, KSISS_TRA_SCALE_REVISION);
    assert_int_equal(p.v[0].scale, 2);
    ksiss_tr_plan_free(&p);
    world_free(&w);
}

/* ------------------------------------------ state written in annotations --- */

typedef struct {
    const char *name;
    const char *fixture;        /* service with a transition annotation */
    int64_t now_ms;
    const char *new_ready;      /* Ready status of llama3-8b-ks1 in the revision list, or NULL: not created */
    ksiss_tr_phase phase_after;
    int warnings;
    const char *ready_since;    /* its Ready condition's lastTransitionTime, or NULL: none */
} resume_case;

static void test_restart_resumes_or_rolls_back_from_annotations(void **state)
{
    (void)state;
    static const resume_case cases[] = {
        {"waiting, new revision Ready: first traffic step", "service-wait-ready.json", 1700000020000LL, "True",
         KSISS_TR_SHIFT, 0, NULL},
        {"waiting, still within the deadline: keep waiting", "service-wait-ready.json", 1700000020000LL, "Unknown",
         KSISS_TR_WAIT_READY, 0, NULL},
        {"waiting, deadline passed while nobody ran: roll back", "service-wait-ready.json", 1700000900000LL, "Unknown",
         KSISS_TR_ROLLBACK, 1, NULL},
        {"waiting, revision never created and deadline passed: roll back", "service-wait-ready.json",
         1700000900000LL, NULL, KSISS_TR_ROLLBACK, 1, NULL},
        {"shifting at 50%, new Ready: 100%", "service-shift.json", 1700000050000LL, "True", KSISS_TR_CLEANUP, 0, NULL},
        {"shifting at 50%, new failed: roll back", "service-shift.json", 1700000050000LL, "False", KSISS_TR_ROLLBACK,
         1, NULL},
        /* The transition started at 1700000000000 (2023-11-14T22:13:20Z);
         * Ready=False is given up after KSISS_TR_FAIL_GRACE_MS (30 s). */
        {"waiting, Ready=False for 10 s: keep waiting", "service-wait-ready.json", 1700000060000LL, "False",
         KSISS_TR_WAIT_READY, 0, "2023-11-14T22:14:10Z"},
        {"waiting, Ready=False for 55 s: roll back", "service-wait-ready.json", 1700000060000LL, "False",
         KSISS_TR_ROLLBACK, 1, "2023-11-14T22:13:25Z"},
        {"waiting, Ready=False for 29.5 s (fractional time): keep waiting", "service-wait-ready.json", 1700000060000LL,
         "False", KSISS_TR_WAIT_READY, 0, "2023-11-14T22:13:50.500Z"},
        {"waiting, Ready=False without a time, 20 s after the start: keep waiting", "service-wait-ready.json",
         1700000020000LL, "False", KSISS_TR_WAIT_READY, 0, NULL},
        {"waiting, Ready=False without a time, 40 s after the start: roll back", "service-wait-ready.json",
         1700000040000LL, "False", KSISS_TR_ROLLBACK, 1, NULL},
        {"waiting, Ready=False since before the start (a clock behind): counted from the start", "service-wait-ready.json",
         1700000020000LL, "False", KSISS_TR_WAIT_READY, 0, "2023-11-14T20:00:00Z"},
        {"waiting, Ready=False since an unreadable time, 60 s after the start: roll back", "service-wait-ready.json",
         1700000060000LL, "False", KSISS_TR_ROLLBACK, 1, "yesterday"},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        const resume_case *c = &cases[i];
        json_t *svc = test_load_json("tests/data/knative", c->fixture);
        json_t *revs = test_load_json("tests/data/knative", "revisions.json");
        if (c->new_ready) {
            json_t *r = json_deep_copy(json_array_get(revs, 0));
            json_object_set_new(json_object_get(r, "metadata"), "name", json_string("llama3-8b-ks1"));
            set_ready(r, c->new_ready);
            if (c->ready_since)
                json_object_set_new(json_array_get(json_object_get(json_object_get(r, "status"), "conditions"), 0),
                                    "lastTransitionTime", json_string(c->ready_since));
            json_array_append_new(revs, r);
        }
        ksiss_tr_input in = {
            .service = svc, .revisions = revs, .cat = &cat, .traffic_steps = steps_10_50_100,
            .n_traffic_steps = N_(steps_10_50_100), .ready_timeout_ms = 300000, .backoff_ms = 600000,
            .now_ms = c->now_ms, .free_target_units = 0,
        };
        ksiss_tr_plan p;
        char *err = NULL;
        if (ksiss_transition_step(&in, &p, &err) != 0)
            fail_msg("%s: %s", c->name, err);
        int warnings = 0;
        for (size_t j = 0; j < p.n; j++)
            warnings += p.v[j].kind == KSISS_TRA_EVENT && p.v[j].warning;
        if (p.phase != c->phase_after || warnings != c->warnings)
            fail_msg("%s: phase %s, %d warnings (%s)", c->name, ksiss_tr_phase_name(p.phase), warnings, p.summary);
        ksiss_tr_plan_free(&p);
        json_decref(svc);
        json_decref(revs);
    }
}

static void test_corrupt_transition_annotation_is_an_error_not_an_action(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{not json",
        "[]",
        "{\"phase\": \"flying\", \"from\": \"a\", \"to\": \"b\", \"toTier\": \"gpu\"}",
        "{\"phase\": \"shift\", \"from\": \"a\", \"to\": \"b\", \"toTier\": \"gpu\", \"replicas\": -1,"
        " \"fromReplicas\": 1, \"step\": 0, \"startedAt\": 0, \"phaseAt\": 0}",
        "{\"phase\": \"shift\", \"to\": \"b\", \"toTier\": \"gpu\", \"replicas\": 1, \"fromReplicas\": 1,"
        " \"step\": 0, \"startedAt\": 0, \"phaseAt\": 0}",
    };
    for (size_t i = 0; i < N_(bad); i++) {
        world w;
        world_init(&w, 1, false, -1);
        json_object_set_new(json_object_get(json_object_get(w.svc, "metadata"), "annotations"), KSISS_ANN_TRANSITION,
                            json_string(bad[i]));
        ksiss_tr_plan p;
        char *err = NULL;
        if (first_plan(&w, "mig-2g.20gb", 1, 4, &p, &err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, KSISS_ANN_TRANSITION));
        free(err);
        world_free(&w);
    }
}

static void test_state_round_trips_through_the_annotation(void **state)
{
    (void)state;
    ksiss_tr_state s = {
        .phase = KSISS_TR_SHIFT, .from_rev = ksiss_xstrdup("a-00001"), .to_rev = ksiss_xstrdup("a-ksx"),
        .from_tier = ksiss_xstrdup("mig-1g.10gb"), .to_tier = ksiss_xstrdup("gpu"), .replicas = 2,
        .from_replicas = 3, .step = 1, .started_at_ms = 5, .phase_at_ms = 6, .traffic_latest = true,
        .reason = ksiss_xstrdup("slow \"quoted\""), .from_min_scale = ksiss_xstrdup("1"),
    };
    char *text = ksiss_tr_state_format(&s);
    ksiss_tr_state back;
    char *err = NULL;
    assert_int_equal(ksiss_tr_state_parse(text, &back, &err), 0);
    char *again = ksiss_tr_state_format(&back);
    assert_string_equal(text, again);
    assert_int_equal(back.from_replicas, 3);
    assert_null(back.from_max_scale);
    free(text);
    free(again);
    ksiss_tr_state_clear(&s);
    ksiss_tr_state_clear(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios_reach_their_outcome_keeping_invariants),
        cmocka_unit_test(test_traffic_follows_the_latest_revision_again_when_the_status_lags),
        cmocka_unit_test(test_rollback_gives_back_latest_only_when_it_names_the_old_revision),
        cmocka_unit_test(test_crash_at_every_step_still_completes_or_rolls_back),
        cmocka_unit_test(test_rolling_change_uses_at_most_one_extra_instance),
        cmocka_unit_test(test_new_tier_goes_on_the_gpu_container_keeping_other_resources),
        cmocka_unit_test(test_default_cpu_and_memory_only_when_the_container_has_none),
        cmocka_unit_test(test_two_gpu_containers_are_refused),
        cmocka_unit_test(test_start_pins_traffic_on_the_serving_revision),
        cmocka_unit_test(test_holds_without_action),
        cmocka_unit_test(test_expired_backoff_allows_the_tier_again),
        cmocka_unit_test(test_unsettled_service_waits),
        cmocka_unit_test(test_user_traffic_split_is_refused),
        cmocka_unit_test(test_scale_out_sets_bounds_on_the_revision_without_a_new_one),
        cmocka_unit_test(test_scale_in_after_out),
        cmocka_unit_test(test_restart_resumes_or_rolls_back_from_annotations),
        cmocka_unit_test(test_corrupt_transition_annotation_is_an_error_not_an_action),
        cmocka_unit_test(test_state_round_trips_through_the_annotation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
