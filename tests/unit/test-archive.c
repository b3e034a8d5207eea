#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/import.h"
#include "image/manifest.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"
#include "tests/unit/tap.h"

/* ------------------------------------------------------------------ */
/* fixtures                                                             */

struct ta_entry {
    const char *name;
    const char *data;   /* regular file content */
    const char *target; /* symlink target (data NULL) */
    bool dir;
    size_t len; /* of data; 0: strlen */
};

/* Write a tar (gzip when gz) of the entries. */
static int ta_tar(const char *path, const struct ta_entry *ents, bool gz)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gz)
        archive_write_add_filter_gzip(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
        archive_write_free(a);
        return -1;
    }
    for (const struct ta_entry *e = ents; e->name; e++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e->name);
        archive_entry_set_mtime(ae, 1600000000, 0);
        if (e->dir) {
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_perm(ae, 0755);
        } else if (e->target) {
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_perm(ae, 0777);
            archive_entry_set_symlink(ae, e->target);
        } else {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, 0644);
            archive_entry_set_size(ae, (la_int64_t)(e->len ? e->len
                                                           : strlen(e->data)));
        }
        archive_write_header(a, ae);
        if (e->data && !e->dir)
            archive_write_data(a, e->data, e->len ? e->len : strlen(e->data));
        archive_entry_free(ae);
    }
    int r = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;
    archive_write_free(a);
    return r;
}

/* A scratch directory with up to three stores. */
struct ta_env {
    char *dir;
    struct store *s[3];
};

static int ta_setup(struct ta_env *env)
{
    const char *t = getenv("TMPDIR");
    memset(env, 0, sizeof(*env));
    env->dir = xasprintf("%s/test-archive-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(env->dir) == NULL)
        return -1;
    for (int i = 0; i < 3; i++) {
        _cleanup_free_ char *root = xasprintf("%s/root%d", env->dir, i);
        _cleanup_free_ char *run = xasprintf("%s/run%d", env->dir, i);
        struct store_opts o = {.root = root, .runroot = run, .driver = "vfs"};
        berth_error_t err = NULL;
        if (store_open(&o, &env->s[i], &err) < 0) {
            fprintf(stderr, "# store_open: %s\n", err->msg);
            berth_error_free(&err);
            return -1;
        }
    }
    return 0;
}

static void ta_teardown(struct ta_env *env)
{
    berth_error_t err = NULL;
    for (int i = 0; i < 3; i++)
        store_free(env->s[i]);
    if (env->dir && fs_rm_rf(env->dir, &err) < 0)
        berth_error_free(&err);
    free(env->dir);
}

/* Run a test body with fresh stores, removed afterwards whatever the
 * body returned. */
static int ta_with_env(int (*body)(struct ta_env *env))
{
    struct ta_env env;
    int r = ta_setup(&env) < 0 ? -1 : body(&env);
    ta_teardown(&env);
    return r;
}

static char *ta_path(struct ta_env *env, const char *name)
{
    return xasprintf("%s/%s", env->dir, name);
}

/* Import a rootfs tarball with a name; returns the id. */
static char *ta_import(struct ta_env *env, struct store *s, const char *tag,
                       const char *content)
{
    _cleanup_free_ char *tar = ta_path(env, "rootfs.tar");
    const struct ta_entry ents[] = {
        {"etc/", NULL, NULL, true, 0},
        {"etc/hello.txt", content, NULL, false, 0},
        {"bin/", NULL, NULL, true, 0},
        {"bin/sh", "#!fake\n", NULL, false, 0},
        {"link", NULL, "etc/hello.txt", false, 0},
        {NULL, NULL, NULL, false, 0},
    };
    const char *const changes[] = {"CMD [\"/bin/sh\"]", "ENV A=1", NULL};
    struct import_opts o = {.changes = (char *const *)changes,
                            .message = "test image",
                            .name = tag};
    berth_error_t err = NULL;
    char *id = NULL;
    if (ta_tar(tar, ents, true) < 0)
        return NULL;
    if (image_import(s, tar, &o, &id, &err) < 0) {
        fprintf(stderr, "# import: %s\n", err->msg);
        berth_error_free(&err);
        return NULL;
    }
    unlink(tar);
    return id;
}

static int ta_save(struct store *s, enum image_archive_format fmt,
                   const char *path, const char *const *ids,
                   const char *const *names)
{
    struct image_archive_item items[4] = {0};
    size_t n = 0;
    berth_error_t err = NULL;
    int r = 0;
    for (; ids[n]; n++) {
        if (images_get(s, ids[n], (json_t **)&items[n].record, &err) < 0) {
            fprintf(stderr, "# get %s: %s\n", ids[n], err->msg);
            berth_error_free(&err);
            return -1;
        }
        if (names && names[n])
            strv_append(&items[n].names, names[n]);
    }
    if (image_archive_save_path(s, fmt, items, n, path, NULL, &err) < 0) {
        fprintf(stderr, "# save: %s\n", err->msg);
        berth_error_free(&err);
        r = -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].record);
        strv_free(items[i].names);
    }
    return r;
}

