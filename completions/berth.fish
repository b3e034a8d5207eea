# fish completion for berth; kept in step with `berth --help` by
# tests/system/005-cli.bats.
set -l commands attach container cp create diff exec export image images import info inspect kill load login logout logs mount network pause pod port ps pull push rename restart rm rmi run save start stop system tag top unmount unpause unshare untag version volume wait
set -l image_cmds exists import inspect list ls load prune pull push rm save tag untag
set -l system_cmds df info reset
set -l volume_cmds create exists inspect list ls prune remove rm
set -l pod_cmds create exists inspect kill list ls prune ps restart rm start stop
set -l network_cmds connect create disconnect inspect list ls prune remove rm
set -l container_cmds attach cp create diff exec exists export inspect kill list logs ls mount pause port prune ps rename restart rm run start stop top umount unmount unpause wait

function __berth_images
    berth images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*'
end

complete -c berth -f
complete -c berth -n "not __fish_seen_subcommand_from $commands" -l root -r -d 'Storage root'
complete -c berth -n "not __fish_seen_subcommand_from $commands" -l runroot -r -d 'Run root'
complete -c berth -n "not __fish_seen_subcommand_from $commands" -l storage-driver -xa 'overlay vfs'
complete -c berth -n "not __fish_seen_subcommand_from $commands" -l log-level -xa 'trace debug info warn error fatal panic'
complete -c berth -n "not __fish_seen_subcommand_from $commands" -s v -l version -d 'Version'
complete -c berth -n "not __fish_seen_subcommand_from $commands" -a "$commands"
complete -c berth -n "__fish_seen_subcommand_from image; and not __fish_seen_subcommand_from $image_cmds" -a "$image_cmds"
complete -c berth -n "__fish_seen_subcommand_from system; and not __fish_seen_subcommand_from $system_cmds" -a "$system_cmds"
complete -c berth -n "__fish_seen_subcommand_from container; and not __fish_seen_subcommand_from $container_cmds" -a "$container_cmds"

function __berth_containers
    berth ps -a --format '{{.Names}}' 2>/dev/null
end

for reg in pull push login
    complete -c berth -n "__fish_seen_subcommand_from $reg" -l tls-verify -d 'Verify TLS'
    complete -c berth -n "__fish_seen_subcommand_from $reg" -l authfile -r -F
    complete -c berth -n "__fish_seen_subcommand_from $reg" -l creds -x
    complete -c berth -n "__fish_seen_subcommand_from $reg" -l cert-dir -r -F
end
complete -c berth -n "__fish_seen_subcommand_from pull" -s a -l all-tags
complete -c berth -n "__fish_seen_subcommand_from pull" -l arch -x
complete -c berth -n "__fish_seen_subcommand_from pull" -l os -x
complete -c berth -n "__fish_seen_subcommand_from pull" -l platform -x
complete -c berth -n "__fish_seen_subcommand_from pull" -l variant -x
complete -c berth -n "__fish_seen_subcommand_from pull push load save import" -s q -l quiet
complete -c berth -n "__fish_seen_subcommand_from push" -l digestfile -r -F
complete -c berth -n "__fish_seen_subcommand_from images list ls" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from images list ls" -l digests
complete -c berth -n "__fish_seen_subcommand_from images list ls" -s f -l filter -x
complete -c berth -n "__fish_seen_subcommand_from images list ls df" -l format -x
complete -c berth -n "__fish_seen_subcommand_from images list ls" -l no-trunc
complete -c berth -n "__fish_seen_subcommand_from images list ls" -s n -l noheading
complete -c berth -n "__fish_seen_subcommand_from inspect info version" -s f -l format -x
complete -c berth -n "__fish_seen_subcommand_from inspect" -s s -l size
complete -c berth -n "__fish_seen_subcommand_from inspect" -s t -l type -xa 'image container all'
complete -c berth -n "__fish_seen_subcommand_from rmi rm prune" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from rmi rm prune reset" -s f -l force
complete -c berth -n "__fish_seen_subcommand_from rmi rm" -s i -l ignore
complete -c berth -n "__fish_seen_subcommand_from prune" -l filter -x
complete -c berth -n "__fish_seen_subcommand_from save" -s o -l output -r -F
complete -c berth -n "__fish_seen_subcommand_from save" -l format -xa 'oci-archive docker-archive'
complete -c berth -n "__fish_seen_subcommand_from save" -s m -l multi-image-archive
complete -c berth -n "__fish_seen_subcommand_from save" -l compress
complete -c berth -n "__fish_seen_subcommand_from save" -l uncompressed
complete -c berth -n "__fish_seen_subcommand_from import" -l arch -x
complete -c berth -n "__fish_seen_subcommand_from import" -l os -x
complete -c berth -n "__fish_seen_subcommand_from import" -l variant -x
complete -c berth -n "__fish_seen_subcommand_from load" -s i -l input -r -F
complete -c berth -n "__fish_seen_subcommand_from import" -s c -l change -x
complete -c berth -n "__fish_seen_subcommand_from import" -s m -l message -x
complete -c berth -n "__fish_seen_subcommand_from import" -F
complete -c berth -n "__fish_seen_subcommand_from login" -s u -l username -x
complete -c berth -n "__fish_seen_subcommand_from login" -s p -l password -x
complete -c berth -n "__fish_seen_subcommand_from login" -l password-stdin
complete -c berth -n "__fish_seen_subcommand_from login" -l get-login
complete -c berth -n "__fish_seen_subcommand_from logout" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from logout" -l authfile -r -F
complete -c berth -n "__fish_seen_subcommand_from df" -s v -l verbose
complete -c berth -n "__fish_seen_subcommand_from push rmi rm tag untag inspect save exists" -xa '(__berth_images)'

