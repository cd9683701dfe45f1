/* svc-index: a user's metacache on local disk (mail_home/stratus-index):
 * load = snapshot + replay of the log records after it, dropping a torn
 * tail; commit = append one framed transaction, then apply it in memory;
 * compaction = write a new snapshot, then start an empty log. A crash at
 * any point leaves files that load to the last committed state, because
 * replay skips transactions the snapshot already holds (by seq). */
#include "index-service.h"
#include "index-file.h"
#include "index-bundle.h"
#include "index-evict.h"
#include "index-marker.h"
#include "index-notify.h"
#include "buf.h"
#include "log.h"
#include "var-expand.h"
#include "common.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INDEX_DIR_NAME "stratus-index"
#define INDEX_LOG_NAME "index.log"
#define INDEX_SNAP_NAME "index.snap"
/* Present while the local state has changes no bundle holds yet, so a
 * restart (or crash) still uploads them. */
#define INDEX_DIRTY_NAME "index.dirty"

struct index_pending {
	index_user_cb *cb;
	void *ctx;
	struct index_pending *next;
};

static unsigned int index_user_hash(const char *name)
{
	unsigned int h = 5381;
	for (const unsigned char *p = (const void *)name; *p != '\0'; p++)
		h = h * 33 + *p;
	return h % INDEX_USER_HASH_SIZE;
}

struct index_user *index_user_lookup(struct index_service *svc,
				     const char *name)
{
	struct index_user *u = svc->buckets[index_user_hash(name)];
	for (; u != NULL; u = u->hash_next) {
		if (strcmp(u->name, name) == 0)
			return u;
	}
	return NULL;
}

static void index_lru_unlink(struct index_user *user)
{
	struct index_service *svc = user->svc;
	if (user->lru_prev != NULL)
		user->lru_prev->lru_next = user->lru_next;
	else if (svc->lru_head == user)
		svc->lru_head = user->lru_next;
	if (user->lru_next != NULL)
		user->lru_next->lru_prev = user->lru_prev;
	else if (svc->lru_tail == user)
		svc->lru_tail = user->lru_prev;
	user->lru_prev = user->lru_next = NULL;
}

void index_user_touch(struct index_user *user)
{
	struct index_service *svc = user->svc;
	user->last_access_ms = loop_now_ms(svc->loop);
	if (svc->lru_head == user)
		return;
	index_lru_unlink(user);
	user->lru_next = svc->lru_head;
	if (svc->lru_head != NULL)
		svc->lru_head->lru_prev = user;
	svc->lru_head = user;
	if (svc->lru_tail == NULL)
		svc->lru_tail = user;
}

static char *index_user_path(const struct index_user *user, const char *name)
{
	return xasprintf("%s/%s", user->dir, name);
}

static int index_mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int ret = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return ret;
}

uint64_t index_user_disk_bytes(const struct index_user *user)
{
	return user->log_size + user->snap_size;
}

static void index_user_account(struct index_user *user, uint64_t old_bytes)
{
	struct index_service *svc = user->svc;
	svc->total_bytes -= old_bytes;
	svc->total_bytes += index_user_disk_bytes(user);
}

static bool index_fsync_log(const struct index_user *user)
{
	return user->svc->set.fsync == INDEX_FSYNC_ALWAYS;
}

static bool index_fsync_snapshot(const struct index_user *user)
{
	return user->svc->set.fsync != INDEX_FSYNC_NEVER;
}

