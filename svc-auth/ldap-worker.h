/* LDAP lookups off the event loop. libldap's synchronous API runs in a
 * small pool of worker threads, each with its own connections (one bound
 * as `dn` for searches, one for auth binds); results come back to the
 * loop through an eventfd. blocking = yes gives up to
 * auth_worker_max_count workers (started on demand, so lookups run
 * concurrently); blocking = no gives one worker, i.e. one connection.
 * Workers see only their job: they never touch struct auth. */
#ifndef LDAP_WORKER_H
#define LDAP_WORKER_H

#include "auth-common.h"

struct ldap_settings {
	char *uris;		/* "ldap://h:389 ldap://h2" */
	char *dn, *dnpass;
	char *base;
	int scope;		/* LDAP_SCOPE_* */
	int deref;		/* LDAP_DEREF_* */
	unsigned int max_workers;
	unsigned int timeout_secs;
};

enum ldap_job_kind {
	LDAP_JOB_LOOKUP,	/* exactly one entry wanted */
	LDAP_JOB_LIST,		/* every entry (iterate) */
};

enum ldap_job_result {
	LDAP_JOB_OK,
	LDAP_JOB_NOT_FOUND,
	LDAP_JOB_PASSWORD_MISMATCH,	/* auth bind refused */
	LDAP_JOB_FAILED,		/* server down, timeout, ... */
};

#define LDAP_LIST_MAX_ENTRIES 1000000

struct ldap_job;
typedef void ldap_job_done_fn(struct ldap_job *job, void *ctx);

struct ldap_job {
	enum ldap_job_kind kind;
	char *filter;
	char *const *attrs;	/* borrowed; outlives the job */
	char *bind_password;	/* auth_bind: bind as the entry's DN */
	/* results, filled by the worker */
	enum ldap_job_result result;
	char *dn;
	struct auth_fields *entries;	/* attr -> first value */
	size_t n_entries;
	unsigned int searches, binds;
	char *error;
	ldap_job_done_fn *done;
	void *ctx;
	struct ldap_job *next;
};

struct ldap_pool;

struct ldap_pool *ldap_pool_new(struct loop *loop,
				const struct ldap_settings *set);
/* Queues a job; job->done runs later from the loop. */
void ldap_pool_submit(struct ldap_pool *pool, struct ldap_job *job);
/* Stops the workers; queued and finished jobs get their done callback
 * (queued ones with LDAP_JOB_FAILED) before this returns. */
void ldap_pool_free(struct ldap_pool **pool);
void ldap_job_free(struct ldap_job *job);

#endif
