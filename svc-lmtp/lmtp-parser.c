/* LMTP parsing of untrusted bytes (see lmtp-parser.h). Every function
 * works in place on a bounded line or on a caller-bounded chunk. */
#include "lmtp-parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum lmtp_verb verb;
} lmtp_verbs[] = {
	{ "LHLO", LMTP_CMD_LHLO }, { "HELO", LMTP_CMD_HELO },
	{ "EHLO", LMTP_CMD_EHLO }, { "MAIL", LMTP_CMD_MAIL },
	{ "RCPT", LMTP_CMD_RCPT }, { "DATA", LMTP_CMD_DATA },
	{ "BDAT", LMTP_CMD_BDAT }, { "RSET", LMTP_CMD_RSET },
	{ "NOOP", LMTP_CMD_NOOP }, { "QUIT", LMTP_CMD_QUIT },
	{ "VRFY", LMTP_CMD_VRFY }, { "XCLIENT", LMTP_CMD_XCLIENT },
	{ "STARTTLS", LMTP_CMD_STARTTLS },
};

int lmtp_command_parse(char *line, size_t len, struct lmtp_command *cmd_r,
		       const char **error_r)
{
	memset(cmd_r, 0, sizeof(*cmd_r));
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "500 5.5.2 Invalid character in command";
		return -1;
	}
	/* A CR inside a command line is a bare CR: refuse it. */
	if (memchr(line, '\r', len) != NULL) {
		*error_r = "500 5.5.2 Bare CR in command";
		return -1;
	}
	char *p = line;
	char *end = line + len;
	char *sp = memchr(p, ' ', len);
	if (sp != NULL) {
		*sp = '\0';
		cmd_r->args = sp + 1;
	} else {
		cmd_r->args = end;
	}
	cmd_r->name = line;
	cmd_r->verb = LMTP_CMD_UNKNOWN;
	for (size_t i = 0; i < sizeof(lmtp_verbs) / sizeof(lmtp_verbs[0]);
	     i++) {
		if (strcasecmp(line, lmtp_verbs[i].name) == 0) {
			cmd_r->verb = lmtp_verbs[i].verb;
			break;
		}
	}
	return 0;
}

static bool lmtp_param_key_valid(const char *key)
{
	if (*key == '\0' || !isalnum((unsigned char)*key))
		return false;
	for (; *key != '\0'; key++) {
		if (!isalnum((unsigned char)*key) && *key != '-')
			return false;
	}
	return true;
}

/* Finds the closing '>' of a path, honouring quoted local parts and
 * backslash escapes. */
static char *lmtp_path_end(char *p)
{
	bool quoted = false;
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			return NULL;
		if (c == '\\') {
			if (p[1] == '\0')
				return NULL;
			p++;
		} else if (c == '"') {
			quoted = !quoted;
		} else if (c == '>' && !quoted) {
			return p;
		}
	}
	return NULL;
}

int lmtp_path_parse(char *args, const char *prefix,
		    struct lmtp_path_cmd *path_r, const char **error_r)
{
	size_t plen = strlen(prefix);
	memset(path_r, 0, sizeof(*path_r));
	if (strncasecmp(args, prefix, plen) != 0 || args[plen] != ':') {
		*error_r = "501 5.5.4 Invalid parameters";
		return -1;
	}
	char *p = args + plen + 1;
	while (*p == ' ')
		p++;
	if (*p != '<') {
		*error_r = "501 5.5.4 Invalid address syntax";
		return -1;
	}
	char *start = p + 1;
	char *end = lmtp_path_end(start);
	if (end == NULL) {
		*error_r = "501 5.5.4 Invalid address syntax";
		return -1;
	}
	*end = '\0';
	/* Source route "@a,@b:user@d" is ignored (RFC 5321 4.1.2). */
	if (*start == '@') {
		char *colon = strchr(start, ':');
		if (colon == NULL) {
			*error_r = "501 5.5.4 Invalid address syntax";
			return -1;
		}
		start = colon + 1;
	}
	if (*start != '\0') {
		/* Non-empty: must be local@domain with a non-empty local part
		 * and no spaces outside quotes. */
		char *at = strrchr(start, '@');
		if (at == start || (at != NULL && at[1] == '\0')) {
			*error_r = "501 5.1.3 Invalid address syntax";
			return -1;
		}
		bool quoted = false;
		for (char *q = start; *q != '\0'; q++) {
			if (*q == '\\' && q[1] != '\0') {
				q++;
				continue;
			}
			if (*q == '"')
				quoted = !quoted;
			else if (*q == ' ' && !quoted) {
				*error_r = "501 5.1.3 Invalid address syntax";
				return -1;
			}
		}
	}
	path_r->addr = start;
	p = end + 1;
	if (*p != '\0' && *p != ' ') {
		*error_r = "501 5.5.4 Invalid address syntax";
		return -1;
	}
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (path_r->n_params == LMTP_MAX_PARAMS) {
			*error_r = "501 5.5.4 Too many parameters";
			return -1;
		}
		char *key = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		char *eq = strchr(key, '=');
		struct lmtp_param *param = &path_r->params[path_r->n_params++];
		if (eq != NULL) {
			*eq = '\0';
			param->value = eq + 1;
		}
		for (char *k = key; *k != '\0'; k++)
			*k = (char)toupper((unsigned char)*k);
		param->key = key;
		if (!lmtp_param_key_valid(key)) {
			*error_r = "501 5.5.4 Invalid parameter syntax";
			return -1;
		}
	}
	return 0;
}

