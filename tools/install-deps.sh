#!/bin/sh
# Installs the Debian packages the build, the tests and `make run` need.
# Idempotent: does nothing when every package is already installed.
# With the argument "deb", also the packaging tools.
set -e
PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev \
 protobuf-c-compiler libprotobuf-c-dev libcurl4-openssl-dev zlib1g-dev \
 libldap-dev libsystemd-dev libssl-dev libcrypt-dev libcmocka-dev systemd \
 slapd ldap-utils python3 curl postfix isync"
PKGS="$PKGS fetchmail getmail6"
# ip(8): test_tls_nonloopback.py puts test addresses in its own netns
PKGS="$PKGS iproute2"
PKGS="$PKGS mutt"
PKGS="$PKGS redis-server redis-tools libhiredis-dev"
PKGS="$PKGS libpcre2-dev sieve-connect"
PKGS="$PKGS python3-prometheus-client"
# Packaging, only for `make deb` / `make deb-test` (tools/install-deps.sh
# deb), not for `make test`: dpkg-buildpackage, lintian, the chroot.
if [ "${1:-}" = deb ]; then
	PKGS="$PKGS dpkg-dev debhelper fakeroot lintian debootstrap"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
		|| missing="$missing $p"
done
# nodejs from other sources may bundle npm: only ask Debian when missing
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
echo "slapd slapd/no_configuration boolean true" | ${SUDO:-} debconf-set-selections
echo "postfix postfix/main_mailer_type select No configuration" | ${SUDO:-} debconf-set-selections
${SUDO:-} apt-get -o DPkg::Lock::Timeout=600 update -qq
${SUDO:-} apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
