/* promql.h: the pure PromQL text work behind the fetcher: filling the
 * placeholders of a user's query with escaping (no name can change the
 * query), the batching rewrite (one query for all pods of a service instead
 * of one per pod), and turning a result vector into per-pod values and an
 * aggregate. No I/O: the shell (src/shell/prom_client.c) sends what this builds. */
#ifndef KSISS_PROMQL_H
#define KSISS_PROMQL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

/* Values for the placeholders. Placeholders: `%s` and `{pod}` (the pod),
 * `{service}`, `{namespace}`, `{revision}`; outside a string `%s` is one
 * only as the whole value of a label matcher (`{pod=%s}`), elsewhere it is
 * the modulo operator before a name (`sum(a)%sum(b)`). All borrowed; NULL when unknown
 * (a query that uses an unknown one is refused with a message). */
typedef struct {
    const char *pod;
    const char *service;
    const char *namespace_name;
    const char *revision;
} ksiss_promql_vars;

/* Placeholder bits, as returned by ksiss_promql_placeholders. */
#define KSISS_PROMQL_PH_POD       1u
#define KSISS_PROMQL_PH_SERVICE   2u
#define KSISS_PROMQL_PH_NAMESPACE 4u
#define KSISS_PROMQL_PH_REVISION  8u

/* Which placeholders the query uses outside comments (inside strings or
 * bare), as a mask of KSISS_PROMQL_PH_* bits. */
unsigned ksiss_promql_placeholders(const char *query);

/* True when the query uses the pod placeholder (`%s` or `{pod}`) anywhere
 * outside comments: such a query is read per pod. */
bool ksiss_promql_uses_pod(const char *query);

/* Fills every placeholder. Inside a quoted string the value is escaped for
 * that quote ("..." and '...': backslash escapes, control and non-ASCII
 * bytes as \xHH; `...`: refused when the value holds a backquote); after
 * `=~`/`!~` it is also regex-escaped so it matches itself literally.
 * Outside strings the value goes in as a complete "..." string literal.
 * Placeholders in # comments are left alone. Returns the new query (caller
 * frees), or NULL with a message in *err (caller frees) for an unterminated
 * string, a placeholder whose value is NULL, or an unplaceable value. */
char *ksiss_promql_fill(const char *query, const ksiss_promql_vars *v, char **err);

/* The BATCHING rewrite. A per-pod query is batched when (documented in
 * docs/prometheus.md):
 *   - the pod placeholder appears only as the whole value of equality
 *     matchers `L="%s"` / `L="{pod}"`, all with the same label name L;
 *   - every series selector in the query carries that matcher (so every
 *     series the query reads belongs to one pod);
 *   - aggregations are among sum min max avg group stddev stdvar count
 *     quantile; those without a modifier get `by (L)`, a `by (...)` list
 *     gets L added, a `without (...)` list must not name L;
 *   - binary operators' `on (...)` lists name L and `ignoring (...)` lists
 *     do not;
 *   - no function that rewrites or drops labels (label_replace,
 *     label_join, absent, absent_over_time, scalar, vector, sort_by_label,
 *     sort_by_label_desc, info) and no topk bottomk count_values limitk
 *     limit_ratio.
 * Then each pod matcher becomes `L=~"<p1>|<p2>|..."` (names regex-escaped)
 * and the result vector has one sample per pod, told apart by label L.
 * Other placeholders are filled as by ksiss_promql_fill (v->pod ignored).
 * Returns 1 and sets *out_query and *out_label (caller frees both) when
 * batched; 0 with *why_not (caller frees) when the shape is not batchable
 * (read per pod then); -1 with *why_not for an invalid query or value.
 * n_pods must be >= 1. */
int ksiss_promql_batch(const char *query, const ksiss_promql_vars *v,
                       const char *const *pods, size_t n_pods,
                       char **out_query, char **out_label, char **why_not);

/* The same rewrite keyed on another placeholder, for batching ACROSS
 * services: `key` is one KSISS_PROMQL_PH_* bit (POD, SERVICE or REVISION);
 * the rules above apply with that placeholder in place of the pod's, and
 * its matchers become `L=~"<v1>|<v2>|..."` over `values` (regex-escaped).
 * The other placeholders are filled from v, whose field for the key is
 * ignored. ksiss_promql_batch(...) is this with key POD. Same returns. */
int ksiss_promql_batch_keyed(const char *query, const ksiss_promql_vars *v, unsigned key,
                             const char *const *values, size_t n_values,
                             char **out_query, char **out_label, char **why_not);

/* Escapes s for a "..." PromQL string literal (without the quotes) or, when
 * regex is true, so that the RE2 regex matches s literally. Caller frees. */
char *ksiss_promql_escape(const char *s, bool regex);

/* A token-kind signature of the query ("ident { ident = str } ..."), for
 * tests that prove a filled name did not change the query's structure.
 * NULL with *err for an unlexable query. Caller frees. */
char *ksiss_promql_shape(const char *query, char **err);

/* Decodes the n-th string literal of the query (0-based) into *out (caller
 * frees). Returns 0, or -1 when there is no such literal. For tests. */
int ksiss_promql_string_at(const char *query, size_t n, char **out);

/* ---- results ---- */

/* One sample of a result vector: the value of the label that tells pods
 * apart (NULL when absent) and its value as Prometheus wrote it (NaN and
 * infinities included). */
typedef struct {
    const char *pod;        /* borrowed */
    double value;
    const char *le;         /* the `le` label of a histogram's bucket, NULL when absent; borrowed */
} ksiss_promql_sample;

/* One pod's reading. */
typedef struct {
    bool present;
    double value;
    const char *why_missing;    /* static text when !present */
} ksiss_pod_value;

/* Spreads samples over pods[] (matched by exact name). A pod with several
 * samples gets them combined by `agg`; non-finite samples are ignored
 * unless nothing else is left (then "NaN"/"+Inf"/"-Inf"); a pod with none
 * is "no sample for this pod". Samples naming no known pod are ignored.
 * out has n_pods entries. */
void ksiss_promql_spread(const ksiss_promql_sample *s, size_t n,
                         const char *const *pods, size_t n_pods,
                         ksiss_aggregate agg, ksiss_pod_value *out);

/* Combines values (all samples of a service-level query, or the pods'
 * readings) by `agg` over the present, finite ones. Returns the reading;
 * not present ("no usable value" reasons as static text) when none is. */
ksiss_pod_value ksiss_promql_combine(const ksiss_pod_value *v, size_t n, ksiss_aggregate agg);

/* "NaN", "+Inf", "-Inf" or NULL for a finite value (static text). */
const char *ksiss_promql_nonfinite_why(double value);

#endif
