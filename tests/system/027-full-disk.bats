#!/usr/bin/env bats
# A full disk in the middle of a pull: a clear error naming what could not
# be written, exit 125, and a store that still lists and pulls once there
# is room again.  Needs a small filesystem of its own (tmpfs): root only.

load helpers

setup() {
    skip_if_no_registry
    skip_if_not_root
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    SMALL=$BATS_TEST_TMPDIR/small
    mkdir -p "$SMALL"
    # busybox-static is about 1 MB compressed and 2 MB unpacked
    mount -t tmpfs -o size=1500k tmpfs "$SMALL"
}

teardown() {
    umount "$SMALL" 2>/dev/null || true
}

small_berth() {
    run timeout 120 "$BERTH" --root "$SMALL/root" --runroot "$SMALL/run" "$@"
}

@test "full disk: a pull that runs out of space fails cleanly and the store recovers" {
    small_berth pull -q "$REGISTRY_PLAIN/busybox"
    assert_failure 125
    assert_output_contains "No space left on device"
    small_berth images -q
    assert_success
    assert_output ""
    # no half-unpacked layer is visible, and temporary debris is gone
    run find "$SMALL/root/layers" -mindepth 1 -maxdepth 1
    assert_output ""
    run find "$SMALL/root/tmp" -mindepth 1
    assert_output ""
    # with room again, the same store pulls normally
    mount -o remount,size=64m "$SMALL"
    small_berth pull -q "$REGISTRY_PLAIN/busybox"
    assert_success
    assert_output "$(test_image_config_digest busybox | cut -d: -f2)"
    small_berth images --format '{{.Repository}}'
    assert_output "$REGISTRY_PLAIN/busybox"
}
