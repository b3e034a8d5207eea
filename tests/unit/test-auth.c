#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/auth.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "tests/unit/tap.h"

/* Every test runs in a fresh scratch HOME with no auth variables set. */
static char *scratch;

static void env_reset(void)
{
    berth_error_t err = NULL;
    char *home;

    if (scratch) {
        fs_rm_rf(scratch, &err);
        berth_error_free(&err);
        free(scratch);
    }
    const char *tmp = getenv("TMPDIR");
    scratch = xasprintf("%s/test-auth-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL)
        abort();
    home = xasprintf("%s/home", scratch);
    mkdir(home, 0755);
    setenv("HOME", home, 1);
    free(home);
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("DOCKER_CONFIG");
}

static char *sp(const char *rel)
{
    return xasprintf("%s/%s", scratch, rel);
}

static int put(const char *rel, const char *text)
{
    char *path = sp(rel), *dir = xstrdup(path);
    berth_error_t err = NULL;
    *strrchr(dir, '/') = '\0';
    int r =
        fs_mkdir_p(dir, 0700, &err) == 0 &&
                fs_write_file_atomic(path, text, strlen(text), 0600, &err) == 0
            ? 0
            : -1;
    berth_error_free(&err);
    free(path);
    free(dir);
    return r;
}

/* 0 when lookup finds exactly USER/PASS (or nothing when user is NULL). */
static int expect(const char *authfile, const char *key, const char *user,
                  const char *pass)
{
    struct auth_creds c = {NULL, NULL};
    berth_error_t err = NULL;
    int r = auth_lookup(authfile, key, &c, &err);

    if (r < 0) {
        fprintf(stderr, "# %s: %s\n", key, err->msg);
        berth_error_free(&err);
        return -1;
    }
    int ok = user == NULL ? r == 0
                          : r == 1 && strcmp(c.username, user) == 0 &&
                                strcmp(c.password, pass) == 0;
    if (!ok)
        fprintf(stderr, "# %s: got %d %s:%s\n", key, r,
                c.username ? c.username : "-", c.password ? c.password : "-");
    auth_creds_clear(&c);
    return ok ? 0 : -1;
}

static int test_base64(void)
{
    static const char *const v[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"user:p@ss:w0rd", "dXNlcjpwQHNzOncwcmQ="}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *e = base64_encode(v[i][0], strlen(v[i][0]));
        size_t n = 99;
        char *d = base64_decode(v[i][1], &n);
        int ok = strcmp(e, v[i][1]) == 0 && d && strcmp(d, v[i][0]) == 0 &&
                 n == strlen(v[i][0]);
        free(e);
        free(d);
        TAP_CHECK(ok);
    }
    /* padding may be left out */
    char *d = base64_decode("Zm9vYg", NULL);
    TAP_STREQ(d, "foob");
    free(d);
    d = base64_decode("Zm9vYmE", NULL);
    TAP_STREQ(d, "fooba");
    free(d);
    /* binary data with NUL bytes round-trips */
    const unsigned char bin[] = {0, 1, 0xff, 0xfe, 0, 'x', 0x80};
    char *e = base64_encode(bin, sizeof(bin));
    size_t n = 0;
    d = base64_decode(e, &n);
    free(e);
    TAP_CHECK(d && n == sizeof(bin) && memcmp(d, bin, n) == 0);
    free(d);
    TAP_CHECK(base64_decode("Z", NULL) == NULL);
    TAP_CHECK(base64_decode("Zm9v!", NULL) == NULL);
    TAP_CHECK(base64_decode("Zm=9v", NULL) == NULL);
    TAP_CHECK(base64_decode("Zg=", NULL) == NULL);
    TAP_CHECK(base64_decode("Zm9v Zm9v", NULL) == NULL);
    TAP_CHECK(base64_decode("Zg===", NULL) == NULL);
    return 0;
}

