/* stratusctl metrics: an OpenMetrics text exposition of every enabled
 * service, scraped from their status RPCs at the moment it is asked for.
 * Each status counter becomes stratus_<name>{service="..."}: counters
 * carry the _total suffix; the few that are levels (cache sizes, peaks,
 * sessions) are gauges. stratus_up says whether a service answered.
 * Each status histogram becomes an OpenMetrics histogram family
 * stratus_<service>_<name> (cumulative _bucket{le}, _count, _sum), its
 * series grouped under one TYPE line. */
#include "ctl.h"
#include "buf.h"
#include "rpc.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_METRICS_TIMEOUT_MS 5000

/* Status counters that are levels, not monotonic counts. */
static bool metric_is_gauge(const char *name)
{
	static const char *const suffixes[] = {
		"_entries", "_max", "users", "_sessions", "cache_bytes", NULL
	};
	size_t n = strlen(name);
	for (const char *const *s = suffixes; *s != NULL; s++) {
		size_t k = strlen(*s);
		if (n >= k && strcmp(name + n - k, *s) == 0)
			return true;
	}
	return false;
}

/* A metric name is [a-zA-Z_:][a-zA-Z0-9_:]*; anything else becomes '_'. */
static void metric_name(struct buf *out, const char *name)
{
	buf_append_str(out, "stratus_");
	size_t n = strlen(name);
	if (n > 6 && strcmp(name + n - 6, "_total") == 0)
		n -= 6;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_';
		buf_append_c(out, ok ? c : '_');
	}
	buf_append_c(out, '\0');
}

/* stratus_<service>_<name>: the services' counters differ in meaning
 * (imap "commands", blob "get_ok"), so each service has its own
 * families; the service label lets one query sum across them. */
static void metric_write(struct buf *text, const char *service,
			 const char *name, uint64_t value)
{
	struct buf full = BUF_INIT, m = BUF_INIT;
	buf_printf(&full, "%s_%s", service, name);
	metric_name(&m, full.data);
	bool gauge = metric_is_gauge(name);
	buf_printf(text, "# TYPE %s %s\n", m.data, gauge ? "gauge" : "counter");
	buf_printf(text, "%s%s{service=\"%s\"} %llu\n", m.data,
		   gauge ? "" : "_total", service, (unsigned long long)value);
	buf_free(&m);
	buf_free(&full);
}

static void histogram_series_write(struct buf *text, const char *family,
				   const char *service,
				   const Stratus__Histogram *h)
{
	uint64_t cum = 0;
	const char *sep = h->labels[0] != '\0' ? "," : "";
	for (size_t b = 0; b < h->n_counts; b++) {
		cum += h->counts[b];
		/* %g would write 1048576 as 1.04858e+06. */
		if (b < h->n_bounds)
			buf_printf(text, h->bounds[b] ==
				   (double)(uint64_t)h->bounds[b] ?
				   "%s_bucket{service=\"%s\",%s%sle=\"%.0f\"} %llu\n" :
				   "%s_bucket{service=\"%s\",%s%sle=\"%g\"} %llu\n",
				   family, service, h->labels, sep,
				   h->bounds[b], (unsigned long long)cum);
		else
			buf_printf(text, "%s_bucket{service=\"%s\",%s%sle=\"+Inf\"}"
				   " %llu\n", family, service, h->labels, sep,
				   (unsigned long long)cum);
	}
	buf_printf(text, "%s_count{service=\"%s\"%s%s} %llu\n", family,
		   service, sep, h->labels, (unsigned long long)h->count);
	buf_printf(text, "%s_sum{service=\"%s\"%s%s} %.9g\n", family,
		   service, sep, h->labels, h->sum);
}

/* One family per histogram name, its series together (OpenMetrics
 * wants a family's samples contiguous). */
