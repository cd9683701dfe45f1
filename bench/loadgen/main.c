/* stratus-loadgen: command line, the measured window and the report.
 *
 *   stratus-loadgen MODE [options]
 *   MODE: imap-sessions | imap-commands | imap-idle | imap-append |
 *         lmtp | pop3
 *
 * Output on stdout is machine-readable, one record per line:
 *   stat mode=M label=L op=NAME count=N errors=E rate_per_s=R p50_ms=X
 *        p99_ms=Y bytes=B
 *   summary mode=M label=L ... errors=E
 *   idle ready=K failed=F setup_s=S      (imap-idle, when all idle)
 * The first few errors are described on stderr. Exit status: 0 when the
 * run had no error, 1 when it had errors, 2 on bad usage. Only loopback
 * servers are accepted: this tool must not load anyone else's machine. */
#include "lg.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define LG_ERRORS_PRINTED 10

static void usage(void)
{
	fprintf(stderr,
"usage: stratus-loadgen MODE [options]\n"
"modes: imap-sessions imap-commands imap-idle imap-append lmtp pop3\n"
"  --port N            server port on 127.0.0.1 (required)\n"
"  --host ADDR         loopback IPv4 address (default 127.0.0.1)\n"
"  --clients N         concurrent connections (default 10)\n"
"  --duration S        measured seconds (default 5; imap-idle: setup limit)\n"
"  --grace S           time for in-flight work after the window (5)\n"
"  --timeout-ms N      per command (30000)\n"
"  --max-errors N      give up after N errors (1000)\n"
"  --seed N            random seed (1)\n"
"  --label TEXT        copied to every output line\n"
"  --user-fmt FMT      user name format with one %%u (bench%%03u@example.com)\n"
"  --users N           number of users (default: clients)\n"
"  --user-first N      first user index (1)\n"
"  --password P        password of every user (bench)\n"
"  --expect-messages N SELECT/STAT must report N messages (0: any)\n"
"imap:\n"
"  --mix LIST          e.g. flags=1,headers=1,body=2,store=1,search=1,\n"
"                      append=1,idle=0,select=0 (append implies EXPUNGE)\n"
"  --new-mail N        header FETCH of the last N messages (10)\n"
"  --idle-ms N         IDLE hold inside the mix (100)\n"
"  --fixed-msg N       FETCH BODY[] always message N\n"
"  --max-rounds N      imap-commands: rounds per session, then LOGOUT\n"
"  --max-sessions N    imap-sessions/pop3: stop after N sessions\n"
"  --hold S            imap-idle: seconds to hold once all idle (10)\n"
"  --connect-parallel N imap-idle: logins in flight (100)\n"
"imap-append (preload): each client APPENDs every file of --files, or\n"
"  --max-messages generated messages of --msg-size bytes, to its user\n"
"lmtp:\n"
"  --rcpts N           recipients per message (1)\n"
"  --msg-size N        generated message size in bytes (4096)\n"
"  --files DIR         deliver every file of DIR to every user (preload)\n"
"  --any-order         --files: connections share all the work (faster for\n"
"                      few users; the order of messages then varies)\n"
"  --max-messages N    stop after N messages\n");
}

uint64_t lg_rand(uint64_t *state)
{
	/* xorshift64*: fast, deterministic from the seed, good enough to
	 * pick messages and users */
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

void lg_user_name(const struct lg *lg, unsigned int idx, char *out,
		  size_t size)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(out, size, lg->opts.user_fmt, idx);
#pragma GCC diagnostic pop
}

void lg_error(struct lg *lg, struct lg_stat *st, const char *fmt, ...)
{
	if (st != NULL)
		st->errors++;
	lg->errors++;
	if (lg->errors_printed < LG_ERRORS_PRINTED) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "error: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
		lg->errors_printed++;
	}
	if (lg->errors >= lg->opts.max_errors && !lg->aborted) {
		fprintf(stderr, "error: %llu errors, giving up\n",
			(unsigned long long)lg->errors);
		lg->aborted = true;
		lg_close_window(lg);
	}
}

