/* RPC clients of the mail protocol services to the storage services (see
 * storage-client.h). */
#include "storage-client.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "blob.pb-c.h"
#include "index.pb-c.h"
#include "quota.pb-c.h"
#include "log.h"
#include "rpc-versions.h"
#include "service.h"

static struct rpc_client *
storage_rpc_client(struct loop *loop, const struct config *cfg,
		   const char *name, const ProtobufCServiceDescriptor *desc,
		   uint32_t major, uint32_t minor)
{
	char *path = service_rpc_socket_path(cfg, name);
	struct rpc_client *c = rpc_client_new(loop, path, desc, major, minor);
	free(path);
	return c;
}

/* A missing method is a build mismatch with proto/, not a runtime event. */
static uint32_t storage_method(const ProtobufCServiceDescriptor *desc,
			       const char *name)
{
	int i = rpc_method_index(desc, name);
	if (i < 0)
		log_panic("%s has no method %s", desc->name, name);
	return (uint32_t)i;
}

static void storage_methods_init(struct storage_methods *m)
{
	const ProtobufCServiceDescriptor *a = &stratus__auth__descriptor,
		*i = &stratus__index__descriptor,
		*b = &stratus__blob__descriptor,
		*q = &stratus__quota__descriptor;
	m->auth_userdb = storage_method(a, "UserdbLookup");
	m->index_status = storage_method(i, "MailboxStatus");
	m->index_create = storage_method(i, "MailboxCreate");
	m->index_subscribe = storage_method(i, "MailboxSubscribe");
	m->index_append = storage_method(i, "Append");
	m->index_open = storage_method(i, "MailboxOpen");
	m->index_fetch = storage_method(i, "Fetch");
	m->index_store = storage_method(i, "Store");
	m->index_expunge = storage_method(i, "Expunge");
	m->blob_put = storage_method(b, "Put");
	m->blob_get = storage_method(b, "Get");
	m->blob_delete = storage_method(b, "Delete");
	m->quota_check = storage_method(q, "Check");
	m->quota_commit = storage_method(q, "Commit");
	m->quota_changed = storage_method(q, "Changed");
}

void storage_client_open(struct storage_client *sc, struct loop *loop,
			 const struct config *cfg)
{
	memset(sc, 0, sizeof(*sc));
	sc->auth = storage_rpc_client(loop, cfg, "auth",
				      &stratus__auth__descriptor,
				      AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	sc->index = storage_rpc_client(loop, cfg, "index",
				       &stratus__index__descriptor,
				       INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	sc->blob = storage_rpc_client(loop, cfg, "blob",
				      &stratus__blob__descriptor,
				      BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	sc->quota = storage_rpc_client(loop, cfg, "quota",
				       &stratus__quota__descriptor,
				       QUOTA_RPC_MAJOR, QUOTA_RPC_MINOR);
	storage_methods_init(&sc->m);
}

void storage_client_close(struct storage_client *sc)
{
	rpc_client_free(&sc->auth);
	rpc_client_free(&sc->index);
	rpc_client_free(&sc->blob);
	rpc_client_free(&sc->quota);
}

void storage_context(Stratus__Context *ctx, const char *session,
		     const char *user, const char *client_ip,
		     unsigned int client_port, const char *service)
{
	stratus__context__init(ctx);
	ctx->session = (char *)session;
	ctx->user = (char *)(user != NULL ? user : "");
	ctx->client_ip = (char *)client_ip;
	ctx->client_port = client_port;
	ctx->service = (char *)service;
}

const char *storage_object_key(const char *object_id)
{
	const char *last = strrchr(object_id, '/');
	if (last == NULL)
		return object_id;
	const char *p = last;
	while (p > object_id && p[-1] != '/')
		p--;
	return p;
}

void storage_ignore_reply(const struct rpc_reply *reply, void *ctx)
{
	(void)reply;
	(void)ctx;
}

void storage_blob_delete(struct storage_client *sc,
			 const Stratus__Context *ctx, const char *user,
			 char *const *keys, size_t n)
{
	Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)user;
	req.keys = (char **)keys;
	req.n_keys = n;
	sc->n_blob_deletes += n;
	rpc_client_call(sc->blob, sc->m.blob_delete, ctx, &req.base, NULL, 0,
			RPC_DEFAULT_TIMEOUT_MS, storage_ignore_reply, NULL);
}

bool storage_quota_enabled(const struct config *cfg, const char *protocol)
{
	const char *root = config_plugin_get(cfg, protocol, "quota");
	return root != NULL && *root != '\0' &&
	       config_mail_plugin_enabled(cfg, protocol, "quota");
}
