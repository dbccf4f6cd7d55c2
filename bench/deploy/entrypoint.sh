#!/usr/bin/env bash
# The bench image's entry point: one bench run on this host (the same `kpb-bench run` the Nx
# targets and the quickstart call; arguments: its flags, default --quick), then results.json and
# report.md on stdout between marker lines, so that the pod log is the result:
#   kpb report --collect <log> -o <dir>   splits a log of many pods back into a folder per host.
set -euo pipefail
cd "$(dirname "$0")/../.."
host=${NODE_NAME:-$(hostname)}
out=${KPB_OUT:-/out}/$host
[ $# -gt 0 ] || set -- --quick
echo "kpb-bench on $host: $*" >&2
npx tsx bench/src/main.ts run --no-progress --out "$out" "$@" >&2
echo "=== kpb-results $host begin ==="
cat "$out/results.json"
echo "=== kpb-results $host end ==="
echo "=== kpb-report $host begin ==="
cat "$out/report.md"
echo "=== kpb-report $host end ==="
