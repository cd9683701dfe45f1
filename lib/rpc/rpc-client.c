/* RPC client: lazy connect, Hello handshake, pending calls matched by id,
 * per-call timeouts. Every callback runs from the loop, exactly once. */
#include "rpc-private.h"
#include "log.h"
#include "status.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "histogram.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct rpc_pending {
	struct rpc_client *client;
	uint64_t id;
	uint32_t method;
	rpc_reply_cb *cb;
	void *cb_ctx;
	struct loop_timer *timer;
	uint64_t start_us;	/* for the rpc_client_seconds histogram */
	/* Set when the request could not even be sent; reported deferred. */
	Stratus__Status early_status;
	const char *early_error;
	struct rpc_pending *prev, *next;
};

struct rpc_client {
	struct loop *loop;
	char *path;
	const ProtobufCServiceDescriptor *desc;
	uint32_t major, minor;
	struct rpc_conn *conn;
	bool hello_ok;
	uint64_t next_id;
	Stratus__Context *ctx;
	struct rpc_pending *pending;
};

struct rpc_client *rpc_client_new(struct loop *loop, const char *path,
				  const ProtobufCServiceDescriptor *desc,
				  uint32_t major, uint32_t minor)
{
	struct rpc_client *c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->path = xstrdup(path);
	c->desc = desc;
	c->major = major;
	c->minor = minor;
	c->next_id = 1;
	return c;
}

void rpc_client_set_context(struct rpc_client *c, const Stratus__Context *ctx)
{
	if (c->ctx != NULL)
		stratus__context__free_unpacked(c->ctx, NULL);
	c->ctx = NULL;
	if (ctx == NULL)
		return;
	size_t len = stratus__context__get_packed_size(ctx);
	uint8_t *tmp = xmalloc(len);
	stratus__context__pack(ctx, tmp);
	c->ctx = stratus__context__unpack(NULL, len, tmp);
	free(tmp);
}

static void pending_unlink(struct rpc_pending *p)
{
	struct rpc_client *c = p->client;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		c->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	loop_timer_remove(&p->timer);
}

/* RPC latency per peer service, method and outcome, as the caller saw
 * it (queueing in the peer included). The hello is not a call. */
static void rpc_client_observe(const struct rpc_pending *p,
			       Stratus__Status status)
{
	const ProtobufCServiceDescriptor *d = p->client->desc;
	if (p->method == RPC_METHOD_HELLO)
		return;
	const char *method = p->method == RPC_METHOD_STATUS ? "Status" :
		p->method < d->n_methods ? d->methods[p->method].name : "?";
	const char *st = rpc_status_name(status);
	char labels[160];
	if (strncmp(st, "STATUS_", 7) == 0)
		st += 7;
	snprintf(labels, sizeof(labels),
		 "peer=\"%s\",method=\"%s\",status=\"%s\"", d->short_name,
		 method, st);
	histo_observe("rpc_client_seconds", labels, HISTO_SECONDS,
		      (double)(histo_now_us() - p->start_us) / 1e6);
}

