#!/usr/bin/env bats
# cp, diff, export, mount/unmount and container prune: a container's file
# system from the outside, for running and stopped containers, rootless and
# rootful; paths inside the container never lead out of it, whatever
# symlinks the container plants.

load helpers

setup() {
    skip_if_no_registry
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
    H=$BATS_TEST_TMPDIR/host
    mkdir -p "$H/dir/sub"
    echo one >"$H/file"
    chmod 0640 "$H/file"
    echo deep >"$H/dir/sub/deep"
    chmod 0700 "$H/dir/sub"
    chmod 0751 "$H/dir"
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
    berth_cmd system reset -f >/dev/null 2>&1 || true
}

# mode uid gid of PATH in the running container NAME
ctr_stat() {
    berth_cmd exec "$1" stat -c '%a %u %g' "$2"
}

@test "cp: host to a stopped container keeps modes; owners become the container's user" {
    run_berth create --name c --user user "$IMG" sh -c \
        'stat -c "%n %a %u %g" /tmp/file /tmp/dir /tmp/dir/sub /tmp/dir/sub/deep /home/f2; cat /tmp/dir/sub/deep'
    assert_success
    run_berth cp "$H/file" c:/tmp/
    assert_success
    assert_output ""
    run_berth cp "$H/dir" c:/tmp
    assert_success
    # a missing destination is created with the source's name changed
    run_berth cp "$H/file" c:home/f2
    assert_success
    run_berth start -a c
    assert_success
    assert_line --index 0 "/tmp/file 640 1000 1000"
    assert_line --index 1 "/tmp/dir 751 1000 1000"
    assert_line --index 2 "/tmp/dir/sub 700 1000 1000"
    assert_line --index 3 "/tmp/dir/sub/deep 644 1000 1000"
    assert_line --index 4 "/home/f2 640 1000 1000"
    assert_line --index 5 "deep"
}

@test "cp: host to a running container, --archive=false keeps the source's owner" {
    run_berth run -d --name c "$IMG" sleep 1000
    assert_success
    run_berth cp "$H/file" c:/tmp/a
    assert_success
    run ctr_stat c /tmp/a
    assert_output "640 0 0"
    run_berth cp "$H/dir/." c:/root
    assert_success
    run_berth exec c cat /root/sub/deep
    assert_output "deep"
    if [[ $BERTH_TEST_MODE == rootless ]]; then
        # the user's own files are root's in the container
        want="640 0 0"
    else
        chown 1234:4321 "$H/file"
        want="640 1234 4321"
    fi
    run_berth cp --archive=false "$H/file" c:/tmp/b
    assert_success
    run ctr_stat c /tmp/b
    assert_output "$want"
}

@test "cp: container to host, running and stopped; files are the caller's" {
    run_berth run --name s "$IMG" sh -c \
        'mkdir -p /out/d; echo stopped > /out/d/f; chmod 0604 /out/d/f; chown 1000:1000 /out/d/f; chmod 0710 /out/d'
    assert_success
    run_berth cp s:/out/d "$H/fromstopped"
    assert_success
    [[ $(cat "$H/fromstopped/f") == stopped ]] || berth_test_fail "content: $(cat "$H/fromstopped/f")"
    run stat -c '%a %u' "$H/fromstopped" "$H/fromstopped/f"
    assert_line --index 0 "710 $(id -u)"
    assert_line --index 1 "604 $(id -u)"

    run_berth run -d --name r "$IMG" sh -c 'echo running > /tmp/live; chmod 0600 /tmp/live; sleep 1000'
    assert_success
    for _ in $(seq 50); do
        berth_cmd exec r test -e /tmp/live && break
    done
    # into an existing directory: under the source's name
    run_berth cp r:/tmp/live "$H"
    assert_success
    [[ $(cat "$H/live") == running ]] || berth_test_fail "content: $(cat "$H/live")"
    run stat -c '%a %u' "$H/live"
    assert_output "600 $(id -u)"
}

