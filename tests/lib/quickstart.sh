#!/usr/bin/env bash
# The newcomer's first run (README.md): make an image that needs no network
# from the host's busybox-static, import it into berth, and show it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BERTH=${BERTH:-./berth}
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q static && ! ldd "$busybox" 2>&1 | grep -q "not a dynamic"; then
  echo "quickstart: needs busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for app in sh ls cat echo id true false sleep; do ln -s busybox "$root/bin/$app"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
  "$BERTH" import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' \
    --message "busybox from the host" - localhost/busybox:latest
"$BERTH" images
"$BERTH" inspect --format 'image {{.Id}}: Cmd={{.Config.Cmd}} Env={{.Config.Env}}' localhost/busybox
# and run it: a container from an image that needed no network
"$BERTH" run --rm localhost/busybox sh -c 'echo "hello from a berth container: pid $$, $(id -un), $(hostname)"'
