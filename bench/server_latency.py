#!/usr/bin/env python3
"""Server-side latency of the proof benchmark, from `amanah serve`'s own log (BENCHMARKS.md §2).

    python3 bench/server_latency.py DATA_DIR/serve.log [BLOCK] [MODES]

`bench/proof_latency.sh` runs the driver 3 × 3 times (modes none, random, baseline); each run
sends 1 checked query, 500 warm-up and 5000 timed queries (BLOCK = 5501 POST /graphql lines).
The server logs `latency_ms` of every request ("request finished"); this prints p50/p95/p99/max
of the timed ones of each run, i.e. the time inside the server, without the client and loopback.
"""

import math
import re
import sys


def main():
    path = sys.argv[1]
    block = int(sys.argv[2]) if len(sys.argv) > 2 else 5501
    modes = sys.argv[3].split(",") if len(sys.argv) > 3 else ["none", "random", "baseline"]
    pattern = re.compile(r"latency_ms=([\d.]+)")
    latencies = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            if "POST" in line and "route=/graphql" in line:
                found = pattern.search(line)
                if found:
                    latencies.append(float(found.group(1)))
    print(f"{len(latencies)} POST /graphql requests")
    for n in range(len(latencies) // block):
        timed = sorted(latencies[n * block + 501 : (n + 1) * block])

        def rank(q):
            # nearest rank, as the load driver computes it
            return timed[min(len(timed), max(1, math.ceil(q * len(timed)))) - 1]

        print(
            f"run {n // len(modes) + 1} {modes[n % len(modes)]:9} n={len(timed)} "
            f"p50 {rank(0.50):.3f} ms  p95 {rank(0.95):.3f} ms  p99 {rank(0.99):.3f} ms  "
            f"max {timed[-1]:.3f} ms"
        )


if __name__ == "__main__":
    main()
