#!/usr/bin/env bash
# make bench (part 2): median wall time of `run --rm IMAGE true` over
# repeated runs, and the resident memory of one idle container's monitor;
# next to `podman run --rm --network none` of the same image when podman is
# installed.  A measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
BERTH=${BERTH:-$TOP/berth}
RUNS=${BENCH_RUNS:-21}

work=$(mktemp -d /tmp/berth-runbench.XXXXXX)
export BERTH_TEST_REGISTRY_DIR=$work/registries
# shellcheck source=../tests/lib/registry.sh
source tests/lib/registry.sh
# shellcheck source=../tests/lib/mkimage.sh
source tests/lib/mkimage.sh
cleanup() {
  "$BERTH" --root "$work/b/root" --runroot "$work/b/run" rm -af >/dev/null 2>&1 || true
  stop_registries >/dev/null 2>&1 || true
  # podman (as root) keeps its storage directory mounted on itself
  umount -R "$work/p/root/overlay" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export TEST_IMAGES_DIR=$work/images
build_test_images "$TEST_IMAGES_DIR" >/dev/null
start_registry bench plain >/dev/null
push_test_images "$REGISTRY_BENCH" "" busybox
img=$REGISTRY_BENCH/busybox:latest
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY_BENCH" >"$work/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf

median_ms() { # CMD...: run RUNS times, print the median in ms
  local i t0 t1
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

B=("$BERTH" --root "$work/b/root" --runroot "$work/b/run")
"${B[@]}" pull -q "$img" >/dev/null
"${B[@]}" run --rm "$img" true # warm the page cache and the driver probe
b=$(median_ms "${B[@]}" run --rm --network none "$img" true)
echo "berth run --rm --network none busybox true: ${b} ms (median of $RUNS)"
bs=$(median_ms "${B[@]}" run --rm --network slirp4netns "$img" true)
echo "berth run --rm --network slirp4netns busybox true: ${bs} ms (median of $RUNS)"
bd=$(median_ms "${B[@]}" run --rm "$img" true)
echo "berth run --rm busybox true (default network$([ "$(id -u)" -eq 0 ] && echo ": the bridge")): ${bd} ms (median of $RUNS)"

"${B[@]}" run -d --name idle "$img" sleep 600 >/dev/null
id=$("${B[@]}" inspect --format '{{.Id}}' idle)
mpid=$(cat "$work/b/run/containers/$id/monitor.pid")
echo "idle container's monitor: $(awk '/VmRSS/ {print $2, $3}' "/proc/$mpid/status") resident"
"${B[@]}" rm -f idle >/dev/null

if ! command -v podman >/dev/null 2>&1; then
  echo "podman is not installed: no side-by-side comparison (apt-get install podman)"
  exit 0
fi
P=(podman --root "$work/p/root" --runroot "$work/p/run")
"${P[@]}" pull -q --tls-verify=false "$img" >/dev/null
pflags=(--rm --network none)
if ! "${P[@]}" run "${pflags[@]}" "$img" true >/dev/null 2>&1; then
  # Hosts like the development VM (hybrid cgroups, root without
  # CAP_SYS_RESOURCE) need crun's cgroup v2 tree hidden and the rlimits
  # podman sets lowered; both only make podman's run slower, if anything.
  hard=$(ulimit -Hn)
  P=(unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "${P[@]}"
     --cgroup-manager cgroupfs)
  pflags+=(--ulimit "nofile=$hard:$hard" --ulimit nproc=4096:4096)
  "${P[@]}" run "${pflags[@]}" "$img" true >/dev/null 2>&1 ||
    { echo "podman cannot run containers here: no comparison"; exit 0; }
  echo "(podman needed this host's workarounds: cgroup v2 tree hidden, rlimits lowered)"
fi
p=$(median_ms "${P[@]}" run "${pflags[@]}" "$img" true)
echo "podman run --rm --network none busybox true: ${p} ms (median of $RUNS)"
echo "ratio podman/berth (--network none): $(echo "scale=2; $p / $b" | bc -l)"
ps_=$(median_ms "${P[@]}" run --rm "${pflags[@]/none/slirp4netns}" "$img" true 2>/dev/null || echo "")
if [[ -n $ps_ ]]; then
  echo "podman run --rm --network slirp4netns busybox true: ${ps_} ms (median of $RUNS)"
  echo "ratio podman/berth (slirp4netns): $(echo "scale=2; $ps_ / $bs" | bc -l)"
fi
