/* libFuzzer target for the S3 answer parsers (svc-blob/s3-xml.c): the
 * input is an untrusted, possibly truncated or huge body; each parser
 * must stay within its bounds (at most max entries, keys within
 * FS_KEY_MAX) and never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-blob/s3-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	char *code, *msg;
	struct fs_result r;

	s3_xml_parse_error(xml, size, &code, &msg);
	if ((code != NULL && strlen(code) > 128) || (msg != NULL && strlen(msg) > 512))
		abort();
	free(code);
	free(msg);

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	(void)s3_xml_parse_list(xml, size, 50, &r);
	if (r.n_entries > 50)
		abort();
	for (size_t i = 0; i < r.n_entries; i++) {
		if (strlen(r.entries[i].key) > FS_KEY_MAX)
			abort();
	}
	fs_result_free_contents(&r);

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	(void)s3_xml_parse_delete(xml, size, &r);
	fs_result_free_contents(&r);
	return 0;
}
