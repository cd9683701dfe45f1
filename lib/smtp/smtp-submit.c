/* The submitter's front (smtp-client.h): settings, the one-time host
 * resolution, and the lifetime of one submission. The start is deferred
 * to the loop so a callback never runs inside smtp_submit(). */
#include "smtp-private.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

/* "host:port", "[v6]:port", "host" (port 25). */
static int smtp_split_host(const char *spec, char **host_r, char **port_r)
{
	const char *colon;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL)
			return -1;
		*host_r = xstrndup(spec + 1, (size_t)(end - spec - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			free(*host_r);
			return -1;
		}
	} else {
		colon = strrchr(spec, ':');
		*host_r = colon != NULL ? xstrndup(spec, (size_t)(colon - spec)) :
			xstrdup(spec);
	}
	*port_r = xstrdup(colon != NULL && colon[1] != '\0' ? colon + 1 : "25");
	return 0;
}

static int smtp_resolve(struct smtp_submitter *sub, const char *spec,
			char **error_r)
{
	char *host, *port;
	if (smtp_split_host(spec, &host, &port) < 0 || host[0] == '\0') {
		*error_r = xasprintf("submission_host %s: invalid host", spec);
		return -1;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0) {
		*error_r = xasprintf("submission_host %s: %s", spec,
				     gai_strerror(ret));
	} else {
		for (struct addrinfo *ai = res; ai != NULL &&
		     sub->n_addrs < SMTP_MAX_ADDRS; ai = ai->ai_next) {
			if (ai->ai_addrlen > sizeof(sub->addrs[0]))
				continue;
			memcpy(&sub->addrs[sub->n_addrs], ai->ai_addr,
			       ai->ai_addrlen);
			sub->addr_lens[sub->n_addrs++] = ai->ai_addrlen;
		}
		freeaddrinfo(res);
	}
	free(host);
	free(port);
	return ret == 0 ? 0 : -1;
}

struct smtp_submitter *smtp_submitter_new(struct loop *loop,
					  const struct smtp_submit_settings *set,
					  char **error_r)
{
	struct smtp_submitter *sub = xcalloc(1, sizeof(*sub));
	sub->loop = loop;
	sub->timeout_msecs = set->timeout_msecs != 0 ? set->timeout_msecs :
		SMTP_DEFAULT_TIMEOUT_MSECS;
	sub->helo_name = xstrdup(set->helo_name != NULL &&
				 set->helo_name[0] != '\0' ?
				 set->helo_name : "localhost");
	const char *host = set->submission_host;
	const char *path = set->sendmail_path;
	if (host != NULL && host[0] != '\0') {
		sub->use_smtp = true;
		sub->description = xasprintf("smtp %s", host);
		if (smtp_resolve(sub, host, error_r) < 0) {
			smtp_submitter_free(&sub);
			return NULL;
		}
	} else if (path != NULL && path[0] == '/') {
		sub->sendmail_path = xstrdup(path);
		sub->description = xasprintf("sendmail %s", path);
	} else {
		*error_r = xstrdup("neither submission_host nor an absolute "
				   "sendmail_path is set");
		smtp_submitter_free(&sub);
		return NULL;
	}
	return sub;
}

void smtp_submitter_free(struct smtp_submitter **_sub)
{
	struct smtp_submitter *sub = *_sub;
	if (sub == NULL)
		return;
	*_sub = NULL;
	free(sub->sendmail_path);
	free(sub->helo_name);
	free(sub->description);
	free(sub);
}

const char *smtp_submitter_describe(const struct smtp_submitter *sub)
{
	return sub->description;
}

static void smtp_submit_begin(struct loop_timer *t, void *ctx)
{
	struct smtp_submit *s = ctx;
	(void)t;
	loop_timer_remove(&s->timer);
	if (s->sub->use_smtp)
		smtp_client_start(s);
	else
		smtp_sendmail_start(s);
}

struct smtp_submit *smtp_submit(struct smtp_submitter *sub,
				const char *mail_from,
				const char *const *rcpts, size_t n_rcpts,
				const void *msg, size_t len,
				smtp_submit_cb *cb, void *ctx)
{
	struct smtp_submit *s = xcalloc(1, sizeof(*s));
	s->sub = sub;
	s->cb = cb;
	s->ctx = ctx;
	s->mail_from = xstrdup(mail_from);
	s->rcpts = xcalloc(n_rcpts + 1, sizeof(*s->rcpts));
	for (size_t i = 0; i < n_rcpts; i++)
		s->rcpts[i] = xstrdup(rcpts[i]);
	s->n_rcpts = n_rcpts;
	s->msg = xmalloc(len + 1);
	memcpy(s->msg, msg, len);
	s->msg[len] = '\0';
	s->len = len;
	for (size_t i = 0; i < len && !s->msg_8bit; i++)
		s->msg_8bit = (unsigned char)s->msg[i] >= 0x80;
	s->fd = s->pidfd = s->in_fd = s->err_fd = -1;
	smtp_reply_init(&s->reply);
	buf_init(&s->err, SMTP_SENDMAIL_ERR_MAX);
	s->timer = loop_timer_add(sub->loop, 0, false, smtp_submit_begin, s);
	return s;
}

void smtp_submit_destroy(struct smtp_submit *s)
{
	loop_timer_remove(&s->timer);
	smtp_client_cleanup(s);
	smtp_sendmail_cleanup(s);
	smtp_reply_free(&s->reply);
	buf_free(&s->err);
	for (size_t i = 0; i < s->n_rcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	free(s->mail_from);
	free(s->msg);
	free(s->connect_error);
	free(s);
}

void smtp_submit_finish(struct smtp_submit *s, enum smtp_status status,
			const char *error)
{
	smtp_submit_cb *cb = s->cb;
	void *ctx = s->ctx;
	char *err = error != NULL ? xstrdup(error) : NULL;
	smtp_submit_destroy(s);
	cb(ctx, status, err);
	free(err);
}

void smtp_submit_abort(struct smtp_submit **s)
{
	if (*s == NULL)
		return;
	smtp_submit_destroy(*s);
	*s = NULL;
}
