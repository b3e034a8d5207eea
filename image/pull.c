#define _GNU_SOURCE
#include "image/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/ref.h"
#include "image/registries.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

/* Shared state of one image's layer downloads. */
struct fetch {
    struct store *s;
    struct registry_client *c;
    const struct pull_opts *o;
    struct manifest *m;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t next;         /* next layer to hand to a worker */
    int *state;          /* per layer: 0 pending, 1 ready, -1 failed */
    berth_error_t first_err;
    bool abort;
};

struct progress_ctx {
    struct fetch *f;
    const char *digest;
};

static void emit(struct fetch *f, enum pull_event_kind k, const char *digest,
                 int64_t done, int64_t total)
{
    if (f->o->on_event == NULL)
        return;
    struct pull_event ev = {.kind = k, .digest = digest, .done = done,
                            .total = total};
    pthread_mutex_lock(&f->lock);
    f->o->on_event(f->o->event_arg, &ev);
    pthread_mutex_unlock(&f->lock);
}

static void on_progress(void *arg, int64_t done, int64_t total)
{
    struct progress_ctx *p = arg;
    emit(p->f, PULL_BLOB_PROGRESS, p->digest, done, total);
}

/* Download one blob into the store (verified, then renamed into place). */
static int fetch_blob(struct store *s, struct registry_client *c,
                      const char *digest, int64_t size,
                      registry_progress_fn prog, void *prog_arg,
                      berth_error_t *err)
{
    struct store_tmp tmp = {0};
    int r = -1;
    if (store_blob_exists(s, digest))
        return 0;
    if (store_tmp_new(s, &tmp, err) < 0)
        return -1;
    int fd = open(tmp.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        berth_error_new(err, errno, "create %s", tmp.path);
        goto out;
    }
    r = registry_get_blob(c, digest, size, fd, prog, prog_arg, err);
    if (r == 0 && fsync(fd) < 0)
        r = berth_error_new(err, errno, "write %s", tmp.path);
    close(fd);
    /* registry_get_blob verified the digest as the bytes streamed in */
    if (r == 0)
        r = store_blob_commit_verified(s, tmp.path, digest, err);
out:
    store_tmp_done(s, &tmp);
    return r;
}

static void *worker(void *arg)
{
    struct fetch *f = arg;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        if (f->abort || f->next >= f->m->n_layers) {
            pthread_mutex_unlock(&f->lock);
            return NULL;
        }
        size_t i = f->next++;
        pthread_mutex_unlock(&f->lock);

        struct manifest_desc *l = &f->m->layers[i];
        struct progress_ctx pc = {f, l->digest};
        berth_error_t e = NULL;
        int r;
        if (store_blob_exists(f->s, l->digest)) {
            emit(f, PULL_BLOB_SKIP, l->digest, l->size, l->size);
            r = 0;
        } else {
            emit(f, PULL_BLOB_START, l->digest, 0, l->size);
            r = fetch_blob(f->s, f->c, l->digest, l->size, on_progress, &pc,
                           &e);
            if (r == 0)
                emit(f, PULL_BLOB_DONE, l->digest, l->size, l->size);
        }
        pthread_mutex_lock(&f->lock);
        f->state[i] = r == 0 ? 1 : -1;
        if (r < 0) {
            if (f->first_err == NULL)
                f->first_err = e;
            else
                berth_error_free(&e);
            f->abort = true;
        }
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);
    }
}

/* Wait until layer i is downloaded; -1 when a download failed. */
static int wait_layer(struct fetch *f, size_t i)
{
    pthread_mutex_lock(&f->lock);
    while (f->state[i] == 0 && !f->abort)
        pthread_cond_wait(&f->cond, &f->lock);
    int r = f->state[i] == 1 ? 0 : -1;
    pthread_mutex_unlock(&f->lock);
    return r;
}

