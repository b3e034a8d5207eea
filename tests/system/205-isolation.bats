#!/usr/bin/env bats
# Isolation through `berth run`: capabilities, seccomp, masked and read-only
# paths, --read-only, --privileged, and an image's USER.

load helpers

setup() {
    skip_if_no_registry
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
    berth_cmd system reset -f >/dev/null 2>&1 || true
}

@test "isolation: the default capability set is podman's, --privileged lifts it" {
    # CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID
    # SETPCAP SETUID SYS_CHROOT
    run_berth run --rm "$IMG" sh -c 'grep CapEff /proc/self/status'
    assert_success
    assert_output_contains "00000000800405fb"
    run_berth run --rm --privileged "$IMG" sh -c 'grep CapEff /proc/self/status'
    assert_success
    assert_output_not_contains "00000000800405fb"
    run_berth run --rm --cap-drop ALL "$IMG" sh -c 'grep CapEff /proc/self/status'
    assert_output_contains "0000000000000000"
}

@test "isolation: masked /proc paths read empty, /proc/sys is read-only, --read-only root" {
    # /proc/kcore where the kernel has it, and /proc/keys always: bind
    # mounts of /dev/null
    local p
    for p in /proc/kcore /proc/keys; do
        [[ -e $p ]] || continue
        run_berth run --rm "$IMG" sh -c "wc -c < $p; stat -c %t:%T $p"
        assert_success
        assert_line --index 0 "0"
        assert_line --index 1 "1:3" # the null device
    done
    run_berth run --rm "$IMG" sh -c 'echo 1 > /proc/sys/kernel/domainname'
    assert_failure
    assert_output_contains "Read-only file system"
    run_berth run --rm "$IMG" touch /writable
    assert_success
    run_berth run --rm --read-only "$IMG" touch /x
    assert_failure
    assert_output_contains "Read-only file system"
}

@test "isolation: a seccomp profile denies a syscall with EPERM; unconfined allows it" {
    local prof=$BATS_TEST_TMPDIR/deny-mkdir.json
    cat >"$prof" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
JSON
    chmod a+r "$prof"
    run_berth run --rm --security-opt "seccomp=$prof" "$IMG" mkdir /newdir
    assert_failure
    assert_output_contains "Operation not permitted"
    run_berth run --rm --security-opt seccomp=unconfined "$IMG" mkdir /newdir
    assert_success
    run_berth run --rm "$IMG" sh -c 'grep Seccomp: /proc/self/status'
    assert_output_contains "2"
}

@test "an image whose USER is 1000 runs as 1000" {
    berth_cmd create --name src "$IMG" true >/dev/null
    berth_cmd export -o "$BATS_TEST_TMPDIR/rootfs.tar" src
    run_berth import --change 'USER 1000' --change 'CMD ["id", "-u"]' \
        "$BATS_TEST_TMPDIR/rootfs.tar" localhost/user1000
    assert_success
    run_berth run --rm localhost/user1000
    assert_success
    assert_output "1000"
    run_berth run --rm -u 0 localhost/user1000 id -u
    assert_output "0"
}
