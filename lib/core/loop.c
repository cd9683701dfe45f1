/* epoll loop (see loop.h). Removed I/O watchers are parked until the end
 * of the iteration because the current epoll batch may still name them. */
#include "loop.h"
#include "buf.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 128
#define LOOP_MAX_SIGNALS 8

struct loop_io {
	struct loop *loop;
	int fd;
	uint32_t events;
	bool dead;
	loop_io_cb *cb;
	void *ctx;
	struct loop_io *next_dead;
};

struct loop_timer {
	struct loop *loop;
	uint64_t interval, deadline;
	bool repeat;
	size_t heap_idx;
	loop_timer_cb *cb;
	void *ctx;
};

struct loop_deferred {
	loop_defer_cb *cb;
	void *ctx;
	struct loop_deferred *next;
};

struct loop_signal {
	int signo;
	loop_signal_cb *cb;
	void *ctx;
};

struct loop {
	int epfd;
	bool stopped;
	uint64_t now;
	struct loop_io *dead_ios;
	struct loop_timer **heap;
	size_t heap_len, heap_cap;
	struct loop_deferred *defer_head, *defer_tail;
	struct loop_deferred *defer_running;	/* rest of the batch running */
	int sigfd;
	struct loop_io *sig_io;
	sigset_t sigmask;
	struct loop_signal signals[LOOP_MAX_SIGNALS];
	size_t n_signals;
};

uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *loop = xcalloc(1, sizeof(*loop));
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = monotonic_ms();
	return loop;
}

static void loop_free_dead(struct loop *loop)
{
	while (loop->dead_ios != NULL) {
		struct loop_io *io = loop->dead_ios;
		loop->dead_ios = io->next_dead;
		free(io);
	}
}

void loop_free(struct loop **_loop)
{
	struct loop *loop = *_loop;
	if (loop == NULL)
		return;
	*_loop = NULL;
	if (loop->sig_io != NULL)
		loop_io_remove(&loop->sig_io);
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	loop_free_dead(loop);
	for (size_t i = 0; i < loop->heap_len; i++)
		free(loop->heap[i]);
	free(loop->heap);
	while (loop->defer_head != NULL) {
		struct loop_deferred *d = loop->defer_head;
		loop->defer_head = d->next;
		free(d);
	}
	close(loop->epfd);
	free(loop);
}

struct loop_io *loop_io_add(struct loop *loop, int fd, uint32_t events,
			    loop_io_cb *cb, void *ctx)
{
	struct loop_io *io = xcalloc(1, sizeof(*io));
	struct epoll_event ev = { .events = events, .data.ptr = io };
	io->loop = loop;
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->ctx = ctx;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(io);
		return NULL;
	}
	return io;
}

void loop_io_set_events(struct loop_io *io, uint32_t events)
{
	if (io->events == events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = io };
	io->events = events;
	(void)epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void loop_io_remove(struct loop_io **_io)
{
	struct loop_io *io = *_io;
	if (io == NULL)
		return;
	*_io = NULL;
	/* The fd may already be closed by the owner; EBADF is harmless. */
	(void)epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->dead = true;
	io->next_dead = io->loop->dead_ios;
	io->loop->dead_ios = io;
}

static void heap_swap(struct loop *loop, size_t a, size_t b)
{
	struct loop_timer *t = loop->heap[a];
	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_idx = a;
	loop->heap[b]->heap_idx = b;
}

static void heap_up(struct loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->deadline <= loop->heap[i]->deadline)
			break;
		heap_swap(loop, i, parent);
		i = parent;
	}
}

static void heap_down(struct loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < loop->heap_len &&
		    loop->heap[l]->deadline < loop->heap[m]->deadline)
			m = l;
		if (r < loop->heap_len &&
		    loop->heap[r]->deadline < loop->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(loop, i, m);
		i = m;
	}
}

static void heap_insert(struct loop *loop, struct loop_timer *t)
{
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
		loop->heap = xreallocarray(loop->heap, loop->heap_cap,
					   sizeof(*loop->heap));
	}
	t->heap_idx = loop->heap_len;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, t->heap_idx);
}

static void heap_delete(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->heap_idx;
	loop->heap_len--;
	if (i != loop->heap_len) {
		heap_swap(loop, i, loop->heap_len);
		heap_down(loop, i);
		heap_up(loop, i);
	}
}

struct loop_timer *loop_timer_add(struct loop *loop, uint64_t msecs,
				  bool repeat, loop_timer_cb *cb, void *ctx)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));
	t->loop = loop;
	t->interval = msecs;
	t->repeat = repeat;
	t->cb = cb;
	t->ctx = ctx;
	t->deadline = monotonic_ms() + msecs;
	heap_insert(loop, t);
	return t;
}

void loop_timer_reset(struct loop_timer *t)
{
	heap_delete(t->loop, t);
	t->deadline = monotonic_ms() + t->interval;
	heap_insert(t->loop, t);
}

