/* controller_pool.h: how the control loop evaluates thousands of services
 * per tick with a handful of threads: a bounded worker pool fed by a FIFO
 * queue (tasks never block the submitter). */
#ifndef KSISS_CONTROLLER_POOL_H
#define KSISS_CONTROLLER_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* Worker threads when KSISS_WORKERS is not set, and the most accepted. */
#define KSISS_DEFAULT_WORKERS 4
#define KSISS_MAX_WORKERS 64

/* ---- worker pool ---- */

/* A task: runs on one of the pool's threads; `worker` is that thread's
 * index in 0..n_threads-1 (for per-thread resources such as a Prometheus
 * client). `cancelled` is true when the pool is shutting down: the task
 * must then only release what it holds (no I/O) and return. */
typedef void (*ksiss_pool_fn)(void *arg, int worker, bool cancelled);

typedef struct ksiss_pool ksiss_pool;

/* Starts n_threads (1..KSISS_MAX_WORKERS) threads. NULL with *err (caller
 * frees) when a thread cannot be started. */
ksiss_pool *ksiss_pool_new(int n_threads, char **err);

/* Queues fn(arg) behind the tasks already queued; never blocks on the
 * tasks (only on the queue's lock). May be called from a task. During
 * shutdown the task still runs, with cancelled = true. */
void ksiss_pool_submit(ksiss_pool *p, ksiss_pool_fn fn, void *arg);

/* Tasks queued or running now. */
size_t ksiss_pool_pending(ksiss_pool *p);

int ksiss_pool_threads(const ksiss_pool *p);

/* Stops taking work, without waiting: from now on every task not yet
 * started (queued, or submitted later) runs with cancelled = true; the
 * tasks running go on. */
void ksiss_pool_stop(ksiss_pool *p);

/* Stops (ksiss_pool_stop): the tasks running finish, every task still
 * queued (also those submitted meanwhile) runs with cancelled = true, then
 * the threads are joined and everything freed. NULL ok. */
void ksiss_pool_free(ksiss_pool *p);

/* Parses KSISS_WORKERS ("8"); NULL or "" -> the default. Returns the
 * count, or -1 with *err (caller frees) for anything but an integer in
 * 1..KSISS_MAX_WORKERS. */
int ksiss_pool_threads_from_env(const char *value, char **err);

#endif
