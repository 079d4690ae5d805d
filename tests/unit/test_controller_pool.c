/* test_controller_pool.c: the control loop's worker pool (every task runs
 * exactly once, never more at a time than there are threads, tasks may
 * queue more tasks, shutdown cancels what is still queued;
 * src/shell/controller_pool.c) and the string map the per-service state
 * lives in (src/shell/strmap.c). No sleeps: tasks meet on conditions,
 * so the outcome does not depend on how the threads are scheduled; every
 * wait is bounded (10 s) and fails the test instead of hanging. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/util.h"
#include "shell/controller_pool.h"
#include "shell/strmap.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* broadcast on every change below */
    int ran, cancelled, running, max_running;
    int per_worker[KSISS_MAX_WORKERS];
    int bad_worker;
    ksiss_pool *pool;
    int children;           /* tasks each task submits */
    int meet;               /* tasks wait until this many have run at once */
    bool meet_timed_out;
    bool gate_open;         /* gate_task waits for it */
    int gated;              /* gate_tasks started */
    bool gate_cancelled, gate_timed_out;
} counters;

#define COUNTERS(...) {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, __VA_ARGS__}

static struct timespec deadline_in(int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    return ts;
}

/* Waits on c->cv (c->mu held) until holds(c, arg); false when it still
 * does not after 10 s. */
static bool wait_until(counters *c, bool (*holds)(const counters *, int), int arg)
{
    struct timespec end = deadline_in(10);
    while (!holds(c, arg))
        if (pthread_cond_timedwait(&c->cv, &c->mu, &end) == ETIMEDOUT)
            return holds(c, arg);
    return true;
}

static bool met(const counters *c, int n)
{
    (void)n;
    return c->max_running >= c->meet;
}

static bool done(const counters *c, int n)
{
    return c->ran + c->cancelled >= n;
}

static bool gate_open(const counters *c, int n)
{
    (void)n;
    return c->gate_open;
}

static bool gated(const counters *c, int n)
{
    return c->gated >= n;
}

