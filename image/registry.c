#define _GNU_SOURCE
#include "image/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/registry-internal.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"

const char *const REGISTRY_MANIFEST_ACCEPT =
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v1+prettyjws, "
    "application/vnd.docker.distribution.manifest.v1+json";

#define MANIFEST_MAX (4 * 1024 * 1024)
#define TAGS_PAGE_MAX (32 * 1024 * 1024)
#define TAGS_PAGES_MAX 10000
#define REDIRECTS_MAX 10
/* the first try plus one retry per backoff step */
static const long retry_backoff_ms[] = {500, 1000, 2000};
#define ATTEMPTS_MAX (1 + (int)(sizeof(retry_backoff_ms) / sizeof(long)))

static void curl_cleanupp(CURL **h)
{
    if (*h != NULL)
        curl_easy_cleanup(*h);
}
static void resp_clearp(struct registry_resp *r)
{
    registry_resp_clear(r);
}
static void sink_freep(struct registry_sink *s)
{
    registry_sink_free(s);
}
#define _cleanup_curl_ _cleanup_(curl_cleanupp)
#define _cleanup_resp_ _cleanup_(resp_clearp)
#define _cleanup_sink_ _cleanup_(sink_freep)

/* ---- client ---- */

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access access,
                          void *arg)
{
    struct registry_client *c = arg;
    (void)h;
    (void)access;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *arg)
{
    struct registry_client *c = arg;
    (void)h;
    pthread_mutex_unlock(&c->share_locks[data]);
}

static int client_creds(struct registry_client *c,
                        const struct registry_opts *opts, berth_error_t *err)
{
    struct auth_creds cr = {0};
    int found = 1;

    if (opts->creds != NULL) {
        if (auth_parse_creds(opts->creds, &cr, err) < 0)
            return -1;
    } else {
        _cleanup_free_ char *key =
            c->repo ? xasprintf("%s/%s", c->host, c->repo) : xstrdup(c->host);
        found = auth_lookup(opts->authfile, key, &cr, err);
        if (found < 0)
            return berth_error_prefix(err, "credentials for %s", key);
    }
    if (found > 0 && cr.username != NULL) {
        _cleanup_free_ char *up =
            xasprintf("%s:%s", cr.username, cr.password ? cr.password : "");
        _cleanup_free_ char *b64 = base64_encode(up, strlen(up));
        c->basic_header = xasprintf("Authorization: Basic %s", b64);
        c->has_creds = true;
        explicit_bzero(up, strlen(up));
    }
    auth_creds_clear(&cr);
    return 0;
}

static void client_init_share(struct registry_client *c)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    c->share = curl_share_init();
    if (c->share == NULL)
        abort(); /* only on out of memory */
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    /* Not CURL_LOCK_DATA_CONNECT: libcurl documents sharing connections
     * between concurrent threads as unsupported. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

int registry_client_new(const char *host, const char *repo,
                        const struct registry_opts *opts,
                        struct registry_client **ret, berth_error_t *err)
{
    static const struct registry_opts defaults = {.tls_verify = -1};
    struct registry_client *c;

    if (opts == NULL)
        opts = &defaults;
    registry_global_init();
    c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->auth_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    client_init_share(c);
    c->host = xstrdup(host);
    /* docker.io names the hub; its API lives elsewhere (as docker does) */
    c->api_host =
        xstrdup(strcmp(host, "docker.io") == 0 ? "registry-1.docker.io" : host);
    if (repo != NULL) {
        c->repo = xstrdup(repo);
        c->own_scope = xasprintf("repository:%s:%s", repo,
                                 opts->push ? "pull,push" : "pull");
    }
    /* localhost is not special: podman verifies it too unless told */
    c->verify_tls = opts->tls_verify == 1 ||
                    (opts->tls_verify == -1 && !opts->insecure_conf);
    c->http_fallback = !c->verify_tls;
    c->scheme = "https";

    if (registry_tls_setup(c, opts->cert_dir, err) < 0 ||
        client_creds(c, opts, err) < 0) {
        registry_client_free(c);
        return -1;
    }
    *ret = c;
    return 0;
}

