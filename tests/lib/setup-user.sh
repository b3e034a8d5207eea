#!/bin/bash
# Prepare this machine for berth's rootless system tests.  Run as root;
# idempotent, so CI may run it every time.
#
#   tests/lib/setup-user.sh [REPO [DEST]]
#
# - creates the user berthtest (useradd -m) if missing;
# - gives it subordinate ids 100000:65536 in /etc/subuid and /etc/subgid,
#   unless it already has a range there (newuidmap/newgidmap and libsubid
#   read these files);
# - chmod 0666 /dev/net/tun (slirp4netns) and /dev/fuse (fuse-overlayfs):
#   in a container these nodes are often root-only, and an unprivileged user
#   must open them;
# - copies REPO (default: this script's repository) to DEST (default
#   ~berthtest/berth), readable by berthtest but owned by root, for trees the
#   user cannot reach (a clone under /root, mode 0700).  Run it after `make`
#   so DEST/berth is current.
set -euo pipefail

user=${BERTH_TEST_USER:-berthtest}
range_start=100000
range_count=65536
repo=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

if [[ $(id -u) -ne 0 ]]; then
    echo "setup-user.sh: must run as root" >&2
    exit 1
fi

if ! id "$user" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$user"
    echo "setup-user.sh: created user $user"
fi
home=$(getent passwd "$user" | cut -d: -f6)
dest=${2:-$home/berth}

for f in /etc/subuid /etc/subgid; do
    touch "$f"
    if ! grep -q "^$user:" "$f"; then
        echo "$user:$range_start:$range_count" >>"$f"
        echo "setup-user.sh: added $user:$range_start:$range_count to $f"
    fi
done

# A second user with no subordinate ids, for berth's single-id fallback
# (useradd may grant ranges by itself: they are removed).
solo=${BERTH_TEST_SOLO_USER:-berthsolo}
if ! id "$solo" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$solo"
    echo "setup-user.sh: created user $solo (no subordinate ids)"
fi
for f in /etc/subuid /etc/subgid; do
    sed -i "/^$solo:/d" "$f"
done

for dev in /dev/net/tun /dev/fuse; do
    if [[ -c $dev ]]; then
        chmod 0666 "$dev"
        echo "setup-user.sh: chmod 0666 $dev (for rootless $user)"
    else
        echo "setup-user.sh: $dev missing; rootless tests needing it will skip"
    fi
done

case $dest in
/ | /root | /home | /usr | /etc | "$home" | "")
    echo "setup-user.sh: refusing to replace $dest" >&2
    exit 1
    ;;
*) ;;
esac
if [[ $repo != "$dest" ]]; then
    rm -rf --one-file-system "$dest"
    mkdir -p "$dest"
    tar -C "$repo" --exclude=./.git -cf - . | tar -C "$dest" -xf -
    chown -R root:root "$dest"
    chmod -R a+rX "$dest"
    echo "setup-user.sh: copied $repo to $dest (readable by $user)"
fi
