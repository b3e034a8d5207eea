#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/registries.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "tests/unit/tap.h"

static struct registries_conf *parse_ok(const char *text)
{
    struct registries_conf *c = registries_conf_new();
    berth_error_t err = NULL;

    if (registries_conf_parse(c, text, "test.conf", &err) < 0) {
        fprintf(stderr, "# unexpected error: %s\n", err->msg);
        berth_error_free(&err);
        registries_conf_free(c);
        return NULL;
    }
    return c;
}

/* 0 when TEXT fails to parse with exactly the message WANT */
static int parse_bad(const char *text, const char *want)
{
    struct registries_conf *c = registries_conf_new();
    berth_error_t err = NULL;
    int r = registries_conf_parse(c, text, "bad.conf", &err);

    registries_conf_free(c);
    if (r == 0) {
        fprintf(stderr, "# parsed, expected '%s'\n", want);
        return -1;
    }
    r = strcmp(err->msg, want) == 0 ? 0 : -1;
    if (r < 0)
        fprintf(stderr, "# got '%s'\n# want '%s'\n", err->msg, want);
    berth_error_free(&err);
    return r;
}

static const char v2_text[] =
    "# comment line\n"
    "unqualified-search-registries = [\n"
    "  \"r1.io\", # first\n"
    "  'r2.io:5000',\n"
    "  # a comment inside the array\n"
    "]\n"
    "short-name-mode = \"enforcing\"\n"
    "some-number = 42\n"
    "some-float = -1.5e3\n"
    "inline = { a = 1, b = [\"x\"] }\n"
    "\n"
    "[[registry]]\n"
    "prefix = \"example.com/foo\"\n"
    "location = \"mirror.example.com/bar\"  # trailing comment\n"
    "insecure = true\n"
    "mirror-by-digest-only = false\n"
    "\n"
    "[[registry.mirror]]\n"
    "location = \"m1.example.com\"\n"
    "insecure = true\n"
    "[[registry.mirror]]\n"
    "location = 'm2.example.com'\n"
    "\n"
    "[[registry]]\n"
    "location = \"blocked.io\"\n"
    "blocked = true\n"
    "\n"
    "[[registry]]\n"
    "\"prefix\" = \"*.wild.io\"\n"
    "location=\"wild.io\"\n"
    "insecure=true\n"
    "\n"
    "[unknown-table]\n"
    "whatever = \"x\"\n"
    "\n"
    "[ aliases ]\n"
    "\"alpine\" = \"quay.io/x/alpine\"\n"
    "  \"foo/bar\" = \"r3.io/foo/bar\"\n"
    "bare-name = \"r4.io/bare\"\n";

static int test_v2(void)
{
    struct registries_conf *c = parse_ok(v2_text);
    TAP_CHECK(c != NULL);
    TAP_CHECK(strv_len(c->search) == 2);
    TAP_STREQ(c->search[0], "r1.io");
    TAP_STREQ(c->search[1], "r2.io:5000");
    TAP_CHECK(c->n_entries == 3);
    struct registry_entry *e = &c->entries[0];
    TAP_STREQ(e->prefix, "example.com/foo");
    TAP_STREQ(e->location, "mirror.example.com/bar");
    TAP_CHECK(e->insecure && !e->blocked);
    TAP_CHECK(e->n_mirrors == 2);
    TAP_STREQ(e->mirrors[0].location, "m1.example.com");
    TAP_CHECK(e->mirrors[0].insecure);
    TAP_STREQ(e->mirrors[1].location, "m2.example.com");
    TAP_CHECK(!e->mirrors[1].insecure);
    /* prefix defaults to location */
    TAP_STREQ(c->entries[1].prefix, "blocked.io");
    TAP_STREQ(c->entries[1].location, "blocked.io");
    TAP_CHECK(c->entries[1].blocked && !c->entries[1].insecure);
    TAP_STREQ(c->entries[2].prefix, "*.wild.io");
    TAP_CHECK(c->n_aliases == 3);
    TAP_STREQ(c->alias_names[0], "alpine");
    TAP_STREQ(c->alias_values[0], "quay.io/x/alpine");
    TAP_STREQ(c->alias_names[1], "foo/bar");
    TAP_STREQ(c->alias_names[2], "bare-name");
    TAP_STREQ(c->alias_values[2], "r4.io/bare");
    registries_conf_free(c);
    return 0;
}