/* Load path into s; returns the count loaded or -1 with *msg. */
static int ta_load(struct store *s, const char *path,
                   struct image_archive_loaded **ret, size_t *ret_n,
                   char **msg)
{
    berth_error_t err = NULL;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (image_archive_load(s, fd, path, NULL, ret, ret_n, &err) < 0) {
        if (msg)
            *msg = xstrdup(err->msg);
        else
            fprintf(stderr, "# load: %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    return 0;
}

static size_t ta_count_images(struct store *s)
{
    json_t *all = NULL;
    berth_error_t err = NULL;
    if (images_list(s, &all, &err) < 0) {
        berth_error_free(&err);
        return (size_t)-1;
    }
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}

/* Entries left in ROOT/tmp (the load must clean up after itself). */
static size_t ta_count_tmp(struct store *s)
{
    _cleanup_free_ char *p = store_path(s, "tmp");
    DIR *d = opendir(p);
    struct dirent *de;
    size_t n = 0;
    if (d == NULL)
        return (size_t)-1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Content of file rel in the top layer of image id. */
static char *ta_layer_file(struct store *s, const char *id, const char *rel)
{
    json_t *rec = NULL;
    berth_error_t err = NULL;
    char *buf = NULL;
    if (images_get(s, id, &rec, &err) < 0) {
        berth_error_free(&err);
        return NULL;
    }
    json_t *layers = json_object_get(rec, "layers");
    const char *chain = json_get_str(
        json_array_get(layers, json_array_size(layers) - 1), "chain_id");
    _cleanup_free_ char *diff = chain ? store_layer_diff(s, chain) : NULL;
    _cleanup_free_ char *p = diff ? xasprintf("%s/%s", diff, rel) : NULL;
    if (p == NULL || fs_read_file(p, &buf, NULL, &err) < 0)
        berth_error_free(&err);
    json_decref(rec);
    return buf;
}

static const char *ta_rec_str(struct store *s, const char *id,
                              const char *key, char buf[256])
{
    json_t *rec = NULL;
    berth_error_t err = NULL;
    if (images_get(s, id, &rec, &err) < 0) {
        berth_error_free(&err);
        return NULL;
    }
    snprintf(buf, 256, "%s", json_get_str(rec, key) ? json_get_str(rec, key) : "");
    json_decref(rec);
    return buf;
}

/* ------------------------------------------------------------------ */

static int test_names(void)
{
    berth_error_t err = NULL;
    char *n = NULL;
    TAP_CHECK(image_archive_normalize_name("busybox:latest", &n, &err) == 0);
    TAP_STREQ(n, "docker.io/library/busybox:latest");
    free(n);
    TAP_CHECK(image_archive_normalize_name("foo/bar", &n, &err) == 0);
    TAP_STREQ(n, "docker.io/foo/bar:latest");
    free(n);
    TAP_CHECK(image_archive_normalize_name("quay.io/a/b:1.0", &n, &err) == 0);
    TAP_STREQ(n, "quay.io/a/b:1.0");
    free(n);
    TAP_CHECK(image_archive_normalize_name("localhost/x:y", &n, &err) == 0);
    TAP_STREQ(n, "localhost/x:y");
    free(n);
    TAP_CHECK(image_archive_normalize_name("Bad/Name", &n, &err) < 0);
    berth_error_free(&err);
    TAP_CHECK(image_import_reference("myimg", &n, &err) == 0);
    TAP_STREQ(n, "localhost/myimg:latest");
    free(n);
    TAP_CHECK(image_import_reference("reg.example:5000/a/b:v2", &n, &err) == 0);
    TAP_STREQ(n, "reg.example:5000/a/b:v2");
    free(n);
    TAP_CHECK(image_import_reference(
                  "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef",
                  &n, &err) < 0);
    berth_error_free(&err);
    TAP_CHECK(image_import_is_url("https://example.com/x.tar"));
    TAP_CHECK(image_import_is_url("HTTP://example.com/x.tar"));
    TAP_CHECK(!image_import_is_url("./https:/x"));
    return 0;
}

static int ta_body_import(struct ta_env *env)
{
    _cleanup_free_ char *id = ta_import(env, env->s[0], "localhost/t:1", "hi\n");
    TAP_CHECK(id != NULL);
    json_t *rec = NULL, *cfg = NULL;
    berth_error_t err = NULL;
    TAP_CHECK(images_lookup(env->s[0], "t:1", &rec, &err) == 0);
    TAP_STREQ(json_get_str(rec, "id"), id);
    TAP_STREQ(json_string_value(json_array_get(json_object_get(rec, "names"), 0)),
              "localhost/t:1");
    TAP_CHECK(images_config(env->s[0], rec, &cfg, &err) == 0);
    json_decref(rec);
    json_t *c = json_object_get(cfg, "config");
    TAP_STREQ(json_string_value(json_array_get(json_object_get(c, "Cmd"), 0)),
              "/bin/sh");
    TAP_STREQ(json_string_value(json_array_get(json_object_get(c, "Env"), 0)),
              "A=1");
    TAP_STREQ(json_get_str(cfg, "os"), "linux");
    json_t *h = json_array_get(json_object_get(cfg, "history"), 0);
    TAP_STREQ(json_get_str(h, "comment"), "test image");
    const char *diff = json_string_value(json_array_get(
        json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), 0));
    _cleanup_free_ char *by =
        xasprintf("/bin/sh -c #(nop) ADD file:%s in /", diff ? diff + 7 : "");
    TAP_STREQ(json_get_str(h, "created_by"), by);
    /* created is the tarball's mtime: set now-ish by the fixture */
    TAP_CHECK(json_get_str(cfg, "created") != NULL);
    json_decref(cfg);
    _cleanup_free_ char *txt = ta_layer_file(env->s[0], id, "etc/hello.txt");
    TAP_STREQ(txt, "hi\n");
    TAP_CHECK(ta_count_tmp(env->s[0]) == 0);
    return 0;
}

static int test_import(void)
{
    return ta_with_env(ta_body_import);
}

/* save in one format into store 0, load into stores 1: same id, names,
 * content; oci-archive keeps the manifest digest. */
static int ta_roundtrip_body(struct ta_env *env, enum image_archive_format fmt)
{
    struct image_archive_loaded *ld = NULL;
    size_t n = 0;
    char a[256], b[256];
    _cleanup_free_ char *id1 = ta_import(env, env->s[0], "localhost/one:1", "one\n");
    _cleanup_free_ char *id2 = ta_import(env, env->s[0], NULL, "two\n");
    _cleanup_free_ char *arc = ta_path(env, "out.tar");
    TAP_CHECK(id1 && id2 && strcmp(id1, id2) != 0);
    const char *const ids[] = {id1, id2, NULL};
    const char *const names[] = {"docker.io/library/one:1", NULL, NULL};
    TAP_CHECK(ta_save(env->s[0], fmt, arc, ids, names) == 0);
    TAP_CHECK(ta_load(env->s[1], arc, &ld, &n, NULL) == 0);
    TAP_CHECK(n == 2);
    TAP_STREQ(ld[0].id, id1);
    TAP_STREQ(ld[0].names[0], "docker.io/library/one:1");
    TAP_CHECK(ld[0].names[1] == NULL);
    TAP_STREQ(ld[1].id, id2);
    TAP_CHECK(ld[1].names[0] == NULL);
    image_archive_loaded_free(ld, n);
    ld = NULL;
    TAP_CHECK(ta_count_images(env->s[1]) == 2);
    _cleanup_free_ char *t1 = ta_layer_file(env->s[1], id1, "etc/hello.txt");
    _cleanup_free_ char *t2 = ta_layer_file(env->s[1], id2, "etc/hello.txt");
    TAP_STREQ(t1, "one\n");
    TAP_STREQ(t2, "two\n");
    json_t *rec = NULL;
    berth_error_t err = NULL;
    TAP_CHECK(images_lookup(env->s[1], "docker.io/library/one:1", &rec, &err) == 0);
    TAP_STREQ(json_get_str(rec, "id"), id1);
    json_decref(rec);
    if (fmt == IMAGE_ARCHIVE_OCI) {
        TAP_STREQ(ta_rec_str(env->s[1], id1, "manifest", a),
                  ta_rec_str(env->s[0], id1, "manifest", b));
    }
    TAP_CHECK(ta_count_tmp(env->s[1]) == 0);
    /* loading again is fine and changes nothing */
    TAP_CHECK(ta_load(env->s[1], arc, &ld, &n, NULL) == 0);
    image_archive_loaded_free(ld, n);
    ld = NULL;
    TAP_CHECK(ta_count_images(env->s[1]) == 2);
    image_archive_loaded_free(ld, n);
    return 0;
}

static int ta_body_roundtrip_docker(struct ta_env *env)
{
    return ta_roundtrip_body(env, IMAGE_ARCHIVE_DOCKER);
}

static int ta_body_roundtrip_oci(struct ta_env *env)
{
    return ta_roundtrip_body(env, IMAGE_ARCHIVE_OCI);
}

static int test_roundtrip_docker(void)
{
    return ta_with_env(ta_body_roundtrip_docker);
}

static int test_roundtrip_oci(void)
{
    return ta_with_env(ta_body_roundtrip_oci);
}

/* Read one entry of a tar into memory (NULL when absent). */
static char *ta_tar_entry(const char *path, const char *name)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    char *out = NULL;
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        if (strcmp(archive_entry_pathname(e), name) != 0)
            continue;
        size_t sz = (size_t)archive_entry_size(e);
        out = xcalloc(1, sz + 1);
        archive_read_data(a, out, sz);
        break;
    }
    archive_read_free(a);
    return out;
}

