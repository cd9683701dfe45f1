/* svc-index: the administration methods behind `stratusctl metacache`
 * and `stratusctl index rebuild` (index-admin.c). */
#ifndef STRATUS_INDEX_ADMIN_H
#define STRATUS_INDEX_ADMIN_H

#include "rpc.h"

void index_admin_cache_list(struct rpc_call *call, const ProtobufCMessage *m);
void index_admin_cache_flush(struct rpc_call *call, const ProtobufCMessage *m);
void index_admin_cache_clean(struct rpc_call *call, const ProtobufCMessage *m);
void index_admin_rebuild(struct rpc_call *call, const ProtobufCMessage *m);

#endif
