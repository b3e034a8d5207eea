#define _GNU_SOURCE
#include "monitor/monitor.h"

#include <errno.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void monitor_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void monitor_exec_child(char **argv, int in, int out, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    /* the monitor blocks the signals it reads from its signalfd; a runtime
     * (and the container it forks) must not inherit that mask */
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
        _exit(126);
    execvp(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

/* RUNTIME [runtime args] TAIL..., stdio as given; returns its wait status.
 * Waits for that pid alone: other children wait for the poll loop. */
static int monitor_runtime_run(const struct monitor_opts *o,
                               const char *const *tail, int in, int out,
                               int errfd, int *ret_status, char *err)
{
    size_t ntail = 0;
    while (tail[ntail])
        ntail++;
    char **argv = calloc(2 + o->n_runtime_args + ntail, sizeof(char *));
    if (argv == NULL)
        return monitor_err(err, ENOMEM, "run %s", o->runtime);
    size_t i = 0;
    argv[i++] = (char *)o->runtime;
    for (size_t j = 0; j < o->n_runtime_args; j++)
        argv[i++] = (char *)o->runtime_args[j];
    for (size_t j = 0; j < ntail; j++)
        argv[i++] = (char *)tail[j];
    pid_t pid = fork();
    if (pid == 0)
        monitor_exec_child(argv, in, out, errfd);
    int e = errno;
    free(argv);
    if (pid < 0)
        return monitor_err(err, e, "fork %s", o->runtime);
    /* Wait, by pidfd so that an exit wakes us at once; every second, look
     * whether the bundle still exists: a container removed while we
     * create it (its CLI killed, then `rm`) must not keep a runtime, and
     * us, waiting forever. */
    int st = 0, gone = 0;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/config.json", o->bundle);
    for (;;) {
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            poll(&p, 1, 1000);
        }
        pid_t r = waitpid(pid, &st, pfd >= 0 ? WNOHANG : 0);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            e = errno;
            if (pfd >= 0)
                close(pfd);
            return monitor_err(err, e, "wait for %s", o->runtime);
        }
        if (r == 0 && access(cfg, F_OK) < 0 && errno == ENOENT && ++gone >= 3)
            kill(pid, SIGKILL);
    }
    if (pfd >= 0)
        close(pfd);
    *ret_status = st;
    return 0;
}

/* What the runtime printed: whatever sits in the pipe, without waiting. */
static void monitor_read_avail(int fd, char *buf, size_t len)
{
    size_t o = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (o + 1 < len) {
        ssize_t n = read(fd, buf + o, len - 1 - o);
        if (n <= 0)
            break;
        o += (size_t)n;
    }
    while (o > 0 && (buf[o - 1] == '\n' || buf[o - 1] == '\r' || buf[o - 1] == ' '))
        o--;
    buf[o] = '\0';
}

static int monitor_runtime_failed(const char *what, int st, int capture_fd,
                                  char *err)
{
    char out[768];
    monitor_read_avail(capture_fd, out, sizeof out);
    if (out[0] != '\0')
        return monitor_err(err, 0, "runtime %s: %s", what, out);
    if (WIFSIGNALED(st))
        return monitor_err(err, 0, "runtime %s: killed by signal %d", what,
                           WTERMSIG(st));
    return monitor_err(err, 0, "runtime %s: exit status %d", what,
                       WEXITSTATUS(st));
}

/* runc's --console-socket: a unix stream socket the runtime connects to
 * and sends the pty master over (SCM_RIGHTS).  sun_path holds 108 bytes;
 * a longer exit dir falls back to a private directory under /tmp. */
static int monitor_console_listen(const struct monitor_opts *o, char *path,
                                  size_t pathlen, char *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(path, pathlen, "%s/%s.console", o->exit_dir, o->id);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
        char tmpl[] = "/tmp/berth-console-XXXXXX";
        if (mkdtemp(tmpl) == NULL)
            return monitor_err(err, errno, "create console socket directory");
        snprintf(path, pathlen, "%s/console", tmpl);
    }
    strcpy(sa.sun_path, path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return monitor_err(err, errno, "console socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        close(fd);
        return monitor_err(err, e, "console socket %s", path);
    }
    return fd;
}

static int monitor_console_recv(int lfd, const char *path, char *err)
{
    /* the runtime connected and sent before it exited: no need to wait */
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return monitor_err(err, 0, "runtime sent no terminal to %s "
                                   "(is process.terminal true?)", path);
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0)
        return monitor_err(err, errno, "accept on %s", path);
    char name[PATH_MAX], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {name, sizeof name};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(cfd, &msg, MSG_CMSG_CLOEXEC);
    int e = errno;
    close(cfd);
    if (n < 0)
        return monitor_err(err, e, "receive terminal on %s", path);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        return monitor_err(err, 0, "runtime sent no terminal fd to %s", path);
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static int monitor_read_pid(const char *path, int *ret_pid, char *err)
{
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return monitor_err(err, errno, "read runtime pid file %s", path);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    if (n <= 0)
        return monitor_err(err, 0, "empty runtime pid file %s", path);
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (v <= 0 || v > INT_MAX || (*end != '\0' && *end != '\n'))
        return monitor_err(err, 0, "bad runtime pid file %s", path);
    *ret_pid = (int)v;
    return 0;
}

struct monitor_stdio {
    int child[3];   /* what the runtime gets as 0, 1, 2 */
    int null;
    int capture;    /* where the runtime's own messages are read */
    bool capture_owned; /* else it is the container's stderr pipe */
    int console;    /* listening console socket, or -1 */
    char console_path[256];
};

