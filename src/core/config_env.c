/* config_env.c: the original's environment variables (COMPATIBILITY.md),
 * read through a lookup function handed in by the shell, with their
 * defaults; every invalid value becomes a diagnostic naming the variable. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"

#define ENV_FILE "environment"
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

/* The authority (between "scheme://" and the path): [userinfo@]host[:port],
 * host a name, an IPv4 address or a bracketed IPv6 address. Returns NULL
 * or why it is not one. */
static const char *authority_problem(const char *a, size_t n)
{
    const char *host = a;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            host = a + i + 1;
    const char *end = a + n;
    const char *port = NULL;
    if (host < end && *host == '[') {
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (!rb || rb == host + 1)
            return "has an IPv6 host without its closing ']'";
        if (rb + 1 < end) {
            if (rb[1] != ':')
                return "has something after the IPv6 host that is not a port";
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        if (colon == host || host == end)
            return "has no host";
        if (colon)
            port = colon + 1;
    }
    if (port) {
        long v = 0;
        if (port == end || end - port > 5)
            return "has an empty or invalid port";
        for (const char *p = port; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "has an empty or invalid port";
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535)
            return "has a port outside 1-65535";
    }
    return NULL;
}

char *ksiss_prometheus_url_normalize(const char *v, const char **why)
{
    *why = NULL;
    if (!v || !*v) {
        *why = "is empty";
        return NULL;
    }
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
            *why = "must not have a query string or fragment (ksiss adds the query itself)";
            return NULL;
        }
    }
    size_t alen = strcspn(rest, "/");
    if ((*why = authority_problem(rest, alen)))
        return NULL;
    /* Trailing slashes go, never into the authority. */
    size_t n = strlen(v);
    size_t min = (size_t)(rest - v) + alen;
    while (n > min && v[n - 1] == '/')
        n--;
    char *base = ksiss_xstrndup(v, n);
    char *out;
    if (ksiss_str_has_suffix(base + min, KSISS_PROMETHEUS_QUERY_PATH))
        out = base;
    else {
        out = ksiss_str_has_suffix(base + min, "/api/v1") ? ksiss_xasprintf("%s/query", base)
                                                          : ksiss_xasprintf("%s%s", base, KSISS_PROMETHEUS_QUERY_PATH);
        free(base);
    }
    return out;
}

char *ksiss_url_redact(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *start = scheme ? scheme + 3 : url;
    size_t host_end = strcspn(start, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < host_end; i++)
        if (start[i] == '@')
            at = start + i;
    if (!at)
        return ksiss_xstrdup(url);
    return ksiss_xasprintf("%.*s***%s", (int)(start - url), url, at);
}

int ksiss_env_parse(ksiss_getenv_fn get, void *ctx, ksiss_env *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    bool bad = false;
    const char *v;

    out->interval_ms = 10000;
    if ((v = get_or(get, ctx, "METRICS_SCRAPE_INTERVAL"))) {
        int64_t ms;
        if (ksiss_parse_duration_ms(v, &ms) != 0) {
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
    if (v && !ksiss_dns1123_label(v)) {
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
    if (v && !ksiss_dns1123_subdomain(v)) {
        env_err(d, "CONFIG_MAP_NAME", v, "not a valid ConfigMap name (lower-case letters, digits, '-' and '.')");
        bad = true;
        v = NULL;
    }
    out->config_map_name = ksiss_xstrdup(v ? v : "autoscaler-config");

    v = get_or(get, ctx, "PROMETHEUS_URL");
    const char *why = NULL;
    char *url = ksiss_prometheus_url_normalize(v ? v : KSISS_DEFAULT_PROMETHEUS_URL, &why);
    if (!url) {
        char *shown = ksiss_url_redact(v);
        env_err(d, "PROMETHEUS_URL", shown, why);
        free(shown);
        bad = true;
        url = ksiss_xstrdup(KSISS_DEFAULT_PROMETHEUS_URL);
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

const char *ksiss_env_ignored(const ksiss_env *env, const char *service)
{
    if (!env || !service)
        return NULL;
    for (size_t i = 0; i < env->n_ignore; i++)
        if (env->ignore[i][0] && strstr(service, env->ignore[i]))
            return env->ignore[i];
    return NULL;
}
