#!/usr/bin/env bats
# run, create, start, stop, kill, rm, ps, inspect, logs, wait: the
# container lifecycle with berth's own runtime and monitor, checked through
# ps, inspect and the container's own view, rootless and rootful.

load helpers

setup() {
    skip_if_no_registry
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    LAYERED=$(test_image_ref layered)
    berth_cmd pull -q "$IMG" >/dev/null
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
    berth_cmd system reset -f >/dev/null 2>&1 || true
}

@test "run: prints the command's output and returns its exit code" {
    run_berth run --rm "$IMG" echo hello
    assert_success
    assert_output "hello"
    run_berth run --rm "$IMG" sh -c 'exit 3'
    assert_failure 3
    run_berth run --rm "$IMG" false
    assert_failure 1
}

@test "run: a command that does not exist is 127, one that cannot run is 126" {
    run_berth -127 run --rm "$IMG" nosuchcommand
    assert_failure 127
    assert_output_contains "nosuchcommand"
    assert_output_contains "not found"
    run_berth -126 run --rm "$IMG" /etc/passwd
    assert_failure 126
    run_berth ps -aq
    assert_output ""
}

@test "run: berth's own errors are 125" {
    run_berth run --nosuchflag "$IMG" true
    assert_failure 125
    assert_output_contains "unknown flag: --nosuchflag"
    run_berth run --rm --pull never localhost/nosuchimage true
    assert_failure 125
    assert_output_contains "image not known"
    run_berth run --rm --restart always "$IMG" true
    assert_failure 125
    assert_output_contains "conflicts with --restart"
}

@test "run: PID 1 is the command, the host's processes are invisible, hostname is the short id" {
    run_berth run --name pidtest "$IMG" sh -c 'echo $$; ls /proc | grep -c "^[0-9]"; hostname'
    assert_success
    assert_line --index 0 "1"
    # sh and ls (and maybe grep): a handful, never the host's hundreds
    [[ ${lines[1]} -le 5 ]] || berth_test_fail "processes visible: ${lines[1]}"
}

@test "run: the container's user namespace maps root to the user and 1..N to subuids" {
    run_berth run --rm "$IMG" sh -c 'id -u; cat /proc/self/uid_map'
    assert_success
    assert_line --index 0 "0"
    if [[ $(id -u) -ne 0 ]]; then
        read -r c h n <<<"${lines[1]}"
        assert_equal "$c $h $n" "0 $(id -u) 1" "first uid_map line"
        read -r c h n <<<"${lines[2]}"
        assert_equal "$c" "1" "second uid_map line starts at 1"
    else
        read -r c h n <<<"${lines[1]}"
        assert_equal "$c $h" "0 0" "rootful: the host's identity mapping"
    fi
}

@test "run: files owned by 1000 and 65534 in the image keep their owners" {
    berth_cmd pull -q "$LAYERED" >/dev/null
    run_berth run --rm "$LAYERED" stat -c '%u:%g %n' /owned/user-file /owned/nobody-file
    assert_success
    assert_line --index 0 "1000:1000 /owned/user-file"
    assert_line --index 1 "65534:65534 /owned/nobody-file"
}

@test "run: -e, -w, -u and --hostname reach the process" {
    run_berth run --rm -e FOO=bar -w /tmp -u 1000:1000 --hostname myhost "$IMG" \
        sh -c 'echo $FOO; pwd; id -u; id -g; hostname'
    assert_success
    assert_output "bar
/tmp
1000
1000
myhost"
}

@test "run -d, ps, inspect, logs, stop, rm" {
    run_berth run -d --name bg "$IMG" sh -c 'echo started; exec sleep 100'
    assert_success
    local id=$output
    [[ $id =~ ^[0-9a-f]{64}$ ]] || berth_test_fail "not an id: $id"
    run_berth ps --format '{{.Names}} {{.State}}'
    assert_output "bg running"
    run_berth inspect --format '{{.State.Status}} {{.State.Running}} {{.Name}}' bg
    assert_output "running true bg"
    run_berth inspect --format '{{.State.Pid}}' bg
    [[ $output -gt 0 ]] || berth_test_fail "no pid: $output"
    run_berth logs bg
    assert_output "started"
    run_berth stop -t 1 bg
    assert_success
    assert_output "bg"
    run_berth ps -a --format '{{.Names}} {{.State}} {{.ExitCode}}'
    # sleep as PID 1 ignores SIGTERM: killed after the timeout
    assert_output "bg exited 137"
    run_berth ps --format '{{.Names}}'
    assert_output ""
    run_berth rm bg
    assert_success
    run_berth ps -aq
    assert_output ""
}

