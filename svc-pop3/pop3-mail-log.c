/* mail_log for POP3 (see pop3-mail-log.h). */
#include "pop3-mail-log.h"
#include "mail-log.h"
#include "index.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct {
	bool read, on;
	struct mail_log_settings set;
} pop3_mail_log;

struct pop3_mail_log_msg {
	uint32_t uid;
	uint64_t size, vsize;
	char *msgid, *from, *subject;
};

struct pop3_mail_log {
	struct pop3_client *client;
	struct pop3_mail_log_msg *msgs;
	size_t n;
	void (*done)(void *ctx);
	void *ctx;
};

bool pop3_mail_log_expunge_enabled(const struct config *cfg)
{
	if (!pop3_mail_log.read) {
		char *error = NULL;
		pop3_mail_log.read = true;
		pop3_mail_log.on = config_mail_plugin_enabled(cfg, "pop3",
							      "mail_log");
		if (pop3_mail_log.on && mail_log_settings_parse(
			    config_plugin_get(cfg, "pop3", "mail_log_events"),
			    config_plugin_get(cfg, "pop3", "mail_log_fields"),
			    &pop3_mail_log.set, &error) < 0) {
			log_error(NULL, "mail_log disabled: %s", error);
			free(error);
			pop3_mail_log.on = false;
		}
	}
	return pop3_mail_log.on &&
	       (pop3_mail_log.set.events & MAIL_LOG_EVENT_EXPUNGE) != 0;
}

static char *cached_value(const Stratus__IndexMessage *m, const char *name)
{
	for (size_t i = 0; i < m->n_cached; i++) {
		if (strcasecmp(m->cached[i]->name, name) != 0)
			continue;
		/* An empty bytes field has no data pointer. */
		if (m->cached[i]->value.len == 0)
			return xstrdup("");
		return xstrndup((const char *)m->cached[i]->value.data,
				m->cached[i]->value.len);
	}
	return NULL;
}

static void pop3_mail_log_fetched(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_mail_log *ml = ctx;
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	for (size_t i = 0; r != NULL && i < r->n_messages; i++) {
		const Stratus__IndexMessage *m = r->messages[i];
		for (size_t k = 0; k < ml->n; k++) {
			struct pop3_mail_log_msg *lm = &ml->msgs[k];
			if (lm->uid != m->uid)
				continue;
			lm->vsize = m->virtual_size;
			lm->size = m->physical_size;
			lm->msgid = cached_value(m, "hdr.message-id");
			lm->from = cached_value(m, "hdr.from");
			lm->subject = cached_value(m, "hdr.subject");
		}
	}
	ml->done(ml->ctx);
}

struct pop3_mail_log *pop3_mail_log_prefetch(struct pop3_rpc_backend *be,
					     struct pop3_client *client,
					     const uint32_t *uids,
					     unsigned int n,
					     void (*done)(void *ctx),
					     void *ctx)
{
	struct pop3_mail_log *ml = xcalloc(1, sizeof(*ml));
	ml->client = client;
	ml->done = done;
	ml->ctx = ctx;
	ml->msgs = xcalloc(n + 1, sizeof(*ml->msgs));
	ml->n = n;
	Stratus__IndexUidRange *r = xcalloc(n + 1, sizeof(*r));
	Stratus__IndexUidRange **rp = xcalloc(n + 1, sizeof(*rp));
	for (unsigned int i = 0; i < n; i++) {
		ml->msgs[i].uid = uids[i];
		stratus__index_uid_range__init(&r[i]);
		r[i].first = r[i].last = uids[i];
		rp[i] = &r[i];
	}
	static char *fields[] = { "hdr.message-id", "hdr.from",
				  "hdr.subject" };
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	Stratus__Context c;
	pop3_rpc_context(client, &c);
	req.user = client->user;
	req.mailbox = (char *)"INBOX";
	req.uids = rp;
	req.n_uids = n;
	req.fields = fields;
	req.n_fields = N_ELEMENTS(fields);
	rpc_client_call(be->sc.index, be->sc.m.index_fetch, &c, &req.base,
			NULL, 0, RPC_DEFAULT_TIMEOUT_MS, pop3_mail_log_fetched,
			ml);
	free(rp);
	free(r);
	return ml;
}

void pop3_mail_log_expunged(struct pop3_mail_log *ml,
			    const uint32_t *expunged, size_t n)
{
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < ml->n; k++) {
			const struct pop3_mail_log_msg *lm = &ml->msgs[k];
			if (lm->uid != expunged[i])
				continue;
			struct mail_log_mail m = {
				.box = "INBOX", .uid = lm->uid,
				.msgid = lm->msgid, .from = lm->from,
				.subject = lm->subject, .size = lm->size,
				.vsize = lm->vsize,
			};
			buf_reset(&line);
			mail_log_format(&pop3_mail_log.set, "expunge", &m,
					&line);
			log_info(&ml->client->log, "%s", line.data);
		}
	}
	buf_free(&line);
}

void pop3_mail_log_free(struct pop3_mail_log **_ml)
{
	struct pop3_mail_log *ml = *_ml;
	if (ml == NULL)
		return;
	*_ml = NULL;
	for (size_t i = 0; i < ml->n; i++) {
		free(ml->msgs[i].msgid);
		free(ml->msgs[i].from);
		free(ml->msgs[i].subject);
	}
	free(ml->msgs);
	free(ml);
}
