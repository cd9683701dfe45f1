/* Helpers for svc-index unit tests: a service over a temporary
 * mail_home, users loaded synchronously, quick appends. */
#ifndef STRATUS_INDEX_TEST_H
#define STRATUS_INDEX_TEST_H

#include "index-service.h"
#include "index-mailbox.h"
#include "buf.h"

struct index_test {
	char *dir;
	char *conf_text;
	struct config *cfg;
	struct loop *loop;
	struct index_service *svc;
};

/* extra: config lines appended to the base config. */
struct index_test *index_test_new(const char *extra);
/* Frees the service (as a stop would) and starts a fresh one on the
 * same files. */
void index_test_restart(struct index_test *t);
void index_test_free(struct index_test *t);
struct index_user *index_test_user(struct index_test *t, const char *name);
/* Appends one message with the given flags (space separated); returns
 * its UID. */
uint32_t index_test_append(struct index_user *u, const char *mailbox,
			   const char *flags);

#endif
