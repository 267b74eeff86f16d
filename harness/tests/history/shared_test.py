#!/usr/bin/env python3
"""history_shared: the shared Jepsen histories against their verdicts.

Reads the expected verdicts from data/README.md (lines `etcd_000 no`,
`c01-ok yes`), runs `faultline check-history --json -` once on every file
listed, and fails unless every verdict matches, none is unknown, and the
number of histories checked is the number listed (54): a missing or
unreadable file fails the test.

usage: shared_test.py FAULTLINE HISTORY_TEST_DIR
Exit status: 0 passed, 1 failed.
"""
import json
import os
import re
import subprocess
import sys
import time

# data/README.md lists this many histories; a line lost from it fails too.
LISTED = 54
# No time limit that matters: every verdict is decided by the search's
# work, never by the machine's speed (the CLI's limit must be > 0).
NO_LIMIT = "1e6"


def fail(msg):
    print("history_shared: FAIL: " + msg)
    sys.exit(1)


def expected_verdicts(data):
    """{name: True (linearizable) or False}, in the README's order."""
    want = {}
    with open(os.path.join(data, "README.md"), encoding="utf-8") as f:
        for line in f:
            m = re.fullmatch(r"(etcd_\d{3}|c\d\d-(?:ok|bad)) (yes|no)", line.strip())
            if not m:
                continue
            if m.group(1) in want:
                fail("data/README.md lists %s twice" % m.group(1))
            want[m.group(1)] = m.group(2) == "yes"
    return want


def path_of(data, name):
    if name.startswith("etcd_"):
        return os.path.join(data, "etcd", name + ".log")
    return os.path.join(data, "kv", name + ".txt")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    fl, here = sys.argv[1], sys.argv[2]
    data = os.path.join(here, "data")
    want = expected_verdicts(data)
    if len(want) != LISTED:
        fail("data/README.md lists %d histories, not %d" % (len(want), LISTED))
    paths = {path_of(data, name): name for name in want}
    t0 = time.monotonic()
    r = subprocess.run([fl, "check-history", "--timeout", NO_LIMIT, "--json", "-"] +
                       list(paths), capture_output=True, text=True)
    secs = time.monotonic() - t0
    if r.stderr:
        print(r.stderr, end="")
    try:
        out = json.loads(r.stdout)
    except ValueError as e:
        fail("stdout is not JSON (%s): %r" % (e, r.stdout[:500]))
    got = {}
    for hist in out["histories"]:
        name = paths.get(hist["file"])
        if name is None:
            fail("a verdict for a file not asked about: %s" % hist["file"])
        if name in got:
            fail("two verdicts for %s" % hist["file"])
        got[name] = hist["verdict"]
    wrong = []
    for name, yes in want.items():
        w = "linearizable" if yes else "not linearizable"
        if name not in got:
            wrong.append("%s: no verdict (the file is missing or bad?)" % name)
        elif got[name] != w:
            wrong.append("%s: %s, want %s" % (name, got[name], w))
    if wrong:
        fail("%d of %d wrong:\n  %s" % (len(wrong), len(want), "\n  ".join(wrong)))
    if len(got) != LISTED:
        fail("%d histories checked, %d listed" % (len(got), LISTED))
    status = 1 if not all(want.values()) else 0
    if r.returncode != status or out.get("exit") != status:
        fail("exit status %d (JSON says %s), want %d" % (r.returncode, out.get("exit"), status))
    yes = sum(want.values())
    print("history_shared: %d of %d verdicts right (%d linearizable, %d not, 0 unknown) in %.2f s"
          % (len(got), LISTED, yes, LISTED - yes, secs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
