/* prom.c: the Prometheus instant-query client (libcurl + jansson) and the
 * per-tick read of a service's metrics (see prom.h). */
#include "shell/prom.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "shell/clock.h"
#include "shell/http_auth.h"
#include "shell/json_arena.h"
#include "shell/metrics_names.h"

#define MAX_TOKEN_FILE (64u * 1024u)

void ksiss_prom_opts_init(ksiss_prom_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout_ms = KSISS_PROM_DEFAULT_CONNECT_TIMEOUT_MS;
    o->timeout_ms = KSISS_PROM_DEFAULT_TIMEOUT_MS;
    o->max_response_bytes = KSISS_PROM_DEFAULT_MAX_RESPONSE;
}

void ksiss_prom_opts_free(ksiss_prom_opts *o)
{
    free(o->url);
    ksiss_free_secret(o->bearer_token);
    free(o->bearer_token_file);
    free(o->username);
    ksiss_free_secret(o->password);
    free(o->ca_file);
    ksiss_prom_opts_init(o);
}

static void opts_copy(ksiss_prom_opts *dst, const ksiss_prom_opts *src)
{
    *dst = *src;
    dst->url = ksiss_xstrdup(src->url);
    dst->bearer_token = ksiss_xstrdup(src->bearer_token);
    dst->bearer_token_file = ksiss_xstrdup(src->bearer_token_file);
    dst->username = ksiss_xstrdup(src->username);
    dst->password = ksiss_xstrdup(src->password);
    dst->ca_file = ksiss_xstrdup(src->ca_file);
}

char *ksiss_prom_normalize_url(const char *url, char **err)
{
    const char *why;
    char *norm = ksiss_prometheus_url_normalize(url, &why);
    *err = NULL;
    if (!norm) {
        char *r = ksiss_url_redact(url ? url : "");
        *err = ksiss_xasprintf("the Prometheus URL '%s' %s", r, why);
        free(r);
    }
    return norm;
}

static int env_duration(const char *(*get)(const char *, void *), void *ctx, const char *name, int64_t *out,
                        char **err)
{
    const char *v = get(name, ctx);
    if (!v || !*v)
        return 0;
    int64_t ms;
    if (ksiss_parse_duration_ms(v, &ms) < 0 || ms <= 0 || ms > 3600000) {
        *err = ksiss_xasprintf("%s='%s': expected a duration such as 2s or 500ms (at most 1h)", name, v);
        return -1;
    }
    *out = ms;
    return 0;
}

static char *env_dup(const char *(*get)(const char *, void *), void *ctx, const char *name)
{
    const char *v = get(name, ctx);
    return v && *v ? ksiss_xstrdup(v) : NULL;
}

int ksiss_prom_opts_from_env(ksiss_prom_opts *o, const char *(*get)(const char *name, void *ctx), void *ctx,
                             char **err)
{
    *err = NULL;
    const char *url = get("PROMETHEUS_URL", ctx);
    char *norm = ksiss_prom_normalize_url(url && *url ? url : KSISS_DEFAULT_PROMETHEUS_URL, err);
    if (!norm) {
        char *m = ksiss_xasprintf("PROMETHEUS_URL: %s", *err);
        free(*err);
        *err = m;
        return -1;
    }
    free(o->url);
    o->url = norm;
    ksiss_free_secret(o->bearer_token);
    o->bearer_token = env_dup(get, ctx, "PROMETHEUS_BEARER_TOKEN");
    free(o->bearer_token_file);
    o->bearer_token_file = env_dup(get, ctx, "PROMETHEUS_BEARER_TOKEN_FILE");
    free(o->username);
    o->username = env_dup(get, ctx, "PROMETHEUS_USERNAME");
    ksiss_free_secret(o->password);
    o->password = env_dup(get, ctx, "PROMETHEUS_PASSWORD");
    free(o->ca_file);
    o->ca_file = env_dup(get, ctx, "PROMETHEUS_CA_FILE");
    if (o->password && !o->username) {
        *err = ksiss_xstrdup("PROMETHEUS_PASSWORD is set but PROMETHEUS_USERNAME is not");
        return -1;
    }
    if ((o->bearer_token || o->bearer_token_file) && o->username) {
        *err = ksiss_xstrdup("set either a bearer token (PROMETHEUS_BEARER_TOKEN[_FILE]) or basic auth "
                             "(PROMETHEUS_USERNAME), not both");
        return -1;
    }
    if (env_duration(get, ctx, "PROMETHEUS_CONNECT_TIMEOUT", &o->connect_timeout_ms, err) < 0 ||
        env_duration(get, ctx, "PROMETHEUS_TIMEOUT", &o->timeout_ms, err) < 0)
        return -1;
    return 0;
}

