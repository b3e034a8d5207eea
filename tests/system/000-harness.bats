#!/usr/bin/env bats
# Self-test of the test harness (helpers.bash, tests/lib): images,
# registries, token server, TLS, hostile images, helpers.  It runs no berth,
# so a failure here is the harness's, not berth's.

load helpers

# layout_blob LAYOUT DIGEST: path of a blob of an OCI layout.
layout_blob() {
    echo "$1/blobs/sha256/${2#sha256:}"
}

# layout_manifest LAYOUT [ARCH]: path of the image manifest.
layout_manifest() {
    local d
    if [[ -n ${2:-} ]]; then
        d=$(TEST_IMAGES_DIR=${1%/*} test_image_digest "${1##*/}" "$2")
    else
        d=$(jq -r '.manifests[0].digest' "$1/index.json")
    fi
    layout_blob "$1" "$d"
}

# unpack_layers LAYOUT DEST: every layer in order, whiteouts kept as files.
unpack_layers() {
    local layout=$1 dest=$2 m d mt
    m=$(layout_manifest "$layout")
    mkdir -p "$dest"
    while read -r d mt; do
        case $mt in
        *zstd) zstd -q -d -c "$(layout_blob "$layout" "$d")" ;;
        *gzip) gzip -d -c "$(layout_blob "$layout" "$d")" ;;
        *) cat "$(layout_blob "$layout" "$d")" ;;
        esac | tar -C "$dest" -xpf - --numeric-owner
    done < <(jq -r '.layers[] | "\(.digest) \(.mediaType)"' "$m")
}

accept_all='Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws'

# jwt_claims TOKEN: the decoded payload.
jwt_claims() {
    local p
    p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
    while ((${#p} % 4)); do p+='='; done
    base64 -d <<<"$p"
}

@test "harness: bats is new enough for setup_suite and run -N" {
    run bats --version
    assert_success
    [[ $output =~ ^Bats\ ([0-9]+)\.([0-9]+) ]]
    ((BASH_REMATCH[1] > 1 || BASH_REMATCH[2] >= 5))
}

@test "harness: every test image layout validates with skopeo" {
    local name
    for name in busybox layered multiarch zstd; do
        run skopeo inspect "oci:$TEST_IMAGES_DIR/$name:latest"
        assert_success
        run skopeo inspect --raw "oci:$TEST_IMAGES_DIR/$name:latest"
        assert_success
        assert_equal "$(jq -r .schemaVersion <<<"$output")" 2 "$name schemaVersion"
        assert_equal "$(jq -c . "$TEST_IMAGES_DIR/$name/oci-layout")" \
            '{"imageLayoutVersion":"1.0.0"}' "$name oci-layout"
    done
}

@test "harness: blobs are named by their digest and diff_ids match the layers" {
    local name layout m cfg i d mt diff want
    for name in busybox layered zstd; do
        layout=$TEST_IMAGES_DIR/$name
        for f in "$layout"/blobs/sha256/*; do
            assert_equal "$(sha256sum "$f" | cut -d' ' -f1)" "${f##*/}" "digest of $f"
        done
        m=$(layout_manifest "$layout")
        cfg=$(layout_blob "$layout" "$(jq -r .config.digest "$m")")
        i=0
        while read -r d mt; do
            case $mt in
            *zstd) diff=$(zstd -q -d -c "$(layout_blob "$layout" "$d")" | sha256sum) ;;
            *) diff=$(gzip -d -c "$(layout_blob "$layout" "$d")" | sha256sum) ;;
            esac
            want=$(jq -r ".rootfs.diff_ids[$i]" "$cfg")
            assert_equal "sha256:${diff%% *}" "$want" "$name diff_id $i"
            i=$((i + 1))
        done < <(jq -r '.layers[] | "\(.digest) \(.mediaType)"' "$m")
        assert_equal "$(jq '.rootfs.diff_ids | length' "$cfg")" "$i" "$name layer count"
    done
}

