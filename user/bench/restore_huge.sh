#!/bin/bash
# make -C user bench-restore-huge: kmig restore of one dense kguest's file
# with --huge-pages never and auto, alternating, into a fresh --incoming
# kmig-vmm each time: total and read time (kmig's report), kmig's CPU
# (user + system: the O_DIRECT reads fault the fresh memfd pages in, in
# kmig's context) and the destination's RAM in huge pages
# (ShmemHugePages, the source VMM gone). Medians, and auto against never.
# Memfd THP is set to "advise" for the run when it may be (restored at
# exit): only then do the two differ.
#
# Settings: BENCH_MEM (2G), BENCH_RUNS (pairs, 3), BENCH_CHANNELS (2),
# BENCH_DIR (a directory on the filesystem to read from; default: a new
# one under ${TMPDIR:-/tmp}).
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
MEM=${BENCH_MEM:-2G}
RUNS=${BENCH_RUNS:-3}
CH=${BENCH_CHANNELS:-2}
. "$(dirname "$0")/lib.sh"
bench_need_build
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (Debian: apt-get install time)" >&2; exit 1; }
bench_init "${BENCH_DIR:-${TMPDIR:-/tmp}}/kmig-hugebench.XXXXXX"

bench_shmem_thp advise

# restore MODE RUN: one restore into a fresh VMM; a line of $WORK/results:
# mode total_s read_s cpu_s huge_mib
restore() {
	local mode=$1 j=$WORK/$1.$2.json base huge
	bench_vmm "$WORK/dst.sock" "$WORK/dst.err" --mem "$MEM" --vcpus 2 --incoming ||
		{ echo "dst VMM: $(cat "$WORK/dst.err")"; return 1; }
	base=$(bench_shmem_huge_kb)
	/usr/bin/time -f "%U %S" -o "$WORK/cpu" "$BUILD/kmig" restore --json -c "$CH" \
		--vmm "$WORK/dst.sock" --file "$WORK/g.snap" --huge-pages "$mode" >"$j" 2>"$WORK/rest.err" ||
		{ echo "restore $mode: $(cat "$WORK/rest.err")"; bench_quit "$WORK/dst.sock"; return 1; }
	huge=$(($(bench_shmem_huge_kb) - base))
	python3 -S -c 'import json, sys
j = json.load(open(sys.argv[1])); u, s = map(float, open(sys.argv[3]).read().split()[-2:])
print(sys.argv[2], j["total_ns"] / 1e9, j["read_ns"] / 1e9, u + s, int(sys.argv[4]) / 1024)' \
		"$j" "$mode" "$WORK/cpu" "$huge" >>"$WORK/results"
	bench_quit "$WORK/dst.sock"
	wait "$VMM_PID" 2>/dev/null
}

bench_vmm "$WORK/src.sock" "$WORK/src.err" --mem "$MEM" --vcpus 2 --fill 100 &&
	bench_ready "$WORK/src.sock" || { echo "source guest: $(cat "$WORK/src.err")"; exit 1; }
"$BUILD/kmig" save -q --stopped -c "$CH" --vmm "$WORK/src.sock" --file "$WORK/g.snap" ||
	{ echo "save failed"; exit 1; }
bench_quit "$WORK/src.sock"
wait "$VMM_PID" 2>/dev/null
echo "restore huge pages: $MEM dense kguest, $CH readers, file on" \
	"$(df -T "$WORK" | awk 'NR == 2 { print $2 }'), memfd THP shmem_enabled=$(bench_shmem_thp_now)," \
	"$RUNS alternating pairs"
: >"$WORK/results"
for ((i = 0; i < RUNS; i++)); do
	restore never "$i" && restore auto "$i" || exit 1
done
python3 -S - "$WORK/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
cols = ["total s", "read s", "CPU s", "huge MiB"]
med = {}
print("%-14s %s   runs (total s / CPU s)" % ("--huge-pages", " ".join("%9s" % c for c in cols)))
for mode in ("never", "auto"):
    rs = [[float(x) for x in r[1:]] for r in rows if r[0] == mode]
    med[mode] = [sorted(c)[len(c) // 2] for c in zip(*rs)]
    print("%-14s %s   %s" % (mode, " ".join("%9.3f" % v if k < 3 else "%9.0f" % v
                                           for k, v in enumerate(med[mode])),
                             ", ".join("%.3f/%.3f" % (r[0], r[2]) for r in rs)))
print("%-14s %s" % ("auto / never", " ".join("%8.2fx" % (a / n) if n else "%9s" % "-"
                                             for a, n in zip(med["auto"][:3], med["never"][:3]))))
PY
