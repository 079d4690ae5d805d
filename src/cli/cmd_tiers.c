/* cmd_tiers.c: `ksiss tiers` (not implemented yet: owned by its issue). */
#include <stdio.h>

#include "cli/cli.h"

int ksiss_cmd_tiers(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ksiss tiers: not implemented yet\n");
    return KSISS_EXIT_RUNTIME;
}