static int ta_body_archive_layout(struct ta_env *env)
{
    _cleanup_free_ char *id = ta_import(env, env->s[0], "localhost/l:1", "l\n");
    _cleanup_free_ char *dk = ta_path(env, "d.tar"), *oc = ta_path(env, "o.tar");
    TAP_CHECK(id != NULL);
    const char *const ids[] = {id, NULL};
    const char *const names[] = {"localhost/l:1", NULL};
    TAP_CHECK(ta_save(env->s[0], IMAGE_ARCHIVE_DOCKER, dk, ids, names) == 0);
    TAP_CHECK(ta_save(env->s[0], IMAGE_ARCHIVE_OCI, oc, ids, names) == 0);

    _cleanup_free_ char *mj = ta_tar_entry(dk, "manifest.json");
    _cleanup_json_ json_t *m = json_loads(mj ? mj : "", 0, NULL);
    json_t *item = json_array_get(m, 0);
    _cleanup_free_ char *cfgname = xasprintf("%s.json", id);
    TAP_STREQ(json_get_str(item, "Config"), cfgname);
    TAP_STREQ(json_string_value(json_array_get(json_object_get(item, "RepoTags"), 0)),
              "localhost/l:1");
    const char *layer = json_string_value(
        json_array_get(json_object_get(item, "Layers"), 0));
    TAP_CHECK(layer && strlen(layer) == 64 + strlen("/layer.tar"));
    /* the layer is stored uncompressed, and its digest is the diff id */
    _cleanup_free_ char *ltar = ta_tar_entry(dk, layer);
    TAP_CHECK(ltar && strncmp(ltar, "etc/", 4) == 0);
    _cleanup_free_ char *cfg = ta_tar_entry(dk, cfgname);
    char hex[65];
    sha256_hex(cfg, strlen(cfg), hex);
    TAP_STREQ(hex, id);
    _cleanup_free_ char *repos = ta_tar_entry(dk, "repositories");
    TAP_CHECK(repos && strstr(repos, "\"localhost/l\":{\"1\":"));

    _cleanup_free_ char *ix = ta_tar_entry(oc, "index.json");
    _cleanup_json_ json_t *index = json_loads(ix ? ix : "", 0, NULL);
    json_t *desc = json_array_get(json_object_get(index, "manifests"), 0);
    TAP_STREQ(json_get_str(json_object_get(desc, "annotations"),
                           "org.opencontainers.image.ref.name"),
              "localhost/l:1");
    char mbuf[256];
    TAP_STREQ(json_get_str(desc, "digest"),
              ta_rec_str(env->s[0], id, "manifest", mbuf));
    _cleanup_free_ char *layout = ta_tar_entry(oc, "oci-layout");
    TAP_STREQ(layout, "{\"imageLayoutVersion\":\"1.0.0\"}");
    return 0;
}