@test "harness: image builds are reproducible" {
    build_test_images "$BATS_TEST_TMPDIR/again"
    local name
    for name in busybox layered multiarch zstd; do
        assert_equal "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/again/$name/index.json")" \
            "$(test_image_digest "$name")" "$name digest"
    done
}

@test "harness: busybox image config and filesystem" {
    local m cfg root=$BATS_TEST_TMPDIR/rootfs
    m=$(layout_manifest "$TEST_IMAGES_DIR/busybox")
    assert_equal "$(jq '.layers | length' "$m")" 1 "layer count"
    cfg=$(layout_blob "$TEST_IMAGES_DIR/busybox" "$(jq -r .config.digest "$m")")
    assert_equal "$(jq -r .architecture "$cfg")" "$TEST_HOST_ARCH" architecture
    assert_equal "$(jq -r .os "$cfg")" linux os
    assert_equal "$(jq -c .config.Cmd "$cfg")" '["sh"]' Cmd
    assert_equal "$(jq -r '.config.Env[0]' "$cfg")" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin Env
    assert_equal "$(jq -r '.config.Labels["org.berth.test.image"]' "$cfg")" busybox label
    assert_equal "$(jq -c .config.ExposedPorts "$cfg")" '{"8080/tcp":{}}' ExposedPorts
    assert_equal "$(test_image_config_digest busybox)" "$(jq -r .config.digest "$m")" config digest

    unpack_layers "$TEST_IMAGES_DIR/busybox" "$root"
    local a
    for a in sh ls cat id echo true false sleep stat env; do
        assert_equal "$(readlink "$root/bin/$a")" busybox "bin/$a"
    done
    run "$root/bin/busybox" sh -c 'echo hello from busybox'
    assert_success
    assert_output "hello from busybox"
    assert_line --partial "hello"
    run grep -c . "$root/etc/passwd"
    assert_output 3
    run cat "$root/etc/passwd"
    assert_line "root:x:0:0:root:/root:/bin/sh"
    assert_line "user:x:1000:1000:user:/home/user:/bin/sh"
    assert_line "nobody:x:65534:65534:nobody:/nonexistent:/bin/false"
    assert_equal "$(stat -c %a "$root/tmp")" 1777 "tmp mode"
    run tar -tvzf "$(layout_blob "$TEST_IMAGES_DIR/busybox" "$(jq -r '.layers[0].digest' "$m")")"
    assert_line --partial "drwxr-xr-x 1000/1000         0 1970-01-01 00:00 home/user/"
    assert_line --partial "drwx------ 0/0               0 1970-01-01 00:00 root/"
}

@test "harness: layered image has whiteouts, opaque dir, links, setuid, owners" {
    local m layout=$TEST_IMAGES_DIR/layered
    m=$(layout_manifest "$layout")
    assert_equal "$(jq '.layers | length' "$m")" 4 "layer count"
    local -a l
    mapfile -t l < <(jq -r '.layers[].digest' "$m")

    run tar -tvzf "$(layout_blob "$layout" "${l[1]}")"
    assert_success
    assert_line --partial "links/hard-b link to links/hard-a"
    assert_line --partial "links/sym -> ../data/keep"
    assert_line --partial "links/abs-sym -> /data/keep"
    assert_line --partial "-rwsr-xr-x 0/0"
    assert_line --partial "1000/1000"
    assert_line --partial "65534/65534"
    run tar -tzf "$(layout_blob "$layout" "${l[2]}")"
    assert_line "data/.wh.remove-me"
    assert_line "opaque/.wh..wh..opq"
    run tar -tzf "$(layout_blob "$layout" "${l[3]}")"
    assert_line ".wh.gone-dir"
    assert_line "data/keep"

    # The same files unpacked raw (whiteouts not applied), as root so
    # owners and the setuid bit survive.
    skip_if_not_root
    local root=$BATS_TEST_TMPDIR/rootfs
    unpack_layers "$layout" "$root"
    assert_equal "$(cat "$root/data/keep")" keep-v4 "data/keep"
    assert_equal "$(stat -c %a "$root/perm/setuid")" 4755 "setuid mode"
    assert_equal "$(stat -c %u:%g:%a "$root/owned/user-file")" 1000:1000:644 user-file
    assert_equal "$(stat -c %u:%g "$root/owned/user-dir")" 1000:1000 user-dir
    assert_equal "$(stat -c %u:%g:%a "$root/owned/nobody-file")" 65534:65534:600 nobody-file
    assert_equal "$(stat -c %i "$root/links/hard-a")" "$(stat -c %i "$root/links/hard-b")" "hard link inode"
    assert_equal "$(stat -c %h "$root/links/hard-a")" 2 "hard link count"
}

