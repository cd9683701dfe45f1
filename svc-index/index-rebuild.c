/* svc-index: the fetching half of a rebuild (see index-rebuild.h). One
 * rebuild per user at a time, driven from blob callbacks: list pages ->
 * GET markers and HEAD messages, INDEX_REBUILD_PARALLEL at a time ->
 * merge -> replace the state. The user stays LOADING meanwhile, so its
 * calls queue and nothing commits under the rebuild's feet. */
#include "index-rebuild.h"
#include "index-blob.h"
#include "index-bundle.h"
#include "index-marker.h"
#include "buf.h"
#include "log.h"
#include "blob.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define INDEX_REBUILD_PREFIX_MAX 1024

struct index_rebuild;

/* The callback context of one HEAD/GET: a slot in the rebuild. */
struct index_rb_slot {
	struct index_rebuild *rb;
	size_t idx;
	bool is_box;
};

struct index_rebuild {
	struct index_blob_op op;	/* first: freed through destroy */
	struct index_service *svc;
	index_rebuild_cb *cb;
	void *ctx;
	bool at_load;
	char *cont;
	struct index_rebuild_msg *msgs;
	struct index_rb_slot *msg_slots;
	size_t n_msgs, cap_msgs;
	struct index_rebuild_box *boxes;
	struct index_rb_slot *box_slots;
	size_t n_boxes, cap_boxes;
	size_t next_msg, next_box, in_flight;
	char *error;		/* first failure */
};

static void index_rebuild_free(struct index_rebuild *rb)
{
	for (size_t i = 0; i < rb->n_msgs; i++) {
		free(rb->msgs[i].key);
		free(rb->msgs[i].object_id);
		free(rb->msgs[i].message_guid);
	}
	for (size_t i = 0; i < rb->n_boxes; i++)
		index_marker_clear(&rb->boxes[i].marker);
	free(rb->msgs);
	free(rb->msg_slots);
	free(rb->boxes);
	free(rb->box_slots);
	free(rb->cont);
	free(rb->error);
	free(rb->op.user);
	free(rb);
}

static void index_rebuild_destroy(struct index_blob_op *op)
{
	index_rebuild_free((struct index_rebuild *)op);
}

/* Keeps the first failure; takes msg. */
static void index_rebuild_fail(struct index_rebuild *rb, char *msg)
{
	if (rb->error == NULL)
		rb->error = msg;
	else
		free(msg);
}

/* The user this rebuild works for, if it is still there and ours. */
static struct index_user *index_rebuild_owner(struct index_rebuild *rb)
{
	struct index_user *user = index_user_lookup(rb->svc, rb->op.user);
	if (user == NULL || !user->rebuilding ||
	    user->state != INDEX_USER_LOADING)
		return NULL;
	return user;
}

static void index_rebuild_apply(struct index_rebuild *rb,
				struct index_user *user, uint64_t *messages_r)
{
	struct log_ctx lctx = { .user = rb->op.user };
	size_t slen;
	uint8_t *packed = index_state_pack(user, &slen);
	Stratus__Indexfile__State *st =
		stratus__indexfile__state__unpack(NULL, slen, packed);
	free(packed);
	if (st == NULL) {
		index_rebuild_fail(rb, xstrdup("cannot unpack the current state"));
		return;
	}
	struct index_rebuild_stats stats;
	char **created = index_rebuild_merge(st, rb->msgs, rb->n_msgs,
					     rb->boxes, rb->n_boxes, user,
					     &stats);
	const char *error = NULL;
	uint64_t old_bytes = index_user_disk_bytes(user);
	int ret = index_user_replace_state(user, st, NULL, 0, &error);
	rb->svc->total_bytes += index_user_disk_bytes(user);
	rb->svc->total_bytes -= old_bytes;
	stratus__indexfile__state__free_unpacked(st, NULL);
	if (ret < 0) {
		index_rebuild_fail(rb, xstrdup(error));
	} else {
		*messages_r = stats.messages;
		rb->svc->n_rebuilds++;
		log_info(&lctx, "index rebuilt from %zu objects: %llu "
			 "messages (%llu added, %llu dropped), %u mailboxes "
			 "recreated", rb->n_msgs,
			 (unsigned long long)stats.messages,
			 (unsigned long long)stats.added,
			 (unsigned long long)stats.dropped,
			 stats.boxes_created);
		if (!rb->at_load || stats.added > 0 || stats.dropped > 0 ||
		    stats.boxes_created > 0)
			index_user_mark_dirty(user);
		for (char **g = created; *g != NULL; g++) {
			const struct index_mailbox *box =
				index_user_find_guid(user, *g);
			if (box != NULL)
				index_marker_write(user, box);
		}
	}
	for (char **g = created; *g != NULL; g++)
		free(*g);
	free(created);
}

