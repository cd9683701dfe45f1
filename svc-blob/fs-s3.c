/* The S3 driver: objects in a bucket over HTTP(S), signed with SigV4 by
 * libcurl (CURLOPT_AWS_SIGV4), through http-client.c's loop-driven curl
 * multi. Virtual-host style (https://KEY:SECRET@BUCKET.host/) or path
 * style (?bucket=NAME). Metadata rides as x-amz-meta-* headers; copies
 * are server-side (x-amz-copy-source); deletes of several keys use
 * DeleteObjects, 1000 keys a request; listings are ListObjectsV2 with
 * continuation tokens.
 *
 * curl 7.88 signs the query string as written, so query parameters are
 * written sorted by name and percent-encoded, and it does not add
 * x-amz-content-sha256, so we send UNSIGNED-PAYLOAD. */
#include "fs.h"
#include "fs-drivers.h"
#include "http-client.h"
#include "s3-xml.h"
#include "log.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fs_s3 {
	struct http_client *http;
	char *base;		/* "http://host:port[/bucket]" */
	char *bucket_url;	/* what bucket operations (list, delete) use */
	char *key_prefix;	/* the URL's path: "" or "some/path/" */
	char *copy_base;	/* "/bucket/" for x-amz-copy-source */
};

struct s3_op {
	struct fs *fs;
	struct fs_pending *pend;
	char *key;
	unsigned int max_keys;
	/* bulk delete: keys still to send */
	char **keys;
	size_t n_keys, next_key;
};

static char *s3_url(struct fs_s3 *s3, const char *key, const char *query)
{
	struct buf b = BUF_INIT;
	if (key != NULL) {
		buf_append_str(&b, s3->base);
		buf_append_c(&b, '/');
		http_uri_encode(&b, s3->key_prefix, false);
		http_uri_encode(&b, key, false);
	} else {
		/* s3rver refuses a signature on "/bucket/?..." */
		buf_append_str(&b, s3->bucket_url);
	}
	if (query != NULL) {
		buf_append_c(&b, '?');
		buf_append_str(&b, query);
	}
	return buf_steal(&b);
}

static struct curl_slist *s3_headers(void)
{
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	return h;
}

static struct s3_op *s3_op_new(struct fs *fs, const char *key, fs_cb *cb,
			       void *ctx)
{
	struct s3_op *op = xcalloc(1, sizeof(*op));
	op->fs = fs;
	op->pend = fs_pending_new(cb, ctx);
	op->key = key != NULL ? xstrdup(key) : NULL;
	return op;
}

static void s3_op_finish(struct s3_op *op)
{
	fs_pending_finish(op->pend);
	for (size_t i = 0; i < op->n_keys; i++)
		free(op->keys[i]);
	free(op->keys);
	free(op->key);
	free(op);
}

/* Fails op with what S3's error XML says. */
static void s3_fail(struct s3_op *op, struct http_request *req, const char *what)
{
	char *code = NULL, *msg = NULL;
	if (req->code != 0)
		s3_xml_parse_error(req->body.data ? req->body.data : "",
				   req->body.len, &code, &msg);
	char *detail = xasprintf("%s%s%s%s", code ? " " : "", code ? code : "",
				 msg ? ": " : "", msg ? msg : "");
	http_request_fail(req, op->pend, "S3", what, op->key, detail);
	free(detail);
	free(code);
	free(msg);
}

/* ---- put ---- */

static void s3_put_done(struct http_request *req, void *ctx)
{
	struct s3_op *op = ctx;
	if (http_request_ok(req)) {
		op->pend->r.size = req->upload_size;
		op->pend->r.meta.etag = req->meta.etag;
		req->meta.etag = NULL;
	} else {
		s3_fail(op, req, "PUT");
	}
	http_request_free(req);
	s3_op_finish(op);
}

static void s3_add_meta_headers(struct http_request *req,
				const struct fs_meta *m, const char *prefix)
{
	char line[256];
	if (m->mailbox_guid != NULL && strlen(m->mailbox_guid) < 128 &&
	    strpbrk(m->mailbox_guid, "\r\n") == NULL) {
		snprintf(line, sizeof(line), "%smailbox-guid: %s", prefix, m->mailbox_guid);
		req->headers = curl_slist_append(req->headers, line);
	}
	if (m->message_guid != NULL && strlen(m->message_guid) < 128 &&
	    strpbrk(m->message_guid, "\r\n") == NULL) {
		snprintf(line, sizeof(line), "%smessage-guid: %s", prefix, m->message_guid);
		req->headers = curl_slist_append(req->headers, line);
	}
	snprintf(line, sizeof(line), "%sreceived-date: %" PRId64, prefix, m->received_date);
	req->headers = curl_slist_append(req->headers, line);
	snprintf(line, sizeof(line), "%ssave-date: %" PRId64, prefix, m->save_date);
	req->headers = curl_slist_append(req->headers, line);
	snprintf(line, sizeof(line), "%sphysical-size: %" PRIu64, prefix, m->physical_size);
	req->headers = curl_slist_append(req->headers, line);
	snprintf(line, sizeof(line), "%svirtual-size: %" PRIu64, prefix, m->virtual_size);
	req->headers = curl_slist_append(req->headers, line);
	if (m->generation != 0) {
		snprintf(line, sizeof(line), "%sgeneration: %" PRIu64, prefix, m->generation);
		req->headers = curl_slist_append(req->headers, line);
	}
}

