/* Unit tests of svc-index through its real RPC: two client connections
 * act as two sessions of one user (IMAP + LMTP); a Wait parked by one
 * completes as soon as the other appends, stores or expunges; mailbox
 * operations, flags with UNCHANGEDSINCE, copy/move, fetch, search and
 * LIST behave as the contract in proto/index.proto says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "index-test.h"
#include "index-rpc.h"
#include "rpc-versions.h"
#include "service.h"
#include "index.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	M_LIST, M_CREATE, M_DELETE, M_RENAME, M_SUBSCRIBE, M_STATUS, M_OPEN,
	M_APPEND, M_STORE, M_EXPUNGE, M_COPY, M_FETCH, M_SEARCH, M_WAIT,
	M_WAIT_USER = 18,
};

struct rpc_fixture {
	struct index_test *t;
	struct service service;
	struct rpc_server *server;
	int listen_fd;
	char *path;
	struct rpc_client *a, *b;
};

static struct rpc_fixture *fixture_new(void)
{
	struct rpc_fixture *f = xcalloc(1, sizeof(*f));
	f->t = index_test_new("");
	f->service.ctx = f->t->svc;
	f->service.loop = f->t->loop;
	f->server = rpc_server_new(f->t->loop, &stratus__index__descriptor,
				   INDEX_RPC_MAJOR, INDEX_RPC_MINOR,
				   index_rpc_handlers, INDEX_RPC_N_HANDLERS,
				   &f->service);
	f->path = xasprintf("%s/index.sock", f->t->dir);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f->listen_fd, (void *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->listen_fd, 16), 0);
	assert_int_equal(rpc_server_listen(f->server, f->listen_fd), 0);
	f->a = rpc_client_new(f->t->loop, f->path, &stratus__index__descriptor,
			      INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	f->b = rpc_client_new(f->t->loop, f->path, &stratus__index__descriptor,
			      INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	return f;
}

static void fixture_free(struct rpc_fixture *f)
{
	rpc_client_free(&f->a);
	rpc_client_free(&f->b);
	rpc_server_free(&f->server);
	close(f->listen_fd);
	free(f->path);
	index_test_free(f->t);
	free(f);
}

/* A synchronous call expected to succeed; returns the reply message. */
static ProtobufCMessage *call_ok(struct rpc_client *c, uint32_t method,
				 const ProtobufCMessage *req,
				 struct rpc_reply *reply)
{
	int ret = rpc_client_call_sync(c, method, req, NULL, 0, 5000, reply);
	if (ret < 0)
		fail_msg("call %u failed: %s %s", method,
			 rpc_status_name(reply->status),
			 reply->error != NULL ? reply->error : "");
	return reply->msg;
}

static Stratus__Status call_status(struct rpc_client *c, uint32_t method,
				   const ProtobufCMessage *req)
{
	struct rpc_reply reply;
	(void)rpc_client_call_sync(c, method, req, NULL, 0, 5000, &reply);
	Stratus__Status st = reply.status;
	rpc_reply_clear(&reply);
	return st;
}

static uint32_t append_one(struct rpc_client *c, const char *mailbox,
			   const char *flag, const char *subject)
{
	Stratus__IndexAppendRequest req = STRATUS__INDEX_APPEND_REQUEST__INIT;
	Stratus__IndexMessage m = STRATUS__INDEX_MESSAGE__INIT;
	Stratus__IndexMessage *mp = &m;
	Stratus__IndexCachedField cf = STRATUS__INDEX_CACHED_FIELD__INIT;
	Stratus__IndexCachedField *cfp = &cf;
	char *flags[] = { (char *)flag };
	req.user = (char *)"alice";
	req.mailbox = (char *)mailbox;
	req.messages = &mp;
	req.n_messages = 1;
	m.object_id = (char *)"obj-1";
	m.physical_size = 1000;
	m.virtual_size = 1020;
	m.flags = flags;
	m.n_flags = flag != NULL ? 1 : 0;
	cf.name = (char *)"hdr.subject";
	cf.value.data = (uint8_t *)subject;
	cf.value.len = strlen(subject);
	m.cached = &cfp;
	m.n_cached = 1;
	struct rpc_reply reply;
	const Stratus__IndexAppendReply *r =
		(const void *)call_ok(c, M_APPEND, &req.base, &reply);
	assert_int_equal(r->n_uids, 1);
	assert_true(r->uidvalidity != 0);
	uint32_t uid = r->uids[0];
	rpc_reply_clear(&reply);
	return uid;
}

