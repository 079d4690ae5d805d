/* cmd_explain.c: `ksiss explain` (not implemented yet: owned by its issue). */
#include <stdio.h>

#include "cli/cli.h"

int ksiss_cmd_explain(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ksiss explain: not implemented yet\n");
    return KSISS_EXIT_RUNTIME;
}
