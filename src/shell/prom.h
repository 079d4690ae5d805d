/* prom.h: the Prometheus client of the shell: instant queries over libcurl
 * against /api/v1/query (timeouts, optional bearer token / basic auth / CA
 * file, response size cap, HTTP and JSON status checked), and the per-tick
 * read of one service's metrics (one request per metric, pods batched by
 * src/core/promql.c where the query's shape allows), and queries batched
 * across services. Credentials are never written into messages. Its files,
 * one concern each: prom_internal.h. */
#ifndef KSISS_PROM_H
#define KSISS_PROM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/promql.h"
#include "shell/metrics.h"

#define KSISS_PROM_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define KSISS_PROM_DEFAULT_TIMEOUT_MS 5000
#define KSISS_PROM_DEFAULT_MAX_RESPONSE (16u * 1024u * 1024u)

/* Client options; every string owned (ksiss_prom_opts_free frees them). */
typedef struct {
    char *url;                  /* normalized: ends in /api/v1/query */
    char *bearer_token;         /* NULL: none */
    char *bearer_token_file;    /* reread at each query (rotating tokens); NULL: none */
    char *username;             /* basic auth when not NULL */
    char *password;
    char *ca_file;              /* NULL: the system's CAs */
    int64_t connect_timeout_ms;
    int64_t timeout_ms;         /* whole request */
    size_t max_response_bytes;
    const volatile sig_atomic_t *stop;  /* not owned; once *stop is set, a query in flight is aborted
                                           (within about 100 ms) and none is sent: `ksiss run`'s SIGTERM */
} ksiss_prom_opts;

/* Defaults, url NULL. */
void ksiss_prom_opts_init(ksiss_prom_opts *o);
void ksiss_prom_opts_free(ksiss_prom_opts *o);

/* Reads PROMETHEUS_URL (default: the original's in-cluster URL),
 * PROMETHEUS_BEARER_TOKEN, PROMETHEUS_BEARER_TOKEN_FILE,
 * PROMETHEUS_USERNAME, PROMETHEUS_PASSWORD, PROMETHEUS_CA_FILE,
 * PROMETHEUS_CONNECT_TIMEOUT and PROMETHEUS_TIMEOUT (durations such as
 * "2s", "500ms") through get (the shell passes getenv). Returns 0, or -1
 * with *err (caller frees) naming the variable. */
int ksiss_prom_opts_from_env(ksiss_prom_opts *o, const char *(*get)(const char *name, void *ctx), void *ctx,
                             char **err);

/* ksiss_prometheus_url_normalize (core/config.h: the one set of rules for
 * PROMETHEUS_URL and every --prometheus flag) with a message naming the
 * URL, credentials redacted: the query URL, or NULL with *err (caller
 * frees). */
char *ksiss_prom_normalize_url(const char *url, char **err);

typedef struct ksiss_prom ksiss_prom;

/* A client for o (copied; o may be freed after). NULL with *err when o has
 * no URL. Free with ksiss_prom_free. Not thread-safe: one per thread. */
ksiss_prom *ksiss_prom_new(const ksiss_prom_opts *o, char **err);
void ksiss_prom_free(ksiss_prom *c);

typedef struct {
    char *pod;          /* value of the label asked for, NULL when absent */
    char *series;       /* the labels as {a="b",...}, for display */
    double value;       /* as Prometheus wrote it: NaN and infinities kept */
    char *le;           /* the `le` label (a histogram's bucket), NULL when absent */
} ksiss_prom_sample;

typedef struct {
    bool ok;
    const char *reason;         /* failure: a KSISS_PROM_REASON_* (static); NULL when ok */
    char *error;                /* failure: a sentence naming the cause; NULL when ok */
    long http_status;           /* 0 when no response */
    bool scalar;                /* the result was a scalar (one sample, pod NULL) */
    ksiss_prom_sample *samples;
    size_t n;
    double duration_s;
} ksiss_prom_result;

/* Runs one instant query. `pod_label` names the label copied into
 * samples[].pod (NULL: none). Never blocks beyond the configured timeout.
 * Always fills *out (free with ksiss_prom_result_free); returns 0 when ok,
 * -1 otherwise (out->reason and out->error say why). When reg is not NULL
 * the duration and errors are recorded in it. */
int ksiss_prom_query(ksiss_prom *c, const char *query, const char *pod_label, ksiss_metrics *reg,
                     ksiss_prom_result *out);
void ksiss_prom_result_free(ksiss_prom_result *r);

/* Parses a /api/v1/query response body (pure; exposed for tests). Same
 * contract for *out as ksiss_prom_query; http_status is the response's. */
int ksiss_prom_parse_response(const char *body, size_t len, long http_status, const char *pod_label,
                              ksiss_prom_result *out);

