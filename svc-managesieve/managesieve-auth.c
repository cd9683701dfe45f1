/* Everything svc-managesieve asks of svc-auth:
 *  - Trust at connect: is the TCP peer in login_trusted_networks? Only
 *    then is XCLIENT offered and accepted, and the forwarded address,
 *    port and session replace the peer's in logs and in auth requests.
 *  - AUTHENTICATE (RFC 5804 section 2.1) with PLAIN and LOGIN, initial
 *    response or not: every step goes to the Sasl RPC. Challenges go out
 *    as quoted base64 strings; responses come back as strings (quoted or
 *    literal; "*" aborts). Decoded responses are wiped before freeing.
 *  - Connect after a successful login: mail_max_userip_connections of
 *    `protocol sieve`, released at UNAUTHENTICATE or disconnect. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "managesieve-common.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"
#include "sasl-client.h"

#define AUTH_METHOD_TRUST 5
_Static_assert(AUTH_METHOD_TRUST < 6, "auth.proto has six methods");

void ms_auth_init(struct ms_ctx *ctx)
{
	char *path = service_rpc_socket_path(ctx->svc->cfg, "auth");

	ctx->auth = rpc_client_new(ctx->svc->loop, path,
				   &stratus__auth__descriptor,
				   AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	free(path);
}

void ms_auth_deinit(struct ms_ctx *ctx)
{
	rpc_client_free(&ctx->auth);
}

/* The TCP peer decides, never a forwarded address: TLS, loopback or
 * our own address (managesieve-tls.c). */
static bool secured(const struct ms_client *client)
{
	return ms_client_secured(client);
}

static void client_context(struct ms_client *client, Stratus__Context *c)
{
	stratus__context__init(c);
	c->session = client->session;
	c->user = client->user != NULL ? client->user : (char *)"";
	c->client_ip = client->ip;
	c->client_port = client->port;
	c->service = (char *)"managesieve";
}

/* ---- Trust: the greeting, XCLIENT ---- */

static void greet_reply(const struct rpc_reply *reply, void *ctx)
{
	struct ms_client *client = ctx;

	if (!ms_client_unref(client))
		return;
	if (reply->status == STRATUS__STATUS__STATUS_OK)
		client->trusted = ((const Stratus__TrustReply *)reply->msg)->trusted;
	else
		log_warning(&client->log, "trust check failed (%s); treating "
			    "the peer as untrusted", reply->error != NULL ?
			    reply->error : rpc_status_name(reply->status));
	client->busy = false;
	ms_capability(client);
	ms_client_send(client, "OK \"%s ready.\"",
		       client->ctx->set.implementation);
}

void ms_auth_greet(struct ms_client *client)
{
	Stratus__TrustRequest req = STRATUS__TRUST_REQUEST__INIT;
	Stratus__Context c;

	req.ip = client->peer_ip;
	req.protocol = (char *)"sieve";
	client_context(client, &c);
	ms_client_ref(client);
	rpc_client_call(client->ctx->auth, AUTH_METHOD_TRUST, &c, &req.base,
			NULL, 0, MS_TRUST_TIMEOUT_MS, greet_reply, client);
}

static void xclient_reply(const struct rpc_reply *reply, void *ctx)
{
	struct ms_client *client = ctx;
	const Stratus__TrustReply *r;

	if (!ms_client_unref(client))
		return;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_error(&client->log, "XCLIENT: trust check failed: %s",
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
		ms_reply_internal(client);
		return;
	}
	r = (const Stratus__TrustReply *)reply->msg;
	if (!r->trusted) {
		client->trusted = false;
		ms_reply(client, "NO", NULL, "You are not from trusted IP");
		return;
	}
	if (strlen(r->client_ip) < sizeof(client->ip))
		memcpy(client->ip, r->client_ip, strlen(r->client_ip) + 1);
	client->port = r->client_port;
	if (r->session[0] != '\0') {
		free(client->session);
		client->session = xstrdup(r->session);
		client->log.session = client->session;
	}
	log_info(&client->log, "XCLIENT from %s: client %s:%u",
		 client->peer_ip, client->ip, client->port);
	ms_reply(client, "OK", NULL, "Updated");
}

static bool session_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789+/=-_.") == len;
}

/* XCLIENT ADDR=ip PORT=n SESSION=id TTL=n (FORWARD= is accepted and
 * ignored): the proxy in front tells who the client really is. */
