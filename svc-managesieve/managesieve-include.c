/* The includes PUTSCRIPT, CHECKSCRIPT and SETACTIVE look at (RFC 6609,
 * issue 17). An `include` that is not :optional and names a script that
 * does not exist (a :personal one not among the user's scripts, a :global
 * one not in sieve_global) makes delivery fail at that include. As in
 * Pigeonhole, such a script is accepted at upload with a warning, since
 * the user may upload the included script next, and refused when it is
 * made active. lib/sieve lists the includes (names are constants, RFC
 * 6609 3.2); this file decides which are missing and words the lines. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sieve.h"
#include "managesieve-common.h"

/* Pigeonhole shortens a name in such a message to 80 characters too. */
#define INCLUDE_NAME_SHOWN_MAX 80

struct include_check {
	const struct ms_ctx *ctx;
	const struct sieve_storage_entry *entries;
	size_t n_entries;
	const char *self;	/* the script being stored, or NULL */
	bool activating;
	unsigned int missing;
	struct buf *out;
};

static bool personal_exists(const struct include_check *c, const char *name)
{
	if (c->self != NULL && strcmp(c->self, name) == 0)
		return true;	/* it exists once stored */
	for (size_t i = 0; i < c->n_entries; i++) {
		if (strcmp(c->entries[i].name, name) == 0)
			return true;
	}
	return false;
}

/* sieve_global is a folder of NAME.sieve files (svc-lmtp reads it the
 * same way); a name with a '/' cannot be one of them. */
static bool global_exists(const struct include_check *c, const char *name)
{
	const char *dir = c->ctx->set.global_dir;
	struct stat st;
	char *path;
	bool found;

	if (dir == NULL || name[0] == '\0' || name[0] == '.' ||
	    strchr(name, '/') != NULL)
		return false;
	path = xasprintf("%s/%s.sieve", dir, name);
	found = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return found;
}

/* The name as the reply shows it: control characters as '?', at most
 * INCLUDE_NAME_SHOWN_MAX characters. */
static void append_name(struct buf *out, const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i < INCLUDE_NAME_SHOWN_MAX; i++) {
		unsigned char ch = (unsigned char)name[i];

		buf_append_c(out, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	if (name[i] != '\0')
		buf_append_str(out, "...");
}

static void include_seen(void *ctx, const struct sieve_include_ref *ref)
{
	struct include_check *c = ctx;

	if (ref->optional)
		return;	/* RFC 6609 3.2: a missing one is skipped */
	if (ref->global ? global_exists(c, ref->name) :
	    personal_exists(c, ref->name))
		return;
	if (c->missing++ >= c->ctx->set.max_compile_errors)
		return;
	buf_printf(c->out, "line %u: %s: included %s script '", ref->line,
		   c->activating ? "error" : "warning",
		   ref->global ? "global" : "personal");
	append_name(c->out, ref->name);
	if (c->activating)
		buf_append_str(c->out, "' does not exist; the script cannot "
			       "be active until it does.\n");
	else
		buf_append_str(c->out, "' does not exist (accepted now; "
			       "delivery fails at this include until it "
			       "exists).\n");
}

unsigned int ms_includes_missing(const struct ms_ctx *ctx, const char *src,
				 size_t len, const char *self,
				 const struct sieve_storage_entry *entries,
				 size_t n_entries, bool activating,
				 struct buf *out)
{
	struct include_check c = {
		.ctx = ctx, .entries = entries, .n_entries = n_entries,
		.self = self, .activating = activating, .out = out,
	};
	struct sieve_script *script;
	char *error;

	/* The caller compiled it already; only a script it refused fails
	 * here, and that one has no includes to check. */
	if (sieve_script_compile(src, len, ctx->set.max_script_size, &script,
				 &error) < 0) {
		free(error);
		return 0;
	}
	sieve_script_include_refs(script, include_seen, &c);
	sieve_script_free(&script);
	/* One line reads as a quoted string (ms_reply), several stay lines. */
	if (c.missing == 1 && out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	return c.missing;
}
