/* svc-auth's RPC handlers other than Sasl (auth-sasl.c), the handler
 * table and the bookkeeping of in-flight calls. */
#include "auth-rpc.h"
#include "auth-op.h"
#include "auth-anvil.h"
#include "auth-cache.h"
#include "auth-hash.h"
#include "net-match.h"
#include "sasl-mech.h"
#include "service.h"

#include <stdlib.h>
#include <fnmatch.h>
#include <string.h>

#define AUTH_SWEEP_INTERVAL_MS 30000
/* A user list reply stays well under the RPC frame limit. */
#define USER_LIST_MAX_BYTES (RPC_FRAME_MAX - 64 * 1024)

struct auth *auth_from_call(struct rpc_call *call)
{
	const struct service *svc = rpc_call_handler_ctx(call);
	return svc->ctx;
}

struct auth_op *auth_op_new(struct auth *auth, struct rpc_call *call)
{
	struct auth_op *op = xcalloc(1, sizeof(*op));
	op->auth = auth;
	op->call = call;
	op->next = auth->ops;
	if (auth->ops != NULL)
		auth->ops->prev = op;
	auth->ops = op;
	return op;
}

void auth_op_free(struct auth_op *op)
{
	struct auth *auth = op->auth;
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		auth->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	loop_timer_remove(&op->timer);
	auth_request_free(&op->req);
	free(op->reason);
	free(op);
}

Stratus__AuthField **auth_reply_fields(const struct auth_fields *f)
{
	if (f->n == 0)
		return NULL;
	Stratus__AuthField **v = xcalloc(f->n, sizeof(*v));
	for (size_t i = 0; i < f->n; i++) {
		v[i] = xmalloc(sizeof(**v));
		stratus__auth_field__init(v[i]);
		v[i]->key = f->v[i].key;
		v[i]->value = f->v[i].value;
	}
	return v;
}

void auth_reply_fields_free(Stratus__AuthField **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool str_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n <= max && sasl_utf8_valid((const unsigned char *)s, n);
}

/* ---- UserdbLookup ---- */

static void userdb_lookup_done(struct auth_request *req,
			       enum userdb_result r)
{
	struct auth_op *op = req->ctx;
	if (r == USERDB_RESULT_INTERNAL_FAILURE) {
		log_warning(&req->log, "userdb lookup failed temporarily");
		rpc_call_fail(op->call, STRATUS__STATUS__STATUS_TEMPFAIL,
			      "userdb temporarily unavailable");
		auth_op_free(op);
		return;
	}
	Stratus__UserdbReply reply = STRATUS__USERDB_REPLY__INIT;
	reply.found = r == USERDB_RESULT_OK;
	reply.user = req->user;
	if (reply.found) {
		reply.n_fields = req->userdb_fields.n;
		reply.fields = auth_reply_fields(&req->userdb_fields);
	}
	rpc_call_reply(op->call, &reply.base, NULL, 0);
	auth_reply_fields_free(reply.fields, reply.n_fields);
	auth_op_free(op);
}

static void handle_userdb_lookup(struct rpc_call *call,
				 const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__UserdbRequest *ur = (const void *)msg;
	const Stratus__Context *ctx = rpc_call_context(call);
	struct buf user = BUF_INIT;
	const char *error;
	if (!str_ok(ur->user, AUTH_MAX_USERNAME_LEN) ||
	    !str_ok(ur->protocol, 64) ||
	    auth_request_format_user(auth, ur->user, &user, &error) < 0) {
		/* Such a user cannot exist: a clean "not found". */
		Stratus__UserdbReply reply = STRATUS__USERDB_REPLY__INIT;
		reply.user = (char *)"";
		buf_free(&user);
		rpc_call_reply(call, &reply.base, NULL, 0);
		return;
	}
	struct auth_op *op = auth_op_new(auth, call);
	op->req = auth_request_new(auth, user.data, ur->protocol,
				   ctx->session, ctx->client_ip, NULL);
	op->req->ctx = op;
	buf_free(&user);
	auth_request_lookup_user(op->req, userdb_lookup_done);
}

/* ---- UserList ---- */

struct user_list {
	struct auth_op *op;
	char **users;
	size_t n, bytes;
	bool truncated;
	size_t userdb;		/* next userdb to try */
};

static void user_list_next(struct user_list *ul);

