#define _GNU_SOURCE
#include "storage/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "runtime/spec.h"
#include "storage/containers.h"
#include "storage/driver.h"

/* --- records --- */

char *volumes_data_path(struct store *s, const char *name)
{
    return store_path(s, "volumes/%s/_data", name);
}

static char *vol_dir(struct store *s, const char *name)
{
    return store_path(s, "volumes/%s", name);
}

static char *vol_record_path(struct store *s, const char *name)
{
    return store_path(s, "volumes/%s/volume.json", name);
}

static int vol_lock(struct store *s, const char *name, int *ret_fd,
                    berth_error_t *err)
{
    _cleanup_free_ char *ln = xasprintf("volume-%s", name);
    return store_lock(s, ln, ret_fd, err);
}

/* podman's rule, which also keeps names usable as file names. */
static bool vol_name_valid(const char *n)
{
    static const char tail[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
                               "RSTUVWXYZ0123456789_.-";
    return n[0] && strchr(tail, n[0]) && n[0] != '_' && n[0] != '.' &&
           n[0] != '-' && strspn(n, tail) == strlen(n) &&
           strlen(n) < NAME_MAX;
}

static char *vol_random_name(void)
{
    unsigned char b[32];
    char out[65];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        abort(); /* 32 bytes never block or come short after boot */
    for (size_t i = 0; i < sizeof b; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    return xstrdup(out);
}

static int no_such_volume(const char *name, berth_error_t *err)
{
    berth_error_new(err, 0, "no volume with name \"%s\" found: no such volume",
                    name);
    (*err)->errnum = ENOENT;
    return -1;
}

int volumes_get(struct store *s, const char *name, json_t **ret,
                berth_error_t *err)
{
    if (!vol_name_valid(name))
        return no_such_volume(name, err);
    _cleanup_free_ char *p = vol_record_path(s, name);
    berth_error_t e = NULL;
    json_t *j = json_load_path(p, &e);
    if (j == NULL) {
        bool missing = e->errnum == ENOENT;
        if (missing) {
            berth_error_free(&e);
            return no_such_volume(name, err);
        }
        *err = e;
        return -1;
    }
    *ret = j;
    return 0;
}

static const char *const known_opts[] = {"uid", "gid", "UID", "GID", "copy",
                                         "nocopy", NULL};

static int check_options(json_t *options, berth_error_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(options, k, v) {
        if (!json_is_string(v))
            return berth_error_new(err, 0, "volume option %s: not a string",
                                   k);
        if (!strcmp(k, "type") || !strcmp(k, "device") || !strcmp(k, "o"))
            return berth_error_new(err, 0,
                                   "volume option \"%s\": mounting a device "
                                   "or file system into a volume is not "
                                   "supported by berth yet",
                                   k);
        if (!strv_contains((char *const *)known_opts, k))
            return berth_error_new(err, 0,
                                   "invalid mount option %s for driver "
                                   "'local': invalid argument",
                                   k);
        if ((!strcasecmp(k, "uid") || !strcasecmp(k, "gid")) &&
            (!*json_string_value(v) ||
             strspn(json_string_value(v), "0123456789") !=
                 strlen(json_string_value(v))))
            return berth_error_new(err, 0, "volume option %s=%s: not a "
                                   "number", k, json_string_value(v));
    }
    return 0;
}

struct chown_job {
    const char *path;
    long uid, gid;
};

static int chown_child(void *arg, berth_error_t *err)
{
    struct chown_job *j = arg;
    if (chown(j->path, (uid_t)j->uid, (gid_t)j->gid) < 0)
        return berth_error_new(err, errno, "chown %s to %ld:%ld", j->path,
                               j->uid, j->gid);
    return 0;
}

/* uid=/gid= options: owners as the container sees them, so rootless the
 * chown runs in the user namespace. */
static int apply_owner(struct store *s, const char *data, json_t *options,
                       berth_error_t *err)
{
    const char *u = json_get_str(options, "uid") ?: json_get_str(options,
                                                                  "UID");
    const char *g = json_get_str(options, "gid") ?: json_get_str(options,
                                                                  "GID");
    if (u == NULL && g == NULL)
        return 0;
    struct chown_job j = {data, u ? atol(u) : -1, g ? atol(g) : -1};
    if (!s->rootless)
        return chown_child(&j, err);
    return userns_run(chown_child, &j, err) < 0 ? -1 : 0;
}

/* mkdir ROOT/volumes/NAME under the record's lock. */
static int claim_dir(struct store *s, const char *name, berth_error_t *err)
{
    _cleanup_free_ char *dir = vol_dir(s, name);
    _cleanup_free_ char *rec = vol_record_path(s, name);
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return berth_error_new(err, errno, "create volume %s", dir);
    if (fs_exists(rec)) {
        berth_error_new(err, 0, "volume with name %s already exists: volume "
                        "already exists", name);
        (*err)->errnum = EEXIST;
        return -1;
    }
    /* no record while we hold the lock: its creator died */
    if (store_rm_tree(s, dir, err) < 0)
        return -1;
    if (mkdir(dir, 0700) < 0)
        return berth_error_new(err, errno, "create volume %s", dir);
    return 0;
}

static json_t *new_record(struct store *s, const char *name, json_t *labels,
                          json_t *options, bool anonymous)
{
    _cleanup_free_ char *data = volumes_data_path(s, name);
    _cleanup_free_ char *now = time_rfc3339_now();
    bool nocopy = json_object_get(options, "nocopy") != NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:b, s:b}", "name", name,
                     "driver", "local", "mountpoint", data, "created", now,
                     "labels", labels, "options", options, "anonymous",
                     anonymous, "needs_copy", !nocopy);
}

