/* logfmt.h: a strict reader of K-SISS's log lines (the format of
 * src/shell/log.h), written apart from the writer so that each checks the
 * other: test_log.c decodes what the writer wrote, and tests/logfmt_check.c
 * (the e2e suites' checker) validates every line a run logged. Linked into
 * every unit test and into logfmt_check. */
#ifndef KSISS_TEST_LOGFMT_H
#define KSISS_TEST_LOGFMT_H

#include <stddef.h>

typedef struct {
    char *key;
    char *value;        /* decoded: escapes undone */
    size_t value_len;   /* may hold NUL bytes (\x00) */
} logfmt_pair;

typedef struct {
    logfmt_pair *pairs;
    size_t n;
} logfmt_line;

/* Reads one line (len bytes, without its newline). A valid line is
 *   ts=YYYY-MM-DDTHH:MM:SS.mmmZ level=(debug|info|warn|error) msg=V( K=V)*
 * with single spaces between pairs, keys [A-Za-z0-9_.-]+ used once each,
 * values bare (printable ASCII but `"`, `=`, `\`) or quoted (printable
 * ASCII, valid UTF-8 other than C1 controls, and the escapes \" \\ \n \r
 * \t \xNN), and at most 65535 bytes in all. Returns NULL when valid (then
 * fills *out when out is non-NULL: free with logfmt_line_free), else what
 * is wrong, with *at set to the byte offset where it was seen. */
const char *logfmt_parse(const char *line, size_t len, logfmt_line *out, size_t *at);
void logfmt_line_free(logfmt_line *l);

/* The decoded value of key in l, or NULL. */
const logfmt_pair *logfmt_get(const logfmt_line *l, const char *key);

#endif
