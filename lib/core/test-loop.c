/* lib/core/loop: I/O, timers (one-shot, repeating, reset, removal from
 * callbacks), signals, deferred callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <unistd.h>

#include "loop.h"

struct counter {
	struct loop *loop;
	int n;
	struct loop_timer *timer;
	struct loop_io *io;
	int fd;
};

static void count_and_stop(struct loop_timer *t, void *ctx)
{
	struct counter *c = ctx;
	c->n++;
	loop_timer_remove(&c->timer);
	(void)t;
	loop_stop(c->loop);
}

static void test_one_shot_timer(void **state)
{
	(void)state;
	struct counter c = { .loop = loop_new() };
	uint64_t t0 = monotonic_ms();
	c.timer = loop_timer_add(c.loop, 30, false, count_and_stop, &c);
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.n, 1);
	assert_true(monotonic_ms() - t0 >= 30);
	assert_null(c.timer);
	loop_free(&c.loop);
}

static void count_to_three(struct loop_timer *t, void *ctx)
{
	struct counter *c = ctx;
	(void)t;
	if (++c->n == 3) {
		loop_timer_remove(&c->timer);
		loop_stop(c->loop);
	}
}

static void test_repeating_timer(void **state)
{
	(void)state;
	struct counter c = { .loop = loop_new() };
	c.timer = loop_timer_add(c.loop, 5, true, count_to_three, &c);
	assert_int_equal(loop_run(c.loop), 0);
	assert_int_equal(c.n, 3);
	loop_free(&c.loop);
}

static void never(struct loop_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	fail_msg("removed timer fired");
}

static void test_timer_order_and_removal(void **state)
{
	(void)state;
	struct counter c = { .loop = loop_new() };
	struct loop_timer *removed = loop_timer_add(c.loop, 10, false, never, NULL);
	struct loop_timer *later = loop_timer_add(c.loop, 1000, false, never, NULL);
	c.timer = loop_timer_add(c.loop, 20, false, count_and_stop, &c);
	loop_timer_remove(&removed);
	assert_null(removed);
	loop_run(c.loop);
	assert_int_equal(c.n, 1);
	loop_timer_remove(&later);
	loop_free(&c.loop);
}

static void on_readable(struct loop_io *io, uint32_t events, void *ctx)
{
	struct counter *c = ctx;
	char b[16];
	assert_true(events & EPOLLIN);
	assert_true(read(c->fd, b, sizeof(b)) > 0);
	c->n++;
	/* Removing ourselves inside the callback is allowed. */
	loop_io_remove(&c->io);
	(void)io;
	loop_stop(c->loop);
}

static void test_io_and_self_removal(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct counter c = { .loop = loop_new(), .fd = p[0] };
	c.io = loop_io_add(c.loop, p[0], EPOLLIN, on_readable, &c);
	assert_int_equal(write(p[1], "x", 1), 1);
	loop_run(c.loop);
	assert_int_equal(c.n, 1);
	assert_null(c.io);
	loop_free(&c.loop);
	close(p[0]);
	close(p[1]);
}

static void on_signal(int signo, void *ctx)
{
	struct counter *c = ctx;
	assert_int_equal(signo, SIGUSR1);
	c->n++;
	loop_stop(c->loop);
}

static void deferred(void *ctx)
{
	struct counter *c = ctx;
	c->n += 10;
	kill(getpid(), SIGUSR1);
}

static void test_signal_and_defer(void **state)
{
	(void)state;
	struct counter c = { .loop = loop_new() };
	assert_int_equal(loop_signal_add(c.loop, SIGUSR1, on_signal, &c), 0);
	loop_defer(c.loop, deferred, &c);
	loop_run(c.loop);
	assert_int_equal(c.n, 11);
	loop_free(&c.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_shot_timer),
		cmocka_unit_test(test_repeating_timer),
		cmocka_unit_test(test_timer_order_and_removal),
		cmocka_unit_test(test_io_and_self_removal),
		cmocka_unit_test(test_signal_and_defer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
