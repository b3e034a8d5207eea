#define _GNU_SOURCE
#include "storage/ctr-fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/rootfs.h"

static void cleanup_archivep(struct archive **a)
{
    if (*a)
        archive_free(*a);
}
#define _cleanup_archive_ _cleanup_(cleanup_archivep)

static int xopenat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .resolve = resolve};
    long r;
    do
        r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (r < 0 && errno == EAGAIN);
    return (int)r;
}

/* Open path in the root: confined to it when r->in_root. */
static int root_open(const struct ctrfs_root *r, const char *path, int flags)
{
    if (!r->in_root)
        return xopenat2(r->fd, path, flags, 0);
    while (*path == '/')
        path++;
    return xopenat2(r->fd, *path ? path : ".", flags, RESOLVE_IN_ROOT);
}

/* podman's wording, Go's lower-case errno text included: scripts grep it */
static int not_found(berth_error_t *err, const char *path, const char *where)
{
    berth_error_new(err, 0,
                    "\"%s\" could not be found on %s: no such file "
                    "or directory",
                    path, where);
    (*err)->errnum = ENOENT;
    return -1;
}

/* --- tar out --- */

struct tar_out {
    struct archive *a;
    dev_t root_dev;
    bool xdev;
};

static int tar_header(struct tar_out *t, const char *name,
                      const struct stat *st, const char *link,
                      berth_error_t *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_stat(e, st);
    archive_entry_copy_pathname(e, name);
    if (link)
        archive_entry_copy_symlink(e, link);
    if (!S_ISREG(st->st_mode))
        archive_entry_set_size(e, 0);
    int r = archive_write_header(t->a, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN)
        return berth_error_new(err, 0, "write tar entry %s: %s", name,
                               archive_error_string(t->a));
    return 0;
}

/* Exactly st_size bytes: a file growing or shrinking meanwhile (a running
 * container) must not desynchronize the stream. */
static int tar_data(struct tar_out *t, int fd, const char *name, off_t size,
                    berth_error_t *err)
{
    char buf[65536];
    off_t left = size;
    while (left > 0) {
        size_t want = left < (off_t)sizeof buf ? (size_t)left : sizeof buf;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error_new(err, errno, "read %s", name);
        if (n == 0) {
            memset(buf, 0, want);
            n = (ssize_t)want;
        }
        if (archive_write_data(t->a, buf, (size_t)n) < 0)
            return berth_error_new(err, 0, "write tar data %s: %s", name,
                                   archive_error_string(t->a));
        left -= n;
    }
    return 0;
}

static int tar_dir(struct tar_out *t, int dfd, const char *prefix,
                   berth_error_t *err);

