/* POP3 commands (RFC 1939, RFC 2449 CAPA/RESP-CODES/PIPELINING, RFC 5034
 * SASL with AUTH-RESP-CODE). USER/PASS is sent to svc-auth as one PLAIN
 * exchange. DELE only marks; expunges happen in the UPDATE state at QUIT,
 * and only when svc-index confirmed them does QUIT answer +OK. */
#include "pop3-common.h"
#include "sasl-client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <stdio.h>

#include "var-expand.h"

static bool pop3_mech_allowed(const struct pop3_client *client,
			      const char *mech)
{
	const char *list = client->server->set.auth_mechanisms;
	size_t len = strlen(mech);
	if (len == 0)
		return false;
	for (const char *p = list; (p = strcasestr(p, mech)) != NULL; p++) {
		bool start = p == list || p[-1] == ' ' || p[-1] == ',';
		bool end = p[len] == '\0' || p[len] == ' ' || p[len] == ',';
		if (start && end)
			return strcasecmp(mech, "PLAIN") == 0 ||
			       strcasecmp(mech, "LOGIN") == 0;
	}
	return false;
}

static void pop3_maildrop_done(struct pop3_client *client,
			       enum pop3_maildrop_result result,
			       struct pop3_message *messages,
			       unsigned int count, uint32_t uidvalidity)
{
	if (client->disconnected) {
		pop3_messages_free(messages, count);
		pop3_client_unref(&client);
		return;
	}
	if (result == POP3_MAILDROP_IN_USE) {
		/* not counted: nothing to release at disconnect */
		client->counted = false;
		pop3_client_reply(client, "-ERR [IN-USE] Maximum number of "
				  "connections from user+IP exceeded "
				  "(mail_max_userip_connections)");
		text_conn_close_after_flush(client->conn);
	} else if (result != POP3_MAILDROP_OK) {
		pop3_client_reply(client, "-ERR [SYS/TEMP] Couldn't open "
				  "INBOX: temporary failure");
		text_conn_close_after_flush(client->conn);
	} else {
		client->msgs = messages;
		client->n_msgs = count;
		client->uidvalidity = uidvalidity;
		client->state = POP3_STATE_TRANS;
		client->log.user = client->user;
		client->server->n_logins++;
		log_info(&client->log, "Logged in");
		pop3_client_reply(client, "+OK Logged in.");
	}
	pop3_client_continue(client);
	pop3_client_unref(&client);
}

static void pop3_auth_done(struct pop3_client *client,
			   enum pop3_auth_result result, const void *challenge,
			   size_t challenge_len, const char *user)
{
	struct pop3_server *server = client->server;
	if (client->disconnected) {
		pop3_client_unref(&client);
		return;
	}
	if (result == POP3_AUTH_CONTINUE && client->sasl_mech != NULL) {
		struct buf b;
		buf_init(&b, 0);
		sasl_base64_encode(challenge, challenge_len, &b);
		pop3_client_reply(client, "+ %s", b.data != NULL ? b.data : "");
		buf_free(&b);
		pop3_client_continue(client);
		pop3_client_unref(&client);
		return;
	}
	free(client->sasl_mech);
	client->sasl_mech = NULL;
	client->sasl_id = 0;
	switch (result) {
	case POP3_AUTH_OK:
		client->user = xstrdup(user);
		client->counted = true;
		/* keep the reference for the maildrop step */
		server->backend->maildrop(server, client, pop3_maildrop_done);
		return;
	case POP3_AUTH_CONTINUE:
	case POP3_AUTH_FAILED:
		server->n_login_failures++;
		pop3_client_reply(client, "-ERR [AUTH] Authentication failed.");
		break;
	case POP3_AUTH_TEMPFAIL:
		pop3_client_reply(client, "-ERR [SYS/TEMP] Temporary "
				  "authentication failure.");
		break;
	case POP3_AUTH_LIMIT:
		pop3_client_reply(client, "-ERR [IN-USE] Maximum number of "
				  "connections from user+IP exceeded "
				  "(mail_max_userip_connections)");
		break;
	}
	pop3_client_continue(client);
	pop3_client_unref(&client);
}

static void pop3_sasl_abort_done(struct pop3_client *client,
				 enum pop3_auth_result result,
				 const void *challenge, size_t challenge_len,
				 const char *user)
{
	(void)result;
	(void)challenge;
	(void)challenge_len;
	(void)user;
	if (!client->disconnected)
		pop3_client_continue(client);
	pop3_client_unref(&client);
}

