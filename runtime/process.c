#define _GNU_SOURCE
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"

#define RT_DEFAULT_PATH                                                        \
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int rt_rlimit_from_name(const char *name)
{
    static const struct {
        const char *name;
        int res;
    } t[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
    };
    for (size_t i = 0; name && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].res;
    return -1;
}

static int check_exec(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
        return -EACCES;
    return 0;
}

int rt_lookup_exec(const char *file, const char *path, char **ret,
                   berth_error_t *err)
{
    int r, seen = -ENOENT;

    if (file == NULL || file[0] == '\0')
        return berth_error_new(err, 0, "process.args must not be empty");
    if (strchr(file, '/')) {
        r = check_exec(file);
        if (r == 0) {
            *ret = xstrdup(file);
            return 0;
        }
        seen = r;
    } else {
        _cleanup_strv_ char **dirs = strv_split(path ? path : RT_DEFAULT_PATH,
                                                ":");
        for (char **d = dirs; d && *d; d++) {
            _cleanup_free_ char *cand = xasprintf("%s/%s", *d, file);
            r = check_exec(cand);
            if (r == 0) {
                *ret = TAKE_PTR(cand);
                return 0;
            }
            if (r == -EACCES)
                seen = r;
        }
    }
    if (seen == -EACCES) {
        berth_error_new(err, EACCES, "exec container process `%s`", file);
        berth_error_set_exit(err, 126);
        return -1;
    }
    berth_error_new(err, ENOENT, "executable file `%s` not found in $PATH",
                    file);
    berth_error_set_exit(err, 127);
    return -1;
}

static int set_rlimits(json_t *rlimits, berth_error_t *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(rlimits, i, v)
    {
        const char *type = json_get_str(v, "type");
        int res = rt_rlimit_from_name(type);
        if (res < 0)
            return berth_error_new(err, 0, "unknown rlimit %s",
                                   type ? type : "(missing)");
        struct rlimit rl = {(rlim_t)json_integer_value(json_object_get(v, "soft")),
                            (rlim_t)json_integer_value(json_object_get(v, "hard"))};
        if (setrlimit(res, &rl) < 0)
            return berth_error_new(err, errno, "setrlimit %s", type);
    }
    return 0;
}

static int set_user(json_t *user, berth_error_t *err)
{
    uid_t uid = (uid_t)json_get_int(user, "uid", 0);
    gid_t gid = (gid_t)json_get_int(user, "gid", 0);
    json_t *extra = json_object_get(user, "additionalGids");
    size_t n = json_array_size(extra);
    _cleanup_free_ gid_t *gids = xcalloc(n + 1, sizeof(gid_t));
    _cleanup_free_ char *sg = NULL;

    for (size_t i = 0; i < n; i++)
        gids[i] = (gid_t)json_integer_value(json_array_get(extra, i));
    /* a user namespace mapped without newgidmap (single id) has setgroups
     * denied; there is then nothing to drop either */
    bool can_setgroups = true;
    berth_error_t ignore = NULL;
    if (fs_read_file("/proc/self/setgroups", &sg, NULL, &ignore) == 0)
        can_setgroups = !str_has_prefix(sg, "deny");
    berth_error_free(&ignore);
    if (can_setgroups && setgroups(n, gids) < 0)
        return berth_error_new(err, errno, "setgroups");
    if (!can_setgroups && n > 0)
        return berth_error_new(err, EPERM, "cannot set additional groups "
                                           "(setgroups is denied in this user "
                                           "namespace)");
    if (setresgid(gid, gid, gid) < 0)
        return berth_error_new(err, errno, "setgid %u", (unsigned)gid);
    if (setresuid(uid, uid, uid) < 0)
        return berth_error_new(err, errno, "setuid %u", (unsigned)uid);
    umask((mode_t)json_get_int(user, "umask", 022));
    return 0;
}

static uint64_t cap_set(json_t *caps, const char *which)
{
    uint64_t m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(caps, which), i, v)
    {
        const char *name = json_string_value(v);
        int c = name ? caps_from_name(name) : -1;
        /* unknown to us or to this kernel: skipped, as runc warns */
        if (c >= 0)
            m |= 1ULL << c;
    }
    return m;
}

