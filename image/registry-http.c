#define _GNU_SOURCE
#include "image/registry-internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
/* Error bodies are only read for their message; an HTML page from a CDN
 * or proxy can be large. */
#define ERRBODY_MAX (64 * 1024)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
    /* curl_global_init is not thread-safe on every libcurl build; once
     * per process, before any handle. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void registry_global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

CURL *registry_handle_new(void)
{
    CURL *h = curl_easy_init();
    /* curl_easy_init only fails when out of memory */
    if (h == NULL)
        abort();
    return h;
}

/* ---- TLS: certs.d ---- */

static void buf_append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = xrealloc(*buf, *len + n + 2);
    memcpy(*buf + *len, data, n);
    *len += n;
    /* PEM files without a final newline would glue two blocks together */
    if (n > 0 && data[n - 1] != '\n')
        (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
}

static int tls_scan_entry(struct registry_client *c, const char *dir,
                          const char *name, char **cas, size_t *cas_len,
                          berth_error_t *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    size_t n = strlen(name);

    if (str_has_suffix(name, ".crt")) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (fs_read_file(path, &data, &len, err) < 0)
            return berth_error_prefix(err, "read CA certificate");
        buf_append(cas, cas_len, data, len);
    } else if (str_has_suffix(name, ".cert")) {
        _cleanup_free_ char *key =
            xasprintf("%s/%.*s.key", dir, (int)(n - 5), name);
        if (!fs_exists(key))
            return berth_error_new(
                err, 0, "missing key %s for client certificate %s", key, path);
        if (c->client_cert == NULL) {
            c->client_cert = TAKE_PTR(path);
            c->client_key = TAKE_PTR(key);
        }
    } else if (str_has_suffix(name, ".key")) {
        _cleanup_free_ char *cert =
            xasprintf("%s/%.*s.cert", dir, (int)(n - 4), name);
        if (!fs_exists(cert))
            return berth_error_new(
                err, 0, "missing client certificate %s for key %s", cert, path);
    }
    return 0;
}

static int tls_scan_dir(struct registry_client *c, const char *dir, char **cas,
                        size_t *cas_len, berth_error_t *err)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    int r = 0;

    if (n < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return berth_error_new(err, errno, "read certificate directory %s",
                               dir);
    }
    for (int i = 0; i < n; i++) {
        if (r == 0 && ents[i]->d_name[0] != '.')
            r = tls_scan_entry(c, dir, ents[i]->d_name, cas, cas_len, err);
        free(ents[i]);
    }
    free(ents);
    return r;
}

int registry_tls_setup(struct registry_client *c, const char *cert_dir,
                       berth_error_t *err)
{
    _cleanup_free_ char *cas = NULL;
    size_t cas_len = 0;
    _cleanup_strv_ char **dirs = NULL;

    /* As containers-certs.d(5): --cert-dir replaces the per-host
     * directories; otherwise the user's, the system's and docker's are
     * all read. */
    if (cert_dir != NULL) {
        strv_append(&dirs, cert_dir);
    } else {
        const char *home = getenv("HOME");
        if (home != NULL && *home != '\0')
            strv_push(&dirs, xasprintf("%s/.config/containers/certs.d/%s", home,
                                       c->api_host));
        strv_push(&dirs, xasprintf("/etc/containers/certs.d/%s", c->api_host));
        strv_push(&dirs, xasprintf("/etc/docker/certs.d/%s", c->api_host));
    }
    for (char **d = dirs; *d; d++)
        if (tls_scan_dir(c, *d, &cas, &cas_len, err) < 0)
            return -1;
    if (cas_len == 0)
        return 0;

    /* CURLOPT_CAINFO_BLOB replaces the default bundle on some backends:
     * put the system CAs in front so public registries (and token
     * servers) keep working. */
    char *bundle = NULL;
    size_t bundle_len = 0;
    _cleanup_free_ char *sys = NULL;
    size_t sys_len = 0;
    berth_error_t ignored = NULL;
    if (fs_read_file(SYSTEM_CA_BUNDLE, &sys, &sys_len, &ignored) == 0)
        buf_append(&bundle, &bundle_len, sys, sys_len);
    berth_error_free(&ignored);
    buf_append(&bundle, &bundle_len, cas, cas_len);
    c->ca_blob.data = bundle;
    c->ca_blob.len = bundle_len;
    c->ca_blob.flags = CURL_BLOB_NOCOPY;
    return 0;
}

