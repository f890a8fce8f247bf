#!/usr/bin/env python3
"""Times `sha256sum` and `amanah audit verify` over one export (BENCHMARKS.md, target 1).

    python3 bench/time_verify.py DIR AMANAH_BIN --vkey FILE [--runs 3]

DIR is an export (`events.jsonl`, `checkpoint`, `log.vkey`), e.g. one written by
`cargo run --release -p amanah-infra --example verify_bench -- 1000000 --out DIR`. FILE is the
log's verification key as obtained out of band (`amanah audit key` run where the log is kept):
`audit verify` refuses to vouch for an export checked only against its own `log.vkey`.
Each command runs under `/usr/bin/time -v` after the file was read once (warm page cache);
the script prints wall time, user+sys CPU time and peak RSS of every run, then the medians as
MB/s (decimal megabytes of events.jsonl per second) and the ratio verify / sha256sum.
The machine may be shared: CPU time (user + sys) is the figure that other load disturbs least,
wall time is printed beside it.
"""

import os
import re
import statistics
import subprocess
import sys
import time


def run(argv):
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *argv], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    field = lambda name: re.search(rf"{re.escape(name)}: (\S+)", done.stderr).group(1)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss_kib = int(field("Maximum resident set size (kbytes)"))
    return wall, cpu, rss_kib, done.stdout.strip()


def main():
    args = sys.argv[1:]
    runs = 3
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at : at + 2]
    if "--vkey" not in args:
        sys.exit(__doc__)
    at = args.index("--vkey")
    vkey = args[at + 1]
    del args[at : at + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    directory, amanah = args
    events = os.path.join(directory, "events.jsonl")
    size = os.path.getsize(events)
    with open(events, "rb") as f:  # warm the page cache
        while f.read(1 << 20):
            pass
    commands = {
        "sha256sum": ["sha256sum", events],
        "amanah audit verify": [amanah, "audit", "verify", directory, "--vkey", vkey],
    }
    results = {name: [] for name in commands}
    for n in range(runs):
        for name, argv in commands.items():  # interleaved, so drifting load hits both alike
            wall, cpu, rss, out = run(argv)
            results[name].append((wall, cpu, rss))
            print(
                f"run {n + 1} {name:<20} wall {wall:7.3f} s  cpu {cpu:7.3f} s  "
                f"peak RSS {rss / 1024:7.1f} MiB  | {out.splitlines()[-1][:90]}"
            )
    print(f"\nevents.jsonl: {size} bytes; medians of {runs} runs:")
    medians = {}
    for name, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        rss = max(r[2] for r in rows)
        medians[name] = (wall, cpu)
        print(
            f"{name:<20} wall {wall:7.3f} s = {size / 1e6 / wall:7.1f} MB/s   "
            f"cpu {cpu:7.3f} s = {size / 1e6 / cpu:7.1f} MB/s   peak RSS {rss / 1024:.1f} MiB"
        )
    sha, verify = medians["sha256sum"], medians["amanah audit verify"]
    print(
        f"verify speed / sha256sum speed: wall {sha[0] / verify[0]:.2f}   cpu {sha[1] / verify[1]:.2f}"
    )


if __name__ == "__main__":
    main()
