#define _GNU_SOURCE
#include "storage/containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"

/* Why the order of operations matters:
 * - create makes ROOT/containers/ID first (holding the record's lock),
 *   then claims the name, then writes config.json; delete frees the name
 *   first, then moves the directory away.  So a name whose directory is
 *   missing is always stale, and a directory without config.json whose
 *   lock nobody holds was left by a creator that died: both are reclaimed
 *   by the next create that trips over them;
 * - stale names are unlinked only under the "names" lock, so two
 *   reclaimers cannot unlink each other's fresh claim. */

char *containers_path(struct store *s, const char *id, const char *sub)
{
    if (sub == NULL || *sub == '\0')
        return store_path(s, "containers/%s", id);
    return store_path(s, "containers/%s/%s", id, sub);
}

char *containers_run_path(struct store *s, const char *id)
{
    return xasprintf("%s/containers/%s", s->runroot, id);
}

static char *lock_name(const char *id)
{
    return xasprintf("container-%s", id);
}

static bool is_hex_id(const char *s, size_t min)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n >= min && n <= 64;
}

static void random_hex(char out[65])
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

/* A shortened version of podman's (moby's) namesgenerator tables. */
static const char *const adjectives[] = {
    "admiring", "affectionate", "agitated", "amazing", "angry", "awesome",
    "blissful", "bold", "boring", "brave", "busy", "charming", "clever",
    "cool", "compassionate", "competent", "confident", "cranky", "dazzling",
    "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic",
    "elated", "elegant", "eloquent", "epic", "fervent", "festive", "flamboyant",
    "focused", "friendly", "frosty", "gallant", "gifted", "goofy", "gracious",
    "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible",
    "inspiring", "jolly", "jovial", "keen", "kind", "laughing", "loving",
    "lucid", "magical", "modest", "musing", "mystifying", "naughty",
    "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
    "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky",
    "quizzical", "relaxed", "reverent", "romantic", "sad", "serene", "sharp",
    "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet",
    "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant",
    "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful",
    "zealous", "zen"};
static const char *const surnames[] = {
    "agnesi", "albattani", "allen", "archimedes", "ardinghelli", "babbage",
    "banach", "bardeen", "bartik", "bell", "bhabha", "blackwell", "bohr",
    "booth", "borg", "bose", "brahmagupta", "brattain", "brown", "carson",
    "cerf", "chandrasekhar", "clarke", "colden", "cori", "curie", "darwin",
    "davinci", "dijkstra", "einstein", "elion", "engelbart", "euclid",
    "euler", "fermat", "fermi", "feynman", "franklin", "galileo", "gauss",
    "goldberg", "goodall", "hamilton", "hawking", "heisenberg", "hermann",
    "hodgkin", "hopper", "hypatia", "jackson", "jennings", "johnson",
    "kalam", "kepler", "khorana", "knuth", "kowalevski", "lalande", "lamarr",
    "leakey", "lovelace", "lumiere", "mayer", "mccarthy", "mcclintock",
    "meitner", "mendel", "mirzakhani", "morse", "napier", "newton", "nobel",
    "noether", "pare", "pascal", "pasteur", "payne", "perlman", "pike",
    "poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "rosalind",
    "sammet", "shannon", "shockley", "sinoussi", "stonebraker", "swanson",
    "tesla", "thompson", "torvalds", "turing", "volhard", "wescoff", "wiles",
    "williams", "wilson", "wozniak", "wright", "yalow", "yonath"};

char *containers_random_name(void)
{
    unsigned int r[2];
    size_t na = sizeof adjectives / sizeof adjectives[0];
    size_t ns = sizeof surnames / sizeof surnames[0];
    if (getrandom(r, sizeof r, 0) != sizeof r)
        r[0] = (unsigned)rand(), r[1] = (unsigned)rand();
    return xasprintf("%s_%s", adjectives[r[0] % na], surnames[r[1] % ns]);
}

/* podman's rule, which also keeps names usable as file names. */
static bool name_valid(const char *n)
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