bool lg_in_window(struct lg *lg)
{
	return !lg->window_closed;
}

static void grace_cb(struct loop_timer *t, void *ctx)
{
	struct lg *lg = ctx;
	(void)t;
	lg->grace_timer = NULL;
	if (lg->active > 0)
		fprintf(stderr, "note: %u sessions still busy after the grace "
			"period; closed\n", lg->active);
	loop_stop(lg->loop);
}

void lg_close_window(struct lg *lg)
{
	if (lg->window_closed)
		return;
	lg->window_closed = true;
	lg->end_us = lg_now_us();
	if (lg->window_timer != NULL)
		loop_timer_remove(&lg->window_timer);
	if (lg->active == 0) {
		loop_stop(lg->loop);
		return;
	}
	lg->grace_timer = loop_timer_add(lg->loop,
		(uint64_t)(lg->opts.grace_s * 1000), false, grace_cb, lg);
}

static void window_cb(struct loop_timer *t, void *ctx)
{
	struct lg *lg = ctx;
	(void)t;
	lg->window_timer = NULL;
	lg_close_window(lg);
}

void lg_session_done(struct lg *lg)
{
	if (lg->active > 0)
		lg->active--;
	if (lg->active > 0)
		return;
	/* everyone finished on their own (counts reached): the window ends
	 * now, so rates are over the real elapsed time */
	if (!lg->window_closed) {
		lg->window_closed = true;
		lg->end_us = lg_now_us();
		if (lg->window_timer != NULL)
			loop_timer_remove(&lg->window_timer);
	}
	loop_stop(lg->loop);
}

void lg_make_message(struct buf *out, uint64_t *rng, size_t size,
		     const char *to)
{
	static const char *const words[] = {
		"the", "quarterly", "report", "meeting", "is", "moved", "to",
		"Thursday", "please", "review", "attached", "figures", "and",
		"send", "comments", "before", "noon", "thanks", "regards",
		"storage", "backend", "latency", "budget", "of", "a",
	};
	const size_t nwords = sizeof(words) / sizeof(words[0]);
	uint64_t id = lg_rand(rng);
	buf_printf(out,
		   "Return-Path: <sender@example.org>\r\n"
		   "From: Load Generator <sender@example.org>\r\n"
		   "To: <%s>\r\n"
		   "Subject: bench message %016llx\r\n"
		   "Date: Tue, 25 Nov 2025 10:00:00 +0000\r\n"
		   "Message-ID: <%016llx@bench.example.org>\r\n"
		   "MIME-Version: 1.0\r\n"
		   "Content-Type: text/plain; charset=us-ascii\r\n"
		   "\r\n", to, (unsigned long long)id, (unsigned long long)id);
	size_t col = 0;
	while (out->len < size) {
		const char *w = words[lg_rand(rng) % nwords];
		buf_append_str(out, w);
		col += strlen(w) + 1;
		if (col > 68) {
			buf_append_str(out, "\r\n");
			col = 0;
		} else {
			buf_append_c(out, ' ');
		}
	}
	buf_append_str(out, "\r\n");
}

int lg_read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	int c, prev = 0, ret = 0;
	while ((c = getc(f)) != EOF) {
		if (c == '\n' && prev != '\r' && buf_append_c(out, '\r') < 0)
			ret = -1;
		if (buf_append_c(out, (char)c) < 0)
			ret = -1;
		if (ret < 0)
			break;
		prev = c;
	}
	fclose(f);
	return ret;
}

