/* metrics.h: a small thread-safe metrics registry (gauges, counters,
 * histograms with labels, as defined in metrics_names.h) and its rendering
 * in the Prometheus text exposition format 0.0.4. The controller sets
 * values from its thread; the exporter renders from libmicrohttpd's. */
#ifndef KSISS_METRICS_H
#define KSISS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#include "shell/metrics_names.h"

typedef struct ksiss_metrics ksiss_metrics;

/* Label values for a series, in the order of the metric's label names. */
#define KSISS_LABELS(...) ((const char *const[]){__VA_ARGS__})

/* A registry holding every metric of the table; no-label counters,
 * gauges and histograms start at 0, ksiss_build_info is set. Caller frees
 * with ksiss_metrics_free. */
ksiss_metrics *ksiss_metrics_new(void);
void ksiss_metrics_free(ksiss_metrics *m);

/* `labels` (borrowed, copied when a series is created) has exactly as many
 * entries as the metric has labels (may be NULL for none); no entry may be
 * NULL. All return 0, or -1 for a wrong type, a NULL label value or a
 * negative counter increment (nothing changes then). */
int ksiss_metrics_set(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double value);   /* gauges */
int ksiss_metrics_add(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double delta);   /* counters, gauges */
int ksiss_metrics_observe(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double value); /* histograms */

/* Current value of a gauge/counter, or the observation count of a
 * histogram. Returns 0, or -1 when the series does not exist. */
int ksiss_metrics_get(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels, double *out);

/* Removes one series; returns 1 when it existed, 0 otherwise. */
int ksiss_metrics_remove(ksiss_metrics *m, ksiss_metric_id id, const char *const *labels);

/* Removes every series of metric id for which drop(labels, ud) is true
 * (labels: the series' values in the metric's label order, borrowed for
 * the call; drop runs with the registry locked and must not call it).
 * Returns how many were removed. */
size_t ksiss_metrics_remove_if(ksiss_metrics *m, ksiss_metric_id id,
                               bool (*drop)(const char *const *labels, void *ud), void *ud);

/* The same, visiting only the series whose first two labels are label0
 * and label1 (e.g. namespace and service): a hash lookup, not a scan of
 * the whole family. Metrics with fewer than two labels: nothing done. */
size_t ksiss_metrics_remove_if_group(ksiss_metrics *m, ksiss_metric_id id, const char *label0, const char *label1,
                                     bool (*drop)(const char *const *labels, void *ud), void *ud);

/* Removes every series, of every metric, whose label `service` equals
 * service and (when namespace_name is not NULL) whose `namespace` equals
 * it: call when a service disappears. Returns how many were removed. */
size_t ksiss_metrics_remove_service(ksiss_metrics *m, const char *namespace_name, const char *service);

/* Distinct label values the registry stores (each once, shared by every
 * series that has it; freed with the last one). */
size_t ksiss_metrics_label_values(ksiss_metrics *m);

/* The whole registry in the text format 0.0.4. Caller frees. */
char *ksiss_metrics_render(ksiss_metrics *m);

/* Appends one family (id in 0..KSISS_M_COUNT-1; others append nothing) to
 * sb, under the registry's lock for that family only: the exporter streams
 * /metrics a family at a time instead of holding the whole text (tens of
 * MB at 10,000 services) and the lock for all of it. */
void ksiss_metrics_render_family(ksiss_metrics *m, int id, ksiss_strbuf *sb);

/* Writes v as the text format writes sample values (NaN, +Inf, -Inf,
 * shortest round-tripping decimal otherwise) into buf of size >= 32. */
void ksiss_metrics_format_value(double v, char *buf, size_t size);

#endif
