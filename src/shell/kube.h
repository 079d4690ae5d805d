/* kube.h: a small Kubernetes API client on libcurl + jansson: client
 * configuration (in-cluster service account or kubeconfig), GET, LIST with
 * pagination, POST, PUT, PATCH (merge / JSON patch), DELETE, with bounded
 * retries, size caps and API Status errors; and an informer (a watch thread
 * per resource feeding a thread-safe cache keyed by namespace/name) so that
 * watches never block the control loop. docs/kubernetes.md says more.
 *
 * Threads: a ksiss_kube client may be used from several threads at once
 * (each request uses its own curl easy handle). Informer callbacks run on
 * the informer's own thread. */
#ifndef KSISS_KUBE_H
#define KSISS_KUBE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shell/kube_object.h"

/* ------------------------------------------------------------------ */
/* Client configuration                                                */

typedef struct {
    char *server;               /* "https://10.0.0.1:443" (no trailing slash) */
    char *ca_file;              /* PEM file path, or NULL */
    char *ca_pem;               /* PEM text (decoded certificate-authority-data), or NULL */
    char *token;                /* bearer token, or NULL */
    char *token_file;           /* re-read when its mtime changes or every minute; or NULL */
    char *client_cert_file;     /* PEM paths, or NULL */
    char *client_key_file;
    char *client_cert_pem;      /* PEM text (decoded client-certificate-data), or NULL */
    char *client_key_pem;
    bool insecure_skip_tls_verify;  /* logged loudly at every client creation */
    char *namespace;            /* default namespace (service account's, or the context's); never NULL once loaded */
    char *source;               /* where this came from, for messages: "in-cluster", "/path/kubeconfig (context ctx)" */
} ksiss_kube_config;

/* In-cluster configuration: KUBERNETES_SERVICE_HOST / _PORT, the service
 * account token (file; re-read on rotation), CA and namespace under
 * /var/run/secrets/kubernetes.io/serviceaccount. `sa_dir` NULL = that
 * default (tests pass their own directory). Returns 0, or -1 and *err
 * (caller frees) naming what is missing. */
int ksiss_kube_config_in_cluster(ksiss_kube_config *cfg, const char *sa_dir, char **err);

/* The configuration `ksiss run` uses: `kubeconfig_flag` (--kubeconfig) if
 * set; else $KUBECONFIG (first file of a colon-separated list); else
 * in-cluster when KUBERNETES_SERVICE_HOST is set; else ~/.kube/config.
 * `context` NULL = current-context. Returns 0, or -1 and *err (caller
 * frees) with file:line:column for kubeconfig problems. */
int ksiss_kube_config_load(ksiss_kube_config *cfg, const char *kubeconfig_flag,
                           const char *context, char **err);

/* Frees every string of cfg and zeroes it (not cfg itself). */
void ksiss_kube_config_free(ksiss_kube_config *cfg);

/* ------------------------------------------------------------------ */
/* Results and errors                                                  */

typedef enum {
    KSISS_KUBE_OK = 0,
    KSISS_KUBE_E_TRANSPORT = -1,    /* connect/TLS/timeout, after the retries */
    KSISS_KUBE_E_HTTP = -2,         /* any other non-2xx status */
    KSISS_KUBE_E_NOT_FOUND = -3,    /* 404 */
    KSISS_KUBE_E_CONFLICT = -4,     /* 409: someone else changed it; re-read and retry, never overwrite */
    KSISS_KUBE_E_GONE = -5,         /* 410: resourceVersion / continue token too old */
    KSISS_KUBE_E_INVALID = -6,      /* 400 / 422: the request itself was refused */
    KSISS_KUBE_E_FORBIDDEN = -7,    /* 401 / 403: credentials or RBAC */
    KSISS_KUBE_E_TOO_LARGE = -8,    /* response larger than max_response_bytes */
    KSISS_KUBE_E_DECODE = -9,       /* response body is not the JSON expected */
    KSISS_KUBE_E_ARG = -10,         /* bad argument (empty name, ...) */
    KSISS_KUBE_E_UNAVAILABLE = -11, /* 429 / 5xx still failing after the retries */
    KSISS_KUBE_E_STOPPING = -12,    /* the client's stop flag is set: not sent, or aborted (ksiss_kube_set_stop) */
    KSISS_KUBE_E_NOT_LEADER = -13,  /* a write the write guard refused: not sent (ksiss_kube_set_write_guard) */
} ksiss_kube_rc;

