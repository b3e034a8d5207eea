#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"
#include "lib/error.h"
#include "tests/unit/tap.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int check_ref(const char *name, const char *registry, const char *path,
                     const char *tag, const char *digest, const char *str)
{
    struct image_ref *ref = NULL;
    berth_error_t err = NULL;
    int r = -1;

    if (image_ref_parse(name, &ref, &err) < 0) {
        fprintf(stderr, "# %s: %s\n", name, err->msg);
        berth_error_free(&err);
        return -1;
    }
    char *s = image_ref_string(ref);
    if (!((registry == NULL) == (ref->registry == NULL)) ||
        (registry && strcmp(registry, ref->registry) != 0) ||
        strcmp(path, ref->path) != 0 ||
        !((tag == NULL) == (ref->tag == NULL)) ||
        (tag && strcmp(tag, ref->tag) != 0) ||
        !((digest == NULL) == (ref->digest == NULL)) ||
        (digest && strcmp(digest, ref->digest) != 0) || strcmp(s, str) != 0)
        fprintf(stderr, "# %s: got %s | %s | %s | %s | %s\n", name,
                ref->registry ? ref->registry : "(null)", ref->path,
                ref->tag ? ref->tag : "(null)",
                ref->digest ? ref->digest : "(null)", s);
    else
        r = 0;
    free(s);
    image_ref_free(ref);
    return r;
}

/* Returns 0 when NAME fails and the message contains WANT. */
static int check_bad(const char *name, const char *want)
{
    struct image_ref *ref = NULL;
    berth_error_t err = NULL;

    if (image_ref_parse(name, &ref, &err) == 0) {
        fprintf(stderr, "# %s: unexpectedly parsed\n", name);
        image_ref_free(ref);
        return -1;
    }
    int ok = err && strstr(err->msg, want) != NULL;
    if (!ok)
        fprintf(stderr, "# %s: message '%s' lacks '%s'\n", name,
                err ? err->msg : "(null)", want);
    berth_error_free(&err);
    return ok ? 0 : -1;
}

static int test_short_names(void)
{
    TAP_CHECK(check_ref("alpine", NULL, "alpine", "latest", NULL,
                        "alpine:latest") == 0);
    TAP_CHECK(check_ref("foo/bar:1.0", NULL, "foo/bar", "1.0", NULL,
                        "foo/bar:1.0") == 0);
    TAP_CHECK(check_ref("localhost", NULL, "localhost", "latest", NULL,
                        "localhost:latest") == 0);
    /* a lone "host:port" is a name with a tag, as docker reads it */
    TAP_CHECK(check_ref("localhost:5000", NULL, "localhost", "5000", NULL,
                        "localhost:5000") == 0);
    TAP_CHECK(check_ref("a/b/c/d", NULL, "a/b/c/d", "latest", NULL,
                        "a/b/c/d:latest") == 0);
    return 0;
}

static int test_registries(void)
{
    TAP_CHECK(check_ref("docker.io/alpine", "docker.io", "library/alpine",
                        "latest", NULL,
                        "docker.io/library/alpine:latest") == 0);
    TAP_CHECK(check_ref("index.docker.io/alpine:3", "docker.io",
                        "library/alpine", "3", NULL,
                        "docker.io/library/alpine:3") == 0);
    TAP_CHECK(check_ref("docker.io/foo/bar", "docker.io", "foo/bar", "latest",
                        NULL, "docker.io/foo/bar:latest") == 0);
    TAP_CHECK(check_ref("quay.io/alpine", "quay.io", "alpine", "latest", NULL,
                        "quay.io/alpine:latest") == 0);
    TAP_CHECK(check_ref("localhost/foo", "localhost", "foo", "latest", NULL,
                        "localhost/foo:latest") == 0);
    TAP_CHECK(check_ref("127.0.0.1:5000/foo/bar:v1", "127.0.0.1:5000",
                        "foo/bar", "v1", NULL,
                        "127.0.0.1:5000/foo/bar:v1") == 0);
    TAP_CHECK(check_ref("myhost:5000/foo", "myhost:5000", "foo", "latest", NULL,
                        "myhost:5000/foo:latest") == 0);
    TAP_CHECK(check_ref("[::1]:5000/foo", "[::1]:5000", "foo", "latest", NULL,
                        "[::1]:5000/foo:latest") == 0);
    /* uppercase is allowed in the host, never in the path */
    TAP_CHECK(check_ref("Example.COM/foo", "Example.COM", "foo", "latest", NULL,
                        "Example.COM/foo:latest") == 0);
    TAP_CHECK(check_ref("Foo/bar", "Foo", "bar", "latest", NULL,
                        "Foo/bar:latest") == 0);
    return 0;
}

