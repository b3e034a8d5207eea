/* Launching a container's monitor, releasing the container, and attaching
 * the terminal to it (see cmd/run.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/container.h"
#include "cmd/network.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/netmode.h"
#include "netns/ports.h"
#include "runtime/launch.h"
#include "storage/containers.h"
#include "storage/store.h"

static char *self_exe(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return xstrdup("berth");
    buf[n] = '\0';
    return xstrdup(buf);
}

/* A berth command on this store for the monitor to run, one FLAG per
 * word: `berth --root=R --runroot=RR ARG...` (NULL-terminated args). */
static void push_berth_cmd(char ***v, const char *flag, struct store *s,
                           const char *const *args)
{
    _cleanup_free_ char *exe = self_exe();
    _cleanup_free_ char *root = xasprintf("--root=%s", s->root);
    _cleanup_free_ char *runroot = xasprintf("--runroot=%s", s->runroot);
    const char *head[] = {exe, root, runroot};
    for (size_t i = 0; i < 3; i++) {
        strv_append(v, flag);
        strv_append(v, head[i]);
    }
    for (size_t i = 0; args[i]; i++) {
        strv_append(v, flag);
        strv_append(v, args[i]);
    }
}

/* slirp4netns and the ports it forwards, for the monitor. */
static int monitor_net_args(struct store *s, json_t *rec, char ***v,
                            berth_error_t *err)
{
    json_t *o = json_object_get(rec, "options");
    struct net_mode nm;
    if (net_mode_parse(json_get_str(o, "network"), &nm, err) < 0)
        return -1;
    _cleanup_free_ struct port_map *ports = NULL;
    size_t n = 0;
    ports_from_json(json_object_get(o, "ports"), &ports, &n);
    if (nm.kind == NET_BRIDGE) {
        /* published ports: TCP through the holder's slirp4netns straight
         * to the container's address, UDP relayed by the monitor */
        if (n > 0 && network_rootful()) {
            /* root: DNAT rules, taken back after each exit */
            const char *down[] = {"net-teardown", json_get_str(rec, "id"),
                                  NULL};
            push_berth_cmd(v, "--net-hook-down", s, down);
        } else if (n > 0) {
            _cleanup_json_ json_t *h = NULL;
            json_t *oo = json_object_get(rec, "options");
            const char *net = json_string_value(
                json_array_get(json_object_get(oo, "networks"), 0));
            if (ctr_lookup(s, NETNS_HOLDER, &h, err) < 0)
                return -1;
            _cleanup_free_ char *hdir =
                containers_run_path(s, json_get_str(h, "id"));
            strv_append(v, "--slirp-api");
            strv_push(v, xasprintf("%s/slirp.sock", hdir));
            strv_append(v, "--guest-addr");
            strv_append(v, json_get_str(json_object_get(oo, "ips"), net));
            strv_append(v, "--net-dir");
            strv_push(v, containers_run_path(s, json_get_str(rec, "id")));
            for (size_t i = 0; i < n; i++) {
                strv_append(v, "--publish");
                strv_push(v, xasprintf("%s,%s,%d,%d", ports[i].protocol,
                                       ports[i].host_ip, ports[i].host_port,
                                       ports[i].container_port));
            }
        }
        /* the monitor plugs each life into the networks */
        const char *setup[] = {"net-setup", json_get_str(rec, "id"), NULL};
        push_berth_cmd(v, "--net-hook", s, setup);
        return 0;
    }
    if (nm.kind != NET_SLIRP)
        return 0;
    _cleanup_free_ char *slirp = fs_find_exec("slirp4netns");
    if (slirp == NULL)
        return berth_error_new(err, ENOENT, "slirp4netns not found in $PATH: "
                               "install it (apt-get install slirp4netns) or "
                               "use --network none");
    strv_append(v, "--slirp4netns");
    strv_append(v, slirp);
    strv_append(v, "--net-dir");
    strv_push(v, containers_run_path(s, json_get_str(rec, "id")));
    _cleanup_strv_ char **args = net_mode_slirp_args(&nm);
    for (size_t i = 0; args[i]; i++) {
        strv_append(v, "--slirp-arg");
        strv_append(v, args[i]);
    }
    for (size_t i = 0; i < n; i++) {
        strv_append(v, "--publish");
        strv_push(v, xasprintf("%s,%s,%d,%d", ports[i].protocol,
                               ports[i].host_ip, ports[i].host_port,
                               ports[i].container_port));
    }
    return 0;
}

