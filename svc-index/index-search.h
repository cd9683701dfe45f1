/* svc-index: SEARCH over what the index holds (flags, UIDs, sizes,
 * dates, modseqs, cached header fields), with a third answer "maybe" for
 * keys only the body can decide (index-search.c). */
#ifndef STRATUS_INDEX_SEARCH_H
#define STRATUS_INDEX_SEARCH_H

#include "index-common.h"
#include "index.pb-c.h"

#define INDEX_SEARCH_MAX_DEPTH 32

/* Fills reply->uids / maybe_uids (free both). -1 with *error_r for a
 * malformed key. */
int index_search_run(struct index_mailbox *box,
		     const Stratus__IndexSearchRequest *req,
		     Stratus__IndexSearchReply *reply, const char **error_r);

#endif
