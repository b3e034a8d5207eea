#!/usr/bin/env bats
# Hostile images and bad names: every pull fails with exit 125 and a
# message naming what is wrong, leaves nothing half-made in the store, and
# the store keeps working afterwards.  The images are tests/lib/mkhostile.py's
# (served by $REGISTRY_PLAIN, huge-manifest by $REGISTRY_FAKE).

load helpers

setup() {
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
}

# pull_hostile NAME [REGISTRY]: pull REGISTRY/NAME:latest, expect 125.
pull_hostile() {
    skip_if_no_registry "${2:-plain}"
    local var
    var=$(registry_var "${2:-plain}")
    run_berth pull "${!var}/$1:latest"
    assert_failure 125
    assert_line --partial "Error: "
    assert_output_contains "$1"
}

# assert_store_sane: no image, no partial layer, no blob that does not hash
# to its name, ROOT/tmp empty once another command has run; then the store
# still pulls, lists and removes busybox.
assert_store_sane() {
    local root blob name d cfg
    root=$(berth_store)/root
    run_berth images -q
    assert_success
    assert_output ""
    run ls -A "$root/tmp"
    assert_success
    assert_output ""
    for d in "$root"/layers/*; do
        [[ -e $d ]] || continue
        name=${d##*/}
        [[ $name =~ ^[0-9a-f]{64}$ ]] ||
            berth_test_fail "partial layer entry in ROOT/layers: $name" || return
        [[ -f $d/layer.json && -d $d/diff ]] ||
            berth_test_fail "layer $name lacks layer.json or diff/" || return
        assert_equal "$(jq -r .chain_id "$d/layer.json")" "sha256:$name" \
            "chain id of layer $name" || return
    done
    for blob in "$root"/blobs/sha256/*; do
        [[ -e $blob ]] || continue
        name=${blob##*/}
        assert_equal "$(sha256sum "$blob" | cut -d' ' -f1)" "$name" \
            "sha256 of blob $name" || return
    done

    cfg=$(test_image_config_digest busybox)
    run_berth pull -q "$(test_image_ref busybox)"
    assert_success
    assert_output "${cfg#sha256:}"
    run_berth images -q --no-trunc
    assert_success
    assert_output "$cfg"
    run_berth rmi "$(test_image_ref busybox)"
    assert_success
    assert_line "Deleted: ${cfg#sha256:}"
    run_berth images -q
    assert_success
    assert_output ""
}

@test "hostile: a blob whose content does not match its digest is refused" {
    local hex
    pull_hostile bad-digest
    assert_output_contains "digest mismatch"
    # the layer the registry serves wrong bytes for is named
    hex=$(jq -r '.layers[1].digest' "$TEST_HOSTILE_DIR/bad-digest/manifest")
    assert_output_contains "blob $hex: digest mismatch"
    [[ ! -e $(berth_store)/root/blobs/sha256/${hex#sha256:} ]] ||
        berth_test_fail "the mismatching blob was stored"
    assert_store_sane
}

@test "hostile: a truncated gzip layer is refused" {
    local hex
    pull_hostile truncated
    hex=$(jq -r '.layers[1].digest' "$TEST_HOSTILE_DIR/truncated/manifest")
    assert_output_contains "unpack layer $hex"
    assert_output_contains "truncated gzip input"
    assert_store_sane
}

@test "hostile: a layer entry ../escape is refused and writes nothing outside" {
    local root
    root=$(berth_store)/root
    pull_hostile dotdot
    assert_output_contains 'layer entry "../escape": path escapes the layer'
    run find "$(berth_store)" -name escape -o -name dotdot-ok
    assert_success
    assert_output ""
    [[ ! -e $root/../escape && ! -e $root/escape ]] ||
        berth_test_fail "../escape was written"
    assert_store_sane
}

@test "hostile: a write through a symlink to / is refused" {
    local before after
    before=$(stat -c '%i %Y' /tmp/pwned 2>/dev/null || echo none)
    pull_hostile symlink-escape
    assert_output_contains 'layer entry "evil/tmp/pwned": parent "evil" is a symlink'
    after=$(stat -c '%i %Y' /tmp/pwned 2>/dev/null || echo none)
    assert_equal "$after" "$before" "/tmp/pwned"
    run find "$(berth_store)" "$BATS_TEST_TMPDIR" -name pwned
    assert_success
    assert_output ""
    assert_store_sane
}

@test "hostile: an unknown layer media type is refused" {
    pull_hostile unknown-media
    assert_output_contains 'unsupported layer media type "application/x-unknown"'
    assert_store_sane
}

@test "hostile: a manifest over 4 MiB is refused" {
    pull_hostile huge-manifest fake
    assert_output_contains "manifest too large (over 4 MiB)"
    assert_store_sane
}

@test "hostile: a schema 1 manifest is refused as not supported" {
    pull_hostile schema1
    assert_output_contains "schema 1"
    assert_output_contains "not supported"
    assert_output_not_contains "digest mismatch"
    assert_store_sane
}

@test "hostile: a layer whose diff id differs from the config's is refused" {
    local want
    want=$(jq -r '.rootfs.diff_ids[0]' "$TEST_HOSTILE_DIR/bad-diffid/blobs/$(jq -r \
        '.config.digest | ltrimstr("sha256:")' "$TEST_HOSTILE_DIR/bad-diffid/manifest")")
    pull_hostile bad-diffid
    assert_output_contains "diff id mismatch: the image config says $want"
    assert_store_sane
}

@test "hostile: a blob the registry does not have is reported" {
    local hex
    pull_hostile missing-blob
    hex=$(jq -r '.layers[1].digest' "$TEST_HOSTILE_DIR/missing-blob/manifest")
    assert_output_contains "fetch blob $hex"
    assert_output_contains "blob unknown"
    assert_store_sane
}

@test "hostile: an unreachable registry is reported" {
    skip_if_no_registry
    local port
    # a port nothing listens on (freed right away)
    port=$(registry_free_port)
    run_berth pull "127.0.0.1:$port/busybox:latest"
    assert_failure 125
    assert_output_contains "Error: initializing source docker://127.0.0.1:$port/busybox:latest"
    assert_output_contains "connect to 127.0.0.1:$port: Connection refused"
    assert_store_sane
}

@test "hostile: malformed image names are refused before any network access" {
    skip_if_no_registry
    local name
    for name in "$REGISTRY_PLAIN/UPPER/case" "a::b" "foo@sha256:123" "bad//name"; do
        run_berth pull "$name"
        assert_failure 125
        assert_output_contains "Error: parsing reference \"$name\": invalid reference format"
        assert_output_not_contains "Trying to pull"
    done
    run_berth pull "$REGISTRY_PLAIN/UPPER/case"
    assert_output_contains "repository name must be lowercase"
    assert_store_sane
}
