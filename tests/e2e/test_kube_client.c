/* test_kube_client.c (end-to-end): the Kubernetes client, informer, leader
 * election, Events and live inventory against the REAL kube-apiserver of
 * the local control plane (tests/cluster/, docs/local-cluster.md), reached
 * through $KUBECONFIG. Every test works in its own namespace, removed at
 * the end. Run by tests/e2e/test_kube_client.sh (make e2e-kube). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/inventory.h"
#include "core/util.h"
#include "shell/events.h"
#include "shell/inventory_records.h"
#include "shell/kube.h"
#include "shell/leader.h"

static const ksiss_kube_resource NAMESPACES = {"", "v1", "namespaces", "Namespace", false};

static ksiss_kube *K;
static char *NS;
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static int list_calls, watch_calls;

static void hook(void *ud, const char *verb, long code)
{
    (void)ud;
    (void)code;
    pthread_mutex_lock(&hook_mu);
    if (!strcmp(verb, "LIST"))
        list_calls++;
    if (!strcmp(verb, "WATCH"))
        watch_calls++;
    pthread_mutex_unlock(&hook_mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *meta_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), k));
}

static json_t *configmap(const char *name, const char *value)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                     name, "data", "value", value);
}

static int group_setup(void **state)
{
    (void)state;
    ksiss_kube_config cfg;
    char *err = NULL;
    if (ksiss_kube_config_load(&cfg, NULL, NULL, &err) != 0) {
        fprintf(stderr, "e2e: %s\n", err);
        free(err);
        return -1;
    }
    ksiss_kube_options o = {.hook = hook};
    K = ksiss_kube_new(&cfg, &o, &err);
    ksiss_kube_config_free(&cfg);
    if (!K) {
        fprintf(stderr, "e2e: %s\n", err);
        free(err);
        return -1;
    }
    NS = ksiss_xasprintf("ksiss-e2e-kube-%ld", (long)getpid());
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS);
    ksiss_kube_error e = {0};
    int rc = ksiss_kube_create(K, &NAMESPACES, NULL, ns, NULL, &e);
    json_decref(ns);
    if (rc != KSISS_KUBE_OK) {
        fprintf(stderr, "e2e: cannot create namespace %s: %s\n", NS, e.message);
        ksiss_kube_error_clear(&e);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ksiss_kube_delete(K, &NAMESPACES, NULL, NS, NULL, NULL);
    free(NS);
    ksiss_kube_free(K);
    return 0;
}

static void test_create_get_and_not_found(void **state)
{
    (void)state;
    json_t *cm = configmap("alpha", "1");
    json_t *out = NULL;
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, &out, &e), KSISS_KUBE_OK);
    assert_non_null(meta_str(out, "resourceVersion"));
    json_decref(out);
    assert_int_equal(ksiss_kube_get(K, &KSISS_KUBE_CONFIGMAPS, NS, "alpha", &out, &e), KSISS_KUBE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "data"), "value")), "1");
    json_decref(out);
    /* Creating it again: 409 AlreadyExists, distinct from success. */
    assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, NULL, &e), KSISS_KUBE_E_CONFLICT);
    assert_string_equal(e.reason, "AlreadyExists");
    ksiss_kube_error_clear(&e);
    assert_int_equal(ksiss_kube_get(K, &KSISS_KUBE_CONFIGMAPS, NS, "no-such-thing", NULL, &e), KSISS_KUBE_E_NOT_FOUND);
    assert_string_equal(e.reason, "NotFound");
    assert_non_null(strstr(e.message, "\"no-such-thing\" not found"));
    ksiss_kube_error_clear(&e);
    json_decref(cm);
}

