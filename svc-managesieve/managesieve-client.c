/* One ManageSieve connection: bounded input, the command table (which
 * also says in which state a command is allowed), replies and the
 * connection's lifetime. A command that waits for an RPC pauses the
 * input; its reply (ms_reply) resumes it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "sieve.h"
#include "managesieve-common.h"

enum cmd_state { ANY, NOT_AUTH, AUTH };

static void cmd_capability(struct ms_client *client);
static void cmd_noop(struct ms_client *client);
static void cmd_logout(struct ms_client *client);
static void cmd_unauthenticate(struct ms_client *client);

static const struct {
	const char *name;
	enum cmd_state state;
	void (*fn)(struct ms_client *client);
} commands[] = {
	{ "CAPABILITY", ANY, cmd_capability },
	{ "NOOP", ANY, cmd_noop },
	{ "LOGOUT", ANY, cmd_logout },
	{ "STARTTLS", NOT_AUTH, cmd_starttls },
	{ "AUTHENTICATE", NOT_AUTH, cmd_authenticate },
	{ "XCLIENT", NOT_AUTH, cmd_xclient },
	{ "UNAUTHENTICATE", AUTH, cmd_unauthenticate },
	{ "HAVESPACE", AUTH, cmd_havespace },
	{ "PUTSCRIPT", AUTH, cmd_putscript },
	{ "CHECKSCRIPT", AUTH, cmd_checkscript },
	{ "LISTSCRIPTS", AUTH, cmd_listscripts },
	{ "SETACTIVE", AUTH, cmd_setactive },
	{ "GETSCRIPT", AUTH, cmd_getscript },
	{ "DELETESCRIPT", AUTH, cmd_deletescript },
	{ "RENAMESCRIPT", AUTH, cmd_renamescript },
};

static void client_input(struct loop_io *io, uint32_t events, void *ctx);

void ms_quote(struct buf *out, const char *s)
{
	buf_append_c(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_append_c(out, '\\');
		if (*s != '\r' && *s != '\n')
			buf_append_c(out, *s);
	}
	buf_append_c(out, '"');
}

static void client_read_deferred(void *ctx);

/* The epoll events the client waits for. A TLS stream may hold bytes
 * already decrypted that epoll will not report: they are read from the
 * loop's deferred queue. */
static void update_io(struct ms_client *client)
{
	bool want_input = !client->busy && !client->starttls_pending &&
			  !client->disconnecting;

	if (client->fd < 0)
		return;
	loop_io_set_events(client->io, stream_events(client->stream,
		want_input, client->out.len > 0));
	if (want_input && !client->read_scheduled &&
	    stream_pending(client->stream) > 0) {
		client->read_scheduled = true;
		ms_client_ref(client);
		loop_defer(client->ctx->svc->loop, client_read_deferred,
			   client);
	}
}

static void flush(struct ms_client *client)
{
	while (client->out.len > 0) {
		ssize_t n = stream_write(client->stream, client->out.data,
					 client->out.len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			client->out.len = 0;
			ms_client_disconnect(client, errno == EPROTO ?
					     "TLS error" : "write failed");
			return;
		}
		buf_consume(&client->out, (size_t)n);
		/* The STARTTLS OK is out: TLS from here; it queues the
		 * capabilities, written inside TLS by this loop. */
		if (client->out.len == 0 && client->starttls_pending &&
		    ms_client_start_tls(client) < 0) {
			ms_client_disconnect(client, "TLS could not start");
			return;
		}
	}
	if (client->out.len == 0 && client->disconnecting) {
		ms_client_disconnect(client, NULL);
		return;
	}
	update_io(client);
}

void ms_client_send_raw(struct ms_client *client, const void *data,
			size_t len)
{
	buf_append(&client->out, data, len);
}

void ms_client_send(struct ms_client *client, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&client->out, fmt, ap);
	va_end(ap);
	buf_append_str(&client->out, "\r\n");
	flush(client);
}

void ms_reply_internal(struct ms_client *client)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	ms_reply(client, "NO", "TRYLATER", "Internal error occurred. Refer "
		 "to server log for more information. [%s]", stamp);
}

static void client_free(struct ms_client *client)
{
	struct ms_ctx *ctx = client->ctx;

	if (client->prev != NULL)
		client->prev->next = client->next;
	else
		ctx->clients = client->next;
	if (client->next != NULL)
		client->next->prev = client->prev;
	ms_command_free(&client->cmd);
	buf_free(&client->in);
	buf_free(&client->out);
	free(client->session);
	free(client->user);
	free(client->name);
	free(client->name2);
	free(client->script);
	free(client->warnings);
	sieve_storage_entries_free(client->entries, client->n_entries);
	free(client);
	ctx->svc->clients--;
	service_clients_changed(ctx->svc);
}

