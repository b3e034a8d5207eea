#define _GNU_SOURCE
#include "storage/images.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"

static char *record_path(struct store *s, const char *id)
{
    return store_path(s, "images/%s.json", id);
}

static int cmp_added(const void *a, const void *b)
{
    json_t *ja = *(json_t *const *)a, *jb = *(json_t *const *)b;
    const char *x = json_get_str(ja, "added"), *y = json_get_str(jb, "added");
    int c = strcmp(y ? y : "", x ? x : "");
    if (c == 0)
        c = strcmp(json_get_str(ja, "id") ? json_get_str(ja, "id") : "",
                   json_get_str(jb, "id") ? json_get_str(jb, "id") : "");
    return c;
}

int images_list(struct store *s, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *dir = store_path(s, "images");
    _cleanup_closedir_ DIR *d = opendir(dir);
    _cleanup_json_ json_t *arr = json_array();
    struct dirent *de;

    if (d == NULL)
        return berth_error_new(err, errno, "open %s", dir);
    while ((de = readdir(d)) != NULL) {
        if (!str_has_suffix(de->d_name, ".json") || de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
        berth_error_t e = NULL;
        json_t *j = json_load_path(p, &e);
        if (j == NULL) {
            /* removed meanwhile by another process */
            if (e->errnum == ENOENT) {
                berth_error_free(&e);
                continue;
            }
            *err = e;
            return -1;
        }
        json_array_append_new(arr, j);
    }
    size_t n = json_array_size(arr);
    json_t **v = xcalloc(n, sizeof(json_t *));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(json_t *), cmp_added);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(sorted, v[i]);
    free(v);
    *ret = sorted;
    return 0;
}

int images_get(struct store *s, const char *id, json_t **ret,
               berth_error_t *err)
{
    _cleanup_free_ char *p = record_path(s, id);
    json_t *j = json_load_path(p, err);
    if (j == NULL)
        return -1;
    *ret = j;
    return 0;
}

static void array_add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return;
    }
    json_array_append_new(arr, json_string(s));
}

static bool array_remove(json_t *arr, const char *s)
{
    bool removed = false;
    for (size_t i = 0; i < json_array_size(arr);) {
        json_t *v = json_array_get(arr, i);
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) {
            json_array_remove(arr, i);
            removed = true;
        } else {
            i++;
        }
    }
    return removed;
}

/* Remove `name` from every image but `keep_id`.  Images lock held. */
static int steal_name(struct store *s, const char *name, const char *keep_id,
                      berth_error_t *err)
{
    _cleanup_json_ json_t *all = NULL;
    size_t i;
    json_t *img;
    if (images_list(s, &all, err) < 0)
        return -1;
    json_array_foreach(all, i, img) {
        const char *id = json_get_str(img, "id");
        if (id == NULL || strcmp(id, keep_id) == 0)
            continue;
        if (array_remove(json_object_get(img, "names"), name)) {
            _cleanup_free_ char *p = record_path(s, id);
            if (json_write_path(p, img, err) < 0)
                return -1;
        }
    }
    return 0;
}

int images_put(struct store *s, json_t *record, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    const char *id = json_get_str(record, "id");
    _cleanup_json_ json_t *old = NULL;
    _cleanup_free_ char *p = NULL;
    size_t i;
    json_t *v;

    if (id == NULL)
        return berth_error_new(err, 0, "internal: image record without id");
    if (store_lock(s, "images", &lock, err) < 0)
        return -1;
    p = record_path(s, id);
    berth_error_t e = NULL;
    old = json_load_path(p, &e);
    berth_error_free(&e);
    if (old) {
        /* merge: keep the names and digests the image already had */
        json_t *names = json_object_get(old, "names");
        json_t *digests = json_object_get(old, "digests");
        json_t *nn = json_object_get(record, "names");
        json_t *nd = json_object_get(record, "digests");
        json_array_foreach(nn, i, v) array_add_unique(names, json_string_value(v));
        json_array_foreach(nd, i, v) array_add_unique(digests, json_string_value(v));
        json_object_set(record, "names", names);
        json_object_set(record, "digests", digests);
        if (json_get_str(old, "added"))
            json_object_set(record, "added", json_object_get(old, "added"));
    }
    json_array_foreach(json_object_get(record, "names"), i, v) {
        if (steal_name(s, json_string_value(v), id, err) < 0)
            return -1;
    }
    return json_write_path(p, record, err);
}

static bool is_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return false;
    return true;
}

