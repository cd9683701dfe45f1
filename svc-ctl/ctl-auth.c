/* stratusctl user / auth: the doveadm user / doveadm auth of Stratus,
 * talking to svc-auth's RPC like the protocol services do.
 *   user [--json] '*' | MASK           every user of every userdb, in
 *                                      order (doveadm user '*'); `user
 *                                      list` is the older name
 *   user [--json] [-x k=v] USER        userdb fields (also `user lookup`)
 *   auth test [-x k=v] [-m MECH] [-a AUTHZID] [-r HEX]... USER [PASS]
 *   auth lookup [--json] [-x k=v] USER...   the passdb fields, stored
 *                                      password included (doveadm auth
 *                                      lookup)
 *   auth cache flush [USER]
 *   auth connect [-n N] [-R] USER PROTOCOL IP   take N sessions
 *   auth trust IP [FWD_IP [FWD_PORT [SESSION]]]
 *   who [--json] [MASK]               sessions per user and protocol, with
 *                                      their IPs (doveadm who)
 * -x takes rip=, real_rip=, service=, session=, secured (as doveadm's
 * auth_info). Exit codes follow sysexits: 67 unknown user, 75 temporary
 * failure, 77 authentication failed. */
#include "ctl.h"
#include "buf.h"
#include "rpc.h"
#include "rpc-versions.h"
#include "service.h"
#include "auth.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>
#include <strings.h>

#define CTL_AUTH_TIMEOUT_MS 30000
#define EX_NOUSER 67
#define EX_TEMPFAIL 75
#define EX_NOPERM 77

enum auth_method {
	M_SASL, M_USERDB, M_USERLIST, M_CONNECT, M_CACHEFLUSH, M_TRUST, M_WHO,
	M_PASSDBLOOKUP
};

struct ctl_auth {
	struct config *cfg;
	struct loop *loop;
	struct rpc_client *client;
	char *rip, *real_rip, *service, *session;
	bool secured;
	bool json;		/* --json: one JSON document on stdout */
};

