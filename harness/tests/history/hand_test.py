#!/usr/bin/env python3
"""history_hand: the hand-written histories in hand/.

Each file's first line is `; expect: linearizable` or `; expect: not
linearizable` (a verdict worked out by hand; the second line says why); a
leading comment `; args: ...` adds options to the command line.  Each is
checked twice: `--json -` (the verdict and the exit status) and in words
(the first line `FILE: VERDICT (`).  The test fails if hand/ holds fewer
files than HAND_FILES: one lost is a test lost.

usage: hand_test.py FAULTLINE HISTORY_TEST_DIR
Exit status: 0 passed, 1 failed.
"""
import json
import os
import subprocess
import sys

# The files in hand/ (more is fine: raise this when adding one).
HAND_FILES = 34
NO_LIMIT = "1e6"  # verdicts by work, never by the machine's speed


def header(path):
    """(expected verdict, extra args) from the file's leading comments."""
    expect, args = None, []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.startswith(";"):
                break
            body = line[1:].strip()
            if i == 0 and body.startswith("expect:"):
                expect = body[len("expect:"):].strip()
            elif body.startswith("args:"):
                args += body[len("args:"):].split()
    return expect, args


def check_one(fl, path):
    """A list of what is wrong with path's verdict (empty: right)."""
    expect, args = header(path)
    if expect not in ("linearizable", "not linearizable"):
        return ["first line is not '; expect: linearizable' or '; expect: not linearizable'"]
    status = 0 if expect == "linearizable" else 1
    errs = []
    r = subprocess.run([fl, "check-history", "--timeout", NO_LIMIT, "--json", "-"] + args +
                       [path], capture_output=True, text=True)
    if r.returncode != status:
        errs.append("--json: exit %d, want %d; stderr: %s" % (r.returncode, status,
                                                             r.stderr.strip()))
    else:
        try:
            hist = json.loads(r.stdout)["histories"]
        except (ValueError, KeyError) as e:
            return ["--json: stdout is not the JSON wanted (%s): %r" % (e, r.stdout[:300])]
        if len(hist) != 1 or hist[0]["verdict"] != expect:
            errs.append("--json: %s, want %s" % ([h["verdict"] for h in hist], expect))
        elif expect == "not linearizable" and "failure" not in hist[0]:
            errs.append("--json: not linearizable, but no failure described")
    if r.stderr:
        errs.append("stderr: %s" % r.stderr.strip())
    r = subprocess.run([fl, "check-history", "--timeout", NO_LIMIT] + args + [path],
                       capture_output=True, text=True)
    first = r.stdout.split("\n", 1)[0]
    if r.returncode != status or not first.startswith("%s: %s (" % (path, expect)):
        errs.append("words: exit %d, first line %r" % (r.returncode, first))
    return errs


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    fl, here = sys.argv[1], sys.argv[2]
    hand = os.path.join(here, "hand")
    files = sorted(os.listdir(hand))
    wrong = 0
    counts = {"linearizable": 0, "not linearizable": 0}
    for name in files:
        path = os.path.join(hand, name)
        errs = check_one(fl, path)
        if errs:
            wrong += 1
            print("%s: FAIL\n  %s" % (path, "\n  ".join(errs)))
        else:
            counts[header(path)[0]] += 1
    short = len(files) < HAND_FILES
    if short:
        print("history_hand: FAIL: %d files in %s, at least %d expected" %
              (len(files), hand, HAND_FILES))
    print("history_hand: %d of %d hand-written histories right (%d linearizable, %d not)%s"
          % (len(files) - wrong, len(files), counts["linearizable"],
             counts["not linearizable"], ": FAILED" if wrong or short else ""))
    return 1 if wrong or short else 0


if __name__ == "__main__":
    sys.exit(main())
