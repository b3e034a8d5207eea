#!/usr/bin/env bats
# pull: output, image ids, what ends up unpacked in the store layer by
# layer, platforms, compression, tags, digests, short names and the errors
# a user meets (missing tag, unreachable registry).

load helpers

setup() {
    skip_if_no_registry
    # hermetic: only the harness's registries.conf (the http registries
    # are insecure there), no user configuration from $HOME
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
}

# The hex of a digest.
hex() {
    echo "${1#sha256:}"
}

# manifest_layers NAME: the layer digests of the test image NAME, in order.
manifest_layers() {
    local m
    m=$(test_image_digest "$1")
    jq -r '.layers[].digest' "$TEST_IMAGES_DIR/$1/blobs/sha256/$(hex "$m")"
}

# chain_ids NAME: the chain id (hex) of each layer of NAME, bottom first,
# from the config's diff_ids as the OCI image spec defines them.
chain_ids() {
    local cfg chain="" d
    cfg=$(test_image_config_digest "$1")
    while read -r d; do
        if [[ -z $chain ]]; then
            chain=$d
        else
            chain=sha256:$(printf '%s %s' "$chain" "$d" | sha256sum | cut -d' ' -f1)
        fi
        hex "$chain"
    done < <(jq -r '.rootfs.diff_ids[]' "$TEST_IMAGES_DIR/$1/blobs/sha256/$(hex "$cfg")")
}

# store_stat FMT PATH: stat(1) of a file in the store as the image sees
# it: rootless, ownership is only visible inside berth's user namespace.
store_stat() {
    if [[ $(id -u) -ne 0 ]]; then
        berth_cmd unshare stat -c "$1" "$2"
    else
        stat -c "$1" "$2"
    fi
}

# assert_whiteout DIR NAME: NAME in the layer DIR is an overlay whiteout
# (character device 0:0), or where one cannot be made the OCI ".wh.NAME"
# file storage/unpack.c keeps instead.
assert_whiteout() {
    local st
    if st=$(stat -c '%F %t:%T' "$1/$2" 2>/dev/null); then
        assert_equal "$st" "character special file 0:0" "whiteout $2"
    else
        [[ -f $1/.wh.$2 ]] || berth_test_fail "$1: neither a whiteout device nor .wh.$2"
    fi
}

# has_opaque DIR: overlay's opaque xattr ("y") in the user or trusted
# namespace, or the ".wh..wh..opq" fallback file.
has_opaque() {
    [[ -e $1/.wh..wh..opq ]] && return 0
    "$BERTH_TEST_PYTHON" - "$1" <<'EOF'
import os, sys
for name in ("user.overlay.opaque", "trusted.overlay.opaque"):
    try:
        if os.getxattr(sys.argv[1], name, follow_symlinks=False) == b"y":
            sys.exit(0)
    except OSError:
        pass
sys.exit(1)
EOF
}

@test "pull: busybox prints podman's progress and only the id on stdout" {
    local ref id blob
    ref=$(test_image_ref busybox)
    id=$(hex "$(test_image_config_digest busybox)")
    blob=$(manifest_layers busybox)
    run_berth --separate-stderr pull "$ref"
    assert_success
    assert_output "$id"
    assert_equal "${stderr_lines[0]}" "Trying to pull $ref..." "first stderr line"
    output=$stderr lines=("${stderr_lines[@]}")
    assert_line "Getting image source signatures"
    assert_line "Copying blob $blob"
    assert_line "Copying config sha256:$id"
    assert_line "Writing manifest to image destination"
    assert_line --index 1 "Getting image source signatures"

    run_berth image exists "$ref"
    assert_success
    run_berth inspect --format '{{.Id}} {{.Digest}} {{.RepoTags}}' "$ref"
    assert_success
    assert_output "$id $(test_image_digest busybox) [$ref]"
}

@test "pull: -q prints only the id, which is the config digest" {
    local ref id
    ref=$(test_image_ref busybox)
    id=$(hex "$(test_image_config_digest busybox)")
    run_berth pull -q "$ref"
    assert_success
    assert_output "$id"
    run_berth images -q --no-trunc
    assert_output "sha256:$id"
}

