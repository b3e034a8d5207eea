#!/usr/bin/env bats
# berth-monitor (monitor/), the per-container monitor, driven directly with
# crun as the runtime on a busybox bundle, so it is tested apart from berth's
# own runtime: the k8s-file log, exit files, the sync/start handshake,
# subreaping, detaching from the CLI, restart policies, the attach socket,
# terminals, signals and its memory.  Runs as whoever runs bats: rootful as
# root, rootless (crun spec --rootless) as the test user.

load helpers

MONITOR=${BERTH_MONITOR:-$(dirname "$BERTH")/berth-monitor}
TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z'

setup() {
    [[ -x $MONITOR ]] || skip "no berth-monitor at $MONITOR (make berth-monitor)"
    command -v crun >/dev/null || skip "crun is not installed"
    command -v jq >/dev/null || skip "jq is not installed"
    [[ -x /bin/busybox ]] || skip "busybox-static is not installed"
    D=$BATS_TEST_TMPDIR
    mkdir -p "$D/exits"
    mon_runtime
    mon_bundle
}

teardown() {
    [[ -n ${RUNTIME:-} ]] &&
        "$RUNTIME" --root="$D/state" delete --force c1 >/dev/null 2>&1
    if [[ -s ${D:-/nonexistent}/mon.pid ]]; then
        kill -KILL "$(cat "$D/mon.pid")" 2>/dev/null
    fi
    return 0
}

# crun 1.8 refuses a hybrid cgroup host whose v2 tree has controllers
# ("cgroups in hybrid mode not supported, drop all controllers from
# cgroupv2"), as this CI machine has; the monitor does not care, so hide
# the v2 mount from crun in a mount namespace of its own (rootless: inside
# a user namespace, then back to the user's own id for crun).
mon_runtime() {
    RUNTIME=$(command -v crun)
    [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]] || return 0
    RUNTIME=$D/crun-wrap
    cat >"$RUNTIME" <<'EOF'
#!/bin/sh
hide='mount -t tmpfs none /sys/fs/cgroup/unified || exit 125'
if [ "$(id -u)" = 0 ]; then
    exec unshare -m --propagation private sh -c "$hide; exec crun \"\$@\"" crun "$@"
fi
u=$(id -u) g=$(id -g)
exec unshare -r -m --propagation private sh -c \
    "$hide; exec unshare -U --map-user=$u --map-group=$g crun \"\$@\"" crun "$@"
EOF
    chmod +x "$RUNTIME"
}

mon_bundle() {
    B=$D/bundle
    local r=$B/rootfs a
    mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp}
    cp /bin/busybox "$r/bin/"
    for a in sh cat echo sleep printf true; do ln -s busybox "$r/bin/$a"; done
    echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$B" && crun spec)
    else
        (cd "$B" && crun spec --rootless)
    fi
}

# mon_config JQ-ARGS... FILTER: edit the bundle's config.json
mon_config() {
    jq "$@" <"$B/config.json" >"$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"
}

# mon_cmd ARG...: the container's process, no terminal
mon_cmd() {
    local args a
    args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -sc .)
    mon_config --argjson a "$args" '.process.args = $a | .process.terminal = false'
}

# mon_start [MONITOR-OPTION...]: start the monitor for container c1 as the
# CLI would, with the sync fd on a fifo (fd $SYNC here) and, when
# MON_START_FIFO=1, the start fd on another (fd $START here).  Sets MON_CLI
# (the process the CLI waits for), SYNC_LINE, MON_PID, CTR_PID.  Prefix
# the monitor with ${MON_WRAP[@]} to run it under another parent.
mon_start() {
    local opts=(--id c1 --bundle "$B" --exit-dir "$D/exits"
        --log-path "$D/ctr.log" --log-driver k8s-file --runtime "$RUNTIME"
        --runtime-arg=--root="$D/state" --runtime-arg=--cgroup-manager=disabled
        --sync-fd 3 --pid-file "$D/mon.pid")
    mkfifo "$D/sync"
    if [[ ${MON_START_FIFO:-0} == 1 ]]; then
        mkfifo "$D/start"
        "${MON_WRAP[@]}" "$MONITOR" "${opts[@]}" --start-fd 4 "$@" \
            3>"$D/sync" 4<"$D/start" 2>>"$D/mon.err" &
        MON_CLI=$!
        exec {SYNC}<"$D/sync" {START}>"$D/start"
    else
        "${MON_WRAP[@]}" "$MONITOR" "${opts[@]}" "$@" 3>"$D/sync" 2>>"$D/mon.err" &
        MON_CLI=$!
        exec {SYNC}<"$D/sync"
    fi
    SYNC_LINE=
    read -r -t 30 SYNC_LINE <&"$SYNC" || true
    CTR_PID=$(jq -r '.pid // empty' <<<"$SYNC_LINE" 2>/dev/null || true)
    MON_PID=$(cat "$D/mon.pid" 2>/dev/null || true)
}

