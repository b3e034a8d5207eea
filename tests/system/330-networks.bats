#!/usr/bin/env bats
# Container networks: network create/ls/inspect/rm/prune/connect/
# disconnect; containers on one network reach each other by name and by
# address (a bridge in the shared namespace of berth's hidden holder);
# nothing left behind.  Traffic stays inside namespaces the test made.

load helpers

setup() {
    skip_if_no_registry
    command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
    [[ -x /usr/sbin/nft ]] || command -v nft >/dev/null || skip "nft (nftables) is not installed"
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
}

teardown() {
    berth_cmd rm -af >/dev/null 2>&1 || true
    berth_cmd network prune -f >/dev/null 2>&1 || true
}

@test "network create, ls, inspect, rm, prune" {
    run_berth network create net1
    assert_success
    assert_output "net1"
    run_berth network create --subnet 10.77.5.0/24 --gateway 10.77.5.254 --internal --label a=b net2
    assert_success
    run_berth network ls --format '{{.Name}} {{.Driver}}'
    assert_output "net1 bridge
net2 bridge"
    run_berth network inspect --format '{{range .subnets}}{{.subnet}} {{.gateway}}{{end}} {{.internal}} {{.labels.a}}' net2
    assert_output "10.77.5.0/24 10.77.5.254 true b"
    # --internal: no way out, so no default route either
    run_berth run --rm --network net2 "$IMG" sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"; ip route'
    assert_success
    assert_line --index 0 "10.77.5.1/24"
    refute_line --partial "default"
    run_berth run --rm --network net1 "$IMG" ip route
    assert_line --partial "default via"
    run_berth network inspect --format '{{range .subnets}}{{.subnet}}{{end}}' net1
    [[ $output =~ ^10\.89\.[0-9]+\.0/24$ ]] || berth_test_fail "default subnet: $output"
    run_berth -125 network create net1
    assert_output "Error: network name net1 already used: network already exists"
    run_berth -125 network create --subnet 10.77.5.128/25 net3
    assert_output_contains "already used"
    run_berth -125 network create --subnet nonsense net3
    assert_output_contains "invalid subnet"
    run_berth network ls -q --filter name=net2
    assert_output "net2"
    run_berth network rm net1
    assert_output "net1"
    run_berth network prune -f
    assert_output "net2"
    run_berth network ls -q
    assert_output ""
    run_berth -125 network inspect nosuch
    assert_output "Error: unable to find network with name or ID nosuch: network not found"
}

@test "network: two containers reach each other by name and by address" {
    berth_cmd network create --subnet 10.77.7.0/24 lan >/dev/null
    berth_cmd run -d --network lan --name srv "$IMG" \
        sh -c 'while true; do echo hi-from-srv | nc -l -p 7777; done' >/dev/null
    run_berth run --rm --network lan --name cli "$IMG" sh -c \
        'ip -4 -o addr show eth0 | awk "{print \$4}"; grep srv /etc/hosts | cut -f1; nc -w 3 srv 7777'
    assert_success
    assert_line --index 0 "10.77.7.3/24"
    assert_line --index 1 "10.77.7.2"
    assert_line --index 2 "hi-from-srv"
    run_berth run --rm --network lan "$IMG" nc -w 3 10.77.7.2 7777
    assert_output "hi-from-srv"
    run_berth inspect --format '{{.HostConfig.NetworkMode}} {{.NetworkSettings.IPAddress}} {{(index .NetworkSettings.Networks "lan").Gateway}}' srv
    assert_output "lan 10.77.7.2 10.77.7.1"
    # a new life, plugged in again, same address
    berth_cmd restart -t 0 srv >/dev/null
    run_berth run --rm --network lan "$IMG" nc -w 3 srv 7777
    assert_output "hi-from-srv"
    # the holder of the networks' namespace is not the user's business
    run_berth ps -a --format '{{.Names}}'
    assert_output "srv"
}

@test "network connect and disconnect: a running container joins, then cannot reach" {
    berth_cmd network create --subnet 10.77.8.0/24 front >/dev/null
    berth_cmd network create --subnet 10.77.9.0/24 back >/dev/null
    berth_cmd run -d --network back --name db "$IMG" \
        sh -c 'while true; do echo hi-from-db | nc -l -p 5432; done' >/dev/null
    berth_cmd run -d --network front --name app "$IMG" sleep 1000 >/dev/null
    # different networks: no way through
    run_berth exec app nc -w 2 10.77.9.2 5432
    assert_output_not_contains "hi-from-db"
    run_berth network connect back app
    assert_success
    run_berth exec app sh -c 'nc -w 3 db 5432'
    assert_output "hi-from-db"
    run_berth exec app awk '$2 == "db" {print $1}' /etc/hosts
    assert_output "10.77.9.2"
    run_berth -125 network connect back app
    assert_output_contains "already connected"
    run_berth network disconnect back app
    assert_success
    run_berth exec app nc -w 2 10.77.9.2 5432
    assert_output_not_contains "hi-from-db"
    run_berth exec app awk '$2 == "db"' /etc/hosts
    assert_output ""
}

