#define _GNU_SOURCE
#include "image/ref.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* github.com/distribution/reference: NameTotalLengthMax and the tag
 * grammar [\w][\w.-]{0,127}. */
#define REF_NAME_MAX 255
#define REF_TAG_MAX 128

static bool ref_is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ref_is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool ref_is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* pathComponent: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* over s[0..n) */
static bool ref_path_component_valid(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || !ref_is_lower_alnum(s[0]))
        return false;
    while (i < n) {
        while (i < n && ref_is_lower_alnum(s[i]))
            i++;
        if (i == n)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == n || !ref_is_lower_alnum(s[i]))
            return false;
    }
    return true;
}

/* remoteName: pathComponent(/pathComponent)* */
static bool ref_remote_name_valid(const char *s)
{
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (!ref_path_component_valid(s, n))
            return false;
        if (slash == NULL)
            return true;
        s = slash + 1;
    }
}

/* domainNameComponent: [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool ref_domain_component_valid(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

/* host[:port], host being a dotted domain name or a bracketed IPv6
 * address ("[::1]:5000"). */
static bool ref_domain_valid(const char *s)
{
    const char *port = NULL;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':')
                return false;
        if (close[1] != '\0' && close[1] != ':')
            return false;
        port = close[1] == ':' ? close + 1 : NULL;
    } else {
        port = strchr(s, ':');
        const char *end = port ? port : s + strlen(s);
        const char *p = s;
        for (;;) {
            const char *dot = memchr(p, '.', (size_t)(end - p));
            const char *cend = dot ? dot : end;
            if (!ref_domain_component_valid(p, (size_t)(cend - p)))
                return false;
            if (dot == NULL)
                break;
            p = dot + 1;
        }
    }
    if (port) {
        if (port[1] == '\0')
            return false;
        for (const char *p = port + 1; *p; p++)
            if (*p < '0' || *p > '9')
                return false;
    }
    return true;
}

static bool ref_tag_valid(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > REF_TAG_MAX || !ref_is_word(t[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!ref_is_word(t[i]) && t[i] != '.' && t[i] != '-')
            return false;
    return true;
}

bool image_digest_valid(const char *digest)
{
    if (digest == NULL || !str_has_prefix(digest, "sha256:"))
        return false;
    const char *h = digest + 7;
    if (strlen(h) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!ref_is_hex_lower(h[i]))
            return false;
    return true;
}

bool image_ref_is_id_prefix(const char *s)
{
    if (s == NULL)
        return false;
    if (str_has_prefix(s, "sha256:"))
        s += 7;
    size_t n = strlen(s);
    if (n < 3 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ref_is_hex_lower(s[i]))
            return false;
    return true;
}

static bool ref_has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

/* Docker's splitDockerDomain: the first component names a registry only
 * when it looks like a host ('.' or ':', "localhost") or has uppercase
 * letters, which a repository path never may. */
static bool ref_first_is_domain(const char *name, size_t n)
{
    if (memchr(name, '.', n) || memchr(name, ':', n))
        return true;
    if (n == 9 && memcmp(name, "localhost", 9) == 0)
        return true;
    return ref_has_upper(name, n);
}

void image_ref_free(struct image_ref *ref)
{
    if (ref == NULL)
        return;
    free(ref->registry);
    free(ref->path);
    free(ref->tag);
    free(ref->digest);
    free(ref);
}

static int ref_invalid(const char *name, berth_error_t *err)
{
    return berth_error_new(
        err, 0, "parsing reference \"%s\": invalid reference format", name);
}

/* Split "name[:tag]" (already without "@digest") into its pieces; the tag's
 * colon is the last one after the last slash, a port's comes before it. */
static int ref_split_name(const char *input, char *rest, struct image_ref *ref,
                          berth_error_t *err)
{
    char *slash = strrchr(rest, '/');
    char *colon = strrchr(slash ? slash : rest, ':');
    if (colon) {
        *colon = '\0';
        if (!ref_tag_valid(colon + 1))
            return ref_invalid(input, err);
        ref->tag = xstrdup(colon + 1);
    }
    if (rest[0] == '\0')
        return ref_invalid(input, err);

    const char *remote = rest;
    char *first = strchr(rest, '/');
    if (first && ref_first_is_domain(rest, (size_t)(first - rest))) {
        *first = '\0';
        if (!ref_domain_valid(rest))
            return ref_invalid(input, err);
        ref->registry = xstrdup(rest);
        remote = first + 1;
    }
    size_t total =
        strlen(remote) + (ref->registry ? strlen(ref->registry) + 1 : 0);
    if (ref_has_upper(remote, strlen(remote)))
        return berth_error_new(err, 0,
                               "parsing reference \"%s\": invalid reference "
                               "format: repository name must be lowercase",
                               input);
    if (!ref_remote_name_valid(remote))
        return ref_invalid(input, err);
    if (total > REF_NAME_MAX)
        return berth_error_new(err, 0,
                               "parsing reference \"%s\": repository name "
                               "must not be more than %d characters",
                               input, REF_NAME_MAX);
    ref->path = xstrdup(remote);
    return 0;
}

/* docker.io's historical spellings and its implicit "library/" namespace
 * (distribution's ParseNormalizedNamed). */
static void ref_normalize(struct image_ref *ref)
{
    if (ref->registry && (strcmp(ref->registry, "index.docker.io") == 0 ||
                          strcmp(ref->registry, "registry-1.docker.io") == 0)) {
        free(ref->registry);
        ref->registry = xstrdup("docker.io");
    }
    if (ref->registry && strcmp(ref->registry, "docker.io") == 0 &&
        strchr(ref->path, '/') == NULL) {
        char *p = xasprintf("library/%s", ref->path);
        free(ref->path);
        ref->path = p;
    }
}

static bool ref_is_full_hex_id(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!ref_is_hex_lower(s[i]))
            return false;
    return true;
}

