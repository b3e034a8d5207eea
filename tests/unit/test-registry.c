/* Registry client against the real distribution registry (Debian's
 * docker-registry, plain http and htpasswd), plus a scripted in-process
 * HTTP server for what a stock registry cannot show: bearer tokens,
 * re-challenges, redirects to another host, retries, bad content. */
#define _GNU_SOURCE
#include "image/registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/registry-internal.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "tests/unit/tap.h"

#define REGISTRY_BIN "/usr/bin/docker-registry"

/* ---- helpers ---- */

static char *rt_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/berth-test-registry-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

/* _cleanup_ for a scratch directory: removed with its content */
static void rt_rm_tmpp(char **dir)
{
    berth_error_t err = NULL;
    if (*dir != NULL && fs_rm_rf(*dir, &err) < 0)
        berth_error_free(&err);
    free(*dir);
}
#define _cleanup_tmpdir_ _cleanup_(rt_rm_tmpp)

static int rt_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool rt_can_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static char *rt_write_tmp(const char *dir, const char *name, const void *data,
                          size_t len)
{
    char *path = xasprintf("%s/%s", dir, name);
    berth_error_t err = NULL;
    if (fs_write_file_atomic(path, data, len, 0644, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        free(path);
        return NULL;
    }
    return path;
}

static char *rt_digest(const void *data, size_t len)
{
    char hex[65];
    sha256_hex(data, len, hex);
    return xasprintf("sha256:%s", hex);
}

static bool rt_err_has(berth_error_t err, const char *needle)
{
    if (err == NULL || strstr(err->msg, needle) == NULL) {
        fprintf(stderr, "# error \"%s\" lacks \"%s\"\n",
                err ? err->msg : "(none)", needle);
        return false;
    }
    return true;
}

/* ---- docker-registry processes ---- */

struct rt_registry {
    pid_t pid;
    char *dir;
    char *host; /* "127.0.0.1:PORT" */
};

enum rt_mode { RT_PLAIN, RT_BASIC, RT_TLS };

static struct rt_registry rt_plain, rt_basic, rt_tls;

static void rt_registry_stop(struct rt_registry *r)
{
    berth_error_t err = NULL;
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->dir != NULL && fs_rm_rf(r->dir, &err) < 0)
        berth_error_free(&err);
    free(r->dir);
    free(r->host);
    r->dir = r->host = NULL;
}

static void rt_registries_stop(void)
{
    rt_registry_stop(&rt_plain);
    rt_registry_stop(&rt_basic);
    rt_registry_stop(&rt_tls);
}

static int rt_registry_config(struct rt_registry *r, int port,
                              enum rt_mode mode)
{
    _cleanup_free_ char *extra = NULL;
    _cleanup_free_ char *cmd = NULL;

    if (mode == RT_BASIC) {
        extra = xasprintf("auth:\n  htpasswd:\n    realm: berth\n"
                          "    path: %s/htpasswd\n",
                          r->dir);
        cmd = xasprintf("htpasswd -Bbn user pass > %s/htpasswd", r->dir);
    } else if (mode == RT_TLS) {
        extra = xasprintf("  tls:\n    certificate: %s/cert.pem\n"
                          "    key: %s/key.pem\n",
                          r->dir, r->dir);
        cmd =
            xasprintf("openssl req -x509 -newkey ec -pkeyopt "
                      "ec_paramgen_curve:prime256v1 -nodes -days 2 "
                      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                      "-keyout %s/key.pem -out %s/cert.pem 2>/dev/null",
                      r->dir, r->dir);
    }
    _cleanup_free_ char *cfg =
        xasprintf("version: 0.1\n"
                  "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                  "storage:\n  filesystem:\n    rootdirectory: %s/data\n"
                  "http:\n  addr: 127.0.0.1:%d\n  secret: berth-test\n%s",
                  r->dir, port, extra ? extra : "");
    _cleanup_free_ char *path =
        rt_write_tmp(r->dir, "config.yml", cfg, strlen(cfg));
    if (path == NULL)
        return -1;
    if (cmd != NULL && system(cmd) != 0)
        return 77;
    return 0;
}