static int test_tags_digests(void)
{
    TAP_CHECK(check_ref("localhost:5000/foo/bar:tag@sha256:" HEX64,
                        "localhost:5000", "foo/bar", "tag", "sha256:" HEX64,
                        "localhost:5000/foo/bar:tag@sha256:" HEX64) == 0);
    TAP_CHECK(check_ref("alpine@sha256:" HEX64, NULL, "alpine", NULL,
                        "sha256:" HEX64, "alpine@sha256:" HEX64) == 0);
    TAP_CHECK(check_ref("docker.io/alpine@sha256:" HEX64, "docker.io",
                        "library/alpine", NULL, "sha256:" HEX64,
                        "docker.io/library/alpine@sha256:" HEX64) == 0);
    TAP_CHECK(check_ref("foo:V1_x.y-z", NULL, "foo", "V1_x.y-z", NULL,
                        "foo:V1_x.y-z") == 0);
    TAP_CHECK(check_ref("foo:_x", NULL, "foo", "_x", NULL, "foo:_x") == 0);
    TAP_CHECK(check_ref("a--b.c-d/f-g.h:1", "a--b.c-d", "f-g.h", "1", NULL,
                        "a--b.c-d/f-g.h:1") == 0);
    /* '_' is a path separator, never part of a host name */
    TAP_CHECK(check_bad("a.b_c/f:1", "invalid reference format") == 0);
    TAP_CHECK(check_ref("x/a__b---c_d.e", NULL, "x/a__b---c_d.e", "latest",
                        NULL, "x/a__b---c_d.e:latest") == 0);

    char tag128[200], tag129[200];
    memset(tag128, 'a', 128);
    tag128[128] = '\0';
    memset(tag129, 'a', 129);
    tag129[129] = '\0';
    char name[300];
    snprintf(name, sizeof(name), "foo:%s", tag128);
    TAP_CHECK(check_ref(name, NULL, "foo", tag128, NULL, name) == 0);
    snprintf(name, sizeof(name), "foo:%s", tag129);
    TAP_CHECK(check_bad(name, "invalid reference format") == 0);
    return 0;
}

