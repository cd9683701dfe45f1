/* The posix driver: objects as files under prefix=, the embedded
 * default. A put writes a hidden temp file in the target folder, stores
 * the metadata as the xattr user.stratus.meta, fsyncs file and folder and
 * renames it into place, so a reader sees either nothing or the whole
 * object and an acknowledged put survives a crash. With mail_fsync =
 * never (or the no-fsync option) there is no fsync, as in Dovecot: the
 * rename still hides half-written objects, but an acknowledged put can be
 * lost when the machine (not the service) crashes. Temp files start with
 * ".tmp." and are never listed. Operations are local syscalls, done at
 * once; results still arrive from the loop like every other driver's. */
#include "fs.h"
#include "fs-chain.h"
#include "blob-stats.h"
#include "buf.h"
#include "histogram.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define POSIX_META_XATTR "user.stratus.meta"
#define POSIX_META_MAX 4096

struct fs_posix {
	char *prefix;		/* ends with '/' */
	unsigned int mode;
	unsigned int tmp_counter;
	int pid;		/* in temp names: getpid() is a syscall */
	bool fsync;		/* mail_fsync != never and no no-fsync */
};

static char *posix_path(struct fs *fs, const char *key)
{
	struct fs_posix *p = fs->priv;
	return xasprintf("%s%s", p->prefix, key);
}

/* mkdir -p of the folders above `path`. */
static int posix_mkdir_parents(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int ret = 0;
	if (slash == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
		free(dir);
		return 0;
	}
	if (errno == ENOENT) {
		ret = posix_mkdir_parents(dir);
		if (ret == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
			ret = -1;
	} else {
		ret = -1;
	}
	free(dir);
	return ret;
}

static int posix_fsync_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int ret = fsync(fd);
	close(fd);
	return ret;
}

static enum fs_status errno_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return FS_NOT_FOUND;
	case EACCES:
	case EPERM:
		return FS_DENIED;
	case ENAMETOOLONG:
		return FS_INVALID;
	default:
		return FS_TEMPFAIL;
	}
}

/* t0: histo_now_us() when the operation began; bytes: the body moved. */
static void posix_count(struct fs *fs, enum blob_op op, enum fs_status st,
			uint64_t t0, uint64_t bytes)
{
	long code = st == FS_OK ? 200 : st == FS_TEMPFAIL ? 500 :
		st == FS_NOT_FOUND ? 404 : 403;
	blob_stats_count(fs->stats, op, code);
	blob_stats_observe(op, code, (double)(histo_now_us() - t0) / 1e6,
			   bytes);
}

/* A version tag that changes with every put (a put renames a new inode
 * over the key): inode and modification time. */
static char *posix_etag(const struct stat *st)
{
	return xasprintf("\"%llx-%llx.%lx\"", (unsigned long long)st->st_ino,
			 (unsigned long long)st->st_mtim.tv_sec,
			 (unsigned long)st->st_mtim.tv_nsec);
}

/* Installs tmp as path under the put's condition. The folder's flock
 * makes check and rename one step for every Stratus process sharing the
 * folder; without a condition it is a plain rename. */
static int posix_install(const char *tmp, const char *path,
			 const struct fs_meta *meta, struct fs_pending *pend,
			 const char *key)
{
	if (!meta->if_none_match && meta->if_match == NULL) {
		if (rename(tmp, path) == 0)
			return 0;
		fs_pending_fail(pend, errno_status(errno), "rename to %s: %m", path);
		return -1;
	}
	if (meta->if_none_match) {
		/* link() fails with EEXIST atomically: no lock needed */
		if (link(tmp, path) == 0) {
			(void)unlink(tmp);
			return 0;
		}
		if (errno == EEXIST)
			fs_pending_fail(pend, FS_CONFLICT, "%s exists", key);
		else
			fs_pending_fail(pend, errno_status(errno), "link to %s: %m", path);
		return -1;
	}
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
		fs_pending_fail(pend, FS_TEMPFAIL, "lock folder of %s: %m", key);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	struct stat st;
	int ret = -1;
	char *etag = stat(path, &st) == 0 ? posix_etag(&st) : NULL;
	if (etag == NULL || strcmp(etag, meta->if_match) != 0)
		fs_pending_fail(pend, FS_CONFLICT, "%s changed (etag %s)", key,
				etag != NULL ? etag : "none");
	else if (rename(tmp, path) < 0)
		fs_pending_fail(pend, errno_status(errno), "rename to %s: %m", path);
	else
		ret = 0;
	free(etag);
	close(dfd);	/* drops the lock */
	return ret;
}

