/* cli_common.c: helpers shared by the commands: --help detection and
 * `ksiss version` (a file read with a size cap is shell/file.c). */
#include <stdio.h>
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

int ksiss_cmd_version(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        printf("usage: ksiss version\nprints the version and git revision\n");
        return KSISS_EXIT_OK;
    }
    printf("ksiss %s (%s)\n", KSISS_VERSION, KSISS_GIT_REV);
    return KSISS_EXIT_OK;
}
