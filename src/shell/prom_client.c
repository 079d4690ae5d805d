/* prom_client.c: the Prometheus HTTP client (ksiss_prom, see prom.h): one
 * libcurl handle per client, one instant query at a time against
 * /api/v1/query with the configured timeouts, credentials (a bearer token
 * read from its file for every query, or basic auth) and CA file, the
 * answer capped in size, aborted when the stop flag is set, its outcome
 * counted in the metrics, and the answer handed to prom_response.c. */
#include "shell/prom_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shell/clock.h"
#include "shell/file.h"
#include "shell/http_auth.h"
#include "shell/metrics_names.h"

#define MAX_TOKEN_FILE (64u * 1024u)

struct ksiss_prom {
    ksiss_prom_opts o;
    CURL *curl;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

ksiss_prom *ksiss_prom_new(const ksiss_prom_opts *o, char **err)
{
    *err = NULL;
    if (!o->url) {
        *err = ksiss_xstrdup("no Prometheus URL");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    ksiss_prom *c = ksiss_xcalloc(1, sizeof(*c));
    ksiss_prom__opts_copy(&c->o, o);
    c->curl = curl_easy_init();
    if (!c->curl) {
        *err = ksiss_xstrdup("cannot initialize libcurl");
        ksiss_prom_free(c);
        return NULL;
    }
    return c;
}

void ksiss_prom_free(ksiss_prom *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    ksiss_prom_opts_free(&c->o);
    free(c);
}

typedef struct {
    ksiss_strbuf body;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (ksiss_sb_append(&s->body, p, n) < 0)
        return 0;   /* over the cap: abort the transfer */
    return n;
}

/* Aborts the transfer once the stop flag is set. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const volatile sig_atomic_t *stop = ud;
    return __atomic_load_n(stop, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* The bearer token now: from the file when configured, else the option. */
static char *bearer_token(const ksiss_prom_opts *o, char **err)
{
    if (!o->bearer_token_file)
        return ksiss_xstrdup(o->bearer_token);
    size_t len;
    char *e = NULL;
    char *t = ksiss_read_file(o->bearer_token_file, MAX_TOKEN_FILE, &len, &e);
    if (!t) {
        *err = ksiss_xasprintf("cannot read the bearer token file: %s", e);
        free(e);
        return NULL;
    }
    while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
        t[--len] = '\0';
    return t;
}

static void record(ksiss_metrics *reg, const ksiss_prom_result *r)
{
    if (!reg)
        return;
    ksiss_metrics_observe(reg, KSISS_M_PROM_QUERY_DURATION, NULL, r->duration_s);
    ksiss_metrics_add(reg, KSISS_M_PROM_QUERIES_TOTAL, NULL, 1);
    if (!r->ok)
        ksiss_metrics_add(reg, KSISS_M_PROM_QUERY_ERRORS_TOTAL, KSISS_LABELS(r->reason), 1);
}

/* The request's headers (*headers, the caller frees them): Accept, and
 * Authorization with the bearer token read now (*auth: that line, a
 * secret). -1 with out failed when the token cannot be read or a header
 * cannot be added: a query never goes out without its Authorization. */
static int request_headers(const ksiss_prom *c, struct curl_slist **headers, char **auth, ksiss_prom_result *out)
{
    if (c->o.bearer_token || c->o.bearer_token_file) {
        char *terr = NULL;
        char *token = bearer_token(&c->o, &terr);
        if (!token)
            return ksiss_prom__fail(out, KSISS_PROM_REASON_AUTH, terr);
        *auth = ksiss_xasprintf("Authorization: Bearer %s", token);
        ksiss_free_secret(token);
    }
    if ((*auth && !ksiss_headers_add(headers, *auth)) || !ksiss_headers_add(headers, "Accept: application/json"))
        return ksiss_prom__fail(out, KSISS_PROM_REASON_QUERY,
                                ksiss_xstrdup("libcurl could not add a request header (out of memory): not sent "
                                              "without it"));
    if (*auth || c->o.username)
        ksiss_warn_cleartext_credentials(KSISS_DEST_PROMETHEUS, c->o.url);
    return 0;
}

/* The handle set for one POST of form to the query URL: timeouts, the
 * body into s, the stop flag, basic auth and the CA file. */
static void request_setup(ksiss_prom *c, const char *form, struct curl_slist *headers, sink *s)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, c->o.url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->o.timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ksiss/" KSISS_VERSION);
    if (c->o.stop) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->o.stop);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (c->o.username) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->o.username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->o.password ? c->o.password : "");
    }
    if (c->o.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
}

static bool stopping(const ksiss_prom *c)
{
    return c->o.stop && __atomic_load_n(c->o.stop, __ATOMIC_ACQUIRE);
}

/* Sends the request set up on c's handle and reads its answer into out:
 * the parsed samples, or why there are none. */
static int request_perform(ksiss_prom *c, const char *pod_label, sink *s, ksiss_prom_result *out)
{
    CURL *h = c->curl;
    int rc = -1;
    char *url = ksiss_url_redact(c->o.url);
    CURLcode cc = stopping(c) ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_ABORTED_BY_CALLBACK && stopping(c)) {
        ksiss_prom__fail(out, KSISS_PROM_REASON_CONNECT, ksiss_xstrdup("not read: the controller is stopping"));
    } else if (cc == CURLE_WRITE_ERROR && s->body.overflow) {
        ksiss_prom__fail(out, KSISS_PROM_REASON_TOO_LARGE,
                         ksiss_xasprintf("the response from %s is larger than %zu bytes", url,
                                         c->o.max_response_bytes));
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        ksiss_prom__fail(out, KSISS_PROM_REASON_TIMEOUT,
                         ksiss_xasprintf("no answer from %s within %lld ms", url, (long long)c->o.timeout_ms));
    } else if (cc != CURLE_OK) {
        ksiss_prom__fail(out, KSISS_PROM_REASON_CONNECT,
                         ksiss_xasprintf("cannot reach Prometheus at %s: %s", url, curl_easy_strerror(cc)));
    } else {
        rc = ksiss_prom_parse_response(ksiss_sb_str(&s->body), s->body.len, status, pod_label, out);
    }
    out->http_status = status;
    free(url);
    return rc;
}

int ksiss_prom_query(ksiss_prom *c, const char *query, const char *pod_label, ksiss_metrics *reg,
                     ksiss_prom_result *out)
{
    memset(out, 0, sizeof(*out));
    double t0 = ksiss_mono_s();
    sink s;
    ksiss_sb_init(&s.body, c->o.max_response_bytes);
    struct curl_slist *headers = NULL;
    char *auth = NULL, *form = NULL;
    int rc = -1;
    char *esc = curl_easy_escape(c->curl, query, 0);
    if (!esc) {
        ksiss_prom__fail(out, KSISS_PROM_REASON_QUERY, ksiss_xstrdup("cannot URL-encode the query"));
        goto done;
    }
    form = ksiss_xasprintf("query=%s", esc);
    curl_free(esc);
    if (request_headers(c, &headers, &auth, out) != 0)
        goto done;
    request_setup(c, form, headers, &s);
    rc = request_perform(c, pod_label, &s, out);
done:
    out->duration_s = ksiss_mono_s() - t0;
    record(reg, out);
    curl_easy_reset(c->curl);
    ksiss_headers_free(headers);
    ksiss_free_secret(auth);
    free(form);
    ksiss_sb_free(&s.body);
    return rc;
}
