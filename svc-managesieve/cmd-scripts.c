/* The script commands of RFC 5804 (HAVESPACE, PUTSCRIPT, CHECKSCRIPT,
 * LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT). Each is
 * a short chain of storage calls; the client's scratch fields carry the
 * names and script between the steps. Scripts are compiled with lib/sieve
 * before they are stored, and the compiled form is stored beside them. */
#include <stdlib.h>
#include <string.h>

#include "sieve.h"
#include "managesieve-common.h"

#define ACTIVE_KEY SIEVE_STORAGE_ACTIVE_KEY

static char *script_key(const char *name, bool binary)
{
	return binary ? sieve_storage_binary_key(name) :
	       sieve_storage_script_key(name);
}

static bool take_name(struct ms_client *client, unsigned int idx,
		      char **out)
{
	const struct ms_arg *a = &client->cmd.args[idx];

	if (idx >= client->cmd.n_args || a->type != MS_ARG_STRING) {
		ms_reply(client, "NO", NULL, "Invalid arguments.");
		return false;
	}
	if (!sieve_storage_name_valid(a->str, a->len)) {
		ms_reply(client, "NO", NULL, "Invalid script name.");
		return false;
	}
	free(*out);
	*out = xstrdup(a->str);
	return true;
}

/* Compiles; on success *bin_r and *len_r hold the binary. On failure replies
 * NO with the errors (as many as managesieve_max_compile_errors). */
static bool compile(struct ms_client *client, const char *src, size_t len,
		    void **bin_r, size_t *bin_len_r)
{
	char *error;

	if (sieve_storage_compile(src, len, client->ctx->set.max_script_size,
				  client->ctx->set.max_compile_errors, bin_r,
				  bin_len_r, &error) < 0) {
		/* One error goes as a quoted string, several as a literal
		 * (ms_reply decides by the newlines). */
		ms_reply(client, "NO", NULL, "%s", error);
		free(error);
		return false;
	}
	return true;
}

/* ---- quota ---- */

/* NULL, or the quota response code and text when adding `size` bytes as
 * script `name` would exceed the quotas. */
static const char *quota_check(struct ms_client *client, const char *name,
			       uint64_t size, struct sieve_storage_entry *e,
			       size_t n, const char **text_r)
{
	const struct ms_settings *set = &client->ctx->set;
	const struct sieve_storage_limits lim = {
		.max_script_size = set->max_script_size,
		.max_scripts = set->quota_max_scripts,
		.max_storage = set->quota_max_storage,
	};

	return sieve_storage_quota_check(&lim, name, size, e, n, text_r);
}

static void havespace_listed(struct ms_client *client, int status,
			     struct sieve_storage_entry *e, size_t n)
{
	const char *code, *text;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	code = quota_check(client, client->name, client->scratch_num, e, n,
			   &text);
	if (code != NULL)
		ms_reply(client, "NO", code, "%s", text);
	else
		ms_reply(client, "OK", NULL, "Putscript would succeed.");
}

