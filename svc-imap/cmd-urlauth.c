/* URLAUTH (RFC 4467): GENURLAUTH, URLFETCH and RESETKEY, with the INTERNAL
 * mechanism of imap-urlauth.h over the URLs of imap-url.h. Enabled, and
 * advertised, when imap_urlauth_host is set (as Dovecot): "*" takes any
 * host in a URL, else the URL's host must be that one.
 *
 * GENURLAUTH signs URLs of the user's own mailboxes: the mailbox is
 * looked up in svc-index for its GUID, its key read from the user's key
 * object in svc-blob (created and stored before the answer when it has
 * none). URLFETCH checks each URL's access identifier against the
 * session's user (user+USER: that user; submit+USER: the
 * imap_urlauth_submit_user; authuser and anonymous: any logged-in user),
 * its expiry, then the owner's key and the token, and only then reads
 * the owner's message; any failure makes that URL's data NIL, so a URL
 * that is wrong, expired or reset cannot be told from one of a message
 * that is gone. RESETKEY drops keys: the next GENURLAUTH makes a new one,
 * and every URL signed with the old key fetches NIL.
 *
 * Index calls go to svc-index as plain calls, not imap_index_call():
 * URLFETCH reads other users' mailboxes, which must not carry the
 * selected mailbox's sync. A first GENURLAUTH of one mailbox in two
 * sessions at once could store two keys, the last one winning: the URLs
 * signed with the other then fetch NIL. */
#include "imap-index.h"
#include "imap-mail.h"
#include "imap-metadata.h"
#include "imap-url.h"
#include "imap-urlauth.h"
#include "imap-utf7.h"
#include "mail-section.h"
#include "blob.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define URLAUTH_MAX_URLS 64

enum ua_kind { UA_GEN, UA_FETCH, UA_RESET };

struct ua_item {
	const struct imap_arg *arg;
	struct imap_url url;
	bool parsed;
	const char *mailbox;	/* the index's name */
};

struct ua_ctx {
	enum ua_kind kind;
	struct ua_item *items;
	size_t n_items, cur;
	struct imap_md keys;	/* the key object being read or changed */
	bool dirty;
	const char *owner;	/* whose keys and mail the step reads */
	char *guid;		/* the current mailbox's */
	struct buf out;		/* the untagged response so far */
	const char *reset_mailbox;	/* RESETKEY mailbox, NULL = all */
};

static void ua_next(struct imap_cmd *cmd);

static void ua_ctx_free(void *p)
{
	struct ua_ctx *u = p;
	for (size_t i = 0; i < u->n_items; i++)
		imap_url_free(&u->items[i].url);
	free(u->items);
	imap_md_free(&u->keys);
	free(u->guid);
	buf_free(&u->out);
	free(u);
}

static struct ua_ctx *ua_ctx_new(struct imap_cmd *cmd, enum ua_kind kind)
{
	struct ua_ctx *u = xcalloc(1, sizeof(*u));
	u->kind = kind;
	cmd->ctx = u;
	cmd->ctx_free = ua_ctx_free;
	return u;
}

static bool ua_enabled(struct imap_cmd *cmd)
{
	if (cmd->client->ctx->set.urlauth_host[0] != '\0')
		return true;
	imap_cmd_bad(cmd, "Unknown command.");
	return false;
}

static bool ua_host_ok(const struct imap_client *client,
		       const struct imap_url *url)
{
	const char *host = client->ctx->set.urlauth_host;
	const char *h = url->host.data != NULL ? url->host.data : "";
	return strcmp(host, "*") == 0 || strcasecmp(host, h) == 0;
}

/* The URL's mailbox in the index's form (mUTF-7, INBOX); NULL if bad. */
static const char *ua_mailbox(struct imap_cmd *cmd, const struct imap_url *url)
{
	struct buf utf7 = BUF_INIT;
	if (imap_utf8_to_utf7(url->mailbox.data, &utf7) < 0) {
		buf_free(&utf7);
		return NULL;
	}
	const char *name = utf7.data != NULL ? utf7.data : "";
	const char *r = strcasecmp(name, "INBOX") == 0 ? "INBOX" :
		imap_pool_strndup(&cmd->pool, name, strlen(name));
	buf_free(&utf7);
	return r;
}

static bool ua_arg_text(const struct imap_arg *a)
{
	return imap_arg_is_astring(a) && a->fd < 0 && a->str != NULL;
}

