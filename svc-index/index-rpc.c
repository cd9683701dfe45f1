/* svc-index: RPC dispatch. Every handler checks the request's user,
 * gets the user's state (loading it first if needed, while later calls
 * for that user queue behind the load) and continues in a per-method
 * function that turns the model's answer into the reply message. */
#include "index-rpc.h"
#include "index-list.h"
#include "index-mailbox.h"
#include "index-notify.h"
#include "index-search.h"
#include "index-admin.h"
#include "buf.h"
#include "log.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Leave room in a frame for the envelope around the payload. */
#define INDEX_REPLY_BUDGET (RPC_FRAME_MAX - 64 * 1024)
/* What a piggybacked sync may add to a reply within the frame. */
#define INDEX_SYNC_PIGGYBACK_MAX (32 * 1024)

static Stratus__IndexWaitReply *
index_rpc_sync_make(struct index_user *user,
		    const Stratus__IndexWaitRequest *sync);
static void index_rpc_sync_free(Stratus__IndexWaitReply *reply);
#define INDEX_WAIT_MAX_MS (30u * 60 * 1000)

struct index_req;
typedef void index_cont_fn(struct index_user *user, struct index_req *r);

struct index_req {
	struct rpc_call *call;
	const ProtobufCMessage *msg;
	struct index_service *svc;
	index_cont_fn *cont;
};

static struct index_service *index_rpc_svc(struct rpc_call *call)
{
	struct service *s = rpc_call_handler_ctx(call);
	return s->ctx;
}

static void index_rpc_user_ready(struct index_user *user, int status,
				 const char *error, void *ctx)
{
	struct index_req *r = ctx;
	if (user == NULL)
		rpc_call_fail(r->call, (Stratus__Status)status, "%s", error);
	else
		r->cont(user, r);
	free(r);
}

static void index_rpc_start(struct rpc_call *call, const ProtobufCMessage *msg,
			    const char *user, index_cont_fn *cont)
{
	struct index_req *r = xcalloc(1, sizeof(*r));
	r->call = call;
	r->msg = msg;
	r->svc = index_rpc_svc(call);
	r->cont = cont;
	index_user_get(r->svc, user, index_rpc_user_ready, r);
}

static void index_rpc_fail(struct rpc_call *call, int status,
			   const char *error)
{
	rpc_call_fail(call, (Stratus__Status)status, "%s", error);
}

/* The mailbox a request names, or the call has been failed. */
static struct index_mailbox *index_rpc_box(struct index_user *user,
					   struct index_req *r,
					   const char *name)
{
	struct index_mailbox *box;
	const char *error;
	int st = index_mailbox_lookup(user, name, &box, &error);
	if (st != 0) {
		index_rpc_fail(r->call, st, error);
		return NULL;
	}
	return box;
}

/* ---- mailbox list ---- */

static void index_rpc_list_cont(struct index_user *user, struct index_req *r)
{
	const Stratus__IndexListRequest *req = (const void *)r->msg;
	Stratus__IndexListReply reply = STRATUS__INDEX_LIST_REPLY__INIT;
	index_list_build(user, req, &reply);
	if (stratus__index_list_reply__get_packed_size(&reply) >
	    INDEX_REPLY_BUDGET)
		index_rpc_fail(r->call, STRATUS__STATUS__STATUS_LIMIT,
			       "mailbox list too large for one reply");
	else
		rpc_call_reply(r->call, &reply.base, NULL, 0);
	index_list_reply_clear(&reply);
}

static void index_rpc_list(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexListRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_list_cont);
}

static void index_rpc_status_reply(struct rpc_call *call,
				   const struct index_mailbox *box)
{
	Stratus__IndexMailboxStatusReply reply =
		STRATUS__INDEX_MAILBOX_STATUS_REPLY__INIT;
	Stratus__IndexMailboxStatus st;
	index_status_fill(box, &st);
	reply.status = &st;
	rpc_call_reply(call, &reply.base, NULL, 0);
	index_status_clear(&st);
}

