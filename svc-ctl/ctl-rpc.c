/* One synchronous RPC from stratusctl to a service, by method name. */
#include "ctl.h"
#include "buf.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>

#define CTL_RPC_TIMEOUT_MS 30000

int ctl_rpc_call(const struct config *cfg, const char *service,
		 const ProtobufCServiceDescriptor *desc, uint32_t major,
		 uint32_t minor, const char *method,
		 const ProtobufCMessage *request, struct rpc_reply *reply_r)
{
	int index = rpc_method_index(desc, method);
	if (index < 0) {
		fprintf(stderr, "stratusctl: %s has no method %s\n",
			desc->name, method);
		return -1;
	}
	char *path = service_rpc_socket_path(cfg, service);
	struct loop *loop = loop_new();
	struct rpc_client *c = rpc_client_new(loop, path, desc, major, minor);
	int ret = rpc_client_call_sync(c, (uint32_t)index, request, NULL, 0,
				       CTL_RPC_TIMEOUT_MS, reply_r);
	if (ret < 0)
		fprintf(stderr, "stratusctl: %s %s: %s (%s)%s%s%s\n", service,
			method,
			reply_r->error != NULL ? reply_r->error : "failed",
			rpc_status_name(reply_r->status),
			reply_r->status == STRATUS__STATUS__STATUS_UNAVAILABLE ?
			" - is stratus-" : "",
			reply_r->status == STRATUS__STATUS__STATUS_UNAVAILABLE ?
			service : "",
			reply_r->status == STRATUS__STATUS__STATUS_UNAVAILABLE ?
			" running?" : "");
	rpc_client_free(&c);
	loop_free(&loop);
	free(path);
	return ret;
}