static int ctl_auth_open(struct ctl_auth *ca, const char *config_path)
{
	memset(ca, 0, sizeof(*ca));
	ca->cfg = ctl_config_load(config_path);
	if (ca->cfg == NULL)
		return -1;
	char *path = service_rpc_socket_path(ca->cfg, "auth");
	ca->loop = loop_new();
	ca->client = rpc_client_new(ca->loop, path, &stratus__auth__descriptor,
				    AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	free(path);
	ca->service = xstrdup("imap");
	ca->rip = xstrdup("");
	ca->real_rip = xstrdup("");
	ca->session = xstrdup("");
	return 0;
}

static void ctl_auth_close(struct ctl_auth *ca)
{
	rpc_client_free(&ca->client);
	loop_free(&ca->loop);
	config_free(&ca->cfg);
	free(ca->rip);
	free(ca->real_rip);
	free(ca->service);
	free(ca->session);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* -x key=value (doveadm's auth_info). */
static int ctl_auth_info(struct ctl_auth *ca, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
	const char *v = eq != NULL ? eq + 1 : "";
	if (n == 3 && strncmp(kv, "rip", 3) == 0)
		set_str(&ca->rip, v);
	else if (n == 8 && strncmp(kv, "real_rip", 8) == 0)
		set_str(&ca->real_rip, v);
	else if (n == 7 && strncmp(kv, "service", 7) == 0)
		set_str(&ca->service, v);
	else if (n == 7 && strncmp(kv, "session", 7) == 0)
		set_str(&ca->session, v);
	else if (n == 7 && strncmp(kv, "secured", 7) == 0)
		ca->secured = true;
	else {
		fprintf(stderr, "stratusctl: unknown -x field '%s'\n", kv);
		return -1;
	}
	return 0;
}

static int ctl_auth_call(struct ctl_auth *ca, enum auth_method m,
			 const ProtobufCMessage *req, struct rpc_reply *r)
{
	Stratus__Context ctx = STRATUS__CONTEXT__INIT;
	ctx.client_ip = ca->rip;
	ctx.session = ca->session;
	ctx.service = (char *)"stratusctl";
	rpc_client_set_context(ca->client, &ctx);
	if (rpc_client_call_sync(ca->client, m, req, NULL, 0,
				 CTL_AUTH_TIMEOUT_MS, r) < 0) {
		fprintf(stderr, "stratusctl: svc-auth: %s (%s)%s\n",
			r->error != NULL ? r->error : "",
			rpc_status_name(r->status),
			r->status == STRATUS__STATUS__STATUS_UNAVAILABLE ?
			" - is stratus-auth running?" : "");
		int ret = r->status == STRATUS__STATUS__STATUS_TEMPFAIL ?
			  EX_TEMPFAIL : CTL_EXIT_FAILURE;
		rpc_reply_clear(r);
		return ret;
	}
	return 0;
}

static void print_fields(const char *indent, Stratus__AuthField **f,
			 size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s=%s\n", indent, f[i]->key, f[i]->value);
}

static int hex_decode(const char *hex, struct buf *out)
{
	size_t n = strlen(hex);
	if (n % 2 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned int c;
		if (sscanf(hex + i, "%2x", &c) != 1)
			return -1;
		buf_append_c(out, (char)c);
	}
	return 0;
}

/* ---- auth test ---- */

struct auth_test {
	const char *mech, *authzid;
	const char *raw[8];
	size_t n_raw;
};

/* Runs one exchange: responses are the raw ones given with -r, else
 * built from user/password for the mechanism. */
static int auth_test_run(struct ctl_auth *ca, const struct auth_test *at,
			 const char *user, const char *pass)
{
	struct buf steps[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	size_t n_steps = 0;
	if (at->n_raw > 0) {
		for (size_t i = 0; i < at->n_raw && i < 3; i++) {
			if (hex_decode(at->raw[i], &steps[n_steps++]) < 0) {
				fprintf(stderr, "stratusctl: bad hex in -r\n");
				return CTL_EXIT_USAGE;
			}
		}
	} else if (strcasecmp(at->mech, "LOGIN") == 0) {
		buf_append_str(&steps[n_steps++], user);
		buf_append_str(&steps[n_steps++], pass);
	} else {
		struct buf *b = &steps[n_steps++];
		buf_append_str(b, at->authzid != NULL ? at->authzid : "");
		buf_append_c(b, '\0');
		buf_append_str(b, user);
		buf_append_c(b, '\0');
		buf_append_str(b, pass);
	}
	uint64_t id = 0;
	int ret = EX_NOPERM;
	/* LOGIN starts without an initial response, as IMAP clients do. */
	bool login_first = at->n_raw == 0 && strcasecmp(at->mech, "LOGIN") == 0;
	size_t step = 0;
	for (int round = 0; round < 8; round++) {
		Stratus__SaslRequest req = STRATUS__SASL_REQUEST__INIT;
		struct rpc_reply r;
		req.mechanism = (char *)at->mech;
		req.sasl_id = id;
		req.protocol = ca->service;
		req.remote_ip = ca->real_rip;
		req.secured = ca->secured;
		if (!(round == 0 && login_first) && step < n_steps) {
			req.has_response = true;
			req.response.data = (uint8_t *)steps[step].data;
			req.response.len = steps[step].len;
			step++;
		}
		int cr = ctl_auth_call(ca, M_SASL, &req.base, &r);
		if (cr != 0) {
			ret = cr;
			break;
		}
		const Stratus__SaslReply *sr = (const void *)r.msg;
		if (sr->result == STRATUS__SASL_RESULT__SASL_CONTINUE &&
		    step < n_steps) {
			id = sr->sasl_id;
			rpc_reply_clear(&r);
			continue;
		}
		switch (sr->result) {
		case STRATUS__SASL_RESULT__SASL_SUCCESS:
			printf("passdb: %s auth succeeded\n", sr->user);
			printf("extra fields:\n  user=%s\n", sr->user);
			print_fields("  ", sr->passdb_fields,
				     sr->n_passdb_fields);
			print_fields("  userdb_", sr->userdb_fields,
				     sr->n_userdb_fields);
			ret = 0;
			break;
		case STRATUS__SASL_RESULT__SASL_TEMPFAIL:
			printf("passdb: %s auth failed temporarily: %s\n",
			       user, sr->reason);
			ret = EX_TEMPFAIL;
			break;
		default:
			printf("passdb: %s auth failed: %s\n", user,
			       sr->result == STRATUS__SASL_RESULT__SASL_CONTINUE
			       ? "exchange not finished" : sr->reason);
			ret = EX_NOPERM;
			break;
		}
		if (sr->delay_msecs > 0)
			printf("delay: %u ms\n", sr->delay_msecs);
		rpc_reply_clear(&r);
		break;
	}
	for (size_t i = 0; i < 3; i++)
		buf_free(&steps[i]);
	return ret;
}

static int ctl_auth_test(struct ctl_auth *ca, int argc, char **argv)
{
	struct auth_test at = { .mech = "PLAIN" };
	int i = 0;
	for (; i < argc && argv[i][0] == '-' && i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "-x") == 0) {
			if (ctl_auth_info(ca, v) < 0)
				return CTL_EXIT_USAGE;
		} else if (strcmp(o, "-m") == 0) {
			at.mech = v;
		} else if (strcmp(o, "-a") == 0) {
			at.authzid = v;
		} else if (strcmp(o, "-r") == 0 && at.n_raw < 3) {
			at.raw[at.n_raw++] = v;
		} else {
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc)
		return CTL_EXIT_USAGE;
	const char *user = argv[i];
	char *pass = NULL;
	if (i + 1 < argc) {
		pass = xstrdup(argv[i + 1]);
	} else if (at.n_raw == 0) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0) {
			free(line);
			return CTL_EXIT_USAGE;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		pass = line;
	}
	int r = auth_test_run(ca, &at, user, pass != NULL ? pass : "");
	free(pass);
	return r;
}

/* ---- user lookup / list ---- */

/* doveadm -f json's shape for a field/value table: one object per row. */
static void print_user_json(const Stratus__UserdbReply *ur)
{
	fputs("[{\"field\":\"user\",\"value\":", stdout);
	ctl_json_string(stdout, ur->user);
	fputc('}', stdout);
	for (size_t k = 0; k < ur->n_fields; k++) {
		if (strcmp(ur->fields[k]->key, "user") == 0)
			continue;
		fputs(",{\"field\":", stdout);
		ctl_json_string(stdout, ur->fields[k]->key);
		fputs(",\"value\":", stdout);
		ctl_json_string(stdout, ur->fields[k]->value);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

static bool is_user_mask(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

static int ctl_user_lookup(struct ctl_auth *ca, int argc, char **argv)
{
	int i = 0;
	for (; i + 1 < argc && strcmp(argv[i], "-x") == 0; i += 2) {
		if (ctl_auth_info(ca, argv[i + 1]) < 0)
			return CTL_EXIT_USAGE;
	}
	if (i >= argc)
		return CTL_EXIT_USAGE;
	Stratus__UserdbRequest req = STRATUS__USERDB_REQUEST__INIT;
	struct rpc_reply r;
	req.user = argv[i];
	req.protocol = ca->service;
	int cr = ctl_auth_call(ca, M_USERDB, &req.base, &r);
	if (cr != 0)
		return cr;
	const Stratus__UserdbReply *ur = (const void *)r.msg;
	int ret = 0;
	if (!ur->found) {
		fprintf(stderr, "userdb lookup: user %s doesn't exist\n",
			argv[i]);
		ret = EX_NOUSER;
	} else if (ca->json) {
		print_user_json(ur);
	} else {
		printf("field\tvalue\nuser\t%s\n", ur->user);
		for (size_t k = 0; k < ur->n_fields; k++) {
			if (strcmp(ur->fields[k]->key, "user") != 0)
				printf("%s\t%s\n", ur->fields[k]->key,
				       ur->fields[k]->value);
		}
	}
	rpc_reply_clear(&r);
	return ret;
}

/* auth lookup: doveadm's "passdb: USER" and its fields, indented. */
static int ctl_passdb_lookup(struct ctl_auth *ca, int argc, char **argv)
{
	int i = 0, ret = 0;
	for (; i + 1 < argc && strcmp(argv[i], "-x") == 0; i += 2) {
		if (ctl_auth_info(ca, argv[i + 1]) < 0)
			return CTL_EXIT_USAGE;
	}
	if (i >= argc)
		return CTL_EXIT_USAGE;
	if (ca->json)
		fputc('[', stdout);
	for (int n = 0; i < argc; i++, n++) {
		Stratus__UserdbRequest req = STRATUS__USERDB_REQUEST__INIT;
		struct rpc_reply r;
		req.user = argv[i];
		req.protocol = ca->service;
		int cr = ctl_auth_call(ca, M_PASSDBLOOKUP, &req.base, &r);
		if (cr != 0) {
			ret = cr;
			continue;
		}
		const Stratus__UserdbReply *ur = (const void *)r.msg;
		if (!ur->found) {
			fprintf(stderr, "passdb lookup: user %s doesn't "
				"exist\n", argv[i]);
			ret = EX_NOUSER;
		} else if (ca->json) {
			fputs(n > 0 ? ",{\"passdb\":" : "{\"passdb\":", stdout);
			ctl_json_string(stdout, ur->user);
			fputs(",\"fields\":{", stdout);
			for (size_t k = 0; k < ur->n_fields; k++) {
				fputs(k > 0 ? "," : "", stdout);
				ctl_json_string(stdout, ur->fields[k]->key);
				fputc(':', stdout);
				ctl_json_string(stdout, ur->fields[k]->value);
			}
			fputs("}}", stdout);
		} else {
			printf("passdb: %s\n  user      : %s\n", argv[i],
			       ur->user);
			for (size_t k = 0; k < ur->n_fields; k++)
				printf("  %-10s: %s\n", ur->fields[k]->key,
				       ur->fields[k]->value);
		}
		rpc_reply_clear(&r);
	}
	if (ca->json)
		fputs("]\n", stdout);
	return ret;
}

/* Every user svc-auth's userdbs list, filtered by a doveadm-style mask
 * ('*' and '?'). */
static int ctl_user_list(struct ctl_auth *ca, const char *mask)
{
	Stratus__UserListRequest req = STRATUS__USER_LIST_REQUEST__INIT;
	struct rpc_reply r;
	int cr = ctl_auth_call(ca, M_USERLIST, &req.base, &r);
	if (cr != 0)
		return cr;
	const Stratus__UserListReply *ur = (const void *)r.msg;
	bool first = true;
	if (ca->json)
		fputc('[', stdout);
	for (size_t i = 0; i < ur->n_users; i++) {
		if (fnmatch(mask, ur->users[i], 0) != 0)
			continue;
		if (!ca->json) {
			printf("%s\n", ur->users[i]);
			continue;
		}
		fputs(first ? "{\"user\":" : ",{\"user\":", stdout);
		ctl_json_string(stdout, ur->users[i]);
		fputc('}', stdout);
		first = false;
	}
	if (ca->json)
		fputs("]\n", stdout);
	if (ur->truncated)
		fprintf(stderr, "stratusctl: list truncated\n");
	rpc_reply_clear(&r);
	return 0;
}

/* ---- cache flush, connect, trust ---- */

static int ctl_cache_flush(struct ctl_auth *ca, const char *user)
{
	Stratus__CacheFlushRequest req = STRATUS__CACHE_FLUSH_REQUEST__INIT;
	struct rpc_reply r;
	req.user = (char *)(user != NULL ? user : "");
	int cr = ctl_auth_call(ca, M_CACHEFLUSH, &req.base, &r);
	if (cr != 0)
		return cr;
	printf("%u cache entries flushed\n",
	       ((const Stratus__CacheFlushReply *)r.msg)->flushed);
	rpc_reply_clear(&r);
	return 0;
}

static int ctl_connect(struct ctl_auth *ca, int argc, char **argv)
{
	int n = 1, i = 0;
	bool release = false;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (strcmp(argv[i], "-R") == 0)
			release = true;
		else
			return CTL_EXIT_USAGE;
	}
	if (argc - i != 3)
		return CTL_EXIT_USAGE;
	int refused = 0;
	for (int k = 0; k < n; k++) {
		Stratus__ConnectRequest req = STRATUS__CONNECT_REQUEST__INIT;
		struct rpc_reply r;
		req.user = argv[i];
		req.protocol = argv[i + 1];
		req.ip = argv[i + 2];
		req.release = release;
		int cr = ctl_auth_call(ca, M_CONNECT, &req.base, &r);
		if (cr != 0)
			return cr;
		const Stratus__ConnectReply *c = (const void *)r.msg;
		printf("%d %s count=%u limit=%u\n", k + 1, c->allowed ?
		       "allowed" : "refused", c->count, c->limit);
		refused += !c->allowed;
		rpc_reply_clear(&r);
	}
	return refused > 0 ? EX_NOPERM : 0;
}

static int ctl_trust(struct ctl_auth *ca, int argc, char **argv)
{
	if (argc < 1 || argc > 4)
		return CTL_EXIT_USAGE;
	Stratus__TrustRequest req = STRATUS__TRUST_REQUEST__INIT;
	struct rpc_reply r;
	req.ip = argv[0];
	req.protocol = ca->service;
	req.forwarded_ip = argc > 1 ? argv[1] : (char *)"";
	req.forwarded_port = argc > 2 ? (uint32_t)atoi(argv[2]) : 0;
	req.forwarded_session = argc > 3 ? argv[3] : (char *)"";
	int cr = ctl_auth_call(ca, M_TRUST, &req.base, &r);
	if (cr != 0)
		return cr;
	const Stratus__TrustReply *t = (const void *)r.msg;
	printf("trusted=%s client_ip=%s client_port=%u session=%s\n",
	       t->trusted ? "yes" : "no", t->client_ip, t->client_port,
	       t->session);
	rpc_reply_clear(&r);
	return 0;
}

/* ---- who ---- */

/* One output row: a user's sessions of one protocol. */
struct who_row {
	const char *user, *protocol;
	unsigned int count;
	const char **ips;
	size_t n_ips;
};

static struct who_row *who_row_get(struct who_row **rows, size_t *n,
				   const Stratus__WhoEntry *e)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*rows)[i].user, e->user) == 0 &&
		    strcmp((*rows)[i].protocol, e->protocol) == 0)
			return &(*rows)[i];
	}
	*rows = xreallocarray(*rows, *n + 1, sizeof(**rows));
	struct who_row *r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->user = e->user;
	r->protocol = e->protocol;
	return r;
}

