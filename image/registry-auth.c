#define _GNU_SOURCE
#include "image/registry-internal.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

/* ---- WWW-Authenticate (RFC 7235) ---- */

static bool is_tchar(char ch)
{
    return isalnum((unsigned char)ch) ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch));
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A quoted-string (with backslash escapes) or a bare value at p.  Bare
 * values should be tokens, but servers send unquoted URLs as realms. */
static char *parse_value(const char **pp)
{
    const char *p = *pp;
    char *out, *o;

    if (*p != '"') {
        const char *s = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        *pp = p;
        return xstrndup(s, (size_t)(p - s));
    }
    out = o = xmalloc(strlen(p) + 1);
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        *o++ = *p;
    }
    *o = '\0';
    *pp = *p == '"' ? p + 1 : p;
    return out;
}

static void challenge_set(struct registry_challenge *ch, const char *name,
                          size_t len, char *value)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"realm", offsetof(struct registry_challenge, realm)},
        {"service", offsetof(struct registry_challenge, service)},
        {"scope", offsetof(struct registry_challenge, scope)},
        {"error", offsetof(struct registry_challenge, error)},
    };
    for (size_t i = 0; ch && i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].name) == len &&
            strncasecmp(fields[i].name, name, len) == 0) {
            char **f = (char **)((char *)ch + fields[i].off);
            free(*f);
            *f = value;
            return;
        }
    }
    free(value);
}

size_t registry_challenges_parse(const char *value,
                                 struct registry_challenge **ret)
{
    struct registry_challenge *v = *ret;
    size_t n = 0;
    const char *p = value;

    /* append to an existing vector: count it */
    while (v != NULL && v[n].scheme != NULL)
        n++;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *t = p;
        while (is_tchar(*p))
            p++;
        if (p == t) {
            if (*p)
                p++; /* stray character: skip */
            continue;
        }
        size_t tlen = (size_t)(p - t);
        const char *q = skip_ws(p);
        if (*q == '=') {
            /* auth-param of the current challenge */
            p = skip_ws(q + 1);
            challenge_set(n > 0 ? &v[n - 1] : NULL, t, tlen, parse_value(&p));
            continue;
        }
        /* a new challenge: "Scheme" followed by params or the end */
        v = xrealloc(v, (n + 2) * sizeof(*v));
        memset(&v[n], 0, 2 * sizeof(*v));
        v[n].scheme = xstrndup(t, tlen);
        for (char *s = v[n].scheme; *s; s++)
            *s = (char)tolower((unsigned char)*s);
        n++;
    }
    *ret = v;
    return n;
}

void registry_challenges_free(struct registry_challenge *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].scheme);
        free(v[i].realm);
        free(v[i].service);
        free(v[i].scope);
        free(v[i].error);
    }
    free(v);
}

static const struct registry_challenge *
challenge_find(const struct registry_challenge *v, size_t n, const char *scheme)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].scheme, scheme) == 0)
            return &v[i];
    return NULL;
}

/* ---- bearer tokens ---- */

static char *token_url(struct registry_client *c, char *const *scopes)
{
    char *url = xstrdup(c->realm);
    char sep = strchr(url, '?') ? '&' : '?';

    if (c->service != NULL) {
        _cleanup_free_ char *e = registry_escape(c->service);
        char *n = xasprintf("%s%cservice=%s", url, sep, e);
        free(url);
        url = n;
        sep = '&';
    }
    for (char *const *s = scopes; s && *s; s++) {
        _cleanup_free_ char *e = registry_escape(*s);
        char *n = xasprintf("%s%cscope=%s", url, sep, e);
        free(url);
        url = n;
        sep = '&';
    }
    return url;
}

static int token_parse(struct registry_client *c, const char *body, size_t len,
                       char **ret, berth_error_t *err)
{
    _cleanup_json_ json_t *j = json_parse_buf(body, len, "token response", err);
    if (j == NULL)
        return -1;
    const char *t = json_get_str(j, "token");
    if (t == NULL || *t == '\0')
        t = json_get_str(j, "access_token");
    if (t == NULL || *t == '\0')
        return berth_error_new(err, 0, "token response from %s has no token",
                               c->realm);
    *ret = xstrdup(t);
    return 0;
}

/* GET realm?service=..&scope=.. (with the user's credentials when there
 * are any: the docker token protocol); caller holds auth_lock. */