/* ---- the key object ---- */

static void ua_keys_reply(struct imap_cmd *cmd, const struct rpc_reply *reply);

static void ua_keys_load(struct imap_cmd *cmd, const char *user)
{
	struct ua_ctx *u = cmd->ctx;
	imap_md_free(&u->keys);
	memset(&u->keys, 0, sizeof(u->keys));
	u->owner = user;
	struct imap_ctx *ctx = cmd->client->ctx;
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = (char *)user;
	req.key = (char *)IMAP_URLAUTH_KEYS_KEY;
	imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_get, &req.base, NULL, 0,
		      ua_keys_reply);
}

/* Reads the object into u->keys; false (with the command ended, or
 * for URLFETCH the URL answered NIL) when it cannot be read. */
static bool ua_keys_parse(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct ua_ctx *u = cmd->ctx;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND)
		return true;
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1) {
		if (u->kind != UA_FETCH) {
			imap_rpc_fail(cmd, "blob Get of the URLAUTH keys", reply);
			return false;
		}
		log_error(&cmd->client->log, "URLFETCH: blob Get of %s's "
			  "URLAUTH keys failed: %s", u->owner,
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
		return true;	/* no key: NIL */
	}
	struct imap_mail_map map;
	if (imap_mail_map(reply->fds[0], &map) < 0) {
		log_error(&cmd->client->log, "%s: mmap failed: %m",
			  cmd->c.name);
		return true;
	}
	if (imap_md_parse(&u->keys, map.data, map.size) < 0)
		log_error(&cmd->client->log, "%s: %s's URLAUTH keys are "
			  "damaged; the readable part is used", cmd->c.name,
			  u->owner);
	imap_mail_unmap(&map);
	return true;
}

static void ua_finish(struct imap_cmd *cmd);

static void ua_put_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "blob Put of the URLAUTH keys", reply);
		return;
	}
	ua_finish(cmd);
}

/* Stores u->keys as the user's key object, then ua_finish(). */
static void ua_keys_store(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	struct buf data = BUF_INIT;
	imap_md_serialize(&u->keys, &data);
	int fd = memfd_create("imap-urlauth", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data.data, data.len) != (ssize_t)data.len) {
		log_error(&cmd->client->log, "%s: memfd: %m", cmd->c.name);
		if (fd >= 0)
			close(fd);
		buf_free(&data);
		imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
		imap_cmd_done(cmd);
		return;
	}
	explicit_bzero(data.data, data.len);
	buf_free(&data);
	struct imap_ctx *ctx = cmd->client->ctx;
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = cmd->client->user;
	req.key = (char *)IMAP_URLAUTH_KEYS_KEY;
	imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_put, &req.base, &fd, 1,
		      ua_put_reply);
	close(fd);
}

/* ---- mailbox lookups ---- */

static void ua_status_reply(struct imap_cmd *cmd,
			    const struct rpc_reply *reply);

static void ua_status(struct imap_cmd *cmd, const char *user,
		      const char *mailbox)
{
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = (char *)user;
	req.mailbox = (char *)mailbox;
	imap_rpc_call(cmd, cmd->client->ctx->index, IMAP_INDEX_STATUS,
		      &req.base, NULL, 0, ua_status_reply);
}

/* ---- URLFETCH's steps for the current URL ---- */

static void ua_fetch_nil(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	buf_append_str(&u->out, " NIL");
	u->cur++;
	ua_next(cmd);
}

static void ua_fetch_data(struct imap_cmd *cmd, const char *data, size_t len)
{
	struct ua_ctx *u = cmd->ctx;
	const struct imap_url *url = &u->items[u->cur].url;
	if (url->partial) {
		size_t off = url->partial_offset < len ?
			url->partial_offset : len;
		size_t n = len - off;
		if (url->partial_length != 0 && url->partial_length < n)
			n = url->partial_length;
		data += off;
		len = n;
	}
	buf_printf(&u->out, " {%zu}\r\n", len);
	buf_append(&u->out, data, len);
	u->cur++;
	ua_next(cmd);
}