static void s3_put(struct fs *fs, const char *key, int fd,
		   const struct fs_meta *meta, fs_cb *cb, void *ctx)
{
	struct fs_s3 *s3 = fs->priv;
	struct s3_op *op = s3_op_new(fs, key, cb, ctx);
	struct http_request *req = http_request_new(s3->http, BLOB_OP_PUT, "PUT",
		s3_url(s3, key, NULL), s3_put_done, op);
	req->headers = s3_headers();
	req->headers = curl_slist_append(req->headers,
					 "Content-Type: application/octet-stream");
	s3_add_meta_headers(req, meta, "x-amz-meta-");
	if (meta->if_none_match) {
		req->headers = curl_slist_append(req->headers, "If-None-Match: *");
	} else if (meta->if_match != NULL && strlen(meta->if_match) <= 128 &&
		   strpbrk(meta->if_match, "\r\n") == NULL) {
		char line[160];
		snprintf(line, sizeof(line), "If-Match: %s", meta->if_match);
		req->headers = curl_slist_append(req->headers, line);
	}
	http_request_upload_fd(req, fd);
	http_request_submit(req);
}

/* ---- get / head ---- */

static void s3_get_done(struct http_request *req, void *ctx)
{
	struct s3_op *op = ctx;
	struct fs_result *r = &op->pend->r;
	if (http_request_ok(req)) {
		bool head = strcmp(req->method, "HEAD") == 0;
		fs_meta_copy(&r->meta, &req->meta);
		if (head) {
			r->size = req->content_length;
		} else if (req->content_length != 0 &&
			   req->body_size != req->content_length) {
			fs_pending_fail(op->pend, FS_TEMPFAIL,
					"S3 GET %s: truncated body", op->key);
		} else {
			if (req->body_fd < 0)
				req->body_fd = fs_memfd("blob-get");
			r->fd = req->body_fd;
			req->body_fd = -1;
			r->size = req->body_size;
		}
	} else {
		s3_fail(op, req, strcmp(req->method, "HEAD") == 0 ? "HEAD" : "GET");
	}
	http_request_free(req);
	s3_op_finish(op);
}

static void s3_get_or_head(struct fs *fs, const char *key, bool head,
			   fs_cb *cb, void *ctx)
{
	struct fs_s3 *s3 = fs->priv;
	struct s3_op *op = s3_op_new(fs, key, cb, ctx);
	struct http_request *req = http_request_new(s3->http,
		head ? BLOB_OP_HEAD : BLOB_OP_GET, head ? "HEAD" : "GET",
		s3_url(s3, key, NULL), s3_get_done, op);
	req->headers = s3_headers();
	req->body_to_fd = !head;
	http_request_set_meta_prefix(req, "x-amz-meta-");
	http_request_submit(req);
}

static void s3_get(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	s3_get_or_head(fs, key, false, cb, ctx);
}

static void s3_head(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	s3_get_or_head(fs, key, true, cb, ctx);
}

/* ---- delete ---- */

static void s3_delete_next(struct s3_op *op);

static void s3_delete_one_done(struct http_request *req, void *ctx)
{
	struct s3_op *op = ctx;
	/* deleting what is gone succeeds, like DeleteObjects */
	if ((http_request_ok(req)) || req->code == 404)
		op->pend->r.deleted++;
	else if (req->code == 0 || req->code >= 500 || req->code == 403) {
		s3_fail(op, req, "DELETE");
		http_request_free(req);
		s3_op_finish(op);
		return;
	} else {
		op->pend->r.failed = xreallocarray(op->pend->r.failed,
			op->pend->r.n_failed + 1, sizeof(char *));
		op->pend->r.failed[op->pend->r.n_failed++] = xstrdup(op->keys[0]);
	}
	http_request_free(req);
	s3_op_finish(op);
}

