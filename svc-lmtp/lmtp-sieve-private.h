/* Inside svc-lmtp's Sieve step: the run of one recipient's delivery,
 * shared by lmtp-sieve.c (reading scripts, running the sequence, storing)
 * and lmtp-sieve-send.c (the actions that send mail). */
#ifndef LMTP_SIEVE_PRIVATE_H
#define LMTP_SIEVE_PRIVATE_H

#include "lmtp-sieve.h"
#include "lmtp-rpc.h"
#include "lmtp-sieve-global.h"
#include "lmtp-sieve-include.h"
#include "lmtp-sieve-mail.h"
#include "lmtp-sieve-tracking.h"
#include "sieve.h"
#include "sieve-body.h"
#include "smtp-client.h"

#define LMTP_SIEVE_ACTIVE_KEY "sieve/.active"
#define LMTP_SIEVE_MAX_NAME 256
/* Bigger than any script svc-managesieve accepts (SIEVE_MAX_SCRIPT_SIZE)
 * plus its binary's overhead. */
#define LMTP_SIEVE_MAX_READ (4 * SIEVE_MAX_SCRIPT_SIZE)
#define LMTP_SIEVE_REASON_MAX 512

struct lmtp_sieve_settings {
	unsigned int max_actions, max_redirects, max_cpu_msecs;
	unsigned int vacation_min, vacation_max, vacation_default;
	struct lmtp_sieve_globals globals;
	/* outgoing mail: the submitter is made at the first send (it needs
	 * the loop) */
	char *submission_host, *sendmail_path;
	char *postmaster, *rejection_subject, *rejection_reason;
	uint64_t submission_timeout_msecs;
	struct smtp_submitter *submitter;
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
	struct sieve_script *script;	/* NULL: none or unusable */
	struct lmtp_sieve_includes inc;	/* its :personal includes */
	struct sieve_result **results;	/* one per script run */
	size_t n_results;
	const struct sieve_action **acts;	/* what the sequence decided */
	size_t n_acts;
	struct sieve_env env;
	struct lmtp_sieve_tracking *tracking;
	struct smtp_submit *submit;	/* a send in flight */
	const struct sieve_action *sending;	/* its action */
	const char *user_addresses[1];
	/* the message as the script sees it */
	char *data;
	size_t size, body_off;
	struct sieve_body body;	/* MIME view for the body test, parsed on first use */
	bool body_ready;
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

/* lmtp-sieve.c */
void lmtp_sieve_next(struct lmtp_sieve_run *sr);
/* Commits tracking, writes the store back, replies; frees sr. */
void lmtp_sieve_finish(struct lmtp_sieve_run *sr);
const char *lmtp_sieve_msgid(const struct lmtp_sieve_run *sr);
/* svc-blob Get of the user's key; next runs with the outcome. */
void lmtp_sieve_get(struct lmtp_sieve_run *sr, const char *key,
		    lmtp_sieve_get_fn *next);
/* Stores script's binary as NAME.svbin beside its source, not awaited. */
void lmtp_sieve_store_binary(struct lmtp_sieve_run *sr, const char *name,
			     const struct sieve_script *script);
/* Keeps p until the run ends; returns p. */
void *lmtp_sieve_keep(struct lmtp_sieve_run *sr, void *p);
/* NULL (logged) when nothing is configured to send with. */
struct smtp_submitter *lmtp_sieve_submitter(struct lmtp_sieve_run *sr);

/* lmtp-sieve-send.c: true when a send was started (its end continues
 * with lmtp_sieve_next); false when the action is done already. */
bool lmtp_sieve_send_redirect(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act);
bool lmtp_sieve_send_vacation(struct lmtp_sieve_run *sr,
			      const struct sieve_action *act);
bool lmtp_sieve_send_reject(struct lmtp_sieve_run *sr,
			    const struct sieve_action *act);

#endif
