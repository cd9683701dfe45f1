#!/usr/bin/env python3
"""Generates the benchmark corpus: realistic MIME messages, deterministic
for a given seed, so Stratus and Dovecot get byte-identical mail.

Profiles:
  mixed  sizes from 1 KB to 5 MB, skewed like a real mailbox (most mail
         is small text or HTML, a few messages carry large attachments):
         plain text (some quoted-printable, RFC 2047 subjects), HTML with
         a text alternative, multipart/mixed with PDF/JPEG/ZIP-like
         base64 attachments, replies with References/In-Reply-To.
  small  1-4 KB text and HTML messages, for the 100,000-message mailbox
         and the LMTP rate test, where attachments would only measure disk.

usage: gen-corpus.py --out DIR [--count N] [--seed S] [--profile P]
                     [--max-size BYTES]
Files are written as 00001.eml ... with CRLF line ends. Python standard
library only (the test machines cannot reach PyPI)."""

import argparse
import base64
import os
import random
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

WORDS = ("the quarterly report meeting was moved to thursday please review "
         "attached figures and send comments before noon thanks regards "
         "storage backend latency budget customer invoice shipment delayed "
         "holiday schedule team lunch project milestone release candidate "
         "migration mailbox quota server password reset confirm order "
         "weekend plans photos family conference agenda slides draft").split()
NAMES = ("Alice Martin", "Bob Dupont", "Chloé Durand", "David Leroy",
         "Élodie Moreau", "François Petit", "Grace Hopper", "Hiro Tanaka",
         "Ingrid Svensson", "José García", "Kenji Sato", "Léa Bernard")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.fr")


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def paragraph_text(rng, size):
    out, total = [], 0
    while total < size:
        p = " ".join(sentence(rng, rng.randint(6, 16)) for _ in range(rng.randint(2, 6)))
        out.append(p)
        total += len(p) + 2
    return "\n\n".join(out)


def address(rng):
    name = rng.choice(NAMES)
    local = name.split()[0].lower().encode("ascii", "ignore").decode() or "user"
    return "%s <%s.%d@%s>" % (name, local, rng.randint(1, 99), rng.choice(DOMAINS))


def pick_size(rng, profile, max_size):
    if profile == "small":
        return rng.randint(1024, 4096)
    r = rng.random()
    if r < 0.60:
        size = rng.randint(1024, 10 * 1024)
    elif r < 0.85:
        size = rng.randint(10 * 1024, 100 * 1024)
    elif r < 0.97:
        size = rng.randint(100 * 1024, 1024 * 1024)
    else:
        size = rng.randint(1024 * 1024, 5 * 1024 * 1024)
    return min(size, max_size)


def attachment_bytes(rng, kind, size):
    magic = {"pdf": b"%PDF-1.7\n", "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
             "zip": b"PK\x03\x04"}[kind]
    # random bytes compress like real media; generated in one call for speed
    return magic + rng.randbytes(max(0, size - len(magic)))


def make_message(rng, i, size, base_date):
    msg = EmailMessage(policy=SMTP)
    msg["From"] = address(rng)
    msg["To"] = address(rng)
    if rng.random() < 0.3:
        msg["Cc"] = address(rng)
    subject = sentence(rng, rng.randint(3, 8)).rstrip(".")
    if rng.random() < 0.2:
        subject = "Re: " + subject
        msg["In-Reply-To"] = "<%08x.%d@example.org>" % (rng.getrandbits(32), i)
        msg["References"] = msg["In-Reply-To"]
    if rng.random() < 0.15:
        subject += " — résumé été"   # non-ASCII: RFC 2047 encoded by the policy
    msg["Subject"] = subject
    msg["Date"] = format_datetime(base_date + timedelta(minutes=7 * i))
    msg["Message-ID"] = "<bench.%06d.%08x@example.org>" % (i, rng.getrandbits(32))

    kind = rng.random()
    text_size = size if size < 16 * 1024 else rng.randint(1024, 8 * 1024)
    text = paragraph_text(rng, max(800, text_size - 700))
    if size >= 16 * 1024 or kind < 0.15:
        # mixed: a text body and one or more attachments filling the size
        msg.set_content(text)
        remaining = max(512, int((size - len(text) - 1200) * 3 / 4))
        n_att = 1 if remaining < 200 * 1024 else rng.randint(1, 3)
        for k in range(n_att):
            ext = rng.choice(("pdf", "jpg", "zip"))
            ctype = {"pdf": ("application", "pdf"), "jpg": ("image", "jpeg"),
                     "zip": ("application", "zip")}[ext]
            part = remaining // n_att
            msg.add_attachment(attachment_bytes(rng, ext, part), maintype=ctype[0],
                               subtype=ctype[1], filename="file-%d-%d.%s" % (i, k, ext))
    elif kind < 0.55:
        # HTML newsletter style with a plain-text alternative
        msg.set_content(text)
        paras = "".join("<p>%s</p>\n" % p for p in text.split("\n\n"))
        msg.add_alternative("<html><body>\n<h1>%s</h1>\n%s</body></html>\n" % (subject, paras),
                            subtype="html")
    else:
        cte = "quoted-printable" if rng.random() < 0.3 else None
        if cte:
            msg.set_content(text + "\nCafé crème à 3€.\n", cte=cte)
        else:
            msg.set_content(text)
    return msg.as_bytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--profile", choices=("mixed", "small"), default="mixed")
    ap.add_argument("--max-size", type=int, default=5 * 1024 * 1024)
    a = ap.parse_args()
    if not 0 < a.count <= 100000:
        ap.error("--count must be 1..100000")
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    base = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
    total = 0
    for i in range(1, a.count + 1):
        data = make_message(rng, i, pick_size(rng, a.profile, a.max_size), base)
        with open(os.path.join(a.out, "%05d.eml" % i), "wb") as f:
            f.write(data)
        total += len(data)
    print("corpus: %d messages, %d bytes, profile %s, seed %d" % (a.count, total, a.profile, a.seed))


if __name__ == "__main__":
    main()
