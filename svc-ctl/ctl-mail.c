/* The doveadm forms of the mailbox, index and metacache verbs, through
 * svc-index's RPC, for -u USER|MASK or -A (every user):
 *   mailbox list [--json] (-u U|-A) [MASK...]
 *   mailbox status [--json] (-u U|-A) FIELDS MASK...   FIELDS: "all" or
 *       space-separated messages recent uidnext uidvalidity unseen
 *       highestmodseq vsize psize guid
 *   mailbox create|delete (-u U|-A) NAME...
 *   mailbox rename (-u U|-A) OLD NEW
 *   index status [--json] (-u U|-A)     the user in svc-index's cache
 *   index rebuild (-u U|-A)
 *   metacache list|flush|clean|unload [--json] [-u U|-A]
 * The older positional forms (mailbox list USER ...) stay in ctl-index.c.
 * Output is one line per user and mailbox ("user" first with -A or a
 * mask, as doveadm prints a username column); --json one array. */
#include "ctl.h"
#include "buf.h"
#include "rpc-versions.h"
#include "index.pb-c.h"

#include <stdlib.h>
#include <string.h>

struct ctl_mail {
	struct config *cfg;
	struct ctl_users users;
	bool json, show_user;
	size_t rows;		/* JSON objects written */
	int ret;
};

static int ctl_mail_call(struct ctl_mail *cm, const char *method,
			 const ProtobufCMessage *req, struct rpc_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	if (ctl_rpc_call(cm->cfg, "index", &stratus__index__descriptor,
			 INDEX_RPC_MAJOR, INDEX_RPC_MINOR, method, req,
			 reply) < 0) {
		cm->ret = CTL_EXIT_FAILURE;
		rpc_reply_clear(reply);
		return -1;
	}
	return 0;
}

/* Starts one output row: the JSON object's opening and "user", or the
 * user column. */
static void ctl_mail_row(struct ctl_mail *cm, const char *user)
{
	if (cm->json) {
		fputs(cm->rows++ > 0 ? ",{\"user\":" : "{\"user\":", stdout);
		ctl_json_string(stdout, user);
	} else if (cm->show_user) {
		printf("%s ", user);
	}
}

static void ctl_mail_field_str(struct ctl_mail *cm, bool first,
			       const char *key, const char *value)
{
	if (cm->json) {
		printf(",\"%s\":", key);
		ctl_json_string(stdout, value);
	} else {
		printf("%s%s=%s", first ? "" : " ", key, value);
	}
}

static void ctl_mail_field_num(struct ctl_mail *cm, bool first,
			       const char *key, unsigned long long value)
{
	if (cm->json)
		printf(",\"%s\":%llu", key, value);
	else
		printf("%s%s=%llu", first ? "" : " ", key, value);
}

static void ctl_mail_row_end(struct ctl_mail *cm)
{
	fputs(cm->json ? "}" : "\n", stdout);
}

static void ctl_mailbox_list_user(struct ctl_mail *cm, char *user,
				  struct ctl_args *args)
{
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	char *all = "*";
	req.user = user;
	req.patterns = args->argc > 0 ? args->argv : &all;
	req.n_patterns = args->argc > 0 ? (size_t)args->argc : 1;
	struct rpc_reply reply;
	if (ctl_mail_call(cm, "MailboxList", &req.base, &reply) < 0)
		return;
	const Stratus__IndexListReply *r = (const void *)reply.msg;
	for (size_t i = 0; i < r->n_entries; i++) {
		if (r->entries[i]->nonexistent)
			continue;
		ctl_mail_row(cm, user);
		if (cm->json) {
			fputs(",\"mailbox\":", stdout);
			ctl_json_string(stdout, r->entries[i]->name);
		} else {
			fputs(r->entries[i]->name, stdout);
		}
		ctl_mail_row_end(cm);
	}
	rpc_reply_clear(&reply);
}

static const char *const status_fields[] = {
	"messages", "recent", "uidnext", "uidvalidity", "unseen",
	"highestmodseq", "vsize", "psize", "guid",
};

