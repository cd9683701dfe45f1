/* One IMAP connection: non-blocking socket I/O, the command reader, the
 * state machine and the idle timer. Input is read in bounded chunks and
 * handled one command at a time; while a command waits for an RPC, or
 * while more than IMAP_OUTPUT_THROTTLE bytes wait for a slow client, the
 * connection stops reading, so memory per connection stays bounded.
 * Bytes go through client->stream, which may be TLS: its handshake can
 * turn a read into a wait for EPOLLOUT and a write into a wait for
 * EPOLLIN (stream_events), and it can hold decrypted bytes that epoll
 * never reports (stream_pending), which are read from a deferred call. */
#include "imap-common.h"
#include "imap-sync.h"
#include "imap-notify.h"
#include "imap-compress.h"
#include "imap-stats.h"
#include "tls-service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static void imap_client_input(struct loop_io *io, uint32_t events, void *ctx);
static void imap_client_process_input(struct imap_client *client);
static void imap_client_update_io(struct imap_client *client);
static bool imap_client_output(struct imap_client *client);

static void imap_session_id(char out[17])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789+/";
	unsigned char rnd[12];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		uint64_t t = monotonic_ms() ^ (uint64_t)getpid();
		memcpy(rnd, &t, 8);
		memset(rnd + 8, 0x5a, 4);
	}
	for (int i = 0; i < 4; i++) {
		uint32_t v = ((uint32_t)rnd[i * 3] << 16) |
			     ((uint32_t)rnd[i * 3 + 1] << 8) | rnd[i * 3 + 2];
		out[i * 4] = b64[(v >> 18) & 63];
		out[i * 4 + 1] = b64[(v >> 12) & 63];
		out[i * 4 + 2] = b64[(v >> 6) & 63];
		out[i * 4 + 3] = b64[v & 63];
	}
	out[16] = '\0';
}

static void sockaddr_ip(const struct sockaddr_storage *ss, char *ip,
			size_t ip_size, unsigned int *port_r)
{
	*port_r = 0;
	snprintf(ip, ip_size, "unknown");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)ip_size);
		*port_r = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)ip_size);
		*port_r = ntohs(in6->sin6_port);
		/* ::ffff:1.2.3.4 is logged as 1.2.3.4, as Dovecot does */
		if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.'))
			memmove(ip, ip + 7, strlen(ip + 7) + 1);
	} else if (ss->ss_family == AF_UNIX) {
		snprintf(ip, ip_size, "local");
	}
}

static void imap_client_timeout(struct loop_timer *timer, void *ctx)
{
	struct imap_client *client = ctx;
	(void)timer;
	imap_client_send(client, "* BYE Disconnected for inactivity.");
	imap_client_disconnect(client, client->state == IMAP_STATE_NOT_AUTH ?
		"Inactivity (no auth attempts)" : "Disconnected for inactivity");
}

