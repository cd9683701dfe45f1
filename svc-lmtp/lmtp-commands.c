/* LMTP commands (RFC 2033, RFC 5321, RFC 3030 CHUNKING, RFC 6531
 * SMTPUTF8, Postfix XCLIENT). Each cmd_* validates its arguments and the
 * command sequence, answers with an enhanced status code, and starts at
 * most one backend step, during which the client reads nothing more. */
#include "lmtp-common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void lmtp_client_greet(struct lmtp_client *client)
{
	lmtp_client_reply(client, "220 %s %s", client->server->set.hostname,
			  client->server->set.login_greeting);
}

static void cmd_lhlo(struct lmtp_client *client, const char *args)
{
	const struct lmtp_settings *set = &client->server->set;
	if (*args == '\0' || strlen(args) > LMTP_MAX_HELO) {
		lmtp_client_reply(client, "501 5.5.4 Invalid LHLO parameter");
		return;
	}
	for (const char *p = args; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f) {
			lmtp_client_reply(client,
				"501 5.5.4 Invalid LHLO parameter");
			return;
		}
	}
	/* LHLO resets the transaction like RSET (RFC 5321 4.1.4). */
	lmtp_client_txn_reset(client);
	free(client->helo);
	client->helo = xstrdup(args);
	client->lhlo_done = true;
	struct buf *out = text_conn_out(client->conn);
	buf_printf(out, "250-%s\r\n", set->hostname);
	buf_append_str(out, "250-8BITMIME\r\n250-CHUNKING\r\n"
		       "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n");
	buf_printf(out, "250-SIZE %llu\r\n",
		   (unsigned long long)set->max_message_size);
	if (lmtp_client_starttls_offered(client))
		buf_append_str(out, "250-STARTTLS\r\n");
	if (client->trusted)
		buf_append_str(out, "250-XCLIENT ADDR PORT SESSION LOGIN\r\n");
	buf_append_str(out, "250 SMTPUTF8\r\n");
	text_conn_flush(client->conn);
}

static bool lmtp_need_lhlo(struct lmtp_client *client)
{
	if (client->lhlo_done)
		return true;
	lmtp_client_reply(client, "503 5.5.1 Send LHLO first");
	return false;
}

static void cmd_mail(struct lmtp_client *client, char *args)
{
	const char *error;
	struct lmtp_path_cmd path;
	if (!lmtp_need_lhlo(client))
		return;
	if (client->mail_given) {
		lmtp_client_reply(client, "503 5.5.1 MAIL already given");
		return;
	}
	if (lmtp_path_parse(args, "FROM", &path, &error) < 0) {
		lmtp_client_reply(client, "%s", error);
		return;
	}
	bool body_8bit = false, smtputf8 = false;
	for (unsigned int i = 0; i < path.n_params; i++) {
		const struct lmtp_param *p = &path.params[i];
		if (strcmp(p->key, "SIZE") == 0) {
			char *end;
			if (p->value == NULL || !isdigit((unsigned char)
							 p->value[0])) {
				lmtp_client_reply(client,
					"501 5.5.4 Invalid SIZE parameter");
				return;
			}
			unsigned long long size = strtoull(p->value, &end, 10);
			if (*end != '\0') {
				lmtp_client_reply(client,
					"501 5.5.4 Invalid SIZE parameter");
				return;
			}
			if (size > client->server->set.max_message_size) {
				lmtp_client_reply(client, "552 5.3.4 Message "
					"size exceeds fixed maximum message "
					"size");
				return;
			}
		} else if (strcmp(p->key, "BODY") == 0) {
			if (p->value != NULL &&
			    strcasecmp(p->value, "8BITMIME") == 0)
				body_8bit = true;
			else if (p->value == NULL ||
				 strcasecmp(p->value, "7BIT") != 0) {
				lmtp_client_reply(client, "501 5.5.4 "
					"Unsupported BODY parameter");
				return;
			}
		} else if (strcmp(p->key, "SMTPUTF8") == 0 &&
			   p->value == NULL) {
			smtputf8 = true;
		} else {
			lmtp_client_reply(client, "555 5.5.4 Unsupported "
					  "parameter %s", p->key);
			return;
		}
	}
	/* 8-bit in the address needs SMTPUTF8 (RFC 6531 3.4). */
	for (const char *a = path.addr; *a != '\0' && !smtputf8; a++) {
		if ((unsigned char)*a >= 0x80) {
			lmtp_client_reply(client, "553 5.6.7 Address needs "
					  "SMTPUTF8");
			return;
		}
	}
	lmtp_client_txn_reset(client);
	client->mail_given = true;
	client->txn.mail_from = xstrdup(path.addr);
	client->txn.body_8bit = body_8bit;
	client->txn.smtputf8 = smtputf8;
	lmtp_client_reply(client, "250 2.1.0 OK");
}

