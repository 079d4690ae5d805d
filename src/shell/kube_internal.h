/* kube_internal.h: what kube.c shares with kube_informer.c, leader.c and
 * events.c (the client's private struct and the request primitives). Not
 * for other modules: use kube.h. */
#ifndef KSISS_KUBE_INTERNAL_H
#define KSISS_KUBE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "core/util.h"
#include "shell/kube.h"

/* Idle easy handles kept per client (more in use at once is fine: the
 * extra ones are closed when given back). */
#define KSISS_KUBE_IDLE_HANDLES 16

struct ksiss_kube {
    ksiss_kube_config cfg;          /* own copy; cfg.token guarded by mu when token_file is set */
    ksiss_kube_options opt;         /* defaults filled in */
    char *user_agent;
    pthread_mutex_t mu;             /* token, hook, rng */
    struct timespec token_mtime;
    int64_t token_read_ms;
    ksiss_kube_request_hook hook;
    void *hook_ud;
    uint64_t rng;
    ksiss_kube_write_guard guard;   /* NULL: every write goes */
    void *guard_ud;
    const volatile sig_atomic_t *stop;  /* NULL: none */
    /* Connections are reused: a request takes an idle easy handle from
     * `idle` (each keeps its own open connections between transfers) and
     * gives it back after; a new one is made only when every handle is in
     * use, so there are about as many connections as concurrent requests.
     * The handles share DNS and TLS sessions through `share` (under
     * share_mu, one lock per kind of data); not their connections, which
     * libcurl does not support across threads. */
    pthread_mutex_t idle_mu;
    CURL *idle[KSISS_KUBE_IDLE_HANDLES];
    size_t n_idle;
    CURLSH *share;                  /* NULL when libcurl could not make one */
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

/* What the requests the calling thread makes are exempt from (leader.c):
 * the Lease's writes are how leadership is held, so the write guard does
 * not apply to them; its release on shutdown must go out after the stop
 * flag was set, so it ignores that flag, with a short timeout of its own
 * and no retry instead. Per thread; NULL: nothing exempt. */
typedef struct {
    bool unguarded;                 /* the write guard is not asked */
    bool ignore_stop;               /* the client's stop flag is not looked at */
    int64_t timeout_ms;             /* > 0: the timeout of each attempt, and no retries */
} ksiss_kube__exempt;

void ksiss_kube__set_exempt(const ksiss_kube__exempt *e);

/* Per-transfer state handed to curl callbacks. */
typedef struct {
    ksiss_strbuf body;              /* capped at max_response_bytes (ordinary requests) */
    bool too_large;
    int64_t retry_after_ms;         /* -1 = none */
    bool force_token_reread;
    const int *stop;                /* non-NULL: abort the transfer when *stop != 0 */
    const volatile sig_atomic_t *client_stop;   /* the client's stop flag unless exempt (set by __easy) */
    int64_t watch_timeout_ms;       /* watches only: curl's total timeout */
    const char *setup_error;        /* set by __easy when it returns NULL for a reason other than curl_easy_init */
} ksiss_kube_xfer;

/* A configured easy handle, taken from the client's idle ones or new
 * (give it back with ksiss_kube__release), for `method` on server+path (headers list
 * returned in *hdrs_out: the caller frees it with ksiss_headers_free after
 * the transfer). watch =
 * no body callback installed (the caller sets its own) and the watch
 * timeout. Returns NULL when curl cannot make a handle. */
CURL *ksiss_kube__easy(ksiss_kube *k, const char *method, const char *path, const char *content_type,
                       const char *body, ksiss_kube_xfer *x, bool watch, struct curl_slist **hdrs_out);

/* Gives back a handle from ksiss_kube__easy after its transfer: reset
 * (nothing of the transfer stays in it) and kept with its connections for
 * the next request, or closed when enough are idle. */
void ksiss_kube__release(ksiss_kube *k, CURL *c);

/* One API call with the retry policy; see kube.c. */
int ksiss_kube__request(ksiss_kube *k, const char *verb, const char *method, const char *path,
                        const char *content_type, const char *body, json_t **out, ksiss_kube_error *err);

/* Collection URL path with query (selectors, limit, continue,
 * resourceVersion; watch adds watch=1, allowWatchBookmarks, timeoutSeconds).
 * Caller frees; NULL when the path is impossible. */
char *ksiss_kube__list_url(const ksiss_kube_resource *res, const char *ns, const char *label_selector,
                           const char *field_selector, long limit, const char *cont, const char *rv, bool watch,
                           int64_t timeout_s);

void ksiss_kube__query_add(ksiss_strbuf *sb, bool *first, const char *key, const char *value);
void ksiss_kube__set_error(ksiss_kube_error *e, ksiss_kube_rc rc, long code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ksiss_kube__record(ksiss_kube *k, const char *verb, long code);
double ksiss_kube__jitter(ksiss_kube *k);
/* Reads a small (<= 1 MiB) file; caller frees; NULL and *err on failure. */
char *ksiss_kube__read_small_file(const char *path, bool trim, char **err);

#endif
