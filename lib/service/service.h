/* The skeleton every Stratus service runs: parse the config, open the
 * log, take the listening sockets from systemd (LISTEN_FDS) or bind them
 * from the config, initialise, notify READY, run the loop, stop cleanly on
 * SIGTERM. A service supplies only its definition and handlers. */
#ifndef STRATUS_SERVICE_H
#define STRATUS_SERVICE_H

#include <stdbool.h>
#include "config.h"
#include "loop.h"
#include "rpc.h"

/* Services Stratus runs, in start order (internal services first). */
#define SERVICE_NAMES { "blob", "index", "auth", "quota", "imap", "pop3", \
			"lmtp", "managesieve" }
#define SERVICE_COUNT 8

enum listener_kind { LISTENER_UNIX, LISTENER_INET };

/* One socket a service listens on. fdname is what LISTEN_FDNAMES carries:
 * "rpc" for the internal RPC socket, "inet-NAME" / "unix-NAME" for the
 * Dovecot listeners of the service's section. */
struct listener_spec {
	char *fdname;
	enum listener_kind kind;
	char *path;		/* unix */
	unsigned int mode;	/* unix; 0 = default 0600 */
	char *address;		/* inet; several separated by spaces */
	unsigned int port;	/* inet */
};

struct listener_plan {
	struct listener_spec *specs;
	size_t n_specs;
};

/* The sockets `service` ("imap") needs under cfg. */
int listener_plan_build(const struct config *cfg, const char *service,
			struct listener_plan *plan_r, char **error_r);
void listener_plan_free(struct listener_plan *plan);
/* Whether the listener named fdname ("inet-imaps") of service has
 * ssl = yes: its connections start in TLS (implicit TLS). */
bool service_listener_ssl(const struct config *cfg, const char *service,
			  const char *fdname);
/* Creates, binds and listens; returns the fd or -1 with *error_r. */
int listener_open(const struct listener_spec *spec, char **error_r);
/* Path of a service's RPC socket: base_dir/stratus-NAME (malloc'd). */
char *service_rpc_socket_path(const struct config *cfg, const char *service);
/* Dovecot protocol name that enables a service, or NULL if always on. */
const char *service_protocol(const char *service);
bool service_enabled(const struct config *cfg, const char *service);

struct service;

struct service_def {
	const char *name;	/* "auth" */
	const char *protocol;	/* config filter, e.g. "imap"; or NULL */
	/* The service's own RPC; NULL for status-only services. */
	const ProtobufCServiceDescriptor *rpc_desc;
	uint32_t rpc_major, rpc_minor;
	rpc_handler_fn *const *rpc_handlers;
	size_t rpc_n_handlers;
	/* Called after config, log and sockets; may look at listeners. */
	int (*init)(struct service *svc, char **error_r);
	void (*deinit)(struct service *svc);
	/* A non-RPC listener (inet-imap, unix-lmtp...); fd is owned by the
	 * service framework and stays open until exit. */
	int (*listener)(struct service *svc, const char *fdname, int fd,
			char **error_r);
	void (*status)(Stratus__StatusReply *reply, struct service *svc);
	/* Settings this service honours although the schema still marks
	 * them CONFIG_NOT_YET, as config_foreach_not_yet names them:
	 * "auth_cache_size", "plugin/obox_fs", "mail_plugins: quota";
	 * an entry ending in '*' matches a prefix. NULL-terminated. */
	const char *const *settings_implemented;
	/* After a SIGHUP reload that loaded: drops state the new
	 * configuration may change (svc-auth: its cache). Optional. */
	void (*reload)(struct service *svc);
	/* Settings that reload hook applies from reload_cfg, named as in
	 * settings_implemented ("submission_host", "plugin/quota_rule*");
	 * the reload log lists them as applied, not as needing a restart. */
	const char *const *settings_live;
};

struct service {
	const struct service_def *def;
	struct config *cfg;
	struct loop *loop;
	struct rpc_server *rpc;
	void *ctx;		/* the service's own state */
	unsigned int clients;	/* protocol connections, for proctitle */
	bool stopping;
	struct service_cleanup *cleanups;
	const char *config_path;	/* what -c named, for reload */
	/* During def->reload only: the configuration just loaded (cfg is
	 * still the running one, which services keep pointers into). */
	const struct config *reload_cfg;
	bool debug_flag;		/* -D given */
};

/* SIGHUP: re-reads config_path; see reload.c for what changes live. */
void service_reload(struct service *svc);

/* Runs fn(ctx) at exit, after def->deinit, newest first: for state that
 * lives as long as the process (listeners, caches). */
void service_add_cleanup(struct service *svc, void (*fn)(void *ctx),
			 void *ctx);

/* Runs the service; returns the process exit status. Arguments:
 * -c FILE (default $STRATUS_CONFIG or /etc/dovecot/dovecot.conf), -D
 * (debug logging). */
int service_main(const struct service_def *def, int argc, char **argv);

/* Updates the process title / sd_notify STATUS with the client count. */
void service_clients_changed(struct service *svc);
/* Adds a counter to the status RPC reply (for def->status). */
void service_status_counter(Stratus__StatusReply *reply, const char *name,
			    uint64_t value);



/* Accepts connections on a listener fd from the loop and hands each one
 * (non-blocking, close-on-exec) to cb with the peer's address ("" and 0
 * for UNIX sockets). The watcher is removed at exit. 0 or -1. */
typedef void service_accept_fn(int fd, const char *ip, unsigned int port,
			       void *ctx);
int service_listener_accept(struct service *svc, const char *fdname, int fd,
			    service_accept_fn *cb, void *ctx, char **error_r);

/* Until a protocol engine exists: accept on fd, write `line` (CRLF added)
 * and close, so clients get a clear temporary failure instead of a hang. */
int service_listener_refuse(struct service *svc, int fd, const char *line);
#endif
