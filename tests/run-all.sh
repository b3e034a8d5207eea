#!/usr/bin/env bash
# The one test command (README.md, `make check`, .ci/run):
#   install dependencies (as root), build, run the C unit tests, run them
#   again under AddressSanitizer + UBSan, then run the bats integration
#   suite against the built binary: as an unprivileged user with subuid
#   ranges (rootless) and then as root (rootful) when started as root.
# Ends with "N passed, N failed, N skipped" and exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
LOGDIR=$(mktemp -d /tmp/berth-check.XXXXXX)
chmod 755 "$LOGDIR"
declare -i PASS=0 FAIL=0 SKIP=0
STEP_FAILED=0

count_tap() { # FILE: add its TAP results to the totals
  local p f s
  p=$(grep -cE '^ok ' "$1" || true)
  s=$(grep -cE '^ok .*# (SKIP|skip)' "$1" || true)
  f=$(grep -cE '^not ok ' "$1" || true)
  PASS+=$((p - s)); SKIP+=s; FAIL+=f
}

step() { # NAME CMD...: run a step, tee its output, remember failures
  local name=$1; shift
  echo "=== $name"
  "$@" 2>&1 | tee "$LOGDIR/$name.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "=== $name: exit $rc"
    STEP_FAILED=1
  fi
  return "$rc"
}

if [ "$(id -u)" -eq 0 ]; then
  step deps tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
fi

if ! step build make -j2 all; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

step unit make -j2 unit; count_tap "$LOGDIR/unit.log"
step asan-unit make -j2 asan-unit; count_tap "$LOGDIR/asan-unit.log"

run_bats() { # NAME USER: the integration suite as USER (root or test user)
  local name=$1 user=$2
  if [ "$user" = "$(id -un)" ]; then
    local mode=rootless
    [ "$(id -u)" -eq 0 ] && mode=rootful
    step "$name" env BERTH="$TOP/berth" BERTH_TEST_MODE=$mode \
      bats --tap tests/system
  else
    # a copy the unprivileged user can read, outside root's home
    local copy
    copy=$(mktemp -d /tmp/berth-rootless.XXXXXX)
    cp -a berth berth-monitor berth-runtime berth-init tests completions "$copy/"
    chmod -R a+rX "$copy"
    step "$name" runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
      HOME="$(getent passwd "$user" | cut -d: -f6)" LANG=C.UTF-8 \
      BERTH="$copy/berth" BERTH_TEST_MODE=rootless TMPDIR=/tmp \
      bats --tap "$copy/tests/system"
    rm -rf "$copy"
  fi
  count_tap "$LOGDIR/$name.log"
}

if ls tests/system/*.bats >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    step setup-user tests/lib/setup-user.sh
    # the DNS tests' resolver on 127.0.0.1:53 (port 53: root's to open)
    if tests/lib/dns-server.sh start; then
      echo "dns-server: dnsmasq on 127.0.0.1:53 for the DNS tests"
      trap 'tests/lib/dns-server.sh stop' EXIT
    fi
    run_bats system-rootless berthtest
    run_bats system-rootful root
  else
    run_bats system-rootless "$(id -un)"
  fi
fi

echo "logs: $LOGDIR"
if [ "$STEP_FAILED" -ne 0 ] && [ "$FAIL" -eq 0 ]; then
  FAIL+=1 # a step failed without a TAP failure (crash, bad setup)
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
