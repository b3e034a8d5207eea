#!/usr/bin/env bats
# push: to the plain registry and back (same image id, same manifest
# digest as skopeo sees it), blobs the registry has are skipped, pushes
# with credentials, and the errors of a push that cannot happen.

load helpers

setup() {
    skip_if_no_registry
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset XDG_RUNTIME_DIR XDG_CONFIG_HOME REGISTRY_AUTH_FILE DOCKER_CONFIG
    # a repository of this test's own in the shared registry
    DEST=$REGISTRY_PLAIN/push-${BATS_SUITE_TEST_NUMBER:-0}/img
}

hex() {
    echo "${1#sha256:}"
}

# layer_hexes NAME: the layer digests (hex) of test image NAME.
layer_hexes() {
    local m
    m=$(test_image_digest "$1")
    jq -r '.layers[].digest | ltrimstr("sha256:")' "$TEST_IMAGES_DIR/$1/blobs/sha256/$(hex "$m")"
}

# skopeo_digest REF: the manifest digest the registry serves for REF.
skopeo_digest() {
    skopeo inspect --tls-verify=false "docker://$1" | jq -r .Digest
}

pull_layered() {
    berth_cmd pull -q "$(test_image_ref layered)" >/dev/null
}

@test "push: to a new repository and back keeps the id and the manifest digest" {
    local src id l
    src=$(test_image_ref layered)
    id=$(hex "$(test_image_config_digest layered)")
    pull_layered
    run_berth --separate-stderr push --tls-verify=false --digestfile "$BATS_TEST_TMPDIR/digest" \
        "$src" "$DEST:1"
    assert_success
    assert_output ""
    output=$stderr lines=("${stderr_lines[@]}")
    assert_line --index 0 "Getting image source signatures"
    # the registry has none of the layers yet (a repository of its own)
    while read -r l; do
        assert_line "Copying blob sha256:$l"
    done < <(layer_hexes layered)
    assert_line "Copying config sha256:$id"
    assert_line "Writing manifest to image destination"

    # the digest file holds what the registry serves under the tag
    assert_equal "$(cat "$BATS_TEST_TMPDIR/digest")" "$(skopeo_digest "$DEST:1")" "--digestfile"
    # pushed unchanged: the very manifest the image was pulled with
    assert_equal "$(cat "$BATS_TEST_TMPDIR/digest")" "$(test_image_digest layered)" \
        "manifest digest"

    run_berth rmi "$src"
    assert_success
    assert_line "Deleted: $id"
    run_berth pull -q "$DEST:1"
    assert_success
    assert_output "$id"
    run_berth inspect --format '{{.Id}} {{.Digest}}' "$DEST:1"
    assert_output "$id $(cat "$BATS_TEST_TMPDIR/digest")"
}

@test "push: blobs the registry has are skipped on a second push" {
    local src l
    src=$(test_image_ref layered)
    pull_layered
    berth_cmd push -q "$src" "$DEST:1"
    # insecure through TEST_REGISTRIES_CONF: no --tls-verify needed
    run_berth --separate-stderr push "$src" "$DEST:2"
    assert_success
    output=$stderr lines=("${stderr_lines[@]}")
    assert_line --index 0 "Getting image source signatures"
    while read -r l; do
        assert_line "Copying blob ${l:0:12} skipped: already exists"
        refute_line "Copying blob sha256:$l"
    done < <(layer_hexes layered)
    assert_line "Writing manifest to image destination"
    assert_equal "$(skopeo_digest "$DEST:2")" "$(test_image_digest layered)" "digest of :2"

    run_berth push -q "$src" "$DEST:3"
    assert_success
    assert_output ""
}

@test "push: an imported image round-trips through the registry" {
    local m layer id
    m=$(test_image_digest busybox)
    layer=$TEST_IMAGES_DIR/busybox/blobs/sha256/$(jq -r '.layers[0].digest | ltrimstr("sha256:")' \
        "$TEST_IMAGES_DIR/busybox/blobs/sha256/$(hex "$m")")
    id=$(berth_cmd import -q "$layer" imported)
    id=$(hex "$id")
    run_berth push --digestfile "$BATS_TEST_TMPDIR/digest" imported "$DEST:imp"
    assert_success
    assert_equal "$(cat "$BATS_TEST_TMPDIR/digest")" "$(skopeo_digest "$DEST:imp")" "--digestfile"
    run_berth rmi imported
    assert_success
    run_berth pull -q "$DEST:imp"
    assert_success
    assert_output "$id"
    run_berth inspect --format '{{.Digest}}' "$DEST:imp"
    assert_output "$(cat "$BATS_TEST_TMPDIR/digest")"
}

