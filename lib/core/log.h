/* Logging with Dovecot's mail_log_prefix: every line of every service
 * starts with the same session string, e.g. "imap(joe)<123><AbCd>: ".
 * Lines go to the journal with SESSION/USER/SERVICE/REMOTE_IP and
 * MESSAGE_ID (one per format string) fields when the
 * service runs under systemd (JOURNAL_STREAM set), else to log_path or
 * stderr; a field with no value is left out, SYSLOG_IDENTIFIER is
 * "stratus-SERVICE", and a line journald does not take (it is down) is
 * written to stderr as a plain line. */
#ifndef STRATUS_LOG_H
#define STRATUS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_PANIC,
};

/* Who a line is about. All fields may be NULL. */
struct log_ctx {
	const char *user;
	const char *session;
	const char *client_ip;
};

/* service: "imap", "auth", ...; prefix_template: mail_log_prefix (NULL
 * for the default); log_path: NULL/"" = stderr or journal. */
void log_init(const char *service, const char *prefix_template,
	      const char *log_path);
void log_deinit(void);
void log_set_debug(bool enabled);
const char *log_service_name(void);

/* The last LOG_RECENT_MAX warnings and worse this process logged. */
#define LOG_RECENT_MAX 64
struct log_recent {
	int64_t time;		/* unix seconds */
	enum log_level level;
	char *text;		/* prefix and message, no level */
};
/* The i-th kept line, oldest first; NULL past the last. */
const struct log_recent *log_recent_get(size_t i);

void log_msgv(enum log_level level, const struct log_ctx *ctx,
	      const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
void log_msg(enum log_level level, const struct log_ctx *ctx,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(ctx, ...) log_msg(LOG_LEVEL_DEBUG, ctx, __VA_ARGS__)
#define log_info(ctx, ...) log_msg(LOG_LEVEL_INFO, ctx, __VA_ARGS__)
#define log_warning(ctx, ...) log_msg(LOG_LEVEL_WARNING, ctx, __VA_ARGS__)
#define log_error(ctx, ...) log_msg(LOG_LEVEL_ERROR, ctx, __VA_ARGS__)

/* The service cannot run: logs and exits with status 89. */
void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* A broken invariant: logs and aborts (core dump, systemd restarts). */
void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
