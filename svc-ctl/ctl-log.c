/* stratusctl log errors [--json] [-s UNIX_TIME]: the last warnings and
 * errors every running service logged (each keeps LOG_RECENT_MAX, sent in
 * its status reply), oldest first, as doveadm log errors prints them:
 * "Dec 07 10:01:02 Error: imap(joe)<..>: text". -s keeps those since a
 * time. A service that does not answer is named on stderr. */
#include "ctl.h"
#include "buf.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct log_row {
	int64_t time;
	size_t order;		/* keeps a service's lines in their order */
	const char *service, *level, *text;
};

static int log_row_cmp(const void *a, const void *b)
{
	const struct log_row *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void log_row_print(const struct log_row *r, bool json, bool first)
{
	if (json) {
		printf("%s{\"time\":%lld,\"service\":", first ? "" : ",",
		       (long long)r->time);
		ctl_json_string(stdout, r->service);
		fputs(",\"level\":", stdout);
		ctl_json_string(stdout, r->level);
		fputs(",\"text\":", stdout);
		ctl_json_string(stdout, r->text);
		fputc('}', stdout);
		return;
	}
	char ts[32];
	time_t t = (time_t)r->time;
	struct tm tm;
	strftime(ts, sizeof(ts), "%b %d %H:%M:%S", localtime_r(&t, &tm));
	/* "Error: " as the log lines have it. */
	printf("%s %c%s: %s\n", ts, r->level[0] - 'a' + 'A', r->level + 1,
	       r->text);
}

/* Status is answered by lib/rpc under its reserved method id, so it is
 * called by id, not by name. */
static int log_status(struct loop *loop, const struct config *cfg,
		      const char *name, struct rpc_reply *reply)
{
	char *path = service_rpc_socket_path(cfg, name);
	struct rpc_client *c = rpc_client_new(loop, path,
		&stratus__control__descriptor, RPC_CONTROL_MAJOR,
		RPC_CONTROL_MINOR);
	Stratus__StatusRequest req = STRATUS__STATUS_REQUEST__INIT;
	int ret = rpc_client_call_sync(c, RPC_METHOD_STATUS, &req.base, NULL,
				       0, 5000, reply);
	if (ret < 0)
		fprintf(stderr, "stratusctl: %s Status: %s (%s) - is "
			"stratus-%s running?\n", name,
			reply->error != NULL ? reply->error : "failed",
			rpc_status_name(reply->status), name);
	rpc_client_free(&c);
	free(path);
	return ret;
}

int ctl_cmd_log(struct ctl_args *args)
{
	static const char *const names[] = SERVICE_NAMES;
	bool json = ctl_take_flag(args, "--json");
	int64_t since = 0;
	if (args->argc == 3 && strcmp(args->argv[1], "-s") == 0) {
		since = strtoll(args->argv[2], NULL, 10);
		args->argc = 1;
	}
	if (args->argc != 1 || strcmp(args->argv[0], "errors") != 0) {
		fputs("usage: stratusctl log errors [--json] [-s UNIX_TIME]\n",
		      stderr);
		return CTL_EXIT_USAGE;
	}
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	struct rpc_reply replies[SERVICE_COUNT] = { 0 };
	struct loop *loop = loop_new();
	struct log_row *rows = NULL;
	size_t n = 0;
	int ret = 0;
	for (size_t s = 0; s < SERVICE_COUNT; s++) {
		if (!service_enabled(cfg, names[s]))
			continue;
		if (log_status(loop, cfg, names[s], &replies[s]) < 0) {
			ret = CTL_EXIT_FAILURE;
			continue;
		}
		const Stratus__StatusReply *r = (const void *)replies[s].msg;
		for (size_t i = 0; i < r->n_recent_errors; i++) {
			const Stratus__LogEvent *e = r->recent_errors[i];
			if (e->time < since)
				continue;
			rows = xreallocarray(rows, n + 1, sizeof(*rows));
			rows[n] = (struct log_row){ e->time, n, names[s],
						    e->level, e->text };
			n++;
		}
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), log_row_cmp);
	if (json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++)
		log_row_print(&rows[i], json, i == 0);
	if (json)
		fputs("]\n", stdout);
	free(rows);
	for (size_t s = 0; s < SERVICE_COUNT; s++)
		rpc_reply_clear(&replies[s]);
	loop_free(&loop);
	config_free(&cfg);
	return ret;
}
