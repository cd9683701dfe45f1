/* svc-blob's RPC handlers (contract in proto/blob.proto). Each handler
 * re-validates what the caller sent (chain, user, key), builds the full
 * storage key from the user's prefix and starts the fs operation; the
 * reply goes out from the operation's callback. A put is answered only
 * after the bottom driver reported the object durably stored. */
#include "blob.h"
#include "blob-keys.h"
#include "blob-share.h"
#include "blob.pb-c.h"
#include "buf.h"
#include "fs-drivers.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct blob_call {
	struct rpc_call *call;
	struct blob *blob;
	char *prefix;		/* the user's key prefix */
	int fd;			/* put: the body */
	uint64_t offset, length;	/* get range */
	char **keys;		/* delete */
	size_t n_keys;
	struct log_ctx log;
	char *log_user;
};

static Stratus__Status fs_to_rpc_status(enum fs_status st)
{
	switch (st) {
	case FS_OK: return STRATUS__STATUS__STATUS_OK;
	case FS_NOT_FOUND: return STRATUS__STATUS__STATUS_NOT_FOUND;
	case FS_INVALID: return STRATUS__STATUS__STATUS_INVALID;
	case FS_DENIED: return STRATUS__STATUS__STATUS_ERROR;
	case FS_TEMPFAIL: return STRATUS__STATUS__STATUS_TEMPFAIL;
	case FS_CONFLICT: return STRATUS__STATUS__STATUS_EXISTS;
	}
	return STRATUS__STATUS__STATUS_ERROR;
}

static void blob_call_free(struct blob_call *bc)
{
	if (bc->fd >= 0)
		close(bc->fd);
	for (size_t i = 0; i < bc->n_keys; i++)
		free(bc->keys[i]);
	free(bc->keys);
	free(bc->prefix);
	free(bc->log_user);
	free(bc);
}

/* Common checks; returns the call state or NULL after failing the call. */
static struct blob_call *blob_call_begin(struct rpc_call *call,
					 Stratus__BlobChain chain,
					 const char *user, struct fs **fs_r)
{
	struct service *svc = rpc_call_handler_ctx(call);
	struct blob *blob = svc->ctx;
	const char *error;
	struct fs *fs = chain == STRATUS__BLOB_CHAIN__CHAIN_MAIL ? blob->mail_fs :
		chain == STRATUS__BLOB_CHAIN__CHAIN_INDEX ? blob->index_fs : NULL;
	if (chain != STRATUS__BLOB_CHAIN__CHAIN_MAIL &&
	    chain != STRATUS__BLOB_CHAIN__CHAIN_INDEX) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "unknown chain");
		return NULL;
	}
	if (fs == NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_TEMPFAIL, "%s is not configured",
			      chain == STRATUS__BLOB_CHAIN__CHAIN_MAIL ?
			      "plugin/obox_fs" : "plugin/obox_index_fs");
		return NULL;
	}
	char *prefix = blob_keys_user_prefix(blob->key_tmpl, user, &error);
	if (prefix == NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "user: %s", error);
		return NULL;
	}
	struct blob_call *bc = xcalloc(1, sizeof(*bc));
	const Stratus__Context *ctx = rpc_call_context(call);
	bc->call = call;
	bc->blob = blob;
	bc->prefix = prefix;
	bc->fd = -1;
	bc->log_user = xstrdup(user);
	bc->log.user = bc->log_user;
	bc->log.session = ctx != NULL ? ctx->session : NULL;
	/* the fs call follows at once: per-user headers (addhdr) */
	fs_set_request_user(fs, user);
	*fs_r = fs;
	return bc;
}

static char *full_key(struct blob_call *bc, const char *key)
{
	return xasprintf("%s%s", bc->prefix, key);
}

/* A single-instance mail object (blob-share.h) lives under its owner's
 * prefix whoever reads it: bc->prefix becomes the owner's. false after
 * failing the call (an owner that cannot be part of a key). */
