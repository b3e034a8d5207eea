/* Private to storage/: the table each root-filesystem backend fills
 * (overlay.c, fuse-overlayfs.c, vfs.c), as crun's cgroup-internal.h.
 * driver.c chooses one and implements the public storage/rootfs.h. */
#ifndef BERTH_STORAGE_DRIVER_H
#define BERTH_STORAGE_DRIVER_H

#include <stdbool.h>

#include "lib/error.h"
#include "storage/store.h"

/* Where one container's rootfs comes from. */
struct rootfs_layout {
    char *layers_dir; /* ROOT/layers: lowers may be given relative to it */
    char **lowers;    /* absolute lower dirs, top-most first, NULL-ended;
                         may be empty */
    char **lower_ids; /* chain id hex of each lower, same order */
    char *upper;      /* ROOT/containers/ID/diff */
    char *work;       /* ROOT/containers/ID/work */
};

struct rootfs_driver {
    const char *name;
    /* Can this backend work for the store here?  Returns 1 yes, 0 no with
     * *ret_reason saying why (user-facing), -1 on error.  Runs test
     * mounts: the caller caches the verdict. */
    int (*supported)(struct store *s, char **ret_reason, berth_error_t *err);
    /* Outside any namespace: make upper/work, and for vfs the copy (which
     * enters a user namespace itself when rootless). */
    int (*prepare)(struct store *s, const struct rootfs_layout *l,
                   berth_error_t *err);
    /* Inside the mount namespace (as root there): mount at target. */
    int (*mount)(struct store *s, const struct rootfs_layout *l,
                 const char *target, berth_error_t *err);
    int (*umount)(struct store *s, const char *target, berth_error_t *err);
};

extern const struct rootfs_driver rootfs_driver_overlay;
extern const struct rootfs_driver rootfs_driver_fuse_overlayfs;
extern const struct rootfs_driver rootfs_driver_vfs;

/* --- shared helpers (driver.c) --- */
/* Make this process's mount namespace private (call after unshare, or
 * unshare first when running as real root without a user namespace). */
int rootfs_private_mounts(bool unshare_first, berth_error_t *err);
/* A probe tree under dir: lower1 (file a, file b, dir d/ with d/x), lower2
 * on top (whiteout of a, opaque d/ with d/y), upper, work, merged.
 * rootfs_probe_check looks at merged: b visible, a gone, d/y only. */
int rootfs_probe_make(const char *dir, struct rootfs_layout *ret,
                      berth_error_t *err);
int rootfs_probe_check(const char *merged, char **ret_reason);
void rootfs_layout_clear(struct rootfs_layout *l);
/* Probe a backend: in a fresh user + mount namespace (a private mount
 * namespace as real root), build the probe tree in ROOT/tmp, mount it with
 * fn (0, or -1 with *ret_reason), check the merged view, unmount.
 * Returns 1 works, 0 not (with *ret_reason prefixed by `what`). */
typedef int (*rootfs_probe_fn)(const struct rootfs_layout *l,
                               const char *target, bool rootless,
                               char **ret_reason);
int rootfs_probe(struct store *s, const char *what, rootfs_probe_fn fn,
                 char **ret_reason, berth_error_t *err);
/* bind mount (the vfs driver, and an image with no layers) */
int rootfs_bind(const char *src, const char *target, berth_error_t *err);

/* --- vfs (exposed for the unit test of its copy semantics) --- */
/* Copy lowers (top-most first) into dest, bottom up, applying whiteouts
 * (char 0:0 or ".wh.NAME") and opaque dirs (overlay xattr or
 * ".wh..wh..opq"); overlay's own markers are not copied. */
int vfs_copy_layers(char *const *lowers, const char *dest, berth_error_t *err);

#endif
