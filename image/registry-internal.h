/* Private to the registry client: registry.c holds the API calls,
 * registry-http.c one HTTP exchange on libcurl (TLS setup, headers, body
 * sinks, transport and HTTP error messages), registry-auth.c the ping,
 * WWW-Authenticate challenges and bearer tokens. */
#ifndef BERTH_IMAGE_REGISTRY_INTERNAL_H
#define BERTH_IMAGE_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/registry.h"
#include "lib/error.h"
#include "lib/sha256.h"

enum registry_auth_kind {
    REGISTRY_AUTH_NONE,
    REGISTRY_AUTH_BASIC,
    REGISTRY_AUTH_BEARER,
};

struct registry_client {
    char *host;      /* as named: "docker.io", "127.0.0.1:5000" */
    char *api_host;  /* as contacted: "registry-1.docker.io" */
    char *repo;      /* NULL for a client that only pings (login) */
    char *own_scope; /* "repository:REPO:pull[,push]" or NULL */
    bool verify_tls;
    bool http_fallback;

    struct curl_blob ca_blob; /* system bundle + certs.d *.crt, or empty */
    char *client_cert, *client_key;

    bool has_creds;
    char *basic_header; /* "Authorization: Basic ..." when has_creds */

    CURLSH *share; /* DNS cache and TLS sessions across easy handles */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* Held across the ping and token fetches (network I/O): concurrent
     * callers wait for one negotiation instead of each doing their own. */
    pthread_mutex_t auth_lock;
    char *realm, *service; /* bearer challenge; under auth_lock */

    /* Guards the fields below, held only for short reads and writes;
     * taken after auth_lock when both are needed. */
    pthread_mutex_t lock;
    bool pinged;
    const char *scheme; /* "https" or "http" once pinged */
    enum registry_auth_kind auth;
    char *token;
    char **token_scopes;
    unsigned token_gen; /* bumped on every new token */
};

/* Where a 2xx response body goes: memory (fd < 0) or a file, hashed. */
struct registry_sink {
    int fd;
    char *buf; /* NUL-terminated */
    size_t len, cap;
    size_t max;         /* memory: refuse more than this (0: no limit) */
    int64_t max_size;   /* fd: refuse more than this (-1: no limit) */
    struct sha256 hash; /* fd: sha256 of what was written */
    int64_t written;
    const char *too_large_msg;
    bool too_large;
    int write_errno;
};

struct registry_req {
    const char *method; /* "GET", "HEAD", "POST", "PUT"; NULL: GET */
    const char *url;    /* absolute */
    const char *accept;
    const char *content_type;
    const char *body; /* POST/PUT from memory */
    size_t body_len;
    int body_fd; /* PUT from a file when >= 0 (read with pread from 0) */
    int64_t body_size;
    const char *extra_scope;    /* bearer scope needed beyond own_scope */
    struct registry_sink *sink; /* 2xx body; NULL: discarded */
    registry_progress_fn progress;
    void *progress_arg;
    int64_t progress_total; /* -1: take it from the response */
};

struct registry_resp {
    long status;
    CURLcode code;
    int os_errno;
    char errbuf[CURL_ERROR_SIZE];
    char *url;
    char *content_type, *digest, *location, *link;
    char **challenges; /* every WWW-Authenticate value */
    char *errbody;     /* non-2xx body, capped */
    size_t errbody_len;
};

struct registry_challenge {
    char *scheme; /* lowercase: "basic", "bearer", ... */
    char *realm, *service, *scope, *error;
};

/* registry-http.c */
void registry_global_init(void);
int registry_tls_setup(struct registry_client *c, const char *cert_dir,
                       berth_error_t *err);
CURL *registry_handle_new(void);
/* One exchange, no redirects followed.  0 when an HTTP response came
 * (any status), -1 on a transport failure (resp->code, resp->errbuf). */
int registry_perform(struct registry_client *c, CURL *h,
                     const struct registry_req *req, const char *url,
                     const char *authorization, struct registry_resp *resp);
void registry_resp_clear(struct registry_resp *r);
void registry_sink_init(struct registry_sink *s, int fd);
int registry_sink_reset(struct registry_sink *s, berth_error_t *err);
void registry_sink_free(struct registry_sink *s);
/* Error for a failed registry_perform: "connect to H:P: ...", x509 with
 * the certs.d hint, the sink's own reason when it aborted. */
int registry_transport_error(const struct registry_resp *resp,
                             const struct registry_sink *sink,
                             berth_error_t *err);
/* Error for an unexpected status, from the registry's JSON errors when
 * present; errnum EACCES for 401/403, ENOENT for 404 (without strerror). */
int registry_http_error(const struct registry_resp *resp, berth_error_t *err);
/* Resolve a (possibly relative) reference against base; NULL if bad. */
char *registry_url_resolve(const char *base, const char *ref);
/* "host[:port]" of an absolute URL, NULL if bad. */
char *registry_url_hostport(const char *url);
bool registry_same_origin(const char *a, const char *b);
char *registry_escape(const char *s);

/* registry-auth.c */
/* Parse one WWW-Authenticate value (several challenges allowed) and
 * append its challenges to *ret (NULL, or an earlier result: the vector
 * ends with an entry whose scheme is NULL).  Unknown parameters are
 * dropped.  Returns the number of challenges in *ret. */
size_t registry_challenges_parse(const char *value,
                                 struct registry_challenge **ret);
void registry_challenges_free(struct registry_challenge *v, size_t n);
/* The Authorization header line to send now, or NULL; *ret_gen is the
 * token generation it belongs to. */
char *registry_authorization(struct registry_client *c, unsigned *ret_gen);
/* After a 401: adopt the challenge and fetch a new token if nobody else
 * did since gen.  1: retry the request, 0: nothing to try, -1: error. */
int registry_auth_retry(struct registry_client *c, CURL *h,
                        const struct registry_resp *resp, unsigned gen,
                        const char *extra_scope, berth_error_t *err);
/* Make sure the bearer token (if any) also covers scope. */
int registry_auth_need_scope(struct registry_client *c, CURL *h,
                             const char *scope, berth_error_t *err);
void registry_auth_free(struct registry_client *c);

#endif