static int test_strings(void)
{
    struct registries_conf *c =
        parse_ok("unqualified-search-registries = [\"a\\tb\", \"q\\\"\\\\\", "
                 "'C:\\\\lit', \"\\u00e9\\U0001F600\", \"\"\"\nmulti\\\n"
                 "    line\"\"\", '''\nraw\\n''', \"\"\"x\"\"\"\"\"]\n");
    TAP_CHECK(c != NULL);
    TAP_CHECK(strv_len(c->search) == 7);
    TAP_STREQ(c->search[0], "a\tb");
    TAP_STREQ(c->search[1], "q\"\\");
    TAP_STREQ(c->search[2], "C:\\\\lit");
    TAP_STREQ(c->search[3], "\xc3\xa9\xf0\x9f\x98\x80");
    TAP_STREQ(c->search[4], "multiline");
    TAP_STREQ(c->search[5], "raw\\n");
    TAP_STREQ(c->search[6], "x\"\"");
    registries_conf_free(c);

    /* an empty list is "set": it still replaces an earlier one */
    c = parse_ok("unqualified-search-registries = [\"a\"]\n");
    TAP_CHECK(c != NULL);
    berth_error_t err = NULL;
    TAP_CHECK(registries_conf_parse(c, "unqualified-search-registries=[]\r\n",
                                    "x", &err) == 0);
    TAP_CHECK(c->search != NULL && c->search[0] == NULL);
    registries_conf_free(c);
    return 0;
}

static int test_v1(void)
{
    struct registries_conf *c =
        parse_ok("[registries.search]\n"
                 "registries = ['docker.io', \"quay.io\"]\n"
                 "\n"
                 "[registries.insecure]\n"
                 "registries = [\"localhost:5000\", \"insecure.io\"]\n"
                 "\n"
                 "[registries.block]\n"
                 "registries = [\"insecure.io\", \"bad.io\"]\n");
    TAP_CHECK(c != NULL);
    TAP_CHECK(strv_len(c->search) == 2);
    TAP_STREQ(c->search[1], "quay.io");
    TAP_CHECK(c->n_entries == 3);
    TAP_STREQ(c->entries[0].prefix, "localhost:5000");
    TAP_CHECK(c->entries[0].insecure && !c->entries[0].blocked);
    TAP_STREQ(c->entries[1].prefix, "insecure.io");
    TAP_CHECK(c->entries[1].insecure && c->entries[1].blocked);
    TAP_STREQ(c->entries[2].location, "bad.io");
    TAP_CHECK(c->entries[2].blocked && !c->entries[2].insecure);
    TAP_CHECK(registries_conf_insecure(c, "localhost:5000"));
    TAP_CHECK(!registries_conf_insecure(c, "localhost"));
    registries_conf_free(c);
    return 0;
}