static int check_config(json_t *cfg, const struct manifest *m,
                        const struct platform *p, char ***ret_diffs,
                        berth_error_t *err)
{
    json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    if (!json_is_array(diffs) || json_array_size(diffs) != m->n_layers)
        return berth_error_new(err, 0,
                               "image config has %zu diff ids for %zu "
                               "layers",
                               json_array_size(diffs), m->n_layers);
    char **v = xcalloc(m->n_layers + 1, sizeof(char *));
    for (size_t i = 0; i < m->n_layers; i++) {
        const char *d = json_string_value(json_array_get(diffs, i));
        if (d == NULL || !image_digest_valid(d)) {
            strv_free(v);
            return berth_error_new(err, 0, "image config: invalid diff id");
        }
        v[i] = xstrdup(d);
    }
    (void)p;
    *ret_diffs = v;
    return 0;
}

/* Download the layers (workers) while unpacking them in order (here). */
static int fetch_layers(struct fetch *f, char **diffs, json_t *layers_out,
                        int64_t *ret_size, berth_error_t *err)
{
    int jobs = f->o->jobs > 0 ? f->o->jobs : 3;
    pthread_t th[8];
    int nth = 0, r = 0;
    _cleanup_free_ char *parent = NULL;
    int64_t total = 0;

    if (jobs > 8)
        jobs = 8;
    for (int k = 0; k < jobs && (size_t)k < f->m->n_layers; k++)
        if (pthread_create(&th[nth], NULL, worker, f) == 0)
            nth++;
    if (nth == 0 && f->m->n_layers > 0)
        return berth_error_new(err, errno, "start download threads");
    for (size_t i = 0; i < f->m->n_layers && r == 0; i++) {
        struct manifest_desc *l = &f->m->layers[i];
        char *chain = layer_chain_id(parent, diffs[i]);
        if (wait_layer(f, i) < 0) {
            free(chain);
            r = -1;
            break;
        }
        if (!store_layer_exists(f->s, chain) &&
            store_layer_create(f->s, l->digest, diffs[i], parent, chain,
                               err) < 0) {
            free(chain);
            pthread_mutex_lock(&f->lock);
            f->abort = true;
            pthread_mutex_unlock(&f->lock);
            r = -1;
            break;
        }
        _cleanup_free_ char *meta = store_path(f->s, "layers/%s/layer.json",
                                               chain + 7);
        _cleanup_json_ json_t *mj = json_load_path(meta, err);
        if (mj == NULL) {
            free(chain);
            r = -1;
            break;
        }
        total += json_get_int(mj, "size", 0);
        json_array_append_new(
            layers_out,
            json_pack("{s:s,s:s,s:I,s:s,s:s}", "digest", l->digest,
                      "media_type", l->media_type, "size", (json_int_t)l->size,
                      "diff_id", diffs[i], "chain_id", chain));
        free(parent);
        parent = chain;
    }
    for (int k = 0; k < nth; k++)
        pthread_join(th[k], NULL);
    if (r < 0 && f->first_err) {
        if (*err == NULL)
            *err = TAKE_PTR(f->first_err);
        else
            berth_error_free(&f->first_err);
    }
    berth_error_free(&f->first_err);
    *ret_size = total;
    return r;
}

/* Fetch the manifest for ref; resolve an index to the platform's image. */
static int fetch_manifest(struct registry_client *c, struct store *s,
                          const char *reference, const struct platform *p,
                          char **ret_digest, char **ret_list_digest,
                          char **ret_type, struct manifest **ret,
                          berth_error_t *err)
{
    _cleanup_free_ char *body = NULL, *type = NULL, *digest = NULL;
    _cleanup_free_ char *mt = NULL;
    size_t len = 0;
    enum manifest_kind kind;

    if (registry_get_manifest(c, reference, &body, &len, &type, &digest, err) <
        0)
        return -1;
    if (manifest_kind(body, len, type, &kind, &mt, err) < 0)
        return -1;
    if (kind == MANIFEST_INDEX) {
        _cleanup_free_ char *sel = NULL, *seltype = NULL;
        if (manifest_index_select(body, len, p, &sel, &seltype, err) < 0)
            return -1;
        free(body), body = NULL;
        free(type), type = NULL;
        /* the index digest is what the registry knows the tag by */
        *ret_list_digest = TAKE_PTR(digest);
        free(mt), mt = NULL;
        if (registry_get_manifest(c, sel, &body, &len, &type, &digest, err) <
            0)
            return -1;
        if (manifest_kind(body, len, type, &kind, &mt, err) < 0)
            return -1;
        if (kind != MANIFEST_IMAGE)
            return berth_error_new(err, 0, "manifest list %s points to "
                                   "another list", sel);
    }
    if (manifest_parse(body, len, mt, ret, err) < 0)
        return -1;
    _cleanup_free_ char *stored = NULL;
    if (store_blob_put(s, body, len, &stored, err) < 0) {
        manifest_free(*ret);
        return -1;
    }
    *ret_digest = TAKE_PTR(digest);
    *ret_type = TAKE_PTR(mt);
    return 0;
}

