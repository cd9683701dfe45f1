/* Sieve actions that send mail at delivery: redirect, vacation and the
 * reject MDN, through lib/smtp's submitter (submission_host, else
 * sendmail_path). One send at a time per recipient, in action order; each
 * logs one mail_log-style line. A redirect or MDN that cannot be sent
 * keeps the message in INBOX (it is never lost); a vacation reply that
 * cannot be sent is not marked as sent, so the next message tries again. */
#include "lmtp-sieve-private.h"

#include <stdlib.h>
#include <string.h>

static void lmtp_sieve_orig(const struct lmtp_sieve_run *sr,
			    struct lmtp_sieve_orig *o)
{
	memset(o, 0, sizeof(*o));
	o->data = sr->data;
	o->size = sr->size;
	o->body_off = sr->body_off;
	o->mail_from = sr->txn->mail_from;
	o->rcpt = sr->rcpt->address;
	o->orcpt = sr->rcpt->orcpt;
	o->msgid = sr->msgid;
	o->hostname = sr->server->set.hostname;
	o->now = time(NULL);
}

static void lmtp_sieve_send_failed(struct lmtp_sieve_run *sr,
				   const struct sieve_action *act,
				   const char *error)
{
	const char *msgid = lmtp_sieve_msgid(sr);
	switch (act->type) {
	case SIEVE_ACT_REDIRECT: {
		log_error(&sr->log, "sieve: msgid=%s: redirect to <%s> failed: "
			  "%s; keeping the message", msgid, act->address, error);
		char *suffix = xasprintf("/%s", act->address);
		if (sr->tracking != NULL)
			lmtp_sieve_tracking_skip(sr->tracking, "redirect/",
						 suffix);
		free(suffix);
		sr->need_keep = true;
		break;
	}
	case SIEVE_ACT_VACATION: {
		log_error(&sr->log, "sieve: msgid=%s: vacation response to <%s> "
			  "not sent: %s", msgid, act->vacation.to, error);
		char *suffix = xasprintf("/%s", act->vacation.to);
		if (sr->tracking != NULL)
			lmtp_sieve_tracking_skip(sr->tracking, "vacation/",
						 suffix);
		free(suffix);
		break;
	}
	default:
		log_error(&sr->log, "sieve: msgid=%s: reject: the rejection "
			  "MDN to <%s> was not sent: %s; keeping the message",
			  msgid, sr->txn->mail_from, error);
		sr->need_keep = true;
		break;
	}
}

static void lmtp_sieve_sent(void *ctx, enum smtp_status status,
			    const char *error)
{
	struct lmtp_sieve_run *sr = ctx;
	const struct sieve_action *act = sr->sending;
	const char *msgid = lmtp_sieve_msgid(sr);
	sr->submit = NULL;
	sr->sending = NULL;
	if (status != SMTP_STATUS_OK)
		lmtp_sieve_send_failed(sr, act, error);
	else if (act->type == SIEVE_ACT_REDIRECT)
		log_info(&sr->log, "sieve: msgid=%s: forwarded to <%s>", msgid,
			 act->address);
	else if (act->type == SIEVE_ACT_VACATION)
		log_info(&sr->log, "sieve: msgid=%s: sent vacation response "
			 "to <%s>", msgid, act->vacation.to);
	else
		log_info(&sr->log, "sieve: msgid=%s: rejected message from "
			 "<%s> (reject): MDN sent", msgid, sr->txn->mail_from);
	lmtp_sieve_next(sr);
}

/* Starts one send; false (the failure handled) when it cannot start. */
static bool lmtp_sieve_submit(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act,
			      const char *mail_from, const char *rcpt,
			      struct buf *msg)
{
	struct smtp_submitter *sub = lmtp_sieve_submitter(sr);
	if (sub == NULL) {
		lmtp_sieve_send_failed(sr, act, "no submission_host or "
				       "sendmail_path to send with");
		buf_free(msg);
		return false;
	}
	sr->sending = act;
	sr->submit = smtp_submit(sub, mail_from, &rcpt, 1,
				 msg->data != NULL ? msg->data : "", msg->len,
				 lmtp_sieve_sent, sr);
	buf_free(msg);
	return true;
}

bool lmtp_sieve_send_redirect(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act)
{
	struct lmtp_sieve_orig o;
	lmtp_sieve_orig(sr, &o);
	const char *loop = lmtp_sieve_redirect_loop(&o);
	if (loop != NULL) {
		log_info(&sr->log, "sieve: msgid=%s: redirect to <%s> not "
			 "done: %s (mail loop); keeping the message",
			 lmtp_sieve_msgid(sr), act->address, loop);
		sr->need_keep = true;
		return false;
	}
	struct buf msg = BUF_INIT;
	lmtp_sieve_redirect_build(&o, &msg);
	/* the original envelope sender, as Pigeonhole's default
	 * sieve_redirect_envelope_from = sender */
	return lmtp_sieve_submit(sr, act, sr->txn->mail_from, act->address,
				 &msg);
}

bool lmtp_sieve_send_vacation(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act)
{
	if (act->vacation.to == NULL || act->vacation.to[0] == '\0')
		return false;
	struct lmtp_sieve_orig o;
	lmtp_sieve_orig(sr, &o);
	struct buf msg = BUF_INIT;
	lmtp_sieve_vacation_build(&o, &act->vacation, &msg);
	/* RFC 5230 5.1 / RFC 3834 3.3: the null envelope sender */
	return lmtp_sieve_submit(sr, act, "", act->vacation.to, &msg);
}

bool lmtp_sieve_send_reject(struct lmtp_sieve_run *sr,
			    const struct sieve_action *act)
{
	if (sr->txn->mail_from[0] == '\0') {
		/* no one to tell, and a bounce to a bounce helps nobody */
		log_info(&sr->log, "sieve: msgid=%s: reject: not sending an "
			 "MDN to the null sender <>; message discarded",
			 lmtp_sieve_msgid(sr));
		return false;
	}
	const struct lmtp_sieve_settings *set = sr->be->sieve;
	struct lmtp_sieve_orig o;
	lmtp_sieve_orig(sr, &o);
	char *postmaster = lmtp_sieve_postmaster(set->postmaster,
						 sr->rcpt->address);
	struct lmtp_sieve_mdn_settings mdn = {
		.postmaster = postmaster,
		.subject = set->rejection_subject,
		.reason = set->rejection_reason,
	};
	struct buf msg = BUF_INIT;
	lmtp_sieve_mdn_build(&o, &mdn, act->reason != NULL ? act->reason : "",
			     &msg);
	free(postmaster);
	return lmtp_sieve_submit(sr, act, "", sr->txn->mail_from, &msg);
}
