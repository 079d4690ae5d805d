/* json_arena.h: scoped bump allocation for the jansson values of a parse
 * that is dropped in one place (a LIST page, a Prometheus answer). Their
 * thousands of small allocations come from mmap'd chunks given back whole
 * at the end of the scope, instead of being spread over malloc's arenas
 * between the long-lived records made from them (at 10,000 services, the
 * first LISTs left ~17 MB of holes in the heap). */
#ifndef KSISS_JSON_ARENA_H
#define KSISS_JSON_ARENA_H

#include <stddef.h>

typedef struct ksiss_json_arena_chunk ksiss_json_arena_chunk;

typedef struct ksiss_json_arena {
    ksiss_json_arena_chunk *chunks;     /* in the order they were mapped */
    ksiss_json_arena_chunk *cur;        /* the one allocations come from */
    struct ksiss_json_arena *outer;     /* the scope this one is nested in, or NULL */
    size_t bytes;                       /* handed out so far */
    size_t mapped;                      /* bytes of the chunks mapped */
} ksiss_json_arena;

/* Makes jansson allocate through this module (once per process; begin
 * does it too). Values allocated outside any scope stay plain malloc. */
void ksiss_json_arena_install(void);

/* From begin to end, the jansson values this thread creates come from a.
 * Every such value must be freed (or dropped) before end, on this thread:
 * none may be kept past the scope. So must a string jansson returns
 * (json_dumps): it is the scope's memory, never to be given to free().
 * Scopes nest. */
void ksiss_json_arena_begin(ksiss_json_arena *a);
void ksiss_json_arena_end(ksiss_json_arena *a);

/* Every value of the scope is dead (as at end): its memory is reused by
 * the next values, without giving it back and faulting it in again (one
 * LIST's pages, one after the other). */
void ksiss_json_arena_reset(ksiss_json_arena *a);

#endif
