/* passdb / userdb driver "ldap": args name a dovecot-ldap.conf.ext file
 * (hosts or uris, dn, dnpass, base, scope, deref, auth_bind, blocking,
 * pass_attrs/pass_filter, user_attrs/user_filter,
 * iterate_attrs/iterate_filter, default_pass_scheme). Filters are built
 * with RFC 4515 escaping (ldap-filter.c); the lookups run in worker
 * threads (ldap-worker.c). */
#include "auth-common.h"
#include "ldap-filter.h"
#include "ldap-worker.h"
#include "config.h"

#include <ldap.h>
#include <stdlib.h>
#include <string.h>

#define LDAP_DEFAULT_TIMEOUT_SECS 5

struct ldap_db {
	struct auth *auth;
	struct ldap_pool *pool;
	bool auth_bind;
	char *pass_filter, *user_filter, *iterate_filter;
	char *default_pass_scheme;
	struct ldap_attr_list pass_attrs, user_attrs, iterate_attrs;
};

struct ldap_request {
	struct ldap_db *db;
	struct auth_request *req;
	passdb_verify_cb *verify_cb;
	userdb_lookup_cb *lookup_cb;
	userdb_iter_cb *iter_cb;
	void *iter_ctx;
};

/* "ldap.example.com host2:3389" -> "ldap://ldap.example.com
 * ldap://host2:3389". */
