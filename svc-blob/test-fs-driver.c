/* Unit tests: the fs chain API over real folders - the posix driver,
 * fscache (hit, miss, eviction, a reader during eviction, restart, cache
 * write failure) and compress (round trip, mixed plain and compressed
 * objects). The same operations run against S3 and CDMI servers in
 * tests/integration/test_blob*.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fs.h"
#include "fs-drivers.h"
#include "blob-stats.h"
#include "buf.h"

struct waiter {
	bool done;
	enum fs_status status;
	int fd;
	uint64_t size;
	bool from_cache;
	char *mailbox_guid;
	char **keys;
	size_t n_keys;
	char *next;
	unsigned int deleted;
	char *etag;
};

static struct loop *loop;
static struct blob_stats stats;
static char tmpdir[] = "/tmp/test-fs-driver.XXXXXX";

static void on_result(struct fs_result *r, void *ctx)
{
	struct waiter *w = ctx;
	w->done = true;
	w->status = r->status;
	w->fd = r->fd;
	r->fd = -1;
	w->size = r->size;
	w->from_cache = r->from_cache;
	w->mailbox_guid = r->meta.mailbox_guid ? xstrdup(r->meta.mailbox_guid) : NULL;
	w->keys = xcalloc(r->n_entries + 1, sizeof(char *));
	for (size_t i = 0; i < r->n_entries; i++)
		w->keys[i] = xstrdup(r->entries[i].key);
	w->n_keys = r->n_entries;
	w->next = r->next ? xstrdup(r->next) : NULL;
	w->deleted = r->deleted;
	w->etag = r->meta.etag ? xstrdup(r->meta.etag) : NULL;
}

static void wait_for(struct waiter *w)
{
	while (!w->done)
		loop_run_once(loop, 1000);
}

static void waiter_clear(struct waiter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->mailbox_guid);
	for (size_t i = 0; i < w->n_keys; i++)
		free(w->keys[i]);
	free(w->keys);
	free(w->next);
	free(w->etag);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

static struct fs *chain(const char *fmt)
{
	char *str = xasprintf(fmt, tmpdir, tmpdir);
	struct fs_settings set = { 2, 2, 2, 2, NULL, false };
	struct fs *fs;
	char *error = NULL;
	if (fs_init(str, loop, &stats, &set, &fs, &error) < 0)
		fail_msg("%s: %s", str, error);
	free(str);
	return fs;
}

static int body(const char *text)
{
	int fd = fs_memfd("test");
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void put(struct fs *fs, const char *key, const char *text)
{
	struct waiter w = { .fd = -1 };
	struct fs_meta meta = { .mailbox_guid = (char *)"mbox-guid-1" };
	int fd = body(text);
	fs_put(fs, key, fd, &meta, on_result, &w);
	wait_for(&w);
	close(fd);
	assert_int_equal(w.status, FS_OK);
	waiter_clear(&w);
}

/* Reads the object; returns malloc'd content or NULL if not found. */
static char *get(struct fs *fs, const char *key, bool *from_cache_r)
{
	struct waiter w = { .fd = -1 };
	fs_get(fs, key, on_result, &w);
	wait_for(&w);
	if (w.status != FS_OK) {
		waiter_clear(&w);
		return NULL;
	}
	char *data = xcalloc(1, w.size + 1);
	assert_int_equal(pread(w.fd, data, w.size, 0), (ssize_t)w.size);
	if (from_cache_r != NULL)
		*from_cache_r = w.from_cache;
	assert_string_equal(w.mailbox_guid, "mbox-guid-1");
	waiter_clear(&w);
	return data;
}