static void posix_read_meta(int fd, struct fs_meta *meta)
{
	uint8_t data[POSIX_META_MAX];
	ssize_t n = fgetxattr(fd, POSIX_META_XATTR, data, sizeof(data));
	if (n > 0)
		(void)fs_meta_unpack(data, (size_t)n, meta);
}

static void posix_put(struct fs *fs, const char *key, int fd,
		      const struct fs_meta *meta, fs_cb *cb, void *ctx)
{
	struct fs_posix *p = fs->priv;
	uint64_t t0 = histo_now_us();
	struct fs_pending *pend = fs_pending_new(cb, ctx);
	char *path = posix_path(fs, key);
	char *slash = strrchr(path, '/');
	char *tmp = xasprintf("%.*s/.tmp.%s.%d.%u", (int)(slash - path), path,
			      slash + 1, p->pid, ++p->tmp_counter);
	int out = -1;
	uint8_t *mdata = NULL;

	/* the folders usually exist: create them only when they do not */
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, p->mode);
	if (out < 0 && errno == ENOENT) {
		if (posix_mkdir_parents(path) < 0) {
			fs_pending_fail(pend, errno_status(errno),
					"mkdir for %s: %m", key);
			goto out;
		}
		out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			   p->mode);
	}
	if (out < 0) {
		fs_pending_fail(pend, errno_status(errno), "create %s: %m", tmp);
		goto out;
	}
	int64_t n = fs_copy_fd(fd, out);
	size_t mlen = fs_meta_pack(meta, &mdata);
	if (n < 0) {
		fs_pending_fail(pend, FS_TEMPFAIL, "write %s: %m", tmp);
	} else if (fsetxattr(out, POSIX_META_XATTR, mdata, mlen, 0) < 0) {
		fs_pending_fail(pend, FS_TEMPFAIL,
				"store metadata of %s (the folder needs user xattrs): %m", tmp);
	} else if (p->fsync && fsync(out) < 0) {
		fs_pending_fail(pend, FS_TEMPFAIL, "fsync %s: %m", tmp);
	} else if (posix_install(tmp, path, meta, pend, key) < 0) {
		/* failed with the reason */
	} else if (p->fsync && posix_fsync_dir(path) < 0) {
		fs_pending_fail(pend, FS_TEMPFAIL, "fsync folder of %s: %m", path);
	} else {
		pend->r.size = (uint64_t)n;
		if (fs->stats != NULL)
			fs->stats->bytes_out += (uint64_t)n;
	}
	if (pend->r.status != FS_OK)
		(void)unlink(tmp);
out:
	posix_count(fs, BLOB_OP_PUT, pend->r.status, t0, pend->r.size);
	if (out >= 0)
		close(out);
	free(mdata);
	free(tmp);
	free(path);
	fs_pending_deliver(fs->loop, pend);
}

static void posix_open(struct fs *fs, const char *key, bool keep_fd,
		       enum blob_op op, fs_cb *cb, void *ctx)
{
	uint64_t t0 = histo_now_us();
	struct fs_pending *pend = fs_pending_new(cb, ctx);
	char *path = posix_path(fs, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		fs_pending_fail(pend, errno_status(errno), "open %s: %m", key);
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fs_pending_fail(pend, FS_NOT_FOUND, "%s is not an object", key);
	} else {
		pend->r.size = (uint64_t)st.st_size;
		posix_read_meta(fd, &pend->r.meta);
		pend->r.meta.etag = posix_etag(&st);
		if (keep_fd) {
			pend->r.fd = fd;
			fd = -1;
			if (fs->stats != NULL)
				fs->stats->bytes_in += (uint64_t)st.st_size;
		}
	}
	if (fd >= 0)
		close(fd);
	posix_count(fs, op, pend->r.status, t0, keep_fd ? pend->r.size : 0);
	free(path);
	fs_pending_deliver(fs->loop, pend);
}