void imap_client_create(struct imap_ctx *ctx, int fd, bool implicit_tls)
{
	struct imap_client *client = xcalloc(1, sizeof(*client));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	client->ctx = ctx;
	client->fd = fd;
	client->stream = stream_plain_new(fd);
	if (client->stream == NULL)
		abort();
	client->refcount = 1;
	if (implicit_tls) {
		/* The greeting below is the first thing written inside
		 * TLS; it goes out once the handshake is done. */
		if (tls_service_start(ctx->tls, &client->stream) < 0) {
			log_error(NULL, "imaps: TLS could not start for a "
				  "new connection");
			stream_destroy(&client->stream);
			free(client);
			return;
		}
		client->tls = true;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_ip(&ss, client->peer_ip, sizeof(client->peer_ip),
			    &client->port);
	else
		snprintf(client->peer_ip, sizeof(client->peer_ip), "unknown");
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_ip(&ss, client->local_ip, sizeof(client->local_ip),
			    &client->local_port);
	memcpy(client->ip, client->peer_ip, sizeof(client->ip));
	char sid[17];
	imap_session_id(sid);
	client->session = xstrdup(sid);
	client->log.session = client->session;
	client->log.client_ip = client->ip;
	buf_init(&client->in, IMAP_INPUT_CHUNK);
	buf_init(&client->out, 0);
	imap_reader_init(&client->reader, ctx->set.max_line_length,
			 ctx->set.max_append, ctx->set.literal_minus);
	client->next = ctx->clients;
	if (ctx->clients != NULL)
		ctx->clients->prev = client;
	ctx->clients = client;
	ctx->svc->clients++;
	ctx->n_connections++;
	service_clients_changed(ctx->svc);

	client->io = loop_io_add(ctx->svc->loop, fd, EPOLLIN,
				 imap_client_input, client);
	client->idle_timer = loop_timer_add(ctx->svc->loop,
					    IMAP_LOGIN_TIMEOUT_MSECS, false,
					    imap_client_timeout, client);
	struct buf caps = BUF_INIT;
	imap_capability_string(client, &caps);
	imap_client_send(client, "* OK [CAPABILITY %s] %s", caps.data,
			 ctx->set.login_greeting);
	buf_free(&caps);
	log_debug(&client->log, "Connect from %s", client->peer_ip);
}

void imap_client_ref(struct imap_client *client)
{
	client->refcount++;
}

static void imap_client_free(struct imap_client *client)
{
	free(client->session);
	free(client->user);
	free(client);
}

/* Not inlined: gcc -O2 cannot see that the caller's own reference keeps
 * the client alive and reports a use after free in every caller. */
__attribute__((noinline)) bool imap_client_unref(struct imap_client *client)
{
	if (--client->refcount > 0)
		return !client->destroyed;
	imap_client_free(client);
	return false;
}

static void imap_cmd_free(struct imap_cmd **cmdp)
{
	struct imap_cmd *cmd = *cmdp;
	if (cmd == NULL)
		return;
	struct imap_client *client = cmd->client;
	bool current = cmdp == &client->cmd;	/* NOTIFY hears of its end */
	if (current)
		cmd->client->drain_cb = NULL;
	*cmdp = NULL;
	imap_stats_command_end(cmd);
	imap_sync_ahead_clear(cmd);
	if (cmd->ctx_free != NULL)
		cmd->ctx_free(cmd->ctx);
	imap_pool_clear(&cmd->pool);
	free(cmd);
	if (current && client->notify != NULL)
		imap_notify_command_done(client);
}

void imap_client_destroy(struct imap_client *client, const char *reason)
{
	struct imap_ctx *ctx = client->ctx;
	if (client->destroyed)
		return;
	client->destroyed = true;
	if (client->state == IMAP_STATE_NOT_AUTH)
		log_info(&client->log, "Disconnected: %s (rip=%s, lip=%s, "
			 "session=<%s>)", reason, client->ip, client->local_ip,
			 client->session);
	else
		log_info(&client->log, "Disconnected: %s in=%llu out=%llu",
			 reason, (unsigned long long)client->in_bytes,
			 (unsigned long long)client->out_bytes);
	imap_auth_release(client);
	imap_cmd_free(&client->cmd);
	imap_notify_free(&client->notify);
	imap_client_unselect(client);
	loop_io_remove(&client->io);
	loop_timer_remove(&client->idle_timer);
	stream_destroy(&client->stream);
	client->fd = -1;
	imap_reader_deinit(&client->reader);
	buf_free(&client->in);
	buf_free(&client->out);
	if (client->prev != NULL)
		client->prev->next = client->next;
	else
		ctx->clients = client->next;
	if (client->next != NULL)
		client->next->prev = client->prev;
	ctx->svc->clients--;
	service_clients_changed(ctx->svc);
	imap_client_unref(client);
}

void imap_clients_destroy_all(struct imap_ctx *ctx)
{
	while (ctx->clients != NULL) {
		struct imap_client *c = ctx->clients;
		/* Best effort: the socket is non-blocking. */
		const char *bye = "* BYE Server shutting down.\r\n";
		ssize_t n = stream_write(c->stream, bye, strlen(bye));
		(void)n;
		imap_client_destroy(c, "Server shutting down");
	}
}

/* Bytes still to go out: queued here, or taken by a compression layer
 * that the socket has not taken yet. */
static size_t imap_client_output_left(struct imap_client *client)
{
	return client->out.len + imap_compress_held(client->stream);
}

/* Writes what the socket takes now; once a STARTTLS reply is all out,
 * switches to TLS. Returns -1 if the connection died. */
static int imap_client_flush(struct imap_client *client)
{
	while (client->out.len > 0) {
		ssize_t n = stream_write(client->stream, client->out.data,
					 client->out.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				client->write_blocked = true;
				return 0;
			}
			return -1;
		}
		client->out_bytes += (uint64_t)n;
		buf_consume(&client->out, (size_t)n);
	}
	if (imap_compress_flush(client->stream) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		client->write_blocked = true;
		return 0;
	}
	client->write_blocked = false;
	if (client->starttls_pending && imap_client_start_tls(client) < 0)
		return -1;
	return 0;
}

