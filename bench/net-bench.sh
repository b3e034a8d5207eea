#!/usr/bin/env bash
# make bench (part 3): TCP throughput from the host to a container through
# a published port (iperf3 in the container, the host's iperf3 as client,
# 127.0.0.1 only), and the start latency of `run --rm` with the default
# network; podman side by side when installed.  A measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/berth}
SECS=${BENCH_IPERF_SECONDS:-5}
command -v iperf3 >/dev/null || { echo "net-bench: no iperf3 (apt-get install iperf3)"; exit 0; }
command -v slirp4netns >/dev/null || { echo "net-bench: no slirp4netns"; exit 0; }

work=$(mktemp -d /tmp/berth-netbench.XXXXXX)
B=("$BERTH" --root "$work/root" --runroot "$work/run")
cleanup() {
  "${B[@]}" rm -af >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# an image from the host's busybox-static; iperf3 and its libraries come
# read-only from the host's /usr
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf - . |
  "${B[@]}" import --change 'ENV PATH=/bin:/usr/bin' - localhost/netbench >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hostlibs=(-v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro)

throughput() { # PORT: Gbit/s of a SECS-second iperf3 run
  local i
  for i in $(seq 1 50); do # the server comes up
    iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -J >"$work/iperf.json" 2>/dev/null && break
    sleep 0.2
  done
  python3 -c 'import json,sys; d = json.load(open(sys.argv[1]));
print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' "$work/iperf.json"
}

"${B[@]}" run -d --name iperf -p "127.0.0.1:$port:5201" "${hostlibs[@]}" \
  localhost/netbench /usr/bin/iperf3 -s >/dev/null
echo "berth: host -> container through -p (slirp4netns): $(throughput "$port") Gbit/s (iperf3, ${SECS} s)"
"${B[@]}" rm -f iperf >/dev/null

if ! command -v podman >/dev/null 2>&1; then
  echo "podman is not installed: no side-by-side comparison"
  exit 0
fi
P=(podman --root "$work/p/root" --runroot "$work/p/run")
if [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
  hard=$(ulimit -Hn)
  P=(unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "${P[@]}"
     --cgroup-manager cgroupfs)
  pextra=(--ulimit "nofile=$hard:$hard" --ulimit nproc=4096:4096)
fi
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
"${P[@]}" import --change 'ENV PATH=/bin:/usr/bin' "$work/rootfs.tar" localhost/netbench >/dev/null 2>&1 ||
  { echo "podman cannot import here: no comparison"; exit 0; }
if "${P[@]}" run -d --name iperf --network slirp4netns:port_handler=slirp4netns \
  -p "127.0.0.1:$port:5201" "${hostlibs[@]}" ${pextra[@]+"${pextra[@]}"} \
  localhost/netbench /usr/bin/iperf3 -s >/dev/null 2>&1; then
  echo "podman: host -> container through -p (slirp4netns): $(throughput "$port") Gbit/s"
  "${P[@]}" rm -f iperf >/dev/null 2>&1 || true
else
  echo "podman cannot run the iperf3 container here: no comparison"
fi
umount -R "$work/p/root/overlay" 2>/dev/null || true
