#!/usr/bin/env bats
# info, version, system df, system reset, import and unshare.

load helpers

# Rootless stores hold files of subordinate ids that bats cannot delete.
teardown() {
    if [[ -d $(berth_store)/root ]]; then
        berth_cmd system reset -f >/dev/null 2>&1 || true
    fi
}

# run_berth_rootless [RUNOPT] ARGS...: berth as an unprivileged user: the
# suite's own user in rootless mode, berthtest when the suite runs as root.
run_berth_rootless() {
    if [[ $(id -u) -ne 0 ]]; then
        run_berth "$@"
    else
        skip_if_no_test_user
        run_berth_as_test_user "$@"
    fi
}

# subid_range FILE: "START COUNT" of the rootless user's range in FILE.
subid_range() {
    local user
    user=$(id -un)
    [[ $(id -u) -eq 0 ]] && user=$BERTH_TEST_USER
    awk -F: -v u="$user" '$1 == u {print $2, $3; exit}' "$1"
}

rootless_uid() {
    if [[ $(id -u) -ne 0 ]]; then id -u; else id -u "$BERTH_TEST_USER"; fi
}

make_rootfs_tar() { # OUT
    local t=$BATS_TEST_TMPDIR
    mkdir -p "$t/rootfs/bin" "$t/rootfs/etc"
    cp /bin/busybox "$t/rootfs/bin/"
    echo hello >"$t/rootfs/etc/motd"
    tar -C "$t/rootfs" -cf "$1" .
}

@test "info: YAML keys and rootless according to the mode" {
    local store
    store=$(berth_store)
    run_berth info
    assert_success
    local key
    for key in "host:" "  arch: $TEST_HOST_ARCH" "  os: linux" "  idMappings:" \
        "  security:" "store:" "  graphRoot: $store/root" \
        "  runRoot: $store/runroot" "  graphDriverName: overlay" \
        "  imageStore:" "    number: 0" "registries:" "version:"; do
        assert_line "$key"
    done
    if [[ $(id -u) -eq 0 ]]; then
        assert_line "    rootless: false"
    else
        assert_line "    rootless: true"
    fi

    run_berth info --format json
    assert_success
    assert_equal "$(jq -r .store.graphRoot <<<"$output")" "$store/root" "json store.graphRoot"
    assert_equal "$(jq -r .host.security.rootless <<<"$output")" \
        "$([[ $(id -u) -eq 0 ]] && echo false || echo true)" "json host.security.rootless"
}

@test "info --format: podman's field names" {
    local store
    store=$(berth_store)
    run_berth info --format '{{.Store.GraphRoot}}'
    assert_success
    assert_output "$store/root"
    run_berth info --format '{{.Store.GraphDriverName}} {{.Store.RunRoot}} {{.Host.Os}}'
    assert_output "overlay $store/runroot linux"
    run_berth info --format '{{.Host.Security.Rootless}}'
    assert_success
    assert_output "$([[ $(id -u) -eq 0 ]] && echo false || echo true)"
    run_berth info --format '{{.Store.ImageStore.Number}}'
    assert_output 0
    run_berth info --format '{{json .Store.GraphRoot}}'
    assert_output "\"$store/root\""
}

@test "info: rootless id mappings follow /etc/subuid and /etc/subgid" {
    run_berth_rootless info --format json
    assert_success
    local j=$output uid gid su sg
    uid=$(rootless_uid)
    gid=$(if [[ $(id -u) -ne 0 ]]; then id -g; else id -g "$BERTH_TEST_USER"; fi)
    su=$(subid_range /etc/subuid)
    sg=$(subid_range /etc/subgid)
    [[ -n $su && -n $sg ]] || skip "no subordinate ids for the rootless user"
    assert_equal "$(jq -r .host.security.rootless <<<"$j")" true rootless
    assert_equal "$(jq -c '.host.idMappings.uidmap | map([.container_id, .host_id, .size])' <<<"$j")" \
        "[[0,$uid,1],[1,${su% *},${su#* }]]" uidmap
    assert_equal "$(jq -c '.host.idMappings.gidmap | map([.container_id, .host_id, .size])' <<<"$j")" \
        "[[0,$gid,1],[1,${sg% *},${sg#* }]]" gidmap
}

