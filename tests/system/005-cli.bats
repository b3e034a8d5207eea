#!/usr/bin/env bats
# The command line: version, help, flag parsing, global flags, errors and
# exit codes, and the shell completions kept in step with --help.

load helpers

# Rootless stores hold files of subordinate ids that bats cannot delete.
teardown() {
    if [[ -d $(berth_store)/root ]]; then
        berth_cmd system reset -f >/dev/null 2>&1 || true
    fi
}

COMPLETIONS=$BERTH_TEST_REPO/completions

# help_commands [GROUP]: the names under "Available Commands:" of
# `berth [GROUP] --help`.
help_commands() {
    "$BERTH" "$@" --help | awk '/^Available Commands:/ {on = 1; next}
        on && /^$/ {exit} on {print $1}'
}

# help_long_flags CMD...: the long flags in the Options of `berth CMD --help`.
help_long_flags() {
    "$BERTH" "$@" --help | awk '/^Options:/ {on = 1; next} on' |
        grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# bash_complete WORDS...: the bash completion's candidates for the last word.
bash_complete() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _berth; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETIONS/berth.bash" "$@"
}

@test "cli: --version and version" {
    run "$BERTH" --version
    assert_success
    assert_output "berth version $("$BERTH" version --format '{{.Client.Version}}')"
    run "$BERTH" -v
    assert_success
    assert_output_contains "berth version "
    run_berth version
    assert_success
    assert_line --index 0 --partial "Version:"
    assert_line --partial "OS/Arch:      linux/"
}

@test "cli: --help, help CMD and CMD --help show usage and exit 0" {
    run "$BERTH" --help
    assert_success
    assert_line "Usage:"
    assert_line "  berth [options] COMMAND"
    assert_line "Available Commands:"
    assert_line --partial "  --storage-driver string"
    run "$BERTH" -h
    assert_success
    assert_line "  berth [options] COMMAND"
    run "$BERTH" help
    assert_success
    assert_line "  berth [options] COMMAND"

    local via_help via_flag
    via_help=$("$BERTH" help images)
    via_flag=$("$BERTH" images --help)
    assert_equal "$via_help" "$via_flag" "help images vs images --help"
    run "$BERTH" images --help
    assert_success
    assert_line "  berth images [options] [IMAGE]"
    assert_line --partial "      --no-trunc"
    run "$BERTH" rmi -h
    assert_success
    assert_line "  berth rmi [options] IMAGE [IMAGE...]"
    run "$BERTH" image prune --help
    assert_success
    assert_line "  berth image prune [options]"
    run "$BERTH" help image ls
    assert_success
    assert_line --partial "List images in local storage"
    # a group without a subcommand lists its commands, as an error
    run "$BERTH" image
    assert_failure 125
    assert_line --partial "  prune "
}

@test "cli: missing and unknown commands" {
    run --separate-stderr "$BERTH"
    assert_failure 125
    [[ $output == *"Available Commands:"* ]] || berth_test_fail "no usage on stdout: $output"
    assert_equal "$stderr" "Error: missing command 'berth COMMAND'" "stderr"

    run "$BERTH" frobnicate
    assert_failure 125
    assert_line "Error: unrecognized command \`berth frobnicate\`"
    assert_line "Try 'berth --help' for more information"
    run "$BERTH" image frobnicate
    assert_failure 125
    assert_line "Error: unrecognized command \`berth image frobnicate\`"
}

@test "cli: unknown flags and flags needing an argument" {
    run_berth images --x
    assert_failure 125
    assert_output "Error: unknown flag: --x"
    run "$BERTH" --x images
    assert_failure 125
    assert_output "Error: unknown flag: --x"
    run_berth images -z
    assert_failure 125
    assert_output "Error: unknown shorthand flag: 'z' in -z"
    run_berth images --format
    assert_failure 125
    assert_output "Error: flag needs an argument: --format"
    run_berth rmi -a --force=maybe
    assert_failure 125
    assert_output_contains 'invalid argument "maybe" for "--force" flag'
    run "$BERTH" --root
    assert_failure 125
    assert_output "Error: flag needs an argument: --root"
}