/* ---- client ---- */

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
    opts_copy(&c->o, o);
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

void ksiss_prom_result_free(ksiss_prom_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->samples[i].pod);
        free(r->samples[i].series);
    }
    free(r->samples);
    free(r->error);
    memset(r, 0, sizeof(*r));
}

static int fail(ksiss_prom_result *r, const char *reason, char *msg)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->samples[i].pod);
        free(r->samples[i].series);
    }
    free(r->samples);
    r->samples = NULL;
    r->n = 0;
    r->ok = false;
    r->reason = reason;
    free(r->error);
    r->error = msg;
    return -1;
}

/* Text safe to quote in a message: at most max bytes, control characters
 * replaced. Caller frees. */
static char *printable(const char *s, size_t len, size_t max)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (size_t i = 0; i < len && i < max; i++)
        ksiss_sb_putc(&sb, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
    if (len > max)
        ksiss_sb_puts(&sb, "...");
    return ksiss_sb_take(&sb);
}

/* "NaN", "+Inf", "-Inf" or a finite number. */
static int parse_sample_value(const char *s, double *out)
{
    if (!strcmp(s, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(s, "-Inf")) {
        *out = -INFINITY;
        return 0;
    }
    return ksiss_parse_double(s, out);
}

/* [ts, "value"] */
static int parse_pair(json_t *pair, double *out)
{
    json_t *v = json_is_array(pair) && json_array_size(pair) == 2 ? json_array_get(pair, 1) : NULL;
    return v && json_is_string(v) ? parse_sample_value(json_string_value(v), out) : -1;
}

static char *series_text(json_t *metric)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 4096);
    const char *k;
    json_t *v;
    bool first = true;
    ksiss_sb_putc(&sb, '{');
    json_object_foreach(metric, k, v) {
        if (!json_is_string(v))
            continue;
        ksiss_sb_printf(&sb, "%s%s=\"%s\"", first ? "" : ",", k, json_string_value(v));
        first = false;
    }
    ksiss_sb_putc(&sb, '}');
    return ksiss_sb_take(&sb);
}

static int parse_response(const char *body, size_t len, long http_status, const char *pod_label,
                          ksiss_prom_result *out);

int ksiss_prom_parse_response(const char *body, size_t len, long http_status, const char *pod_label,
                              ksiss_prom_result *out)
{
    /* The answer's tree (hundreds of KB for a query batched across 500
     * services) is dropped here: out holds copies only. */
    ksiss_json_arena a;
    ksiss_json_arena_begin(&a);
    int rc = parse_response(body, len, http_status, pod_label, out);
    ksiss_json_arena_end(&a);
    return rc;
}

