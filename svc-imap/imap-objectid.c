/* OBJECTID's ids from svc-index's GUIDs (see imap-objectid.h). */
#include "imap-objectid.h"

#include <ctype.h>
#include <string.h>

static bool objectid_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

void imap_objectid_append(struct buf *out, char prefix, const char *id)
{
	buf_append_c(out, '(');
	buf_append_c(out, prefix);
	/* RFC 8474 4: 1*255 characters, the prefix included. */
	for (size_t i = 0; id[i] != '\0' && i < 254; i++)
		buf_append_c(out, objectid_char(id[i]) ? id[i] : '_');
	buf_append_c(out, ')');
}

static const char *objectid_value(const char *id, char prefix)
{
	if (id[0] != prefix || id[1] == '\0')
		return NULL;
	for (const char *p = id + 1; *p != '\0'; p++) {
		if (!objectid_char(*p))
			return NULL;
	}
	return id + 1;
}

const char *imap_emailid_guid(const char *emailid)
{
	return objectid_value(emailid, IMAP_EMAILID_PREFIX);
}

void imap_threadid_append(struct buf *out, const char *threadid,
			  const char *guid)
{
	imap_objectid_append(out, IMAP_THREADID_PREFIX,
			     threadid != NULL && threadid[0] != '\0' ?
			     threadid : guid);
}

const char *imap_threadid_value(const char *threadid)
{
	return objectid_value(threadid, IMAP_THREADID_PREFIX);
}
