/* The service skeleton (see service.h): one ordered start-up, one loop,
 * one orderly stop. A loop that ends without a stop request is fatal. */
#include "service.h"
#include "buf.h"
#include "log.h"
#include "histogram.h"
#include "privdrop.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#define SERVICE_EXIT_CONFIG 89

/* Process title: the argv area is rewritten in place, as ps shows it. */
static char *proctitle_base;
static size_t proctitle_len;
/* The moved environment's strings; unsetenv() drops entries from environ
 * itself, so ownership is kept here. */
static char **proctitle_env_strings;

static void proctitle_init(int argc, char **argv)
{
	extern char **environ;
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);
	size_t n_env = 0;
	/* environ usually follows argv; move it away to reuse the space. */
	for (; environ[n_env] != NULL; n_env++) {
		if (environ[n_env] == end + 1)
			end = environ[n_env] + strlen(environ[n_env]);
	}
	char **env = xcalloc(n_env + 1, sizeof(char *));
	proctitle_env_strings = xcalloc(n_env + 1, sizeof(char *));
	for (size_t i = 0; i < n_env; i++)
		env[i] = proctitle_env_strings[i] = xstrdup(environ[i]);
	environ = env;
	proctitle_base = argv[0];
	proctitle_len = (size_t)(end - argv[0]);
}

static void proctitle_set(const char *title)
{
	if (proctitle_base == NULL || proctitle_len < 2)
		return;
	size_t n = strlen(title);
	if (n >= proctitle_len)
		n = proctitle_len - 1;
	memcpy(proctitle_base, title, n);
	memset(proctitle_base + n, '\0', proctitle_len - n);
}

struct service_cleanup {
	void (*fn)(void *ctx);
	void *ctx;
	struct service_cleanup *next;
};

void service_add_cleanup(struct service *svc, void (*fn)(void *ctx),
			 void *ctx)
{
	struct service_cleanup *c = xcalloc(1, sizeof(*c));
	c->fn = fn;
	c->ctx = ctx;
	c->next = svc->cleanups;
	svc->cleanups = c;
}

static void service_run_cleanups(struct service *svc)
{
	while (svc->cleanups != NULL) {
		struct service_cleanup *c = svc->cleanups;
		svc->cleanups = c->next;
		c->fn(c->ctx);
		free(c);
	}
}

void service_clients_changed(struct service *svc)
{
	char title[128];
	snprintf(title, sizeof(title), "stratus-%s [%u connections]",
		 svc->def->name, svc->clients);
	if (config_get_bool(svc->cfg, svc->def->protocol, "verbose_proctitle"))
		proctitle_set(title);
	sd_notifyf(0, "STATUS=%u connections", svc->clients);
}

void service_status_counter(Stratus__StatusReply *reply, const char *name,
			    uint64_t value)
{
	rpc_status_add_counter(reply, name, value);
}

static void service_on_signal(int signo, void *ctx)
{
	struct service *svc = ctx;
	if (signo == SIGHUP) {
		service_reload(svc);
		return;
	}
	log_info(NULL, "stopping on signal %d", signo);
	svc->stopping = true;
	sd_notify(0, "STOPPING=1");
	loop_stop(svc->loop);
}

static void service_watchdog(struct loop_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	sd_notify(0, "WATCHDOG=1");
}

/* The log's kept warnings and errors into the reply: the events point
 * into the log's own strings and live in static storage, as the status
 * reply is packed before this process logs anything else. */
static void service_status_errors(Stratus__StatusReply *r)
{
	static const char *const names[] = {
		"debug", "info", "warning", "error", "fatal", "panic",
	};
	static Stratus__LogEvent events[LOG_RECENT_MAX];
	static Stratus__LogEvent *ptrs[LOG_RECENT_MAX];
	const struct log_recent *e;
	size_t n = 0;
	for (size_t i = 0; (e = log_recent_get(i)) != NULL; i++) {
		stratus__log_event__init(&events[n]);
		events[n].time = e->time;
		events[n].level = (char *)names[e->level];
		events[n].text = e->text;
		ptrs[n] = &events[n];
		n++;
	}
	r->recent_errors = ptrs;
	r->n_recent_errors = n;
}

/* The process's histograms, in storage kept for the next request (the
 * reply is packed before the loop runs again). */
