/* svc-index: administration over RPC: list the cached users, flush
 * (upload dirty bundles now), clean (upload if dirty, then delete the
 * local cache), rebuild a user's index from its objects. Bulk actions
 * run one user at a time from the loop. */
#include "index-admin.h"
#include "index-bundle.h"
#include "index-rebuild.h"
#include "index-service.h"
#include "index.pb-c.h"
#include "buf.h"
#include "log.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct index_service *index_admin_svc(struct rpc_call *call)
{
	struct service *s = rpc_call_handler_ctx(call);
	return s->ctx;
}

void index_admin_cache_list(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexUserRequest *req = (const void *)m;
	struct index_service *svc = index_admin_svc(call);
	Stratus__IndexCacheListReply reply =
		STRATUS__INDEX_CACHE_LIST_REPLY__INIT;
	reply.users = xcalloc(svc->n_users + 1, sizeof(*reply.users));
	Stratus__IndexCacheEntry *entries =
		xcalloc(svc->n_users + 1, sizeof(*entries));
	uint64_t now_ms = loop_now_ms(svc->loop);
	int64_t now = (int64_t)time(NULL);
	for (struct index_user *u = svc->lru_head; u != NULL; u = u->lru_next) {
		if (req->user[0] != '\0' && strcmp(req->user, u->name) != 0)
			continue;
		Stratus__IndexCacheEntry *e = &entries[reply.n_users];
		stratus__index_cache_entry__init(e);
		e->user = u->name;
		e->bytes = index_user_disk_bytes(u);
		e->last_access = now - (int64_t)((now_ms - u->last_access_ms) /
						 1000);
		e->dirty = u->dirty;
		e->mailboxes = (uint32_t)u->n_boxes;
		e->messages = index_user_message_count(u);
		reply.users[reply.n_users++] = e;
	}
	reply.total_bytes = svc->total_bytes;
	reply.max_bytes = svc->set.max_space;
	rpc_call_reply(call, &reply.base, NULL, 0);
	free(entries);
	free(reply.users);
}

/* One flush/clean over a list of user names, one at a time. */
struct index_admin_job {
	struct rpc_call *call;
	struct index_service *svc;
	char **names;
	size_t n, next;
	bool clean;
	uint32_t users, uploads;
	bool failed;
};

static void index_admin_job_next(struct index_admin_job *job);

static void index_admin_job_uploaded(void *ctx, int ret)
{
	struct index_admin_job *job = ctx;
	const char *name = job->names[job->next - 1];
	struct index_user *user = index_user_lookup(job->svc, name);
	if (ret < 0) {
		job->failed = true;
	} else {
		job->uploads++;
		if (job->clean && user != NULL && user->pending == NULL) {
			index_user_drop(user, true);
			job->svc->n_evictions++;
		}
	}
	job->users++;
	index_admin_job_next(job);
}

static void index_admin_job_next(struct index_admin_job *job)
{
	while (job->next < job->n) {
		const char *name = job->names[job->next++];
		struct index_user *user = index_user_lookup(job->svc, name);
		if (user == NULL || user->state != INDEX_USER_READY)
			continue;
		index_bundle_upload(user, index_admin_job_uploaded, job);
		return;
	}
	if (job->failed) {
		rpc_call_fail(job->call, STRATUS__STATUS__STATUS_TEMPFAIL,
			      "some bundles could not be uploaded; the local "
			      "cache of those users was kept");
	} else {
		Stratus__IndexAdminReply reply =
			STRATUS__INDEX_ADMIN_REPLY__INIT;
		reply.users = job->users;
		reply.uploads = job->uploads;
		rpc_call_reply(job->call, &reply.base, NULL, 0);
	}
	for (size_t i = 0; i < job->n; i++)
		free(job->names[i]);
	free(job->names);
	free(job);
}

static void index_admin_job_start(struct rpc_call *call,
				  const Stratus__IndexUserRequest *req,
				  bool clean)
{
	struct index_admin_job *job = xcalloc(1, sizeof(*job));
	job->call = call;
	job->svc = index_admin_svc(call);
	job->clean = clean;
	job->names = xcalloc(job->svc->n_users + 1, sizeof(char *));
	for (struct index_user *u = job->svc->lru_head; u != NULL;
	     u = u->lru_next) {
		if (req->user[0] == '\0' || strcmp(req->user, u->name) == 0)
			job->names[job->n++] = xstrdup(u->name);
	}
	index_admin_job_next(job);
}

void index_admin_cache_flush(struct rpc_call *call, const ProtobufCMessage *m)
{
	index_admin_job_start(call, (const void *)m, false);
}

void index_admin_cache_clean(struct rpc_call *call, const ProtobufCMessage *m)
{
	if (!index_admin_svc(call)->set.bundles) {
		/* Without bundles the local cache is the only copy of the
		 * flags: refuse rather than lose them. */
		rpc_call_fail(call, STRATUS__STATUS__STATUS_DENIED,
			      "metacache clean needs obox_index_fs (bundles)");
		return;
	}
	index_admin_job_start(call, (const void *)m, true);
}

static void index_admin_rebuilt(void *ctx, int ret, uint64_t messages,
				const char *error)
{
	struct rpc_call *call = ctx;
	if (ret < 0) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_TEMPFAIL,
			      "rebuild failed: %s", error);
		return;
	}
	Stratus__IndexAdminReply reply = STRATUS__INDEX_ADMIN_REPLY__INIT;
	reply.users = 1;
	reply.messages = messages;
	rpc_call_reply(call, &reply.base, NULL, 0);
}

void index_admin_rebuild(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexUserRequest *req = (const void *)m;
	if (!index_user_name_valid(req->user)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
			      "rebuild needs a valid user name");
		return;
	}
	index_rebuild_user(index_admin_svc(call), req->user,
			   index_admin_rebuilt, call);
}