static int parse_response(const char *body, size_t len, long http_status, const char *pod_label,
                          ksiss_prom_result *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = http_status;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        char *head = printable(body, len, 200);
        /* jansson quotes the offending byte in je.text: keep it printable too. */
        char *why = root ? ksiss_xstrdup("not an object") : printable(je.text, strlen(je.text), 200);
        bool auth = http_status == 401 || http_status == 403;
        int rc = http_status != 200
                     ? fail(out, auth ? KSISS_PROM_REASON_AUTH : KSISS_PROM_REASON_HTTP,
                            ksiss_xasprintf("HTTP %ld from Prometheus%s: %s", http_status,
                                            auth ? " (check the bearer token or basic auth credentials)" : "", head))
                     : fail(out, KSISS_PROM_REASON_RESPONSE,
                            ksiss_xasprintf("the response is not a Prometheus API JSON object (%s): %s",
                                            why, head));
        free(why);
        free(head);
        json_decref(root);
        return rc;
    }
    const char *status = json_string_value(json_object_get(root, "status"));   /* borrowed */
    int rc = 0;
    if (!status || strcmp(status, "success")) {
        const char *etype = json_string_value(json_object_get(root, "errorType"));
        const char *emsg = json_string_value(json_object_get(root, "error"));
        char *m = printable(emsg ? emsg : "no error message", strlen(emsg ? emsg : "no error message"), 1000);
        char *et = printable(etype ? etype : "no errorType", strlen(etype ? etype : "no errorType"), 200);
        /* A 401/403 is about credentials even when its body is an API
         * error object (Prometheus behind an auth proxy, or its own
         * basic auth): counted as `auth`, with the hint. */
        bool auth = http_status == 401 || http_status == 403;
        rc = fail(out, auth ? KSISS_PROM_REASON_AUTH
                            : http_status >= 200 && http_status < 300 && !status ? KSISS_PROM_REASON_RESPONSE
                                                                                 : KSISS_PROM_REASON_PROMETHEUS,
                  ksiss_xasprintf("Prometheus refused the query (HTTP %ld, %s%s): %s", http_status, et,
                                  auth ? "; check the bearer token or basic auth credentials" : "", m));
        free(et);
        free(m);
        goto out;
    }
    if (http_status != 200) {
        rc = fail(out, KSISS_PROM_REASON_HTTP, ksiss_xasprintf("HTTP %ld from Prometheus", http_status));
        goto out;
    }
    json_t *data = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    if (!type || !result) {
        rc = fail(out, KSISS_PROM_REASON_RESPONSE, ksiss_xstrdup("the response has no data.resultType/result"));
        goto out;
    }
    if (!strcmp(type, "scalar")) {
        double v;
        if (parse_pair(result, &v) < 0) {
            rc = fail(out, KSISS_PROM_REASON_RESPONSE, ksiss_xstrdup("a scalar result is not [time, \"value\"]"));
            goto out;
        }
        out->scalar = true;
        out->samples = ksiss_xcalloc(1, sizeof(*out->samples));
        out->samples[0] = (ksiss_prom_sample){NULL, ksiss_xstrdup("scalar"), v};
        out->n = 1;
    } else if (!strcmp(type, "vector")) {
        if (!json_is_array(result)) {
            rc = fail(out, KSISS_PROM_REASON_RESPONSE, ksiss_xstrdup("a vector result is not an array"));
            goto out;
        }
        size_t n = json_array_size(result);
        out->samples = ksiss_xcalloc(n ? n : 1, sizeof(*out->samples));
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_array_get(result, i);
            json_t *metric = json_object_get(s, "metric");
            double v;
            if (!json_is_object(metric) || parse_pair(json_object_get(s, "value"), &v) < 0) {
                rc = fail(out, KSISS_PROM_REASON_RESPONSE,
                          ksiss_xasprintf("sample %zu of the vector is not {metric, value: [time, \"value\"]}", i));
                goto out;
            }
            const char *pod = pod_label ? json_string_value(json_object_get(metric, pod_label)) : NULL;
            out->samples[out->n++] = (ksiss_prom_sample){ksiss_xstrdup(pod), series_text(metric), v};
        }
    } else {
        char *pt = printable(type, strlen(type), 200);
        rc = fail(out, KSISS_PROM_REASON_RESULT_TYPE,
                  ksiss_xasprintf("the query returns a %s, not an instant vector or scalar%s", pt,
                                  !strcmp(type, "matrix") ? " (remove the [range] at the end, or wrap it in a "
                                                            "function such as rate() or avg_over_time())"
                                                          : ""));
        free(pt);
        goto out;
    }
    out->ok = true;
out:
    json_decref(root);
    return rc;
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
    return *stop ? 1 : 0;
}

/* The bearer token now: from the file when configured, else the option. */
static char *bearer_token(const ksiss_prom_opts *o, char **err)
{
    if (!o->bearer_token_file)
        return ksiss_xstrdup(o->bearer_token);
    FILE *f = fopen(o->bearer_token_file, "rb");
    if (!f) {
        *err = ksiss_xasprintf("cannot read the bearer token file %s", o->bearer_token_file);
        return NULL;
    }
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, MAX_TOKEN_FILE);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (ksiss_sb_append(&sb, buf, n) < 0)
            break;
    fclose(f);
    if (sb.overflow) {
        ksiss_sb_free(&sb);
        *err = ksiss_xasprintf("the bearer token file %s is larger than %u bytes", o->bearer_token_file,
                               MAX_TOKEN_FILE);
        return NULL;
    }
    char *t = ksiss_sb_take(&sb);
    size_t len = strlen(t);
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

