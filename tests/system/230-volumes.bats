#!/usr/bin/env bats
# volume create, ls, inspect, rm, prune, exists; and volumes in containers:
# named volumes shared between containers, created on first use and seeded
# from the image, bind mounts read-only, --mount type=volume, anonymous
# volumes removed by rm -v.  Rootless and rootful.

load helpers

setup() {
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
    berth_cmd system reset -f >/dev/null 2>&1 || true
}

# The container tests need the resolver wired into run (cmd/run.c).  The
# rootless copy of the tree has no sources: ask berth itself there.
volumes_wired() {
    if [[ -f $BERTH_TEST_REPO/cmd/run.c ]]; then
        grep -q volumes_spec_resolve "$BERTH_TEST_REPO/cmd/run.c"
        return
    fi
    ! berth_cmd run --rm -v wiredprobe:/probe "$IMG" true 2>&1 |
        grep -q "no volume store"
}

run_setup() {
    skip_if_no_registry
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
    volumes_wired || skip "volumes not wired into run yet"
    berth_cmd volume rm -f wiredprobe >/dev/null 2>&1 || true
}

@test "volume create: prints the name; a taken name is podman's error" {
    run_berth volume create v1
    assert_success
    assert_output "v1"
    run_berth volume create v1
    assert_failure 125
    assert_output "Error: volume with name v1 already exists: volume already exists"
    run_berth volume create --ignore v1
    assert_success
    assert_output "v1"
    run_berth volume create 'bad/name'
    assert_failure 125
    assert_output_contains "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
    run_berth volume create --opt bogus=1 v2
    assert_failure 125
    assert_output_contains "invalid mount option bogus for driver 'local'"
    run_berth volume create --driver nfs v2
    assert_failure 125
    run_berth volume exists v2
    assert_failure 1
}

@test "volume create: no name gives a 64-hex anonymous-looking name" {
    run_berth volume create
    assert_success
    [[ $output =~ ^[0-9a-f]{64}$ ]] || berth_test_fail "name: $output"
    name=$output
    run_berth volume ls -q
    assert_output "$name"
}