static void service_status_histograms(Stratus__StatusReply *r)
{
	static Stratus__Histogram msgs[HISTO_MAX_SERIES];
	static Stratus__Histogram *ptrs[HISTO_MAX_SERIES];
	size_t n = histo_series_count();
	for (size_t i = 0; i < n; i++) {
		const struct histo *h = histo_series(i);
		Stratus__Histogram *m = &msgs[i];
		size_t n_bounds;
		const double *bounds = histo_bounds(h->kind, &n_bounds);
		stratus__histogram__init(m);
		m->name = h->name;
		m->labels = h->labels;
		m->bounds = (double *)bounds;
		m->n_bounds = n_bounds;
		m->counts = (uint64_t *)h->counts;
		m->n_counts = n_bounds + 1;
		m->count = h->count;
		m->sum = h->sum;
		ptrs[i] = m;
	}
	r->histograms = ptrs;
	r->n_histograms = n;
	if (histo_dropped() > 0)
		service_status_counter(r, "histogram_series_dropped",
				       histo_dropped());
}

static void service_status_cb(Stratus__StatusReply *r, void *ctx)
{
	struct service *svc = ctx;
	r->connections = svc->clients;
	service_status_errors(r);
	service_status_histograms(r);
	if (svc->def->status != NULL)
		svc->def->status(r, svc);
}

static bool setting_is_implemented(const struct service_def *def,
				   const char *key)
{
	for (const char *const *p = def->settings_implemented;
	     p != NULL && *p != NULL; p++) {
		size_t n = strlen(*p);
		if (n > 0 && (*p)[n - 1] == '*' ? strncmp(*p, key, n - 1) == 0 :
		    strcmp(*p, key) == 0)
			return true;
	}
	return false;
}

/* Settings without effect for a reason other than "not yet": the
 * generic warning would send an operator looking for the wrong thing. */
static const struct {
	const char *key;
	const char *why;
} not_yet_reasons[] = {
	{ "ssl_client_ca_file", "it lists the CAs Dovecot trusts when it "
	  "connects out over TLS; Stratus's only such connections are "
	  "svc-blob's HTTPS to object storage, which trusts the system's CA "
	  "store (libcurl's default) instead, and LDAP over TLS, which "
	  "follows libldap's own configuration" },
	{ "ssl_client_ca_dir", "it names the CA folder Dovecot trusts when it "
	  "connects out over TLS; Stratus's only such connections are "
	  "svc-blob's HTTPS to object storage, which trusts the system's CA "
	  "store (libcurl's default) instead, and LDAP over TLS, which "
	  "follows libldap's own configuration" },
};

static void warn_not_yet(const char *key, const char *file, unsigned int line,
			 void *ctx)
{
	const struct service_def *def = ctx;
	if (setting_is_implemented(def, key))
		return;
	for (size_t i = 0; i < sizeof(not_yet_reasons) /
				sizeof(not_yet_reasons[0]); i++) {
		if (strcmp(not_yet_reasons[i].key, key) == 0) {
			log_warning(NULL, "%s:%u: setting %s has no effect: "
				    "%s", file, line, key,
				    not_yet_reasons[i].why);
			return;
		}
	}
	log_warning(NULL, "%s:%u: setting %s is accepted but not implemented "
		    "yet; it has no effect", file, line, key);
}

static int service_take_fd(struct service *svc, const char *fdname, int fd,
			   char **error_r)
{
	if (strcmp(fdname, "rpc") == 0) {
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			*error_r = xasprintf("fd %d (rpc) is not a listening "
					     "UNIX stream socket", fd);
			return -1;
		}
		return rpc_server_listen(svc->rpc, fd);
	}
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		*error_r = xasprintf("fd %d (%s) is not a listening stream "
				     "socket", fd, fdname);
		return -1;
	}
	if (svc->def->listener == NULL) {
		*error_r = xasprintf("unexpected listener %s", fdname);
		return -1;
	}
	/* Responses go out in several writes; without TCP_NODELAY, Nagle
	 * and the client's delayed ACK stall each multi-line answer for
	 * ~40 ms. Accepted sockets inherit it from the listener on Linux,
	 * whether we or systemd created it. */
	int one = 1;
	if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return svc->def->listener(svc, fdname, fd, error_r);
}

/* Sockets come from systemd (or the launcher) when LISTEN_FDS is set;
 * otherwise the service binds them itself from the configuration. */
static int service_take_sockets(struct service *svc, char **error_r)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		*error_r = xasprintf("sd_listen_fds: %s", strerror(-n));
		return -1;
	}
	int ret = 0;
	if (n > 0) {
		struct buf list = BUF_INIT;
		for (int i = 0; i < n; i++)
			buf_printf(&list, " %s", names != NULL && names[i] ?
				   names[i] : "rpc");
		log_info(NULL, "took %d sockets from LISTEN_FDS:%s", n, list.data);
		buf_free(&list);
		for (int i = 0; i < n; i++) {
			const char *name = names != NULL && names[i] != NULL ?
					   names[i] : "rpc";
			if (ret == 0 && service_take_fd(svc, name,
					SD_LISTEN_FDS_START + i, error_r) < 0)
				ret = -1;
		}
		for (int i = 0; names != NULL && i < n; i++)
			free(names[i]);
		free(names);
		return ret;
	}
	free(names);
	struct listener_plan plan;
	if (listener_plan_build(svc->cfg, svc->def->name, &plan, error_r) < 0)
		return -1;
	for (size_t i = 0; i < plan.n_specs && ret == 0; i++) {
		const struct listener_spec *spec = &plan.specs[i];
		int fd = listener_open(spec, error_r);
		if (fd < 0 || (strcmp(spec->fdname, "rpc") == 0 &&
			       service_rpc_socket_give(svc->cfg, svc->def->name,
						       spec->path, error_r) < 0) ||
		    service_take_fd(svc, spec->fdname, fd, error_r) < 0)
			ret = -1;
	}
	listener_plan_free(&plan);
	return ret;
}