struct wait_result {
	bool done;
	Stratus__IndexWaitReply *reply;
};

static void wait_cb(const struct rpc_reply *reply, void *ctx)
{
	struct wait_result *w = ctx;
	w->done = true;
	assert_int_equal(reply->status, STRATUS__STATUS__STATUS_OK);
	w->reply = (void *)protobuf_c_message_unpack(
		&stratus__index_wait_reply__descriptor, NULL, 0, NULL);
	/* keep our own copy: the reply is freed after the callback */
	size_t len = protobuf_c_message_get_packed_size(reply->msg);
	uint8_t *buf = xmalloc(len + 1);
	protobuf_c_message_pack(reply->msg, buf);
	stratus__index_wait_reply__free_unpacked(w->reply, NULL);
	w->reply = stratus__index_wait_reply__unpack(NULL, len, buf);
	free(buf);
}

static void start_wait(struct rpc_fixture *f, uint64_t modseq,
		       uint32_t uidnext, struct wait_result *w)
{
	Stratus__IndexWaitRequest req = STRATUS__INDEX_WAIT_REQUEST__INIT;
	req.user = (char *)"alice";
	req.mailbox = (char *)"INBOX";
	req.since_modseq = modseq;
	req.since_uidnext = uidnext;
	req.timeout_ms = 10000;
	memset(w, 0, sizeof(*w));
	rpc_client_call(f->a, M_WAIT, NULL, &req.base, NULL, 0, 15000,
			wait_cb, w);
	/* let the wait reach the server and park */
	for (int i = 0; i < 20; i++)
		loop_run_once(f->t->loop, 5);
	assert_false(w->done);
}

static void run_until(struct rpc_fixture *f, bool *done)
{
	uint64_t start = monotonic_ms();
	while (!*done && monotonic_ms() - start < 5000)
		loop_run_once(f->t->loop, 50);
	assert_true(*done);
}

/* Session A idles; session B appends, flags, expunges: A hears each at
 * once (well under the 10 s wait timeout). */
