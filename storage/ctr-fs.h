/* A container's file system from the outside: copying in and out as tar
 * streams (cp, export), and its changes against the image (diff).
 *
 * Container paths are resolved with openat2(RESOLVE_IN_ROOT) relative to
 * a dir fd on the container's root, so the kernel keeps every lookup,
 * symlinks and ".." included, inside the container: a symlink planted in
 * the container never makes berth read or write a host file.  Host paths
 * resolve normally, and entries of a stream are created beneath their
 * destination (RESOLVE_BENEATH), so a hostile stream cannot climb out.
 *
 * Streams are tar (pax): one top entry NAME (file, dir, symlink...) and,
 * for a dir, NAME/... below it; with an empty NAME (export) the entries
 * are the root's children. */
#ifndef BERTH_STORAGE_CTR_FS_H
#define BERTH_STORAGE_CTR_FS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"
#include "rootless/userns.h"
#include "storage/store.h"

/* Where paths resolve: fd is a directory (or AT_FDCWD for the host);
 * in_root: fd is a container's root and lookups stay inside it. */
struct ctrfs_root {
    int fd;
    bool in_root;
    const char *where; /* for messages: "container NAME", "the host" */
};

/* Write a tar stream of path (its final symlink followed, inside the root)
 * to out_fd, the top entry named name.  xdev: do not descend into other
 * mounts (export of a running container skips /proc, /sys...).  A missing
 * path fails as podman: "\"PATH\" could not be found on WHERE: no such
 * file or directory" (errnum ENOENT). */
int ctrfs_tar(const struct ctrfs_root *r, const char *path, const char *name,
              bool xdev, int out_fd, berth_error_t *err);

enum ctrfs_owner {
    CTRFS_OWNER_NONE,  /* files belong to whoever creates them */
    CTRFS_OWNER_FIXED, /* uid/gid below for every entry */
    CTRFS_OWNER_KEEP,  /* the stream's ids (through from_host if set) */
};

struct ctrfs_put_opts {
    enum ctrfs_owner owner;
    uid_t uid;
    gid_t gid;
    /* KEEP: the stream holds host ids; map them to the container's */
    const struct userns_mapping *from_host;
    bool overwrite;     /* replace a dir by a non-dir and back */
    bool contents_only; /* source ended in "/.": its contents go into dst */
    bool raw;           /* any stream (stdin): its entries go into the
                           existing directory dst as they are */
};

/* Extract a stream from in_fd at dst with podman's cp rules: dst an
 * existing dir receives NAME (or NAME's contents with contents_only); an
 * existing file is replaced by a file; a missing dst is created (its
 * parent must exist). */
int ctrfs_untar(const struct ctrfs_root *r, const char *dst, int in_fd,
                const struct ctrfs_put_opts *o, berth_error_t *err);

/* Run fn with a dir fd on the container's root, in a child process: for a
 * running container (live init pid) through /proc/PID/root after joining
 * its user namespace; otherwise the rootfs mounted in a fresh user + mount
 * namespace (rootfs_with_mounted).  Inside, the caller is root of the
 * container's user namespace, so owners are the container's. */
typedef int (*ctrfs_fn)(int rootfd, void *arg, berth_error_t *err);
int ctrfs_with_root(struct store *s, json_t *rec, ctrfs_fn fn, void *arg,
                    berth_error_t *err);
/* The container's init pid when it is alive, else 0. */
pid_t ctrfs_live_pid(json_t *rec);

/* Changes of the container's writable layer against its image, sorted by
 * path: *ret an array of {"Path": "/x", "Kind": 0 changed | 1 added |
 * 2 deleted} (podman's numbers).  The files engines create for a
 * container (/etc/hosts, /run/.containerenv, mount points...) are left
 * out as podman does. */
int ctrfs_diff(struct store *s, json_t *rec, json_t **ret, berth_error_t *err);
/* Same from explicit directories: upper (overlay upper dir) and lowers
 * (top-most first, NULL-terminated): exposed for unit tests. */
int ctrfs_diff_dirs(const char *upper, char *const *lowers, json_t **ret,
                    berth_error_t *err);
/* The vfs driver's case: copy is the container's whole tree; entries are
 * compared with the image's (type, mode, owner, size, mtime). */
int ctrfs_diff_copy(const char *copy, char *const *lowers, json_t **ret,
                    berth_error_t *err);

#endif
