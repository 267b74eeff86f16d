#!/usr/bin/env python3
"""One shipped scenario in stress mode under a ThreadSanitizer build.

Usage: tsan_scenario.py FAULTLINE SCENARIO.yaml [faultline run options...]

Runs `FAULTLINE run SCENARIO --mode stress --seed 1 --jobs 1 ...` with
every ThreadSanitizer report of every process of the runs (each run is a
forked child) written to a fresh directory (TSAN_OPTIONS log_path; the
caller's TSAN_OPTIONS, such as suppressions=, are kept).  Exit status
(meson's): 0 when no report was written and no run failed in a way that
does not depend on the machine's speed; 77 (skipped) when faultline
refuses the scenario in stress mode (crash faults, crash_self, libc
faults), saying why; 1 otherwise.

Counted as failures: any report file; a run whose verdict is crash,
hang (a run over --timeout) or deadlock; a run failed with property
"sanitizer" (faultline's own sanitizer verdict); faultline unable to run.
Not counted: other failed verdicts, printed as notes.  In stress mode
actors run on real time, so an operation's deadline (a poll's
deadline_ms: 100) can pass on a loaded machine; the TSan job must not
fail on that.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HARD = {"crash", "hang", "deadlock", "sanitizer"}


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    faultline, scenario, extra = argv[1], argv[2], argv[3:]
    name = os.path.splitext(os.path.basename(scenario))[0]
    work = tempfile.mkdtemp(prefix="faultline-tsan-%s-" % name)
    logs = os.path.join(work, "tsan")
    report = os.path.join(work, "report.json")
    env = dict(os.environ)
    env["TSAN_OPTIONS"] = (env.get("TSAN_OPTIONS", "") + " log_path=" + logs).strip()
    cmd = [faultline, "run", scenario, "--mode", "stress", "--seed", "1", "--jobs", "1",
           "--quiet", "--trace-dir", os.path.join(work, "traces"), "--json", report] + extra
    print(" ".join(cmd), flush=True)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, errors="replace")
    out = proc.stdout
    sys.stdout.write(out)

    files = sorted(glob.glob(logs + "*"))
    try:
        with open(report, encoding="utf-8") as f:
            runs = json.load(f).get("runs") or []
    except (OSError, ValueError):
        runs = None
    if proc.returncode == 2 and not files and runs == [] and "skipped:" in out:
        shutil.rmtree(work, ignore_errors=True)
        print("SKIP: %s does not run in stress mode (see above)" % name)
        return 77

    failures = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        sys.stdout.write("---- %s\n%s" % (os.path.basename(path), text))
        n = text.count("WARNING: ThreadSanitizer")
        failures.append("%d ThreadSanitizer report(s) in %s" % (max(n, 1), os.path.basename(path)))
    if runs is None or proc.returncode not in (0, 1):
        failures.append("faultline exited %d%s" % (proc.returncode,
                                                   "" if runs is not None else ", no report"))
    for r in runs or []:
        verdict, prop = r.get("verdict"), r.get("property")
        if verdict == "pass":
            continue
        line = "seed %s: %s (%s) %s" % (r.get("seed"), verdict, prop, (r.get("detail") or "")[:300])
        if verdict in HARD or prop in HARD:
            failures.append(line)
        else:
            print("note, not a TSan job failure (real-time deadlines in stress mode): " + line)
    print("%s: %d runs, %d report files" % (name, len(runs or []), len(files)))
    if failures:
        for f in failures:
            print("FAIL: " + f)
        print("(kept: %s)" % work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
