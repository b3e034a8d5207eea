#!/usr/bin/env bats
# make install: the binary and the bash, zsh and fish completions land
# under PREFIX (with DESTDIR), and make uninstall removes them.

load helpers

setup() {
    [[ -f $BERTH_TEST_REPO/Makefile ]] || skip "no source tree here (rootless copy of the tests)"
    [[ -x $BERTH_TEST_REPO/berth ]] || skip "berth is not built in $BERTH_TEST_REPO"
}

@test "install: make install puts berth and its completions under PREFIX" {
    local dest=$BATS_TEST_TMPDIR/dest
    run make -s -C "$BERTH_TEST_REPO" install DESTDIR="$dest" PREFIX=/opt/b
    assert_success
    [[ -x $dest/opt/b/bin/berth ]] || berth_test_fail "no binary"
    run "$dest/opt/b/bin/berth" --version
    assert_output_contains "berth version"
    for f in share/bash-completion/completions/berth share/zsh/site-functions/_berth \
        share/fish/vendor_completions.d/berth.fish; do
        [[ -f $dest/opt/b/$f ]] || berth_test_fail "missing $f"
    done
    run make -s -C "$BERTH_TEST_REPO" uninstall DESTDIR="$dest" PREFIX=/opt/b
    assert_success
    [[ ! -e $dest/opt/b/bin/berth ]] || berth_test_fail "binary left after uninstall"
}
