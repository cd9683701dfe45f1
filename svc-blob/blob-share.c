/* Single-instance objects: key parsing and the release of a shared object
 * by one of its users (see blob-share.h). A release is three fs steps
 * per key, run one key after the other from the loop:
 *   1. put the user's marker (empty; its name is the user's MD5, so the
 *      same user releasing twice writes the same marker);
 *   2. list the markers of the object (all pages);
 *   3. when N distinct markers exist, delete the object and its markers.
 * Only a user's own release writes its marker, so the listing never
 * shows more releases than happened: the object cannot go while a user
 * that did not release still references it. A failed step leaves what
 * was stored (a leak, logged), and the key is reported failed. */
#include "blob-share.h"
#include "blob-keys.h"
#include "blob.pb-c.h"
#include "buf.h"
#include "fs.h"
#include "log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BLOB_SHARE_MARK ".sis"
#define BLOB_SHARE_MAX_USERS 100000

bool blob_share_parse(const char *key, char **owner_r, unsigned int *n_r)
{
	const char *slash = strchr(key, '/');
	if (slash == NULL || slash == key || strchr(slash + 1, '/') != NULL)
		return false;
	const char *mark = strstr(slash + 1, BLOB_SHARE_MARK);
	if (mark == NULL || mark == slash + 1)
		return false;
	const char *p = mark + strlen(BLOB_SHARE_MARK);
	unsigned long n = 0;
	const char *digits = p;
	while (isdigit((unsigned char)*p) && p - digits < 7)
		n = n * 10 + (unsigned long)(*p++ - '0');
	if (p == digits || *p != '.' || p[1] == '\0' || n == 0 ||
	    n > BLOB_SHARE_MAX_USERS)
		return false;
	*owner_r = xstrdup(p + 1);
	*n_r = (unsigned int)n;
	return true;
}

bool blob_share_any(char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *owner;
		unsigned int users;
		if (blob_share_parse(keys[i], &owner, &users)) {
			free(owner);
			return true;
		}
	}
	return false;
}

struct blob_share_op {
	struct rpc_call *call;
	struct blob *blob;
	struct fs *fs;
	char *user;
	char *session;
	struct log_ctx log;
	char **plain;		/* full keys of the unshared objects */
	size_t n_plain;
	size_t plain_prefix_len;
	char **shared;		/* relative keys to release */
	size_t n_shared, next;
	uint32_t deleted;
	char **failed;		/* relative keys */
	size_t n_failed;
	/* the release in progress */
	const char *key;
	char *owner;
	unsigned int need;
	char *object;		/* full key */
	char *dir;		/* full key of the markers' folder, ending '/' */
	char *marker;
	char *after;		/* listing continuation */
	char **found;		/* markers listed */
	size_t n_found;
	const char **del_keys;	/* the last delete: object + markers */
	int fd;
};

static void share_next(struct blob_share_op *op);

static void share_release_clear(struct blob_share_op *op)
{
	for (size_t i = 0; i < op->n_found; i++)
		free(op->found[i]);
	free(op->found);
	op->found = NULL;
	op->n_found = 0;
	free(op->del_keys);
	op->del_keys = NULL;
	free(op->owner);
	free(op->object);
	free(op->dir);
	free(op->marker);
	free(op->after);
	op->owner = op->object = op->dir = op->marker = op->after = NULL;
	if (op->fd >= 0)
		close(op->fd);
	op->fd = -1;
}

static void share_op_free(struct blob_share_op *op)
{
	share_release_clear(op);
	for (size_t i = 0; i < op->n_plain; i++)
		free(op->plain[i]);
	free(op->plain);
	for (size_t i = 0; i < op->n_shared; i++)
		free(op->shared[i]);
	free(op->shared);
	for (size_t i = 0; i < op->n_failed; i++)
		free(op->failed[i]);
	free(op->failed);
	free(op->user);
	free(op->session);
	free(op);
}

