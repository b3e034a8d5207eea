/* Registry client (libcurl): the OCI distribution API v2.  One
 * struct registry_client per (registry host, repository); it remembers the
 * negotiated scheme, auth and token.  Thread-safety: a client may be used
 * from several threads at once for blob GETs (the token is guarded by a
 * mutex); every call makes its own curl easy handle. */
#ifndef BERTH_IMAGE_REGISTRY_H
#define BERTH_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/auth.h"
#include "lib/error.h"

struct registry_opts {
    /* -1: decide from registries.conf insecure= (localhost is not special) (plain http is
     * only tried when TLS verification is off); 0: --tls-verify=false;
     * 1: --tls-verify=true */
    int tls_verify;
    bool insecure_conf;     /* registries.conf says insecure for the host */
    const char *cert_dir;   /* --cert-dir; NULL: /etc/containers/certs.d
                               and ~/.config/containers/certs.d */
    const char *authfile;   /* --authfile or NULL */
    const char *creds;      /* --creds USER[:PASS] or NULL */
    bool push;              /* request pull,push scope */
};

struct registry_client;

/* host is "host[:port]"; "docker.io" is contacted as registry-1.docker.io. */
int registry_client_new(const char *host, const char *repo,
                        const struct registry_opts *opts,
                        struct registry_client **ret, berth_error_t *err);
void registry_client_free(struct registry_client *c);

/* GET /v2/ and set up scheme and auth.  Called lazily by every other call;
 * exposed for `login`, which must verify credentials: fails with
 * "unauthorized: ..." (errnum EACCES) when they are rejected. */
int registry_ping(struct registry_client *c, berth_error_t *err);

/* Accept header listing every manifest type berth understands. */
extern const char *const REGISTRY_MANIFEST_ACCEPT;

/* GET /v2/<repo>/manifests/<reference> (tag or digest).  Returns the body,
 * its media type (Content-Type, or the body's mediaType) and its digest
 * (sha256 of the body).  When reference is a digest, the body is verified
 * against it.  Bodies over 4 MiB are refused ("manifest too large").
 * A 404 fails with errnum ENOENT ("manifest unknown"). */
int registry_get_manifest(struct registry_client *c, const char *reference,
                          char **ret_body, size_t *ret_len,
                          char **ret_media_type, char **ret_digest,
                          berth_error_t *err);

/* Progress callback for blob transfers: bytes so far, total (or -1). */
typedef void (*registry_progress_fn)(void *arg, int64_t done, int64_t total);

/* GET /v2/<repo>/blobs/<digest> into fd (written from offset 0, truncated
 * first on retry), following redirects, retrying transient failures, and
 * verifying the sha256 while streaming; a mismatch fails with
 * "digest mismatch" naming the blob.  expected_size < 0 when unknown;
 * a blob larger than a known expected_size is refused. */
int registry_get_blob(struct registry_client *c, const char *digest,
                      int64_t expected_size, int fd,
                      registry_progress_fn progress, void *progress_arg,
                      berth_error_t *err);

/* HEAD /v2/<repo>/blobs/<digest>: 1 exists, 0 missing. */
int registry_blob_exists(struct registry_client *c, const char *digest,
                         berth_error_t *err);
/* Upload the content of path as digest (POST then PUT, monolithic). */
int registry_put_blob(struct registry_client *c, const char *digest,
                      const char *path, registry_progress_fn progress,
                      void *progress_arg, berth_error_t *err);
/* Try a cross-repository mount of digest from repo `from`: 1 mounted,
 * 0 not (the caller then uploads). */
int registry_mount_blob(struct registry_client *c, const char *digest,
                        const char *from, berth_error_t *err);
/* PUT /v2/<repo>/manifests/<reference>. */
int registry_put_manifest(struct registry_client *c, const char *reference,
                          const char *body, size_t len, const char *media_type,
                          berth_error_t *err);
/* GET /v2/<repo>/tags/list (following Link pagination). */
int registry_list_tags(struct registry_client *c, char ***ret_tags,
                       berth_error_t *err);

#endif
