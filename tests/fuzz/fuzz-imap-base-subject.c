/* Fuzzes the RFC 5256 base subject (svc-imap SORT/THREAD) on arbitrary
 * bytes: it must stay within them and never grow the subject. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../svc-imap/imap-base-subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	bool reply;
	imap_base_subject((const char *)data, size, &out, &reply);
	buf_free(&out);
	return 0;
}
