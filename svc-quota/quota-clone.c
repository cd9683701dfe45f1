/* quota_clone: copies each user's usage to a dictionary after a change,
 * so operators can read every user's quota without opening indexes.
 * Supported dict: `file:PATH` (PATH may use %u %n %d), written in
 * Dovecot's file-dict layout (key line, value line) with the keys
 * quota_clone uses, replaced atomically. */
#include "quota-common.h"
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

void quota_clone_update(struct quota_ctx *q, const char *user,
			uint64_t bytes, uint64_t messages)
{
	const char *dict = q->set.clone_dict;
	struct log_ctx lctx = { .user = user };
	if (dict == NULL)
		return;
	if (strncmp(dict, "file:", 5) != 0) {
		/* Reported at start-up too; a delivery never fails on it. */
		log_error(&lctx, "quota_clone_dict %s: only file: dicts are "
			  "supported", dict);
		return;
	}
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