# mon_wait_done: EOF on the sync fd, which the monitor holds until it is done
mon_wait_done() {
    timeout 30 cat <&"$SYNC" >/dev/null ||
        berth_test_fail "monitor still running after 30 s: $(cat "$D/mon.err")"
    exec {SYNC}<&-
}

# mon_wait_for SECONDS CMD...: bounded poll, only for what has no event
mon_wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.05
    done
}

# the monitor has exited (a zombie waiting for its reaper counts)
mon_gone() { [[ ! -e /proc/$MON_PID ]] || grep -q '^State:.*Z' "/proc/$MON_PID/status" 2>/dev/null; }
ctr_running() { [[ $(cat "/proc/$CTR_PID/comm" 2>/dev/null) == "$1" ]]; }
log_has() { grep -q -- "$1" "$D/ctr.log" 2>/dev/null; }

@test "monitor: bad options fail before anything starts" {
    run "$MONITOR" --id c1 --bundle "$D/bundle" --exit-dir "$D/exits" --log-driver journald
    assert_failure 1
    assert_output "berth-monitor: unsupported log driver journald"
    run "$MONITOR" --id ../x --bundle "$D/bundle" --exit-dir "$D/exits" --log-driver none
    assert_failure 1
    assert_output "berth-monitor: invalid container id ../x"
    run "$MONITOR" --id c1 --bundle b --exit-dir e --log-driver none --restart sometimes
    assert_output "berth-monitor: invalid restart policy sometimes"
}