@test "network rm: a network in use is refused (2); -f removes its containers; nothing stays" {
    berth_cmd network create busy >/dev/null
    local bridge
    bridge=$(berth_cmd network inspect --format '{{.network_interface}}' busy)
    berth_cmd run -d --network busy --name user1 "$IMG" sleep 1000 >/dev/null
    if [[ $(id -u) -ne 0 ]]; then # a user's networks live in the holder's
        run_berth container exists berth-netns
        assert_success
    fi
    run_berth network rm busy
    assert_failure 2
    assert_output_contains "has associated containers with it"
    run_berth network rm -f busy
    assert_success
    run_berth ps -aq
    assert_output ""
    # the last container gone, the holder and its slirp4netns go too
    run_berth container exists berth-netns
    assert_failure 1
    # as root, the bridge lived in the host's namespace: gone with the network
    [[ $(id -u) -ne 0 ]] || [[ -z $(ip -o link show type bridge | grep -F "$bridge") ]] ||
        berth_test_fail "bridge $bridge left on the host"
    run_berth -125 run --rm --network nosuch "$IMG" true
    assert_output_contains "unable to find network with name or ID nosuch"
    run_berth -125 run --rm --network busy2,, "$IMG" true
    assert_failure 125
}

@test "network: -p publishes a container on a network (TCP and UDP); the port is freed at stop" {
    command -v gcc >/dev/null || skip "no gcc to build the UDP echo server"
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    gcc -O2 -static -o "$BATS_TEST_TMPDIR/bin/udp-echo" "$BATS_TEST_DIRNAME/../lib/udp-echo.c"
    chmod a+x "$BATS_TEST_TMPDIR"
    chmod -R a+rX "$BATS_TEST_TMPDIR/bin"
    local tp up
    tp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    up=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    berth_cmd network create pubnet >/dev/null
    berth_cmd run -d --network pubnet --name web -p "127.0.0.1:$tp:80" "$IMG" sh -c \
        'mkdir -p /www && echo hello-from-net >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
    berth_cmd run -d --network pubnet --name echo -v "$BATS_TEST_TMPDIR/bin:/x:ro" \
        -p "127.0.0.1:$up:5353/udp" "$IMG" /x/udp-echo 5353 >/dev/null
    local i out=
    for i in $(seq 1 100); do
        out=$(curl -fsS --max-time 2 "http://127.0.0.1:$tp/" 2>/dev/null) && break
        sleep 0.1
    done
    assert_equal "$out" "hello-from-net" "TCP through the holder's slirp4netns (root: DNAT)"
    run python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
for _ in range(50):
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' "$up"
    assert_output "echo:ping"
    run_berth port web
    assert_output "80/tcp -> 127.0.0.1:$tp"
    berth_cmd stop -t 0 web >/dev/null
    run curl -fsS --max-time 2 "http://127.0.0.1:$tp/"
    assert_failure
    # the freed port: another container takes it
    berth_cmd run -d --network pubnet --name web2 -p "127.0.0.1:$tp:80" "$IMG" sh -c \
        'mkdir -p /www && echo hello-from-web2 >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
    out=
    for i in $(seq 1 100); do
        out=$(curl -fsS --max-time 2 "http://127.0.0.1:$tp/" 2>/dev/null) && break
        sleep 0.1
    done
    assert_equal "$out" "hello-from-web2" "the port after the first container stopped"
}

@test "network: containers started in parallel on one network share one holder" {
    berth_cmd network create par >/dev/null
    local i pids=()
    for i in 1 2 3 4 5 6; do
        "$BERTH" --root "$(berth_store)/root" --runroot "$(berth_store)/runroot" \
            run -d --network par --name "p$i" "$IMG" sleep 100 >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || berth_test_fail "run $((i + 1)): $(cat "$BATS_TEST_TMPDIR/out$((i + 1))")"
    done
    run_berth ps --format '{{.Names}}'
    assert_equal "$(wc -l <<<"$output")" 6 "running containers"
    # six distinct addresses
    run_berth inspect --format '{{.NetworkSettings.IPAddress}}' p1 p2 p3 p4 p5 p6
    assert_equal "$(sort -u <<<"$output" | wc -l)" 6 "distinct addresses"
    if [[ $(id -u) -ne 0 ]]; then
        run_berth container exists berth-netns
        assert_success
    fi
}

@test "network: kill -9 of the holder's monitor: its slirp4netns goes; rm of the last container removes the holder" {
    skip_if_root # as root, networks live in the host's namespace: no holder
    berth_cmd network create k9 >/dev/null
    berth_cmd run -d --network k9 --name victim "$IMG" sleep 100 >/dev/null
    local hid mpid spid i
    hid=$(berth_cmd inspect --format '{{.Id}}' berth-netns)
    mpid=$(cat "$(berth_store)/runroot/containers/$hid/monitor.pid")
    spid=$(pgrep -P "$mpid" -x slirp4netns)
    [[ -n $spid ]] || berth_test_fail "no slirp4netns under the holder's monitor $mpid"
    kill -9 "$mpid"
    for i in $(seq 1 100); do
        [[ -e /proc/$spid ]] || break
        sleep 0.05
    done
    [[ ! -e /proc/$spid ]] || berth_test_fail "the holder's slirp4netns $spid outlived its monitor"
    run_berth rm -f victim
    assert_success
    run_berth container exists berth-netns
    assert_failure 1
    run_berth ps -aq
    assert_output ""
}
