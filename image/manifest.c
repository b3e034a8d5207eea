#define _GNU_SOURCE
#include "image/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

static bool is_schema1(const char *mt)
{
    return mt && (strcmp(mt, MT_DOCKER_V1) == 0 ||
                  strcmp(mt, MT_DOCKER_V1_SIGNED) == 0 ||
                  strcmp(mt, "application/json") == 0);
}

int manifest_kind(const char *body, size_t len, const char *content_type,
                  enum manifest_kind *ret, char **ret_media_type,
                  berth_error_t *err)
{
    _cleanup_json_ json_t *j = json_parse_buf(body, len, "manifest", err);
    if (j == NULL)
        return -1;
    if (!json_is_object(j))
        return berth_error_new(err, 0, "manifest is not a JSON object");
    const char *mt = json_get_str(j, "mediaType");
    int64_t schema = json_get_int(j, "schemaVersion", 0);
    if (schema == 1 || (mt == NULL && is_schema1(content_type) &&
                        json_object_get(j, "fsLayers")))
        return berth_error_new(err, 0,
                               "unsupported manifest: Docker image format v2 "
                               "schema 1 is deprecated and not supported by "
                               "berth; push the image again with a current "
                               "tool");
    if (mt == NULL)
        mt = content_type;
    if (mt == NULL || *mt == '\0') {
        /* OCI allows mediaType to be absent: decide from the shape */
        mt = json_object_get(j, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST;
    }
    if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0)
        *ret = MANIFEST_INDEX;
    else if (strcmp(mt, MT_OCI_MANIFEST) == 0 ||
             strcmp(mt, MT_DOCKER_MANIFEST) == 0)
        *ret = MANIFEST_IMAGE;
    else if (is_schema1(mt))
        return berth_error_new(err, 0,
                               "unsupported manifest: Docker image format v2 "
                               "schema 1 is deprecated and not supported by "
                               "berth");
    else
        return berth_error_new(err, 0, "unsupported manifest media type %s",
                               mt);
    if (ret_media_type)
        *ret_media_type = xstrdup(mt);
    return 0;
}

static bool layer_type_ok(const char *mt)
{
    static const char *const ok[] = {
        MT_OCI_LAYER,
        MT_OCI_LAYER_GZIP,
        MT_OCI_LAYER_ZSTD,
        MT_DOCKER_LAYER,
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(mt, ok[i]) == 0)
            return true;
    return false;
}

static int parse_desc(json_t *d, const char *what, struct manifest_desc *ret,
                      berth_error_t *err)
{
    const char *mt = json_get_str(d, "mediaType");
    const char *dg = json_get_str(d, "digest");
    json_t *sz = json_object_get(d, "size");
    if (dg == NULL || !image_digest_valid(dg))
        return berth_error_new(err, 0, "manifest: %s has an invalid digest %s",
                               what, dg ? dg : "(none)");
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return berth_error_new(err, 0, "manifest: %s %s has no valid size",
                               what, dg);
    ret->media_type = xstrdup(mt ? mt : "");
    ret->digest = xstrdup(dg);
    ret->size = (int64_t)json_integer_value(sz);
    return 0;
}

int manifest_parse(const char *body, size_t len, const char *media_type,
                   struct manifest **ret, berth_error_t *err)
{
    _cleanup_json_ json_t *j = json_parse_buf(body, len, "manifest", err);
    if (j == NULL)
        return -1;
    struct manifest *m = xcalloc(1, sizeof(*m));
    m->media_type = xstrdup(media_type ? media_type : MT_OCI_MANIFEST);
    json_t *layers = json_object_get(j, "layers");
    if (parse_desc(json_object_get(j, "config"), "config", &m->config, err) <
        0)
        goto fail;
    if (!json_is_array(layers)) {
        berth_error_new(err, 0, "manifest: no layers array");
        goto fail;
    }
    m->layers = xcalloc(json_array_size(layers) + 1, sizeof(*m->layers));
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        if (parse_desc(l, "layer", &m->layers[i], err) < 0)
            goto fail;
        m->n_layers = i + 1;
        if (!layer_type_ok(m->layers[i].media_type)) {
            berth_error_new(err, 0,
                            "unsupported layer media type \"%s\" of layer %s",
                            m->layers[i].media_type, m->layers[i].digest);
            goto fail;
        }
    }
    *ret = m;
    return 0;
