/* logfmt_check.c: checks that every line of K-SISS logs is a valid log
 * line (the rules of tests/unit/support/logfmt.h, i.e. of src/shell/log.h);
 * the end-to-end suites run it on the autoscaler's logs.
 *   logfmt_check FILE...
 * Prints FILE:LINE: byte B: what is wrong, then the line (control bytes
 * and non-ASCII shown as \xNN, cut at 400 bytes), for every invalid line;
 * a last line that does not end in a newline and a set of files with no
 * line at all are invalid too. Exit 0 when every line is valid, 1 when
 * one is not, 2 when a file cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/support/logfmt.h"

#define SHOW_MAX 400

static void show(const char *line, size_t len)
{
    fputs("    ", stdout);
    for (size_t i = 0; i < len && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c >= 0x20 && c < 0x7f)
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    if (len > SHOW_MAX)
        printf("... (%zu bytes)", len);
    putchar('\n');
}

/* Checks one file; adds to *lines and *bad. Returns -1 when unreadable. */
static int check_file(const char *path, size_t *lines, size_t *bad)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "logfmt_check: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, no = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n;
        no++;
        const char *why = NULL;
        size_t at = 0;
        if (line[len - 1] != '\n') {
            why = "the last line does not end in a newline";
            at = len;
        } else {
            len--;
            why = logfmt_parse(line, len, NULL, &at);
        }
        if (why) {
            (*bad)++;
            printf("%s:%zu: byte %zu: %s\n", path, no, at, why);
            show(line, len);
        }
    }
    int rc = ferror(f) ? -1 : 0;
    if (rc)
        fprintf(stderr, "logfmt_check: cannot read %s\n", path);
    free(line);
    fclose(f);
    *lines += no;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs("usage: logfmt_check FILE...  (every line must be a K-SISS log line)\n", argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    size_t lines = 0, bad = 0;
    int unreadable = 0;
    for (int i = 1; i < argc; i++)
        if (check_file(argv[i], &lines, &bad) < 0)
            unreadable = 1;
    if (unreadable)
        return 2;
    if (lines == 0) {
        printf("logfmt_check: no line at all in %d file(s): nothing was logged\n", argc - 1);
        return 1;
    }
    if (bad) {
        printf("logfmt_check: %zu of %zu lines are not valid log lines\n", bad, lines);
        return 1;
    }
    printf("logfmt_check: %zu lines in %d file(s), all valid\n", lines, argc - 1);
    return 0;
}
