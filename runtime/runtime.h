/* berth's built-in OCI runtime: runs a bundle's config.json (OCI runtime
 * spec 1.0/1.1) the way runc and crun do, so `--runtime crun` can run the
 * very same bundle.  The module owns the container's state directory
 * (ROOT/ID: state.json and the exec fifo), the create/start handshake and
 * everything the container's init does before exec: namespaces, user
 * namespace mapping, rootfs mounts, devices, masked and read-only paths,
 * pivot_root, hostname, sysctl, rlimits, user and groups, capabilities,
 * no_new_privs, seccomp and the console.  Resource limits (cgroups) belong
 * to runtime/cgroup.h.
 *
 * Lifecycle as runc: create leaves the init blocked on ROOT/ID/exec.fifo
 * and returns (the init is reparented to the nearest subreaper, the
 * monitor); start opens the fifo and releases it. */
#ifndef BERTH_RUNTIME_RUNTIME_H
#define BERTH_RUNTIME_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

struct runtime_create_opts {
    const char *bundle;         /* directory with config.json */
    const char *pid_file;       /* NULL: none */
    const char *console_socket; /* NULL: process.terminal must be false */
    int preserve_fds;           /* pass fds 3..3+N-1 to the process */
};

/* $XDG_RUNTIME_DIR/berth/oci-runtime, else /tmp/berth-UID/oci-runtime
 * when rootless, /run/berth/oci-runtime for root.  Caller frees. */
char *runtime_default_root(void);

int runtime_create(const char *root, const char *id,
                   const struct runtime_create_opts *opts, berth_error_t *err);
int runtime_start(const char *root, const char *id, berth_error_t *err);
/* The OCI state: ociVersion, id, status (created, running, stopped), pid
 * (0 once stopped), bundle, annotations. */
int runtime_state(const char *root, const char *id, json_t **ret,
                  berth_error_t *err);
int runtime_kill(const char *root, const char *id, int sig,
                 berth_error_t *err);
/* Without force only a created or stopped container is deleted; force
 * kills a running one first. */
int runtime_delete(const char *root, const char *id, bool force,
                   berth_error_t *err);
/* create, start, wait, delete.  Returns the container's exit code
 * (128+N when killed by signal N) or -1. */
int runtime_run(const char *root, const char *id,
                const struct runtime_create_opts *opts, berth_error_t *err);
/* Run process_json (an OCI "process" object file) in the running
 * container's namespaces; returns its exit code or -1. */
int runtime_exec(const char *root, const char *id, const char *process_json,
                 const char *console_socket, berth_error_t *err);

/* "KILL", "SIGKILL", "9" -> 9; -1 when unknown. */
int runtime_signal_parse(const char *s);

#endif
