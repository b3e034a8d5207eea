#!/usr/bin/env bats
# Registry credentials: login, logout, --authfile, --creds, the default
# auth.json and docker's config.json, against the Basic-auth registry and
# the Bearer-token one (whose token server logs every request).

load helpers

setup() {
    skip_if_no_registry basic
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    # hermetic: no credentials of the user running the suite
    export HOME=$BATS_TEST_TMPDIR/home
    mkdir -p "$HOME"
    unset XDG_RUNTIME_DIR XDG_CONFIG_HOME REGISTRY_AUTH_FILE DOCKER_CONFIG
    AUTHFILE=$BATS_TEST_TMPDIR/auth.json
}

busybox_id() {
    local c
    c=$(test_image_config_digest busybox)
    echo "${c#sha256:}"
}

# login_stdin PASSWORD REGISTRY [ARGS...]: login -u testuser --password-stdin
login_stdin() {
    local pass=$1 reg=$2
    shift 2
    run_berth login -u "$REGISTRY_USER" --password-stdin "$@" "$reg" <<<"$pass"
}

# token_log_since N: the token server's requests after the first N lines.
token_log_since() {
    tail -n +"$(($1 + 1))" "$REGISTRY_TOKEN_TOKEN_LOG"
}

token_log_lines() {
    wc -l <"$REGISTRY_TOKEN_TOKEN_LOG"
}

@test "auth: basic registry refuses an anonymous pull" {
    run_berth pull -q "$(test_image_ref busybox "$REGISTRY_BASIC")"
    assert_failure 125
    assert_output_contains "Error: initializing source docker://$REGISTRY_BASIC/busybox:latest"
    assert_output_contains "unauthorized: authentication required"
    run_berth images -q
    assert_output ""
}

@test "auth: login with --authfile, pull, --get-login, logout" {
    local ref
    ref=$(test_image_ref busybox "$REGISTRY_BASIC")
    login_stdin "$REGISTRY_PASS" "$REGISTRY_BASIC" --authfile "$AUTHFILE"
    assert_success
    assert_output "Login Succeeded!"
    assert_equal "$(jq -r --arg r "$REGISTRY_BASIC" '.auths[$r].auth' "$AUTHFILE" | base64 -d)" \
        "$REGISTRY_USER:$REGISTRY_PASS" "stored credentials"
    assert_equal "$(stat -c %a "$AUTHFILE")" 600 "auth.json mode"

    run_berth login --get-login --authfile "$AUTHFILE" "$REGISTRY_BASIC"
    assert_success
    assert_output "$REGISTRY_USER"

    run_berth pull -q --authfile "$AUTHFILE" "$ref"
    assert_success
    assert_output "$(busybox_id)"

    run_berth logout --authfile "$AUTHFILE" "$REGISTRY_BASIC"
    assert_success
    assert_output "Removed login credentials for $REGISTRY_BASIC"
    assert_equal "$(jq -c '.auths' "$AUTHFILE")" '{}' "auths after logout"
    run_berth login --get-login --authfile "$AUTHFILE" "$REGISTRY_BASIC"
    assert_failure 125
    assert_output "Error: not logged into $REGISTRY_BASIC"
    run_berth logout --authfile "$AUTHFILE" "$REGISTRY_BASIC"
    assert_failure 125
    assert_output "Error: not logged into $REGISTRY_BASIC"

    # logged out: the registry refuses again
    run_berth rmi "$ref"
    assert_success
    run_berth pull -q --authfile "$AUTHFILE" "$ref"
    assert_failure 125
    assert_output_contains "unauthorized"
}

@test "auth: login with a wrong password fails and stores nothing" {
    login_stdin "not-$REGISTRY_PASS" "$REGISTRY_BASIC" --authfile "$AUTHFILE"
    assert_failure 125
    assert_output "Error: logging into \"$REGISTRY_BASIC\": invalid username/password"
    if [[ -e $AUTHFILE ]]; then
        assert_equal "$(jq -c '.auths // {}' "$AUTHFILE")" '{}' "auths"
    fi
}

@test "auth: login without a password on stdin or a username is refused" {
    run_berth login --password-stdin --authfile "$AUTHFILE" "$REGISTRY_BASIC" <<<"$REGISTRY_PASS"
    assert_failure 125
    assert_output "Error: must provide --username with --password-stdin"
    run_berth login -u "$REGISTRY_USER" --password-stdin --authfile "$AUTHFILE" \
        "$REGISTRY_BASIC" </dev/null
    assert_failure 125
    assert_output "Error: password is required"
    [[ ! -s $AUTHFILE ]] || berth_test_fail "auth file written: $(cat "$AUTHFILE")"
}

