#!/usr/bin/env bats
# images, image inspect, tag, untag, rmi, image prune, image exists: the
# listing and its --format templates and filters, and what removal leaves
# in the store.

load helpers

# Rootless stores hold files of subordinate ids that bats cannot delete.
teardown() {
    if [[ -d $(berth_store)/root ]]; then
        berth_cmd system reset -f >/dev/null 2>&1 || true
    fi
}

# pull_test_images NAME...: pulls the test images from $REGISTRY_PLAIN.
pull_test_images() {
    skip_if_no_registry
    local n
    for n in "$@"; do
        CONTAINERS_REGISTRIES_CONF=$TEST_REGISTRIES_CONF \
            berth_cmd pull -q "$(test_image_ref "$n")" >/dev/null || return
    done
}

# import_image NAME [IMPORT-FLAGS...]: a one-file image from busybox-static.
import_image() {
    local t=$BATS_TEST_TMPDIR name=$1
    shift
    if [[ ! -f $t/rootfs.tar ]]; then
        mkdir -p "$t/rootfs/bin"
        cp /bin/busybox "$t/rootfs/bin/"
        tar -C "$t/rootfs" -cf "$t/rootfs.tar" .
    fi
    berth_cmd import -q "$@" "$t/rootfs.tar" "$name" >/dev/null
}

short_id() { # NAME
    berth_cmd image inspect --format '{{.Id}}' "$1" | cut -c1-12
}

store_ls() { # SUB: the entries of the store's ROOT/SUB, sorted
    ls -A "$(berth_store)/root/$1" | sort
}

@test "images: default table, -q, --no-trunc, --digests, --noheading" {
    pull_test_images busybox layered
    local bb ly bbid lyid
    bb=$REGISTRY_PLAIN/busybox
    ly=$REGISTRY_PLAIN/layered
    bbid=$(test_image_config_digest busybox)
    lyid=$(test_image_config_digest layered)

    run_berth images
    assert_success
    assert_equal "${#lines[@]}" 3 "lines"
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]] ||
        berth_test_fail "bad header: ${lines[0]}"
    # columns line up: each value starts under its header
    local h=${lines[0]} row col
    for row in "${lines[1]}" "${lines[2]}"; do
        for col in TAG "IMAGE ID" CREATED SIZE; do
            local pre=${h%%"$col"*}
            [[ ${row:${#pre}-2:2} == "  " && ${row:${#pre}:1} != " " ]] ||
                berth_test_fail "column $col misaligned" "$h" "$row"
        done
    done
    assert_line --partial "$bb "
    assert_line --partial "$ly "
    local bbrow
    bbrow=$(printf '%s\n' "${lines[@]}" | grep "^$bb ")
    [[ $bbrow =~ ^$bb\ +latest\ +${bbid:7:12}\ +[0-9]+\ years\ ago\ +[0-9.]+\ [kM]B$ ]] ||
        berth_test_fail "busybox row: $bbrow"

    run_berth images -q
    assert_success
    assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "${bbid:7:12}" "${lyid:7:12}" | sort)" "images -q"

    run_berth images --no-trunc
    assert_success
    assert_line --partial "$bbid"
    assert_line --partial "$lyid"

    run_berth images --digests
    assert_success
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]] ||
        berth_test_fail "bad --digests header: ${lines[0]}"
    assert_line --partial "$(test_image_digest busybox)  ${bbid:7:12}"

    run_berth images --noheading
    assert_success
    assert_equal "${#lines[@]}" 2 "lines without heading"
    refute_line --partial REPOSITORY
}

