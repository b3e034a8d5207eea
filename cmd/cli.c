#define _GNU_SOURCE
#include "cmd/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/store.h"

static char cmd_path[256] = "berth";

const char *cli_cmd_path(void)
{
    return cmd_path;
}

static const struct cli_opt help_opt = {"help", 'h', CLI_BOOL, NULL, NULL,
                                        "Help for this command"};

static const struct cli_opt *find_long(const struct cli_opt *opts,
                                       const char *name, size_t len)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    if (len == 4 && strncmp(name, "help", 4) == 0)
        return &help_opt;
    return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (o->short_name == c)
            return o;
    if (c == 'h')
        return &help_opt;
    return NULL;
}

static int parse_bool(const char *flag, const char *v, bool *ret,
                      berth_error_t *err)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
        strcmp(v, "T") == 0 || strcmp(v, "TRUE") == 0 || strcmp(v, "True") == 0)
        *ret = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
             strcmp(v, "f") == 0 || strcmp(v, "F") == 0 ||
             strcmp(v, "FALSE") == 0 || strcmp(v, "False") == 0)
        *ret = false;
    else
        return berth_error_new(err, 0,
                               "invalid argument \"%s\" for \"%s\" flag: "
                               "strconv.ParseBool: parsing \"%s\": invalid "
                               "syntax",
                               v, flag, v);
    return 0;
}

/* Store a value; value NULL means a bool given without "=". */
static int set_opt(const struct cli_opt *o, const char *flag,
                   const char *value, berth_error_t *err)
{
    bool b = true;
    switch (o->type) {
    case CLI_BOOL:
        if (value && parse_bool(flag, value, &b, err) < 0)
            return -1;
        if (o->target)
            *(bool *)o->target = b;
        return 0;
    case CLI_TRI:
        if (value && parse_bool(flag, value, &b, err) < 0)
            return -1;
        *(int *)o->target = b ? 1 : 0;
        return 0;
    case CLI_STRING:
        free(*(char **)o->target);
        *(char **)o->target = xstrdup(value);
        return 0;
    case CLI_STRV:
        strv_append((char ***)o->target, value);
        return 0;
    case CLI_INT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end)
            return berth_error_new(err, 0,
                                   "invalid argument \"%s\" for \"%s\" flag: "
                                   "strconv.ParseInt: parsing \"%s\": invalid "
                                   "syntax",
                                   value, flag, value);
        *(int *)o->target = (int)v;
        return 0;
    }
    default:
        return berth_error_new(err, 0, "internal: bad option type");
    }
}

static bool takes_value(const struct cli_opt *o)
{
    return o->type != CLI_BOOL && o->type != CLI_TRI;
}

/* One "--name[=value]" argument; may consume argv[*i + 1]. */
static int parse_long(const struct cli_opt *opts, int argc, char **argv,
                      int *i, bool *help, berth_error_t *err)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct cli_opt *o = find_long(opts, arg, len);
    _cleanup_free_ char *flag = xasprintf("--%.*s", (int)len, arg);

    if (o == NULL)
        return berth_error_new(err, 0, "unknown flag: %s", flag);
    if (o == &help_opt) {
        *help = true;
        return 0;
    }
    if (!takes_value(o))
        return set_opt(o, flag, eq ? eq + 1 : NULL, err);
    if (eq)
        return set_opt(o, flag, eq + 1, err);
    if (*i + 1 >= argc)
        return berth_error_new(err, 0, "flag needs an argument: %s", flag);
    (*i)++;
    return set_opt(o, flag, argv[*i], err);
}

/* "-abc", "-fvalue", "-f value" */
static int parse_short(const struct cli_opt *opts, int argc, char **argv,
                       int *i, bool *help, berth_error_t *err)
{
    const char *arg = argv[*i] + 1;
    for (size_t k = 0; arg[k]; k++) {
        const struct cli_opt *o = find_short(opts, arg[k]);
        char flag[3] = {'-', arg[k], '\0'};
        if (o == NULL)
            return berth_error_new(err, 0,
                                   "unknown shorthand flag: '%c' in -%s",
                                   arg[k], arg);
        if (o == &help_opt) {
            *help = true;
            continue;
        }
        if (!takes_value(o)) {
            if (arg[k + 1] == '=')
                return set_opt(o, flag, arg + k + 2, err);
            if (set_opt(o, flag, NULL, err) < 0)
                return -1;
            continue;
        }
        if (arg[k + 1])
            return set_opt(o, flag, arg + k + 1 + (arg[k + 1] == '='), err);
        if (*i + 1 >= argc)
            return berth_error_new(err, 0,
                                   "flag needs an argument: '%c' in -%s",
                                   arg[k], arg);
        (*i)++;
        return set_opt(o, flag, argv[*i], err);
    }
    return 0;
}

