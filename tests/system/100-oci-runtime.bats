#!/usr/bin/env bats
# berth oci-runtime: the built-in OCI runtime run directly on busybox
# bundles (runc's command line).  Rootful runs use no user namespace (plus
# one test mapping one), rootless runs map the user and its subuid range.

load helpers

BERTH_TEST_TIMEOUT=30

setup() {
    OCI_DIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-oci.XXXXXX")
    # a user namespace's root must be able to reach the bundle
    chmod 0755 "$OCI_DIR"
    OCI_STATE=$OCI_DIR/state
    OCI_BUNDLE=$OCI_DIR/bundle
    make_bundle "$OCI_BUNDLE"
}

teardown() {
    local c
    for c in "$OCI_STATE"/*; do
        [[ -d $c ]] && "$BERTH" oci-runtime --root "$OCI_STATE" delete \
            --force "${c##*/}" >/dev/null 2>&1
    done
    rm -rf "$OCI_DIR"
}

oci() {
    run_berth "$@"
}

# subuid_range: "START COUNT" of the current user's subordinate uids
subuid_range() {
    awk -F: -v u="$(id -un)" '$1 == u {print $2, $3; exit}' /etc/subuid
}

make_bundle() { # DIR
    local b=$1 a
    mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" "$b/rootfs/proc" \
        "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
    cp /bin/busybox "$b/rootfs/bin/"
    for a in sh ls cat id echo true false sleep ps touch mkdir hostname \
        grep wc; do
        ln -s busybox "$b/rootfs/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' \
        >"$b/rootfs/etc/passwd"
    printf 'root:x:0:\nuser:x:1000:\n' >"$b/rootfs/etc/group"
    printf 'no exec bits\n' >"$b/rootfs/bin/noexec"
    base_config >"$b/config.json"
    if [[ $(id -u) -ne 0 ]]; then
        local mapping
        mapping=$(rootless_mapping)
        edit_config ".linux.namespaces += [{type: \"user\"}]
                     | .linux.uidMappings = $mapping
                     | .linux.gidMappings = $mapping"
    fi
}

# The user itself as 0, its subuid range from 1 (rootless/userns.h's
# mapping); the single id when it has none.
rootless_mapping() {
    local r
    r=$(subuid_range)
    if [[ -n $r ]]; then
        echo "[{containerID: 0, hostID: $(id -u), size: 1},
               {containerID: 1, hostID: ${r% *}, size: ${r#* }}]"
    else
        echo "[{containerID: 0, hostID: $(id -u), size: 1}]"
    fi
}

base_config() {
    cat <<'EOF'
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["true"],
    "env": ["PATH=/usr/local/bin:/usr/bin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "inheritable": [],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": []
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "berth-oci",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                 "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                   {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys",
                    "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"]
  }
}
EOF
}

edit_config() { # JQ-FILTER
    local f=$OCI_BUNDLE/config.json
    jq "$1" "$f" >"$f.new" && mv "$f.new" "$f"
}

set_args() { # ARG...
    local args
    args=$(jq -cn '$ARGS.positional' --args -- "$@")
    edit_config ".process.args = $args"
}

run_in_container() { # ARG...: `run` the bundle with these args
    set_args "$@"
    oci oci-runtime --root "$OCI_STATE" run --bundle "$OCI_BUNDLE" ctr
}

@test "oci-runtime run: output, exit code, pid 1, hostname" {
    run_in_container sh -c 'echo hello; echo $$; hostname; exit 3'
    assert_failure 3
    assert_output "hello
1
berth-oci"
    # run deletes the container
    [[ ! -e $OCI_STATE/ctr ]] || berth_test_fail "state left behind"
}

@test "oci-runtime run: user is root, or process.user" {
    run_in_container id -u
    assert_success
    assert_output "0"
    if [[ $(id -u) -ne 0 && -z $(subuid_range) ]]; then
        return # uid 1000 is unmapped in a single-id user namespace
    fi
    # no additionalGids: the supplementary groups are cleared
    edit_config '.process.user = {uid: 1000, gid: 1000}'
    run_in_container id
    assert_success
    assert_output "uid=1000(user) gid=1000(user)"
    edit_config '.process.user = {uid: 1000, gid: 1000, additionalGids: [5]}'
    run_in_container id -G
    assert_success
    assert_output "1000 5"
}

