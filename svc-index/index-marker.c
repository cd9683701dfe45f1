/* svc-index: mailbox name markers on the mail chain (see
 * index-marker.h). Writes are fire-and-forget: the index stays the
 * authority for names, the markers only serve a rebuild. */
#include "index-marker.h"
#include "index-blob.h"
#include "buf.h"
#include "log.h"
#include "blob.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *index_marker_encode(const struct index_mailbox *box, size_t *len_r)
{
	struct buf b;
	buf_init(&b, INDEX_MARKER_MAX);
	buf_append_str(&b, INDEX_MARKER_MAGIC);
	buf_printf(&b, "uidvalidity=%u\n", box->uidvalidity);
	if (box->n_special_use > 0) {
		buf_append_str(&b, "special_use=");
		for (size_t i = 0; i < box->n_special_use; i++) {
			if (i > 0)
				buf_append_str(&b, " ");
			buf_append_str(&b, box->special_use[i]);
		}
		buf_append_str(&b, "\n");
	}
	buf_printf(&b, "name=%s\n", box->name);
	*len_r = b.len;
	return buf_steal(&b);
}

void index_marker_clear(struct index_marker *m)
{
	free(m->name);
	for (size_t i = 0; i < m->n_special_use; i++)
		free(m->special_use[i]);
	free(m->special_use);
	memset(m, 0, sizeof(*m));
}

static int index_marker_special_use(struct index_marker *m, const char *v,
				    size_t len, const char **error_r)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && v[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && v[i] != ' ')
			i++;
		if (i == start)
			break;
		if (v[start] != '\\' || i - start > INDEX_MAX_FLAG_LEN ||
		    m->n_special_use >= 16) {
			*error_r = "marker: bad special_use";
			return -1;
		}
		m->special_use = xreallocarray(m->special_use,
					       m->n_special_use + 1,
					       sizeof(char *));
		m->special_use[m->n_special_use++] =
			xstrndup(v + start, i - start);
	}
	return 0;
}

int index_marker_parse(const uint8_t *data, size_t len, char sep,
		       struct index_marker *m, const char **error_r)
{
	const size_t mlen = strlen(INDEX_MARKER_MAGIC);
	memset(m, 0, sizeof(*m));
	if (len > INDEX_MARKER_MAX || len < mlen ||
	    memcmp(data, INDEX_MARKER_MAGIC, mlen) != 0) {
		*error_r = "marker: bad header";
		return -1;
	}
	const char *p = (const char *)data + mlen;
	const char *end = (const char *)data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			*error_r = "marker: unterminated line";
			goto fail;
		}
		const char *eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL || memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			*error_r = "marker: bad line";
			goto fail;
		}
		size_t klen = (size_t)(eq - p);
		const char *v = eq + 1;
		size_t vlen = (size_t)(nl - v);
		if (klen == 4 && memcmp(p, "name", 4) == 0) {
			if (m->name != NULL || vlen == 0 ||
			    vlen > INDEX_MAX_NAME_LEN) {
				*error_r = "marker: bad name";
				goto fail;
			}
			m->name = xstrndup(v, vlen);
			if (index_name_check(m->name, sep, error_r) < 0)
				goto fail;
		} else if (klen == 11 && memcmp(p, "uidvalidity", 11) == 0) {
			char digits[16];
			if (vlen == 0 || vlen >= sizeof(digits) ||
			    strspn(v, "0123456789") < vlen) {
				*error_r = "marker: bad uidvalidity";
				goto fail;
			}
			memcpy(digits, v, vlen);
			digits[vlen] = '\0';
			unsigned long long uv = strtoull(digits, NULL, 10);
			if (uv > UINT32_MAX) {
				*error_r = "marker: bad uidvalidity";
				goto fail;
			}
			m->uidvalidity = (uint32_t)uv;
		} else if (klen == 11 && memcmp(p, "special_use", 11) == 0) {
			if (index_marker_special_use(m, v, vlen, error_r) < 0)
				goto fail;
		}
		p = nl + 1;
	}
	if (m->name == NULL) {
		*error_r = "marker: no name";
		goto fail;
	}
	return 0;
fail:
	index_marker_clear(m);
	return -1;
}

/* ---- writes ---- */

static bool index_marker_enabled(const struct index_service *svc)
{
	return svc->blob != NULL && svc->set.rebuild_from_objects;
}

static void index_marker_done(const struct rpc_reply *reply, void *ctx)
{
	struct index_blob_op *op = ctx;
	struct index_service *svc = *(struct index_service **)(op + 1);
	if (reply->status != STRATUS__STATUS__STATUS_OK &&
	    reply->status != STRATUS__STATUS__STATUS_NOT_FOUND)
		log_warning(&(struct log_ctx){ .user = op->user },
			    "mailbox name marker not stored: %s %s",
			    rpc_status_name(reply->status),
			    reply->error != NULL ? reply->error : "");
	index_blob_op_unlink(svc->blob, op);
	free(op->user);
	free(op);
}

/* An op followed by the service pointer, freed as one block. */
static struct index_blob_op *index_marker_op(struct index_user *user)
{
	struct index_blob_op *op = xcalloc(1, sizeof(*op) +
					   sizeof(struct index_service *));
	*(struct index_service **)(op + 1) = user->svc;
	op->user = xstrdup(user->name);
	index_blob_op_link(user->svc->blob, op);
	return op;
}

void index_marker_write(struct index_user *user,
			const struct index_mailbox *box)
{
	struct index_service *svc = user->svc;
	if (!index_marker_enabled(svc))
		return;
	size_t len;
	char *text = index_marker_encode(box, &len);
	int fd = index_blob_memfd((const uint8_t *)text, len);
	free(text);
	if (fd < 0) {
		log_error(&(struct log_ctx){ .user = user->name },
			  "mailbox name marker: memfd: %s", strerror(errno));
		return;
	}
	char *key = xasprintf("%s/" INDEX_MARKER_KEY_NAME, box->guid);
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
	meta.mailbox_guid = (char *)box->guid;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = user->name;
	req.key = key;
	req.meta = &meta;
	rpc_client_call(svc->blob->client, svc->blob->m_put, NULL, &req.base,
			&fd, 1, INDEX_BLOB_TIMEOUT_MS, index_marker_done,
			index_marker_op(user));
	close(fd);
	free(key);
}

static void index_marker_delete(struct index_user *user, const char *guid)
{
	struct index_service *svc = user->svc;
	char *key = xasprintf("%s/" INDEX_MARKER_KEY_NAME, guid);
	Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = user->name;
	req.keys = &key;
	req.n_keys = 1;
	rpc_client_call(svc->blob->client, svc->blob->m_delete, NULL,
			&req.base, NULL, 0, INDEX_BLOB_TIMEOUT_MS,
			index_marker_done, index_marker_op(user));
	free(key);
}

void index_marker_committed(struct index_user *user,
			    Stratus__Indexfile__Op *const *ops, size_t n_ops)
{
	if (!index_marker_enabled(user->svc))
		return;
	for (size_t i = 0; i < n_ops; i++) {
		const Stratus__Indexfile__Op *op = ops[i];
		switch (op->kind) {
		case STRATUS__INDEXFILE__OP_KIND__OP_CREATE:
		case STRATUS__INDEXFILE__OP_KIND__OP_RENAME: {
			const struct index_mailbox *box =
				index_user_find_guid(user, op->mailbox_guid);
			if (box != NULL)
				index_marker_write(user, box);
			break;
		}
		case STRATUS__INDEXFILE__OP_KIND__OP_DELETE:
			index_marker_delete(user, op->mailbox_guid);
			break;
		default:
			break;
		}
	}
}