static void rt_registry_exec(struct rt_registry *r)
{
    _cleanup_free_ char *cfg = xasprintf("%s/config.yml", r->dir);
    _cleanup_free_ char *log = xasprintf("%s/log", r->dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execl(REGISTRY_BIN, REGISTRY_BIN, "serve", cfg, (char *)NULL);
    _exit(127);
}

/* Started once per test process, shared by the cases, stopped at exit. */
static int rt_registry_start(struct rt_registry *r, enum rt_mode mode)
{
    static bool atexit_done;
    if (r->pid > 0)
        return 0;
    if (access(REGISTRY_BIN, X_OK) != 0)
        return 77;
    if (mode == RT_BASIC && system("command -v htpasswd >/dev/null") != 0)
        return 77;
    if (mode == RT_TLS && system("command -v openssl >/dev/null") != 0)
        return 77;
    if (!atexit_done) {
        atexit(rt_registries_stop);
        atexit_done = true;
    }
    int port = rt_free_port();
    r->dir = rt_tmpdir();
    if (port < 0 || r->dir == NULL)
        return -1;
    r->host = xasprintf("127.0.0.1:%d", port);
    int rc = rt_registry_config(r, port, mode);
    if (rc != 0)
        return rc;
    r->pid = fork();
    if (r->pid < 0)
        return -1;
    if (r->pid == 0)
        rt_registry_exec(r);
    /* no readiness signal from the registry: poll its port */
    for (int i = 0; i < 1000; i++) {
        if (rt_can_connect(port))
            return 0;
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
            fprintf(stderr, "# docker-registry exited early, see %s/log\n",
                    r->dir);
            r->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "# docker-registry did not listen on %s\n", r->host);
    return -1;
}

static struct registry_client *rt_client(const char *host, const char *repo,
                                         const char *creds, bool push)
{
    /* never the credentials of whoever runs the tests */
    struct registry_opts opts = {.tls_verify = 0,
                                 .creds = creds,
                                 .push = push,
                                 .authfile = "/nonexistent/berth-auth.json"};
    struct registry_client *c = NULL;
    berth_error_t err = NULL;
    if (registry_client_new(host, repo, &opts, &c, &err) < 0) {
        fprintf(stderr, "# client: %s\n", err->msg);
        berth_error_free(&err);
        return NULL;
    }
    return c;
}

static void rt_client_freep(struct registry_client **c)
{
    registry_client_free(*c);
}
#define _cleanup_client_ _cleanup_(rt_client_freep)

/* push content as a blob of c's repo; returns its digest */
static char *rt_push_blob(struct registry_client *c, const char *dir,
                          const char *content)
{
    _cleanup_free_ char *path =
        rt_write_tmp(dir, "blob", content, strlen(content));
    char *digest = rt_digest(content, strlen(content));
    berth_error_t err = NULL;
    if (path == NULL ||
        registry_put_blob(c, digest, path, NULL, NULL, &err) < 0) {
        fprintf(stderr, "# put blob: %s\n", err ? err->msg : "write");
        berth_error_free(&err);
        free(digest);
        return NULL;
    }
    return digest;
}

static char *rt_oci_manifest(const char *config_digest, size_t config_len,
                             const char *layer_digest, size_t layer_len)
{
    return xasprintf(
        "{\"schemaVersion\":2,"
        "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/"
        "vnd.oci.image.config.v1+json\","
        "\"digest\":\"%s\",\"size\":%zu},"
        "\"layers\":[{\"mediaType\":\"application/"
        "vnd.oci.image.layer.v1.tar+gzip\","
        "\"digest\":\"%s\",\"size\":%zu}]}",
        config_digest, config_len, layer_digest, layer_len);
}

/* ---- in-process scripted HTTP server ---- */

struct rt_req {
    char method[16];
    char target[1024];
    char head[4096];
};

struct rt_server;
typedef void (*rt_handler)(struct rt_server *s, const struct rt_req *req,
                           int fd);

struct rt_server {
    int lfd;
    int port;
    pthread_t thread;
    rt_handler handler;
    pthread_mutex_t mu;
    struct rt_req log[64];
    int nlog;
    int counter[8]; /* per-test state for the handler */
};

static void rt_send(int fd, int status, const char *headers, const char *body,
                    size_t len)
{
    _cleanup_free_ char *head = xasprintf(
        "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
        status, len, headers ? headers : "");
    if (write(fd, head, strlen(head)) < 0)
        return;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, body + off, len - off);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void rt_send_str(int fd, int status, const char *headers,
                        const char *body)
{
    rt_send(fd, status, headers, body ? body : "", body ? strlen(body) : 0);
}

static bool rt_read_req(int fd, struct rt_req *req)
{
    char buf[8192];
    size_t n = 0;
    /* a TLS ClientHello (curl trying https first): hang up at once */
    if (recv(fd, buf, 1, MSG_PEEK) != 1 || buf[0] == 0x16)
        return false;
    while (n < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        /* drain a request body so the client sees our answer */
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
        size_t have = n - (size_t)(end + 4 - buf);
        while (have < want) {
            char sink[65536];
            ssize_t r2 = read(fd, sink, sizeof(sink));
            if (r2 <= 0)
                break;
            have += (size_t)r2;
        }
        *end = '\0';
        size_t hl = strlen(buf);
        if (hl >= sizeof(req->head))
            hl = sizeof(req->head) - 1;
        memcpy(req->head, buf, hl);
        req->head[hl] = '\0';
        if (sscanf(buf, "%15s %1023s", req->method, req->target) != 2)
            return false;
        return true;
    }
    return false;
}

static void *rt_server_main(void *arg)
{
    struct rt_server *s = arg;
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        struct rt_req req;
        if (rt_read_req(fd, &req)) {
            pthread_mutex_lock(&s->mu);
            if (s->nlog < 64)
                s->log[s->nlog++] = req;
            pthread_mutex_unlock(&s->mu);
            s->handler(s, &req, fd);
        }
        close(fd);
    }
}

