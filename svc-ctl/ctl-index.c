/* stratusctl metacache list|flush|clean [USER], stratusctl index
 * rebuild USER, and small mailbox commands for tests and operators
 * (stratusctl mailbox list|status|create|rename|append|deliver|wait
 * USER ...), all through svc-index's RPC. `deliver` stores a real
 * message object through svc-blob first (key "<mailbox-guid>/
 * <message-guid>" with its BlobMeta), the way LMTP and APPEND do, so a
 * rebuild from objects can find it. */
#include "ctl.h"
#include "buf.h"
#include "rpc.h"
#include "rpc-versions.h"
#include "service.h"
#include "index.pb-c.h"
#include "blob.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_INDEX_TIMEOUT_MS 120000

enum {
	CTL_M_LIST = 0, CTL_M_CREATE = 1, CTL_M_RENAME = 3, CTL_M_STATUS = 5,
	CTL_M_APPEND = 7, CTL_M_STORE = 8,
	CTL_M_WAIT = 13, CTL_M_CACHE_LIST = 14, CTL_M_CACHE_FLUSH = 15,
	CTL_M_CACHE_CLEAN = 16, CTL_M_REBUILD = 17,
};

struct ctl_index {
	struct config *cfg;
	struct loop *loop;
	struct rpc_client *client;
};

