/* berth exec: run a process in a running container, with the container's
 * namespaces and security settings (the bundle's process object with the
 * user's changes), through the runtime's exec (runtime_exec). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/container.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"
#include "storage/containers.h"
#include "storage/store.h"

int cmd_exec(struct cli_global *g, int argc, char **argv, berth_error_t *err);

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}

struct exec_flags {
    bool interactive, tty, detach, privileged;
    char *user, *workdir, *detach_keys;
    char **env, **env_file;
};

/* Set KEY=VAL in env (a JSON array), replacing an earlier KEY. */
static void env_set(json_t *env, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e);
        if (s && strncmp(s, kv, klen) == 0 && s[klen] == '=') {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

/* KEY=VAL, or KEY taking the host's value (skipped when unset), as run. */
static int env_add(json_t *env, const char *e, berth_error_t *err)
{
    if (*e == '=' || *e == '\0')
        return berth_error_new(err, 0, "invalid environment variable \"%s\"",
                               e);
    if (strchr(e, '=')) {
        env_set(env, e);
        return 0;
    }
    const char *v = getenv(e);
    if (v) {
        _cleanup_free_ char *kv = xasprintf("%s=%s", e, v);
        env_set(env, kv);
    }
    return 0;
}

static int env_file_add(json_t *env, const char *path, berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    if (fs_read_file(path, &buf, NULL, err) < 0)
        return berth_error_prefix(err, "--env-file");
    _cleanup_strv_ char **lines = strv_split(buf, "\n");
    for (size_t i = 0; lines[i]; i++) {
        char *l = lines[i] + strspn(lines[i], " \t");
        l[strcspn(l, "\r")] = '\0';
        if (*l == '\0' || *l == '#')
            continue;
        if (env_add(env, l, err) < 0)
            return berth_error_prefix(err, "--env-file %s", path);
    }
    return 0;
}

static int set_user(struct store *s, const char *id, const char *spec,
                    json_t *proc, json_t *env, berth_error_t *err)
{
    _cleanup_free_ char *lookup = containers_path(s, id, "userdata/lookup");
    _cleanup_free_ gid_t *gids = NULL;
    _cleanup_free_ char *home = NULL;
    uid_t uid;
    gid_t gid;
    size_t n = 0;
    if (spec_resolve_user(lookup, spec, NULL, &uid, &gid, &gids, &n, &home,
                          err) < 0)
        return -1;
    json_t *user = json_pack("{s:I, s:I, s:i}", "uid", (json_int_t)uid, "gid",
                             (json_int_t)gid, "umask", 022);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(gids[i]));
    json_object_set_new(user, "additionalGids", a);
    json_object_set_new(proc, "user", user);
    _cleanup_free_ char *kv = xasprintf("HOME=%s", home && *home ? home : "/");
    env_set(env, kv);
    return 0;
}

static int set_all_caps(json_t *proc, berth_error_t *err)
{
    uint64_t mask = 0;
    if (caps_compute(NULL, NULL, true, &mask, err) < 0)
        return -1;
    _cleanup_strv_ char **names = caps_mask_to_strv(mask);
    json_t *caps = json_object();
    static const char *const sets[] = {"bounding", "effective", "inheritable",
                                       "permitted"};
    for (size_t i = 0; i < 4; i++) {
        json_t *a = json_array();
        for (size_t j = 0; names[j]; j++)
            json_array_append_new(a, json_string(names[j]));
        json_object_set_new(caps, sets[i], a);
    }
    json_object_set_new(proc, "capabilities", caps);
    return 0;
}