@test "create, start, wait: the exit code is recorded" {
    run_berth create --name later "$IMG" sh -c 'exit 7'
    assert_success
    run_berth ps -a --format '{{.Names}} {{.State}}'
    assert_output "later created"
    run_berth start later
    assert_success
    run_berth wait later
    assert_output "7"
    run_berth inspect --format '{{.State.ExitCode}} {{.State.Status}}' later
    assert_output "7 exited"
    run_berth start -a later
    assert_failure 7
}

@test "kill sends a signal; rm refuses a running container without -f" {
    berth_cmd run -d --name victim "$IMG" sleep 100 >/dev/null
    run_berth rm victim
    assert_failure 2
    assert_output_contains "cannot remove container"
    run_berth kill -s KILL victim
    assert_success
    run_berth wait victim
    assert_output "137"
    run_berth kill victim
    assert_failure 125
    assert_output_contains "can only kill running containers"
    berth_cmd run -d --name victim2 "$IMG" sleep 100 >/dev/null
    run_berth rm -f victim2
    assert_success
    run_berth ps -aq
    assert_output "$(berth_cmd ps -aq --filter name=victim)"
}

@test "names: a name in use is refused, unknown containers are reported" {
    berth_cmd create --name dup "$IMG" true >/dev/null
    run_berth create --name dup "$IMG" true
    assert_failure 125
    assert_output_contains 'the container name "dup" is already in use'
    run_berth rm nosuch
    assert_failure 1
    assert_output_contains 'no container with name or ID "nosuch" found'
    run_berth inspect nosuch
    assert_failure 125
}

@test "run --rm in parallel leaves no containers or processes behind" {
    local i pids=()
    for i in $(seq 1 20); do
        "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" \
            run --rm "$IMG" sh -c "echo run$i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || berth_test_fail "run $((i + 1)) failed: $(cat "$BATS_TEST_TMPDIR/out$((i + 1))")"
    done
    for i in $(seq 1 20); do
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out$i")" "run$i" "output of run $i"
    done
    run_berth ps -aq
    assert_output ""
    # each monitor finishes (runtime delete, rm) just after its run
    # returned: wait for that, bounded
    local n
    for n in $(seq 1 100); do
        pgrep -f "berth-monitor --id .*$(berth_store)" >/dev/null || break
        sleep 0.1
    done
    run pgrep -f "berth-monitor --id .*$(berth_store)"
    assert_output ""
}

@test "run -it: a real terminal, then exit code" {
    command -v script >/dev/null || skip "script(1) not installed"
    local cmd
    printf -v cmd '%q ' "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" \
        run --rm -it "$IMG" sh -c 'tty; exit 4'
    run timeout 60 script -qec "$cmd" /dev/null
    assert_failure 4
    assert_output_contains "/dev/pts/"
}

# pty_berth ROWS COLS BERTH-ARG... <SCRIPT: berth on a real pty, driven by
# tests/lib/pty-drive.py; sets $status and $output
pty_berth() {
    local rows=$1 cols=$2
    shift 2
    run python3 "$BATS_TEST_DIRNAME/../lib/pty-drive.py" "$rows" "$cols" \
        "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" "$@"
}

@test "run -it: the window size reaches the container and follows a resize" {
    pty_berth 30 100 run --rm -it "$IMG" \
        sh -c 'stty size; while read x; do stty size; done; exit 5' <<'EOF'
expect 30 100
resize 41 123
retry \n 41 123
send \x04
EOF
    assert_failure 5
    assert_output_contains "30 100"
    assert_output_contains "41 123"
}

