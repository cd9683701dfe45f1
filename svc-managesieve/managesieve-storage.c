/* A user's Sieve scripts as objects in svc-blob, asynchronously: the
 * layout (keys, names, which listed keys are scripts) is
 * lib/sieve/sieve-storage.h's, shared with svc-lmtp and stratusctl.
 * Every call's callback runs from the loop. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "managesieve-common.h"
#include "rpc-versions.h"
#include "blob.pb-c.h"

enum { BLOB_PUT = 0, BLOB_GET = 1, BLOB_HEAD = 2, BLOB_DELETE = 3,
       BLOB_COPY = 4, BLOB_LIST = 5 };

struct storage_call {
	struct ms_client *client;
	ms_get_cb *get_cb;
	ms_done_cb *done_cb;
	ms_list_cb *list_cb;
	struct sieve_storage_entry *entries;
	size_t n_entries;
};

void ms_storage_init(struct ms_ctx *ctx)
{
	char *path = service_rpc_socket_path(ctx->svc->cfg, "blob");

	ctx->blob = rpc_client_new(ctx->svc->loop, path,
				   &stratus__blob__descriptor,
				   BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	free(path);
}

void ms_storage_deinit(struct ms_ctx *ctx)
{
	rpc_client_free(&ctx->blob);
}

static void context(struct ms_client *client, Stratus__Context *c)
{
	stratus__context__init(c);
	c->session = client->session;
	c->user = client->user;
	c->client_ip = client->ip;
	c->client_port = client->port;
	c->service = (char *)"managesieve";
}

static struct storage_call *call_new(struct ms_client *client)
{
	struct storage_call *sc = xcalloc(1, sizeof(*sc));

	sc->client = client;
	ms_client_ref(client);
	return sc;
}

static int status_of(const struct rpc_reply *reply)
{
	if (reply->status == STRATUS__STATUS__STATUS_OK)
		return MS_OK;
	return reply->status == STRATUS__STATUS__STATUS_NOT_FOUND ?
	       MS_NOT_FOUND : MS_FAIL;
}

static void log_failure(struct ms_client *client,
			const struct rpc_reply *reply, const char *what)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK &&
	    reply->status != STRATUS__STATUS__STATUS_NOT_FOUND)
		log_error(&client->log, "blob %s failed: %s", what,
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
}

static void get_reply(const struct rpc_reply *reply, void *ctx)
{
	struct storage_call *sc = ctx;
	struct ms_client *client = sc->client;
	struct buf data = BUF_INIT;
	int status = status_of(reply);

	if (!ms_client_unref(client)) {
		free(sc);
		return;
	}
	log_failure(client, reply, "get");
	if (status == MS_OK) {
		char tmp[16384];
		ssize_t n;
		int fd = reply->n_fds > 0 ? reply->fds[0] : -1;

		buf_init(&data, client->ctx->set.max_script_size + 1);
		while (fd >= 0 && (n = read(fd, tmp, sizeof(tmp))) > 0) {
			if (buf_append(&data, tmp, (size_t)n) < 0) {
				status = MS_FAIL;
				break;
			}
		}
		if (fd < 0)
			status = MS_FAIL;
	}
	sc->get_cb(client, status, data.data != NULL ? data.data : "",
		   data.len);
	buf_free(&data);
	free(sc);
}

void ms_storage_get(struct ms_client *client, const char *key,
		    ms_get_cb *cb)
{
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	Stratus__Context c;
	struct storage_call *sc = call_new(client);

	sc->get_cb = cb;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = client->user;
	req.key = (char *)key;
	context(client, &c);
	rpc_client_call(client->ctx->blob, BLOB_GET, &c, &req.base, NULL, 0,
			MS_RPC_TIMEOUT_MS, get_reply, sc);
}

static void done_reply(const struct rpc_reply *reply, void *ctx)
{
	struct storage_call *sc = ctx;
	struct ms_client *client = sc->client;
	int status = status_of(reply);

	if (!ms_client_unref(client)) {
		free(sc);
		return;
	}
	log_failure(client, reply, "update");
	if (status == MS_OK && reply->msg != NULL &&
	    reply->msg->descriptor == &stratus__blob_delete_reply__descriptor) {
		const Stratus__BlobDeleteReply *d =
			(const Stratus__BlobDeleteReply *)reply->msg;

		if (d->deleted == 0)
			status = MS_NOT_FOUND;
	}
	sc->done_cb(client, status);
	free(sc);
}

void ms_storage_put(struct ms_client *client, const char *key,
		    const void *data, size_t len, ms_done_cb *cb)
{
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__Context c;
	struct storage_call *sc;
	int fd = memfd_create("sieve", MFD_CLOEXEC);
	size_t off = 0;

	while (fd >= 0 && off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n <= 0) {
			close(fd);
			fd = -1;
			break;
		}
		off += (size_t)n;
	}
	if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		log_error(&client->log, "memfd for a script failed");
		cb(client, MS_FAIL);
		return;
	}
	sc = call_new(client);
	sc->done_cb = cb;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = client->user;
	req.key = (char *)key;
	context(client, &c);
	rpc_client_call(client->ctx->blob, BLOB_PUT, &c, &req.base, &fd, 1,
			MS_RPC_TIMEOUT_MS, done_reply, sc);
	close(fd);	/* the RPC layer sends a duplicate */
}