@test "oci-runtime run: rootless uid_map is the user's mapping" {
    skip_if_root
    run_in_container cat /proc/self/uid_map
    assert_success
    local want r
    r=$(subuid_range)
    want=$(printf '%10s %10s %10s' 0 "$(id -u)" 1)
    if [[ -n $r ]]; then
        want+=$'\n'$(printf '%10s %10s %10s' 1 "${r% *}" "${r#* }")
    fi
    assert_output "$want"
}

@test "oci-runtime run: root writes a user namespace mapping directly" {
    skip_if_not_root
    edit_config '.linux.namespaces += [{type: "user"}]
                 | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                 | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    run_in_container sh -c 'id -u; cat /proc/self/uid_map'
    assert_success
    assert_output "0
$(printf '%10s %10s %10s' 0 100000 65536)"
}

@test "oci-runtime run: pid namespace hides host processes" {
    run_in_container sh -c 'ls /proc | grep -c "^[0-9]"'
    assert_success
    # sh, ls and grep at most
    [[ $output -le 3 ]] || berth_test_fail "saw $output pids"
}

@test "oci-runtime run: masked and read-only paths, read-only root" {
    run_in_container sh -c 'wc -c </proc/timer_list; ls /sys/firmware | wc -l
        echo x 2>&1 >/proc/sys/kernel/hostname; touch /x 2>&1; true'
    assert_success
    assert_output "0
0
sh: can't create /proc/sys/kernel/hostname: Read-only file system
touch: /x: Read-only file system"
}

@test "oci-runtime run: capabilities match the config" {
    run_in_container grep -E '^Cap(Eff|Bnd)' /proc/self/status
    assert_success
    assert_output "CapEff:	0000000020000420
CapBnd:	0000000020000420"
}

