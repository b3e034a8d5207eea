#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "image/config-change.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "tests/unit/tap.h"

/* Apply changes to a fresh config; returns it (compact, sorted keys) or
 * NULL with *msg set to the error. */
static char *cc_run(char **msg, const char *const *changes)
{
    _cleanup_json_ json_t *cfg = json_object();
    berth_error_t err = NULL;
    *msg = NULL;
    if (config_changes_apply(cfg, (char *const *)changes, NULL, &err) < 0) {
        *msg = xstrdup(err->msg);
        berth_error_free(&err);
        return NULL;
    }
    return json_dump_compact(cfg);
}

static int cc_expect(const char *want, const char *const *changes)
{
    _cleanup_free_ char *msg = NULL;
    _cleanup_free_ char *got = cc_run(&msg, changes);
    if (got == NULL)
        fprintf(stderr, "# %s: error %s\n", changes[0], msg);
    TAP_STREQ(got, want);
    return 0;
}

static int cc_expect_err(const char *want, const char *const *changes)
{
    _cleanup_free_ char *msg = NULL;
    _cleanup_free_ char *got = cc_run(&msg, changes);
    if (got)
        fprintf(stderr, "# %s: unexpectedly gave %s\n", changes[0], got);
    TAP_CHECK(got == NULL);
    if (strstr(msg, want) == NULL)
        fprintf(stderr, "# message '%s' lacks '%s'\n", msg, want);
    TAP_CHECK(strstr(msg, want) != NULL);
    return 0;
}

#define EXPECT(want, ...)                                                      \
    do {                                                                       \
        const char *const _c[] = {__VA_ARGS__, NULL};                          \
        if (cc_expect(want, _c) < 0)                                           \
            return -1;                                                         \
    } while (0)
#define EXPECT_ERR(want, ...)                                                  \
    do {                                                                       \
        const char *const _c[] = {__VA_ARGS__, NULL};                          \
        if (cc_expect_err(want, _c) < 0)                                       \
            return -1;                                                         \
    } while (0)

static int test_cmd_entrypoint(void)
{
    EXPECT("{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"]}", "CMD echo hi");
    EXPECT("{\"Cmd\":[\"ls\",\"-l\"]}", "CMD [\"ls\", \"-l\"]");
    EXPECT("{\"Cmd\":[\"ls\"]}", "CMD=[\"ls\"]");
    EXPECT("{\"Cmd\":[\"/bin/sh\",\"-c\"]}", "CMD ");
    /* not an array of strings: shell form */
    EXPECT("{\"Cmd\":[\"/bin/sh\",\"-c\",\"[1, 2]\"]}", "CMD [1, 2]");
    EXPECT("{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"top -b\"]}",
           "entrypoint top -b");
    EXPECT("{\"Entrypoint\":[]}", "ENTRYPOINT ");
    EXPECT("{\"Entrypoint\":[]}", "ENTRYPOINT null");
    EXPECT("{\"Entrypoint\":[\"/init\"]}", "ENTRYPOINT [\"/bin/x\"]",
           "ENTRYPOINT [\"/init\"]");
    return 0;
}

static int test_env_label(void)
{
    EXPECT("{\"Env\":[\"A=1\",\"B=x=y\"]}", "ENV A=1", "ENV B=x=y");
    EXPECT("{\"Env\":[\"A=2\"]}", "ENV A=1", "ENV A=2");
    EXPECT("{\"Env\":[\"KEY=\"]}", "ENV KEY");
    EXPECT("{\"Env\":[\"K=quoted value\"]}", "ENV \"K\"=\"quoted value\"");
    EXPECT("{\"Env\":[\"A=1\"]}", "ENV=A=1");
    EXPECT_ERR("ENV must have at least one argument", "ENV =x");
    EXPECT("{\"Labels\":{\"a\":\"b c\",\"k\":\"v\"}}", "LABEL k=v",
           "LABEL \"a\"=\"b c\"");
    EXPECT_ERR("LABEL must be formatted key=value", "LABEL novalue");
    EXPECT_ERR("LABEL must have a non-empty key", "LABEL \"\"=x");
    return 0;
}

static int test_expose_volume(void)
{
    EXPECT("{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{}}}", "EXPOSE 80",
           "EXPOSE 53/UDP");
    EXPECT("{\"ExposedPorts\":{\"8080/tcp\":{}}}", "EXPOSE 8080/tcp");
    EXPECT_ERR("EXPOSE port must be an integer", "EXPOSE http");
    EXPECT_ERR("EXPOSE port must be a valid port number", "EXPOSE 0");
    EXPECT_ERR("EXPOSE port must be a valid port number", "EXPOSE 70000");
    EXPECT_ERR("EXPOSE protocol must be TCP or UDP", "EXPOSE 80/sctp");
    EXPECT_ERR("EXPOSE port must be formatted as PORT[/PROTO]",
               "EXPOSE 80/tcp/x");
    EXPECT("{\"Volumes\":{\"/a\":{},\"/b\":{}}}", "VOLUME /a /b");
    EXPECT("{\"Volumes\":{\"/data\":{},\"/x y\":{}}}",
           "VOLUME [\"/data\", \"/x y\"]");
    EXPECT_ERR("VOLUME paths must not be empty", "VOLUME /a  /b");
    EXPECT_ERR("must provide at least one argument to VOLUME", "VOLUME []");
    return 0;
}

