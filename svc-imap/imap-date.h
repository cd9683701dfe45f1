/* IMAP date-time (RFC 3501 "dd-Mon-yyyy hh:mm:ss +zzzz", day possibly
 * space-padded) and date ("d-Mon-yyyy", SEARCH) parsing and formatting. */
#ifndef IMAP_DATE_H
#define IMAP_DATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Parses a date-time; returns false when malformed. */
bool imap_datetime_parse(const char *s, time_t *t_r);
/* Parses a SEARCH date: the UTC start of that day. */
bool imap_date_parse(const char *s, time_t *t_r);
/* Formats t in the server's local time zone: 27 bytes with the NUL. */
void imap_datetime_format(time_t t, char out[32]);

#endif