static int test_default_path(void)
{
    env_reset();
    char *p = auth_default_path();
    char *want = xasprintf("%s/home/.config/containers/auth.json", scratch);
    int ok = strcmp(p, want) == 0;
    free(p);
    free(want);
    TAP_CHECK(ok);

    setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
    p = auth_default_path();
    ok = strcmp(p, "/run/user/4242/containers/auth.json") == 0;
    free(p);
    TAP_CHECK(ok);

    setenv("REGISTRY_AUTH_FILE", "/some/where/auth.json", 1);
    p = auth_default_path();
    ok = strcmp(p, "/some/where/auth.json") == 0;
    free(p);
    TAP_CHECK(ok);
    return 0;
}

static int test_store_lookup(void)
{
    berth_error_t err = NULL;
    struct stat st;

    env_reset();
    char *run = sp("run");
    setenv("XDG_RUNTIME_DIR", run, 1);
    free(run);
    struct auth_creds c = {"alice", "s3cr:et"};
    TAP_CHECK(auth_store(NULL, "quay.io", &c, &err) == 0);
    char *path = sp("run/containers/auth.json");
    char *dir = sp("run/containers");
    TAP_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    TAP_CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
    free(dir);

    json_t *j = json_load_path(path, &err);
    TAP_CHECK(j != NULL);
    TAP_STREQ(
        json_get_str(json_object_get(json_object_get(j, "auths"), "quay.io"),
                     "auth"),
        "YWxpY2U6czNjcjpldA==");
    json_decref(j);

    TAP_CHECK(expect(NULL, "quay.io", "alice", "s3cr:et") == 0);
    TAP_CHECK(expect(NULL, "quay.io/ns/repo", "alice", "s3cr:et") == 0);
    TAP_CHECK(expect(NULL, "quay.io:443", NULL, NULL) == 0);
    TAP_CHECK(expect(NULL, "docker.io", NULL, NULL) == 0);
    /* the file, named explicitly, gives the same answer */
    TAP_CHECK(expect(path, "quay.io/x", "alice", "s3cr:et") == 0);

    /* storing again replaces the entry; a scheme in the key is dropped */
    struct auth_creds c2 = {"bob", ""};
    TAP_CHECK(auth_store(NULL, "https://quay.io/", &c2, &err) == 0);
    TAP_CHECK(expect(NULL, "quay.io", "bob", "") == 0);
    free(path);
    return 0;
}

static int test_keep_other_keys(void)
{
    berth_error_t err = NULL;

    env_reset();
    TAP_CHECK(put("a.json",
                  "{\"credHelpers\": {\"gcr.io\": \"gcloud\"},\n"
                  " \"auths\": {\"old.io\": {\"auth\": \"dTpw\", "
                  "\"email\": \"x@y\"}},\n \"other\": [1, 2]}\n") == 0);
    char *path = sp("a.json");
    struct auth_creds c = {"u2", "p2"};
    TAP_CHECK(auth_store(path, "new.io:5000", &c, &err) == 0);
    json_t *j = json_load_path(path, &err);
    TAP_CHECK(j != NULL);
    TAP_STREQ(json_get_str(json_object_get(j, "credHelpers"), "gcr.io"),
              "gcloud");
    TAP_CHECK(json_array_size(json_object_get(j, "other")) == 2);
    json_t *old = json_object_get(json_object_get(j, "auths"), "old.io");
    TAP_STREQ(json_get_str(old, "email"), "x@y");
    json_decref(j);
    TAP_CHECK(expect(path, "old.io", "u", "p") == 0);
    TAP_CHECK(expect(path, "new.io:5000/a/b", "u2", "p2") == 0);
    TAP_CHECK(expect(path, "new.io", NULL, NULL) == 0);
    free(path);
    return 0;
}