static int parse_mix(struct lg_mix *m, const char *s)
{
	char *copy = xstrdup(s), *save = NULL;
	memset(m, 0, sizeof(*m));
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL)
			goto bad;
		*eq = '\0';
		char *end;
		unsigned long v = strtoul(eq + 1, &end, 10);
		if (*end != '\0' || v > 64)
			goto bad;
		unsigned int *dst =
			strcmp(tok, "flags") == 0 ? &m->fetch_flags :
			strcmp(tok, "headers") == 0 ? &m->fetch_headers :
			strcmp(tok, "body") == 0 ? &m->fetch_body :
			strcmp(tok, "store") == 0 ? &m->store :
			strcmp(tok, "search") == 0 ? &m->search :
			strcmp(tok, "append") == 0 ? &m->append :
			strcmp(tok, "idle") == 0 ? &m->idle :
			strcmp(tok, "select") == 0 ? &m->select : NULL;
		if (dst == NULL)
			goto bad;
		*dst = (unsigned int)v;
	}
	free(copy);
	return 0;
bad:
	free(copy);
	return -1;
}

static int load_files(struct lg *lg, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	lg->files = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && lg->n_files < LG_MAX_FILES)
			lg->files[lg->n_files++] =
				xasprintf("%s/%s", dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return lg->n_files > 0 ? 0 : -1;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || x > max)
		return false;
	*v = x;
	return true;
}

/* Exactly one conversion, "%u" with an optional zero-padded width
 * ("%03u"), because the format is handed to snprintf. */
static bool valid_user_fmt(const char *fmt)
{
	const char *p = strchr(fmt, '%');
	if (p == NULL)
		return false;
	const char *q = p + 1;
	while (*q >= '0' && *q <= '9' && q - p < 4)
		q++;
	return *q == 'u' && strchr(q, '%') == NULL;
}

static bool is_loopback(const char *host)
{
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1)
		return false;
	return (ntohl(a.s_addr) >> 24) == 127;
}

enum {
	OPT_PORT = 256, OPT_HOST, OPT_CLIENTS, OPT_DURATION, OPT_GRACE,
	OPT_TIMEOUT, OPT_MAX_ERRORS, OPT_SEED, OPT_LABEL, OPT_USER_FMT,
	OPT_USERS, OPT_USER_FIRST, OPT_PASSWORD, OPT_EXPECT, OPT_MIX,
	OPT_NEW_MAIL, OPT_IDLE_MS, OPT_FIXED_MSG, OPT_MAX_ROUNDS,
	OPT_MAX_SESSIONS, OPT_HOLD, OPT_CONNECT_PARALLEL, OPT_RCPTS,
	OPT_MSG_SIZE, OPT_FILES, OPT_MAX_MESSAGES, OPT_ANY_ORDER,
};

