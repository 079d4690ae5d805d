/* trace.h: request traces for the simulator. Parses, from a buffer, the
 * Azure LLM inference trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`;
 * timestamps as the 2023 traces write them, `2023-11-16 18:15:46.6805900`,
 * or the 2024 week-long ones, `2024-05-12 00:00:00.001163+00:00`),
 * BurstGPT's CSV (`Timestamp` in seconds, `Request tokens`, `Response
 * tokens`; a 0 response is a failed request, skipped and counted) and JSON
 * lines (`timestamp` ms, `input_length`, `output_length`, as the Mooncake
 * traces). Pure: no I/O; bad lines become positioned diagnostics. */
#ifndef KSISS_TRACE_H
#define KSISS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

/* Limits on one request: larger values are reported as bad lines (no model
 * context is that long, and they would overflow the model's counters). */
#define KSISS_TRACE_MAX_TOKENS 10000000
/* At most this many bad lines are reported one by one; the rest are counted. */
#define KSISS_TRACE_MAX_REPORTED 20

typedef struct {
    int64_t t_ms;           /* arrival, ms after the trace's first request */
    int32_t in_tokens;      /* prompt tokens, >= 1 */
    int32_t out_tokens;     /* generated tokens, >= 1 */
} ksiss_request;

typedef struct {
    ksiss_request *v;       /* owned, sorted by t_ms (stable for equal times) */
    size_t n;
    size_t lines;           /* data lines seen (header and blank lines excluded) */
    size_t bad_lines;       /* lines skipped as malformed */
    size_t failed;          /* BurstGPT: failed requests (0 response tokens) skipped, not bad */
    int64_t start_epoch_ms; /* absolute time of the first request (CSV: UTC; JSON: as given) */
} ksiss_trace;

typedef enum {
    KSISS_TRACE_AUTO = 0,   /* JSON lines when the first non-blank line starts with '{', else CSV */
    KSISS_TRACE_CSV,
    KSISS_TRACE_JSONL,
} ksiss_trace_format;

/* Parses `len` bytes of `text` (need not be NUL-terminated; the last line
 * may lack a newline). `file` names the input in diagnostics. Every bad
 * line is skipped and counted; the first KSISS_TRACE_MAX_REPORTED are
 * added to *d as "FILE:LINE: ..." with a note on how many more there were.
 * Returns 0 when the trace is usable, -1 when it is not (no valid request,
 * or more than 10% of its data lines bad); *out must be freed either way. */
int ksiss_trace_parse(const char *text, size_t len, const char *file,
                      ksiss_trace_format fmt, ksiss_trace *out, ksiss_diags *d);

void ksiss_trace_free(ksiss_trace *t);

/* Duration of the trace: last arrival (ms). 0 for an empty trace. */
int64_t ksiss_trace_span_ms(const ksiss_trace *t);

#endif
