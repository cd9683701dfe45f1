/* Command latency (see imap-stats.h). The start times are kept here,
 * keyed by the command, in an open-addressing table, so struct imap_cmd
 * needs no field; one entry per command in progress (at most one per
 * client). The label is the command table's name, never client input. */
#include "imap-stats.h"
#include "imap-common.h"
#include "histogram.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct imap_stats_slot {
	const struct imap_cmd *cmd;	/* NULL = free */
	uint64_t start_us;
};

static struct {
	struct imap_stats_slot *slots;
	size_t cap, used;		/* cap: a power of two */
} imap_stats;

static size_t slot_of(const struct imap_cmd *cmd, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)cmd * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 20) & (cap - 1);
}

static void imap_stats_insert(const struct imap_cmd *cmd, uint64_t start)
{
	size_t i = slot_of(cmd, imap_stats.cap);
	while (imap_stats.slots[i].cmd != NULL)
		i = (i + 1) & (imap_stats.cap - 1);
	imap_stats.slots[i].cmd = cmd;
	imap_stats.slots[i].start_us = start;
	imap_stats.used++;
}

static void imap_stats_grow(void)
{
	struct imap_stats_slot *old = imap_stats.slots;
	size_t old_cap = imap_stats.cap;
	imap_stats.cap = old_cap == 0 ? 64 : old_cap * 2;
	imap_stats.slots = xcalloc(imap_stats.cap, sizeof(*old));
	imap_stats.used = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].cmd != NULL)
			imap_stats_insert(old[i].cmd, old[i].start_us);
	}
	free(old);
}

void imap_stats_command_start(const struct imap_cmd *cmd)
{
	if ((imap_stats.used + 1) * 2 > imap_stats.cap)
		imap_stats_grow();
	imap_stats_insert(cmd, histo_now_us());
}

/* Removes slot i and re-inserts the run after it (linear probing). */
static void imap_stats_remove(size_t i)
{
	size_t mask = imap_stats.cap - 1;
	imap_stats.slots[i].cmd = NULL;
	imap_stats.used--;
	for (size_t j = (i + 1) & mask; imap_stats.slots[j].cmd != NULL;
	     j = (j + 1) & mask) {
		struct imap_stats_slot s = imap_stats.slots[j];
		imap_stats.slots[j].cmd = NULL;
		imap_stats.used--;
		imap_stats_insert(s.cmd, s.start_us);
	}
}

void imap_stats_command_end(const struct imap_cmd *cmd)
{
	if (imap_stats.cap == 0)
		return;
	size_t mask = imap_stats.cap - 1;
	for (size_t i = slot_of(cmd, imap_stats.cap);
	     imap_stats.slots[i].cmd != NULL; i = (i + 1) & mask) {
		if (imap_stats.slots[i].cmd != cmd)
			continue;
		uint64_t start = imap_stats.slots[i].start_us;
		imap_stats_remove(i);
		/* A line that did not parse has no definition. */
		char labels[64];
		snprintf(labels, sizeof(labels), "command=\"%s\"",
			 cmd->def != NULL ? cmd->def->name : "invalid");
		histo_observe("command_seconds", labels, HISTO_SECONDS,
			      (double)(histo_now_us() - start) / 1e6);
		return;
	}
}