void imap_client_send_raw(struct imap_client *client, const void *data,
			  size_t len)
{
	if (client->destroyed)
		return;
	buf_append(&client->out, data, len);
	imap_client_update_io(client);
}

void imap_client_send(struct imap_client *client, const char *fmt, ...)
{
	va_list ap;
	if (client->destroyed)
		return;
	va_start(ap, fmt);
	buf_vprintf(&client->out, fmt, ap);
	va_end(ap);
	buf_append(&client->out, "\r\n", 2);
	imap_client_update_io(client);
}

void imap_client_disconnect(struct imap_client *client, const char *reason)
{
	if (client->destroyed || client->disconnecting)
		return;
	client->disconnecting = true;
	if (imap_client_flush(client) < 0 ||
	    imap_client_output_left(client) == 0) {
		imap_client_destroy(client, reason);
		return;
	}
	/* Wait for the output to drain, but not forever. */
	log_debug(&client->log, "disconnecting after output: %s", reason);
	loop_timer_remove(&client->idle_timer);
	client->idle_timer = loop_timer_add(client->ctx->svc->loop, 10000,
					    false, imap_client_timeout, client);
	imap_client_update_io(client);
}

void imap_client_set_state(struct imap_client *client, enum imap_state st)
{
	if (client->state == IMAP_STATE_NOT_AUTH && st != IMAP_STATE_NOT_AUTH &&
	    client->idle_timer != NULL) {
		loop_timer_remove(&client->idle_timer);
		client->idle_timer = loop_timer_add(client->ctx->svc->loop,
			IMAP_AUTOLOGOUT_MSECS, false, imap_client_timeout,
			client);
	}
	client->state = st;
}

static bool imap_client_busy(const struct imap_client *client)
{
	return client->destroyed || client->disconnecting ||
	       client->starttls_pending ||
	       (client->cmd != NULL && client->cmd->line_fn == NULL) ||
	       client->out.len > IMAP_OUTPUT_THROTTLE;
}

static void imap_client_pending_read(void *ctx)
{
	struct imap_client *client = ctx;
	client->pending_read_scheduled = false;
	if (imap_client_unref(client))
		imap_client_input(client->io, 0, client);
}

/* TLS already holds bytes (a record read only in part, or one more
 * whole record taken from the socket): epoll will not say so, so the
 * read is made from the loop's deferred queue. */
static void imap_client_schedule_pending_read(struct imap_client *client)
{
	if (client->pending_read_scheduled || client->destroyed)
		return;
	client->pending_read_scheduled = true;
	imap_client_ref(client);
	loop_defer(client->ctx->svc->loop, imap_client_pending_read, client);
}

static void imap_client_deferred_flush(void *ctx)
{
	struct imap_client *client = ctx;
	client->flush_scheduled = false;
	if (!imap_client_unref(client))
		return;
	if (imap_client_output(client))
		imap_client_update_io(client);
}

static void imap_client_update_io(struct imap_client *client)
{
	if (client->io == NULL)
		return;
	bool want_input = !imap_client_busy(client) &&
			  client->in.len < IMAP_INPUT_CHUNK;
	if (want_input)
		client->input_stalled = false;
	if (imap_client_output_left(client) > 0 && !client->write_blocked &&
	    !client->flush_scheduled && !client->destroyed) {
		client->flush_scheduled = true;
		imap_client_ref(client);
		loop_defer(client->ctx->svc->loop, imap_client_deferred_flush,
			   client);
	}
	loop_io_set_events(client->io, stream_events(client->stream,
		want_input || !client->input_stalled,
		imap_client_output_left(client) > 0 && client->write_blocked));
	if (want_input && stream_pending(client->stream) > 0)
		imap_client_schedule_pending_read(client);
}

void imap_cmd_reply(struct imap_cmd *cmd, const char *resp,
		    const char *fmt, ...)
{
	struct imap_client *client = cmd->client;
	va_list ap;
	buf_printf(&client->out, "%s %s ", cmd->c.tag, resp);
	va_start(ap, fmt);
	buf_vprintf(&client->out, fmt, ap);
	va_end(ap);
	buf_append(&client->out, "\r\n", 2);
	imap_client_update_io(client);
}

void imap_cmd_bad(struct imap_cmd *cmd, const char *text)
{
	imap_cmd_reply(cmd, "BAD", "Error in IMAP command %s: %s",
		       cmd->c.name, text);
}