@test "run -it: ctrl-p ctrl-q detaches, the container runs on, attach takes it back" {
    pty_berth 24 80 run -it --name det "$IMG" \
        sh -c 'echo ready; read x; echo "got:$x"; exit 3' <<'EOF'
expect ready
send \x10\x11
eof
EOF
    assert_success
    run_berth ps --format '{{.Names}} {{.State}}'
    assert_output "det running"
    pty_berth 24 80 attach det <<'EOF'
send hello\n
expect got:hello
eof
EOF
    assert_failure 3
    run_berth inspect --format '{{.State.Status}} {{.State.ExitCode}}' det
    assert_output "exited 3"
}

@test "a killed monitor: ps reports the container exited and rm cleans up" {
    berth_cmd run -d --name orphan "$IMG" sleep 100 >/dev/null
    local mpid
    mpid=$(cat "$(berth_store)/runroot/containers/$(berth_cmd inspect --format '{{.Id}}' orphan)/monitor.pid")
    kill -9 "$mpid"
    run_berth ps -a --format '{{.Names}} {{.State}}'
    assert_output "orphan exited"
    run_berth rm -f orphan
    assert_success
    run_berth ps -aq
    assert_output ""
}

@test "rmi refuses an image a container uses; -f removes the container too" {
    berth_cmd create --name user "$IMG" true >/dev/null
    run_berth rmi "$IMG"
    assert_failure 2
    assert_output_contains "image is in use by a container"
    run_berth image exists "$IMG"
    assert_success
    run_berth rmi -f "$IMG"
    assert_success
    run_berth ps -aq
    assert_output ""
    run_berth image exists "$IMG"
    assert_failure 1
}

@test "system reset stops running containers and their monitors" {
    berth_cmd run -d --name busy "$IMG" sleep 100 >/dev/null
    run_berth system reset -f
    assert_success
    local n
    for n in $(seq 1 50); do
        pgrep -f "berth-monitor --id .*$(berth_store)" >/dev/null || break
        sleep 0.1
    done
    run pgrep -f "berth-monitor --id .*$(berth_store)"
    assert_output ""
}

@test "run --init: berth-init is PID 1, forwards SIGTERM and reaps orphans" {
    run_berth run --rm --init "$IMG" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$'
    assert_success
    assert_line --index 0 --partial "/run/berth-init -- sh -c"
    assert_line --index 1 "2"
    # without an init, sleep as PID 1 ignores SIGTERM and is killed (137);
    # with it, the forwarded SIGTERM ends it (143) well before the timeout
    berth_cmd run -d --init --name initd "$IMG" sleep 100 >/dev/null
    run_berth stop -t 30 initd
    assert_success
    run_berth inspect --format '{{.State.ExitCode}}' initd
    assert_output "143"
    # an orphan's zombie is reaped: none left after its parent exits
    run_berth run --rm --init "$IMG" sh -c '(sleep 0.1 &); sleep 0.5; ps -o stat | grep -c "^Z" || true'
    assert_success
    assert_output "0"
}

# wait_for_path GLOB: bounded poll (400 x 25 ms) for a file to appear
wait_for_path() {
    local n
    for n in $(seq 1 400); do
        compgen -G "$1" >/dev/null && return 0
        sleep 0.025
    done
    return 1
}

@test "the CLI killed with SIGKILL during run -d leaves a store that rm cleans" {
    local s i
    s=$(berth_store)
    for i in 1 2 3; do
        "$BERTH" --root "$s/root" --runroot "$s/runroot" run -d "$IMG" sleep 100 \
            >/dev/null 2>&1 &
        local pid=$!
        # kill it at three moments: record created, bundle written, monitor up
        case $i in
        1) wait_for_path "$s/root/containers/*/config.json" ;;
        2) wait_for_path "$s/root/containers/*/userdata/config.json" ;;
        3) wait_for_path "$s/runroot/containers/*/monitor.pid" ;;
        esac
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        run_berth ps -a --format '{{.State}}'
        assert_success
        run_berth rm -af
        assert_success
        run_berth ps -aq
        assert_output ""
    done
    local n
    # a monitor that was still starting (slirp4netns, the runtime) when
    # its CLI died finds its start aborted or its bundle gone: give it time
    for n in $(seq 1 300); do
        pgrep -f "berth-monitor --id .*$s" >/dev/null || break
        sleep 0.1
    done
    run pgrep -f "berth-monitor --id .*$s"
    assert_output ""
    run_berth run --rm "$IMG" echo still-works
    assert_output "still-works"
}

