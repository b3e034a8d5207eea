#define _GNU_SOURCE
#include "image/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "image/ref.h"
#include "image/registries.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

struct push_progress {
    const struct pull_opts *o;
    const char *digest;
};

static void emit(const struct pull_opts *o, enum pull_event_kind k,
                 const char *digest, int64_t done, int64_t total)
{
    if (o->on_event == NULL)
        return;
    struct pull_event ev = {.kind = k, .digest = digest, .done = done,
                            .total = total};
    o->on_event(o->event_arg, &ev);
}

static void on_progress(void *arg, int64_t done, int64_t total)
{
    struct push_progress *p = arg;
    emit(p->o, PULL_BLOB_PROGRESS, p->digest, done, total);
}

static int push_blob(struct store *s, struct registry_client *c,
                     const char *digest, int64_t size,
                     const struct pull_opts *o, bool is_config,
                     berth_error_t *err)
{
    int r = registry_blob_exists(c, digest, err);
    if (r < 0)
        return -1;
    if (r == 1) {
        if (!is_config)
            emit(o, PULL_BLOB_SKIP, digest, size, size);
        return 0;
    }
    _cleanup_free_ char *path = store_blob_path(s, digest);
    if (!store_blob_exists(s, digest))
        return berth_error_new(err, 0, "blob %s is missing from the store",
                               digest);
    struct push_progress pp = {o, digest};
    if (!is_config)
        emit(o, PULL_BLOB_START, digest, 0, size);
    if (registry_put_blob(c, digest, path, is_config ? NULL : on_progress, &pp,
                          err) < 0)
        return -1;
    if (!is_config)
        emit(o, PULL_BLOB_DONE, digest, size, size);
    return 0;
}

int image_push(struct store *s, json_t *record, const char *dest,
               const struct pull_opts *o, char **ret_digest,
               berth_error_t *err)
{
    struct image_ref *ref = NULL;
    struct registry_client *c = NULL;
    struct pull_opts oo = *o;
    _cleanup_free_ char *body = NULL;
    size_t len = 0;
    int r = -1;

    if (image_ref_parse(dest, &ref, err) < 0)
        return -1;
    if (ref->registry == NULL) {
        image_ref_free(ref);
        return berth_error_new(err, 0,
                               "%s: a registry must be given to push to "
                               "(e.g. registry.example.com/%s)",
                               dest, dest);
    }
    {
        struct registries_conf *conf = NULL;
        berth_error_t e = NULL;
        if (registries_conf_load(&conf, &e) == 0) {
            oo.reg.insecure_conf = registries_conf_insecure(conf, ref->registry);
            registries_conf_free(conf);
        }
        berth_error_free(&e);
    }
    oo.reg.push = true;
    const char *mdigest = json_get_str(record, "manifest");
    const char *cdigest = json_get_str(record, "config");
    const char *mtype = json_get_str(record, "manifest_type");
    if (mdigest == NULL || cdigest == NULL) {
        berth_error_new(err, 0, "image record has no manifest");
        goto out;
    }
    if (store_blob_read(s, mdigest, &body, &len, err) < 0 ||
        registry_client_new(ref->registry, ref->path, &oo.reg, &c, err) < 0)
        goto out;
    size_t i;
    json_t *l;
    /* before the layers: podman says "Getting image source signatures"
     * first; the config line itself comes with the manifest event */
    emit(&oo, PULL_CONFIG, cdigest, 0, 0);
    json_array_foreach(json_object_get(record, "layers"), i, l) {
        if (push_blob(s, c, json_get_str(l, "digest"),
                      json_get_int(l, "size", -1), &oo, false, err) < 0)
            goto out;
    }
    if (push_blob(s, c, cdigest, -1, &oo, true, err) < 0)
        goto out;
    emit(&oo, PULL_MANIFEST, mdigest, 0, 0);
    if (registry_put_manifest(c, ref->digest ? ref->digest : ref->tag, body,
                              len, mtype ? mtype : MT_OCI_MANIFEST, err) < 0)
        goto out;
    *ret_digest = xstrdup(mdigest);
    r = 0;
out:
    if (r < 0)
        berth_error_prefix(err, "push %s", dest);
    registry_client_free(c);
    image_ref_free(ref);
    return r;
}