static int create_named(struct store *s, const char *name, json_t *labels,
                        json_t *options, bool anonymous, json_t **ret,
                        berth_error_t *err)
{
    _cleanup_close_ int lk = -1;
    _cleanup_free_ char *dir = vol_dir(s, name);
    _cleanup_free_ char *data = volumes_data_path(s, name);
    _cleanup_free_ char *recp = vol_record_path(s, name);
    _cleanup_json_ json_t *rec = NULL;

    if (vol_lock(s, name, &lk, err) < 0 || claim_dir(s, name, err) < 0)
        return -1;
    rec = new_record(s, name, labels, options, anonymous);
    if (mkdir(data, 0755) < 0) {
        berth_error_new(err, errno, "create %s", data);
        goto fail;
    }
    if (chmod(data, 0755) < 0 || apply_owner(s, data, options, err) < 0 ||
        json_write_path(recp, rec, err) < 0) {
        if (*err == NULL)
            berth_error_new(err, errno, "chmod %s", data);
        goto fail;
    }
    if (ret)
        *ret = TAKE_PTR(rec);
    return 0;
fail:;
    berth_error_t e = NULL;
    if (store_rm_tree(s, dir, &e) < 0)
        berth_error_free(&e);
    return -1;
}

int volumes_create(struct store *s, const char *name, json_t *labels,
                   json_t *options, bool anonymous, json_t **ret,
                   berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "volumes");
    _cleanup_json_ json_t *l = labels ? json_deep_copy(labels) : json_object();
    _cleanup_json_ json_t *o = options ? json_deep_copy(options)
                                       : json_object();
    if (name && !vol_name_valid(name))
        return berth_error_new(err, 0, "running volume create option: names "
                               "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: "
                               "invalid argument");
    if (check_options(o, err) < 0 || fs_mkdir_p(top, 0700, err) < 0)
        return -1;
    if (name)
        return create_named(s, name, l, o, anonymous, ret, err);
    for (int attempt = 0; attempt < 8; attempt++) {
        _cleanup_free_ char *rnd = vol_random_name();
        berth_error_t e = NULL;
        if (create_named(s, rnd, l, o, true, ret, &e) == 0)
            return 0;
        if (e->errnum != EEXIST) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
    }
    return berth_error_new(err, 0, "cannot pick a name for an anonymous "
                           "volume");
}

static int by_name(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    return strcmp(json_get_str(*x, "name"), json_get_str(*y, "name"));
}

