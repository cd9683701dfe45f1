/* Fuzzes RPC frame decoding: the length prefix, protobuf unpacking and the
 * checks a frame passes before any handler sees it. */
#include <stddef.h>
#include <stdint.h>

#include "rpc-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error;
	if (size >= 4 && rpc_frame_length(data) > RPC_FRAME_MAX)
		return 0;
	Stratus__Frame *f = rpc_frame_unpack(data, size, &error);
	if (f == NULL)
		return 0;
	/* Re-encode: whatever decoded must encode within the limit again. */
	struct buf out = BUF_INIT;
	if (rpc_frame_pack(f, RPC_FRAME_MAX, &out) == 0) {
		const char *e2;
		Stratus__Frame *g = rpc_frame_unpack(
			(const unsigned char *)out.data + 4, out.len - 4, &e2);
		if (g == NULL || g->id != f->id || g->method != f->method)
			__builtin_trap();
		stratus__frame__free_unpacked(g, NULL);
	}
	buf_free(&out);
	stratus__frame__free_unpacked(f, NULL);
	return 0;
}
