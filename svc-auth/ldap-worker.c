/* LDAP worker threads (see ldap-worker.h). */
#include "ldap-worker.h"

#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ldap_worker {
	struct ldap_pool *pool;
	pthread_t thread;
	LDAP *ld;		/* bound as set.dn */
	LDAP *bind_ld;		/* auth binds */
};

struct ldap_pool {
	struct loop *loop;
	struct ldap_settings set;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ldap_job *queue, *queue_tail;
	struct ldap_job *done;	/* finished, for the loop */
	struct ldap_worker **workers;
	unsigned int n_workers, idle;
	bool stopping;
	int efd;
	struct loop_io *io;
};

void ldap_job_free(struct ldap_job *job)
{
	free(job->filter);
	if (job->bind_password != NULL) {
		explicit_bzero(job->bind_password, strlen(job->bind_password));
		free(job->bind_password);
	}
	free(job->dn);
	for (size_t i = 0; i < job->n_entries; i++)
		auth_fields_clear(&job->entries[i]);
	free(job->entries);
	free(job->error);
	free(job);
}

static void job_error(struct ldap_job *job, const char *what, int rc)
{
	free(job->error);
	job->error = xasprintf("%s: %s", what, ldap_err2string(rc));
}

static LDAP *worker_connect(struct ldap_pool *pool, const char *dn,
			  const char *pw, int *rc_r)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, pool->set.uris);
	if (rc != LDAP_SUCCESS) {
		*rc_r = rc;
		return NULL;
	}
	int version = LDAP_VERSION3;
	struct timeval tv = { .tv_sec = pool->set.timeout_secs };
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_DEREF, &pool->set.deref);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (dn != NULL && *dn != '\0') {
		struct berval cred = { .bv_val = (char *)pw,
				       .bv_len = pw != NULL ? strlen(pw) : 0 };
		rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL,
				      NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			*rc_r = rc;
			return NULL;
		}
	}
	*rc_r = LDAP_SUCCESS;
	return ld;
}

static void entry_collect(LDAP *ld, LDAPMessage *msg, struct auth_fields *f)
{
	BerElement *ber = NULL;
	for (char *a = ldap_first_attribute(ld, msg, &ber); a != NULL;
	     a = ldap_next_attribute(ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(ld, msg, a);
		if (vals != NULL && vals[0] != NULL &&
		    memchr(vals[0]->bv_val, '\0', vals[0]->bv_len) == NULL) {
			char *v = xstrndup(vals[0]->bv_val, vals[0]->bv_len);
			auth_fields_set(f, a, v);
			free(v);
		}
		ldap_value_free_len(vals);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
}

/* One search on the worker's admin connection; reconnects once when the
 * connection was lost (slapd restarted since the last lookup). */
static int worker_search(struct ldap_worker *w, struct ldap_job *job,
			 LDAPMessage **res_r)
{
	struct ldap_pool *pool = w->pool;
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc;
		if (w->ld == NULL) {
			w->ld = worker_connect(pool, pool->set.dn,
					     pool->set.dnpass, &rc);
			if (w->ld == NULL) {
				job_error(job, "connect/bind", rc);
				return -1;
			}
		}
		struct timeval tv = { .tv_sec = pool->set.timeout_secs };
		job->searches++;
		rc = ldap_search_ext_s(w->ld, pool->set.base, pool->set.scope,
				       job->filter, (char **)job->attrs, 0,
				       NULL, NULL, &tv,
				       job->kind == LDAP_JOB_LOOKUP ? 2 : 0,
				       res_r);
		if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED ||
		    rc == LDAP_NO_SUCH_OBJECT)
			return rc == LDAP_NO_SUCH_OBJECT ? 1 : 0;
		if (*res_r != NULL) {
			ldap_msgfree(*res_r);
			*res_r = NULL;
		}
		job_error(job, "search", rc);
		ldap_unbind_ext_s(w->ld, NULL, NULL);
		w->ld = NULL;
		if (rc != LDAP_SERVER_DOWN && rc != LDAP_CONNECT_ERROR &&
		    rc != LDAP_UNAVAILABLE && rc != LDAP_BUSY)
			return -1;
	}
	return -1;
}

static void worker_auth_bind(struct ldap_worker *w, struct ldap_job *job)
{
	struct ldap_pool *pool = w->pool;
	/* An empty password would be an unauthenticated bind, which
	 * LDAP servers accept: never let it through. */
	if (*job->bind_password == '\0') {
		job->result = LDAP_JOB_PASSWORD_MISMATCH;
		return;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc;
		if (w->bind_ld == NULL) {
			w->bind_ld = worker_connect(pool, NULL, NULL, &rc);
			if (w->bind_ld == NULL) {
				job_error(job, "connect", rc);
				job->result = LDAP_JOB_FAILED;
				return;
			}
		}
		struct berval cred = { .bv_val = job->bind_password,
				       .bv_len = strlen(job->bind_password) };
		job->binds++;
		rc = ldap_sasl_bind_s(w->bind_ld, job->dn, LDAP_SASL_SIMPLE,
				      &cred, NULL, NULL, NULL);
		if (rc == LDAP_SUCCESS) {
			job->result = LDAP_JOB_OK;
			return;
		}
		if (rc == LDAP_INVALID_CREDENTIALS) {
			job->result = LDAP_JOB_PASSWORD_MISMATCH;
			return;
		}
		job_error(job, "auth bind", rc);
		ldap_unbind_ext_s(w->bind_ld, NULL, NULL);
		w->bind_ld = NULL;
		if (rc != LDAP_SERVER_DOWN && rc != LDAP_CONNECT_ERROR)
			break;
	}
	job->result = LDAP_JOB_FAILED;
}