static int who_row_cmp(const void *a, const void *b)
{
	const struct who_row *x = a, *y = b;
	int c = strcmp(x->user, y->user);
	return c != 0 ? c : strcmp(x->protocol, y->protocol);
}

static void who_print(const struct who_row *rows, size_t n, bool json)
{
	if (!json)
		printf("%-30s %3s %-12s %s\n", "username", "#", "proto",
		       "(ips)");
	else
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		const struct who_row *r = &rows[i];
		if (json) {
			fputs(i > 0 ? ",{\"username\":" : "{\"username\":",
			      stdout);
			ctl_json_string(stdout, r->user);
			printf(",\"connections\":%u,\"service\":", r->count);
			ctl_json_string(stdout, r->protocol);
			fputs(",\"ips\":[", stdout);
			for (size_t k = 0; k < r->n_ips; k++) {
				if (k > 0)
					fputc(',', stdout);
				ctl_json_string(stdout, r->ips[k]);
			}
			fputs("]}", stdout);
			continue;
		}
		printf("%-30s %3u %-12s (", r->user, r->count, r->protocol);
		for (size_t k = 0; k < r->n_ips; k++)
			printf("%s%s", k > 0 ? " " : "", r->ips[k]);
		printf(")\n");
	}
	if (json)
		fputs("]\n", stdout);
}

