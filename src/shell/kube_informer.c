/* kube_informer.c: LIST + WATCH of one resource in a thread of its own,
 * feeding a cache keyed by "namespace/name" (or "name") that the control
 * loop reads without waiting on the network. Watches stream line-delimited
 * JSON through a curl write callback, one event at most max_event_bytes;
 * bookmarks advance the resourceVersion; 410 Gone (or an ERROR event with
 * code 410) triggers a relist; any other failure reconnects with backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tiers.h"
#include "core/util.h"
#include "shell/clock.h"
#include "shell/kube.h"
#include "shell/http_auth.h"
#include "shell/kube_internal.h"
#include "shell/log.h"

#define WATCH_ERROR_BODY_MAX (64u << 10)
/* Objects per LIST page: one page is held as JSON at a time. */
#define KSISS_INFORMER_PAGE 100

struct ksiss_kube_informer {
    ksiss_kube *k;
    ksiss_kube_resource res;        /* strings borrowed from the caller's (static) resource */
    char *ns, *label_selector, *field_selector;
    ksiss_kube_informer_fn on_change;
    void *ud;
    ksiss_kube_informer_transform transform;
    int64_t watch_timeout_s;
    pthread_t th;
    int stop;                       /* atomic */

    pthread_mutex_t mu;             /* guards the fields below */
    ksiss_kobj_map cache;           /* key -> compact record (records never modified once stored) */
    ksiss_kobj_packer packer;       /* informer thread only */
    bool synced;
    uint64_t gen;
    char *last_err;

    /* informer thread only */
    char *rv;
    ksiss_strbuf line;
    ksiss_strbuf errbody;
    long http_code;
    CURL *curl;
    bool need_relist;
    bool line_too_long;
    long events;                    /* objects and bookmarks this watch connection delivered */
    char *watch_err;                /* ERROR event / undecodable line */
};

static void set_last_error(ksiss_kube_informer *inf, const char *msg)
{
    pthread_mutex_lock(&inf->mu);
    free(inf->last_err);
    inf->last_err = msg ? ksiss_xstrdup(msg) : NULL;
    pthread_mutex_unlock(&inf->mu);
}

static void notify(ksiss_kube_informer *inf, ksiss_kube_event_type t, const json_t *obj)
{
    if (inf->on_change)
        inf->on_change(inf->ud, t, obj);
}

static void notify_kobj(ksiss_kube_informer *inf, ksiss_kube_event_type t, const ksiss_kobj *o)
{
    if (!inf->on_change)
        return;
    json_t *obj = ksiss_kobj_parse(o);
    if (obj)
        inf->on_change(inf->ud, t, obj);
    json_decref(obj);
}

static bool same_rv(const ksiss_kobj *a, const ksiss_kobj *b)
{
    const char *ra = ksiss_kobj_str(a, KSISS_KOBJ_RV), *rb = ksiss_kobj_str(b, KSISS_KOBJ_RV);
    return ra && rb && !strcmp(ra, rb);
}

/* Replaces the cache by a fresh list (taken), telling on_change what
 * changed. */
static void replace_cache(ksiss_kube_informer *inf, ksiss_kobj_map *fresh)
{
    pthread_mutex_lock(&inf->mu);
    ksiss_kobj_map old = inf->cache;
    inf->cache = *fresh;
    memset(fresh, 0, sizeof(*fresh));
    inf->synced = true;
    inf->gen++;
    pthread_mutex_unlock(&inf->mu);

    if (inf->on_change) {
        /* Only this thread writes the cache: reading it unlocked is safe. */
        ksiss_kobj_list was_l = ksiss_kobj_map_list(&old);
        for (size_t i = 0; i < was_l.n; i++)
            if (!ksiss_kobj_map_get(&inf->cache, ksiss_kobj_key(was_l.v[i])))
                notify_kobj(inf, KSISS_KUBE_DELETED, was_l.v[i]);
        ksiss_kobj_list_free(&was_l);
        ksiss_kobj_list now = ksiss_kobj_map_list(&inf->cache);
        for (size_t i = 0; i < now.n; i++) {
            const ksiss_kobj *was = ksiss_kobj_map_get(&old, ksiss_kobj_key(now.v[i]));
            if (!was)
                notify_kobj(inf, KSISS_KUBE_ADDED, now.v[i]);
            else if (!same_rv(was, now.v[i]))
                notify_kobj(inf, KSISS_KUBE_MODIFIED, now.v[i]);
        }
        ksiss_kobj_list_free(&now);
    }
    ksiss_kobj_map_clear(&old);
}