static void index_rpc_create_cont(struct index_user *user,
				  struct index_req *r)
{
	const Stratus__IndexMailboxCreateRequest *req = (const void *)r->msg;
	struct index_mailbox *box;
	const char *error;
	int st = index_mailbox_create(user, req->mailbox, req->special_use,
				      req->n_special_use, &box, &error);
	if (st != 0)
		index_rpc_fail(r->call, st, error);
	else
		index_rpc_status_reply(r->call, box);
}

static void index_rpc_create(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexMailboxCreateRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_create_cont);
}

static void index_rpc_empty_reply(struct rpc_call *call, int st,
				  const char *error)
{
	Stratus__IndexEmptyReply reply = STRATUS__INDEX_EMPTY_REPLY__INIT;
	if (st != 0)
		index_rpc_fail(call, st, error);
	else
		rpc_call_reply(call, &reply.base, NULL, 0);
}

static void index_rpc_delete_cont(struct index_user *user,
				  struct index_req *r)
{
	const Stratus__IndexMailboxRequest *req = (const void *)r->msg;
	const char *error = NULL;
	int st = index_mailbox_delete(user, req->mailbox, &error);
	index_rpc_empty_reply(r->call, st, error);
}

static void index_rpc_delete(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexMailboxRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_delete_cont);
}

static void index_rpc_rename_cont(struct index_user *user,
				  struct index_req *r)
{
	const Stratus__IndexMailboxRenameRequest *req = (const void *)r->msg;
	const char *error = NULL;
	int st = index_mailbox_rename(user, req->mailbox, req->new_name,
				      &error);
	index_rpc_empty_reply(r->call, st, error);
}

static void index_rpc_rename(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexMailboxRenameRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_rename_cont);
}

static void index_rpc_subscribe_cont(struct index_user *user,
				     struct index_req *r)
{
	const Stratus__IndexSubscribeRequest *req = (const void *)r->msg;
	const char *error = NULL;
	int st = index_mailbox_subscribe(user, req->mailbox, req->subscribe,
					 &error);
	index_rpc_empty_reply(r->call, st, error);
}

static void index_rpc_subscribe(struct rpc_call *call,
				const ProtobufCMessage *m)
{
	const Stratus__IndexSubscribeRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_subscribe_cont);
}

static void index_rpc_status_cont(struct index_user *user,
				  struct index_req *r)
{
	const Stratus__IndexMailboxRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box != NULL)
		index_rpc_status_reply(r->call, box);
}

static void index_rpc_status(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexMailboxRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_status_cont);
}

/* ---- messages ---- */

static void index_rpc_open_cont(struct index_user *user, struct index_req *r)
{
	const Stratus__IndexOpenRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box == NULL)
		return;
	uint32_t recent_first;
	const char *error;
	/* Status first: it counts recent before this session claims it. */
	Stratus__IndexOpenReply reply = STRATUS__INDEX_OPEN_REPLY__INIT;
	Stratus__IndexMailboxStatus st;
	int ret = index_mailbox_open(user, box, req->readonly, &recent_first,
				     &error);
	if (ret != 0) {
		index_rpc_fail(r->call, ret, error);
		return;
	}
	index_status_fill(box, &st);
	reply.status = &st;
	reply.uids = xcalloc(box->n_recs + 1, sizeof(uint32_t));
	reply.recent_uids = xcalloc(box->n_recs + 1, sizeof(uint32_t));
	for (size_t i = 0; i < box->n_recs; i++) {
		reply.uids[reply.n_uids++] = box->recs[i].uid;
		if (box->recs[i].uid >= recent_first)
			reply.recent_uids[reply.n_recent_uids++] =
				box->recs[i].uid;
	}
	st.recent = (uint32_t)reply.n_recent_uids;
	if (stratus__index_open_reply__get_packed_size(&reply) >
	    INDEX_REPLY_BUDGET)
		index_rpc_fail(r->call, STRATUS__STATUS__STATUS_LIMIT,
			       "mailbox too large to open in one reply");
	else
		rpc_call_reply(r->call, &reply.base, NULL, 0);
	free(reply.uids);
	free(reply.recent_uids);
}

