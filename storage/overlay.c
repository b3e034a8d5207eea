#define _GNU_SOURCE
/* Kernel overlayfs.  Rootless, it mounts only inside a user namespace, and
 * only on kernels >= 5.11, with the "userxattr" option: overlay then reads
 * user.overlay.* xattrs (opaque dirs), which storage/unpack.c writes next
 * to the trusted.overlay.* ones real root uses; whiteouts are char 0:0 in
 * both cases.  The mount(2) option string is limited to one page: long
 * layer lists are given as short relative links (podman's l/ directory)
 * from a chdir into ROOT/layers. */
#include "storage/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"

#define SHORT_LINK_LEN 26

static bool path_ok(const char *p)
{
    return strpbrk(p, ",:") == NULL;
}

static char *options_for(char *const *lowers, const struct rootfs_layout *l,
                         bool rootless)
{
    _cleanup_free_ char *joined = strv_join(lowers, ":");
    /* index=off: several containers share each lower dir, and the index
     * would tie a lower to one upper (EBUSY "in-use by another mount");
     * with userxattr the kernel keeps it off by itself */
    return xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,%s", joined, l->upper,
                     l->work, rootless ? "userxattr" : "index=off");
}

/* ROOT/layers/l/<first 26 hex of the chain id> -> ../HEX/diff */
static int short_links(const struct rootfs_layout *l, char ***ret,
                       berth_error_t *err)
{
    _cleanup_free_ char *dir = xasprintf("%s/l", l->layers_dir);
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    if (fs_mkdir_p(dir, 0700, err) < 0)
        return -1;
    for (size_t i = 0; l->lower_ids[i]; i++) {
        _cleanup_free_ char *name =
            xasprintf("l/%.*s", SHORT_LINK_LEN, l->lower_ids[i]);
        _cleanup_free_ char *path = xasprintf("%s/%s", l->layers_dir, name);
        _cleanup_free_ char *target = xasprintf("../%s/diff", l->lower_ids[i]);
        char have[256];
        ssize_t n = readlink(path, have, sizeof have - 1);
        if (n >= 0)
            have[n] = '\0';
        if (n < 0 || strcmp(have, target) != 0) {
            unlink(path);
            if (symlink(target, path) < 0 && errno != EEXIST)
                return berth_error_new(err, errno, "create %s", path);
        }
        strv_push(&v, TAKE_PTR(name));
    }
    *ret = TAKE_PTR(v);
    return 0;
}

static int overlay_mount_at(const struct rootfs_layout *l, const char *target,
                            bool rootless, berth_error_t *err)
{
    long page = sysconf(_SC_PAGESIZE);
    _cleanup_free_ char *opts = options_for(l->lowers, l, rootless);
    _cleanup_strv_ char **links = NULL;
    _cleanup_close_ int cwd = -1;

    if (!path_ok(l->upper) || !path_ok(l->work) || !path_ok(l->layers_dir))
        return berth_error_new(err, 0,
                               "the store path %s contains ':' or ',', which "
                               "overlay mount options cannot hold: use --root",
                               l->layers_dir);
    if ((long)strlen(opts) >= page) {
        if (short_links(l, &links, err) < 0)
            return -1;
        free(opts);
        opts = options_for(links, l, rootless);
        if ((long)strlen(opts) >= page)
            return berth_error_new(err, 0,
                                   "too many layers (%zu) for one overlay "
                                   "mount",
                                   strv_len(l->lowers));
        /* the kernel resolves relative lowerdirs from our cwd */
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 || chdir(l->layers_dir) < 0)
            return berth_error_new(err, errno, "chdir %s", l->layers_dir);
    }
    int r = mount("overlay", target, "overlay", 0, opts);
    int e = errno;
    if (cwd >= 0 && fchdir(cwd) < 0)
        return berth_error_new(err, errno, "restore the working directory");
    if (r < 0)
        return berth_error_new(err, e, "mount overlay on %s", target);
    return 0;
}

static int overlay_mount(struct store *s, const struct rootfs_layout *l,
                         const char *target, berth_error_t *err)
{
    /* overlay wants at least one lower dir; an image without layers is
     * just its upper */
    if (strv_len(l->lowers) == 0)
        return rootfs_bind(l->upper, target, err);
    return overlay_mount_at(l, target, s->rootless, err);
}

static int overlay_umount(struct store *s, const char *target,
                          berth_error_t *err)
{
    (void)s;
    if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return berth_error_new(err, errno, "unmount %s", target);
    return 0;
}

static int overlay_prepare(struct store *s, const struct rootfs_layout *l,
                           berth_error_t *err)
{
    (void)s;
    if (fs_mkdir_p(l->upper, 0755, err) < 0 || fs_mkdir_p(l->work, 0700, err) < 0)
        return -1;
    return 0;
}

static char *mount_reason(int e, bool rootless)
{
    if (e == ENODEV)
        return xstrdup("kernel overlay: the overlay file system is not "
                       "available (modprobe overlay)");
    if (rootless && (e == EPERM || e == EINVAL))
        return xstrdup("kernel overlay not permitted in user namespace on "
                       "this kernel (needs >= 5.11)");
    return xasprintf("kernel overlay mount failed: %s", strerror(e));
}

static int probe_mount(const struct rootfs_layout *l, const char *target,
                       bool rootless, char **ret_reason)
{
    berth_error_t e = NULL;
    if (overlay_mount_at(l, target, rootless, &e) < 0) {
        *ret_reason = mount_reason(e->errnum, rootless);
        berth_error_free(&e);
        return -1;
    }
    return 0;
}

static int overlay_supported(struct store *s, char **ret_reason,
                             berth_error_t *err)
{
    return rootfs_probe(s, "kernel overlay", probe_mount, ret_reason, err);
}

const struct rootfs_driver rootfs_driver_overlay = {
    .name = "overlay",
    .supported = overlay_supported,
    .prepare = overlay_prepare,
    .mount = overlay_mount,
    .umount = overlay_umount,
};
