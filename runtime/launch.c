#define _GNU_SOURCE
#include "runtime/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/containers.h"
#include "storage/rootfs.h"
#include "storage/store.h"

struct launch {
    struct store *s;
    json_t *container;
    char *const *argv;
    bool own_mountns; /* userns_run made no namespaces: make our own */
};

static int launch_fn(void *arg, berth_error_t *err)
{
    struct launch *l = arg;
    const char *id = json_string_value(json_object_get(l->container, "id"));
    _cleanup_free_ char *merged = containers_path(l->s, id, "merged");

    /* rootless, userns_run already unshared the mount namespace with the
     * user namespace; as root (or inside berth unshare) we make our own */
    if (l->own_mountns && unshare(CLONE_NEWNS) < 0)
        return berth_error_new(err, errno, "unshare mount namespace");
    /* our mounts must not propagate back to the host's namespace */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return berth_error_new(err, errno, "make / a slave mount");
    if (rootfs_mount(l->s, l->container, merged, err) < 0)
        return -1;
    /* The monitor outlives this command: it must not hold our stdio open
     * (`x=$(berth run -d ...)` would wait for the container to exit).  Its
     * warnings go to a file beside the container's runtime state. */
    _cleanup_free_ char *rundir = containers_run_path(l->s, id);
    _cleanup_free_ char *log = xasprintf("%s/monitor.log", rundir);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null < 0 || logfd < 0)
        return berth_error_new(err, errno, "open %s", log);
    if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        return berth_error_new(err, errno, "redirect the monitor's stdio");
    execv(l->argv[0], l->argv);
    return berth_error_new(err, errno, "exec %s", l->argv[0]);
}

int launch_monitor(struct store *s, json_t *container, char *const *argv,
                   pid_t join, berth_error_t *err)
{
    struct launch l = {s, container, argv, geteuid() == 0};
    if (userns_run_in(join, launch_fn, &l, err) < 0)
        return berth_error_prefix(err, "start container monitor");
    return 0;
}