void lmtp_rcpt_free(struct lmtp_rcpt *r)
{
	if (r->backend_data_free != NULL)
		r->backend_data_free(r->backend_data);
	free(r->address);
	free(r->lookup_user);
	free(r->detail);
	free(r->orcpt);
	free(r->user);
	free(r->mailbox);
	free(r->reply);
	free(r);
}

static void lmtp_rcpt_lookup_done(struct lmtp_client *client,
				  struct lmtp_rcpt *rcpt,
				  enum lmtp_result result)
{
	client->pending_rcpt = NULL;
	if (client->disconnected) {
		lmtp_rcpt_free(rcpt);
		lmtp_client_unref(&client);
		return;
	}
	switch (result) {
	case LMTP_RESULT_OK:
		client->txn.rcpts = xreallocarray(client->txn.rcpts,
			client->txn.n_rcpts + 1, sizeof(*client->txn.rcpts));
		client->txn.rcpts[client->txn.n_rcpts++] = rcpt;
		lmtp_client_reply(client, "250 2.1.5 OK");
		rcpt = NULL;
		break;
	case LMTP_RESULT_NOT_FOUND:
		client->server->n_rejected_rcpts++;
		lmtp_client_reply(client, "550 5.1.1 <%s> User doesn't exist: "
				  "%s", rcpt->address, rcpt->lookup_user);
		break;
	case LMTP_RESULT_OVER_QUOTA:
		lmtp_client_reply(client, "552 5.2.2 <%s> Mailbox is full",
				  rcpt->address);
		break;
	case LMTP_RESULT_OVER_QUOTA_TEMP:
		lmtp_client_reply(client, "452 4.2.2 <%s> Mailbox is full",
				  rcpt->address);
		break;
	case LMTP_RESULT_TEMPFAIL:
	case LMTP_RESULT_REJECTED:	/* only after DATA */
		lmtp_client_reply(client, "451 4.3.0 <%s> Temporary internal "
				  "error", rcpt->address);
		break;
	}
	if (rcpt != NULL)
		lmtp_rcpt_free(rcpt);
	lmtp_client_continue(client);
	lmtp_client_unref(&client);
}

static void cmd_rcpt(struct lmtp_client *client, char *args)
{
	struct lmtp_server *server = client->server;
	const char *error;
	struct lmtp_path_cmd path;
	if (!lmtp_need_lhlo(client))
		return;
	if (!client->mail_given) {
		lmtp_client_reply(client, "503 5.5.1 MAIL needed first");
		return;
	}
	if (lmtp_path_parse(args, "TO", &path, &error) < 0) {
		lmtp_client_reply(client, "%s", error);
		return;
	}
	if (*path.addr == '\0') {
		lmtp_client_reply(client, "501 5.1.3 Missing recipient");
		return;
	}
	const char *orcpt = NULL;
	for (unsigned int i = 0; i < path.n_params; i++) {
		const struct lmtp_param *p = &path.params[i];
		if (strcmp(p->key, "ORCPT") == 0 && p->value != NULL) {
			orcpt = p->value;
		} else {
			lmtp_client_reply(client, "555 5.5.4 Unsupported "
					  "parameter %s", p->key);
			return;
		}
	}
	if (client->n_rcpt_cmds >= LMTP_MAX_RECIPIENTS) {
		lmtp_client_reply(client, "452 4.5.3 Too many recipients");
		return;
	}
	client->n_rcpt_cmds++;
	struct lmtp_rcpt *rcpt = xcalloc(1, sizeof(*rcpt));
	rcpt->address = xstrdup(path.addr);
	char *domain;
	lmtp_address_split(path.addr, server->set.recipient_delimiter,
			   &rcpt->lookup_user, &rcpt->detail, &domain);
	free(domain);
	if (orcpt != NULL) {
		/* "rfc822;addr" in xtext */
		struct buf dec;
		buf_init(&dec, LMTP_MAX_COMMAND_LINE);
		const char *semi = strchr(orcpt, ';');
		if (semi != NULL && lmtp_xtext_decode(semi + 1, &dec) == 0)
			rcpt->orcpt = buf_steal(&dec);
		buf_free(&dec);
	}
	rcpt->mailbox = xstrdup(server->set.save_to_detail_mailbox &&
				*rcpt->detail != '\0' ? rcpt->detail :
				"INBOX");
	client->busy = true;
	client->pending_rcpt = rcpt;
	lmtp_client_ref(client);
	server->backend->rcpt_lookup(server, client, rcpt,
				     lmtp_rcpt_lookup_done);
}

