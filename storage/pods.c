#define _GNU_SOURCE
#include "storage/pods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/records.h"

/* Why the order of operations matters (as in containers.c):
 * - create takes the pod's lock, claims the name, then writes ID.json;
 *   delete, under the lock, removes ID.json, then frees the name.  So a
 *   name whose record is missing while nobody holds the pod's lock was
 *   left by a process that died, and the next create reclaims it;
 * - delete removes the record before the name (containers free the name
 *   first, then move their directory away): a crash in between leaves a
 *   stale name, never a pod whose name another pod could claim. */

static char *pod_path(struct store *s, const char *id)
{
    return store_path(s, "pods/%s.json", id);
}

static char *lock_name(const char *id)
{
    return xasprintf("pod-%s", id);
}

static void unlink_lock(struct store *s, const char *id)
{
    _cleanup_free_ char *p = store_path(s, "locks/pod-%s.lock", id);
    unlink(p);
}

/* Is `id` a pod (or one being created right now)? */
static bool holder_alive(struct store *s, const char *id)
{
    if (!record_id_valid(id, 64))
        return false;
    _cleanup_free_ char *path = pod_path(s, id);
    _cleanup_free_ char *lk = lock_name(id);
    return record_alive(s, lk, path);
}

static int name_in_use(const char *name, const char *holder,
                       berth_error_t *err)
{
    (void)holder;
    berth_error_new(err, 0,
                    "error adding pod to state: name \"%s\" is in use: pod "
                    "already exists",
                    name);
    (*err)->errnum = EEXIST;
    return -1;
}

static int not_found(const char *what, berth_error_t *err)
{
    berth_error_new(err, 0, "no pod with name or ID %s found: no such pod",
                    what);
    (*err)->errnum = ENOENT;
    return -1;
}

/* A record that parses but is not a pod's (edited by hand) counts as
 * torn: list skips it. */
static int pod_get(struct store *s, const char *id, json_t **ret,
                   berth_error_t *err)
{
    if (!record_id_valid(id, 64))
        return not_found(id, err);
    _cleanup_free_ char *path = pod_path(s, id);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *j = json_load_path(path, &e);
    if (j == NULL && e->errnum == ENOENT) {
        berth_error_free(&e);
        return not_found(id, err);
    }
    if (j == NULL) {
        *err = e;
        return -1;
    }
    const char *rid = json_get_str(j, "id");
    if (rid == NULL || strcmp(rid, id) != 0)
        return berth_error_new(err, 0, "%s: not the record of pod %s", path,
                               id);
    *ret = TAKE_PTR(j);
    return 0;
}

static const struct record_kind pod_kind = {
    .kind = "pod",
    .dir = "pods",
    .suffix = ".json",
    .names = "pod-names",
    .path = pod_path,
    .get = pod_get,
    .alive = holder_alive,
    .in_use = name_in_use,
    .not_found = not_found,
};

/* Picks a fresh random id and takes its lock. */
static int new_id(struct store *s, char ret_id[65], int *ret_lock,
                  berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "pods");
    _cleanup_free_ char *names = store_path(s, "%s", pod_kind.names);
    if (fs_mkdir_p(top, 0700, err) < 0 || fs_mkdir_p(names, 0700, err) < 0)
        return -1;
    for (int attempt = 0; attempt < 8; attempt++) {
        record_id_new(ret_id);
        _cleanup_free_ char *lk = lock_name(ret_id);
        _cleanup_free_ char *path = pod_path(s, ret_id);
        if (store_lock(s, lk, ret_lock, err) < 0)
            return -1;
        if (!fs_exists(path))
            return 0;
        close(*ret_lock);
        *ret_lock = -1;
    }
    return berth_error_new(err, 0, "cannot pick a free pod id");
}

static void set_default(json_t *rec, const char *key, json_t *dflt)
{
    json_t *v = json_object_get(rec, key);
    if (v != NULL && json_typeof(v) == json_typeof(dflt))
        json_decref(dflt);
    else
        json_object_set_new(rec, key, dflt);
}