static void posix_get(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	posix_open(fs, key, true, BLOB_OP_GET, cb, ctx);
}

static void posix_head(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	posix_open(fs, key, false, BLOB_OP_HEAD, cb, ctx);
}

static void posix_delete(struct fs *fs, const char *const *keys, size_t n,
			 fs_cb *cb, void *ctx)
{
	struct fs_pending *pend = fs_pending_new(cb, ctx);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = histo_now_us();
		char *path = posix_path(fs, keys[i]);
		/* deleting what is already gone succeeds, as on S3 */
		if (unlink(path) == 0 || errno == ENOENT) {
			pend->r.deleted++;
			posix_count(fs, BLOB_OP_DELETE, FS_OK, t0, 0);
		} else {
			pend->r.failed = xreallocarray(pend->r.failed,
				pend->r.n_failed + 1, sizeof(char *));
			pend->r.failed[pend->r.n_failed++] = xstrdup(keys[i]);
			posix_count(fs, BLOB_OP_DELETE, FS_TEMPFAIL, t0, 0);
		}
		free(path);
	}
	fs_pending_deliver(fs->loop, pend);
}

static void posix_copy(struct fs *fs, const char *src, const char *dst,
		       fs_cb *cb, void *ctx)
{
	struct fs_posix *p = fs->priv;
	uint64_t t0 = histo_now_us();
	struct fs_pending *pend = fs_pending_new(cb, ctx);
	char *spath = posix_path(fs, src), *dpath = posix_path(fs, dst);
	char *slash = strrchr(dpath, '/');
	char *tmp = xasprintf("%.*s/.tmp.%s.%d.%u", (int)(slash - dpath), dpath,
			      slash + 1, p->pid, ++p->tmp_counter);
	/* objects are immutable, so a hard link is a copy (metadata too) */
	if (posix_mkdir_parents(dpath) < 0)
		fs_pending_fail(pend, errno_status(errno), "mkdir for %s: %m", dst);
	else if (link(spath, tmp) < 0)
		fs_pending_fail(pend, errno_status(errno), "link %s: %m", src);
	else if (rename(tmp, dpath) < 0) {
		fs_pending_fail(pend, errno_status(errno), "rename to %s: %m", dst);
		(void)unlink(tmp);
	} else if (p->fsync && posix_fsync_dir(dpath) < 0)
		fs_pending_fail(pend, FS_TEMPFAIL, "fsync folder of %s: %m", dst);
	posix_count(fs, BLOB_OP_COPY, pend->r.status, t0, 0);
	free(tmp);
	free(spath);
	free(dpath);
	fs_pending_deliver(fs->loop, pend);
}

/* ---- listing ---- */

struct posix_list {
	const char *prefix;
	const char *after;
	unsigned int max;
	struct fs_result *r;
	bool more;
};

struct posix_dirent {
	char *sortname;		/* name, plus '/' for folders */
	bool is_dir;
};

static int dirent_cmp(const void *a, const void *b)
{
	const struct posix_dirent *x = a, *y = b;
	return strcmp(x->sortname, y->sortname);
}

/* Walks `dir` (the key prefix `rel`, "" or ending in '/') in key order:
 * folders sort as "name/", so a depth-first walk yields keys sorted the
 * way S3 lists them, and the walk stops after max+1 keys. */