static bool blob_call_share_prefix(struct blob_call *bc,
				   Stratus__BlobChain chain, const char *key)
{
	char *owner;
	unsigned int n;
	const char *error;
	if (chain != STRATUS__BLOB_CHAIN__CHAIN_MAIL ||
	    !blob_share_parse(key, &owner, &n))
		return true;
	char *prefix = blob_keys_user_prefix(bc->blob->key_tmpl, owner, &error);
	free(owner);
	if (prefix == NULL) {
		rpc_call_fail(bc->call, STRATUS__STATUS__STATUS_INVALID,
			      "shared object owner: %s", error);
		return false;
	}
	free(bc->prefix);
	bc->prefix = prefix;
	return true;
}

static void fail_from_result(struct blob_call *bc, const char *what,
			     const char *key, const struct fs_result *r)
{
	if (r->status == FS_TEMPFAIL || r->status == FS_DENIED)
		log_error(&bc->log, "%s %s failed: %s", what, key, r->error);
	rpc_call_fail(bc->call, fs_to_rpc_status(r->status), "%s %s: %s",
		      what, key, r->error);
}

static void meta_from_proto(struct fs_meta *m, const Stratus__BlobMeta *p)
{
	memset(m, 0, sizeof(*m));
	if (p == NULL)
		return;
	m->mailbox_guid = p->mailbox_guid[0] ? p->mailbox_guid : NULL;
	m->message_guid = p->message_guid[0] ? p->message_guid : NULL;
	m->received_date = p->received_date;
	m->save_date = p->save_date;
	m->physical_size = p->physical_size;
	m->virtual_size = p->virtual_size;
	m->generation = p->generation;
}

static void meta_to_proto(Stratus__BlobMeta *p, const struct fs_meta *m)
{
	stratus__blob_meta__init(p);
	p->mailbox_guid = m->mailbox_guid ? m->mailbox_guid : "";
	p->message_guid = m->message_guid ? m->message_guid : "";
	p->received_date = m->received_date;
	p->save_date = m->save_date;
	p->physical_size = m->physical_size;
	p->virtual_size = m->virtual_size;
	p->generation = m->generation;
}

/* ---- Put ---- */

struct blob_put {
	struct blob_call *bc;
	char *key;
};

static void blob_put_done(struct fs_result *r, void *ctx)
{
	struct blob_put *bp = ctx;
	if (r->status != FS_OK) {
		fail_from_result(bp->bc, "put", bp->key, r);
	} else {
		Stratus__BlobPutReply reply = STRATUS__BLOB_PUT_REPLY__INIT;
		reply.object_id = bp->key;
		reply.stored_size = r->size;
		reply.etag = r->meta.etag != NULL ? r->meta.etag : "";
		rpc_call_reply(bp->bc->call, &reply.base, NULL, 0);
	}
	blob_call_free(bp->bc);
	free(bp->key);
	free(bp);
}

void blob_rpc_put(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__BlobPutRequest *req = (const void *)msg;
	const char *error;
	struct fs *fs;
	struct stat st;
	if (!blob_key_valid(req->key, false, &error)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "key: %s", error);
		return;
	}
	int fd = rpc_call_take_fd(call, 0);
	if (fd < 0) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "put needs the body as fd 0");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FS_MAX_OBJECT_SIZE) {
		close(fd);
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
			      "the body must be a regular file or memfd of at most %llu bytes",
			      (unsigned long long)FS_MAX_OBJECT_SIZE);
		return;
	}
	struct blob_call *bc = blob_call_begin(call, req->chain, req->user, &fs);
	if (bc == NULL) {
		close(fd);
		return;
	}
	bc->fd = fd;
	char *owner;
	unsigned int n_users;
	if (req->chain == STRATUS__BLOB_CHAIN__CHAIN_MAIL &&
	    blob_share_parse(req->key, &owner, &n_users)) {
		/* a shared object is stored by its owner only */
		bool mine = strcmp(owner, req->user) == 0;
		free(owner);
		if (!mine) {
			rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
				      "key: a shared object's owner must be the user");
			blob_call_free(bc);
			return;
		}
	}
	struct blob_put *bp = xcalloc(1, sizeof(*bp));
	struct fs_meta meta;
	bp->bc = bc;
	bp->key = full_key(bc, req->key);
	meta_from_proto(&meta, req->meta);
	meta.precompressed = req->compressed;
	meta.if_match = req->if_match[0] != '\0' ? req->if_match : NULL;
	meta.if_none_match = req->if_none_match;
	if (meta.physical_size == 0)
		meta.physical_size = (uint64_t)st.st_size;
	fs_put(fs, bp->key, fd, &meta, blob_put_done, bp);
}

