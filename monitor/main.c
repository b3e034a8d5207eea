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
#include <sys/prctl.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void monitor_report(int sync_fd, const char *json)
{
    /* the CLI may be gone already: the exit file is what counts then */
    if (sync_fd >= 0 && monitor_write_all(sync_fd, json, strlen(json)) < 0)
        monitor_warn("sync fd: %s, ignoring", strerror(errno));
}

static void monitor_report_error(int sync_fd, const char *msg)
{
    char esc[2 * MONITOR_ERR_LEN], line[2 * MONITOR_ERR_LEN + 16];
    monitor_json_escape(esc, sizeof esc, msg);
    snprintf(line, sizeof line, "{\"error\": \"%s\"}\n", esc);
    monitor_report(sync_fd, line);
}

static int monitor_write_pid_file(const char *path, char *err)
{
    char d[4096], b[4096], buf[32];
    snprintf(d, sizeof d, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    return monitor_atomic_write(dirname(d), basename(b), buf, (size_t)n, err);
}

static void monitor_close_from(unsigned lo, unsigned hi)
{
    if (lo > hi)
        return;
    if (close_range(lo, hi, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = lo; fd <= (long)hi && fd < max; fd++)
        close((int)fd);
}

/* Keep 2, the sync and the start fd; anything else the CLI (or bats)
 * leaked would keep a pipe of theirs open for the container's life. */
static void monitor_close_fds(const struct monitor_opts *o)
{
    int keep[2] = {o->sync_fd, o->start_fd};
    if (keep[0] > keep[1]) {
        int t = keep[0];
        keep[0] = keep[1], keep[1] = t;
    }
    unsigned lo = 3;
    for (int i = 0; i < 2; i++) {
        if (keep[i] < 3)
            continue;
        monitor_close_from(lo, (unsigned)keep[i] - 1);
        lo = (unsigned)keep[i] + 1;
        /* neither the runtime nor the container may hold them */
        fcntl(keep[i], F_SETFD, FD_CLOEXEC);
    }
    monitor_close_from(lo, ~0U);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (null > 2)
            close(null);
    }
}

/* fork, setsid, fork: the monitor is neither the CLI's child nor a session
 * leader that could get a controlling terminal back.  The CLI's child exits
 * once the grandchild exists. */
static int monitor_daemonize(char *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return monitor_err(err, errno, "fork");
    if (pid > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
    }
    if (setsid() < 0)
        _exit(1);
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);
    return 0;
}

static int monitor_signals(char *err)
{
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return monitor_err(err, errno, "block signals");
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return monitor_err(err, errno, "signalfd");
    return fd;
}

/* One byte on the start fd means go; EOF means the CLI gave up. */
/* Whether the bundle's config.json is still there. */
static bool monitor_bundle_exists(const struct monitor_opts *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", o->bundle);
    return access(path, F_OK) == 0 || errno != ENOENT;
}

static bool monitor_wait_start(const struct monitor_opts *o)
{
    /* A `run` killed before it recorded the container as created leaves
     * us waiting for a start that no command will send: `rm` then removes
     * the bundle without knowing of us, and its deletion aborts the wait.
     * The bundle directory's own IN_DELETE_SELF would come late (open
     * files and mounts below it keep its dentry busy), the deletion of a
     * file in it comes at once.  `run` starts at once: no inotify then,
     * whose close costs a kernel RCU grace period (~10 ms). */
    struct pollfd p[2] = {{.fd = o->start_fd, .events = POLLIN},
                          {.fd = -1, .events = POLLIN}};
    char c = 0;
    ssize_t n = -1;
    int r, in = -1;
    do {
        r = poll(p, 1, 250);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (in >= 0 && inotify_add_watch(in, o->bundle,
                                         IN_DELETE | IN_DELETE_SELF |
                                             IN_MOVE_SELF) < 0) {
            close(in);
            in = -1;
        }
        p[1].fd = in;
        while (monitor_bundle_exists(o)) {
            r = poll(p, in >= 0 ? 2 : 1, -1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 || p[0].revents)
                break;
            char buf[4096];
            while (read(in, buf, sizeof buf) > 0)
                ;
        }
    }
    if (p[0].revents) {
        do {
            n = read(o->start_fd, &c, 1);
        } while (n < 0 && errno == EINTR);
    }
    if (in >= 0)
        close(in);
    close(o->start_fd);
    /* 'x' aborts like EOF: `rm` of a container that was created but never
     * started (its start fifo has a writer that never closes: us) */
    return n == 1 && c != 'x';
}

/* Restarts back off so a crashing container does not spin a CPU; a
 * SIGTERM or SIGINT meanwhile cancels the restart. */
static bool monitor_backoff(int sig_fd, int ms)
{
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_nsec += (long)ms * 1000000L;
    end.tv_sec += end.tv_nsec / 1000000000L;
    end.tv_nsec %= 1000000000L;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = (end.tv_sec - now.tv_sec) * 1000L +
                    (end.tv_nsec - now.tv_nsec) / 1000000L;
        struct pollfd p = {.fd = sig_fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0)
            return true;
        struct signalfd_siginfo si;
        while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                return false;
        }
        monitor_reap(0);
    }
}

