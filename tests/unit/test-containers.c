#define _GNU_SOURCE
#include "storage/containers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"
#include "tests/unit/tap.h"

static char *ctr_scratch(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/berth-ctr-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static void ctr_scratch_free(char *d)
{
    berth_error_t e = NULL;
    fs_rm_rf(d, &e);
    berth_error_free(&e);
    free(d);
}

static struct store *ctr_store(const char *dir)
{
    _cleanup_free_ char *root = xasprintf("%s/root", dir);
    _cleanup_free_ char *run = xasprintf("%s/run", dir);
    struct store_opts o = {.root = root, .runroot = run, .driver = "vfs"};
    struct store *s = NULL;
    berth_error_t e = NULL;
    if (store_open(&o, &s, &e) < 0) {
        fprintf(stderr, "# store_open: %s\n", e->msg);
        abort();
    }
    return s;
}

static json_t *ctr_new(struct store *s, const char *name, berth_error_t *err)
{
    _cleanup_json_ json_t *f =
        json_pack("{s:[s,s],s:{s:b}}", "command", "sh", "-c", "options",
                  "rm", 1);
    json_t *rec = NULL;
    if (name)
        json_object_set_new(f, "name", json_string(name));
    if (containers_create(s, f, &rec, err) < 0)
        return NULL;
    return rec;
}

static int test_create_and_get(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *rec = ctr_new(s, "web", &e);
    _cleanup_json_ json_t *got = NULL;
    _cleanup_free_ char *ud = NULL, *np = NULL;
    int r = -1;

    if (rec == NULL) {
        fprintf(stderr, "# %s\n", e->msg);
        goto out;
    }
    const char *id = json_get_str(rec, "id");
    TAP_CHECK(id && strlen(id) == 64);
    TAP_STREQ(json_get_str(rec, "name"), "web");
    TAP_STREQ(json_get_str(json_object_get(rec, "state"), "status"),
              "created");
    TAP_CHECK(json_get_str(rec, "created") != NULL);
    TAP_CHECK(json_is_true(json_object_get(json_object_get(rec, "options"),
                                           "rm")));
    TAP_CHECK(containers_get(s, id, &got, &e) == 0);
    TAP_CHECK(json_equal(rec, got));
    ud = containers_path(s, id, "userdata");
    struct stat st;
    TAP_CHECK(stat(ud, &st) == 0 && S_ISDIR(st.st_mode));
    np = store_path(s, "names/web");
    char buf[80];
    ssize_t n = readlink(np, buf, sizeof buf - 1);
    TAP_CHECK(n == 64);
    buf[n] = '\0';
    TAP_STREQ(buf, id);
    r = 0;
out:
    berth_error_free(&e);
    store_free(s);
    ctr_scratch_free(dir);
    return r;
}

static int test_name_clash(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = ctr_new(s, "x", &e);
    TAP_CHECK(a != NULL);
    json_t *b = ctr_new(s, "x", &e);
    TAP_CHECK(b == NULL && e != NULL);
    TAP_CHECK(e->errnum == EEXIST);
    _cleanup_free_ char *want = xasprintf(
        "the container name \"x\" is already in use by %s. You have to "
        "remove that container to be able to reuse that name: that name is "
        "already in use",
        json_get_str(a, "id"));
    TAP_STREQ(e->msg, want);
    berth_error_free(&e);
    /* the loser left nothing behind */
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(containers_list(s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 1);
    b = ctr_new(s, "../evil", &e);
    TAP_CHECK(b == NULL && e->errnum == EINVAL);
    berth_error_free(&e);
    store_free(s);
    ctr_scratch_free(dir);
    return 0;
}

/* Processes race for one name: exactly one wins, the others get EEXIST. */
static int test_concurrent_name(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    enum { N = 8 };
    pid_t pids[N];
    int wins = 0, clashes = 0;

    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            berth_error_t e = NULL;
            json_t *r = ctr_new(s, "race", &e);
            int code = r ? 0 : (e->errnum == EEXIST ? 3 : 4);
            _exit(code);
        }
    }
    for (int i = 0; i < N; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            wins++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
            clashes++;
    }
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(containers_list(s, &all, &e) == 0);
    store_free(s);
    ctr_scratch_free(dir);
    TAP_CHECK(wins == 1);
    TAP_CHECK(clashes == N - 1);
    TAP_CHECK(json_array_size(all) == 1);
    return 0;
}