static void imap_client_resume(void *ctx)
{
	struct imap_client *client = ctx;
	client->resume_pending = false;
	if (imap_client_unref(client))
		imap_client_process_input(client);
}

static void imap_client_schedule_resume(struct imap_client *client)
{
	if (client->resume_pending || client->destroyed)
		return;
	client->resume_pending = true;
	imap_client_ref(client);
	loop_defer(client->ctx->svc->loop, imap_client_resume, client);
}

void imap_cmd_done(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (client->cmd == cmd)
		imap_cmd_free(&client->cmd);
	if (client->state == IMAP_STATE_LOGOUT) {
		imap_client_disconnect(client, "Logged out");
		return;
	}
	imap_client_update_io(client);
	imap_client_schedule_resume(client);
}

void imap_cmd_wait_line(struct imap_cmd *cmd, imap_cmd_line_fn *fn)
{
	cmd->line_fn = fn;
	imap_client_update_io(cmd->client);
	imap_client_schedule_resume(cmd->client);
}

static bool imap_state_allows(const struct imap_client *client,
			      const struct imap_command_def *def)
{
	switch (client->state) {
	case IMAP_STATE_NOT_AUTH:
		return (def->flags & IMAP_CMD_NOT_AUTH) != 0;
	case IMAP_STATE_AUTH:
		return (def->flags & IMAP_CMD_AUTH) != 0;
	case IMAP_STATE_SELECTED:
		return (def->flags & (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)) != 0;
	case IMAP_STATE_LOGOUT:
		return false;
	}
	return false;
}

/* A whole command arrived: parse it, check the state, run it. */
static void imap_client_run_command(struct imap_client *client)
{
	size_t len;
	const char *text = imap_reader_text(&client->reader, &len);
	struct imap_cmd *cmd = xcalloc(1, sizeof(*cmd));
	const char *error;

	cmd->client = client;
	cmd->id = ++client->next_cmd_id;
	client->ctx->n_commands++;
	imap_stats_command_start(cmd);
	if (imap_parse_command(text, len, client->reader.literals,
			       client->reader.n_literals, &cmd->pool, &cmd->c,
			       &error) < 0) {
		if (cmd->c.tag == NULL)
			imap_client_send(client, "* BAD %s", error);
		else if (cmd->c.name == NULL)
			imap_client_send(client, "%s BAD %s", cmd->c.tag, error);
		else
			imap_client_send(client, "%s BAD Error in IMAP command "
					 "%s: %s", cmd->c.tag, cmd->c.name,
					 error);
		imap_cmd_free(&cmd);
		return;
	}
	/* Literals now live in cmd's pool or stay with the reader (fds);
	 * the fds are taken by the handler if it needs them. */
	cmd->def = imap_command_find(cmd->c.name);
	if (cmd->def == NULL) {
		imap_cmd_bad(cmd, "Unknown command.");
		imap_cmd_free(&cmd);
		return;
	}
	if (!imap_state_allows(client, cmd->def)) {
		if (client->state == IMAP_STATE_NOT_AUTH)
			imap_cmd_reply(cmd, "BAD", "Error in IMAP command %s: "
				       "Not logged in.", cmd->c.name);
		else if ((cmd->def->flags & IMAP_CMD_SELECTED) != 0)
			imap_cmd_reply(cmd, "BAD", "No mailbox selected.");
		else
			imap_cmd_bad(cmd, "Unknown command.");
		imap_cmd_free(&cmd);
		return;
	}
	client->cmd = cmd;
	imap_client_ref(client);
	bool finished = cmd->def->fn(cmd);
	if (!imap_client_unref(client))
		return;
	if (finished && client->cmd == cmd) {
		imap_cmd_free(&client->cmd);
		if (client->state == IMAP_STATE_LOGOUT)
			imap_client_disconnect(client, "Logged out");
	}
}

/* A raw line for a command that reads lines (AUTHENTICATE, IDLE). */
static bool imap_client_line_input(struct imap_client *client)
{
	const char *lf = memchr(client->in.data, '\n', client->in.len);
	if (lf == NULL) {
		if (client->in.len >= IMAP_INPUT_CHUNK) {
			imap_client_send(client, "* BYE Too long line.");
			imap_client_disconnect(client, "Too long line");
		}
		return false;
	}
	size_t n = (size_t)(lf - client->in.data);
	char *line = xstrndup(client->in.data, n);
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	buf_consume(&client->in, (size_t)(lf - client->in.data) + 1);
	struct imap_cmd *cmd = client->cmd;
	imap_client_ref(client);
	bool finished = cmd->line_fn(cmd, line, n);
	free(line);
	if (!imap_client_unref(client))
		return false;
	if (finished && client->cmd == cmd) {
		imap_cmd_free(&client->cmd);
		if (client->state == IMAP_STATE_LOGOUT)
			imap_client_disconnect(client, "Logged out");
	}
	return true;
}