static void share_failed(struct blob_share_op *op, const char *key)
{
	op->failed = xreallocarray(op->failed, op->n_failed + 1,
				   sizeof(*op->failed));
	op->failed[op->n_failed++] = xstrdup(key);
}

static void share_reply(struct blob_share_op *op)
{
	Stratus__BlobDeleteReply reply = STRATUS__BLOB_DELETE_REPLY__INIT;
	reply.deleted = op->deleted;
	reply.failed = op->failed;
	reply.n_failed = op->n_failed;
	rpc_call_reply(op->call, &reply.base, NULL, 0);
	share_op_free(op);
}

/* The marker's name: the user's MD5 in hex (any user name fits a key). */
static void share_marker_name(const char *user, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(user, strlen(user), md, &len, EVP_md5(), NULL) != 1)
		len = 0;
	for (unsigned int i = 0; i < 16; i++)
		snprintf(out + i * 2, 3, "%02x", i < len ? md[i] : 0);
}

/* ---- 3. the last release deletes ---- */

static void share_deleted(struct fs_result *r, void *ctx)
{
	struct blob_share_op *op = ctx;
	if (r->status != FS_OK || r->n_failed > 0) {
		log_error(&op->log, "shared object %s: all %u users released "
			  "it, but deleting it failed: %s", op->object,
			  op->need, r->error != NULL ? r->error : "some keys");
		share_failed(op, op->key);
	} else {
		log_info(&op->log, "shared object %s deleted: all %u users "
			 "released it", op->object, op->need);
		op->deleted++;
	}
	free(op->del_keys);	/* the keys themselves are op->object/found */
	op->del_keys = NULL;
	share_next(op);
}

static void share_delete_all(struct blob_share_op *op)
{
	op->del_keys = xcalloc(op->n_found + 1, sizeof(*op->del_keys));
	op->del_keys[0] = op->object;
	for (size_t i = 0; i < op->n_found; i++)
		op->del_keys[i + 1] = op->found[i];
	fs_set_request_user(op->fs, op->owner);
	fs_delete(op->fs, op->del_keys, op->n_found + 1, share_deleted, op);
}

/* ---- 2. the markers ---- */

static void share_list_page(struct blob_share_op *op);

static void share_listed(struct fs_result *r, void *ctx)
{
	struct blob_share_op *op = ctx;
	if (r->status != FS_OK) {
		log_error(&op->log, "shared object %s: listing its releases "
			  "failed: %s", op->object, r->error);
		share_failed(op, op->key);
		share_next(op);
		return;
	}
	size_t dlen = strlen(op->dir);
	for (size_t i = 0; i < r->n_entries; i++) {
		const char *k = r->entries[i].key;
		if (strncmp(k, op->dir, dlen) != 0 || k[dlen] == '\0' ||
		    strchr(k + dlen, '/') != NULL)
			continue;
		op->found = xreallocarray(op->found, op->n_found + 1,
					  sizeof(*op->found));
		op->found[op->n_found++] = xstrdup(k);
	}
	free(op->after);
	op->after = r->next != NULL ? xstrdup(r->next) : NULL;
	if (op->after != NULL && op->n_found < op->need) {
		share_list_page(op);
		return;
	}
	if (op->n_found >= op->need) {
		share_delete_all(op);
		return;
	}
	op->deleted++;	/* released; others still hold it */
	share_next(op);
}

static void share_list_page(struct blob_share_op *op)
{
	fs_set_request_user(op->fs, op->owner);
	fs_list(op->fs, op->dir, op->after, 0, share_listed, op);
}

/* ---- 1. this user's marker ---- */

static void share_marked(struct fs_result *r, void *ctx)
{
	struct blob_share_op *op = ctx;
	close(op->fd);
	op->fd = -1;
	if (r->status != FS_OK) {
		log_error(&op->log, "shared object %s: storing the release "
			  "of %s failed: %s", op->object, op->user, r->error);
		share_failed(op, op->key);
		share_next(op);
		return;
	}
	share_list_page(op);
}

