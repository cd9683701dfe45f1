/* POP3 parsing and the RETR/TOP transform (see pop3-parser.h). */
#include "pop3-parser.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum pop3_verb verb;
} pop3_verbs[] = {
	{ "USER", POP3_CMD_USER }, { "PASS", POP3_CMD_PASS },
	{ "AUTH", POP3_CMD_AUTH }, { "APOP", POP3_CMD_APOP },
	{ "STAT", POP3_CMD_STAT }, { "LIST", POP3_CMD_LIST },
	{ "RETR", POP3_CMD_RETR }, { "DELE", POP3_CMD_DELE },
	{ "NOOP", POP3_CMD_NOOP }, { "RSET", POP3_CMD_RSET },
	{ "QUIT", POP3_CMD_QUIT }, { "TOP", POP3_CMD_TOP },
	{ "UIDL", POP3_CMD_UIDL }, { "CAPA", POP3_CMD_CAPA },
	{ "LAST", POP3_CMD_LAST }, { "STLS", POP3_CMD_STLS },
	{ "XCLIENT", POP3_CMD_XCLIENT },
};

int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd_r)
{
	memset(cmd_r, 0, sizeof(*cmd_r));
	if (memchr(line, '\0', len) != NULL)
		return -1;
	char *sp = memchr(line, ' ', len);
	if (sp != NULL) {
		*sp = '\0';
		cmd_r->args = sp + 1;
	} else {
		cmd_r->args = line + len;
	}
	for (size_t i = 0; i < sizeof(pop3_verbs) / sizeof(pop3_verbs[0]);
	     i++) {
		if (strcasecmp(line, pop3_verbs[i].name) == 0) {
			cmd_r->verb = pop3_verbs[i].verb;
			break;
		}
	}
	return 0;
}

int pop3_parse_uint(const char *s, uint64_t *r)
{
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '\0')
		return -1;
	*r = v;
	return 0;
}

int pop3_parse_msgnum(const char *s, unsigned int max, unsigned int *num_r)
{
	uint64_t v;
	if (pop3_parse_uint(s, &v) < 0 || v == 0 || v > max)
		return -1;
	*num_r = (unsigned int)v;
	return 0;
}

void pop3_xfer_init(struct pop3_xfer *x)
{
	x->in_header = true;
	x->line_start = true;
	x->prev_cr = false;
	x->header_line_empty = true;
	x->body_lines = 0;
	x->done = false;
}

/* One line ended (CRLF written). */
static void pop3_xfer_eol(struct pop3_xfer *x, struct buf *out)
{
	buf_append(out, "\r\n", 2);
	if (x->in_header) {
		if (x->header_line_empty)
			x->in_header = false;
	} else if (x->top) {
		x->body_lines++;
	}
	x->line_start = true;
	x->header_line_empty = true;
	if (x->top && !x->in_header && x->body_lines >= x->max_body_lines)
		x->done = true;
}

/* The length of the run at data[0..len) holding no line end (and no NUL
 * when NULs are rewritten): such a run goes out in one append, which is
 * what keeps RETR from costing a call per byte. */
static size_t pop3_xfer_run(const struct pop3_xfer *x, const char *data,
			    size_t len)
{
	size_t i = 0;
	if (x->nul_to_0x80) {
		while (i < len && data[i] != '\r' && data[i] != '\n' &&
		       data[i] != '\0')
			i++;
		return i;
	}
	while (i < len && data[i] != '\r' && data[i] != '\n')
		i++;
	return i;
}

/* The length of the whole lines at the start of data that go out as
 * they are: CRLF-terminated, no other CR, not starting with '.'. A RETR
 * of a CRLF message is then one append per chunk instead of three calls
 * per line (pop3_xfer_feed was a quarter of svc-pop3 at 40 KB messages,
 * bench/PROFILE-lmtp-pop3.md). Keeps in_header for add_eoh. */
static size_t pop3_xfer_clean_lines(struct pop3_xfer *x, const char *data,
				    size_t len)
{
	size_t i = 0;
	while (i < len && data[i] != '.') {
		const char *lf = memchr(data + i, '\n', len - i);
		if (lf == NULL)
			break;
		size_t n = (size_t)(lf - (data + i));	/* bytes before LF */
		if (n == 0 || data[i + n - 1] != '\r' ||
		    (n > 1 && memchr(data + i, '\r', n - 1) != NULL))
			break;		/* a bare LF or CR: the slow path */
		if (n == 1)
			x->in_header = false;	/* the empty line */
		i += n + 1;
	}
	return i;
}

void pop3_xfer_feed(struct pop3_xfer *x, const char *data, size_t len,
		    struct buf *out)
{
	size_t i = 0;
	while (i < len && !x->done) {
		if (x->line_start && !x->prev_cr && !x->top &&
		    !x->nul_to_0x80) {
			size_t n = pop3_xfer_clean_lines(x, data + i, len - i);
			if (n > 0) {
				buf_append(out, data + i, n);
				i += n;
				continue;
			}
		}
		char c = data[i];
		if (x->prev_cr) {
			x->prev_cr = false;
			/* CR then anything: the CR ended a line */
			pop3_xfer_eol(x, out);
			if (c == '\n') {
				i++;
				continue;
			}
			if (x->done)
				break;
		}
		if (c == '\r') {
			x->prev_cr = true;
			i++;
			continue;
		}
		if (c == '\n') {
			pop3_xfer_eol(x, out);
			i++;
			continue;
		}
		if (x->line_start && c == '.')
			buf_append_c(out, '.');
		if (c == '\0' && x->nul_to_0x80) {
			buf_append_c(out, (char)0x80);
			i++;
		} else {
			size_t n = pop3_xfer_run(x, data + i, len - i);
			buf_append(out, data + i, n);
			i += n;
		}
		x->line_start = false;
		x->header_line_empty = false;
	}
}

void pop3_xfer_finish(struct pop3_xfer *x, struct buf *out)
{
	if (x->prev_cr) {
		x->prev_cr = false;
		if (!x->done)
			pop3_xfer_eol(x, out);
	}
	if (x->done)
		return;
	if (!x->line_start)
		pop3_xfer_eol(x, out);
	if (x->in_header && x->add_eoh)
		buf_append(out, "\r\n", 2);
}

uint64_t pop3_wire_size(const char *data, size_t len)
{
	/* The message with CRLF line ends, before dot-stuffing: what
	 * Dovecot calls the virtual size. */
	uint64_t size = 0;
	bool pending_cr = false;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (c == '\r') {
			if (pending_cr)
				size += 2;
			pending_cr = true;
			continue;
		}
		if (pending_cr || c == '\n') {
			size += 2;
			bool was_cr = pending_cr;
			pending_cr = false;
			if (c == '\n' || !was_cr)
				continue;
		}
		size++;
	}
	if (pending_cr)
		size += 2;
	return size;
}
