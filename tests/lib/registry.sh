#!/bin/bash
# Local registries for berth's system tests: Debian's docker-registry (2.8)
# on 127.0.0.1, one process per registry, all state under one directory.
# Sourced by tests/system/helpers.bash; needs bash, curl, openssl, htpasswd,
# skopeo, jq and /usr/bin/python3 (Debian's; stdlib only).
#
#   start_registry NAME [plain|basic|token|tls]
#   start_fake_registry NAME ROOT             tests/lib/fake-registry.py
#   stop_registry NAME / stop_registries
#   push_test_images REGISTRY [USER:PASS]     skopeo, from $TEST_IMAGES_DIR
#   build_hostile_images OUTDIR               tests/lib/mkhostile.py
#   push_hostile_images REGISTRY HOSTILE_DIR STORAGE_ROOT
#   push_raw_image REGISTRY NAME DIR [STORAGE_ROOT]
#
# start_registry exports, with N the upper-cased NAME (dashes become _):
#   REGISTRY_N           127.0.0.1:PORT
#   REGISTRY_N_URL       http://127.0.0.1:PORT (https:// in tls mode)
#   REGISTRY_N_MODE      plain|basic|token|tls
#   REGISTRY_N_DIR       its state dir: config.yml, registry.log, pid, ...
#   REGISTRY_N_STORAGE   its storage root (docker/registry/v2/... below)
#   REGISTRY_N_LOG       its log
#   token mode: REGISTRY_N_REALM (http://127.0.0.1:TPORT/token),
#               REGISTRY_N_TOKEN_LOG (token server's JSON-lines request log);
#               testuser may pull and push anything, anonymous users get no
#               access except pull on repositories named public/...
#   tls mode:   REGISTRY_N_CA (CA cert, PEM), REGISTRY_N_CERT_DIR (a dir
#               holding only ca.crt, for --cert-dir), REGISTRY_N_CERTS_D (a
#               certs.d dir: 127.0.0.1:PORT/ca.crt and localhost:PORT/ca.crt)
# and, once, REGISTRY_USER=testuser REGISTRY_PASS=testpass (basic and token).
#
# Every server runs under `timeout $BERTH_TEST_SERVER_TIMEOUT` (default
# 7200 s) so an aborted run cannot leave one behind for long.