@test "harness: multiarch index lists host and other arch with labels" {
    local layout=$TEST_IMAGES_DIR/multiarch idx arch cfg
    assert_equal "$(jq -r '.manifests[0].mediaType' "$layout/index.json")" \
        application/vnd.oci.image.index.v1+json "top media type"
    idx=$(layout_blob "$layout" "$(test_image_digest multiarch)")
    run jq -r '.manifests[] | "\(.platform.os)/\(.platform.architecture)"' "$idx"
    assert_output "linux/$TEST_HOST_ARCH
linux/$TEST_OTHER_ARCH"
    for arch in "$TEST_HOST_ARCH" "$TEST_OTHER_ARCH"; do
        cfg=$(layout_blob "$layout" "$(test_image_config_digest multiarch "$arch")")
        assert_equal "$(jq -r .architecture "$cfg")" "$arch" "config arch"
        assert_equal "$(jq -r .config.Labels.arch "$cfg")" "$arch" "arch label"
    done
}

@test "harness: zstd image has a zstd layer" {
    local m
    m=$(layout_manifest "$TEST_IMAGES_DIR/zstd")
    assert_equal "$(jq -r '.layers[0].mediaType' "$m")" \
        application/vnd.oci.image.layer.v1.tar+zstd "media type"
    run zstd -q -t "$(layout_blob "$TEST_IMAGES_DIR/zstd" "$(jq -r '.layers[0].digest' "$m")")"
    assert_success
}

@test "harness: build_big_image makes a multi-layer random image" {
    build_big_image "$BATS_TEST_TMPDIR/big" 3 2
    run skopeo inspect "oci:$BATS_TEST_TMPDIR/big:latest"
    assert_success
    assert_equal "$(jq '.Layers | length' <<<"$output")" 3 "layer count"
    local m d
    m=$(layout_manifest "$BATS_TEST_TMPDIR/big")
    d=$(jq -r '.layers[2].digest' "$m")
    # incompressible: the gzip layer is at least its 2 MiB of data
    (($(stat -c %s "$(layout_blob "$BATS_TEST_TMPDIR/big" "$d")") > 2 * 1024 * 1024))
}

@test "harness: oci-archive of a layout validates" {
    mkimage_oci_archive "$TEST_IMAGES_DIR/busybox" "$BATS_TEST_TMPDIR/bb.tar"
    run skopeo inspect --raw "oci-archive:$BATS_TEST_TMPDIR/bb.tar"
    assert_success
    assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" \
        "$(test_image_digest busybox)" "manifest digest"
}

@test "harness: plain registry serves the pushed images with their digests" {
    skip_if_no_registry plain
    run curl -sS -o /dev/null -w '%{http_code}' "http://$REGISTRY_PLAIN/v2/"
    assert_output 200
    local name
    for name in busybox layered multiarch zstd; do
        run skopeo inspect --raw --tls-verify=false "docker://$(test_image_ref "$name")"
        assert_success
        assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" \
            "$(test_image_digest "$name")" "$name digest in the registry"
    done
    run curl -sS -H "$accept_all" \
        "http://$REGISTRY_PLAIN/v2/zstd/manifests/$(test_image_digest zstd)"
    assert_equal "$(jq -r '.layers[0].mediaType' <<<"$output")" \
        application/vnd.oci.image.layer.v1.tar+zstd "zstd layer in registry"
    run skopeo --override-arch "$TEST_OTHER_ARCH" inspect --tls-verify=false \
        "docker://$(test_image_ref multiarch)"
    assert_success
    assert_equal "$(jq -r .Labels.arch <<<"$output")" "$TEST_OTHER_ARCH" "other arch label"
}

