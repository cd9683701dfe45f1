/* stratusctl: parses the common options and dispatches to a subcommand. */
#include "ctl.h"
#include "buf.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_command {
	const char *name;
	int (*run)(struct ctl_args *args);
	const char *usage;
};

static const struct ctl_command ctl_commands[] = {
	{ "run", ctl_cmd_run, "run [-c FILE]  start every service (development)" },
	{ "status", ctl_cmd_status, "status [-c FILE] [SERVICE...]  ask services for their status" },
	{ "config", ctl_cmd_config, "config [-n|-a] [-c FILE]  print the effective configuration" },
	{ "fs", ctl_cmd_fs, "fs put|get|stat|iter|delete|cp [--index] USER ... | fs stats [--json]  object storage by hand" },
	{ "user", ctl_cmd_user, "user [--json] '*'|MASK | user [--json] [-x k=v] USER  every userdb's users, or one user's fields" },
	{ "metacache", ctl_cmd_metacache, "metacache list|flush|clean|unload [--json] [-u USER|-A]  svc-index's local cache" },
	{ "index", ctl_cmd_index, "index rebuild|status [--json] -u USER|-A  a user's index (rebuild from storage)" },
	{ "mailbox", ctl_cmd_mailbox, "mailbox list|status|create|delete|rename [--json] -u USER|-A ...  mailboxes through svc-index" },
	{ "fetch", ctl_cmd_fetch, "fetch [--json] -u USER|-A FIELDS QUERY...  fields of the messages a search query matches" },
	{ "expunge", ctl_cmd_expunge, "expunge [--json] -u USER|-A mailbox MASK QUERY...  expunge what a search query matches" },
	{ "log", ctl_cmd_log, "log errors [--json] [-s UNIX_TIME]  the last warnings and errors of every service" },
	{ "kick", ctl_cmd_kick, "kick [--json] USER_MASK|IP[/BITS]...  close the users' IMAP and POP3 sessions" },
	{ "quota", ctl_cmd_quota, "quota get|recalc [--json] -u USER|-A | quota get|recalc|changed USER | quota check USER BOX BYTES  svc-quota" },
	{ "auth", ctl_cmd_auth, "auth test|lookup|cache flush|connect|trust ...  drive svc-auth" },
	{ "who", ctl_cmd_who, "who [--json] [MASK]  sessions per user, protocol and IP" },
	{ "reload", ctl_cmd_reload, "reload [--json]  check the configuration, then SIGHUP every service" },
	{ "metrics", ctl_cmd_metrics, "metrics [serve]  OpenMetrics text of every service's counters (serve: on service stats' inet_listener http)" },
	{ "stop", ctl_cmd_stop, "stop [--json]  SIGTERM every service" },
	{ "sieve", ctl_cmd_sieve, "sieve list|get|put|activate|deactivate|delete USER|-u USER|-A [NAME] [FILE]  a user's Sieve scripts" },
};

static void ctl_usage(void)
{
	fputs("usage: stratusctl [-c FILE] COMMAND [ARGS]\n", stderr);
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(*ctl_commands); i++)
		fprintf(stderr, "  stratusctl %s\n", ctl_commands[i].usage);
}

struct config *ctl_config_load_whole(const char *path)
{
	struct config *cfg;
	char *error;
	if (config_load(path, &cfg, &error) < 0) {
		fprintf(stderr, "stratusctl: %s\n", error);
		free(error);
		return NULL;
	}
	return cfg;
}

struct config *ctl_config_load(const char *path)
{
	struct config *cfg = ctl_config_load_whole(path);
	/* No verb uses a secret: they reach the services over RPC. `run`
	 * and `metrics serve` live as long as the services do. */
	if (cfg != NULL)
		config_scrub_secrets(cfg, CTL_SECRETS_NAME);
	return cfg;
}

int main(int argc, char **argv)
{
	struct ctl_args args = { .config_path = getenv("STRATUS_CONFIG") };
	int i = 1;
	if (args.config_path == NULL)
		args.config_path = "/etc/dovecot/dovecot.conf";
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("stratusctl %s\n", STRATUS_VERSION);
		return 0;
	}
	/* -c may come before or after the subcommand. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			args.config_path = argv[++i];
		else {
			ctl_usage();
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		ctl_usage();
		return CTL_EXIT_USAGE;
	}
	const char *name = argv[i++];
	char **rest = xcalloc((size_t)argc, sizeof(char *));
	int n = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			args.config_path = argv[++i];
		else
			rest[n++] = argv[i];
	}
	args.argc = n;
	args.argv = rest;
	log_init("stratusctl", NULL, NULL);
	int ret = CTL_EXIT_USAGE;
	bool found = false;
	for (size_t c = 0; c < sizeof(ctl_commands) / sizeof(*ctl_commands); c++) {
		if (strcmp(ctl_commands[c].name, name) == 0) {
			found = true;
			ret = ctl_commands[c].run(&args);
		}
	}
	if (!found)
		ctl_usage();
	free(rest);
	log_deinit();
	return ret;
}