void ms_storage_delete(struct ms_client *client, const char *const *keys,
		       size_t n, ms_done_cb *cb)
{
	Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
	Stratus__Context c;
	struct storage_call *sc = call_new(client);

	sc->done_cb = cb;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = client->user;
	req.keys = (char **)keys;
	req.n_keys = n;
	context(client, &c);
	rpc_client_call(client->ctx->blob, BLOB_DELETE, &c, &req.base, NULL, 0,
			MS_RPC_TIMEOUT_MS, done_reply, sc);
}

static void list_page(struct storage_call *sc, const char *continuation);

static void list_reply(const struct rpc_reply *reply, void *ctx)
{
	struct storage_call *sc = ctx;
	struct ms_client *client = sc->client;
	const Stratus__BlobListReply *r;

	if (!ms_client_unref(client)) {
		sieve_storage_entries_free(sc->entries, sc->n_entries);
		free(sc);
		return;
	}
	log_failure(client, reply, "list");
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		sc->list_cb(client, status_of(reply) == MS_NOT_FOUND ? MS_OK :
			    MS_FAIL, sc->entries, 0);
		sieve_storage_entries_free(sc->entries, sc->n_entries);
		free(sc);
		return;
	}
	r = (const Stratus__BlobListReply *)reply->msg;
	for (size_t i = 0; i < r->n_entries; i++) {
		const char *name =
			sieve_storage_key_script_name(r->entries[i]->key);

		if (name == NULL)
			continue;
		sc->entries = xreallocarray(sc->entries, sc->n_entries + 1,
					    sizeof(*sc->entries));
		sc->entries[sc->n_entries].name = xstrdup(name);
		sc->entries[sc->n_entries++].size = r->entries[i]->size;
	}
	if (r->continuation != NULL && r->continuation[0] != '\0' &&
	    sc->n_entries < 100000) {
		ms_client_ref(client);
		list_page(sc, r->continuation);
		return;
	}
	sc->list_cb(client, MS_OK, sc->entries, sc->n_entries);
	sieve_storage_entries_free(sc->entries, sc->n_entries);
	free(sc);
}

static void list_page(struct storage_call *sc, const char *continuation)
{
	Stratus__BlobListRequest req = STRATUS__BLOB_LIST_REQUEST__INIT;
	Stratus__Context c;

	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = sc->client->user;
	req.prefix = (char *)SIEVE_STORAGE_PREFIX;
	req.continuation = (char *)(continuation != NULL ? continuation : "");
	context(sc->client, &c);
	rpc_client_call(sc->client->ctx->blob, BLOB_LIST, &c, &req.base, NULL,
			0, MS_RPC_TIMEOUT_MS, list_reply, sc);
}

void ms_storage_list(struct ms_client *client, ms_list_cb *cb)
{
	struct storage_call *sc = call_new(client);

	sc->list_cb = cb;
	list_page(sc, NULL);
}
