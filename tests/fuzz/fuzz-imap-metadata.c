/* Fuzzes the parsers of svc-imap's METADATA and CATENATE: the stored
 * annotations (read back from svc-blob, so untrusted) must parse without
 * a fault and, when whole, serialize to what parses to the same entries;
 * entry names and CATENATE URLs come from clients. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-imap/imap-catenate.h"
#include "../../svc-imap/imap-metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stored_form(const char *s, size_t size)
{
	struct imap_md md = { 0 };
	if (imap_md_parse(&md, s, size) == 0) {
		struct buf out = BUF_INIT;
		imap_md_serialize(&md, &out);
		struct imap_md back = { 0 };
		if (imap_md_parse(&back, out.data, out.len) != 0 ||
		    back.n != md.n)
			__builtin_trap();
		for (size_t i = 0; i < md.n; i++) {
			if (back.entries[i].value_len != md.entries[i].value_len ||
			    memcmp(back.entries[i].value, md.entries[i].value,
				   md.entries[i].value_len) != 0)
				__builtin_trap();
		}
		imap_md_free(&back);
		buf_free(&out);
	}
	imap_md_free(&md);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	stored_form(s, size);
	char name[IMAP_METADATA_MAX_NAME + 1];
	(void)imap_md_get_name(s, size, name);
	if (strlen(s) == size) {
		struct imap_cat_url u;
		(void)imap_cat_url_parse(s, &u);
		imap_cat_url_free(&u);
		(void)imap_md_is_child(s, "/private/a", 1);
	}
	free(s);
	return 0;
}