static int monitor_exit_code(int st)
{
    if (st == -1)
        return 255;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

static bool monitor_stop_marker(const struct monitor_opts *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.stopped", o->exit_dir, o->id);
    return access(path, F_OK) == 0;
}

static void monitor_record_exit(const struct monitor_opts *o, int code,
                                const struct timespec *when, int restarts)
{
    char err[MONITOR_ERR_LEN];
    if (monitor_write_exit(o->exit_dir, o->id, code, when, restarts, err) < 0)
        monitor_warn("%s", err);
}

struct monitor {
    struct monitor_opts o;
    struct monitor_log log;
    struct monitor_io *io;
    int sig_fd, restarts;
};

/* One life of the container: create, start, serve, record.  Returns 1 to
 * restart, 0 when done, -1 on a failure before the first start (err). */
static int monitor_run_once(struct monitor *m, bool first, char *err)
{
    struct monitor_ctr c;
    struct timespec when;
    bool stop = false;
    int code;
    if (monitor_ctr_create(&c, &m->o, err) < 0) {
        if (first)
            return -1;
        /* a restart that cannot create: the last exit file says why not */
        monitor_warn("restart: %s", err);
        clock_gettime(CLOCK_REALTIME, &when);
        monitor_record_exit(&m->o, 125, &when, m->restarts);
        return 0;
    }
    struct monitor_net net;
    if (monitor_net_start(&net, &m->o, c.pid, err) < 0 ||
        (monitor_net_hook(&m->o, c.pid, err) < 0 &&
         (monitor_net_stop(&net), true))) {
        monitor_ctr_close(&c);
        monitor_ctr_delete(&m->o, true);
        monitor_reap(c.pid);
        if (first)
            return -1;
        monitor_warn("restart: %s", err);
        clock_gettime(CLOCK_REALTIME, &when);
        monitor_record_exit(&m->o, 125, &when, m->restarts);
        return 0;
    }
    if (first) {
        char line[64];
        snprintf(line, sizeof line, "{\"pid\": %d}\n", c.pid);
        monitor_report(m->o.sync_fd, line);
        if (m->o.start_fd >= 0 && !monitor_wait_start(&m->o)) {
            monitor_net_stop(&net);
            monitor_ctr_close(&c);
            monitor_ctr_delete(&m->o, true);
            return monitor_err(err, 0, "start fd closed before start, "
                                       "container deleted");
        }
    }
    monitor_io_ctl_pending(m->io, &c, &m->log);
    bool started = monitor_ctr_start(&m->o, err) == 0;
    if (!started) {
        monitor_warn("%s", err);
        /* killed between create and start: its own status is the truth */
        int st = monitor_reap(c.pid);
        clock_gettime(CLOCK_REALTIME, &when);
        code = st != -1 ? monitor_exit_code(st) : 125; /* podman's own */
        monitor_ctr_delete(&m->o, true);
        monitor_reap(c.pid);
        monitor_record_exit(&m->o, code, &when, m->restarts);
    } else {
        int st = monitor_io_run(m->io, &c, &m->log, &net, &stop, &when);
        code = monitor_exit_code(st);
        monitor_record_exit(&m->o, code, &when, m->restarts);
    }
    stop = stop || monitor_stop_marker(&m->o);
    bool again = monitor_should_restart(&m->o, code, m->restarts, stop);
    /* the code is recorded: attached clients (a foreground `run`) may go
     * before the runtime's delete */
    if (!again)
        monitor_io_hangup(m->io);
    monitor_net_stop(&net);
    monitor_net_hook_down(&m->o, c.pid);
    if (started)
        monitor_ctr_delete(&m->o, false);
    monitor_ctr_close(&c);
    if (!again)
        return 0;
    m->restarts++;
    return 1;
}

static int monitor_setup(struct monitor *m, char *err)
{
    if (m->o.pid_file && monitor_write_pid_file(m->o.pid_file, err) < 0)
        return -1;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return monitor_err(err, errno, "PR_SET_CHILD_SUBREAPER");
    m->sig_fd = monitor_signals(err);
    if (m->sig_fd < 0)
        return -1;
    if (monitor_log_open(&m->log, &m->o, err) < 0)
        return -1;
    m->io = monitor_io_new(&m->o, m->sig_fd, err);
    return m->io ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct monitor m = {.sig_fd = -1, .log = {.fd = -1}};
    char err[MONITOR_ERR_LEN];
    if (monitor_opts_parse(&m.o, argc, argv, err) < 0) {
        dprintf(STDERR_FILENO, "berth-monitor: %s\n", err);
        monitor_report_error(m.o.sync_fd, err);
        return 1;
    }
    monitor_warn_set_id(m.o.id);
    if (monitor_daemonize(err) < 0) {
        monitor_report_error(m.o.sync_fd, err);
        return 1;
    }
    monitor_close_fds(&m.o);
    int r = monitor_setup(&m, err);
    for (int ms = 100, first = 1; r == 0; first = 0) {
        int next = monitor_run_once(&m, first, err);
        if (next < 0)
            r = -1;
        if (next != 1 || !monitor_backoff(m.sig_fd, ms))
            break;
        ms = ms < 1000 ? ms * 2 : 2000;
    }
    if (r < 0)
        monitor_report_error(m.o.sync_fd, err);
    monitor_io_free(m.io);
    monitor_log_close(&m.log);
    if (m.o.sync_fd >= 0)
        close(m.o.sync_fd);
    if (r == 0 && m.o.rm_cmd) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execvp(m.o.rm_cmd[0], (char **)m.o.rm_cmd);
        monitor_warn("exec %s: %s", m.o.rm_cmd[0], strerror(errno));
        return 1;
    }
    monitor_opts_free(&m.o);
    return r < 0 ? 1 : 0;
}
