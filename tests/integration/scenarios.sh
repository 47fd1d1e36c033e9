#!/bin/bash
# The detector on a short dealer month (tests/scenarios/): each injected
# attack is detected, and the benign month raises at most one alert of
# medium severity or higher per host-day.  `make eval-scenarios` runs the
# full month over every seed (bench/RESULTS.md).
. "$(dirname "$0")/../lib.sh"
PW_TMP=$(mktemp -d /tmp/pwtest.XXXXXX)
trap _pw_cleanup EXIT

# The first seed of the list, and the shortest month the attacks fit in.
seed=$(grep -v '^#' "$PW_SRC/tests/scenarios/seeds" | head -n 1)
days=24

# The generator is test tooling: the plain build's is five times faster
# than the sanitized one; replay is what runs sanitized.
gen=$PW_BUILD/tests/pw-scenario-gen
[ -x "$PW_PLAIN_BUILD/tests/pw-scenario-gen" ] && gen=$PW_PLAIN_BUILD/tests/pw-scenario-gen
out=$("$PW_SRC/tests/scenarios/evaluate.sh" --build "$PW_BUILD" --generator "$gen" --days "$days" \
	--seeds "$seed" --keep "$PW_TMP/run" 2>&1)
rc=$?
sed 's/^/# /' <<<"$out"
if [ "$rc" -eq 2 ]; then
	if grep -q "piiwatch replay is not available" <<<"$out"; then
		not_ok "piiwatch replay is not available"
	else
		not_ok "the scenarios replay" "evaluate.sh exited with status 2"
	fi
	done_testing
	exit
fi
ok "the scenarios replay ($days days, seed $seed)"
for attack in $("$PW_BUILD/tests/pw-scenario-gen" --list | cut -d' ' -f1); do
	check "attack $attack is detected" grep -qE "^  $attack +yes " <<<"$out"
done
check "at most one false alert of medium severity or higher per host-day" \
	grep -q '^target: at most 1.00 false alerts of medium or higher per host-day: met' <<<"$out"
done_testing