static void ua_mail_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct ua_ctx *u = cmd->ctx;
	const struct imap_url *url = &u->items[u->cur].url;
	struct imap_mail_map map;
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1 ||
	    imap_mail_map(reply->fds[0], &map) < 0) {
		ua_fetch_nil(cmd);
		return;
	}
	const char *data = map.data != NULL ? map.data : "";
	if (url->section.len == 0) {
		ua_fetch_data(cmd, data, map.size);
		imap_mail_unmap(&map);
		return;
	}
	struct mail_section sect;
	const char *error;
	if (mail_section_parse(url->section.data, &sect, &error) < 0) {
		mail_section_free(&sect);
		imap_mail_unmap(&map);
		ua_fetch_nil(cmd);
		return;
	}
	struct buf part = BUF_INIT;
	struct mail_part *root = mail_parse(data, map.size);
	mail_section_fetch(data, map.size, root, &sect, &part);
	mail_part_free(&root);
	mail_section_free(&sect);
	imap_mail_unmap(&map);
	ua_fetch_data(cmd, part.data != NULL ? part.data : "", part.len);
	buf_free(&part);
}

static void ua_fetch_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct ua_ctx *u = cmd->ctx;
	const struct imap_url *url = &u->items[u->cur].url;
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	if (reply->status != STRATUS__STATUS__STATUS_OK ||
	    r->n_messages != 1 || r->messages[0]->uid != url->uid) {
		ua_fetch_nil(cmd);
		return;
	}
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)u->owner;
	req.key = (char *)imap_object_key(r->messages[0]->object_id);
	imap_rpc_call(cmd, cmd->client->ctx->blob,
		      cmd->client->ctx->methods.blob_get, &req.base, NULL, 0,
		      ua_mail_reply);
}

/* The owner's mailbox exists (u->guid): the token, then the message. */
static void ua_fetch_verify(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	struct ua_item *it = &u->items[u->cur];
	const struct imap_md_entry *key =
		imap_md_find(&u->keys, u->guid, IMAP_URLAUTH_KEY_NAME);
	if (key == NULL || !imap_urlauth_token_ok(key->value, key->value_len,
			it->arg->str, it->url.rump_len, it->url.token.data,
			it->url.token.len)) {
		ua_fetch_nil(cmd);
		return;
	}
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	range.first = range.last = it->url.uid;
	Stratus__IndexUidRange *ranges[] = { &range };
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = (char *)u->owner;
	req.mailbox = (char *)it->mailbox;
	req.uids = ranges;
	req.n_uids = 1;
	imap_rpc_call(cmd, cmd->client->ctx->index, IMAP_INDEX_FETCH,
		      &req.base, NULL, 0, ua_fetch_reply);
}

/* Whether the session may use a URL with this access identifier. */
static bool ua_access_ok(const struct imap_client *client,
			 const struct imap_url *url)
{
	const char *submit = client->ctx->set.urlauth_submit_user;
	switch (url->access) {
	case IMAP_URL_ACCESS_USER:
		return strcmp(url->access_user.data, client->user) == 0;
	case IMAP_URL_ACCESS_SUBMIT:
		return submit[0] != '\0' && strcmp(submit, client->user) == 0;
	case IMAP_URL_ACCESS_AUTHUSER:
	case IMAP_URL_ACCESS_ANONYMOUS:
		return true;
	case IMAP_URL_ACCESS_NONE:
		break;
	}
	return false;
}

/* The checks that need no lookup, then the owner's keys. */
static void ua_fetch_start(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	struct ua_item *it = &u->items[u->cur];
	struct imap_client *client = cmd->client;
	/* each URL as sent, then its data */
	buf_append_c(&u->out, ' ');
	imap_quote_string(&u->out, it->arg->str);
	if (!it->parsed || it->url.mechanism.len == 0 ||
	    strcasecmp(it->url.mechanism.data, IMAP_URLAUTH_MECH) != 0 ||
	    !ua_host_ok(client, &it->url) || !ua_access_ok(client, &it->url) ||
	    (it->url.expire && it->url.expire_time <= (int64_t)time(NULL)) ||
	    (it->mailbox = ua_mailbox(cmd, &it->url)) == NULL) {
		ua_fetch_nil(cmd);
		return;
	}
	ua_keys_load(cmd, it->url.user.data);
}

/* ---- GENURLAUTH ---- */

