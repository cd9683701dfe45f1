/* svc-managesieve's shared types: the service state, one client
 * connection and the helpers every command uses. One event loop serves
 * every connection; a client has at most one command in progress and
 * its input is paused meanwhile. */
#ifndef MANAGESIEVE_COMMON_H
#define MANAGESIEVE_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "loop.h"
#include "service.h"
#include "sieve-storage.h"
#include "managesieve-parser.h"
#include "stream.h"
#include "tls-service.h"

#define MS_INPUT_CHUNK 16384
#define MS_IDLE_TIMEOUT_MSECS (30 * 60 * 1000)
#define MS_MAX_AUTH_FAILURES 3
/* Unknown or malformed commands before BYE, as Pigeonhole: few before
 * login, more after. */
#define MS_MAX_BAD_COMMANDS_PREAUTH 3
#define MS_MAX_BAD_COMMANDS 20
/* The greeting waits this long for svc-auth's Trust answer. */
#define MS_TRUST_TIMEOUT_MS 5000
#define MS_RPC_TIMEOUT_MS 30000
#define SIEVE_MAX_SCRIPT_SIZE_LIMIT (16 * 1024 * 1024)

struct ms_settings {
	size_t max_line;		/* managesieve_max_line_length */
	const char *implementation;	/* managesieve_implementation_string */
	const char *sieve_capability;	/* managesieve_sieve_capability */
	size_t max_script_size;		/* sieve_max_script_size */
	unsigned int quota_max_scripts;	/* sieve_quota_max_scripts, 0 = no */
	uint64_t quota_max_storage;	/* sieve_quota_max_storage, 0 = no */
	unsigned int max_compile_errors;
	unsigned int max_redirects;	/* sieve_max_redirects */
	char *global_dir;	/* sieve_global (or _dir) folder, or NULL */
};

struct ms_ctx {
	struct service *svc;
	struct ms_settings set;
	struct rpc_client *auth;
	struct rpc_client *blob;
	struct ms_client *clients;
	struct tls_service tls;	/* ssl settings of protocol sieve */
};

struct ms_client;
/* A SASL continuation response as parsed (NULL: malformed). */
typedef void ms_line_fn(struct ms_client *client,
			const struct ms_command *resp);

struct ms_client {
	struct ms_ctx *ctx;
	struct ms_client *prev, *next;
	int fd;			/* -1 once disconnected */
	struct stream *stream;	/* plain, or TLS after STARTTLS */
	bool tls;
	bool starttls_pending;	/* TLS starts once the OK is written */
	bool read_scheduled;	/* TLS holds bytes: a deferred read */
	struct loop_io *io;
	struct loop_timer *idle;
	/* ip/port/session: the client's, possibly forwarded by a trusted
	 * proxy (XCLIENT); peer_ip/peer_port: the TCP peer's. */
	char ip[64];
	char peer_ip[64];
	char local_ip[64];
	unsigned int port, peer_port, local_port;
	char *session;
	bool trusted;		/* peer in login_trusted_networks */
	bool connect_counted;	/* svc-auth Connect holds a count for us */
	unsigned int bad_commands;
	char *user;
	struct log_ctx log;
	struct buf in, out;
	struct ms_command cmd;	/* the command in progress */
	bool busy;		/* a command waits for an RPC */
	bool disconnecting;
	unsigned int refcount;	/* + 1 per pending RPC */
	unsigned int auth_failures;
	/* SASL in progress */
	ms_line_fn *line_fn;
	uint64_t sasl_id;
	bool sasl_login;
	/* scratch for multi-step commands */
	char *name, *name2, *script;
	size_t script_len;
	char *warnings;		/* PUTSCRIPT's, for its final OK */
	struct sieve_storage_entry *entries;	/* LISTSCRIPTS between steps */
	size_t n_entries;
	uint64_t scratch_num;
};