static int ctl_index_open(struct ctl_index *ci, const char *config_path)
{
	ci->cfg = ctl_config_load(config_path);
	if (ci->cfg == NULL)
		return -1;
	ci->loop = loop_new();
	char *path = service_rpc_socket_path(ci->cfg, "index");
	ci->client = rpc_client_new(ci->loop, path, &stratus__index__descriptor,
				    INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	free(path);
	return 0;
}

static void ctl_index_close(struct ctl_index *ci)
{
	rpc_client_free(&ci->client);
	loop_free(&ci->loop);
	config_free(&ci->cfg);
}

static const ProtobufCMessage *ctl_index_call(struct ctl_index *ci,
					      uint32_t method,
					      const ProtobufCMessage *req,
					      struct rpc_reply *reply)
{
	if (rpc_client_call_sync(ci->client, method, req, NULL, 0,
				 CTL_INDEX_TIMEOUT_MS, reply) < 0) {
		fprintf(stderr, "stratusctl: index: %s: %s\n",
			rpc_status_name(reply->status),
			reply->error != NULL ? reply->error : "");
		return NULL;
	}
	return reply->msg;
}

static int ctl_metacache(struct ctl_args *args)
{
	if (args->argc < 1) {
		fprintf(stderr, "usage: stratusctl metacache list|flush|clean "
			"[USER]\n");
		return CTL_EXIT_USAGE;
	}
	const char *verb = args->argv[0];
	Stratus__IndexUserRequest req = STRATUS__INDEX_USER_REQUEST__INIT;
	req.user = args->argc > 1 ? args->argv[1] : (char *)"";
	uint32_t method = strcmp(verb, "list") == 0 ? CTL_M_CACHE_LIST :
		strcmp(verb, "flush") == 0 ? CTL_M_CACHE_FLUSH :
		strcmp(verb, "clean") == 0 ? CTL_M_CACHE_CLEAN : 0;
	if (method == 0) {
		fprintf(stderr, "stratusctl: unknown metacache verb %s\n", verb);
		return CTL_EXIT_USAGE;
	}
	struct ctl_index ci;
	if (ctl_index_open(&ci, args->config_path) < 0)
		return CTL_EXIT_FAILURE;
	struct rpc_reply reply;
	const ProtobufCMessage *m = ctl_index_call(&ci, method, &req.base,
						   &reply);
	int ret = m == NULL ? CTL_EXIT_FAILURE : 0;
	if (m != NULL && method == CTL_M_CACHE_LIST) {
		const Stratus__IndexCacheListReply *r = (const void *)m;
		for (size_t i = 0; i < r->n_users; i++) {
			const Stratus__IndexCacheEntry *e = r->users[i];
			printf("%s bytes=%llu mailboxes=%u messages=%llu "
			       "dirty=%s last_access=%lld\n", e->user,
			       (unsigned long long)e->bytes, e->mailboxes,
			       (unsigned long long)e->messages,
			       e->dirty ? "yes" : "no",
			       (long long)e->last_access);
		}
		printf("total bytes=%llu max=%llu\n",
		       (unsigned long long)r->total_bytes,
		       (unsigned long long)r->max_bytes);
	} else if (m != NULL) {
		const Stratus__IndexAdminReply *r = (const void *)m;
		printf("%s: users=%u uploads=%u\n", verb, r->users, r->uploads);
	}
	rpc_reply_clear(&reply);
	ctl_index_close(&ci);
	return ret;
}

static int ctl_index_rebuild(struct ctl_args *args)
{
	if (args->argc < 2 || strcmp(args->argv[0], "rebuild") != 0) {
		fprintf(stderr, "usage: stratusctl index rebuild USER\n");
		return CTL_EXIT_USAGE;
	}
	Stratus__IndexUserRequest req = STRATUS__INDEX_USER_REQUEST__INIT;
	req.user = args->argv[1];
	struct ctl_index ci;
	if (ctl_index_open(&ci, args->config_path) < 0)
		return CTL_EXIT_FAILURE;
	struct rpc_reply reply;
	const Stratus__IndexAdminReply *r =
		(const void *)ctl_index_call(&ci, CTL_M_REBUILD, &req.base,
					     &reply);
	if (r != NULL)
		printf("rebuilt %s: messages=%llu\n", req.user,
		       (unsigned long long)r->messages);
	int ret = r == NULL ? CTL_EXIT_FAILURE : 0;
	rpc_reply_clear(&reply);
	ctl_index_close(&ci);
	return ret;
}

static void ctl_print_status(const Stratus__IndexMailboxStatus *s)
{
	printf("%s messages=%u unseen=%u recent=%u uidvalidity=%u uidnext=%u "
	       "highestmodseq=%llu vsize=%llu\n", s->name, s->messages,
	       s->unseen, s->recent, s->uidvalidity, s->uidnext,
	       (unsigned long long)s->highest_modseq,
	       (unsigned long long)s->vsize);
}

/* The mailbox's GUID, creating the mailbox when it is missing. */
static char *ctl_mailbox_guid(struct ctl_index *ci, char *user, char *box)
{
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	struct rpc_reply reply = { 0 };
	req.user = user;
	req.mailbox = box;
	char *guid = NULL;
	if (rpc_client_call_sync(ci->client, CTL_M_STATUS, &req.base, NULL, 0,
				 CTL_INDEX_TIMEOUT_MS, &reply) < 0 &&
	    reply.status == STRATUS__STATUS__STATUS_NOT_FOUND) {
		rpc_reply_clear(&reply);
		Stratus__IndexMailboxCreateRequest creq =
			STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
		creq.user = user;
		creq.mailbox = box;
		if (ctl_index_call(ci, CTL_M_CREATE, &creq.base, &reply) == NULL)
			goto out;
	} else if (reply.msg == NULL) {
		fprintf(stderr, "stratusctl: index: %s: %s\n",
			rpc_status_name(reply.status),
			reply.error != NULL ? reply.error : "");
		goto out;
	}
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply.msg;
	guid = xstrdup(r->status->guid);
out:
	rpc_reply_clear(&reply);
	return guid;
}

/* Counts LF-only line ends: the CRLF size is the size plus that. */
static uint64_t ctl_crlf_size(int fd, uint64_t size)
{
	char buf[65536], prev = '\0';
	ssize_t n;
	uint64_t extra = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && prev != '\r')
				extra++;
			prev = buf[i];
		}
	}
	(void)lseek(fd, 0, SEEK_SET);
	return size + extra;
}

/* mailbox deliver USER BOX FILE [FLAG...]: Put the object, then Append
 * its record, as a delivery does. */
