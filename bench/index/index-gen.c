/* index-bench's messages: plausible, all different (addresses, subjects,
 * message-ids, dates, sizes, MIME shapes), generated from a seed so runs
 * repeat. The cached fields are computed by svc-lmtp's own code
 * (lmtp-cache.c over lib/mail), so the index holds what a delivery
 * stores and the byte figures mean something. */
#include "index-gen.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const gen_words[] = {
	"report", "meeting", "budget", "quarterly", "review", "draft",
	"invoice", "project", "update", "holiday", "schedule", "launch",
	"feedback", "contract", "design", "release", "notes", "agenda",
	"customer", "support", "ticket", "question", "urgent", "lunch",
	"travel", "plans", "photos", "team", "weekly", "status", "offer",
	"order", "shipping", "account", "password", "reset", "welcome",
};
#define GEN_N_WORDS (sizeof(gen_words) / sizeof(gen_words[0]))

static const char *const gen_names[] = {
	"Alice Martin", "Bob Durand", "Carol Smith", "Dave Jones",
	"Eve Moreau", "Frank Miller", "Grace Lee", "Heidi Klein",
	"Ivan Petrov", "Judy Chen", "Mallory Brown", "Oscar Silva",
};
#define GEN_N_NAMES (sizeof(gen_names) / sizeof(gen_names[0]))

static const char *const gen_domains[] = {
	"example.com", "example.org", "mail.example.net", "corp.example",
	"lists.example.org", "shop.example.com",
};
#define GEN_N_DOMAINS (sizeof(gen_domains) / sizeof(gen_domains[0]))

/* xorshift64*: reproducible and cheap */
static uint64_t gen_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static unsigned int gen_pick(uint64_t *s, unsigned int n)
{
	return (unsigned int)(gen_next(s) % n);
}

static void gen_address(struct buf *b, uint64_t *s)
{
	const char *name = gen_names[gen_pick(s, GEN_N_NAMES)];
	buf_printf(b, "\"%s\" <", name);
	for (const char *p = name; *p != '\0'; p++)
		buf_append_c(b, *p == ' ' ? '.' : (char)(*p | 0x20));
	buf_printf(b, "%u@%s>", gen_pick(s, 1000),
		   gen_domains[gen_pick(s, GEN_N_DOMAINS)]);
}

static void gen_text(struct buf *b, uint64_t *s, unsigned int lines)
{
	for (unsigned int l = 0; l < lines; l++) {
		unsigned int words = 6 + gen_pick(s, 8);
		for (unsigned int w = 0; w < words; w++)
			buf_printf(b, "%s%s", w > 0 ? " " : "",
				   gen_words[gen_pick(s, GEN_N_WORDS)]);
		buf_append_str(b, "\r\n");
	}
}

static void gen_headers(struct buf *b, uint64_t *s, uint32_t seq)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu",
					    "Fri", "Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	buf_printf(b, "Return-Path: <bounce-%u@%s>\r\n", seq,
		   gen_domains[gen_pick(s, GEN_N_DOMAINS)]);
	buf_printf(b, "Received: from mx%u.example.net (mx%u.example.net "
		   "[192.0.2.%u])\r\n\tby backend.example.com with LMTP id "
		   "%016llx\r\n\tfor <user@example.com>; %s, %u %s 2026 "
		   "%02u:%02u:%02u +0000\r\n", gen_pick(s, 9), gen_pick(s, 9),
		   gen_pick(s, 254) + 1,
		   (unsigned long long)gen_next(s), days[gen_pick(s, 7)],
		   1 + gen_pick(s, 28), months[gen_pick(s, 12)],
		   gen_pick(s, 24), gen_pick(s, 60), gen_pick(s, 60));
	buf_append_str(b, "From: ");
	gen_address(b, s);
	buf_append_str(b, "\r\nTo: ");
	gen_address(b, s);
	if (gen_pick(s, 3) == 0) {
		buf_append_str(b, "\r\nCc: ");
		gen_address(b, s);
		buf_append_str(b, ", ");
		gen_address(b, s);
	}
	buf_printf(b, "\r\nSubject: %s%s %s %s #%u\r\n",
		   gen_pick(s, 4) == 0 ? "Re: " : "",
		   gen_words[gen_pick(s, GEN_N_WORDS)],
		   gen_words[gen_pick(s, GEN_N_WORDS)],
		   gen_words[gen_pick(s, GEN_N_WORDS)], seq);
	buf_printf(b, "Date: %s, %u %s 2026 %02u:%02u:%02u +0100\r\n",
		   days[gen_pick(s, 7)], 1 + gen_pick(s, 28),
		   months[gen_pick(s, 12)], gen_pick(s, 24), gen_pick(s, 60),
		   gen_pick(s, 60));
	buf_printf(b, "Message-ID: <%016llx.%u@%s>\r\n",
		   (unsigned long long)gen_next(s), seq,
		   gen_domains[gen_pick(s, GEN_N_DOMAINS)]);
	buf_append_str(b, "MIME-Version: 1.0\r\n");
}

