/* vacation and vacation-seconds (RFC 5230, RFC 6131) with the RFC 3834
 * rules for automatic replies. The decision is a pure function over the
 * message callbacks and the tracking store, so it is testable without
 * mail and callable by the delivery side on its own; the command only
 * computes the reply's fields and the tracking mark committed after the
 * reply was sent. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

#define DAY (24 * 3600)

static const char *first_header(const struct sieve_message_ops *msg,
				void *ctx, const char *name)
{
	const char *const *v = NULL;
	size_t n = 0;

	if (msg->header != NULL)
		msg->header(ctx, name, &v, &n);
	return n > 0 ? v[0] : NULL;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	return len >= sl && strncasecmp(s + len - sl, suffix, sl) == 0;
}

/* Senders that are programs, not people (RFC 3834 section 2 and the
 * list/daemon addresses Pigeonhole also refuses). */
static bool daemon_sender(const char *sender)
{
	const char *at = strrchr(sender, '@');
	size_t len = at != NULL ? (size_t)(at - sender) : strlen(sender);

	return (len == 13 && strncasecmp(sender, "mailer-daemon", 13) == 0) ||
	       (len == 8 && strncasecmp(sender, "listserv", 8) == 0) ||
	       (len == 9 && strncasecmp(sender, "majordomo", 9) == 0) ||
	       strncasecmp(sender, "owner-", 6) == 0 ||
	       ends_with(sender, len, "-request") ||
	       ends_with(sender, len, "-owner") ||
	       ends_with(sender, len, "-bounces");
}

static bool addr_in(const char *addr, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] != NULL && strcasecmp(addr, list[i]) == 0)
			return true;
	}
	return false;
}

static bool is_me(const char *addr, const struct sieve_env *env,
		  const char *rcpt, const char *const *extra, size_t n_extra)
{
	return (rcpt != NULL && strcasecmp(addr, rcpt) == 0) ||
	       addr_in(addr, env->user_addresses, env->n_user_addresses) ||
	       addr_in(addr, extra, n_extra);
}

bool sieve_vacation_should_reply(const struct sieve_message_ops *msg,
				 void *msg_ctx, const struct sieve_env *env,
				 const char *sender,
				 const char *const *addresses, size_t n_addresses,
				 const char *tracking_key, time_t now,
				 const char **why_r)
{
	static const char *const list_headers[] = {
		"list-id", "list-post", "list-help", "list-subscribe",
		"list-unsubscribe", "list-owner", "list-archive", NULL
	};
	static const char *const rcpt_headers[] = {
		"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc", NULL
	};
	const char *rcpt = msg->envelope != NULL ?
			   msg->envelope(msg_ctx, "to") : NULL;
	const char *h;
	bool addressed = false;

	if (sender == NULL || *sender == '\0' || strcmp(sender, "<>") == 0) {
		*why_r = "the sender is the null address";
		return false;
	}
	if (daemon_sender(sender)) {
		*why_r = "the sender is a daemon or mailing list address";
		return false;
	}
	h = first_header(msg, msg_ctx, "auto-submitted");
	if (h != NULL) {
		while (isspace((unsigned char)*h))
			h++;
		if (strncasecmp(h, "no", 2) != 0 ||
		    isalnum((unsigned char)h[2]) || h[2] == '-') {
			*why_r = "the message is auto-submitted";
			return false;
		}
	}
	h = first_header(msg, msg_ctx, "precedence");
	if (h != NULL && (strcasestr(h, "bulk") != NULL ||
			  strcasestr(h, "list") != NULL ||
			  strcasestr(h, "junk") != NULL)) {
		*why_r = "the message has Precedence: bulk, list or junk";
		return false;
	}
	for (size_t i = 0; list_headers[i] != NULL; i++) {
		if (first_header(msg, msg_ctx, list_headers[i]) != NULL) {
			*why_r = "the message came from a mailing list";
			return false;
		}
	}
	h = first_header(msg, msg_ctx, "x-auto-response-suppress");
	if (h != NULL && (strcasestr(h, "oof") != NULL ||
			  strcasestr(h, "all") != NULL)) {
		*why_r = "the sender suppressed auto responses";
		return false;
	}
	if (is_me(sender, env, rcpt, addresses, n_addresses)) {
		*why_r = "the sender is the recipient";
		return false;
	}
	/* RFC 5230 4.5: reply only when one of our addresses is a visible
	 * recipient, so Bcc'd list traffic gets no reply. */
	for (size_t i = 0; rcpt_headers[i] != NULL && !addressed; i++) {
		struct sieve_arena *arena = sieve_arena_new();
		const char *const *v = NULL;
		size_t n = 0;

		if (msg->header != NULL)
			msg->header(msg_ctx, rcpt_headers[i], &v, &n);
		for (size_t j = 0; j < n && !addressed; j++) {
			char **addrs;
			size_t na = sieve_address_parse_list(arena, v[j],
							     &addrs);

			for (size_t k = 0; k < na && !addressed; k++)
				addressed = is_me(addrs[k], env, rcpt,
						  addresses, n_addresses);
		}
		sieve_arena_free(&arena);
	}
	if (!addressed) {
		*why_r = "the recipient is not among To/Cc/Bcc";
		return false;
	}
	if (tracking_key != NULL && env->tracking != NULL &&
	    env->tracking->seen(env->tracking_ctx, tracking_key, now)) {
		*why_r = "already replied to this sender within the period";
		return false;
	}
	*why_r = NULL;
	return true;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h * 0x100000001b3ULL;
}

