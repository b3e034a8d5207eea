#define _GNU_SOURCE
/* fuse-overlayfs, executed inside the user namespace where the kernel's
 * overlay is not allowed (kernels < 5.11).  It reads the same layers: char
 * 0:0 whiteouts and the user.overlay.opaque xattr.  Its daemon lives in
 * the mount namespace it mounted in and exits when the mount goes, so the
 * owner of the namespace unmounts (rootfs_umount) before it ends. */
#include "storage/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#define FUSE_OVERLAYFS "fuse-overlayfs"

/* Runs fuse-overlayfs, which mounts and then daemonizes: its exit status
 * says whether the mount is there.  stderr is kept for the error. */
static int run_fuse(const struct rootfs_layout *l, const char *target,
                    char **ret_msg)
{
    _cleanup_free_ char *bin = fs_find_exec(FUSE_OVERLAYFS);
    _cleanup_free_ char *joined = strv_join(l->lowers, ":");
    /* allow_other: processes of every uid in the container use the mount;
     * in a user namespace the kernel only lets the namespace in */
    _cleanup_free_ char *opts = xasprintf(
        "lowerdir=%s,upperdir=%s,workdir=%s,allow_other", joined, l->upper,
        l->work);
    int pfd[2];

    if (bin == NULL) {
        *ret_msg = xstrdup(FUSE_OVERLAYFS " is not installed");
        return -1;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        *ret_msg = xasprintf("pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, 0);
        dup2(null, 1);
        dup2(pfd[1], 2);
        execl(bin, FUSE_OVERLAYFS, "-o", opts, target, (char *)NULL);
        dprintf(2, "exec %s: %s", bin, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        *ret_msg = xasprintf("fork: %s", strerror(errno));
        return -1;
    }
    /* the daemon inherits stderr: read until our child exits, not EOF */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char buf[1024];
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    ssize_t n = read(pfd[0], buf, sizeof buf - 1);
    close(pfd[0]);
    buf[n > 0 ? n : 0] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    *ret_msg = xasprintf("%s failed: %s", FUSE_OVERLAYFS,
                         *buf ? buf : "no message");
    return -1;
}

static int fuse_mount(struct store *s, const struct rootfs_layout *l,
                      const char *target, berth_error_t *err)
{
    _cleanup_free_ char *msg = NULL;
    (void)s;
    if (strv_len(l->lowers) == 0)
        return rootfs_bind(l->upper, target, err);
    if (run_fuse(l, target, &msg) < 0)
        return berth_error_new(err, 0, "mount %s: %s", target, msg);
    return 0;
}

static int fuse_umount(struct store *s, const char *target, berth_error_t *err)
{
    (void)s;
    if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return berth_error_new(err, errno, "unmount %s", target);
    return 0;
}

static int fuse_prepare(struct store *s, const struct rootfs_layout *l,
                        berth_error_t *err)
{
    (void)s;
    if (fs_mkdir_p(l->upper, 0755, err) < 0 || fs_mkdir_p(l->work, 0700, err) < 0)
        return -1;
    return 0;
}

static int probe_mount(const struct rootfs_layout *l, const char *target,
                       bool rootless, char **ret_reason)
{
    _cleanup_free_ char *msg = NULL;
    (void)rootless;
    if (run_fuse(l, target, &msg) < 0) {
        *ret_reason = xasprintf("fuse-overlayfs: %s", msg);
        return -1;
    }
    return 0;
}

static int fuse_supported(struct store *s, char **ret_reason,
                          berth_error_t *err)
{
    _cleanup_free_ char *bin = fs_find_exec(FUSE_OVERLAYFS);
    if (bin == NULL) {
        *ret_reason = xstrdup("fuse-overlayfs is not installed");
        return 0;
    }
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *ret_reason = xasprintf("fuse-overlayfs: cannot open /dev/fuse: %s",
                                strerror(errno));
        return 0;
    }
    close(fd);
    return rootfs_probe(s, "fuse-overlayfs", probe_mount, ret_reason, err);
}

const struct rootfs_driver rootfs_driver_fuse_overlayfs = {
    .name = "fuse-overlayfs",
    .supported = fuse_supported,
    .prepare = fuse_prepare,
    .mount = fuse_mount,
    .umount = fuse_umount,
};