static void pop3_sasl_abort(struct pop3_client *client)
{
	struct pop3_server *server = client->server;
	client->busy = true;
	pop3_client_ref(client);
	server->backend->sasl(server, client, client->sasl_mech,
			      client->sasl_id, NULL, 0, false, true,
			      pop3_sasl_abort_done);
	free(client->sasl_mech);
	client->sasl_mech = NULL;
	client->sasl_id = 0;
}

static void pop3_sasl_step(struct pop3_client *client, const char *mech,
			   const void *resp, size_t len, bool has_resp,
			   bool abort)
{
	struct pop3_server *server = client->server;
	client->busy = true;
	pop3_client_ref(client);
	server->backend->sasl(server, client, mech, client->sasl_id, resp, len,
			      has_resp, abort, pop3_auth_done);
}

static bool pop3_stls_offered(struct pop3_client *client)
{
	struct pop3_server *server = client->server;
	return !client->tls && server->tls_available != NULL &&
	       server->tls_available(server);
}

/* RFC 2595 4: STLS only in the AUTHORIZATION state, once. */
static void cmd_stls(struct pop3_client *client)
{
	if (client->state != POP3_STATE_AUTH) {
		pop3_client_reply(client, "-ERR Unknown command.");
		return;
	}
	if (client->tls) {
		pop3_client_reply(client, "-ERR TLS is already active.");
		return;
	}
	if (!pop3_stls_offered(client)) {
		pop3_client_reply(client, "-ERR TLS support isn't enabled.");
		return;
	}
	free(client->user_cmd);
	client->user_cmd = NULL;
	pop3_client_reply(client, "+OK Begin TLS negotiation now.");
	pop3_client_starttls(client);
}

/* disable_plaintext_auth / ssl = required before TLS: refused with
 * Dovecot's words, and the caller answers nothing else. */
static bool pop3_plaintext_refused(struct pop3_client *client)
{
	if (pop3_client_plaintext_allowed(client))
		return false;
	pop3_client_reply(client, "-ERR [AUTH] Plaintext authentication "
			  "disallowed on non-secure (SSL/TLS) connections.");
	return true;
}

static void cmd_pass(struct pop3_client *client, const char *args)
{
	if (client->user_cmd == NULL) {
		pop3_client_reply(client, "-ERR No username given.");
		return;
	}
	/* PLAIN: authzid NUL authcid NUL password */
	struct buf resp;
	buf_init(&resp, 0);
	buf_append_c(&resp, '\0');
	buf_append_str(&resp, client->user_cmd);
	buf_append_c(&resp, '\0');
	buf_append_str(&resp, args);
	free(client->user_cmd);
	client->user_cmd = NULL;
	client->sasl_id = 0;
	pop3_sasl_step(client, "PLAIN", resp.data, resp.len, true, false);
	sasl_buf_wipe_free(&resp);
}

