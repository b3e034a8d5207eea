#!/usr/bin/env bats
# TLS: a registry whose certificate comes from a CA the system does not
# trust is refused, and accepted with --cert-dir, a certs.d directory,
# --tls-verify=false or insecure = true in registries.conf.

load helpers

setup() {
    skip_if_no_registry tls
    # hermetic: no registries.conf (the host's would apply otherwise) and
    # a HOME of the test's own for ~/.config/containers/certs.d
    CONF=$BATS_TEST_TMPDIR/registries.conf
    printf 'unqualified-search-registries = []\n' >"$CONF"
    export CONTAINERS_REGISTRIES_CONF=$CONF
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset XDG_CONFIG_HOME
    REF=$(test_image_ref busybox "$REGISTRY_TLS")
    ID=$(test_image_config_digest busybox)
    ID=${ID#sha256:}
}

teardown() {
    if [[ -n ${ETC_CERTS:-} ]]; then
        rm -rf "$ETC_CERTS"
    fi
    if [[ -n ${ETC_CERTS_D_MADE:-} ]]; then
        rmdir "$ETC_CERTS_D_MADE" 2>/dev/null || true
    fi
}

# refused: the verification failure, named as podman users know it
assert_untrusted() {
    assert_failure 125
    assert_output_contains "Error: initializing source docker://$REF"
    assert_output_contains "x509: certificate signed by unknown authority"
    assert_output_not_contains "Copying blob"
}

@test "tls: a registry signed by an unknown CA is refused" {
    run_berth pull -q "$REF"
    assert_untrusted
    # the hint names the certs.d directory that would fix it
    assert_output_contains "/etc/containers/certs.d/$REGISTRY_TLS/ca.crt"
    run_berth images -q
    assert_output ""
}

@test "tls: --cert-dir with the CA is accepted; a wrong CA is not" {
    local other=$BATS_TEST_TMPDIR/other-ca
    run_berth pull -q --cert-dir "$REGISTRY_TLS_CERT_DIR" "$REF"
    assert_success
    assert_output "$ID"

    # a directory with some other CA: still refused
    mkdir "$other"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=not it" \
        -keyout "$other/key.pem" -out "$other/ca.crt" 2>/dev/null
    rm "$other/key.pem"
    export BERTH_TEST_STORE=$BATS_TEST_TMPDIR/second
    run_berth pull -q --cert-dir "$other" "$REF"
    assert_untrusted
}

@test "tls: ~/.config/containers/certs.d/HOST:PORT/ca.crt is read" {
    mkdir -p "$HOME/.config/containers/certs.d"
    cp -r "$REGISTRY_TLS_CERTS_D/$REGISTRY_TLS" "$HOME/.config/containers/certs.d/"
    run_berth pull -q "$REF"
    assert_success
    assert_output "$ID"
    # another port's directory does not count
    rm -rf "$HOME/.config/containers/certs.d/$REGISTRY_TLS"
    mkdir -p "$HOME/.config/containers/certs.d/127.0.0.1:1"
    cp "$REGISTRY_TLS_CA" "$HOME/.config/containers/certs.d/127.0.0.1:1/ca.crt"
    export BERTH_TEST_STORE=$BATS_TEST_TMPDIR/second
    run_berth pull -q "$REF"
    assert_untrusted
}

@test "tls: /etc/containers/certs.d/HOST:PORT/ca.crt is read" {
    skip_if_not_root
    [[ ! -e /etc/containers/certs.d/$REGISTRY_TLS ]] ||
        skip "/etc/containers/certs.d/$REGISTRY_TLS exists already"
    [[ -d /etc/containers/certs.d ]] || ETC_CERTS_D_MADE=/etc/containers/certs.d
    ETC_CERTS=/etc/containers/certs.d/$REGISTRY_TLS
    mkdir -p "$ETC_CERTS"
    cp "$REGISTRY_TLS_CA" "$ETC_CERTS/ca.crt"
    run_berth pull -q "$REF"
    assert_success
    assert_output "$ID"
}

@test "tls: --tls-verify=false accepts the registry" {
    run_berth pull -q --tls-verify=false "$REF"
    assert_success
    assert_output "$ID"
    # and it is only for that command
    berth_cmd rmi "$REF" >/dev/null
    run_berth pull -q "$REF"
    assert_untrusted
}

@test "tls: insecure = true in registries.conf accepts the registry" {
    printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY_TLS" >>"$CONF"
    run_berth pull -q "$REF"
    assert_success
    assert_output "$ID"
    # an explicit --tls-verify=true wins over the configuration
    berth_cmd rmi "$REF" >/dev/null
    run_berth pull -q --tls-verify=true "$REF"
    assert_untrusted
}
