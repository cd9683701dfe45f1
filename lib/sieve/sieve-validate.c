/* Semantic checks of a parsed (or loaded) tree against the tables and the
 * require'd extensions, and derivation of each node's match type,
 * comparator, relation and address part so the interpreter never looks at
 * names. Also decodes encoded-character strings (RFC 5228 2.4.2.4) once,
 * at compile time. Runs again on every loaded binary, since stored bytes
 * are untrusted. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-private.h"

struct validator {
	struct sieve_script *script;
	struct sieve_errors *errs;
	bool decode_encoded;	/* false for a loaded binary: already done */
	bool seen_command;	/* a non-require command was seen */
};

static int validate_list(struct validator *v, struct sieve_node *nodes,
			 uint32_t n, bool is_test, bool top);

static bool has_ext(const struct validator *v, unsigned int ext)
{
	return (v->script->ext_mask & (1u << ext)) != 0;
}

static int verr_at(struct validator *v, uint32_t line, uint32_t col,
		   const char *fmt, const char *a, const char *b)
{
	sieve_error(v->errs, line, col, fmt, a, b);
	return -1;
}

/* ---- encoded-character ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
	if (cp < 0x80) {
		buf_append_c(out, (char)cp);
	} else if (cp < 0x800) {
		buf_append_c(out, (char)(0xc0 | (cp >> 6)));
		buf_append_c(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_append_c(out, (char)(0xe0 | (cp >> 12)));
		buf_append_c(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_c(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_append_c(out, (char)(0xf0 | (cp >> 18)));
		buf_append_c(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_append_c(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_c(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Decodes one "${hex:...}" or "${unicode:...}" body starting after the
 * colon; returns the position after '}' or NULL when malformed (then the
 * text stays as written). *bad_r is set for a NUL or an invalid code
 * point, which are errors. */
static const char *decode_one(const char *p, bool unicode, struct buf *out,
			      bool *bad_r)
{
	size_t start = out->len;
	bool any = false;

	for (;;) {
		uint32_t v = 0;
		int digits = 0;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '}')
			break;
		while (hexval(*p) >= 0) {
			if (++digits > (unicode ? 8 : 2))
				goto bad;
			v = v * 16 + (uint32_t)hexval(*p);
			p++;
		}
		if (digits == 0 || (!unicode && digits != 2))
			goto bad;
		if (*p != ' ' && *p != '\t' && *p != '}' && *p != '\r' &&
		    *p != '\n')
			goto bad;
		if (v == 0 || (unicode && (v > 0x10ffff ||
					   (v >= 0xd800 && v <= 0xdfff)))) {
			*bad_r = true;
			goto bad;
		}
		if (unicode)
			put_utf8(out, v);
		else
			buf_append_c(out, (char)v);
		any = true;
	}
	if (!any)
		goto bad;
	return p + 1;
bad:
	/* Nothing appended yet means no buffer yet either. */
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return NULL;
}

static int decode_string(struct validator *v, const struct sieve_arg *arg,
			 char **s)
{
	struct buf out;
	const char *p = *s;
	bool changed = false;

	if (strstr(p, "${") == NULL)
		return 0;
	buf_init(&out, 0);
	while (*p != '\0') {
		const char *body = NULL, *next;
		bool unicode = false, bad = false;

		if (p[0] == '$' && p[1] == '{') {
			const char *q = p + 2;

			while (*q == ' ' || *q == '\t')
				q++;
			if (strncasecmp(q, "hex:", 4) == 0) {
				body = q + 4;
			} else if (strncasecmp(q, "unicode:", 8) == 0) {
				body = q + 8;
				unicode = true;
			}
		}
		if (body != NULL) {
			next = decode_one(body, unicode, &out, &bad);
			if (bad) {
				buf_free(&out);
				return verr_at(v, arg->line, arg->col,
					       "invalid encoded character "
					       "in string%s%s", "", "");
			}
			if (next != NULL) {
				p = next;
				changed = true;
				continue;
			}
		}
		buf_append_c(&out, *p++);
	}
	if (changed)
		*s = sieve_arena_strndup(v->script->arena, out.data, out.len);
	buf_free(&out);
	return 0;
}

/* ---- requirements ---- */