/* The namespaces a container enters from another one: options.join
 * ({"container": ID, "namespaces": [...]}, a pod's infra) or --network
 * container:NAME.  Their paths, by the other's pid now (it may have
 * restarted since the create), are written into the bundle; *ret its pid
 * (0 when none).  A pod's infra that is not running is started first, as
 * podman does. */
static int net_join_target(struct store *s, json_t *rec, pid_t *ret,
                           berth_error_t *err)
{
    json_t *o = json_object_get(rec, "options");
    json_t *join = json_object_get(o, "join");
    struct net_mode nm;
    *ret = 0;
    if (net_mode_parse(json_get_str(o, "network"), &nm, err) < 0)
        return -1;
    /* container networks: the holder's user namespace, our own netns */
    if (nm.kind == NET_BRIDGE)
        return network_rootful() ? 0 : network_holder_pid(s, ret, err);
    const char *target = json_get_str(join, "container");
    if (target == NULL && nm.kind == NET_CONTAINER)
        target = nm.target;
    if (target == NULL)
        return 0;
    _cleanup_json_ json_t *t = NULL, *cfg = NULL;
    if (ctr_lookup(s, target, &t, err) < 0)
        return berth_error_prefix(err, "network container:%s", target);
    json_t *st = json_object_get(t, "state");
    const char *status = json_get_str(st, "status");
    if (json_get_str(o, "pod") && (status == NULL ||
                                   strcmp(status, "running") != 0)) {
        if (ctr_launch(s, &t, err) < 0 || ctr_release(s, &t, err) < 0)
            return berth_error_prefix(err, "start the pod's infra container");
        st = json_object_get(t, "state");
        status = json_get_str(st, "status");
    }
    pid_t pid = (pid_t)json_get_int(st, "pid", 0);
    if (status == NULL || strcmp(status, "running") != 0 || pid <= 0)
        return berth_error_new(err, 0, "network container:%s: the container "
                               "is not running", target);
    _cleanup_free_ char *path = containers_path(
        s, json_get_str(rec, "id"), "userdata/config.json");
    if ((cfg = json_load_path(path, err)) == NULL)
        return -1;
    size_t i;
    json_t *ns;
    json_array_foreach(json_object_get(json_object_get(cfg, "linux"),
                                       "namespaces"), i, ns) {
        const char *type = json_get_str(ns, "type");
        bool joined = json_object_get(ns, "path") != NULL ||
                      (strcmp(type, "network") == 0 &&
                       nm.kind == NET_CONTAINER);
        if (!joined)
            continue;
        const char *file = strcmp(type, "network") == 0 ? "net" : type;
        json_object_set_new(ns, "path",
                            json_sprintf("/proc/%d/ns/%s", (int)pid, file));
    }
    if (json_write_path(path, cfg, err) < 0)
        return -1;
    *ret = pid;
    return 0;
}

