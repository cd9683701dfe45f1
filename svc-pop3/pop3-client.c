/* One POP3 connection: bounded command lines, SASL response lines, and
 * RETR/TOP streaming from a body fd in chunks as the client reads (a slow
 * reader holds at most TEXT_CONN_OUT_HIGH of output). While the backend
 * works the client reads nothing, so pipelined commands stay in order. */
#include "pop3-common.h"
#include "sasl-client.h"
#include "text-line.h"
#include "tls-service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void pop3_server_init(struct pop3_server *server, struct loop *loop,
		      const struct config *cfg,
		      const struct pop3_backend *backend, void *backend_ctx)
{
	char *error = NULL;
	memset(server, 0, sizeof(*server));
	server->loop = loop;
	server->cfg = cfg;
	server->backend = backend;
	server->backend_ctx = backend_ctx;
	/* the read-ahead leaves three quarters of the fds to connections */
	struct rlimit rl;
	rlim_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
			rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 1024;
	server->ahead_fds_max = nofile / 4 > UINT32_MAX / 2 ?
				UINT32_MAX / 2 : (unsigned int)(nofile / 4);
	if (pop3_settings_read(&server->set, cfg, &error) < 0) {
		log_warning(NULL, "%s", error);
		free(error);
	}
}

void pop3_server_deinit(struct pop3_server *server)
{
	while (server->clients != NULL) {
		struct pop3_client *c = server->clients;
		text_conn_free(&c->conn);
		c->disconnected = true;
		server->clients = c->next;
		c->refcount = 1;
		pop3_client_unref(&c);
	}
	pop3_settings_free(&server->set);
}

void pop3_client_ref(struct pop3_client *client)
{
	client->refcount++;
}

void pop3_messages_free(struct pop3_message *msgs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(msgs[i].guid);
		free(msgs[i].object_id);
	}
	free(msgs);
}

void pop3_client_unref(struct pop3_client **_client)
{
	struct pop3_client *client = *_client;
	*_client = NULL;
	if (--client->refcount > 0)
		return;
	if (client->xfer_fd >= 0)
		close(client->xfer_fd);
	for (unsigned int i = 0; i < client->n_ahead; i++) {
		if (client->ahead[i].fd >= 0) {
			close(client->ahead[i].fd);
			client->server->ahead_fds--;
		}
	}
	pop3_messages_free(client->msgs, client->n_msgs);
	free(client->user_cmd);
	free(client->sasl_mech);
	free(client->user);
	free(client->client_ip);
	free(client);
}

void pop3_client_reply(struct pop3_client *client, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	text_conn_vreply(client->conn, fmt, ap);
	va_end(ap);
}

void pop3_client_continue(struct pop3_client *client)
{
	client->busy = false;
	if (client->conn != NULL)
		text_conn_resume(client->conn);
}

static void pop3_close_deferred(void *ctx)
{
	close((int)(intptr_t)ctx);
}

static void pop3_xfer_end(struct pop3_client *client)
{
	/* closed once this loop turn wrote the reply: a syscall less
	 * between the client's RETR and its answer */
	loop_defer(client->server->loop, pop3_close_deferred,
		   (void *)(intptr_t)client->xfer_fd);
	client->xfer_fd = -1;
	client->xfer_msg = NULL;
	pop3_client_continue(client);
}

/* Appends chunks until the output is over its high mark or the message
 * ends; text-conn calls us again when the client has read enough. */
static void pop3_xfer_pump(struct pop3_client *client)
{
	if (client->xfer_fd < 0 || client->conn == NULL)
		return;
	struct buf *out = text_conn_out(client->conn);
	static char tmp[POP3_XFER_CHUNK];
	bool eof = false;
	while (out->len < TEXT_CONN_OUT_HIGH && !client->xfer.done && !eof) {
		ssize_t n = pread(client->xfer_fd, tmp, sizeof(tmp),
				  (off_t)client->xfer_offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Half a message was sent: the only honest end is
			 * to drop the connection. */
			log_error(&client->log, "reading a message body "
				  "failed: %s", strerror(errno));
			text_conn_close_after_flush(client->conn);
			pop3_xfer_end(client);
			return;
		}
		if (n == 0)
			break;
		/* A short read of the body (a regular file or memfd nobody
		 * writes to any more) is its end: no pread just to see 0. */
		eof = (size_t)n < sizeof(tmp);
		client->xfer_offset += (uint64_t)n;
		size_t before = out->len;
		pop3_xfer_feed(&client->xfer, tmp, (size_t)n, out);
		if (client->xfer.top)
			client->top_bytes += out->len - before;
		else
			client->retr_bytes += out->len - before;
	}
	if (out->len >= TEXT_CONN_OUT_HIGH && !client->xfer.done && !eof) {
		text_conn_flush(client->conn);
		return;
	}
	pop3_xfer_finish(&client->xfer, out);
	buf_append(out, ".\r\n", 3);
	text_conn_flush(client->conn);
	pop3_xfer_end(client);
}

void pop3_client_xfer_start(struct pop3_client *client, int fd)
{
	client->xfer_fd = fd;
	client->xfer_offset = 0;
	pop3_xfer_pump(client);
}

