#!/bin/sh
# Example quota warning script for Stratus, installed as
# /usr/local/bin/quota-warning.sh and named by
#   plugin {
#     quota_warning = storage=100%% quota-warning 100 %u
#     quota_warning2 = storage=95%% quota-warning 95 %u
#     quota_warning3 = -storage=100%% quota-warning below %u
#   }
#   service quota-warning {
#     executable = script /usr/local/bin/quota-warning.sh
#     user = email
#     unix_listener quota-warning { user = stratus }
#   }
# Arguments: PERCENT USER (or "below USER"). svc-quota runs it with those
# arguments; under systemd (stratus-quota-warning.socket) it is started
# once per warning without arguments and reads them, tab-separated, as one
# line from its standard input.
#
# The warning goes into the user's INBOX through `stratusctl mailbox
# deliver`, which stores without a quota check (a user at 100% would
# refuse it over LMTP, as Dovecot's example avoids with `noenforcing`).
# Set QUOTA_WARNING_SENDMAIL=/usr/sbin/sendmail to send it through the
# MTA instead. Exits non-zero when the message could not be stored;
# svc-quota logs that, delivery is never held up by this script.
set -eu

if [ $# -ge 2 ]; then
	what=$1 user=$2
else
	tab=$(printf '\t')
	IFS=$tab read -r what user rest || true
fi
case "${what:-}" in
	below|[0-9]|[0-9][0-9]|[0-9][0-9][0-9]) ;;
	*) echo "usage: quota-warning.sh PERCENT|below USER" >&2; exit 64 ;;
esac
case "${user:-}" in
	""|*[!A-Za-z0-9@._+=-]*) echo "quota-warning.sh: bad user name" >&2; exit 64 ;;
esac

from=${QUOTA_WARNING_FROM:-postmaster@${user#*@}}
if [ "$what" = below ]; then
	subject="Your mailbox is below its quota again"
	text="Your mailbox $user is below its storage quota again."
else
	subject="Your mailbox is $what% full"
	text="Your mailbox $user has used $what% of its storage quota.
Please delete messages you no longer need: when it is full, new mail
is refused."
fi

msg=$(mktemp "${TMPDIR:-/tmp}/quota-warning.XXXXXX")
trap 'rm -f "$msg"' EXIT
cat > "$msg" <<MSG
From: $from
To: $user
Subject: $subject
Date: $(LC_ALL=C date -R)
Message-ID: <quota-warning.$(date +%s).$$@${user#*@}>
Auto-Submitted: auto-generated
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

$text
MSG

if [ -n "${QUOTA_WARNING_SENDMAIL:-}" ]; then
	"$QUOTA_WARNING_SENDMAIL" -f "$from" -- "$user" < "$msg"
else
	"${STRATUSCTL:-stratusctl}" mailbox deliver "$user" INBOX "$msg" >/dev/null
fi
echo "quota warning '$what' sent to $user"