@test "monitor: output lands in the k8s-file log, exit code 0 recorded" {
    mon_cmd sh -c 'echo hello; echo oops >&2; printf tail'
    mon_start
    wait "$MON_CLI" # the CLI's child returns once the monitor is detached
    [[ $SYNC_LINE =~ ^\{\"pid\":\ [0-9]+\}$ ]] || berth_test_fail "sync line: '$SYNC_LINE' $(cat "$D/mon.err")"
    mon_wait_done
    run cat "$D/ctr.log"
    grep -Eq "^$TS_RE stdout F hello\$" "$D/ctr.log" || berth_test_fail "no stdout line: $output"
    grep -Eq "^$TS_RE stderr F oops\$" "$D/ctr.log" || berth_test_fail "no stderr line: $output"
    grep -Eq "^$TS_RE stdout P tail\$" "$D/ctr.log" || berth_test_fail "no partial line: $output"
    assert_equal "$(wc -l <"$D/ctr.log")" 3 "log lines"
    assert_equal "$(cat "$D/exits/c1")" 0 "exit file"
    run jq -r '"\(.exitCode) \(.restartCount) \(.exitedAt)"' "$D/exits/c1.json"
    [[ $output =~ ^0\ 0\ $TS_RE$ ]] || berth_test_fail "status file: $output"
    [[ ! -e $D/exits/c1.ctl ]] || berth_test_fail "ctl fifo left behind"
}

@test "monitor: exit code 3 recorded; --log-driver none writes no log" {
    mon_cmd sh -c 'echo hidden; exit 3'
    mon_start --log-driver none
    mon_wait_done
    assert_equal "$(cat "$D/exits/c1")" 3 "exit file"
    assert_equal "$(jq .exitCode "$D/exits/c1.json")" 3 "exitCode"
    [[ ! -e $D/ctr.log ]] || berth_test_fail "log written with driver none"
}

@test "monitor: reports the pid, subreaps it, survives its CLI, SIGKILL exit recorded, VmRSS" {
    mon_cmd sleep 1000
    # the "CLI": a parent in its own process group that stays after the
    # monitor's first process returned, killed with its whole group
    MON_WRAP=(setsid sh -c '"$@"; exec sleep 1000' cli)
    mon_start
    [[ -n $CTR_PID && -n $MON_PID ]] || berth_test_fail "sync '$SYNC_LINE' pid '$MON_PID' $(cat "$D/mon.err")"
    run awk '/^PPid:/ {print $2}' "/proc/$CTR_PID/status"
    assert_equal "$output" "$MON_PID" "container's parent"
    kill -KILL -- "-$MON_CLI"
    wait "$MON_CLI" || true
    kill -0 "$MON_PID" || berth_test_fail "monitor died with its CLI"
    mon_wait_for 30 ctr_running sleep || berth_test_fail "container never started"
    local rss
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$MON_PID/status")
    echo "# berth-monitor VmRSS: $rss kB" >&3
    ((rss < 2048)) || berth_test_fail "monitor VmRSS $rss kB >= 2 MiB"
    kill -KILL "$CTR_PID"
    mon_wait_done
    assert_equal "$(cat "$D/exits/c1")" 137 "exit file after SIGKILL"
}

@test "monitor: --restart on-failure:2 restarts twice, then stops" {
    mon_cmd sh -c 'echo run; exit 3'
    mon_start --restart on-failure:2
    mon_wait_done
    assert_equal "$(grep -c 'stdout F run$' "$D/ctr.log")" 3 "runs"
    assert_equal "$(cat "$D/exits/c1")" 3 "exit file"
    assert_equal "$(jq .restartCount "$D/exits/c1.json")" 2 "restartCount"
}

@test "monitor: unless-stopped does not restart once stopped; --rm-cmd runs" {
    mon_cmd true
    touch "$D/exits/c1.stopped"
    mon_start --restart unless-stopped --rm-cmd touch --rm-cmd "$D/removed"
    mon_wait_done
    assert_equal "$(jq .restartCount "$D/exits/c1.json")" 0 "restartCount"
    # the rm command is exec'd after the sync fd closed: nothing to wait on
    mon_wait_for 30 test -e "$D/removed" || berth_test_fail "--rm-cmd did not run"
}

@test "monitor: SIGTERM is forwarded to the container and stops restarts" {
    mon_cmd sh -c 'trap "exit 7" TERM; echo ready; sleep 1000 & wait'
    mon_start --restart always
    mon_wait_for 30 log_has 'stdout F ready' || berth_test_fail "no ready: $(cat "$D/mon.err")"
    kill -TERM "$MON_PID"
    mon_wait_done
    assert_equal "$(cat "$D/exits/c1")" 7 "exit file"
    assert_equal "$(jq .restartCount "$D/exits/c1.json")" 0 "restartCount"
}

@test "monitor: attach socket clients get output and send input" {
    cat >"$D/client.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(30)
s.connect(sys.argv[1])
with open(sys.argv[2], "w") as ready:
    ready.write("ready\n")
if len(sys.argv) > 3:
    s.send(sys.argv[3].encode())
with open(sys.argv[4] if len(sys.argv) > 4 else "/dev/stdout", "w") as out:
    while True:
        pkt = s.recv(8193)
        if not pkt:
            break
        out.write("%d:%s" % (pkt[0], pkt[1:].decode()))
EOF
    mon_cmd sh -c 'read line; echo "got:$line"; echo err1 >&2'
    MON_START_FIFO=1 mon_start --stdin --attach-socket "$D/attach.sock"
    [[ -n $CTR_PID ]] || berth_test_fail "sync: '$SYNC_LINE' $(cat "$D/mon.err")"
    mkfifo "$D/ready"
    python3 "$D/client.py" "$D/attach.sock" "$D/ready" $'hello\n' "$D/client.out" &
    local client=$!
    read -r -t 30 _ <"$D/ready" || berth_test_fail "client did not connect"
    echo 1 >&"$START" # only now may the container start and speak
    exec {START}>&-
    wait "$client" || berth_test_fail "client failed"
    mon_wait_done
    run cat "$D/client.out"
    assert_line "2:got:hello"
    assert_line "3:err1"
    log_has 'stdout F got:hello' || berth_test_fail "output not logged"
    [[ ! -e $D/attach.sock ]] || berth_test_fail "attach socket left behind"
}

@test "monitor: a bundle deleted before start aborts the wait for start" {
    # a `run` killed before it recorded the container leaves a monitor
    # waiting for a start nobody will send; `rm` removes the bundle
    mon_cmd sleep 1000
    MON_START_FIFO=1 mon_start
    [[ -n $CTR_PID && -n $MON_PID ]] || berth_test_fail "sync: '$SYNC_LINE' $(cat "$D/mon.err")"
    rm -rf "$B"
    mon_wait_done # the start fifo still has its writer: only the deletion ends it
    mon_wait_for 10 mon_gone || berth_test_fail "monitor still alive"
    run "$RUNTIME" --root="$D/state" state c1
    assert_failure
    [[ ! -e $D/exits/c1 ]] || berth_test_fail "an exit code for a container that never ran"
    exec {START}>&-
}

@test "monitor: a terminal container logs its pty output" {
    mon_config '.process.args = ["sh", "-c", "[ -t 1 ] && echo is-a-tty; exit 4"] | .process.terminal = true'
    mon_start --terminal
    [[ -n $CTR_PID ]] || berth_test_fail "sync: '$SYNC_LINE' $(cat "$D/mon.err")"
    mon_wait_done
    grep -Eq "^$TS_RE stdout F is-a-tty"$'\r'"\$" "$D/ctr.log" ||
        berth_test_fail "no tty line: $(cat -A "$D/ctr.log")"
    assert_equal "$(cat "$D/exits/c1")" 4 "exit file"
}

@test "monitor: a failing create reports {\"error\"} on the sync fd" {
    mon_cmd true
    B=$D/no-such-bundle
    mon_start
    wait "$MON_CLI"
    mon_wait_done
    run jq -r .error <<<"$SYNC_LINE"
    assert_success
    assert_output_contains "runtime create: "
    [[ ! -e $D/exits/c1 ]] || berth_test_fail "exit file for a container never created"
}

@test "monitor: the log is rotated at --log-max-size" {
    mon_cmd sh -c 'i=0; while [ $i -lt 40 ]; do echo "line $i"; i=$((i+1)); done'
    mon_start --log-max-size 300
    mon_wait_done
    local size
    size=$(stat -c %s "$D/ctr.log")
    ((size <= 300)) || berth_test_fail "log is $size bytes"
    log_has 'stdout F line 39$' || berth_test_fail "last line missing: $(cat "$D/ctr.log")"
    ! log_has 'stdout F line 0$' || berth_test_fail "first line still there"
}
