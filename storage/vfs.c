#define _GNU_SOURCE
/* vfs: every container gets a full copy of its image's layers, made by
 * applying them bottom up as overlay would show them: a whiteout (char
 * 0:0, or a ".wh.NAME" file where mknod was refused at unpack) deletes
 * NAME; an opaque dir (overlay's xattr, or ".wh..wh..opq") hides what the
 * lower layers had in it.  Slow and big, but needs no mount support beyond
 * a bind mount: the last resort. */
#include "storage/driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct vfs_link {
    dev_t dev;
    ino_t ino;
    char *rel;
};

struct vfs_ctx {
    int root_fd; /* dest */
    struct vfs_link *links; /* hard links seen in the current layer */
    size_t nlinks;
};

static int rm_at(int dfd, const char *name, berth_error_t *err);

static int clear_dir(int fd, berth_error_t *err)
{
    int dup_fd = dup(fd);
    if (dup_fd < 0)
        return berth_error_new(err, errno, "dup");
    _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
    struct dirent *de;
    if (d == NULL) {
        close(dup_fd);
        return berth_error_new(err, errno, "open directory");
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (rm_at(fd, de->d_name, err) < 0)
            return -1;
    }
    return 0;
}

static int rm_at(int dfd, const char *name, berth_error_t *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : berth_error_new(err, errno, "stat %s", name);
    if (S_ISDIR(st.st_mode)) {
        _cleanup_close_ int fd =
            openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || clear_dir(fd, err) < 0)
            return fd < 0 ? berth_error_new(err, errno, "open %s", name) : -1;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
            return berth_error_new(err, errno, "remove %s", name);
        return 0;
    }
    if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
        return berth_error_new(err, errno, "remove %s", name);
    return 0;
}

static bool is_overlay_xattr(const char *n)
{
    return str_has_prefix(n, "trusted.overlay.") ||
           str_has_prefix(n, "user.overlay.");
}

static bool fd_opaque(int fd)
{
    char v = 0;
    return (fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y') ||
           (fgetxattr(fd, "user.overlay.opaque", &v, 1) == 1 && v == 'y');
}

/* Copy xattrs but overlay's own markers.  Refusals (trusted.* rootless, a
 * file system without xattrs) lose the attribute, as podman's vfs does. */
static void copy_xattrs(int src, int dst)
{
    char names[4096], val[4096];
    ssize_t n = flistxattr(src, names, sizeof names);
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        if (is_overlay_xattr(name))
            continue;
        ssize_t vl = fgetxattr(src, name, val, sizeof val);
        if (vl >= 0)
            (void)fsetxattr(dst, name, val, (size_t)vl, 0);
    }
}

/* Owner, then mode (chown clears setuid), then times.  An owner with no
 * mapping in a single-id user namespace (EINVAL) stays ours. */
static int copy_meta(int dst, const struct stat *st, const char *rel,
                     berth_error_t *err)
{
    if (fchown(dst, st->st_uid, st->st_gid) < 0 && errno != EINVAL)
        return berth_error_new(err, errno, "chown %s", rel);
    if (fchmod(dst, st->st_mode & 07777) < 0)
        return berth_error_new(err, errno, "chmod %s", rel);
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (futimens(dst, ts) < 0)
        return berth_error_new(err, errno, "set times of %s", rel);
    return 0;
}

static int copy_data(int src, int dst, const char *rel, berth_error_t *err)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(src, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error_new(err, errno, "read %s", rel);
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(dst, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return berth_error_new(err, errno, "write %s", rel);
            off += w;
        }
    }
}

static const char *link_seen(struct vfs_ctx *c, const struct stat *st)
{
    for (size_t i = 0; i < c->nlinks; i++)
        if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
            return c->links[i].rel;
    return NULL;
}

static int copy_file(struct vfs_ctx *c, int sdir, int ddir, const char *name,
                     const struct stat *st, const char *rel, berth_error_t *err)
{
    if (st->st_nlink > 1) {
        const char *first = link_seen(c, st);
        if (first) {
            if (linkat(c->root_fd, first, ddir, name, 0) < 0)
                return berth_error_new(err, errno, "link %s", rel);
            return 0;
        }
        c->links = xrealloc(c->links, (c->nlinks + 1) * sizeof(*c->links));
        c->links[c->nlinks++] =
            (struct vfs_link){st->st_dev, st->st_ino, xstrdup(rel)};
    }
    _cleanup_close_ int in =
        openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int out = openat(
        ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in < 0 || out < 0)
        return berth_error_new(err, errno, "copy %s", rel);
    if (copy_data(in, out, rel, err) < 0)
        return -1;
    copy_xattrs(in, out);
    return copy_meta(out, st, rel, err);
}

static int copy_special(int sdir, int ddir, const char *name,
                        const struct stat *st, const char *rel,
                        berth_error_t *err)
{
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
        if (n < 0)
            return berth_error_new(err, errno, "readlink %s", rel);
        target[n] = '\0';
        if (symlinkat(target, ddir, name) < 0)
            return berth_error_new(err, errno, "symlink %s", rel);
    } else if (mknodat(ddir, name, st->st_mode, st->st_rdev) < 0) {
        /* device nodes in a user namespace: the runtime binds /dev anyway */
        if (errno == EPERM)
            return 0;
        return berth_error_new(err, errno, "mknod %s", rel);
    }
    if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
        errno != EINVAL)
        return berth_error_new(err, errno, "chown %s", rel);
    if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
        return berth_error_new(err, errno, "chmod %s", rel);
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW);
    return 0;
}

