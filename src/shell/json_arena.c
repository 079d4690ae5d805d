/* json_arena.c: scoped bump allocation for jansson values (json_arena.h).
 * jansson's allocator is process-wide (json_set_alloc_funcs); the scope is
 * per thread: outside one, jansson gets malloc and free unchanged. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <jansson.h>

#include "shell/json_arena.h"

#define CHUNK_BYTES (1024 * 1024)     /* a few per LIST page: frees check few ranges */
#define ALIGN 16

struct ksiss_json_arena_chunk {
    ksiss_json_arena_chunk *next;
    size_t size;        /* bytes of data */
    size_t used;
    size_t pad;         /* keeps data 16-byte aligned */
    unsigned char data[];
};

static _Thread_local ksiss_json_arena *current;

static void *arena_malloc(size_t n)
{
    ksiss_json_arena *a = current;
    if (!a)
        return malloc(n);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    /* The chunks in use are a->chunks up to a->cur; after a reset the
     * next ones are reused before any new one is mapped. */
    ksiss_json_arena_chunk *c = a->cur;
    while (c && c->size - c->used < n && c->next)
        c = c->next;
    if (!c || c->size - c->used < n) {
        size_t want = sizeof(*c) + n > CHUNK_BYTES ? sizeof(*c) + n : CHUNK_BYTES;
        void *m = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return malloc(n);   /* freed by free() below: it is in no chunk */
        ksiss_json_arena_chunk *nc = m;
        a->mapped += want;
        nc->size = want - sizeof(*nc);
        nc->used = 0;
        nc->next = NULL;
        if (c)
            c->next = nc;
        else
            a->chunks = nc;
        c = nc;
    }
    a->cur = c;
    void *p = c->data + c->used;
    c->used += n;
    a->bytes += n;
    return p;
}

/* A value of a scope of this thread is freed with its scope; anything
 * else was malloc'd. */
static void arena_free(void *p)
{
    if (!p)
        return;
    for (ksiss_json_arena *a = current; a; a = a->outer)
        for (ksiss_json_arena_chunk *c = a->chunks; c; c = c->next)
            if ((unsigned char *)p >= c->data && (unsigned char *)p < c->data + c->size)
                return;
    free(p);
}

static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void install(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void ksiss_json_arena_install(void)
{
    pthread_once(&installed, install);
}

void ksiss_json_arena_begin(ksiss_json_arena *a)
{
    ksiss_json_arena_install();
    a->chunks = NULL;
    a->cur = NULL;
    a->mapped = 0;
    a->bytes = 0;
    a->outer = current;
    current = a;
}

void ksiss_json_arena_reset(ksiss_json_arena *a)
{
    for (ksiss_json_arena_chunk *c = a->chunks; c; c = c->next)
        c->used = 0;
    a->cur = a->chunks;
}

void ksiss_json_arena_end(ksiss_json_arena *a)
{
    current = a->outer;
    for (ksiss_json_arena_chunk *c = a->chunks, *next; c; c = next) {
        next = c->next;
        munmap(c, sizeof(*c) + c->size);
    }
    a->chunks = NULL;
}
