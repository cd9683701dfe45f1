/* Which sockets each service listens on, derived from the Dovecot
 * service sections, and how to open them. The launcher and a service run
 * on its own both use this, so both get the same sockets. */
#include "service.h"
#include "buf.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511

struct service_map {
	const char *service, *protocol, *section;
	const char *default_inet, *default_unix;
	unsigned int default_port;
};

static const struct service_map service_map[] = {
	{ "blob", NULL, NULL, NULL, NULL, 0 },
	{ "index", NULL, NULL, NULL, NULL, 0 },
	{ "auth", NULL, NULL, NULL, NULL, 0 },
	{ "quota", NULL, NULL, NULL, NULL, 0 },
	{ "imap", "imap", "imap-login", "imap", NULL, 143 },
	{ "pop3", "pop3", "pop3-login", "pop3", NULL, 110 },
	{ "lmtp", "lmtp", "lmtp", NULL, "lmtp", 0 },
	{ "managesieve", "sieve", "managesieve-login", "sieve", NULL, 4190 },
};

static const struct service_map *service_map_find(const char *service)
{
	for (size_t i = 0; i < sizeof(service_map) / sizeof(*service_map); i++) {
		if (strcmp(service_map[i].service, service) == 0)
			return &service_map[i];
	}
	return NULL;
}

const char *service_protocol(const char *service)
{
	const struct service_map *m = service_map_find(service);
	return m != NULL ? m->protocol : NULL;
}

bool service_enabled(const struct config *cfg, const char *service)
{
	const char *proto = service_protocol(service);
	if (proto == NULL)
		return true;
	const char *protocols = config_get(cfg, NULL, "protocols");
	if (protocols == NULL)
		return false;
	size_t plen = strlen(proto);
	for (const char *p = protocols; *p != '\0';) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t n = strcspn(p, " \t,");
		if (n == plen && strncmp(p, proto, n) == 0)
			return true;
		/* Dovecot also accepts "managesieve" for the sieve protocol. */
		if (strcmp(proto, "sieve") == 0 && n == 11 &&
		    strncmp(p, "managesieve", 11) == 0)
			return true;
		p += n;
	}
	return false;
}

static const char *base_dir(const struct config *cfg)
{
	const char *dir = config_get(cfg, NULL, "base_dir");
	return dir != NULL && *dir != '\0' ? dir : "/var/run/dovecot";
}

char *service_rpc_socket_path(const struct config *cfg, const char *service)
{
	const char *dir = base_dir(cfg);
	size_t len = strlen(dir);
	return xasprintf("%s%sstratus-%s", dir,
			 len > 0 && dir[len - 1] == '/' ? "" : "/", service);
}

static struct listener_spec *plan_add(struct listener_plan *plan)
{
	plan->specs = xreallocarray(plan->specs, plan->n_specs + 1,
				    sizeof(*plan->specs));
	struct listener_spec *s = &plan->specs[plan->n_specs++];
	memset(s, 0, sizeof(*s));
	return s;
}

static int plan_add_unix(struct listener_plan *plan, const struct config *cfg,
			 const char *name, const char *mode_str,
			 char **error_r)
{
	struct listener_spec *s = plan_add(plan);
	s->fdname = xasprintf("unix-%s", name);
	s->kind = LISTENER_UNIX;
	s->path = name[0] == '/' ? xstrdup(name) :
		  xasprintf("%s/%s", base_dir(cfg), name);
	s->mode = 0666;
	if (mode_str != NULL) {
		char *end;
		unsigned long mode = strtoul(mode_str, &end, 8);
		if (*end != '\0' || mode > 07777) {
			*error_r = xasprintf("unix_listener %s: bad mode %s",
					     name, mode_str);
			return -1;
		}
		s->mode = (unsigned int)mode;
	}
	return 0;
}

static void plan_add_inet(struct listener_plan *plan, const char *name,
			  const char *addresses, unsigned int port)
{
	/* Dovecot's listen/address is a list: one socket per address. */
	char *copy = xstrdup(addresses), *save = NULL;
	for (char *a = strtok_r(copy, " ,", &save); a != NULL;
	     a = strtok_r(NULL, " ,", &save)) {
		struct listener_spec *s = plan_add(plan);
		s->fdname = xasprintf("inet-%s", name);
		s->kind = LISTENER_INET;
		s->address = xstrdup(strcmp(a, "*") == 0 ? "0.0.0.0" :
				     strcmp(a, "::") == 0 ? "::" : a);
		s->port = port;
	}
	free(copy);
}

/* ssl != no with a certificate and key, as seen from protocol. */
static bool listen_tls_configured(const struct config *cfg,
				  const char *protocol)
{
	const char *ssl = config_get(cfg, protocol, "ssl");
	const char *cert = config_get(cfg, protocol, "ssl_cert");
	const char *key = config_get(cfg, protocol, "ssl_key");
	return ssl != NULL && strcmp(ssl, "no") != 0 && cert != NULL &&
	       *cert != '\0' && key != NULL && *key != '\0';
}

