/* lib/mail decoding helpers for SEARCH and delivery: RFC 2047 encoded
 * words to UTF-8, Content-Transfer-Encoding bodies, RFC 5322 dates and
 * Message-IDs. All take a byte range (NULs allowed), append to an
 * unbounded struct buf the caller owns, and never fail on bad input:
 * what cannot be decoded is kept as it was. */
#ifndef STRATUS_MAIL_DECODE_H
#define STRATUS_MAIL_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

/* Decodes =?charset?B|Q?...?= words (charset via iconv, any "*lang"
 * suffix ignored); blanks between two encoded words are dropped. An
 * unknown charset or a broken word is copied unchanged. */
void mail_decode_rfc2047(const void *in, size_t len, struct buf *out);

/* base64: ignores characters outside the alphabet, stops at '='. */
void mail_decode_base64(const void *in, size_t len, struct buf *out);
/* quoted-printable: =XX, soft line breaks, trailing blanks dropped; a
 * broken '=' sequence is kept literally. */
void mail_decode_qp(const void *in, size_t len, struct buf *out);
/* By Content-Transfer-Encoding value (case-insensitive, NULL = 7bit):
 * base64, quoted-printable, anything else copied. */
void mail_decode_body(const char *encoding, const void *in, size_t len,
		      struct buf *out);

/* Text in charset to UTF-8 (iconv; utf-8/us-ascii copied). Invalid bytes
 * become U+FFFD; an unknown charset copies the text unchanged. */
void mail_decode_charset(const char *charset, const void *in, size_t len,
			 struct buf *out);

/* RFC 5322 date-time (obsolete forms too: 2-digit years, named zones,
 * missing seconds or weekday, comments). Returns true with the UTC time
 * and the zone offset in minutes. */
bool mail_parse_date(const void *in, size_t len, time_t *time_r,
		     int *tz_minutes_r);

/* The first "<...>" msg-id of a Message-ID/In-Reply-To/References value,
 * comments and blanks removed, as "<left@right>". false if none. */
bool mail_message_id_get(const void *in, size_t len, struct buf *out);

#endif