static int monitor_stdio_make(struct monitor_stdio *s, struct monitor_ctr *c,
                              const struct monitor_opts *o, char *err)
{
    int p[2];
    s->null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s->null < 0)
        return monitor_err(err, errno, "open /dev/null");
    s->child[0] = s->child[1] = s->child[2] = s->null;
    if (o->terminal) {
        if (pipe2(p, O_CLOEXEC) < 0)
            return monitor_err(err, errno, "pipe");
        s->capture = p[0], s->child[2] = p[1], s->capture_owned = true;
        s->console = monitor_console_listen(o, s->console_path,
                                            sizeof s->console_path, err);
        return s->console < 0 ? -1 : 0;
    }
    if (pipe2(p, O_CLOEXEC) < 0)
        return monitor_err(err, errno, "pipe");
    c->out_fd = p[0], s->child[1] = p[1];
    if (pipe2(p, O_CLOEXEC) < 0)
        return monitor_err(err, errno, "pipe");
    c->err_fd = s->capture = p[0], s->child[2] = p[1];
    if (o->stdin_open) {
        if (pipe2(p, O_CLOEXEC) < 0)
            return monitor_err(err, errno, "pipe");
        s->child[0] = p[0], c->in_fd = p[1];
    }
    return 0;
}

static void monitor_stdio_close(struct monitor_stdio *s)
{
    for (int i = 0; i < 3; i++) {
        if (s->child[i] != s->null)
            monitor_close(&s->child[i]);
    }
    monitor_close(&s->null);
    if (s->console >= 0) {
        unlink(s->console_path);
        monitor_close(&s->console);
    }
    if (s->capture_owned)
        monitor_close(&s->capture);
}

static int monitor_ctr_create_run(struct monitor_ctr *c,
                                  const struct monitor_opts *o,
                                  struct monitor_stdio *s, const char *pidfile,
                                  char *err)
{
    const char *tail[] = {"create", "--bundle", o->bundle, "--pid-file",
                          pidfile, o->id, NULL, NULL, NULL};
    if (s->console >= 0) {
        tail[3] = "--console-socket", tail[4] = s->console_path;
        tail[5] = "--pid-file", tail[6] = pidfile, tail[7] = o->id;
    }
    int st;
    if (monitor_runtime_run(o, tail, s->child[0], s->child[1], s->child[2], &st,
                            err) < 0)
        return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return monitor_runtime_failed("create", st, s->capture, err);
    if (s->console >= 0) {
        c->pty_fd = monitor_console_recv(s->console, s->console_path, err);
        if (c->pty_fd < 0)
            return -1;
        c->out_fd = c->in_fd = c->pty_fd;
    }
    /* nothing in the container runs before start: what is in the pipe now
     * is the runtime's (crun's newuidmap warnings), not the container's */
    char msg[768];
    monitor_read_avail(s->capture, msg, sizeof msg);
    if (msg[0] != '\0')
        monitor_warn("runtime create: %s", msg);
    return monitor_read_pid(pidfile, &c->pid, err);
}

int monitor_ctr_create(struct monitor_ctr *c, const struct monitor_opts *o,
                       char *err)
{
    *c = (struct monitor_ctr){.out_fd = -1, .err_fd = -1, .in_fd = -1,
                              .pty_fd = -1};
    struct monitor_stdio s = {.child = {-1, -1, -1}, .null = -1,
                              .capture = -1, .console = -1};
    char pidfile[4096];
    snprintf(pidfile, sizeof pidfile, "%s/.%s.pid", o->exit_dir, o->id);
    unlink(pidfile);
    int r = monitor_stdio_make(&s, c, o, err);
    if (r == 0)
        r = monitor_ctr_create_run(c, o, &s, pidfile, err);
    monitor_stdio_close(&s);
    if (r < 0) {
        monitor_ctr_close(c);
        return -1;
    }
    /* the poll loop reads our ends; it must never block on one */
    int fds[] = {c->out_fd, c->err_fd, c->in_fd};
    for (size_t i = 0; i < 3; i++) {
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

static int monitor_runtime_simple(const struct monitor_opts *o,
                                  const char *const *tail, const char *what,
                                  char *err)
{
    int p[2], st;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return monitor_err(err, errno, "open /dev/null");
    if (pipe2(p, O_CLOEXEC) < 0) {
        close(null);
        return monitor_err(err, errno, "pipe");
    }
    int r = monitor_runtime_run(o, tail, null, null, p[1], &st, err);
    close(null);
    close(p[1]);
    if (r == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
        r = monitor_runtime_failed(what, st, p[0], err);
    close(p[0]);
    return r;
}

int monitor_ctr_start(const struct monitor_opts *o, char *err)
{
    const char *tail[] = {"start", o->id, NULL};
    return monitor_runtime_simple(o, tail, "start", err);
}

void monitor_ctr_delete(const struct monitor_opts *o, bool force)
{
    const char *tail[] = {"delete", force ? "--force" : o->id,
                          force ? o->id : NULL, NULL};
    char err[MONITOR_ERR_LEN];
    if (monitor_runtime_simple(o, tail, "delete", err) < 0)
        monitor_warn("%s, ignoring", err);
}

void monitor_ctr_close(struct monitor_ctr *c)
{
    if (c->pty_fd >= 0) {
        monitor_close(&c->pty_fd);
        c->out_fd = c->in_fd = -1;
    }
    monitor_close(&c->out_fd);
    monitor_close(&c->err_fd);
    monitor_close(&c->in_fd);
}