static void index_rebuild_finish(struct index_rebuild *rb)
{
	struct index_user *user = index_rebuild_owner(rb);
	uint64_t messages = 0;
	index_blob_op_unlink(rb->svc->blob, &rb->op);
	if (user == NULL)
		index_rebuild_fail(rb, xstrdup("user dropped during the rebuild"));
	else if (rb->error == NULL)
		index_rebuild_apply(rb, user, &messages);
	if (rb->error != NULL)
		log_error(&(struct log_ctx){ .user = rb->op.user },
			  "index rebuild failed: %s", rb->error);
	if (user != NULL) {
		user->rebuilding = false;
		/* A failed requested rebuild keeps the old state; a failed
		 * load fails the calls waiting for it. */
		bool fail = rb->error != NULL && rb->at_load;
		index_user_load_done(user, fail ?
				     STRATUS__STATUS__STATUS_TEMPFAIL : 0,
				     fail ? rb->error : NULL);
		user = index_user_lookup(rb->svc, rb->op.user);
		if (user != NULL && user->state == INDEX_USER_READY &&
		    user->dirty)
			index_bundle_changed(user);
	}
	if (rb->cb != NULL)
		rb->cb(rb->ctx, rb->error != NULL ? -1 : 0, messages,
		       rb->error);
	index_rebuild_free(rb);
}

static void index_rebuild_pump(struct index_rebuild *rb);

static void index_rebuild_head_done(const struct rpc_reply *reply, void *ctx)
{
	struct index_rb_slot *slot = ctx;
	struct index_rebuild *rb = slot->rb;
	struct index_rebuild_msg *m = &rb->msgs[slot->idx];
	rb->in_flight--;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__BlobHeadReply *r = (const void *)reply->msg;
		const Stratus__BlobMeta *meta = r->meta;
		char guid[INDEX_GUID_LEN + 1];
		m->found = true;
		m->psize = r->size;
		if (meta != NULL) {
			/* BlobMeta names the mailbox when it is a GUID;
			 * else the key's first part does. */
			char probe[INDEX_GUID_LEN + 3];
			snprintf(probe, sizeof(probe), "%.32s/x",
				 meta->mailbox_guid);
			if (strlen(meta->mailbox_guid) == INDEX_GUID_LEN &&
			    index_rebuild_key_kind(probe, guid) == 1)
				memcpy(m->box_guid, guid, sizeof(guid));
			if (meta->message_guid[0] != '\0' &&
			    strlen(meta->message_guid) <= INDEX_MAX_NAME_LEN) {
				free(m->message_guid);
				m->message_guid = xstrdup(meta->message_guid);
			}
			m->received_date = meta->received_date;
			m->save_date = meta->save_date;
			if (meta->physical_size != 0)
				m->psize = meta->physical_size;
			m->vsize = meta->virtual_size;
		}
	} else if (reply->status != STRATUS__STATUS__STATUS_NOT_FOUND) {
		/* Gone between LIST and HEAD is fine; an outage is not. */
		index_rebuild_fail(rb, xasprintf("HEAD %s: %s",
						   rpc_status_name(reply->status),
						   reply->error != NULL ?
						   reply->error : ""));
	}
	index_rebuild_pump(rb);
}

