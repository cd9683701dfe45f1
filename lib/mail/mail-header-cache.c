/* lib/mail header-field cache (see mail-header-cache.h). */
#include <string.h>
#include <strings.h>

#include "mail-header.h"
#include "mail-header-cache.h"

/* The union of what the common clients ask in their list FETCH; a name
 * outside it makes the FETCH read the body, which is still right. */
static const char *const cached_names[] = {
	"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "Reply-To", "Sender", "Content-Type",
	"MIME-Version", "Priority", "X-Priority", "Importance", "Newsgroups",
	"List-Post", "List-Id", "List-Unsubscribe", "Disposition-Notification-To",
	"Return-Receipt-To", "X-Spam-Flag", "X-Spam-Status", "Chat-Version",
	"Autocrypt", "X-K9mail-Identity", "Content-Language", "Auto-Submitted",
	"Precedence", "X-Mailer", "User-Agent", "Organization",
	"Delivered-To", "Return-Path", "X-Original-To", "Envelope-To",
	"X-TUID", "X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys",
	"Content-Transfer-Encoding", "X-Label", "Keywords", "Status",
	"X-Status", "X-Keywords", "Followup-To", "Mail-Followup-To",
};
#define N_CACHED_NAMES (sizeof(cached_names) / sizeof(cached_names[0]))

static bool name_cached(const char *name, size_t len)
{
	for (size_t i = 0; i < N_CACHED_NAMES; i++) {
		if (strlen(cached_names[i]) == len &&
		    strncasecmp(cached_names[i], name, len) == 0)
			return true;
	}
	return false;
}

bool mail_header_cache_covers(const struct mail_section *s)
{
	if (s->kind != MAIL_SECTION_HEADER_FIELDS || s->path_len != 0)
		return false;
	for (unsigned int i = 0; i < s->field_count; i++) {
		if (!name_cached(s->fields[i], strlen(s->fields[i])))
			return false;
	}
	return true;
}

bool mail_header_cache_build(const void *hdr, size_t len, struct buf *out)
{
	struct mail_header_end end;
	struct mail_header_iter iter;
	struct mail_header_field f;

	buf_reset(out);
	mail_header_end_get(hdr, len, &end);
	(void)buf_append_c(out, (char)('0' + (end.blank_line ? 1 : 0) +
				      (end.last_lf ? 2 : 0) +
				      (end.empty ? 4 : 0)));
	mail_header_iter_init(&iter, hdr, len);
	while (mail_header_iter_next(&iter, &f)) {
		if (!name_cached(f.name, f.name_len))
			continue;
		if (out->len + f.raw_len > MAIL_HEADER_CACHE_MAX) {
			buf_reset(out);
			return false;
		}
		(void)buf_append(out, f.raw, f.raw_len);
	}
	return true;
}

bool mail_header_cache_fetch(const void *value, size_t len,
			     const struct mail_section *s, struct buf *out)
{
	const char *v = value;

	if (len < 1 || v[0] < '0' || v[0] > '7')
		return false;
	struct mail_header_end end = {
		.blank_line = ((v[0] - '0') & 1) != 0,
		.last_lf = ((v[0] - '0') & 2) != 0,
		.empty = ((v[0] - '0') & 4) != 0,
	};
	mail_section_write_fields(v + 1, len - 1, s, &end, out);
	return true;
}
