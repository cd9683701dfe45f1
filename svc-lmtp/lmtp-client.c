/* One LMTP connection: reads command lines (bounded), DATA bodies and
 * BDAT chunks into a memfd, and hands each command to lmtp-commands.c.
 * While the backend works on a command the client is "busy" and reads
 * nothing more, so pipelined commands are answered in order. A client
 * that disconnects while the backend works stays allocated (referenced)
 * until the backend answers. */
#include "lmtp-common.h"
#include "text-line.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lmtp_server_init(struct lmtp_server *server, struct loop *loop,
		      const struct config *cfg,
		      const struct lmtp_backend *backend, void *backend_ctx)
{
	memset(server, 0, sizeof(*server));
	server->loop = loop;
	server->cfg = cfg;
	server->backend = backend;
	server->backend_ctx = backend_ctx;
	lmtp_settings_read(&server->set, cfg);
}

void lmtp_server_deinit(struct lmtp_server *server)
{
	while (server->clients != NULL) {
		struct lmtp_client *c = server->clients;
		text_conn_free(&c->conn);
		c->disconnected = true;
		server->clients = c->next;
		c->prev = c->next = NULL;
		/* Only references held by in-flight backend calls remain;
		 * at shutdown the loop no longer runs them. */
		c->refcount = 1;
		lmtp_client_unref(&c);
	}
	lmtp_settings_free(&server->set);
}

void lmtp_client_txn_reset(struct lmtp_client *client)
{
	struct lmtp_txn *txn = &client->txn;
	for (unsigned int i = 0; i < txn->n_rcpts; i++)
		lmtp_rcpt_free(txn->rcpts[i]);
	free(txn->rcpts);
	free(txn->mail_from);
	if (txn->body_fd >= 0)
		close(txn->body_fd);
	memset(txn, 0, sizeof(*txn));
	txn->body_fd = -1;
	client->mail_given = false;
	client->n_rcpt_cmds = 0;
	client->too_big = false;
	client->write_failed = false;
	client->bdat_started = false;
	client->bdat_last = false;
	client->replies_sent = 0;
	client->state = LMTP_STATE_CMD;
}

void lmtp_client_ref(struct lmtp_client *client)
{
	client->refcount++;
}

void lmtp_client_unref(struct lmtp_client **_client)
{
	struct lmtp_client *client = *_client;
	*_client = NULL;
	if (--client->refcount > 0)
		return;
	lmtp_client_txn_reset(client);
	if (client->pending_rcpt != NULL)
		lmtp_rcpt_free(client->pending_rcpt);
	buf_free(&client->chunk);
	free(client->client_ip);
	free(client->login);
	free(client->helo);
	free(client->disconnect_reason);
	free(client);
}

void lmtp_client_reply(struct lmtp_client *client, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	text_conn_vreply(client->conn, fmt, ap);
	va_end(ap);
}

static void lmtp_client_write_body(struct lmtp_client *client,
				   const char *data, size_t len)
{
	struct lmtp_txn *txn = &client->txn;
	if (client->too_big || client->write_failed || len == 0)
		return;
	if (txn->body_size + len > client->server->set.max_message_size) {
		client->too_big = true;
		return;
	}
	if (txn->body_fd < 0)
		return;
	while (len > 0) {
		ssize_t n = write(txn->body_fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error(&client->log, "writing the message to a "
				  "memfd failed: %s", strerror(errno));
			client->write_failed = true;
			return;
		}
		data += n;
		len -= (size_t)n;
		txn->body_size += (uint64_t)n;
	}
}

/* DATA: unstuff what arrived; at the final dot, deliver. */
static bool lmtp_client_input_data(struct lmtp_client *client,
				   struct buf *in)
{
	bool end;
	buf_reset(&client->chunk);
	size_t used = lmtp_data_parse(&client->data, in->data, in->len,
				      &client->chunk, &end);
	lmtp_client_write_body(client, client->chunk.data, client->chunk.len);
	buf_consume(in, used);
	if (!end)
		return false;
	client->state = LMTP_STATE_CMD;
	lmtp_client_body_done(client);
	return true;
}

/* BDAT: copy the chunk's bytes as they are. */
static bool lmtp_client_input_bdat(struct lmtp_client *client,
				   struct buf *in)
{
	size_t n = in->len;
	if (n > client->bdat_remaining)
		n = (size_t)client->bdat_remaining;
	if (client->bdat_error == NULL)
		lmtp_client_write_body(client, in->data, n);
	buf_consume(in, n);
	client->bdat_remaining -= n;
	if (client->bdat_remaining > 0)
		return false;
	client->state = LMTP_STATE_CMD;
	lmtp_client_body_done(client);
	return true;
}

