#!/usr/bin/env bats
# save, load and import: oci-archive and docker-archive in and out, read
# and written by skopeo too (containers/image, the library podman uses).

load helpers

# skopeo_archive KIND OUT REF: the busybox test image as KIND
# (oci-archive, docker-archive) named REF, written by skopeo.
skopeo_archive() {
    local keep=()
    # a docker-archive needs a docker manifest: skopeo converts
    [[ $1 == oci-archive ]] && keep=(--preserve-digests)
    skopeo copy --quiet "${keep[@]}" \
        "oci:$TEST_IMAGES_DIR/busybox:latest" "$1:$2:$3"
}

# tar_json TAR ENTRY: a JSON entry of a tarball, compact.
tar_json() {
    tar -xOf "$1" "$2" | jq -c .
}

# store_entries SUB: what is left in the store's ROOT/SUB.
store_entries() {
    ls -A "$(berth_store)/root/$1"
}

@test "load: an oci-archive from skopeo; save writes both formats" {
    local t=$BATS_TEST_TMPDIR cfg
    cfg=$(test_image_config_digest busybox)
    skopeo_archive oci-archive "$t/in.tar" localhost/bb:1
    run_berth load -i "$t/in.tar"
    assert_success
    assert_line "Loaded image: localhost/bb:1"
    run_berth image exists localhost/bb:1
    assert_success

    run_berth save -q -o "$t/d.tar" bb:1
    assert_success
    assert_output ""
    assert_equal "$(tar_json "$t/d.tar" manifest.json | jq -r '.[0].RepoTags[0]')" \
        localhost/bb:1 "RepoTags"
    assert_equal "$(tar_json "$t/d.tar" manifest.json | jq -r '.[0].Config')" \
        "${cfg#sha256:}.json" "Config"
    run skopeo inspect --raw --config "docker-archive:$t/d.tar"
    assert_success
    assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" \
        "$cfg" "config digest through skopeo"

    run_berth save --format oci-archive -o "$t/o.tar" localhost/bb:1
    assert_success
    # bit-exact: the manifest is the one the image came with
    assert_equal "$(tar_json "$t/o.tar" index.json | jq -r '.manifests[0].digest')" \
        "$(test_image_digest busybox)" "manifest digest"
    assert_equal "$(tar_json "$t/o.tar" index.json |
        jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]')" \
        localhost/bb:1 "ref.name"
    run skopeo copy --quiet "oci-archive:$t/o.tar:localhost/bb:1" "oci:$t/layout:x"
    assert_success
}

@test "load: save, rmi, load keeps the image id (both formats)" {
    local t=$BATS_TEST_TMPDIR cfg fmt
    cfg=$(test_image_config_digest busybox)
    skopeo_archive oci-archive "$t/in.tar" localhost/bb:1
    berth_cmd load -q -i "$t/in.tar" >/dev/null
    for fmt in docker-archive oci-archive; do
        run_berth save -q --format "$fmt" -o "$t/$fmt.tar" localhost/bb:1
        assert_success
        run_berth rmi localhost/bb:1
        assert_success
        assert_line "Deleted: ${cfg#sha256:}"
        run_berth load -q -i "$t/$fmt.tar"
        assert_success
        assert_output "Loaded image: localhost/bb:1"
    done
    run_berth rmi bb:1
    assert_line "Deleted: ${cfg#sha256:}"
}

@test "load: pulled image survives save, rmi, load" {
    skip_if_no_registry
    local t=$BATS_TEST_TMPDIR ref cfg
    ref=$(test_image_ref busybox)
    cfg=$(test_image_config_digest busybox)
    CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF berth_cmd pull -q "$ref" >/dev/null
    run_berth save -o "$t/bb.tar" "$ref"
    assert_success
    run_berth rmi "$ref"
    assert_line "Deleted: ${cfg#sha256:}"
    run_berth load -i "$t/bb.tar"
    assert_success
    assert_line "Loaded image: $ref"
    run_berth rmi "$ref"
    assert_line "Deleted: ${cfg#sha256:}"
}

@test "load: docker save's short names become docker.io names" {
    local t=$BATS_TEST_TMPDIR
    skopeo_archive docker-archive "$t/s.tar" localhost/bb:1
    mkdir "$t/x"
    tar -C "$t/x" -xf "$t/s.tar"
    jq -c '.[0].RepoTags = ["busybox:latest", "me/tool:2"]' "$t/x/manifest.json" \
        >"$t/m.json"
    mv "$t/m.json" "$t/x/manifest.json"
    tar -C "$t/x" -cf "$t/short.tar" .
    run_berth load -i "$t/short.tar"
    assert_success
    assert_line "Loaded image: docker.io/library/busybox:latest"
    assert_line "Loaded image: docker.io/me/tool:2"
    run_berth image exists busybox
    assert_success
}

