#!/bin/bash
# Test images for berth's system tests, built from busybox-static with
# GNU tar, gzip, zstd, sha256sum and jq as OCI image layouts (oci-layout,
# index.json, blobs/sha256/...).  Source it for the functions, or run
#   tests/lib/mkimage.sh build_test_images OUTDIR
#   tests/lib/mkimage.sh build_big_image OUTDIR SIZE_MB LAYERS
#
# Every layout holds one image tagged "latest" (index.json annotation
# org.opencontainers.image.ref.name=latest).  Output is byte-for-byte
# reproducible: tar --sort=name --mtime=@0 --numeric-owner, PAX format without
# atime/ctime, gzip -n, jq -c; so digests are stable between runs.
#
# build_test_images OUTDIR makes:
#
# OUTDIR/busybox: one gzip layer, "the busybox layer" (root:root unless noted)
#   bin/ 0755, bin/busybox 0755 (the host's /bin/busybox from busybox-static),
#   bin/APPLET -> busybox for every applet of `busybox --list` (sh, ls, cat,
#     id, echo, true, false, sleep, stat, env, ...),
#   dev/ proc/ sys/ usr/ var/ 0755, tmp/ 1777, root/ 0700,
#   etc/ 0755, etc/passwd and etc/group 0644:
#     root:x:0:0 (/root, /bin/sh), user:x:1000:1000 (/home/user, /bin/sh),
#     nobody:x:65534:65534 (/nonexistent, /bin/false);
#     groups root:0, user:1000, nobody:65534,
#   home/ 0755, home/user/ 0755 owned 1000:1000.
#   config: architecture = host (OCI name of `dpkg --print-architecture`),
#   os linux, Cmd ["sh"], Env [PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:
#   /usr/bin:/sbin:/bin], WorkingDir "/", ExposedPorts {"8080/tcp":{}},
#   Labels {"org.berth.test.image":"busybox"}, created 1970-01-01T00:00:00Z.
#
# OUTDIR/layered: the busybox layer, then (all gzip):
#   layer 2  data/ 0755
#            data/keep        "keep\n"      0644
#            data/remove-me   "remove-me\n" 0644   (whited out by layer 3)
#            opaque/ 0755, opaque/old-a "old-a\n", opaque/old-b "old-b\n",
#            opaque/sub/ 0755, opaque/sub/old-c "old-c\n" (hidden by layer 3)
#            gone-dir/ 0755, gone-dir/x "x\n"       (whited out by layer 4)
#            links/ 0755
#            links/hard-a     "hardlink\n" 0644, and links/hard-b a hard link
#                             to it (tar type '1'; nlink 2 when unpacked)
#            links/sym        -> ../data/keep   (relative symlink)
#            links/abs-sym    -> /data/keep     (absolute symlink)
#            perm/ 0755, perm/setuid "setuid\n" mode 4755 root:root
#            owned/ 0755
#            owned/user-file   "user\n"   0644 1000:1000
#            owned/user-dir/   0755       1000:1000
#            owned/nobody-file "nobody\n" 0600 65534:65534
#   layer 3  data/ 0755, data/.wh.remove-me      (whiteout of a file)
#            data/added-in-l3 "l3\n" 0644
#            opaque/ 0755, opaque/.wh..wh..opq   (opaque directory)
#            opaque/new "new\n" 0644
#   layer 4  .wh.gone-dir                        (whiteout of a directory)
#            data/ 0755, data/keep "keep-v4\n" 0644 (overwrites layer 2's)
#            l4-marker "4\n" 0644
#   So the final rootfs has, besides busybox's files:
#     data/keep = "keep-v4\n", data/added-in-l3 = "l3\n", no data/remove-me;
#     opaque/ holding only "new"; no gone-dir; links/hard-a and hard-b one
#     inode; links/sym, links/abs-sym; perm/setuid 4755; owned/* as above;
#     l4-marker = "4\n".
#   config: as busybox, Labels {"org.berth.test.image":"layered"}.
#
# OUTDIR/multiarch: index.json -> an OCI image index (the tag "latest" names
#   the index) with two manifests, each the busybox layer:
#   platform {architecture: HOST, os: linux}, config label arch=HOST;
#   platform {architecture: OTHER, os: linux}, config label arch=OTHER;
#   HOST is the host's OCI arch (amd64 here), OTHER is arm64 (amd64 when the
#   host is arm64).  The OTHER image still holds the host's busybox binary.
#
# OUTDIR/zstd: the busybox files as one zstd layer (mediaType
#   application/vnd.oci.image.layer.v1.tar+zstd), label image=zstd.
#
# build_big_image OUTDIR SIZE_MB LAYERS: LAYERS gzip layers of seeded
#   pseudo-random files (openssl aes-128-ctr keystream: incompressible,
#   reproducible), SIZE_MB in total, on top of the busybox layer, for bench/.