static int test_key_matching(void)
{
    env_reset();
    /* host: h:h, host/ns: n:n, host/ns/repo: r:r */
    TAP_CHECK(put("m.json", "{\"auths\": {"
                            "\"reg.io\": {\"auth\": \"aDpo\"},"
                            "\"reg.io/ns\": {\"auth\": \"bjpu\"},"
                            "\"reg.io/ns/repo\": {\"auth\": \"cjpy\"},"
                            "\"up.io\": {\"username\": \"uu\", \"password\": "
                            "\"pp\"},"
                            "\"empty.io\": {},"
                            "\"https://index.docker.io/v1/\": {\"auth\": "
                            "\"ZDpk\"}}}") == 0);
    char *path = sp("m.json");
    TAP_CHECK(expect(path, "reg.io/ns/repo", "r", "r") == 0);
    TAP_CHECK(expect(path, "reg.io/ns/other", "n", "n") == 0);
    TAP_CHECK(expect(path, "reg.io/ns/repo/deeper", "r", "r") == 0);
    TAP_CHECK(expect(path, "reg.io/nsx", "h", "h") == 0);
    TAP_CHECK(expect(path, "reg.io", "h", "h") == 0);
    TAP_CHECK(expect(path, "reg.io:5000", NULL, NULL) == 0);
    TAP_CHECK(expect(path, "up.io/a", "uu", "pp") == 0);
    TAP_CHECK(expect(path, "empty.io", NULL, NULL) == 0);
    TAP_CHECK(expect(path, "docker.io/library/alpine", "d", "d") == 0);
    TAP_CHECK(expect(path, "index.docker.io", "d", "d") == 0);
    TAP_CHECK(expect(path, "other.io", NULL, NULL) == 0);
    free(path);
    return 0;
}

static int test_docker_fallback(void)
{
    env_reset();
    TAP_CHECK(put("home/.docker/config.json",
                  "{\"auths\": {\"https://index.docker.io/v1/\": "
                  "{\"auth\": \"ZHU6ZHA=\"}, \"both.io\": {\"auth\": "
                  "\"ZHU6ZHA=\"}}, \"credsStore\": \"desktop\"}") == 0);
    TAP_CHECK(expect(NULL, "docker.io/library/alpine", "du", "dp") == 0);

    /* auth.json in ~/.config comes before docker's file */
    TAP_CHECK(put("home/.config/containers/auth.json",
                  "{\"auths\": {\"both.io\": {\"auth\": \"cHU6cHA=\"}}}") == 0);
    TAP_CHECK(expect(NULL, "both.io", "pu", "pp") == 0);
    /* ... and $XDG_RUNTIME_DIR's before both */
    TAP_CHECK(put("run/containers/auth.json",
                  "{\"auths\": {\"both.io\": {\"auth\": \"cnU6cnA=\"}}}") == 0);
    char *run = sp("run");
    setenv("XDG_RUNTIME_DIR", run, 1);
    free(run);
    TAP_CHECK(expect(NULL, "both.io", "ru", "rp") == 0);
    TAP_CHECK(expect(NULL, "docker.io", "du", "dp") == 0);

    /* $DOCKER_CONFIG replaces ~/.docker */
    TAP_CHECK(put("dc/config.json",
                  "{\"auths\": {\"http://dc.io:5000/v2/\": {\"auth\": "
                  "\"Yzpj\"}}}") == 0);
    char *dc = sp("dc");
    setenv("DOCKER_CONFIG", dc, 1);
    free(dc);
    TAP_CHECK(expect(NULL, "dc.io:5000/x", "c", "c") == 0);
    TAP_CHECK(expect(NULL, "docker.io", NULL, NULL) == 0);

    /* legacy ~/.dockercfg: the registries are the top level */
    TAP_CHECK(put("home/.dockercfg", "{\"legacy.io\": {\"auth\": \"bDps\"}}") ==
              0);
    TAP_CHECK(expect(NULL, "legacy.io", "l", "l") == 0);

    /* REGISTRY_AUTH_FILE, like --authfile, is the only file read */
    TAP_CHECK(put("only.json", "{\"auths\": {}}") == 0);
    char *only = sp("only.json");
    setenv("REGISTRY_AUTH_FILE", only, 1);
    TAP_CHECK(expect(NULL, "both.io", NULL, NULL) == 0);
    TAP_CHECK(expect(NULL, "dc.io:5000", NULL, NULL) == 0);
    unsetenv("REGISTRY_AUTH_FILE");
    TAP_CHECK(expect(only, "both.io", NULL, NULL) == 0);
    free(only);
    /* a missing file named explicitly holds nothing */
    TAP_CHECK(expect("/nonexistent/auth.json", "both.io", NULL, NULL) == 0);
    return 0;
}