static int validate_require(struct validator *v, struct sieve_node *node,
			    bool top)
{
	const struct sieve_arg *a = node->pos[0];

	if (!top || v->seen_command)
		return verr_at(v, node->line, node->col,
			       "require must come before any other command, "
			       "at the top level%s%s", "", "");
	for (uint32_t i = 0; i < a->n_strs; i++) {
		const char *name = a->strs[i];
		int ext = sieve_ext_lookup(name);

		if (strcmp(name, "comparator-i;octet") == 0 ||
		    strcmp(name, "comparator-i;ascii-casemap") == 0)
			continue;
		if (ext < 0)
			return verr_at(v, a->line, a->col,
				       "unknown Sieve extension '%s'%s", name,
				       "");
		v->script->ext_mask |= 1u << ext;
		/* Extensions that build on another one bring it along. */
		if (ext == EXT_VACATION_SECONDS)
			v->script->ext_mask |= 1u << EXT_VACATION;
		if (ext == EXT_SPAMTESTPLUS)
			v->script->ext_mask |= 1u << EXT_SPAMTEST;
	}
	return 0;
}

/* ---- arguments ---- */

static bool tag_ext_ok(struct validator *v, const struct sieve_node *node,
		       unsigned int tag, const char **need_r)
{
	unsigned int ext = sieve_tags[tag].ext;

	if (tag == TAG_SECONDS && node->op == OP_VACATION)
		ext = EXT_VACATION_SECONDS;
	if ((tag == TAG_INDEX || tag == TAG_LAST) &&
	    node->op != OP_DELETEHEADER && node->op != OP_ADDHEADER)
		ext = EXT_INDEX;
	*need_r = sieve_ext_name(ext);
	return ext == EXT_NONE || has_ext(v, ext);
}

static int validate_args(struct validator *v, struct sieve_node *node)
{
	const struct sieve_cmd_def *def = &sieve_cmds[node->op];
	struct sieve_arg *pos[SIEVE_MAX_ARGS];
	uint32_t n_pos = 0;
	const char *pat = def->pos;
	size_t req = 0, opt = 0, plen = strlen(pat), extra;

	node->tagmask = 0;
	for (uint32_t i = 0; i < node->n_args; i++) {
		struct sieve_arg *a = &node->args[i];
		const char *need;

		if (a->kind == ARG_STR || a->kind == ARG_STRLIST) {
			if (a->n_strs == 0 || a->strs == NULL)
				return verr_at(v, a->line, a->col,
					       "empty string list%s%s", "", "");
			for (uint32_t j = 0; v->decode_encoded &&
			     has_ext(v, EXT_ENCODED_CHAR) && j < a->n_strs; j++) {
				if (decode_string(v, a, &a->strs[j]) < 0)
					return -1;
			}
		}
		if (a->kind != ARG_TAG) {
			pos[n_pos++] = a;
			continue;
		}
		if (a->tag >= TAG_COUNT ||
		    (def->tags & (1ULL << a->tag)) == 0)
			return verr_at(v, a->line, a->col,
				       "unknown tagged argument ':%s' for '%s'",
				       a->tag < TAG_COUNT ?
				       sieve_tags[a->tag].name : "?", def->name);
		if (!tag_ext_ok(v, node, a->tag, &need))
			return verr_at(v, a->line, a->col,
				       "tagged argument ':%s' needs require "
				       "\"%s\"", sieve_tags[a->tag].name, need);
		if (n_pos > 0)
			return verr_at(v, a->line, a->col,
				       "tagged argument ':%s' must come before "
				       "the other arguments of '%s'",
				       sieve_tags[a->tag].name, def->name);
		if ((node->tagmask & (1ULL << a->tag)) != 0)
			return verr_at(v, a->line, a->col,
				       "tagged argument ':%s' given twice%s",
				       sieve_tags[a->tag].name, "");
		node->tagmask |= 1ULL << a->tag;
		if (sieve_tags[a->tag].value != TV_NONE) {
			struct sieve_arg *val = i + 1 < node->n_args ?
						&node->args[i + 1] : NULL;
			enum sieve_tag_value tv = sieve_tags[a->tag].value;
			bool ok = val != NULL &&
				((tv == TV_NUM && val->kind == ARG_NUM) ||
				 (tv == TV_STR && val->kind == ARG_STR) ||
				 (tv == TV_STRLIST && (val->kind == ARG_STR ||
						val->kind == ARG_STRLIST)));
			if (!ok)
				return verr_at(v, a->line, a->col,
					       "tagged argument ':%s' needs a %s "
					       "value", sieve_tags[a->tag].name,
					       tv == TV_NUM ? "number" :
					       tv == TV_STR ? "string" :
					       "string list");
			if (val->kind != ARG_NUM)
				for (uint32_t j = 0; v->decode_encoded &&
				     has_ext(v, EXT_ENCODED_CHAR) &&
				     j < val->n_strs; j++) {
					if (decode_string(v, val,
							  &val->strs[j]) < 0)
						return -1;
				}
			i++;
		}
	}

	for (size_t i = 0; i < plen; i++) {
		if (pat[i] >= 'A' && pat[i] <= 'Z')
			req++;
		else
			opt++;
	}
	if (n_pos < req || n_pos > req + opt)
		return verr_at(v, node->line, node->col,
			       "wrong number of arguments for '%s'%s",
			       def->name, "");
	extra = n_pos - req;
	node->n_pos = (uint8_t)plen;
	for (size_t i = 0, k = 0; i < plen; i++) {
		char c = pat[i];
		struct sieve_arg *a;

		node->pos[i] = NULL;
		if (c >= 'a' && c <= 'z') {
			if (extra == 0)
				continue;
			extra--;
			c = (char)(c - 'a' + 'A');
		}
		a = pos[k++];
		if ((c == 'S' && a->kind != ARG_STR) ||
		    (c == 'L' && a->kind != ARG_STR &&
		     a->kind != ARG_STRLIST) ||
		    (c == 'N' && a->kind != ARG_NUM))
			return verr_at(v, a->line, a->col,
				       "'%s' expects a %s here", def->name,
				       c == 'S' ? "string" : c == 'L' ?
				       "string list" : "number");
		node->pos[i] = a;
	}
	return 0;
}