/* Bounding set first (needs CAP_SETPCAP), keep the permitted set across
 * the uid change, then set E/P/I and raise the ambient ones. */
static int set_user_and_caps(json_t *process, berth_error_t *err)
{
    json_t *caps = json_object_get(process, "capabilities");
    int last = caps_last();

    if (caps) {
        uint64_t bset = cap_set(caps, "bounding");
        for (int c = 0; c <= last; c++)
            if (!(bset & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
                errno != EINVAL)
                return berth_error_new(err, errno, "drop capability %d", c);
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            return berth_error_new(err, errno, "keep capabilities");
    }
    if (set_user(json_object_get(process, "user"), err) < 0)
        return -1;
    if (caps == NULL)
        return 0;
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    uint64_t e = cap_set(caps, "effective"), p = cap_set(caps, "permitted"),
             in = cap_set(caps, "inheritable"), a = cap_set(caps, "ambient");
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)e, (uint32_t)p, (uint32_t)in},
        {(uint32_t)(e >> 32), (uint32_t)(p >> 32), (uint32_t)(in >> 32)}};
    if (syscall(SYS_capset, &hdr, data) < 0)
        return berth_error_new(err, errno, "set capabilities");
    for (int c = 0; c <= last; c++)
        if (a & (1ULL << c))
            /* the kernel refuses ambient caps not permitted and
             * inheritable; runc only warns about those */
            (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
    return 0;
}

static int send_console(struct rt_init *c, berth_error_t *err)
{
    int ptn = 0;
    ioctl(c->pty_master, TIOCGPTN, &ptn);
    char name[64];
    snprintf(name, sizeof(name), "/dev/pts/%d", ptn);
    struct iovec iov = {name, strlen(name)};
    char buf[CMSG_SPACE(sizeof(int))];
    memset(buf, 0, sizeof(buf));
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = buf, .msg_controllen = sizeof(buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &c->pty_master, sizeof(int));
    if (sendmsg(c->console_fd, &msg, MSG_NOSIGNAL) < 0)
        return berth_error_new(err, errno, "send the pty to the console "
                                           "socket");
    close(c->pty_master);
    close(c->console_fd);
    c->pty_master = c->console_fd = -1;
    if (setsid() < 0 || ioctl(c->pty_slave, TIOCSCTTY, 0) < 0)
        return berth_error_new(err, errno, "make the pty the controlling "
                                           "terminal");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(c->pty_slave, fd) < 0)
            return berth_error_new(err, errno, "dup2 the pty");
    if (c->pty_slave > 2)
        close(c->pty_slave);
    return 0;
}

/* runc sets HOME from the container's /etc/passwd when the config does not */
static void env_add_home(char ***env, uid_t uid)
{
    for (char **e = *env; e && *e; e++)
        if (str_has_prefix(*e, "HOME="))
            return;
    char *home = NULL;
    _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
    char line[1024];
    while (f && home == NULL && fgets(line, sizeof(line), f)) {
        _cleanup_strv_ char **v = strv_split(line, ":\n");
        if (strv_len(v) >= 6 && (uid_t)strtoul(v[2], NULL, 10) == uid)
            home = xasprintf("HOME=%s", v[5]);
    }
    strv_push(env, home ? home : xstrdup("HOME=/"));
}

