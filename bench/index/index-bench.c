/* index-bench: svc-index measured through its own RPC socket, as the
 * protocol services use it (driven by bench/index/run.sh).
 *
 *   index-bench --socket PATH --user U --mailbox M MODE [options]
 *
 * Modes:
 *   append --count N [--batch B] [--inflight K] [--first SEQ]
 *       N messages in Append calls of B messages (B = 1 is what LMTP
 *       does), K calls in flight. Messages are generated and their
 *       cached fields computed with svc-lmtp's code while the calls are
 *       in flight; the time spent on that is reported as gen_seconds.
 *   store --count N [--inflight K]
 *       N Store calls of one random UID each (+FLAGS/-FLAGS \Seen or
 *       \Flagged, as IMAP clients do), K in flight. The UID list comes
 *       from a MailboxOpen made before the clock starts.
 *   open [--runs R] [--expect N] [--fetch F]
 *       R times MailboxOpen (EXAMINE: every UID) then MailboxStatus,
 *       one after the other; prints each run. --expect checks the
 *       message count. --fetch: then a Fetch of the last F messages'
 *       envelopes, timed apart (fetch_ms; after a cold open it loads
 *       their cached fields), each checked to have one.
 *
 * Every reply is checked; any error makes the exit status 1. Output on
 * stdout, one "summary key=value..." line per measurement. */
#include "index-gen.h"
#include "buf.h"
#include "loop.h"
#include "rpc.h"
#include "rpc-versions.h"
#include "index.pb-c.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IB_TIMEOUT_MS 120000
#define IB_MAX_COUNT 10000000u
#define IB_MAX_BATCH 500u
#define IB_MAX_INFLIGHT 256u

struct ib_opts {
	const char *socket_path, *user, *mailbox, *mode;
	unsigned int count, batch, inflight, runs, first, fetch;
	uint64_t expect, seed;
};

struct ib_bench {
	struct ib_opts o;
	struct loop *loop;
	struct rpc_client *client;
	int m_append, m_store, m_open, m_status, m_fetch;
	unsigned int started, finished, errors, records;
	uint32_t *uids;		/* store: the mailbox's UIDs */
	size_t n_uids;
	uint64_t rng;
	double gen_s;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Stratus__Context ib_context(struct ib_bench *ib)
{
	Stratus__Context ctx = STRATUS__CONTEXT__INIT;
	ctx.session = (char *)"index-bench";
	ctx.user = (char *)ib->o.user;
	ctx.client_ip = (char *)"127.0.0.1";
	ctx.service = (char *)"index-bench";
	return ctx;
}

static void ib_error(struct ib_bench *ib, const char *what,
		     const struct rpc_reply *reply)
{
	if (ib->errors++ < 5)
		fprintf(stderr, "%s: %s %s\n", what,
			rpc_status_name(reply->status),
			reply->error != NULL ? reply->error : "");
}

static void ib_next(struct ib_bench *ib);

static void ib_reply(const struct rpc_reply *reply, void *ctx)
{
	struct ib_bench *ib = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK)
		ib_error(ib, ib->o.mode, reply);
	ib->finished++;
	if (ib->finished == ib->started && ib->started == ib->o.count)
		loop_stop(ib->loop);
	else
		ib_next(ib);
}