/* ---- sinks ---- */

void registry_sink_init(struct registry_sink *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->max_size = -1;
    sha256_init(&s->hash);
}

int registry_sink_reset(struct registry_sink *s, berth_error_t *err)
{
    if (s->fd >= 0) {
        if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
            return berth_error_new(err, errno, "truncate blob file for retry");
    }
    s->len = 0;
    if (s->buf != NULL)
        s->buf[0] = '\0';
    s->written = 0;
    s->too_large = false;
    s->write_errno = 0;
    sha256_init(&s->hash);
    return 0;
}

void registry_sink_free(struct registry_sink *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
}

static size_t sink_write(struct registry_sink *s, const char *data, size_t n)
{
    if (s->fd >= 0) {
        if (s->max_size >= 0 && s->written + (int64_t)n > s->max_size) {
            s->too_large = true;
            return 0; /* CURLE_WRITE_ERROR aborts the transfer */
        }
        for (size_t off = 0; off < n;) {
            ssize_t w = write(s->fd, data + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                s->write_errno = errno;
                return 0;
            }
            off += (size_t)w;
        }
        sha256_update(&s->hash, data, n);
        s->written += (int64_t)n;
        return n;
    }
    if (s->max > 0 && s->len + n > s->max) {
        s->too_large = true;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->buf = xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    s->written += (int64_t)n;
    return n;
}

/* ---- one exchange ---- */

struct perform_ctx {
    CURL *h;
    const struct registry_req *req;
    struct registry_resp *resp;
    int64_t upload_off;
    int read_errno;
    int64_t last_progress;
};

void registry_resp_clear(struct registry_resp *r)
{
    free(r->url);
    free(r->content_type);
    free(r->digest);
    free(r->location);
    free(r->link);
    strv_free(r->challenges);
    free(r->errbody);
    memset(r, 0, sizeof(*r));
}

static void resp_clear_headers(struct registry_resp *r)
{
    free(r->content_type);
    free(r->digest);
    free(r->location);
    free(r->link);
    strv_free(r->challenges);
    r->content_type = r->digest = r->location = r->link = NULL;
    r->challenges = NULL;
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

static size_t http_header_cb(char *data, size_t size, size_t nitems, void *arg)
{
    struct registry_resp *r = arg;
    size_t n = size * nitems;
    /* A status line starts a new response (100 Continue, a proxy's
     * CONNECT answer): forget the previous one's headers. */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        resp_clear_headers(r);
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (colon == NULL)
        return n;
    _cleanup_free_ char *name = xstrndup(data, (size_t)(colon - data));
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    _cleanup_free_ char *value = xstrndup(v, (size_t)(end - v));

    if (strcasecmp(name, "Content-Type") == 0)
        set_str(&r->content_type, value);
    else if (strcasecmp(name, "Docker-Content-Digest") == 0)
        set_str(&r->digest, value);
    else if (strcasecmp(name, "Location") == 0)
        set_str(&r->location, value);
    else if (strcasecmp(name, "Link") == 0 && strstr(value, "next") != NULL)
        set_str(&r->link, value);
    else if (strcasecmp(name, "WWW-Authenticate") == 0)
        strv_append(&r->challenges, value);
    return n;
}

static bool status_ok(long status)
{
    return status >= 200 && status <= 299;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct perform_ctx *ctx = arg;
    struct registry_resp *r = ctx->resp;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(ctx->h, CURLINFO_RESPONSE_CODE, &status);
    if (status_ok(status)) {
        if (ctx->req->sink == NULL)
            return n;
        return sink_write(ctx->req->sink, data, n);
    }
    /* Redirects and errors: keep the start of the body for the message,
     * never let it reach the blob file. */
    size_t room = ERRBODY_MAX - r->errbody_len;
    size_t take = n < room ? n : room;
    if (take > 0) {
        r->errbody = xrealloc(r->errbody, r->errbody_len + take + 1);
        memcpy(r->errbody + r->errbody_len, data, take);
        r->errbody_len += take;
        r->errbody[r->errbody_len] = '\0';
    }
    return n;
}

static size_t http_read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct perform_ctx *ctx = arg;
    ssize_t r;
    do
        r = pread(ctx->req->body_fd, buf, size * nitems,
                  (off_t)ctx->upload_off);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        ctx->read_errno = errno;
        return CURL_READFUNC_ABORT;
    }
    ctx->upload_off += r;
    return (size_t)r;
}

