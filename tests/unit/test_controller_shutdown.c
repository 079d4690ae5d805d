/* test_controller_shutdown.c: `ksiss run`'s way out fits the pod's grace
 * period (30 s). ksiss_controller_run runs against a loopback stand-in API
 * server that never answers a write of the controller (here the Event on an
 * invalid ConfigMap, sent while leading); when the stop flag is set (what
 * the SIGTERM handler does), the run must return within 5 s (the write
 * aborted, not left to its 30 s x 5 attempts) and the Lease must have been
 * released (holderIdentity ""), as client-go's ReleaseOnCancel. Also:
 * only the leader records Events, and a configuration loaded before this
 * replica leads gets its Event once it leads. */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "core/util.h"
#include "shell/controller.h"

#define LEASE_PATH "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases/ksiss-leader"
#define LEASES "/apis/coordination.k8s.io/v1/namespaces/ksiss/leases"
#define EVENTS "/api/v1/namespaces/ksiss/events"
#define CONFIGMAPS "/api/v1/namespaces/ksiss/configmaps"

/* The stand-in: a Lease with resourceVersion preconditions, lists (an
 * invalid ConfigMap once the Lease exists; nothing else), watches and
 * Event creates that hang until the test ends. */
typedef struct {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    json_t *lease;          /* NULL: absent */
    int rv;
    int64_t lease_created_ms;
    char *last_holder;      /* holderIdentity of the last Lease write */
    int lease_writes;
    int event_posts;
    int quit;               /* atomic: hanging handlers return */
    bool config_first;      /* the ConfigMap is listed before the Lease is read (else: once it exists) */
    int64_t config_listed_ms;
    int64_t event_posted_ms;
} standin;

typedef struct {
    ksiss_strbuf body;
} conn;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Holds the request until the test ends (at most 30 s). */
static void hang(standin *s)
{
    for (int i = 0; i < 1500 && !__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE); i++)
        sleep_ms(20);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    enum MHD_Result ret = reply(c, status, text);
    free(text);
    return ret;
}