static bool status_field_wanted(const char *fields, const char *name)
{
	if (strcmp(fields, "all") == 0)
		return true;
	size_t len = strlen(name);
	for (const char *p = fields; *p != '\0';) {
		size_t n = strcspn(p, " ,");
		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ,");
	}
	return false;
}

static void ctl_status_print(struct ctl_mail *cm, const char *user,
			     const char *fields,
			     const Stratus__IndexMailboxStatus *s)
{
	const unsigned long long v[] = {
		s->messages, s->recent, s->uidnext, s->uidvalidity, s->unseen,
		s->highest_modseq, s->vsize, s->psize, 0,
	};
	ctl_mail_row(cm, user);
	if (cm->json) {
		fputs(",\"mailbox\":", stdout);
		ctl_json_string(stdout, s->name);
	} else {
		fputs(s->name, stdout);
	}
	for (size_t i = 0; i < N_ELEMENTS(status_fields); i++) {
		if (!status_field_wanted(fields, status_fields[i]))
			continue;
		if (strcmp(status_fields[i], "guid") == 0)
			ctl_mail_field_str(cm, false, "guid", s->guid);
		else
			ctl_mail_field_num(cm, false, status_fields[i], v[i]);
	}
	ctl_mail_row_end(cm);
}

static void ctl_mailbox_status_user(struct ctl_mail *cm, char *user,
				    struct ctl_args *args)
{
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = user;
	req.patterns = args->argv + 1;
	req.n_patterns = (size_t)args->argc - 1;
	req.with_status = true;
	struct rpc_reply reply;
	if (ctl_mail_call(cm, "MailboxList", &req.base, &reply) < 0)
		return;
	const Stratus__IndexListReply *r = (const void *)reply.msg;
	for (size_t i = 0; i < r->n_entries; i++) {
		if (!r->entries[i]->nonexistent && r->entries[i]->status)
			ctl_status_print(cm, user, args->argv[0],
					 r->entries[i]->status);
	}
	rpc_reply_clear(&reply);
}

static void ctl_mailbox_change_user(struct ctl_mail *cm, char *user,
				    const char *verb, struct ctl_args *args)
{
	struct rpc_reply reply;
	if (strcmp(verb, "rename") == 0) {
		Stratus__IndexMailboxRenameRequest req =
			STRATUS__INDEX_MAILBOX_RENAME_REQUEST__INIT;
		req.user = user;
		req.mailbox = args->argv[0];
		req.new_name = args->argv[1];
		if (ctl_mail_call(cm, "MailboxRename", &req.base, &reply) == 0)
			rpc_reply_clear(&reply);
		return;
	}
	for (int i = 0; i < args->argc; i++) {
		int r;
		if (strcmp(verb, "create") == 0) {
			Stratus__IndexMailboxCreateRequest req =
				STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
			req.user = user;
			req.mailbox = args->argv[i];
			r = ctl_mail_call(cm, "MailboxCreate", &req.base,
					  &reply);
		} else {
			Stratus__IndexMailboxRequest req =
				STRATUS__INDEX_MAILBOX_REQUEST__INIT;
			req.user = user;
			req.mailbox = args->argv[i];
			r = ctl_mail_call(cm, "MailboxDelete", &req.base,
					  &reply);
		}
		if (r == 0)
			rpc_reply_clear(&reply);
	}
}

static void ctl_mail_begin(struct ctl_mail *cm)
{
	cm->show_user = cm->users.n != 1 || cm->json;
	if (cm->json)
		fputc('[', stdout);
}

static int ctl_mail_end(struct ctl_mail *cm)
{
	if (cm->json)
		fputs("]\n", stdout);
	ctl_users_free(&cm->users);
	config_free(&cm->cfg);
	return cm->ret;
}

/* Loads the config and takes --json and -u/-A; CTL_EXIT_USAGE when
 * there is no -u/-A and users are required. */
static int ctl_mail_open(struct ctl_mail *cm, struct ctl_args *args,
			 bool users_required)
{
	memset(cm, 0, sizeof(*cm));
	cm->json = ctl_take_flag(args, "--json");
	cm->cfg = ctl_config_load(args->config_path);
	if (cm->cfg == NULL)
		return CTL_EXIT_FAILURE;
	int r = ctl_users_take(args, cm->cfg, &cm->users);
	if (r == CTL_EXIT_USAGE && !users_required)
		r = 0;
	if (r != 0) {
		config_free(&cm->cfg);
		return r < 0 ? CTL_EXIT_FAILURE : r;
	}
	return 0;
}

