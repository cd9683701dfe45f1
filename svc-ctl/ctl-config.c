/* stratusctl config: the effective configuration, like doveconf -n/-a. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

int ctl_cmd_config(struct ctl_args *args)
{
	bool all = false;
	for (int i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], "-a") == 0)
			all = true;
		else if (strcmp(args->argv[i], "-n") == 0)
			all = false;
		else {
			fprintf(stderr, "usage: stratusctl config [-n|-a] [-c FILE]\n");
			return CTL_EXIT_USAGE;
		}
	}
	struct config *cfg = ctl_config_load_whole(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	printf("# stratus %s: %s\n", STRATUS_VERSION, args->config_path);
	config_dump(cfg, all, stdout);
	config_free(&cfg);
	return 0;
}
