/* prom_opts.c: the Prometheus client's settings (ksiss_prom_opts, see
 * prom.h): their defaults, the PROMETHEUS_* environment variables, the
 * query URL's normalization and a deep copy for each client; secrets are
 * wiped when freed. */
#include "shell/prom_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shell/http_auth.h"

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

void ksiss_prom__opts_copy(ksiss_prom_opts *dst, const ksiss_prom_opts *src)
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