static int test_malformed(void)
{
    TAP_CHECK(parse_bad("a = 1\n\nsearch = \"unterminated\n",
                        "bad.conf:3: unterminated string") == 0);
    TAP_CHECK(parse_bad("# c\nkey \"x\"\n",
                        "bad.conf:2: expected '=' after key \"key\"") == 0);
    TAP_CHECK(parse_bad("[[registry]]\nprefix = \"a\"\ninsecure = yes\n",
                        "bad.conf:3: invalid value \"yes\" (strings must be "
                        "quoted)") == 0);
    TAP_CHECK(parse_bad("[[registry]]\nprefix = \"a\"\n\ninsecure = \"true\"\n",
                        "bad.conf:4: registry.insecure: expected true or "
                        "false") == 0);
    TAP_CHECK(parse_bad("[[registry]]\nprefix = true\n",
                        "bad.conf:2: registry.prefix: expected a string") == 0);
    TAP_CHECK(parse_bad("unqualified-search-registries = \"docker.io\"\n",
                        "bad.conf:1: unqualified-search-registries: expected "
                        "an array of strings") == 0);
    TAP_CHECK(parse_bad("unqualified-search-registries = [\"a\", 1]\n",
                        "bad.conf:1: unqualified-search-registries: expected "
                        "an array of strings") == 0);
    TAP_CHECK(parse_bad("\n\nunqualified-search-registries = [\"a\",\n\"b\"\n",
                        "bad.conf:5: unterminated array") == 0);
    TAP_CHECK(parse_bad("x = [\"a\" \"b\"]\n",
                        "bad.conf:1: expected ',' or ']' in array, found "
                        "'\"'") == 0);
    TAP_CHECK(parse_bad("x = \"a\" b\n",
                        "bad.conf:1: unexpected 'b' after value, expected "
                        "end of line") == 0);
    TAP_CHECK(parse_bad("x =\n", "bad.conf:1: expected a value") == 0);
    TAP_CHECK(parse_bad("x = \"\\q\"\n",
                        "bad.conf:1: invalid escape sequence '\\q'") == 0);
    TAP_CHECK(parse_bad("x = \"\\uD800\"\n",
                        "bad.conf:1: invalid unicode scalar value in "
                        "escape") == 0);
    TAP_CHECK(parse_bad("[registry\nprefix = \"a\"\n",
                        "bad.conf:1: unterminated table header, expected "
                        "']'") == 0);
    TAP_CHECK(parse_bad("[[registry]\n",
                        "bad.conf:1: unterminated table header, expected "
                        "']]'") == 0);
    TAP_CHECK(parse_bad("\n[registry]\nprefix = \"a\"\n",
                        "bad.conf:2: [registry] must be an array of tables: "
                        "[[registry]]") == 0);
    TAP_CHECK(parse_bad("[[registry.mirror]]\nlocation = \"a\"\n",
                        "bad.conf:1: [[registry.mirror]] without a preceding "
                        "[[registry]]") == 0);
    TAP_CHECK(parse_bad("registry.prefix = \"a\"\n",
                        "bad.conf:1: registry.prefix: set outside of a "
                        "[[registry]] table") == 0);
    TAP_CHECK(parse_bad("[[registry]]\nprefix = \"ok\"\n\n[[registry]]\n"
                        "insecure = true\n",
                        "bad.conf:4: [[registry]] needs a prefix or a "
                        "location") == 0);
    TAP_CHECK(parse_bad("[[registry]]\nprefix = \"p\"\n[[registry.mirror]]\n"
                        "insecure = true\n",
                        "bad.conf:1: [[registry.mirror]] of \"p\" needs a "
                        "location") == 0);
    TAP_CHECK(parse_bad("[aliases]\n\"x\" = \"notqualified\"\n",
                        "bad.conf:2: invalid alias \"notqualified\" for \"x\": "
                        "must be a fully-qualified name without tag or "
                        "digest") == 0);
    TAP_CHECK(parse_bad("[aliases]\n\"x\" = \"quay.io/x:1\"\n",
                        "bad.conf:2: invalid alias \"quay.io/x:1\" for \"x\": "
                        "must be a fully-qualified name without tag or "
                        "digest") == 0);
    TAP_CHECK(parse_bad("[aliases]\n\"quay.io/x\" = \"quay.io/x\"\n",
                        "bad.conf:2: invalid short name \"quay.io/x\": must "
                        "be a short name without tag or digest") == 0);
    TAP_CHECK(parse_bad("x = 1\n= 2\n", "bad.conf:2: invalid character '=' "
                                        "in key") == 0);
    TAP_CHECK(parse_bad("x = \"\"\"never closed\n\n",
                        "bad.conf:3: unterminated string") == 0);
    /* hostile nesting is refused, not a stack overflow */
    char deep[200];
    memset(deep, '[', sizeof(deep));
    memcpy(deep, "x = ", 4);
    deep[sizeof(deep) - 1] = '\0';
    TAP_CHECK(parse_bad(deep, "bad.conf:1: values nested too deeply") == 0);
    /* a failed parse leaves the target untouched */
    struct registries_conf *c = parse_ok("unqualified-search-registries = "
                                         "[\"keep\"]\n");
    TAP_CHECK(c != NULL);
    berth_error_t err = NULL;
    TAP_CHECK(registries_conf_parse(c,
                                    "unqualified-search-registries = "
                                    "[\"new\"]\n[[registry]]\n",
                                    "f", &err) < 0);
    berth_error_free(&err);
    TAP_STREQ(c->search[0], "keep");
    TAP_CHECK(c->n_entries == 0);
    registries_conf_free(c);
    return 0;
}

