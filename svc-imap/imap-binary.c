/* BINARY decoding (see imap-binary.h). The encoding comes from the part's
 * own MIME header (its section MIME range); base64 and quoted-printable
 * go through lib/mail's decoders, identity encodings are copied with bare
 * LFs sent as CRLF like BODY[] (NULs kept: that is what literal8 is for),
 * except "binary", copied byte for byte. */
#include "imap-binary.h"
#include "mail-decode.h"
#include "mail-header.h"

#include <string.h>
#include <strings.h>

enum binary_cte {
	CTE_IDENTITY,		/* none, 7bit, 8bit */
	CTE_BINARY,
	CTE_BASE64,
	CTE_QP,
	CTE_UNKNOWN,
};

static enum binary_cte part_cte(const char *msg, size_t msg_size,
				const struct mail_part *root,
				const struct mail_section *sect)
{
	if (sect->path_len == 0)
		return CTE_IDENTITY;	/* the whole message, as stored */
	struct mail_section mime = *sect;
	mime.kind = MAIL_SECTION_MIME;
	mime.fields = NULL;
	mime.field_count = 0;
	uint64_t off, size;
	if (!mail_section_range(root, &mime, &off, &size) ||
	    off + size > msg_size)
		return CTE_IDENTITY;
	struct buf v = BUF_INIT;
	enum binary_cte cte = CTE_IDENTITY;
	if (mail_header_get(msg + off, (size_t)size,
			    "Content-Transfer-Encoding", 0, &v)) {
		/* The value is a token; comments and blanks around it. */
		char *s = v.data;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, " \t(;");
		if (n == 0 || (n == 4 && strncasecmp(s, "7bit", 4) == 0) ||
		    (n == 4 && strncasecmp(s, "8bit", 4) == 0))
			cte = CTE_IDENTITY;
		else if (n == 6 && strncasecmp(s, "binary", 6) == 0)
			cte = CTE_BINARY;
		else if (n == 6 && strncasecmp(s, "base64", 6) == 0)
			cte = CTE_BASE64;
		else if (n == 16 && strncasecmp(s, "quoted-printable", 16) == 0)
			cte = CTE_QP;
		else
			cte = CTE_UNKNOWN;
	}
	buf_free(&v);
	return cte;
}

bool imap_binary_decodable(const char *msg, size_t msg_size,
			   const struct mail_part *root,
			   const struct mail_section *sect)
{
	return part_cte(msg, msg_size, root, sect) != CTE_UNKNOWN;
}

static void copy_crlf(const char *p, size_t n, struct buf *out)
{
	char prev = '\0';
	while (n > 0) {
		const char *lf = memchr(p, '\n', n);
		size_t run = lf != NULL ? (size_t)(lf - p) : n;
		if (run > 0) {
			buf_append(out, p, run);
			prev = p[run - 1];
		}
		if (lf == NULL)
			break;
		if (run == 0 ? prev != '\r' : p[run - 1] != '\r')
			buf_append_c(out, '\r');
		buf_append_c(out, '\n');
		prev = '\n';
		p += run + 1;
		n -= run + 1;
	}
}

bool imap_binary_content(const char *msg, size_t msg_size,
			 const struct mail_part *root,
			 const struct mail_section *sect, struct buf *out)
{
	enum binary_cte cte = part_cte(msg, msg_size, root, sect);
	if (cte == CTE_UNKNOWN)
		return false;
	uint64_t off, size;
	if (!mail_section_range(root, sect, &off, &size) ||
	    off + size > msg_size) {
		buf_append(out, "", 0);
		return true;
	}
	const char *p = msg + off;
	switch (cte) {
	case CTE_BASE64:
		mail_decode_base64(p, (size_t)size, out);
		break;
	case CTE_QP:
		mail_decode_qp(p, (size_t)size, out);
		break;
	case CTE_BINARY:
		buf_append(out, p, (size_t)size);
		break;
	default:
		copy_crlf(p, (size_t)size, out);
		break;
	}
	buf_append(out, "", 0);	/* data is never NULL */
	return true;
}