int ksiss_prom_query(ksiss_prom *c, const char *query, const char *pod_label, ksiss_metrics *reg,
                     ksiss_prom_result *out)
{
    memset(out, 0, sizeof(*out));
    double t0 = ksiss_mono_s();
    CURL *h = c->curl;
    sink s;
    ksiss_sb_init(&s.body, c->o.max_response_bytes);
    struct curl_slist *headers = NULL;
    char *auth = NULL, *form = NULL, *token = NULL, *terr = NULL;
    int rc = -1;
    char *url = ksiss_url_redact(c->o.url);

    char *esc = curl_easy_escape(h, query, 0);
    if (!esc) {
        fail(out, KSISS_PROM_REASON_QUERY, ksiss_xstrdup("cannot URL-encode the query"));
        goto done;
    }
    form = ksiss_xasprintf("query=%s", esc);
    curl_free(esc);
    if (c->o.bearer_token || c->o.bearer_token_file) {
        token = bearer_token(&c->o, &terr);
        if (!token) {
            fail(out, KSISS_PROM_REASON_AUTH, terr);
            terr = NULL;
            goto done;
        }
        auth = ksiss_xasprintf("Authorization: Bearer %s", token);
    }
    /* A header libcurl could not add fails the query: it must not go out
     * without its Authorization. */
    if ((auth && !ksiss_headers_add(&headers, auth)) || !ksiss_headers_add(&headers, "Accept: application/json")) {
        fail(out, KSISS_PROM_REASON_QUERY,
             ksiss_xstrdup("libcurl could not add a request header (out of memory): not sent without it"));
        goto done;
    }
    if (auth || c->o.username)
        ksiss_warn_cleartext_credentials(KSISS_DEST_PROMETHEUS, c->o.url);
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
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
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

    CURLcode cc = c->o.stop && *c->o.stop ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_ABORTED_BY_CALLBACK && c->o.stop && *c->o.stop) {
        fail(out, KSISS_PROM_REASON_CONNECT, ksiss_xstrdup("not read: the controller is stopping"));
    } else if (cc == CURLE_WRITE_ERROR && s.body.overflow) {
        fail(out, KSISS_PROM_REASON_TOO_LARGE,
             ksiss_xasprintf("the response from %s is larger than %zu bytes", url, c->o.max_response_bytes));
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        fail(out, KSISS_PROM_REASON_TIMEOUT,
             ksiss_xasprintf("no answer from %s within %lld ms", url, (long long)c->o.timeout_ms));
    } else if (cc != CURLE_OK) {
        fail(out, KSISS_PROM_REASON_CONNECT,
             ksiss_xasprintf("cannot reach Prometheus at %s: %s", url, curl_easy_strerror(cc)));
    } else {
        rc = ksiss_prom_parse_response(ksiss_sb_str(&s.body), s.body.len, status, pod_label, out);
    }
    out->http_status = status;
done:
    out->duration_s = ksiss_mono_s() - t0;
    record(reg, out);
    curl_easy_reset(h);
    ksiss_headers_free(headers);
    ksiss_free_secret(auth);
    ksiss_free_secret(token);
    free(terr);
    free(form);
    free(url);
    ksiss_sb_free(&s.body);
    return rc;
}

/* ---- reading a service ---- */

static void reading_missing(ksiss_metric_reading *r, const char *why)
{
    r->obs.present = false;
    r->obs.value = NAN;
    free(r->why);
    r->why = ksiss_xstrdup(why);
    r->obs.why_missing = r->why;
}

static void reading_failed(ksiss_metric_reading *r, const ksiss_metric_cfg *m, const char *cause)
{
    if (!r->failed) {
        r->failed = true;
        r->error = ksiss_xasprintf("metric %s: %s", m->name, cause);
    }
    for (size_t p = 0; p < r->n_pods; p++)
        if (!r->pods[p].present)
            r->pods[p].why_missing = "the query failed";
}

/* A service-level metric from its samples (all of this service's). */
static void take_service_level(const ksiss_metric_cfg *m, const ksiss_promql_sample *s, size_t n,
                               ksiss_metric_reading *r)
{
    ksiss_pod_value *vals = ksiss_xcalloc(n ? n : 1, sizeof(*vals));
    for (size_t i = 0; i < n; i++) {
        const char *nf = ksiss_promql_nonfinite_why(s[i].value);
        vals[i] = (ksiss_pod_value){!nf, s[i].value, nf};
    }
    ksiss_pod_value agg = ksiss_promql_combine(vals, n, m->aggregate);
    free(vals);
    if (agg.present) {
        r->obs.present = true;
        r->obs.value = agg.value;
    } else {
        reading_missing(r, agg.why_missing);
    }
}

/* The aggregate over the pods' readings (after a pod read). */
static void take_pods(const ksiss_metric_cfg *m, ksiss_metric_reading *r)
{
    ksiss_pod_value agg = ksiss_promql_combine(r->pods, r->n_pods, m->aggregate);
    if (agg.present) {
        r->obs.present = true;
        r->obs.value = agg.value;
    } else {
        reading_missing(r, agg.why_missing);
    }
}

/* The metric from its share of a query batched across services: the same
 * steps as after the service's own query, on the same samples. */