/* ---- Get / Head ---- */

struct blob_get {
	struct blob_call *bc;
	char *key;
	bool head;
};

/* A memfd holding [offset, offset+length) of fd. */
static int range_fd(int fd, uint64_t size, uint64_t offset, uint64_t length,
		    uint64_t *len_r)
{
	uint64_t len = offset >= size ? 0 : size - offset;
	if (length != 0 && length < len)
		len = length;
	int out = fs_memfd("blob-range");
	if (out < 0)
		return -1;
	off_t off = (off_t)offset;
	uint64_t done = 0;
	char buf[65536];
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, off);
		if (n <= 0 || write(out, buf, (size_t)n) != n) {
			close(out);
			return -1;
		}
		off += n;
		done += (uint64_t)n;
	}
	*len_r = len;
	return out;
}

static void blob_get_done(struct fs_result *r, void *ctx)
{
	struct blob_get *bg = ctx;
	struct blob_call *bc = bg->bc;
	if (r->status != FS_OK) {
		fail_from_result(bc, bg->head ? "head" : "get", bg->key, r);
	} else if (bg->head) {
		Stratus__BlobHeadReply reply = STRATUS__BLOB_HEAD_REPLY__INIT;
		Stratus__BlobMeta meta;
		meta_to_proto(&meta, &r->meta);
		reply.size = r->meta.physical_size != 0 ? r->meta.physical_size : r->size;
		reply.meta = &meta;
		reply.etag = r->meta.etag != NULL ? r->meta.etag : "";
		rpc_call_reply(bc->call, &reply.base, NULL, 0);
	} else {
		Stratus__BlobGetReply reply = STRATUS__BLOB_GET_REPLY__INIT;
		Stratus__BlobMeta meta;
		int fd = r->fd;
		uint64_t size = r->size;
		if (bc->offset != 0 || bc->length != 0) {
			fd = range_fd(r->fd, r->size, bc->offset, bc->length, &size);
			if (fd < 0) {
				rpc_call_fail(bc->call, STRATUS__STATUS__STATUS_TEMPFAIL,
					      "get %s: copying the range failed", bg->key);
				goto out;
			}
		}
		/* the receiver reads from the shared file offset */
		(void)lseek(fd, 0, SEEK_SET);
		meta_to_proto(&meta, &r->meta);
		reply.size = size;
		reply.meta = &meta;
		reply.from_cache = r->from_cache;
		reply.etag = r->meta.etag != NULL ? r->meta.etag : "";
		rpc_call_reply(bc->call, &reply.base, &fd, 1);
		if (fd != r->fd)
			close(fd);
	}
out:
	blob_call_free(bc);
	free(bg->key);
	free(bg);
}

