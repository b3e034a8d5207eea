#define _GNU_SOURCE
#include "image/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive-internal.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

#define OCI_REF_NAME "org.opencontainers.image.ref.name"
/* containerd and docker >= 25 put the full name here and only the tag in
 * OCI_REF_NAME */
#define CONTAINERD_NAME "io.containerd.image.name"

void arc_emit(const struct image_archive_opts *o, enum pull_event_kind k,
              const char *digest, int64_t size)
{
    if (o == NULL || o->on_event == NULL)
        return;
    struct pull_event ev = {
        .kind = k, .digest = digest, .done = size, .total = size};
    o->on_event(o->event_arg, &ev);
}

static const char *arc_hex(const char *digest)
{
    return str_has_prefix(digest, "sha256:") ? digest + 7 : digest;
}

int image_archive_normalize_name(const char *name, char **ret,
                                 berth_error_t *err)
{
    struct image_ref *ref = NULL;
    if (image_ref_parse(name, &ref, err) < 0)
        return -1;
    if (ref->tag == NULL) {
        image_ref_free(ref);
        return berth_error_new(err, 0, "image name \"%s\" has no tag", name);
    }
    if (ref->registry == NULL) {
        ref->registry = xstrdup("docker.io");
        if (strchr(ref->path, '/') == NULL) {
            char *p = xasprintf("library/%s", ref->path);
            free(ref->path);
            ref->path = p;
        }
    }
    *ret = image_ref_tagged(ref);
    image_ref_free(ref);
    return 0;
}

static int arc_layer_size(struct store *s, const char *chain, int64_t *ret,
                          berth_error_t *err)
{
    _cleanup_free_ char *meta =
        store_path(s, "layers/%s/layer.json", arc_hex(chain));
    _cleanup_json_ json_t *j = json_load_path(meta, err);
    if (j == NULL)
        return -1;
    *ret = json_get_int(j, "size", 0);
    return 0;
}

static json_t *arc_repo_digests(char *const *names, const char *mdigest)
{
    json_t *arr = json_array();
    for (size_t i = 0; names && names[i]; i++) {
        _cleanup_free_ char *repo = xstrdup(names[i]);
        char *colon = strrchr(repo, ':');
        if (colon && strchr(colon, '/') == NULL)
            *colon = '\0';
        _cleanup_free_ char *d = xasprintf("%s@%s", repo, mdigest);
        size_t k;
        json_t *v;
        bool dup = false;
        json_array_foreach(arr, k, v) dup |= strcmp(json_string_value(v), d) == 0;
        if (!dup)
            json_array_append_new(arr, json_string(d));
    }
    return arr;
}

int image_record_build(struct store *s, const char *manifest_digest,
                       const char *manifest_type, const char *config_digest,
                       json_t *config, json_t *layers, char *const *names,
                       json_t **ret, berth_error_t *err)
{
    json_t *diffs =
        json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    size_t n = json_array_size(layers);
    _cleanup_free_ char *parent = NULL;
    int64_t total = 0;

    if (!json_is_array(diffs) || json_array_size(diffs) != n)
        return berth_error_new(err, 0,
                               "image config has %zu diff ids for %zu layers",
                               json_array_size(diffs), n);
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(layers, i);
        const char *diff = json_string_value(json_array_get(diffs, i));
        const char *digest = json_get_str(l, "digest");
        int64_t size = 0;
        if (diff == NULL || !image_digest_valid(diff))
            return berth_error_new(err, 0, "image config: invalid diff id");
        if (digest == NULL)
            return berth_error_new(err, 0, "internal: layer without digest");
        char *chain = layer_chain_id(parent, diff);
        if ((!store_layer_exists(s, chain) &&
             store_layer_create(s, digest, diff, parent, chain, err) < 0) ||
            arc_layer_size(s, chain, &size, err) < 0) {
            free(chain);
            return -1;
        }
        total += size;
        json_object_set_new(l, "diff_id", json_string(diff));
        json_object_set_new(l, "chain_id", json_string(chain));
        free(parent);
        parent = chain;
    }
    _cleanup_free_ char *now = time_rfc3339_now();
    json_t *names_arr = json_array();
    for (size_t i = 0; names && names[i]; i++)
        json_array_append_new(names_arr, json_string(names[i]));
    *ret = json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:O,s:I,s:s?,s:s}", "id",
                     arc_hex(config_digest), "names", names_arr, "digests",
                     arc_repo_digests(names, manifest_digest), "manifest",
                     manifest_digest, "manifest_type", manifest_type, "config",
                     config_digest, "layers", layers, "size",
                     (json_int_t)total, "created",
                     json_get_str(config, "created"), "added", now);
    if (*ret == NULL)
        return berth_error_new(err, 0, "internal: cannot build image record");
    return 0;
}

