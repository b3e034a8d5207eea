#!/usr/bin/env bats
# Transfer progress: on a terminal pull and push draw a line per blob (a
# bar while it moves, then "done" or "skipped: already exists"); without a
# terminal they print podman's plain lines; with -q only the id.

load helpers

setup() {
    skip_if_no_registry
    command -v script >/dev/null || skip "script(1) (util-linux) not installed"
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
}

teardown() {
    berth_cmd system reset -f >/dev/null 2>&1 || true
}

# in_pty CMD...: run CMD with a pseudo-terminal as its stdio (script(1)),
# capturing what the terminal showed.
in_pty() {
    local cmd
    printf -v cmd '%q ' "$@"
    run timeout 120 script -qec "TERM=xterm $cmd" /dev/null
}

store_args() {
    local s=${BERTH_TEST_STORE:-$BATS_TEST_TMPDIR}
    echo "--root $s/root --runroot $s/runroot"
}

@test "progress: a pull on a terminal draws a line per blob and ends each with done" {
    local layers
    # shellcheck disable=SC2046
    in_pty "$BERTH" $(store_args) pull "$REGISTRY_PLAIN/layered"
    assert_success
    layers=$(jq -r '.layers[].digest' \
        "$TEST_IMAGES_DIR/layered/blobs/sha256/$(test_image_digest layered | cut -d: -f2)")
    for d in $layers; do
        d=${d#sha256:}
        [[ $output == *"Copying blob ${d:0:12} done"* ]] ||
            berth_test_fail "no 'done' line for blob ${d:0:12}" "$output"
    done
    # the live view redraws with cursor movement: it is a terminal display,
    # not the plain lines scripts get
    [[ $output == *$'\033['* ]] || berth_test_fail "no terminal redraw" "$output"
    assert_output_contains "Writing manifest to image destination"
}

@test "progress: a second pull on a terminal shows the blobs as skipped" {
    berth_cmd pull -q "$REGISTRY_PLAIN/busybox" >/dev/null
    # shellcheck disable=SC2046
    in_pty "$BERTH" $(store_args) pull "$REGISTRY_PLAIN/busybox"
    assert_success
    assert_output_contains "skipped: already exists"
}

@test "progress: -q on a terminal prints only the image id" {
    local id
    id=$(test_image_config_digest busybox)
    # shellcheck disable=SC2046
    in_pty "$BERTH" $(store_args) pull -q "$REGISTRY_PLAIN/busybox"
    assert_success
    # script(1) turns the newline into CR LF
    assert_equal "${output//$'\r'/}" "${id#sha256:}" "terminal output of pull -q"
}

@test "progress: without a terminal pull prints podman's plain lines" {
    run_berth --separate-stderr pull "$REGISTRY_PLAIN/busybox"
    assert_success
    [[ $stderr != *$'\033'* ]] || berth_test_fail "escape codes without a terminal" "$stderr"
    [[ $stderr == *"Copying blob sha256:"* ]] || berth_test_fail "stderr: $stderr"
}
