/* Sieve at LMTP delivery, per recipient, in the steps lib/sieve/sieve.h
 * sets out:
 *   1. svc-blob Get "sieve/.active" (absent: plain lmtp_store), then the
 *      compiled "sieve/N.svbin"; when that is missing or stale, the source
 *      "sieve/N" is compiled and the binary stored back (not awaited).
 *   2. The script runs over the message read from the transaction's memfd
 *      (headers unfolded and RFC 2047-decoded through lib/mail).
 *   3. The actions run in order, one lmtp_store_with per stored copy:
 *      keep and fileinto (:create, imap4flags), discard, reject/ereject as
 *      "550 5.7.1 <reason>" for this recipient, editheader on the stored
 *      copies. Redirect and vacation are logged as not sent (no SMTP
 *      submission yet) and the message is kept instead, so no mail is lost.
 * A script that cannot be read, compiled or run keeps the message in
 * INBOX with an error in the log: a user's mistake never loses mail.
 * Tracking (vacation, duplicate) is committed only after every store
 * succeeded. */
#include "lmtp-sieve.h"
#include "lmtp-rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blob.pb-c.h"
#include "mail-decode.h"
#include "mail-header.h"
#include "sieve.h"

#define LMTP_SIEVE_ACTIVE_KEY "sieve/.active"
#define LMTP_SIEVE_MAX_NAME 256
/* Bigger than any script svc-managesieve accepts (SIEVE_MAX_SCRIPT_SIZE)
 * plus its binary's overhead. */
#define LMTP_SIEVE_MAX_READ (4 * SIEVE_MAX_SCRIPT_SIZE)
#define LMTP_SIEVE_REASON_MAX 512

struct lmtp_sieve_settings {
	unsigned int max_actions, max_redirects, max_cpu_msecs;
	unsigned int vacation_min, vacation_max, vacation_default;
};

enum lmtp_sieve_get { SIEVE_GET_OK, SIEVE_GET_MISSING, SIEVE_GET_FAILED };

struct lmtp_sieve_run;
typedef void lmtp_sieve_get_fn(struct lmtp_sieve_run *sr,
			       enum lmtp_sieve_get status, struct buf *data);

struct lmtp_sieve_run {
	struct lmtp_server *server;
	struct lmtp_rpc_backend *be;
	struct lmtp_client *client;
	const struct lmtp_txn *txn;
	struct lmtp_rcpt *rcpt;
	lmtp_deliver_cb *cb;
	struct log_ctx log;
	lmtp_sieve_get_fn *get_next;
	char *name;		/* the active script */
	struct sieve_script *script;
	struct sieve_result *result;
	struct sieve_env env;
	const char *user_addresses[1];
	/* the message as the script sees it */
	char *data;
	size_t size, body_off;
	char *msgid;
	void **allocs;		/* header values handed to the script */
	size_t n_allocs;
	/* performing the actions */
	size_t next;
	int body_fd;		/* edited copy (editheader), or -1 */
	uint64_t body_size;
	char **stored;		/* mailboxes already stored into */
	size_t n_stored;
	bool need_keep;		/* an action failed that must not lose mail */
	const char *reject;
	enum lmtp_result fail;
	char *error;
};

static void lmtp_sieve_next(struct lmtp_sieve_run *sr);

/* ---- settings ---- */

/* "30", "30s", "5m", "2h", "7d", "1w", "30 secs": seconds. */
static unsigned int lmtp_sieve_duration(const char *v, unsigned int def)
{
	if (v == NULL || *v == '\0')
		return def;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	while (*end == ' ')
		end++;
	unsigned long mul = 1;
	switch (*end) {
	case 'm': mul = strncmp(end, "ms", 2) == 0 ? 0 : 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'w': mul = 7 * 86400; break;
	default: break;
	}
	if (mul == 0)	/* milliseconds: round up to a second */
		return (unsigned int)((n + 999) / 1000);
	return n > UINT32_MAX / mul ? UINT32_MAX : (unsigned int)(n * mul);
}