@test "version --format" {
    run_berth version --format '{{.Client.Version}}'
    assert_success
    [[ $output =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || berth_test_fail "bad version: $output"
    local v=$output
    run_berth version --format json
    assert_success
    assert_equal "$(jq -r .Client.Version <<<"$output")" "$v" "json Client.Version"
    run_berth version --format '{{.Client.OsArch}}'
    assert_output "linux/$TEST_HOST_ARCH"
    run_berth version --format '{{.Client.Version'
    assert_failure 125
    assert_output_contains "template:"
}

@test "system df: empty store, then one pulled image" {
    skip_if_no_registry
    run_berth system df
    assert_success
    [[ ${lines[0]} =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE\ +RECLAIMABLE$ ]] ||
        berth_test_fail "header: ${lines[0]}"
    [[ ${lines[1]} =~ ^Images\ +0\ +0\  ]] || berth_test_fail "images row: ${lines[1]}"
    CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF \
        berth_cmd pull -q "$(test_image_ref busybox)" >/dev/null
    run_berth system df
    assert_success
    [[ ${lines[1]} =~ ^Images\ +1\ +0\ +[0-9.]+\ [kM]B\  ]] || berth_test_fail "images row: ${lines[1]}"
    run_berth system df --format json
    assert_success
    assert_equal "$(jq -r '.[] | select(.Type == "Images") | .Total' <<<"$output")" 1 "json Total"
    local raw
    raw=$(jq -r '.[] | select(.Type == "Images") | .RawSize' <<<"$output")
    assert_equal "$raw" "$(berth_cmd image inspect --format '{{.Size}}' "$(test_image_ref busybox)")" "RawSize"
    run_berth system df -v
    assert_success
    assert_line --partial "Images space usage:"
    assert_line --partial "$REGISTRY_PLAIN/busybox"
}

@test "system reset: asks, keeps everything on no, -f empties the store" {
    local t=$BATS_TEST_TMPDIR
    make_rootfs_tar "$t/r.tar"
    berth_cmd import -q "$t/r.tar" keepme >/dev/null

    run_berth system reset <<<"n"
    assert_success
    assert_output_contains "Are you sure you want to continue? [y/N]"
    run_berth images --format '{{.Repository}}'
    assert_output "localhost/keepme"

    run_berth system reset </dev/null
    assert_success
    run_berth image exists keepme
    assert_success

    run_berth system reset -f
    assert_success
    run_berth images --noheading
    assert_success
    assert_output ""
    local left
    left=$(find "$t/root" -mindepth 2 \( -path '*/images/*' -o -path '*/layers/*' -o -path '*/blobs/sha256/*' \) 2>/dev/null)
    assert_equal "$left" "" "store content after reset"
    # the store works again afterwards
    berth_cmd import -q "$t/r.tar" again >/dev/null
    run_berth image exists again
    assert_success
}

@test "import: from a file and from stdin, with --change and --message" {
    local t=$BATS_TEST_TMPDIR
    make_rootfs_tar "$t/r.tar"
    run_berth import --change CMD=/bin/busybox --change 'ENV=GREETING=hi' \
        --change WORKDIR=/work --change 'LABEL=org.example.k=v' \
        --message "made by a test" "$t/r.tar" fromfile
    assert_success
    local id
    id=$(berth_cmd image inspect --format '{{.Id}}' fromfile)
    assert_line "sha256:$id"
    run_berth images --format '{{.Repository}}:{{.Tag}}'
    assert_output "localhost/fromfile:latest"
    run_berth image inspect fromfile
    assert_success
    local j=$output
    assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$j")" '["/bin/sh","-c","/bin/busybox"]' Cmd
    assert_equal "$(jq -c '.[0].Config.Env' <<<"$j")" '["GREETING=hi"]' Env
    assert_equal "$(jq -r '.[0].Config.WorkingDir' <<<"$j")" /work WorkingDir
    assert_equal "$(jq -c '.[0].Config.Labels' <<<"$j")" '{"org.example.k":"v"}' Labels
    assert_equal "$(jq -r '.[0].History[-1].comment' <<<"$j")" "made by a test" "history comment"
    assert_equal "$(jq -r '.[0].RootFS.Layers | length' <<<"$j")" 1 layers
    assert_equal "$(jq -r '.[0].Os' <<<"$j")" linux Os

    run_berth import -q --change 'CMD ["/bin/sh"]' - fromstdin <"$t/r.tar"
    assert_success
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || berth_test_fail "import -q output: $output"
    run_berth image inspect --format '{{.Config.Cmd}} {{index .RepoTags 0}}' fromstdin
    assert_output "[/bin/sh] localhost/fromstdin:latest"
    # same layer content from both: one layer in the store
    assert_equal "$(ls "$t/root/layers" | wc -l)" 1 "layers"

    run_berth import -q "$t/r.tar" reg.example:5000/ns/img:v2
    assert_success
    run_berth image exists reg.example:5000/ns/img:v2
    assert_success

    run_berth import "$t/nosuch.tar" x
    assert_failure 125
    run_berth import --change BOGUS=1 "$t/r.tar" x
    assert_failure 125
    assert_output_contains "BOGUS"
}

@test "unshare: rootless maps the subordinate ids, rootful refuses" {
    if [[ $(id -u) -eq 0 ]]; then
        run_berth unshare id -u
        assert_failure 125
        assert_output "Error: please use unshare with rootless"
    fi
    run_berth_rootless unshare id -u
    assert_success
    assert_output 0
    local su uid
    su=$(subid_range /etc/subuid)
    [[ -n $su ]] || skip "no subordinate ids for the rootless user"
    uid=$(rootless_uid)
    run_berth_rootless unshare cat /proc/self/uid_map
    assert_success
    assert_equal "$(awk '{print $1, $2, $3}' <<<"$output")" "0 $uid 1
1 ${su% *} ${su#* }" uid_map
    # flags after the command belong to it
    run_berth_rootless unshare sh -c 'echo "$0 $1"' -x y
    assert_success
    assert_output "-x y"
}

@test "unshare: commands inside it use the user's store, as rootless" {
    skip_if_root
    run_berth unshare sh -c "\"$BERTH\" --root \"$(berth_store)/root\" --runroot \"$(berth_store)/runroot\" info --format '{{.Host.Security.Rootless}} {{.Store.GraphRoot}}'"
    assert_success
    assert_output "true $(berth_store)/root"
    # without --root: the user's default store, never /var/lib/berth
    run_berth unshare sh -c "HOME=$HOME \"$BERTH\" info --format '{{.Store.GraphRoot}}'"
    assert_success
    assert_output_not_contains "/var/lib/berth"
}

@test "info: says which backend mounts containers' root filesystems, and why" {
    run_berth info --format '{{.Store.RootfsDriver}}|{{.Store.RootfsReason}}'
    assert_success
    [[ $output =~ ^(overlay|fuse-overlayfs|vfs)\|.+ ]] || berth_test_fail "info: $output"
    if [[ $(id -u) -ne 0 && $output == overlay* ]]; then
        assert_output_contains "user namespace"
    fi
}
