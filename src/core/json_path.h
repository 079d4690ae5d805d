/* json_path.h: reading a nested field of a jansson value (an API object)
 * without a NULL check at every level. */
#ifndef KSISS_JSON_PATH_H
#define KSISS_JSON_PATH_H

#include <jansson.h>

/* o.a, o.a.b or o.a.b.c (b and c NULL: fewer levels). Borrowed from o;
 * NULL when a level is missing or not an object. */
const json_t *ksiss_json_path(const json_t *o, const char *a, const char *b, const char *c);
/* The string at that path (borrowed), NULL when absent or not a string. */
const char *ksiss_json_str(const json_t *o, const char *a, const char *b, const char *c);

#endif