@test "auth: the default auth.json: \$XDG_RUNTIME_DIR, else ~/.config" {
    local ref
    ref=$(test_image_ref busybox "$REGISTRY_BASIC")
    # XDG_RUNTIME_DIR unset (how the suite runs rootless): ~/.config
    login_stdin "$REGISTRY_PASS" "$REGISTRY_BASIC"
    assert_success
    assert_output "Login Succeeded!"
    [[ -f $HOME/.config/containers/auth.json ]] ||
        berth_test_fail "no $HOME/.config/containers/auth.json"
    run_berth pull -q "$ref"
    assert_success
    assert_output "$(busybox_id)"
    run_berth logout "$REGISTRY_BASIC"
    assert_success
    assert_equal "$(jq -c .auths "$HOME/.config/containers/auth.json")" '{}' "after logout"

    export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
    login_stdin "$REGISTRY_PASS" "$REGISTRY_BASIC"
    assert_success
    [[ -f $XDG_RUNTIME_DIR/containers/auth.json ]] ||
        berth_test_fail "no $XDG_RUNTIME_DIR/containers/auth.json"
    assert_equal "$(jq -c .auths "$HOME/.config/containers/auth.json")" '{}' \
        "~/.config untouched"
    run_berth login --get-login "$REGISTRY_BASIC"
    assert_output "$REGISTRY_USER"
    run_berth logout --all
    assert_success
    run_berth login --get-login "$REGISTRY_BASIC"
    assert_failure 125
}

@test "auth: --creds, and wrong --creds" {
    local ref
    ref=$(test_image_ref busybox "$REGISTRY_BASIC")
    run_berth pull -q --creds "$REGISTRY_USER:nope" "$ref"
    assert_failure 125
    assert_output_contains "unauthorized"
    run_berth pull -q --creds "$REGISTRY_USER:$REGISTRY_PASS" "$ref"
    assert_success
    assert_output "$(busybox_id)"
    [[ ! -e $HOME/.config/containers/auth.json ]] || berth_test_fail "--creds were stored"
}

@test "auth: docker's ~/.docker/config.json is read" {
    local ref
    ref=$(test_image_ref busybox "$REGISTRY_BASIC")
    mkdir -p "$HOME/.docker"
    write_auth_json "$HOME/.docker/config.json" "$REGISTRY_BASIC"
    run_berth pull -q "$ref"
    assert_success
    assert_output "$(busybox_id)"
    run_berth login --get-login "$REGISTRY_BASIC"
    assert_success
    assert_output "$REGISTRY_USER"

    # docker's "https://HOST/v1/"-style key names the same registry
    jq -n --arg r "https://$REGISTRY_BASIC/v1/" \
        --arg a "$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASS" | base64 -w0)" \
        '{auths: {($r): {auth: $a}}}' >"$HOME/.docker/config.json"
    berth_cmd rmi "$ref" >/dev/null
    run_berth pull -q "$ref"
    assert_success
    assert_output "$(busybox_id)"
}

@test "auth: token registry: refused anonymously, pulls after login" {
    skip_if_no_registry token
    local ref n
    ref=$(test_image_ref busybox "$REGISTRY_TOKEN")
    n=$(token_log_lines)
    run_berth pull -q "$ref"
    assert_failure 125
    assert_output_contains "unauthorized"
    # anonymous: the realm was asked for the pull scope, without credentials
    token_log_since "$n" | jq -e -s \
        'any(.[]; .scopes == ["repository:busybox:pull"] and .credentials == false)' >/dev/null ||
        berth_test_fail "no anonymous token request:" "$(token_log_since "$n")"

    login_stdin "$REGISTRY_PASS" "$REGISTRY_TOKEN" --authfile "$AUTHFILE"
    assert_success
    assert_output "Login Succeeded!"

    n=$(token_log_lines)
    run_berth pull -q --authfile "$AUTHFILE" "$ref"
    assert_success
    assert_output "$(busybox_id)"
    # the Basic credentials went to the realm, which granted pull
    token_log_since "$n" | jq -e -s --arg u "$REGISTRY_USER" \
        'any(.[]; .scopes == ["repository:busybox:pull"] and .credentials and .user == $u
             and .result == 200 and .granted[0].actions == ["pull"])' >/dev/null ||
        berth_test_fail "no token request with credentials:" "$(token_log_since "$n")"
}

@test "auth: token registry: wrong credentials fail login and pull" {
    skip_if_no_registry token
    local n
    n=$(token_log_lines)
    login_stdin "wrong" "$REGISTRY_TOKEN" --authfile "$AUTHFILE"
    assert_failure 125
    assert_output "Error: logging into \"$REGISTRY_TOKEN\": invalid username/password"
    token_log_since "$n" | jq -e -s '.[-1].credentials and .[-1].result == 401' >/dev/null ||
        berth_test_fail "token server did not refuse:" "$(token_log_since "$n")"
    run_berth pull -q --creds "$REGISTRY_USER:wrong" "$(test_image_ref busybox "$REGISTRY_TOKEN")"
    assert_failure 125
    assert_output_contains "unauthorized"
}

@test "auth: token registry: public/ repositories pull anonymously" {
    skip_if_no_registry token
    local n
    n=$(token_log_lines)
    run_berth pull -q "$REGISTRY_TOKEN/public/busybox"
    assert_success
    assert_output "$(busybox_id)"
    token_log_since "$n" | jq -e -s \
        'any(.[]; .scopes == ["repository:public/busybox:pull"] and .credentials == false
             and .granted[0].name == "public/busybox")' >/dev/null ||
        berth_test_fail "no anonymous public token:" "$(token_log_since "$n")"
}