/* managesieve-client.c */
/* implicit_tls: an ssl = yes listener, TLS from the first byte */
void ms_client_create(struct ms_ctx *ctx, int fd, bool implicit_tls);
void ms_client_send(struct ms_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ms_client_send_raw(struct ms_client *client, const void *data,
			size_t len);
/* Sends OK/NO/BYE ["(CODE)"] "text" and ends the command. */
void ms_reply(struct ms_client *client, const char *status,
	      const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ms_client_disconnect(struct ms_client *client, const char *reason);
void ms_client_ref(struct ms_client *client);
/* false when the client is gone (the caller must return at once). */
bool ms_client_unref(struct ms_client *client);
/* Queues the capability lines, CRLF-terminated; the status line that
 * follows them writes them. (Not writing here: a write that fails
 * frees the client, and the caller still has the status to send.) */
void ms_capability(struct ms_client *client);
void ms_quote(struct buf *out, const char *s);
/* NO (TRYLATER) with Pigeonhole's internal-error text and a time stamp;
 * the cause is logged by the caller. */
void ms_reply_internal(struct ms_client *client);

/* managesieve-tls.c */
void cmd_starttls(struct ms_client *client);
/* Once the STARTTLS OK is written: TLS on the stream, then the
 * capabilities again (RFC 5804 2.2). -1: the client must be closed. */
int ms_client_start_tls(struct ms_client *client);
/* TLS, loopback, or the same address as ours (the TCP peer's). */
bool ms_client_secured(const struct ms_client *client);
/* AUTHENTICATE PLAIN/LOGIN may run: not before TLS under
 * disable_plaintext_auth or ssl = required, unless secured. */
bool ms_client_plaintext_allowed(const struct ms_client *client);
bool ms_client_starttls_offered(const struct ms_client *client);

/* managesieve-auth.c */
void ms_auth_init(struct ms_ctx *ctx);
void ms_auth_deinit(struct ms_ctx *ctx);
void cmd_authenticate(struct ms_client *client);
/* Asks svc-auth whether the peer may forward (login_trusted_networks),
 * then sends the greeting. */
void ms_auth_greet(struct ms_client *client);
void cmd_xclient(struct ms_client *client);
/* Ends the mail_max_userip_connections count of a logged-in client. */
void ms_auth_release(struct ms_client *client);

/* managesieve-storage.c: per-user script objects in svc-blob */
typedef void ms_get_cb(struct ms_client *client, int status,
		       const char *data, size_t len);
typedef void ms_done_cb(struct ms_client *client, int status);
typedef void ms_list_cb(struct ms_client *client, int status,
			struct sieve_storage_entry *entries, size_t n);
void ms_storage_init(struct ms_ctx *ctx);
void ms_storage_deinit(struct ms_ctx *ctx);
void ms_storage_get(struct ms_client *client, const char *key,
		    ms_get_cb *cb);
void ms_storage_put(struct ms_client *client, const char *key,
		    const void *data, size_t len, ms_done_cb *cb);
void ms_storage_delete(struct ms_client *client, const char *const *keys,
		       size_t n, ms_done_cb *cb);
/* Lists the user's scripts (not .active, not .svbin). */
void ms_storage_list(struct ms_client *client, ms_list_cb *cb);
/* status values for the callbacks */
#define MS_OK 0
#define MS_NOT_FOUND 1
#define MS_FAIL 2

/* managesieve-include.c */
/* Appends to out a line per `include` of the script (src, len; one that
 * compiles) that is not :optional and whose script does not exist: a
 * :personal one not in entries (nor self, the name being stored), a
 * :global one not in set.global_dir; at most max_compile_errors lines,
 * a lone line without its newline. Warnings for an upload, errors for an
 * activation. Returns how many includes are missing. */
unsigned int ms_includes_missing(const struct ms_ctx *ctx, const char *src,
				 size_t len, const char *self,
				 const struct sieve_storage_entry *entries,
				 size_t n_entries, bool activating,
				 struct buf *out);

/* cmd-scripts.c */
void cmd_havespace(struct ms_client *client);
void cmd_putscript(struct ms_client *client);
void cmd_checkscript(struct ms_client *client);
void cmd_listscripts(struct ms_client *client);
void cmd_setactive(struct ms_client *client);
void cmd_getscript(struct ms_client *client);
void cmd_deletescript(struct ms_client *client);
void cmd_renamescript(struct ms_client *client);

#endif
