/* Runs the corpus in testdata/NAME.test: each file holds one script and any
 * number of message/expectation pairs (or an expected compile error), in
 * sections:
 *   == script          the Sieve script
 *   == compile-error   text the compile error must contain
 *   == envelope        "from=ADDR to=ADDR" for the next message
 *   == message         RFC 5322 text
 *   == expect          actions, one per line, as test_result_format()
 *   == include NAME    a personal script for `include` (any position
 *   == include-global NAME   before the expect that uses it)
 * Every case also runs through sieve_binary_save/load, so the stored form
 * behaves exactly like the freshly compiled one. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "test-sieve-msg.h"

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len_r = b.len;
	return b.data == NULL ? xstrdup("") : buf_steal(&b);
}

static char *trim(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			   s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

/* The scripts `include` may name in one corpus file. */
struct corpus_includes {
	char *names[16];
	bool global[16];
	struct sieve_script *scripts[16];
	size_t n;
};

static const struct sieve_script *corpus_include(void *ctx, bool global,
						 const char *name)
{
	const struct corpus_includes *inc = ctx;

	for (size_t i = 0; i < inc->n; i++) {
		if (inc->global[i] == global &&
		    strcmp(inc->names[i], name) == 0)
			return inc->scripts[i];
	}
	return NULL;
}

static int corpus_include_add(struct corpus_includes *inc, const char *arg,
			      bool global, const char *src, const char *file)
{
	char *error = NULL;

	if (inc->n == 16 ||
	    sieve_script_compile(src, strlen(src), 0,
				 &inc->scripts[inc->n], &error) < 0) {
		fprintf(stderr, "%s: include %s: %s\n", file, arg,
			error != NULL ? error : "too many");
		free(error);
		return 1;
	}
	inc->names[inc->n] = xstrdup(arg);
	inc->global[inc->n++] = global;
	return 0;
}

static void corpus_includes_free(struct corpus_includes *inc)
{
	for (size_t i = 0; i < inc->n; i++) {
		free(inc->names[i]);
		sieve_script_free(&inc->scripts[i]);
	}
	inc->n = 0;
}

static int run_case(struct sieve_script *script, const char *envelope,
		    const char *msgtext, const char *expect, const char *file,
		    struct corpus_includes *includes)
{
	struct test_msg m;
	struct sieve_env env = { 0 };
	struct sieve_result *r;
	char *got, from[256] = "", to[256] = "";
	int fails = 0;

	test_msg_init(&m, msgtext, strlen(msgtext));
	if (envelope != NULL) {
		const char *f = strstr(envelope, "from="), *t = strstr(envelope, "to=");

		if (f != NULL)
			sscanf(f, "from=%255s", from);
		if (t != NULL)
			sscanf(t, "to=%255s", to);
		if (f != NULL)
			m.env_from = strcmp(from, "<>") == 0 ? "" : from;
		if (t != NULL)
			m.env_to = to;
	}
	env.tracking = &test_tracking_ops;
	env.tracking_ctx = &m;
	env.include = corpus_include;
	env.include_ctx = includes;
	env.spamtest_header = "X-Spam-Score";
	env.spamtest_max = 10;
	env.virustest_header = "X-Virus-Score";
	env.virustest_max = 5;
	/* Run twice: the second run sees the first run's tracking marks
	 * only when the expectation says "== expect" after "== again". */
	sieve_script_run(script, &test_msg_ops, &m, &env, &r);
	got = test_result_format(r);
	/* Multi-line strings carry CRLF; the corpus files are LF. */
	for (char *src = got, *dst = got;; src++) {
		if (*src != '\r')
			*dst++ = *src;
		if (*src == '\0')
			break;
	}
	trim(got);
	if (strcmp(got, expect) != 0) {
		fprintf(stderr, "%s: expected:\n%s\ngot:\n%s\n%s\n", file,
			expect, got, r->error != NULL ? r->error : "");
		fails++;
	}
	sieve_result_free(&r);
	free(got);
	test_msg_deinit(&m);
	return fails;
}