static void set_rv_from(ksiss_kube_informer *inf, const json_t *obj)
{
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    if (rv && *rv) {
        free(inf->rv);
        inf->rv = ksiss_xstrdup(rv);
    }
}

/* One watch line. Returns 0 to go on, -1 to end the watch. */
static int handle_event(ksiss_kube_informer *inf, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    json_error_t je;
    json_t *ev = json_loadb(line, len, 0, &je);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    if (!ev || !type || !json_is_object(obj)) {
        free(inf->watch_err);
        inf->watch_err = ksiss_xasprintf("watch %s: undecodable event (%s)", inf->res.resource,
                                         ev ? "no type or object" : je.text);
        json_decref(ev);
        return -1;
    }
    int rc = 0;
    if (!strcmp(type, "BOOKMARK")) {
        inf->events++;
        set_rv_from(inf, obj);
    } else if (!strcmp(type, "ERROR")) {
        json_t *code = json_object_get(obj, "code");
        if (json_integer_value(code) == 410) {
            inf->need_relist = true;
        } else {
            const char *m = json_string_value(json_object_get(obj, "message"));
            free(inf->watch_err);
            inf->watch_err = ksiss_xasprintf("watch %s: ERROR event: %s", inf->res.resource, m ? m : "(no message)");
        }
        rc = -1;
    } else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
        inf->events++;
        if (inf->transform)
            inf->transform(obj);
        ksiss_kobj *o = ksiss_kobj_pack(&inf->packer, obj);
        if (o) {
            bool del = !strcmp(type, "DELETED");
            pthread_mutex_lock(&inf->mu);
            ksiss_kobj *old =
                del ? ksiss_kobj_map_del(&inf->cache, ksiss_kobj_key(o)) : ksiss_kobj_map_put(&inf->cache, o);
            /* An update that changed only the resourceVersion (a node's
             * heartbeat, a status field the transform drops) is nothing
             * new to the readers of the cache. */
            if (del || !old || !ksiss_kobj_same_content(old, o))
                inf->gen++;
            pthread_mutex_unlock(&inf->mu);
            notify(inf, del ? KSISS_KUBE_DELETED : old ? KSISS_KUBE_MODIFIED : KSISS_KUBE_ADDED, obj);
            ksiss_kobj_unref(old);
            if (del)
                ksiss_kobj_unref(o);
        }
        set_rv_from(inf, obj);
    }
    json_decref(ev);
    return rc;
}

static size_t on_watch_data(char *buf, size_t size, size_t nmemb, void *ud)
{
    ksiss_kube_informer *inf = ud;
    size_t n = size * nmemb;
    if (inf->http_code == 0)
        curl_easy_getinfo(inf->curl, CURLINFO_RESPONSE_CODE, &inf->http_code);
    if (inf->http_code != 200) {
        ksiss_sb_append(&inf->errbody, buf, n);     /* capped; the rest dropped */
        return n;
    }
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != '\n')
            continue;
        if (ksiss_sb_append(&inf->line, buf + start, i - start) < 0) {
            inf->line_too_long = true;
            return 0;
        }
        int rc = handle_event(inf, inf->line.buf ? inf->line.buf : "", inf->line.len);
        inf->line.len = 0;
        if (inf->line.buf)
            inf->line.buf[0] = '\0';
        start = i + 1;
        if (rc < 0)
            return 0;
    }
    if (start < n && ksiss_sb_append(&inf->line, buf + start, n - start) < 0) {
        inf->line_too_long = true;
        return 0;
    }
    return n;
}

static bool stopping(ksiss_kube_informer *inf)
{
    return __atomic_load_n(&inf->stop, __ATOMIC_ACQUIRE) != 0;
}

typedef struct {
    ksiss_kube_informer *inf;
    ksiss_kobj_map fresh;
} relist_ctx;

static void relist_each(void *ud, json_t *item)
{
    relist_ctx *r = ud;
    ksiss_kobj *o = json_is_object(item) ? ksiss_kobj_pack(&r->inf->packer, item) : NULL;
    if (o)
        ksiss_kobj_unref(ksiss_kobj_map_put(&r->fresh, o));
}

static void relist_restart(void *ud)
{
    relist_ctx *r = ud;
    ksiss_kobj_map_clear(&r->fresh);
}

