/* stratusctl: the admin command. Each subcommand lives in ctl-<name>.c. */
#ifndef STRATUS_CTL_H
#define STRATUS_CTL_H

#include "config.h"
#include "rpc.h"

#include <stdbool.h>
#include <stdio.h>

#define CTL_EXIT_USAGE 64
#define CTL_EXIT_FAILURE 1
/* In base_dir while `stratusctl run` supervises the services. */
#define CTL_RUN_PIDFILE "stratusctl-run.pid"

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
int ctl_cmd_fs(struct ctl_args *args);
int ctl_cmd_user(struct ctl_args *args);
int ctl_cmd_auth(struct ctl_args *args);
int ctl_cmd_metacache(struct ctl_args *args);
int ctl_cmd_index(struct ctl_args *args);
int ctl_cmd_mailbox(struct ctl_args *args);
int ctl_cmd_quota(struct ctl_args *args);
int ctl_cmd_sieve(struct ctl_args *args);
int ctl_cmd_reload(struct ctl_args *args);
int ctl_cmd_who(struct ctl_args *args);
int ctl_cmd_metrics(struct ctl_args *args);

struct buf;
/* The OpenMetrics text of every enabled service's status, scraped now. */
void ctl_metrics_text(const struct config *cfg, struct buf *out);
/* Serves GET /metrics on service stats' inet_listener http until SIGTERM. */
int ctl_metrics_serve(const struct config *cfg);
int ctl_cmd_stop(struct ctl_args *args);

/* One synchronous call by method name to a service's RPC socket; prints
 * the error. The reply belongs to the caller (rpc_reply_clear). */
int ctl_rpc_call(const struct config *cfg, const char *service,
		 const ProtobufCServiceDescriptor *desc, uint32_t major,
		 uint32_t minor, const char *method,
		 const ProtobufCMessage *request, struct rpc_reply *reply_r);

/* Writes s as a JSON string (quoted, escaped). */
void ctl_json_string(FILE *out, const char *s);

/* Removes every occurrence of flag (e.g. "--json") from args; true if
 * there was one. */
bool ctl_take_flag(struct ctl_args *args, const char *flag);

#endif