BERTH_TEST_LIB=${BERTH_TEST_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
BERTH_TEST_PYTHON=${BERTH_TEST_PYTHON:-/usr/bin/python3}
BERTH_TEST_SERVER_TIMEOUT=${BERTH_TEST_SERVER_TIMEOUT:-7200}
export REGISTRY_USER=testuser REGISTRY_PASS=testpass
# The token registry's `service` (the JWT's aud) and `issuer` (iss).
export BERTH_TEST_TOKEN_SERVICE=berth-test BERTH_TEST_TOKEN_ISSUER=berth-test-issuer

registry_die() {
    echo "registry: $*" >&2
    return 1
}

# Where registries keep their state: $BERTH_TEST_REGISTRY_DIR, else a
# directory of the bats suite.
registry_base() {
    local base=${BERTH_TEST_REGISTRY_DIR:-${BATS_SUITE_TMPDIR:-${TMPDIR:-/tmp}}/registries}
    mkdir -p "$base" && echo "$base"
}

registry_var() { # NAME -> REGISTRY_NAME
    local n=${1^^}
    echo "REGISTRY_${n//[^A-Z0-9]/_}"
}

# A port free right now on 127.0.0.1.  docker-registry cannot report the
# port it bound, so there is a small window; start_registry retries.
registry_free_port() {
    "$BERTH_TEST_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# registry_spawn DIR NAME CMD...: runs CMD in the background under timeout,
# output to DIR/NAME.log, pid to DIR/NAME.pid.  fd 3 (bats' output) is
# closed, or bats would wait for the server to exit.
registry_spawn() {
    local dir=$1 name=$2
    shift 2
    timeout -k 5 "$BERTH_TEST_SERVER_TIMEOUT" "$@" \
        </dev/null >"$dir/$name.log" 2>&1 3>&- &
    echo $! >"$dir/$name.pid"
}

# registry_alive PID: running, not a zombie.  Servers spawned from a
# command substitution are orphans whose reaping is up to PID 1, which may
# take seconds (or forever, in a container whose init does not reap).
registry_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

registry_kill_pidfile() {
    local pidfile=$1 pid i
    [[ -f $pidfile ]] || return 0
    pid=$(<"$pidfile")
    rm -f "$pidfile"
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    # timeout(1) passes TERM on and exits with its child: bounded wait.
    for ((i = 0; i < 50; i++)); do
        registry_alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    return 0
}

# registry_wait_http URL PID [CURL-OPTS...]: readiness poll of an external
# server (it has no ready fd): up to 100 x 0.1 s, giving up early if PID
# died.  Any HTTP answer (200 or 401) means ready.
registry_wait_http() {
    local url=$1 pid=$2 i
    shift 2
    for ((i = 0; i < 100; i++)); do
        if curl -s -o /dev/null --max-time 2 "$@" "$url"; then
            return 0
        fi
        registry_alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

# registry_make_tls DIR: a CA (ca.crt, ca.key) and a server cert signed by
# it (server.crt, server.key) for IP:127.0.0.1 and DNS:localhost in the
# subjectAltName, which Go's TLS (and curl) require; the CN is ignored.
registry_make_tls() {
    local d=$1
    printf '%s\n' 'basicConstraints=CA:FALSE' \
        'keyUsage=critical,digitalSignature,keyEncipherment' \
        'extendedKeyUsage=serverAuth' \
        'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$d/server.ext" || return
    if ! {
        openssl req -x509 -newkey rsa:2048 -nodes -days 7 -sha256 \
            -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=berth test CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign &&
            openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$d/server.key" \
                -out "$d/server.csr" -subj "/CN=127.0.0.1" &&
            openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" \
                -CAkey "$d/ca.key" -CAcreateserial -days 7 -sha256 \
                -extfile "$d/server.ext" -out "$d/server.crt"
    } >"$d/openssl.log" 2>&1; then
        registry_die "openssl failed: $(cat "$d/openssl.log")"
        return 1
    fi
}

# registry_spawn_ready DIR NAME CMD...: registry_spawn for our python
# servers, which bind port 0 themselves (no race) and write the port into
# --ready-file, here a FIFO we hold open read-write so neither side blocks
# on open: we wait for that event (20 s at most).  Prints the port.
registry_spawn_ready() {
    local d=$1 name=$2 fd port=""
    shift 2
    rm -f "$d/$name.ready"
    mkfifo "$d/$name.ready" || return
    exec {fd}<>"$d/$name.ready"
    registry_spawn "$d" "$name" "$@" --ready-file "$d/$name.ready" {fd}>&-
    read -r -t 20 -u "$fd" port || true
    exec {fd}>&-
    rm -f "$d/$name.ready"
    [[ $port =~ ^[0-9]+$ ]] || {
        registry_die "$name did not start: $(cat "$d/$name.log")"
        registry_kill_pidfile "$d/$name.pid"
        return 1
    }
    echo "$port"
}

# registry_start_token_server DIR: key, self-signed cert (the registry's
# rootcertbundle) and the server; prints its port.
registry_start_token_server() {
    local d=$1
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -sha256 \
        -keyout "$d/token.key" -out "$d/token.crt" \
        -subj "/CN=berth test token signer" 2>"$d/openssl.log" ||
        { registry_die "openssl: $(cat "$d/openssl.log")"; return 1; }
    registry_spawn_ready "$d" token-server "$BERTH_TEST_PYTHON" \
        "$BERTH_TEST_LIB/token-server.py" --key "$d/token.key" \
        --cert "$d/token.crt" --service "$BERTH_TEST_TOKEN_SERVICE" \
        --issuer "$BERTH_TEST_TOKEN_ISSUER" \
        --user "$REGISTRY_USER:$REGISTRY_PASS" \
        --anon-pull-prefix public/ --log "$d/token-requests.log"
}

# start_fake_registry NAME ROOT: tests/lib/fake-registry.py serving ROOT
# (read-only, http, no auth).  Exports REGISTRY_N, REGISTRY_N_URL,
# REGISTRY_N_DIR, REGISTRY_N_ROOT and REGISTRY_N_LOG (its JSON-lines
# request log), REGISTRY_N_MODE=fake.
start_fake_registry() {
    local name=$1 root=$2 d var port
    [[ $name =~ ^[A-Za-z0-9_-]+$ && -d $root ]] ||
        { registry_die "usage: start_fake_registry NAME ROOT"; return 1; }
    d=$(registry_base)/$name || return
    var=$(registry_var "$name")
    stop_registry "$name"
    rm -rf "$d"
    mkdir -p "$d" || return
    root=$(cd "$root" && pwd)
    port=$(registry_spawn_ready "$d" fake-registry "$BERTH_TEST_PYTHON" \
        "$BERTH_TEST_LIB/fake-registry.py" "$root" \
        --log "$d/requests.log") || return
    echo "$port" >"$d/port"
    echo fake >"$d/mode"
    export "$var=127.0.0.1:$port" "${var}_URL=http://127.0.0.1:$port" \
        "${var}_MODE=fake" "${var}_DIR=$d" "${var}_ROOT=$root" \
        "${var}_LOG=$d/requests.log"
}

# registry_write_config DIR MODE PORT [TOKEN_PORT]
registry_write_config() {
    local d=$1 mode=$2 port=$3 tport=${4:-}
    {
        cat <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
compatibility:
  schema1:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: berth-test-not-secret
  headers:
    X-Content-Type-Options: [nosniff]
EOF
        case $mode in
        basic)
            printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n' \
                "$d/htpasswd"
            ;;
        token)
            printf 'auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' \
                "http://127.0.0.1:$tport/token" "$BERTH_TEST_TOKEN_SERVICE" \
                "$BERTH_TEST_TOKEN_ISSUER" "$d/token.crt"
            ;;
        tls)
            printf '  tls:\n    certificate: %s\n    key: %s\n' \
                "$d/server.crt" "$d/server.key"
            ;;
        *) ;;
        esac
    } >"$d/config.yml"
}