static void test_wait_sees_other_session(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	uint32_t uid1 = append_one(f->b, "INBOX", NULL, "first");
	Stratus__IndexOpenRequest oreq = STRATUS__INDEX_OPEN_REQUEST__INIT;
	oreq.user = (char *)"alice";
	oreq.mailbox = (char *)"INBOX";
	struct rpc_reply reply;
	const Stratus__IndexOpenReply *open =
		(const void *)call_ok(f->a, M_OPEN, &oreq.base, &reply);
	uint64_t modseq = open->status->highest_modseq;
	uint32_t uidnext = open->status->uidnext;
	assert_int_equal(open->n_uids, 1);
	assert_int_equal(open->n_recent_uids, 1);	/* A claimed \Recent */
	rpc_reply_clear(&reply);

	struct wait_result w;
	start_wait(f, modseq, uidnext, &w);
	uint64_t t0 = monotonic_ms();
	uint32_t uid2 = append_one(f->b, "INBOX", "\\Flagged", "second");
	run_until(f, &w.done);
	assert_true(monotonic_ms() - t0 < 1000);
	assert_int_equal(w.reply->n_appended, 1);
	assert_int_equal(w.reply->appended[0]->uid, uid2);
	assert_string_equal(w.reply->appended[0]->flags[0], "\\Flagged");
	modseq = w.reply->highest_modseq;
	uidnext = w.reply->uidnext;
	stratus__index_wait_reply__free_unpacked(w.reply, NULL);

	/* B sets \Seen on uid1: A sees a flag change */
	start_wait(f, modseq, uidnext, &w);
	Stratus__IndexStoreRequest sreq = STRATUS__INDEX_STORE_REQUEST__INIT;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	char *seen[] = { (char *)"\\Seen" };
	range.first = range.last = uid1;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"INBOX";
	sreq.uids = &rp;
	sreq.n_uids = 1;
	sreq.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD;
	sreq.flags = seen;
	sreq.n_flags = 1;
	call_ok(f->b, M_STORE, &sreq.base, &reply);
	rpc_reply_clear(&reply);
	run_until(f, &w.done);
	assert_int_equal(w.reply->n_flag_changes, 1);
	assert_int_equal(w.reply->flag_changes[0]->uid, uid1);
	modseq = w.reply->highest_modseq;
	stratus__index_wait_reply__free_unpacked(w.reply, NULL);

	/* B expunges uid2: A sees the expunge */
	start_wait(f, modseq, uidnext, &w);
	Stratus__IndexExpungeRequest ereq = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	range.first = range.last = uid2;
	ereq.user = (char *)"alice";
	ereq.mailbox = (char *)"INBOX";
	ereq.uids = &rp;
	ereq.n_uids = 1;
	const Stratus__IndexExpungeReply *er =
		(const void *)call_ok(f->b, M_EXPUNGE, &ereq.base, &reply);
	assert_int_equal(er->n_expunged, 1);
	rpc_reply_clear(&reply);
	run_until(f, &w.done);
	assert_int_equal(w.reply->n_expunged, 1);
	assert_int_equal(w.reply->expunged[0], uid2);
	stratus__index_wait_reply__free_unpacked(w.reply, NULL);
	fixture_free(f);
}

struct wait_user_result {
	bool done;
	uint64_t change;
};

static void wait_user_cb(const struct rpc_reply *reply, void *ctx)
{
	struct wait_user_result *w = ctx;
	w->done = true;
	assert_int_equal(reply->status, STRATUS__STATUS__STATUS_OK);
	w->change = ((const Stratus__IndexWaitUserReply *)reply->msg)->change;
}

static void start_wait_user(struct rpc_fixture *f, uint64_t since,
			    struct wait_user_result *w)
{
	Stratus__IndexWaitUserRequest req =
		STRATUS__INDEX_WAIT_USER_REQUEST__INIT;
	req.user = (char *)"alice";
	req.since_change = since;
	req.timeout_ms = 10000;
	memset(w, 0, sizeof(*w));
	rpc_client_call(f->a, M_WAIT_USER, NULL, &req.base, NULL, 0, 15000,
			wait_user_cb, w);
	for (int i = 0; i < 20; i++)
		loop_run_once(f->t->loop, 5);
}

/* WaitUser (NOTIFY): 0 answers at once with the counter; a parked call
 * wakes on another session's append to any mailbox, and on a mailbox
 * created or a subscription; an older counter answers at once. */
static void test_wait_user(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	struct wait_user_result w;
	start_wait_user(f, 0, &w);
	run_until(f, &w.done);
	uint64_t c0 = w.change;
	assert_true(c0 != 0);
	start_wait_user(f, c0, &w);
	assert_false(w.done);
	uint64_t t0 = monotonic_ms();
	append_one(f->b, "INBOX", NULL, "one");
	run_until(f, &w.done);
	assert_true(monotonic_ms() - t0 < 1000);
	uint64_t c1 = w.change;
	assert_true(c1 != c0);

	start_wait_user(f, c1, &w);
	assert_false(w.done);
	Stratus__IndexMailboxCreateRequest creq =
		STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
	creq.user = (char *)"alice";
	creq.mailbox = (char *)"Other";
	struct rpc_reply reply;
	call_ok(f->b, M_CREATE, &creq.base, &reply);
	rpc_reply_clear(&reply);
	run_until(f, &w.done);
	uint64_t c2 = w.change;
	assert_true(c2 != c1);

	start_wait_user(f, c2, &w);
	assert_false(w.done);
	Stratus__IndexSubscribeRequest sreq =
		STRATUS__INDEX_SUBSCRIBE_REQUEST__INIT;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"Other";
	sreq.subscribe = true;
	call_ok(f->b, M_SUBSCRIBE, &sreq.base, &reply);
	rpc_reply_clear(&reply);
	run_until(f, &w.done);
	assert_true(w.change != c2);

	start_wait_user(f, c0, &w);	/* an old counter: at once */
	run_until(f, &w.done);
	assert_int_equal(w.change, index_user_lookup(f->t->svc, "alice")->change);
	fixture_free(f);
}