static int ctl_mailbox_deliver(struct ctl_index *ci, struct ctl_args *args)
{
	char *user = args->argv[1];
	char *box = args->argv[2];
	int fd = open(args->argv[3], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "stratusctl: %s: %s\n", args->argv[3],
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return CTL_EXIT_FAILURE;
	}
	char *box_guid = ctl_mailbox_guid(ci, user, box);
	if (box_guid == NULL) {
		close(fd);
		return CTL_EXIT_FAILURE;
	}
	uint8_t raw[16];
	char msg_guid[33];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0x5a, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(msg_guid + 2 * i, 3, "%02x", raw[i]);
	char *key = xasprintf("%s/%s", box_guid, msg_guid);
	int64_t now = (int64_t)time(NULL);
	Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
	meta.mailbox_guid = box_guid;
	meta.message_guid = msg_guid;
	meta.received_date = now;
	meta.save_date = now;
	meta.physical_size = (uint64_t)st.st_size;
	meta.virtual_size = ctl_crlf_size(fd, (uint64_t)st.st_size);
	Stratus__BlobPutRequest put = STRATUS__BLOB_PUT_REQUEST__INIT;
	put.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	put.user = user;
	put.key = key;
	put.meta = &meta;
	char *path = service_rpc_socket_path(ci->cfg, "blob");
	struct rpc_client *blob = rpc_client_new(ci->loop, path,
						 &stratus__blob__descriptor,
						 BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	free(path);
	struct rpc_reply reply = { 0 };
	int ret = CTL_EXIT_FAILURE;
	if (rpc_client_call_sync(blob, (uint32_t)rpc_method_index(
				 &stratus__blob__descriptor, "Put"),
				 &put.base, &fd, 1, CTL_INDEX_TIMEOUT_MS,
				 &reply) < 0) {
		fprintf(stderr, "stratusctl: blob put: %s: %s\n",
			rpc_status_name(reply.status),
			reply.error != NULL ? reply.error : "");
		goto out;
	}
	const Stratus__BlobPutReply *pr = (const void *)reply.msg;
	Stratus__IndexAppendRequest req = STRATUS__INDEX_APPEND_REQUEST__INIT;
	Stratus__IndexMessage m = STRATUS__INDEX_MESSAGE__INIT;
	Stratus__IndexMessage *mp = &m;
	req.user = user;
	req.mailbox = box;
	req.messages = &mp;
	req.n_messages = 1;
	m.guid = msg_guid;
	m.object_id = pr->object_id;
	m.flags = args->argv + 4;
	m.n_flags = (size_t)(args->argc - 4);
	m.physical_size = meta.physical_size;
	m.virtual_size = meta.virtual_size;
	m.internal_date = now;
	m.save_date = now;
	struct rpc_reply areply = { 0 };
	const Stratus__IndexAppendReply *r = (const void *)
		ctl_index_call(ci, CTL_M_APPEND, &req.base, &areply);
	if (r != NULL) {
		printf("APPENDUID %u %u %s\n", r->uidvalidity, r->uids[0], key);
		ret = 0;
	}
	rpc_reply_clear(&areply);
out:
	rpc_reply_clear(&reply);
	rpc_client_free(&blob);
	close(fd);
	free(key);
	free(box_guid);
	return ret;
}

/* mailbox list USER [PATTERN] | status USER BOX |
 * create USER BOX | rename USER OLD NEW | append USER BOX [FLAG...] |
 * deliver USER BOX FILE [FLAG...] | wait USER BOX MODSEQ UIDNEXT TIMEOUT_MS */
static int ctl_mailbox(struct ctl_args *args)
{
	if (args->argc < 2) {
		fprintf(stderr, "usage: stratusctl mailbox list|status|create|"
			"rename|append|deliver|wait USER ...\n");
		return CTL_EXIT_USAGE;
	}
	const char *verb = args->argv[0];
	char *user = args->argv[1];
	struct ctl_index ci;
	if (ctl_index_open(&ci, args->config_path) < 0)
		return CTL_EXIT_FAILURE;
	struct rpc_reply reply = { 0 };
	int ret = CTL_EXIT_USAGE;
	if (strcmp(verb, "list") == 0) {
		Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
		req.user = user;
		req.patterns = args->argv + 2;
		req.n_patterns = (size_t)(args->argc - 2);
		req.with_status = true;
		const Stratus__IndexListReply *r = (const void *)
			ctl_index_call(&ci, CTL_M_LIST, &req.base, &reply);
		for (size_t i = 0; r != NULL && i < r->n_entries; i++) {
			const Stratus__IndexListEntry *e = r->entries[i];
			printf("%s%s%s%s", e->name,
			       e->has_children ? " \\HasChildren" :
			       " \\HasNoChildren",
			       e->nonexistent ? " \\NonExistent" : "",
			       e->subscribed ? " \\Subscribed" : "");
			for (size_t j = 0; j < e->n_special_use; j++)
				printf(" %s", e->special_use[j]);
			printf("\n");
		}
		ret = r == NULL ? CTL_EXIT_FAILURE : 0;
	} else if (strcmp(verb, "status") == 0 && args->argc >= 3) {
		Stratus__IndexMailboxRequest req =
			STRATUS__INDEX_MAILBOX_REQUEST__INIT;
		req.user = user;
		req.mailbox = args->argv[2];
		const Stratus__IndexMailboxStatusReply *r = (const void *)
			ctl_index_call(&ci, CTL_M_STATUS, &req.base, &reply);
		if (r != NULL)
			ctl_print_status(r->status);
		ret = r == NULL ? CTL_EXIT_FAILURE : 0;
	} else if (strcmp(verb, "deliver") == 0 && args->argc >= 4) {
		ret = ctl_mailbox_deliver(&ci, args);
	} else if (strcmp(verb, "create") == 0 && args->argc >= 3) {
		Stratus__IndexMailboxCreateRequest req =
			STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
		req.user = user;
		req.mailbox = args->argv[2];
		ret = ctl_index_call(&ci, CTL_M_CREATE, &req.base, &reply) ==
			NULL ? CTL_EXIT_FAILURE : 0;
	} else if (strcmp(verb, "rename") == 0 && args->argc >= 4) {
		Stratus__IndexMailboxRenameRequest req =
			STRATUS__INDEX_MAILBOX_RENAME_REQUEST__INIT;
		req.user = user;
		req.mailbox = args->argv[2];
		req.new_name = args->argv[3];
		ret = ctl_index_call(&ci, CTL_M_RENAME, &req.base, &reply) ==
			NULL ? CTL_EXIT_FAILURE : 0;
	} else if (strcmp(verb, "append") == 0 && args->argc >= 3) {
		Stratus__IndexAppendRequest req =
			STRATUS__INDEX_APPEND_REQUEST__INIT;
		Stratus__IndexMessage m = STRATUS__INDEX_MESSAGE__INIT;
		Stratus__IndexMessage *mp = &m;
		req.user = user;
		req.mailbox = args->argv[2];
		req.messages = &mp;
		req.n_messages = 1;
		req.create = true;
		m.flags = args->argv + 3;
		m.n_flags = (size_t)(args->argc - 3);
		m.physical_size = 100;
		m.internal_date = (int64_t)time(NULL);
		const Stratus__IndexAppendReply *r = (const void *)
			ctl_index_call(&ci, CTL_M_APPEND, &req.base, &reply);
		if (r != NULL)
			printf("APPENDUID %u %u\n", r->uidvalidity, r->uids[0]);
		ret = r == NULL ? CTL_EXIT_FAILURE : 0;
	} else if (strcmp(verb, "wait") == 0 && args->argc >= 6) {
		Stratus__IndexWaitRequest req = STRATUS__INDEX_WAIT_REQUEST__INIT;
		req.user = user;
		req.mailbox = args->argv[2];
		req.since_modseq = strtoull(args->argv[3], NULL, 10);
		req.since_uidnext = (uint32_t)strtoul(args->argv[4], NULL, 10);
		req.timeout_ms = (uint32_t)strtoul(args->argv[5], NULL, 10);
		const Stratus__IndexWaitReply *r = (const void *)
			ctl_index_call(&ci, CTL_M_WAIT, &req.base, &reply);
		if (r != NULL) {
			printf("highestmodseq=%llu uidnext=%u appended=%zu "
			       "expunged=%zu flags=%zu\n",
			       (unsigned long long)r->highest_modseq, r->uidnext,
			       r->n_appended, r->n_expunged,
			       r->n_flag_changes);
		}
		ret = r == NULL ? CTL_EXIT_FAILURE : 0;
	} else {
		fprintf(stderr, "stratusctl: bad mailbox command\n");
	}
	rpc_reply_clear(&reply);
	ctl_index_close(&ci);
	return ret;
}

/* The doveadm forms (-u/-A, --json, new verbs) are in ctl-mail.c; the
 * positional forms stay here for scripts and tests. */
static bool ctl_doveadm_form(const struct ctl_args *args)
{
	for (int i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], "--json") == 0)
			return true;
	}
	return ctl_users_given(args);
}

int ctl_cmd_metacache(struct ctl_args *args)
{
	if (args->argc >= 1 && (ctl_doveadm_form(args) ||
				strcmp(args->argv[0], "unload") == 0))
		return ctl_mail_metacache(args);
	return ctl_metacache(args);
}

int ctl_cmd_index(struct ctl_args *args)
{
	if (args->argc >= 1 && (ctl_doveadm_form(args) ||
				strcmp(args->argv[0], "status") == 0))
		return ctl_mail_index(args);
	return ctl_index_rebuild(args);
}

int ctl_cmd_mailbox(struct ctl_args *args)
{
	if (args->argc >= 1 && (ctl_doveadm_form(args) ||
				strcmp(args->argv[0], "delete") == 0))
		return ctl_mail_mailbox(args);
	return ctl_mailbox(args);
}
