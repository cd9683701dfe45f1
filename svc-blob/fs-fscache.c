/* fscache: a bounded local disk cache in front of object storage
 * (fscache:SIZE:PATH:<fs>). Read-through (a miss is fetched and kept) and
 * write-through (a freshly stored object is kept, so the first reader of
 * a delivered mail costs no GET). HEAD of a cached object is answered
 * from the cache too.
 *
 * Cache files live at PATH/<key>, written as hidden temp files and
 * renamed into place; the metadata rides along as an xattr. In front of
 * a driver that keeps each object as a local file with the same xattr
 * (posix) on the same filesystem, the cache file is a hard link to it
 * instead of a copy: the same bytes for a link() instead of a create,
 * copy, fsetxattr and rename per put. Eviction is least-recently-used (a
 * hit touches the file's atime, not its mtime, which is part of a posix
 * object's etag; the order survives restarts: start-up rescans the
 * folder, drops temp files and rebuilds the accounting). Readers hold open file descriptors, so
 * evicting a file under a reader is safe: unlink only drops the name.
 * When the cache cannot write (disk full, permissions) the request is
 * still served from object storage and the failure is logged and counted
 * (Dovecot turns that into a client-visible error). */
#include "fs.h"
#include "fs-chain.h"
#include "fs-drivers.h"
#include "blob-stats.h"
#include "buf.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CACHE_META_XATTR "user.stratus.meta"
#define CACHE_META_MAX 4096

struct cache_entry {
	char *key;
	uint64_t size;
	uint64_t stamp;		/* last use, for the start-up sort */
	struct cache_entry *hnext;	/* hash chain */
	struct cache_entry *prev, *next;	/* LRU: head = newest */
};

struct fs_fscache {
	char *path;		/* ends with '/' */
	uint64_t max_size;
	uint64_t used;
	struct cache_entry **buckets;
	size_t n_buckets, n_entries;
	struct cache_entry *head, *tail;
	unsigned int tmp_counter;
	int pid;		/* in temp names: getpid() is a syscall */
	bool no_link;		/* a link() failed with EXDEV etc.: copy */
};

static size_t key_hash(const char *key)
{
	size_t h = 14695981039346656037ULL;
	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return h;
}

static struct cache_entry *cache_find(struct fs_fscache *c, const char *key)
{
	struct cache_entry *e = c->buckets[key_hash(key) & (c->n_buckets - 1)];
	while (e != NULL && strcmp(e->key, key) != 0)
		e = e->hnext;
	return e;
}

