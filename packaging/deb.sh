#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: Debian packages kmig, kmig-dkms and libkmig-dev, built with
# dpkg-buildpackage (debhelper, dh-dkms) from the source tarball of
# make dist, then checked with lintian (fails on any error; warnings and
# info tags are printed).
#
#   build-deb/kmig-VERSION.tar.xz  the tarball (dist.sh), its tree in
#                                  build-deb/kmig-VERSION/ (no .git: the
#                                  packaged kmig --version names the
#                                  revision from its REVISION file)
#   build-deb/*.deb                the packages; lintian.log its report
#
# Settings (environment): DEB_OUT (build-deb), DEB_JOBS (make -j; nproc).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
out=${DEB_OUT:-$top/build-deb}
jobs=${DEB_JOBS:-$(nproc)}
version=$("$top/packaging/version.sh")
revision=$("$top/packaging/version.sh" --revision)
src=$out/kmig-$version

die() { echo "deb: $*" >&2; exit 1; }

for t in dpkg-buildpackage dh dh_dkms lintian fakeroot; do
	command -v "$t" >/dev/null || die "$t missing (make deps)"
done

rm -rf "$out"
mkdir -p "$out"
# From the source tarball (make dist): a clean tree without .git, whose
# REVISION file names the revision.
"$top/packaging/dist.sh" "$out"
tar -C "$out" -xJf "$out/kmig-$version.tar.xz"

echo "  DEB    kmig $version (revision $revision) in $out"
cd "$src"
log=$out/build.log
if ! dpkg-buildpackage -b -us -uc -j"$jobs" >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "dpkg-buildpackage failed (whole log: $log)"
fi
ls "$out"/*.deb | sed 's,^,  DEB    ,'

changes=$(ls "$out"/kmig_"$version"_*.changes)
lintian --fail-on error --display-level '>=info' "$changes" > "$out/lintian.log" 2>&1 &&
	rc=0 || rc=$?
sed 's/^/  LINTIAN /' "$out/lintian.log"
n_e=$(grep -c '^E: ' "$out/lintian.log" || true)
n_w=$(grep -c '^W: ' "$out/lintian.log" || true)
n_i=$(grep -c '^I: ' "$out/lintian.log" || true)
echo "  LINTIAN $n_e error(s), $n_w warning(s), $n_i info tag(s)"
[ "$rc" = 0 ] || die "lintian found errors (exit $rc; $out/lintian.log)"
