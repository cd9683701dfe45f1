/* THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES over
 * the matches' gathered fields (imap-sort-collect.c). Dates are the sent
 * dates (INTERNALDATE when missing), ties go by sequence number.
 * REFS (draft-ietf-morg-inthread, as Dovecot has it): REFERENCES without
 * the base-subject grouping of step 5, and the threads ordered by their
 * newest message instead of their first, so a thread with a new reply
 * comes last. */
#include "imap-search.h"
#include "imap-sort.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct node {
	struct imap_sort_msg *m;	/* NULL: a dummy */
	const char *id;
	struct node *parent, *child, *next;
};

struct thread_ctx {
	bool references;
	bool refs;		/* THREAD=REFS */
	struct node *nodes;		/* the arena */
	size_t n_nodes, cap;
};

static void thread_ctx_free(void *p)
{
	struct thread_ctx *t = p;
	free(t->nodes);
	free(t);
}

static int cmp_date(const struct imap_sort_msg *a,
		    const struct imap_sort_msg *b)
{
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void emit_list(struct buf *out, const struct node *n, bool uid);

/* A node and its only-child chain "a b c", then "(d)(e)" for several. */
static void emit_members(struct buf *out, const struct node *n, bool uid)
{
	bool first = true;
	while (n != NULL) {
		if (n->m != NULL) {
			buf_printf(out, first ? "%u" : " %u",
				   uid ? n->m->uid : n->m->seq);
			first = false;
		}
		if (n->child == NULL)
			return;
		if (n->child->next == NULL) {
			n = n->child;
			continue;
		}
		if (!first)
			buf_append_c(out, ' ');
		for (const struct node *c = n->child; c != NULL; c = c->next)
			emit_list(out, c, uid);
		return;
	}
}

static void emit_list(struct buf *out, const struct node *n, bool uid)
{
	buf_append_c(out, '(');
	emit_members(out, n, uid);
	buf_append_c(out, ')');
}

/* The first message of a subtree in date order (children sorted). */
static const struct imap_sort_msg *node_msg(const struct node *n)
{
	while (n != NULL && n->m == NULL)
		n = n->child;
	return n != NULL ? n->m : NULL;
}

static int node_cmp(const void *pa, const void *pb)
{
	const struct node *a = *(struct node *const *)pa;
	const struct node *b = *(struct node *const *)pb;
	const struct imap_sort_msg *x = node_msg(a), *y = node_msg(b);
	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	return cmp_date(x, y);
}

/* Sorts a sibling list (children first, so a dummy dates by its first
 * child), returning the new head. */
/* Sorts one sibling list by cmp (a qsort comparator of struct node **),
 * returning the new head. */
static struct node *sort_node_list(struct node *head,
				   int (*cmp)(const void *, const void *))
{
	size_t n = 0;
	for (struct node *c = head; c != NULL; c = c->next)
		n++;
	if (n < 2)
		return head;
	struct node **v = xcalloc(n, sizeof(*v));
	n = 0;
	for (struct node *c = head; c != NULL; c = c->next)
		v[n++] = c;
	qsort(v, n, sizeof(*v), cmp);
	for (size_t i = 0; i + 1 < n; i++)
		v[i]->next = v[i + 1];
	v[n - 1]->next = NULL;
	head = v[0];
	free(v);
	return head;
}

static struct node *sort_siblings(struct node *head)
{
	for (struct node *c = head; c != NULL; c = c->next)
		c->child = sort_siblings(c->child);
	return sort_node_list(head, node_cmp);
}

static struct node *node_new(struct thread_ctx *t)
{
	struct node *n = &t->nodes[t->n_nodes++];
	memset(n, 0, sizeof(*n));
	return n;
}

static void add_child(struct node *parent, struct node *c)
{
	c->parent = parent;
	c->next = NULL;
	struct node **p = &parent->child;
	while (*p != NULL)
		p = &(*p)->next;
	*p = c;
}

static void unlink_node(struct node *c)
{
	if (c->parent == NULL)
		return;
	struct node **p = &c->parent->child;
	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	c->parent = NULL;
	c->next = NULL;
}

/* Linking c under p makes a loop when c is p or one of p's ancestors. */
static bool would_loop(const struct node *p, const struct node *c)
{
	for (; p != NULL; p = p->parent) {
		if (p == c)
			return true;
	}
	return false;
}

/* ---- ORDEREDSUBJECT ---- */

static int subj_cmp(const void *pa, const void *pb)
{
	const struct imap_sort_msg *a = pa, *b = pb;
	int c = strcasecmp(a->subject, b->subject);
	return c != 0 ? c : cmp_date(a, b);
}

static struct node *ordered_subject(struct thread_ctx *t,
				    struct imap_sort_job *job)
{
	struct node root = { 0 };
	qsort(job->msgs, job->n_msgs, sizeof(job->msgs[0]), subj_cmp);
	struct node *parent = NULL;
	for (size_t i = 0; i < job->n_msgs; i++) {
		struct node *n = node_new(t);
		n->m = &job->msgs[i];
		if (parent != NULL &&
		    strcasecmp(parent->m->subject, n->m->subject) == 0) {
			add_child(parent, n);
			continue;
		}
		add_child(&root, n);
		parent = n;
	}
	for (struct node *c = root.child; c != NULL; c = c->next)
		c->parent = NULL;
	return root.child;
}

/* ---- REFERENCES ---- */

/* Message-IDs to nodes: open addressing, the table twice the ids. */
struct id_table {
	struct node **v;
	size_t cap;
};

static size_t id_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct node *id_get(struct thread_ctx *t, struct id_table *tab,
			   const char *id, bool *created_r)
{
	size_t i = id_hash(id) & (tab->cap - 1);
	while (tab->v[i] != NULL) {
		if (strcmp(tab->v[i]->id, id) == 0) {
			*created_r = false;
			return tab->v[i];
		}
		i = (i + 1) & (tab->cap - 1);
	}
	struct node *n = node_new(t);
	n->id = id;
	tab->v[i] = n;
	*created_r = true;
	return n;
}

static void link_message(struct thread_ctx *t, struct id_table *tab,
			 struct imap_sort_msg *m)
{
	bool created;
	struct node *self = NULL;
	if (m->message_id[0] != '\0') {
		self = id_get(t, tab, m->message_id, &created);
		if (self->m != NULL)	/* a duplicate Message-ID */
			self = NULL;
	}
	if (self == NULL)
		self = node_new(t);
	self->m = m;
	/* 1B: the References chain, links kept where they exist. */
	struct node *prev = NULL;
	for (size_t i = 0; i < m->n_refs; i++) {
		struct node *r = id_get(t, tab, m->refs[i], &created);
		if (prev != NULL && r->parent == NULL && !would_loop(prev, r))
			add_child(prev, r);
		prev = r;
	}
	/* 1C: the last reference is the parent, whatever it was. */
	if (prev != NULL && would_loop(prev, self))
		return;
	unlink_node(self);
	if (prev != NULL)
		add_child(prev, self);
}

/* Step 4: dummies without children go; a dummy's children move up,
 * except a root dummy with several children. */
static struct node *prune(struct node *head, bool root)
{
	struct node out = { 0 }, **tail = &out.next;
	for (struct node *c = head, *next; c != NULL; c = next) {
		next = c->next;
		c->child = prune(c->child, false);
		for (struct node *k = c->child; k != NULL; k = k->next)
			k->parent = c;
		if (c->m == NULL && c->child == NULL)
			continue;
		if (c->m == NULL && (!root || c->child->next == NULL)) {
			struct node *k = c->child;
			for (struct node *x = k; x != NULL; x = x->next)
				x->parent = c->parent;
			*tail = k;
			while (*tail != NULL)
				tail = &(*tail)->next;
			continue;
		}
		c->next = NULL;
		*tail = c;
		tail = &c->next;
	}
	return out.next;
}

static const struct imap_sort_msg *subject_msg(const struct node *n)
{
	return n->m != NULL ? n->m : (n->child != NULL ? n->child->m : NULL);
}

/* Step 5: roots with the same base subject are gathered. */
static struct node *group_subjects(struct thread_ctx *t, struct node *roots)
{
	size_t n = 0;
	for (struct node *c = roots; c != NULL; c = c->next)
		n++;
	struct node **v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (struct node *c = roots; c != NULL; c = c->next)
		v[n++] = c;
	/* 5A: per subject the root to join: a dummy, else a non-reply. */
	struct node **best = xcalloc(n + 1, sizeof(*best));
	for (size_t i = 0; i < n; i++) {
		const struct imap_sort_msg *m = subject_msg(v[i]);
		if (m == NULL || m->subject[0] == '\0')
			continue;
		size_t j = 0;
		while (j < i && !(best[j] != NULL &&
			strcasecmp(subject_msg(best[j])->subject,
				   m->subject) == 0))
			j++;
		if (j == i) {
			best[i] = v[i];
			continue;
		}
		struct node *b = best[j];
		if ((v[i]->m == NULL && b->m != NULL) ||
		    (v[i]->m != NULL && b->m != NULL &&
		     b->m->subject_reply && !v[i]->m->subject_reply))
			best[j] = v[i];
	}
	/* 5B: merge each root into its subject's root. */
	struct node out = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct node *c = v[i];
		const struct imap_sort_msg *m = subject_msg(c);
		struct node *b = NULL;
		for (size_t j = 0; m != NULL && m->subject[0] != '\0' &&
		     j < n && b == NULL; j++) {
			if (best[j] != NULL &&
			    strcasecmp(subject_msg(best[j])->subject,
				       m->subject) == 0)
				b = best[j];
		}
		c->next = NULL;
		if (b == NULL || b == c) {
			add_child(&out, c);
			continue;
		}
		if (b->m == NULL && c->m == NULL) {
			for (struct node *k = c->child, *nx; k != NULL; k = nx) {
				nx = k->next;
				add_child(b, k);
			}
		} else if (b->m == NULL ||
			   (c->m != NULL && c->m->subject_reply &&
			    !b->m->subject_reply)) {
			add_child(b, c);
		} else {
			/* Both become children of a new dummy in b's
			 * place. */
			struct node *d = node_new(t);
			*d = *b;
			d->m = b->m;
			d->child = b->child;
			for (struct node *k = d->child; k != NULL; k = k->next)
				k->parent = d;
			b->m = NULL;
			b->child = NULL;
			add_child(b, d);
			add_child(b, c);
		}
	}
	free(best);
	free(v);
	for (struct node *c = out.child; c != NULL; c = c->next)
		c->parent = NULL;
	return out.child;
}

