# fish completion for berth; kept in step with `berth --help` by
# tests/system/005-cli.bats.
set -l commands image images import info inspect load login logout pull push rmi save system tag unshare untag version
set -l image_cmds exists import inspect list ls load prune pull push rm save tag untag
set -l system_cmds df info reset

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
