/* kube_object.h: an API object as the informer caches keep it: its compact
 * JSON text in one allocation with the few fields the control loop reads
 * for every object every tick (key, name, labels it indexes by, phase),
 * so that a cache of 10,000s of objects costs their text, not a tree of
 * JSON values; the tree is parsed back only where one object is needed. */
#ifndef KSISS_KUBE_OBJECT_H
#define KSISS_KUBE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <zlib.h>

typedef struct ksiss_kdict ksiss_kdict;     /* a packing dictionary (reference counted) */

typedef struct {
    int refs;                   /* atomic; the object is read-only once made */
    const char *key;            /* "namespace/name", or "name" when cluster-scoped */
    const char *ns;             /* metadata.namespace, NULL when cluster-scoped */
    const char *name;           /* metadata.name */
    const char *rv;             /* metadata.resourceVersion, NULL when absent */
    const char *service;        /* label serving.knative.dev/service, NULL when absent */
    const char *phase;          /* status.phase (pods), NULL when absent */
    const char *ready_revision; /* status.latestReadyRevisionName (Knative Services), NULL when absent */
    ksiss_kdict *dict;          /* NULL: text is the JSON itself (NUL-terminated); else text is that JSON
                                   deflated against this dictionary */
    size_t len;                 /* of the JSON, without its NUL */
    size_t stored;              /* bytes of text */
    char text[];                /* the JSON (packed or not), then the strings above */
} ksiss_kobj;

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

/* The record's JSON text (caller frees), or NULL when it cannot be
 * unpacked (a corrupt record: cannot happen for one made here). */
char *ksiss_kobj_text(const ksiss_kobj *o);


ksiss_kobj *ksiss_kobj_ref(ksiss_kobj *o);      /* NULL ok; returns o */
void ksiss_kobj_unref(ksiss_kobj *o);           /* NULL ok */

/* The object as JSON (a new reference the caller owns and may modify),
 * or NULL (o NULL, or its text does not parse, which cannot happen for a
 * record made by ksiss_kobj_new). */
json_t *ksiss_kobj_parse(const ksiss_kobj *o);

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
