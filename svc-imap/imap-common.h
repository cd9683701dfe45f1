/* svc-imap's shared types: the service state, one client connection, one
 * command in progress. One event loop serves every connection; nothing
 * here may block, and a client's output is bounded by pausing its input. */
#ifndef IMAP_COMMON_H
#define IMAP_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "loop.h"
#include "stream.h"
#include "service.h"
#include "imap-body-cache.h"
#include "imap-parser.h"
#include "imap-settings.h"

#define IMAP_INPUT_CHUNK 16384		/* bytes read from a socket at once */
#define IMAP_OUTPUT_THROTTLE (64 * 1024) /* stop reading commands above */
#define IMAP_LOGIN_TIMEOUT_MSECS (3 * 60 * 1000)
#define IMAP_AUTOLOGOUT_MSECS (30 * 60 * 1000)	/* RFC 3501 5.4 minimum */
#define IMAP_MAX_AUTH_FAILURES 3	/* then * BYE */

enum imap_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

struct imap_ctx {
	struct service *svc;
	struct imap_settings set;
	struct tls_service *tls;	/* ssl settings, the current context */
	struct rpc_client *auth;
	struct rpc_client *index;
	struct rpc_client *blob;
	struct rpc_client *quota;
	struct imap_rpc_methods {
		int blob_put, blob_get, blob_delete;
		int quota_get, quota_check, quota_commit, quota_changed;
	} methods;		/* descriptor indexes, looked up by name */
	/* Calls a command waits for, so shutdown can drop the client
	 * references they hold (lib/rpc drops their callbacks). */
	struct imap_rpc_pending *rpc_pending;
	struct imap_rpc_detached *rpc_detached;
	struct imap_client *clients;
	/* SETMETADATA of one user run one at a time (cmd-metadata.c). */
	struct imap_md_lock *md_locks;
	uint64_t n_commands;
	uint64_t n_connections;
	uint64_t n_logins;
	uint64_t n_login_failures;
};

struct imap_cmd;
struct imap_rpc_pending;
struct imap_rpc_detached;

