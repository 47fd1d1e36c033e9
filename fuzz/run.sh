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
n=0
failed=0
for t in "$@"; do
	n=$((n + 1))
	bin=$out/fuzz_$t
	log=$out/fuzz_$t.log
	if [ ! -x "$bin" ]; then
		echo "not ok $n - fuzz_$t: $bin is missing (make fuzz-build)"
		failed=$((failed + 1))
		continue
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
		echo "ok $n - fuzz_$t: ${runs:-?} inputs in ${seconds} s from $seeds seeds, no finding"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz_$t: exit status $rc"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
			"$log" | head -20 | sed 's/^/#   /'
		echo "#   full log: $log"
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