# shellcheck disable=SC2054 # the commas belong to --pax-option
MKIMAGE_TAR_OPTS=(--sort=name --mtime=@0 --numeric-owner --no-recursion
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime
    --no-acls --no-xattrs --no-selinux)
MKIMAGE_LAYER_GZIP=application/vnd.oci.image.layer.v1.tar+gzip
MKIMAGE_LAYER_ZSTD=application/vnd.oci.image.layer.v1.tar+zstd
MKIMAGE_LAYER_TAR=application/vnd.oci.image.layer.v1.tar
MKIMAGE_MANIFEST=application/vnd.oci.image.manifest.v1+json
MKIMAGE_INDEX=application/vnd.oci.image.index.v1+json
MKIMAGE_CONFIG=application/vnd.oci.image.config.v1+json

mkimage_die() {
    echo "mkimage: $*" >&2
    return 1
}

# OCI architecture name of the host (GOARCH spelling).
mkimage_host_arch() {
    local arch
    arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
    case $arch in
    amd64 | x86_64) echo amd64 ;;
    arm64 | aarch64) echo arm64 ;;
    armhf | armel | arm*) echo arm ;;
    i386 | i686) echo 386 ;;
    ppc64el | ppc64le) echo ppc64le ;;
    mips64el) echo mips64le ;;
    *) echo "$arch" ;;
    esac
}

# The architecture the multiarch image offers besides the host's.
mkimage_other_arch() {
    if [[ $(mkimage_host_arch) == arm64 ]]; then echo amd64; else echo arm64; fi
}

mkimage_init_layout() {
    local layout=$1
    rm -rf "$layout"
    mkdir -p "$layout/blobs/sha256" "$layout/.work" || return
    printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
}

# mkimage_add_blob LAYOUT FILE: moves FILE into the layout; prints
# "sha256:HEX SIZE".
mkimage_add_blob() {
    local layout=$1 file=$2 hex size
    hex=$(sha256sum "$file") || return
    hex=${hex%% *}
    size=$(stat -c %s "$file") || return
    mv -f "$file" "$layout/blobs/sha256/$hex" || return
    echo "sha256:$hex $size"
}

# Staging helpers: a layer is a directory ROOT plus ROOT.owners, lines of
# "PATH UID GID" for entries not owned by 0:0 (so no chown and no root
# needed to build).  Modes are set explicitly, never from the umask.
mk_dir() { # ROOT PATH MODE [UID:GID]
    mkdir -p "$1/$2" && chmod "$3" "$1/$2" && mkimage_owner "$@"
}
mk_file() { # ROOT PATH MODE CONTENT [UID:GID]
    mkdir -p "$(dirname "$1/$2")" && printf '%s' "$4" >"$1/$2" &&
        chmod "$3" "$1/$2" && mkimage_owner "$1" "$2" "$3" "${5:-}"
}
mk_symlink() { # ROOT PATH TARGET
    mkdir -p "$(dirname "$1/$2")" && ln -sfn "$3" "$1/$2"
}
mk_hardlink() { # ROOT PATH EXISTING-PATH
    ln -f "$1/$3" "$1/$2"
}
mkimage_owner() { # ROOT PATH MODE [UID:GID]
    [[ -n ${4:-} ]] || return 0
    echo "$2 ${4%%:*} ${4##*:}" >>"$1.owners"
}

