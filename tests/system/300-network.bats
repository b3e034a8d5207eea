#!/usr/bin/env bats
# Networking: slirp4netns (the default), -p/-P and `port`, host loopback,
# --network none|host, /etc/hosts and /etc/resolv.conf, and what is left
# behind.  All traffic stays on the host's loopback or inside the
# container's own namespace (10.0.2.0/24 through slirp4netns).

load helpers

setup() {
    skip_if_no_registry
    command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
    [[ -n ${HOST_SRV:-} ]] && kill "$HOST_SRV" 2>/dev/null
    return 0
}

# free_port [tcp|udp]: a port nobody listens on right now (loopback)
free_port() {
    python3 -c '
import socket, sys
t = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, t); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "${1:-tcp}"
}

# http_get URL: the body, retried for 10 s while the server comes up
http_get() {
    local i
    for i in $(seq 1 100); do
        curl -fsS --max-time 2 "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# run an httpd serving "hello-from-NAME" on port 80 of container NAME
httpd_ctr() {
    local name=$1
    shift
    berth_cmd run -d --name "$name" "$@" "$IMG" sh -c \
        "mkdir -p /www && echo hello-from-$name >/www/index.html && exec httpd -f -p 80 -h /www" \
        >/dev/null
}

@test "-p: a busybox httpd in the container answers on the host's loopback" {
    local p
    p=$(free_port)
    httpd_ctr web -p "127.0.0.1:$p:80"
    run http_get "http://127.0.0.1:$p/"
    assert_success
    assert_output "hello-from-web"
    run_berth port web
    assert_output "80/tcp -> 127.0.0.1:$p"
    run_berth port web 80
    assert_output "127.0.0.1:$p"
    run_berth -125 port web 81
    assert_output "Error: failed to find published port \"81/tcp\""
    run_berth ps --format '{{.Names}} {{.Ports}}'
    assert_output "web 127.0.0.1:$p->80/tcp"
    run_berth inspect --format '{{json .NetworkSettings.Ports}}' web
    assert_output "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$p\"}]}"
    # stopped: the port is free again, and a new container takes it
    berth_cmd stop -t 0 web >/dev/null
    run curl -fsS --max-time 2 "http://127.0.0.1:$p/"
    assert_failure
    httpd_ctr web2 -p "127.0.0.1:$p:80"
    run http_get "http://127.0.0.1:$p/"
    assert_output "hello-from-web2"
}

@test "-p HOSTPORT omitted: a free port is chosen; -P publishes the image's EXPOSE" {
    httpd_ctr auto -p 127.0.0.1::80
    local hp
    hp=$(berth_cmd port auto 80)
    [[ $hp =~ ^127\.0\.0\.1:[0-9]+$ ]] || berth_test_fail "port: $hp"
    run http_get "http://$hp/"
    assert_output "hello-from-auto"
    # an image that EXPOSEs 80
    berth_cmd export auto -o "$BATS_TEST_TMPDIR/fs.tar"
    berth_cmd import --change 'EXPOSE 80/tcp' --change 'ENV PATH=/bin' \
        "$BATS_TEST_TMPDIR/fs.tar" localhost/exposed >/dev/null
    berth_cmd run -d --name pub -P localhost/exposed sh -c \
        'mkdir -p /www && echo hello-from-pub >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
    hp=$(berth_cmd port pub 80/tcp)
    [[ $hp =~ ^0\.0\.0\.0:([0-9]+)$ ]] || berth_test_fail "port: $hp"
    run http_get "http://127.0.0.1:${BASH_REMATCH[1]}/"
    assert_output "hello-from-pub"
}

@test "-p .../udp: a UDP echo server in the container answers the host" {
    command -v gcc >/dev/null || skip "no gcc to build the UDP echo server"
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    gcc -O2 -static -o "$BATS_TEST_TMPDIR/bin/udp-echo" "$BATS_TEST_DIRNAME/../lib/udp-echo.c"
    chmod a+x "$BATS_TEST_TMPDIR"
    chmod -R a+rX "$BATS_TEST_TMPDIR/bin"
    local p
    p=$(free_port udp)
    berth_cmd run -d --name echo -v "$BATS_TEST_TMPDIR/bin:/x:ro" \
        -p "127.0.0.1:$p:5353/udp" "$IMG" /x/udp-echo 5353 >/dev/null
    run python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
for _ in range(50):
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' "$p"
    assert_success
    assert_output "echo:ping"
    run_berth port echo
    assert_output "5353/udp -> 127.0.0.1:$p"
}

@test "-p: a host port in use is refused, nothing is left half-started" {
    local p
    p=$(free_port)
    python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(60)' "$p" &
    HOST_SRV=$!
    local i
    for i in $(seq 1 50); do
        ss -ltn "sport = :$p" | grep -q LISTEN && break
        sleep 0.1
    done
    run_berth -125 run -d --name clash -p "127.0.0.1:$p:80" "$IMG" sleep 100
    assert_failure 125
    assert_output_contains "$p"
    assert_output_contains "address already in use"
    run_berth ps -aq
    assert_output ""
    run_berth -125 run --rm -p "80:80:80" "$IMG" true
    assert_failure 125
}

# ctr_http HOST PORT [RUN-OPTION...]: GET / from inside a container with
# busybox nc (busybox-static's wget crashes looking up "http" through
# glibc's NSS); prints the body
ctr_http() {
    local host=$1 port=$2
    shift 2
    berth_cmd run --rm "$@" "$IMG" sh -c \
        "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $host $port | sed '1,/^\r\$/d'"
}

@test "slirp4netns: the host's loopback only with allow_host_loopback, via 10.0.2.2 and host.containers.internal" {
    local p
    p=$(free_port)
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo hello-from-host >"$BATS_TEST_TMPDIR/www/index.html"
    busybox httpd -f -p "127.0.0.1:$p" -h "$BATS_TEST_TMPDIR/www" &
    HOST_SRV=$!
    run http_get "http://127.0.0.1:$p/"
    assert_output "hello-from-host"
    # (explicit slirp4netns: as root the default is the bridge)
    run ctr_http 10.0.2.2 "$p" --network slirp4netns
    assert_output_contains "can't connect to remote host (10.0.2.2)"
    run ctr_http 10.0.2.2 "$p" --network slirp4netns:allow_host_loopback=true
    assert_output "hello-from-host"
    # the address /etc/hosts gives host.containers.internal (busybox-static
    # cannot resolve names itself)
    run_berth run --rm --network slirp4netns:allow_host_loopback=true "$IMG" \
        awk '$2 == "host.containers.internal" {print $1}' /etc/hosts
    assert_output "10.0.2.2"
}

@test "--network: slirp4netns gives tap0 at 10.0.2.100, none only lo, host the host's" {
    run_berth run --rm --network slirp4netns "$IMG" sh -c 'ls /sys/class/net | tr "\n" " "; ip -4 -o addr show tap0 | awk "{print \$4}"'
    assert_success
    assert_output "lo tap0 10.0.2.100/24"
    run_berth run --rm --network slirp4netns:cidr=10.9.0.0/24,mtu=1500 "$IMG" \
        sh -c 'ip -4 -o addr show tap0 | awk "{print \$4}"; cat /sys/class/net/tap0/mtu'
    assert_output "10.9.0.100/24
1500"
    run_berth run --rm --network none "$IMG" ls /sys/class/net
    assert_output "lo"
    run_berth run --rm --network host "$IMG" ls /sys/class/net
    assert_output "$(ls /sys/class/net)"
    run_berth -125 run --rm --network slirp4netns:mtu=abc "$IMG" true
    assert_output "Error: invalid mtu \"abc\""
    run_berth -125 run --rm --network bogus "$IMG" true
    assert_output_contains "unable to find network with name or ID bogus"
    run_berth -125 run --rm --network 'bad/name' "$IMG" true
    assert_output_contains "network \"bad/name\" is not supported"
    run_berth -125 run --rm --network none -p 8080:80 "$IMG" true
    assert_failure 125
}

@test "/etc/hosts and /etc/resolv.conf: name, --add-host, --dns, --dns-search, --dns-option" {
    run_berth run --rm --network slirp4netns --name named --hostname box \
        --add-host db.local:10.1.2.3 --add-host v6.local:fd00::1 "$IMG" cat /etc/hosts
    assert_success
    assert_line "10.1.2.3	db.local"
    assert_line "fd00::1	v6.local"
    assert_line "10.0.2.100	box named"
    assert_output_contains "host.containers.internal"
    run_berth run --rm --network slirp4netns "$IMG" cat /etc/resolv.conf
    assert_line --index 0 --partial "nameserver 10.0.2.3"
    run_berth run --rm --dns 10.0.2.53 --dns-search example.test \
        --dns-option ndots:2 "$IMG" cat /etc/resolv.conf
    assert_output "search example.test
nameserver 10.0.2.53
options ndots:2"
    run_berth -125 run --rm --dns not-an-ip "$IMG" true
    assert_output "Error: not-an-ip is not an ip address"
    run_berth -125 run --rm --add-host nocolon "$IMG" true
    assert_failure 125
}

@test "no slirp4netns outlives its container, even after kill -9 of the monitor" {
    berth_cmd run -d --network slirp4netns --name n1 "$IMG" sleep 100 >/dev/null
    local id mpid spid
    id=$(berth_cmd inspect --format '{{.Id}}' n1)
    mpid=$(cat "$(berth_store)/runroot/containers/$id/monitor.pid")
    spid=$(pgrep -P "$mpid" -x slirp4netns)
    [[ -n $spid ]] || berth_test_fail "no slirp4netns under the monitor $mpid"
    kill -9 "$mpid"
    local i
    for i in $(seq 1 100); do
        [[ -e /proc/$spid ]] || break
        sleep 0.05
    done
    [[ ! -e /proc/$spid ]] || berth_test_fail "slirp4netns $spid survived its monitor"
    berth_cmd rm -f n1 >/dev/null
    # a stopped container's slirp4netns goes with it
    berth_cmd run -d --network slirp4netns --name n2 "$IMG" sleep 100 >/dev/null
    id=$(berth_cmd inspect --format '{{.Id}}' n2)
    mpid=$(cat "$(berth_store)/runroot/containers/$id/monitor.pid")
    spid=$(pgrep -P "$mpid" -x slirp4netns)
    berth_cmd stop -t 0 n2 >/dev/null
    for i in $(seq 1 100); do # the monitor stops it right after the exit
        [[ -e /proc/$spid ]] || break
        sleep 0.05
    done
    [[ ! -e /proc/$spid ]] || berth_test_fail "slirp4netns $spid survived the stop"
}

@test "--network container:NAME shares the other's namespace, hosts and resolv.conf" {
    berth_cmd run -d --network slirp4netns --name owner "$IMG" \
        sh -c 'echo hi-from-owner | nc -l -p 7777; sleep 100' >/dev/null
    run_berth run --rm --network container:owner "$IMG" sh -c \
        'ls /sys/class/net | tr "\n" " "; nc -w 3 127.0.0.1 7777'
    assert_success
    assert_output "lo tap0 hi-from-owner"
    run_berth run --rm --network container:owner "$IMG" tail -1 /etc/hosts
    assert_output_contains "host.containers.internal"
    run_berth run --rm --network container:owner "$IMG" grep owner /etc/hosts
    assert_output_contains "owner"
    run_berth -125 run --rm --network container:nosuch "$IMG" true
    assert_output_contains "no container with name or ID \"nosuch\""
    run_berth -125 run --rm --network container:owner -p 8080:80 "$IMG" true
    assert_output_contains "cannot set port bindings"
    berth_cmd stop -t 0 owner >/dev/null
    run_berth -125 run --rm --network container:owner "$IMG" true
    assert_output_contains "is not running"
}

@test "--network ns:PATH joins a namespace file" {
    skip_if_not_root # a namespace of another user namespace cannot be joined rootless
    unshare -n sleep 100 &
    local holder=$! i
    for i in $(seq 1 50); do
        [[ $(readlink "/proc/$holder/ns/net") != $(readlink /proc/self/ns/net) ]] && break
        sleep 0.05
    done
    local want
    want=$(readlink "/proc/$holder/ns/net")
    run_berth run --rm --network "ns:/proc/$holder/ns/net" "$IMG" readlink /proc/self/ns/net
    kill "$holder"
    assert_success
    assert_output "$want"
    run_berth -125 run --rm --network ns:relative/path "$IMG" true
    assert_output_contains "an absolute path is needed"
}

@test "root's default network: the bridge berth0 (10.88.0.0/16), the host's resolvers" {
    skip_if_not_root
    run_berth run --rm "$IMG" sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"; ip route | head -1'
    assert_success
    [[ ${lines[0]} =~ ^10\.88\.[0-9]+\.[0-9]+/16$ ]] || berth_test_fail "address: ${lines[0]}"
    assert_line --index 1 "default via 10.88.0.1 dev eth0 "
    run ip -4 -o addr show berth0
    assert_output_contains "10.88.0.1/16"
    run_berth run --rm "$IMG" cat /etc/resolv.conf
    refute_line "nameserver 10.0.2.3"
    run_berth run --rm "$IMG" sh -c 'cat /proc/net/route | wc -l'
    run_berth network ls --format '{{.Name}}'
    assert_line "berth"
}
