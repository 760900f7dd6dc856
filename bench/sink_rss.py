#!/usr/bin/env python3
"""Pipeline (b) alone: Kafka -> FileStreamSink, JSON without schemas, luaconnect only.

Runs compare.py's (b) row --runs times on one input topic and prints records/s, worker CPU
per record and peak RSS of each run (the same clock and checks as make bench). The topic is
written once by the (a) configuration unless --topic names one a previous run printed.
--consumer KEY=VALUE (repeatable) adds consumer.KEY=VALUE to the worker config, to compare
the sink consumer's settings.

usage: bench/sink_rss.py --bootstrap HOST:PORT --binary build/luaconnect [--records 1000000]
           [--runs 3] [--topic TOPIC] [--consumer KEY=VALUE]..."""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--topic")
    ap.add_argument("--consumer", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    args.no_connect, args.connect_lib = True, None
    bench = compare.Bench(args)
    # connector names (so consumer groups) come from bench.seq: start it past any earlier
    # invocation's, so a reused --topic is read from its start again
    bench.seq = int(time.time()) % 100_000_000
    extra = dict(kv.split("=", 1) for kv in args.consumer)
    worker = bench.worker

    def with_consumer(tag, schemas):
        path = worker(tag, schemas)
        with open(path, "a") as f:
            f.writelines(f"consumer.{k}={v}\n" for k, v in extra.items())
        return path
    bench.worker = with_consumer
    n = args.records
    topic = args.topic
    if not topic:
        lines = os.path.join(bench.tmp, "lines.txt")
        compare.write_lines(lines, n)
        if not bench.source_pipeline("prefill", "luaconnect", lines, n, False)["ok"]:
            sys.exit("sink_rss: the run that writes the input topic failed")
        topic = f"bench-{bench.run_id}-prefill-luaconnect-{bench.seq}-clean"
        print(f"sink_rss: input topic {topic}", flush=True)
    print(f"sink_rss: consumer settings {extra or 'none beyond the defaults'}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    ok = [r for r in (bench.sink_pipeline("luaconnect", topic, n, i + 1) for i in range(args.runs))
          if r["ok"]]
    if ok:
        print(f"sink_rss: median {statistics.median(r['rps'] for r in ok):,.0f} rec/s, "
              f"{statistics.median(r['cpu_us'] for r in ok):.2f} us CPU/record, "
              f"{statistics.median(r['peak_rss'] for r in ok):.1f} MB peak RSS "
              f"({len(ok)} of {args.runs} runs); load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    bench.offsets.close()
    compare.shutil.rmtree(bench.tmp, ignore_errors=True)
    if len(ok) < args.runs:
        sys.exit(1)


if __name__ == "__main__":
    main()
