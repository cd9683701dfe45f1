/* The one event loop of a process: epoll for I/O, a timer heap, signalfd
 * for signals and a queue of deferred callbacks. Callbacks may add or
 * remove any watcher, including their own, while the loop dispatches. */
#ifndef STRATUS_LOOP_H
#define STRATUS_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_io;
struct loop_timer;

typedef void loop_io_cb(struct loop_io *io, uint32_t events, void *ctx);
typedef void loop_timer_cb(struct loop_timer *timer, void *ctx);
typedef void loop_signal_cb(int signo, void *ctx);
typedef void loop_defer_cb(void *ctx);

struct loop *loop_new(void);
void loop_free(struct loop **loop);

/* events: EPOLLIN / EPOLLOUT; errors and hangups are always reported.
 * The fd stays owned by the caller. */
struct loop_io *loop_io_add(struct loop *loop, int fd, uint32_t events,
			    loop_io_cb *cb, void *ctx);
void loop_io_set_events(struct loop_io *io, uint32_t events);
void loop_io_remove(struct loop_io **io);

/* Fires after msecs; repeats every msecs when repeat is true. */
struct loop_timer *loop_timer_add(struct loop *loop, uint64_t msecs,
				  bool repeat, loop_timer_cb *cb, void *ctx);
/* Starts the countdown again from now (idle timeouts). */
void loop_timer_reset(struct loop_timer *timer);
void loop_timer_remove(struct loop_timer **timer);

/* Blocks the signal and delivers it through the loop. 0 or -1. */
int loop_signal_add(struct loop *loop, int signo, loop_signal_cb *cb,
		    void *ctx);

/* Runs cb once, from the loop, after the current callback returns. */
void loop_defer(struct loop *loop, loop_defer_cb *cb, void *ctx);
/* Drops every deferred cb(ctx) not yet run (ctx is going away). */
void loop_defer_cancel(struct loop *loop, loop_defer_cb *cb, void *ctx);

/* Runs until loop_stop(). Returns 0, or -1 if epoll itself failed. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);
/* One iteration, waiting at most timeout_ms (-1 = until something). */
int loop_run_once(struct loop *loop, int timeout_ms);
bool loop_is_stopped(const struct loop *loop);

/* Monotonic milliseconds, cached per iteration. */
uint64_t loop_now_ms(struct loop *loop);
uint64_t monotonic_ms(void);

#endif
