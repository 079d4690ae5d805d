/* config.h: the K-SISS configuration: the autoscaler ConfigMap (the
 * original's list format and our extended mapping format), and the
 * environment variables of the original (COMPATIBILITY.md). Pure: parses
 * text and name/value lookups handed in by the shell; every problem becomes
 * a positioned diagnostic. */
#ifndef KSISS_CONFIG_H
#define KSISS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/tiers.h"

typedef enum {
    KSISS_LOWER_IS_BETTER = 0,  /* latency, queue length: value/slo is the pressure */
    KSISS_HIGHER_IS_BETTER,     /* throughput: slo/value is the pressure */
} ksiss_direction;

typedef enum {
    KSISS_AGG_MAX = 0,          /* default: the worst pod decides */
    KSISS_AGG_AVG,
    KSISS_AGG_SUM,
} ksiss_aggregate;

/* Which relative throughput of a tier scales a load measure. */
typedef enum {
    KSISS_THROUGHPUT_DECODE = 0,   /* generated tokens/s (memory-bandwidth bound) */
    KSISS_THROUGHPUT_PREFILL,      /* prompt tokens/s (compute bound) */
} ksiss_throughput_kind;

typedef struct {
    char *name;
    char *query;                /* as written; placeholders %s {pod} {service} {namespace} {revision} */
    double slo;                 /* > 0, finite */
    double scale_up_factor;     /* >= 1: pressure above it asks for more capacity */
    double scale_down_factor;   /* (0, 1]: pressure below it allows less */
    ksiss_direction direction;
    ksiss_aggregate aggregate;
    ksiss_pos pos;              /* position of the entry in the user's file */
} ksiss_metric_cfg;

/* The series a learned capacity reads (core/capacity_learn.h), one query
 * each, in this order. */
enum {
    KSISS_LQ_TTFT = 0,          /* mean time to first token, s */
    KSISS_LQ_PROMPT,            /* mean prompt tokens per request */
    KSISS_LQ_REQUESTS,          /* completed requests/s, all instances */
    KSISS_LQ_RUNNING,           /* mean running batch per instance */
    KSISS_LQ_TPOT,              /* mean time per output token, s */
    KSISS_LQ_PROMPT_HIST,       /* the prompt-length histogram per bucket: cumulative rates by `le` (its value
                                 * read: 1 + c^2 of the prompts, core/capacity_learn.h ksiss_learn_prompt_hist);
                                 * optional: NULL keeps k's fallback prior */
    KSISS_LQ_PREFILL,           /* seconds of prefill per prompt token of the finished requests (the prefill
                                 * read apart from the wait); optional: NULL splits TTFT with the queue's model */
    KSISS_LQ_N,
};
/* ttft, promptTokens, requests, running, tpot, promptHistogram, prefillPerToken */
extern const char *const ksiss_learn_query_keys[KSISS_LQ_N];

/* Optional load signal (POLICY-NOTES: size from load, correct with SLO
 * feedback). */
typedef struct {
    char *query;                /* total load of the service, e.g. sum(rate(vllm:generation_tokens_total{...}[1m])) */
    double per_gpu;             /* load one whole GPU of the model sustains within the SLO; 0: not given (learned) */
    bool learn;                 /* learn each tier's capacity (core/capacity_learn.h): perGpu absent, or learn: true
                                 * (perGpu is then the starting point) */
    char *server;               /* learnQueries.server: "vllm" (default) or "tgi": whose defaults; owned */
    char *learn_queries[KSISS_LQ_N];    /* the series the learning reads (placeholders as any query); owned;
                                         * set when learn, the server's defaults unless learnQueries gives one
                                         * (promptHistogram: "" gives none: NULL) */
    bool per_revision;          /* every learn query reads {revision}'s pods (set with them; see below) */
    ksiss_throughput_kind throughput;
    double target_utilization;  /* (0, 1]; default 0.8 */
    ksiss_pos pos;
} ksiss_load_cfg;

