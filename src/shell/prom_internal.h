/* prom_internal.h: what the files of the Prometheus client share (not for
 * use outside src/shell/prom*.c):
 *   prom_opts.c      its settings: defaults, PROMETHEUS_* variables, the URL
 *   prom_client.c    the HTTP client: one instant query over libcurl
 *   prom_response.c  the parser of /api/v1/query answers
 *   prom_read.c      the per-tick read of one service's metrics
 *   prom_export.c    those readings as exported series
 *   prom_batch.c     queries batched across services */
#ifndef KSISS_PROM_INTERNAL_H
#define KSISS_PROM_INTERNAL_H

#include "shell/prom.h"

/* A deep copy of src into dst (dst's old contents are not freed). */
void ksiss_prom__opts_copy(ksiss_prom_opts *dst, const ksiss_prom_opts *src);

/* Marks r failed: its samples dropped, reason (static text) and msg
 * (taken; NULL for none) kept. Returns -1. */
int ksiss_prom__fail(ksiss_prom_result *r, const char *reason, char *msg);

#endif
