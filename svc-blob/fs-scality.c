/* The Scality CDMI driver (scality:http://host/path/?params): objects as
 * CDMI data objects under the URL's container, following SNIA CDMI 1.1.1.
 *
 *   put    PUT application/cdmi-object (8.2): JSON with "metadata" (what a
 *          rebuild needs, as stratus_* user metadata) and the body in
 *          "value", base64 (valuetransferencoding). One request carries
 *          body and metadata. A 404 means a parent container is missing:
 *          the containers on the key's path are created top-down (9.2;
 *          an existing one answers 200), then the PUT is sent again.
 *   get    non-CDMI GET (8.5): the plain body, no metadata.
 *   head   GET ?metadata with the CDMI content type (8.4 field selection):
 *          cdmi_size (16.3) and the stratus_* items.
 *   delete DELETE (8.8), one request per key, in parallel up to
 *          obox_max_parallel_deletes. bulk_delete=1 is accepted, but neither
 *          CDMI nor Dovecot's documentation defines a bulk wire format, so
 *          it falls back to these per-object requests (said at start-up).
 *   copy   PUT with {"copy": "<source URI>"} (8.2): server-side copy.
 *          bulk_link=1 falls back to it the same way.
 *   list   container reads (9.4) with "children:<range>", 1000 a page,
 *          walked depth first with children sorted (sub-containers as
 *          "name/"), so keys come out in S3 order; the continuation is the
 *          last key. Sizes are not in a children listing: listed as 0.
 *
 * Every CDMI-content-type request carries X-CDMI-Specification-Version;
 * every request carries addhdr (e.g. X-Dovecot-Hash:%2Mu/%2.3Mu), expanded
 * for the user of the request (fs_set_request_user) for load-balancer
 * stickiness. */
#include "fs.h"
#include "fs-drivers.h"
#include "cdmi-json.h"
#include "http-client.h"
#include "log.h"
#include "var-expand.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CDMI_VERSION_HDR "X-CDMI-Specification-Version: 1.1.1"
#define CDMI_OBJECT_TYPE "application/cdmi-object"
#define CDMI_CONTAINER_TYPE "application/cdmi-container"
#define CDMI_CHILDREN_PAGE 1000
/* A container with more children than this is refused by list. */
#define CDMI_MAX_CONTAINER_CHILDREN 1000000

struct fs_scality {
	struct http_client *http;
	char *origin;		/* "http://host:port" */
	char *base_path;	/* "/path/" as written in the URL */
	char *addhdr_name, *addhdr_tmpl;
	bool said_no_conditions;	/* logged once: CDMI has no If-Match */
};

struct list_frame {
	char *rel;		/* key prefix of this container ("" or "a/b/") */
	char **names;		/* sorted children */
	size_t n, next;
};

struct cdmi_op {
	struct fs *fs;
	struct fs_pending *pend;
	char *key;
	char *addhdr;		/* "Name: value" for this op's user, or NULL */
	/* put/copy: the body to (re)send */
	int body_fd;
	char *body_mem;
	size_t body_mem_len;
	enum blob_op body_op;
	uint64_t put_size;	/* the object's size (the body sent is JSON) */
	unsigned int mkdir_next;	/* containers created so far */
	bool mkdir_done;
	/* delete */
	size_t outstanding;
	bool delete_failed;
	/* list */
	char *prefix, *after;
	unsigned int max;
	struct list_frame *stack;
	size_t depth;
	bool more;
};

/* ---- helpers ---- */

static char *cdmi_path(struct fs_scality *c, const char *key)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, c->base_path);
	http_uri_encode(&b, key, false);
	return buf_steal(&b);
}

static char *cdmi_url(struct fs_scality *c, const char *key, const char *query)
{
	char *path = cdmi_path(c, key);
	char *url = xasprintf("%s%s%s%s", c->origin, path,
			      query ? "?" : "", query ? query : "");
	free(path);
	return url;
}

