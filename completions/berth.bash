# bash completion for berth                                  -*- shell-script -*-
# Commands and flags are kept in step with `berth COMMAND --help` by
# tests/system/005-cli.bats.

_berth_images() {
    local cur=$1
    COMPREPLY+=($(compgen -W "$(berth images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>')" -- "$cur"))
}

_berth() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
    }
    local global="--root --runroot --storage-driver --log-level --help --version"
    local commands="attach container cp create diff exec export image images import info inspect kill load login logout logs mount network pause pod port ps pull push rename restart rm rmi run save start stop system tag top unmount unpause unshare untag version volume wait"
    local image_cmds="exists import inspect list ls load prune pull push rm save tag untag"
    local system_cmds="df info reset"
    local volume_cmds="create exists inspect list ls prune remove rm"
    local pod_cmds="create exists inspect kill list ls prune ps restart rm start stop"
    local network_cmds="connect create disconnect inspect list ls prune remove rm"
    local container_cmds="attach cp create diff exec exists export inspect kill list logs ls mount pause port prune ps rename restart rm run start stop top umount unmount unpause wait"
    local runflags="--add-host --annotation --cap-add --cap-drop --cpu-shares -c --cpus --detach-keys --device --dns --dns-option --dns-search --entrypoint --env -e --env-file --group-add --hostname -h --init --interactive -i --label -l --log-driver --log-opt --memory -m --memory-swap --mount --name --network --net --pids-limit --pod --privileged --publish -p --publish-all -P --pull --quiet -q --read-only --restart --rm --runtime --security-opt --shm-size --stop-signal --stop-timeout --tmpfs --tty -t --ulimit --user -u --volume -v --workdir -w"
    local reg="--tls-verify --authfile --creds --cert-dir"

    local cmd="" sub="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --root|--runroot|--storage-driver|--log-level) ((i++)) ;;
        -*) ;;
        *) if [ -z "$cmd" ]; then cmd=${words[i]}; elif [ -z "$sub" ]; then sub=${words[i]}; fi ;;
        esac
    done

    case $prev in
    --storage-driver) COMPREPLY=($(compgen -W "overlay vfs" -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "trace debug info warn error fatal panic" -- "$cur")); return ;;
    --format) [ "$cmd" = save ] && COMPREPLY=($(compgen -W "oci-archive docker-archive" -- "$cur")); return ;;
    -o|--output|-i|--input|--authfile|--cert-dir|--digestfile|--root|--runroot) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac

    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$commands $global" -- "$cur")); return
    fi
    local grp=""
    case $cmd in
    container) [ -z "$sub" ] && { COMPREPLY=($(compgen -W "$container_cmds" -- "$cur")); return; }; grp=container; cmd=$sub ;;
    volume) [ -z "$sub" ] && { COMPREPLY=($(compgen -W "$volume_cmds" -- "$cur")); return; }; grp=volume; cmd=vol-$sub ;;
    pod) [ -z "$sub" ] && { COMPREPLY=($(compgen -W "$pod_cmds" -- "$cur")); return; }; grp=pod; cmd=pod-$sub ;;
    network) [ -z "$sub" ] && { COMPREPLY=($(compgen -W "$network_cmds" -- "$cur")); return; }; grp=network; cmd=net-$sub ;;
    image) [ -z "$sub" ] && { COMPREPLY=($(compgen -W "$image_cmds" -- "$cur")); return; }; grp=image; cmd=$sub ;;
    system) [ -z "$sub" ] && { COMPREPLY=($(compgen -W "$system_cmds" -- "$cur")); return; }; cmd=$sub ;;
    esac
    local flags=""
    # rm, ls, list and inspect mean containers at the top level and under
    # `container`, images under `image`
    if [ "$grp" != image ]; then
        case $cmd in
        rm) cmd=ctr-rm ;;
        list|ls) cmd=ps ;;
        inspect) [ "$grp" = container ] && cmd=ctr-inspect ;;
        esac
    fi
    case $cmd in
    run) flags="--detach -d $runflags" ;;
    create) flags="$runflags" ;;
    start) flags="--attach -a --interactive -i" ;;
    attach) flags="--detach-keys --no-stdin" ;;
    vol-create) flags="--driver -d --ignore --label -l --opt -o" ;;
    vol-ls|vol-list) flags="--filter -f --format --noheading -n --quiet -q" ;;
    vol-inspect) flags="--all -a --format -f" ;;
    vol-rm|vol-remove) flags="--all -a --force -f --time -t" ;;
    vol-prune) flags="--force -f" ;;
    cp) flags="--archive -a --overwrite" ;;
    diff) flags="--format" ;;
    export) flags="--output -o" ;;
    mount) flags="--notruncate" ;;
    unmount|umount) flags="--all -a --force -f" ;;
    exec) flags="--detach -d --detach-keys --env -e --env-file --interactive -i --privileged --tty -t --user -u --workdir -w" ;;
    stop) flags="--all -a --ignore -i --time -t" ;;
    kill) flags="--signal -s" ;;
    port) flags="--all -a" ;;
    restart) flags="--time -t" ;;
    ctr-rm) flags="--all -a --force -f --ignore -i --volumes -v" ;;
    ps) flags="--all -a --filter -f --format --last -n --latest -l --no-trunc --noheading --pod -p --quiet -q" ;;
    pod-create) flags="--hostname --label -l --name -n --network --publish -p --share" ;;
    pod-start) flags="--all -a" ;;
    pod-restart) flags="--all -a --time -t" ;;
    pod-stop) flags="--all -a --ignore -i --time -t" ;;
    pod-kill) flags="--all -a --signal -s" ;;
    pod-rm) flags="--all -a --force -f --ignore -i --time -t" ;;
    pod-ps|pod-ls|pod-list) flags="--format --no-trunc --noheading -n --quiet -q" ;;
    pod-inspect) flags="--format -f" ;;
    pod-prune) flags="--force -f" ;;
    net-create) flags="--driver -d --gateway --internal --label --subnet" ;;
    net-ls|net-list) flags="--filter -f --format --no-trunc --noheading -n --quiet -q" ;;
    net-inspect) flags="--format -f" ;;
    net-rm|net-remove) flags="--force -f" ;;
    net-prune) flags="--force -f" ;;
    net-disconnect) flags="--force -f" ;;
    logs) flags="--follow -f --since --tail -n --timestamps -t --until" ;;
    ctr-inspect) flags="--format -f --latest -l --size -s" ;;
    pull) flags="--all-tags -a --arch --os --platform --quiet -q --variant $reg" ;;
    push) flags="--digestfile --quiet -q $reg" ;;
    images|list|ls) flags="--all -a --digests --filter -f --format --no-trunc --noheading -n --quiet -q" ;;
    inspect) flags="--format -f --size -s --type -t" ;;
    rmi|rm) flags="--all -a --force -f --ignore -i" ;;
    prune) if [ "$grp" = container ]; then flags="--force -f"; else flags="--all -a --force -f --filter"; fi ;;
    save) flags="--output -o --format --quiet -q --multi-image-archive -m --compress --uncompressed" ;;
    load) flags="--input -i --quiet -q" ;;
    import) flags="--change -c --message -m --quiet -q --arch --os --variant" ;;
    login) flags="--username -u --password -p --password-stdin --get-login $reg" ;;
    logout) flags="--all -a --authfile" ;;
    info|version) flags="--format -f" ;;
    df) flags="--format --verbose -v" ;;
    reset) flags="--force -f" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
    else
        case $cmd in
        push|rmi|rm|tag|untag|inspect|save|exists) _berth_images "$cur" ;;
        start|stop|kill|restart|ctr-rm|logs|wait|ctr-inspect|exec|attach|top|pause|port|unpause|rename)
            COMPREPLY=($(compgen -W "$(berth ps -a --format '{{.Names}}' 2>/dev/null)" -- "$cur")) ;;
        run|create) _berth_images "$cur" ;;
        net-inspect|net-rm|net-remove|net-connect|net-disconnect)
            COMPREPLY=($(compgen -W "$(berth network ls -q 2>/dev/null)" -- "$cur")) ;;
        pod-start|pod-stop|pod-kill|pod-restart|pod-rm|pod-inspect|pod-exists)
            COMPREPLY=($(compgen -W "$(berth pod ps --format '{{.Name}}' 2>/dev/null)" -- "$cur")) ;;
        vol-inspect|vol-rm|vol-remove|vol-exists)
            COMPREPLY=($(compgen -W "$(berth volume ls -q 2>/dev/null)" -- "$cur")) ;;
        import) COMPREPLY=($(compgen -f -- "$cur")) ;;
        esac
    fi
}
complete -F _berth berth