void cmd_havespace(struct ms_client *client)
{
	const struct ms_command *cmd = &client->cmd;
	char *end;

	if (!take_name(client, 0, &client->name))
		return;
	if (cmd->n_args != 2 || cmd->args[1].type != MS_ARG_ATOM) {
		ms_reply(client, "NO", NULL, "Invalid arguments.");
		return;
	}
	client->scratch_num = strtoull(cmd->args[1].str, &end, 10);
	if (*end != '\0' || cmd->args[1].str[0] == '-') {
		ms_reply(client, "NO", NULL, "Invalid size.");
		return;
	}
	if (client->scratch_num > client->ctx->set.max_script_size) {
		ms_reply(client, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return;
	}
	ms_storage_list(client, havespace_listed);
}

/* ---- PUTSCRIPT / CHECKSCRIPT ---- */

static void put_done(struct ms_client *client, int status)
{
	char *warnings = client->warnings;

	client->warnings = NULL;
	if (status != MS_OK) {
		free(warnings);
		ms_reply_internal(client);
		return;
	}
	log_info(&client->log, "sieve: stored script '%s' (%zu bytes)%s",
		 client->name, client->script_len,
		 warnings != NULL ? " with warnings" : "");
	if (warnings != NULL)
		ms_reply(client, "OK", "WARNINGS", "%s", warnings);
	else
		ms_reply(client, "OK", NULL, "PUTSCRIPT completed.");
	free(warnings);
}

/* The warnings of an upload whose includes name missing scripts (see
 * managesieve-include.c), malloc'd; NULL when there are none. */
static char *upload_warnings(struct ms_client *client, const char *self,
			     const struct sieve_storage_entry *e, size_t n)
{
	struct buf text = BUF_INIT;

	if (ms_includes_missing(client->ctx, client->script,
				client->script_len, self, e, n, false,
				&text) == 0) {
		buf_free(&text);
		return NULL;
	}
	return buf_steal(&text);
}

static void put_source_done(struct ms_client *client, int status)
{
	void *bin;
	size_t len;
	char *key;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	/* Compiled again here rather than kept: cheap, and it keeps the
	 * client's state to the source alone. */
	if (!compile(client, client->script, client->script_len, &bin, &len))
		return;
	key = script_key(client->name, true);
	ms_storage_put(client, key, bin, len, put_done);
	free(key);
	free(bin);
}

static void put_listed(struct ms_client *client, int status,
		       struct sieve_storage_entry *e, size_t n)
{
	const char *code, *text;
	char *key;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	code = quota_check(client, client->name, client->script_len, e, n,
			   &text);
	if (code != NULL) {
		ms_reply(client, "NO", code, "%s", text);
		return;
	}
	free(client->warnings);
	client->warnings = upload_warnings(client, client->name, e, n);
	key = script_key(client->name, false);
	ms_storage_put(client, key, client->script, client->script_len,
		       put_source_done);
	free(key);
}

static bool take_script(struct ms_client *client, unsigned int idx)
{
	const struct ms_arg *a = &client->cmd.args[idx];

	if (idx >= client->cmd.n_args || a->type != MS_ARG_STRING ||
	    client->cmd.n_args != idx + 1) {
		ms_reply(client, "NO", NULL, "Invalid arguments.");
		return false;
	}
	if (a->len > client->ctx->set.max_script_size) {
		ms_reply(client, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return false;
	}
	free(client->script);
	client->script = xmalloc(a->len + 1);
	memcpy(client->script, a->str, a->len + 1);
	client->script_len = a->len;
	return true;
}

void cmd_putscript(struct ms_client *client)
{
	if (!take_name(client, 0, &client->name) || !take_script(client, 1))
		return;
	if (!compile(client, client->script, client->script_len, NULL, NULL))
		return;
	ms_storage_list(client, put_listed);
}

static void check_listed(struct ms_client *client, int status,
			 struct sieve_storage_entry *e, size_t n)
{
	char *warnings;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	warnings = upload_warnings(client, NULL, e, n);
	if (warnings != NULL)
		ms_reply(client, "OK", "WARNINGS", "%s", warnings);
	else
		ms_reply(client, "OK", NULL, "Script is valid.");
	free(warnings);
}

/* As Pigeonhole, CHECKSCRIPT checks the includes as an upload would. */
void cmd_checkscript(struct ms_client *client)
{
	if (!take_script(client, 0))
		return;
	if (compile(client, client->script, client->script_len, NULL, NULL))
		ms_storage_list(client, check_listed);
}

/* ---- LISTSCRIPTS ---- */

static void list_active(struct ms_client *client, int status,
			const char *data, size_t len)
{
	struct sieve_storage_entry *e = client->entries;
	size_t n = client->n_entries;
	struct buf out = BUF_INIT;

	if (status == MS_FAIL) {
		sieve_storage_entries_free(e, n);
		client->entries = NULL;
		client->n_entries = 0;
		ms_reply_internal(client);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		buf_reset(&out);
		ms_quote(&out, e[i].name);
		if (status == MS_OK && strlen(e[i].name) == len &&
		    memcmp(e[i].name, data, len) == 0)
			buf_append_str(&out, " ACTIVE");
		ms_client_send(client, "%s", out.data);
	}
	buf_free(&out);
	sieve_storage_entries_free(e, n);
	client->entries = NULL;
	client->n_entries = 0;
	ms_reply(client, "OK", NULL, "Listscripts completed.");
}

static void list_listed(struct ms_client *client, int status,
			struct sieve_storage_entry *e, size_t n)
{
	struct sieve_storage_entry *copy;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	/* The entries die with this callback: keep a copy for the next
	 * step. */
	copy = xcalloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++) {
		copy[i].name = xstrdup(e[i].name);
		copy[i].size = e[i].size;
	}
	sieve_storage_entries_free(client->entries, client->n_entries);
	client->entries = copy;
	client->n_entries = n;
	ms_storage_get(client, ACTIVE_KEY, list_active);
}

void cmd_listscripts(struct ms_client *client)
{
	if (client->cmd.n_args != 0) {
		ms_reply(client, "NO", NULL, "Invalid arguments.");
		return;
	}
	ms_storage_list(client, list_listed);
}

/* ---- SETACTIVE ---- */

static void setactive_done(struct ms_client *client, int status)
{
	if (status == MS_FAIL) {
		ms_reply_internal(client);
		return;
	}
	log_info(&client->log, "sieve: activated script '%s'",
		 client->name != NULL ? client->name : "");
	ms_reply(client, "OK", NULL, client->name != NULL ?
		 "Setactive completed." : "Script deactivated.");
}

static void setactive_put(struct ms_client *client)
{
	ms_storage_put(client, ACTIVE_KEY, client->name, strlen(client->name),
		       setactive_done);
}

/* The script is active already: Pigeonhole does not check it again. */
static void setactive_active_got(struct ms_client *client, int status,
				 const char *data, size_t len)
{
	char *errors = client->warnings;

	client->warnings = NULL;
	if (status == MS_FAIL) {
		free(errors);
		ms_reply_internal(client);
		return;
	}
	if (status == MS_OK && strlen(client->name) == len &&
	    memcmp(client->name, data, len) == 0)
		setactive_put(client);
	else
		ms_reply(client, "NO", NULL, "%s", errors);
	free(errors);
}

/* An include of a missing script makes the script fail at every
 * delivery, so it is not made active (as in Pigeonhole). */
static void setactive_listed(struct ms_client *client, int status,
			     struct sieve_storage_entry *e, size_t n)
{
	struct buf text = BUF_INIT;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	if (ms_includes_missing(client->ctx, client->script,
				client->script_len, NULL, e, n, true,
				&text) == 0) {
		buf_free(&text);
		setactive_put(client);
		return;
	}
	free(client->warnings);
	client->warnings = buf_steal(&text);
	ms_storage_get(client, ACTIVE_KEY, setactive_active_got);
}

static void setactive_got(struct ms_client *client, int status,
			  const char *data, size_t len)
{
	if (status == MS_NOT_FOUND) {
		ms_reply(client, "NO", "NONEXISTENT", "Sieve script does not "
			 "exist.");
		return;
	}
	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	/* A script that no longer compiles is not activated. */
	if (!compile(client, data, len, NULL, NULL))
		return;
	free(client->script);
	client->script = xmalloc(len + 1);
	memcpy(client->script, data, len);
	client->script[len] = '\0';
	client->script_len = len;
	ms_storage_list(client, setactive_listed);
}

void cmd_setactive(struct ms_client *client)
{
	const struct ms_command *cmd = &client->cmd;
	char *key;

	if (cmd->n_args == 1 && cmd->args[0].type == MS_ARG_STRING &&
	    cmd->args[0].len == 0) {
		static const char *const keys[] = { ACTIVE_KEY };

		free(client->name);
		client->name = NULL;
		ms_storage_delete(client, keys, 1, setactive_done);
		return;
	}
	if (cmd->n_args != 1 || !take_name(client, 0, &client->name))
		return;
	key = script_key(client->name, false);
	ms_storage_get(client, key, setactive_got);
	free(key);
}

/* ---- GETSCRIPT ---- */

static void getscript_got(struct ms_client *client, int status,
			  const char *data, size_t len)
{
	char head[32];
	int n;

	if (status == MS_NOT_FOUND) {
		ms_reply(client, "NO", "NONEXISTENT", "Sieve script does not "
			 "exist.");
		return;
	}
	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	n = snprintf(head, sizeof(head), "{%zu}\r\n", len);
	ms_client_send_raw(client, head, (size_t)n);
	ms_client_send_raw(client, data, len);
	ms_client_send(client, "%s", "");
	ms_reply(client, "OK", NULL, "Getscript completed.");
}

void cmd_getscript(struct ms_client *client)
{
	char *key;

	if (client->cmd.n_args != 1 || !take_name(client, 0, &client->name))
		return;
	key = script_key(client->name, false);
	ms_storage_get(client, key, getscript_got);
	free(key);
}

/* ---- DELETESCRIPT ---- */

static void delete_done(struct ms_client *client, int status)
{
	if (status == MS_NOT_FOUND) {
		ms_reply(client, "NO", "NONEXISTENT", "Sieve script does not "
			 "exist.");
		return;
	}
	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	log_info(&client->log, "sieve: deleted script '%s'", client->name);
	ms_reply(client, "OK", NULL, "Deletescript completed.");
}

/* The store deletes missing keys without complaint, so existence is
 * checked first for RFC 5804's NONEXISTENT. */
static void delete_exists(struct ms_client *client, int status,
			  const char *data, size_t len)
{
	char *keys[2];

	(void)data;
	(void)len;
	if (status != MS_OK) {
		delete_done(client, status);
		return;
	}
	keys[0] = script_key(client->name, false);
	keys[1] = script_key(client->name, true);
	ms_storage_delete(client, (const char *const *)keys, 2, delete_done);
	free(keys[0]);
	free(keys[1]);
}

static void delete_active_got(struct ms_client *client, int status,
			      const char *data, size_t len)
{
	char *keys[2];

	if (status == MS_FAIL) {
		ms_reply_internal(client);
		return;
	}
	if (status == MS_OK && strlen(client->name) == len &&
	    memcmp(client->name, data, len) == 0) {
		ms_reply(client, "NO", "ACTIVE", "Cannot delete the active "
			 "sieve script.");
		return;
	}
	keys[0] = script_key(client->name, false);
	ms_storage_get(client, keys[0], delete_exists);
	free(keys[0]);
}

void cmd_deletescript(struct ms_client *client)
{
	if (client->cmd.n_args != 1 || !take_name(client, 0, &client->name))
		return;
	ms_storage_get(client, ACTIVE_KEY, delete_active_got);
}

/* ---- RENAMESCRIPT: copy source and binary, drop the old, move the
 * active mark along. ---- */

static void rename_finished(struct ms_client *client, int status)
{
	if (status == MS_FAIL) {
		ms_reply_internal(client);
		return;
	}
	ms_reply(client, "OK", NULL, "Renamescript completed.");
}

static void rename_active_got(struct ms_client *client, int status,
			      const char *data, size_t len)
{
	if (status == MS_OK && strlen(client->name) == len &&
	    memcmp(client->name, data, len) == 0) {
		ms_storage_put(client, ACTIVE_KEY, client->name2,
			       strlen(client->name2), rename_finished);
		return;
	}
	rename_finished(client, status == MS_FAIL ? MS_FAIL : MS_OK);
}

static void rename_old_deleted(struct ms_client *client, int status)
{
	if (status == MS_FAIL) {
		ms_reply_internal(client);
		return;
	}
	ms_storage_get(client, ACTIVE_KEY, rename_active_got);
}

static void rename_bin_put(struct ms_client *client, int status)
{
	char *keys[2];

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	keys[0] = script_key(client->name, false);
	keys[1] = script_key(client->name, true);
	ms_storage_delete(client, (const char *const *)keys, 2,
			  rename_old_deleted);
	free(keys[0]);
	free(keys[1]);
}

static void rename_source_put(struct ms_client *client, int status)
{
	void *bin = NULL;
	size_t len = 0;
	char *key;

	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	key = script_key(client->name2, true);
	/* A stored script that does not compile (older rules) is renamed
	 * without a binary; svc-lmtp then keeps the mail. */
	{
		struct sieve_script *s;
		char *err;

		if (sieve_script_compile(client->script, client->script_len,
					 0, &s, &err) == 0) {
			sieve_binary_save(s, &bin, &len);
			sieve_script_free(&s);
		} else {
			free(err);
		}
	}
	if (bin != NULL)
		ms_storage_put(client, key, bin, len, rename_bin_put);
	else
		rename_bin_put(client, MS_OK);
	free(bin);
	free(key);
}

static void rename_new_checked(struct ms_client *client, int status,
			       const char *data, size_t len)
{
	char *key;

	(void)data;
	(void)len;
	if (status == MS_OK) {
		ms_reply(client, "NO", "ALREADYEXISTS", "A sieve script with "
			 "that name already exists.");
		return;
	}
	if (status == MS_FAIL) {
		ms_reply_internal(client);
		return;
	}
	key = script_key(client->name2, false);
	ms_storage_put(client, key, client->script, client->script_len,
		       rename_source_put);
	free(key);
}

static void rename_old_got(struct ms_client *client, int status,
			   const char *data, size_t len)
{
	char *key;

	if (status == MS_NOT_FOUND) {
		ms_reply(client, "NO", "NONEXISTENT", "Sieve script does not "
			 "exist.");
		return;
	}
	if (status != MS_OK) {
		ms_reply_internal(client);
		return;
	}
	free(client->script);
	client->script = xmalloc(len + 1);
	memcpy(client->script, data, len);
	client->script[len] = '\0';
	client->script_len = len;
	key = script_key(client->name2, false);
	ms_storage_get(client, key, rename_new_checked);
	free(key);
}

void cmd_renamescript(struct ms_client *client)
{
	char *key;

	if (client->cmd.n_args != 2 || !take_name(client, 0, &client->name) ||
	    !take_name(client, 1, &client->name2))
		return;
	if (strcmp(client->name, client->name2) == 0) {
		ms_reply(client, "OK", NULL, "Renamescript completed.");
		return;
	}
	key = script_key(client->name, false);
	ms_storage_get(client, key, rename_old_got);
	free(key);
}
