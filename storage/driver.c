#define _GNU_SOURCE
#include "storage/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/containers.h"
#include "storage/driver.h"

/* --- shared helpers --- */

int rootfs_private_mounts(bool unshare_first, berth_error_t *err)
{
    if (unshare_first && unshare(CLONE_NEWNS) < 0)
        return berth_error_new(err, errno, "unshare mount namespace");
    /* mounts made here must not propagate back to the host's tree */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return berth_error_new(err, errno, "make / private");
    return 0;
}

int rootfs_bind(const char *src, const char *target, berth_error_t *err)
{
    if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berth_error_new(err, errno, "bind mount %s on %s", src, target);
    return 0;
}

void rootfs_layout_clear(struct rootfs_layout *l)
{
    free(l->layers_dir);
    strv_free(l->lowers);
    strv_free(l->lower_ids);
    free(l->upper);
    free(l->work);
    memset(l, 0, sizeof(*l));
}

static int put_file(const char *dir, const char *name, const char *data,
                    berth_error_t *err)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    return fs_write_file_atomic(p, data, strlen(data), 0644, err);
}

/* Both opaque xattrs, as storage/unpack.c writes them: trusted.* only
 * succeeds as real root, user.* is what userxattr mounts read. */
static int mark_opaque(const char *dir, berth_error_t *err)
{
    bool any = setxattr(dir, "trusted.overlay.opaque", "y", 1, 0) == 0;
    if (setxattr(dir, "user.overlay.opaque", "y", 1, 0) == 0)
        any = true;
    if (!any)
        return berth_error_new(err, errno, "set opaque xattr on %s", dir);
    return 0;
}

int rootfs_probe_make(const char *dir, struct rootfs_layout *ret,
                      berth_error_t *err)
{
    static const char *const subs[] = {"l1/d", "l2/d", "upper", "work",
                                       "merged"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, subs[i]);
        if (fs_mkdir_p(p, 0755, err) < 0)
            return -1;
    }
    _cleanup_free_ char *l1 = xasprintf("%s/l1", dir);
    _cleanup_free_ char *l2 = xasprintf("%s/l2", dir);
    _cleanup_free_ char *wh = xasprintf("%s/l2/a", dir);
    _cleanup_free_ char *d2 = xasprintf("%s/l2/d", dir);
    if (put_file(l1, "a", "a\n", err) < 0 || put_file(l1, "b", "b\n", err) < 0 ||
        put_file(l1, "d/x", "x\n", err) < 0 ||
        put_file(l2, "d/y", "y\n", err) < 0)
        return -1;
    if (mknod(wh, S_IFCHR | 0600, makedev(0, 0)) < 0)
        return berth_error_new(err, errno, "create whiteout %s", wh);
    if (mark_opaque(d2, err) < 0)
        return -1;
    memset(ret, 0, sizeof(*ret));
    ret->layers_dir = xstrdup(dir);
    strv_append(&ret->lowers, l2);
    strv_append(&ret->lowers, l1);
    strv_append(&ret->lower_ids, "l2");
    strv_append(&ret->lower_ids, "l1");
    ret->upper = xasprintf("%s/upper", dir);
    ret->work = xasprintf("%s/work", dir);
    return 0;
}

int rootfs_probe_check(const char *merged, char **ret_reason)
{
    _cleanup_free_ char *a = xasprintf("%s/a", merged);
    _cleanup_free_ char *b = xasprintf("%s/b", merged);
    _cleanup_free_ char *x = xasprintf("%s/d/x", merged);
    _cleanup_free_ char *y = xasprintf("%s/d/y", merged);
    if (!fs_exists(b) || !fs_exists(y)) {
        *ret_reason = xstrdup("lower layers are not visible in the mount");
        return 0;
    }
    if (fs_exists(a)) {
        *ret_reason = xstrdup("whiteouts are not honoured");
        return 0;
    }
    if (fs_exists(x)) {
        *ret_reason = xstrdup("opaque directories are not honoured");
        return 0;
    }
    return 1;
}

