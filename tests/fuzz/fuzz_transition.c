/* fuzz_transition.c: libFuzzer target for the transition logic's reading of
 * Knative objects (ksiss_transition_step and its helpers, the
 * ksiss.dev/transition annotation). The input is one JSON object:
 *   {"service": <Knative Service>, "revisions": [<Revision>...] or a List,
 *    "want": {"tier": "mig-3g.40gb", "replicas": 2, "free": 4, "now": <ms>}}
 * Checks the invariants transition.h promises for every plan (traffic only
 * to Ready Revisions, never the last Ready Revision deleted nor one that
 * serves, patches preconditioned on the Service's resourceVersion, every
 * recorded state readable again) and that the annotation round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/transition.h"
#include "fuzz_common.h"

static const int steps[] = {10, 50, 100};

static const json_t *items_of(const json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "items");
    return json_is_array(v) ? v : NULL;
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

/* Read independently of transition.c: does any status.traffic entry route
 * a non-zero percent (or anything but a plain 0) to `rev`? */
static bool status_routes_to(const json_t *service, const char *rev)
{
    const json_t *status = json_object_get(service, "status");
    const char *latest = str_at(status, "latestReadyRevisionName", NULL);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(status, "traffic"), i, e) {
        const char *name = str_at(e, "revisionName", NULL);
        if (!name && json_is_true(json_object_get(e, "latestRevision")))
            name = latest;
        const json_t *pct = json_object_get(e, "percent");
        if (name && !strcmp(name, rev) && json_is_integer(pct) && json_integer_value(pct) != 0)
            return true;
    }
    return false;
}

static bool ready_named(const json_t *revs, const char *name)
{
    return name && ksiss_tr_revision_ready(ksiss_tr_find_revision(revs, name));
}

/* parse(text) -> format -> parse -> format gives the same text twice. */
static void check_state_roundtrip(const char *text)
{
    ksiss_tr_state s;
    char *err = NULL;
    if (ksiss_tr_state_parse(text, &s, &err) != 0) {
        FUZZ_CHECK(err && err[0], "annotation refused without a message");
        free(err);
        return;
    }
    char *once = ksiss_tr_state_format(&s);
    ksiss_tr_state_clear(&s);
    FUZZ_CHECK(once != NULL, "a parsed state does not format");
    ksiss_tr_state again;
    FUZZ_CHECK(ksiss_tr_state_parse(once, &again, &err) == 0, "formatted state %s does not parse: %s", once,
               err ? err : "");
    char *twice = ksiss_tr_state_format(&again);
    FUZZ_CHECK(!strcmp(once, twice), "state does not round-trip: %s then %s", once, twice);
    ksiss_tr_state_clear(&again);
    free(once);
    free(twice);
}

static void check_patch(const json_t *service, const json_t *revs, const ksiss_tr_action *a)
{
    FUZZ_CHECK(json_is_object(a->patch), "a Service patch that is not an object");
    const char *rv = str_at(json_object_get(a->patch, "metadata"), "resourceVersion", NULL);
    const char *have = str_at(json_object_get(service, "metadata"), "resourceVersion", NULL);
    FUZZ_CHECK(rv && have && !strcmp(rv, have), "patch without the Service's resourceVersion (%s vs %s)",
               rv ? rv : "none", have ? have : "none");
    const json_t *traffic = json_object_get(json_object_get(a->patch, "spec"), "traffic");
    if (traffic) {
        FUZZ_CHECK(json_is_array(traffic) && json_array_size(traffic) > 0, "patch sets traffic to no target");
        json_int_t total = 0;
        size_t i;
        const json_t *e;
        json_array_foreach(traffic, i, e) {
            json_int_t pct = json_integer_value(json_object_get(e, "percent"));
            FUZZ_CHECK(pct >= 0 && pct <= 100, "traffic entry %zu: percent %lld", i, (long long)pct);
            total += pct;
            const char *rn = str_at(e, "revisionName", NULL);
            if (pct > 0 && rn)
                FUZZ_CHECK(ready_named(revs, rn), "%lld%% of traffic routed to %s, which is not Ready",
                           (long long)pct, rn);
            if (pct > 0 && !rn)
                FUZZ_CHECK(json_is_true(json_object_get(e, "latestRevision")),
                           "traffic entry %zu names no revision and not latestRevision", i);
        }
        FUZZ_CHECK(total == 100, "traffic adds up to %lld%%", (long long)total);
    }
    const json_t *ann = json_object_get(json_object_get(a->patch, "metadata"), "annotations");
    const json_t *st = json_object_get(ann, KSISS_ANN_TRANSITION);
    if (st && !json_is_null(st)) {
        FUZZ_CHECK(json_is_string(st), "transition annotation written as a non-string");
        ksiss_tr_state s;
        char *err = NULL;
        FUZZ_CHECK(ksiss_tr_state_parse(json_string_value(st), &s, &err) == 0,
                   "recorded state %s cannot be read back: %s", json_string_value(st), err ? err : "");
        ksiss_tr_state_clear(&s);
    }
}

