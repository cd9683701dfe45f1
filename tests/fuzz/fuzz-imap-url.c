/* Fuzzes svc-imap's IMAP URL parser (RFC 5092 as URLAUTH takes it): URLs
 * come from clients in GENURLAUTH and URLFETCH. A parsed URL must hold
 * its invariants: an owner, a UID, a rump within the input that ends
 * where the mechanism begins, a mechanism only with a token. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-imap/imap-url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes, not NUL-ended: reads past the end show */
	char *s = malloc(size > 0 ? size : 1);
	if (size > 0)
		memcpy(s, data, size);
	struct imap_url u;
	if (imap_url_parse(s, size, &u) == 0) {
		if (u.user.len == 0 || u.uid == 0 || u.rump_len == 0 ||
		    u.rump_len > size ||
		    (u.mechanism.len != 0) != (u.token.len != 0) ||
		    (u.mechanism.len != 0 && s[u.rump_len] != ':') ||
		    (u.mechanism.len == 0 && u.rump_len != size) ||
		    (u.mechanism.len != 0 && u.access == IMAP_URL_ACCESS_NONE))
			__builtin_trap();
	}
	imap_url_free(&u);
	free(s);
	return 0;
}
