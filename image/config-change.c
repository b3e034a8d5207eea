#define _GNU_SOURCE
#include "image/config-change.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* Go's view of the real-time range (glibc reserves 32 and 33), which is
 * what podman's signal.ParseSignal accepts. */
#define CC_RTMIN 34
#define CC_RTMAX 64

static const struct {
    const char *name;
    int num;
} cc_signals[] = {
    {"ABRT", SIGABRT},     {"ALRM", SIGALRM}, {"BUS", SIGBUS},
    {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"FPE", SIGFPE},       {"HUP", SIGHUP},   {"ILL", SIGILL},
    {"INT", SIGINT},       {"IO", SIGIO},     {"IOT", SIGIOT},
    {"KILL", SIGKILL},     {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
    {"PROF", SIGPROF},     {"PWR", SIGPWR},   {"QUIT", SIGQUIT},
    {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP},     {"SYS", SIGSYS},   {"TERM", SIGTERM},
    {"TRAP", SIGTRAP},     {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"USR1", SIGUSR1},
    {"USR2", SIGUSR2},     {"VTALRM", SIGVTALRM},
    {"WINCH", SIGWINCH},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

/* Digits only, no sign, in [0, max]; -1 otherwise. */
static int cc_small_uint(const char *s, int max)
{
    long v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return (int)v;
}

int config_parse_signal(const char *s)
{
    int n = cc_small_uint(s, CC_RTMAX);
    if (n == 0)
        return -1;
    if (n > 0)
        return n;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof cc_signals / sizeof cc_signals[0]; i++)
        if (strcasecmp(s, cc_signals[i].name) == 0)
            return cc_signals[i].num;
    if (strncasecmp(s, "RTMIN", 5) == 0) {
        if (s[5] == '\0')
            return CC_RTMIN;
        int off = s[5] == '+' ? cc_small_uint(s + 6, CC_RTMAX - CC_RTMIN) : -1;
        return off > 0 ? CC_RTMIN + off : -1;
    }
    if (strncasecmp(s, "RTMAX", 5) == 0) {
        if (s[5] == '\0')
            return CC_RTMAX;
        int off = s[5] == '-' ? cc_small_uint(s + 6, CC_RTMAX - CC_RTMIN) : -1;
        return off > 0 ? CC_RTMAX - off : -1;
    }
    return -1;
}

static char *cc_trim(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

/* Strip one pair of surrounding double quotes, as podman does for ENV and
 * LABEL keys and values. */
static void cc_unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
}

/* A JSON array of strings ("null" counts as empty), or NULL when value is
 * not one: the exec form of CMD, ENTRYPOINT and VOLUME. */
static json_t *cc_json_strings(const char *value)
{
    json_error_t jerr;
    json_t *j = json_loads(value, JSON_DECODE_ANY, &jerr);
    size_t i;
    json_t *v;
    if (j == NULL)
        return NULL;
    if (json_is_null(j)) {
        json_decref(j);
        return json_array();
    }
    if (!json_is_array(j)) {
        json_decref(j);
        return NULL;
    }
    json_array_foreach(j, i, v) {
        if (!json_is_string(v)) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

/* Go's filepath.Clean of a joined path: no empty, "." or resolvable ".."
 * elements. */
static char *cc_path_clean(const char *p)
{
    bool abs = p[0] == '/';
    _cleanup_strv_ char **parts = strv_split(p, "/");
    char **out = xcalloc(strv_len(parts) + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; parts && parts[i]; i++) {
        if (strcmp(parts[i], ".") == 0)
            continue;
        if (strcmp(parts[i], "..") == 0) {
            if (n > 0 && strcmp(out[n - 1], "..") != 0) {
                free(out[--n]);
                out[n] = NULL;
                continue;
            }
            if (abs)
                continue;
        }
        out[n++] = xstrdup(parts[i]);
    }
    _cleanup_free_ char *joined = strv_join(out, "/");
    strv_free(out);
    if (abs)
        return xasprintf("/%s", joined);
    return *joined ? xstrdup(joined) : xstrdup(".");
}

/* An object member that is itself an object, created when missing. */
static json_t *cc_object(json_t *cfg, const char *key)
{
    json_t *o = json_object_get(cfg, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(cfg, key, o);
    }
    return o;
}

static int cc_expose(json_t *cfg, const char *change, const char *value,
                     berth_error_t *err)
{
    _cleanup_free_ char *v = xstrdup(value);
    char *proto = strchr(v, '/');
    if (proto) {
        *proto++ = '\0';
        if (strchr(proto, '/'))
            return berth_error_new(err, 0,
                                   "invalid change \"%s\" - EXPOSE port must "
                                   "be formatted as PORT[/PROTO]",
                                   change);
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0)
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - EXPOSE port must be "
                               "an integer",
                               change);
    if (port <= 0 || port > 65535)
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - EXPOSE port must be "
                               "a valid port number",
                               change);
    if (proto && strcasecmp(proto, "tcp") != 0 && strcasecmp(proto, "udp") != 0)
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - EXPOSE protocol must "
                               "be TCP or UDP",
                               change);
    _cleanup_free_ char *key = xasprintf(
        "%ld/%s", port, proto && strcasecmp(proto, "udp") == 0 ? "udp" : "tcp");
    json_object_set_new(cc_object(cfg, "ExposedPorts"), key, json_object());
    return 0;
}