static void index_rpc_open(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexOpenRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_open_cont);
}

static void index_rpc_append_cont(struct index_user *user,
				  struct index_req *r)
{
	const Stratus__IndexAppendRequest *req = (const void *)r->msg;
	struct index_mailbox *box;
	const char *error;
	int st = index_mailbox_lookup(user, req->mailbox, &box, &error);
	if (st == STRATUS__STATUS__STATUS_NOT_FOUND && req->create)
		st = index_mailbox_create(user, req->mailbox, NULL, 0, &box,
					  &error);
	if (st == 0 && req->mailbox_guid[0] != '\0' &&
	    strcmp(req->mailbox_guid, box->guid) != 0) {
		st = STRATUS__STATUS__STATUS_NOT_FOUND;
		error = "mailbox was deleted and created again";
	}
	if (st != 0) {
		index_rpc_fail(r->call, st, error);
		return;
	}
	Stratus__IndexAppendReply reply = STRATUS__INDEX_APPEND_REPLY__INIT;
	reply.uids = xcalloc(req->n_messages + 1, sizeof(uint32_t));
	st = index_mailbox_append(user, box, req->messages, req->n_messages,
				  reply.uids, &reply.modseq, &error);
	if (st != 0) {
		index_rpc_fail(r->call, st, error);
	} else {
		reply.n_uids = req->n_messages;
		reply.uidvalidity = box->uidvalidity;
		reply.sync = index_rpc_sync_make(user, req->sync);
		rpc_call_reply(r->call, &reply.base, NULL, 0);
		index_rpc_sync_free(reply.sync);
	}
	free(reply.uids);
}

static void index_rpc_append(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexAppendRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_append_cont);
}

static void index_rpc_store_cont(struct index_user *user, struct index_req *r)
{
	const Stratus__IndexStoreRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box == NULL)
		return;
	Stratus__IndexStoreReply reply = STRATUS__INDEX_STORE_REPLY__INIT;
	const char *error;
	int st = index_mailbox_store(user, box, req, &reply, &error);
	if (st != 0) {
		index_rpc_fail(r->call, st, error);
	} else {
		reply.sync = index_rpc_sync_make(user, req->sync);
		rpc_call_reply(r->call, &reply.base, NULL, 0);
		index_rpc_sync_free(reply.sync);
		reply.sync = NULL;
	}
	index_store_reply_clear(&reply);
}

static void index_rpc_store(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexStoreRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_store_cont);
}

static void index_rpc_expunge_cont(struct index_user *user,
				   struct index_req *r)
{
	const Stratus__IndexExpungeRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box == NULL)
		return;
	Stratus__IndexExpungeReply reply = STRATUS__INDEX_EXPUNGE_REPLY__INIT;
	const char *error;
	int st = index_mailbox_expunge(user, box, req, &reply, &error);
	if (st != 0) {
		index_rpc_fail(r->call, st, error);
	} else {
		reply.sync = index_rpc_sync_make(user, req->sync);
		rpc_call_reply(r->call, &reply.base, NULL, 0);
		index_rpc_sync_free(reply.sync);
		reply.sync = NULL;
	}
	index_expunge_reply_clear(&reply);
}

static void index_rpc_expunge(struct rpc_call *call,
			      const ProtobufCMessage *m)
{
	const Stratus__IndexExpungeRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_expunge_cont);
}