struct imap_client {
	struct imap_ctx *ctx;
	struct imap_client *prev, *next;
	int fd;
	/* All client bytes go through stream (plain, TLS, ...); fd stays
	 * for epoll and socket addresses. */
	struct stream *stream;
	bool tls;		/* stream is TLS (STARTTLS or imaps) */
	bool compressed;	/* COMPRESS DEFLATE is on (RFC 4978) */
	/* STARTTLS answered: TLS starts once that reply is written, and
	 * until then nothing is read (it would be plaintext). */
	bool starttls_pending;
	bool pending_read_scheduled;	/* TLS holds bytes epoll won't show */
	/* Output is written from a deferred call once per loop turn, and
	 * EPOLLOUT is armed only after a write met EAGAIN; EPOLLIN stays
	 * armed while a command runs and is dropped only once bytes arrive
	 * that cannot be read yet. Both spare an epoll_ctl per reply. */
	bool flush_scheduled;
	bool write_blocked;
	bool input_stalled;
	struct loop_io *io;
	struct loop_timer *idle_timer;
	char *session;
	char *user;
	char ip[64];		/* the client (possibly forwarded) */
	char peer_ip[64];	/* the TCP peer */
	unsigned int port, local_port;
	char local_ip[64];
	/* ID x-originating-ip & co. from a peer in login_trusted_networks
	 * (svc-auth Trust said yes): ip/port/session/local_ip above are the
	 * forwarded ones, peer_ip stays the proxy. The login helper sends
	 * peer_ip as remote_ip when this is set. */
	bool forwarded;
	struct log_ctx log;
	enum imap_state state;
	struct imap_reader reader;
	struct buf in;		/* read but not yet handled, bounded */
	struct buf out;		/* waiting for the socket */
	struct imap_cmd *cmd;	/* the command in progress */
	unsigned int refcount;	/* + 1 per pending RPC */
	unsigned int auth_failures;
	bool connected_counted;	/* svc-auth Connect succeeded */
	bool disconnecting;	/* flush output, then close */
	bool destroyed;
	bool resume_pending;
	bool id_logged;
	uint64_t in_bytes, out_bytes;
	/* The selected mailbox: sequence n is uids[n - 1]. */
	char *selected;
	bool selected_readonly;
	uint32_t uidvalidity;
	char *selected_guid;
	uint32_t *uids;
	struct imap_body_cache body_cache;	/* bodies read lately */
	size_t n_uids;
	uint64_t highest_modseq;	/* what the session has seen */
	/* RFC 7162: CONDSTORE enabled (ENABLE or a CONDSTORE enabling
	 * command): FETCH replies with FLAGS carry MODSEQ. QRESYNC: also
	 * VANISHED instead of EXPUNGE. Both last for the session. */
	bool condstore, qresync;
	/* ENABLE IMAP4rev2 (RFC 9051): no \Recent or RECENT, SEARCH answers
	 * ESEARCH, mailbox names in UTF-8 both ways (converted to and from
	 * the index's modified UTF-7 at the edges). */
	bool imap4rev2;
	/* ENABLE UTF8=ACCEPT (RFC 6855): mailbox names in UTF-8 as under
	 * IMAP4rev2, SEARCH CHARSET refused, SORT/THREAD only UTF-8. */
	bool utf8_accept;
	/* imap_client_workarounds delay-newmail: this sync leaves new
	 * messages for a later NOOP/CHECK (or IDLE). */
	bool hold_new_mail;
	/* The sync being applied may not send EXPUNGE: expunges it brings
	 * wait in held_expunges, their messages keeping their sequence
	 * numbers, until a sync that may send them (or the mailbox is
	 * closed). */
	bool hold_expunges;
	uint32_t *held_expunges;
	size_t n_held_expunges;
	uint32_t uidnext;		/* UIDs from here are new to it */
	/* \Recent for this session (RFC 3501 2.3.2): the UIDs it claimed
	 * at SELECT or saw first while selected, ascending. */
	uint32_t *recent_uids;
	size_t n_recent_uids;
	/* Flag changes this session made and already reported in its own
	 * FETCH replies, so the next sync does not repeat them. */
	struct imap_own_change {
		uint32_t uid;
		uint64_t modseq;
	} *own;
	size_t n_own;
	uint64_t next_cmd_id;
	/* SEARCHRES (RFC 5182): the UIDs SEARCH RETURN (SAVE) kept, named by
	 * "$"; emptied when the mailbox is closed. */
	uint32_t *saved_uids;
	size_t n_saved_uids;
	/* Set by a command that produces more output than fits the
	 * throttle (FETCH of bodies): called once the socket has taken
	 * enough of it. Cleared when the command ends. */
	void (*drain_cb)(struct imap_client *client);
	/* NOTIFY SET (RFC 5465, imap-notify.h), NULL when none. */
	struct imap_notify *notify;
};

/* A command handler returns true when the command is finished (the tagged
 * reply sent), false when it continues asynchronously: it then calls
 * imap_cmd_done() later, from the loop. */
typedef bool imap_cmd_fn(struct imap_cmd *cmd);
/* For commands that read raw lines from the client (AUTHENTICATE, IDLE):
 * called with one line, CRLF stripped. Same return convention. */
typedef bool imap_cmd_line_fn(struct imap_cmd *cmd, const char *line,
			      size_t len);

enum imap_cmd_flags {
	IMAP_CMD_NOT_AUTH = 0x01,	/* allowed before login */
	IMAP_CMD_AUTH = 0x02,		/* allowed once logged in */
	IMAP_CMD_SELECTED = 0x04,	/* needs a selected mailbox */
};

struct imap_command_def {
	const char *name;
	imap_cmd_fn *fn;
	unsigned int flags;
};