static void test_list_pages_through_every_object(void **state)
{
    (void)state;
    for (int i = 0; i < 7; i++) {
        char *name = ksiss_xasprintf("page-%d", i);
        json_t *cm = configmap(name, "x");
        json_object_set_new(json_object_get(cm, "metadata"), "labels", json_pack("{s:s}", "e2e", "paging"));
        assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, NULL, NULL), KSISS_KUBE_OK);
        json_decref(cm);
        free(name);
    }
    pthread_mutex_lock(&hook_mu);
    list_calls = 0;
    pthread_mutex_unlock(&hook_mu);
    ksiss_kube_list_opts lo = {.label_selector = "e2e=paging", .page_size = 2};
    json_t *items = NULL;
    char *rv = NULL;
    assert_int_equal(ksiss_kube_list(K, &KSISS_KUBE_CONFIGMAPS, NS, &lo, &items, &rv, NULL), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(items), 7);
    assert_non_null(rv);
    pthread_mutex_lock(&hook_mu);
    assert_int_equal(list_calls, 4);     /* 2 + 2 + 2 + 1 */
    pthread_mutex_unlock(&hook_mu);
    json_decref(items);
    free(rv);
}

static void test_patch_with_stale_resource_version_conflicts(void **state)
{
    (void)state;
    json_t *cm = configmap("beta", "1");
    json_t *out = NULL;
    assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, &out, NULL), KSISS_KUBE_OK);
    char *rv1 = ksiss_xstrdup(meta_str(out, "resourceVersion"));
    json_decref(out);
    json_decref(cm);
    json_t *patch = json_loads("{\"data\":{\"value\":\"2\"}}", 0, NULL);
    assert_int_equal(ksiss_kube_patch(K, &KSISS_KUBE_CONFIGMAPS, NS, "beta", NULL, KSISS_KUBE_MERGE_PATCH, patch, rv1,
                                      &out, NULL),
                     KSISS_KUBE_OK);
    char *rv2 = ksiss_xstrdup(meta_str(out, "resourceVersion"));
    json_decref(out);
    ksiss_kube_error e = {0};
    /* rv1 is stale now: merge patch, JSON patch and PUT all conflict. */
    assert_int_equal(ksiss_kube_patch(K, &KSISS_KUBE_CONFIGMAPS, NS, "beta", NULL, KSISS_KUBE_MERGE_PATCH, patch, rv1,
                                      NULL, &e),
                     KSISS_KUBE_E_CONFLICT);
    assert_string_equal(e.reason, "Conflict");
    ksiss_kube_error_clear(&e);
    json_t *jp = json_loads("[{\"op\":\"replace\",\"path\":\"/data/value\",\"value\":\"3\"}]", 0, NULL);
    assert_int_equal(ksiss_kube_patch(K, &KSISS_KUBE_CONFIGMAPS, NS, "beta", NULL, KSISS_KUBE_JSON_PATCH, jp, rv1,
                                      NULL, &e),
                     KSISS_KUBE_E_CONFLICT);
    ksiss_kube_error_clear(&e);
    assert_int_equal(ksiss_kube_patch(K, &KSISS_KUBE_CONFIGMAPS, NS, "beta", NULL, KSISS_KUBE_JSON_PATCH, jp, rv2,
                                      &out, &e),
                     KSISS_KUBE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "data"), "value")), "3");
    json_decref(out);
    json_t *stale = configmap("beta", "4");
    json_object_set_new(json_object_get(stale, "metadata"), "resourceVersion", json_string(rv2));
    assert_int_equal(ksiss_kube_replace(K, &KSISS_KUBE_CONFIGMAPS, NS, "beta", stale, NULL, &e), KSISS_KUBE_E_CONFLICT);
    ksiss_kube_error_clear(&e);
    json_decref(stale);
    json_decref(jp);
    json_decref(patch);
    free(rv1);
    free(rv2);
}