static void index_rpc_copy_cont(struct index_user *user, struct index_req *r)
{
	const Stratus__IndexCopyRequest *req = (const void *)r->msg;
	struct index_mailbox *src = index_rpc_box(user, r, req->mailbox);
	if (src == NULL)
		return;
	struct index_mailbox *dest = index_rpc_box(user, r, req->dest);
	if (dest == NULL)
		return;
	Stratus__IndexCopyReply reply = STRATUS__INDEX_COPY_REPLY__INIT;
	const char *error;
	int st = index_mailbox_copy(user, src, dest, req, &reply, &error);
	if (st != 0) {
		index_rpc_fail(r->call, st, error);
	} else {
		reply.sync = index_rpc_sync_make(user, req->sync);
		rpc_call_reply(r->call, &reply.base, NULL, 0);
		index_rpc_sync_free(reply.sync);
		reply.sync = NULL;
	}
	index_copy_reply_clear(&reply);
}

static void index_rpc_copy(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexCopyRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_copy_cont);
}

static bool index_field_wanted(const Stratus__IndexFetchRequest *req,
			       const char *name)
{
	for (size_t i = 0; i < req->n_fields; i++) {
		if (strcmp(req->fields[i], "*") == 0 ||
		    strcasecmp(req->fields[i], name) == 0)
			return true;
	}
	return false;
}

/* One record as a wire message; strings borrowed, arrays malloc'd
 * (index_rpc_msg_free). */
static Stratus__IndexMessage *index_rpc_msg(const struct index_mailbox *box,
					    const struct index_record *rec,
					    const Stratus__IndexFetchRequest *req)
{
	Stratus__IndexMessage *m = xcalloc(1, sizeof(*m));
	stratus__index_message__init(m);
	m->uid = rec->uid;
	m->guid = rec->guid;
	m->object_id = rec->object_id;
	size_t nf;
	m->flags = (char **)index_flags_names(box, rec->sysflags,
					      rec->keywords, &nf);
	m->n_flags = nf;
	m->modseq = rec->modseq;
	m->internal_date = rec->internal_date;
	m->save_date = rec->save_date;
	m->physical_size = rec->psize;
	m->virtual_size = rec->vsize;
	m->recent = rec->uid >= box->first_recent_uid;
	if (req == NULL || req->n_fields == 0 || rec->n_cached == 0)
		return m;
	m->cached = xcalloc(rec->n_cached, sizeof(*m->cached));
	for (size_t i = 0; i < rec->n_cached; i++) {
		if (!index_field_wanted(req, rec->cached[i].name))
			continue;
		Stratus__IndexCachedField *f = xcalloc(1, sizeof(*f));
		stratus__index_cached_field__init(f);
		f->name = rec->cached[i].name;
		f->value.data = rec->cached[i].data;
		f->value.len = rec->cached[i].len;
		m->cached[m->n_cached++] = f;
	}
	return m;
}

static void index_rpc_msg_free(Stratus__IndexMessage *m)
{
	for (size_t i = 0; i < m->n_cached; i++)
		free(m->cached[i]);
	free(m->cached);
	free(m->flags);
	free(m);
}

static void index_rpc_fetch_cont(struct index_user *user, struct index_req *r)
{
	const Stratus__IndexFetchRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box == NULL)
		return;
	Stratus__IndexFetchReply reply = STRATUS__INDEX_FETCH_REPLY__INIT;
	size_t budget = 0, begin, end;
	index_ranges_span(box, req->uids, req->n_uids, false, &begin, &end);
	reply.messages = xcalloc(end - begin + 1, sizeof(*reply.messages));
	for (size_t i = begin; i < end; i++) {
		const struct index_record *rec = &box->recs[i];
		if (!index_uid_in_ranges(rec->uid, req->uids, req->n_uids,
					 false) ||
		    rec->modseq <= req->changed_since)
			continue;
		if (req->n_fields > 0)	/* a lazily loaded chunk's fields */
			index_box_cached_load(box, i, i + 1);
		Stratus__IndexMessage *m = index_rpc_msg(box, rec, req);
		size_t sz = stratus__index_message__get_packed_size(m) + 8;
		if (budget + sz > INDEX_REPLY_BUDGET && reply.n_messages > 0) {
			/* Cut here; the caller asks again from this UID. */
			reply.next_uid = rec->uid;
			index_rpc_msg_free(m);
			break;
		}
		if (sz > INDEX_REPLY_BUDGET) {
			index_rpc_msg_free(m);
			rpc_call_fail(r->call, STRATUS__STATUS__STATUS_LIMIT,
				      "cached fields of UID %u exceed a frame",
				      rec->uid);
			goto out;
		}
		budget += sz;
		reply.messages[reply.n_messages++] = m;
	}
	/* Only the last part of a cut reply: the command ends after it. */
	if (reply.next_uid == 0)
		reply.sync = index_rpc_sync_make(user, req->sync);
	rpc_call_reply(r->call, &reply.base, NULL, 0);
	index_rpc_sync_free(reply.sync);