static void read_shared(const ksiss_metric_cfg *m, const ksiss_prom_share *sh, const char *const *pods,
                        size_t n_pods, ksiss_metric_reading *r)
{
    r->per_pod = ksiss_promql_uses_pod(m->query);
    r->batched = true;
    r->shared = true;
    if (r->per_pod) {
        r->pods = ksiss_xcalloc(n_pods ? n_pods : 1, sizeof(*r->pods));
        r->n_pods = n_pods;
        for (size_t p = 0; p < n_pods; p++)
            r->pods[p] = (ksiss_pod_value){false, NAN, "not read"};
    }
    if (!sh->ok) {
        reading_failed(r, m, sh->error ? sh->error : "the batched query failed");
        return;
    }
    if (!r->per_pod) {
        take_service_level(m, sh->samples, sh->n, r);
        return;
    }
    ksiss_promql_spread(sh->samples, sh->n, pods, n_pods, m->aggregate, r->pods);
    take_pods(m, r);
}

static void read_one(ksiss_prom *c, const ksiss_metric_cfg *m, const ksiss_promql_vars *vars,
                     const char *const *pods, size_t n_pods, ksiss_metrics *reg, ksiss_metric_reading *r)
{
    ksiss_prom_result res;
    char *err = NULL;
    r->per_pod = ksiss_promql_uses_pod(m->query);
    if (!r->per_pod) {
        ksiss_promql_vars v = *vars;
        v.pod = NULL;
        r->query = ksiss_promql_fill(m->query, &v, &err);
        if (!r->query) {
            reading_failed(r, m, err);
            free(err);
            return;
        }
        r->requests++;
        if (ksiss_prom_query(c, r->query, NULL, reg, &res) < 0) {
            reading_failed(r, m, res.error);
        } else {
            ksiss_promql_sample *ss = ksiss_xcalloc(res.n ? res.n : 1, sizeof(*ss));
            for (size_t i = 0; i < res.n; i++)
                ss[i] = (ksiss_promql_sample){NULL, res.samples[i].value};
            take_service_level(m, ss, res.n, r);
            free(ss);
        }
        ksiss_prom_result_free(&res);
        return;
    }

    r->pods = ksiss_xcalloc(n_pods ? n_pods : 1, sizeof(*r->pods));
    r->n_pods = n_pods;
    for (size_t p = 0; p < n_pods; p++)
        r->pods[p] = (ksiss_pod_value){false, NAN, "not read"};
    if (n_pods == 0) {
        reading_missing(r, "the service has no pods to read");
        return;
    }
    char *label = NULL, *why_not = NULL, *q = NULL;
    int b = ksiss_promql_batch(m->query, vars, pods, n_pods, &q, &label, &why_not);
    if (b < 0) {
        reading_failed(r, m, why_not);
        free(why_not);
        return;
    }
    if (b == 1) {
        r->batched = true;
        r->query = q;
        r->requests++;
        if (ksiss_prom_query(c, q, label, reg, &res) < 0) {
            reading_failed(r, m, res.error);
        } else {
            ksiss_promql_sample *ss = ksiss_xcalloc(res.n ? res.n : 1, sizeof(*ss));
            for (size_t i = 0; i < res.n; i++)
                ss[i] = (ksiss_promql_sample){res.samples[i].pod, res.samples[i].value};
            ksiss_promql_spread(ss, res.n, pods, n_pods, m->aggregate, r->pods);
            free(ss);
        }
        ksiss_prom_result_free(&res);
    } else {
        for (size_t p = 0; p < n_pods && !r->failed; p++) {
            ksiss_promql_vars v = *vars;
            v.pod = pods[p];
            free(r->query);
            r->query = ksiss_promql_fill(m->query, &v, &err);
            if (!r->query) {
                reading_failed(r, m, err);
                free(err);
                break;
            }
            r->requests++;
            if (ksiss_prom_query(c, r->query, NULL, reg, &res) < 0) {
                char *cause = ksiss_xasprintf("pod %s: %s", pods[p], res.error);
                reading_failed(r, m, cause);
                free(cause);
            } else {
                ksiss_promql_sample *ss = ksiss_xcalloc(res.n ? res.n : 1, sizeof(*ss));
                for (size_t i = 0; i < res.n; i++)
                    ss[i] = (ksiss_promql_sample){pods[p], res.samples[i].value};
                ksiss_promql_spread(ss, res.n, &pods[p], 1, m->aggregate, &r->pods[p]);
                free(ss);
            }
            ksiss_prom_result_free(&res);
        }
    }
    free(label);
    free(why_not);
    if (r->failed)
        return;
    take_pods(m, r);
}

size_t ksiss_prom_read_service(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                               const char *const *pods, size_t n_pods, int64_t now_ms, ksiss_metrics *reg,
                               ksiss_metric_reading *out)
{
    return ksiss_prom_read_service_shared(c, svc, vars, pods, n_pods, NULL, now_ms, reg, out);
}