static void ib_send_append(struct ib_bench *ib)
{
	unsigned int n = ib->o.batch;
	if (n > ib->o.count - ib->records)
		n = ib->o.count - ib->records;
	struct index_gen_msg *gm = xcalloc(n, sizeof(*gm));
	Stratus__IndexMessage *m = xcalloc(n, sizeof(*m));
	Stratus__IndexMessage **mp = xcalloc(n, sizeof(*mp));
	double t0 = now_s();
	for (unsigned int i = 0; i < n; i++) {
		if (index_gen_message(ib->o.seed, ib->o.first + ib->records + i,
				      &gm[i]) < 0) {
			fprintf(stderr, "cannot build a cache\n");
			exit(1);
		}
		stratus__index_message__init(&m[i]);
		m[i].object_id = gm[i].object_id;
		m[i].internal_date = gm[i].internal_date;
		m[i].physical_size = gm[i].physical_size;
		m[i].virtual_size = gm[i].virtual_size;
		m[i].cached = gm[i].cached.fields;
		m[i].n_cached = gm[i].cached.n_fields;
		mp[i] = &m[i];
	}
	ib->gen_s += now_s() - t0;
	Stratus__IndexAppendRequest req = STRATUS__INDEX_APPEND_REQUEST__INIT;
	req.user = (char *)ib->o.user;
	req.mailbox = (char *)ib->o.mailbox;
	req.messages = mp;
	req.n_messages = n;
	req.create = true;
	Stratus__Context ctx = ib_context(ib);
	/* packed inside the call: the request may live on the stack */
	rpc_client_call(ib->client, (uint32_t)ib->m_append, &ctx, &req.base,
			NULL, 0, IB_TIMEOUT_MS, ib_reply, ib);
	ib->records += n;
	for (unsigned int i = 0; i < n; i++)
		index_gen_free(&gm[i]);
	free(gm);
	free(m);
	free(mp);
}

static void ib_send_store(struct ib_bench *ib)
{
	static char *const seen[] = { (char *)"\\Seen" };
	static char *const flagged[] = { (char *)"\\Flagged" };
	uint64_t r = ib->rng = ib->rng * 6364136223846793005ull +
			       1442695040888963407ull;
	uint32_t uid = ib->uids[(r >> 33) % ib->n_uids];
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	range.first = uid;
	range.last = uid;
	Stratus__IndexStoreRequest req = STRATUS__INDEX_STORE_REQUEST__INIT;
	req.user = (char *)ib->o.user;
	req.mailbox = (char *)ib->o.mailbox;
	req.uids = &rp;
	req.n_uids = 1;
	req.mode = (r >> 20) & 1 ? STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD :
		   STRATUS__INDEX_STORE_MODE__INDEX_STORE_REMOVE;
	req.flags = (r >> 21) & 1 ? (char **)seen : (char **)flagged;
	req.n_flags = 1;
	Stratus__Context ctx = ib_context(ib);
	rpc_client_call(ib->client, (uint32_t)ib->m_store, &ctx, &req.base,
			NULL, 0, IB_TIMEOUT_MS, ib_reply, ib);
	ib->records++;
}

/* Keeps up to --inflight calls going until --count records are sent. */
static void ib_next(struct ib_bench *ib)
{
	bool append = strcmp(ib->o.mode, "append") == 0;
	while (ib->records < ib->o.count &&
	       ib->started - ib->finished < ib->o.inflight) {
		ib->started++;
		if (append)
			ib_send_append(ib);
		else
			ib_send_store(ib);
	}
	if (ib->records >= ib->o.count)
		ib->o.count = ib->started;	/* calls, from now on */
}

static int ib_open(struct ib_bench *ib, uint64_t *messages_r)
{
	Stratus__IndexOpenRequest oreq = STRATUS__INDEX_OPEN_REQUEST__INIT;
	oreq.user = (char *)ib->o.user;
	oreq.mailbox = (char *)ib->o.mailbox;
	oreq.readonly = true;
	struct rpc_reply reply;
	if (rpc_client_call_sync(ib->client, (uint32_t)ib->m_open, &oreq.base,
				 NULL, 0, IB_TIMEOUT_MS, &reply) < 0) {
		ib_error(ib, "open", &reply);
		rpc_reply_clear(&reply);
		return -1;
	}
	const Stratus__IndexOpenReply *r = (const void *)reply.msg;
	free(ib->uids);
	ib->n_uids = r->n_uids;
	ib->uids = xcalloc(r->n_uids + 1, sizeof(*ib->uids));
	memcpy(ib->uids, r->uids, r->n_uids * sizeof(*ib->uids));
	rpc_reply_clear(&reply);

	Stratus__IndexMailboxRequest sreq = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	sreq.user = (char *)ib->o.user;
	sreq.mailbox = (char *)ib->o.mailbox;
	if (rpc_client_call_sync(ib->client, (uint32_t)ib->m_status,
				 &sreq.base, NULL, 0, IB_TIMEOUT_MS,
				 &reply) < 0) {
		ib_error(ib, "status", &reply);
		rpc_reply_clear(&reply);
		return -1;
	}
	const Stratus__IndexMailboxStatusReply *s = (const void *)reply.msg;
	*messages_r = s->status != NULL ? s->status->messages : 0;
	rpc_reply_clear(&reply);
	return 0;
}