/* The monitor's command line for this container. */
static char **monitor_argv(struct store *s, json_t *rec, const char *monitor,
                           int sync_fd, int start_fd)
{
    const char *id = json_get_str(rec, "id");
    json_t *o = json_object_get(rec, "options");
    _cleanup_free_ char *exe = self_exe();
    _cleanup_free_ char *bundle = containers_path(s, id, "userdata");
    _cleanup_free_ char *exits = ctr_exit_dir(s);
    _cleanup_free_ char *runroot = ctr_runtime_root(s, rec);
    const char *log_driver = json_get_str(o, "log_driver");
    const char *runtime = ctr_ext_runtime(rec);
    const char *restart = json_get_str(o, "restart");
    char **v = NULL;

    strv_append(&v, monitor);
    strv_append(&v, "--id");
    strv_append(&v, id);
    strv_append(&v, "--bundle");
    strv_append(&v, bundle);
    strv_append(&v, "--exit-dir");
    strv_append(&v, exits);
    strv_append(&v, "--log-path");
    strv_push(&v, containers_path(s, id, "userdata/ctr.log"));
    strv_append(&v, "--log-driver");
    strv_append(&v, log_driver ? log_driver : "k8s-file");
    if (json_get_str(o, "log_max_size")) {
        strv_append(&v, "--log-max-size");
        strv_append(&v, json_get_str(o, "log_max_size"));
    }
    if (json_is_true(json_object_get(o, "tty")))
        strv_append(&v, "--terminal");
    if (json_is_true(json_object_get(o, "interactive")))
        strv_append(&v, "--stdin");
    strv_append(&v, "--attach-socket");
    strv_push(&v, ctr_run_file(s, id, "attach"));
    if (runtime) {
        /* its state beside ours, where `exec` finds it (its own default
         * would be /run/NAME: in the user namespace getuid() is 0) */
        strv_append(&v, "--runtime");
        strv_append(&v, runtime);
        strv_append(&v, "--runtime-arg");
        strv_push(&v, xasprintf("--root=%s", runroot));
    } else {
        /* berth's own runtime, keeping its state under our runroot (in the
         * user namespace getuid() is 0, so its default would be /run);
         * the lean berth-runtime when installed (it starts in a quarter
         * of berth's time), else `berth oci-runtime` */
        _cleanup_free_ char *lean =
            ctr_helper_path("berth-runtime", "BERTH_RUNTIME");
        strv_append(&v, "--runtime");
        strv_append(&v, lean ? lean : exe);
        if (lean == NULL) {
            strv_append(&v, "--runtime-arg");
            strv_append(&v, "oci-runtime");
        }
        strv_append(&v, "--runtime-arg");
        strv_push(&v, xasprintf("--root=%s", runroot));
    }
    if (restart && *restart) {
        strv_append(&v, "--restart");
        strv_append(&v, restart);
    }
    if (json_is_true(json_object_get(o, "rm"))) {
        /* podman's --rm takes the anonymous volumes along */
        const char *rm[] = {"rm", "-f", "-v", id, NULL};
        push_berth_cmd(&v, "--rm-cmd", s, rm);
    }
    strv_append(&v, "--sync-fd");
    strv_push(&v, xasprintf("%d", sync_fd));
    strv_append(&v, "--start-fd");
    strv_push(&v, xasprintf("%d", start_fd));
    strv_append(&v, "--pid-file");
    strv_push(&v, ctr_run_file(s, id, "monitor.pid"));
    return v;
}

/* The runtime's failure, with podman's exit codes: 127 when the command
 * does not exist, 126 when it cannot be executed. */
static int launch_error(const char *msg, berth_error_t *err)
{
    /* the monitor quotes the runtime's own "Error: ..." line */
    if (str_has_prefix(msg, "runtime create: "))
        msg += strlen("runtime create: ");
    if (str_has_prefix(msg, "Error: "))
        msg += strlen("Error: ");
    berth_error_new(err, 0, "%s", msg);
    if (strstr(msg, "not found in $PATH") || strstr(msg, "No such file"))
        berth_error_set_exit(err, 127);
    else if (strstr(msg, "ermission denied") ||
             strstr(msg, "exec container process"))
        berth_error_set_exit(err, 126);
    return -1;
}

/* Read the monitor's one-line report: {"pid": N} or {"error": "..."}.
 * Returns 1 when the monitor said nothing at all. */
static int read_sync(int fd, long long *ret_pid, berth_error_t *err)
{
    char buf[8192];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    if (len == 0)
        return 1;
    _cleanup_json_ json_t *j = json_loads(buf, 0, NULL);
    if (json_get_str(j, "error"))
        return launch_error(json_get_str(j, "error"), err);
    json_t *pid = json_object_get(j, "pid");
    if (!json_is_integer(pid))
        return berth_error_new(err, 0, "bad report from the monitor: %s",
                               buf);
    *ret_pid = json_integer_value(pid);
    return 0;
}