static int wait_exec_fifo(struct rt_init *c, berth_error_t *err)
{
    if (rt_send(c->sock, RT_MSG_READY, "") < 0)
        return berth_error_new(err, errno, "report ready");
    /* blocks until `start` opens the fifo for reading */
    _cleanup_close_ int fd =
        openat(c->state_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_error_new(err, errno, "open exec fifo");
    if (write(fd, "0", 1) != 1)
        return berth_error_new(err, errno, "write exec fifo");
    close(c->state_dirfd);
    c->state_dirfd = -1;
    return 0;
}

static int process_setup(struct rt_init *c, const struct rt_seccomp *filter,
                         char ***env,
                         char **ret_exe, berth_error_t *err)
{
    json_t *p = c->process;
    const char *cwd = json_get_str(p, "cwd");
    bool nnp = json_is_true(json_object_get(p, "noNewPrivileges"));
    json_t *oom = json_object_get(p, "oomScoreAdj");
    const char *path = NULL;

    if (set_rlimits(json_object_get(p, "rlimits"), err) < 0)
        return -1;
    if (json_is_integer(oom)) {
        _cleanup_free_ char *s = xasprintf("%d", (int)json_integer_value(oom));
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY);
        if (fd < 0 || write(fd, s, strlen(s)) < 0)
            return berth_error_new(err, errno, "set oomScoreAdj");
    }
    bool cwd_ok = cwd == NULL || chdir(cwd) == 0;
    for (char **e = *env; e && *e; e++)
        if (str_has_prefix(*e, "PATH="))
            path = *e + 5;
    env_add_home(env, (uid_t)json_get_int(json_object_get(p, "user"), "uid", 0));
    const char *arg0 = json_string_value(json_array_get(json_object_get(p, "args"), 0));
    if (rt_lookup_exec(arg0, path, ret_exe, err) < 0)
        return -1;
    if (c->pty_master >= 0 && send_console(c, err) < 0)
        return -1;
    /* without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
     * while we still have it, as runc */
    if (!nnp && rt_seccomp_load(filter, err) < 0)
        return -1;
    if (set_user_and_caps(p, err) < 0)
        return -1;
    /* the directory may be reachable by the container's user only */
    if (!cwd_ok && chdir(cwd) < 0)
        return berth_error_new(err, errno, "chdir to cwd (\"%s\") set in "
                                           "config.json", cwd);
    if (!c->exec_mode && wait_exec_fifo(c, err) < 0)
        return -1;
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return berth_error_new(err, errno, "set no_new_privs");
    if (nnp && rt_seccomp_load(filter, err) < 0)
        return -1;
    return 0;
}

/* As runc: the process gets stdio plus --preserve-fds, nothing else the
 * caller left open (bats' fd 3, a terminal's), and default signal
 * dispositions (an ignored SIGPIPE would survive exec). */
static void exec_prepare_fds_and_signals(int preserve)
{
    sigset_t all;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    unsigned first = 3 + (unsigned)(preserve > 0 ? preserve : 0);
    if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (int fd = (int)first; fd < 1024; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

_Noreturn void rt_process_run(struct rt_init *c)
{
    berth_error_t err = NULL;
    struct rt_seccomp *own = NULL;
    const struct rt_seccomp *filter = c->seccomp;
    _cleanup_strv_ char **env = NULL;
    _cleanup_strv_ char **args = NULL;
    _cleanup_free_ char *exe = NULL;
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(c->process, "env"), i, v)
    {
        if (json_is_string(v))
            strv_append(&env, json_string_value(v));
    }
    json_array_foreach(json_object_get(c->process, "args"), i, v)
    {
        if (json_is_string(v))
            strv_append(&args, json_string_value(v));
    }
    if (args == NULL) {
        berth_error_new(&err, 0, "process.args must not be empty");
        rt_child_fail(c->sock, &err);
    }
    json_t *linux_ = json_object_get(c->config, "linux");
    /* prepared by the runtime before it forked; else compiled here */
    if (filter == NULL &&
        rt_seccomp_prepare(json_object_get(linux_, "seccomp"), NULL, &own,
                           &err) < 0)
        rt_child_fail(c->sock, &err);
    if (filter == NULL)
        filter = own;
    if (process_setup(c, filter, &env, &exe, &err) < 0)
        rt_child_fail(c->sock, &err);
    exec_prepare_fds_and_signals(c->preserve_fds);
    execve(exe, args, env ? env : (char *[]){NULL});
    int e = errno;
    berth_error_new(&err, e, "exec container process `%s`", args[0]);
    berth_error_set_exit(&err, e == ENOENT ? 127 : 126);
    rt_child_fail(c->sock, &err);
}
