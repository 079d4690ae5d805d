/* bench_main.c: ksiss-bench's entry point and its keep-alive HTTP client
 * (libcurl, one handle per thread, bearer token and CA file as in the
 * local cluster's kubeconfig). Subcommands: populate, source, latency,
 * count (see bench.h and docs/bench.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int64_t bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *bench_read_file(const char *path, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = ksiss_xasprintf("cannot open %s", path);
        return NULL;
    }
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        ksiss_sb_append(&sb, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        ksiss_sb_free(&sb);
        *err = ksiss_xasprintf("cannot read %s", path);
        return NULL;
    }
    ksiss_sb_putc(&sb, '\0');
    sb.len--;
    return ksiss_sb_take(&sb);
}

const char *bench_arg(int argc, char **argv, const char *flag)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], flag))
            return argv[i + 1];
    return NULL;
}

long bench_arg_long(int argc, char **argv, const char *flag, long dflt)
{
    const char *v = bench_arg(argc, argv, flag);
    int64_t n;
    if (!v)
        return dflt;
    if (ksiss_parse_int64(v, &n) != 0) {
        fprintf(stderr, "ksiss-bench: %s \"%s\": expected an integer\n", flag, v);
        exit(2);
    }
    return (long)n;
}

double bench_arg_double(int argc, char **argv, const char *flag, double dflt)
{
    const char *v = bench_arg(argc, argv, flag);
    double d;
    if (!v)
        return dflt;
    if (ksiss_parse_double(v, &d) != 0) {
        fprintf(stderr, "ksiss-bench: %s \"%s\": expected a number\n", flag, v);
        exit(2);
    }
    return d;
}

int bench_conn_init(bench_conn *bc, const char *base, const char *ca_file, const char *token_file, char **err)
{
    memset(bc, 0, sizeof(*bc));
    bc->c = curl_easy_init();
    if (!bc->c) {
        *err = ksiss_xstrdup("curl_easy_init failed");
        return -1;
    }
    bc->base = ksiss_xstrdup(base);
    size_t n = strlen(bc->base);
    while (n > 0 && bc->base[n - 1] == '/')
        bc->base[--n] = '\0';
    bc->ca_file = ksiss_xstrdup(ca_file);
    if (token_file) {
        char *tok = bench_read_file(token_file, err);
        if (!tok) {
            bench_conn_free(bc);
            return -1;
        }
        tok[strcspn(tok, "\r\n")] = '\0';
        bc->auth = ksiss_xasprintf("Authorization: Bearer %s", tok);
        free(tok);
    }
    return 0;
}

void bench_conn_free(bench_conn *bc)
{
    if (bc->c)
        curl_easy_cleanup(bc->c);
    free(bc->base);
    free(bc->ca_file);
    free(bc->auth);
    memset(bc, 0, sizeof(*bc));
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    ksiss_sb_append(ud, buf, size * nmemb);
    return size * nmemb;
}

long bench_req(bench_conn *bc, const char *method, const char *path, const char *content_type, const char *body,
               ksiss_strbuf *resp, char **err)
{
    CURL *c = bc->c;
    curl_easy_reset(c);
    char *url = ksiss_xasprintf("%s%s", bc->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ksiss-bench");
    if (bc->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, bc->ca_file);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    struct curl_slist *h = NULL;
    if (bc->auth)
        h = curl_slist_append(h, bc->auth);
    h = curl_slist_append(h, "Accept: application/json");
    if (content_type) {
        char *ct = ksiss_xasprintf("Content-Type: %s", content_type);
        h = curl_slist_append(h, ct);
        free(ct);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    ksiss_strbuf local;
    ksiss_sb_init(&local, 0);
    ksiss_strbuf *sb = resp ? resp : &local;
    if (resp)
        ksiss_sb_init(resp, 0);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sb);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    else if (err)
        *err = ksiss_xasprintf("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    free(url);
    ksiss_sb_free(&local);
    return code;
}

long bench_req_json(bench_conn *bc, const char *method, const char *path, const char *content_type,
                    const json_t *body, json_t **out, char **err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    ksiss_strbuf sb;
    long code = bench_req(bc, method, path, content_type, text, &sb, err);
    free(text);
    if (out)
        *out = sb.len ? json_loadb(ksiss_sb_str(&sb), sb.len, 0, NULL) : NULL;
    ksiss_sb_free(&sb);
    return code;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: ksiss-bench populate|source|latency|count [options]   (docs/bench.md)\n"
            "  populate  create the bench namespace's Knative objects, pods and fake GPU nodes\n"
            "  source    serve per-pod vLLM metrics for every service (scraped by Prometheus)\n"
            "  latency   move services into an SLO breach and time the autoscaler's patch\n"
            "  count     count objects (pods Running, ...) through the API\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (!strcmp(argv[1], "populate"))
        rc = bench_populate(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "source"))
        rc = bench_source(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "latency"))
        rc = bench_latency(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "count"))
        rc = bench_count(argc - 1, argv + 1);
    else {
        usage();
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
