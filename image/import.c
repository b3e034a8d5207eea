#define _GNU_SOURCE
#include "image/import.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/config-change.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"
#include "storage/unpack.h"

bool image_import_is_url(const char *source)
{
    return strncasecmp(source, "http://", 7) == 0 ||
           strncasecmp(source, "https://", 8) == 0;
}

int image_import_reference(const char *reference, char **ret,
                           berth_error_t *err)
{
    struct image_ref *ref = NULL;
    if (image_ref_parse(reference, &ref, err) < 0)
        return -1;
    if (ref->digest) {
        image_ref_free(ref);
        return berth_error_new(err, 0, "%s: an image can't be named by digest",
                               reference);
    }
    if (ref->registry == NULL)
        ref->registry = xstrdup("localhost");
    *ret = image_ref_tagged(ref);
    image_ref_free(ref);
    return 0;
}

static int imp_copy_fd(int in, const char *dest, berth_error_t *err)
{
    _cleanup_close_ int out =
        open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    _cleanup_free_ char *buf = xmalloc(1 << 16);
    if (out < 0)
        return berth_error_new(err, errno, "create %s", dest);
    for (;;) {
        ssize_t n = read(in, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error_new(err, errno, "read standard input");
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return berth_error_new(err, errno, "write %s", dest);
            off += w;
        }
    }
}

static int imp_download(const char *url, const char *dest, berth_error_t *err)
{
    char msg[CURL_ERROR_SIZE] = "";
    FILE *f = fopen(dest, "wxe");
    if (f == NULL)
        return berth_error_new(err, errno, "create %s", dest);
    CURL *h = curl_easy_init();
    if (h == NULL) {
        fclose(f);
        return berth_error_new(err, 0, "download %s: cannot start libcurl",
                               url);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, msg);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (fclose(f) != 0 && rc == CURLE_OK)
        return berth_error_new(err, errno, "write %s", dest);
    if (rc != CURLE_OK)
        return berth_error_new(err, 0, "download %s: %s", url,
                               *msg ? msg : curl_easy_strerror(rc));
    return 0;
}

/* The tarball as a file, and the time the image is created at: the
 * file's mtime, as podman's tarball source uses; now for a stream. */
static int imp_source(const char *source, const char *dir, char **ret_path,
                      struct timespec *ret_time, berth_error_t *err)
{
    struct stat st;
    clock_gettime(CLOCK_REALTIME, ret_time);
    if (strcmp(source, "-") == 0 || image_import_is_url(source)) {
        _cleanup_free_ char *p = xasprintf("%s/input", dir);
        if (strcmp(source, "-") == 0 ? imp_copy_fd(STDIN_FILENO, p, err)
                                     : imp_download(source, p, err))
            return -1;
        *ret_path = TAKE_PTR(p);
        return 0;
    }
    if (stat(source, &st) < 0)
        return berth_error_new(err, errno, "%s", source);
    if (S_ISDIR(st.st_mode))
        return berth_error_new(err, EISDIR, "%s", source);
    if (S_ISREG(st.st_mode))
        *ret_time = st.st_mtim;
    *ret_path = xstrdup(source);
    return 0;
}

static json_t *imp_config(const struct import_opts *o, const char *diff,
                          const struct timespec *t, berth_error_t *err)
{
    _cleanup_free_ char *created = time_rfc3339(t->tv_sec, t->tv_nsec);
    _cleanup_free_ char *by =
        xasprintf("/bin/sh -c #(nop) ADD file:%s in /", diff + 7);
    json_t *inner = json_object();
    if (config_changes_apply(inner, o->changes, NULL, err) < 0) {
        json_decref(inner);
        return NULL;
    }
    json_t *cfg = json_pack(
        "{s:s,s:s,s:s,s:o,s:{s:s,s:[s]},s:[{s:s,s:s,s:s}]}", "created",
        created, "architecture",
        o->arch && *o->arch ? o->arch : platform_host_arch(), "os",
        o->os && *o->os ? o->os : "linux", "config", inner, "rootfs", "type",
        "layers", "diff_ids", diff, "history", "created", created,
        "created_by", by, "comment",
        o->message && *o->message ? o->message : "imported from tarball");
    if (cfg && o->variant && *o->variant)
        json_object_set_new(cfg, "variant", json_string(o->variant));
    if (cfg == NULL)
        berth_error_new(err, 0, "--message: not valid UTF-8");
    return cfg;
}

