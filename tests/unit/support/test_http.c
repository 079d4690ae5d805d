/* test_http.c: the plumbing of the unit tests' stand-in HTTP servers (see
 * test_http.h). */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/util.h"
#include "test_http.h"

static void body_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    ksiss_strbuf *in = *con_cls;
    if (in) {
        ksiss_sb_free(in);
        free(in);
    }
    *con_cls = NULL;
}

struct MHD_Daemon *test_http_start(MHD_AccessHandlerCallback handler, void *cls, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, cls,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                            MHD_OPTION_NOTIFY_COMPLETED, body_done, NULL, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in b;
    socklen_t bl = sizeof(b);
    if (!info || getsockname(info->listen_fd, (struct sockaddr *)&b, &bl) != 0) {
        MHD_stop_daemon(d);
        return NULL;
    }
    *port = ntohs(b.sin_port);
    return d;
}

const char *test_http_body(void **con_cls, const char *upload, size_t *upload_size)
{
    ksiss_strbuf *in = *con_cls;
    if (!in) {
        in = ksiss_xcalloc(1, sizeof(*in));
        ksiss_sb_init(in, 0);
        *con_cls = in;
        return NULL;
    }
    if (*upload_size) {
        ksiss_sb_append(in, upload, *upload_size);
        *upload_size = 0;
        return NULL;
    }
    return ksiss_sb_str(in);
}

char *test_http_form_query(const char *body)
{
    if (!ksiss_str_has_prefix(body, "query="))
        return NULL;
    int n = 0;
    char *dec = curl_easy_unescape(NULL, body + 6, 0, &n);
    char *q = ksiss_xstrndup(dec, (size_t)n);
    curl_free(dec);
    return q;
}

MHD_RESULT test_http_reply_json(struct MHD_Connection *c, unsigned status, char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_RESULT rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}
