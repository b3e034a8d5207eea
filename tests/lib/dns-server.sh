#!/usr/bin/env bash
# A DNS server for the network tests, on the host's loopback only:
# dnsmasq on 127.0.0.1:53 answering dns-test.berth.internal with 10.1.2.3
# and nothing else (no upstream servers, no /etc/hosts).  Port 53 needs
# root: `make check` starts it (as root) for both suites and stops it.
#   dns-server.sh start|stop|check
set -euo pipefail
PIDFILE=${BERTH_TEST_DNS_PIDFILE:-/tmp/berth-test-dnsmasq.pid}
NAME=dns-test.berth.internal
ADDR=10.1.2.3

check() { # answers now?
  busybox nslookup -type=a "$NAME" 127.0.0.1 2>/dev/null | grep -q "Address: $ADDR"
}

case ${1:-} in
start)
  check && exit 0
  command -v dnsmasq >/dev/null || { echo "dns-server: no dnsmasq (dnsmasq-base)" >&2; exit 1; }
  dnsmasq --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 \
    --port=53 --address="/$NAME/$ADDR" --pid-file="$PIDFILE" --user=root
  for _ in $(seq 1 50); do
    check && exit 0
    sleep 0.1
  done
  echo "dns-server: dnsmasq does not answer on 127.0.0.1:53" >&2
  exit 1
  ;;
stop)
  [[ -s $PIDFILE ]] && kill "$(cat "$PIDFILE")" 2>/dev/null
  rm -f "$PIDFILE"
  ;;
check) check ;;
*) echo "usage: $0 start|stop|check" >&2; exit 2 ;;
esac
