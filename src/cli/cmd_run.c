/* cmd_run.c: `ksiss run` (not implemented yet: owned by its issue). */
#include <stdio.h>

#include "cli/cli.h"

int ksiss_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ksiss run: not implemented yet\n");
    return KSISS_EXIT_RUNTIME;
}
