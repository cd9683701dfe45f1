/* LOGIN and AUTHENTICATE (PLAIN, LOGIN, SASL-IR): every exchange goes to
 * svc-auth's Sasl RPC; LOGIN is sent as a PLAIN exchange. After success,
 * svc-auth's Connect counts the session for mail_max_userip_connections
 * and the client moves to the authenticated state. Passwords live only in
 * buffers that are wiped before they are freed. */
#include "imap-common.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_METHOD_SASL 0
#define AUTH_METHOD_CONNECT 3
#define AUTH_RPC_TIMEOUT_MS 30000

enum auth_mech { AUTH_MECH_PLAIN, AUTH_MECH_LOGIN };

struct auth_cmd {
	enum auth_mech mech;
	uint64_t sasl_id;
	bool is_login_cmd;	/* LOGIN, not AUTHENTICATE */
	bool waiting;		/* an RPC is in flight */
	char *user;		/* from the SaslReply */
};

static void auth_cmd_free(void *ctx)
{
	struct auth_cmd *a = ctx;
	free(a->user);
	free(a);
}

void imap_auth_init(struct imap_ctx *ctx)
{
	char *path = service_rpc_socket_path(ctx->svc->cfg, "auth");
	ctx->auth = rpc_client_new(ctx->svc->loop, path,
				   &stratus__auth__descriptor,
				   AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	free(path);
}

void imap_auth_deinit(struct imap_ctx *ctx)
{
	rpc_client_free(&ctx->auth);
}

static void client_context(struct imap_client *client, Stratus__Context *c)
{
	stratus__context__init(c);
	c->session = client->session;
	c->user = client->user != NULL ? client->user : (char *)"";
	c->client_ip = client->ip;
	c->client_port = client->port;
	c->service = (char *)"imap";
}

/* ---- base64 (RFC 4648), for the SASL exchange ---- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		buf_append_c(out, b64[(v >> 18) & 63]);
		buf_append_c(out, b64[(v >> 12) & 63]);
		buf_append_c(out, i + 1 < len ? b64[(v >> 6) & 63] : '=');
		buf_append_c(out, i + 2 < len ? b64[v & 63] : '=');
	}
}

/* Strict: length a multiple of 4, padding only at the end. */
static int base64_decode(const char *in, size_t len, struct buf *out)
{
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			char c = in[i + j];
			const char *p = c == '\0' ? NULL : strchr(b64, c);
			if (c == '=' && i + 4 == len && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (p == NULL || pad > 0)
				return -1;
			v = (v << 6) | (uint32_t)(p - b64);
		}
		buf_append_c(out, (char)(v >> 16));
		if (pad < 2)
			buf_append_c(out, (char)(v >> 8));
		if (pad < 1)
			buf_append_c(out, (char)v);
	}
	return 0;
}

