/* svc-quota internals shared by its files. */
#ifndef QUOTA_COMMON_H
#define QUOTA_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "quota-rule.h"
#include "service.h"

struct quota_settings {
	bool enabled;		/* mail_plugins has quota and quota is set */
	char *root_name;	/* "User quota" */
	struct quota_rules rules;	/* from plugin quota_rule*, quota_warning* */
	uint64_t grace_bytes;	/* quota_grace as bytes, or ... */
	unsigned int grace_percent;	/* ... as a percentage of the limit */
	char *exceeded_message;
	bool full_tempfail;
	bool vsizes;		/* quota_vsizes: count virtual (CRLF) sizes */
	char *clone_dict;	/* quota_clone_dict, NULL when off */
};

struct quota_user;
struct quota_script;
struct quota_redis;

struct quota_ctx {
	struct service *svc;
	struct quota_settings set;
	struct rpc_client *auth, *index;
	struct quota_user *users;
	struct quota_script *scripts;	/* warning scripts running */
	struct quota_redis *clone_redis;	/* quota_clone_dict = redis:... */
	struct loop_timer *expire_timer;
	uint64_t next_reservation;
	uint64_t checks, refusals, warnings_run, clone_writes;
};

int quota_settings_load(struct quota_settings *set, const struct config *cfg,
			char **error_r);
void quota_settings_free(struct quota_settings *set);

/* The answer to one request, once the user's state is loaded. */
typedef void quota_user_ready_fn(struct quota_user *user, const char *error,
				 void *ctx);

/* Loads (or refreshes when force is set or the usage is stale) and calls
 * cb from the loop. error is non-NULL when auth or index failed. */
void quota_user_get(struct quota_ctx *q, const char *name, bool force,
		    quota_user_ready_fn *cb, void *cb_ctx);
void quota_users_free(struct quota_ctx *q);
void quota_users_expire(struct quota_ctx *q, uint64_t idle_ms);
void quota_users_rules_changed(struct quota_ctx *q);
/* SIGHUP (quota-reload.c): quota_rule* and quota_warning* from the new
 * configuration, for every user's next request. */
void quota_service_reload(struct service *svc);
#define QUOTA_SETTINGS_LIVE { "plugin/quota_rule*", "plugin/quota_warning*", \
	NULL }

const struct quota_rules *quota_user_rules(const struct quota_user *u);
const char *quota_user_name(const struct quota_user *u);
/* Usage from svc-index plus the saves committed since it was read (exact
 * between loads), and with with_reserved also the saves in flight. */
void quota_user_usage(const struct quota_user *u, bool with_reserved,
		      uint64_t *bytes_r, uint64_t *messages_r);
uint64_t quota_user_reserve(struct quota_user *u, uint64_t bytes,
			    uint64_t messages);
/* Marks a reservation stored (it goes away with the next reload, which
 * then counts the message) or drops it. Returns false if unknown. */
bool quota_user_commit(struct quota_user *u, uint64_t id, bool stored);
/* quota_user_commit for a loaded user; returns it, or NULL if unknown. */
struct quota_user *quota_users_commit(struct quota_ctx *q, const char *name,
				      uint64_t id, bool stored);
/* The usage loaded earlier, if any (Recalc reports a mismatch). */
bool quota_users_cached_usage(struct quota_ctx *q, const char *name,
			      uint64_t *bytes_r, uint64_t *messages_r);
/* Usage as of the last warning check; updated by the caller. */
void quota_user_last_usage(struct quota_user *u, uint64_t **bytes_r,
			   uint64_t **messages_r);

/* Runs a warning command ("quota-warning 95 %u") in the background. */
void quota_warning_run(struct quota_ctx *q, const char *user,
		       const char *command);
void quota_scripts_deinit(struct quota_ctx *q);

/* quota_clone: reads quota_clone_dict at start-up. Returns 0, or -1 with
 * *error_r (malloc'd) for a malformed dict URI; a dict type that is not
 * implemented is only warned about (quota_clone then does nothing). */
int quota_clone_init(struct quota_ctx *q, char **error_r);
void quota_clone_deinit(struct quota_ctx *q);
/* Copies the user's usage to the configured dict (never blocks). */
void quota_clone_update(struct quota_ctx *q, const char *user,
			uint64_t bytes, uint64_t messages);

void quota_rpc_check(struct rpc_call *call, const ProtobufCMessage *req);
void quota_rpc_get(struct rpc_call *call, const ProtobufCMessage *req);
void quota_rpc_recalc(struct rpc_call *call, const ProtobufCMessage *req);
void quota_rpc_commit(struct rpc_call *call, const ProtobufCMessage *req);
void quota_rpc_changed(struct rpc_call *call, const ProtobufCMessage *req);

#endif
