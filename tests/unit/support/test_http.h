/* test_http.h: the plumbing of the unit tests' stand-in HTTP servers
 * (libmicrohttpd on a free loopback port: a stand-in Prometheus in
 * test_prom.c and test_prom_batch.c). Linked into every unit test. */
#ifndef KSISS_TEST_HTTP_H
#define KSISS_TEST_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

#if MHD_VERSION < 0x00097002
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

/* Starts a daemon with its own polling thread on 127.0.0.1, a free port
 * (stored in *port), calling `handler` with `cls`; what test_http_body
 * gathers is freed when each request completes. NULL when it cannot. */
struct MHD_Daemon *test_http_start(MHD_AccessHandlerCallback handler, void *cls, int *port);

/* In the access handler: gathers the request body across calls. NULL while
 * it is still arriving (the handler then returns MHD_YES at once); the
 * whole body (NUL-terminated) once the request is ready to be answered. */
const char *test_http_body(void **con_cls, const char *upload, size_t *upload_size);

/* The URL-decoded value of a form body that starts with `query=`, else
 * NULL. Caller frees. */
char *test_http_form_query(const char *body);

/* Answers `status` with `body` (taken over, freed by microhttpd) as
 * application/json. */
MHD_RESULT test_http_reply_json(struct MHD_Connection *c, unsigned status, char *body);

#endif