/* The envelopes of the last o.fetch UIDs, each checked present. */
static int ib_fetch_last(struct ib_bench *ib)
{
	if (ib->n_uids == 0)
		return 0;
	size_t n = ib->o.fetch < ib->n_uids ? ib->o.fetch : ib->n_uids;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	range.first = ib->uids[ib->n_uids - n];
	range.last = ib->uids[ib->n_uids - 1];
	char *fields[] = { (char *)"envelope" };
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = (char *)ib->o.user;
	req.mailbox = (char *)ib->o.mailbox;
	req.uids = &rp;
	req.n_uids = 1;
	req.fields = fields;
	req.n_fields = 1;
	struct rpc_reply reply;
	if (rpc_client_call_sync(ib->client, (uint32_t)ib->m_fetch, &req.base,
				 NULL, 0, IB_TIMEOUT_MS, &reply) < 0) {
		ib_error(ib, "fetch", &reply);
		rpc_reply_clear(&reply);
		return -1;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply.msg;
	int ret = r->n_messages == n ? 0 : -1;
	for (size_t i = 0; i < r->n_messages && ret == 0; i++) {
		if (r->messages[i]->n_cached != 1 ||
		    r->messages[i]->cached[0]->value.len == 0)
			ret = -1;
	}
	if (ret < 0)
		fprintf(stderr, "fetch: %zu messages, expected %zu, each with "
			"an envelope\n", r->n_messages, n);
	rpc_reply_clear(&reply);
	return ret;
}

static int ib_run_open(struct ib_bench *ib)
{
	for (unsigned int run = 1; run <= ib->o.runs; run++) {
		uint64_t messages = 0;
		double t0 = now_s();
		if (ib_open(ib, &messages) < 0)
			return 1;
		double t = now_s() - t0;
		if (ib->o.expect != 0 && messages != ib->o.expect) {
			fprintf(stderr, "status: %llu messages, expected %llu\n",
				(unsigned long long)messages,
				(unsigned long long)ib->o.expect);
			return 1;
		}
		double tf = 0;
		if (ib->o.fetch > 0) {
			double t1 = now_s();
			if (ib_fetch_last(ib) < 0)
				return 1;
			tf = now_s() - t1;
		}
		printf("summary mode=open run=%u messages=%llu uids=%zu "
		       "ms=%.2f fetch_ms=%.2f\n", run,
		       (unsigned long long)messages, ib->n_uids, t * 1000,
		       tf * 1000);
	}
	return 0;
}

static int ib_run_calls(struct ib_bench *ib)
{
	if (strcmp(ib->o.mode, "store") == 0) {
		uint64_t messages;
		if (ib_open(ib, &messages) < 0)
			return 1;
		if (ib->n_uids == 0) {
			fprintf(stderr, "store: the mailbox is empty\n");
			return 1;
		}
	}
	unsigned int records = ib->o.count;
	double t0 = now_s();
	ib_next(ib);
	if (loop_run(ib->loop) < 0)
		return 1;
	double t = now_s() - t0;
	printf("summary mode=%s records=%u calls=%u seconds=%.3f "
	       "rate=%.0f gen_seconds=%.3f errors=%u\n", ib->o.mode, records,
	       ib->finished, t, records / t, ib->gen_s, ib->errors);
	return ib->errors == 0 ? 0 : 1;
}

static void ib_usage(void)
{
	fprintf(stderr, "usage: index-bench --socket PATH --user U --mailbox M "
		"append|store|open [--count N] [--batch B] [--inflight K] "
		"[--first SEQ] [--runs R] [--expect N] [--seed S] "
		"[--fetch F]\n");
	exit(2);
}

static unsigned int ib_uint(const char *s, unsigned int max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max)
		ib_usage();
	return (unsigned int)v;
}

