/* A bounded JSON reader for CDMI answers (see cdmi-json.h). Recursive
 * descent over [p, end): every step checks the end first, so a
 * truncated answer is a parse error, never an overread. */
#include "cdmi-json.h"
#include "buf.h"
#include "fs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct jp {
	const char *p, *end;
	struct cdmi_answer *a;
	int depth;
};

enum slot { SLOT_NONE, SLOT_CHILDREN, SLOT_META };

static void skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *s, unsigned int *v_r)
{
	unsigned int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned int)(c - 'A' + 10);
		else return -1;
	}
	*v_r = v;
	return 0;
}

static void put_utf8(struct buf *b, unsigned int cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) { u[0] = (char)cp; n = 1; }
	else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
	else if (cp < 0x10000) { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
	else { u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
	(void)buf_append(b, u, n);
}

/* A string at j->p (the opening quote); *out_r malloc'd when out_r != NULL.
 * NUL (\u0000) is refused: names become C strings and storage keys. */
static int parse_string(struct jp *j, char **out_r)
{
	struct buf b;
	buf_init(&b, FS_KEY_MAX);
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	for (;;) {
		if (j->p >= j->end)
			goto fail;
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			goto fail;
		if (c != '\\') {
			if (buf_append_c(&b, (char)c) < 0)
				goto fail;
			continue;
		}
		if (j->p >= j->end)
			goto fail;
		char e = *j->p++;
		unsigned int cp;
		switch (e) {
		case '"': case '\\': case '/': cp = (unsigned char)e; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0)
				goto fail;
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned int lo;
				if (j->end - j->p < 6 || j->p[0] != '\\' ||
				    j->p[1] != 'u' || hex4(j->p + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto fail;
				j->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto fail;
			}
			if (cp == 0)
				goto fail;
			break;
		default:
			goto fail;
		}
		size_t before = b.len;
		put_utf8(&b, cp);
		if (b.len == before)
			goto fail;	/* over the cap */
	}
	if (out_r != NULL)
		*out_r = buf_steal(&b);
	buf_free(&b);
	return 0;
fail:
	buf_free(&b);
	return -1;
}

static int parse_scalar(struct jp *j, char **text_r)
{
	const char *start = j->p;
	if (j->p < j->end && *j->p == '"')
		return parse_string(j, text_r);
	while (j->p < j->end && (strchr("+-.eE", *j->p) != NULL ||
				 (*j->p >= '0' && *j->p <= '9') ||
				 (*j->p >= 'a' && *j->p <= 'z')))
		j->p++;
	size_t n = (size_t)(j->p - start);
	if (n == 0 || n > 64)
		return -1;
	if (start[0] >= 'a' && start[0] <= 'z' &&
	    !((n == 4 && memcmp(start, "true", 4) == 0) ||
	      (n == 5 && memcmp(start, "false", 5) == 0) ||
	      (n == 4 && memcmp(start, "null", 4) == 0)))
		return -1;
	if (text_r != NULL)
		*text_r = xstrndup(start, n);
	return 0;
}

static int parse_value(struct jp *j, enum slot slot);

static int parse_array(struct jp *j, enum slot slot)
{
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		skip_ws(j);
		if (slot == SLOT_CHILDREN && j->p < j->end && *j->p == '"') {
			char *name;
			if (j->a->n_children >= CDMI_JSON_MAX_CHILDREN ||
			    parse_string(j, &name) < 0)
				return -1;
			j->a->children = xreallocarray(j->a->children,
				j->a->n_children + 1, sizeof(char *));
			j->a->children[j->a->n_children++] = name;
		} else if (parse_value(j, SLOT_NONE) < 0) {
			return -1;
		}
		skip_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == ']') {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

/* An object; at depth 1 the fields we want are picked out, in
 * "metadata" (slot META) each scalar member becomes an item. */
static int parse_object(struct jp *j, enum slot slot)
{
	bool top = j->depth == 1;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		char *name = NULL;
		skip_ws(j);
		if (parse_string(j, &name) < 0)
			return -1;
		skip_ws(j);
		if (j->p >= j->end || *j->p++ != ':') {
			free(name);
			return -1;
		}
		skip_ws(j);
		int ret;
		if (top && strcmp(name, "children") == 0 &&
		    j->p < j->end && *j->p == '[') {
			ret = parse_value(j, SLOT_CHILDREN);
		} else if (top && strcmp(name, "childrenrange") == 0 &&
			   j->p < j->end && *j->p == '"') {
			free(j->a->childrenrange);
			j->a->childrenrange = NULL;
			ret = parse_string(j, &j->a->childrenrange);
		} else if (top && strcmp(name, "metadata") == 0 &&
			   j->p < j->end && *j->p == '{') {
			ret = parse_value(j, SLOT_META);
		} else if (slot == SLOT_META && j->p < j->end &&
			   *j->p != '{' && *j->p != '[') {
			char *v = NULL;
			ret = parse_scalar(j, &v);
			if (ret == 0 && j->a->n_meta < CDMI_JSON_MAX_META) {
				j->a->meta[j->a->n_meta].name = name;
				j->a->meta[j->a->n_meta++].value = v;
				name = NULL;
			} else {
				free(v);
			}
		} else {
			ret = parse_value(j, SLOT_NONE);
		}
		free(name);
		if (ret < 0)
			return -1;
		skip_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == '}') {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static int parse_value(struct jp *j, enum slot slot)
{
	int ret;
	skip_ws(j);
	if (j->p >= j->end)
		return -1;
	if (*j->p != '{' && *j->p != '[')
		return parse_scalar(j, NULL);
	if (++j->depth > CDMI_JSON_DEPTH)
		return -1;
	ret = *j->p == '{' ? parse_object(j, slot) : parse_array(j, slot);
	j->depth--;
	return ret;
}

int cdmi_json_parse(const char *json, size_t len, struct cdmi_answer *a)
{
	struct jp j = { .p = json, .end = json + len, .a = a };
	memset(a, 0, sizeof(*a));
	skip_ws(&j);
	if (j.p >= j.end || *j.p != '{' || parse_value(&j, SLOT_NONE) < 0)
		return -1;
	skip_ws(&j);
	return j.p == j.end ? 0 : -1;
}

void cdmi_answer_free(struct cdmi_answer *a)
{
	for (size_t i = 0; i < a->n_children; i++)
		free(a->children[i]);
	free(a->children);
	free(a->childrenrange);
	for (size_t i = 0; i < a->n_meta; i++) {
		free(a->meta[i].name);
		free(a->meta[i].value);
	}
	memset(a, 0, sizeof(*a));
}

const char *cdmi_answer_meta(const struct cdmi_answer *a, const char *name)
{
	for (size_t i = 0; i < a->n_meta; i++) {
		if (strcmp(a->meta[i].name, name) == 0)
			return a->meta[i].value;
	}
	return NULL;
}

void cdmi_json_quote(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	buf_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_append_c(out, '\\');
			buf_append_c(out, (char)*p);
		} else if (*p < 0x20) {
			buf_append_str(out, "\\u00");
			buf_append_c(out, hex[*p >> 4]);
			buf_append_c(out, hex[*p & 15]);
		} else {
			buf_append_c(out, (char)*p);
		}
	}
	buf_append_c(out, '"');
}
