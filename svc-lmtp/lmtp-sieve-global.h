/* sieve_before / sieve_after (plugin { }): the administrator's scripts
 * that run before and after the user's personal one, read and compiled
 * at start-up and again at each reload (lmtp-reload.c). Each setting, and its
 * numbered followers sieve_before2, sieve_before3, ... up to the first
 * one missing, names a script file or a directory whose *.sieve files
 * run in byte order of their names, as Pigeonhole documents; "file:" and
 * ";options" around the path are accepted and ignored. A script that
 * does not compile is logged at start-up and left out.
 *
 * sieve_global (Pigeonhole 0.4's name; sieve_global_dir is the older
 * one, used when sieve_global is unset): the directory of the scripts
 * that `include :global "NAME"` runs, NAME.sieve there, in the same
 * location syntax. Every *.sieve file in it is compiled when the
 * settings are loaded, so an include costs no file access during a
 * delivery; a file changed or added takes effect at the next reload. */
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
	/* the :global include scripts, path = DIR/NAME.sieve */
	struct lmtp_sieve_global *includes;
	size_t n_includes;
	unsigned int max_include_depth;	/* sieve_include_max_nesting_depth */
	unsigned int max_includes;	/* sieve_include_max_includes */
};

void lmtp_sieve_globals_load(struct lmtp_sieve_globals *g,
			     const struct config *cfg);
void lmtp_sieve_globals_free(struct lmtp_sieve_globals *g);
/* The :global script NAME, or NULL when the directory has none. */
const struct sieve_script *
lmtp_sieve_global_include(const struct lmtp_sieve_globals *g,
			  const char *name);

#endif
