#define _GNU_SOURCE
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MONITOR_MAX_CLIENTS 32
#define MONITOR_BUF 8192 /* conmon's attach packet size, less the type byte */

enum { PFD_SIG, PFD_OUT, PFD_ERR, PFD_ATTACH, PFD_CTL, PFD_CLIENTS };

struct monitor_io {
    const struct monitor_opts *o;
    int sig_fd, attach_fd, ctl_fd;
    char ctl_path[4096];
    int clients[MONITOR_MAX_CLIENTS];
    bool client_wrote[MONITOR_MAX_CLIENTS];
    size_t n_clients;
    char ctl_buf[256];
    size_t ctl_len;
};

/* SOCK_SEQPACKET keeps each read as one message, so a client sees where
 * stdout and stderr change.  A path longer than sun_path is bound through
 * /proc/self/fd/DIRFD/NAME, as conmon does. */
static int monitor_attach_listen(const char *path, char *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int dfd = -1;
    if (strlen(path) >= sizeof sa.sun_path) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        dfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return monitor_err(err, errno, "attach socket directory of %s", path);
        const char *base = strrchr(path, '/') + 1;
        if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s",
                             dfd, base) >= sizeof sa.sun_path) {
            close(dfd);
            return monitor_err(err, ENAMETOOLONG, "attach socket %s", path);
        }
    } else {
        strcpy(sa.sun_path, path);
    }
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof sa);
    if (r == 0)
        r = listen(fd, 16);
    int e = errno;
    if (dfd >= 0)
        close(dfd);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return monitor_err(err, e, "attach socket %s", path);
    }
    return fd;
}

struct monitor_io *monitor_io_new(const struct monitor_opts *o, int sig_fd,
                                  char *err)
{
    struct monitor_io *io = calloc(1, sizeof *io);
    if (io == NULL) {
        monitor_err(err, ENOMEM, "monitor");
        return NULL;
    }
    io->o = o, io->sig_fd = sig_fd, io->attach_fd = io->ctl_fd = -1;
    if (o->attach_socket) {
        io->attach_fd = monitor_attach_listen(o->attach_socket, err);
        if (io->attach_fd < 0)
            goto fail;
    }
    snprintf(io->ctl_path, sizeof io->ctl_path, "%s/%s.ctl", o->exit_dir, o->id);
    unlink(io->ctl_path);
    if (mkfifo(io->ctl_path, 0600) < 0) {
        monitor_err(err, errno, "create %s", io->ctl_path);
        goto fail;
    }
    /* read-write: the fifo never reports EOF when a writer goes away */
    io->ctl_fd = open(io->ctl_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (io->ctl_fd < 0) {
        monitor_err(err, errno, "open %s", io->ctl_path);
        goto fail;
    }
    return io;
fail:
    monitor_io_free(io);
    return NULL;
}

void monitor_io_hangup(struct monitor_io *io)
{
    for (size_t i = 0; io && i < io->n_clients; i++)
        close(io->clients[i]);
    if (io)
        io->n_clients = 0;
}

void monitor_io_free(struct monitor_io *io)
{
    if (io == NULL)
        return;
    monitor_io_hangup(io);
    if (io->attach_fd >= 0) {
        close(io->attach_fd);
        unlink(io->o->attach_socket);
    }
    if (io->ctl_fd >= 0) {
        close(io->ctl_fd);
        unlink(io->ctl_path);
    }
    free(io);
}

int monitor_reap(int pid)
{
    int st, ret = -1;
    pid_t r;
    /* as subreaper every orphan of the container lands here */
    while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
        if (r == pid)
            ret = st;
    }
    return ret;
}

static void monitor_client_drop(struct monitor_io *io, size_t i)
{
    close(io->clients[i]);
    io->n_clients--;
    io->clients[i] = io->clients[io->n_clients];
    io->client_wrote[i] = io->client_wrote[io->n_clients];
}

