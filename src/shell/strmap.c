/* strmap.c: the string-keyed hash map of strmap.h (FNV-1a, chained,
 * doubling when the load passes 1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shell/strmap.h"

typedef struct entry {
    char *key;
    void *value;
    struct entry *next;
} entry;

struct ksiss_strmap {
    entry **buckets;
    size_t n_buckets;
    size_t n;
};

ksiss_strmap *ksiss_strmap_new(void)
{
    ksiss_strmap *m = ksiss_xcalloc(1, sizeof(*m));
    m->n_buckets = 64;
    m->buckets = ksiss_xcalloc(m->n_buckets, sizeof(*m->buckets));
    return m;
}

void ksiss_strmap_free(ksiss_strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static entry **slot_of(const ksiss_strmap *m, const char *key)
{
    entry **link = &m->buckets[ksiss_str_hash(key) & (m->n_buckets - 1)];
    while (*link && strcmp((*link)->key, key))
        link = &(*link)->next;
    return link;
}

void *ksiss_strmap_get(const ksiss_strmap *m, const char *key)
{
    entry *e = *slot_of(m, key);
    return e ? e->value : NULL;
}

static void grow(ksiss_strmap *m)
{
    size_t nb = m->n_buckets * 2;
    entry **b = ksiss_xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->n_buckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            size_t j = ksiss_str_hash(e->key) & (nb - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = nb;
}

void *ksiss_strmap_put(ksiss_strmap *m, const char *key, void *value)
{
    entry **link = slot_of(m, key);
    if (*link) {
        void *old = (*link)->value;
        (*link)->value = value;
        return old;
    }
    entry *e = ksiss_xcalloc(1, sizeof(*e));
    e->key = ksiss_xstrdup(key);
    e->value = value;
    *link = e;
    if (++m->n > m->n_buckets)
        grow(m);
    return NULL;
}

void *ksiss_strmap_del(ksiss_strmap *m, const char *key)
{
    entry **link = slot_of(m, key);
    entry *e = *link;
    if (!e)
        return NULL;
    void *v = e->value;
    *link = e->next;
    free(e->key);
    free(e);
    m->n--;
    return v;
}

size_t ksiss_strmap_size(const ksiss_strmap *m)
{
    return m->n;
}

void ksiss_strmap_each(const ksiss_strmap *m, void (*fn)(const char *key, void *value, void *ud), void *ud)
{
    for (size_t i = 0; i < m->n_buckets; i++)
        for (entry *e = m->buckets[i]; e; e = e->next)
            fn(e->key, e->value, ud);
}

const char *ksiss_strmap_key(const ksiss_strmap *m, const char *key)
{
    entry *e = *slot_of(m, key);
    return e ? e->key : NULL;
}
