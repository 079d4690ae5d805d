/* cmd_query.c: `ksiss query` (not implemented yet: owned by its issue). */
#include <stdio.h>

#include "cli/cli.h"

int ksiss_cmd_query(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ksiss query: not implemented yet\n");
    return KSISS_EXIT_RUNTIME;
}
