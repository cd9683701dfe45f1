/* Unit tests of the argument parsers: sequence/UID sets against a session
 * view, FETCH items, SEARCH keys. The hostile inputs found by
 * fuzz-imap-command are kept here as regression cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-fetch.h"
#include "imap-msgset.h"
#include "imap-search.h"

/* A session seeing UIDs 1, 3, 4, 10, 11 (sequence 1..5), two recent. */
static uint32_t view[] = { 1, 3, 4, 10, 11 };

struct fixture {
	struct imap_client client;
	struct imap_cmd cmd;
};

static struct imap_cmd *parse(struct fixture *f, const char *line)
{
	memset(f, 0, sizeof(*f));
	f->client.uids = view;
	f->client.n_uids = sizeof(view) / sizeof(view[0]);
	f->client.recent_uids = view + 3;
	f->client.n_recent_uids = 2;
	f->cmd.client = &f->client;
	const char *error = NULL;
	assert_int_equal(imap_parse_command(line, strlen(line), NULL, 0,
					    &f->cmd.pool, &f->cmd.c, &error), 0);
	return &f->cmd;
}

static const char *set_uids(const char *set, bool uid)
{
	static char out[256];
	struct fixture f;
	struct imap_cmd *cmd = parse(&f, "a X 1");
	struct imap_msgset ms;
	const char *error = NULL;
	if (imap_msgset_parse(cmd, set, uid, &ms, &error) < 0) {
		snprintf(out, sizeof(out), "error: %s", error);
	} else {
		size_t len = 0;
		out[0] = '\0';
		for (size_t i = 0; i < ms.n_uids; i++)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s%u", i > 0 ? "," : "",
						ms.uids[i]);
		for (size_t i = 0; i < ms.n_ranges; i++)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						" [%u:%u]", ms.ranges[i]->first,
						ms.ranges[i]->last);
	}
	imap_pool_clear(&cmd->pool);
	return out;
}

static void test_msgset(void **state)
{
	(void)state;
	assert_string_equal(set_uids("1:*", false), "1,3,4,10,11 [1:11]");
	assert_string_equal(set_uids("*:2", false), "3,4,10,11 [3:11]");
	assert_string_equal(set_uids("2,4", false), "3,10 [3:3] [10:10]");
	assert_string_equal(set_uids("6", false), "error: Invalid messageset");
	assert_string_equal(set_uids("0", false), "error: Invalid messageset");
	assert_string_equal(set_uids("2:9", true), "3,4 [3:4]");
	/* "n:*" above the highest UID still names the last message. */
	assert_string_equal(set_uids("100:*", true), "11 [11:11]");
	assert_string_equal(set_uids("1:4294967295", true),
			    "1,3,4,10,11 [1:11]");
	assert_string_equal(set_uids("5:9", true), "");
	assert_string_equal(set_uids("4294967295", true), "");
	assert_string_equal(set_uids("4294967296", true),
			    "error: Invalid messageset");
	assert_string_equal(set_uids("1:*,*:1,1:*,*:1", false),
			    "1,3,4,10,11 [1:11]");
	assert_string_equal(set_uids("1,,2", false),
			    "error: Invalid messageset");
}

/* "1:*,*:1" 100,000 times: refused by count, never expanded; just under
 * the bound it resolves to the five messages, once each. */
static void test_msgset_huge(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_append_str(&b, i > 0 ? ",1:*,*:1" : "1:*,*:1");
	assert_string_equal(set_uids(b.data, false),
			    "error: Too many ranges in sequence set");
	buf_reset(&b);
	for (int i = 0; i < 32000; i++)
		buf_append_str(&b, i > 0 ? ",1:*,*:1" : "1:*,*:1");
	assert_string_equal(set_uids(b.data, true), "1,3,4,10,11 [1:11]");
	buf_free(&b);
}

/* The items of "a FETCH 1 <items>" as a list of kinds/names. */
static const char *fetch_items(const char *items)
{
	static char out[512];
	struct fixture f;
	char line[400];
	snprintf(line, sizeof(line), "a FETCH 1 %s", items);
	struct imap_cmd *cmd = parse(&f, line);
	struct imap_fetch_items it;
	const char *error = NULL;
	if (imap_fetch_items_parse(&cmd->pool, &cmd->c.args[1], &it,
				   &error) < 0) {
		snprintf(out, sizeof(out), "error: %s", error);
	} else {
		size_t len = 0;
		out[0] = '\0';
		for (size_t i = 0; i < it.n_items; i++) {
			const struct imap_fetch_item *x = &it.items[i];
			len += (size_t)snprintf(out + len, sizeof(out) - len,
				"%s%d%s%s", i > 0 ? " " : "", (int)x->kind,
				x->name != NULL ? ":" : "",
				x->name != NULL ? x->name : "");
		}
	}
	imap_fetch_items_free(&it);
	imap_pool_clear(&cmd->pool);
	return out;
}