static int pull_config(struct fetch *f, const struct platform *p,
                       json_t **ret_cfg, berth_error_t *err)
{
    const char *cd = f->m->config.digest;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    emit(f, PULL_CONFIG, cd, 0, f->m->config.size);
    if (fetch_blob(f->s, f->c, cd, f->m->config.size, NULL, NULL, err) < 0)
        return -1;
    if (store_blob_read(f->s, cd, &buf, &len, err) < 0)
        return -1;
    json_t *cfg = json_parse_buf(buf, len, "image config", err);
    if (cfg == NULL)
        return -1;
    const char *arch = json_get_str(cfg, "architecture");
    (void)arch;
    (void)p;
    *ret_cfg = cfg;
    return 0;
}

static int pull_one(struct store *s, struct image_ref *ref,
                    const struct pull_opts *o, char **ret_id,
                    berth_error_t *err)
{
    _cleanup_free_ char *repo = image_ref_repo(ref);
    _cleanup_free_ char *mdigest = NULL, *mtype = NULL, *ldigest = NULL;
    _cleanup_json_ json_t *cfg = NULL, *layers = json_array();
    _cleanup_strv_ char **diffs = NULL;
    _cleanup_close_ int pin = -1;
    struct registry_client *c = NULL;
    struct manifest *m = NULL;
    int64_t size = 0;
    int r = -1;

    /* from the manifest blob until the record is written, store_gc must
     * not sweep what this pull stores */
    if (store_pin(s, &pin, err) < 0)
        return -1;
    if (registry_client_new(ref->registry, ref->path, &o->reg, &c, err) < 0)
        return -1;
    if (fetch_manifest(c, s, ref->digest ? ref->digest : ref->tag, &o->platform,
                       &mdigest, &ldigest, &mtype, &m, err) < 0)
        goto out;
    struct fetch f = {.s = s, .c = c, .o = o, .m = m};
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.cond, NULL);
    f.state = xcalloc(m->n_layers + 1, sizeof(int));
    if (pull_config(&f, &o->platform, &cfg, err) < 0 ||
        check_config(cfg, m, &o->platform, &diffs, err) < 0 ||
        fetch_layers(&f, diffs, layers, &size, err) < 0) {
        berth_error_free(&f.first_err);
        free(f.state);
        goto out;
    }
    free(f.state);
    emit(&f, PULL_MANIFEST, mdigest, 0, 0);
    {
        _cleanup_free_ char *tagged = image_ref_tagged(ref);
        /* repo digest: the index's when the name led to one, as podman */
        _cleanup_free_ char *repodigest =
            xasprintf("%s@%s", repo, ldigest ? ldigest : mdigest);
        _cleanup_free_ char *now = time_rfc3339_now();
        _cleanup_free_ char *mblob = NULL;
        const char *id = m->config.digest + 7;
        json_t *rec = json_pack(
            "{s:s,s:[],s:[s],s:s,s:s,s:s,s:O,s:I,s:s?,s:s}", "id", id, "names",
            "digests", repodigest, "manifest", mdigest, "manifest_type",
            mtype, "config", m->config.digest, "layers", layers, "size",
            (json_int_t)size, "created", json_get_str(cfg, "created"),
            "added", now);
        if (tagged)
            json_array_append_new(json_object_get(rec, "names"),
                                  json_string(tagged));
        r = images_put(s, rec, err);
        json_decref(rec);
        if (r == 0)
            *ret_id = xstrdup(id);
    }
out:
    manifest_free(m);
    registry_client_free(c);
    return r;
}

