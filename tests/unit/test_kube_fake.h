/* test_kube_fake.h: a scripted stand-in for the Kubernetes API server on
 * 127.0.0.1 (libmicrohttpd, a free port picked by the kernel) for the
 * client tests: each request takes the first unused scripted response whose
 * method and path prefix match, and is recorded (method, URL with query,
 * Authorization and Content-Type headers, body); the TCP connections it
 * accepts are counted. Header-only, static. */
#ifndef TEST_KUBE_FAKE_H
#define TEST_KUBE_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "core/util.h"

#define FAKE_MAX 64

typedef struct {
    const char *method;         /* "GET", ... */
    const char *path_prefix;    /* matched against the path (query included) */
    unsigned status;
    const char *body;           /* sent as is; NULL = "" */
    const char *retry_after;    /* Retry-After header, or NULL */
    bool used;
    unsigned delay_ms;          /* answer only after this long (timeouts) */
} fake_reply;

typedef struct {
    char *method, *url, *auth, *content_type, *body;
} fake_req;

typedef struct {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    fake_reply replies[FAKE_MAX];
    size_t n_replies;
    fake_req reqs[FAKE_MAX];
    size_t n_reqs;
    size_t n_conns;             /* TCP connections accepted */
} fake_server;

typedef struct {
    ksiss_strbuf body;
} fake_conn;

static __attribute__((unused)) enum MHD_Result fake_collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    ksiss_strbuf *sb = cls;
    ksiss_sb_putc(sb, strchr(ksiss_sb_str(sb), '?') ? '&' : '?');
    ksiss_sb_puts(sb, key);
    if (value) {
        ksiss_sb_putc(sb, '=');
        ksiss_sb_puts(sb, value);
    }
    return MHD_YES;
}

static __attribute__((unused)) enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *version, const char *upload, size_t *upload_size, void **ptr)
{
    (void)version;
    fake_server *fs = cls;
    fake_conn *fc = *ptr;
    if (!fc) {
        fc = ksiss_xcalloc(1, sizeof *fc);
        ksiss_sb_init(&fc->body, 1 << 20);
        ksiss_sb_puts(&fc->body, "");
        *ptr = fc;
        return MHD_YES;
    }
    if (*upload_size) {
        ksiss_sb_append(&fc->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    ksiss_strbuf full;
    ksiss_sb_init(&full, 0);
    ksiss_sb_puts(&full, url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, fake_collect_query, &full);
    pthread_mutex_lock(&fs->mu);
    if (fs->n_reqs < FAKE_MAX) {
        fake_req *r = &fs->reqs[fs->n_reqs++];
        r->method = ksiss_xstrdup(method);
        r->url = ksiss_xstrdup(ksiss_sb_str(&full));
        r->auth = ksiss_xstrdup(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
        r->content_type = ksiss_xstrdup(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"));
        r->body = ksiss_xstrdup(ksiss_sb_str(&fc->body));
    }
    fake_reply *rep = NULL;
    for (size_t i = 0; i < fs->n_replies; i++) {
        fake_reply *x = &fs->replies[i];
        if (!x->used && !strcmp(x->method, method) && ksiss_str_has_prefix(ksiss_sb_str(&full), x->path_prefix)) {
            x->used = true;
            rep = x;
            break;
        }
    }
    pthread_mutex_unlock(&fs->mu);
    ksiss_sb_free(&full);
    if (rep && rep->delay_ms) {
        struct timespec ts = {rep->delay_ms / 1000, (long)(rep->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    const char *body = rep ? (rep->body ? rep->body : "") : "{\"kind\":\"Status\",\"message\":\"unscripted\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (rep && rep->retry_after)
        MHD_add_response_header(resp, "Retry-After", rep->retry_after);
    enum MHD_Result ret = MHD_queue_response(c, rep ? rep->status : 500, resp);
    MHD_destroy_response(resp);
    return ret;
}

static __attribute__((unused)) void fake_completed(void *cls, struct MHD_Connection *c, void **ptr, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    fake_conn *fc = *ptr;
    if (fc) {
        ksiss_sb_free(&fc->body);
        free(fc);
        *ptr = NULL;
    }
}

static __attribute__((unused)) void fake_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                                                    enum MHD_ConnectionNotificationCode code)
{
    (void)c;
    (void)socket_ctx;
    fake_server *fs = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&fs->mu);
        fs->n_conns++;
        pthread_mutex_unlock(&fs->mu);
    }
}

static fake_server *fake_start(void)
{
    fake_server *fs = ksiss_xcalloc(1, sizeof *fs);
    pthread_mutex_init(&fs->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fs->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                             fake_handler, fs, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_NOTIFY_COMPLETED, fake_completed, fs,
                             MHD_OPTION_NOTIFY_CONNECTION, fake_connection, fs, MHD_OPTION_END);
    if (!fs->d) {
        free(fs);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fs->d, MHD_DAEMON_INFO_BIND_PORT);
    fs->port = info ? info->port : 0;
    return fs;
}

static __attribute__((unused)) void fake_add(fake_server *fs, const char *method, const char *path_prefix, unsigned status, const char *body,
                     const char *retry_after)
{
    pthread_mutex_lock(&fs->mu);
    if (fs->n_replies < FAKE_MAX)
        fs->replies[fs->n_replies++] = (fake_reply){method, path_prefix, status, body, retry_after, false, 0};
    pthread_mutex_unlock(&fs->mu);
}

/* Like fake_add, answering only after delay_ms. */
static __attribute__((unused)) void fake_add_delayed(fake_server *fs, const char *method, const char *path_prefix,
                                                     unsigned status, const char *body, unsigned delay_ms)
{
    pthread_mutex_lock(&fs->mu);
    if (fs->n_replies < FAKE_MAX)
        fs->replies[fs->n_replies++] = (fake_reply){method, path_prefix, status, body, NULL, false, delay_ms};
    pthread_mutex_unlock(&fs->mu);
}

static __attribute__((unused)) size_t fake_count(fake_server *fs)
{
    pthread_mutex_lock(&fs->mu);
    size_t n = fs->n_reqs;
    pthread_mutex_unlock(&fs->mu);
    return n;
}

static __attribute__((unused)) size_t fake_conns(fake_server *fs)
{
    pthread_mutex_lock(&fs->mu);
    size_t n = fs->n_conns;
    pthread_mutex_unlock(&fs->mu);
    return n;
}

static __attribute__((unused)) void fake_stop(fake_server *fs)
{
    if (!fs)
        return;
    MHD_stop_daemon(fs->d);
    for (size_t i = 0; i < fs->n_reqs; i++) {
        free(fs->reqs[i].method);
        free(fs->reqs[i].url);
        free(fs->reqs[i].auth);
        free(fs->reqs[i].content_type);
        free(fs->reqs[i].body);
    }
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

#endif
