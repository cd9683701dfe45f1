/* lib/rpc: round trips with passed fds, bad frames, timeouts, peers that
 * go away, version checks. Client and server share one loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "blob.pb-c.h"
#include "buf.h"
#include "log.h"
#include "rpc-private.h"
#include "status.pb-c.h"

struct fixture {
	char dir[64];
	char path[128];
	struct loop *loop;
	struct rpc_server *server;
	int listen_fd;
	struct rpc_call *held;	/* a call the handler did not answer */
};

static struct fixture *F;

/* Put: reads the passed fd, answers with its content as object id. */
static void handle_put(struct rpc_call *call, const ProtobufCMessage *req)
{
	const Stratus__BlobPutRequest *r = (const void *)req;
	int fd = rpc_call_take_fd(call, 0);
	if (fd < 0) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "no body");
		return;
	}
	char data[256] = "";
	ssize_t n = pread(fd, data, sizeof(data) - 1, 0);
	close(fd);
	Stratus__BlobPutReply reply = STRATUS__BLOB_PUT_REPLY__INIT;
	char *id = xasprintf("%s:%.*s", r->key, (int)(n > 0 ? n : 0), data);
	reply.object_id = id;
	rpc_call_reply(call, &reply.base, NULL, 0);
	free(id);
}

/* Get: answers with a memfd holding the key; "hang" never answers. */
static void handle_get(struct rpc_call *call, const ProtobufCMessage *req)
{
	const Stratus__BlobGetRequest *r = (const void *)req;
	if (strcmp(r->key, "hang") == 0) {
		F->held = call;
		return;
	}
	int fd = memfd_create("body", MFD_CLOEXEC);
	assert_int_equal(write(fd, r->key, strlen(r->key)),
			 (ssize_t)strlen(r->key));
	Stratus__BlobGetReply reply = STRATUS__BLOB_GET_REPLY__INIT;
	reply.size = strlen(r->key);
	rpc_call_reply(call, &reply.base, &fd, 1);
	close(fd);
}

static rpc_handler_fn *const handlers[] = { handle_put, handle_get };

static int setup(void **state)
{
	F = xcalloc(1, sizeof(*F));
	snprintf(F->dir, sizeof(F->dir), "/tmp/stratus-rpc-XXXXXX");
	assert_non_null(mkdtemp(F->dir));
	snprintf(F->path, sizeof(F->path), "%s/sock", F->dir);
	F->loop = loop_new();
	F->server = rpc_server_new(F->loop, &stratus__blob__descriptor, 1, 0,
				   handlers, N_ELEMENTS(handlers), NULL);
	rpc_server_set_status_cb(F->server, "blob", NULL, NULL);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, F->path, strlen(F->path) + 1);
	F->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(F->listen_fd, (void *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(F->listen_fd, 16), 0);
	assert_int_equal(rpc_server_listen(F->server, F->listen_fd), 0);
	*state = F;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (F->held != NULL)
		rpc_call_fail(F->held, STRATUS__STATUS__STATUS_ERROR, "end");
	rpc_server_free(&F->server);
	close(F->listen_fd);
	/* Let the loop free what the server closed. */
	loop_run_once(F->loop, 0);
	loop_free(&F->loop);
	unlink(F->path);
	rmdir(F->dir);
	free(F);
	return 0;
}

static struct rpc_client *client_new(uint32_t major)
{
	return rpc_client_new(F->loop, F->path, &stratus__blob__descriptor,
			      major, 0);
}