@test "images --format: fields, table, json and template functions" {
    pull_test_images busybox
    local bb=$REGISTRY_PLAIN/busybox
    berth_cmd tag "$bb" mixed/case:v1

    run_berth images --format '{{.Repository}}:{{.Tag}}'
    assert_success
    assert_equal "$(sort <<<"$output")" "$bb:latest
localhost/mixed/case:v1" "repo:tag"

    run_berth images --format 'table {{.Repository}}\t{{.Tag}}' localhost/mixed/case
    assert_success
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG$ ]] || berth_test_fail "table header: ${lines[0]}"

    run_berth images --format json
    assert_success
    assert_equal "$(jq -r '.[0].Id' <<<"$output")" "$(test_image_config_digest busybox | cut -c8-)" "json Id"
    assert_equal "$(jq -r '.[0].Names | sort | join(",")' <<<"$output")" \
        "$bb:latest,localhost/mixed/case:v1" "json Names"
    assert_equal "$(jq -r '.[0].Labels["org.berth.test.image"]' <<<"$output")" busybox "json Labels"

    run_berth images --format '{{json .Names}}' "$bb"
    assert_success
    [[ $(jq -r 'sort | join(",")' <<<"${lines[0]}") == "$bb:latest,localhost/mixed/case:v1" ]] ||
        berth_test_fail "json .Names: $output"

    run_berth images --noheading --format '{{range .Names}}<{{.}}>{{end}}' "$bb"
    assert_success
    assert_line --partial "<$bb:latest>"
    assert_line --partial "<localhost/mixed/case:v1>"

    run_berth images --format '{{if eq .Tag "v1"}}V1{{else}}other{{end}}'
    assert_success
    assert_equal "$(sort <<<"$output")" "V1
other" "if/else"

    run_berth images --format '{{index .Labels "org.berth.test.image"}}|{{upper .Tag}}|{{upper .Repository}}|{{lower "MiX"}}' localhost/mixed/case:v1
    assert_success
    assert_line "busybox|V1|LOCALHOST/MIXED/CASE|mix"
    assert_line "busybox|LATEST|${bb^^}|mix"

    run_berth images --format '{{join .Names ","}}' "$bb"
    assert_success
    assert_line --partial ","

    run_berth images --format '{{.Repository'
    assert_failure 125
    assert_output_contains "template:"
    [[ $output =~ :1:|:1$ ]] || berth_test_fail "no position in: $output"
    run_berth images --format '{{if .Tag}}x'
    assert_failure 125
    assert_output_contains "template:"
}

@test "images --filter: dangling, reference, label, before, since" {
    pull_test_images busybox layered
    local bb=$REGISTRY_PLAIN/busybox ly=$REGISTRY_PLAIN/layered
    import_image first --change LABEL=stage=one
    import_image second --change LABEL=stage=two
    import_image gone
    berth_cmd untag localhost/gone
    local fmt='{{.Repository}}'

    run_berth images --noheading --filter dangling=true --format '{{.Tag}}'
    assert_success
    assert_output "<none>"
    run_berth images --filter dangling=false --format "$fmt"
    assert_equal "$(sort <<<"$output")" "$bb
$ly
localhost/first
localhost/second" "dangling=false"

    run_berth images --filter reference=busybox --format "$fmt"
    assert_output "$bb"
    run_berth images --filter "reference=$ly:latest" --format "$fmt"
    assert_output "$ly"
    run_berth images --filter 'reference=*/[fs]*' --format "$fmt"
    assert_equal "$(sort <<<"$output")" "localhost/first
localhost/second" "reference glob"
    run_berth images --filter reference=nomatch --format "$fmt"
    assert_success
    assert_output ""

    run_berth images --filter label=stage=two --format "$fmt"
    assert_output "localhost/second"
    run_berth images --filter label=stage --format "$fmt"
    assert_equal "$(sort <<<"$output")" "localhost/first
localhost/second" "label key only"
    run_berth images --filter label=org.berth.test.image=layered --filter dangling=false --format "$fmt"
    assert_output "$ly"

    # the pulled images were created in 1970, the imports now
    run_berth images --filter since="$bb" --filter dangling=false --format "$fmt"
    assert_equal "$(sort <<<"$output")" "localhost/first
localhost/second" "since"
    run_berth images --filter before=localhost/first --format "$fmt"
    assert_equal "$(sort <<<"$output")" "$bb
$ly" "before"

    run_berth images --filter bogus=1
    assert_failure 125
    assert_output_contains 'invalid filter "bogus"'
    run_berth images --filter dangling
    assert_failure 125
    assert_output_contains "invalid filter"
    run_berth images --filter before=nosuch
    assert_failure 125
    assert_output_contains "nosuch: image not known"
}