# start_registry NAME [MODE]: see the top of this file.
start_registry() {
    local name=$1 mode=${2:-plain} d var port tport="" scheme=http
    local -a curlopts=()
    [[ $name =~ ^[A-Za-z0-9_-]+$ ]] || { registry_die "bad name '$name'"; return 1; }
    command -v docker-registry >/dev/null ||
        { registry_die "docker-registry not installed (apt-get install docker-registry)"; return 1; }
    d=$(registry_base)/$name || return
    var=$(registry_var "$name")
    stop_registry "$name"
    rm -rf "$d"
    mkdir -p "$d/storage" || return
    case $mode in
    plain) ;;
    basic) htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASS" >"$d/htpasswd" || return ;;
    token) tport=$(registry_start_token_server "$d") || return ;;
    tls)
        registry_make_tls "$d" || return
        scheme=https
        curlopts=(--cacert "$d/ca.crt")
        ;;
    *) registry_die "unknown mode '$mode'"; return 1 ;;
    esac
    for _ in 1 2 3; do
        port=$(registry_free_port) || return
        registry_write_config "$d" "$mode" "$port" "$tport" || return
        # docker-registry reads REGISTRY_* variables as config overrides,
        # and ours (REGISTRY_TLS_CA...) would be among them.
        registry_spawn "$d" registry env -i "PATH=$PATH" \
            docker-registry serve "$d/config.yml"
        if registry_wait_http "$scheme://127.0.0.1:$port/v2/" \
            "$(<"$d/registry.pid")" "${curlopts[@]}"; then
            break
        fi
        registry_kill_pidfile "$d/registry.pid"
        port=""
    done
    [[ -n $port ]] || {
        registry_die "$name did not start: $(tail -5 "$d/registry.log")"
        registry_kill_pidfile "$d/token-server.pid"
        return 1
    }
    echo "$port" >"$d/port"
    echo "$mode" >"$d/mode"
    export "$var=127.0.0.1:$port" "${var}_URL=$scheme://127.0.0.1:$port" \
        "${var}_MODE=$mode" "${var}_DIR=$d" "${var}_STORAGE=$d/storage" \
        "${var}_LOG=$d/registry.log"
    if [[ $mode == token ]]; then
        export "${var}_REALM=http://127.0.0.1:$tport/token" \
            "${var}_TOKEN_LOG=$d/token-requests.log"
    fi
    if [[ $mode == tls ]]; then
        mkdir -p "$d/cert-dir" "$d/certs.d/127.0.0.1:$port" "$d/certs.d/localhost:$port"
        cp "$d/ca.crt" "$d/cert-dir/ca.crt"
        cp "$d/ca.crt" "$d/certs.d/127.0.0.1:$port/ca.crt"
        cp "$d/ca.crt" "$d/certs.d/localhost:$port/ca.crt"
        export "${var}_CA=$d/ca.crt" "${var}_CERT_DIR=$d/cert-dir" \
            "${var}_CERTS_D=$d/certs.d"
    fi
}

stop_registry() { # NAME
    local d
    d=$(registry_base)/$1 || return 0
    registry_kill_pidfile "$d/registry.pid"
    registry_kill_pidfile "$d/token-server.pid"
    registry_kill_pidfile "$d/fake-registry.pid"
}

