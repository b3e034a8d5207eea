#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/cgroup.h"
#include "runtime/runtime-internal.h"

#define RT_OCI_VERSION "1.0.2"

char *runtime_default_root(void)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        return xstrdup("/run/berth/oci-runtime");
    if (xdg && xdg[0])
        return xasprintf("%s/berth/oci-runtime", xdg);
    return xasprintf("/tmp/berth-%u/oci-runtime", (unsigned)geteuid());
}

int runtime_signal_parse(const char *s)
{
    if (s == NULL || *s == '\0')
        return -1;
    if (s[0] >= '0' && s[0] <= '9') {
        char *end;
        long n = strtol(s, &end, 10);
        return *end == '\0' && n > 0 && n < NSIG ? (int)n : -1;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 1; i < NSIG; i++) {
        const char *name = sigabbrev_np(i);
        if (name && strcasecmp(name, s) == 0)
            return i;
    }
    return -1;
}

static int check_id(const char *id, berth_error_t *err)
{
    if (id == NULL || id[0] == '\0' || strchr(id, '/') ||
        strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return berth_error_new(err, 0, "invalid container id \"%s\"",
                               id ? id : "");
    return 0;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Field 22 of /proc/PID/stat (start time) tells a recycled pid apart;
 * *ret_state is the process state letter. */
static unsigned long long proc_starttime(pid_t pid, char *ret_state)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (pid <= 0 || fs_read_file(path, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return 0;
    }
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    p += 2;
    if (ret_state)
        *ret_state = *p;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

struct rt_state {
    json_t *j;
    pid_t pid;
    char *dir;
    const char *status;
};

static void rt_state_free(struct rt_state *s)
{
    json_decref(s->j);
    free(s->dir);
}

static int state_load(const char *root, const char *id, struct rt_state *s,
                      berth_error_t *err)
{
    memset(s, 0, sizeof(*s));
    if (check_id(id, err) < 0)
        return -1;
    s->dir = xasprintf("%s/%s", root, id);
    _cleanup_free_ char *path = xasprintf("%s/state.json", s->dir);
    if (!fs_exists(path)) {
        free(s->dir);
        s->dir = NULL;
        return berth_error_new(err, 0, "container \"%s\" does not exist", id);
    }
    s->j = json_load_path(path, err);
    if (s->j == NULL) {
        free(s->dir);
        s->dir = NULL;
        return -1;
    }
    s->pid = (pid_t)json_get_int(s->j, "pid", 0);
    char st = 0;
    unsigned long long start = proc_starttime(s->pid, &st);
    bool alive = start != 0 && st != 'Z' && st != 'X' &&
                 start == (unsigned long long)json_get_int(s->j, "starttime", 0);
    _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", s->dir);
    s->status = !alive ? "stopped" : fs_exists(fifo) ? "created" : "running";
    return 0;
}

/* newuidmap/newgidmap for a rootless mapping beyond our own id */
static int run_map_tool(const char *tool, pid_t pid, json_t *maps,
                        berth_error_t *err)
{
    _cleanup_strv_ char **argv = NULL;
    size_t i;
    json_t *m;
    strv_append(&argv, tool);
    strv_push(&argv, xasprintf("%d", (int)pid));
    json_array_foreach(maps, i, m)
    {
        strv_push(&argv, xasprintf("%lld", (long long)json_get_int(m, "containerID", 0)));
        strv_push(&argv, xasprintf("%lld", (long long)json_get_int(m, "hostID", 0)));
        strv_push(&argv, xasprintf("%lld", (long long)json_get_int(m, "size", 0)));
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t child = fork();
    if (child == 0) {
        dup2(pfd[1], 2);
        execvp(tool, argv);
        dprintf(2, "exec %s: %s", tool, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    char buf[512];
    ssize_t len = 0, n;
    while (len < (ssize_t)sizeof(buf) - 1 &&
           (n = read(pfd[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
        len += n;
    buf[len] = '\0';
    close(pfd[0]);
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    int status = 0;
    if (child < 0)
        return berth_error_new(err, errno, "fork %s", tool);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return berth_error_new(err, 0, "%s failed: %s (check /etc/subuid and "
                                       "/etc/subgid)",
                               tool, len ? buf : "unknown error");
    return 0;
}

static int write_proc_file(pid_t pid, const char *file, const char *text,
                           berth_error_t *err)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return berth_error_new(err, errno, "write %s", path);
    return 0;
}

static char *format_maps(json_t *maps)
{
    char *out = xstrdup("");
    size_t i;
    json_t *m;
    json_array_foreach(maps, i, m)
    {
        char *n = xasprintf("%s%lld %lld %lld\n", out,
                            (long long)json_get_int(m, "containerID", 0),
                            (long long)json_get_int(m, "hostID", 0),
                            (long long)json_get_int(m, "size", 0));
        free(out);
        out = n;
    }
    return out;
}

static bool only_self(json_t *maps, unsigned self)
{
    json_t *m = json_array_get(maps, 0);
    return json_array_size(maps) == 1 &&
           json_get_int(m, "hostID", -1) == (int64_t)self &&
           json_get_int(m, "size", 0) == 1;
}

/* As root the maps are written directly; rootless, a map of just our own
 * id too (after denying setgroups, which the kernel requires), anything
 * wider through the setuid helpers. */
static int map_userns(pid_t pid, json_t *linux_, berth_error_t *err)
{
    json_t *um = json_object_get(linux_, "uidMappings");
    json_t *gm = json_object_get(linux_, "gidMappings");
    /* no mappings given: our own ids as root, as crun does */
    _cleanup_json_ json_t *du = json_pack("[{s:i,s:I,s:i}]", "containerID", 0,
                                          "hostID", (json_int_t)geteuid(),
                                          "size", 1);
    _cleanup_json_ json_t *dg = json_pack("[{s:i,s:I,s:i}]", "containerID", 0,
                                          "hostID", (json_int_t)getegid(),
                                          "size", 1);
    if (json_array_size(um) == 0)
        um = du;
    if (json_array_size(gm) == 0)
        gm = dg;
    _cleanup_free_ char *u = format_maps(um);
    _cleanup_free_ char *g = format_maps(gm);

    if (geteuid() == 0 || only_self(um, (unsigned)geteuid())) {
        if (json_array_size(um) && write_proc_file(pid, "uid_map", u, err) < 0)
            return -1;
    } else if (run_map_tool("newuidmap", pid, um, err) < 0) {
        return -1;
    }
    if (geteuid() == 0 || only_self(gm, (unsigned)getegid())) {
        if (geteuid() != 0 &&
            write_proc_file(pid, "setgroups", "deny", err) < 0)
            return -1;
        if (json_array_size(gm) && write_proc_file(pid, "gid_map", g, err) < 0)
            return -1;
        return 0;
    }
    return run_map_tool("newgidmap", pid, gm, err);
}

static int console_connect(const char *path, berth_error_t *err)
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

/* The runtime side of the handshake: map the user namespace when asked,
 * learn the init's pid, wait until it is ready or failed. */
static int wait_ready(int sock, pid_t child, json_t *linux_, pid_t *ret_pid,
                      berth_error_t *err)
{
    pid_t pid = 0;
    bool ready = false;
    char buf[4096];

    while (!ready || pid == 0) {
        ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *ret_pid = pid;
            return berth_error_new(err, 0, "container init exited before it "
                                           "was ready");
        }
        buf[n] = '\0';
        switch (buf[0]) {
        case RT_MSG_USERNS:
            if (map_userns(child, linux_, err) < 0)
                return -1;
            (void)!send(sock, "M", 1, MSG_NOSIGNAL);
            break;
        case RT_MSG_PID:
            pid = atoi(buf + 1);
            break;
        case RT_MSG_READY:
            ready = true;
            break;
        case RT_MSG_ERROR:
            *ret_pid = pid;
            return berth_error_deserialize(err, buf + 1);
        default:
            return berth_error_new(err, 0, "unexpected message from the "
                                           "container init");
        }
    }
    *ret_pid = pid;
    return 0;
}

static json_t *load_bundle(const char *bundle, char **ret_bundle,
                           char **ret_rootfs, berth_error_t *err)
{
    char abs[PATH_MAX];
    if (realpath(bundle, abs) == NULL)
        return berth_error_new(err, errno, "bundle %s", bundle), NULL;
    _cleanup_free_ char *cfg_path = xasprintf("%s/config.json", abs);
    _cleanup_json_ json_t *cfg = json_load_path(cfg_path, err);
    if (cfg == NULL)
        return NULL;
    const char *rp = json_get_str(json_object_get(cfg, "root"), "path");
    if (rp == NULL || !json_is_object(json_object_get(cfg, "process")))
        return berth_error_new(err, 0, "%s: root.path and process are "
                                       "required",
                               cfg_path),
               NULL;
    _cleanup_free_ char *joined =
        rp[0] == '/' ? xstrdup(rp) : xasprintf("%s/%s", abs, rp);
    char rootfs[PATH_MAX];
    if (realpath(joined, rootfs) == NULL)
        return berth_error_new(err, errno, "rootfs %s", joined), NULL;
    *ret_bundle = xstrdup(abs);
    *ret_rootfs = xstrdup(rootfs);
    return TAKE_PTR(cfg);
}

static bool has_userns(json_t *linux_)
{
    size_t i;
    json_t *ns;
    json_array_foreach(json_object_get(linux_, "namespaces"), i, ns)
    {
        const char *t = json_get_str(ns, "type");
        if (t && strcmp(t, "user") == 0)
            return true;
    }
    return false;
}

static int write_state(const char *dir, const char *id, const char *bundle,
                       const char *rootfs, pid_t pid, json_t *cfg,
                       berth_error_t *err)
{
    _cleanup_free_ char *created = time_rfc3339_now();
    _cleanup_free_ char *path = xasprintf("%s/state.json", dir);
    json_t *ann = json_object_get(cfg, "annotations");
    _cleanup_json_ json_t *j = json_pack(
        "{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:O}", "ociVersion",
        RT_OCI_VERSION, "id", id, "pid", (int)pid, "starttime",
        (json_int_t)proc_starttime(pid, NULL), "bundle", bundle, "rootfs",
        rootfs, "created", created, "annotations",
        ann ? ann : json_object());
    if (ann == NULL)
        json_decref(json_object_get(j, "annotations"));
    /* delete needs it after the bundle may be gone (rm removes the
     * container's directory while its monitor deletes) */
    const char *cg = json_get_str(json_object_get(cfg, "linux"), "cgroupsPath");
    if (cg && *cg)
        json_object_set_new(j, "cgroupsPath", json_string(cg));
    return json_write_path(path, j, err);
}

/* linux.cgroupsPath: the init (still waiting on the exec fifo) goes into
 * a cgroup of its own with linux.resources applied.  Limits that cannot
 * be applied are warnings (the CLI said so already), refused writes are
 * errors. */
static int setup_cgroup(json_t *linux_, pid_t pid, berth_error_t *err)
{
    const char *path = json_get_str(linux_, "cgroupsPath");
    if (path == NULL || *path == '\0')
        return 0;
    struct cgroup_info info = {0};
    _cleanup_strv_ char **warnings = NULL;
    int r = -1;
    if (cgroup_detect(NULL, &info, err) == 0 &&
        cgroup_create(&info, path, err) == 0 &&
        cgroup_enter(&info, path, pid, err) == 0 &&
        cgroup_apply_resources(&info, path,
                               json_object_get(linux_, "resources"),
                               &warnings, err) == 0)
        r = 0;
    for (size_t i = 0; warnings && warnings[i]; i++)
        fprintf(stderr, "berth-runtime: warning: %s\n", warnings[i]);
    if (r < 0) {
        berth_error_t e = NULL;
        cgroup_destroy(&info, path, &e);
        berth_error_free(&e);
    }
    cgroup_info_clear(&info);
    return r < 0 ? berth_error_prefix(err, "cgroup %s", path) : 0;
}

/* The cgroup goes with the container. */
static void destroy_cgroup(const char *path)
{
    berth_error_t e = NULL;
    struct cgroup_info info = {0};
    if (path && *path && cgroup_detect(NULL, &info, &e) == 0 &&
        cgroup_destroy(&info, path, &e) < 0)
        fprintf(stderr, "berth-runtime: warning: %s\n", e->msg);
    berth_error_free(&e);
    cgroup_info_clear(&info);
}

struct rt_created {
    pid_t pid;
    int sock; /* stays open for run: errors after start arrive here */
};

static int create_fork(const char *dir, json_t *cfg, const char *bundle,
                       char *rootfs, const struct runtime_create_opts *opts,
                       struct rt_created *ret, berth_error_t *err)
{
    json_t *process = json_object_get(cfg, "process");
    bool terminal = json_is_true(json_object_get(process, "terminal"));
    _cleanup_close_ int dirfd =
        open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int console = -1;
    int sv[2];

    if (dirfd < 0)
        return berth_error_new(err, errno, "open %s", dir);
    if (terminal && opts->console_socket &&
        (console = console_connect(opts->console_socket, err)) < 0)
        return -1;
    _cleanup_free_ char *cache = xasprintf("%s/../seccomp", dir);
    _cleanup_(rt_seccomp_freep) struct rt_seccomp *filter = NULL;
    if (rt_seccomp_prepare(
            json_object_get(json_object_get(cfg, "linux"), "seccomp"), cache,
            &filter, err) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return berth_error_new(err, errno, "socketpair");
    pid_t child = fork();
    if (child < 0) {
        close(sv[0]);
        close(sv[1]);
        return berth_error_new(err, errno, "fork");
    }
    if (child == 0) {
        close(sv[0]);
        struct rt_init c = {cfg, process, rootfs, bundle, sv[1], dirfd,
                            console, -1, -1,
                            has_userns(json_object_get(cfg, "linux")), false,
                            opts->preserve_fds, filter};
        rt_child_main(&c);
    }
    close(sv[1]);
    int r = wait_ready(sv[0], child, json_object_get(cfg, "linux"), &ret->pid,
                       err);
    if (r < 0) {
        if (ret->pid > 0)
            kill(ret->pid, SIGKILL);
        kill(child, SIGKILL);
    }
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        close(sv[0]);
        return -1;
    }
    ret->sock = sv[0];
    return 0;
}

static int create_internal(const char *root, const char *id,
                           const struct runtime_create_opts *opts,
                           bool run_mode, struct rt_created *ret,
                           berth_error_t *err)
{
    _cleanup_free_ char *bundle = NULL, *rootfs = NULL;
    _cleanup_json_ json_t *cfg = NULL;

    if (check_id(id, err) < 0)
        return -1;
    cfg = load_bundle(opts->bundle ? opts->bundle : ".", &bundle, &rootfs, err);
    if (cfg == NULL)
        return -1;
    bool terminal = json_is_true(
        json_object_get(json_object_get(cfg, "process"), "terminal"));
    if (terminal && opts->console_socket == NULL && !run_mode)
        return berth_error_new(err, 0, "--console-socket is required when "
                                       "process.terminal is true");
    if (fs_mkdir_p(root, 0711, err) < 0)
        return -1;
    _cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
    if (mkdir(dir, 0711) < 0)
        return errno == EEXIST
                   ? berth_error_new(err, 0, "container with id exists: %s", id)
                   : berth_error_new(err, errno, "mkdir %s", dir);
    /* the init opens the fifo as the container's user, after pivot_root */
    _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", dir);
    berth_error_t ignore = NULL;
    if (chmod(dir, 0711) < 0 || mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0) {
        berth_error_new(err, errno, "create %s", fifo);
        goto fail;
    }
    if (run_mode)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    if (create_fork(dir, cfg, bundle, rootfs, opts, ret, err) < 0)
        goto fail;
    if (setup_cgroup(json_object_get(cfg, "linux"), ret->pid, err) < 0 ||
        write_state(dir, id, bundle, rootfs, ret->pid, cfg, err) < 0)
        goto fail_kill;
    if (opts->pid_file) {
        _cleanup_free_ char *s = xasprintf("%d", (int)ret->pid);
        if (fs_write_file_atomic(opts->pid_file, s, strlen(s), 0644, err) < 0)
            goto fail_kill;
    }
    return 0;
fail_kill:
    kill(ret->pid, SIGKILL);
    close(ret->sock);
fail:
    fs_rm_rf(dir, &ignore);
    berth_error_free(&ignore);
    /* "executable file not found" reads best as the container's own */
    if ((*err)->exit_code == 126 || (*err)->exit_code == 127)
        return -1;
    return berth_error_prefix(err, "create container %s", id);
}

int runtime_create(const char *root, const char *id,
                   const struct runtime_create_opts *opts, berth_error_t *err)
{
    struct rt_created c;
    if (create_internal(root, id, opts, false, &c, err) < 0)
        return -1;
    close(c.sock);
    return 0;
}

/* Poll the fifo and the init: a dead init never opens the fifo. */
static int release_fifo(const char *dir, pid_t pid, berth_error_t *err)
{
    _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", dir);
    _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    _cleanup_close_ int pidfd = pidfd_open_(pid);
    char c;

    if (fd < 0)
        return berth_error_new(err, errno, "open %s", fifo);
    for (;;) {
        struct pollfd p[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
        int r = poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100);
        if (r < 0 && errno != EINTR)
            return berth_error_new(err, errno, "poll exec fifo");
        if (r > 0 && (p[0].revents & POLLIN) && read(fd, &c, 1) == 1)
            break;
        if ((r > 0 && (p[1].revents & POLLIN)) ||
            (pidfd < 0 && kill(pid, 0) < 0))
            return berth_error_new(err, 0, "container init exited before "
                                           "start");
    }
    unlink(fifo);
    return 0;
}

int runtime_start(const char *root, const char *id, berth_error_t *err)
{
    struct rt_state s;
    if (state_load(root, id, &s, err) < 0)
        return -1;
    int r = 0;
    if (strcmp(s.status, "created") != 0)
        r = berth_error_new(err, 0, "cannot start a container that is %s",
                            s.status);
    else
        r = release_fifo(s.dir, s.pid, err);
    rt_state_free(&s);
    return r;
}

int runtime_state(const char *root, const char *id, json_t **ret,
                  berth_error_t *err)
{
    struct rt_state s;
    if (state_load(root, id, &s, err) < 0)
        return -1;
    bool stopped = strcmp(s.status, "stopped") == 0;
    json_t *ann = json_object_get(s.j, "annotations");
    *ret = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:O}", "ociVersion",
                     RT_OCI_VERSION, "id", id, "status", s.status, "pid",
                     stopped ? 0 : (int)s.pid, "bundle",
                     json_get_str(s.j, "bundle"), "rootfs",
                     json_get_str(s.j, "rootfs"), "created",
                     json_get_str(s.j, "created"), "annotations",
                     ann ? ann : json_object());
    if (ann == NULL)
        json_decref(json_object_get(*ret, "annotations"));
    rt_state_free(&s);
    return 0;
}

static int signal_pid(pid_t pid, int sig, berth_error_t *err)
{
    /* by pidfd, so that a recycled pid is never signalled */
    _cleanup_close_ int pidfd = pidfd_open_(pid);
    int r = pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0)
                       : kill(pid, sig);
    if (r < 0 && errno != ESRCH)
        return berth_error_new(err, errno, "kill container init %d", (int)pid);
    return 0;
}

int runtime_kill(const char *root, const char *id, int sig, berth_error_t *err)
{
    struct rt_state s;
    if (state_load(root, id, &s, err) < 0)
        return -1;
    int r = strcmp(s.status, "stopped") == 0
                ? berth_error_new(err, 0, "container not running")
                : signal_pid(s.pid, sig, err);
    rt_state_free(&s);
    return r;
}

static void wait_dead(pid_t pid)
{
    _cleanup_close_ int pidfd = pidfd_open_(pid);
    if (pidfd < 0)
        return;
    struct pollfd p = {pidfd, POLLIN, 0};
    (void)poll(&p, 1, 10000);
}

int runtime_delete(const char *root, const char *id, bool force,
                   berth_error_t *err)
{
    struct rt_state s;
    if (state_load(root, id, &s, err) < 0)
        return -1;
    int r = 0;
    if (strcmp(s.status, "running") == 0 && !force) {
        r = berth_error_new(err, 0, "cannot delete container %s that is not "
                                    "stopped: running",
                            id);
    } else {
        /* a created container is destroyed without --force, as runc */
        if (strcmp(s.status, "stopped") != 0 &&
            signal_pid(s.pid, SIGKILL, err) == 0)
            wait_dead(s.pid);
        if (*err == NULL)
            destroy_cgroup(json_get_str(s.j, "cgroupsPath"));
        if (*err == NULL)
            r = fs_rm_rf(s.dir, err);
        else
            r = -1;
    }
    rt_state_free(&s);
    return r;
}

static volatile sig_atomic_t rt_run_pid;

static void forward_signal(int sig)
{
    if (rt_run_pid > 0)
        kill((pid_t)rt_run_pid, sig);
}

int runtime_run(const char *root, const char *id,
                const struct runtime_create_opts *opts, berth_error_t *err)
{
    struct rt_created c;
    berth_error_t ignore = NULL;
    int status = 0;
    char buf[4096];
    ssize_t n;

    if (create_internal(root, id, opts, true, &c, err) < 0)
        return -1;
    rt_run_pid = c.pid;
    struct sigaction sa = {.sa_handler = forward_signal};
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    int r = runtime_start(root, id, err);
    /* until the exec closes the socket, the init may still fail */
    while (r == 0 && ((n = recv(c.sock, buf, sizeof(buf) - 1, 0)) > 0 ||
                      (n < 0 && errno == EINTR))) {
        if (n > 0 && buf[0] == RT_MSG_ERROR) {
            buf[n] = '\0';
            r = berth_error_deserialize(err, buf + 1);
        }
    }
    close(c.sock);
    if (r < 0)
        kill(c.pid, SIGKILL);
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR)
        ;
    rt_run_pid = 0;
    if (runtime_delete(root, id, true, &ignore) < 0)
        berth_error_free(&ignore);
    if (r < 0)
        return -1;
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
