#define _GNU_SOURCE
#include "storage/records.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"

bool record_id_valid(const char *s, size_t min)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n >= min && n <= 64;
}

void record_id_new(char out[65])
{
    unsigned char b[32];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            abort(); /* getrandom cannot fail on a kernel we run on */
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof b; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* podman's rule, which also keeps names usable as file names. */
bool record_name_valid(const char *n)
{
    if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
          (n[0] >= '0' && n[0] <= '9')))
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return false;
    return strlen(n) < NAME_MAX;
}

/* Go trims trailing zeros of the fraction, so "...05.1Z" sorts after
 * "...05.12Z" as text: compare the seconds, then the fraction digits with
 * missing ones read as '0'. */
static int cmp_time(const char *x, const char *y)
{
    size_t lx = strcspn(x, ".Z"), ly = strcspn(y, ".Z");
    int c = strncmp(x, y, lx < ly ? lx : ly);
    if (c != 0 || lx != ly)
        return c != 0 ? c : (lx < ly ? -1 : 1);
    const char *fx = x[lx] == '.' ? x + lx + 1 : "";
    const char *fy = y[ly] == '.' ? y + ly + 1 : "";
    for (;;) {
        char a = (*fx >= '0' && *fx <= '9') ? *fx++ : '0';
        char b = (*fy >= '0' && *fy <= '9') ? *fy++ : '0';
        if (a != b)
            return a < b ? -1 : 1;
        if (!(*fx >= '0' && *fx <= '9') && !(*fy >= '0' && *fy <= '9'))
            return 0;
    }
}

static int cmp_newest(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    const char *cx = json_get_str(*x, "created");
    const char *cy = json_get_str(*y, "created");
    return cmp_time(cy ? cy : "", cx ? cx : "");
}

bool record_alive(struct store *s, const char *lock, const char *record_path)
{
    _cleanup_free_ char *lockp = store_path(s, "locks/%s.lock", lock);
    berth_error_t e = NULL;
    int fd = -1;

    if (fs_exists(record_path))
        return true;
    /* no record yet: alive while its creator holds the lock */
    int r = fs_trylock(lockp, &fd, &e);
    berth_error_free(&e);
    if (r != 1)
        return true;
    bool done = fs_exists(record_path);
    close(fd);
    return done;
}

char *record_name_holder(struct store *s, const struct record_kind *rk,
                         const char *name)
{
    _cleanup_free_ char *p = store_path(s, "%s/%s", rk->names, name);
    char buf[128];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return xstrdup(buf);
}

/* Unlink a stale name, unless someone claimed it meanwhile. */
static int reclaim_name(struct store *s, const struct record_kind *rk,
                        const char *name, const char *stale,
                        berth_error_t *err)
{
    _cleanup_close_ int lk = -1;
    if (store_lock(s, rk->names, &lk, err) < 0)
        return -1;
    _cleanup_free_ char *now = record_name_holder(s, rk, name);
    if (now == NULL || strcmp(now, stale) != 0 || rk->alive(s, now))
        return 0;
    _cleanup_free_ char *p = store_path(s, "%s/%s", rk->names, name);
    if (unlink(p) < 0 && errno != ENOENT)
        return berth_error_new(err, errno, "remove stale name %s", p);
    return 0;
}

int record_name_claim(struct store *s, const struct record_kind *rk,
                      const char *name, const char *id, berth_error_t *err)
{
    _cleanup_free_ char *p = store_path(s, "%s/%s", rk->names, name);
    for (int attempt = 0; attempt < 4; attempt++) {
        if (symlink(id, p) == 0)
            return 0;
        if (errno != EEXIST)
            return berth_error_new(err, errno, "claim name %s", p);
        _cleanup_free_ char *holder = record_name_holder(s, rk, name);
        if (holder == NULL)
            continue; /* freed meanwhile */
        if (rk->alive(s, holder))
            return rk->in_use(name, holder, err);
        if (reclaim_name(s, rk, name, holder, err) < 0)
            return -1;
    }
    return berth_error_new(err, 0, "claim name %s: too much contention", name);
}

