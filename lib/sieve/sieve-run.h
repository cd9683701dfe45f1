/* The interpreter's state during one run, shared by sieve-run.c (control
 * flow and tests), sieve-actions.c (the action list) and the extension
 * files. One run = one message against one script (plus its includes). */
#ifndef STRATUS_SIEVE_RUN_H
#define STRATUS_SIEVE_RUN_H

#include "sieve-private.h"

#define SIEVE_MAX_VARIABLES 255
#define SIEVE_MAX_VARIABLE_SIZE 4096
#define SIEVE_MATCH_VARS 10

struct sieve_var {
	char *name;		/* lower case */
	struct buf value;
};

struct sieve_header_edit {
	char *name;		/* header whose values were materialised */
	char **values;
	size_t n, cap;
};

struct sieve_mark {
	char *key;
	time_t expires;
};

struct sieve_result_private {
	struct sieve_arena *arena;
	struct sieve_mark *marks;
	size_t n_marks;
};

struct sieve_run {
	const struct sieve_message_ops *ops;
	void *msg_ctx;
	const struct sieve_env *env;
	const struct sieve_script *script;	/* the one running now */
	struct sieve_arena *arena;	/* the result's arena */
	time_t now;

	uint64_t steps, max_steps;
	uint64_t deadline_ms;
	bool failed, stopped, returned;
	struct buf error;
	uint32_t line;		/* of the command running */

	/* variables (RFC 5229): local to the script running now; the
	 * names it declared `global` (RFC 6609) live in globals, shared
	 * by every script of the run */
	struct sieve_var *vars;
	size_t n_vars;
	struct sieve_var *globals;
	size_t n_globals;
	char **global_names;
	size_t n_global_names;
	char *match_vars[SIEVE_MATCH_VARS];
	unsigned int n_match_vars;
	/* captures of the last successful glob/regex match, pending */
	char *cap[SIEVE_MATCH_VARS];
	unsigned int n_cap;

	/* imap4flags internal variable: the current flags */
	char **flags;
	size_t n_flags;

	/* actions */
	struct sieve_action *actions;
	size_t n_actions, cap_actions;
	unsigned int n_redirects, n_counted;
	bool implicit_keep;
	bool explicit_keep;

	/* editheader overlay */
	struct sieve_header_edit *edits;
	size_t n_edits;

	/* include */
	unsigned int include_depth;
	const struct sieve_script *include_stack[16];
	const struct sieve_script **included_once;
	size_t n_included_once;
	const struct sieve_script **included;	/* distinct, for max_includes */
	size_t n_included;

	/* tracking marks to commit after delivery */
	struct sieve_mark *marks;
	size_t n_marks, cap_marks;
};

/* Fails the run (first error wins): the result becomes a single keep. */
void sieve_run_fail(struct sieve_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Charges n steps; false (and the run failed) over budget or time. */
bool sieve_run_charge(struct sieve_run *run, uint64_t n);

/* String with ${var} expanded when the script uses variables (arena). */
const char *sieve_run_expand(struct sieve_run *run, const char *s);
/* A list argument expanded: returns count, items in *items_r (arena). */
size_t sieve_run_expand_list(struct sieve_run *run,
			     const struct sieve_arg *arg, char ***items_r);
bool sieve_run_has_ext(const struct sieve_run *run, unsigned int ext);

/* variables */
void sieve_var_set(struct sieve_run *run, const char *name,
		   const char *value);
const char *sieve_var_get(struct sieve_run *run, const char *name);
void sieve_vars_free(struct sieve_run *run);
/* `global`: the names become the run's global variables in this script. */
void sieve_cmd_global(struct sieve_run *run, const struct sieve_node *node);
/* include: the included script starts with no local variables and no
 * global declarations; the caller's come back when it returns. */
struct sieve_var_scope {
	struct sieve_var *vars;
	size_t n_vars;
	char **global_names;
	size_t n_global_names;
};
void sieve_vars_enter(struct sieve_run *run, struct sieve_var_scope *saved);
void sieve_vars_leave(struct sieve_run *run,
		      const struct sieve_var_scope *saved);
void sieve_cmd_set(struct sieve_run *run, const struct sieve_node *node);
void sieve_run_commit_captures(struct sieve_run *run);

/* Values of the headers named by `names`, narrowed by :index/:last. */
size_t sieve_run_header_values(struct sieve_run *run,
			       const struct sieve_node *node,
			       const struct sieve_arg *names,
			       const char ***values_r);
/* header values as the script sees them (after editheader) */
void sieve_run_header(struct sieve_run *run, const char *name,
		      const char *const **values_r, size_t *n_r);
void sieve_cmd_addheader(struct sieve_run *run, const struct sieve_node *n);
void sieve_cmd_deleteheader(struct sieve_run *run,
			    const struct sieve_node *n);
void sieve_edits_free(struct sieve_run *run);

/* actions (sieve-actions.c) */
void sieve_result_finish(struct sieve_run *run, struct sieve_result *result);
struct sieve_action *sieve_action_add(struct sieve_run *run,
				      enum sieve_action_type type);
void sieve_run_mark(struct sieve_run *run, const char *key, time_t expires);
void sieve_flags_apply(struct sieve_run *run, const struct sieve_node *node);
bool sieve_flags_test(struct sieve_run *run, const struct sieve_node *node,
		      char **keys, size_t n_keys);
void sieve_flags_current(struct sieve_run *run, const struct sieve_node *n,
			 const char *const **flags_r, size_t *n_r);
void sieve_cmd_vacation(struct sieve_run *run, const struct sieve_node *n);
bool sieve_test_duplicate(struct sieve_run *run, const struct sieve_node *n);
bool sieve_test_spamtest(struct sieve_run *run, const struct sieve_node *n);
bool sieve_test_date(struct sieve_run *run, const struct sieve_node *node);

#endif