static int http_xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                            curl_off_t ultotal, curl_off_t ulnow)
{
    struct perform_ctx *ctx = arg;
    const struct registry_req *req = ctx->req;
    bool up = req->body_fd >= 0;
    int64_t now = up ? ulnow : dlnow;
    int64_t total = up ? ultotal : dltotal;

    if (!up) {
        long status = 0;
        curl_easy_getinfo(ctx->h, CURLINFO_RESPONSE_CODE, &status);
        if (!status_ok(status))
            return 0;
    }
    if (req->progress_total >= 0)
        total = req->progress_total;
    else if (total <= 0)
        total = -1;
    if (now != ctx->last_progress) {
        ctx->last_progress = now;
        req->progress(req->progress_arg, now, total);
    }
    return 0;
}

static struct curl_slist *slist_add(struct curl_slist *l, char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);
    free(line);
    if (n == NULL)
        abort(); /* only on out of memory */
    return n;
}

static void http_setup_common(struct registry_client *c, CURL *h,
                              const char *url, struct registry_resp *resp)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
    /* several threads share one client: no signals (alarm-based DNS
     * timeouts) in a threaded program */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A multi-GB layer may take hours; only a stalled transfer fails. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->errbuf);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    /* Redirects are followed by hand: the Authorization header must not
     * follow a blob to a CDN on another host. */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (c->verify_tls) {
        if (c->ca_blob.len > 0)
            curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &c->ca_blob);
    } else {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->client_cert != NULL) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
    }
}

static void http_setup_method(CURL *h, const struct registry_req *req,
                              struct perform_ctx *ctx)
{
    const char *m = req->method ? req->method : "GET";

    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req->body_fd >= 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, http_read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, ctx);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)req->body_size);
        /* after the last byte a registry may be silent for a while as it
         * verifies and moves a large blob into place */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 300L);
        if (strcmp(m, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
        /* POSTFIELDS even when empty: some proxies answer 411 to a POST
         * without Content-Length. */
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (strcmp(m, "PUT") == 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
    if (req->progress != NULL) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_xferinfo_cb);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, ctx);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
}

int registry_perform(struct registry_client *c, CURL *h,
                     const struct registry_req *req, const char *url,
                     const char *authorization, struct registry_resp *resp)
{
    struct perform_ctx ctx = {
        .h = h, .req = req, .resp = resp, .last_progress = -1};
    struct curl_slist *hdrs = NULL;

    registry_resp_clear(resp);
    resp->url = xstrdup(url);
    curl_easy_reset(h);
    http_setup_common(c, h, url, resp);

    /* Go's client (which registries are tested against) never sends
     * Expect: 100-continue; some proxies stall on it. */
    hdrs = slist_add(hdrs, xstrdup("Expect:"));
    if (req->accept != NULL)
        hdrs = slist_add(hdrs, xasprintf("Accept: %s", req->accept));
    if (req->content_type != NULL)
        hdrs =
            slist_add(hdrs, xasprintf("Content-Type: %s", req->content_type));
    else if (req->method != NULL && strcmp(req->method, "POST") == 0)
        hdrs = slist_add(hdrs, xstrdup("Content-Type:"));
    if (authorization != NULL)
        hdrs = slist_add(hdrs, xstrdup(authorization));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
    http_setup_method(h, req, &ctx);

    CURLcode cc = curl_easy_perform(h);
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    /* the handle outlives resp and hdrs: drop its pointers into them */
    curl_easy_reset(h);
    curl_slist_free_all(hdrs);
    resp->code = cc;
    resp->os_errno = (int)os_errno;
    if (ctx.read_errno != 0)
        snprintf(resp->errbuf, sizeof(resp->errbuf), "read upload body: %s",
                 strerror(ctx.read_errno));
    if (cc != CURLE_OK && resp->errbuf[0] == '\0')
        snprintf(resp->errbuf, sizeof(resp->errbuf), "%s",
                 curl_easy_strerror(cc));
    return cc == CURLE_OK ? 0 : -1;
}