static int test_merge(void)
{
    struct registries_conf *c =
        parse_ok("unqualified-search-registries = [\"a.io\"]\n"
                 "[[registry]]\nprefix = \"x.io\"\ninsecure = true\n"
                 "[[registry]]\nprefix = \"y.io\"\nblocked = true\n"
                 "[aliases]\n\"one\" = \"a.io/one\"\n");
    berth_error_t err = NULL;
    TAP_CHECK(c != NULL);
    TAP_CHECK(registries_conf_parse(c,
                                    "[[registry]]\nprefix = \"x.io\"\n"
                                    "location = \"x2.io\"\n"
                                    "[aliases]\n\"one\" = \"b.io/one\"\n"
                                    "\"two\" = \"b.io/two\"\n",
                                    "second", &err) == 0);
    /* the search list survives a file that does not set it */
    TAP_CHECK(strv_len(c->search) == 1);
    TAP_STREQ(c->search[0], "a.io");
    TAP_CHECK(c->n_entries == 2);
    const struct registry_entry *e = registries_conf_find(c, "x.io/foo");
    TAP_CHECK(e != NULL);
    TAP_STREQ(e->location, "x2.io");
    TAP_CHECK(!e->insecure);
    TAP_CHECK(c->n_aliases == 2);
    TAP_STREQ(c->alias_values[0], "b.io/one");
    TAP_STREQ(c->alias_values[1], "b.io/two");
    TAP_CHECK(registries_conf_parse(c,
                                    "unqualified-search-registries = "
                                    "[\"c.io\", \"d.io\"]\n",
                                    "third", &err) == 0);
    TAP_CHECK(strv_len(c->search) == 2);
    TAP_STREQ(c->search[0], "c.io");
    registries_conf_free(c);
    return 0;
}

static int test_find_insecure(void)
{
    struct registries_conf *c = parse_ok(
        "[[registry]]\nprefix = \"example.com/foo\"\n"
        "location = \"other.io:5000/bar\"\ninsecure = true\n"
        "[[registry.mirror]]\nlocation = \"mirror.io/x\"\ninsecure = true\n"
        "[[registry]]\nprefix = \"example.com\"\n"
        "[[registry]]\nprefix = \"*.wild.io\"\ninsecure = true\n");
    TAP_CHECK(c != NULL);
    const struct registry_entry *e =
        registries_conf_find(c, "example.com/foo/x");
    TAP_CHECK(e != NULL);
    TAP_STREQ(e->prefix, "example.com/foo");
    e = registries_conf_find(c, "example.com/foo");
    TAP_CHECK(e != NULL && strcmp(e->prefix, "example.com/foo") == 0);
    e = registries_conf_find(c, "example.com/foobar");
    TAP_CHECK(e != NULL && strcmp(e->prefix, "example.com") == 0);
    TAP_CHECK(registries_conf_find(c, "example.community/x") == NULL);
    e = registries_conf_find(c, "a.b.wild.io/img");
    TAP_CHECK(e != NULL && strcmp(e->prefix, "*.wild.io") == 0);
    TAP_CHECK(registries_conf_find(c, "wild.io/img") == NULL);
    TAP_CHECK(registries_conf_find(c, "quay.io/x") == NULL);

    TAP_CHECK(registries_conf_insecure(c, "example.com"));
    TAP_CHECK(registries_conf_insecure(c, "other.io:5000"));
    TAP_CHECK(!registries_conf_insecure(c, "other.io"));
    TAP_CHECK(registries_conf_insecure(c, "mirror.io"));
    TAP_CHECK(registries_conf_insecure(c, "x.wild.io"));
    TAP_CHECK(!registries_conf_insecure(c, "wild.io"));
    TAP_CHECK(!registries_conf_insecure(c, "quay.io"));
    TAP_CHECK(!registries_conf_insecure(NULL, "quay.io"));
    registries_conf_free(c);
    return 0;
}