@test "cp: - streams a tar archive from stdin or to stdout" {
    run_berth run -d --name r "$IMG" sleep 1000
    assert_success
    tar -C "$H" -cf "$BATS_TEST_TMPDIR/in.tar" file dir
    run_berth cp - r:/tmp <"$BATS_TEST_TMPDIR/in.tar"
    assert_success
    run_berth exec r cat /tmp/file /tmp/dir/sub/deep
    assert_output "one
deep"
    berth_cmd cp r:/tmp/dir - >"$BATS_TEST_TMPDIR/out.tar"
    run tar -tf "$BATS_TEST_TMPDIR/out.tar"
    assert_line "dir/sub/deep"
    # a stream's symlink towards / leads into the container's root only
    mkdir -p "$BATS_TEST_TMPDIR/evil"
    ln -s / "$BATS_TEST_TMPDIR/evil/link"
    mkdir -p "$BATS_TEST_TMPDIR/evil2/link$H"
    echo bad >"$BATS_TEST_TMPDIR/evil2/link$H/evil"
    tar -C "$BATS_TEST_TMPDIR/evil" -cf "$BATS_TEST_TMPDIR/e.tar" link
    tar -C "$BATS_TEST_TMPDIR/evil2" -rf "$BATS_TEST_TMPDIR/e.tar" "link$H/evil"
    berth_cmd exec r mkdir -p "$H"
    run_berth cp - r:/ <"$BATS_TEST_TMPDIR/e.tar"
    assert_success
    [[ ! -e $H/evil ]] || berth_test_fail "a stream wrote $H/evil on the host"
    run_berth exec r cat "$H/evil"
    assert_output "bad"
}

@test "cp: a missing path is podman's error, exit 125" {
    run_berth create --name c "$IMG" true
    assert_success
    run_berth cp c:/nonexistent "$H/x"
    assert_failure 125
    assert_output 'Error: "/nonexistent" could not be found on container c: no such file or directory'
    run_berth cp "$H/nothere" c:/tmp
    assert_failure 125
    assert_output_contains "could not be found on the host: no such file or directory"
    run_berth cp "$H/file" "$H/other"
    assert_failure 125
    assert_output_contains "you must use just one container"
    run_berth cp nosuchctr:/etc "$H"
    assert_failure 125
    assert_output_contains 'no container with name or ID "nosuchctr" found'
}

# The container plants symlinks towards the host's directories; berth must
# resolve them inside the container.
plant_links() { # NAME
    berth_cmd exec "$1" sh -c "
        mkdir -p $H
        echo container-secret > /etc/shadow
        ln -s / /esc
        ln -s ../../../../../../../../..$H /up
        ln -s $H /abs
        ln -s /etc/shadow /pw
        ln -s $H/hostsecret /hostlink"
}

check_confined() { # NAME
    local c=$1
    echo host-secret >"$H/hostsecret"
    run_berth cp "$H/file" "$c:/esc$H/pwned1"
    run_berth cp "$H/file" "$c:/up/pwned2"
    run_berth cp "$H/file" "$c:/abs/pwned3"
    run_berth cp "$H/dir" "$c:/up"
    run_berth cp "$H/dir" "$c:/esc$H"
    for f in pwned1 pwned2 pwned3 dir/dir sub; do
        [[ ! -e $H/$f ]] || berth_test_fail "cp wrote $H/$f on the host"
    done
    # the first one landed inside the container, under the same path
    run_berth cp "$c:$H/pwned1" "$H/back"
    assert_success
    [[ $(cat "$H/back") == one ]] || berth_test_fail "read back $(cat "$H/back")"
    # reading: the container's files, never the host's
    run_berth cp "$c:/pw" "$H/got"
    assert_success
    [[ $(cat "$H/got") == container-secret ]] || berth_test_fail "read $(cat "$H/got")"
    run_berth cp "$c:/esc/etc/shadow" "$H/got2"
    assert_success
    [[ $(cat "$H/got2") == container-secret ]] || berth_test_fail "read $(cat "$H/got2")"
    run_berth cp "$c:/hostlink" "$H/got3"
    assert_failure 125
    assert_output_contains "could not be found on container"
    [[ ! -e $H/got3 ]] || berth_test_fail "copied $(cat "$H/got3") from the host"
    run_berth cp "$c:/up/hostsecret" "$H/got4"
    assert_failure 125
    [[ ! -e $H/got4 ]] || berth_test_fail "copied $(cat "$H/got4") from the host"
}