struct probe {
    const char *dir;
    const char *what;
    rootfs_probe_fn fn;
    bool rootless;
};

/* In the probe's namespace: 1 works, 0 not (reason in DIR/reason). */
static int probe_child(void *arg, berth_error_t *err)
{
    struct probe *p = arg;
    struct rootfs_layout l = {0};
    _cleanup_free_ char *merged = xasprintf("%s/merged", p->dir);
    _cleanup_free_ char *reason = NULL;
    int ok = 0;

    if (rootfs_private_mounts(!p->rootless, err) < 0 ||
        rootfs_probe_make(p->dir, &l, err) < 0) {
        rootfs_layout_clear(&l);
        return -1;
    }
    if (p->fn(&l, merged, p->rootless, &reason) == 0) {
        _cleanup_free_ char *why = NULL;
        ok = rootfs_probe_check(merged, &why);
        if (!ok)
            reason = xasprintf("%s: %s", p->what, why);
        /* a fuse daemon exits when its mount goes */
        umount2(merged, MNT_DETACH);
    }
    rootfs_layout_clear(&l);
    if (!ok) {
        _cleanup_free_ char *rp = xasprintf("%s/reason", p->dir);
        if (reason == NULL)
            reason = xasprintf("%s: mount failed", p->what);
        if (fs_write_file_atomic(rp, reason, strlen(reason), 0644, err) < 0)
            return -1;
    }
    return ok;
}

int rootfs_probe(struct store *s, const char *what, rootfs_probe_fn fn,
                 char **ret_reason, berth_error_t *err)
{
    struct store_tmp t = {0};
    berth_error_t e = NULL;
    if (store_tmp_new(s, &t, err) < 0)
        return -1;
    struct probe p = {t.path, what, fn, s->rootless};
    int r = userns_run(probe_child, &p, &e);
    if (r == 0) {
        _cleanup_free_ char *rp = xasprintf("%s/reason", t.path);
        if (fs_read_file(rp, ret_reason, NULL, &e) < 0) {
            *ret_reason = xasprintf("%s: %s", what, e->msg);
            berth_error_free(&e);
        }
    } else if (r < 0) {
        /* no user namespace, no whiteouts, ...: not an error of the
         * command, just a backend that cannot work here */
        *ret_reason = xasprintf("%s: %s", what, e->msg);
        berth_error_free(&e);
        r = 0;
    }
    store_tmp_done(s, &t);
    return r > 0 ? 1 : 0;
}

/* --- which backend --- */

