/* libFuzzer target for svc-imap's modified UTF-7 (RFC 3501 5.1.3)
 * mailbox-name codec. The input is tried in both directions; whatever
 * decodes must encode back to the same bytes (the codec refuses
 * needlessly encoded ASCII, so the encoding is unique), and whatever
 * encodes must decode back to the input and be valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-imap/imap-utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct buf a = BUF_INIT, b = BUF_INIT;

	memcpy(s, data, size);
	s[size] = '\0';	/* names are C strings: an inner NUL ends them */

	bool valid = imap_utf7_is_valid(s);
	if (imap_utf7_to_utf8(s, &a) == 0) {
		if (!valid)
			abort();
		buf_append_c(&a, '\0');
		if (imap_utf8_to_utf7(a.data, &b) < 0)
			abort();
		if (b.len != strlen(s) ||
		    (b.len > 0 && memcmp(b.data, s, b.len) != 0))
			abort();
	} else if (valid) {
		abort();
	}
	buf_reset(&a);
	buf_reset(&b);
	if (imap_utf8_to_utf7(s, &a) == 0) {
		buf_append_c(&a, '\0');
		if (!imap_utf7_is_valid(a.data))
			abort();
		if (imap_utf7_to_utf8(a.data, &b) < 0)
			abort();
		if (b.len != strlen(s) ||
		    (b.len > 0 && memcmp(b.data, s, b.len) != 0))
			abort();
	}
	free(s);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