/* Lists; returns 0 or -1 (error recorded). Each page is turned into
 * records as it arrives: the whole list is never held as JSON. */
static int relist(ksiss_kube_informer *inf)
{
    relist_ctx r = {inf, {0}};
    ksiss_kube_list_opts lo = {inf->label_selector, inf->field_selector, KSISS_INFORMER_PAGE, inf->transform,
                               relist_each, relist_restart, &r};
    json_t *items = NULL;
    char *rv = NULL;
    ksiss_kube_error err = {0};
    int rc = ksiss_kube_list(inf->k, &inf->res, inf->ns, &lo, &items, &rv, &err);
    if (rc != KSISS_KUBE_OK) {
        set_last_error(inf, err.message);
        ksiss_log("warn", "informer list failed", "resource", inf->res.resource, "error",
                  err.message ? err.message : "?", NULL);
        ksiss_kube_error_clear(&err);
        ksiss_kobj_map_clear(&r.fresh);
        return -1;
    }
    replace_cache(inf, &r.fresh);
    json_decref(items);
    free(inf->rv);
    inf->rv = rv;
    set_last_error(inf, NULL);
    return 0;
}

int ksiss_kube_watch_backoff_attempt(int *attempt, ksiss_watch_end how)
{
    if (how == KSISS_WATCH_ENDED) {
        *attempt = 0;
        return -1;
    }
    if (how == KSISS_WATCH_BROKE)
        *attempt = 0;
    return (*attempt)++;
}

/* One watch connection and how it ended (errors recorded); sets
 * need_relist on 410. */
static ksiss_watch_end watch_once(ksiss_kube_informer *inf)
{
    char *url = ksiss_kube__list_url(&inf->res, inf->ns, inf->label_selector, inf->field_selector, 0, NULL, inf->rv,
                                     true, inf->watch_timeout_s);
    if (!url) {
        set_last_error(inf, "watch: impossible path");
        return -1;
    }
    ksiss_kube_xfer x;
    memset(&x, 0, sizeof x);
    ksiss_sb_init(&x.body, 1);
    x.retry_after_ms = -1;
    x.stop = &inf->stop;
    x.watch_timeout_ms = (inf->watch_timeout_s + 30) * 1000;
    struct curl_slist *hdrs = NULL;
    CURL *c = ksiss_kube__easy(inf->k, "GET", url, NULL, NULL, &x, true, &hdrs);
    if (!c) {
        free(url);
        set_last_error(inf, x.setup_error ? x.setup_error : "watch: cannot create a curl handle");
        return -1;
    }
    char ebuf[CURL_ERROR_SIZE];
    ebuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, inf);
    inf->curl = c;
    inf->http_code = 0;
    inf->line_too_long = false;
    inf->events = 0;
    free(inf->watch_err);
    inf->watch_err = NULL;
    ksiss_sb_init(&inf->line, inf->k->opt.max_event_bytes);
    ksiss_sb_init(&inf->errbody, WATCH_ERROR_BODY_MAX);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    ksiss_kube__release(inf->k, c);
    ksiss_headers_free(hdrs);
    ksiss_sb_free(&x.body);
    inf->curl = NULL;
    ksiss_kube__record(inf->k, "WATCH", code);
    int rc = 0;
    if (stopping(inf)) {
        rc = 0;
    } else if (inf->need_relist || code == 410) {
        /* Relist. At once when this watch had delivered something (its
         * resourceVersion aged out); after a growing delay when it was
         * refused outright, or an apiserver that keeps answering 410 gets
         * a full LIST in a hot loop. */
        inf->need_relist = true;
        rc = inf->events > 0 ? 0 : -1;
    } else if (inf->line_too_long) {
        char *m = ksiss_xasprintf("watch %s: an event is larger than %zu bytes; relisting", inf->res.resource,
                                  inf->k->opt.max_event_bytes);
        set_last_error(inf, m);
        free(m);
        inf->need_relist = true;
        rc = -1;
    } else if (inf->watch_err) {
        set_last_error(inf, inf->watch_err);
        inf->need_relist = true;
        rc = -1;
    } else if (code != 200 && code != 0) {
        ksiss_kube_error e = {0};
        ksiss_kube_error_from_response(&e, "WATCH", url, code, inf->errbody.buf, inf->errbody.len);
        set_last_error(inf, e.message);
        ksiss_kube_error_clear(&e);
        rc = -1;
    } else if (cc != CURLE_OK && cc != CURLE_OPERATION_TIMEDOUT) {
        char *m = ksiss_xasprintf("WATCH %s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
        set_last_error(inf, m);
        free(m);
        rc = code == 200 ? -2 : -1;
    }
    ksiss_sb_free(&inf->line);
    ksiss_sb_free(&inf->errbody);
    free(url);
    return rc == 0 ? KSISS_WATCH_ENDED : rc == -2 ? KSISS_WATCH_BROKE : KSISS_WATCH_FAILED;
}

