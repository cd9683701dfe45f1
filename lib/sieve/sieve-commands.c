/* The language tables: every extension, tagged argument, command and test
 * the compiler accepts, with what each needs. Adding a command means a row
 * here, its checks in sieve-validate.c and its behaviour in the
 * interpreter. */
#include <string.h>
#include <strings.h>

#include "sieve-private.h"

static const char *const ext_names[EXT_COUNT] = {
	[EXT_FILEINTO] = "fileinto",
	[EXT_REJECT] = "reject",
	[EXT_EREJECT] = "ereject",
	[EXT_ENVELOPE] = "envelope",
	[EXT_ENCODED_CHAR] = "encoded-character",
	[EXT_IMAP4FLAGS] = "imap4flags",
	[EXT_VARIABLES] = "variables",
	[EXT_COPY] = "copy",
	[EXT_MAILBOX] = "mailbox",
	[EXT_SUBADDRESS] = "subaddress",
	[EXT_RELATIONAL] = "relational",
	[EXT_CMP_NUMERIC] = "comparator-i;ascii-numeric",
	[EXT_BODY] = "body",
	[EXT_VACATION] = "vacation",
	[EXT_VACATION_SECONDS] = "vacation-seconds",
	[EXT_REGEX] = "regex",
	[EXT_DATE] = "date",
	[EXT_INDEX] = "index",
	[EXT_DUPLICATE] = "duplicate",
	[EXT_SPAMTEST] = "spamtest",
	[EXT_SPAMTESTPLUS] = "spamtestplus",
	[EXT_VIRUSTEST] = "virustest",
	[EXT_INCLUDE] = "include",
	[EXT_EDITHEADER] = "editheader",
};

const char *sieve_ext_name(unsigned int ext)
{
	return ext < EXT_COUNT ? ext_names[ext] : "?";
}

