/* lib/sieve: a Sieve (RFC 5228 + extensions) compiler and interpreter.
 * Pure C, no I/O, no services: a script is compiled once into a compact,
 * versioned binary that can be stored and loaded back, and the loaded form
 * runs against a message seen only through callbacks. The interpreter
 * never performs an action; it returns the list of actions to perform.
 *
 * How svc-lmtp delivers with Sieve (the contract for the delivery side):
 *
 *   1. Find the user's active script: blob CHAIN_MAIL key "sieve/.active"
 *      holds the script name N (no newline). Load "sieve/N.svbin" and call
 *      sieve_binary_load(); if it fails (missing, stale version: -1 with
 *      SIEVE_BINARY_STALE, corrupt) load "sieve/N" (the source) and call
 *      sieve_script_compile(), then store sieve_binary_save()'s bytes back
 *      as "sieve/N.svbin". No active script = plain keep into INBOX.
 *   2. Fill a struct sieve_message_ops over the parsed message (header
 *      values unfolded and RFC 2047-decoded, envelope from/to, size, body:
 *      sieve-body.h's sieve_body_get() gives :raw/:content/:text from the
 *      message bytes, decoded, with sieve_body_dep)
 *      and a struct sieve_env (settings: sieve_max_actions,
 *      sieve_max_redirects, sieve_max_cpu_time, the user's addresses,
 *      recipient_delimiter, spamtest/virustest headers, the tracking store
 *      of the user, the include resolver for sieve_before/after and
 *      :global scripts).
 *   3. sieve_script_run(script, &msg, &env, &result). The result ALWAYS
 *      carries at least one action unless the script explicitly discarded
 *      or rejected the mail. On a run-time error result->status is
 *      SIEVE_EXEC_FAILED, result->error says why (log it with the script
 *      name), and the action list is exactly one KEEP (implicit): deliver
 *      into INBOX. sieve_max_cpu_time and the instruction budget end a
 *      runaway script the same way.
 *   4. Perform the actions in order: KEEP -> INBOX with act->flags;
 *      FILEINTO -> act->mailbox (create it only if act->create; if it does
 *      not exist and !create, deliver into INBOX instead and log);
 *      REDIRECT -> submit to act->address (add "X-Sieve-Redirected-From");
 *      REJECT/EREJECT -> LMTP "550 5.7.1 <reason>" during the
 *      transaction or an RFC 5429 MDN from postmaster_address; DISCARD ->
 *      nothing; VACATION -> send the reply described by act->vacation to
 *      act->vacation.to (envelope sender <>, Auto-Submitted:
 *      auto-replied); ADDHEADER/DELETEHEADER -> edit the stored copy
 *      before any keep/fileinto (they come first in the list).
 *      Log one mail_log line per action.
 *   5. After the actions succeeded, call sieve_result_commit_tracking()
 *      so vacation replies and duplicate/redirect tracking are remembered
 *      (once per :days per sender). If delivery failed, do not commit.
 *   6. sieve_result_free(), sieve_script_free().
 */
#ifndef STRATUS_SIEVE_H
#define STRATUS_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Hard bounds of the compiler; a script over them is a compile error with
 * the position where the bound was crossed. */
#define SIEVE_MAX_SCRIPT_SIZE (1024 * 1024)	/* default; env may lower */
#define SIEVE_MAX_STRING_SIZE (1024 * 1024)
#define SIEVE_MAX_NESTING 32		/* blocks + tests */
#define SIEVE_MAX_COMMANDS 16384		/* commands and tests */
#define SIEVE_MAX_ARGS 32
#define SIEVE_MAX_LIST_ITEMS 4096
#define SIEVE_MAX_ERRORS 10

/* Binary format version; bump on any change of the encoding. Loading a
 * binary of another version fails with SIEVE_BINARY_STALE so the caller
 * recompiles from source. */
#define SIEVE_BINARY_VERSION 1

struct sieve_script;

/* ---- compiling ---- */

/* Compiles source (not NUL-terminated; len bytes) into *script_r. Returns
 * 0, or -1 with *error_r (malloc'd, caller frees) listing up to
 * SIEVE_MAX_ERRORS errors, one per line, each "line L, column C: text".
 * max_size: 0 = SIEVE_MAX_SCRIPT_SIZE. */
int sieve_script_compile(const char *source, size_t len, size_t max_size,
			 struct sieve_script **script_r, char **error_r);
