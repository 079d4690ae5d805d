/* kube.c: the Kubernetes API client: resource paths, configuration
 * (in-cluster; kubeconfig is in kubeconfig.c), one request with bounded
 * retries over libcurl, the verbs, and API Status errors. The informer
 * (LIST + WATCH thread and cache) is in kube_informer.c. */
#include "shell/kube.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/util.h"
#include "shell/clock.h"
#include "shell/http_auth.h"
#include "shell/json_arena.h"
#include "shell/kube_internal.h"
#include "shell/kubeconfig.h"
#include "shell/log.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_TOKEN_REREAD_MS 60000
#define KUBE_SMALL_FILE_MAX (1u << 20)

const ksiss_kube_resource KSISS_KUBE_PODS = {"", "v1", "pods", "Pod", true};
const ksiss_kube_resource KSISS_KUBE_NODES = {"", "v1", "nodes", "Node", false};
const ksiss_kube_resource KSISS_KUBE_EVENTS = {"", "v1", "events", "Event", true};
const ksiss_kube_resource KSISS_KUBE_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap", true};
const ksiss_kube_resource KSISS_KUBE_LEASES = {"coordination.k8s.io", "v1", "leases", "Lease", true};
const ksiss_kube_resource KSISS_KUBE_KNATIVE_SERVICES = {"serving.knative.dev", "v1", "services", "Service", true};
const ksiss_kube_resource KSISS_KUBE_KNATIVE_REVISIONS = {"serving.knative.dev", "v1", "revisions", "Revision", true};
const ksiss_kube_resource KSISS_KUBE_KNATIVE_CONFIGURATIONS = {"serving.knative.dev", "v1", "configurations",
                                                               "Configuration", true};
const ksiss_kube_resource KSISS_KUBE_KNATIVE_ROUTES = {"serving.knative.dev", "v1", "routes", "Route", true};

/* ------------------------------------------------------------------ */
/* Paths                                                               */

char *ksiss_kube_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            ksiss_sb_putc(&sb, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            ksiss_sb_append(&sb, e, 3);
        }
    }
    return ksiss_sb_take(&sb);
}

static void sb_put_escaped(ksiss_strbuf *sb, const char *s)
{
    char *e = ksiss_kube_escape(s);
    ksiss_sb_puts(sb, e);
    free(e);
}

char *ksiss_kube_path(const ksiss_kube_resource *res, const char *ns, const char *name,
                      const char *subresource)
{
    if (!res || !res->version || !res->resource || !*res->version || !*res->resource)
        return NULL;
    bool has_ns = ns && *ns;
    if (name && !*name)
        return NULL;
    if (!res->namespaced && has_ns)
        return NULL;
    if (res->namespaced && name && !has_ns)
        return NULL;
    if (subresource && (!*subresource || !name))
        return NULL;
    /* "." and ".." would be resolved away as path segments. */
    if (name && (!strcmp(name, ".") || !strcmp(name, "..")))
        return NULL;
    if (has_ns && (!strcmp(ns, ".") || !strcmp(ns, "..")))
        return NULL;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    if (!res->group || !*res->group) {
        ksiss_sb_puts(&sb, "/api/");
    } else {
        ksiss_sb_puts(&sb, "/apis/");
        sb_put_escaped(&sb, res->group);
        ksiss_sb_putc(&sb, '/');
    }
    sb_put_escaped(&sb, res->version);
    if (has_ns) {
        ksiss_sb_puts(&sb, "/namespaces/");
        sb_put_escaped(&sb, ns);
    }
    ksiss_sb_putc(&sb, '/');
    sb_put_escaped(&sb, res->resource);
    if (name) {
        ksiss_sb_putc(&sb, '/');
        sb_put_escaped(&sb, name);
        if (subresource) {
            ksiss_sb_putc(&sb, '/');
            sb_put_escaped(&sb, subresource);
        }
    }
    return ksiss_sb_take(&sb);
}

/* Appends "?k=v" or "&k=v" with v escaped. */
void ksiss_kube__query_add(ksiss_strbuf *sb, bool *first, const char *key, const char *value)
{
    if (!value)
        return;
    ksiss_sb_putc(sb, *first ? '?' : '&');
    *first = false;
    ksiss_sb_puts(sb, key);
    ksiss_sb_putc(sb, '=');
    sb_put_escaped(sb, value);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

void ksiss_kube_error_clear(ksiss_kube_error *e)
{
    if (!e)
        return;
    free(e->reason);
    free(e->message);
    memset(e, 0, sizeof *e);
}

const char *ksiss_kube_rc_name(ksiss_kube_rc rc)
{
    switch (rc) {
    case KSISS_KUBE_OK: return "ok";
    case KSISS_KUBE_E_TRANSPORT: return "transport error";
    case KSISS_KUBE_E_HTTP: return "API error";
    case KSISS_KUBE_E_NOT_FOUND: return "not found";
    case KSISS_KUBE_E_CONFLICT: return "conflict";
    case KSISS_KUBE_E_GONE: return "gone (resource version too old)";
    case KSISS_KUBE_E_INVALID: return "invalid request";
    case KSISS_KUBE_E_FORBIDDEN: return "unauthorized or forbidden";
    case KSISS_KUBE_E_TOO_LARGE: return "response too large";
    case KSISS_KUBE_E_DECODE: return "undecodable response";
    case KSISS_KUBE_E_ARG: return "bad argument";
    case KSISS_KUBE_E_UNAVAILABLE: return "unavailable";
    case KSISS_KUBE_E_STOPPING: return "stopping";
    case KSISS_KUBE_E_NOT_LEADER: return "not leading";
    }
    return "unknown";
}

ksiss_kube_rc ksiss_kube_rc_for_http(long code)
{
    if (code >= 200 && code < 300)
        return KSISS_KUBE_OK;
    switch (code) {
    case 0: return KSISS_KUBE_E_TRANSPORT;
    case 400:
    case 422: return KSISS_KUBE_E_INVALID;
    case 401:
    case 403: return KSISS_KUBE_E_FORBIDDEN;
    case 404: return KSISS_KUBE_E_NOT_FOUND;
    case 409: return KSISS_KUBE_E_CONFLICT;
    case 410: return KSISS_KUBE_E_GONE;
    case 413: return KSISS_KUBE_E_INVALID;
    case 429: return KSISS_KUBE_E_UNAVAILABLE;
    default: break;
    }
    if (code >= 500)
        return KSISS_KUBE_E_UNAVAILABLE;
    return KSISS_KUBE_E_HTTP;
}

void ksiss_kube__set_error(ksiss_kube_error *e, ksiss_kube_rc rc, long code, const char *fmt, ...)
{
    if (!e)
        return;
    ksiss_kube_error_clear(e);
    e->rc = rc;
    e->http_code = code;
    va_list ap;
    va_start(ap, fmt);
    e->message = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
}

/* Copies at most n bytes of s for a message, with control characters
 * replaced, so a binary or HTML body cannot garble logs. */
static char *printable_prefix(const char *s, size_t len, size_t n)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, "");
    size_t m = len < n ? len : n;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)s[i];
        ksiss_sb_putc(&sb, (c < 0x20 || c == 0x7f) ? ' ' : (char)c);
    }
    if (len > n)
        ksiss_sb_puts(&sb, "...");
    return ksiss_sb_take(&sb);
}

