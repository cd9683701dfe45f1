/* Fuzzes one passwd-file line (svc-auth/passwd-file.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-auth/passwd-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct passwd_entry e;
	const char *error;
	int r = passwd_file_parse_line((const char *)data, size, &e, &error);
	if (r == 1) {
		if (e.user == NULL || e.user[0] == '\0' || e.password == NULL)
			abort();
		passwd_entry_clear(&e);
	}
	return 0;
}
