/* Bounded scanning of S3 XML answers (see s3-xml.h). */
#include "s3-xml.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* Finds the next <tag>...</tag> in [*pos, end); returns the content's
 * start and length and moves *pos past the close tag. Attributes on the
 * open tag are allowed; self-closing <tag/> yields empty content. */
static bool xml_next(const char **pos, const char *end, const char *tag,
		     const char **content_r, size_t *len_r)
{
	size_t tlen = strlen(tag);
	const char *p = *pos;
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (lt == NULL || (size_t)(end - lt) < tlen + 2)
			return false;
		if (memcmp(lt + 1, tag, tlen) == 0 &&
		    (lt[tlen + 1] == '>' || lt[tlen + 1] == ' ' ||
		     lt[tlen + 1] == '/')) {
			const char *gt = memchr(lt, '>', (size_t)(end - lt));
			if (gt == NULL)
				return false;
			if (gt[-1] == '/') {
				*content_r = gt;
				*len_r = 0;
				*pos = gt + 1;
				return true;
			}
			const char *start = gt + 1, *q = start;
			/* the matching close tag: S3 elements we read never
			 * nest an element of the same name */
			while (q < end) {
				const char *c = memchr(q, '<', (size_t)(end - q));
				if (c == NULL || (size_t)(end - c) < tlen + 3)
					return false;
				if (c[1] == '/' && memcmp(c + 2, tag, tlen) == 0 &&
				    c[tlen + 2] == '>') {
					*content_r = start;
					*len_r = (size_t)(c - start);
					*pos = c + tlen + 3;
					return true;
				}
				q = c + 1;
			}
			return false;
		}
		p = lt + 1;
	}
	return false;
}

char *s3_xml_text(const char *s, size_t len, size_t max)
{
	struct buf out;
	buf_init(&out, max);
	for (size_t i = 0; i < len; i++) {
		int ret;
		if (s[i] == '\0') {
			buf_free(&out);
			return NULL;
		}
		if (s[i] != '&') {
			ret = buf_append_c(&out, s[i]);
		} else {
			const char *semi = memchr(s + i, ';', len - i);
			size_t n = semi ? (size_t)(semi - (s + i)) + 1 : 0;
			const char *e = s + i;
			char c = 0;
			if (n == 5 && memcmp(e, "&amp;", 5) == 0) c = '&';
			else if (n == 4 && memcmp(e, "&lt;", 4) == 0) c = '<';
			else if (n == 4 && memcmp(e, "&gt;", 4) == 0) c = '>';
			else if (n == 6 && memcmp(e, "&quot;", 6) == 0) c = '"';
			else if (n == 6 && memcmp(e, "&apos;", 6) == 0) c = '\'';
			else if (n >= 4 && n <= 10 && e[1] == '#') {
				char num[12];
				memcpy(num, e + 2, n - 3);
				num[n - 3] = '\0';
				char *endp;
				long v = num[0] == 'x' ? strtol(num + 1, &endp, 16) :
					strtol(num, &endp, 10);
				if (*endp != '\0' || v <= 0 || v > 0x7f) {
					buf_free(&out);
					return NULL;	/* only ASCII refs */
				}
				c = (char)v;
			}
			if (c == 0) {
				buf_free(&out);
				return NULL;
			}
			ret = buf_append_c(&out, c);
			i += n - 1;
		}
		if (ret < 0) {
			buf_free(&out);
			return NULL;
		}
	}
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out);
}

void s3_xml_parse_error(const char *xml, size_t len, char **code_r,
			char **message_r)
{
	const char *pos = xml, *end = xml + len, *c, *err;
	size_t clen, errlen;
	*code_r = *message_r = NULL;
	if (!xml_next(&pos, end, "Error", &err, &errlen)) {
		/* truncated: still try to find the code */
		err = xml;
		errlen = len;
	}
	pos = err;
	if (xml_next(&pos, err + errlen, "Code", &c, &clen))
		*code_r = s3_xml_text(c, clen, 128);
	pos = err;
	if (xml_next(&pos, err + errlen, "Message", &c, &clen))
		*message_r = s3_xml_text(c, clen, 512);
}

int s3_xml_parse_list(const char *xml, size_t len, unsigned int max,
		      struct fs_result *r)
{
	const char *pos = xml, *end = xml + len, *c, *v;
	size_t clen, vlen;
	bool truncated = false;
	const char *probe = xml;
	if (!xml_next(&probe, end, "ListBucketResult", &c, &clen))
		return -1;
	end = c + clen;
	pos = c;
	while (xml_next(&pos, end, "Contents", &c, &clen)) {
		const char *q = c;
		/* more keys than max-keys asked for: the continuation token
		 * would skip the ones past max, so refuse the page rather
		 * than lose keys from a listing (a rebuild reads it) */
		if (r->n_entries >= max)
			return -1;
		if (!xml_next(&q, c + clen, "Key", &v, &vlen))
			continue;
		char *key = s3_xml_text(v, vlen, FS_KEY_MAX);
		if (key == NULL || key[0] == '\0') {
			free(key);
			continue;
		}
		uint64_t size = 0;
		q = c;
		if (xml_next(&q, c + clen, "Size", &v, &vlen) && vlen < 21) {
			char num[24];
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			size = strtoull(num, NULL, 10);
		}
		r->entries = xreallocarray(r->entries, r->n_entries + 1,
					   sizeof(*r->entries));
		r->entries[r->n_entries].key = key;
		r->entries[r->n_entries].size = size;
		r->n_entries++;
	}
	const char *q = xml;
	if (xml_next(&q, xml + len, "IsTruncated", &v, &vlen))
		truncated = vlen == 4 && memcmp(v, "true", 4) == 0;
	q = xml;
	if (truncated && xml_next(&q, xml + len, "NextContinuationToken", &v, &vlen)) {
		free(r->next);
		r->next = s3_xml_text(v, vlen, 2048);
		if (r->next == NULL)
			return -1;
	} else if (truncated) {
		return -1;	/* truncated without a way to go on */
	}
	return 0;
}

int s3_xml_parse_delete(const char *xml, size_t len, struct fs_result *r)
{
	const char *pos = xml, *end = xml + len, *c, *v;
	size_t clen, vlen;
	const char *probe = xml;
	if (!xml_next(&probe, end, "DeleteResult", &c, &clen))
		return -1;
	end = c + clen;
	pos = c;
	while (xml_next(&pos, end, "Deleted", &c, &clen))
		r->deleted++;
	pos = xml;
	end = xml + len;
	while (xml_next(&pos, end, "Error", &c, &clen)) {
		const char *q = c;
		if (!xml_next(&q, c + clen, "Key", &v, &vlen))
			continue;
		char *key = s3_xml_text(v, vlen, FS_KEY_MAX);
		if (key == NULL)
			continue;
		if (r->n_failed >= FS_DELETE_MAX_KEYS) {
			free(key);
			break;
		}
		r->failed = xreallocarray(r->failed, r->n_failed + 1, sizeof(char *));
		r->failed[r->n_failed++] = key;
	}
	return 0;
}
