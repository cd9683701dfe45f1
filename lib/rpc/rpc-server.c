/* RPC server: accepts on a listening UNIX socket, checks the peer's kernel
 * credentials, does the Hello handshake, and dispatches each request to
 * the handler table by method index. Handlers may reply later; a call
 * keeps its connection's state alive until it ends. */
#include "rpc-private.h"
#include "log.h"
#include "status.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rpc_server_conn {
	struct rpc_server *server;
	struct rpc_conn *conn;	/* NULL once closed */
	unsigned int refcount;
	bool hello_done;
	bool control_only;
	pid_t pid;
	uint64_t id;		/* unique per server, for rpc_call_conn_id */
	struct rpc_server_conn *prev, *next;
};

struct rpc_server {
	struct loop *loop;
	const ProtobufCServiceDescriptor *desc;
	uint32_t major, minor;
	rpc_handler_fn *const *handlers;
	size_t n_handlers;
	void *handler_ctx;
	size_t max_frame;
	long allow_uid;
	int listen_fd;
	struct loop_io *listen_io;
	struct rpc_server_conn *conns;
	unsigned int n_conns;
	uint64_t bad_frames, requests;
	time_t started;
	char *service_name;
	rpc_status_fn *status_cb;
	void *status_ctx;
	uint64_t next_conn_id;
	rpc_disconnect_fn *disconnect_cb;
	void *disconnect_ctx;
};

struct rpc_call {
	struct rpc_server_conn *sc;
	uint64_t id;
	uint32_t method;
	Stratus__Context *ctx;	/* owned copy */
	int fds[RPC_MAX_FDS_PER_FRAME];
	size_t n_fds;
	ProtobufCMessage *request;
};

struct rpc_server *rpc_server_new(struct loop *loop,
				  const ProtobufCServiceDescriptor *desc,
				  uint32_t major, uint32_t minor,
				  rpc_handler_fn *const *handlers,
				  size_t n_handlers, void *handler_ctx)
{
	struct rpc_server *s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->desc = desc;
	s->major = major;
	s->minor = minor;
	s->handlers = handlers;
	s->n_handlers = n_handlers;
	s->handler_ctx = handler_ctx;
	s->max_frame = RPC_FRAME_MAX;
	s->allow_uid = -1;
	s->listen_fd = -1;
	s->started = time(NULL);
	return s;
}

void rpc_server_set_max_frame(struct rpc_server *s, size_t max)
{
	s->max_frame = max < RPC_FRAME_MIN_MAX ? RPC_FRAME_MIN_MAX :
		       max > RPC_FRAME_MAX ? RPC_FRAME_MAX : max;
}

void rpc_server_set_allow_uid(struct rpc_server *s, long uid)
{
	s->allow_uid = uid;
}

void rpc_server_set_status_cb(struct rpc_server *s, const char *service_name,
			      rpc_status_fn *cb, void *ctx)
{
	free(s->service_name);
	s->service_name = xstrdup(service_name);
	s->status_cb = cb;
	s->status_ctx = ctx;
}

unsigned int rpc_server_connection_count(const struct rpc_server *s)
{
	return s->n_conns;
}

uint64_t rpc_server_bad_frames(const struct rpc_server *s)
{
	return s->bad_frames;
}

static void sconn_unref(struct rpc_server_conn *sc)
{
	if (--sc->refcount > 0)
		return;
	free(sc);
}

static void sconn_close(struct rpc_server_conn *sc)
{
	struct rpc_server *s = sc->server;
	if (sc->conn == NULL)
		return;
	rpc_conn_free(&sc->conn);
	if (sc->prev != NULL)
		sc->prev->next = sc->next;
	else
		s->conns = sc->next;
	if (sc->next != NULL)
		sc->next->prev = sc->prev;
	s->n_conns--;
	if (s->disconnect_cb != NULL && sc->hello_done)
		s->disconnect_cb(sc->id, s->disconnect_ctx);
	sconn_unref(sc);
}

