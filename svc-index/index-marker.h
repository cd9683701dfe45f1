/* svc-index: mailbox name markers. Message objects only carry their
 * mailbox's GUID, so for a rebuild to name folders every mailbox also
 * has a small object "<mailbox-guid>/_mailbox" on the mail chain
 * (obox_fs) holding its name, UIDVALIDITY and special-use flags,
 * written on create and rename and deleted with the mailbox.
 *
 * Format (text, at most INDEX_MARKER_MAX bytes):
 *   "STXMBOX1\n" then "key=value\n" lines: uidvalidity, special_use
 *   (space separated), name (mUTF-7 wire name). Unknown keys are
 *   ignored so a newer writer stays readable. */
#ifndef STRATUS_INDEX_MARKER_H
#define STRATUS_INDEX_MARKER_H

#include "index-service.h"

#define INDEX_MARKER_KEY_NAME "_mailbox"
#define INDEX_MARKER_MAGIC "STXMBOX1\n"
#define INDEX_MARKER_MAX 8192

struct index_marker {
	char *name;
	uint32_t uidvalidity;
	char **special_use;
	size_t n_special_use;
};

/* The marker text of a mailbox (malloc'd, NUL-terminated). */
char *index_marker_encode(const struct index_mailbox *box, size_t *len_r);
/* Parses untrusted marker bytes; the name is validated with sep.
 * -1 with *error_r (static). Free with index_marker_clear(). */
int index_marker_parse(const uint8_t *data, size_t len, char sep,
		       struct index_marker *m, const char **error_r);
void index_marker_clear(struct index_marker *m);

/* After a commit: writes or deletes the markers the ops touched. No-op
 * without obox_fs. Failures are logged; a rebuild then names that
 * mailbox from its GUID. */
void index_marker_committed(struct index_user *user,
			    Stratus__Indexfile__Op *const *ops, size_t n_ops);
/* Writes one mailbox's marker now. */
void index_marker_write(struct index_user *user,
			const struct index_mailbox *box);

#endif