@test "pull: an image already present skips its blobs" {
    local ref blob
    ref=$(test_image_ref busybox)
    blob=$(hex "$(manifest_layers busybox)")
    berth_cmd pull -q "$ref" >/dev/null
    run_berth pull "$ref"
    assert_success
    assert_line "Copying blob ${blob:0:12} skipped: already exists"
    refute_line "Copying blob sha256:$blob"
    assert_line "$(hex "$(test_image_config_digest busybox)")"
}

@test "pull: the layered image's layers are unpacked file by file" {
    local ref root lower i l chains
    ref=$(test_image_ref layered)
    root=$(berth_store)/root
    run_berth pull -q "$ref"
    assert_success
    assert_output "$(hex "$(test_image_config_digest layered)")"
    run_berth inspect --format '{{.GraphDriver.Data.LowerDir}}' "$ref"
    assert_success
    IFS=: read -r -a lower <<<"$output"
    assert_equal "${#lower[@]}" 4 "number of layers"
    # top first: each dir is ROOT/layers/CHAINID/diff
    mapfile -t chains < <(chain_ids layered)
    for i in 0 1 2 3; do
        assert_equal "${lower[$i]}" "$root/layers/${chains[3 - i]}/diff" "layer $i dir"
    done
    local l4=${lower[0]} l3=${lower[1]} l2=${lower[2]} l1=${lower[3]}

    # layer 1: busybox
    [[ -x $l1/bin/busybox ]] || berth_test_fail "no bin/busybox in $l1"
    assert_equal "$(readlink "$l1/bin/sh")" busybox "bin/sh"
    assert_equal "$(stat -c %a "$l1/tmp")" 1777 "tmp mode"
    assert_equal "$(store_stat '%u:%g %a' "$l1/home/user")" "1000:1000 755" "home/user"

    # layer 2: plain files, links, modes, owners
    assert_equal "$(cat "$l2/data/keep")" keep "l2 data/keep"
    assert_equal "$(cat "$l2/data/remove-me")" remove-me "l2 data/remove-me"
    assert_equal "$(cat "$l2/opaque/sub/old-c")" old-c "l2 opaque/sub/old-c"
    assert_equal "$(cat "$l2/gone-dir/x")" x "l2 gone-dir/x"
    assert_equal "$(stat -c %i "$l2/links/hard-a")" "$(stat -c %i "$l2/links/hard-b")" \
        "hard link inode"
    assert_equal "$(stat -c %h "$l2/links/hard-a")" 2 "hard link count"
    assert_equal "$(cat "$l2/links/hard-b")" hardlink "hard-b content"
    assert_equal "$(readlink "$l2/links/sym")" ../data/keep "relative symlink"
    assert_equal "$(readlink "$l2/links/abs-sym")" /data/keep "absolute symlink"
    assert_equal "$(store_stat '%u:%g %a' "$l2/perm/setuid")" "0:0 4755" "setuid"
    assert_equal "$(store_stat '%u:%g %a' "$l2/owned/user-file")" "1000:1000 644" user-file
    assert_equal "$(store_stat '%u:%g %a' "$l2/owned/user-dir")" "1000:1000 755" user-dir
    assert_equal "$(store_stat '%u:%g %a' "$l2/owned/nobody-file")" "65534:65534 600" \
        nobody-file
    assert_equal "$(store_stat '%u:%g' "$l2/data/keep")" "0:0" "root-owned file"
    has_opaque "$l2/opaque" && berth_test_fail "layer 2's opaque/ must not be opaque"

    # layer 3: a file whiteout and an opaque directory
    assert_whiteout "$l3/data" remove-me
    assert_equal "$(cat "$l3/data/added-in-l3")" l3 "added-in-l3"
    has_opaque "$l3/opaque" || berth_test_fail "layer 3's opaque/ is not opaque"
    assert_equal "$(ls -A "$l3/opaque" | grep -vx '.wh..wh..opq')" new "layer 3 opaque/"
    assert_equal "$(cat "$l3/opaque/new")" new "opaque/new"
    [[ ! -e $l3/data/keep ]] || berth_test_fail "layer 3 holds data/keep"

    # layer 4: a directory whiteout and an overwritten file
    assert_whiteout "$l4" gone-dir
    assert_equal "$(cat "$l4/data/keep")" keep-v4 "l4 data/keep"
    assert_equal "$(cat "$l4/l4-marker")" 4 "l4-marker"
    [[ ! -e $l4/data/remove-me ]] || berth_test_fail "layer 4 holds data/remove-me"
}

