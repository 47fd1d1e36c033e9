#!/bin/bash
# The detector's offline evaluation (tests/scenarios/README.md): for each
# seed, generate the dealer month alone and with each attack, run every
# file through `piiwatch replay FILE --json`, and score the alerts.
#
#   tests/scenarios/evaluate.sh [--build DIR] [--generator PATH] [--days N]
#                               [--seeds "1 2 3"] [--keep DIR]
#
# --generator: the pw-scenario-gen to use (default: the one in --build); the
# suite's sanitized run takes the plain build's, which is five times faster.
#
# Exit status: 0 targets met, 1 not met, 2 replay missing or failing.
set -u
cd "$(dirname "$0")/../.." || exit 2

BUILD=build
DAYS=30
SEEDS=$(grep -v '^#' tests/scenarios/seeds)
KEEP=""
GEN=""
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--generator) GEN=$2; shift 2 ;;
	--days) DAYS=$2; shift 2 ;;
	--seeds) SEEDS=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	*)
		echo "usage: $0 [--build DIR] [--generator PATH] [--days N] [--seeds \"1 2 3\"]" \
			"[--keep DIR]" >&2
		exit 2
		;;
	esac
done

PIIWATCH=$BUILD/piiwatch
GEN=${GEN:-$BUILD/tests/pw-scenario-gen}
SCORE=$BUILD/tests/pw-scenario-score
# Before the command exists, `piiwatch replay --help` prints the general
# help, which does not name it.
if ! help=$("$PIIWATCH" replay --help 2>&1) || ! grep -q replay <<<"$help"; then
	echo "piiwatch replay is not available: '$PIIWATCH replay --help' does not describe it" >&2
	exit 2
fi
# The scenario's policy (allowed programs, working hours, trusted networks)
# goes to replay by whichever option its help names.
policy_opt=""
for o in --policy --config; do
	if grep -q -- "$o" <<<"$help"; then
		policy_opt=$o
		break
	fi
done
[ -n "$policy_opt" ] ||
	echo "evaluate.sh: piiwatch replay takes no policy: the scenarios' policy.conf is not applied" >&2

if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	WORK=$KEEP
else
	WORK=$(mktemp -d /tmp/pw-scenarios.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
fi

# The scenario host is in Tokyo (the generator's default --utc-offset 9):
# the detector's hours of the week follow the replaying process's TZ.
export TZ=JST-9

dirs=()
for seed in $SEEDS; do
	dir=$WORK/seed-$seed
	"$GEN" --seed "$seed" --days "$DAYS" "$dir" || exit 2
	for f in "$dir"/*.jsonl; do
		name=$(basename "$f" .jsonl)
		if ! "$PIIWATCH" replay "$f" --json ${policy_opt:+"$policy_opt" "$dir/policy.conf"} \
			>"$dir/$name.alerts" 2>"$dir/$name.log"; then
			echo "piiwatch replay failed on $f:" >&2
			sed 's/^/  /' "$dir/$name.log" >&2
			exit 2
		fi
	done
	dirs+=("$dir")
done
echo "piiwatch replay FILE --json${policy_opt:+ $policy_opt POLICY}, TZ=$TZ, $DAYS days, seeds: $(tr "\n" " " <<<"$SEEDS")"
"$SCORE" "${dirs[@]}"
