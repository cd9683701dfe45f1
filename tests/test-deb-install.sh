#!/bin/sh
# make deb-test, second half: the packages `make deb` built are installed
# with apt into a fresh Debian 12 root (debootstrap --variant=minbase from
# the apt mirror, made once under DEB_CHROOT_BASE and copied for each run),
# then the installed binaries run there: each unit's ExecStart binary
# answers --version, postinst made the stratus users, stratusctl loads
# Debian's own /etc/dovecot/dovecot.conf (dovecot-core installed beside,
# as an operator switching has it; what it refuses is printed), and the
# installed services are started with `stratusctl run` on a small config
# and answer IMAP LOGIN and an LMTP delivery from the host on loopback.
# Needs root (chroot) and debootstrap; says so and fails otherwise.
set -eu
deb_dir=$1
base=${DEB_CHROOT_BASE:-/var/tmp/stratus-chroot}
mirror=${DEB_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "deb-install: needs root for chroot"; exit 1; }
command -v debootstrap >/dev/null || {
	echo "deb-install: debootstrap is not installed (apt-get install debootstrap)"
	exit 1
}
if [ ! -x "$base/usr/bin/apt-get" ]; then
	echo "deb-install: debootstrap bookworm into $base (once)"
	rm -rf "$base"
	nice -n 10 debootstrap --variant=minbase bookworm "$base" "$mirror" >"$base.log" 2>&1 ||
		{ tail -n 20 "$base.log"; exit 1; }
fi
root=$(mktemp -d /var/tmp/stratus-deb-install.XXXXXX)
cleanup() {
	[ -f "$root/run.pid" ] && kill "$(cat "$root/run.pid")" 2>/dev/null || true
	sleep 1
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
cp -a "$base/." "$root/"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/tmp/debs"
cp "$deb_dir"/stratus-*_*.deb "$root/tmp/debs/"
rm -f "$root"/tmp/debs/*-dbgsym_*.deb
# no daemon starts inside the root (units are installed disabled anyway)
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_root apt-get update -qq >/dev/null
debs=$(cd "$root/tmp/debs" && for f in *.deb; do printf '/tmp/debs/%s ' "$f"; done)
# shellcheck disable=SC2086 # one word per package file
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq --no-install-recommends \
	dovecot-core $debs >"$root/apt.log" 2>&1 ||
	{ tail -n 30 "$root/apt.log"; exit 1; }
echo "deb-install: installed: $(in_root dpkg-query -W -f '${Package} ' 'stratus-*')"
in_root stratusctl --version
for unit in "$root"/lib/systemd/system/stratus-*.service; do
	bin=$(sed -n 's|^ExecStart=\([^ ]*\).*|\1|p' "$unit")
	case $bin in /usr/libexec/stratus/*) ;; *) continue ;; esac
	in_root "$bin" --version >/dev/null || { echo "FAIL: $bin --version"; exit 1; }
done
in_root getent passwd stratus >/dev/null || { echo "FAIL: no stratus user"; exit 1; }
# Debian's stock configuration, as dovecot-core installed it
if in_root stratusctl -c /etc/dovecot/dovecot.conf config -n >/dev/null 2>"$root/stock.err"; then
	echo "deb-install: the stock /etc/dovecot/dovecot.conf loads"
else
	echo "deb-install: the stock /etc/dovecot/dovecot.conf is refused: $(cat "$root/stock.err")"
fi
# the installed services, started as the units' binaries, on loopback
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
imap=$(port); lmtp=$(port)
d=/var/tmp/stratus-inst
mkdir -p "$root$d/objects"
echo "inst@example.com:{PLAIN}secret::::::" >"$root$d/users"
cat >"$root$d/stratus.conf" <<EOF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $d/run
log_path =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/users
}
userdb {
  driver = static
  args = home=$d/home/%u
}
mail_home = $d/home/%u
mail_location = obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/
plugin {
  obox_fs = posix:prefix=$d/objects/
  obox_index_fs = posix:prefix=$d/objects/
}
service imap-login {
  inet_listener imap {
    port = $imap
  }
}
service lmtp {
  inet_listener lmtp {
    port = $lmtp
  }
}
EOF
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin stratusctl -c $d/stratus.conf run \
	>"$root/run.log" 2>&1 &
echo $! >"$root/run.pid"
python3 - "$imap" "$lmtp" "$root/run.log" <<'EOF'
import imaplib, smtplib, sys, time
imap, lmtp, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
deadline = time.time() + 30
while "services ready" not in open(log, errors="replace").read():
    if time.time() > deadline:
        sys.exit("FAIL: services not ready:\n" + open(log).read())
    time.sleep(0.2)
with smtplib.LMTP("127.0.0.1", lmtp) as l:
    l.sendmail("a@example.net", ["inst@example.com"], "Subject: installed\r\n\r\nhi\r\n")
c = imaplib.IMAP4("127.0.0.1", imap)
c.login("inst@example.com", "secret")
typ, data = c.select("INBOX")
assert data == [b"1"], data
typ, data = c.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
assert b"installed" in data[0][1], data
c.logout()
print("deb-install: installed services: LMTP delivery and IMAP LOGIN/SELECT/FETCH ok")
EOF
echo "deb-install: ok"