static void lru_unlink(struct fs_fscache *c, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_head(struct fs_fscache *c, struct cache_entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void cache_rehash(struct fs_fscache *c)
{
	size_t n = c->n_buckets * 2;
	struct cache_entry **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct cache_entry *e = c->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->hnext;
			size_t h = key_hash(e->key) & (n - 1);
			e->hnext = b[h];
			b[h] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->n_buckets = n;
}

static void cache_remove_entry(struct fs_fscache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[key_hash(e->key) & (c->n_buckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->used -= e->size;
	c->n_entries--;
	free(e->key);
	free(e);
}

/* Adds or replaces; the entry becomes the newest (or goes where `tail`
 * says during the start-up scan). */
static void cache_add(struct fs_fscache *c, const char *key, uint64_t size,
		      uint64_t stamp)
{
	struct cache_entry *e = cache_find(c, key);
	if (e != NULL)
		cache_remove_entry(c, e);
	if (c->n_entries >= c->n_buckets * 2)
		cache_rehash(c);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->size = size;
	e->stamp = stamp;
	size_t h = key_hash(key) & (c->n_buckets - 1);
	e->hnext = c->buckets[h];
	c->buckets[h] = e;
	lru_push_head(c, e);
	c->used += size;
	c->n_entries++;
}

static char *cache_path(struct fs_fscache *c, const char *key)
{
	return xasprintf("%s%s", c->path, key);
}

static void cache_update_stats(struct fs *fs)
{
	struct fs_fscache *c = fs->priv;
	if (fs->stats != NULL)
		fs->stats->cache_bytes = c->used;
}

/* Drops the oldest entries until the cache fits. The newest entry is
 * kept even when it alone is larger than the cache. */
static void cache_evict(struct fs *fs)
{
	struct fs_fscache *c = fs->priv;
	while (c->used > c->max_size && c->tail != NULL && c->tail != c->head) {
		struct cache_entry *e = c->tail;
		char *path = cache_path(c, e->key);
		if (unlink(path) < 0 && errno != ENOENT)
			log_error(NULL, "fscache: unlink %s: %m", path);
		free(path);
		cache_remove_entry(c, e);
		if (fs->stats != NULL)
			fs->stats->cache_evictions++;
	}
	cache_update_stats(fs);
}

static int mkdir_parents(const char *path)
{
	char *dir = xstrdup(path);
	int ret = 0;
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			ret = -1;
		*p = '/';
	}
	free(dir);
	return ret;
}

/* The folders usually exist: they are created only when they do not. */
static int cache_create_tmp(const char *tmp)
{
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 && errno == ENOENT && mkdir_parents(tmp) == 0)
		out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return out;
}

/* Links the parent's local file of key as the cache file. 1: done; 0:
 * the parent has no local file or linking is not possible here (the
 * caller copies); -1: failed (logged). */
static int cache_link(struct fs *fs, const char *key, const char *path)
{
	struct fs_fscache *c = fs->priv;
	if (c->no_link || fs->parent->v->local_path == NULL)
		return 0;
	char *src = fs->parent->v->local_path(fs->parent, key);
	int ret = link(src, path);
	if (ret < 0 && errno == ENOENT && mkdir_parents(path) == 0)
		ret = link(src, path);
	if (ret < 0 && errno == EEXIST && unlink(path) == 0)
		ret = link(src, path);
	struct stat st;
	if (ret == 0 && stat(path, &st) == 0) {
		cache_add(c, key, (uint64_t)st.st_size, 0);
		cache_evict(fs);
		free(src);
		return 1;
	}
	if (ret == 0)
		(void)unlink(path);
	if (ret < 0 && (errno == EXDEV || errno == EPERM || errno == EMLINK)) {
		log_info(NULL, "fscache %s: cannot link objects of %s (%m): "
			 "caching copies instead", c->path, src);
		c->no_link = true;
		free(src);
		return 0;
	}
	log_error(NULL, "fscache: cannot link %s as %s (serving from "
		  "storage): %m", src, path);
	free(src);
	return -1;
}

/* Stores the body of fd (from offset 0) as key. Failures are logged and
 * counted, never returned: the caller is served from storage anyway. */
static void cache_store(struct fs *fs, const char *key, int fd,
			const struct fs_meta *meta)
{
	struct fs_fscache *c = fs->priv;
	char *path = cache_path(c, key);
	int linked = cache_link(fs, key, path);
	if (linked != 0) {
		if (linked < 0 && fs->stats != NULL)
			fs->stats->cache_errors++;
		free(path);
		return;
	}
	char *slash = strrchr(path, '/');
	char *tmp = xasprintf("%.*s/.tmp.%d.%u", (int)(slash - path), path,
			      c->pid, ++c->tmp_counter);
	uint8_t *mdata = NULL;
	int out = -1;
	int64_t n = -1;

	if ((out = cache_create_tmp(tmp)) < 0) {
		log_error(NULL, "fscache: cannot write %s (serving from storage): %m", tmp);
		goto fail;
	}
	n = fs_copy_fd(fd, out);
	size_t mlen = fs_meta_pack(meta, &mdata);
	if (n < 0 || fsetxattr(out, CACHE_META_XATTR, mdata, mlen, 0) < 0 ||
	    rename(tmp, path) < 0) {
		log_error(NULL, "fscache: cannot write %s (serving from storage): %m", tmp);
		(void)unlink(tmp);
		goto fail;
	}
	close(out);
	cache_add(c, key, (uint64_t)n, 0);
	cache_evict(fs);
	free(mdata);
	free(tmp);
	free(path);
	return;
fail:
	if (out >= 0)
		close(out);
	if (fs->stats != NULL)
		fs->stats->cache_errors++;
	free(mdata);
	free(tmp);
	free(path);
}

static void cache_drop(struct fs *fs, const char *key)
{
	struct fs_fscache *c = fs->priv;
	struct cache_entry *e = cache_find(c, key);
	if (e == NULL)
		return;		/* the start-up scan put every file in */
	char *path = cache_path(c, key);
	(void)unlink(path);
	free(path);
	cache_remove_entry(c, e);
	cache_update_stats(fs);
}

/* An open cache file for key (touched as newest), or -1. */
static int cache_open(struct fs *fs, const char *key, struct fs_result *r)
{
	struct fs_fscache *c = fs->priv;
	struct cache_entry *e = cache_find(c, key);
	if (e == NULL)
		return -1;
	char *path = cache_path(c, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		cache_remove_entry(c, e);	/* removed behind our back */
		cache_update_stats(fs);
		return -1;
	}
	uint8_t data[CACHE_META_MAX];
	ssize_t n = fgetxattr(fd, CACHE_META_XATTR, data, sizeof(data));
	if (n > 0)
		(void)fs_meta_unpack(data, (size_t)n, &r->meta);
	r->size = e->size;
	r->from_cache = true;
	/* LRU order that survives restarts; the mtime stays (etag) */
	const struct timespec touch[2] = { { .tv_nsec = UTIME_NOW },
					   { .tv_nsec = UTIME_OMIT } };
	(void)futimens(fd, touch);
	lru_unlink(c, e);
	lru_push_head(c, e);
	return fd;
}

struct cache_op {
	struct fs *fs;
	char *key, *key2;
	int fd;
	struct fs_meta meta;
	fs_cb *cb;
	void *ctx;
};

static struct cache_op *cache_op_new(struct fs *fs, const char *key,
				     fs_cb *cb, void *ctx)
{
	struct cache_op *op = xcalloc(1, sizeof(*op));
	op->fs = fs;
	op->key = xstrdup(key);
	op->fd = -1;
	op->cb = cb;
	op->ctx = ctx;
	return op;
}

static void cache_op_free(struct cache_op *op)
{
	fs_meta_clear(&op->meta);
	free(op->key);
	free(op->key2);
	free(op);
}

static void fscache_put_done(struct fs_result *r, void *ctx)
{
	struct cache_op *op = ctx;
	/* write-through only after storage acknowledged the object */
	if (r->status == FS_OK)
		cache_store(op->fs, op->key, op->fd, &op->meta);
	op->cb(r, op->ctx);
	cache_op_free(op);
}

static void fscache_put(struct fs *fs, const char *key, int fd,
			const struct fs_meta *meta, fs_cb *cb, void *ctx)
{
	struct cache_op *op = cache_op_new(fs, key, cb, ctx);
	op->fd = fd;	/* borrowed: the caller keeps it open until cb */
	fs_meta_copy(&op->meta, meta);
	/* an older cached version must not be served meanwhile */
	cache_drop(fs, key);
	fs_put(fs->parent, key, fd, meta, fscache_put_done, op);
}

static void fscache_get_done(struct fs_result *r, void *ctx)
{
	struct cache_op *op = ctx;
	if (r->status == FS_OK)
		cache_store(op->fs, op->key, r->fd, &r->meta);
	op->cb(r, op->ctx);
	cache_op_free(op);
}

static void fscache_get_or_head(struct fs *fs, const char *key, bool head,
				fs_cb *cb, void *ctx)
{
	struct fs_pending *p = fs_pending_new(cb, ctx);
	int fd = cache_open(fs, key, &p->r);
	if (fd >= 0) {
		if (fs->stats != NULL)
			fs->stats->cache_hits++;
		if (head)
			close(fd);
		else
			p->r.fd = fd;
		fs_pending_deliver(fs->loop, p);
		return;
	}
	fs_result_free_contents(&p->r);
	free(p);
	if (head) {
		fs_head(fs->parent, key, cb, ctx);
		return;
	}
	if (fs->stats != NULL)
		fs->stats->cache_misses++;
	fs_get(fs->parent, key, fscache_get_done, cache_op_new(fs, key, cb, ctx));
}

static void fscache_get(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	fscache_get_or_head(fs, key, false, cb, ctx);
}

static void fscache_head(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	fscache_get_or_head(fs, key, true, cb, ctx);
}

static void fscache_delete(struct fs *fs, const char *const *keys, size_t n,
			   fs_cb *cb, void *ctx)
{
	for (size_t i = 0; i < n; i++)
		cache_drop(fs, keys[i]);
	fs_delete(fs->parent, keys, n, cb, ctx);
}

static void fscache_copy_done(struct fs_result *r, void *ctx)
{
	struct cache_op *op = ctx;
	if (r->status == FS_OK) {
		struct fs_result tmp = { .fd = -1 };
		int fd = cache_open(op->fs, op->key, &tmp);
		if (fd >= 0) {
			cache_store(op->fs, op->key2, fd, &tmp.meta);
			close(fd);
		}
		fs_result_free_contents(&tmp);
	}
	op->cb(r, op->ctx);
	cache_op_free(op);
}

static void fscache_copy(struct fs *fs, const char *src, const char *dst,
			 fs_cb *cb, void *ctx)
{
	struct cache_op *op = cache_op_new(fs, src, cb, ctx);
	op->key2 = xstrdup(dst);
	cache_drop(fs, dst);
	fs_copy(fs->parent, src, dst, fscache_copy_done, op);
}

static void fscache_list(struct fs *fs, const char *prefix, const char *after,
			 unsigned int max_keys, fs_cb *cb, void *ctx)
{
	fs_list(fs->parent, prefix, after, max_keys, cb, ctx);
}

static void fscache_free(struct fs *fs)
{
	struct fs_fscache *c = fs->priv;
	while (c->head != NULL)
		cache_remove_entry(c, c->head);
	free(c->buckets);
	free(c->path);
	free(c);
}

static const struct fs_vfuncs fs_fscache_vfuncs = {
	.name = "fscache",
	.put = fscache_put,
	.get = fscache_get,
	.head = fscache_head,
	.delete = fscache_delete,
	.copy = fscache_copy,
	.list = fscache_list,
	.free = fscache_free,
};

/* ---- start-up scan ---- */

struct scan_item {
	char *key;
	uint64_t size, stamp;
};

struct scan {
	struct scan_item *items;
	size_t n;
};

static void scan_dir(struct scan *s, int dirfd, const char *rel)
{
	DIR *d = fdopendir(dirfd);
	if (d == NULL) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (strncmp(de->d_name, ".tmp.", 5) == 0) {
			/* a write interrupted by a crash */
			(void)unlinkat(dirfd, de->d_name, 0);
			continue;
		}
		char *key = xasprintf("%s%s", rel, de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			char *subrel = xasprintf("%s/", key);
			if (sub >= 0)
				scan_dir(s, sub, subrel);
			free(subrel);
			free(key);
		} else if (S_ISREG(st.st_mode)) {
			s->items = xreallocarray(s->items, s->n + 1, sizeof(*s->items));
			s->items[s->n].key = key;
			s->items[s->n].size = (uint64_t)st.st_size;
			s->items[s->n].stamp = (uint64_t)st.st_atim.tv_sec * 1000000000ULL +
				(uint64_t)st.st_atim.tv_nsec;
			s->n++;
		} else {
			free(key);
		}
	}
	closedir(d);
}

static int scan_cmp(const void *a, const void *b)
{
	const struct scan_item *x = a, *y = b;
	return x->stamp < y->stamp ? -1 : x->stamp > y->stamp ? 1 : 0;
}

int fs_fscache_init(struct fs *fs, const struct fs_layer *layer, char **error_r)
{
	struct fs_fscache *c = xcalloc(1, sizeof(*c));
	size_t len = strlen(layer->cache_path);
	c->path = xasprintf("%s%s", layer->cache_path,
			    len > 0 && layer->cache_path[len - 1] == '/' ? "" : "/");
	c->max_size = layer->cache_size;
	c->n_buckets = 1024;
	c->pid = (int)getpid();
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	fs->v = &fs_fscache_vfuncs;
	fs->priv = c;
	if (mkdir_parents(c->path) < 0) {
		*error_r = xasprintf("fscache: cannot create %s: %m", c->path);
		fscache_free(fs);
		return -1;
	}
	int fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("fscache: cannot open %s: %m", c->path);
		fscache_free(fs);
		return -1;
	}
	struct scan s = { NULL, 0 };
	scan_dir(&s, fd, "");
	if (s.n > 0)
		qsort(s.items, s.n, sizeof(*s.items), scan_cmp);
	/* oldest first, so the newest ends at the LRU head */
	for (size_t i = 0; i < s.n; i++) {
		cache_add(c, s.items[i].key, s.items[i].size, s.items[i].stamp);
		free(s.items[i].key);
	}
	free(s.items);
	log_info(NULL, "fscache %s: %zu objects, %llu of %llu bytes", c->path,
		 c->n_entries, (unsigned long long)c->used,
		 (unsigned long long)c->max_size);
	cache_evict(fs);
	return 0;
}