static void check_plan(const json_t *service, const json_t *revs, const ksiss_tr_plan *p)
{
    FUZZ_CHECK(p->summary && p->summary[0], "a plan without a summary");
    FUZZ_CHECK(p->phase >= KSISS_TR_IDLE && p->phase <= KSISS_TR_ROLLBACK, "phase %d", (int)p->phase);
    FUZZ_CHECK(p->n == 0 || p->v, "%zu actions without storage", p->n);
    size_t n_ready = 0;
    for (size_t i = 0; i < json_array_size(revs); i++)
        n_ready += ksiss_tr_revision_ready(json_array_get(revs, i));
    for (size_t i = 0; i < p->n; i++) {
        const ksiss_tr_action *a = &p->v[i];
        switch (a->kind) {
        case KSISS_TRA_PATCH_SERVICE:
            check_patch(service, revs, a);
            break;
        case KSISS_TRA_SCALE_REVISION:
            FUZZ_CHECK(a->revision && a->revision[0], "scale of no revision");
            FUZZ_CHECK(a->scale >= 1, "revision %s scaled to %d", a->revision, a->scale);
            break;
        case KSISS_TRA_DELETE_REVISION: {
            FUZZ_CHECK(a->revision && a->revision[0], "delete of no revision");
            bool ready = ready_named(revs, a->revision);
            FUZZ_CHECK(!ready || n_ready > 1, "deletes %s, the last Ready revision", a->revision);
            FUZZ_CHECK(!status_routes_to(service, a->revision), "deletes %s while status.traffic routes to it",
                       a->revision);
            break;
        }
        case KSISS_TRA_EVENT:
            FUZZ_CHECK(a->event_reason && a->event_reason[0] && a->message && a->message[0],
                       "an event without a reason or message");
            break;
        default:
            FUZZ_CHECK(0, "action %zu of kind %d", i, (int)a->kind);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (!root)
        return 0;   /* jansson's decoder is not under test; the objects it yields are */
    const ksiss_catalog *cat = ksiss_fuzz_builtin();
    const json_t *service = json_object_get(root, "service");
    const json_t *revs = items_of(json_object_get(root, "revisions"));
    const json_t *want = json_object_get(root, "want");

    const char *text = ksiss_tr_annotation(service, KSISS_ANN_TRANSITION);
    if (text)
        check_state_roundtrip(text);
    char *err = NULL;
    const ksiss_tier *cur = ksiss_tr_service_tier(service, cat, NULL, &err);
    FUZZ_CHECK(cur || (err && err[0]), "no current tier and no message");
    free(err);
    err = NULL;
    const json_t *pod_spec = json_object_get(json_object_get(json_object_get(service, "spec"), "template"), "spec");
    json_t *gc = ksiss_tr_gpu_container(pod_spec, &err);
    FUZZ_CHECK(gc || (err && err[0]), "no GPU container and no message");
    free(err);
    for (size_t i = 0; i < json_array_size(revs); i++) {
        const char *rn = str_at(json_object_get(json_array_get(revs, i), "metadata"), "name", NULL);
        if (rn) {
            int pct = ksiss_tr_status_percent(service, rn);
            FUZZ_CHECK(pct >= 0 && pct <= 100, "revision %s serves %d%%", rn, pct);
        }
    }

    const char *tier = str_at(want, "tier", NULL);
    ksiss_tr_input in = {
        .service = service,
        .revisions = revs,
        .cat = cat,
        .target_tier = tier ? ksiss_catalog_tier(cat, NULL, tier) : NULL,
        .target_replicas = (int)(json_integer_value(json_object_get(want, "replicas")) % 1000),
        .reason = "fuzz: the policy asks",
        .free_target_units = json_is_integer(json_object_get(want, "free"))
                                 ? (long long)json_integer_value(json_object_get(want, "free"))
                                 : 4,
        .traffic_steps = steps,
        .n_traffic_steps = sizeof steps / sizeof steps[0],
        .ready_timeout_ms = 60000,
        .backoff_ms = 600000,
        .default_cpu = "1",
        .default_memory = "10Gi",
        .now_ms = json_is_integer(json_object_get(want, "now")) ? (int64_t)json_integer_value(json_object_get(want, "now"))
                                                               : 1700000000000LL,
    };
    if (in.target_tier)
        (void)ksiss_tr_backoff_until(service, in.target_tier->name);
    ksiss_tr_plan plan;
    err = NULL;
    int rc = ksiss_transition_step(&in, &plan, &err);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    if (rc == 0) {
        FUZZ_CHECK(err == NULL, "success with a message %s", err);
        check_plan(service, revs, &plan);
        ksiss_tr_plan_free(&plan);
    } else {
        FUZZ_CHECK(err && err[0], "refused without a message");
        FUZZ_CHECK(plan.n == 0 && !plan.v && !plan.summary, "a refusal that still plans %zu actions", plan.n);
        free(err);
    }
    json_decref(root);
    return 0;
}
