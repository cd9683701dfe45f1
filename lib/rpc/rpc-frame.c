/* Frame encoding: 4-byte big-endian length + stratus.Frame protobuf.
 * Decoding checks the message fully before anyone looks at it. */
#include "rpc-private.h"

#include <string.h>

uint32_t rpc_frame_length(const unsigned char *hdr)
{
	return ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
	       ((uint32_t)hdr[2] << 8) | (uint32_t)hdr[3];
}

int rpc_frame_pack(const Stratus__Frame *frame, size_t max, struct buf *out)
{
	size_t len = stratus__frame__get_packed_size(frame);
	if (len > max || len > UINT32_MAX)
		return -1;
	unsigned char *p = buf_append_space(out, 4 + len);
	if (p == NULL)
		return -1;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	stratus__frame__pack(frame, p + 4);
	return 0;
}

Stratus__Frame *rpc_frame_unpack(const unsigned char *data, size_t len,
				 const char **error_r)
{
	Stratus__Frame *f = stratus__frame__unpack(NULL, len, data);
	if (f == NULL) {
		*error_r = "undecodable frame";
		return NULL;
	}
	if (!protobuf_c_message_check(&f->base)) {
		*error_r = "frame fails protobuf check";
		goto bad;
	}
	if (f->n_fds > RPC_MAX_FDS_PER_FRAME) {
		*error_r = "frame announces too many file descriptors";
		goto bad;
	}
	if (f->id == 0) {
		*error_r = "frame without id";
		goto bad;
	}
	return f;
bad:
	stratus__frame__free_unpacked(f, NULL);
	return NULL;
}
