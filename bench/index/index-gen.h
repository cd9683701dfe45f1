/* index-bench's message generator (see index-gen.c). */
#ifndef INDEX_BENCH_GEN_H
#define INDEX_BENCH_GEN_H

#include <stdint.h>

#include "lmtp-cache.h"

struct index_gen_msg {
	uint64_t physical_size, virtual_size;
	int64_t internal_date;
	char object_id[40];		/* as long as svc-blob's ids */
	struct lmtp_cached cached;	/* owned; index_gen_free() */
};

/* Message number seq of the run seeded by seed. 0, or -1 when the cache
 * could not be built (a bug: the bench then stops). */
int index_gen_message(uint64_t seed, uint32_t seq, struct index_gen_msg *m);
void index_gen_free(struct index_gen_msg *m);

#endif
