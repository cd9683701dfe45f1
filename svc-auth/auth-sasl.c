/* The Sasl RPC: multi-step PLAIN/LOGIN exchanges (state kept here
 * between steps, keyed by sasl_id and owned by the RPC connection that
 * started them), the disable_plaintext_auth rule, the auth penalty
 * before the passdb lookup and auth_failure_delay before a failure
 * reply. Plain IMAP LOGIN and POP3 USER/PASS arrive as one PLAIN step. */
#include "auth-op.h"
#include "auth-hash.h"
#include "auth-penalty.h"
#include "auth-settings.h"
#include "net-match.h"
#include "sasl-mech.h"

#include <stdlib.h>
#include <string.h>

#define SASL_SESSION_TIMEOUT_MS (5 * 60 * 1000)

struct sasl_session {
	uint64_t id;
	uint64_t conn_id;
	uint64_t created_ms;
	struct sasl_exchange ex;
};

static void sasl_session_free(void *value)
{
	struct sasl_session *s = value;
	sasl_exchange_clear(&s->ex);
	free(s);
}

struct sweep_ctx {
	uint64_t now, conn_id;
};

static int sweep_one(const char *key, void *value, void *ctx)
{
	struct sasl_session *s = value;
	struct sweep_ctx *sc = ctx;
	(void)key;
	if ((sc->conn_id != 0 && s->conn_id == sc->conn_id) ||
	    sc->now - s->created_ms > SASL_SESSION_TIMEOUT_MS) {
		sasl_session_free(s);
		return 1;
	}
	return 0;
}

void auth_sasl_sweep(struct auth *auth, uint64_t conn_id)
{
	struct sweep_ctx sc = { loop_now_ms(auth->loop), conn_id };
	if (auth->sasl != NULL)
		auth_hash_foreach(auth->sasl, sweep_one, &sc);
}

void auth_sasl_deinit(struct auth *auth)
{
	auth_hash_free(&auth->sasl, sasl_session_free);
}

static void sasl_reply(struct auth_op *op, Stratus__SaslResult result,
		       const char *reason)
{
	Stratus__SaslReply r = STRATUS__SASL_REPLY__INIT;
	struct auth_request *req = op->req;
	r.result = result;
	r.reason = (char *)(reason != NULL ? reason : "");
	r.delay_msecs = (uint32_t)op->delay_ms;
	if (result == STRATUS__SASL_RESULT__SASL_SUCCESS && req != NULL) {
		r.user = req->user;
		r.n_userdb_fields = req->userdb_fields.n;
		r.userdb_fields = auth_reply_fields(&req->userdb_fields);
		r.n_passdb_fields = req->passdb_fields.n;
		r.passdb_fields = auth_reply_fields(&req->passdb_fields);
	}
	rpc_call_reply(op->call, &r.base, NULL, 0);
	auth_reply_fields_free(r.userdb_fields, r.n_userdb_fields);
	auth_reply_fields_free(r.passdb_fields, r.n_passdb_fields);
	auth_op_free(op);
}

static void sasl_delayed_reply(struct loop_timer *t, void *ctx)
{
	struct auth_op *op = ctx;
	(void)t;
	loop_timer_remove(&op->timer);
	sasl_reply(op, op->result, op->reason);
}

/* A failure waits auth_failure_delay (unless the passdb said nodelay)
 * so guessing passwords stays slow even without the penalty. */
static void sasl_fail(struct auth_op *op, const char *reason)
{
	struct auth *auth = op->auth;
	bool nodelay = op->req != NULL &&
		auth_fields_get(&op->req->passdb_fields, "nodelay") != NULL;
	auth->stats.failures++;
	op->result = STRATUS__SASL_RESULT__SASL_FAILURE;
	free(op->reason);
	op->reason = xstrdup(reason);
	if (nodelay || auth->set.failure_delay_ms == 0 || auth->stopping) {
		sasl_reply(op, op->result, reason);
		return;
	}
	op->delay_ms += auth->set.failure_delay_ms;
	op->timer = loop_timer_add(auth->loop, auth->set.failure_delay_ms,
				   false, sasl_delayed_reply, op);
}