static int test_archive_layout(void)
{
    return ta_with_env(ta_body_archive_layout);
}

/* pull-like: save, remove the image (and gc its blobs and layers), load
 * it back: the same id. */
static int ta_body_save_rmi_load(struct ta_env *env)
{
    struct image_archive_loaded *ld = NULL;
    size_t n = 0;
    uint64_t freed = 0;
    berth_error_t err = NULL;
    _cleanup_free_ char *id = ta_import(env, env->s[0], "localhost/rt:1", "rt\n");
    TAP_CHECK(id != NULL);
    for (int f = 0; f < 2; f++) {
        _cleanup_free_ char *arc = ta_path(env, f ? "rt-oci.tar" : "rt-d.tar");
        const char *const ids[] = {id, NULL};
        const char *const names[] = {"localhost/rt:1", NULL};
        enum image_archive_format fmt = f ? IMAGE_ARCHIVE_OCI : IMAGE_ARCHIVE_DOCKER;
        TAP_CHECK(ta_save(env->s[0], fmt, arc, ids, names) == 0);
        TAP_CHECK(images_delete(env->s[0], id, &err) == 0);
        TAP_CHECK(store_gc(env->s[0], &freed, &err) == 0);
        TAP_CHECK(freed > 0);
        TAP_CHECK(ta_count_images(env->s[0]) == 0);
        TAP_CHECK(ta_load(env->s[0], arc, &ld, &n, NULL) == 0);
        TAP_CHECK(n == 1);
        TAP_STREQ(ld[0].id, id);
        image_archive_loaded_free(ld, n);
        ld = NULL;
        _cleanup_free_ char *t = ta_layer_file(env->s[0], id, "etc/hello.txt");
        TAP_STREQ(t, "rt\n");
    }
    image_archive_loaded_free(ld, n);
    return 0;
}