/* Filled on failure (zeroed on success). Strings owned by the struct:
 * release with ksiss_kube_error_clear. */
typedef struct {
    ksiss_kube_rc rc;
    long http_code;             /* 0: no HTTP response */
    char *reason;               /* Status.reason ("Conflict", "NotFound", ...) or NULL */
    char *message;              /* always set on failure: Status.message, or what went wrong */
} ksiss_kube_error;

void ksiss_kube_error_clear(ksiss_kube_error *e);
/* Short name of an rc ("conflict", "not found", ...); static string. */
const char *ksiss_kube_rc_name(ksiss_kube_rc rc);

/* ------------------------------------------------------------------ */
/* Resources                                                           */

typedef struct {
    const char *group;          /* "" = core ("/api/v1"), else "/apis/<group>/<version>" */
    const char *version;        /* "v1" */
    const char *resource;       /* plural, lower case: "pods" */
    const char *kind;           /* "Pod" (for messages and Event involvedObject) */
    bool namespaced;
} ksiss_kube_resource;

extern const ksiss_kube_resource KSISS_KUBE_PODS;
extern const ksiss_kube_resource KSISS_KUBE_NODES;
extern const ksiss_kube_resource KSISS_KUBE_EVENTS;
extern const ksiss_kube_resource KSISS_KUBE_CONFIGMAPS;
extern const ksiss_kube_resource KSISS_KUBE_LEASES;             /* coordination.k8s.io/v1 */
extern const ksiss_kube_resource KSISS_KUBE_KNATIVE_SERVICES;   /* serving.knative.dev/v1 services */
extern const ksiss_kube_resource KSISS_KUBE_KNATIVE_REVISIONS;
extern const ksiss_kube_resource KSISS_KUBE_KNATIVE_CONFIGURATIONS;
extern const ksiss_kube_resource KSISS_KUBE_KNATIVE_ROUTES;

/* URL path of a collection or object, every segment URL-escaped:
 * "/api/v1/namespaces/<ns>/pods/<name>[/<subresource>]". ns NULL or "" for
 * a namespaced resource = across all namespaces (collections only); name
 * NULL = the collection. Returns a new string (caller frees), or NULL when
 * the combination is impossible (cluster-scoped with a namespace, a name
 * without a namespace on a namespaced resource, empty name). */
char *ksiss_kube_path(const ksiss_kube_resource *res, const char *ns, const char *name,
                      const char *subresource);

/* Percent-encodes everything but RFC 3986 unreserved characters; caller frees. */
char *ksiss_kube_escape(const char *s);

/* ------------------------------------------------------------------ */
/* The client                                                          */

/* Called after every request attempt (also retries and watch
 * connections): verb is "GET", "LIST", "WATCH", "POST", "PUT", "PATCH",
 * "DELETE"; code is the HTTP status, or 0 when no response came. Used to
 * feed ksiss_kubernetes_requests_total{verb,code}. May be called from any
 * thread. */
typedef void (*ksiss_kube_request_hook)(void *ud, const char *verb, long code);

/* The hook that counts requests in the exporter's registry: pass it with
 * ud = the ksiss_metrics * (src/shell/metrics.h), which must outlive k.
 * Increments ksiss_kubernetes_requests_total{verb,code}. */
void ksiss_kube_metrics_hook(void *metrics, const char *verb, long code);

/* Every field 0 = its default, so `{.hook = f}` is a complete setting. */
typedef struct {
    int64_t connect_timeout_ms;     /* default 5000 */
    int64_t timeout_ms;             /* total per request attempt (not watches), default 30000 */
    int max_retries;                /* retries after the first attempt: 0 = default 4, -1 = none, at most 20 */
    int64_t backoff_base_ms;        /* default 200 */
    int64_t backoff_max_ms;         /* default 5000 */
    size_t max_response_bytes;      /* default 64 MiB (whole LIST pages) */
    size_t max_event_bytes;         /* one watch event line, default 8 MiB */
    const char *user_agent;         /* default "ksiss/<version>" */
    ksiss_kube_request_hook hook;   /* may be NULL; see ksiss_kube_set_hook */
    void *hook_ud;
} ksiss_kube_options;

typedef struct ksiss_kube ksiss_kube;

/* Creates a client. cfg is copied (the caller keeps and frees its own);
 * opt may be NULL (defaults). Returns NULL and *err (caller frees) when
 * the configuration is unusable (no server, unreadable CA file, ...). */
ksiss_kube *ksiss_kube_new(const ksiss_kube_config *cfg, const ksiss_kube_options *opt, char **err);
void ksiss_kube_free(ksiss_kube *k);