/* One metric of a service as read this tick. */
typedef struct {
    ksiss_observation obs;      /* the aggregate for the policy; obs.why_missing points to `why` */
    char *why;                  /* owned text behind obs.why_missing, NULL when present */
    bool per_pod;               /* the query uses the pod placeholder */
    ksiss_pod_value *pods;      /* per_pod: one per pod, in the order given */
    size_t n_pods;
    bool failed;                /* a request failed (error, timeout, refused query, bad result) */
    char *error;                /* failed: "metric NAME: cause" */
    bool batched;               /* the pods were read with one batched query */
    bool shared;                /* read from a query batched across services (ksiss_prom_batch) */
    int requests;               /* HTTP requests made */
    char *query;                /* the (last) query sent, NULL when none */
} ksiss_metric_reading;

/* Reads every metric of svc (out has svc->n_metrics entries, each to free
 * with ksiss_metric_readings_free). `vars` gives service, namespace and
 * revision (pod ignored); pods are the service's pods (borrowed). One
 * request per metric when the query is service-level or batchable, one per
 * pod otherwise. A failed request makes the metric missing (never zero);
 * pods without a sample are left out of the aggregate; no pod with a value
 * makes it missing. Returns the number of metrics without a usable value. */
size_t ksiss_prom_read_service(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                               const char *const *pods, size_t n_pods, int64_t now_ms, ksiss_metrics *reg,
                               ksiss_metric_reading *out);
void ksiss_metric_readings_free(ksiss_metric_reading *r, size_t n);

/* ---- batching across services (docs/prometheus.md) ----
 *
 * When many services share a metric query whose only per-service
 * placeholder is the service, the revision or the pods, each in the
 * equality matchers of one label, one query per distinct query text reads
 * them all: the matchers become `L=~"a|b|..."` (names regex-escaped),
 * aggregations get `by (L)` (src/core/promql.c), and the answer is split
 * by label L. Queries without any per-service placeholder are sent once
 * and shared as they are. At most max_keys names go into one query; more
 * services make more queries. Any other shape is read per service. */

/* One service's share of a batched answer. Owned by the caller
 * (ksiss_prom_batch_add zeroes it; free with ksiss_prom_share_clear);
 * `samples` points into the batch, which must outlive the share's use. */
typedef struct {
    bool ok;                    /* false: the batched query failed (error says why) */
    const char *error;          /* borrowed from the batch */
    ksiss_promql_sample *samples;   /* this service's samples (pod: value of label L) */
    size_t n;
} ksiss_prom_share;

void ksiss_prom_share_clear(ksiss_prom_share *s);

typedef struct ksiss_prom_batch ksiss_prom_batch;

/* Called once per share filled by ksiss_prom_batch_run (from the thread
 * that runs it), with the owner given to ksiss_prom_batch_add. */
typedef void (*ksiss_prom_batch_done_fn)(void *owner);

/* max_keys: names per query at most (0: KSISS_PROM_DEFAULT_BATCH_KEYS). */
#define KSISS_PROM_DEFAULT_BATCH_KEYS 500
ksiss_prom_batch *ksiss_prom_batch_new(size_t max_keys, ksiss_prom_batch_done_fn done);
/* Frees the batch and its answers (shares pointing into it go stale). */
void ksiss_prom_batch_free(ksiss_prom_batch *b);

/* Offers one reading of one service: `query` (borrowed until the batch is
 * freed), vars (copied), its Running pods (copied). Returns true when the
 * batch takes it: *share (borrowed, must stay valid) will be filled and
 * done(owner) called when its query has run; false when it must be read
 * per service (shape not batchable, no pods, no revision, the batch
 * sealed). */
bool ksiss_prom_batch_add(ksiss_prom_batch *b, const char *query, const ksiss_promql_vars *vars,
                          const char *const *pods, size_t n_pods, ksiss_prom_share *share, void *owner);

/* No more adds; returns the number of queries to run (indexes 0..n-1). */
size_t ksiss_prom_batch_seal(ksiss_prom_batch *b);

/* Runs query i with client c (one client per thread), fills the shares
 * of its services and calls done for each. cancelled: fills them as
 * failed without sending anything. Distinct i may run concurrently. */
void ksiss_prom_batch_run(ksiss_prom_batch *b, size_t i, ksiss_prom *c, ksiss_metrics *reg, bool cancelled);

/* ksiss_prom_read_service, taking the metrics with shares[i] != NULL from
 * those shares instead of querying (shares may be NULL: none). The result
 * is the one the service's own queries would give on the same data. */
size_t ksiss_prom_read_service_shared(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                                      const char *const *pods, size_t n_pods, const ksiss_prom_share *const *shares,
                                      int64_t now_ms, ksiss_metrics *reg, ksiss_metric_reading *out);

/* Publishes readings in reg: ksiss_metric_value, _pod_value, _slo,
 * _pressure_ratio and _missing for each metric of svc, labelled with the
 * Knative service's name `service` (not svc->name: one configuration entry
 * may manage many services, by the original's prefix rule). A missing value
 * removes the value and pressure series (no stale numbers) and sets
 * ksiss_metric_missing to 1; pod series of pods no longer in `pods` are
 * removed. */
void ksiss_prom_export_readings(ksiss_metrics *reg, const char *namespace_name, const char *service,
                                const ksiss_service_cfg *svc, const ksiss_metric_reading *r,
                                const char *const *pods);

#endif
