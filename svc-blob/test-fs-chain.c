/* Unit tests: fs string parsing (fs-chain-parse.c) and key rules
 * (blob-keys.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs-chain.h"
#include "blob-keys.h"

static void test_spec_s3_chain(void **state)
{
	struct fs_chain c;
	char *error = NULL;
	(void)state;
	assert_int_equal(fs_chain_parse("fscache:1G:/var/cache/mails:s3: https://ACCESSKEY:SECRET@BUCKETNAME.s3.amazonaws.com/", &c, &error), 0);
	assert_int_equal(c.n_layers, 2);
	assert_int_equal(c.layers[0].kind, FS_LAYER_FSCACHE);
	assert_int_equal(c.layers[0].cache_size, 1024ULL * 1024 * 1024);
	assert_string_equal(c.layers[0].cache_path, "/var/cache/mails");
	assert_int_equal(c.layers[1].kind, FS_LAYER_S3);
	assert_true(c.layers[1].url.https);
	assert_string_equal(c.layers[1].url.host, "BUCKETNAME.s3.amazonaws.com");
	assert_string_equal(c.layers[1].url.access_key, "ACCESSKEY");
	assert_string_equal(c.layers[1].url.secret, "SECRET");
	assert_string_equal(c.layers[1].url.region, "us-east-1");
	assert_null(c.layers[1].url.bucket);
	assert_int_equal(c.layers[1].url.timeout_msecs, 10000);
	assert_int_equal(c.layers[1].url.connect_timeout_msecs, 5000);
	assert_int_equal(c.layers[1].url.max_retries, 4);
	assert_int_equal(c.layers[1].url.max_connect_retries, 2);
	fs_chain_free(&c);
}

static void test_spec_compress_and_scality(void **state)
{
	struct fs_chain c;
	char *error = NULL;
	(void)state;
	assert_int_equal(fs_chain_parse("compress:gz:6:scality:http://scality-url/mails/?addhdr=X-Dovecot-Hash:%2Mu/%2.3Mu&bulk_delete=1&bulk_link=1", &c, &error), 0);
	assert_int_equal(c.n_layers, 2);
	assert_int_equal(c.layers[0].kind, FS_LAYER_COMPRESS);
	assert_int_equal(c.layers[0].level, 6);
	assert_int_equal(c.layers[1].kind, FS_LAYER_SCALITY);
	assert_string_equal(c.layers[1].url.path, "/mails/");
	assert_string_equal(c.layers[1].url.addhdr_name, "X-Dovecot-Hash");
	assert_string_equal(c.layers[1].url.addhdr_value, "%2Mu/%2.3Mu");
	assert_true(c.layers[1].url.bulk_delete);
	assert_true(c.layers[1].url.bulk_link);
	fs_chain_free(&c);
}

static void test_path_style_and_params(void **state)
{
	struct fs_chain c;
	char *error = NULL;
	(void)state;
	assert_int_equal(fs_chain_parse("s3:http://AK:SK@127.0.0.1:9000/?bucket=mails&region=eu-west-1&timeout_msecs=500&max_retries=2&connect_timeout_msecs=100&max_connect_retries=1", &c, &error), 0);
	const struct fs_http_url *u = &c.layers[0].url;
	assert_false(u->https);
	assert_string_equal(u->host, "127.0.0.1");
	assert_int_equal(u->port, 9000);
	assert_string_equal(u->bucket, "mails");
	assert_string_equal(u->region, "eu-west-1");
	assert_int_equal(u->timeout_msecs, 500);
	assert_int_equal(u->max_retries, 2);
	assert_int_equal(u->connect_timeout_msecs, 100);
	assert_int_equal(u->max_connect_retries, 1);
	fs_chain_free(&c);

	assert_int_equal(fs_chain_parse("s3:https://AK:SK@b.s3.eu-central-1.amazonaws.com/", &c, &error), 0);
	assert_string_equal(c.layers[0].url.region, "eu-central-1");
	fs_chain_free(&c);
}

static void test_hex_escaped_credentials(void **state)
{
	struct fs_chain c;
	char *error = NULL;
	(void)state;
	/* as written in dovecot.conf: %% for %, so ':' is %%3A */
	assert_int_equal(fs_chain_parse("s3:https://AK%%3Ax:S%%2FK%%2B1@b.example.com/", &c, &error), 0);
	assert_string_equal(c.layers[0].url.access_key, "AK:x");
	assert_string_equal(c.layers[0].url.secret, "S/K+1");
	fs_chain_free(&c);
	/* single % also accepted */
	assert_int_equal(fs_chain_parse("s3:https://AK:S%2FK@b.example.com/", &c, &error), 0);
	assert_string_equal(c.layers[0].url.secret, "S/K");
	fs_chain_free(&c);
}