/* ENV key=value: a later value for a key replaces the earlier one, as a
 * Dockerfile's ENV does, so that applying changes over an existing config
 * (commit) keeps one entry per variable. */
static int cc_env(json_t *cfg, const char *change, const char *value,
                  berth_error_t *err)
{
    _cleanup_free_ char *key = xstrdup(value);
    char *eq = strchr(key, '=');
    _cleanup_free_ char *val = xstrdup(eq ? eq + 1 : "");
    if (eq)
        *eq = '\0';
    if (*key == '\0')
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - ENV must have at "
                               "least one argument",
                               change);
    cc_unquote(key);
    cc_unquote(val);
    json_t *env = json_object_get(cfg, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(cfg, "Env", env);
    }
    _cleanup_free_ char *entry = xasprintf("%s=%s", key, val);
    size_t kl = strlen(key), i;
    json_t *e;
    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e);
        if (s && strncmp(s, key, kl) == 0 && s[kl] == '=')
            return json_array_set_new(env, i, json_string(entry)) < 0 ? -1 : 0;
    }
    json_array_append_new(env, json_string(entry));
    return 0;
}

static int cc_label(json_t *cfg, const char *change, const char *value,
                    berth_error_t *err)
{
    _cleanup_free_ char *key = xstrdup(value);
    char *eq = strchr(key, '=');
    if (eq == NULL)
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - LABEL must be "
                               "formatted key=value",
                               change);
    *eq = '\0';
    _cleanup_free_ char *val = xstrdup(eq + 1);
    cc_unquote(key);
    cc_unquote(val);
    if (*key == '\0')
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - LABEL must have a "
                               "non-empty key",
                               change);
    json_object_set_new(cc_object(cfg, "Labels"), key, json_string(val));
    return 0;
}

static int cc_volume(json_t *cfg, const char *change, const char *value,
                     berth_error_t *err)
{
    _cleanup_json_ json_t *vols = cc_json_strings(value);
    size_t i;
    json_t *v;
    if (vols == NULL) {
        /* podman splits on single spaces, so "a  b" has an empty path */
        vols = json_array();
        const char *p = value;
        for (;;) {
            const char *sp = strchr(p, ' ');
            size_t n = sp ? (size_t)(sp - p) : strlen(p);
            json_array_append_new(vols, json_stringn(p, n));
            if (sp == NULL)
                break;
            p = sp + 1;
        }
    }
    if (json_array_size(vols) == 0)
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - must provide at "
                               "least one argument to VOLUME",
                               change);
    json_array_foreach(vols, i, v) {
        if (*json_string_value(v) == '\0')
            return berth_error_new(err, 0,
                                   "invalid change \"%s\" - VOLUME paths "
                                   "must not be empty",
                                   change);
    }
    json_t *obj = cc_object(cfg, "Volumes");
    json_array_foreach(vols, i, v)
        json_object_set_new(obj, json_string_value(v), json_object());
    return 0;
}

/* CMD and ENTRYPOINT: exec form (JSON array) or shell form.  An empty
 * shell-form ENTRYPOINT clears it; an empty CMD is a bare "sh -c". */
