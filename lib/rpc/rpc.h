/* Stratus RPC: one framing for every service. A frame is a 4-byte
 * big-endian length followed by a stratus.Frame protobuf; bodies travel as
 * file descriptors (SCM_RIGHTS) attached to the frame's first byte. The
 * first frame each way is a Hello naming the service and its version; a
 * major mismatch closes the connection. A malformed or oversized frame
 * closes that one connection and is logged; the process goes on. */
#ifndef STRATUS_RPC_H
#define STRATUS_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "loop.h"
#include "common.pb-c.h"

/* Hard limits. A frame never carries a message body, so 1 MiB is ample;
 * a peer can ask for less (rpc_server_set_max_frame). */
#define RPC_FRAME_MAX (1024 * 1024)
#define RPC_FRAME_MIN_MAX 64
#define RPC_MAX_FDS_PER_FRAME 8
#define RPC_MAX_PENDING_FDS 64
#define RPC_DEFAULT_TIMEOUT_MS 30000
_Static_assert(RPC_MAX_FDS_PER_FRAME <= RPC_MAX_PENDING_FDS,
	       "a frame's fds must fit the receive queue");

/* Method ids beyond any descriptor index, handled by lib/rpc itself. */
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#define RPC_METHOD_HELLO 0x10000u
#define RPC_METHOD_STATUS 0x10001u
/* The status-only service (status.proto) any RPC socket also answers. */
#define RPC_CONTROL_MAJOR 1
#define RPC_CONTROL_MINOR 1

/* ---- server side ---- */

struct rpc_server;
struct rpc_call;

typedef void rpc_handler_fn(struct rpc_call *call,
			    const ProtobufCMessage *request);

/* Fills the status reply's counters; called per status request. */
#include "status.pb-c.h"
typedef void rpc_status_fn(struct Stratus__StatusReply *reply, void *ctx);

/* For status callbacks: appends a counter (the name is copied). */
void rpc_status_add_counter(Stratus__StatusReply *reply, const char *name,
			    uint64_t value);

/* handlers[i] serves desc->methods[i]; a NULL or missing entry (i >=
 * n_handlers) answers STATUS_UNKNOWN_METHOD. allow_uid: peer uid allowed to call besides root
 * and our own uid ((uid_t)-1 = anyone). */
struct rpc_server *rpc_server_new(struct loop *loop,
				  const ProtobufCServiceDescriptor *desc,
				  uint32_t major, uint32_t minor,
				  rpc_handler_fn *const *handlers,
				  size_t n_handlers, void *handler_ctx);
void rpc_server_set_max_frame(struct rpc_server *server, size_t max);
void rpc_server_set_allow_uid(struct rpc_server *server, long uid);
void rpc_server_set_status_cb(struct rpc_server *server,
			      const char *service_name, rpc_status_fn *cb,
			      void *ctx);
/* Starts accepting on an already listening socket (owned by the caller). */
int rpc_server_listen(struct rpc_server *server, int listen_fd);
unsigned int rpc_server_connection_count(const struct rpc_server *server);
uint64_t rpc_server_bad_frames(const struct rpc_server *server);
void rpc_server_free(struct rpc_server **server);

void *rpc_call_handler_ctx(const struct rpc_call *call);
const Stratus__Context *rpc_call_context(const struct rpc_call *call);
/* The decoded request, valid until the call ends (handlers that answer
 * later need not copy it). */
const ProtobufCMessage *rpc_call_request(const struct rpc_call *call);
/* Identifies the client connection a call came on (unique for the
 * server's lifetime, never 0), so state a client holds (sessions,
 * connection counts) can be dropped when that client goes away. */
uint64_t rpc_call_conn_id(const struct rpc_call *call);
/* Called once per client connection that completed its hello, when it
 * closes (peer exit, crash, bad frame); not called from rpc_server_free. */
typedef void rpc_disconnect_fn(uint64_t conn_id, void *ctx);
void rpc_server_set_disconnect_cb(struct rpc_server *server,
				  rpc_disconnect_fn *cb, void *ctx);
/* Takes ownership of received fd i (-1 if absent or already taken).
 * Untaken fds are closed when the call ends. */
int rpc_call_take_fd(struct rpc_call *call, size_t i);
size_t rpc_call_fd_count(const struct rpc_call *call);
/* Ends the call. fds are sent and stay owned by the caller. A reply to a
 * client that has gone away is silently dropped. */
void rpc_call_reply(struct rpc_call *call, const ProtobufCMessage *reply,
		    const int *fds, size_t n_fds);
void rpc_call_fail(struct rpc_call *call, Stratus__Status status,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- client side ---- */

struct rpc_client;

struct rpc_reply {
	Stratus__Status status;
	const char *error;	/* NULL on success */
	ProtobufCMessage *msg;	/* unpacked reply, NULL on failure */
	int *fds;		/* set an entry to -1 to keep that fd */
	size_t n_fds;
};

typedef void rpc_reply_cb(const struct rpc_reply *reply, void *ctx);

/* Connects lazily (on the first call) and again after a failure. */
struct rpc_client *rpc_client_new(struct loop *loop, const char *socket_path,
				  const ProtobufCServiceDescriptor *desc,
				  uint32_t major, uint32_t minor);
void rpc_client_free(struct rpc_client **client);
void rpc_client_set_context(struct rpc_client *client,
			    const Stratus__Context *ctx);

/* Sends a request; cb runs exactly once, from the loop (never from inside
 * this call), with the reply or an error (STATUS_UNAVAILABLE when the peer
 * could not be reached or went away, STATUS_TIMEOUT). method is a
 * descriptor index or RPC_METHOD_STATUS. ctx_override may be NULL. */
void rpc_client_call(struct rpc_client *client, uint32_t method,
		     const Stratus__Context *ctx_override,
		     const ProtobufCMessage *request, const int *fds,
		     size_t n_fds, uint32_t timeout_ms, rpc_reply_cb *cb,
		     void *cb_ctx);

/* For command-line tools and tests: runs the loop until the reply. The
 * reply's msg and fds then belong to the caller (rpc_reply_clear). */
int rpc_client_call_sync(struct rpc_client *client, uint32_t method,
			 const ProtobufCMessage *request, const int *fds,
			 size_t n_fds, uint32_t timeout_ms,
			 struct rpc_reply *reply_r);
void rpc_reply_clear(struct rpc_reply *reply);

const char *rpc_status_name(Stratus__Status status);
/* Index of a method by name in a service descriptor, or -1. Lets callers
 * name methods instead of hard-coding descriptor positions. */
int rpc_method_index(const ProtobufCServiceDescriptor *desc,
		     const char *name);

#endif