/* Opens (creating with a header) the log for appending. */
static int index_log_open(struct index_user *user, bool truncate_new)
{
	char *path = index_user_path(user, INDEX_LOG_NAME);
	int flags = O_RDWR | O_CREAT | O_CLOEXEC | O_APPEND;
	if (truncate_new)
		flags |= O_TRUNC;
	int fd = open(path, flags, 0600);
	if (fd < 0) {
		log_error(NULL, "index(%s): open %s: %s", user->name, path,
			  strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		if (write(fd, INDEX_LOG_MAGIC, INDEX_MAGIC_LEN) !=
		    INDEX_MAGIC_LEN) {
			close(fd);
			return -1;
		}
		st.st_size = INDEX_MAGIC_LEN;
	}
	if (user->log_fd >= 0)
		close(user->log_fd);
	user->log_fd = fd;
	user->log_size = (uint64_t)st.st_size;
	return 0;
}

struct index_replay {
	struct index_user *user;
	bool gap;
};

static int index_replay_txn(const Stratus__Indexfile__Transaction *txn,
			    void *ctx, const char **error_r)
{
	struct index_replay *r = ctx;
	struct index_user *user = r->user;
	if (txn->seq <= user->seq)
		return 0;	/* already in the snapshot (crash mid-compaction) */
	if (txn->seq != user->seq + 1) {
		*error_r = "transaction sequence gap";
		r->gap = true;
		return -1;
	}
	for (size_t i = 0; i < txn->n_ops; i++) {
		if (index_apply_op(user, txn->ops[i], error_r) < 0)
			return -1;
	}
	user->seq = txn->seq;
	return 0;
}

/* Moves corrupt files aside (kept for forensics, not loaded again). */
static void index_user_quarantine(struct index_user *user)
{
	static const char *const names[] = { INDEX_LOG_NAME, INDEX_SNAP_NAME };
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		char *from = index_user_path(user, names[i]);
		char *to = xasprintf("%s.corrupt", from);
		(void)rename(from, to);
		free(from);
		free(to);
	}
	user->svc->n_corrupt++;
}

int index_user_load_local(struct index_user *user)
{
	const char *error = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	char *snap_path = index_user_path(user, INDEX_SNAP_NAME);
	char *log_path = index_user_path(user, INDEX_LOG_NAME);
	int have_snap = index_file_read_all(snap_path, INDEX_STATE_MAX, &data,
					    &len, &error);
	int have_log = 0;
	int ret = -1;
	if (have_snap < 0)
		goto corrupt;
	if (have_snap > 0) {
		int r = index_state_load_file(user, data, len, &error);
		free(data);
		data = NULL;
		if (r < 0)
			goto corrupt;
		user->snap_size = len;
	}
	have_log = index_file_read_all(log_path, INDEX_STATE_MAX, &data, &len,
				       &error);
	if (have_log < 0)
		goto corrupt;
	if (have_log > 0) {
		struct index_replay r = { .user = user };
		size_t valid_end;
		if (index_log_parse(data, len, index_replay_txn, &r,
				    &valid_end, &error) < 0)
			goto corrupt;
		if (valid_end < len) {
			log_warning(NULL, "index(%s): %s: dropped a torn tail "
				    "of %zu bytes at offset %zu", user->name,
				    log_path, len - valid_end, valid_end);
			user->svc->n_torn_tails++;
			if (truncate(log_path, (off_t)valid_end) < 0)
				log_error(NULL, "index(%s): truncate %s: %s",
					  user->name, log_path,
					  strerror(errno));
		}
		free(data);
		data = NULL;
	}
	if (index_log_open(user, false) < 0) {
		error = "cannot open the log";
		goto corrupt;
	}
	ret = have_snap > 0 || have_log > 0 ? 1 : 0;
	char *dirty_path = index_user_path(user, INDEX_DIRTY_NAME);
	if (ret == 1 && access(dirty_path, F_OK) == 0) {
		/* Changes a previous run could not upload. */
		user->dirty = true;
		user->dirty_since_ms = loop_now_ms(user->svc->loop);
	}
	free(dirty_path);
	free(snap_path);
	free(log_path);
	return ret;
corrupt:
	log_error(NULL, "index(%s): local index unusable (%s); rebuilding",
		  user->name, error != NULL ? error : "unknown error");
	free(data);
	index_user_clear_state(user);
	index_user_quarantine(user);
	user->snap_size = 0;
	user->generation = 0;
	(void)index_log_open(user, true);
	free(snap_path);
	free(log_path);
	return -1;
}

void index_user_mark_dirty(struct index_user *user)
{
	if (user->dirty)
		return;
	user->dirty = true;
	user->dirty_since_ms = loop_now_ms(user->svc->loop);
	if (!user->svc->set.bundles)
		return;
	char *path = index_user_path(user, INDEX_DIRTY_NAME);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	free(path);
}

void index_user_mark_clean(struct index_user *user)
{
	user->dirty = false;
	user->saved_since_upload = 0;
	char *path = index_user_path(user, INDEX_DIRTY_NAME);
	(void)unlink(path);
	free(path);
}