static void blob_get_start(struct rpc_call *call, Stratus__BlobChain chain,
			   const char *user, const char *key, bool head,
			   uint64_t offset, uint64_t length)
{
	const char *error;
	struct fs *fs;
	if (!blob_key_valid(key, false, &error)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "key: %s", error);
		return;
	}
	struct blob_call *bc = blob_call_begin(call, chain, user, &fs);
	if (bc == NULL)
		return;
	if (!blob_call_share_prefix(bc, chain, key)) {
		blob_call_free(bc);
		return;
	}
	struct blob_get *bg = xcalloc(1, sizeof(*bg));
	bg->bc = bc;
	bg->key = full_key(bc, key);
	bg->head = head;
	bc->offset = offset;
	bc->length = length;
	if (head)
		fs_head(fs, bg->key, blob_get_done, bg);
	else
		fs_get(fs, bg->key, blob_get_done, bg);
}

void blob_rpc_get(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__BlobGetRequest *req = (const void *)msg;
	blob_get_start(call, req->chain, req->user, req->key, false,
		       req->offset, req->length);
}

void blob_rpc_head(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__BlobHeadRequest *req = (const void *)msg;
	blob_get_start(call, req->chain, req->user, req->key, true, 0, 0);
}

/* ---- Delete ---- */

static void blob_delete_done(struct fs_result *r, void *ctx)
{
	struct blob_call *bc = ctx;
	if (r->status != FS_OK) {
		fail_from_result(bc, "delete", bc->n_keys > 0 ? bc->keys[0] : "", r);
	} else {
		Stratus__BlobDeleteReply reply = STRATUS__BLOB_DELETE_REPLY__INIT;
		size_t plen = strlen(bc->prefix);
		reply.deleted = r->deleted;
		reply.n_failed = r->n_failed;
		reply.failed = r->failed;
		/* answer in the caller's (relative) key space */
		for (size_t i = 0; i < r->n_failed; i++) {
			if (strncmp(r->failed[i], bc->prefix, plen) == 0)
				memmove(r->failed[i], r->failed[i] + plen,
					strlen(r->failed[i]) - plen + 1);
		}
		rpc_call_reply(bc->call, &reply.base, NULL, 0);
	}
	blob_call_free(bc);
}

void blob_rpc_delete(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__BlobDeleteRequest *req = (const void *)msg;
	const char *error;
	struct fs *fs;
	if (req->n_keys == 0 || req->n_keys > FS_DELETE_MAX_KEYS * 10) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
			      "delete takes 1..%d keys", FS_DELETE_MAX_KEYS * 10);
		return;
	}
	for (size_t i = 0; i < req->n_keys; i++) {
		if (!blob_key_valid(req->keys[i], false, &error)) {
			rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
				      "key %zu: %s", i, error);
			return;
		}
	}
	struct blob_call *bc = blob_call_begin(call, req->chain, req->user, &fs);
	if (bc == NULL)
		return;
	if (req->chain == STRATUS__BLOB_CHAIN__CHAIN_MAIL &&
	    blob_share_any(req->keys, req->n_keys)) {
		/* some are releases of shared objects (blob-share.c) */
		blob_share_delete(call, bc->blob, fs, req->user, req->keys,
				  req->n_keys);
		blob_call_free(bc);
		return;
	}
	bc->keys = xcalloc(req->n_keys, sizeof(char *));
	for (size_t i = 0; i < req->n_keys; i++)
		bc->keys[bc->n_keys++] = full_key(bc, req->keys[i]);
	fs_delete(fs, (const char *const *)bc->keys, bc->n_keys,
		  blob_delete_done, bc);
}

/* ---- Copy ---- */

static void blob_copy_done(struct fs_result *r, void *ctx)
{
	struct blob_call *bc = ctx;
	if (r->status != FS_OK) {
		fail_from_result(bc, "copy", bc->keys[0], r);
	} else {
		Stratus__BlobCopyReply reply = STRATUS__BLOB_COPY_REPLY__INIT;
		rpc_call_reply(bc->call, &reply.base, NULL, 0);
	}
	blob_call_free(bc);
}