static void test_delete_honours_preconditions(void **state)
{
    (void)state;
    json_t *cm = configmap("gamma", "1");
    json_t *out = NULL;
    assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, &out, NULL), KSISS_KUBE_OK);
    char *uid = ksiss_xstrdup(meta_str(out, "uid"));
    json_decref(out);
    json_decref(cm);
    ksiss_kube_error e = {0};
    ksiss_kube_delete_opts wrong = {.precondition_uid = "00000000-0000-0000-0000-000000000000"};
    assert_int_equal(ksiss_kube_delete(K, &KSISS_KUBE_CONFIGMAPS, NS, "gamma", &wrong, &e), KSISS_KUBE_E_CONFLICT);
    ksiss_kube_error_clear(&e);
    ksiss_kube_delete_opts right = {.propagation_policy = "Background", .precondition_uid = uid};
    assert_int_equal(ksiss_kube_delete(K, &KSISS_KUBE_CONFIGMAPS, NS, "gamma", &right, &e), KSISS_KUBE_OK);
    assert_int_equal(ksiss_kube_delete(K, &KSISS_KUBE_CONFIGMAPS, NS, "gamma", NULL, &e), KSISS_KUBE_E_NOT_FOUND);
    ksiss_kube_error_clear(&e);
    free(uid);
}

typedef struct {
    pthread_mutex_t mu;
    int added, modified, deleted;
} counts;

static void count_events(void *ud, ksiss_kube_event_type t, const json_t *obj)
{
    counts *c = ud;
    const char *name = meta_str(obj, "name");
    if (!name || strcmp(name, "watched") != 0)
        return;
    pthread_mutex_lock(&c->mu);
    if (t == KSISS_KUBE_ADDED)
        c->added++;
    else if (t == KSISS_KUBE_MODIFIED)
        c->modified++;
    else
        c->deleted++;
    pthread_mutex_unlock(&c->mu);
}

static bool wait_count(counts *c, int *field, int want)
{
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&c->mu);
        int v = *field;
        pthread_mutex_unlock(&c->mu);
        if (v >= want)
            return true;
        sleep_ms(50);
    }
    return false;
}

static void test_informer_sees_create_update_delete(void **state)
{
    (void)state;
    counts c = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    /* timeoutSeconds=1: the server ends each watch after a second, so
     * what follows is seen across several reconnections from the last
     * resourceVersion. */
    ksiss_kube_informer_opts o = {.res = &KSISS_KUBE_CONFIGMAPS, .ns = NS, .on_change = count_events, .ud = &c,
                                  .watch_timeout_s = 1};
    char *err = NULL;
    ksiss_kube_informer *inf = ksiss_kube_informer_start(K, &o, &err);
    assert_non_null(inf);
    for (int i = 0; i < 200 && !ksiss_kube_informer_synced(inf); i++)
        sleep_ms(50);
    assert_true(ksiss_kube_informer_synced(inf));
    sleep_ms(2500);
    json_t *cm = configmap("watched", "1");
    assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, NULL, NULL), KSISS_KUBE_OK);
    assert_true(wait_count(&c, &c.added, 1));
    json_t *got = ksiss_kube_informer_get(inf, NS, "watched");
    assert_non_null(got);
    json_decref(got);
    json_t *patch = json_loads("{\"data\":{\"value\":\"2\"}}", 0, NULL);
    assert_int_equal(ksiss_kube_patch(K, &KSISS_KUBE_CONFIGMAPS, NS, "watched", NULL, KSISS_KUBE_MERGE_PATCH, patch,
                                      NULL, NULL, NULL),
                     KSISS_KUBE_OK);
    sleep_ms(1500);
    assert_true(wait_count(&c, &c.modified, 1));
    got = ksiss_kube_informer_get(inf, NS, "watched");
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "data"), "value")), "2");
    json_decref(got);
    assert_int_equal(ksiss_kube_delete(K, &KSISS_KUBE_CONFIGMAPS, NS, "watched", NULL, NULL), KSISS_KUBE_OK);
    assert_true(wait_count(&c, &c.deleted, 1));
    assert_null(ksiss_kube_informer_get(inf, NS, "watched"));
    char *last = ksiss_kube_informer_last_error(inf);
    if (last)
        fail_msg("informer error: %s", last);
    pthread_mutex_lock(&hook_mu);
    int watches = watch_calls;
    pthread_mutex_unlock(&hook_mu);
    assert_true(watches >= 3);
    ksiss_kube_informer_stop(inf);
    json_decref(patch);
    json_decref(cm);
}

