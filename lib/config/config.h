/* Dovecot-syntax configuration: parser, schema validation and typed lookup.
 * Parses a file (with !include, $references, <file values, continuations)
 * into a tree of sections, validates every key against a schema, and never
 * lets a service start on a file it did not fully understand. */
#ifndef STRATUS_CONFIG_H
#define STRATUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
	CONFIG_TYPE_STR,
	CONFIG_TYPE_BOOL,	/* yes/no */
	CONFIG_TYPE_UINT,
	CONFIG_TYPE_SIZE,	/* 100M, 1G, 4k: bytes */
	CONFIG_TYPE_TIME,	/* 2s, 5min, 100ms: milliseconds */
	CONFIG_TYPE_OCTAL,	/* unix_listener mode = 0660 */
};

/* Whether Stratus honours a setting yet. A NOT_YET setting that appears in
 * a file is accepted, and the owning service warns about it at start-up. */
enum config_support {
	CONFIG_IMPLEMENTED,
	CONFIG_NOT_YET,
};

struct config_setting_def {
	const char *name;	/* "mail_home"; a trailing '*' matches any
				   suffix ("quota_warning*") */
	enum config_type type;
	const char *default_value;	/* NULL = no default (unset) */
	enum config_support support;
	const char *owner;	/* service that honours it: "auth", "imap",
				   ..., or "all" */
};

struct config_entry {
	char *key;
	char *value;		/* after $reference and <file resolution */
	char *file;
	unsigned int line;
};

struct config_section {
	char *type;		/* "service", "protocol", "plugin", ... ; the
				   root section has type "" */
	char *name;		/* "imap-login", "imap", "" when unnamed */
	char *file;
	unsigned int line;
	struct config_section *parent;
	struct config_entry *entries;	/* in file order */
	size_t n_entries;
	struct config_section **children;	/* in file order */
	size_t n_children;
};

struct config;

/* Parses and validates a main (dovecot.conf-like) file. On error returns -1
 * and sets *error_r (malloc'd, caller frees) to "FILE:LINE: message".
 * Warnings (not-yet-implemented settings) do not fail the load. */
int config_load(const char *path, struct config **cfg_r, char **error_r);
/* Same, from memory; `name` stands for the file name in messages and
 * relative !include paths resolve against the current directory. */
int config_load_string(const char *text, size_t len, const char *name,
		       struct config **cfg_r, char **error_r);
/* Parses a flat key = value file (dovecot-ldap.conf.ext) against the given
 * schema (array terminated by a {NULL} entry). No sections allowed. */
int config_load_flat(const char *path, const struct config_setting_def *schema,
		     struct config **cfg_r, char **error_r);
void config_free(struct config **cfg);

const struct config_section *config_root(const struct config *cfg);

/* Effective value of a global setting, seen from `protocol` ("imap",
 * "lmtp", ...; NULL for none): the last assignment in a matching
 * `protocol NAME { }` block wins over the global one, which wins over the
 * schema default. NULL when unset and without default. */
const char *config_get(const struct config *cfg, const char *protocol,
		       const char *key);
bool config_get_bool(const struct config *cfg, const char *protocol,
		     const char *key);
uint64_t config_get_uint(const struct config *cfg, const char *protocol,
			 const char *key);
/* Both already validated at load time, so they cannot fail here. */
uint64_t config_get_size(const struct config *cfg, const char *protocol,
			 const char *key);
uint64_t config_get_msecs(const struct config *cfg, const char *protocol,
			  const char *key);
/* `plugin { key = value }`, with protocol blocks' plugin sections too. */
const char *config_plugin_get(const struct config *cfg, const char *protocol,
			      const char *key);

/* Section helpers. `name` NULL matches any name. */
const struct config_section *
config_section_find(const struct config_section *parent, const char *type,
		    const char *name);
/* The value set in `sec` (the last assignment), else the default from the
 * schema of sec's type (service, inet_listener, namespace, mailbox, ...);
 * for the root section only what is set (use config_get for defaults).
 * The pointer lives as long as the config. */
const char *config_section_get(const struct config_section *sec,
			       const char *key);

/* Value parsers shared with other modules (fs strings, URL params).
 * Return 0 on success, -1 on a bad value or unit. */
int config_parse_size(const char *value, uint64_t *bytes_r);
int config_parse_msecs(const char *value, uint64_t *msecs_r);
int config_parse_bool(const char *value, bool *bool_r);

/* dict { NAME = URI }: the URI of NAME (NULL when there is none), and a
 * setting's value with a leading proxy:[SOCKET]:NAME replaced by that URI
 * (malloc'd; the value itself when it is no such reference or NAME is
 * not defined). A dict no setting refers to is reported by
 * config_foreach_not_yet() as "dict/NAME". */
