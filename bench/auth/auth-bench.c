/* auth-bench: logins per second through svc-auth's RPC, as the protocol
 * services make them.
 *
 *   auth-bench --socket PATH [options]        (auth-bench --help)
 *
 * Each login is one Sasl call with mechanism PLAIN and the initial
 * response "\0user\0password" (SASL-IR, as IMAP AUTHENTICATE PLAIN with
 * an initial response and IMAP LOGIN both end up). The calls are driven
 * from lib/core's loop, spread round-robin over --connections RPC
 * clients and pipelined up to --concurrency in flight; a new login starts
 * as soon as one finishes, until --logins have been made.
 *
 * Every answer is checked: a right password must give SASL_SUCCESS with
 * the expected normalised user (--expect-fmt), a wrong one (every
 * --bad-every-th login) must give SASL_FAILURE. Anything else (continue,
 * temporary failure, limit, RPC error, timeout, another user) is an
 * error and not a completed login.
 *
 * Output on stdout, one line:
 *   summary label=L logins=N ok=A rejected=B errors=E seconds=S
 *           logins_per_s=R p50_ms=X p99_ms=Y max_ms=Z
 * The first few errors are described on stderr. Exit status 0 when every
 * answer was right, 1 when some were wrong, 2 on bad usage. */
#include "buf.h"
#include "loop.h"
#include "rpc.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AB_MAX_LOGINS 10000000u
#define AB_MAX_CONCURRENCY 10000u
#define AB_MAX_CONNECTIONS 256u
#define AB_ERRORS_PRINTED 10
#define AB_NAME_MAX 1024

struct ab_opts {
	const char *socket_path;
	const char *label;
	const char *user_fmt, *pass_fmt, *bad_pass_fmt, *expect_fmt;
	const char *protocol;
	unsigned int logins, concurrency, connections, users, first_user;
	unsigned int bad_every, timeout_ms;
};

/* One login in flight; slots are reused. */
struct ab_login {
	struct ab_bench *ab;
	unsigned int seq;	/* which login (0..logins-1) */
	bool bad;		/* a wrong password was sent */
	char expect[AB_NAME_MAX];
	uint64_t start_us;
};

struct ab_bench {
	struct ab_opts o;
	struct loop *loop;
	struct rpc_client **clients;
	struct ab_login *slots;
	uint32_t method;
	unsigned int started, finished, ok, rejected, errors;
	uint32_t *lat_us;	/* one per finished correct login */
	size_t n_lat;
	uint64_t t0_us, t1_us;
	bool interrupted;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A format may hold "%u" (replaced by n, any number of times) and "%%";
 * any other '%' is refused, so no format string reaches printf. */
static bool fmt_valid(const char *fmt)
{
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] != 'u' && p[1] != '%')
			return false;
		p++;
	}
	return true;
}

static int fmt_expand(const char *fmt, unsigned int n, char *out,
		      size_t size)
{
	struct buf b;
	buf_init(&b, size - 1);
	int r = 0;
	for (const char *p = fmt; *p != '\0' && r == 0; p++) {
		if (*p != '%')
			r = buf_append_c(&b, *p);
		else if (*++p == 'u')
			r = buf_printf(&b, "%u", n);
		else
			r = buf_append_c(&b, '%');
	}
	if (r == 0)
		memcpy(out, b.data != NULL ? b.data : "", b.len + 1);
	buf_free(&b);
	return r;
}

static void ab_error(struct ab_bench *ab, const struct ab_login *l,
		     const char *what)
{
	ab->errors++;
	if (ab->errors <= AB_ERRORS_PRINTED)
		fprintf(stderr, "auth-bench: login %u (%s, %s password): %s\n",
			l->seq, l->expect, l->bad ? "wrong" : "right", what);
	if (ab->errors == AB_ERRORS_PRINTED)
		fprintf(stderr, "auth-bench: further errors not shown\n");
}

static void ab_start(struct ab_login *l);