/* Installs (or replaces) the request hook after creation (thread-safe
 * against requests in flight only in that a request sees old or new). */
void ksiss_kube_set_hook(ksiss_kube *k, ksiss_kube_request_hook hook, void *ud);

/* Decides, right before every attempt of a write (POST, PUT, PATCH,
 * DELETE; a retry is checked again), whether it may go out: returns how
 * many ms the write may still take (> 0), or <= 0 to refuse it. A refused
 * write is not sent and fails with KSISS_KUBE_E_NOT_LEADER; an answer
 * below the request timeout becomes that attempt's timeout (the transfer
 * is cut when the time is up). `ksiss run` passes ksiss_leader_write_guard:
 * no write once the lease's renew deadline passed. Reads and watches are
 * never guarded; the Lease's own writes are exempt (leader.c). Install
 * before the client is shared with other threads. */
typedef int64_t (*ksiss_kube_write_guard)(void *ud, const char *verb, const char *path);
void ksiss_kube_set_write_guard(ksiss_kube *k, ksiss_kube_write_guard guard, void *ud);

/* A stop flag (a SIGTERM handler's) for every request of k: once *stop is
 * non-zero, a transfer in flight is aborted within about 100 ms, no retry
 * waits or starts, and no new request is sent; they fail with
 * KSISS_KUBE_E_STOPPING. Watches stop too. The Lease's release on the way
 * out is exempt (leader.c, bounded by its own timeout). NULL: none.
 * Install before the client is shared with other threads. */
void ksiss_kube_set_stop(ksiss_kube *k, const volatile sig_atomic_t *stop);

/* The configuration's default namespace; borrowed from k. */
const char *ksiss_kube_namespace(const ksiss_kube *k);

/* Every operation: returns KSISS_KUBE_OK (0) or a negative ksiss_kube_rc,
 * with details in *err when err is non-NULL (caller clears it). Objects
 * returned through `out` are new references the caller json_decref()s;
 * `out` may be NULL when the caller does not want the body. Bodies passed
 * in are borrowed (never modified, never stolen). */

int ksiss_kube_get(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns,
                   const char *name, json_t **out, ksiss_kube_error *err);

typedef struct {
    const char *label_selector;     /* NULL = none */
    const char *field_selector;     /* NULL = none */
    long page_size;                 /* limit per page; 0 = 500 */
    void (*transform)(json_t *item);    /* NULL = none; applied to each item as its page arrives */
    /* NULL = items collected into *items. Else each item (after transform,
     * borrowed) goes to each() as its page arrives, *items stays an empty
     * array, and restart() is called when an expired continue token
     * restarts the list (forget what each() was given). */
    void (*each)(void *ud, json_t *item);
    void (*restart)(void *ud);
    void *each_ud;
} ksiss_kube_list_opts;

/* LIST across all pages (limit/continue; an expired continue token (410)
 * restarts the list once). *items = JSON array of the objects (new
 * reference), *resource_version = the list's resourceVersion (caller
 * frees; may be NULL if not wanted), the point a watch starts from.
 * opts may be NULL. ns NULL = all namespaces. */
int ksiss_kube_list(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns,
                    const ksiss_kube_list_opts *opts, json_t **items,
                    char **resource_version, ksiss_kube_error *err);

/* POST body into the collection. */
int ksiss_kube_create(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns,
                      const json_t *body, json_t **out, ksiss_kube_error *err);

/* PUT the whole object (its metadata.resourceVersion is the precondition:
 * 409 when stale). */
int ksiss_kube_replace(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns,
                       const char *name, const json_t *body, json_t **out, ksiss_kube_error *err);

typedef enum {
    KSISS_KUBE_MERGE_PATCH = 0,     /* application/merge-patch+json (RFC 7386) */
    KSISS_KUBE_JSON_PATCH,          /* application/json-patch+json (RFC 6902), patch is an array */
} ksiss_kube_patch_type;

/* PATCH. `resource_version` non-NULL makes it conditional (409 Conflict
 * when the object changed since): for a merge patch it is set as
 * metadata.resourceVersion in a copy of the patch; for a JSON patch a
 * {"op":"test","path":"/metadata/resourceVersion"} is prepended.
 * `subresource` NULL or "status". */
int ksiss_kube_patch(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns,
                     const char *name, const char *subresource, ksiss_kube_patch_type type,
                     const json_t *patch, const char *resource_version, json_t **out,
                     ksiss_kube_error *err);

