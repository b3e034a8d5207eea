/* berth: parse the global flags, dispatch to the subcommand, print the
 * error (the only place that does) and exit with its code. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/store.h"

static void usage(void)
{
    printf("Manage pods, containers and images without a daemon or root\n\n"
           "Usage:\n  berth [options] COMMAND\n\nAvailable Commands:\n");
    for (const struct cli_command *c = berth_commands; c->name; c++)
        if (c->summary)
            printf("  %-12s %s\n", c->name, c->summary);
    printf("\nOptions:\n"
           "      --log-level string        Log messages above specified "
           "level (trace, debug, info, warn, error, fatal, panic)\n"
           "      --root string             Path to the root directory in "
           "which data, including images, is stored\n"
           "      --runroot string          Path to the 'run directory' "
           "where all state information is stored\n"
           "      --storage-driver string   Select which storage driver is "
           "used to manage storage of images and containers (overlay, vfs)\n"
           "  -h, --help                    Help for berth\n"
           "  -v, --version                 Version for berth\n");
}

static const char *const log_levels[] = {"trace", "debug", "info", "warn",
                                         "warning", "error", "fatal", "panic",
                                         NULL};

/* Global flags stop at the first non-flag argument: the command. */
static int parse_global(struct cli_global *g, int argc, char **argv,
                        int *ret_idx, berth_error_t *err)
{
    static const struct cli_command root = {"berth", NULL, "COMMAND", "berth",
                                            NULL, NULL};
    bool version = false, help = false;
    /* our own "help" entry: cli_parse would print a generic command help */
    const struct cli_opt opts[] = {
        {"help", 'h', CLI_BOOL, &help, NULL, "Help for berth"},
        {"root", 0, CLI_STRING, &g->root, "string", "storage root"},
        {"runroot", 0, CLI_STRING, &g->runroot, "string", "run root"},
        {"storage-driver", 0, CLI_STRING, &g->storage_driver, "string",
         "storage driver"},
        {"log-level", 0, CLI_STRING, &g->log_level, "string", "log level"},
        {"version", 'v', CLI_BOOL, &version, NULL, "version"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    int optind = 0;
    int r = cli_parse(&root, opts, argc, argv, true, &optind, err);
    if (r < 0)
        return -1;
    if (help || version) {
        if (help)
            usage();
        else
            printf("berth version %s\n", BERTH_VERSION);
        *ret_idx = -1;
        return 0;
    }
    if (g->log_level && !strv_contains((char **)log_levels, g->log_level))
        return berth_error_new(err, 0, "invalid log level \"%s\"",
                               g->log_level);
    *ret_idx = optind;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli_global g = {0};
    berth_error_t err = NULL;
    int idx = 0, ret;

    if (parse_global(&g, argc, argv, &idx, &err) < 0) {
        ret = -1;
        goto out;
    }
    if (idx < 0) {
        ret = 0;
        goto out;
    }
    if (idx >= argc) {
        usage();
        ret = berth_error_new(&err, 0, "missing command 'berth COMMAND'");
        goto out;
    }
    if (strcmp(argv[idx], "help") == 0) {
        if (idx + 1 >= argc) {
            usage();
            ret = 0;
            goto out;
        }
        /* "berth help image ls" == "berth image ls --help" */
        int n = argc - idx - 1;
        char **v = xcalloc((size_t)n + 2, sizeof(char *));
        for (int i = 0; i < n; i++)
            v[i] = argv[idx + 1 + i];
        v[n] = (char *)"--help";
        ret = cli_dispatch(berth_commands, "berth", &g, n + 1, v, &err);
        free(v);
        goto out;
    }
    ret = cli_dispatch(berth_commands, "berth", &g, argc - idx, argv + idx,
                       &err);
out:
    store_free(g.store);
    free(g.root);
    free(g.runroot);
    free(g.storage_driver);
    free(g.log_level);
    if (ret < 0) {
        if (err == NULL) {
            /* crun PRs #1774, #1872: a failure without an error is a bug */
            fprintf(stderr, "Error: internal error: failure without a "
                            "message\n");
            return 125;
        }
        fprintf(stderr, "Error: %s\n", err->msg);
        ret = err->exit_code;
        berth_error_free(&err);
    }
    fflush(stdout);
    return ret;
}
