/* strmap.h: a string-keyed hash map (chained, keys copied): the
 * controller's per-service state, and the metrics registry's shared label
 * strings (ksiss_strmap_key gives the stored key to share). */
#ifndef KSISS_STRMAP_H
#define KSISS_STRMAP_H

#include <stddef.h>

/* Keys are copied; values are borrowed pointers (the caller owns them). */
typedef struct ksiss_strmap ksiss_strmap;

ksiss_strmap *ksiss_strmap_new(void);
void ksiss_strmap_free(ksiss_strmap *m);    /* frees the keys, not the values */
void *ksiss_strmap_get(const ksiss_strmap *m, const char *key);
/* Sets key to value (replacing any previous value, which is returned). */
void *ksiss_strmap_put(ksiss_strmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *ksiss_strmap_del(ksiss_strmap *m, const char *key);
size_t ksiss_strmap_size(const ksiss_strmap *m);
/* Calls fn for every entry (any order); fn must not change the map. */
void ksiss_strmap_each(const ksiss_strmap *m, void (*fn)(const char *key, void *value, void *ud), void *ud);

/* The map's own copy of key (valid until key is removed), or NULL. */
const char *ksiss_strmap_key(const ksiss_strmap *m, const char *key);

#endif
