#!/usr/bin/env python3
"""How stable faultline-bench's figures are from one invocation to the next.

usage: spread.py [-n N] PROGRAM [BENCH ARGS...]

Runs PROGRAM (faultline-bench) N times (default 10) with --json and the
given arguments, one invocation after another, and prints for each figure
its min, median and max over the invocations and the spread (max / min).

The raw ring runs beside faultline in every invocation and has no
faultline code in it, so it shows what the machine did: a ring ping-pong
p50 far above the lowest seen means the two processes' cores were far
apart for that invocation (on a shared virtual machine the host places
the two vCPUs, and a round trip across its caches costs several times
one within them).  The last lines therefore repeat the spreads of the
invocations whose ring p50 stayed within 2.5 times the lowest ring p50
(the levels seen: about 110 ns, 200 and 750),
and print the spread of the faultline/ring ratios, which cancel what
the machine did to both.

Exits 1 when an invocation fails (its stderr is shown) or lacks one of
the figures, 2 on bad usage.
"""
import json
import statistics
import subprocess
import sys

FIGURES = [
    "faultline_procs_msgs_per_sec",
    "faultline_procs_msgs_per_poll",
    "ring_procs_msgs_per_sec",
    "ring_batched_procs_msgs_per_sec",
    "faultline_pingpong_p50_ns",
    "faultline_pingpong_p99_ns",
    "faultline_pingpong_p999_ns",
    "faultline_pingpong_max_ns",
    "ring_pingpong_p50_ns",
    "ratio_faultline_ring_procs_throughput",
    "ratio_faultline_ring_batched_procs_throughput",
    "ratio_faultline_ring_pingpong_p50",
]
# The batched subscriber's figures: required unless the arguments hold
# --batch 0.
BATCHED = [
    "faultline_batched_procs_msgs_per_sec",
    "faultline_batched_procs_msgs_per_poll",
    "faultline_batched_pingpong_p50_ns",
    "faultline_batched_pingpong_p99_ns",
    "ratio_faultline_batched_ring_batched_procs_throughput",
    "ratio_faultline_batched_ring_pingpong_p50",
]
# Printed when every invocation has them: what the disarmed points cost
# (an enabled build beside its faultline-bench-nofp).
OPTIONAL = [
    "ratio_faultpoints_enabled_disabled_single_thread",
    "ratio_faultpoints_enabled_disabled_procs_throughput",
    "ratio_faultpoints_enabled_disabled_batched_procs_throughput",
    "ratio_faultpoints_enabled_disabled_pingpong_p50",
]
RING_P50 = "ring_pingpong_p50_ns"
NEAR = 2.5  # an invocation's ring p50 within this factor of the lowest: "near"


def usage(msg=None):
    if msg:
        sys.stderr.write("spread.py: " + msg + "\n")
    sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
    sys.exit(2)


def parse(argv):
    n = 10
    args = list(argv)
    if args[:1] == ["-n"]:
        if len(args) < 2:
            usage("-n needs a count")
        try:
            n = int(args[1])
        except ValueError:
            usage(f"-n {args[1]!r}: not a count")
        if n < 2:
            usage("-n: at least 2 invocations")
        args = args[2:]
    if not args or args[0].startswith("-"):
        usage("which program?")
    return n, args[0], args[1:]


def die(msg):
    sys.stderr.write("spread.py: " + msg + "\n")
    sys.exit(1)


def expected(args):
    """The figures every invocation must print with these arguments."""
    off = any(a == "--batch" and b == "0" for a, b in zip(args, args[1:]))
    return FIGURES + ([] if off else BATCHED)


def run_once(prog, args):
    # The bench bounds every wait itself; this only stops a bench that
    # hangs all the same (a whole default run takes under a minute).
    try:
        p = subprocess.run([prog, "--json"] + args, capture_output=True, text=True,
                           timeout=1800)
    except subprocess.TimeoutExpired:
        die(f"{prog} ran longer than 1800 s")
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        die(f"{prog} exited {p.returncode}")
    try:
        figures = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        die(f"{prog} printed no JSON object: {e}")
    missing = [f for f in expected(args) if not isinstance(figures.get(f), (int, float))]
    if missing:
        die(f"{prog} did not print {', '.join(missing)}")
    return figures


def row(name, values):
    lo, hi = min(values), max(values)
    spread = hi / lo if lo > 0 else float("inf")
    print(f"{name:48s} {lo:14.4g} {statistics.median(values):14.4g} {hi:14.4g} "
          f"{spread:8.2f}")


def table(runs, title, names):
    print(f"# {title}: {len(runs)} invocations")
    print(f"{'figure':48s} {'min':>14s} {'median':>14s} {'max':>14s} {'spread':>8s}")
    for name in names:
        row(name, [r[name] for r in runs])
    for name in OPTIONAL:
        if all(isinstance(r.get(name), (int, float)) for r in runs):
            row(name, [r[name] for r in runs])


def main():
    n, prog, args = parse(sys.argv[1:])
    runs = []
    for i in range(n):
        runs.append(run_once(prog, args))
        r = runs[-1]
        batched = r.get("faultline_batched_procs_msgs_per_sec")
        print(f"run {i + 1}: faultline {r.get('faultline_procs_msgs_per_sec', 0) / 1e6:.1f} M "
              f"msgs/s, " + (f"batched {batched / 1e6:.1f} M, " if batched is not None else "") +
              f"ring {r.get('ring_procs_msgs_per_sec', 0) / 1e6:.1f} M, p50 "
              f"{r.get('faultline_pingpong_p50_ns', 0):.0f} ns (ring {r.get(RING_P50, 0):.0f}), "
              f"p99 {r.get('faultline_pingpong_p99_ns', 0):.0f} ns",
              flush=True)
    names = expected(args)
    table(runs, "all", names)
    lowest = min(r[RING_P50] for r in runs)
    near = [r for r in runs if r[RING_P50] <= NEAR * lowest]
    print(f"# the ring's p50 was within {NEAR} x its lowest ({lowest:.0f} ns) in "
          f"{len(near)} of {n} invocations")
    if 2 <= len(near) < n:
        table(near, "near", names)


if __name__ == "__main__":
    main()
