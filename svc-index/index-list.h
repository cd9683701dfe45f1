/* svc-index: LIST/LSUB over a user's mailbox list (index-list.c). */
#ifndef STRATUS_INDEX_LIST_H
#define STRATUS_INDEX_LIST_H

#include "index-service.h"
#include "index.pb-c.h"

/* Fills reply (free with index_list_reply_clear). */
void index_list_build(struct index_user *user,
		      const Stratus__IndexListRequest *req,
		      Stratus__IndexListReply *reply);
void index_list_reply_clear(Stratus__IndexListReply *reply);

#endif