void ksiss_kube_error_from_response(ksiss_kube_error *e, const char *verb, const char *path,
                                    long http_code, const char *body, size_t len)
{
    if (!e)
        return;
    ksiss_kube_error_clear(e);
    e->rc = ksiss_kube_rc_for_http(http_code);
    if (e->rc == KSISS_KUBE_OK)
        e->rc = KSISS_KUBE_E_HTTP;
    e->http_code = http_code;
    const char *msg = NULL;
    json_t *root = NULL;
    if (body && len > 0) {
        root = json_loadb(body, len, 0, NULL);
        if (json_is_object(root)) {
            const char *kind = json_string_value(json_object_get(root, "kind"));
            if (kind && !strcmp(kind, "Status")) {
                msg = json_string_value(json_object_get(root, "message"));
                const char *reason = json_string_value(json_object_get(root, "reason"));
                if (reason && *reason)
                    e->reason = ksiss_xstrdup(reason);
                json_t *code = json_object_get(root, "code");
                if (json_is_integer(code) && http_code == 0)
                    e->http_code = (long)json_integer_value(code);
            }
        }
    }
    if (msg && *msg) {
        e->message = ksiss_xasprintf("%s %s: %ld %s: %s", verb, path, e->http_code,
                                     e->reason ? e->reason : ksiss_kube_rc_name(e->rc), msg);
    } else if (body && len > 0) {
        char *p = printable_prefix(body, len, 200);
        e->message = ksiss_xasprintf("%s %s: HTTP %ld (%s): %s", verb, path, e->http_code,
                                     ksiss_kube_rc_name(e->rc), p);
        free(p);
    } else {
        e->message = ksiss_xasprintf("%s %s: HTTP %ld (%s)", verb, path, e->http_code,
                                     ksiss_kube_rc_name(e->rc));
    }
    json_decref(root);
}

/* ------------------------------------------------------------------ */
/* Retry policy (pure)                                                 */

int64_t ksiss_kube_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double jitter01)
{
    if (base_ms <= 0)
        base_ms = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    if (attempt < 0)
        attempt = 0;
    int64_t d = base_ms;
    for (int i = 0; i < attempt && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2;
    if (d > max_ms)
        d = max_ms;
    if (!(jitter01 >= 0.0))
        jitter01 = 0.0;
    if (jitter01 >= 1.0)
        jitter01 = 0.999999;
    int64_t half = d / 2;
    return (d - half) + (int64_t)((double)half * jitter01);
}

bool ksiss_kube_should_retry(const char *verb, long http_code)
{
    bool idempotent = !(verb && !strcmp(verb, "POST"));
    switch (http_code) {
    case 429:
    case 502:
    case 503:
    case 504: return true;
    case 0:
    case 500: return idempotent;
    default: return false;
    }
}

int64_t ksiss_kube_parse_retry_after_ms(const char *value)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' || value[n - 1] == '\n'))
        n--;
    if (n == 0 || n > 12)
        return -1;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        s = s * 10 + (value[i] - '0');
    }
    if (s > 60)
        s = 60;
    return s * 1000;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

void ksiss_kube_config_free(ksiss_kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca_pem);
    ksiss_free_secret(cfg->token);
    free(cfg->token_file);
    free(cfg->client_cert_file);
    free(cfg->client_key_file);
    free(cfg->client_cert_pem);
    ksiss_free_secret(cfg->client_key_pem);
    free(cfg->namespace);
    free(cfg->source);
    memset(cfg, 0, sizeof *cfg);
}

static void config_copy(ksiss_kube_config *dst, const ksiss_kube_config *src)
{
    dst->server = ksiss_xstrdup(src->server);
    dst->ca_file = ksiss_xstrdup(src->ca_file);
    dst->ca_pem = ksiss_xstrdup(src->ca_pem);
    dst->token = ksiss_xstrdup(src->token);
    dst->token_file = ksiss_xstrdup(src->token_file);
    dst->client_cert_file = ksiss_xstrdup(src->client_cert_file);
    dst->client_key_file = ksiss_xstrdup(src->client_key_file);
    dst->client_cert_pem = ksiss_xstrdup(src->client_cert_pem);
    dst->client_key_pem = ksiss_xstrdup(src->client_key_pem);
    dst->insecure_skip_tls_verify = src->insecure_skip_tls_verify;
    dst->namespace = ksiss_xstrdup(src->namespace ? src->namespace : "default");
    dst->source = ksiss_xstrdup(src->source ? src->source : "configuration");
}

