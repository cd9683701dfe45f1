/* Fuzzes the POP3 line parsers (command, message numbers, base64) and the
 * RETR/TOP transform; the first byte picks the mode and chunk size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-pop3/pop3-parser.h"
#include "sasl-client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > POP3_MAX_LINE * 4)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if ((mode & 1) != 0) {
		struct pop3_xfer x = { .top = (mode & 2) != 0,
				       .max_body_lines = mode >> 4,
				       .nul_to_0x80 = (mode & 4) != 0,
				       .add_eoh = (mode & 8) != 0 };
		pop3_xfer_init(&x);
		struct buf out;
		buf_init(&out, 0);
		size_t step = (size_t)(mode >> 3) + 1;
		for (size_t i = 0; i < size; i += step)
			pop3_xfer_feed(&x, (const char *)data + i,
				       size - i < step ? size - i : step, &out);
		pop3_xfer_finish(&x, &out);
		if (out.len > 2 * size + 4)
			__builtin_trap();
		(void)pop3_wire_size((const char *)data, size);
		buf_free(&out);
		return 0;
	}
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	struct pop3_command cmd;
	if (pop3_command_parse(line, size, &cmd) == 0) {
		unsigned int n;
		uint64_t v;
		struct buf b;
		(void)pop3_parse_msgnum(cmd.args, 1000, &n);
		(void)pop3_parse_uint(cmd.args, &v);
		buf_init(&b, POP3_MAX_LINE);
		if (sasl_base64_decode(cmd.args, strlen(cmd.args), &b) == 0) {
			struct buf e;
			buf_init(&e, 0);
			sasl_base64_encode(b.data, b.len, &e);
			if (e.len != strlen(cmd.args))
				__builtin_trap();
			buf_free(&e);
		}
		buf_free(&b);
	}
	free(line);
	return 0;
}
