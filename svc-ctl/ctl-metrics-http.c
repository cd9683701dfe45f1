/* stratusctl metrics serve: the OpenMetrics endpoint of Dovecot's
 * `service stats { inet_listener http { port } }`. GET /metrics scrapes
 * every service's status RPC at that moment (ctl_metrics_text) and
 * answers with the text; other paths get 404. One loop; each connection
 * reads at most CTL_HTTP_REQUEST_MAX bytes of request head and is closed
 * after its answer, or after CTL_HTTP_IDLE_MS without a full head.
 * It runs as stratus-stats.service, and `stratusctl run` starts it as one
 * of its children when the listener is configured. */
#include "ctl.h"
#include "buf.h"
#include "log.h"
#include "loop.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#define CTL_HTTP_REQUEST_MAX 8192
#define CTL_HTTP_IDLE_MS 10000
#define CTL_HTTP_SEND_TIMEOUT_S 5

struct http_server {
	struct loop *loop;
	const struct config *cfg;
	int fd;
	struct loop_io *io;
};

struct http_conn {
	struct http_server *srv;
	int fd;
	struct loop_io *io;
	struct loop_timer *idle;
	char head[CTL_HTTP_REQUEST_MAX];
	size_t len;
};

static void http_conn_free(struct http_conn *c)
{
	loop_io_remove(&c->io);
	loop_timer_remove(&c->idle);
	close(c->fd);
	free(c);
}

/* The answer is small (a few KiB): sent with a send timeout rather than
 * buffered, so a slow scraper costs at most CTL_HTTP_SEND_TIMEOUT_S. */
static void http_send(int fd, const char *status, const char *type,
		      const char *body, size_t len)
{
	struct buf out = BUF_INIT;
	buf_printf(&out, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		   status, type, len);
	buf_append(&out, body, len);
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = CTL_HTTP_SEND_TIMEOUT_S };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (size_t off = 0; off < out.len;) {
		ssize_t n = send(fd, out.data + off, out.len - off,
				 MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf_free(&out);
}

static void http_answer(struct http_conn *c)
{
	bool get = strncmp(c->head, "GET ", 4) == 0;
	const char *path = c->head + 4;
	bool metrics = get && (strncmp(path, "/metrics ", 9) == 0 ||
			       strncmp(path, "/metrics?", 9) == 0);
	if (metrics) {
		struct buf text = BUF_INIT;
		ctl_metrics_text(c->srv->cfg, &text);
		http_send(c->fd, "200 OK", "application/openmetrics-text; "
			  "version=1.0.0; charset=utf-8", text.data, text.len);
		buf_free(&text);
	} else {
		static const char nf[] = "only /metrics is served here\n";
		http_send(c->fd, get ? "404 Not Found" : "405 Method Not "
			  "Allowed", "text/plain", nf, sizeof(nf) - 1);
	}
}

static void http_conn_read(struct loop_io *io, uint32_t events, void *ctx)
{
	struct http_conn *c = ctx;
	(void)io;
	(void)events;
	ssize_t n = read(c->fd, c->head + c->len, sizeof(c->head) - 1 - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		http_conn_free(c);
		return;
	}
	c->len += (size_t)n;
	c->head[c->len] = '\0';
	if (strstr(c->head, "\r\n\r\n") != NULL ||
	    strstr(c->head, "\n\n") != NULL) {
		http_answer(c);
		http_conn_free(c);
	} else if (c->len >= sizeof(c->head) - 1) {
		static const char tl[] = "request head too long\n";
		http_send(c->fd, "431 Request Header Fields Too Large",
			  "text/plain", tl, sizeof(tl) - 1);
		http_conn_free(c);
	}
}

static void http_conn_idle(struct loop_timer *t, void *ctx)
{
	(void)t;
	http_conn_free(ctx);
}

static void http_accept(struct loop_io *io, uint32_t events, void *ctx)
{
	struct http_server *srv = ctx;
	(void)io;
	(void)events;
	int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct http_conn *c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	c->io = loop_io_add(srv->loop, fd, EPOLLIN, http_conn_read, c);
	c->idle = loop_timer_add(srv->loop, CTL_HTTP_IDLE_MS, false,
				 http_conn_idle, c);
}

static void http_on_signal(int signo, void *ctx)
{
	(void)signo;
	loop_stop(ctx);
}

static const struct config_section *http_listener_section(
	const struct config *cfg)
{
	const struct config_section *svc =
		config_section_find(config_root(cfg), "service", "stats");
	return svc == NULL ? NULL :
		config_section_find(svc, "inet_listener", "http");
}

bool ctl_metrics_configured(const struct config *cfg)
{
	const struct config_section *l = http_listener_section(cfg);
	const char *port = l != NULL ? config_section_get(l, "port") : NULL;
	return port != NULL && atoi(port) > 0;
}

/* service stats { inet_listener http { address port } } */
static int http_listener(const struct config *cfg, struct listener_spec *s)
{
	const struct config_section *l = http_listener_section(cfg);
	const char *port = l != NULL ? config_section_get(l, "port") : NULL;
	if (port == NULL || atoi(port) <= 0) {
		fprintf(stderr, "stratusctl: metrics serve needs service stats "
			"{ inet_listener http { port = N } }\n");
		return -1;
	}
	const char *addr = config_section_get(l, "address");
	if (addr == NULL || *addr == '\0')
		addr = config_get(cfg, NULL, "listen");
	if (addr == NULL || *addr == '\0' || strcmp(addr, "*") == 0)
		addr = "0.0.0.0";
	/* the first address of a list */
	s->address = xstrndup(addr, strcspn(addr, " ,"));
	s->kind = LISTENER_INET;
	s->port = (unsigned int)atoi(port);
	s->fdname = (char *)"stats-http";
	return 0;
}

int ctl_metrics_serve(const struct config *cfg)
{
	struct listener_spec spec = { 0 };
	if (http_listener(cfg, &spec) < 0)
		return CTL_EXIT_FAILURE;
	char *error = NULL;
	struct http_server srv = { .cfg = cfg };
	srv.fd = listener_open(&spec, &error);
	if (srv.fd < 0) {
		fprintf(stderr, "stratusctl: %s\n", error);
		free(error);
		free(spec.address);
		return CTL_EXIT_FAILURE;
	}
	fcntl(srv.fd, F_SETFL, fcntl(srv.fd, F_GETFL) | O_NONBLOCK);
	srv.loop = loop_new();
	srv.io = loop_io_add(srv.loop, srv.fd, EPOLLIN, http_accept, &srv);
	loop_signal_add(srv.loop, SIGTERM, http_on_signal, srv.loop);
	loop_signal_add(srv.loop, SIGINT, http_on_signal, srv.loop);
	log_info(NULL, "metrics on http://%s:%u/metrics", spec.address,
		 spec.port);
	/* For stratus-stats.service (Type=notify) and `stratusctl run`. */
	sd_notify(0, "READY=1");
	loop_run(srv.loop);
	loop_io_remove(&srv.io);
	close(srv.fd);
	loop_free(&srv.loop);
	free(spec.address);
	return 0;
}
