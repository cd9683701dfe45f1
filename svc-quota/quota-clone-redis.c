/* quota_clone into Redis: `quota_clone_dict = redis:host=H:port=P[:...]`
 * (Dovecot's dict URI). Writes go through hiredis' async API on our one
 * loop (a small adapter below) and never hold an answer to a saver.
 *
 * Keys: Dovecot's quota_clone writes the private dict keys
 * priv/quota/storage and priv/quota/messages; Dovecot's Redis dict stores
 * a priv/ key as <prefix><username>/<rest>, so user1@example.com's
 * storage lands in "user1@example.com/quota/storage" (decimal bytes).
 *
 * Redis down: each change keeps the user's newest values pending (one
 * entry per user, bounded); the next change tries to connect again and
 * then writes every pending user's current values. Nothing retries on its
 * own, as in Dovecot, and a failure is logged once per outage. */
#include "quota-clone-redis.h"
#include "buf.h"
#include "log.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_DEFAULT_PORT 6379
#define REDIS_DEFAULT_TIMEOUT_MS 30000	/* Dovecot's timeout_msecs default */
#define REDIS_MAX_PENDING 10000		/* users waiting for Redis to return */

struct redis_pending {
	char *user;
	uint64_t bytes, messages;
	uint64_t seq;		/* bumped by each change */
	uint64_t sent_seq;	/* the seq written on this connection */
	struct redis_pending *next;
};

/* One SET's private data: which user and which change it carries. */
struct redis_write {
	struct quota_redis *r;
	char *user;
	uint64_t seq;
	bool last;		/* the second SET of the pair */
};

struct quota_redis {
	struct loop *loop;
	uint64_t *writes_counter;
	char *host, *path, *prefix, *password, *label;
	int port;
	unsigned int db, expire_secs, timeout_ms;
	redisAsyncContext *ac;
	bool connected, down_logged;
	struct loop_io *io;
	uint32_t events;
	struct loop_timer *timeout;
	unsigned int outstanding;	/* commands without a reply yet */
	struct redis_pending *pending;
	size_t n_pending;
	uint64_t next_seq;
};

/* ---- the hiredis adapter onto lib/core/loop ---- */

static void redis_io(struct loop_io *io, uint32_t events, void *ctx)
{
	struct quota_redis *r = ctx;
	(void)io;
	/* Each call may free the context (and this watcher) on error. */
	if (r->ac != NULL && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0)
		redisAsyncHandleRead(r->ac);
	if (r->ac != NULL && (events & (EPOLLOUT | EPOLLERR)) != 0)
		redisAsyncHandleWrite(r->ac);
}

static void redis_set_events(struct quota_redis *r, uint32_t events)
{
	r->events = events;
	if (r->io == NULL && r->ac != NULL)
		r->io = loop_io_add(r->loop, r->ac->c.fd, events, redis_io, r);
	else if (r->io != NULL)
		loop_io_set_events(r->io, events);
}

static void redis_add_read(void *p)
{
	struct quota_redis *r = p;
	redis_set_events(r, r->events | EPOLLIN);
}

static void redis_del_read(void *p)
{
	struct quota_redis *r = p;
	redis_set_events(r, r->events & ~(uint32_t)EPOLLIN);
}

static void redis_add_write(void *p)
{
	struct quota_redis *r = p;
	redis_set_events(r, r->events | EPOLLOUT);
}

static void redis_del_write(void *p)
{
	struct quota_redis *r = p;
	redis_set_events(r, r->events & ~(uint32_t)EPOLLOUT);
}

static void redis_cleanup(void *p)
{
	struct quota_redis *r = p;
	loop_io_remove(&r->io);
	r->events = 0;
}

/* ---- connection state ---- */

static void redis_log_down(struct quota_redis *r, const char *what,
			   const char *error)
{
	if (r->down_logged)
		return;
	r->down_logged = true;
	log_error(NULL, "quota_clone: %s: %s: %s (usage is written again "
		  "with the next change after it returns)", r->label, what,
		  error);
}

/* The context is gone (hiredis frees it after these callbacks): what was
 * sent but not confirmed is written again on the next connection. */
static void redis_lost(struct quota_redis *r)
{
	r->ac = NULL;
	r->connected = false;
	r->outstanding = 0;
	loop_timer_remove(&r->timeout);
	for (struct redis_pending *p = r->pending; p != NULL; p = p->next)
		p->sent_seq = 0;
}

static void redis_timeout(struct loop_timer *t, void *ctx)
{
	struct quota_redis *r = ctx;
	(void)t;
	loop_timer_remove(&r->timeout);
	redis_log_down(r, r->connected ? "no reply" : "connect",
		       "timed out");
	redisAsyncContext *ac = r->ac;
	redis_lost(r);
	if (ac != NULL)
		redisAsyncFree(ac);	/* calls back with NULL replies */
}

static void redis_arm_timeout(struct quota_redis *r)
{
	if (r->timeout == NULL)
		r->timeout = loop_timer_add(r->loop, r->timeout_ms, false,
					    redis_timeout, r);
	else
		loop_timer_reset(r->timeout);
}