static void sasl_verify_done(struct auth_request *req, enum passdb_result r)
{
	struct auth_op *op = req->ctx;
	struct auth *auth = op->auth;
	bool penalised = auth->set.penalty_enabled &&
			 !net_list_match(auth->trusted, req->client_ip) &&
			 *req->client_ip != '\0';
	switch (r) {
	case PASSDB_RESULT_OK:
		auth->stats.successes++;
		if (penalised)
			auth_penalty_success(auth->penalty, req->client_ip);
		log_info(&req->log, "login: user=<%s>%s", req->user,
			 req->from_cache ? " (cached)" : "");
		sasl_reply(op, STRATUS__SASL_RESULT__SASL_SUCCESS, NULL);
		return;
	case PASSDB_RESULT_INTERNAL_FAILURE:
		auth->stats.tempfails++;
		log_warning(&req->log, "login: temporary failure (passdb or "
			    "userdb unavailable)");
		sasl_reply(op, STRATUS__SASL_RESULT__SASL_TEMPFAIL,
			   "temporary authentication failure");
		return;
	case PASSDB_RESULT_USER_UNKNOWN:
	case PASSDB_RESULT_PASSWORD_MISMATCH:
		break;
	}
	if (penalised)
		auth_penalty_failure(auth->penalty, req->client_ip,
				     req->login_user, req->password,
				     loop_now_ms(auth->loop));
	log_info(&req->log, "login failed: %s", r ==
		 PASSDB_RESULT_USER_UNKNOWN ? "unknown user" :
		 "password mismatch");
	sasl_fail(op, r == PASSDB_RESULT_USER_UNKNOWN ? "unknown user" :
		  "password mismatch");
}

static void sasl_start_verify(struct loop_timer *t, void *ctx)
{
	struct auth_op *op = ctx;
	(void)t;
	loop_timer_remove(&op->timer);
	auth_request_verify(op->req, sasl_verify_done);
}

/* Splits "user*master" when auth_master_user_separator is set. */
static void split_master(struct auth *auth, struct sasl_exchange *ex)
{
	const char *sep = auth->set.master_user_separator;
	char *p;
	if (sep == NULL || *sep == '\0' ||
	    (ex->authzid != NULL && *ex->authzid != '\0') ||
	    (p = strstr(ex->authcid, sep)) == NULL)
		return;
	*p = '\0';
	free(ex->authzid);
	ex->authzid = xstrdup(ex->authcid);
	char *master = xstrdup(p + strlen(sep));
	free(ex->authcid);
	ex->authcid = master;
}

static void sasl_authenticate(struct auth_op *op, struct sasl_exchange *ex,
			      const Stratus__SaslRequest *sr)
{
	struct auth *auth = op->auth;
	const Stratus__Context *ctx = rpc_call_context(op->call);
	const char *error;
	struct buf user = BUF_INIT, master = BUF_INIT;
	split_master(auth, ex);
	bool is_master = ex->authzid != NULL && *ex->authzid != '\0' &&
			 strcmp(ex->authzid, ex->authcid) != 0;
	if (auth_request_format_user(auth, is_master ? ex->authzid :
				     ex->authcid, &user, &error) < 0 ||
	    (is_master && auth_request_format_user(auth, ex->authcid, &master,
						   &error) < 0)) {
		struct log_ctx lc = { .session = ctx->session,
				      .client_ip = ctx->client_ip };
		log_info(&lc, "login refused: %s", error);
		buf_free(&user);
		buf_free(&master);
		sasl_fail(op, error);
		return;
	}
	op->req = auth_request_new(auth, user.data, sr->protocol,
				   ctx->session, ctx->client_ip,
				   sr->remote_ip);
	op->req->password = xstrdup(ex->password);
	op->req->ctx = op;
	if (is_master)
		op->req->master_user = xstrdup(master.data);
	buf_free(&user);
	buf_free(&master);
	uint64_t delay = 0;
	if (auth->set.penalty_enabled && *op->req->client_ip != '\0' &&
	    !net_list_match(auth->trusted, op->req->client_ip))
		delay = auth_penalty_delay_ms(auth->penalty,
					      op->req->client_ip,
					      loop_now_ms(auth->loop));
	if (delay > 0) {
		auth->stats.penalty_delays++;
		op->delay_ms += delay;
		op->timer = loop_timer_add(auth->loop, delay, false,
					   sasl_start_verify, op);
		return;
	}
	auth_request_verify(op->req, sasl_verify_done);
}

/* disable_plaintext_auth = yes allows plaintext mechanisms only on
 * secured (TLS) connections, from loopback or login_trusted_networks. */
static bool plaintext_allowed(struct auth *auth,
			      const Stratus__SaslRequest *sr,
			      const Stratus__Context *ctx)
{
	const char *proto = *sr->protocol != '\0' ? sr->protocol : NULL;
	const char *ip = *sr->remote_ip != '\0' ? sr->remote_ip :
			 ctx->client_ip;
	if (!config_get_bool(auth->cfg, proto, "disable_plaintext_auth"))
		return true;
	return sr->secured || net_is_loopback(ip) ||
	       net_list_match(auth->trusted, ip);
}

