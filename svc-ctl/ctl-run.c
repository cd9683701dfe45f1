/* stratusctl run: the development supervisor. Creates every service's
 * sockets, hands them over with the LISTEN_FDS protocol exactly as systemd
 * does (so services run the same code path as in production), receives
 * their sd_notify messages, restarts a service that dies (with backoff)
 * and stops everything on SIGTERM/SIGINT. With service stats { inet_listener
 * http } set, it also runs `stratusctl metrics serve` as the "stats"
 * child (as stratus-stats.service does under systemd), so the configured
 * endpoint is served. */
#include "ctl.h"
#include "buf.h"
#include "log.h"
#include "loop.h"
#include "service.h"
#include "privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_RESTART_MIN_MS 100
#define RUN_RESTART_MAX_MS 10000
#define RUN_STABLE_MS 30000
#define RUN_STOP_TIMEOUT_MS 10000

struct run_service {
	const char *name;
	bool stats;		/* stratusctl metrics serve, no sockets */
	char *binary;
	struct listener_plan plan;
	int *fds;
	pid_t pid;
	bool ready;
	uint64_t started_ms;
	uint64_t backoff_ms;
	unsigned int restarts;
	struct loop_timer *restart_timer;
	struct run_ctx *run;
};

struct run_ctx {
	struct loop *loop;
	struct config *cfg;
	const char *config_path;
	struct run_service services[SERVICE_COUNT + 1];	/* + stats */
	size_t n_services;
	int notify_fd;
	char *notify_path;
	char *pid_path;
	struct loop_io *notify_io;
	bool stopping, announced;
	struct loop_timer *stop_timer;
};

static char *run_find_binary(const char *name)
{
	char exe[PATH_MAX];
	const char *bindir = getenv("STRATUS_BINDIR");
	if (bindir != NULL)
		return xasprintf("%s/stratus-%s", bindir, name);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			/* The build tree: build/svc-ctl/stratusctl. */
			char *p = xasprintf("%s/../svc-%s/stratus-%s", exe, name,
					    name);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
			p = xasprintf("%s/stratus-%s", exe, name);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return xasprintf("/usr/libexec/stratus/stratus-%s", name);
}

static int run_mkdirs(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int r = mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return r;
}

static int run_open_sockets(struct run_service *rs, char **error_r)
{
	if (listener_plan_build(rs->run->cfg, rs->name, &rs->plan, error_r) < 0)
		return -1;
	rs->fds = xcalloc(rs->plan.n_specs, sizeof(int));
	for (size_t i = 0; i < rs->plan.n_specs; i++) {
		const struct listener_spec *spec = &rs->plan.specs[i];
		rs->fds[i] = listener_open(spec, error_r);
		if (rs->fds[i] < 0)
			return -1;
		/* The service drops to its user after taking the sockets
		 * (privdrop.c); its RPC socket must stay reachable by the
		 * others, as systemd's SocketUser=/SocketGroup= make it. */
		if (strcmp(spec->fdname, "rpc") == 0 &&
		    service_rpc_socket_give(rs->run->cfg, rs->name, spec->path,
					    error_r) < 0)
			return -1;
	}
	return 0;
}

/* In the child: fds to 3.., the LISTEN_* environment, exec. */
static void run_exec_child(struct run_service *rs)
{
	size_t n = rs->plan.n_specs;
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	/* Move the fds above the target range first so dup2 never clobbers
	 * one we still need. */
	int high[64];
	if (n > 64)
		_exit(127);
	for (size_t i = 0; i < n; i++)
		high[i] = fcntl(rs->fds[i], F_DUPFD, 3 + (int)n);
	for (size_t i = 0; i < n; i++) {
		if (dup2(high[i], 3 + (int)i) < 0)
			_exit(127);
		close(high[i]);
	}
	struct buf names = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (buf_printf(&names, "%s%s", i > 0 ? ":" : "",
			       rs->plan.specs[i].fdname) < 0)
			_exit(127);
	}
	char num[32];
	snprintf(num, sizeof(num), "%zu", n);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", names.data != NULL ? names.data : "", 1);
	setenv("NOTIFY_SOCKET", rs->run->notify_path, 1);
	if (rs->stats)
		execl(rs->binary, rs->binary, "-c", rs->run->config_path,
		      "metrics", "serve", (char *)NULL);
	else
		execl(rs->binary, rs->binary, "-c", rs->run->config_path,
		      (char *)NULL);
	fprintf(stderr, "stratusctl: exec %s failed: %s\n", rs->binary,
		strerror(errno));
	_exit(127);
}

