#!/usr/bin/env python3
"""Count test results from meson's JSON test logs and faultline's JSON reports.

Usage: count.py FILE...   (meson testlog*.json, or faultline --json reports)
Prints the per-file tallies to stderr and one last line on stdout:
"N passed, N failed".  Exit status 1 when anything failed or nothing ran.
"""
import json
import sys

PASS = {"OK", "EXPECTEDFAIL", "pass"}
SKIP = {"SKIP"}


def meson_results(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            obj = json.loads(line)
            yield obj.get("name", "?"), obj.get("result", "?")


def faultline_results(obj):
    """One result per scenario: it passes when every one of its runs passed."""
    verdicts = {}
    for run in obj.get("runs", []):
        name = run.get("scenario")
        bad = verdicts.get(name)
        if run.get("verdict") != "pass" and bad is None:
            verdicts[name] = "%s (seed %s)" % (run.get("verdict"), run.get("seed"))
        else:
            verdicts.setdefault(name, None)
    for name, bad in verdicts.items():
        yield "scenario " + name, "pass" if bad is None else bad
    # A batch stopped by SIGINT/SIGTERM holds only the runs that finished.
    if obj.get("interrupted"):
        yield "faultline batch", "interrupted"


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            print("count.py: %s: %s" % (path, e.strerror), file=sys.stderr)
            failed += 1
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "runs" in obj:
            results = faultline_results(obj)
        else:
            results = meson_results(path)
        p = f_ = s = 0
        for name, result in results:
            if result in PASS:
                p += 1
            elif result in SKIP:
                s += 1
            else:
                f_ += 1
                print("FAILED: %s (%s) [%s]" % (name, result, path), file=sys.stderr)
        print("%s: %d passed, %d failed, %d skipped" % (path, p, f_, s), file=sys.stderr)
        passed += p
        failed += f_
        skipped += s
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
