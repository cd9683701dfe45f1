/* Fuzzes the parsers svc-imap runs on a command's arguments once the
 * command line itself is parsed: sequence and UID sets against a session
 * view (imap-msgset.c), FETCH item lists (imap-fetch-items.c) and SEARCH
 * keys (imap-search-parse.c). Input: byte 0 sizes the session's view
 * (UIDs with gaps), byte 1 its \Recent count, the rest is one command
 * line "tag NAME args" without literals. Every parse either succeeds with
 * results that hold or fails with an error text; neither may crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../svc-imap/imap-fetch.h"
#include "../../svc-imap/imap-msgset.h"
#include "../../svc-imap/imap-search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msgset(struct imap_cmd *cmd, const char *set, bool uid)
{
	struct imap_msgset ms;
	const char *error = NULL;
	if (imap_msgset_parse(cmd, set, uid, &ms, &error) < 0) {
		if (error == NULL)
			__builtin_trap();
		return;
	}
	/* Ascending, each one in the view, each range inside the set. */
	for (size_t i = 0; i < ms.n_uids; i++) {
		if ((i > 0 && ms.uids[i] <= ms.uids[i - 1]) ||
		    imap_client_seq(cmd->client, ms.uids[i]) == 0)
			__builtin_trap();
	}
	for (size_t i = 0; i < ms.n_ranges; i++) {
		if (ms.ranges[i]->first > ms.ranges[i]->last)
			__builtin_trap();
	}
}

static void check_args(struct imap_cmd *cmd)
{
	const struct imap_command *c = &cmd->c;
	if (c->n_args > 0 && c->args[0].type == IMAP_ARG_ATOM) {
		check_msgset(cmd, c->args[0].str, false);
		check_msgset(cmd, c->args[0].str, true);
	}
	if (c->n_args > 1) {
		struct imap_fetch_items items;
		const char *error = NULL;
		if (imap_fetch_items_parse(&cmd->pool, &c->args[1], &items,
					   &error) < 0 && error == NULL)
			__builtin_trap();
		imap_fetch_items_free(&items);
	}
	Stratus__IndexSearchKey *key;
	const char *error = NULL;
	if (imap_search_parse(cmd, c->args, c->n_args, &key, &error) < 0 &&
	    error == NULL)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t uids[256];
	struct imap_client client;
	memset(&client, 0, sizeof(client));
	client.n_uids = data[0];
	for (size_t i = 0; i < client.n_uids; i++)
		uids[i] = (uint32_t)(i * 3 + 1 + (i % 2));	/* gaps */
	client.uids = uids;
	size_t n_recent = data[1] < client.n_uids ? data[1] : client.n_uids;
	client.recent_uids = uids + client.n_uids - n_recent;
	client.n_recent_uids = n_recent;

	struct imap_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.client = &client;
	const char *error;
	if (imap_parse_command((const char *)data + 2, size - 2, NULL, 0,
			       &cmd.pool, &cmd.c, &error) == 0)
		check_args(&cmd);
	imap_pool_clear(&cmd.pool);
	return 0;
}
