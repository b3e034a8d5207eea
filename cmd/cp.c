/* berth cp: copy between a container (running or not) and the host as a
 * tar stream through a pipe, so the side inside the container needs no
 * access to host paths and resolves every container path inside the
 * container's root (storage/ctr-fs.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/container.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/ctr-fs.h"
#include "storage/store.h"

int cmd_cp(struct cli_global *g, int argc, char **argv, berth_error_t *err);

/* One side of the copy: a container path or a host path ("-" a tar
 * stream on stdin/stdout). */
struct cp_side {
    char *ctr; /* NULL for the host */
    char *path;
};

/* podman's rule: "NAME:PATH" names a container unless what precedes the
 * colon looks like a path. */
static void cp_split(const char *arg, struct cp_side *ret)
{
    const char *colon = strchr(arg, ':');
    if (colon && colon != arg && arg[0] != '/' && arg[0] != '.' &&
        memchr(arg, '/', (size_t)(colon - arg)) == NULL) {
        ret->ctr = xstrndup(arg, (size_t)(colon - arg));
        ret->path = xstrdup(*(colon + 1) ? colon + 1 : "/");
        return;
    }
    ret->ctr = NULL;
    ret->path = xstrdup(arg);
}

/* The stream's top name for a source path; *ret_contents when the source
 * asks for its contents ("dir/.", or the root itself). */
static char *cp_src_name(const char *path, bool *ret_contents)
{
    _cleanup_free_ char *p = xstrdup(path);
    size_t n = strlen(p);
    *ret_contents = false;
    if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || strcmp(p, ".") == 0) {
        *ret_contents = true;
        p[n - 1] = '\0';
        n--;
    }
    while (n > 0 && p[n - 1] == '/')
        p[--n] = '\0';
    char *slash = strrchr(p, '/');
    const char *base = slash ? slash + 1 : p;
    if (*base == '\0' || strcmp(base, ".") == 0) {
        *ret_contents = true;
        return xstrdup("_");
    }
    return xstrdup(base);
}

/* --- the host side, in a forked process --- */

struct host_job {
    bool send; /* host -> container */
    const char *path;
    const char *name;
    int fd;
    struct ctrfs_put_opts put;
};

static int host_work(struct host_job *j, berth_error_t *err)
{
    struct ctrfs_root host = {AT_FDCWD, false, "the host"};
    if (j->send)
        return ctrfs_tar(&host, j->path, j->name, false, j->fd, err);
    return ctrfs_untar(&host, j->path, j->fd, &j->put, err);
}

static int host_spawn(struct host_job *j, int close_fd, pid_t *ret_pid,
                      int *ret_errfd, berth_error_t *err)
{
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t pid = fork();
    if (pid < 0)
        return berth_error_new(err, errno, "fork");
    if (pid == 0) {
        berth_error_t e = NULL;
        close(ep[0]);
        close(close_fd);
        signal(SIGPIPE, SIG_DFL);
        if (host_work(j, &e) < 0) {
            char *line = berth_error_serialize(&e);
            (void)!write(ep[1], line, strlen(line));
            _exit(125);
        }
        _exit(0);
    }
    close(ep[1]);
    *ret_pid = pid;
    *ret_errfd = ep[0];
    return 0;
}

/* The host side's result; a reader that died with the container side's
 * error (EPIPE) says nothing of its own. */
static int host_reap(pid_t pid, int errfd, berth_error_t *err)
{
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(errfd, buf + len, sizeof buf - 1 - len)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            len += (size_t)n;
    close(errfd);
    buf[len] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (len > 0)
        return berth_error_deserialize(err, buf);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return berth_error_new(err, 0, "copy on the host failed (status %d)",
                           status);
}

/* --- the container side, in ctrfs_with_root's child --- */

struct ctr_job {
    const char *where;
    const char *path;
    const char *name;
    int fd;
    const char *user; /* archive: a user name to resolve, or NULL */
    struct ctrfs_put_opts put;
};

static int open_in_root(int rootfd, const char *path)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT};
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* NAME or ID from the container's passwd/group file, numeric ids as is. */
static long lookup_id(int rootfd, const char *file, const char *name)
{
    char *end = NULL;
    long v = strtol(name, &end, 10);
    if (*name && *end == '\0')
        return v;
    if (*name == '\0' || strcmp(name, "root") == 0)
        return 0;
    int fd = open_in_root(rootfd, file);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    char line[1024];
    long found = -1;
    while (f && fgets(line, sizeof line, f)) {
        char *save = NULL, *n = strtok_r(line, ":", &save);
        (void)strtok_r(NULL, ":", &save);
        char *id = strtok_r(NULL, ":", &save);
        if (n && id && strcmp(n, name) == 0) {
            found = atol(id);
            break;
        }
    }
    if (f)
        fclose(f);
    else if (fd >= 0)
        close(fd);
    return found;
}