int arc_load_finish(struct arc_load *l, const char *mdigest, const char *mtype,
                    const char *cdigest, json_t *cfg, json_t *layers,
                    char **raw_names, berth_error_t *err)
{
    _cleanup_strv_ char **names = NULL;
    json_t *rec = NULL;
    for (size_t i = 0; raw_names && raw_names[i]; i++) {
        char *full = NULL;
        if (image_archive_normalize_name(raw_names[i], &full, err) < 0)
            return -1;
        if (strv_contains(names, full))
            free(full);
        else
            strv_push(&names, full);
    }
    if (image_record_build(l->s, mdigest, mtype, cdigest, cfg, layers, names,
                           &rec, err) < 0)
        return -1;
    json_array_append_new(l->records, rec);
    l->loaded = xrealloc(l->loaded, (l->n_loaded + 1) * sizeof(*l->loaded));
    l->loaded[l->n_loaded].id = xstrdup(arc_hex(cdigest));
    l->loaded[l->n_loaded].names =
        names ? TAKE_PTR(names) : xcalloc(1, sizeof(char *));
    l->n_loaded++;
    arc_emit(l->o, PULL_MANIFEST, mdigest, 0);
    return 0;
}

/* ------------------------------------------------------------------ */
/* oci-archive: save                                                    */

/* A manifest for a record whose manifest blob is gone: the same
 * descriptors, in the format of its layers. */
static int oci_synth_manifest(struct store *s, json_t *rec, char **ret_body,
                              char **ret_type, berth_error_t *err)
{
    const char *cfg = json_get_str(rec, "config");
    _cleanup_free_ char *cpath = NULL;
    struct stat st;
    json_t *layers, *l;
    bool docker = false;
    size_t i;

    if (cfg == NULL)
        return berth_error_new(err, 0, "image record without config");
    cpath = store_blob_path(s, cfg);
    if (stat(cpath, &st) < 0)
        return berth_error_new(err, errno, "config blob %s", cfg);
    layers = json_array();
    json_array_foreach(json_object_get(rec, "layers"), i, l) {
        const char *mt = json_get_str(l, "media_type");
        docker |= mt && str_has_prefix(mt, "application/vnd.docker.");
        json_array_append_new(
            layers, json_pack("{s:s,s:s,s:I}", "mediaType",
                              mt ? mt : MT_OCI_LAYER_GZIP, "digest",
                              json_get_str(l, "digest"), "size",
                              (json_int_t)json_get_int(l, "size", 0)));
    }
    if (json_array_size(layers) !=
        json_array_size(json_object_get(rec, "layers"))) {
        json_decref(layers);
        return berth_error_new(err, 0, "image record: invalid layers");
    }
    const char *type = docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST;
    _cleanup_json_ json_t *m = json_pack(
        "{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
        type, "config", "mediaType", docker ? MT_DOCKER_CONFIG : MT_OCI_CONFIG,
        "digest", cfg, "size", (json_int_t)st.st_size, "layers", layers);
    if (m == NULL)
        return berth_error_new(err, 0, "image record: invalid layers");
    *ret_body = json_dumps(m, JSON_COMPACT);
    *ret_type = xstrdup(type);
    return 0;
}

/* The record's image manifest, bit-exact from the store; through an index
 * to the host's entry when the record names an index. */