typedef struct {
    const char *propagation_policy;         /* "Background", "Foreground", "Orphan", or NULL */
    const char *precondition_uid;           /* NULL = none */
    const char *precondition_resource_version;  /* NULL = none */
} ksiss_kube_delete_opts;

/* DELETE one object. opts may be NULL. A 404 is returned as
 * KSISS_KUBE_E_NOT_FOUND (callers that only want it gone treat it as done). */
int ksiss_kube_delete(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns,
                      const char *name, const ksiss_kube_delete_opts *opts, ksiss_kube_error *err);

/* ------------------------------------------------------------------ */
/* Informer: LIST then WATCH one resource in a thread, keeping a cache.  */

typedef enum {
    KSISS_KUBE_ADDED = 0,
    KSISS_KUBE_MODIFIED,
    KSISS_KUBE_DELETED,
} ksiss_kube_event_type;

/* Called on the informer thread after the cache changed (also for every
 * object of a relist, as ADDED/MODIFIED/DELETED against the old cache).
 * obj is borrowed and read-only; keep it with json_incref. Keep it short:
 * mark a key dirty, do not call the API from here. */
typedef void (*ksiss_kube_informer_fn)(void *ud, ksiss_kube_event_type type, const json_t *obj);

/* Trims an object on arrival, before it is cached (client-go's
 * TransformFunc): runs on the informer thread on an object nobody else
 * holds yet; may delete fields, must keep every field a reader uses (and
 * metadata.name, namespace, resourceVersion). */
typedef void (*ksiss_kube_informer_transform)(json_t *obj);

/* Ready-made transforms (kube_informer.c says what each keeps):
 * - common: drops metadata.managedFields and the
 *   kubectl.kubernetes.io/last-applied-configuration annotation;
 * - pod: keeps of metadata only name, namespace, uid, resourceVersion,
 *   deletionTimestamp and the serving.knative.dev/service label; of spec
 *   only nodeName, nodeSelector, overhead, and containers'/initContainers'
 *   name, resources and restartPolicy; of status only phase (what
 *   inventory.c and knative.c read);
 * - node: keeps of metadata name, uid, resourceVersion, labels and
 *   deletionTimestamp; of spec unschedulable; of status the GPU
 *   resources of allocatable and the Ready condition's type and status
 *   (what inventory.c reads): a heartbeat changes nothing that is kept. */
void ksiss_kube_transform_common(json_t *obj);
void ksiss_kube_transform_pod(json_t *obj);
void ksiss_kube_transform_node(json_t *obj);
/* - revision (Knative): keeps of metadata name, namespace, uid,
 *   resourceVersion, generation, deletionTimestamp, the
 *   serving.knative.dev/service label and the min-scale, max-scale and
 *   ksiss.dev/tier annotations; of spec the containers' name and
 *   resources; of status the conditions (type, status, reason, message,
 *   lastTransitionTime: transition.c times a Ready=False),
 *   actualReplicas and desiredReplicas (what transition.c and
 *   controller_eval.c read to decide);
 * - service (Knative): keeps of metadata name, namespace, uid,
 *   resourceVersion, generation, deletionTimestamp and the annotations
 *   (common-trimmed); of spec the traffic and the template's metadata and
 *   its containers' name and resources; of status the conditions (type,
 *   status, reason, message), observedGeneration, latestReadyRevisionName,
 *   latestCreatedRevisionName and traffic.
 * These two drop what a write copies (a rollback puts a Revision's whole
 * containers back in the template, a tier change copies the template's):
 * nothing is ever written from a cached object, every write is decided
 * again on the objects read from the API (ksiss_controller_recheck). */
void ksiss_kube_transform_revision(json_t *obj);
void ksiss_kube_transform_service(json_t *obj);

typedef struct {
    const ksiss_kube_resource *res;
    const char *ns;                 /* NULL = all namespaces */
    const char *label_selector;     /* NULL = none */
    const char *field_selector;     /* NULL = none */
    ksiss_kube_informer_fn on_change;   /* may be NULL */
    void *ud;
    int64_t watch_timeout_s;        /* server-side timeoutSeconds per watch, default 300 */
    ksiss_kube_informer_transform transform;    /* NULL: objects cached whole */
} ksiss_kube_informer_opts;

typedef struct ksiss_kube_informer ksiss_kube_informer;

/* Starts the informer thread (lists, then watches with resourceVersion and
 * allowWatchBookmarks; relists on 410 Gone; reconnects with backoff on
 * errors). Strings in opts are copied. k must outlive the informer.
 * Returns NULL and *err (caller frees) if the thread cannot start. */