stop_registries() {
    local base pidfile
    base=$(registry_base) || return 0
    for pidfile in "$base"/*/registry.pid "$base"/*/token-server.pid \
        "$base"/*/fake-registry.pid; do
        [[ -e $pidfile ]] && registry_kill_pidfile "$pidfile"
    done
    return 0
}

# push_test_images REGISTRY [USER:PASS] [NAME...]: copies the layouts of
# build_test_images ($TEST_IMAGES_DIR/NAME, tag latest) to
# REGISTRY/NAME:latest with skopeo, digests preserved (no recompression).
# NAMEs default to busybox layered multiarch zstd.
push_test_images() {
    local reg=$1 creds=${2:-} name
    shift $(($# < 2 ? $# : 2))
    local -a names=("$@") opts=(--quiet --dest-tls-verify=false --preserve-digests)
    ((${#names[@]})) || names=(busybox layered multiarch zstd)
    [[ -n $creds ]] && opts+=(--dest-creds "$creds")
    [[ -d ${TEST_IMAGES_DIR:-} ]] || { registry_die "TEST_IMAGES_DIR unset"; return 1; }
    for name in "${names[@]}"; do
        local -a extra=()
        [[ $name == multiarch ]] && extra=(--all)
        skopeo copy "${opts[@]}" "${extra[@]}" --retry-times 2 \
            "oci:$TEST_IMAGES_DIR/$name:latest" "docker://$reg/$name:latest" ||
            { registry_die "skopeo push of $name to $reg failed"; return 1; }
    done
}

# build_hostile_images OUTDIR: raw pieces of the hostile images (their list
# and what is wrong with each: tests/lib/mkhostile.py).
build_hostile_images() {
    [[ -d ${TEST_IMAGES_DIR:-}/busybox ]] || { registry_die "build_test_images first"; return 1; }
    "$BERTH_TEST_PYTHON" "$BERTH_TEST_LIB/mkhostile.py" "$1" "$TEST_IMAGES_DIR/busybox"
}

# registry_curl REGISTRY [CURL-ARGS...]: curl with the credentials in
# $REGISTRY_CURL_CREDS (USER:PASS, basic auth) if set.
registry_curl() {
    local -a auth=()
    shift
    [[ -n ${REGISTRY_CURL_CREDS:-} ]] && auth=(-u "$REGISTRY_CURL_CREDS")
    curl -sS --max-time 60 "${auth[@]}" "$@"
}

# registry_put_blob REGISTRY NAME FILE: POST then PUT ?digest= (the two-step
# upload of the distribution spec); skips blobs the repository has.
registry_put_blob() {
    local reg=$1 name=$2 file=$3 hex loc sep
    hex=$(sha256sum "$file") || return
    hex=${hex%% *}
    if registry_curl "$reg" -f -o /dev/null -I "http://$reg/v2/$name/blobs/sha256:$hex" 2>/dev/null; then
        return 0
    fi
    loc=$(registry_curl "$reg" -f -X POST -D - -o /dev/null \
        "http://$reg/v2/$name/blobs/uploads/" |
        awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r') || return
    [[ -n $loc ]] || { registry_die "no upload Location from $reg"; return 1; }
    [[ $loc == http* ]] || loc=http://$reg$loc
    sep='?'
    [[ $loc == *\?* ]] && sep='&'
    registry_curl "$reg" -f -o /dev/null -X PUT \
        -H 'Content-Type: application/octet-stream' \
        --data-binary "@$file" "$loc${sep}digest=sha256:$hex" ||
        { registry_die "blob upload sha256:$hex to $reg/$name failed"; return 1; }
}

# push_raw_image REGISTRY NAME DIR [STORAGE_ROOT]: pushes one directory of
# build_hostile_images to REGISTRY/NAME:latest over plain http with curl,
# then applies DIR/replace (needs STORAGE_ROOT, the registry's storage on
# disk) and DIR/delete.
push_raw_image() {
    local reg=$1 name=$2 dir=$3 storage=${4:-} f hex type data
    for f in "$dir"/blobs/*; do
        registry_put_blob "$reg" "$name" "$f" || return
    done
    type=$(<"$dir/manifest.type")
    registry_curl "$reg" -f -o /dev/null -X PUT -H "Content-Type: $type" \
        --data-binary "@$dir/manifest" "http://$reg/v2/$name/manifests/latest" ||
        { registry_die "manifest PUT of $name to $reg failed"; return 1; }
    for f in "$dir"/replace/*; do
        [[ -e $f ]] || continue
        hex=${f##*/}
        data=$storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
        [[ -n $storage && -f $data ]] ||
            { registry_die "$name: no stored blob $data to replace"; return 1; }
        cat "$f" >"$data" || return
    done
    for f in "$dir"/delete/*; do
        [[ -e $f ]] || continue
        registry_curl "$reg" -f -o /dev/null -X DELETE \
            "http://$reg/v2/$name/blobs/sha256:${f##*/}" ||
            { registry_die "$name: blob delete failed"; return 1; }
    done
}

# push_hostile_images REGISTRY HOSTILE_DIR STORAGE_ROOT: every image of
# build_hostile_images as REGISTRY/NAME:latest (plain http registry).
push_hostile_images() {
    local reg=$1 hdir=$2 storage=$3 d
    for d in "$hdir"/*/; do
        d=${d%/}
        [[ -f $d/manifest && ! -e $d/fake-only ]] || continue
        push_raw_image "$reg" "${d##*/}" "$d" "$storage" || return
    done
}
