/* env.c: the process environment for the core's parsers (see env.h). */
#include "shell/env.h"

#include <stdlib.h>

const char *ksiss_process_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}
