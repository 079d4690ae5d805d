/* file.c: a whole file read with a size cap (see file.h). */
#include "shell/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

char *ksiss_read_file(const char *path, size_t max_bytes, size_t *len, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = ksiss_xasprintf("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, max_bytes);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (ksiss_sb_append(&sb, chunk, n) != 0) {
            *err = ksiss_xasprintf("%s: larger than %zu bytes", path, max_bytes);
            fclose(f);
            ksiss_sb_free(&sb);
            return NULL;
        }
    }
    if (ferror(f)) {
        *err = ksiss_xasprintf("%s: read error: %s", path, strerror(errno));
        fclose(f);
        ksiss_sb_free(&sb);
        return NULL;
    }
    fclose(f);
    *len = sb.len;
    return ksiss_sb_take(&sb);
}
