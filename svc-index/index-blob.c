/* svc-index: the svc-blob client and its request bookkeeping (see
 * index-blob.h). */
#include "index-blob.h"
#include "buf.h"
#include "log.h"
#include "rpc-versions.h"
#include "service.h"
#include "blob.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* 16 hex digits from getrandom(), or from the pid and clock when the
 * kernel has no entropy to give yet: only unique, never secret. */
static void index_blob_writer_id(char *out, size_t size)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v = ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_nsec ^
			((uint64_t)ts.tv_sec << 20);
	}
	snprintf(out, size, "%016llx", (unsigned long long)v);
}

static uint32_t index_blob_method(const char *name)
{
	int i = rpc_method_index(&stratus__blob__descriptor, name);
	if (i < 0)
		log_panic("blob.proto has no method %s", name);
	return (uint32_t)i;
}

void index_blob_init(struct index_service *svc)
{
	if (!svc->set.bundles && !svc->set.rebuild_from_objects)
		return;
	struct index_blob *b = xcalloc(1, sizeof(*b));
	char *path = service_rpc_socket_path(svc->cfg, "blob");
	b->client = rpc_client_new(svc->loop, path, &stratus__blob__descriptor,
				   BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	free(path);
	b->m_put = index_blob_method("Put");
	b->m_get = index_blob_method("Get");
	b->m_head = index_blob_method("Head");
	b->m_delete = index_blob_method("Delete");
	b->m_list = index_blob_method("List");
	index_blob_writer_id(b->writer_id, sizeof(b->writer_id));
	svc->blob = b;
}

void index_blob_deinit(struct index_service *svc)
{
	struct index_blob *b = svc->blob;
	if (b == NULL)
		return;
	/* The client drops pending callbacks: free their contexts here. */
	rpc_client_free(&b->client);
	while (b->ops != NULL) {
		struct index_blob_op *op = b->ops;
		index_blob_op_unlink(b, op);
		if (op->destroy != NULL) {
			op->destroy(op);
		} else {
			free(op->user);
			free(op);
		}
	}
	free(b);
	svc->blob = NULL;
}

void index_blob_op_link(struct index_blob *b, struct index_blob_op *op)
{
	op->prev = NULL;
	op->next = b->ops;
	if (b->ops != NULL)
		b->ops->prev = op;
	b->ops = op;
}

void index_blob_op_unlink(struct index_blob *b, struct index_blob_op *op)
{
	if (op->prev != NULL)
		op->prev->next = op->next;
	else if (b != NULL && b->ops == op)
		b->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
}

int index_blob_memfd(const uint8_t *data, size_t len)
{
	int fd = memfd_create("stratus-index", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int index_blob_read_fd(int fd, uint64_t max, uint8_t **data_r,
		       size_t *len_r)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > max)
		return -1;
	size_t size = (size_t)st.st_size;
	uint8_t *data = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, data + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	data[got] = '\0';
	*data_r = data;
	*len_r = got;
	return 0;
}