static void ab_reply(const struct rpc_reply *reply, void *ctx)
{
	struct ab_login *l = ctx;
	struct ab_bench *ab = l->ab;
	uint64_t lat = now_us() - l->start_us;
	const Stratus__SaslReply *sr = (const void *)reply->msg;
	char what[AB_NAME_MAX + 64];

	if (reply->status != STRATUS__STATUS__STATUS_OK || sr == NULL) {
		snprintf(what, sizeof(what), "rpc %s: %s",
			 rpc_status_name(reply->status),
			 reply->error != NULL ? reply->error : "no reply");
		ab_error(ab, l, what);
	} else if (l->bad) {
		if (sr->result == STRATUS__SASL_RESULT__SASL_FAILURE) {
			ab->rejected++;
			ab->lat_us[ab->n_lat++] = (uint32_t)lat;
		} else {
			snprintf(what, sizeof(what), "expected failure, got "
				 "result %d (%s)", sr->result, sr->reason);
			ab_error(ab, l, what);
		}
	} else if (sr->result != STRATUS__SASL_RESULT__SASL_SUCCESS) {
		snprintf(what, sizeof(what), "expected success, got result "
			 "%d (%s)", sr->result, sr->reason);
		ab_error(ab, l, what);
	} else if (strcmp(sr->user, l->expect) != 0) {
		snprintf(what, sizeof(what), "logged in as '%.*s'",
			 AB_NAME_MAX, sr->user);
		ab_error(ab, l, what);
	} else {
		ab->ok++;
		ab->lat_us[ab->n_lat++] = (uint32_t)lat;
	}
	ab->finished++;
	if (ab->started < ab->o.logins && !ab->interrupted) {
		ab_start(l);
	} else if (ab->finished == ab->started) {
		ab->t1_us = now_us();
		loop_stop(ab->loop);
	}
}

static void ab_start(struct ab_login *l)
{
	struct ab_bench *ab = l->ab;
	const struct ab_opts *o = &ab->o;
	unsigned int seq = ab->started++;
	unsigned int idx = o->first_user + seq % o->users;
	char user[AB_NAME_MAX], pass[AB_NAME_MAX], session[32];

	l->seq = seq;
	l->bad = o->bad_every > 0 && seq % o->bad_every == o->bad_every - 1;
	if (fmt_expand(o->user_fmt, idx, user, sizeof(user)) < 0 ||
	    fmt_expand(l->bad ? o->bad_pass_fmt : o->pass_fmt, idx, pass,
		       sizeof(pass)) < 0 ||
	    fmt_expand(o->expect_fmt, idx, l->expect, sizeof(l->expect)) < 0)
		abort();	/* checked in main() with the largest index */
	snprintf(session, sizeof(session), "authbench%u", seq);

	struct buf resp;
	buf_init(&resp, 0);
	buf_append_c(&resp, '\0');
	buf_append_str(&resp, user);
	buf_append_c(&resp, '\0');
	buf_append_str(&resp, pass);

	Stratus__Context ctx = STRATUS__CONTEXT__INIT;
	ctx.session = session;
	ctx.user = user;
	ctx.client_ip = (char *)"127.0.0.1";
	ctx.service = (char *)"auth-bench";
	Stratus__SaslRequest req = STRATUS__SASL_REQUEST__INIT;
	req.mechanism = (char *)"PLAIN";
	req.has_response = true;
	req.response.data = (uint8_t *)resp.data;
	req.response.len = resp.len;
	req.protocol = (char *)o->protocol;
	req.local_ip = (char *)"127.0.0.1";
	req.local_port = 143;
	req.remote_ip = (char *)"127.0.0.1";

	l->start_us = now_us();
	/* The request is packed inside this call, so stack data is fine. */
	rpc_client_call(ab->clients[seq % o->connections], ab->method, &ctx,
			&req.base, NULL, 0, o->timeout_ms, ab_reply, l);
	explicit_bzero(resp.data, resp.len);
	explicit_bzero(pass, sizeof(pass));
	buf_free(&resp);
}