static void monitor_broadcast(struct monitor_io *io, char type, char *pkt,
                              size_t len)
{
    pkt[0] = type;
    for (size_t i = 0; i < io->n_clients;) {
        /* a client too slow to take it loses the packet: the monitor must
         * not stall the container's output for one reader */
        if (send(io->clients[i], pkt, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
            errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            monitor_client_drop(io, i);
            continue;
        }
        i++;
    }
}

/* Returns false at EOF (EIO on a pty whose slave side is all closed). */
static bool monitor_output(struct monitor_io *io, int fd, char type,
                           struct monitor_log *l)
{
    static char pkt[MONITOR_BUF + 1];
    ssize_t n = read(fd, pkt + 1, MONITOR_BUF);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    monitor_log_write(l, type == 2 ? "stdout" : "stderr", pkt + 1, (size_t)n);
    monitor_broadcast(io, type, pkt, (size_t)n);
    return true;
}

static void monitor_input(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n >= 0) {
            buf += n, len -= (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (errno != EAGAIN || poll(&p, 1, 1000) <= 0) {
            if (errno != EPIPE)
                monitor_warn("container stdin: %zu bytes dropped", len);
            return;
        }
    }
}

static void monitor_client(struct monitor_io *io, size_t i, struct monitor_ctr *c)
{
    static char buf[MONITOR_BUF];
    ssize_t n = recv(io->clients[i], buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        io->client_wrote[i] = true;
        if (c->in_fd >= 0)
            monitor_input(c->in_fd, buf, (size_t)n);
        return;
    }
    /* docker's stdin-once: the writer went away, so the container reads
     * EOF (echo x | berth run -i IMAGE cat) */
    if (io->client_wrote[i] && c->pty_fd < 0 && c->in_fd >= 0) {
        close(c->in_fd);
        c->in_fd = -1;
    }
    monitor_client_drop(io, i);
}

static void monitor_accept(struct monitor_io *io)
{
    int fd = accept4(io->attach_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (io->n_clients == MONITOR_MAX_CLIENTS) {
        monitor_warn("attach: more than %d clients, refusing one",
                     MONITOR_MAX_CLIENTS);
        close(fd);
        return;
    }
    io->client_wrote[io->n_clients] = false;
    io->clients[io->n_clients++] = fd;
}

static void monitor_ctl_line(struct monitor_io *io, struct monitor_ctr *c,
                             struct monitor_log *l, const char *line)
{
    int type;
    unsigned rows, cols;
    int n = sscanf(line, "%d %u %u", &type, &rows, &cols);
    if (n == 3 && type == 1) {
        struct winsize ws = {.ws_row = (unsigned short)rows,
                             .ws_col = (unsigned short)cols};
        if (c->pty_fd >= 0 && ioctl(c->pty_fd, TIOCSWINSZ, &ws) < 0)
            monitor_warn("resize terminal: %s, ignoring", strerror(errno));
    } else if (n >= 1 && type == 2) {
        monitor_log_reopen(l);
    } else {
        monitor_warn("%s: unknown command \"%s\", ignoring", io->ctl_path, line);
    }
}

static void monitor_ctl(struct monitor_io *io, struct monitor_ctr *c,
                        struct monitor_log *l)
{
    ssize_t n = read(io->ctl_fd, io->ctl_buf + io->ctl_len,
                     sizeof io->ctl_buf - 1 - io->ctl_len);
    if (n <= 0)
        return;
    io->ctl_len += (size_t)n;
    io->ctl_buf[io->ctl_len] = '\0';
    char *start = io->ctl_buf, *nl;
    while ((nl = strchr(start, '\n')) != NULL) {
        *nl = '\0';
        monitor_ctl_line(io, c, l, start);
        start = nl + 1;
    }
    io->ctl_len = strlen(start);
    memmove(io->ctl_buf, start, io->ctl_len);
    if (io->ctl_len == sizeof io->ctl_buf - 1)
        io->ctl_len = 0; /* a line that long is no command: drop it */
}

void monitor_io_ctl_pending(struct monitor_io *io, struct monitor_ctr *c,
                            struct monitor_log *l)
{
    struct pollfd p = {.fd = io ? io->ctl_fd : -1, .events = POLLIN};
    if (p.fd >= 0 && poll(&p, 1, 0) > 0)
        monitor_ctl(io, c, l);
}

/* Returns true when the container's init was reaped (status in *st). */
static bool monitor_signal(struct monitor_io *io, struct monitor_ctr *c,
                           bool exited, int *st, bool *ret_stop)
{
    struct signalfd_siginfo si;
    bool reaped = false;
    while (read(io->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            int s = monitor_reap(c->pid);
            if (s != -1)
                *st = s, reaped = true;
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            *ret_stop = true;
        if (!exited && !reaped && kill(c->pid, sig) < 0 && errno != ESRCH)
            monitor_warn("forward signal %d: %s", sig, strerror(errno));
    }
    return reaped;
}

static nfds_t monitor_pollfds(struct monitor_io *io, struct pollfd *p, int out,
                              int errfd)
{
    int fds[PFD_CLIENTS] = {io->sig_fd, out, errfd, io->attach_fd, io->ctl_fd};
    for (int i = 0; i < PFD_CLIENTS; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    for (size_t i = 0; i < io->n_clients; i++)
        p[PFD_CLIENTS + i] = (struct pollfd){.fd = io->clients[i], .events = POLLIN};
    return (nfds_t)(PFD_CLIENTS + io->n_clients);
}

int monitor_io_run(struct monitor_io *io, struct monitor_ctr *c,
                   struct monitor_log *l, struct monitor_net *net,
                   bool *ret_stop, struct timespec *ret_exited_at)
{
    size_t cap = PFD_CLIENTS + MONITOR_MAX_CLIENTS + monitor_net_nfds(net);
    struct pollfd *p = calloc(cap, sizeof *p);
    if (p == NULL)
        return -1;
    int out = c->out_fd, errfd = c->err_fd;
    int st = monitor_reap(c->pid);
    bool exited = st != -1;
    if (exited)
        clock_gettime(CLOCK_REALTIME, ret_exited_at);
    for (;;) {
        if (exited && out < 0 && errfd < 0)
            break;
        nfds_t n = monitor_pollfds(io, p, out, errfd);
        size_t nn = exited ? 0 : monitor_net_pollfds(net, p + n);
        /* after the exit only the drain is left; the pid namespace is gone,
         * so EOF comes at once unless something outside holds the pipe.
         * udp clients idle out: wake up now and then to close them */
        int r = poll(p, n + nn, exited ? 2000 : nn ? 10000 : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (r == 0 && exited))
            break;
        if (nn)
            monitor_net_events(net, p + n, nn);
        if (r == 0)
            continue;
        if (p[PFD_SIG].revents &&
            monitor_signal(io, c, exited, &st, ret_stop) && !exited) {
            exited = true;
            clock_gettime(CLOCK_REALTIME, ret_exited_at);
        }
        /* clients before output (whose broadcast may drop some) and
         * backwards: dropping one moves the last one into its place */
        for (size_t i = n - PFD_CLIENTS; i-- > 0;) {
            if (p[PFD_CLIENTS + i].revents)
                monitor_client(io, i, c);
        }
        if (p[PFD_CTL].revents)
            monitor_ctl(io, c, l);
        /* accept before output: a client that connected while we waited
         * on the start fd (run attaches before it starts the container)
         * must get the container's very first output */
        if (p[PFD_ATTACH].revents)
            monitor_accept(io);
        if (p[PFD_OUT].revents && !monitor_output(io, out, 2, l))
            out = -1;
        if (p[PFD_ERR].revents && !monitor_output(io, errfd, 3, l))
            errfd = -1;
    }
    free(p);
    return st;
}
