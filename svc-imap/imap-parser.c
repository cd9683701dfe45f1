/* IMAP command reader and parser (see imap-parser.h). Everything here is
 * bounded by the reader's limits; nothing here does I/O except writing
 * APPEND literals to their memfd. */
#include "imap-parser.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- pool ---- */

struct imap_pool_chunk {
	struct imap_pool_chunk *next;
	max_align_t data[];
};

void *imap_pool_alloc(struct imap_pool *pool, size_t size)
{
	if (size > SIZE_MAX - sizeof(struct imap_pool_chunk) - 1)
		abort();
	/* One allocation per object keeps this simple; commands are small. */
	struct imap_pool_chunk *c = xcalloc(1, sizeof(*c) + size + 1);
	c->next = pool->chunks;
	pool->chunks = c;
	return c->data;
}

char *imap_pool_strndup(struct imap_pool *pool, const char *s, size_t n)
{
	char *p = imap_pool_alloc(pool, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *imap_pool_printf(struct imap_pool *pool, const char *fmt, ...)
{
	va_list ap;
	struct buf b = BUF_INIT;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	char *p = imap_pool_strndup(pool, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return p;
}

void imap_pool_clear(struct imap_pool *pool)
{
	while (pool->chunks != NULL) {
		struct imap_pool_chunk *c = pool->chunks;
		pool->chunks = c->next;
		free(c);
	}
}

/* ---- reader ---- */

/* APPEND literals up to this size stay in memory (mailbox names, flags,
 * small messages); larger ones go straight to a memfd. */
#define IMAP_APPEND_MEMORY_LITERAL 8192

void imap_reader_init(struct imap_reader *r, size_t max_line,
		      uint64_t max_append, bool literal_minus)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
	r->max_append = max_append;
	r->literal_minus = literal_minus;
	buf_init(&r->text, 0);
	r->state = IMAP_READER_LINE;
}

static void imap_reader_drop_literals(struct imap_reader *r)
{
	for (size_t i = 0; i < r->n_literals; i++) {
		buf_free(&r->literals[i].data);
		if (r->literals[i].fd >= 0)
			close(r->literals[i].fd);
	}
	free(r->literals);
	r->literals = NULL;
	r->n_literals = 0;
}

void imap_reader_reset(struct imap_reader *r)
{
	imap_reader_drop_literals(r);
	buf_reset(&r->text);
	/* Give back memory a huge command took. */
	if (r->text.cap > 65536) {
		buf_free(&r->text);
		buf_init(&r->text, 0);
	}
	r->segment_start = 0;
	r->counted = 0;
	r->lit_left = 0;
	r->is_append = false;
	if (r->state != IMAP_READER_FAILED &&
	    r->state != IMAP_READER_SKIP_LINE)
		r->state = IMAP_READER_LINE;
}

void imap_reader_deinit(struct imap_reader *r)
{
	imap_reader_drop_literals(r);
	buf_free(&r->text);
}

const char *imap_reader_text(const struct imap_reader *r, size_t *len_r)
{
	*len_r = r->text.len;
	return r->text.data != NULL ? r->text.data : "";
}

bool imap_reader_in_command(const struct imap_reader *r)
{
	return r->text.len > 0 || r->state == IMAP_READER_LITERAL;
}

static bool is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '"' && c != '\\' && c != '%' && c != '*' && c != '+';
}

/* The tag at the start of the command text, if there is a valid one. */
static void imap_reader_set_error_tag(struct imap_reader *r)
{
	size_t n = 0;
	while (n < r->text.len && n < IMAP_MAX_TAG_LENGTH &&
	       is_tag_char((unsigned char)r->text.data[n]))
		n++;
	if (n == 0 || (n < r->text.len && r->text.data[n] != ' ') ||
	    n == IMAP_MAX_TAG_LENGTH) {
		strcpy(r->err_tag, "*");
		return;
	}
	memcpy(r->err_tag, r->text.data, n);
	r->err_tag[n] = '\0';
}

static enum imap_read_result
imap_reader_error(struct imap_reader *r, enum imap_read_result res,
		  const char *resp, const char *text)
{
	imap_reader_set_error_tag(r);
	r->err_resp = resp;
	r->err_text = text;
	return res;
}

/* Is this command an APPEND? Looks at "tag SP name" in the text. */
static bool imap_reader_command_is_append(const struct imap_reader *r)
{
	const char *sp = memchr(r->text.data, ' ', r->text.len);
	if (sp == NULL)
		return false;
	size_t rest = r->text.len - (size_t)(sp + 1 - r->text.data);
	return rest >= 7 && strncasecmp(sp + 1, "APPEND ", 7) == 0;
}

/* A literal marker "{N}", "{N+}" or "~{N}" ends the segment? Returns 1 with
 * size and sync flag, 0 if there is none, -1 if it is malformed. */
static int imap_reader_find_marker(const char *seg, size_t len,
				   uint64_t *size_r, bool *sync_r)
{
	if (len < 3 || seg[len - 1] != '}')
		return 0;
	size_t end = len - 1;
	bool sync = true;
	*sync_r = true;
	if (seg[end - 1] == '+' || seg[end - 1] == '-') {
		/* '-' is not valid syntax, but clients reading LITERAL- may
		 * confuse the two; treat it as a bad literal. */
		if (seg[end - 1] == '-')
			return -1;
		sync = false;
		*sync_r = false;
		end--;
	}
	size_t start = end;
	while (start > 0 && isdigit((unsigned char)seg[start - 1]))
		start--;
	if (start == 0 || seg[start - 1] != '{')
		return 0;
	if (start == end || end - start > 10)
		return -1;
	uint64_t v = 0;
	for (size_t i = start; i < end; i++)
		v = v * 10 + (uint64_t)(seg[i] - '0');
	if (v > UINT32_MAX)
		return -1;
	*size_r = v;
	*sync_r = sync;
	return 1;
}

static int imap_literal_write(struct imap_literal *lit, const char *data,
			      size_t len)
{
	if (lit->fd < 0)
		return buf_append(&lit->data, data, len);
	while (len > 0) {
		ssize_t n = write(lit->fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A line segment ended (at LF, CR stripped). Either a literal follows or
 * the command is complete. */
static enum imap_read_result imap_reader_segment_done(struct imap_reader *r)
{
	const char *seg = r->text.data + r->segment_start;
	size_t seg_len = r->text.len - r->segment_start;
	uint64_t size = 0;
	bool sync = true;

	if (r->text.len == 0)
		return IMAP_READ_MORE;	/* empty line: ignored */
	int m = imap_reader_find_marker(seg, seg_len, &size, &sync);
	if (m == 0)
		return IMAP_READ_COMMAND;
	if (r->n_literals == 0)
		r->is_append = imap_reader_command_is_append(r);
	if (m < 0) {
		if (!sync)
			return imap_reader_error(r, IMAP_READ_FATAL, "BAD",
						 "Invalid literal size");
		return imap_reader_error(r, IMAP_READ_ERROR, "BAD",
					 "Invalid literal size");
	}
	if (!sync && r->literal_minus && size > IMAP_LITERAL_MINUS_MAX)
		return imap_reader_error(r, IMAP_READ_FATAL, "BAD",
			"[TOOBIG] Non-synchronizing literal too large");
	if (r->n_literals >= IMAP_MAX_LITERALS)
		return imap_reader_error(r, sync ? IMAP_READ_ERROR :
					 IMAP_READ_FATAL, "BAD",
					 "Too many literals");
	bool in_memory = true;
	if (r->is_append) {
		if (size > r->max_append)
			return imap_reader_error(r, sync ? IMAP_READ_ERROR :
				IMAP_READ_FATAL, "NO",
				"[TOOBIG] Mail size is larger than the "
				"maximum size allowed by server configuration");
		in_memory = size <= IMAP_APPEND_MEMORY_LITERAL &&
			    r->counted + size <= r->max_line;
	} else if (r->counted + seg_len + size > r->max_line) {
		return imap_reader_error(r, sync ? IMAP_READ_ERROR :
					 IMAP_READ_FATAL, "BAD",
					 "[TOOBIG] Literal too large");
	}
	int fd = -1;
	if (!in_memory) {
		fd = memfd_create("imap-literal", MFD_CLOEXEC);
		if (fd < 0)
			return imap_reader_error(r, IMAP_READ_FATAL, "NO",
				"[SERVERBUG] Internal error");
	}
	r->literals = xreallocarray(r->literals, r->n_literals + 1,
				    sizeof(*r->literals));
	struct imap_literal *lit = &r->literals[r->n_literals++];
	buf_init(&lit->data, 0);
	lit->fd = fd;
	lit->size = size;
	r->counted += seg_len + (in_memory ? size : 0);
	buf_append(&r->text, "\r\n", 2);
	r->lit_left = size;
	r->state = size > 0 ? IMAP_READER_LITERAL : IMAP_READER_LINE;
	r->segment_start = r->text.len;
	return sync ? IMAP_READ_CONTINUE : IMAP_READ_MORE;
}

enum imap_read_result imap_reader_feed(struct imap_reader *r,
				       const char *data, size_t len,
				       size_t *consumed_r)
{
	size_t pos = 0;
	enum imap_read_result res;

	while (pos < len) {
		switch (r->state) {
		case IMAP_READER_FAILED:
			*consumed_r = len;
			return IMAP_READ_MORE;
		case IMAP_READER_SKIP_LINE: {
			const char *lf = memchr(data + pos, '\n', len - pos);
			if (lf == NULL) {
				pos = len;
				break;
			}
			pos = (size_t)(lf - data) + 1;
			r->state = IMAP_READER_LINE;
			imap_reader_reset(r);
			break;
		}
		case IMAP_READER_LITERAL: {
			size_t n = len - pos;
			if (n > r->lit_left)
				n = (size_t)r->lit_left;
			struct imap_literal *lit =
				&r->literals[r->n_literals - 1];
			if (imap_literal_write(lit, data + pos, n) < 0) {
				r->state = IMAP_READER_FAILED;
				*consumed_r = pos;
				return imap_reader_error(r, IMAP_READ_FATAL,
					"NO", "[SERVERBUG] Internal error");
			}
			pos += n;
			r->lit_left -= n;
			if (r->lit_left == 0)
				r->state = IMAP_READER_LINE;
			break;
		}
		case IMAP_READER_LINE: {
			const char *lf = memchr(data + pos, '\n', len - pos);
			size_t n = lf != NULL ? (size_t)(lf - (data + pos)) :
				   len - pos;
			size_t seg_len = r->text.len - r->segment_start;
			if (r->counted + seg_len + n > r->max_line + 1) {
				/* +1: the CR of CRLF is not part of it. */
				if (r->text.len < 64)
					buf_append(&r->text, data + pos,
						   n < 64 ? n : 64);
				res = imap_reader_error(r, IMAP_READ_ERROR,
					"BAD", "Too long argument.");
				r->state = IMAP_READER_SKIP_LINE;
				*consumed_r = pos;
				return res;
			}
			buf_append(&r->text, data + pos, n);
			pos += n;
			if (lf == NULL)
				break;
			pos++;
			if (r->text.len > r->segment_start &&
			    r->text.data[r->text.len - 1] == '\r')
				r->text.data[--r->text.len] = '\0';
			res = imap_reader_segment_done(r);
			if (res == IMAP_READ_ERROR) {
				/* The client sent no literal: the command
				 * ended with this line. */
				imap_reader_reset(r);
			} else if (res == IMAP_READ_FATAL) {
				r->state = IMAP_READER_FAILED;
			}
			if (res != IMAP_READ_MORE) {
				*consumed_r = pos;
				return res;
			}
			break;
		}
		}
	}
	*consumed_r = pos;
	return IMAP_READ_MORE;
}

/* ---- parser ---- */

struct imap_parse {
	const char *p, *end;
	struct imap_literal *literals;
	size_t n_literals, next_literal;
	struct imap_pool *pool;
	const char *error;
};

struct arg_array {
	struct imap_arg *v;
	size_t n, cap;
};

static void arg_array_push(struct arg_array *a, const struct imap_arg *arg)
{
	if (a->n == a->cap) {
		a->cap = a->cap == 0 ? 8 : a->cap * 2;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = *arg;
}

static bool is_atom_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '"';
}

/* '[' opens a section in FETCH's "BODY[HEADER.FIELDS (A B)]<0.10>": when
 * a matching ']' follows on the same line, the whole section is part of
 * the atom, spaces and parentheses included. */
static const char *atom_bracket_end(const char *p, const char *end)
{
	int depth = 0;
	for (const char *q = p; q < end; q++) {
		if (*q == '\r' || *q == '\n' || *q == '\0' || *q == '"' ||
		    *q == '{')
			return NULL;
		if (*q == '[')
			depth++;
		else if (*q == ']' && --depth == 0)
			return q + 1;
		else if (depth > IMAP_MAX_LIST_DEPTH)
			return NULL;
	}
	return NULL;
}

static int parse_atom(struct imap_parse *ps, struct imap_arg *arg)
{
	const char *start = ps->p;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '[') {
			const char *e = atom_bracket_end(ps->p, ps->end);
			if (e != NULL) {
				ps->p = e;
				continue;
			}
		}
		if (!is_atom_char(c))
			break;
		ps->p++;
	}
	if (ps->p == start) {
		ps->error = *ps->p == '\0' ? "NUL characters not allowed" :
			    "Unexpected character in command";
		return -1;
	}
	if (ps->p < ps->end && *ps->p != ' ' && *ps->p != ')' &&
	    *ps->p != '\r') {
		ps->error = *ps->p == '\0' ? "NUL characters not allowed" :
			    "Unexpected character after atom";
		return -1;
	}
	arg->type = IMAP_ARG_ATOM;
	arg->len = (size_t)(ps->p - start);
	arg->str = imap_pool_strndup(ps->pool, start, arg->len);
	arg->fd = -1;
	return 0;
}

static int parse_quoted(struct imap_parse *ps, struct imap_arg *arg)
{
	struct buf b = BUF_INIT;
	ps->p++;
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;
		if (c == '\\') {
			if (ps->p == ps->end)
				break;
			c = *ps->p++;
		}
		if (c == '\0' || c == '\r' || c == '\n') {
			ps->error = c == '\0' ? "NUL characters not allowed" :
				    "CR/LF not allowed in quoted string";
			buf_free(&b);
			return -1;
		}
		buf_append_c(&b, c);
	}
	if (ps->p == ps->end) {
		ps->error = "Missing '\"'";
		buf_free(&b);
		return -1;
	}
	ps->p++;
	arg->type = IMAP_ARG_STRING;
	arg->len = b.len;
	arg->str = imap_pool_strndup(ps->pool, b.data != NULL ? b.data : "",
				     b.len);
	arg->fd = -1;
	buf_free(&b);
	return 0;
}

static int parse_literal(struct imap_parse *ps, struct imap_arg *arg)
{
	/* literal8 (RFC 3516, APPEND of BINARY content) may carry NULs. */
	bool literal8 = *ps->p == '~';
	if (literal8)
		ps->p++;
	const char *close = memchr(ps->p, '}', (size_t)(ps->end - ps->p));
	if (close == NULL || ps->end - close < 3 || close[1] != '\r' ||
	    close[2] != '\n' || ps->next_literal >= ps->n_literals) {
		ps->error = "Invalid literal";
		return -1;
	}
	struct imap_literal *lit = &ps->literals[ps->next_literal++];
	ps->p = close + 3;
	arg->type = IMAP_ARG_LITERAL;
	arg->fd = lit->fd;
	if (lit->fd >= 0) {
		arg->str = NULL;
		arg->len = (size_t)lit->size;
	} else {
		if (!literal8 &&
		    memchr(lit->data.data != NULL ? lit->data.data : "", '\0',
			   lit->data.len) != NULL) {
			ps->error = "NUL characters not allowed";
			return -1;
		}
		arg->len = lit->data.len;
		arg->str = imap_pool_strndup(ps->pool, lit->data.data != NULL ?
					     lit->data.data : "", arg->len);
	}
	return 0;
}

/* Arguments up to the end (depth 0) or the matching ')'. */
static int parse_list(struct imap_parse *ps, unsigned int depth,
		      struct imap_arg **args_r, size_t *count_r)
{
	struct arg_array a = { NULL, 0, 0 };
	bool need_space = false;

	for (;;) {
		if (ps->p == ps->end) {
			if (depth > 0) {
				ps->error = "Missing ')'";
				goto fail;
			}
			break;
		}
		char c = *ps->p;
		if (c == ')') {
			if (depth == 0) {
				ps->error = "Unexpected ')'";
				goto fail;
			}
			ps->p++;
			break;
		}
		if (need_space) {
			if (c != ' ') {
				ps->error = "Missing space between arguments";
				goto fail;
			}
			ps->p++;
			need_space = false;
			continue;
		}
		struct imap_arg arg;
		memset(&arg, 0, sizeof(arg));
		arg.fd = -1;
		if (c == '(') {
			if (depth + 1 > IMAP_MAX_LIST_DEPTH) {
				ps->error = "Too deep parenthesis nesting";
				goto fail;
			}
			ps->p++;
			arg.type = IMAP_ARG_LIST;
			if (parse_list(ps, depth + 1, &arg.list,
				       &arg.list_count) < 0)
				goto fail;
		} else if (c == '"') {
			if (parse_quoted(ps, &arg) < 0)
				goto fail;
		} else if (c == '{' || (c == '~' && ps->p + 1 < ps->end &&
					ps->p[1] == '{')) {
			if (parse_literal(ps, &arg) < 0)
				goto fail;
		} else if (c == ' ') {
			ps->error = "Double space in command";
			goto fail;
		} else {
			if (parse_atom(ps, &arg) < 0)
				goto fail;
		}
		arg_array_push(&a, &arg);
		need_space = true;
	}
	*count_r = a.n;
	*args_r = imap_pool_alloc(ps->pool, (a.n + 1) * sizeof(**args_r));
	if (a.n > 0)
		memcpy(*args_r, a.v, a.n * sizeof(**args_r));
	free(a.v);
	return 0;
fail:
	free(a.v);
	return -1;
}

int imap_parse_command(const char *text, size_t len,
		       struct imap_literal *literals, size_t n_literals,
		       struct imap_pool *pool, struct imap_command *cmd,
		       const char **error_r)
{
	struct imap_parse ps = {
		.p = text, .end = text + len, .literals = literals,
		.n_literals = n_literals, .pool = pool,
	};
	memset(cmd, 0, sizeof(*cmd));

	const char *t = text;
	while (t < ps.end && is_tag_char((unsigned char)*t))
		t++;
	if (t == text || t - text > IMAP_MAX_TAG_LENGTH ||
	    (t < ps.end && *t != ' ')) {
		*error_r = "Error in IMAP command received by server.";
		return -1;
	}
	cmd->tag = imap_pool_strndup(pool, text, (size_t)(t - text));
	if (t == ps.end) {
		*error_r = "Error in IMAP command received by server.";
		return -1;
	}
	const char *n = ++t;
	while (t < ps.end && isalnum((unsigned char)*t))
		t++;
	if (t == n || (t < ps.end && *t != ' ')) {
		*error_r = "Error in IMAP command received by server.";
		return -1;
	}
	cmd->name = imap_pool_strndup(pool, n, (size_t)(t - n));
	ps.p = t < ps.end ? t + 1 : t;
	if (t < ps.end && ps.p == ps.end) {
		/* "tag NAME " with a trailing space: lenient, as clients
		 * such as old Outlooks send it. */
		cmd->args = imap_pool_alloc(pool, sizeof(*cmd->args));
		return 0;
	}
	if (parse_list(&ps, 0, &cmd->args, &cmd->n_args) < 0) {
		*error_r = ps.error;
		return -1;
	}
	return 0;
}

bool imap_arg_is_astring(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_STRING ||
	       (arg->type == IMAP_ARG_LITERAL && arg->fd < 0);
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *atom)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, atom) == 0;
}

