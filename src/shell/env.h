/* env.h: the process environment as the core's parsers read it: the core
 * reads no globals, so ksiss_env_parse and ksiss_prom_opts_from_env take a
 * lookup function; this is the one that reads getenv. */
#ifndef KSISS_SHELL_ENV_H
#define KSISS_SHELL_ENV_H

/* A ksiss_getenv_fn (core/config.h) over getenv(3); ctx is unused. */
const char *ksiss_process_getenv(const char *name, void *ctx);

#endif