void ms_client_ref(struct ms_client *client)
{
	client->refcount++;
}

bool ms_client_unref(struct ms_client *client)
{
	client->refcount--;
	if (client->fd >= 0)
		return true;
	if (client->refcount == 0)
		client_free(client);
	return false;
}

void ms_client_disconnect(struct ms_client *client, const char *reason)
{
	if (client->fd < 0)
		return;
	if (reason != NULL)
		log_info(&client->log, "Disconnected: %s", reason);
	ms_auth_release(client);
	loop_io_remove(&client->io);
	loop_timer_remove(&client->idle);
	stream_destroy(&client->stream);
	client->fd = -1;
	if (client->refcount == 0)
		client_free(client);
}

void ms_capability(struct ms_client *client)
{
	struct buf *out = &client->out;
	const struct ms_settings *set = &client->ctx->set;

	buf_append_str(out, "\"IMPLEMENTATION\" ");
	ms_quote(out, set->implementation);
	buf_append_str(out, "\r\n\"SIEVE\" ");
	ms_quote(out, set->sieve_capability);
	/* No NOTIFY: enotify is not implemented, and Pigeonhole only
	 * announces it when it is. */
	/* Plaintext mechanisms are all there are: none are announced
	 * where AUTHENTICATE would refuse them (before TLS). */
	if (client->user == NULL && ms_client_plaintext_allowed(client))
		buf_append_str(out, "\r\n\"SASL\" \"PLAIN LOGIN\"");
	else
		buf_append_str(out, "\r\n\"SASL\" \"\"");
	if (ms_client_starttls_offered(client))
		buf_append_str(out, "\r\n\"STARTTLS\"");
	buf_printf(out, "\r\n\"MAXREDIRECTS\" \"%u\"", set->max_redirects);
	buf_append_str(out, "\r\n\"VERSION\" \"1.0\"");
	/* Only a proxy in login_trusted_networks may forward, so only it
	 * hears of XCLIENT (as Pigeonhole's managesieve-login). */
	if (client->trusted && client->user == NULL)
		buf_append_str(out, "\r\n\"XCLIENT\"");
	buf_append_str(out, "\r\n");
}

static void handle_input(struct ms_client *client);

static void deferred_input(void *ctx)
{
	struct ms_client *client = ctx;

	if (!ms_client_unref(client))
		return;
	handle_input(client);
}

void ms_reply(struct ms_client *client, const char *status,
	      const char *code, const char *fmt, ...)
{
	struct buf text = BUF_INIT, line = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	buf_append_str(&line, status);
	if (code != NULL)
		buf_printf(&line, " (%s)", code);
	if (text.len > 0) {
		buf_append_c(&line, ' ');
		/* Multi-line texts (compile errors) go as a literal. */
		if (strchr(text.data, '\n') != NULL)
			buf_printf(&line, "{%zu}\r\n%s", text.len, text.data);
		else
			ms_quote(&line, text.data);
	}
	ms_command_free(&client->cmd);
	client->busy = false;
	/* Sending may close the connection (LOGOUT, write error): hold
	 * the client until this function is done with it. */
	ms_client_ref(client);
	ms_client_send(client, "%s", line.data);
	buf_free(&text);
	buf_free(&line);
	if (!ms_client_unref(client))
		return;
	/* Commands already buffered run from the loop, not at the next
	 * read (and not recursively from here). */
	if (client->fd >= 0 && client->in.len > 0 && !client->disconnecting) {
		ms_client_ref(client);
		loop_defer(client->ctx->svc->loop, deferred_input, client);
	}
}

static void cmd_capability(struct ms_client *client)
{
	ms_capability(client);
	ms_reply(client, "OK", NULL, "Capability completed.");
}

/* RFC 5804 2.11: an echo tag comes back as the TAG response code. */
static void cmd_noop(struct ms_client *client)
{
	const struct ms_command *cmd = &client->cmd;
	struct buf code = BUF_INIT;

	if (cmd->n_args == 0) {
		ms_reply(client, "OK", NULL, "NOOP Completed");
		return;
	}
	if (cmd->n_args != 1 || cmd->args[0].type != MS_ARG_STRING ||
	    strlen(cmd->args[0].str) != cmd->args[0].len) {
		ms_reply(client, "NO", NULL, "Invalid echo tag.");
		return;
	}
	buf_append_str(&code, "TAG ");
	ms_quote(&code, cmd->args[0].str);
	ms_reply(client, "OK", code.data, "Done");
	buf_free(&code);
}

static void cmd_logout(struct ms_client *client)
{
	client->disconnecting = true;
	ms_reply(client, "OK", NULL, "Logout completed.");
}

