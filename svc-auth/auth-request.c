/* One authentication: the passdb chain (after the cache), then the
 * userdb chain (prefetch first). Drivers may answer synchronously or
 * later from the loop; each step continues from its callback. The chain
 * follows Dovecot's defaults: a passdb that fails (unknown user, wrong
 * password, internal error) passes on to the next one; the first success
 * ends it; an internal error anywhere makes an overall failure temporary. */
#include "auth-common.h"
#include "auth-cache.h"
#include "net-match.h"
#include "password-scheme.h"
#include "var-expand.h"

#include <stdlib.h>
#include <string.h>

struct auth_request *auth_request_new(struct auth *auth, const char *user,
				      const char *service,
				      const char *session,
				      const char *client_ip,
				      const char *real_ip)
{
	struct auth_request *req = xcalloc(1, sizeof(*req));
	req->auth = auth;
	req->user = xstrdup(user);
	req->login_user = xstrdup(user);
	req->service = xstrdup(service != NULL && *service != '\0' ?
			       service : "auth");
	req->session = xstrdup(session != NULL ? session : "");
	req->client_ip = xstrdup(client_ip != NULL ? client_ip : "");
	req->real_ip = xstrdup(real_ip != NULL && *real_ip != '\0' ?
			       real_ip : req->client_ip);
	req->log.user = req->user;
	req->log.session = *req->session != '\0' ? req->session : NULL;
	req->log.client_ip = *req->client_ip != '\0' ? req->client_ip : NULL;
	return req;
}

void auth_request_free(struct auth_request **_req)
{
	struct auth_request *req = *_req;
	if (req == NULL)
		return;
	*_req = NULL;
	free(req->user);
	free(req->login_user);
	if (req->password != NULL) {
		explicit_bzero(req->password, strlen(req->password));
		free(req->password);
	}
	free(req->master_user);
	free(req->service);
	free(req->session);
	free(req->client_ip);
	free(req->real_ip);
	auth_fields_clear(&req->passdb_fields);
	auth_fields_clear(&req->userdb_fields);
	free(req);
}

void auth_request_set_user(struct auth_request *req, const char *user)
{
	char *u = xstrdup(user);
	free(req->user);
	req->user = u;
	req->log.user = u;
}

int auth_request_format_user(struct auth *auth, const char *in,
			     struct buf *out, const char **error_r)
{
	const char *chars = auth->set.username_chars;
	if (*in == '\0' || strlen(in) > AUTH_MAX_USERNAME_LEN) {
		*error_r = "invalid user name length";
		return -1;
	}
	if (chars != NULL && *chars != '\0') {
		for (const char *p = in; *p != '\0'; p++) {
			if (strchr(chars, *p) == NULL) {
				*error_r = "user name has disallowed "
					   "characters";
				return -1;
			}
		}
	}
	struct var_expand_user vu;
	var_expand_user_init(&vu, in, NULL, NULL);
	buf_init(out, AUTH_MAX_USERNAME_LEN * 4);
	int r = var_expand(out, auth->set.username_format, vu.table, NULL,
			   NULL, error_r);
	var_expand_user_deinit(&vu);
	if (r == 0 && out->len == 0) {
		*error_r = "user name is empty after auth_username_format";
		r = -1;
	}
	return r;
}

int auth_request_expand(const struct auth_request *req, const char *tmpl,
			struct buf *out, const char **error_r)
{
	struct var_expand_user vu;
	var_expand_user_init(&vu, req->user, req->service, req->session);
	int r = var_expand(out, tmpl, vu.table, NULL, NULL, error_r);
	var_expand_user_deinit(&vu);
	return r;
}

enum passdb_result passdb_verify_stored(struct auth_request *req,
					const char *stored,
					const char *default_scheme)
{
	const char *error;
	if (req->password == NULL)
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	switch (password_verify(req->password, stored, default_scheme,
				&error)) {
	case PASSWORD_MATCH:
		return PASSDB_RESULT_OK;
	case PASSWORD_MISMATCH:
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	case PASSWORD_ERROR:
		break;
	}
	/* Dovecot refuses the login and says why in the log. */
	log_error(&req->log, "passdb: cannot verify password: %s", error);
	return PASSDB_RESULT_PASSWORD_MISMATCH;
}