static void ab_on_signal(int signo, void *ctx)
{
	struct ab_bench *ab = ctx;
	(void)signo;
	/* Let the logins in flight finish; start no more. */
	ab->interrupted = true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double quantile_ms(const uint32_t *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

static void usage(void)
{
	fprintf(stderr,
"usage: auth-bench --socket PATH [options]\n"
"  --socket PATH       svc-auth's RPC socket ($base_dir/stratus-auth)\n"
"  --logins N          logins to make (10000)\n"
"  --concurrency N     logins in flight at once (32)\n"
"  --connections N     RPC connections the logins are spread over (4)\n"
"  --users N           users, used in turn (1000)\n"
"  --first-user N      index of the first user (1)\n"
"  --user-fmt FMT      login name, %%u = user index (user%%u@example.com)\n"
"  --pass-fmt FMT      right password (pass%%u)\n"
"  --bad-pass-fmt FMT  wrong password (wrong%%u)\n"
"  --expect-fmt FMT    user svc-auth must answer (default: --user-fmt)\n"
"  --bad-every N       every N-th login uses the wrong password (0 = none)\n"
"  --protocol NAME     SaslRequest.protocol (imap)\n"
"  --timeout-ms N      per login (10000)\n"
"  --label TEXT        copied to the summary line\n");
}

static bool parse_uint(const char *s, unsigned int min, unsigned int max,
		       unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || s[0] == '-' || v < min || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

enum {
	OPT_SOCKET = 256, OPT_LOGINS, OPT_CONC, OPT_CONNS, OPT_USERS,
	OPT_FIRST, OPT_USER_FMT, OPT_PASS_FMT, OPT_BAD_FMT, OPT_EXPECT,
	OPT_BAD_EVERY, OPT_PROTOCOL, OPT_TIMEOUT, OPT_LABEL, OPT_HELP
};

static int parse_args(int argc, char **argv, struct ab_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "logins", required_argument, NULL, OPT_LOGINS },
		{ "concurrency", required_argument, NULL, OPT_CONC },
		{ "connections", required_argument, NULL, OPT_CONNS },
		{ "users", required_argument, NULL, OPT_USERS },
		{ "first-user", required_argument, NULL, OPT_FIRST },
		{ "user-fmt", required_argument, NULL, OPT_USER_FMT },
		{ "pass-fmt", required_argument, NULL, OPT_PASS_FMT },
		{ "bad-pass-fmt", required_argument, NULL, OPT_BAD_FMT },
		{ "expect-fmt", required_argument, NULL, OPT_EXPECT },
		{ "bad-every", required_argument, NULL, OPT_BAD_EVERY },
		{ "protocol", required_argument, NULL, OPT_PROTOCOL },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	*o = (struct ab_opts){
		.label = "-", .user_fmt = "user%u@example.com",
		.pass_fmt = "pass%u", .bad_pass_fmt = "wrong%u",
		.protocol = "imap", .logins = 10000, .concurrency = 32,
		.connections = 4, .users = 1000, .first_user = 1,
		.timeout_ms = 10000,
	};
	int c;
	bool ok = true;
	while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: o->socket_path = optarg; break;
		case OPT_LOGINS:
			ok = parse_uint(optarg, 1, AB_MAX_LOGINS, &o->logins);
			break;
		case OPT_CONC:
			ok = parse_uint(optarg, 1, AB_MAX_CONCURRENCY,
					&o->concurrency);
			break;
		case OPT_CONNS:
			ok = parse_uint(optarg, 1, AB_MAX_CONNECTIONS,
					&o->connections);
			break;
		case OPT_USERS:
			ok = parse_uint(optarg, 1, AB_MAX_LOGINS, &o->users);
			break;
		case OPT_FIRST:
			ok = parse_uint(optarg, 0, AB_MAX_LOGINS,
					&o->first_user);
			break;
		case OPT_USER_FMT: o->user_fmt = optarg; break;
		case OPT_PASS_FMT: o->pass_fmt = optarg; break;
		case OPT_BAD_FMT: o->bad_pass_fmt = optarg; break;
		case OPT_EXPECT: o->expect_fmt = optarg; break;
		case OPT_BAD_EVERY:
			ok = parse_uint(optarg, 0, AB_MAX_LOGINS,
					&o->bad_every);
			break;
		case OPT_PROTOCOL: o->protocol = optarg; break;
		case OPT_TIMEOUT:
			ok = parse_uint(optarg, 1, 600000, &o->timeout_ms);
			break;
		case OPT_LABEL: o->label = optarg; break;
		default: ok = false; break;
		}
	}
	if (!ok || optind != argc || o->socket_path == NULL) {
		usage();
		return -1;
	}
	if (o->expect_fmt == NULL)
		o->expect_fmt = o->user_fmt;
	if (o->bad_every == 1) {
		fprintf(stderr, "auth-bench: --bad-every 1 makes no right "
			"logins; use 0 or >= 2\n");
		return -1;
	}
	const char *fmts[] = { o->user_fmt, o->pass_fmt, o->bad_pass_fmt,
			       o->expect_fmt };
	char tmp[AB_NAME_MAX];
	for (size_t i = 0; i < N_ELEMENTS(fmts); i++) {
		/* The longest expansion is that of the largest index. */
		if (!fmt_valid(fmts[i]) ||
		    fmt_expand(fmts[i], o->first_user + o->users - 1, tmp,
			       sizeof(tmp)) < 0) {
			fprintf(stderr, "auth-bench: bad format '%s' (only %%u "
				"and %%%% are allowed, < %d bytes)\n", fmts[i],
				AB_NAME_MAX);
			return -1;
		}
	}
	if (o->concurrency > o->logins)
		o->concurrency = o->logins;
	return 0;
}

