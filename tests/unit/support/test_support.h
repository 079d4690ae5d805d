/* test_support.h: helpers shared by the unit tests (linked into every
 * tests/unit/test_*.c binary by the Makefile). */
#ifndef KSISS_TEST_SUPPORT_H
#define KSISS_TEST_SUPPORT_H

#include <jansson.h>

/* Loads the JSON fixture `dir`/`name` (or `name` alone when dir is NULL);
 * fails the running test with the file, line and parser message when it
 * cannot. Caller owns the result (json_decref). */
json_t *test_load_json(const char *dir, const char *name);

#endif