/* The process object: the container's, with the command and the flags. */
static int build_process(struct store *s, json_t *rec,
                         const struct exec_flags *f, char **cmd,
                         json_t **ret, berth_error_t *err)
{
    const char *id = json_get_str(rec, "id");
    _cleanup_free_ char *cfgp = containers_path(s, id, "userdata/config.json");
    _cleanup_json_ json_t *cfg = json_load_path(cfgp, err);
    if (cfg == NULL)
        return berth_error_prefix(err, "exec");
    _cleanup_json_ json_t *proc =
        json_deep_copy(json_object_get(cfg, "process"));
    if (!json_is_object(proc))
        return berth_error_new(err, 0, "exec: %s has no process", cfgp);
    json_t *args = json_array();
    for (size_t i = 0; cmd[i]; i++)
        json_array_append_new(args, json_string(cmd[i]));
    json_object_set_new(proc, "args", args);
    json_object_set_new(proc, "terminal", json_boolean(f->tty));
    json_object_del(proc, "consoleSize");
    json_t *env = json_object_get(proc, "env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(proc, "env", env);
    }
    if (f->tty)
        env_set(env, "TERM=xterm");
    /* the user's HOME, unless -e or --env-file sets one */
    if (f->user && *f->user && set_user(s, id, f->user, proc, env, err) < 0)
        return -1;
    for (size_t i = 0; f->env_file && f->env_file[i]; i++)
        if (env_file_add(env, f->env_file[i], err) < 0)
            return -1;
    for (size_t i = 0; f->env && f->env[i]; i++)
        if (env_add(env, f->env[i], err) < 0)
            return -1;
    if (f->workdir && *f->workdir)
        json_object_set_new(proc, "cwd", json_string(f->workdir));
    if (f->privileged && set_all_caps(proc, err) < 0)
        return -1;
    *ret = TAKE_PTR(proc);
    return 0;
}

/* ---- the terminal: the runtime hands us the pty master (recvtty) ---- */

static int console_listen(const char *path, berth_error_t *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return berth_error_new(err, ENAMETOOLONG, "console socket %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_error_new(err, errno, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        close(fd);
        return berth_error_new(err, e, "listen on %s", path);
    }
    return fd;
}

static int recv_fd(int conn)
{
    char name[256];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/* Wait for the runtime to connect and send the master; -1 when the child
 * running the exec ended first (it failed). */
static int console_accept(int lfd, pid_t child)
{
    for (;;) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int n = poll(&p, 1, 200);
        if (n > 0) {
            _cleanup_close_ int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            return conn < 0 ? -1 : recv_fd(conn);
        }
        siginfo_t si = {0};
        /* WNOWAIT: child_code() reaps it and reads its code */
        if ((waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) ==
                 0 && si.si_pid == child) ||
            (n < 0 && errno != EINTR))
            return -1;
    }
}

static size_t detach_parse(const char *keys, char out[8])
{
    size_t n = 0;
    _cleanup_strv_ char **parts =
        strv_split(keys ? keys : "ctrl-p,ctrl-q", ",");
    for (size_t i = 0; parts[i] && n < 8; i++) {
        const char *k = parts[i];
        if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6)
            out[n++] = (char)(k[5] & 0x1f);
        else if (strlen(k) == 1)
            out[n++] = k[0];
    }
    return n;
}

static void copy_winsize(int master)
{
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl(master, TIOCSWINSZ, &ws);
}

static volatile sig_atomic_t exec_winch;
static void exec_on_winch(int sig)
{
    (void)sig;
    exec_winch = 1;
}

/* Relay stdin (with -i) to the master and the master to stdout until the
 * process closes the pty.  Returns 1 when the user detached. */
static int pty_relay(int master, bool interactive, const char *detach_keys)
{
    char keys[8];
    size_t nkeys = interactive ? detach_parse(detach_keys, keys) : 0;
    size_t matched = 0;
    bool in_open = interactive;
    for (;;) {
        struct pollfd p[2] = {{.fd = master, .events = POLLIN},
                              {.fd = in_open ? STDIN_FILENO : -1,
                               .events = POLLIN}};
        int n = poll(p, 2, -1);
        if (exec_winch) {
            exec_winch = 0;
            copy_winsize(master);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        char buf[8192];
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
            if (r <= 0) {
                in_open = false;
            } else {
                for (ssize_t i = 0; i < r && nkeys > 0; i++) {
                    if (buf[i] == keys[matched]) {
                        if (++matched == nkeys)
                            return 1;
                    } else {
                        matched = buf[i] == keys[0] ? 1 : 0;
                    }
                }
                if (write(master, buf, (size_t)r) < 0)
                    in_open = false;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(master, buf, sizeof buf);
            if (r <= 0)
                return 0; /* EIO: the last holder of the slave is gone */
            for (ssize_t off = 0; off < r;) {
                ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(r - off));
                if (w <= 0)
                    return 0;
                off += w;
            }
        }
    }
}

static _Noreturn void pty_drain(int master)
{
    char buf[8192];
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0);
    }
}