static bool lmtp_txn_open_body(struct lmtp_client *client)
{
	client->txn.body_fd = memfd_create("lmtp-body", MFD_CLOEXEC);
	if (client->txn.body_fd < 0) {
		log_error(&client->log, "memfd_create failed: %m");
		return false;
	}
	client->txn.body_size = 0;
	client->txn.received_time = (int64_t)time(NULL);
	return true;
}

static void cmd_data(struct lmtp_client *client, const char *args)
{
	if (!lmtp_need_lhlo(client))
		return;
	if (*args != '\0') {
		lmtp_client_reply(client, "501 5.5.4 DATA takes no arguments");
		return;
	}
	if (!client->mail_given) {
		lmtp_client_reply(client, "503 5.5.1 MAIL needed first");
		return;
	}
	if (client->bdat_started) {
		lmtp_client_reply(client, "503 5.5.1 BDAT in progress");
		return;
	}
	if (client->txn.n_rcpts == 0) {
		lmtp_client_reply(client, "503 5.5.1 No valid recipients");
		return;
	}
	if (!lmtp_txn_open_body(client)) {
		lmtp_client_reply(client, "451 4.3.0 Temporary internal "
				  "error");
		return;
	}
	memset(&client->data, 0, sizeof(client->data));
	client->state = LMTP_STATE_DATA;
	lmtp_client_reply(client, "354 OK");
}

static void cmd_bdat(struct lmtp_client *client, const char *args)
{
	const char *error;
	uint64_t size;
	bool last;
	if (lmtp_bdat_parse(args, &size, &last, &error) < 0) {
		/* The chunk's length is unknown: the stream is lost. */
		lmtp_client_reply(client, "%s", error);
		text_conn_close_after_flush(client->conn);
		return;
	}
	if (size > client->server->set.max_message_size -
		   (client->bdat_started ? client->txn.body_size : 0)) {
		/* Refused before its bytes arrive: a client would otherwise
		 * stream up to 2^64 octets at us before hearing no. The
		 * chunk cannot be skipped without reading it, so close. */
		lmtp_client_reply(client, "552 5.3.4 Message size exceeds "
				  "fixed maximum message size");
		text_conn_close_after_flush(client->conn);
		return;
	}
	client->bdat_error = NULL;
	if (!client->lhlo_done)
		client->bdat_error = "503 5.5.1 Send LHLO first";
	else if (!client->mail_given)
		client->bdat_error = "503 5.5.1 MAIL needed first";
	else if (client->txn.n_rcpts == 0)
		client->bdat_error = "503 5.5.1 No valid recipients";
	else if (!client->bdat_started) {
		if (!lmtp_txn_open_body(client))
			client->bdat_error = "451 4.3.0 Temporary internal "
					     "error";
		else
			client->bdat_started = true;
	}
	client->bdat_remaining = size;
	client->bdat_last = last;
	client->state = LMTP_STATE_BDAT;
	if (size == 0) {
		client->state = LMTP_STATE_CMD;
		lmtp_client_body_done(client);
	}
}