static ksiss_leader *start_leader(const char *identity)
{
    ksiss_leader_options o = {.ns = NS, .name = "ksiss-e2e", .identity = identity, .lease_duration_ms = 3000,
                              .renew_deadline_ms = 2000, .retry_period_ms = 300};
    char *err = NULL;
    ksiss_leader *l = ksiss_leader_start(K, &o, &err);
    if (!l)
        fail_msg("leader: %s", err);
    return l;
}

static char *lease_holder(void)
{
    json_t *lease = NULL;
    if (ksiss_kube_get(K, &KSISS_KUBE_LEASES, NS, "ksiss-e2e", &lease, NULL) != KSISS_KUBE_OK)
        return NULL;
    char *h = ksiss_xstrdup(json_string_value(json_object_get(json_object_get(lease, "spec"), "holderIdentity")));
    json_decref(lease);
    return h;
}

/* Waits up to ms for exactly one of a, b to lead; returns it or NULL. */
static ksiss_leader *wait_one_leader(ksiss_leader *a, ksiss_leader *b, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        bool la = a && ksiss_leader_is_leader(a), lb = b && ksiss_leader_is_leader(b);
        if (la && lb)
            fail_msg("two leaders at once");
        if (la || lb)
            return la ? a : b;
        sleep_ms(50);
    }
    return NULL;
}

static void test_leader_election_hands_over_on_release_and_on_expiry(void **state)
{
    (void)state;
    ksiss_leader *a = start_leader("e2e-a");
    ksiss_leader *b = start_leader("e2e-b");
    ksiss_leader *first = wait_one_leader(a, b, 5000);
    assert_non_null(first);
    /* Stays one leader over several renewals. */
    for (int i = 0; i < 20; i++) {
        assert_false(ksiss_leader_is_leader(a) && ksiss_leader_is_leader(b));
        sleep_ms(100);
    }
    assert_true(ksiss_leader_is_leader(first));
    char *h = lease_holder();
    assert_string_equal(h, ksiss_leader_identity(first));
    free(h);
    ksiss_leader *second = first == a ? b : a;
    /* Clean hand-over (SIGTERM path): the follower takes over at its next
     * attempt, well within a lease duration. */
    ksiss_leader_stop(first, true);
    assert_non_null(wait_one_leader(second, NULL, 2000));
    h = lease_holder();
    assert_string_equal(h, ksiss_leader_identity(second));
    free(h);
    /* A crash (no release): a newcomer waits a whole lease duration of
     * silence, then takes over. */
    ksiss_leader_stop(second, false);
    ksiss_leader *c = start_leader("e2e-c");
    sleep_ms(1500);
    assert_false(ksiss_leader_is_leader(c));
    assert_non_null(wait_one_leader(c, NULL, 6000));
    h = lease_holder();
    assert_string_equal(h, "e2e-c");
    free(h);
    ksiss_leader_stop(c, true);
}

