/* controller_pool.c: the control loop's bounded worker pool: a FIFO of
 * tasks served by a fixed set of threads (see controller_pool.h). The
 * per-service state's hash map is strmap.c. */
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

void ksiss_pool_stop(ksiss_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void ksiss_pool_free(ksiss_pool *p)
{
    if (!p)
        return;
    ksiss_pool_stop(p);
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