size_t ksiss_prom_read_service_shared(ksiss_prom *c, const ksiss_service_cfg *svc, const ksiss_promql_vars *vars,
                                      const char *const *pods, size_t n_pods, const ksiss_prom_share *const *shares,
                                      int64_t now_ms, ksiss_metrics *reg, ksiss_metric_reading *out)
{
    size_t missing = 0;
    for (size_t i = 0; i < svc->n_metrics; i++) {
        ksiss_metric_reading *r = &out[i];
        memset(r, 0, sizeof(*r));
        r->obs.value = NAN;
        r->obs.observed_at_ms = now_ms;
        if (shares && shares[i])
            read_shared(&svc->metrics[i], shares[i], pods, n_pods, r);
        else
            read_one(c, &svc->metrics[i], vars, pods, n_pods, reg, r);
        if (r->failed)
            reading_missing(r, r->error);
        if (!r->obs.present)
            missing++;
    }
    return missing;
}

void ksiss_metric_readings_free(ksiss_metric_reading *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].why);
        free(r[i].pods);
        free(r[i].error);
        free(r[i].query);
        memset(&r[i], 0, sizeof(r[i]));
    }
}

typedef struct {
    const char *ns, *service, *metric;
    const char *const *pods;
    size_t n_pods;
} stale_pods;

/* A pod series of this metric whose pod is no longer among the pods. */
static bool pod_is_gone(const char *const *labels, void *ud)
{
    const stale_pods *sp = ud;
    if (strcmp(labels[0], sp->ns) || strcmp(labels[1], sp->service) || strcmp(labels[2], sp->metric))
        return false;
    for (size_t k = 0; k < sp->n_pods; k++)
        if (!strcmp(labels[3], sp->pods[k]))
            return false;
    return true;
}

void ksiss_prom_export_readings(ksiss_metrics *reg, const char *namespace_name, const char *service,
                                const ksiss_service_cfg *svc, const ksiss_metric_reading *r,
                                const char *const *pods)
{
    const char *ns = namespace_name ? namespace_name : "";
    const char *name = service ? service : svc->name;
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        const char *const *l = KSISS_LABELS(ns, name, m->name);
        ksiss_metrics_set(reg, KSISS_M_METRIC_SLO, l, m->slo);
        ksiss_metrics_set(reg, KSISS_M_METRIC_MISSING, l, r[i].obs.present ? 0 : 1);
        double p = r[i].obs.present ? ksiss_metric_pressure(m, r[i].obs.value) : NAN;
        if (r[i].obs.present)
            ksiss_metrics_set(reg, KSISS_M_METRIC_VALUE, l, r[i].obs.value);
        else
            ksiss_metrics_remove(reg, KSISS_M_METRIC_VALUE, l);
        if (!isnan(p))
            ksiss_metrics_set(reg, KSISS_M_METRIC_PRESSURE_RATIO, l, p);
        else
            ksiss_metrics_remove(reg, KSISS_M_METRIC_PRESSURE_RATIO, l);
        for (size_t k = 0; k < r[i].n_pods && pods; k++) {
            const char *const *pl = KSISS_LABELS(ns, name, m->name, pods[k]);
            if (r[i].pods[k].present)
                ksiss_metrics_set(reg, KSISS_M_METRIC_POD_VALUE, pl, r[i].pods[k].value);
            else
                ksiss_metrics_remove(reg, KSISS_M_METRIC_POD_VALUE, pl);
        }
        /* Pods come and go: drop the series of pods no longer there. */
        stale_pods sp = {ns, name, m->name, pods, pods ? r[i].n_pods : 0};
        ksiss_metrics_remove_if_group(reg, KSISS_M_METRIC_POD_VALUE, ns, name, pod_is_gone, &sp);
    }
}

/* ------------------------------------------------ batching across services --- */

typedef struct {
    ksiss_prom_share *share;
    void *owner;
    size_t first_key, n_keys;   /* into the group's keys */
} batch_member;

typedef struct {
    const char *query;          /* borrowed */
    char *ns;
    unsigned key;               /* KSISS_PROMQL_PH_* bit, 0: no per-service placeholder */
    bool batchable;
    batch_member *m;
    size_t n, cap;
    char **keys;
    size_t nk, capk;
} batch_group;

typedef struct {
    size_t group, first, n;     /* members first..first+n-1 of the group */
    ksiss_prom_result res;      /* the answer (samples borrowed by the shares) */
    char *error;                /* why it failed before being sent */
} batch_chunk;

struct ksiss_prom_batch {
    size_t max_keys;
    ksiss_prom_batch_done_fn done;
    json_t *index;              /* group key -> group number */
    batch_group *g;
    size_t ng, capg;
    batch_chunk *c;
    size_t nc;
    bool sealed;
};

