/* HTTP for object storage drivers: libcurl multi driven by the service's
 * loop (curl_multi_socket_action on the sockets curl names, one timer for
 * its timeout), connection reuse, per-operation parallelism limits,
 * retries with exponential backoff and jitter on 5xx (503 SlowDown too),
 * timeouts and resets - never on 4xx - and the request accounting. */
#ifndef STRATUS_HTTP_CLIENT_H
#define STRATUS_HTTP_CLIENT_H

#include <curl/curl.h>
#include "blob-stats.h"
#include "buf.h"
#include "fs.h"
#include "fs-chain.h"
#include "loop.h"

#define HTTP_ERROR_BODY_MAX (64 * 1024)	/* error XML we keep */
#define HTTP_LIST_BODY_MAX (8 * 1024 * 1024)	/* a ListObjectsV2 page */
#define HTTP_HEADERS_MAX (64 * 1024)
#define HTTP_BACKOFF_BASE_MS 50
#define HTTP_BACKOFF_MAX_MS 5000

struct http_client;
struct http_request;

typedef void http_done_cb(struct http_request *req, void *ctx);

struct http_request {
	/* set by the caller */
	enum blob_op op;
	const char *method;	/* "GET", "PUT", ... */
	char *url;
	struct curl_slist *headers;
	int upload_fd;		/* borrowed; -1 = none */
	uint64_t upload_size;
	char *upload_mem;	/* owned small body (XML); used if fd < 0 */
	size_t upload_mem_len;
	bool body_to_fd;	/* 2xx bodies into a memfd (GET) */
	size_t body_max;	/* cap of the in-memory body */
	http_done_cb *cb;
	void *cb_ctx;

	/* results */
	long code;		/* HTTP status, 0 = no response */
	char error[CURL_ERROR_SIZE + 64];	/* transport error text */
	int body_fd;		/* with body_to_fd and a 2xx answer */
	uint64_t body_size;
	struct buf body;	/* other bodies, capped at body_max */
	bool body_truncated;
	struct fs_meta meta;	/* x-amz-meta-* of the answer */
	uint64_t content_length;

	/* private */
	struct http_client *client;
	CURL *easy;
	unsigned int retries, connect_retries;
	uint64_t upload_off;
	struct loop_timer *backoff;
	struct http_request *qnext;
	char *meta_prefix;	/* lower-case header prefix of metadata */
	size_t header_bytes;
};

struct http_client *http_client_new(struct loop *loop, struct blob_stats *stats,
				    const struct fs_http_url *url,
				    const struct fs_settings *set);
void http_client_free(struct http_client **client);
/* S3: sign every request with SigV4 for `region`. */
void http_client_set_sigv4(struct http_client *client, const char *region);

/* A request with the client's defaults; the caller fills it in. */
struct http_request *http_request_new(struct http_client *client,
				      enum blob_op op, const char *method,
				      char *url, http_done_cb *cb, void *ctx);
/* Queues it; cb runs once from the loop, then the caller frees it. */
void http_request_submit(struct http_request *req);
void http_request_free(struct http_request *req);

/* What both HTTP drivers (fs-s3.c, fs-scality.c) set up the same way. */
/* "http[s]://host[:port]" of a driver URL (malloc'd). */
char *http_url_origin(const struct fs_http_url *url);
/* The answer was 2xx. */
bool http_request_ok(const struct http_request *req);
/* Sends fd (borrowed) as the body, with its size as it is now. */
void http_request_upload_fd(struct http_request *req, int fd);
/* Fails pend for a request without a 2xx answer: no answer or 5xx is
 * FS_TEMPFAIL, 404 FS_NOT_FOUND, 401/403 FS_DENIED, other codes
 * FS_INVALID; the message is "<proto> <what> <key>: HTTP <code><detail>"
 * (detail: the driver's reading of the error body, "" for none). */
void http_request_fail(const struct http_request *req,
		       struct fs_pending *pend, const char *proto,
		       const char *what, const char *key, const char *detail);

/* "x-amz-meta-" style metadata headers to parse from answers. */
void http_request_set_meta_prefix(struct http_request *req, const char *prefix);

/* Percent-encodes for a URL path (keeps '/' unless encode_slash) or a
 * query value, the way SigV4 canonicalizes. */
void http_uri_encode(struct buf *out, const char *s, bool encode_slash);

#endif
