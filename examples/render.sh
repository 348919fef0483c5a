#!/usr/bin/env bash
# Renders an example XR into managed resources, with no cluster and no Docker:
# starts the composition function locally (--insecure, loopback only), runs
# `crossplane composition render` against it with a local Crossplane core as
# the render engine, then stops the function.
#
# Usage: examples/render.sh FUNCTION_BINARY XR_FILE [OBSERVED_RESOURCES] [REQUIRED_RESOURCES]
# REQUIRED_RESOURCES are what Crossplane would answer the function's
# requirements with, such as the platform's EnvironmentConfigs; pass "" for
# OBSERVED_RESOURCES to give them alone.
# Environment: BIN (default ./bin) holds crossplane and crossplane-core.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/bin}
fn=${1:?usage: render.sh FUNCTION_BINARY XR_FILE [OBSERVED_RESOURCES]}
xr=${2:?usage: render.sh FUNCTION_BINARY XR_FILE [OBSERVED_RESOURCES]}
observed=${3:-}
required=${4:-}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first free port from 9443 up, so a function left running elsewhere
# is never rendered against by mistake.
port=9443
while port_in_use "$port"; do
  port=$((port + 1))
  [ "$port" -lt 9543 ] || { echo "render.sh: no free port in 9443-9542" >&2; exit 1; }
done

log=$(mktemp)
# No metrics server: a local render opens no port beyond the loopback one.
"$fn" --insecure --address "127.0.0.1:$port" --metrics-address= >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  port_in_use "$port" && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "render.sh: the function exited before it listened:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
port_in_use "$port" || { echo "render.sh: the function did not listen on 127.0.0.1:$port" >&2; cat "$log" >&2; exit 1; }

args=(composition render "$xr" "$root/package/composition.yaml" "$root/examples/functions.yaml"
  --xrd "$root/package/definition.yaml"
  --crossplane-binary "$bin/crossplane-core"
  -a "render.crossplane.io/runtime-development-target=127.0.0.1:$port"
  --include-function-results)
if [ -n "$observed" ]; then
  args+=(--observed-resources "$observed")
fi
if [ -n "$required" ]; then
  args+=(--required-resources "$required")
fi
"$bin/crossplane" "${args[@]}"