static int rt_server_start(struct rt_server *s, rt_handler handler)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    memset(s, 0, sizeof(*s));
    s->handler = handler;
    pthread_mutex_init(&s->mu, NULL);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(s->lfd, 16) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, rt_server_main, s) == 0 ? 0 : -1;
}

static void rt_server_stop(struct rt_server *s)
{
    /* shutdown wakes the thread blocked in accept */
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
}

/* the n-th logged request whose target starts with prefix */
static const struct rt_req *rt_logged(struct rt_server *s, const char *prefix,
                                      int nth)
{
    for (int i = 0; i < s->nlog; i++)
        if (str_has_prefix(s->log[i].target, prefix) && nth-- == 0)
            return &s->log[i];
    return NULL;
}

/* ---- cases: parsing and errors without a server ---- */

static int test_challenges(void)
{
    struct registry_challenge *v = NULL;
    size_t n = registry_challenges_parse(
        "Bearer realm=\"https://auth.docker.io/token\","
        "service=\"registry.docker.io\","
        "scope=\"repository:library/alpine:pull\"",
        &v);
    TAP_CHECK(n == 1);
    TAP_STREQ(v[0].scheme, "bearer");
    TAP_STREQ(v[0].realm, "https://auth.docker.io/token");
    TAP_STREQ(v[0].service, "registry.docker.io");
    TAP_STREQ(v[0].scope, "repository:library/alpine:pull");
    n = registry_challenges_parse(
        "Basic realm=\"a, \\\"b\\\"\" , BEARER Realm=http://x/t, "
        "Service = s1 ,error=\"insufficient_scope\"",
        &v);
    TAP_CHECK(n == 3);
    TAP_STREQ(v[1].scheme, "basic");
    TAP_STREQ(v[1].realm, "a, \"b\"");
    TAP_STREQ(v[2].scheme, "bearer");
    TAP_STREQ(v[2].realm, "http://x/t");
    TAP_STREQ(v[2].service, "s1");
    TAP_STREQ(v[2].error, "insufficient_scope");
    TAP_CHECK(v[2].scope == NULL);
    TAP_CHECK(v[3].scheme == NULL);
    registry_challenges_free(v, n);
    v = NULL;
    n = registry_challenges_parse(
        "Bearer realm=https://h/token?a=b,service=x", &v);
    TAP_CHECK(n == 1);
    TAP_STREQ(v[0].realm, "https://h/token?a=b");
    TAP_STREQ(v[0].service, "x");
    registry_challenges_free(v, n);
    v = NULL;
    TAP_CHECK(registry_challenges_parse("", &v) == 0 && v == NULL);
    return 0;
}

static int test_connect_refused(void)
{
    struct registry_opts opts = {.tls_verify = 1};
    _cleanup_client_ struct registry_client *c = NULL;
    _cleanup_error_ berth_error_t err = NULL;
    int port = rt_free_port();
    _cleanup_free_ char *host = xasprintf("127.0.0.1:%d", port);
    _cleanup_free_ char *want =
        xasprintf("connect to %s: Connection refused", host);

    TAP_CHECK(registry_client_new(host, "foo", &opts, &c, &err) == 0);
    TAP_CHECK(registry_ping(c, &err) < 0);
    TAP_STREQ(err->msg, want);
    return 0;
}

static int test_https_to_http_server(void)
{
    struct registry_opts opts = {.tls_verify = -1};
    _cleanup_client_ struct registry_client *c = NULL;
    _cleanup_error_ berth_error_t err = NULL;
    int rc = rt_registry_start(&rt_plain, RT_PLAIN);
    if (rc != 0)
        return rc;
    /* not insecure in registries.conf: https only, even for 127.0.0.1 */
    TAP_CHECK(registry_client_new(rt_plain.host, "foo", &opts, &c, &err) == 0);
    TAP_CHECK(registry_ping(c, &err) < 0);
    TAP_CHECK(rt_err_has(err, "pinging registry 127.0.0.1:"));
    TAP_CHECK(rt_err_has(err, "server gave HTTP response to HTTPS client"));
    registry_client_free(TAKE_PTR(c));
    berth_error_free(&err);
    /* insecure in registries.conf: falls back to http */
    opts.insecure_conf = true;
    TAP_CHECK(registry_client_new(rt_plain.host, "foo", &opts, &c, &err) == 0);
    TAP_CHECK(registry_ping(c, &err) == 0);
    return 0;
}

/* ---- cases: docker-registry ---- */

struct rt_progress {
    int64_t done, total;
    int calls;
};

static void rt_progress_cb(void *arg, int64_t done, int64_t total)
{
    struct rt_progress *p = arg;
    p->done = done;
    p->total = total;
    p->calls++;
}

