#!/usr/bin/env bats
# Resource limits and the freezer through the container's own cgroup.
# Rootful on this kind of host (hybrid: v1 controllers) the limits are
# applied and enforced; rootless without cgroup v2 delegation berth says
# plainly which limit is not applied, and still runs the container.

load helpers

setup() {
    skip_if_no_registry
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
}

# cg_dir CONTROLLER PID: the container's cgroup directory for a v1
# controller ("" on v2) as /proc/PID/cgroup names it
cg_dir() {
    local ctrl=$1 pid=$2 line
    if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
        line=$(grep '^0::' "/proc/$pid/cgroup")
        echo "/sys/fs/cgroup${line#0::}"
    else
        line=$(grep -E "^[0-9]+:([a-z_,]*,)?$ctrl(,[a-z_,]*)?:" "/proc/$pid/cgroup")
        echo "/sys/fs/cgroup/$ctrl${line##*:}"
    fi
}

limits_usable() {
    [[ $(id -u) -eq 0 ]] && return 0
    # a user: cgroup v2 with a delegated (writable) subtree
    [[ -e /sys/fs/cgroup/cgroup.controllers ]] || return 1
    local own
    own=$(grep '^0::' /proc/self/cgroup)
    own=${own#0::}
    [[ -w /sys/fs/cgroup${own%/*} ]]
}

@test "cgroups: -m, --pids-limit and --cpus reach the container's cgroup; rm removes it" {
    limits_usable || skip "no cgroup this user may manage (see the next test)"
    berth_cmd run -d --name lim -m 64m --pids-limit 50 --cpus 0.5 "$IMG" sleep 100 >/dev/null
    local pid mem pids cpu
    pid=$(berth_cmd inspect --format '{{.State.Pid}}' lim)
    mem=$(cg_dir memory "$pid")
    pids=$(cg_dir pids "$pid")
    cpu=$(cg_dir cpu "$pid")
    if [[ -e $mem/memory.max ]]; then
        assert_equal "$(cat "$mem/memory.max")" 67108864 "memory.max"
        assert_equal "$(cat "$pids/pids.max")" 50 "pids.max"
        assert_equal "$(cat "$cpu/cpu.max")" "50000 100000" "cpu.max"
    else
        assert_equal "$(cat "$mem/memory.limit_in_bytes")" 67108864 "memory.limit_in_bytes"
        assert_equal "$(cat "$pids/pids.max")" 50 "pids.max"
        assert_equal "$(cat "$cpu/cpu.cfs_quota_us")" 50000 "cpu.cfs_quota_us"
    fi
    [[ $mem == */berth* ]] || berth_test_fail "not a cgroup of berth's: $mem"
    berth_cmd rm -f lim >/dev/null
    local i
    for i in $(seq 1 50); do
        [[ -d $mem ]] || break
        sleep 0.1
    done
    [[ ! -d $mem ]] || berth_test_fail "cgroup $mem left behind"
}

@test "cgroups: the limits are enforced: fork fails past --pids-limit, -m kills past the limit" {
    limits_usable || skip "no cgroup this user may manage"
    run_berth run --rm --pids-limit 5 "$IMG" sh -c \
        'for i in 1 2 3 4 5 6 7 8; do sleep 3 & done 2>&1; wait'
    assert_output_contains "can't fork"
    [[ $(awk '$1 == "SwapTotal:" {print $2}' /proc/meminfo) == 0 ]] ||
        skip "the host has swap: a memory hog would swap rather than die"
    run_berth run --rm -m 16m "$IMG" dd if=/dev/zero of=/dev/null bs=64M count=1
    assert_failure 137
}

@test "cgroups: pause freezes the container's cgroup, unpause thaws it" {
    limits_usable || skip "no cgroup this user may manage (pause uses signals)"
    berth_cmd run -d --name frz "$IMG" sleep 100 >/dev/null
    local pid dir
    pid=$(berth_cmd inspect --format '{{.State.Pid}}' frz)
    dir=$(cg_dir freezer "$pid")
    berth_cmd pause frz >/dev/null
    if [[ -e $dir/cgroup.freeze ]]; then
        assert_equal "$(cat "$dir/cgroup.freeze")" 1 "cgroup.freeze"
    else
        assert_equal "$(cat "$dir/freezer.state")" FROZEN "freezer.state"
    fi
    run_berth ps --format '{{.Names}} {{.State}}'
    assert_output "frz paused"
    berth_cmd unpause frz >/dev/null
    if [[ -e $dir/cgroup.freeze ]]; then
        assert_equal "$(cat "$dir/cgroup.freeze")" 0 "cgroup.freeze"
    else
        assert_equal "$(cat "$dir/freezer.state")" THAWED "freezer.state"
    fi
}

@test "cgroups: a limit that cannot be applied is a plain warning, and the container runs" {
    limits_usable && skip "this user may set limits here"
    run_berth run --rm -m 64m --pids-limit 50 "$IMG" echo ran
    assert_success
    assert_line "ran"
    assert_output_contains "memory limit not applied"
    assert_output_contains "pids limit not applied"
    if [[ ! -e /sys/fs/cgroup/cgroup.controllers ]]; then
        assert_output_contains "rootless limits need cgroup v2 with systemd delegation"
    fi
}
