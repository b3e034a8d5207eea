/* Private to runtime/: the container init's context and the pieces the
 * init runs (mounts.c, process.c, seccomp.c), shared with runtime.c,
 * exec.c and the unit tests. */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"

/* Messages on the SOCK_SEQPACKET socket from the init (and the
 * intermediate child) to the runtime process. */
#define RT_MSG_USERNS 'U' /* new user namespace: map it, answer 'M' */
#define RT_MSG_PID 'P'    /* payload: the init's pid in our namespace */
#define RT_MSG_READY 'R'  /* set up; waiting on the exec fifo */
#define RT_MSG_ERROR 'E'  /* payload: berth_error_serialize() */

struct rt_init {
    json_t *config;  /* config.json (borrowed) */
    json_t *process; /* the process object to run (borrowed) */
    char *rootfs;    /* absolute host path; NULL for exec */
    const char *bundle; /* relative mount sources are relative to it */
    int sock;        /* to the runtime process */
    int state_dirfd; /* state directory, reached after pivot_root */
    int console_fd;  /* connected --console-socket, or -1 */
    int pty_master;  /* created for process.terminal, or -1 */
    int pty_slave;
    bool userns;     /* the container has its own user namespace */
    bool exec_mode;  /* joining a running container (no fifo, no rootfs) */
    int preserve_fds; /* fds 3..3+N-1 stay open in the process */
    const struct rt_seccomp *seccomp; /* prepared filter, or NULL */
};

/* init.c: the intermediate child (namespaces, then fork the init) */
_Noreturn void rt_child_main(struct rt_init *c);
/* exec.c */
_Noreturn void rt_exec_child_main(struct rt_init *c, int pidfd, pid_t pid);
/* process.c: the last steps of any container process, ending in execve */
_Noreturn void rt_process_run(struct rt_init *c);
/* Report err over the socket (stderr when nobody listens) and exit. */
_Noreturn void rt_child_fail(int sock, berth_error_t *err);
int rt_send(int sock, char type, const char *payload);

/* mounts.c */
int rt_rootfs_prepare(struct rt_init *c, berth_error_t *err);
int rt_rootfs_pivot(struct rt_init *c, berth_error_t *err);
int rt_rootfs_finalize(struct rt_init *c, berth_error_t *err);
/* Resolve path inside root, following symlinks as if root were "/" (no
 * escape through ".." or absolute links).  Returns a host path. */
char *rt_path_in_root(const char *root, const char *path);
/* Mount options: flags to set, propagation flags, the rest as data. */
struct rt_mount_opts {
    unsigned long flags;
    unsigned long clear; /* "rw", "suid", ...: explicitly cleared */
    unsigned long propagation;
    bool bind, rec;
    char *data; /* comma-joined unknown options; caller frees */
};
void rt_mount_opts_parse(json_t *options, struct rt_mount_opts *ret);

/* process.c */
int rt_rlimit_from_name(const char *name);
/* Find file in the ':'-separated path (as execvp, without running it).
 * Fails with exit code 127 when missing, 126 when not executable. */
int rt_lookup_exec(const char *file, const char *path, char **ret,
                   berth_error_t *err);

/* seccomp.c: linux.seccomp (NULL when absent) translated by libseccomp
 * into a BPF program, cached in CACHE_DIR (may be NULL) under a hash of
 * the profile: compiling podman's default profile takes ~10 ms, loading
 * a cached program nothing.  *ret is NULL when there is no profile.
 * Prepared before the fork, loaded in the container's process. */
struct rt_seccomp;
int rt_seccomp_prepare(json_t *seccomp, const char *cache_dir,
                       struct rt_seccomp **ret, berth_error_t *err);
int rt_seccomp_load(const struct rt_seccomp *f, berth_error_t *err);
void rt_seccomp_free(struct rt_seccomp *f);
static inline void rt_seccomp_freep(struct rt_seccomp **f)
{
    rt_seccomp_free(*f);
}

#endif
