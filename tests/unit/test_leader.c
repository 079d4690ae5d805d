/* test_leader.c: leader election: the pure lease decision (free, ours,
 * someone else's alive or expired by our own clock), the Lease spec we
 * write, option checks, and the election thread against the loopback
 * stand-in API server: create-when-absent makes us leader, a live foreign
 * lease keeps us follower, release on stop hands the lease over, a
 * renewal's 409 ends our term only when the Lease names someone else; the
 * write guard (no write sent once the lease is lost, none past the renew
 * deadline) and the stop flag (writes aborted, the Lease still released). */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/kube.h"
#include "shell/leader.h"
#include "test_kube_fake.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static void test_lease_decision_table(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *holder;
        int64_t duration_ms, observed_at_ms, now_ms;
        ksiss_lease_step want;
    } cases[] = {
        {"nobody holds it", NULL, 15000, 0, 1, KSISS_LEASE_ACQUIRE},
        {"released (empty holder)", "", 1000, 100, 101, KSISS_LEASE_ACQUIRE},
        {"we hold it", "me_1234", 15000, 0, 1, KSISS_LEASE_RENEW},
        {"we hold it even if stale", "me_1234", 15000, 0, 999999, KSISS_LEASE_RENEW},
        {"other, seen changing 5 s ago", "other_9", 15000, 10000, 15000, KSISS_LEASE_WAIT},
        {"other, unchanged for just under the duration", "other_9", 15000, 10000, 24999, KSISS_LEASE_WAIT},
        {"other, unchanged for the whole duration", "other_9", 15000, 10000, 25000, KSISS_LEASE_ACQUIRE},
        {"other, zero duration", "other_9", 0, 10000, 10000, KSISS_LEASE_ACQUIRE},
    };
    for (size_t i = 0; i < N_(cases); i++) {
        ksiss_lease_view v = {cases[i].holder, cases[i].duration_ms, cases[i].observed_at_ms};
        ksiss_lease_step got = ksiss_lease_decide(&v, "me_1234", cases[i].now_ms);
        if (got != cases[i].want)
            fail_msg("case \"%s\": got %d, want %d", cases[i].what, got, cases[i].want);
    }
}

static void test_lease_spec_fields(void **state)
{
    (void)state;
    json_t *s = ksiss_lease_spec("pod-a_beef", 15000, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:05.000000Z", 3);
    assert_string_equal(json_string_value(json_object_get(s, "holderIdentity")), "pod-a_beef");
    assert_int_equal(json_integer_value(json_object_get(s, "leaseDurationSeconds")), 15);
    assert_string_equal(json_string_value(json_object_get(s, "renewTime")), "2026-01-01T00:00:05.000000Z");
    assert_int_equal(json_integer_value(json_object_get(s, "leaseTransitions")), 3);
    json_decref(s);
    /* Release: nobody, one second; durations round up to whole seconds. */
    s = ksiss_lease_spec("", 1, NULL, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(s, "holderIdentity")), "");
    assert_int_equal(json_integer_value(json_object_get(s, "leaseDurationSeconds")), 1);
    json_decref(s);
}

static ksiss_kube *client(fake_server *fs)
{
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "ksiss", .source = "test"};
    ksiss_kube_options o = {.max_retries = -1, .backoff_base_ms = 1, .backoff_max_ms = 2, .timeout_ms = 2000};
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &err);
    free(server);
    return k;
}

static void test_inconsistent_timings_are_refused(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    ksiss_kube *k = client(fs);
    char *err = NULL;
    ksiss_leader_options o = {.lease_duration_ms = 15000, .renew_deadline_ms = 20000, .retry_period_ms = 5000};
    assert_null(ksiss_leader_start(k, &o, &err));
    assert_non_null(strstr(err, "renew deadline"));
    free(err);
    ksiss_leader_options bad_name = {.name = "a/b"};
    assert_null(ksiss_leader_start(k, &bad_name, &err));
    free(err);
    ksiss_kube_free(k);
    fake_stop(fs);
}

