/* stratusctl: the admin command. Each subcommand lives in ctl-<name>.c. */
#ifndef STRATUS_CTL_H
#define STRATUS_CTL_H

#include "config.h"

#define CTL_EXIT_USAGE 64
#define CTL_EXIT_FAILURE 1

struct ctl_args {
	const char *config_path;
	int argc;		/* arguments after the subcommand */
	char **argv;
};

/* Loads the configuration or prints the error; NULL on failure. */
struct config *ctl_config_load(const char *path);

int ctl_cmd_run(struct ctl_args *args);
int ctl_cmd_status(struct ctl_args *args);
int ctl_cmd_config(struct ctl_args *args);
int ctl_cmd_user(struct ctl_args *args);
int ctl_cmd_auth(struct ctl_args *args);
int ctl_cmd_fs(struct ctl_args *args);
int ctl_cmd_user(struct ctl_args *args);
int ctl_cmd_auth(struct ctl_args *args);
int ctl_cmd_metacache(struct ctl_args *args);
int ctl_cmd_index(struct ctl_args *args);
int ctl_cmd_mailbox(struct ctl_args *args);

#endif