int cli_parse(const struct cli_command *cmd, const struct cli_opt *opts,
              int argc, char **argv, bool stop_at_positional,
              int *ret_optind, berth_error_t *err)
{
    _cleanup_free_ char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
    _cleanup_free_ char **flags = xcalloc((size_t)argc + 1, sizeof(char *));
    int npos = 0, nflags = 0, i;
    bool help = false;

    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        int start = i;
        if (strcmp(a, "--") == 0) {
            /* it stays before optind: callers count argc - optind */
            flags[nflags++] = a;
            for (i++; i < argc; i++)
                pos[npos++] = argv[i];
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (stop_at_positional) {
                for (; i < argc; i++)
                    pos[npos++] = argv[i];
                break;
            }
            pos[npos++] = a;
            continue;
        }
        int r = a[1] == '-' ? parse_long(opts, argc, argv, &i, &help, err)
                            : parse_short(opts, argc, argv, &i, &help, err);
        if (r < 0)
            return -1;
        for (int k = start; k <= i; k++)
            flags[nflags++] = argv[k];
    }
    if (help) {
        cli_print_help(cmd, opts);
        return 1;
    }
    /* reorder: argv[0], flags..., positional... */
    for (int k = 0; k < nflags; k++)
        argv[1 + k] = flags[k];
    for (int k = 0; k < npos; k++)
        argv[1 + nflags + k] = pos[k];
    *ret_optind = 1 + nflags;
    return 0;
}

void cli_print_help(const struct cli_command *cmd, const struct cli_opt *opts)
{
    const char *summary = cmd->summary ? cmd->summary : cmd->name;
    printf("%s\n\nDescription:\n  %s\n\nUsage:\n  %s %s\n", summary, summary,
           cli_cmd_path(), cmd->usage ? cmd->usage : "");
    if (cmd->aliases)
        printf("\nAliases:\n  %s, %s\n", cmd->name, cmd->aliases);
    if (cmd->subcommands) {
        printf("\nAvailable Commands:\n");
        for (const struct cli_command *c = cmd->subcommands; c->name; c++)
            if (c->summary)
                printf("  %-12s %s\n", c->name, c->summary);
    }
    printf("\nOptions:\n");
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name,
                     o->name, o->argname ? " " : "",
                     o->argname ? o->argname : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name,
                     o->argname ? " " : "", o->argname ? o->argname : "");
        printf("  %-30s %s\n", left, o->help);
    }
    printf("  %-30s %s\n", "-h, --help", "Help for this command");
}

const struct cli_command *cli_find(const struct cli_command *cmds,
                                   const char *name)
{
    for (const struct cli_command *c = cmds; c->name; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
        if (c->aliases) {
            _cleanup_strv_ char **al = strv_split(c->aliases, ",");
            if (strv_contains(al, name))
                return c;
        }
    }
    return NULL;
}

int cli_dispatch(const struct cli_command *cmds, const char *parent,
                 struct cli_global *g, int argc, char **argv,
                 berth_error_t *err)
{
    const struct cli_command *c = cli_find(cmds, argv[0]);
    if (c == NULL)
        return berth_error_new(err, 0,
                               "unrecognized command `%s %s`\nTry '%s "
                               "--help' for more information",
                               parent, argv[0], parent);
    size_t l = strlen(cmd_path);
    snprintf(cmd_path + l, sizeof cmd_path - l, " %s", c->name);
    if (c->subcommands && c->run == NULL) {
        if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
            strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
            cli_print_help(c, NULL);
            return argc < 2 ? 125 : 0;
        }
        _cleanup_free_ char *p = xasprintf("%s %s", parent, c->name);
        return cli_dispatch(c->subcommands, p, g, argc - 1, argv + 1, err);
    }
    return c->run(g, argc, argv, err);
}

int cli_nargs(const char *cmdname, int n, int min, int max,
              berth_error_t *err)
{
    if (n < min) {
        if (min == 1 && max == 1)
            return berth_error_new(err, 0,
                                   "%s: requires exactly 1 arg(s), only "
                                   "received %d",
                                   cmdname, n);
        return berth_error_new(err, 0,
                               "%s: requires at least %d arg(s), only "
                               "received %d",
                               cmdname, min, n);
    }
    if (max >= 0 && n > max) {
        if (max == 0)
            return berth_error_new(err, 0, "%s: accepts 0 arg(s), received %d",
                                   cmdname, n);
        return berth_error_new(err, 0, "%s: accepts at most %d arg(s), "
                               "received %d", cmdname, max, n);
    }
    return 0;
}

/* Without subordinate ids berth still runs, with every file owner of an
 * image squashed to the user: say so, with the fix. */
static void warn_single_id(const struct store *s)
{
    struct userns_mapping m;
    berth_error_t e = NULL;
    if (!s->rootless || geteuid() == 0)
        return;
    if (userns_mapping_get(&m, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    if (m.single) {
        _cleanup_free_ char *w = userns_single_warning();
        fprintf(stderr, "WARN[0000] %s\n", w);
    }
}

int cli_store(struct cli_global *g, struct store **ret, berth_error_t *err)
{
    if (g->store == NULL) {
        struct store_opts o = {.root = g->root,
                               .runroot = g->runroot,
                               .driver = g->storage_driver};
        if (store_open(&o, &g->store, err) < 0)
            return -1;
        warn_single_id(g->store);
    }
    *ret = g->store;
    return 0;
}