static int run_file(const char *path)
{
	size_t len;
	char *text = read_file(path, &len), *p, *section = NULL, *body;
	char *script_src = NULL, *cerr = NULL, *envelope = NULL, *msg = NULL;
	struct sieve_script *script = NULL, *loaded = NULL;
	char *error = NULL;
	struct corpus_includes inc = { 0 }, *includes = &inc;
	int fails = 0;

	if (text == NULL)
		return 1;
	p = text;
	while (p != NULL && *p != '\0') {
		char *next = strstr(p, "\n== ");

		if (strncmp(p, "== ", 3) != 0) {
			/* header comments before the first section */
			p = next != NULL ? next + 1 : NULL;
			continue;
		}
		section = p + 3;
		body = strchr(section, '\n');
		if (body == NULL)
			break;
		*body++ = '\0';
		if (next != NULL)
			*next = '\0';
		trim(section);
		if (strcmp(section, "script") == 0) {
			script_src = body;
			if (sieve_script_compile(body, strlen(body), 0, &script,
						 &error) < 0) {
				/* checked by a following compile-error */
			}
		} else if (strcmp(section, "compile-error") == 0) {
			cerr = trim(body);
			if (error == NULL || strstr(error, cerr) == NULL) {
				fprintf(stderr, "%s: expected compile error "
					"'%s', got '%s'\n", path, cerr,
					error != NULL ? error : "(none)");
				fails++;
			}
		} else if (strncmp(section, "include ", 8) == 0) {
			fails += corpus_include_add(includes, section + 8, false,
						    body, path);
		} else if (strncmp(section, "include-global ", 15) == 0) {
			fails += corpus_include_add(includes, section + 15,
						    true, body, path);
		} else if (strcmp(section, "envelope") == 0) {
			envelope = trim(body);
		} else if (strcmp(section, "message") == 0) {
			msg = body;
		} else if (strcmp(section, "expect") == 0) {
			void *bin;
			size_t blen;

			if (script == NULL) {
				fprintf(stderr, "%s: script failed to compile: "
					"%s\n", path, error);
				fails++;
				break;
			}
			fails += run_case(script, envelope, msg != NULL ? msg : "",
					  trim(body), path, includes);
			sieve_binary_save(script, &bin, &blen);
			if (sieve_binary_load(bin, blen, &loaded) != 0) {
				fprintf(stderr, "%s: binary reload failed\n",
					path);
				fails++;
			} else {
				fails += run_case(loaded, envelope,
						  msg != NULL ? msg : "",
						  body, path, includes);
				sieve_script_free(&loaded);
			}
			free(bin);
			envelope = NULL;
		}
		p = next != NULL ? next + 1 : NULL;
	}
	(void)script_src;
	if (error != NULL && cerr == NULL) {
		fprintf(stderr, "%s: unexpected compile error: %s\n", path,
			error);
		fails++;
	}
	free(error);
	sieve_script_free(&script);
	corpus_includes_free(includes);
	free(text);
	return fails;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_corpus(void **state)
{
	const char *dir = getenv("SIEVE_TESTDATA");
	char **names = NULL;
	size_t n = 0;
	int fails = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	if (dir == NULL)
		dir = "lib/sieve/testdata";
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".test") == 0) {
			names = xreallocarray(names, n + 1, sizeof(char *));
			names[n++] = xasprintf("%s/%s", dir, de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < n; i++) {
		int f = run_file(names[i]);

		if (f > 0)
			fprintf(stderr, "FAILED: %s\n", names[i]);
		fails += f;
		free(names[i]);
	}
	free(names);
	fprintf(stderr, "%zu corpus files, %d failures\n", n, fails);
	assert_true(n >= 20);
	assert_int_equal(fails, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