static int test_lookup(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = ctr_new(s, "alpha", &e);
    _cleanup_json_ json_t *b = ctr_new(s, NULL, &e);
    _cleanup_json_ json_t *r = NULL;
    TAP_CHECK(a && b);
    const char *ida = json_get_str(a, "id");
    TAP_CHECK(containers_lookup(s, "alpha", &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), ida);
    json_decref(r);
    TAP_CHECK(containers_lookup(s, ida, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "name"), "alpha");
    json_decref(r);
    _cleanup_free_ char *pre = xstrndup(ida, 12);
    TAP_CHECK(containers_lookup(s, pre, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), ida);
    json_decref(r);
    r = NULL;
    TAP_CHECK(containers_lookup(s, json_get_str(b, "name"), &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), json_get_str(b, "id"));
    TAP_CHECK(containers_lookup(s, "nope", &r, &e) < 0);
    TAP_STREQ(e->msg, "no container with name or ID \"nope\" found: no such "
                      "container");
    TAP_CHECK(e->errnum == ENOENT);
    berth_error_free(&e);
    /* the empty prefix matches both: ambiguous, never a random pick */
    TAP_CHECK(containers_lookup(s, "", &r, &e) < 0);
    berth_error_free(&e);
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(containers_list(s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 2);
    /* newest first */
    TAP_STREQ(json_get_str(json_array_get(all, 0), "id"),
              json_get_str(b, "id"));
    store_free(s);
    ctr_scratch_free(dir);
    return 0;
}

static int test_update_delete(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = ctr_new(s, "upd", &e);
    _cleanup_json_ json_t *r = NULL;
    TAP_CHECK(a != NULL);
    const char *id = json_get_str(a, "id");
    struct container_state st = {.status = "exited", .pid = 0, .exit_code = 3,
                                 .finished_at = "2024-01-01T00:00:00Z"};
    TAP_CHECK(containers_set_state(s, id, &st, &e) == 0);
    TAP_CHECK(containers_get(s, id, &r, &e) == 0);
    json_t *state = json_object_get(r, "state");
    TAP_STREQ(json_get_str(state, "status"), "exited");
    TAP_CHECK(json_get_int(state, "exitCode", -1) == 3);
    TAP_STREQ(json_get_str(state, "finishedAt"), "2024-01-01T00:00:00Z");
    TAP_STREQ(json_get_str(state, "startedAt"), "");
    /* runtime dir goes with the record */
    _cleanup_free_ char *run = containers_run_path(s, id);
    TAP_CHECK(fs_mkdir_p(run, 0700, &e) == 0);
    TAP_CHECK(containers_delete(s, id, &e) == 0);
    TAP_CHECK(!fs_exists(run));
    _cleanup_free_ char *cdir = containers_path(s, id, NULL);
    TAP_CHECK(!fs_exists(cdir));
    json_decref(r);
    r = NULL;
    TAP_CHECK(containers_get(s, id, &r, &e) < 0 && e->errnum == ENOENT);
    berth_error_free(&e);
    TAP_CHECK(containers_set_state(s, id, &st, &e) < 0);
    berth_error_free(&e);
    /* the name is free again */
    _cleanup_json_ json_t *b = ctr_new(s, "upd", &e);
    TAP_CHECK(b != NULL);
    store_free(s);
    ctr_scratch_free(dir);
    return 0;
}

/* A creator killed after claiming its name leaves a directory without a
 * record: the name is reclaimed, not "in use" forever. */
static int test_stale_name(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    berth_error_t e = NULL;
    const char *dead = "1111111111111111111111111111111111111111111111111111"
                       "111111111111";
    _cleanup_free_ char *names = store_path(s, "names");
    _cleanup_free_ char *np = store_path(s, "names/ghost");
    _cleanup_free_ char *cdir = containers_path(s, dead, NULL);
    TAP_CHECK(fs_mkdir_p(names, 0700, &e) == 0);
    TAP_CHECK(fs_mkdir_p(cdir, 0700, &e) == 0);
    TAP_CHECK(symlink(dead, np) == 0);
    _cleanup_json_ json_t *a = ctr_new(s, "ghost", &e);
    TAP_CHECK(a != NULL);
    /* a name pointing at no directory at all is stale too */
    _cleanup_free_ char *np2 = store_path(s, "names/orphan");
    TAP_CHECK(symlink("2222", np2) == 0);
    _cleanup_json_ json_t *b = ctr_new(s, "orphan", &e);
    TAP_CHECK(b != NULL);
    store_free(s);
    ctr_scratch_free(dir);
    return 0;
}

static int test_random_names(void)
{
    for (int i = 0; i < 50; i++) {
        _cleanup_free_ char *n = containers_random_name();
        char *us = strchr(n, '_');
        TAP_CHECK(us != NULL && us != n && us[1] != '\0');
        TAP_CHECK(strchr(us + 1, '_') == NULL);
        for (char *p = n; *p; p++)
            TAP_CHECK((*p >= 'a' && *p <= 'z') || *p == '_');
    }
    return 0;
}

static int test_using_image(void)
{
    char *dir = ctr_scratch();
    struct store *s = ctr_store(dir);
    berth_error_t e = NULL;
    const char *img = "abababababababababababababababababababababababababab"
                      "abababababab";
    _cleanup_json_ json_t *irec = json_pack(
        "{s:s,s:[s],s:[],s:[{s:s},{s:s}]}", "id", img, "names",
        "localhost/x:latest", "digests", "layers", "chain_id", "sha256:aa",
        "chain_id", "sha256:bb");
    TAP_CHECK(images_put(s, irec, &e) == 0);
    _cleanup_json_ json_t *f = json_pack("{s:s,s:s}", "image", img,
                                         "image_name", "x");
    _cleanup_json_ json_t *c1 = NULL, *c2 = NULL;
    TAP_CHECK(containers_create(s, f, &c1, &e) == 0);
    _cleanup_json_ json_t *layers = json_pack("[s,s]", "sha256:aa",
                                              "sha256:bb");
    TAP_CHECK(json_equal(json_object_get(c1, "layers"), layers));
    c2 = ctr_new(s, "other", &e);
    TAP_CHECK(c2 != NULL);
    _cleanup_strv_ char **ids = NULL;
    TAP_CHECK(containers_using_image(s, img, &ids, &e) == 0);
    TAP_CHECK(strv_len(ids) == 1);
    TAP_STREQ(ids[0], json_get_str(c1, "id"));
    /* its layers outlive the image record while the container exists */
    _cleanup_free_ char *ldir = store_path(s, "layers/aa/diff");
    _cleanup_free_ char *ldir2 = store_path(s, "layers/zz/diff");
    TAP_CHECK(fs_mkdir_p(ldir, 0755, &e) == 0 && fs_mkdir_p(ldir2, 0755, &e) == 0);
    TAP_CHECK(images_delete(s, img, &e) == 0);
    TAP_CHECK(store_gc(s, NULL, &e) == 0);
    TAP_CHECK(fs_exists(ldir) && !fs_exists(ldir2));
    TAP_CHECK(containers_delete(s, json_get_str(c1, "id"), &e) == 0);
    TAP_CHECK(store_gc(s, NULL, &e) == 0);
    TAP_CHECK(!fs_exists(ldir));
    /* an unknown image is an error, not a container without layers */
    _cleanup_json_ json_t *bad = json_pack("{s:s}", "image", "cdcd");
    json_t *c3 = NULL;
    TAP_CHECK(containers_create(s, bad, &c3, &e) < 0);
    berth_error_free(&e);
    store_free(s);
    ctr_scratch_free(dir);
    return 0;
}

TAP_MAIN({"create and get", test_create_and_get},
         {"name clash", test_name_clash},
         {"concurrent creates with one name", test_concurrent_name},
         {"lookup by id, prefix, name", test_lookup},
         {"update state, delete frees the name", test_update_delete},
         {"stale names are reclaimed", test_stale_name},
         {"random names", test_random_names},
         {"containers using an image", test_using_image})