@test "harness: basic-auth registry rejects without credentials" {
    skip_if_no_registry basic
    run curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_BASIC/v2/"
    assert_output 401
    run curl -s -o /dev/null -w '%{http_code}' -u testuser:wrong "http://$REGISTRY_BASIC/v2/"
    assert_output 401
    run curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:$REGISTRY_PASS" \
        -H "$accept_all" "http://$REGISTRY_BASIC/v2/busybox/manifests/latest"
    assert_output 200
    run skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_BASIC/busybox:latest"
    assert_failure
    run skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASS" \
        "docker://$REGISTRY_BASIC/busybox:latest"
    assert_success
}

@test "harness: token server issues tokens the registry accepts" {
    skip_if_no_registry token
    local url=http://$REGISTRY_TOKEN/v2/busybox/manifests/latest tok
    run curl -s -D - -o /dev/null "$url"
    assert_line --partial "HTTP/1.1 401"
    assert_line --partial "Bearer realm=\"$REGISTRY_TOKEN_REALM\",service=\"berth-test\",scope=\"repository:busybox:pull\""

    run curl -sS -f -u "$REGISTRY_USER:$REGISTRY_PASS" \
        "$REGISTRY_TOKEN_REALM?service=berth-test&scope=repository:busybox:pull,push"
    assert_success
    tok=$(jq -r .token <<<"$output")
    assert_equal "$(jq -r .access_token <<<"$output")" "$tok" access_token
    assert_equal "$(jq -r .expires_in <<<"$output")" 300 expires_in
    run jwt_claims "$tok"
    assert_equal "$(jq -r .iss <<<"$output")" berth-test-issuer iss
    assert_equal "$(jq -r .aud <<<"$output")" berth-test aud
    assert_equal "$(jq -r .sub <<<"$output")" testuser sub
    assert_equal "$(jq -c .access <<<"$output")" \
        '[{"type":"repository","name":"busybox","actions":["pull","push"]}]' access
    run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
        -H "$accept_all" "$url"
    assert_output 200

    # anonymous: a token with no access, which the registry refuses
    run curl -sS -f "$REGISTRY_TOKEN_REALM?service=berth-test&scope=repository:busybox:pull"
    assert_success
    tok=$(jq -r .token <<<"$output")
    run jwt_claims "$tok"
    assert_equal "$(jq -c .access <<<"$output")" '[]' "anonymous access"
    run curl -s -D - -o /dev/null -H "Authorization: Bearer $tok" "$url"
    assert_line --partial "HTTP/1.1 401"
    assert_line --partial 'error="insufficient_scope"'

    # ...except on public/: anonymous pull allowed
    run curl -sS -f "$REGISTRY_TOKEN_REALM?service=berth-test&scope=repository:public/busybox:pull,push"
    tok=$(jq -r .token <<<"$output")
    run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
        -H "$accept_all" "http://$REGISTRY_TOKEN/v2/public/busybox/manifests/latest"
    assert_output 200

    # bad credentials, and a service that is not ours
    run curl -s -o /dev/null -w '%{http_code}' -u testuser:wrong \
        "$REGISTRY_TOKEN_REALM?service=berth-test&scope=repository:busybox:pull"
    assert_output 401
    run curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:$REGISTRY_PASS" \
        "$REGISTRY_TOKEN_REALM?service=other&scope=repository:busybox:pull"
    assert_output 400

    # OAuth2 password grant (POST), as docker clients use
    run curl -sS -f -d grant_type=password -d username="$REGISTRY_USER" \
        -d password="$REGISTRY_PASS" -d service=berth-test \
        -d scope=repository:busybox:pull -d access_type=offline "$REGISTRY_TOKEN_REALM"
    assert_success
    [[ $(jq -r .refresh_token <<<"$output") =~ ^[0-9a-f]{32}$ ]]
    tok=$(jq -r .access_token <<<"$output")
    run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
        -H "$accept_all" "$url"
    assert_output 200

    # the request log says who asked for what
    run tail -n 1 "$REGISTRY_TOKEN_TOKEN_LOG"
    assert_equal "$(jq -r .grant_type <<<"$output")" password "logged grant"
    run grep -c '"credentials": false' "$REGISTRY_TOKEN_TOKEN_LOG"
    ((output >= 2))
}

