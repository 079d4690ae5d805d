/* sec_tool.c: helpers for the security test
 * (tests/integration/security_test.sh), so that it needs no curl, jq or
 * python:
 *   sec_tool serve --port-file F --log F [--status N] [--body TEXT]
 *                  [--cert PEM --key PEM] [--addr IPV4]
 *       a loopback stand-in server answering every request with one fixed
 *       status and body, over plain HTTP or TLS with the given certificate;
 *       it appends one line per request received to the log ("METHOD URL
 *       auth=<scheme or none>"), so the test can tell whether a TLS
 *       handshake got through and whether credentials were presented,
 *       without the log holding the credentials. Binds ADDR (default
 *       127.0.0.1) on a free port, writes the port to --port-file, runs
 *       until SIGTERM/SIGINT.
 *   sec_tool pod-value FILE INDEX POD
 *       prints metrics[INDEX].pods[POD] of a `ksiss query --json` output
 *       (any POD text, newlines and dots included); "null" for null;
 *       exit 1 when absent.
 *   sec_tool listeners PORT
 *       prints, one a line, the local address of every TCP socket listening
 *       on PORT (from /proc/net/tcp and /proc/net/tcp6). */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve_port.h"

#if MHD_VERSION < 0x00097002
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

typedef struct {
    unsigned status;
    const char *body;
    FILE *log;
    pthread_mutex_t mu;
} server;

/* Reads a whole small file (a PEM); NULL on error. Caller frees. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    char chunk[4096];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + got + 1 > cap) {
            cap = (n + got + 1) * 2;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static MHD_RESULT handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload, size_t *upload_len, void **ctx)
{
    (void)version;
    (void)upload;
    server *s = cls;
    if (!*ctx) {            /* first call: headers only */
        *ctx = s;
        return MHD_YES;
    }
    if (*upload_len) {      /* swallow the form body (POST /api/v1/query) */
        *upload_len = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    char scheme[16] = "none";
    if (auth) {
        size_t i = 0;
        while (auth[i] && auth[i] != ' ' && i + 1 < sizeof scheme) {
            scheme[i] = auth[i];
            i++;
        }
        scheme[i] = '\0';
    }
    pthread_mutex_lock(&s->mu);
    fprintf(s->log, "%s %s auth=%s\n", method, url, scheme);
    fflush(s->log);
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s->body), (void *)s->body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_RESULT rc = MHD_queue_response(c, s->status, r);
    MHD_destroy_response(r);
    return rc;
}

static int serve(int argc, char **argv)
{
    server s = {.status = 200, .body = "{}"};
    const char *port_file = NULL, *log_file = NULL, *cert = NULL, *key = NULL, *addr = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--log"))
            log_file = argv[i + 1];
        else if (!strcmp(argv[i], "--status"))
            s.status = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--body"))
            s.body = argv[i + 1];
        else if (!strcmp(argv[i], "--cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--addr"))
            addr = argv[i + 1];
    }
    if (!port_file || !log_file || s.status < 100 || s.status > 599 || !cert != !key) {
        fprintf(stderr, "usage: sec_tool serve --port-file F --log F [--status N] [--body TEXT] "
                        "[--cert PEM --key PEM] [--addr IPV4]\n");
        return 2;
    }
    s.log = fopen(log_file, "a");
    if (!s.log) {
        perror(log_file);
        return 1;
    }
    pthread_mutex_init(&s.mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "sec_tool serve: bad address %s\n", addr);
        return 2;
    }
    char *cert_pem = NULL, *key_pem = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "sec_tool serve: this libmicrohttpd has no TLS\n");
            return 1;
        }
        cert_pem = slurp(cert);
        key_pem = slurp(key);
        if (!cert_pem || !key_pem) {
            fprintf(stderr, "sec_tool serve: cannot read %s or %s\n", cert, key);
            return 1;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_Daemon *d =
        cert ? MHD_start_daemon(flags, 0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END)
             : MHD_start_daemon(flags, 0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sec_tool serve: cannot listen on %s\n", addr);
        return 1;
    }
    if (itest_publish_port(d, port_file, "sec_tool serve", NULL) != 0) {
        MHD_stop_daemon(d);
        return 1;
    }
    itest_wait_for_signal();
    MHD_stop_daemon(d);
    fclose(s.log);
    free(cert_pem);
    free(key_pem);
    return 0;
}

static int pod_value(const char *file, const char *index, const char *pod)
{
    json_error_t e;
    json_t *root = json_load_file(file, 0, &e);
    if (!root) {
        fprintf(stderr, "sec_tool: %s:%d: %s\n", file, e.line, e.text);
        return 2;
    }
    json_t *m = json_array_get(json_object_get(root, "metrics"), strtoul(index, NULL, 10));
    json_t *v = json_object_get(json_object_get(m, "pods"), pod);    /* borrowed */
    int rc = 0;
    if (!v)
        rc = 1;
    else if (json_is_null(v))
        printf("null\n");
    else if (json_is_number(v))
        printf("%.17g\n", json_number_value(v));
    else
        rc = 1;
    json_decref(root);
    return rc;
}

/* Listening sockets on a port: /proc/net/tcp{,6} lines "sl local rem st ...",
 * local as HEXADDR:HEXPORT (IPv4: one little-endian 32-bit word; IPv6: four
 * of them), state 0A = LISTEN. */
static int listeners(const char *port_text)
{
    unsigned long want = strtoul(port_text, NULL, 10);
    const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int f = 0; f < 2; f++) {
        FILE *in = fopen(files[f], "r");
        if (!in)
            continue;
        char line[512];
        if (!fgets(line, sizeof line, in)) {
            fclose(in);
            continue;
        }
        while (fgets(line, sizeof line, in)) {
            char local[64], remote[64], st[8];
            if (sscanf(line, " %*[^:]: %63s %63s %7s", local, remote, st) != 3 || strcmp(st, "0A"))
                continue;
            char *colon = strrchr(local, ':');
            if (!colon || strtoul(colon + 1, NULL, 16) != want)
                continue;
            *colon = '\0';
            size_t words = strlen(local) / 8;
            unsigned char bytes[16];
            for (size_t w = 0; w < words && w < 4; w++) {
                char hex[9];
                memcpy(hex, local + 8 * w, 8);
                hex[8] = '\0';
                uint32_t v = (uint32_t)strtoul(hex, NULL, 16);  /* host order of the kernel's word */
                memcpy(bytes + 4 * w, &v, 4);
            }
            char text[INET6_ADDRSTRLEN];
            inet_ntop(words == 1 ? AF_INET : AF_INET6, bytes, text, sizeof text);
            printf(words == 1 ? "%s:%lu\n" : "[%s]:%lu\n", text, want);
        }
        fclose(in);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return serve(argc - 1, argv + 1);
    if (argc == 5 && !strcmp(argv[1], "pod-value"))
        return pod_value(argv[2], argv[3], argv[4]);
    if (argc == 3 && !strcmp(argv[1], "listeners"))
        return listeners(argv[2]);
    fprintf(stderr, "usage: sec_tool serve ... | pod-value FILE INDEX POD | listeners PORT\n");
    return 2;
}