static unsigned int lmtp_sieve_uint(const struct config *cfg, const char *key)
{
	const char *v = config_plugin_get(cfg, "lmtp", key);
	if (v == NULL)
		return 0;
	unsigned long n = strtoul(v, NULL, 10);
	return n > UINT32_MAX ? UINT32_MAX : (unsigned int)n;
}

struct lmtp_sieve_settings *lmtp_sieve_settings_new(const struct config *cfg)
{
	struct lmtp_sieve_settings *set = xcalloc(1, sizeof(*set));
	/* 0 leaves lib/sieve's default (sieve.h, struct sieve_env) */
	set->max_actions = lmtp_sieve_uint(cfg, "sieve_max_actions");
	set->max_redirects = lmtp_sieve_uint(cfg, "sieve_max_redirects");
	unsigned int cpu = lmtp_sieve_duration(
		config_plugin_get(cfg, "lmtp", "sieve_max_cpu_time"), 0);
	set->max_cpu_msecs = cpu > UINT32_MAX / 1000 ? UINT32_MAX : cpu * 1000;
	set->vacation_min = lmtp_sieve_duration(config_plugin_get(cfg, "lmtp",
		"sieve_vacation_min_period"), 0);
	set->vacation_max = lmtp_sieve_duration(config_plugin_get(cfg, "lmtp",
		"sieve_vacation_max_period"), 0);
	set->vacation_default = lmtp_sieve_duration(config_plugin_get(cfg,
		"lmtp", "sieve_vacation_default_period"), 0);
	return set;
}

void lmtp_sieve_settings_free(struct lmtp_sieve_settings **set)
{
	free(*set);
	*set = NULL;
}

/* ---- the run's lifetime ---- */

static void *lmtp_sieve_keep(struct lmtp_sieve_run *sr, void *p)
{
	sr->allocs = xreallocarray(sr->allocs, sr->n_allocs + 1,
				   sizeof(*sr->allocs));
	sr->allocs[sr->n_allocs++] = p;
	return p;
}

static void lmtp_sieve_free(struct lmtp_sieve_run *sr)
{
	if (sr->result != NULL)
		sieve_result_free(&sr->result);
	if (sr->script != NULL)
		sieve_script_free(&sr->script);
	for (size_t i = 0; i < sr->n_allocs; i++)
		free(sr->allocs[i]);
	for (size_t i = 0; i < sr->n_stored; i++)
		free(sr->stored[i]);
	if (sr->body_fd >= 0)
		close(sr->body_fd);
	free(sr->allocs);
	free(sr->stored);
	free(sr->name);
	free(sr->data);
	free(sr->msgid);
	free(sr->error);
	free(sr);
}

static const char *lmtp_sieve_msgid(const struct lmtp_sieve_run *sr)
{
	return sr->msgid != NULL ? sr->msgid : "<unspecified>";
}

/* ---- svc-blob reads ---- */

static void lmtp_sieve_get_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_sieve_run *sr = ctx;
	struct buf data = BUF_INIT;
	enum lmtp_sieve_get status = SIEVE_GET_FAILED;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
		status = SIEVE_GET_MISSING;
	} else if (reply->status == STRATUS__STATUS__STATUS_OK &&
		   reply->n_fds > 0) {
		char tmp[16384];
		ssize_t n;
		status = SIEVE_GET_OK;
		buf_init(&data, LMTP_SIEVE_MAX_READ);
		while ((n = read(reply->fds[0], tmp, sizeof(tmp))) > 0) {
			if (buf_append(&data, tmp, (size_t)n) < 0) {
				status = SIEVE_GET_FAILED;
				break;
			}
		}
		if (n < 0)
			status = SIEVE_GET_FAILED;
	}
	if (status == SIEVE_GET_FAILED)
		log_error(&sr->log, "sieve: reading a script from storage "
			  "failed: %s", reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
	sr->get_next(sr, status, &data);
	buf_free(&data);
}