static int apply_dir(struct vfs_ctx *c, int sdir, int ddir, const char *rel,
                     berth_error_t *err);

static int apply_subdir(struct vfs_ctx *c, int sdir, int ddir,
                        const char *name, const struct stat *st,
                        const char *rel, berth_error_t *err)
{
    struct stat dst;
    _cleanup_close_ int s =
        openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0)
        return berth_error_new(err, errno, "open %s", rel);
    bool existed = fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
    if (existed && !S_ISDIR(dst.st_mode)) {
        if (rm_at(ddir, name, err) < 0)
            return -1;
        existed = false;
    }
    if (!existed && mkdirat(ddir, name, 0700) < 0)
        return berth_error_new(err, errno, "mkdir %s", rel);
    _cleanup_close_ int d =
        openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0)
        return berth_error_new(err, errno, "open %s", rel);
    struct stat o;
    if (existed && (fd_opaque(s) ||
                    fstatat(s, WH_OPAQUE, &o, AT_SYMLINK_NOFOLLOW) == 0) &&
        clear_dir(d, err) < 0)
        return -1;
    if (apply_dir(c, s, d, rel, err) < 0)
        return -1;
    copy_xattrs(s, d);
    return copy_meta(d, st, rel, err);
}

static int apply_entry(struct vfs_ctx *c, int sdir, int ddir, const char *name,
                       const char *rel, berth_error_t *err)
{
    struct stat st;
    if (strcmp(name, WH_OPAQUE) == 0)
        return 0; /* handled by apply_subdir */
    if (str_has_prefix(name, WH_PREFIX))
        return rm_at(ddir, name + strlen(WH_PREFIX), err);
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error_new(err, errno, "stat %s", rel);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
        return rm_at(ddir, name, err);
    if (S_ISDIR(st.st_mode))
        return apply_subdir(c, sdir, ddir, name, &st, rel, err);
    if (rm_at(ddir, name, err) < 0)
        return -1;
    if (S_ISREG(st.st_mode))
        return copy_file(c, sdir, ddir, name, &st, rel, err);
    return copy_special(sdir, ddir, name, &st, rel, err);
}

static int apply_dir(struct vfs_ctx *c, int sdir, int ddir, const char *rel,
                     berth_error_t *err)
{
    int dup_fd = dup(sdir);
    if (dup_fd < 0)
        return berth_error_new(err, errno, "dup");
    _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
    struct dirent *de;
    if (d == NULL) {
        close(dup_fd);
        return berth_error_new(err, errno, "open %s", rel);
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *sub =
            *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        if (apply_entry(c, sdir, ddir, de->d_name, sub, err) < 0)
            return -1;
    }
    return 0;
}

static void links_clear(struct vfs_ctx *c)
{
    for (size_t i = 0; i < c->nlinks; i++)
        free(c->links[i].rel);
    free(c->links);
    c->links = NULL;
    c->nlinks = 0;
}

int vfs_copy_layers(char *const *lowers, const char *dest, berth_error_t *err)
{
    struct vfs_ctx c = {0};
    size_t n = strv_len(lowers);
    c.root_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.root_fd < 0)
        return berth_error_new(err, errno, "open %s", dest);
    int r = 0;
    for (size_t i = n; r == 0 && i-- > 0;) {
        _cleanup_close_ int s =
            open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (s < 0 || fstat(s, &st) < 0) {
            r = berth_error_new(err, errno, "open %s", lowers[i]);
            break;
        }
        r = apply_dir(&c, s, c.root_fd, "", err);
        if (r == 0)
            r = copy_meta(c.root_fd, &st, "/", err);
        if (r < 0)
            berth_error_prefix(err, "copy layer %s", lowers[i]);
        links_clear(&c);
    }
    close(c.root_fd);
    return r;
}

struct vfs_job {
    char *const *lowers;
    const char *dest;
};

static int copy_child(void *arg, berth_error_t *err)
{
    struct vfs_job *j = arg;
    if (mkdir(j->dest, 0755) < 0)
        return berth_error_new(err, errno, "mkdir %s", j->dest);
    return vfs_copy_layers(j->lowers, j->dest, err);
}

static int vfs_prepare(struct store *s, const struct rootfs_layout *l,
                       berth_error_t *err)
{
    struct store_tmp t = {0};
    if (fs_exists(l->upper))
        return 0;
    if (store_tmp_new(s, &t, err) < 0)
        return -1;
    /* in the user namespace, so subordinate owners are kept */
    struct vfs_job j = {l->lowers, t.path};
    int r = userns_run(copy_child, &j, err);
    if (r >= 0 && rename(t.path, l->upper) < 0 && errno != EEXIST &&
        errno != ENOTEMPTY)
        r = berth_error_new(err, errno, "rename %s", l->upper);
    store_tmp_done(s, &t);
    return r < 0 ? -1 : 0;
}

static int vfs_mount(struct store *s, const struct rootfs_layout *l,
                     const char *target, berth_error_t *err)
{
    (void)s;
    return rootfs_bind(l->upper, target, err);
}

static int vfs_umount(struct store *s, const char *target, berth_error_t *err)
{
    (void)s;
    if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return berth_error_new(err, errno, "unmount %s", target);
    return 0;
}

static int vfs_supported(struct store *s, char **ret_reason,
                         berth_error_t *err)
{
    (void)s;
    (void)ret_reason;
    (void)err;
    return 1;
}

const struct rootfs_driver rootfs_driver_vfs = {
    .name = "vfs",
    .supported = vfs_supported,
    .prepare = vfs_prepare,
    .mount = vfs_mount,
    .umount = vfs_umount,
};