void registry_client_free(struct registry_client *c)
{
    if (c == NULL)
        return;
    curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->auth_lock);
    pthread_mutex_destroy(&c->lock);
    registry_auth_free(c);
    free(c->host);
    free(c->api_host);
    free(c->repo);
    free(c->own_scope);
    free(c->ca_blob.data);
    free(c->client_cert);
    free(c->client_key);
    free(c);
}

/* ---- requests ---- */

static int need_repo(struct registry_client *c, berth_error_t *err)
{
    if (c->repo == NULL)
        return berth_error_new(
            err, EINVAL, "registry client for %s has no repository", c->host);
    return registry_ping(c, err);
}

static char *api_url(struct registry_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *api_url(struct registry_client *c, const char *fmt, ...)
{
    va_list ap;
    char *path = NULL;
    va_start(ap, fmt);
    if (vasprintf(&path, fmt, ap) < 0)
        abort();
    va_end(ap);
    pthread_mutex_lock(&c->lock);
    const char *scheme = c->scheme;
    pthread_mutex_unlock(&c->lock);
    char *url = xasprintf("%s://%s%s", scheme, c->api_host, path);
    free(path);
    return url;
}

static bool is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 ||
           status == 308;
}

/* Follow redirects of a GET or HEAD by hand: the Authorization header
 * goes only to the registry's own origin, never to a CDN. */
static int send_follow(struct registry_client *c, CURL *h,
                       const struct registry_req *req, const char *authz,
                       struct registry_resp *resp, berth_error_t *err)
{
    const char *m = req->method ? req->method : "GET";
    bool follow = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    _cleanup_free_ char *url = xstrdup(req->url);

    for (int hops = 0;; hops++) {
        bool own = hops == 0 || registry_same_origin(req->url, url);
        if (registry_perform(c, h, req, url, own ? authz : NULL, resp) < 0)
            return registry_transport_error(resp, req->sink, err);
        if (!follow || !is_redirect(resp->status) || resp->location == NULL)
            return 0;
        if (hops == REDIRECTS_MAX)
            return berth_error_new(err, 0, "too many redirects from %s",
                                   req->url);
        char *next = registry_url_resolve(url, resp->location);
        if (next == NULL)
            return berth_error_new(err, 0, "bad redirect location \"%s\"",
                                   resp->location);
        free(url);
        url = next;
    }
}

/* One request with the client's auth: on a 401 the challenge is adopted
 * (new token, new scope) and the request retried once. */
static int registry_send(struct registry_client *c, CURL *h,
                         const struct registry_req *req,
                         struct registry_resp *resp, berth_error_t *err)
{
    if (registry_ping(c, err) < 0)
        return -1;
    if (req->extra_scope != NULL &&
        registry_auth_need_scope(c, h, req->extra_scope, err) < 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        unsigned gen = 0;
        _cleanup_free_ char *authz = registry_authorization(c, &gen);
        if (send_follow(c, h, req, authz, resp, err) < 0)
            return -1;
        if (resp->status != 401 || attempt > 0)
            return 0;
        int r = registry_auth_retry(c, h, resp, gen, req->extra_scope, err);
        if (r <= 0)
            return r;
    }
}