static int fetch_token_locked(struct registry_client *c, CURL *h, char **scopes,
                              berth_error_t *err)
{
    _cleanup_free_ char *url = NULL;
    _cleanup_free_ char *token = NULL;
    struct registry_resp resp = {0};
    struct registry_sink sink;
    struct registry_req req = {
        .method = "GET", .body_fd = -1, .sink = &sink, .progress_total = -1};
    int r = -1;

    if (c->realm == NULL || !(str_has_prefix(c->realm, "https://") ||
                              str_has_prefix(c->realm, "http://")))
        return berth_error_new(err, 0,
                               "authenticate to %s: unsupported token realm "
                               "\"%s\"",
                               c->host, c->realm ? c->realm : "");
    url = token_url(c, scopes);
    registry_sink_init(&sink, -1);
    sink.max = 1024 * 1024;
    sink.too_large_msg = "token response too large";
    req.url = url;
    if (registry_perform(c, h, &req, url, c->has_creds ? c->basic_header : NULL,
                         &resp) < 0) {
        registry_transport_error(&resp, &sink, err);
        berth_error_prefix(err, "get token from %s", c->realm);
    } else if (resp.status != 200) {
        /* Token servers answer bad credentials with 401 and a body like
         * {"details":"incorrect username or password"}. */
        registry_http_error(&resp, err);
        if (resp.status == 401 && err != NULL &&
            !str_has_prefix((*err)->msg, "unauthorized"))
            berth_error_prefix(err, "unauthorized");
        berth_error_prefix(err, "authenticate to %s", c->host);
    } else if (token_parse(c, sink.buf ? sink.buf : "", sink.len, &token,
                           err) == 0) {
        pthread_mutex_lock(&c->lock);
        free(c->token);
        c->token = TAKE_PTR(token);
        strv_free(c->token_scopes);
        c->token_scopes = NULL;
        for (char **s = scopes; s && *s; s++)
            strv_append(&c->token_scopes, *s);
        c->token_gen++;
        c->auth = REGISTRY_AUTH_BEARER;
        pthread_mutex_unlock(&c->lock);
        r = 0;
    }
    registry_resp_clear(&resp);
    registry_sink_free(&sink);
    return r;
}

static void scopes_add(char ***v, const char *s)
{
    if (s != NULL && *s != '\0' && !strv_contains(*v, s))
        strv_append(v, s);
}

char *registry_authorization(struct registry_client *c, unsigned *ret_gen)
{
    char *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->auth == REGISTRY_AUTH_BEARER && c->token != NULL)
        h = xasprintf("Authorization: Bearer %s", c->token);
    else if (c->auth == REGISTRY_AUTH_BASIC && c->has_creds)
        h = xstrdup(c->basic_header);
    *ret_gen = c->token_gen;
    pthread_mutex_unlock(&c->lock);
    return h;
}

static int auth_retry_locked(struct registry_client *c, CURL *h,
                             const struct registry_challenge *bearer,
                             const struct registry_challenge *basic,
                             unsigned gen, const char *extra_scope,
                             berth_error_t *err)
{
    if (bearer != NULL && bearer->realm != NULL) {
        pthread_mutex_lock(&c->lock);
        bool refreshed = c->token_gen != gen;
        pthread_mutex_unlock(&c->lock);
        if (refreshed)
            return 1; /* another thread got a new token meanwhile */
        free(c->realm);
        c->realm = xstrdup(bearer->realm);
        if (bearer->service != NULL) {
            free(c->service);
            c->service = xstrdup(bearer->service);
        }
        /* keep what the token had (mount's extra scopes), add what the
         * registry asks for now */
        _cleanup_strv_ char **scopes = NULL;
        scopes_add(&scopes, c->own_scope);
        pthread_mutex_lock(&c->lock);
        for (char **s = c->token_scopes; s && *s; s++)
            scopes_add(&scopes, *s);
        pthread_mutex_unlock(&c->lock);
        scopes_add(&scopes, bearer->scope);
        scopes_add(&scopes, extra_scope);
        return fetch_token_locked(c, h, scopes, err) < 0 ? -1 : 1;
    }
    if (basic != NULL && c->has_creds) {
        pthread_mutex_lock(&c->lock);
        bool adopt = c->auth != REGISTRY_AUTH_BASIC;
        c->auth = REGISTRY_AUTH_BASIC;
        pthread_mutex_unlock(&c->lock);
        return adopt ? 1 : 0;
    }
    return 0;
}

int registry_auth_retry(struct registry_client *c, CURL *h,
                        const struct registry_resp *resp, unsigned gen,
                        const char *extra_scope, berth_error_t *err)
{
    struct registry_challenge *v = NULL;
    size_t n = 0;
    for (char **s = resp->challenges; s && *s; s++)
        n = registry_challenges_parse(*s, &v);

    pthread_mutex_lock(&c->auth_lock);
    int r =
        auth_retry_locked(c, h, challenge_find(v, n, "bearer"),
                          challenge_find(v, n, "basic"), gen, extra_scope, err);
    pthread_mutex_unlock(&c->auth_lock);
    registry_challenges_free(v, n);
    return r;
}

int registry_auth_need_scope(struct registry_client *c, CURL *h,
                             const char *scope, berth_error_t *err)
{
    int r = 0;
    pthread_mutex_lock(&c->auth_lock);
    pthread_mutex_lock(&c->lock);
    bool need = c->auth == REGISTRY_AUTH_BEARER &&
                !strv_contains(c->token_scopes, scope);
    _cleanup_strv_ char **scopes = NULL;
    if (need) {
        scopes_add(&scopes, c->own_scope);
        for (char **s = c->token_scopes; s && *s; s++)
            scopes_add(&scopes, *s);
        scopes_add(&scopes, scope);
    }
    pthread_mutex_unlock(&c->lock);
    if (need)
        r = fetch_token_locked(c, h, scopes, err);
    pthread_mutex_unlock(&c->auth_lock);
    return r;
}