/* True when every learn query reads the latest ready revision's series
 * (has `{revision}`), as the defaults do: a tier change's new revision can
 * then be learned while the old one still serves. Worked out once, when
 * the queries are set (l->per_revision), not at every tick. */
bool ksiss_learn_per_revision(const ksiss_load_cfg *l);

/* A load that learns without its learnQueries parsed for learning (the
 * simulator's --no-per-gpu on a configuration with perGpu, which has at
 * most the prompt-length histogram's): the server's defaults (vLLM's
 * unless learnQueries.server said tgi) for every query not set. No-op
 * when they were parsed for learning (the TTFT query is set). */
void ksiss_learn_queries_default(ksiss_load_cfg *l);

typedef struct {
    char *name;                 /* the ConfigMap key: a Knative Service name */
    bool legacy;                /* written in the original's list format */
    ksiss_metric_cfg *metrics;
    size_t n_metrics;
    bool has_load;
    ksiss_load_cfg load;
    char *gpu_model;            /* NULL: the catalogue's default model */
    const ksiss_tier **ladder;  /* allowed tiers, ascending, borrowed from the catalogue; all of the model's when `tiers:` is absent */
    size_t n_ladder;
    int min_replicas;           /* default 1 */
    int max_replicas;           /* default 1 for legacy services (vertical only, as the original), 8 otherwise */
    double model_memory_gib;    /* 0 = unknown: every tier may be chosen */
    double slo_target;          /* share of requests that should meet the SLO, (0, 1); default 0.99 */
    int64_t cooldown_up_ms;
    int64_t cooldown_down_ms;
    int64_t stabilization_up_ms;
    int64_t stabilization_down_ms;
    int64_t stale_after_ms;     /* observations older than this count as missing */
    char *policy;               /* name in the policy table; default "ksiss" */
    ksiss_pos pos;              /* position of the key */
} ksiss_service_cfg;

typedef struct {
    ksiss_service_cfg *services;
    size_t n_services;
} ksiss_config;

/* Defaults (documented in README "Configuration reference"). */
#define KSISS_DEFAULT_COOLDOWN_UP_MS        30000
#define KSISS_DEFAULT_COOLDOWN_DOWN_MS     120000
#define KSISS_DEFAULT_STABILIZATION_UP_MS       0
#define KSISS_DEFAULT_STABILIZATION_DOWN_MS 300000
#define KSISS_DEFAULT_STABILIZATION_DOWN_LOAD_MS 180000  /* services with a load: signal */
#define KSISS_DEFAULT_STALE_AFTER_MS       120000
#define KSISS_DEFAULT_TARGET_UTILIZATION      0.8
#define KSISS_DEFAULT_SLO_TARGET              0.99

/* Parses a ConfigMap manifest (one YAML document of several; the first
 * ConfigMap found, or the one named `configmap_name` when not NULL), or a
 * bare mapping of its `data` section. `cat` may have been extended by the
 * ConfigMap's reserved key `ksiss.catalog` (the parser does that itself,
 * so pass a catalogue it may modify). Collects every problem into *d.
 * Returns 0 when valid, -1 otherwise (*out then holds what was valid, and
 * must still be freed). The catalogue must outlive *out (ladders borrow). */
int ksiss_config_parse(const char *text, size_t len, const char *file,
                       const char *configmap_name, ksiss_catalog *cat,
                       ksiss_config *out, ksiss_diags *d);

/* Parses a bare `data` mapping given as name/value pairs (as read from the
 * Kubernetes API's ConfigMap JSON). Positions in diagnostics are relative
 * to each value, prefixed by "configmap NAME key KEY". Same contract as
 * ksiss_config_parse. */
int ksiss_config_parse_data(const char *const *keys, const char *const *values, size_t n,
                            const char *source, ksiss_catalog *cat,
                            ksiss_config *out, ksiss_diags *d);

/* Parses the `data` of a ConfigMap object as the Kubernetes API returns it
 * (borrowed; non-string values are ignored, as the API never sends them).
 * Same contract as ksiss_config_parse_data. */