static void user_list_cb(const char *user, bool failed, void *ctx)
{
	struct user_list *ul = ctx;
	if (user != NULL) {
		size_t n = strlen(user) + 8;
		if (ul->bytes + n > USER_LIST_MAX_BYTES) {
			ul->truncated = true;
			return;
		}
		ul->users = xreallocarray(ul->users, ul->n + 1,
					  sizeof(char *));
		ul->users[ul->n++] = xstrdup(user);
		ul->bytes += n;
		return;
	}
	struct auth_op *op = ul->op;
	if (!failed && ul->userdb < op->auth->n_userdbs) {
		/* This userdb is done: go on with the next one, as
		 * doveadm user '*' lists every userdb in order. */
		user_list_next(ul);
		return;
	}
	if (failed) {
		rpc_call_fail(op->call, STRATUS__STATUS__STATUS_TEMPFAIL,
			      "user iteration failed");
	} else {
		Stratus__UserListReply reply = STRATUS__USER_LIST_REPLY__INIT;
		reply.users = ul->users;
		reply.n_users = ul->n;
		reply.truncated = ul->truncated;
		rpc_call_reply(op->call, &reply.base, NULL, 0);
	}
	for (size_t i = 0; i < ul->n; i++)
		free(ul->users[i]);
	free(ul->users);
	free(ul);
	auth_op_free(op);
}

static void user_list_next(struct user_list *ul)
{
	struct auth *auth = ul->op->auth;
	for (; ul->userdb < auth->n_userdbs; ul->userdb++) {
		struct userdb *db = auth->userdbs[ul->userdb];
		if (db->drv->iterate != NULL) {
			ul->userdb++;
			db->drv->iterate(db, user_list_cb, ul);
			return;
		}
	}
	/* Every userdb is done (or none can list users: an empty list,
	 * as Dovecot gives). */
	ul->userdb = auth->n_userdbs;
	user_list_cb(NULL, false, ul);
}

static void handle_user_list(struct rpc_call *call,
			     const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	(void)msg;
	struct user_list *ul = xcalloc(1, sizeof(*ul));
	ul->op = auth_op_new(auth, call);
	user_list_next(ul);
}

/* ---- Connect ---- */

static void handle_connect(struct rpc_call *call, const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__ConnectRequest *cr = (const void *)msg;
	if (!str_ok(cr->user, AUTH_MAX_USERNAME_LEN) ||
	    !str_ok(cr->protocol, 64) || !str_ok(cr->ip, 64) ||
	    *cr->user == '\0' || *cr->protocol == '\0') {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
			      "Connect needs user, protocol and ip");
		return;
	}
	Stratus__ConnectReply reply = STRATUS__CONNECT_REPLY__INIT;
	uint64_t conn = rpc_call_conn_id(call);
	unsigned int limit = (unsigned int)config_get_uint(auth->cfg,
		cr->protocol, "mail_max_userip_connections");
	unsigned int count;
	reply.limit = limit;
	if (cr->release) {
		auth_anvil_release(auth->anvil, conn, cr->protocol, cr->ip,
				   cr->user, &count);
		reply.allowed = true;
	} else {
		reply.allowed = auth_anvil_connect(auth->anvil, conn,
			cr->protocol, cr->ip, cr->user, limit, &count);
		if (!reply.allowed) {
			struct log_ctx lc = { .user = cr->user,
					      .client_ip = cr->ip };
			auth->stats.limit_refusals++;
			log_info(&lc, "%s: maximum number of connections from "
				 "user+IP exceeded (mail_max_userip_connections"
				 "=%u)", cr->protocol, limit);
		}
	}
	reply.count = count;
	rpc_call_reply(call, &reply.base, NULL, 0);
}

/* ---- CacheFlush ---- */

static void handle_cache_flush(struct rpc_call *call,
			       const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__CacheFlushRequest *fr = (const void *)msg;
	Stratus__CacheFlushReply reply = STRATUS__CACHE_FLUSH_REPLY__INIT;
	if (auth->cache != NULL)
		reply.flushed = auth_cache_flush(auth->cache, *fr->user != '\0' ?
						 fr->user : NULL);
	log_info(NULL, "auth cache flush%s%s: %u entries", *fr->user != '\0' ?
		 " for " : "", fr->user, reply.flushed);
	rpc_call_reply(call, &reply.base, NULL, 0);
}

/* ---- Trust ---- */

