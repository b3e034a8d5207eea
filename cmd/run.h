/* Creating and starting containers, shared by run, create, start and
 * restart: the container's record, root filesystem, bundle and monitor. */
#ifndef BERTH_CMD_RUN_H
#define BERTH_CMD_RUN_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

struct store;

/* Create (not start) the infra container of pod (a pods record) from
 * image: named ID12-infra, the pod's ports, network and hostname, and
 * options.pod/options.infra set.  *ret its record. */
int run_create_infra(struct store *s, json_t *pod, const char *image,
                     json_t **ret, berth_error_t *err);
/* Create (not start) the hidden container NAME that holds the shared
 * network namespace of container networks (options.hidden: ps and rm -a
 * leave it alone). */
int run_create_holder(struct store *s, const char *name, const char *image,
                      json_t **ret, berth_error_t *err);
/* Launch the monitor of a created container; it creates the container
 * with the runtime and waits on the start fifo.  Records state created
 * with the init's pid. */
int ctr_launch(struct store *s, json_t **rec, berth_error_t *err);
/* Release a launched container (one byte into its start fifo) and record
 * it running. */
int ctr_release(struct store *s, json_t **rec, berth_error_t *err);
/* Relay the container's output (and our stdin with interactive) until it
 * exits or the user detaches; *ret_exit the container's exit code, or -1
 * when detached.  connect_fd: an attach socket already connected (run
 * connects before releasing the container so no output is lost). */
int ctr_attach_fd(struct store *s, json_t *rec, int connect_fd,
                  bool interactive, bool tty, const char *detach_keys,
                  int *ret_exit, berth_error_t *err);
int ctr_attach_connect(struct store *s, const char *id, int *ret_fd,
                       berth_error_t *err);
/* Our terminal's size to the container's pty (the monitor's ctl fifo). */
void ctr_send_size(struct store *s, const char *id);
/* Wait (inotify on the exit dir) until the monitor records the exit
 * code; -1 when the monitor died without one. */
int ctr_wait_exit(struct store *s, const char *id, int *ret_code);
/* The exit code the monitor recorded for id, or -1 when none. */
int ctr_read_exit(struct store *s, const char *id);

#endif