void lmtp_address_split(const char *addr, const char *delims,
			char **user_r, char **detail_r, char **domain_r)
{
	const char *at = strrchr(addr, '@');
	size_t local_len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	*domain_r = xstrdup(at != NULL ? at + 1 : "");
	size_t cut = local_len;
	if (delims != NULL && *delims != '\0') {
		for (size_t i = 0; i < local_len; i++) {
			if (strchr(delims, addr[i]) != NULL) {
				cut = i;
				break;
			}
		}
	}
	*detail_r = cut < local_len ?
		xstrndup(addr + cut + 1, local_len - cut - 1) : xstrdup("");
	if (at != NULL) {
		char *local = xstrndup(addr, cut);
		*user_r = xasprintf("%s@%s", local, at + 1);
		free(local);
	} else {
		*user_r = xstrndup(addr, cut);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lmtp_xtext_decode(const char *in, struct buf *out)
{
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '+') {
			int hi = hexval(in[1]);
			int lo = hi < 0 ? -1 : hexval(in[2]);
			if (lo < 0)
				return -1;
			if (buf_append_c(out, (char)(hi * 16 + lo)) < 0)
				return -1;
			in += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			return -1;
		} else if (buf_append_c(out, (char)c) < 0) {
			return -1;
		}
	}
	return 0;
}

int lmtp_bdat_parse(const char *args, uint64_t *size_r, bool *last_r,
		    const char **error_r)
{
	uint64_t size = 0;
	const char *p = args;
	if (!isdigit((unsigned char)*p)) {
		*error_r = "501 5.5.4 Invalid chunk size";
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (size > (UINT64_MAX - 9) / 10) {
			*error_r = "501 5.5.4 Invalid chunk size";
			return -1;
		}
		size = size * 10 + (uint64_t)(*p - '0');
	}
	*last_r = false;
	if (*p == ' ') {
		p++;
		if (strcasecmp(p, "LAST") != 0) {
			*error_r = "501 5.5.4 Invalid BDAT parameter";
			return -1;
		}
		*last_r = true;
	} else if (*p != '\0') {
		*error_r = "501 5.5.4 Invalid chunk size";
		return -1;
	}
	*size_r = size;
	return 0;
}

size_t lmtp_data_parse(struct lmtp_data_parser *p, const char *data,
		       size_t len, struct buf *out, bool *end_r)
{
	size_t i;
	*end_r = false;
	for (i = 0; i < len; i++) {
		char c = data[i];
		switch (p->state) {
		case LMTP_DATA_LINE_START:
			if (c == '.') {
				p->state = LMTP_DATA_DOT;
				continue;
			}
			buf_append_c(out, c);
			p->state = c == '\n' ? LMTP_DATA_LINE_START :
					       LMTP_DATA_MIDLINE;
			break;
		case LMTP_DATA_MIDLINE: {
			/* the rest of the line in one append */
			const char *lf = memchr(data + i, '\n', len - i);
			size_t n = lf != NULL ? (size_t)(lf - (data + i)) + 1 :
				   len - i;
			buf_append(out, data + i, n);
			i += n - 1;
			if (lf != NULL)
				p->state = LMTP_DATA_LINE_START;
			break;
		}
		case LMTP_DATA_DOT:
			if (c == '\r') {
				p->state = LMTP_DATA_DOT_CR;
				continue;
			}
			if (c == '\n') {
				p->state = LMTP_DATA_END;
				*end_r = true;
				return i + 1;
			}
			/* ".." -> "."; any other dotted line loses its dot */
			buf_append_c(out, c);
			p->state = LMTP_DATA_MIDLINE;
			break;
		case LMTP_DATA_DOT_CR:
			if (c == '\n') {
				p->state = LMTP_DATA_END;
				*end_r = true;
				return i + 1;
			}
			buf_append_c(out, '\r');
			if (c == '\r') {
				/* stay: ".\r\r" may still become ".\r\r\n" */
				buf_append_c(out, c);
				p->state = LMTP_DATA_MIDLINE;
				break;
			}
			buf_append_c(out, c);
			p->state = LMTP_DATA_MIDLINE;
			break;
		case LMTP_DATA_END:
			*end_r = true;
			return i;
		}
	}
	return i;
}