static void worker_run_job(struct ldap_worker *w, struct ldap_job *job)
{
	LDAPMessage *res = NULL;
	int r = worker_search(w, job, &res);
	if (r < 0) {
		job->result = LDAP_JOB_FAILED;
		return;
	}
	int n = r == 1 ? 0 : ldap_count_entries(w->ld, res);
	if (job->kind == LDAP_JOB_LOOKUP && n > 1) {
		free(job->error);
		job->error = xstrdup("multiple entries match the filter");
		job->result = LDAP_JOB_FAILED;
	} else if (n <= 0) {
		job->result = LDAP_JOB_NOT_FOUND;
	} else {
		size_t max = (size_t)n < LDAP_LIST_MAX_ENTRIES ?
			     (size_t)n : LDAP_LIST_MAX_ENTRIES;
		job->entries = xcalloc(max, sizeof(*job->entries));
		for (LDAPMessage *e = ldap_first_entry(w->ld, res);
		     e != NULL && job->n_entries < max;
		     e = ldap_next_entry(w->ld, e)) {
			if (job->dn == NULL) {
				char *dn = ldap_get_dn(w->ld, e);
				job->dn = xstrdup(dn != NULL ? dn : "");
				ldap_memfree(dn);
			}
			entry_collect(w->ld, e, &job->entries[job->n_entries++]);
		}
		job->result = LDAP_JOB_OK;
	}
	ldap_msgfree(res);
	if (job->result == LDAP_JOB_OK && job->bind_password != NULL)
		worker_auth_bind(w, job);
}

static void *worker_main(void *arg)
{
	struct ldap_worker *w = arg;
	struct ldap_pool *pool = w->pool;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->queue == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->queue == NULL)
			break;
		struct ldap_job *job = pool->queue;
		pool->queue = job->next;
		if (pool->queue == NULL)
			pool->queue_tail = NULL;
		pool->idle--;
		pthread_mutex_unlock(&pool->lock);
		worker_run_job(w, job);
		pthread_mutex_lock(&pool->lock);
		pool->idle++;
		job->next = pool->done;
		pool->done = job;
		uint64_t one = 1;
		if (write(pool->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort();
	}
	pthread_mutex_unlock(&pool->lock);
	if (w->ld != NULL)
		ldap_unbind_ext_s(w->ld, NULL, NULL);
	if (w->bind_ld != NULL)
		ldap_unbind_ext_s(w->bind_ld, NULL, NULL);
	return NULL;
}

/* Runs the done callbacks in completion order. */
static void pool_drain_done(struct ldap_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	struct ldap_job *list = pool->done, *rev = NULL;
	pool->done = NULL;
	pthread_mutex_unlock(&pool->lock);
	while (list != NULL) {
		struct ldap_job *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct ldap_job *next = rev->next;
		rev->done(rev, rev->ctx);
		rev = next;
	}
}

static void pool_on_event(struct loop_io *io, uint32_t events, void *ctx)
{
	struct ldap_pool *pool = ctx;
	uint64_t n;
	(void)io;
	(void)events;
	if (read(pool->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error(NULL, "ldap: eventfd read: %m");
	pool_drain_done(pool);
}

struct ldap_pool *ldap_pool_new(struct loop *loop,
				const struct ldap_settings *set)
{
	struct ldap_pool *pool = xcalloc(1, sizeof(*pool));
	pool->loop = loop;
	pool->set = *set;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		log_fatal("ldap: eventfd: %m");
	pool->io = loop_io_add(loop, pool->efd, EPOLLIN, pool_on_event, pool);
	return pool;
}

static void pool_spawn(struct ldap_pool *pool)
{
	struct ldap_worker *w = xcalloc(1, sizeof(*w));
	w->pool = pool;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		log_error(NULL, "ldap: cannot start a worker thread");
		free(w);
		return;
	}
	pool->workers = xreallocarray(pool->workers, pool->n_workers + 1,
				      sizeof(*pool->workers));
	pool->workers[pool->n_workers++] = w;
	pool->idle++;
}

void ldap_pool_submit(struct ldap_pool *pool, struct ldap_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&pool->lock);
	if (pool->queue_tail != NULL)
		pool->queue_tail->next = job;
	else
		pool->queue = job;
	pool->queue_tail = job;
	bool spawn = pool->idle == 0 && pool->n_workers < pool->set.max_workers;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	if (spawn || pool->n_workers == 0) {
		pthread_mutex_lock(&pool->lock);
		pool_spawn(pool);
		pthread_cond_signal(&pool->cond);
		pthread_mutex_unlock(&pool->lock);
	}
}

void ldap_pool_free(struct ldap_pool **_pool)
{
	struct ldap_pool *pool = *_pool;
	if (pool == NULL)
		return;
	*_pool = NULL;
	pthread_mutex_lock(&pool->lock);
	struct ldap_job *queued = pool->queue;
	pool->queue = pool->queue_tail = NULL;
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int i = 0; i < pool->n_workers; i++) {
		pthread_join(pool->workers[i]->thread, NULL);
		free(pool->workers[i]);
	}
	free(pool->workers);
	while (queued != NULL) {
		struct ldap_job *next = queued->next;
		queued->result = LDAP_JOB_FAILED;
		queued->error = xstrdup("service stopping");
		queued->done(queued, queued->ctx);
		queued = next;
	}
	pool_drain_done(pool);
	loop_io_remove(&pool->io);
	close(pool->efd);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->set.uris);
	free(pool->set.dn);
	free(pool->set.dnpass);
	free(pool->set.base);
	free(pool);
}