static int expect_names(char **got, const char *const *want)
{
    size_t i = 0;
    for (; want[i]; i++) {
        if (got == NULL || got[i] == NULL || strcmp(got[i], want[i]) != 0) {
            fprintf(stderr, "# [%zu] got '%s' want '%s'\n", i,
                    got && got[i] ? got[i] : "(null)", want[i]);
            strv_free(got);
            return -1;
        }
    }
    int r = got[i] == NULL ? 0 : -1;
    strv_free(got);
    return r;
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int test_resolve(void)
{
    struct registries_conf *c = registries_conf_new();
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "alpine"),
                           (const char *const[]){"docker.io/library/alpine",
                                                 NULL}) == 0);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "alpine:3.19"),
                           (const char *const[]){
                               "docker.io/library/alpine:3.19", NULL}) == 0);
    TAP_CHECK(
        expect_names(registries_conf_resolve_short(c, "foo/bar@sha256:" HEX64),
                     (const char *const[]){"docker.io/foo/bar@sha256:" HEX64,
                                           NULL}) == 0);
    TAP_CHECK(expect_names(registries_conf_resolve_short(NULL, "x/y:1"),
                           (const char *const[]){"docker.io/x/y:1", NULL}) ==
              0);
    registries_conf_free(c);

    c = parse_ok(
        "unqualified-search-registries = [\"r1.io\", \"r2.io:5000\", "
        "\"docker.io\"]\n[aliases]\n\"alpine\" = \"quay.io/x/alpine\"\n"
        "\"ns/img\" = \"quay.io/ns/img\"\n");
    TAP_CHECK(c != NULL);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "busybox:1"),
                           (const char *const[]){
                               "r1.io/busybox:1", "r2.io:5000/busybox:1",
                               "docker.io/library/busybox:1", NULL}) == 0);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "alpine:3"),
                           (const char *const[]){"quay.io/x/alpine:3", NULL}) ==
              0);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "alpine"),
                           (const char *const[]){"quay.io/x/alpine", NULL}) ==
              0);
    TAP_CHECK(
        expect_names(registries_conf_resolve_short(c, "alpine:t@sha256:" HEX64),
                     (const char *const[]){"quay.io/x/alpine:t@sha256:" HEX64,
                                           NULL}) == 0);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "ns/img"),
                           (const char *const[]){"quay.io/ns/img", NULL}) == 0);
    /* an alias matches the whole name, not a path component */
    TAP_CHECK(expect_names(
                  registries_conf_resolve_short(c, "x/alpine"),
                  (const char *const[]){"r1.io/x/alpine", "r2.io:5000/x/alpine",
                                        "docker.io/x/alpine", NULL}) == 0);
    registries_conf_free(c);

    /* a search list set empty on purpose resolves to nothing (podman then
     * refuses the short name), but an alias still applies */
    c = parse_ok("unqualified-search-registries = []\n[aliases]\n"
                 "\"alpine\" = \"quay.io/x/alpine\"\n");
    TAP_CHECK(c != NULL);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "busybox"),
                           (const char *const[]){NULL}) == 0);
    TAP_CHECK(expect_names(registries_conf_resolve_short(c, "alpine"),
                           (const char *const[]){"quay.io/x/alpine", NULL}) ==
              0);
    registries_conf_free(c);
    return 0;
}

