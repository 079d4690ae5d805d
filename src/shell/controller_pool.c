/* controller_pool.c: the control loop's bounded worker pool (a FIFO of
 * tasks served by a fixed set of threads) and its string-keyed hash map
 * (see controller_pool.h). */
#include "shell/controller_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* ------------------------------------------------------------- pool --- */

typedef struct task {
    ksiss_pool_fn fn;
    void *arg;
    struct task *next;
} task;

typedef struct {
    ksiss_pool *p;
    int index;
    pthread_t th;
} thread_slot;

struct ksiss_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task *head, *tail;
    size_t queued, running;
    bool stopping;
    int n_threads;
    thread_slot *threads;
};

static void *pool_main(void *arg)
{
    thread_slot *slot = arg;
    ksiss_pool *p = slot->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head && p->stopping && p->running == 0)
            break;
        if (!p->head) {
            /* Stopping, but a running task may still submit one. */
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        task *t = p->head;
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->running++;
        bool cancelled = p->stopping;
        pthread_mutex_unlock(&p->mu);
        t->fn(t->arg, slot->index, cancelled);
        free(t);
        pthread_mutex_lock(&p->mu);
        p->running--;
        if (p->stopping)
            pthread_cond_broadcast(&p->cv);
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ksiss_pool *ksiss_pool_new(int n_threads, char **err)
{
    if (n_threads < 1 || n_threads > KSISS_MAX_WORKERS) {
        *err = ksiss_xasprintf("worker pool: %d threads, want 1..%d", n_threads, KSISS_MAX_WORKERS);
        return NULL;
    }
    ksiss_pool *p = ksiss_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = ksiss_xcalloc((size_t)n_threads, sizeof(*p->threads));
    for (int i = 0; i < n_threads; i++) {
        p->threads[i].p = p;
        p->threads[i].index = i;
        if (pthread_create(&p->threads[i].th, NULL, pool_main, &p->threads[i]) != 0) {
            *err = ksiss_xasprintf("worker pool: cannot start thread %d of %d", i + 1, n_threads);
            ksiss_pool_free(p);
            return NULL;
        }
        p->n_threads = i + 1;
    }
    return p;
}

void ksiss_pool_submit(ksiss_pool *p, ksiss_pool_fn fn, void *arg)
{
    task *t = ksiss_xcalloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

size_t ksiss_pool_pending(ksiss_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->queued + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int ksiss_pool_threads(const ksiss_pool *p)
{
    return p->n_threads;
}

void ksiss_pool_free(ksiss_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i].th, NULL);
    /* No thread left (or none ever started): cancel what is still queued
     * here, including what those tasks submit. */
    for (;;) {
        task *t = p->head;
        if (!t)
            break;
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        t->fn(t->arg, 0, true);
        free(t);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

int ksiss_pool_threads_from_env(const char *value, char **err)
{
    if (!value || !*value)
        return KSISS_DEFAULT_WORKERS;
    int64_t n;
    if (ksiss_parse_int64(value, &n) != 0 || n < 1 || n > KSISS_MAX_WORKERS) {
        *err = ksiss_xasprintf("KSISS_WORKERS=\"%s\": want a number of worker threads in 1..%d", value,
                               KSISS_MAX_WORKERS);
        return -1;
    }
    return (int)n;
}

/* -------------------------------------------------------------- map --- */

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

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

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
    entry **link = &m->buckets[hash_str(key) & (m->n_buckets - 1)];
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
            size_t j = hash_str(e->key) & (nb - 1);
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