void ksiss_prom_share_clear(ksiss_prom_share *s)
{
    free(s->samples);
    memset(s, 0, sizeof(*s));
}

ksiss_prom_batch *ksiss_prom_batch_new(size_t max_keys, ksiss_prom_batch_done_fn done)
{
    ksiss_prom_batch *b = ksiss_xcalloc(1, sizeof(*b));
    b->max_keys = max_keys ? max_keys : KSISS_PROM_DEFAULT_BATCH_KEYS;
    b->done = done;
    b->index = json_object();
    return b;
}

void ksiss_prom_batch_free(ksiss_prom_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ng; i++) {
        batch_group *g = &b->g[i];
        for (size_t k = 0; k < g->nk; k++)
            free(g->keys[k]);
        free(g->keys);
        free(g->m);
        free(g->ns);
    }
    for (size_t i = 0; i < b->nc; i++) {
        ksiss_prom_result_free(&b->c[i].res);
        free(b->c[i].error);
    }
    free(b->g);
    free(b->c);
    json_decref(b->index);
    free(b);
}

/* The per-service placeholder the query is keyed on: 0 none, a
 * KSISS_PROMQL_PH_* bit, or ~0u when several (not batchable). */
static unsigned query_key(const char *query)
{
    unsigned per = ksiss_promql_placeholders(query) &
                   (KSISS_PROMQL_PH_POD | KSISS_PROMQL_PH_SERVICE | KSISS_PROMQL_PH_REVISION);
    return per & (per - 1) ? ~0u : per;
}

/* Builds the query of a group for the given key values. Returns the
 * query (caller frees) and *label (caller frees; NULL for key 0), or NULL
 * with *why (caller frees). */
static char *group_query(const batch_group *g, const char *const *values, size_t n, char **label, char **why)
{
    ksiss_promql_vars v = {.namespace_name = g->ns};
    *label = NULL;
    *why = NULL;
    if (!g->key)
        return ksiss_promql_fill(g->query, &v, why);
    char *q = NULL;
    int rc = ksiss_promql_batch_keyed(g->query, &v, g->key, values, n, &q, label, why);
    if (rc != 1) {
        free(q);
        free(*label);
        *label = NULL;
        if (!*why)
            *why = ksiss_xstrdup("not batchable");
        return NULL;
    }
    return q;
}

bool ksiss_prom_batch_add(ksiss_prom_batch *b, const char *query, const ksiss_promql_vars *vars,
                          const char *const *pods, size_t n_pods, ksiss_prom_share *share, void *owner)
{
    memset(share, 0, sizeof(*share));
    if (b->sealed || !query)
        return false;
    unsigned key = query_key(query);
    if (key == ~0u)
        return false;
    const char *const *keys = NULL;
    size_t nk = 0;
    if (key == KSISS_PROMQL_PH_POD) {
        keys = pods;
        nk = n_pods;
    } else if (key == KSISS_PROMQL_PH_SERVICE) {
        keys = &vars->service;
        nk = vars->service ? 1 : 0;
    } else if (key == KSISS_PROMQL_PH_REVISION) {
        keys = &vars->revision;
        nk = vars->revision ? 1 : 0;
    }
    if (key && nk == 0)
        return false;   /* read per service: it says why (no pods, no revision) */
    char *gk = ksiss_xasprintf("%s\n%u\n%s", vars->namespace_name ? vars->namespace_name : "", key, query);
    json_t *gi = json_object_get(b->index, gk);
    batch_group *g;
    if (gi) {
        g = &b->g[json_integer_value(gi)];
    } else {
        if (b->ng == b->capg) {
            b->capg = b->capg ? b->capg * 2 : 8;
            b->g = ksiss_xrealloc(b->g, b->capg * sizeof(*b->g));
        }
        g = &b->g[b->ng];
        memset(g, 0, sizeof(*g));
        g->query = query;
        g->ns = ksiss_xstrdup(vars->namespace_name);
        g->key = key;
        /* The shape decides, not the names (they are escaped). */
        char *label = NULL, *why = NULL;
        char *q = group_query(g, keys, nk, &label, &why);
        g->batchable = q != NULL;
        free(q);
        free(label);
        free(why);
        json_object_set_new(b->index, gk, json_integer((json_int_t)b->ng));
        b->ng++;
    }
    free(gk);
    if (!g->batchable)
        return false;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->m = ksiss_xrealloc(g->m, g->cap * sizeof(*g->m));
    }
    if (g->nk + nk > g->capk) {
        while (g->nk + nk > g->capk)
            g->capk = g->capk ? g->capk * 2 : 16;
        g->keys = ksiss_xrealloc(g->keys, g->capk * sizeof(*g->keys));
    }
    g->m[g->n++] = (batch_member){share, owner, g->nk, nk};
    for (size_t k = 0; k < nk; k++)
        g->keys[g->nk++] = ksiss_xstrdup(keys[k]);
    return true;
}

