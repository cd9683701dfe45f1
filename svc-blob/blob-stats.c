/* Request accounting counters (see blob-stats.h). */
#include "blob-stats.h"
#include "service.h"
#include "histogram.h"

#include <stdio.h>

static const char *const op_names[BLOB_OP_COUNT] = {
	"put", "get", "head", "delete", "list", "copy"
};
static const char *const res_names[BLOB_RES_COUNT] = {
	"2xx", "4xx", "5xx", "neterr", "retries"
};

const char *blob_op_name(enum blob_op op)
{
	return op < BLOB_OP_COUNT ? op_names[op] : "?";
}

static enum blob_result blob_result_of(long http_code)
{
	enum blob_result res;
	if (http_code < 0)
		res = BLOB_RES_RETRY;
	else if (http_code == 0)
		res = BLOB_RES_NETERR;
	else if (http_code < 400)
		res = BLOB_RES_2XX;
	else if (http_code < 500)
		res = BLOB_RES_4XX;
	else
		res = BLOB_RES_5XX;
	return res;
}

/* http_code: an HTTP status, 0 for a network error, -1 for a retry. */
void blob_stats_count(struct blob_stats *st, enum blob_op op, long http_code)
{
	if (st == NULL || op >= BLOB_OP_COUNT)
		return;
	st->req[op][blob_result_of(http_code)]++;
}

void blob_stats_observe(enum blob_op op, long http_code, double seconds,
			uint64_t bytes)
{
	char labels[64];
	if (op >= BLOB_OP_COUNT)
		return;
	snprintf(labels, sizeof(labels), "op=\"%s\",result=\"%s\"",
		 op_names[op], res_names[blob_result_of(http_code)]);
	histo_observe("storage_request_seconds", labels, HISTO_SECONDS,
		      seconds);
	/* The bytes a request moved (body up or down): what the bill
	 * counts besides requests. */
	if (op == BLOB_OP_PUT || op == BLOB_OP_GET)
		histo_observe("storage_request_bytes", labels, HISTO_BYTES,
			      (double)bytes);
}

void blob_stats_inflight(struct blob_stats *st, enum blob_op op, int delta)
{
	if (st == NULL || op >= BLOB_OP_COUNT)
		return;
	st->inflight[op] = (unsigned int)((int)st->inflight[op] + delta);
	if (st->inflight[op] > st->inflight_max[op])
		st->inflight_max[op] = st->inflight[op];
}

void blob_stats_report(const struct blob_stats *st,
		       Stratus__StatusReply *reply)
{
	char name[64];
	for (int op = 0; op < BLOB_OP_COUNT; op++) {
		for (int r = 0; r < BLOB_RES_COUNT; r++) {
			snprintf(name, sizeof(name), "%s_%s", op_names[op],
				 res_names[r]);
			service_status_counter(reply, name, st->req[op][r]);
		}
		snprintf(name, sizeof(name), "%s_inflight_max", op_names[op]);
		service_status_counter(reply, name, st->inflight_max[op]);
	}
	service_status_counter(reply, "bytes_in", st->bytes_in);
	service_status_counter(reply, "bytes_out", st->bytes_out);
	service_status_counter(reply, "fscache_hits", st->cache_hits);
	service_status_counter(reply, "fscache_misses", st->cache_misses);
	service_status_counter(reply, "fscache_evictions", st->cache_evictions);
	service_status_counter(reply, "fscache_errors", st->cache_errors);
	service_status_counter(reply, "fscache_bytes", st->cache_bytes);
}