static int expect_error(const char *path, const char *key, const char *want)
{
    struct auth_creds c = {NULL, NULL};
    berth_error_t err = NULL;
    int r = auth_lookup(path, key, &c, &err);
    int ok = r == -1 && err && strstr(err->msg, want) != NULL &&
             strstr(err->msg, path) != NULL;
    if (!ok)
        fprintf(stderr, "# %d %s\n", r, err ? err->msg : "(no error)");
    berth_error_free(&err);
    auth_creds_clear(&c);
    return ok ? 0 : -1;
}

static int test_malformed(void)
{
    berth_error_t err = NULL;

    env_reset();
    TAP_CHECK(put("bad1.json", "{\"auths\": {") == 0);
    TAP_CHECK(put("bad2.json", "[1]") == 0);
    TAP_CHECK(put("bad3.json", "{\"auths\": []}") == 0);
    TAP_CHECK(put("bad4.json", "{\"auths\": {\"x.io\": {\"auth\": \"!!\"}}}") ==
              0);
    TAP_CHECK(put("bad5.json",
                  "{\"auths\": {\"x.io\": {\"auth\": \"bm9jb2xvbg==\"}}}") ==
              0);
    char *p1 = sp("bad1.json"), *p2 = sp("bad2.json"), *p3 = sp("bad3.json"),
         *p4 = sp("bad4.json"), *p5 = sp("bad5.json");
    TAP_CHECK(expect_error(p1, "x.io", "parse") == 0);
    TAP_CHECK(expect_error(p2, "x.io", "not a JSON object") == 0);
    TAP_CHECK(expect_error(p3, "x.io", "\"auths\" is not an object") == 0);
    TAP_CHECK(expect_error(p4, "x.io", "invalid \"auth\" value for x.io") == 0);
    TAP_CHECK(expect_error(p5, "x.io", "invalid \"auth\" value") == 0);
    /* a broken file is never overwritten */
    struct auth_creds c = {"a", "b"};
    TAP_CHECK(auth_store(p1, "x.io", &c, &err) < 0);
    berth_error_free(&err);
    TAP_CHECK(auth_store(p3, "x.io", &c, &err) < 0);
    berth_error_free(&err);
    char *text = NULL;
    TAP_CHECK(fs_read_file(p1, &text, NULL, &err) == 0);
    TAP_STREQ(text, "{\"auths\": {");
    free(text);
    TAP_CHECK(auth_store(p1, "", &c, &err) < 0);
    berth_error_free(&err);
    free(p1);
    free(p2);
    free(p3);
    free(p4);
    free(p5);
    return 0;
}