const char *config_dict_uri(const struct config *cfg, const char *name);
char *config_dict_resolve(const struct config *cfg, const char *value);

/* Whether word is one of the space-, tab- or comma-separated words of
 * list (NULL = empty). */
bool config_list_has(const char *list, const char *word);

/* Whether `mail_plugins` as seen by protocol (NULL = the global value;
 * protocol blocks usually extend it with $mail_plugins) names plugin. */
bool config_mail_plugin_enabled(const struct config *cfg,
				const char *protocol, const char *plugin);

/* Settings set in the file whose schema entry is CONFIG_NOT_YET, once
 * each, for the given owner (NULL = all owners; a setting owned by "all"
 * is reported to every owner). Calls cb per setting. Keys of settings in
 * sections are reported with their section path: "plugin/obox_fs",
 * "namespace/mailbox/auto", "passdb/driver"; global settings (also inside
 * protocol blocks) by name; accepted but not implemented mail_plugins as
 * "mail_plugins: NAME". */
void config_foreach_not_yet(const struct config *cfg, const char *owner,
			    void (*cb)(const char *key, const char *file,
				       unsigned int line, void *ctx),
			    void *ctx);

/* Replaces the value of every secret setting `service` ("imap") does
 * not use with CONFIG_SECRET_WITHHELD, the old text wiped before it is
 * freed: plugin/obox_fs and obox_index_fs (S3 keys) outside svc-blob,
 * passdb/userdb args outside svc-auth, ssl_key and ssl_key_password
 * outside the four TLS services, doveadm_password everywhere, and dict
 * URIs with a password= (in dict { }, in *_dict settings, or any value
 * that starts with a dict driver or holds connect=) outside the services
 * that use that dict (svc-quota for quota_clone_dict and the dict it
 * names as proxy::NAME; none for the dict settings not implemented).
 * stratusctl passes "ctl", which keeps none. An empty
 * value stays empty, so "is it set" reads the same. The parser wipes
 * its own transient copies of the file, and config_free() every value. */
void config_scrub_secrets(struct config *cfg, const char *service);
#define CONFIG_SECRET_WITHHELD "(withheld)"

/* `stratusctl config`: print the effective configuration in Dovecot
 * syntax; all = false prints only settings that differ from defaults. */
void config_dump(const struct config *cfg, bool all, FILE *out);

/* The main schema (every Dovecot setting Stratus knows). */
extern const struct config_setting_def config_main_schema[];

/* The schema of dovecot-ldap.conf.ext (passdb/userdb `args` file), for
 * config_load_flat(). */
extern const struct config_setting_def config_ldap_schema[];

/* Named bounds on what the parser reads; going over one is a load error
 * with file and line, never a truncation. */
#define CONFIG_MAX_LINE_LENGTH (64 * 1024)	/* a logical line, after
						   `\` continuations */
#define CONFIG_MAX_FILE_SIZE (4 * 1024 * 1024)	/* one file */
#define CONFIG_MAX_TOTAL_SIZE (16 * 1024 * 1024)	/* all files of a load,
							   includes and <file */
#define CONFIG_MAX_VALUE_FILE_SIZE (1024 * 1024)	/* a `<file` value */
#define CONFIG_MAX_NESTING 16		/* section depth */
#define CONFIG_MAX_INCLUDE_DEPTH 16	/* !include inside !include */
#define CONFIG_MAX_ENTRIES 100000	/* logical lines in one load */

/* Octal (unix_listener mode) and plain unsigned parsers, as used for
 * CONFIG_TYPE_OCTAL and CONFIG_TYPE_UINT. 0 or -1. */
int config_parse_octal(const char *value, uint64_t *r);
int config_parse_uint(const char *value, uint64_t *r);

/* Finds the definition for `key` in a {NULL}-terminated schema: an exact
 * name first, then trailing-'*' patterns. NULL if unknown. */
const struct config_setting_def *
config_setting_find(const struct config_setting_def *schema, const char *key);

/* mail_plugins names Stratus accepts. Every name listed here is valid in
 * `mail_plugins`; those whose support is CONFIG_NOT_YET are reported by
 * config_foreach_not_yet() under the key "mail_plugins: NAME". */
struct config_mail_plugin {
	const char *name;
	enum config_support support;
	const char *owner;
};
extern const struct config_mail_plugin config_mail_plugins[];
const struct config_mail_plugin *config_mail_plugin_find(const char *name);

#endif
