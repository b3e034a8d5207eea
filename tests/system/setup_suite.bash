# Once per `bats tests/system` run (bats >= 1.5 picks this file up): build
# the test images and start the registries described in helpers.bash, stop
# them at the end.  BERTH_TEST_REGISTRIES=0 skips the registries.

# shellcheck source=tests/system/helpers.bash
source "$(dirname "${BASH_SOURCE[0]}")/helpers.bash"

setup_suite() {
    berth_suite_setup
}

teardown_suite() {
    berth_suite_teardown
}