@test "image inspect: fields, --format, missing image" {
    pull_test_images layered
    local ly=$REGISTRY_PLAIN/layered cfg
    cfg=$(test_image_config_digest layered)
    run_berth image inspect "$ly"
    assert_success
    local j=$output
    assert_equal "$(jq -r 'length' <<<"$j")" 1 "array length"
    assert_equal "$(jq -r '.[0].Id' <<<"$j")" "${cfg#sha256:}" Id
    assert_equal "$(jq -c '.[0].RepoTags' <<<"$j")" "[\"$ly:latest\"]" RepoTags
    assert_equal "$(jq -c '.[0].RepoDigests' <<<"$j")" "[\"$ly@$(test_image_digest layered)\"]" RepoDigests
    assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$j")" '["sh"]' Config.Cmd
    assert_equal "$(jq -c '.[0].Config.Env' <<<"$j")" \
        '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' Config.Env
    assert_equal "$(jq -c '.[0].Config.Labels' <<<"$j")" '{"org.berth.test.image":"layered"}' Config.Labels
    assert_equal "$(jq -r '.[0].Architecture' <<<"$j")" "$TEST_HOST_ARCH" Architecture
    assert_equal "$(jq -r '.[0].Os' <<<"$j")" linux Os
    assert_equal "$(jq -r '.[0].RootFS.Layers | length' <<<"$j")" 4 "RootFS.Layers"
    local size
    size=$(jq -r '.[0].Size' <<<"$j")
    ((size > 1000000)) || berth_test_fail "Size too small: $size"

    run_berth inspect --format '{{.Id}} {{.Config.Cmd}} {{len .RootFS.Layers}} {{.Os}}/{{.Architecture}}' "$ly"
    assert_success
    assert_output "${cfg#sha256:} [sh] 4 linux/$TEST_HOST_ARCH"
    run_berth image inspect --format '{{.Size}}' "$ly"
    assert_output "$size"

    run_berth image inspect nosuch
    assert_failure 125
    assert_output "Error: nosuch: image not known"
    run_berth inspect nosuch
    assert_failure 125
    assert_output 'Error: no such object: "nosuch"'
}

@test "tag, untag: short names, moving a name, removing names" {
    import_image a
    import_image b --change CMD=/bin/true
    local ida idb
    ida=$(short_id a)
    idb=$(short_id b)
    [[ $ida != "$idb" ]] || berth_test_fail "the two imports share an id"

    run_berth tag a mine
    assert_success
    assert_output ""
    run_berth images --format '{{.Repository}}:{{.Tag}} {{.ID}}' "$ida"
    assert_line "localhost/mine:latest $ida"
    run_berth tag a reg.example:5000/x/y:2 other
    assert_success
    run_berth image inspect --format '{{range .RepoTags}}{{.}} {{end}}' a
    assert_output "localhost/a:latest localhost/mine:latest reg.example:5000/x/y:2 localhost/other:latest "

    # a name moves: b takes "mine" from a
    run_berth tag b mine
    assert_success
    run_berth image inspect --format '{{.Id}}' localhost/mine
    assert_output "$(berth_cmd image inspect --format '{{.Id}}' b)"
    run_berth image inspect --format '{{range .RepoTags}}{{.}} {{end}}' a
    assert_output "localhost/a:latest reg.example:5000/x/y:2 localhost/other:latest "

    run_berth tag nosuch x
    assert_failure 125
    assert_output "Error: nosuch: image not known"

    run_berth untag a other
    assert_success
    run_berth image exists other
    assert_failure 1
    # untag without names removes all: the image stays, dangling
    run_berth untag a
    assert_success
    run_berth images --noheading --format '{{.Repository}}:{{.Tag}} {{.ID}}' --filter dangling=true
    assert_output "<none>:<none> $ida"
}