static void ib_parse(int argc, char **argv, struct ib_opts *o)
{
	static const struct option opts[] = {
		{ "socket", 1, NULL, 's' }, { "user", 1, NULL, 'u' },
		{ "mailbox", 1, NULL, 'm' }, { "count", 1, NULL, 'n' },
		{ "batch", 1, NULL, 'b' }, { "inflight", 1, NULL, 'k' },
		{ "first", 1, NULL, 'f' }, { "runs", 1, NULL, 'r' },
		{ "expect", 1, NULL, 'e' }, { "seed", 1, NULL, 'S' },
		{ "fetch", 1, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	*o = (struct ib_opts){ .mailbox = "INBOX", .count = 1000, .batch = 1,
			       .inflight = 16, .runs = 1, .seed = 1 };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket_path = optarg; break;
		case 'u': o->user = optarg; break;
		case 'm': o->mailbox = optarg; break;
		case 'n': o->count = ib_uint(optarg, IB_MAX_COUNT); break;
		case 'b': o->batch = ib_uint(optarg, IB_MAX_BATCH); break;
		case 'k': o->inflight = ib_uint(optarg, IB_MAX_INFLIGHT); break;
		case 'f': o->first = ib_uint(optarg, IB_MAX_COUNT); break;
		case 'r': o->runs = ib_uint(optarg, 100); break;
		case 'e': o->expect = ib_uint(optarg, IB_MAX_COUNT); break;
		case 'S': o->seed = ib_uint(optarg, 1000000); break;
		case 'F': o->fetch = ib_uint(optarg, 1000); break;
		default: ib_usage();
		}
	}
	if (optind != argc - 1 || o->socket_path == NULL || o->user == NULL ||
	    o->count == 0 || o->batch == 0 || o->inflight == 0)
		ib_usage();
	o->mode = argv[optind];
	if (strcmp(o->mode, "append") != 0 && strcmp(o->mode, "store") != 0 &&
	    strcmp(o->mode, "open") != 0)
		ib_usage();
}

int main(int argc, char **argv)
{
	struct ib_bench ib = { 0 };
	ib_parse(argc, argv, &ib.o);
	ib.rng = ib.o.seed * 2654435761u + 1;
	ib.loop = loop_new();
	ib.client = rpc_client_new(ib.loop, ib.o.socket_path,
				   &stratus__index__descriptor,
				   INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	const ProtobufCServiceDescriptor *d = &stratus__index__descriptor;
	ib.m_append = rpc_method_index(d, "Append");
	ib.m_store = rpc_method_index(d, "Store");
	ib.m_open = rpc_method_index(d, "MailboxOpen");
	ib.m_status = rpc_method_index(d, "MailboxStatus");
	ib.m_fetch = rpc_method_index(d, "Fetch");
	if (ib.m_append < 0 || ib.m_store < 0 || ib.m_open < 0 ||
	    ib.m_status < 0 || ib.m_fetch < 0) {
		fprintf(stderr, "index.proto lacks a method\n");
		return 1;
	}
	Stratus__Context ctx = ib_context(&ib);
	rpc_client_set_context(ib.client, &ctx);
	int ret = strcmp(ib.o.mode, "open") == 0 ? ib_run_open(&ib) :
		  ib_run_calls(&ib);
	rpc_client_free(&ib.client);
	loop_free(&ib.loop);
	free(ib.uids);
	return ret;
}