static void s3_delete_multi_done(struct http_request *req, void *ctx)
{
	struct s3_op *op = ctx;
	if (http_request_ok(req) && !req->body_truncated &&
	    s3_xml_parse_delete(req->body.data ? req->body.data : "",
				req->body.len, &op->pend->r) == 0) {
		http_request_free(req);
		if (op->next_key < op->n_keys) {
			s3_delete_next(op);
			return;
		}
	} else {
		if (http_request_ok(req))
			fs_pending_fail(op->pend, FS_TEMPFAIL,
					"S3 DeleteObjects: unreadable answer");
		else
			s3_fail(op, req, "DeleteObjects");
		http_request_free(req);
	}
	s3_op_finish(op);
}

static void xml_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': buf_append_str(b, "&amp;"); break;
		case '<': buf_append_str(b, "&lt;"); break;
		case '>': buf_append_str(b, "&gt;"); break;
		case '"': buf_append_str(b, "&quot;"); break;
		case '\'': buf_append_str(b, "&apos;"); break;
		default: buf_append_c(b, *s);
		}
	}
}

static void s3_delete_next(struct s3_op *op)
{
	struct fs_s3 *s3 = op->fs->priv;
	struct buf xml = BUF_INIT;
	size_t end = op->next_key + FS_DELETE_MAX_KEYS;
	if (end > op->n_keys)
		end = op->n_keys;
	buf_append_str(&xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		       "<Delete><Quiet>true</Quiet>");
	for (; op->next_key < end; op->next_key++) {
		buf_append_str(&xml, "<Object><Key>");
		xml_escape(&xml, s3->key_prefix);
		xml_escape(&xml, op->keys[op->next_key]);
		buf_append_str(&xml, "</Key></Object>");
	}
	buf_append_str(&xml, "</Delete>");
	struct http_request *req = http_request_new(s3->http, BLOB_OP_DELETE,
		"POST", s3_url(s3, NULL, "delete="), s3_delete_multi_done, op);
	/* S3 requires Content-MD5 on DeleteObjects */
	unsigned char md5[EVP_MAX_MD_SIZE];
	unsigned int md5len = 0;
	unsigned char b64[64];
	EVP_Digest(xml.data, xml.len, md5, &md5len, EVP_md5(), NULL);
	EVP_EncodeBlock(b64, md5, (int)md5len);
	char *hdr = xasprintf("Content-MD5: %s", b64);
	req->headers = s3_headers();
	req->headers = curl_slist_append(req->headers, hdr);
	req->headers = curl_slist_append(req->headers, "Content-Type: application/xml");
	free(hdr);
	req->upload_mem_len = xml.len;
	req->upload_mem = buf_steal(&xml);
	req->body_max = HTTP_LIST_BODY_MAX;
	http_request_submit(req);
}

static void s3_delete(struct fs *fs, const char *const *keys, size_t n,
		      fs_cb *cb, void *ctx)
{
	struct fs_s3 *s3 = fs->priv;
	struct s3_op *op = s3_op_new(fs, n == 1 ? keys[0] : NULL, cb, ctx);
	op->keys = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		op->keys[op->n_keys++] = xstrdup(keys[i]);
	if (n == 1) {
		struct http_request *req = http_request_new(s3->http,
			BLOB_OP_DELETE, "DELETE", s3_url(s3, keys[0], NULL),
			s3_delete_one_done, op);
		req->headers = s3_headers();
		http_request_submit(req);
		return;
	}
	s3_delete_next(op);
}

/* ---- copy ---- */

static void s3_copy_done(struct http_request *req, void *ctx)
{
	struct s3_op *op = ctx;
	/* S3 may answer 200 with an <Error> body for a failed copy */
	if (http_request_ok(req) &&
	    (req->body.data == NULL || strstr(req->body.data, "<Error>") == NULL)) {
		/* ok */
	} else if (http_request_ok(req)) {
		fs_pending_fail(op->pend, FS_TEMPFAIL, "S3 COPY %s: failed: %s",
				op->key, req->body.data);
	} else {
		s3_fail(op, req, "COPY");
	}
	http_request_free(req);
	s3_op_finish(op);
}

/* x-amz-copy-source is URL-encoded; characters that are fine in a path
 * (@ : + = ,) stay as they are, since s3rver does not decode them. */
static void copy_source_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f && strchr("%?#\"<>\\^`{|}[]", *p) == NULL) {
			buf_append_c(b, (char)*p);
		} else {
			buf_append_c(b, '%');
			buf_append_c(b, hex[*p >> 4]);
			buf_append_c(b, hex[*p & 15]);
		}
	}
}

static void s3_copy(struct fs *fs, const char *src, const char *dst,
		    fs_cb *cb, void *ctx)
{
	struct fs_s3 *s3 = fs->priv;
	struct s3_op *op = s3_op_new(fs, src, cb, ctx);
	struct http_request *req = http_request_new(s3->http, BLOB_OP_COPY,
		"PUT", s3_url(s3, dst, NULL), s3_copy_done, op);
	struct buf h = BUF_INIT;
	buf_append_str(&h, "x-amz-copy-source: ");
	buf_append_str(&h, s3->copy_base);
	copy_source_encode(&h, s3->key_prefix);
	copy_source_encode(&h, src);
	req->headers = s3_headers();
	req->headers = curl_slist_append(req->headers, h.data);
	buf_free(&h);
	req->upload_mem = xstrdup("");
	req->upload_mem_len = 0;
	http_request_submit(req);
}