static void sconn_on_close(struct rpc_conn *conn, const char *reason,
			   void *ctx)
{
	struct rpc_server_conn *sc = ctx;
	if (strcmp(reason, "connection closed") != 0) {
		sc->server->bad_frames++;
		log_warning(NULL, "rpc: closing client %s: %s",
			    rpc_conn_label(conn), reason);
	}
	sconn_close(sc);
}

static void rpc_send_reply(struct rpc_server_conn *sc, uint64_t id,
			   uint32_t method, Stratus__Status status,
			   const char *error, const ProtobufCMessage *msg,
			   const int *fds, size_t n_fds)
{
	Stratus__Frame f = STRATUS__FRAME__INIT;
	uint8_t *payload = NULL;
	if (sc->conn == NULL)
		return;
	f.id = id;
	f.method = method;
	f.is_reply = true;
	f.status = status;
	if (error != NULL)
		f.error = (char *)error;
	if (msg != NULL) {
		f.payload.len = protobuf_c_message_get_packed_size(msg);
		payload = xmalloc(f.payload.len);
		protobuf_c_message_pack(msg, payload);
		f.payload.data = payload;
	}
	if (rpc_conn_send(sc->conn, &f, fds, n_fds) < 0) {
		log_error(NULL, "rpc: reply to %s too large or unsendable; "
			  "closing", rpc_conn_label(sc->conn));
		sconn_close(sc);
	}
	free(payload);
}

static void rpc_call_free(struct rpc_call *call)
{
	for (size_t i = 0; i < call->n_fds; i++) {
		if (call->fds[i] >= 0)
			close(call->fds[i]);
	}
	if (call->ctx != NULL)
		stratus__context__free_unpacked(call->ctx, NULL);
	if (call->request != NULL)
		protobuf_c_message_free_unpacked(call->request, NULL);
	sconn_unref(call->sc);
	free(call);
}

void *rpc_call_handler_ctx(const struct rpc_call *call)
{
	return call->sc->server->handler_ctx;
}

uint64_t rpc_call_conn_id(const struct rpc_call *call)
{
	return call->sc->id;
}

void rpc_server_set_disconnect_cb(struct rpc_server *s,
				  rpc_disconnect_fn *cb, void *ctx)
{
	s->disconnect_cb = cb;
	s->disconnect_ctx = ctx;
}

const ProtobufCMessage *rpc_call_request(const struct rpc_call *call)
{
	return call->request;
}

const Stratus__Context *rpc_call_context(const struct rpc_call *call)
{
	return call->ctx;
}

size_t rpc_call_fd_count(const struct rpc_call *call)
{
	return call->n_fds;
}

int rpc_call_take_fd(struct rpc_call *call, size_t i)
{
	if (i >= call->n_fds)
		return -1;
	int fd = call->fds[i];
	call->fds[i] = -1;
	return fd;
}

void rpc_call_reply(struct rpc_call *call, const ProtobufCMessage *reply,
		    const int *fds, size_t n_fds)
{
	rpc_send_reply(call->sc, call->id, call->method,
		       STRATUS__STATUS__STATUS_OK, NULL, reply, fds, n_fds);
	rpc_call_free(call);
}

void rpc_call_fail(struct rpc_call *call, Stratus__Status status,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rpc_send_reply(call->sc, call->id, call->method, status, msg, NULL,
		       NULL, 0);
	rpc_call_free(call);
}

static Stratus__Context *context_copy(const Stratus__Context *src)
{
	Stratus__Context empty = STRATUS__CONTEXT__INIT;
	if (src == NULL)
		src = &empty;
	size_t len = stratus__context__get_packed_size(src);
	uint8_t *tmp = xmalloc(len);
	stratus__context__pack(src, tmp);
	Stratus__Context *c = stratus__context__unpack(NULL, len, tmp);
	free(tmp);
	return c;
}