static int test_remove(void)
{
    berth_error_t err = NULL;

    env_reset();
    TAP_CHECK(put("r.json", "{\"auths\": {"
                            "\"a.io\": {\"auth\": \"YTph\"},"
                            "\"a.io/ns\": {\"auth\": \"YTph\"},"
                            "\"https://index.docker.io/v1/\": {\"auth\": "
                            "\"ZDpk\"},"
                            "\"b.io\": {\"auth\": \"Yjpi\"}},"
                            "\"keep\": true}") == 0);
    char *path = sp("r.json");
    TAP_CHECK(auth_remove(path, "a.io", &err) == 1);
    TAP_CHECK(expect(path, "a.io", NULL, NULL) == 0);
    TAP_CHECK(expect(path, "a.io/ns/x", "a", "a") == 0);
    TAP_CHECK(auth_remove(path, "a.io", &err) == 0);
    TAP_CHECK(auth_remove(path, "docker.io", &err) == 1);
    TAP_CHECK(expect(path, "docker.io", NULL, NULL) == 0);
    TAP_CHECK(expect(path, "b.io", "b", "b") == 0);
    TAP_CHECK(auth_remove(path, NULL, &err) == 1);
    TAP_CHECK(expect(path, "b.io", NULL, NULL) == 0);
    TAP_CHECK(expect(path, "a.io/ns", NULL, NULL) == 0);
    TAP_CHECK(auth_remove(path, NULL, &err) == 0);
    json_t *j = json_load_path(path, &err);
    TAP_CHECK(j != NULL);
    TAP_CHECK(json_is_true(json_object_get(j, "keep")));
    TAP_CHECK(json_object_size(json_object_get(j, "auths")) == 0);
    json_decref(j);
    free(path);

    /* nothing to remove from a file that does not exist */
    path = sp("none/auth.json");
    TAP_CHECK(auth_remove(path, "a.io", &err) == 0);
    TAP_CHECK(auth_remove(path, NULL, &err) == 0);
    TAP_CHECK(!fs_exists(path));
    free(path);

    /* the default file: REGISTRY_AUTH_FILE */
    path = sp("env/auth.json");
    setenv("REGISTRY_AUTH_FILE", path, 1);
    struct auth_creds c = {"e", "e"};
    TAP_CHECK(auth_store(NULL, "env.io", &c, &err) == 0);
    TAP_CHECK(fs_exists(path));
    TAP_CHECK(expect(NULL, "env.io", "e", "e") == 0);
    TAP_CHECK(auth_remove(NULL, "env.io", &err) == 1);
    TAP_CHECK(expect(NULL, "env.io", NULL, NULL) == 0);
    free(path);
    return 0;
}

static int test_parse_creds(void)
{
    struct auth_creds c = {NULL, NULL};
    berth_error_t err = NULL;

    TAP_CHECK(auth_parse_creds("user:pa:ss", &c, &err) == 0);
    TAP_STREQ(c.username, "user");
    TAP_STREQ(c.password, "pa:ss");
    auth_creds_clear(&c);
    TAP_CHECK(c.username == NULL && c.password == NULL);
    TAP_CHECK(auth_parse_creds("user", &c, &err) == 0);
    TAP_STREQ(c.username, "user");
    TAP_CHECK(c.password == NULL);
    auth_creds_clear(&c);
    TAP_CHECK(auth_parse_creds("user:", &c, &err) == 0);
    TAP_STREQ(c.password, "");
    auth_creds_clear(&c);
    TAP_CHECK(auth_parse_creds(":pass", &c, &err) < 0);
    TAP_STREQ(err->msg, "username can't be empty");
    berth_error_free(&err);
    TAP_CHECK(auth_parse_creds("", &c, &err) < 0);
    TAP_STREQ(err->msg, "credentials can't be empty");
    berth_error_free(&err);
    auth_creds_clear(NULL);
    return 0;
}

static int test_cleanup(void)
{
    berth_error_t err = NULL;
    TAP_CHECK(scratch != NULL);
    TAP_CHECK(fs_rm_rf(scratch, &err) == 0);
    TAP_CHECK(!fs_exists(scratch));
    free(scratch);
    scratch = NULL;
    return 0;
}

TAP_MAIN({"base64", test_base64}, {"default path", test_default_path},
         {"store and lookup", test_store_lookup},
         {"other keys kept", test_keep_other_keys},
         {"key matching", test_key_matching},
         {"docker config fallback", test_docker_fallback},
         {"malformed files", test_malformed}, {"remove", test_remove},
         {"--creds parsing", test_parse_creds}, {"cleanup", test_cleanup})