static void test_roundtrip_with_fds(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(1);
	int fd = memfd_create("in", MFD_CLOEXEC);
	assert_int_equal(write(fd, "hello", 5), 5);
	Stratus__BlobPutRequest put = STRATUS__BLOB_PUT_REQUEST__INIT;
	put.key = "k1";
	struct rpc_reply reply;
	assert_int_equal(rpc_client_call_sync(c, 0, &put.base, &fd, 1, 2000,
					      &reply), 0);
	close(fd);
	assert_string_equal(((Stratus__BlobPutReply *)reply.msg)->object_id,
			    "k1:hello");
	rpc_reply_clear(&reply);

	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	get.key = "body-from-server";
	assert_int_equal(rpc_client_call_sync(c, 1, &get.base, NULL, 0, 2000,
					      &reply), 0);
	assert_int_equal(reply.n_fds, 1);
	char data[64] = "";
	assert_int_equal(pread(reply.fds[0], data, sizeof(data), 0), 16);
	assert_string_equal(data, "body-from-server");
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
}

static void test_missing_fd_is_invalid(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(1);
	Stratus__BlobPutRequest put = STRATUS__BLOB_PUT_REQUEST__INIT;
	put.key = "k";
	struct rpc_reply reply;
	assert_int_equal(rpc_client_call_sync(c, 0, &put.base, NULL, 0, 2000,
					      &reply), -1);
	assert_int_equal(reply.status, STRATUS__STATUS__STATUS_INVALID);
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
}

