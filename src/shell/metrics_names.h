/* metrics_names.h: every metric K-SISS exports, in one table (name, type,
 * help, label names, histogram buckets). The controller and `ksiss query
 * --serve` refer to them by id and only set values; docs/metrics.md
 * describes each. Add new metrics here, nowhere else. */
#ifndef KSISS_METRICS_NAMES_H
#define KSISS_METRICS_NAMES_H

#include <stddef.h>

typedef enum {
    KSISS_MT_GAUGE = 0,
    KSISS_MT_COUNTER,
    KSISS_MT_HISTOGRAM,
} ksiss_metric_type;

#define KSISS_METRIC_MAX_LABELS 5

typedef struct {
    const char *name;
    ksiss_metric_type type;
    const char *help;
    const char *labels[KSISS_METRIC_MAX_LABELS + 1];   /* NULL-terminated */
    const double *buckets;                              /* histograms: upper bounds, ascending */
    size_t n_buckets;
} ksiss_metric_def;

typedef enum {
    KSISS_M_SERVICE_TIER_INFO = 0,      /* gauge 1 {namespace,service,tier,resource} */
    KSISS_M_SERVICE_REPLICAS,           /* gauge {namespace,service,state="ready|starting"} */
    KSISS_M_METRIC_VALUE,               /* gauge {namespace,service,metric}: aggregate */
    KSISS_M_METRIC_POD_VALUE,           /* gauge {namespace,service,metric,pod} */
    KSISS_M_METRIC_SLO,                 /* gauge {namespace,service,metric} */
    KSISS_M_METRIC_PRESSURE_RATIO,      /* gauge {namespace,service,metric} */
    KSISS_M_METRIC_MISSING,             /* gauge 0/1 {namespace,service,metric} */
    KSISS_M_DECISIONS_TOTAL,            /* counter {namespace,service,action,reason} */
    KSISS_M_TRANSITIONS_IN_FLIGHT,      /* gauge {namespace,service} */
    KSISS_M_TRANSITION_DURATION,        /* histogram {namespace,service,outcome} */
    KSISS_M_PROM_QUERY_DURATION,        /* histogram {} */
    KSISS_M_PROM_QUERY_ERRORS_TOTAL,    /* counter {reason} */
    KSISS_M_KUBE_REQUESTS_TOTAL,        /* counter {verb,code} */
    KSISS_M_GPU_FREE,                   /* gauge {gpu_model,resource} */
    KSISS_M_GPU_ALLOCATABLE,            /* gauge {gpu_model,resource} */
    KSISS_M_LEADER,                     /* gauge 0/1 {} */
    KSISS_M_BUILD_INFO,                 /* gauge 1 {version,revision} */
    KSISS_M_LEGACY_GPU_RESOURCE,        /* gauge KubeComp_gpu_resource{revision} (the original's) */
    KSISS_M_PROM_QUERIES_TOTAL,         /* counter {} */
    KSISS_M_TICK_DURATION,              /* histogram {}: tick start to its last service done */
    KSISS_M_TICK_SERVICES,              /* gauge {state="evaluated|skipped"} at the last tick */
    KSISS_M_WORKERS,                    /* gauge {}: worker threads */
    KSISS_M_CACHE_OBJECTS,              /* gauge {resource}: objects in a watch cache */
    KSISS_M_CACHE_BYTES,                /* gauge {resource}: bytes its records take */
    KSISS_M_LEARNED_CAPACITY,           /* gauge {service,tier}: learned capacity per instance (load units) */
    KSISS_M_LEARNED_CAPACITY_SD,        /* gauge {service,tier}: its relative standard deviation */
    KSISS_M_TIER_TOO_SLOW,              /* gauge {service,tier}: a tier too slow for the prompts: their share
                                         * its idle instance misses the TTFT SLO on */
    KSISS_M_COUNT
} ksiss_metric_id;

/* The table, indexed by ksiss_metric_id. */
extern const ksiss_metric_def ksiss_metric_defs[KSISS_M_COUNT];

/* Reasons used in ksiss_prometheus_query_errors_total{reason}. */
#define KSISS_PROM_REASON_CONNECT     "connect"
#define KSISS_PROM_REASON_TIMEOUT     "timeout"
#define KSISS_PROM_REASON_HTTP        "http"
#define KSISS_PROM_REASON_PROMETHEUS  "prometheus"
#define KSISS_PROM_REASON_RESPONSE    "bad_response"
#define KSISS_PROM_REASON_RESULT_TYPE "result_type"
#define KSISS_PROM_REASON_TOO_LARGE   "too_large"
#define KSISS_PROM_REASON_QUERY       "query"
#define KSISS_PROM_REASON_AUTH        "auth"

#endif