@test "volume inspect: podman's fields" {
    berth_cmd volume create --label app=web --label tier --opt uid=0 data >/dev/null
    run_berth volume inspect data
    assert_success
    run jq -r '.[0] | [.Name, .Driver, .Scope, .Labels.app, .Labels.tier,
                      .Options.uid, (.Anonymous|tostring)] | join(",")' <<<"$output"
    assert_output "data,local,local,web,,0,false"
    run_berth volume inspect --format '{{.Mountpoint}}' data
    assert_output "$(berth_store)/root/volumes/data/_data"
    [[ -d $output ]] || berth_test_fail "no mountpoint $output"
    run_berth volume inspect --format '{{.CreatedAt}}' data
    [[ $output =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || berth_test_fail "CreatedAt: $output"
    run_berth volume inspect --format '{{.Name}} {{.Labels.app}}' data
    assert_output "data web"
}

@test "volume inspect: a missing volume is 125; the others are still shown" {
    berth_cmd volume create present >/dev/null
    run_berth volume inspect nosuch
    assert_failure 125
    assert_output "Error: no such volume nosuch"
    run_berth volume inspect --format '{{.Name}}' present nosuch
    assert_failure 125
    assert_line --index 0 "present"
    assert_line --index 1 "Error: no such volume nosuch"
}

@test "volume ls: podman's table, -q, --format, json" {
    berth_cmd volume create bbb >/dev/null
    berth_cmd volume create aaa >/dev/null
    run_berth volume ls
    assert_success
    assert_line --index 0 "DRIVER      VOLUME NAME"
    assert_line --index 1 "local       aaa"
    assert_line --index 2 "local       bbb"
    run_berth volume ls --noheading
    assert_output "local       aaa
local       bbb"
    run_berth volume ls -q
    assert_output "aaa
bbb"
    run_berth volume ls --format '{{.Name}}:{{.Driver}}'
    assert_output "aaa:local
bbb:local"
    run_berth volume ls --format json
    run jq -r '.[].Name' <<<"$output"
    assert_output "aaa
bbb"
}

@test "volume ls --filter: name, label, dangling; a bad filter is an error" {
    berth_cmd volume create --label env=prod web1 >/dev/null
    berth_cmd volume create --label env=dev web2 >/dev/null
    berth_cmd volume create db >/dev/null
    run_berth volume ls -q --filter name=web
    assert_output "web1
web2"
    run_berth volume ls -q --filter 'name=^d'
    assert_output "db"
    run_berth volume ls -q --filter label=env=prod
    assert_output "web1"
    run_berth volume ls -q --filter label=env
    assert_output "web1
web2"
    # the same key twice: either; different keys: both
    run_berth volume ls -q --filter name=db --filter name=web2
    assert_output "db
web2"
    run_berth volume ls -q --filter name=web --filter label=env=dev
    assert_output "web2"
    run_berth volume ls -q --filter dangling=true
    assert_output "db
web1
web2"
    run_berth volume ls -q --filter dangling=false
    assert_output ""
    run_berth volume ls --filter bogus=1
    assert_failure 125
    assert_output 'Error: "bogus" is an invalid volume filter'
}

@test "volume rm: removes and prints; missing is 1; -f ignores missing; -a" {
    berth_cmd volume create r1 >/dev/null
    berth_cmd volume create r2 >/dev/null
    berth_cmd volume create r3 >/dev/null
    mp=$(berth_cmd volume inspect --format '{{.Mountpoint}}' r1)
    run_berth volume rm r1
    assert_success
    assert_output "r1"
    [[ ! -e $mp ]] || berth_test_fail "$mp is still there"
    run_berth volume exists r1
    assert_failure 1
    run_berth volume rm r1
    assert_failure 1
    assert_output 'Error: no volume with name "r1" found: no such volume'
    run_berth volume rm -f r1
    assert_success
    assert_output ""
    run_berth volume rm -a r2
    assert_failure 125
    run_berth volume rm -a
    assert_success
    assert_output "r2
r3"
    run_berth volume ls -q
    assert_output ""
}

@test "volume prune: asks first, -f does not ask; prints what it removed" {
    berth_cmd volume create p1 >/dev/null
    berth_cmd volume create p2 >/dev/null
    run bash -c "echo n | $(printf '%q ' "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot") volume prune"
    assert_success
    assert_output_contains "The following volumes will be removed:"
    assert_output_contains "p1"
    run_berth volume ls -q
    assert_output "p1
p2"
    run bash -c "echo y | $(printf '%q ' "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot") volume prune"
    assert_success
    run_berth volume ls -q
    assert_output ""
    berth_cmd volume create p3 >/dev/null
    run_berth volume prune -f
    assert_success
    assert_output "p3"
}

@test "volume exists: 0 when it does, 1 when not" {
    berth_cmd volume create here >/dev/null
    run_berth volume exists here
    assert_success
    assert_output ""
    run_berth volume exists gone
    assert_failure 1
    assert_output ""
}

@test "run -v NAME:/data: created on first use, shared between containers" {
    run_setup
    run_berth run --rm -v shared:/data "$IMG" sh -c 'echo from-first > /data/f'
    assert_success
    run_berth volume ls -q
    assert_output "shared"
    run_berth volume inspect --format '{{.Anonymous}}' shared
    assert_output "false"
    run_berth run --rm -v shared:/data "$IMG" cat /data/f
    assert_success
    assert_output "from-first"
}

@test "run --mount type=volume: same volume as -v" {
    run_setup
    run_berth run --rm --mount type=volume,source=mv,target=/d "$IMG" sh -c 'echo mounted > /d/x'
    assert_success
    run_berth run --rm -v mv:/other "$IMG" cat /other/x
    assert_success
    assert_output "mounted"
}

@test "run -v /hostdir:/x:ro: readable, not writable" {
    run_setup
    host=$BATS_TEST_TMPDIR/hostdir
    mkdir -p "$host"
    echo on-host > "$host/file"
    chmod -R a+rX "$host"
    run_berth run --rm -v "$host:/x:ro" "$IMG" cat /x/file
    assert_success
    assert_output "on-host"
    run_berth run --rm -v "$host:/x:ro" "$IMG" sh -c 'echo no > /x/new'
    assert_failure
    assert_output_contains "Read-only file system"
    [[ ! -e $host/new ]] || berth_test_fail "wrote through a read-only bind"
}

@test "run -v: a new named volume is seeded from the image, once" {
    run_setup
    run_berth run --rm -v seeded:/etc "$IMG" ls /etc
    assert_success
    assert_line passwd
    # the copy is the volume's now: a change stays, nothing is copied again
    run_berth run --rm -v seeded:/etc "$IMG" sh -c 'rm /etc/passwd; ls /etc'
    assert_success
    refute_line passwd
    run_berth run --rm -v seeded:/etc "$IMG" ls /etc
    refute_line passwd
    # an existing volume with content is not seeded
    run_berth run --rm -v filled:/data "$IMG" sh -c 'echo mine > /data/own'
    # (the runtime adds mount points for /etc/hosts and friends)
    run_berth run --rm -v filled:/etc "$IMG" ls /etc
    assert_success
    assert_line own
    refute_line passwd
    refute_line group
}

@test "rm -v removes the container's anonymous volumes, rm keeps them" {
    run_setup
    berth_cmd run --name anon1 -v /scratch "$IMG" sh -c 'echo x > /scratch/y' >/dev/null
    run_berth volume ls -q
    [[ $output =~ ^[0-9a-f]{64}$ ]] || berth_test_fail "anonymous volume: $output"
    anon=$output
    run_berth volume inspect --format '{{.Anonymous}}' "$anon"
    assert_output "true"
    run_berth rm -v anon1
    assert_success
    run_berth volume ls -q
    assert_output ""
    berth_cmd run --name anon2 -v /scratch "$IMG" true >/dev/null
    berth_cmd rm anon2 >/dev/null
    run_berth volume ls -q
    [[ $output =~ ^[0-9a-f]{64}$ ]] || berth_test_fail "kept: $output"
}

@test "volume rm: a volume in use is refused (2) unless -f, which removes the container" {
    run_setup
    id=$(berth_cmd create -v busy:/data "$IMG" true)
    run_berth volume rm busy
    assert_failure 2
    assert_output "Error: volume busy is being used by the following container(s): $id: volume is being used"
    run_berth volume prune -f
    assert_output ""
    run_berth volume ls -q --filter dangling=false
    assert_output "busy"
    run_berth volume rm -f busy
    assert_success
    assert_output "busy"
    run_berth ps -aq
    assert_output ""
}

@test "run -v: a mount point behind a symlink planted in the container stays inside it" {
    run_setup
    # the host directory the symlink aims at, and what is mounted
    local victim=$BATS_TEST_TMPDIR/victim src=$BATS_TEST_TMPDIR/src
    mkdir -p "$victim" "$src"
    echo mounted >"$src/f"
    berth_cmd create --name planted -v "$src:/escape/inner" "$IMG" \
        sh -c 'test -L /escape && cat /escape/inner/f' >/dev/null
    # the container's /escape: a symlink that climbs out towards the victim
    mkdir "$BATS_TEST_TMPDIR/plant"
    ln -s "/../../../../../../../../..$victim" "$BATS_TEST_TMPDIR/plant/escape"
    tar -C "$BATS_TEST_TMPDIR/plant" -cf - escape | berth_cmd cp - planted:/
    run_berth start -a planted
    assert_success
    assert_output "mounted"
    run_berth start -a planted # and the symlink is still the container's
    assert_output "mounted"
    run_berth diff planted
    assert_line "A /escape"
    # the mount point was made inside the container's root, not on the host
    [[ ! -e $victim/inner ]] || berth_test_fail "a mount point appeared on the host: $victim/inner"
    run ls -A "$victim"
    assert_output ""
}
