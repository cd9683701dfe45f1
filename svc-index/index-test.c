/* svc-index unit-test helpers (see index-test.h). */
#include "index-test.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void index_test_start(struct index_test *t)
{
	char *error = NULL;
	if (config_load_string(t->conf_text, strlen(t->conf_text), "test.conf",
			       &t->cfg, &error) < 0) {
		fprintf(stderr, "config: %s\n", error);
		abort();
	}
	t->loop = loop_new();
	t->svc = index_service_new(t->loop, t->cfg, &error);
	if (t->svc == NULL) {
		fprintf(stderr, "service: %s\n", error);
		abort();
	}
}

struct index_test *index_test_new(const char *extra)
{
	struct index_test *t = xcalloc(1, sizeof(*t));
	char tmpl[] = "/tmp/stratus-index-test-XXXXXX";
	t->dir = xstrdup(mkdtemp(tmpl));
	t->conf_text = xasprintf(
		"mail_home = %s/home/%%u\n"
		"mail_fsync = never\n"
		"namespace inbox {\n"
		"  inbox = yes\n"
		"  separator = /\n"
		"  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n"
		"  mailbox Trash {\n    special_use = \\Trash\n    auto = create\n  }\n"
		"}\n%s\n", t->dir, extra);
	index_test_start(t);
	return t;
}

static void index_test_stop(struct index_test *t)
{
	index_service_free(&t->svc);
	loop_free(&t->loop);
	config_free(&t->cfg);
}

void index_test_restart(struct index_test *t)
{
	index_test_stop(t);
	index_test_start(t);
}

void index_test_free(struct index_test *t)
{
	index_test_stop(t);
	char *cmd = xasprintf("rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", t->dir);
	free(cmd);
	free(t->dir);
	free(t->conf_text);
	free(t);
}

static void index_test_got_user(struct index_user *user, int status,
				const char *error, void *ctx)
{
	if (user == NULL)
		fprintf(stderr, "user load: %d %s\n", status, error);
	*(struct index_user **)ctx = user;
}

struct index_user *index_test_user(struct index_test *t, const char *name)
{
	struct index_user *user = NULL;
	index_user_get(t->svc, name, index_test_got_user, &user);
	for (int i = 0; user == NULL && i < 1000; i++)
		loop_run_once(t->loop, 10);
	if (user == NULL)
		abort();
	return user;
}

uint32_t index_test_append(struct index_user *u, const char *mailbox,
			   const char *flags)
{
	struct index_mailbox *box;
	const char *error;
	if (index_mailbox_lookup(u, mailbox, &box, &error) != 0)
		abort();
	Stratus__IndexMessage m = STRATUS__INDEX_MESSAGE__INIT;
	Stratus__IndexMessage *mp = &m;
	size_t nf = 0;
	char *copy = xstrdup(flags);
	char *fl[16];
	for (char *s = NULL, *w = strtok_r(copy, " ", &s); w != NULL && nf < 16;
	     w = strtok_r(NULL, " ", &s))
		fl[nf++] = w;
	m.flags = fl;
	m.n_flags = nf;
	m.object_id = (char *)"obj";
	m.physical_size = 100;
	Stratus__IndexCachedField cf = STRATUS__INDEX_CACHED_FIELD__INIT;
	Stratus__IndexCachedField *cfp = &cf;
	cf.name = (char *)"hdr.subject";
	cf.value.data = (uint8_t *)"Hello World";
	cf.value.len = 11;
	m.cached = &cfp;
	m.n_cached = 1;
	uint32_t uid = 0;
	uint64_t modseq;
	if (index_mailbox_append(u, box, &mp, 1, &uid, &modseq, &error) != 0) {
		fprintf(stderr, "append: %s\n", error);
		abort();
	}
	free(copy);
	return uid;
}
