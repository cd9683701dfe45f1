/* svc-auth's shared types: the service state (struct auth), one
 * authentication or user lookup (struct auth_request), and the passdb /
 * userdb driver interfaces. Only the loop thread touches any of these;
 * LDAP worker threads see copies (see ldap-worker.h). */
#ifndef AUTH_COMMON_H
#define AUTH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "loop.h"
#include "log.h"

/* Bounds on what a client can make us hold or look up. */
#define AUTH_MAX_USERNAME_LEN 255
#define AUTH_MAX_PASSWORD_LEN 1024
#define AUTH_MAX_SASL_RESPONSE 4096

struct auth_field {
	char *key;
	char *value;
};

/* An ordered key=value list (passdb extra fields, userdb fields). */
struct auth_fields {
	struct auth_field *v;
	size_t n;
};

/* Sets key (replacing an earlier value). */
void auth_fields_set(struct auth_fields *f, const char *key,
		     const char *value);
const char *auth_fields_get(const struct auth_fields *f, const char *key);
void auth_fields_remove(struct auth_fields *f, const char *key);
void auth_fields_clear(struct auth_fields *f);
void auth_fields_copy(struct auth_fields *dst, const struct auth_fields *src);
/* Parses "key=value key2 key3=v" (passwd-file extra fields, static args);
 * a key without '=' gets value "yes". */
void auth_fields_parse_args(struct auth_fields *f, const char *args);

enum passdb_result {
	PASSDB_RESULT_OK,
	PASSDB_RESULT_USER_UNKNOWN,
	PASSDB_RESULT_PASSWORD_MISMATCH,
	PASSDB_RESULT_INTERNAL_FAILURE,
};

enum userdb_result {
	USERDB_RESULT_OK,
	USERDB_RESULT_USER_UNKNOWN,
	USERDB_RESULT_INTERNAL_FAILURE,
};

struct auth;
struct auth_request;
struct passdb;
struct userdb;

typedef void passdb_verify_cb(struct auth_request *req,
			      enum passdb_result result);
typedef void userdb_lookup_cb(struct auth_request *req,
			      enum userdb_result result);
/* user == NULL ends the iteration; failed says whether it broke off. */
typedef void userdb_iter_cb(const char *user, bool failed, void *ctx);

struct passdb_driver {
	const char *name;
	int (*init)(struct auth *auth, struct passdb *db, const char *args,
		    char **error_r);
	void (*deinit)(struct passdb *db);
	/* Verifies req->password for req->user. Sets req->passdb_fields
	 * (a "user" field renames the user; userdb_* fields feed the
	 * prefetch userdb). cb may run before this returns. */
	void (*verify_plain)(struct passdb *db, struct auth_request *req,
			     passdb_verify_cb *cb);
	/* Finds req->user without a password (stratusctl auth lookup):
	 * sets req->passdb_fields, the stored password as "password";
	 * cb gets OK or USER_UNKNOWN. NULL when the driver cannot. */
	void (*lookup)(struct passdb *db, struct auth_request *req,
		       passdb_verify_cb *cb);
};

struct userdb_driver {
	const char *name;
	int (*init)(struct auth *auth, struct userdb *db, const char *args,
		    char **error_r);
	void (*deinit)(struct userdb *db);
	/* Fills req->userdb_fields. cb may run before this returns. */
	void (*lookup)(struct userdb *db, struct auth_request *req,
		       userdb_lookup_cb *cb);
	/* NULL when the driver cannot list users. */
	void (*iterate)(struct userdb *db, userdb_iter_cb *cb, void *ctx);
};

struct passdb {
	const struct passdb_driver *drv;
	struct auth *auth;
	void *ctx;		/* the driver's */
	char *args;
	bool master;		/* master = yes: verifies the authcid of a
				   master login (SASL authzid) */
	bool deny;		/* deny = yes: a found user is refused */
	bool pass;		/* master passdb: also look the user up */
};

struct userdb {
	const struct userdb_driver *drv;
	struct auth *auth;
	void *ctx;
	char *args;
};

