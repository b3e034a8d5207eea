#define _GNU_SOURCE
#include "storage/pods.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/store.h"
#include "tests/unit/tap.h"

/* A store under $TMPDIR, removed by fx_close. */
struct fx {
    char *dir;
    struct store *s;
};

static void fx_open(struct fx *f)
{
    const char *t = getenv("TMPDIR");
    f->dir = xasprintf("%s/berth-pods-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(f->dir) == NULL)
        abort();
    _cleanup_free_ char *root = xasprintf("%s/root", f->dir);
    _cleanup_free_ char *run = xasprintf("%s/run", f->dir);
    struct store_opts o = {.root = root, .runroot = run, .driver = "vfs"};
    berth_error_t e = NULL;
    if (store_open(&o, &f->s, &e) < 0) {
        fprintf(stderr, "# store_open: %s\n", e->msg);
        abort();
    }
}

static void fx_close(struct fx *f)
{
    berth_error_t e = NULL;
    store_free(f->s);
    fs_rm_rf(f->dir, &e);
    berth_error_free(&e);
    free(f->dir);
}

static json_t *pod_new(struct store *s, const char *name, berth_error_t *err)
{
    _cleanup_json_ json_t *f = json_object();
    json_t *rec = NULL;
    if (name)
        json_object_set_new(f, "name", json_string(name));
    if (pods_create(s, f, &rec, err) < 0)
        return NULL;
    return rec;
}

static char *link_target(struct store *s, const char *name)
{
    _cleanup_free_ char *p = store_path(s, "pod-names/%s", name);
    char buf[128];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return xstrdup(buf);
}

static int count_prefixed(const char *dir, const char *prefix)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL)
        n += str_has_prefix(de->d_name, prefix);
    return n;
}

static bool is_random_name(const char *n)
{
    const char *us = strchr(n, '_');
    if (us == NULL || us == n || us[1] == '\0' || strchr(us + 1, '_'))
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    return true;
}

static int test_create_named(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *fields = json_pack(
        "{s:s,s:[s,s],s:{s:s},s:s,s:s}", "name", "web", "share", "net", "ipc",
        "labels", "app", "x", "network", "slirp4netns", "extra", "kept");
    _cleanup_json_ json_t *rec = NULL, *disk = NULL;
    TAP_CHECK(pods_create(f.s, fields, &rec, &e) == 0);
    const char *id = json_get_str(rec, "id");
    TAP_CHECK(id && strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64);
    TAP_STREQ(json_get_str(rec, "name"), "web");
    TAP_CHECK(json_get_str(rec, "created") != NULL);
    TAP_STREQ(json_get_str(rec, "infra_id"), "");
    TAP_STREQ(json_get_str(rec, "hostname"), "");
    TAP_STREQ(json_get_str(rec, "network"), "slirp4netns");
    TAP_STREQ(json_get_str(rec, "extra"), "kept");
    TAP_CHECK(json_equal(json_object_get(rec, "share"),
                         json_object_get(fields, "share")));
    TAP_CHECK(json_equal(json_object_get(rec, "labels"),
                         json_object_get(fields, "labels")));
    TAP_CHECK(json_is_array(json_object_get(rec, "ports")) &&
              json_array_size(json_object_get(rec, "ports")) == 0);
    /* the caller's object is copied, not changed */
    TAP_CHECK(json_object_get(fields, "id") == NULL);
    _cleanup_free_ char *path = store_path(f.s, "pods/%s.json", id);
    TAP_CHECK((disk = json_load_path(path, &e)) != NULL);
    TAP_CHECK(json_equal(disk, rec));
    _cleanup_free_ char *target = link_target(f.s, "web");
    TAP_STREQ(target, id);
    fx_close(&f);
    return 0;
}

static int test_create_unnamed(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = pod_new(f.s, NULL, &e);
    _cleanup_json_ json_t *b = pod_new(f.s, "", &e);
    _cleanup_json_ json_t *c = NULL;
    TAP_CHECK(a && b);
    TAP_CHECK(pods_create(f.s, NULL, &c, &e) == 0);
    json_t *recs[] = {a, b, c};
    for (size_t i = 0; i < 3; i++) {
        const char *name = json_get_str(recs[i], "name");
        TAP_CHECK(name && is_random_name(name));
        _cleanup_free_ char *target = link_target(f.s, name);
        TAP_STREQ(target, json_get_str(recs[i], "id"));
        TAP_STREQ(json_get_str(recs[i], "hostname"), "");
        TAP_CHECK(json_is_array(json_object_get(recs[i], "share")));
        TAP_CHECK(json_is_object(json_object_get(recs[i], "labels")));
    }
    fx_close(&f);
    return 0;
}