/* Reads a small file whole; trailing whitespace trimmed when `trim`. */
char *ksiss_kube__read_small_file(const char *path, bool trim, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = ksiss_xasprintf("%s: %s", path, strerror(errno));
        return NULL;
    }
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, KUBE_SMALL_FILE_MAX);
    ksiss_sb_puts(&sb, "");
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (ksiss_sb_append(&sb, chunk, n) < 0) {
            fclose(f);
            ksiss_sb_free(&sb);
            *err = ksiss_xasprintf("%s: larger than %u bytes", path, KUBE_SMALL_FILE_MAX);
            return NULL;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        ksiss_sb_free(&sb);
        *err = ksiss_xasprintf("%s: read error", path);
        return NULL;
    }
    char *s = ksiss_sb_take(&sb);
    if (trim) {
        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
            s[--len] = '\0';
    }
    return s;
}

int ksiss_kube_config_in_cluster(ksiss_kube_config *cfg, const char *sa_dir, char **err)
{
    memset(cfg, 0, sizeof *cfg);
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
        *err = ksiss_xstrdup("in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                             "must be set (not running in a pod? use --kubeconfig)");
        return -1;
    }
    int64_t p;
    if (ksiss_parse_int64(port, &p) < 0 || p < 1 || p > 65535) {
        *err = ksiss_xasprintf("in-cluster configuration: KUBERNETES_SERVICE_PORT=\"%s\" is not a port number", port);
        return -1;
    }
    if (!sa_dir)
        sa_dir = KUBE_SA_DIR;
    bool v6 = strchr(host, ':') != NULL;
    cfg->server = ksiss_xasprintf("https://%s%s%s:%lld", v6 ? "[" : "", host, v6 ? "]" : "", (long long)p);
    cfg->token_file = ksiss_xasprintf("%s/token", sa_dir);
    cfg->ca_file = ksiss_xasprintf("%s/ca.crt", sa_dir);
    char *e = NULL;
    cfg->token = ksiss_kube__read_small_file(cfg->token_file, true, &e);
    if (!cfg->token) {
        *err = ksiss_xasprintf("in-cluster configuration: service account token: %s", e);
        free(e);
        ksiss_kube_config_free(cfg);
        return -1;
    }
    if (access(cfg->ca_file, R_OK) != 0) {
        *err = ksiss_xasprintf("in-cluster configuration: service account CA %s: %s", cfg->ca_file,
                               strerror(errno));
        ksiss_kube_config_free(cfg);
        return -1;
    }
    char *nsfile = ksiss_xasprintf("%s/namespace", sa_dir);
    cfg->namespace = ksiss_kube__read_small_file(nsfile, true, &e);
    free(nsfile);
    if (!cfg->namespace || !*cfg->namespace) {
        free(e);
        free(cfg->namespace);
        cfg->namespace = ksiss_xstrdup("default");
    }
    cfg->source = ksiss_xstrdup("in-cluster");
    return 0;
}

int ksiss_kube_config_load(ksiss_kube_config *cfg, const char *kubeconfig_flag, const char *context,
                           char **err)
{
    memset(cfg, 0, sizeof *cfg);
    if (kubeconfig_flag && *kubeconfig_flag)
        return ksiss_kubeconfig_load_file(kubeconfig_flag, context, cfg, err);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        /* The first non-empty file of the colon-separated list. */
        const char *end = env;
        while (*end == ':')
            end++;
        const char *start = end;
        while (*end && *end != ':')
            end++;
        if (end > start) {
            char *first = ksiss_xstrndup(start, (size_t)(end - start));
            int rc = ksiss_kubeconfig_load_file(first, context, cfg, err);
            free(first);
            return rc;
        }
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && *host)
        return ksiss_kube_config_in_cluster(cfg, NULL, err);
    const char *home = getenv("HOME");
    if (home && *home) {
        char *path = ksiss_xasprintf("%s/.kube/config", home);
        if (access(path, F_OK) == 0) {
            int rc = ksiss_kubeconfig_load_file(path, context, cfg, err);
            free(path);
            return rc;
        }
        free(path);
    }
    *err = ksiss_xstrdup("no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a pod, "
                         "or create ~/.kube/config");
    return -1;
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)c;
    (void)access;
    ksiss_kube *k = ud;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&k->share_mu[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *ud)
{
    (void)c;
    ksiss_kube *k = ud;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&k->share_mu[data]);
}

/* The handles' shared DNS cache and TLS sessions (see kube_internal.h). A
 * client without them still works, resolving and handshaking per handle. */
static void share_init(ksiss_kube *k)
{
    pthread_mutex_init(&k->idle_mu, NULL);
    k->share = curl_share_init();
    if (!k->share)
        return;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&k->share_mu[i], NULL);
    if (curl_share_setopt(k->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_USERDATA, k) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        curl_share_cleanup(k->share);
        k->share = NULL;
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&k->share_mu[i]);
    }
}

/* An idle handle of this client (connections open), else a new one. */
static CURL *take_handle(ksiss_kube *k)
{
    CURL *c = NULL;
    pthread_mutex_lock(&k->idle_mu);
    if (k->n_idle > 0)
        c = k->idle[--k->n_idle];
    pthread_mutex_unlock(&k->idle_mu);
    if (c)
        return c;
    c = curl_easy_init();
    if (c && k->share)
        curl_easy_setopt(c, CURLOPT_SHARE, k->share);
    return c;
}