static int rpc_handle_hello(struct rpc_server_conn *sc,
			    const Stratus__Frame *f)
{
	struct rpc_server *s = sc->server;
	Stratus__Hello *h = stratus__hello__unpack(NULL, f->payload.len,
						   f->payload.data);
	if (h == NULL) {
		log_warning(NULL, "rpc: %s: undecodable hello",
			    rpc_conn_label(sc->conn));
		return -1;
	}
	int ret = 0;
	/* "stratus.Control" is the status-only view every service offers. */
	sc->control_only = strcmp(h->service,
				  stratus__control__descriptor.name) == 0;
	if (!sc->control_only && strcmp(h->service, s->desc->name) != 0) {
		log_warning(NULL, "rpc: %s wants service %s, this is %s",
			    rpc_conn_label(sc->conn), h->service,
			    s->desc->name);
		ret = -1;
	} else if (!sc->control_only && h->major != s->major) {
		log_warning(NULL, "rpc: %s speaks %s %u.%u, this service %u.%u",
			    rpc_conn_label(sc->conn), h->service, h->major,
			    h->minor, s->major, s->minor);
		ret = -1;
	} else if (h->pid != 0 && sc->pid > 0 && (pid_t)h->pid != sc->pid) {
		log_warning(NULL, "rpc: %s claims pid %u", rpc_conn_label(
			    sc->conn), h->pid);
		ret = -1;
	}
	stratus__hello__free_unpacked(h, NULL);
	if (ret < 0)
		return -1;
	Stratus__Hello mine = STRATUS__HELLO__INIT;
	mine.service = (char *)(sc->control_only ?
		stratus__control__descriptor.name : s->desc->name);
	mine.major = sc->control_only ? RPC_CONTROL_MAJOR : s->major;
	mine.minor = sc->control_only ? RPC_CONTROL_MINOR : s->minor;
	mine.pid = (uint32_t)getpid();
	sc->hello_done = true;
	rpc_send_reply(sc, f->id, RPC_METHOD_HELLO, STRATUS__STATUS__STATUS_OK,
		       NULL, &mine.base, NULL, 0);
	return 0;
}

