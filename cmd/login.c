#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "image/auth.h"
#include "image/registries.h"
#include "image/registry.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* "https://host:5000/" -> "host:5000"; a repository path is kept, as
 * containers-auth.json allows per-repository credentials. */
static char *auth_key(const char *arg)
{
    const char *p = arg;
    if (str_has_prefix(p, "https://"))
        p += 8;
    else if (str_has_prefix(p, "http://"))
        p += 7;
    char *k = xstrdup(p);
    size_t l = strlen(k);
    while (l > 0 && k[l - 1] == '/')
        k[--l] = '\0';
    if (strcmp(k, "index.docker.io") == 0 ||
        strcmp(k, "registry-1.docker.io") == 0) {
        free(k);
        k = xstrdup("docker.io");
    }
    return k;
}

static char *read_line(FILE *in, bool echo)
{
    struct termios old, quiet;
    bool tty = !echo && isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(in), TCSAFLUSH, &quiet);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    if (tty) {
        tcsetattr(fileno(in), TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

int cmd_login(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "login", NULL, "[options] [REGISTRY]",
        "Log in to a container registry", NULL, NULL};
    _cleanup_free_ char *user = NULL, *pass = NULL;
    bool pass_stdin = false, get_login = false;
    struct reg_flags rf;
    reg_flags_init(&rf);
    const struct cli_opt opts[] = {
        {"get-login", 0, CLI_BOOL, &get_login, NULL,
         "Return the current login user for the registry"},
        {"password", 'p', CLI_STRING, &pass, "string", "Password for registry"},
        {"password-stdin", 0, CLI_BOOL, &pass_stdin, NULL,
         "Take the password from stdin"},
        {"username", 'u', CLI_STRING, &user, "string", "Username for registry"},
        REG_FLAG_OPTS(rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct registry_client *c = NULL;
    struct registry_opts ro = {0};
    struct auth_creds creds = {0};
    _cleanup_free_ char *key = NULL, *credstr = NULL;
    int optind = 0, r;
    (void)g;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0) {
        r = r > 0 ? 0 : -1;
        goto out;
    }
    r = -1;
    if (argc - optind > 1) {
        cli_nargs("login", argc - optind, 0, 1, err);
        goto out;
    }
    key = auth_key(argc - optind == 1 ? argv[optind] : "docker.io");
    if (get_login) {
        int f = auth_lookup(rf.authfile, key, &creds, err);
        if (f < 0)
            goto out;
        if (f == 0) {
            berth_error_new(err, 0, "not logged into %s", key);
            goto out;
        }
        printf("%s\n", creds.username);
        r = 0;
        goto out;
    }
    if (pass && pass_stdin) {
        berth_error_new(err, 0, "--password and --password-stdin are "
                        "mutually exclusive");
        goto out;
    }
    if (pass_stdin && user == NULL) {
        berth_error_new(err, 0, "must provide --username with "
                        "--password-stdin");
        goto out;
    }
    if (user == NULL) {
        fprintf(stderr, "Username: ");
        user = read_line(stdin, true);
        if (user == NULL || !*user) {
            berth_error_new(err, 0, "username is required");
            goto out;
        }
    }
    if (pass == NULL) {
        if (!pass_stdin)
            fprintf(stderr, "Password: ");
        pass = read_line(stdin, pass_stdin);
        if (pass == NULL || !*pass) {
            berth_error_new(err, 0, "password is required");
            goto out;
        }
    }
    credstr = xasprintf("%s:%s", user, pass);
    reg_flags_apply(&rf, &ro);
    ro.creds = credstr;
    {
        struct registries_conf *conf = NULL;
        berth_error_t e = NULL;
        _cleanup_free_ char *host = xstrndup(key, strcspn(key, "/"));
        if (registries_conf_load(&conf, &e) == 0) {
            ro.insecure_conf = registries_conf_insecure(conf, host);
            registries_conf_free(conf);
        }
        berth_error_free(&e);
        if (registry_client_new(host, NULL, &ro, &c, err) < 0 ||
            registry_ping(c, err) < 0) {
            /* a refusal of the credentials is reported as podman does,
             * whatever the registry or token server said about it */
            if (*err != NULL && (*err)->errnum == EACCES) {
                berth_error_free(err);
                berth_error_new(err, 0, "invalid username/password");
            }
            berth_error_prefix(err, "logging into \"%s\"", key);
            goto out;
        }
    }
    creds.username = xstrdup(user);
    creds.password = xstrdup(pass);
    if (auth_store(rf.authfile, key, &creds, err) < 0)
        goto out;
    printf("Login Succeeded!\n");
    r = 0;
out:
    registry_client_free(c);
    auth_creds_clear(&creds);
    reg_flags_free(&rf);
    return r;
}

int cmd_logout(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "logout", NULL, "[options] [REGISTRY]",
        "Log out of a container registry", NULL, NULL};
    _cleanup_free_ char *authfile = NULL;
    bool all = false;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         "Remove the cached credentials for all registries in the auth file"},
        {"authfile", 0, CLI_STRING, &authfile, "string",
         "Path of the authentication file"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    int optind = 0, r;
    (void)g;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("logout", argc - optind, 0, 1, err) < 0)
        return -1;
    if (all) {
        if (auth_remove(authfile, NULL, err) < 0)
            return -1;
        printf("Removed login credentials for all registries\n");
        return 0;
    }
    _cleanup_free_ char *key =
        auth_key(argc - optind == 1 ? argv[optind] : "docker.io");
    r = auth_remove(authfile, key, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return berth_error_new(err, 0, "not logged into %s", key);
    printf("Removed login credentials for %s\n", key);
    return 0;
}
