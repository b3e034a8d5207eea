#!/usr/bin/env bats
# Parallel invocations and killed pulls: berth keeps no global database, so
# pulls sharing layers run at once, and a pull killed at any moment leaves
# only debris that the next command removes (DESIGN.md, "Many invocations
# at once").

load helpers

# A ~120 MB image (busybox + 3 layers of 40 MB of incompressible data) on a
# registry of this file's own, built and pushed once.
setup_file() {
    [[ ${BERTH_TEST_REGISTRIES:-1} != 0 ]] || return 0
    build_big_image "$BATS_FILE_TMPDIR/big" 120 3 || return
    start_registry conc plain || return
    skopeo copy --quiet --dest-tls-verify=false --preserve-digests \
        "oci:$BATS_FILE_TMPDIR/big:latest" "docker://$REGISTRY_CONC/big:latest" ||
        return
    export BIG_REF=$REGISTRY_CONC/big:latest BIG_ID
    BIG_ID=$(jq -r '.manifests[0].digest' "$BATS_FILE_TMPDIR/big/index.json") &&
        BIG_ID=$(jq -r .config.digest \
            "$BATS_FILE_TMPDIR/big/blobs/sha256/${BIG_ID#sha256:}") || return
    rm -rf "$BATS_FILE_TMPDIR/big"
}

teardown_file() {
    stop_registry conc
}

setup() {
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    # each test stays well under a minute; a hung berth fails it
    BERTH_TEST_TIMEOUT=50
}

# assert_no_partial_state: after a failed or killed pull.  The first
# command (images) is "the next command" that clears ROOT/tmp.
assert_no_partial_state() {
    local root d name blob
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
        [[ $name =~ ^[0-9a-f]{64}$ && -f $d/layer.json && -d $d/diff ]] ||
            berth_test_fail "partial layer in ROOT/layers: $name" \
                "$(ls -la "$d")" || return
    done
    for blob in "$root"/blobs/sha256/*; do
        [[ -e $blob ]] || continue
        name=${blob##*/}
        assert_equal "$(sha256sum "$blob" | cut -d' ' -f1)" "$name" \
            "sha256 of blob $name" || return
    done
}

# Events to kill a pull at (ROOT as $1).
# A temporary file in ROOT/tmp over 1 MB: a big layer downloading.
downloading() {
    [[ -n $(find "$1/tmp" -maxdepth 1 -type f ! -name '*.lock' -size +1M 2>/dev/null) ]]
}
# The first layer (busybox's) is in ROOT/layers.
first_layer_done() {
    compgen -G "$1/layers/*/layer.json" >/dev/null
}
# A big layer is being unpacked in ROOT/tmp.
unpacking_big() {
    compgen -G "$1/tmp/*/diff/big/layer*.bin" >/dev/null
}

# kill_pull_at EVENT: starts `pull $BIG_REF`, polls (up to 400 x 25 ms)
# for EVENT (a function above), then kills berth with SIGKILL.  Fails when
# the pull ended before EVENT.
kill_pull_at() {
    local store root pid i hit=0
    store=$(berth_store)
    root=$store/root
    "$BERTH" --root "$root" --runroot "$store/runroot" pull -q --tls-verify=false "$BIG_REF" \
        >"$BATS_TEST_TMPDIR/pull.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 400; i++)); do
        if "$1" "$root"; then
            hit=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.025
    done
    kill -KILL "$pid" 2>/dev/null || true
    local rc=0
    wait "$pid" || rc=$?
    ((hit)) || berth_test_fail "no $1 appeared before the pull ended (exit $rc)" \
        "$(cat "$BATS_TEST_TMPDIR/pull.log")" || return
    assert_equal "$rc" 137 "exit status of the killed pull" || return
    # what the dead pull left behind, for the tests to check it is debris
    KILL_DEBRIS=$(ls -A "$root/tmp")
}

# pull_again: the interrupted image pulls completely, with the right id.
pull_again() {
    run_berth pull -q --tls-verify=false "$BIG_REF"
    assert_success
    assert_output "${BIG_ID#sha256:}"
    run ls "$(berth_store)/root/layers"
    assert_success
    assert_equal "${#lines[@]}" 4 "layers of the big image"
    run ls -A "$(berth_store)/root/tmp"
    assert_output ""
}