size_t ksiss_prom_batch_seal(ksiss_prom_batch *b)
{
    if (b->sealed)
        return b->nc;
    b->sealed = true;
    size_t cap = 0;
    for (size_t gi = 0; gi < b->ng; gi++) {
        const batch_group *g = &b->g[gi];
        size_t i = 0;
        while (i < g->n) {
            size_t first = i, keys = 0;
            /* A service's names stay in one query; key 0: all in one. */
            while (i < g->n && (i == first || !g->key || keys + g->m[i].n_keys <= b->max_keys))
                keys += g->m[i++].n_keys;
            if (b->nc == cap) {
                cap = cap ? cap * 2 : 8;
                b->c = ksiss_xrealloc(b->c, cap * sizeof(*b->c));
            }
            b->c[b->nc++] = (batch_chunk){.group = gi, .first = first, .n = i - first};
        }
    }
    return b->nc;
}

static int cmp_sample_ptr(const void *a, const void *b)
{
    const ksiss_prom_sample *x = *(ksiss_prom_sample *const *)a, *y = *(ksiss_prom_sample *const *)b;
    if (!x->pod || !y->pod)
        return !x->pod - !y->pod;
    return strcmp(x->pod, y->pod);
}

/* First index in sorted[0..n) whose label is >= key. */
static size_t lower_bound(ksiss_prom_sample *const *sorted, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid]->pod && strcmp(sorted[mid]->pod, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void ksiss_prom_batch_run(ksiss_prom_batch *b, size_t i, ksiss_prom *c, ksiss_metrics *reg, bool cancelled)
{
    if (i >= b->nc)
        return;
    batch_chunk *ch = &b->c[i];
    const batch_group *g = &b->g[ch->group];
    const batch_member *mem = &g->m[ch->first];
    const char *error = NULL;
    if (cancelled) {
        ch->error = ksiss_xstrdup("not read: the controller is stopping");
        error = ch->error;
    } else {
        size_t first_key = mem[0].first_key, nk = 0;
        for (size_t k = 0; k < ch->n; k++)
            nk += mem[k].n_keys;
        char *label = NULL, *why = NULL;
        char *q = group_query(g, (const char *const *)g->keys + first_key, nk, &label, &why);
        if (!q) {
            ch->error = why;
            error = ch->error;
        } else if (ksiss_prom_query(c, q, label, reg, &ch->res) < 0) {
            error = ch->res.error ? ch->res.error : "the batched query failed";
            free(why);
        }
        free(q);
        free(label);
    }
    if (error) {
        for (size_t k = 0; k < ch->n; k++) {
            mem[k].share->ok = false;
            mem[k].share->error = error;
            b->done(mem[k].owner);
        }
        return;
    }
    size_t n = ch->res.n;
    ksiss_prom_sample **sorted = ksiss_xcalloc(n ? n : 1, sizeof(*sorted));
    for (size_t s = 0; s < n; s++)
        sorted[s] = &ch->res.samples[s];
    if (g->key)
        qsort(sorted, n, sizeof(*sorted), cmp_sample_ptr);
    for (size_t k = 0; k < ch->n; k++) {
        ksiss_prom_share *sh = mem[k].share;
        sh->ok = true;
        sh->error = NULL;
        size_t cap = g->key ? 4 : n, got = 0;
        sh->samples = ksiss_xcalloc(cap ? cap : 1, sizeof(*sh->samples));
        if (!g->key) {
            for (size_t s = 0; s < n; s++)
                sh->samples[got++] = (ksiss_promql_sample){NULL, ch->res.samples[s].value};
        } else {
            for (size_t kk = 0; kk < mem[k].n_keys; kk++) {
                const char *key = g->keys[mem[k].first_key + kk];
                for (size_t s = lower_bound(sorted, n, key); s < n && sorted[s]->pod && !strcmp(sorted[s]->pod, key);
                     s++) {
                    if (got == cap) {
                        cap *= 2;
                        sh->samples = ksiss_xrealloc(sh->samples, cap * sizeof(*sh->samples));
                    }
                    sh->samples[got++] = (ksiss_promql_sample){sorted[s]->pod, sorted[s]->value};
                }
            }
        }
        sh->n = got;
        b->done(mem[k].owner);
    }
    free(sorted);
}