static const char *default_config_path(void)
{
	const char *env = getenv("STRATUS_CONFIG");
	return env != NULL ? env : "/etc/dovecot/dovecot.conf";
}

static int service_run(struct service *svc)
{
	char *error = NULL;
	const struct service_def *def = svc->def;
	svc->rpc = rpc_server_new(svc->loop, def->rpc_desc != NULL ?
				  def->rpc_desc : &stratus__control__descriptor,
				  def->rpc_desc != NULL ? def->rpc_major :
				  RPC_CONTROL_MAJOR, def->rpc_minor,
				  def->rpc_handlers, def->rpc_n_handlers, svc);
	rpc_server_set_status_cb(svc->rpc, def->name, service_status_cb, svc);
	/* Listeners first (ports below 1024, root-owned base_dir), then
	 * the configured user for everything else, init included: files
	 * the service creates are that user's. */
	if (service_take_sockets(svc, &error) < 0 ||
	    service_privileges_drop(svc->cfg, def->name, &error) < 0 ||
	    (def->init != NULL && def->init(svc, &error) < 0)) {
		log_msg(LOG_LEVEL_FATAL, NULL, "%s", error);
		free(error);
		return SERVICE_EXIT_CONFIG;
	}
	loop_signal_add(svc->loop, SIGTERM, service_on_signal, svc);
	loop_signal_add(svc->loop, SIGINT, service_on_signal, svc);
	loop_signal_add(svc->loop, SIGHUP, service_on_signal, svc);
	uint64_t wd_usec = 0;
	struct loop_timer *wd = NULL;
	if (sd_watchdog_enabled(0, &wd_usec) > 0)
		wd = loop_timer_add(svc->loop, wd_usec / 2000, true,
				    service_watchdog, svc);
	service_clients_changed(svc);
	sd_notify(0, "READY=1");
	log_info(NULL, "started (version %s)", STRATUS_VERSION);
	int r = loop_run(svc->loop);
	loop_timer_remove(&wd);
	if (r < 0 || !svc->stopping)
		log_panic("event loop ended without a stop request");
	if (def->deinit != NULL)
		def->deinit(svc);
	log_info(NULL, "stopped");
	return 0;
}

int service_main(const struct service_def *def, int argc, char **argv)
{
	const char *config_path = default_config_path();
	bool debug = false;
	int c;
	/* zlib's deflate state (~256 KB) is allocated and freed per index
	 * bundle section and per compressed object; with glibc's default
	 * trim threshold every free gave it back with brk, which the profile
	 * showed as a quarter of svc-index's time (bench/PROFILE.md). */
	(void)mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("stratus-%s %s\n", def->name, STRATUS_VERSION);
		return 0;
	}
	while ((c = getopt(argc, argv, "c:D")) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'D':
			debug = true;
			break;
		default:
			fprintf(stderr, "usage: stratus-%s [-c CONFIG] [-D] | "
				"--version\n",
				def->name);
			return SERVICE_EXIT_CONFIG;
		}
	}
	struct service svc = { .def = def, .config_path = config_path,
			       .debug_flag = debug };
	char *error = NULL;
	if (config_load(config_path, &svc.cfg, &error) < 0) {
		fprintf(stderr, "stratus-%s: Fatal: %s\n", def->name, error);
		free(error);
		return SERVICE_EXIT_CONFIG;
	}
	config_scrub_secrets(svc.cfg, def->name);	/* only its own secrets */
	proctitle_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	log_init(def->name, config_get(svc.cfg, def->protocol,
				       "mail_log_prefix"),
		 config_get(svc.cfg, def->protocol, "log_path"));
	log_set_debug(debug || config_get_bool(svc.cfg, def->protocol,
					       "mail_debug"));
	config_foreach_not_yet(svc.cfg, def->name, warn_not_yet,
			       (void *)def);
	svc.loop = loop_new();
	int ret = service_run(&svc);
	service_run_cleanups(&svc);
	rpc_server_free(&svc.rpc);
	loop_free(&svc.loop);
	config_free(&svc.cfg);
	histo_free_all();
	log_deinit();
	return ret;
}