/* ---- derived fields ---- */

static int exclusive(struct validator *v, struct sieve_node *node,
		     uint64_t mask, const char *what)
{
	uint64_t m = node->tagmask & mask;

	if (m != 0 && (m & (m - 1)) != 0)
		return verr_at(v, node->line, node->col,
			       "more than one %s given to '%s'", what,
			       sieve_cmds[node->op].name);
	return 0;
}

#define T(x) (1ULL << TAG_##x)

static int derive_match(struct validator *v, struct sieve_node *node)
{
	const struct sieve_arg *a;

	if (exclusive(v, node, T(IS) | T(CONTAINS) | T(MATCHES) | T(REGEX) |
		      T(VALUE) | T(COUNT_), "match type") < 0 ||
	    exclusive(v, node, T(ALL) | T(LOCALPART) | T(DOMAIN) | T(USER) |
		      T(DETAIL), "address part") < 0 ||
	    exclusive(v, node, T(OVER) | T(UNDER), "size comparison") < 0 ||
	    exclusive(v, node, T(RAW) | T(CONTENT) | T(TEXT),
		      "body transform") < 0 ||
	    exclusive(v, node, T(DAYS) | T(SECONDS), "period") < 0 ||
	    exclusive(v, node, T(GLOBAL) | T(PERSONAL), "location") < 0 ||
	    exclusive(v, node, T(HEADER) | T(UNIQUEID), "duplicate id") < 0)
		return -1;
	node->match = MATCH_IS;
	if (node->tagmask & T(CONTAINS))
		node->match = MATCH_CONTAINS;
	else if (node->tagmask & T(MATCHES))
		node->match = MATCH_MATCHES;
	else if (node->tagmask & T(REGEX))
		node->match = MATCH_REGEX;
	else if (node->tagmask & T(VALUE))
		node->match = MATCH_VALUE;
	else if (node->tagmask & T(COUNT_))
		node->match = MATCH_COUNT;
	node->addrpart = AP_ALL;
	if (node->tagmask & T(LOCALPART))
		node->addrpart = AP_LOCALPART;
	else if (node->tagmask & T(DOMAIN))
		node->addrpart = AP_DOMAIN;
	else if (node->tagmask & T(USER))
		node->addrpart = AP_USER;
	else if (node->tagmask & T(DETAIL))
		node->addrpart = AP_DETAIL;

	a = sieve_node_tag(node, TAG_VALUE);
	if (a == NULL)
		a = sieve_node_tag(node, TAG_COUNT_);
	if (a != NULL) {
		static const char *const rels[] = {
			"gt", "ge", "lt", "le", "eq", "ne"
		};
		unsigned int i;

		for (i = 0; i < 6; i++) {
			if (strcasecmp(a->strs[0], rels[i]) == 0)
				break;
		}
		if (i == 6)
			return verr_at(v, a->line, a->col,
				       "unknown relational operator '%s'%s",
				       a->strs[0], "");
		node->rel = (uint8_t)i;
	}

	node->cmp = CMP_CASEMAP;
	a = sieve_node_tag(node, TAG_COMPARATOR);
	if (a != NULL) {
		const char *c = a->strs[0];

		if (strcmp(c, "i;octet") == 0) {
			node->cmp = CMP_OCTET;
		} else if (strcmp(c, "i;ascii-casemap") == 0) {
			node->cmp = CMP_CASEMAP;
		} else if (strcmp(c, "i;ascii-numeric") == 0 &&
			   has_ext(v, EXT_CMP_NUMERIC)) {
			node->cmp = CMP_NUMERIC;
		} else {
			return verr_at(v, a->line, a->col,
				       "unknown comparator '%s'%s", c,
				       strcmp(c, "i;ascii-numeric") == 0 ?
				       " (require \"comparator-i;ascii-numeric\")"
				       : "");
		}
		if (node->cmp == CMP_NUMERIC &&
		    (node->match == MATCH_CONTAINS ||
		     node->match == MATCH_MATCHES ||
		     node->match == MATCH_REGEX))
			return verr_at(v, a->line, a->col,
				       "comparator '%s' cannot do substring "
				       "or pattern matching%s", c, "");
	}
	/* A constant :regex pattern is checked now, so a catastrophic or
	 * broken one is a compile error with its position. */
	if (node->match == MATCH_REGEX) {
		int key = node->op == OP_DATE ? 2 :
			  node->op == OP_CURRENTDATE ? 1 :
			  node->op == OP_BODY || node->op == OP_SPAMTEST ||
			  node->op == OP_VIRUSTEST ? 0 :
			  node->op == OP_DELETEHEADER ? 1 : 1;
		const struct sieve_arg *k = node->pos[key];

		for (uint32_t i = 0; k != NULL && i < k->n_strs; i++) {
			const char *err;

			if (has_ext(v, EXT_VARIABLES) &&
			    strstr(k->strs[i], "${") != NULL)
				continue;
			err = sieve_regex_check(k->strs[i]);
			if (err != NULL)
				return verr_at(v, k->line, k->col,
					       "invalid regular expression "
					       "'%s': %s", k->strs[i], err);
		}
	}
	return 0;
}