static int ctl_who(struct ctl_auth *ca, int argc, char **argv)
{
	if (argc > 1)
		return CTL_EXIT_USAGE;
	Stratus__WhoRequest req = STRATUS__WHO_REQUEST__INIT;
	struct rpc_reply r;
	req.user_mask = argc == 1 ? argv[0] : (char *)"";
	int cr = ctl_auth_call(ca, M_WHO, &req.base, &r);
	if (cr != 0)
		return cr;
	const Stratus__WhoReply *wr = (const void *)r.msg;
	struct who_row *rows = NULL;
	size_t n = 0;
	for (size_t i = 0; i < wr->n_entries; i++) {
		struct who_row *row = who_row_get(&rows, &n, wr->entries[i]);
		row->count += wr->entries[i]->count;
		row->ips = xreallocarray(row->ips, row->n_ips + 1,
					 sizeof(*row->ips));
		row->ips[row->n_ips++] = wr->entries[i]->ip;
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), who_row_cmp);
	who_print(rows, n, ca->json);
	for (size_t i = 0; i < n; i++)
		free(rows[i].ips);
	free(rows);
	rpc_reply_clear(&r);
	return 0;
}

int ctl_cmd_who(struct ctl_args *args)
{
	struct ctl_auth ca;
	bool json = ctl_take_flag(args, "--json");
	if (ctl_auth_open(&ca, args->config_path) < 0)
		return CTL_EXIT_FAILURE;
	ca.json = json;
	int r = ctl_who(&ca, args->argc, args->argv);
	ctl_auth_close(&ca);
	if (r == CTL_EXIT_USAGE)
		fputs("usage: stratusctl who [--json] [MASK]\n", stderr);
	return r;
}

