/* test_kube_object.c: the informer caches' compact records
 * (src/shell/kube_object.c): fields taken on arrival, the text parsed
 * back to the same object, and the record map (put, replace, delete with
 * colliding probe runs, sorted listing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "shell/kube_object.h"
#include "support/test_support.h"

static ksiss_kobj *mk(const char *ns, const char *name, const char *rv)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "metadata", "name", name, "resourceVersion", rv);
    if (ns)
        json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string(ns));
    ksiss_kobj *k = ksiss_kobj_pack(NULL, o);
    json_decref(o);
    return k;
}

static void test_record_keeps_the_fields_and_parses_back_equal(void **state)
{
    (void)state;
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"p-1\",\"namespace\":\"ml\",\"resourceVersion\":\"42\","
                             "\"labels\":{\"serving.knative.dev/service\":\"llama\"}},"
                             "\"spec\":{\"nodeName\":\"n\"},\"status\":{\"phase\":\"Running\","
                             "\"latestReadyRevisionName\":\"llama-00002\"},\"x\":\"\\u00e9\\\"\"}",
                             0, NULL);
    assert_non_null(pod);
    ksiss_kobj *o = ksiss_kobj_pack(NULL, pod);
    assert_non_null(o);
    assert_string_equal(ksiss_kobj_key(o), "ml/p-1");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_NS), "ml");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_NAME), "p-1");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_RV), "42");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_SERVICE), "llama");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_PHASE), "Running");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_READY_REVISION), "llama-00002");
    assert_int_equal(o->len, strlen(o->text));
    /* Its size covers the header, the text and every string, exactly. */
    size_t size = ksiss_kobj_size(o);
    assert_int_equal(size, sizeof(*o) + o->stored + strlen("ml/p-1") + 1 + strlen("ml") + 1 + strlen("42") + 1 +
                               strlen("llama") + 1 + strlen("Running") + 1 + strlen("llama-00002") + 1);
    json_t *back = ksiss_kobj_parse(o);
    assert_true(json_equal(back, pod));
    json_decref(back);
    ksiss_kobj_unref(o);
    json_decref(pod);

    /* Cluster-scoped, no labels or status: key is the name, the rest NULL. */
    json_t *node = json_pack("{s:{s:s}}", "metadata", "name", "gpu-1");
    o = ksiss_kobj_pack(NULL, node);
    assert_string_equal(ksiss_kobj_key(o), "gpu-1");
    assert_null(ksiss_kobj_str(o, KSISS_KOBJ_NS));
    assert_null(ksiss_kobj_str(o, KSISS_KOBJ_RV));
    assert_null(ksiss_kobj_str(o, KSISS_KOBJ_SERVICE));
    assert_null(ksiss_kobj_str(o, KSISS_KOBJ_PHASE));
    assert_null(ksiss_kobj_str(o, KSISS_KOBJ_READY_REVISION));
    assert_int_equal(ksiss_kobj_size(o), sizeof(*o) + o->stored + strlen("gpu-1") + 1);
    ksiss_kobj_unref(o);
    json_decref(node);

    /* No name (or an empty one, or not an object): no record. */
    json_t *bad = json_pack("{s:{s:s}}", "metadata", "name", "");
    assert_null(ksiss_kobj_pack(NULL, bad));
    json_decref(bad);
    bad = json_pack("{s:{s:i}}", "metadata", "name", 3);
    assert_null(ksiss_kobj_pack(NULL, bad));
    json_decref(bad);
    bad = json_string("x");
    assert_null(ksiss_kobj_pack(NULL, bad));
    json_decref(bad);
    assert_null(ksiss_kobj_parse(NULL));
}

