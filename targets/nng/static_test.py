#!/usr/bin/env python3
"""NNG linked in from its static archive counts and fails NNG's own
allocations as the shared library's hook does.

faultline-nng-static is faultline with the NNG adapter and libnng.a
linked in, NNG's objects' allocation calls renamed with ld -r --wrap
(targets/meson.build).  The same scenario's allocation sweep, run by it
and by faultline against Debian's libnng.so, must find the same number
of NNG's calls (the adapter's and faultline's own are neither's), and
failing NNG's first call must end the run the same way in both.

usage: static_test.py FAULTLINE FAULTLINE_NNG_STATIC TARGETS_NNG_DIR
(FL_TARGET_PATH names the directory of faultline-target-nng.so.)
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def sweep(exe, scenario, tmp, tag):
    """The sweep's count of NNG's calls (from its summary line) and the
    runs of its JSON report."""
    out = os.path.join(tmp, tag + ".json")
    cmd = [exe, "run", scenario, "--seed", "1", "--timeout", "5000", "--sweep-limit", "3",
           "--json", out, "--trace-dir", os.path.join(tmp, tag)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    m = re.search(r"--sweep-limit: 3 of (\d+)\)", p.stdout)
    if m is None:
        sys.exit("%s: no sweep summary (exit %d)\n%s%s" % (tag, p.returncode, p.stdout,
                                                           p.stderr))
    with open(out) as f:
        runs = json.load(f)["runs"]
    return int(m.group(1)), runs


def first_call(runs, tag):
    for r in runs:
        if r["sweep_point"] == "target/alloc" and r["sweep_k"] == 1 and \
                not r["sweep_persistent"]:
            return r["verdict"], r["property"]
    sys.exit("%s: no run failing call 1 in %s" % (tag, runs))


def main():
    shared_exe, static_exe, nng_dir = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        n_shared, shared = sweep(shared_exe, os.path.join(nng_dir, "findings",
                                                           "nng-alloc-open.yaml"), tmp, "shared")
        n_static, static = sweep(static_exe, os.path.join(nng_dir, "static",
                                                           "nng-alloc-open.yaml"), tmp, "static")
    print("faulted runs of the sweep: shared library %d, static archive %d" %
          (n_shared, n_static))
    if n_static == 0 or n_static != n_shared:
        sys.exit("FAIL: NNG's allocation calls differ: %d through libnng.so, %d through "
                 "libnng.a" % (n_shared // 2, n_static // 2))
    for runs, tag in ((shared, "shared"), (static, "static")):
        if runs[0]["sweep_point"] is not None or runs[0]["verdict"] != "pass":
            sys.exit("FAIL: %s: the counting run did not pass: %s" % (tag, runs[0]))
    a, b = first_call(shared, "shared"), first_call(static, "static")
    print("NNG's first allocation failed: shared %s, static %s" % (a, b))
    if a != b or a[0] == "pass":
        sys.exit("FAIL: failing NNG's first allocation: %s through libnng.so, %s through "
                 "libnng.a" % (a, b))
    print("ok")


if __name__ == "__main__":
    main()