/* ---- URLs ---- */

char *registry_url_resolve(const char *base, const char *ref)
{
    CURLU *u = curl_url();
    char *out = NULL, *res = NULL;
    if (u == NULL)
        abort();
    if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
        res = xstrdup(out);
    curl_free(out);
    curl_url_cleanup(u);
    return res;
}

static char *url_part(CURLU *u, CURLUPart part, unsigned flags)
{
    char *v = NULL, *res = NULL;
    if (curl_url_get(u, part, &v, flags) == CURLUE_OK)
        res = xstrdup(v);
    curl_free(v);
    return res;
}

char *registry_url_hostport(const char *url)
{
    CURLU *u = curl_url();
    char *res = NULL;
    if (u == NULL)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        _cleanup_free_ char *host = url_part(u, CURLUPART_HOST, 0);
        _cleanup_free_ char *port = url_part(u, CURLUPART_PORT, 0);
        if (host != NULL)
            res = port ? xasprintf("%s:%s", host, port) : xstrdup(host);
    }
    curl_url_cleanup(u);
    return res;
}

static char *url_origin(const char *url)
{
    CURLU *u = curl_url();
    char *res = NULL;
    if (u == NULL)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        _cleanup_free_ char *scheme = url_part(u, CURLUPART_SCHEME, 0);
        _cleanup_free_ char *host = url_part(u, CURLUPART_HOST, 0);
        _cleanup_free_ char *port =
            url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
        if (scheme && host && port) {
            res = xasprintf("%s://%s:%s", scheme, host, port);
            for (char *p = res; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        }
    }
    curl_url_cleanup(u);
    return res;
}

bool registry_same_origin(const char *a, const char *b)
{
    _cleanup_free_ char *oa = url_origin(a);
    _cleanup_free_ char *ob = url_origin(b);
    return oa != NULL && ob != NULL && strcmp(oa, ob) == 0;
}

char *registry_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (e == NULL)
        abort();
    char *res = xstrdup(e);
    curl_free(e);
    return res;
}

/* ---- error messages ---- */

static int x509_error(const struct registry_resp *resp, const char *hostport,
                      berth_error_t *err)
{
    const char *eb = resp->errbuf;
    const char *what = "x509: certificate verification failed";
    _cleanup_free_ char *hint =
        xasprintf("use --tls-verify=false or add the CA to "
                  "/etc/containers/certs.d/%s/ca.crt",
                  hostport);

    if (strstr(eb, "issuer") != NULL || strstr(eb, "self-signed") != NULL ||
        strstr(eb, "self signed") != NULL)
        what = "x509: certificate signed by unknown authority";
    else if (strstr(eb, "subject name") != NULL ||
             strstr(eb, "does not match") != NULL)
        return berth_error_new(
            err, 0, "x509: certificate is not valid for %s (%s)", hostport, eb);
    else if (strstr(eb, "expired") != NULL)
        what = "x509: certificate has expired or is not yet valid";
    return berth_error_new(err, 0, "%s (%s): %s", what, hint, eb);
}

