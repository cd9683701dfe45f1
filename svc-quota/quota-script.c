/* Runs quota warning commands. `quota_warning = storage=95%% quota-warning
 * 95 %u` names a script service, configured the Dovecot way:
 *   service quota-warning { executable = script /path/quota-warning.sh
 *                           user = email
 *                           unix_listener quota-warning { } }
 * When the listener's socket exists (systemd's stratus-quota-warning.socket
 * runs the script, as its own user, once per connection), the arguments
 * are written to it as one tab-separated line. Otherwise the script runs
 * here with the remaining words as arguments, as that user when we are
 * root, with a timeout; its output is logged. Either way it runs beside
 * the loop and never delays an answer to a saving service. */
#include "quota-common.h"
#include "buf.h"
#include "log.h"
#include "var-expand.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUOTA_SCRIPT_TIMEOUT_MS 30000
#define QUOTA_SCRIPT_OUTPUT_MAX 4096
#define QUOTA_SCRIPT_MAX_ARGS 32
#define QUOTA_SCRIPT_REAP_MS 50

struct quota_script {
	struct quota_ctx *q;
	char *user, *label;
	pid_t pid;
	int fd;
	struct loop_io *io;
	struct loop_timer *timeout, *reap;
	struct buf output;
	struct quota_script *next;
};

static void quota_script_free(struct quota_script *s)
{
	for (struct quota_script **p = &s->q->scripts; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	loop_io_remove(&s->io);
	loop_timer_remove(&s->timeout);
	loop_timer_remove(&s->reap);
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->output);
	free(s->user);
	free(s->label);
	free(s);
}