# containers
complete -c berth -n "__fish_seen_subcommand_from run create" -l annotation -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l cap-add -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l cap-drop -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s c -l cpu-shares -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l cpus -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l detach-keys -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l device -r -F
complete -c berth -n "__fish_seen_subcommand_from run create" -l entrypoint -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s e -l env -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l env-file -r -F
complete -c berth -n "__fish_seen_subcommand_from run create" -l group-add -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s h -l hostname -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l init
complete -c berth -n "__fish_seen_subcommand_from run create" -s i -l interactive
complete -c berth -n "__fish_seen_subcommand_from run create" -s l -l label -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l log-driver -xa 'k8s-file none'
complete -c berth -n "__fish_seen_subcommand_from run create" -l log-opt -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s m -l memory -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l memory-swap -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l mount -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l name -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l network -xa 'slirp4netns none host container: ns:'
complete -c berth -n "__fish_seen_subcommand_from run create" -s p -l publish -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s P -l publish-all
complete -c berth -n "__fish_seen_subcommand_from run create" -l add-host -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l dns -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l dns-option -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l dns-search -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l net -xa 'none host'
complete -c berth -n "__fish_seen_subcommand_from run create" -l pids-limit -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l privileged
complete -c berth -n "__fish_seen_subcommand_from run create" -l pull -xa 'always missing never newer'
complete -c berth -n "__fish_seen_subcommand_from run create" -l read-only
complete -c berth -n "__fish_seen_subcommand_from run create" -l restart -xa 'no on-failure always unless-stopped'
complete -c berth -n "__fish_seen_subcommand_from run create" -l rm
complete -c berth -n "__fish_seen_subcommand_from run create" -l runtime -r -F
complete -c berth -n "__fish_seen_subcommand_from run create" -l security-opt -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l shm-size -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l stop-signal -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l stop-timeout -x
complete -c berth -n "__fish_seen_subcommand_from run create" -l tmpfs -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s t -l tty
complete -c berth -n "__fish_seen_subcommand_from run create" -l ulimit -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s u -l user -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s v -l volume -x
complete -c berth -n "__fish_seen_subcommand_from run create" -s w -l workdir -x
complete -c berth -n "__fish_seen_subcommand_from run" -s d -l detach
complete -c berth -n "__fish_seen_subcommand_from start" -s a -l attach
complete -c berth -n "__fish_seen_subcommand_from start" -s i -l interactive
complete -c berth -n "__fish_seen_subcommand_from stop" -s i -l ignore
complete -c berth -n "__fish_seen_subcommand_from stop restart" -s t -l time -x
complete -c berth -n "__fish_seen_subcommand_from kill" -s s -l signal -x
complete -c berth -n "__fish_seen_subcommand_from rm" -s v -l volumes
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -s l -l latest
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -s n -l last -x
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -l noheading
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -s f -l filter -x
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -l format -x
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -l no-trunc
complete -c berth -n "__fish_seen_subcommand_from ps list ls" -s q -l quiet
complete -c berth -n "__fish_seen_subcommand_from logs" -s f -l follow
complete -c berth -n "__fish_seen_subcommand_from logs" -l since -x
complete -c berth -n "__fish_seen_subcommand_from logs" -s n -l tail -x
complete -c berth -n "__fish_seen_subcommand_from logs" -s t -l timestamps
complete -c berth -n "__fish_seen_subcommand_from logs" -l until -x
complete -c berth -n "__fish_seen_subcommand_from inspect" -s l -l latest
complete -c berth -n "__fish_seen_subcommand_from stop" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from start stop kill restart logs wait" -xa '(__berth_containers)'
complete -c berth -n "__fish_seen_subcommand_from run create" -xa '(__berth_images)'
complete -c berth -n "__fish_seen_subcommand_from exec" -s d -l detach
complete -c berth -n "__fish_seen_subcommand_from exec" -l detach-keys -x
complete -c berth -n "__fish_seen_subcommand_from exec" -s e -l env -x
complete -c berth -n "__fish_seen_subcommand_from exec" -l env-file -r -F
complete -c berth -n "__fish_seen_subcommand_from exec" -s i -l interactive
complete -c berth -n "__fish_seen_subcommand_from exec" -l privileged
complete -c berth -n "__fish_seen_subcommand_from exec" -s t -l tty
complete -c berth -n "__fish_seen_subcommand_from exec" -s u -l user -x
complete -c berth -n "__fish_seen_subcommand_from exec" -s w -l workdir -x
complete -c berth -n "__fish_seen_subcommand_from exec" -xa '(__berth_containers)'
complete -c berth -n "__fish_seen_subcommand_from attach" -l detach-keys -x
complete -c berth -n "__fish_seen_subcommand_from attach" -l no-stdin
complete -c berth -n "__fish_seen_subcommand_from attach top pause port unpause rename" -xa '(__berth_containers)'
complete -c berth -n "__fish_seen_subcommand_from port" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from volume; and not __fish_seen_subcommand_from $volume_cmds" -a "$volume_cmds"
complete -c berth -n "__fish_seen_subcommand_from pod; and not __fish_seen_subcommand_from $pod_cmds" -a "$pod_cmds"
complete -c berth -n "__fish_seen_subcommand_from network; and not __fish_seen_subcommand_from $network_cmds" -a "$network_cmds"
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from create" -s d -l driver -xa bridge
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from create" -l gateway -x
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from create" -l internal
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from create" -l label -x
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from create" -l subnet -x
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from ls list" -s f -l filter -x
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from ls list" -l format -x
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from ls list" -l no-trunc
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from ls list" -s n -l noheading
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from ls list" -s q -l quiet
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from inspect" -s f -l format -x
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from rm remove prune disconnect" -s f -l force
complete -c berth -n "__fish_seen_subcommand_from network; and __fish_seen_subcommand_from inspect rm remove connect disconnect" -xa '(berth network ls -q 2>/dev/null)'
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from create" -l hostname -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from create" -s l -l label -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from create" -s n -l name -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from create" -l network -xa 'slirp4netns none host'
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from create" -s p -l publish -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from create" -l share -xa 'net ipc uts'
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from start stop restart kill rm" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from stop restart rm" -s t -l time -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from stop rm" -s i -l ignore
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from rm prune" -s f -l force
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from kill" -s s -l signal -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from ps ls list" -l format -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from ps ls list" -l no-trunc
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from ps ls list" -s n -l noheading
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from ps ls list" -s q -l quiet
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from inspect" -s f -l format -x
complete -c berth -n "__fish_seen_subcommand_from pod; and __fish_seen_subcommand_from start stop restart kill rm inspect exists" -xa '(berth pod ps --format "{{.Name}}" 2>/dev/null)'
complete -c berth -n "__fish_seen_subcommand_from run create" -l pod -x
complete -c berth -n "__fish_seen_subcommand_from ps" -s p -l pod
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from create" -s d -l driver -xa local
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from create" -l ignore
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from create" -s l -l label -x
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from create" -s o -l opt -x
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from ls list" -s n -l noheading
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from inspect" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from rm remove" -s t -l time -x
complete -c berth -n "__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from inspect rm remove exists" -xa '(berth volume ls -q 2>/dev/null)'
complete -c berth -n "__fish_seen_subcommand_from cp" -s a -l archive
complete -c berth -n "__fish_seen_subcommand_from cp" -l overwrite
complete -c berth -n "__fish_seen_subcommand_from diff" -l format -x
complete -c berth -n "__fish_seen_subcommand_from export" -s o -l output -r -F
complete -c berth -n "__fish_seen_subcommand_from mount" -l notruncate
complete -c berth -n "__fish_seen_subcommand_from unmount umount" -s a -l all
complete -c berth -n "__fish_seen_subcommand_from unmount umount" -s f -l force