static int test_name_taken(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = pod_new(f.s, "x", &e);
    TAP_CHECK(a != NULL);
    json_t *b = pod_new(f.s, "x", &e);
    TAP_CHECK(b == NULL && e != NULL);
    TAP_CHECK(e->errnum == EEXIST);
    TAP_STREQ(e->msg, "error adding pod to state: name \"x\" is in use: pod "
                      "already exists");
    berth_error_free(&e);
    /* the loser left no record behind, and the name is still a's */
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(pods_list(f.s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 1);
    _cleanup_free_ char *target = link_target(f.s, "x");
    TAP_STREQ(target, json_get_str(a, "id"));
    /* nor a lock file */
    _cleanup_free_ char *locks = store_path(f.s, "locks");
    TAP_CHECK(count_prefixed(locks, "pod-") == 1);
    fx_close(&f);
    return 0;
}

static int test_invalid_name(void)
{
    struct fx f;
    fx_open(&f);
    const char *bad[] = {"../evil", "-x", "_x", "a b", "a/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        berth_error_t e = NULL;
        TAP_CHECK(pod_new(f.s, bad[i], &e) == NULL && e != NULL);
        TAP_CHECK(e->errnum == EINVAL);
        _cleanup_free_ char *want = xasprintf(
            "invalid pod name \"%s\": names must match "
            "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
            bad[i]);
        TAP_STREQ(e->msg, want);
        berth_error_free(&e);
    }
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(pods_list(f.s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 0);
    /* podman's rule allows these */
    _cleanup_json_ json_t *ok = pod_new(f.s, "A1.b_c-d", &e);
    TAP_CHECK(ok != NULL);
    fx_close(&f);
    return 0;
}

static int test_lookup(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = pod_new(f.s, "alpha", &e);
    _cleanup_json_ json_t *b = pod_new(f.s, NULL, &e);
    _cleanup_json_ json_t *r = NULL;
    TAP_CHECK(a && b);
    const char *ida = json_get_str(a, "id");
    TAP_CHECK(pods_lookup(f.s, "alpha", &r, &e) == 0);
    TAP_CHECK(json_equal(r, a));
    json_decref(r);
    TAP_CHECK(pods_lookup(f.s, ida, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "name"), "alpha");
    json_decref(r);
    _cleanup_free_ char *pre = xstrndup(ida, 12);
    TAP_CHECK(pods_lookup(f.s, pre, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), ida);
    json_decref(r);
    TAP_CHECK(pods_lookup(f.s, json_get_str(b, "name"), &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), json_get_str(b, "id"));
    json_decref(r);
    r = NULL;
    const char *missing[] = {"nope", "", "../x", "ffff0000ffff0000"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        TAP_CHECK(pods_lookup(f.s, missing[i], &r, &e) < 0 && r == NULL);
        TAP_CHECK(e->errnum == ENOENT);
        _cleanup_free_ char *want = xasprintf(
            "no pod with name or ID %s found: no such pod", missing[i]);
        TAP_STREQ(e->msg, want);
        berth_error_free(&e);
    }
    fx_close(&f);
    return 0;
}

/* 17 pods: two of them share the first hex digit (pigeonhole), and that
 * digit is an ambiguous prefix, never a random pick. */
static int test_ambiguous_prefix(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    int seen[16] = {0};
    char dup = 0;
    for (int i = 0; i < 17; i++) {
        _cleanup_json_ json_t *p = pod_new(f.s, NULL, &e);
        TAP_CHECK(p != NULL);
        char c = json_get_str(p, "id")[0];
        int k = c <= '9' ? c - '0' : c - 'a' + 10;
        if (seen[k]++ && !dup)
            dup = c;
    }
    TAP_CHECK(dup != 0);
    char pre[2] = {dup, '\0'};
    json_t *r = NULL;
    TAP_CHECK(pods_lookup(f.s, pre, &r, &e) < 0 && r == NULL);
    _cleanup_free_ char *want = xasprintf(
        "more than one result for pod ID %s: pod ID prefix is ambiguous", pre);
    TAP_STREQ(e->msg, want);
    berth_error_free(&e);
    fx_close(&f);
    return 0;
}

static int set_created(json_t *rec, void *arg, berth_error_t *err)
{
    (void)err;
    json_object_set_new(rec, "created", json_string(arg));
    return 0;
}

static int test_list(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = NULL;
    /* no pods directory yet */
    TAP_CHECK(pods_list(f.s, &all, &e) == 0 && json_array_size(all) == 0);
    json_decref(all);
    _cleanup_json_ json_t *a = pod_new(f.s, "a", &e);
    _cleanup_json_ json_t *b = pod_new(f.s, "b", &e);
    _cleanup_json_ json_t *c = pod_new(f.s, "c", &e);
    TAP_CHECK(a && b && c);
    /* torn and stray files are skipped */
    const char *torn_id = "abababababababababababababababababababababababababab"
                          "abababababab";
    _cleanup_free_ char *torn = store_path(f.s, "pods/%s.json", torn_id);
    _cleanup_free_ char *x = store_path(f.s, "pods/X.json");
    _cleanup_free_ char *other = store_path(f.s, "pods/%s.json",
                                            "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                                            "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
    TAP_CHECK(fs_write_file_atomic(torn, "{\"id\": \"abab", 12, 0644, &e) == 0);
    TAP_CHECK(fs_write_file_atomic(x, "garbage", 7, 0644, &e) == 0);
    /* parses, but is not the record its file name says */
    TAP_CHECK(fs_write_file_atomic(other, "[]", 2, 0644, &e) == 0);
    TAP_CHECK(pods_list(f.s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 3);
    TAP_STREQ(json_get_str(json_array_get(all, 0), "name"), "c");
    TAP_STREQ(json_get_str(json_array_get(all, 1), "name"), "b");
    TAP_STREQ(json_get_str(json_array_get(all, 2), "name"), "a");
    json_decref(all);
    /* ordered by "created", not by creation order; Go trims the fraction */
    TAP_CHECK(pods_update(f.s, json_get_str(b, "id"), set_created,
                          "2099-01-01T00:00:00.5Z", NULL, &e) == 0);
    TAP_CHECK(pods_update(f.s, json_get_str(a, "id"), set_created,
                          "2099-01-01T00:00:00.45Z", NULL, &e) == 0);
    TAP_CHECK(pods_list(f.s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 3);
    TAP_STREQ(json_get_str(json_array_get(all, 0), "name"), "b");
    TAP_STREQ(json_get_str(json_array_get(all, 1), "name"), "a");
    TAP_STREQ(json_get_str(json_array_get(all, 2), "name"), "c");
    fx_close(&f);
    return 0;
}

static int set_infra(json_t *rec, void *arg, berth_error_t *err)
{
    if (arg == NULL)
        return berth_error_new(err, 0, "refused");
    json_object_set_new(rec, "infra_id", json_string(arg));
    return 0;
}

static int set_id(json_t *rec, void *arg, berth_error_t *err)
{
    (void)arg, (void)err;
    json_object_set_new(rec, "id", json_string("beef"));
    return 0;
}

static int test_update(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = pod_new(f.s, "upd", &e);
    _cleanup_json_ json_t *r = NULL, *got = NULL;
    TAP_CHECK(a != NULL);
    const char *id = json_get_str(a, "id");
    TAP_CHECK(pods_update(f.s, id, set_infra, "cafe", &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "infra_id"), "cafe");
    TAP_CHECK(pods_lookup(f.s, "upd", &got, &e) == 0);
    TAP_CHECK(json_equal(got, r));
    json_decref(got);
    /* fn's error is returned and nothing is written */
    TAP_CHECK(pods_update(f.s, id, set_infra, NULL, NULL, &e) < 0);
    TAP_STREQ(e->msg, "refused");
    berth_error_free(&e);
    TAP_CHECK(pods_lookup(f.s, id, &got, &e) == 0);
    TAP_STREQ(json_get_str(got, "infra_id"), "cafe");
    /* the id stays the file's */
    TAP_CHECK(pods_update(f.s, id, set_id, NULL, NULL, &e) == 0);
    json_decref(got);
    TAP_CHECK(pods_lookup(f.s, "upd", &got, &e) == 0);
    TAP_STREQ(json_get_str(got, "id"), id);
    /* a missing pod */
    const char *none = "0000000000000000000000000000000000000000000000000000"
                       "000000000000";
    TAP_CHECK(pods_update(f.s, none, set_infra, "x", NULL, &e) < 0);
    TAP_CHECK(e->errnum == ENOENT);
    berth_error_free(&e);
    TAP_CHECK(pods_update(f.s, "../../x", set_infra, "x", NULL, &e) < 0);
    TAP_CHECK(e->errnum == ENOENT);
    berth_error_free(&e);
    _cleanup_free_ char *lock = store_path(f.s, "locks/pod-%s.lock", none);
    TAP_CHECK(!fs_exists(lock));
    fx_close(&f);
    return 0;
}

static int test_delete(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = pod_new(f.s, "del", &e);
    _cleanup_json_ json_t *keep = pod_new(f.s, "keep", &e);
    TAP_CHECK(a && keep);
    _cleanup_free_ char *id = xstrdup(json_get_str(a, "id"));
    _cleanup_free_ char *path = store_path(f.s, "pods/%s.json", id);
    TAP_CHECK(pods_delete(f.s, id, &e) == 0);
    TAP_CHECK(!fs_exists(path));
    _cleanup_free_ char *target = link_target(f.s, "del");
    TAP_CHECK(target == NULL);
    json_t *r = NULL;
    TAP_CHECK(pods_lookup(f.s, "del", &r, &e) < 0 && e->errnum == ENOENT);
    berth_error_free(&e);
    TAP_CHECK(pods_delete(f.s, id, &e) < 0 && e->errnum == ENOENT);
    _cleanup_free_ char *want =
        xasprintf("no pod with name or ID %s found: no such pod", id);
    TAP_STREQ(e->msg, want);
    berth_error_free(&e);
    /* the other pod is untouched, and the name is free again */
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(pods_list(f.s, &all, &e) == 0 && json_array_size(all) == 1);
    TAP_STREQ(json_get_str(json_array_get(all, 0), "name"), "keep");
    _cleanup_json_ json_t *b = pod_new(f.s, "del", &e);
    TAP_CHECK(b != NULL);
    TAP_CHECK(strcmp(json_get_str(b, "id"), id) != 0);
    free(target);
    target = link_target(f.s, "del");
    TAP_STREQ(target, json_get_str(b, "id"));
    fx_close(&f);
    return 0;
}

/* A claim whose record is gone (its creator died before writing it, or a
 * delete stopped half way) is reclaimed; one whose creator still holds the
 * pod's lock is not. */
static int test_stale_name(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    const char *dead = "1111111111111111111111111111111111111111111111111111"
                       "111111111111";
    _cleanup_free_ char *names = store_path(f.s, "pod-names");
    _cleanup_free_ char *ghost = store_path(f.s, "pod-names/ghost");
    _cleanup_free_ char *orphan = store_path(f.s, "pod-names/orphan");
    _cleanup_free_ char *busy = store_path(f.s, "pod-names/busy");
    TAP_CHECK(fs_mkdir_p(names, 0700, &e) == 0);
    TAP_CHECK(symlink(dead, ghost) == 0);
    TAP_CHECK(symlink("2222", orphan) == 0);
    TAP_CHECK(symlink(dead, busy) == 0);
    json_t *r = NULL;
    TAP_CHECK(pods_lookup(f.s, "ghost", &r, &e) < 0 && e->errnum == ENOENT);
    berth_error_free(&e);
    _cleanup_json_ json_t *a = pod_new(f.s, "ghost", &e);
    _cleanup_json_ json_t *b = pod_new(f.s, "orphan", &e);
    TAP_CHECK(a && b);
    _cleanup_free_ char *ta = link_target(f.s, "ghost");
    _cleanup_free_ char *tb = link_target(f.s, "orphan");
    TAP_STREQ(ta, json_get_str(a, "id"));
    TAP_STREQ(tb, json_get_str(b, "id"));
    /* a creator holding the lock is mid-create: the name is in use */
    _cleanup_close_ int lk = -1;
    _cleanup_free_ char *lname = xasprintf("pod-%s", dead);
    TAP_CHECK(store_lock(f.s, lname, &lk, &e) == 0);
    TAP_CHECK(pod_new(f.s, "busy", &e) == NULL && e->errnum == EEXIST);
    berth_error_free(&e);
    close(TAKE_FD(lk));
    _cleanup_json_ json_t *c = pod_new(f.s, "busy", &e);
    TAP_CHECK(c != NULL);
    fx_close(&f);
    return 0;
}

/* Processes race for one name: exactly one wins, the others get EEXIST. */
static int test_concurrent_name(void)
{
    struct fx f;
    fx_open(&f);
    enum { N = 8 };
    pid_t pids[N];
    int wins = 0, clashes = 0;

    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            berth_error_t e = NULL;
            json_t *r = pod_new(f.s, "race", &e);
            _exit(r ? 0 : (e->errnum == EEXIST ? 3 : 4));
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
    TAP_CHECK(pods_list(f.s, &all, &e) == 0);
    fx_close(&f);
    TAP_CHECK(wins == 1);
    TAP_CHECK(clashes == N - 1);
    TAP_CHECK(json_array_size(all) == 1);
    return 0;
}

TAP_MAIN({"create with a name", test_create_named},
         {"create without a name", test_create_unnamed},
         {"name taken", test_name_taken},
         {"invalid names", test_invalid_name},
         {"lookup by name, id, prefix; missing", test_lookup},
         {"ambiguous prefix", test_ambiguous_prefix},
         {"list newest first, skipping torn files", test_list},
         {"update", test_update},
         {"delete frees the name", test_delete},
         {"stale name claims are reclaimed", test_stale_name},
         {"concurrent creates with one name", test_concurrent_name})
