# helpers.bash: shared by every tests/system/*.bats (`load helpers`) and by
# setup_suite.bash.  One registry set and one image set per `bats` run.
#
# Running berth
#   run_berth [RUNOPT] ARGS...   bats `run` of berth with this test's store:
#                                berth --root S/root --runroot S/runroot ARGS
#                                where S=${BERTH_TEST_STORE:-$BATS_TEST_TMPDIR}
#                                (set BERTH_TEST_STORE, e.g. in setup_file to
#                                $BATS_FILE_TMPDIR, to share a store).
#                                RUNOPT: bats' `-N`, `!`, --separate-stderr.
#                                Bounded by timeout $BERTH_TEST_TIMEOUT
#                                (default 300 s; status 124 when it fires).
#   berth_cmd ARGS...            the same without `run` (for setup steps;
#                                fails the test when berth fails)
#   run_as_test_user CMD...      CMD as the rootless user berthtest with a
#                                clean environment (HOME, USER, PATH, LANG)
#   run_berth_as_test_user [RUNOPT] ARGS...
#                                `run` berth as berthtest with a store of its
#                                own ($(test_user_tmpdir)/root, /runroot)
#   test_user_tmpdir             this test's directory owned by berthtest
#   test_user_copy SRC           copy SRC there (chowned), print its path
#
# Assertions (after run / run_berth)
#   assert_success, assert_failure [STATUS], assert_output EXACT,
#   assert_output_contains STR, assert_output_not_contains STR,
#   assert_line [--index N] [--partial] STR, refute_line [--partial] STR,
#   assert_equal ACTUAL EXPECTED [WHAT], berth_test_fail MSG...
#
# Skips
#   skip_if_not_root, skip_if_root, skip_if_no_test_user,
#   skip_if_no_registry [NAME]
#
# Images (built by setup_suite from busybox-static, tests/lib/mkimage.sh)
#   TEST_IMAGES_DIR/{busybox,layered,multiarch,zstd}: OCI layouts, tag latest
#   TEST_HOSTILE_DIR/NAME: hostile images (tests/lib/mkhostile.py)
#   test_image_ref NAME [REGISTRY]          REGISTRY/NAME:latest ($REGISTRY_PLAIN)
#   test_image_digest NAME [ARCH]           manifest digest (multiarch: the
#                                           index's, or ARCH's manifest)
#   test_image_config_digest NAME [ARCH]    config digest (the image ID)
#   TEST_HOST_ARCH, TEST_OTHER_ARCH         OCI arch names of multiarch
#   mkimage_oci_archive LAYOUT OUT.tar      an oci-archive of a layout
#
# Registries (started by setup_suite, tests/lib/registry.sh)
#   REGISTRY_PLAIN   http, no auth; all test images and hostile images
#   REGISTRY_BASIC   http, htpasswd basic auth; busybox
#   REGISTRY_TOKEN   http, bearer tokens from tests/lib/token-server.py;
#                    busybox and public/busybox (anonymous pull allowed)
#   REGISTRY_TLS     https (REGISTRY_TLS_CA, REGISTRY_TLS_CERT_DIR,
#                    REGISTRY_TLS_CERTS_D), no auth; busybox
#   REGISTRY_FAKE    tests/lib/fake-registry.py serving TEST_HOSTILE_DIR
#                    (the only home of huge-manifest)
#   REGISTRY_USER / REGISTRY_PASS   testuser / testpass
#   TEST_REGISTRIES_CONF   registries.conf marking the http ones insecure
#   write_auth_json FILE REGISTRY [USER [PASS]]   an auth.json for it
#   plus, per registry, the *_URL, *_DIR, *_STORAGE, *_LOG, ... variables
#   documented in tests/lib/registry.sh.
# BERTH_TEST_REGISTRIES=0 in the environment skips starting registries.

BERTH_TEST_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH_TEST_LIB=$BERTH_TEST_REPO/tests/lib
BERTH=${BERTH:-$BERTH_TEST_REPO/berth}
BERTH_TEST_USER=${BERTH_TEST_USER:-berthtest}
BERTH_TEST_TIMEOUT=${BERTH_TEST_TIMEOUT:-300}
export BERTH BERTH_TEST_USER