static int parse_args(struct lg *lg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "clients", required_argument, NULL, OPT_CLIENTS },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "user-fmt", required_argument, NULL, OPT_USER_FMT },
		{ "users", required_argument, NULL, OPT_USERS },
		{ "user-first", required_argument, NULL, OPT_USER_FIRST },
		{ "password", required_argument, NULL, OPT_PASSWORD },
		{ "expect-messages", required_argument, NULL, OPT_EXPECT },
		{ "mix", required_argument, NULL, OPT_MIX },
		{ "new-mail", required_argument, NULL, OPT_NEW_MAIL },
		{ "idle-ms", required_argument, NULL, OPT_IDLE_MS },
		{ "fixed-msg", required_argument, NULL, OPT_FIXED_MSG },
		{ "max-rounds", required_argument, NULL, OPT_MAX_ROUNDS },
		{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "connect-parallel", required_argument, NULL,
		  OPT_CONNECT_PARALLEL },
		{ "rcpts", required_argument, NULL, OPT_RCPTS },
		{ "msg-size", required_argument, NULL, OPT_MSG_SIZE },
		{ "files", required_argument, NULL, OPT_FILES },
		{ "max-messages", required_argument, NULL, OPT_MAX_MESSAGES },
		{ "any-order", no_argument, NULL, OPT_ANY_ORDER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg_opts *o = &lg->opts;
	uint64_t v;
	bool users_set = false;

	if (argc < 2)
		return -1;
	o->mode_name = argv[1];
	if (strcmp(argv[1], "imap-sessions") == 0)
		o->mode = LG_MODE_IMAP_SESSIONS;
	else if (strcmp(argv[1], "imap-commands") == 0)
		o->mode = LG_MODE_IMAP_COMMANDS;
	else if (strcmp(argv[1], "imap-idle") == 0)
		o->mode = LG_MODE_IMAP_IDLE;
	else if (strcmp(argv[1], "imap-append") == 0)
		o->mode = LG_MODE_IMAP_APPEND;
	else if (strcmp(argv[1], "lmtp") == 0)
		o->mode = LG_MODE_LMTP;
	else if (strcmp(argv[1], "pop3") == 0)
		o->mode = LG_MODE_POP3;
	else
		return -1;

	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->label = "-";
	o->clients = 10;
	o->duration_s = 5;
	o->grace_s = 5;
	o->timeout_ms = 30000;
	o->max_errors = 1000;
	o->seed = 1;
	o->user_fmt = "bench%03u@example.com";
	o->user_first = 1;
	o->password = "bench";
	o->new_mail = 10;
	o->idle_ms = 100;
	o->hold_s = 10;
	o->connect_parallel = 100;
	o->rcpts = 1;
	o->msg_size = 4096;
	(void)parse_mix(&o->mix,
		"flags=1,headers=1,body=2,store=1,search=1,append=1,idle=0");

	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
#define UINT_OPT(code, field, max) \
		case code: \
			if (!parse_uint(a, max, &v)) \
				return -1; \
			o->field = v; \
			break;
		UINT_OPT(OPT_PORT, port, 65535)
		UINT_OPT(OPT_CLIENTS, clients, LG_MAX_CLIENTS)
		UINT_OPT(OPT_TIMEOUT, timeout_ms, 600000)
		UINT_OPT(OPT_MAX_ERRORS, max_errors, UINT32_MAX)
		UINT_OPT(OPT_SEED, seed, UINT64_MAX)
		UINT_OPT(OPT_USER_FIRST, user_first, 1000000)
		UINT_OPT(OPT_EXPECT, expect_messages, 10000000)
		UINT_OPT(OPT_NEW_MAIL, new_mail, 100000)
		UINT_OPT(OPT_IDLE_MS, idle_ms, 600000)
		UINT_OPT(OPT_FIXED_MSG, fixed_msg, 10000000)
		UINT_OPT(OPT_MAX_ROUNDS, max_rounds, UINT32_MAX)
		UINT_OPT(OPT_MAX_SESSIONS, max_sessions, UINT32_MAX)
		UINT_OPT(OPT_CONNECT_PARALLEL, connect_parallel, LG_MAX_CLIENTS)
		UINT_OPT(OPT_RCPTS, rcpts, 1000)
		UINT_OPT(OPT_MSG_SIZE, msg_size, 64u * 1024 * 1024)
		UINT_OPT(OPT_MAX_MESSAGES, max_messages, UINT32_MAX)
#undef UINT_OPT
		case OPT_USERS:
			if (!parse_uint(a, LG_MAX_USERS, &v) || v == 0)
				return -1;
			o->users = (unsigned int)v;
			users_set = true;
			break;
		case OPT_HOST:
			if (!is_loopback(a)) {
				fprintf(stderr, "only loopback servers\n");
				return -1;
			}
			snprintf(o->host, sizeof(o->host), "%s", a);
			break;
		case OPT_DURATION:
			o->duration_s = strtod(a, NULL);
			if (o->duration_s < 0 || o->duration_s > 3600)
				return -1;
			break;
		case OPT_GRACE:
			o->grace_s = strtod(a, NULL);
			if (o->grace_s < 0 || o->grace_s > 600)
				return -1;
			break;
		case OPT_HOLD:
			o->hold_s = strtod(a, NULL);
			if (o->hold_s < 0 || o->hold_s > 3600)
				return -1;
			break;
		case OPT_LABEL:
			o->label = a;
			break;
		case OPT_USER_FMT:
			if (!valid_user_fmt(a))
				goto bad_fmt;
			o->user_fmt = a;
			break;
		case OPT_PASSWORD:
			o->password = a;
			break;
		case OPT_MIX:
			if (parse_mix(&o->mix, a) < 0)
				return -1;
			break;
		case OPT_FILES:
			o->files_dir = a;
			break;
		case OPT_ANY_ORDER:
			o->any_order = true;
			break;
		default:
			return -1;
		}
	}
	if (o->port == 0 || o->clients == 0 || optind != argc)
		return -1;
	if (!users_set)
		o->users = o->clients;
	if (o->files_dir != NULL && load_files(lg, o->files_dir) < 0) {
		fprintf(stderr, "no files in %s\n", o->files_dir);
		return -1;
	}
	return 0;
