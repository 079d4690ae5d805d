/* events.c: Kubernetes core/v1 Events with client-side aggregation: the
 * first occurrence is POSTed (generateName, so any object name length
 * works); an identical one (same object, type, reason and message) within
 * 10 minutes PATCHes that Event's count and lastTimestamp instead, and a
 * vanished Event (expired by the apiserver's TTL) is created afresh. */
#include "shell/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "shell/clock.h"
#include "shell/kube_internal.h"

#define EVENTS_AGG_WINDOW_MS (10 * 60 * 1000)
#define EVENTS_CACHE_MAX 512
#define EVENTS_MESSAGE_MAX 1024

typedef struct {
    char *key;
    char *ns;
    char *event_name;
    long long count;
    int64_t last_ms;    /* wall clock */
} agg_entry;

struct ksiss_events {
    ksiss_kube *k;
    char *component;
    char *host;
    pthread_mutex_t mu;
    agg_entry *v;
    size_t n;
};

char *ksiss_kube_time_format(int64_t unix_ms, int micro)
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];   /* our own number's text: bounded */
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        return ksiss_xasprintf("%s.%06dZ", buf, (int)(unix_ms % 1000) * 1000);
    return ksiss_xasprintf("%sZ", buf);
}

ksiss_events *ksiss_events_new(ksiss_kube *k, const char *component, const char *host)
{
    ksiss_events *ev = ksiss_xcalloc(1, sizeof *ev);
    ev->k = k;
    ev->component = ksiss_xstrdup(component && *component ? component : "ksiss");
    ev->host = ksiss_xstrdup(host && *host ? host : NULL);
    pthread_mutex_init(&ev->mu, NULL);
    return ev;
}

static void entry_free(agg_entry *e)
{
    free(e->key);
    free(e->ns);
    free(e->event_name);
}

void ksiss_events_free(ksiss_events *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->n; i++)
        entry_free(&ev->v[i]);
    free(ev->v);
    pthread_mutex_destroy(&ev->mu);
    free(ev->component);
    free(ev->host);
    free(ev);
}

/* The message cut to EVENTS_MESSAGE_MAX bytes at a UTF-8 boundary. */
static char *cut_message(const char *m)
{
    size_t n = strlen(m);
    if (n <= EVENTS_MESSAGE_MAX)
        return ksiss_xstrdup(m);
    size_t cut = EVENTS_MESSAGE_MAX - 3;
    while (cut > 0 && ((unsigned char)m[cut] & 0xC0) == 0x80)
        cut--;
    char *s = ksiss_xmalloc(cut + 4);
    memcpy(s, m, cut);
    memcpy(s + cut, "...", 4);
    return s;
}

static agg_entry *find(ksiss_events *ev, const char *key, int64_t now)
{
    for (size_t i = 0; i < ev->n; i++)
        if (!strcmp(ev->v[i].key, key) && now - ev->v[i].last_ms < EVENTS_AGG_WINDOW_MS)
            return &ev->v[i];
    return NULL;
}

static void remember(ksiss_events *ev, const char *key, const char *ns, const char *name, int64_t now)
{
    agg_entry *slot = NULL;
    for (size_t i = 0; i < ev->n && !slot; i++)
        if (!strcmp(ev->v[i].key, key) || now - ev->v[i].last_ms >= EVENTS_AGG_WINDOW_MS)
            slot = &ev->v[i];
    if (!slot && ev->n >= EVENTS_CACHE_MAX) {
        size_t oldest = 0;
        for (size_t i = 1; i < ev->n; i++)
            if (ev->v[i].last_ms < ev->v[oldest].last_ms)
                oldest = i;
        slot = &ev->v[oldest];
    }
    if (!slot) {
        ev->v = ksiss_xrealloc(ev->v, (ev->n + 1) * sizeof *ev->v);
        slot = &ev->v[ev->n++];
        memset(slot, 0, sizeof *slot);
    }
    entry_free(slot);
    slot->key = ksiss_xstrdup(key);
    slot->ns = ksiss_xstrdup(ns);
    slot->event_name = ksiss_xstrdup(name);
    slot->count = 1;
    slot->last_ms = now;
}

int ksiss_events_emit(ksiss_events *ev, const ksiss_kube_object_ref *ref, const char *type, const char *reason,
                      const char *message, ksiss_kube_error *err)
{
    if (err)
        ksiss_kube_error_clear(err);
    if (!ev || !ref || !ref->kind || !ref->name || !*ref->name || !ref->ns || !*ref->ns || !reason || !*reason ||
        !type || (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0)) {
        ksiss_kube__set_error(err, KSISS_KUBE_E_ARG, 0,
                              "event: need an object (kind, namespace, name), a reason and type Normal or Warning");
        return KSISS_KUBE_E_ARG;
    }
    char *msg = cut_message(message ? message : "");
    char *key = ksiss_xasprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", ref->ns, ref->kind, ref->name,
                                ref->uid ? ref->uid : "", type, reason, msg);
    int64_t now = ksiss_wall_ms();
    char *ts = ksiss_kube_time_format(now, 0);
    int rc;
    pthread_mutex_lock(&ev->mu);
    agg_entry *e = find(ev, key, now);
    if (e) {
        json_t *patch = json_pack("{s:I, s:s}", "count", (json_int_t)(e->count + 1), "lastTimestamp", ts);
        rc = ksiss_kube_patch(ev->k, &KSISS_KUBE_EVENTS, e->ns, e->event_name, NULL, KSISS_KUBE_MERGE_PATCH, patch,
                              NULL, NULL, err);
        json_decref(patch);
        if (rc == KSISS_KUBE_OK) {
            e->count++;
            e->last_ms = now;
            goto out;
        }
        if (rc != KSISS_KUBE_E_NOT_FOUND)
            goto out;
        if (err)
            ksiss_kube_error_clear(err);
    }
    json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s}, s:i, s:s, s:s, "
                             "s:s}",
                             "apiVersion", "v1", "kind", "Event",
                             "metadata", "generateName", "", "namespace", ref->ns,
                             "involvedObject", "kind", ref->kind, "name", ref->name, "namespace", ref->ns,
                             "apiVersion", ref->api_version ? ref->api_version : "v1",
                             "reason", reason, "message", msg, "type", type,
                             "source", "component", ev->component,
                             "count", 1, "firstTimestamp", ts, "lastTimestamp", ts,
                             "reportingComponent", ev->component);
    char *gen = ksiss_xasprintf("%s.", ref->name);
    json_object_set_new(json_object_get(body, "metadata"), "generateName", json_string(gen));
    free(gen);
    if (ref->uid && *ref->uid)
        json_object_set_new(json_object_get(body, "involvedObject"), "uid", json_string(ref->uid));
    if (ev->host) {
        json_object_set_new(json_object_get(body, "source"), "host", json_string(ev->host));
        json_object_set_new(body, "reportingInstance", json_string(ev->host));
    }
    json_t *out = NULL;
    rc = ksiss_kube_create(ev->k, &KSISS_KUBE_EVENTS, ref->ns, body, &out, err);
    json_decref(body);
    if (rc == KSISS_KUBE_OK) {
        const char *name = json_string_value(json_object_get(json_object_get(out, "metadata"), "name"));
        if (name)
            remember(ev, key, ref->ns, name, now);
    }
    json_decref(out);
out:
    pthread_mutex_unlock(&ev->mu);
    free(ts);
    free(key);
    free(msg);
    return rc;
}