static void lmtp_sieve_get(struct lmtp_sieve_run *sr, const char *key,
			   lmtp_sieve_get_fn *next)
{
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_rpc_context(sr->client, sr->rcpt->user, &ctx);
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = sr->rcpt->user;
	req.key = (char *)key;
	sr->get_next = next;
	rpc_client_call(sr->be->blob, sr->be->m_get, &ctx, &req.base, NULL, 0,
			RPC_DEFAULT_TIMEOUT_MS, lmtp_sieve_get_reply, sr);
}

static void lmtp_sieve_ignore_reply(const struct rpc_reply *reply, void *ctx)
{
	(void)reply;
	(void)ctx;
}

/* Caches the compiled form beside the source; nobody waits for it: the
 * next delivery compiles again if this Put is lost. */
static void lmtp_sieve_store_binary(struct lmtp_sieve_run *sr)
{
	void *bin;
	size_t len;
	sieve_binary_save(sr->script, &bin, &len);
	int fd = memfd_create("lmtp-svbin", MFD_CLOEXEC);
	bool ok = fd >= 0 && write(fd, bin, len) == (ssize_t)len;
	free(bin);
	if (!ok) {
		log_warning(&sr->log, "sieve: cannot cache the binary of %s",
			    sr->name);
		if (fd >= 0)
			close(fd);
		return;
	}
	char *key = xasprintf("sieve/%s.svbin", sr->name);
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_rpc_context(sr->client, sr->rcpt->user, &ctx);
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = sr->rcpt->user;
	req.key = key;
	rpc_client_call(sr->be->blob, sr->be->m_put, &ctx, &req.base, &fd, 1,
			RPC_DEFAULT_TIMEOUT_MS, lmtp_sieve_ignore_reply, NULL);
	close(fd);
	free(key);
}

/* ---- the message seen by the script ---- */

static void lmtp_sieve_header(void *ctx, const char *name,
			      const char *const **values_r, size_t *count_r)
{
	struct lmtp_sieve_run *sr = ctx;
	struct mail_header_iter iter;
	struct mail_header_field f;
	const char **values = NULL;
	size_t n = 0;
	struct buf raw = BUF_INIT, dec = BUF_INIT;
	mail_header_iter_init(&iter, sr->data, sr->body_off);
	while (mail_header_iter_next(&iter, &f)) {
		if (!mail_header_name_is(&f, name))
			continue;
		buf_reset(&raw);
		buf_reset(&dec);
		mail_header_value_unfold(f.value, f.value_len, &raw);
		mail_decode_rfc2047(raw.data != NULL ? raw.data : "", raw.len,
				    &dec);
		values = xreallocarray(values, n + 1, sizeof(*values));
		values[n++] = lmtp_sieve_keep(sr, xstrndup(
			dec.data != NULL ? dec.data : "", dec.len));
	}
	buf_free(&raw);
	buf_free(&dec);
	if (values != NULL)
		lmtp_sieve_keep(sr, values);
	*values_r = values;
	*count_r = n;
}

static const char *lmtp_sieve_envelope(void *ctx, const char *part)
{
	struct lmtp_sieve_run *sr = ctx;
	if (strcasecmp(part, "from") == 0)
		return sr->txn->mail_from;
	if (strcasecmp(part, "to") == 0)
		return sr->rcpt->address;
	return NULL;
}

static uint64_t lmtp_sieve_size(void *ctx)
{
	return ((struct lmtp_sieve_run *)ctx)->size;
}

/* The body after the header, undecoded, for every transform: MIME part
 * selection for :content/:text is not done yet (see the README). */
static void lmtp_sieve_body(void *ctx, enum sieve_body_transform transform,
			    const char *const *types, size_t n_types,
			    const char *const **parts_r, size_t *count_r)
{
	struct lmtp_sieve_run *sr = ctx;
	(void)transform;
	(void)types;
	(void)n_types;
	const char **parts = lmtp_sieve_keep(sr, xcalloc(1, sizeof(*parts)));
	parts[0] = lmtp_sieve_keep(sr, xstrndup(sr->data + sr->body_off,
						sr->size - sr->body_off));
	*parts_r = parts;
	*count_r = 1;
}

