/* main.c: the `ksiss` entry point: dispatches to one command per file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "shell/json_arena.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"check-config", ksiss_cmd_check_config, "validate a ConfigMap / config file and print its normalized form"},
    {"tiers", ksiss_cmd_tiers, "list the GPU tier catalogue and ladders"},
    {"query", ksiss_cmd_query, "read a service's metrics from Prometheus now"},
    {"run", ksiss_cmd_run, "run the autoscaler (controller)"},
    {"explain", ksiss_cmd_explain, "show a service's state and the decision it would get now"},
    {"simulate", ksiss_cmd_simulate, "replay a request trace through the policies"},
    {"version", ksiss_cmd_version, "print the version"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ksiss <command> [options]\n\ncommands:\n");
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-13s %s\n", c->name, c->summary);
    fprintf(out, "  %-13s %s\n", "help", "this text");
    fprintf(out, "\n`ksiss <command> --help` describes a command.\n"
                 "exit codes: 0 ok, 1 problem found, 2 usage error, 3 runtime failure\n");
}

int main(int argc, char **argv)
{
    /* jansson's allocator set before any thread or value exists. */
    ksiss_json_arena_install();
    if (argc < 2) {
        usage(stderr);
        return KSISS_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return KSISS_EXIT_OK;
    }
    if (!strcmp(name, "--version"))
        name = "version";
    for (const command *c = commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "ksiss: unknown command '%s'\n", name);
    usage(stderr);
    return KSISS_EXIT_USAGE;
}
