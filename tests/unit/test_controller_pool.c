/* test_controller_pool.c: the control loop's worker pool (every task runs
 * exactly once, never more at a time than there are threads, tasks may
 * queue more tasks, shutdown cancels what is still queued) and its string
 * map (src/shell/controller_pool.c). */
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

typedef struct {
    pthread_mutex_t mu;
    int ran, cancelled, running, max_running;
    int per_worker[KSISS_MAX_WORKERS];
    int bad_worker;
    ksiss_pool *pool;
    int children;           /* tasks each task submits */
} counters;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void count_task(void *arg, int worker, bool cancelled)
{
    counters *c = arg;
    pthread_mutex_lock(&c->mu);
    if (cancelled) {
        c->cancelled++;
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
    int children = c->children;
    c->children = 0;
    pthread_mutex_unlock(&c->mu);
    sleep_ms(2);
    for (int i = 0; i < children; i++)
        ksiss_pool_submit(c->pool, count_task, c);
    pthread_mutex_lock(&c->mu);
    c->running--;
    c->ran++;
    pthread_mutex_unlock(&c->mu);
}

/* Waits (bounded: 10 s) until the pool is idle. */
static void wait_idle(ksiss_pool *p)
{
    for (int i = 0; i < 5000 && ksiss_pool_pending(p) > 0; i++)
        sleep_ms(2);
    assert_int_equal(ksiss_pool_pending(p), 0);
}

static void test_every_task_runs_once_on_at_most_n_threads(void **state)
{
    (void)state;
    counters c = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char *err = NULL;
    ksiss_pool *p = ksiss_pool_new(3, &err);
    assert_non_null(p);
    assert_int_equal(ksiss_pool_threads(p), 3);
    for (int i = 0; i < 200; i++)
        ksiss_pool_submit(p, count_task, &c);
    wait_idle(p);
    assert_int_equal(c.ran, 200);
    assert_int_equal(c.cancelled, 0);
    assert_int_equal(c.bad_worker, 0);
    assert_true(c.max_running >= 1 && c.max_running <= 3);
    int sum = 0;
    for (int w = 0; w < 3; w++)
        sum += c.per_worker[w];
    assert_int_equal(sum, 200);
    for (int w = 3; w < KSISS_MAX_WORKERS; w++)
        assert_int_equal(c.per_worker[w], 0);
    ksiss_pool_free(p);
}

static void test_a_task_can_queue_more_tasks(void **state)
{
    (void)state;
    counters c = {.mu = PTHREAD_MUTEX_INITIALIZER, .children = 5};
    char *err = NULL;
    c.pool = ksiss_pool_new(2, &err);
    ksiss_pool_submit(c.pool, count_task, &c);
    wait_idle(c.pool);
    assert_int_equal(c.ran, 6);
    ksiss_pool_free(c.pool);
}

static void test_shutdown_cancels_what_is_still_queued(void **state)
{
    (void)state;
    counters c = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char *err = NULL;
    ksiss_pool *p = ksiss_pool_new(1, &err);
    for (int i = 0; i < 500; i++)
        ksiss_pool_submit(p, count_task, &c);
    ksiss_pool_free(p);     /* one thread, 2 ms a task: most are still queued */
    assert_int_equal(c.ran + c.cancelled, 500);
    assert_true(c.cancelled > 0);
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