struct imap_cmd {
	struct imap_client *client;
	uint64_t id;			/* unique per client: late RPC replies */
	struct imap_pool pool;
	struct imap_command c;
	const struct imap_command_def *def;
	imap_cmd_line_fn *line_fn;	/* set: input lines go here */
	void *ctx;			/* the handler's state */
	void *sync;			/* imap_sync_reply()'s state */
	/* The last piggybacked sync an index reply brought (a
	 * Stratus__IndexWaitReply, imap-sync.c): imap_sync_reply() applies
	 * it instead of making a Wait call. */
	void *sync_ahead;
	void *mail_log;			/* imap-mail-log.c's (in pool) */
	/* A non-UID FETCH, STORE or SEARCH: its sync may not send EXPUNGE
	 * (RFC 3501 7.4.1, RFC 7162 3.2.10 for VANISHED). */
	bool sync_holds_expunges;
	void (*ctx_free)(void *ctx);
};

/* imap-client.c */
/* implicit_tls: an ssl = yes listener (imaps): TLS from the first byte. */
void imap_client_create(struct imap_ctx *ctx, int fd, bool implicit_tls);
void imap_client_destroy(struct imap_client *client, const char *reason);
void imap_client_send(struct imap_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_client_send_raw(struct imap_client *client, const void *data,
			  size_t len);
/* Flushes the output, then closes with `reason` in the log. */
void imap_client_disconnect(struct imap_client *client, const char *reason);
void imap_client_ref(struct imap_client *client);
/* Drops a reference; returns false if the client is gone. */
bool imap_client_unref(struct imap_client *client);
void imap_client_set_state(struct imap_client *client, enum imap_state st);
void imap_clients_destroy_all(struct imap_ctx *ctx);

/* Tagged reply: "<tag> <resp> <text>". */
void imap_cmd_reply(struct imap_cmd *cmd, const char *resp,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "<tag> BAD Error in IMAP command NAME: <text>" */
void imap_cmd_bad(struct imap_cmd *cmd, const char *text);
/* Ends an asynchronous command and resumes the client's input. */
void imap_cmd_done(struct imap_cmd *cmd);
/* The command goes on reading raw lines: each one goes to fn. */
void imap_cmd_wait_line(struct imap_cmd *cmd, imap_cmd_line_fn *fn);

/* Mailbox names go both ways in UTF-8 (IMAP4rev2 or UTF8=ACCEPT). */
static inline bool imap_client_utf8_names(const struct imap_client *client)
{
	return client->imap4rev2 || client->utf8_accept;
}

/* imap-commands.c */
const struct imap_command_def *imap_command_find(const char *name);
/* The CAPABILITY list for the client's state (no "* CAPABILITY"). */
void imap_capability_string(struct imap_client *client, struct buf *out);
/* A mailbox name from the index (modified UTF-7) as the client wants
 * it: UTF-8 after ENABLE IMAP4rev2 (quoted, or a literal if 8-bit). */
void imap_append_mailbox(struct imap_client *client, struct buf *out,
			 const char *name);
/* Appends arg as an IMAP string: atom-safe quoted, or a literal. */
void imap_quote_string(struct buf *out, const char *s);
void imap_quote_nstring(struct buf *out, const char *s);
/* "5", "5:7,9": a UID list (ascending) as a compact sequence set. */
void imap_append_uidset(struct buf *out, const uint32_t *uids, size_t n);

/* cmd-*.c */
bool cmd_capability(struct imap_cmd *cmd);
bool cmd_noop(struct imap_cmd *cmd);
bool cmd_logout(struct imap_cmd *cmd);
bool cmd_id(struct imap_cmd *cmd);
bool cmd_enable(struct imap_cmd *cmd);
bool cmd_namespace(struct imap_cmd *cmd);
bool cmd_login(struct imap_cmd *cmd);
bool cmd_list(struct imap_cmd *cmd);
bool cmd_create(struct imap_cmd *cmd);
bool cmd_delete(struct imap_cmd *cmd);
bool cmd_rename(struct imap_cmd *cmd);
bool cmd_subscribe(struct imap_cmd *cmd);
bool cmd_unsubscribe(struct imap_cmd *cmd);
bool cmd_status(struct imap_cmd *cmd);
bool cmd_select(struct imap_cmd *cmd);
bool cmd_close(struct imap_cmd *cmd);
bool cmd_unselect(struct imap_cmd *cmd);
bool cmd_check(struct imap_cmd *cmd);
void imap_client_unselect(struct imap_client *client);
bool cmd_authenticate(struct imap_cmd *cmd);
bool cmd_append(struct imap_cmd *cmd);
bool cmd_fetch(struct imap_cmd *cmd);
bool cmd_store(struct imap_cmd *cmd);
bool cmd_expunge(struct imap_cmd *cmd);
bool cmd_copy(struct imap_cmd *cmd);
bool cmd_search(struct imap_cmd *cmd);
bool cmd_uid(struct imap_cmd *cmd);
bool cmd_idle(struct imap_cmd *cmd);
bool cmd_getquota(struct imap_cmd *cmd);
bool cmd_sort(struct imap_cmd *cmd);
bool cmd_thread(struct imap_cmd *cmd);
bool cmd_compress(struct imap_cmd *cmd);
bool cmd_getmetadata(struct imap_cmd *cmd);
bool cmd_genurlauth(struct imap_cmd *cmd);	/* cmd-urlauth.c */
bool cmd_urlfetch(struct imap_cmd *cmd);
bool cmd_resetkey(struct imap_cmd *cmd);
bool cmd_setmetadata(struct imap_cmd *cmd);
/* The shared bodies of X and UID X: args are the command's arguments
 * after the UID sub-command name. */
bool imap_fetch_start(struct imap_cmd *cmd, bool uid_cmd,
		      const struct imap_arg *args, size_t n_args);
bool imap_store_start(struct imap_cmd *cmd, bool uid_cmd,
		      const struct imap_arg *args, size_t n_args);
bool imap_copy_start(struct imap_cmd *cmd, bool uid_cmd, bool move,
		     const struct imap_arg *args, size_t n_args);
bool imap_search_start(struct imap_cmd *cmd, bool uid_cmd,
		       const struct imap_arg *args, size_t n_args);
bool imap_sort_start(struct imap_cmd *cmd, bool uid_cmd,
		     const struct imap_arg *args, size_t n_args);
bool imap_thread_start(struct imap_cmd *cmd, bool uid_cmd,
		       const struct imap_arg *args, size_t n_args);
bool imap_expunge_start(struct imap_cmd *cmd, bool uid_cmd,
			const struct imap_arg *args, size_t n_args);

/* imap-sync.c: untagged EXPUNGE/EXISTS/RECENT/FETCH for what changed in
 * the selected mailbox since the session last looked, then the tagged
 * reply and imap_cmd_done(). Not for FETCH/STORE/SEARCH by sequence
 * number (RFC 3501 7.4.1: no EXPUNGE then): those reply directly. */
void imap_sync_reply(struct imap_cmd *cmd, const char *resp,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void imap_client_own_change(struct imap_client *client, uint32_t uid,
			    uint64_t modseq);

/* cmd-misc.c: a CONDSTORE enabling command (RFC 7162 3.1) switches
 * CONDSTORE on; in the selected state that sends [HIGHESTMODSEQ]. */
void imap_client_enable_condstore(struct imap_client *client);

/* imap-tls.c: STARTTLS, and whether plaintext login is allowed. */
bool cmd_starttls(struct imap_cmd *cmd);
/* STARTTLS is offered to this client (TLS configured, not in TLS yet). */
bool imap_client_starttls_offered(const struct imap_client *client);
/* Called by the writer once a STARTTLS reply is out: swaps the stream.
 * Returns -1 when TLS could not start (the caller closes). */
int imap_client_start_tls(struct imap_client *client);

/* imap-auth.c: the SASL exchange with svc-auth. */
void imap_auth_init(struct imap_ctx *ctx);
void imap_auth_deinit(struct imap_ctx *ctx);
void imap_auth_release(struct imap_client *client);
/* imap-tls.c: the connection is TLS, loopback or same-address (what
 * svc-auth is told as "secured"), and whether disable_plaintext_auth or
 * ssl = required refuses plaintext login on it. */
bool imap_client_secured(const struct imap_client *client);
bool imap_client_login_disabled(const struct imap_client *client);

#endif