static char *name_holder(struct store *s, const char *name)
{
    _cleanup_free_ char *p = store_path(s, "names/%s", name);
    char buf[128];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return xstrdup(buf);
}

/* Is `id` a live container (or one being created right now)? */
static bool holder_alive(struct store *s, const char *id)
{
    _cleanup_free_ char *dir = containers_path(s, id, NULL);
    _cleanup_free_ char *cfg = containers_path(s, id, "config.json");
    _cleanup_free_ char *lk = lock_name(id);
    _cleanup_free_ char *lockp = store_path(s, "locks/%s.lock", lk);
    berth_error_t e = NULL;
    int fd = -1;

    if (!is_hex_id(id, 64) || !fs_exists(dir))
        return false;
    if (fs_exists(cfg))
        return true;
    /* no record yet: alive while its creator holds the lock */
    int r = fs_trylock(lockp, &fd, &e);
    berth_error_free(&e);
    if (r != 1)
        return true;
    bool done = fs_exists(cfg);
    close(fd);
    return done;
}

static int name_in_use(const char *name, const char *holder,
                       berth_error_t *err)
{
    berth_error_new(err, 0,
                    "the container name \"%s\" is already in use by %s. You "
                    "have to remove that container to be able to reuse that "
                    "name: that name is already in use",
                    name, holder);
    (*err)->errnum = EEXIST;
    return -1;
}

/* Unlink a stale name, unless someone claimed it meanwhile. */
static int reclaim_name(struct store *s, const char *name, const char *stale,
                        berth_error_t *err)
{
    _cleanup_close_ int lk = -1;
    if (store_lock(s, "names", &lk, err) < 0)
        return -1;
    _cleanup_free_ char *now = name_holder(s, name);
    if (now == NULL || strcmp(now, stale) != 0 || holder_alive(s, now))
        return 0;
    _cleanup_free_ char *p = store_path(s, "names/%s", name);
    if (unlink(p) < 0 && errno != ENOENT)
        return berth_error_new(err, errno, "remove stale name %s", p);
    return 0;
}

static int claim_name(struct store *s, const char *name, const char *id,
                      berth_error_t *err)
{
    _cleanup_free_ char *p = store_path(s, "names/%s", name);
    for (int attempt = 0; attempt < 4; attempt++) {
        if (symlink(id, p) == 0)
            return 0;
        if (errno != EEXIST)
            return berth_error_new(err, errno, "claim name %s", p);
        _cleanup_free_ char *holder = name_holder(s, name);
        if (holder == NULL)
            continue; /* freed meanwhile */
        if (holder_alive(s, holder))
            return name_in_use(name, holder, err);
        if (reclaim_name(s, name, holder, err) < 0)
            return -1;
    }
    return berth_error_new(err, 0, "claim name %s: too much contention", name);
}

static void release_name(struct store *s, const char *name, const char *id)
{
    _cleanup_free_ char *holder = name_holder(s, name);
    if (holder && strcmp(holder, id) == 0) {
        _cleanup_free_ char *p = store_path(s, "names/%s", name);
        unlink(p);
    }
}

