/* cli_common.c: helpers shared by the commands: --help detection, reading
 * a file with a size cap, and `ksiss version`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"

bool ksiss_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

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

int ksiss_cmd_version(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        printf("usage: ksiss version\nprints the version and git revision\n");
        return KSISS_EXIT_OK;
    }
    printf("ksiss %s (%s)\n", KSISS_VERSION, KSISS_GIT_REV);
    return KSISS_EXIT_OK;
}