@test "oci-runtime run: seccomp rule denies mkdir with EPERM" {
    run_in_container mkdir /tmp/x
    assert_failure 1
    assert_output "mkdir: can't create directory '/tmp/x': Read-only file system"
    # the unknown name is skipped silently, as runc does
    edit_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        syscalls: [{names: ["mkdir", "mkdirat", "no_such_syscall"],
                    action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    run_in_container mkdir /tmp/x
    assert_failure 1
    assert_output "mkdir: can't create directory '/tmp/x': Operation not permitted"
}

@test "oci-runtime: compiled seccomp programs are cached per profile; a corrupt one is rebuilt" {
    edit_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    run_in_container mkdir /tmp/x
    assert_output "mkdir: can't create directory '/tmp/x': Operation not permitted"
    run find "$OCI_STATE/seccomp" -name '*.bpf'
    assert_equal "${#lines[@]}" 1 "cached programs"
    local first=${lines[0]}
    # the same profile again: the cached program, which still denies
    run_in_container mkdir /tmp/x
    assert_output "mkdir: can't create directory '/tmp/x': Operation not permitted"
    # another errno is another profile: its own program
    edit_config '.linux.seccomp.syscalls[0].errnoRet = 13'
    run_in_container mkdir /tmp/x
    assert_output "mkdir: can't create directory '/tmp/x': Permission denied"
    run find "$OCI_STATE/seccomp" -name '*.bpf'
    assert_equal "${#lines[@]}" 2 "cached programs"
    # a torn cache file is not a whole program: compiled again, replaced
    edit_config '.linux.seccomp.syscalls[0].errnoRet = 1'
    printf 'junk' >"$first"
    run_in_container mkdir /tmp/x
    assert_output "mkdir: can't create directory '/tmp/x': Operation not permitted"
    (($(stat -c %s "$first") % 8 == 0 && $(stat -c %s "$first") > 8)) ||
        berth_test_fail "cache entry not rebuilt: $(stat -c %s "$first") bytes"
}

@test "oci-runtime run: missing and non-executable commands, one error" {
    set_args no-such-cmd
    oci -127 oci-runtime --root "$OCI_STATE" run --bundle "$OCI_BUNDLE" ctr
    assert_output 'Error: executable file `no-such-cmd` not found in $PATH: No such file or directory'
    set_args /bin/noexec
    oci -126 oci-runtime --root "$OCI_STATE" run --bundle "$OCI_BUNDLE" ctr
    assert_output 'Error: exec container process `/bin/noexec`: Permission denied'
    [[ ! -e $OCI_STATE/ctr ]] || berth_test_fail "state left behind"
}

oci_create() { # [OPTIONS] ID
    "$BERTH" oci-runtime --root "$OCI_STATE" create --bundle "$OCI_BUNDLE" \
        "$@" </dev/null >"$OCI_DIR/create.log" 2>&1
    local rc=$?
    cat "$OCI_DIR/create.log"
    return $rc
}

state_field() { # ID FIELD
    "$BERTH" oci-runtime --root "$OCI_STATE" state "$1" | jq -r ".$2"
}

@test "oci-runtime create/start/state/exec/kill/delete" {
    set_args sleep 100
    # the init keeps create's stdio: not bats' pipe, or `run` waits for it
    oci_create --pid-file "$OCI_DIR/pid" c1
    oci oci-runtime --root "$OCI_STATE" state c1
    assert_success
    local pid
    pid=$(jq -r .pid <<<"$output")
    assert_equal "$(jq -r .status <<<"$output")" created
    assert_equal "$(jq -r .id <<<"$output")" c1
    assert_equal "$(jq -r .ociVersion <<<"$output")" 1.0.2
    assert_equal "$(jq -r .bundle <<<"$output")" "$OCI_BUNDLE"
    assert_equal "$(cat "$OCI_DIR/pid")" "$pid"
    # blocked before exec: still the runtime's image
    [[ $(cat /proc/"$pid"/cmdline | tr '\0' ' ') != "sleep 100 " ]] ||
        berth_test_fail "process started before start"

    oci oci-runtime --root "$OCI_STATE" start c1
    assert_success
    assert_equal "$(state_field c1 status)" running
    oci oci-runtime --root "$OCI_STATE" start c1
    assert_failure 125
    assert_output "Error: cannot start a container that is running"

    cat >"$OCI_DIR/proc.json" <<'EOF'
{"args": ["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname"],
 "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}
EOF
    oci oci-runtime --root "$OCI_STATE" exec --process "$OCI_DIR/proc.json" c1
    assert_success
    assert_output "2
sleep 100 
berth-oci"

    oci oci-runtime --root "$OCI_STATE" delete c1
    assert_failure 125
    assert_output "Error: cannot delete container c1 that is not stopped: running"

    oci oci-runtime --root "$OCI_STATE" kill c1 KILL
    assert_success
    local i
    for i in $(seq 50); do
        [[ $(state_field c1 status) == stopped ]] && break
        sleep 0.1
    done
    assert_equal "$(state_field c1 status)" stopped
    assert_equal "$(state_field c1 pid)" 0
    oci oci-runtime --root "$OCI_STATE" delete c1
    assert_success
    oci oci-runtime --root "$OCI_STATE" state c1
    assert_failure 125
    assert_output 'Error: container "c1" does not exist'
}

@test "oci-runtime: delete of a created container, duplicate id" {
    set_args sleep 100
    oci_create c2
    run -125 oci_create c2
    assert_output "Error: container with id exists: c2"
    local pid
    pid=$(state_field c2 pid)
    oci oci-runtime --root "$OCI_STATE" delete c2
    assert_success
    [[ ! -e $OCI_STATE/c2 ]] || berth_test_fail "state left behind"
    [[ $(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null) != S ]] ||
        berth_test_fail "init $pid still alive"
}

@test "oci-runtime: a failing setup reports its error once" {
    edit_config '.mounts += [{destination: "/mnt", type: "bind",
                              source: "/no/such/dir", options: ["rbind"]}]'
    run_in_container true
    assert_failure 125
    assert_output "Error: create container ctr: bind mount source /no/such/dir: No such file or directory"
}

# crun: the same bundle must give the same output
@test "oci-runtime run: same output as crun" {
    command -v crun >/dev/null || skip "crun is not installed"
    set_args true
    local probe
    if ! probe=$(timeout 20 crun --cgroup-manager=disabled \
        --root "$OCI_DIR/crun" run --bundle "$OCI_BUNDLE" probe 2>&1); then
        skip "crun cannot run containers on this host: $probe"
    fi
    set_args sh -c 'id; echo $$; hostname; grep -E "^Cap(Eff|Bnd)" /proc/self/status; wc -c </proc/timer_list; touch /x; exit 5'
    run timeout 20 crun --cgroup-manager=disabled --root "$OCI_DIR/crun" \
        run --bundle "$OCI_BUNDLE" cmp
    local crun_status=$status crun_output=$output
    oci oci-runtime --root "$OCI_STATE" run --bundle "$OCI_BUNDLE" cmp
    assert_equal "$status" "$crun_status" "exit code"
    assert_equal "$output" "$crun_output" "output"
}

@test "oci-runtime: process.terminal sends the pty over --console-socket" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    # receives the pty master (SCM_RIGHTS, as runc sends it) and copies
    # what the container writes until its side closes
    cat >"$OCI_DIR/console.py" <<'PY'
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(1024, socket.CMSG_LEN(4))
fds = array.array("i")
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[:4])
out = b""
while True:
    try:
        b = os.read(fds[0], 1024)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.write(out.decode().replace("\r", ""))