int volumes_list(struct store *s, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "volumes");
    _cleanup_closedir_ DIR *d = opendir(top);
    json_t **v = NULL;
    size_t n = 0;
    struct dirent *de;

    if (d == NULL && errno != ENOENT)
        return berth_error_new(err, errno, "open %s", top);
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !vol_name_valid(de->d_name))
            continue;
        _cleanup_free_ char *p = vol_record_path(s, de->d_name);
        berth_error_t e = NULL;
        json_t *j = json_load_path(p, &e);
        berth_error_free(&e); /* half-created or being removed: not listed */
        if (j == NULL || json_get_str(j, "name") == NULL) {
            json_decref(j);
            continue;
        }
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = j;
    }
    if (n)
        qsort(v, n, sizeof(*v), by_name);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, v[i]);
    free(v);
    *ret = a;
    return 0;
}

/* Does mount source `src` lie at or under `data`? */
static bool under(const char *src, const char *data)
{
    size_t l = strlen(data);
    return src && strncmp(src, data, l) == 0 && (src[l] == '\0' ||
                                                 src[l] == '/');
}

static bool ctr_uses(json_t *ctr, const char *data)
{
    json_t *mounts = json_object_get(json_object_get(ctr, "options"),
                                     "mounts");
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m) if (under(json_get_str(m, "source"),
                                               data)) return true;
    return false;
}

int volumes_users(struct store *s, const char *name, char ***ret_ids,
                  berth_error_t *err)
{
    _cleanup_json_ json_t *list = NULL;
    _cleanup_free_ char *data = volumes_data_path(s, name);
    char **ids = xcalloc(1, sizeof(char *));
    if (containers_list(s, &list, err) < 0) {
        free(ids);
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) if (ctr_uses(c, data))
        strv_append(&ids, json_get_str(c, "id"));
    *ret_ids = ids;
    return 0;
}

static int in_use(const char *name, char **ids, berth_error_t *err)
{
    _cleanup_free_ char *list = strv_join(ids, ", ");
    berth_error_new(err, 0, "volume %s is being used by the following "
                    "container(s): %s: volume is being used", name, list);
    (*err)->errnum = EBUSY;
    return -1;
}

int volumes_remove(struct store *s, const char *name, bool force,
                   berth_error_t *err)
{
    _cleanup_close_ int lk = -1;
    _cleanup_json_ json_t *rec = NULL;
    _cleanup_strv_ char **ids = NULL;
    _cleanup_free_ char *dir = NULL;
    struct store_tmp t = {0};

    if (volumes_get(s, name, &rec, err) < 0 || vol_lock(s, name, &lk, err) < 0)
        return -1;
    json_decref(TAKE_PTR(rec));
    /* removed by someone else while we waited for the lock? */
    if (volumes_get(s, name, &rec, err) < 0)
        return -1;
    if (!force) {
        if (volumes_users(s, name, &ids, err) < 0)
            return -1;
        if (ids[0])
            return in_use(name, ids, err);
    }
    /* moved away first, so a half-removed volume is never listed */
    dir = vol_dir(s, name);
    if (store_tmp_new(s, &t, err) < 0)
        return -1;
    if (rename(dir, t.path) < 0) {
        berth_error_new(err, errno, "remove volume %s", name);
        store_tmp_done(s, &t);
        return -1;
    }
    close(TAKE_FD(lk));
    int r = store_rm_tree(s, t.path, err);
    store_tmp_done(s, &t);
    return r;
}

int volumes_prune(struct store *s, char ***ret_removed, berth_error_t *err)
{
    _cleanup_json_ json_t *list = NULL;
    _cleanup_strv_ char **removed = xcalloc(1, sizeof(char *));
    if (volumes_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *name = json_get_str(v, "name");
        berth_error_t e = NULL;
        if (volumes_remove(s, name, false, &e) < 0) {
            /* in use, or gone meanwhile: not this prune's business */
            if (e->errnum == EBUSY || e->errnum == ENOENT) {
                berth_error_free(&e);
                continue;
            }
            *err = e;
            return -1;
        }
        strv_append(&removed, name);
    }
    if (ret_removed)
        *ret_removed = TAKE_PTR(removed);
    return 0;
}