int index_user_commit(struct index_user *user,
		      Stratus__Indexfile__Op **ops, size_t n_ops,
		      const char **error_r)
{
	Stratus__Indexfile__Transaction txn =
		STRATUS__INDEXFILE__TRANSACTION__INIT;
	txn.seq = user->seq + 1;
	txn.ops = ops;
	txn.n_ops = n_ops;
	size_t plen = stratus__indexfile__transaction__get_packed_size(&txn);
	if (plen > INDEX_LOG_RECORD_MAX) {
		*error_r = "transaction too large";
		return -1;
	}
	uint8_t *payload = xmalloc(plen + 1);
	stratus__indexfile__transaction__pack(&txn, payload);
	size_t flen;
	uint8_t *frame = index_log_frame(payload, plen, &flen);
	free(payload);
	uint64_t old_bytes = index_user_disk_bytes(user);
	size_t done = 0;
	while (done < flen) {
		ssize_t n = write(user->log_fd, frame + done, flen - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Cut off what was written so the next record
			 * starts clean. */
			*error_r = "cannot write the index log";
			log_error(NULL, "index(%s): log write: %s",
				  user->name, strerror(errno));
			if (ftruncate(user->log_fd, (off_t)user->log_size) < 0)
				log_error(NULL, "index(%s): ftruncate: %s",
					  user->name, strerror(errno));
			free(frame);
			return -1;
		}
		done += (size_t)n;
	}
	free(frame);
	if (index_fsync_log(user) && fdatasync(user->log_fd) < 0)
		log_error(NULL, "index(%s): fdatasync: %s", user->name,
			  strerror(errno));
	user->log_size += flen;
	user->seq = txn.seq;
	for (size_t i = 0; i < n_ops; i++) {
		const char *aerr = NULL;
		if (index_apply_op(user, ops[i], &aerr) < 0) {
			/* Validated before commit: this is a bug. */
			log_panic("index(%s): committed op does not apply: %s",
				  user->name, aerr);
		}
		if (ops[i]->kind == STRATUS__INDEXFILE__OP_KIND__OP_APPEND)
			user->saved_since_upload += ops[i]->n_records;
	}
	user->svc->n_commits++;
	index_marker_committed(user, ops, n_ops);
	index_user_mark_dirty(user);
	index_user_account(user, old_bytes);
	index_user_touch(user);
	uint64_t limit = user->snap_size > user->svc->set.compact_min_bytes ?
		user->snap_size : user->svc->set.compact_min_bytes;
	if (user->log_size > limit)
		(void)index_user_compact(user, 0);
	index_bundle_changed(user);
	index_notify_user_changed(user);
	index_evict_check(user->svc);
	return 0;
}

/* Makes file (a whole state: snapshot or bundle) the user's snapshot
 * with a fresh log. The snapshot is renamed over the old one before the
 * log is, so a crash between the two leaves the new snapshot and the
 * old log, whose records it already holds: replaying them again is a
 * no-op by their sequence numbers. */
static int index_user_install_snapshot(struct index_user *user,
				       const uint8_t *file, size_t flen,
				       int crash_point)
{
	const char *error = NULL;
	char *path = index_user_path(user, INDEX_SNAP_NAME);
	int ret = -1;
	if (crash_point == 1) {
		/* Simulated crash: a half-written temp file, nothing else. */
		char *tmp = xasprintf("%s.tmp", path);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);
		if (fd >= 0) {
			ssize_t w = write(fd, file, flen / 2);
			(void)w;
			close(fd);
		}
		free(tmp);
		ret = 0;
		goto out;
	}
	if (index_file_write_atomic(path, file, flen,
				    index_fsync_snapshot(user), &error) < 0) {
		log_error(NULL, "index(%s): writing snapshot %s: %s",
			  user->name, path, error);
		goto out;
	}
	user->snap_size = flen;
	if (crash_point == 2) {
		ret = 0;
		goto out;
	}
	char *log_path = index_user_path(user, INDEX_LOG_NAME);
	if (index_file_write_atomic(log_path, (const uint8_t *)INDEX_LOG_MAGIC,
				    INDEX_MAGIC_LEN,
				    index_fsync_snapshot(user), &error) < 0) {
		log_error(NULL, "index(%s): new log %s: %s", user->name,
			  log_path, error);
		free(log_path);
		goto out;
	}
	free(log_path);
	if (index_log_open(user, false) < 0)
		goto out;
	ret = 0;
