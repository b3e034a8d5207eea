#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/store.h"
#include "tests/unit/tap.h"

static char *rn_scratch(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/berth-rename-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static struct store *rn_store(const char *dir)
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

static char *rn_new(struct store *s, const char *name)
{
    _cleanup_json_ json_t *f = json_pack("{s:s}", "name", name);
    _cleanup_json_ json_t *rec = NULL;
    berth_error_t e = NULL;
    if (containers_create(s, f, &rec, &e) < 0) {
        fprintf(stderr, "# create %s: %s\n", name, e->msg);
        berth_error_free(&e);
        return NULL;
    }
    return xstrdup(json_get_str(rec, "id"));
}

static char *rn_holder(struct store *s, const char *name)
{
    _cleanup_free_ char *p = store_path(s, "names/%s", name);
    char buf[128];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return xstrdup(buf);
}

static void rn_done(struct store *s, char *dir)
{
    berth_error_t e = NULL;
    store_free(s);
    fs_rm_rf(dir, &e);
    berth_error_free(&e);
    free(dir);
}

static int test_rename_frees_old_body(struct store *s, berth_error_t *err)
{
    _cleanup_free_ char *id = rn_new(s, "old");
    _cleanup_free_ char *other = NULL, *h = NULL, *gone = NULL;
    _cleanup_json_ json_t *rec = NULL;

    TAP_CHECK(id != NULL);
    TAP_CHECK(containers_rename(s, id, "new", err) == 0);
    TAP_CHECK(containers_lookup(s, "new", &rec, err) == 0);
    TAP_STREQ(json_get_str(rec, "id"), id);
    TAP_STREQ(json_get_str(rec, "name"), "new");
    h = rn_holder(s, "new");
    TAP_STREQ(h, id);
    gone = rn_holder(s, "old");
    TAP_CHECK(gone == NULL);
    /* the old name can be taken again */
    other = rn_new(s, "old");
    TAP_CHECK(other != NULL && strcmp(other, id) != 0);
    /* renaming to the current name changes nothing */
    TAP_CHECK(containers_rename(s, id, "new", err) == 0);
    return 0;
}

static int test_rename_clash_body(struct store *s, berth_error_t *err)
{
    _cleanup_free_ char *a = rn_new(s, "a"), *b = rn_new(s, "b");
    _cleanup_free_ char *ha = NULL, *hb = NULL;
    _cleanup_json_ json_t *rec = NULL;

    TAP_CHECK(a && b);
    TAP_CHECK(containers_rename(s, a, "b", err) < 0);
    TAP_CHECK((*err)->errnum == EEXIST);
    TAP_CHECK(strstr((*err)->msg,
                     "the container name \"b\" is already in use") != NULL);
    berth_error_free(err);
    TAP_CHECK(containers_rename(s, a, "bad name", err) < 0);
    TAP_CHECK((*err)->errnum == EINVAL);
    berth_error_free(err);
    /* nothing changed */
    ha = rn_holder(s, "a");
    hb = rn_holder(s, "b");
    TAP_STREQ(ha, a);
    TAP_STREQ(hb, b);
    TAP_CHECK(containers_get(s, a, &rec, err) == 0);
    TAP_STREQ(json_get_str(rec, "name"), "a");
    return 0;
}

static int test_rename_stale_name_body(struct store *s, berth_error_t *err)
{
    _cleanup_free_ char *a = rn_new(s, "a");
    _cleanup_free_ char *p = store_path(s, "names/taken");
    _cleanup_free_ char *h = NULL;

    TAP_CHECK(a != NULL);
    /* a name left by a container whose directory is gone */
    TAP_CHECK(symlink("0123456789abcdef0123456789abcdef0123456789abcdef"
                      "0123456789abcdef", p) == 0);
    TAP_CHECK(containers_rename(s, a, "taken", err) == 0);
    h = rn_holder(s, "taken");
    TAP_STREQ(h, a);
    return 0;
}

/* A fresh store for body; the error it leaves behind is freed here. */
static int rn_with_store(int (*body)(struct store *, berth_error_t *))
{
    char *dir = rn_scratch();
    struct store *s = rn_store(dir);
    berth_error_t e = NULL;
    int r = body(s, &e);
    if (r != 0 && e)
        fprintf(stderr, "# %s\n", e->msg);
    berth_error_free(&e);
    rn_done(s, dir);
    return r;
}

static int test_rename_frees_old(void)
{
    return rn_with_store(test_rename_frees_old_body);
}

static int test_rename_clash(void)
{
    return rn_with_store(test_rename_clash_body);
}

static int test_rename_stale_name(void)
{
    return rn_with_store(test_rename_stale_name_body);
}

TAP_MAIN({"rename frees the old name", test_rename_frees_old},
         {"a name in use or invalid is refused", test_rename_clash},
         {"a stale name is reclaimed", test_rename_stale_name})
