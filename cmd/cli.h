/* The command-line framework: podman-style flags (--flag=value,
 * --flag value, combined short flags -it, -- ends flags), per-command
 * option tables, help text, and the global context every subcommand gets. */
#ifndef BERTH_CMD_CLI_H
#define BERTH_CMD_CLI_H

#include <stdbool.h>

#include "lib/error.h"

struct store;

enum cli_opt_type {
    CLI_BOOL,   /* bool *; --x, --x=true|false */
    CLI_STRING, /* char **; last one wins */
    CLI_STRV,   /* char ***; repeatable, appended */
    CLI_INT,    /* int *; */
    CLI_TRI,    /* int *: -1 unset, 0 false, 1 true (--tls-verify) */
};

struct cli_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 when none */
    enum cli_opt_type type;
    void *target;
    const char *argname; /* shown in help: "string"; NULL for bools */
    const char *help;
};

struct cli_global {
    char *root;
    char *runroot;
    char *storage_driver;
    char *log_level;
    struct store *store; /* opened on first use by cli_store() */
};

struct cli_command {
    const char *name;
    const char *aliases; /* comma-separated, or NULL */
    const char *usage;   /* "[options] IMAGE [IMAGE...]" */
    const char *summary; /* NULL: a hidden command (not in help) */
    /* Returns the exit code (>= 0), or -1 with *err set. */
    int (*run)(struct cli_global *g, int argc, char **argv,
               berth_error_t *err);
    const struct cli_command *subcommands; /* NULL-name terminated */
    /* The full name shown in usage ("image ls") is derived by cli_dispatch */
};

/* Parse argv[1..] (argv[0] is the command name) against opts
 * (NULL-name terminated).  On return *ret_optind is the index of the first
 * positional argument; positional args are moved to the end of argv in
 * order (flags may be interspersed) unless stop_at_positional is set (run,
 * exec: everything after the image is the command).  Returns 1 when --help
 * was given (help printed), 0 on success, -1 on error
 * ("unknown flag: --x"). */
int cli_parse(const struct cli_command *cmd, const struct cli_opt *opts,
              int argc, char **argv, bool stop_at_positional,
              int *ret_optind, berth_error_t *err);
void cli_print_help(const struct cli_command *cmd, const struct cli_opt *opts);
/* Dispatch argv[0] among cmds; prints help for a parent with no args. */
int cli_dispatch(const struct cli_command *cmds, const char *parent,
                 struct cli_global *g, int argc, char **argv,
                 berth_error_t *err);
const struct cli_command *cli_find(const struct cli_command *cmds,
                                   const char *name);
/* Check the number of positional args: fails with podman's wording
 * ("requires at least 1 arg(s), only received 0"). */
int cli_nargs(const char *cmdname, int n, int min, int max,
              berth_error_t *err);
/* Open the store with the global flags (once). */
int cli_store(struct cli_global *g, struct store **ret, berth_error_t *err);
/* Current full command path for help ("berth image ls"). */
const char *cli_cmd_path(void);

/* Command tables (cmd/commands.c) */
extern const struct cli_command berth_commands[];

#endif
