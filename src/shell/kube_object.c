/* kube_object.c: compact records of API objects for the informer caches
 * (kube_object.h): serialise once on arrival, parse back on demand. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/transition.h"
#include "core/util.h"
#include "shell/kube_object.h"

static const char *sget(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(json_object_get(o, a), b);
    return json_string_value(v);
}

ksiss_kobj *ksiss_kobj_new(const json_t *obj)
{
    const char *name = sget(obj, "metadata", "name");
    if (!name || !*name)
        return NULL;
    const char *ns = sget(obj, "metadata", "namespace");
    if (ns && !*ns)
        ns = NULL;
    const char *rv = sget(obj, "metadata", "resourceVersion");
    const char *svc = json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), KSISS_LABEL_SERVICE));
    const char *phase = sget(obj, "status", "phase");
    const char *ready = sget(obj, "status", "latestReadyRevisionName");
    size_t len = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    if (len == 0)
        return NULL;
    const char *strs[] = {ns, name, rv, svc, phase, ready};
    size_t extra = (ns ? strlen(ns) + 1 : 0) + strlen(name) + 1;      /* the key */
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        extra += strs[i] ? strlen(strs[i]) + 1 : 0;
    ksiss_kobj *o = ksiss_xmalloc(sizeof(*o) + len + 1 + extra);
    memset(o, 0, sizeof(*o));
    o->refs = 1;
    if (json_dumpb(obj, o->text, len, JSON_COMPACT) != len) {
        free(o);
        return NULL;
    }
    o->text[len] = '\0';
    o->len = len;
    char *p = o->text + len + 1;
    o->key = p;
    p += ns ? (size_t)sprintf(p, "%s/%s", ns, name) + 1 : (size_t)sprintf(p, "%s", name) + 1;
    const char **dst[] = {&o->ns, &o->name, &o->rv, &o->service, &o->phase, &o->ready_revision};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (!strs[i])
            continue;
        size_t l = strlen(strs[i]);
        memcpy(p, strs[i], l + 1);
        *dst[i] = p;
        p += l + 1;
    }
    return o;
}

ksiss_kobj *ksiss_kobj_ref(ksiss_kobj *o)
{
    if (o)
        __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
    return o;
}

void ksiss_kobj_unref(ksiss_kobj *o)
{
    if (o && __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(o);
}

json_t *ksiss_kobj_parse(const ksiss_kobj *o)
{
    if (!o)
        return NULL;
    return json_loadb(o->text, o->len, 0, NULL);
}

void ksiss_kobj_list_free(ksiss_kobj_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ksiss_kobj_unref(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

json_t *ksiss_kobj_list_parse(const ksiss_kobj_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_t *o = ksiss_kobj_parse(l->v[i]);
        if (o)
            json_array_append_new(arr, o);
    }
    return arr;
}

/* ------------------------------------------------------------------ map --- */

static size_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const ksiss_kobj_map *m, const char *key)
{
    size_t mask = m->cap - 1, i = key_hash(key) & mask;
    while (m->slots[i] && strcmp(m->slots[i]->key, key))
        i = (i + 1) & mask;
    return i;
}

void ksiss_kobj_map_clear(ksiss_kobj_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        ksiss_kobj_unref(m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

ksiss_kobj *ksiss_kobj_map_get(const ksiss_kobj_map *m, const char *key)
{
    if (!m->cap || !key)
        return NULL;
    return m->slots[slot_of(m, key)];
}

static void grow(ksiss_kobj_map *m)
{
    ksiss_kobj_map bigger = {ksiss_xcalloc(m->cap ? m->cap * 2 : 16, sizeof(ksiss_kobj *)),
                             m->cap ? m->cap * 2 : 16, m->n};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i])
            bigger.slots[slot_of(&bigger, m->slots[i]->key)] = m->slots[i];
    free(m->slots);
    *m = bigger;
}

ksiss_kobj *ksiss_kobj_map_put(ksiss_kobj_map *m, ksiss_kobj *o)
{
    if ((m->n + 1) * 4 > m->cap * 3)      /* load factor at most 3/4 */
        grow(m);
    size_t i = slot_of(m, o->key);
    ksiss_kobj *old = m->slots[i];
    m->slots[i] = o;
    if (!old)
        m->n++;
    return old;
}

ksiss_kobj *ksiss_kobj_map_del(ksiss_kobj_map *m, const char *key)
{
    if (!m->cap || !key)
        return NULL;
    size_t mask = m->cap - 1, i = slot_of(m, key);
    ksiss_kobj *old = m->slots[i];
    if (!old)
        return NULL;
    m->slots[i] = NULL;
    m->n--;
    /* Backward-shift deletion: pull later entries of the probe run into
     * the hole when their home slot does not lie between it and them. */
    for (size_t j = (i + 1) & mask; m->slots[j]; j = (j + 1) & mask) {
        size_t home = key_hash(m->slots[j]->key) & mask;
        bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!between) {
            m->slots[i] = m->slots[j];
            m->slots[j] = NULL;
            i = j;
        }
    }
    return old;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(ksiss_kobj *const *)a)->key, (*(ksiss_kobj *const *)b)->key);
}

ksiss_kobj_list ksiss_kobj_map_list(const ksiss_kobj_map *m)
{
    ksiss_kobj_list l = {ksiss_xcalloc(m->n ? m->n : 1, sizeof(ksiss_kobj *)), 0};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i])
            l.v[l.n++] = ksiss_kobj_ref(m->slots[i]);
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), cmp_key);
    return l;
}