static int test_invalid(void)
{
    TAP_CHECK(check_bad("Foo", "invalid reference format: repository name "
                               "must be lowercase") == 0);
    TAP_CHECK(check_bad("Foo", "\"Foo\"") == 0);
    TAP_CHECK(check_bad("quay.io/Foo/bar", "must be lowercase") == 0);
    TAP_CHECK(check_bad("a:b:c", "parsing reference \"a:b:c\": invalid "
                                 "reference format") == 0);
    TAP_CHECK(check_bad("", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo/", "invalid reference format") == 0);
    TAP_CHECK(check_bad("/foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo//bar", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo:", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo:-x", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo:a/b", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo_", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo___bar", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo..bar", "invalid reference format") == 0);
    TAP_CHECK(check_bad("-foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo bar", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo@sha256:abc", "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo@sha256:" HEX64 "0", "invalid reference") == 0);
    TAP_CHECK(check_bad("foo@md5:" HEX64, "invalid reference format") == 0);
    TAP_CHECK(check_bad("foo@", "invalid reference format") == 0);
    TAP_CHECK(check_bad("host:/foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad("host:5x/foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad("-host.io/foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad("host..io/foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad("[::1/foo", "invalid reference format") == 0);
    TAP_CHECK(check_bad(HEX64, "cannot specify 64-byte hexadecimal") == 0);
    /* with a registry part it is a legal repository name */
    TAP_CHECK(check_ref("quay.io/" HEX64, "quay.io", HEX64, "latest", NULL,
                        "quay.io/" HEX64 ":latest") == 0);
    return 0;
}

static int test_length(void)
{
    char name[400];
    /* "quay.io/" (8) + 247 = 255: the limit itself is fine */
    strcpy(name, "quay.io/");
    memset(name + 8, 'a', 247);
    name[255] = '\0';
    struct image_ref *ref = NULL;
    berth_error_t err = NULL;
    TAP_CHECK(image_ref_parse(name, &ref, &err) == 0);
    TAP_CHECK(strlen(ref->path) == 247);
    image_ref_free(ref);
    name[255] = 'a';
    name[256] = '\0';
    TAP_CHECK(check_bad(name, "must not be more than 255 characters") == 0);
    return 0;
}

static int test_format_helpers(void)
{
    struct image_ref *ref = NULL, *dup;
    berth_error_t err = NULL;
    char *s;

    TAP_CHECK(image_ref_parse("quay.io/a/b:t@sha256:" HEX64, &ref, &err) == 0);
    s = image_ref_repo(ref);
    TAP_STREQ(s, "quay.io/a/b");
    free(s);
    s = image_ref_tagged(ref);
    TAP_STREQ(s, "quay.io/a/b:t");
    free(s);
    dup = image_ref_dup(ref);
    image_ref_free(ref);
    s = image_ref_string(dup);
    TAP_STREQ(s, "quay.io/a/b:t@sha256:" HEX64);
    free(s);
    free(dup->tag);
    dup->tag = NULL;
    TAP_CHECK(image_ref_tagged(dup) == NULL);
    s = image_ref_string(dup);
    TAP_STREQ(s, "quay.io/a/b@sha256:" HEX64);
    free(s);
    free(dup->digest);
    dup->digest = NULL;
    s = image_ref_string(dup);
    TAP_STREQ(s, "quay.io/a/b");
    free(s);
    image_ref_free(dup);
    image_ref_free(NULL);
    TAP_CHECK(image_ref_dup(NULL) == NULL);
    return 0;
}

static int test_id_prefix_and_digest(void)
{
    TAP_CHECK(image_ref_is_id_prefix("abc"));
    TAP_CHECK(image_ref_is_id_prefix("0123abcd"));
    TAP_CHECK(image_ref_is_id_prefix(HEX64));
    TAP_CHECK(image_ref_is_id_prefix("sha256:" HEX64));
    TAP_CHECK(image_ref_is_id_prefix("sha256:abcd"));
    TAP_CHECK(!image_ref_is_id_prefix("ab"));
    TAP_CHECK(!image_ref_is_id_prefix(HEX64 "0"));
    TAP_CHECK(!image_ref_is_id_prefix("ABC123"));
    TAP_CHECK(!image_ref_is_id_prefix("alpine"));
    TAP_CHECK(!image_ref_is_id_prefix("sha256:"));
    TAP_CHECK(!image_ref_is_id_prefix(NULL));

    TAP_CHECK(image_digest_valid("sha256:" HEX64));
    TAP_CHECK(!image_digest_valid(HEX64));
    TAP_CHECK(!image_digest_valid("sha256:" HEX64 "00"));
    TAP_CHECK(!image_digest_valid("sha256:abc"));
    TAP_CHECK(!image_digest_valid("sha512:" HEX64));
    TAP_CHECK(!image_digest_valid("sha256:0123456789ABCDEF0123456789abcdef"
                                  "0123456789abcdef0123456789abcdef"));
    TAP_CHECK(!image_digest_valid(NULL));
    return 0;
}

TAP_MAIN({"short names", test_short_names},
         {"registries and normalization", test_registries},
         {"tags and digests", test_tags_digests},
         {"invalid references", test_invalid}, {"name length", test_length},
         {"string helpers", test_format_helpers},
         {"id prefixes and digests", test_id_prefix_and_digest})
