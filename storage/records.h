/* What the stores of named records (containers.c, pods.c) share: random
 * 64-hex ids, podman's name rule, newest-first order, and name claims.
 *
 *   ROOT/<dir>/NAME    symlink whose target is the holder's id, made with
 *                      symlink(2): it fails with EEXIST, so two creates
 *                      with one name give one record
 *
 * A claim whose holder is not alive (its creator died between claiming
 * and writing the record) is stale: the next claimer unlinks it, under the
 * store lock named <dir>, so two reclaimers cannot unlink each other's
 * fresh claim.  Internal to storage/. */
#ifndef BERTH_STORAGE_RECORDS_H
#define BERTH_STORAGE_RECORDS_H

#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"
#include "storage/store.h"

/* min..64 lowercase hex digits */
bool record_id_valid(const char *s, size_t min);
void record_id_new(char ret[65]);
/* podman's [a-zA-Z0-9][a-zA-Z0-9_.-]*, short enough for a file name */
bool record_name_valid(const char *name);
/* Whether the record at record_path exists, or its creator holds the
 * store lock `lock` (so the record is about to exist). */
bool record_alive(struct store *s, const char *lock, const char *record_path);

/* A kind of record; every callback is the kind's own. */
struct record_kind {
    const char *kind;   /* "container", "pod": for messages */
    const char *dir;    /* ROOT/<dir>/ID<suffix> is one record's entry */
    const char *suffix; /* "" (a directory), ".json" */
    const char *names;  /* ROOT/<names>/NAME; also the lock guarding
                         * reclaims */
    /* the record file of a full id (inside the entry, or the entry) */
    char *(*path)(struct store *s, const char *id);
    int (*get)(struct store *s, const char *id, json_t **ret,
               berth_error_t *err);
    /* the record of id exists, or is being created right now */
    bool (*alive)(struct store *s, const char *id);
    /* fill *err with the kind's podman message; return -1 */
    int (*in_use)(const char *name, const char *holder, berth_error_t *err);
    int (*not_found)(const char *what, berth_error_t *err);
};

/* The id ROOT/<names>/NAME points at, or NULL. */
char *record_name_holder(struct store *s, const struct record_kind *rk,
                         const char *name);
/* Claim a name that the caller has validated for id. */
int record_name_claim(struct store *s, const struct record_kind *rk,
                      const char *name, const char *id, berth_error_t *err);
/* Claim a random free name (containers_random_name) for id. */
int record_name_claim_random(struct store *s, const struct record_kind *rk,
                             const char *id, char **ret_name,
                             berth_error_t *err);
/* Free the name if id holds it. */
void record_name_release(struct store *s, const struct record_kind *rk,
                         const char *name, const char *id);

/* By full id, name, or unique id prefix (podman's order). */
int record_lookup(struct store *s, const struct record_kind *rk,
                  const char *name_or_id, json_t **ret, berth_error_t *err);
/* Every record get reads, newest "created" (RFC 3339) first: one being
 * created or removed right now, or torn, is skipped. */
int record_list(struct store *s, const struct record_kind *rk, json_t **ret,
                berth_error_t *err);

#endif