int registry_transport_error(const struct registry_resp *resp,
                             const struct registry_sink *sink,
                             berth_error_t *err)
{
    _cleanup_free_ char *hp =
        resp->url ? registry_url_hostport(resp->url) : NULL;
    const char *host = hp ? hp : "registry";

    if (sink != NULL && sink->too_large)
        return berth_error_new(err, 0, "%s",
                               sink->too_large_msg ? sink->too_large_msg
                                                   : "response too large");
    if (sink != NULL && sink->write_errno != 0)
        return berth_error_new(err, sink->write_errno, "write");
    switch (resp->code) {
    case CURLE_COULDNT_CONNECT:
        if (resp->os_errno != 0)
            return berth_error_new(err, resp->os_errno, "connect to %s", host);
        return berth_error_new(err, 0, "connect to %s: %s", host, resp->errbuf);
    case CURLE_COULDNT_RESOLVE_HOST:
        return berth_error_new(err, 0, "lookup %s: %s", host, resp->errbuf);
    case CURLE_PEER_FAILED_VERIFICATION:
        return x509_error(resp, host, err);
    case CURLE_SSL_CONNECT_ERROR:
        if (strstr(resp->errbuf, "wrong version number") != NULL)
            return berth_error_new(
                err, 0,
                "server gave HTTP response to HTTPS client (use "
                "--tls-verify=false for a plain-http registry): %s",
                resp->errbuf);
        return berth_error_new(err, 0, "TLS handshake: %s", resp->errbuf);
    default:
        return berth_error_new(err, 0, "%s", resp->errbuf);
    }
}

/* "MANIFEST_UNKNOWN" -> "manifest unknown", as distribution's errcode
 * prints it. */
static char *code_text(const char *code)
{
    char *t = xstrdup(code);
    for (char *p = t; *p; p++)
        *p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
    return t;
}

static char *errors_message(json_t *errs)
{
    _cleanup_strv_ char **parts = NULL;
    size_t i;
    json_t *e;

    json_array_foreach (errs, i, e) {
        const char *code = json_get_str(e, "code");
        const char *msg = json_get_str(e, "message");
        _cleanup_free_ char *ct = code ? code_text(code) : NULL;
        if (ct && msg && *msg && strcasecmp(ct, msg) != 0)
            strv_push(&parts, xasprintf("%s: %s", ct, msg));
        else if (ct || (msg && *msg))
            strv_append(&parts, ct ? ct : msg);
    }
    return parts ? strv_join(parts, "; ") : NULL;
}

/* The message of a registry's or token server's JSON error body. */
static char *body_message(const struct registry_resp *resp)
{
    static const char *const keys[] = {"details", "message",
                                       "error_description", "error"};
    if (resp->errbody == NULL)
        return NULL;
    _cleanup_json_ json_t *j =
        json_loadb(resp->errbody, resp->errbody_len, 0, NULL);
    if (!json_is_object(j))
        return NULL;
    json_t *errs = json_object_get(j, "errors");
    if (json_is_array(errs) && json_array_size(errs) > 0)
        return errors_message(errs);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = json_get_str(j, keys[i]);
        if (v != NULL && *v != '\0')
            return xstrdup(v);
    }
    return NULL;
}

int registry_http_error(const struct registry_resp *resp, berth_error_t *err)
{
    _cleanup_free_ char *msg = body_message(resp);
    int errnum = 0;

    switch (resp->status) {
    case 401:
        errnum = EACCES;
        berth_error_new(err, 0, "%s",
                        msg ? msg : "unauthorized: authentication required");
        break;
    case 403:
        errnum = EACCES;
        berth_error_new(err, 0, "%s",
                        msg ? msg
                            : "denied: requested access to the resource is "
                              "denied");
        break;
    case 404:
        errnum = ENOENT;
        berth_error_new(err, 0, "%s", msg ? msg : "not found");
        break;
    case 429:
        berth_error_new(err, 0, "%s",
                        msg ? msg : "toomanyrequests: too many requests");
        break;
    default:
        if (msg != NULL && resp->status >= 500)
            berth_error_new(err, 0, "registry error (HTTP status %ld): %s",
                            resp->status, msg);
        else if (msg != NULL)
            berth_error_new(err, 0, "%s", msg);
        else
            berth_error_new(err, 0, "unexpected HTTP status %ld", resp->status);
        break;
    }
    /* errnum lets callers tell "denied" and "missing" apart; the message
     * must not get strerror's "Permission denied" appended. */
    if (err != NULL && *err != NULL)
        (*err)->errnum = errnum;
    return -1;
}