void cmd_xclient(struct ms_client *client)
{
	const struct ms_command *cmd = &client->cmd;
	Stratus__TrustRequest req = STRATUS__TRUST_REQUEST__INIT;
	Stratus__Context c;
	unsigned char addr[16];
	const char *ip = NULL, *session = NULL;
	unsigned long port = 0;
	bool ok = cmd->n_args > 0;

	if (!client->trusted) {
		ms_reply(client, "NO", NULL, "You are not from trusted IP");
		return;
	}
	for (unsigned int i = 0; i < cmd->n_args && ok; i++) {
		const char *a = cmd->args[i].str;
		char *end;

		if (cmd->args[i].type != MS_ARG_ATOM) {
			ok = false;
		} else if (strncasecmp(a, "ADDR=", 5) == 0) {
			ip = a + 5;
			ok = inet_pton(AF_INET, ip, addr) == 1 ||
			     inet_pton(AF_INET6, ip, addr) == 1;
		} else if (strncasecmp(a, "PORT=", 5) == 0) {
			port = strtoul(a + 5, &end, 10);
			ok = a[5] != '\0' && *end == '\0' && port <= 65535;
		} else if (strncasecmp(a, "SESSION=", 8) == 0) {
			session = a + 8;
			ok = session_ok(session);
		} else if (strncasecmp(a, "TTL=", 4) == 0) {
			(void)strtoul(a + 4, &end, 10);
			ok = a[4] != '\0' && *end == '\0';
		} else if (strncasecmp(a, "FORWARD=", 8) != 0) {
			ok = false;
		}
	}
	if (!ok) {
		ms_reply(client, "NO", NULL, "Error in MANAGESIEVE command "
			 "received by server.");
		return;
	}
	req.ip = client->peer_ip;
	req.protocol = (char *)"sieve";
	req.forwarded_ip = (char *)(ip != NULL ? ip : "");
	req.forwarded_port = (uint32_t)port;
	req.forwarded_session = (char *)(session != NULL ? session : "");
	client_context(client, &c);
	ms_client_ref(client);
	rpc_client_call(client->ctx->auth, AUTH_METHOD_TRUST, &c, &req.base,
			NULL, 0, MS_RPC_TIMEOUT_MS, xclient_reply, client);
}

/* ---- Connect: mail_max_userip_connections ---- */

void ms_auth_release(struct ms_client *client)
{
	Stratus__Context c;

	if (!client->connect_counted || client->ctx->auth == NULL)
		return;
	client->connect_counted = false;
	client_context(client, &c);
	sasl_client_connect(client->ctx->auth, &c, client->user, "sieve",
			    client->ip, true, MS_RPC_TIMEOUT_MS, NULL, NULL);
}

static void logged_in(struct ms_client *client)
{
	log_info(&client->log, "Login: user=<%s>, method=%s, rip=%s, lip=%s, "
		 "session=<%s>", client->user,
		 client->sasl_login ? "LOGIN" : "PLAIN", client->ip,
		 client->local_ip, client->session);
	ms_reply(client, "OK", NULL, "Logged in.");
}

static void connect_answer(const struct sasl_client_connect_answer *r,
			   void *ctx)
{
	struct ms_client *client = ctx;

	if (!ms_client_unref(client))
		return;
	if (r->error != NULL) {
		/* Counting is down: logging in beats locking everyone out,
		 * as in svc-imap. */
		log_warning(&client->log, "connection counting failed (%s); "
			    "mail_max_userip_connections not enforced for "
			    "this session", r->error);
		logged_in(client);
		return;
	}
	if (!r->allowed) {
		log_info(&client->log, "Login refused: user=<%s>: "
			 "mail_max_userip_connections=%u reached",
			 client->user, r->limit);
		free(client->user);
		client->user = NULL;
		client->log.user = NULL;
		ms_reply(client, "NO", "TRYLATER", "Maximum number of "
			 "connections from user+IP exceeded "
			 "(mail_max_userip_connections=%u)", r->limit);
		return;
	}
	client->connect_counted = true;
	logged_in(client);
}

static void auth_connect(struct ms_client *client)
{
	Stratus__Context c;

	client_context(client, &c);
	ms_client_ref(client);
	sasl_client_connect(client->ctx->auth, &c, client->user, "sieve",
			    client->ip, false, MS_RPC_TIMEOUT_MS,
			    connect_answer, client);
}

/* ---- SASL ---- */

static void sasl_answer(const struct sasl_client_answer *r, void *ctx);

static void sasl_step(struct ms_client *client, const void *resp,
		      size_t len, bool has_response, bool abort)
{
	struct sasl_client_step step = {
		.mechanism = client->sasl_login ? "LOGIN" : "PLAIN",
		.sasl_id = client->sasl_id,
		.response = resp,
		.response_len = len,
		.has_response = has_response,
		.abort = abort,
		.protocol = "managesieve",
		.local_ip = client->local_ip,
		.local_port = client->local_port,
		.remote_ip = client->peer_ip,
		.secured = secured(client),
		.valid_client_cert =
			tls_stream_has_valid_client_cert(client->stream),
	};
	Stratus__Context c = STRATUS__CONTEXT__INIT;

	c.session = client->session;
	c.user = (char *)"";
	c.client_ip = client->ip;
	c.client_port = client->port;
	c.service = (char *)"managesieve";
	if (abort) {
		sasl_client_send(client->ctx->auth, &c, &step,
				 MS_RPC_TIMEOUT_MS, NULL, NULL);
		return;
	}
	ms_client_ref(client);
	sasl_client_send(client->ctx->auth, &c, &step, MS_RPC_TIMEOUT_MS,
			 sasl_answer, client);
}

