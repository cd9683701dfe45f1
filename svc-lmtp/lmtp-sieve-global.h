/* sieve_before / sieve_after (plugin { }): the administrator's scripts
 * that run before and after the user's personal one, read and compiled
 * once at start-up (a change needs a restart). Each setting, and its
 * numbered followers sieve_before2, sieve_before3, ... up to the first
 * one missing, names a script file or a directory whose *.sieve files
 * run in byte order of their names, as Pigeonhole documents; "file:" and
 * ";options" around the path are accepted and ignored. A script that
 * does not compile is logged at start-up and left out. */
#ifndef LMTP_SIEVE_GLOBAL_H
#define LMTP_SIEVE_GLOBAL_H

#include <stddef.h>

#include "config.h"
#include "sieve.h"

struct lmtp_sieve_global {
	char *path;
	struct sieve_script *script;
};

struct lmtp_sieve_globals {
	struct lmtp_sieve_global *before, *after;
	size_t n_before, n_after;
};

void lmtp_sieve_globals_load(struct lmtp_sieve_globals *g,
			     const struct config *cfg);
void lmtp_sieve_globals_free(struct lmtp_sieve_globals *g);

#endif