static int oci_manifest_of(struct store *s, json_t *rec, char **ret_body,
                           size_t *ret_len, char **ret_type,
                           berth_error_t *err)
{
    const char *md = json_get_str(rec, "manifest");
    _cleanup_free_ char *body = NULL, *mt = NULL;
    size_t len = 0;
    enum manifest_kind kind;

    if (md && store_blob_exists(s, md)) {
        if (store_blob_read(s, md, &body, &len, err) < 0 ||
            manifest_kind(body, len, json_get_str(rec, "manifest_type"), &kind,
                          &mt, err) < 0)
            return -1;
        if (kind == MANIFEST_INDEX) {
            struct platform p = {0};
            _cleanup_free_ char *sel = NULL, *seltype = NULL;
            berth_error_t e = NULL;
            if (platform_resolve(NULL, NULL, NULL, NULL, &p, &e) == 0 &&
                manifest_index_select(body, len, &p, &sel, &seltype, &e) == 0 &&
                store_blob_exists(s, sel)) {
                free(body), body = NULL;
                free(mt), mt = NULL;
                if (store_blob_read(s, sel, &body, &len, err) < 0 ||
                    manifest_kind(body, len, seltype, &kind, &mt, err) < 0) {
                    platform_clear(&p);
                    return -1;
                }
            }
            berth_error_free(&e);
            platform_clear(&p);
        }
        if (kind == MANIFEST_IMAGE) {
            *ret_body = TAKE_PTR(body);
            *ret_len = len;
            *ret_type = TAKE_PTR(mt);
            return 0;
        }
    }
    if (oci_synth_manifest(s, rec, ret_body, ret_type, err) < 0)
        return -1;
    *ret_len = strlen(*ret_body);
    return 0;
}

/* Copy a stored blob into blobs/sha256/ once; layers report progress. */
static int oci_write_blob(struct store *s, struct arc_writer *w,
                          const struct manifest_desc *d, bool layer,
                          const struct image_archive_opts *o,
                          berth_error_t *err)
{
    if (!image_digest_valid(d->digest))
        return berth_error_new(err, 0, "invalid digest \"%s\"", d->digest);
    _cleanup_free_ char *name =
        xasprintf("blobs/sha256/%s", arc_hex(d->digest));
    _cleanup_free_ char *path = store_blob_path(s, d->digest);
    if (arc_writer_seen(w, name)) {
        if (layer)
            arc_emit(o, PULL_BLOB_SKIP, d->digest, d->size);
        return 0;
    }
    if (!fs_exists(path))
        return berth_error_new(err, ENOENT, "blob %s is missing from the store",
                               d->digest);
    if (layer)
        arc_emit(o, PULL_BLOB_START, d->digest, d->size);
    if (arc_write_file(w, name, path, err) < 0)
        return -1;
    if (layer)
        arc_emit(o, PULL_BLOB_DONE, d->digest, d->size);
    return 0;
}

/* One image: its blobs, and one index.json descriptor per name. */
static int oci_save_one(struct store *s, struct arc_writer *w,
                        const struct image_archive_item *it, json_t *index,
                        const struct image_archive_opts *o,
                        berth_error_t *err)
{
    _cleanup_free_ char *body = NULL, *type = NULL, *mname = NULL;
    struct manifest *m = NULL;
    size_t len = 0;
    char hex[65];

    if (oci_manifest_of(s, it->record, &body, &len, &type, err) < 0 ||
        manifest_parse(body, len, type, &m, err) < 0)
        return -1;
    arc_emit(o, PULL_CONFIG, m->config.digest, m->config.size);
    for (size_t i = 0; i < m->n_layers; i++) {
        if (oci_write_blob(s, w, &m->layers[i], true, o, err) < 0) {
            manifest_free(m);
            return -1;
        }
    }
    int r = oci_write_blob(s, w, &m->config, false, o, err);
    manifest_free(m);
    if (r < 0)
        return -1;
    sha256_hex(body, len, hex);
    mname = xasprintf("blobs/sha256/%s", hex);
    if (!arc_writer_seen(w, mname) &&
        arc_write_bytes(w, mname, body, len, err) < 0)
        return -1;
    _cleanup_free_ char *digest = xasprintf("sha256:%s", hex);
    size_t k = 0;
    do {
        json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", type, "digest",
                              digest, "size", (json_int_t)len);
        if (it->names && it->names[k])
            json_object_set_new(d, "annotations",
                                json_pack("{s:s}", OCI_REF_NAME,
                                          it->names[k]));
        json_array_append_new(index, d);
    } while (it->names && it->names[k] && it->names[++k]);
    arc_emit(o, PULL_MANIFEST, digest, 0);
    return 0;
}