static void lmtp_client_input(void *ctx, struct buf *in)
{
	struct lmtp_client *client = ctx;
	while (!client->busy && !client->disconnected &&
	       client->conn != NULL && !text_conn_closing(client->conn) &&
	       in->len > 0) {
		if (client->state == LMTP_STATE_DATA) {
			if (!lmtp_client_input_data(client, in))
				return;
			continue;
		}
		if (client->state == LMTP_STATE_BDAT) {
			if (!lmtp_client_input_bdat(client, in))
				return;
			continue;
		}
		char *line;
		size_t len;
		switch (text_line_next(&client->lines, in, &line, &len)) {
		case TEXT_LINE_NONE:
			return;
		case TEXT_LINE_TOO_LONG:
			lmtp_client_reply(client, "500 5.5.2 Line too long");
			return;
		case TEXT_LINE_OK:
			break;
		}
		lmtp_client_command(client, line, len);
		text_line_consume(&client->lines, in);
	}
}

static void lmtp_client_idle(void *ctx)
{
	struct lmtp_client *client = ctx;
	if (client->busy)
		return;
	lmtp_client_reply(client, "421 4.4.2 %s Disconnected for inactivity",
			  client->server->set.hostname);
	text_conn_close_after_flush(client->conn);
}

static void lmtp_client_closed(void *ctx, const char *reason)
{
	struct lmtp_client *client = ctx;
	struct lmtp_server *server = client->server;
	if (client->state != LMTP_STATE_CMD || client->mail_given)
		log_info(&client->log, "Disconnected during a transaction: %s"
			 " (nothing delivered from it)", reason);
	else
		log_debug(&client->log, "Disconnected: %s", reason);
	text_conn_free(&client->conn);
	client->disconnected = true;
	TEXT_CLIENT_UNLINK(&server->clients, server->n_clients, client);
	if (server->clients_changed != NULL)
		server->clients_changed(server);
	lmtp_client_unref(&client);
}

static const struct text_conn_ops lmtp_conn_ops = {
	.input = lmtp_client_input,
	.idle = lmtp_client_idle,
	.closed = lmtp_client_closed,
};

void lmtp_client_continue(struct lmtp_client *client)
{
	client->busy = false;
	if (client->conn != NULL)
		text_conn_resume(client->conn);
}

static void lmtp_client_trust_done(struct lmtp_client *client, bool trusted)
{
	client->trusted = trusted;
	lmtp_client_continue(client);
	lmtp_client_unref(&client);
}

static struct lmtp_client *lmtp_client_new(struct lmtp_server *server,
					   int fd, const char *client_ip,
					   unsigned int client_port,
					   bool implicit_tls)
{
	struct lmtp_client *client = xcalloc(1, sizeof(*client));
	client->server = server;
	client->refcount = 1;
	client->txn.body_fd = -1;
	client->client_ip = xstrdup(client_ip);
	client->client_port = client_port;
	text_session_id(client->session, sizeof(client->session));
	client->log.session = client->session;
	client->log.client_ip = *client->client_ip != '\0' ?
				client->client_ip : NULL;
	buf_init(&client->chunk, 0);
	client->conn = text_conn_new(server->loop, fd,
				     LMTP_MAX_COMMAND_LINE + 2,
				     server->set.idle_msecs, &lmtp_conn_ops,
				     client);
	if (implicit_tls && lmtp_client_tls_wrap(client) < 0) {
		text_conn_free(&client->conn);
		lmtp_client_unref(&client);
		return NULL;
	}
	TEXT_CLIENT_LINK(&server->clients, server->n_clients, client);
	server->n_connections++;
	if (server->clients_changed != NULL)
		server->clients_changed(server);
	lmtp_client_greet(client);
	if (server->set.trusted_networks_set && *client_ip != '\0' &&
	    server->backend->trust != NULL) {
		client->busy = true;
		text_conn_pause(client->conn);
		lmtp_client_ref(client);
		server->backend->trust(server, client, lmtp_client_trust_done);
	}
	return client;
}

struct lmtp_client *lmtp_client_create(struct lmtp_server *server, int fd,
				       const char *client_ip,
				       unsigned int client_port)
{
	return lmtp_client_new(server, fd, client_ip, client_port, false);
}

struct lmtp_client *lmtp_client_create_tls(struct lmtp_server *server,
					   int fd, const char *client_ip,
					   unsigned int client_port)
{
	return lmtp_client_new(server, fd, client_ip, client_port, true);
}
