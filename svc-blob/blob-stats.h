/* Request accounting: what svc-blob asked of object storage, per
 * operation and result. Object storage requests are the operator's bill,
 * so every backend request (and every retry) is counted here and shown
 * by the status RPC and `stratusctl fs stats`. */
#ifndef STRATUS_BLOB_STATS_H
#define STRATUS_BLOB_STATS_H

#include <stdint.h>
#include "status.pb-c.h"

enum blob_op {
	BLOB_OP_PUT,
	BLOB_OP_GET,
	BLOB_OP_HEAD,
	BLOB_OP_DELETE,
	BLOB_OP_LIST,
	BLOB_OP_COPY,
	BLOB_OP_COUNT
};

enum blob_result {
	BLOB_RES_2XX,
	BLOB_RES_4XX,
	BLOB_RES_5XX,
	BLOB_RES_NETERR,	/* connect failure, reset, timeout */
	BLOB_RES_RETRY,		/* a request that was sent again */
	BLOB_RES_COUNT
};

struct blob_stats {
	uint64_t req[BLOB_OP_COUNT][BLOB_RES_COUNT];
	uint64_t bytes_in, bytes_out;	/* bodies from/to storage */
	uint64_t cache_hits, cache_misses, cache_evictions, cache_errors;
	uint64_t cache_bytes;		/* current fscache usage */
	unsigned int inflight[BLOB_OP_COUNT];
	unsigned int inflight_max[BLOB_OP_COUNT];	/* high-water marks */
};

const char *blob_op_name(enum blob_op op);
void blob_stats_count(struct blob_stats *st, enum blob_op op, long http_code);
/* One finished backend request into the storage_request_seconds and
 * (put/get) storage_request_bytes histograms, by operation and result. */
void blob_stats_observe(enum blob_op op, long http_code, double seconds,
			uint64_t bytes);
void blob_stats_inflight(struct blob_stats *st, enum blob_op op, int delta);
void blob_stats_report(const struct blob_stats *st,
		       Stratus__StatusReply *reply);

#endif
