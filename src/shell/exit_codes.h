/* exit_codes.h: the process exit codes of every ksiss command, `ksiss run`'s
 * control loop (shell/controller.c) included:
 * 0 success, 1 the command ran and found a problem (invalid config, metric
 * unreadable, ...), 2 usage error, 3 runtime failure (cannot reach a server,
 * cannot read a file). */
#ifndef KSISS_EXIT_CODES_H
#define KSISS_EXIT_CODES_H

enum { KSISS_EXIT_OK = 0, KSISS_EXIT_PROBLEM = 1, KSISS_EXIT_USAGE = 2, KSISS_EXIT_RUNTIME = 3 };

#endif
