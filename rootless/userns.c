#define _GNU_SOURCE
#include "rootless/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <shadow/subid.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

bool userns_in_child(void)
{
    _cleanup_free_ char *map = NULL;
    berth_error_t e = NULL;
    unsigned a = 0, b = 0, c = 0;
    if (fs_read_file("/proc/self/uid_map", &map, NULL, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    /* the initial namespace maps every id to itself */
    if (sscanf(map, "%u %u %u", &a, &b, &c) != 3)
        return false;
    return !(a == 0 && b == 0 && c == 4294967295u);
}

bool userns_rootless(void)
{
    /* root of a user namespace (inside `berth unshare`) is still the
     * user: the user's store, overlay with userxattr.  Not cached: a
     * process may change its ids (setuid) after asking. */
    return geteuid() != 0 || userns_in_child();
}

static char *user_name(void)
{
    struct passwd *pw = getpwuid(getuid());
    if (pw)
        return xstrdup(pw->pw_name);
    return xasprintf("%u", (unsigned)getuid());
}

static int ranges_to_map(struct subid_range *r, int n, uint32_t self,
                         struct idmap_range *out)
{
    int k = 0;
    out[k++] = (struct idmap_range){0, self, 1};
    uint32_t next = 1;
    for (int i = 0; i < n && k < USERNS_MAX_RANGES; i++) {
        if (r[i].count == 0)
            continue;
        out[k++] = (struct idmap_range){next, (uint32_t)r[i].start,
                                        (uint32_t)r[i].count};
        next += (uint32_t)r[i].count;
    }
    return k;
}

int userns_mapping_get(struct userns_mapping *ret, berth_error_t *err)
{
    _cleanup_free_ char *name = user_name();
    struct subid_range *ur = NULL, *gr = NULL;
    int nu, ng;

    (void)err;
    memset(ret, 0, sizeof(*ret));
    /* libsubid consults /etc/subuid and NSS (sss, ldap) alike. */
    /* once per process: libsubid leaks a little on every init */
    static bool subid_ready;
    if (!subid_ready)
        subid_ready = subid_init("berth", NULL);
    nu = subid_get_uid_ranges(name, &ur);
    ng = subid_get_gid_ranges(name, &gr);
    if (nu <= 0 || ng <= 0) {
        ret->uid[0] = (struct idmap_range){0, (uint32_t)getuid(), 1};
        ret->gid[0] = (struct idmap_range){0, (uint32_t)getgid(), 1};
        ret->n_uid = ret->n_gid = 1;
        ret->single = true;
    } else {
        ret->n_uid = ranges_to_map(ur, nu, (uint32_t)getuid(), ret->uid);
        ret->n_gid = ranges_to_map(gr, ng, (uint32_t)getgid(), ret->gid);
    }
    free(ur);
    free(gr);
    return 0;
}

char *userns_mapping_format(const struct idmap_range *r, int n)
{
    char *out = xstrdup("");
    for (int i = 0; i < n; i++) {
        char *next = xasprintf("%s%u %u %u\n", out, r[i].container, r[i].host,
                               r[i].size);
        free(out);
        out = next;
    }
    return out;
}

char *userns_single_warning(void)
{
    _cleanup_free_ char *name = user_name();
    return xasprintf("no subuid/subgid ranges for user \"%s\": using a single "
                     "id mapping; files of other owners in images belong to "
                     "you inside containers. To fix: sudo usermod "
                     "--add-subuids 100000-165535 --add-subgids 100000-165535 "
                     "%s",
                     name, name);
}

static int run_idmap_tool(const char *tool, pid_t pid,
                          const struct idmap_range *r, int n,
                          berth_error_t *err)
{
    char **argv = NULL;
    strv_append(&argv, tool);
    strv_push(&argv, xasprintf("%d", (int)pid));
    for (int i = 0; i < n; i++) {
        strv_push(&argv, xasprintf("%u", r[i].container));
        strv_push(&argv, xasprintf("%u", r[i].host));
        strv_push(&argv, xasprintf("%u", r[i].size));
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        strv_free(argv);
        return berth_error_new(err, errno, "pipe");
    }
    pid_t child = fork();
    if (child == 0) {
        dup2(pipefd[1], 2);
        execvp(tool, argv);
        dprintf(2, "exec %s: %s", tool, strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    strv_free(argv);
    if (child < 0) {
        close(pipefd[0]);
        return berth_error_new(err, errno, "fork %s", tool);
    }
    char buf[512];
    ssize_t len = 0, m;
    while (len < (ssize_t)sizeof(buf) - 1 &&
           (m = read(pipefd[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
        len += m;
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n'))
        buf[--len] = '\0';
    close(pipefd[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return berth_error_new(err, 0,
                               "%s failed: %s (check /etc/subuid and "
                               "/etc/subgid, and that %s is installed "
                               "setuid or with file capabilities)",
                               tool, len ? buf : "unknown error", tool);
    return 0;
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    return write(fd, text, len) == (ssize_t)len ? 0 : -1;
}

/* Map the namespace of pid (which has just unshared CLONE_NEWUSER). */
static int map_pid(pid_t pid, const struct userns_mapping *m,
                   berth_error_t *err)
{
    if (m->single) {
        _cleanup_free_ char *u = userns_mapping_format(m->uid, m->n_uid);
        _cleanup_free_ char *g = userns_mapping_format(m->gid, m->n_gid);
        if (write_proc(pid, "uid_map", u) < 0)
            return berth_error_new(err, errno, "write uid_map");
        if (write_proc(pid, "setgroups", "deny") < 0)
            return berth_error_new(err, errno, "write setgroups");
        if (write_proc(pid, "gid_map", g) < 0)
            return berth_error_new(err, errno, "write gid_map");
        return 0;
    }
    if (run_idmap_tool("newuidmap", pid, m->uid, m->n_uid, err) < 0)
        return -1;
    return run_idmap_tool("newgidmap", pid, m->gid, m->n_gid, err);
}

static int become_root(berth_error_t *err)
{
    if (setresgid(0, 0, 0) < 0)
        return berth_error_new(err, errno, "setresgid in user namespace");
    if (setresuid(0, 0, 0) < 0)
        return berth_error_new(err, errno, "setresuid in user namespace");
    return 0;
}

static int unshare_error(berth_error_t *err)
{
    int e = errno;
    return berth_error_new(err, e,
                           "cannot create a user namespace (is "
                           "user.max_user_namespaces > 0 and "
                           "kernel.unprivileged_userns_clone enabled?)");
}

/* Child side: unshare, wait for the parent to map, become root. */
static int child_enter(int to_parent, int from_parent, berth_error_t *err)
{
    char c = 0;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
        c = 'E';
        (void)!write(to_parent, &c, 1);
        return unshare_error(err);
    }
    c = 'U';
    if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1 ||
        c != 'M')
        return berth_error_new(err, 0, "user namespace mapping failed");
    return become_root(err);
}

static void send_result(int fd, int r, berth_error_t *cerr)
{
    if (r < 0) {
        _cleanup_free_ char *line = berth_error_serialize(cerr);
        if (line == NULL)
            line = xstrdup("0 125 internal error: failure without message");
        dprintf(fd, "E%s", line);
    } else {
        dprintf(fd, "R%d", r);
    }
}

/* Child side of userns_run_in: into the user namespace of pid (which
 * maps us to root), and a mount namespace of our own. */
static int child_join(pid_t pid, berth_error_t *err)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/ns/user", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
        return berth_error_new(err, errno, "join the user namespace of %s",
                               path);
    if (unshare(CLONE_NEWNS) < 0)
        return berth_error_new(err, errno, "unshare mount namespace");
    return become_root(err);
}

int userns_run(userns_fn fn, void *arg, berth_error_t *err)
{
    return userns_run_in(0, fn, arg, err);
}

int userns_run_in(pid_t join, userns_fn fn, void *arg, berth_error_t *err)
{
    int sync_up[2], sync_down[2], result[2];
    struct userns_mapping m;
    /* root (real, or already in berth's namespace) needs no new one */
    bool rootless = geteuid() != 0;
    bool map = rootless && join <= 0;

    if (map && userns_mapping_get(&m, err) < 0)
        return -1;
    if (pipe2(sync_up, O_CLOEXEC) < 0 || pipe2(sync_down, O_CLOEXEC) < 0 ||
        pipe2(result, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return berth_error_new(err, errno, "fork");
    if (pid == 0) {
        berth_error_t cerr = NULL;
        int r = 0;
        /* A killed berth must not leave a helper writing into the store
         * (its temporary entry would stay locked): die with the parent,
         * also when it died before the prctl. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        close(sync_up[0]);
        close(sync_down[1]);
        close(result[0]);
        if (map)
            r = child_enter(sync_up[1], sync_down[0], &cerr);
        else if (rootless)
            r = child_join(join, &cerr);
        /* entering the namespace changes credentials, which clears the
         * parent-death signal */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        if (r == 0)
            r = fn(arg, &cerr);
        send_result(result[1], r, &cerr);
        _exit(r < 0 ? 1 : 0);
    }
    close(sync_up[1]);
    close(sync_down[0]);
    close(result[1]);
    int ret = 0;
    if (map) {
        char c = 0;
        if (read(sync_up[0], &c, 1) == 1 && c == 'U') {
            berth_error_t merr = NULL;
            if (map_pid(pid, &m, &merr) < 0) {
                kill(pid, SIGKILL);
                *err = merr;
                ret = -1;
            } else {
                c = 'M';
                (void)!write(sync_down[1], &c, 1);
            }
        }
    }
    close(sync_up[0]);
    close(sync_down[1]);
    char buf[4096];
    ssize_t len = 0, n;
    while (len < (ssize_t)sizeof(buf) - 1 &&
           (n = read(result[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
        len += n;
    buf[len < 0 ? 0 : len] = '\0';
    close(result[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (ret < 0)
        return -1;
    if (buf[0] == 'R')
        return atoi(buf + 1);
    if (buf[0] == 'E')
        return berth_error_deserialize(err, buf + 1);
    if (WIFSIGNALED(status))
        return berth_error_new(err, 0, "helper process killed by signal %d",
                               WTERMSIG(status));
    /* fn exec'd a program (the result pipe closed on exec): its exit
     * status is the result */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        return berth_error_new(err, 0, "helper process exited with status %d",
                               WEXITSTATUS(status));
    return berth_error_new(err, 0, "helper process failed without a message");
}

int userns_enter(berth_error_t *err)
{
    struct userns_mapping m;
    int up[2], down[2];

    if (geteuid() == 0)
        return 0;
    if (userns_mapping_get(&m, err) < 0)
        return -1;
    if (m.single) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
            return unshare_error(err);
        if (map_pid(getpid(), &m, err) < 0)
            return -1;
        return become_root(err);
    }
    /* newuidmap must be run from outside the namespace: a forked helper
     * waits for us to unshare, then maps our pid. */
    if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t self = getpid();
    pid_t helper = fork();
    if (helper < 0)
        return berth_error_new(err, errno, "fork");
    if (helper == 0) {
        char c;
        berth_error_t herr = NULL;
        close(up[1]);
        close(down[0]);
        if (read(up[0], &c, 1) != 1 || c != 'U')
            _exit(1);
        if (map_pid(self, &m, &herr) < 0) {
            _cleanup_free_ char *line = berth_error_serialize(&herr);
            dprintf(down[1], "E%s", line);
            _exit(1);
        }
        (void)!write(down[1], "M", 1);
        _exit(0);
    }
    close(up[0]);
    close(down[1]);
    char c = 'U';
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
        kill(helper, SIGKILL);
        waitpid(helper, NULL, 0);
        return unshare_error(err);
    }
    (void)!write(up[1], &c, 1);
    close(up[1]);
    char buf[1024];
    ssize_t n = read(down[0], buf, sizeof buf - 1);
    close(down[0]);
    waitpid(helper, NULL, 0);
    if (n <= 0)
        return berth_error_new(err, 0, "user namespace mapping failed");
    buf[n] = '\0';
    if (buf[0] == 'E')
        return berth_error_deserialize(err, buf + 1);
    return become_root(err);
}