int image_ref_parse(const char *name, struct image_ref **ret,
                    berth_error_t *err)
{
    struct image_ref *ref;
    _cleanup_free_ char *rest = NULL;

    if (name == NULL || name[0] == '\0')
        return berth_error_new(err, 0,
                               "invalid reference format: "
                               "repository name must have at least "
                               "one component");
    /* an image id, never a repository: docker refuses it so "run <id>"
     * cannot be taken for a pull of a repository named like it */
    if (ref_is_full_hex_id(name))
        return berth_error_new(err, 0,
                               "invalid repository name (%s), cannot "
                               "specify 64-byte hexadecimal strings",
                               name);
    ref = xcalloc(1, sizeof(*ref));
    rest = xstrdup(name);
    char *at = strchr(rest, '@');
    if (at) {
        *at = '\0';
        if (!image_digest_valid(at + 1)) {
            image_ref_free(ref);
            return ref_invalid(name, err);
        }
        ref->digest = xstrdup(at + 1);
    }
    if (ref_split_name(name, rest, ref, err) < 0) {
        image_ref_free(ref);
        return -1;
    }
    ref_normalize(ref);
    if (ref->tag == NULL && ref->digest == NULL)
        ref->tag = xstrdup("latest");
    *ret = ref;
    return 0;
}

static char *ref_strdup0(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct image_ref *image_ref_dup(const struct image_ref *ref)
{
    if (ref == NULL)
        return NULL;
    struct image_ref *r = xcalloc(1, sizeof(*r));
    r->registry = ref_strdup0(ref->registry);
    r->path = ref_strdup0(ref->path);
    r->tag = ref_strdup0(ref->tag);
    r->digest = ref_strdup0(ref->digest);
    return r;
}

char *image_ref_repo(const struct image_ref *ref)
{
    if (ref->registry == NULL)
        return xstrdup(ref->path);
    return xasprintf("%s/%s", ref->registry, ref->path);
}

char *image_ref_string(const struct image_ref *ref)
{
    _cleanup_free_ char *repo = image_ref_repo(ref);

    if (ref->tag && ref->digest)
        return xasprintf("%s:%s@%s", repo, ref->tag, ref->digest);
    if (ref->digest)
        return xasprintf("%s@%s", repo, ref->digest);
    if (ref->tag)
        return xasprintf("%s:%s", repo, ref->tag);
    return TAKE_PTR(repo);
}

char *image_ref_tagged(const struct image_ref *ref)
{
    if (ref->tag == NULL)
        return NULL;
    _cleanup_free_ char *repo = image_ref_repo(ref);
    return xasprintf("%s:%s", repo, ref->tag);
}
