/* Sieve at LMTP delivery, per recipient, in the steps lib/sieve/sieve.h
 * sets out:
 *   1. svc-blob Get "sieve/.active" (absent: plain lmtp_store), then the
 *      compiled "sieve/N.svbin"; when that is missing or stale, the source
 *      "sieve/N" is compiled and the binary stored back (not awaited).
 *   2. The tracking store "sieve/.tracking" (lmtp-sieve-tracking.h) is
 *      read, then the sequence sieve_before scripts, the user's script,
 *      sieve_after scripts runs over the message read from the
 *      transaction's memfd (headers unfolded and RFC 2047-decoded through
 *      lib/mail). As Pigeonhole documents, the next script runs only when
 *      the previous one ended with its (implicit) keep in effect; such a
 *      deferred keep is dropped, and the last script run decides whether
 *      the message is kept. `stop` ends only the script that ran it.
 *   3. The actions run in order, one lmtp_store_with per stored copy:
 *      keep and fileinto (:create, imap4flags), discard, editheader on the
 *      stored copies, redirect and vacation through lib/smtp's submitter
 *      (submission_host or sendmail_path), reject as an RFC 5429 MDN from
 *      postmaster_address (LMTP answers 250), ereject as "550 5.7.1
 *      <reason>" for this recipient during the transaction.
 *   4. Tracking (vacation, duplicate, redirect) is committed after every
 *      action succeeded, and the store written back when it changed.
 * A script that cannot be read, compiled or run keeps the message in
 * INBOX with an error in the log, and so does a redirect or reject MDN
 * that cannot be sent: a user's mistake or a down relay never loses
 * mail. */
#include "lmtp-sieve-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blob.pb-c.h"
#include "mail-decode.h"
#include "mail-header.h"


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

static char *lmtp_sieve_setting(const struct config *cfg, const char *key,
				const char *def)
{
	const char *v = config_get(cfg, "lmtp", key);
	return xstrdup(v != NULL ? v : def);
}

/* "30 secs", "500ms", "2s", "1 min": milliseconds. */
static uint64_t lmtp_sieve_msecs(const char *v, uint64_t def)
{
	if (v == NULL || *v == '\0')
		return def;
	char *end;
	uint64_t n = strtoull(v, &end, 10);
	while (*end == ' ')
		end++;
	if (strncmp(end, "ms", 2) == 0)
		return n;
	return (uint64_t)lmtp_sieve_duration(v, 0) * 1000;
}

static void lmtp_sieve_outgoing_settings(struct lmtp_sieve_settings *set,
					 const struct config *cfg)
{
	set->submission_host = lmtp_sieve_setting(cfg, "submission_host", "");
	set->sendmail_path = lmtp_sieve_setting(cfg, "sendmail_path",
						"/usr/sbin/sendmail");
	set->postmaster = lmtp_sieve_setting(cfg, "postmaster_address",
					     "postmaster@%d");
	set->rejection_subject = lmtp_sieve_setting(cfg, "rejection_subject",
						    "Rejected: %s");
	set->rejection_reason = lmtp_sieve_setting(cfg, "rejection_reason",
		"Your message to <%t> was automatically rejected:%n%r");
	set->submission_timeout_msecs = lmtp_sieve_msecs(
		config_get(cfg, "lmtp", "submission_timeout"),
		SMTP_DEFAULT_TIMEOUT_MSECS);
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
	lmtp_sieve_outgoing_settings(set, cfg);
	if (config_mail_plugin_enabled(cfg, "lmtp", "sieve"))
		lmtp_sieve_globals_load(&set->globals, cfg);
	return set;
}

void lmtp_sieve_settings_free(struct lmtp_sieve_settings **_set)
{
	struct lmtp_sieve_settings *set = *_set;
	if (set == NULL)
		return;
	*_set = NULL;
	lmtp_sieve_globals_free(&set->globals);
	smtp_submitter_free(&set->submitter);
	free(set->submission_host);
	free(set->sendmail_path);
	free(set->postmaster);
	free(set->rejection_subject);
	free(set->rejection_reason);
	free(set);
}

/* The submitter, made at the first send; NULL (logged) when the settings
 * give nothing to send with. Tried again at the next send. */
struct smtp_submitter *lmtp_sieve_submitter(struct lmtp_sieve_run *sr)
{
	struct lmtp_sieve_settings *set = sr->be->sieve;
	if (set->submitter != NULL)
		return set->submitter;
	struct smtp_submit_settings ss = {
		.submission_host = set->submission_host,
		.sendmail_path = set->sendmail_path,
		.helo_name = sr->server->set.hostname,
		.timeout_msecs = set->submission_timeout_msecs,
	};
	char *error = NULL;
	set->submitter = smtp_submitter_new(sr->server->loop, &ss, &error);
	if (set->submitter == NULL) {
		log_error(&sr->log, "sieve: cannot send mail: %s", error);
		free(error);
	}
	return set->submitter;
}