static void *informer_main(void *arg)
{
    ksiss_kube_informer *inf = arg;
    int attempt = 0;
    inf->need_relist = true;
    while (!stopping(inf)) {
        if (inf->need_relist) {
            if (relist(inf) < 0) {
                ksiss_sleep_ms(ksiss_kube_backoff_ms(attempt++, KSISS_INFORMER_BACKOFF_BASE_MS, KSISS_INFORMER_BACKOFF_MAX_MS, ksiss_kube__jitter(inf->k)),
                                     &inf->stop);
                continue;
            }
            inf->need_relist = false;
        }
        int a = ksiss_kube_watch_backoff_attempt(&attempt, watch_once(inf));
        if (a >= 0)
            ksiss_sleep_ms(ksiss_kube_backoff_ms(a, KSISS_INFORMER_BACKOFF_BASE_MS, KSISS_INFORMER_BACKOFF_MAX_MS, ksiss_kube__jitter(inf->k)), &inf->stop);
    }
    return NULL;
}

ksiss_kube_informer *ksiss_kube_informer_start(ksiss_kube *k, const ksiss_kube_informer_opts *opts, char **err)
{
    if (!k || !opts || !opts->res) {
        *err = ksiss_xstrdup("informer: no resource");
        return NULL;
    }
    char *probe = ksiss_kube_path(opts->res, opts->ns, NULL, NULL);
    if (!probe) {
        *err = ksiss_xasprintf("informer: cannot watch %s in namespace \"%s\"", opts->res->resource,
                               opts->ns ? opts->ns : "");
        return NULL;
    }
    free(probe);
    ksiss_kube_informer *inf = ksiss_xcalloc(1, sizeof *inf);
    inf->k = k;
    inf->res = *opts->res;
    inf->ns = opts->ns && *opts->ns ? ksiss_xstrdup(opts->ns) : NULL;
    inf->label_selector = ksiss_xstrdup(opts->label_selector);
    inf->field_selector = ksiss_xstrdup(opts->field_selector);
    inf->on_change = opts->on_change;
    inf->transform = opts->transform;
    inf->ud = opts->ud;
    inf->watch_timeout_s = opts->watch_timeout_s > 0 ? opts->watch_timeout_s : 300;
    pthread_mutex_init(&inf->mu, NULL);
    if (pthread_create(&inf->th, NULL, informer_main, inf) != 0) {
        *err = ksiss_xasprintf("informer %s: cannot start a thread", inf->res.resource);
        pthread_mutex_destroy(&inf->mu);
        free(inf->ns);
        free(inf->label_selector);
        free(inf->field_selector);
        free(inf);
        return NULL;
    }
    return inf;
}

void ksiss_kube_informer_stop(ksiss_kube_informer *inf)
{
    if (!inf)
        return;
    __atomic_store_n(&inf->stop, 1, __ATOMIC_RELEASE);
    pthread_join(inf->th, NULL);
    pthread_mutex_destroy(&inf->mu);
    ksiss_kobj_map_clear(&inf->cache);
    ksiss_kobj_packer_free(&inf->packer);
    free(inf->last_err);
    free(inf->rv);
    free(inf->watch_err);
    free(inf->ns);
    free(inf->label_selector);
    free(inf->field_selector);
    free(inf);
}