/* ---- list ---- */

/* Keys as the layers above know them: without the URL's path. */
static void s3_strip_prefix(struct fs_s3 *s3, struct fs_result *r)
{
	size_t plen = strlen(s3->key_prefix);
	size_t n = 0;
	for (size_t i = 0; i < r->n_entries; i++) {
		if (strncmp(r->entries[i].key, s3->key_prefix, plen) != 0) {
			free(r->entries[i].key);
			continue;
		}
		memmove(r->entries[i].key, r->entries[i].key + plen,
			strlen(r->entries[i].key) - plen + 1);
		r->entries[n++] = r->entries[i];
	}
	r->n_entries = n;
}

static void s3_list_done(struct http_request *req, void *ctx)
{
	struct s3_op *op = ctx;
	if (http_request_ok(req)) {
		if (req->body_truncated)
			fs_pending_fail(op->pend, FS_TEMPFAIL,
					"S3 LIST: answer larger than %d bytes",
					HTTP_LIST_BODY_MAX);
		else if (s3_xml_parse_list(req->body.data ? req->body.data : "",
					   req->body.len, op->max_keys,
					   &op->pend->r) < 0)
			fs_pending_fail(op->pend, FS_TEMPFAIL,
					"S3 LIST: unreadable answer");
		else
			s3_strip_prefix(op->fs->priv, &op->pend->r);
	} else {
		s3_fail(op, req, "LIST");
	}
	http_request_free(req);
	s3_op_finish(op);
}

static void s3_list(struct fs *fs, const char *prefix, const char *after,
		    unsigned int max_keys, fs_cb *cb, void *ctx)
{
	struct fs_s3 *s3 = fs->priv;
	struct s3_op *op = s3_op_new(fs, prefix, cb, ctx);
	struct buf q = BUF_INIT;
	op->max_keys = max_keys == 0 || max_keys > FS_LIST_MAX_KEYS ?
		FS_LIST_MAX_KEYS : max_keys;
	/* sorted by name, encoded: what curl 7.88 signs as written */
	if (after != NULL) {
		buf_append_str(&q, "continuation-token=");
		http_uri_encode(&q, after, true);
		buf_append_c(&q, '&');
	}
	buf_printf(&q, "list-type=2&max-keys=%u&prefix=", op->max_keys);
	http_uri_encode(&q, s3->key_prefix, true);
	http_uri_encode(&q, prefix, true);
	struct http_request *req = http_request_new(s3->http, BLOB_OP_LIST,
		"GET", s3_url(s3, NULL, q.data), s3_list_done, op);
	buf_free(&q);
	req->headers = s3_headers();
	req->body_max = HTTP_LIST_BODY_MAX;
	http_request_submit(req);
}

static void s3_free(struct fs *fs)
{
	struct fs_s3 *s3 = fs->priv;
	http_client_free(&s3->http);
	free(s3->base);
	free(s3->bucket_url);
	free(s3->key_prefix);
	free(s3->copy_base);
	free(s3);
}

static const struct fs_vfuncs fs_s3_vfuncs = {
	.name = "s3",
	.put = s3_put,
	.get = s3_get,
	.head = s3_head,
	.delete = s3_delete,
	.copy = s3_copy,
	.list = s3_list,
	.free = s3_free,
};

int fs_s3_init(struct fs *fs, const struct fs_layer *layer,
	       const struct fs_settings *set, char **error_r)
{
	const struct fs_http_url *u = &layer->url;
	struct fs_s3 *s3 = xcalloc(1, sizeof(*s3));
	(void)error_r;
	s3->key_prefix = xstrdup(u->path + 1);
	char *origin = http_url_origin(u);
	if (u->bucket != NULL) {
		s3->base = xasprintf("%s/%s", origin, u->bucket);
		s3->bucket_url = xstrdup(s3->base);
		s3->copy_base = xasprintf("/%s/", u->bucket);
		free(origin);
	} else {
		/* virtual-host style: the bucket is the first host label */
		size_t blen = strcspn(u->host, ".");
		s3->base = origin;
		s3->bucket_url = xasprintf("%s/", s3->base);
		s3->copy_base = xasprintf("/%.*s/", (int)blen, u->host);
	}
	s3->http = http_client_new(fs->loop, fs->stats, u, set);
	http_client_set_sigv4(s3->http, u->region);
	fs->v = &fs_s3_vfuncs;
	fs->priv = s3;
	return 0;
}
