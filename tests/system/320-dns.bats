#!/usr/bin/env bats
# DNS inside containers, against a resolver on the host's loopback only
# (tests/lib/dns-server.sh: dnsmasq on 127.0.0.1:53 answering
# dns-test.berth.internal with 10.1.2.3, started by `make check` as root,
# or here when the suite runs as root).

load helpers

DNS=$BATS_TEST_DIRNAME/../lib/dns-server.sh

setup_file() {
    if ! "$DNS" check && [[ $(id -u) -eq 0 ]] && command -v dnsmasq >/dev/null; then
        "$DNS" start && touch "$BATS_FILE_TMPDIR/started-dns"
    fi
    return 0
}

teardown_file() {
    [[ -e $BATS_FILE_TMPDIR/started-dns ]] && "$DNS" stop
    return 0
}

setup() {
    skip_if_no_registry
    command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
    "$DNS" check || skip "no test resolver on 127.0.0.1:53 (make check starts one as root)"
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
}

@test "dns: --dns 10.0.2.2 reaches a resolver on the host's loopback (allow_host_loopback)" {
    run_berth run --rm --network slirp4netns:allow_host_loopback=true --dns 10.0.2.2 \
        "$IMG" sh -c 'cat /etc/resolv.conf; nslookup -type=a dns-test.berth.internal'
    assert_success
    assert_line "nameserver 10.0.2.2"
    assert_line "Address: 10.1.2.3"
    # without the host's loopback, that resolver is out of reach
    run_berth run --rm --dns 10.0.2.2 "$IMG" nslookup -type=a -timeout=2 dns-test.berth.internal
    assert_output_not_contains "Address: 10.1.2.3"
}

@test "dns: the default resolv.conf sends queries to slirp4netns's resolver, which asks the host's" {
    skip_if_not_root # a private /etc/resolv.conf for the host side needs a mount namespace
    printf 'nameserver 127.0.0.1\nsearch example.test\n' >"$BATS_TEST_TMPDIR/resolv.conf"
    run unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
        "$BATS_TEST_TMPDIR/resolv.conf" "$BERTH" --root "$(berth_store)/root" \
        --runroot "$(berth_store)/runroot" run --rm --network slirp4netns "$IMG" \
        sh -c 'cat /etc/resolv.conf; nslookup -type=a dns-test.berth.internal'
    assert_success
    # the host's loopback server cannot work from the container: dropped
    assert_line --index 0 "search example.test"
    assert_line --index 1 "nameserver 10.0.2.3"
    refute_line "nameserver 127.0.0.1"
    assert_line "Address: 10.1.2.3"
}