static int oci_save(struct store *s, struct arc_writer *w,
                    const struct image_archive_item *items, size_t n,
                    const struct image_archive_opts *o, berth_error_t *err)
{
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    _cleanup_json_ json_t *manifests = json_array();
    if (arc_write_bytes(w, "oci-layout", layout, strlen(layout), err) < 0 ||
        arc_write_dir(w, "blobs/", err) < 0 ||
        arc_write_dir(w, "blobs/sha256/", err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (oci_save_one(s, w, &items[i], manifests, o, err) < 0)
            return berth_error_prefix(err, "image %s",
                                      json_get_str(items[i].record, "id"));
    }
    _cleanup_json_ json_t *index =
        json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType",
                  MT_OCI_INDEX, "manifests", manifests);
    _cleanup_free_ char *txt = json_dumps(index, JSON_COMPACT);
    return arc_write_bytes(w, "index.json", txt, strlen(txt), err);
}

int image_archive_save(struct store *s, enum image_archive_format fmt,
                       const struct image_archive_item *items, size_t n,
                       int fd, const struct image_archive_opts *o,
                       berth_error_t *err)
{
    _cleanup_close_ int pin = -1;
    struct arc_writer w;
    int r;
    if (n == 0)
        return berth_error_new(err, 0, "no image specified for saving images");
    /* an rmi meanwhile must not sweep the blobs being written */
    if (store_pin(s, &pin, err) < 0 || arc_writer_open(&w, fd, err) < 0)
        return -1;
    if (fmt == IMAGE_ARCHIVE_OCI)
        r = oci_save(s, &w, items, n, o, err);
    else
        r = arc_docker_save(s, &w, items, n, o, err);
    if (r < 0) {
        arc_writer_free(&w);
        return -1;
    }
    return arc_writer_close(&w, err);
}

int image_archive_save_path(struct store *s, enum image_archive_format fmt,
                            const struct image_archive_item *items, size_t n,
                            const char *path,
                            const struct image_archive_opts *o,
                            berth_error_t *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return berth_error_new(err, errno, "open %s", path);
        return image_archive_save(s, fmt, items, n, fd, o, err);
    }
    _cleanup_free_ char *copy = xstrdup(path), *copy2 = xstrdup(path);
    _cleanup_free_ char *tmp = xasprintf("%s/.%s.berth-XXXXXX", dirname(copy),
                                         basename(copy2));
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return berth_error_new(err, errno, "create %s", tmp);
    int r = image_archive_save(s, fmt, items, n, fd, o, err);
    if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
        r = berth_error_new(err, errno, "write %s", tmp);
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = berth_error_new(err, errno, "rename %s to %s", tmp, path);
    if (r < 0)
        unlink(tmp);
    return r;
}

/* ------------------------------------------------------------------ */
/* oci-archive: load                                                    */

