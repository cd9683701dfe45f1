/* Fuzzes svc-imap's command reader and parser: the input is split into
 * chunks by its first byte, fed through the reader as a client would send
 * it, and every whole command is parsed (sequence sets and mailbox names
 * too). Small limits make the bounds reachable. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../svc-imap/imap-parser.h"
#include "../../svc-imap/imap-utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct imap_arg *args, size_t n, struct imap_pool *pool)
{
	for (size_t i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST) {
			walk(args[i].list, args[i].list_count, pool);
		} else if (args[i].str != NULL) {
			struct imap_seq_range *r;
			size_t count;
			const char *error;
			(void)imap_seqset_parse(args[i].str, pool, &r, &count,
						&error);
			struct buf b = BUF_INIT;
			if (imap_utf7_to_utf8(args[i].str, &b) == 0) {
				struct buf back = BUF_INIT;
				if (imap_utf8_to_utf7(b.data != NULL ? b.data : "",
						      &back) != 0 ||
				    strcmp(back.data != NULL ? back.data : "",
					   args[i].str) != 0)
					__builtin_trap();
				buf_free(&back);
			}
			buf_free(&b);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = (data[0] % 16) + 1;
	struct imap_reader r;
	imap_reader_init(&r, 1024, 2048, (data[0] & 0x80) != 0);
	const char *in = (const char *)data + 1;
	size_t left = size - 1;
	while (left > 0) {
		size_t n = left < chunk ? left : chunk;
		size_t consumed;
		enum imap_read_result res = imap_reader_feed(&r, in, n, &consumed);
		if (consumed > n)
			__builtin_trap();
		in += consumed;
		left -= consumed;
		if (res == IMAP_READ_FATAL)
			break;
		if (res == IMAP_READ_COMMAND) {
			struct imap_pool pool = { NULL };
			struct imap_command cmd;
			const char *error;
			size_t len;
			const char *text = imap_reader_text(&r, &len);
			if (imap_parse_command(text, len, r.literals,
					       r.n_literals, &pool, &cmd,
					       &error) == 0)
				walk(cmd.args, cmd.n_args, &pool);
			imap_pool_clear(&pool);
			imap_reader_reset(&r);
		}
	}
	imap_reader_deinit(&r);
	return 0;
}