static void lmtp_send_ready_replies(struct lmtp_client *client)
{
	struct lmtp_txn *txn = &client->txn;
	while (client->replies_sent < txn->n_rcpts &&
	       txn->rcpts[client->replies_sent]->done) {
		lmtp_client_reply(client, "%s",
				  txn->rcpts[client->replies_sent]->reply);
		client->replies_sent++;
	}
}

static void lmtp_deliver_done(struct lmtp_client *client,
			      struct lmtp_rcpt *rcpt, enum lmtp_result result,
			      const char *error)
{
	struct lmtp_server *server = client->server;
	rcpt->done = true;
	switch (result) {
	case LMTP_RESULT_OK:
		server->n_delivered++;
		rcpt->reply = xasprintf("250 2.0.0 <%s> %s Saved",
					rcpt->address, client->session);
		break;
	case LMTP_RESULT_OVER_QUOTA:
	case LMTP_RESULT_OVER_QUOTA_TEMP:
		/* error carries quota_exceeded_message */
		server->n_failed++;
		rcpt->reply = xasprintf("%s <%s> %s",
					result == LMTP_RESULT_OVER_QUOTA ?
					"552 5.2.2" : "452 4.2.2",
					rcpt->address, error != NULL ? error :
					"Quota exceeded");
		break;
	case LMTP_RESULT_REJECTED:
		/* Sieve reject/ereject during the transaction (RFC 5429 2.1):
		 * error carries the script's reason, one line */
		server->n_failed++;
		rcpt->reply = xasprintf("550 5.7.1 %s", error != NULL ?
					error : "Rejected by Sieve");
		break;
	default:
		server->n_failed++;
		log_error(&client->log, "delivery to %s failed: %s",
			  rcpt->address, error != NULL ? error : "unknown");
		rcpt->reply = xasprintf("451 4.3.0 <%s> Temporary internal "
					"error", rcpt->address);
		break;
	}
	lmtp_send_ready_replies(client);
	if (client->replies_sent == client->txn.n_rcpts) {
		lmtp_client_txn_reset(client);
		lmtp_client_continue(client);
	}
	lmtp_client_unref(&client);
}

/* The whole body is in (DATA's final dot or the last BDAT chunk). */
void lmtp_client_body_done(struct lmtp_client *client)
{
	struct lmtp_server *server = client->server;
	struct lmtp_txn *txn = &client->txn;
	if (client->bdat_error != NULL) {
		lmtp_client_reply(client, "%s", client->bdat_error);
		client->bdat_error = NULL;
		return;
	}
	if (client->state == LMTP_STATE_CMD && client->bdat_started &&
	    !client->bdat_last) {
		lmtp_client_reply(client, "250 2.0.0 %llu octets received",
				  (unsigned long long)txn->body_size);
		return;
	}
	const char *fail = NULL;
	if (client->too_big)
		fail = "552 5.3.4 Message size exceeds fixed maximum "
		       "message size";
	else if (client->write_failed)
		fail = "451 4.3.0 Temporary internal error";
	if (fail != NULL) {
		for (unsigned int i = 0; i < txn->n_rcpts; i++)
			lmtp_client_reply(client, "%s", fail);
		lmtp_client_txn_reset(client);
		return;
	}
	/* One reply per recipient, in RCPT order, each only after its
	 * delivery was acknowledged by storage. */
	client->busy = true;
	client->replies_sent = 0;
	unsigned int n = txn->n_rcpts;
	for (unsigned int i = 0; i < n; i++)
		lmtp_client_ref(client);
	for (unsigned int i = 0; i < n; i++)
		server->backend->deliver(server, client, txn, txn->rcpts[i],
					 lmtp_deliver_done);
}

static bool lmtp_session_id_valid(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n >= max)
		return false;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("+/-_.", *s) == NULL)
			return false;
	}
	return true;
}

