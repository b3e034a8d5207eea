/* What the container commands share: where the monitor and its files are,
 * refreshing a record's state from the monitor's exit files, and the JSON
 * views users see (podman's `ps` rows and `inspect` document). */
#ifndef BERTH_CMD_CONTAINER_H
#define BERTH_CMD_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

struct store;

/* berth-monitor: $BERTH_MONITOR, else beside this executable, else
 * ../libexec/berth/berth-monitor relative to it. */
char *ctr_monitor_path(berth_error_t *err);
/* A helper executable NAME found as the monitor is ($ENV_VAR, beside
 * berth, ../libexec/berth); NULL when none. */
char *ctr_helper_path(const char *name, const char *env_var);
/* RUNROOT/exits: exit files outlive the container's records (run --rm
 * reads the code after the monitor removed the container). */
char *ctr_exit_dir(struct store *s);
/* The container's external OCI runtime (run --runtime), NULL for berth's
 * own; the state directory its runtime keeps containers in. */
const char *ctr_ext_runtime(json_t *rec);
char *ctr_runtime_root(struct store *s, json_t *rec);
/* start (attach: relay its output until it exits, *ret_code its code)
 * and stop (STOPSIGNAL, SIGKILL after timeout seconds; -1: the
 * container's own) of one container, as `start` and `stop` do it. */
int ctr_start_one(struct store *s, const char *name, bool attach,
                  bool interactive, int *ret_code, berth_error_t *err);
int ctr_stop_one(struct store *s, const char *name, int timeout,
                 berth_error_t *err);
/* Freeze (pause) or thaw the container's processes: its cgroup's freezer
 * when it has one, else SIGSTOP/SIGCONT to every process of its pid
 * namespace.  The record's state is the caller's business. */
int ctr_freeze(struct store *s, json_t *rec, bool pause, berth_error_t *err);
/* RUNROOT/containers/ID/<name> */
char *ctr_run_file(struct store *s, const char *id, const char *name);

/* Look a container up and bring its state up to date: a container whose
 * exit file exists is exited with that code; one whose monitor is gone
 * without an exit file is exited with code -1 (unknown). */
int ctr_lookup(struct store *s, const char *name_or_id, json_t **ret,
               berth_error_t *err);
int ctr_refresh(struct store *s, json_t **rec, berth_error_t *err);
/* Every container, refreshed. */
int ctr_list(struct store *s, json_t **ret, berth_error_t *err);

/* Is the container's monitor alive? */
bool ctr_monitor_alive(struct store *s, const char *id);
/* The monitor's pid from its pid file, 0 when none (check it is alive). */
pid_t ctr_monitor_pid(struct store *s, const char *id);

/* podman's inspect document and ps row for a refreshed record. */
json_t *ctr_inspect_json(struct store *s, json_t *rec);
json_t *ctr_ps_row(json_t *rec, bool no_trunc);

/* Send a signal to the container's init (entering its user namespace when
 * the process is not ours to signal). */
int ctr_signal(struct store *s, json_t *rec, int sig, berth_error_t *err);
/* Remove a container (force: kill it first if it runs). */
int ctr_remove(struct store *s, const char *name_or_id, bool force,
               berth_error_t *err);
/* Parse "SIGTERM", "TERM", "15". -1 when unknown. */
int ctr_parse_signal(const char *s);

#endif