bool ksiss_kube_informer_synced(ksiss_kube_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

uint64_t ksiss_kube_informer_generation(ksiss_kube_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    uint64_t g = inf->gen;
    pthread_mutex_unlock(&inf->mu);
    return g;
}

ksiss_kobj_list ksiss_kube_informer_objects(ksiss_kube_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    ksiss_kobj_list l = ksiss_kobj_map_list(&inf->cache);
    pthread_mutex_unlock(&inf->mu);
    return l;
}

json_t *ksiss_kube_informer_snapshot(ksiss_kube_informer *inf)
{
    ksiss_kobj_list l = ksiss_kube_informer_objects(inf);
    json_t *arr = ksiss_kobj_list_parse(&l);
    ksiss_kobj_list_free(&l);
    return arr;
}

json_t *ksiss_kube_informer_get(ksiss_kube_informer *inf, const char *ns, const char *name)
{
    if (!name)
        return NULL;
    char *key = ns && *ns ? ksiss_xasprintf("%s/%s", ns, name) : ksiss_xstrdup(name);
    pthread_mutex_lock(&inf->mu);
    ksiss_kobj *o = ksiss_kobj_ref(ksiss_kobj_map_get(&inf->cache, key));
    pthread_mutex_unlock(&inf->mu);
    free(key);
    json_t *v = ksiss_kobj_parse(o);
    ksiss_kobj_unref(o);
    return v;
}

char *ksiss_kube_informer_last_error(ksiss_kube_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    char *e = ksiss_xstrdup(inf->last_err);
    pthread_mutex_unlock(&inf->mu);
    return e;
}

/* ------------------------------------------------------------ transforms --- */

void ksiss_kube_transform_common(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    json_object_del(md, "managedFields");
    json_object_del(json_object_get(md, "annotations"), "kubectl.kubernetes.io/last-applied-configuration");
}

/* Keeps only the listed keys of object o (NULL-terminated list). */
static void keep_only(json_t *o, const char *const *keys)
{
    if (!json_is_object(o))
        return;
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v) {
        bool keep = false;
        for (const char *const *p = keys; *p && !keep; p++)
            keep = !strcmp(*p, k);
        if (!keep)
            json_object_del(o, k);
    }
}

/* Keeps only the GPU resources (ksiss_is_gpu_resource) of a resource list. */
static void keep_gpu_keys(json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;
    if (json_is_object(o))
        json_object_foreach_safe(o, tmp, k, v)
            if (!ksiss_is_gpu_resource(k))
                json_object_del(o, k);
}

/* Keeps of each container its name and its GPU requests and limits
 * (tier and transition decisions read no other resource; a write copies
 * the whole containers of an object read from the API). */
static void gpu_resources_only(json_t *containers)
{
    static const char *const container_keys[] = {"name", "resources", NULL};
    static const char *const resource_keys[] = {"requests", "limits", NULL};
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        keep_only(c, container_keys);
        json_t *r = json_object_get(c, "resources");
        keep_only(r, resource_keys);
        for (const char *const *k = resource_keys; *k; k++) {
            json_t *l = json_object_get(r, *k);
            keep_gpu_keys(l);
            if (json_is_object(l) && json_object_size(l) == 0)
                json_object_del(r, *k);
        }
    }
}

/* Keeps of each container its name, its GPU requests and limits, and its
 * restartPolicy; drops the containers that ask for no GPU (they count 0
 * in every sum and maximum the inventory takes). */
static void trim_containers(json_t *list)
{
    static const char *const container_keys[] = {"name", "resources", "restartPolicy", NULL};
    static const char *const resource_keys[] = {"requests", "limits", NULL};
    for (size_t i = json_array_size(list); i-- > 0;) {
        json_t *c = json_array_get(list, i);
        keep_only(c, container_keys);
        json_t *r = json_object_get(c, "resources");
        keep_only(r, resource_keys);
        keep_gpu_keys(json_object_get(r, "requests"));
        keep_gpu_keys(json_object_get(r, "limits"));
        if (!json_object_size(json_object_get(r, "requests")) && !json_object_size(json_object_get(r, "limits")))
            json_array_remove(list, i);
    }
}

void ksiss_kube_transform_pod(json_t *obj)
{
    static const char *const spec_keys[] = {"nodeName", "nodeSelector", "overhead", "containers", "initContainers",
                                            NULL};
    static const char *const selector_keys[] = {"nvidia.com/gpu.product", NULL};
    static const char *const status_keys[] = {"phase", NULL};
    static const char *const meta_keys[] = {"name", "namespace", "resourceVersion", "deletionTimestamp", "labels",
                                            NULL};
    /* The revision label: which nodes a revision's pods run on tells the
     * GPU model of a service in the original's format (gpu_resolve.h). */
    static const char *const label_keys[] = {"serving.knative.dev/service", "serving.knative.dev/revision", NULL};
    ksiss_kube_transform_common(obj);
    json_object_del(obj, "apiVersion");
    json_object_del(obj, "kind");
    json_t *md = json_object_get(obj, "metadata");
    keep_only(md, meta_keys);
    keep_only(json_object_get(md, "labels"), label_keys);
    json_t *spec = json_object_get(obj, "spec");
    keep_only(spec, spec_keys);
    keep_only(json_object_get(spec, "nodeSelector"), selector_keys);
    keep_gpu_keys(json_object_get(spec, "overhead"));
    trim_containers(json_object_get(spec, "containers"));
    trim_containers(json_object_get(spec, "initContainers"));
    keep_only(json_object_get(obj, "status"), status_keys);
}