static void ua_gen_sign(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	struct ua_item *it = &u->items[u->cur];
	struct imap_md_entry *key =
		imap_md_find(&u->keys, u->guid, IMAP_URLAUTH_KEY_NAME);
	if (key == NULL) {
		unsigned char fresh[IMAP_URLAUTH_KEY_LEN];
		if (imap_urlauth_new_key(fresh) < 0) {
			log_error(&cmd->client->log, "GENURLAUTH: no random "
				  "bytes for a key");
			imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
			imap_cmd_done(cmd);
			return;
		}
		imap_md_set(&u->keys, u->guid, IMAP_URLAUTH_KEY_NAME,
			    (const char *)fresh, sizeof(fresh));
		explicit_bzero(fresh, sizeof(fresh));
		u->dirty = true;
		key = imap_md_find(&u->keys, u->guid, IMAP_URLAUTH_KEY_NAME);
	}
	char token[IMAP_URLAUTH_TOKEN_LEN + 1];
	imap_urlauth_token(key->value, key->value_len, it->arg->str,
			   it->arg->len, token);
	char *signed_url = xasprintf("%s:%s:%s", it->arg->str,
				     IMAP_URLAUTH_MECH, token);
	buf_append_c(&u->out, ' ');
	imap_quote_string(&u->out, signed_url);
	free(signed_url);
	u->cur++;
	ua_next(cmd);
}

/* ---- the steps ---- */

static void ua_keys_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct ua_ctx *u = cmd->ctx;
	if (!ua_keys_parse(cmd, reply))
		return;
	if (u->kind == UA_FETCH) {
		struct ua_item *it = &u->items[u->cur];
		ua_status(cmd, u->owner, it->mailbox);
	} else if (u->kind == UA_RESET) {
		imap_md_set(&u->keys, u->guid, IMAP_URLAUTH_KEY_NAME, NULL, 0);
		ua_keys_store(cmd);
	} else {
		ua_next(cmd);
	}
}

static void ua_status_reply(struct imap_cmd *cmd,
			    const struct rpc_reply *reply)
{
	struct ua_ctx *u = cmd->ctx;
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply->msg;
	bool missing = reply->status == STRATUS__STATUS__STATUS_NOT_FOUND ||
		(reply->status == STRATUS__STATUS__STATUS_OK &&
		 (r->status == NULL || r->status->guid[0] == '\0'));
	const struct ua_item *it = u->kind == UA_RESET ? NULL :
		&u->items[u->cur];
	bool stale = !missing && reply->status == STRATUS__STATUS__STATUS_OK &&
		it != NULL && it->url.uidvalidity != 0 &&
		it->url.uidvalidity != r->status->uidvalidity;
	if (u->kind == UA_FETCH) {
		if (missing || stale ||
		    reply->status != STRATUS__STATUS__STATUS_OK) {
			ua_fetch_nil(cmd);
			return;
		}
		free(u->guid);
		u->guid = xstrdup(r->status->guid);
		ua_fetch_verify(cmd);
		return;
	}
	if (missing || stale) {
		imap_cmd_reply(cmd, "NO", "[NONEXISTENT] %s",
			       missing ? "Mailbox doesn't exist" :
			       "UIDVALIDITY does not match");
		imap_cmd_done(cmd);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, NULL);
		return;
	}
	free(u->guid);
	u->guid = xstrdup(r->status->guid);
	if (u->kind == UA_RESET)
		ua_keys_load(cmd, cmd->client->user);
	else
		ua_gen_sign(cmd);
}

static void ua_finish(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	if (u->kind != UA_RESET) {
		buf_append_str(&u->out, "\r\n");
		imap_client_send_raw(cmd->client, u->out.data, u->out.len);
	}
	imap_cmd_reply(cmd, "OK", "%s completed.",
		       u->kind == UA_GEN ? "GENURLAUTH" :
		       u->kind == UA_FETCH ? "URLFETCH" : "RESETKEY");
	imap_cmd_done(cmd);
}

/* The next URL, or the end. GENURLAUTH loaded its keys once first. */
static void ua_next(struct imap_cmd *cmd)
{
	struct ua_ctx *u = cmd->ctx;
	if (u->cur < u->n_items) {
		struct ua_item *it = &u->items[u->cur];
		if (u->kind == UA_FETCH)
			ua_fetch_start(cmd);
		else
			ua_status(cmd, cmd->client->user, it->mailbox);
		return;
	}
	if (u->kind == UA_GEN && u->dirty) {
		u->dirty = false;
		ua_keys_store(cmd);
		return;
	}
	ua_finish(cmd);
}

