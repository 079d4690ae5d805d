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

/* Raw deflate with an 8 KiB window: the dictionary (an object of the same
 * kind, a few KiB) and the object both fit in it. */
#define PACK_WBITS (-13)
/* A small hash table (zlib's memLevel 4): a packer takes ~50 KB instead of
 * ~330 KB, and objects of a few KB pack as well. */
#define PACK_MEMLEVEL 4

struct ksiss_kdict {
    int refs;                   /* atomic */
    size_t len;
    unsigned char data[];
};

static void kdict_unref(ksiss_kdict *d)
{
    if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(d);
}

/* Deflates text with the packer's dictionary into out (of size cap);
 * returns the compressed size, or 0 when that fails or saves nothing. */
static size_t pack(ksiss_kobj_packer *pk, const char *text, size_t len, unsigned char *out, size_t cap)
{
    z_stream *z = &pk->z;
    if (!pk->ready) {
        memset(z, 0, sizeof(*z));
        if (deflateInit2(z, 6, Z_DEFLATED, PACK_WBITS, PACK_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
            return 0;
        pk->ready = true;
    } else if (deflateReset(z) != Z_OK) {
        return 0;
    }
    if (deflateSetDictionary(z, pk->dict->data, (uInt)pk->dict->len) != Z_OK)
        return 0;
    z->next_in = (Bytef *)text;
    z->avail_in = (uInt)len;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    if (deflate(z, Z_FINISH) != Z_STREAM_END || z->total_out >= len)
        return 0;
    return z->total_out;
}

static ksiss_kobj *make(ksiss_kobj_packer *pk, const json_t *obj)
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
    /* The text leaves the resourceVersion out (the record keeps it apart,
     * and ksiss_kobj_parse puts it back): an update that changed nothing
     * else packs to the same bytes (ksiss_kobj_same_content). Shallow
     * copies: the object given is not touched. */
    json_t *top = NULL;
    if (rv) {
        top = json_copy((json_t *)obj);
        json_t *md = json_copy(json_object_get(obj, "metadata"));
        json_object_del(md, "resourceVersion");
        json_object_set_new(top, "metadata", md);
    }
    const json_t *dumped = top ? top : obj;
    size_t len = json_dumpb(dumped, NULL, 0, JSON_COMPACT);
    char *text = len == 0 || len > UINT32_MAX / 2 ? NULL : ksiss_xmalloc(len + 1);
    if (text && json_dumpb(dumped, text, len, JSON_COMPACT) != len) {
        free(text);
        text = NULL;
    }
    json_decref(top);
    if (!text)
        return NULL;
    text[len] = '\0';
    /* Packed against a dictionary: the first object the packer saw. */
    unsigned char *z = NULL;
    size_t zlen = 0;
    if (pk) {
        if (!pk->dict) {
            pk->dict = ksiss_xmalloc(sizeof(*pk->dict) + len);
            pk->dict->refs = 1;
            pk->dict->len = len;
            memcpy(pk->dict->data, text, len);
        }
        size_t cap = deflateBound(NULL, (uLong)len) + 64;
        z = ksiss_xmalloc(cap);
        zlen = pack(pk, text, len, z, cap);
    }
    const void *stored = zlen ? (const void *)z : (const void *)text;
    size_t n_stored = zlen ? zlen : len + 1;
    /* The key first, its tail is the name; the others are copied after it,
     * found by 16-bit offsets (names, labels and versions are short: a
     * record whose strings would not fit is refused). */
    const char *strs[KSISS_KOBJ_NSTR] = {[KSISS_KOBJ_NS] = ns, [KSISS_KOBJ_RV] = rv, [KSISS_KOBJ_SERVICE] = svc,
                                         [KSISS_KOBJ_PHASE] = phase, [KSISS_KOBJ_READY_REVISION] = ready};
    size_t extra = (ns ? strlen(ns) + 1 : 0) + strlen(name) + 1;      /* the key */
    for (size_t i = 0; i < KSISS_KOBJ_NSTR; i++)
        extra += strs[i] ? strlen(strs[i]) + 1 : 0;
    if (extra >= KSISS_KOBJ_ABSENT) {
        free(z);
        free(text);
        return NULL;
    }
    ksiss_kobj *o = ksiss_xmalloc(sizeof(*o) + n_stored + extra);
    memset(o, 0, sizeof(*o));
    o->refs = 1;
    o->len = (uint32_t)len;
    o->stored = (uint32_t)n_stored;
    memcpy(o->text, stored, n_stored);
    if (zlen) {
        o->dict = pk->dict;
        __atomic_add_fetch(&pk->dict->refs, 1, __ATOMIC_RELAXED);
    }
    free(z);
    free(text);
    char *base = o->text + n_stored, *p = base;
    p += ns ? (size_t)sprintf(p, "%s/%s", ns, name) + 1 : (size_t)sprintf(p, "%s", name) + 1;
    o->off[KSISS_KOBJ_NAME] = (uint16_t)(p - 1 - strlen(name) - base);
    for (size_t i = 0; i < KSISS_KOBJ_NSTR; i++) {
        if (i == KSISS_KOBJ_NAME)
            continue;
        if (!strs[i]) {
            o->off[i] = KSISS_KOBJ_ABSENT;
            continue;
        }
        size_t l = strlen(strs[i]);
        memcpy(p, strs[i], l + 1);
        o->off[i] = (uint16_t)(p - base);
        p += l + 1;
    }
    return o;
}

size_t ksiss_kobj_size(const ksiss_kobj *o)
{
    /* The strings follow the text, the key first (make): the one furthest
     * from it ends the record. */
    const char *last = ksiss_kobj_key(o);
    for (int i = 0; i < KSISS_KOBJ_NSTR; i++) {
        const char *s = ksiss_kobj_str(o, (ksiss_kobj_field)i);
        if (s && s > last)
            last = s;
    }
    return (size_t)(last + strlen(last) + 1 - (const char *)o);
}

ksiss_kobj *ksiss_kobj_pack(ksiss_kobj_packer *pk, const json_t *obj)
{
    return make(pk, obj);
}

void ksiss_kobj_packer_free(ksiss_kobj_packer *pk)
{
    if (pk->ready)
        deflateEnd(&pk->z);
    kdict_unref(pk->dict);
    memset(pk, 0, sizeof(*pk));
}

ksiss_kobj *ksiss_kobj_ref(ksiss_kobj *o)
{
    if (o)
        __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
    return o;
}

void ksiss_kobj_unref(ksiss_kobj *o)
{
    if (o && __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        kdict_unref(o->dict);
        free(o);
    }
}

char *ksiss_kobj_text(const ksiss_kobj *o)
{
    if (!o)
        return NULL;
    char *t = ksiss_xmalloc(o->len + 1);
    if (!o->dict) {
        memcpy(t, o->text, o->len + 1);
        return t;
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    bool ok = inflateInit2(&z, PACK_WBITS) == Z_OK;
    if (ok) {
        ok = inflateSetDictionary(&z, o->dict->data, (uInt)o->dict->len) == Z_OK;
        z.next_in = (Bytef *)o->text;
        z.avail_in = (uInt)o->stored;
        z.next_out = (Bytef *)t;
        z.avail_out = (uInt)o->len;
        ok = ok && inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == o->len;
        inflateEnd(&z);
    }
    if (!ok) {
        free(t);
        return NULL;
    }
    t[o->len] = '\0';
    return t;
}

json_t *ksiss_kobj_parse(const ksiss_kobj *o)
{
    if (!o)
        return NULL;
    json_t *j;
    if (!o->dict) {
        j = json_loadb(o->text, o->len, 0, NULL);
    } else {
        char *t = ksiss_kobj_text(o);
        j = t ? json_loadb(t, o->len, 0, NULL) : NULL;
        free(t);
    }
    const char *rv = ksiss_kobj_str(o, KSISS_KOBJ_RV);
    json_t *md = json_object_get(j, "metadata");
    if (rv && json_is_object(md))
        json_object_set_new(md, "resourceVersion", json_string(rv));
    return j;
}

bool ksiss_kobj_same_content(const ksiss_kobj *a, const ksiss_kobj *b)
{
    return a->dict == b->dict && a->len == b->len && a->stored == b->stored && !memcmp(a->text, b->text, a->stored);
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
    uint64_t h = ksiss_str_hash(s);
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const ksiss_kobj_map *m, const char *key)
{
    size_t mask = m->cap - 1, i = key_hash(key) & mask;
    while (m->slots[i] && strcmp(ksiss_kobj_key(m->slots[i]), key))
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
            bigger.slots[slot_of(&bigger, ksiss_kobj_key(m->slots[i]))] = m->slots[i];
    free(m->slots);
    *m = bigger;
}

ksiss_kobj *ksiss_kobj_map_put(ksiss_kobj_map *m, ksiss_kobj *o)
{
    if ((m->n + 1) * 4 > m->cap * 3)      /* load factor at most 3/4 */
        grow(m);
    size_t i = slot_of(m, ksiss_kobj_key(o));
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
        size_t home = key_hash(ksiss_kobj_key(m->slots[j])) & mask;
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
    return strcmp(ksiss_kobj_key(*(ksiss_kobj *const *)a), ksiss_kobj_key(*(ksiss_kobj *const *)b));
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
