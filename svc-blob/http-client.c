/* libcurl multi inside the loop (see http-client.h). Each operation class
 * (GET, PUT, COPY, DELETE; HEAD and LIST share the GET bound) has its own
 * queue and in-flight bound, so a burst of deletes cannot starve message
 * fetches and the storage never sees more than the configured number of
 * parallel requests of a kind. A slot stays taken while a request waits
 * out its retry backoff.
 *
 * The bounds are per http_client, and each chain's driver has its own
 * client: with obox_fs and obox_index_fs both on HTTP storage, up to twice
 * mail_prefetch_count GETs (and twice each obox_max_parallel_*) can be in
 * flight from one svc-blob. Dovecot applies the same settings per fs
 * instance (per user session), so this is not looser than Dovecot; making
 * them one service-wide budget means sharing the in-flight counts and
 * waking the other client's queue when a slot frees - not done yet. */
#include "http-client.h"
#include "fs-drivers.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

struct http_queue {
	struct http_request *head, *tail;
	unsigned int inflight, limit;
};

enum { Q_GET, Q_PUT, Q_COPY, Q_DELETE, Q_COUNT };

struct http_client {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	struct blob_stats *stats;
	struct http_queue queues[Q_COUNT];
	char *userpwd_user, *userpwd_pass;
	char *sigv4;		/* "aws:amz:REGION:s3", NULL = unsigned */
	uint64_t connect_timeout_ms, timeout_ms;
	unsigned int max_retries, max_connect_retries;
	bool curl_running;
};

static int queue_of(enum blob_op op)
{
	switch (op) {
	case BLOB_OP_PUT: return Q_PUT;
	case BLOB_OP_COPY: return Q_COPY;
	case BLOB_OP_DELETE: return Q_DELETE;
	default: return Q_GET;
	}
}

/* ---- curl <-> loop glue ---- */

static void http_check_done(struct http_client *c);
static void http_dispatch(struct http_client *c);

/* What we keep per socket curl asked us to watch. */
struct http_sock {
	struct http_client *client;
	int fd;
	struct loop_io *io;
};

static void http_io_cb(struct loop_io *io, uint32_t events, void *ctx)
{
	struct http_sock *hs = ctx;
	struct http_client *c = hs->client;
	int running, flags = 0;
	(void)io;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, hs->fd, flags, &running);
	http_check_done(c);
}

static int http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
			  void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *hs = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			loop_io_remove(&hs->io);
			free(hs);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		(what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (hs == NULL) {
		hs = xcalloc(1, sizeof(*hs));
		hs->client = c;
		hs->fd = s;
		hs->io = loop_io_add(c->loop, s, events, http_io_cb, hs);
		curl_multi_assign(c->multi, s, hs);
	} else {
		loop_io_set_events(hs->io, events);
	}
	return 0;
}

static void http_timer_fire(struct loop_timer *timer, void *ctx)
{
	struct http_client *c = ctx;
	int running;
	(void)timer;
	c->timer = NULL;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done(c);
}

static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	(void)multi;
	loop_timer_remove(&c->timer);
	if (timeout_ms >= 0)
		c->timer = loop_timer_add(c->loop, (uint64_t)timeout_ms, false,
					  http_timer_fire, c);
	return 0;
}

/* ---- easy handle callbacks ---- */

static size_t http_read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_request *req = ud;
	size_t want = size * nmemb;
	if (req->upload_fd < 0) {
		size_t left = req->upload_mem_len - req->upload_off;
		if (want > left)
			want = left;
		memcpy(ptr, req->upload_mem + req->upload_off, want);
		req->upload_off += want;
		return want;
	}
	ssize_t n = pread(req->upload_fd, ptr, want, (off_t)req->upload_off);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	req->upload_off += (uint64_t)n;
	return (size_t)n;
}

static size_t http_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_request *req = ud;
	size_t n = size * nmemb;
	long code = 0;
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code);
	if (req->body_to_fd && code >= 200 && code < 300) {
		if (req->body_fd < 0 && (req->body_fd = fs_memfd("blob-get")) < 0)
			return 0;
		if (req->body_size + n > FS_MAX_OBJECT_SIZE)
			return 0;
		for (size_t done = 0; done < n;) {
			ssize_t w = write(req->body_fd, ptr + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return 0;
			done += (size_t)w;
		}
		req->body_size += n;
		return n;
	}
	/* error bodies and XML: keep what fits, note the rest */
	if (req->body_truncated || buf_append(&req->body, ptr, n) < 0)
		req->body_truncated = true;
	return n;
}