static void pending_finish(struct rpc_pending *p, Stratus__Status status,
			   const char *error, ProtobufCMessage *msg, int *fds,
			   size_t n_fds)
{
	struct rpc_reply reply = {
		.status = status, .error = error, .msg = msg,
		.fds = fds, .n_fds = n_fds,
	};
	pending_unlink(p);
	rpc_client_observe(p, status);
	if (p->cb != NULL)
		p->cb(&reply, p->cb_ctx);
	for (size_t i = 0; i < n_fds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	/* The callback may have taken the message (rpc_client_call_sync). */
	if (reply.msg != NULL)
		protobuf_c_message_free_unpacked(reply.msg, NULL);
	free(p);
}

static void rpc_client_disconnect(struct rpc_client *c, const char *why)
{
	rpc_conn_free(&c->conn);
	c->hello_ok = false;
	/* Fail everything in flight: the peer will not answer it now. */
	while (c->pending != NULL)
		pending_finish(c->pending, STRATUS__STATUS__STATUS_UNAVAILABLE,
			       why, NULL, NULL, 0);
}

static const ProtobufCMessageDescriptor *
reply_descriptor(struct rpc_client *c, uint32_t method)
{
	if (method == RPC_METHOD_STATUS)
		return &stratus__status_reply__descriptor;
	if (method == RPC_METHOD_HELLO)
		return &stratus__hello__descriptor;
	if (method < c->desc->n_methods)
		return c->desc->methods[method].output;
	return NULL;
}

static int client_on_frame(struct rpc_conn *conn, Stratus__Frame *f,
			   int *fds, size_t n_fds, void *ctx)
{
	struct rpc_client *c = ctx;
	struct rpc_pending *p;
	(void)conn;
	for (p = c->pending; p != NULL && p->id != f->id; p = p->next)
		;
	if (!f->is_reply || p == NULL || p->method != f->method) {
		/* A late reply to a timed-out call is expected; drop it. */
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		return f->is_reply ? 0 : -1;
	}
	if (f->method == RPC_METHOD_HELLO && f->status == 0) {
		Stratus__Hello *h = stratus__hello__unpack(
			NULL, f->payload.len, f->payload.data);
		bool ok = h != NULL && h->major == c->major &&
			  strcmp(h->service, c->desc->name) == 0;
		if (!ok)
			log_error(NULL, "rpc: %s speaks %s %u.%u, we need %s %u.x",
				  c->path, h ? h->service : "?", h ? h->major : 0,
				  h ? h->minor : 0, c->desc->name, c->major);
		if (h != NULL)
			stratus__hello__free_unpacked(h, NULL);
		pending_finish(p, STRATUS__STATUS__STATUS_OK, NULL, NULL, fds,
			       n_fds);
		if (!ok)
			return -1;
		c->hello_ok = true;
		return 0;
	}
	if (f->status != STRATUS__STATUS__STATUS_OK) {
		pending_finish(p, f->status, f->error, NULL, fds, n_fds);
		return 0;
	}
	const ProtobufCMessageDescriptor *d = reply_descriptor(c, f->method);
	ProtobufCMessage *msg = protobuf_c_message_unpack(
		d, NULL, f->payload.len, f->payload.data);
	if (msg == NULL || !protobuf_c_message_check(msg)) {
		if (msg != NULL)
			protobuf_c_message_free_unpacked(msg, NULL);
		pending_finish(p, STRATUS__STATUS__STATUS_ERROR,
			       "undecodable reply", NULL, fds, n_fds);
		return -1;
	}
	pending_finish(p, STRATUS__STATUS__STATUS_OK, NULL, msg, fds, n_fds);
	return 0;
}

static void client_on_close(struct rpc_conn *conn, const char *reason,
			    void *ctx)
{
	struct rpc_client *c = ctx;
	if (strcmp(reason, "connection closed") != 0)
		log_warning(NULL, "rpc: connection to %s: %s", c->path, reason);
	/* lib/rpc frees conn after this callback. */
	if (c->conn == conn)
		c->conn = NULL;
	rpc_client_disconnect(c, reason);
}

static void pending_timeout(struct loop_timer *t, void *ctx)
{
	struct rpc_pending *p = ctx;
	(void)t;
	pending_finish(p, STRATUS__STATUS__STATUS_TIMEOUT, "request timed out",
		       NULL, NULL, 0);
}

static void pending_early(struct loop_timer *t, void *ctx)
{
	struct rpc_pending *p = ctx;
	(void)t;
	pending_finish(p, p->early_status, p->early_error, NULL, NULL, 0);
}

static struct rpc_pending *pending_new(struct rpc_client *c, uint32_t method,
				       uint32_t timeout_ms, rpc_reply_cb *cb,
				       void *cb_ctx)
{
	struct rpc_pending *p = xcalloc(1, sizeof(*p));
	p->client = c;
	p->id = c->next_id++;
	p->method = method;
	p->start_us = histo_now_us();
	p->cb = cb;
	p->cb_ctx = cb_ctx;
	p->timer = loop_timer_add(c->loop, timeout_ms ? timeout_ms :
				  RPC_DEFAULT_TIMEOUT_MS, false,
				  pending_timeout, p);
	p->next = c->pending;
	if (c->pending != NULL)
		c->pending->prev = p;
	c->pending = p;
	return p;
}

static void pending_fail_soon(struct rpc_pending *p, Stratus__Status status,
			      const char *error)
{
	/* Never call back from inside rpc_client_call(): callers rely on it. */
	loop_timer_remove(&p->timer);
	p->early_status = status;
	p->early_error = error;
	p->timer = loop_timer_add(p->client->loop, 0, false, pending_early, p);
}

static int rpc_client_send(struct rpc_client *c, struct rpc_pending *p,
			   const Stratus__Context *ctx,
			   const ProtobufCMessage *msg, const int *fds,
			   size_t n_fds)
{
	Stratus__Frame f = STRATUS__FRAME__INIT;
	uint8_t *payload = NULL;
	f.id = p->id;
	f.method = p->method;
	f.ctx = (Stratus__Context *)ctx;
	if (msg != NULL) {
		f.payload.len = protobuf_c_message_get_packed_size(msg);
		payload = xmalloc(f.payload.len);
		protobuf_c_message_pack(msg, payload);
		f.payload.data = payload;
	}
	int r = rpc_conn_send(c->conn, &f, fds, n_fds);
	free(payload);
	return r;
}

static int rpc_client_connect(struct rpc_client *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A UNIX connect completes or fails at once (or EAGAIN on a full
	 * backlog, which we treat as unavailable). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	c->conn = rpc_conn_new(c->loop, fd, RPC_FRAME_MAX, client_on_frame,
			       client_on_close, c);
	if (c->conn == NULL) {
		close(fd);
		return -1;
	}
	rpc_conn_set_label(c->conn, c->path);
	Stratus__Hello h = STRATUS__HELLO__INIT;
	h.service = (char *)c->desc->name;
	h.major = c->major;
	h.minor = c->minor;
	h.pid = (uint32_t)getpid();
	struct rpc_pending *p = pending_new(c, RPC_METHOD_HELLO, 0, NULL, NULL);
	if (rpc_client_send(c, p, NULL, &h.base, NULL, 0) < 0) {
		rpc_client_disconnect(c, "hello failed");
		return -1;
	}
	return 0;
}

void rpc_client_call(struct rpc_client *c, uint32_t method,
		     const Stratus__Context *ctx_override,
		     const ProtobufCMessage *request, const int *fds,
		     size_t n_fds, uint32_t timeout_ms, rpc_reply_cb *cb,
		     void *cb_ctx)
{
	struct rpc_pending *p;
	if (c->conn == NULL && rpc_client_connect(c) < 0) {
		p = pending_new(c, method, timeout_ms, cb, cb_ctx);
		pending_fail_soon(p, STRATUS__STATUS__STATUS_UNAVAILABLE,
				  "service not reachable");
		return;
	}
	p = pending_new(c, method, timeout_ms, cb, cb_ctx);
	if (rpc_client_send(c, p, ctx_override != NULL ? ctx_override : c->ctx,
			    request, fds, n_fds) < 0)
		pending_fail_soon(p, STRATUS__STATUS__STATUS_INVALID,
				  "request too large to send");
}

void rpc_client_free(struct rpc_client **_c)
{
	struct rpc_client *c = *_c;
	if (c == NULL)
		return;
	*_c = NULL;
	rpc_conn_free(&c->conn);
	/* Owners free clients at shutdown; callbacks must not run then. */
	while (c->pending != NULL) {
		struct rpc_pending *p = c->pending;
		pending_unlink(p);
		free(p);
	}
	if (c->ctx != NULL)
		stratus__context__free_unpacked(c->ctx, NULL);
	free(c->path);
	free(c);
}

struct sync_wait {
	bool done;
	struct rpc_reply *out;
	char *error;
};

static void sync_cb(const struct rpc_reply *reply, void *ctx)
{
	struct sync_wait *w = ctx;
	w->done = true;
	*w->out = *reply;
	w->out->error = NULL;
	w->out->fds = NULL;
	if (reply->error != NULL) {
		w->error = xstrdup(reply->error);
		w->out->error = w->error;
	}
	/* Keep the message and fds past the callback. */
	if (reply->n_fds > 0) {
		w->out->fds = xcalloc(reply->n_fds, sizeof(int));
		for (size_t i = 0; i < reply->n_fds; i++) {
			w->out->fds[i] = reply->fds[i];
			reply->fds[i] = -1;
		}
	}
	((struct rpc_reply *)reply)->msg = NULL;
}

int rpc_client_call_sync(struct rpc_client *c, uint32_t method,
			 const ProtobufCMessage *request, const int *fds,
			 size_t n_fds, uint32_t timeout_ms,
			 struct rpc_reply *reply_r)
{
	struct sync_wait w = { .out = reply_r };
	memset(reply_r, 0, sizeof(*reply_r));
	rpc_client_call(c, method, NULL, request, fds, n_fds, timeout_ms,
			sync_cb, &w);
	while (!w.done) {
		if (loop_run_once(c->loop, -1) < 0)
			return -1;
	}
	return reply_r->status == STRATUS__STATUS__STATUS_OK ? 0 : -1;
}

void rpc_reply_clear(struct rpc_reply *reply)
{
	for (size_t i = 0; i < reply->n_fds; i++) {
		if (reply->fds[i] >= 0)
			close(reply->fds[i]);
	}
	free(reply->fds);
	if (reply->msg != NULL)
		protobuf_c_message_free_unpacked(reply->msg, NULL);
	free((char *)reply->error);
	memset(reply, 0, sizeof(*reply));
}

int rpc_method_index(const ProtobufCServiceDescriptor *desc, const char *name)
{
	for (unsigned int i = 0; i < desc->n_methods; i++) {
		if (strcmp(desc->methods[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}
