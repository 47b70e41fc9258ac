#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Make Debian's backports suite of this release (bookworm-backports on
# Debian 12) available to apt, pinned so that nothing is taken from it
# unless asked for: `apt-get install -t bookworm-backports PKG` installs PKG
# and the newer packages it needs from there (PKG/bookworm-backports alone
# does not: on a fresh Debian 12 QEMU 10's qemu-system-common, -data and
# seabios then stay at 12's versions and apt gives up); `apt-get upgrade`
# never moves other packages to it. Used by
# `make deps` for what the distribution release is too old for (QEMU 10 for
# the peer benchmark).
#
# Idempotent: a suite already configured (by this script or by hand) is left
# as it is; `apt-get update` runs when the suite's index is missing.
#
# Usage: scripts/apt-backports.sh     prints the suite's name on stdout
set -eu

die() { echo "apt-backports: $*" >&2; exit 1; }

[ -r /etc/os-release ] || die "/etc/os-release missing: not a Debian system?"
. /etc/os-release
[ "${ID:-}" = debian ] || die "ID=${ID:-?} in /etc/os-release: only Debian has these backports"
[ -n "${VERSION_CODENAME:-}" ] || die "no VERSION_CODENAME in /etc/os-release"
suite=$VERSION_CODENAME-backports

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
apt_get() {
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

# One-line (.list) and deb822 (.sources) files; anything else in
# sources.list.d (e.g. *.disabled) is ignored by apt, so it is here too.
configured() {
	grep -Eqs "^[^#]*[[:space:]]$suite([[:space:]]|\$)" /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}

# The mirror this machine already takes the release from (a machine that
# reaches only a local mirror gets backports from there too), else Debian's.
release_uri() {
	local uri
	uri=$(awk -v rel="$VERSION_CODENAME" '
		/^[[:space:]]*$/ { if (ok && uri != "") { print uri; exit } ok = 0; uri = ""; next }
		tolower($1) == "uris:" { uri = $2 }
		tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == rel) ok = 1 }
		END { if (ok && uri != "") print uri }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	[ -n "$uri" ] || uri=$(sed -n "s|^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\)[[:space:]]\{1,\}$VERSION_CODENAME[[:space:]].*|\2|p" \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
	echo "${uri:-http://deb.debian.org/debian}"
}

if ! configured; then
	uri=$(release_uri)
	echo "apt-backports: adding $suite ($uri) to /etc/apt/sources.list.d/$suite.sources" >&2
	$sudo tee "/etc/apt/sources.list.d/$suite.sources" >/dev/null <<EOT
# Added by kmig's scripts/apt-backports.sh (pinned in preferences.d/$suite)
Types: deb
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi
# Debian marks backports NotAutomatic/ButAutomaticUpgrades (priority 100):
# say so explicitly, so a local default-release setting cannot lift it.
if [ ! -e "/etc/apt/preferences.d/$suite" ]; then
	$sudo tee "/etc/apt/preferences.d/$suite" >/dev/null <<EOT
# Added by kmig's scripts/apt-backports.sh: packages from $suite only when
# asked for (apt-get -t $suite, or PKG/$suite), upgrades of those only.
Package: *
Pin: release n=$suite
Pin-Priority: 100
EOT
fi
if ! apt-cache policy | grep -q "n=$suite,"; then
	# apt-get update fails, or only warns, when a source is unreachable:
	# either way the suite's index is what tells.
	apt_get update >&2 || true
	apt-cache policy | grep -q "n=$suite," ||
		die "apt-get update did not fetch $suite's index: is the mirror reachable? (sources: /etc/apt/sources.list.d/$suite.sources)"
fi
echo "$suite"
