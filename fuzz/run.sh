#!/bin/bash
# Run libFuzzer targets built in build/fuzz, each for SECONDS, and print one
# TAP line per target.  The seeds in fuzz/corpus/TARGET (regression inputs
# of fixed crashes among them) always run first; what the fuzzer finds new
# goes to a work corpus, never into the repository.
#
#   fuzz/run.sh SECONDS [TARGET...]     (default: every fuzz/fuzz_TARGET.c)
#
#   FUZZ_WORK   work corpus directory (default build/fuzz/corpus), kept
#               between runs so that long runs build on each other
#   FUZZ_OUT    where the binaries are (default build/fuzz); crash inputs
#               are kept in FUZZ_OUT/artifacts
#   FUZZ_JOBS   how many targets run at once (default: the number of CPUs);
#               each has a core of its own for its SECONDS, and the TAP
#               lines come in the targets' order whatever order they end in
set -u
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
if [ $# -eq 0 ]; then
	set -- $(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_\(.*\)\.c|\1|')
fi
out=${FUZZ_OUT:-build/fuzz}
work=${FUZZ_WORK:-$out/corpus}
mkdir -p "$out/artifacts" "$work"
# A leak or undefined behaviour is a finding like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) echo "fuzz/run.sh: FUZZ_JOBS must be a positive number, not '$jobs'" >&2; exit 2 ;; esac
results=$(mktemp -d "${TMPDIR:-/tmp}/pwfuzz-results.XXXXXX")
trap 'rm -rf "$results"' EXIT

# fuzz_one N TARGET: run one target, leave its TAP line (and the lines that
# explain a finding) in $results/N.
fuzz_one() {
	local n=$1 t=$2 bin log rc runs seeds
	bin=$out/fuzz_$t
	log=$out/fuzz_$t.log
	if [ ! -x "$bin" ]; then
		echo "not ok $n - fuzz_$t: $bin is missing (make fuzz-build)" >"$results/$n"
		return
	fi
	mkdir -p "$work/$t"
	# -rss_limit_mb: a parser must not need more than this for one input.
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=70000 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		"$work/$t" "fuzz/corpus/$t" >"$log" 2>&1 </dev/null
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - fuzz_$t: ${runs:-?} inputs in ${seconds} s from $seeds seeds, no finding" \
			>"$results/$n"
	else
		{
			echo "not ok $n - fuzz_$t: exit status $rc"
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
				"$log" | head -20 | sed 's/^/#   /'
			echo "#   full log: $log"
		} >"$results/$n"
	fi
}

n=0
for t in "$@"; do
	n=$((n + 1))
	# At most $jobs at once: wait for one to end before starting another.
	while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	fuzz_one "$n" "$t" &
done
wait
failed=0
for i in $(seq 1 "$n"); do
	if [ -f "$results/$i" ]; then
		cat "$results/$i"
		grep -q '^not ok' "$results/$i" && failed=$((failed + 1))
	else
		echo "not ok $i - the run of fuzz target $i left no result"
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