struct auth_settings {
	char **mechanisms;	/* lowercase, NULL-terminated */
	const char *username_format;
	const char *username_chars;	/* "" = any */
	uint64_t failure_delay_ms;
	uint64_t cache_size, cache_ttl_ms, cache_negative_ttl_ms;
	bool penalty_enabled;
	const char *master_user_separator;
};

struct auth_stats {
	uint64_t requests, successes, failures, tempfails;
	uint64_t cache_hits, cache_misses;
	uint64_t ldap_searches, ldap_binds;
	uint64_t penalty_delays, limit_refusals, trust_ignored;
};

struct auth {
	struct service *svc;
	struct loop *loop;
	const struct config *cfg;
	struct auth_settings set;
	struct passdb **passdbs;
	size_t n_passdbs;
	struct userdb **userdbs;
	size_t n_userdbs;
	struct auth_cache *cache;
	struct auth_penalty *penalty;
	struct auth_anvil *anvil;
	struct auth_hash *sasl;	/* "id" -> struct sasl_session */
	uint64_t next_sasl_id;
	struct net_list *trusted;
	struct auth_stats stats;
	struct auth_op *ops;	/* in-flight RPC operations (auth-rpc.c) */
	struct loop_timer *sweep_timer;
	bool stopping;		/* chains finish at once as failures */
};

/* One authentication (passdb chain then userdb chain) or one userdb
 * lookup. Owned by whoever started it; auth_request_free when done. */
struct auth_request {
	struct auth *auth;
	char *user;		/* after auth_username_format; renamed by a
				   passdb "user" field */
	char *login_user;	/* as the client sent it */
	char *password;		/* NULL for user lookups */
	char *master_user;	/* authcid of a master login, else NULL */
	char *service;		/* "imap", "pop3", ... */
	char *session;
	char *client_ip;	/* possibly forwarded */
	char *real_ip;		/* the TCP peer */
	struct log_ctx log;
	struct auth_fields passdb_fields;
	struct auth_fields userdb_fields;
	bool userdb_prefetched;	/* passdb gave userdb_* fields */
	bool from_cache;
	bool passdb_success;
	bool master_phase;	/* running the master passdbs */
	size_t db_index;	/* position in the chain being run */
	bool seen_internal_failure, seen_mismatch;
	void *driver_ctx;	/* the running driver's per-request state */
	/* The chain's own continuation. */
	passdb_verify_cb *verify_done;
	userdb_lookup_cb *lookup_done;
	void *ctx;		/* the caller's */
};

struct auth_request *auth_request_new(struct auth *auth, const char *user,
				      const char *service,
				      const char *session,
				      const char *client_ip,
				      const char *real_ip);
void auth_request_free(struct auth_request **req);
void auth_request_set_user(struct auth_request *req, const char *user);
/* Applies auth_username_format and auth_username_chars. -1 = refused. */
int auth_request_format_user(struct auth *auth, const char *in,
			     struct buf *out, const char **error_r);

/* Runs the passdb chain (cache first), then on success the userdb
 * chain (prefetch first). cb gets the final passdb result; on
 * PASSDB_RESULT_OK req->userdb_fields is filled (or the userdb said
 * unknown / failed: see *userdb_result in the request). */
void auth_request_verify(struct auth_request *req, passdb_verify_cb *cb);
/* Runs the userdb chain (no prefetch: that only follows a passdb). */
void auth_request_lookup_user(struct auth_request *req, userdb_lookup_cb *cb);

/* Driver lookups by name ("passwd-file", "static", "ldap", "prefetch"). */
const struct passdb_driver *passdb_driver_find(const char *name);
const struct userdb_driver *userdb_driver_find(const char *name);

/* Verifies `password` against a stored "{SCHEME}..." value for a driver,
 * logging an unknown scheme. */
enum passdb_result passdb_verify_stored(struct auth_request *req,
					const char *stored,
					const char *default_scheme);

/* Expands a template (%u %n %d %s ...) for the request's user into out.
 * -1 with *error_r on a bad template or overflow. */
int auth_request_expand(const struct auth_request *req, const char *tmpl,
			struct buf *out, const char **error_r);

#endif