/* ---- command-specific checks ---- */

static bool header_name_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127 ||
		    *s == ':')
			return false;
	}
	return true;
}

static bool is_var_name(const char *s)
{
	const char *p = s;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return false;
	}
	return !isdigit((unsigned char)*s);
}

static bool dynamic(const struct validator *v, const char *s)
{
	return has_ext(v, EXT_VARIABLES) && strstr(s, "${") != NULL;
}

static int check_headers(struct validator *v, const struct sieve_arg *a)
{
	for (uint32_t i = 0; a != NULL && i < a->n_strs; i++) {
		if (!dynamic(v, a->strs[i]) && !header_name_valid(a->strs[i]))
			return verr_at(v, a->line, a->col,
				       "invalid header name '%s'%s", a->strs[i],
				       "");
	}
	return 0;
}

static int validate_specific(struct validator *v, struct sieve_node *node)
{
	const struct sieve_arg *a;

	if ((node->tagmask & T(INDEX)) != 0) {
		a = sieve_node_tag(node, TAG_INDEX);
		if (a->num == 0)
			return verr_at(v, a->line, a->col,
				       ":index must be 1 or more%s%s", "", "");
	}
	switch (node->op) {
	case OP_SIZE:
		if ((node->tagmask & (T(OVER) | T(UNDER))) == 0)
			return verr_at(v, node->line, node->col,
				       "size needs :over or :under%s%s", "",
				       "");
		break;
	case OP_REDIRECT:
		a = node->pos[0];
		if (!dynamic(v, a->strs[0]) &&
		    !sieve_address_valid(a->strs[0]))
			return verr_at(v, a->line, a->col,
				       "invalid redirect address '%s'%s",
				       a->strs[0], "");
		break;
	case OP_FILEINTO:
		if (node->pos[0]->strs[0][0] == '\0')
			return verr_at(v, node->pos[0]->line,
				       node->pos[0]->col,
				       "empty mailbox name%s%s", "", "");
		break;
	case OP_SET:
		if (!is_var_name(node->pos[0]->strs[0]))
			return verr_at(v, node->pos[0]->line,
				       node->pos[0]->col,
				       "invalid variable name '%s'%s",
				       node->pos[0]->strs[0], "");
		break;
	case OP_GLOBAL:
		if (!has_ext(v, EXT_VARIABLES))
			return verr_at(v, node->line, node->col,
				       "'global' needs require \"variables\"%s%s",
				       "", "");
		for (uint32_t i = 0; i < node->pos[0]->n_strs; i++) {
			if (!is_var_name(node->pos[0]->strs[i]))
				return verr_at(v, node->pos[0]->line,
					       node->pos[0]->col,
					       "invalid variable name '%s'%s",
					       node->pos[0]->strs[i], "");
		}
		break;
	case OP_SETFLAG: case OP_ADDFLAG: case OP_REMOVEFLAG:
	case OP_HASFLAG:
		if (node->pos[0] != NULL) {
			if (!has_ext(v, EXT_VARIABLES))
				return verr_at(v, node->pos[0]->line,
					       node->pos[0]->col,
					       "a flag variable needs require "
					       "\"variables\"%s%s", "", "");
			for (uint32_t i = 0; i < node->pos[0]->n_strs; i++)
				if (!is_var_name(node->pos[0]->strs[i]))
					return verr_at(v, node->pos[0]->line,
						node->pos[0]->col,
						"invalid variable name '%s'%s",
						node->pos[0]->strs[i], "");
		}
		break;
	case OP_VACATION:
		a = sieve_node_tag(node, TAG_FROM);
		if (a != NULL && !dynamic(v, a->strs[0]) &&
		    !sieve_address_valid(a->strs[0]))
			return verr_at(v, a->line, a->col,
				       "invalid :from address '%s'%s",
				       a->strs[0], "");
		break;
	case OP_HEADER: case OP_EXISTS:
		return check_headers(v, node->pos[0]);
	case OP_ADDRESS:
		return check_headers(v, node->pos[0]);
	case OP_DATE:
		if (check_headers(v, node->pos[0]) < 0)
			return -1;
		/* fall through */
	case OP_CURRENTDATE: {
		const struct sieve_arg *part = node->pos[node->op == OP_DATE];
		int zone;

		if (!dynamic(v, part->strs[0]) &&
		    !sieve_date_part_valid(part->strs[0]))
			return verr_at(v, part->line, part->col,
				       "unknown date part '%s'%s",
				       part->strs[0], "");
		a = sieve_node_tag(node, TAG_ZONE);
		if (a != NULL && !dynamic(v, a->strs[0]) &&
		    !sieve_zone_parse(a->strs[0], &zone))
			return verr_at(v, a->line, a->col,
				       "invalid time zone '%s'%s", a->strs[0],
				       "");
		break;
	}
	case OP_ENVELOPE:
		a = node->pos[0];
		for (uint32_t i = 0; i < a->n_strs; i++) {
			const char *p = a->strs[i];

			if (!dynamic(v, p) && strcasecmp(p, "from") != 0 &&
			    strcasecmp(p, "to") != 0 &&
			    strcasecmp(p, "auth") != 0)
				return verr_at(v, a->line, a->col,
					       "unknown envelope part '%s'%s",
					       p, "");
		}
		break;
	case OP_ADDHEADER: case OP_DELETEHEADER:
		a = node->pos[0];
		if (!dynamic(v, a->strs[0]) && !header_name_valid(a->strs[0]))
			return verr_at(v, a->line, a->col,
				       "invalid header name '%s'%s", a->strs[0],
				       "");
		if (node->op == OP_DELETEHEADER &&
		    (node->tagmask & T(LAST)) && !(node->tagmask & T(INDEX)))
			return verr_at(v, node->line, node->col,
				       ":last needs :index in deleteheader%s%s",
				       "", "");
		break;
	case OP_INCLUDE:
		a = node->pos[0];
		if (a->strs[0][0] == '\0' || strchr(a->strs[0], '/') != NULL)
			return verr_at(v, a->line, a->col,
				       "invalid script name '%s'%s", a->strs[0],
				       "");
		/* RFC 6609 3.2: the name is a constant; a delivery fetches
		 * the included scripts before the run, by these names */
		if (has_ext(v, EXT_VARIABLES) && strstr(a->strs[0], "${"))
			return verr_at(v, a->line, a->col,
				       "script name '%s' of include must be a "
				       "constant (no variables)%s", a->strs[0],
				       "");
		break;
	default:
		break;
	}
	return 0;
}