static bool header_is(const char *line, size_t len, const char *name,
		      const char **value_r, size_t *vlen_r)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0)
		return false;
	const char *v = line + n;
	size_t vlen = len - n;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
			    v[vlen - 1] == ' '))
		vlen--;
	*value_r = v;
	*vlen_r = vlen;
	return true;
}

static int64_t parse_i64(const char *v, size_t len)
{
	char tmp[32];
	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	return strtoll(tmp, NULL, 10);
}

static size_t http_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_request *req = ud;
	size_t n = size * nmemb;
	const char *v;
	size_t vlen;
	char name[96];

	req->header_bytes += n;
	if (req->header_bytes > HTTP_HEADERS_MAX)
		return 0;	/* aborts the transfer: a hostile server */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue or a redirect) */
		fs_meta_clear(&req->meta);
		return n;
	}
	if (header_is(ptr, n, "content-length:", &v, &vlen))
		req->content_length = (uint64_t)parse_i64(v, vlen);
	if (header_is(ptr, n, "etag:", &v, &vlen) && vlen <= 128) {
		free(req->meta.etag);
		req->meta.etag = xstrndup(v, vlen);
	}
	if (req->meta_prefix == NULL)
		return n;
#define META(field) (snprintf(name, sizeof(name), "%s" field ":", req->meta_prefix), name)
	if (header_is(ptr, n, META("mailbox-guid"), &v, &vlen)) {
		free(req->meta.mailbox_guid);
		req->meta.mailbox_guid = xstrndup(v, vlen > 128 ? 128 : vlen);
	} else if (header_is(ptr, n, META("message-guid"), &v, &vlen)) {
		free(req->meta.message_guid);
		req->meta.message_guid = xstrndup(v, vlen > 128 ? 128 : vlen);
	} else if (header_is(ptr, n, META("received-date"), &v, &vlen)) {
		req->meta.received_date = parse_i64(v, vlen);
	} else if (header_is(ptr, n, META("save-date"), &v, &vlen)) {
		req->meta.save_date = parse_i64(v, vlen);
	} else if (header_is(ptr, n, META("physical-size"), &v, &vlen)) {
		req->meta.physical_size = (uint64_t)parse_i64(v, vlen);
	} else if (header_is(ptr, n, META("virtual-size"), &v, &vlen)) {
		req->meta.virtual_size = (uint64_t)parse_i64(v, vlen);
	} else if (header_is(ptr, n, META("generation"), &v, &vlen)) {
		req->meta.generation = (uint64_t)parse_i64(v, vlen);
	}
#undef META
	return n;
}

/* ---- request life cycle ---- */

static void http_reset_response(struct http_request *req)
{
	req->code = 0;
	req->error[0] = '\0';
	if (req->body_fd >= 0)
		close(req->body_fd);
	req->body_fd = -1;
	req->body_size = 0;
	buf_reset(&req->body);
	req->body_truncated = false;
	fs_meta_clear(&req->meta);
	req->content_length = 0;
	req->upload_off = 0;
	req->header_bytes = 0;
}

static void http_start(struct http_request *req)
{
	struct http_client *c = req->client;
	CURL *e = curl_easy_init();
	if (e == NULL)
		log_panic("curl_easy_init failed");
	req->easy = e;
	http_reset_response(req);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->error);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* an "Expect:" header to suppress 100-continue would be signed by
	 * SigV4 and break it; a short wait costs less */
	curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 100L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	if (c->userpwd_user != NULL) {
		curl_easy_setopt(e, CURLOPT_USERNAME, c->userpwd_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->userpwd_pass);
	}
	if (c->sigv4 != NULL)
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "PUT") == 0 ||
		   (strcmp(req->method, "POST") == 0)) {
		uint64_t size = req->upload_fd >= 0 ? req->upload_size :
			req->upload_mem_len;
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, http_read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, req);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
		if (strcmp(req->method, "POST") == 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	}
	blob_stats_inflight(c->stats, req->op, 1);
	curl_multi_add_handle(c->multi, e);
}

static void http_dispatch(struct http_client *c)
{
	for (int q = 0; q < Q_COUNT; q++) {
		struct http_queue *hq = &c->queues[q];
		while (hq->head != NULL && hq->inflight < hq->limit) {
			struct http_request *req = hq->head;
			hq->head = req->qnext;
			if (hq->head == NULL)
				hq->tail = NULL;
			req->qnext = NULL;
			hq->inflight++;
			http_start(req);
		}
	}
}