@test "rmi: names, ids, -f, -a, -i and missing images" {
    import_image a
    import_image b --change CMD=/bin/true
    local ida idb
    ida=$(berth_cmd image inspect --format '{{.Id}}' a)
    idb=$(berth_cmd image inspect --format '{{.Id}}' b)
    berth_cmd tag a a2 a3

    # one of several names: only that name goes
    run_berth rmi a2
    assert_success
    assert_output "Untagged: localhost/a2:latest"
    run_berth image exists a
    assert_success

    # by id with several names: refused without -f
    run_berth rmi "${ida:0:12}"
    assert_failure 125
    assert_output "Error: unable to delete image \"$ida\" by ID with more than one tag ([localhost/a:latest localhost/a3:latest]): please force removal"
    run_berth rmi -f "${ida:0:12}"
    assert_success
    assert_line "Untagged: localhost/a:latest"
    assert_line "Untagged: localhost/a3:latest"
    assert_line "Deleted: $ida"
    run_berth image exists "$ida"
    assert_failure 1

    run_berth rmi nosuch
    assert_failure 1
    assert_output "Error: nosuch: image not known"
    # podman: exit 1 wins only when nothing worse happened; b is removed
    run_berth rmi nosuch b
    assert_failure 1
    assert_line "Deleted: $idb"
    run_berth rmi -i nosuch
    assert_success
    assert_output ""
    run_berth rmi
    assert_failure 125
    assert_output "Error: rmi: requires at least 1 arg(s), only received 0"

    import_image c
    import_image d --change CMD=/bin/true
    run_berth rmi -a nosuch
    assert_failure 125
    run_berth rmi -a
    assert_success
    assert_line "Untagged: localhost/c:latest"
    assert_line "Untagged: localhost/d:latest"
    run_berth images -q
    assert_output ""
    assert_equal "$(store_ls images)" "" "image records left"
}

@test "rmi: layers and blobs go, layers shared with another image stay" {
    pull_test_images busybox layered
    local bbl base
    # busybox's only layer is the layered image's base
    bbl=$(berth_cmd image inspect --format '{{index .RootFS.Layers 0}}' "$REGISTRY_PLAIN/busybox")
    base=$(berth_cmd image inspect --format '{{index .RootFS.Layers 0}}' "$REGISTRY_PLAIN/layered")
    assert_equal "$bbl" "$base" "shared base layer"
    assert_equal "$(store_ls layers | wc -l)" 4 "layers with both images"
    local lyblobs
    lyblobs=$(store_ls blobs/sha256)
    [[ $lyblobs == *"$(test_image_config_digest layered | cut -c8-)"* ]] ||
        berth_test_fail "no config blob of layered in: $lyblobs"

    run_berth rmi "$REGISTRY_PLAIN/layered"
    assert_success
    assert_line "Deleted: $(test_image_config_digest layered | cut -c8-)"
    run store_ls layers
    assert_equal "$output" "${bbl#sha256:}" "layers after rmi layered"
    run store_ls blobs/sha256
    assert_output_not_contains "$(test_image_config_digest layered | cut -c8-)"
    assert_output_not_contains "$(test_image_digest layered | cut -c8-)"
    assert_output_contains "$(test_image_config_digest busybox | cut -c8-)"
    run_berth inspect --format '{{.Config.Cmd}}' "$REGISTRY_PLAIN/busybox"
    assert_output "[sh]"

    run_berth rmi "$REGISTRY_PLAIN/busybox"
    assert_success
    assert_equal "$(store_ls layers)" "" "layers at the end"
    assert_equal "$(store_ls blobs/sha256)" "" "blobs at the end"
    assert_equal "$(store_ls images)" "" "records at the end"
}

@test "image prune: dangling only, -a all; image exists" {
    import_image keep
    import_image dangle --change CMD=/bin/true
    local idd
    idd=$(berth_cmd image inspect --format '{{.Id}}' dangle)
    berth_cmd untag dangle

    run_berth image exists keep
    assert_success
    assert_output ""
    run_berth image exists nosuch
    assert_failure 1
    assert_output ""

    # without -f it asks; no means no
    run_berth image prune <<<"n"
    assert_success
    assert_output_contains "Are you sure you want to continue? [y/N]"
    run_berth image exists "$idd"
    assert_success

    run_berth image prune -f
    assert_success
    assert_output "$idd"
    run_berth image exists "$idd"
    assert_failure 1
    run_berth image exists keep
    assert_success

    run_berth image prune -a -f
    assert_success
    run_berth image exists keep
    assert_failure 1
    run_berth images -q
    assert_output ""
}