ksiss_kube_informer *ksiss_kube_informer_start(ksiss_kube *k, const ksiss_kube_informer_opts *opts,
                                               char **err);

/* Stops the thread (within about a second) and frees everything. NULL ok. */
void ksiss_kube_informer_stop(ksiss_kube_informer *inf);

/* True once the first LIST filled the cache. */
bool ksiss_kube_informer_synced(ksiss_kube_informer *inf);

/* Counter bumped at every cache change (an object added or deleted, or its
 * kept content changed; not an update of its resourceVersion alone): a
 * cheap "anything new?" check. */
uint64_t ksiss_kube_informer_generation(ksiss_kube_informer *inf);

/* The cache keeps each object as a compact record (kube_object.h), not a
 * JSON tree. The records, sorted by key, each with a reference of its own
 * (free with ksiss_kobj_list_free): what the control loop indexes without
 * parsing anything. */
ksiss_kobj_list ksiss_kube_informer_objects(ksiss_kube_informer *inf);

/* A snapshot of the cache parsed back: a new JSON array of new objects
 * sorted by key (caller json_decref()s). Costs a parse of every object:
 * for small caches (ConfigMaps, tests). */
json_t *ksiss_kube_informer_snapshot(ksiss_kube_informer *inf);

/* One cached object by namespace/name (ns NULL or "" for cluster-scoped),
 * parsed: a new object the caller owns, or NULL. */
json_t *ksiss_kube_informer_get(ksiss_kube_informer *inf, const char *ns, const char *name);

/* Last error the informer met (list/watch failure), or NULL when the last
 * attempt succeeded; caller frees. */
char *ksiss_kube_informer_last_error(ksiss_kube_informer *inf);

/* ------------------------------------------------------------------ */
/* Pure helpers, public for tests                                      */

/* Backoff before retry number `attempt` (0 = first retry): min(max_ms,
 * base_ms * 2^attempt), then "equal jitter": half of it fixed plus
 * jitter01 (in [0,1)) times the other half. */
int64_t ksiss_kube_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double jitter01);

/* An informer's delays before it relists or watches again after a
 * failure: doubling from the base to the cap. The cap is low so that an
 * apiserver back from a restart is seen within a few ticks; one request
 * per informer every 5 s is nothing to an apiserver that is down. */
#define KSISS_INFORMER_BACKOFF_BASE_MS 500
#define KSISS_INFORMER_BACKOFF_MAX_MS 5000

/* How an informer's watch connection ended. */
typedef enum {
    KSISS_WATCH_ENDED = 0,  /* normally (server timeout), or 410 Gone after events: go on at once */
    KSISS_WATCH_BROKE,      /* the stream was up (HTTP 200), then the connection broke */
    KSISS_WATCH_FAILED,     /* no stream: refused, 5xx, 403, undecodable, 410 before any event, ... */
} ksiss_watch_end;

/* The informer's backoff bookkeeping after a watch ended: returns the
 * attempt number to pass to ksiss_kube_backoff_ms before reconnecting, or
 * -1 to reconnect at once, and updates *attempt. Only failures to get a
 * stream grow the backoff; a stream that was up and broke (a cut
 * connection, a restarted apiserver) starts it over, so a long-lived
 * watch is never left with the 30 s delay of failures long past. */
int ksiss_kube_watch_backoff_attempt(int *attempt, ksiss_watch_end how);

/* Whether a failed attempt is worth retrying: 429, 502, 503, 504 always;
 * 500 and a transport error (code 0) only for idempotent verbs (not POST,
 * whose first attempt may have taken effect). */
bool ksiss_kube_should_retry(const char *verb, long http_code);

/* Retry-After header value in milliseconds (delta-seconds form only,
 * capped at 60 s); -1 when absent or not a number (HTTP-date is not used
 * by the apiserver). */
int64_t ksiss_kube_parse_retry_after_ms(const char *value);

/* Fills *e from an HTTP status and a body that may be a metav1.Status
 * ({"kind":"Status","message":...,"reason":...,"code":...}); any body
 * that is not is summarised (first 200 bytes) in the message. */
void ksiss_kube_error_from_response(ksiss_kube_error *e, const char *verb, const char *path,
                                    long http_code, const char *body, size_t len);

/* rc for an HTTP status (2xx -> OK). */
ksiss_kube_rc ksiss_kube_rc_for_http(long http_code);

#endif