static void http_backoff_fire(struct loop_timer *timer, void *ctx)
{
	struct http_request *req = ctx;
	(void)timer;
	req->backoff = NULL;
	http_start(req);
}

static uint64_t http_backoff_ms(unsigned int attempt)
{
	uint64_t d = HTTP_BACKOFF_BASE_MS << (attempt > 10 ? 10 : attempt);
	uint32_t r = 0;
	if (d > HTTP_BACKOFF_MAX_MS)
		d = HTTP_BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)monotonic_ms();
	/* jitter: somewhere in [d/2, d] so retries of a burst spread out */
	return d / 2 + r % (d / 2 + 1);
}

static bool is_connect_error(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
		rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static void http_finish(struct http_client *c, CURL *e, CURLcode rc)
{
	struct http_request *req = NULL;
	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &req->code);
	curl_off_t total_us = 0;
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_multi_remove_handle(c->multi, e);
	curl_easy_cleanup(e);
	req->easy = NULL;
	blob_stats_inflight(c->stats, req->op, -1);
	if (rc != CURLE_OK) {
		if (req->error[0] == '\0')
			snprintf(req->error, sizeof(req->error), "%s",
				 curl_easy_strerror(rc));
		req->code = 0;
	}
	blob_stats_count(c->stats, req->op, req->code);
	blob_stats_observe(req->op, req->code, (double)total_us / 1e6,
			   req->upload_off + req->body_size + req->body.len);
	if (req->code >= 200 && req->code < 300 && c->stats != NULL) {
		c->stats->bytes_in += req->body_size + req->body.len;
		c->stats->bytes_out += req->upload_off;
	}

	/* retry 5xx, resets and timeouts; never 4xx */
	bool retry = false;
	if (rc != CURLE_OK && is_connect_error(rc))
		retry = req->connect_retries++ < c->max_connect_retries;
	else if (rc != CURLE_OK || req->code >= 500)
		retry = req->retries++ < c->max_retries;
	if (retry) {
		unsigned int attempt = req->retries + req->connect_retries;
		blob_stats_count(c->stats, req->op, -1);
		log_debug(NULL, "%s %s: %s, retry %u", req->method, req->url,
			  rc != CURLE_OK ? req->error : "server error", attempt);
		req->backoff = loop_timer_add(c->loop, http_backoff_ms(attempt),
					      false, http_backoff_fire, req);
		return;
	}
	c->queues[queue_of(req->op)].inflight--;
	req->cb(req, req->cb_ctx);
}

static void http_check_done(struct http_client *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE)
			http_finish(c, msg->easy_handle, msg->data.result);
	}
	http_dispatch(c);
}

struct http_request *http_request_new(struct http_client *client,
				      enum blob_op op, const char *method,
				      char *url, http_done_cb *cb, void *ctx)
{
	struct http_request *req = xcalloc(1, sizeof(*req));
	req->client = client;
	req->op = op;
	req->method = method;
	req->url = url;
	req->upload_fd = -1;
	req->body_fd = -1;
	req->body_max = HTTP_ERROR_BODY_MAX;
	req->cb = cb;
	req->cb_ctx = ctx;
	return req;
}

void http_request_set_meta_prefix(struct http_request *req, const char *prefix)
{
	free(req->meta_prefix);
	req->meta_prefix = xstrdup(prefix);
}

static void http_submit_deferred(void *ctx)
{
	struct http_request *req = ctx;
	struct http_client *c = req->client;
	http_dispatch(c);
}

void http_request_submit(struct http_request *req)
{
	struct http_client *c = req->client;
	struct http_queue *hq = &c->queues[queue_of(req->op)];
	buf_init(&req->body, req->body_max);
	if (hq->tail != NULL)
		hq->tail->qnext = req;
	else
		hq->head = req;
	hq->tail = req;
	/* start from the loop: callbacks never run inside the caller */
	loop_defer(c->loop, http_submit_deferred, req);
}

void http_request_free(struct http_request *req)
{
	if (req == NULL)
		return;
	if (req->body_fd >= 0)
		close(req->body_fd);
	buf_free(&req->body);
	fs_meta_clear(&req->meta);
	curl_slist_free_all(req->headers);
	free(req->upload_mem);
	free(req->meta_prefix);
	free(req->url);
	free(req);
}