static json_t *new_record(json_t *fields, const char *id, const char *name)
{
    json_t *rec = json_is_object(fields) ? json_deep_copy(fields)
                                         : json_object();
    _cleanup_free_ char *now = time_rfc3339_now();
    json_object_set_new(rec, "id", json_string(id));
    json_object_set_new(rec, "name", json_string(name));
    json_object_set_new(rec, "created", json_string(now));
    set_default(rec, "infra_id", json_string(""));
    set_default(rec, "hostname", json_string(""));
    set_default(rec, "share", json_array());
    set_default(rec, "ports", json_array());
    set_default(rec, "network", json_string(""));
    set_default(rec, "labels", json_object());
    return rec;
}

int pods_create(struct store *s, json_t *fields, json_t **ret,
                berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_json_ json_t *rec = NULL;
    _cleanup_free_ char *name = NULL, *path = NULL;
    const char *want = json_get_str(fields, "name");
    char id[65];

    if (want && *want && !record_name_valid(want)) {
        berth_error_new(err, 0,
                        "invalid pod name \"%s\": names must match "
                        "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
                        want);
        (*err)->errnum = EINVAL;
        return -1;
    }
    if (new_id(s, id, &lock, err) < 0)
        return -1;
    if (want && *want) {
        if (record_name_claim(s, &pod_kind, want, id, err) < 0)
            goto fail;
        name = xstrdup(want);
    } else if (record_name_claim_random(s, &pod_kind, id, &name, err) < 0) {
        goto fail;
    }
    rec = new_record(fields, id, name);
    path = pod_path(s, id);
    if (json_write_path(path, rec, err) < 0)
        goto fail;
    *ret = TAKE_PTR(rec);
    return 0;
fail:
    if (name)
        record_name_release(s, &pod_kind, name, id);
    /* nobody else knows the fresh id: its lock file is ours to remove */
    unlink_lock(s, id);
    return -1;
}

int pods_lookup(struct store *s, const char *name_or_id, json_t **ret,
                berth_error_t *err)
{
    return record_lookup(s, &pod_kind, name_or_id, ret, err);
}

int pods_list(struct store *s, json_t **ret, berth_error_t *err)
{
    return record_list(s, &pod_kind, ret, err);
}

/* Takes the lock of an existing pod; checking first leaves no lock file
 * behind for an id that never was a pod. */
static int lock_pod(struct store *s, const char *id, int *ret_lock,
                    berth_error_t *err)
{
    _cleanup_free_ char *path = NULL, *lk = NULL;
    if (!record_id_valid(id, 64))
        return not_found(id, err);
    path = pod_path(s, id);
    if (!fs_exists(path))
        return not_found(id, err);
    lk = lock_name(id);
    return store_lock(s, lk, ret_lock, err);
}

int pods_update(struct store *s, const char *id, pods_update_fn fn, void *arg,
                json_t **ret, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_json_ json_t *rec = NULL;

    if (lock_pod(s, id, &lock, err) < 0 || pod_get(s, id, &rec, err) < 0)
        return -1;
    if (fn(rec, arg, err) < 0)
        return -1;
    /* the file name is the id: a record saying otherwise is not read back */
    json_object_set_new(rec, "id", json_string(id));
    _cleanup_free_ char *path = pod_path(s, id);
    if (json_write_path(path, rec, err) < 0)
        return -1;
    if (ret)
        *ret = TAKE_PTR(rec);
    return 0;
}

int pods_delete(struct store *s, const char *id, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_json_ json_t *rec = NULL;

    if (lock_pod(s, id, &lock, err) < 0 || pod_get(s, id, &rec, err) < 0)
        return -1;
    _cleanup_free_ char *path = pod_path(s, id);
    _cleanup_free_ char *top = store_path(s, "pods");
    if (unlink(path) < 0)
        return berth_error_new(err, errno, "remove pod %s: unlink %s", id,
                               path);
    fs_fsync_dir(top);
    const char *name = json_get_str(rec, "name");
    if (name)
        record_name_release(s, &pod_kind, name, id);
    unlink_lock(s, id);
    return 0;
}
