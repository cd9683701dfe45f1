/* libFuzzer target for the Sieve compiler: the input is a script. It must
 * compile or fail with a positioned error; a compiled script must survive
 * a binary save/load round trip unchanged in size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_script *script = NULL, *loaded = NULL;
	char *error = NULL;
	void *bin, *bin2;
	size_t len, len2;

	if (sieve_script_compile((const char *)data, size, 0, &script,
				 &error) < 0) {
		if (error == NULL || strncmp(error, "line ", 5) != 0)
			abort();
		free(error);
		return 0;
	}
	sieve_binary_save(script, &bin, &len);
	if (sieve_binary_load(bin, len, &loaded) != SIEVE_BINARY_OK)
		abort();
	sieve_binary_save(loaded, &bin2, &len2);
	if (len != len2 || memcmp(bin, bin2, len) != 0)
		abort();
	free(bin);
	free(bin2);
	sieve_script_free(&loaded);
	sieve_script_free(&script);
	return 0;
}