static int test_save_rmi_load(void)
{
    return ta_with_env(ta_body_save_rmi_load);
}

/* A docker-archive made by hand from a layer tar and a config. */
static int ta_docker_archive(struct ta_env *env, const char *path,
                             const char *layer_name, const char *diff_override,
                             const char *link_target)
{
    _cleanup_free_ char *ltar = ta_path(env, "layer.tar");
    const struct ta_entry lents[] = {{"f.txt", "x\n", NULL, false, 0},
                                     {NULL, NULL, NULL, false, 0}};
    _cleanup_free_ char *lbuf = NULL;
    size_t llen = 0;
    char hex[65];
    berth_error_t err = NULL;
    if (ta_tar(ltar, lents, false) < 0 ||
        fs_read_file(ltar, &lbuf, &llen, &err) < 0) {
        berth_error_free(&err);
        return -1;
    }
    sha256_hex(lbuf, llen, hex);
    _cleanup_free_ char *cfg = xasprintf(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
        "\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
        diff_override ? diff_override : hex);
    _cleanup_free_ char *man = xasprintf(
        "[{\"Config\":\"c.json\",\"RepoTags\":[\"busybox:latest\"],"
        "\"Layers\":[\"%s\"]}]",
        layer_name);
    const struct ta_entry ents[] = {
        {"manifest.json", man, NULL, false, 0},
        {"c.json", cfg, NULL, false, 0},
        {"abc/", NULL, NULL, true, 0},
        {link_target ? "abc/layer.tar" : "abc/real.tar",
         link_target ? NULL : lbuf, link_target, false, llen},
        {"abc/real.tar", lbuf, NULL, false, llen},
        {NULL, NULL, NULL, false, 0},
    };
    return ta_tar(path, ents, false);
}