static void test_fetch_items(void **state)
{
	(void)state;
	assert_string_equal(fetch_items("FAST"), "1 2 3");
	assert_string_equal(fetch_items("(UID MODSEQ)"), "0 8");
	assert_string_equal(fetch_items("BODY.PEEK[HEADER.FIELDS (From)]<0.10>"),
			    "7:BODY[HEADER.FIELDS (FROM)]<0>");
	assert_string_equal(fetch_items("(BODY[1.MIME] RFC822.HEADER)"),
			    "7:BODY[1.MIME] 7:RFC822.HEADER");
	assert_string_equal(fetch_items("BODY[]<0.0>"),
			    "error: Invalid BODY[..] partial");
	assert_string_equal(fetch_items("BODY[]<1>"),
			    "error: Invalid BODY[..] partial");
	assert_string_equal(fetch_items("BODY[0]"),
			    "error: Invalid BODY[..] parameter");
	assert_string_equal(fetch_items("()"), "error: Invalid fetch items");
	assert_string_equal(fetch_items("(FLAGS (UID))"),
			    "error: Invalid fetch item");
	assert_string_equal(fetch_items("XYZZY"), "error: Unknown parameter ");
}

/* The search tree of "a SEARCH <keys>" in prefix notation. */
static void key_str(const Stratus__IndexSearchKey *k, char *out, size_t *len,
		    size_t cap)
{
	*len += (size_t)snprintf(out + *len, cap - *len, "(%d", (int)k->op);
	if (k->field != NULL && k->field[0] != '\0')
		*len += (size_t)snprintf(out + *len, cap - *len, " f=%s",
					 k->field);
	if (k->text != NULL && k->text[0] != '\0')
		*len += (size_t)snprintf(out + *len, cap - *len, " t=%s",
					 k->text);
	if (k->number != 0)
		*len += (size_t)snprintf(out + *len, cap - *len, " n=%lld",
					 (long long)k->number);
	for (size_t i = 0; i < k->n_uids; i++)
		*len += (size_t)snprintf(out + *len, cap - *len, " %u:%u",
					 k->uids[i]->first, k->uids[i]->last);
	for (size_t i = 0; i < k->n_sub; i++) {
		*len += (size_t)snprintf(out + *len, cap - *len, " ");
		key_str(k->sub[i], out, len, cap);
	}
	*len += (size_t)snprintf(out + *len, cap - *len, ")");
}

static const char *search(const char *keys)
{
	static char out[1024];
	struct fixture f;
	char *line = NULL;
	size_t n = strlen(keys) + 16;
	line = malloc(n);
	snprintf(line, n, "a SEARCH %s", keys);
	struct imap_cmd *cmd = parse(&f, line);
	Stratus__IndexSearchKey *key;
	const char *error = NULL;
	if (imap_search_parse(cmd, cmd->c.args, cmd->c.n_args, &key,
			      &error) < 0) {
		snprintf(out, sizeof(out), "error: %s", error);
	} else {
		size_t len = 0;
		key_str(key, out, &len, sizeof(out));
	}
	imap_pool_clear(&cmd->pool);
	free(line);
	return out;
}

static void test_search(void **state)
{
	(void)state;
	assert_string_equal(search("SEEN"), "(1 (4 t=\\Seen))");
	assert_string_equal(search("NOT DELETED"),
			    "(1 (3 (4 t=\\Deleted)))");
	assert_string_equal(search("NOT UNDELETED"),
			    "(1 (3 (3 (4 t=\\Deleted))))");
	assert_string_equal(search("OR FROM x (TO y)"),
			    "(1 (2 (14 f=from t=x) (1 (14 f=to t=y))))");
	assert_string_equal(search("2:3 LARGER 10"),
			    "(1 (5 3:4) (6 n=10))");
	assert_string_equal(search("SINCE 1-Feb-2024"), "(1 (10 n=1706745600))");
	assert_string_equal(search("SINCE 31-Feb-2024"),
			    "error: Invalid search date");
	assert_string_equal(search("SINCE 29-Feb-2023"),
			    "error: Invalid search date");
	assert_string_equal(search("ON 29-Feb-2024"), "(1 (9 n=1709164800))");
	assert_string_equal(search("LARGER"), "error: Missing argument");
	assert_string_equal(search("LARGER -1"), "error: Invalid size");
	assert_string_equal(search("FOO"), "error: Unknown argument");
	assert_string_equal(search("()"), "error: Empty list");
	assert_string_equal(search("9"), "error: Invalid messageset");
}

/* Deep nesting and key counts are bounded, not recursed into. */
static void test_search_bounds(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 3000; i++)
		buf_append_str(&b, "NOT ");
	buf_append_str(&b, "SEEN");
	assert_string_equal(search(b.data), "error: Too complex search");
	buf_reset(&b);
	for (int i = 0; i < 2000; i++)
		buf_append_str(&b, "SEEN ");
	assert_string_equal(search(b.data), "error: Too complex search");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgset),
		cmocka_unit_test(test_msgset_huge),
		cmocka_unit_test(test_fetch_items),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_search_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
