/* Fetching the :personal scripts a delivery may include (see
 * lmtp-sieve-include.h). */
#include "lmtp-sieve-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve-storage.h"

#define LMTP_SIEVE_DEFAULT_MAX_DEPTH 10
#define LMTP_SIEVE_DEFAULT_MAX_INCLUDES 255

static unsigned int includes_max_depth(const struct lmtp_sieve_run *sr)
{
	unsigned int n = sr->be->sieve->globals.max_include_depth;
	return n != 0 ? n : LMTP_SIEVE_DEFAULT_MAX_DEPTH;
}

static unsigned int includes_max(const struct lmtp_sieve_run *sr)
{
	unsigned int n = sr->be->sieve->globals.max_includes;
	return n != 0 ? n : LMTP_SIEVE_DEFAULT_MAX_INCLUDES;
}

static void includes_push(struct lmtp_sieve_includes *inc,
			  const struct sieve_script *script, size_t personal,
			  unsigned int level)
{
	inc->queue = xreallocarray(inc->queue, inc->n_queue + 1,
				   sizeof(*inc->queue));
	inc->queue[inc->n_queue++] = (struct lmtp_sieve_include_item){
		.script = script, .personal = personal, .level = level,
	};
}

static void includes_found(struct lmtp_sieve_run *sr)
{
	if (++sr->inc.n_found > includes_max(sr))
		sr->inc.over_limit = true;
}

static bool includes_global_seen(const struct lmtp_sieve_includes *inc,
				 const struct sieve_script *s)
{
	for (size_t i = 0; i < inc->n_globals_seen; i++) {
		if (inc->globals_seen[i] == s)
			return true;
	}
	return false;
}

static struct lmtp_sieve_personal *
includes_personal_find(const struct lmtp_sieve_includes *inc,
		       const char *name)
{
	for (size_t i = 0; i < inc->n_personal; i++) {
		if (strcmp(inc->personal[i].name, name) == 0)
			return &inc->personal[i];
	}
	return NULL;
}

/* One `include` of the script being walked (sieve_script_includes). */
static void includes_ref(void *ctx, bool global, const char *name)
{
	struct lmtp_sieve_run *sr = ctx;
	struct lmtp_sieve_includes *inc = &sr->inc;
	unsigned int level = inc->level + 1;
	if (inc->over_limit)
		return;
	if (global) {
		const struct sieve_script *s = lmtp_sieve_global_include(
			&sr->be->sieve->globals, name);
		if (s == NULL || includes_global_seen(inc, s))
			return;
		inc->globals_seen = xreallocarray(inc->globals_seen,
			inc->n_globals_seen + 1, sizeof(*inc->globals_seen));
		inc->globals_seen[inc->n_globals_seen++] = s;
		includes_found(sr);
		includes_push(inc, s, SIZE_MAX, level);
		return;
	}
	/* a name storage cannot hold is never found: the run says so */
	if (includes_personal_find(inc, name) != NULL ||
	    !sieve_storage_name_valid(name, strlen(name)))
		return;
	inc->personal = xreallocarray(inc->personal, inc->n_personal + 1,
				      sizeof(*inc->personal));
	inc->personal[inc->n_personal] = (struct lmtp_sieve_personal){
		.name = xstrdup(name),
	};
	includes_push(inc, NULL, inc->n_personal++, level);
}

static void includes_walk(struct lmtp_sieve_run *sr,
			  const struct sieve_script *script, unsigned int level)
{
	/* a run stops an include at this level before resolving it */
	if (script == NULL || level >= includes_max_depth(sr))
		return;
	sr->inc.level = level;
	sieve_script_includes(script, includes_ref, sr);
}

static void includes_fetch_next(struct lmtp_sieve_run *sr);

