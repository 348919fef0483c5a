#!/usr/bin/env bash
# Runs go-gremlins over each package of MUTATION_PACKAGES, one at a time
# (each package's own tests against its own mutants keeps a run to minutes),
# prints efficacy per package and fails if any package with covered mutants
# is below MUTATION_THRESHOLD percent (killed / (killed + lived)).
#
# Environment: GREMLINS (the binary), MUTATION_PACKAGES, MUTATION_THRESHOLD,
# MUTATION_WORKERS, MUTATION_TIMEOUT_COEFFICIENT, MUTATION_OUT (logs).
set -euo pipefail

: "${GREMLINS:?}" "${MUTATION_PACKAGES:?}" "${MUTATION_THRESHOLD:?}" "${MUTATION_OUT:?}"
mkdir -p "$MUTATION_OUT"
summary="$MUTATION_OUT/summary.txt"
printf '%-40s %7s %6s %12s %9s\n' package killed lived "not covered" efficacy >"$summary"
failed=()
for pkg in $MUTATION_PACKAGES; do
  log="$MUTATION_OUT/$(echo "${pkg#./}" | tr '/' '_').log"
  echo "mutation: $pkg (log: $log)" >&2
  # gremlins' own exit status is not used: the threshold is checked below,
  # the same way for every package.
  "$GREMLINS" unleash --workers "${MUTATION_WORKERS:-2}" --test-cpu 1 \
    --timeout-coefficient "${MUTATION_TIMEOUT_COEFFICIENT:-3}" \
    -S lt "$pkg" >"$log" 2>&1 || true
  counts=$(sed -n 's/^Killed: \([0-9]*\), Lived: \([0-9]*\), Not covered: \([0-9]*\).*/\1 \2 \3/p' "$log" | tail -n 1)
  if [ -z "$counts" ]; then
    echo "mutation: no result for $pkg; see $log" >&2
    tail -n 20 "$log" >&2
    failed+=("$pkg (no result)")
    continue
  fi
  read -r killed lived uncovered <<<"$counts"
  if [ $((killed + lived)) -eq 0 ]; then
    printf '%-40s %7s %6s %12s %9s\n' "$pkg" "$killed" "$lived" "$uncovered" "n/a" >>"$summary"
    continue
  fi
  efficacy=$(awk -v k="$killed" -v l="$lived" 'BEGIN { printf "%.1f", 100 * k / (k + l) }')
  printf '%-40s %7s %6s %12s %8s%%\n' "$pkg" "$killed" "$lived" "$uncovered" "$efficacy" >>"$summary"
  if awk -v e="$efficacy" -v t="$MUTATION_THRESHOLD" 'BEGIN { exit !(e < t) }'; then
    failed+=("$pkg ($efficacy% < $MUTATION_THRESHOLD%)")
  fi
done
cat "$summary"
if [ ${#failed[@]} -gt 0 ]; then
  echo "mutation: below the threshold of $MUTATION_THRESHOLD% killed (surviving mutants are LIVED in the logs):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