@test "load: a multi-arch oci-archive loads the host's image" {
    local t=$BATS_TEST_TMPDIR
    mkimage_oci_archive "$TEST_IMAGES_DIR/multiarch" "$t/multi.tar"
    run_berth load -q -i "$t/multi.tar"
    assert_success
    # podman's naming of an OCI ref.name that is only a tag
    assert_output "Loaded image: docker.io/library/latest:latest"
    run_berth rmi docker.io/library/latest:latest
    assert_line "Deleted: $(test_image_config_digest multiarch "$TEST_HOST_ARCH" | cut -d: -f2)"
}

@test "load: from stdin, compressed, and untagged" {
    local t=$BATS_TEST_TMPDIR cfg
    cfg=$(test_image_config_digest busybox)
    run_berth save -q -o "$t/none.tar" nothing
    assert_failure 125
    skopeo copy --quiet "oci:$TEST_IMAGES_DIR/busybox:latest" \
        "docker-archive:$t/untagged.tar"
    gzip -c "$t/untagged.tar" >"$t/untagged.tar.gz"
    run_berth load <"$t/untagged.tar.gz"
    assert_success
    assert_line "Loaded image: $cfg"
    assert_line --partial "Copying blob"
}

@test "load: hostile archives are refused and leave nothing behind" {
    local t=$BATS_TEST_TMPDIR
    mkdir -p "$t/evil"
    jq -cn --arg d "sha256:$(printf '%064d' 0)" '{rootfs: {type: "layers", diff_ids: [$d]}}' \
        >"$t/evil/c.json"
    jq -cn '[{Config: "c.json", RepoTags: ["x:1"], Layers: ["../../etc/passwd"]}]' \
        >"$t/evil/manifest.json"
    tar -C "$t/evil" -cf "$t/evil.tar" manifest.json c.json
    run_berth load -q -i "$t/evil.tar"
    assert_failure 125
    assert_output "Error: $t/evil.tar: manifest.json entry 1: invalid path \"../../etc/passwd\": entries must be relative and inside the archive"

    printf 'not a tarball' >"$t/junk"
    run_berth load -i "$t/junk"
    assert_failure 125
    assert_output_contains "$t/junk"

    tar -C "$t/evil" -cf "$t/neither.tar" c.json
    run_berth load -i "$t/neither.tar"
    assert_failure 125
    assert_output_contains "payload does not match any of the supported image formats"
    assert_equal "$(store_entries images)" "" "image records"
    assert_equal "$(store_entries tmp)" "" "temporary entries"
}

@test "save: -m saves several images; without it, more names are tags" {
    local t=$BATS_TEST_TMPDIR
    skopeo_archive oci-archive "$t/in.tar" localhost/bb:1
    berth_cmd load -q -i "$t/in.tar" >/dev/null
    mkimage_oci_archive "$TEST_IMAGES_DIR/layered" "$t/layered.tar"
    berth_cmd load -q -i "$t/layered.tar" >/dev/null
    run_berth save -q -m -o "$t/multi.tar" bb:1 latest:latest
    assert_success
    assert_equal "$(tar_json "$t/multi.tar" manifest.json | jq -c '[.[].RepoTags[0]]')" \
        '["localhost/bb:1","docker.io/library/latest:latest"]' "images"
    run_berth save -q -o "$t/tags.tar" bb:1 other:5
    assert_success
    assert_equal "$(tar_json "$t/tags.tar" manifest.json | jq -c '.[0].RepoTags')" \
        '["localhost/bb:1","docker.io/library/other:5"]' "tags"
    run_berth save -q --format oci-archive -m -o "$t/multi-oci.tar" bb:1 latest:latest
    assert_success
    assert_equal "$(tar_json "$t/multi-oci.tar" index.json | jq '.manifests | length')" 2

    # a fresh store takes both back
    export BERTH_TEST_STORE=$t/second
    run_berth load -i "$t/multi.tar"
    assert_success
    assert_line "Loaded image: localhost/bb:1"
    assert_line "Loaded image: docker.io/library/latest:latest"
}

