#!/usr/bin/env bats
# exec, attach, top, pause, unpause, rename: working with a running
# container, rootless and rootful.

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

# The one-letter state of a host pid in /proc/PID/stat (R, S, T, ...).
proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat")
    stat=${stat##*) }
    echo "${stat%% *}"
}

# Bounded wait until proc_state PID is STATE.
wait_proc_state() { # PID STATE-REGEX
    local i
    for i in $(seq 1 50); do
        [[ $(proc_state "$1") =~ ^($2)$ ]] && return 0
        sleep 0.1
    done
    berth_test_fail "process $1 is in state $(proc_state "$1"), not $2"
}

@test "exec: joins the container's pid namespace and sees its init" {
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    run_berth exec ex sh -c 'tr "\0" " " </proc/1/cmdline; echo; echo $$'
    assert_success
    assert_line --index 0 "sleep 1000 "
    [[ ${lines[1]} -gt 1 ]] || berth_test_fail "exec's own pid: ${lines[1]}"
    # same mount namespace: a file the exec writes is the container's
    berth_cmd exec ex sh -c 'echo from-exec >/tmp/marker'
    run_berth exec ex cat /tmp/marker
    assert_output "from-exec"
    run_berth exec ex hostname
    assert_output "$(berth_cmd inspect --format '{{.Id}}' ex | cut -c1-12)"
}

@test "exec: the container's env, plus -e and --env-file" {
    berth_cmd run -d --name ex -e CTR=one "$IMG" sleep 1000 >/dev/null
    printf 'FROMFILE=two\n# comment\n' >"$BATS_TEST_TMPDIR/env"
    chmod a+r "$BATS_TEST_TMPDIR/env"
    run_berth exec -e FOO=bar --env-file "$BATS_TEST_TMPDIR/env" ex \
        sh -c 'echo $CTR $FOO $FROMFILE'
    assert_success
    assert_output "one bar two"
    run_berth exec -e CTR=over ex sh -c 'echo $CTR'
    assert_output "over"
}

@test "exec: -u and -w" {
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    # resolved against the image's passwd file, as run -u does
    local want
    want=$(berth_cmd run --rm -u 1000 "$IMG" sh -c 'id -u; id -g')
    run_berth exec -u 1000 ex sh -c 'id -u; id -g'
    assert_success
    assert_output "$want"
    assert_line --index 0 "1000"
    run_berth exec -u 1000:1000 -w /tmp ex sh -c 'id -u; id -g; pwd'
    assert_output "1000
1000
/tmp"
    run_berth exec ex id -u
    assert_output "0"
    run_berth exec -u nosuchuser ex true
    assert_failure 125
    assert_output_contains "unable to find user nosuchuser"
}

@test "exec --privileged: every capability, else the container's" {
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    run_berth exec ex grep CapEff /proc/self/status
    assert_success
    local dflt=$output
    run_berth exec ex grep CapEff /proc/1/status
    assert_output "$dflt"
    run_berth exec --privileged ex grep CapEff /proc/self/status
    assert_success
    [[ $output != "$dflt" ]] || berth_test_fail "--privileged changed nothing: $output"
}

@test "exec: exit codes 0, 3, 126, 127" {
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    run_berth exec ex true
    assert_success
    run_berth exec ex sh -c 'exit 3'
    assert_failure 3
    run_berth -127 exec ex nosuchcommand
    assert_failure 127
    assert_output_contains "nosuchcommand"
    run_berth -126 exec ex /etc/passwd
    assert_failure 126
}

@test "exec: refused for a stopped or unknown container" {
    berth_cmd run --name done "$IMG" true >/dev/null
    run_berth exec done true
    assert_failure 125
    assert_output_contains "can only create exec sessions on running containers: container state improper"
    run_berth exec nosuch true
    assert_failure 125
    assert_output_contains 'no container with name or ID "nosuch" found'
    run_berth exec done
    assert_failure 125
}

@test "exec -i passes stdin; without -i the process has none" {
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    run bash -c 'echo piped | "$@"' _ "$BERTH" --root "$(berth_store)/root" \
        --runroot "$(berth_store)/runroot" exec -i ex cat
    assert_success
    assert_output "piped"
    run bash -c 'echo piped | "$@"' _ "$BERTH" --root "$(berth_store)/root" \
        --runroot "$(berth_store)/runroot" exec ex cat
    assert_success
    assert_output ""
}

@test "exec -t: the process gets a terminal" {
    command -v script >/dev/null || skip "script(1) not installed"
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    local cmd
    printf -v cmd '%q ' "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" \
        exec -it ex sh -c 'tty; exit 4'
    run timeout 60 script -qec "$cmd" /dev/null
    assert_failure 4
    assert_output_contains "/dev/pts/"
    # without a terminal on our side too
    run_berth exec -t ex tty
    assert_success
    assert_output_contains "/dev/pts/"
}

