/* METADATA (RFC 5464): a user's server and mailbox annotations as one
 * list of entries, and its stored form. The list is kept in svc-blob as
 * one object per user (CHAIN_INDEX, IMAP_METADATA_KEY), read and written
 * whole by GETMETADATA/SETMETADATA (cmd-metadata.c). A mailbox entry is
 * keyed by the mailbox GUID, so it follows a RENAME and a deleted
 * mailbox's entries are never shown for a new one of the same name.
 *
 * Stored form: the line "STRATUS-METADATA 1\n", then per entry
 * "<scope-len> <name-len> <value-len>\n" followed by the three byte
 * strings and "\n". scope is "" for the server, else the mailbox GUID. */
#ifndef IMAP_METADATA_H
#define IMAP_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "buf.h"

#define IMAP_METADATA_KEY "imap-metadata"
/* Limits per user: one value (refused with [METADATA MAXSIZE]), the
 * number of entries and their total size ([METADATA TOOMANY]). A whole
 * SETMETADATA command is also bounded by imap_max_line_length (64 KB by
 * default), which the value limit stays well below. */
#define IMAP_METADATA_MAX_VALUE (32 * 1024)
#define IMAP_METADATA_MAX_ENTRIES 512
#define IMAP_METADATA_MAX_TOTAL (256 * 1024)
#define IMAP_METADATA_MAX_NAME 1024

struct imap_md_entry {
	char *scope;		/* "" = server, else a mailbox GUID */
	char *name;		/* "/private/comment", lower case */
	char *value;		/* value_len bytes (may hold NULs), NUL-ended */
	size_t value_len;
};

struct imap_md {
	struct imap_md_entry *entries;
	size_t n, cap;
};

void imap_md_free(struct imap_md *md);
/* Parses the stored form; -1 when it is damaged (the entries read so far
 * are kept). An empty input is an empty list. */
int imap_md_parse(struct imap_md *md, const char *data, size_t len);
void imap_md_serialize(const struct imap_md *md, struct buf *out);

/* Checks an entry name (RFC 5464 section 3.2: /private/... or
 * /shared/..., no "*", "%", "//", control characters or trailing "/")
 * and lower-cases it into out (IMAP_METADATA_MAX_NAME + 1 bytes).
 * Returns false when it is not a valid entry name. */
bool imap_md_entry_name(const char *name, size_t len, char *out);
/* The same for GETMETADATA, which also takes the roots "/private" and
 * "/shared" (all of them, with DEPTH). */
bool imap_md_get_name(const char *name, size_t len, char *out);

struct imap_md_entry *imap_md_find(struct imap_md *md, const char *scope,
				   const char *name);
/* Sets (value != NULL) or removes (value == NULL) an entry. */
void imap_md_set(struct imap_md *md, const char *scope, const char *name,
		 const char *value, size_t value_len);
/* Entries and bytes stored: what the TOOMANY limits count. */
void imap_md_usage(const struct imap_md *md, size_t *entries_r,
		   size_t *bytes_r);
/* Whether name is under parent at most depth levels down (depth < 0 is
 * infinity; 0 never matches: the entry itself is not its child). */
bool imap_md_is_child(const char *name, const char *parent, int depth);

struct imap_client;
struct imap_arg;
/* The "* METADATA mailbox (entry value ...)" response of GETMETADATA for
 * names (with depth and maxsize as its options) appended to out (nothing
 * when no entry is to be shown; mailbox NULL is the server). Returns the
 * size of the longest value left out for MAXSIZE (LONGENTRIES), or 0.
 * cmd-metadata.c; LIST RETURN (METADATA) uses it too (RFC 9590). */
size_t imap_md_format_response(struct imap_client *client, struct buf *out,
			       const char *mailbox, struct imap_md *md,
			       const char *scope,
			       const char (*names)[IMAP_METADATA_MAX_NAME + 1],
			       size_t n_names, int depth, uint64_t maxsize);
/* One GETMETADATA option, key k with value v (NULL when missing): MAXSIZE
 * or DEPTH. NULL when taken, else the BAD text. */
const char *imap_md_option(const struct imap_arg *k, const struct imap_arg *v,
			   uint64_t *maxsize, int *depth);

#endif
