#!/usr/bin/env bash
# Load test of DESIGN §4: requests per second of a protected route (GET /api/me behind
# RequireSession, bearer token) against an unprotected one (GET /healthz) on the same demo server,
# with the load from a second process (wrk). Needs wrk (apt-get install wrk).
#
#   scripts/loadtest.sh [seconds per run, default 10] [connections, default 32]
#
# DEMO_FLAGS adds flags to the demo, for instance another store:
#   DEMO_FLAGS="-store postgres://localhost/test -fast-store redis://localhost:6379" scripts/loadtest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-32}"
port=18080
origin="http://127.0.0.1:$port"
tmp="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
go build -o "$tmp/demo" ./examples/server
go build -o "$tmp/signin" ./examples/signin
"$tmp/demo" -addr "127.0.0.1:$port" -origin "$origin" -db "$tmp/wa.db" -rate 0 ${DEMO_FLAGS:-} 2>"$tmp/demo.log" &
pid=$!
for _ in $(seq 50); do curl -sf "$origin/healthz" >/dev/null && break; sleep 0.1; done

token="$("$tmp/signin" -base "$origin" | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')"
curl -sf -H "Authorization: Bearer $token" "$origin/api/me" >/dev/null || { echo "token refused" >&2; exit 1; }

rps() { wrk -t2 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
# Both runs send the same request headers (the unprotected route ignores the token), so that
# the difference is what the protection costs, not the size of the request.
free=$(rps -H "Authorization: Bearer $token" "$origin/healthz")
guarded=$(rps -H "Authorization: Bearer $token" "$origin/api/me")
# The access token lives 60 s; a run longer than that would measure 401s.
echo "unprotected GET /healthz: $free req/s"
echo "protected   GET /api/me:  $guarded req/s"
awk -v a="$guarded" -v b="$free" 'BEGIN { printf "protected / unprotected: %.2f (target >= 0.80)\n", a / b; exit !(a / b >= 0.80) }'
