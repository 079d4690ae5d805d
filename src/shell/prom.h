/* prom.h: the Prometheus client of the shell: instant queries over libcurl
 * against /api/v1/query (timeouts, optional bearer token / basic auth / CA
 * file, response size cap, HTTP and JSON status checked), and the per-tick
 * read of one service's metrics (one request per metric, pods batched by
 * src/core/promql.c where the query's shape allows). Credentials are never
 * written into messages. */
#ifndef KSISS_PROM_H
#define KSISS_PROM_H

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

/* Accepts a base URL ("http://prom:9090", with or without a trailing
 * slash) or the full query URL and returns the query URL (caller frees);
 * NULL with *err for a URL that is not http(s). */
char *ksiss_prom_normalize_url(const char *url, char **err);

/* The URL with any user:password@ part replaced by "***@" (caller frees):
 * the only form in which a URL goes into a message. */
char *ksiss_prom_redact_url(const char *url);

typedef struct ksiss_prom ksiss_prom;

/* A client for o (copied; o may be freed after). NULL with *err when o has
 * no URL. Free with ksiss_prom_free. Not thread-safe: one per thread. */
ksiss_prom *ksiss_prom_new(const ksiss_prom_opts *o, char **err);
void ksiss_prom_free(ksiss_prom *c);

typedef struct {
    char *pod;          /* value of the label asked for, NULL when absent */
    char *series;       /* the labels as {a="b",...}, for display */
    double value;       /* as Prometheus wrote it: NaN and infinities kept */
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

/* Publishes readings in reg: ksiss_metric_value, _pod_value, _slo,
 * _pressure_ratio and _missing for each metric of svc. A missing value
 * removes the value and pressure series (no stale numbers) and sets
 * ksiss_metric_missing to 1; pod series of pods no longer in `pods` are
 * removed. */
void ksiss_prom_export_readings(ksiss_metrics *reg, const char *namespace_name, const ksiss_service_cfg *svc,
                                const ksiss_metric_reading *r, const char *const *pods);

#endif