int volumes_spec_resolve(void *arg, const char *name, char **ret_path,
                         berth_error_t *err)
{
    struct store *s = arg;
    _cleanup_json_ json_t *rec = NULL;
    berth_error_t e = NULL;
    if (name == NULL) {
        if (volumes_create(s, NULL, NULL, NULL, true, &rec, err) < 0)
            return -1;
    } else if (volumes_get(s, name, &rec, &e) < 0) {
        if (e->errnum != ENOENT) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
        /* podman creates a named volume on first use; a racing run may
         * create it first, which is just as good */
        if (volumes_create(s, name, NULL, NULL, false, &rec, &e) < 0) {
            if (e->errnum != EEXIST) {
                *err = e;
                return -1;
            }
            berth_error_free(&e);
            if (volumes_get(s, name, &rec, err) < 0)
                return -1;
        }
    }
    *ret_path = volumes_data_path(s, json_get_str(rec, "name"));
    return 0;
}

/* Name of the volume whose _data holds src, or NULL. */
static char *volume_of_source(struct store *s, const char *src)
{
    _cleanup_free_ char *top = store_path(s, "volumes/");
    if (src == NULL || !str_has_prefix(src, top))
        return NULL;
    const char *rest = src + strlen(top);
    const char *slash = strchr(rest, '/');
    if (slash == NULL || !under(slash, "/_data"))
        return NULL;
    _cleanup_free_ char *name = xstrndup(rest, (size_t)(slash - rest));
    return vol_name_valid(name) ? TAKE_PTR(name) : NULL;
}