static bool names_match(json_t *names, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

/* A short name matches any repository whose last path components equal it
 * ("busybox:latest" matches "127.0.0.1:5000/busybox:latest"), as podman. */
static bool names_match_short(json_t *names, const char *want)
{
    size_t i;
    json_t *v;
    size_t wl = strlen(want);
    json_array_foreach(names, i, v) {
        const char *n = json_string_value(v);
        size_t nl = n ? strlen(n) : 0;
        if (nl > wl && strcmp(n + nl - wl, want) == 0 && n[nl - wl - 1] == '/')
            return true;
    }
    return false;
}

/* The forms a user may type for a name: as given, plus ":latest" when it
 * has no tag or digest. */
static char *with_default_tag(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *last = slash ? slash + 1 : name;
    if (strchr(last, ':') || strchr(name, '@'))
        return xstrdup(name);
    return xasprintf("%s:latest", name);
}

static int lookup_by_id(json_t *all, const char *name, json_t **ret,
                        berth_error_t *err)
{
    const char *hex = str_has_prefix(name, "sha256:") ? name + 7 : name;
    json_t *found = NULL, *img;
    size_t i;
    if (strlen(hex) < 3 || strlen(hex) > 64 || !is_hex(hex))
        return 0;
    json_array_foreach(all, i, img) {
        const char *id = json_get_str(img, "id");
        if (id && str_has_prefix(id, hex)) {
            if (found)
                return berth_error_new(err, 0,
                                       "%s: image id prefix is ambiguous "
                                       "(more than one image matches)",
                                       name);
            found = img;
        }
    }
    if (found)
        *ret = json_incref(found);
    return found ? 1 : 0;
}

int images_lookup(struct store *s, const char *name, json_t **ret,
                  berth_error_t *err)
{
    _cleanup_json_ json_t *all = NULL;
    _cleanup_free_ char *full = with_default_tag(name);
    json_t *img;
    size_t i;
    int r;

    if (images_list(s, &all, err) < 0)
        return -1;
    /* exact names and repo digests first: a name may look like hex */
    json_array_foreach(all, i, img) {
        if (names_match(json_object_get(img, "names"), full) ||
            names_match(json_object_get(img, "digests"), name)) {
            *ret = json_incref(img);
            return 0;
        }
    }
    r = lookup_by_id(all, name, ret, err);
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (str_has_prefix(full, "docker.io/library/"))
        full = (free(full), with_default_tag(name + strlen("docker.io/library/")));
    json_array_foreach(all, i, img) {
        if (names_match_short(json_object_get(img, "names"), full) ||
            names_match_short(json_object_get(img, "digests"), name)) {
            *ret = json_incref(img);
            return 0;
        }
    }
    berth_error_new(err, 0, "%s: image not known", name);
    (*err)->errnum = ENOENT;
    return -1;
}

int images_add_name(struct store *s, const char *id, const char *name,
                    berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (images_get(s, id, &rec, err) < 0)
        return -1;
    _cleanup_json_ json_t *upd = json_deep_copy(rec);
    json_object_set_new(upd, "names", json_pack("[s]", name));
    json_object_set_new(upd, "digests", json_array());
    return images_put(s, upd, err);
}

int images_remove_name(struct store *s, const char *id, const char *name,
                       berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_json_ json_t *rec = NULL;
    if (store_lock(s, "images", &lock, err) < 0)
        return -1;
    if (images_get(s, id, &rec, err) < 0)
        return -1;
    if (!array_remove(json_object_get(rec, "names"), name))
        return berth_error_new(err, 0, "%s: tag not known", name);
    /* the repo digest goes with the repo's last name */
    _cleanup_free_ char *repo = xstrdup(name);
    char *colon = strrchr(repo, ':');
    if (colon && !strchr(colon, '/'))
        *colon = '\0';
    bool repo_left = false;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rec, "names"), i, v) {
        const char *n = json_string_value(v);
        if (str_has_prefix(n, repo) && n[strlen(repo)] == ':')
            repo_left = true;
    }
    if (!repo_left) {
        json_t *dg = json_object_get(rec, "digests");
        for (size_t k = 0; k < json_array_size(dg);) {
            const char *d = json_string_value(json_array_get(dg, k));
            if (d && str_has_prefix(d, repo) && d[strlen(repo)] == '@')
                json_array_remove(dg, k);
            else
                k++;
        }
    }
    _cleanup_free_ char *p = record_path(s, id);
    return json_write_path(p, rec, err);
}

int images_delete(struct store *s, const char *id, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_free_ char *p = record_path(s, id);
    if (store_lock(s, "images", &lock, err) < 0)
        return -1;
    if (unlink(p) < 0 && errno != ENOENT)
        return berth_error_new(err, errno, "remove %s", p);
    return 0;
}

bool images_dangling(json_t *record)
{
    return json_array_size(json_object_get(record, "names")) == 0 &&
           json_array_size(json_object_get(record, "digests")) == 0;
}

int images_config(struct store *s, json_t *record, json_t **ret,
                  berth_error_t *err)
{
    const char *c = json_get_str(record, "config");
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    if (c == NULL)
        return berth_error_new(err, 0, "image record without config");
    if (store_blob_read(s, c, &buf, &len, err) < 0)
        return -1;
    json_t *j = json_parse_buf(buf, len, "image config", err);
    if (j == NULL)
        return -1;
    *ret = j;
    return 0;
}