out:
	free(path);
	return ret;
}

int index_user_compact(struct index_user *user, int crash_point)
{
	size_t slen, flen;
	uint64_t old_bytes = index_user_disk_bytes(user);
	uint8_t *state = index_state_pack(user, &slen);	/* loads all */
	uint8_t *file = index_snapshot_encode(state, slen, &flen);
	free(state);
	int ret = index_user_install_snapshot(user, file, flen, crash_point);
	if (ret == 0 && crash_point == 0)
		user->svc->n_compactions++;
	free(file);
	index_user_account(user, old_bytes);
	return ret;
}

int index_user_replace_state(struct index_user *user,
			     const Stratus__Indexfile__State *st,
			     const uint8_t *file, size_t flen,
			     const char **error_r)
{
	index_user_clear_state(user);
	if (index_state_load(user, st, error_r) < 0)
		return -1;
	/* The loaded state becomes the local snapshot with a fresh log:
	 * the downloaded bundle as it is when there is one (no re-encoding
	 * of the whole state, and a fifth of the bytes on disk). */
	uint64_t old_bytes = index_user_disk_bytes(user);
	int ret = file != NULL ?
		index_user_install_snapshot(user, file, flen, 0) :
		index_user_compact(user, 0);
	if (file != NULL)
		index_user_account(user, old_bytes);
	index_notify_user_changed(user);
	if (ret < 0) {
		*error_r = "cannot write the local snapshot";
		return -1;
	}
	return 0;
}

int index_user_take_state(struct index_user *user, struct index_user *from,
			  const uint8_t *file, size_t flen,
			  const char **error_r)
{
	index_user_clear_state(user);
	user->boxes = from->boxes;
	user->n_boxes = from->n_boxes;
	user->subs = from->subs;
	user->n_subs = from->n_subs;
	user->last_uidvalidity = from->last_uidvalidity;
	user->seq = from->seq;
	user->generation = from->generation;
	from->boxes = NULL;
	from->n_boxes = 0;
	from->subs = NULL;
	from->n_subs = 0;
	uint64_t old_bytes = index_user_disk_bytes(user);
	int ret = index_user_install_snapshot(user, file, flen, 0);
	index_user_account(user, old_bytes);
	index_notify_user_changed(user);
	if (ret < 0) {
		*error_r = "cannot write the local snapshot";
		return -1;
	}
	return 0;
}

uint32_t index_user_new_uidvalidity(struct index_user *user)
{
	uint32_t now = (uint32_t)time(NULL);
	uint32_t v = now > user->last_uidvalidity ? now :
		user->last_uidvalidity + 1;
	if (v == 0)
		v = 1;
	user->last_uidvalidity = v;
	return v;
}

static struct index_user *index_user_new(struct index_service *svc,
					 const char *name, const char *home)
{
	struct index_user *user = xcalloc(1, sizeof(*user));
	user->svc = svc;
	user->name = xstrdup(name);
	user->dir = xasprintf("%s/" INDEX_DIR_NAME, home);
	user->log_fd = -1;
	user->state = INDEX_USER_LOADING;
	unsigned int h = index_user_hash(name);
	user->hash_next = svc->buckets[h];
	svc->buckets[h] = user;
	svc->n_users++;
	index_user_touch(user);
	return user;
}