static int test_workdir_user(void)
{
    EXPECT("{\"WorkingDir\":\"/a/b/c\"}", "WORKDIR /a", "WORKDIR b",
           "WORKDIR c/");
    /* podman joins even an absolute one (filepath.Join) */
    EXPECT("{\"WorkingDir\":\"/x/y\"}", "WORKDIR /x", "WORKDIR /y");
    EXPECT("{\"WorkingDir\":\"/c\"}", "WORKDIR /a/./b", "WORKDIR ../../../c");
    EXPECT("{\"WorkingDir\":\"rel/dir\"}", "WORKDIR rel//dir");
    EXPECT_ERR("must provide a non-empty WORKDIR", "WORKDIR  ");
    EXPECT("{\"User\":\"1000:1000\"}", "USER 1000:1000");
    EXPECT_ERR("must provide a value to USER", "USER ");
    return 0;
}

static int test_stopsignal_misc(void)
{
    EXPECT("{\"StopSignal\":\"15\"}", "STOPSIGNAL SIGTERM");
    EXPECT("{\"StopSignal\":\"9\"}", "STOPSIGNAL kill");
    EXPECT("{\"StopSignal\":\"2\"}", "STOPSIGNAL 2");
    EXPECT_ERR("KILLSIGNAL must be given a valid signal", "STOPSIGNAL SIGFOO");
    EXPECT_ERR("invalid instruction FROM", "FROM busybox");
    EXPECT_ERR("must be formatted as KEY VALUE", "CMD");
    EXPECT_ERR("ONBUILD must be given an argument", "ONBUILD ");
    EXPECT_ERR("not valid UTF-8", "LABEL a=\xff");
    /* a failing change stops there */
    EXPECT_ERR("invalid instruction BOGUS", "USER x", "BOGUS 1");
    return 0;
}

static int test_onbuild(void)
{
    _cleanup_json_ json_t *cfg = json_object();
    _cleanup_strv_ char **onbuild = NULL;
    berth_error_t err = NULL;
    const char *const changes[] = {"ONBUILD RUN make", "USER u",
                                   "onbuild ADD . /src", NULL};
    TAP_CHECK(config_changes_apply(cfg, (char *const *)changes, &onbuild,
                                   &err) == 0);
    TAP_CHECK(strv_len(onbuild) == 2);
    TAP_STREQ(onbuild[0], "RUN make");
    TAP_STREQ(onbuild[1], "ADD . /src");
    /* ONBUILD has no OCI field: nothing lands in the config for it */
    _cleanup_free_ char *dump = json_dump_compact(cfg);
    TAP_STREQ(dump, "{\"User\":\"u\"}");
    /* over an existing config: other fields are kept */
    _cleanup_json_ json_t *old = json_pack("{s:[s],s:s}", "Env", "PATH=/bin",
                                           "User", "root");
    const char *const more[] = {"ENV PATH=/usr/bin", "ENV X=1", NULL};
    TAP_CHECK(config_changes_apply(old, (char *const *)more, NULL, &err) == 0);
    _cleanup_free_ char *d2 = json_dump_compact(old);
    TAP_STREQ(d2, "{\"Env\":[\"PATH=/usr/bin\",\"X=1\"],\"User\":\"root\"}");
    return 0;
}

static int test_parse_signal(void)
{
    TAP_CHECK(config_parse_signal("SIGTERM") == 15);
    TAP_CHECK(config_parse_signal("term") == 15);
    TAP_CHECK(config_parse_signal("SIGhup") == 1);
    TAP_CHECK(config_parse_signal("9") == 9);
    TAP_CHECK(config_parse_signal("64") == 64);
    TAP_CHECK(config_parse_signal("65") == -1);
    TAP_CHECK(config_parse_signal("0") == -1);
    TAP_CHECK(config_parse_signal("-1") == -1);
    TAP_CHECK(config_parse_signal("") == -1);
    TAP_CHECK(config_parse_signal("RTMIN") == 34);
    TAP_CHECK(config_parse_signal("SIGRTMIN+3") == 37);
    TAP_CHECK(config_parse_signal("RTMAX-2") == 62);
    TAP_CHECK(config_parse_signal("RTMAX") == 64);
    TAP_CHECK(config_parse_signal("RTMIN+31") == -1);
    TAP_CHECK(config_parse_signal("RTMIN+") == -1);
    TAP_CHECK(config_parse_signal("SIG") == -1);
    TAP_CHECK(config_parse_signal("USR3") == -1);
    return 0;
}

TAP_MAIN({"CMD and ENTRYPOINT forms", test_cmd_entrypoint},
         {"ENV and LABEL", test_env_label},
         {"EXPOSE and VOLUME", test_expose_volume},
         {"WORKDIR and USER", test_workdir_user},
         {"STOPSIGNAL and errors", test_stopsignal_misc},
         {"ONBUILD collected, existing config kept", test_onbuild},
         {"signal names and numbers", test_parse_signal})