static time_t lmtp_sieve_now(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static const struct sieve_message_ops lmtp_sieve_msg_ops = {
	.header = lmtp_sieve_header,
	.envelope = lmtp_sieve_envelope,
	.size = lmtp_sieve_size,
	.body = lmtp_sieve_body,
	.now = lmtp_sieve_now,
};

/* Offset of the empty line ending the header (size when there is none). */
static size_t lmtp_sieve_body_offset(const char *data, size_t size)
{
	for (size_t i = 0; i < size;) {
		if (data[i] == '\n')
			return i;
		if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
			return i;
		const char *nl = memchr(data + i, '\n', size - i);
		if (nl == NULL)
			return size;
		i = (size_t)(nl - data) + 1;
	}
	return size;
}

static int lmtp_sieve_read_message(struct lmtp_sieve_run *sr)
{
	size_t size = (size_t)sr->txn->body_size;
	sr->data = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(sr->txn->body_fd, sr->data + got,
				  size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	sr->data[size] = '\0';
	sr->size = size;
	sr->body_off = lmtp_sieve_body_offset(sr->data, size);
	struct buf id = BUF_INIT;
	if (mail_header_get(sr->data, sr->body_off, "Message-ID", 0, &id) &&
	    id.len > 0)
		sr->msgid = xstrndup(id.data, id.len < 200 ? id.len : 200);
	buf_free(&id);
	return 0;
}

/* ---- editheader on the stored copy ---- */

static bool lmtp_sieve_field_is(const struct mail_header_field *f,
				const struct sieve_action *act)
{
	if (!mail_header_name_is(f, act->header_name))
		return false;
	if (act->header_value == NULL)
		return true;
	struct buf raw = BUF_INIT, dec = BUF_INIT;
	mail_header_value_unfold(f->value, f->value_len, &raw);
	mail_decode_rfc2047(raw.data != NULL ? raw.data : "", raw.len, &dec);
	size_t vlen = strlen(act->header_value);
	bool same = (raw.len == vlen &&
		     memcmp(raw.data, act->header_value, vlen) == 0) ||
		    (dec.len == vlen &&
		     memcmp(dec.data, act->header_value, vlen) == 0);
	buf_free(&raw);
	buf_free(&dec);
	return same;
}

/* One edit of the header block hdr (replaced in place). */
static void lmtp_sieve_edit(struct buf *hdr, const struct sieve_action *act)
{
	struct buf out = BUF_INIT;
	if (act->type == SIEVE_ACT_ADDHEADER && !act->last)
		buf_printf(&out, "%s: %s\r\n", act->header_name,
			   act->header_value);
	struct mail_header_iter iter;
	struct mail_header_field f;
	mail_header_iter_init(&iter, hdr->data != NULL ? hdr->data : "",
			      hdr->len);
	while (mail_header_iter_next(&iter, &f)) {
		if (act->type == SIEVE_ACT_DELETEHEADER &&
		    lmtp_sieve_field_is(&f, act))
			continue;
		buf_append(&out, f.raw, f.raw_len);
	}
	if (act->type == SIEVE_ACT_ADDHEADER && act->last)
		buf_printf(&out, "%s: %s\r\n", act->header_name,
			   act->header_value);
	buf_free(hdr);
	*hdr = out;
}

/* Applies the ADDHEADER/DELETEHEADER actions into a new memfd that every
 * stored copy of this recipient uses. */
static int lmtp_sieve_apply_edits(struct lmtp_sieve_run *sr)
{
	struct buf hdr = BUF_INIT;
	bool edited = false;
	buf_append(&hdr, sr->data, sr->body_off);
	for (size_t i = 0; i < sr->result->n_actions; i++) {
		const struct sieve_action *act = &sr->result->actions[i];
		if (act->type != SIEVE_ACT_ADDHEADER &&
		    act->type != SIEVE_ACT_DELETEHEADER)
			continue;
		lmtp_sieve_edit(&hdr, act);
		edited = true;
		log_info(&sr->log, "sieve: msgid=%s: %s header %s",
			 lmtp_sieve_msgid(sr), act->type == SIEVE_ACT_ADDHEADER ?
			 "added" : "deleted", act->header_name);
	}
	if (!edited) {
		buf_free(&hdr);
		return 0;
	}
	buf_append(&hdr, sr->data + sr->body_off, sr->size - sr->body_off);
	int fd = memfd_create("lmtp-sieve", MFD_CLOEXEC);
	bool ok = fd >= 0 && write(fd, hdr.data, hdr.len) == (ssize_t)hdr.len;
	sr->body_size = hdr.len;
	buf_free(&hdr);
	if (!ok) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sr->body_fd = fd;
	return 0;
}

/* ---- performing the actions ---- */

static void lmtp_sieve_finish(struct lmtp_sieve_run *sr)
{
	struct lmtp_client *client = sr->client;
	struct lmtp_rcpt *rcpt = sr->rcpt;
	lmtp_deliver_cb *cb = sr->cb;
	if (sr->error != NULL) {
		char *error = sr->error;
		enum lmtp_result fail = sr->fail;
		sr->error = NULL;
		lmtp_sieve_free(sr);
		cb(client, rcpt, fail, error);
		free(error);
		return;
	}
	if (sr->result != NULL)
		sieve_result_commit_tracking(sr->result, &sr->env, time(NULL));
	char *reject = sr->reject != NULL && sr->n_stored == 0 ?
		xstrdup(sr->reject) : NULL;
	lmtp_sieve_free(sr);
	if (reject != NULL)
		cb(client, rcpt, LMTP_RESULT_REJECTED, reject);
	else
		cb(client, rcpt, LMTP_RESULT_OK, NULL);
	free(reject);
}

static void lmtp_sieve_store_done(void *ctx, enum lmtp_result result,
				  const char *error)
{
	struct lmtp_sieve_run *sr = ctx;
	if (result != LMTP_RESULT_OK) {
		/* stop: the MTA retries the whole delivery */
		sr->fail = result;
		sr->error = xstrdup(error != NULL ? error : "store failed");
		lmtp_sieve_finish(sr);
		return;
	}
	lmtp_sieve_next(sr);
}

static bool lmtp_sieve_stored(const struct lmtp_sieve_run *sr,
			      const char *mailbox)
{
	for (size_t i = 0; i < sr->n_stored; i++) {
		if (strcmp(sr->stored[i], mailbox) == 0)
			return true;
	}
	return false;
}

/* Stores one copy (keep: mailbox NULL). false when it was already stored
 * there, as Pigeonhole stores a message once per folder. */
static bool lmtp_sieve_store(struct lmtp_sieve_run *sr, const char *mailbox,
			     const struct sieve_action *act)
{
	const char *box = mailbox != NULL ? mailbox :
		sr->rcpt->mailbox != NULL ? sr->rcpt->mailbox : "INBOX";
	if (strcasecmp(box, "INBOX") == 0)
		box = "INBOX";
	if (lmtp_sieve_stored(sr, box))
		return false;
	sr->stored = xreallocarray(sr->stored, sr->n_stored + 1,
				   sizeof(*sr->stored));
	sr->stored[sr->n_stored++] = xstrdup(box);
	log_info(&sr->log, "sieve: msgid=%s: %s: storing mail into mailbox "
		 "'%s'", lmtp_sieve_msgid(sr), act != NULL ?
		 sieve_action_name(act->type) : "keep", box);
	struct lmtp_store_opts opts = {
		.mailbox = box,
		.create = act != NULL && act->create,
		.flags = act != NULL ? act->flags : NULL,
		.n_flags = act != NULL ? act->n_flags : 0,
		.body_fd = sr->body_fd,
		.body_size = sr->body_size,
	};
	lmtp_store_with(sr->server, sr->client, sr->txn, sr->rcpt, &opts,
			lmtp_sieve_store_done, sr);
	return true;
}

/* reject/ereject: one line for the 550 reply. */
static void lmtp_sieve_reject(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act)
{
	const char *reason = act->reason != NULL && *act->reason != '\0' ?
		act->reason : "Rejected";
	size_t n = strlen(reason);
	char *r = lmtp_sieve_keep(sr, xstrndup(reason, n < LMTP_SIEVE_REASON_MAX ?
						 n : LMTP_SIEVE_REASON_MAX));
	for (char *p = r; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	}
	sr->reject = r;
	log_info(&sr->log, "sieve: msgid=%s: rejected message from <%s> (%s)",
		 lmtp_sieve_msgid(sr), sr->txn->mail_from,
		 sieve_action_name(act->type));
}

/* Returns true when a store was started (it continues the loop). */
static bool lmtp_sieve_action(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act)
{
	switch (act->type) {
	case SIEVE_ACT_KEEP:
		return lmtp_sieve_store(sr, NULL, act);
	case SIEVE_ACT_FILEINTO:
		return lmtp_sieve_store(sr, act->mailbox, act);
	case SIEVE_ACT_DISCARD:
		log_info(&sr->log, "sieve: msgid=%s: marked message to be "
			 "discarded if not explicitly delivered (discard "
			 "action)", lmtp_sieve_msgid(sr));
		return false;
	case SIEVE_ACT_REJECT:
	case SIEVE_ACT_EREJECT:
		lmtp_sieve_reject(sr, act);
		return false;
	case SIEVE_ACT_REDIRECT:
		log_error(&sr->log, "sieve: msgid=%s: redirect to <%s> not "
			  "sent: SMTP submission not implemented yet; keeping "
			  "the message", lmtp_sieve_msgid(sr), act->address);
		sr->need_keep = true;
		return false;
	case SIEVE_ACT_VACATION:
		log_error(&sr->log, "sieve: msgid=%s: vacation reply to <%s> "
			  "not sent: SMTP submission not implemented yet",
			  lmtp_sieve_msgid(sr), act->vacation.to != NULL ?
			  act->vacation.to : "");
		return false;
	case SIEVE_ACT_ADDHEADER:
	case SIEVE_ACT_DELETEHEADER:
		return false;	/* applied before the first store */
	}
	return false;
}

static void lmtp_sieve_next(struct lmtp_sieve_run *sr)
{
	size_t n = sr->result != NULL ? sr->result->n_actions : 0;
	while (sr->next < n) {
		const struct sieve_action *act = &sr->result->actions[sr->next++];
		if (lmtp_sieve_action(sr, act))
			return;
	}
	if (sr->need_keep && sr->n_stored == 0) {
		/* a failed redirect or an unusable script: never lose mail */
		sr->need_keep = false;
		if (lmtp_sieve_store(sr, NULL, NULL))
			return;
	}
	lmtp_sieve_finish(sr);
}

/* ---- running the script ---- */

static void lmtp_sieve_env_init(struct lmtp_sieve_run *sr)
{
	const struct lmtp_sieve_settings *set = sr->be->sieve;
	struct sieve_env *env = &sr->env;
	env->max_actions = set->max_actions;
	env->max_redirects = set->max_redirects;
	env->max_cpu_msecs = set->max_cpu_msecs;
	env->vacation_min_period = set->vacation_min;
	env->vacation_max_period = set->vacation_max;
	env->vacation_default_period = set->vacation_default;
	sr->user_addresses[0] = sr->rcpt->address;
	env->user_addresses = sr->user_addresses;
	env->n_user_addresses = 1;
	env->recipient_delimiter = sr->server->set.recipient_delimiter;
}

/* Script unusable (missing, broken): deliver as if there were none. */
static void lmtp_sieve_keep_only(struct lmtp_sieve_run *sr)
{
	sr->need_keep = true;
	lmtp_sieve_next(sr);
}

static void lmtp_sieve_run(struct lmtp_sieve_run *sr)
{
	if (lmtp_sieve_read_message(sr) < 0) {
		sr->fail = LMTP_RESULT_TEMPFAIL;
		sr->error = xasprintf("reading the message: %s",
				      strerror(errno));
		lmtp_sieve_finish(sr);
		return;
	}
	lmtp_sieve_env_init(sr);
	sieve_script_run(sr->script, &lmtp_sieve_msg_ops, sr, &sr->env,
			 &sr->result);
	if (sr->result->status == SIEVE_EXEC_FAILED)
		log_error(&sr->log, "sieve: msgid=%s: execution of script %s "
			  "failed: %s; keeping the message in INBOX",
			  lmtp_sieve_msgid(sr), sr->name,
			  sr->result->error != NULL ? sr->result->error : "");
	if (lmtp_sieve_apply_edits(sr) < 0) {
		log_error(&sr->log, "sieve: editheader: cannot write the "
			  "edited copy; storing the message unchanged");
		sr->body_fd = -1;
	}
	lmtp_sieve_next(sr);
}

static void lmtp_sieve_source_got(struct lmtp_sieve_run *sr,
				  enum lmtp_sieve_get status, struct buf *data)
{
	if (status != SIEVE_GET_OK) {
		log_error(&sr->log, "sieve: active script %s %s; keeping the "
			  "message in INBOX", sr->name, status ==
			  SIEVE_GET_MISSING ? "does not exist" : "unreadable");
		lmtp_sieve_keep_only(sr);
		return;
	}
	char *error = NULL;
	if (sieve_script_compile(data->data != NULL ? data->data : "",
				 data->len, 0, &sr->script, &error) < 0) {
		log_error(&sr->log, "sieve: failed to compile script %s: %s; "
			  "keeping the message in INBOX", sr->name, error);
		free(error);
		lmtp_sieve_keep_only(sr);
		return;
	}
	lmtp_sieve_store_binary(sr);
	lmtp_sieve_run(sr);
}

static void lmtp_sieve_binary_got(struct lmtp_sieve_run *sr,
				  enum lmtp_sieve_get status, struct buf *data)
{
	if (status == SIEVE_GET_OK &&
	    sieve_binary_load(data->data != NULL ? data->data : "", data->len,
			      &sr->script) == SIEVE_BINARY_OK) {
		lmtp_sieve_run(sr);
		return;
	}
	/* missing, stale or corrupt: compile the source again */
	char *key = xasprintf("sieve/%s", sr->name);
	lmtp_sieve_get(sr, key, lmtp_sieve_source_got);
	free(key);
}

/* What svc-managesieve accepts as a name (RFC 5804 1.6 plus the keys). */
static bool lmtp_sieve_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > LMTP_SIEVE_MAX_NAME || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

static void lmtp_sieve_active_got(struct lmtp_sieve_run *sr,
				  enum lmtp_sieve_get status, struct buf *data)
{
	if (status == SIEVE_GET_MISSING) {
		lmtp_sieve_keep_only(sr);	/* no active script */
		return;
	}
	if (status != SIEVE_GET_OK) {
		sr->fail = LMTP_RESULT_TEMPFAIL;
		sr->error = xstrdup("sieve: cannot read the active script");
		lmtp_sieve_finish(sr);
		return;
	}
	if (!lmtp_sieve_name_ok(data->data, data->len)) {
		log_error(&sr->log, "sieve: invalid active script name; "
			  "keeping the message in INBOX");
		lmtp_sieve_keep_only(sr);
		return;
	}
	sr->name = xstrndup(data->data, data->len);
	char *key = xasprintf("sieve/%s.svbin", sr->name);
	lmtp_sieve_get(sr, key, lmtp_sieve_binary_got);
	free(key);
}

void lmtp_sieve_deliver(struct lmtp_server *server,
			struct lmtp_client *client, const struct lmtp_txn *txn,
			struct lmtp_rcpt *rcpt, lmtp_deliver_cb *cb)
{
	if (!server->set.sieve_enabled) {
		lmtp_store(server, client, txn, rcpt, cb);
		return;
	}
	struct lmtp_sieve_run *sr = xcalloc(1, sizeof(*sr));
	sr->server = server;
	sr->be = server->backend_ctx;
	sr->client = client;
	sr->txn = txn;
	sr->rcpt = rcpt;
	sr->cb = cb;
	sr->body_fd = -1;
	sr->log = client->log;
	sr->log.user = rcpt->user;
	lmtp_sieve_get(sr, LMTP_SIEVE_ACTIVE_KEY, lmtp_sieve_active_got);
}
