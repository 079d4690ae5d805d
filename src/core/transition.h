/* transition.h: crash-safe Knative actions, as a pure reconcile step.
 * Given a Knative Service, its Revisions, what the policy wants (tier,
 * instances) and the transition state kept in the Service's annotations,
 * ksiss_transition_step computes the ONE next step (a short list of API
 * actions for the shell to apply, in order) and the state to record. No
 * I/O, no clocks: `now_ms` is passed in. Design and evidence:
 * docs/actuation.md.
 *
 * Invariants every plan keeps (tests/unit/test_transition.c asserts them):
 *  - traffic is only ever routed to Revisions whose Ready condition is True;
 *  - the Service never ends up with zero Ready Revisions serving;
 *  - the last Ready Revision is never deleted. */
#ifndef KSISS_TRANSITION_H
#define KSISS_TRANSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/tiers.h"

/* Annotations on the Knative Service (metadata.annotations). */
#define KSISS_ANN_TRANSITION "ksiss.dev/transition"   /* JSON: the transition in flight */
#define KSISS_ANN_BACKOFF    "ksiss.dev/backoff"      /* JSON: {"<tier>": until_ms, ...} */
#define KSISS_ANN_TIER       "ksiss.dev/tier"         /* template annotation: tier of the revision */
/* Knative's per-revision scale bounds (read by the PodAutoscaler). */
#define KSISS_ANN_MIN_SCALE  "autoscaling.knative.dev/min-scale"
#define KSISS_ANN_MAX_SCALE  "autoscaling.knative.dev/max-scale"
#define KSISS_LABEL_SERVICE  "serving.knative.dev/service"
/* A new revision that reports Ready=False while it is awaited is given up
 * (rolled back) once that has lasted this long by its condition's
 * lastTransitionTime, or at the ready deadline if that comes first:
 * Knative also reports transient scheduling errors as Ready=False. */
#define KSISS_TR_FAIL_GRACE_MS 30000

typedef enum {
    KSISS_TR_IDLE = 0,      /* no transition in flight */
    KSISS_TR_WAIT_READY,    /* template patched: waiting for the new Revision to be Ready */
    KSISS_TR_SHIFT,         /* moving traffic (and, with several instances, capacity) step by step */
    KSISS_TR_CLEANUP,       /* all traffic on the new Revision: delete the old one */
    KSISS_TR_ROLLBACK,      /* template and traffic restored: delete the failed Revision */
} ksiss_tr_phase;

/* The transition state as stored in KSISS_ANN_TRANSITION. */
typedef struct {
    ksiss_tr_phase phase;
    char *from_rev;         /* Revision serving when it started */
    char *to_rev;           /* the new Revision's name (chosen by us: BYO name) */
    char *from_tier;        /* tier names (for messages, backoff) */
    char *to_tier;
    int replicas;           /* instances the service should have at the end */
    int from_replicas;      /* instances of the old Revision when it started (restored on rollback) */
    int step;               /* SHIFT: index into traffic steps (1 instance) or new instances serving (several) */
    int64_t started_at_ms;
    int64_t phase_at_ms;
    bool traffic_latest;    /* the Service routed to "latestRevision" before: restore that form */
    char *reason;           /* why it started (the policy's reason), or why it rolls back */
    char *from_min_scale;   /* the old template's scale annotations (NULL: absent) */
    char *from_max_scale;
} ksiss_tr_state;

void ksiss_tr_state_clear(ksiss_tr_state *s);
/* Parses the annotation value. Returns 0, or -1 and *err (caller frees). */
int ksiss_tr_state_parse(const char *text, ksiss_tr_state *out, char **err);
/* Serializes to the annotation value; caller frees. */
char *ksiss_tr_state_format(const ksiss_tr_state *s);
const char *ksiss_tr_phase_name(ksiss_tr_phase p);

typedef enum {
    KSISS_TRA_PATCH_SERVICE = 0,    /* JSON merge patch on the Service, precondition on resourceVersion */
    KSISS_TRA_SCALE_REVISION,       /* set min-scale = max-scale = scale on the Revision's PodAutoscaler
                                     * (not on the Revision: in Knative 1.15 that changes the pod template
                                     * and re-creates every pod) */
    KSISS_TRA_DELETE_REVISION,
    KSISS_TRA_EVENT,                /* Kubernetes Event on the Service */
} ksiss_tra_kind;