static void test_events_are_recorded_and_aggregated(void **state)
{
    (void)state;
    json_t *cm = configmap("evented", "1");
    json_t *out = NULL;
    assert_int_equal(ksiss_kube_create(K, &KSISS_KUBE_CONFIGMAPS, NS, cm, &out, NULL), KSISS_KUBE_OK);
    ksiss_kube_object_ref ref = {"v1", "ConfigMap", NS, "evented", meta_str(out, "uid")};
    ksiss_events *ev = ksiss_events_new(K, NULL, "e2e-host");
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_events_emit(ev, &ref, "Normal", "SuccessfulRescale", "up to mig-3g.40gb", &e), 0);
    assert_int_equal(ksiss_events_emit(ev, &ref, "Normal", "SuccessfulRescale", "up to mig-3g.40gb", &e), 0);
    assert_int_equal(ksiss_events_emit(ev, &ref, "Warning", "RolledBack", "revision not ready", &e), 0);
    ksiss_kube_list_opts lo = {.field_selector = "involvedObject.name=evented"};
    json_t *items = NULL;
    assert_int_equal(ksiss_kube_list(K, &KSISS_KUBE_EVENTS, NS, &lo, &items, NULL, &e), KSISS_KUBE_OK);
    assert_int_equal(json_array_size(items), 2);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *reason = json_string_value(json_object_get(it, "reason"));
        long long count = json_integer_value(json_object_get(it, "count"));
        if (!strcmp(reason, "SuccessfulRescale"))
            assert_int_equal(count, 2);
        else
            assert_int_equal(count, 1);
        assert_string_equal(json_string_value(json_object_get(json_object_get(it, "source"), "component")), "ksiss");
    }
    json_decref(items);
    ksiss_events_free(ev);
    json_decref(out);
    json_decref(cm);
}

static void test_live_inventory_matches_a_fresh_list(void **state)
{
    (void)state;
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    char *err = NULL;
    /* The controller's informers (KSISS_INVENTORY_*_INFORMER) and its computation. */
    ksiss_kube_informer *in = ksiss_kube_informer_start(K, &KSISS_INVENTORY_NODES_INFORMER, &err);
    ksiss_kube_informer *ip = ksiss_kube_informer_start(K, &KSISS_INVENTORY_PODS_INFORMER, &err);
    assert_non_null(in);
    assert_non_null(ip);
    for (int i = 0; i < 200 && !(ksiss_kube_informer_synced(in) && ksiss_kube_informer_synced(ip)); i++)
        sleep_ms(50);
    assert_true(ksiss_kube_informer_synced(in) && ksiss_kube_informer_synced(ip));
    ksiss_kobj_list nl = ksiss_kube_informer_objects(in), pl = ksiss_kube_informer_objects(ip);
    ksiss_inventory live;
    assert_int_equal(ksiss_inventory_from_records(&cat, &nl, &pl, &live), 0);
    const ksiss_inventory *inv = &live;
    json_t *nodes = NULL, *pods = NULL;
    assert_int_equal(ksiss_kube_list(K, &KSISS_KUBE_NODES, NULL, NULL, &nodes, NULL, NULL), KSISS_KUBE_OK);
    assert_int_equal(ksiss_kube_list(K, &KSISS_KUBE_PODS, NULL, NULL, &pods, NULL, NULL), KSISS_KUBE_OK);
    ksiss_inventory fresh;
    assert_int_equal(ksiss_inventory_compute(&cat, nodes, pods, &fresh), 0);
    /* The local cluster has fake GPU nodes (tests/cluster/inventory.yaml). */
    assert_true(fresh.n_entries > 0);
    assert_int_equal(inv->n_entries, fresh.n_entries);
    for (size_t i = 0; i < fresh.n_entries; i++) {
        assert_string_equal(inv->entries[i].resource, fresh.entries[i].resource);
        assert_int_equal(inv->entries[i].allocatable, fresh.entries[i].allocatable);
        printf("  inventory: %s %s allocatable %lld requested %lld pending %lld free %lld\n", fresh.entries[i].gpu_model,
               fresh.entries[i].resource, fresh.entries[i].allocatable, fresh.entries[i].requested,
               fresh.entries[i].pending, fresh.entries[i].free);
    }
    ksiss_inventory_free(&fresh);
    json_decref(nodes);
    json_decref(pods);
    ksiss_inventory_free(&live);
    ksiss_kobj_list_free(&nl);
    ksiss_kobj_list_free(&pl);
    ksiss_kube_informer_stop(in);
    ksiss_kube_informer_stop(ip);
    ksiss_catalog_free(&cat);
}

