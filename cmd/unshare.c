#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/store.h"

int cmd_unshare(struct cli_global *g, int argc, char **argv,
                berth_error_t *err)
{
    static const struct cli_command self = {
        "unshare", NULL, "[options] [COMMAND [ARG...]]",
        "Run a command in a modified user namespace", NULL, NULL};
    const struct cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, true, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (!userns_rootless())
        return berth_error_new(err, 0, "please use unshare with rootless");
    if (cli_store(g, &s, err) < 0)
        return -1;
    /* podman exports the store paths to the command */
    setenv("CONTAINERS_GRAPHROOT", s->root, 1);
    setenv("CONTAINERS_RUNROOT", s->runroot, 1);
    if (userns_enter(err) < 0)
        return -1;
    char *sh[] = {getenv("SHELL") ? getenv("SHELL") : (char *)"/bin/sh", NULL};
    char **cmd = optind < argc ? argv + optind : sh;
    execvp(cmd[0], cmd);
    int e = errno;
    berth_error_new(err, e, "exec %s", cmd[0]);
    berth_error_set_exit(err, e == ENOENT ? 127 : 126);
    return -1;
}
