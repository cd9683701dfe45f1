/* The few CDMI answers the scality driver reads (SNIA CDMI 1.1.1: a
 * container's "children"/"childrenrange", section 9.4; a data object's
 * "metadata", sections 8.4 and 16), parsed from an untrusted, possibly
 * truncated buffer. A small strict JSON reader, not a general one: it
 * keeps only those fields, refuses nesting deeper than CDMI_JSON_DEPTH,
 * and bounds every output (names at FS_KEY_MAX, at most
 * CDMI_JSON_MAX_CHILDREN children, CDMI_JSON_MAX_META metadata items). */
#ifndef STRATUS_CDMI_JSON_H
#define STRATUS_CDMI_JSON_H

#include <stddef.h>

#define CDMI_JSON_DEPTH 16
#define CDMI_JSON_MAX_CHILDREN 10000
#define CDMI_JSON_MAX_META 64

struct cdmi_meta_item {
	char *name, *value;	/* numbers keep their text */
};

struct cdmi_answer {
	char **children;	/* container children; sub-containers end in '/' */
	size_t n_children;
	char *childrenrange;	/* "0-999", NULL when absent */
	struct cdmi_meta_item meta[CDMI_JSON_MAX_META];
	size_t n_meta;
};

/* 0, or -1 when the text is not one well-formed JSON object or breaks a
 * bound; *answer_r is filled either way (free it with
 * cdmi_answer_free()). */
int cdmi_json_parse(const char *json, size_t len, struct cdmi_answer *answer_r);
void cdmi_answer_free(struct cdmi_answer *a);
/* The value of metadata item `name`, or NULL. */
const char *cdmi_answer_meta(const struct cdmi_answer *a, const char *name);

/* Appends s as a JSON string literal (with quotes) to out. */
struct buf;
void cdmi_json_quote(struct buf *out, const char *s);

#endif