static bool transient_code(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static bool transient_status(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 ||
           status == 503 || status == 504;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* registry_send, retried with backoff on connection failures, timeouts,
 * 5xx and 429; the sink is emptied (the blob file truncated) first. */
static int send_retry(struct registry_client *c, CURL *h,
                      const struct registry_req *req,
                      struct registry_resp *resp, berth_error_t *err)
{
    for (int attempt = 1;; attempt++) {
        berth_error_t e = NULL;
        bool last = attempt == ATTEMPTS_MAX;
        int r = registry_send(c, h, req, resp, &e);
        if (r < 0) {
            bool aborted = req->sink != NULL &&
                           (req->sink->too_large || req->sink->write_errno);
            if (last || aborted || !transient_code(resp->code)) {
                if (err != NULL)
                    *err = TAKE_PTR(e);
                berth_error_free(&e);
                return -1;
            }
            berth_error_free(&e);
        } else if (last || !transient_status(resp->status)) {
            return 0;
        }
        resp->code = CURLE_OK;
        sleep_ms(retry_backoff_ms[attempt - 1]);
        if (req->sink != NULL && registry_sink_reset(req->sink, err) < 0)
            return -1;
    }
}

/* ---- manifests ---- */

static bool generic_type(const char *t)
{
    return *t == '\0' || strcmp(t, "application/json") == 0 ||
           strcmp(t, "text/plain") == 0 ||
           strcmp(t, "application/octet-stream") == 0;
}

/* Content-Type when it is specific, else what the body says it is. */
static char *manifest_media_type(const char *content_type, const char *body,
                                 size_t len)
{
    _cleanup_free_ char *ct =
        xstrndup(content_type ? content_type : "",
                 content_type ? strcspn(content_type, "; \t") : 0);
    if (!generic_type(ct))
        return TAKE_PTR(ct);

    _cleanup_json_ json_t *j = json_loadb(body, len, 0, NULL);
    const char *mt = json_get_str(j, "mediaType");
    if (mt != NULL && *mt != '\0')
        return xstrdup(mt);
    if (json_get_int(j, "schemaVersion", 0) == 1)
        return xstrdup(
            json_object_get(j, "signatures")
                ? "application/vnd.docker.distribution.manifest.v1+prettyjws"
                : "application/vnd.docker.distribution.manifest.v1+json");
    if (json_is_array(json_object_get(j, "manifests")))
        return xstrdup("application/vnd.oci.image.index.v1+json");
    if (json_is_object(json_object_get(j, "config")))
        return xstrdup("application/vnd.oci.image.manifest.v1+json");
    return TAKE_PTR(ct);
}

static bool is_digest_ref(const char *reference)
{
    return strchr(reference, ':') != NULL;
}

static int manifest_verify(const char *reference, const char *header_digest,
                           const char *digest, berth_error_t *err)
{
    if (is_digest_ref(reference)) {
        if (strcmp(reference, digest) != 0)
            return berth_error_new(err, 0, "manifest digest mismatch (got %s)",
                                   digest);
        return 0;
    }
    /* a tag: the registry's own digest must agree with the content */
    if (header_digest != NULL && str_has_prefix(header_digest, "sha256:") &&
        strcmp(header_digest, digest) != 0)
        return berth_error_new(err, 0,
                               "manifest digest mismatch: registry says %s, "
                               "content is %s",
                               header_digest, digest);
    return 0;
}

int registry_get_manifest(struct registry_client *c, const char *reference,
                          char **ret_body, size_t *ret_len,
                          char **ret_media_type, char **ret_digest,
                          berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_sink_ struct registry_sink sink;
    _cleanup_free_ char *url = NULL;
    char hex[65];

    registry_sink_init(&sink, -1);
    if (is_digest_ref(reference) && !str_has_prefix(reference, "sha256:"))
        return berth_error_new(err, 0,
                               "fetch manifest %s: unsupported digest "
                               "algorithm",
                               reference);
    if (need_repo(c, err) < 0)
        return -1;
    url = api_url(c, "/v2/%s/manifests/%s", c->repo, reference);
    sink.max = MANIFEST_MAX;
    sink.too_large_msg = "manifest too large (over 4 MiB)";
    struct registry_req req = {.method = "GET",
                               .url = url,
                               .accept = REGISTRY_MANIFEST_ACCEPT,
                               .body_fd = -1,
                               .sink = &sink,
                               .progress_total = -1};
    h = registry_handle_new();
    if (send_retry(c, h, &req, &resp, err) < 0 ||
        (resp.status != 200 && registry_http_error(&resp, err) < 0))
        return berth_error_prefix(err, "fetch manifest %s from %s/%s",
                                  reference, c->host, c->repo);

    const char *body = sink.buf ? sink.buf : "";
    sha256_hex(body, sink.len, hex);
    _cleanup_free_ char *digest = xasprintf("sha256:%s", hex);
    /* A signed schema 1 manifest's digest excludes its signatures, so the
     * registry's header cannot match the bytes; let the caller refuse
     * schema 1 with a message that says so instead of a digest error. */
    bool schema1 = resp.content_type &&
                   str_has_prefix(resp.content_type,
                                  "application/vnd.docker.distribution."
                                  "manifest.v1");
    if (!schema1 && manifest_verify(reference, resp.digest, digest, err) < 0)
        return berth_error_prefix(err, "fetch manifest %s from %s/%s",
                                  reference, c->host, c->repo);

    if (ret_media_type != NULL)
        *ret_media_type =
            manifest_media_type(resp.content_type, body, sink.len);
    if (ret_digest != NULL)
        *ret_digest = TAKE_PTR(digest);
    if (ret_len != NULL)
        *ret_len = sink.len;
    if (ret_body != NULL)
        *ret_body = sink.buf ? TAKE_PTR(sink.buf) : xstrdup("");
    return 0;
}

int registry_put_manifest(struct registry_client *c, const char *reference,
                          const char *body, size_t len, const char *media_type,
                          berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_free_ char *url = NULL;

    if (need_repo(c, err) < 0)
        return -1;
    url = api_url(c, "/v2/%s/manifests/%s", c->repo, reference);
    struct registry_req req = {.method = "PUT",
                               .url = url,
                               .content_type = media_type,
                               .body = body,
                               .body_len = len,
                               .body_fd = -1,
                               .progress_total = -1};
    h = registry_handle_new();
    if (registry_send(c, h, &req, &resp, err) < 0 ||
        ((resp.status < 200 || resp.status > 299) &&
         registry_http_error(&resp, err) < 0))
        return berth_error_prefix(err, "upload manifest %s to %s/%s", reference,
                                  c->host, c->repo);
    return 0;
}

/* ---- blobs ---- */

static int check_digest(const char *what, const char *digest,
                        berth_error_t *err)
{
    if (!str_has_prefix(digest, "sha256:") || strlen(digest) != 71 ||
        strspn(digest + 7, "0123456789abcdef") != 64)
        return berth_error_new(err, 0, "%s %s: unsupported digest", what,
                               digest);
    return 0;
}

static int blob_verify(const char *digest, int64_t expected_size,
                       struct registry_sink *sink, berth_error_t *err)
{
    char hex[65];
    sha256_final_hex(&sink->hash, hex);
    if (strcmp(hex, digest + 7) != 0)
        return berth_error_new(
            err, 0, "blob %s: digest mismatch (got sha256:%s)", digest, hex);
    if (expected_size >= 0 && sink->written != expected_size)
        return berth_error_new(err, 0,
                               "blob %s: size mismatch (got %lld bytes, "
                               "expected %lld)",
                               digest, (long long)sink->written,
                               (long long)expected_size);
    return 0;
}

int registry_get_blob(struct registry_client *c, const char *digest,
                      int64_t expected_size, int fd,
                      registry_progress_fn progress, void *progress_arg,
                      berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_sink_ struct registry_sink sink;
    _cleanup_free_ char *url = NULL;

    registry_sink_init(&sink, fd);
    if (check_digest("fetch blob", digest, err) < 0 || need_repo(c, err) < 0)
        return -1;
    /* a pipe can neither: only a problem if a retry is needed */
    if ((ftruncate(fd, 0) < 0 && errno != EINVAL) ||
        (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE))
        return berth_error_new(err, errno, "fetch blob %s: truncate", digest);
    url = api_url(c, "/v2/%s/blobs/%s", c->repo, digest);
    sink.max_size = expected_size;
    struct registry_req req = {.method = "GET",
                               .url = url,
                               .body_fd = -1,
                               .sink = &sink,
                               .progress = progress,
                               .progress_arg = progress_arg,
                               .progress_total = expected_size};
    h = registry_handle_new();
    if (send_retry(c, h, &req, &resp, err) < 0) {
        if (sink.too_large) {
            berth_error_free(err);
            return berth_error_new(err, 0,
                                   "blob %s larger than expected (%lld "
                                   "bytes)",
                                   digest, (long long)expected_size);
        }
        return berth_error_prefix(err, "fetch blob %s", digest);
    }
    if (resp.status != 200) {
        registry_http_error(&resp, err);
        return berth_error_prefix(err, "fetch blob %s from %s/%s", digest,
                                  c->host, c->repo);
    }
    return blob_verify(digest, expected_size, &sink, err);
}

int registry_blob_exists(struct registry_client *c, const char *digest,
                         berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_free_ char *url = NULL;

    if (need_repo(c, err) < 0)
        return -1;
    url = api_url(c, "/v2/%s/blobs/%s", c->repo, digest);
    struct registry_req req = {
        .method = "HEAD", .url = url, .body_fd = -1, .progress_total = -1};
    h = registry_handle_new();
    if (registry_send(c, h, &req, &resp, err) < 0)
        return berth_error_prefix(err, "check blob %s in %s/%s", digest,
                                  c->host, c->repo);
    if (resp.status == 200)
        return 1;
    if (resp.status == 404)
        return 0;
    registry_http_error(&resp, err);
    return berth_error_prefix(err, "check blob %s in %s/%s", digest, c->host,
                              c->repo);
}

/* POST /v2/<repo>/blobs/uploads/: the upload's URL, digest appended. */
static int upload_start(struct registry_client *c, CURL *h, const char *digest,
                        char **ret_url, berth_error_t *err)
{
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_free_ char *url = api_url(c, "/v2/%s/blobs/uploads/", c->repo);
    struct registry_req req = {
        .method = "POST", .url = url, .body_fd = -1, .progress_total = -1};

    if (registry_send(c, h, &req, &resp, err) < 0)
        return -1;
    if (resp.status != 202)
        return registry_http_error(&resp, err);
    if (resp.location == NULL)
        return berth_error_new(err, 0, "registry gave no upload location");
    _cleanup_free_ char *loc = registry_url_resolve(url, resp.location);
    if (loc == NULL)
        return berth_error_new(err, 0, "bad upload location \"%s\"",
                               resp.location);
    _cleanup_free_ char *esc = registry_escape(digest);
    *ret_url =
        xasprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', esc);
    return 0;
}

int registry_put_blob(struct registry_client *c, const char *digest,
                      const char *path, registry_progress_fn progress,
                      void *progress_arg, berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_free_ char *url = NULL;
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (check_digest("upload blob", digest, err) < 0 || need_repo(c, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return berth_error_new(err, errno, "upload blob %s: open %s", digest,
                               path);
    h = registry_handle_new();
    if (upload_start(c, h, digest, &url, err) < 0)
        return berth_error_prefix(err, "upload blob %s to %s/%s", digest,
                                  c->host, c->repo);
    struct registry_req req = {.method = "PUT",
                               .url = url,
                               .content_type = "application/octet-stream",
                               .body_fd = fd,
                               .body_size = st.st_size,
                               .progress = progress,
                               .progress_arg = progress_arg,
                               .progress_total = st.st_size};
    if (registry_send(c, h, &req, &resp, err) < 0 ||
        ((resp.status < 200 || resp.status > 299) &&
         registry_http_error(&resp, err) < 0))
        return berth_error_prefix(err, "upload blob %s to %s/%s", digest,
                                  c->host, c->repo);
    return 0;
}

int registry_mount_blob(struct registry_client *c, const char *digest,
                        const char *from, berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_free_ char *url = NULL;

    if (check_digest("mount blob", digest, err) < 0 || need_repo(c, err) < 0)
        return -1;
    _cleanup_free_ char *edigest = registry_escape(digest);
    _cleanup_free_ char *efrom = registry_escape(from);
    _cleanup_free_ char *scope = xasprintf("repository:%s:pull", from);
    url = api_url(c, "/v2/%s/blobs/uploads/?mount=%s&from=%s", c->repo, edigest,
                  efrom);
    struct registry_req req = {.method = "POST",
                               .url = url,
                               .body_fd = -1,
                               .extra_scope = scope,
                               .progress_total = -1};
    h = registry_handle_new();
    if (registry_send(c, h, &req, &resp, err) < 0)
        return berth_error_prefix(err, "mount blob %s from %s/%s", digest,
                                  c->host, from);
    if (resp.status == 201)
        return 1;
    /* 202: the registry opened an upload session instead; it expires on
     * its own and the caller uploads through a fresh one. */
    if (resp.status == 202)
        return 0;
    registry_http_error(&resp, err);
    return berth_error_prefix(err, "mount blob %s from %s/%s", digest, c->host,
                              from);
}

/* ---- tags ---- */

/* The target of `Link: <URL>; rel="next"`, or NULL. */
static char *link_next(const char *link)
{
    if (link == NULL)
        return NULL;
    const char *lt = strchr(link, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (gt == NULL || strstr(gt, "next") == NULL)
        return NULL;
    return xstrndup(lt + 1, (size_t)(gt - lt - 1));
}

static int tags_page(struct registry_sink *sink, char ***tags,
                     berth_error_t *err)
{
    _cleanup_json_ json_t *j =
        json_parse_buf(sink->buf ? sink->buf : "", sink->len, "tag list", err);
    if (j == NULL)
        return -1;
    json_t *arr = json_object_get(j, "tags"), *t;
    size_t i;
    /* "tags": null is what distribution sends for a repo without tags */
    json_array_foreach (arr, i, t) {
        if (json_is_string(t))
            strv_append(tags, json_string_value(t));
    }
    return 0;
}

int registry_list_tags(struct registry_client *c, char ***ret_tags,
                       berth_error_t *err)
{
    _cleanup_curl_ CURL *h = NULL;
    _cleanup_resp_ struct registry_resp resp = {0};
    _cleanup_sink_ struct registry_sink sink;
    _cleanup_free_ char *url = NULL;
    _cleanup_strv_ char **tags = NULL;

    registry_sink_init(&sink, -1);
    sink.max = TAGS_PAGE_MAX;
    sink.too_large_msg = "tag list too large";
    if (need_repo(c, err) < 0)
        return -1;
    url = api_url(c, "/v2/%s/tags/list", c->repo);
    h = registry_handle_new();
    for (int page = 0; page < TAGS_PAGES_MAX; page++) {
        struct registry_req req = {.method = "GET",
                                   .url = url,
                                   .body_fd = -1,
                                   .sink = &sink,
                                   .progress_total = -1};
        if (registry_sink_reset(&sink, err) < 0 ||
            send_retry(c, h, &req, &resp, err) < 0 ||
            (resp.status != 200 && registry_http_error(&resp, err) < 0) ||
            tags_page(&sink, &tags, err) < 0)
            return berth_error_prefix(err, "list tags of %s/%s", c->host,
                                      c->repo);
        _cleanup_free_ char *next = link_next(resp.link);
        _cleanup_free_ char *abs =
            next ? registry_url_resolve(url, next) : NULL;
        if (abs == NULL || strcmp(abs, url) == 0)
            break;
        free(url);
        url = TAKE_PTR(abs);
    }
    *ret_tags = tags ? TAKE_PTR(tags) : xcalloc(1, sizeof(char *));
    return 0;
}