@test "push: to the basic-auth registry needs --creds" {
    skip_if_no_registry basic
    local src dest=$REGISTRY_BASIC/push-${BATS_SUITE_TEST_NUMBER:-0}/img:1
    src=$(test_image_ref layered)
    pull_layered
    run_berth push "$src" "$dest"
    assert_failure 125
    assert_output_contains "Error: push $dest: "
    assert_output_contains "unauthorized: authentication required"
    run_berth push --creds "$REGISTRY_USER:wrong" "$src" "$dest"
    assert_failure 125
    assert_output_contains "unauthorized"

    run_berth push --creds "$REGISTRY_USER:$REGISTRY_PASS" --digestfile "$BATS_TEST_TMPDIR/d" \
        "$src" "$dest"
    assert_success
    assert_equal "$(skopeo inspect --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASS" \
        "docker://$dest" | jq -r .Digest)" "$(cat "$BATS_TEST_TMPDIR/d")" "pushed digest"
}

@test "push: to the token registry asks the realm for pull,push" {
    skip_if_no_registry token
    local src n repo=push-${BATS_SUITE_TEST_NUMBER:-0}/img
    src=$(test_image_ref layered)
    pull_layered
    n=$(wc -l <"$REGISTRY_TOKEN_TOKEN_LOG")
    run_berth push -q --creds "$REGISTRY_USER:$REGISTRY_PASS" "$src" "$REGISTRY_TOKEN/$repo:1"
    assert_success
    tail -n +"$((n + 1))" "$REGISTRY_TOKEN_TOKEN_LOG" | jq -e -s --arg s "repository:$repo:pull,push" \
        'any(.[]; (.scopes | index($s)) and .credentials and .result == 200)' >/dev/null ||
        berth_test_fail "no pull,push token request:" "$(tail -n +"$((n + 1))" "$REGISTRY_TOKEN_TOKEN_LOG")"
}

@test "push: an image that does not exist is 'image not known'" {
    run_berth push nothing-here "$DEST:1"
    assert_failure 125
    assert_output "Error: nothing-here: image not known"
    run_berth push "$REGISTRY_PLAIN/nothing-here:1"
    assert_failure 125
    assert_output "Error: $REGISTRY_PLAIN/nothing-here:1: image not known"
}

@test "push: a destination without a registry is refused clearly" {
    local src
    src=$(test_image_ref layered)
    pull_layered
    run_berth push "$src" myname:1
    assert_failure 125
    assert_output "Error: myname:1: a registry must be given to push to (e.g. registry.example.com/myname:1)"
    run_berth push "$src" oci-archive:/tmp/x.tar
    assert_failure 125
    assert_output_contains "transport not supported by push"
    # an id names no repository at all
    run_berth push "$(hex "$(test_image_config_digest layered)" | cut -c1-12)"
    assert_failure 125
    assert_output_contains "no destination given"
}

# Regression: with no destination, a short name used to push to the
# image's first name, a repository the user did not name.
@test "push: a short name without a destination pushes to localhost/NAME only" {
    local src
    src=$(test_image_ref layered)
    pull_layered
    # names: DEST:orig first, then localhost/mine:1
    berth_cmd tag "$src" "$DEST:orig" mine:1
    berth_cmd untag "$src" "$src"
    run_berth inspect --format '{{.RepoTags}}' mine:1
    assert_output "[$DEST:orig localhost/mine:1]"
    run_berth push mine:1
    assert_failure 125
    assert_output_contains "Error: push localhost/mine:1: "
    assert_output_not_contains "Writing manifest"
    run skopeo inspect --tls-verify=false "docker://$DEST:orig"
    assert_failure
    assert_output_contains "manifest unknown"
    # without a destination, a full name is its own destination
    run_berth push -q "$DEST:orig"
    assert_success
    assert_equal "$(skopeo_digest "$DEST:orig")" "$(test_image_digest layered)" "digest"
}
