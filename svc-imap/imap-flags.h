/* IMAP flag lists for APPEND and STORE: system flags in their canonical
 * spelling, keywords as atoms; \Recent and unknown \flags refused. */
#ifndef IMAP_FLAGS_H
#define IMAP_FLAGS_H

#include "imap-common.h"

#define IMAP_MAX_FLAGS 128	/* flags in one command */

/* arg: a parenthesised list, or (STORE) one flag atom. The strings are in
 * cmd->pool. Returns 0 or -1 with *error_r (static text for a BAD). */
int imap_flags_parse(struct imap_cmd *cmd, const struct imap_arg *arg,
		     char ***flags_r, size_t *n_r, const char **error_r);

#endif