@test "cp: symlinks planted in a running container stay inside it" {
    run_berth run -d --name r "$IMG" sleep 1000
    assert_success
    plant_links r
    check_confined r
}

@test "cp: symlinks planted in a stopped container stay inside it" {
    run_berth run -d --name s "$IMG" sleep 1000
    assert_success
    plant_links s
    run_berth stop -t 0 s
    assert_success
    check_confined s
}

@test "diff: added, changed and deleted files; --format json" {
    run_berth run --name c "$IMG" sh -c \
        'echo new > /newfile; echo more >> /etc/passwd; rm /etc/group; mkdir /home/x'
    assert_success
    run_berth diff c
    assert_success
    assert_line "A /newfile"
    assert_line "C /etc"
    assert_line "C /etc/passwd"
    assert_line "D /etc/group"
    assert_line "C /home"
    assert_line "A /home/x"
    assert_output_not_contains "/bin"
    run_berth diff --format json c
    assert_success
    run jq -c . <<<"$output"
    assert_output_contains '"changed":['
    assert_output_contains '"added":["/home/x","/newfile"]'
    assert_output_contains '"deleted":["/etc/group"]'
}

@test "export: the image's files plus the container's changes" {
    run_berth run --name c "$IMG" sh -c 'echo hi > /root/added; rm /etc/group'
    assert_success
    run_berth export -o "$H/c.tar" c
    assert_success
    run tar -tf "$H/c.tar"
    assert_success
    assert_line "bin/busybox"
    assert_line "etc/passwd"
    assert_line "root/added"
    refute_line "etc/group"
    # to stdout, from a running container, without its /proc
    run_berth run -d --name r "$IMG" sh -c 'echo live > /tmp/live; sleep 1000'
    assert_success
    for _ in $(seq 50); do
        berth_cmd exec r test -e /tmp/live && break
    done
    berth_cmd export r >"$H/r.tar"
    run tar -tf "$H/r.tar"
    assert_line "tmp/live"
    assert_line "bin/sh"
    assert_output_not_contains "proc/self"
    run tar -xOf "$H/r.tar" tmp/live
    assert_output "live"
}

@test "mount: rootless only inside unshare; the merged rootfs until unmount" {
    run_berth run --name c "$IMG" sh -c 'echo mounted > /root/m'
    assert_success
    local store
    store=$(berth_store)
    if [[ $BERTH_TEST_MODE == rootless ]]; then
        run_berth mount c
        assert_failure 125
        assert_output 'Error: cannot run command "berth mount" in rootless mode, must execute `berth unshare` first'
        local b="$BERTH --root $store/root --runroot $store/runroot"
        run_berth unshare sh -c "p=\$($b mount c) && cat \$p/root/m && $b mount && $b unmount c && ls \$p"
        assert_success
        assert_line --index 0 "mounted"
        assert_line --index 1 --partial "/containers/"
        assert_line --index 2 "c"
        [[ ${#lines[@]} -eq 3 ]] || berth_test_fail "merged not empty after unmount"
    else
        run_berth mount c
        assert_success
        local p=$output
        [[ $(cat "$p/root/m") == mounted ]] || berth_test_fail "no rootfs at $p"
        run_berth mount
        assert_output_contains "$p"
        run_berth unmount c
        assert_success
        assert_output "c"
        [[ ! -e $p/root/m ]] || berth_test_fail "still mounted at $p"
    fi
}

@test "container prune: removes the non-running containers only" {
    run_berth run --name done1 "$IMG" true
    run_berth create --name new1 "$IMG" true
    run_berth run -d --name live "$IMG" sleep 1000
    assert_success
    local id1
    id1=$(berth_cmd inspect --format '{{.Id}}' done1)
    run_berth container prune <<<"n"
    assert_success
    run_berth ps -a --format '{{.Names}}'
    assert_line "done1"
    run_berth container prune -f
    assert_success
    assert_line "$id1"
    run_berth ps -a --format '{{.Names}}'
    assert_output "live"
}
