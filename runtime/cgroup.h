/* cgroups: which hierarchy the host has (v2 unified, v1/hybrid, none),
 * which controllers the current user may use (delegated), and the
 * container's own cgroup: create, enter, limits, freeze, stats, destroy.
 * Every path is relative to the mountpoint given to cgroup_detect, so the
 * tests run against a fake tree of plain files.  A limit that cannot be
 * applied is not an error: it comes back as a warning saying why. */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

enum cgroup_mode {
    CGROUP_MODE_NONE,   /* no cgroup file system at the mountpoint */
    CGROUP_MODE_V1,     /* v1 controllers only */
    CGROUP_MODE_HYBRID, /* v1 controllers plus an (unused) unified tree */
    CGROUP_MODE_V2,     /* unified hierarchy */
};

enum cgroup_controller {
    CGROUP_CPU = 1 << 0,
    CGROUP_CPUSET = 1 << 1,
    CGROUP_IO = 1 << 2, /* blkio on v1 */
    CGROUP_MEMORY = 1 << 3,
    CGROUP_PIDS = 1 << 4,
    CGROUP_FREEZER = 1 << 5, /* v1 only; v2 has cgroup.freeze built in */
};

struct cgroup_info {
    enum cgroup_mode mode;
    char *mountpoint;
    /* This process's cgroup ("/user.slice/..."), from /proc/self/cgroup:
     * the 0:: line on v2, the memory controller's line on v1. */
    char *own_path;
    /* Where container cgroups go: "/" for root; for a user the parent of
     * own_path, the subtree systemd delegates (user@UID.service/...). */
    char *base_path;
    unsigned available; /* controllers the kernel offers here */
    unsigned delegated; /* controllers this user may set limits with */
    uid_t uid;          /* the user delegation was checked for */
};

/* Detect for the calling process (/proc/self/cgroup, geteuid()). */
int cgroup_detect(const char *mountpoint, struct cgroup_info *ret,
                  berth_error_t *err);
/* Same with the /proc/self/cgroup text and the uid given: for tests and
 * for checking on behalf of another process. */
int cgroup_detect_full(const char *mountpoint, const char *proc_cgroup,
                       uid_t uid, struct cgroup_info *ret, berth_error_t *err);
void cgroup_info_clear(struct cgroup_info *info);
const char *cgroup_mode_name(enum cgroup_mode mode);
/* "memory", "cpu", ... for one controller bit. */
const char *cgroup_controller_name(unsigned ctrl);

/* Whether containers of this user get a cgroup of their own: root with
 * any cgroup file system; a user on v2 whose base cgroup (systemd's
 * delegated subtree) is writable.  Rootless on v1 or hybrid: no. */
bool cgroup_usable(const struct cgroup_info *info);
/* The warnings for limits in linux.resources that will not be applied:
 * every one when usable is false, else those whose controller is not
 * delegated (appended to *warnings, NULL-terminated). */
void cgroup_check_resources(const struct cgroup_info *info, bool usable,
                            json_t *linux_resources, char ***warnings);

/* BASE/berth-ID for a user, /berth/ID for root (malloc'd). */
char *cgroup_container_path(const struct cgroup_info *info, const char *id);

/* path is relative to the mountpoint (v2) or to each controller's
 * hierarchy (v1), e.g. "/user.slice/.../berth-ID". */
int cgroup_create(const struct cgroup_info *info, const char *path,
                  berth_error_t *err);
int cgroup_enter(const struct cgroup_info *info, const char *path, pid_t pid,
                 berth_error_t *err);
/* Remove the cgroup and any cgroups the container made below it; a
 * missing cgroup is not an error. */
int cgroup_destroy(const struct cgroup_info *info, const char *path,
                   berth_error_t *err);
int cgroup_freeze(const struct cgroup_info *info, const char *path,
                  bool freeze, berth_error_t *err);
/* Write OCI linux.resources.  Limits that cannot be applied (controller
 * not delegated, v1 rootless, no cgroups, interface file missing) are
 * appended to *ret_warnings (NULL-terminated, may stay NULL); errors
 * are reserved for writes the kernel refused. */
int cgroup_apply_resources(const struct cgroup_info *info, const char *path,
                           json_t *linux_resources, char ***ret_warnings,
                           berth_error_t *err);

struct cgroup_stats {
    int64_t memory_current; /* bytes; -1 when unknown */
    int64_t memory_max;     /* bytes; -1 unlimited or unknown */
    int64_t pids_current;   /* -1 when unknown */
    int64_t cpu_usage_usec; /* -1 when unknown */
};
int cgroup_stats(const struct cgroup_info *info, const char *path,
                 struct cgroup_stats *ret, berth_error_t *err);

#endif
