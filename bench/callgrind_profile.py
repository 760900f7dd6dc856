#!/usr/bin/env python3
"""Instructions per record of pipeline (a), (b), (c) or (a1k) of bench/compare.py, with callgrind.

Runs the worker under `valgrind --tool=callgrind` on the pipeline with a small and a large
input (same configuration as make bench), stops it once every record arrived, and divides
the difference of the two runs' instruction counts by the difference of their sizes, so the
worker's start-up and shutdown drop out. Every thread of the worker is counted (librdkafka's
too); JIT-compiled Lua shows as one anonymous block. Deterministic enough on a busy
machine, where wall-clock figures are not (the counts move by ~1% between runs).

usage: bench/callgrind_profile.py --bootstrap HOST:PORT --binary build/luaconnect --pipeline a|b|c|a1k
           [--records 100000] [--small 20000] [--out DIR] [--top 30] [--functions F,G]
Prints instructions per record (of every thread, of the task thread, and inclusive of each
function named in --functions), and the top functions (inclusive and self) of the large
run; keeps the callgrind files in --out (default a temporary directory)."""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


class Profiled(compare.Bench):
    """compare.Bench with the luaconnect worker under callgrind."""

    def __init__(self, args, out):
        args.no_connect = True
        super().__init__(args)
        self.out, self.profile, self.files = out, False, []

    def command(self, side, worker, connector):
        cmd = super().command(side, worker, connector)
        if not self.profile:
            return cmd
        f = os.path.join(self.out, f"callgrind.{self.args.pipeline}.{self.n}.out")
        self.files.append(f)
        return ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={f}"] + cmd


def total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"{path}: no totals line")


TASK_MAIN = {"a": "lc_source_task_main", "b": "lc_sink_task_main", "c": "lc_source_task_main",
             "a1k": "lc_source_task_main"}


def inclusive(path, fn):
    """Inclusive instructions of function fn in a callgrind file."""
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    for line in ann.splitlines():
        m = re.match(r"^\s*([0-9,]+) \(.*:" + re.escape(fn) + r" \[", line)
        if m:
            return int(m.group(1).replace(",", ""))
    raise RuntimeError(f"{path}: no {fn}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--pipeline", choices=("a", "b", "c", "a1k"), required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--small", type=int, default=20000)
    ap.add_argument("--out")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--functions",
                    default="lc_source_api_offset,lc_tracker_add,lc_tracker_add_superseded",
                    help="comma-separated functions whose inclusive instructions a record "
                         "are printed")
    args = ap.parse_args()
    args.connect_lib, args.rounds = "", 1
    out = os.path.abspath(args.out or compare.tempfile.mkdtemp(prefix="lc-profile-"))
    os.makedirs(out, exist_ok=True)
    compare.RUN_TIMEOUT = 1800
    counts = {}
    for n in (args.small, args.records):
        b = Profiled(args, out)
        b.n = n
        lines = os.path.join(b.tmp, "lines.txt")
        compare.write_lines(lines, n, 1024 if args.pipeline == "a1k" else 100)
        if args.pipeline in ("a", "c", "a1k"):
            b.profile = True
            res = b.source_pipeline(args.pipeline, "luaconnect", lines, n, args.pipeline == "c")
        else:
            pre = b.source_pipeline("prefill", "luaconnect", lines, n, False)
            if not pre["ok"]:
                sys.exit(f"profile: prefill failed: {pre['error']}")
            topic = f"bench-{b.run_id}-prefill-luaconnect-{b.seq}-clean"
            b.profile = True
            res = b.sink_pipeline("luaconnect", topic, n)
        if not res["ok"]:
            sys.exit(f"profile: run failed: {res['error']}")
        counts[n] = b.files[-1]
        b.offsets.close()
    ir = {n: total(f) for n, f in counts.items()}
    per = (ir[args.records] - ir[args.small]) / (args.records - args.small)
    print(f"pipeline ({args.pipeline}): {ir[args.small]:,} instructions for {args.small:,} "
          f"records, {ir[args.records]:,} for {args.records:,}: {per:,.0f} instructions a "
          f"record (the difference over the difference; every thread)")
    fn = TASK_MAIN[args.pipeline]
    tm = {n: inclusive(f, fn) for n, f in counts.items()}
    print(f"  of which the task thread ({fn}, inclusive): "
          f"{(tm[args.records] - tm[args.small]) / (args.records - args.small):,.0f} a record")
    for fn in filter(None, args.functions.split(",")):
        try:
            fm = {n: inclusive(f, fn) for n, f in counts.items()}
        except RuntimeError:
            print(f"  {fn}: not in the profile")
            continue
        print(f"  {fn} (inclusive): "
              f"{(fm[args.records] - fm[args.small]) / (args.records - args.small):,.0f} a record")
    for incl in (False, True):
        ann = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if incl else 'no'}",
                              counts[args.records]], capture_output=True, text=True).stdout
        rows = [l for l in ann.splitlines() if re.match(r"^\s*[0-9,]+ \(", l)]
        print(f"\ntop {args.top} functions, {'inclusive' if incl else 'self'} "
              f"({args.records:,} records, whole run):")
        print("\n".join(rows[:args.top + 1]))
    print(f"\ncallgrind files: {out}")


if __name__ == "__main__":
    main()
