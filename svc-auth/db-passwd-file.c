/* passdb and userdb driver "passwd-file": args are
 * "[scheme=S] [username_format=F] PATH". The file is shared by the
 * passdb and userdb sections that name the same path and args. */
#include "auth-common.h"
#include "passwd-file.h"

#include <stdlib.h>
#include <string.h>

struct passwd_file_db {
	struct passwd_file *file;
	char *scheme;
	char *username_format;
};

static int passwd_file_db_init(const char *args, struct passwd_file_db **db_r,
			       char **error_r)
{
	struct passwd_file_db *db = xcalloc(1, sizeof(*db));
	char *copy = xstrdup(args), *save = NULL, *path = NULL;
	db->scheme = xstrdup("CRYPT");
	db->username_format = xstrdup("%u");
	for (char *tok = strtok_r(copy, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "scheme=", 7) == 0) {
			free(db->scheme);
			db->scheme = xstrdup(tok + 7);
		} else if (strncmp(tok, "username_format=", 16) == 0) {
			free(db->username_format);
			db->username_format = xstrdup(tok + 16);
		} else if (strchr(tok, '=') == NULL && path == NULL) {
			path = tok;
		} else {
			*error_r = xasprintf("passwd-file: unknown argument "
					     "'%s'", tok);
			path = NULL;
			break;
		}
	}
	if (path == NULL) {
		if (*error_r == NULL)
			*error_r = xstrdup("passwd-file: no file in args");
		free(copy);
		free(db->scheme);
		free(db->username_format);
		free(db);
		return -1;
	}
	db->file = passwd_file_new(path);
	free(copy);
	*db_r = db;
	return 0;
}

static void passwd_file_db_free(struct passwd_file_db *db)
{
	passwd_file_free(&db->file);
	free(db->scheme);
	free(db->username_format);
	free(db);
}

static const struct passwd_entry *
passwd_file_db_find(struct passwd_file_db *db, struct auth_request *req,
		    bool *failed_r)
{
	struct buf key;
	const char *error;
	buf_init(&key, AUTH_MAX_USERNAME_LEN * 4);
	if (auth_request_expand(req, db->username_format, &key, &error) < 0) {
		log_error(&req->log, "passwd-file: username_format: %s", error);
		buf_free(&key);
		*failed_r = true;
		return NULL;
	}
	const struct passwd_entry *e = passwd_file_lookup(db->file, key.data,
							  failed_r);
	buf_free(&key);
	return e;
}

static int pf_passdb_init(struct auth *auth, struct passdb *pdb,
			  const char *args, char **error_r)
{
	(void)auth;
	struct passwd_file_db *db;
	if (passwd_file_db_init(args, &db, error_r) < 0)
		return -1;
	pdb->ctx = db;
	return 0;
}

static void pf_passdb_deinit(struct passdb *pdb)
{
	passwd_file_db_free(pdb->ctx);
}

static void pf_verify_plain(struct passdb *pdb, struct auth_request *req,
			    passdb_verify_cb *cb)
{
	struct passwd_file_db *db = pdb->ctx;
	bool failed;
	const struct passwd_entry *e = passwd_file_db_find(db, req, &failed);
	if (e == NULL) {
		cb(req, failed ? PASSDB_RESULT_INTERNAL_FAILURE :
		   PASSDB_RESULT_USER_UNKNOWN);
		return;
	}
	auth_fields_copy(&req->passdb_fields, &e->extra);
	enum passdb_result r =
		auth_fields_get(&e->extra, "nopassword") != NULL ?
		PASSDB_RESULT_OK :
		passdb_verify_stored(req, e->password, db->scheme);
	cb(req, r);
}

static void pf_passdb_lookup(struct passdb *pdb, struct auth_request *req,
			     passdb_verify_cb *cb)
{
	struct passwd_file_db *db = pdb->ctx;
	bool failed;
	const struct passwd_entry *e = passwd_file_db_find(db, req, &failed);
	if (e == NULL) {
		cb(req, failed ? PASSDB_RESULT_INTERNAL_FAILURE :
		   PASSDB_RESULT_USER_UNKNOWN);
		return;
	}
	if (e->password != NULL && e->password[0] != '\0')
		auth_fields_set(&req->passdb_fields, "password", e->password);
	auth_fields_copy(&req->passdb_fields, &e->extra);
	cb(req, PASSDB_RESULT_OK);
}

static int pf_userdb_init(struct auth *auth, struct userdb *udb,
			  const char *args, char **error_r)
{
	(void)auth;
	struct passwd_file_db *db;
	if (passwd_file_db_init(args, &db, error_r) < 0)
		return -1;
	udb->ctx = db;
	return 0;
}

static void pf_userdb_deinit(struct userdb *udb)
{
	passwd_file_db_free(udb->ctx);
}

static void pf_lookup(struct userdb *udb, struct auth_request *req,
		      userdb_lookup_cb *cb)
{
	struct passwd_file_db *db = udb->ctx;
	bool failed;
	const struct passwd_entry *e = passwd_file_db_find(db, req, &failed);
	if (e == NULL) {
		cb(req, failed ? USERDB_RESULT_INTERNAL_FAILURE :
		   USERDB_RESULT_USER_UNKNOWN);
		return;
	}
	const char *cols[][2] = { { "uid", e->uid }, { "gid", e->gid },
				  { "home", e->home } };
	for (size_t i = 0; i < sizeof(cols) / sizeof(*cols); i++) {
		if (cols[i][1] != NULL && *cols[i][1] != '\0')
			auth_fields_set(&req->userdb_fields, cols[i][0],
					cols[i][1]);
	}
	for (size_t i = 0; i < e->extra.n; i++) {
		if (strncmp(e->extra.v[i].key, "userdb_", 7) == 0)
			auth_fields_set(&req->userdb_fields,
					e->extra.v[i].key + 7,
					e->extra.v[i].value);
	}
	cb(req, USERDB_RESULT_OK);
}

struct pf_iter_ctx {
	userdb_iter_cb *cb;
	void *ctx;
};

static void pf_iter_one(const char *user, void *ctx)
{
	struct pf_iter_ctx *ic = ctx;
	ic->cb(user, false, ic->ctx);
}

static void pf_iterate(struct userdb *udb, userdb_iter_cb *cb, void *ctx)
{
	struct passwd_file_db *db = udb->ctx;
	struct pf_iter_ctx ic = { cb, ctx };
	int r = passwd_file_iterate(db->file, pf_iter_one, &ic);
	cb(NULL, r < 0, ctx);
}

const struct passdb_driver passdb_passwd_file = {
	.name = "passwd-file",
	.init = pf_passdb_init,
	.deinit = pf_passdb_deinit,
	.verify_plain = pf_verify_plain,
	.lookup = pf_passdb_lookup,
};

const struct userdb_driver userdb_passwd_file = {
	.name = "passwd-file",
	.init = pf_userdb_init,
	.deinit = pf_userdb_deinit,
	.lookup = pf_lookup,
	.iterate = pf_iterate,
};