@test "harness: skopeo pulls from the token registry only with credentials" {
    skip_if_no_registry token
    run skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_TOKEN/busybox:latest"
    assert_failure
    run skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASS" \
        "docker://$REGISTRY_TOKEN/busybox:latest"
    assert_success
    assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" \
        "$(test_image_digest busybox)" digest
}

@test "harness: TLS registry needs its CA" {
    skip_if_no_registry tls
    run curl -sS -o /dev/null "https://$REGISTRY_TLS/v2/"
    assert_failure 60
    run curl -sS -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_TLS_CA" \
        "https://$REGISTRY_TLS/v2/"
    assert_output 200
    run curl -sS -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_TLS_CA" \
        "https://localhost:${REGISTRY_TLS##*:}/v2/"
    assert_output 200
    run curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_TLS/v2/"
    assert_output 400
    [[ -f $REGISTRY_TLS_CERT_DIR/ca.crt && -f $REGISTRY_TLS_CERTS_D/$REGISTRY_TLS/ca.crt ]]
    run skopeo inspect --raw "docker://$REGISTRY_TLS/busybox:latest"
    assert_failure
    run skopeo inspect --raw --cert-dir "$REGISTRY_TLS_CERT_DIR" \
        "docker://$REGISTRY_TLS/busybox:latest"
    assert_success
}

@test "harness: hostile images are broken exactly as documented" {
    skip_if_no_registry plain
    local r=http://$REGISTRY_PLAIN m d
    get_manifest() { curl -sS -f -H "$accept_all" "$r/v2/$1/manifests/latest"; }

    m=$(get_manifest bad-digest)
    d=$(jq -r '.layers[1].digest' <<<"$m")
    curl -sS -f "$r/v2/bad-digest/blobs/$d" -o "$BATS_TEST_TMPDIR/blob"
    run sha256sum "$BATS_TEST_TMPDIR/blob"
    assert_output_not_contains "${d#sha256:}"
    assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/blob")" "$(jq -r '.layers[1].size' <<<"$m")" size
    run tar -tzf "$BATS_TEST_TMPDIR/blob"
    assert_success # a valid gzip tar: only the digest tells

    m=$(get_manifest truncated)
    d=$(jq -r '.layers[1].digest' <<<"$m")
    curl -sS -f "$r/v2/truncated/blobs/$d" -o "$BATS_TEST_TMPDIR/blob"
    assert_equal "sha256:$(sha256sum "$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)" "$d" digest
    run gzip -t "$BATS_TEST_TMPDIR/blob"
    assert_failure

    m=$(get_manifest dotdot)
    run bash -c "curl -sS -f '$r/v2/dotdot/blobs/$(jq -r '.layers[1].digest' <<<"$m")' | tar -tzf - 2>/dev/null"
    assert_line "../escape"

    m=$(get_manifest symlink-escape)
    run bash -c "curl -sS -f '$r/v2/symlink-escape/blobs/$(jq -r '.layers[1].digest' <<<"$m")' | tar -tvzf -"
    assert_line --index 0 --partial "evil -> /"
    assert_line --index 1 --partial "evil/tmp/pwned"

    m=$(get_manifest unknown-media)
    assert_equal "$(jq -r '.layers[0].mediaType' <<<"$m")" application/x-unknown mediaType

    m=$(get_manifest bad-diffid)
    d=$(jq -r .config.digest <<<"$m")
    run curl -sS -f "$r/v2/bad-diffid/blobs/$d"
    assert_output_not_contains "$(jq -r '.rootfs.diff_ids[0]' \
        "$(layout_blob "$TEST_IMAGES_DIR/busybox" "$(test_image_config_digest busybox)")")"

    m=$(get_manifest missing-blob)
    run curl -s -o /dev/null -w '%{http_code}' \
        "$r/v2/missing-blob/blobs/$(jq -r '.layers[1].digest' <<<"$m")"
    assert_output 404

    run curl -sS -f -D - -o /dev/null -H "$accept_all" "$r/v2/schema1/manifests/latest"
    assert_line --partial "application/vnd.docker.distribution.manifest.v1+prettyjws"
    run skopeo inspect --tls-verify=false "docker://$REGISTRY_PLAIN/schema1:latest"
    assert_success
    run curl -s -o /dev/null -w '%{http_code}' -H "$accept_all" "$r/v2/huge-manifest/manifests/latest"
    assert_output 404
}

