/* svc-auth settings and db chains (see auth-settings.h). */
#include "auth-settings.h"
#include "auth-anvil.h"
#include "auth-cache.h"
#include "auth-penalty.h"
#include "net-match.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const struct passdb_driver passdb_passwd_file, passdb_static,
	passdb_ldap;
extern const struct userdb_driver userdb_passwd_file, userdb_static,
	userdb_prefetch, userdb_ldap;

static const struct passdb_driver *const passdb_drivers[] = {
	&passdb_passwd_file, &passdb_static, &passdb_ldap,
};
static const struct userdb_driver *const userdb_drivers[] = {
	&userdb_passwd_file, &userdb_static, &userdb_prefetch, &userdb_ldap,
};

const struct passdb_driver *passdb_driver_find(const char *name)
{
	for (size_t i = 0; i < (sizeof(passdb_drivers) / sizeof(*passdb_drivers)); i++) {
		if (strcmp(passdb_drivers[i]->name, name) == 0)
			return passdb_drivers[i];
	}
	return NULL;
}

const struct userdb_driver *userdb_driver_find(const char *name)
{
	for (size_t i = 0; i < (sizeof(userdb_drivers) / sizeof(*userdb_drivers)); i++) {
		if (strcmp(userdb_drivers[i]->name, name) == 0)
			return userdb_drivers[i];
	}
	return NULL;
}

static char **split_mechanisms(const char *s)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	char *copy = xstrdup(s != NULL ? s : ""), *save = NULL;
	for (char *t = strtok_r(copy, " ,", &save); t != NULL;
	     t = strtok_r(NULL, " ,", &save)) {
		for (char *p = t; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		v = xreallocarray(v, n + 2, sizeof(char *));
		v[n++] = xstrdup(t);
		v[n] = NULL;
	}
	free(copy);
	return v;
}

bool auth_mechanism_enabled(const struct auth *auth, const char *mech)
{
	for (char **m = auth->set.mechanisms; *m != NULL; m++) {
		if (strcasecmp(*m, mech) == 0)
			return true;
	}
	return false;
}

/* mode = 0 on the anvil-auth-penalty listener switches the penalty off. */
static bool penalty_enabled(const struct config *cfg)
{
	const struct config_section *svc = config_section_find(
		config_root(cfg), "service", "anvil");
	const struct config_section *l = svc == NULL ? NULL :
		config_section_find(svc, "unix_listener",
				    "anvil-auth-penalty");
	const char *mode = l != NULL ? config_section_get(l, "mode") : NULL;
	uint64_t m;
	return mode == NULL || config_parse_octal(mode, &m) < 0 || m != 0;
}

static const char *section_str(const struct config_section *sec,
			       const char *key)
{
	const char *v = config_section_get(sec, key);
	return v != NULL ? v : "";
}

static bool section_bool(const struct config_section *sec, const char *key)
{
	bool b = false;
	const char *v = config_section_get(sec, key);
	return v != NULL && config_parse_bool(v, &b) == 0 && b;
}

static int add_passdb(struct auth *auth, const struct config_section *sec,
		      char **error_r)
{
	const char *driver = section_str(sec, "driver");
	const struct passdb_driver *drv = passdb_driver_find(driver);
	if (drv == NULL) {
		*error_r = xasprintf("%s:%u: unknown passdb driver '%s'",
				     sec->file, sec->line, driver);
		return -1;
	}
	struct passdb *db = xcalloc(1, sizeof(*db));
	db->drv = drv;
	db->auth = auth;
	db->args = xstrdup(section_str(sec, "args"));
	db->master = section_bool(sec, "master");
	db->deny = section_bool(sec, "deny");
	db->pass = section_bool(sec, "pass");
	auth->passdbs = xreallocarray(auth->passdbs, auth->n_passdbs + 1,
				      sizeof(*auth->passdbs));
	if (drv->init(auth, db, db->args, error_r) < 0) {
		free(db->args);
		free(db);
		return -1;
	}
	auth->passdbs[auth->n_passdbs++] = db;
	return 0;
}