static void histograms_write(struct buf *text, const char *service,
			     const Stratus__StatusReply *r)
{
	for (size_t i = 0; i < r->n_histograms; i++) {
		const char *name = r->histograms[i]->name;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(r->histograms[j]->name, name) == 0;
		if (seen)
			continue;
		struct buf full = BUF_INIT, family = BUF_INIT;
		buf_printf(&full, "%s_%s", service, name);
		metric_name(&family, full.data);
		size_t n = strlen(name);
		const char *unit = n > 8 && strcmp(name + n - 8, "_seconds") == 0 ?
			"seconds" : n > 6 && strcmp(name + n - 6, "_bytes") == 0 ?
			"bytes" : NULL;
		buf_printf(text, "# TYPE %s histogram\n", family.data);
		if (unit != NULL)
			buf_printf(text, "# UNIT %s %s\n", family.data, unit);
		for (size_t j = i; j < r->n_histograms; j++) {
			if (strcmp(r->histograms[j]->name, name) == 0)
				histogram_series_write(text, family.data,
						       service,
						       r->histograms[j]);
		}
		buf_free(&full);
		buf_free(&family);
	}
}

static void metrics_one(struct loop *loop, const struct config *cfg,
			const char *service, struct buf *text,
			struct buf *up)
{
	char *path = service_rpc_socket_path(cfg, service);
	struct rpc_client *c = rpc_client_new(loop, path,
		&stratus__control__descriptor, RPC_CONTROL_MAJOR,
		RPC_CONTROL_MINOR);
	Stratus__StatusRequest req = STRATUS__STATUS_REQUEST__INIT;
	struct rpc_reply reply;
	bool ok = rpc_client_call_sync(c, RPC_METHOD_STATUS, &req.base, NULL,
				       0, CTL_METRICS_TIMEOUT_MS, &reply) == 0;
	buf_printf(up, "stratus_up{service=\"%s\"} %d\n", service, ok);
	if (ok) {
		const Stratus__StatusReply *r = (const void *)reply.msg;
		buf_printf(text, "# TYPE stratus_%s_connections_open gauge\n"
			   "stratus_%s_connections_open{service=\"%s\"} %u\n",
			   service, service, service, r->connections);
		buf_printf(text, "# TYPE stratus_%s_uptime_seconds gauge\n"
			   "# UNIT stratus_%s_uptime_seconds seconds\n"
			   "stratus_%s_uptime_seconds{service=\"%s\"} %llu\n",
			   service, service, service, service,
			   (unsigned long long)r->uptime_secs);
		for (size_t i = 0; i < r->n_counters; i++)
			metric_write(text, service, r->counters[i]->name,
				     r->counters[i]->value);
		histograms_write(text, service, r);
	}
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
	free(path);
}

void ctl_metrics_text(const struct config *cfg, struct buf *out)
{
	static const char *const names[] = SERVICE_NAMES;
	struct loop *loop = loop_new();
	struct buf up = BUF_INIT;
	buf_append_str(&up, "# TYPE stratus_up gauge\n");
	for (size_t i = 0; i < SERVICE_COUNT; i++) {
		if (service_enabled(cfg, names[i]))
			metrics_one(loop, cfg, names[i], out, &up);
	}
	buf_append(out, up.data, up.len);
	buf_append_str(out, "# EOF\n");
	buf_free(&up);
	loop_free(&loop);
}

int ctl_cmd_metrics(struct ctl_args *args)
{
	bool serve = args->argc == 1 && strcmp(args->argv[0], "serve") == 0;
	if (args->argc > 0 && !serve) {
		fprintf(stderr, "usage: stratusctl metrics [serve]\n");
		return CTL_EXIT_USAGE;
	}
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	if (serve) {
		int r = ctl_metrics_serve(cfg);
		config_free(&cfg);
		return r;
	}
	struct buf text = BUF_INIT;
	ctl_metrics_text(cfg, &text);
	fwrite(text.data, 1, text.len, stdout);
	buf_free(&text);
	config_free(&cfg);
	return 0;
}
