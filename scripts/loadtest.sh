#!/usr/bin/env bash
# Load test of `masrouter serve` on the simulated pool: requests per second
# and p50/p99 latency at a fixed concurrency, measured with wrk.
#
#   bash scripts/loadtest.sh                       # 64 connections, 20 s
#   CONCURRENCY=16 DURATION=10s bash scripts/loadtest.sh
#
# Every request POSTs GSM8K test question 0 to /v1/chat/completions; the
# server routes it (untrained controller), runs the plan on the simulated
# models of examples/pool.sim.yaml (time_scale 0: simulated calls answer at
# once, so this measures masrouter itself, not model latency) and replies
# with the plan's usage. Installs wrk from Debian's packages when missing.
# Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-20s}
THREADS=${THREADS:-2}
POOL=${POOL:-examples/pool.sim.yaml}

if ! command -v wrk >/dev/null 2>&1; then
	echo "installing wrk (Debian package)..." >&2
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/masrouter" ./cmd/masrouter
"$work/masrouter" serve --pool "$POOL" --addr 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!
url=""
for _ in $(seq 1 300); do
	url=$(sed -n 's/^masrouter: listening on \(http:\/\/[^ ]*\)$/\1/p' "$work/serve.out")
	if [ -n "$url" ]; then break; fi
	if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log" >&2; exit 1; fi
	sleep 0.1
done
if [ -z "$url" ]; then echo "the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; fi

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"model": "masrouter", "messages": [{"role": "user", "content": "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"}]}]]

done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("requests: %d in %.1f s\n", summary.requests, secs))
	io.write(string.format("req/s: %.0f\n", summary.requests / secs))
	io.write(string.format("p50: %.2f ms\n", latency:percentile(50) / 1000))
	io.write(string.format("p90: %.2f ms\n", latency:percentile(90) / 1000))
	io.write(string.format("p99: %.2f ms\n", latency:percentile(99) / 1000))
	io.write(string.format("max: %.2f ms\n", latency.max / 1000))
	io.write(string.format("errors: connect %d, read %d, write %d, timeout %d, non-2xx %d\n",
		e.connect, e.read, e.write, e.timeout, e.status))
end
LUA

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "server: $url ($(head -c 200 "$work/serve.out" | sed -n 2p))"
echo "wrk -t$THREADS -c$CONCURRENCY -d$DURATION --latency -s post.lua $url/v1/chat/completions"
wrk -t"$THREADS" -c"$CONCURRENCY" -d"$DURATION" --timeout 10s --latency -s "$work/post.lua" "$url/v1/chat/completions" | tee "$work/wrk.out" | sed -n '/^requests:/,$p'
echo "machine: $(nproc) cores, $(uname -m), $(go version | cut -d' ' -f3), load average before the run: $load"
if ! grep -q "non-2xx 0$" "$work/wrk.out"; then echo "some requests failed" >&2; exit 1; fi