void ksiss_kube__release(ksiss_kube *k, CURL *c)
{
    if (!c)
        return;
    /* Options, callbacks and their pointers into the finished transfer go;
     * open connections, the share and the TLS session cache stay. */
    curl_easy_reset(c);
    pthread_mutex_lock(&k->idle_mu);
    if (k->n_idle < KSISS_KUBE_IDLE_HANDLES) {
        k->idle[k->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&k->idle_mu);
    if (c)
        curl_easy_cleanup(c);
}

ksiss_kube *ksiss_kube_new(const ksiss_kube_config *cfg, const ksiss_kube_options *opt, char **err)
{
    if (!cfg || !cfg->server || !*cfg->server) {
        *err = ksiss_xstrdup("Kubernetes client: no API server URL in the configuration");
        return NULL;
    }
    if (!ksiss_str_has_prefix(cfg->server, "https://") && !ksiss_str_has_prefix(cfg->server, "http://")) {
        *err = ksiss_xasprintf("Kubernetes client: server \"%s\" (%s) is not an http(s) URL", cfg->server,
                               cfg->source ? cfg->source : "configuration");
        return NULL;
    }
    if (cfg->ca_file && access(cfg->ca_file, R_OK) != 0) {
        *err = ksiss_xasprintf("Kubernetes client: CA file %s: %s", cfg->ca_file, strerror(errno));
        return NULL;
    }
    if ((cfg->client_cert_file || cfg->client_cert_pem) != (cfg->client_key_file || cfg->client_key_pem)) {
        *err = ksiss_xasprintf("Kubernetes client (%s): a client certificate needs its key and vice versa",
                               cfg->source ? cfg->source : "configuration");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    ksiss_kube *k = ksiss_xcalloc(1, sizeof *k);
    config_copy(&k->cfg, cfg);
    size_t sl = strlen(k->cfg.server);
    while (sl > 0 && k->cfg.server[sl - 1] == '/')
        k->cfg.server[--sl] = '\0';
    k->opt.connect_timeout_ms = 5000;
    k->opt.timeout_ms = 30000;
    k->opt.max_retries = 4;
    k->opt.backoff_base_ms = 200;
    k->opt.backoff_max_ms = 5000;
    k->opt.max_response_bytes = 64u << 20;
    k->opt.max_event_bytes = 8u << 20;
    if (opt) {
        if (opt->connect_timeout_ms > 0)
            k->opt.connect_timeout_ms = opt->connect_timeout_ms;
        if (opt->timeout_ms > 0)
            k->opt.timeout_ms = opt->timeout_ms;
        if (opt->max_retries < 0)
            k->opt.max_retries = 0;
        else if (opt->max_retries > 0)
            k->opt.max_retries = opt->max_retries > 20 ? 20 : opt->max_retries;
        if (opt->backoff_base_ms > 0)
            k->opt.backoff_base_ms = opt->backoff_base_ms;
        if (opt->backoff_max_ms > 0)
            k->opt.backoff_max_ms = opt->backoff_max_ms;
        if (opt->max_response_bytes > 0)
            k->opt.max_response_bytes = opt->max_response_bytes;
        if (opt->max_event_bytes > 0)
            k->opt.max_event_bytes = opt->max_event_bytes;
        k->hook = opt->hook;
        k->hook_ud = opt->hook_ud;
    }
#ifdef KSISS_VERSION
    k->user_agent = ksiss_xstrdup(opt && opt->user_agent ? opt->user_agent : "ksiss/" KSISS_VERSION);
#else
    k->user_agent = ksiss_xstrdup(opt && opt->user_agent ? opt->user_agent : "ksiss");
#endif
    pthread_mutex_init(&k->mu, NULL);
    share_init(k);
    k->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)k;
    if (k->cfg.token_file) {
        k->token_read_ms = ksiss_mono_ms();
        struct stat st;
        if (stat(k->cfg.token_file, &st) == 0)
            k->token_mtime = st.st_mtim;
        if (!k->cfg.token) {
            /* A kubeconfig's tokenFile is read now: the first requests
             * must not go out anonymous (an API server with anonymous auth
             * answers them 403, not the 401 that forces a re-read). */
            char *e = NULL;
            k->cfg.token = ksiss_kube__read_small_file(k->cfg.token_file, true, &e);
            if (!k->cfg.token || !*k->cfg.token) {
                ksiss_log("warn", "cannot read the Kubernetes token", "error", e ? e : "empty file", NULL);
                ksiss_free_secret(k->cfg.token);
                k->cfg.token = NULL;
            }
            free(e);
        }
    }
    if (k->cfg.insecure_skip_tls_verify)
        ksiss_log("warn",
                  "TLS VERIFICATION OF THE KUBERNETES API SERVER IS OFF (insecure-skip-tls-verify in the "
                  "kubeconfig): anyone on the path can impersonate it",
                  "source", k->cfg.source, NULL);
    return k;
}

void ksiss_kube_free(ksiss_kube *k)
{
    if (!k)
        return;
    ksiss_kube_config_free(&k->cfg);
    free(k->user_agent);
    pthread_mutex_destroy(&k->mu);
    for (size_t i = 0; i < k->n_idle; i++)
        curl_easy_cleanup(k->idle[i]);
    pthread_mutex_destroy(&k->idle_mu);
    if (k->share) {
        curl_share_cleanup(k->share);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&k->share_mu[i]);
    }
    free(k);
}

void ksiss_kube_set_hook(ksiss_kube *k, ksiss_kube_request_hook hook, void *ud)
{
    pthread_mutex_lock(&k->mu);
    k->hook = hook;
    k->hook_ud = ud;
    pthread_mutex_unlock(&k->mu);
}

void ksiss_kube_set_write_guard(ksiss_kube *k, ksiss_kube_write_guard guard, void *ud)
{
    k->guard = guard;
    k->guard_ud = ud;
}

void ksiss_kube_set_stop(ksiss_kube *k, const volatile sig_atomic_t *stop)
{
    k->stop = stop;
}

static _Thread_local const ksiss_kube__exempt *tl_exempt;

void ksiss_kube__set_exempt(const ksiss_kube__exempt *e)
{
    tl_exempt = e;
}

