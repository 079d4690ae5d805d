/* kube_object.h: an API object as the informer caches keep it: its compact
 * JSON text in one allocation with the few fields the control loop reads
 * for every object every tick (key, name, labels it indexes by, phase),
 * so that a cache of 10,000s of objects costs their text, not a tree of
 * JSON values; the tree is parsed back only where one object is needed. */
#ifndef KSISS_KUBE_OBJECT_H
#define KSISS_KUBE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <zlib.h>

typedef struct ksiss_kdict ksiss_kdict;     /* a packing dictionary (reference counted) */

/* The strings a record keeps besides its key (ksiss_kobj_str). */
typedef enum {
    KSISS_KOBJ_NS,              /* metadata.namespace, NULL when cluster-scoped */
    KSISS_KOBJ_NAME,            /* metadata.name */
    KSISS_KOBJ_RV,              /* metadata.resourceVersion, NULL when absent */
    KSISS_KOBJ_SERVICE,         /* label serving.knative.dev/service, NULL when absent */
    KSISS_KOBJ_PHASE,           /* status.phase (pods), NULL when absent */
    KSISS_KOBJ_READY_REVISION,  /* status.latestReadyRevisionName (Knative Services), NULL when absent */
    KSISS_KOBJ_NSTR
} ksiss_kobj_field;

#define KSISS_KOBJ_ABSENT UINT16_MAX

/* A 32-byte header (tens of thousands of records): the strings are found
 * by 16-bit offsets from the end of the text, the key at offset 0. */
typedef struct {
    int refs;                   /* atomic; the object is read-only once made */
    uint32_t len;               /* of the JSON, without its NUL */
    uint32_t stored;            /* bytes of text */
    uint16_t off[KSISS_KOBJ_NSTR];  /* each string's offset after the key, KSISS_KOBJ_ABSENT: none */
    ksiss_kdict *dict;          /* NULL: text is the JSON itself (NUL-terminated); else text is that JSON
                                   deflated against this dictionary */
    char text[];                /* the JSON (packed or not), then the key and the strings present */
} ksiss_kobj;

/* "namespace/name", or "name" when cluster-scoped. */
static inline const char *ksiss_kobj_key(const ksiss_kobj *o)
{
    return o->text + o->stored;
}

/* One of the strings (ksiss_kobj_field), or NULL when absent. */
static inline const char *ksiss_kobj_str(const ksiss_kobj *o, ksiss_kobj_field f)
{
    return o->off[f] == KSISS_KOBJ_ABSENT ? NULL : o->text + o->stored + o->off[f];
}

/* Packs records of one kind (one informer thread): raw deflate against a
 * dictionary, the first object it packed. Objects of a kind differ in
 * names and numbers, so a trimmed Knative Service of ~900 bytes keeps
 * ~50. Zero-initialise; free with ksiss_kobj_packer_free (records keep
 * the dictionary alive). */
typedef struct {
    z_stream z;
    bool ready;
    ksiss_kdict *dict;
} ksiss_kobj_packer;

void ksiss_kobj_packer_free(ksiss_kobj_packer *pk);

/* Makes the record of obj (borrowed), refs = 1, its text packed with pk
 * (kept as plain JSON when pk is NULL or packing saves nothing); NULL when
 * obj has no metadata.name or cannot be serialised. */
ksiss_kobj *ksiss_kobj_pack(ksiss_kobj_packer *pk, const json_t *obj);

/* The record's JSON text (caller frees), without metadata.resourceVersion
 * (kept apart), or NULL when it cannot be unpacked (a corrupt record:
 * cannot happen for one made here). */
char *ksiss_kobj_text(const ksiss_kobj *o);


ksiss_kobj *ksiss_kobj_ref(ksiss_kobj *o);      /* NULL ok; returns o */
void ksiss_kobj_unref(ksiss_kobj *o);           /* NULL ok */

/* The object as JSON, its resourceVersion put back (a new reference the
 * caller owns and may modify), or NULL (o NULL, or its text does not
 * parse, which cannot happen for a record made by ksiss_kobj_pack). */
json_t *ksiss_kobj_parse(const ksiss_kobj *o);

/* Whether two records hold the same object content (their text, which
 * leaves the resourceVersion out), packed against the same dictionary. */
bool ksiss_kobj_same_content(const ksiss_kobj *a, const ksiss_kobj *b);

/* Bytes the record takes (its one allocation), for accounting. */
size_t ksiss_kobj_size(const ksiss_kobj *o);

/* n records with one reference each (what informer listings return). */
typedef struct {
    ksiss_kobj **v;
    size_t n;
} ksiss_kobj_list;

void ksiss_kobj_list_free(ksiss_kobj_list *l);  /* drops each reference; zeroes l */

/* A JSON array of the parsed objects of l, in order (new reference). */
json_t *ksiss_kobj_list_parse(const ksiss_kobj_list *l);

/* A set of records keyed by their key (open addressing; the map holds one
 * reference to each record it contains). */
typedef struct {
    ksiss_kobj **slots;
    size_t cap;                 /* a power of two, or 0 */
    size_t n;
} ksiss_kobj_map;

void ksiss_kobj_map_clear(ksiss_kobj_map *m);   /* drops every record; the map is empty and reusable */
ksiss_kobj *ksiss_kobj_map_get(const ksiss_kobj_map *m, const char *key);     /* borrowed, or NULL */
/* Stores o (taking the caller's reference) in place of the record with
 * the same key, whose reference is returned (NULL when none). */
ksiss_kobj *ksiss_kobj_map_put(ksiss_kobj_map *m, ksiss_kobj *o);
/* Removes the record with key and returns its reference, or NULL. */
ksiss_kobj *ksiss_kobj_map_del(ksiss_kobj_map *m, const char *key);
/* The records sorted by key, each with a new reference. */
ksiss_kobj_list ksiss_kobj_map_list(const ksiss_kobj_map *m);

#endif