/* Read a small blob of the layout, verified against its digest. */
static int oci_read_blob(struct arc_load *l, const char *digest, char **ret,
                         size_t *ret_len, berth_error_t *err)
{
    char hex[65];
    if (digest == NULL || !image_digest_valid(digest))
        return berth_error_new(err, 0, "invalid digest \"%s\"",
                               digest ? digest : "");
    _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", arc_hex(digest));
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    if (arc_index_read_small(&l->ix, name, &buf, &len, err) < 0)
        return -1;
    sha256_hex(buf, len, hex);
    if (strcmp(hex, arc_hex(digest)) != 0)
        return berth_error_new(err, 0, "blob %s: digest mismatch (got "
                               "sha256:%s)", digest, hex);
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

/* Move a blob of the layout into the store (verified there). */
static int oci_commit_blob(struct arc_load *l, const struct manifest_desc *d,
                           bool layer, berth_error_t *err)
{
    const char *path;
    struct stat st;
    if (!image_digest_valid(d->digest))
        return berth_error_new(err, 0, "invalid digest \"%s\"",
                               d->digest);
    if (store_blob_exists(l->s, d->digest)) {
        if (layer)
            arc_emit(l->o, PULL_BLOB_SKIP, d->digest, d->size);
        return 0;
    }
    _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", arc_hex(d->digest));
    if (arc_index_path(&l->ix, name, &path, err) < 0)
        return -1;
    if (stat(path, &st) < 0)
        return berth_error_new(err, errno, "stat %s", path);
    if (d->size >= 0 && st.st_size != d->size)
        return berth_error_new(err, 0, "blob %s has %lld bytes, the "
                               "manifest says %lld", d->digest,
                               (long long)st.st_size, (long long)d->size);
    if (layer)
        arc_emit(l->o, PULL_BLOB_START, d->digest, d->size);
    if (store_blob_commit(l->s, path, d->digest, err) < 0)
        return -1;
    if (layer)
        arc_emit(l->o, PULL_BLOB_DONE, d->digest, d->size);
    return 0;
}

/* The image manifest a descriptor of index.json leads to: itself, or the
 * host's entry when it names an index. */
static int oci_resolve(struct arc_load *l, json_t *desc, char **ret_body,
                       size_t *ret_len, char **ret_digest, char **ret_type,
                       berth_error_t *err)
{
    _cleanup_free_ char *body = NULL, *mt = NULL, *digest = NULL;
    size_t len = 0;
    enum manifest_kind kind;

    digest = xstrdup(json_get_str(desc, "digest") ? json_get_str(desc, "digest")
                                                  : "");
    if (oci_read_blob(l, digest, &body, &len, err) < 0 ||
        manifest_kind(body, len, json_get_str(desc, "mediaType"), &kind, &mt,
                      err) < 0)
        return -1;
    if (kind == MANIFEST_INDEX) {
        struct platform p = {0};
        _cleanup_free_ char *sel = NULL, *seltype = NULL;
        if (platform_resolve(NULL, NULL, NULL, NULL, &p, err) < 0)
            return -1;
        int r = manifest_index_select(body, len, &p, &sel, &seltype, err);
        platform_clear(&p);
        if (r < 0)
            return -1;
        free(body), body = NULL;
        free(mt), mt = NULL;
        if (oci_read_blob(l, sel, &body, &len, err) < 0 ||
            manifest_kind(body, len, seltype, &kind, &mt, err) < 0)
            return -1;
        if (kind != MANIFEST_IMAGE)
            return berth_error_new(err, 0, "index %s points to another "
                                   "index", digest);
        free(digest);
        digest = TAKE_PTR(sel);
    }
    *ret_body = TAKE_PTR(body);
    *ret_len = len;
    *ret_digest = TAKE_PTR(digest);
    *ret_type = TAKE_PTR(mt);
    return 0;
}

static int oci_load_one(struct arc_load *l, json_t *desc, berth_error_t *err)
{
    _cleanup_free_ char *body = NULL, *digest = NULL, *type = NULL;
    _cleanup_free_ char *cbuf = NULL, *stored = NULL;
    _cleanup_json_ json_t *cfg = NULL, *layers = json_array();
    _cleanup_strv_ char **names = NULL;
    struct manifest *m = NULL;
    size_t len = 0, clen = 0;
    int r = -1;

    if (oci_resolve(l, desc, &body, &len, &digest, &type, err) < 0 ||
        manifest_parse(body, len, type, &m, err) < 0)
        return -1;
    arc_emit(l->o, PULL_CONFIG, m->config.digest, m->config.size);
    if (oci_read_blob(l, m->config.digest, &cbuf, &clen, err) < 0 ||
        (cfg = json_parse_buf(cbuf, clen, "image config", err)) == NULL ||
        store_blob_put(l->s, cbuf, clen, NULL, err) < 0)
        goto out;
    for (size_t i = 0; i < m->n_layers; i++) {
        if (oci_commit_blob(l, &m->layers[i], true, err) < 0)
            goto out;
        json_array_append_new(
            layers, json_pack("{s:s,s:s,s:I}", "digest", m->layers[i].digest,
                              "media_type", m->layers[i].media_type, "size",
                              (json_int_t)m->layers[i].size));
    }
    if (store_blob_put(l->s, body, len, &stored, err) < 0)
        goto out;
    json_t *ann = json_object_get(desc, "annotations");
    const char *name = json_get_str(ann, CONTAINERD_NAME);
    if (name == NULL)
        name = json_get_str(ann, OCI_REF_NAME);
    if (name && *name)
        strv_append(&names, name);
    r = arc_load_finish(l, digest, type, m->config.digest, cfg, layers, names,
                        err);
out:
    manifest_free(m);
    return r;
}

static int oci_load(struct arc_load *l, berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    _cleanup_json_ json_t *index = NULL;
    size_t len = 0, i;
    json_t *desc;

    if (arc_index_read_small(&l->ix, "index.json", &buf, &len, err) < 0 ||
        (index = json_parse_buf(buf, len, "index.json", err)) == NULL)
        return -1;
    json_t *manifests = json_object_get(index, "manifests");
    if (json_array_size(manifests) == 0)
        return berth_error_new(err, 0, "index.json lists no image");
    json_array_foreach(manifests, i, desc) {
        if (oci_load_one(l, desc, err) < 0)
            return berth_error_prefix(err, "index.json entry %zu", i + 1);
    }
    return 0;
}

/* ------------------------------------------------------------------ */

void image_archive_loaded_free(struct image_archive_loaded *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].id);
        strv_free(v[i].names);
    }
    free(v);
}