static void redis_disconnected(const redisAsyncContext *ac, int status)
{
	struct quota_redis *r = ac->ev.data;
	if (status != REDIS_OK)
		redis_log_down(r, "connection lost", ac->errstr);
	redis_lost(r);
}

/* ---- writes ---- */

static struct redis_pending *redis_pending_find(struct quota_redis *r,
						const char *user)
{
	for (struct redis_pending *p = r->pending; p != NULL; p = p->next) {
		if (strcmp(p->user, user) == 0)
			return p;
	}
	return NULL;
}

static void redis_pending_remove(struct quota_redis *r,
				 struct redis_pending *rm)
{
	for (struct redis_pending **p = &r->pending; *p; p = &(*p)->next) {
		if (*p == rm) {
			*p = rm->next;
			r->n_pending--;
			free(rm->user);
			free(rm);
			return;
		}
	}
}

/* A reply arrived: the no-reply timeout restarts or stops. */
static void redis_got_reply(struct quota_redis *r)
{
	if (r->outstanding > 0)
		r->outstanding--;
	if (r->outstanding == 0)
		loop_timer_remove(&r->timeout);
	else
		redis_arm_timeout(r);
}

static void redis_reply(redisAsyncContext *ac, void *reply_v, void *priv)
{
	struct redis_write *w = priv;
	struct quota_redis *r = w->r;
	redisReply *reply = reply_v;
	(void)ac;
	if (reply != NULL)
		redis_got_reply(r);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		log_error(&(struct log_ctx){ .user = w->user },
			  "quota_clone: %s: %s", r->label, reply->str);
	} else if (reply != NULL && w->last) {
		struct redis_pending *p = redis_pending_find(r, w->user);
		/* A newer change may have been queued meanwhile: keep it. */
		if (p != NULL && p->seq == w->seq)
			redis_pending_remove(r, p);
		(*r->writes_counter)++;
	}
	free(w->user);
	free(w);
}

static void redis_set(struct quota_redis *r, const struct redis_pending *p,
		      const char *name, uint64_t value, bool last)
{
	struct redis_write *w = xcalloc(1, sizeof(*w));
	w->r = r;
	w->user = xstrdup(p->user);
	w->seq = p->seq;
	w->last = last;
	char *key = xasprintf("%s%s/quota/%s", r->prefix, p->user, name);
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	int ret;
	if (r->expire_secs != 0)
		ret = redisAsyncCommand(r->ac, redis_reply, w, "SET %s %s EX %u",
					key, num, r->expire_secs);
	else
		ret = redisAsyncCommand(r->ac, redis_reply, w, "SET %s %s",
					key, num);
	free(key);
	if (ret != REDIS_OK) {
		free(w->user);
		free(w);
		return;
	}
	r->outstanding++;
}

static void redis_flush(struct quota_redis *r)
{
	for (struct redis_pending *p = r->pending; p != NULL; p = p->next) {
		if (p->sent_seq == p->seq || r->ac == NULL)
			continue;
		p->sent_seq = p->seq;
		redis_set(r, p, "storage", p->bytes, false);
		redis_set(r, p, "messages", p->messages, true);
	}
	if (r->outstanding > 0)
		redis_arm_timeout(r);
}

static void redis_setup_reply(redisAsyncContext *ac, void *reply_v,
			      void *priv)
{
	struct quota_redis *r = priv;
	redisReply *reply = reply_v;
	(void)ac;
	if (reply == NULL)
		return;		/* the context is going away */
	redis_got_reply(r);
	if (reply->type == REDIS_REPLY_ERROR) {
		log_error(NULL, "quota_clone: %s: %s", r->label, reply->str);
		redisAsyncDisconnect(r->ac);
	}
}

static void redis_connected(const redisAsyncContext *ac, int status)
{
	struct quota_redis *r = ac->ev.data;
	if (status != REDIS_OK) {
		redis_log_down(r, "connect", ac->errstr);
		redis_lost(r);	/* hiredis frees the context */
		return;
	}
	r->connected = true;
	loop_timer_remove(&r->timeout);
	if (r->down_logged)
		log_info(NULL, "quota_clone: %s: connected again", r->label);
	r->down_logged = false;
	/* Commands queue in order: AUTH and SELECT go before the SETs. */
	if (*r->password != '\0' &&
	    redisAsyncCommand(r->ac, redis_setup_reply, r, "AUTH %s",
			      r->password) == REDIS_OK)
		r->outstanding++;
	if (r->db != 0 &&
	    redisAsyncCommand(r->ac, redis_setup_reply, r, "SELECT %u",
			      r->db) == REDIS_OK)
		r->outstanding++;
	redis_flush(r);
}

