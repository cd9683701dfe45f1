/* The command_seconds histogram (stratus_imap_command_seconds): how long each command took, by
 * command name, from its line being read to its tagged reply. */
#ifndef IMAP_STATS_H
#define IMAP_STATS_H

struct imap_cmd;

void imap_stats_command_start(const struct imap_cmd *cmd);
/* Observes the command's time if it was started; forgets it. */
void imap_stats_command_end(const struct imap_cmd *cmd);

#endif
