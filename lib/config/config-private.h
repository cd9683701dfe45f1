/* Internals shared by the config-*.c files: section schemas, the loaded
 * tree's owner struct, and value checks. Not for use outside lib/config. */
#ifndef STRATUS_CONFIG_PRIVATE_H
#define STRATUS_CONFIG_PRIVATE_H

#include "config.h"

enum config_name_rule {
	CONFIG_NAME_NONE,	/* plugin { } */
	CONFIG_NAME_OPTIONAL,	/* passdb { } or passdb name { } */
	CONFIG_NAME_REQUIRED,	/* service imap { } */
};

struct config_section_def {
	const char *type;
	enum config_name_rule name_rule;
	/* A second block with the same type and name adds to the first one
	   (namespace inbox twice, protocol imap twice) instead of making a
	   new section. Unnamed sections merge only if they take no name. */
	bool merge;
	const struct config_setting_def *settings;
	const char *const *children;	/* NULL-terminated allowed types */
};

struct config {
	struct config_section *root;
	const struct config_setting_def *schema;	/* root settings */
	bool flat;
};

/* The root of a main config file. */
extern const struct config_section_def config_root_def;
/* Section type `type` as a child of `parent`; NULL when not allowed. */
const struct config_section_def *
config_section_def_child(const struct config_section_def *parent,
			 const char *type);
/* Any section definition by type (types are unique); NULL if none. */
const struct config_section_def *config_section_def_find(const char *type);
/* Schema that applies to keys of a section in a loaded config. */
const struct config_setting_def *
config_section_schema(const struct config *cfg,
		      const struct config_section *sec);

bool config_protocol_name_valid(const char *name);
bool config_protocols_value_valid(const char *name);

/* Checks `value` against def's type and, for enum-like strings (ssl,
 * mail_fsync, namespace type ...), the allowed words. 0, or -1 with
 * *error_r set (malloc'd). */
int config_value_check(const struct config_setting_def *schema,
		       const struct config_setting_def *def,
		       const char *value, char **error_r);

/* Allowed words of an enum-like string setting; NULL if free-form. */
const char *const *config_enum_values(const struct config_setting_def *schema,
				      const char *key);

/* The dict name of the first proxy:[SOCKET]:NAME in value (*len_r
 * bytes, not terminated), or NULL. */
const char *config_dict_proxy_name(const char *value, size_t *len_r);
/* Whether a setting outside dict { } refers to dict NAME (proxy::NAME). */
bool config_dict_is_used(const struct config *cfg, const char *name);

void config_section_free(struct config_section *sec);
/* free() of a string that may hold a secret, wiped first. */
void config_secure_free(char *s);
const struct config_entry *
config_section_entry(const struct config_section *sec, const char *key);

#endif