@test "harness: fake registry serves huge-manifest and the hostile set" {
    skip_if_no_registry fake
    local r=http://$REGISTRY_FAKE
    run curl -sS -o /dev/null -w '%{http_code}' "$r/v2/"
    assert_output 200
    curl -sS -f -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/m" "$r/v2/huge-manifest/manifests/latest"
    (($(stat -c %s "$BATS_TEST_TMPDIR/m") > 4 * 1024 * 1024))
    run cat "$BATS_TEST_TMPDIR/h"
    assert_line --partial "Docker-Content-Digest: sha256:$(sha256sum "$BATS_TEST_TMPDIR/m" | cut -d' ' -f1)"
    assert_line --partial "Content-Type: application/vnd.oci.image.manifest.v1+json"
    local m d
    m=$(cat "$BATS_TEST_TMPDIR/m")
    d=$(jq -r '.layers[0].digest' <<<"$m")
    run curl -s -I -o /dev/null -w '%{http_code}' "$r/v2/huge-manifest/blobs/$d"
    assert_output 200
    m=$(curl -sS -f "$r/v2/bad-digest/manifests/latest")
    d=$(jq -r '.layers[1].digest' <<<"$m")
    run bash -c "curl -sS -f '$r/v2/bad-digest/blobs/$d' | sha256sum"
    assert_output_not_contains "${d#sha256:}"
    run curl -s -o /dev/null -w '%{http_code}' "$r/v2/no-such/manifests/latest"
    assert_output 404
    run curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "$r/v2/x/manifests/latest"
    assert_output 405
    run grep -c '"path": "/v2/huge-manifest/manifests/latest"' "$REGISTRY_FAKE_LOG"
    assert_output 1
}

@test "harness: start_registry and stop_registry manage an extra registry" {
    skip_if_no_registry plain
    start_registry extra-one plain
    [[ $REGISTRY_EXTRA_ONE == 127.0.0.1:* ]]
    local pid
    pid=$(<"$REGISTRY_EXTRA_ONE_DIR/registry.pid")
    run curl -sS -o /dev/null -w '%{http_code}' "http://$REGISTRY_EXTRA_ONE/v2/"
    assert_output 200
    push_test_images "$REGISTRY_EXTRA_ONE" "" busybox
    # delete is enabled
    run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
        "http://$REGISTRY_EXTRA_ONE/v2/busybox/manifests/$(test_image_digest busybox)"
    assert_output 202
    stop_registry extra-one
    run registry_alive "$pid"
    assert_failure
    run curl -sS -o /dev/null "http://$REGISTRY_EXTRA_ONE/v2/"
    assert_failure 7
}