static void cmd_unauthenticate(struct ms_client *client)
{
	log_info(&client->log, "Unauthenticated");
	ms_auth_release(client);
	free(client->user);
	client->user = NULL;
	client->log.user = NULL;
	ms_reply(client, "OK", NULL, "Unauthenticate completed.");
}

/* Counts an unknown or malformed command; too many end the connection
 * (a client that speaks another protocol gets nowhere). */
static void bad_command(struct ms_client *client, const char *text)
{
	unsigned int max = client->user == NULL ?
			   MS_MAX_BAD_COMMANDS_PREAUTH : MS_MAX_BAD_COMMANDS;

	if (++client->bad_commands >= max) {
		client->disconnecting = true;
		ms_reply(client, "BYE", NULL, "Too many invalid MANAGESIEVE "
			 "commands.");
		return;
	}
	ms_reply(client, "NO", NULL, "%s", text);
}

static void dispatch(struct ms_client *client)
{
	const char *name = client->cmd.name;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if ((commands[i].state == AUTH && client->user == NULL) ||
		    (commands[i].state == NOT_AUTH && client->user != NULL)) {
			ms_reply(client, "NO", NULL, client->user == NULL ?
				 "Not authenticated." :
				 "Already authenticated.");
			return;
		}
		client->busy = true;
		commands[i].fn(client);
		return;
	}
	bad_command(client, "Unknown command.");
}

static void handle_input_locked(struct ms_client *client);

/* A SASL continuation response: a string (quoted or literal), or for
 * older clients a bare "*" or bare base64. false: wait for more input
 * (or the client is gone). */
static bool sasl_response_input(struct ms_client *client)
{
	const struct ms_settings *set = &client->ctx->set;
	ms_line_fn *fn = client->line_fn;
	struct ms_command resp;
	size_t consumed;
	const char *error;
	enum ms_parse_result r;

	r = ms_parse_response(client->in.data, client->in.len, set->max_line,
			      &resp, &consumed, &error);
	if (r == MS_PARSE_ERROR) {
		/* Perhaps bare: take the line's one atom-like word. */
		char *nl = memchr(client->in.data, '\n', client->in.len);
		size_t len = nl != NULL ? (size_t)(nl - client->in.data) : 0;

		if (len > 0 && client->in.data[len - 1] == '\r')
			len--;
		if (len > 0 && strspn(client->in.data, "ABCDEFGHIJKLMNOPQRSTUVW"
			"XYZabcdefghijklmnopqrstuvwxyz0123456789+/=*") == len) {
			memset(&resp, 0, sizeof(resp));
			resp.name = xstrdup("");
			resp.args[0].type = MS_ARG_ATOM;
			resp.args[0].str = xstrndup(client->in.data, len);
			resp.args[0].len = len;
			resp.n_args = 1;
			r = MS_PARSE_OK;
		}
	}
	if (r == MS_PARSE_NEED_MORE)
		return false;
	if (r == MS_PARSE_TOO_LONG) {
		ms_client_send(client, "BYE \"Authentication response too "
			       "large.\"");
		ms_client_disconnect(client, "SASL response too long");
		return false;
	}
	explicit_bzero(client->in.data, consumed);
	buf_consume(&client->in, consumed);
	client->line_fn = NULL;
	client->busy = true;
	fn(client, r == MS_PARSE_OK ? &resp : NULL);
	if (r == MS_PARSE_OK) {
		for (unsigned int i = 0; i < resp.n_args; i++)
			explicit_bzero(resp.args[i].str, resp.args[i].len);
		ms_command_free(&resp);
	}
	return true;
}

static void handle_input(struct ms_client *client)
{
	ms_client_ref(client);
	handle_input_locked(client);
	ms_client_unref(client);
}

static void handle_input_locked(struct ms_client *client)
{
	const struct ms_settings *set = &client->ctx->set;

	while (client->fd >= 0 && !client->busy && !client->disconnecting &&
	       client->in.len > 0) {
		size_t consumed;
		const char *error;
		enum ms_parse_result r;

		if (client->line_fn != NULL) {
			if (!sasl_response_input(client))
				return;
			continue;
		}
		r = ms_parse_command(client->in.data, client->in.len,
				     set->max_line, set->max_script_size + 1024,
				     &client->cmd, &consumed, &error);
		if (r == MS_PARSE_NEED_MORE)
			return;
		if (r == MS_PARSE_TOO_LONG) {
			ms_client_send(client, "BYE \"Command line or literal "
				       "too long.\"");
			ms_client_disconnect(client, "input too long");
			return;
		}
		buf_consume(&client->in, consumed);
		if (r == MS_PARSE_ERROR) {
			bad_command(client, error);
			continue;
		}
		loop_timer_reset(client->idle);
		dispatch(client);
	}
}

