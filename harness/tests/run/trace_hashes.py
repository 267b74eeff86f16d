#!/usr/bin/env python3
"""Every shipped sim scenario schedules exactly as it did (issue 17).

A change that makes runs cheaper must not change what a run does: for
the first N seeds of every scenario in scenarios/ whose mode is sim, the
trace hash of each run (a hash of every scheduling decision and fault
the run took) and its verdict must be what trace_hashes.txt recorded.
The file keeps, per scenario and run count, a digest of the runs'
"seed verdict trace_hash" lines.  A mismatch names the scenario; to find
the seeds that differ, compare `faultline run FILE --seed 1 --runs N
--json OUT` of this build with that of a build that still matches.
Every run must pass, when checked and when recorded: a shipped scenario
that fails is a failure here too, never a schedule to keep.  And the
check proves it can fail: the first scenario from seed 2 must not match
what seed 1 recorded.

usage: trace_hashes.py FAULTLINE SOURCE_ROOT [--runs N] [--record]

  --runs N   the first N seeds (default 100; the file holds 100 and 1000)
  --record   write the digests for N instead of checking them (only with
             a reason, given in the commit that changes the file)

Proc and stress scenarios are left out: their schedules are the
kernel's, not the choice stream's.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "trace_hashes.txt")


def sim_scenarios(root):
    d = os.path.join(root, "scenarios")
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(d, name)) as f:
            m = re.search(r"^mode:\s*[\"']?(\w+)[\"']?\s*(#.*)?$", f.read(), re.M)
        if m is None or m.group(1) not in ("sim", "proc", "stress"):
            # never left out unseen
            sys.exit("%s: no 'mode: sim|proc|stress' line this test can read" % name)
        if m.group(1) == "sim":
            out.append(os.path.join(d, name))
    return out


def digests(faultline, files, runs, seed=1):
    """{scenario: digest} for `runs` seeds of each file from `seed`;
    exits naming the runs that did not pass."""
    with tempfile.TemporaryDirectory(prefix="fl-trace-hashes-") as tmp:
        out = os.path.join(tmp, "runs.json")
        p = subprocess.run([faultline, "run"] + files + ["--seed", str(seed), "--runs", str(runs),
                            "--jobs", "2", "-q", "--json", out,
                            # every run counted, however slow the machine:
                            # a scenario's budget.seconds would cut it short
                            "--time", "86400",
                            "--trace-dir", os.path.join(tmp, "traces")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode not in (0, 1) or not os.path.exists(out):
            sys.exit("faultline run failed (exit %d):\n%s" % (p.returncode, p.stdout[-3000:]))
        with open(out) as f:
            report = json.load(f)
    if "time budget" in p.stdout or report.get("interrupted"):
        sys.exit("a scenario was cut short:\n" + p.stdout[-3000:])
    lines, failed = {}, []
    for r in report["runs"]:
        if r["verdict"] != "pass":
            failed.append("%s seed %d: %s %s %s" % (
                r["scenario"], r["seed"], r["verdict"], r.get("property") or "",
                (r.get("detail") or "")[:200]))
        if r["mode"] != "sim":
            sys.exit("%s: a run in mode %s" % (r["scenario"], r["mode"]))
        lines.setdefault(r["scenario"], []).append(
            (r["run_index"], "%d %s %s" % (r["seed"], r["verdict"], r["trace_hash"])))
    if failed:
        sys.exit("%d run(s) did not pass:\n%s" % (len(failed), "\n".join(failed[:10])))
    names = {os.path.basename(f)[:-len(".yaml")] for f in files}
    if set(lines) != names:
        sys.exit("runs of %s, expected %s" % (sorted(lines), sorted(names)))
    return {s: hashlib.sha256("\n".join(t for _, t in sorted(v)).encode()).hexdigest()[:32]
            for s, v in lines.items()}


def load():
    """{(scenario, runs): digest} from the record."""
    rec = {}
    with open(RECORD) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3 or not parts[1].isdigit():
                sys.exit("%s:%d: expected 'scenario runs digest'" % (RECORD, n))
            rec[(parts[0], int(parts[1]))] = parts[2]
    return rec


def main():
    args = sys.argv[1:]
    record = "--record" in args
    if record:
        args.remove("--record")
    runs = 100
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2 or runs < 1:
        sys.exit(__doc__)
    faultline, root = args
    files = sim_scenarios(root)
    if not files:
        sys.exit("no sim scenarios in %s/scenarios" % root)
    got = digests(faultline, files, runs)
    rec = load() if os.path.exists(RECORD) else {}
    if record:
        rec = {k: v for k, v in rec.items() if k[1] != runs}
        rec.update({(s, runs): d for s, d in got.items()})
        with open(RECORD, "w") as f:
            f.write("# scenario, runs (seeds 1..runs), digest of the runs' 'seed verdict\n"
                    "# trace_hash' lines: written by trace_hashes.py --record, checked by\n"
                    "# the meson test trace_hashes (harness/tests/run/meson.build)\n")
            for (s, n), d in sorted(rec.items()):
                f.write("%s %d %s\n" % (s, n, d))
        print("recorded %d scenarios at %d runs in %s" % (len(got), runs, RECORD))
        return 0
    bad = []
    for s in sorted(got):
        want = rec.get((s, runs))
        if want is None:
            bad.append("%s: no digest recorded for %d runs (trace_hashes.py --record)" % (s, runs))
        elif want != got[s]:
            bad.append("%s: the first %d seeds schedule differently: digest %s, recorded %s"
                       % (s, runs, got[s], want))
    gone = sorted(s for s, n in rec if n == runs and s not in got)
    for s in gone:
        bad.append("%s: recorded, but no sim scenario of that name" % s)
    # The check can fail: another seed's runs of the first scenario do
    # not give the digest seed 1's did.
    first = sorted(got)[0]
    other = digests(faultline, [f for f in files if f.endswith("/" + first + ".yaml")], runs,
                    seed=2)[first]
    if other == rec.get((first, runs)):
        bad.append("%s: seeds from 2 give the digest recorded for seeds from 1: the digest "
                   "does not see the schedule" % first)
    for b in bad:
        print("FAIL " + b)
    print("%d scenarios, %d seeds each: %d differ" % (len(got), runs, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