/* auth_ssl_require_client_cert = yes: every mechanism needs TLS with a
 * client certificate that verified against ssl_ca (the protocol
 * service's ssl_verify_client_cert asks for it), as in Dovecot. */
static bool client_cert_ok(struct auth *auth, const Stratus__SaslRequest *sr)
{
	const char *proto = *sr->protocol != '\0' ? sr->protocol : NULL;
	return sr->valid_client_cert ||
	       !config_get_bool(auth->cfg, proto,
				"auth_ssl_require_client_cert");
}

static bool request_valid(const Stratus__SaslRequest *sr,
			  const Stratus__Context *ctx, const char **error_r)
{
	const char *strs[] = { sr->mechanism, sr->protocol, sr->local_ip,
			       sr->remote_ip, ctx->session, ctx->client_ip };
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		if (strlen(strs[i]) > 256 ||
		    !sasl_utf8_valid((const unsigned char *)strs[i],
				     strlen(strs[i]))) {
			*error_r = "malformed request field";
			return false;
		}
	}
	return true;
}

void auth_sasl_handle(struct rpc_call *call, const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__SaslRequest *sr = (const void *)msg;
	const Stratus__Context *ctx = rpc_call_context(call);
	struct auth_op *op = auth_op_new(auth, call);
	struct sasl_session *s = NULL;
	const char *error, *challenge;
	char key[32];
	auth->stats.requests++;
	if (!request_valid(sr, ctx, &error)) {
		sasl_reply(op, STRATUS__SASL_RESULT__SASL_FAILURE, error);
		return;
	}
	if (sr->sasl_id != 0) {
		snprintf(key, sizeof(key), "%llu",
			 (unsigned long long)sr->sasl_id);
		s = auth_hash_remove(auth->sasl, key);
		if (s != NULL && s->conn_id != rpc_call_conn_id(call)) {
			/* Another client's exchange: not ours to touch. */
			auth_hash_set(auth->sasl, key, s);
			s = NULL;
		}
		if (s == NULL) {
			sasl_reply(op, STRATUS__SASL_RESULT__SASL_FAILURE,
				   "unknown SASL exchange");
			return;
		}
		if (sr->abort) {
			sasl_session_free(s);
			sasl_reply(op, STRATUS__SASL_RESULT__SASL_FAILURE,
				   "aborted by client");
			return;
		}
	} else {
		enum sasl_mech mech;
		if (sasl_mech_find(sr->mechanism, &mech) < 0 ||
		    !auth_mechanism_enabled(auth, sr->mechanism)) {
			sasl_reply(op, STRATUS__SASL_RESULT__SASL_FAILURE,
				   "unsupported mechanism");
			return;
		}
		if (!plaintext_allowed(auth, sr, ctx)) {
			sasl_fail(op, "plaintext authentication disallowed "
				  "on non-secure connections");
			return;
		}
		if (!client_cert_ok(auth, sr)) {
			sasl_fail(op, "client didn't present a valid SSL "
				  "certificate");
			return;
		}
		s = xcalloc(1, sizeof(*s));
		s->id = ++auth->next_sasl_id;
		s->conn_id = rpc_call_conn_id(call);
		s->created_ms = loop_now_ms(auth->loop);
		sasl_exchange_init(&s->ex, mech);
	}
	enum sasl_step_result r = sasl_exchange_step(&s->ex, sr->has_response,
		sr->response.data, sr->response.len, &challenge, &error);
	if (r == SASL_STEP_CONTINUE) {
		Stratus__SaslReply reply = STRATUS__SASL_REPLY__INIT;
		reply.result = STRATUS__SASL_RESULT__SASL_CONTINUE;
		reply.sasl_id = s->id;
		reply.challenge.data = (uint8_t *)challenge;
		reply.challenge.len = strlen(challenge);
		reply.reason = (char *)"";
		snprintf(key, sizeof(key), "%llu", (unsigned long long)s->id);
		auth_hash_set(auth->sasl, key, s);
		rpc_call_reply(call, &reply.base, NULL, 0);
		auth_op_free(op);
		return;
	}
	if (r == SASL_STEP_FAIL) {
		struct log_ctx lc = { .session = ctx->session,
				      .client_ip = ctx->client_ip };
		log_info(&lc, "login failed: %s", error);
		sasl_session_free(s);
		sasl_fail(op, error);
		return;
	}
	sasl_authenticate(op, &s->ex, sr);
	sasl_session_free(s);
}
