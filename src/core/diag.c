/* diag.c: the positioned diagnostics list (see diag.h). */
#include "core/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void ksiss_diags_init(ksiss_diags *d)
{
    memset(d, 0, sizeof(*d));
}

void ksiss_diags_add(ksiss_diags *d, const char *file, ksiss_pos pos, const char *fmt, ...)
{
    if (d->n >= KSISS_DIAGS_MAX) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->v = ksiss_xrealloc(d->v, d->cap * sizeof(*d->v));
    }
    va_list ap;
    va_start(ap, fmt);
    d->v[d->n].msg = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    d->v[d->n].file = ksiss_xstrdup(file ? file : "");
    d->v[d->n].pos = pos;
    d->n++;
}

char *ksiss_diag_format(const ksiss_diag *e)
{
    if (e->pos.line > 0 && e->pos.col > 0)
        return ksiss_xasprintf("%s:%d:%d: %s", e->file, e->pos.line, e->pos.col, e->msg);
    if (e->pos.line > 0)
        return ksiss_xasprintf("%s:%d: %s", e->file, e->pos.line, e->msg);
    if (e->file[0])
        return ksiss_xasprintf("%s: %s", e->file, e->msg);
    return ksiss_xstrdup(e->msg);
}

void ksiss_diags_free(ksiss_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
    }
    free(d->v);
    ksiss_diags_init(d);
}