static char *scratch_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *d =
        xasprintf("%s/test-registries-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(d) == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

static int write_file(const char *path, const char *text)
{
    berth_error_t err = NULL;
    if (fs_write_file_atomic(path, text, strlen(text), 0644, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    return 0;
}

static int load_checks(const char *dir)
{
    struct registries_conf *c = NULL;
    berth_error_t err = NULL;
    char path[4096];

    /* $CONTAINERS_REGISTRIES_CONF alone */
    snprintf(path, sizeof(path), "%s/env.conf", dir);
    TAP_CHECK(write_file(path, "unqualified-search-registries = "
                               "[\"env.io\"]\n") == 0);
    setenv("CONTAINERS_REGISTRIES_CONF", path, 1);
    TAP_CHECK(registries_conf_load(&c, &err) == 0);
    TAP_CHECK(strv_len(c->search) == 1);
    TAP_STREQ(c->search[0], "env.io");
    TAP_CHECK(c->n_aliases == 0); /* the system drop-ins were not read */
    registries_conf_free(c);

    snprintf(path, sizeof(path), "%s/missing.conf", dir);
    setenv("CONTAINERS_REGISTRIES_CONF", path, 1);
    TAP_CHECK(registries_conf_load(&c, &err) == 0);
    TAP_CHECK(c->search == NULL && c->n_entries == 0);
    registries_conf_free(c);

    snprintf(path, sizeof(path), "%s/broken.conf", dir);
    TAP_CHECK(write_file(path, "# ok\n[[registry]\n") == 0);
    setenv("CONTAINERS_REGISTRIES_CONF", path, 1);
    TAP_CHECK(registries_conf_load(&c, &err) < 0);
    char *want =
        xasprintf("%s:2: unterminated table header, expected ']]'", path);
    int same = strcmp(err->msg, want) == 0;
    if (!same)
        fprintf(stderr, "# got '%s'\n", err->msg);
    free(want);
    berth_error_free(&err);
    TAP_CHECK(same);
    unsetenv("CONTAINERS_REGISTRIES_CONF");

    /* the user's file and drop-ins come after the system's */
    snprintf(path, sizeof(path), "%s/containers/registries.conf.d", dir);
    TAP_CHECK(fs_mkdir_p(path, 0755, &err) == 0);
    snprintf(path, sizeof(path), "%s/containers/registries.conf", dir);
    TAP_CHECK(write_file(path,
                         "unqualified-search-registries = [\"user.io\"]\n"
                         "[aliases]\n\"alpine\" = \"user.io/alpine\"\n") == 0);
    snprintf(path, sizeof(path), "%s/containers/registries.conf.d/50-a.conf",
             dir);
    TAP_CHECK(write_file(path, "[aliases]\n\"zzz\" = \"dropin.io/zzz\"\n") ==
              0);
    snprintf(path, sizeof(path), "%s/containers/registries.conf.d/ignored.txt",
             dir);
    TAP_CHECK(write_file(path, "this is not toml [[[\n") == 0);
    setenv("XDG_CONFIG_HOME", dir, 1);
    TAP_CHECK(registries_conf_load(&c, &err) == 0);
    TAP_CHECK(strv_len(c->search) == 1);
    TAP_STREQ(c->search[0], "user.io");
    char **v = registries_conf_resolve_short(c, "alpine");
    int ok = v && v[0] && strcmp(v[0], "user.io/alpine") == 0;
    strv_free(v);
    TAP_CHECK(ok);
    v = registries_conf_resolve_short(c, "zzz:1");
    ok = v && v[0] && strcmp(v[0], "dropin.io/zzz:1") == 0;
    strv_free(v);
    TAP_CHECK(ok);
    registries_conf_free(c);
    return 0;
}

static int test_load(void)
{
    char *dir = scratch_dir();
    char *old_xdg =
        getenv("XDG_CONFIG_HOME") ? xstrdup(getenv("XDG_CONFIG_HOME")) : NULL;
    berth_error_t err = NULL;

    TAP_CHECK(dir != NULL);
    int r = load_checks(dir);
    fs_rm_rf(dir, &err);
    berth_error_free(&err);
    free(dir);
    unsetenv("CONTAINERS_REGISTRIES_CONF");
    if (old_xdg)
        setenv("XDG_CONFIG_HOME", old_xdg, 1);
    else
        unsetenv("XDG_CONFIG_HOME");
    free(old_xdg);
    return r;
}

/* The drop-in Debian's containers-common ships: real-world input. */
static int test_system_shortnames(void)
{
    const char *p = "/etc/containers/registries.conf.d/shortnames.conf";
    struct registries_conf *c = registries_conf_new();
    berth_error_t err = NULL;

    if (!fs_exists(p)) {
        registries_conf_free(c);
        return 77;
    }
    int r = registries_conf_load_file(c, p, &err);
    if (r < 0)
        fprintf(stderr, "# %s\n", err->msg);
    berth_error_free(&err);
    TAP_CHECK(r == 0);
    TAP_CHECK(c->n_aliases > 10);
    registries_conf_free(c);
    return 0;
}

TAP_MAIN({"v2 format", test_v2}, {"strings", test_strings},
         {"v1 format", test_v1}, {"malformed input", test_malformed},
         {"merging files", test_merge},
         {"find and insecure", test_find_insecure},
         {"short-name resolution", test_resolve}, {"load", test_load},
         {"system shortnames.conf", test_system_shortnames})
