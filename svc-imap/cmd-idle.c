/* IDLE (RFC 2177): while the client idles, a svc-index Wait is always
 * pending for the selected mailbox; it completes as soon as another
 * session or LMTP changes it, and the changes go out as untagged
 * responses at once. DONE ends it; a Wait still pending then is dropped
 * when it answers (its command id no longer matches). */
#include "imap-index.h"
#include "imap-sync.h"

#include <stdlib.h>
#include <strings.h>

#define IDLE_WAIT_MS 30000		/* one Wait; then another */
#define IDLE_RETRY_MS 1000		/* after a failed Wait */

struct idle_ctx {
	struct imap_cmd *cmd;
	struct loop_timer *retry;
};

static void idle_wait(struct imap_cmd *cmd);

static void idle_ctx_free(void *p)
{
	struct idle_ctx *i = p;
	loop_timer_remove(&i->retry);
	free(i);
}

static void idle_retry(struct loop_timer *timer, void *p)
{
	struct idle_ctx *i = p;
	(void)timer;
	loop_timer_remove(&i->retry);
	idle_wait(i->cmd);
}

static void idle_wait_reply(struct imap_cmd *cmd,
			    const struct rpc_reply *reply)
{
	struct idle_ctx *i = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_warning(&cmd->client->log, "IDLE: index Wait failed: %s",
			    reply->error != NULL ? reply->error :
			    rpc_status_name(reply->status));
		i->retry = loop_timer_add(cmd->client->ctx->svc->loop,
					  IDLE_RETRY_MS, false, idle_retry, i);
		return;
	}
	if (!imap_sync_apply(cmd->client,
			     (const Stratus__IndexWaitReply *)reply->msg))
		return;
	idle_wait(cmd);
}

static void idle_wait(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	Stratus__IndexWaitRequest req;
	imap_sync_wait_request(client, &req, IDLE_WAIT_MS);
	imap_index_call(cmd, IMAP_INDEX_WAIT, &req.base, idle_wait_reply);
}

static bool idle_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	(void)len;
	if (strcasecmp(line, "DONE") == 0)
		imap_cmd_reply(cmd, "OK", "Idle completed.");
	else
		imap_cmd_reply(cmd, "BAD", "Expected DONE.");
	return true;
}

bool cmd_idle(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args != 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct idle_ctx *i = xcalloc(1, sizeof(*i));
	i->cmd = cmd;
	cmd->ctx = i;
	cmd->ctx_free = idle_ctx_free;
	imap_client_send(client, "+ idling");
	imap_cmd_wait_line(cmd, idle_line);
	if (client->state == IMAP_STATE_SELECTED && client->selected != NULL)
		idle_wait(cmd);
	return false;
}
