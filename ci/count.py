#!/usr/bin/env python3
"""Count test results from meson's JSON test logs and faultline's JSON reports.

Usage: count.py FILE...   (meson testlog*.json, or faultline --json reports)
Prints the per-file tallies to stderr and one last line on stdout:
"N passed, N failed".  Exit status 1 when anything failed or nothing ran.

faultline reports count one result per scenario, across every report given:
a scenario passes when each of its runs passed.  A run is counted once
however many reports hold it (shard reports and their merge, one file
given twice): runs are keyed by scenario, mode, seed and the fault a sweep
run injects, as `faultline merge` keys them; copies that disagree count as
the worst.  A report that was interrupted, that holds no run, whose summary
disagrees with its runs, or that does not parse is a failure of its own.
"""
import json
import os
import sys

PASS = {"OK", "EXPECTEDFAIL", "pass"}
SKIP = {"SKIP"}
TAIL_LINES = 40


def meson_results(path, text):
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            yield "%s: a line that is not JSON" % path, "unreadable", ""
            return
        # meson keeps stderr apart: cmocka's failure messages and a
        # child's CHECK lines are there, so the tail shows both.
        out = (obj.get("stdout") or "").rstrip("\n")
        err = (obj.get("stderr") or "").rstrip("\n")
        if err:
            out += "\n[stderr]\n" + err
        yield obj.get("name", "?"), obj.get("result", "?"), out


def run_key(run, path, pos):
    """What identifies a run across reports.  A report from before
    run_index existed cannot say which sweep run a run is: its runs are
    keyed by their place in it (never taken for another report's)."""
    if "run_index" not in run:
        return ("position", path, pos)
    return (run.get("scenario"), run.get("mode"), run.get("seed"), run.get("sweep_point"),
            run.get("sweep_k"), run.get("sweep_persistent"))


def faultline_checks(obj):
    """Failures of the report itself, whatever its runs say."""
    runs = obj.get("runs")
    if not isinstance(runs, list):
        yield "faultline report", "no runs list"
        return
    summary = obj.get("summary") or {}
    if summary.get("runs") != len(runs):
        yield "faultline report", "summary says %s runs, %d listed" % (summary.get("runs"), len(runs))
    if not runs:
        yield "faultline report", "no run was executed"
    # A batch stopped by SIGINT/SIGTERM holds only the runs that finished.
    if obj.get("interrupted"):
        yield "faultline batch", "interrupted"


def main(paths):
    passed = failed = skipped = 0
    seen_paths = set()
    fl_runs = {}  # run key -> (scenario, verdict or "", seed)
    duplicates = 0

    def tally(path, results):
        nonlocal passed, failed, skipped
        p = f_ = s = 0
        for item in results:
            name, result, output = (tuple(item) + ("",))[:3]
            if result in PASS:
                p += 1
            elif result in SKIP:
                s += 1
            else:
                f_ += 1
                print("FAILED: %s (%s) [%s]" % (name, result, path), file=sys.stderr)
                # CI keeps only the end of what it printed: the end of the
                # failed test's own output says why, right here.
                tail = output.rstrip("\n").splitlines()[-TAIL_LINES:]
                for line in tail:
                    print("  | " + line, file=sys.stderr)
        passed += p
        failed += f_
        skipped += s
        return p, f_, s

    for path in paths:
        real = os.path.realpath(path)
        if real in seen_paths:
            print("%s: given twice, counted once" % path, file=sys.stderr)
            continue
        seen_paths.add(real)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            print("count.py: %s: %s" % (path, e.strerror), file=sys.stderr)
            failed += 1
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if obj is None and text.lstrip().startswith('{"runs"'):
            # A faultline report cut short (its batch was killed).
            tally(path, [("faultline report", "does not parse")])
            continue
        if isinstance(obj, dict) and "runs" in obj:
            p, f_, s = tally(path, faultline_checks(obj))
            n = 0
            for pos, run in enumerate(obj.get("runs") or []):
                key = run_key(run, path, pos)
                verdict = run.get("verdict")
                old = fl_runs.get(key)
                n += 1
                if old is not None:
                    duplicates += 1
                    if old[1] == "pass" and verdict != "pass":
                        fl_runs[key] = (old[0], verdict, run.get("seed"))
                    continue
                fl_runs[key] = (run.get("scenario"), verdict, run.get("seed"))
            print("%s: %d runs%s" % (path, n, ", %d report failures" % f_ if f_ else ""),
                  file=sys.stderr)
            continue
        p, f_, s = tally(path, meson_results(path, text))
        print("%s: %d passed, %d failed, %d skipped" % (path, p, f_, s), file=sys.stderr)

    # One result per scenario: it passes when every one of its runs passed.
    verdicts = {}
    for scenario, verdict, seed in fl_runs.values():
        if verdict != "pass" and verdicts.get(scenario) is None:
            verdicts[scenario] = "%s (seed %s)" % (verdict, seed)
        else:
            verdicts.setdefault(scenario, None)
    if fl_runs:
        p, f_, s = tally("faultline reports", (("scenario %s" % name, "pass" if bad is None else bad)
                                               for name, bad in verdicts.items()))
        print("faultline reports: %d runs (%d more copies counted once), %d scenarios: "
              "%d passed, %d failed" % (len(fl_runs), duplicates, len(verdicts), p, f_),
              file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
