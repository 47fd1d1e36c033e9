#!/bin/bash
# Every libFuzzer target (fuzz/) for a short while: the seeds, regression
# inputs of fixed crashes among them, then PW_FUZZ_SECONDS (default 20) of
# new inputs each, as many targets at once as there are CPUs (fuzz/run.sh).
# One TAP line per target; `make fuzz` runs them longer.
set -u
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/pwtest-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The spool target writes its files below TMPDIR.
TMPDIR=$work FUZZ_WORK=$work/corpus ./fuzz/run.sh "${PW_FUZZ_SECONDS:-20}"