int ctl_mail_mailbox(struct ctl_args *args)
{
	static const char usage[] =
		"usage: stratusctl mailbox list [--json] -u USER|-A [MASK...]\n"
		"       stratusctl mailbox status [--json] -u USER|-A FIELDS MASK...\n"
		"       stratusctl mailbox create|delete -u USER|-A NAME...\n"
		"       stratusctl mailbox rename -u USER|-A OLD NEW\n";
	struct ctl_mail cm;
	const char *verb = args->argv[0];
	struct ctl_args rest = { args->config_path, args->argc - 1,
				 args->argv + 1 };
	int r = ctl_mail_open(&cm, &rest, true);
	if (r != 0) {
		if (r == CTL_EXIT_USAGE)
			fputs(usage, stderr);
		return r;
	}
	bool list = strcmp(verb, "list") == 0;
	bool status = strcmp(verb, "status") == 0 && rest.argc >= 2;
	bool change = ((strcmp(verb, "create") == 0 ||
			strcmp(verb, "delete") == 0) && rest.argc >= 1) ||
		(strcmp(verb, "rename") == 0 && rest.argc == 2);
	if (!list && !status && !change) {
		fputs(usage, stderr);
		ctl_users_free(&cm.users);
		config_free(&cm.cfg);
		return CTL_EXIT_USAGE;
	}
	ctl_mail_begin(&cm);
	for (size_t i = 0; i < cm.users.n; i++) {
		if (list)
			ctl_mailbox_list_user(&cm, cm.users.names[i], &rest);
		else if (status)
			ctl_mailbox_status_user(&cm, cm.users.names[i], &rest);
		else
			ctl_mailbox_change_user(&cm, cm.users.names[i], verb,
						&rest);
	}
	return ctl_mail_end(&cm);
}

static void ctl_cache_entry_print(struct ctl_mail *cm, const char *user,
				  const Stratus__IndexCacheEntry *e)
{
	ctl_mail_row(cm, user);
	if (!cm->json && !cm->show_user)
		printf("%s ", user);
	ctl_mail_field_str(cm, true, "cached", e != NULL ? "yes" : "no");
	ctl_mail_field_num(cm, false, "bytes", e != NULL ? e->bytes : 0);
	ctl_mail_field_num(cm, false, "mailboxes", e != NULL ? e->mailboxes : 0);
	ctl_mail_field_num(cm, false, "messages", e != NULL ? e->messages : 0);
	ctl_mail_field_str(cm, false, "dirty",
			   e != NULL && e->dirty ? "yes" : "no");
	ctl_mail_field_num(cm, false, "last_access",
			   e != NULL ? (unsigned long long)e->last_access : 0);
	ctl_mail_row_end(cm);
}

/* index status / metacache list: svc-index's cache entry of each user
 * (every cached user when no -u/-A was given). */
static void ctl_cache_list(struct ctl_mail *cm, bool all_cached)
{
	Stratus__IndexUserRequest req = STRATUS__INDEX_USER_REQUEST__INIT;
	req.user = "";
	struct rpc_reply reply;
	if (ctl_mail_call(cm, "CacheList", &req.base, &reply) < 0)
		return;
	const Stratus__IndexCacheListReply *r = (const void *)reply.msg;
	if (all_cached) {
		cm->show_user = true;
		for (size_t i = 0; i < r->n_users; i++)
			ctl_cache_entry_print(cm, r->users[i]->user,
					      r->users[i]);
	}
	for (size_t u = 0; u < cm->users.n; u++) {
		const Stratus__IndexCacheEntry *e = NULL;
		for (size_t i = 0; i < r->n_users; i++) {
			if (strcmp(r->users[i]->user, cm->users.names[u]) == 0)
				e = r->users[i];
		}
		ctl_cache_entry_print(cm, cm->users.names[u], e);
	}
	if (all_cached && !cm->json)
		printf("total bytes=%llu max=%llu\n",
		       (unsigned long long)r->total_bytes,
		       (unsigned long long)r->max_bytes);
	rpc_reply_clear(&reply);
}

