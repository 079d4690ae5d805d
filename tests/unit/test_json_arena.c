/* test_json_arena.c: scoped bump allocation of jansson values
 * (src/shell/json_arena.c): values made in a scope work and go with it,
 * values made outside may be freed inside (and the reverse order of
 * nesting), large values get a chunk of their own, a reset scope reuses
 * its memory, and outside any scope jansson allocates as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "shell/json_arena.h"

static void test_values_of_a_scope_are_usable_until_its_end(void **state)
{
    (void)state;
    ksiss_json_arena a;
    ksiss_json_arena_begin(&a);
    json_t *v = json_loads("{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}", 0, NULL);
    assert_non_null(v);
    assert_true(a.bytes > 0);
    json_t *items = json_object_get(v, "items");
    assert_int_equal(json_array_size(items), 2);
    json_object_set_new(json_array_get(items, 1), "x", json_integer(7));
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"},\"x\":7}]}");
    /* json_dumps' string comes from the scope too: it goes with it (never
     * free() it). */
    json_decref(v);
    ksiss_json_arena_end(&a);
}

static void test_values_from_outside_are_freed_normally_inside(void **state)
{
    (void)state;
    json_t *outside = json_pack("{s:s, s:[i,i]}", "k", "a string long enough to be its own allocation", "n", 1, 2);
    ksiss_json_arena a;
    ksiss_json_arena_begin(&a);
    size_t before = a.bytes;
    json_object_del(outside, "n");      /* the array (malloc'd) freed inside the scope */
    assert_int_equal(a.bytes, before);
    ksiss_json_arena_end(&a);
    assert_string_equal(json_string_value(json_object_get(outside, "k")),
                        "a string long enough to be its own allocation");
    json_decref(outside);
}

static void test_scopes_nest_and_large_values_get_their_own_chunk(void **state)
{
    (void)state;
    ksiss_json_arena outer, inner;
    ksiss_json_arena_begin(&outer);
    json_t *o = json_object();
    ksiss_json_arena_begin(&inner);
    size_t big = 1024 * 1024;
    char *s = malloc(big + 1);
    memset(s, 'x', big);
    s[big] = '\0';
    json_t *bigv = json_string(s);      /* a 1 MB copy, larger than a chunk */
    free(s);
    assert_non_null(bigv);
    assert_true(inner.bytes >= big);
    assert_int_equal(strlen(json_string_value(bigv)), big);
    json_decref(bigv);
    json_t *inner_o = json_object();
    json_object_set_new(inner_o, "k", json_true());
    json_decref(inner_o);
    ksiss_json_arena_end(&inner);
    json_object_set_new(o, "still", json_string("outer"));   /* back in the outer scope */
    assert_string_equal(json_string_value(json_object_get(o, "still")), "outer");
    assert_true(outer.bytes > 0);
    json_decref(o);
    ksiss_json_arena_end(&outer);
    /* Outside any scope: plain malloc, freed by free. */
    json_t *after = json_pack("{s:i}", "n", 3);
    assert_int_equal(json_integer_value(json_object_get(after, "n")), 3);
    json_decref(after);
}

/* A reset scope reuses its chunks for the next values (a LIST's pages one
 * after the other): nothing new is mapped for a page like the last. */
static void test_a_reset_scope_reuses_its_memory(void **state)
{
    (void)state;
    ksiss_json_arena a;
    ksiss_json_arena_begin(&a);
    size_t mapped = 0;
    for (int page = 0; page < 3; page++) {
        json_t *arr = json_array();
        for (int i = 0; i < 20000; i++)     /* ~2 MB of values: several chunks */
            json_array_append_new(arr, json_pack("{s:i, s:s}", "i", i, "name", "object-with-a-name"));
        assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 19999), "i")), 19999);
        if (page == 0)
            mapped = a.mapped;
        else
            assert_int_equal(a.mapped, mapped);    /* nothing new mapped: the chunks reused */
        assert_true(mapped > 1024 * 1024);
        json_decref(arr);
        ksiss_json_arena_reset(&a);
        assert_ptr_equal(a.cur, a.chunks);
    }
    ksiss_json_arena_end(&a);
    assert_null(a.chunks);
}

int main(void)
{
    ksiss_json_arena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_of_a_scope_are_usable_until_its_end),
        cmocka_unit_test(test_values_from_outside_are_freed_normally_inside),
        cmocka_unit_test(test_scopes_nest_and_large_values_get_their_own_chunk),
        cmocka_unit_test(test_a_reset_scope_reuses_its_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
