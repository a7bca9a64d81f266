#!/usr/bin/env bash
# dist/order.sh: regenerates dist/ledgerd.order, the function order `cargo build-static` hands the
# linker (lld's --symbol-ordering-file). It links the static binary with a link map, runs it under
# valgrind's callgrind twice (the embedded default config with the web pages fetched, then the
# probe_load bench's HTTP probes) and writes the functions that ran, first run first, so that they
# sit together at the start of .text: the kernel maps code 64 KB around each page a process
# touches, and scattered start-up code kept ~12 MB of the binary resident (benches/README.md,
# "Function order"); the functions the previous order listed that still exist follow them. Four
# native rounds come next: 1,000 probes under `perf record -e page-faults`,
# appending each function whose code still faulted outside the order. dist/order.py reads the maps
# and profiles. It only observes runs of ledgerd; it changes nothing but dist/ledgerd.order.
# Needs valgrind, perf (linux-perf), python3 and curl (Debian packages); ~20 minutes on 2 cores.
# A stale order file is harmless: names it lists that no longer exist are passed over, new
# functions land after the listed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
for c in valgrind perf python3 curl; do
  command -v "$c" >/dev/null || { echo "order.sh: needs $c (apt-get install $c)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'pkill -TERM -f "callgrind.*$work" 2>/dev/null || true; rm -rf "$work"' EXIT

link() { # $1: where the link map goes; the flags of `cargo build-static` plus a map
  touch src/main.rs
  cargo rustc --quiet --release --bin ledgerd -- -C target-feature=+crt-static -C relocation-model=static \
    -C link-arg=-Wl,--symbol-ordering-file=dist/ledgerd.order -C link-arg=-Wl,--no-warn-symbol-ordering \
    -C "link-arg=-Wl,-Map=$1" -C link-arg=-Wl,--no-demangle
}
echo "order.sh: linking the static binary with a map (a release build)" >&2
link "$work/ledgerd.map"
cp target/release/ledgerd "$work/ledgerd"
cargo build --quiet --bench probe_load
bench=$(ls -t target/debug/deps/probe_load-* | grep -v '\.d$' | head -1)

fetch_pages() { # $1: port; three rounds over the dashboard, API and metrics
  for _ in 1 2 3; do
    sleep 15
    for p in / /healthz /metrics /api/v1/summary /api/v1/lessons /api/v1/probes /api/v1/observations \
      /api/v1/rollups /api/v1/incidents /api/v1/transitions /api/v1/silences /api/v1/agents /api/v1/openapi.json; do
      curl -s -o /dev/null --max-time 20 "http://127.0.0.1:$1$p" || true
    done
  done
}

echo "order.sh: run 1, the embedded default config (75 s under callgrind)" >&2
mkdir -p "$work/home"
HOME="$work/home" valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/default.out" \
  "$work/ledgerd" run >"$work/default.log" 2>&1 &
vg=$!
for _ in $(seq 1 60); do curl -s -o /dev/null "http://127.0.0.1:9477/healthz" && break; sleep 1; done
fetch_pages 9477
sleep 25
kill -TERM "$vg"; wait "$vg" || true

echo "order.sh: run 2, 50 HTTP probes from the probe_load bench (75 s under callgrind)" >&2
cat >"$work/vg-ledgerd" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file=$work/bench.out $work/ledgerd "\$@"
SH
chmod +x "$work/vg-ledgerd"
(
  for _ in $(seq 1 60); do
    port=$(ss -ltnp 2>/dev/null | grep -F "valgrind" | awk '{print $4}' | sed 's/.*://' | head -1)
    [ -n "$port" ] && break; sleep 1
  done
  [ -n "${port:-}" ] && fetch_pages "$port"
) &
"$bench" --probes 50 --seconds 75 --interval 10s --ledgerd "$work/vg-ledgerd" >"$work/bench.log" 2>&1 || true
wait

python3 dist/order.py callgrind "$work"

# Then four native rounds: link with the order so far, run 1,000 HTTP probes of the bench under
# `perf record -e page-faults` and append the functions whose code faulted and that the order
# lacks (the AVX-512 string functions valgrind hides, paths a short run under callgrind misses).
for round in 1 2 3 4; do
  echo "order.sh: native round $round of 4 (a link, then 45 s of 1,000 probes under perf)" >&2
  link "$work/native$round.map"
  cp target/release/ledgerd "$work/native$round"
  cat >"$work/perf-ledgerd" <<SH
#!/bin/sh
exec perf record -q -e page-faults -c 1 -d -o $work/faults$round.data $work/native$round "\$@"
SH
  chmod +x "$work/perf-ledgerd"
  "$bench" --probes 1000 --seconds 40 --interval 10s --ledgerd "$work/perf-ledgerd" \
    >"$work/native$round.log" 2>&1 || true
  perf script -i "$work/faults$round.data" -F addr >"$work/faults$round.txt" 2>/dev/null
  python3 dist/order.py faults "$work/native$round.map" "$work/faults$round.txt"
done
echo "order.sh: done; link with cargo build-static" >&2
