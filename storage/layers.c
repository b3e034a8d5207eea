#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/store.h"
#include "storage/unpack.h"

char *layer_chain_id(const char *parent_chain, const char *diff_id)
{
    if (parent_chain == NULL)
        return xstrdup(diff_id);
    _cleanup_free_ char *in = xasprintf("%s %s", parent_chain, diff_id);
    char hex[65];
    sha256_hex(in, strlen(in), hex);
    return xasprintf("sha256:%s", hex);
}

static const char *hex_of(const char *digest)
{
    return str_has_prefix(digest, "sha256:") ? digest + 7 : digest;
}

bool store_layer_exists(struct store *s, const char *chain_id)
{
    _cleanup_free_ char *p = store_path(s, "layers/%s", hex_of(chain_id));
    return fs_exists(p);
}

char *store_layer_diff(struct store *s, const char *chain_id)
{
    return store_path(s, "layers/%s/diff", hex_of(chain_id));
}

struct unpack_job {
    const char *blob;
    const char *dest;
    char **lowers;
    bool chown;
    bool squash;
    char *diff_id; /* out: written to a file since we run in a child */
    const char *diff_out;
};

static int unpack_fn(void *arg, berth_error_t *err)
{
    struct unpack_job *j = arg;
    struct unpack_opts o = {
        .lowers = j->lowers, .chown = j->chown, .squash_unmapped = j->squash};
    _cleanup_free_ char *diff = NULL;
    int64_t size = 0;
    if (layer_unpack(j->blob, j->dest, &o, &diff, &size, err) < 0)
        return -1;
    _cleanup_free_ char *out = xasprintf("%s %lld", diff, (long long)size);
    return fs_write_file_atomic(j->diff_out, out, strlen(out), 0644, err);
}

/* The lower layers' diff dirs, top-most first, for symlink checks. */
static char **lower_dirs(struct store *s, const char *parent_chain)
{
    char **v = NULL;
    _cleanup_free_ char *cur = parent_chain ? xstrdup(parent_chain) : NULL;
    while (cur) {
        _cleanup_free_ char *meta =
            store_path(s, "layers/%s/layer.json", hex_of(cur));
        _cleanup_json_ json_t *j = NULL;
        berth_error_t e = NULL;
        strv_push(&v, store_layer_diff(s, cur));
        free(cur);
        cur = NULL;
        j = json_load_path(meta, &e);
        berth_error_free(&e);
        const char *p = json_get_str(j, "parent");
        if (p)
            cur = xstrdup(p);
    }
    if (v == NULL)
        v = xcalloc(1, sizeof(char *));
    return v;
}

static int unpack_into_tmp(struct store *s, const char *blob,
                           const char *tmpdir, const char *parent_chain,
                           char **ret_diff, int64_t *ret_size,
                           berth_error_t *err)
{
    _cleanup_free_ char *dest = xasprintf("%s/diff", tmpdir);
    _cleanup_free_ char *diff_out = xasprintf("%s/diffid", tmpdir);
    _cleanup_strv_ char **lowers = lower_dirs(s, parent_chain);
    _cleanup_free_ char *res = NULL;
    struct userns_mapping m = {0};

    if (fs_mkdir_p(dest, 0755, err) < 0)
        return -1;
    if (s->rootless && userns_mapping_get(&m, err) < 0)
        return -1;
    struct unpack_job j = {.blob = blob,
                           .dest = dest,
                           .lowers = lowers,
                           .chown = true,
                           .squash = !s->rootless ? false : m.single,
                           .diff_out = diff_out};
    if (userns_run(unpack_fn, &j, err) < 0)
        return -1;
    if (fs_read_file(diff_out, &res, NULL, err) < 0)
        return -1;
    unlink(diff_out);
    char *sp = strchr(res, ' ');
    if (sp == NULL)
        return berth_error_new(err, 0, "internal: bad unpack result");
    *sp = '\0';
    *ret_size = strtoll(sp + 1, NULL, 10);
    *ret_diff = xstrdup(res);
    return 0;
}