/* Shapes: 60% text/plain, 30% multipart/alternative (text + html),
 * 10% multipart/mixed with a base64 attachment. */
static void gen_body(struct buf *b, uint64_t *s, uint32_t seq)
{
	unsigned int shape = gen_pick(s, 10);
	unsigned int lines = 3 + gen_pick(s, 40);
	if (shape < 6) {
		buf_append_str(b, "Content-Type: text/plain; charset=utf-8\r\n"
			       "\r\n");
		gen_text(b, s, lines);
		return;
	}
	const char *kind = shape < 9 ? "alternative" : "mixed";
	buf_printf(b, "Content-Type: multipart/%s; boundary=\"b%u\"\r\n\r\n",
		   kind, seq);
	buf_printf(b, "--b%u\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "\r\n", seq);
	gen_text(b, s, lines);
	if (shape < 9) {
		buf_printf(b, "--b%u\r\nContent-Type: text/html; "
			   "charset=utf-8\r\n\r\n<html><body><p>\r\n", seq);
		gen_text(b, s, lines);
		buf_append_str(b, "</p></body></html>\r\n");
	} else {
		buf_printf(b, "--b%u\r\nContent-Type: application/pdf; "
			   "name=\"doc%u.pdf\"\r\nContent-Disposition: "
			   "attachment; filename=\"doc%u.pdf\"\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n",
			   seq, seq, seq);
		unsigned int n = 20 + gen_pick(s, 200);
		for (unsigned int l = 0; l < n; l++) {
			for (int k = 0; k < 19; k++)
				buf_printf(b, "%04x", (unsigned int)
					   (gen_next(s) & 0xffff));
			buf_append_str(b, "\r\n");
		}
	}
	buf_printf(b, "--b%u--\r\n", seq);
}

int index_gen_message(uint64_t seed, uint32_t seq, struct index_gen_msg *m)
{
	uint64_t s = (seed ^ ((uint64_t)seq * 0x9e3779b97f4a7c15ull)) | 1;
	struct buf b = BUF_INIT;
	memset(m, 0, sizeof(*m));
	gen_headers(&b, &s, seq);
	gen_body(&b, &s, seq);
	m->physical_size = b.len;
	m->virtual_size = b.len;	/* CRLF already */
	m->internal_date = 1780000000 + (int64_t)seq * 60;
	snprintf(m->object_id, sizeof(m->object_id), "%016llx%016llx",
		 (unsigned long long)gen_next(&s),
		 (unsigned long long)gen_next(&s));
	int fd = memfd_create("index-bench", MFD_CLOEXEC);
	int ret = -1;
	if (fd >= 0 && write(fd, b.data, b.len) == (ssize_t)b.len)
		ret = lmtp_cached_build(fd, b.len, &m->cached);
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return ret;
}

void index_gen_free(struct index_gen_msg *m)
{
	lmtp_cached_free(&m->cached);
}