struct http_client *http_client_new(struct loop *loop, struct blob_stats *stats,
				    const struct fs_http_url *url,
				    const struct fs_settings *set)
{
	static bool curl_inited = false;
	if (!curl_inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_inited = true;
	}
	struct http_client *c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->stats = stats;
	c->multi = curl_multi_init();
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	c->queues[Q_GET].limit = set->max_parallel_gets;
	c->queues[Q_PUT].limit = set->max_parallel_writes;
	c->queues[Q_COPY].limit = set->max_parallel_copies;
	c->queues[Q_DELETE].limit = set->max_parallel_deletes;
	for (int q = 0; q < Q_COUNT; q++) {
		if (c->queues[q].limit == 0)
			c->queues[q].limit = 1;
	}
	unsigned int total = 0;
	for (int q = 0; q < Q_COUNT; q++)
		total += c->queues[q].limit;
	/* enough idle connections for every parallel request to reuse one */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)total);
	c->connect_timeout_ms = url->connect_timeout_msecs;
	c->timeout_ms = url->timeout_msecs;
	c->max_retries = url->max_retries;
	c->max_connect_retries = url->max_connect_retries;
	if (url->access_key != NULL) {
		c->userpwd_user = xstrdup(url->access_key);
		c->userpwd_pass = xstrdup(url->secret);
	}
	return c;
}

void http_client_set_sigv4(struct http_client *c, const char *region)
{
	free(c->sigv4);
	c->sigv4 = xasprintf("aws:amz:%s:s3", region);
}

static void http_fail_queue(struct http_request *req)
{
	snprintf(req->error, sizeof(req->error), "shutting down");
	req->code = 0;
	req->cb(req, req->cb_ctx);
}

void http_client_free(struct http_client **_c)
{
	struct http_client *c = *_c;
	if (c == NULL)
		return;
	*_c = NULL;
	for (int q = 0; q < Q_COUNT; q++) {
		struct http_request *req = c->queues[q].head, *next;
		for (; req != NULL; req = next) {
			next = req->qnext;
			http_fail_queue(req);
		}
	}
	loop_timer_remove(&c->timer);
	curl_multi_cleanup(c->multi);
	if (c->userpwd_pass != NULL)
		explicit_bzero(c->userpwd_pass, strlen(c->userpwd_pass));
	free(c->userpwd_user);
	free(c->userpwd_pass);
	free(c->sigv4);
	free(c);
}

void http_uri_encode(struct buf *out, const char *s, bool encode_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~' || (*p == '/' && !encode_slash)) {
			buf_append_c(out, (char)*p);
		} else {
			buf_append_c(out, '%');
			buf_append_c(out, hex[*p >> 4]);
			buf_append_c(out, hex[*p & 15]);
		}
	}
}

char *http_url_origin(const struct fs_http_url *url)
{
	char port[16] = "";
	if (url->port != 0)
		snprintf(port, sizeof(port), ":%u", url->port);
	return xasprintf("%s://%s%s", url->https ? "https" : "http",
			 url->host, port);
}

bool http_request_ok(const struct http_request *req)
{
	return req->code >= 200 && req->code < 300;
}

void http_request_upload_fd(struct http_request *req, int fd)
{
	int64_t size = fs_fd_size(fd);
	req->upload_fd = fd;
	req->upload_size = size < 0 ? 0 : (uint64_t)size;
}

void http_request_fail(const struct http_request *req,
		       struct fs_pending *pend, const char *proto,
		       const char *what, const char *key, const char *detail)
{
	if (key == NULL)
		key = "";
	if (req->code == 0) {
		fs_pending_fail(pend, FS_TEMPFAIL, "%s %s %s: %s", proto, what,
				key, req->error);
		return;
	}
	/* 412 a failed If-Match/If-None-Match; 409 S3's concurrent
	 * conditional writes (ConditionalRequestConflict) */
	enum fs_status st = req->code == 404 ? FS_NOT_FOUND :
		req->code == 412 || req->code == 409 ? FS_CONFLICT :
		req->code == 401 || req->code == 403 ? FS_DENIED :
		req->code >= 500 ? FS_TEMPFAIL : FS_INVALID;
	fs_pending_fail(pend, st, "%s %s %s: HTTP %ld%s", proto, what, key,
			req->code, detail);
}
