#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/store.h"
#include "storage/volumes.h"
#include "tests/unit/tap.h"

static char *vt_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *p = xasprintf("%s/test-volumes.XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(p) == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

struct vt_env {
    char *dir;
    struct store *s;
};

static int vt_open(struct vt_env *e)
{
    berth_error_t err = NULL;
    e->dir = vt_tmpdir();
    if (e->dir == NULL)
        return -1;
    _cleanup_free_ char *root = xasprintf("%s/root", e->dir);
    _cleanup_free_ char *run = xasprintf("%s/run", e->dir);
    struct store_opts o = {root, run, "vfs"};
    if (store_open(&o, &e->s, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    return 0;
}

static void vt_close(struct vt_env *e)
{
    berth_error_t err = NULL;
    store_free(e->s);
    if (e->dir && fs_rm_rf(e->dir, &err) < 0)
        berth_error_free(&err);
    free(e->dir);
}

static void vt_write(const char *path, const char *text)
{
    berth_error_t err = NULL;
    if (fs_write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
        berth_error_free(&err);
}

static bool vt_file_is(const char *path, const char *text)
{
    _cleanup_free_ char *buf = NULL;
    berth_error_t err = NULL;
    if (fs_read_file(path, &buf, NULL, &err) < 0) {
        berth_error_free(&err);
        return false;
    }
    return strcmp(buf, text) == 0;
}

/* A container record that mounts `source`, as cmd/run.c keeps the
 * bundle's mounts in options.mounts. */
static int vt_container(struct store *s, const char *name, const char *source,
                        char **ret_id)
{
    berth_error_t err = NULL;
    json_t *rec = NULL;
    json_t *f = json_pack("{s:s, s:s, s:{s:[{s:s, s:s, s:s}]}}", "name", name,
                          "image", "", "options", "mounts", "destination",
                          "/data", "type", "bind", "source", source);
    int r = containers_create(s, f, &rec, &err);
    json_decref(f);
    if (r < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    *ret_id = xstrdup(json_get_str(rec, "id"));
    json_decref(rec);
    return 0;
}

static int test_create_clash(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    json_t *rec = NULL, *got = NULL;
    int r = -1;
    /* return, not goto: the cleanup variables below are not yet in scope */
    if (vt_open(&e) < 0)
        return -1;
    json_t *labels = json_pack("{s:s}", "app", "web");
    int c = volumes_create(e.s, "data1", labels, NULL, false, &rec, &err);
    json_decref(labels);
    TAP_CHECK(c == 0);
    TAP_STREQ(json_get_str(rec, "name"), "data1");
    TAP_STREQ(json_get_str(rec, "driver"), "local");
    _cleanup_free_ char *data = volumes_data_path(e.s, "data1");
    TAP_STREQ(json_get_str(rec, "mountpoint"), data);
    struct stat st;
    TAP_CHECK(stat(data, &st) == 0 && S_ISDIR(st.st_mode));
    TAP_CHECK(json_is_false(json_object_get(rec, "anonymous")));
    TAP_CHECK(json_is_true(json_object_get(rec, "needs_copy")));
    TAP_CHECK(volumes_get(e.s, "data1", &got, &err) == 0);
    TAP_STREQ(json_get_str(json_object_get(got, "labels"), "app"), "web");
    /* the second create of the name fails with podman's words */
    TAP_CHECK(volumes_create(e.s, "data1", NULL, NULL, false, NULL, &err) < 0);
    TAP_CHECK(err->errnum == EEXIST);
    TAP_STREQ(err->msg, "volume with name data1 already exists: volume "
                        "already exists");
    berth_error_free(&err);
    /* bad names and unknown options are refused */
    TAP_CHECK(volumes_create(e.s, "-x", NULL, NULL, false, NULL, &err) < 0);
    berth_error_free(&err);
    TAP_CHECK(volumes_create(e.s, "a/b", NULL, NULL, false, NULL, &err) < 0);
    berth_error_free(&err);
    json_t *bad = json_pack("{s:s}", "bogus", "1");
    TAP_CHECK(volumes_create(e.s, "v2", NULL, bad, false, NULL, &err) < 0);
    json_decref(bad);
    TAP_CHECK(strstr(err->msg, "invalid mount option bogus") != NULL);
    berth_error_free(&err);
    _cleanup_free_ char *v2 = store_path(e.s, "volumes/v2");
    TAP_CHECK(!fs_exists(v2));
    /* missing */
    json_t *none = NULL;
    TAP_CHECK(volumes_get(e.s, "nosuch", &none, &err) < 0 && none == NULL);
    TAP_CHECK(err->errnum == ENOENT);
    TAP_STREQ(err->msg, "no volume with name \"nosuch\" found: no such volume");
    berth_error_free(&err);
    r = 0;
    json_decref(rec);
    json_decref(got);
    vt_close(&e);
    return r;
}

static int test_list_and_debris(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    _cleanup_json_ json_t *list = NULL, *rec = NULL;
    if (vt_open(&e) < 0)
        return -1;
    TAP_CHECK(volumes_create(e.s, "zeta", NULL, NULL, false, NULL, &err) == 0);
    TAP_CHECK(volumes_create(e.s, "alpha", NULL, NULL, false, NULL, &err) ==
              0);
    /* a creator that died after mkdir: not listed, and reclaimable */
    _cleanup_free_ char *debris = store_path(e.s, "volumes/mid");
    TAP_CHECK(mkdir(debris, 0700) == 0);
    TAP_CHECK(volumes_list(e.s, &list, &err) == 0);
    TAP_CHECK(json_array_size(list) == 2);
    TAP_STREQ(json_get_str(json_array_get(list, 0), "name"), "alpha");
    TAP_STREQ(json_get_str(json_array_get(list, 1), "name"), "zeta");
    TAP_CHECK(volumes_create(e.s, "mid", NULL, NULL, false, &rec, &err) == 0);
    TAP_STREQ(json_get_str(rec, "name"), "mid");
    vt_close(&e);
    return 0;
}

static int test_anonymous(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    _cleanup_json_ json_t *a = NULL, *b = NULL;
    if (vt_open(&e) < 0)
        return -1;
    TAP_CHECK(volumes_create(e.s, NULL, NULL, NULL, true, &a, &err) == 0);
    TAP_CHECK(volumes_create(e.s, NULL, NULL, NULL, true, &b, &err) == 0);
    const char *n = json_get_str(a, "name");
    TAP_CHECK(strlen(n) == 64 && strspn(n, "0123456789abcdef") == 64);
    TAP_CHECK(strcmp(n, json_get_str(b, "name")) != 0);
    TAP_CHECK(json_is_true(json_object_get(a, "anonymous")));
    vt_close(&e);
    return 0;
}

static int test_remove_in_use(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    _cleanup_free_ char *id = NULL;
    _cleanup_strv_ char **users = NULL;
    if (vt_open(&e) < 0)
        return -1;
    TAP_CHECK(volumes_create(e.s, "used", NULL, NULL, false, NULL, &err) == 0);
    TAP_CHECK(volumes_create(e.s, "free", NULL, NULL, false, NULL, &err) == 0);
    _cleanup_free_ char *data = volumes_data_path(e.s, "used");
    _cleanup_free_ char *sub = xasprintf("%s/sub", data);
    /* a mount of a sub-directory of the volume counts as use */
    TAP_CHECK(vt_container(e.s, "c1", sub, &id) == 0);
    TAP_CHECK(volumes_users(e.s, "used", &users, &err) == 0);
    TAP_CHECK(strv_len(users) == 1);
    TAP_STREQ(users[0], id);
    TAP_CHECK(volumes_remove(e.s, "used", false, &err) < 0);
    TAP_CHECK(err->errnum == EBUSY);
    TAP_CHECK(strstr(err->msg, "volume used is being used by the following "
                               "container(s): ") == err->msg);
    TAP_CHECK(strstr(err->msg, id) != NULL);
    berth_error_free(&err);
    TAP_CHECK(fs_exists(data));
    /* "free" is a prefix-distinct name: not in use */
    TAP_CHECK(volumes_remove(e.s, "free", false, &err) == 0);
    _cleanup_free_ char *fdir = store_path(e.s, "volumes/free");
    TAP_CHECK(!fs_exists(fdir));
    TAP_CHECK(volumes_remove(e.s, "free", false, &err) < 0);
    TAP_CHECK(err->errnum == ENOENT);
    berth_error_free(&err);
    TAP_CHECK(volumes_remove(e.s, "used", true, &err) == 0);
    TAP_CHECK(!fs_exists(data));
    vt_close(&e);
    return 0;
}

static int test_prune(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    _cleanup_free_ char *id = NULL;
    _cleanup_strv_ char **removed = NULL;
    _cleanup_json_ json_t *list = NULL;
    if (vt_open(&e) < 0)
        return -1;
    TAP_CHECK(volumes_create(e.s, "keep", NULL, NULL, false, NULL, &err) == 0);
    TAP_CHECK(volumes_create(e.s, "drop1", NULL, NULL, false, NULL, &err) ==
              0);
    TAP_CHECK(volumes_create(e.s, "drop2", NULL, NULL, false, NULL, &err) ==
              0);
    _cleanup_free_ char *data = volumes_data_path(e.s, "keep");
    TAP_CHECK(vt_container(e.s, "c1", data, &id) == 0);
    TAP_CHECK(volumes_prune(e.s, &removed, &err) == 0);
    TAP_CHECK(strv_len(removed) == 2);
    TAP_STREQ(removed[0], "drop1");
    TAP_STREQ(removed[1], "drop2");
    TAP_CHECK(volumes_list(e.s, &list, &err) == 0);
    TAP_CHECK(json_array_size(list) == 1);
    TAP_STREQ(json_get_str(json_array_get(list, 0), "name"), "keep");
    vt_close(&e);
    return 0;
}

static int test_resolver_and_rm_anonymous(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    _cleanup_free_ char *p1 = NULL, *p2 = NULL, *anon = NULL, *id = NULL;
    _cleanup_json_ json_t *rec = NULL, *list = NULL;
    if (vt_open(&e) < 0)
        return -1;
    TAP_CHECK(volumes_spec_resolve(e.s, "auto", &p1, &err) == 0);
    _cleanup_free_ char *want = volumes_data_path(e.s, "auto");
    TAP_STREQ(p1, want);
    TAP_CHECK(volumes_spec_resolve(e.s, "auto", &p2, &err) == 0);
    TAP_STREQ(p2, want);
    TAP_CHECK(volumes_get(e.s, "auto", &rec, &err) == 0);
    TAP_CHECK(json_is_false(json_object_get(rec, "anonymous")));
    TAP_CHECK(volumes_spec_resolve(e.s, NULL, &anon, &err) == 0);
    TAP_CHECK(str_has_suffix(anon, "/_data"));
    /* a container mounting both, deleted, then rm -v's cleanup */
    json_t *f = json_pack("{s:s, s:s, s:{s:[{s:s, s:s}, {s:s, s:s}]}}", "name",
                          "c1", "image", "", "options", "mounts",
                          "destination", "/a", "source", p1, "destination",
                          "/b", "source", anon);
    json_t *c = NULL;
    TAP_CHECK(containers_create(e.s, f, &c, &err) == 0);
    json_decref(f);
    TAP_CHECK(containers_delete(e.s, json_get_str(c, "id"), &err) == 0);
    TAP_CHECK(volumes_remove_anonymous_of(e.s, c, &err) == 0);
    json_decref(c);
    TAP_CHECK(volumes_list(e.s, &list, &err) == 0);
    TAP_CHECK(json_array_size(list) == 1);
    TAP_STREQ(json_get_str(json_array_get(list, 0), "name"), "auto");
    TAP_CHECK(!fs_exists(anon));
    vt_close(&e);
    return 0;
}

/* Layers (top first): top whites out etc/shadow (char 0:0) and
 * etc/old (.wh. file), makes etc/opq opaque, adds etc/new; bottom has
 * etc/passwd, etc/shadow, etc/old, etc/opq/gone, and a symlink
 * link -> /etc. */
static int vt_layers(const char *dir, char ***ret_diffs)
{
    char *top = xasprintf("%s/top", dir), *bot = xasprintf("%s/bot", dir);
    berth_error_t err = NULL;
    char **diffs = NULL;
    strv_push(&diffs, top);
    strv_push(&diffs, bot);
    *ret_diffs = diffs;
    _cleanup_free_ char *b_opq = xasprintf("%s/etc/opq", bot);
    _cleanup_free_ char *t_opq = xasprintf("%s/etc/opq", top);
    _cleanup_free_ char *b_wd = xasprintf("%s/wd/d", bot);
    if (fs_mkdir_p(b_opq, 0755, &err) < 0 ||
        fs_mkdir_p(t_opq, 0755, &err) < 0 || fs_mkdir_p(b_wd, 0755, &err) < 0)
        return berth_error_free(&err), -1;
    const char *files[][2] = {{"bot/etc/passwd", "root:x:0:0\n"},
                              {"bot/etc/shadow", "secret\n"},
                              {"bot/etc/old", "old\n"},
                              {"bot/etc/opq/gone", "gone\n"},
                              {"top/etc/new", "new\n"},
                              {"top/etc/.wh.old", ""},
                              {"top/etc/opq/.wh..wh..opq", ""},
                              {"top/etc/opq/kept", "kept\n"},
                              {"bot/wd/d/f", "f\n"},
                              {"top/.wh.wd", ""}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, files[i][0]);
        vt_write(p, files[i][1]);
    }
    _cleanup_free_ char *wh = xasprintf("%s/etc/shadow", top);
    if (mknod(wh, S_IFCHR | 0600, makedev(0, 0)) < 0)
        return errno == EPERM ? 77 : -1;
    _cleanup_free_ char *ln = xasprintf("%s/link", bot);
    _cleanup_free_ char *pw = xasprintf("%s/etc/passwd", bot);
    if (symlink("/etc", ln) < 0 || chown(pw, 123, 456) < 0 ||
        chmod(pw, 0640) < 0)
        return -1;
    return 0;
}

static int test_copy_merged(void)
{
    _cleanup_free_ char *dir = vt_tmpdir();
    _cleanup_strv_ char **diffs = NULL;
    berth_error_t err = NULL;
    TAP_CHECK(dir != NULL);
    int lr = vt_layers(dir, &diffs);
    if (lr != 0) {
        fs_rm_rf(dir, &err);
        return lr;
    }
    _cleanup_free_ char *dest = xasprintf("%s/dest", dir);
    TAP_CHECK(mkdir(dest, 0700) == 0);
    /* through the image's symlink /link -> /etc */
    TAP_CHECK(volumes_copy_merged(diffs, "/link/", dest, &err) == 0);
    _cleanup_free_ char *pw = xasprintf("%s/passwd", dest);
    _cleanup_free_ char *sh = xasprintf("%s/shadow", dest);
    _cleanup_free_ char *old = xasprintf("%s/old", dest);
    _cleanup_free_ char *nw = xasprintf("%s/new", dest);
    _cleanup_free_ char *gone = xasprintf("%s/opq/gone", dest);
    _cleanup_free_ char *kept = xasprintf("%s/opq/kept", dest);
    _cleanup_free_ char *wh = xasprintf("%s/opq/.wh..wh..opq", dest);
    TAP_CHECK(vt_file_is(pw, "root:x:0:0\n"));
    TAP_CHECK(vt_file_is(nw, "new\n"));
    TAP_CHECK(vt_file_is(kept, "kept\n"));
    TAP_CHECK(!fs_exists(sh) && !fs_exists(old) && !fs_exists(gone));
    TAP_CHECK(!fs_exists(wh));
    struct stat st;
    TAP_CHECK(stat(pw, &st) == 0);
    TAP_CHECK(st.st_uid == 123 && st.st_gid == 456 &&
              (st.st_mode & 07777) == 0640);
    /* the volume root takes the image directory's mode */
    TAP_CHECK(stat(dest, &st) == 0 && (st.st_mode & 07777) == 0755);
    /* a whited-out or missing path copies nothing */
    _cleanup_free_ char *d2 = xasprintf("%s/dest2", dir);
    TAP_CHECK(mkdir(d2, 0700) == 0);
    TAP_CHECK(volumes_copy_merged(diffs, "/etc/shadow", d2, &err) == 0);
    TAP_CHECK(volumes_copy_merged(diffs, "/nonexistent/x", d2, &err) == 0);
    TAP_CHECK(volumes_copy_merged(diffs, "/etc/old/x", d2, &err) == 0);
    TAP_CHECK(volumes_copy_merged(diffs, "/wd/d", d2, &err) == 0);
    TAP_CHECK(rmdir(d2) == 0); /* still empty */
    /* the opaque dir alone: only the top layer's content */
    TAP_CHECK(mkdir(d2, 0700) == 0);
    TAP_CHECK(volumes_copy_merged(diffs, "/etc/opq", d2, &err) == 0);
    _cleanup_free_ char *k2 = xasprintf("%s/kept", d2);
    _cleanup_free_ char *g2 = xasprintf("%s/gone", d2);
    TAP_CHECK(fs_exists(k2) && !fs_exists(g2));
    TAP_CHECK(fs_rm_rf(dir, &err) == 0);
    return 0;
}

static int test_seed_spec(void)
{
    struct vt_env e = {0};
    berth_error_t err = NULL;
    _cleanup_strv_ char **unused = NULL;
    _cleanup_free_ char *path = NULL;
    _cleanup_json_ json_t *rec = NULL;
    if (vt_open(&e) < 0)
        return -1;
    /* an image of one layer with /etc/hostname */
    const char *chain = "sha256:1111111111111111111111111111111111111111111111"
                        "111111111111111111";
    _cleanup_free_ char *diff = store_layer_diff(e.s, chain);
    _cleanup_free_ char *etc = xasprintf("%s/etc", diff);
    TAP_CHECK(fs_mkdir_p(etc, 0755, &err) == 0);
    _cleanup_free_ char *hn = xasprintf("%s/hostname", etc);
    vt_write(hn, "image\n");
    _cleanup_json_ json_t *image = json_pack("{s:s, s:[{s:s}]}", "id", "img",
                                             "layers", "chain_id", chain);
    TAP_CHECK(volumes_spec_resolve(e.s, "seeded", &path, &err) == 0);
    _cleanup_json_ json_t *spec = json_pack(
        "{s:[{s:s, s:s}, {s:s, s:s}]}", "mounts", "destination", "/etc",
        "source", path, "destination", "/proc", "source", "proc");
    TAP_CHECK(volumes_seed_spec(e.s, spec, image, &err) == 0);
    _cleanup_free_ char *copied = xasprintf("%s/hostname", path);
    TAP_CHECK(vt_file_is(copied, "image\n"));
    TAP_CHECK(volumes_get(e.s, "seeded", &rec, &err) == 0);
    TAP_CHECK(json_is_false(json_object_get(rec, "needs_copy")));
    /* seeded once: a later mount does not copy again */
    TAP_CHECK(unlink(copied) == 0);
    TAP_CHECK(volumes_seed_spec(e.s, spec, image, &err) == 0);
    TAP_CHECK(!fs_exists(copied));
    /* volumes_for_image: user mounts win over the image's VOLUMEs */
    _cleanup_json_ json_t *cfg = json_pack(
        "{s:{s:{s:{}, s:{}, s:{}}}}", "config", "Volumes", "/data", "/logs/",
        "/cache");
    char *vols[] = {"x:/data", NULL}, *tmpfs[] = {"/cache", NULL};
    TAP_CHECK(volumes_for_image(cfg, vols, NULL, tmpfs, &unused, &err) == 0);
    TAP_CHECK(strv_len(unused) == 1);
    TAP_STREQ(unused[0], "/logs");
    vt_close(&e);
    return 0;
}

TAP_MAIN({"create, get, name clash, bad names", test_create_clash},
         {"list sorted; a dead creator's debris is reclaimed",
          test_list_and_debris},
         {"anonymous volumes get random 64-hex names", test_anonymous},
         {"remove refuses a volume in use unless forced", test_remove_in_use},
         {"prune removes only unused volumes", test_prune},
         {"resolver creates on first use; rm -v drops anonymous ones",
          test_resolver_and_rm_anonymous},
         {"merged copy honours whiteouts, opaque dirs, symlinks, owners",
          test_copy_merged},
         {"seeding a new volume from the image once; image VOLUMEs",
          test_seed_spec})
