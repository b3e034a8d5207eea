#!/usr/bin/env bash
# make bench: pull a multi-layer image of a few hundred MB from a local
# registry into an empty store and print the time; when podman is
# installed, pull the same image with podman into an empty store too and
# print the ratio.  A measurement, not a test: nothing here fails on speed.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
BERTH=${BERTH:-$TOP/berth}
SIZE_MB=${BENCH_SIZE_MB:-300}
LAYERS=${BENCH_LAYERS:-6}
RUNS=${BENCH_RUNS:-3}

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
export BERTH_TEST_REGISTRY_DIR=$work/registries
# shellcheck source=../tests/lib/registry.sh
source tests/lib/registry.sh
# shellcheck source=../tests/lib/mkimage.sh
source tests/lib/mkimage.sh
cleanup() { stop_registries >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "bench: building a ${SIZE_MB} MB image in $LAYERS layers"
build_big_image "$work/big" "$SIZE_MB" "$LAYERS" >/dev/null
start_registry bench plain >/dev/null
reg=$REGISTRY_BENCH
skopeo copy --quiet --dest-tls-verify=false --preserve-digests \
  "oci:$work/big:latest" "docker://$reg/big:latest"
conf=$work/registries.conf
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" >"$conf"
export CONTAINERS_REGISTRIES_CONF=$conf

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

time_pull() { # LABEL CMD...: pull RUNS times into fresh stores, print median
  local label=$1; shift
  local i t0 t1
  for ((i = 0; i < RUNS; i++)); do
    rm -rf "$work/store"
    mkdir -p "$work/store"
    t0=$(now)
    "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l
  done | median | tee "$work/$label.time"
}

b=$(time_pull berth "$BERTH" --root "$work/store/root" --runroot "$work/store/run" \
  pull -q "$reg/big:latest")
printf 'berth pull  %s MB, %s layers: %.2f s (median of %s)\n' "$SIZE_MB" "$((LAYERS + 1))" "$b" "$RUNS"
if command -v podman >/dev/null 2>&1; then
  p=$(time_pull podman podman --root "$work/store/root" --runroot "$work/store/run" \
    pull -q --tls-verify=false "$reg/big:latest")
  printf 'podman pull %s MB, %s layers: %.2f s (median of %s)\n' "$SIZE_MB" "$((LAYERS + 1))" "$p" "$RUNS"
  printf 'ratio podman/berth: %.2f\n' "$(echo "$p / $b" | bc -l)"
else
  echo "podman is not installed: no side-by-side comparison (apt-get install podman)"
fi