/* One entry: fd is an O_PATH fd on it. */
static int tar_entry(struct tar_out *t, int fd, const char *name,
                     berth_error_t *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berth_error_new(err, errno, "stat %s", name);
    if (S_ISLNK(st.st_mode)) {
        char link[4096];
        ssize_t n = readlinkat(fd, "", link, sizeof link - 1);
        if (n < 0)
            return berth_error_new(err, errno, "readlink %s", name);
        link[n] = '\0';
        return tar_header(t, name, &st, link, err);
    }
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        _cleanup_close_ int rfd =
            open(proc, O_RDONLY | O_CLOEXEC |
                           (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        if (rfd < 0)
            return berth_error_new(err, errno, "open %s", name);
        if (*name && tar_header(t, name, &st, NULL, err) < 0)
            return -1;
        if (S_ISREG(st.st_mode))
            return tar_data(t, rfd, name, st.st_size, err);
        if (t->xdev && *name && st.st_dev != t->root_dev)
            return 0;
        return tar_dir(t, rfd, name, err);
    }
    return tar_header(t, name, &st, NULL, err);
}

static int tar_dir(struct tar_out *t, int dfd, const char *prefix,
                   berth_error_t *err)
{
    _cleanup_closedir_ DIR *d = NULL;
    int dup_fd = dup(dfd);
    if (dup_fd < 0 || (d = fdopendir(dup_fd)) == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return berth_error_new(err, errno, "read directory %s", prefix);
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *name = *prefix
                                        ? xasprintf("%s/%s", prefix, de->d_name)
                                        : xstrdup(de->d_name);
        _cleanup_close_ int fd =
            openat(dfd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* removed meanwhile */
            return berth_error_new(err, errno, "open %s", name);
        }
        if (tar_entry(t, fd, name, err) < 0)
            return -1;
    }
    if (errno != 0)
        return berth_error_new(err, errno, "read directory %s", prefix);
    return 0;
}

int ctrfs_tar(const struct ctrfs_root *r, const char *path, const char *name,
              bool xdev, int out_fd, berth_error_t *err)
{
    _cleanup_archive_ struct archive *a = archive_write_new();
    _cleanup_close_ int fd = root_open(r, path, O_PATH);
    struct tar_out t = {a, 0, xdev};
    struct stat st;

    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return not_found(err, path, r->where);
        return berth_error_new(err, errno, "open \"%s\" on %s", path, r->where);
    }
    if (fstat(fd, &st) < 0)
        return berth_error_new(err, errno, "stat %s", path);
    t.root_dev = st.st_dev;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
        return berth_error_new(err, 0, "tar: %s", archive_error_string(a));
    if (tar_entry(&t, fd, name, err) < 0)
        return -1;
    if (archive_write_close(a) != ARCHIVE_OK)
        return berth_error_new(err, 0, "tar: %s", archive_error_string(a));
    return 0;
}

/* --- tar in --- */

struct tar_in {
    const struct ctrfs_root *r;
    const struct ctrfs_put_opts *o;
    struct archive *a;
    char *base;   /* directory receiving the entries */
    int base_fd;  /* O_PATH on base (host side) */
    char *top;    /* the stream's top name */
    char *newtop; /* what it becomes under base; NULL: contents only */
    json_t *dirs; /* [rel, mode, uid, gid, mtime]: applied at the end */
};

static uint32_t map_id(const struct idmap_range *m, int n, uint32_t id)
{
    for (int i = 0; i < n; i++)
        if (id >= m[i].host && id - m[i].host < m[i].size)
            return m[i].container + (id - m[i].host);
    return 65534;
}

static void entry_owner(const struct tar_in *t, struct archive_entry *e,
                        uid_t *uid, gid_t *gid)
{
    const struct ctrfs_put_opts *o = t->o;
    if (o->owner == CTRFS_OWNER_FIXED) {
        *uid = o->uid;
        *gid = o->gid;
        return;
    }
    *uid = (uid_t)archive_entry_uid(e);
    *gid = (gid_t)archive_entry_gid(e);
    if (o->from_host) {
        *uid = map_id(o->from_host->uid, o->from_host->n_uid, *uid);
        *gid = map_id(o->from_host->gid, o->from_host->n_gid, *gid);
    }
}