/* Where an exec goes: berth's own runtime's state, or an external
 * runtime (run --runtime) with its state directory. */
struct exec_target {
    const char *root, *id, *runtime;
    pid_t pid; /* the container's process, for its user namespace */
};

static int child_code(pid_t child);

/* In the container's user namespace (rootless: the runtime that created
 * it ran there), unless it is ours already. */
static int join_userns(pid_t pid, berth_error_t *err)
{
    struct stat self, ctr;
    _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/user", (int)pid);
    if (stat("/proc/self/ns/user", &self) < 0 || stat(ns, &ctr) < 0)
        return berth_error_new(err, errno, "stat %s", ns);
    if (self.st_ino == ctr.st_ino && self.st_dev == ctr.st_dev)
        return 0;
    _cleanup_close_ int fd = open(ns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
        return berth_error_new(err, errno, "join the user namespace of %s",
                               ns);
    return 0;
}

/* `RUNTIME --root=ROOT exec --process FILE [--console-socket S] ID`: its
 * exit status is the process's. */
static int ext_exec(const struct exec_target *t, const char *procf,
                    const char *console, berth_error_t *err)
{
    _cleanup_free_ char *rootarg = xasprintf("--root=%s", t->root);
    const char *argv[] = {t->runtime, rootarg, "exec", "--process", procf,
                          console ? "--console-socket" : t->id,
                          console ? console : NULL, console ? t->id : NULL,
                          NULL};
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t child = fork();
    if (child < 0)
        return berth_error_new(err, errno, "fork");
    if (child == 0) {
        berth_error_t e = NULL;
        close(pfd[0]);
        if (join_userns(t->pid, &e) == 0) {
            execv(t->runtime, (char **)argv);
            berth_error_new(&e, errno, "exec %s", t->runtime);
        }
        (void)!write(pfd[1], e->msg, strlen(e->msg));
        _exit(127);
    }
    close(pfd[1]);
    char msg[512];
    ssize_t n = read(pfd[0], msg, sizeof msg - 1);
    close(pfd[0]);
    int code = child_code(child);
    if (n > 0) {
        msg[n] = '\0';
        return berth_error_new(err, 0, "%s", msg);
    }
    return code;
}

static int target_exec(const struct exec_target *t, const char *procf,
                       const char *console, berth_error_t *err)
{
    if (t->runtime)
        return ext_exec(t, procf, console, err);
    return runtime_exec(t->root, t->id, procf, console, err);
}

/* The exec itself, in a child when we must relay a terminal or detach:
 * prints its error and exits with the process's code. */
static _Noreturn void exec_child(const struct exec_target *t,
                                 const char *procf, const char *console)
{
    berth_error_t e = NULL;
    int code = target_exec(t, procf, console, &e);
    unlink(procf);
    if (code < 0) {
        fprintf(stderr, "Error: %s\n", e->msg);
        code = e->exit_code > 0 ? e->exit_code : 125;
        berth_error_free(&e);
    }
    _exit(code);
}

static int child_code(pid_t child)
{
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static int exec_tty(const struct exec_target *t, const char *procf,
                    const struct exec_flags *f, berth_error_t *err)
{
    char tmpl[] = "/tmp/berth-exec-XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return berth_error_new(err, errno, "mkdtemp");
    _cleanup_free_ char *sock = xasprintf("%s/console.sock", tmpl);
    int lfd = console_listen(sock, err);
    if (lfd < 0) {
        rmdir(tmpl);
        return -1;
    }
    pid_t child = fork();
    if (child < 0)
        return berth_error_new(err, errno, "fork");
    if (child == 0) {
        /* a session of its own: our terminal's hangup must not end the
         * wait for a process the user detached from */
        setsid();
        exec_child(t, procf, sock);
    }
    int master = console_accept(lfd, child);
    close(lfd);
    unlink(sock);
    rmdir(tmpl);
    if (master < 0)
        return child_code(child);
    struct termios saved;
    bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios raw_t = saved;
        cfmakeraw(&raw_t);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw_t);
        copy_winsize(master);
        signal(SIGWINCH, exec_on_winch);
    }
    int detached = pty_relay(master, f->interactive, f->detach_keys);
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (detached) {
        /* closing the last master fd would hang the process up: someone
         * must keep holding it and draining the output (conmon's job) */
        if (fork() == 0) {
            setsid();
            pty_drain(master);
        }
        close(master);
        return 0; /* the child keeps waiting for the process */
    }
    close(master);
    return child_code(child);
}

