/* File-system helpers: atomic writes (write, fsync, rename), whole-file
 * reads, mkdir -p, rm -rf, and record locks (flock on a lock file). */
#ifndef BERTH_LIB_FS_H
#define BERTH_LIB_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

int fs_mkdir_p(const char *path, mode_t mode, berth_error_t *err);
/* Reads the whole file; *ret is NUL-terminated.  ret_len may be NULL.
 * Fails with ENOENT as errnum when missing, so callers can test for it. */
int fs_read_file(const char *path, char **ret, size_t *ret_len,
                 berth_error_t *err);
/* Write to PATH.tmp-XXXXXX in the same directory, fsync, rename over PATH,
 * fsync the directory: readers see the old or the new file, never half. */
int fs_write_file_atomic(const char *path, const void *data, size_t len,
                         mode_t mode, berth_error_t *err);
/* Recursive remove; missing paths are not an error.  Does not follow
 * symlinks. */
int fs_rm_rf(const char *path, berth_error_t *err);
bool fs_exists(const char *path);
/* NAME itself when it holds a '/', else the first executable NAME in $PATH
 * (a default path when unset); NULL when there is no executable file. */
char *fs_find_exec(const char *name);
int fs_fsync_dir(const char *dir);

/* Take an exclusive (or shared) flock on PATH (created if missing); the
 * returned fd holds the lock until closed. */
int fs_lock(const char *path, bool shared, int *ret_fd, berth_error_t *err);
/* Non-blocking variant: returns 1 and sets *ret_fd if taken, 0 if held by
 * someone else. */
int fs_trylock(const char *path, int *ret_fd, berth_error_t *err);

/* Total bytes of regular files under path (apparent size, no symlinks). */
int fs_du(const char *path, unsigned long long *ret, berth_error_t *err);
/* Copy a file's content; dst is written atomically. */
int fs_copy_file(const char *src, const char *dst, berth_error_t *err);

#endif
