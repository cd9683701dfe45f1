/* UID FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE: the same commands
 * with UIDs for message numbers (RFC 3501 6.4.8, UIDPLUS, MOVE). */
#include "imap-common.h"

#include <strings.h>

bool cmd_uid(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->c.args;
	size_t n = cmd->c.n_args;
	if (n < 1 || args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *sub = args[0].str;
	if (strcasecmp(sub, "FETCH") == 0)
		return imap_fetch_start(cmd, true, args + 1, n - 1);
	if (strcasecmp(sub, "STORE") == 0)
		return imap_store_start(cmd, true, args + 1, n - 1);
	if (strcasecmp(sub, "COPY") == 0)
		return imap_copy_start(cmd, true, false, args + 1, n - 1);
	if (strcasecmp(sub, "MOVE") == 0)
		return imap_copy_start(cmd, true, true, args + 1, n - 1);
	if (strcasecmp(sub, "SEARCH") == 0)
		return imap_search_start(cmd, true, args + 1, n - 1);
	if (strcasecmp(sub, "SORT") == 0)
		return imap_sort_start(cmd, true, args + 1, n - 1);
	if (strcasecmp(sub, "THREAD") == 0)
		return imap_thread_start(cmd, true, args + 1, n - 1);
	if (strcasecmp(sub, "EXPUNGE") == 0)
		return imap_expunge_start(cmd, true, args + 1, n - 1);
	imap_cmd_bad(cmd, "Unknown command.");
	return true;
}