void sieve_script_free(struct sieve_script **script);

/* The compiled form as bytes to cache: *data_r is malloc'd (caller
 * frees). Always succeeds. */
void sieve_binary_save(const struct sieve_script *script, void **data_r,
		       size_t *len_r);
#define SIEVE_BINARY_OK 0
#define SIEVE_BINARY_STALE (-2)	/* other format version: recompile */
#define SIEVE_BINARY_CORRUPT (-1)
/* Loads bytes written by sieve_binary_save (untrusted: every field is
 * checked). Returns SIEVE_BINARY_OK, _STALE or _CORRUPT. */
int sieve_binary_load(const void *data, size_t len,
		      struct sieve_script **script_r);

/* Every `include` of a script, in script order, whether or not it would
 * run: the names are constant (RFC 6609 3.2: no variables in them), so a
 * caller that must fetch included scripts before the run (svc-lmtp reads
 * :personal ones from object storage) knows them all from the tree. */
typedef void sieve_include_ref_fn(void *ctx, bool global, const char *name);
void sieve_script_includes(const struct sieve_script *script,
			   sieve_include_ref_fn *fn, void *ctx);
/* The same with what ManageSieve reports of an include whose script is
 * missing at upload: where it is, and whether it is :optional. */
struct sieve_include_ref {
	const char *name;	/* lives as long as the script */
	unsigned int line;
	bool global, optional;
};
typedef void sieve_include_ref_full_fn(void *ctx,
				       const struct sieve_include_ref *ref);
void sieve_script_include_refs(const struct sieve_script *script,
			       sieve_include_ref_full_fn *fn, void *ctx);

/* Space-separated list of the extensions the compiler knows, for
 * ManageSieve's "SIEVE" capability. Static string. */
const char *sieve_extensions_string(void);

/* ---- the message ---- */

enum sieve_body_transform {
	SIEVE_BODY_RAW,		/* undecoded body after the header */
	SIEVE_BODY_CONTENT,	/* decoded parts of the given types */
	SIEVE_BODY_TEXT,	/* text parts, decoded, HTML stripped */
};

/* Everything the interpreter asks of a message. Strings returned stay
 * valid until the run ends. ctx is passed back unchanged. */
struct sieve_message_ops {
	/* All values of header `name` (case-insensitive) in message order,
	 * unfolded and RFC 2047-decoded. 0 values is fine. */
	void (*header)(void *ctx, const char *name,
		       const char *const **values_r, size_t *count_r);
	/* "from" (MAIL FROM, "" for <>), "to" (RCPT TO, the original
	 * recipient); "auth" may return NULL. */
	const char *(*envelope)(void *ctx, const char *part);
	uint64_t (*size)(void *ctx);
	/* Body text for the body test; for CONTENT, the wanted types
	 * ("text", "text/plain", "" = every part). NULL callback = empty. */
	void (*body)(void *ctx, enum sieve_body_transform transform,
		     const char *const *types, size_t n_types,
		     const char *const **parts_r, size_t *count_r);
	/* Current time for currentdate/vacation/duplicate. */
	time_t (*now)(void *ctx);
};

/* Remembers that something happened for a while: vacation replies sent
 * (per sender and handle), duplicate ids, redirects done. Keys are text. */
struct sieve_tracking_ops {
	/* true when key was marked and its expiry is after now. */
	bool (*seen)(void *ctx, const char *key, time_t now);
	void (*mark)(void *ctx, const char *key, time_t expires);
};

/* Resolves `include`: returns a compiled script (owned by the caller,
 * valid during the run) or NULL when there is none. */
typedef const struct sieve_script *
sieve_include_fn(void *ctx, bool global, const char *name);