# mkimage_tar ROOT OUT.tar: every entry under ROOT in C-locale name order,
# with owners from ROOT.owners.  GNU tar sets one owner per invocation, so
# consecutive entries with the same owner go in one `tar -r` each; a hard
# link pair must be adjacent and same-owned to be stored as a link.
mkimage_tar() {
    local root=$1 out=$2 path uid gid cur="" list owner
    local -a batch=()
    local -A owners=()
    if [[ -f $root.owners ]]; then
        while read -r path uid gid; do owners[$path]="$uid:$gid"; done <"$root.owners"
    fi
    list=$(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort) || return
    : >"$out"
    while IFS= read -r path; do
        owner=${owners[$path]:-0:0}
        if [[ $owner != "$cur" && ${#batch[@]} -gt 0 ]]; then
            mkimage_tar_batch "$root" "$out" "$cur" "${batch[@]}" || return
            batch=()
        fi
        cur=$owner
        batch+=("$path")
    done <<<"$list"
    if [[ ${#batch[@]} -gt 0 ]]; then
        mkimage_tar_batch "$root" "$out" "$cur" "${batch[@]}" || return
    fi
}
mkimage_tar_batch() { # ROOT OUT UID:GID PATHS...
    local root=$1 out=$2 owner=$3
    shift 3
    tar -C "$root" -rf "$out" "${MKIMAGE_TAR_OPTS[@]}" \
        --owner="${owner%%:*}" --group="${owner##*:}" -- "$@"
}

# mkimage_layer LAYOUT ROOT gzip|zstd|none: packs ROOT as a layer blob.
# Prints "DIGEST SIZE MEDIATYPE DIFFID".
mkimage_layer() {
    local layout=$1 root=$2 comp=$3 tarf diff blob mt
    tarf=$layout/.work/layer.tar
    mkimage_tar "$root" "$tarf" || return
    diff=$(sha256sum "$tarf") || return
    diff=sha256:${diff%% *}
    case $comp in
    gzip) gzip -n -6 -c "$tarf" >"$tarf.c" && mt=$MKIMAGE_LAYER_GZIP ;;
    zstd) zstd -q -3 -c "$tarf" >"$tarf.c" && mt=$MKIMAGE_LAYER_ZSTD ;;
    none) cp "$tarf" "$tarf.c" && mt=$MKIMAGE_LAYER_TAR ;;
    *) mkimage_die "unknown compression $comp" ;;
    esac || return
    rm -f "$tarf"
    blob=$(mkimage_add_blob "$layout" "$tarf.c") || return
    echo "$blob $mt $diff"
}

# mkimage_config LAYOUT ARCH LABELS_JSON DIFFID...: prints "DIGEST SIZE".
mkimage_config() {
    local layout=$1 arch=$2 labels=$3 f
    shift 3
    f=$layout/.work/config.json
    jq -cn --arg arch "$arch" --argjson labels "$labels" \
        --args '{
        created: "1970-01-01T00:00:00Z",
        architecture: $arch, os: "linux",
        config: {
            Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            Cmd: ["sh"], WorkingDir: "/",
            ExposedPorts: {"8080/tcp": {}},
            Labels: $labels
        },
        rootfs: {type: "layers", diff_ids: $ARGS.positional},
        history: [$ARGS.positional[] | {created: "1970-01-01T00:00:00Z",
                  created_by: "berth tests/lib/mkimage.sh"}]
    }' "$@" | tr -d '\n' >"$f" || return
    mkimage_add_blob "$layout" "$f"
}

# mkimage_manifest LAYOUT CONFIG_DIGEST CONFIG_SIZE LAYERLINE...: each
# LAYERLINE is "DIGEST SIZE MEDIATYPE ...".  Prints "DIGEST SIZE".
mkimage_manifest() {
    local layout=$1 cdigest=$2 csize=$3 f line layers="[]" d s m
    shift 3
    for line in "$@"; do
        read -r d s m _ <<<"$line"
        layers=$(jq -c --arg d "$d" --argjson s "$s" --arg m "$m" \
            '. + [{mediaType: $m, digest: $d, size: $s}]' <<<"$layers") || return
    done
    f=$layout/.work/manifest.json
    jq -cn --arg cd "$cdigest" --argjson cs "$csize" --argjson layers "$layers" \
        --arg mt "$MKIMAGE_MANIFEST" --arg ct "$MKIMAGE_CONFIG" \
        '{schemaVersion: 2, mediaType: $mt,
          config: {mediaType: $ct, digest: $cd, size: $cs},
          layers: $layers}' | tr -d '\n' >"$f" || return
    mkimage_add_blob "$layout" "$f"
}