static int ta_expect_refused(struct ta_env *env, const char *path,
                             const char *want)
{
    struct image_archive_loaded *ld = NULL;
    size_t n = 0;
    _cleanup_free_ char *msg = NULL;
    TAP_CHECK(ta_load(env->s[1], path, &ld, &n, &msg) < 0);
    if (msg == NULL || strstr(msg, want) == NULL)
        fprintf(stderr, "# message '%s' lacks '%s'\n", msg ? msg : "", want);
    TAP_CHECK(msg && strstr(msg, want));
    /* the error names the archive */
    TAP_CHECK(strstr(msg, path) != NULL);
    TAP_CHECK(ta_count_images(env->s[1]) == 0);
    TAP_CHECK(ta_count_tmp(env->s[1]) == 0);
    return 0;
}

static int ta_body_docker_hostile(struct ta_env *env)
{
    struct image_archive_loaded *ld = NULL;
    size_t n = 0;
    _cleanup_free_ char *p = ta_path(env, "h.tar");
    /* a well-formed one loads, with docker's short name normalized */
    TAP_CHECK(ta_docker_archive(env, p, "abc/real.tar", NULL, NULL) == 0);
    TAP_CHECK(ta_load(env->s[2], p, &ld, &n, NULL) == 0);
    TAP_CHECK(n == 1);
    TAP_STREQ(ld[0].names[0], "docker.io/library/busybox:latest");
    image_archive_loaded_free(ld, n);
    ld = NULL;
    /* and through an in-archive symlink too */
    TAP_CHECK(ta_docker_archive(env, p, "abc/layer.tar", NULL, "real.tar") == 0);
    TAP_CHECK(ta_load(env->s[2], p, &ld, &n, NULL) == 0);
    image_archive_loaded_free(ld, n);
    ld = NULL;

    TAP_CHECK(ta_docker_archive(env, p, "../x", NULL, NULL) == 0);
    TAP_CHECK(ta_expect_refused(env, p, "invalid path \"../x\"") == 0);
    TAP_CHECK(ta_docker_archive(env, p, "/etc/passwd", NULL, NULL) == 0);
    TAP_CHECK(ta_expect_refused(env, p, "invalid path \"/etc/passwd\"") == 0);
    TAP_CHECK(ta_docker_archive(env, p, "abc/../../x", NULL, NULL) == 0);
    TAP_CHECK(ta_expect_refused(env, p, "invalid path") == 0);
    TAP_CHECK(ta_docker_archive(env, p, "nope.tar", NULL, NULL) == 0);
    TAP_CHECK(ta_expect_refused(env, p, "\"nope.tar\" is missing") == 0);
    TAP_CHECK(ta_docker_archive(env, p, "abc/layer.tar", NULL,
                                "../../etc/passwd") == 0);
    TAP_CHECK(ta_expect_refused(env, p, "outside the archive") == 0);
    TAP_CHECK(ta_docker_archive(env, p, "abc/real.tar",
                                "sha256:0123456789abcdef0123456789abcdef"
                                "0123456789abcdef0123456789abcdef",
                                NULL) == 0);
    TAP_CHECK(ta_expect_refused(env, p, "the image config says") == 0);
    image_archive_loaded_free(ld, n);
    return 0;
}

