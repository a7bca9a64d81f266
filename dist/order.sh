#!/usr/bin/env bash
# dist/order.sh: regenerates dist/ledgerd.order, the function order `cargo build-static` hands the
# linker (lld's --symbol-ordering-file). It links the static binary with a link map, runs it under
# valgrind's callgrind twice (the embedded default config with the web pages fetched, then the
# probe_load bench's HTTP probes) and writes the functions that ran, first run first, so that they
# sit together at the start of .text: the kernel maps code 64 KB around each page a process
# touches, and scattered start-up code kept ~12 MB of the binary resident (benches/README.md,
# "Function order"). It only observes a run of ledgerd; it changes nothing but dist/ledgerd.order.
# Needs valgrind, python3 and curl (Debian packages). A stale order file is harmless: names it
# lists that no longer exist are passed over, new functions land after the listed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
for c in valgrind python3 curl; do
  command -v "$c" >/dev/null || { echo "order.sh: needs $c (apt-get install $c)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'pkill -TERM -f "callgrind.*$work" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "order.sh: linking the static binary with a map (a release build)" >&2
cargo rustc --quiet --release --bin ledgerd -- -C target-feature=+crt-static \
  -C link-arg=-Wl,--symbol-ordering-file=dist/ledgerd.order -C link-arg=-Wl,--no-warn-symbol-ordering \
  -C "link-arg=-Wl,-Map=$work/ledgerd.map" -C link-arg=-Wl,--no-demangle
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

python3 - "$work" <<'PY'
import bisect, re, sys
work = sys.argv[1]
# the map's .text symbols: address, size, name
syms, in_text = [], False
for line in open(f"{work}/ledgerd.map"):
    p = line.split()
    if len(p) == 5 and p[4] == ".text":
        in_text = True
        continue
    if not in_text or len(p) != 5:
        continue
    if p[4].startswith("."):
        in_text = False
    elif not p[4].startswith(("/", "<")):
        syms.append((int(p[0], 16), int(p[2], 16), p[4]))
syms.sort()
starts = [s[0] for s in syms]
order, seen = [], set()
for run in ("default", "bench"):
    names, obs, ob, cob, addrs = {}, {}, None, None, []
    for line in open(f"{work}/{run}.out", errors="replace"):
        m = re.match(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        k, i, n = m.groups()
        if k in ("ob", "cob"):
            if n:
                obs[i] = n
            if k == "ob":
                ob, cob = obs.get(i), None
            else:
                cob = obs.get(i)
            continue
        if n:
            names[i] = n
        obj = ob if k == "fn" else (cob or ob)
        if k == "cfn":
            cob = None
        name = names.get(i, "")
        if obj and obj.endswith("/ledgerd") and name.startswith("0x"):
            addrs.append(int(name.split("'")[0], 16))
    hits = 0
    for a in addrs:
        j = bisect.bisect_right(starts, a) - 1
        if j >= 0 and a < syms[j][0] + max(syms[j][1], 1):
            hits += 1
            if syms[j][2] not in seen:
                seen.add(syms[j][2])
                order.append(syms[j][2])
    print(f"order.sh: {run}: {len(addrs)} call targets, {hits} in known functions", file=sys.stderr)
    if not addrs or hits < len(addrs) * 0.9:
        sys.exit(f"order.sh: {run}: too few call targets matched the map; nothing written")
open("dist/ledgerd.order", "w").write("\n".join(order) + "\n")
print(f"order.sh: wrote {len(order)} functions to dist/ledgerd.order", file=sys.stderr)
PY