/* ---- the run's lifetime ---- */

void *lmtp_sieve_keep(struct lmtp_sieve_run *sr, void *p)
{
	sr->allocs = xreallocarray(sr->allocs, sr->n_allocs + 1,
				   sizeof(*sr->allocs));
	sr->allocs[sr->n_allocs++] = p;
	return p;
}

static void lmtp_sieve_free(struct lmtp_sieve_run *sr)
{
	smtp_submit_abort(&sr->submit);
	for (size_t i = 0; i < sr->n_results; i++)
		sieve_result_free(&sr->results[i]);
	free(sr->results);
	free(sr->acts);
	lmtp_sieve_tracking_free(&sr->tracking);
	if (sr->script != NULL)
		sieve_script_free(&sr->script);
	lmtp_sieve_includes_free(&sr->inc);
	for (size_t i = 0; i < sr->n_allocs; i++)
		free(sr->allocs[i]);
	for (size_t i = 0; i < sr->n_stored; i++)
		free(sr->stored[i]);
	if (sr->body_fd >= 0)
		close(sr->body_fd);
	free(sr->allocs);
	free(sr->stored);
	free(sr->name);
	if (sr->body_ready)
		sieve_body_deinit(&sr->body);
	free(sr->data);
	free(sr->msgid);
	free(sr->error);
	free(sr);
}

const char *lmtp_sieve_msgid(const struct lmtp_sieve_run *sr)
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