static char *hosts_to_uris(const char *hosts)
{
	struct buf b;
	buf_init(&b, 0);
	char *copy = xstrdup(hosts), *save = NULL;
	for (char *h = strtok_r(copy, " ,", &save); h != NULL;
	     h = strtok_r(NULL, " ,", &save))
		buf_printf(&b, "%sldap://%s", b.len > 0 ? " " : "", h);
	free(copy);
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

static int parse_scope(const char *s)
{
	if (strcmp(s, "base") == 0)
		return LDAP_SCOPE_BASE;
	if (strcmp(s, "onelevel") == 0)
		return LDAP_SCOPE_ONELEVEL;
	return LDAP_SCOPE_SUBTREE;
}

static int parse_deref(const char *s)
{
	if (strcmp(s, "searching") == 0)
		return LDAP_DEREF_SEARCHING;
	if (strcmp(s, "finding") == 0)
		return LDAP_DEREF_FINDING;
	if (strcmp(s, "always") == 0)
		return LDAP_DEREF_ALWAYS;
	return LDAP_DEREF_NEVER;
}

static void ldap_db_free(struct ldap_db *db)
{
	ldap_pool_free(&db->pool);
	free(db->pass_filter);
	free(db->user_filter);
	free(db->iterate_filter);
	free(db->default_pass_scheme);
	ldap_attr_list_free(&db->pass_attrs);
	ldap_attr_list_free(&db->user_attrs);
	ldap_attr_list_free(&db->iterate_attrs);
	free(db);
}

static int ldap_db_init(struct auth *auth, const char *args,
			struct ldap_db **db_r, char **error_r)
{
	struct config *cfg;
	char *error;
	if (args == NULL || *args == '\0') {
		*error_r = xstrdup("ldap: args must name a "
				   "dovecot-ldap.conf.ext file");
		return -1;
	}
	if (config_load_flat(args, config_ldap_schema, &cfg, &error) < 0) {
		*error_r = xasprintf("ldap: %s", error);
		free(error);
		return -1;
	}
	struct ldap_db *db = xcalloc(1, sizeof(*db));
	db->auth = auth;
	struct ldap_settings set = { 0 };
	const char *uris = config_get(cfg, NULL, "uris");
	set.uris = uris != NULL && *uris != '\0' ? xstrdup(uris) :
		   hosts_to_uris(config_get(cfg, NULL, "hosts"));
	set.dn = xstrdup(config_get(cfg, NULL, "dn"));
	set.dnpass = xstrdup(config_get(cfg, NULL, "dnpass"));
	set.base = xstrdup(config_get(cfg, NULL, "base"));
	set.scope = parse_scope(config_get(cfg, NULL, "scope"));
	set.deref = parse_deref(config_get(cfg, NULL, "deref"));
	set.timeout_secs = LDAP_DEFAULT_TIMEOUT_SECS;
	set.max_workers = 1;
	if (config_get_bool(cfg, NULL, "blocking")) {
		uint64_t n = config_get_uint(auth->cfg, NULL,
					     "auth_worker_max_count");
		set.max_workers = n == 0 ? 1 : n > 256 ? 256 : (unsigned)n;
	}
	db->auth_bind = config_get_bool(cfg, NULL, "auth_bind");
	db->pass_filter = xstrdup(config_get(cfg, NULL, "pass_filter"));
	db->user_filter = xstrdup(config_get(cfg, NULL, "user_filter"));
	db->iterate_filter = xstrdup(config_get(cfg, NULL, "iterate_filter"));
	db->default_pass_scheme =
		xstrdup(config_get(cfg, NULL, "default_pass_scheme"));
	/* RFC 4515 makes everything after '=' the value, so the spec's
	 * "(objectClass= smiMessageRecipient)" matches nothing; say so. */
	const char *filters[] = { db->pass_filter, db->user_filter,
				  db->iterate_filter };
	for (size_t i = 0; i < 3; i++) {
		if (strstr(filters[i], "= ") != NULL)
			log_warning(NULL, "ldap %s: filter %s has a space after "
				    "'=', which LDAP compares literally",
				    args, filters[i]);
	}
	int ret = 0;
	if (*set.uris == '\0') {
		*error_r = xasprintf("ldap %s: neither hosts nor uris set",
				     args);
		ret = -1;
	} else if (ldap_attr_list_parse(config_get(cfg, NULL, "pass_attrs"),
					&db->pass_attrs, &error) < 0 ||
		   ldap_attr_list_parse(config_get(cfg, NULL, "user_attrs"),
					&db->user_attrs, &error) < 0 ||
		   ldap_attr_list_parse(config_get(cfg, NULL,
						   "iterate_attrs"),
					&db->iterate_attrs, &error) < 0) {
		*error_r = xasprintf("ldap %s: %s", args, error);
		free(error);
		ret = -1;
	}
	config_free(&cfg);
	db->pool = ldap_pool_new(auth->loop, &set);
	if (ret < 0) {
		ldap_db_free(db);
		return -1;
	}
	*db_r = db;
	return 0;
}

static struct ldap_job *ldap_job_new(struct ldap_request *lr,
				     enum ldap_job_kind kind,
				     const char *filter_tmpl,
				     const struct ldap_attr_list *attrs)
{
	struct ldap_job *job = xcalloc(1, sizeof(*job));
	struct buf filter;
	const char *error;
	buf_init(&filter, 64 * 1024);
	if (ldap_filter_expand(filter_tmpl, lr->req != NULL ?
			       lr->req->user : "", lr->req != NULL ?
			       lr->req->service : NULL, &filter,
			       &error) < 0) {
		log_error(lr->req != NULL ? &lr->req->log : NULL,
			  "ldap: filter %s: %s", filter_tmpl, error);
		buf_free(&filter);
		free(job);
		return NULL;
	}
	job->kind = kind;
	job->filter = buf_steal(&filter);
	job->attrs = attrs->request_attrs;
	job->ctx = lr;
	return job;
}

static void ldap_job_stats(struct ldap_db *db, const struct ldap_job *job,
			   const struct log_ctx *log)
{
	db->auth->stats.ldap_searches += job->searches;
	db->auth->stats.ldap_binds += job->binds;
	if (job->result == LDAP_JOB_FAILED)
		log_error(log, "ldap: %s", job->error != NULL ? job->error :
			  "lookup failed");
}

/* ---- passdb ---- */

static void ldap_verify_done(struct ldap_job *job, void *ctx)
{
	struct ldap_request *lr = ctx;
	struct auth_request *req = lr->req;
	enum passdb_result r;
	ldap_job_stats(lr->db, job, &req->log);
	switch (job->result) {
	case LDAP_JOB_OK:
		ldap_attr_list_apply(&lr->db->pass_attrs, &job->entries[0],
				     req, &req->passdb_fields);
		if (lr->db->auth_bind) {
			r = PASSDB_RESULT_OK;
		} else {
			const char *pw = auth_fields_get(&req->passdb_fields,
							 "password");
			r = pw == NULL ? PASSDB_RESULT_PASSWORD_MISMATCH :
			    passdb_verify_stored(req, pw,
						 lr->db->default_pass_scheme);
		}
		break;
	case LDAP_JOB_NOT_FOUND:
		r = PASSDB_RESULT_USER_UNKNOWN;
		break;
	case LDAP_JOB_PASSWORD_MISMATCH:
		r = PASSDB_RESULT_PASSWORD_MISMATCH;
		break;
	default:
		r = PASSDB_RESULT_INTERNAL_FAILURE;
		break;
	}
	ldap_job_free(job);
	passdb_verify_cb *cb = lr->verify_cb;
	free(lr);
	cb(req, r);
}

static int ldap_passdb_init(struct auth *auth, struct passdb *pdb,
			    const char *args, char **error_r)
{
	struct ldap_db *db;
	if (ldap_db_init(auth, args, &db, error_r) < 0)
		return -1;
	pdb->ctx = db;
	return 0;
}

static void ldap_passdb_deinit(struct passdb *pdb)
{
	ldap_db_free(pdb->ctx);
}

static void ldap_verify_plain(struct passdb *pdb, struct auth_request *req,
			      passdb_verify_cb *cb)
{
	struct ldap_db *db = pdb->ctx;
	struct ldap_request *lr = xcalloc(1, sizeof(*lr));
	lr->db = db;
	lr->req = req;
	lr->verify_cb = cb;
	struct ldap_job *job = ldap_job_new(lr, LDAP_JOB_LOOKUP,
					    db->pass_filter, &db->pass_attrs);
	if (job == NULL) {
		free(lr);
		cb(req, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	if (db->auth_bind)
		job->bind_password = xstrdup(req->password != NULL ?
					     req->password : "");
	job->done = ldap_verify_done;
	ldap_pool_submit(db->pool, job);
}

/* auth lookup: the pass_filter search with pass_attrs, never a bind
 * (with auth_bind there is no stored password to show). */
static void ldap_passdb_lookup_done(struct ldap_job *job, void *ctx)
{
	struct ldap_request *lr = ctx;
	struct auth_request *req = lr->req;
	enum passdb_result r = job->result == LDAP_JOB_OK ? PASSDB_RESULT_OK :
		job->result == LDAP_JOB_NOT_FOUND ? PASSDB_RESULT_USER_UNKNOWN :
		PASSDB_RESULT_INTERNAL_FAILURE;
	ldap_job_stats(lr->db, job, &req->log);
	if (r == PASSDB_RESULT_OK)
		ldap_attr_list_apply(&lr->db->pass_attrs, &job->entries[0],
				     req, &req->passdb_fields);
	ldap_job_free(job);
	passdb_verify_cb *cb = lr->verify_cb;
	free(lr);
	cb(req, r);
}

static void ldap_passdb_lookup(struct passdb *pdb, struct auth_request *req,
			       passdb_verify_cb *cb)
{
	struct ldap_db *db = pdb->ctx;
	struct ldap_request *lr = xcalloc(1, sizeof(*lr));
	lr->db = db;
	lr->req = req;
	lr->verify_cb = cb;
	struct ldap_job *job = ldap_job_new(lr, LDAP_JOB_LOOKUP,
					    db->pass_filter, &db->pass_attrs);
	if (job == NULL) {
		free(lr);
		cb(req, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	job->done = ldap_passdb_lookup_done;
	ldap_pool_submit(db->pool, job);
}

/* ---- userdb ---- */

static void ldap_lookup_done(struct ldap_job *job, void *ctx)
{
	struct ldap_request *lr = ctx;
	struct auth_request *req = lr->req;
	enum userdb_result r;
	ldap_job_stats(lr->db, job, &req->log);
	if (job->result == LDAP_JOB_OK) {
		ldap_attr_list_apply(&lr->db->user_attrs, &job->entries[0],
				     req, &req->userdb_fields);
		r = USERDB_RESULT_OK;
	} else {
		r = job->result == LDAP_JOB_NOT_FOUND ?
		    USERDB_RESULT_USER_UNKNOWN :
		    USERDB_RESULT_INTERNAL_FAILURE;
	}
	ldap_job_free(job);
	userdb_lookup_cb *cb = lr->lookup_cb;
	free(lr);
	cb(req, r);
}

static int ldap_userdb_init(struct auth *auth, struct userdb *udb,
			    const char *args, char **error_r)
{
	struct ldap_db *db;
	if (ldap_db_init(auth, args, &db, error_r) < 0)
		return -1;
	udb->ctx = db;
	return 0;
}

static void ldap_userdb_deinit(struct userdb *udb)
{
	ldap_db_free(udb->ctx);
}

static void ldap_lookup(struct userdb *udb, struct auth_request *req,
			userdb_lookup_cb *cb)
{
	struct ldap_db *db = udb->ctx;
	struct ldap_request *lr = xcalloc(1, sizeof(*lr));
	lr->db = db;
	lr->req = req;
	lr->lookup_cb = cb;
	struct ldap_job *job = ldap_job_new(lr, LDAP_JOB_LOOKUP,
					    db->user_filter, &db->user_attrs);
	if (job == NULL) {
		free(lr);
		cb(req, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	job->done = ldap_lookup_done;
	ldap_pool_submit(db->pool, job);
}

static void ldap_iterate_done(struct ldap_job *job, void *ctx)
{
	struct ldap_request *lr = ctx;
	ldap_job_stats(lr->db, job, NULL);
	struct auth_request dummy = { .user = (char *)"",
				      .service = (char *)"auth" };
	for (size_t i = 0; i < job->n_entries; i++) {
		struct auth_fields f = { 0 };
		ldap_attr_list_apply(&lr->db->iterate_attrs, &job->entries[i],
				     &dummy, &f);
		const char *user = auth_fields_get(&f, "user");
		if (user != NULL)
			lr->iter_cb(user, false, lr->iter_ctx);
		auth_fields_clear(&f);
	}
	lr->iter_cb(NULL, job->result == LDAP_JOB_FAILED, lr->iter_ctx);
	ldap_job_free(job);
	free(lr);
}

static void ldap_iterate(struct userdb *udb, userdb_iter_cb *cb, void *ctx)
{
	struct ldap_db *db = udb->ctx;
	struct ldap_request *lr = xcalloc(1, sizeof(*lr));
	lr->db = db;
	lr->iter_cb = cb;
	lr->iter_ctx = ctx;
	struct ldap_job *job = ldap_job_new(lr, LDAP_JOB_LIST,
					    db->iterate_filter,
					    &db->iterate_attrs);
	if (job == NULL) {
		free(lr);
		cb(NULL, true, ctx);
		return;
	}
	job->done = ldap_iterate_done;
	ldap_pool_submit(db->pool, job);
}

const struct passdb_driver passdb_ldap = {
	.name = "ldap",
	.init = ldap_passdb_init,
	.deinit = ldap_passdb_deinit,
	.verify_plain = ldap_verify_plain,
	.lookup = ldap_passdb_lookup,
};

const struct userdb_driver userdb_ldap = {
	.name = "ldap",
	.init = ldap_userdb_init,
	.deinit = ldap_userdb_deinit,
	.lookup = ldap_lookup,
	.iterate = ldap_iterate,
};