static int imp_put_json(struct store *s, json_t *j, char **ret_digest,
                        size_t *ret_len, berth_error_t *err)
{
    _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT);
    *ret_len = strlen(txt);
    return store_blob_put(s, txt, *ret_len, ret_digest, err);
}

static void imp_emit(const struct import_opts *o, enum pull_event_kind k,
                     const char *digest, int64_t size)
{
    if (o->on_event == NULL)
        return;
    struct pull_event ev = {
        .kind = k, .digest = digest, .done = size, .total = size};
    o->on_event(o->event_arg, &ev);
}

/* Layer blob, config and manifest into the store; then the record. */
static int imp_store(struct store *s, const char *src, const char *dir,
                     const struct timespec *t, const struct import_opts *o,
                     char **ret_id, berth_error_t *err)
{
    _cleanup_free_ char *gz = xasprintf("%s/layer", dir);
    _cleanup_free_ char *digest = NULL, *diff = NULL, *cdigest = NULL,
                        *mdigest = NULL;
    _cleanup_json_ json_t *cfg = NULL, *m = NULL, *layers = NULL,
                          *rec = NULL;
    _cleanup_strv_ char **names = NULL;
    int64_t size = 0;
    size_t clen = 0, mlen = 0;

    if (layer_recompress(src, gz, &digest, &diff, &size, err) < 0)
        return berth_error_prefix(err, "%s", src);
    if ((cfg = imp_config(o, diff, t, err)) == NULL ||
        imp_put_json(s, cfg, &cdigest, &clen, err) < 0)
        return -1;
    imp_emit(o, PULL_CONFIG, cdigest, (int64_t)clen);
    imp_emit(o, PULL_BLOB_START, digest, size);
    if (!store_blob_exists(s, digest) &&
        store_blob_commit(s, gz, digest, err) < 0)
        return -1;
    imp_emit(o, PULL_BLOB_DONE, digest, size);
    m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}",
                  "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST, "config",
                  "mediaType", MT_OCI_CONFIG, "digest", cdigest, "size",
                  (json_int_t)clen, "layers", "mediaType", MT_OCI_LAYER_GZIP,
                  "digest", digest, "size", (json_int_t)size);
    if (imp_put_json(s, m, &mdigest, &mlen, err) < 0)
        return -1;
    layers = json_pack("[{s:s,s:s,s:I}]", "digest", digest, "media_type",
                       MT_OCI_LAYER_GZIP, "size", (json_int_t)size);
    if (o->name)
        strv_append(&names, o->name);
    if (image_record_build(s, mdigest, MT_OCI_MANIFEST, cdigest, cfg, layers,
                           names, &rec, err) < 0 ||
        images_put(s, rec, err) < 0)
        return -1;
    imp_emit(o, PULL_MANIFEST, mdigest, 0);
    *ret_id = xstrdup(cdigest + 7);
    return 0;
}

int image_import(struct store *s, const char *source,
                 const struct import_opts *o, char **ret_id,
                 berth_error_t *err)
{
    _cleanup_close_ int pin = -1;
    _cleanup_free_ char *src = NULL;
    struct store_tmp tmp = {0};
    struct timespec t;
    int r = -1;

    /* check the changes before reading a possibly large input */
    _cleanup_json_ json_t *probe = json_object();
    if (config_changes_apply(probe, o->changes, NULL, err) < 0)
        return -1;
    if (store_pin(s, &pin, err) < 0 || store_tmp_new(s, &tmp, err) < 0)
        return -1;
    if (fs_mkdir_p(tmp.path, 0700, err) == 0 &&
        imp_source(source, tmp.path, &src, &t, err) == 0)
        r = imp_store(s, src, tmp.path, &t, o, ret_id, err);
    store_tmp_done(s, &tmp);
    return r;
}