static int ctl_auth_usage(void)
{
	fputs("usage: stratusctl user [--json] '*'|MASK | user [--json] "
	      "[-x k=v] USER\n"
	      "       stratusctl auth test [-x k=v] [-m MECH] [-a AUTHZID] "
	      "[-r HEX] USER [PASS]\n"
	      "       stratusctl auth lookup [--json] [-x k=v] USER...\n"
	      "       stratusctl auth cache flush [USER]\n"
	      "       stratusctl auth connect [-n N] [-R] USER PROTO IP\n"
	      "       stratusctl auth trust IP [FWD_IP [PORT [SESSION]]]\n",
	      stderr);
	return CTL_EXIT_USAGE;
}

int ctl_cmd_user(struct ctl_args *args)
{
	struct ctl_auth ca;
	bool json = ctl_take_flag(args, "--json");
	if (args->argc < 1)
		return ctl_auth_usage();
	if (ctl_auth_open(&ca, args->config_path) < 0)
		return CTL_EXIT_FAILURE;
	ca.json = json;
	int r = CTL_EXIT_USAGE;
	const char *first = args->argv[0];
	if (strcmp(first, "list") == 0 && args->argc == 1)
		r = ctl_user_list(&ca, "*");
	else if (args->argc == 1 && is_user_mask(first))
		r = ctl_user_list(&ca, first);
	else if (strcmp(first, "lookup") == 0)
		r = ctl_user_lookup(&ca, args->argc - 1, args->argv + 1);
	else
		r = ctl_user_lookup(&ca, args->argc, args->argv);
	ctl_auth_close(&ca);
	return r == CTL_EXIT_USAGE ? ctl_auth_usage() : r;
}

