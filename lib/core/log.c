/* Logging (see log.h). The prefix is rendered per line because one
 * process serves many sessions. */
#include "log.h"
#include "buf.h"
#include "var-expand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#define LOG_LINE_MAX 8192
#define LOG_DEFAULT_PREFIX "%s(%u)<%{pid}><%{session}>: "

static struct {
	char *service;
	char *prefix;
	FILE *file;
	bool journal;
	bool debug;
} log_state;

static const char *const level_names[] = {
	"Debug: ", "Info: ", "Warning: ", "Error: ", "Fatal: ", "Panic: ",
};
static const int level_priorities[] = {
	LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_ALERT,
};

void log_init(const char *service, const char *prefix_template,
	      const char *log_path)
{
	log_deinit();
	log_state.service = xstrdup(service);
	log_state.prefix = xstrdup(prefix_template != NULL && *prefix_template ?
				   prefix_template : LOG_DEFAULT_PREFIX);
	/* "syslog" (Dovecot's default) means the journal under systemd and
	 * stderr otherwise, which the launcher collects. */
	if (log_path != NULL && *log_path != '\0' &&
	    strcmp(log_path, "syslog") != 0 &&
	    strcmp(log_path, "/dev/stderr") != 0) {
		log_state.file = fopen(log_path, "ae");
		if (log_state.file == NULL)
			fprintf(stderr, "%s: Error: open(%s) failed: %m\n",
				service, log_path);
		else
			setvbuf(log_state.file, NULL, _IOLBF, 0);
	}
	log_state.journal = log_state.file == NULL &&
			    getenv("JOURNAL_STREAM") != NULL;
}

void log_deinit(void)
{
	if (log_state.file != NULL)
		fclose(log_state.file);
	free(log_state.service);
	free(log_state.prefix);
	memset(&log_state, 0, sizeof(log_state));
}

void log_set_debug(bool enabled)
{
	log_state.debug = enabled;
}

const char *log_service_name(void)
{
	return log_state.service != NULL ? log_state.service : "stratus";
}

static void log_render_prefix(struct buf *out, const struct log_ctx *ctx)
{
	char pid[16];
	const char *error;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (ctx == NULL || ctx->user == NULL) {
		/* Dovecot too prints a bare "service: " outside sessions. */
		if (buf_printf(out, "%s: ", log_service_name()) < 0)
			return;
		if (ctx != NULL && ctx->session != NULL)
			(void)buf_printf(out, "<%s> ", ctx->session);
		return;
	}
	const struct var_expand_entry table[] = {
		{ 's', "service", log_service_name() },
		{ 'u', "user", ctx->user },
		{ 'r', "rip", ctx->client_ip },
		{ '\0', "session", ctx->session },
		{ 'p', "pid", pid },
		{ '\0', NULL, NULL },
	};
	if (var_expand(out, log_state.prefix, table, NULL, NULL, &error) < 0) {
		buf_reset(out);
		(void)buf_printf(out, "%s(%s): ", log_service_name(),
				 ctx->user);
	}
}

void log_msgv(enum log_level level, const struct log_ctx *ctx,
	      const char *fmt, va_list ap)
{
	if (level == LOG_LEVEL_DEBUG && !log_state.debug)
		return;
	struct buf prefix, msg;
	buf_init(&prefix, LOG_LINE_MAX);
	buf_init(&msg, LOG_LINE_MAX);
	log_render_prefix(&prefix, ctx);
	if (buf_vprintf(&msg, fmt, ap) < 0)
		(void)buf_append_str(&msg, "(log line too long)");
	if (log_state.journal) {
		sd_journal_send("MESSAGE=%s%s%s", prefix.data != NULL ?
				prefix.data : "", level_names[level], msg.data,
				"PRIORITY=%d", level_priorities[level],
				"SERVICE=%s", log_service_name(),
				"SESSION=%s", ctx && ctx->session ? ctx->session : "",
				"USER=%s", ctx && ctx->user ? ctx->user : "",
				"REMOTE_IP=%s", ctx && ctx->client_ip ?
				ctx->client_ip : "",
				NULL);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%b %d %H:%M:%S", &tm);
		fprintf(log_state.file != NULL ? log_state.file : stderr,
			"%s %s%s%s\n", ts, prefix.data != NULL ? prefix.data : "",
			level_names[level], msg.data);
	}
	buf_free(&prefix);
	buf_free(&msg);
}

void log_msg(enum log_level level, const struct log_ctx *ctx,
	     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_msgv(level, ctx, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_msgv(LOG_LEVEL_FATAL, NULL, fmt, ap);
	va_end(ap);
	exit(89);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_msgv(LOG_LEVEL_PANIC, NULL, fmt, ap);
	va_end(ap);
	abort();
}