static void redis_connect(struct quota_redis *r)
{
	redisAsyncContext *ac = r->path != NULL ?
		redisAsyncConnectUnix(r->path) :
		redisAsyncConnect(r->host, r->port);
	if (ac == NULL) {
		redis_log_down(r, "connect", "out of memory");
		return;
	}
	if (ac->err != 0) {
		redis_log_down(r, "connect", ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	r->ac = ac;
	ac->ev.data = r;
	ac->ev.addRead = redis_add_read;
	ac->ev.delRead = redis_del_read;
	ac->ev.addWrite = redis_add_write;
	ac->ev.delWrite = redis_del_write;
	ac->ev.cleanup = redis_cleanup;
	redisAsyncSetConnectCallback(ac, redis_connected);
	redisAsyncSetDisconnectCallback(ac, redis_disconnected);
	/* hiredis waits for the connect to finish on the first write. */
	redis_add_write(r);
	redis_arm_timeout(r);
}

void quota_redis_update(struct quota_redis *r, const char *user,
			uint64_t bytes, uint64_t messages)
{
	struct redis_pending *p = redis_pending_find(r, user);
	if (p == NULL) {
		if (r->n_pending >= REDIS_MAX_PENDING) {
			log_error(&(struct log_ctx){ .user = user },
				  "quota_clone: %s: %u users wait for Redis; "
				  "not queueing this one", r->label,
				  REDIS_MAX_PENDING);
			return;
		}
		p = xcalloc(1, sizeof(*p));
		p->user = xstrdup(user);
		p->next = r->pending;
		r->pending = p;
		r->n_pending++;
	}
	p->bytes = bytes;
	p->messages = messages;
	p->seq = ++r->next_seq;
	if (r->connected)
		redis_flush(r);
	else if (r->ac == NULL)
		redis_connect(r);	/* flushes once connected */
}

/* ---- settings ---- */

static int redis_param_uint(const char *name, const char *value,
			    unsigned int max, unsigned int *r, char **error_r)
{
	char *end;
	unsigned long v = strtoul(value, &end, 10);
	if (*value == '\0' || *end != '\0' || v > max) {
		*error_r = xasprintf("quota_clone_dict: invalid %s '%s'", name,
				     value);
		return -1;
	}
	*r = (unsigned int)v;
	return 0;
}

static int redis_param(struct quota_redis *r, const char *arg,
		       char **error_r)
{
	unsigned int port = (unsigned int)r->port;
	if (strncmp(arg, "host=", 5) == 0) {
		free(r->host);
		r->host = xstrdup(arg + 5);
		return 0;
	}
	if (strncmp(arg, "port=", 5) == 0) {
		if (redis_param_uint("port", arg + 5, 65535, &port, error_r) < 0)
			return -1;
		r->port = (int)port;
		return 0;
	}
	if (strncmp(arg, "path=", 5) == 0) {
		free(r->path);
		r->path = xstrdup(arg + 5);
		return 0;
	}
	if (strncmp(arg, "prefix=", 7) == 0) {
		free(r->prefix);
		r->prefix = xstrdup(arg + 7);
		return 0;
	}
	if (strncmp(arg, "password=", 9) == 0) {
		free(r->password);
		r->password = xstrdup(arg + 9);
		return 0;
	}
	if (strncmp(arg, "db=", 3) == 0)
		return redis_param_uint("db", arg + 3, 65535, &r->db, error_r);
	if (strncmp(arg, "expire_secs=", 12) == 0)
		return redis_param_uint("expire_secs", arg + 12, 1U << 30,
					&r->expire_secs, error_r);
	if (strncmp(arg, "timeout_msecs=", 14) == 0)
		return redis_param_uint("timeout_msecs", arg + 14, 1U << 30,
					&r->timeout_ms, error_r);
	*error_r = xasprintf("quota_clone_dict: unknown redis parameter '%s'",
			     arg);
	return -1;
}

struct quota_redis *quota_redis_new(struct loop *loop, const char *args,
				    uint64_t *writes_counter, char **error_r)
{
	struct quota_redis *r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->writes_counter = writes_counter;
	r->host = xstrdup("127.0.0.1");
	r->port = REDIS_DEFAULT_PORT;
	r->prefix = xstrdup("");
	r->password = xstrdup("");
	r->timeout_ms = REDIS_DEFAULT_TIMEOUT_MS;
	char *copy = xstrdup(args), *save = NULL;
	int ret = 0;
	for (char *arg = strtok_r(copy, ":", &save); arg != NULL && ret == 0;
	     arg = strtok_r(NULL, ":", &save))
		ret = redis_param(r, arg, error_r);
	free(copy);
	if (ret == 0 && r->timeout_ms == 0) {
		*error_r = xstrdup("quota_clone_dict: timeout_msecs must be "
				   "above 0");
		ret = -1;
	}
	if (ret < 0) {
		quota_redis_free(&r);
		return NULL;
	}
	r->label = r->path != NULL ? xasprintf("redis %s", r->path) :
		   xasprintf("redis %s:%d", r->host, r->port);
	return r;
}

void quota_redis_free(struct quota_redis **_r)
{
	struct quota_redis *r = *_r;
	if (r == NULL)
		return;
	*_r = NULL;
	if (r->ac != NULL) {
		redisAsyncContext *ac = r->ac;
		redis_lost(r);
		redisAsyncFree(ac);
	}
	loop_timer_remove(&r->timeout);
	while (r->pending != NULL)
		redis_pending_remove(r, r->pending);
	free(r->host);
	free(r->path);
	free(r->prefix);
	free(r->password);
	free(r->label);
	free(r);
}