static int ctr_side(int rootfd, void *arg, berth_error_t *err)
{
    struct ctr_job *j = arg;
    struct ctrfs_root root = {rootfd, true, j->where};
    if (j->user) {
        _cleanup_free_ char *u = xstrdup(j->user);
        char *colon = strchr(u, ':');
        if (colon)
            *colon++ = '\0';
        long uid = lookup_id(rootfd, "/etc/passwd", u);
        long gid = colon ? lookup_id(rootfd, "/etc/group", colon) : -1;
        if (uid < 0)
            return berth_error_new(err, 0,
                                   "user %s not found in the "
                                   "container",
                                   u);
        if (gid < 0)
            gid = uid; /* podman: the user's primary group */
        j->put.uid = (uid_t)uid;
        j->put.gid = (gid_t)gid;
    }
    if (j->name)
        return ctrfs_tar(&root, j->path, j->name, false, j->fd, err);
    return ctrfs_untar(&root, j->path, j->fd, &j->put, err);
}

static int cp_run(struct store *s, json_t *rec, struct ctr_job *cj,
                  struct host_job *hj, berth_error_t *err)
{
    int p[2];
    pid_t pid = -1;
    int errfd = -1;
    if (pipe2(p, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    /* host -> container: the host writes p[1]; else it reads p[0] */
    hj->fd = hj->send ? p[1] : p[0];
    cj->fd = hj->send ? p[0] : p[1];
    if (host_spawn(hj, hj->send ? p[0] : p[1], &pid, &errfd, err) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    close(hj->fd);
    berth_error_t he = NULL;
    int r = ctrfs_with_root(s, rec, ctr_side, cj, err);
    close(cj->fd);
    int hr = host_reap(pid, errfd, &he);
    /* both failed: the receiving side's error is the one that explains
     * (the sender only saw its pipe break) */
    if (r < 0 && (hj->send || hr == 0)) {
        berth_error_free(&he);
        return -1;
    }
    if (hr < 0) {
        berth_error_free(err);
        *err = he;
        return -1;
    }
    return 0;
}

/* podman's --archive (default): files copied in belong to the
 * container's user; without it they keep their owners, host ids mapped to
 * the container's when rootless. */
static int cp_owner(struct store *s, json_t *rec, bool archive,
                    struct ctr_job *cj, struct userns_mapping *map,
                    berth_error_t *err)
{
    if (archive) {
        /* the OCI process user run resolved, or a name to look up */
        json_t *u = json_object_get(json_object_get(rec, "options"), "user");
        cj->put.owner = CTRFS_OWNER_FIXED;
        cj->put.uid = (uid_t)json_get_int(u, "uid", 0);
        cj->put.gid = (gid_t)json_get_int(u, "gid", 0);
        if (json_is_string(u))
            cj->user = json_string_value(u);
        return 0;
    }
    cj->put.owner = CTRFS_OWNER_KEEP;
    if (s->rootless) {
        if (userns_mapping_get(map, err) < 0)
            return -1;
        cj->put.from_host = map;
    }
    return 0;
}

int cmd_cp(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "cp",
        NULL,
        "[options] [CONTAINER:]SRC_PATH [CONTAINER:]DEST_PATH",
        "Copy files/folders between a container and the local filesystem",
        NULL,
        NULL};
    bool archive = true, overwrite = false;
    const struct cli_opt opts[] = {
        {"archive", 'a', CLI_BOOL, &archive, NULL,
         "Chown copied files to the primary uid/gid of the destination "
         "container."},
        {"overwrite", 0, CLI_BOOL, &overwrite, NULL,
         "Allow to overwrite directories with non-directories and vice "
         "versa"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    struct cp_side src = {0}, dst = {0};
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("cp", argc - optind, 2, 2, err) < 0)
        return -1;
    cp_split(argv[optind], &src);
    cp_split(argv[optind + 1], &dst);
    _cleanup_free_ char *sc = src.ctr, *sp = src.path, *dc = dst.ctr,
                        *dp = dst.path;
    if ((sc == NULL) == (dc == NULL)) {
        if (sc)
            return berth_error_new(err, 0,
                                   "copying from a container to "
                                   "another container is not supported");
        return berth_error_new(err, 0,
                               "invalid arguments %s, %s you must "
                               "use just one container",
                               argv[optind], argv[optind + 1]);
    }
    if (cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_json_ json_t *rec = NULL;
    if (ctr_lookup(s, sc ? sc : dc, &rec, err) < 0)
        return -1;
    _cleanup_free_ char *where = xasprintf("container %s", sc ? sc : dc);
    bool contents = false;
    _cleanup_free_ char *name = cp_src_name(sp, &contents);
    struct host_job hj = {
        .send = sc == NULL, .path = sc ? dp : sp, .name = name};
    struct ctr_job cj = {
        .where = where, .path = sc ? sp : dp, .name = sc ? name : NULL};
    struct userns_mapping map;
    if (sc) {
        hj.put.owner = CTRFS_OWNER_NONE;
        hj.put.overwrite = overwrite;
        hj.put.contents_only = contents;
    } else {
        cj.put.overwrite = overwrite;
        cj.put.contents_only = contents;
        if (cp_owner(s, rec, archive, &cj, &map, err) < 0)
            return -1;
    }
    /* "-": the tar stream is our stdin or stdout, the host does nothing */
    if (sc && strcmp(dp, "-") == 0) {
        cj.fd = STDOUT_FILENO;
        fflush(stdout);
        return ctrfs_with_root(s, rec, ctr_side, &cj, err);
    }
    if (dc && strcmp(sp, "-") == 0) {
        cj.fd = STDIN_FILENO;
        cj.put.raw = true;
        return ctrfs_with_root(s, rec, ctr_side, &cj, err);
    }
    return cp_run(s, rec, &cj, &hj, err);
}