static bool share_release_start(struct blob_share_op *op, const char *key)
{
	const char *error;
	op->key = key;
	if (!blob_share_parse(key, &op->owner, &op->need))
		return false;
	char *prefix = blob_keys_user_prefix(op->blob->key_tmpl, op->owner,
					     &error);
	if (prefix == NULL)
		return false;
	const char *rest = strchr(key, '/') + 1;
	char name[33];
	share_marker_name(op->user, name);
	op->object = xasprintf("%s%s", prefix, key);
	op->dir = xasprintf("%s" BLOB_SHARE_RELEASED "%s/", prefix, rest);
	op->marker = xasprintf("%s%s", op->dir, name);
	free(prefix);
	op->fd = fs_memfd("blob-share-marker");
	if (op->fd < 0)
		return false;
	struct fs_meta meta;
	memset(&meta, 0, sizeof(meta));
	fs_set_request_user(op->fs, op->owner);
	fs_put(op->fs, op->marker, op->fd, &meta, share_marked, op);
	return true;
}

static void share_next(struct blob_share_op *op)
{
	while (op->next < op->n_shared) {
		share_release_clear(op);
		const char *key = op->shared[op->next++];
		if (share_release_start(op, key))
			return;
		log_error(&op->log, "shared object %s: cannot release it", key);
		share_failed(op, key);
	}
	share_reply(op);
}

static void share_plain_deleted(struct fs_result *r, void *ctx)
{
	struct blob_share_op *op = ctx;
	if (r->status != FS_OK) {
		for (size_t i = 0; i < op->n_plain; i++)
			share_failed(op, op->plain[i] + op->plain_prefix_len);
	} else {
		op->deleted += r->deleted;
		for (size_t i = 0; i < r->n_failed; i++) {
			const char *k = r->failed[i];
			if (strlen(k) >= op->plain_prefix_len)
				k += op->plain_prefix_len;
			share_failed(op, k);
		}
	}
	for (size_t i = 0; i < op->n_plain; i++)
		free(op->plain[i]);
	free(op->plain);
	op->plain = NULL;
	op->n_plain = 0;
	share_next(op);
}

void blob_share_delete(struct rpc_call *call, struct blob *blob,
		       struct fs *fs, const char *user,
		       char *const *keys, size_t n_keys)
{
	const char *error;
	char *prefix = blob_keys_user_prefix(blob->key_tmpl, user, &error);
	if (prefix == NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "user: %s",
			      error);
		return;
	}
	struct blob_share_op *op = xcalloc(1, sizeof(*op));
	const Stratus__Context *ctx = rpc_call_context(call);
	op->call = call;
	op->blob = blob;
	op->fs = fs;
	op->fd = -1;
	op->user = xstrdup(user);
	op->session = xstrdup(ctx != NULL ? ctx->session : "");
	op->log.user = op->user;
	op->log.session = op->session;
	op->plain = xcalloc(n_keys, sizeof(*op->plain));
	op->shared = xcalloc(n_keys, sizeof(*op->shared));
	op->plain_prefix_len = strlen(prefix);
	for (size_t i = 0; i < n_keys; i++) {
		char *owner;
		unsigned int n;
		if (blob_share_parse(keys[i], &owner, &n)) {
			free(owner);
			op->shared[op->n_shared++] = xstrdup(keys[i]);
		} else {
			op->plain[op->n_plain++] = xasprintf("%s%s", prefix,
							     keys[i]);
		}
	}
	free(prefix);
	if (op->n_plain == 0) {
		free(op->plain);
		op->plain = NULL;
		share_next(op);
		return;
	}
	fs_set_request_user(fs, user);
	fs_delete(fs, (const char *const *)op->plain, op->n_plain,
		  share_plain_deleted, op);
}