/* ---- userdb chain ---- */

static void userdb_next(struct auth_request *req);

static void userdb_finish(struct auth_request *req, enum userdb_result r)
{
	struct auth *auth = req->auth;
	if (auth->cache != NULL && r != USERDB_RESULT_INTERNAL_FAILURE &&
	    !req->userdb_prefetched)
		auth_cache_userdb_store(auth->cache, loop_now_ms(auth->loop),
					req->user, r == USERDB_RESULT_OK,
					&req->userdb_fields);
	req->lookup_done(req, r);
}

static void userdb_done(struct auth_request *req, enum userdb_result r)
{
	if (r == USERDB_RESULT_OK) {
		const char *user = auth_fields_get(&req->userdb_fields,
						   "user");
		if (user != NULL && *user != '\0')
			auth_request_set_user(req, user);
		userdb_finish(req, r);
		return;
	}
	if (r == USERDB_RESULT_INTERNAL_FAILURE)
		req->seen_internal_failure = true;
	req->db_index++;
	userdb_next(req);
}

static void userdb_next(struct auth_request *req)
{
	struct auth *auth = req->auth;
	if (auth->stopping) {
		req->db_index = auth->n_userdbs;
		req->seen_internal_failure = true;
	}
	if (req->db_index >= auth->n_userdbs) {
		userdb_finish(req, req->seen_internal_failure ?
			      USERDB_RESULT_INTERNAL_FAILURE :
			      USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	struct userdb *db = auth->userdbs[req->db_index];
	/* prefetch answers with the fields the passdb left. */
	if (!req->userdb_prefetched ||
	    strcmp(db->drv->name, "prefetch") != 0)
		auth_fields_clear(&req->userdb_fields);
	db->drv->lookup(db, req, userdb_done);
}

/* Starts the userdb chain; prefetch answers from passdb fields. */
static void userdb_start(struct auth_request *req, userdb_lookup_cb *cb)
{
	struct auth *auth = req->auth;
	req->lookup_done = cb;
	req->db_index = 0;
	req->seen_internal_failure = false;
	if (auth->cache != NULL && !req->userdb_prefetched) {
		struct auth_fields f = { 0 };
		enum auth_cache_result cr = auth_cache_userdb_lookup(
			auth->cache, loop_now_ms(auth->loop), req->user, &f);
		if (cr != AUTH_CACHE_MISS) {
			auth->stats.cache_hits++;
			req->from_cache = true;
			auth_fields_clear(&req->userdb_fields);
			req->userdb_fields = f;
			req->lookup_done(req, cr == AUTH_CACHE_HIT_OK ?
					 USERDB_RESULT_OK :
					 USERDB_RESULT_USER_UNKNOWN);
			return;
		}
		auth->stats.cache_misses++;
	}
	userdb_next(req);
}

void auth_request_lookup_user(struct auth_request *req, userdb_lookup_cb *cb)
{
	req->userdb_prefetched = false;
	userdb_start(req, cb);
}

/* ---- passdb chain ---- */

static void passdb_next(struct auth_request *req);

static void passdb_userdb_done(struct auth_request *req,
			       enum userdb_result r)
{
	/* A user the userdb does not know cannot log in. */
	req->verify_done(req, r == USERDB_RESULT_OK ? PASSDB_RESULT_OK :
			 r == USERDB_RESULT_USER_UNKNOWN ?
			 PASSDB_RESULT_USER_UNKNOWN :
			 PASSDB_RESULT_INTERNAL_FAILURE);
}

static void passdb_finish(struct auth_request *req, enum passdb_result r)
{
	struct auth *auth = req->auth;
	if (r == PASSDB_RESULT_INTERNAL_FAILURE && auth->cache != NULL &&
	    req->password != NULL && req->master_user == NULL) {
		/* Backend down: an expired positive entry still serves. */
		char *user = NULL;
		struct auth_fields pf = { 0 }, uf = { 0 };
		if (auth_cache_passdb_lookup(auth->cache,
				loop_now_ms(auth->loop), req->login_user,
				req->password, true, &user, &pf, &uf) ==
		    AUTH_CACHE_HIT_OK) {
			log_info(&req->log, "passdb failed; using an expired "
				 "cache entry");
			auth_request_set_user(req, user);
			free(user);
			auth_fields_clear(&req->passdb_fields);
			auth_fields_clear(&req->userdb_fields);
			req->passdb_fields = pf;
			req->userdb_fields = uf;
			req->userdb_prefetched = uf.n > 0;
			req->passdb_success = true;
			userdb_start(req, passdb_userdb_done);
			return;
		}
		free(user);
		auth_fields_clear(&pf);
		auth_fields_clear(&uf);
	}
	if (r == PASSDB_RESULT_OK && req->master_phase) {
		log_info(&req->log, "master user logging in as %s",
			 req->master_user);
		req->master_phase = false;
		auth_request_set_user(req, req->master_user);
		auth_fields_clear(&req->userdb_fields);
		req->userdb_prefetched = false;
		req->passdb_success = true;
		userdb_start(req, passdb_userdb_done);
		return;
	}
	if (auth->cache != NULL && req->password != NULL &&
	    req->master_user == NULL)
		auth_cache_passdb_store(auth->cache, loop_now_ms(auth->loop),
					req->login_user, req->password, r,
					req->user, &req->passdb_fields,
					&req->userdb_fields);
	if (r != PASSDB_RESULT_OK) {
		req->verify_done(req, r);
		return;
	}
	req->passdb_success = true;
	userdb_start(req, passdb_userdb_done);
}

/* A passdb said yes: apply allow_nets, rename the user, and move the
 * userdb_* fields aside for prefetch. Returns false when refused. */
/* allow_nets (client IP) and allow_real_nets (TCP peer) extra fields,
 * checked on every success, cached or not. */
static bool passdb_nets_allowed(struct auth_request *req)
{
	const char *nets = auth_fields_get(&req->passdb_fields, "allow_nets");
	const char *rnets = auth_fields_get(&req->passdb_fields,
					    "allow_real_nets");
	const char *checks[2][2] = { { nets, req->client_ip },
				     { rnets, req->real_ip } };
	for (size_t i = 0; i < 2; i++) {
		if (checks[i][0] == NULL)
			continue;
		char *error = NULL;
		struct net_list *l = net_list_parse(checks[i][0], &error);
		bool ok = l != NULL && net_list_match(l, checks[i][1]);
		if (l == NULL) {
			log_error(&req->log, "passdb: %s: %s", i == 0 ?
				  "allow_nets" : "allow_real_nets", error);
			free(error);
		} else if (!ok) {
			log_info(&req->log, "passdb: %s not in %s",
				 checks[i][1], i == 0 ? "allow_nets" :
				 "allow_real_nets");
		}
		net_list_free(&l);
		if (!ok)
			return false;
	}
	return true;
}

static bool passdb_accept(struct auth_request *req)
{
	if (!passdb_nets_allowed(req))
		return false;
	const char *user = auth_fields_get(&req->passdb_fields, "user");
	if (user != NULL && *user != '\0')
		auth_request_set_user(req, user);
	auth_fields_remove(&req->passdb_fields, "user");
	auth_fields_remove(&req->passdb_fields, "password");
	auth_fields_clear(&req->userdb_fields);
	for (size_t i = 0; i < req->passdb_fields.n;) {
		struct auth_field *f = &req->passdb_fields.v[i];
		if (strncmp(f->key, "userdb_", 7) == 0) {
			auth_fields_set(&req->userdb_fields, f->key + 7,
					f->value);
			auth_fields_remove(&req->passdb_fields, f->key);
		} else {
			i++;
		}
	}
	req->userdb_prefetched = req->userdb_fields.n > 0;
	return true;
}

static void passdb_done(struct auth_request *req, enum passdb_result r)
{
	struct passdb *db = req->auth->passdbs[req->db_index];
	if (db->deny) {
		if (r == PASSDB_RESULT_OK) {
			log_info(&req->log, "passdb: user is denied");
			passdb_finish(req, PASSDB_RESULT_PASSWORD_MISMATCH);
			return;
		}
		r = PASSDB_RESULT_USER_UNKNOWN;
	} else if (r == PASSDB_RESULT_OK && !passdb_accept(req)) {
		r = PASSDB_RESULT_PASSWORD_MISMATCH;
	}
	if (r == PASSDB_RESULT_OK) {
		passdb_finish(req, r);
		return;
	}
	if (r == PASSDB_RESULT_INTERNAL_FAILURE)
		req->seen_internal_failure = true;
	else if (r == PASSDB_RESULT_PASSWORD_MISMATCH)
		req->seen_mismatch = true;
	auth_fields_clear(&req->passdb_fields);
	req->db_index++;
	passdb_next(req);
}

static void passdb_next(struct auth_request *req)
{
	struct auth *auth = req->auth;
	bool want_master = req->master_phase;
	if (auth->stopping) {
		req->db_index = auth->n_passdbs;
		req->seen_internal_failure = true;
	}
	while (req->db_index < auth->n_passdbs &&
	       auth->passdbs[req->db_index]->master != want_master)
		req->db_index++;
	if (req->db_index >= auth->n_passdbs) {
		passdb_finish(req, req->seen_internal_failure ?
			      PASSDB_RESULT_INTERNAL_FAILURE :
			      req->seen_mismatch ?
			      PASSDB_RESULT_PASSWORD_MISMATCH :
			      PASSDB_RESULT_USER_UNKNOWN);
		return;
	}
	struct passdb *db = auth->passdbs[req->db_index];
	auth_fields_clear(&req->passdb_fields);
	db->drv->verify_plain(db, req, passdb_done);
}

void auth_request_verify(struct auth_request *req, passdb_verify_cb *cb)
{
	struct auth *auth = req->auth;
	req->verify_done = cb;
	req->db_index = 0;
	if (req->master_user != NULL) {
		/* A master login verifies the master user's password with
		 * the master passdbs, then continues as the target user,
		 * whose existence the userdb confirms. */
		char *target = xstrdup(req->user);
		auth_request_set_user(req, req->master_user);
		free(req->master_user);
		req->master_user = target;
		req->master_phase = true;
		passdb_next(req);
		return;
	}
	if (auth->cache != NULL) {
		char *user = NULL;
		struct auth_fields pf = { 0 }, uf = { 0 };
		enum auth_cache_result cr = auth_cache_passdb_lookup(
			auth->cache, loop_now_ms(auth->loop), req->login_user,
			req->password, false, &user, &pf, &uf);
		if (cr == AUTH_CACHE_MISS) {
			auth->stats.cache_misses++;
		} else {
			auth->stats.cache_hits++;
			req->from_cache = true;
			if (cr != AUTH_CACHE_HIT_OK) {
				cb(req, cr == AUTH_CACHE_HIT_UNKNOWN ?
				   PASSDB_RESULT_USER_UNKNOWN :
				   PASSDB_RESULT_PASSWORD_MISMATCH);
				return;
			}
			req->passdb_fields = pf;
			if (!passdb_nets_allowed(req)) {
				/* Cached for another network: ask again. */
				free(user);
				auth_fields_clear(&uf);
				auth_fields_clear(&req->passdb_fields);
				passdb_next(req);
				return;
			}
			auth_request_set_user(req, user);
			free(user);
			req->userdb_fields = uf;
			req->userdb_prefetched = uf.n > 0;
			req->passdb_success = true;
			userdb_start(req, passdb_userdb_done);
			return;
		}
	}
	passdb_next(req);
}
