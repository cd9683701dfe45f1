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

/* Loads the configuration or prints the error; NULL on failure. Every
 * secret is withheld (config_scrub_secrets as service "ctl", which uses
 * none), wiped from memory. */
struct config *ctl_config_load(const char *path);
#define CTL_SECRETS_NAME "ctl"
/* The same with the secrets kept: `stratusctl config` only, which prints
 * the configuration as written and exits. */
struct config *ctl_config_load_whole(const char *path);

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
/* Whether service stats { inet_listener http { port } } is set. */
bool ctl_metrics_configured(const struct config *cfg);
/* Serves GET /metrics on service stats' inet_listener http until SIGTERM. */
int ctl_metrics_serve(const struct config *cfg);
int ctl_cmd_stop(struct ctl_args *args);

/* One synchronous call by method name to a service's RPC socket; prints
 * the error. The reply belongs to the caller (rpc_reply_clear). */
int ctl_rpc_call(const struct config *cfg, const char *service,
		 const ProtobufCServiceDescriptor *desc, uint32_t major,
		 uint32_t minor, const char *method,
		 const ProtobufCMessage *request, struct rpc_reply *reply_r);

/* The users of -u USER|MASK or -A (every user of every userdb, through
 * svc-auth's UserList), as doveadm selects them. */
struct ctl_users {
	char **names;
	size_t n;
};
/* Removes -u/-A from args and fills users_r: 0, -1 (error printed) or
 * CTL_EXIT_USAGE when neither was given. */
int ctl_users_take(struct ctl_args *args, const struct config *cfg,
		   struct ctl_users *users_r);
/* True when args has -u or -A (the doveadm form of a verb). */
bool ctl_users_given(const struct ctl_args *args);
void ctl_users_free(struct ctl_users *u);

int ctl_cmd_kick(struct ctl_args *args);
int ctl_cmd_log(struct ctl_args *args);
int ctl_cmd_fetch(struct ctl_args *args);
int ctl_cmd_expunge(struct ctl_args *args);
/* The doveadm forms (-u/-A, --json) of mailbox, index and metacache. */
int ctl_mail_mailbox(struct ctl_args *args);
int ctl_mail_index(struct ctl_args *args);
int ctl_mail_metacache(struct ctl_args *args);

/* Writes s as a JSON string (quoted, escaped). */
void ctl_json_string(FILE *out, const char *s);

/* Removes every occurrence of flag (e.g. "--json") from args; true if
 * there was one. */
bool ctl_take_flag(struct ctl_args *args, const char *flag);

#endif