static void keep_ready_condition(json_t *conds, const char *const *keys);

void ksiss_kube_transform_node(json_t *obj)
{
    static const char *const meta_keys[] = {"name", "uid", "resourceVersion", "labels", "deletionTimestamp", NULL};
    static const char *const spec_keys[] = {"unschedulable", NULL};
    static const char *const status_keys[] = {"allocatable", "conditions", NULL};
    static const char *const cond_keys[] = {"type", "status", NULL};
    ksiss_kube_transform_common(obj);
    json_object_del(obj, "apiVersion");
    json_object_del(obj, "kind");
    keep_only(json_object_get(obj, "metadata"), meta_keys);
    keep_only(json_object_get(obj, "spec"), spec_keys);
    json_t *st = json_object_get(obj, "status");
    keep_only(st, status_keys);
    keep_gpu_keys(json_object_get(st, "allocatable"));
    keep_ready_condition(json_object_get(st, "conditions"), cond_keys);
}

/* Keeps only the Ready condition (the one transition.c reads), and of it
 * the listed keys. */
static void keep_ready_condition(json_t *conds, const char *const *keys)
{
    for (size_t i = json_array_size(conds); i-- > 0;) {
        json_t *c = json_array_get(conds, i);
        const char *t = json_string_value(json_object_get(c, "type"));
        if (!t || strcmp(t, "Ready") != 0)
            json_array_remove(conds, i);
        else
            keep_only(c, keys);
    }
}

void ksiss_kube_transform_revision(json_t *obj)
{
    static const char *const meta_keys[] = {"name", "namespace", "uid", "resourceVersion", "generation",
                                            "labels", "annotations", "deletionTimestamp", NULL};
    static const char *const label_keys[] = {"serving.knative.dev/service", NULL};
    static const char *const ann_keys[] = {"autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale",
                                           "ksiss.dev/tier", NULL};
    static const char *const spec_keys[] = {"containers", NULL};
    static const char *const status_keys[] = {"conditions", "actualReplicas", "desiredReplicas", NULL};
    static const char *const cond_keys[] = {"type", "status", "reason", "message", "lastTransitionTime", NULL};
    ksiss_kube_transform_common(obj);
    json_t *md = json_object_get(obj, "metadata");
    keep_only(md, meta_keys);
    keep_only(json_object_get(md, "labels"), label_keys);
    keep_only(json_object_get(md, "annotations"), ann_keys);
    keep_only(json_object_get(obj, "spec"), spec_keys);
    gpu_resources_only(json_object_get(json_object_get(obj, "spec"), "containers"));
    json_t *st = json_object_get(obj, "status");
    keep_only(st, status_keys);
    keep_ready_condition(json_object_get(st, "conditions"), cond_keys);
    json_object_del(obj, "apiVersion");
    json_object_del(obj, "kind");
}

void ksiss_kube_transform_service(json_t *obj)
{
    static const char *const meta_keys[] = {"name", "namespace", "uid", "resourceVersion", "generation",
                                            "annotations", "deletionTimestamp", NULL};
    static const char *const spec_keys[] = {"template", "traffic", NULL};
    static const char *const template_keys[] = {"metadata", "spec", NULL};
    static const char *const pod_spec_keys[] = {"containers", NULL};
    static const char *const status_keys[] = {"observedGeneration", "latestReadyRevisionName",
                                              "latestCreatedRevisionName", "traffic", NULL};
    ksiss_kube_transform_common(obj);
    json_object_del(obj, "apiVersion");
    json_object_del(obj, "kind");
    keep_only(json_object_get(obj, "metadata"), meta_keys);
    json_t *spec = json_object_get(obj, "spec");
    keep_only(spec, spec_keys);
    json_t *tmpl = json_object_get(spec, "template");
    keep_only(tmpl, template_keys);
    json_t *ps = json_object_get(tmpl, "spec");
    keep_only(ps, pod_spec_keys);
    gpu_resources_only(json_object_get(ps, "containers"));
    keep_only(json_object_get(obj, "status"), status_keys);
}