@test "the CLI killed with SIGKILL during rm: the next rm finishes the job" {
    local s
    s=$(berth_store)
    berth_cmd run -d --name doomed "$IMG" sleep 100 >/dev/null
    "$BERTH" --root "$s/root" --runroot "$s/runroot" rm -f doomed >/dev/null 2>&1 &
    local pid=$!
    wait_for_path "$s/root/tmp/*" || true
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # whatever was left: rm -f finishes it (or finds it gone)
    run_berth rm -f doomed
    assert_success
    run_berth ps -aq
    assert_output ""
    run_berth create --name doomed "$IMG" true
    assert_success
    run find "$s/root/tmp" -mindepth 1 -maxdepth 1 ! -name '*.lock'
    assert_output ""
}

@test "run --rm removes the container's anonymous volumes, keeps named ones" {
    run_berth run --rm -v /anon -v named:/named "$IMG" true
    assert_success
    run_berth volume ls -q
    assert_output "named"
}

@test "run --restart on-failure:2 restarts twice, then the container stays exited" {
    berth_cmd run -d --restart on-failure:2 --name flaky "$IMG" sh -c 'echo attempt; exit 1' >/dev/null
    local id n
    id=$(berth_cmd inspect --format '{{.Id}}' flaky)
    # the monitor ends after the last attempt: bounded wait for that
    for n in $(seq 1 200); do
        [[ -e $(berth_store)/runroot/containers/$id/monitor.pid ]] &&
            kill -0 "$(cat "$(berth_store)/runroot/containers/$id/monitor.pid")" 2>/dev/null ||
            break
        sleep 0.05
    done
    run_berth logs flaky
    assert_output "attempt
attempt
attempt"
    run_berth inspect --format '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' flaky
    assert_output "exited 1 2"
}

@test "run --log-opt max-size keeps the log under the limit" {
    run_berth run --name chatty --log-opt max-size=2k "$IMG" \
        sh -c 'i=0; while [ $i -lt 400 ]; do echo "line $i of chatter"; i=$((i+1)); done'
    assert_success
    local log
    log=$(berth_cmd inspect --format '{{.HostConfig.LogConfig.Path}}' chatty)
    [[ $(stat -c %s "$log") -le 4096 ]] || berth_test_fail "log is $(stat -c %s "$log") bytes"
    run_berth logs --tail 1 chatty
    assert_output "line 399 of chatter"
    run_berth run --rm --log-opt bogus=1 "$IMG" true
    assert_failure 125
    assert_output_contains 'invalid log option "bogus=1"'
}

@test "libcurl and libarchive are loaded only by the commands that use them" {
    berth_cmd run -d --name idle "$IMG" sleep 100 >/dev/null
    "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" wait idle &
    local pid=$! maps n
    for n in $(seq 1 100); do # until bash has exec()ed berth
        maps=$(cat "/proc/$pid/maps" 2>/dev/null)
        [[ $maps == *libjansson* ]] && break
        sleep 0.05
    done
    berth_cmd kill idle >/dev/null
    wait "$pid" || true
    [[ $maps == *libjansson* ]] || berth_test_fail "not berth's maps: $maps"
    [[ $maps != *libcurl* && $maps != *libarchive* ]] ||
        berth_test_fail "wait mapped libcurl or libarchive"
    # and a command that needs them still has them
    run_berth export idle -o "$BATS_TEST_TMPDIR/idle.tar"
    assert_success
    run tar -tf "$BATS_TEST_TMPDIR/idle.tar" bin/busybox
    assert_output "bin/busybox"
}
