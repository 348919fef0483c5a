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

log=$(mktemp)
# Port 0: the kernel gives the function a free port atomically, so no other
# process can hold the port it is rendered against (choosing a free port
# first and starting the function second leaves a window in which another
# process can take it). No metrics server: a local render opens no port
# beyond this loopback one.
"$fn" --insecure --address 127.0.0.1:0 --metrics-address= >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

# The function logs the address it listens on ("Serving function").
address=
for _ in $(seq 1 100); do
  address=$(sed -n 's/.*"msg":"Serving function".*"address":"\([^"]*\)".*/\1/p' "$log" | head -n 1)
  [ -n "$address" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "render.sh: the function exited before it listened:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$address" ] || { echo "render.sh: the function did not report its address within 10 s:" >&2; cat "$log" >&2; exit 1; }
port=${address##*:}

# Where /proc exists, check that the listening socket is the function's own.
if [ -d "/proc/$pid/fd" ]; then
  inode=$(awk -v port="$(printf '%04X' "$port")" \
    '$2 == "0100007F:" port && $4 == "0A" { print $10; exit }' /proc/net/tcp)
  if [ -z "$inode" ] || ! ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "socket:\[$inode\]"; then
    echo "render.sh: 127.0.0.1:$port is not served by the function this script started (pid $pid)" >&2
    exit 1
  fi
fi

# The namespaced CicdPipeline (cicd.m.platform.dev) has its own XRD and
# Composition; every other XR is the claim API's.
composition=$root/package/composition.yaml
definition=$root/package/definition.yaml
if grep -q '^apiVersion: cicd\.m\.platform\.dev/' "$xr"; then
  composition=$root/package/composition-namespaced.yaml
  definition=$root/package/definition-namespaced.yaml
fi

args=(composition render "$xr" "$composition" "$root/examples/functions.yaml"
  --xrd "$definition"
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
