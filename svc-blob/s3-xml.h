/* The few S3 XML answers svc-blob reads - ListObjectsV2, DeleteResult,
 * Error - parsed from an untrusted, possibly truncated buffer. Not a
 * general XML parser: it finds elements by name, in order, without
 * recursion, and decodes the five predefined entities and &#N;. Every
 * output is bounded (keys at FS_KEY_MAX, at most max entries). */
#ifndef STRATUS_S3_XML_H
#define STRATUS_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include "fs.h"

/* <Error><Code>..</Code><Message>..</Message>: malloc'd strings, NULL
 * when absent. */
void s3_xml_parse_error(const char *xml, size_t len, char **code_r,
			char **message_r);

/* ListObjectsV2: appends <Contents> Key/Size to the result (at most
 * `max`), sets r->next to NextContinuationToken when IsTruncated. -1 when
 * the answer is not a listing or holds more than `max` keys (going on
 * from its token would silently skip the extra ones). */
int s3_xml_parse_list(const char *xml, size_t len, unsigned int max,
		      struct fs_result *r);

/* DeleteResult: counts <Deleted>, appends <Error><Key> to r->failed. */
int s3_xml_parse_delete(const char *xml, size_t len, struct fs_result *r);

/* Decodes entity references of [s, s+len) into a malloc'd string; NULL
 * for a malformed reference, a NUL, or more than max bytes. */
char *s3_xml_text(const char *s, size_t len, size_t max);

#endif