@test "concurrency: two pulls sharing the busybox layer succeed, the layer is stored once" {
    skip_if_no_registry
    local it s pa pb ra rb root d bb_layer
    bb_layer=$(jq -r '.rootfs.diff_ids[0]' "$TEST_IMAGES_DIR/busybox/blobs/sha256/$(
        test_image_config_digest busybox | cut -d: -f2)")
    for it in 1 2 3; do
        s=$BATS_TEST_TMPDIR/s$it
        mkdir -p "$s"
        BERTH_TEST_STORE=$s berth_cmd pull -q "$(test_image_ref busybox)" \
            >"$s/a.log" 2>&1 &
        pa=$!
        BERTH_TEST_STORE=$s berth_cmd pull -q "$(test_image_ref layered)" \
            >"$s/b.log" 2>&1 &
        pb=$!
        ra=0 rb=0
        wait "$pa" || ra=$?
        wait "$pb" || rb=$?
        assert_equal "$ra $rb" "0 0" "exit status of the two pulls (iteration $it): $(cat "$s/a.log" "$s/b.log")"
        assert_equal "$(cat "$s/a.log")" \
            "$(test_image_config_digest busybox | cut -d: -f2)" "busybox id"
        assert_equal "$(cat "$s/b.log")" \
            "$(test_image_config_digest layered | cut -d: -f2)" "layered id"
        root=$s/root
        # busybox's layer is layered's bottom layer: 4 chain ids in all
        run ls "$root/layers"
        assert_success
        assert_equal "${#lines[@]}" 4 "layer dirs (iteration $it): $output"
        assert_line "${bb_layer#sha256:}"
        for d in "$root"/layers/*; do
            [[ -f $d/layer.json ]] || berth_test_fail "no $d/layer.json" || return
        done
        BERTH_TEST_STORE=$s run_berth images -q
        assert_success
        assert_equal "${#lines[@]}" 2 "images (iteration $it)"
        run ls -A "$root/tmp"
        assert_output ""
    done
}

@test "concurrency: a pull killed while downloading leaves no partial state" {
    skip_if_no_registry
    kill_pull_at downloading
    [[ -n $KILL_DEBRIS ]] || berth_test_fail "the killed pull left no download in ROOT/tmp"
    assert_no_partial_state
    pull_again
}

@test "concurrency: a pull killed after its first layer is unpacked leaves no partial state" {
    skip_if_no_registry
    kill_pull_at first_layer_done
    assert_no_partial_state
    run ls "$(berth_store)/root/layers"
    assert_success
    pull_again
}

@test "concurrency: a pull killed while unpacking a big layer leaves no partial state" {
    skip_if_no_registry
    kill_pull_at unpacking_big
    [[ -n $KILL_DEBRIS ]] || berth_test_fail "the killed pull left no unpack in ROOT/tmp"
    assert_no_partial_state
    pull_again
}

@test "concurrency: 10 parallel images, a pull and an rmi all succeed" {
    skip_if_no_registry
    local t=$BATS_TEST_TMPDIR i rc
    local -a pids=() names=()
    berth_cmd pull -q "$(test_image_ref busybox)" >/dev/null
    for i in $(seq 1 10); do
        berth_cmd images >"$t/images.$i" 2>&1 &
        pids+=($!)
        names+=("images.$i")
    done
    berth_cmd pull -q "$(test_image_ref layered)" >"$t/pull" 2>&1 &
    pids+=($!)
    names+=(pull)
    berth_cmd rmi "$(test_image_ref busybox)" >"$t/rmi" 2>&1 &
    pids+=($!)
    names+=(rmi)
    for i in "${!pids[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        assert_equal "$rc" 0 "exit status of ${names[$i]}: $(cat "$t/${names[$i]}")"
        run grep -l Error "$t/${names[$i]}"
        assert_failure
    done
    assert_equal "$(cat "$t/pull")" "$(test_image_config_digest layered | cut -d: -f2)" \
        "pulled id"
    assert_equal "$(cat "$t/rmi")" \
        "Untagged: $(test_image_ref busybox)
Deleted: $(test_image_config_digest busybox | cut -d: -f2)" "rmi output"
    run_berth images -q --no-trunc
    assert_success
    assert_output "$(test_image_config_digest layered)"
    run_berth image exists "$(test_image_ref busybox)"
    assert_failure 1
}

@test "concurrency: debris of killed writers is removed, live writers' files are kept" {
    local root fd hex
    root=$(berth_store)/root
    berth_cmd images -q >/dev/null
    hex=$(printf 'x' | sha256sum | cut -d' ' -f1)
    # a killed blob download / unpack: ROOT/tmp/NAME and an unlocked NAME.lock
    mkdir "$root/tmp/deadAA" && touch "$root/tmp/deadAA/part" "$root/tmp/deadAA.lock"
    # a killed atomic write of a record and of a blob (fs_write_file_atomic)
    printf '{"id":' >"$root/images/$hex.json.tmp-dead01"
    printf 'half' >"$root/blobs/sha256/$hex.tmp-dead02"
    # a live writer of each kind: locked by this shell
    mkdir "$root/tmp/liveBB" && touch "$root/tmp/liveBB.lock"
    printf 'half' >"$root/images/$hex.json.tmp-live01"
    exec {fd}<"$root/tmp/liveBB.lock"
    flock -x "$fd"
    exec {fd2}<"$root/images/$hex.json.tmp-live01"
    flock -x "$fd2"

    run_berth images -q
    assert_success
    assert_output ""
    run ls -A "$root/tmp" "$root/images" "$root/blobs/sha256"
    assert_success
    refute_line --partial dead
    assert_line "liveBB"
    assert_line "liveBB.lock"
    assert_line "$hex.json.tmp-live01"

    exec {fd}<&- {fd2}<&-
    run_berth images -q
    assert_success
    run ls -A "$root/tmp" "$root/images"
    refute_line --partial live
}