static bool wait_until(bool (*cond)(void *), void *arg)
{
    for (int i = 0; i < 500; i++) {
        if (cond(arg))
            return true;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static bool is_leader_cond(void *arg)
{
    return ksiss_leader_is_leader(arg);
}

typedef struct {
    fake_server *fs;
    size_t n;
} count_arg;

static bool count_cond(void *arg)
{
    count_arg *c = arg;
    return fake_count(c->fs) >= c->n;
}

static int changes;
static void on_change(void *ud, bool leading)
{
    (void)ud;
    changes += leading ? 1 : 100;
}

static void test_absent_lease_is_created_and_released_on_stop(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    const char *lease = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"ksiss-leader\","
                        "\"namespace\":\"ksiss\",\"resourceVersion\":\"5\"},\"spec\":{\"holderIdentity\":\"me_1\","
                        "\"leaseDurationSeconds\":2,\"leaseTransitions\":0}}";
    fake_add(fs, "GET", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader", 404,
             "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}", NULL);
    fake_add(fs, "POST", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases", 201, lease, NULL);
    for (int i = 0; i < 40; i++)
        fake_add(fs, "PUT", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader", 200, lease, NULL);
    ksiss_kube *k = client(fs);
    changes = 0;
    ksiss_leader_options o = {.identity = "me_1", .lease_duration_ms = 2000, .renew_deadline_ms = 1000,
                              .retry_period_ms = 50, .on_change = on_change};
    char *err = NULL;
    ksiss_leader *l = ksiss_leader_start(k, &o, &err);
    assert_non_null(l);
    assert_true(wait_until(is_leader_cond, l));
    assert_string_equal(ksiss_leader_identity(l), "me_1");
    /* Renewals follow (PUT with our identity). */
    count_arg c = {fs, 4};
    assert_true(wait_until(count_cond, &c));
    ksiss_leader_stop(l, true);
    assert_int_equal(changes, 101);     /* became leader once, stopped once */
    json_t *created = json_loads(fs->reqs[1].body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(created, "spec"), "holderIdentity")), "me_1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(created, "spec"), "leaseDurationSeconds")), 2);
    json_decref(created);
    fake_req *last = &fs->reqs[fake_count(fs) - 1];
    assert_string_equal(last->method, "PUT");
    json_t *released = json_loads(last->body, 0, NULL);
    json_t *spec = json_object_get(released, "spec");
    assert_string_equal(json_string_value(json_object_get(spec, "holderIdentity")), "");
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 1);
    /* Optimistic concurrency: the write carries the resourceVersion read. */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(released, "metadata"), "resourceVersion")), "5");
    json_decref(released);
    ksiss_kube_free(k);
    fake_stop(fs);
}

