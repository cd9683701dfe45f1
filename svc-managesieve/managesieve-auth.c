/* AUTHENTICATE (RFC 5804 section 2.1) with PLAIN and LOGIN, initial
 * response or not: every step goes to svc-auth's Sasl RPC. Challenges are
 * sent as quoted base64 strings, responses come back the same way ("*"
 * aborts). Decoded responses are wiped before they are freed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "managesieve-common.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"

#define AUTH_METHOD_SASL 0

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

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_encode(const unsigned char *in, size_t len,
			  struct buf *out)
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

static void wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

static bool secured(const struct ms_client *client)
{
	return strncmp(client->ip, "127.", 4) == 0 ||
	       strcmp(client->ip, "::1") == 0;
}

static void sasl_reply(const struct rpc_reply *reply, void *ctx);

static void sasl_step(struct ms_client *client, const void *resp,
		      size_t len, bool has_response, bool abort)
{
	Stratus__SaslRequest req = STRATUS__SASL_REQUEST__INIT;
	Stratus__Context c = STRATUS__CONTEXT__INIT;

	req.mechanism = (char *)(client->sasl_login ? "LOGIN" : "PLAIN");
	req.sasl_id = client->sasl_id;
	req.response.data = (uint8_t *)resp;
	req.response.len = len;
	req.has_response = has_response;
	req.protocol = (char *)"managesieve";
	req.local_ip = client->local_ip;
	req.local_port = client->local_port;
	req.secured = secured(client);
	req.abort = abort;
	c.session = client->session;
	c.user = (char *)"";
	c.client_ip = client->ip;
	c.client_port = client->port;
	c.service = (char *)"managesieve";
	ms_client_ref(client);
	rpc_client_call(client->ctx->auth, AUTH_METHOD_SASL, &c, &req.base,
			NULL, 0, MS_RPC_TIMEOUT_MS, sasl_reply,
			abort ? NULL : client);
	if (abort)
		ms_client_unref(client);
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

/* A continuation response: "base64", bare base64, or "*" to abort. */
static void sasl_continue(struct ms_client *client, const char *line,
			  size_t len)
{
	struct buf resp = BUF_INIT;

	if (len >= 2 && line[0] == '"' && line[len - 1] == '"') {
		line++;
		len -= 2;
	}
	if (len == 1 && line[0] == '*') {
		if (client->sasl_id != 0)
			sasl_step(client, NULL, 0, false, true);
		auth_fail(client, "Authentication aborted by client.");
		return;
	}
	if (base64_decode(line, len, &resp) < 0) {
		wipe(&resp);
		if (client->sasl_id != 0)
			sasl_step(client, NULL, 0, false, true);
		auth_fail(client, "Invalid base64 data in continued response");
		return;
	}
	sasl_step(client, resp.data != NULL ? resp.data : "", resp.len, true,
		  false);
	wipe(&resp);
}

static void sasl_reply(const struct rpc_reply *reply, void *ctx)
{
	struct ms_client *client = ctx;
	const Stratus__SaslReply *r;
	struct buf line = BUF_INIT;

	if (client == NULL || !ms_client_unref(client))
		return;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_error(&client->log, "auth request failed: %s",
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
		ms_reply(client, "NO", "TRYLATER", "Temporary authentication "
			 "failure.");
		return;
	}
	r = (const Stratus__SaslReply *)reply->msg;
	switch (r->result) {
	case STRATUS__SASL_RESULT__SASL_CONTINUE:
		client->sasl_id = r->sasl_id;
		buf_append_c(&line, '"');
		base64_encode(r->challenge.data, r->challenge.len, &line);
		buf_append_c(&line, '"');
		client->line_fn = sasl_continue;
		client->busy = false;
		ms_client_send(client, "%s", line.data);
		buf_free(&line);
		return;
	case STRATUS__SASL_RESULT__SASL_SUCCESS:
		if (r->user == NULL || r->user[0] == '\0') {
			ms_reply(client, "NO", "TRYLATER", "Temporary "
				 "authentication failure.");
			return;
		}
		client->user = xstrdup(r->user);
		client->log.user = client->user;
		client->sasl_id = 0;
		log_info(&client->log, "Login: user=<%s>, method=%s, rip=%s, "
			 "lip=%s, session=<%s>", client->user,
			 client->sasl_login ? "LOGIN" : "PLAIN", client->ip,
			 client->local_ip, client->session);
		ms_reply(client, "OK", NULL, "Logged in.");
		return;
	case STRATUS__SASL_RESULT__SASL_TEMPFAIL:
	case STRATUS__SASL_RESULT__SASL_LIMIT:
		ms_reply(client, "NO", "TRYLATER", "Temporary authentication "
			 "failure.");
		return;
	default:
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
	if (base64_decode(cmd->args[1].str, cmd->args[1].len, &resp) < 0) {
		wipe(&resp);
		ms_reply(client, "NO", NULL, "Invalid base64 data in initial "
			 "response.");
		return;
	}
	sasl_step(client, resp.data != NULL ? resp.data : "", resp.len, true,
		  false);
	wipe(&resp);
	explicit_bzero(cmd->args[1].str, cmd->args[1].len);
}