static void buf_wipe_free(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

static bool client_is_secured(const struct imap_client *client)
{
	/* ssl = no on a backend: only loopback counts as secured, as
	 * Dovecot treats it. */
	return strcmp(client->peer_ip, "127.0.0.1") == 0 ||
	       strncmp(client->peer_ip, "127.", 4) == 0 ||
	       strcmp(client->peer_ip, "::1") == 0 ||
	       strcmp(client->peer_ip, "local") == 0;
}

bool imap_client_login_disabled(const struct imap_client *client)
{
	return config_get_bool(client->ctx->svc->cfg, "imap",
			       "disable_plaintext_auth") &&
	       !client_is_secured(client);
}

static void auth_sasl_reply(const struct rpc_reply *reply, void *ctx);

static void auth_ignore_reply(const struct rpc_reply *reply, void *ctx)
{
	(void)reply;
	(void)ctx;
}

static void auth_send_step(struct imap_cmd *cmd, const void *resp,
			   size_t resp_len, bool has_response, bool abort)
{
	struct imap_client *client = cmd->client;
	struct auth_cmd *a = cmd->ctx;
	Stratus__SaslRequest req = STRATUS__SASL_REQUEST__INIT;
	Stratus__Context c;

	req.mechanism = (char *)(a->mech == AUTH_MECH_PLAIN ? "PLAIN" : "LOGIN");
	req.sasl_id = a->sasl_id;
	req.response.data = (uint8_t *)resp;
	req.response.len = resp_len;
	req.has_response = has_response;
	req.protocol = (char *)"imap";
	req.local_ip = client->local_ip;
	req.local_port = client->local_port;
	req.secured = client_is_secured(client);
	req.abort = abort;
	client_context(client, &c);
	if (abort) {
		/* Only frees svc-auth's state; nobody waits for the answer. */
		rpc_client_call(client->ctx->auth, AUTH_METHOD_SASL, &c,
				&req.base, NULL, 0, AUTH_RPC_TIMEOUT_MS,
				auth_ignore_reply, NULL);
		return;
	}
	a->waiting = true;
	imap_client_ref(client);
	rpc_client_call(client->ctx->auth, AUTH_METHOD_SASL, &c, &req.base,
			NULL, 0, AUTH_RPC_TIMEOUT_MS, auth_sasl_reply, client);
}

static void auth_failed(struct imap_cmd *cmd, const char *resp,
			const char *text)
{
	struct imap_client *client = cmd->client;
	imap_cmd_reply(cmd, resp, "%s", text);
	client->ctx->n_login_failures++;
	if (++client->auth_failures >= IMAP_MAX_AUTH_FAILURES) {
		imap_client_send(client, "* BYE Too many invalid IMAP "
				 "commands.");
		imap_client_disconnect(client, "auth failed, too many "
				       "attempts");
	}
	imap_cmd_done(cmd);
}

static void auth_logged_in(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct auth_cmd *a = cmd->ctx;
	client->user = a->user;
	a->user = NULL;
	client->log.user = client->user;
	imap_client_set_state(client, IMAP_STATE_AUTH);
	client->ctx->n_logins++;
	log_info(&client->log, "Login: user=<%s>, method=%s, rip=%s, lip=%s, "
		 "session=<%s>", client->user,
		 a->mech == AUTH_MECH_PLAIN ? "PLAIN" : "LOGIN", client->ip,
		 client->local_ip, client->session);
	struct buf caps = BUF_INIT;
	imap_capability_string(client, &caps);
	imap_cmd_reply(cmd, "OK", "[CAPABILITY %s] Logged in", caps.data);
	buf_free(&caps);
	imap_cmd_done(cmd);
}

static void auth_connect_reply(const struct rpc_reply *reply, void *ctx)
{
	struct imap_client *client = ctx;
	if (!imap_client_unref(client))
		return;
	struct imap_cmd *cmd = client->cmd;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__ConnectReply *r =
			(const Stratus__ConnectReply *)reply->msg;
		if (!r->allowed) {
			struct auth_cmd *a = cmd->ctx;
			log_info(&client->log, "Login refused: user=<%s>: "
				 "mail_max_userip_connections=%u reached",
				 a->user, r->limit);
			imap_cmd_reply(cmd, "NO", "[LIMIT] Maximum number of "
				       "connections from user+IP exceeded "
				       "(mail_max_userip_connections=%u)",
				       r->limit);
			imap_cmd_done(cmd);
			return;
		}
		client->connected_counted = true;
	} else {
		/* svc-auth cannot count right now: logging in is better
		 * than locking every user out. */
		log_warning(&client->log, "connection counting failed (%s); "
			    "mail_max_userip_connections not enforced for "
			    "this session", reply->error != NULL ?
			    reply->error : rpc_status_name(reply->status));
	}
	auth_logged_in(cmd);
}