struct json_t;
int ksiss_config_parse_configmap_json(const struct json_t *configmap, const char *source, ksiss_catalog *cat,
                                      ksiss_config *out, ksiss_diags *d);

void ksiss_config_free(ksiss_config *cfg);

/* ---- added by the configuration (src/core/catalog_ext.c) ---- */

struct ksiss_ynode;
/* ksiss_catalog_extend over an already parsed catalogue document (a
 * mapping written directly under `ksiss.catalog` in a bare file). Same
 * contract: every problem in *d, cat unchanged unless it returns 0. */
int ksiss_catalog_extend_node(ksiss_catalog *cat, const struct ksiss_ynode *doc,
                              const char *file, ksiss_diags *d);

/* Service by exact name; otherwise, for backward compatibility, the
 * original's rule (the part of `name` before the first '-') when that key
 * exists: *by_prefix is set so the caller can log it. NULL when neither. */
const ksiss_service_cfg *ksiss_config_find(const ksiss_config *cfg, const char *name, bool *by_prefix);

const char *ksiss_direction_name(ksiss_direction d);
const char *ksiss_aggregate_name(ksiss_aggregate a);

/* ---- environment (COMPATIBILITY.md) ---- */

typedef struct {
    int64_t interval_ms;        /* METRICS_SCRAPE_INTERVAL (seconds), default 10 */
    char *namespace_name;       /* NAMESPACE, default "default" */
    char **ignore;              /* IGNORE_LIST, comma-separated substrings */
    size_t n_ignore;
    char *config_map_name;      /* CONFIG_MAP_NAME, default "autoscaler-config" */
    char *prometheus_url;       /* PROMETHEUS_URL, normalized to end in /api/v1/query */
    char *default_cpu;          /* DEFAULT_CPU, default "1" */
    char *default_memory;       /* DEFAULT_MEMORY, default "10Gi" */
} ksiss_env;

typedef const char *(*ksiss_getenv_fn)(const char *name, void *ctx);

/* Reads the variables through `get` (the shell passes getenv). Invalid
 * values are diagnostics naming the variable. Returns 0 or -1; *out is
 * filled either way (defaults where a value is invalid): ksiss_env_free it
 * after -1 too. */
int ksiss_env_parse(ksiss_getenv_fn get, void *ctx, ksiss_env *out, ksiss_diags *d);
void ksiss_env_free(ksiss_env *env);
/* The first IGNORE_LIST substring that `service` contains (borrowed from
 * env), or NULL when none does (an empty pattern matches nothing; env or
 * service NULL: NULL). */
const char *ksiss_env_ignored(const ksiss_env *env, const char *service);

/* ---- the Prometheus URL (PROMETHEUS_URL and every --prometheus flag) ---- */

#define KSISS_PROMETHEUS_QUERY_PATH "/api/v1/query"
/* The original's in-cluster Prometheus: PROMETHEUS_URL's default. */
#define KSISS_DEFAULT_PROMETHEUS_URL \
    "http://prometheus-kube-prometheus-prometheus.monitoring.svc.cluster.local:9090" KSISS_PROMETHEUS_QUERY_PATH

/* The one normalizer of a Prometheus URL: "http(s)://[user[:password]@]
 * host[:port][/prefix]" followed by nothing, "/api/v1" or "/api/v1/query",
 * each with or without trailing slashes, becomes
 * "http(s)://...host[:port][/prefix]/api/v1/query" (a new string, caller
 * frees). Refused, NULL with *why (a static phrase to follow the URL in a
 * message): another scheme, no host ("http://"), an invalid port, spaces
 * or control characters, a query string or a fragment (ksiss sends the
 * query as form data). Idempotent. */
char *ksiss_prometheus_url_normalize(const char *url, const char **why);
/* url with any "user:password@" before the host replaced by "***@" (caller
 * frees): the only form in which a URL goes into a message. */
char *ksiss_url_redact(const char *url);

#endif
