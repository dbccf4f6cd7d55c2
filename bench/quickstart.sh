#!/usr/bin/env bash
# The main job of the README's Quick start: set up (system packages, npm ci, native addon), then a
# small side-by-side comparison of kpb's backends on a generated 1k-service cluster, each loaded
# into a throwaway network namespace, verified and flushed, with the timings of every stage.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false
SERVICES=${KPB_SERVICES:-1000}

if [ "$(id -u)" != 0 ]; then
  echo "quickstart: run as root (it installs packages and loads rules into a network namespace it creates)" >&2
  exit 2
fi

echo "== 1/3 system packages (nftables, iptables, libnftnl, libmnl, iproute2)"
need=()
for p in nftables iptables libnftnl-dev libmnl-dev pkg-config iproute2 conntrack socat g++ make python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "   nft $(nft --version | awk '{print $2}'), $(iptables --version), libnftnl $(pkg-config --modversion libnftnl)"

echo "== 2/3 npm ci (and the native addon build)"
npm ci --no-audit --no-fund --loglevel=error

echo "== 3/3 side-by-side: ${SERVICES} services x 3 endpoints, every backend and layout"
# Generate, compile, load into throwaway namespaces, verify, sync, flush; report in a temp folder.
out=$(mktemp -d /tmp/kpb-quickstart.XXXXXX)
npx nx run bench:compare --outputStyle=stream -- --quick --services "$SERVICES" --out "$out/report"
echo
echo "Report: $out/report/report.md (results.json and SVG charts beside it)"