static void cmd_xclient(struct lmtp_client *client, char *args)
{
	if (!client->trusted) {
		lmtp_client_reply(client, "550 5.7.14 You are not from "
				  "trusted IP");
		return;
	}
	if (client->mail_given) {
		lmtp_client_reply(client, "503 5.5.1 Mail transaction in "
				  "progress");
		return;
	}
	char *addr = NULL, *session = NULL, *login = NULL;
	unsigned int port = 0;
	bool bad = false;
	char *save, *tok;
	for (tok = strtok_r(args, " ", &save); tok != NULL && !bad;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			bad = true;
			break;
		}
		*eq = '\0';
		struct buf val;
		buf_init(&val, 256);
		if (lmtp_xtext_decode(eq + 1, &val) < 0) {
			bad = true;
			buf_free(&val);
			break;
		}
		if (strcasecmp(val.data != NULL ? val.data : "", "[UNAVAILABLE]")
		    == 0 || val.len == 0) {
			buf_free(&val);
			continue;
		}
		if (strcasecmp(tok, "ADDR") == 0) {
			free(addr);
			const char *v = val.data;
			if (strncasecmp(v, "IPV6:", 5) == 0)
				v += 5;
			addr = xstrdup(v);
		} else if (strcasecmp(tok, "PORT") == 0) {
			char *end;
			unsigned long p = strtoul(val.data, &end, 10);
			if (*end != '\0' || p > 65535)
				bad = true;
			port = (unsigned int)p;
		} else if (strcasecmp(tok, "SESSION") == 0) {
			free(session);
			session = xstrdup(val.data);
		} else if (strcasecmp(tok, "LOGIN") == 0) {
			free(login);
			login = xstrdup(val.data);
		}
		/* other Postfix attributes (NAME, HELO, PROTO...) ignored */
		buf_free(&val);
	}
	if (bad) {
		lmtp_client_reply(client, "501 5.5.4 Invalid XCLIENT "
				  "parameters");
	} else {
		if (addr != NULL) {
			free(client->client_ip);
			client->client_ip = addr;
			client->log.client_ip = addr;
			addr = NULL;
		}
		if (port != 0)
			client->client_port = port;
		if (session != NULL && lmtp_session_id_valid(session,
					sizeof(client->session)))
			memcpy(client->session, session, strlen(session) + 1);
		if (login != NULL) {
			free(client->login);
			client->login = login;
			login = NULL;
		}
		client->lhlo_done = false;
		lmtp_client_greet(client);
	}
	free(addr);
	free(session);
	free(login);
}

void lmtp_client_command(struct lmtp_client *client, char *line, size_t len)
{
	struct lmtp_command cmd;
	const char *error;
	if (lmtp_command_parse(line, len, &cmd, &error) < 0) {
		lmtp_client_reply(client, "%s", error);
		return;
	}
	char *args = (char *)cmd.args;
	switch (cmd.verb) {
	case LMTP_CMD_LHLO:
		cmd_lhlo(client, args);
		break;
	case LMTP_CMD_HELO:
	case LMTP_CMD_EHLO:
		lmtp_client_reply(client, "500 5.5.1 Use LHLO with LMTP");
		break;
	case LMTP_CMD_MAIL:
		cmd_mail(client, args);
		break;
	case LMTP_CMD_RCPT:
		cmd_rcpt(client, args);
		break;
	case LMTP_CMD_DATA:
		cmd_data(client, args);
		break;
	case LMTP_CMD_BDAT:
		cmd_bdat(client, args);
		break;
	case LMTP_CMD_RSET:
		lmtp_client_txn_reset(client);
		lmtp_client_reply(client, "250 2.0.0 OK");
		break;
	case LMTP_CMD_NOOP:
		lmtp_client_reply(client, "250 2.0.0 OK");
		break;
	case LMTP_CMD_QUIT:
		lmtp_client_reply(client, "221 2.0.0 %s Bye",
				  client->server->set.hostname);
		text_conn_close_after_flush(client->conn);
		break;
	case LMTP_CMD_VRFY:
		lmtp_client_reply(client, "252 2.3.3 Try RCPT instead");
		break;
	case LMTP_CMD_XCLIENT:
		cmd_xclient(client, args);
		break;
	case LMTP_CMD_STARTTLS:
		lmtp_cmd_starttls(client, args);
		break;
	case LMTP_CMD_UNKNOWN:
		lmtp_client_reply(client, "500 5.5.1 Unknown command");
		break;
	}
}
