/* Logging (see log.h). The prefix is rendered per line because one
 * process serves many sessions. */
#include "log.h"
#include "buf.h"
#include "var-expand.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
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
	/* The last warnings and errors, oldest first from `next`, for
	 * `stratusctl log errors` (doveadm log errors). */
	struct log_recent recent[LOG_RECENT_MAX];
	size_t next_recent, n_recent;
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
	for (size_t i = 0; i < LOG_RECENT_MAX; i++)
		free(log_state.recent[i].text);
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

const struct log_recent *log_recent_get(size_t i)
{
	if (i >= log_state.n_recent)
		return NULL;
	size_t oldest = (log_state.next_recent + LOG_RECENT_MAX -
			 log_state.n_recent) % LOG_RECENT_MAX;
	return &log_state.recent[(oldest + i) % LOG_RECENT_MAX];
}

static void log_recent_add(enum log_level level, const char *prefix,
			   const char *msg)
{
	struct log_recent *r = &log_state.recent[log_state.next_recent];
	log_state.next_recent = (log_state.next_recent + 1) % LOG_RECENT_MAX;
	if (log_state.n_recent < LOG_RECENT_MAX)
		log_state.n_recent++;
	free(r->text);
	r->text = xasprintf("%s%s", prefix, msg);
	r->time = (int64_t)time(NULL);
	r->level = level;
}

/* MESSAGE_ID: 128 bits from the format string (two FNV-1a hashes), so
 * every line of one kind ("Disconnected: %s") shares an id that
 * `journalctl MESSAGE_ID=...` selects, whatever its arguments. */
static void log_message_id(const char *fmt, char out[33])
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	for (const unsigned char *p = (const unsigned char *)fmt; *p; p++) {
		a = (a ^ *p) * 0x100000001b3ULL;
		b = (b ^ *p) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
	}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)a,
		 (unsigned long long)b);
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

/* One "NAME=value" field for sd_journal_sendv; an empty value is left
 * out, so `journalctl USER=x` never meets USER= on lines of no user. */
static void log_field(struct iovec *iov, size_t *n, char **mem,
		      const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	mem[*n] = xasprintf("%s=%s", name, value);
	iov[*n].iov_base = mem[*n];
	iov[*n].iov_len = strlen(mem[*n]);
	(*n)++;
}

/* Returns false when journald did not take the line (it is not running,
 * or its socket is full): the caller writes a plain line instead. */
static bool log_journal(enum log_level level, const struct log_ctx *ctx,
			const char *fmt, const char *prefix, const char *msg)
{
	char id[33], prio[4], ident[64];
	struct iovec iov[8];
	char *mem[8];
	size_t n = 0;
	log_message_id(fmt, id);
	snprintf(prio, sizeof(prio), "%d", level_priorities[level]);
	snprintf(ident, sizeof(ident), "stratus-%s", log_service_name());
	mem[n] = xasprintf("MESSAGE=%s%s%s", prefix, level_names[level], msg);
	iov[n].iov_base = mem[n];
	iov[n].iov_len = strlen(mem[n]);
	n++;
	log_field(iov, &n, mem, "MESSAGE_ID", id);
	log_field(iov, &n, mem, "PRIORITY", prio);
	log_field(iov, &n, mem, "SYSLOG_IDENTIFIER", ident);
	log_field(iov, &n, mem, "SERVICE", log_service_name());
	log_field(iov, &n, mem, "SESSION", ctx != NULL ? ctx->session : NULL);
	log_field(iov, &n, mem, "USER", ctx != NULL ? ctx->user : NULL);
	log_field(iov, &n, mem, "REMOTE_IP", ctx != NULL ? ctx->client_ip :
		  NULL);
	int ret = sd_journal_sendv(iov, (int)n);
	for (size_t i = 0; i < n; i++)
		free(mem[i]);
	return ret >= 0;
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
	const char *p = prefix.data != NULL ? prefix.data : "";
	const char *m = msg.data != NULL ? msg.data : "";
	if (level >= LOG_LEVEL_WARNING)
		log_recent_add(level, p, m);
	if (!log_state.journal || !log_journal(level, ctx, fmt, p, m)) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%b %d %H:%M:%S", &tm);
		fprintf(log_state.file != NULL ? log_state.file : stderr,
			"%s %s%s%s\n", ts, p, level_names[level], m);
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