/* Claims the given name, or a random free one when none was given. */
static int claim_some_name(struct store *s, const char *want, const char *id,
                           char **ret_name, berth_error_t *err)
{
    if (want && *want) {
        if (!name_valid(want)) {
            berth_error_new(err, 0,
                            "running container create option: names must "
                            "match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid "
                            "argument");
            (*err)->errnum = EINVAL;
            return -1;
        }
        if (claim_name(s, want, id, err) < 0)
            return -1;
        *ret_name = xstrdup(want);
        return 0;
    }
    for (int i = 0; i < 200; i++) {
        _cleanup_free_ char *n = containers_random_name();
        berth_error_t e = NULL;
        if (claim_name(s, n, id, &e) == 0) {
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
    return berth_error_new(err, 0, "cannot find a free random container name");
}

static int image_layers(struct store *s, const char *image, json_t **ret,
                        berth_error_t *err)
{
    _cleanup_json_ json_t *img = NULL;
    json_t *out = json_array(), *l;
    size_t i;

    *ret = out;
    if (image == NULL || *image == '\0')
        return 0;
    if (images_get(s, image, &img, err) < 0)
        return berth_error_prefix(err, "image %s", image);
    json_array_foreach(json_object_get(img, "layers"), i, l) {
        const char *ch = json_get_str(l, "chain_id");
        if (ch == NULL)
            return berth_error_new(err, 0, "image %s: layer %zu has no chain "
                                   "id", image, i);
        json_array_append_new(out, json_string(ch));
    }
    return 0;
}

static json_t *new_record(json_t *fields, const char *id, const char *name,
                          json_t *layers)
{
    json_t *rec = json_deep_copy(fields);
    _cleanup_free_ char *now = time_rfc3339_now();
    json_object_set_new(rec, "id", json_string(id));
    json_object_set_new(rec, "name", json_string(name));
    json_object_set(rec, "layers", layers);
    json_object_set_new(rec, "created", json_string(now));
    if (json_get_str(rec, "image") == NULL)
        json_object_set_new(rec, "image", json_string(""));
    if (!json_is_array(json_object_get(rec, "command")))
        json_object_set_new(rec, "command", json_array());
    if (!json_is_object(json_object_get(rec, "options")))
        json_object_set_new(rec, "options", json_object());
    json_object_set_new(rec, "state",
                        json_pack("{s:s,s:i,s:i,s:s,s:s}", "status", "created",
                                  "pid", 0, "exitCode", 0, "startedAt", "",
                                  "finishedAt", ""));
    return rec;
}

/* Makes ROOT/containers/ID for a fresh random id and locks it. */
static int new_dir(struct store *s, char ret_id[65], int *ret_lock,
                   berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "containers");
    _cleanup_free_ char *names = store_path(s, "names");
    if (fs_mkdir_p(top, 0700, err) < 0 || fs_mkdir_p(names, 0700, err) < 0)
        return -1;
    for (int attempt = 0; attempt < 8; attempt++) {
        random_hex(ret_id);
        _cleanup_free_ char *lk = lock_name(ret_id);
        if (store_lock(s, lk, ret_lock, err) < 0)
            return -1;
        _cleanup_free_ char *dir = containers_path(s, ret_id, NULL);
        if (mkdir(dir, 0700) == 0)
            return 0;
        int e = errno;
        close(*ret_lock);
        if (e != EEXIST)
            return berth_error_new(err, e, "create %s", dir);
    }
    return berth_error_new(err, 0, "cannot create a container directory");
}

int containers_create(struct store *s, json_t *fields, json_t **ret,
                      berth_error_t *err)
{
    _cleanup_close_ int lock = -1, pin = -1;
    _cleanup_json_ json_t *layers = NULL, *rec = NULL;
    _cleanup_free_ char *name = NULL, *dir = NULL, *userdata = NULL;
    _cleanup_free_ char *cfg = NULL;
    char id[65];

    /* store_gc must not take the image's layers before the record that
     * references them is written */
    if (store_pin(s, &pin, err) < 0)
        return -1;
    if (image_layers(s, json_get_str(fields, "image"), &layers, err) < 0)
        return -1;
    if (new_dir(s, id, &lock, err) < 0)
        return -1;
    dir = containers_path(s, id, NULL);
    if (claim_some_name(s, json_get_str(fields, "name"), id, &name, err) < 0)
        goto fail;
    rec = new_record(fields, id, name, layers);
    userdata = containers_path(s, id, "userdata");
    cfg = containers_path(s, id, "config.json");
    if (fs_mkdir_p(userdata, 0700, err) < 0 ||
        json_write_path(cfg, rec, err) < 0)
        goto fail;
    *ret = TAKE_PTR(rec);
    return 0;
fail:
    if (name)
        release_name(s, name, id);
    berth_error_t e = NULL;
    if (store_rm_tree(s, dir, &e) < 0)
        berth_error_free(&e);
    return -1;
}

int containers_get(struct store *s, const char *id, json_t **ret,
                   berth_error_t *err)
{
    if (!is_hex_id(id, 64)) {
        berth_error_new(err, 0, "%s: not a container id", id);
        (*err)->errnum = ENOENT;
        return -1;
    }
    _cleanup_free_ char *cfg = containers_path(s, id, "config.json");
    json_t *j = json_load_path(cfg, err);
    if (j == NULL)
        return -1;
    *ret = j;
    return 0;
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

static int cmp_created(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    const char *cx = json_get_str(*x, "created");
    const char *cy = json_get_str(*y, "created");
    return cmp_time(cy ? cy : "", cx ? cx : "");
}

int containers_list(struct store *s, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "containers");
    _cleanup_closedir_ DIR *d = opendir(top);
    json_t **v = NULL;
    size_t n = 0;
    struct dirent *de;

    if (d == NULL && errno != ENOENT)
        return berth_error_new(err, errno, "open %s", top);
    while (d && (de = readdir(d)) != NULL) {
        if (!is_hex_id(de->d_name, 64))
            continue;
        _cleanup_free_ char *cfg = containers_path(s, de->d_name, "config.json");
        berth_error_t e = NULL;
        json_t *j = json_load_path(cfg, &e);
        /* a record being created or removed right now */
        if (j == NULL) {
            berth_error_free(&e);
            continue;
        }
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = j;
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_created);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    *ret = arr;
    return 0;
}

static int not_found(const char *what, berth_error_t *err)
{
    berth_error_new(err, 0,
                    "no container with name or ID \"%s\" found: no such "
                    "container",
                    what);
    (*err)->errnum = ENOENT;
    return -1;
}

static int lookup_prefix(struct store *s, const char *prefix, json_t **ret,
                         berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "containers");
    _cleanup_closedir_ DIR *d = opendir(top);
    _cleanup_free_ char *found = NULL;
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        if (!is_hex_id(de->d_name, 64) || !str_has_prefix(de->d_name, prefix))
            continue;
        _cleanup_free_ char *cfg = containers_path(s, de->d_name, "config.json");
        if (!fs_exists(cfg))
            continue;
        if (found)
            return berth_error_new(err, 0,
                                   "more than one result for container ID "
                                   "%s: container ID prefix is ambiguous",
                                   prefix);
        found = xstrdup(de->d_name);
    }
    if (found == NULL)
        return not_found(prefix, err);
    return containers_get(s, found, ret, err);
}