static Stratus__IndexWaitReply *wait_now(struct rpc_fixture *f, uint64_t since,
					 bool partial, struct rpc_reply *reply)
{
	Stratus__IndexWaitRequest req = STRATUS__INDEX_WAIT_REQUEST__INIT;
	req.user = (char *)"alice";
	req.mailbox = (char *)"INBOX";
	req.since_modseq = since;
	req.since_uidnext = UINT32_MAX;
	req.partial_history = partial;
	return (void *)call_ok(f->a, M_WAIT, &req.base, reply);
}

/* A Wait from before the kept expunge history: resync, unless the caller
 * (QRESYNC) takes the changes with history_partial. */
static void test_wait_partial_history(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	uint32_t uid1 = append_one(f->b, "INBOX", NULL, "one");
	uint32_t uid2 = append_one(f->b, "INBOX", NULL, "two");
	append_one(f->b, "INBOX", NULL, "three");
	struct rpc_reply reply;
	Stratus__IndexWaitReply *w = wait_now(f, 0, false, &reply);
	uint64_t since = w->highest_modseq;
	rpc_reply_clear(&reply);

	Stratus__IndexStoreRequest sreq = STRATUS__INDEX_STORE_REQUEST__INIT;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	char *seen[] = { (char *)"\\Seen" };
	range.first = range.last = uid1;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"INBOX";
	sreq.uids = &rp;
	sreq.n_uids = 1;
	sreq.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD;
	sreq.flags = seen;
	sreq.n_flags = 1;
	call_ok(f->b, M_STORE, &sreq.base, &reply);
	rpc_reply_clear(&reply);
	Stratus__IndexExpungeRequest ereq = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	range.first = range.last = uid2;
	ereq.user = (char *)"alice";
	ereq.mailbox = (char *)"INBOX";
	ereq.uids = &rp;
	ereq.n_uids = 1;
	call_ok(f->b, M_EXPUNGE, &ereq.base, &reply);
	rpc_reply_clear(&reply);

	/* The history is trimmed past `since` (as 100,000 expunges do). */
	struct index_mailbox *box =
		index_user_find_box(index_test_user(f->t, "alice"), "INBOX");
	assert_non_null(box);
	box->tomb_floor = box->highest_modseq;

	w = wait_now(f, since, false, &reply);
	assert_true(w->resync);
	assert_false(w->history_partial);
	assert_int_equal(w->n_flag_changes, 0);
	rpc_reply_clear(&reply);

	w = wait_now(f, since, true, &reply);
	assert_false(w->resync);
	assert_true(w->history_partial);
	assert_int_equal(w->n_flag_changes, 1);
	assert_int_equal(w->flag_changes[0]->uid, uid1);
	rpc_reply_clear(&reply);

	/* From within the history: complete, not partial. */
	w = wait_now(f, box->highest_modseq, true, &reply);
	assert_false(w->resync);
	assert_false(w->history_partial);
	rpc_reply_clear(&reply);
	fixture_free(f);
}