static void run_spawn(struct run_service *rs)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_error(NULL, "fork for %s failed: %m", rs->name);
		return;
	}
	if (pid == 0)
		run_exec_child(rs);
	rs->pid = pid;
	rs->ready = false;
	rs->started_ms = monotonic_ms();
}

static void run_restart_timer(struct loop_timer *t, void *ctx)
{
	struct run_service *rs = ctx;
	(void)t;
	loop_timer_remove(&rs->restart_timer);
	if (!rs->run->stopping)
		run_spawn(rs);
}

static void run_announce(struct run_ctx *run)
{
	for (size_t i = 0; i < run->n_services; i++) {
		if (!run->services[i].ready)
			return;
	}
	run->announced = true;
	log_info(NULL, "all %zu services ready", run->n_services);
	for (size_t i = 0; i < run->n_services; i++) {
		const struct listener_plan *p = &run->services[i].plan;
		for (size_t j = 0; j < p->n_specs; j++) {
			const struct listener_spec *s = &p->specs[j];
			if (s->kind == LISTENER_INET)
				log_info(NULL, "  %-12s %s on %s:%u",
					 run->services[i].name, s->fdname + 5,
					 s->address, s->port);
			else if (strcmp(s->fdname, "rpc") != 0)
				log_info(NULL, "  %-12s %s on %s",
					 run->services[i].name, s->fdname + 5,
					 s->path);
		}
	}
}

static struct run_service *run_find_pid(struct run_ctx *run, pid_t pid)
{
	for (size_t i = 0; i < run->n_services; i++) {
		if (run->services[i].pid == pid)
			return &run->services[i];
	}
	return NULL;
}

static void run_notify_read(struct loop_io *io, uint32_t events, void *ctx)
{
	struct run_ctx *run = ctx;
	(void)io;
	(void)events;
	for (;;) {
		char data[4096];
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { data, sizeof(data) - 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf),
		};
		ssize_t n = recvmsg(run->notify_fd, &msg, MSG_DONTWAIT);
		if (n < 0)
			return;
		data[n] = '\0';
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		if (cm == NULL || cm->cmsg_type != SCM_CREDENTIALS)
			continue;
		struct ucred cred;
		memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
		struct run_service *rs = run_find_pid(run, cred.pid);
		if (rs == NULL)
			continue;
		if (strstr(data, "READY=1") != NULL && !rs->ready) {
			rs->ready = true;
			log_info(NULL, "%s ready (pid %ld)", rs->name,
				 (long)rs->pid);
			if (!run->announced)
				run_announce(run);
		}
	}
}

/* base_dir/stratusctl-run.pid: `stratusctl stop` ends this supervisor
 * (which stops its services in order) rather than the services, which it
 * would restart. */