static void assert_get(struct fs *fs, const char *key, const char *want)
{
	char *got = get(fs, key, NULL);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void driver_suite(struct fs *fs)
{
	struct waiter w = { .fd = -1 };
	put(fs, "ab/cde/u1/m1/a", "hello");
	put(fs, "ab/cde/u1/m1/b", "world!");
	put(fs, "ab/cde/u1/m1-x", "other");
	put(fs, "ab/cde/u1/m2/c", "third");
	assert_get(fs, "ab/cde/u1/m1/a", "hello");
	assert_null(get(fs, "ab/cde/u1/none", NULL));

	fs_head(fs, "ab/cde/u1/m1/b", on_result, &w);
	wait_for(&w);
	assert_int_equal(w.status, FS_OK);
	assert_string_equal(w.mailbox_guid, "mbox-guid-1");
	waiter_clear(&w);

	/* listing is sorted and pages */
	fs_list(fs, "ab/cde/u1/", NULL, 2, on_result, &w);
	wait_for(&w);
	assert_int_equal(w.n_keys, 2);
	assert_string_equal(w.keys[0], "ab/cde/u1/m1-x");
	assert_string_equal(w.keys[1], "ab/cde/u1/m1/a");
	assert_non_null(w.next);
	char *next = xstrdup(w.next);
	waiter_clear(&w);
	fs_list(fs, "ab/cde/u1/", next, 2, on_result, &w);
	wait_for(&w);
	free(next);
	assert_int_equal(w.n_keys, 2);
	assert_string_equal(w.keys[0], "ab/cde/u1/m1/b");
	assert_string_equal(w.keys[1], "ab/cde/u1/m2/c");
	waiter_clear(&w);
	fs_list(fs, "ab/cde/u1/m1/", NULL, 0, on_result, &w);
	wait_for(&w);
	assert_int_equal(w.n_keys, 2);
	assert_null(w.next);
	waiter_clear(&w);

	fs_copy(fs, "ab/cde/u1/m1/a", "ab/cde/u1/m3/a", on_result, &w);
	wait_for(&w);
	assert_int_equal(w.status, FS_OK);
	waiter_clear(&w);
	assert_get(fs, "ab/cde/u1/m3/a", "hello");

	const char *keys[] = { "ab/cde/u1/m1/a", "ab/cde/u1/m3/a", "ab/cde/u1/gone" };
	fs_delete(fs, keys, 3, on_result, &w);
	wait_for(&w);
	assert_int_equal(w.status, FS_OK);
	assert_int_equal(w.deleted, 3);
	waiter_clear(&w);
	assert_null(get(fs, "ab/cde/u1/m1/a", NULL));
	assert_get(fs, "ab/cde/u1/m1/b", "world!");
}

static void test_posix_suite(void **state)
{
	(void)state;
	struct fs *fs = chain("posix:prefix=%s/posix/");
	driver_suite(fs);
	fs_deinit(&fs);
}

/* mail_fsync = never and the no-fsync option: the same contract, only
 * without fsync (whether fsync ran is not visible here). */
/* A put with a condition, as svc-index publishes bundles: the status. */
static enum fs_status put_if(struct fs *fs, const char *key, const char *text,
			     const char *if_match, bool if_none_match)
{
	struct waiter w = { .fd = -1 };
	struct fs_meta meta = { .mailbox_guid = (char *)"mbox-guid-1",
				.if_match = if_match,
				.if_none_match = if_none_match };
	int fd = body(text);
	fs_put(fs, key, fd, &meta, on_result, &w);
	wait_for(&w);
	close(fd);
	enum fs_status st = w.status;
	waiter_clear(&w);
	return st;
}

static char *head_etag(struct fs *fs, const char *key)
{
	struct waiter w = { .fd = -1 };
	fs_head(fs, key, on_result, &w);
	wait_for(&w);
	assert_int_equal(w.status, FS_OK);
	assert_non_null(w.etag);
	char *etag = xstrdup(w.etag);
	waiter_clear(&w);
	return etag;
}

/* posix: If-None-Match (create only) and If-Match (this version only)
 * really hold: the second creator and a writer with an old tag lose,
 * and the object keeps the winner's bytes. */
static void test_posix_conditional_put(void **state)
{
	(void)state;
	struct fs *fs = chain("posix:prefix=%s/cond/");
	const char *key = "ab/cde/u1/index.bundle";
	assert_int_equal(put_if(fs, key, "first", NULL, true), FS_OK);
	assert_int_equal(put_if(fs, key, "second", NULL, true), FS_CONFLICT);
	assert_get(fs, key, "first");
	char *v1 = head_etag(fs, key);
	assert_int_equal(put_if(fs, key, "third", v1, false), FS_OK);
	char *v2 = head_etag(fs, key);
	assert_string_not_equal(v1, v2);
	assert_int_equal(put_if(fs, key, "stale", v1, false), FS_CONFLICT);
	assert_get(fs, key, "third");
	assert_int_equal(put_if(fs, "ab/cde/u1/none", "x", v2, false),
			 FS_CONFLICT);
	free(v1);
	free(v2);
	fs_deinit(&fs);
}

static void test_posix_no_fsync_suite(void **state)
{
	(void)state;
	char *str = xasprintf("posix:prefix=%s/posix-nofsync/", tmpdir);
	struct fs_settings set = { 2, 2, 2, 2, NULL, true };
	struct fs *fs;
	char *error = NULL;
	assert_int_equal(fs_init(str, loop, &stats, &set, &fs, &error), 0);
	free(str);
	driver_suite(fs);
	fs_deinit(&fs);
	fs = chain("posix:prefix=%s/posix-nofsync2/:no-fsync");
	driver_suite(fs);
	fs_deinit(&fs);
}

static void test_fscache_suite(void **state)
{
	(void)state;
	struct fs *fs = chain("fscache:1M:%s/cache1:posix:prefix=%s/posix1/");
	driver_suite(fs);
	fs_deinit(&fs);
}

static void test_compress_suite(void **state)
{
	(void)state;
	struct fs *fs = chain("compress:gz:6:posix:prefix=%s/gz/");
	driver_suite(fs);
	fs_deinit(&fs);
}

static void test_fscache_hit_miss_evict_restart(void **state)
{
	(void)state;
	char big[401];
	bool cached;
	memset(big, 'x', 400);
	big[400] = '\0';
	memset(&stats, 0, sizeof(stats));
	struct fs *fs = chain("fscache:1000:%s/cache2:posix:prefix=%s/posix2/");
	put(fs, "o1", big);	/* write-through */
	char *d = get(fs, "o1", &cached);
	assert_true(cached);
	free(d);
	assert_int_equal(stats.cache_hits, 1);
	assert_int_equal(stats.cache_misses, 0);

	/* a reader holds o1 open while o2, o3 push it out */
	struct waiter w = { .fd = -1 };
	fs_get(fs, "o1", on_result, &w);
	wait_for(&w);
	assert_true(w.from_cache);
	put(fs, "o2", big);
	put(fs, "o3", big);
	assert_int_equal(stats.cache_evictions, 1);
	assert_true(stats.cache_bytes <= 1000);
	char rd[401] = { 0 };
	assert_int_equal(pread(w.fd, rd, 400, 0), 400);
	assert_string_equal(rd, big);
	waiter_clear(&w);

	/* o1 is a miss now, fetched from storage and cached again */
	d = get(fs, "o1", &cached);
	assert_false(cached);
	assert_string_equal(d, big);
	free(d);
	assert_int_equal(stats.cache_misses, 1);
	d = get(fs, "o1", &cached);
	assert_true(cached);
	free(d);
	uint64_t used = stats.cache_bytes;
	fs_deinit(&fs);

	/* restart: accounting rebuilt from the folder, temp files dropped */
	char *junk = xasprintf("%s/cache2/.tmp.crashed", tmpdir);
	int fd = open(junk, O_CREAT | O_WRONLY, 0600);
	close(fd);
	stats.cache_bytes = 0;
	fs = chain("fscache:1000:%s/cache2:posix:prefix=%s/posix2/");
	assert_int_equal(stats.cache_bytes, used);
	assert_int_equal(access(junk, F_OK), -1);
	free(junk);
	d = get(fs, "o1", &cached);
	assert_true(cached);
	free(d);
	fs_deinit(&fs);
}

static void stat_at(const char *fmt, const char *key, struct stat *st)
{
	char *path = xasprintf(fmt, tmpdir, key);
	assert_int_equal(stat(path, st), 0);
	free(path);
}

/* In front of posix on the same filesystem the cache file is the
 * object's own inode (no copy); a hit leaves the object's mtime (its
 * etag) alone; a new put replaces the link; behind a compress layer
 * (no local file of the plain bytes) the cache keeps a copy. */
static void test_fscache_links_local_objects(void **state)
{
	(void)state;
	struct stat obj, cached_st, after;
	bool cached;
	memset(&stats, 0, sizeof(stats));
	struct fs *fs = chain("fscache:1M:%s/cache5:posix:prefix=%s/posix5/");
	put(fs, "a/b/o1", "first body");
	stat_at("%s/posix5/%s", "a/b/o1", &obj);
	stat_at("%s/cache5/%s", "a/b/o1", &cached_st);
	assert_int_equal(obj.st_ino, cached_st.st_ino);
	assert_int_equal(obj.st_nlink, 2);
	struct timespec old[2] = { { .tv_sec = 1000000 }, { .tv_sec = 2000000 } };
	char *opath = xasprintf("%s/posix5/a/b/o1", tmpdir);
	assert_int_equal(utimensat(AT_FDCWD, opath, old, 0), 0);
	char *d = get(fs, "a/b/o1", &cached);
	assert_true(cached);
	assert_string_equal(d, "first body");
	free(d);
	assert_int_equal(stat(opath, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, 2000000);
	assert_true(after.st_atim.tv_sec > 1000000);
	put(fs, "a/b/o1", "second body");
	stat_at("%s/posix5/%s", "a/b/o1", &obj);
	stat_at("%s/cache5/%s", "a/b/o1", &cached_st);
	assert_int_equal(obj.st_ino, cached_st.st_ino);
	d = get(fs, "a/b/o1", &cached);
	assert_true(cached);
	assert_string_equal(d, "second body");
	free(d);
	/* deleted from storage: the cache name goes too */
	const char *keys[] = { "a/b/o1" };
	struct waiter w = { .fd = -1 };
	fs_delete(fs, keys, 1, on_result, &w);
	wait_for(&w);
	waiter_clear(&w);
	char *cpath = xasprintf("%s/cache5/a/b/o1", tmpdir);
	assert_int_equal(access(cpath, F_OK), -1);
	assert_int_equal(access(opath, F_OK), -1);
	free(cpath);
	free(opath);
	assert_int_equal(stats.cache_errors, 0);
	fs_deinit(&fs);

	fs = chain("fscache:1M:%s/cache6:compress:gz:6:posix:prefix=%s/posix6/");
	put(fs, "o2", "compressed below");
	stat_at("%s/posix6/%s", "o2", &obj);
	stat_at("%s/cache6/%s", "o2", &cached_st);
	assert_int_not_equal(obj.st_ino, cached_st.st_ino);
	assert_int_equal(cached_st.st_size, strlen("compressed below"));
	assert_get(fs, "o2", "compressed below");
	fs_deinit(&fs);
}

static void test_fscache_write_failure_serves_storage(void **state)
{
	(void)state;
	memset(&stats, 0, sizeof(stats));
	struct fs *fs = chain("fscache:1M:%s/cache3:posix:prefix=%s/posix3/");
	/* a file where the cache needs a folder: every cache write fails */
	char *blocker = xasprintf("%s/cache3/dir", tmpdir);
	int fd = open(blocker, O_CREAT | O_WRONLY, 0600);
	close(fd);
	free(blocker);
	put(fs, "dir/obj", "still stored");
	bool cached = true;
	char *d = get(fs, "dir/obj", &cached);
	assert_string_equal(d, "still stored");
	assert_false(cached);
	free(d);
	assert_true(stats.cache_errors >= 2);
	fs_deinit(&fs);
}

static void test_mixed_compressed_and_plain(void **state)
{
	(void)state;
	struct fs *plain = chain("posix:prefix=%s/mixed/");
	struct fs *detect = xcalloc(1, sizeof(*detect));
	struct fs *gz = xcalloc(1, sizeof(*gz));
	char *error = NULL;
	detect->loop = gz->loop = loop;
	detect->parent = plain;
	assert_int_equal(fs_compress_init(detect, 0, &error), 0);
	struct fs *plain2 = chain("posix:prefix=%s/mixed/");
	gz->parent = plain2;
	assert_int_equal(fs_compress_init(gz, 6, &error), 0);
	put(detect, "old-plain", "From: a\r\n\r\nplain body\r\n");
	put(gz, "new-gz", "From: b\r\n\r\ncompressed body\r\n");
	/* the stored object really is gzip */
	char *raw = get(plain, "new-gz", NULL);
	assert_int_equal((unsigned char)raw[0], 0x1f);
	free(raw);
	assert_get(detect, "old-plain", "From: a\r\n\r\nplain body\r\n");
	assert_get(detect, "new-gz", "From: b\r\n\r\ncompressed body\r\n");
	assert_get(gz, "old-plain", "From: a\r\n\r\nplain body\r\n");
	fs_deinit(&detect);
	fs_deinit(&gz);
}

static void test_corrupt_gzip_is_an_error(void **state)
{
	(void)state;
	struct fs *plain = chain("posix:prefix=%s/corrupt/");
	struct fs *gzfs = chain("compress:gz:1:posix:prefix=%s/corrupt/");
	put(plain, "bad", "\x1f\x8b\x08garbage-garbage-garbage");
	assert_null(get(gzfs, "bad", NULL));
	fs_deinit(&plain);
	fs_deinit(&gzfs);
}

static int setup(void **state)
{
	(void)state;
	loop = loop_new();
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	loop_free(&loop);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix_suite),
		cmocka_unit_test(test_posix_no_fsync_suite),
		cmocka_unit_test(test_posix_conditional_put),
		cmocka_unit_test(test_fscache_suite),
		cmocka_unit_test(test_compress_suite),
		cmocka_unit_test(test_fscache_hit_miss_evict_restart),
		cmocka_unit_test(test_fscache_links_local_objects),
		cmocka_unit_test(test_fscache_write_failure_serves_storage),
		cmocka_unit_test(test_mixed_compressed_and_plain),
		cmocka_unit_test(test_corrupt_gzip_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