static void pop3_client_output_drained(void *ctx)
{
	pop3_xfer_pump(ctx);
}

static void pop3_client_input(void *ctx, struct buf *in)
{
	struct pop3_client *client = ctx;
	while (!client->busy && !client->disconnected &&
	       client->conn != NULL && !text_conn_closing(client->conn) &&
	       in->len > 0) {
		char *line;
		size_t len;
		switch (text_line_next(&client->lines, in, &line, &len)) {
		case TEXT_LINE_NONE:
			return;
		case TEXT_LINE_TOO_LONG:
			pop3_client_reply(client, "-ERR Input line too long.");
			return;
		case TEXT_LINE_OK:
			break;
		}
		if (client->sasl_mech != NULL)
			pop3_client_sasl_response(client, line, len);
		else
			pop3_client_command(client, line, len);
		text_line_consume(&client->lines, in);
	}
}

static void pop3_client_idle(void *ctx)
{
	struct pop3_client *client = ctx;
	if (client->busy)
		return;
	pop3_client_reply(client, "-ERR Disconnected for inactivity.");
	text_conn_close_after_flush(client->conn);
}

static void pop3_client_closed(void *ctx, const char *reason)
{
	struct pop3_client *client = ctx;
	struct pop3_server *server = client->server;
	if (client->user != NULL)
		log_info(&client->log, "Disconnected: %s top=%llu/%llu, "
			 "retr=%llu/%llu", reason,
			 (unsigned long long)client->top_count,
			 (unsigned long long)client->top_bytes,
			 (unsigned long long)client->retr_count,
			 (unsigned long long)client->retr_bytes);
	text_conn_free(&client->conn);
	client->disconnected = true;
	if (client->counted && server->backend->logout != NULL)
		server->backend->logout(server, client);
	client->counted = false;
	TEXT_CLIENT_UNLINK(&server->clients, server->n_clients, client);
	if (server->clients_changed != NULL)
		server->clients_changed(server);
	pop3_client_unref(&client);
}

static const struct text_conn_ops pop3_conn_ops = {
	.input = pop3_client_input,
	.output_drained = pop3_client_output_drained,
	.idle = pop3_client_idle,
	.closed = pop3_client_closed,
};

static int pop3_client_tls_layer(void *ctx, struct stream **sp)
{
	struct pop3_client *client = ctx;
	struct pop3_server *server = client->server;
	if (server->tls_start == NULL || server->tls_start(server, sp) < 0)
		return -1;
	client->tls = true;
	client->tls_stream = *sp;
	return 0;
}

void pop3_client_starttls(struct pop3_client *client)
{
	text_conn_upgrade(client->conn, pop3_client_tls_layer, client);
}

bool pop3_client_secured(const struct pop3_client *client)
{
	return client->tls ||
	       tls_peer_secured(client->client_ip, client->local_ip);
}

bool pop3_client_plaintext_allowed(const struct pop3_client *client)
{
	struct pop3_server *server = client->server;
	bool secured = pop3_client_secured(client);
	if (server->plaintext_allowed == NULL)
		return true;
	return server->plaintext_allowed(server, secured);
}

static void pop3_local_ip(int fd, char *ip, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ip[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
			  (socklen_t)size);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  ip, (socklen_t)size);
		if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.'))
			memmove(ip, ip + 7, strlen(ip + 7) + 1);
	}
}

static struct pop3_client *pop3_client_new(struct pop3_server *server, int fd,
					   const char *client_ip,
					   unsigned int client_port,
					   bool implicit_tls)
{
	struct pop3_client *client = xcalloc(1, sizeof(*client));
	client->server = server;
	client->refcount = 1;
	client->xfer_fd = -1;
	client->ahead_next = -1;
	client->client_ip = xstrdup(client_ip);
	client->client_port = client_port;
	text_session_id(client->session, sizeof(client->session));
	client->log.session = client->session;
	client->log.client_ip = *client_ip != '\0' ? client->client_ip : NULL;
	client->conn = text_conn_new(server->loop, fd, POP3_MAX_LINE + 2,
				     POP3_IDLE_MSECS_AUTH, &pop3_conn_ops,
				     client);
	pop3_local_ip(fd, client->local_ip, sizeof(client->local_ip));
	TEXT_CLIENT_LINK(&server->clients, server->n_clients, client);
	if (server->clients_changed != NULL)
		server->clients_changed(server);
	if (implicit_tls) {
		/* pop3s: the greeting is the first thing written in TLS */
		struct pop3_client *ref = client;
		pop3_client_ref(ref);
		text_conn_upgrade(client->conn, pop3_client_tls_layer, client);
		bool gone = client->disconnected;
		pop3_client_unref(&ref);
		if (gone)
			return NULL;
	}
	pop3_client_reply(client, "+OK %s", server->set.login_greeting);
	return client;
}

struct pop3_client *pop3_client_create(struct pop3_server *server, int fd,
				       const char *client_ip,
				       unsigned int client_port)
{
	return pop3_client_new(server, fd, client_ip, client_port, false);
}

struct pop3_client *pop3_client_create_tls(struct pop3_server *server, int fd,
					   const char *client_ip,
					   unsigned int client_port)
{
	return pop3_client_new(server, fd, client_ip, client_port, true);
}