/* Reads what the stream has now; false when the client is gone. */
static bool client_read(struct ms_client *client)
{
	char *space = buf_append_space(&client->in, MS_INPUT_CHUNK);
	ssize_t n;

	if (space == NULL) {
		ms_client_disconnect(client, "input buffer full");
		return false;
	}
	n = stream_read(client->stream, space, MS_INPUT_CHUNK);
	client->in.len -= MS_INPUT_CHUNK - (n > 0 ? (size_t)n : 0);
	client->in.data[client->in.len] = '\0';
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR)) {
		ms_client_disconnect(client, n == 0 ? "Connection closed" :
				     errno == EPROTO && client->tls ?
				     "TLS handshake or record failed" :
				     "read failed");
		return false;
	}
	return true;
}

static void client_input(struct loop_io *io, uint32_t events, void *ctx)
{
	struct ms_client *client = ctx;
	/* events == 0: the deferred read of bytes TLS holds; EPOLLOUT with
	 * want_write: a handshake step that waited for room. */
	bool readable = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 ||
			events == 0 || client->stream->want_write;

	(void)io;
	/* a failed write or read frees the client: held until the end */
	ms_client_ref(client);
	/* any wake-up may be the one a TLS write waited for (want_read) */
	if ((events & EPOLLOUT) != 0 || client->out.len > 0)
		flush(client);
	if (client->fd >= 0 &&
	    (!readable || client->busy || client->starttls_pending ||
	     client->disconnecting || client_read(client))) {
		handle_input(client);
		/* a read may have finished a handshake output waited for */
		if (client->fd >= 0)
			flush(client);
	}
	ms_client_unref(client);
}

static void client_read_deferred(void *ctx)
{
	struct ms_client *client = ctx;

	client->read_scheduled = false;
	if (!ms_client_unref(client))
		return;
	client_input(client->io, 0, client);
}

static void client_idle(struct loop_timer *timer, void *ctx)
{
	struct ms_client *client = ctx;

	(void)timer;
	ms_client_send(client, "BYE \"Disconnected for inactivity.\"");
	ms_client_disconnect(client, "idle timeout");
}

static void addr_string(const struct sockaddr_storage *ss, char *ip,
			size_t size, unsigned int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)size);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)size);
		*port = ntohs(in6->sin6_port);
	} else {
		snprintf(ip, size, "local");
		*port = 0;
	}
}

void ms_client_create(struct ms_ctx *ctx, int fd, bool implicit_tls)
{
	struct ms_client *client = xcalloc(1, sizeof(*client));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	char sess[13];
	uint64_t r = (uint64_t)monotonic_ms() * 2654435761u ^
		     ((uint64_t)getpid() << 32) ^ (uint64_t)fd;

	client->ctx = ctx;
	client->fd = fd;
	client->stream = stream_plain_new(fd);
	if (client->stream == NULL)
		abort();
	if (implicit_tls) {
		/* the greeting is the first thing written inside TLS */
		if (tls_service_start(&ctx->tls, &client->stream) < 0) {
			log_error(NULL, "sieve: TLS could not start for a new "
				  "connection");
			stream_destroy(&client->stream);
			free(client);
			return;
		}
		client->tls = true;
	}
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_string(&ss, client->ip, sizeof(client->ip), &client->port);
	memcpy(client->peer_ip, client->ip, sizeof(client->peer_ip));
	client->peer_port = client->port;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_string(&ss, client->local_ip, sizeof(client->local_ip),
			    &client->local_port);
	for (int i = 0; i < 12; i++) {
		sess[i] = b32[r & 31];
		r = r >> 5 | (r << 59);
	}
	sess[12] = '\0';
	client->session = xstrdup(sess);
	client->log.session = client->session;
	client->log.client_ip = client->ip;
	buf_init(&client->in, ctx->set.max_line + ctx->set.max_script_size +
		 2 * MS_INPUT_CHUNK);
	buf_init(&client->out, 0);
	client->next = ctx->clients;
	if (ctx->clients != NULL)
		ctx->clients->prev = client;
	ctx->clients = client;
	ctx->svc->clients++;
	service_clients_changed(ctx->svc);
	client->io = loop_io_add(ctx->svc->loop, fd, EPOLLIN, client_input,
				 client);
	client->idle = loop_timer_add(ctx->svc->loop, MS_IDLE_TIMEOUT_MSECS,
				      false, client_idle, client);
	/* No input until the greeting went out. */
	client->busy = true;
	loop_io_set_events(client->io, 0);
	ms_auth_greet(client);
}