static void imap_client_process_input(struct imap_client *client)
{
	imap_client_ref(client);
	while (!imap_client_busy(client) && client->in.len > 0) {
		if (client->cmd != NULL) {
			if (!imap_client_line_input(client))
				break;
			continue;
		}
		size_t consumed;
		enum imap_read_result res = imap_reader_feed(&client->reader,
			client->in.data, client->in.len, &consumed);
		buf_consume(&client->in, consumed);
		struct imap_reader *r = &client->reader;
		switch (res) {
		case IMAP_READ_MORE:
			break;
		case IMAP_READ_CONTINUE:
			imap_client_send(client, "+ OK");
			break;
		case IMAP_READ_ERROR:
			imap_client_send(client, "%s %s %s", r->err_tag,
					 r->err_resp, r->err_text);
			break;
		case IMAP_READ_FATAL:
			imap_client_send(client, "%s %s %s", r->err_tag,
					 r->err_resp, r->err_text);
			imap_client_send(client, "* BYE %s", r->err_text);
			imap_client_disconnect(client, r->err_text);
			break;
		case IMAP_READ_COMMAND:
			if (client->state != IMAP_STATE_NOT_AUTH &&
			    client->idle_timer != NULL)
				loop_timer_reset(client->idle_timer);
			imap_client_run_command(client);
			if (!client->destroyed)
				imap_reader_reset(&client->reader);
			break;
		}
	}
	if (imap_client_unref(client))
		imap_client_update_io(client);
}

/* Writes what the socket takes and lets the command that waited for
 * room go on. false if the client was destroyed. */
static bool imap_client_output(struct imap_client *client)
{
	if (imap_client_flush(client) < 0) {
		imap_client_destroy(client, errno == EPROTO ?
				    "TLS error" : "Connection closed");
		return false;
	}
	if (client->disconnecting && imap_client_output_left(client) == 0) {
		imap_client_destroy(client, "Logged out");
		return false;
	}
	if (client->drain_cb != NULL && !client->disconnecting &&
	    client->out.len <= IMAP_OUTPUT_THROTTLE / 2) {
		void (*cb)(struct imap_client *) = client->drain_cb;
		client->drain_cb = NULL;
		imap_client_ref(client);
		cb(client);
		if (!imap_client_unref(client))
			return false;
	}
	/* Output over the throttle stopped command processing: once it
	 * drained, commands the client pipelined behind go on (found by
	 * tests/hostile mime_rfc2047_10k_words). */
	if (client->in.len > 0 && !imap_client_busy(client))
		imap_client_schedule_resume(client);
	return true;
}

static void imap_client_input(struct loop_io *io, uint32_t events, void *ctx)
{
	struct imap_client *client = ctx;
	(void)io;

	if ((events & (EPOLLHUP | EPOLLERR)) != 0 &&
	    (imap_client_busy(client) || client->disconnecting)) {
		/* The peer is gone; nothing left to read or write. */
		imap_client_destroy(client, "Connection closed");
		return;
	}
	if (((events & EPOLLOUT) != 0 || client->out.len > 0) &&
	    !imap_client_output(client))
		return;
	/* events == 0: the deferred read of bytes TLS holds; EPOLLOUT with
	 * want_write: a handshake step that waited for room. */
	bool readable = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 ||
			events == 0 || client->stream->want_write;
	if (readable && !client->disconnecting &&
	    client->in.len < IMAP_INPUT_CHUNK && !imap_client_busy(client)) {
		char tmp[IMAP_INPUT_CHUNK];
		size_t want = IMAP_INPUT_CHUNK - client->in.len;
		ssize_t n = stream_read(client->stream, tmp, want);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR &&
			       errno != EWOULDBLOCK)) {
			imap_client_destroy(client, n == 0 ?
				"Connection closed" : errno == EPROTO &&
				client->tls ? "TLS handshake or record failed" :
				strerror(errno));
			return;
		}
		if (n > 0) {
			client->in_bytes += (uint64_t)n;
			buf_append(&client->in, tmp, (size_t)n);
			imap_client_process_input(client);
			return;
		}
	} else if ((events & EPOLLIN) != 0) {
		client->input_stalled = true;
	}
	imap_client_update_io(client);
}