/* GENURLAUTH url mechanism [url mechanism ...] */
bool cmd_genurlauth(struct imap_cmd *cmd)
{
	if (!ua_enabled(cmd))
		return true;
	size_t n = cmd->c.n_args;
	if (n == 0 || n % 2 != 0 || n / 2 > URLAUTH_MAX_URLS) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct ua_ctx *u = ua_ctx_new(cmd, UA_GEN);
	u->items = xcalloc(n / 2, sizeof(*u->items));
	u->n_items = n / 2;
	buf_append_str(&u->out, "* GENURLAUTH");
	for (size_t i = 0; i < u->n_items; i++) {
		struct ua_item *it = &u->items[i];
		const struct imap_arg *a = &cmd->c.args[2 * i];
		const struct imap_arg *mech = &cmd->c.args[2 * i + 1];
		it->arg = a;
		if (!ua_arg_text(a) || !imap_arg_is_astring(mech)) {
			imap_cmd_bad(cmd, "Invalid arguments.");
			return true;
		}
		if (strcasecmp(mech->str, IMAP_URLAUTH_MECH) != 0) {
			imap_cmd_reply(cmd, "NO", "Unsupported URLAUTH "
				       "mechanism: %s", mech->str);
			return true;
		}
		it->parsed = imap_url_parse(a->str, a->len, &it->url) == 0;
		if (!it->parsed || it->url.access == IMAP_URL_ACCESS_NONE ||
		    it->url.mechanism.len != 0) {
			imap_cmd_reply(cmd, "NO", "[BADURL %s] Not a "
				       "URLAUTH-ready IMAP URL", a->str);
			return true;
		}
		if (strcmp(it->url.user.data, cmd->client->user) != 0 ||
		    !ua_host_ok(cmd->client, &it->url)) {
			imap_cmd_reply(cmd, "NO", "[BADURL %s] Not a URL of "
				       "this user's mailboxes", a->str);
			return true;
		}
		it->mailbox = ua_mailbox(cmd, &it->url);
		if (it->mailbox == NULL) {
			imap_cmd_reply(cmd, "NO", "[BADURL %s] Mailbox name "
				       "is not UTF-8", a->str);
			return true;
		}
	}
	ua_keys_load(cmd, cmd->client->user);
	return false;
}

/* URLFETCH url [url ...] */
bool cmd_urlfetch(struct imap_cmd *cmd)
{
	if (!ua_enabled(cmd))
		return true;
	size_t n = cmd->c.n_args;
	if (n == 0 || n > URLAUTH_MAX_URLS) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct ua_ctx *u = ua_ctx_new(cmd, UA_FETCH);
	u->items = xcalloc(n, sizeof(*u->items));
	u->n_items = n;
	buf_append_str(&u->out, "* URLFETCH");
	for (size_t i = 0; i < n; i++) {
		struct ua_item *it = &u->items[i];
		it->arg = &cmd->c.args[i];
		if (!ua_arg_text(it->arg)) {
			imap_cmd_bad(cmd, "Invalid arguments.");
			return true;
		}
		it->parsed = imap_url_parse(it->arg->str, it->arg->len,
					    &it->url) == 0;
	}
	ua_next(cmd);
	return false;
}

/* RESETKEY [mailbox [mechanism ...]] */
bool cmd_resetkey(struct imap_cmd *cmd)
{
	if (!ua_enabled(cmd))
		return true;
	const struct imap_arg *args = cmd->c.args;
	size_t n = cmd->c.n_args;
	for (size_t i = 1; i < n; i++) {
		if (!imap_arg_is_astring(&args[i]) ||
		    strcasecmp(args[i].str, IMAP_URLAUTH_MECH) != 0) {
			imap_cmd_reply(cmd, "NO", "Unsupported URLAUTH "
				       "mechanism.");
			return true;
		}
	}
	struct ua_ctx *u = ua_ctx_new(cmd, UA_RESET);
	if (n == 0) {
		ua_keys_store(cmd);	/* no keys at all */
		return false;
	}
	u->reset_mailbox = imap_mailbox_arg(cmd, &args[0], false);
	if (u->reset_mailbox == NULL)
		return true;
	ua_status(cmd, cmd->client->user, u->reset_mailbox);
	return false;
}
