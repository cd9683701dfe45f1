/* The interpreter alone, without LMTP or storage: compiles a script file,
 * then runs the binary-loaded form against a generated 4 KiB text message
 * (the shape stratus-loadgen delivers) N times, and prints the time per
 * run. bench-sieve.py reports it beside the end-to-end deliveries/s.
 *   sieve-run-bench SCRIPT [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "test-sieve-msg.h"

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_all(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		(void)buf_append(&b, tmp, n);
	fclose(f);
	*len_r = b.len;
	return b.data == NULL ? xstrdup("") : buf_steal(&b);
}

static void make_message(struct buf *m)
{
	static const char *const words[] = {
		"the", "quarterly", "report", "meeting", "is", "moved",
		"please", "review", "attached", "figures", "budget", "of",
	};

	(void)buf_append_str(m,
		"Return-Path: <sender@example.org>\r\n"
		"From: Load Generator <sender@example.org>\r\n"
		"To: <siv000@example.com>\r\n"
		"Subject: bench message 00000000deadbeef\r\n"
		"Date: Tue, 25 Nov 2025 10:00:00 +0000\r\n"
		"Message-ID: <00000000deadbeef@bench.example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	for (unsigned int i = 0; m->len < 4096; i++) {
		(void)buf_append_str(m, words[(i * 7) % 12]);
		(void)buf_append_str(m, i % 10 == 9 ? "\r\n" : " ");
	}
}

int main(int argc, char **argv)
{
	struct sieve_script *src, *script;
	struct buf msg = BUF_INIT;
	char *text, *error = NULL;
	void *bin;
	size_t len, blen;
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	size_t actions = 0;
	double t0;

	if (argc < 2 || (text = read_all(argv[1], &len)) == NULL) {
		fprintf(stderr, "usage: sieve-run-bench SCRIPT [N]\n");
		return 64;
	}
	if (sieve_script_compile(text, len, 0, &src, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		free(error);
		free(text);
		return 1;
	}
	/* delivery runs the cached binary form: so does the bench */
	sieve_binary_save(src, &bin, &blen);
	if (sieve_binary_load(bin, blen, &script) != SIEVE_BINARY_OK)
		return 1;
	make_message(&msg);
	t0 = now_secs();
	for (unsigned long i = 0; i < n; i++) {
		struct test_msg m;
		struct sieve_env env = { 0 };
		struct sieve_result *r;

		/* parsing the message is part of what delivery pays */
		test_msg_init(&m, msg.data, msg.len);
		env.tracking = &test_tracking_ops;
		env.tracking_ctx = &m;
		sieve_script_run(script, &test_msg_ops, &m, &env, &r);
		if (r->status != SIEVE_EXEC_OK)
			return 1;
		actions += r->n_actions;
		sieve_result_free(&r);
		test_msg_deinit(&m);
	}
	printf("sieve-run-bench runs=%lu usec_per_run=%.2f script_bytes=%zu "
	       "binary_bytes=%zu actions=%zu\n", n,
	       (now_secs() - t0) * 1e6 / (double)n, len, blen, actions);
	free(bin);
	free(text);
	buf_free(&msg);
	sieve_script_free(&script);
	sieve_script_free(&src);
	return 0;
}
