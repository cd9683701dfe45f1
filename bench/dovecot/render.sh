#!/bin/sh
# Writes a Dovecot configuration for one benchmark instance.
# usage: render.sh DIR NAME MAIL_LOCATION IMAP_PORT POP3_PORT LMTP_PORT HIBERNATE_SECS
#   MAIL_LOCATION: maildir:~/Maildir or mdbox:~/mdbox
#   HIBERNATE_SECS: 0 = no imap_hibernate_timeout, else moves IDLE clients
#   to imap-hibernate after that many seconds.
# The instance lives entirely under DIR (run/, state/, mail/, users,
# dovecot.log) and listens on 127.0.0.1 only.
set -eu
D=$1 NAME=$2 LOC=$3 IMAP=$4 POP3=$5 LMTP=$6 HIB=$7
HERE=$(cd "$(dirname "$0")" && pwd)
CORES=$(nproc)
mkdir -p "$D/run" "$D/state" "$D/mail"
chown nobody:nogroup "$D/mail"
if [ "$HIB" -gt 0 ]; then HLINE="imap_hibernate_timeout = ${HIB}s"; else HLINE=""; fi
sed -e "s#@DIR@#$D#g" -e "s#@NAME@#$NAME#g" -e "s#@MAIL_LOCATION@#$LOC#g" \
    -e "s#@IMAP_PORT@#$IMAP#g" -e "s#@POP3_PORT@#$POP3#g" \
    -e "s#@LMTP_PORT@#$LMTP#g" -e "s#@CORES@#$CORES#g" -e "s#@HIBERNATE@#$HLINE#" \
    "$HERE/dovecot.conf.in" > "$D/dovecot.conf"