# shellcheck source=tests/lib/registry.sh
source "$BERTH_TEST_LIB/registry.sh"
# shellcheck source=tests/lib/mkimage.sh
source "$BERTH_TEST_LIB/mkimage.sh"

if declare -F bats_require_minimum_version >/dev/null; then
    # run -N and run ! need >= 1.5; saying so silences warning BW02.
    bats_require_minimum_version 1.5.0
fi

# --- running berth ---------------------------------------------------------

berth_store() {
    echo "${BERTH_TEST_STORE:-${BATS_TEST_TMPDIR:?not in a bats test}}"
}

berth_require_binary() {
    [[ -x ${1:-$BERTH} ]] && return 0
    berth_test_fail "no berth binary at ${1:-$BERTH}: run make (or set BERTH)"
}

berth_cmd() {
    local store
    berth_require_binary || return 127
    store=$(berth_store) || return
    timeout -k 10 "$BERTH_TEST_TIMEOUT" "$BERTH" \
        --root "$store/root" --runroot "$store/runroot" "$@"
}

# berth_split_runopts ARGS...: sets the arrays berth_runopts (bats `run`'s
# own options) and berth_args (the rest).
berth_split_runopts() {
    berth_runopts=()
    while (($#)); do
        case $1 in
        '!' | -[0-9] | -[0-9][0-9] | -[0-9][0-9][0-9] | --separate-stderr | --keep-empty-lines)
            berth_runopts+=("$1")
            shift
            ;;
        *) break ;;
        esac
    done
    berth_args=("$@")
}

run_berth() {
    berth_require_binary || return
    berth_split_runopts "$@"
    run "${berth_runopts[@]}" berth_cmd "${berth_args[@]}"
}

# --- the rootless test user --------------------------------------------------

test_user_exists() {
    id "$BERTH_TEST_USER" >/dev/null 2>&1
}

run_as_test_user() {
    local home
    home=$(getent passwd "$BERTH_TEST_USER" | cut -d: -f6) ||
        { berth_test_fail "no user $BERTH_TEST_USER: run tests/lib/setup-user.sh"; return 1; }
    runuser -u "$BERTH_TEST_USER" -- env -i HOME="$home" \
        USER="$BERTH_TEST_USER" LOGNAME="$BERTH_TEST_USER" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 TMPDIR=/tmp "$@"
}

# This test's directory, owned by the test user (bats' own temp dirs are
# root's, mode 0700).  Under BERTH_TEST_USER_TMPDIR, made by setup_suite.
test_user_tmpdir() {
    local d=${BERTH_TEST_USER_TMPDIR:?no test user dir: skip_if_no_test_user first}
    d=$d/t${BATS_SUITE_TEST_NUMBER:-0}
    if [[ ! -d $d ]]; then
        install -d -m 0700 -o "$BERTH_TEST_USER" -g "$BERTH_TEST_USER" "$d" || return
    fi
    echo "$d"
}

# test_user_copy SRC: copies SRC (file or directory) into this test's
# test-user directory, owned by the test user, and prints the copy's path:
# bats' temp dirs (TEST_IMAGES_DIR too) are root-only.
test_user_copy() {
    local d
    d=$(test_user_tmpdir) || return
    cp -a "$1" "$d/" && chown -R "$BERTH_TEST_USER:" "$d/${1##*/}" || return
    echo "$d/${1##*/}"
}

berth_as_user_cmd() {
    local d
    d=$(test_user_tmpdir) || return
    run_as_test_user timeout -k 10 "$BERTH_TEST_TIMEOUT" \
        "${BERTH_AS_USER:-$BERTH}" --root "$d/root" --runroot "$d/runroot" "$@"
}

run_berth_as_test_user() {
    berth_require_binary "${BERTH_AS_USER:-$BERTH}" || return
    berth_split_runopts "$@"
    run "${berth_runopts[@]}" berth_as_user_cmd "${berth_args[@]}"
}

# --- assertions ----------------------------------------------------------------

berth_test_fail() {
    {
        echo "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
        local line l
        for line in "$@"; do
            while IFS= read -r l; do echo "#| $l"; done <<<"$line"
        done
        echo "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"
    } >&2
    return 1
}

assert_success() {
    [[ ${status:?no run before assert_success} -eq 0 ]] && return 0
    berth_test_fail "expected success, got exit status $status" \
        "output:" "${output-}"
}