int sieve_ext_lookup(const char *name)
{
	for (unsigned int i = 0; i < EXT_COUNT; i++) {
		if (strcmp(ext_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

const char *sieve_extensions_string(void)
{
	/* The order Pigeonhole announces, minus what we do not have. */
	return "fileinto reject envelope encoded-character vacation "
	       "subaddress comparator-i;ascii-numeric relational regex "
	       "imap4flags copy include variables body mailbox date index "
	       "ereject duplicate editheader spamtest spamtestplus "
	       "virustest vacation-seconds";
}

const struct sieve_tag_def sieve_tags[TAG_COUNT] = {
	[TAG_IS] = { "is", TV_NONE, EXT_NONE },
	[TAG_CONTAINS] = { "contains", TV_NONE, EXT_NONE },
	[TAG_MATCHES] = { "matches", TV_NONE, EXT_NONE },
	[TAG_REGEX] = { "regex", TV_NONE, EXT_REGEX },
	[TAG_VALUE] = { "value", TV_STR, EXT_RELATIONAL },
	[TAG_COUNT_] = { "count", TV_STR, EXT_RELATIONAL },
	[TAG_COMPARATOR] = { "comparator", TV_STR, EXT_NONE },
	[TAG_ALL] = { "all", TV_NONE, EXT_NONE },
	[TAG_LOCALPART] = { "localpart", TV_NONE, EXT_NONE },
	[TAG_DOMAIN] = { "domain", TV_NONE, EXT_NONE },
	[TAG_USER] = { "user", TV_NONE, EXT_SUBADDRESS },
	[TAG_DETAIL] = { "detail", TV_NONE, EXT_SUBADDRESS },
	[TAG_OVER] = { "over", TV_NONE, EXT_NONE },
	[TAG_UNDER] = { "under", TV_NONE, EXT_NONE },
	[TAG_CREATE] = { "create", TV_NONE, EXT_MAILBOX },
	[TAG_COPY] = { "copy", TV_NONE, EXT_COPY },
	[TAG_FLAGS] = { "flags", TV_STRLIST, EXT_IMAP4FLAGS },
	[TAG_DAYS] = { "days", TV_NUM, EXT_NONE },
	[TAG_SECONDS] = { "seconds", TV_NUM, EXT_NONE },
	[TAG_SUBJECT] = { "subject", TV_STR, EXT_NONE },
	[TAG_FROM] = { "from", TV_STR, EXT_NONE },
	[TAG_ADDRESSES] = { "addresses", TV_STRLIST, EXT_NONE },
	[TAG_MIME] = { "mime", TV_NONE, EXT_NONE },
	[TAG_HANDLE] = { "handle", TV_STR, EXT_NONE },
	[TAG_RAW] = { "raw", TV_NONE, EXT_NONE },
	[TAG_CONTENT] = { "content", TV_STRLIST, EXT_NONE },
	[TAG_TEXT] = { "text", TV_NONE, EXT_NONE },
	[TAG_ZONE] = { "zone", TV_STR, EXT_NONE },
	[TAG_ORIGINALZONE] = { "originalzone", TV_NONE, EXT_NONE },
	[TAG_INDEX] = { "index", TV_NUM, EXT_NONE },
	[TAG_LAST] = { "last", TV_NONE, EXT_NONE },
	[TAG_LOWER] = { "lower", TV_NONE, EXT_NONE },
	[TAG_UPPER] = { "upper", TV_NONE, EXT_NONE },
	[TAG_LOWERFIRST] = { "lowerfirst", TV_NONE, EXT_NONE },
	[TAG_UPPERFIRST] = { "upperfirst", TV_NONE, EXT_NONE },
	[TAG_QUOTEWILDCARD] = { "quotewildcard", TV_NONE, EXT_NONE },
	[TAG_LENGTH] = { "length", TV_NONE, EXT_NONE },
	[TAG_PERCENT] = { "percent", TV_NONE, EXT_SPAMTESTPLUS },
	[TAG_GLOBAL] = { "global", TV_NONE, EXT_NONE },
	[TAG_PERSONAL] = { "personal", TV_NONE, EXT_NONE },
	[TAG_ONCE] = { "once", TV_NONE, EXT_NONE },
	[TAG_OPTIONAL] = { "optional", TV_NONE, EXT_NONE },
	[TAG_HEADER] = { "header", TV_STR, EXT_NONE },
	[TAG_UNIQUEID] = { "uniqueid", TV_STR, EXT_NONE },
	[TAG_QUOTEREGEX] = { "quoteregex", TV_NONE, EXT_REGEX },
};

int sieve_tag_lookup(const char *name)
{
	for (unsigned int i = 0; i < TAG_COUNT; i++) {
		if (strcmp(sieve_tags[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

#define T(x) (1ULL << TAG_##x)
#define MATCH_TAGS (T(IS) | T(CONTAINS) | T(MATCHES) | T(REGEX) | \
		    T(VALUE) | T(COUNT_) | T(COMPARATOR))
#define ADDR_TAGS (T(ALL) | T(LOCALPART) | T(DOMAIN) | T(USER) | T(DETAIL))

const struct sieve_cmd_def sieve_cmds[OP_COUNT] = {
	[OP_REQUIRE] = { "require", false, EXT_NONE, 0, "L", 0, false },
	[OP_IF] = { "if", false, EXT_NONE, 0, "", 1, true },
	[OP_ELSIF] = { "elsif", false, EXT_NONE, 0, "", 1, true },
	[OP_ELSE] = { "else", false, EXT_NONE, 0, "", 0, true },
	[OP_STOP] = { "stop", false, EXT_NONE, 0, "", 0, false },
	[OP_KEEP] = { "keep", false, EXT_NONE, T(FLAGS), "", 0, false },
	[OP_DISCARD] = { "discard", false, EXT_NONE, 0, "", 0, false },
	[OP_FILEINTO] = { "fileinto", false, EXT_FILEINTO,
			  T(CREATE) | T(COPY) | T(FLAGS), "S", 0, false },
	[OP_REDIRECT] = { "redirect", false, EXT_NONE, T(COPY), "S", 0,
			  false },
	[OP_REJECT] = { "reject", false, EXT_REJECT, 0, "S", 0, false },
	[OP_EREJECT] = { "ereject", false, EXT_EREJECT, 0, "S", 0, false },
	[OP_SETFLAG] = { "setflag", false, EXT_IMAP4FLAGS, 0, "sL", 0,
			 false },
	[OP_ADDFLAG] = { "addflag", false, EXT_IMAP4FLAGS, 0, "sL", 0,
			 false },
	[OP_REMOVEFLAG] = { "removeflag", false, EXT_IMAP4FLAGS, 0, "sL", 0,
			    false },
	[OP_SET] = { "set", false, EXT_VARIABLES,
		     T(LOWER) | T(UPPER) | T(LOWERFIRST) | T(UPPERFIRST) |
		     T(QUOTEWILDCARD) | T(QUOTEREGEX) | T(LENGTH),
		     "SS", 0, false },
	[OP_VACATION] = { "vacation", false, EXT_VACATION,
			  T(DAYS) | T(SECONDS) | T(SUBJECT) | T(FROM) |
			  T(ADDRESSES) | T(MIME) | T(HANDLE), "S", 0,
			  false },
	[OP_INCLUDE] = { "include", false, EXT_INCLUDE,
			 T(GLOBAL) | T(PERSONAL) | T(ONCE) | T(OPTIONAL),
			 "S", 0, false },
	[OP_RETURN] = { "return", false, EXT_INCLUDE, 0, "", 0, false },
	[OP_GLOBAL] = { "global", false, EXT_INCLUDE, 0, "L", 0, false },
	[OP_ADDHEADER] = { "addheader", false, EXT_EDITHEADER, T(LAST), "SS",
			   0, false },
	[OP_DELETEHEADER] = { "deleteheader", false, EXT_EDITHEADER,
			      T(INDEX) | T(LAST) | MATCH_TAGS, "Sl", 0,
			      false },
	[OP_ADDRESS] = { "address", true, EXT_NONE,
			 MATCH_TAGS | ADDR_TAGS | T(INDEX) | T(LAST), "LL",
			 0, false },
	[OP_ALLOF] = { "allof", true, EXT_NONE, 0, "", 2, false },
	[OP_ANYOF] = { "anyof", true, EXT_NONE, 0, "", 2, false },
	[OP_ENVELOPE] = { "envelope", true, EXT_ENVELOPE,
			  MATCH_TAGS | ADDR_TAGS, "LL", 0, false },
	[OP_EXISTS] = { "exists", true, EXT_NONE, 0, "L", 0, false },
	[OP_FALSE] = { "false", true, EXT_NONE, 0, "", 0, false },
	[OP_TRUE] = { "true", true, EXT_NONE, 0, "", 0, false },
	[OP_HEADER] = { "header", true, EXT_NONE,
			MATCH_TAGS | T(INDEX) | T(LAST), "LL", 0, false },
	[OP_NOT] = { "not", true, EXT_NONE, 0, "", 1, false },
	[OP_SIZE] = { "size", true, EXT_NONE, T(OVER) | T(UNDER), "N", 0,
		      false },
	[OP_BODY] = { "body", true, EXT_BODY,
		      MATCH_TAGS | T(RAW) | T(CONTENT) | T(TEXT), "L", 0,
		      false },
	[OP_HASFLAG] = { "hasflag", true, EXT_IMAP4FLAGS, MATCH_TAGS, "lL",
			 0, false },
	[OP_STRING] = { "string", true, EXT_VARIABLES, MATCH_TAGS, "LL", 0,
			false },
	[OP_MAILBOXEXISTS] = { "mailboxexists", true, EXT_MAILBOX, 0, "L", 0,
			       false },
	[OP_DATE] = { "date", true, EXT_DATE,
		      MATCH_TAGS | T(ZONE) | T(ORIGINALZONE) | T(INDEX) |
		      T(LAST), "SSL", 0, false },
	[OP_CURRENTDATE] = { "currentdate", true, EXT_DATE,
			     MATCH_TAGS | T(ZONE), "SL", 0, false },
	[OP_DUPLICATE] = { "duplicate", true, EXT_DUPLICATE,
			   T(HANDLE) | T(HEADER) | T(UNIQUEID) | T(SECONDS) |
			   T(LAST), "", 0, false },
	[OP_SPAMTEST] = { "spamtest", true, EXT_SPAMTEST,
			  MATCH_TAGS | T(PERCENT), "S", 0, false },
	[OP_VIRUSTEST] = { "virustest", true, EXT_VIRUSTEST, MATCH_TAGS, "S",
			   0, false },
};

int sieve_cmd_lookup(const char *name, bool test)
{
	for (unsigned int i = 0; i < OP_COUNT; i++) {
		if (sieve_cmds[i].is_test == test &&
		    strcmp(sieve_cmds[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

const struct sieve_arg *sieve_node_tag(const struct sieve_node *node,
				       enum sieve_tag tag)
{
	for (uint32_t i = 0; i < node->n_args; i++) {
		const struct sieve_arg *a = &node->args[i];

		if (a->kind != ARG_TAG || a->tag != tag)
			continue;
		if (sieve_tags[tag].value == TV_NONE)
			return a;
		return i + 1 < node->n_args ? &node->args[i + 1] : NULL;
	}
	return NULL;
}