bad_fmt:
	fprintf(stderr, "--user-fmt needs exactly one %%u (e.g. %%03u)\n");
	return -1;
}

static void raise_fd_limit(unsigned int clients)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < clients + 64) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void stop_signal_cb(int signo, void *ctx)
{
	struct lg *lg = ctx;
	(void)signo;
	if (lg->opts.mode == LG_MODE_IMAP_IDLE)
		lg_imap_release(lg);
	else
		lg_close_window(lg);
}

int main(int argc, char **argv)
{
	struct lg lg;
	memset(&lg, 0, sizeof(lg));
	if (parse_args(&lg, argc, argv) < 0) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(lg.opts.clients);
	lg.rng = lg.opts.seed;
	lg.loop = loop_new();
	if (lg.loop == NULL) {
		fprintf(stderr, "cannot create the event loop\n");
		return 2;
	}
	/* SIGTERM/SIGINT end the window early and still print the report */
	(void)loop_signal_add(lg.loop, SIGTERM, stop_signal_cb, &lg);
	(void)loop_signal_add(lg.loop, SIGINT, stop_signal_cb, &lg);

	lg.start_us = lg_now_us();
	/* preloads run until every message is stored */
	if (lg.opts.duration_s > 0 && lg.opts.mode != LG_MODE_IMAP_IDLE &&
	    lg.opts.mode != LG_MODE_IMAP_APPEND && lg.n_files == 0)
		lg.window_timer = loop_timer_add(lg.loop,
			(uint64_t)(lg.opts.duration_s * 1000), false,
			window_cb, &lg);

	int r;
	switch (lg.opts.mode) {
	case LG_MODE_LMTP:
		r = lg_lmtp_run(&lg);
		break;
	case LG_MODE_POP3:
		r = lg_pop3_run(&lg);
		break;
	default:
		r = lg_imap_run(&lg);
		break;
	}
	if (r == 0 && loop_run(lg.loop) < 0)
		fprintf(stderr, "event loop failed\n");
	if (lg.end_us == 0)
		lg.end_us = lg_now_us();
	double secs = (double)(lg.end_us - lg.start_us) / 1e6;
	switch (lg.opts.mode) {
	case LG_MODE_LMTP:
		lg_lmtp_report(&lg, stdout, secs);
		break;
	case LG_MODE_POP3:
		lg_pop3_report(&lg, stdout, secs);
		break;
	default:
		lg_imap_report(&lg, stdout, secs);
		break;
	}
	for (size_t i = 0; i < lg.n_files; i++)
		free(lg.files[i]);
	free(lg.files);
	if (lg.window_timer != NULL)
		loop_timer_remove(&lg.window_timer);
	if (lg.grace_timer != NULL)
		loop_timer_remove(&lg.grace_timer);
	loop_free(&lg.loop);
	fflush(stdout);
	return lg.errors > 0 ? 1 : 0;
}