typedef struct {
    ksiss_tra_kind kind;
    json_t *patch;          /* PATCH_SERVICE: owned; includes metadata.resourceVersion */
    char *revision;         /* SCALE/DELETE: owned */
    int scale;              /* SCALE */
    bool warning;           /* EVENT: type Warning (else Normal) */
    char *event_reason;     /* EVENT: CamelCase reason, owned */
    char *message;          /* EVENT: message, owned */
} ksiss_tr_action;

typedef struct {
    ksiss_tr_action *v;     /* apply in order; stop at the first failure (the next tick re-reads) */
    size_t n;
    ksiss_tr_phase phase;   /* phase after the plan is applied */
    bool in_flight;         /* a tier change is under way after this step (policy must hold) */
    char *summary;          /* one line for the log: what this step does and why; owned */
} ksiss_tr_plan;

void ksiss_tr_plan_free(ksiss_tr_plan *p);

typedef struct {
    const json_t *service;          /* the Knative Service (borrowed) */
    const json_t *revisions;        /* JSON array of its Revisions (borrowed); NULL = none listed */
    const ksiss_catalog *cat;       /* to name the current tier (borrowed) */
    const char *gpu_model;          /* NULL: the catalogue's default */
    /* What the policy wants; target_tier NULL = no tier change. */
    const ksiss_tier *target_tier;
    int target_replicas;            /* <= 0: unchanged */
    const char *reason;             /* the policy's reason (borrowed; may be NULL) */
    long long free_target_units;    /* free units of target_tier's resource; < 0 unknown (refuses to start) */
    /* Settings. */
    const int *traffic_steps;       /* ascending percentages ending in 100; NULL: {100} (at once) */
    size_t n_traffic_steps;
    int64_t ready_timeout_ms;       /* new Revision not Ready within this: roll back */
    int64_t backoff_ms;             /* a rolled-back tier is not tried again for this long */
    const char *default_cpu;        /* written only when the GPU container has no cpu */
    const char *default_memory;
    int64_t now_ms;
} ksiss_tr_input;

/* Computes the next step. Returns 0 with *out filled (possibly no action:
 * waiting or nothing to do), or -1 and *err (caller frees) when the objects
 * cannot be handled (no GPU container, several, malformed objects, a
 * traffic split it does not own, ...): nothing is changed then. */
int ksiss_transition_step(const ksiss_tr_input *in, ksiss_tr_plan *out, char **err);

/* ---- reading Knative objects (helpers the shell and explain use too) ---- */

/* The container of `pod_spec` that holds an NVIDIA GPU resource (in limits
 * or requests); when none does and there is exactly one container, that one.
 * NULL and *err (caller frees) otherwise. Borrowed from pod_spec. */
json_t *ksiss_tr_gpu_container(const json_t *pod_spec, char **err);
/* The GPU resource name and count of a container (limits first, then
 * requests). Returns 0 (*resource borrowed from the object), 1 when it has
 * none, -1 and *err for a malformed quantity. */
int ksiss_tr_container_gpu(const json_t *container, const char **resource, long long *count, char **err);
/* Tier of the Service's current template. NULL and *err (caller frees) when
 * unknown. */
const ksiss_tier *ksiss_tr_service_tier(const json_t *service, const ksiss_catalog *cat,
                                        const char *gpu_model, char **err);
/* True when the Revision's Ready condition is True. */
bool ksiss_tr_revision_ready(const json_t *revision);
/* A Revision of the list by name (borrowed), or NULL. */
const json_t *ksiss_tr_find_revision(const json_t *revisions, const char *name);
/* Percent of the Service's routed traffic on `revision` according to
 * status.traffic (latestRevision entries count for status.latestReadyRevisionName),
 * 0..100; an entry's percent outside 0..100 counts as 100 (never deletable). */
int ksiss_tr_status_percent(const json_t *service, const char *revision);
/* Until when `tier` is refused for the Service (KSISS_ANN_BACKOFF), or
 * INT64_MIN when not. */
int64_t ksiss_tr_backoff_until(const json_t *service, const char *tier);
/* The Service's annotation `key` (borrowed) or NULL. */
const char *ksiss_tr_annotation(const json_t *obj, const char *key);

#endif
