/* The store: content-addressed blobs, layers unpacked once per chain id,
 * and one record file per image (later containers and volumes), each
 * written atomically; no global database.
 *
 *   ROOT/blobs/sha256/HEX          manifests, configs, compressed layers
 *   ROOT/layers/CHAINID/diff/      unpacked layer (overlay lower dir)
 *   ROOT/layers/CHAINID/layer.json {diff_id, chain_id, parent, size, digest}
 *   ROOT/images/ID.json            image records (ID = config digest hex)
 *   ROOT/tmp/NAME + NAME.lock      work in progress; NAME.lock is flocked by
 *                                  its owner; an unlocked one is debris of a
 *                                  dead process and is removed by the next
 *                                  command that sees it
 *   ROOT/locks/                    per-record lock files
 *   RUNROOT/                       runtime state
 */
#ifndef BERTH_STORAGE_STORE_H
#define BERTH_STORAGE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

struct store_opts {
    const char *root;    /* --root or NULL for the default */
    const char *runroot; /* --runroot or NULL */
    const char *driver;  /* --storage-driver or NULL */
};

struct store {
    char *root;
    char *runroot;
    char *driver; /* "overlay", "vfs" (chosen or configured) */
    bool rootless;
};

/* Default paths: ${XDG_DATA_HOME:-~/.local/share}/berth and
 * $XDG_RUNTIME_DIR/berth (else /tmp/berth-UID) for a user;
 * /var/lib/berth and /run/berth for root. */
char *store_default_root(void);
char *store_default_runroot(void);
int store_open(const struct store_opts *opts, struct store **ret,
               berth_error_t *err);
void store_free(struct store *s);
/* ROOT/<fmt...> */
char *store_path(const struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- temporary entries --- */
struct store_tmp {
    char *path; /* ROOT/tmp/NAME: not created; the caller makes it */
    int lock_fd;
};
int store_tmp_new(struct store *s, struct store_tmp *ret, berth_error_t *err);
/* Remove what is left at tmp->path (if anything) and release the lock. */
void store_tmp_done(struct store *s, struct store_tmp *tmp);
/* Remove debris of dead processes (unlocked tmp entries). */
void store_tmp_gc(struct store *s);
/* rm -rf that works on trees holding files of subordinate owners (in a
 * user namespace when rootless). */
int store_rm_tree(struct store *s, const char *path, berth_error_t *err);

/* --- locks --- */
/* Exclusive lock on ROOT/locks/NAME.lock; close the fd to release. */
int store_lock(struct store *s, const char *name, int *ret_fd,
               berth_error_t *err);

/* --- blobs --- */
bool store_blob_exists(struct store *s, const char *digest);
char *store_blob_path(struct store *s, const char *digest);
/* Verify file `path` hashes to digest, then rename it into place. */
int store_blob_commit(struct store *s, const char *path, const char *digest,
                      berth_error_t *err);
/* Rename into place a file whose digest the caller verified while writing
 * it (the registry client hashes blobs as they stream in). */
int store_blob_commit_verified(struct store *s, const char *path,
                               const char *digest, berth_error_t *err);
/* Store bytes under their sha256 digest; *ret_digest "sha256:..." */
int store_blob_put(struct store *s, const void *data, size_t len,
                   char **ret_digest, berth_error_t *err);
int store_blob_read(struct store *s, const char *digest, char **ret,
                    size_t *ret_len, berth_error_t *err);

/* --- layers --- */
/* chain id of a layer: diff id for the bottom one, else
 * sha256(parent_chain + " " + diff_id). */
char *layer_chain_id(const char *parent_chain, const char *diff_id);
bool store_layer_exists(struct store *s, const char *chain_id);
char *store_layer_diff(struct store *s, const char *chain_id);
/* Unpack compressed blob `digest` as the layer with chain id
 * expected_chain over `parent_chain` (NULL for the bottom), once: a second
 * process needing the same layer waits on the layer's lock and then finds
 * it done.  Checks the unpacked stream's diff id equals expected_diff.
 * Rootless, the unpack runs in the user namespace so owners are kept. */
int store_layer_create(struct store *s, const char *digest,
                       const char *expected_diff, const char *parent_chain,
                       const char *expected_chain, berth_error_t *err);
/* Remove layers, blobs no image references (best effort; skipped
 * while another process pulls). Returns bytes reclaimed. */
int store_gc(struct store *s, uint64_t *ret_reclaimed, berth_error_t *err);

/* Held (shared) by pulls and other writers of new records from their first
 * blob to their image record, so that store_gc never deletes what is
 * about to be referenced. */
int store_pin(struct store *s, int *ret_fd, berth_error_t *err);

#endif
