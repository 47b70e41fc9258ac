#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make dist: the source tarball OUT/kmig-VERSION.tar.xz (OUT: argument, or
# build-dist/). It holds the tree as it is (tracked files and new ones that
# are not ignored, with their changes) and a REVISION file, so that a build
# from it, which has no .git, still names its revision in kmig --version.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
out=${1:-$top/build-dist}
version=$("$top/packaging/version.sh")
revision=$("$top/packaging/version.sh" --revision)
name=kmig-$version
stage=$out/.dist-$$

mkdir -p "$stage/$name"
trap 'rm -rf "$stage"' EXIT
cd "$top"
if [ "$revision" != unknown ] && [ -e .git ]; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$stage/$name"
else
	# A tree from a tarball already: everything but build outputs.
	tar --exclude='./build*' --exclude='./user/build*' --exclude='./REVISION' \
		-cf - . | tar -xf - -C "$stage/$name"
fi
echo "$revision" > "$stage/$name/REVISION"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -cJf "$out/$name.tar.xz.tmp" "$name"
mv "$out/$name.tar.xz.tmp" "$out/$name.tar.xz"
echo "  DIST   $out/$name.tar.xz (revision $revision)"