static void cc_command(json_t *cfg, const char *key, const char *value)
{
    json_t *arr = cc_json_strings(value);
    if (arr == NULL) {
        arr = json_array();
        if (strcmp(key, "Cmd") == 0 || *value) {
            json_array_append_new(arr, json_string("/bin/sh"));
            json_array_append_new(arr, json_string("-c"));
        }
        if (*value)
            json_array_append_new(arr, json_string(value));
    }
    json_object_set_new(cfg, key, arr);
}

static int cc_one(json_t *cfg, const char *change, char ***onbuild,
                  berth_error_t *err)
{
    /* the config is JSON: refuse what jansson can't hold */
    _cleanup_json_ json_t *utf8 = json_string(change);
    if (utf8 == NULL)
        return berth_error_new(err, 0, "invalid change \"%s\" - not valid UTF-8",
                               change);
    /* "KEY VALUE" as a Dockerfile has it, else "KEY=VALUE" */
    const char *sep = strchr(change, ' ');
    if (sep == NULL)
        sep = strchr(change, '=');
    if (sep == NULL)
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - must be formatted as "
                               "KEY VALUE",
                               change);
    _cleanup_free_ char *rawkey = xstrndup(change, (size_t)(sep - change));
    _cleanup_free_ char *key = cc_trim(rawkey);
    _cleanup_free_ char *value = cc_trim(sep + 1);
    for (char *k = key; *k; k++)
        *k = (char)toupper((unsigned char)*k);

    if (strcmp(key, "USER") == 0) {
        if (*value == '\0')
            return berth_error_new(err, 0,
                                   "invalid change \"%s\" - must provide a "
                                   "value to USER",
                                   change);
        json_object_set_new(cfg, "User", json_string(value));
    } else if (strcmp(key, "EXPOSE") == 0) {
        return cc_expose(cfg, change, value, err);
    } else if (strcmp(key, "ENV") == 0) {
        return cc_env(cfg, change, value, err);
    } else if (strcmp(key, "ENTRYPOINT") == 0) {
        cc_command(cfg, "Entrypoint", value);
    } else if (strcmp(key, "CMD") == 0) {
        cc_command(cfg, "Cmd", value);
    } else if (strcmp(key, "VOLUME") == 0) {
        return cc_volume(cfg, change, value, err);
    } else if (strcmp(key, "WORKDIR") == 0) {
        if (*value == '\0')
            return berth_error_new(err, 0,
                                   "invalid change \"%s\" - must provide a "
                                   "non-empty WORKDIR",
                                   change);
        /* relative to the previous one; podman joins even absolute ones
         * (filepath.Join), so "/a" then "/b" is "/a/b" */
        const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
        _cleanup_free_ char *joined =
            cur && *cur ? xasprintf("%s/%s", cur, value) : xstrdup(value);
        _cleanup_free_ char *clean = cc_path_clean(joined);
        json_object_set_new(cfg, "WorkingDir", json_string(clean));
    } else if (strcmp(key, "LABEL") == 0) {
        return cc_label(cfg, change, value, err);
    } else if (strcmp(key, "STOPSIGNAL") == 0) {
        int sig = config_parse_signal(value);
        if (sig < 0)
            return berth_error_new(err, 0,
                                   "invalid change \"%s\" - KILLSIGNAL must be "
                                   "given a valid signal: invalid signal: %s",
                                   change, value);
        _cleanup_free_ char *num = xasprintf("%d", sig);
        json_object_set_new(cfg, "StopSignal", json_string(num));
    } else if (strcmp(key, "ONBUILD") == 0) {
        if (*value == '\0')
            return berth_error_new(err, 0,
                                   "invalid change \"%s\" - ONBUILD must be "
                                   "given an argument",
                                   change);
        if (onbuild)
            strv_append(onbuild, value);
    } else {
        return berth_error_new(err, 0,
                               "invalid change \"%s\" - invalid instruction %s",
                               change, key);
    }
    return 0;
}

int config_changes_apply(json_t *cfg, char *const *changes,
                         char ***ret_onbuild, berth_error_t *err)
{
    for (size_t i = 0; changes && changes[i]; i++)
        if (cc_one(cfg, changes[i], ret_onbuild, err) < 0)
            return -1;
    return 0;
}
