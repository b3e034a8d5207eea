/* Private to runtime/cgroup*.c: one table of operations per hierarchy,
 * as crun's cgroup-internal.h. */
#ifndef BERTH_RUNTIME_CGROUP_INTERNAL_H
#define BERTH_RUNTIME_CGROUP_INTERNAL_H

#include "runtime/cgroup.h"

struct cgroup_ops {
    int (*create)(const struct cgroup_info *, const char *path,
                  berth_error_t *);
    int (*enter)(const struct cgroup_info *, const char *path, pid_t,
                 berth_error_t *);
    int (*destroy)(const struct cgroup_info *, const char *path,
                   berth_error_t *);
    int (*freeze)(const struct cgroup_info *, const char *path, bool,
                  berth_error_t *);
    int (*apply)(const struct cgroup_info *, const char *path, json_t *res,
                 char ***warnings, berth_error_t *);
    int (*stats)(const struct cgroup_info *, const char *path,
                 struct cgroup_stats *, berth_error_t *);
};

extern const struct cgroup_ops cgroup_ops_v1;
extern const struct cgroup_ops cgroup_ops_v2;

/* Write value to DIR/FILE (no O_CREAT: cgroupfs files exist or the
 * kernel lacks the feature).  Fails with ENOENT errnum when missing. */
int cgroup_write(const char *dir, const char *file, const char *value,
                 berth_error_t *err);
/* Read DIR/FILE, trailing newline removed. */
int cgroup_read(const char *dir, const char *file, char **ret,
                berth_error_t *err);
/* First number after "key " in a flat keyed file (cpu.stat), or -1. */
int64_t cgroup_read_keyed(const char *dir, const char *file, const char *key);
/* rmdir DIR and every directory below it, deepest first. */
int cgroup_rmdir_tree(const char *dir, berth_error_t *err);
/* Append a formatted warning. */
void cgroup_warn(char ***warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The name a limit is reported under ("memory limit", "cpu quota"). */
void cgroup_warn_missing(char ***warnings, const struct cgroup_info *info,
                         const char *what, unsigned ctrl);

#endif