static void auth_fail(struct ms_client *client, const char *text)
{
	client->sasl_id = 0;
	if (++client->auth_failures >= MS_MAX_AUTH_FAILURES) {
		client->disconnecting = true;
		ms_reply(client, "BYE", NULL, "Too many failed logins.");
		return;
	}
	ms_reply(client, "NO", NULL, "%s", text);
}

static void sasl_refuse(struct ms_client *client, const char *text)
{
	if (client->sasl_id != 0)
		sasl_step(client, NULL, 0, false, true);
	auth_fail(client, text);
}

/* A continuation response (NULL: not a string): base64, or "*" to
 * abort. Texts as Pigeonhole's. */
static void sasl_continue(struct ms_client *client,
			  const struct ms_command *resp)
{
	struct buf data = BUF_INIT;
	const struct ms_arg *a;

	if (resp != NULL && resp->n_args == 0) {
		sasl_refuse(client, "Received empty AUTHENTICATE client "
			    "response line.");
		return;
	}
	if (resp == NULL || resp->n_args != 1) {
		sasl_refuse(client, "Invalid AUTHENTICATE client response.");
		return;
	}
	a = &resp->args[0];
	if (a->len == 1 && a->str[0] == '*') {
		sasl_refuse(client, "Authentication aborted by client.");
		return;
	}
	if (sasl_base64_decode(a->str, a->len, &data) < 0) {
		sasl_buf_wipe_free(&data);
		sasl_refuse(client, "Invalid base64 data in continued "
			    "response");
		return;
	}
	sasl_step(client, data.data != NULL ? data.data : "", data.len, true,
		  false);
	sasl_buf_wipe_free(&data);
}

static void sasl_answer(const struct sasl_client_answer *r, void *ctx)
{
	struct ms_client *client = ctx;
	struct buf line = BUF_INIT;

	if (!ms_client_unref(client))
		return;
	switch (r->result) {
	case SASL_CLIENT_CONTINUE:
		client->sasl_id = r->sasl_id;
		buf_append_c(&line, '"');
		sasl_base64_encode(r->challenge, r->challenge_len, &line);
		buf_append_c(&line, '"');
		client->line_fn = sasl_continue;
		client->busy = false;
		ms_client_send(client, "%s", line.data);
		buf_free(&line);
		return;
	case SASL_CLIENT_OK:
		client->user = xstrdup(r->user);
		client->log.user = client->user;
		client->sasl_id = 0;
		auth_connect(client);
		return;
	case SASL_CLIENT_TEMPFAIL:
	case SASL_CLIENT_LIMIT:
		if (r->error != NULL)
			log_error(&client->log, "auth request failed: %s",
				  r->error);
		ms_reply(client, "NO", "TRYLATER", "Temporary authentication "
			 "failure.");
		return;
	case SASL_CLIENT_FAILED:
		log_info(&client->log, "Authentication failed%s%s",
			 r->reason[0] != '\0' ? ": " : "", r->reason);
		auth_fail(client, "Authentication failed.");
		return;
	}
}

void cmd_authenticate(struct ms_client *client)
{
	const struct ms_command *cmd = &client->cmd;
	struct buf resp = BUF_INIT;

	if (cmd->n_args < 1 || cmd->n_args > 2) {
		ms_reply(client, "NO", NULL, "Invalid arguments.");
		return;
	}
	/* PLAIN and LOGIN are all there are, and both are plaintext */
	if (!ms_client_plaintext_allowed(client)) {
		ms_reply(client, "NO", "ENCRYPT-NEEDED", "Plaintext "
			 "authentication disallowed on non-secure (SSL/TLS) "
			 "connections.");
		return;
	}
	if (strcasecmp(cmd->args[0].str, "PLAIN") == 0) {
		client->sasl_login = false;
	} else if (strcasecmp(cmd->args[0].str, "LOGIN") == 0) {
		client->sasl_login = true;
	} else {
		ms_reply(client, "NO", NULL, "Unsupported authentication "
			 "mechanism.");
		return;
	}
	client->sasl_id = 0;
	if (cmd->n_args == 1) {
		sasl_step(client, NULL, 0, false, false);
		return;
	}
	if (sasl_base64_decode(cmd->args[1].str, cmd->args[1].len, &resp) < 0) {
		sasl_buf_wipe_free(&resp);
		ms_reply(client, "NO", NULL, "Invalid base64 data in initial "
			 "response.");
		return;
	}
	sasl_step(client, resp.data != NULL ? resp.data : "", resp.len, true,
		  false);
	sasl_buf_wipe_free(&resp);
	explicit_bzero(cmd->args[1].str, cmd->args[1].len);
}
