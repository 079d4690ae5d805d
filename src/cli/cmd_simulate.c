/* cmd_simulate.c: `ksiss simulate` (not implemented yet: owned by its issue). */
#include <stdio.h>

#include "cli/cli.h"

int ksiss_cmd_simulate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ksiss simulate: not implemented yet\n");
    return KSISS_EXIT_RUNTIME;
}