static int arc_load_run(struct arc_load *l, int fd, const char *dir,
                        const char *what, berth_error_t *err)
{
    size_t i;
    json_t *rec;
    if (arc_index_read(&l->ix, fd, dir, what, err) < 0)
        return -1;
    /* errors past reading name the archive once, here */
    if (arc_index_has(&l->ix, "manifest.json")) {
        if (arc_docker_load(l, err) < 0)
            return berth_error_prefix(err, "%s", what);
    } else if (arc_index_has(&l->ix, "index.json")) {
        if (oci_load(l, err) < 0)
            return berth_error_prefix(err, "%s", what);
    } else {
        return berth_error_new(err, 0,
                               "%s: payload does not match any of the "
                               "supported image formats (no manifest.json "
                               "for docker-archive, no index.json for "
                               "oci-archive)",
                               what);
    }
    json_array_foreach(l->records, i, rec) {
        if (images_put(l->s, rec, err) < 0)
            return -1;
    }
    return 0;
}

int image_archive_load(struct store *s, int fd, const char *what,
                       const struct image_archive_opts *o,
                       struct image_archive_loaded **ret, size_t *ret_n,
                       berth_error_t *err)
{
    _cleanup_close_ int pin = -1;
    struct store_tmp tmp = {0};
    struct arc_load l = {.s = s, .o = o, .records = json_array()};
    int r = -1;

    /* from the first blob until the records are written, store_gc must
     * not sweep what this load stores */
    if (store_pin(s, &pin, err) < 0 || store_tmp_new(s, &tmp, err) < 0)
        goto out;
    if (fs_mkdir_p(tmp.path, 0700, err) < 0)
        goto out;
    r = arc_load_run(&l, fd, tmp.path, what, err);
out:
    store_tmp_done(s, &tmp);
    arc_index_clear(&l.ix);
    json_decref(l.records);
    if (r < 0) {
        image_archive_loaded_free(l.loaded, l.n_loaded);
        return -1;
    }
    *ret = l.loaded;
    *ret_n = l.n_loaded;
    return 0;
}
