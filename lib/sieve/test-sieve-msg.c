/* Test message and tracking store; see test-sieve-msg.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "test-sieve-msg.h"

void test_msg_init(struct test_msg *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	memset(m, 0, sizeof(*m));
	m->size = len;
	m->env_from = "sender@example.org";
	m->env_to = "user1@example.com";
	m->now = 1700000000;	/* 2023-11-14T22:13:20Z */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t llen = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		const char *colon;

		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (llen == 0) {
			p = eol != NULL ? eol + 1 : end;
			break;
		}
		if ((*p == ' ' || *p == '\t') && m->n > 0) {
			/* continuation: unfold into the previous value */
			char *prev = m->values[m->n - 1];
			char *joined = xasprintf("%s%.*s", prev, (int)llen, p);

			free(prev);
			m->values[m->n - 1] = joined;
		} else if ((colon = memchr(p, ':', llen)) != NULL) {
			const char *v = colon + 1;

			while (v < p + llen && (*v == ' ' || *v == '\t'))
				v++;
			m->names = xreallocarray(m->names, m->n + 1,
						 sizeof(char *));
			m->values = xreallocarray(m->values, m->n + 1,
						  sizeof(char *));
			m->names[m->n] = xstrndup(p, (size_t)(colon - p));
			m->values[m->n] = xstrndup(v, (size_t)(p + llen - v));
			m->n++;
		}
		p = eol != NULL ? eol + 1 : end;
	}
	m->body = xstrndup(p, (size_t)(end - p));
	m->text = xmalloc(len + 1);
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	sieve_body_init(&m->sbody, m->text, len);
	m->scratch = xcalloc(m->n + 1, sizeof(char *));
}

void test_msg_deinit(struct test_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->names[i]);
		free(m->values[i]);
	}
	for (size_t i = 0; i < m->n_keys; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->expiry);
	free(m->names);
	free(m->values);
	free(m->body);
	sieve_body_deinit(&m->sbody);
	free(m->text);
	free(m->scratch);
}

/* Each lookup gets its own slice of a per-message pool so earlier
 * results stay valid during the run: values point into m->values. */
static void msg_header(void *ctx, const char *name,
		       const char *const **values_r, size_t *count_r)
{
	struct test_msg *m = ctx;
	const char **out = xcalloc(m->n + 1, sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (strcasecmp(m->names[i], name) == 0)
			out[n++] = m->values[i];
	}
	/* Keep the array alive until the message is freed. */
	m->keys = xreallocarray(m->keys, m->n_keys + 1, sizeof(char *));
	m->expiry = xreallocarray(m->expiry, m->n_keys + 1, sizeof(time_t));
	m->keys[m->n_keys] = (char *)out;
	m->expiry[m->n_keys++] = -1;	/* not a tracking key */
	*values_r = out;
	*count_r = n;
}

static const char *msg_envelope(void *ctx, const char *part)
{
	struct test_msg *m = ctx;

	if (strcmp(part, "from") == 0)
		return m->env_from;
	if (strcmp(part, "to") == 0)
		return m->env_to;
	return NULL;
}

static uint64_t msg_size(void *ctx)
{
	return ((struct test_msg *)ctx)->size;
}

static void msg_body(void *ctx, enum sieve_body_transform tr,
		     const char *const *types, size_t n_types,
		     const char *const **parts_r, size_t *count_r)
{
	struct test_msg *m = ctx;

	sieve_body_get(&m->sbody, tr, types, n_types, parts_r, count_r);
}

static time_t msg_now(void *ctx)
{
	return ((struct test_msg *)ctx)->now;
}

const struct sieve_message_ops test_msg_ops = {
	.header = msg_header,
	.envelope = msg_envelope,
	.size = msg_size,
	.body = msg_body,
	.now = msg_now,
};

static bool track_seen(void *ctx, const char *key, time_t now)
{
	struct test_msg *m = ctx;

	for (size_t i = 0; i < m->n_keys; i++) {
		if (m->expiry[i] != -1 && strcmp(m->keys[i], key) == 0 &&
		    m->expiry[i] > now)
			return true;
	}
	return false;
}

static void track_mark(void *ctx, const char *key, time_t expires)
{
	struct test_msg *m = ctx;

	m->keys = xreallocarray(m->keys, m->n_keys + 1, sizeof(char *));
	m->expiry = xreallocarray(m->expiry, m->n_keys + 1, sizeof(time_t));
	m->keys[m->n_keys] = xstrdup(key);
	m->expiry[m->n_keys++] = expires;
}

const struct sieve_tracking_ops test_tracking_ops = {
	.seen = track_seen,
	.mark = track_mark,
};

char *test_result_format(const struct sieve_result *r)
{
	struct buf b;

	buf_init(&b, 0);
	if (r->status == SIEVE_EXEC_FAILED)
		buf_append_str(&b, "error\n");
	for (size_t i = 0; i < r->n_actions; i++) {
		const struct sieve_action *a = &r->actions[i];

		buf_append_str(&b, sieve_action_name(a->type));
		switch (a->type) {
		case SIEVE_ACT_FILEINTO:
			buf_printf(&b, " %s", a->mailbox);
			break;
		case SIEVE_ACT_REDIRECT:
			buf_printf(&b, " %s", a->address);
			break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
			buf_printf(&b, " %s", a->reason);
			break;
		case SIEVE_ACT_VACATION:
			buf_printf(&b, " to=%s subject=%s", a->vacation.to,
				   a->vacation.subject);
			break;
		case SIEVE_ACT_ADDHEADER:
		case SIEVE_ACT_DELETEHEADER:
			buf_printf(&b, " %s: %s", a->header_name,
				   a->header_value);
			break;
		default:
			break;
		}
		if (a->copy)
			buf_append_str(&b, " :copy");
		if (a->create)
			buf_append_str(&b, " :create");
		if (a->implicit)
			buf_append_str(&b, " (implicit)");
		for (size_t f = 0; f < a->n_flags; f++)
			buf_printf(&b, "%s%s", f == 0 ? " flags=" : ",",
				   a->flags[f]);
		buf_append_c(&b, '\n');
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
}
