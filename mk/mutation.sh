#!/usr/bin/env bash
# Runs go-gremlins once per argument ("PATH [gremlins flags...]"), then
# reports efficacy per package (killed / (killed + lived)) and fails if a
# package with covered mutants is below MUTATION_THRESHOLD percent.
#
# Environment: GREMLINS (the binary), MUTATION_THRESHOLD, MUTATION_WORKERS,
# MUTATION_TIMEOUT_COEFFICIENT, MUTATION_OUT (logs and summary).
set -euo pipefail

: "${GREMLINS:?}" "${MUTATION_THRESHOLD:?}" "${MUTATION_OUT:?}"
[ $# -gt 0 ] || { echo "usage: mutation.sh 'PATH [gremlins flags]'..." >&2; exit 2; }
mkdir -p "$MUTATION_OUT"
rm -f "$MUTATION_OUT"/*.log
here=$(cd "$(dirname "$0")" && pwd)
real_go=$(command -v go)
statuses="$MUTATION_OUT/statuses.txt"
: >"$statuses"
for run in "$@"; do
  read -r -a words <<<"$run"
  path=${words[0]}
  log="$MUTATION_OUT/$(echo "${path#./}" | tr '/' '_').log"
  echo "mutation: gremlins unleash ${words[*]:1} $path (log: $log)" >&2
  # gremlins' own exit status is not used: the threshold is checked below,
  # per package, the same way for every run.
  # --integration runs the tests under path only (mk/mutation-go/go).
  # No --test-cpu: gremlins v0.6.0 passes it to go test as one argument
  # ("-cpu 1"), which the test binary rejects, so every mutant would count
  # as killed.
  scope=
  if [[ " ${words[*]:1} " == *" --integration "* ]]; then scope="$path/..."; fi
  MUTATION_REAL_GO=$real_go MUTATION_SCOPE=$scope PATH="$here/mutation-go:$PATH" \
    "$GREMLINS" unleash --workers "${MUTATION_WORKERS:-2}" \
    --timeout-coefficient "${MUTATION_TIMEOUT_COEFFICIENT:-10}" \
    "${words[@]:1}" "$path" >"$log" 2>&1 || true
  # "No results to report." is a package without mutants.
  if ! grep -qE '^(Mutation testing completed|No results to report)' "$log"; then
    echo "mutation: gremlins did not complete for $path:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  # "  KILLED CONDITIONALS_NEGATION at internal/naming/naming.go:90:7"
  awk -v root="${path#./}" '$1 ~ /^(KILLED|LIVED|TIMED|NOT)$/ {
      status = $1; if (status == "TIMED") status = "TIMED_OUT"; if (status == "NOT") status = "NOT_COVERED"
      file = $NF; sub(/:[0-9]+:[0-9]+$/, "", file)
      dir = file; if (!sub(/\/[^\/]*$/, "", dir)) dir = ""
      pkg = root; if (dir != "") pkg = root "/" dir
      print pkg, status, file
    }' "$log" >>"$statuses"
done

summary="$MUTATION_OUT/summary.txt"
awk -v threshold="$MUTATION_THRESHOLD" '
  { n[$1, $2]++; pkgs[$1] = 1 }
  END {
    printf "%-34s %7s %6s %10s %12s %9s\n", "package", "killed", "lived", "timed out", "not covered", "efficacy"
    bad = 0
    for (p in pkgs) order[++count] = p
    for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }
    for (i = 1; i <= count; i++) {
      p = order[i]; k = n[p, "KILLED"] + 0; l = n[p, "LIVED"] + 0
      eff = "n/a"
      if (k + l > 0) {
        e = 100 * k / (k + l); eff = sprintf("%.1f%%", e)
        if (e < threshold) { eff = eff " < " threshold "%"; bad = 1 }
      }
      printf "%-34s %7d %6d %10d %12d %9s\n", p, k, l, n[p, "TIMED_OUT"] + 0, n[p, "NOT_COVERED"] + 0, eff
    }
    exit bad
  }' "$statuses" >"$summary" && ok=1 || ok=0
cat "$summary"
echo "surviving mutants (LIVED) and where: grep -h LIVED $MUTATION_OUT/*.log" >&2
if [ "$ok" != 1 ]; then
  echo "mutation: a package is below the threshold of $MUTATION_THRESHOLD% of covered mutants killed" >&2
  exit 1
fi