void sieve_cmd_vacation(struct sieve_run *run, const struct sieve_node *n)
{
	const struct sieve_env *env = run->env;
	const char *reason = sieve_run_expand(run, n->pos[0]->strs[0]);
	const struct sieve_arg *a;
	const char *subject = NULL, *from = NULL, *handle = NULL, *why;
	const char *sender;
	char **addrs = NULL, *key;
	size_t n_addrs = 0;
	unsigned int minp = env->vacation_min_period != 0 ?
			    env->vacation_min_period : DAY;
	uint64_t period = env->vacation_default_period != 0 ?
			  env->vacation_default_period : 7 * DAY;
	struct sieve_action *act;
	bool mime = (n->tagmask & (1ULL << TAG_MIME)) != 0;

	if ((a = sieve_node_tag(n, TAG_DAYS)) != NULL)
		period = a->num > 100000 ? 100000ULL * DAY : a->num * DAY;
	if ((a = sieve_node_tag(n, TAG_SECONDS)) != NULL)
		period = a->num;
	if (period < minp)
		period = minp;
	if (env->vacation_max_period != 0 && period > env->vacation_max_period)
		period = env->vacation_max_period;
	if ((a = sieve_node_tag(n, TAG_SUBJECT)) != NULL)
		subject = sieve_run_expand(run, a->strs[0]);
	if ((a = sieve_node_tag(n, TAG_FROM)) != NULL) {
		from = sieve_run_expand(run, a->strs[0]);
		if (!sieve_address_valid(from)) {
			sieve_run_fail(run, "vacation: invalid :from address");
			return;
		}
	}
	if ((a = sieve_node_tag(n, TAG_HANDLE)) != NULL)
		handle = sieve_run_expand(run, a->strs[0]);
	if ((a = sieve_node_tag(n, TAG_ADDRESSES)) != NULL)
		n_addrs = sieve_run_expand_list(run, a, &addrs);

	sender = run->ops->envelope != NULL ?
		 run->ops->envelope(run->msg_ctx, "from") : NULL;
	if (sender != NULL && sender[0] == '<') {
		size_t len = strlen(sender);

		sender = sieve_arena_strndup(run->arena, sender + 1,
					     len >= 2 ? len - 2 : 0);
	}
	/* Without :handle, the reply's content identifies it (RFC 5230
	 * 4.2), so a changed text answers a sender again. */
	key = xasprintf("vacation/%016llx/%s", (unsigned long long)
			(handle != NULL ? fnv1a(0xcbf29ce484222325ULL, handle) :
			 fnv1a(fnv1a(fnv1a(0xcbf29ce484222325ULL, reason),
				     subject), from) ^ (mime ? 1 : 0)),
			sender != NULL ? sender : "");
	for (char *c = key; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!sieve_vacation_should_reply(run->ops, run->msg_ctx, env, sender,
					 (const char *const *)addrs, n_addrs,
					 key, run->now, &why)) {
		free(key);
		return;
	}
	act = sieve_action_add(run, SIEVE_ACT_VACATION);
	if (act == NULL) {
		free(key);
		return;
	}
	if (subject == NULL) {
		const char *orig = NULL;
		const char *const *v;
		size_t nv;

		sieve_run_header(run, "subject", &v, &nv);
		if (nv > 0)
			orig = v[0];
		subject = orig != NULL ?
			sieve_arena_strdup(run->arena, "Auto: ") : "Automated reply";
		if (orig != NULL) {
			char *s = xasprintf("Auto: %s", orig);

			subject = sieve_arena_strdup(run->arena, s);
			free(s);
		}
	}
	act->vacation.to = sender;
	act->vacation.from = from;
	act->vacation.subject = subject;
	act->vacation.reason = reason;
	act->vacation.mime = mime;
	act->vacation.period_secs = (unsigned int)period;
	{
		const char *const *v;
		size_t nv;

		sieve_run_header(run, "message-id", &v, &nv);
		act->vacation.in_reply_to = nv > 0 ? v[0] : NULL;
	}
	sieve_run_mark(run, key, run->now + (time_t)period);
	free(key);
}
