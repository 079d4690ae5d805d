/* yaml_tree.h: a small positioned YAML tree on top of libyaml, shared by
 * the configuration parser, the catalogue extension and the simulator's
 * input files. Every node knows its line and column in the file the user
 * edits (text embedded in a ConfigMap `|` block included, via offsets).
 * Defensive by design: bounded depth and node count, aliases refused (no
 * billion-laughs expansion), duplicate keys reported, libyaml's checks for
 * NUL bytes and invalid UTF-8 kept. Pure: no I/O. */
#ifndef KSISS_YAML_TREE_H
#define KSISS_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

typedef enum { KSISS_Y_SCALAR = 0, KSISS_Y_SEQ, KSISS_Y_MAP } ksiss_ykind;

typedef enum {
    KSISS_YS_PLAIN = 0,
    KSISS_YS_SINGLE,        /* 'single quoted' */
    KSISS_YS_DOUBLE,        /* "double quoted" */
    KSISS_YS_LITERAL,       /* | block */
    KSISS_YS_FOLDED,        /* > block */
} ksiss_ystyle;

typedef struct ksiss_ynode {
    ksiss_ykind kind;
    ksiss_pos pos;              /* start of the node (for a block scalar: its `|` or `>`) */
    char *tag;                  /* explicit tag as written resolved by libyaml, or NULL */
    char *scalar;               /* scalars: the value, NUL-terminated (may contain no NUL: libyaml refuses them) */
    size_t scalar_len;
    ksiss_ystyle style;
    bool quoted;                /* single or double quoted: never null, never a number by YAML's rules */
    /* Block scalars (| and >): where their content sits in the file, so a
     * document embedded in one can be parsed with exact positions: content
     * line k (1-based) is file line block_line + k, column c is file column
     * c + block_indent. 0 for other scalars. */
    int block_line;
    int block_indent;
    struct ksiss_ynode **keys;  /* maps: the keys (scalar nodes), n of them */
    struct ksiss_ynode **items; /* sequences: the items; maps: the values (items[i] belongs to keys[i]) */
    size_t n;
} ksiss_ynode;

/* Limits (generous for configuration files, small enough to stay fast). */
#define KSISS_YAML_MAX_DEPTH 64
#define KSISS_YAML_MAX_NODES 500000

/* Parses every document of `text` (len bytes; need not be NUL-terminated).
 * Positions are 1-based, shifted by line_offset lines and col_offset
 * columns (0 and 0 for a file of its own). *docs receives an array of
 * n_docs roots (owned by the caller: ksiss_ynodes_free). An empty stream
 * gives 0 documents; an empty document a null scalar.
 * Returns 0 when the text is clean; -1 after adding diagnostics to *d:
 * a syntax error, too deep, too many nodes (then *docs is NULL and
 * *n_docs 0), or an alias, a duplicate key, a non-scalar key (then the
 * trees are still returned, with the offending entries left out). */
int ksiss_yaml_parse(const char *text, size_t len, const char *file,
                     int line_offset, int col_offset,
                     ksiss_ynode ***docs, size_t *n_docs, ksiss_diags *d);

/* Frees the documents returned by ksiss_yaml_parse (NULL is fine). */
void ksiss_ynodes_free(ksiss_ynode **docs, size_t n);
void ksiss_ynode_free(ksiss_ynode *node);

/* Value of `key` in a map (NULL when absent or `map` is no map); borrowed. */
const ksiss_ynode *ksiss_ymap_get(const ksiss_ynode *map, const char *key);

/* True for an unquoted empty, `~`, `null`, `Null` or `NULL` scalar. */
bool ksiss_y_is_null(const ksiss_ynode *n);

/* "a mapping", "a list", "a string", "null" (for messages). */
const char *ksiss_y_kind_name(const ksiss_ynode *n);

/* A short, printable, quoted excerpt of a scalar for messages ("\"abc\"",
 * at most ~40 characters, control bytes escaped); caller frees. */
char *ksiss_y_excerpt(const ksiss_ynode *n);

/* Typed getters. Each checks `n` and on a problem adds a diagnostic at
 * n's position "WHAT: expected ..., got ..." (`what` names the field for
 * the user, e.g. `service "gpt2": metric "ttft": slo`) and returns -1;
 * 0 and *out on success. Quoted numbers ("0.5") are accepted.
 *  - string: any scalar that is not null; *out borrowed from the node.
 *  - double: finite number (.inf/.nan and overflow refused).
 *  - int: an integer within [min, max].
 *  - bool: true/false (any case), also yes/no/on/off as YAML 1.1 does.
 *  - duration_ms: "500ms", "30s", "5m", "1h", "1m30s" or a bare number of
 *    seconds; never negative. */
int ksiss_y_string(const ksiss_ynode *n, const char *file, const char *what,
                   const char **out, ksiss_diags *d);
int ksiss_y_double(const ksiss_ynode *n, const char *file, const char *what,
                   double *out, ksiss_diags *d);
int ksiss_y_int(const ksiss_ynode *n, const char *file, const char *what,
                int64_t min, int64_t max, int64_t *out, ksiss_diags *d);
int ksiss_y_bool(const ksiss_ynode *n, const char *file, const char *what,
                 bool *out, ksiss_diags *d);
int ksiss_y_duration_ms(const ksiss_ynode *n, const char *file, const char *what,
                        int64_t *out, ksiss_diags *d);

/* Reports every key of `map` that is not in `allowed` (NULL-terminated) as
 * "WHAT: unknown field \"KEY\" (did you mean \"...\"?; known: ...)".
 * Returns the number of unknown keys. */
size_t ksiss_y_check_keys(const ksiss_ynode *map, const char *file, const char *what,
                          const char *const *allowed, ksiss_diags *d);

/* The entry of `candidates` (NULL-terminated) closest to `word` by edit
 * distance when it is close enough to be a likely typo (case-insensitive,
 * distance <= max(1, len/3)); NULL otherwise. Borrowed. */
const char *ksiss_did_you_mean(const char *word, const char *const *candidates);

#endif