out:
	for (size_t i = 0; i < reply.n_messages; i++)
		index_rpc_msg_free(reply.messages[i]);
	free(reply.messages);
}

static void index_rpc_fetch(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexFetchRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_fetch_cont);
}

static void index_rpc_search_cont(struct index_user *user,
				  struct index_req *r)
{
	const Stratus__IndexSearchRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box == NULL)
		return;
	Stratus__IndexSearchReply reply = STRATUS__INDEX_SEARCH_REPLY__INIT;
	const char *error;
	if (index_search_run(box, req, &reply, &error) < 0)
		index_rpc_fail(r->call, STRATUS__STATUS__STATUS_INVALID, error);
	else if (stratus__index_search_reply__get_packed_size(&reply) >
		 INDEX_REPLY_BUDGET)
		index_rpc_fail(r->call, STRATUS__STATUS__STATUS_LIMIT,
			       "search result too large for one reply");
	else {
		reply.sync = index_rpc_sync_make(user, req->sync);
		rpc_call_reply(r->call, &reply.base, NULL, 0);
		index_rpc_sync_free(reply.sync);
	}
	free(reply.uids);
	free(reply.maybe_uids);
}

static void index_rpc_search(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexSearchRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_search_cont);
}

/* ---- Wait: changes since a modseq, at once or when they happen ---- */

struct index_wait {
	struct rpc_call *call;
	const Stratus__IndexWaitRequest *req;
	struct index_user *user;
};

/* claim_recent: the appended messages nobody claimed are this session's
 * \Recent ones (their `recent` is already set in the reply). */
static void index_rpc_wait_claim(struct index_user *user,
				 struct index_mailbox *box, bool claim)
{
	const char *error;
	if (!claim || box->first_recent_uid >= box->uidnext)
		return;
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &op };
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_RECENT;
	op.mailbox_guid = box->guid;
	op.first_recent_uid = box->uidnext;
	if (index_user_commit(user, ops, 1, &error) < 0)
		log_warning(NULL, "claiming recent messages of %s: %s",
			    box->name, error);
}

static bool index_box_changed_since(const struct index_mailbox *box,
				    const Stratus__IndexWaitRequest *req)
{
	return box->highest_modseq > req->since_modseq ||
		box->uidnext > req->since_uidnext;
}

/* The first tombstone newer than modseq: tombstones are kept in the
 * order of their modseqs (an expunge or a merge takes the next one). */