static void run_write_pidfile(struct run_ctx *run)
{
	const char *dir = config_get(run->cfg, NULL, "base_dir");
	run->pid_path = xasprintf("%s/" CTL_RUN_PIDFILE,
				  dir != NULL ? dir : "/var/run/dovecot");
	FILE *f = fopen(run->pid_path, "w");
	if (f == NULL) {
		log_warning(NULL, "%s: %m", run->pid_path);
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

static int run_notify_open(struct run_ctx *run, char **error_r)
{
	const char *dir = config_get(run->cfg, NULL, "base_dir");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	run->notify_path = xasprintf("%s/stratusctl-notify",
				     dir != NULL ? dir : "/var/run/dovecot");
	if (strlen(run->notify_path) >= sizeof(sun.sun_path)) {
		*error_r = xasprintf("path too long: %s", run->notify_path);
		return -1;
	}
	memcpy(sun.sun_path, run->notify_path, strlen(run->notify_path) + 1);
	unlink(run->notify_path);
	int one = 1;
	run->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
				SOCK_NONBLOCK, 0);
	if (run->notify_fd < 0 ||
	    setsockopt(run->notify_fd, SOL_SOCKET, SO_PASSCRED, &one,
		       sizeof(one)) < 0 ||
	    bind(run->notify_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = xasprintf("notify socket %s: %s", run->notify_path,
				     strerror(errno));
		return -1;
	}
	/* Services that dropped root must be able to send READY=1. Anyone
	 * may write; only datagrams whose kernel-checked sender pid is one
	 * of our children count (run_notify_read). */
	if (geteuid() == 0 && chmod(run->notify_path, 0666) < 0) {
		*error_r = xasprintf("chmod %s: %s", run->notify_path,
				     strerror(errno));
		return -1;
	}
	run->notify_io = loop_io_add(run->loop, run->notify_fd, EPOLLIN,
				     run_notify_read, run);
	return 0;
}

static bool run_all_exited(struct run_ctx *run)
{
	for (size_t i = 0; i < run->n_services; i++) {
		if (run->services[i].pid > 0)
			return false;
	}
	return true;
}

/* Object storage stops last, as systemd orders it (the units are
 * After=stratus-blob.service): svc-index uploads dirty indexes on its
 * way out and needs svc-blob for that. */
static bool run_stops_last(const struct run_service *rs)
{
	return strcmp(rs->name, "blob") == 0;
}

static void run_stop_last(struct run_ctx *run)
{
	for (size_t i = 0; i < run->n_services; i++) {
		if (run->services[i].pid > 0 &&
		    !run_stops_last(&run->services[i]))
			return;
	}
	for (size_t i = 0; i < run->n_services; i++) {
		if (run->services[i].pid > 0)
			kill(run->services[i].pid, SIGTERM);
	}
}

static void run_child_exited(struct run_ctx *run, pid_t pid, int status)
{
	struct run_service *rs = run_find_pid(run, pid);
	if (rs == NULL)
		return;
	rs->pid = 0;
	if (run->stopping) {
		if (run_all_exited(run))
			loop_stop(run->loop);
		else
			run_stop_last(run);
		return;
	}
	uint64_t ran = monotonic_ms() - rs->started_ms;
	if (ran >= RUN_STABLE_MS || rs->backoff_ms == 0)
		rs->backoff_ms = RUN_RESTART_MIN_MS;
	else if (rs->backoff_ms < RUN_RESTART_MAX_MS)
		rs->backoff_ms *= 2;
	rs->restarts++;
	if (WIFSIGNALED(status))
		log_error(NULL, "%s (pid %ld) killed by signal %d; restarting "
			  "in %llu ms", rs->name, (long)pid, WTERMSIG(status),
			  (unsigned long long)rs->backoff_ms);
	else
		log_error(NULL, "%s (pid %ld) exited with status %d; "
			  "restarting in %llu ms", rs->name, (long)pid,
			  WEXITSTATUS(status),
			  (unsigned long long)rs->backoff_ms);
	rs->restart_timer = loop_timer_add(run->loop, rs->backoff_ms, false,
					   run_restart_timer, rs);
}

static void run_stop_timeout(struct loop_timer *t, void *ctx)
{
	struct run_ctx *run = ctx;
	(void)t;
	loop_timer_remove(&run->stop_timer);
	for (size_t i = 0; i < run->n_services; i++) {
		if (run->services[i].pid > 0) {
			log_warning(NULL, "%s did not stop; killing it",
				    run->services[i].name);
			kill(run->services[i].pid, SIGKILL);
		}
	}
}

static void run_on_signal(int signo, void *ctx)
{
	struct run_ctx *run = ctx;
	if (signo == SIGCHLD) {
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			run_child_exited(run, pid, status);
		return;
	}
	if (run->stopping)
		return;
	log_info(NULL, "stopping all services (signal %d)", signo);
	run->stopping = true;
	for (size_t i = 0; i < run->n_services; i++) {
		loop_timer_remove(&run->services[i].restart_timer);
		if (run->services[i].pid > 0 &&
		    !run_stops_last(&run->services[i]))
			kill(run->services[i].pid, SIGTERM);
	}
	run_stop_last(run);
	if (run_all_exited(run))
		loop_stop(run->loop);
	else
		run->stop_timer = loop_timer_add(run->loop, RUN_STOP_TIMEOUT_MS,
						 false, run_stop_timeout, run);
}

static void run_cleanup(struct run_ctx *run)
{
	for (size_t i = 0; i < run->n_services; i++) {
		struct run_service *rs = &run->services[i];
		for (size_t j = 0; j < rs->plan.n_specs; j++) {
			if (rs->fds != NULL && rs->fds[j] >= 0)
				close(rs->fds[j]);
			if (rs->plan.specs[j].kind == LISTENER_UNIX)
				unlink(rs->plan.specs[j].path);
		}
		loop_timer_remove(&rs->restart_timer);
		listener_plan_free(&rs->plan);
		free(rs->fds);
		free(rs->binary);
	}
	loop_timer_remove(&run->stop_timer);
	loop_io_remove(&run->notify_io);
	if (run->notify_fd >= 0)
		close(run->notify_fd);
	if (run->notify_path != NULL)
		unlink(run->notify_path);
	free(run->notify_path);
	if (run->pid_path != NULL)
		unlink(run->pid_path);
	free(run->pid_path);
}

/* The metrics endpoint: this binary again, `metrics serve`. */
static int run_add_stats(struct run_ctx *run, char **error_r)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		*error_r = xasprintf("readlink /proc/self/exe: %s",
				     strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	struct run_service *rs = &run->services[run->n_services++];
	rs->name = "stats";
	rs->stats = true;
	rs->run = run;
	rs->binary = xstrdup(exe);
	rs->fds = xcalloc(1, sizeof(int));
	return 0;
}

int ctl_cmd_run(struct ctl_args *args)
{
	static const char *const names[] = SERVICE_NAMES;
	struct run_ctx run = { .config_path = args->config_path,
			       .notify_fd = -1 };
	char *error = NULL;
	int ret = 0;
	if (args->argc > 0) {
		fprintf(stderr, "usage: stratusctl run [-c FILE]\n");
		return CTL_EXIT_USAGE;
	}
	run.cfg = ctl_config_load(args->config_path);
	if (run.cfg == NULL)
		return CTL_EXIT_FAILURE;
	run.loop = loop_new();
	const char *base_dir = config_get(run.cfg, NULL, "base_dir");
	if (run_mkdirs(base_dir != NULL ? base_dir : "/var/run/dovecot") < 0) {
		error = xasprintf("mkdir %s: %s", base_dir, strerror(errno));
		goto out;
	}
	if (run_notify_open(&run, &error) < 0)
		goto out;
	run_write_pidfile(&run);
	for (size_t i = 0; i < SERVICE_COUNT; i++) {
		if (!service_enabled(run.cfg, names[i]))
			continue;
		struct run_service *rs = &run.services[run.n_services++];
		rs->name = names[i];
		rs->run = &run;
		rs->binary = run_find_binary(names[i]);
		if (access(rs->binary, X_OK) < 0) {
			error = xasprintf("%s: %s", rs->binary, strerror(errno));
			goto out;
		}
		if (run_open_sockets(rs, &error) < 0)
			goto out;
	}
	if (ctl_metrics_configured(run.cfg) && run_add_stats(&run, &error) < 0)
		goto out;
	loop_signal_add(run.loop, SIGCHLD, run_on_signal, &run);
	loop_signal_add(run.loop, SIGTERM, run_on_signal, &run);
	loop_signal_add(run.loop, SIGINT, run_on_signal, &run);
	/* Everything the supervisor needs from the configuration is in its
	 * plans, sockets and paths now; the services read the file
	 * themselves. Freeing it (config_free wipes every value) leaves no
	 * setting in this long-lived process. */
	config_free(&run.cfg);
	for (size_t i = 0; i < run.n_services; i++)
		run_spawn(&run.services[i]);
	loop_run(run.loop);
	log_info(NULL, "all services stopped");
out:
	if (error != NULL) {
		log_msg(LOG_LEVEL_FATAL, NULL, "%s", error);
		free(error);
		ret = CTL_EXIT_FAILURE;
		/* Services already started must not outlive us. */
		for (size_t i = 0; i < run.n_services; i++) {
			if (run.services[i].pid > 0)
				kill(run.services[i].pid, SIGTERM);
		}
	}
	run_cleanup(&run);
	loop_free(&run.loop);
	config_free(&run.cfg);
	return ret;
}
