/* exporter.c: the libmicrohttpd server behind /metrics, /healthz and
 * /readyz (see exporter.h). */
#include "shell/exporter.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"

#if MHD_VERSION < 0x00097002
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

struct ksiss_exporter {
    struct MHD_Daemon *daemon;
    ksiss_metrics *reg;
    atomic_bool ready;
    int port;
};

static MHD_RESULT reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
                                                             owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_RESULT rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* /metrics, streamed a family at a time (ksiss_metrics_render_family). */
typedef struct {
    ksiss_metrics *reg;
    int next;                   /* the next family to render */
    ksiss_strbuf buf;           /* the rendered family being sent */
    size_t off;                 /* how much of buf has gone */
} metrics_stream;

static ssize_t metrics_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    metrics_stream *m = cls;
    while (m->off == m->buf.len) {
        if (m->next >= KSISS_M_COUNT)
            return MHD_CONTENT_READER_END_OF_STREAM;
        m->buf.len = 0;
        m->off = 0;
        ksiss_metrics_render_family(m->reg, m->next++, &m->buf);
    }
    size_t n = m->buf.len - m->off < max ? m->buf.len - m->off : max;
    memcpy(out, m->buf.buf + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

static void metrics_done(void *cls)
{
    metrics_stream *m = cls;
    ksiss_sb_free(&m->buf);
    free(m);
}

static MHD_RESULT reply_metrics(struct MHD_Connection *c, ksiss_metrics *reg)
{
    metrics_stream *m = ksiss_xcalloc(1, sizeof(*m));
    m->reg = reg;
    ksiss_sb_init(&m->buf, 0);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, metrics_read, m, metrics_done);
    if (!r) {
        metrics_done(m);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    MHD_RESULT rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static MHD_RESULT handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    ksiss_exporter *e = cls;
    if (*upload_size) {
        *upload_size = 0;   /* bodies are ignored */
        return MHD_YES;
    }
    (void)con_cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "only GET\n", false);
    if (!strcmp(url, "/metrics"))
        return reply_metrics(c, e->reg);
    if (!strcmp(url, "/healthz"))
        return reply(c, MHD_HTTP_OK, "text/plain", "ok\n", false);
    if (!strcmp(url, "/readyz")) {
        if (atomic_load(&e->ready))
            return reply(c, MHD_HTTP_OK, "text/plain", "ready\n", false);
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready\n", false);
    }
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found: try /metrics, /healthz, /readyz\n", false);
}

/* Splits "HOST:PORT" / ":PORT" / "[V6]:PORT" and resolves it. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len, char **err)
{
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        *err = ksiss_xasprintf("listen address '%s': expected HOST:PORT or :PORT", addr);
        return -1;
    }
    int64_t port;
    if (ksiss_parse_int64(colon + 1, &port) < 0 || port < 0 || port > 65535) {
        *err = ksiss_xasprintf("listen address '%s': port must be a number from 0 to 65535", addr);
        return -1;
    }
    char *host = ksiss_xstrndup(addr, (size_t)(colon - addr));
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']') {
            *err = ksiss_xasprintf("listen address '%s': unbalanced '['", addr);
            free(host);
            return -1;
        }
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : "0.0.0.0", NULL, &hints, &res);
    if (rc != 0 || !res) {
        *err = ksiss_xasprintf("listen address '%s': cannot resolve '%s': %s", addr, host, gai_strerror(rc));
        free(host);
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    free(host);
    return 0;
}

static struct MHD_Daemon *start_daemon(ksiss_exporter *e, const struct sockaddr_storage *ss, unsigned extra)
{
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | extra;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, 0, NULL, NULL, handle, e,
                            MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_END);
}

ksiss_exporter *ksiss_exporter_start(const char *addr, ksiss_metrics *reg, char **err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    *err = NULL;
    if (!addr || !*addr)
        addr = KSISS_EXPORTER_DEFAULT_ADDR;
    if (parse_addr(addr, &ss, &len, err) < 0)
        return NULL;
    ksiss_exporter *e = ksiss_xcalloc(1, sizeof(*e));
    e->reg = reg;
    atomic_init(&e->ready, false);
    if (addr[0] == ':') {
        /* ":PORT": every address, IPv6 and IPv4 (dual stack) where the
         * host has IPv6, IPv4 only otherwise. */
        struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
                                    .sin6_port = ((struct sockaddr_in *)&ss)->sin_port};
        struct sockaddr_storage ss6;
        memset(&ss6, 0, sizeof(ss6));
        memcpy(&ss6, &any6, sizeof(any6));
        e->daemon = start_daemon(e, &ss6, MHD_USE_DUAL_STACK);
    }
    if (!e->daemon)
        e->daemon = start_daemon(e, &ss, 0);
    if (!e->daemon) {
        *err = ksiss_xasprintf("cannot listen on %s (address in use or not available here)", addr);
        free(e);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
        e->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                   : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return e;
}

int ksiss_exporter_port(const ksiss_exporter *e)
{
    return e->port;
}

void ksiss_exporter_set_ready(ksiss_exporter *e, bool ready)
{
    atomic_store(&e->ready, ready);
}

void ksiss_exporter_stop(ksiss_exporter *e)
{
    if (!e)
        return;
    MHD_stop_daemon(e->daemon);
    free(e);
}