static const char not_found[] = "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}";
static const char conflict[] = "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409}";
static const char empty_list[] = "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}";
static const char invalid_cm_list[] =
    "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":{\"name\":"
    "\"autoscaler-config\",\"namespace\":\"ksiss\",\"uid\":\"u-1\",\"resourceVersion\":\"1\"},"
    "\"data\":{\"bad\":\"- name: m\\n  slo: -1\\n\"}}]}";

/* Stores a Lease write (POST or PUT with the current resourceVersion). */
static enum MHD_Result write_lease(standin *s, struct MHD_Connection *c, const char *body, bool create)
{
    json_t *j = json_loads(body, 0, NULL);
    pthread_mutex_lock(&s->mu);
    const char *rv = json_string_value(json_object_get(json_object_get(j, "metadata"), "resourceVersion"));
    bool ok = create ? !s->lease : s->lease && rv && atoi(rv) == s->rv;
    if (ok) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", ++s->rv);
        json_object_set_new(json_object_get(j, "metadata"), "resourceVersion", json_string(buf));
        json_decref(s->lease);
        s->lease = json_incref(j);
        free(s->last_holder);
        s->last_holder =
            ksiss_xstrdup(json_string_value(json_object_get(json_object_get(j, "spec"), "holderIdentity")));
        s->lease_writes++;
        if (create)
            s->lease_created_ms = mono_ms();
    }
    pthread_mutex_unlock(&s->mu);
    enum MHD_Result ret = ok ? reply_json(c, create ? 201 : 200, j) : reply(c, 409, conflict);
    json_decref(j);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **ptr)
{
    (void)version;
    standin *s = cls;
    conn *cn = *ptr;
    if (!cn) {
        cn = ksiss_xcalloc(1, sizeof *cn);
        ksiss_sb_init(&cn->body, 1 << 20);
        ksiss_sb_puts(&cn->body, "");
        *ptr = cn;
        return MHD_YES;
    }
    if (*upload_size) {
        ksiss_sb_append(&cn->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *body = ksiss_sb_str(&cn->body);
    bool get = !strcmp(method, "GET");
    if (get && MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "watch")) {
        hang(s);
        return reply(c, 200, "");
    }
    if (s->config_first && (!strcmp(url, LEASE_PATH) || !strcmp(url, LEASES))) {
        /* The election only once the configuration was loaded (a
         * replica that is not leading yet when it loads it). */
        for (int i = 0; i < 500; i++) {
            pthread_mutex_lock(&s->mu);
            bool listed = s->config_listed_ms && mono_ms() - s->config_listed_ms >= 500;
            pthread_mutex_unlock(&s->mu);
            if (listed || __atomic_load_n(&s->quit, __ATOMIC_ACQUIRE))
                break;
            sleep_ms(20);
        }
    }
    if (!strcmp(url, LEASE_PATH)) {
        if (!strcmp(method, "PUT"))
            return write_lease(s, c, body, false);
        pthread_mutex_lock(&s->mu);
        char *text = s->lease ? json_dumps(s->lease, JSON_COMPACT) : NULL;
        pthread_mutex_unlock(&s->mu);
        enum MHD_Result ret = reply(c, text ? 200 : 404, text ? text : not_found);
        free(text);
        return ret;
    }
    if (!strcmp(url, LEASES) && !strcmp(method, "POST"))
        return write_lease(s, c, body, true);
    if (!strcmp(url, EVENTS) && !strcmp(method, "POST")) {
        pthread_mutex_lock(&s->mu);
        s->event_posts++;
        s->event_posted_ms = mono_ms();
        pthread_mutex_unlock(&s->mu);
        hang(s);
        return reply(c, 201, "{}");
    }
    if (get && !strcmp(url, CONFIGMAPS)) {
        /* The configuration arrives once this replica leads (the Lease
         * created, and half a second for the election thread to take the
         * answer in), so that its Event is a leader's write. */
        for (int i = 0; i < 500 && !s->config_first; i++) {
            pthread_mutex_lock(&s->mu);
            bool led = s->lease_created_ms && mono_ms() - s->lease_created_ms >= 500;
            pthread_mutex_unlock(&s->mu);
            if (led || __atomic_load_n(&s->quit, __ATOMIC_ACQUIRE))
                break;
            sleep_ms(20);
        }
        pthread_mutex_lock(&s->mu);
        if (!s->config_listed_ms)
            s->config_listed_ms = mono_ms();
        pthread_mutex_unlock(&s->mu);
        return reply(c, 200, invalid_cm_list);
    }
    if (get)
        return reply(c, 200, empty_list);
    return reply(c, 404, not_found);
}

static void completed(void *cls, struct MHD_Connection *c, void **ptr, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    conn *cn = *ptr;
    if (cn) {
        ksiss_sb_free(&cn->body);
        free(cn);
        *ptr = NULL;
    }
}

static standin *standin_start(bool config_first)
{
    standin *s = ksiss_xcalloc(1, sizeof *s);
    s->config_first = config_first;
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, handler, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_END);
    assert_non_null(s->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s;
}

static void standin_stop(standin *s)
{
    __atomic_store_n(&s->quit, 1, __ATOMIC_RELEASE);
    MHD_stop_daemon(s->d);
    json_decref(s->lease);
    free(s->last_holder);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

typedef struct {
    ksiss_controller_opts o;
    volatile sig_atomic_t stop;
    int rc;
    int done;   /* atomic */
} run_arg;

static void *run_thread(void *arg)
{
    run_arg *a = arg;
    a->rc = ksiss_controller_run(&a->o, &a->stop);
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Runs the controller against the stand-in until its Event write hangs,
 * then sets the stop flag and checks the way out: within 5 s, exit 0,
 * the Lease released. */
static void stop_during_the_event_write(bool config_first)
{
    standin *s = standin_start(config_first);
    char kubeconfig[] = "/tmp/ksiss-shutdown-kubeconfig-XXXXXX";
    int kfd = mkstemp(kubeconfig);
    assert_true(kfd >= 0);
    char *kc = ksiss_xasprintf("apiVersion: v1\nkind: Config\n"
                               "clusters: [{name: c, cluster: {server: \"http://127.0.0.1:%u\"}}]\n"
                               "users: [{name: u, user: {token: t0k}}]\n"
                               "contexts: [{name: x, context: {cluster: c, user: u, namespace: ksiss}}]\n"
                               "current-context: x\n", s->port);
    assert_int_equal(write(kfd, kc, strlen(kc)), (ssize_t)strlen(kc));
    close(kfd);
    free(kc);
    char *prom = ksiss_xasprintf("http://127.0.0.1:%u", s->port);
    setenv("NAMESPACE", "ksiss", 1);
    setenv("CONFIG_MAP_NAME", "autoscaler-config", 1);
    unsetenv("KSISS_WORKERS");
    run_arg *a = ksiss_xcalloc(1, sizeof *a);
    a->o = (ksiss_controller_opts){.kubeconfig = kubeconfig, .prometheus_url = prom, .interval_ms = 100,
                                   .listen = "127.0.0.1:0"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, a), 0);
    /* Wait until the controller is stuck in its Event write. */
    bool posted = false;
    for (int i = 0; i < 1000 && !posted && !__atomic_load_n(&a->done, __ATOMIC_ACQUIRE); i++) {
        pthread_mutex_lock(&s->mu);
        posted = s->event_posts > 0;
        pthread_mutex_unlock(&s->mu);
        if (!posted)
            sleep_ms(20);
    }
    if (!posted)
        fail_msg("the controller never sent its Event (done=%d)", a->done);
    sleep_ms(300);      /* well inside the write */
    int64_t t0 = mono_ms();
    __atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE); /* what the SIGTERM handler does */
    while (!__atomic_load_n(&a->done, __ATOMIC_ACQUIRE) && mono_ms() - t0 < 20000)
        sleep_ms(10);
    int64_t took = mono_ms() - t0;
    if (!__atomic_load_n(&a->done, __ATOMIC_ACQUIRE))
        fail_msg("still running 20 s after the stop flag was set");
    pthread_join(th, NULL);
    if (took > 5000)
        fail_msg("the controller took %lld ms to stop (bound: 5000 ms, grace period 30 s)", (long long)took);
    assert_int_equal(a->rc, 0);
    pthread_mutex_lock(&s->mu);
    assert_non_null(s->last_holder);
    assert_string_equal(s->last_holder, "");    /* released */
    assert_true(s->lease_writes >= 2);          /* created (ours), then released */
    assert_int_equal(s->event_posts, 1);
    assert_true(s->event_posted_ms >= s->lease_created_ms);    /* a leader's write */
    pthread_mutex_unlock(&s->mu);
    fprintf(stderr, "stopped in %lld ms\n", (long long)took);
    unlink(kubeconfig);
    free(prom);
    free(a);
    standin_stop(s);
}

static void test_stop_during_a_hanging_write_exits_in_time_and_releases_the_lease(void **state)
{
    (void)state;
    stop_during_the_event_write(false);
}

/* Only the leader records Events: an invalid configuration loaded before
 * this replica leads gets its Event once it leads (not never). */
static void test_an_invalid_configuration_loaded_before_leading_gets_its_event_once_leading(void **state)
{
    (void)state;
    stop_during_the_event_write(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_during_a_hanging_write_exits_in_time_and_releases_the_lease),
        cmocka_unit_test(test_an_invalid_configuration_loaded_before_leading_gets_its_event_once_leading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