int volumes_remove_anonymous_of(struct store *s, json_t *container_record,
                                berth_error_t *err)
{
    json_t *mounts = json_object_get(json_object_get(container_record,
                                                     "options"),
                                     "mounts");
    size_t i;
    json_t *m;
    int r = 0;
    json_array_foreach(mounts, i, m) {
        _cleanup_free_ char *name = volume_of_source(s, json_get_str(m,
                                                                     "source"));
        _cleanup_json_ json_t *rec = NULL;
        berth_error_t e = NULL;
        if (name == NULL || volumes_get(s, name, &rec, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        if (!json_is_true(json_object_get(rec, "anonymous")))
            continue;
        if (volumes_remove(s, name, false, &e) < 0) {
            if (e->errnum == EBUSY || e->errnum == ENOENT || r < 0)
                berth_error_free(&e);
            else {
                *err = e;
                r = -1;
            }
        }
    }
    return r;
}

/* --- seeding: the image's merged view at a path --- */

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define MAX_SYMLINKS 40

static bool dir_opaque(const char *path)
{
    char v = 0;
    _cleanup_free_ char *marker = xasprintf("%s/" WH_OPAQUE, path);
    struct stat st;
    return (lgetxattr(path, "trusted.overlay.opaque", &v, 1) == 1 &&
            v == 'y') ||
           (lgetxattr(path, "user.overlay.opaque", &v, 1) == 1 && v == 'y') ||
           lstat(marker, &st) == 0;
}

/* Is `name` in `parent` (a layer's dir) whited out? */
static bool whited_out(const char *parent, const char *name)
{
    _cleanup_free_ char *wh = xasprintf("%s/" WH_PREFIX "%s", parent, name);
    _cleanup_free_ char *p = xasprintf("%s/%s", parent, name);
    struct stat st;
    if (lstat(wh, &st) == 0)
        return true;
    return lstat(p, &st) == 0 && S_ISCHR(st.st_mode) &&
           st.st_rdev == makedev(0, 0);
}

/* Lexically join and clean an absolute path: "." and ".." resolved, no
 * trailing or double slashes; ".." at the root stays at the root. */
static char **path_components(const char *path)
{
    _cleanup_strv_ char **in = strv_split(path, "/");
    char **out = xcalloc(1, sizeof(char *));
    for (size_t i = 0; in[i]; i++) {
        size_t n = strv_len(out);
        if (strcmp(in[i], ".") == 0)
            continue;
        if (strcmp(in[i], "..") == 0) {
            if (n) {
                free(out[n - 1]);
                out[n - 1] = NULL;
            }
            continue;
        }
        strv_append(&out, in[i]);
    }
    return out;
}

struct walk {
    char **dirs; /* layer dirs at the current prefix, top first */
    size_t n;
};

static void walk_clear(struct walk *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->dirs[i]);
    free(w->dirs);
    w->dirs = NULL;
    w->n = 0;
}

/* Step the walk into component c.  Returns 0 stepped (w narrowed to the
 * layers that show something under it), 1 the merged entry is a symlink
 * (*ret_link its target), 2 it is missing or not a directory. */
static int walk_step(struct walk *w, const char *c, char **ret_link)
{
    struct walk next = {xcalloc(w->n + 1, sizeof(char *)), 0};
    bool top = true;
    int r = 0;
    for (size_t i = 0; i < w->n; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", w->dirs[i], c);
        struct stat st;
        if (whited_out(w->dirs[i], c)) {
            r = top ? 2 : 0;
            break;
        }
        if (lstat(p, &st) < 0)
            continue; /* nothing here in this layer: lower ones show */
        if (!S_ISDIR(st.st_mode)) {
            if (top && S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(p, target, sizeof target - 1);
                if (n < 0) {
                    r = 2;
                    break;
                }
                target[n] = '\0';
                *ret_link = xstrdup(target);
                r = 1;
            } else
                r = top ? 2 : 0; /* a non-dir hides the lower layers */
            break;
        }
        top = false;
        next.dirs[next.n++] = TAKE_PTR(p);
        if (dir_opaque(next.dirs[next.n - 1]))
            break;
    }
    if (r == 0 && next.n == 0)
        r = 2;
    if (r != 0) {
        walk_clear(&next);
        return r;
    }
    walk_clear(w);
    *w = next;
    return 0;
}

/* Resolve container_path in the merged view to the layer dirs that show
 * its content.  0 found (w filled), 1 nothing to copy, -1 error. */
static int walk_path(char *const *diffs, const char *container_path,
                     struct walk *w, berth_error_t *err)
{
    _cleanup_free_ char *path = xstrdup(container_path);
    for (int hops = 0; hops <= MAX_SYMLINKS; hops++) {
        _cleanup_strv_ char **comps = path_components(path);
        walk_clear(w);
        w->n = strv_len(diffs);
        w->dirs = xcalloc(w->n + 1, sizeof(char *));
        for (size_t i = 0; i < w->n; i++)
            w->dirs[i] = xstrdup(diffs[i]);
        size_t j = 0;
        char *link = NULL;
        int r = 0;
        for (; comps[j] && (r = walk_step(w, comps[j], &link)) == 0; j++)
            ;
        if (comps[j] == NULL)
            return w->n ? 0 : 1;
        if (r == 2) {
            walk_clear(w);
            return 1;
        }
        /* symlink at comps[j]: continue from its target, inside the image */
        _cleanup_free_ char *rest = strv_join(comps + j + 1, "/");
        _cleanup_free_ char *base = xstrdup("");
        for (size_t k = 0; k < j; k++) {
            char *b = xasprintf("%s/%s", base, comps[k]);
            free(base);
            base = b;
        }
        free(path);
        path = link[0] == '/' ? xasprintf("%s/%s", link, rest)
                              : xasprintf("%s/%s/%s", base, link, rest);
        free(link);
    }
    walk_clear(w);
    return berth_error_new(err, ELOOP, "resolve %s in the image",
                           container_path);
}

int volumes_copy_merged(char *const *diffs, const char *container_path,
                        const char *dest, berth_error_t *err)
{
    struct walk w = {0};
    int r = walk_path(diffs, container_path, &w, err);
    if (r != 0) {
        walk_clear(&w);
        return r < 0 ? -1 : 0;
    }
    r = vfs_copy_layers(w.dirs, dest, err);
    walk_clear(&w);
    if (r < 0)
        return berth_error_prefix(err, "copy %s from the image",
                                  container_path);
    return 0;
}

struct seed_job {
    char **diffs;
    const char *container_path;
    const char *dest;
};

static int seed_child(void *arg, berth_error_t *err)
{
    struct seed_job *j = arg;
    return volumes_copy_merged(j->diffs, j->container_path, j->dest, err);
}

static bool dir_empty(const char *path)
{
    _cleanup_closedir_ DIR *d = opendir(path);
    struct dirent *de;
    if (d == NULL)
        return false;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            return false;
    return true;
}

int volumes_seed(struct store *s, const char *volume_path,
                 json_t *image_record, const char *container_path,
                 berth_error_t *err)
{
    json_t *layers = json_object_get(image_record, "layers");
    _cleanup_strv_ char **diffs = xcalloc(1, sizeof(char *));
    if (!dir_empty(volume_path))
        return 0; /* podman copies into empty volumes only */
    for (size_t i = json_array_size(layers); i-- > 0;) {
        const char *chain = json_get_str(json_array_get(layers, i),
                                         "chain_id");
        if (chain == NULL)
            return berth_error_new(err, 0, "image %s: layer %zu has no chain "
                                   "id", json_get_str(image_record, "id"), i);
        strv_push(&diffs, store_layer_diff(s, chain));
    }
    struct seed_job j = {diffs, container_path, volume_path};
    /* rootless, the layers' files belong to subordinate ids: only the
     * user namespace can read all of them and keep their owners */
    if (userns_run(seed_child, &j, err) < 0)
        return berth_error_prefix(err, "seed volume from image at %s",
                                  container_path);
    return 0;
}

static int clear_needs_copy(struct store *s, const char *name, json_t *rec,
                            berth_error_t *err)
{
    _cleanup_free_ char *p = vol_record_path(s, name);
    json_object_set_new(rec, "needs_copy", json_false());
    return json_write_path(p, rec, err);
}

static int seed_mount(struct store *s, const char *name, const char *dest,
                      json_t *image_record, berth_error_t *err)
{
    _cleanup_close_ int lk = -1;
    _cleanup_json_ json_t *rec = NULL;
    if (vol_lock(s, name, &lk, err) < 0 || volumes_get(s, name, &rec, err) < 0)
        return -1;
    if (!json_is_true(json_object_get(rec, "needs_copy")))
        return 0;
    _cleanup_free_ char *data = volumes_data_path(s, name);
    if (image_record &&
        volumes_seed(s, data, image_record, dest, err) < 0)
        return berth_error_prefix(err, "volume %s", name);
    return clear_needs_copy(s, name, rec, err);
}

int volumes_seed_spec(struct store *s, json_t *spec, json_t *image_record,
                      berth_error_t *err)
{
    json_t *mounts = json_object_get(spec, "mounts");
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m) {
        const char *src = json_get_str(m, "source");
        _cleanup_free_ char *name = volume_of_source(s, src);
        _cleanup_free_ char *data = name ? volumes_data_path(s, name) : NULL;
        /* a sub-path of a volume is the user's bind, not a volume mount */
        if (name == NULL || strcmp(src, data) != 0)
            continue;
        if (seed_mount(s, name, json_get_str(m, "destination"), image_record,
                       err) < 0)
            return -1;
    }
    return 0;
}