static int add_userdb(struct auth *auth, const struct config_section *sec,
		      char **error_r)
{
	const char *driver = section_str(sec, "driver");
	const struct userdb_driver *drv = userdb_driver_find(driver);
	if (drv == NULL) {
		*error_r = xasprintf("%s:%u: unknown userdb driver '%s'",
				     sec->file, sec->line, driver);
		return -1;
	}
	struct userdb *db = xcalloc(1, sizeof(*db));
	db->drv = drv;
	db->auth = auth;
	db->args = xstrdup(section_str(sec, "args"));
	auth->userdbs = xreallocarray(auth->userdbs, auth->n_userdbs + 1,
				      sizeof(*auth->userdbs));
	if (drv->init(auth, db, db->args, error_r) < 0) {
		free(db->args);
		free(db);
		return -1;
	}
	auth->userdbs[auth->n_userdbs++] = db;
	return 0;
}

int auth_init(struct auth *auth, const struct config *cfg,
	      struct loop *loop, char **error_r)
{
	struct auth_settings *set = &auth->set;
	auth->cfg = cfg;
	auth->loop = loop;
	set->mechanisms = split_mechanisms(config_get(cfg, NULL,
						      "auth_mechanisms"));
	set->username_format = config_get(cfg, NULL, "auth_username_format");
	set->username_chars = config_get(cfg, NULL, "auth_username_chars");
	set->master_user_separator =
		config_get(cfg, NULL, "auth_master_user_separator");
	set->failure_delay_ms = config_get_msecs(cfg, NULL,
						 "auth_failure_delay");
	set->cache_size = config_get_size(cfg, NULL, "auth_cache_size");
	set->cache_ttl_ms = config_get_msecs(cfg, NULL, "auth_cache_ttl");
	set->cache_negative_ttl_ms =
		config_get_msecs(cfg, NULL, "auth_cache_negative_ttl");
	set->penalty_enabled = penalty_enabled(cfg);
	for (char **m = set->mechanisms; *m != NULL; m++) {
		if (strcmp(*m, "plain") != 0 && strcmp(*m, "login") != 0) {
			*error_r = xasprintf("auth_mechanisms: unsupported "
					     "mechanism '%s'", *m);
			return -1;
		}
	}
	auth->trusted = net_list_parse(config_get(cfg, NULL,
				       "login_trusted_networks"), error_r);
	if (auth->trusted == NULL) {
		char *e = *error_r;
		*error_r = xasprintf("login_trusted_networks: %s", e);
		free(e);
		return -1;
	}
	if (set->cache_size > 0)
		auth->cache = auth_cache_new(set->cache_size,
					     set->cache_ttl_ms,
					     set->cache_negative_ttl_ms);
	auth->penalty = auth_penalty_new();
	auth->anvil = auth_anvil_new();
	const struct config_section *root = config_root(cfg);
	for (size_t i = 0; i < root->n_children; i++) {
		const struct config_section *sec = root->children[i];
		if (strcmp(sec->type, "passdb") == 0 &&
		    add_passdb(auth, sec, error_r) < 0)
			return -1;
		if (strcmp(sec->type, "userdb") == 0 &&
		    add_userdb(auth, sec, error_r) < 0)
			return -1;
	}
	if (auth->n_passdbs == 0)
		log_warning(NULL, "no passdb configured: every login fails");
	return 0;
}

void auth_deinit(struct auth *auth)
{
	for (size_t i = 0; i < auth->n_passdbs; i++) {
		auth->passdbs[i]->drv->deinit(auth->passdbs[i]);
		free(auth->passdbs[i]->args);
		free(auth->passdbs[i]);
	}
	free(auth->passdbs);
	auth->passdbs = NULL;
	auth->n_passdbs = 0;
	for (size_t i = 0; i < auth->n_userdbs; i++) {
		auth->userdbs[i]->drv->deinit(auth->userdbs[i]);
		free(auth->userdbs[i]->args);
		free(auth->userdbs[i]);
	}
	free(auth->userdbs);
	auth->userdbs = NULL;
	auth->n_userdbs = 0;
	for (char **m = auth->set.mechanisms; m != NULL && *m != NULL; m++)
		free(*m);
	free(auth->set.mechanisms);
	auth->set.mechanisms = NULL;
	auth_cache_free(&auth->cache);
	auth_penalty_free(&auth->penalty);
	auth_anvil_free(&auth->anvil);
	net_list_free(&auth->trusted);
}
