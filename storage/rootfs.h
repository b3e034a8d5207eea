/* Containers' root file systems: which backend mounts them, and mounting
 * them where DESIGN.md says, inside the container's own mount namespace,
 * so nothing stays mounted anywhere else and a crash leaves no stale
 * mount.
 *
 * Backends (storage/driver.h), in order of preference for the "overlay"
 * storage driver:
 *   overlay         kernel overlayfs; rootless only inside a user namespace
 *                   on kernels >= 5.11 with the userxattr option
 *   fuse-overlayfs  executed inside the user namespace; needs /dev/fuse
 *   vfs             a full copy of the layers per container
 * The "vfs" storage driver means vfs only.  The choice is probed once per
 * store (a test mount in a user namespace) and cached in ROOT/rootfs.json
 * with the kernel release; a new kernel probes again.  Each container
 * keeps the backend it was prepared with (record field "driver"), since
 * an overlay upper dir and a vfs copy are not interchangeable. */
#ifndef BERTH_STORAGE_ROOTFS_H
#define BERTH_STORAGE_ROOTFS_H

#include <jansson.h>

#include "lib/error.h"
#include "storage/store.h"

/* The backend for new containers: *ret_driver "overlay", "fuse-overlayfs"
 * or "vfs", *ret_reason what `info` shows ("kernel overlay in user
 * namespace", "fuse-overlayfs: kernel overlay not permitted in user
 * namespace on this kernel", ...).  Fails when ROOT cannot hold an overlay
 * upper dir (NFS, no xattrs), naming the fix. */
int rootfs_choose(struct store *s, char **ret_driver, char **ret_reason,
                  berth_error_t *err);

/* Outside any namespace, once per container (idempotent): records the
 * backend in the container's record (*container is updated) and makes
 * diff/, work/ and merged/; with vfs it copies the layers (in a user
 * namespace when rootless). */
int rootfs_prepare(struct store *s, json_t *container, berth_error_t *err);

/* INSIDE the container's user + mount namespace, as root there (the
 * runtime or monitor side): mount the prepared rootfs at target
 * (usually ROOT/containers/ID/merged, see containers_path).  With
 * fuse-overlayfs a daemon serves the mount: call rootfs_umount when done
 * so it exits. */
int rootfs_mount(struct store *s, json_t *container, const char *target,
                 berth_error_t *err);
int rootfs_umount(struct store *s, json_t *container, const char *target,
                  berth_error_t *err);

/* For `berth mount`, cp and commit on a stopped container: in a fresh
 * user + mount namespace (a forked child), mount the rootfs at
 * ROOT/containers/ID/merged, call fn(path, arg, err) there, unmount.
 * Returns fn's result (>= 0) or -1. */
typedef int (*rootfs_fn)(const char *path, void *arg, berth_error_t *err);
int rootfs_with_mounted(struct store *s, json_t *container, rootfs_fn fn,
                        void *arg, berth_error_t *err);

#endif