int ctr_launch(struct store *s, json_t **rec, berth_error_t *err)
{
    /* a copy: *rec is replaced below */
    _cleanup_free_ char *id = xstrdup(json_get_str(*rec, "id"));
    _cleanup_free_ char *monitor = ctr_monitor_path(err);
    _cleanup_free_ char *rundir = containers_run_path(s, id);
    _cleanup_free_ char *exits = ctr_exit_dir(s);
    _cleanup_free_ char *fifo = ctr_run_file(s, id, "start");
    _cleanup_strv_ char **argv = NULL;
    _cleanup_close_ int start_fd = -1, sync_r = -1;
    int sync[2];
    long long pid = 0;

    if (monitor == NULL)
        return -1;
    if (fs_mkdir_p(rundir, 0700, err) < 0 || fs_mkdir_p(exits, 0700, err) < 0)
        return -1;
    /* a fresh run: the previous exit files must not be read as this one's */
    _cleanup_free_ char *xf = xasprintf("%s/%s", exits, id);
    _cleanup_free_ char *xj = xasprintf("%s/%s.json", exits, id);
    unlink(xf);
    unlink(xj);
    unlink(fifo);
    if (mkfifo(fifo, 0600) < 0)
        return berth_error_new(err, errno, "mkfifo %s", fifo);
    /* read-write: the monitor never sees EOF before `start` writes */
    start_fd = open(fifo, O_RDWR);
    if (start_fd < 0)
        return berth_error_new(err, errno, "open %s", fifo);
    if (pipe(sync) < 0)
        return berth_error_new(err, errno, "pipe");
    sync_r = sync[0];
    fcntl(sync_r, F_SETFD, FD_CLOEXEC);
    berth_error_t lerr = NULL;
    pid_t join = 0;
    /* first: the namespaces' owner (a network's holder) must exist for
     * the monitor's arguments */
    if (net_join_target(s, *rec, &join, err) < 0) {
        close(sync[1]);
        return -1;
    }
    argv = monitor_argv(s, *rec, monitor, sync[1], start_fd);
    if (monitor_net_args(s, *rec, &argv, err) < 0) {
        close(sync[1]);
        return -1;
    }
    int r = launch_monitor(s, *rec, argv, join, &lerr);
    close(sync[1]);
    /* the monitor's own report says more than its exit status */
    int rs = read_sync(sync_r, &pid, err);
    if (rs < 0) {
        berth_error_free(&lerr);
        return -1;
    }
    if (r < 0) {
        *err = lerr;
        return -1;
    }
    if (rs == 1)
        return berth_error_new(err, 0, "the container monitor exited "
                               "without reporting");
    struct container_state st = {.status = "created", .pid = pid,
                                 .exit_code = -1};
    if (containers_set_state(s, id, &st, err) < 0)
        return -1;
    json_decref(*rec);
    *rec = NULL;
    return containers_get(s, id, rec, err);
}

int ctr_release(struct store *s, json_t **rec, berth_error_t *err)
{
    _cleanup_free_ char *id = xstrdup(json_get_str(*rec, "id"));
    _cleanup_free_ char *fifo = ctr_run_file(s, id, "start");
    _cleanup_close_ int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    _cleanup_free_ char *now = time_rfc3339_now();
    if (fd < 0 || write(fd, "s", 1) != 1)
        return berth_error_new(err, errno, "start container %s",
                               json_get_str(*rec, "name"));
    struct container_state st = {.status = "running", .pid = -1,
                                 .exit_code = -1, .started_at = now};
    if (containers_set_state(s, id, &st, err) < 0)
        return -1;
    json_decref(*rec);
    *rec = NULL;
    return containers_get(s, id, rec, err);
}

int ctr_read_exit(struct store *s, const char *id)
{
    _cleanup_free_ char *dir = ctr_exit_dir(s);
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, id);
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(p, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return -1;
    }
    return atoi(buf);
}

int ctr_attach_connect(struct store *s, const char *id, int *ret_fd,
                       berth_error_t *err)
{
    _cleanup_free_ char *path = ctr_run_file(s, id, "attach");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_error_new(err, errno, "socket");
    /* long paths: connect through our own directory fd (/proc/self/fd) */
    _cleanup_free_ char *dir = containers_run_path(s, id);
    _cleanup_close_ int dfd = -1;
    if (strlen(path) >= sizeof addr.sun_path) {
        dfd = open(dir, O_PATH | O_CLOEXEC);
        snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach",
                 dfd);
    } else {
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(fd);
        return berth_error_new(err, e, "attach to container %s", id);
    }
    *ret_fd = fd;
    return 0;
}

int ctr_wait_exit(struct store *s, const char *id, int *ret_code)
{
    _cleanup_free_ char *dir = ctr_exit_dir(s);
    /* the monitor records the code before it hangs up on attached
     * clients: inotify (whose close costs ~10 ms) only when it has not */
    int code = ctr_read_exit(s, id);
    if (code >= 0) {
        *ret_code = code;
        return 0;
    }
    _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in >= 0)
        inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE);
    for (;;) {
        code = ctr_read_exit(s, id);
        if (code >= 0) {
            *ret_code = code;
            return 0;
        }
        if (!ctr_monitor_alive(s, id)) {
            /* one last look: the monitor may have written and left */
            code = ctr_read_exit(s, id);
            *ret_code = code;
            return code >= 0 ? 0 : -1;
        }
        /* the exit file's rename wakes us; the timeout only re-checks
         * that the monitor still lives */
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (in >= 0 && poll(&p, 1, 1000) > 0) {
            char buf[4096];
            while (read(in, buf, sizeof buf) > 0)
                ;
        } else if (in < 0) {
            poll(NULL, 0, 100);
        }
    }
}

