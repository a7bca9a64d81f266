"""dist/order.py: the two passes of dist/order.sh that turn a run of ledgerd into function names.

`callgrind WORK`: writes dist/ledgerd.order from WORK/ledgerd.map and the callgrind outputs
WORK/default.out and WORK/bench.out, the functions each run called, first run first, followed by
the functions of the previous order that the map still has.
`faults MAP ADDRS`: appends to dist/ledgerd.order the functions whose code page-faulted in a
native run (ADDRS: one faulting address a line, from `perf script -F addr`) and that the order
does not list yet: valgrind hides AVX-512, so glibc's string functions differ under it, and a
short run under callgrind misses paths a 1,000-probe run takes.
It reads a link map and profiles; it writes dist/ledgerd.order and nothing else.
"""

import bisect
import re
import sys

ORDER = "dist/ledgerd.order"


def text_symbols(map_path):
    """The link map's .text symbols, sorted: (address, size, name)."""
    syms, in_text = [], False
    for line in open(map_path):
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
    return syms


class Finder:
    def __init__(self, syms):
        self.syms = syms
        self.starts = [s[0] for s in syms]

    def name(self, addr):
        j = bisect.bisect_right(self.starts, addr) - 1
        if j >= 0 and addr < self.syms[j][0] + max(self.syms[j][1], 1):
            return self.syms[j][2]
        return None


def callgrind_targets(path):
    """Addresses of the functions a callgrind output saw run in the ledgerd object."""
    names, obs, ob, cob, addrs = {}, {}, None, None, []
    for line in open(path, errors="replace"):
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
    return addrs


def extend(order, seen, find, addrs):
    """Appends to order the functions at addrs it lacks; returns how many addresses fell in one."""
    hits = 0
    for a in addrs:
        n = find.name(a)
        if n is None:
            continue
        hits += 1
        if n not in seen:
            seen.add(n)
            order.append(n)
    return hits


def callgrind(work):
    find = Finder(text_symbols(f"{work}/ledgerd.map"))
    order, seen = [], set()
    for run in ("default", "bench"):
        addrs = callgrind_targets(f"{work}/{run}.out")
        hits = extend(order, seen, find, addrs)
        print(f"order.py: {run}: {len(addrs)} call targets, {hits} in known functions", file=sys.stderr)
        if not addrs or hits < len(addrs) * 0.9:
            sys.exit(f"order.py: {run}: too few call targets matched the map; nothing written")
    # then the functions of the previous order that still exist: a native round sees only the
    # first fault in each 64 KB window, so what earlier rounds found is kept, not found again
    exists = {s[2] for s in find.syms}
    kept = [n for n in open(ORDER).read().split() if n in exists and n not in seen]
    order += kept
    open(ORDER, "w").write("\n".join(order) + "\n")
    print(f"order.py: wrote {len(order)} functions to {ORDER} ({len(kept)} kept from the previous order)", file=sys.stderr)


def faults(map_path, addrs_path):
    find = Finder(text_symbols(map_path))
    order = [line.strip() for line in open(ORDER) if line.strip()]
    before = len(order)
    addrs = []
    for line in open(addrs_path):
        try:
            addrs.append(int(line.split()[0], 16))
        except (IndexError, ValueError):
            continue
    text = extend(order, set(order), find, addrs)
    open(ORDER, "w").write("\n".join(order) + "\n")
    print(f"order.py: {text} faults in code, {len(order) - before} functions added", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "callgrind":
        callgrind(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "faults":
        faults(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: order.py callgrind WORK | order.py faults MAP ADDRS")
