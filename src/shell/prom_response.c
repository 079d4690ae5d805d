/* prom_response.c: the parser of Prometheus /api/v1/query answers
 * (ksiss_prom_parse_response, see prom.h): HTTP and JSON status checked,
 * a vector or scalar result taken sample by sample (NaN, +Inf and -Inf
 * understood), each sample's pod label and series text kept; every refusal
 * names what was wrong and quotes the answer safely. */
#include "shell/prom_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shell/json_arena.h"

void ksiss_prom_result_free(ksiss_prom_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->samples[i].pod);
        free(r->samples[i].series);
        free(r->samples[i].le);
    }
    free(r->samples);
    free(r->error);
    memset(r, 0, sizeof(*r));
}

int ksiss_prom__fail(ksiss_prom_result *r, const char *reason, char *msg)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->samples[i].pod);
        free(r->samples[i].series);
        free(r->samples[i].le);
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
static int parse_pair(const json_t *pair, double *out)
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

/* An answer that is not a JSON object: an HTTP error (its body quoted),
 * or a body that is not the API's. Returns -1. */
static int refuse_non_json(const char *body, size_t len, long http_status, const json_t *root,
                           const json_error_t *je, ksiss_prom_result *out)
{
    char *head = printable(body, len, 200);
    /* jansson quotes the offending byte in je->text: keep it printable too. */
    char *why = root ? ksiss_xstrdup("not an object") : printable(je->text, strlen(je->text), 200);
    bool auth = http_status == 401 || http_status == 403;
    int rc = http_status != 200
                 ? ksiss_prom__fail(out, auth ? KSISS_PROM_REASON_AUTH : KSISS_PROM_REASON_HTTP,
                                    ksiss_xasprintf("HTTP %ld from Prometheus%s: %s", http_status,
                                                    auth ? " (check the bearer token or basic auth credentials)"
                                                         : "",
                                                    head))
                 : ksiss_prom__fail(out, KSISS_PROM_REASON_RESPONSE,
                                    ksiss_xasprintf("the response is not a Prometheus API JSON object (%s): %s", why,
                                                    head));
    free(why);
    free(head);
    return rc;
}

/* An API object whose status is not "success": Prometheus' errorType and
 * error quoted. Returns -1. */
static int refuse_api_error(const json_t *root, const char *status, long http_status, ksiss_prom_result *out)
{
    const char *etype = json_string_value(json_object_get(root, "errorType"));
    const char *emsg = json_string_value(json_object_get(root, "error"));
    char *m = printable(emsg ? emsg : "no error message", strlen(emsg ? emsg : "no error message"), 1000);
    char *et = printable(etype ? etype : "no errorType", strlen(etype ? etype : "no errorType"), 200);
    /* A 401/403 is about credentials even when its body is an API
     * error object (Prometheus behind an auth proxy, or its own
     * basic auth): counted as `auth`, with the hint. */
    bool auth = http_status == 401 || http_status == 403;
    int rc = ksiss_prom__fail(out, auth ? KSISS_PROM_REASON_AUTH
                                   : http_status >= 200 && http_status < 300 && !status ? KSISS_PROM_REASON_RESPONSE
                                                                                        : KSISS_PROM_REASON_PROMETHEUS,
                              ksiss_xasprintf("Prometheus refused the query (HTTP %ld, %s%s): %s", http_status, et,
                                              auth ? "; check the bearer token or basic auth credentials" : "", m));
    free(et);
    free(m);
    return rc;
}

/* A scalar result [time, "value"]: one sample. 0 or -1. */
static int take_scalar(const json_t *result, ksiss_prom_result *out)
{
    double v;
    if (parse_pair(result, &v) < 0)
        return ksiss_prom__fail(out, KSISS_PROM_REASON_RESPONSE,
                                ksiss_xstrdup("a scalar result is not [time, \"value\"]"));
    out->scalar = true;
    out->samples = ksiss_xcalloc(1, sizeof(*out->samples));
    out->samples[0] = (ksiss_prom_sample){NULL, ksiss_xstrdup("scalar"), v, NULL};
    out->n = 1;
    return 0;
}

/* A vector result: a sample per series, with its pod_label's value (NULL
 * pod_label: none) and its series text. 0 or -1. */
static int take_vector(const json_t *result, const char *pod_label, ksiss_prom_result *out)
{
    if (!json_is_array(result))
        return ksiss_prom__fail(out, KSISS_PROM_REASON_RESPONSE, ksiss_xstrdup("a vector result is not an array"));
    size_t n = json_array_size(result);
    out->samples = ksiss_xcalloc(n ? n : 1, sizeof(*out->samples));
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(result, i);
        json_t *metric = json_object_get(s, "metric");
        double v;
        if (!json_is_object(metric) || parse_pair(json_object_get(s, "value"), &v) < 0)
            return ksiss_prom__fail(out, KSISS_PROM_REASON_RESPONSE,
                                    ksiss_xasprintf("sample %zu of the vector is not {metric, value: [time, "
                                                    "\"value\"]}", i));
        const char *pod = pod_label ? json_string_value(json_object_get(metric, pod_label)) : NULL;
        const char *le = json_string_value(json_object_get(metric, "le"));
        out->samples[out->n++] = (ksiss_prom_sample){ksiss_xstrdup(pod), series_text(metric), v, ksiss_xstrdup(le)};
    }
    return 0;
}

/* Any other result type (a matrix, a string): refused with a hint. */
static int refuse_result_type(const char *type, ksiss_prom_result *out)
{
    char *pt = printable(type, strlen(type), 200);
    int rc = ksiss_prom__fail(out, KSISS_PROM_REASON_RESULT_TYPE,
                              ksiss_xasprintf("the query returns a %s, not an instant vector or scalar%s", pt,
                                              !strcmp(type, "matrix")
                                                  ? " (remove the [range] at the end, or wrap it in a function "
                                                    "such as rate() or avg_over_time())"
                                                  : ""));
    free(pt);
    return rc;
}

static int parse_response(const char *body, size_t len, long http_status, const char *pod_label,
                          ksiss_prom_result *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = http_status;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    int rc;
    if (!root || !json_is_object(root)) {
        rc = refuse_non_json(body, len, http_status, root, &je, out);
        goto out;
    }
    const char *status = json_string_value(json_object_get(root, "status"));   /* borrowed */
    if (!status || strcmp(status, "success")) {
        rc = refuse_api_error(root, status, http_status, out);
        goto out;
    }
    if (http_status != 200) {
        rc = ksiss_prom__fail(out, KSISS_PROM_REASON_HTTP, ksiss_xasprintf("HTTP %ld from Prometheus", http_status));
        goto out;
    }
    json_t *data = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    if (!type || !result)
        rc = ksiss_prom__fail(out, KSISS_PROM_REASON_RESPONSE,
                              ksiss_xstrdup("the response has no data.resultType/result"));
    else if (!strcmp(type, "scalar"))
        rc = take_scalar(result, out);
    else if (!strcmp(type, "vector"))
        rc = take_vector(result, pod_label, out);
    else
        rc = refuse_result_type(type, out);
    out->ok = rc == 0;
out:
    json_decref(root);
    return rc;
}

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