static void test_live_foreign_lease_keeps_us_follower(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    const char *lease = "{\"metadata\":{\"name\":\"ksiss-leader\",\"namespace\":\"ksiss\",\"resourceVersion\":\"9\"},"
                        "\"spec\":{\"holderIdentity\":\"other_2\",\"leaseDurationSeconds\":15,"
                        "\"renewTime\":\"2026-01-01T00:00:00.000000Z\"}}";
    for (int i = 0; i < 40; i++)
        fake_add(fs, "GET", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader", 200, lease, NULL);
    ksiss_kube *k = client(fs);
    ksiss_leader_options o = {.identity = "me_1", .lease_duration_ms = 15000, .renew_deadline_ms = 10000,
                              .retry_period_ms = 20};
    char *err = NULL;
    ksiss_leader *l = ksiss_leader_start(k, &o, &err);
    count_arg c = {fs, 5};
    assert_true(wait_until(count_cond, &c));
    assert_false(ksiss_leader_is_leader(l));
    ksiss_leader_stop(l, true);
    for (size_t i = 0; i < fake_count(fs); i++)
        assert_string_equal(fs->reqs[i].method, "GET");     /* never tried to take it */
    ksiss_kube_free(k);
    fake_stop(fs);
}

static void test_conflict_on_acquire_leaves_us_follower(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    const char *free_lease = "{\"metadata\":{\"name\":\"ksiss-leader\",\"namespace\":\"ksiss\",\"resourceVersion\":\"3\"},"
                             "\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1}}";
    for (int i = 0; i < 40; i++) {
        fake_add(fs, "GET", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader", 200, free_lease,
                 NULL);
        fake_add(fs, "PUT", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader", 409,
                 "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\",\"code\":409}",
                 NULL);
    }
    ksiss_kube *k = client(fs);
    ksiss_leader_options o = {.identity = "me_1", .lease_duration_ms = 2000, .renew_deadline_ms = 1000,
                              .retry_period_ms = 20};
    char *err = NULL;
    ksiss_leader *l = ksiss_leader_start(k, &o, &err);
    count_arg c = {fs, 6};
    assert_true(wait_until(count_cond, &c));
    assert_false(ksiss_leader_is_leader(l));
    ksiss_leader_stop(l, true);
    ksiss_kube_free(k);
    fake_stop(fs);
}

#define LEASE_PATH "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader"
#define CONFLICT_BODY "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\",\"code\":409}"

/* A Lease held by HOLDER at resourceVersion RV (string literals). */
#define LEASE(holder, rv)                                                                                            \
    "{\"metadata\":{\"name\":\"ksiss-leader\",\"namespace\":\"ksiss\",\"resourceVersion\":\"" rv "\"},"            \
    "\"spec\":{\"holderIdentity\":\"" holder "\",\"leaseDurationSeconds\":15,"                                       \
    "\"renewTime\":\"2026-01-01T00:00:00.000000Z\"}}"

static const char *put_rv(const fake_req *r)
{
    static char rv[32];
    json_t *o = json_loads(r->body, 0, NULL);
    const char *v = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
    snprintf(rv, sizeof rv, "%s", v ? v : "");
    json_decref(o);
    return rv;
}

/* Scripts our Lease read (rv 5) and renewed (rv 6), the next renewal
 * answered 409, then REREAD for the reads after it (n_reread times) and
 * RENEWED (NULL: none) for later renewals; starts leader me_1 (renew
 * deadline 10 s, retry 20 ms) and waits for n_requests requests. */
static ksiss_leader *lead_into_renewal_conflict(fake_server *fs, ksiss_kube **k, const char *reread, int n_reread,
                                                const char *renewed, size_t n_requests)
{
    fake_add(fs, "GET", LEASE_PATH, 200, LEASE("me_1", "5"), NULL);
    fake_add(fs, "PUT", LEASE_PATH, 200, LEASE("me_1", "6"), NULL);
    fake_add(fs, "PUT", LEASE_PATH, 409, CONFLICT_BODY, NULL);
    for (int i = 0; i < n_reread; i++)
        fake_add(fs, "GET", LEASE_PATH, 200, reread, NULL);
    for (int i = 0; renewed && i < 30; i++)
        fake_add(fs, "PUT", LEASE_PATH, 200, renewed, NULL);
    *k = client(fs);
    changes = 0;
    ksiss_leader_options o = {.identity = "me_1", .lease_duration_ms = 15000, .renew_deadline_ms = 10000,
                              .retry_period_ms = 20, .on_change = on_change};
    char *err = NULL;
    ksiss_leader *l = ksiss_leader_start(*k, &o, &err);
    assert_non_null(l);
    count_arg c = {fs, n_requests};
    assert_true(wait_until(count_cond, &c));
    return l;
}

/* A renewal answered 409 while the Lease still names us (someone labelled
 * it, or a spurious conflict): re-read and renew on the new
 * resourceVersion; leadership is never dropped. */
static void test_renewal_conflict_on_our_own_lease_keeps_leading(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    ksiss_kube *k;
    ksiss_leader *l = lead_into_renewal_conflict(fs, &k, LEASE("me_1", "8"), 1, LEASE("me_1", "9"), 8);
    assert_true(ksiss_leader_is_leader(l));
    ksiss_leader_stop(l, false);
    assert_int_equal(changes, 101);     /* led once, without a break; stopped once */
    /* GET, PUT (rv 5), PUT 409 (rv 6), GET (rv 8), PUT on rv 8, renewals on rv 9 */
    assert_string_equal(fs->reqs[2].method, "PUT");
    assert_string_equal(put_rv(&fs->reqs[2]), "6");
    assert_string_equal(fs->reqs[3].method, "GET");
    assert_string_equal(fs->reqs[4].method, "PUT");
    assert_string_equal(put_rv(&fs->reqs[4]), "8");
    assert_string_equal(put_rv(&fs->reqs[5]), "9");
    ksiss_kube_free(k);
    fake_stop(fs);
}

/* A renewal answered 409 because another instance holds the Lease now:
 * stop leading at once (not at the renew deadline), and never write it. */
static void test_renewal_conflict_on_a_taken_lease_stops_leading_at_once(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    ksiss_kube *k;
    ksiss_leader *l = lead_into_renewal_conflict(fs, &k, LEASE("other_2", "8"), 40, NULL, 7);
    assert_false(ksiss_leader_is_leader(l));
    assert_int_equal(changes, 101);     /* led, then stopped well before the 10 s deadline */
    ksiss_leader_stop(l, false);
    for (size_t i = 3; i < fake_count(fs); i++)
        assert_string_equal(fs->reqs[i].method, "GET");     /* a live foreign lease: never written */
    ksiss_kube_free(k);
    fake_stop(fs);
}

/* ---- the write guard: every write checked right before it goes out ---- */

#define SVC_PATH "/apis/serving.knative.dev/v1/namespaces/ksiss/services/llama"

static size_t count_method(fake_server *fs, const char *method)
{
    size_t n = 0;
    pthread_mutex_lock(&fs->mu);
    for (size_t i = 0; i < fs->n_reqs; i++)
        n += !strcmp(fs->reqs[i].method, method);
    pthread_mutex_unlock(&fs->mu);
    return n;
}

static bool not_leader_cond(void *arg)
{
    return !ksiss_leader_is_leader(arg);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Scripts a Lease that is absent (created by us), with every renewal
 * failing (unscripted: 500); starts me_1 with the given renew deadline and
 * the client's writes guarded by it; waits until it leads. */
static ksiss_leader *lead_without_renewals(fake_server *fs, ksiss_kube *k, int64_t deadline_ms)
{
    fake_add(fs, "GET", LEASE_PATH, 404, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}", NULL);
    fake_add(fs, "POST", "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases", 201, LEASE("me_1", "5"), NULL);
    ksiss_leader_options o = {.identity = "me_1", .lease_duration_ms = deadline_ms + 1000,
                              .renew_deadline_ms = deadline_ms, .retry_period_ms = 50};
    char *err = NULL;
    ksiss_leader *l = ksiss_leader_start(k, &o, &err);
    assert_non_null(l);
    ksiss_kube_set_write_guard(k, ksiss_leader_write_guard, l);
    assert_true(wait_until(is_leader_cond, l));
    return l;
}

static int patch_service(ksiss_kube *k, ksiss_kube_error *e)
{
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "ksiss.dev/x", "1");
    int rc = ksiss_kube_patch(k, &KSISS_KUBE_KNATIVE_SERVICES, "ksiss", "llama", NULL, KSISS_KUBE_MERGE_PATCH, patch,
                              NULL, NULL, e);
    json_decref(patch);
    return rc;
}

/* A write queued while this replica led (a job of an earlier tick) goes
 * out only while it still leads: once the renew deadline passed without a
 * renewal, nothing is sent, whatever the verb; the Lease's own writes are
 * never refused (the guard asks the leader they keep alive). */
static void test_a_write_after_the_lease_is_lost_is_not_sent(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    for (int i = 0; i < 3; i++)
        fake_add(fs, "PATCH", SVC_PATH, 200, "{}", NULL);
    fake_add(fs, "DELETE", "/apis/serving.knative.dev/v1/namespaces/ksiss/revisions/", 200, "{}", NULL);
    fake_add(fs, "POST", "/api/v1/namespaces/ksiss/events", 201, "{}", NULL);
    ksiss_kube *k = client(fs);
    ksiss_leader *l = lead_without_renewals(fs, k, 1000);
    ksiss_kube_error e = {0};
    assert_int_equal(patch_service(k, &e), KSISS_KUBE_OK);     /* while leading: sent */
    assert_int_equal(count_method(fs, "PATCH"), 1);
    assert_true(wait_until(not_leader_cond, l));    /* renewals fail: the deadline passes */
    assert_int_equal(patch_service(k, &e), KSISS_KUBE_E_NOT_LEADER);
    assert_non_null(strstr(e.message, "does not hold the leader lease"));
    ksiss_kube_error_clear(&e);
    assert_int_equal(ksiss_kube_delete(k, &KSISS_KUBE_KNATIVE_REVISIONS, "ksiss", "llama-00001", NULL, &e),
                     KSISS_KUBE_E_NOT_LEADER);
    ksiss_kube_error_clear(&e);
    json_t *ev = json_pack("{s:s}", "reason", "TierChange");
    assert_int_equal(ksiss_kube_create(k, &KSISS_KUBE_EVENTS, "ksiss", ev, NULL, &e), KSISS_KUBE_E_NOT_LEADER);
    json_decref(ev);
    ksiss_kube_error_clear(&e);
    /* Reads are not guarded. */
    assert_int_equal(ksiss_kube_get(k, &KSISS_KUBE_KNATIVE_SERVICES, "ksiss", "llama", NULL, &e),
                     KSISS_KUBE_E_UNAVAILABLE);     /* sent, answered 500 (unscripted) */
    ksiss_kube_error_clear(&e);
    ksiss_leader_stop(l, false);
    assert_int_equal(count_method(fs, "PATCH"), 1);
    assert_int_equal(count_method(fs, "DELETE"), 0);
    assert_int_equal(count_method(fs, "POST"), 1);      /* the Lease's create only */
    assert_true(count_method(fs, "PUT") >= 1);           /* renewals were tried, unguarded */
    ksiss_kube_free(k);
    fake_stop(fs);
}

/* A write that started while leading and is still unanswered at the renew
 * deadline is cut there, and its retry is not sent. */
static void test_a_write_in_flight_is_cut_at_the_renew_deadline(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    fake_add_delayed(fs, "PATCH", SVC_PATH, 200, "{}", 2500);
    fake_add(fs, "PATCH", SVC_PATH, 200, "{}", NULL);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "ksiss", .source = "test"};
    /* Retries on (a PATCH cut by its timeout is retried), 30 s per attempt. */
    ksiss_kube_options ko = {.max_retries = 3, .backoff_base_ms = 1, .backoff_max_ms = 2, .timeout_ms = 30000};
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &ko, &err);
    free(server);
    ksiss_leader *l = lead_without_renewals(fs, k, 1500);
    int64_t left = ksiss_leader_remaining_ms(l);
    assert_true(left > 0 && left <= 1500);
    int64_t t0 = mono_ms();
    ksiss_kube_error e = {0};
    int rc = patch_service(k, &e);
    int64_t took = mono_ms() - t0;
    assert_int_equal(rc, KSISS_KUBE_E_NOT_LEADER);      /* cut at the deadline; the retry refused */
    ksiss_kube_error_clear(&e);
    if (took > left + 500)
        fail_msg("the write ran %lld ms, past the renew deadline (%lld ms away when it started)", (long long)took,
                 (long long)left);
    assert_int_equal(count_method(fs, "PATCH"), 1);
    ksiss_leader_stop(l, false);
    ksiss_kube_free(k);
    fake_stop(fs);
}

