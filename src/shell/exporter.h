/* exporter.h: the HTTP endpoint of a ksiss process (libmicrohttpd):
 * /metrics (text format 0.0.4 from a ksiss_metrics registry), /healthz
 * (always 200 while the server runs) and /readyz (200 once the process
 * says it is ready, 503 before). Runs in its own thread. */
#ifndef KSISS_EXPORTER_H
#define KSISS_EXPORTER_H

#include <stdbool.h>

#include "shell/metrics.h"

typedef struct ksiss_exporter ksiss_exporter;

#define KSISS_EXPORTER_DEFAULT_ADDR ":8080"

/* Starts serving on addr: "HOST:PORT", ":PORT" (every address: IPv6 and
 * IPv4 where the host has IPv6, IPv4 otherwise) or
 * "[IPV6]:PORT"; HOST may be a name that resolves. Port 0 picks a free port
 * (see ksiss_exporter_port). `reg` is borrowed and must outlive the
 * exporter. Returns NULL with *err (caller frees) when the address is
 * invalid or cannot be bound. */
ksiss_exporter *ksiss_exporter_start(const char *addr, ksiss_metrics *reg, char **err);

/* The TCP port actually bound. */
int ksiss_exporter_port(const ksiss_exporter *e);

/* /readyz answers 200 when ready, 503 otherwise (the initial state). */
void ksiss_exporter_set_ready(ksiss_exporter *e, bool ready);

/* Stops the server and frees e (NULL is fine). */
void ksiss_exporter_stop(ksiss_exporter *e);

#endif
