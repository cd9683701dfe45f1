/* svc-index: the one svc-blob client of the service (index-blob.c) and
 * the bookkeeping of requests in flight. Bundles (CHAIN_INDEX), mailbox
 * name markers and rebuild listings (CHAIN_MAIL) all go through it.
 * Every request context starts with a struct index_blob_op linked here,
 * so that shutdown can free contexts whose callbacks will never run. */
#ifndef STRATUS_INDEX_BLOB_H
#define STRATUS_INDEX_BLOB_H

#include "index-service.h"
#include "rpc.h"

#include <stddef.h>
#include <stdint.h>

#define INDEX_BLOB_TIMEOUT_MS 60000

struct index_blob_op;
/* Frees a context at shutdown; NULL = free(op->user) and free(op). */
typedef void index_blob_op_destroy(struct index_blob_op *op);

struct index_blob_op {
	struct index_blob_op *prev, *next;
	char *user;
	index_blob_op_destroy *destroy;
};

struct index_blob {
	struct rpc_client *client;
	struct index_blob_op *ops;
	/* descriptor indexes of blob.proto's methods */
	uint32_t m_put, m_get, m_head, m_delete, m_list;
	/* Names this service in bundle claims (index-bundle-claim.c). */
	char writer_id[17];
};

/* Creates svc->blob when obox_fs or obox_index_fs is set. */
void index_blob_init(struct index_service *svc);
void index_blob_deinit(struct index_service *svc);

void index_blob_op_link(struct index_blob *b, struct index_blob_op *op);
void index_blob_op_unlink(struct index_blob *b, struct index_blob_op *op);

/* A sealed-size memfd holding data, positioned at 0; -1 on failure. */
int index_blob_memfd(const uint8_t *data, size_t len);
/* Reads a whole received fd (at most max bytes): 0, or -1 when it is
 * larger or unreadable. *data_r is NUL-terminated (malloc'd). */
int index_blob_read_fd(int fd, uint64_t max, uint8_t **data_r,
		       size_t *len_r);

#endif
