/* Internals shared by the RPC files: the framed connection. */
#ifndef STRATUS_RPC_PRIVATE_H
#define STRATUS_RPC_PRIVATE_H

#include "rpc.h"
#include "buf.h"
#include <sys/types.h>

struct rpc_conn;

/* Called per complete, decoded frame; fds belong to the callee (n_fds of
 * them, as the frame announced). Return -1 to close the connection. */
typedef int rpc_frame_fn(struct rpc_conn *conn, Stratus__Frame *frame,
			 int *fds, size_t n_fds, void *ctx);
/* The connection is closed; reason is for the log. */
typedef void rpc_close_fn(struct rpc_conn *conn, const char *reason,
			  void *ctx);

struct rpc_conn *rpc_conn_new(struct loop *loop, int fd, size_t max_frame,
			      rpc_frame_fn *on_frame, rpc_close_fn *on_close,
			      void *ctx);
/* Queues a frame; fds are duplicated so the caller keeps its own. */
int rpc_conn_send(struct rpc_conn *conn, const Stratus__Frame *frame,
		  const int *fds, size_t n_fds);
/* Closes now, without calling on_close. */
void rpc_conn_free(struct rpc_conn **conn);
void rpc_conn_set_max_frame(struct rpc_conn *conn, size_t max);
const char *rpc_conn_label(const struct rpc_conn *conn);
void rpc_conn_set_label(struct rpc_conn *conn, const char *label);

/* Frame encoding, exposed for the fuzz target and tests. Returns the
 * frame length prefix decoded from 4 bytes. */
uint32_t rpc_frame_length(const unsigned char *hdr);
/* Packs frame with its length prefix into out. 0 or -1 (over max). */
int rpc_frame_pack(const Stratus__Frame *frame, size_t max, struct buf *out);
/* Unpacks and validates one frame body (without prefix). NULL on garbage;
 * *error_r says why. Free with stratus__frame__free_unpacked(f, NULL). */
Stratus__Frame *rpc_frame_unpack(const unsigned char *data, size_t len,
			       const char **error_r);

#endif