void loop_timer_remove(struct loop_timer **_t)
{
	struct loop_timer *t = *_t;
	if (t == NULL)
		return;
	*_t = NULL;
	heap_delete(t->loop, t);
	free(t);
}

static void loop_signal_read(struct loop_io *io, uint32_t events, void *ctx)
{
	struct loop *loop = ctx;
	struct signalfd_siginfo si;
	(void)io;
	(void)events;
	while (read(loop->sigfd, &si, sizeof(si)) == sizeof(si)) {
		for (size_t i = 0; i < loop->n_signals; i++) {
			if (loop->signals[i].signo == (int)si.ssi_signo)
				loop->signals[i].cb((int)si.ssi_signo,
						    loop->signals[i].ctx);
		}
	}
}

int loop_signal_add(struct loop *loop, int signo, loop_signal_cb *cb,
		    void *ctx)
{
	if (loop->n_signals == LOOP_MAX_SIGNALS)
		return -1;
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
		return -1;
	int fd = signalfd(loop->sigfd, &loop->sigmask,
			  SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		loop->sig_io = loop_io_add(loop, fd, EPOLLIN,
					   loop_signal_read, loop);
	}
	loop->signals[loop->n_signals++] =
		(struct loop_signal){ signo, cb, ctx };
	return 0;
}

void loop_defer(struct loop *loop, loop_defer_cb *cb, void *ctx)
{
	struct loop_deferred *d = xcalloc(1, sizeof(*d));
	d->cb = cb;
	d->ctx = ctx;
	if (loop->defer_tail != NULL)
		loop->defer_tail->next = d;
	else
		loop->defer_head = d;
	loop->defer_tail = d;
}

static void loop_run_deferred(struct loop *loop)
{
	/* Only what was queued before we started: a callback that defers
	 * again runs on the next iteration, so I/O is never starved. The
	 * rest of the batch stays reachable for loop_defer_cancel(); a
	 * nested loop_run_once() (a sync RPC) keeps and restores it. */
	struct loop_deferred *outer = loop->defer_running;
	struct loop_deferred *d = loop->defer_head;
	loop->defer_head = loop->defer_tail = NULL;
	while (d != NULL) {
		loop->defer_running = d->next;
		if (d->cb != NULL)
			d->cb(d->ctx);
		free(d);
		d = loop->defer_running;
	}
	loop->defer_running = outer;
}

void loop_defer_cancel(struct loop *loop, loop_defer_cb *cb, void *ctx)
{
	struct loop_deferred *lists[] = { loop->defer_head,
					  loop->defer_running };
	for (size_t i = 0; i < 2; i++) {
		for (struct loop_deferred *d = lists[i]; d != NULL; d = d->next) {
			if (d->cb == cb && d->ctx == ctx)
				d->cb = NULL;
		}
	}
}

static void loop_run_timers(struct loop *loop)
{
	loop->now = monotonic_ms();
	while (loop->heap_len > 0 && loop->heap[0]->deadline <= loop->now) {
		struct loop_timer *t = loop->heap[0];
		if (t->repeat) {
			t->deadline = loop->now + (t->interval ? t->interval : 1);
			heap_down(loop, 0);
			t->cb(t, t->ctx);
		} else {
			/* One-shot timers stay valid during the callback and
			 * are re-armed far away; the callback removes them. */
			t->deadline = UINT64_MAX;
			heap_down(loop, 0);
			t->cb(t, t->ctx);
		}
	}
}

static int loop_timeout(struct loop *loop, int max_ms)
{
	if (loop->defer_head != NULL)
		return 0;
	if (loop->heap_len == 0 || loop->heap[0]->deadline == UINT64_MAX)
		return max_ms;
	uint64_t now = monotonic_ms();
	uint64_t dl = loop->heap[0]->deadline;
	int ms = dl <= now ? 0 : (dl - now > 60000 ? 60000 : (int)(dl - now));
	return max_ms >= 0 && max_ms < ms ? max_ms : ms;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS,
			   loop_timeout(loop, timeout_ms));
	if (n < 0 && errno != EINTR)
		return -1;
	loop->now = monotonic_ms();
	for (int i = 0; i < n; i++) {
		struct loop_io *io = evs[i].data.ptr;
		if (!io->dead)
			io->cb(io, evs[i].events, io->ctx);
	}
	loop_run_timers(loop);
	loop_run_deferred(loop);
	loop_free_dead(loop);
	return 0;
}

int loop_run(struct loop *loop)
{
	loop->stopped = false;
	while (!loop->stopped) {
		if (loop_run_once(loop, -1) < 0)
			return -1;
	}
	return 0;
}

void loop_stop(struct loop *loop)
{
	loop->stopped = true;
}

bool loop_is_stopped(const struct loop *loop)
{
	return loop->stopped;
}

uint64_t loop_now_ms(struct loop *loop)
{
	return loop->now;
}