static char *cdmi_addhdr(struct fs *fs)
{
	struct fs_scality *c = fs->priv;
	const char *error;
	if (c->addhdr_name == NULL)
		return NULL;
	if (fs->req_user == NULL) {
		/* no user (cannot happen through the RPC): the header's
		 * template has nothing to expand */
		return NULL;
	}
	struct var_expand_user vu;
	struct buf b;
	buf_init(&b, 1024);
	buf_printf(&b, "%s: ", c->addhdr_name);
	var_expand_user_init(&vu, fs->req_user, "blob", NULL);
	int ret = var_expand(&b, c->addhdr_tmpl, vu.table, NULL, NULL, &error);
	var_expand_user_deinit(&vu);
	if (ret < 0 || strpbrk(b.data, "\r\n") != NULL) {
		log_warning(NULL, "scality: addhdr %s not sent: %s",
			    c->addhdr_name, ret < 0 ? error : "control character");
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static struct cdmi_op *cdmi_op_new(struct fs *fs, const char *key, fs_cb *cb,
				   void *ctx)
{
	struct cdmi_op *op = xcalloc(1, sizeof(*op));
	op->fs = fs;
	op->pend = fs_pending_new(cb, ctx);
	op->key = key != NULL ? xstrdup(key) : NULL;
	op->addhdr = cdmi_addhdr(fs);
	op->body_fd = -1;
	return op;
}

static void cdmi_op_finish(struct cdmi_op *op)
{
	fs_pending_finish(op->pend);
	if (op->body_fd >= 0)
		close(op->body_fd);
	for (size_t i = 0; i < op->depth; i++) {
		for (size_t k = 0; k < op->stack[i].n; k++)
			free(op->stack[i].names[k]);
		free(op->stack[i].names);
		free(op->stack[i].rel);
	}
	free(op->stack);
	free(op->body_mem);
	free(op->prefix);
	free(op->after);
	free(op->addhdr);
	free(op->key);
	free(op);
}

/* A request with the headers every CDMI request of this op carries. */
static struct http_request *cdmi_request(struct cdmi_op *op, enum blob_op bop,
					 const char *method, char *url,
					 bool cdmi_type, http_done_cb *cb)
{
	struct fs_scality *c = op->fs->priv;
	struct http_request *req = http_request_new(c->http, bop, method, url,
						    cb, op);
	if (cdmi_type)
		req->headers = curl_slist_append(req->headers, CDMI_VERSION_HDR);
	if (op->addhdr != NULL)
		req->headers = curl_slist_append(req->headers, op->addhdr);
	return req;
}

/* Fails op; CDMI error bodies are free text: a printable first line. */
static void cdmi_fail(struct cdmi_op *op, struct http_request *req,
		      const char *what)
{
	char msg[200] = "";
	if (req->code != 0 && req->body.data != NULL) {
		size_t n = strcspn(req->body.data, "\r\n");
		if (n >= sizeof(msg) - 2)
			n = sizeof(msg) - 3;
		if (n > 0) {
			msg[0] = ':';
			msg[1] = ' ';
		}
		for (size_t i = 0; i < n; i++) {
			char ch = req->body.data[i];
			msg[i + 2] = ch >= 0x20 && ch < 0x7f ? ch : '?';
		}
		msg[n > 0 ? n + 2 : 0] = '\0';
	}
	http_request_fail(req, op->pend, "CDMI", what, op->key, msg);
}

/* ---- put and copy: create a data object, making parents on 404 ---- */

static void cdmi_create_send(struct cdmi_op *op);
static void cdmi_mkdir_next(struct cdmi_op *op);

static void cdmi_create_done(struct http_request *req, void *ctx)
{
	struct cdmi_op *op = ctx;
	bool put = op->body_op == BLOB_OP_PUT;
	if (http_request_ok(req)) {
		if (put)
			op->pend->r.size = op->put_size;
	} else if (req->code == 404 && !op->mkdir_done &&
		   strchr(op->key, '/') != NULL) {
		http_request_free(req);
		cdmi_mkdir_next(op);
		return;
	} else {
		cdmi_fail(op, req, put ? "PUT" : "COPY");
	}
	http_request_free(req);
	cdmi_op_finish(op);
}

static void cdmi_create_send(struct cdmi_op *op)
{
	struct fs_scality *c = op->fs->priv;
	struct http_request *req = cdmi_request(op, op->body_op, "PUT",
		cdmi_url(c, op->key, NULL), true, cdmi_create_done);
	req->headers = curl_slist_append(req->headers,
					 "Content-Type: " CDMI_OBJECT_TYPE);
	req->headers = curl_slist_append(req->headers,
					 "Accept: " CDMI_OBJECT_TYPE);
	if (op->body_fd >= 0) {
		http_request_upload_fd(req, op->body_fd);
	} else {
		req->upload_mem = xstrndup(op->body_mem, op->body_mem_len);
		req->upload_mem_len = op->body_mem_len;
	}
	http_request_submit(req);
}

static void cdmi_mkdir_done(struct http_request *req, void *ctx)
{
	struct cdmi_op *op = ctx;
	/* 200 = it existed (an update), 201 = created */
	if (!http_request_ok(req)) {
		cdmi_fail(op, req, "create container for");
		http_request_free(req);
		cdmi_op_finish(op);
		return;
	}
	http_request_free(req);
	cdmi_mkdir_next(op);
}

/* Creates the key's parent containers one level at a time, top-down;
 * then sends the object again. */
static void cdmi_mkdir_next(struct cdmi_op *op)
{
	struct fs_scality *c = op->fs->priv;
	const char *p = op->key;
	unsigned int level = 0;
	const char *slash = NULL;
	while ((slash = strchr(p, '/')) != NULL) {
		if (level++ == op->mkdir_next)
			break;
		p = slash + 1;
	}
	if (slash == NULL) {
		op->mkdir_done = true;
		cdmi_create_send(op);
		return;
	}
	op->mkdir_next++;
	char *dir = xstrndup(op->key, (size_t)(slash - op->key) + 1);
	struct http_request *req = cdmi_request(op, BLOB_OP_PUT, "PUT",
		cdmi_url(c, dir, NULL), true, cdmi_mkdir_done);
	free(dir);
	req->headers = curl_slist_append(req->headers,
					 "Content-Type: " CDMI_CONTAINER_TYPE);
	req->headers = curl_slist_append(req->headers,
					 "Accept: " CDMI_CONTAINER_TYPE);
	req->upload_mem = xstrdup("{}");
	req->upload_mem_len = 2;
	http_request_submit(req);
}

static void meta_json(struct buf *b, const struct fs_meta *m)
{
	buf_append_str(b, "{");
	if (m->mailbox_guid != NULL) {
		buf_append_str(b, "\"stratus_mailbox_guid\":");
		cdmi_json_quote(b, m->mailbox_guid);
		buf_append_c(b, ',');
	}
	if (m->message_guid != NULL) {
		buf_append_str(b, "\"stratus_message_guid\":");
		cdmi_json_quote(b, m->message_guid);
		buf_append_c(b, ',');
	}
	buf_printf(b, "\"stratus_received_date\":\"%" PRId64 "\","
		   "\"stratus_save_date\":\"%" PRId64 "\","
		   "\"stratus_physical_size\":\"%" PRIu64 "\","
		   "\"stratus_virtual_size\":\"%" PRIu64 "\","
		   "\"stratus_generation\":\"%" PRIu64 "\"}",
		   m->received_date, m->save_date, m->physical_size,
		   m->virtual_size, m->generation);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The CDMI JSON of a put into a memfd: the body base64-encoded in
 * chunks, so memory holds one chunk plus the encoded file. */
static int cdmi_put_body(int in, const struct fs_meta *meta)
{
	enum { CHUNK = 48 * 1024 };	/* a multiple of 3: no padding mid-way */
	int out = fs_memfd("cdmi-put");
	struct buf head = BUF_INIT;
	unsigned char *raw = xmalloc(CHUNK), *enc = xmalloc(CHUNK / 3 * 4 + 1);
	off_t off = 0;
	int ret = out < 0 ? -1 : 0;

	buf_append_str(&head, "{\"mimetype\":\"application/octet-stream\","
		       "\"metadata\":");
	meta_json(&head, meta);
	buf_append_str(&head, ",\"valuetransferencoding\":\"base64\",\"value\":\"");
	if (ret == 0)
		ret = write_all(out, head.data, head.len);
	while (ret == 0) {
		size_t got = 0;
		while (got < CHUNK) {
			ssize_t n = pread(in, raw + got, CHUNK - got, off);
			if (n < 0) {
				ret = -1;
				break;
			}
			if (n == 0)
				break;
			got += (size_t)n;
			off += n;
		}
		if (ret < 0 || got == 0)
			break;
		int elen = EVP_EncodeBlock(enc, raw, (int)got);
		ret = write_all(out, enc, (size_t)elen);
		if (got < CHUNK)
			break;
	}
	if (ret == 0)
		ret = write_all(out, "\"}", 2);
	buf_free(&head);
	free(raw);
	free(enc);
	if (ret < 0 && out >= 0) {
		close(out);
		out = -1;
	}
	return out;
}

static void cdmi_put(struct fs *fs, const char *key, int fd,
		     const struct fs_meta *meta, fs_cb *cb, void *ctx)
{
	struct cdmi_op *op = cdmi_op_new(fs, key, cb, ctx);
	struct fs_scality *sc = fs->priv;
	if ((meta->if_match != NULL || meta->if_none_match) &&
	    !sc->said_no_conditions) {
		sc->said_no_conditions = true;
		log_warning(NULL, "scality: CDMI has no conditional PUT; "
			    "if_match/if_none_match are ignored (index bundles "
			    "rely on svc-index's generation claim alone)");
	}
	int64_t size = fs_fd_size(fd);
	op->body_op = BLOB_OP_PUT;
	op->put_size = size < 0 ? 0 : (uint64_t)size;
	op->body_fd = cdmi_put_body(fd, meta);
	if (op->body_fd < 0) {
		fs_pending_fail(op->pend, FS_TEMPFAIL,
				"CDMI PUT %s: cannot encode the body", key);
		fs_pending_deliver(fs->loop, op->pend);
		op->pend = NULL;
		free(op->addhdr);
		free(op->key);
		free(op);
		return;
	}
	cdmi_create_send(op);
}

static void cdmi_copy(struct fs *fs, const char *src, const char *dst,
		      fs_cb *cb, void *ctx)
{
	struct fs_scality *c = fs->priv;
	struct cdmi_op *op = cdmi_op_new(fs, dst, cb, ctx);
	struct buf b = BUF_INIT;
	char *src_path = cdmi_path(c, src);
	op->body_op = BLOB_OP_COPY;
	buf_append_str(&b, "{\"copy\":");
	cdmi_json_quote(&b, src_path);
	buf_append_str(&b, "}");
	free(src_path);
	op->body_mem_len = b.len;
	op->body_mem = buf_steal(&b);
	cdmi_create_send(op);
}

/* ---- get / head ---- */

static void cdmi_get_done(struct http_request *req, void *ctx)
{
	struct cdmi_op *op = ctx;
	struct fs_result *r = &op->pend->r;
	if (!http_request_ok(req)) {
		cdmi_fail(op, req, "GET");
	} else if (req->content_length != 0 &&
		   req->body_size != req->content_length) {
		fs_pending_fail(op->pend, FS_TEMPFAIL, "CDMI GET %s: truncated body",
				op->key);
	} else {
		if (req->body_fd < 0)
			req->body_fd = fs_memfd("blob-get");
		r->fd = req->body_fd;
		req->body_fd = -1;
		r->size = req->body_size;
	}
	http_request_free(req);
	cdmi_op_finish(op);
}

static void cdmi_get(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	struct fs_scality *c = fs->priv;
	struct cdmi_op *op = cdmi_op_new(fs, key, cb, ctx);
	struct http_request *req = cdmi_request(op, BLOB_OP_GET, "GET",
		cdmi_url(c, key, NULL), false, cdmi_get_done);
	req->body_to_fd = true;
	http_request_submit(req);
}

static int64_t meta_i64(const struct cdmi_answer *a, const char *name)
{
	const char *v = cdmi_answer_meta(a, name);
	return v == NULL ? 0 : strtoll(v, NULL, 10);
}

static void cdmi_head_done(struct http_request *req, void *ctx)
{
	struct cdmi_op *op = ctx;
	struct fs_result *r = &op->pend->r;
	struct cdmi_answer a;
	if (!http_request_ok(req)) {
		cdmi_fail(op, req, "HEAD");
	} else if (req->body_truncated ||
		   cdmi_json_parse(req->body.data ? req->body.data : "",
				   req->body.len, &a) < 0) {
		if (!req->body_truncated)
			cdmi_answer_free(&a);
		fs_pending_fail(op->pend, FS_TEMPFAIL,
				"CDMI HEAD %s: unreadable answer", op->key);
	} else {
		const char *v;
		if ((v = cdmi_answer_meta(&a, "stratus_mailbox_guid")) != NULL)
			r->meta.mailbox_guid = xstrdup(v);
		if ((v = cdmi_answer_meta(&a, "stratus_message_guid")) != NULL)
			r->meta.message_guid = xstrdup(v);
		r->meta.received_date = meta_i64(&a, "stratus_received_date");
		r->meta.save_date = meta_i64(&a, "stratus_save_date");
		r->meta.physical_size = (uint64_t)meta_i64(&a, "stratus_physical_size");
		r->meta.virtual_size = (uint64_t)meta_i64(&a, "stratus_virtual_size");
		r->meta.generation = (uint64_t)meta_i64(&a, "stratus_generation");
		r->size = (uint64_t)meta_i64(&a, "cdmi_size");
		cdmi_answer_free(&a);
	}
	http_request_free(req);
	cdmi_op_finish(op);
}

static void cdmi_head(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	struct fs_scality *c = fs->priv;
	struct cdmi_op *op = cdmi_op_new(fs, key, cb, ctx);
	struct http_request *req = cdmi_request(op, BLOB_OP_HEAD, "GET",
		cdmi_url(c, key, "metadata"), true, cdmi_head_done);
	req->headers = curl_slist_append(req->headers, "Accept: " CDMI_OBJECT_TYPE);
	req->body_max = HTTP_ERROR_BODY_MAX;
	http_request_submit(req);
}

/* ---- delete ---- */

struct cdmi_del {
	struct cdmi_op *op;
	char *key;
};

static void cdmi_delete_done(struct http_request *req, void *ctx)
{
	struct cdmi_del *d = ctx;
	struct cdmi_op *op = d->op;
	struct fs_result *r = &op->pend->r;
	/* deleting what is gone succeeds, like S3 */
	if (http_request_ok(req) || req->code == 404) {
		r->deleted++;
	} else if (req->code == 0 || req->code >= 500 || req->code == 401 ||
		   req->code == 403) {
		if (!op->delete_failed) {
			free(op->key);
			op->key = xstrdup(d->key);
			cdmi_fail(op, req, "DELETE");
			op->delete_failed = true;
		}
	} else {
		r->failed = xreallocarray(r->failed, r->n_failed + 1, sizeof(char *));
		r->failed[r->n_failed++] = xstrdup(d->key);
	}
	http_request_free(req);
	free(d->key);
	free(d);
	if (--op->outstanding == 0)
		cdmi_op_finish(op);
}

static void cdmi_delete(struct fs *fs, const char *const *keys, size_t n,
			fs_cb *cb, void *ctx)
{
	struct fs_scality *c = fs->priv;
	struct cdmi_op *op = cdmi_op_new(fs, n == 1 ? keys[0] : NULL, cb, ctx);
	if (n == 0) {
		fs_pending_deliver(fs->loop, op->pend);
		op->pend = NULL;
		free(op->addhdr);
		free(op->key);
		free(op);
		return;
	}
	op->outstanding = n;
	for (size_t i = 0; i < n; i++) {
		struct cdmi_del *d = xcalloc(1, sizeof(*d));
		d->op = op;
		d->key = xstrdup(keys[i]);
		struct http_request *req = cdmi_request(op, BLOB_OP_DELETE,
			"DELETE", cdmi_url(c, keys[i], NULL), true,
			cdmi_delete_done);
		req->cb_ctx = d;
		http_request_submit(req);
	}
}

/* ---- list ---- */

static void cdmi_list_step(struct cdmi_op *op);

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cdmi_list_fetch(struct cdmi_op *op);

static void cdmi_list_page_done(struct http_request *req, void *ctx)
{
	struct cdmi_op *op = ctx;
	struct list_frame *f = &op->stack[op->depth - 1];
	struct cdmi_answer a;
	bool last = true;
	if (req->code == 404) {
		/* a missing container lists as empty, like an S3 prefix */
	} else if (!http_request_ok(req)) {
		cdmi_fail(op, req, "LIST");
		goto fail;
	} else if (req->body_truncated ||
		   cdmi_json_parse(req->body.data ? req->body.data : "",
				   req->body.len, &a) < 0) {
		if (!req->body_truncated)
			cdmi_answer_free(&a);
		fs_pending_fail(op->pend, FS_TEMPFAIL,
				"CDMI LIST %s: unreadable answer", f->rel);
		goto fail;
	} else {
		if (f->n + a.n_children > CDMI_MAX_CONTAINER_CHILDREN) {
			cdmi_answer_free(&a);
			fs_pending_fail(op->pend, FS_TEMPFAIL,
					"CDMI LIST %s: more than %d children",
					f->rel, CDMI_MAX_CONTAINER_CHILDREN);
			goto fail;
		}
		f->names = xreallocarray(f->names, f->n + a.n_children,
					 sizeof(char *));
		for (size_t i = 0; i < a.n_children; i++) {
			char *name = a.children[i];
			/* a child name is one path part: refuse '/' inside,
			 * "." and ".." so no key escapes its container */
			size_t len = strlen(name);
			size_t base = len > 0 && name[len - 1] == '/' ? len - 1 : len;
			if (base == 0 || memchr(name, '/', base) != NULL ||
			    strcmp(name, ".") == 0 || strcmp(name, "./") == 0 ||
			    strcmp(name, "..") == 0 || strcmp(name, "../") == 0) {
				free(name);
				continue;
			}
			f->names[f->n++] = name;
		}
		a.n_children = 0;
		/* childrenrange "S-E" of a full page: ask for the next one */
		uint64_t s, e;
		last = !(a.childrenrange != NULL &&
			 sscanf(a.childrenrange, "%" SCNu64 "-%" SCNu64, &s, &e) == 2 &&
			 e - s + 1 >= CDMI_CHILDREN_PAGE);
		cdmi_answer_free(&a);
	}
	http_request_free(req);
	if (!last) {
		cdmi_list_fetch(op);
		return;
	}
	if (f->n > 1)
		qsort(f->names, f->n, sizeof(char *), name_cmp);
	f->next = 0;
	cdmi_list_step(op);
	return;
fail:
	http_request_free(req);
	cdmi_op_finish(op);
}

static void cdmi_list_fetch(struct cdmi_op *op)
{
	struct fs_scality *c = op->fs->priv;
	struct list_frame *f = &op->stack[op->depth - 1];
	char query[64];
	snprintf(query, sizeof(query), "children:%zu-%zu", f->n,
		 f->n + CDMI_CHILDREN_PAGE - 1);
	struct http_request *req = cdmi_request(op, BLOB_OP_LIST, "GET",
		cdmi_url(c, f->rel, query), true, cdmi_list_page_done);
	req->headers = curl_slist_append(req->headers,
					 "Accept: " CDMI_CONTAINER_TYPE);
	req->body_max = HTTP_LIST_BODY_MAX;
	http_request_submit(req);
}

static void cdmi_list_push(struct cdmi_op *op, char *rel)
{
	op->stack = xreallocarray(op->stack, op->depth + 1, sizeof(*op->stack));
	memset(&op->stack[op->depth], 0, sizeof(op->stack[0]));
	op->stack[op->depth++].rel = rel;
	cdmi_list_fetch(op);
}

static void cdmi_list_pop(struct cdmi_op *op)
{
	struct list_frame *f = &op->stack[--op->depth];
	for (size_t k = 0; k < f->n; k++)
		free(f->names[k]);
	free(f->names);
	free(f->rel);
}

/* Walks the loaded frames until it needs another container (returns
 * after starting that fetch) or is done (delivers). Same rules as the
 * posix walk: only what is under the prefix or on the way to it; whole
 * subtrees that sort before `after` are skipped. */
static void cdmi_list_step(struct cdmi_op *op)
{
	size_t plen = strlen(op->prefix);
	struct fs_result *r = &op->pend->r;
	while (op->depth > 0 && !op->more) {
		struct list_frame *f = &op->stack[op->depth - 1];
		if (f->next >= f->n) {
			cdmi_list_pop(op);
			continue;
		}
		const char *name = f->names[f->next++];
		char *key = xasprintf("%s%s", f->rel, name);
		size_t klen = strlen(key);
		bool is_dir = key[klen - 1] == '/';
		if (strncmp(key, op->prefix, klen < plen ? klen : plen) != 0) {
			free(key);
		} else if (is_dir) {
			bool before = op->after != NULL &&
				strncmp(key, op->after, klen) != 0 &&
				strcmp(key, op->after) < 0;
			if (before || klen >= FS_KEY_MAX) {
				free(key);
				continue;
			}
			cdmi_list_push(op, key);
			return;
		} else if (klen >= plen &&
			   (op->after == NULL || strcmp(key, op->after) > 0)) {
			if (r->n_entries == op->max) {
				op->more = true;
				free(key);
			} else {
				r->entries = xreallocarray(r->entries,
					r->n_entries + 1, sizeof(*r->entries));
				r->entries[r->n_entries].key = key;
				r->entries[r->n_entries].size = 0;
				r->n_entries++;
			}
		} else {
			free(key);
		}
	}
	if (op->more && r->n_entries > 0)
		r->next = xstrdup(r->entries[r->n_entries - 1].key);
	cdmi_op_finish(op);
}

static void cdmi_list(struct fs *fs, const char *prefix, const char *after,
		      unsigned int max_keys, fs_cb *cb, void *ctx)
{
	struct cdmi_op *op = cdmi_op_new(fs, prefix, cb, ctx);
	op->prefix = xstrdup(prefix);
	op->after = after != NULL && after[0] != '\0' ? xstrdup(after) : NULL;
	op->max = max_keys == 0 || max_keys > FS_LIST_MAX_KEYS ?
		FS_LIST_MAX_KEYS : max_keys;
	/* start at the deepest container the prefix names whole */
	const char *slash = strrchr(prefix, '/');
	char *rel = slash == NULL ? xstrdup("") :
		xstrndup(prefix, (size_t)(slash - prefix) + 1);
	cdmi_list_push(op, rel);
}

/* ---- set-up ---- */

static void cdmi_free(struct fs *fs)
{
	struct fs_scality *c = fs->priv;
	http_client_free(&c->http);
	free(c->origin);
	free(c->base_path);
	free(c->addhdr_name);
	free(c->addhdr_tmpl);
	free(c);
}

static const struct fs_vfuncs fs_scality_vfuncs = {
	.name = "scality",
	.put = cdmi_put,
	.get = cdmi_get,
	.head = cdmi_head,
	.delete = cdmi_delete,
	.copy = cdmi_copy,
	.list = cdmi_list,
	.free = cdmi_free,
};

int fs_scality_init(struct fs *fs, const struct fs_layer *layer,
		    const struct fs_settings *set, char **error_r)
{
	const struct fs_http_url *u = &layer->url;
	struct fs_scality *c = xcalloc(1, sizeof(*c));
	(void)error_r;
	c->origin = http_url_origin(u);
	c->base_path = xstrdup(u->path);
	if (u->addhdr_name != NULL) {
		c->addhdr_name = xstrdup(u->addhdr_name);
		c->addhdr_tmpl = xstrdup(u->addhdr_value);
	}
	if (u->bulk_delete || u->bulk_link)
		log_info(NULL, "scality: %s%s%s: no bulk wire format is defined "
			 "by CDMI or documented by Dovecot; deleting and "
			 "copying one object a request (in parallel up to "
			 "obox_max_parallel_deletes/copies)",
			 u->bulk_delete ? "bulk_delete=1" : "",
			 u->bulk_delete && u->bulk_link ? ", " : "",
			 u->bulk_link ? "bulk_link=1" : "");
	c->http = http_client_new(fs->loop, fs->stats, u, set);
	fs->v = &fs_scality_vfuncs;
	fs->priv = c;
	return 0;
}