PY
    edit_config '.process.terminal = true'
    set_args sh -c 'tty; test -t 1 && echo is-a-tty'
    timeout 30 python3 "$OCI_DIR/console.py" "$OCI_DIR/console.sock" \
        >"$OCI_DIR/console.out" &
    local py=$! i
    for i in $(seq 100); do
        [[ -S $OCI_DIR/console.sock ]] && break
        sleep 0.05
    done
    oci_create --console-socket "$OCI_DIR/console.sock" c3
    "$BERTH" oci-runtime --root "$OCI_STATE" start c3
    wait "$py"
    run cat "$OCI_DIR/console.out"
    assert_output "/dev/pts/0
is-a-tty"
}

@test "oci-runtime: process.terminal needs --console-socket for create" {
    edit_config '.process.terminal = true'
    run -125 oci_create c4
    assert_output "Error: --console-socket is required when process.terminal is true"
}

@test "oci-runtime: namespaces given by path are joined" {
    set_args sleep 100
    edit_config '.hostname = "first"'
    oci_create c5
    "$BERTH" oci-runtime --root "$OCI_STATE" start c5
    local pid
    pid=$(state_field c5 pid)
    # a joined uts namespace keeps its hostname; rootless, the user
    # namespace that owns it must be joined too
    edit_config "del(.hostname) | .linux.namespaces |= map(
        if .type == \"uts\" or .type == \"user\"
        then .path = \"/proc/$pid/ns/\" + .type else . end)
        | del(.linux.uidMappings, .linux.gidMappings)"
    run_in_container hostname
    assert_success
    assert_output "first"
    oci oci-runtime --root "$OCI_STATE" delete --force c5
    assert_success
    [[ ! -e $OCI_STATE/c5 ]] || berth_test_fail "state left behind"
}

@test "oci-runtime run: rootless sysfs without a network namespace" {
    skip_if_root
    # the kernel refuses sysfs in a user namespace that does not own the
    # network namespace: the host's /sys is bound read-only instead
    edit_config '.linux.namespaces |= map(select(.type != "network"))'
    run_in_container sh -c 'test -d /sys/kernel && echo kernel; touch /sys/x'
    assert_failure 1
    assert_output "kernel
touch: /sys/x: Read-only file system"
}

@test "oci-runtime run: rootless single-id mapping (no subuids)" {
    skip_if_root
    # written directly, with setgroups denied; devpts without gid=5
    edit_config ".linux.uidMappings = [{containerID: 0, hostID: $(id -u), size: 1}]
                 | .linux.gidMappings = [{containerID: 0, hostID: $(id -g), size: 1}]"
    run_in_container sh -c 'cat /proc/self/uid_map /proc/self/setgroups; ls /dev/pts'
    assert_success
    assert_output "$(printf '%10s %10s %10s' 0 "$(id -u)" 1)
deny
ptmx"
}

@test "oci-runtime run: only stdio reaches the process" {
    # bats holds fd 3 open; runc closes what the caller left open
    run_in_container ls /proc/self/fd
    assert_success
    assert_output "0
1
2
3"
}

@test "oci-runtime run: sysctl, rlimits, cwd, env; resources are accepted" {
    # a network sysctl: the container's root owns its network namespace,
    # also rootless (kernel.* ones belong to the host's root)
    edit_config '.linux.sysctl = {"net.ipv4.ip_local_port_range": "40000 50000"}
        | .process.rlimits = [{type: "RLIMIT_NOFILE", hard: 512, soft: 256}]
        | .process.cwd = "/etc" | .process.env += ["FOO=bar"]
        | .linux.resources = {devices: [{allow: false, access: "rwm"}],
                              pids: {limit: 100}}'
    run_in_container sh -c 'cat /proc/sys/net/ipv4/ip_local_port_range; ulimit -n;
        ulimit -Hn; pwd; echo $FOO $HOME'
    assert_success
    assert_output "40000	50000
256
512
/etc
bar /root"
}
