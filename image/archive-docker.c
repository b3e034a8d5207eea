#define _GNU_SOURCE
#include <archive.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive-internal.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "storage/store.h"
#include "storage/unpack.h"

#define DK_BUF (1 << 16)

static const char *dk_hex(const char *digest)
{
    return str_has_prefix(digest, "sha256:") ? digest + 7 : digest;
}

/* ------------------------------------------------------------------ */
/* save                                                                 */

/* Size and digest of a stored layer's uncompressed stream: a tar header
 * needs the size before the data, so the blob is decompressed twice
 * rather than spooled to disk. */
static int dk_measure(const char *path, int64_t *ret_size, char hex[65],
                      berth_error_t *err)
{
    struct archive *a = arc_decompress_open(path, err);
    _cleanup_free_ char *buf = xmalloc(DK_BUF);
    struct sha256 h;
    int64_t size = 0;
    la_ssize_t n;

    if (a == NULL)
        return -1;
    sha256_init(&h);
    while ((n = archive_read_data(a, buf, DK_BUF)) > 0) {
        sha256_update(&h, buf, (size_t)n);
        size += n;
    }
    if (n < 0) {
        berth_error_new(err, archive_errno(a), "decompress %s: %s", path,
                        archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    sha256_final_hex(&h, hex);
    *ret_size = size;
    return 0;
}

static int dk_write_layer(struct store *s, struct arc_writer *w,
                          const char *digest, const char *diff,
                          const char *name, berth_error_t *err)
{
    _cleanup_free_ char *path = store_blob_path(s, digest);
    _cleanup_free_ char *buf = NULL;
    int64_t size = 0, done = 0;
    char hex[65];
    la_ssize_t n;

    if (dk_measure(path, &size, hex, err) < 0)
        return -1;
    /* what goes out is what the config promises */
    if (strcmp(hex, dk_hex(diff)) != 0)
        return berth_error_new(err, 0,
                               "layer %s: content has diff id sha256:%s, the "
                               "image says %s",
                               digest, hex, diff);
    if (arc_write_header(w, name, size, err) < 0)
        return -1;
    struct archive *a = arc_decompress_open(path, err);
    if (a == NULL)
        return -1;
    buf = xmalloc(DK_BUF);
    while ((n = archive_read_data(a, buf, DK_BUF)) > 0) {
        if (done + n > size || arc_write_data(w, buf, (size_t)n, err) < 0) {
            if (done + n > size)
                berth_error_new(err, 0, "layer %s changed while being "
                                "written", digest);
            archive_read_free(a);
            return -1;
        }
        done += n;
    }
    if (n < 0 || done != size) {
        berth_error_new(err, archive_errno(a), "decompress %s: %s", path,
                        n < 0 ? archive_error_string(a) : "short read");
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
}

/* repositories: {"REPO": {"TAG": "TOPLAYERDIR"}}, for loaders that
 * predate manifest.json. */
static void dk_add_repos(json_t *repos, char *const *names, const char *top)
{
    for (size_t i = 0; top && names && names[i]; i++) {
        _cleanup_free_ char *repo = xstrdup(names[i]);
        char *colon = strrchr(repo, ':');
        if (colon == NULL || strchr(colon, '/'))
            continue;
        *colon = '\0';
        json_t *tags = json_object_get(repos, repo);
        if (tags == NULL) {
            tags = json_object();
            json_object_set_new(repos, repo, tags);
        }
        json_object_set_new(tags, colon + 1, json_string(top));
    }
}

static int dk_save_one(struct store *s, struct arc_writer *w,
                       const struct image_archive_item *it, json_t *manifest,
                       json_t *repos, const struct image_archive_opts *o,
                       berth_error_t *err)
{
    const char *cfg = json_get_str(it->record, "config");
    json_t *layers = json_array(), *tags = json_array(), *l;
    _cleanup_free_ char *top = NULL;
    size_t i;

    if (cfg == NULL || !image_digest_valid(cfg)) {
        json_decref(layers);
        json_decref(tags);
        return berth_error_new(err, 0, "image record without a valid config");
    }
    /* from here layers and tags belong to the manifest entry */
    json_array_append_new(
        manifest, json_pack("{s:s+,s:o,s:o}", "Config", dk_hex(cfg), ".json",
                            "RepoTags", tags, "Layers", layers));
    arc_emit(o, PULL_CONFIG, cfg, 0);
    json_array_foreach(json_object_get(it->record, "layers"), i, l) {
        const char *digest = json_get_str(l, "digest");
        const char *diff = json_get_str(l, "diff_id");
        if (digest == NULL || diff == NULL || !image_digest_valid(diff) ||
            !image_digest_valid(digest))
            return berth_error_new(err, 0, "image record: layer %zu has no "
                                   "valid digest or diff id", i + 1);
        _cleanup_free_ char *dir = xasprintf("%s/", dk_hex(diff));
        _cleanup_free_ char *name = xasprintf("%slayer.tar", dir);
        json_array_append_new(layers, json_string(name));
        free(top);
        top = xstrdup(dk_hex(diff));
        if (arc_writer_seen(w, name)) {
            arc_emit(o, PULL_BLOB_SKIP, digest, json_get_int(l, "size", 0));
            continue;
        }
        arc_emit(o, PULL_BLOB_START, digest, json_get_int(l, "size", 0));
        if (arc_write_dir(w, dir, err) < 0 ||
            dk_write_layer(s, w, digest, diff, name, err) < 0)
            return -1;
        arc_emit(o, PULL_BLOB_DONE, digest, json_get_int(l, "size", 0));
    }
    _cleanup_free_ char *cname = xasprintf("%s.json", dk_hex(cfg));
    _cleanup_free_ char *cpath = store_blob_path(s, cfg);
    if (!arc_writer_seen(w, cname) && arc_write_file(w, cname, cpath, err) < 0)
        return -1;
    for (size_t k = 0; it->names && it->names[k]; k++)
        json_array_append_new(tags, json_string(it->names[k]));
    dk_add_repos(repos, it->names, top);
    arc_emit(o, PULL_MANIFEST, cfg, 0);
    return 0;
}

int arc_docker_save(struct store *s, struct arc_writer *w,
                    const struct image_archive_item *items, size_t n,
                    const struct image_archive_opts *o, berth_error_t *err)
{
    _cleanup_json_ json_t *manifest = json_array(), *repos = json_object();
    for (size_t i = 0; i < n; i++) {
        if (dk_save_one(s, w, &items[i], manifest, repos, o, err) < 0)
            return berth_error_prefix(err, "image %s",
                                      json_get_str(items[i].record, "id"));
    }
    _cleanup_free_ char *mtxt = json_dumps(manifest, JSON_COMPACT);
    if (arc_write_bytes(w, "manifest.json", mtxt, strlen(mtxt), err) < 0)
        return -1;
    if (json_object_size(repos) == 0)
        return 0;
    _cleanup_free_ char *rtxt = json_dumps(repos, JSON_COMPACT);
    return arc_write_bytes(w, "repositories", rtxt, strlen(rtxt), err);
}

/* ------------------------------------------------------------------ */
/* load                                                                 */

/* Layers already compressed, by the file holding them (several images of
 * one archive share layers, possibly through links). */
struct dk_cache {
    char **files;
    json_t *descs; /* {digest, diff_id, size} per file */
};

static int dk_compress(struct arc_load *l, const char *entry,
                       struct dk_cache *c, json_t **ret, berth_error_t *err)
{
    const char *src;
    _cleanup_free_ char *digest = NULL, *diff = NULL, *dst = NULL;
    int64_t size = 0;

    if (arc_index_path(&l->ix, entry, &src, err) < 0)
        return -1;
    for (size_t i = 0; c->files && c->files[i]; i++) {
        if (strcmp(c->files[i], src) == 0) {
            *ret = json_array_get(c->descs, i);
            return 0;
        }
    }
    dst = xasprintf("%s/gz-%zu", l->ix.dir, strv_len(c->files));
    if (layer_recompress(src, dst, &digest, &diff, &size, err) < 0) {
        unlink(dst);
        return berth_error_prefix(err, "layer %s", entry);
    }
    /* the uncompressed copy is not needed any more */
    unlink(src);
    if (store_blob_exists(l->s, digest)) {
        unlink(dst);
        arc_emit(l->o, PULL_BLOB_SKIP, digest, size);
    } else {
        arc_emit(l->o, PULL_BLOB_START, digest, size);
        if (store_blob_commit(l->s, dst, digest, err) < 0) {
            unlink(dst);
            return -1;
        }
        arc_emit(l->o, PULL_BLOB_DONE, digest, size);
    }
    strv_append(&c->files, src);
    json_array_append_new(c->descs,
                          json_pack("{s:s,s:s,s:I}", "digest", digest,
                                    "diff_id", diff, "size", (json_int_t)size));
    *ret = json_array_get(c->descs, json_array_size(c->descs) - 1);
    return 0;
}

/* The layers, compressed into the store and checked against the config's
 * diff ids; returns manifest descriptors [{digest, media_type, size}]. */
static int dk_layers(struct arc_load *l, json_t *paths, json_t *cfg,
                     struct dk_cache *c, json_t **ret, berth_error_t *err)
{
    json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    _cleanup_json_ json_t *out = json_array();
    size_t i;
    json_t *p;

    if (!json_is_array(paths))
        return berth_error_new(err, 0, "manifest.json: Layers is not a "
                               "list");
    if (!json_is_array(diffs) || json_array_size(diffs) != json_array_size(paths))
        return berth_error_new(err, 0, "the image config has %zu diff ids "
                               "for %zu layers", json_array_size(diffs), json_array_size(paths));
    json_array_foreach(paths, i, p) {
        const char *want = json_string_value(json_array_get(diffs, i));
        json_t *d = NULL;
        if (!json_is_string(p))
            return berth_error_new(err, 0, "manifest.json: layer %zu is "
                                   "not a path", i + 1);
        if (dk_compress(l, json_string_value(p), c, &d, err) < 0)
            return -1;
        if (want == NULL || strcmp(want, json_get_str(d, "diff_id")) != 0)
            return berth_error_new(err, 0,
                                   "layer %s has diff id %s, the image "
                                   "config says %s",
                                   json_string_value(p),
                                   json_get_str(d, "diff_id"),
                                   want ? want : "nothing");
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:O}", "digest", json_get_str(d, "digest"),
                           "media_type", MT_DOCKER_LAYER, "size",
                           json_object_get(d, "size")));
    }
    *ret = TAKE_PTR(out);
    return 0;
}