static int plan_section_listeners(struct listener_plan *plan,
				  const struct config *cfg,
				  const char *protocol,
				  const struct config_section *sec,
				  bool *have_inet, bool *have_unix,
				  char **error_r)
{
	const char *listen = config_get(cfg, NULL, "listen");
	for (size_t i = 0; i < sec->n_children; i++) {
		const struct config_section *l = sec->children[i];
		if (strcmp(l->type, "inet_listener") == 0) {
			*have_inet = true;
			const char *port = config_section_get(l, "port");
			const char *ssl = config_section_get(l, "ssl");
			unsigned long p = port != NULL ? strtoul(port, NULL, 10) : 0;
			/* port = 0 disables a listener, as in Dovecot; an
			 * ssl = yes listener opens only when the protocol has
			 * TLS configured (lib/tls/tls-service.c). */
			if (p == 0 || p > 65535 ||
			    (ssl != NULL && strcmp(ssl, "yes") == 0 &&
			     !listen_tls_configured(cfg, protocol)))
				continue;
			const char *addr = config_section_get(l, "address");
			plan_add_inet(plan, l->name, addr != NULL ? addr :
				      listen != NULL ? listen : "*", (unsigned)p);
		} else if (strcmp(l->type, "unix_listener") == 0) {
			*have_unix = true;
			if (plan_add_unix(plan, cfg, l->name,
					  config_section_get(l, "mode"),
					  error_r) < 0)
				return -1;
		}
	}
	return 0;
}

int listener_plan_build(const struct config *cfg, const char *service,
			struct listener_plan *plan_r, char **error_r)
{
	const struct service_map *m = service_map_find(service);
	memset(plan_r, 0, sizeof(*plan_r));
	if (m == NULL) {
		*error_r = xasprintf("unknown service %s", service);
		return -1;
	}
	struct listener_spec *rpc = plan_add(plan_r);
	rpc->fdname = xstrdup("rpc");
	rpc->kind = LISTENER_UNIX;
	rpc->path = service_rpc_socket_path(cfg, service);
	rpc->mode = 0660;
	if (m->section == NULL)
		return 0;
	bool have_inet = false, have_unix = false;
	const struct config_section *sec =
		config_section_find(config_root(cfg), "service", m->section);
	if (sec != NULL && plan_section_listeners(plan_r, cfg, m->protocol, sec,
						  &have_inet,
						  &have_unix, error_r) < 0) {
		listener_plan_free(plan_r);
		return -1;
	}
	if (!have_inet && m->default_inet != NULL) {
		const char *listen = config_get(cfg, NULL, "listen");
		plan_add_inet(plan_r, m->default_inet,
			      listen != NULL ? listen : "*", m->default_port);
	}
	if (!have_unix && m->default_unix != NULL &&
	    plan_add_unix(plan_r, cfg, m->default_unix, NULL, error_r) < 0) {
		listener_plan_free(plan_r);
		return -1;
	}
	return 0;
}

bool service_listener_ssl(const struct config *cfg, const char *service,
			  const char *fdname)
{
	const struct service_map *m = service_map_find(service);
	if (m == NULL || m->section == NULL || strncmp(fdname, "inet-", 5) != 0)
		return false;
	const struct config_section *sec =
		config_section_find(config_root(cfg), "service", m->section);
	const struct config_section *l = sec == NULL ? NULL :
		config_section_find(sec, "inet_listener", fdname + 5);
	const char *ssl = l == NULL ? NULL : config_section_get(l, "ssl");
	return ssl != NULL && strcmp(ssl, "yes") == 0;
}

void listener_plan_free(struct listener_plan *plan)
{
	for (size_t i = 0; i < plan->n_specs; i++) {
		free(plan->specs[i].fdname);
		free(plan->specs[i].path);
		free(plan->specs[i].address);
	}
	free(plan->specs);
	memset(plan, 0, sizeof(*plan));
}

static int listener_open_unix(const struct listener_spec *spec,
			      char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(spec->path);
	if (len >= sizeof(sun.sun_path)) {
		*error_r = xasprintf("socket path too long: %s", spec->path);
		return -1;
	}
	memcpy(sun.sun_path, spec->path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* A stale socket from a previous run is replaced, as systemd does. */
	struct stat st;
	if (lstat(spec->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(spec->path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(spec->path, spec->mode ? spec->mode : 0600) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	*error_r = xasprintf("listen(%s) failed: %s", spec->path,
			     strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int listener_open_inet(const struct listener_spec *spec,
			      char **error_r)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	}, *ai;
	char port[8];
	snprintf(port, sizeof(port), "%u", spec->port);
	int r = getaddrinfo(spec->address, port, &hints, &ai);
	if (r != 0) {
		*error_r = xasprintf("bad listen address %s: %s",
				     spec->address, gai_strerror(r));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	*error_r = xasprintf("listen(%s:%u) failed: %s", spec->address,
			     spec->port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

int listener_open(const struct listener_spec *spec, char **error_r)
{
	return spec->kind == LISTENER_UNIX ?
	       listener_open_unix(spec, error_r) :
	       listener_open_inet(spec, error_r);
}
