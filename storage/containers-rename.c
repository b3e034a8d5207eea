#define _GNU_SOURCE
#include "storage/containers-rename.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"

/* The rule containers_create applies (podman's). */
static bool rename_name_valid(const char *n)
{
    if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
          (n[0] >= '0' && n[0] <= '9')))
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return false;
    return strlen(n) < NAME_MAX;
}

static char *rename_holder(struct store *s, const char *name)
{
    _cleanup_free_ char *p = store_path(s, "names/%s", name);
    char buf[128];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return xstrdup(buf);
}

/* A name is stale once its container's directory is gone (delete frees
 * the name before moving the directory away). */
static bool rename_holder_alive(struct store *s, const char *id)
{
    if (strchr(id, '/') || *id == '.')
        return false;
    _cleanup_free_ char *dir = containers_path(s, id, NULL);
    return fs_exists(dir);
}

static int rename_claim(struct store *s, const char *name, const char *id,
                        berth_error_t *err)
{
    _cleanup_free_ char *p = store_path(s, "names/%s", name);
    for (int attempt = 0; attempt < 4; attempt++) {
        if (symlink(id, p) == 0)
            return 0;
        if (errno != EEXIST)
            return berth_error_new(err, errno, "claim name %s", p);
        _cleanup_free_ char *holder = rename_holder(s, name);
        if (holder == NULL)
            continue; /* freed meanwhile */
        if (rename_holder_alive(s, holder)) {
            berth_error_new(err, 0,
                            "the container name \"%s\" is already in use by "
                            "%s. You have to remove that container to be "
                            "able to reuse that name: that name is already "
                            "in use",
                            name, holder);
            (*err)->errnum = EEXIST;
            return -1;
        }
        /* stale: unlink it under the names lock unless reclaimed */
        _cleanup_close_ int lk = -1;
        if (store_lock(s, "names", &lk, err) < 0)
            return -1;
        _cleanup_free_ char *now = rename_holder(s, name);
        if (now && strcmp(now, holder) == 0 && !rename_holder_alive(s, now) &&
            unlink(p) < 0 && errno != ENOENT)
            return berth_error_new(err, errno, "remove stale name %s", p);
    }
    return berth_error_new(err, 0, "claim name %s: too much contention", name);
}

static void rename_release(struct store *s, const char *name, const char *id)
{
    _cleanup_free_ char *holder = rename_holder(s, name);
    if (holder && strcmp(holder, id) == 0) {
        _cleanup_free_ char *p = store_path(s, "names/%s", name);
        unlink(p);
    }
}

struct rename_arg {
    const char *new_name;
    char *old_name;
};

static int rename_fn(json_t *rec, void *arg, berth_error_t *err)
{
    struct rename_arg *a = arg;
    (void)err;
    const char *old = json_get_str(rec, "name");
    a->old_name = old ? xstrdup(old) : NULL;
    json_object_set_new(rec, "name", json_string(a->new_name));
    return 0;
}

int containers_rename(struct store *s, const char *id, const char *new_name,
                      berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (!rename_name_valid(new_name)) {
        berth_error_new(err, 0, "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: "
                                "invalid argument");
        (*err)->errnum = EINVAL;
        return -1;
    }
    if (containers_get(s, id, &rec, err) < 0)
        return -1;
    const char *cur = json_get_str(rec, "name");
    if (cur && strcmp(cur, new_name) == 0)
        return 0;
    if (rename_claim(s, new_name, id, err) < 0)
        return -1;
    struct rename_arg a = {new_name, NULL};
    if (containers_update(s, id, rename_fn, &a, NULL, err) < 0) {
        rename_release(s, new_name, id);
        free(a.old_name);
        return berth_error_prefix(err, "rename container %s", id);
    }
    if (a.old_name)
        rename_release(s, a.old_name, id);
    free(a.old_name);
    return 0;
}