/* Whether the client's stop flag stops this thread's requests now. */
static bool stopping(const ksiss_kube *k)
{
    return k->stop && __atomic_load_n(k->stop, __ATOMIC_ACQUIRE) && !(tl_exempt && tl_exempt->ignore_stop);
}

const char *ksiss_kube_namespace(const ksiss_kube *k)
{
    return k->cfg.namespace;
}

void ksiss_kube__record(ksiss_kube *k, const char *verb, long code)
{
    pthread_mutex_lock(&k->mu);
    ksiss_kube_request_hook hook = k->hook;
    void *ud = k->hook_ud;
    pthread_mutex_unlock(&k->mu);
    if (hook)
        hook(ud, verb, code);
}

double ksiss_kube__jitter(ksiss_kube *k)
{
    pthread_mutex_lock(&k->mu);
    /* xorshift64*: jitter only, not security. */
    uint64_t x = k->rng ? k->rng : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    k->rng = x;
    pthread_mutex_unlock(&k->mu);
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* The bearer token to send now ("Authorization: Bearer ..."), re-read from
 * token_file when its mtime changed or a minute passed (or `force`, after
 * a 401). Returns a copy (caller frees) or NULL. */
static char *current_token(ksiss_kube *k, bool force)
{
    pthread_mutex_lock(&k->mu);
    if (k->cfg.token_file) {
        int64_t now = ksiss_mono_ms();
        struct stat st;
        bool changed = false;
        if (stat(k->cfg.token_file, &st) == 0)
            changed = st.st_mtim.tv_sec != k->token_mtime.tv_sec || st.st_mtim.tv_nsec != k->token_mtime.tv_nsec;
        if (force || changed || now - k->token_read_ms >= KUBE_TOKEN_REREAD_MS) {
            char *e = NULL;
            char *t = ksiss_kube__read_small_file(k->cfg.token_file, true, &e);
            if (t && *t) {
                ksiss_free_secret(k->cfg.token);
                k->cfg.token = t;
                if (changed)
                    k->token_mtime = st.st_mtim;
            } else {
                /* Keep the old token; the file may be mid-rotation. */
                ksiss_log("warn", "cannot re-read the Kubernetes token", "error", e ? e : "empty file", NULL);
                ksiss_free_secret(t);
            }
            free(e);
            k->token_read_ms = now;
        }
    }
    char *tok = ksiss_xstrdup(k->cfg.token);
    pthread_mutex_unlock(&k->mu);
    return tok;
}

/* Header callback: remembers Retry-After. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    ksiss_kube_xfer *x = ud;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    size_t nl = sizeof name - 1;
    if (n > nl && strncasecmp(buf, name, nl) == 0) {
        char *v = ksiss_xstrndup(buf + nl, n - nl);
        x->retry_after_ms = ksiss_kube_parse_retry_after_ms(v);
        free(v);
    }
    return n;
}

/* Body callback for ordinary requests: appends with the size cap. */
static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    ksiss_kube_xfer *x = ud;
    size_t n = size * nmemb;
    if (ksiss_sb_append(&x->body, buf, n) < 0) {
        x->too_large = true;
        return 0;       /* aborts the transfer */
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    ksiss_kube_xfer *x = ud;
    if (x->client_stop && __atomic_load_n(x->client_stop, __ATOMIC_ACQUIRE))
        return 1;
    return (x->stop && __atomic_load_n(x->stop, __ATOMIC_ACQUIRE)) ? 1 : 0;
}

CURL *ksiss_kube__easy(ksiss_kube *k, const char *method, const char *path, const char *content_type,
                       const char *body, ksiss_kube_xfer *x, bool watch, struct curl_slist **hdrs_out)
{
    CURL *c = take_handle(k);
    if (!c)
        return NULL;
    if (!(tl_exempt && tl_exempt->ignore_stop))
        x->client_stop = k->stop;
    char *url = ksiss_xasprintf("%s%s", k->cfg.server, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, k->user_agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)k->opt.connect_timeout_ms);
    if (!watch) {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)k->opt.timeout_ms);
    } else {
        /* A watch is long; a silent dead connection is caught by the
         * server-side timeoutSeconds plus this margin, and bookmarks. */
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(x->watch_timeout_ms));
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    if (k->cfg.insecure_skip_tls_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (k->cfg.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, k->cfg.ca_file);
    if (k->cfg.ca_pem) {
        struct curl_blob b = {k->cfg.ca_pem, strlen(k->cfg.ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
    }
    if (k->cfg.client_cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERT, k->cfg.client_cert_file);
    if (k->cfg.client_key_file)
        curl_easy_setopt(c, CURLOPT_SSLKEY, k->cfg.client_key_file);
    if (k->cfg.client_cert_pem) {
        struct curl_blob b = {k->cfg.client_cert_pem, strlen(k->cfg.client_cert_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &b);
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (k->cfg.client_key_pem) {
        struct curl_blob b = {k->cfg.client_key_pem, strlen(k->cfg.client_key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &b);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    /* A header libcurl could not add fails the request: it must not go
     * out without its Authorization (or Content-Type). */
    struct curl_slist *h = NULL;
    bool ok = ksiss_headers_add(&h, "Accept: application/json");
    char *tok = current_token(k, x->force_token_reread);
    if (ok && tok && *tok) {
        ksiss_warn_cleartext_credentials(KSISS_DEST_KUBERNETES, k->cfg.server);
        char *a = ksiss_xasprintf("Authorization: Bearer %s", tok);
        ok = ksiss_headers_add(&h, a);
        ksiss_free_secret(a);
    }
    ksiss_free_secret(tok);
    if (ok && content_type) {
        char *ct = ksiss_xasprintf("Content-Type: %s", content_type);
        ok = ksiss_headers_add(&h, ct);
        free(ct);
    }
    if (!ok) {
        ksiss_headers_free(h);
        ksiss_kube__release(k, c);
        x->setup_error = "libcurl could not add a request header (out of memory): not sent without it";
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    *hdrs_out = h;
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        }
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (!watch) {
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    }
    return c;
}

/* One API call with retries. `verb` is the metric label, `method` the HTTP
 * method. On success *out (if non-NULL) gets the decoded JSON body. */
int ksiss_kube__request(ksiss_kube *k, const char *verb, const char *method, const char *path,
                        const char *content_type, const char *body, json_t **out, ksiss_kube_error *err)
{
    if (out)
        *out = NULL;
    if (err)
        ksiss_kube_error_clear(err);
    bool reread_done = false;
    bool force_reread = false;
    const ksiss_kube__exempt *ex = tl_exempt;
    bool write = strcmp(method, "GET") != 0;
    int max_retries = ex && ex->timeout_ms > 0 ? 0 : k->opt.max_retries;
    for (int attempt = 0;; attempt++) {
        /* Checked before every attempt: a write queued while leading is
         * not sent once the lease is lost, nor anything once stopping. */
        if (stopping(k)) {
            ksiss_kube__set_error(err, KSISS_KUBE_E_STOPPING, 0, "%s %s: not sent: stopping", verb, path);
            return KSISS_KUBE_E_STOPPING;
        }
        int64_t timeout_ms = ex && ex->timeout_ms > 0 ? ex->timeout_ms : k->opt.timeout_ms;
        if (write && !(ex && ex->unguarded) && k->guard) {
            int64_t left = k->guard(k->guard_ud, verb, path);
            if (left <= 0) {
                ksiss_kube__set_error(err, KSISS_KUBE_E_NOT_LEADER, 0,
                                      "%s %s: not sent: this replica does not hold the leader lease", verb, path);
                return KSISS_KUBE_E_NOT_LEADER;
            }
            if (left < timeout_ms)
                timeout_ms = left;
        }
        ksiss_kube_xfer x;
        memset(&x, 0, sizeof x);
        ksiss_sb_init(&x.body, k->opt.max_response_bytes);
        x.retry_after_ms = -1;
        x.force_token_reread = force_reread;
        force_reread = false;
        struct curl_slist *hdrs = NULL;
        CURL *c = ksiss_kube__easy(k, method, path, content_type, body, &x, false, &hdrs);
        if (!c) {
            ksiss_sb_free(&x.body);
            ksiss_kube__set_error(err, KSISS_KUBE_E_TRANSPORT, 0, "%s %s: %s", verb, path,
                                  x.setup_error ? x.setup_error : "cannot create a curl handle");
            return KSISS_KUBE_E_TRANSPORT;
        }
        char ebuf[CURL_ERROR_SIZE];
        ebuf[0] = '\0';
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        CURLcode cc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        ksiss_kube__release(k, c);
        ksiss_headers_free(hdrs);
        if (cc != CURLE_OK && !x.too_large)
            code = 0;
        ksiss_kube__record(k, verb, code);

        if (cc == CURLE_ABORTED_BY_CALLBACK && stopping(k)) {
            ksiss_kube__set_error(err, KSISS_KUBE_E_STOPPING, 0, "%s %s: aborted: stopping", verb, path);
            ksiss_sb_free(&x.body);
            return KSISS_KUBE_E_STOPPING;
        }
        if (x.too_large) {
            ksiss_kube__set_error(err, KSISS_KUBE_E_TOO_LARGE, code, "%s %s: response larger than %zu bytes", verb,
                                  path, k->opt.max_response_bytes);
            ksiss_sb_free(&x.body);
            return KSISS_KUBE_E_TOO_LARGE;
        }
        if (cc == CURLE_OK && code >= 200 && code < 300) {
            int rc = KSISS_KUBE_OK;
            if (out) {
                json_error_t je;
                json_t *j = x.body.len ? json_loadb(x.body.buf, x.body.len, 0, &je) : json_object();
                if (!j) {
                    ksiss_kube__set_error(err, KSISS_KUBE_E_DECODE, code, "%s %s: response is not JSON: %s (offset %d)",
                                          verb, path, je.text, je.position);
                    rc = KSISS_KUBE_E_DECODE;
                } else {
                    *out = j;
                }
            }
            ksiss_sb_free(&x.body);
            return rc;
        }
        /* A rotated token: re-read once and try again at once. */
        if (code == 401 && k->cfg.token_file && !reread_done) {
            reread_done = true;
            force_reread = true;
            ksiss_sb_free(&x.body);
            attempt--;
            continue;
        }
        bool retry = attempt < max_retries && ksiss_kube_should_retry(verb, code);
        if (cc != CURLE_OK && !ksiss_kube_should_retry(verb, 0))
            retry = false;
        if (!retry) {
            if (cc != CURLE_OK) {
                ksiss_kube__set_error(err, KSISS_KUBE_E_TRANSPORT, 0, "%s %s%s: %s%s", verb, k->cfg.server, path,
                                      ebuf[0] ? ebuf : curl_easy_strerror(cc),
                                      attempt > 0 ? " (after retries)" : "");
                ksiss_sb_free(&x.body);
                return KSISS_KUBE_E_TRANSPORT;
            }
            ksiss_kube_error_from_response(err, verb, path, code, x.body.buf, x.body.len);
            ksiss_sb_free(&x.body);
            ksiss_kube_rc rc = ksiss_kube_rc_for_http(code);
            return rc == KSISS_KUBE_OK ? KSISS_KUBE_E_HTTP : rc;
        }
        int64_t wait = ksiss_kube_backoff_ms(attempt, k->opt.backoff_base_ms, k->opt.backoff_max_ms,
                                             ksiss_kube__jitter(k));
        if (x.retry_after_ms > wait)
            wait = x.retry_after_ms;
        ksiss_sb_free(&x.body);
        while (wait > 0 && !stopping(k)) {
            ksiss_sleep_ms(wait < 100 ? wait : 100, NULL);
            wait -= 100;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Verbs                                                               */

static int bad_path(const ksiss_kube_resource *res, const char *ns, const char *name, ksiss_kube_error *err)
{
    ksiss_kube__set_error(err, KSISS_KUBE_E_ARG, 0, "cannot address %s \"%s\" in namespace \"%s\"",
                          res && res->kind ? res->kind : "object", name ? name : "(collection)", ns ? ns : "");
    return KSISS_KUBE_E_ARG;
}

int ksiss_kube_get(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns, const char *name, json_t **out,
                   ksiss_kube_error *err)
{
    if (!name)
        return bad_path(res, ns, name, err);
    char *path = ksiss_kube_path(res, ns, name, NULL);
    if (!path)
        return bad_path(res, ns, name, err);
    int rc = ksiss_kube__request(k, "GET", "GET", path, NULL, NULL, out, err);
    free(path);
    return rc;
}

char *ksiss_kube__list_url(const ksiss_kube_resource *res, const char *ns, const char *label_selector,
                           const char *field_selector, long limit, const char *cont, const char *rv, bool watch,
                           int64_t timeout_s)
{
    char *path = ksiss_kube_path(res, ns, NULL, NULL);
    if (!path)
        return NULL;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_puts(&sb, path);
    free(path);
    bool first = true;
    ksiss_kube__query_add(&sb, &first, "labelSelector", label_selector && *label_selector ? label_selector : NULL);
    ksiss_kube__query_add(&sb, &first, "fieldSelector", field_selector && *field_selector ? field_selector : NULL);
    if (limit > 0) {
        char *l = ksiss_xasprintf("%ld", limit);
        ksiss_kube__query_add(&sb, &first, "limit", l);
        free(l);
    }
    ksiss_kube__query_add(&sb, &first, "continue", cont && *cont ? cont : NULL);
    ksiss_kube__query_add(&sb, &first, "resourceVersion", rv && *rv ? rv : NULL);
    if (watch) {
        ksiss_kube__query_add(&sb, &first, "watch", "1");
        ksiss_kube__query_add(&sb, &first, "allowWatchBookmarks", "true");
        char *t = ksiss_xasprintf("%lld", (long long)timeout_s);
        ksiss_kube__query_add(&sb, &first, "timeoutSeconds", t);
        free(t);
    }
    return ksiss_sb_take(&sb);
}

int ksiss_kube_list(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns, const ksiss_kube_list_opts *opts,
                    json_t **items, char **resource_version, ksiss_kube_error *err)
{
    *items = NULL;
    if (resource_version)
        *resource_version = NULL;
    long page = opts && opts->page_size > 0 ? opts->page_size : 500;
    const char *ls = opts ? opts->label_selector : NULL;
    const char *fs = opts ? opts->field_selector : NULL;
    bool restarted = false;
    json_t *all = json_array();
    char *cont = NULL;
    char *rv = NULL;
    /* Pages handed to opts->each are dropped page by page: their JSON
     * values live in a scope of their own (json_arena.h), reset after each
     * page and given back at the end, so the records made from them are
     * not interleaved with a page's worth of holes. */
    bool scoped = opts && opts->each;
    ksiss_json_arena arena;
    if (scoped)
        ksiss_json_arena_begin(&arena);
    for (;;) {
        char *url = ksiss_kube__list_url(res, ns, ls, fs, page, cont, NULL, false, 0);
        if (!url) {
            if (scoped)
                ksiss_json_arena_end(&arena);
            json_decref(all);
            free(cont);
            free(rv);
            return bad_path(res, ns, NULL, err);
        }
        json_t *body = NULL;
        int rc = ksiss_kube__request(k, "LIST", "GET", url, NULL, NULL, &body, err);
        free(url);
        if (scoped && rc != KSISS_KUBE_OK) {
            json_decref(body);
            body = NULL;
            ksiss_json_arena_reset(&arena);
        }
        if (rc == KSISS_KUBE_E_GONE && cont && !restarted) {
            /* The continue token expired mid-list: start over once. */
            restarted = true;
            free(cont);
            cont = NULL;
            json_array_clear(all);
            if (opts && opts->each && opts->restart)
                opts->restart(opts->each_ud);
            if (err)
                ksiss_kube_error_clear(err);
            continue;
        }
        if (rc != KSISS_KUBE_OK) {
            if (scoped)
                ksiss_json_arena_end(&arena);
            json_decref(all);
            free(cont);
            free(rv);
            return rc;
        }
        json_t *its = json_object_get(body, "items");
        json_t *meta = json_object_get(body, "metadata");
        if (!json_is_array(its) && !json_is_null(its) && its != NULL) {
            ksiss_kube__set_error(err, KSISS_KUBE_E_DECODE, 200, "LIST %s: \"items\" is not an array",
                                  res->resource);
            json_decref(body);
            if (scoped)
                ksiss_json_arena_end(&arena);
            json_decref(all);
            free(cont);
            free(rv);
            return KSISS_KUBE_E_DECODE;
        }
        if (json_is_array(its)) {
            if (opts && opts->transform) {
                /* Trimmed page by page: a whole list of untrimmed objects
                 * is never held at once. */
                size_t i;
                json_t *it;
                json_array_foreach(its, i, it)
                    if (json_is_object(it))
                        opts->transform(it);
            }
            if (opts && opts->each) {
                size_t i;
                json_t *it;
                json_array_foreach(its, i, it)
                    opts->each(opts->each_ud, it);
            } else {
                json_array_extend(all, its);
            }
        }
        free(cont);
        cont = NULL;
        const char *c = json_string_value(json_object_get(meta, "continue"));
        const char *v = json_string_value(json_object_get(meta, "resourceVersion"));
        if (v) {
            free(rv);
            rv = ksiss_xstrdup(v);
        }
        if (c && *c)
            cont = ksiss_xstrdup(c);
        json_decref(body);
        if (scoped)
            ksiss_json_arena_reset(&arena);
        if (!cont)
            break;
    }
    if (scoped)
        ksiss_json_arena_end(&arena);
    *items = all;
    if (resource_version)
        *resource_version = rv;
    else
        free(rv);
    return KSISS_KUBE_OK;
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT);
}

int ksiss_kube_create(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns, const json_t *body,
                      json_t **out, ksiss_kube_error *err)
{
    char *path = ksiss_kube_path(res, ns, NULL, NULL);
    if (!path || (res->namespaced && !(ns && *ns))) {
        free(path);
        return bad_path(res, ns, NULL, err);
    }
    char *b = dump(body);
    if (!b) {
        free(path);
        ksiss_kube__set_error(err, KSISS_KUBE_E_ARG, 0, "POST %s: body cannot be encoded", res->resource);
        return KSISS_KUBE_E_ARG;
    }
    int rc = ksiss_kube__request(k, "POST", "POST", path, "application/json", b, out, err);
    free(b);
    free(path);
    return rc;
}

int ksiss_kube_replace(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns, const char *name,
                       const json_t *body, json_t **out, ksiss_kube_error *err)
{
    char *path = name ? ksiss_kube_path(res, ns, name, NULL) : NULL;
    if (!path)
        return bad_path(res, ns, name, err);
    char *b = dump(body);
    if (!b) {
        ksiss_kube__set_error(err, KSISS_KUBE_E_ARG, 0, "PUT %s: body cannot be encoded", path);
        free(path);
        return KSISS_KUBE_E_ARG;
    }
    int rc = ksiss_kube__request(k, "PUT", "PUT", path, "application/json", b, out, err);
    free(b);
    free(path);
    return rc;
}

int ksiss_kube_patch(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns, const char *name,
                     const char *subresource, ksiss_kube_patch_type type, const json_t *patch,
                     const char *resource_version, json_t **out, ksiss_kube_error *err)
{
    char *path = name ? ksiss_kube_path(res, ns, name, subresource) : NULL;
    if (!path)
        return bad_path(res, ns, name, err);
    json_t *p = NULL;
    const char *ct;
    if (type == KSISS_KUBE_JSON_PATCH) {
        ct = "application/json-patch+json";
        if (!json_is_array(patch)) {
            free(path);
            ksiss_kube__set_error(err, KSISS_KUBE_E_ARG, 0, "PATCH %s: a JSON patch must be an array", name);
            return KSISS_KUBE_E_ARG;
        }
        p = json_array();
        if (resource_version)
            json_array_append_new(p, json_pack("{s:s, s:s, s:s}", "op", "test", "path", "/metadata/resourceVersion",
                                               "value", resource_version));
        json_array_extend(p, (json_t *)patch);
    } else {
        ct = "application/merge-patch+json";
        if (!json_is_object(patch)) {
            free(path);
            ksiss_kube__set_error(err, KSISS_KUBE_E_ARG, 0, "PATCH %s: a merge patch must be an object", name);
            return KSISS_KUBE_E_ARG;
        }
        p = json_deep_copy(patch);
        if (resource_version) {
            json_t *meta = json_object_get(p, "metadata");
            if (!json_is_object(meta)) {
                meta = json_object();
                json_object_set_new(p, "metadata", meta);
            }
            json_object_set_new(meta, "resourceVersion", json_string(resource_version));
        }
    }
    char *b = dump(p);
    json_decref(p);
    int rc = ksiss_kube__request(k, "PATCH", "PATCH", path, ct, b, out, err);
    /* A failed "test" op of a JSON patch comes back as a bare 422 ("the
     * server rejected our request due to an error in our request", no
     * detail): read the object to tell a stale resourceVersion (a conflict,
     * as for the other verbs) from a patch that is wrong in itself. */
    if (rc == KSISS_KUBE_E_INVALID && type == KSISS_KUBE_JSON_PATCH && resource_version) {
        json_t *cur = NULL;
        if (ksiss_kube_get(k, res, ns, name, &cur, NULL) == KSISS_KUBE_OK) {
            const char *now_rv =
                json_string_value(json_object_get(json_object_get(cur, "metadata"), "resourceVersion"));
            if (now_rv && strcmp(now_rv, resource_version) != 0) {
                ksiss_kube__set_error(err, KSISS_KUBE_E_CONFLICT, 409,
                                      "PATCH %s: the object changed (resourceVersion %s, expected %s); re-read and "
                                      "retry",
                                      path, now_rv, resource_version);
                if (err)
                    err->reason = ksiss_xstrdup("Conflict");
                rc = KSISS_KUBE_E_CONFLICT;
            }
        }
        json_decref(cur);
    }
    free(b);
    free(path);
    return rc;
}

int ksiss_kube_delete(ksiss_kube *k, const ksiss_kube_resource *res, const char *ns, const char *name,
                      const ksiss_kube_delete_opts *opts, ksiss_kube_error *err)
{
    char *path = name ? ksiss_kube_path(res, ns, name, NULL) : NULL;
    if (!path)
        return bad_path(res, ns, name, err);
    json_t *d = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    if (opts && opts->propagation_policy)
        json_object_set_new(d, "propagationPolicy", json_string(opts->propagation_policy));
    if (opts && (opts->precondition_uid || opts->precondition_resource_version)) {
        json_t *pre = json_object();
        if (opts->precondition_uid)
            json_object_set_new(pre, "uid", json_string(opts->precondition_uid));
        if (opts->precondition_resource_version)
            json_object_set_new(pre, "resourceVersion", json_string(opts->precondition_resource_version));
        json_object_set_new(d, "preconditions", pre);
    }
    char *b = dump(d);
    json_decref(d);
    int rc = ksiss_kube__request(k, "DELETE", "DELETE", path, "application/json", b, NULL, err);
    free(b);
    free(path);
    return rc;
}
