#!/usr/bin/env bats
# Pods: an infra container (berth-init --pause from localhost/berth-pause)
# holds the network, IPC and UTS namespaces its containers share; ports
# belong to the pod.  Traffic stays on the host's loopback.

load helpers

setup() {
    skip_if_no_registry
    command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
    export CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF
    IMG=$(test_image_ref busybox)
    berth_cmd pull -q "$IMG" >/dev/null
}

teardown() {
    berth_cmd pod rm -af >/dev/null 2>&1 || true
    berth_cmd rm -af >/dev/null 2>&1 || true
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "pod create: ps, inspect, exists; the infra container is berth's pause" {
    run_berth pod create --name p1 --label team=a
    assert_success
    local id=$output
    [[ $id =~ ^[0-9a-f]{64}$ ]] || berth_test_fail "pod id: $id"
    run_berth pod ps --format '{{.Name}} {{.State}} {{.NumContainers}}'
    assert_output "p1 Created 1"
    run_berth pod inspect --format '{{.Name}} {{.Hostname}} {{.SharedNamespaces}} {{.Labels.team}}' p1
    assert_output "p1 p1 [net ipc uts] a"
    run_berth pod exists p1
    assert_success
    run_berth pod exists nosuch
    assert_failure 1
    run_berth ps -a --format '{{.Names}} {{.Image}} {{.Pod}}'
    assert_output "${id:0:12}-infra localhost/berth-pause:0.1.0 ${id:0:12}"
    run_berth -125 pod create --name p1
    assert_output_contains "p1"
    assert_output_contains "in use"
    run_berth -125 pod create --share pid
    assert_output_contains "invalid kernel namespace to share: pid"
}

@test "pod: containers share localhost, IPC and the pod's hostname" {
    berth_cmd pod create --name p2 >/dev/null
    berth_cmd run -d --pod p2 --name srv "$IMG" sh -c 'echo hi-from-srv | nc -l -p 7777; sleep 100' >/dev/null
    run_berth run --rm --pod p2 "$IMG" sh -c 'hostname; nc -w 3 127.0.0.1 7777'
    assert_success
    assert_output "p2
hi-from-srv"
    run_berth exec srv readlink /proc/self/ns/ipc /proc/self/ns/net /proc/self/ns/uts
    local want=$output
    run_berth run --rm --pod p2 "$IMG" readlink /proc/self/ns/ipc /proc/self/ns/net /proc/self/ns/uts
    assert_output "$want"
    run_berth pod ps --format '{{.Name}} {{.State}} {{.NumContainers}}'
    assert_output "p2 Running 2"
    run_berth ps --pod --format '{{.Names}} {{.PodName}}'
    assert_line "srv p2"
}

@test "pod: the pod's published port reaches the container serving it" {
    local p
    p=$(free_port)
    berth_cmd pod create --name web -p "127.0.0.1:$p:80" >/dev/null
    berth_cmd run -d --pod web --name other "$IMG" sleep 100 >/dev/null
    berth_cmd run -d --pod web --name httpd "$IMG" sh -c \
        'mkdir -p /www && echo hello-from-pod >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
    local i out=
    for i in $(seq 1 100); do
        out=$(curl -fsS --max-time 2 "http://127.0.0.1:$p/" 2>/dev/null) && break
        sleep 0.1
    done
    assert_equal "$out" "hello-from-pod" "body through the pod's port"
    run_berth pod inspect --format '{{json .InfraConfig.PortBindings}}' web
    assert_output "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$p\"}]}"
    run_berth -125 run --rm --pod web -p 8080:80 "$IMG" true
    assert_output_contains "published or exposed ports must be defined when the pod is created"
    run_berth -125 run --rm --pod web --network none "$IMG" true
    assert_output_contains "networks must be defined when the pod is created"
}

@test "run --pod new:NAME creates the pod; stop, start, restart, kill" {
    run_berth run -d --pod new:fresh --name c1 "$IMG" sleep 100
    assert_success
    run_berth pod ps --format '{{.Name}} {{.State}} {{.NumContainers}}'
    assert_output "fresh Running 2"
    run_berth pod stop -t 0 fresh
    assert_success
    run_berth pod ps --format '{{.Name}} {{.State}}'
    assert_output "fresh Exited"
    run_berth pod start fresh
    assert_success
    run_berth ps --format '{{.Names}}'
    assert_line "c1"
    run_berth pod restart fresh
    assert_success
    run_berth pod ps --format '{{.State}}'
    assert_output "Running"
    run_berth pod kill fresh
    assert_success
    local i
    for i in $(seq 1 50); do
        [[ $(berth_cmd pod ps --format '{{.State}}') == Exited ]] && break
        sleep 0.1
    done
    run_berth pod ps --format '{{.State}}'
    assert_output "Exited"
}

@test "pod rm: refused while running without -f; -f removes containers, infra and slirp4netns" {
    berth_cmd pod create --name gone >/dev/null
    berth_cmd run -d --pod gone --name g1 "$IMG" sleep 100 >/dev/null
    local infra
    infra=$(berth_cmd pod inspect --format '{{.InfraContainerId}}' gone)
    run_berth -125 rm -f "$infra"
    assert_output_contains "is the infra container of pod"
    run_berth -125 pod rm gone
    assert_output_contains "cannot remove container"
    local mpid
    mpid=$(cat "$(berth_store)/runroot/containers/$infra/monitor.pid")
    run_berth pod rm -f gone
    assert_success
    run_berth pod ps -q
    assert_output ""
    run_berth ps -aq
    assert_output ""
    local i
    for i in $(seq 1 50); do
        [[ -e /proc/$mpid ]] || break
        sleep 0.1
    done
    [[ ! -e /proc/$mpid ]] || berth_test_fail "the infra's monitor $mpid is still there"
    run_berth pod rm nosuch
    assert_failure 1
    assert_output "Error: no pod with name or ID nosuch found: no such pod"
}

@test "pod prune: removes stopped pods, keeps running ones" {
    berth_cmd pod create --name idle >/dev/null
    berth_cmd run -d --pod new:busy "$IMG" sleep 100 >/dev/null
    run_berth pod prune -f
    assert_success
    run_berth pod ps --format '{{.Name}}'
    assert_output "busy"
}

@test "pod: kill -9 of the infra's monitor; pod rm -f still removes everything" {
    berth_cmd pod create --name k9 >/dev/null
    berth_cmd run -d --pod k9 --name member "$IMG" sleep 100 >/dev/null
    local infra mpid spid i
    infra=$(berth_cmd pod inspect --format '{{.InfraContainerId}}' k9)
    mpid=$(cat "$(berth_store)/runroot/containers/$infra/monitor.pid")
    spid=$(pgrep -P "$mpid" -x slirp4netns || true) # root: the bridge, no slirp4netns
    kill -9 "$mpid"
    for i in $(seq 1 100); do
        [[ -n $spid && -e /proc/$spid ]] || break
        sleep 0.05
    done
    [[ -z $spid || ! -e /proc/$spid ]] || berth_test_fail "the infra's slirp4netns outlived its monitor"
    run_berth pod rm -f k9
    assert_success
    run_berth ps -aq
    assert_output ""
    run_berth pod ps -q
    assert_output ""
}

@test "pod create --hostname: the pod's containers share that hostname" {
    berth_cmd pod create --name named --hostname podhost >/dev/null
    run_berth run --rm --pod named "$IMG" hostname
    assert_success
    assert_output "podhost"
    run_berth -125 run --rm --pod named --hostname other "$IMG" true
    assert_output_contains "cannot set hostname when joining the pod UTS namespace"
    run_berth pod inspect --format '{{.Hostname}}' named
    assert_output "podhost"
}