static int exec_run(struct store *s, json_t *rec, const char *procf,
                    const struct exec_flags *f, berth_error_t *err)
{
    _cleanup_free_ char *root = ctr_runtime_root(s, rec);
    const struct exec_target t = {
        root, json_get_str(rec, "id"), ctr_ext_runtime(rec),
        (pid_t)json_get_int(json_object_get(rec, "state"), "pid", 0)};
    if (f->detach) {
        /* podman prints the exec session's id; berth has no exec
         * sessions to name, so it prints nothing */
        pid_t child = fork();
        if (child < 0)
            return berth_error_new(err, errno, "fork");
        if (child == 0) {
            setsid();
            int null = open("/dev/null", O_RDWR);
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            if (fork() == 0)
                exec_child(&t, procf, NULL);
            _exit(0);
        }
        child_code(child);
        return 0;
    }
    if (f->tty)
        return exec_tty(&t, procf, f, err);
    if (!f->interactive) {
        /* podman gives the process no stdin without -i */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0 && null != STDIN_FILENO) {
            dup2(null, STDIN_FILENO);
            close(null);
        }
    }
    return target_exec(&t, procf, NULL, err);
}

static bool is_running(json_t *rec)
{
    const char *st = json_get_str(json_object_get(rec, "state"), "status");
    return st && strcmp(st, "running") == 0;
}

static int exec_container(struct store *s, const char *name, char **cmd,
                          const struct exec_flags *f, berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL, *proc = NULL;
    if (ctr_lookup(s, name, &rec, err) < 0)
        return -1;
    if (!is_running(rec))
        return berth_error_new(err, 0, "can only create exec sessions on "
                               "running containers: container state "
                               "improper");
    if (build_process(s, rec, f, cmd, &proc, err) < 0)
        return -1;
    _cleanup_free_ char *rundir =
        containers_run_path(s, json_get_str(rec, "id"));
    _cleanup_free_ char *procf =
        xasprintf("%s/exec-%d.json", rundir, (int)getpid());
    if (json_write_path(procf, proc, err) < 0)
        return -1;
    /* a detached exec's child removes the file itself, once done */
    int r = exec_run(s, rec, procf, f, err);
    if (!f->detach)
        unlink(procf);
    return r;
}

int cmd_exec(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "exec", NULL, "[options] CONTAINER COMMAND [ARG...]",
        "Run a process in a running container", NULL, NULL};
    struct exec_flags f = {0};
    const struct cli_opt opts[] = {
        {"detach", 'd', CLI_BOOL, &f.detach, NULL,
         "Run the exec session in detached mode (backgrounded)"},
        {"detach-keys", 0, CLI_STRING, &f.detach_keys, "keys",
         "Select the key sequence for detaching a container"},
        {"env", 'e', CLI_STRV, &f.env, "stringArray",
         "Set environment variables"},
        {"env-file", 0, CLI_STRV, &f.env_file, "stringArray",
         "Read in a file of environment variables"},
        {"interactive", 'i', CLI_BOOL, &f.interactive, NULL,
         "Make STDIN available to the contained process"},
        {"privileged", 0, CLI_BOOL, &f.privileged, NULL,
         "Give the process extended Linux capabilities"},
        {"tty", 't', CLI_BOOL, &f.tty, NULL, "Allocate a pseudo-TTY"},
        {"user", 'u', CLI_STRING, &f.user, "user",
         "Sets the username or UID used and optionally the groupname or GID "
         "for the specified command"},
        {"workdir", 'w', CLI_STRING, &f.workdir, "string",
         "Working directory inside the container"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, true, &optind, err);
    if (r == 0 && cli_nargs("exec", argc - optind, 2, -1, err) < 0)
        r = -1;
    if (r == 0 && cli_store(g, &s, err) < 0)
        r = -1;
    if (r == 0)
        r = exec_container(s, argv[optind], argv + optind + 1, &f, err);
    else if (r > 0)
        r = 0;
    free(f.user);
    free(f.workdir);
    free(f.detach_keys);
    strv_free(f.env);
    strv_free(f.env_file);
    return r;
}