static void rpc_handle_status(struct rpc_server_conn *sc,
			      const Stratus__Frame *f)
{
	struct rpc_server *s = sc->server;
	Stratus__StatusReply r = STRATUS__STATUS_REPLY__INIT;
	r.service = s->service_name != NULL ? s->service_name :
		    (char *)s->desc->short_name;
	r.version = STRATUS_VERSION;
	r.uptime_secs = (uint64_t)(time(NULL) - s->started);
	r.pid = (uint32_t)getpid();
	r.connections = s->n_conns;
	r.state = "ok";
	if (s->status_cb != NULL)
		s->status_cb(&r, s->status_ctx);
	rpc_send_reply(sc, f->id, RPC_METHOD_STATUS, STRATUS__STATUS__STATUS_OK,
		       NULL, &r.base, NULL, 0);
	for (size_t i = 0; i < r.n_counters; i++) {
		free(r.counters[i]->name);
		free(r.counters[i]);
	}
	free(r.counters);
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static int rpc_dispatch(struct rpc_server_conn *sc, Stratus__Frame *f,
			int *fds, size_t n_fds)
{
	struct rpc_server *s = sc->server;
	const ProtobufCMethodDescriptor *m;
	if (f->is_reply) {
		close_fds(fds, n_fds);
		return -1;
	}
	if (!sc->hello_done) {
		close_fds(fds, n_fds);
		if (f->method != RPC_METHOD_HELLO) {
			log_warning(NULL, "rpc: %s: request before hello",
				    rpc_conn_label(sc->conn));
			return -1;
		}
		return rpc_handle_hello(sc, f);
	}
	s->requests++;
	if (f->method == RPC_METHOD_STATUS) {
		close_fds(fds, n_fds);
		rpc_handle_status(sc, f);
		return 0;
	}
	if (sc->control_only || f->method >= s->desc->n_methods ||
	    f->method >= s->n_handlers ||
	    s->handlers[f->method] == NULL) {
		close_fds(fds, n_fds);
		log_warning(NULL, "rpc: %s: unknown method %u",
			    rpc_conn_label(sc->conn), f->method);
		rpc_send_reply(sc, f->id, f->method,
			       STRATUS__STATUS__STATUS_UNKNOWN_METHOD,
			       "unknown method", NULL, NULL, 0);
		return 0;
	}
	m = &s->desc->methods[f->method];
	ProtobufCMessage *req = protobuf_c_message_unpack(
		m->input, NULL, f->payload.len, f->payload.data);
	if (req == NULL || !protobuf_c_message_check(req)) {
		if (req != NULL)
			protobuf_c_message_free_unpacked(req, NULL);
		close_fds(fds, n_fds);
		s->bad_frames++;
		log_warning(NULL, "rpc: %s: undecodable %s request",
			    rpc_conn_label(sc->conn), m->name);
		rpc_send_reply(sc, f->id, f->method,
			       STRATUS__STATUS__STATUS_INVALID,
			       "undecodable request", NULL, NULL, 0);
		return 0;
	}
	struct rpc_call *call = xcalloc(1, sizeof(*call));
	call->sc = sc;
	sc->refcount++;
	call->id = f->id;
	call->method = f->method;
	call->ctx = context_copy(f->ctx);
	memcpy(call->fds, fds, n_fds * sizeof(int));
	call->n_fds = n_fds;
	call->request = req;
	s->handlers[f->method](call, req);
	return 0;
}

static int sconn_on_frame(struct rpc_conn *conn, Stratus__Frame *f, int *fds,
			  size_t n_fds, void *ctx)
{
	(void)conn;
	return rpc_dispatch(ctx, f, fds, n_fds);
}

static void rpc_server_accept(struct loop_io *io, uint32_t events, void *ctx)
{
	struct rpc_server *s = ctx;
	(void)io;
	(void)events;
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_error(NULL, "rpc: accept failed: %m");
			return;
		}
		struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (s->allow_uid >= 0 && cred.uid != 0 &&
		    cred.uid != getuid() && (long)cred.uid != s->allow_uid) {
			log_warning(NULL, "rpc: refusing pid %ld uid %ld",
				    (long)cred.pid, (long)cred.uid);
			close(fd);
			continue;
		}
		struct rpc_server_conn *sc = xcalloc(1, sizeof(*sc));
		sc->server = s;
		sc->refcount = 1;
		sc->pid = cred.pid;
		sc->id = ++s->next_conn_id;
		sc->conn = rpc_conn_new(s->loop, fd, s->max_frame,
					sconn_on_frame, sconn_on_close, sc);
		if (sc->conn == NULL) {
			close(fd);
			free(sc);
			continue;
		}
		char label[64];
		snprintf(label, sizeof(label), "pid %ld uid %ld",
			 (long)cred.pid, (long)cred.uid);
		rpc_conn_set_label(sc->conn, label);
		sc->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = sc;
		s->conns = sc;
		s->n_conns++;
	}
}

int rpc_server_listen(struct rpc_server *s, int listen_fd)
{
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	s->listen_fd = listen_fd;
	s->listen_io = loop_io_add(s->loop, listen_fd, EPOLLIN,
				   rpc_server_accept, s);
	return s->listen_io != NULL ? 0 : -1;
}

void rpc_server_free(struct rpc_server **_s)
{
	struct rpc_server *s = *_s;
	if (s == NULL)
		return;
	*_s = NULL;
	loop_io_remove(&s->listen_io);
	/* The owner's state may already be gone at exit. */
	s->disconnect_cb = NULL;
	while (s->conns != NULL)
		sconn_close(s->conns);
	free(s->service_name);
	free(s);
}

const char *rpc_status_name(Stratus__Status status)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&stratus__status__descriptor, (int)status);
	return v != NULL ? v->name : "unknown";
}

void rpc_status_add_counter(Stratus__StatusReply *r, const char *name,
			    uint64_t value)
{
	Stratus__Counter *c = xmalloc(sizeof(*c));
	stratus__counter__init(c);
	c->name = xstrdup(name);
	c->value = value;
	r->counters = xreallocarray(r->counters, r->n_counters + 1,
				    sizeof(*r->counters));
	r->counters[r->n_counters++] = c;
}
