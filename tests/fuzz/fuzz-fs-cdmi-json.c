/* libFuzzer target for the CDMI answer reader (svc-blob/cdmi-json.c): an
 * untrusted, possibly truncated or deeply nested JSON body; the reader
 * must keep its bounds (children count, names within FS_KEY_MAX, metadata
 * items) and never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-blob/cdmi-json.h"
#include "../../svc-blob/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdmi_answer a;
	(void)cdmi_json_parse((const char *)data, size, &a);
	if (a.n_children > CDMI_JSON_MAX_CHILDREN || a.n_meta > CDMI_JSON_MAX_META)
		abort();
	for (size_t i = 0; i < a.n_children; i++) {
		if (strlen(a.children[i]) > FS_KEY_MAX)
			abort();
	}
	cdmi_answer_free(&a);
	return 0;
}
