/* events.h: Kubernetes core/v1 Events on the objects K-SISS acts on
 * ("SuccessfulRescale", "TierChange", "RolledBack", ...), with source
 * component "ksiss". Identical events (same object, type, reason and
 * message) within 10 minutes are aggregated into one Event whose count and
 * lastTimestamp are patched, as kubectl/client-go recorders do. */
#ifndef KSISS_EVENTS_H
#define KSISS_EVENTS_H

#include <stdint.h>

#include "shell/kube.h"

/* The object an Event is about (strings borrowed for the call). */
typedef struct {
    const char *api_version;    /* "serving.knative.dev/v1" */
    const char *kind;           /* "Service" */
    const char *ns;
    const char *name;
    const char *uid;            /* may be NULL */
} ksiss_kube_object_ref;

typedef struct ksiss_events ksiss_events;

/* component NULL = "ksiss"; host NULL = none. Strings copied; k must
 * outlive the recorder. */
ksiss_events *ksiss_events_new(ksiss_kube *k, const char *component, const char *host);
void ksiss_events_free(ksiss_events *ev);

/* Records an Event; type "Normal" or "Warning". Returns 0 or a negative
 * ksiss_kube_rc (details in *err when non-NULL). Thread-safe. */
int ksiss_events_emit(ksiss_events *ev, const ksiss_kube_object_ref *ref, const char *type,
                      const char *reason, const char *message, ksiss_kube_error *err);

/* Formats the RFC 3339 time "2026-01-02T15:04:05Z" (and, micro = true,
 * "2026-01-02T15:04:05.000000Z") of a Unix time in ms; caller frees. */
char *ksiss_kube_time_format(int64_t unix_ms, int micro);

#endif
