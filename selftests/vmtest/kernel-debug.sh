#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The VM test host's debug kernel: Debian's linux-source-6.1 built with a
# small config (allnoconfig + kernel-debug.config + selftests/kmig/config)
# that has KASAN, lockdep, UBSAN, atomic-sleep checks, kmemleak and
# debugobjects on, which Debian's own kernel has off.
#
#   kernel-debug.sh build   build it unless it is cached; prints its directory
#   kernel-debug.sh dir     prints its directory; exit 0 if built, 1 if not
#   kernel-debug.sh key     prints the cache key
#
# It is built once per machine: the result is cached outside the clone in
# $KMIG_CACHE (default /var/cache/kmig if writable, else ~/.cache/kmig) under
# kernel-debug-<key>, where the key hashes everything the build depends on:
# the config fragments, the source package's version, the compiler and this
# script's build recipe (RECIPE below). Another config is another directory.
# The directory holds:
#   vmlinuz     the kernel image (bzImage)
#   release     its release string (uname -r)
#   modules/    INSTALL_MOD_PATH: modules/lib/modules/<release>/ with the
#               KVM, virtio, 9p and overlay modules and modules.dep
#   src/        the built tree, kept to build kmig.ko against (make M=)
#   config      the final .config
#   build.log, build-seconds
# A build runs under a lock (two `make check` at once build it once); an
# interrupted build is started again from scratch.
#
# Settings: KMIG_CACHE; KMIG_DEBUG_JOBS (make -j, default: nproc);
# LINUX_SOURCE_TAR (default: the newest /usr/src/linux-source-6.1*.tar.xz).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# Bump when the build steps below change in a way that changes the result.
RECIPE=1
fragments=("$here/kernel-debug.config" "$top/selftests/kmig/config")

die() { echo "kernel-debug: $*" >&2; exit 1; }

cache_root() {
	if [ -n "${KMIG_CACHE:-}" ]; then
		echo "$KMIG_CACHE"
	elif mkdir -p /var/cache/kmig 2>/dev/null && [ -w /var/cache/kmig ]; then
		echo /var/cache/kmig
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/kmig"
	fi
}

source_tar() {
	local t=${LINUX_SOURCE_TAR:-}
	[ -n "$t" ] || t=$(ls -1 /usr/src/linux-source-6.1*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	[ -n "$t" ] && [ -r "$t" ] || die "linux-source-6.1 tarball not found in /usr/src (make deps)"
	echo "$t"
}

key() {
	local tar ver
	tar=$(source_tar)
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c '%s %Y' "$tar")
	{
		echo "recipe $RECIPE"
		echo "source $(basename "$tar") $ver"
		echo "cc $(${CC:-gcc} --version | head -n 1)"
		cat "${fragments[@]}"
	} | sha256sum | cut -c1-16
}

dir() { echo "$(cache_root)/kernel-debug-$(key)"; }

# Every CONFIG_X=v of the fragments must be in .config as asked ("=n" as
# "is not set"): Kconfig silently drops symbols whose dependencies are off.
check_config() {
	local cfg=$1 bad=0 line sym val
	while read -r line; do
		sym=${line%%=*}
		val=${line#*=}
		if [ "$val" = n ]; then
			! grep -q "^$sym=" "$cfg" || { echo "  $line wanted, got: $(grep "^$sym=" "$cfg")"; bad=1; }
		elif ! grep -qx "$sym=$val" "$cfg"; then
			echo "  $line wanted, got: $(grep -E "^(# )?$sym[= ]" "$cfg" || echo 'absent')"
			bad=1
		fi
	done < <(grep -hE '^CONFIG_[A-Z0-9_]+=' "${fragments[@]}")
	return $bad
}

build() {
	local d tar jobs t0 src rel t
	d=$(dir)
	tar=$(source_tar)
	jobs=${KMIG_DEBUG_JOBS:-$(nproc)}
	for t in flex bison bc make gcc; do
		command -v $t >/dev/null || die "$t missing (make deps)"
	done
	[ -e /usr/include/libelf.h ] || die "libelf-dev missing (make deps): objtool needs it"
	mkdir -p "$(dirname "$d")"
	exec 9> "$d.lock"
	flock 9
	if [ -f "$d/release" ]; then
		echo "$d"
		return 0
	fi
	# Built in place (a kernel tree does not like to move); "release" is
	# written last and marks a complete build.
	rm -rf "$d"
	src="$d/src"
	mkdir -p "$src"
	echo "kernel-debug: building $(basename "$d") from $(basename "$tar") with -j$jobs (log: $d/build.log)" >&2
	t0=$(date +%s)
	{
		tar -xJf "$tar" -C "$src" --strip-components=1
		cat "${fragments[@]}" > "$d/fragment.config"
		make -C "$src" -s allnoconfig KCONFIG_ALLCONFIG="$d/fragment.config"
		# allnoconfig turns off what the fragment leaves unsaid; a
		# second pass settles the defaults of what it enabled.
		make -C "$src" -s olddefconfig
	} > "$d/build.log" 2>&1 || { tail -n 30 "$d/build.log" >&2; die "configuring failed"; }
	check_config "$src/.config" >&2 || die "config symbols above did not take effect (dependencies?)"
	make -C "$src" -j"$jobs" LOCALVERSION=-kmig-debug bzImage modules >> "$d/build.log" 2>&1 ||
		{ grep -E 'error|Error' "$d/build.log" | tail -n 20 >&2; die "build failed; log: $d/build.log"; }
	make -C "$src" -s LOCALVERSION=-kmig-debug INSTALL_MOD_PATH="$d/modules" \
		modules_install >> "$d/build.log" 2>&1 || die "modules_install failed"
	rel=$(make -C "$src" -s LOCALVERSION=-kmig-debug kernelrelease)
	cp "$src/arch/x86/boot/bzImage" "$d/vmlinuz"
	cp "$src/.config" "$d/config"
	echo $(( $(date +%s) - t0 )) > "$d/build-seconds"
	echo "$rel" > "$d/release"
	echo "kernel-debug: built $rel in $(cat "$d/build-seconds")s with -j$jobs" >&2
	echo "$d"
}

case "${1:-}" in
build) build ;;
dir) d=$(dir); echo "$d"; [ -f "$d/release" ] ;;
key) key ;;
-h|--help|"") sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; [ -n "${1:-}" ] ;;
*) die "unknown command '$1' (see --help)" ;;
esac