/* The archive has no manifest: make the docker v2s2 one a registry would
 * serve for these blobs, so the record has a manifest blob like a pulled
 * image. */
static int dk_manifest(struct arc_load *l, const char *cdigest, size_t clen,
                       json_t *layers, char **ret_digest, berth_error_t *err)
{
    json_t *descs = json_array(), *d;
    size_t i;
    json_array_foreach(layers, i, d)
        json_array_append_new(
            descs, json_pack("{s:s,s:O,s:s}", "mediaType", MT_DOCKER_LAYER,
                             "size", json_object_get(d, "size"), "digest",
                             json_get_str(d, "digest")));
    _cleanup_json_ json_t *m = json_pack(
        "{s:i,s:s,s:{s:s,s:I,s:s},s:o}", "schemaVersion", 2, "mediaType",
        MT_DOCKER_MANIFEST, "config", "mediaType", MT_DOCKER_CONFIG, "size",
        (json_int_t)clen, "digest", cdigest, "layers", descs);
    _cleanup_free_ char *txt = json_dumps(m, JSON_COMPACT);
    return store_blob_put(l->s, txt, strlen(txt), ret_digest, err);
}

static int dk_load_one(struct arc_load *l, json_t *item, struct dk_cache *c,
                       berth_error_t *err)
{
    const char *cname = json_get_str(item, "Config");
    _cleanup_free_ char *cbuf = NULL, *cdigest = NULL, *mdigest = NULL;
    _cleanup_json_ json_t *cfg = NULL, *layers = NULL;
    _cleanup_strv_ char **names = NULL;
    size_t clen = 0, i;
    json_t *t;

    if (cname == NULL)
        return berth_error_new(err, 0, "manifest.json: entry without "
                               "Config");
    if (arc_index_read_small(&l->ix, cname, &cbuf, &clen, err) < 0 ||
        (cfg = json_parse_buf(cbuf, clen, "image config", err)) == NULL)
        return -1;
    /* the config's bytes are kept as they are: its digest is the image id */
    if (store_blob_put(l->s, cbuf, clen, &cdigest, err) < 0)
        return -1;
    arc_emit(l->o, PULL_CONFIG, cdigest, (int64_t)clen);
    if (dk_layers(l, json_object_get(item, "Layers"), cfg, c, &layers, err) <
            0 ||
        dk_manifest(l, cdigest, clen, layers, &mdigest, err) < 0)
        return -1;
    json_array_foreach(json_object_get(item, "RepoTags"), i, t) {
        if (json_is_string(t))
            strv_append(&names, json_string_value(t));
    }
    return arc_load_finish(l, mdigest, MT_DOCKER_MANIFEST, cdigest, cfg, layers,
                           names, err);
}

int arc_docker_load(struct arc_load *l, berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    _cleanup_json_ json_t *manifest = NULL;
    struct dk_cache c = {.files = NULL, .descs = json_array()};
    size_t len = 0, i;
    json_t *item;
    int r = 0;

    if (arc_index_read_small(&l->ix, "manifest.json", &buf, &len, err) < 0 ||
        (manifest = json_parse_buf(buf, len, "manifest.json", err)) == NULL) {
        json_decref(c.descs);
        return -1;
    }
    if (!json_is_array(manifest) || json_array_size(manifest) == 0) {
        json_decref(c.descs);
        return berth_error_new(err, 0, "manifest.json lists no image");
    }
    json_array_foreach(manifest, i, item) {
        if (dk_load_one(l, item, &c, err) < 0) {
            r = berth_error_prefix(err, "manifest.json entry %zu", i + 1);
            break;
        }
    }
    strv_free(c.files);
    json_decref(c.descs);
    return r;
}
