#!/usr/bin/python3
"""Two builds of bench-webhooks side by side: before and after a change.

Runs the two binaries one after the other, alternating, RUNS times each, so
that the machine's mood falls on both alike. bench-webhooks measures bare
libcurl in every run, and the deliverer against it: the share of bare
libcurl is what the target speaks of, but bare libcurl itself moves by a
third from run to run here, so the deliveries per second and the CPU time
the client spends per delivery are compared too.

    bench/compare-webhooks.py BEFORE AFTER [--runs N] [-- BENCH ARGS...]

BEFORE and AFTER are bench-webhooks binaries (e.g. from a `git worktree` of
the commit before, built the same way). Prints every run, then per store the
medians of each build and after/before.
"""

import argparse
import re
import statistics
import subprocess
import sys

ROW = re.compile(r"^(bare libcurl|dovewarden \w+)\s+(\d+)\s+(\d+)%\s+([\d.]+)")
LATENCY = re.compile(r"^(dovewarden \w+)\s+\d+/\d+\s+([\d.]+)\s+([\d.]+)")


def run(binary, args):
    """Returns {row: (requests/s, % of bare, client CPU us per request)} and
    {row: (latency p50, p99)}."""
    done = subprocess.run([binary] + args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"{binary} failed ({done.returncode})")
    rates, latencies = {}, {}
    in_latency = False
    for line in done.stdout.splitlines():
        in_latency = in_latency or line.startswith("latency:")
        match = (LATENCY if in_latency else ROW).match(line)
        if match and in_latency:
            latencies[match[1]] = (float(match[2]), float(match[3]))
        elif match:
            rates[match[1]] = (int(match[2]), int(match[3]), float(match[4]))
    return rates, latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--runs", type=int, default=3)
    args = sys.argv[1:]
    split = args.index("--") if "--" in args else len(args)
    bench_args = args[split + 1:]
    options = parser.parse_args(args[:split])

    ratios = {"before": {}, "after": {}}
    rates = {"before": {}, "after": {}}
    cpu = {"before": {}, "after": {}}
    print(f"{'run':<10} {'bare req/s':>10}  deliverer: req/s (% of bare), "
          "client CPU us/req, latency p50/p99 ms")
    for n in range(1, options.runs + 1):
        for label, binary in (("before", options.before),
                              ("after", options.after)):
            rows, latencies = run(binary, bench_args)
            cells = []
            for row, (per_second, ratio, client_us) in rows.items():
                if row == "bare libcurl":
                    continue
                store = row.split()[1]
                ratios[label].setdefault(store, []).append(ratio)
                rates[label].setdefault(store, []).append(per_second)
                cpu[label].setdefault(store, []).append(client_us)
                p50, p99 = latencies.get(row, (float("nan"),) * 2)
                cells.append(f"{store} {per_second} ({ratio}%) {client_us} "
                             f"{p50:.2f}/{p99:.2f}")
            print(f"{label + ' ' + str(n):<10} "
                  f"{rows['bare libcurl'][0]:>10}  " + ", ".join(cells),
                  flush=True)

    print()
    print("medians       % of bare libcurl            deliveries/s"
          "       client CPU us/delivery")
    print(f"{'store':<8} {'before':>7} {'after':>7} {'ratio':>6}"
          f" {'before':>9} {'after':>9} {'ratio':>6}"
          f" {'before':>7} {'after':>7} {'ratio':>6}")
    for store in ratios["before"]:
        median = {label: (statistics.median(ratios[label][store]),
                          statistics.median(rates[label][store]),
                          statistics.median(cpu[label][store]))
                  for label in ("before", "after")}
        (share0, rate0, cpu0) = median["before"]
        (share1, rate1, cpu1) = median["after"]
        print(f"{store:<8} {share0:>6.0f}% {share1:>6.0f}% "
              f"{share1 / share0:>6.2f} {rate0:>9.0f} {rate1:>9.0f} "
              f"{rate1 / rate0:>6.2f} {cpu0:>7.1f} {cpu1:>7.1f} "
              f"{cpu1 / cpu0:>6.2f}")

if __name__ == "__main__":
    main()
