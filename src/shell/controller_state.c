/* controller_state.c: what `ksiss run` keeps about each managed service
 * across ticks (svc_state: its history, kept reading, last decision
 * logged, series to undo), by name, and its removal once the service is no
 * longer managed. */
#include "shell/controller_internal.h"

#include <stdlib.h>

#include "core/util.h"
#include "shell/log.h"

/* The state of service `name`, made on first sight. */
svc_state *ksiss_ctl_state_get(controller *c, const char *name)
{
    svc_state *st = ksiss_strmap_get(c->states, name);
    if (!st) {
        st = ksiss_xcalloc(1, sizeof(*st));
        st->name = ksiss_xstrdup(name);
        ksiss_history_init(&st->history);
        ksiss_strmap_put(c->states, name, st);
    }
    return st;
}

void ksiss_ctl_state_free(svc_state *st)
{
    ksiss_ctl_memo_clear(&st->memo);
    ksiss_history_free(&st->history);
    free(st->legacy_rev);
    free(st->gpu_event);
    free(st->name);
    ksiss_prompt_tally_free(&st->tally);
    if (st->learn) {
        ksiss_learn_state_free(st->learn);
        free(st->learn);
    }
    free(st);
}

typedef struct {
    controller *c;
    char **gone;
    size_t n, cap;
} forget_ctx;

static void collect_unseen(const char *key, void *value, void *ud)
{
    forget_ctx *f = ud;
    svc_state *st = value;
    pthread_mutex_lock(&f->c->mu);
    bool busy = st->busy;
    pthread_mutex_unlock(&f->c->mu);
    if (st->seen || busy) {
        st->seen = false;
        return;
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->gone = ksiss_xrealloc(f->gone, f->cap * sizeof(*f->gone));
    }
    f->gone[f->n++] = ksiss_xstrdup(key);
}

/* Drops the state (history, metrics) of services no longer managed
 * (deleted, ignored, or gone from the configuration), once idle; clears
 * the `seen` marks for the next tick. */
void ksiss_ctl_states_forget_unseen(controller *c)
{
    forget_ctx f = {.c = c};
    ksiss_strmap_each(c->states, collect_unseen, &f);
    for (size_t i = 0; i < f.n; i++) {
        svc_state *st = ksiss_strmap_del(c->states, f.gone[i]);
        ksiss_log("info", "service no longer managed", "service", st->name, NULL);
        ksiss_controller_forget_service(c->reg, c->ns, st->name, st->legacy_rev);
        ksiss_ctl_state_free(st);
        free(f.gone[i]);
    }
    free(f.gone);
}

static void state_free_cb(const char *key, void *value, void *ud)
{
    (void)key;
    (void)ud;
    ksiss_ctl_state_free(value);
}

void ksiss_ctl_states_free(controller *c)
{
    ksiss_strmap_each(c->states, state_free_cb, NULL);
    ksiss_strmap_free(c->states);
    c->states = NULL;
}