void blob_rpc_copy(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__BlobCopyRequest *req = (const void *)msg;
	const char *error;
	struct fs *fs;
	if (!blob_key_valid(req->src_key, false, &error) ||
	    !blob_key_valid(req->dst_key, false, &error)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "key: %s", error);
		return;
	}
	struct blob_call *bc = blob_call_begin(call, req->chain, req->user, &fs);
	if (bc == NULL)
		return;
	char *dst_prefix = NULL;
	if (req->dst_user[0] != '\0') {
		dst_prefix = blob_keys_user_prefix(bc->blob->key_tmpl,
						   req->dst_user, &error);
		if (dst_prefix == NULL) {
			rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
				      "dst_user: %s", error);
			blob_call_free(bc);
			return;
		}
	}
	bc->keys = xcalloc(2, sizeof(char *));
	char *src_prefix = NULL;
	char *owner;
	unsigned int n_users;
	if (req->chain == STRATUS__BLOB_CHAIN__CHAIN_MAIL &&
	    blob_share_parse(req->src_key, &owner, &n_users)) {
		/* copying out of a shared object reads its owner's */
		src_prefix = blob_keys_user_prefix(bc->blob->key_tmpl, owner,
						   &error);
		free(owner);
		if (src_prefix == NULL) {
			rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
				      "shared object owner: %s", error);
			free(dst_prefix);
			blob_call_free(bc);
			return;
		}
	}
	bc->keys[0] = xasprintf("%s%s", src_prefix != NULL ? src_prefix :
				bc->prefix, req->src_key);
	free(src_prefix);
	bc->keys[1] = xasprintf("%s%s", dst_prefix ? dst_prefix : bc->prefix,
				req->dst_key);
	bc->n_keys = 2;
	free(dst_prefix);
	fs_copy(fs, bc->keys[0], bc->keys[1], blob_copy_done, bc);
}

/* ---- List ---- */

static void blob_list_done(struct fs_result *r, void *ctx)
{
	struct blob_call *bc = ctx;
	if (r->status != FS_OK) {
		fail_from_result(bc, "list", bc->prefix, r);
		blob_call_free(bc);
		return;
	}
	Stratus__BlobListReply reply = STRATUS__BLOB_LIST_REPLY__INIT;
	Stratus__BlobListEntry *ents = xcalloc(r->n_entries + 1, sizeof(*ents));
	Stratus__BlobListEntry **ptrs = xcalloc(r->n_entries + 1, sizeof(*ptrs));
	size_t plen = strlen(bc->prefix), n = 0;
	for (size_t i = 0; i < r->n_entries; i++) {
		/* never hand out keys outside the user's prefix */
		if (strncmp(r->entries[i].key, bc->prefix, plen) != 0)
			continue;
		stratus__blob_list_entry__init(&ents[n]);
		ents[n].key = r->entries[i].key + plen;
		ents[n].size = r->entries[i].size;
		ptrs[n] = &ents[n];
		n++;
	}
	reply.n_entries = n;
	reply.entries = ptrs;
	reply.continuation = r->next != NULL ? r->next : "";
	reply.key_prefix = bc->prefix;	/* lets a rebuild name object ids */
	rpc_call_reply(bc->call, &reply.base, NULL, 0);
	free(ents);
	free(ptrs);
	blob_call_free(bc);
}

void blob_rpc_list(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__BlobListRequest *req = (const void *)msg;
	const char *error;
	struct fs *fs;
	if (!blob_key_valid(req->prefix, true, &error) ||
	    strlen(req->continuation) > FS_KEY_MAX * 2) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "prefix: %s", error);
		return;
	}
	struct blob_call *bc = blob_call_begin(call, req->chain, req->user, &fs);
	if (bc == NULL)
		return;
	char *prefix = full_key(bc, req->prefix);
	fs_list(fs, prefix, req->continuation[0] ? req->continuation : NULL,
		req->max_keys, blob_list_done, bc);
	free(prefix);
}