/* ---- sequence sets ---- */

static int seq_number(const char **p, uint32_t *n_r)
{
	if (**p == '*') {
		(*p)++;
		*n_r = IMAP_SEQ_STAR;
		return 0;
	}
	if (!isdigit((unsigned char)**p) || **p == '0')
		return -1;
	uint64_t v = 0;
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (uint64_t)(**p - '0');
		if (v > UINT32_MAX)
			return -1;
		(*p)++;
	}
	/* 4294967295 is a valid number (clients send "1:4294967295") but
	 * is '*' here; no UID reaches it, so one below names the same. */
	*n_r = v == UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)v;
	return 0;
}

int imap_seqset_parse(const char *s, struct imap_pool *pool,
		      struct imap_seq_range **ranges_r, size_t *count_r,
		      const char **error_r)
{
	size_t n = 1;
	for (const char *q = s; *q != '\0'; q++)
		n += *q == ',';
	if (n > IMAP_MAX_SEQSET_RANGES) {
		*error_r = "Too many ranges in sequence set";
		return -1;
	}
	struct imap_seq_range *r = imap_pool_alloc(pool, n * sizeof(*r));
	size_t count = 0;
	const char *p = s;
	for (;;) {
		uint32_t lo, hi;
		if (seq_number(&p, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == ':') {
			p++;
			if (seq_number(&p, &hi) < 0)
				goto bad;
		}
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		r[count].lo = lo;
		r[count].hi = hi;
		count++;
		if (*p == '\0')
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	*ranges_r = r;
	*count_r = count;
	return 0;
bad:
	*error_r = "Invalid messageset";
	return -1;
}