int ctl_cmd_auth(struct ctl_args *args)
{
	struct ctl_auth ca;
	bool json = ctl_take_flag(args, "--json");
	if (args->argc < 1)
		return ctl_auth_usage();
	if (ctl_auth_open(&ca, args->config_path) < 0)
		return CTL_EXIT_FAILURE;
	ca.json = json;
	int r = CTL_EXIT_USAGE, argc = args->argc - 1;
	char **argv = args->argv + 1;
	const char *sub = args->argv[0];
	if (strcmp(sub, "test") == 0)
		r = ctl_auth_test(&ca, argc, argv);
	else if (strcmp(sub, "cache") == 0 && argc >= 1 && argc <= 2 &&
		 strcmp(argv[0], "flush") == 0)
		r = ctl_cache_flush(&ca, argc == 2 ? argv[1] : NULL);
	else if (strcmp(sub, "lookup") == 0)
		r = ctl_passdb_lookup(&ca, argc, argv);
	else if (strcmp(sub, "connect") == 0)
		r = ctl_connect(&ca, argc, argv);
	else if (strcmp(sub, "trust") == 0)
		r = ctl_trust(&ca, argc, argv);
	ctl_auth_close(&ca);
	return r == CTL_EXIT_USAGE ? ctl_auth_usage() : r;
}