static void handle_trust(struct rpc_call *call, const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__TrustRequest *tr = (const void *)msg;
	Stratus__TrustReply reply = STRATUS__TRUST_REPLY__INIT;
	if (!str_ok(tr->ip, 64) || !str_ok(tr->forwarded_ip, 64) ||
	    !str_ok(tr->forwarded_session, 128) || !str_ok(tr->protocol, 64)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
			      "malformed Trust request");
		return;
	}
	reply.trusted = net_list_match(auth->trusted, tr->ip);
	reply.client_ip = tr->ip;
	reply.session = (char *)"";
	bool forwards = *tr->forwarded_ip != '\0' ||
			*tr->forwarded_session != '\0' ||
			tr->forwarded_port != 0;
	if (reply.trusted) {
		if (*tr->forwarded_ip != '\0')
			reply.client_ip = tr->forwarded_ip;
		reply.client_port = tr->forwarded_port;
		reply.session = tr->forwarded_session;
	} else if (forwards) {
		struct log_ctx lc = { .client_ip = tr->ip };
		auth->stats.trust_ignored++;
		log_warning(&lc, "%s: ignoring forwarded client address %s "
			    "from %s: not in login_trusted_networks",
			    *tr->protocol != '\0' ? tr->protocol : "?",
			    *tr->forwarded_ip != '\0' ? tr->forwarded_ip :
			    "(none)", tr->ip);
	}
	rpc_call_reply(call, &reply.base, NULL, 0);
}

/* ---- Who ---- */

struct who_list {
	const char *mask;
	Stratus__WhoEntry **entries;
	size_t n, bytes;
};

static void who_add(const char *protocol, const char *ip, const char *user,
		    unsigned int count, void *ctx)
{
	struct who_list *w = ctx;
	size_t n = strlen(protocol) + strlen(ip) + strlen(user) + 16;
	if ((*w->mask != '\0' && fnmatch(w->mask, user, 0) != 0) ||
	    w->bytes + n > USER_LIST_MAX_BYTES)
		return;
	Stratus__WhoEntry *e = xcalloc(1, sizeof(*e));
	stratus__who_entry__init(e);
	e->user = xstrdup(user);
	e->protocol = xstrdup(protocol);
	e->ip = xstrdup(ip);
	e->count = count;
	w->entries = xreallocarray(w->entries, w->n + 1, sizeof(*w->entries));
	w->entries[w->n++] = e;
	w->bytes += n;
}

static void handle_who(struct rpc_call *call, const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__WhoRequest *req = (const void *)msg;
	struct who_list w = { .mask = req->user_mask };
	auth_anvil_foreach(auth->anvil, who_add, &w);
	Stratus__WhoReply reply = STRATUS__WHO_REPLY__INIT;
	reply.entries = w.entries;
	reply.n_entries = w.n;
	rpc_call_reply(call, &reply.base, NULL, 0);
	for (size_t i = 0; i < w.n; i++) {
		free(w.entries[i]->user);
		free(w.entries[i]->protocol);
		free(w.entries[i]->ip);
		free(w.entries[i]);
	}
	free(w.entries);
}

/* Descriptor order: Sasl, UserdbLookup, UserList, Connect, CacheFlush,
 * Trust, Who, PassdbLookup (auth-lookup.c). */
rpc_handler_fn *const auth_rpc_handlers[] = {
	auth_sasl_handle,
	handle_userdb_lookup,
	handle_user_list,
	handle_connect,
	handle_cache_flush,
	handle_trust,
	handle_who,
	auth_handle_passdb_lookup,
};
const size_t auth_rpc_n_handlers = N_ELEMENTS(auth_rpc_handlers);

static void auth_sweep(struct loop_timer *t, void *ctx)
{
	(void)t;
	auth_sasl_sweep(ctx, 0);
}

void auth_rpc_conn_closed(uint64_t conn_id, void *ctx)
{
	struct auth *auth = ctx;
	auth_anvil_conn_closed(auth->anvil, conn_id);
	auth_sasl_sweep(auth, conn_id);
}

void auth_rpc_init(struct auth *auth, struct rpc_server *server)
{
	auth->sasl = auth_hash_new();
	auth->sweep_timer = loop_timer_add(auth->loop, AUTH_SWEEP_INTERVAL_MS,
					   true, auth_sweep, auth);
	rpc_server_set_disconnect_cb(server, auth_rpc_conn_closed, auth);
}

void auth_rpc_deinit(struct auth *auth)
{
	auth->stopping = true;
	loop_timer_remove(&auth->sweep_timer);
	/* Calls waiting on a timer are answered now; those waiting on LDAP
	 * are answered when the worker pools stop (auth_deinit). */
	struct auth_op *op = auth->ops, *next;
	for (; op != NULL; op = next) {
		next = op->next;
		if (op->timer != NULL) {
			rpc_call_fail(op->call, STRATUS__STATUS__STATUS_TEMPFAIL,
				      "auth service stopping");
			auth_op_free(op);
		}
	}
	auth_sasl_deinit(auth);
}
