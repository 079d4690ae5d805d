/* config_env.c: the original's environment variables (COMPATIBILITY.md),
 * read through a lookup function handed in by the shell, with their
 * defaults; every invalid value becomes a diagnostic naming the variable. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"

#define ENV_FILE "environment"
#define DEFAULT_PROMETHEUS_URL \
    "http://prometheus-kube-prometheus-prometheus.monitoring.svc.cluster.local:9090/api/v1/query"
#define QUERY_PATH "/api/v1/query"
#define MAX_INTERVAL_MS (24LL * 3600 * 1000)

static void env_err(ksiss_diags *d, const char *var, const char *val, const char *why)
{
    /* Values are outside data: show a bounded, printable excerpt. */
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    size_t n = 0;
    for (const char *p = val; *p && n < 60; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f)
            ksiss_sb_printf(&sb, "\\x%02x", c);
        else
            ksiss_sb_putc(&sb, (char)c);
    }
    if (strlen(val) > 60)
        ksiss_sb_puts(&sb, "...");
    ksiss_diags_add(d, ENV_FILE, (ksiss_pos){0, 0}, "%s=\"%s\": %s", var, ksiss_sb_str(&sb), why);
    ksiss_sb_free(&sb);
}

static const char *get_or(ksiss_getenv_fn get, void *ctx, const char *name)
{
    const char *v = get ? get(name, ctx) : NULL;
    return v && *v ? v : NULL;
}

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label (namespace names). */
static bool dns1123_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* RFC 1123 subdomain (ConfigMap names). */
static bool dns1123_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

/* A positive Kubernetes resource quantity: "1", "500m", "0.5", "10Gi",
 * "1e3", "2.5G" (apimachinery's resource.Quantity grammar). */
static bool positive_quantity(const char *s)
{
    const char *p = s;
    if (*p == '+')
        p++;
    bool digits = false, nonzero = false;
    while (*p >= '0' && *p <= '9') {
        nonzero = nonzero || *p != '0';
        digits = true;
        p++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            nonzero = nonzero || *p != '0';
            digits = true;
            p++;
        }
    }
    if (!digits || !nonzero)
        return false;
    static const char *const suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G",
                                           "T", "P", "E", NULL};
    for (size_t i = 0; suffixes[i]; i++)
        if (!strcmp(p, suffixes[i]))
            return true;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        return *p == '\0';
    }
    return false;
}

/* http(s)://host[:port][/path], normalized to end in /api/v1/query.
 * Returns a new string or NULL with *why set. */
static char *normalize_prometheus_url(const char *v, const char **why)
{
    const char *rest;
    if (ksiss_str_has_prefix(v, "http://"))
        rest = v + 7;
    else if (ksiss_str_has_prefix(v, "https://"))
        rest = v + 8;
    else {
        *why = "must start with http:// or https://";
        return NULL;
    }
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f) {
            *why = "must not contain spaces or control characters";
            return NULL;
        }
        if (c == '?' || c == '#') {
            *why = "must not have a query string or fragment (the query is added by ksiss)";
            return NULL;
        }
    }
    if (*rest == '\0' || *rest == '/' || *rest == ':') {
        *why = "has no host";
        return NULL;
    }
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/' && (size_t)(v + n - 1 - rest) > 0)
        n--;
    char *base = ksiss_xstrndup(v, n);
    char *out;
    if (ksiss_str_has_suffix(base, QUERY_PATH))
        out = ksiss_xstrdup(base);
    else if (ksiss_str_has_suffix(base, "/api/v1"))
        out = ksiss_xasprintf("%s/query", base);
    else
        out = ksiss_xasprintf("%s%s", base, QUERY_PATH);
    free(base);
    return out;
}

int ksiss_env_parse(ksiss_getenv_fn get, void *ctx, ksiss_env *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    bool bad = false;
    const char *v;

    out->interval_ms = 10000;
    if ((v = get_or(get, ctx, "METRICS_SCRAPE_INTERVAL"))) {
        int64_t ms;
        if (ksiss_parse_duration_ms(v, &ms) != 0 || v[0] == ' ') {
            env_err(d, "METRICS_SCRAPE_INTERVAL", v, "expected a number of seconds (10) or a duration (10s, 500ms, 1m)");
            bad = true;
        } else if (ms <= 0 || ms > MAX_INTERVAL_MS) {
            env_err(d, "METRICS_SCRAPE_INTERVAL", v, "must be longer than 0 and at most 24h");
            bad = true;
        } else {
            out->interval_ms = ms;
        }
    }

    v = get_or(get, ctx, "NAMESPACE");
    if (v && !dns1123_label(v)) {
        env_err(d, "NAMESPACE", v, "not a valid namespace name (lower-case letters, digits and '-', at most 63)");
        bad = true;
        v = NULL;
    }
    out->namespace_name = ksiss_xstrdup(v ? v : "default");

    if ((v = get_or(get, ctx, "IGNORE_LIST"))) {
        size_t cap = 0;
        const char *p = v;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            const char *a = p, *b = p + len;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b > a) {
                if (out->n_ignore == cap) {
                    cap = cap ? cap * 2 : 4;
                    out->ignore = ksiss_xrealloc(out->ignore, cap * sizeof(*out->ignore));
                }
                out->ignore[out->n_ignore++] = ksiss_xstrndup(a, (size_t)(b - a));
            }
            p += len;
            if (*p == ',')
                p++;
        }
    }

    v = get_or(get, ctx, "CONFIG_MAP_NAME");
    if (v && !dns1123_subdomain(v)) {
        env_err(d, "CONFIG_MAP_NAME", v, "not a valid ConfigMap name (lower-case letters, digits, '-' and '.')");
        bad = true;
        v = NULL;
    }
    out->config_map_name = ksiss_xstrdup(v ? v : "autoscaler-config");

    v = get_or(get, ctx, "PROMETHEUS_URL");
    const char *why = NULL;
    char *url = normalize_prometheus_url(v ? v : DEFAULT_PROMETHEUS_URL, &why);
    if (!url) {
        env_err(d, "PROMETHEUS_URL", v, why);
        bad = true;
        url = ksiss_xstrdup(DEFAULT_PROMETHEUS_URL);
    }
    out->prometheus_url = url;

    v = get_or(get, ctx, "DEFAULT_CPU");
    if (v && !positive_quantity(v)) {
        env_err(d, "DEFAULT_CPU", v, "not a positive Kubernetes quantity such as 1, 500m or 2.5");
        bad = true;
        v = NULL;
    }
    out->default_cpu = ksiss_xstrdup(v ? v : "1");

    v = get_or(get, ctx, "DEFAULT_MEMORY");
    if (v && !positive_quantity(v)) {
        env_err(d, "DEFAULT_MEMORY", v, "not a positive Kubernetes quantity such as 10Gi, 512Mi or 8G");
        bad = true;
        v = NULL;
    }
    out->default_memory = ksiss_xstrdup(v ? v : "10Gi");
    return bad ? -1 : 0;
}

void ksiss_env_free(ksiss_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->n_ignore; i++)
        free(env->ignore[i]);
    free(env->ignore);
    free(env->namespace_name);
    free(env->config_map_name);
    free(env->prometheus_url);
    free(env->default_cpu);
    free(env->default_memory);
    memset(env, 0, sizeof(*env));
}

bool ksiss_env_ignored(const ksiss_env *env, const char *service)
{
    if (!env || !service)
        return false;
    for (size_t i = 0; i < env->n_ignore; i++)
        if (strstr(service, env->ignore[i]))
            return true;
    return false;
}