/* ---- ping ---- */

/* GET /v2/ over https, then http when TLS verification is off (podman's
 * behaviour for insecure registries). */
static int ping_connect(struct registry_client *c, CURL *h,
                        struct registry_resp *resp, const char **ret_scheme,
                        berth_error_t *err)
{
    static const char *const schemes[] = {"https", "http"};
    struct registry_req req = {
        .method = "GET", .body_fd = -1, .progress_total = -1};

    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *url =
            xasprintf("%s://%s/v2/", schemes[i], c->api_host);
        req.url = url;
        if (registry_perform(c, h, &req, url, NULL, resp) == 0) {
            *ret_scheme = schemes[i];
            return 0;
        }
        if (i == 0 && c->http_fallback)
            continue;
        registry_transport_error(resp, NULL, err);
        /* "connect to H: ..." and "lookup H: ..." name it already */
        if (resp->code != CURLE_COULDNT_CONNECT &&
            resp->code != CURLE_COULDNT_RESOLVE_HOST)
            berth_error_prefix(err, "pinging registry %s", c->host);
        return -1;
    }
    return -1;
}

/* Basic auth: check the credentials now, so `login` can report them. */
static int ping_basic(struct registry_client *c, CURL *h, const char *scheme,
                      berth_error_t *err)
{
    struct registry_resp resp = {0};
    struct registry_req req = {
        .method = "GET", .body_fd = -1, .progress_total = -1};
    _cleanup_free_ char *url = xasprintf("%s://%s/v2/", scheme, c->api_host);
    int r = 0;

    req.url = url;
    if (registry_perform(c, h, &req, url, c->basic_header, &resp) < 0) {
        registry_transport_error(&resp, NULL, err);
        r = berth_error_prefix(err, "pinging registry %s", c->host);
    } else if (resp.status != 200) {
        registry_http_error(&resp, err);
        r = berth_error_prefix(err, "authenticate to %s", c->host);
    }
    registry_resp_clear(&resp);
    return r;
}

static int ping_challenge(struct registry_client *c, CURL *h,
                          const struct registry_resp *resp, const char *scheme,
                          berth_error_t *err)
{
    struct registry_challenge *v = NULL;
    size_t n = 0;
    int r = 0;
    for (char **s = resp->challenges; s && *s; s++)
        n = registry_challenges_parse(*s, &v);
    const struct registry_challenge *bearer = challenge_find(v, n, "bearer");
    const struct registry_challenge *basic = challenge_find(v, n, "basic");

    if (bearer != NULL && bearer->realm != NULL) {
        free(c->realm);
        free(c->service);
        c->realm = xstrdup(bearer->realm);
        c->service = bearer->service ? xstrdup(bearer->service) : NULL;
        pthread_mutex_lock(&c->lock);
        c->auth = REGISTRY_AUTH_BEARER;
        pthread_mutex_unlock(&c->lock);
        /* a token now: verifies credentials for login, and every later
         * request needs one anyway */
        if (c->own_scope != NULL || c->has_creds) {
            char *scopes[] = {c->own_scope, NULL};
            r = fetch_token_locked(c, h, scopes, err);
        }
    } else if (basic != NULL) {
        pthread_mutex_lock(&c->lock);
        c->auth = REGISTRY_AUTH_BASIC;
        pthread_mutex_unlock(&c->lock);
        if (c->has_creds)
            r = ping_basic(c, h, scheme, err);
    } else {
        r = berth_error_new(err, 0,
                            "pinging registry %s: unsupported authentication "
                            "challenge \"%s\"",
                            c->host,
                            resp->challenges ? resp->challenges[0] : "");
    }
    registry_challenges_free(v, n);
    return r;
}

static int ping_locked(struct registry_client *c, berth_error_t *err)
{
    CURL *h = registry_handle_new();
    struct registry_resp resp = {0};
    const char *scheme = NULL;
    int r = ping_connect(c, h, &resp, &scheme, err);

    if (r == 0) {
        pthread_mutex_lock(&c->lock);
        c->scheme = scheme;
        pthread_mutex_unlock(&c->lock);
        if (resp.status == 401) {
            r = ping_challenge(c, h, &resp, scheme, err);
        } else if (resp.status != 200) {
            registry_http_error(&resp, err);
            r = berth_error_prefix(err, "pinging registry %s", c->host);
        }
    }
    if (r == 0) {
        pthread_mutex_lock(&c->lock);
        c->pinged = true;
        pthread_mutex_unlock(&c->lock);
    }
    registry_resp_clear(&resp);
    curl_easy_cleanup(h);
    return r;
}

int registry_ping(struct registry_client *c, berth_error_t *err)
{
    pthread_mutex_lock(&c->auth_lock);
    int r = c->pinged ? 0 : ping_locked(c, err);
    pthread_mutex_unlock(&c->auth_lock);
    return r;
}

void registry_auth_free(struct registry_client *c)
{
    free(c->realm);
    free(c->service);
    free(c->token);
    strv_free(c->token_scopes);
    free(c->basic_header);
}
