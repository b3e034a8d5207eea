#!/usr/bin/env bats
# --runtime PATH: the same bundle run by an external OCI runtime (crun)
# instead of berth's own, rootless and rootful: run, the exit code, -d,
# stop, exec, logs and rm.

load helpers

setup() {
    skip_if_no_registry
    command -v crun >/dev/null || skip "crun is not installed"
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
    CRUN=$(command -v crun)
    # crun 1.8 refuses a hybrid cgroup host whose v2 tree has controllers
    # ("cgroups in hybrid mode not supported"), as this CI machine has:
    # the wrapper hides the v2 mount from it in a mount namespace of its own
    if [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
        CRUN=$BATS_TEST_TMPDIR/crun
        cat >"$CRUN" <<'WRAP'
#!/bin/sh
exec unshare -m --propagation private sh -c \
    'mount -t tmpfs none /sys/fs/cgroup/unified || exit 125; exec crun "$@"' crun "$@"
WRAP
        chmod 755 "$CRUN"
        chmod a+x "$BATS_TEST_TMPDIR"
    fi
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
}

@test "run --runtime crun: output, exit code, the user namespace's mapping" {
    run_berth run --rm --runtime "$CRUN" "$IMG" sh -c 'echo hello; exit 3'
    assert_failure 3
    assert_output "hello"
    local want
    want=$(berth_cmd run --rm "$IMG" cat /proc/self/uid_map)
    run_berth run --rm --runtime "$CRUN" "$IMG" cat /proc/self/uid_map
    assert_success
    assert_output "$want"
    run_berth run --rm --runtime "$CRUN" "$IMG" sh -c 'echo $$; hostname'
    assert_line --index 0 "1"
    run_berth ps -aq
    assert_output ""
}

@test "run -d --runtime crun: inspect names it, exec joins it, stop ends it" {
    run_berth run -d --name ext --runtime "$CRUN" "$IMG" sh -c 'echo up; sleep 1000'
    assert_success
    run_berth inspect --format '{{.OCIRuntime}} {{.State.Status}}' ext
    assert_output "$CRUN running"
    run_berth exec ext sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$'
    assert_success
    assert_line --index 0 "sleep 1000 " # sh exec()s its last command
    run_berth exec ext sh -c 'exit 4'
    assert_failure 4
    run_berth logs ext
    assert_output "up"
    run_berth stop -t 1 ext
    assert_success
    run_berth inspect --format '{{.State.Status}} {{.State.ExitCode}}' ext
    assert_output "exited 137"
    run_berth rm ext
    assert_success
}

@test "run --runtime: a runtime that does not exist is berth's error" {
    run_berth -125 run --rm --runtime /nonexistent/runc "$IMG" true
    assert_failure 125
    assert_output_contains "/nonexistent/runc"
    run_berth ps -aq
    assert_output ""
}