assert_failure() {
    if (($#)); then
        [[ ${status:?} -eq $1 ]] && return 0
        berth_test_fail "expected exit status $1, got $status" "output:" "${output-}"
    else
        [[ ${status:?} -ne 0 ]] && return 0
        berth_test_fail "expected failure, got exit status 0" "output:" "${output-}"
    fi
}

assert_output() {
    [[ ${output-} == "$1" ]] && return 0
    berth_test_fail "output differs" "expected:" "$1" "actual:" "${output-}"
}

assert_output_contains() {
    [[ ${output-} == *"$1"* ]] && return 0
    berth_test_fail "output does not contain: $1" "output:" "${output-}"
}

assert_output_not_contains() {
    [[ ${output-} != *"$1"* ]] && return 0
    berth_test_fail "output contains: $1" "output:" "${output-}"
}

# assert_line [--index N] [--partial] STR: some line (or line N, from 0) of
# the output equals STR (contains it with --partial).
assert_line() {
    local index="" partial=0 want i
    while (($#)); do
        case $1 in
        --index) index=$2; shift 2 ;;
        --partial) partial=1; shift ;;
        *) break ;;
        esac
    done
    want=$1
    if [[ -n $index ]]; then
        berth_line_matches "${lines[$index]-}" "$want" "$partial" && return 0
        berth_test_fail "line $index is not '$want'" "line $index: ${lines[$index]-<none>}" \
            "output:" "${output-}"
        return
    fi
    for ((i = 0; i < ${#lines[@]}; i++)); do
        berth_line_matches "${lines[$i]}" "$want" "$partial" && return 0
    done
    berth_test_fail "no line $( ((partial)) && echo containing || echo equal to) '$want'" \
        "output:" "${output-}"
}

refute_line() {
    local partial=0 i
    [[ ${1-} == --partial ]] && { partial=1; shift; }
    for ((i = 0; i < ${#lines[@]}; i++)); do
        if berth_line_matches "${lines[$i]}" "$1" "$partial"; then
            berth_test_fail "unexpected line $i: ${lines[$i]}" "output:" "${output-}"
            return
        fi
    done
}

berth_line_matches() { # LINE WANT PARTIAL
    if (($3)); then [[ $1 == *"$2"* ]]; else [[ $1 == "$2" ]]; fi
}

assert_equal() {
    [[ $1 == "$2" ]] && return 0
    berth_test_fail "${3:-value} differs" "expected: $2" "actual:   $1"
}

# --- skips -------------------------------------------------------------------

skip_if_not_root() {
    [[ $(id -u) -eq 0 ]] || skip "${1:-needs root}"
}

skip_if_root() {
    [[ $(id -u) -ne 0 ]] || skip "${1:-must not run as root}"
}

skip_if_no_test_user() {
    [[ $(id -u) -eq 0 ]] || skip "rootless tests run as root via runuser"
    test_user_exists || skip "no user $BERTH_TEST_USER (run tests/lib/setup-user.sh)"
    grep -q "^$BERTH_TEST_USER:" /etc/subuid 2>/dev/null ||
        skip "$BERTH_TEST_USER has no /etc/subuid range (run tests/lib/setup-user.sh)"
    [[ -n ${BERTH_TEST_USER_TMPDIR:-} ]] || skip "setup_suite made no test user dir"
}

skip_if_no_registry() {
    local var
    var=$(registry_var "${1:-plain}")
    [[ -n ${!var:-} ]] || skip "registry ${1:-plain} not running (BERTH_TEST_REGISTRIES=0?)"
}

# --- images --------------------------------------------------------------------

test_image_ref() { # NAME [REGISTRY]
    echo "${2:-${REGISTRY_PLAIN:?no registry}}/$1:latest"
}

# The manifest of NAME for ARCH: "DIGEST" of the layout's top manifest, or of
# the index entry whose platform.architecture is ARCH.
test_image_digest() { # NAME [ARCH]
    local layout=${TEST_IMAGES_DIR:?}/$1 top
    top=$(jq -r '.manifests[0].digest' "$layout/index.json") || return
    if [[ -z ${2:-} ]]; then
        echo "$top"
        return
    fi
    jq -r --arg a "$2" '.manifests[] | select(.platform.architecture == $a) | .digest' \
        "$layout/blobs/sha256/${top#sha256:}"
}

test_image_config_digest() { # NAME [ARCH]
    local layout=${TEST_IMAGES_DIR:?}/$1 m
    if [[ $1 == multiarch ]]; then
        m=$(test_image_digest "$1" "${2:-$TEST_HOST_ARCH}") || return
    else
        m=$(test_image_digest "$1") || return
    fi
    jq -r '.config.digest' "$layout/blobs/sha256/${m#sha256:}"
}

# write_auth_json FILE REGISTRY [USER [PASS]]: containers-auth.json(5).
write_auth_json() {
    local auth
    auth=$(printf '%s:%s' "${3:-$REGISTRY_USER}" "${4:-$REGISTRY_PASS}" | base64 -w0)
    jq -n --arg r "$2" --arg a "$auth" '{auths: {($r): {auth: $a}}}' >"$1"
}

# --- the suite: setup_suite.bash calls these ---------------------------------

berth_suite_setup() {
    local state=${BATS_SUITE_TMPDIR:?}
    export TEST_HOST_ARCH TEST_OTHER_ARCH TEST_IMAGES_DIR=$state/images \
        TEST_HOSTILE_DIR=$state/hostile
    TEST_HOST_ARCH=$(mkimage_host_arch)
    TEST_OTHER_ARCH=$(mkimage_other_arch)
    build_test_images "$TEST_IMAGES_DIR" || return
    build_hostile_images "$TEST_HOSTILE_DIR" >/dev/null || return
    berth_suite_test_user || return
    [[ ${BERTH_TEST_REGISTRIES:-1} != 0 ]] || return 0
    start_registry plain plain && start_registry basic basic &&
        start_registry token token && start_registry tls tls &&
        start_fake_registry fake "$TEST_HOSTILE_DIR" || return
    push_test_images "$REGISTRY_PLAIN" &&
        push_hostile_images "$REGISTRY_PLAIN" "$TEST_HOSTILE_DIR" \
            "$REGISTRY_PLAIN_STORAGE" &&
        push_test_images "$REGISTRY_BASIC" "$REGISTRY_USER:$REGISTRY_PASS" busybox &&
        push_test_images "$REGISTRY_TOKEN" "$REGISTRY_USER:$REGISTRY_PASS" busybox &&
        skopeo copy --quiet --dest-tls-verify=false --preserve-digests \
            --dest-creds "$REGISTRY_USER:$REGISTRY_PASS" \
            "oci:$TEST_IMAGES_DIR/busybox:latest" \
            "docker://$REGISTRY_TOKEN/public/busybox:latest" &&
        push_test_images "$REGISTRY_TLS" "" busybox || return
    export TEST_REGISTRIES_CONF=$state/registries.conf
    {
        echo 'unqualified-search-registries = []'
        local r
        for r in "$REGISTRY_PLAIN" "$REGISTRY_BASIC" "$REGISTRY_TOKEN" "$REGISTRY_FAKE"; do
            printf '\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$r"
        done
    } >"$TEST_REGISTRIES_CONF"
}

# Root with a test user: a tree it owns for rootless stores, and a berth it
# can execute ($BERTH, else setup-user.sh's copy of the repository).
berth_suite_test_user() {
    [[ $(id -u) -eq 0 ]] && test_user_exists || return 0
    export BERTH_TEST_USER_TMPDIR BERTH_AS_USER=$BERTH
    BERTH_TEST_USER_TMPDIR=$(mktemp -d /tmp/berth-usertest.XXXXXX) || return
    chown "$BERTH_TEST_USER:" "$BERTH_TEST_USER_TMPDIR" || return
    if ! runuser -u "$BERTH_TEST_USER" -- test -x "$BERTH"; then
        local copy
        copy=$(getent passwd "$BERTH_TEST_USER" | cut -d: -f6)/berth/berth
        [[ -x $copy ]] && BERTH_AS_USER=$copy
    fi
    return 0
}

berth_suite_teardown() {
    stop_registries
    if [[ -n ${BERTH_TEST_USER_TMPDIR:-} && -d $BERTH_TEST_USER_TMPDIR ]]; then
        # --one-file-system: never descend into a mount a test left behind.
        rm -rf --one-file-system "$BERTH_TEST_USER_TMPDIR"
    fi
    return 0
}