static void test_map_puts_replaces_deletes_and_lists_sorted(void **state)
{
    (void)state;
    ksiss_kobj_map m = {0};
    assert_null(ksiss_kobj_map_get(&m, "a"));
    assert_null(ksiss_kobj_map_del(&m, "a"));
    enum { N = 3000 };
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "svc-%05d", (i * 7919) % N);
        assert_null(ksiss_kobj_map_put(&m, mk("ns", name, "1")));
    }
    assert_int_equal(m.n, N);
    assert_true(m.n * 4 <= m.cap * 3);
    /* Replace: the old record comes back, the map keeps the new one. */
    ksiss_kobj *old = ksiss_kobj_map_put(&m, mk("ns", "svc-00010", "2"));
    assert_non_null(old);
    assert_string_equal(ksiss_kobj_str(old, KSISS_KOBJ_RV), "1");
    ksiss_kobj_unref(old);
    assert_string_equal(ksiss_kobj_str(ksiss_kobj_map_get(&m, "ns/svc-00010"), KSISS_KOBJ_RV), "2");
    assert_int_equal(m.n, N);
    /* Delete every third: the others stay reachable whatever probe runs
     * the holes were in. */
    for (int i = 0; i < N; i += 3) {
        snprintf(name, sizeof name, "ns/svc-%05d", i);
        ksiss_kobj *d = ksiss_kobj_map_del(&m, name);
        assert_non_null(d);
        assert_string_equal(ksiss_kobj_key(d), name);
        ksiss_kobj_unref(d);
        assert_null(ksiss_kobj_map_get(&m, name));
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "ns/svc-%05d", i);
        ksiss_kobj *g = ksiss_kobj_map_get(&m, name);
        if (i % 3 == 0)
            assert_null(g);
        else
            assert_non_null(g);
    }
    ksiss_kobj_list l = ksiss_kobj_map_list(&m);
    assert_int_equal(l.n, m.n);
    assert_int_equal(l.n, N - (N + 2) / 3);
    for (size_t i = 1; i < l.n; i++)
        assert_true(strcmp(ksiss_kobj_key(l.v[i - 1]), ksiss_kobj_key(l.v[i])) < 0);
    /* The listing holds its own references: clearing the map keeps them. */
    ksiss_kobj_map_clear(&m);
    assert_int_equal(m.n, 0);
    assert_string_equal(ksiss_kobj_key(l.v[0]), "ns/svc-00001");
    json_t *arr = ksiss_kobj_list_parse(&l);
    assert_int_equal(json_array_size(arr), l.n);
    json_decref(arr);
    ksiss_kobj_list_free(&l);
    assert_int_equal(l.n, 0);
    /* A cleared map is reusable. */
    assert_null(ksiss_kobj_map_put(&m, mk(NULL, "z", "1")));
    assert_non_null(ksiss_kobj_map_get(&m, "z"));
    ksiss_kobj_map_clear(&m);
}

/* Packed records: the same JSON back, far smaller when the objects are of
 * a kind; one dictionary (the first object) shared by every record, alive
 * while a record holds it. */
static void test_packed_records_parse_back_equal_and_are_small(void **state)
{
    (void)state;
    json_t *svc = test_load_json(NULL, "tests/data/knative/service.json");
    assert_non_null(svc);
    ksiss_kobj_packer pk = {0};
    ksiss_kobj *first = ksiss_kobj_pack(&pk, svc);
    assert_non_null(first);
    json_t *other = json_deep_copy(svc);
    json_object_set_new(json_object_get(other, "metadata"), "name", json_string("another-service"));
    json_object_set_new(json_object_get(other, "metadata"), "resourceVersion", json_string("987654"));
    ksiss_kobj *o = ksiss_kobj_pack(&pk, other);
    assert_non_null(o);
    assert_non_null(o->dict);
    assert_ptr_equal(o->dict, first->dict);
    assert_true(o->stored * 4 < o->len);        /* a like object packs to under a quarter */
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_NAME), "another-service");
    assert_string_equal(ksiss_kobj_str(o, KSISS_KOBJ_RV), "987654");
    char *text = ksiss_kobj_text(o);
    assert_non_null(text);
    assert_int_equal(strlen(text), o->len);
    json_t *back = ksiss_kobj_parse(o);
    assert_true(json_equal(back, other));
    json_decref(back);
    free(text);
    /* The packer and the first record gone, the dictionary lives on in o. */
    ksiss_kobj_packer_free(&pk);
    ksiss_kobj_unref(first);
    back = ksiss_kobj_parse(o);
    assert_true(json_equal(back, other));
    json_decref(back);
    ksiss_kobj_unref(o);

    json_decref(other);
    json_decref(svc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_keeps_the_fields_and_parses_back_equal),
        cmocka_unit_test(test_map_puts_replaces_deletes_and_lists_sorted),
        cmocka_unit_test(test_packed_records_parse_back_equal_and_are_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