int record_name_claim_random(struct store *s, const struct record_kind *rk,
                             const char *id, char **ret_name,
                             berth_error_t *err)
{
    for (int i = 0; i < 200; i++) {
        _cleanup_free_ char *n = containers_random_name();
        berth_error_t e = NULL;
        if (record_name_claim(s, rk, n, id, &e) == 0) {
            *ret_name = TAKE_PTR(n);
            return 0;
        }
        bool clash = e->errnum == EEXIST;
        if (!clash) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
    }
    return berth_error_new(err, 0, "cannot find a free random %s name",
                           rk->kind);
}

void record_name_release(struct store *s, const struct record_kind *rk,
                         const char *name, const char *id)
{
    _cleanup_free_ char *holder = record_name_holder(s, rk, name);
    if (holder && strcmp(holder, id) == 0) {
        _cleanup_free_ char *p = store_path(s, "%s/%s", rk->names, name);
        unlink(p);
    }
}

/* ROOT/<dir>/ID<suffix> for a full id: copies ID to ret_id.  Skips the
 * temporary files of atomic writes and anything else in the directory. */
static bool entry_id(const struct record_kind *rk, const char *entry,
                     char ret_id[65])
{
    if (strlen(entry) != 64 + strlen(rk->suffix) ||
        !str_has_suffix(entry, rk->suffix))
        return false;
    memcpy(ret_id, entry, 64);
    ret_id[64] = '\0';
    return record_id_valid(ret_id, 64);
}

static int lookup_prefix(struct store *s, const struct record_kind *rk,
                         const char *prefix, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "%s", rk->dir);
    _cleanup_closedir_ DIR *d = opendir(top);
    char found[65] = "", id[65];
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        if (!entry_id(rk, de->d_name, id) || !str_has_prefix(id, prefix))
            continue;
        _cleanup_free_ char *path = rk->path(s, id);
        if (!fs_exists(path))
            continue;
        if (*found)
            return berth_error_new(err, 0,
                                   "more than one result for %s ID %s: %s "
                                   "ID prefix is ambiguous",
                                   rk->kind, prefix, rk->kind);
        memcpy(found, id, sizeof found);
    }
    if (!*found)
        return rk->not_found(prefix, err);
    return rk->get(s, found, ret, err);
}

int record_lookup(struct store *s, const struct record_kind *rk,
                  const char *name_or_id, json_t **ret, berth_error_t *err)
{
    berth_error_t e = NULL;
    if (record_id_valid(name_or_id, 64)) {
        if (rk->get(s, name_or_id, ret, &e) == 0)
            return 0;
        berth_error_free(&e);
    }
    if (record_name_valid(name_or_id)) {
        _cleanup_free_ char *id = record_name_holder(s, rk, name_or_id);
        if (id && rk->get(s, id, ret, &e) == 0)
            return 0;
        berth_error_free(&e);
    }
    if (record_id_valid(name_or_id, 1))
        return lookup_prefix(s, rk, name_or_id, ret, err);
    return rk->not_found(name_or_id, err);
}

int record_list(struct store *s, const struct record_kind *rk, json_t **ret,
                berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "%s", rk->dir);
    _cleanup_closedir_ DIR *d = opendir(top);
    json_t **v = NULL;
    size_t n = 0;
    struct dirent *de;
    char id[65];

    if (d == NULL && errno != ENOENT)
        return berth_error_new(err, errno, "open %s", top);
    while (d && (de = readdir(d)) != NULL) {
        berth_error_t e = NULL;
        json_t *j = NULL;
        if (!entry_id(rk, de->d_name, id))
            continue;
        if (rk->get(s, id, &j, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = j;
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_newest);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    *ret = arr;
    return 0;
}
