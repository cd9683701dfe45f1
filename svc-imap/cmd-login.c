/* LOGIN and AUTHENTICATE (PLAIN, LOGIN, SASL-IR): every exchange goes to
 * svc-auth's Sasl RPC; LOGIN is sent as a PLAIN exchange. After success,
 * svc-auth's Connect counts the session for mail_max_userip_connections
 * and the client moves to the authenticated state. Passwords live only in
 * buffers that are wiped before they are freed. */
#include "imap-common.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"
#include "sasl-client.h"
#include "tls-stream.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static bool client_is_secured(const struct imap_client *client)
{
	/* TLS, loopback or same-address: imap-tls.c, which also has
	 * imap_client_login_disabled() */
	return imap_client_secured(client);
}

static void auth_sasl_answer(const struct sasl_client_answer *answer,
			     void *ctx);

static void auth_send_step(struct imap_cmd *cmd, const void *resp,
			   size_t resp_len, bool has_response, bool abort)
{
	struct imap_client *client = cmd->client;
	struct auth_cmd *a = cmd->ctx;
	struct sasl_client_step step = {
		.mechanism = a->mech == AUTH_MECH_PLAIN ? "PLAIN" : "LOGIN",
		.sasl_id = a->sasl_id,
		.response = resp,
		.response_len = resp_len,
		.has_response = has_response,
		.abort = abort,
		.protocol = "imap",
		.local_ip = client->local_ip,
		.local_port = client->local_port,
		/* the TCP peer: after a trusted proxy's ID, client->ip is the
		 * forwarded client and the proxy is what svc-auth checks */
		.remote_ip = client->peer_ip,
		.secured = client_is_secured(client),
		.valid_client_cert =
			tls_stream_has_valid_client_cert(client->stream),
	};
	Stratus__Context c;
	client_context(client, &c);
	if (abort) {
		/* Only frees svc-auth's state; nobody waits for the answer. */
		sasl_client_send(client->ctx->auth, &c, &step,
				 AUTH_RPC_TIMEOUT_MS, NULL, NULL);
		return;
	}
	a->waiting = true;
	imap_client_ref(client);
	sasl_client_send(client->ctx->auth, &c, &step, AUTH_RPC_TIMEOUT_MS,
			 auth_sasl_answer, client);
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

static void auth_connect_answer(const struct sasl_client_connect_answer *r,
				void *ctx)
{
	struct imap_client *client = ctx;
	if (!imap_client_unref(client))
		return;
	struct imap_cmd *cmd = client->cmd;
	if (r->error != NULL) {
		/* svc-auth cannot count right now: logging in is better
		 * than locking every user out. */
		log_warning(&client->log, "connection counting failed (%s); "
			    "mail_max_userip_connections not enforced for "
			    "this session", r->error);
	} else if (!r->allowed) {
		struct auth_cmd *a = cmd->ctx;
		log_info(&client->log, "Login refused: user=<%s>: "
			 "mail_max_userip_connections=%u reached",
			 a->user, r->limit);
		imap_cmd_reply(cmd, "NO", "[LIMIT] Maximum number of "
			       "connections from user+IP exceeded "
			       "(mail_max_userip_connections=%u)", r->limit);
		imap_cmd_done(cmd);
		return;
	} else {
		client->connected_counted = true;
	}
	auth_logged_in(cmd);
}

static void auth_connect(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct auth_cmd *a = cmd->ctx;
	Stratus__Context c;
	client_context(client, &c);
	c.user = a->user;
	imap_client_ref(client);
	sasl_client_connect(client->ctx->auth, &c, a->user, "imap", client->ip,
			    false, AUTH_RPC_TIMEOUT_MS, auth_connect_answer,
			    client);
}

void imap_auth_release(struct imap_client *client)
{
	if (!client->connected_counted || client->ctx->auth == NULL)
		return;
	client->connected_counted = false;
	Stratus__Context c;
	client_context(client, &c);
	sasl_client_connect(client->ctx->auth, &c, client->user, "imap",
			    client->ip, true, AUTH_RPC_TIMEOUT_MS, NULL, NULL);
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
	if (sasl_base64_decode(line, len, &resp) < 0) {
		sasl_buf_wipe_free(&resp);
		if (a->sasl_id != 0)
			auth_send_step(cmd, NULL, 0, false, true);
		imap_cmd_reply(cmd, "BAD", "Invalid base64 data in "
			       "continued response");
		return true;
	}
	auth_send_step(cmd, resp.data != NULL ? resp.data : "", resp.len,
		       true, false);
	sasl_buf_wipe_free(&resp);
	return false;
}

static void auth_sasl_answer(const struct sasl_client_answer *r, void *ctx)
{
	struct imap_client *client = ctx;
	if (!imap_client_unref(client))
		return;
	struct imap_cmd *cmd = client->cmd;
	if (cmd == NULL || cmd->ctx_free != auth_cmd_free)
		return;
	struct auth_cmd *a = cmd->ctx;
	a->waiting = false;
	struct buf line = BUF_INIT;
	switch (r->result) {
	case SASL_CLIENT_CONTINUE:
		a->sasl_id = r->sasl_id;
		buf_append_str(&line, "+ ");
		sasl_base64_encode(r->challenge, r->challenge_len, &line);
		imap_client_send(client, "%s", line.data);
		buf_free(&line);
		imap_cmd_wait_line(cmd, auth_continue_line);
		return;
	case SASL_CLIENT_OK:
		a->user = xstrdup(r->user);
		auth_connect(cmd);
		return;
	case SASL_CLIENT_LIMIT:
		imap_cmd_reply(cmd, "NO", "[LIMIT] Maximum number of "
			       "connections from user+IP exceeded");
		imap_cmd_done(cmd);
		return;
	case SASL_CLIENT_TEMPFAIL:
		if (r->error != NULL)
			log_error(&client->log, "auth request failed: %s",
				  r->error);
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Temporary "
			       "authentication failure.");
		imap_cmd_done(cmd);
		return;
	case SASL_CLIENT_FAILED:
		log_info(&client->log, "Authentication failed%s%s",
			 r->reason[0] != '\0' ? ": " : "", r->reason);
		auth_failed(cmd, "NO",
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
	sasl_buf_wipe_free(&resp);
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
	if (strcmp(ir, "=") != 0 &&
	    sasl_base64_decode(ir, args[1].len, &resp) < 0) {
		sasl_buf_wipe_free(&resp);
		imap_cmd_reply(cmd, "BAD", "Invalid base64 data in initial "
			       "response");
		return true;
	}
	auth_send_step(cmd, resp.data != NULL ? resp.data : "", resp.len,
		       true, false);
	sasl_buf_wipe_free(&resp);
	explicit_bzero((char *)args[1].str, args[1].len);
	return false;
}
