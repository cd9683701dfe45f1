/* libFuzzer target for svc-index's byte formats (svc-index/index-file.h
 * and index-marker.h): the transaction log, snapshots, bundles and
 * mailbox name markers all come from disk or object storage and are
 * untrusted (bundles of version 1 and of version 2, in sections). The first input byte picks the path; the rest is the file.
 * Decoded states and transactions are also loaded into a user's model
 * (the semantic checks live there) and packed again, so that anything
 * a decoder accepts must load or be refused cleanly, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index-blob.h"
#include "index-common.h"
#include "index-file.h"
#include "index-marker.h"
#include "index-service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_apply_txn(const Stratus__Indexfile__Transaction *txn,
			  void *ctx, const char **error_r)
{
	struct index_user *user = ctx;
	for (size_t i = 0; i < txn->n_ops; i++) {
		/* A refused op is a clean error; the next may still apply. */
		(void)index_apply_op(user, txn->ops[i], error_r);
	}
	return 0;
}

/* What a state loads into must also make a version-2 bundle that
 * decodes again (the incremental encoder of index-bundle-cache.c). */
static void fuzz_bundle_again(struct index_user *user)
{
	size_t encoded, len;
	uint8_t *data;
	const char *error = NULL;
	int fd = index_bundle_build(user, 1, &encoded);
	if (fd < 0)
		return;
	if (index_blob_read_fd(fd, INDEX_STATE_MAX, &data, &len) < 0)
		abort();
	close(fd);
	Stratus__Indexfile__State *st = index_bundle_decode(data, len, &error);
	if (st == NULL)
		abort();
	stratus__indexfile__state__free_unpacked(st, NULL);
	free(data);
}

/* Loads a decoded state, packs it, and decodes the packed form again:
 * what we accept we must be able to write back. */
static void fuzz_state(Stratus__Indexfile__State *st)
{
	struct index_user user;
	const char *error = NULL;
	if (st == NULL)
		return;
	memset(&user, 0, sizeof(user));
	user.log_fd = -1;
	if (index_state_load(&user, st, &error) == 0) {
		size_t len;
		uint8_t *packed = index_state_pack(&user, &len);
		Stratus__Indexfile__State *again =
			stratus__indexfile__state__unpack(NULL, len, packed);
		if (again == NULL)
			abort();
		stratus__indexfile__state__free_unpacked(again, NULL);
		free(packed);
		fuzz_bundle_again(&user);
	}
	index_user_clear_state(&user);
	stratus__indexfile__state__free_unpacked(st, NULL);
}

static void fuzz_log(const uint8_t *data, size_t size)
{
	struct index_user user;
	const char *error = NULL;
	size_t valid_end = 0;
	/* With and without a valid header, so records are reached. */
	uint8_t *buf = malloc(size + INDEX_MAGIC_LEN + 1);
	memcpy(buf, INDEX_LOG_MAGIC, INDEX_MAGIC_LEN);
	memcpy(buf + INDEX_MAGIC_LEN, data, size);
	memset(&user, 0, sizeof(user));
	user.log_fd = -1;
	if (index_log_parse(buf, size + INDEX_MAGIC_LEN, fuzz_apply_txn, &user,
			    &valid_end, &error) == 0 &&
	    valid_end > size + INDEX_MAGIC_LEN)
		abort();
	index_user_clear_state(&user);
	(void)index_log_parse(data, size, fuzz_apply_txn, &user, &valid_end,
			      &error);
	index_user_clear_state(&user);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	size_t len;
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	switch (mode % 6) {
	case 0:
		fuzz_log(data, size);
		break;
	case 1: {
		/* A well-framed snapshot around arbitrary State bytes. */
		uint8_t *file = index_snapshot_encode(data, size, &len);
		fuzz_state(index_snapshot_decode(file, len, &error));
		free(file);
		break;
	}
	case 2:
		fuzz_state(index_snapshot_decode(data, size, &error));
		break;
	case 3: {
		uint8_t *bundle = index_bundle_encode(data, size, 1, &len);
		if (bundle != NULL)
			fuzz_state(index_bundle_decode(bundle, len, &error));
		free(bundle);
		break;
	}
	case 4:
		fuzz_state(index_bundle_decode(data, size, &error));
		break;
	case 5: {
		struct index_marker m;
		if (index_marker_parse(data, size, (mode & 0x80) ? '.' : '/',
				       &m, &error) == 0) {
			if (m.name == NULL)
				abort();
			index_marker_clear(&m);
		}
		break;
	}
	}
	return 0;
}
