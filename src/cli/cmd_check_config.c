/* cmd_check_config.c: `ksiss check-config` (not implemented yet: owned by its issue). */
#include <stdio.h>

#include "cli/cli.h"

int ksiss_cmd_check_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ksiss check-config: not implemented yet\n");
    return KSISS_EXIT_RUNTIME;
}