/* flush/clean/unload/rebuild of one user ("" = every cached user). */
static void ctl_admin_user(struct ctl_mail *cm, const char *method,
			   const char *verb, char *user)
{
	Stratus__IndexUserRequest req = STRATUS__INDEX_USER_REQUEST__INIT;
	req.user = user;
	struct rpc_reply reply;
	if (ctl_mail_call(cm, method, &req.base, &reply) < 0)
		return;
	const Stratus__IndexAdminReply *r = (const void *)reply.msg;
	ctl_mail_row(cm, user[0] != '\0' ? user : "*");
	if (!cm->json)
		printf("%s", verb);
	ctl_mail_field_num(cm, cm->json, "users", r->users);
	ctl_mail_field_num(cm, false, "uploads", r->uploads);
	if (strcmp(verb, "rebuild") == 0)
		ctl_mail_field_num(cm, false, "messages", r->messages);
	ctl_mail_row_end(cm);
	rpc_reply_clear(&reply);
}

int ctl_mail_index(struct ctl_args *args)
{
	struct ctl_mail cm;
	const char *verb = args->argv[0];
	struct ctl_args rest = { args->config_path, args->argc - 1,
				 args->argv + 1 };
	int r = ctl_mail_open(&cm, &rest, true);
	if (r == 0 && rest.argc == 0 && (strcmp(verb, "status") == 0 ||
					 strcmp(verb, "rebuild") == 0)) {
		ctl_mail_begin(&cm);
		if (strcmp(verb, "status") == 0)
			ctl_cache_list(&cm, false);
		for (size_t i = 0; strcmp(verb, "rebuild") == 0 &&
		     i < cm.users.n; i++)
			ctl_admin_user(&cm, "Rebuild", verb, cm.users.names[i]);
		return ctl_mail_end(&cm);
	}
	if (r == 0) {
		ctl_users_free(&cm.users);
		config_free(&cm.cfg);
	}
	if (r == 0 || r == CTL_EXIT_USAGE) {
		fputs("usage: stratusctl index status|rebuild [--json] "
		      "-u USER|-A\n", stderr);
		return CTL_EXIT_USAGE;
	}
	return r;
}

/* unload is clean for named users: upload what is dirty, then drop the
 * local copy (Dovecot's metacache unload); clean without users does that
 * for every cached user. */
int ctl_mail_metacache(struct ctl_args *args)
{
	struct ctl_mail cm;
	const char *verb = args->argv[0];
	struct ctl_args rest = { args->config_path, args->argc - 1,
				 args->argv + 1 };
	const char *method = strcmp(verb, "list") == 0 ? "CacheList" :
		strcmp(verb, "flush") == 0 ? "CacheFlush" :
		strcmp(verb, "clean") == 0 ? "CacheClean" :
		strcmp(verb, "unload") == 0 ? "CacheClean" : NULL;
	bool need_users = strcmp(verb, "unload") == 0;
	int r = method == NULL ? CTL_EXIT_USAGE :
		ctl_mail_open(&cm, &rest, need_users);
	if (r == 0 && rest.argc > 0) {
		ctl_users_free(&cm.users);
		config_free(&cm.cfg);
		r = CTL_EXIT_USAGE;
	}
	if (r != 0) {
		if (r == CTL_EXIT_USAGE)
			fputs("usage: stratusctl metacache list|flush|clean "
			      "[--json] [-u USER|-A] | metacache unload "
			      "[--json] -u USER|-A\n", stderr);
		return r;
	}
	ctl_mail_begin(&cm);
	if (strcmp(method, "CacheList") == 0)
		ctl_cache_list(&cm, cm.users.n == 0);
	else if (cm.users.n == 0)
		ctl_admin_user(&cm, method, verb, "");
	for (size_t i = 0; strcmp(method, "CacheList") != 0 &&
	     i < cm.users.n; i++)
		ctl_admin_user(&cm, method, verb, cm.users.names[i]);
	return ctl_mail_end(&cm);
}