static void cmd_auth(struct pop3_client *client, char *args)
{
	if (*args == '\0') {
		struct buf *out = text_conn_out(client->conn);
		buf_append_str(out, "+OK\r\n");
		char *mechs = xstrdup(client->server->set.auth_mechanisms);
		char *save = NULL;
		for (char *m = strtok_r(mechs, " ,", &save); m != NULL;
		     m = strtok_r(NULL, " ,", &save)) {
			if (pop3_mech_allowed(client, m))
				buf_printf(out, "%s\r\n", m);
		}
		free(mechs);
		buf_append_str(out, ".\r\n");
		text_conn_flush(client->conn);
		return;
	}
	char *ir = strchr(args, ' ');
	if (ir != NULL)
		*ir++ = '\0';
	if (!pop3_mech_allowed(client, args)) {
		pop3_client_reply(client, "-ERR Unsupported authentication "
				  "mechanism.");
		return;
	}
	struct buf resp;
	buf_init(&resp, POP3_MAX_LINE);
	bool has_resp = false;
	if (ir != NULL) {
		has_resp = true;
		if (strcmp(ir, "=") != 0 &&
		    sasl_base64_decode(ir, strlen(ir), &resp) < 0) {
			sasl_buf_wipe_free(&resp);
			pop3_client_reply(client, "-ERR Invalid base64 data "
					  "in initial response.");
			return;
		}
	}
	for (char *p = args; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	client->sasl_mech = xstrdup(args);
	client->sasl_id = 0;
	pop3_sasl_step(client, client->sasl_mech, resp.data, resp.len,
		       has_resp, false);
	sasl_buf_wipe_free(&resp);
}

void pop3_client_sasl_response(struct pop3_client *client, char *line,
			       size_t len)
{
	if (strcmp(line, "*") == 0) {
		pop3_sasl_abort(client);
		pop3_client_reply(client, "-ERR Authentication aborted.");
		return;
	}
	struct buf resp;
	buf_init(&resp, POP3_MAX_LINE);
	if (sasl_base64_decode(line, len, &resp) < 0) {
		sasl_buf_wipe_free(&resp);
		pop3_sasl_abort(client);
		pop3_client_reply(client, "-ERR Invalid base64 data in "
				  "continued response");
		return;
	}
	pop3_sasl_step(client, client->sasl_mech, resp.data, resp.len, true,
		       false);
	sasl_buf_wipe_free(&resp);
}

static void cmd_capa(struct pop3_client *client)
{
	struct buf *out = text_conn_out(client->conn);
	buf_append_str(out, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		       "PIPELINING\r\nAUTH-RESP-CODE\r\n");
	if (client->state == POP3_STATE_AUTH && pop3_stls_offered(client))
		buf_append_str(out, "STLS\r\n");
	/* Plaintext mechanisms are all there is: none before TLS when
	 * disable_plaintext_auth applies (as Dovecot hides them). */
	if (client->state == POP3_STATE_AUTH &&
	    pop3_client_plaintext_allowed(client)) {
		buf_append_str(out, "USER\r\nSASL");
		char *mechs = xstrdup(client->server->set.auth_mechanisms);
		char *save = NULL;
		for (char *m = strtok_r(mechs, " ,", &save); m != NULL;
		     m = strtok_r(NULL, " ,", &save)) {
			if (pop3_mech_allowed(client, m))
				buf_printf(out, " %s", m);
		}
		free(mechs);
		buf_append_str(out, "\r\n");
	}
	buf_append_str(out, ".\r\n");
	text_conn_flush(client->conn);
}

/* Parses a message number argument; replies and returns NULL when it is
 * bad, out of range or deleted. */
static struct pop3_message *pop3_get_msg(struct pop3_client *client,
					 const char *arg)
{
	unsigned int num;
	if (*arg == '\0') {
		pop3_client_reply(client, "-ERR Missing message number.");
		return NULL;
	}
	if (pop3_parse_msgnum(arg, client->n_msgs, &num) < 0) {
		pop3_client_reply(client, "-ERR There's no message %s.", arg);
		return NULL;
	}
	struct pop3_message *m = &client->msgs[num - 1];
	if (m->deleted) {
		pop3_client_reply(client, "-ERR Message is deleted.");
		return NULL;
	}
	return m;
}

static void cmd_stat(struct pop3_client *client)
{
	unsigned int count = 0;
	uint64_t size = 0;
	for (unsigned int i = 0; i < client->n_msgs; i++) {
		if (!client->msgs[i].deleted) {
			count++;
			size += client->msgs[i].size;
		}
	}
	pop3_client_reply(client, "+OK %u %llu", count,
			  (unsigned long long)size);
}

static void cmd_list(struct pop3_client *client, const char *args)
{
	if (*args != '\0') {
		struct pop3_message *m = pop3_get_msg(client, args);
		if (m != NULL)
			pop3_client_reply(client, "+OK %u %llu",
					  (unsigned int)(m - client->msgs) + 1,
					  (unsigned long long)m->size);
		return;
	}
	struct buf *out = text_conn_out(client->conn);
	unsigned int count = 0;
	uint64_t size = 0;
	for (unsigned int i = 0; i < client->n_msgs; i++) {
		if (!client->msgs[i].deleted) {
			count++;
			size += client->msgs[i].size;
		}
	}
	buf_printf(out, "+OK %u messages:\r\n", count);
	for (unsigned int i = 0; i < client->n_msgs; i++) {
		if (!client->msgs[i].deleted)
			buf_printf(out, "%u %llu\r\n", i + 1,
				   (unsigned long long)client->msgs[i].size);
	}
	buf_append_str(out, ".\r\n");
	text_conn_flush(client->conn);
}

int pop3_uidl(const struct pop3_client *client, const struct pop3_message *m,
	      struct buf *out)
{
	char uid[16], uidv[16];
	snprintf(uid, sizeof(uid), "%u", m->uid);
	snprintf(uidv, sizeof(uidv), "%u", client->uidvalidity);
	const struct var_expand_entry table[] = {
		{ 'v', "uidvalidity", uidv },
		{ 'u', "uid", uid },
		{ 'g', "guid", m->guid },
		{ '\0', "user", client->user },
		{ '\0', NULL, NULL },
	};
	const char *error;
	return var_expand(out, client->server->set.uidl_format, table, NULL,
			  NULL, &error);
}

static void cmd_uidl(struct pop3_client *client, const char *args)
{
	struct buf uidl;
	buf_init(&uidl, 1024);
	if (*args != '\0') {
		struct pop3_message *m = pop3_get_msg(client, args);
		if (m != NULL) {
			if (pop3_uidl(client, m, &uidl) < 0)
				pop3_client_reply(client, "-ERR [SYS/TEMP] "
						  "Invalid pop3_uidl_format");
			else
				pop3_client_reply(client, "+OK %u %s",
					(unsigned int)(m - client->msgs) + 1,
					uidl.data != NULL ? uidl.data : "");
		}
		buf_free(&uidl);
		return;
	}
	struct buf *out = text_conn_out(client->conn);
	buf_append_str(out, "+OK\r\n");
	for (unsigned int i = 0; i < client->n_msgs; i++) {
		if (client->msgs[i].deleted)
			continue;
		buf_reset(&uidl);
		if (pop3_uidl(client, &client->msgs[i], &uidl) < 0) {
			log_error(&client->log, "pop3_uidl_format %s does not "
				  "expand", client->server->set.uidl_format);
			break;
		}
		buf_printf(out, "%u %s\r\n", i + 1,
			   uidl.data != NULL ? uidl.data : "");
	}
	buf_append_str(out, ".\r\n");
	buf_free(&uidl);
	text_conn_flush(client->conn);
}

static void pop3_body_done(struct pop3_client *client, int fd)
{
	if (client->disconnected) {
		if (fd >= 0)
			close(fd);
		pop3_client_unref(&client);
		return;
	}
	if (fd < 0) {
		pop3_client_reply(client, "-ERR [SYS/TEMP] Couldn't read the "
				  "message, try again later.");
		client->xfer_msg = NULL;
		pop3_client_continue(client);
	} else {
		struct pop3_message *m = client->xfer_msg;
		if (client->xfer.top) {
			client->top_count++;
			pop3_client_reply(client, "+OK");
		} else {
			client->retr_count++;
			client->server->n_retr++;
			m->seen_set = true;
			pop3_client_reply(client, "+OK %llu octets",
					  (unsigned long long)m->size);
		}
		pop3_client_xfer_start(client, fd);
	}
	pop3_client_unref(&client);
}

static void pop3_fetch(struct pop3_client *client, struct pop3_message *m,
		       bool top, uint64_t lines)
{
	struct pop3_server *server = client->server;
	memset(&client->xfer, 0, sizeof(client->xfer));
	pop3_xfer_init(&client->xfer);
	client->xfer.top = top;
	client->xfer.max_body_lines = lines;
	client->xfer.nul_to_0x80 = server->set.outlook_no_nuls;
	client->xfer.add_eoh = server->set.oe_ns_eoh;
	if (top && lines == 0)
		client->xfer.max_body_lines = 0;
	client->xfer_msg = m;
	client->busy = true;
	pop3_client_ref(client);
	server->backend->body(server, client, m, pop3_body_done);
}

static void cmd_retr(struct pop3_client *client, const char *args)
{
	struct pop3_message *m = pop3_get_msg(client, args);
	if (m != NULL)
		pop3_fetch(client, m, false, 0);
}

static void cmd_top(struct pop3_client *client, char *args)
{
	char *sp = strchr(args, ' ');
	uint64_t lines;
	if (sp == NULL) {
		pop3_client_reply(client, "-ERR Missing line count.");
		return;
	}
	*sp++ = '\0';
	if (pop3_parse_uint(sp, &lines) < 0) {
		pop3_client_reply(client, "-ERR Invalid line count.");
		return;
	}
	struct pop3_message *m = pop3_get_msg(client, args);
	if (m != NULL)
		pop3_fetch(client, m, true, lines);
}

static void cmd_dele(struct pop3_client *client, const char *args)
{
	struct pop3_message *m = pop3_get_msg(client, args);
	if (m == NULL)
		return;
	m->deleted = true;
	pop3_client_reply(client, "+OK Marked to be deleted.");
}

static void cmd_rset(struct pop3_client *client)
{
	for (unsigned int i = 0; i < client->n_msgs; i++) {
		client->msgs[i].deleted = false;
		client->msgs[i].seen_set = false;
	}
	pop3_client_reply(client, "+OK");
}

static void pop3_update_done(struct pop3_client *client, bool ok)
{
	if (client->disconnected) {
		pop3_client_unref(&client);
		return;
	}
	if (ok)
		pop3_client_reply(client, "+OK Logging out, messages "
				  "deleted.");
	else
		pop3_client_reply(client, "-ERR [SYS/TEMP] Failed to delete "
				  "messages; they are still there.");
	text_conn_close_after_flush(client->conn);
	pop3_client_unref(&client);
}

static void cmd_quit(struct pop3_client *client)
{
	struct pop3_server *server = client->server;
	if (client->state != POP3_STATE_TRANS) {
		pop3_client_reply(client, "+OK Logging out.");
		text_conn_close_after_flush(client->conn);
		return;
	}
	uint32_t *expunge = xcalloc(client->n_msgs + 1, sizeof(uint32_t));
	uint32_t *seen = xcalloc(client->n_msgs + 1, sizeof(uint32_t));
	unsigned int n_expunge = 0, n_seen = 0;
	for (unsigned int i = 0; i < client->n_msgs; i++) {
		if (client->msgs[i].deleted)
			expunge[n_expunge++] = client->msgs[i].uid;
		else if (client->msgs[i].seen_set &&
			 !server->set.no_flag_updates)
			seen[n_seen++] = client->msgs[i].uid;
	}
	client->state = POP3_STATE_UPDATE;
	if (n_expunge == 0 && n_seen == 0) {
		free(expunge);
		free(seen);
		pop3_client_reply(client, "+OK Logging out.");
		text_conn_close_after_flush(client->conn);
		return;
	}
	server->n_expunged += n_expunge;
	client->busy = true;
	pop3_client_ref(client);
	server->backend->update(server, client, expunge, n_expunge, seen,
				n_seen, pop3_update_done);
	free(expunge);
	free(seen);
}

static void pop3_bad_command(struct pop3_client *client, const char *reply)
{
	pop3_client_reply(client, "%s", reply);
	if (++client->bad_commands >= POP3_MAX_BAD_COMMANDS) {
		pop3_client_reply(client, "-ERR Too many bad commands.");
		text_conn_close_after_flush(client->conn);
	}
}

void pop3_client_command(struct pop3_client *client, char *line, size_t len)
{
	struct pop3_command cmd;
	if (pop3_command_parse(line, len, &cmd) < 0) {
		pop3_bad_command(client, "-ERR Invalid characters in command.");
		return;
	}
	char *args = (char *)cmd.args;
	switch (cmd.verb) {
	case POP3_CMD_CAPA:
		cmd_capa(client);
		return;
	case POP3_CMD_NOOP:
		if (client->state != POP3_STATE_TRANS)
			break;
		pop3_client_reply(client, "+OK");
		return;
	case POP3_CMD_QUIT:
		cmd_quit(client);
		return;
	case POP3_CMD_STLS:
		cmd_stls(client);
		return;
	default:
		break;
	}
	if (client->state == POP3_STATE_AUTH) {
		switch (cmd.verb) {
		case POP3_CMD_USER:
			if (pop3_plaintext_refused(client))
				return;
			if (*args == '\0') {
				pop3_bad_command(client,
					"-ERR No username given.");
				return;
			}
			free(client->user_cmd);
			client->user_cmd = xstrdup(args);
			pop3_client_reply(client, "+OK");
			return;
		case POP3_CMD_PASS:
			if (pop3_plaintext_refused(client))
				return;
			cmd_pass(client, args);
			return;
		case POP3_CMD_AUTH:
			if (*args != '\0' && pop3_plaintext_refused(client))
				return;
			cmd_auth(client, args);
			return;
		default:
			pop3_bad_command(client, "-ERR Unknown command.");
			return;
		}
	}
	switch (cmd.verb) {
	case POP3_CMD_STAT:
		cmd_stat(client);
		return;
	case POP3_CMD_LIST:
		cmd_list(client, args);
		return;
	case POP3_CMD_RETR:
		cmd_retr(client, args);
		return;
	case POP3_CMD_TOP:
		cmd_top(client, args);
		return;
	case POP3_CMD_DELE:
		cmd_dele(client, args);
		return;
	case POP3_CMD_RSET:
		cmd_rset(client);
		return;
	case POP3_CMD_UIDL:
		cmd_uidl(client, args);
		return;
	case POP3_CMD_NOOP:
		pop3_client_reply(client, "+OK");
		return;
	default:
		pop3_bad_command(client, "-ERR Unknown command.");
		return;
	}
}
