/* diag.h: positioned diagnostics ("FILE:LINE:COLUMN: message"). The core
 * collects every problem it finds into a ksiss_diags list instead of
 * printing or stopping at the first; the shell decides how to show them. */
#ifndef KSISS_DIAG_H
#define KSISS_DIAG_H

#include <stddef.h>

/* 1-based line and column in the file the user edits; 0 = unknown. */
typedef struct {
    int line;
    int col;
} ksiss_pos;

typedef struct {
    char *file;     /* owned */
    ksiss_pos pos;
    char *msg;      /* owned */
} ksiss_diag;

typedef struct {
    ksiss_diag *v;
    size_t n;
    size_t cap;
    size_t dropped;     /* diagnostics beyond KSISS_DIAGS_MAX, counted only */
} ksiss_diags;

#define KSISS_DIAGS_MAX 1000

void ksiss_diags_init(ksiss_diags *d);
void ksiss_diags_add(ksiss_diags *d, const char *file, ksiss_pos pos,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Formats entry i as "FILE:LINE:COLUMN: message" (position parts omitted
 * when unknown). Caller frees. */
char *ksiss_diag_format(const ksiss_diag *e);
void ksiss_diags_free(ksiss_diags *d);

#endif
