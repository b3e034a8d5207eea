/* Every subcommand's entry point (one file each under cmd/). */
#ifndef BERTH_CMD_COMMANDS_H
#define BERTH_CMD_COMMANDS_H

#include "cmd/cli.h"

#define BERTH_CMD(name)                                                        \
    int cmd_##name(struct cli_global *g, int argc, char **argv,                \
                   berth_error_t *err)

BERTH_CMD(pull);
BERTH_CMD(push);
BERTH_CMD(images);
BERTH_CMD(image_inspect);
BERTH_CMD(inspect);
BERTH_CMD(tag);
BERTH_CMD(untag);
BERTH_CMD(rmi);
BERTH_CMD(image_prune);
BERTH_CMD(save);
BERTH_CMD(load);
BERTH_CMD(import);
BERTH_CMD(info);
BERTH_CMD(version);
BERTH_CMD(system_df);
BERTH_CMD(system_reset);
BERTH_CMD(login);
BERTH_CMD(logout);
BERTH_CMD(unshare);
BERTH_CMD(image_exists);
BERTH_CMD(oci_runtime);
BERTH_CMD(run);
BERTH_CMD(create);
BERTH_CMD(start);
BERTH_CMD(stop);
BERTH_CMD(kill);
BERTH_CMD(restart);
BERTH_CMD(rm);
BERTH_CMD(ps);
BERTH_CMD(port);
BERTH_CMD(net_setup);
BERTH_CMD(net_teardown);
BERTH_CMD(network_connect);
BERTH_CMD(network_create);
BERTH_CMD(network_disconnect);
BERTH_CMD(network_inspect);
BERTH_CMD(network_ls);
BERTH_CMD(network_prune);
BERTH_CMD(network_rm);
BERTH_CMD(pod_create);
BERTH_CMD(pod_exists);
BERTH_CMD(pod_inspect);
BERTH_CMD(pod_kill);
BERTH_CMD(pod_prune);
BERTH_CMD(pod_ps);
BERTH_CMD(pod_restart);
BERTH_CMD(pod_rm);
BERTH_CMD(pod_start);
BERTH_CMD(pod_stop);
BERTH_CMD(logs);
BERTH_CMD(wait);
BERTH_CMD(container_inspect);
BERTH_CMD(container_exists);
BERTH_CMD(exec);
BERTH_CMD(cp);
BERTH_CMD(diff);
BERTH_CMD(export);
BERTH_CMD(mount);
BERTH_CMD(unmount);
BERTH_CMD(container_prune);
BERTH_CMD(volume_create);
BERTH_CMD(volume_ls);
BERTH_CMD(volume_inspect);
BERTH_CMD(volume_rm);
BERTH_CMD(volume_prune);
BERTH_CMD(volume_exists);
BERTH_CMD(attach);
BERTH_CMD(top);
BERTH_CMD(pause);
BERTH_CMD(unpause);
BERTH_CMD(rename);

#endif
