/* replay_main.c: a plain main() for the fuzz targets, so that the committed
 * corpus and regression inputs can be replayed without libFuzzer: with the
 * gcc-built library and under valgrind (make fuzz-replay-valgrind). Each
 * argument is a file run once through LLVMFuzzerTestOneInput; a broken
 * invariant aborts, as under libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file; NULL on error (message printed). Caller frees. */
static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        perror(path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        uint8_t *data = read_all(argv[i], &len);
        if (!data) {
            bad = 1;
            continue;
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
    }
    printf("replayed %d inputs\n", argc - 1);
    return bad;
}