/* --- image VOLUMEs --- */

static char *clean_dest(const char *p)
{
    _cleanup_strv_ char **c = path_components(p);
    _cleanup_free_ char *j = strv_join(c, "/");
    return xasprintf("/%s", j);
}

static void add_dests(char ***dests, char *const *list,
                      int (*parse)(const char *, struct spec_mount *,
                                   berth_error_t *))
{
    for (size_t i = 0; list && list[i]; i++) {
        struct spec_mount m = {0};
        berth_error_t e = NULL;
        /* a bad flag is reported by spec_generate, with its context */
        if (parse(list[i], &m, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        strv_push(dests, clean_dest(m.destination));
        spec_mount_clear(&m);
    }
}

int volumes_for_image(json_t *image_config, char *const *volumes,
                      char *const *mounts, char *const *tmpfs, char ***ret,
                      berth_error_t *err)
{
    json_t *cfg = json_object_get(image_config, "config");
    json_t *vols = json_object_get(cfg ? cfg : image_config, "Volumes");
    _cleanup_strv_ char **taken = xcalloc(1, sizeof(char *));
    char **out = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *v;
    (void)err;
    add_dests(&taken, volumes, spec_parse_volume);
    add_dests(&taken, mounts, spec_parse_mount);
    add_dests(&taken, tmpfs, spec_parse_tmpfs);
    json_object_foreach(vols, k, v) {
        if (k[0] != '/')
            continue; /* not a path: podman ignores it as well */
        _cleanup_free_ char *d = clean_dest(k);
        if (strcmp(d, "/") == 0 || strv_contains(taken, d))
            continue;
        strv_append(&taken, d);
        strv_append(&out, d);
    }
    *ret = out;
    return 0;
}