/* UNCHANGEDSINCE refuses a message changed after the given modseq. */
static void test_store_unchanged_since(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	uint32_t uid = append_one(f->a, "INBOX", NULL, "x");
	Stratus__IndexStoreRequest sreq = STRATUS__INDEX_STORE_REQUEST__INIT;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	char *flags[] = { (char *)"\\Answered", (char *)"$Label1" };
	range.first = uid;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"INBOX";
	sreq.uids = &rp;
	sreq.n_uids = 1;
	sreq.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_REPLACE;
	sreq.flags = flags;
	sreq.n_flags = 2;
	struct rpc_reply reply;
	const Stratus__IndexStoreReply *r =
		(const void *)call_ok(f->a, M_STORE, &sreq.base, &reply);
	assert_int_equal(r->n_updated, 1);
	uint64_t ms = r->updated[0]->modseq;
	assert_int_equal(r->updated[0]->n_flags, 2);
	rpc_reply_clear(&reply);
	sreq.unchanged_since = ms - 1;
	r = (const void *)call_ok(f->a, M_STORE, &sreq.base, &reply);
	assert_int_equal(r->n_modified, 1);
	assert_int_equal(r->n_updated, 0);
	rpc_reply_clear(&reply);
	char *bad[] = { (char *)"\\Recent" };
	sreq.flags = bad;
	sreq.n_flags = 1;
	sreq.unchanged_since = 0;
	assert_int_equal(call_status(f->a, M_STORE, &sreq.base),
			 STRATUS__STATUS__STATUS_INVALID);
	fixture_free(f);
}

/* UID sets as IMAP sends them: overlapping, reversed, "*", gaps from
 * expunged UIDs; each matching message is changed once. */