@test "save: refuses a terminal, writes to a pipe" {
    local t=$BATS_TEST_TMPDIR
    skopeo_archive oci-archive "$t/in.tar" localhost/bb:1
    berth_cmd load -q -i "$t/in.tar" >/dev/null
    run_berth save --format oci-archive bb:1 > >(cat >"$t/piped.tar")
    assert_success
    run_berth save --format bogus -o "$t/x.tar" bb:1
    assert_failure 125
    assert_output "Error: format value must be one of docker-archive oci-archive"
    run_berth save -o "$t/a:b.tar" bb:1
    assert_failure 125
    assert_output "Error: invalid filename (should not contain ':') \"$t/a:b.tar\""
    command -v script >/dev/null || skip "no script(1) for a terminal"
    run script -qec "$BERTH --root $(berth_store)/root --runroot $(berth_store)/runroot save bb:1" /dev/null
    assert_failure
    assert_output_contains "Error: refusing to save to terminal. Use -o flag or redirect"
}

# The busybox test image's layer: a gzip rootfs tarball.
busybox_layer() {
    local m
    m=$(jq -r '.manifests[0].digest' "$TEST_IMAGES_DIR/busybox/index.json")
    echo "$TEST_IMAGES_DIR/busybox/blobs/sha256/$(jq -r '.layers[0].digest' \
        "$TEST_IMAGES_DIR/busybox/blobs/sha256/${m#sha256:}" | cut -d: -f2)"
}

@test "import: a rootfs tarball with --change and --message" {
    local t=$BATS_TEST_TMPDIR layer diff id cfg
    layer=$(busybox_layer)
    diff=$(gzip -dc "$layer" | sha256sum | cut -d' ' -f1)
    run_berth import -q -c 'CMD ["/bin/sh"]' -c 'ENV A=1' -c 'EXPOSE 80' \
        -c 'WORKDIR /srv' -m "made by test" "$layer" myimg
    assert_success
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || berth_test_fail "not an id: $output"
    id=${output#sha256:}
    run_berth image exists localhost/myimg:latest
    assert_success
    run_berth save -q --format oci-archive -o "$t/i.tar" myimg
    assert_success
    cfg=$(tar -xOf "$t/i.tar" "blobs/sha256/$id")
    assert_equal "$(jq -c .config <<<"$cfg")" \
        '{"Cmd":["/bin/sh"],"Env":["A=1"],"ExposedPorts":{"80/tcp":{}},"WorkingDir":"/srv"}' config
    assert_equal "$(jq -r '.history[0].comment' <<<"$cfg")" "made by test" comment
    assert_equal "$(jq -r '.history[0].created_by' <<<"$cfg")" \
        "/bin/sh -c #(nop) ADD file:$diff in /" created_by
    assert_equal "$(jq -r '.rootfs.diff_ids[0]' <<<"$cfg")" "sha256:$diff" diff_id
    assert_equal "$(jq -r .os <<<"$cfg")" linux os
}

@test "import: from stdin without a name; bad changes are refused" {
    local layer
    layer=$(busybox_layer)
    run_berth import - <"$layer"
    assert_success
    assert_line --index 0 "Getting image source signatures"
    [[ ${lines[-1]} =~ ^sha256:[0-9a-f]{64}$ ]] || berth_test_fail "no id: $output"
    run_berth import -c 'FROM busybox' "$layer"
    assert_failure 125
    assert_output 'Error: invalid change "FROM busybox" - invalid instruction FROM'
    run_berth import -c 'EXPOSE 99999' "$layer"
    assert_failure 125
    assert_output 'Error: invalid change "EXPOSE 99999" - EXPOSE port must be a valid port number'
    run_berth import "$BATS_TEST_TMPDIR/missing.tar"
    assert_failure 125
    assert_output_contains "missing.tar: No such file or directory"
}

@test "load and save rootless" {
    skip_if_no_test_user
    local d cfg
    d=$(test_user_tmpdir)
    cfg=$(test_image_config_digest layered)
    mkimage_oci_archive "$TEST_IMAGES_DIR/layered" "$d/layered.tar"
    chown "$BERTH_TEST_USER:" "$d/layered.tar"
    run_berth_as_test_user load -q -i "$d/layered.tar"
    assert_success
    assert_output "Loaded image: docker.io/library/latest:latest"
    run_berth_as_test_user save -q -o "$d/out.tar" latest
    assert_success
    run skopeo inspect --raw --config "docker-archive:$d/out.tar"
    assert_success
    assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" \
        "$cfg" "config digest"
}
