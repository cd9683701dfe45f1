/* `include :personal` at delivery (RFC 6609): the user's other scripts,
 * stored by svc-managesieve as "sieve/NAME" (lib/sieve/sieve-storage.h),
 * are fetched from svc-blob before the run, because lib/sieve resolves an
 * include synchronously. Include names are constants, so the tree of a
 * delivery's scripts (sieve_before, the user's, sieve_after, and the
 * :global scripts they include) tells every name: it is walked breadth
 * first, each script once by name, only as deep as
 * sieve_include_max_nesting_depth lets a run go, each personal script
 * read as its cached binary or else compiled from its source.
 *
 * sieve_include_max_includes (255) bounds the distinct scripts that tree
 * includes; over it the user's script is not run (logged, the message is
 * kept), as Pigeonhole refuses such a script when compiling it. lib/sieve
 * applies both limits again during the run. */
#ifndef LMTP_SIEVE_INCLUDE_H
#define LMTP_SIEVE_INCLUDE_H

#include <stdbool.h>
#include <stddef.h>

#include "sieve.h"

struct lmtp_sieve_run;

struct lmtp_sieve_personal {
	char *name;
	struct sieve_script *script;	/* NULL: missing or unusable */
};

/* One script of the tree still to be read for its includes: in memory
 * already (personal == SIZE_MAX) or personal[personal] to fetch first. */
struct lmtp_sieve_include_item {
	const struct sieve_script *script;
	size_t personal;
	unsigned int level;	/* 0: a script the delivery runs */
};

struct lmtp_sieve_includes {
	struct lmtp_sieve_personal *personal;
	size_t n_personal;
	/* first in, first out, so each script is met at its lowest level */
	struct lmtp_sieve_include_item *queue;
	size_t n_queue, queue_head;
	const struct sieve_script **globals_seen;
	size_t n_globals_seen;
	size_t n_found;		/* distinct included scripts found */
	unsigned int level;	/* of the script being walked */
	bool over_limit;
	void (*done)(struct lmtp_sieve_run *sr);
};

/* Fetches every personal script the delivery's tree may include, then
 * calls done(sr) (also when sr->error was set: a read that failed). */
void lmtp_sieve_includes_fetch(struct lmtp_sieve_run *sr,
			       void (*done)(struct lmtp_sieve_run *sr));
/* The fetched :personal script NAME, or NULL. */
const struct sieve_script *
lmtp_sieve_personal_include(const struct lmtp_sieve_run *sr, const char *name);
void lmtp_sieve_includes_free(struct lmtp_sieve_includes *inc);

#endif
