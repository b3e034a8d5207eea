#define _GNU_SOURCE
#include "storage/containers.h"

#include <errno.h>
#include <fcntl.h>
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
#include "storage/records.h"

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

/* Is `id` a live container (or one being created right now)? */
static bool holder_alive(struct store *s, const char *id)
{
    _cleanup_free_ char *dir = containers_path(s, id, NULL);
    _cleanup_free_ char *cfg = containers_path(s, id, "config.json");
    _cleanup_free_ char *lk = lock_name(id);

    return record_id_valid(id, 64) && fs_exists(dir) &&
           record_alive(s, lk, cfg);
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

static char *config_path(struct store *s, const char *id)
{
    return containers_path(s, id, "config.json");
}

static int not_found(const char *what, berth_error_t *err);

static const struct record_kind ctr_kind = {
    .kind = "container",
    .dir = "containers",
    .suffix = "",
    .names = "names",
    .path = config_path,
    .get = containers_get,
    .alive = holder_alive,
    .in_use = name_in_use,
    .not_found = not_found,
};

/* Claims the given name, or a random free one when none was given. */
static int claim_some_name(struct store *s, const char *want, const char *id,
                           char **ret_name, berth_error_t *err)
{
    if (want && *want) {
        if (!record_name_valid(want)) {
            berth_error_new(err, 0,
                            "running container create option: names must "
                            "match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid "
                            "argument");
            (*err)->errnum = EINVAL;
            return -1;
        }
        if (record_name_claim(s, &ctr_kind, want, id, err) < 0)
            return -1;
        *ret_name = xstrdup(want);
        return 0;
    }
    return record_name_claim_random(s, &ctr_kind, id, ret_name, err);
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
        record_id_new(ret_id);
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
        record_name_release(s, &ctr_kind, name, id);
    berth_error_t e = NULL;
    if (store_rm_tree(s, dir, &e) < 0)
        berth_error_free(&e);
    return -1;
}

int containers_get(struct store *s, const char *id, json_t **ret,
                   berth_error_t *err)
{
    if (!record_id_valid(id, 64)) {
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

int containers_list(struct store *s, json_t **ret, berth_error_t *err)
{
    return record_list(s, &ctr_kind, ret, err);
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

int containers_lookup(struct store *s, const char *name_or_id, json_t **ret,
                      berth_error_t *err)
{
    return record_lookup(s, &ctr_kind, name_or_id, ret, err);
}

int containers_update(struct store *s, const char *id, containers_update_fn fn,
                      void *arg, json_t **ret, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_free_ char *lk = lock_name(id);
    _cleanup_json_ json_t *rec = NULL;

    if (!record_id_valid(id, 64))
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
        record_name_release(s, &ctr_kind, name, id);
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
    if (!record_name_valid(new_name)) {
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
    if (record_name_claim(s, &ctr_kind, new_name, id, err) < 0)
        return -1;
    struct rename_arg a = {new_name, NULL};
    if (containers_update(s, id, rename_fn, &a, NULL, err) < 0) {
        record_name_release(s, &ctr_kind, new_name, id);
        free(a.old_name);
        return berth_error_prefix(err, "rename container %s", id);
    }
    if (a.old_name)
        record_name_release(s, &ctr_kind, a.old_name, id);
    free(a.old_name);
    return 0;
}
