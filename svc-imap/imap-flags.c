/* Flag lists (see imap-flags.h). */
#include "imap-flags.h"
#include "rpc.h"

#include <string.h>
#include <strings.h>

static const char *const system_flags[] = {
	"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft",
};

static bool keyword_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		/* atom-specials and resp-specials ("]") are not allowed */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static int flag_one(struct imap_cmd *cmd, const struct imap_arg *a,
		    char **flag_r, const char **error_r)
{
	if (a->type != IMAP_ARG_ATOM) {
		*error_r = "Flags must be atoms";
		return -1;
	}
	if (a->str[0] == '\\') {
		for (size_t i = 0; i < N_ELEMENTS(system_flags); i++) {
			if (strcasecmp(a->str, system_flags[i]) == 0) {
				*flag_r = (char *)system_flags[i];
				return 0;
			}
		}
		*error_r = "Invalid system flag";
		return -1;
	}
	if (!keyword_valid(a->str) || a->len > 64) {
		*error_r = "Invalid keyword";
		return -1;
	}
	*flag_r = imap_pool_strndup(&cmd->pool, a->str, a->len);
	return 0;
}

int imap_flags_parse(struct imap_cmd *cmd, const struct imap_arg *arg,
		     char ***flags_r, size_t *n_r, const char **error_r)
{
	const struct imap_arg *items = arg;
	size_t n = 1;
	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		n = arg->list_count;
	}
	if (n > IMAP_MAX_FLAGS) {
		*error_r = "Too many flags";
		return -1;
	}
	char **flags = imap_pool_alloc(&cmd->pool, (n + 1) * sizeof(char *));
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		char *f;
		if (flag_one(cmd, &items[i], &f, error_r) < 0)
			return -1;
		bool dup = false;
		for (size_t k = 0; k < count; k++)
			dup |= strcasecmp(flags[k], f) == 0;
		if (!dup)
			flags[count++] = f;
	}
	*flags_r = flags;
	*n_r = count;
	return 0;
}