@test "exec -it: the detach keys leave the process running" {
    command -v script >/dev/null || skip "script(1) not installed"
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    local cmd
    printf -v cmd '%q ' "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" \
        exec -it --detach-keys ctrl-x,y ex sh -c 'echo ready; exec sleep 31'
    # the keys arrive after the process started; stdin stays open after
    run timeout 60 script -qec "$cmd" /dev/null < <(sleep 1; printf 'a\x18y'; sleep 3)
    assert_success
    assert_output_contains "ready"
    run_berth exec ex ps -o args
    assert_line "sleep 31"
}

@test "exec -d: returns at once, the process runs in the container" {
    berth_cmd run -d --name ex "$IMG" sleep 1000 >/dev/null
    run_berth exec -d ex sh -c 'sleep 0.5; echo late >/tmp/detached'
    assert_success
    assert_output ""
    local i
    for i in $(seq 1 50); do
        run_berth exec ex cat /tmp/detached
        [[ $status -eq 0 ]] && break
        sleep 0.1
    done
    assert_output "late"
}

@test "attach: relays the output and exits with the container's code" {
    berth_cmd run -d --name at "$IMG" \
        sh -c 'for i in $(seq 1 15); do echo tick$i; sleep 0.2; done; exit 5' >/dev/null
    run_berth attach --no-stdin at
    assert_failure 5
    assert_output_contains "tick15"
    run_berth attach at
    assert_failure 125
    assert_output_contains "you can only attach to running containers"
}

@test "top: lists the container's processes as the container sees them" {
    berth_cmd run -d --name tp "$IMG" sleep 1000 >/dev/null
    run_berth top tp
    assert_success
    assert_line --index 0 --partial "USER"
    read -r -a hdr <<<"${lines[0]}"
    assert_equal "${hdr[*]}" "USER PID PPID %CPU ELAPSED TTY TIME COMMAND" "top header"
    read -r -a row <<<"${lines[1]}"
    assert_equal "${row[0]} ${row[1]} ${row[2]} ${row[5]} ${row[7]} ${row[8]}" \
        "root 1 0 ? sleep 1000" "the init's row"
    run_berth top tp pid,args
    assert_success
    [[ ${lines[1]} =~ ^1\ +sleep\ 1000$ ]] || berth_test_fail "row: ${lines[1]}"
    run_berth top tp nosuchdescriptor
    assert_failure 125
    assert_output_contains "unknown descriptor: nosuchdescriptor"
}

@test "pause stops every process of the container, unpause resumes them" {
    berth_cmd run -d --name pz "$IMG" sh -c 'sleep 1000 & exec sleep 1001' >/dev/null
    local pid
    pid=$(berth_cmd inspect --format '{{.State.Pid}}' pz)
    run_berth pause pz
    assert_success
    assert_output "pz"
    run_berth ps --format '{{.Names}} {{.State}}'
    assert_output "pz paused"
    run_berth inspect --format '{{.State.Status}} {{.State.Paused}}' pz
    assert_output "paused true"
    # stopped by SIGSTOP (T), or frozen by the cgroup v1 freezer (D)
    wait_proc_state "$pid" "T|D"
    # the background sleep too: it is in the container's pid namespace
    local child
    child=$(pgrep -P "$pid" -x sleep)
    [[ -n $child ]] || berth_test_fail "no background sleep under $pid"
    wait_proc_state "$child" "T|D"
    run_berth exec pz true
    assert_failure 125
    run_berth pause pz
    assert_failure 125
    assert_output_contains "is not running, can't pause"
    run_berth unpause pz
    assert_success
    assert_output "pz"
    run_berth ps --format '{{.Names}} {{.State}}'
    assert_output "pz running"
    wait_proc_state "$pid" S
    wait_proc_state "$child" S
    run_berth unpause pz
    assert_failure 125
    assert_output_contains "is not paused, can't unpause"
    run_berth exec pz true
    assert_success
    # rm -f of a paused container: thawed so that SIGKILL lands
    berth_cmd pause pz >/dev/null
    run timeout 30 "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" rm -f pz
    assert_success
    run_berth ps -aq
    assert_output ""
}

@test "rename: the new name works, the old one is free, a name in use is refused" {
    berth_cmd run -d --name old "$IMG" sleep 1000 >/dev/null
    local id
    id=$(berth_cmd inspect --format '{{.Id}}' old)
    run_berth rename old new
    assert_success
    run_berth ps --format '{{.Names}}'
    assert_output "new"
    run_berth inspect --format '{{.Id}}' new
    assert_output "$id"
    run_berth exec new true
    assert_success
    run_berth inspect old
    assert_failure 125
    # the old name is free for another container
    berth_cmd create --name old "$IMG" true >/dev/null
    run_berth rename new old
    assert_failure 125
    assert_output_contains 'the container name "old" is already in use'
    run_berth rename new 'bad name'
    assert_failure 125
    assert_output_contains "names must match"
    run_berth rename nosuch other
    assert_failure 125
    assert_output_contains 'no container with name or ID "nosuch" found'
    run_berth ps -a --format '{{.Names}}'
    assert_line "new"
    assert_line "old"
}