static void auth_connect(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct auth_cmd *a = cmd->ctx;
	Stratus__ConnectRequest req = STRATUS__CONNECT_REQUEST__INIT;
	Stratus__Context c;
	req.user = a->user;
	req.protocol = (char *)"imap";
	req.ip = client->ip;
	client_context(client, &c);
	c.user = a->user;
	imap_client_ref(client);
	rpc_client_call(client->ctx->auth, AUTH_METHOD_CONNECT, &c, &req.base,
			NULL, 0, AUTH_RPC_TIMEOUT_MS, auth_connect_reply, client);
}

void imap_auth_release(struct imap_client *client)
{
	if (!client->connected_counted || client->ctx->auth == NULL)
		return;
	client->connected_counted = false;
	Stratus__ConnectRequest req = STRATUS__CONNECT_REQUEST__INIT;
	Stratus__Context c;
	req.user = client->user;
	req.protocol = (char *)"imap";
	req.ip = client->ip;
	req.release = true;
	client_context(client, &c);
	rpc_client_call(client->ctx->auth, AUTH_METHOD_CONNECT, &c, &req.base,
			NULL, 0, AUTH_RPC_TIMEOUT_MS, auth_ignore_reply, NULL);
}

static bool auth_continue_line(struct imap_cmd *cmd, const char *line,
			       size_t len)
{
	struct auth_cmd *a = cmd->ctx;
	if (a->waiting)
		return false;	/* cannot happen: input paused */
	cmd->line_fn = NULL;
	if (len == 1 && line[0] == '*') {
		if (a->sasl_id != 0)
			auth_send_step(cmd, NULL, 0, false, true);
		imap_cmd_reply(cmd, "BAD", "Authentication aborted by client.");
		return true;
	}
	struct buf resp = BUF_INIT;
	if (base64_decode(line, len, &resp) < 0) {
		buf_wipe_free(&resp);
		if (a->sasl_id != 0)
			auth_send_step(cmd, NULL, 0, false, true);
		imap_cmd_reply(cmd, "BAD", "Invalid base64 data in "
			       "continued response");
		return true;
	}
	auth_send_step(cmd, resp.data != NULL ? resp.data : "", resp.len,
		       true, false);
	buf_wipe_free(&resp);
	return false;
}

static void auth_sasl_reply(const struct rpc_reply *reply, void *ctx)
{
	struct imap_client *client = ctx;
	if (!imap_client_unref(client))
		return;
	struct imap_cmd *cmd = client->cmd;
	if (cmd == NULL || cmd->ctx_free != auth_cmd_free)
		return;
	struct auth_cmd *a = cmd->ctx;
	a->waiting = false;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_error(&client->log, "auth request failed: %s",
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Temporary "
			       "authentication failure.");
		imap_cmd_done(cmd);
		return;
	}
	const Stratus__SaslReply *r = (const Stratus__SaslReply *)reply->msg;
	struct buf line = BUF_INIT;
	switch (r->result) {
	case STRATUS__SASL_RESULT__SASL_CONTINUE:
		a->sasl_id = r->sasl_id;
		buf_append_str(&line, "+ ");
		base64_encode(r->challenge.data, r->challenge.len, &line);
		imap_client_send(client, "%s", line.data);
		buf_free(&line);
		imap_cmd_wait_line(cmd, auth_continue_line);
		return;
	case STRATUS__SASL_RESULT__SASL_SUCCESS:
		if (r->user == NULL || r->user[0] == '\0') {
			imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Temporary "
				       "authentication failure.");
			imap_cmd_done(cmd);
			return;
		}
		a->user = xstrdup(r->user);
		auth_connect(cmd);
		return;
	case STRATUS__SASL_RESULT__SASL_LIMIT:
		imap_cmd_reply(cmd, "NO", "[LIMIT] Maximum number of "
			       "connections from user+IP exceeded");
		imap_cmd_done(cmd);
		return;
	case STRATUS__SASL_RESULT__SASL_TEMPFAIL:
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Temporary "
			       "authentication failure.");
		imap_cmd_done(cmd);
		return;
	case STRATUS__SASL_RESULT__SASL_FAILURE:
	default:
		log_info(&client->log, "Authentication failed%s%s",
			 r->reason[0] != '\0' ? ": " : "", r->reason);
		auth_failed(cmd, "NO", a->is_login_cmd ?
			    "[AUTHENTICATIONFAILED] Authentication failed." :
			    "[AUTHENTICATIONFAILED] Authentication failed.");
		return;
	}
}