static int test_docker_hostile(void)
{
    return ta_with_env(ta_body_docker_hostile);
}

/* Rewrite an archive with one entry's content replaced. */
static int ta_tamper(const char *in, const char *out, const char *prefix)
{
    struct archive *a = archive_read_new(), *w = archive_write_new();
    struct archive_entry *e;
    int r = -1;
    archive_read_support_format_tar(a);
    archive_write_set_format_pax_restricted(w);
    if (archive_read_open_filename(a, in, 1 << 16) != ARCHIVE_OK ||
        archive_write_open_filename(w, out) != ARCHIVE_OK)
        goto done;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        size_t sz = (size_t)archive_entry_size(e);
        char *buf = xcalloc(1, sz + 1);
        archive_read_data(a, buf, sz);
        if (str_has_prefix(archive_entry_pathname(e), prefix) && sz > 0)
            buf[sz - 1] ^= 1;
        archive_write_header(w, e);
        archive_write_data(w, buf, sz);
        free(buf);
    }
    r = 0;
done:
    archive_read_free(a);
    archive_write_close(w);
    archive_write_free(w);
    return r;
}

static int ta_body_oci_hostile(struct ta_env *env)
{
    _cleanup_free_ char *id = ta_import(env, env->s[0], "localhost/o:1", "o\n");
    _cleanup_free_ char *good = ta_path(env, "o.tar"), *bad = ta_path(env, "bad.tar");
    TAP_CHECK(id != NULL);
    const char *const ids[] = {id, NULL};
    TAP_CHECK(ta_save(env->s[0], IMAGE_ARCHIVE_OCI, good, ids, NULL) == 0);
    /* every blob flipped: the manifest fails its digest first */
    TAP_CHECK(ta_tamper(good, bad, "blobs/sha256/") == 0);
    TAP_CHECK(ta_expect_refused(env, bad, "digest mismatch") == 0);
    /* not an archive at all */
    _cleanup_free_ char *junk = ta_path(env, "junk");
    berth_error_t werr = NULL;
    TAP_CHECK(fs_write_file_atomic(junk, "hello", 5, 0644, &werr) == 0);
    TAP_CHECK(ta_expect_refused(env, junk, "junk") == 0);
    /* a tar that is neither format */
    const struct ta_entry ents[] = {{"x", "y", NULL, false, 0},
                                    {NULL, NULL, NULL, false, 0}};
    TAP_CHECK(ta_tar(bad, ents, false) == 0);
    TAP_CHECK(ta_expect_refused(env, bad, "does not match any of the "
                                "supported image formats") == 0);
    return 0;
}

static int test_oci_hostile(void)
{
    return ta_with_env(ta_body_oci_hostile);
}

/* A save that fails leaves no file behind; an existing file is replaced
 * only on success. */
static int ta_body_save_atomic(struct ta_env *env)
{
    berth_error_t err = NULL;
    _cleanup_free_ char *id = ta_import(env, env->s[0], "localhost/a:1", "a\n");
    _cleanup_free_ char *out = ta_path(env, "a.tar");
    TAP_CHECK(id != NULL);
    TAP_CHECK(fs_write_file_atomic(out, "old", 3, 0644, &err) == 0);
    json_t *rec = NULL;
    TAP_CHECK(images_get(env->s[0], id, &rec, &err) == 0);
    /* break the record: its layer blob is gone */
    _cleanup_free_ char *blob = store_blob_path(
        env->s[0], json_get_str(json_array_get(json_object_get(rec, "layers"), 0),
                               "digest"));
    TAP_CHECK(unlink(blob) == 0);
    struct image_archive_item it = {.record = rec, .names = NULL};
    TAP_CHECK(image_archive_save_path(env->s[0], IMAGE_ARCHIVE_OCI, &it, 1, out,
                                      NULL, &err) < 0);
    TAP_CHECK(strstr(err->msg, "missing") != NULL);
    berth_error_free(&err);
    TAP_CHECK(image_archive_save_path(env->s[0], IMAGE_ARCHIVE_DOCKER, &it, 1,
                                      out, NULL, &err) < 0);
    berth_error_free(&err);
    json_decref(rec);
    _cleanup_free_ char *left = NULL;
    TAP_CHECK(fs_read_file(out, &left, NULL, &err) == 0);
    TAP_STREQ(left, "old");
    /* no temporary file beside it either */
    DIR *d = opendir(env->dir);
    struct dirent *de;
    int stray = 0;
    while (d && (de = readdir(d)))
        stray += strstr(de->d_name, ".berth-") != NULL;
    if (d)
        closedir(d);
    TAP_CHECK(stray == 0);
    return 0;
}