static void count_task(void *arg, int worker, bool cancelled)
{
    counters *c = arg;
    pthread_mutex_lock(&c->mu);
    if (cancelled) {
        c->cancelled++;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (worker < 0 || worker >= KSISS_MAX_WORKERS)
        c->bad_worker++;
    else
        c->per_worker[worker]++;
    c->running++;
    if (c->running > c->max_running)
        c->max_running = c->running;
    pthread_cond_broadcast(&c->cv);
    /* The first tasks hold their thread until `meet` run at once. */
    if (!wait_until(c, met, 0))
        c->meet_timed_out = true;
    int children = c->children;
    c->children = 0;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < children; i++)
        ksiss_pool_submit(c->pool, count_task, c);
    pthread_mutex_lock(&c->mu);
    c->running--;
    c->ran++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Holds its thread until the test opens the gate. What it saw is recorded
 * for the test to assert (cmocka asserts only on the test's own thread). */
static void gate_task(void *arg, int worker, bool cancelled)
{
    (void)worker;
    counters *c = arg;
    pthread_mutex_lock(&c->mu);
    if (cancelled)
        c->gate_cancelled = true;
    c->gated++;
    pthread_cond_broadcast(&c->cv);
    if (!cancelled && !wait_until(c, gate_open, 0))
        c->gate_timed_out = true;
    pthread_mutex_unlock(&c->mu);
}

/* Waits (bounded: 10 s) until n count_tasks have run or been cancelled. */
static void wait_done(counters *c, int n)
{
    pthread_mutex_lock(&c->mu);
    bool ok = wait_until(c, done, n);
    pthread_mutex_unlock(&c->mu);
    assert_true(ok);
}

static void test_every_task_runs_once_on_at_most_n_threads(void **state)
{
    (void)state;
    counters c = COUNTERS(.meet = 3);
    char *err = NULL;
    ksiss_pool *p = ksiss_pool_new(3, &err);
    assert_non_null(p);
    assert_int_equal(ksiss_pool_threads(p), 3);
    for (int i = 0; i < 200; i++)
        ksiss_pool_submit(p, count_task, &c);
    wait_done(&c, 200);
    ksiss_pool_free(p);
    assert_int_equal(c.ran, 200);
    assert_int_equal(c.cancelled, 0);
    assert_int_equal(c.bad_worker, 0);
    /* The first three met while running: three threads at once, and never
     * a fourth (there is none). */
    assert_false(c.meet_timed_out);
    assert_int_equal(c.max_running, 3);
    int sum = 0;
    for (int w = 0; w < 3; w++) {
        assert_true(c.per_worker[w] > 0);
        sum += c.per_worker[w];
    }
    assert_int_equal(sum, 200);
    for (int w = 3; w < KSISS_MAX_WORKERS; w++)
        assert_int_equal(c.per_worker[w], 0);
}

static void test_a_task_can_queue_more_tasks(void **state)
{
    (void)state;
    counters c = COUNTERS(.children = 5, .meet = 1);
    char *err = NULL;
    c.pool = ksiss_pool_new(2, &err);
    ksiss_pool_submit(c.pool, count_task, &c);
    wait_done(&c, 6);
    ksiss_pool_free(c.pool);
    assert_int_equal(c.ran, 6);
    assert_int_equal(c.cancelled, 0);
}

static void test_shutdown_cancels_what_is_still_queued(void **state)
{
    (void)state;
    counters c = COUNTERS(.meet = 1);
    char *err = NULL;
    ksiss_pool *p = ksiss_pool_new(1, &err);
    /* The one thread is held by the gate while 500 tasks queue behind it. */
    ksiss_pool_submit(p, gate_task, &c);
    pthread_mutex_lock(&c.mu);
    assert_true(wait_until(&c, gated, 1));
    pthread_mutex_unlock(&c.mu);
    for (int i = 0; i < 500; i++)
        ksiss_pool_submit(p, count_task, &c);
    assert_int_equal(ksiss_pool_pending(p), 501);
    ksiss_pool_stop(p);
    ksiss_pool_submit(p, count_task, &c);   /* submitted during shutdown */
    pthread_mutex_lock(&c.mu);
    c.gate_open = true;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    ksiss_pool_free(p);
    /* Not one of them ran: every task queued behind the gate, and the one
     * submitted after the stop, was cancelled. */
    assert_int_equal(c.ran, 0);
    assert_int_equal(c.cancelled, 501);
    assert_false(c.gate_cancelled);
    assert_false(c.gate_timed_out);
}

static void test_worker_count_comes_from_the_environment_or_the_default(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(ksiss_pool_threads_from_env(NULL, &err), KSISS_DEFAULT_WORKERS);
    assert_int_equal(ksiss_pool_threads_from_env("", &err), KSISS_DEFAULT_WORKERS);
    assert_int_equal(ksiss_pool_threads_from_env("12", &err), 12);
    const char *bad[] = {"0", "-1", "65", "four", "4x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        assert_int_equal(ksiss_pool_threads_from_env(bad[i], &err), -1);
        assert_non_null(strstr(err, "KSISS_WORKERS"));
        free(err);
    }
    err = NULL;
    assert_null(ksiss_pool_new(0, &err));
    assert_non_null(err);
    free(err);
}

static void sum_values(const char *key, void *value, void *ud)
{
    (void)key;
    *(long *)ud += (long)(intptr_t)value;
}

static void test_string_map_finds_replaces_and_removes_through_growth(void **state)
{
    (void)state;
    ksiss_strmap *m = ksiss_strmap_new();
    char key[32];
    for (long i = 1; i <= 5000; i++) {
        snprintf(key, sizeof(key), "svc-%ld", i);
        assert_null(ksiss_strmap_put(m, key, (void *)(intptr_t)i));
    }
    assert_int_equal(ksiss_strmap_size(m), 5000);
    assert_ptr_equal(ksiss_strmap_get(m, "svc-4321"), (void *)(intptr_t)4321);
    assert_null(ksiss_strmap_get(m, "svc-0"));
    assert_ptr_equal(ksiss_strmap_put(m, "svc-7", (void *)(intptr_t)70), (void *)(intptr_t)7);
    assert_ptr_equal(ksiss_strmap_del(m, "svc-8"), (void *)(intptr_t)8);
    assert_null(ksiss_strmap_del(m, "svc-8"));
    assert_null(ksiss_strmap_get(m, "svc-8"));
    assert_int_equal(ksiss_strmap_size(m), 4999);
    long sum = 0;
    ksiss_strmap_each(m, sum_values, &sum);
    assert_int_equal(sum, 5000L * 5001 / 2 - 7 + 70 - 8);
    ksiss_strmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_task_runs_once_on_at_most_n_threads),
        cmocka_unit_test(test_a_task_can_queue_more_tasks),
        cmocka_unit_test(test_shutdown_cancels_what_is_still_queued),
        cmocka_unit_test(test_worker_count_comes_from_the_environment_or_the_default),
        cmocka_unit_test(test_string_map_finds_replaces_and_removes_through_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