static void index_rebuild_marker_done(const struct rpc_reply *reply,
				      void *ctx)
{
	struct index_rb_slot *slot = ctx;
	struct index_rebuild *rb = slot->rb;
	struct index_rebuild_box *b = &rb->boxes[slot->idx];
	rb->in_flight--;
	if (reply->status == STRATUS__STATUS__STATUS_OK && reply->n_fds > 0) {
		uint8_t *data;
		size_t len;
		const char *error = "unreadable";
		if (index_blob_read_fd(reply->fds[0], INDEX_MARKER_MAX, &data,
				       &len) == 0) {
			b->found = index_marker_parse(data, len,
						      rb->svc->set.sep,
						      &b->marker, &error) == 0;
			free(data);
		}
		if (!b->found)
			log_warning(&(struct log_ctx){ .user = rb->op.user },
				    "mailbox %s: name marker ignored: %s",
				    b->guid, error);
	} else if (reply->status != STRATUS__STATUS__STATUS_NOT_FOUND) {
		index_rebuild_fail(rb, xasprintf("GET marker %s",
						   rpc_status_name(reply->status)));
	}
	index_rebuild_pump(rb);
}

static void index_rebuild_pump(struct index_rebuild *rb)
{
	struct index_blob *blob = rb->svc->blob;
	while (rb->error == NULL && rb->in_flight < INDEX_REBUILD_PARALLEL &&
	       (rb->next_box < rb->n_boxes || rb->next_msg < rb->n_msgs)) {
		bool is_box = rb->next_box < rb->n_boxes;
		struct index_rb_slot *slot = is_box ?
			&rb->box_slots[rb->next_box] :
			&rb->msg_slots[rb->next_msg];
		slot->rb = rb;
		slot->is_box = is_box;
		slot->idx = is_box ? rb->next_box++ : rb->next_msg++;
		char *key = is_box ?
			xasprintf("%s/" INDEX_MARKER_KEY_NAME,
				  rb->boxes[slot->idx].guid) :
			xstrdup(rb->msgs[slot->idx].key);
		rb->in_flight++;
		if (is_box) {
			Stratus__BlobGetRequest req =
				STRATUS__BLOB_GET_REQUEST__INIT;
			req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
			req.user = rb->op.user;
			req.key = key;
			rpc_client_call(blob->client, blob->m_get, NULL,
					&req.base, NULL, 0,
					INDEX_BLOB_TIMEOUT_MS,
					index_rebuild_marker_done, slot);
		} else {
			Stratus__BlobHeadRequest req =
				STRATUS__BLOB_HEAD_REQUEST__INIT;
			req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
			req.user = rb->op.user;
			req.key = key;
			rpc_client_call(blob->client, blob->m_head, NULL,
					&req.base, NULL, 0,
					INDEX_BLOB_TIMEOUT_MS,
					index_rebuild_head_done, slot);
		}
		free(key);
	}
	if (rb->in_flight == 0)
		index_rebuild_finish(rb);
}

static void index_rebuild_add_key(struct index_rebuild *rb, const char *key,
				  const char *key_prefix)
{
	char guid[INDEX_GUID_LEN + 1];
	int kind = index_rebuild_key_kind(key, guid);
	if (kind == 1) {
		if (rb->n_msgs == rb->cap_msgs) {
			rb->cap_msgs = rb->cap_msgs == 0 ? 64 :
				rb->cap_msgs * 2;
			rb->msgs = xreallocarray(rb->msgs, rb->cap_msgs,
						 sizeof(*rb->msgs));
		}
		struct index_rebuild_msg *m = &rb->msgs[rb->n_msgs++];
		memset(m, 0, sizeof(*m));
		m->key = xstrdup(key);
		if (key_prefix[0] != '\0')
			m->object_id = xasprintf("%s%s", key_prefix, key);
		memcpy(m->box_guid, guid, sizeof(guid));
		/* Until HEAD says otherwise, the key names the message. */
		m->message_guid = xstrdup(key + INDEX_GUID_LEN + 1);
	} else if (kind == 2) {
		if (rb->n_boxes == rb->cap_boxes) {
			rb->cap_boxes = rb->cap_boxes == 0 ? 16 :
				rb->cap_boxes * 2;
			rb->boxes = xreallocarray(rb->boxes, rb->cap_boxes,
						  sizeof(*rb->boxes));
		}
		struct index_rebuild_box *b = &rb->boxes[rb->n_boxes++];
		memset(b, 0, sizeof(*b));
		memcpy(b->guid, guid, sizeof(guid));
	}
}