@test "pull: multiarch picks the host's image unless --arch or --platform" {
    local ref host other
    ref=$(test_image_ref multiarch)
    host=$(hex "$(test_image_config_digest multiarch "$TEST_HOST_ARCH")")
    other=$(hex "$(test_image_config_digest multiarch "$TEST_OTHER_ARCH")")
    run_berth pull -q "$ref"
    assert_success
    assert_output "$host"
    run_berth inspect --format '{{.Architecture}} {{index .Config.Labels "arch"}}' "$ref"
    assert_output "$TEST_HOST_ARCH $TEST_HOST_ARCH"
    # the tag named the index: its digest is among the repo digests
    run_berth inspect --format '{{.RepoDigests}}' "$ref"
    assert_output_contains "${ref%:latest}@$(test_image_digest multiarch)"

    run_berth pull -q --arch "$TEST_OTHER_ARCH" "$ref"
    assert_success
    assert_output "$other"
    run_berth inspect --format '{{.Architecture}} {{index .Config.Labels "arch"}}' "$ref"
    assert_output "$TEST_OTHER_ARCH $TEST_OTHER_ARCH"

    export BERTH_TEST_STORE=$BATS_TEST_TMPDIR/second
    run_berth pull -q --platform "linux/$TEST_OTHER_ARCH" "$ref"
    assert_success
    assert_output "$other"
    run_berth inspect --format '{{.Architecture}} {{.Id}}' "$ref"
    assert_output "$TEST_OTHER_ARCH $other"
}

@test "pull: a malformed or unavailable --platform is an error" {
    local ref p
    ref=$(test_image_ref multiarch)
    for p in linux linux/ /arm64 a/b/c/d; do
        run_berth pull -q --platform "$p" "$ref"
        assert_failure 125
        assert_output "Error: invalid platform \"$p\": expected OS/ARCH[/VARIANT]"
    done
    run_berth pull -q --platform linux/s390x "$ref"
    assert_failure 125
    assert_output_contains "no image found in manifest list for architecture s390x"
    run_berth images -q
    assert_output ""
}

@test "pull: a zstd-compressed layer" {
    local ref id
    ref=$(test_image_ref zstd)
    id=$(hex "$(test_image_config_digest zstd)")
    run_berth pull -q "$ref"
    assert_success
    assert_output "$id"
    run_berth inspect --format '{{.GraphDriver.Data.LowerDir}}' "$ref"
    assert_success
    [[ -x $output/bin/busybox ]] || berth_test_fail "no bin/busybox in $output"
    assert_equal "$(store_stat '%u:%g' "$output/home/user")" "1000:1000" "home/user"
    run_berth inspect --format '{{index .Config.Labels "org.berth.test.image"}}' "$ref"
    assert_output zstd
}

@test "pull: --all-tags pulls every tag of the repository" {
    local repo=$REGISTRY_PLAIN/alltags-$BATS_SUITE_TEST_NUMBER id t
    id=$(hex "$(test_image_config_digest busybox)")
    for t in one two; do
        skopeo copy --quiet --dest-tls-verify=false --preserve-digests \
            "oci:$TEST_IMAGES_DIR/busybox:latest" "docker://$repo:$t"
    done
    run_berth --separate-stderr pull --all-tags "$repo"
    assert_success
    assert_output "$id"$'\n'"$id"
    [[ $stderr == *"Trying to pull $repo:one..."* && $stderr == *"Trying to pull $repo:two..."* ]] ||
        berth_test_fail "stderr: $stderr"
    run_berth images --format '{{.Repository}}:{{.Tag}}'
    assert_line "$repo:one"
    assert_line "$repo:two"
    refute_line "$repo:latest"

    run_berth pull --all-tags "$repo:one"
    assert_failure 125
    assert_output "Error: tag or digest can't be used with --all-tags flag"
}

