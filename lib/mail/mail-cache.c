/* lib/mail cached fields and the mime.parts encoding. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mail-cache.h"
#include "mail-header-cache.h"
#include "mail-imap.h"

#define MIME_PARTS_VERSION "1;"

const char *const mail_cached_field_names[MAIL_CACHED_COUNT] = {
	"envelope", "bodystructure", "body", "mime.parts",
	MAIL_HEADER_CACHE_FIELD,
};

static void serialize(const struct mail_part *p, struct buf *out)
{
	for (; p != NULL; p = p->next) {
		(void)buf_printf(out, "%x,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%u;",
				 p->flags, (unsigned long long)p->offset,
				 (unsigned long long)p->header.physical,
				 (unsigned long long)p->header.virtual,
				 (unsigned long long)p->header.lines,
				 (unsigned long long)p->body.physical,
				 (unsigned long long)p->body.virtual,
				 (unsigned long long)p->body.lines,
				 p->children_count);
		serialize(p->children, out);
	}
}

char *mail_parts_serialize(const struct mail_part *root)
{
	struct buf out = BUF_INIT;

	(void)buf_append_str(&out, MIME_PARTS_VERSION);
	serialize(root, &out);
	return buf_steal(&out);
}

void mail_cached_fields_get(const void *msg, size_t msg_size,
			    const struct mail_part *root,
			    struct mail_cached_fields *f)
{
	struct buf b = BUF_INIT;

	memset(f, 0, sizeof(*f));
	mail_imap_envelope(msg, msg_size, root, &b);
	f->len[MAIL_CACHED_ENVELOPE] = b.len;
	f->value[MAIL_CACHED_ENVELOPE] = buf_steal(&b);
	mail_imap_bodystructure(msg, msg_size, root, true, &b);
	f->len[MAIL_CACHED_BODYSTRUCTURE] = b.len;
	f->value[MAIL_CACHED_BODYSTRUCTURE] = buf_steal(&b);
	mail_imap_bodystructure(msg, msg_size, root, false, &b);
	f->len[MAIL_CACHED_BODY] = b.len;
	f->value[MAIL_CACHED_BODY] = buf_steal(&b);
	f->value[MAIL_CACHED_MIME_PARTS] = mail_parts_serialize(root);
	f->len[MAIL_CACHED_MIME_PARTS] =
		strlen(f->value[MAIL_CACHED_MIME_PARTS]);
	uint64_t hdr_size = root->header.physical;
	if (hdr_size > msg_size)
		hdr_size = msg_size;
	(void)mail_header_cache_build(msg, (size_t)hdr_size, &b);
	f->len[MAIL_CACHED_HEADER_FIELDS] = b.len;
	f->value[MAIL_CACHED_HEADER_FIELDS] = buf_steal(&b);
	if (f->value[MAIL_CACHED_HEADER_FIELDS] == NULL)
		f->value[MAIL_CACHED_HEADER_FIELDS] = xstrdup("");
}

void mail_cached_fields_free(struct mail_cached_fields *f)
{
	for (int i = 0; i < MAIL_CACHED_COUNT; i++) {
		free(f->value[i]);
		f->value[i] = NULL;
		f->len[i] = 0;
	}
}

/* --- reading back ------------------------------------------------------- */

struct reader {
	const char *p, *end;
	unsigned int parts, max_parts, max_depth;
	const char *error;
};

static int read_num(struct reader *r, int base, char sep, uint64_t *n_r)
{
	uint64_t n = 0;
	const char *start = r->p;

	while (r->p < r->end && *r->p != sep) {
		int d;
		char c = *r->p;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		if (n > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		n = n * (uint64_t)base + (uint64_t)d;
		r->p++;
	}
	if (r->p == start || r->p >= r->end)
		return -1;
	r->p++;
	*n_r = n;
	return 0;
}

static bool size_ok(const struct mail_size *s)
{
	/* virtual adds at most one CR per LF */
	return s->virtual >= s->physical && s->lines <= s->virtual &&
		s->virtual - s->physical <= s->lines &&
		s->physical <= UINT64_MAX / 4;
}

static struct mail_part *read_part(struct reader *r, struct mail_part *parent,
				   unsigned int depth)
{
	uint64_t v[9];
	struct mail_part *part, *last = NULL;
	static const char seps[9] = { ',', ',', ',', ',', ',', ',', ',', ',',
				      ';' };

	if (depth > r->max_depth) {
		r->error = "mime.parts: nested too deep";
		return NULL;
	}
	if (++r->parts > r->max_parts) {
		r->error = "mime.parts: too many parts";
		return NULL;
	}
	for (int i = 0; i < 9; i++) {
		if (read_num(r, i == 0 ? 16 : 10, seps[i], &v[i]) < 0) {
			r->error = "mime.parts: malformed";
			return NULL;
		}
	}
	part = xcalloc(1, sizeof(*part));
	part->parent = parent;
	part->flags = (unsigned int)(v[0] & 0x3f);
	part->offset = v[1];
	part->header = (struct mail_size){ v[2], v[3], v[4] };
	part->body = (struct mail_size){ v[5], v[6], v[7] };
	if (v[0] > 0x3f || !size_ok(&part->header) || !size_ok(&part->body) ||
	    v[8] > r->max_parts) {
		r->error = "mime.parts: bad part";
		goto fail;
	}
	uint64_t body_start = part->offset + part->header.physical;
	uint64_t body_end = body_start + part->body.physical;
	if (parent != NULL) {
		uint64_t pstart = parent->offset + parent->header.physical;
		uint64_t pend = pstart + parent->body.physical;
		if (part->offset < pstart || body_end > pend) {
			r->error = "mime.parts: part outside its parent";
			goto fail;
		}
	}
	for (uint64_t i = 0; i < v[8]; i++) {
		struct mail_part *c = read_part(r, part, depth + 1);
		if (c == NULL)
			goto fail;
		if (last != NULL && c->offset < last->offset +
		    last->header.physical + last->body.physical) {
			mail_part_free(&c);
			r->error = "mime.parts: overlapping parts";
			goto fail;
		}
		if (last == NULL)
			part->children = c;
		else
			last->next = c;
		last = c;
		part->children_count++;
	}
	return part;
fail:
	mail_part_free(&part);
	return NULL;
}

int mail_parts_deserialize(const char *text, size_t len,
			   const struct mail_parser_limits *limits,
			   struct mail_part **root_r, const char **error_r)
{
	const struct mail_parser_limits *lim = limits != NULL ? limits :
		&mail_parser_default_limits;
	struct reader r = {
		.p = text, .end = text + len,
		.max_parts = lim->max_parts, .max_depth = lim->max_depth,
	};
	size_t vlen = strlen(MIME_PARTS_VERSION);

	*root_r = NULL;
	*error_r = NULL;
	if (len < vlen || memcmp(text, MIME_PARTS_VERSION, vlen) != 0) {
		*error_r = "mime.parts: unknown version";
		return -1;
	}
	r.p += vlen;
	*root_r = read_part(&r, NULL, 1);
	if (*root_r == NULL) {
		*error_r = r.error;
		return -1;
	}
	if (r.p != r.end || (*root_r)->offset != 0) {
		mail_part_free(root_r);
		*error_r = "mime.parts: trailing data";
		return -1;
	}
	return 0;
}