fail:
    manifest_free(m);
    return -1;
}

void manifest_free(struct manifest *m)
{
    if (m == NULL)
        return;
    free(m->media_type);
    free(m->config.media_type);
    free(m->config.digest);
    for (size_t i = 0; i < m->n_layers; i++) {
        free(m->layers[i].media_type);
        free(m->layers[i].digest);
    }
    free(m->layers);
    free(m);
}

static bool variant_match(const char *arch, const char *want, const char *have)
{
    if (want == NULL || *want == '\0')
        return true;
    if (have == NULL || *have == '\0')
        /* arm64 images usually carry no variant: v8 is implied */
        return strcmp(arch, "arm64") == 0 && strcmp(want, "v8") == 0;
    return strcmp(want, have) == 0;
}

int manifest_index_select(const char *body, size_t len,
                          const struct platform *want, char **ret_digest,
                          char **ret_media_type, berth_error_t *err)
{
    _cleanup_json_ json_t *j = json_parse_buf(body, len, "manifest list", err);
    if (j == NULL)
        return -1;
    json_t *ms = json_object_get(j, "manifests"), *m;
    size_t i;
    json_array_foreach(ms, i, m) {
        json_t *p = json_object_get(m, "platform");
        const char *os = json_get_str(p, "os");
        const char *arch = json_get_str(p, "architecture");
        const char *dg = json_get_str(m, "digest");
        if (os == NULL || arch == NULL || dg == NULL ||
            strcmp(os, want->os) != 0 || strcmp(arch, want->arch) != 0 ||
            !variant_match(arch, want->variant, json_get_str(p, "variant")))
            continue;
        if (!image_digest_valid(dg))
            return berth_error_new(err, 0, "manifest list: invalid digest %s",
                                   dg);
        *ret_digest = xstrdup(dg);
        const char *mt = json_get_str(m, "mediaType");
        *ret_media_type = mt ? xstrdup(mt) : NULL;
        return 0;
    }
    return berth_error_new(err, 0,
                           "no image found in manifest list for architecture "
                           "%s, variant \"%s\", OS %s",
                           want->arch, want->variant ? want->variant : "",
                           want->os);
}

const char *platform_host_arch(void)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"},
        {"armv6l", "arm"},   {"i686", "386"},      {"i386", "386"},
        {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
    };
    static struct utsname u;
    if (uname(&u) < 0)
        return "amd64";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(u.machine, map[i][0]) == 0)
            return map[i][1];
    return u.machine;
}

int platform_resolve(const char *platform, const char *os, const char *arch,
                     const char *variant, struct platform *ret,
                     berth_error_t *err)
{
    memset(ret, 0, sizeof(*ret));
    ret->os = xstrdup("linux");
    ret->arch = xstrdup(platform_host_arch());
    if (platform && *platform) {
        _cleanup_strv_ char **parts = strv_split(platform, "/");
        size_t n = strv_len(parts);
        if (n < 2 || n > 3 || strchr(platform, ' ')) {
            platform_clear(ret);
            return berth_error_new(err, 0,
                                   "invalid platform \"%s\": expected "
                                   "OS/ARCH[/VARIANT]",
                                   platform);
        }
        free(ret->os);
        free(ret->arch);
        ret->os = xstrdup(parts[0]);
        ret->arch = xstrdup(parts[1]);
        if (n == 3)
            ret->variant = xstrdup(parts[2]);
    }
    if (os && *os) {
        free(ret->os);
        ret->os = xstrdup(os);
    }
    if (arch && *arch) {
        free(ret->arch);
        ret->arch = xstrdup(arch);
    }
    if (variant && *variant) {
        free(ret->variant);
        ret->variant = xstrdup(variant);
    }
    return 0;
}

void platform_clear(struct platform *p)
{
    free(p->os);
    free(p->arch);
    free(p->variant);
    memset(p, 0, sizeof(*p));
}