void index_user_drop(struct index_user *user, bool delete_files)
{
	struct index_service *svc = user->svc;
	struct index_user **p = &svc->buckets[index_user_hash(user->name)];
	while (*p != user)
		p = &(*p)->hash_next;
	*p = user->hash_next;
	index_lru_unlink(user);
	svc->n_users--;
	svc->total_bytes -= index_user_disk_bytes(user);
	index_bundle_user_dropped(user);
	if (user->log_fd >= 0)
		close(user->log_fd);
	if (delete_files) {
		static const char *const names[] = {
			INDEX_LOG_NAME, INDEX_SNAP_NAME, INDEX_LOG_NAME ".tmp",
			INDEX_SNAP_NAME ".tmp", INDEX_DIRTY_NAME,
		};
		for (size_t i = 0; i < N_ELEMENTS(names); i++) {
			char *path = index_user_path(user, names[i]);
			(void)unlink(path);
			free(path);
		}
		(void)rmdir(user->dir);
	}
	index_user_clear_state(user);
	index_notify_user_dropped(user);
	while (user->pending != NULL) {
		struct index_pending *pd = user->pending;
		user->pending = pd->next;
		pd->cb(NULL, STRATUS__STATUS__STATUS_TEMPFAIL,
		       "user dropped while loading", pd->ctx);
		free(pd);
	}
	free(user->name);
	free(user->dir);
	free(user);
}

void index_user_load_done(struct index_user *user, int status,
			  const char *error)
{
	const char *aerr = NULL;
	if (status == 0 && index_user_autocreate(user, &aerr) < 0) {
		status = STRATUS__STATUS__STATUS_TEMPFAIL;
		error = aerr;
	}
	user->state = status == 0 ? INDEX_USER_READY : INDEX_USER_FAILED;
	struct index_pending *list = user->pending;
	user->pending = NULL;
	/* Reverse to call in arrival order. */
	struct index_pending *rev = NULL;
	while (list != NULL) {
		struct index_pending *n = list->next;
		list->next = rev;
		rev = list;
		list = n;
	}
	bool failed = status != 0;
	char *err = failed ? xstrdup(error != NULL ? error : "load failed") :
		NULL;
	if (failed)
		index_user_drop(user, false);
	while (rev != NULL) {
		struct index_pending *pd = rev;
		rev = pd->next;
		pd->cb(failed ? NULL : user, status, err, pd->ctx);
		free(pd);
	}
	free(err);
}

static char *index_user_home(struct index_service *svc, const char *name,
			     const char **error_r)
{
	struct var_expand_user vu;
	struct buf out;
	buf_init(&out, 4096);
	var_expand_user_init(&vu, name, "index", NULL);
	int ret = var_expand(&out, svc->set.mail_home, vu.table, NULL, NULL,
			     error_r);
	var_expand_user_deinit(&vu);
	if (ret < 0 || out.len == 0 || out.data[0] != '/') {
		if (ret == 0)
			*error_r = "mail_home is not an absolute path";
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

void index_user_get(struct index_service *svc, const char *name,
		    index_user_cb *cb, void *ctx)
{
	struct index_user *user = index_user_lookup(svc, name);
	if (user != NULL && index_bundle_refresh_due(user)) {
		/* metacache_close_delay passed: another backend may have
		 * served the user; the call waits for the check. */
		index_bundle_refresh(user);
	} else if (user != NULL && user->state == INDEX_USER_READY) {
		index_user_touch(user);
		cb(user, 0, NULL, ctx);
		return;
	}
	if (user == NULL) {
		const char *error = NULL;
		if (!index_user_name_valid(name)) {
			cb(NULL, STRATUS__STATUS__STATUS_INVALID,
			   "invalid user name", ctx);
			return;
		}
		char *home = index_user_home(svc, name, &error);
		if (home == NULL) {
			cb(NULL, STRATUS__STATUS__STATUS_ERROR, error, ctx);
			return;
		}
		user = index_user_new(svc, name, home);
		free(home);
		if (index_mkdir_p(user->dir) < 0) {
			char *msg = xasprintf("cannot create %s: %s",
					      user->dir, strerror(errno));
			log_error(NULL, "index(%s): %s", name, msg);
			index_user_drop(user, false);
			cb(NULL, STRATUS__STATUS__STATUS_TEMPFAIL, msg, ctx);
			free(msg);
			return;
		}
		struct index_pending *pd = xcalloc(1, sizeof(*pd));
		pd->cb = cb;
		pd->ctx = ctx;
		user->pending = pd;
		int local = index_user_load_local(user);
		svc->total_bytes += index_user_disk_bytes(user);
		index_bundle_load(user, local);
		return;
	}
	struct index_pending *pd = xcalloc(1, sizeof(*pd));
	pd->cb = cb;
	pd->ctx = ctx;
	pd->next = user->pending;
	user->pending = pd;
}
