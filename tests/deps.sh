#!/usr/bin/env bash
# Install every build, run-time and test dependency of berth from Debian's
# packages, idempotently and non-interactively (`make deps`).
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config libcurl4-openssl-dev libjansson-dev
  libarchive-dev libsubid-dev libseccomp-dev libcap-dev zlib1g-dev
  libzstd-dev
  # run time
  uidmap fuse-overlayfs slirp4netns ca-certificates crun nftables
  # tests
  bats docker-registry skopeo busybox-static apache2-utils zstd jq openssl
  python3 curl tmux util-linux bc file dnsmasq-base iperf3
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'sudo make deps' (or install them with apt-get)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a registry on :5000 when installing docker-registry; the
# tests start their own on free loopback ports and need none running.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
echo "deps: done"