static void test_store_uid_sets(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	for (int i = 0; i < 10; i++)
		append_one(f->a, "INBOX", NULL, "x");	/* UIDs 1..10 */
	Stratus__IndexUidRange r1 = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange r2 = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange r3 = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rs[] = { &r1, &r2, &r3 };
	r1.first = 4;		/* 4:2, reversed */
	r1.last = 2;
	r2.first = 3;		/* 3:5 overlaps it */
	r2.last = 5;
	r3.first = 9;		/* 9:* */
	r3.last = 0;
	char *flags[] = { (char *)"\\Flagged" };
	Stratus__IndexStoreRequest sreq = STRATUS__INDEX_STORE_REQUEST__INIT;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"INBOX";
	sreq.uids = rs;
	sreq.n_uids = 3;
	sreq.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD;
	sreq.flags = flags;
	sreq.n_flags = 1;
	struct rpc_reply reply;
	const Stratus__IndexStoreReply *r =
		(const void *)call_ok(f->a, M_STORE, &sreq.base, &reply);
	static const uint32_t want[] = { 2, 3, 4, 5, 9, 10 };
	assert_int_equal(r->n_updated, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(r->updated[i]->uid, want[i]);
	rpc_reply_clear(&reply);
	/* Again: nothing changes, nothing is reported. */
	r = (const void *)call_ok(f->a, M_STORE, &sreq.base, &reply);
	assert_int_equal(r->n_updated, 0);
	rpc_reply_clear(&reply);
	/* A set past the last UID matches nothing. */
	r1.first = 50;
	r1.last = 60;
	sreq.n_uids = 1;
	sreq.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_REMOVE;
	r = (const void *)call_ok(f->a, M_STORE, &sreq.base, &reply);
	assert_int_equal(r->n_updated, 0);
	rpc_reply_clear(&reply);
	/* 1:4294967295 takes every message that has the flag. */
	r1.first = 1;
	r1.last = UINT32_MAX;
	r = (const void *)call_ok(f->a, M_STORE, &sreq.base, &reply);
	assert_int_equal(r->n_updated, 6);
	rpc_reply_clear(&reply);
	fixture_free(f);
}

static void test_mailbox_ops_and_list(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	Stratus__IndexMailboxCreateRequest creq =
		STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
	creq.user = (char *)"alice";
	struct rpc_reply reply;
	static const char *const names[] = { "a/b/c", "a/d", "Archive" };
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		creq.mailbox = (char *)names[i];
		call_ok(f->a, M_CREATE, &creq.base, &reply);
		rpc_reply_clear(&reply);
	}
	creq.mailbox = (char *)"a/d";
	assert_int_equal(call_status(f->a, M_CREATE, &creq.base),
			 STRATUS__STATUS__STATUS_EXISTS);
	static const char *const bad[] = { "a//b", "/x", "a/../b", "&Jjo",
					   "&AGE-", "x\001", "a*" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		creq.mailbox = (char *)bad[i];
		assert_int_equal(call_status(f->a, M_CREATE, &creq.base),
				 STRATUS__STATUS__STATUS_INVALID);
	}
	creq.mailbox = (char *)"&Jjo-";	/* valid mUTF-7 */
	call_ok(f->a, M_CREATE, &creq.base, &reply);
	rpc_reply_clear(&reply);

	/* LIST "" "%": a is a \NonExistent parent with children */
	Stratus__IndexListRequest lreq = STRATUS__INDEX_LIST_REQUEST__INIT;
	char *pat[] = { (char *)"%" };
	lreq.user = (char *)"alice";
	lreq.patterns = pat;
	lreq.n_patterns = 1;
	const Stratus__IndexListReply *l =
		(const void *)call_ok(f->a, M_LIST, &lreq.base, &reply);
	bool saw_a = false, saw_sent = false, saw_inbox = false;
	for (size_t i = 0; i < l->n_entries; i++) {
		const Stratus__IndexListEntry *e = l->entries[i];
		if (strcmp(e->name, "a") == 0) {
			saw_a = true;
			assert_true(e->has_children);
		}
		if (strcmp(e->name, "Sent") == 0) {
			saw_sent = true;
			assert_true(e->subscribed);	/* auto = subscribe */
			assert_string_equal(e->special_use[0], "\\Sent");
		}
		if (strcmp(e->name, "INBOX") == 0)
			saw_inbox = true;
		assert_null(strchr(e->name, '/'));
	}
	assert_true(saw_a && saw_sent && saw_inbox);
	assert_string_equal(l->separator, "/");
	rpc_reply_clear(&reply);

	/* rename a hierarchy; delete refuses parents and auto boxes */
	Stratus__IndexMailboxRenameRequest rreq =
		STRATUS__INDEX_MAILBOX_RENAME_REQUEST__INIT;
	rreq.user = (char *)"alice";
	rreq.mailbox = (char *)"nothing";
	rreq.new_name = (char *)"z";
	assert_int_equal(call_status(f->a, M_RENAME, &rreq.base),
			 STRATUS__STATUS__STATUS_NOT_FOUND);
	/* "a" is only a parent: its children move */
	rreq.mailbox = (char *)"a";
	rreq.new_name = (char *)"y";
	call_ok(f->a, M_RENAME, &rreq.base, &reply);
	rpc_reply_clear(&reply);
	rreq.mailbox = (char *)"y/b";
	rreq.new_name = (char *)"z";
	call_ok(f->a, M_RENAME, &rreq.base, &reply);
	rpc_reply_clear(&reply);
	rreq.mailbox = (char *)"y";
	rreq.new_name = (char *)"y/d/e";	/* under itself */
	assert_int_equal(call_status(f->a, M_RENAME, &rreq.base),
			 STRATUS__STATUS__STATUS_INVALID);
	Stratus__IndexMailboxRequest sreq = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"z/c";
	call_ok(f->a, M_STATUS, &sreq.base, &reply);
	rpc_reply_clear(&reply);
	sreq.mailbox = (char *)"y/d";
	call_ok(f->a, M_STATUS, &sreq.base, &reply);
	rpc_reply_clear(&reply);
	sreq.mailbox = (char *)"z";	/* only a parent */
	assert_int_equal(call_status(f->a, M_DELETE, &sreq.base),
			 STRATUS__STATUS__STATUS_NOT_FOUND);
	sreq.mailbox = (char *)"Archive";
	creq.mailbox = (char *)"Archive/2024";
	call_ok(f->a, M_CREATE, &creq.base, &reply);
	rpc_reply_clear(&reply);
	assert_int_equal(call_status(f->a, M_DELETE, &sreq.base),
			 STRATUS__STATUS__STATUS_DENIED);	/* has children */
	sreq.mailbox = (char *)"Trash";
	assert_int_equal(call_status(f->a, M_DELETE, &sreq.base),
			 STRATUS__STATUS__STATUS_DENIED);
	sreq.mailbox = (char *)"z/c";
	call_ok(f->a, M_DELETE, &sreq.base, &reply);
	rpc_reply_clear(&reply);

	/* INBOX rename moves the messages, INBOX stays empty */
	append_one(f->a, "inbox", NULL, "m1");
	append_one(f->a, "INBOX", NULL, "m2");
	rreq.mailbox = (char *)"INBOX";
	rreq.new_name = (char *)"Old";
	call_ok(f->a, M_RENAME, &rreq.base, &reply);
	rpc_reply_clear(&reply);
	sreq.mailbox = (char *)"Old";
	const Stratus__IndexMailboxStatusReply *st =
		(const void *)call_ok(f->a, M_STATUS, &sreq.base, &reply);
	assert_int_equal(st->status->messages, 2);
	assert_int_equal(st->status->unseen, 2);
	assert_int_equal(st->status->vsize, 2040);
	rpc_reply_clear(&reply);
	sreq.mailbox = (char *)"INBOX";
	st = (const void *)call_ok(f->a, M_STATUS, &sreq.base, &reply);
	assert_int_equal(st->status->messages, 0);
	rpc_reply_clear(&reply);
	fixture_free(f);
}

