/* Privilege separation (see privdrop.h): resolve a service's configured
 * user and become it. Everything here runs once at start-up, before the
 * loop, so the non-reentrant passwd/group lookups are fine. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: setresuid, setresgid, getgrouplist */
#endif
#include "privdrop.h"
#include "service.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRIVDROP_MAX_GROUPS 64

bool service_touches_mail_files(const char *service)
{
	/* svc-index keeps the per-user metacache under mail_home, svc-blob
	 * the fscache and posix objects; the protocol services only talk
	 * RPC, so they need no access to mail files at all. */
	return strcmp(service, "index") == 0 || strcmp(service, "blob") == 0;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

/* A user name or number: its uid and primary group. */
static int lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r,
		       char **error_r)
{
	struct passwd *pw = all_digits(name) ?
			    getpwuid((uid_t)strtoul(name, NULL, 10)) :
			    getpwnam(name);
	if (pw == NULL && all_digits(name)) {
		/* A bare number need not be in passwd (Dovecot allows it);
		 * its group must then be given. */
		*uid_r = (uid_t)strtoul(name, NULL, 10);
		*gid_r = (gid_t)-1;
		return 0;
	}
	if (pw == NULL) {
		*error_r = xasprintf("user %s does not exist", name);
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

static int lookup_group(const char *name, gid_t *gid_r, char **error_r)
{
	if (all_digits(name)) {
		*gid_r = (gid_t)strtoul(name, NULL, 10);
		return 0;
	}
	struct group *gr = getgrnam(name);
	if (gr == NULL) {
		*error_r = xasprintf("group %s does not exist", name);
		return -1;
	}
	*gid_r = gr->gr_gid;
	return 0;
}

static const char *nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Which settings name the user and group, in privdrop.h's order. */
static void identity_settings(const struct config *cfg, const char *service,
			      const char **user_r, const char **group_r,
			      const char **setting_r)
{
	const struct config_section *root = config_root(cfg);
	const struct config_section *sec =
		config_section_find(root, "service", service);
	const char *user = sec != NULL ?
			   nonempty(config_section_get(sec, "user")) : NULL;
	if (user != NULL) {
		*user_r = user;
		*group_r = nonempty(config_section_get(sec, "group"));
		*setting_r = "service { user }";
		return;
	}
	user = nonempty(config_get(cfg, NULL, "mail_uid"));
	if (service_touches_mail_files(service) && user != NULL) {
		*user_r = user;
		*group_r = nonempty(config_get(cfg, NULL, "mail_gid"));
		*setting_r = "mail_uid";
		return;
	}
	/* Only when set: the schema's default (Dovecot's "dovecot") may
	 * exist on a machine without meaning anything for Stratus. */
	*user_r = nonempty(config_section_get(root, "default_internal_user"));
	*group_r = NULL;
	*setting_r = "default_internal_user";
}

int service_identity_get(const struct config *cfg, const char *service,
			 struct service_identity *id_r, char **error_r)
{
	const char *user, *group, *setting;
	memset(id_r, 0, sizeof(*id_r));
	const char *internal = nonempty(config_section_get(config_root(cfg),
						"default_internal_user"));
	if (internal != NULL) {
		uid_t uid;
		if (lookup_user(internal, &uid, &id_r->internal_gid,
				error_r) < 0)
			return -1;
		id_r->has_internal_gid = id_r->internal_gid != (gid_t)-1;
	}
	identity_settings(cfg, service, &user, &group, &setting);
	if (user == NULL)
		return 0;
	if (lookup_user(user, &id_r->uid, &id_r->gid, error_r) < 0 ||
	    (group != NULL && lookup_group(group, &id_r->gid, error_r) < 0))
		return -1;
	if (id_r->gid == (gid_t)-1) {
		*error_r = xasprintf("%s = %s: a uid not in passwd needs its "
				     "group set too", setting, user);
		return -1;
	}
	id_r->configured = true;
	id_r->user = xstrdup(all_digits(user) ? "" : user);
	id_r->setting = setting;
	return 0;
}

void service_identity_free(struct service_identity *id)
{
	free(id->user);
	id->user = NULL;
}

/* The user's groups from /etc/group plus the internal group. */
static int identity_set_groups(const struct service_identity *id,
			       char **error_r)
{
	gid_t groups[PRIVDROP_MAX_GROUPS];
	int n = 0;
	if (*id->user != '\0') {
		n = PRIVDROP_MAX_GROUPS - 1;
		if (getgrouplist(id->user, id->gid, groups, &n) < 0) {
			*error_r = xasprintf("user %s is in more than %d "
					     "groups", id->user,
					     PRIVDROP_MAX_GROUPS - 1);
			return -1;
		}
	} else {
		groups[n++] = id->gid;
	}
	bool have_internal = !id->has_internal_gid;
	for (int i = 0; i < n; i++)
		have_internal = have_internal || groups[i] == id->internal_gid;
	if (!have_internal)
		groups[n++] = id->internal_gid;
	if (setgroups((size_t)n, groups) < 0) {
		*error_r = xasprintf("setgroups: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int identity_become(const struct service_identity *id, char **error_r)
{
	if (identity_set_groups(id, error_r) < 0)
		return -1;
	if (setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0) {
		*error_r = xasprintf("becoming uid %ld gid %ld: %s",
				     (long)id->uid, (long)id->gid,
				     strerror(errno));
		return -1;
	}
	if (id->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		*error_r = xstrdup("root could be taken back after the drop");
		return -1;
	}
	/* The kernel leaves a process that changed its uid undumpable:
	 * no core dumps and no ptrace or /proc access by other processes
	 * of the same user (the other services), which is kept. */
	return 0;
}

/* `service NAME { user }` for a process Stratus does not have (Dovecot's
 * imap-login, anvil...) changes nothing: say so. quota-warning's user is
 * svc-quota's (quota-script.c). */
static void warn_unused_service_users(const struct config *cfg)
{
	static const char *const names[] = SERVICE_NAMES;
	const struct config_section *root = config_root(cfg);
	for (size_t c = 0; c < root->n_children; c++) {
		const struct config_section *sec = root->children[c];
		if (strcmp(sec->type, "service") != 0 || sec->name == NULL ||
		    nonempty(config_section_get(sec, "user")) == NULL ||
		    strcmp(sec->name, "quota-warning") == 0)
			continue;
		bool known = false;
		for (size_t i = 0; i < SERVICE_COUNT; i++)
			known = known || strcmp(names[i], sec->name) == 0;
		if (!known)
			log_warning(NULL, "service %s { user } has no effect: "
				    "Stratus runs no %s process (services: "
				    "blob index auth quota imap pop3 lmtp "
				    "managesieve)", sec->name, sec->name);
	}
}

int service_privileges_drop(const struct config *cfg, const char *service,
			    char **error_r)
{
	struct service_identity id;
	if (service_identity_get(cfg, service, &id, error_r) < 0)
		return -1;
	warn_unused_service_users(cfg);
	int ret = 0;
	if (geteuid() != 0) {
		if (id.configured && geteuid() != id.uid)
			log_warning(NULL, "%s names uid %ld but this process "
				    "was started as uid %ld (not root): it "
				    "stays uid %ld", id.setting, (long)id.uid,
				    (long)geteuid(), (long)geteuid());
	} else if (!id.configured) {
		log_info(NULL, "running as root: no service %s { user }%s or "
			 "default_internal_user set", service,
			 service_touches_mail_files(service) ?
			 ", mail_uid" : "");
	} else if (identity_become(&id, error_r) < 0) {
		ret = -1;
	} else {
		log_info(NULL, "running as %s%suid %ld gid %ld (from %s)",
			 id.user, *id.user != '\0' ? " " : "", (long)id.uid,
			 (long)id.gid, id.setting);
	}
	service_identity_free(&id);
	return ret;
}

int service_rpc_socket_give(const struct config *cfg, const char *service,
			    const char *path, char **error_r)
{
	if (geteuid() != 0)
		return 0;
	struct service_identity id;
	if (service_identity_get(cfg, service, &id, error_r) < 0)
		return -1;
	uid_t uid = id.configured ? id.uid : (uid_t)-1;
	gid_t gid = id.has_internal_gid ? id.internal_gid :
		    id.configured ? id.gid : (gid_t)-1;
	int ret = 0;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) < 0)
		ret = -1;
	if (ret == 0 && id.has_internal_gid && chmod(path, 0660) < 0)
		ret = -1;
	if (ret < 0)
		*error_r = xasprintf("%s: %s", path, strerror(errno));
	service_identity_free(&id);
	return ret;
}