@test "harness: registries.conf and auth.json helpers" {
    skip_if_no_registry plain
    run cat "$TEST_REGISTRIES_CONF"
    assert_line "location = \"$REGISTRY_PLAIN\""
    assert_line "insecure = true"
    write_auth_json "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_BASIC"
    run skopeo inspect --raw --tls-verify=false --authfile "$BATS_TEST_TMPDIR/auth.json" \
        "docker://$REGISTRY_BASIC/busybox:latest"
    assert_success
}

@test "harness: run_berth passes the per-test store and bats run options" {
    local fake=$BATS_TEST_TMPDIR/fake-berth
    printf '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\nexit 3\n' >"$fake"
    chmod +x "$fake"
    BERTH=$fake run_berth -3 images --format '{{.ID}}'
    assert_failure 3
    assert_line --index 0 --root
    assert_line --index 1 "$BATS_TEST_TMPDIR/root"
    assert_line --index 2 --runroot
    assert_line --index 3 "$BATS_TEST_TMPDIR/runroot"
    assert_line --index 4 images
    assert_line --index 6 '{{.ID}}'
    refute_line nothing-like-this
    BERTH_TEST_STORE=/tmp/shared-store BERTH=$fake run_berth images
    assert_line --index 1 /tmp/shared-store/root
    printf '#!/bin/sh\nexec sleep 5\n' >"$fake"
    BERTH_TEST_TIMEOUT=1 BERTH=$fake run_berth version
    assert_failure 124
}

# must_fail CMD...: CMD must return non-zero.  (`! CMD` would not do: bash's
# errexit ignores negated commands, so a test would pass either way.)
must_fail() {
    if "$@" 2>/dev/null; then
        berth_test_fail "expected to fail: $*"
    fi
}

@test "harness: assertions fail when they should" {
    status=1 output="a
b"
    lines=(a b)
    must_fail assert_success
    assert_failure
    assert_failure 1
    must_fail assert_failure 2
    must_fail assert_output_contains zz
    assert_output_contains b
    must_fail assert_output_not_contains b
    must_fail assert_output a
    must_fail assert_line c
    assert_line --partial a
    must_fail assert_line --index 0 b
    assert_line --index 1 b
    must_fail refute_line a
    refute_line c
    must_fail assert_equal x y
    status=0
    assert_success
    must_fail assert_failure
    must_fail must_fail true
}

@test "harness: run_as_test_user runs as berthtest" {
    skip_if_no_test_user
    run run_as_test_user id -un
    assert_success
    assert_output "$BERTH_TEST_USER"
    run run_as_test_user sh -c 'echo $HOME; touch "$1/x" && stat -c %U "$1/x"' sh "$(test_user_tmpdir)"
    assert_line --index 0 "$(getent passwd "$BERTH_TEST_USER" | cut -d: -f6)"
    assert_line --index 1 "$BERTH_TEST_USER"
    run grep "^$BERTH_TEST_USER:" /etc/subuid
    assert_success
    local copy
    copy=$(test_user_copy "$TEST_IMAGES_DIR/busybox")
    run run_as_test_user skopeo inspect --raw "oci:$copy:latest"
    assert_success
}

@test "harness: run_berth_as_test_user runs berth as berthtest with its own store" {
    skip_if_no_test_user
    local d fake
    d=$(test_user_tmpdir)
    fake=$d/fake-berth
    printf '#!/bin/sh\nid -un\nfor a in "$@"; do echo "$a"; done\n' >"$fake"
    chmod 0755 "$fake"
    BERTH_AS_USER=$fake run_berth_as_test_user -0 info
    assert_line --index 0 "$BERTH_TEST_USER"
    assert_line --index 2 "$d/root"
    assert_line --index 4 "$d/runroot"
    assert_line --index 5 info
}