int image_pull_candidates(const char *name, char ***ret, berth_error_t *err)
{
    struct image_ref *ref = NULL;
    if (image_ref_parse(name, &ref, err) < 0)
        return -1;
    if (ref->registry) {
        char **v = NULL;
        strv_push(&v, image_ref_string(ref));
        image_ref_free(ref);
        *ret = v;
        return 0;
    }
    image_ref_free(ref);
    struct registries_conf *conf = NULL;
    if (registries_conf_load(&conf, err) < 0)
        return -1;
    *ret = registries_conf_resolve_short(conf, name);
    registries_conf_free(conf);
    if (*ret == NULL || (*ret)[0] == NULL)
        return berth_error_new(err, 0,
                               "short-name \"%s\" did not resolve to an "
                               "alias and no unqualified-search registries "
                               "are defined in registries.conf",
                               name);
    return 0;
}

static void set_insecure(struct pull_opts *o, const char *host)
{
    struct registries_conf *conf = NULL;
    berth_error_t e = NULL;
    if (registries_conf_load(&conf, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    o->reg.insecure_conf = registries_conf_insecure(conf, host);
    registries_conf_free(conf);
}

int image_pull(struct store *s, const char *name, const struct pull_opts *o,
               char **ret_id, berth_error_t *err)
{
    _cleanup_strv_ char **cands = NULL;
    berth_error_t last = NULL;

    if (image_pull_candidates(name, &cands, err) < 0)
        return -1;
    for (size_t i = 0; cands[i]; i++) {
        struct image_ref *ref = NULL;
        struct pull_opts oo = *o;
        if (image_ref_parse(cands[i], &ref, err) < 0)
            return -1;
        /* the candidate as pulled, ":latest" included, as podman shows it */
        _cleanup_free_ char *full = image_ref_string(ref);
        set_insecure(&oo, ref->registry);
        if (o->on_event) {
            struct pull_event ev = {.kind = PULL_TRYING, .name = full};
            o->on_event(o->event_arg, &ev);
        }
        berth_error_free(&last);
        int r = pull_one(s, ref, &oo, ret_id, &last);
        image_ref_free(ref);
        if (r == 0)
            return 0;
        berth_error_prefix(&last, "initializing source docker://%s", full);
    }
    *err = last;
    return -1;
}

int image_pull_all_tags(struct store *s, const char *name,
                        const struct pull_opts *o, char ***ret_ids,
                        berth_error_t *err)
{
    struct image_ref *ref = NULL;
    _cleanup_strv_ char **tags = NULL;
    struct registry_client *c = NULL;
    struct pull_opts oo = *o;

    if (image_ref_parse(name, &ref, err) < 0)
        return -1;
    const char *last = strrchr(name, '/');
    if (strchr(last ? last : name, ':') || strchr(name, '@')) {
        image_ref_free(ref);
        return berth_error_new(err, 0, "tag or digest can't be used with "
                               "--all-tags flag");
    }
    if (ref->registry == NULL) {
        _cleanup_strv_ char **cands = NULL;
        image_ref_free(ref);
        if (image_pull_candidates(name, &cands, err) < 0 ||
            image_ref_parse(cands[0], &ref, err) < 0)
            return -1;
    }
    set_insecure(&oo, ref->registry);
    if (registry_client_new(ref->registry, ref->path, &oo.reg, &c, err) < 0 ||
        registry_list_tags(c, &tags, err) < 0) {
        registry_client_free(c);
        image_ref_free(ref);
        return -1;
    }
    registry_client_free(c);
    char **ids = NULL;
    for (size_t i = 0; tags && tags[i]; i++) {
        _cleanup_free_ char *full =
            xasprintf("%s/%s:%s", ref->registry, ref->path, tags[i]);
        char *id = NULL;
        if (image_pull(s, full, &oo, &id, err) < 0) {
            strv_free(ids);
            image_ref_free(ref);
            return -1;
        }
        strv_push(&ids, id);
    }
    image_ref_free(ref);
    if (ids == NULL)
        ids = xcalloc(1, sizeof(char *));
    *ret_ids = ids;
    return 0;
}