static int validate_node(struct validator *v, struct sieve_node *node,
			 bool is_test, bool top, int prev_op)
{
	const struct sieve_cmd_def *def;

	if (node->op >= OP_COUNT)
		return verr_at(v, node->line, node->col, "bad opcode%s%s", "",
			       "");
	def = &sieve_cmds[node->op];
	if (def->is_test != is_test)
		return verr_at(v, node->line, node->col,
			       "'%s' cannot be used as a %s", def->name,
			       is_test ? "test" : "command");
	if (def->ext != EXT_NONE && !has_ext(v, def->ext))
	{
		sieve_error(v->errs, node->line, node->col,
			    "unknown %s '%s' (require \"%s\" first)",
			    is_test ? "test" : "command", def->name,
			    sieve_ext_name(def->ext));
		return -1;
	}
	if (validate_args(v, node) < 0)
		return -1;
	if (node->op == OP_REQUIRE) {
		if (validate_require(v, node, top) < 0)
			return -1;
	} else if (!is_test) {
		v->seen_command = true;
	}
	if ((node->op == OP_ELSIF || node->op == OP_ELSE) &&
	    prev_op != OP_IF && prev_op != OP_ELSIF)
		return verr_at(v, node->line, node->col,
			       "'%s' must follow 'if' or 'elsif'%s", def->name,
			       "");
	if (def->tests == 0 && node->n_tests != 0)
		return verr_at(v, node->line, node->col,
			       "'%s' takes no test%s", def->name, "");
	if (def->tests == 1 && node->n_tests != 1)
		return verr_at(v, node->line, node->col,
			       "'%s' needs exactly one test%s", def->name, "");
	if (def->tests == 2 && node->n_tests == 0)
		return verr_at(v, node->line, node->col,
			       "'%s' needs a list of tests%s", def->name, "");
	if (def->block != node->has_block)
		return verr_at(v, node->line, node->col,
			       def->block ? "'%s' needs a block%s" :
			       "'%s' cannot have a block%s", def->name, "");
	if (derive_match(v, node) < 0 || validate_specific(v, node) < 0)
		return -1;
	if (validate_list(v, node->tests, node->n_tests, true, false) < 0)
		return -1;
	return validate_list(v, node->block, node->n_block, false, false);
}

static int validate_list(struct validator *v, struct sieve_node *nodes,
			 uint32_t n, bool is_test, bool top)
{
	int prev = -1;

	for (uint32_t i = 0; i < n; i++) {
		if (validate_node(v, &nodes[i], is_test, top, prev) < 0)
			return -1;
		prev = nodes[i].op;
	}
	return 0;
}

int sieve_validate_tree(struct sieve_script *script,
			struct sieve_errors *errs, bool decode)
{
	struct validator v = {
		.script = script, .errs = errs, .decode_encoded = decode,
	};

	if (!decode) {
		/* A loaded binary lists its extensions up front; they are
		 * re-derived from its require commands. */
		script->ext_mask = 0;
	}
	return validate_list(&v, script->cmds, script->n_cmds, false, true);
}

int sieve_validate(struct sieve_script *script, struct sieve_errors *errs)
{
	return sieve_validate_tree(script, errs, true);
}