static bool auth_begin(struct imap_cmd *cmd, enum auth_mech mech,
		       bool is_login_cmd)
{
	struct auth_cmd *a = xcalloc(1, sizeof(*a));
	a->mech = mech;
	a->is_login_cmd = is_login_cmd;
	cmd->ctx = a;
	cmd->ctx_free = auth_cmd_free;
	return true;
}

bool cmd_login(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	const struct imap_arg *args = cmd->c.args;

	if (cmd->c.n_args != 2 || !imap_arg_is_astring(&args[0]) ||
	    !imap_arg_is_astring(&args[1])) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	if (imap_client_login_disabled(client)) {
		imap_client_send(client, "* BAD [ALERT] Plaintext "
				 "authentication not allowed without SSL/TLS, "
				 "but your client did it anyway. If anyone was "
				 "listening, the password was exposed.");
		imap_cmd_reply(cmd, "NO", "[PRIVACYREQUIRED] Plaintext "
			       "authentication disallowed on non-secure "
			       "(SSL/TLS) connections.");
		return true;
	}
	auth_begin(cmd, AUTH_MECH_PLAIN, true);
	struct buf resp = BUF_INIT;
	buf_append_c(&resp, '\0');
	buf_append(&resp, args[0].str, args[0].len);
	buf_append_c(&resp, '\0');
	buf_append(&resp, args[1].str, args[1].len);
	auth_send_step(cmd, resp.data, resp.len, true, false);
	buf_wipe_free(&resp);
	/* The password is in the command's pool too: wipe it now. */
	explicit_bzero((char *)args[1].str, args[1].len);
	return false;
}

bool cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	const struct imap_arg *args = cmd->c.args;
	const struct imap_settings *set = &client->ctx->set;
	enum auth_mech mech;

	if (cmd->c.n_args < 1 || cmd->c.n_args > 2 ||
	    args[0].type != IMAP_ARG_ATOM ||
	    (cmd->c.n_args == 2 && args[1].type != IMAP_ARG_ATOM)) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	if (strcasecmp(args[0].str, "PLAIN") == 0 && set->auth_plain)
		mech = AUTH_MECH_PLAIN;
	else if (strcasecmp(args[0].str, "LOGIN") == 0 && set->auth_login)
		mech = AUTH_MECH_LOGIN;
	else {
		imap_cmd_reply(cmd, "NO", "Unsupported authentication "
			       "mechanism.");
		return true;
	}
	if (imap_client_login_disabled(client)) {
		imap_cmd_reply(cmd, "NO", "[PRIVACYREQUIRED] Plaintext "
			       "authentication disallowed on non-secure "
			       "(SSL/TLS) connections.");
		return true;
	}
	auth_begin(cmd, mech, false);
	if (cmd->c.n_args == 1) {
		auth_send_step(cmd, NULL, 0, false, false);
		return false;
	}
	/* SASL-IR: "=" is an empty initial response. */
	struct buf resp = BUF_INIT;
	const char *ir = args[1].str;
	if (strcmp(ir, "=") != 0 && base64_decode(ir, args[1].len, &resp) < 0) {
		buf_wipe_free(&resp);
		imap_cmd_reply(cmd, "BAD", "Invalid base64 data in initial "
			       "response");
		return true;
	}
	auth_send_step(cmd, resp.data != NULL ? resp.data : "", resp.len,
		       true, false);
	buf_wipe_free(&resp);
	explicit_bzero((char *)args[1].str, args[1].len);
	return false;
}