static void quota_script_log_output(struct quota_script *s)
{
	if (s->output.len == 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(s->output.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		log_info(&(struct log_ctx){ .user = s->user },
			 "quota-warning %s: %s", s->label, line);
	buf_reset(&s->output);
}

static void quota_script_reap(struct loop_timer *t, void *ctx)
{
	struct quota_script *s = ctx;
	int status;
	(void)t;
	pid_t r = waitpid(s->pid, &status, WNOHANG);
	if (r == 0)
		return;		/* output closed, process not gone yet */
	quota_script_log_output(s);
	if (r < 0)
		log_error(&(struct log_ctx){ .user = s->user },
			  "quota-warning %s: waitpid: %m", s->label);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info(&(struct log_ctx){ .user = s->user },
			 "quota-warning %s: done", s->label);
	else
		log_error(&(struct log_ctx){ .user = s->user },
			  "quota-warning %s: failed (%s %d)", s->label,
			  WIFEXITED(status) ? "exit status" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) :
			  WTERMSIG(status));
	quota_script_free(s);
}

static void quota_script_read(struct loop_io *io, uint32_t events, void *ctx)
{
	struct quota_script *s = ctx;
	char tmp[1024];
	(void)io;
	(void)events;
	ssize_t n = read(s->fd, tmp, sizeof(tmp));
	if (n > 0) {
		/* Keep the first part of a chatty script's output only. */
		(void)buf_append(&s->output, tmp, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	loop_io_remove(&s->io);
	close(s->fd);
	s->fd = -1;
	s->reap = loop_timer_add(s->q->svc->loop, QUOTA_SCRIPT_REAP_MS, true,
				 quota_script_reap, s);
	quota_script_reap(NULL, s);
}

static void quota_script_timeout(struct loop_timer *t, void *ctx)
{
	struct quota_script *s = ctx;
	(void)t;
	loop_timer_remove(&s->timeout);
	log_error(&(struct log_ctx){ .user = s->user },
		  "quota-warning %s: timed out after %d ms; killing it",
		  s->label, QUOTA_SCRIPT_TIMEOUT_MS);
	kill(s->pid, SIGKILL);
}

/* In the child: become the service's user when we can, then exec. */
static void quota_script_exec(const char *path, char **argv,
			      const char *run_as, int out_fd)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	if (run_as != NULL && geteuid() == 0) {
		struct passwd *pw = getpwnam(run_as);
		if (pw == NULL || initgroups(pw->pw_name, pw->pw_gid) < 0 ||
		    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			dprintf(STDERR_FILENO, "cannot run as user %s\n", run_as);
			_exit(126);
		}
	} else if (run_as != NULL) {
		/* svc-quota dropped root (lib/service/privdrop.c) or was
		 * never root: say whose the script's rights are. */
		struct passwd *pw = getpwnam(run_as);
		if (pw == NULL || pw->pw_uid != geteuid())
			dprintf(STDERR_FILENO, "not root: runs as uid %ld, "
				"not as user %s\n", (long)geteuid(), run_as);
	}
	execv(path, argv);
	dprintf(STDERR_FILENO, "exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* "script /usr/local/bin/quota-warning.sh" of `service NAME`. */
static const char *quota_script_path(const struct config *cfg,
				     const char *service, const char **user_r)
{
	const struct config_section *sec =
		config_section_find(config_root(cfg), "service", service);
	*user_r = NULL;
	if (sec == NULL)
		return NULL;
	const char *exe = config_section_get(sec, "executable");
	const char *user = config_section_get(sec, "user");
	*user_r = user != NULL && *user != '\0' ? user : NULL;
	if (exe == NULL || strncmp(exe, "script ", 7) != 0)
		return NULL;
	exe += 7;
	return exe + strspn(exe, " ");
}

/* The socket of `service NAME { unix_listener L { } }` under base_dir,
 * if one is listening there (malloc'd), else NULL. */
static char *quota_script_socket(const struct config *cfg,
				 const char *service)
{
	const struct config_section *sec =
		config_section_find(config_root(cfg), "service", service);
	const struct config_section *l = sec == NULL ? NULL :
		config_section_find(sec, "unix_listener", NULL);
	if (l == NULL)
		return NULL;
	const char *dir = config_get(cfg, NULL, "base_dir");
	const char *name = *l->name != '\0' ? l->name : service;
	char *path = name[0] == '/' ? xstrdup(name) :
		     xasprintf("%s/%s", dir != NULL && *dir != '\0' ? dir :
			       "/var/run/dovecot", name);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		free(path);
		return NULL;
	}
	return path;
}

/* Hands the arguments to the script service's socket. The line is far
 * below a socket buffer, so a non-blocking write completes or fails. */
static int quota_script_send(const char *path, char *const *argv,
			     const char **error_r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct buf line = BUF_INIT;
	int fd = -1, ret = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*error_r = "socket path too long";
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (size_t i = 1; argv[i] != NULL; i++) {
		if (i > 1)
			buf_append_c(&line, '\t');
		buf_append_str(&line, argv[i]);
	}
	buf_append_c(&line, '\n');
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		*error_r = strerror(errno);
	else if (send(fd, line.data, line.len, MSG_NOSIGNAL) != (ssize_t)line.len)
		*error_r = errno != 0 ? strerror(errno) : "short write";
	else
		ret = 0;
	if (fd >= 0)
		close(fd);
	buf_free(&line);
	return ret;
}

/* Forks the script with argv (argv[0] is replaced by its path). */
static void quota_script_spawn(struct quota_ctx *q, const char *user,
			       char **argv, const char *expanded)
{
	struct log_ctx lctx = { .user = user };
	const char *run_as;
	const char *path = quota_script_path(q->svc->cfg, argv[0], &run_as);
	if (path == NULL) {
		log_error(&lctx, "quota warning '%s': no `service %s { "
			  "executable = script PATH }` in the configuration",
			  expanded, argv[0]);
		return;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_error(&lctx, "quota warning: pipe: %m");
		return;
	}
	/* argv[0] becomes the script itself; the service name is dropped. */
	argv[0] = (char *)path;
	pid_t pid = fork();
	if (pid == 0)
		quota_script_exec(path, argv, run_as, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		log_error(&lctx, "quota warning: fork: %m");
		close(pipefd[0]);
		return;
	}
	struct quota_script *s = xcalloc(1, sizeof(*s));
	s->q = q;
	s->user = xstrdup(user);
	s->label = xstrdup(path);
	s->pid = pid;
	s->fd = pipefd[0];
	buf_init(&s->output, QUOTA_SCRIPT_OUTPUT_MAX);
	fcntl(s->fd, F_SETFL, O_NONBLOCK);
	s->io = loop_io_add(q->svc->loop, s->fd, EPOLLIN, quota_script_read, s);
	s->timeout = loop_timer_add(q->svc->loop, QUOTA_SCRIPT_TIMEOUT_MS,
				    false, quota_script_timeout, s);
	s->next = q->scripts;
	q->scripts = s;
	q->warnings_run++;
	log_info(&lctx, "quota warning: running %s", expanded);
}

/* Writes argv[1..] to the script service's socket instead. */
static void quota_script_hand_off(struct quota_ctx *q, const char *user,
				  const char *sock, char **argv,
				  const char *expanded)
{
	struct log_ctx lctx = { .user = user };
	const char *error;
	errno = 0;
	if (quota_script_send(sock, argv, &error) < 0) {
		log_error(&lctx, "quota warning '%s': socket %s: %s",
			  expanded, sock, error);
		return;
	}
	q->warnings_run++;
	log_info(&lctx, "quota warning: sent %s to %s", expanded, sock);
}

void quota_warning_run(struct quota_ctx *q, const char *user,
		       const char *command)
{
	struct log_ctx lctx = { .user = user };
	struct var_expand_user vu;
	struct buf cmd;
	const char *error;
	buf_init(&cmd, 4096);
	var_expand_user_init(&vu, user, "quota", NULL);
	int r = var_expand(&cmd, command, vu.table, NULL, NULL, &error);
	var_expand_user_deinit(&vu);
	if (r < 0) {
		log_error(&lctx, "quota warning '%s': %s", command, error);
		buf_free(&cmd);
		return;
	}
	/* Logged as run, with %u expanded; cmd is cut into words below. */
	char *expanded = xstrdup(cmd.data);
	char *argv[QUOTA_SCRIPT_MAX_ARGS + 1], *save = NULL;
	size_t argc = 0;
	for (char *w = strtok_r(cmd.data, " \t", &save);
	     w != NULL && argc < QUOTA_SCRIPT_MAX_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	char *sock = argc > 0 ? quota_script_socket(q->svc->cfg, argv[0]) :
		     NULL;
	if (argc == 0)
		log_error(&lctx, "quota warning '%s': no command", command);
	else if (sock != NULL)
		quota_script_hand_off(q, user, sock, argv, expanded);
	else
		quota_script_spawn(q, user, argv, expanded);
	free(sock);
	free(expanded);
	buf_free(&cmd);
}

void quota_scripts_deinit(struct quota_ctx *q)
{
	while (q->scripts != NULL) {
		struct quota_script *s = q->scripts;
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		quota_script_free(s);
	}
}