static size_t index_tombs_after(const struct index_mailbox *box,
				uint64_t modseq)
{
	size_t lo = 0, hi = box->n_tombs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->tombs[mid].modseq <= modseq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The changes since req's modseq and uidnext into *reply; clear it with
 * index_wait_clear(). */
static void index_wait_fill(const Stratus__IndexWaitRequest *req,
			    const struct index_mailbox *box,
			    Stratus__IndexWaitReply *reply)
{
	stratus__index_wait_reply__init(reply);
	if (box == NULL) {
		reply->mailbox_gone = true;
		return;
	}
	reply->highest_modseq = box->highest_modseq;
	reply->uidnext = box->uidnext;
	if (!index_box_changed_since(box, req))
		return;		/* the usual case after a command */
	reply->history_partial = req->since_modseq < box->tomb_floor;
	if (reply->history_partial && !req->partial_history) {
		reply->history_partial = false;
		reply->resync = true;
		return;
	}
	reply->appended = xcalloc(box->n_recs + 1, sizeof(*reply->appended));
	reply->flag_changes = xcalloc(box->n_recs + 1,
				      sizeof(*reply->flag_changes));
	for (size_t i = 0; i < box->n_recs; i++) {
		const struct index_record *rec = &box->recs[i];
		if (rec->modseq <= req->since_modseq &&
		    rec->uid < req->since_uidnext)
			continue;
		Stratus__IndexMessage *m = index_rpc_msg(box, rec, NULL);
		if (rec->uid >= req->since_uidnext) {
			reply->appended[reply->n_appended++] = m;
			continue;
		}
		Stratus__IndexFlagUpdate *u = xcalloc(1, sizeof(*u));
		stratus__index_flag_update__init(u);
		u->uid = m->uid;
		u->flags = m->flags;
		u->n_flags = m->n_flags;
		u->modseq = m->modseq;
		m->flags = NULL;
		index_rpc_msg_free(m);
		reply->flag_changes[reply->n_flag_changes++] = u;
	}
	size_t first = index_tombs_after(box, req->since_modseq);
	reply->expunged = xcalloc(box->n_tombs - first + 1, sizeof(uint32_t));
	for (size_t i = first; i < box->n_tombs; i++) {
		if (box->tombs[i].uid < req->since_uidnext)
			reply->expunged[reply->n_expunged++] = box->tombs[i].uid;
	}
}

static void index_wait_clear(Stratus__IndexWaitReply *reply)
{
	for (size_t i = 0; i < reply->n_appended; i++)
		index_rpc_msg_free(reply->appended[i]);
	for (size_t i = 0; i < reply->n_flag_changes; i++) {
		free(reply->flag_changes[i]->flags);
		free(reply->flag_changes[i]);
	}
	free(reply->appended);
	free(reply->flag_changes);
	free(reply->expunged);
	stratus__index_wait_reply__init(reply);
}

static void index_rpc_wait_reply(struct rpc_call *call,
				 const Stratus__IndexWaitRequest *req,
				 const struct index_mailbox *box)
{
	Stratus__IndexWaitReply reply;
	index_wait_fill(req, box, &reply);
	if (stratus__index_wait_reply__get_packed_size(&reply) >
	    INDEX_REPLY_BUDGET) {
		index_wait_clear(&reply);
		reply.highest_modseq = box->highest_modseq;
		reply.uidnext = box->uidnext;
		reply.resync = true;
	}
	rpc_call_reply(call, &reply.base, NULL, 0);
	index_wait_clear(&reply);
}

/* The piggybacked Wait of a Fetch, Store, Search, Expunge, Append or
 * Copy (its request's sync), answered once the call's own change is
 * made; NULL without one, or when the changes are too many to ride
 * along (svc-imap then makes the Wait itself). Free with
 * index_rpc_sync_free(). */
static Stratus__IndexWaitReply *
index_rpc_sync_make(struct index_user *user,
		    const Stratus__IndexWaitRequest *sync)
{
	if (sync == NULL || sync->timeout_ms != 0)
		return NULL;
	struct index_mailbox *box;
	const char *error;
	if (index_mailbox_lookup(user, sync->mailbox, &box, &error) != 0)
		return NULL;
	Stratus__IndexWaitReply *reply = xcalloc(1, sizeof(*reply));
	index_wait_fill(sync, box, reply);
	if (reply->resync || stratus__index_wait_reply__get_packed_size(reply) >
	    INDEX_SYNC_PIGGYBACK_MAX) {
		index_wait_clear(reply);
		free(reply);
		return NULL;
	}
	index_rpc_wait_claim(user, box, sync->claim_recent);
	return reply;
}

static void index_rpc_sync_free(Stratus__IndexWaitReply *reply)
{
	if (reply == NULL)
		return;
	index_wait_clear(reply);
	free(reply);
}

static void index_rpc_wait_wake(struct index_mailbox *box, int reason,
				void *ctx)
{
	struct index_wait *w = ctx;
	/* The reply frees the request: read it first. */
	bool claim = w->req->claim_recent;
	(void)reason;
	index_rpc_wait_reply(w->call, w->req, box);
	if (box != NULL)
		index_rpc_wait_claim(w->user, box, claim);
	free(w);
}

static void index_rpc_wait_cont(struct index_user *user, struct index_req *r)
{
	const Stratus__IndexWaitRequest *req = (const void *)r->msg;
	struct index_mailbox *box = index_rpc_box(user, r, req->mailbox);
	if (box == NULL)
		return;
	if (req->timeout_ms == 0 || index_box_changed_since(box, req)) {
		bool claim = req->claim_recent;
		index_rpc_wait_reply(r->call, req, box);
		index_rpc_wait_claim(user, box, claim);
		return;
	}
	struct index_wait *w = xcalloc(1, sizeof(*w));
	w->call = r->call;
	w->req = req;
	w->user = user;
	uint32_t timeout = req->timeout_ms > INDEX_WAIT_MAX_MS ?
		INDEX_WAIT_MAX_MS : req->timeout_ms;
	index_notify_wait(r->svc, box, timeout, index_rpc_wait_wake, w);
}

static void index_rpc_wait(struct rpc_call *call, const ProtobufCMessage *m)
{
	const Stratus__IndexWaitRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_wait_cont);
}