static int raw_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, F->path, strlen(F->path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (void *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Runs the loop until the raw peer sees EOF (the server closed it). */
static void expect_closed_by_server(int fd)
{
	char tmp[256];
	for (int i = 0; i < 200; i++) {
		loop_run_once(F->loop, 10);
		ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n == 0)
			return;
	}
	fail_msg("server did not close the connection");
}

static void test_oversized_frame_closes_only_that_client(void **state)
{
	(void)state;
	int bad = raw_connect();
	struct rpc_client *good = client_new(1);
	/* 64 MiB announced: refused before anything is allocated. */
	unsigned char hdr[4] = { 0x04, 0x00, 0x00, 0x00 };
	assert_int_equal(write(bad, hdr, 4), 4);
	expect_closed_by_server(bad);
	close(bad);
	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	get.key = "still-served";
	struct rpc_reply reply;
	assert_int_equal(rpc_client_call_sync(good, 1, &get.base, NULL, 0,
					      2000, &reply), 0);
	rpc_reply_clear(&reply);
	assert_true(rpc_server_bad_frames(F->server) >= 1);
	rpc_client_free(&good);
}

static void test_garbage_frame_closes_connection(void **state)
{
	(void)state;
	int bad = raw_connect();
	unsigned char junk[] = { 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	assert_int_equal(write(bad, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	expect_closed_by_server(bad);
	close(bad);
}

static void test_request_before_hello_closes(void **state)
{
	(void)state;
	int bad = raw_connect();
	Stratus__Frame f = STRATUS__FRAME__INIT;
	f.id = 1;
	f.method = 1;
	struct buf out = BUF_INIT;
	assert_int_equal(rpc_frame_pack(&f, RPC_FRAME_MAX, &out), 0);
	assert_int_equal(write(bad, out.data, out.len), (ssize_t)out.len);
	buf_free(&out);
	expect_closed_by_server(bad);
	close(bad);
}

static void test_major_mismatch_is_refused(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(2);
	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	get.key = "x";
	struct rpc_reply reply;
	assert_int_equal(rpc_client_call_sync(c, 1, &get.base, NULL, 0, 2000,
					      &reply), -1);
	assert_int_equal(reply.status, STRATUS__STATUS__STATUS_UNAVAILABLE);
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
}

static void test_timeout(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(1);
	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	get.key = "hang";
	struct rpc_reply reply;
	uint64_t t0 = monotonic_ms();
	assert_int_equal(rpc_client_call_sync(c, 1, &get.base, NULL, 0, 150,
					      &reply), -1);
	assert_int_equal(reply.status, STRATUS__STATUS__STATUS_TIMEOUT);
	assert_true(monotonic_ms() - t0 >= 140);
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
}

struct captured {
	bool done;
	Stratus__Status status;
};

static void capture_cb(const struct rpc_reply *reply, void *ctx)
{
	struct captured *c = ctx;
	c->done = true;
	c->status = reply->status;
}

static void test_peer_gone_mid_request(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(1);
	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	struct captured cap = { false, STRATUS__STATUS__STATUS_OK };
	get.key = "hang";
	rpc_client_call(c, 1, NULL, &get.base, NULL, 0, 10000, capture_cb, &cap);
	/* Let the request reach the handler, then drop the server side. */
	for (int i = 0; i < 50 && F->held == NULL; i++)
		loop_run_once(F->loop, 10);
	assert_non_null(F->held);
	assert_false(cap.done);
	uint64_t t0 = monotonic_ms();
	rpc_server_free(&F->server);
	for (int i = 0; i < 100 && !cap.done; i++)
		loop_run_once(F->loop, 10);
	assert_true(cap.done);
	assert_int_equal(cap.status, STRATUS__STATUS__STATUS_UNAVAILABLE);
	assert_true(monotonic_ms() - t0 < 2000);
	/* The held call outlived its connection: replying is harmless. */
	rpc_call_fail(F->held, STRATUS__STATUS__STATUS_ERROR, "late");
	F->held = NULL;
	rpc_client_free(&c);
}

static void test_unreachable_service(void **state)
{
	(void)state;
	struct rpc_client *c = rpc_client_new(F->loop, "/nonexistent/sock",
		&stratus__blob__descriptor, 1, 0);
	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	struct rpc_reply reply;
	assert_int_equal(rpc_client_call_sync(c, 1, &get.base, NULL, 0, 1000,
					      &reply), -1);
	assert_int_equal(reply.status, STRATUS__STATUS__STATUS_UNAVAILABLE);
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
}

static void test_unknown_method_and_status(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(1);
	Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
	struct rpc_reply reply;
	/* Head (index 2) has no handler in this server. */
	assert_int_equal(rpc_client_call_sync(c, 2, &get.base, NULL, 0, 1000,
					      &reply), -1);
	assert_int_equal(reply.status, STRATUS__STATUS__STATUS_UNKNOWN_METHOD);
	rpc_reply_clear(&reply);
	rpc_client_free(&c);

	c = rpc_client_new(F->loop, F->path, &stratus__control__descriptor,
			   RPC_CONTROL_MAJOR, RPC_CONTROL_MINOR);
	Stratus__StatusRequest sreq = STRATUS__STATUS_REQUEST__INIT;
	assert_int_equal(rpc_client_call_sync(c, RPC_METHOD_STATUS, &sreq.base,
					      NULL, 0, 1000, &reply), 0);
	Stratus__StatusReply *sr = (void *)reply.msg;
	assert_string_equal(sr->service, "blob");
	assert_int_equal(sr->pid, (uint32_t)getpid());
	rpc_reply_clear(&reply);
	/* The control view may not call the service's methods. */
	assert_int_equal(rpc_client_call_sync(c, 1, &get.base, NULL, 0, 1000,
					      &reply), -1);
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
}

static void test_frame_pack_unpack(void **state)
{
	(void)state;
	Stratus__Frame f = STRATUS__FRAME__INIT;
	Stratus__Context ctx = STRATUS__CONTEXT__INIT;
	ctx.session = "S1";
	ctx.user = "joe";
	f.id = 7;
	f.method = 3;
	f.ctx = &ctx;
	struct buf out = BUF_INIT;
	assert_int_equal(rpc_frame_pack(&f, RPC_FRAME_MAX, &out), 0);
	assert_int_equal(rpc_frame_length((unsigned char *)out.data),
			 out.len - 4);
	const char *error;
	Stratus__Frame *g = rpc_frame_unpack((unsigned char *)out.data + 4,
					     out.len - 4, &error);
	assert_non_null(g);
	assert_int_equal(g->id, 7);
	assert_string_equal(g->ctx->user, "joe");
	stratus__frame__free_unpacked(g, NULL);
	/* Over the maximum: refused. */
	buf_reset(&out);
	assert_int_equal(rpc_frame_pack(&f, 4, &out), -1);
	/* Truncated: undecodable. */
	buf_reset(&out);
	assert_int_equal(rpc_frame_pack(&f, RPC_FRAME_MAX, &out), 0);
	assert_null(rpc_frame_unpack((unsigned char *)out.data + 4,
				     out.len - 6, &error));
	buf_free(&out);
}

/* Calls made in one loop turn leave in batched sendmsg()s, replies too:
 * 12 Puts with one fd each (more fds than one batch carries) between
 * 12 Gets whose replies carry fds; every answer matches its call. */
struct batch_result {
	char got[24][64];
};

static void batch_put_cb(const struct rpc_reply *reply, void *ctx)
{
	char *slot = ctx;
	assert_int_equal(reply->status, STRATUS__STATUS__STATUS_OK);
	snprintf(slot, 64, "%s",
		 ((Stratus__BlobPutReply *)reply->msg)->object_id);
}

static void batch_get_cb(const struct rpc_reply *reply, void *ctx)
{
	char *slot = ctx;
	assert_int_equal(reply->status, STRATUS__STATUS__STATUS_OK);
	assert_int_equal(reply->n_fds, 1);
	ssize_t n = pread(reply->fds[0], slot, 63, 0);
	assert_true(n > 0);
	slot[n] = '\0';
}

static void test_batched_frames_keep_their_fds(void **state)
{
	(void)state;
	struct rpc_client *c = client_new(1);
	struct rpc_reply reply;
	Stratus__BlobGetRequest warm = STRATUS__BLOB_GET_REQUEST__INIT;
	warm.key = "warm";
	assert_int_equal(rpc_client_call_sync(c, 1, &warm.base, NULL, 0, 2000,
					      &reply), 0);
	rpc_reply_clear(&reply);
	struct batch_result r = { 0 };
	char keys[24][16], bodies[12][16];
	for (int i = 0; i < 12; i++) {
		snprintf(keys[2 * i], 16, "p%d", i);
		snprintf(bodies[i], 16, "body%d", i);
		int fd = memfd_create("in", MFD_CLOEXEC);
		assert_int_equal(write(fd, bodies[i], strlen(bodies[i])),
				 (ssize_t)strlen(bodies[i]));
		Stratus__BlobPutRequest put = STRATUS__BLOB_PUT_REQUEST__INIT;
		put.key = keys[2 * i];
		rpc_client_call(c, 0, NULL, &put.base, &fd, 1, 2000,
				batch_put_cb, r.got[2 * i]);
		close(fd);
		snprintf(keys[2 * i + 1], 16, "g%d", i);
		Stratus__BlobGetRequest get = STRATUS__BLOB_GET_REQUEST__INIT;
		get.key = keys[2 * i + 1];
		rpc_client_call(c, 1, NULL, &get.base, NULL, 0, 2000,
				batch_get_cb, r.got[2 * i + 1]);
	}
	for (int spins = 0; spins < 200; spins++) {
		int done = 0;
		for (int i = 0; i < 24; i++)
			done += r.got[i][0] != '\0';
		if (done == 24)
			break;
		loop_run_once(F->loop, 50);
	}
	for (int i = 0; i < 12; i++) {
		char want[40];
		snprintf(want, sizeof(want), "p%d:body%d", i, i);
		assert_string_equal(r.got[2 * i], want);
		assert_string_equal(r.got[2 * i + 1], keys[2 * i + 1]);
	}
	rpc_client_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_pack_unpack),
		cmocka_unit_test_setup_teardown(test_roundtrip_with_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batched_frames_keep_their_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_fd_is_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_frame_closes_only_that_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_frame_closes_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_before_hello_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_major_mismatch_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone_mid_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_method_and_status, setup, teardown),
	};
	log_init("test-rpc", NULL, NULL);
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	log_deinit();
	return r;
}
