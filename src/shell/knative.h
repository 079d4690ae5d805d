/* knative.h: the Knative side of the shell: reads a Knative Service with
 * its Revisions and pods (label serving.knative.dev/service), and applies
 * a transition plan (src/core/transition.h) through the Kubernetes client:
 * a JSON merge patch on the Service with the resourceVersion precondition
 * (409: stop, the next tick re-reads), scale bounds on a Revision's
 * PodAutoscaler, deletion of a Revision, Events. */
#ifndef KSISS_KNATIVE_H
#define KSISS_KNATIVE_H

#include <stdbool.h>

#include <jansson.h>

#include "core/transition.h"
#include "shell/kube.h"

/* autoscaling.internal.knative.dev/v1alpha1 podautoscalers (named like
 * their Revision). */
extern const ksiss_kube_resource KSISS_KUBE_KNATIVE_PODAUTOSCALERS;

/* What one service looks like now; every object a new reference owned by
 * the struct (ksiss_knative_view_free). */
typedef struct {
    json_t *service;
    json_t *revisions;      /* JSON array (empty when none) */
    json_t *pods;           /* JSON array of the service's pods, terminated ones left out */
} ksiss_knative_view;

/* Reads the Service `name` of `ns`, its Revisions and pods. Returns 0, or a
 * negative ksiss_kube_rc with *err filled (caller clears); *out is then
 * empty. */
int ksiss_knative_read(ksiss_kube *k, const char *ns, const char *name, ksiss_knative_view *out,
                       ksiss_kube_error *err);
/* The same, taking the objects from watch caches when the caller has
 * them: `service` (the Service object), `all_pods` and `all_revisions`
 * (JSON arrays of pods / Revisions, any service or namespace: those of
 * this service are picked by namespace and label) are borrowed; each may
 * be NULL to read it from the API. A cached object may lag a little; every
 * write made from the Service carries its resourceVersion, so a stale copy
 * costs a 409 and a re-read at the next tick, never an overwrite; and the
 * controller re-reads the Service and its Revisions from the API before
 * deleting a Revision (ksiss_controller_recheck). k may be NULL when nothing is read. */
int ksiss_knative_read_cached(ksiss_kube *k, const char *ns, const char *name, const json_t *service,
                              const json_t *all_pods, const json_t *all_revisions, ksiss_knative_view *out,
                              ksiss_kube_error *err);
void ksiss_knative_view_free(ksiss_knative_view *v);

/* Names of the pods in v->pods that are Running (borrowed from v; caller
 * frees the array itself). *n set. */
const char **ksiss_knative_running_pods(const ksiss_knative_view *v, size_t *n);

typedef enum {
    KSISS_APPLY_DONE = 0,       /* every action applied */
    KSISS_APPLY_CONFLICT = 1,   /* the Service changed meanwhile: nothing more applied; re-read next tick */
    KSISS_APPLY_FAILED = -1,    /* an action failed: *err says which and why */
} ksiss_apply_rc;

/* Records a Kubernetes Event about the Service (the controller passes a
 * wrapper of ksiss_events_emit); type is "Normal" or "Warning"; strings
 * borrowed for the call. Events are best effort: the return value is
 * only logged. */
typedef int (*ksiss_knative_event_fn)(void *ud, const json_t *service, const char *type, const char *reason,
                                      const char *message);

/* Applies the plan's actions in order, stopping at the first failure.
 * `service` is the object the plan was computed from (borrowed: its
 * name, uid and resourceVersion are used). event may be NULL (no Events).
 * *err (caller frees) is set for CONFLICT and FAILED. */
ksiss_apply_rc ksiss_knative_apply(ksiss_kube *k, ksiss_knative_event_fn event, void *event_ud, const char *ns,
                                   const json_t *service, const ksiss_tr_plan *plan, char **err);

#endif
