/* test_inventory_watch.c: the inventory kept from Node and Pod informers
 * (src/shell/inventory_watch.c) against the loopback stand-in API server
 * serving the fixtures of tests/data/kube/: nothing before both lists,
 * the computed free units after, the terminated-pods field selector, and
 * no recomputation while nothing changed. */
#include <netinet/in.h>
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
#include "shell/inventory_watch.h"
#include "test_kube_fake.h"

static char *slurp(const char *path)
{
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void test_inventory_follows_the_node_and_pod_lists(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    char *nodes = slurp("tests/data/kube/nodes.json");
    char *pods = slurp("tests/data/kube/pods.json");
    fake_add(fs, "GET", "/api/v1/nodes?limit=100", 200, nodes, NULL);
    fake_add(fs, "GET", "/api/v1/pods?fieldSelector=status.phase!=Succeeded,status.phase!=Failed&limit=100", 200, pods,
             NULL);
    char *server = ksiss_xasprintf("http://127.0.0.1:%u", fs->port);
    ksiss_kube_config cfg = {.server = server, .namespace = "default", .source = "test"};
    ksiss_kube_options o = {.max_retries = -1};
    char *err = NULL;
    ksiss_kube *k = ksiss_kube_new(&cfg, &o, &err);
    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    ksiss_inventory_watch *w = ksiss_inventory_watch_start(k, &err);
    assert_non_null(w);
    const ksiss_inventory *inv = NULL;
    for (int i = 0; i < 1000 && !inv; i++) {
        inv = ksiss_inventory_watch_get(w, &cat, NULL);
        if (!inv) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_non_null(inv);
    const ksiss_inventory_entry *e = ksiss_inventory_find(inv, "H100-80GB", "nvidia.com/mig-1g.10gb");
    assert_non_null(e);
    assert_int_equal(e->free, 12);
    /* Nothing changed: the same inventory, not a recomputation. */
    assert_ptr_equal(ksiss_inventory_watch_get(w, &cat, NULL), inv);
    assert_ptr_equal(ksiss_inventory_watch_get(w, &cat, NULL)->entries, inv->entries);
    ksiss_inventory_watch_stop(w);
    ksiss_catalog_free(&cat);
    ksiss_kube_free(k);
    fake_stop(fs);
    free(server);
    free(nodes);
    free(pods);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory_follows_the_node_and_pod_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
