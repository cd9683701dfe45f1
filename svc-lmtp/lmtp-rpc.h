/* The RPC backend's state, shared by lmtp-delivery.c (recipient lookups,
 * the backend table) and lmtp-store.c (storing one recipient's copy). */
#ifndef LMTP_RPC_H
#define LMTP_RPC_H

#include "lmtp-common.h"
#include "rpc.h"
#include "storage-client.h"
#include "mail-log.h"

struct lmtp_rpc_backend {
	struct storage_client sc;	/* auth, index, blob, quota */
	/* lmtp-sieve.c's names for sc.blob and its methods */
	struct rpc_client *blob;
	uint32_t m_put, m_get;
	uint64_t n_puts, n_put_failures, n_append_failures;
	struct mail_log_settings mail_log;	/* its fields for "saved" */
	/* MailboxStatus calls started at RCPT and not answered yet; freed
	 * with the backend, since no answer comes after shutdown */
	struct lmtp_prefetch *prefetches;
	struct lmtp_sieve_settings *sieve;	/* lmtp-sieve.c */
};

/* The Context every call of this client carries (user for logs). */
void lmtp_rpc_context(const struct lmtp_client *client, const char *user,
		      Stratus__Context *ctx);

/* Stores rcpt's copy of txn: headers + body as one svc-blob object, then
 * the svc-index append (with svc-quota's check around it when quota is
 * enabled). cb runs once, from the loop; OK only after both the PUT and
 * the append succeeded. */
void lmtp_store(struct lmtp_server *server, struct lmtp_client *client,
		const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt,
		lmtp_deliver_cb *cb);

/* Starts svc-index MailboxStatus of rcpt's mailbox as soon as the
 * recipient is known (after its userdb lookup), for lmtp_store to use. */
void lmtp_store_prefetch(struct lmtp_server *server,
			 struct lmtp_client *client, struct lmtp_rcpt *rcpt);

/* Drops the calls of lmtp_store_prefetch still in flight (shutdown). */
void lmtp_store_prefetch_drop_all(struct lmtp_rpc_backend *be);

/* What a Sieve action changes about one stored copy (lmtp-sieve.c). */
struct lmtp_store_opts {
	const char *mailbox;	/* NULL: rcpt->mailbox */
	bool create;		/* fileinto :create, even without autocreate */
	const char *const *flags;	/* IMAP flags/keywords to set */
	size_t n_flags;
	int body_fd;		/* -1: txn's body; else an edited body */
	uint64_t body_size;
};
typedef void lmtp_store_done_fn(void *ctx, enum lmtp_result result,
				const char *error);
/* lmtp_store with opts; done(ctx, ...) runs once instead of a
 * lmtp_deliver_cb, so one delivery can store several copies. */
void lmtp_store_with(struct lmtp_server *server, struct lmtp_client *client,
		     const struct lmtp_txn *txn, struct lmtp_rcpt *rcpt,
		     const struct lmtp_store_opts *opts,
		     lmtp_store_done_fn *done, void *done_ctx);

#endif