static void posix_list_dir(struct posix_list *l, int dirfd, const char *rel)
{
	DIR *d = fdopendir(dirfd);
	if (d == NULL) {
		close(dirfd);
		return;
	}
	struct posix_dirent *ents = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ., .., temp files */
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		ents = xreallocarray(ents, n + 1, sizeof(*ents));
		ents[n].is_dir = S_ISDIR(st.st_mode);
		ents[n].sortname = xasprintf("%s%s", de->d_name,
					     ents[n].is_dir ? "/" : "");
		n++;
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), dirent_cmp);
	size_t plen = strlen(l->prefix);
	for (size_t i = 0; i < n && !l->more; i++) {
		char *key = xasprintf("%s%s", rel, ents[i].sortname);
		size_t klen = strlen(key);
		bool matches = strncmp(key, l->prefix, klen < plen ? klen : plen) == 0;
		if (!matches) {
			/* neither under the prefix nor on the way to it */
		} else if (ents[i].is_dir) {
			/* skip subtrees that end before `after` */
			bool before = l->after != NULL &&
				strncmp(key, l->after, klen) != 0 &&
				strcmp(key, l->after) < 0;
			int sub = before ? -1 : openat(dirfd, ents[i].sortname,
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				posix_list_dir(l, sub, key);
		} else if (klen >= plen &&
			   (l->after == NULL || strcmp(key, l->after) > 0)) {
			if (l->r->n_entries == l->max) {
				l->more = true;
			} else {
				struct stat st;
				struct fs_result *r = l->r;
				r->entries = xreallocarray(r->entries,
					r->n_entries + 1, sizeof(*r->entries));
				r->entries[r->n_entries].key = key;
				r->entries[r->n_entries].size =
					fstatat(dirfd, ents[i].sortname, &st, 0) == 0 ?
					(uint64_t)st.st_size : 0;
				r->n_entries++;
				key = NULL;
			}
		}
		free(key);
	}
	for (size_t i = 0; i < n; i++)
		free(ents[i].sortname);
	free(ents);
	closedir(d);
}

static void posix_list(struct fs *fs, const char *prefix, const char *after,
		       unsigned int max_keys, fs_cb *cb, void *ctx)
{
	struct fs_posix *p = fs->priv;
	uint64_t t0 = histo_now_us();
	struct fs_pending *pend = fs_pending_new(cb, ctx);
	struct posix_list l = {
		.prefix = prefix, .after = after && after[0] ? after : NULL,
		.max = max_keys == 0 || max_keys > FS_LIST_MAX_KEYS ?
			FS_LIST_MAX_KEYS : max_keys,
		.r = &pend->r,
	};
	int fd = open(p->prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		posix_list_dir(&l, fd, "");
	if (l.more && pend->r.n_entries > 0)
		pend->r.next = xstrdup(pend->r.entries[pend->r.n_entries - 1].key);
	posix_count(fs, BLOB_OP_LIST, FS_OK, t0, 0);
	fs_pending_deliver(fs->loop, pend);
}

static void posix_free(struct fs *fs)
{
	struct fs_posix *p = fs->priv;
	free(p->prefix);
	free(p);
}

static const struct fs_vfuncs fs_posix_vfuncs = {
	.name = "posix",
	.put = posix_put,
	.get = posix_get,
	.head = posix_head,
	.delete = posix_delete,
	.copy = posix_copy,
	.list = posix_list,
	.free = posix_free,
	.local_path = posix_path,
};

int fs_posix_init(struct fs *fs, const struct fs_layer *layer,
		  const struct fs_settings *set, char **error_r)
{
	struct fs_posix *p = xcalloc(1, sizeof(*p));
	size_t len = strlen(layer->prefix);
	p->prefix = xasprintf("%s%s", layer->prefix,
			      len > 0 && layer->prefix[len - 1] == '/' ? "" : "/");
	p->mode = layer->mode;
	p->pid = (int)getpid();
	p->fsync = !layer->no_fsync && !set->no_fsync;
	if (posix_mkdir_parents(p->prefix) < 0) {
		*error_r = xasprintf("posix: cannot create %s: %m", p->prefix);
		free(p->prefix);
		free(p);
		return -1;
	}
	fs->v = &fs_posix_vfuncs;
	fs->priv = p;
	return 0;
}