static void test_client_certificate_and_embedded_ca_authenticate(void **state)
{
    (void)state;
    const char *path = getenv("KSISS_E2E_CERT_KUBECONFIG");
    if (!path) {
        printf("  skipped: no KSISS_E2E_CERT_KUBECONFIG (needs the local cluster's CA key)\n");
        skip();
    }
    ksiss_kube_config cfg;
    char *err = NULL;
    if (ksiss_kube_config_load(&cfg, path, NULL, &err) != 0)
        fail_msg("%s", err);
    assert_non_null(cfg.client_cert_pem);
    assert_non_null(cfg.ca_pem);
    assert_null(cfg.token);
    ksiss_kube *k = ksiss_kube_new(&cfg, NULL, &err);
    assert_non_null(k);
    json_t *ns = NULL;
    ksiss_kube_error e = {0};
    int rc = ksiss_kube_get(k, &NAMESPACES, NULL, NS, &ns, &e);
    if (rc != KSISS_KUBE_OK)
        fail_msg("GET with a client certificate: %s", e.message);
    assert_string_equal(meta_str(ns, "name"), NS);
    json_decref(ns);
    ksiss_kube_free(k);
    /* The same server with a CA that did not sign it: TLS verification fails. */
    free(cfg.ca_pem);
    cfg.ca_pem = ksiss_xstrdup(cfg.client_cert_pem);    /* a certificate, but not the CA */
    k = ksiss_kube_new(&cfg, &(ksiss_kube_options){.max_retries = -1}, &err);
    assert_int_equal(ksiss_kube_get(k, &NAMESPACES, NULL, NS, NULL, &e), KSISS_KUBE_E_TRANSPORT);
    printf("  wrong CA refused: %s\n", e.message);
    ksiss_kube_error_clear(&e);
    ksiss_kube_free(k);
    ksiss_kube_config_free(&cfg);
}

static void test_rbac_refusal_is_forbidden_with_the_api_message(void **state)
{
    (void)state;
    const char *path = getenv("KSISS_KUBECONFIG_AUTOSCALER");
    if (!path) {
        printf("  skipped: no KSISS_KUBECONFIG_AUTOSCALER (the local cluster's non-admin user)\n");
        skip();
    }
    ksiss_kube_config cfg;
    char *err = NULL;
    if (ksiss_kube_config_load(&cfg, path, NULL, &err) != 0)
        fail_msg("%s", err);
    ksiss_kube *k = ksiss_kube_new(&cfg, NULL, &err);
    ksiss_kube_config_free(&cfg);
    assert_non_null(k);
    /* No role K-SISS runs with grants creating namespaces. */
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                           "ksiss-e2e-forbidden");
    ksiss_kube_error e = {0};
    assert_int_equal(ksiss_kube_create(k, &NAMESPACES, NULL, ns, NULL, &e), KSISS_KUBE_E_FORBIDDEN);
    assert_int_equal(e.http_code, 403);
    assert_string_equal(e.reason, "Forbidden");
    assert_non_null(strstr(e.message, "cannot create resource \"namespaces\""));
    printf("  %s\n", e.message);
    ksiss_kube_error_clear(&e);
    json_decref(ns);
    ksiss_kube_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_get_and_not_found),
        cmocka_unit_test(test_list_pages_through_every_object),
        cmocka_unit_test(test_patch_with_stale_resource_version_conflicts),
        cmocka_unit_test(test_delete_honours_preconditions),
        cmocka_unit_test(test_informer_sees_create_update_delete),
        cmocka_unit_test(test_leader_election_hands_over_on_release_and_on_expiry),
        cmocka_unit_test(test_events_are_recorded_and_aggregated),
        cmocka_unit_test(test_live_inventory_matches_a_fresh_list),
        cmocka_unit_test(test_client_certificate_and_embedded_ca_authenticate),
        cmocka_unit_test(test_rbac_refusal_is_forbidden_with_the_api_message),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
