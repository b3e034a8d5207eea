#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/runtime-internal.h"

static const struct {
    const char *name;
    int flag;
} exec_ns[] = {
    /* the user namespace first: it owns the others */
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},   {"pid", CLONE_NEWPID},
    {"net", CLONE_NEWNET},   {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP},
};

static bool same_ns(pid_t pid, const char *name)
{
    struct stat a, b;
    _cleanup_free_ char *p = xasprintf("/proc/%d/ns/%s", (int)pid, name);
    _cleanup_free_ char *s = xasprintf("/proc/self/ns/%s", name);
    return stat(p, &a) == 0 && stat(s, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

/* setns by pidfd joins all namespaces at once, against the very process
 * (Linux 5.8); older kernels get one /proc/PID/ns file at a time. */
static int join_container(int pidfd, pid_t pid, berth_error_t *err)
{
    int flags = 0;
    for (size_t i = 0; i < sizeof(exec_ns) / sizeof(exec_ns[0]); i++)
        if (!same_ns(pid, exec_ns[i].name))
            flags |= exec_ns[i].flag;
    if (pidfd >= 0 && setns(pidfd, flags) == 0)
        return 0;
    for (size_t i = 0; i < sizeof(exec_ns) / sizeof(exec_ns[0]); i++) {
        if (!(flags & exec_ns[i].flag))
            continue;
        _cleanup_free_ char *p =
            xasprintf("/proc/%d/ns/%s", (int)pid, exec_ns[i].name);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, exec_ns[i].flag) < 0)
            return berth_error_new(err, errno, "join %s namespace of the "
                                               "container",
                                   exec_ns[i].name);
    }
    return 0;
}

static int exec_pty(struct rt_init *c, berth_error_t *err)
{
    c->pty_master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->pty_master < 0 || unlockpt(c->pty_master) < 0)
        return berth_error_new(err, errno, "open /dev/ptmx in the container");
    c->pty_slave = ioctl(c->pty_master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (c->pty_slave < 0)
        return berth_error_new(err, errno, "open the pty's peer");
    return 0;
}

_Noreturn void rt_exec_child_main(struct rt_init *c, int pidfd, pid_t pid)
{
    berth_error_t err = NULL;
    if (join_container(pidfd, pid, &err) < 0)
        rt_child_fail(c->sock, &err);
    /* joining a pid namespace takes effect for our children */
    pid_t child = fork();
    if (child < 0) {
        berth_error_new(&err, errno, "fork");
        rt_child_fail(c->sock, &err);
    }
    if (child == 0) {
        if (json_is_true(json_object_get(c->process, "terminal")) &&
            c->console_fd >= 0 && exec_pty(c, &err) < 0)
            rt_child_fail(c->sock, &err);
        rt_process_run(c);
    }
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)child);
    rt_send(c->sock, RT_MSG_PID, buf);
    _exit(0);
}

static int exec_console(const char *path, berth_error_t *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return berth_error_new(err, ENAMETOOLONG, "console socket %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return berth_error_new(err, e, "connect to console socket %s", path);
    }
    return fd;
}

/* Messages until the exec closes the socket: the pid, or an error. */
static int exec_wait(int sock, pid_t *ret_pid, berth_error_t *err)
{
    char buf[4096];
    ssize_t n;
    int r = 0;
    while ((n = recv(sock, buf, sizeof(buf) - 1, 0)) > 0 ||
           (n < 0 && errno == EINTR)) {
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if (buf[0] == RT_MSG_PID)
            *ret_pid = atoi(buf + 1);
        else if (buf[0] == RT_MSG_ERROR && r == 0)
            r = berth_error_deserialize(err, buf + 1);
    }
    return r;
}

static int exec_run(const char *root, json_t *cfg, json_t *proc, pid_t pid,
                    const char *console_socket, berth_error_t *err)
{
    _cleanup_free_ char *cache = xasprintf("%s/seccomp", root);
    _cleanup_(rt_seccomp_freep) struct rt_seccomp *filter = NULL;
    if (rt_seccomp_prepare(
            json_object_get(json_object_get(cfg, "linux"), "seccomp"), cache,
            &filter, err) < 0)
        return -1;
    _cleanup_close_ int console = -1;
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int sv[2], status = 0;
    pid_t proc_pid = 0;

    if (json_is_true(json_object_get(proc, "terminal")) && console_socket &&
        (console = exec_console(console_socket, err)) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return berth_error_new(err, errno, "socketpair");
    /* the process is our grandchild: reap it when its parent exits */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pid_t child = fork();
    if (child < 0)
        return berth_error_new(err, errno, "fork");
    if (child == 0) {
        close(sv[0]);
        struct rt_init c = {cfg,     proc, NULL, NULL, sv[1], -1,
                            console, -1,   -1,   false, true, 0, filter};
        rt_exec_child_main(&c, pidfd, pid);
    }
    close(sv[1]);
    int r = exec_wait(sv[0], &proc_pid, err);
    close(sv[0]);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (proc_pid > 0)
        while (waitpid(proc_pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (r < 0)
        return -1;
    if (proc_pid <= 0)
        return berth_error_new(err, 0, "exec: no process started");
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int runtime_exec(const char *root, const char *id, const char *process_json,
                 const char *console_socket, berth_error_t *err)
{
    _cleanup_json_ json_t *state = NULL;
    if (runtime_state(root, id, &state, err) < 0)
        return -1;
    const char *status = json_get_str(state, "status");
    if (strcmp(status, "stopped") == 0)
        return berth_error_new(err, 0, "cannot exec in a stopped container");
    _cleanup_json_ json_t *proc = json_load_path(process_json, err);
    if (proc == NULL)
        return berth_error_prefix(err, "exec");
    /* the container's seccomp profile applies to every process in it */
    _cleanup_free_ char *cfg_path =
        xasprintf("%s/config.json", json_get_str(state, "bundle"));
    _cleanup_json_ json_t *cfg = json_load_path(cfg_path, err);
    if (cfg == NULL)
        return berth_error_prefix(err, "exec");
    return exec_run(root, cfg, proc, (pid_t)json_get_int(state, "pid", 0),
                    console_socket, err);
}
