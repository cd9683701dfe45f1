/* quota_clone: copies each user's usage to a dictionary after a change,
 * so operators can read every user's quota without opening indexes.
 * Supported dicts: `file:PATH` (PATH may use %u %n %d), written in
 * Dovecot's file-dict layout (key line, value line) with the keys
 * quota_clone uses, replaced atomically; and `redis:...` (see
 * quota-clone-redis.c). */
#include "quota-common.h"
#include "quota-clone-redis.h"
#include "buf.h"
#include "log.h"
#include "var-expand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int quota_clone_write_file(const char *path, uint64_t bytes,
				  uint64_t messages)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "we");
	int ret = -1;
	if (f != NULL) {
		fprintf(f, "priv/quota/storage\n%llu\npriv/quota/messages\n%llu\n",
			(unsigned long long)bytes, (unsigned long long)messages);
		if (fclose(f) == 0 && rename(tmp, path) == 0)
			ret = 0;
	}
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

int quota_clone_init(struct quota_ctx *q, char **error_r)
{
	const char *dict = q->set.clone_dict;
	if (dict == NULL || strncmp(dict, "file:", 5) == 0)
		return 0;
	if (strncmp(dict, "redis:", 6) == 0) {
		q->clone_redis = quota_redis_new(q->svc->loop, dict + 6,
						 &q->clone_writes, error_r);
		return q->clone_redis != NULL ? 0 : -1;
	}
	log_warning(NULL, "quota_clone_dict = %s: only file: and redis: dicts "
		    "are implemented; quota_clone does nothing", dict);
	return 0;
}

void quota_clone_deinit(struct quota_ctx *q)
{
	quota_redis_free(&q->clone_redis);
}

void quota_clone_update(struct quota_ctx *q, const char *user,
			uint64_t bytes, uint64_t messages)
{
	const char *dict = q->set.clone_dict;
	struct log_ctx lctx = { .user = user };
	if (q->clone_redis != NULL) {
		quota_redis_update(q->clone_redis, user, bytes, messages);
		return;
	}
	if (dict == NULL || strncmp(dict, "file:", 5) != 0)
		return;	/* warned about at start-up */
	struct var_expand_user vu;
	struct buf path;
	const char *error;
	buf_init(&path, 4096);
	var_expand_user_init(&vu, user, "quota", NULL);
	if (var_expand(&path, dict + 5, vu.table, NULL, NULL, &error) < 0)
		log_error(&lctx, "quota_clone_dict: %s", error);
	else if (quota_clone_write_file(path.data, bytes, messages) < 0)
		log_error(&lctx, "quota_clone: writing %s: %m", path.data);
	else
		q->clone_writes++;
	var_expand_user_deinit(&vu);
	buf_free(&path);
}