/* "ctrl-p,ctrl-q" -> bytes 0x10 0x11; "" disables detaching. */
static size_t parse_detach(const char *keys, char out[8])
{
    size_t n = 0;
    _cleanup_strv_ char **parts = strv_split(keys ? keys : "ctrl-p,ctrl-q", ",");
    for (size_t i = 0; parts[i] && n < 8; i++) {
        const char *k = parts[i];
        if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6)
            out[n++] = (char)(k[5] & 0x1f);
        else if (strlen(k) == 1)
            out[n++] = k[0];
    }
    return n;
}

static volatile sig_atomic_t winch;
static void on_winch(int sig)
{
    (void)sig;
    winch = 1;
}

void ctr_send_size(struct store *s, const char *id)
{
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
        return;
    _cleanup_free_ char *dir = ctr_exit_dir(s);
    _cleanup_free_ char *ctl = xasprintf("%s/%s.ctl", dir, id);
    int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    dprintf(fd, "1 %u %u\n", ws.ws_row, ws.ws_col);
    close(fd);
}

static int write_all_fd(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

struct relay {
    int out;        /* output connection */
    int in;         /* input connection (may equal out with a tty) */
    bool stdin_open;
    char keys[8];
    size_t nkeys, matched;
};

/* Forward one read of stdin; returns 1 when the user detached. */
static int relay_stdin(struct relay *r)
{
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
        r->stdin_open = false;
        if (r->in != r->out) {
            /* stdin-once: closing the input connection closes the
             * container's stdin */
            close(r->in);
            r->in = -1;
        }
        return 0;
    }
    for (ssize_t i = 0; i < n && r->nkeys > 0; i++) {
        if (buf[i] == r->keys[r->matched]) {
            if (++r->matched == r->nkeys)
                return 1;
        } else {
            r->matched = buf[i] == r->keys[0] ? 1 : 0;
        }
    }
    if (r->in >= 0 && send(r->in, buf, (size_t)n, MSG_NOSIGNAL) < 0)
        r->stdin_open = false;
    return 0;
}

int ctr_attach_fd(struct store *s, json_t *rec, int connect_fd,
                  bool interactive, bool tty, const char *detach_keys,
                  int *ret_exit, berth_error_t *err)
{
    const char *id = json_get_str(rec, "id");
    struct relay r = {.out = connect_fd, .in = connect_fd,
                      .stdin_open = interactive};
    struct termios saved;
    bool raw = false;
    int detached = 0;

    r.nkeys = interactive ? parse_detach(detach_keys, r.keys) : 0;
    if (interactive && !tty &&
        ctr_attach_connect(s, id, &r.in, err) < 0)
        return -1;
    if (tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        raw = true;
        signal(SIGWINCH, on_winch);
        ctr_send_size(s, id);
    }
    for (;;) {
        struct pollfd p[2] = {{.fd = r.out, .events = POLLIN},
                              {.fd = r.stdin_open ? STDIN_FILENO : -1,
                               .events = POLLIN}};
        int n = poll(p, 2, raw ? 500 : -1);
        if (winch) {
            winch = 0;
            ctr_send_size(s, id);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (p[1].revents & (POLLIN | POLLHUP)) {
            if (relay_stdin(&r) == 1) {
                detached = 1;
                break;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[65536];
            ssize_t m = recv(r.out, buf, sizeof buf, 0);
            if (m <= 0)
                break; /* the monitor is done with us */
            int fd = buf[0] == 3 ? STDERR_FILENO : STDOUT_FILENO;
            write_all_fd(fd, buf + 1, (size_t)m - 1);
        }
    }
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (r.in >= 0 && r.in != r.out)
        close(r.in);
    if (detached) {
        *ret_exit = -1;
        return 0;
    }
    if (ctr_wait_exit(s, id, ret_exit) < 0)
        return berth_error_new(err, 0,
                               "container %s: the monitor exited without "
                               "recording an exit code",
                               json_get_str(rec, "name"));
    return 0;
}