/* ---- WaitUser: anything of the user changed (IMAP NOTIFY) ---- */

static void index_rpc_wait_user_reply(struct rpc_call *call, uint64_t change)
{
	Stratus__IndexWaitUserReply reply = STRATUS__INDEX_WAIT_USER_REPLY__INIT;
	reply.change = change;
	rpc_call_reply(call, &reply.base, NULL, 0);
}

static void index_rpc_wait_user_wake(struct index_user *user, uint64_t change,
				     void *ctx)
{
	struct rpc_call *call = ctx;
	if (user == NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_TEMPFAIL,
			      "user state dropped");
		return;
	}
	index_rpc_wait_user_reply(call, change);
}

static void index_rpc_wait_user_cont(struct index_user *user,
				     struct index_req *r)
{
	const Stratus__IndexWaitUserRequest *req = (const void *)r->msg;
	uint64_t change = index_notify_user_change(user);
	if (req->timeout_ms == 0 || req->since_change != change) {
		index_rpc_wait_user_reply(r->call, change);
		return;
	}
	uint32_t timeout = req->timeout_ms > INDEX_WAIT_MAX_MS ?
		INDEX_WAIT_MAX_MS : req->timeout_ms;
	index_notify_user_wait(user, timeout, index_rpc_wait_user_wake,
			       r->call);
}

static void index_rpc_wait_user(struct rpc_call *call,
				const ProtobufCMessage *m)
{
	const Stratus__IndexWaitUserRequest *req = (const void *)m;
	index_rpc_start(call, m, req->user, index_rpc_wait_user_cont);
}

/* The handler table: index = method id in proto/index.proto. */
rpc_handler_fn *const index_rpc_handlers[INDEX_RPC_N_HANDLERS] = {
	index_rpc_list,
	index_rpc_create,
	index_rpc_delete,
	index_rpc_rename,
	index_rpc_subscribe,
	index_rpc_status,
	index_rpc_open,
	index_rpc_append,
	index_rpc_store,
	index_rpc_expunge,
	index_rpc_copy,
	index_rpc_fetch,
	index_rpc_search,
	index_rpc_wait,
	index_admin_cache_list,
	index_admin_cache_flush,
	index_admin_cache_clean,
	index_admin_rebuild,
	index_rpc_wait_user,
};
const size_t index_rpc_n_handlers = N_ELEMENTS(index_rpc_handlers);
_Static_assert(N_ELEMENTS(index_rpc_handlers) == INDEX_RPC_N_HANDLERS,
	       "one handler per Index method");