static int test_save_atomic(void)
{
    return ta_with_env(ta_body_save_atomic);
}

/* A record naming an index (pulled by the index's digest) saves the
 * host's image manifest; one whose manifest blob is gone gets one made
 * from the record.  Either loads back with the same id. */
static int ta_body_save_manifest_fallbacks(struct ta_env *env)
{
    struct image_archive_loaded *ld = NULL;
    size_t n = 0;
    berth_error_t err = NULL;
    json_t *rec = NULL;
    _cleanup_free_ char *id = ta_import(env, env->s[0], "localhost/f:1", "f\n");
    _cleanup_free_ char *arc = ta_path(env, "f.tar");
    TAP_CHECK(id != NULL);
    TAP_CHECK(images_get(env->s[0], id, &rec, &err) == 0);
    _cleanup_free_ char *mdigest = xstrdup(json_get_str(rec, "manifest"));
    _cleanup_free_ char *index = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{"
        "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,\"platform\":{"
        "\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
        MT_OCI_INDEX, MT_OCI_MANIFEST, mdigest, platform_host_arch());
    char *idigest = NULL;
    TAP_CHECK(store_blob_put(env->s[0], index, strlen(index), &idigest, &err) ==
              0);
    json_object_set_new(rec, "manifest", json_string(idigest));
    json_object_set_new(rec, "manifest_type", json_string(MT_OCI_INDEX));
    free(idigest);
    struct image_archive_item it = {.record = rec, .names = NULL};
    TAP_CHECK(image_archive_save_path(env->s[0], IMAGE_ARCHIVE_OCI, &it, 1, arc,
                                      NULL, &err) == 0);
    _cleanup_free_ char *ix = ta_tar_entry(arc, "index.json");
    TAP_CHECK(ix && strstr(ix, mdigest) != NULL);
    TAP_CHECK(ta_load(env->s[1], arc, &ld, &n, NULL) == 0);
    TAP_STREQ(ld[0].id, id);
    image_archive_loaded_free(ld, n);
    ld = NULL;

    _cleanup_free_ char *mpath = store_blob_path(env->s[0], mdigest);
    TAP_CHECK(unlink(mpath) == 0);
    json_object_set_new(rec, "manifest", json_string(mdigest));
    TAP_CHECK(image_archive_save_path(env->s[0], IMAGE_ARCHIVE_OCI, &it, 1, arc,
                                      NULL, &err) == 0);
    TAP_CHECK(ta_load(env->s[2], arc, &ld, &n, NULL) == 0);
    TAP_STREQ(ld[0].id, id);
    json_decref(rec);
    image_archive_loaded_free(ld, n);
    return 0;
}

static int test_save_manifest_fallbacks(void)
{
    return ta_with_env(ta_body_save_manifest_fallbacks);
}

TAP_MAIN({"archive and import names", test_names},
         {"save through an index or without a manifest blob",
          test_save_manifest_fallbacks},
         {"import a rootfs tarball", test_import},
         {"docker-archive round trip, two images", test_roundtrip_docker},
         {"oci-archive round trip, two images", test_roundtrip_oci},
         {"archive layouts", test_archive_layout},
         {"save, rmi, load keeps the id", test_save_rmi_load},
         {"docker-archive: hostile paths and diff ids", test_docker_hostile},
         {"oci-archive: digest mismatch, not an archive", test_oci_hostile},
         {"save to a path is atomic", test_save_atomic})
