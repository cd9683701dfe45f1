/* sendmail_path: runs "PATH -i -f SENDER -- RCPT..." with the message on
 * a non-blocking pipe (LF line ends, as local programs expect), keeps the
 * first bytes of its stderr for the error, and watches its exit through a
 * pidfd so no SIGCHLD handler is needed. Exit 0 = sent, EX_TEMPFAIL (75)
 * or a signal = temporary failure, anything else = permanent. A program
 * that outlives the timeout is killed. */
#include "smtp-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMTP_EX_TEMPFAIL 75

extern char **environ;

static void smtp_sendmail_close(struct loop_io **io, int *fd)
{
	loop_io_remove(io);
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void smtp_sendmail_read_err(struct smtp_submit *s)
{
	char tmp[512];
	ssize_t n;
	while (s->err_fd >= 0 && (n = read(s->err_fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN)
				smtp_sendmail_close(&s->err_io, &s->err_fd);
			return;
		}
		size_t room = s->err.max - s->err.len;
		buf_append(&s->err, tmp, (size_t)n < room ? (size_t)n : room);
	}
	smtp_sendmail_close(&s->err_io, &s->err_fd);
}

static void smtp_sendmail_err_io(struct loop_io *io, uint32_t events,
				 void *ctx)
{
	(void)io;
	(void)events;
	smtp_sendmail_read_err(ctx);
}

/* The first line of what the program said, for the log. */
static const char *smtp_sendmail_stderr(struct smtp_submit *s)
{
	if (s->err.data == NULL)
		return "";
	s->err.data[strcspn(s->err.data, "\r\n")] = '\0';
	return s->err.data;
}

static void smtp_sendmail_exited(struct loop_io *io, uint32_t events,
				 void *ctx)
{
	struct smtp_submit *s = ctx;
	int st;
	(void)io;
	(void)events;
	pid_t ret = waitpid(s->pid, &st, WNOHANG);
	if (ret == 0 || (ret < 0 && errno == EINTR))
		return;
	s->pid = -1;
	smtp_sendmail_read_err(s);
	const char *err = smtp_sendmail_stderr(s);
	const char *path = s->sub->sendmail_path;
	if (ret < 0)
		smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, "waitpid failed");
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		smtp_submit_finish(s, SMTP_STATUS_OK, NULL);
	else if (WIFEXITED(st)) {
		char *e = xasprintf("%s exited with status %d%s%s", path,
				    WEXITSTATUS(st), *err != '\0' ? ": " : "",
				    err);
		smtp_submit_finish(s, WEXITSTATUS(st) == SMTP_EX_TEMPFAIL ?
				   SMTP_STATUS_TEMPFAIL : SMTP_STATUS_PERMFAIL, e);
		free(e);
	} else {
		char *e = xasprintf("%s killed by signal %d", path,
				    WTERMSIG(st));
		smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, e);
		free(e);
	}
}

static void smtp_sendmail_write(struct loop_io *io, uint32_t events,
				void *ctx)
{
	struct smtp_submit *s = ctx;
	(void)io;
	(void)events;
	while (s->msg_off < s->len) {
		ssize_t n = write(s->in_fd, s->msg + s->msg_off,
				  s->len - s->msg_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;	/* EPIPE: the exit status will tell */
		s->msg_off += (size_t)n;
	}
	smtp_sendmail_close(&s->in_io, &s->in_fd);
}

static void smtp_sendmail_timeout(struct loop_timer *t, void *ctx)
{
	struct smtp_submit *s = ctx;
	(void)t;
	char *e = xasprintf("%s did not finish in time; killed",
			    s->sub->sendmail_path);
	smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, e);
	free(e);
}

/* Local programs get LF line ends (Postfix's sendmail accepts both). */
static void smtp_sendmail_to_lf(struct smtp_submit *s)
{
	size_t o = 0;
	for (size_t i = 0; i < s->len; i++) {
		if (s->msg[i] == '\r' && i + 1 < s->len && s->msg[i + 1] == '\n')
			continue;
		s->msg[o++] = s->msg[i];
	}
	s->len = o;
}

static int smtp_sendmail_spawn(struct smtp_submit *s, int in_rd, int err_wr)
{
	size_t argc = 0;
	char **argv = xcalloc(s->n_rcpts + 7, sizeof(*argv));
	argv[argc++] = s->sub->sendmail_path;
	argv[argc++] = (char *)"-i";
	argv[argc++] = (char *)"-f";
	argv[argc++] = s->mail_from[0] != '\0' ? s->mail_from : (char *)"<>";
	argv[argc++] = (char *)"--";
	for (size_t i = 0; i < s->n_rcpts; i++)
		argv[argc++] = s->rcpts[i];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_rd, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err_wr, 2);
	posix_spawnattr_init(&attr);
	/* the loop blocks the signals it handles; the child must not */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	int ret = posix_spawn(&s->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(argv);
	if (ret != 0) {
		s->pid = -1;
		errno = ret;
		return -1;
	}
	return 0;
}

void smtp_sendmail_start(struct smtp_submit *s)
{
	int in[2], err[2];
	s->pid = -1;
	smtp_sendmail_to_lf(s);
	if (pipe2(in, O_CLOEXEC) < 0) {
		smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, "pipe failed");
		return;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, "pipe failed");
		return;
	}
	int ret = smtp_sendmail_spawn(s, in[0], err[1]);
	int spawn_errno = errno;
	close(in[0]);
	close(err[1]);
	s->in_fd = in[1];
	s->err_fd = err[0];
	if (ret < 0) {
		char *e = xasprintf("cannot run %s: %s", s->sub->sendmail_path,
				    strerror(spawn_errno));
		smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, e);
		free(e);
		return;
	}
	s->pidfd = pidfd_open(s->pid, 0);
	if (s->pidfd < 0) {
		smtp_submit_finish(s, SMTP_STATUS_TEMPFAIL, "pidfd_open failed");
		return;
	}
	fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
	struct loop *loop = s->sub->loop;
	s->timer = loop_timer_add(loop, s->sub->timeout_msecs, false,
				  smtp_sendmail_timeout, s);
	s->in_io = loop_io_add(loop, s->in_fd, EPOLLOUT, smtp_sendmail_write, s);
	s->err_io = loop_io_add(loop, s->err_fd, EPOLLIN, smtp_sendmail_err_io,
				s);
	s->pid_io = loop_io_add(loop, s->pidfd, EPOLLIN, smtp_sendmail_exited, s);
}

void smtp_sendmail_cleanup(struct smtp_submit *s)
{
	smtp_sendmail_close(&s->in_io, &s->in_fd);
	smtp_sendmail_close(&s->err_io, &s->err_fd);
	smtp_sendmail_close(&s->pid_io, &s->pidfd);
	if (s->pid > 0) {
		/* aborted or timed out: a killed child is reaped at once */
		kill(s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		s->pid = -1;
	}
}