# mkimage_tag LAYOUT MEDIATYPE "DIGEST SIZE": index.json naming it "latest".
mkimage_tag() {
    local layout=$1 d s
    read -r d s <<<"$3"
    jq -cn --arg m "$2" --arg d "$d" --argjson s "$s" \
        '{schemaVersion: 2, manifests: [{mediaType: $m, digest: $d, size: $s,
          annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' |
        tr -d '\n' >"$layout/index.json" || return
    rm -rf "$layout/.work"
}

# mkimage_image LAYOUT ARCH LABELS_JSON LAYERLINE...: config + manifest,
# prints the manifest's "DIGEST SIZE".
mkimage_image() {
    local layout=$1 arch=$2 labels=$3 line cfg cd cs
    shift 3
    local -a diffs=()
    for line in "$@"; do diffs+=("${line##* }"); done
    cfg=$(mkimage_config "$layout" "$arch" "$labels" "${diffs[@]}") || return
    read -r cd cs <<<"$cfg"
    mkimage_manifest "$layout" "$cd" "$cs" "$@"
}

# The busybox root filesystem (see the top of this file) into ROOT.
mkimage_busybox_root() {
    local root=$1 applet bb=${BUSYBOX:-/bin/busybox}
    [[ -x $bb ]] || mkimage_die "no $bb: install busybox-static" || return
    # A dynamic busybox (package busybox) would need the host's libc inside.
    if command -v file >/dev/null && file -L "$bb" | grep -q 'dynamically linked'; then
        mkimage_die "$bb is dynamically linked; install busybox-static"
        return 1
    fi
    rm -rf "$root" "$root.owners"
    mk_dir "$root" bin 0755 || return
    cp "$bb" "$root/bin/busybox" && chmod 0755 "$root/bin/busybox" || return
    for applet in $("$bb" --list); do
        [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet" || return
    done
    mk_dir "$root" dev 0755 && mk_dir "$root" proc 0755 &&
        mk_dir "$root" sys 0755 && mk_dir "$root" usr 0755 &&
        mk_dir "$root" var 0755 && mk_dir "$root" tmp 1777 &&
        mk_dir "$root" root 0700 && mk_dir "$root" etc 0755 &&
        mk_dir "$root" home 0755 && mk_dir "$root" home/user 0755 1000:1000 || return
    mk_file "$root" etc/passwd 0644 "root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
" && mk_file "$root" etc/group 0644 "root:x:0:
user:x:1000:
nobody:x:65534:
"
}

mkimage_layered_roots() { # WORK: makes WORK/l2 WORK/l3 WORK/l4
    local w=$1 r
    r=$w/l2
    rm -rf "$r" "$r.owners"
    mk_dir "$r" data 0755 && mk_file "$r" data/keep 0644 $'keep\n' &&
        mk_file "$r" data/remove-me 0644 $'remove-me\n' &&
        mk_dir "$r" opaque 0755 && mk_file "$r" opaque/old-a 0644 $'old-a\n' &&
        mk_file "$r" opaque/old-b 0644 $'old-b\n' && mk_dir "$r" opaque/sub 0755 &&
        mk_file "$r" opaque/sub/old-c 0644 $'old-c\n' &&
        mk_dir "$r" gone-dir 0755 && mk_file "$r" gone-dir/x 0644 $'x\n' &&
        mk_dir "$r" links 0755 && mk_file "$r" links/hard-a 0644 $'hardlink\n' &&
        mk_hardlink "$r" links/hard-b links/hard-a &&
        mk_symlink "$r" links/sym ../data/keep &&
        mk_symlink "$r" links/abs-sym /data/keep &&
        mk_dir "$r" perm 0755 && mk_file "$r" perm/setuid 4755 $'setuid\n' &&
        mk_dir "$r" owned 0755 &&
        mk_file "$r" owned/user-file 0644 $'user\n' 1000:1000 &&
        mk_dir "$r" owned/user-dir 0755 1000:1000 &&
        mk_file "$r" owned/nobody-file 0600 $'nobody\n' 65534:65534 || return
    r=$w/l3
    rm -rf "$r" "$r.owners"
    mk_dir "$r" data 0755 && mk_file "$r" data/.wh.remove-me 0644 "" &&
        mk_file "$r" data/added-in-l3 0644 $'l3\n' &&
        mk_dir "$r" opaque 0755 && mk_file "$r" opaque/.wh..wh..opq 0644 "" &&
        mk_file "$r" opaque/new 0644 $'new\n' || return
    r=$w/l4
    rm -rf "$r" "$r.owners"
    mk_file "$r" .wh.gone-dir 0644 "" && mk_dir "$r" data 0755 &&
        mk_file "$r" data/keep 0644 $'keep-v4\n' &&
        mk_file "$r" l4-marker 0644 $'4\n'
}

mkimage_labels() { # KEY=VALUE... -> JSON object
    local kv json='{}'
    for kv in "$@"; do
        json=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$json") || return
    done
    echo "$json"
}

# build_test_images OUTDIR: the four layouts described at the top.
build_test_images() {
    local out=$1 work arch other bb l2 l3 l4 zl m1 m2 idx
    [[ -n $out ]] || { mkimage_die "usage: build_test_images OUTDIR"; return 1; }
    mkdir -p "$out" || return
    out=$(cd "$out" && pwd)
    work=$out/.staging
    rm -rf "$work"
    mkdir -p "$work" || return
    arch=$(mkimage_host_arch)
    other=$(mkimage_other_arch)
    mkimage_busybox_root "$work/busybox" || return

    mkimage_init_layout "$out/busybox" || return
    bb=$(mkimage_layer "$out/busybox" "$work/busybox" gzip) || return
    m1=$(mkimage_image "$out/busybox" "$arch" \
        "$(mkimage_labels org.berth.test.image=busybox)" "$bb") || return
    mkimage_tag "$out/busybox" "$MKIMAGE_MANIFEST" "$m1" || return

    mkimage_init_layout "$out/layered" || return
    mkimage_layered_roots "$work" || return
    bb=$(mkimage_layer "$out/layered" "$work/busybox" gzip) &&
        l2=$(mkimage_layer "$out/layered" "$work/l2" gzip) &&
        l3=$(mkimage_layer "$out/layered" "$work/l3" gzip) &&
        l4=$(mkimage_layer "$out/layered" "$work/l4" gzip) || return
    m1=$(mkimage_image "$out/layered" "$arch" \
        "$(mkimage_labels org.berth.test.image=layered)" \
        "$bb" "$l2" "$l3" "$l4") || return
    mkimage_tag "$out/layered" "$MKIMAGE_MANIFEST" "$m1" || return

    mkimage_init_layout "$out/multiarch" || return
    bb=$(mkimage_layer "$out/multiarch" "$work/busybox" gzip) || return
    m1=$(mkimage_image "$out/multiarch" "$arch" \
        "$(mkimage_labels org.berth.test.image=multiarch "arch=$arch")" "$bb") &&
        m2=$(mkimage_image "$out/multiarch" "$other" \
            "$(mkimage_labels org.berth.test.image=multiarch "arch=$other")" "$bb") || return
    jq -cn --arg mt "$MKIMAGE_INDEX" --arg m "$MKIMAGE_MANIFEST" \
        --arg d1 "${m1% *}" --argjson s1 "${m1#* }" --arg a1 "$arch" \
        --arg d2 "${m2% *}" --argjson s2 "${m2#* }" --arg a2 "$other" \
        '{schemaVersion: 2, mediaType: $mt, manifests: [
            {mediaType: $m, digest: $d1, size: $s1,
             platform: {architecture: $a1, os: "linux"}},
            {mediaType: $m, digest: $d2, size: $s2,
             platform: {architecture: $a2, os: "linux"}}]}' |
        tr -d '\n' >"$out/multiarch/.work/index.json" || return
    idx=$(mkimage_add_blob "$out/multiarch" "$out/multiarch/.work/index.json") || return
    mkimage_tag "$out/multiarch" "$MKIMAGE_INDEX" "$idx" || return

    mkimage_init_layout "$out/zstd" || return
    zl=$(mkimage_layer "$out/zstd" "$work/busybox" zstd) || return
    m1=$(mkimage_image "$out/zstd" "$arch" \
        "$(mkimage_labels org.berth.test.image=zstd)" "$zl") || return
    mkimage_tag "$out/zstd" "$MKIMAGE_MANIFEST" "$m1" || return
    rm -rf "$work"
}