@test "pull: by digest; images --digests shows it" {
    local repo=$REGISTRY_PLAIN/busybox digest id
    digest=$(test_image_digest busybox)
    id=$(hex "$(test_image_config_digest busybox)")
    run_berth --separate-stderr pull "$repo@$digest"
    assert_success
    assert_output "$id"
    [[ ${stderr_lines[0]} == "Trying to pull $repo@$digest..." ]] ||
        berth_test_fail "stderr: $stderr"
    run_berth image exists "$repo@$digest"
    assert_success
    run_berth inspect --format '{{.Id}} {{.Digest}} {{.RepoDigests}}' "$repo@$digest"
    assert_output "$id $digest [$repo@$digest]"
    run_berth images --digests --format '{{.Digest}} {{.ID}}'
    assert_output "$digest ${id:0:12}"
    run_berth images --digests
    assert_success
    assert_line --index 0 --partial "DIGEST"
    assert_line --index 1 --partial "$digest  ${id:0:12}"

    # a wrong digest: the registry has no such manifest
    run_berth pull -q "$repo@sha256:$(printf '%064d' 0)"
    assert_failure 125
    assert_output_contains "manifest unknown"
}

@test "pull: an image pulled only by digest keeps its repository and is not dangling" {
    local repo=$REGISTRY_PLAIN/busybox digest
    digest=$(test_image_digest busybox)
    berth_cmd pull -q "$repo@$digest" >/dev/null
    run_berth images --format '{{.Repository}} {{.Tag}}'
    assert_output "$repo <none>"
    run_berth image prune -f
    assert_success
    run_berth image exists "$repo@$digest"
    assert_success
}

@test "pull: short names resolve through unqualified-search-registries and aliases" {
    local conf=$BATS_TEST_TMPDIR/registries.conf
    cat >"$conf" <<EOF
unqualified-search-registries = ["$REGISTRY_PLAIN"]

[[registry]]
location = "$REGISTRY_PLAIN"
insecure = true

[aliases]
"my/alias" = "$REGISTRY_PLAIN/layered"
EOF
    export CONTAINERS_REGISTRIES_CONF=$conf
    run_berth --separate-stderr pull busybox
    assert_success
    assert_output "$(hex "$(test_image_config_digest busybox)")"
    assert_equal "${stderr_lines[0]}" "Trying to pull $REGISTRY_PLAIN/busybox:latest..." \
        "Trying line"
    run_berth images --format '{{.Repository}}:{{.Tag}}'
    assert_output "$REGISTRY_PLAIN/busybox:latest"

    run_berth --separate-stderr pull my/alias
    assert_success
    assert_output "$(hex "$(test_image_config_digest layered)")"
    [[ $stderr == *"Trying to pull $REGISTRY_PLAIN/layered:latest..."* ]] ||
        berth_test_fail "stderr: $stderr"
    run_berth image exists "$REGISTRY_PLAIN/layered:latest"
    assert_success
}

@test "pull: a short name with no alias and no search registries is refused" {
    local conf=$BATS_TEST_TMPDIR/registries.conf
    printf 'unqualified-search-registries = []\n' >"$conf"
    export CONTAINERS_REGISTRIES_CONF=$conf
    run_berth pull nosuch
    assert_failure 125
    assert_output_contains 'short-name "nosuch" did not resolve to an alias and no unqualified-search registries are defined'
    assert_output_not_contains "docker.io"
}

@test "pull: a tag the registry does not have is 'manifest unknown'" {
    local repo=$REGISTRY_PLAIN/busybox
    run_berth pull "$repo:nope"
    assert_failure 125
    assert_line "Trying to pull $repo:nope..."
    assert_output_contains "Error: initializing source docker://$repo:nope: "
    assert_output_contains "manifest unknown"
    run_berth images -q
    assert_output ""
}

@test "pull: an unreachable registry is 'connection refused', naming it" {
    run_berth pull -q 127.0.0.1:1/busybox
    assert_failure 125
    [[ ${output,,} == *"connection refused"* ]] || berth_test_fail "output: $output"
    assert_output_contains "127.0.0.1:1"
    assert_output_contains "Error: initializing source docker://127.0.0.1:1/busybox:latest"
}