static const struct rootfs_driver *driver_by_name(const char *name)
{
    static const struct rootfs_driver *const all[] = {
        &rootfs_driver_overlay, &rootfs_driver_fuse_overlayfs,
        &rootfs_driver_vfs};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

/* An overlay upper dir needs a local file system with xattrs: NFS has
 * neither the whiteouts nor the xattrs overlay relies on. */
static int upper_fs_check(struct store *s, berth_error_t *err)
{
    struct statfs sf;
    _cleanup_free_ char *tmpd = store_path(s, "tmp");
    if (statfs(tmpd, &sf) < 0)
        return berth_error_new(err, errno, "statfs %s", tmpd);
    if (sf.f_type == NFS_SUPER_MAGIC)
        return berth_error_new(err, 0,
                               "the store %s is on NFS, which cannot hold "
                               "an overlay upper directory: use --root on a "
                               "local file system, or --storage-driver vfs",
                               s->root);
    const char *attr = s->rootless ? "user.berth.probe" : "trusted.berth.probe";
    struct store_tmp t = {0};
    if (store_tmp_new(s, &t, err) < 0)
        return -1;
    int fd = open(t.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int r = 0;
    if (fd < 0) {
        r = berth_error_new(err, errno, "create %s", t.path);
    } else if (fsetxattr(fd, attr, "1", 1, 0) < 0 &&
               (errno == ENOTSUP || errno == EOPNOTSUPP)) {
        r = berth_error_new(err, 0,
                            "the file system of %s does not support "
                            "extended attributes (%s), which an overlay "
                            "upper directory needs: use --root on a local "
                            "file system (ext4, xfs, btrfs), or "
                            "--storage-driver vfs",
                            s->root, attr);
    }
    if (fd >= 0)
        close(fd);
    store_tmp_done(s, &t);
    return r;
}

static int probe_all(struct store *s, char **ret_name, char **ret_reason,
                     berth_error_t *err)
{
    _cleanup_free_ char *why_kernel = NULL, *why_fuse = NULL;
    int r;

    if (upper_fs_check(s, err) < 0)
        return -1;
    r = rootfs_driver_overlay.supported(s, &why_kernel, err);
    if (r < 0)
        return -1;
    if (r > 0) {
        *ret_name = xstrdup("overlay");
        *ret_reason = xstrdup(s->rootless ? "kernel overlay in user namespace"
                                          : "kernel overlay");
        return 0;
    }
    r = rootfs_driver_fuse_overlayfs.supported(s, &why_fuse, err);
    if (r < 0)
        return -1;
    if (r > 0) {
        *ret_name = xstrdup("fuse-overlayfs");
        *ret_reason = xasprintf("fuse-overlayfs: %s", why_kernel);
        return 0;
    }
    *ret_name = xstrdup("vfs");
    *ret_reason = xasprintf("vfs: %s; %s", why_kernel, why_fuse);
    return 0;
}

int rootfs_choose(struct store *s, char **ret_driver, char **ret_reason,
                  berth_error_t *err)
{
    _cleanup_free_ char *cache = store_path(s, "rootfs.json");
    _cleanup_json_ json_t *j = NULL;
    _cleanup_free_ char *name = NULL, *reason = NULL;
    struct utsname u;
    berth_error_t e = NULL;

    if (s->driver && strcmp(s->driver, "vfs") == 0) {
        *ret_driver = xstrdup("vfs");
        *ret_reason = xstrdup("vfs: the storage driver is vfs");
        return 0;
    }
    uname(&u);
    j = json_load_path(cache, &e);
    berth_error_free(&e);
    const char *kernel = json_get_str(j, "kernel");
    if (kernel && strcmp(kernel, u.release) == 0 &&
        driver_by_name(json_get_str(j, "driver")) &&
        json_get_str(j, "reason")) {
        *ret_driver = xstrdup(json_get_str(j, "driver"));
        *ret_reason = xstrdup(json_get_str(j, "reason"));
        return 0;
    }
    if (probe_all(s, &name, &reason, err) < 0)
        return berth_error_prefix(err, "choose the rootfs driver");
    json_decref(j);
    j = json_pack("{s:s,s:s,s:s}", "kernel", u.release, "driver", name,
                  "reason", reason);
    /* a cache we cannot write only costs a probe next time */
    if (json_write_path(cache, j, &e) < 0)
        berth_error_free(&e);
    *ret_driver = TAKE_PTR(name);
    *ret_reason = TAKE_PTR(reason);
    return 0;
}

/* --- per container --- */

static int layout_of(struct store *s, json_t *c, struct rootfs_layout *ret,
                     berth_error_t *err)
{
    const char *id = json_get_str(c, "id");
    json_t *layers = json_object_get(c, "layers");
    struct rootfs_layout l = {0};

    if (id == NULL)
        return berth_error_new(err, 0, "internal: container record without id");
    l.layers_dir = store_path(s, "layers");
    l.lowers = xcalloc(1, sizeof(char *));
    l.lower_ids = xcalloc(1, sizeof(char *));
    for (size_t i = json_array_size(layers); i-- > 0;) {
        const char *ch = json_string_value(json_array_get(layers, i));
        const char *hex = ch && str_has_prefix(ch, "sha256:") ? ch + 7 : ch;
        if (hex == NULL || strchr(hex, '/') || !store_layer_exists(s, hex)) {
            rootfs_layout_clear(&l);
            return berth_error_new(err, 0,
                                   "container %.12s: layer %s is missing "
                                   "from the store",
                                   id, ch ? ch : "(none)");
        }
        strv_push(&l.lowers, store_layer_diff(s, hex));
        strv_append(&l.lower_ids, hex);
    }
    l.upper = containers_path(s, id, "diff");
    l.work = containers_path(s, id, "work");
    *ret = l;
    return 0;
}

static int set_driver_fn(json_t *rec, void *arg, berth_error_t *err)
{
    (void)err;
    if (json_get_str(rec, "driver") == NULL)
        json_object_set_new(rec, "driver", json_string(arg));
    return 0;
}

static const struct rootfs_driver *record_driver(json_t *c, berth_error_t *err)
{
    const char *name = json_get_str(c, "driver");
    const struct rootfs_driver *d = driver_by_name(name);
    if (d == NULL)
        berth_error_new(err, 0,
                        "container %.12s: rootfs not prepared (driver %s)",
                        json_get_str(c, "id") ? json_get_str(c, "id") : "?",
                        name ? name : "unset");
    return d;
}

int rootfs_prepare(struct store *s, json_t *container, berth_error_t *err)
{
    struct rootfs_layout l = {0};
    const char *id = json_get_str(container, "id");
    _cleanup_free_ char *name = NULL, *reason = NULL, *merged = NULL;
    _cleanup_json_ json_t *rec = NULL;

    if (json_get_str(container, "driver") == NULL) {
        if (rootfs_choose(s, &name, &reason, err) < 0)
            return -1;
        if (containers_update(s, id, set_driver_fn, name, &rec, err) < 0)
            return -1;
        /* another process may have prepared it first: its choice wins */
        json_object_set(container, "driver", json_object_get(rec, "driver"));
    }
    const struct rootfs_driver *d = record_driver(container, err);
    if (d == NULL || layout_of(s, container, &l, err) < 0)
        return -1;
    merged = containers_path(s, id, "merged");
    int r = fs_mkdir_p(merged, 0755, err);
    if (r == 0)
        r = d->prepare(s, &l, err);
    rootfs_layout_clear(&l);
    if (r < 0)
        return berth_error_prefix(err, "prepare rootfs of %.12s", id);
    return 0;
}

int rootfs_mount(struct store *s, json_t *container, const char *target,
                 berth_error_t *err)
{
    struct rootfs_layout l = {0};
    const struct rootfs_driver *d = record_driver(container, err);
    if (d == NULL || layout_of(s, container, &l, err) < 0)
        return -1;
    int r = d->mount(s, &l, target, err);
    rootfs_layout_clear(&l);
    if (r < 0)
        return berth_error_prefix(err, "mount rootfs (%s)", d->name);
    return 0;
}

int rootfs_umount(struct store *s, json_t *container, const char *target,
                  berth_error_t *err)
{
    const struct rootfs_driver *d = record_driver(container, err);
    if (d == NULL)
        return -1;
    return d->umount(s, target, err);
}

struct with_mounted {
    struct store *s;
    json_t *container;
    rootfs_fn fn;
    void *arg;
};

static int with_mounted_child(void *arg, berth_error_t *err)
{
    struct with_mounted *w = arg;
    _cleanup_free_ char *merged =
        containers_path(w->s, json_get_str(w->container, "id"), "merged");
    /* userns_run gives a new mount namespace only when rootless */
    if (rootfs_private_mounts(!w->s->rootless, err) < 0 ||
        rootfs_mount(w->s, w->container, merged, err) < 0)
        return -1;
    int r = w->fn(merged, w->arg, err);
    berth_error_t e = NULL;
    /* the namespace dies with this process; unmounting stops a
     * fuse-overlayfs daemon that would keep it alive */
    if (rootfs_umount(w->s, w->container, merged, r < 0 ? &e : err) < 0 &&
        r >= 0)
        r = -1;
    berth_error_free(&e);
    return r;
}

int rootfs_with_mounted(struct store *s, json_t *container, rootfs_fn fn,
                        void *arg, berth_error_t *err)
{
    struct with_mounted w = {s, container, fn, arg};
    if (rootfs_prepare(s, container, err) < 0)
        return -1;
    return userns_run(with_mounted_child, &w, err);
}