struct sieve_env {
	/* Limits; 0 = the default named beside each. */
	unsigned int max_actions;	/* sieve_max_actions: 32 */
	unsigned int max_redirects;	/* sieve_max_redirects: 4 */
	unsigned int max_cpu_msecs;	/* sieve_max_cpu_time: 30000 */
	uint64_t max_steps;		/* instruction budget: 5000000 */
	unsigned int max_include_depth;	/* 10 */
	/* distinct scripts one run may include (sieve_include_max_includes;
	 * the script run itself is not counted): 255 */
	unsigned int max_includes;
	/* The recipient's own addresses (envelope to is always one); never
	 * auto-reply to these, and vacation replies only if one of them
	 * (or :addresses) is in To/Cc/Bcc. */
	const char *const *user_addresses;
	size_t n_user_addresses;
	const char *recipient_delimiter;	/* "+" when NULL */
	/* sieve_vacation_min_period / max_period / default_period in
	 * seconds; 0 = 1 day / unlimited / 7 days. */
	unsigned int vacation_min_period, vacation_max_period,
		vacation_default_period;
	/* spamtest/virustest: the header holding a number, and the value
	 * that means "certainly spam/infected" (sieve_spamtest_max_value). */
	const char *spamtest_header;
	double spamtest_max;
	const char *virustest_header;
	double virustest_max;
	const struct sieve_tracking_ops *tracking;	/* NULL = none */
	void *tracking_ctx;
	sieve_include_fn *include;	/* NULL = include always fails */
	void *include_ctx;
	/* mailboxexists test; NULL = no mailbox exists. */
	bool (*mailbox_exists)(void *ctx, const char *mailbox);
	void *mailbox_ctx;
};

/* ---- the result ---- */

enum sieve_action_type {
	SIEVE_ACT_KEEP,
	SIEVE_ACT_FILEINTO,
	SIEVE_ACT_REDIRECT,
	SIEVE_ACT_DISCARD,
	SIEVE_ACT_REJECT,
	SIEVE_ACT_EREJECT,
	SIEVE_ACT_VACATION,
	SIEVE_ACT_ADDHEADER,
	SIEVE_ACT_DELETEHEADER,
};

struct sieve_vacation_reply {
	const char *to;		/* the envelope sender being answered */
	const char *from;	/* :from, or NULL = the recipient */
	const char *subject;	/* :subject, or "Auto: <subject>" */
	const char *reason;	/* body text (or a MIME entity with mime) */
	bool mime;
	const char *in_reply_to;	/* the Message-ID, or NULL */
	unsigned int period_secs;	/* tracking period used */
};

struct sieve_action {
	enum sieve_action_type type;
	unsigned int line;	/* script line that caused it; 0 = implicit */
	bool implicit;		/* the implicit keep */
	bool copy;		/* :copy (does not cancel implicit keep) */
	bool create;		/* fileinto :create */
	const char *mailbox;	/* FILEINTO (UTF-8 name) */
	const char *address;	/* REDIRECT */
	const char *reason;	/* REJECT / EREJECT */
	const char *const *flags;	/* KEEP / FILEINTO imap flags */
	size_t n_flags;
	const char *header_name;	/* ADDHEADER / DELETEHEADER */
	const char *header_value;	/* exact value (deleted or added) */
	bool last;			/* ADDHEADER :last (append) */
	struct sieve_vacation_reply vacation;
};

enum sieve_exec_status {
	SIEVE_EXEC_OK,
	SIEVE_EXEC_FAILED,	/* run-time error: the message is kept */
};

struct sieve_result {
	enum sieve_exec_status status;
	const char *error;	/* with status FAILED: "line L: text" */
	struct sieve_action *actions;
	size_t n_actions;
	uint64_t steps;		/* instructions executed */
	struct sieve_result_private *priv;
};

/* Runs script; always fills *result_r (free with sieve_result_free). */
void sieve_script_run(const struct sieve_script *script,
		      const struct sieve_message_ops *msg, void *msg_ctx,
		      const struct sieve_env *env,
		      struct sieve_result **result_r);
/* Marks vacation replies, duplicate ids and redirects in env->tracking;
 * call only after the actions were performed. */
void sieve_result_commit_tracking(const struct sieve_result *result,
				  const struct sieve_env *env, time_t now);
void sieve_result_free(struct sieve_result **result);
const char *sieve_action_name(enum sieve_action_type type);

/* RFC 3834 / RFC 5230 decision, as a pure function: should a vacation
 * reply go to `sender` for this message? Returns true, or false with
 * *why_r (static text). Checks: empty/daemon senders, Auto-Submitted,
 * Precedence bulk/list/junk, List-* headers, the recipient among
 * To/Cc/Bcc/Resent-*, replies to oneself, and the tracking store for key
 * (once per period). */
bool sieve_vacation_should_reply(const struct sieve_message_ops *msg,
				 void *msg_ctx, const struct sieve_env *env,
				 const char *sender,
				 const char *const *addresses, size_t n_addresses,
				 const char *tracking_key, time_t now,
				 const char **why_r);

#endif