/* Open the parent directory of rel (relative to base), confined. */
static int parent_open(struct tar_in *t, const char *rel, char **ret_name,
                       berth_error_t *err)
{
    _cleanup_free_ char *dir = xstrdup(rel);
    char *slash = strrchr(dir, '/');
    const char *name = rel;
    int fd;
    if (slash) {
        *slash = '\0';
        name = rel + (slash - dir) + 1;
    }
    if (t->r->in_root) {
        _cleanup_free_ char *p =
            slash ? xasprintf("%s/%s", t->base, dir) : xstrdup(t->base);
        fd = root_open(t->r, p, O_PATH | O_DIRECTORY);
    } else {
        fd = xopenat2(t->base_fd, slash ? dir : ".", O_PATH | O_DIRECTORY,
                      RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    }
    if (fd < 0)
        return berth_error_new(err, errno, "open parent of %s", rel);
    *ret_name = xstrdup(name);
    return fd;
}

/* Make room for a new entry of kind is_dir at pfd/name. Returns 1 when a
 * directory already stands there and is kept. */
static int make_room(struct tar_in *t, int pfd, const char *name, bool is_dir,
                     const char *rel, berth_error_t *err)
{
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0
                               : berth_error_new(err, errno, "stat %s", rel);
    if (S_ISDIR(st.st_mode) && is_dir)
        return 1;
    if (S_ISDIR(st.st_mode) != is_dir && !t->o->overwrite)
        return berth_error_new(err, 0,
                               "cannot overwrite %s \"%s\" with %s (use "
                               "--overwrite)",
                               S_ISDIR(st.st_mode) ? "directory"
                                                   : "non-directory",
                               rel, is_dir ? "directory" : "non-directory");
    if (unlinkat(pfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
        return berth_error_new(err, errno, "replace %s", rel);
    return 0;
}

static int put_file(struct tar_in *t, int pfd, const char *name,
                    struct archive_entry *e, const char *rel,
                    berth_error_t *err)
{
    _cleanup_close_ int fd = openat(
        pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;
    if (fd < 0)
        return berth_error_new(err, errno, "create %s", rel);
    while ((r = archive_read_data_block(t->a, &buf, &len, &off)) ==
           ARCHIVE_OK) {
        if (pwrite(fd, buf, len, off) != (ssize_t)len)
            return berth_error_new(err, errno, "write %s", rel);
    }
    if (r != ARCHIVE_EOF)
        return berth_error_new(err, 0, "read archive: %s",
                               archive_error_string(t->a));
    if (ftruncate(fd, archive_entry_size(e)) < 0)
        return berth_error_new(err, errno, "write %s", rel);
    uid_t uid;
    gid_t gid;
    entry_owner(t, e, &uid, &gid);
    if (t->o->owner != CTRFS_OWNER_NONE)
        (void)!fchown(fd, uid, gid); /* ids the namespace lacks: keep ours */
    if (fchmod(fd, archive_entry_perm(e)) < 0)
        return berth_error_new(err, errno, "chmod %s", rel);
    struct timespec ts[2] = {{archive_entry_mtime(e), 0},
                             {archive_entry_mtime(e), 0}};
    futimens(fd, ts);
    return 0;
}

static int put_entry(struct tar_in *t, struct archive_entry *e, const char *rel,
                     berth_error_t *err)
{
    _cleanup_free_ char *name = NULL;
    mode_t type = archive_entry_filetype(e);
    uid_t uid;
    gid_t gid;
    _cleanup_close_ int pfd = parent_open(t, rel, &name, err);
    if (pfd < 0)
        return -1;
    entry_owner(t, e, &uid, &gid);
    int keep = make_room(t, pfd, name, type == AE_IFDIR, rel, err);
    if (keep < 0)
        return -1;
    switch (type) {
    case AE_IFDIR:
        if (!keep && mkdirat(pfd, name, 0700) < 0)
            return berth_error_new(err, errno, "mkdir %s", rel);
        json_array_append_new(t->dirs,
                              json_pack("[s,I,I,I,I]", rel,
                                        (json_int_t)archive_entry_perm(e),
                                        (json_int_t)uid, (json_int_t)gid,
                                        (json_int_t)archive_entry_mtime(e)));
        return 0;
    case AE_IFREG:
        return put_file(t, pfd, name, e, rel, err);
    case AE_IFLNK:
        if (symlinkat(archive_entry_symlink(e), pfd, name) < 0)
            return berth_error_new(err, errno, "symlink %s", rel);
        if (t->o->owner != CTRFS_OWNER_NONE)
            (void)!fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        return 0;
    case AE_IFIFO:
        if (mknodat(pfd, name, S_IFIFO | archive_entry_perm(e), 0) < 0)
            return berth_error_new(err, errno, "mkfifo %s", rel);
        return 0;
    default:
        return 0; /* devices and sockets: skipped, as podman does */
    }
}

/* Directory modes, owners and times last: a read-only directory must
 * still receive its entries; deepest first. */
static void fix_dirs(struct tar_in *t)
{
    for (size_t i = json_array_size(t->dirs); i-- > 0;) {
        json_t *d = json_array_get(t->dirs, i);
        _cleanup_free_ char *name = NULL;
        const char *rel = json_string_value(json_array_get(d, 0));
        berth_error_t e = NULL;
        _cleanup_close_ int pfd = parent_open(t, rel, &name, &e);
        berth_error_free(&e);
        if (pfd < 0)
            continue;
        _cleanup_close_ int fd =
            openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (t->o->owner != CTRFS_OWNER_NONE)
            (void)!fchown(fd, (uid_t)json_integer_value(json_array_get(d, 2)),
                          (gid_t)json_integer_value(json_array_get(d, 3)));
        fchmod(fd, (mode_t)json_integer_value(json_array_get(d, 1)));
        time_t mt = (time_t)json_integer_value(json_array_get(d, 4));
        struct timespec ts[2] = {{mt, 0}, {mt, 0}};
        futimens(fd, ts);
    }
}

/* The entry's path below base: the stream's top component renamed (or
 * dropped with contents_only); NULL for the top itself when dropped. */
static char *map_path(struct tar_in *t, const char *path, berth_error_t *err)
{
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    size_t tl = strlen(t->top);
    _cleanup_free_ char *rest = NULL;
    if (t->o->raw) {
        while (*path == '/')
            path++;
        rest = xasprintf("/%s", path);
    } else if (strncmp(path, t->top, tl) != 0 ||
               (path[tl] != '\0' && path[tl] != '/')) {
        berth_error_new(err, 0, "invalid archive: entry %s outside %s", path,
                        t->top);
        return NULL;
    } else {
        rest = xstrdup(path + tl);
    }
    size_t n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/')
        rest[--n] = '\0';
    for (char *c = rest; *c;) {
        char *next = strchr(c + 1, '/');
        size_t clen = next ? (size_t)(next - c) : strlen(c);
        if (clen == 3 && strncmp(c, "/..", 3) == 0) {
            berth_error_new(err, 0, "invalid archive: entry %s", path);
            return NULL;
        }
        c += clen;
    }
    if (t->newtop == NULL)
        return *rest ? xstrdup(rest + 1) : NULL;
    return xasprintf("%s%s", t->newtop, rest);
}

static char *top_of(const char *path)
{
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    const char *slash = strchr(path, '/');
    return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(path);
}

static char *path_dirname(const char *p)
{
    _cleanup_free_ char *c = xstrdup(p);
    size_t n = strlen(c);
    while (n > 1 && c[n - 1] == '/')
        c[--n] = '\0';
    char *s = strrchr(c, '/');
    if (s == NULL)
        return xstrdup(".");
    if (s == c)
        return xstrdup("/");
    *s = '\0';
    return xstrdup(c);
}

static char *path_basename(const char *p)
{
    _cleanup_free_ char *c = xstrdup(p);
    size_t n = strlen(c);
    while (n > 1 && c[n - 1] == '/')
        c[--n] = '\0';
    char *s = strrchr(c, '/');
    return xstrdup(s ? s + 1 : c);
}

/* Decide base and newtop from dst and the stream's first entry. */
static int plan_dest(struct tar_in *t, const char *dst, bool src_dir,
                     berth_error_t *err)
{
    _cleanup_close_ int fd = root_open(t->r, dst, O_PATH);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            t->base = xstrdup(dst);
            t->newtop = src_dir && t->o->contents_only ? NULL : xstrdup(t->top);
            return 0;
        }
        if (src_dir)
            return berth_error_new(err, 0,
                                   "cannot copy directory to "
                                   "non-directory \"%s\" on %s",
                                   dst, t->r->where);
    } else if (errno != ENOENT) {
        return berth_error_new(err, errno, "\"%s\" on %s", dst, t->r->where);
    } else if (!src_dir && str_has_suffix(dst, "/")) {
        return not_found(err, dst, t->r->where);
    }
    t->base = path_dirname(dst);
    t->newtop = path_basename(dst);
    return 0;
}

static int untar_entries(struct tar_in *t, const char *dst, berth_error_t *err)
{
    struct archive_entry *e;
    bool first = true;
    int r;
    while ((r = archive_read_next_header(t->a, &e)) == ARCHIVE_OK) {
        if (first && t->o->raw) {
            /* a stream from stdin: its entries go into dst as they are */
            first = false;
            t->top = xstrdup("");
            t->base = xstrdup(dst);
            t->base_fd = root_open(t->r, dst, O_PATH | O_DIRECTORY);
            if (t->base_fd < 0)
                return errno == ENOTDIR
                           ? berth_error_new(err, ENOTDIR,
                                             "destination \"%s\" must be a "
                                             "directory",
                                             dst)
                           : not_found(err, dst, t->r->where);
        }
        if (first) {
            first = false;
            t->top = top_of(archive_entry_pathname(e));
            bool dir = archive_entry_filetype(e) == AE_IFDIR ||
                       strchr(archive_entry_pathname(e), '/') != NULL;
            if (plan_dest(t, dst, dir, err) < 0)
                return -1;
            t->base_fd = root_open(t->r, t->base, O_PATH | O_DIRECTORY);
            if (t->base_fd < 0)
                return not_found(err, t->base, t->r->where);
        }
        _cleanup_free_ char *rel = map_path(t, archive_entry_pathname(e), err);
        if (rel == NULL) {
            if (*err)
                return -1;
            continue;
        }
        if (put_entry(t, e, rel, err) < 0)
            return berth_error_prefix(err, "copy to %s", t->r->where);
    }
    if (r != ARCHIVE_EOF)
        return berth_error_new(err, 0, "read archive: %s",
                               archive_error_string(t->a));
    return 0;
}

int ctrfs_untar(const struct ctrfs_root *r, const char *dst, int in_fd,
                const struct ctrfs_put_opts *o, berth_error_t *err)
{
    _cleanup_archive_ struct archive *a = archive_read_new();
    _cleanup_json_ json_t *dirs = json_array();
    struct tar_in t = {r, o, a, NULL, -1, NULL, NULL, dirs};
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    if (archive_read_open_fd(a, in_fd, 65536) != ARCHIVE_OK)
        return berth_error_new(err, 0, "read archive: %s",
                               archive_error_string(a));
    int ret = untar_entries(&t, dst, err);
    if (ret == 0)
        fix_dirs(&t);
    if (t.base_fd >= 0)
        close(t.base_fd);
    free(t.base);
    free(t.top);
    free(t.newtop);
    return ret;
}

/* --- the container's root --- */

pid_t ctrfs_live_pid(json_t *rec)
{
    json_t *st = json_object_get(rec, "state");
    const char *status = json_get_str(st, "status");
    pid_t pid = (pid_t)json_get_int(st, "pid", 0);
    if (pid <= 0 || status == NULL ||
        (strcmp(status, "running") != 0 && strcmp(status, "paused") != 0 &&
         strcmp(status, "created") != 0))
        return 0;
    if (kill(pid, 0) < 0 && errno != EPERM)
        return 0;
    return pid;
}

struct with_root {
    ctrfs_fn fn;
    void *arg;
};

static int mounted_fn(const char *path, void *arg, berth_error_t *err)
{
    struct with_root *w = arg;
    _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berth_error_new(err, errno, "open %s", path);
    return w->fn(fd, w->arg, err);
}

/* In the forked child: join the init's user namespace (when it is not
 * ours) and open its root. */
static int join_child(pid_t pid, struct with_root *w, berth_error_t *err)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/user", (int)pid);
    _cleanup_close_ int ns = open(p, O_RDONLY | O_CLOEXEC);
    struct stat a, b;
    if (ns < 0)
        return berth_error_new(err, errno, "open %s", p);
    if (fstat(ns, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 &&
        a.st_ino != b.st_ino && setns(ns, CLONE_NEWUSER) < 0)
        return berth_error_new(err, errno,
                               "join the container's user "
                               "namespace");
    snprintf(p, sizeof p, "/proc/%d/root", (int)pid);
    _cleanup_close_ int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berth_error_new(err, errno, "open the container's root");
    /* an init that has not yet pivoted into its rootfs shares our root:
     * never hand that out as the container's */
    if (fstat(fd, &a) < 0 || stat("/", &b) < 0 ||
        (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
        return berth_error_new(err, EBUSY,
                               "the container's root is not "
                               "ready yet");
    return w->fn(fd, w->arg, err);
}

static int run_joined(pid_t pid, struct with_root *w, berth_error_t *err)
{
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t c = fork();
    if (c < 0)
        return berth_error_new(err, errno, "fork");
    if (c == 0) {
        berth_error_t ce = NULL;
        close(ep[0]);
        int r = join_child(pid, w, &ce);
        if (r < 0) {
            char *line = berth_error_serialize(&ce);
            (void)!write(ep[1], line, strlen(line));
        }
        _exit(r < 0 ? 125 : 0);
    }
    close(ep[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(ep[0], buf + len, sizeof buf - 1 - len)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            len += (size_t)n;
    close(ep[0]);
    buf[len] = '\0';
    int status = 0;
    while (waitpid(c, &status, 0) < 0 && errno == EINTR)
        ;
    if (len > 0)
        return berth_error_deserialize(err, buf);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return berth_error_new(err, 0, "container helper died (status %d)",
                               status);
    return 0;
}

int ctrfs_with_root(struct store *s, json_t *rec, ctrfs_fn fn, void *arg,
                    berth_error_t *err)
{
    struct with_root w = {fn, arg};
    pid_t pid = ctrfs_live_pid(rec);
    if (pid > 0)
        return run_joined(pid, &w, err);
    return rootfs_with_mounted(s, rec, mounted_fn, &w, err);
}

/* --- diff --- */

/* What engines put in every container: never reported (libpod/diff.go). */
static const char *const diff_skip[] = {
    "/dev",         "/etc/hostname", "/etc/hosts",  "/etc/resolv.conf",
    "/proc",        "/run",          "/run/notify", "/run/.containerenv",
    "/run/secrets", "/sys",          "/etc/mtab",   NULL,
};

enum { KIND_CHANGED = 0, KIND_ADDED = 1, KIND_DELETED = 2 };

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dfd, const char *name)
{
    char v[4] = {0};
    char p[64];
    _cleanup_close_ int fd =
        openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    if ((getxattr(p, "user.overlay.opaque", v, sizeof v - 1) > 0 ||
         getxattr(p, "trusted.overlay.opaque", v, sizeof v - 1) > 0) &&
        v[0] == 'y')
        return true;
    return faccessat(fd, ".wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Is /rel (no leading slash) in the image: the top-most layer holding it
 * or a whiteout of it decides. */
/* The image's entry at rel (no leading slash): the top-most layer holding
 * it or a whiteout of it decides. */
static bool lower_stat(char *const *lowers, const char *rel, struct stat *ret)
{
    _cleanup_free_ char *dir = path_dirname(rel);
    _cleanup_free_ char *base = path_basename(rel);
    for (size_t i = 0; lowers && lowers[i]; i++) {
        struct stat st;
        _cleanup_free_ char *p = xasprintf("%s/%s", lowers[i], rel);
        _cleanup_free_ char *wh =
            xasprintf("%s/%s/.wh.%s", lowers[i], dir, base);
        if (lstat(p, &st) == 0) {
            *ret = st;
            return !is_whiteout(&st);
        }
        if (lstat(wh, &st) == 0)
            return false;
    }
    return false;
}

static bool in_lowers(char *const *lowers, const char *rel)
{
    struct stat st;
    return lower_stat(lowers, rel, &st);
}

static void diff_add(json_t *out, const char *rel, int kind)
{
    _cleanup_free_ char *p = xasprintf("/%s", rel);
    for (size_t i = 0; diff_skip[i]; i++)
        if (strcmp(p, diff_skip[i]) == 0)
            return;
    json_array_append_new(out, json_pack("{s:s,s:i}", "Path", p, "Kind", kind));
}

/* Lower entries of an opaque dir that the upper does not have are gone. */
static void diff_opaque(char *const *lowers, const char *upper, const char *rel,
                        json_t *out)
{
    for (size_t i = 0; lowers && lowers[i]; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", lowers[i], rel);
        _cleanup_closedir_ DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' &&
                (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0 ||
                 str_has_prefix(de->d_name, ".wh.")))
                continue;
            _cleanup_free_ char *c = xasprintf("%s/%s", rel, de->d_name);
            _cleanup_free_ char *u = xasprintf("%s/%s", upper, c);
            struct stat st;
            if (lstat(u, &st) < 0 && in_lowers(lowers, c)) {
                bool dup = false;
                _cleanup_free_ char *abs = xasprintf("/%s", c);
                for (size_t j = 0; j < json_array_size(out); j++)
                    if (strcmp(json_get_str(json_array_get(out, j), "Path"),
                               abs) == 0)
                        dup = true;
                if (!dup)
                    diff_add(out, c, KIND_DELETED);
            }
        }
    }
}

static int diff_walk(const char *upper, char *const *lowers, const char *rel,
                     json_t *out, berth_error_t *err)
{
    _cleanup_free_ char *dir =
        *rel ? xasprintf("%s/%s", upper, rel) : xstrdup(upper);
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL)
        return berth_error_new(err, errno, "open %s", dir);
    while ((errno = 0, de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        struct stat st;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
            strcmp(n, ".wh..wh..opq") == 0)
            continue;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        bool wh = str_has_prefix(n, ".wh.");
        _cleanup_free_ char *c = *rel ? xasprintf("%s/%s", rel, wh ? n + 4 : n)
                                      : xstrdup(wh ? n + 4 : n);
        if (wh || is_whiteout(&st)) {
            diff_add(out, c, KIND_DELETED);
            continue;
        }
        diff_add(out, c, in_lowers(lowers, c) ? KIND_CHANGED : KIND_ADDED);
        if (!S_ISDIR(st.st_mode))
            continue;
        if (is_opaque(dirfd(d), n))
            diff_opaque(lowers, upper, c, out);
        if (diff_walk(upper, lowers, c, out, err) < 0)
            return -1;
    }
    return 0;
}

/* vfs: the container's whole tree against the image's; an entry is
 * changed when its type, mode, owner, size or mtime differ. */
static bool same_entry(const struct stat *a, const struct stat *b)
{
    return a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
           a->st_gid == b->st_gid &&
           (S_ISDIR(a->st_mode) || a->st_size == b->st_size) &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int copy_walk(const char *copy, char *const *lowers, const char *rel,
                     json_t *out, berth_error_t *err)
{
    _cleanup_free_ char *dir =
        *rel ? xasprintf("%s/%s", copy, rel) : xstrdup(copy);
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL)
        return berth_error_new(err, errno, "open %s", dir);
    while ((de = readdir(d)) != NULL) {
        struct stat st, lst;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        _cleanup_free_ char *c =
            *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        if (!lower_stat(lowers, c, &lst))
            diff_add(out, c, KIND_ADDED);
        else if (!same_entry(&st, &lst))
            diff_add(out, c, KIND_CHANGED);
        if (S_ISDIR(st.st_mode) && copy_walk(copy, lowers, c, out, err) < 0)
            return -1;
    }
    return 0;
}

/* Image entries the copy lacks; a deleted dir is one deletion. */
static void gone_walk(const char *copy, char *const *lowers, const char *low,
                      const char *rel, json_t *seen, json_t *out)
{
    _cleanup_free_ char *dir =
        *rel ? xasprintf("%s/%s", low, rel) : xstrdup(low);
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        struct stat st;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
            str_has_prefix(n, ".wh."))
            continue;
        _cleanup_free_ char *c = *rel ? xasprintf("%s/%s", rel, n) : xstrdup(n);
        _cleanup_free_ char *cp = xasprintf("%s/%s", copy, c);
        if (lstat(cp, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                gone_walk(copy, lowers, low, c, seen, out);
            continue;
        }
        if (json_object_get(seen, c) || !in_lowers(lowers, c))
            continue;
        json_object_set_new(seen, c, json_true());
        diff_add(out, c, KIND_DELETED);
    }
}

static int diff_cmp(const void *a, const void *b)
{
    return strcmp(json_get_str(*(json_t *const *)a, "Path"),
                  json_get_str(*(json_t *const *)b, "Path"));
}

static json_t *diff_sorted(json_t *out)
{
    size_t n = json_array_size(out);
    json_t **v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
    qsort(v, n, sizeof *v, diff_cmp);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(sorted, v[i]);
    free(v);
    return sorted;
}

int ctrfs_diff_dirs(const char *upper, char *const *lowers, json_t **ret,
                    berth_error_t *err)
{
    _cleanup_json_ json_t *out = json_array();
    if (diff_walk(upper, lowers, "", out, err) < 0)
        return -1;
    *ret = diff_sorted(out);
    return 0;
}

int ctrfs_diff_copy(const char *copy, char *const *lowers, json_t **ret,
                    berth_error_t *err)
{
    _cleanup_json_ json_t *out = json_array();
    _cleanup_json_ json_t *seen = json_object();
    if (copy_walk(copy, lowers, "", out, err) < 0)
        return -1;
    for (size_t i = 0; lowers && lowers[i]; i++)
        gone_walk(copy, lowers, lowers[i], "", seen, out);
    *ret = diff_sorted(out);
    return 0;
}

struct diff_job {
    char *upper;
    char **lowers;
    int out_fd;
    bool full_copy;
};

/* In the user namespace: the upper dir holds subordinate owners. */
static int diff_child(void *arg, berth_error_t *err)
{
    struct diff_job *j = arg;
    _cleanup_json_ json_t *out = NULL;
    if ((j->full_copy ? ctrfs_diff_copy(j->upper, j->lowers, &out, err)
                      : ctrfs_diff_dirs(j->upper, j->lowers, &out, err)) < 0)
        return -1;
    _cleanup_free_ char *txt = json_dump_compact(out);
    size_t len = strlen(txt);
    if (write(j->out_fd, txt, len) != (ssize_t)len)
        return berth_error_new(err, errno, "write diff");
    return 0;
}

int ctrfs_diff(struct store *s, json_t *rec, json_t **ret, berth_error_t *err)
{
    const char *id = json_get_str(rec, "id");
    json_t *layers = json_object_get(rec, "layers");
    _cleanup_strv_ char **lowers = xcalloc(1, sizeof(char *));
    _cleanup_free_ char *upper = containers_path(s, id, "diff");
    const char *driver = json_get_str(rec, "driver");

    for (size_t i = json_array_size(layers); i-- > 0;) {
        const char *ch = json_string_value(json_array_get(layers, i));
        if (ch == NULL)
            continue;
        strv_push(&lowers, store_layer_diff(
                               s, str_has_prefix(ch, "sha256:") ? ch + 7 : ch));
    }
    if (!fs_exists(upper)) {
        *ret = json_array();
        return 0;
    }
    _cleanup_fclose_ FILE *tmp = tmpfile();
    if (tmp == NULL)
        return berth_error_new(err, errno, "temporary file");
    struct diff_job j = {upper, lowers, fileno(tmp),
                         driver && strcmp(driver, "vfs") == 0};
    if (userns_run(diff_child, &j, err) < 0)
        return berth_error_prefix(err, "diff %.12s", id);
    rewind(tmp);
    json_error_t je;
    json_t *out = json_loadf(tmp, 0, &je);
    if (out == NULL)
        return berth_error_new(err, 0, "diff %.12s: %s", id, je.text);
    *ret = out;
    return 0;
}