static int rt_get_blob_file(struct registry_client *c, const char *dir,
                            const char *digest, int64_t size, char **ret,
                            berth_error_t *err)
{
    _cleanup_free_ char *path = xasprintf("%s/out", dir);
    _cleanup_close_ int fd =
        open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return berth_error_new(err, errno, "open %s", path);
    if (registry_get_blob(c, digest, size, fd, NULL, NULL, err) < 0)
        return -1;
    return fs_read_file(path, ret, NULL, err);
}

static int test_blob_roundtrip(void)
{
    int rc = rt_registry_start(&rt_plain, RT_PLAIN);
    if (rc != 0)
        return rc;
    _cleanup_client_ struct registry_client *c =
        rt_client(rt_plain.host, "foo", NULL, true);
    _cleanup_error_ berth_error_t err = NULL;
    const char *content = "hello, registry\n";
    _cleanup_free_ char *digest = NULL;
    _cleanup_free_ char *other = rt_digest("absent", 6);
    _cleanup_free_ char *path = xasprintf("%s/out", rt_plain.dir);
    _cleanup_free_ char *got = NULL;
    struct rt_progress prog = {0};

    TAP_CHECK(c != NULL);
    TAP_CHECK(registry_ping(c, &err) == 0);
    TAP_CHECK(registry_blob_exists(c, other, &err) == 0);
    digest = rt_push_blob(c, rt_plain.dir, content);
    TAP_CHECK(digest != NULL);
    TAP_CHECK(registry_blob_exists(c, digest, &err) == 1);

    _cleanup_close_ int fd =
        open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    TAP_CHECK(fd >= 0);
    TAP_CHECK(registry_get_blob(c, digest, (int64_t)strlen(content), fd,
                                rt_progress_cb, &prog, &err) == 0);
    TAP_CHECK(fs_read_file(path, &got, NULL, &err) == 0);
    TAP_STREQ(got, content);
    TAP_CHECK(prog.calls > 0 && prog.done == (int64_t)strlen(content) &&
              prog.total == (int64_t)strlen(content));

    /* a known size smaller than the blob: refused */
    TAP_CHECK(registry_get_blob(c, digest, 3, fd, NULL, NULL, &err) < 0);
    TAP_CHECK(rt_err_has(err, "larger than expected"));
    berth_error_free(&err);

    /* a digest the registry lacks */
    free(got);
    got = NULL;
    TAP_CHECK(rt_get_blob_file(c, rt_plain.dir, other, -1, &got, &err) < 0);
    TAP_CHECK(err->errnum == ENOENT);
    TAP_CHECK(rt_err_has(err, "blob unknown"));
    berth_error_free(&err);

    /* cross-repository mount */
    _cleanup_client_ struct registry_client *c2 =
        rt_client(rt_plain.host, "bar", NULL, true);
    TAP_CHECK(c2 != NULL);
    TAP_CHECK(registry_blob_exists(c2, digest, &err) == 0);
    TAP_CHECK(registry_mount_blob(c2, digest, "foo", &err) == 1);
    TAP_CHECK(registry_blob_exists(c2, digest, &err) == 1);
    TAP_CHECK(registry_mount_blob(c2, other, "foo", &err) == 0);

    /* upload progress */
    char big[100000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    _cleanup_free_ char *bpath =
        rt_write_tmp(rt_plain.dir, "big", big, strlen(big));
    _cleanup_free_ char *bd = rt_digest(big, strlen(big));
    TAP_CHECK(bpath != NULL);
    memset(&prog, 0, sizeof(prog));
    TAP_CHECK(registry_put_blob(c, bd, bpath, rt_progress_cb, &prog, &err) ==
              0);
    TAP_CHECK(prog.calls > 0 && prog.done == (int64_t)strlen(big) &&
              prog.total == (int64_t)strlen(big));
    TAP_CHECK(registry_blob_exists(c, bd, &err) == 1);
    /* a digest that does not match the upload: the registry refuses */
    TAP_CHECK(registry_put_blob(c, other, bpath, NULL, NULL, &err) < 0);
    TAP_CHECK(rt_err_has(err, "upload blob"));
    TAP_CHECK(rt_err_has(err, "digest invalid"));
    return 0;
}

struct rt_thread_arg {
    struct registry_client *c;
    const char *digest;
    const char *content;
    int ok;
};

static void *rt_thread_get(void *p)
{
    struct rt_thread_arg *a = p;
    _cleanup_tmpdir_ char *dir = rt_tmpdir();
    _cleanup_free_ char *got = NULL;
    berth_error_t err = NULL;
    if (dir == NULL)
        return NULL;
    if (rt_get_blob_file(a->c, dir, a->digest, (int64_t)strlen(a->content),
                         &got, &err) == 0)
        a->ok = strcmp(got, a->content) == 0;
    else
        fprintf(stderr, "# thread: %s\n", err->msg);
    berth_error_free(&err);
    return NULL;
}

/* one client, several threads at once, before anyone pinged */
static int test_concurrent_gets(void)
{
    int rc = rt_registry_start(&rt_basic, RT_BASIC);
    if (rc != 0)
        return rc;
    const char *content = "shared by threads";
    _cleanup_client_ struct registry_client *pusher =
        rt_client(rt_basic.host, "mt", "user:pass", true);
    TAP_CHECK(pusher != NULL);
    _cleanup_free_ char *digest = rt_push_blob(pusher, rt_basic.dir, content);
    TAP_CHECK(digest != NULL);
    _cleanup_client_ struct registry_client *c =
        rt_client(rt_basic.host, "mt", "user:pass", false);
    TAP_CHECK(c != NULL);
    struct rt_thread_arg args[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (struct rt_thread_arg){c, digest, content, 0};
        TAP_CHECK(pthread_create(&th[i], NULL, rt_thread_get, &args[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    TAP_CHECK(ok == 6);
    return 0;
}

static int test_manifest_roundtrip(void)
{
    int rc = rt_registry_start(&rt_plain, RT_PLAIN);
    if (rc != 0)
        return rc;
    _cleanup_client_ struct registry_client *c =
        rt_client(rt_plain.host, "app/one", NULL, true);
    _cleanup_error_ berth_error_t err = NULL;
    const char *config = "{}", *layer = "not really a tarball";
    _cleanup_free_ char *cd = NULL, *ld = NULL, *m = NULL, *md = NULL;
    _cleanup_free_ char *body = NULL, *type = NULL, *digest = NULL;
    size_t len = 0;

    TAP_CHECK(c != NULL);
    cd = rt_push_blob(c, rt_plain.dir, config);
    ld = rt_push_blob(c, rt_plain.dir, layer);
    TAP_CHECK(cd != NULL && ld != NULL);
    m = rt_oci_manifest(cd, strlen(config), ld, strlen(layer));
    md = rt_digest(m, strlen(m));
    TAP_CHECK(registry_put_manifest(
                  c, "v1", m, strlen(m),
                  "application/vnd.oci.image.manifest.v1+json", &err) == 0);

    TAP_CHECK(
        registry_get_manifest(c, "v1", &body, &len, &type, &digest, &err) == 0);
    TAP_CHECK(len == strlen(m));
    TAP_STREQ(body, m);
    TAP_STREQ(type, "application/vnd.oci.image.manifest.v1+json");
    TAP_STREQ(digest, md);
    free(body);
    free(type);
    free(digest);
    body = type = digest = NULL;
    TAP_CHECK(registry_get_manifest(c, md, &body, &len, &type, &digest, &err) ==
              0);
    TAP_STREQ(body, m);
    TAP_STREQ(digest, md);

    /* unknown tag */
    TAP_CHECK(registry_get_manifest(c, "nope", NULL, NULL, NULL, NULL, &err) <
              0);
    TAP_CHECK(err->errnum == ENOENT);
    TAP_CHECK(rt_err_has(err, "manifest unknown"));
    TAP_CHECK(rt_err_has(err, "nope"));
    TAP_CHECK(rt_err_has(err, rt_plain.host));
    return 0;
}

static int test_list_tags(void)
{
    int rc = rt_registry_start(&rt_plain, RT_PLAIN);
    if (rc != 0)
        return rc;
    _cleanup_client_ struct registry_client *c =
        rt_client(rt_plain.host, "tags", NULL, true);
    _cleanup_error_ berth_error_t err = NULL;
    _cleanup_strv_ char **tags = NULL;
    _cleanup_free_ char *cd = NULL, *ld = NULL, *m = NULL;

    TAP_CHECK(c != NULL);
    cd = rt_push_blob(c, rt_plain.dir, "{\"a\":1}");
    ld = rt_push_blob(c, rt_plain.dir, "layer");
    TAP_CHECK(cd != NULL && ld != NULL);
    m = rt_oci_manifest(cd, 7, ld, 5);
    const char *want[] = {"1.0", "latest", "v2"};
    for (int i = 0; i < 3; i++)
        TAP_CHECK(registry_put_manifest(
                      c, want[i], m, strlen(m),
                      "application/vnd.oci.image.manifest.v1+json", &err) == 0);
    TAP_CHECK(registry_list_tags(c, &tags, &err) == 0);
    TAP_CHECK(strv_len(tags) == 3);
    for (int i = 0; i < 3; i++)
        TAP_CHECK(strv_contains(tags, want[i]));

    /* a repository that does not exist */
    _cleanup_client_ struct registry_client *c2 =
        rt_client(rt_plain.host, "none", NULL, false);
    TAP_CHECK(c2 != NULL);
    TAP_CHECK(registry_list_tags(c2, &tags, &err) < 0);
    TAP_CHECK(err->errnum == ENOENT);
    TAP_CHECK(rt_err_has(err, "name unknown"));
    return 0;
}

static int test_basic_auth(void)
{
    int rc = rt_registry_start(&rt_basic, RT_BASIC);
    if (rc != 0)
        return rc;
    _cleanup_error_ berth_error_t err = NULL;
    _cleanup_strv_ char **tags = NULL;
    _cleanup_free_ char *digest = NULL;

    /* no credentials: the ping works, the repository is denied */
    _cleanup_client_ struct registry_client *anon =
        rt_client(rt_basic.host, "foo", NULL, false);
    TAP_CHECK(anon != NULL);
    TAP_CHECK(registry_list_tags(anon, &tags, &err) < 0);
    TAP_CHECK(err->errnum == EACCES);
    TAP_CHECK(rt_err_has(err, "unauthorized: authentication required"));
    TAP_CHECK(rt_err_has(err, rt_basic.host));
    berth_error_free(&err);

    /* wrong password: ping (what login uses) fails */
    _cleanup_client_ struct registry_client *bad =
        rt_client(rt_basic.host, "foo", "user:wrong", false);
    TAP_CHECK(bad != NULL);
    TAP_CHECK(registry_ping(bad, &err) < 0);
    TAP_CHECK(err->errnum == EACCES);
    TAP_CHECK(rt_err_has(err, "unauthorized"));
    berth_error_free(&err);

    _cleanup_client_ struct registry_client *c =
        rt_client(rt_basic.host, "foo", "user:pass", true);
    TAP_CHECK(c != NULL);
    TAP_CHECK(registry_ping(c, &err) == 0);
    digest = rt_push_blob(c, rt_basic.dir, "secret layer");
    TAP_CHECK(digest != NULL);
    TAP_CHECK(registry_blob_exists(c, digest, &err) == 1);

    /* credentials from an auth.json, looked up for host/repo */
    _cleanup_free_ char *json = xasprintf(
        "{\"auths\":{\"%s\":{\"auth\":\"dXNlcjpwYXNz\"}}}", rt_basic.host);
    _cleanup_free_ char *authfile =
        rt_write_tmp(rt_basic.dir, "auth.json", json, strlen(json));
    struct registry_opts opts = {.tls_verify = 0, .authfile = authfile};
    _cleanup_client_ struct registry_client *c2 = NULL;
    _cleanup_free_ char *got = NULL;
    TAP_CHECK(authfile != NULL);
    TAP_CHECK(registry_client_new(rt_basic.host, "foo", &opts, &c2, &err) == 0);
    TAP_CHECK(rt_get_blob_file(c2, rt_basic.dir, digest, -1, &got, &err) == 0);
    TAP_STREQ(got, "secret layer");
    return 0;
}

static int rt_tls_checks(const char *certs, const char *cacrt)
{
    _cleanup_error_ berth_error_t err = NULL;
    _cleanup_client_ struct registry_client *c = NULL;
    struct registry_opts opts = {.tls_verify = -1};
    _cleanup_free_ char *hint =
        xasprintf("x509: certificate signed by unknown authority (use "
                  "--tls-verify=false or add the CA to "
                  "/etc/containers/certs.d/%s/ca.crt)",
                  rt_tls.host);

    /* 127.0.0.1 is verified like any host */
    TAP_CHECK(registry_client_new(rt_tls.host, "foo", &opts, &c, &err) == 0);
    TAP_CHECK(registry_ping(c, &err) < 0);
    TAP_CHECK(rt_err_has(err, "pinging registry 127.0.0.1:"));
    TAP_CHECK(rt_err_has(err, hint));
    berth_error_free(&err);
    registry_client_free(TAKE_PTR(c));

    /* --tls-verify=false: https without verification, no http */
    opts.tls_verify = 0;
    TAP_CHECK(registry_client_new(rt_tls.host, "foo", &opts, &c, &err) == 0);
    _cleanup_free_ char *d1 = rt_push_blob(c, rt_tls.dir, "over tls");
    TAP_CHECK(d1 != NULL);
    TAP_CHECK(strcmp(c->scheme, "https") == 0);
    registry_client_free(TAKE_PTR(c));

    /* the CA in a certs.d directory */
    opts.tls_verify = 1;
    opts.cert_dir = certs;
    TAP_CHECK(registry_client_new(rt_tls.host, "foo", &opts, &c, &err) == 0);
    TAP_CHECK(registry_blob_exists(c, d1, &err) == 1);
    registry_client_free(TAKE_PTR(c));

    /* a client certificate without its key */
    _cleanup_free_ char *cert = xasprintf("%s/client.cert", certs);
    TAP_CHECK(fs_copy_file(cacrt, cert, &err) == 0);
    TAP_CHECK(registry_client_new(rt_tls.host, "foo", &opts, &c, &err) < 0);
    TAP_CHECK(rt_err_has(err, "missing key"));
    return 0;
}

static int test_tls(void)
{
    int rc = rt_registry_start(&rt_tls, RT_TLS);
    if (rc != 0)
        return rc;
    _cleanup_free_ char *certs = xasprintf("%s/certs", rt_tls.dir);
    _cleanup_free_ char *pem = xasprintf("%s/cert.pem", rt_tls.dir);
    _cleanup_free_ char *cacrt = xasprintf("%s/ca.crt", certs);
    berth_error_t err = NULL;
    if (fs_mkdir_p(certs, 0755, &err) < 0 ||
        fs_copy_file(pem, cacrt, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    return rt_tls_checks(certs, cacrt);
}

/* ---- cases: scripted server ---- */

#define RT_BLOB "layer bytes from the CDN"

static bool rt_has_header(const struct rt_req *req, const char *line)
{
    return strcasestr(req->head, line) != NULL;
}

/* Registry and token server in one: tokens tok1, tok2, ...; the first
 * manifest GET is re-challenged, the first blob GET fails with 503, the
 * second is redirected to "localhost" (another origin). */
static void rt_bearer_handler(struct rt_server *s, const struct rt_req *req,
                              int fd)
{
    _cleanup_free_ char *chal = xasprintf(
        "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
        "service=\"test\",scope=\"repository:foo:pull\"\r\n",
        s->port);
    _cleanup_free_ char *blob_digest = rt_digest(RT_BLOB, strlen(RT_BLOB));
    bool authed = strstr(req->head, "Authorization: Bearer tok") != NULL;

    if (str_has_prefix(req->target, "/token")) {
        if (!rt_has_header(req, "Authorization: Basic dXNlcjpwYXNz")) {
            rt_send_str(fd, 401, NULL,
                        "{\"details\":\"incorrect username or password\"}");
            return;
        }
        _cleanup_free_ char *tok =
            xasprintf("{\"token\":\"tok%d\"}", ++s->counter[0]);
        rt_send_str(fd, 200, "Content-Type: application/json\r\n", tok);
    } else if (strcmp(req->target, "/cdn/blob") == 0) {
        if (rt_has_header(req, "Authorization:"))
            rt_send_str(fd, 400, NULL, "credentials leaked to the CDN");
        else
            rt_send_str(fd, 200, NULL, RT_BLOB);
    } else if (!authed) {
        rt_send_str(fd, 401, chal,
                    "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":"
                    "\"authentication required\"}]}");
    } else if (strcmp(req->target, "/v2/") == 0) {
        rt_send_str(fd, 200, NULL, "{}");
    } else if (strcmp(req->target, "/v2/foo/manifests/latest") == 0) {
        if (s->counter[1]++ == 0) {
            rt_send_str(fd, 401, chal, NULL); /* "expired" */
            return;
        }
        rt_send_str(fd, 200,
                    "Content-Type: application/vnd.oci.image.index.v1+json\r\n",
                    "{\"schemaVersion\":2,\"manifests\":[]}");
    } else if (str_has_prefix(req->target, "/v2/foo/blobs/") &&
               strstr(req->target, blob_digest) != NULL) {
        if (s->counter[2]++ == 0) {
            rt_send_str(fd, 503, NULL, "busy");
            return;
        }
        _cleanup_free_ char *loc =
            xasprintf("Location: http://localhost:%d/cdn/blob\r\n", s->port);
        rt_send_str(fd, 307, loc, NULL);
    } else if (strcmp(req->target, "/v2/foo/tags/list") == 0) {
        rt_send_str(fd, 200,
                    "Link: </v2/foo/tags/list?last=b&n=2>; rel=\"next\"\r\n",
                    "{\"name\":\"foo\",\"tags\":[\"a\",\"b\"]}");
    } else if (strcmp(req->target, "/v2/foo/tags/list?last=b&n=2") == 0) {
        rt_send_str(fd, 200, NULL, "{\"name\":\"foo\",\"tags\":[\"c\"]}");
    } else {
        rt_send_str(fd, 404, NULL, NULL);
    }
}

static int rt_bearer_checks(struct rt_server *s, struct registry_client *c)
{
    _cleanup_error_ berth_error_t err = NULL;
    _cleanup_free_ char *body = NULL, *type = NULL;
    _cleanup_free_ char *digest = rt_digest(RT_BLOB, strlen(RT_BLOB));
    _cleanup_strv_ char **tags = NULL;
    _cleanup_tmpdir_ char *dir = rt_tmpdir();
    _cleanup_free_ char *got = NULL;

    TAP_CHECK(dir != NULL);
    TAP_CHECK(registry_get_manifest(c, "latest", &body, NULL, &type, NULL,
                                    &err) == 0);
    TAP_STREQ(type, "application/vnd.oci.image.index.v1+json");
    TAP_CHECK(s->counter[0] == 2); /* a second token after the re-challenge */
    const struct rt_req *tok = rt_logged(s, "/token", 0);
    TAP_CHECK(tok != NULL);
    TAP_CHECK(strstr(tok->target, "service=test") != NULL);
    TAP_CHECK(strstr(tok->target, "scope=repository%3Afoo%3Apull") != NULL);

    int r =
        rt_get_blob_file(c, dir, digest, (int64_t)strlen(RT_BLOB), &got, &err);
    if (r < 0)
        fprintf(stderr, "# %s\n", err->msg);
    TAP_CHECK(r == 0);
    TAP_STREQ(got, RT_BLOB);
    TAP_CHECK(s->counter[2] == 2); /* retried after the 503 */

    TAP_CHECK(registry_list_tags(c, &tags, &err) == 0);
    TAP_CHECK(strv_len(tags) == 3);
    TAP_STREQ(tags[0], "a");
    TAP_STREQ(tags[2], "c");
    return 0;
}

static int test_bearer_redirect_retry(void)
{
    struct rt_server s;
    TAP_CHECK(rt_server_start(&s, rt_bearer_handler) == 0);
    _cleanup_free_ char *host = xasprintf("127.0.0.1:%d", s.port);
    struct registry_client *c = rt_client(host, "foo", "user:pass", false);
    int r = c ? rt_bearer_checks(&s, c) : -1;
    registry_client_free(c);

    /* wrong password: the token server's message, EACCES */
    _cleanup_error_ berth_error_t err = NULL;
    c = rt_client(host, "foo", "user:nope", false);
    int r2 = c ? registry_ping(c, &err) : 0;
    registry_client_free(c);
    rt_server_stop(&s);
    TAP_CHECK(r == 0);
    TAP_CHECK(r2 < 0);
    TAP_CHECK(err->errnum == EACCES);
    TAP_CHECK(rt_err_has(err, "unauthorized: incorrect username or password"));
    return 0;
}

static void rt_bad_handler(struct rt_server *s, const struct rt_req *req,
                           int fd)
{
    (void)s;
    if (strcmp(req->target, "/v2/") == 0) {
        rt_send_str(fd, 200, NULL, "{}");
    } else if (strcmp(req->target, "/v2/foo/manifests/big") == 0) {
        size_t n = 5 * 1024 * 1024;
        char *big = xmalloc(n);
        memset(big, ' ', n);
        rt_send(fd, 200, NULL, big, n);
        free(big);
    } else if (strcmp(req->target, "/v2/foo/manifests/lying") == 0) {
        rt_send_str(fd, 200,
                    "Docker-Content-Digest: "
                    "sha256:"
                    "0000000000000000000000000000000000000000000000000000000000"
                    "000000\r\n",
                    "{\"schemaVersion\":2}");
    } else if (str_has_prefix(req->target, "/v2/foo/manifests/sha256:")) {
        rt_send_str(fd, 200, NULL, "{\"schemaVersion\":2}");
    } else if (str_has_prefix(req->target, "/v2/foo/blobs/")) {
        rt_send_str(fd, 200, NULL, "not what you asked for");
    } else {
        rt_send_str(fd, 404, NULL, NULL);
    }
}

static int rt_bad_checks(struct registry_client *c, const char *dir)
{
    _cleanup_error_ berth_error_t err = NULL;
    _cleanup_free_ char *want = rt_digest("wanted", 6);
    _cleanup_free_ char *got = rt_digest("not what you asked for", 22);
    _cleanup_free_ char *msg =
        xasprintf("blob %s: digest mismatch (got %s)", want, got);
    _cleanup_free_ char *out = NULL;

    TAP_CHECK(registry_get_manifest(c, "big", NULL, NULL, NULL, NULL, &err) <
              0);
    TAP_CHECK(rt_err_has(err, "manifest too large (over 4 MiB)"));
    berth_error_free(&err);
    TAP_CHECK(registry_get_manifest(c, "lying", NULL, NULL, NULL, NULL, &err) <
              0);
    TAP_CHECK(rt_err_has(err, "digest mismatch"));
    berth_error_free(&err);
    TAP_CHECK(registry_get_manifest(c, want, NULL, NULL, NULL, NULL, &err) < 0);
    TAP_CHECK(rt_err_has(err, "manifest digest mismatch"));
    berth_error_free(&err);
    TAP_CHECK(rt_get_blob_file(c, dir, want, -1, &out, &err) < 0);
    TAP_STREQ(err->msg, msg);
    return 0;
}

static int test_bad_content(void)
{
    struct rt_server s;
    TAP_CHECK(rt_server_start(&s, rt_bad_handler) == 0);
    _cleanup_free_ char *host = xasprintf("127.0.0.1:%d", s.port);
    _cleanup_tmpdir_ char *dir = rt_tmpdir();
    struct registry_client *c = rt_client(host, "foo", NULL, false);
    int r = c && dir ? rt_bad_checks(c, dir) : -1;
    registry_client_free(c);
    rt_server_stop(&s);
    return r;
}

TAP_MAIN({"www-authenticate challenges", test_challenges},
         {"connection refused names the host", test_connect_refused},
         {"https only unless insecure", test_https_to_http_server},
         {"blob push, exists, get, mount", test_blob_roundtrip},
         {"manifest push and get by tag and digest", test_manifest_roundtrip},
         {"tag list", test_list_tags}, {"htpasswd basic auth", test_basic_auth},
         {"concurrent blob GETs on one client", test_concurrent_gets},
         {"tls: unknown CA, --tls-verify=false, certs.d", test_tls},
         {"bearer token, re-challenge, redirect, retry, pagination",
          test_bearer_redirect_retry},
         {"oversized and mismatching content", test_bad_content})