static void test_copy_move_fetch_search(void **state)
{
	(void)state;
	struct rpc_fixture *f = fixture_new();
	append_one(f->a, "INBOX", "\\Seen", "Meeting today");
	append_one(f->a, "INBOX", NULL, "Lunch");
	append_one(f->a, "INBOX", "$Work", "Meeting tomorrow");
	struct rpc_reply reply;
	/* SEARCH HEADER Subject "meeting" UNSEEN  ->  uid 3; BODY -> maybe */
	Stratus__IndexSearchKey hdr = STRATUS__INDEX_SEARCH_KEY__INIT;
	Stratus__IndexSearchKey seen = STRATUS__INDEX_SEARCH_KEY__INIT;
	Stratus__IndexSearchKey unseen = STRATUS__INDEX_SEARCH_KEY__INIT;
	Stratus__IndexSearchKey and = STRATUS__INDEX_SEARCH_KEY__INIT;
	hdr.op = STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER;
	hdr.field = (char *)"subject";
	hdr.text = (char *)"MEETING";
	seen.op = STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG;
	seen.text = (char *)"\\Seen";
	unseen.op = STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT;
	Stratus__IndexSearchKey *us[] = { &seen };
	unseen.sub = us;
	unseen.n_sub = 1;
	Stratus__IndexSearchKey *subs[] = { &hdr, &unseen };
	and.op = STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND;
	and.sub = subs;
	and.n_sub = 2;
	Stratus__IndexSearchRequest sreq = STRATUS__INDEX_SEARCH_REQUEST__INIT;
	sreq.user = (char *)"alice";
	sreq.mailbox = (char *)"INBOX";
	sreq.key = &and;
	const Stratus__IndexSearchReply *sr =
		(const void *)call_ok(f->a, M_SEARCH, &sreq.base, &reply);
	assert_int_equal(sr->n_uids, 1);
	assert_int_equal(sr->uids[0], 3);
	assert_int_equal(sr->n_maybe_uids, 0);
	rpc_reply_clear(&reply);
	hdr.op = STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY;
	sr = (const void *)call_ok(f->a, M_SEARCH, &sreq.base, &reply);
	assert_int_equal(sr->n_uids, 0);
	assert_int_equal(sr->n_maybe_uids, 2);	/* the unseen ones */
	rpc_reply_clear(&reply);

	/* MOVE 1:2 to Trash -> COPYUID and the source loses them */
	Stratus__IndexCopyRequest creq = STRATUS__INDEX_COPY_REQUEST__INIT;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	range.first = 1;
	range.last = 2;
	creq.user = (char *)"alice";
	creq.mailbox = (char *)"INBOX";
	creq.dest = (char *)"Trash";
	creq.uids = &rp;
	creq.n_uids = 1;
	creq.move = true;
	const Stratus__IndexCopyReply *cr =
		(const void *)call_ok(f->a, M_COPY, &creq.base, &reply);
	assert_int_equal(cr->n_dest_uids, 2);
	assert_int_equal(cr->dest_uids[0], 1);
	assert_int_equal(cr->n_expunged, 2);
	rpc_reply_clear(&reply);

	/* FETCH 1:* from Trash with the cached subject; flags kept */
	Stratus__IndexFetchRequest freq = STRATUS__INDEX_FETCH_REQUEST__INIT;
	char *fields[] = { (char *)"hdr.subject" };
	range.first = 1;
	range.last = 0;
	freq.user = (char *)"alice";
	freq.mailbox = (char *)"Trash";
	freq.uids = &rp;
	freq.n_uids = 1;
	freq.fields = fields;
	freq.n_fields = 1;
	const Stratus__IndexFetchReply *fr =
		(const void *)call_ok(f->a, M_FETCH, &freq.base, &reply);
	assert_int_equal(fr->n_messages, 2);
	assert_int_equal(fr->messages[0]->n_flags, 1);
	assert_string_equal(fr->messages[0]->flags[0], "\\Seen");
	assert_int_equal(fr->messages[1]->cached[0]->value.len, 5);
	assert_memory_equal(fr->messages[1]->cached[0]->value.data, "Lunch", 5);
	assert_string_equal(fr->messages[1]->object_id, "obj-1");
	rpc_reply_clear(&reply);

	/* Expunge everything in Trash: object obj-1 is still used by INBOX */
	Stratus__IndexExpungeRequest ereq = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	ereq.user = (char *)"alice";
	ereq.mailbox = (char *)"Trash";
	const Stratus__IndexExpungeReply *er =
		(const void *)call_ok(f->a, M_EXPUNGE, &ereq.base, &reply);
	assert_int_equal(er->n_expunged, 2);
	assert_int_equal(er->n_unreferenced_object_ids, 0);
	rpc_reply_clear(&reply);
	ereq.mailbox = (char *)"INBOX";
	er = (const void *)call_ok(f->a, M_EXPUNGE, &ereq.base, &reply);
	assert_int_equal(er->n_unreferenced_object_ids, 1);
	rpc_reply_clear(&reply);

	/* Unknown user names and mailboxes */
	Stratus__IndexMailboxRequest mreq = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	mreq.user = (char *)"../etc";
	mreq.mailbox = (char *)"INBOX";
	assert_int_equal(call_status(f->a, M_STATUS, &mreq.base),
			 STRATUS__STATUS__STATUS_INVALID);
	mreq.user = (char *)"alice";
	mreq.mailbox = (char *)"Nope";
	assert_int_equal(call_status(f->a, M_STATUS, &mreq.base),
			 STRATUS__STATUS__STATUS_NOT_FOUND);
	fixture_free(f);
}