static struct node *references(struct thread_ctx *t,
			       struct imap_sort_job *job)
{
	size_t ids = 0;
	for (size_t i = 0; i < job->n_msgs; i++)
		ids += 1 + job->msgs[i].n_refs;
	struct id_table tab = { .cap = 16 };
	while (tab.cap < ids * 2)
		tab.cap *= 2;
	tab.v = xcalloc(tab.cap, sizeof(*tab.v));
	for (size_t i = 0; i < job->n_msgs; i++)
		link_message(t, &tab, &job->msgs[i]);
	free(tab.v);
	/* 2: the root set. */
	struct node root = { 0 };
	for (size_t i = 0; i < t->n_nodes; i++) {
		if (t->nodes[i].parent == NULL)
			add_child(&root, &t->nodes[i]);
	}
	/* add_child set their parent: roots have none. */
	for (struct node *c = root.child; c != NULL; c = c->next)
		c->parent = NULL;
	struct node *roots = prune(root.child, true);
	roots = sort_siblings(roots);	/* 6 before 5 dates the dummies */
	return t->refs ? roots : group_subjects(t, roots);
}

/* The newest message of a thread (REFS orders threads by it). */
static const struct imap_sort_msg *newest_msg(const struct node *n)
{
	const struct imap_sort_msg *best = n->m;
	for (const struct node *c = n->child; c != NULL; c = c->next) {
		const struct imap_sort_msg *m = newest_msg(c);
		if (m != NULL && (best == NULL || cmp_date(m, best) > 0))
			best = m;
	}
	return best;
}

