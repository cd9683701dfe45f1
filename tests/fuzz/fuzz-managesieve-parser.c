/* libFuzzer target for the ManageSieve command reader: parses commands
 * from the input until it needs more or must close, as the client loop
 * does, checking that consumption always moves forward. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-managesieve/managesieve-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t left = size;

	for (;;) {
		struct ms_command cmd;
		size_t consumed;
		const char *err;
		enum ms_parse_result r = ms_parse_command(p, left, 256, 1024,
							  &cmd, &consumed, &err);

		if (r == MS_PARSE_NEED_MORE || r == MS_PARSE_TOO_LONG)
			break;
		if (consumed == 0 || consumed > left)
			abort();
		if (r == MS_PARSE_OK) {
			if (cmd.name == NULL || cmd.n_args > MS_MAX_ARGS)
				abort();
			ms_command_free(&cmd);
		} else if (err == NULL) {
			abort();
		}
		p += consumed;
		left -= consumed;
	}
	return 0;
}