int main(int argc, char **argv)
{
	struct ab_bench ab = { 0 };
	if (parse_args(argc, argv, &ab.o) < 0)
		return 2;
	int m = rpc_method_index(&stratus__auth__descriptor, "Sasl");
	if (m < 0) {
		fprintf(stderr, "auth-bench: no Sasl method in auth.proto\n");
		return 2;
	}
	ab.method = (uint32_t)m;
	signal(SIGPIPE, SIG_IGN);
	ab.loop = loop_new();
	loop_signal_add(ab.loop, SIGINT, ab_on_signal, &ab);
	loop_signal_add(ab.loop, SIGTERM, ab_on_signal, &ab);
	ab.clients = xcalloc(ab.o.connections, sizeof(*ab.clients));
	for (unsigned int i = 0; i < ab.o.connections; i++)
		ab.clients[i] = rpc_client_new(ab.loop, ab.o.socket_path,
					       &stratus__auth__descriptor,
					       AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	ab.slots = xcalloc(ab.o.concurrency, sizeof(*ab.slots));
	ab.lat_us = xcalloc(ab.o.logins, sizeof(*ab.lat_us));

	ab.t0_us = now_us();
	for (unsigned int i = 0; i < ab.o.concurrency; i++) {
		ab.slots[i].ab = &ab;
		ab_start(&ab.slots[i]);
	}
	/* Bounded: every call has a timeout, so the loop ends. */
	if (loop_run(ab.loop) < 0) {
		fprintf(stderr, "auth-bench: event loop failed\n");
		return 1;
	}
	if (ab.t1_us == 0)
		ab.t1_us = now_us();

	double secs = (double)(ab.t1_us - ab.t0_us) / 1e6;
	qsort(ab.lat_us, ab.n_lat, sizeof(*ab.lat_us), cmp_u32);
	printf("summary label=%s logins=%u ok=%u rejected=%u errors=%u "
	       "seconds=%.3f logins_per_s=%.1f p50_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f concurrency=%u connections=%u users=%u\n",
	       ab.o.label, ab.finished, ab.ok, ab.rejected, ab.errors, secs,
	       secs > 0 ? (ab.ok + ab.rejected) / secs : 0.0,
	       quantile_ms(ab.lat_us, ab.n_lat, 0.50),
	       quantile_ms(ab.lat_us, ab.n_lat, 0.99),
	       quantile_ms(ab.lat_us, ab.n_lat, 1.0),
	       ab.o.concurrency, ab.o.connections, ab.o.users);

	for (unsigned int i = 0; i < ab.o.connections; i++)
		rpc_client_free(&ab.clients[i]);
	free(ab.clients);
	free(ab.slots);
	free(ab.lat_us);
	loop_free(&ab.loop);
	bool complete = ab.finished == ab.o.logins;
	return ab.errors == 0 && complete ? 0 : 1;
}