static void index_rebuild_list_next(struct index_rebuild *rb);

static void index_rebuild_list_done(const struct rpc_reply *reply, void *ctx)
{
	struct index_rebuild *rb = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		index_rebuild_fail(rb, xasprintf("LIST %s: %s",
						   rpc_status_name(reply->status),
						   reply->error != NULL ?
						   reply->error : ""));
		index_rebuild_finish(rb);
		return;
	}
	const Stratus__BlobListReply *r = (const void *)reply->msg;
	/* An id longer than any key is not one svc-blob hands out. */
	const char *prefix = strlen(r->key_prefix) < INDEX_REBUILD_PREFIX_MAX ?
		r->key_prefix : "";
	for (size_t i = 0; i < r->n_entries; i++)
		index_rebuild_add_key(rb, r->entries[i]->key, prefix);
	if (rb->n_msgs + rb->n_boxes > INDEX_REBUILD_MAX_OBJECTS) {
		index_rebuild_fail(rb, xstrdup("more objects than a rebuild reads"));
		index_rebuild_finish(rb);
		return;
	}
	free(rb->cont);
	rb->cont = xstrdup(r->continuation);
	if (rb->cont[0] != '\0') {
		index_rebuild_list_next(rb);
		return;
	}
	/* Listing complete: the arrays stop moving, slots may point in. */
	rb->msg_slots = xcalloc(rb->n_msgs + 1, sizeof(*rb->msg_slots));
	rb->box_slots = xcalloc(rb->n_boxes + 1, sizeof(*rb->box_slots));
	index_rebuild_pump(rb);
}

static void index_rebuild_list_next(struct index_rebuild *rb)
{
	Stratus__BlobListRequest req = STRATUS__BLOB_LIST_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = rb->op.user;
	req.prefix = (char *)"";
	req.continuation = rb->cont != NULL ? rb->cont : (char *)"";
	rpc_client_call(rb->svc->blob->client, rb->svc->blob->m_list, NULL,
			&req.base, NULL, 0, INDEX_BLOB_TIMEOUT_MS,
			index_rebuild_list_done, rb);
}

static void index_rebuild_start(struct index_user *user, bool at_load,
				index_rebuild_cb *cb, void *ctx)
{
	struct index_service *svc = user->svc;
	struct index_rebuild *rb = xcalloc(1, sizeof(*rb));
	rb->op.user = xstrdup(user->name);
	rb->op.destroy = index_rebuild_destroy;
	rb->svc = svc;
	rb->cb = cb;
	rb->ctx = ctx;
	rb->at_load = at_load;
	user->state = INDEX_USER_LOADING;
	user->rebuilding = true;
	index_blob_op_link(svc->blob, &rb->op);
	index_rebuild_list_next(rb);
}

void index_rebuild_load(struct index_user *user)
{
	log_info(&(struct log_ctx){ .user = user->name },
		 "no local index and no bundle: rebuilding from objects");
	index_rebuild_start(user, true, NULL, NULL);
}

struct index_rebuild_req {
	index_rebuild_cb *cb;
	void *ctx;
};

static void index_rebuild_got_user(struct index_user *user, int status,
				   const char *error, void *ctx)
{
	struct index_rebuild_req *req = ctx;
	index_rebuild_cb *cb = req->cb;
	void *cb_ctx = req->ctx;
	free(req);
	(void)status;
	if (user == NULL) {
		cb(cb_ctx, -1, 0, error);
		return;
	}
	index_rebuild_start(user, false, cb, cb_ctx);
}

void index_rebuild_user(struct index_service *svc, const char *name,
			index_rebuild_cb *cb, void *ctx)
{
	if (svc->blob == NULL || !svc->set.rebuild_from_objects) {
		cb(ctx, -1, 0, "plugin/obox_fs is not configured");
		return;
	}
	struct index_rebuild_req *req = xcalloc(1, sizeof(*req));
	req->cb = cb;
	req->ctx = ctx;
	index_user_get(svc, name, index_rebuild_got_user, req);
}