@test "cli: --flag=value, --flag value, combined short flags and --" {
    local t=$BATS_TEST_TMPDIR
    mkdir -p "$t/rootfs/bin"
    cp /bin/busybox "$t/rootfs/bin/"
    tar -C "$t/rootfs" -cf "$t/rootfs.tar" .
    berth_cmd import -q "$t/rootfs.tar" one >/dev/null
    berth_cmd tag one two:1

    run_berth images --format='{{.Repository}}:{{.Tag}}'
    assert_success
    assert_output "localhost/one:latest
localhost/two:1"
    run_berth images --format '{{.Tag}}'
    assert_success
    assert_output "latest
1"
    # -qa is -q -a: one id however many names
    run_berth images -qa
    assert_success
    assert_equal "${#lines[@]}" 1 "lines of images -qa"
    assert_output "$(berth_cmd image inspect --format '{{.Id}}' one | cut -c1-12)"
    # -nq: no heading either way
    run_berth images -n --format 'table {{.Tag}}'
    assert_success
    assert_output "latest
1"
    # flags after positional arguments count too; after -- they do not
    run_berth image exists -- two:1
    assert_success
    run_berth rmi -- -f
    assert_failure 1
    assert_output "Error: -f: image not known"
    run_berth rmi two:1 -f
    assert_success
    assert_output "Untagged: localhost/two:1"
    # rmi -fa: force and all at once
    berth_cmd tag one three
    run_berth rmi -fa
    assert_success
    assert_line "Untagged: localhost/one:latest"
    assert_line "Untagged: localhost/three:latest"
    run_berth images -q
    assert_output ""
}

@test "cli: bad --log-level and --storage-driver" {
    run_berth --log-level=loud images
    assert_failure 125
    assert_output 'Error: invalid log level "loud"'
    run_berth --log-level debug images -q
    assert_success
    run_berth --storage-driver zfs images
    assert_failure 125
    assert_output_contains 'unknown storage driver "zfs" (supported: overlay, vfs)'
}

@test "cli: a store made with one driver refuses another" {
    local store
    store=$(berth_store)
    run_berth --storage-driver vfs images -q
    assert_success
    run_berth --storage-driver vfs info --format '{{.Store.GraphDriverName}}'
    assert_output vfs
    run_berth --storage-driver overlay images
    assert_failure 125
    assert_output "Error: open store $store/root: storage driver \"overlay\" does not match the driver \"vfs\" the store at $store/root was created with (use --root for a separate store, or berth system reset)"
    # without the flag the store's own driver is used
    run_berth info --format '{{.Store.GraphDriverName}}'
    assert_success
    assert_output vfs
}

@test "completions: every command and subcommand is in bash, zsh and fish" {
    local group cmd f missing=()
    for group in "" container image network pod system volume; do
        # shellcheck disable=SC2086 # an empty group is no argument
        for cmd in $(help_commands $group); do
            for f in berth.bash _berth berth.fish; do
                grep -qwE -- "$cmd" "$COMPLETIONS/$f" ||
                    missing+=("$f: ${group:+$group }$cmd")
            done
        done
    done
    ((${#missing[@]} == 0)) || berth_test_fail "missing from completions:" "${missing[@]}"
    # and the lists are real: `image` and `system` subcommands are offered
    run bash_complete berth image ""
    assert_success
    assert_line prune
    assert_line exists
    run bash_complete berth system ""
    assert_line reset
    run bash_complete berth i
    assert_line images
    assert_line import
}

@test "completions: bash offers every long flag of each command's --help" {
    local group cmd flag cands missing=()
    local -a words
    for group in "" container image network pod system volume; do
        # shellcheck disable=SC2086
        for cmd in $(help_commands $group); do
            [[ -z $group && ($cmd == container || $cmd == image || $cmd == network || $cmd == pod || $cmd == system || $cmd == volume) ]] && continue
            words=(berth ${group:+"$group"} "$cmd")
            cands=$(bash_complete "${words[@]}" --)
            for flag in $(help_long_flags ${group:+"$group"} "$cmd"); do
                grep -qxF -- "$flag" <<<"$cands" ||
                    missing+=("${words[*]}: $flag")
            done
        done
    done
    ((${#missing[@]} == 0)) || berth_test_fail "bash completion lacks:" "${missing[@]}"
    # global flags before the command
    cands=$(bash_complete berth --)
    for flag in $(help_long_flags); do
        grep -qxF -- "$flag" <<<"$cands" || missing+=("berth: $flag")
    done
    ((${#missing[@]} == 0)) || berth_test_fail "bash completion lacks:" "${missing[@]}"
}

@test "completions: scripts parse" {
    run bash -n "$COMPLETIONS/berth.bash"
    assert_success
    if command -v zsh >/dev/null; then
        run zsh -n "$COMPLETIONS/_berth"
        assert_success
    fi
    if command -v fish >/dev/null; then
        run fish --no-execute "$COMPLETIONS/berth.fish"
        assert_success
    fi
    command -v zsh >/dev/null && command -v fish >/dev/null ||
        skip "zsh or fish not installed: only bash checked"
}
