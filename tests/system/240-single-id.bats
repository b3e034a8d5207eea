#!/usr/bin/env bats
# A user with no subordinate ids (common on HPC hosts): berth falls back to
# a single-id user namespace, says so with the fix, and still pulls and
# runs images whose files belong to other owners (squashed to the user).
# Needs root to act as that user (tests/lib/setup-user.sh creates it).

load helpers

SOLO=${BERTH_TEST_SOLO_USER:-berthsolo}

setup() {
    skip_if_no_registry
    skip_if_not_root
    id "$SOLO" >/dev/null 2>&1 || skip "no user $SOLO (run tests/lib/setup-user.sh)"
    ! grep -q "^$SOLO:" /etc/subuid || skip "$SOLO has subordinate ids"
    # everything the user needs, readable by it
    W=$(mktemp -d /tmp/berth-solo.XXXXXX)
    cp "$BERTH" "$(dirname "$BERTH")"/berth-{monitor,runtime,init} "$W/" 2>/dev/null || true
    cp "$TEST_REGISTRIES_CONF" "$W/registries.conf"
    chown -R "$SOLO" "$W"
    chmod -R a+rX "$W"
}

teardown() {
    [[ -n ${W:-} ]] || return 0
    solo_berth rm -af >/dev/null 2>&1 || true
    rm -rf "$W"
}

solo_berth() {
    runuser -u "$SOLO" -- env -i PATH=/usr/bin:/bin HOME="$W" \
        CONTAINERS_REGISTRIES_CONF="$W/registries.conf" \
        timeout 120 "$W/berth" --root "$W/root" --runroot "$W/run" "$@"
}

@test "single id: a warning with the fix, and images with other owners still run" {
    run solo_berth pull -q "$(test_image_ref layered)"
    assert_success
    assert_output_contains "no subuid/subgid ranges for user \"$SOLO\""
    assert_output_contains "usermod --add-subuids"
    run solo_berth run --rm "$(test_image_ref layered)" sh -c 'id -u; cat /proc/self/uid_map; stat -c "%u:%g" /owned/user-file /owned/nobody-file'
    assert_success
    # container root is the user, and only the user: one mapping line
    assert_line "0"
    local line
    line=$(grep -E '^ +0 +[0-9]+ +1$' <<<"$output") || berth_test_fail "no single-id uid_map: $output"
    # files of 1000 and 65534 in the image belong to the user (0 inside)
    assert_line "0:0"
    refute_line "1000:1000"
}
