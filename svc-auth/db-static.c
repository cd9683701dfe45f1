/* passdb/userdb "static" and userdb "prefetch".
 * static passdb args: "password=P" (a {SCHEME} value or plain),
 * "nopassword", and any extra fields such as allow_nets (how the spec's
 * proxies' shared master password is restricted to
 * login_trusted_networks). static userdb args: key=template pairs
 * (home=/var/vmail/%2Mu/%u uid=... quota_rule=...), expanded per user.
 * prefetch returns the userdb_* fields the passdb already gave. */
#include "auth-common.h"

#include <stdlib.h>
#include <string.h>

struct static_db {
	struct auth_fields args;
};

static void static_db_free(struct static_db *db)
{
	auth_fields_clear(&db->args);
	free(db);
}

static int static_passdb_init(struct auth *auth, struct passdb *pdb,
			      const char *args, char **error_r)
{
	(void)auth;
	struct static_db *db = xcalloc(1, sizeof(*db));
	auth_fields_parse_args(&db->args, args);
	if (auth_fields_get(&db->args, "password") == NULL &&
	    auth_fields_get(&db->args, "nopassword") == NULL) {
		*error_r = xstrdup("static passdb: args need password=... "
				   "or nopassword");
		static_db_free(db);
		return -1;
	}
	pdb->ctx = db;
	return 0;
}

static void static_passdb_deinit(struct passdb *pdb)
{
	static_db_free(pdb->ctx);
}

static void static_verify_plain(struct passdb *pdb, struct auth_request *req,
				passdb_verify_cb *cb)
{
	struct static_db *db = pdb->ctx;
	for (size_t i = 0; i < db->args.n; i++) {
		const char *k = db->args.v[i].key;
		if (strcmp(k, "password") != 0 && strcmp(k, "nopassword") != 0)
			auth_fields_set(&req->passdb_fields, k,
					db->args.v[i].value);
	}
	const char *pw = auth_fields_get(&db->args, "password");
	cb(req, pw == NULL ? PASSDB_RESULT_OK :
	   passdb_verify_stored(req, pw, "PLAIN"));
}

static void static_passdb_lookup(struct passdb *pdb,
				 struct auth_request *req,
				 passdb_verify_cb *cb)
{
	struct static_db *db = pdb->ctx;
	for (size_t i = 0; i < db->args.n; i++)
		auth_fields_set(&req->passdb_fields, db->args.v[i].key,
				db->args.v[i].value);
	cb(req, PASSDB_RESULT_OK);
}

static int static_userdb_init(struct auth *auth, struct userdb *udb,
			      const char *args, char **error_r)
{
	(void)auth;
	(void)error_r;
	struct static_db *db = xcalloc(1, sizeof(*db));
	auth_fields_parse_args(&db->args, args);
	udb->ctx = db;
	return 0;
}

static void static_userdb_deinit(struct userdb *udb)
{
	static_db_free(udb->ctx);
}

static void static_lookup(struct userdb *udb, struct auth_request *req,
			  userdb_lookup_cb *cb)
{
	struct static_db *db = udb->ctx;
	for (size_t i = 0; i < db->args.n; i++) {
		const char *k = db->args.v[i].key, *error;
		if (strcmp(k, "allow_all_users") == 0)
			continue;
		struct buf v;
		buf_init(&v, 64 * 1024);
		if (auth_request_expand(req, db->args.v[i].value, &v,
					&error) < 0) {
			log_error(&req->log, "static userdb: %s: %s", k,
				  error);
			buf_free(&v);
			cb(req, USERDB_RESULT_INTERNAL_FAILURE);
			return;
		}
		auth_fields_set(&req->userdb_fields, k, v.data != NULL ?
				v.data : "");
		buf_free(&v);
	}
	cb(req, USERDB_RESULT_OK);
}

static int prefetch_init(struct auth *auth, struct userdb *udb,
			 const char *args, char **error_r)
{
	(void)auth;
	(void)udb;
	(void)args;
	(void)error_r;
	return 0;
}

static void prefetch_deinit(struct userdb *udb)
{
	(void)udb;
}

/* Only meaningful right after a passdb: a plain user lookup (LMTP,
 * stratusctl user) passes on to the next userdb, as Dovecot does. */
static void prefetch_lookup(struct userdb *udb, struct auth_request *req,
			    userdb_lookup_cb *cb)
{
	(void)udb;
	cb(req, req->userdb_prefetched ? USERDB_RESULT_OK :
	   USERDB_RESULT_USER_UNKNOWN);
}

const struct passdb_driver passdb_static = {
	.name = "static",
	.init = static_passdb_init,
	.deinit = static_passdb_deinit,
	.verify_plain = static_verify_plain,
	.lookup = static_passdb_lookup,
};

const struct userdb_driver userdb_static = {
	.name = "static",
	.init = static_userdb_init,
	.deinit = static_userdb_deinit,
	.lookup = static_lookup,
};

const struct userdb_driver userdb_prefetch = {
	.name = "prefetch",
	.init = prefetch_init,
	.deinit = prefetch_deinit,
	.lookup = prefetch_lookup,
};