static int newest_cmp(const void *pa, const void *pb)
{
	const struct node *a = *(struct node *const *)pa;
	const struct node *b = *(struct node *const *)pb;
	const struct imap_sort_msg *x = newest_msg(a), *y = newest_msg(b);
	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	return cmp_date(x, y);
}

static struct node *sort_by_newest(struct node *head)
{
	return sort_node_list(head, newest_cmp);
}

static void thread_ready(struct imap_cmd *cmd, struct imap_sort_job *job)
{
	struct thread_ctx *t = job->owner;
	/* A node per message and per referenced id, and one dummy per
	 * root for step 5. */
	size_t cap = 1;
	for (size_t i = 0; i < job->n_msgs; i++)
		cap += 2 + 2 * job->msgs[i].n_refs;
	t->nodes = xcalloc(cap, sizeof(*t->nodes));
	t->cap = cap;
	struct node *roots = t->references ? references(t, job) :
		ordered_subject(t, job);
	roots = sort_siblings(roots);
	if (t->refs)
		roots = sort_by_newest(roots);
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* THREAD");
	if (roots != NULL)
		buf_append_c(&out, ' ');
	for (struct node *c = roots; c != NULL; c = c->next)
		emit_list(&out, c, job->uid_cmd);
	imap_client_send(cmd->client, "%s", out.data);
	buf_free(&out);
	cmd->sync_holds_expunges = !job->uid_cmd;
	imap_sync_reply(cmd, "OK", "Thread completed.");
}

bool imap_thread_start(struct imap_cmd *cmd, bool uid_cmd,
		       const struct imap_arg *args, size_t n_args)
{
	if (n_args < 3 || args[0].type != IMAP_ARG_ATOM ||
	    (strcasecmp(args[0].str, "ORDEREDSUBJECT") != 0 &&
	     strcasecmp(args[0].str, "REFERENCES") != 0 &&
	     strcasecmp(args[0].str, "REFS") != 0)) {
		imap_cmd_bad(cmd, "Invalid thread algorithm");
		return true;
	}
	if (!imap_sort_charset_ok(cmd, &args[1]))
		return true;
	struct thread_ctx *t = xcalloc(1, sizeof(*t));
	t->refs = strcasecmp(args[0].str, "REFS") == 0;
	t->references = t->refs ||
			strcasecmp(args[0].str, "REFERENCES") == 0;
	struct imap_sort_job *job = xcalloc(1, sizeof(*job));
	job->uid_cmd = uid_cmd;
	job->ready = thread_ready;
	job->owner = t;
	job->owner_free = thread_ctx_free;
	return imap_search_run(cmd, args + 2, n_args - 2, imap_sort_collect,
			       job, imap_sort_job_free);
}

bool cmd_thread(struct imap_cmd *cmd)
{
	return imap_thread_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
