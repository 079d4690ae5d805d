/* log.h: the one log of `ksiss run` (and of the shell's warnings in the
 * other commands): logfmt lines on stderr,
 *
 *   ts=2026-12-07T07:05:35.123Z level=info msg="lease acquired" lease=ns/name
 *
 * ts, level and msg always come first, in that order. Every key and value
 * is escaped here, so a caller may pass anything (a Kubernetes error
 * message with quotes, a file's bytes):
 *   - a value is bare when it is a non-empty run of printable ASCII other
 *     than `"`, `=` and `\`; otherwise it is quoted, with `\"`, `\\`, `\n`,
 *     `\r`, `\t`, and `\xNN` for every other control byte, for C1 control
 *     characters and for each byte of invalid UTF-8 (valid UTF-8 stays as
 *     it is);
 *   - a key keeps only [A-Za-z0-9_.-] (anything else becomes `_`), at most
 *     KSISS_LOG_KEY_MAX bytes;
 *   - a line is at most KSISS_LOG_LINE_MAX bytes with its newline and an
 *     escaped value at most KSISS_LOG_VALUE_MAX: a longer value is cut on a
 *     character boundary and closed with `...(truncated, N bytes)"` (N = its
 *     length before escaping); pairs that no longer fit are left out and
 *     counted in a last `dropped_fields=N`.
 * One write(2)-sized fwrite per line under a lock: lines from threads do
 * not interleave. */
#ifndef KSISS_LOG_H
#define KSISS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define KSISS_LOG_LINE_MAX 65536
#define KSISS_LOG_VALUE_MAX 16384
#define KSISS_LOG_KEY_MAX 64

/* Writes one line: level ("info", "warn", "error"), a fixed message (what
 * happened; the variable parts go in pairs), then key/value string pairs
 * ended by NULL. A pair with a NULL value is left out. */
void ksiss_log(const char *level, const char *msg, ...) __attribute__((sentinel));

/* The line ksiss_log writes at wall time now_ms (ms since the epoch), with
 * its newline, into sb (reset first; the caller frees it). kv holds n_kv
 * strings: key, value, key, value... (NULL values left out). */
void ksiss_log_format(ksiss_strbuf *sb, int64_t now_ms, const char *level, const char *msg,
                      const char *const *kv, size_t n_kv);

#endif
