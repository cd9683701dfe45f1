/* svc-blob's state and its RPC handlers (blob-rpc.c). */
#ifndef STRATUS_BLOB_H
#define STRATUS_BLOB_H

#include "fs.h"
#include "blob-stats.h"
#include "rpc.h"
#include "service.h"

struct blob {
	struct loop *loop;
	struct fs *mail_fs;	/* obox_fs, wrapped for zlib */
	struct fs *index_fs;	/* obox_index_fs */
	char *key_tmpl;		/* "%2Mu/%2.3Mu/%u" from mail_location */
	struct blob_stats stats;
};

/* Reads the settings and builds both chains; -1 with *error_r. */
int blob_init(struct blob *blob, const struct config *cfg, struct loop *loop,
	      char **error_r);
void blob_deinit(struct blob *blob);

void blob_rpc_put(struct rpc_call *call, const ProtobufCMessage *req);
void blob_rpc_get(struct rpc_call *call, const ProtobufCMessage *req);
void blob_rpc_head(struct rpc_call *call, const ProtobufCMessage *req);
void blob_rpc_delete(struct rpc_call *call, const ProtobufCMessage *req);
void blob_rpc_copy(struct rpc_call *call, const ProtobufCMessage *req);
void blob_rpc_list(struct rpc_call *call, const ProtobufCMessage *req);

#endif