void lmtp_sieve_get(struct lmtp_sieve_run *sr, const char *key,
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
void lmtp_sieve_store_binary(struct lmtp_sieve_run *sr, const char *name,
			     const struct sieve_script *script)
{
	void *bin;
	size_t len;
	sieve_binary_save(script, &bin, &len);
	int fd = memfd_create("lmtp-svbin", MFD_CLOEXEC);
	bool ok = fd >= 0 && write(fd, bin, len) == (ssize_t)len;
	free(bin);
	if (!ok) {
		log_warning(&sr->log, "sieve: cannot cache the binary of %s",
			    name);
		if (fd >= 0)
			close(fd);
		return;
	}
	char *key = xasprintf("sieve/%s.svbin", name);
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

/* The body test's parts (RFC 5173): decoded MIME parts through
 * lib/sieve's sieve_body over the message already read into memory. */
static void lmtp_sieve_body(void *ctx, enum sieve_body_transform transform,
			    const char *const *types, size_t n_types,
			    const char *const **parts_r, size_t *count_r)
{
	struct lmtp_sieve_run *sr = ctx;
	if (!sr->body_ready) {
		sieve_body_init(&sr->body, sr->data, sr->size);
		sr->body_ready = true;
	}
	sieve_body_get(&sr->body, transform, types, n_types, parts_r, count_r);
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
	for (size_t i = 0; i < sr->n_acts; i++) {
		const struct sieve_action *act = sr->acts[i];
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

static void lmtp_sieve_reply(struct lmtp_sieve_run *sr)
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
	char *reject = sr->reject != NULL && sr->n_stored == 0 ?
		xstrdup(sr->reject) : NULL;
	lmtp_sieve_free(sr);
	if (reject != NULL)
		cb(client, rcpt, LMTP_RESULT_REJECTED, reject);
	else
		cb(client, rcpt, LMTP_RESULT_OK, NULL);
	free(reject);
}

static void lmtp_sieve_tracking_put_reply(const struct rpc_reply *reply,
					  void *ctx)
{
	struct lmtp_sieve_run *sr = ctx;
	/* the mail is delivered already: a lost mark costs at most one
	 * more vacation reply, so this is logged, not a delivery failure */
	if (reply->status != STRATUS__STATUS__STATUS_OK)
		log_error(&sr->log, "sieve: storing the tracking store "
			  "failed: %s", reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
	lmtp_sieve_reply(sr);
}

/* Writes the tracking store back when a mark was added. Returns true
 * when the Put was started (its reply continues). */
static bool lmtp_sieve_tracking_store(struct lmtp_sieve_run *sr)
{
	if (sr->tracking == NULL || !lmtp_sieve_tracking_dirty(sr->tracking))
		return false;
	struct buf data = BUF_INIT;
	lmtp_sieve_tracking_save(sr->tracking, time(NULL), &data);
	int fd = memfd_create("lmtp-sieve-tracking", MFD_CLOEXEC);
	bool ok = fd >= 0 && (data.len == 0 ||
		  write(fd, data.data, data.len) == (ssize_t)data.len);
	buf_free(&data);
	if (!ok) {
		log_error(&sr->log, "sieve: cannot write the tracking store");
		if (fd >= 0)
			close(fd);
		return false;
	}
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__Context ctx;
	lmtp_rpc_context(sr->client, sr->rcpt->user, &ctx);
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = sr->rcpt->user;
	req.key = (char *)LMTP_SIEVE_TRACKING_KEY;
	rpc_client_call(sr->be->blob, sr->be->m_put, &ctx, &req.base, &fd, 1,
			RPC_DEFAULT_TIMEOUT_MS, lmtp_sieve_tracking_put_reply, sr);
	close(fd);
	return true;
}

void lmtp_sieve_finish(struct lmtp_sieve_run *sr)
{
	if (sr->error == NULL) {
		time_t now = time(NULL);
		for (size_t i = 0; i < sr->n_results; i++)
			sieve_result_commit_tracking(sr->results[i], &sr->env,
						     now);
		if (lmtp_sieve_tracking_store(sr))
			return;
	}
	lmtp_sieve_reply(sr);
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

/* ereject: one line for the 550 reply during the transaction. */
static void lmtp_sieve_ereject(struct lmtp_sieve_run *sr,
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

/* Returns true when an asynchronous step (a store, a send) was started;
 * it continues the loop when done. */
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
	case SIEVE_ACT_EREJECT:
		lmtp_sieve_ereject(sr, act);
		return false;
	case SIEVE_ACT_REJECT:
		return lmtp_sieve_send_reject(sr, act);
	case SIEVE_ACT_REDIRECT:
		return lmtp_sieve_send_redirect(sr, act);
	case SIEVE_ACT_VACATION:
		return lmtp_sieve_send_vacation(sr, act);
	case SIEVE_ACT_ADDHEADER:
	case SIEVE_ACT_DELETEHEADER:
		return false;	/* applied before the first store */
	}
	return false;
}

void lmtp_sieve_next(struct lmtp_sieve_run *sr)
{
	while (sr->next < sr->n_acts) {
		if (lmtp_sieve_action(sr, sr->acts[sr->next++]))
			return;
	}
	if (sr->need_keep && sr->n_stored == 0) {
		/* a failed send or an unusable script: never lose mail */
		sr->need_keep = false;
		sr->reject = NULL;
		if (lmtp_sieve_store(sr, NULL, NULL))
			return;
	}
	lmtp_sieve_finish(sr);
}

/* ---- running the scripts ---- */

/* `include`: :global scripts come from sieve_global, compiled with the
 * settings this delivery started with; :personal ones were fetched from
 * the user's storage before the run (lmtp-sieve-include.c). */
static const struct sieve_script *
lmtp_sieve_include(void *ctx, bool global, const char *name)
{
	struct lmtp_sieve_run *sr = ctx;
	if (!global)
		return lmtp_sieve_personal_include(sr, name);
	return lmtp_sieve_global_include(&sr->be->sieve->globals, name);
}

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
	env->include = lmtp_sieve_include;
	env->include_ctx = sr;
	env->max_include_depth = set->globals.max_include_depth;
	env->max_includes = set->globals.max_includes;
	if (sr->tracking != NULL) {
		env->tracking = &lmtp_sieve_tracking_ops;
		env->tracking_ctx = sr->tracking;
	}
}

/* No script to run (none, or unusable): deliver as if there were none. */
static void lmtp_sieve_keep_only(struct lmtp_sieve_run *sr)
{
	sr->need_keep = true;
	lmtp_sieve_next(sr);
}

static bool lmtp_sieve_result_keeps(const struct sieve_result *result)
{
	for (size_t i = 0; i < result->n_actions; i++) {
		if (result->actions[i].type == SIEVE_ACT_KEEP)
			return true;
	}
	return false;
}

/* Runs one script of the sequence; returns true when the next one may
 * run (this one ended with its keep in effect and did not fail). */
static bool lmtp_sieve_run_one(struct lmtp_sieve_run *sr,
			       const struct sieve_script *script,
			       const char *name, bool last)
{
	struct sieve_result *result;
	sieve_script_run(script, &lmtp_sieve_msg_ops, sr, &sr->env, &result);
	sr->results = xreallocarray(sr->results, sr->n_results + 1,
				    sizeof(*sr->results));
	sr->results[sr->n_results++] = result;
	bool failed = result->status == SIEVE_EXEC_FAILED;
	if (failed)
		log_error(&sr->log, "sieve: msgid=%s: execution of script %s "
			  "failed: %s; keeping the message in INBOX",
			  lmtp_sieve_msgid(sr), name, result->error != NULL ?
			  result->error : "");
	bool go_on = !last && !failed && lmtp_sieve_result_keeps(result);
	sr->acts = xreallocarray(sr->acts, sr->n_acts + result->n_actions,
				 sizeof(*sr->acts));
	for (size_t i = 0; i < result->n_actions; i++) {
		const struct sieve_action *act = &result->actions[i];
		/* a keep that passes control on is deferred, not done */
		if (go_on && act->type == SIEVE_ACT_KEEP)
			continue;
		sr->acts[sr->n_acts++] = act;
	}
	return go_on;
}

/* sieve_before..., the user's script, sieve_after..., as long as each
 * passes control on. */
static void lmtp_sieve_run_sequence(struct lmtp_sieve_run *sr)
{
	const struct lmtp_sieve_globals *g = &sr->be->sieve->globals;
	size_t total = g->n_before + (sr->script != NULL ? 1 : 0) + g->n_after;
	size_t done = 0;
	for (size_t i = 0; i < g->n_before; i++) {
		if (!lmtp_sieve_run_one(sr, g->before[i].script,
					g->before[i].path, ++done == total))
			return;
	}
	if (sr->script != NULL &&
	    !lmtp_sieve_run_one(sr, sr->script, sr->name, ++done == total))
		return;
	for (size_t i = 0; i < g->n_after; i++) {
		if (!lmtp_sieve_run_one(sr, g->after[i].script,
					g->after[i].path, ++done == total))
			return;
	}
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
	lmtp_sieve_run_sequence(sr);
	if (sr->n_acts == 0 && sr->n_results == 0)
		sr->need_keep = true;	/* nothing ran at all */
	if (lmtp_sieve_apply_edits(sr) < 0) {
		log_error(&sr->log, "sieve: editheader: cannot write the "
			  "edited copy; storing the message unchanged");
		sr->body_fd = -1;
	}
	lmtp_sieve_next(sr);
}

static void lmtp_sieve_tracking_got(struct lmtp_sieve_run *sr,
				    enum lmtp_sieve_get status,
				    struct buf *data)
{
	if (status == SIEVE_GET_FAILED) {
		/* without it a vacation reply could go twice: let the MTA
		 * retry rather than guess */
		sr->fail = LMTP_RESULT_TEMPFAIL;
		sr->error = xstrdup("sieve: cannot read the tracking store");
		lmtp_sieve_finish(sr);
		return;
	}
	sr->tracking = lmtp_sieve_tracking_new();
	if (status == SIEVE_GET_OK && data->data != NULL)
		lmtp_sieve_tracking_load(sr->tracking, data->data, data->len,
					 time(NULL));
	lmtp_sieve_run(sr);
}

/* The included scripts are fetched: read the tracking store, then run
 * the sequence. */
static void lmtp_sieve_includes_ready(struct lmtp_sieve_run *sr)
{
	if (sr->error != NULL) {
		lmtp_sieve_finish(sr);
		return;
	}
	lmtp_sieve_get(sr, LMTP_SIEVE_TRACKING_KEY, lmtp_sieve_tracking_got);
}

/* The user's script is known (sr->script, or NULL when there is none or
 * it is unusable): fetch what the scripts include :personal. */
static void lmtp_sieve_scripts_ready(struct lmtp_sieve_run *sr)
{
	const struct lmtp_sieve_globals *g = &sr->be->sieve->globals;
	if (sr->script == NULL && g->n_before == 0 && g->n_after == 0) {
		lmtp_sieve_keep_only(sr);
		return;
	}
	lmtp_sieve_includes_fetch(sr, lmtp_sieve_includes_ready);
}

static void lmtp_sieve_source_got(struct lmtp_sieve_run *sr,
				  enum lmtp_sieve_get status, struct buf *data)
{
	if (status != SIEVE_GET_OK) {
		log_error(&sr->log, "sieve: active script %s %s; keeping the "
			  "message in INBOX", sr->name, status ==
			  SIEVE_GET_MISSING ? "does not exist" : "unreadable");
		lmtp_sieve_scripts_ready(sr);
		return;
	}
	char *error = NULL;
	if (sieve_script_compile(data->data != NULL ? data->data : "",
				 data->len, 0, &sr->script, &error) < 0) {
		log_error(&sr->log, "sieve: failed to compile script %s: %s; "
			  "keeping the message in INBOX", sr->name, error);
		free(error);
		sr->script = NULL;
		lmtp_sieve_scripts_ready(sr);
		return;
	}
	lmtp_sieve_store_binary(sr, sr->name, sr->script);
	lmtp_sieve_scripts_ready(sr);
}

static void lmtp_sieve_binary_got(struct lmtp_sieve_run *sr,
				  enum lmtp_sieve_get status, struct buf *data)
{
	if (status == SIEVE_GET_OK &&
	    sieve_binary_load(data->data != NULL ? data->data : "", data->len,
			      &sr->script) == SIEVE_BINARY_OK) {
		lmtp_sieve_scripts_ready(sr);
		return;
	}
	sr->script = NULL;
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
		lmtp_sieve_scripts_ready(sr);	/* no active script */
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
		lmtp_sieve_scripts_ready(sr);
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