int containers_lookup(struct store *s, const char *name_or_id, json_t **ret,
                      berth_error_t *err)
{
    berth_error_t e = NULL;
    if (is_hex_id(name_or_id, 64)) {
        if (containers_get(s, name_or_id, ret, &e) == 0)
            return 0;
        berth_error_free(&e);
    }
    if (name_valid(name_or_id)) {
        _cleanup_free_ char *id = name_holder(s, name_or_id);
        if (id && containers_get(s, id, ret, &e) == 0)
            return 0;
        berth_error_free(&e);
    }
    if (is_hex_id(name_or_id, 1))
        return lookup_prefix(s, name_or_id, ret, err);
    return not_found(name_or_id, err);
}

int containers_update(struct store *s, const char *id, containers_update_fn fn,
                      void *arg, json_t **ret, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_free_ char *lk = lock_name(id);
    _cleanup_json_ json_t *rec = NULL;

    if (!is_hex_id(id, 64))
        return not_found(id, err);
    if (store_lock(s, lk, &lock, err) < 0)
        return -1;
    if (containers_get(s, id, &rec, err) < 0)
        return -1;
    if (fn(rec, arg, err) < 0)
        return -1;
    _cleanup_free_ char *cfg = containers_path(s, id, "config.json");
    if (json_write_path(cfg, rec, err) < 0)
        return -1;
    if (ret)
        *ret = TAKE_PTR(rec);
    return 0;
}