static void test_posix(void **state)
{
	struct fs_chain c;
	char *error = NULL;
	(void)state;
	assert_int_equal(fs_chain_parse("posix:prefix=/var/mail/objects/", &c, &error), 0);
	assert_int_equal(c.layers[0].kind, FS_LAYER_POSIX);
	assert_string_equal(c.layers[0].prefix, "/var/mail/objects/");
	assert_false(c.layers[0].no_fsync);
	fs_chain_free(&c);
	/* Dovecot's fs-posix option: write without fsync */
	assert_int_equal(fs_chain_parse("posix:prefix=/var/mail/o/:no-fsync",
					&c, &error), 0);
	assert_true(c.layers[0].no_fsync);
	fs_chain_free(&c);
}

static void expect_error(const char *str, const char *needle)
{
	struct fs_chain c;
	char *error = NULL;
	if (fs_chain_parse(str, &c, &error) == 0)
		fail_msg("'%s' parsed", str);
	assert_non_null(error);
	if (strstr(error, needle) == NULL)
		fail_msg("error for '%s' is '%s', wanted '%s'", str, error, needle);
	assert_null(strstr(error, "SECRETXYZ"));
	free(error);
	assert_int_equal(c.n_layers, 0);
}

static void test_bad_strings(void **state)
{
	(void)state;
	expect_error("", "empty");
	expect_error("nosuch:foo", "unknown fs driver");
	expect_error("fscache", "no ':'");
	expect_error("compress:gz:0:posix:prefix=/x/", "level must be 1..9");
	expect_error("compress:gz:10:posix:prefix=/x/", "level must be 1..9");
	expect_error("compress:bz2:6:posix:prefix=/x/", "unsupported algorithm");
	expect_error("compress:gz:6", "needs ALG:LEVEL");
	expect_error("fscache:1Q:/c:posix:prefix=/x/", "bad size");
	expect_error("fscache:1G:relative:posix:prefix=/x/", "absolute");
	expect_error("posix:prefix=relative", "absolute");
	expect_error("posix:prefix=/a/../b", "..");
	expect_error("posix:frob=1", "unknown option");
	expect_error("s3:ftp://a:b@host/", "http");
	expect_error("s3:http://host.example.com/", "ACCESSKEY:SECRET");
	expect_error("s3:http://a:SECRETXYZ@127.0.0.1/", "bucket");
	expect_error("s3:http://a:SECRETXYZ@h.x:99999/", "port");
	expect_error("s3:http://a:SECRETXYZ@h.x/?nope=1", "unknown URL parameter");
	expect_error("s3:http://a:SECRETXYZ@h.x/?timeout_msecs=abc", "timeout_msecs");
	expect_error("s3:http://a:SECRETXYZ@h.x/?bucket=A", "bucket");
	expect_error("s3:http://a:SECRETXYZ%zz@h.x/", "escape");
	expect_error("s3:http://a:SECRETXYZ%00@h.x/", "escape");
	expect_error("scality:http://h/?addhdr=a:b&addhdr=c:d", "once");
	expect_error("scality:http://h/?addhdr=nocolon", "NAME:VALUE");
	expect_error("scality:http://h/../x/", "..");
	expect_error("fscache:1G:/a:fscache:1G:/a:fscache:1G:/a:fscache:1G:/a:fscache:1G:/a:fscache:1G:/a:fscache:1G:/a:fscache:1G:/a:posix:prefix=/x/", "layers");
}

static void test_user_prefix(void **state)
{
	const char *error;
	(void)state;
	char *t = blob_keys_template("obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/");
	assert_string_equal(t, "%2Mu/%2.3Mu/%u");
	/* md5("user1@example.com") = 8b6e...  */
	char *p = blob_keys_user_prefix(t, "user1@example.com", &error);
	assert_non_null(p);
	assert_int_equal(strlen(p), 2 + 1 + 3 + 1 + strlen("user1@example.com") + 1);
	assert_string_equal(p + 7, "user1@example.com/");
	assert_memory_equal(p + 2, "/", 1);
	free(p);
	assert_null(blob_keys_user_prefix(t, "a/b", &error));
	assert_null(blob_keys_user_prefix(t, "..", &error));
	assert_null(blob_keys_user_prefix(t, "", &error));
	free(t);
	t = blob_keys_template("");
	assert_string_equal(t, "%u");
	free(t);
}

static void test_keys(void **state)
{
	const char *error;
	(void)state;
	assert_true(blob_key_valid("mailbox-guid/msg-guid", false, &error));
	assert_false(blob_key_valid("", false, &error));
	assert_true(blob_key_valid("", true, &error));
	assert_false(blob_key_valid("../other", false, &error));
	assert_false(blob_key_valid("a/../b", false, &error));
	assert_false(blob_key_valid("a/./b", false, &error));
	assert_false(blob_key_valid("/abs", false, &error));
	assert_false(blob_key_valid("a//b", false, &error));
	assert_false(blob_key_valid("a\nb", false, &error));
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(blob_key_valid(big, false, &error));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_s3_chain),
		cmocka_unit_test(test_spec_compress_and_scality),
		cmocka_unit_test(test_path_style_and_params),
		cmocka_unit_test(test_hex_escaped_credentials),
		cmocka_unit_test(test_posix),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_user_prefix),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
