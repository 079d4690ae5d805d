/* serve_port.h: what the loopback stand-in servers of the test suites
 * (fake_inference, sec_tool, the bench's metrics source) share once their
 * libmicrohttpd daemon listens: publish the bound port in a file for the
 * suite to read, then serve until SIGINT or SIGTERM. */
#ifndef KSISS_TEST_SERVE_PORT_H
#define KSISS_TEST_SERVE_PORT_H

#include <microhttpd.h>

/* Writes the daemon's bound port to port_file (via port_file.tmp and a
 * rename, so a reader never sees a partial file), installs the SIGINT and
 * SIGTERM handlers and, when port is not NULL, stores the port there.
 * Returns 0, or 1 with "WHO: why" on stderr. The daemon stays running. */
int itest_publish_port(struct MHD_Daemon *d, const char *port_file, const char *who, unsigned *port);

/* Returns once SIGINT or SIGTERM has arrived (polling every 50 ms); the
 * caller then stops its daemon. */
void itest_wait_for_signal(void);

#endif