static int set_state_fn(json_t *rec, void *arg, berth_error_t *err)
{
    const struct container_state *st = arg;
    json_t *state = json_object_get(rec, "state");
    (void)err;
    if (!json_is_object(state)) {
        state = json_object();
        json_object_set_new(rec, "state", state);
    }
    if (st->status)
        json_object_set_new(state, "status", json_string(st->status));
    if (st->pid >= 0)
        json_object_set_new(state, "pid", json_integer(st->pid));
    if (st->exit_code >= 0)
        json_object_set_new(state, "exitCode", json_integer(st->exit_code));
    if (st->started_at)
        json_object_set_new(state, "startedAt", json_string(st->started_at));
    if (st->finished_at)
        json_object_set_new(state, "finishedAt", json_string(st->finished_at));
    return 0;
}

int containers_set_state(struct store *s, const char *id,
                         const struct container_state *st, berth_error_t *err)
{
    return containers_update(s, id, set_state_fn, (void *)st, NULL, err);
}

int containers_delete(struct store *s, const char *id, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_free_ char *lk = lock_name(id);
    _cleanup_json_ json_t *rec = NULL;
    struct store_tmp tmp = {0};

    if (store_lock(s, lk, &lock, err) < 0 ||
        containers_get(s, id, &rec, err) < 0)
        return -1;
    const char *name = json_get_str(rec, "name");
    if (name)
        release_name(s, name, id);
    _cleanup_free_ char *run = containers_run_path(s, id);
    if (fs_rm_rf(run, err) < 0)
        return berth_error_prefix(err, "remove container %s", id);
    /* One rename takes the record away whole; the tree (subordinate owners
     * included) is removed from ROOT/tmp, where a crash leaves only debris
     * the next command cleans. */
    _cleanup_free_ char *dir = containers_path(s, id, NULL);
    if (store_tmp_new(s, &tmp, err) < 0)
        return -1;
    if (rename(dir, tmp.path) < 0) {
        int e = errno;
        store_tmp_done(s, &tmp);
        return berth_error_new(err, e, "remove container %s: rename %s", id,
                               dir);
    }
    store_tmp_done(s, &tmp);
    _cleanup_free_ char *lockp = store_path(s, "locks/%s.lock", lk);
    unlink(lockp);
    return 0;
}

int containers_using_image(struct store *s, const char *image_id,
                           char ***ret_ids, berth_error_t *err)
{
    _cleanup_json_ json_t *all = NULL;
    char **ids = xcalloc(1, sizeof(char *));
    json_t *c;
    size_t i;

    if (containers_list(s, &all, err) < 0) {
        free(ids);
        return -1;
    }
    json_array_foreach(all, i, c) {
        const char *img = json_get_str(c, "image");
        const char *id = json_get_str(c, "id");
        if (img && id && strcmp(img, image_id) == 0)
            strv_append(&ids, id);
    }
    *ret_ids = ids;
    return 0;
}

struct rename_arg {
    const char *new_name;
    char *old_name;
};

static int rename_fn(json_t *rec, void *arg, berth_error_t *err)
{
    struct rename_arg *a = arg;
    (void)err;
    const char *old = json_get_str(rec, "name");
    a->old_name = old ? xstrdup(old) : NULL;
    json_object_set_new(rec, "name", json_string(a->new_name));
    return 0;
}

int containers_rename(struct store *s, const char *id, const char *new_name,
                      berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (!name_valid(new_name)) {
        berth_error_new(err, 0, "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: "
                                "invalid argument");
        (*err)->errnum = EINVAL;
        return -1;
    }
    if (containers_get(s, id, &rec, err) < 0)
        return -1;
    const char *cur = json_get_str(rec, "name");
    if (cur && strcmp(cur, new_name) == 0)
        return 0;
    if (claim_name(s, new_name, id, err) < 0)
        return -1;
    struct rename_arg a = {new_name, NULL};
    if (containers_update(s, id, rename_fn, &a, NULL, err) < 0) {
        release_name(s, new_name, id);
        free(a.old_name);
        return berth_error_prefix(err, "rename container %s", id);
    }
    if (a.old_name)
        release_name(s, a.old_name, id);
    free(a.old_name);
    return 0;
}
