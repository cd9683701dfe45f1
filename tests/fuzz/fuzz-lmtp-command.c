/* Fuzzes the LMTP line parsers: the input's first byte picks the DATA
 * reader or the command/path/XCLIENT/BDAT parsers; the rest is the line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-lmtp/lmtp-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > LMTP_MAX_COMMAND_LINE * 4)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if ((mode & 1) != 0) {
		struct lmtp_data_parser p = { 0 };
		struct buf out;
		buf_init(&out, 0);
		size_t pos = 0, step = (size_t)(mode >> 1) + 1;
		bool end = false;
		while (pos < size && !end) {
			size_t n = size - pos < step ? size - pos : step;
			size_t used = lmtp_data_parse(&p, (const char *)data +
						      pos, n, &out, &end);
			if (used > n)
				__builtin_trap();
			pos += used;
		}
		if (out.len > size)
			__builtin_trap();
		buf_free(&out);
		return 0;
	}
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	struct lmtp_command cmd;
	const char *error;
	if (lmtp_command_parse(line, size, &cmd, &error) == 0) {
		char *args = (char *)cmd.args;
		struct lmtp_path_cmd path;
		uint64_t bsize;
		bool last;
		struct buf x;
		switch (cmd.verb) {
		case LMTP_CMD_MAIL:
			(void)lmtp_path_parse(args, "FROM", &path, &error);
			break;
		case LMTP_CMD_RCPT:
			if (lmtp_path_parse(args, "TO", &path, &error) == 0) {
				char *u, *d, *dom;
				lmtp_address_split(path.addr, "+-", &u, &d,
						   &dom);
				free(u);
				free(d);
				free(dom);
			}
			break;
		case LMTP_CMD_BDAT:
			(void)lmtp_bdat_parse(args, &bsize, &last, &error);
			break;
		default:
			buf_init(&x, 256);
			(void)lmtp_xtext_decode(args, &x);
			buf_free(&x);
			break;
		}
	}
	free(line);
	return 0;
}