/* Everything survives a restart (log replay), flags and keywords too. */
static void test_persistence(void **state)
{
	(void)state;
	struct index_test *t = index_test_new("");
	struct index_user *u = index_test_user(t, "erin");
	for (int i = 0; i < 20; i++)
		index_test_append(u, "INBOX", i % 2 ? "\\Seen $A" : "$B");
	assert_int_equal(index_user_compact(u, 0), 0);
	index_test_append(u, "Sent", "\\Draft");
	index_test_restart(t);
	u = index_test_user(t, "erin");
	struct index_mailbox *box = index_user_find_box(u, "INBOX");
	assert_int_equal(box->n_recs, 20);
	assert_int_equal(box->n_keywords, 2);
	assert_int_equal(box->recs[1].sysflags, INDEX_FLAG_SEEN);
	assert_int_equal(index_user_find_box(u, "Sent")->n_recs, 1);
	index_test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_sees_other_session),
		cmocka_unit_test(test_wait_partial_history),
		cmocka_unit_test(test_wait_user),
		cmocka_unit_test(test_store_unchanged_since),
		cmocka_unit_test(test_store_uid_sets),
		cmocka_unit_test(test_mailbox_ops_and_list),
		cmocka_unit_test(test_copy_move_fetch_search),
		cmocka_unit_test(test_persistence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