static void includes_source_got(struct lmtp_sieve_run *sr,
				enum lmtp_sieve_get status, struct buf *data)
{
	struct lmtp_sieve_includes *inc = &sr->inc;
	const struct lmtp_sieve_include_item *item =
		&inc->queue[inc->queue_head - 1];
	struct lmtp_sieve_personal *p = &inc->personal[item->personal];
	if (status == SIEVE_GET_FAILED) {
		/* a guess could file the message wrongly: let the MTA retry */
		sr->fail = LMTP_RESULT_TEMPFAIL;
		sr->error = xstrdup("sieve: cannot read an included script");
		inc->done(sr);
		return;
	}
	if (status == SIEVE_GET_MISSING) {
		log_info(&sr->log, "sieve: included personal script %s does "
			 "not exist", p->name);
		includes_fetch_next(sr);
		return;
	}
	char *error = NULL;
	if (sieve_script_compile(data->data != NULL ? data->data : "",
				 data->len, 0, &p->script, &error) < 0) {
		log_error(&sr->log, "sieve: included personal script %s does "
			  "not compile: %s", p->name, error);
		free(error);
		p->script = NULL;
		includes_fetch_next(sr);
		return;
	}
	lmtp_sieve_store_binary(sr, p->name, p->script);
	includes_found(sr);
	includes_walk(sr, p->script, item->level);
	includes_fetch_next(sr);
}

static void includes_binary_got(struct lmtp_sieve_run *sr,
				enum lmtp_sieve_get status, struct buf *data)
{
	struct lmtp_sieve_includes *inc = &sr->inc;
	const struct lmtp_sieve_include_item *item =
		&inc->queue[inc->queue_head - 1];
	struct lmtp_sieve_personal *p = &inc->personal[item->personal];
	if (status == SIEVE_GET_OK &&
	    sieve_binary_load(data->data != NULL ? data->data : "", data->len,
			      &p->script) == SIEVE_BINARY_OK) {
		includes_found(sr);
		includes_walk(sr, p->script, item->level);
		includes_fetch_next(sr);
		return;
	}
	p->script = NULL;
	/* missing, stale or corrupt: the source decides */
	char *key = sieve_storage_script_key(p->name);
	lmtp_sieve_get(sr, key, includes_source_got);
	free(key);
}

/* Walks the queue in order; a personal script is fetched on the way
 * (one Get at a time: its reply continues here). */
static void includes_fetch_next(struct lmtp_sieve_run *sr)
{
	struct lmtp_sieve_includes *inc = &sr->inc;
	while (!inc->over_limit && inc->queue_head < inc->n_queue) {
		const struct lmtp_sieve_include_item *item =
			&inc->queue[inc->queue_head++];
		if (item->personal == SIZE_MAX) {
			includes_walk(sr, item->script, item->level);
			continue;
		}
		char *key = sieve_storage_binary_key(
			inc->personal[item->personal].name);
		lmtp_sieve_get(sr, key, includes_binary_got);
		free(key);
		return;
	}
	if (inc->over_limit && sr->script != NULL) {
		log_error(&sr->log, "sieve: script %s includes more than %u "
			  "scripts (sieve_include_max_includes); keeping the "
			  "message in INBOX", sr->name, includes_max(sr));
		sieve_script_free(&sr->script);
	}
	inc->done(sr);
}

void lmtp_sieve_includes_fetch(struct lmtp_sieve_run *sr,
			       void (*done)(struct lmtp_sieve_run *sr))
{
	const struct lmtp_sieve_globals *g = &sr->be->sieve->globals;
	struct lmtp_sieve_includes *inc = &sr->inc;
	inc->done = done;
	for (size_t i = 0; i < g->n_before; i++)
		includes_push(inc, g->before[i].script, SIZE_MAX, 0);
	if (sr->script != NULL)
		includes_push(inc, sr->script, SIZE_MAX, 0);
	for (size_t i = 0; i < g->n_after; i++)
		includes_push(inc, g->after[i].script, SIZE_MAX, 0);
	includes_fetch_next(sr);
}

const struct sieve_script *
lmtp_sieve_personal_include(const struct lmtp_sieve_run *sr, const char *name)
{
	const struct lmtp_sieve_personal *p =
		includes_personal_find(&sr->inc, name);
	return p != NULL ? p->script : NULL;
}

void lmtp_sieve_includes_free(struct lmtp_sieve_includes *inc)
{
	for (size_t i = 0; i < inc->n_personal; i++) {
		free(inc->personal[i].name);
		sieve_script_free(&inc->personal[i].script);
	}
	free(inc->personal);
	free(inc->queue);
	free(inc->globals_seen);
	memset(inc, 0, sizeof(*inc));
}