typedef struct {
    volatile sig_atomic_t *flag;
    int after_ms;
} raise_arg;

static void *raise_later(void *arg)
{
    raise_arg *a = arg;
    struct timespec ts = {a->after_ms / 1000, (long)(a->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    __atomic_store_n(a->flag, 1, __ATOMIC_RELEASE); /* another thread reads it */
    return NULL;
}

/* SIGTERM: the client's stop flag aborts a write in flight (its retry is
 * not sent), and the Lease is still released on the way out. */
static void test_stop_aborts_writes_and_the_lease_is_still_released(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    for (int i = 0; i < 20; i++)
        fake_add(fs, "GET", LEASE_PATH, 200, LEASE("me_1", "5"), NULL);
    for (int i = 0; i < 30; i++)
        fake_add(fs, "PUT", LEASE_PATH, 200, LEASE("me_1", "6"), NULL);
    fake_add_delayed(fs, "PATCH", SVC_PATH, 200, "{}", 2500);
    fake_add(fs, "PATCH", SVC_PATH, 200, "{}", NULL);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "ksiss", .source = "test"};
    ksiss_kube_options ko = {.max_retries = 3, .backoff_base_ms = 1, .backoff_max_ms = 2, .timeout_ms = 30000};
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &ko, &err);
    free(server);
    static volatile sig_atomic_t stop;
    stop = 0;
    ksiss_kube_set_stop(k, &stop);
    ksiss_leader_options o = {.identity = "me_1", .lease_duration_ms = 15000, .renew_deadline_ms = 10000,
                              .retry_period_ms = 50};
    ksiss_leader *l = ksiss_leader_start(k, &o, &err);
    ksiss_kube_set_write_guard(k, ksiss_leader_write_guard, l);
    assert_true(wait_until(is_leader_cond, l));
    raise_arg ra = {&stop, 200};
    pthread_t th;
    pthread_create(&th, NULL, raise_later, &ra);
    int64_t t0 = mono_ms();
    ksiss_kube_error e = {0};
    assert_int_equal(patch_service(k, &e), KSISS_KUBE_E_STOPPING);
    int64_t took = mono_ms() - t0;
    ksiss_kube_error_clear(&e);
    pthread_join(th, NULL);
    if (took > 1500)
        fail_msg("the write went on %lld ms after the stop flag was set 200 ms in", (long long)took);
    assert_int_equal(patch_service(k, &e), KSISS_KUBE_E_STOPPING);     /* nothing new goes out */
    ksiss_kube_error_clear(&e);
    assert_int_equal(count_method(fs, "PATCH"), 1);
    ksiss_leader_stop(l, true);
    fake_req *last = &fs->reqs[fake_count(fs) - 1];
    assert_string_equal(last->method, "PUT");
    json_t *released = json_loads(last->body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(released, "spec"), "holderIdentity")), "");
    json_decref(released);
    ksiss_kube_free(k);
    fake_stop(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_decision_table),
        cmocka_unit_test(test_lease_spec_fields),
        cmocka_unit_test(test_inconsistent_timings_are_refused),
        cmocka_unit_test(test_absent_lease_is_created_and_released_on_stop),
        cmocka_unit_test(test_live_foreign_lease_keeps_us_follower),
        cmocka_unit_test(test_conflict_on_acquire_leaves_us_follower),
        cmocka_unit_test(test_renewal_conflict_on_our_own_lease_keeps_leading),
        cmocka_unit_test(test_renewal_conflict_on_a_taken_lease_stops_leading_at_once),
        cmocka_unit_test(test_a_write_after_the_lease_is_lost_is_not_sent),
        cmocka_unit_test(test_a_write_in_flight_is_cut_at_the_renew_deadline),
        cmocka_unit_test(test_stop_aborts_writes_and_the_lease_is_still_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
