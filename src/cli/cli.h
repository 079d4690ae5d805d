/* cli.h: the ksiss command-line front end. Each command lives in its own
 * src/cli/cmd_<name>.c and returns the process exit code
 * (shell/exit_codes.h). */
#ifndef KSISS_CLI_H
#define KSISS_CLI_H

#include <stdbool.h>

#include "shell/exit_codes.h"
#include "shell/file.h"

int ksiss_cmd_version(int argc, char **argv);
int ksiss_cmd_check_config(int argc, char **argv);
int ksiss_cmd_tiers(int argc, char **argv);
int ksiss_cmd_query(int argc, char **argv);
int ksiss_cmd_run(int argc, char **argv);
int ksiss_cmd_explain(int argc, char **argv);
int ksiss_cmd_simulate(int argc, char **argv);

/* True when argv holds -h or --help (commands print their usage then). */
bool ksiss_cli_wants_help(int argc, char **argv);


#endif