int store_layer_create(struct store *s, const char *digest,
                       const char *expected_diff, const char *parent_chain,
                       const char *expected_chain, berth_error_t *err)
{
    _cleanup_free_ char *lockname = xasprintf("layer-%s", hex_of(expected_chain));
    _cleanup_close_ int lock = -1;
    _cleanup_free_ char *blob = store_blob_path(s, digest);
    _cleanup_free_ char *final =
        store_path(s, "layers/%s", hex_of(expected_chain));
    _cleanup_free_ char *diff = NULL;
    struct store_tmp tmp = {0};
    int64_t size = 0;

    /* a concurrent pull of the same layer waits here, then finds it done */
    if (store_lock(s, lockname, &lock, err) < 0)
        return -1;
    if (fs_exists(final))
        return 0;
    if (store_tmp_new(s, &tmp, err) < 0)
        return -1;
    if (fs_mkdir_p(tmp.path, 0700, err) < 0 ||
        unpack_into_tmp(s, blob, tmp.path, parent_chain, &diff, &size, err) < 0)
        goto fail;
    if (strcmp(diff, expected_diff) != 0) {
        berth_error_new(err, 0,
                        "layer %s: diff id mismatch: the image config says "
                        "%s, the layer content is %s",
                        digest, expected_diff, diff);
        goto fail;
    }
    {
        _cleanup_json_ json_t *meta = json_pack(
            "{s:s,s:s,s:s?,s:s,s:I}", "chain_id", expected_chain, "diff_id",
            diff, "parent", parent_chain, "digest", digest, "size",
            (json_int_t)size);
        _cleanup_free_ char *metap = xasprintf("%s/layer.json", tmp.path);
        if (json_write_path(metap, meta, err) < 0)
            goto fail;
    }
    if (chmod(tmp.path, 0755) < 0 || rename(tmp.path, final) < 0) {
        berth_error_new(err, errno, "rename layer into %s", final);
        goto fail;
    }
    store_tmp_done(s, &tmp);
    return 0;
fail:
    berth_error_prefix(err, "unpack layer %s", digest);
    store_tmp_done(s, &tmp);
    return -1;
}

/* --- garbage collection --- */

static void collect_refs(json_t *images, char ***blobs, char ***layers)
{
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img) {
        const char *m = json_get_str(img, "manifest");
        const char *c = json_get_str(img, "config");
        if (m)
            strv_append(blobs, hex_of(m));
        if (c)
            strv_append(blobs, hex_of(c));
        json_t *extra = json_object_get(img, "blobs");
        size_t k;
        json_t *b;
        json_array_foreach(extra, k, b) {
            if (json_is_string(b))
                strv_append(blobs, hex_of(json_string_value(b)));
        }
        json_t *ls = json_object_get(img, "layers"), *l;
        json_array_foreach(ls, k, l) {
            const char *d = json_get_str(l, "digest");
            const char *ch = json_get_str(l, "chain_id");
            if (d)
                strv_append(blobs, hex_of(d));
            if (ch)
                strv_append(layers, hex_of(ch));
        }
    }
}

static int sweep(struct store *s, const char *sub, char **keep,
                 uint64_t *reclaimed, berth_error_t *err)
{
    _cleanup_free_ char *dir = store_path(s, "%s", sub);
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL)
        return berth_error_new(err, errno, "open %s", dir);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strv_contains(keep, de->d_name))
            continue;
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
        unsigned long long sz = 0;
        berth_error_t e = NULL;
        if (fs_du(p, &sz, &e) < 0)
            berth_error_free(&e);
        if (store_rm_tree(s, p, err) < 0)
            return -1;
        *reclaimed += sz;
    }
    return 0;
}

int store_gc(struct store *s, uint64_t *ret_reclaimed, berth_error_t *err)
{
    _cleanup_free_ char *lockp = store_path(s, "locks/gc.lock");
    _cleanup_close_ int fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    _cleanup_json_ json_t *images = NULL, *ctrs = NULL;
    _cleanup_strv_ char **blobs = NULL, **layers = NULL;
    uint64_t reclaimed = 0;
    size_t i;
    json_t *c;

    if (ret_reclaimed)
        *ret_reclaimed = 0;
    if (fd < 0)
        return berth_error_new(err, errno, "open %s", lockp);
    /* A pull in progress holds the pin: leave the sweep to a later
     * command rather than wait for the download. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return 0;
    if (images_list(s, &images, err) < 0)
        return -1;
    collect_refs(images, &blobs, &layers);
    /* a container keeps its layers even after rmi -f of its image; "l"
     * holds the overlay driver's short links to layer dirs */
    if (containers_list(s, &ctrs, err) < 0)
        return -1;
    json_array_foreach(ctrs, i, c) {
        size_t k;
        json_t *l;
        json_array_foreach(json_object_get(c, "layers"), k, l) {
            if (json_is_string(l))
                strv_append(&layers, hex_of(json_string_value(l)));
        }
    }
    strv_append(&layers, "l");
    if (sweep(s, "layers", layers, &reclaimed, err) < 0 ||
        sweep(s, "blobs/sha256", blobs, &reclaimed, err) < 0)
        return -1;
    if (ret_reclaimed)
        *ret_reclaimed = reclaimed;
    return 0;
}