# build_big_image OUTDIR SIZE_MB LAYERS: see the top of this file.
build_big_image() {
    local out=$1 size_mb=$2 nlayers=$3 work i per rest mb bb line
    [[ -n $out && $size_mb -gt 0 && $nlayers -gt 0 ]] ||
        { mkimage_die "usage: build_big_image OUTDIR SIZE_MB LAYERS"; return 1; }
    mkdir -p "$out" || return
    out=$(cd "$out" && pwd)
    work=$out.staging
    rm -rf "$work"
    mkdir -p "$work" || return
    mkimage_init_layout "$out" || return
    mkimage_busybox_root "$work/busybox" || return
    bb=$(mkimage_layer "$out" "$work/busybox" gzip) || return
    local -a layers=("$bb")
    per=$((size_mb / nlayers))
    rest=$((size_mb - per * nlayers))
    for ((i = 1; i <= nlayers; i++)); do
        mb=$per
        ((i == nlayers)) && mb=$((per + rest))
        rm -rf "$work/big$i"
        mk_dir "$work/big$i" "big" 0755 || return
        # Seeded keystream: same bytes every run, no entropy pool drained.
        # head closes the pipe, so openssl dies of SIGPIPE: check the size.
        {
            openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$i")" \
                -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null || true
        } | head -c $((mb * 1024 * 1024)) >"$work/big$i/big/layer$i.bin"
        [[ $(stat -c %s "$work/big$i/big/layer$i.bin") -eq $((mb * 1024 * 1024)) ]] ||
            { mkimage_die "openssl keystream failed"; return 1; }
        chmod 0644 "$work/big$i/big/layer$i.bin"
        line=$(mkimage_layer "$out" "$work/big$i" gzip) || return
        layers+=("$line")
        rm -rf "$work/big$i"
    done
    line=$(mkimage_image "$out" "$(mkimage_host_arch)" \
        "$(mkimage_labels org.berth.test.image=big)" "${layers[@]}") || return
    mkimage_tag "$out" "$MKIMAGE_MANIFEST" "$line" || return
    rm -rf "$work"
}

# mkimage_oci_archive LAYOUT OUT.tar: the layout as an oci-archive tarball.
mkimage_oci_archive() {
    tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -cf "$2" oci-layout index.json blobs
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    case ${1:-} in
    build_test_images | build_big_image | mkimage_oci_archive) "$@" ;;
    *)
        echo "usage: $0 build_test_images OUTDIR | build_big_image OUTDIR SIZE_MB LAYERS" >&2
        exit 2
        ;;
    esac
fi
