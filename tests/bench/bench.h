/* bench.h: shared parts of ksiss-bench, the scale benchmark's tool
 * (make bench-scale, docs/bench.md): a small keep-alive HTTP client for the
 * kube-apiserver and Prometheus, and the subcommands populate, source,
 * latency and count. Test tooling only, never part of the product. */
#ifndef KSISS_BENCH_H
#define KSISS_BENCH_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

/* One keep-alive connection (one CURL handle: reuses its TLS session and
 * socket). Not thread-safe: one per thread. */
typedef struct {
    CURL *c;
    char *base;         /* "https://127.0.0.1:16443" (no trailing slash) */
    char *ca_file;      /* NULL: plain http */
    char *auth;         /* "Authorization: Bearer ..." or NULL */
} bench_conn;

/* Connection options shared by the subcommands. */
typedef struct {
    const char *server;
    const char *ca_file;
    const char *token_file;
} bench_api;

int bench_conn_init(bench_conn *bc, const char *base, const char *ca_file, const char *token_file, char **err);
void bench_conn_free(bench_conn *bc);
/* One request; path is appended to base. body may be NULL. Returns the
 * HTTP status (0 when no response: *err says why); *resp (may be NULL)
 * gets the body, the caller frees it with ksiss_sb_free. */
long bench_req(bench_conn *bc, const char *method, const char *path, const char *content_type, const char *body,
               ksiss_strbuf *resp, char **err);
/* JSON convenience: returns the HTTP status, *out the parsed body (NULL
 * when not JSON). */
long bench_req_json(bench_conn *bc, const char *method, const char *path, const char *content_type,
                    const json_t *body, json_t **out, char **err);

/* Milliseconds since the epoch (CLOCK_REALTIME: comparable across
 * processes and with the controller's log timestamps). */
int64_t bench_now_ms(void);
char *bench_read_file(const char *path, char **err);
/* "--flag value" lookup; NULL when absent. */
const char *bench_arg(int argc, char **argv, const char *flag);
long bench_arg_long(int argc, char **argv, const char *flag, long dflt);
double bench_arg_double(int argc, char **argv, const char *flag, double dflt);

int bench_populate(int argc, char **argv);
int bench_source(int argc, char **argv);
int bench_latency(int argc, char **argv);
int bench_count(int argc, char **argv);

#endif
