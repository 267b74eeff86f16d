#!/usr/bin/env python3
"""The naming rule of transport/src/core/fli_impl.h, checked on the built
library: every global symbol it defines starts fl_ (then a public header
declares it) or fli_ (then no public header names it).

usage: symbols_test.py LIBRARY.a PUBLIC_HEADERS [PROBLEMS]
(PUBLIC_HEADERS: a directory or one header; PROBLEMS: expected, default 0)

The same rule holds for every library: the transport's, the harness's
and the fixtures'."""
import os
import re
import subprocess
import sys


SANITIZER_PREFIXES = ("__odr_asan", "__asan_", "___asan_", "__tsan_", "__ubsan_", "__sancov_")


def main():
    lib, inc = sys.argv[1], sys.argv[2]
    # A third argument: the exact number of problems expected (the planted
    # library of the self-test); without it, none.
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    out = subprocess.run(["nm", "-g", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = sorted({f[2] for f in (l.split() for l in out.splitlines()) if len(f) == 3})
    public = ""
    if os.path.isfile(inc):
        with open(inc) as fh:
            public = fh.read()
    for dp, _, fs in os.walk(inc):
        for f in fs:
            if f.endswith(".h"):
                with open(os.path.join(dp, f)) as fh:
                    public += fh.read()
    bad = []
    for s in syms:
        # Names the sanitizers make (ASan's __odr_asan.X, __asan_gen_...)
        # are the implementation's, not the library's; any other name,
        # __-prefixed or not, is checked.
        if s.startswith("fli_") or s.startswith(SANITIZER_PREFIXES):
            continue
        # __wrap_malloc and its kin: the names ld's --wrap gives a
        # library's calls (faultline/target.h), public as fl_ names are.
        if not s.startswith(("fl_", "__wrap_")):
            bad.append("%s: neither fl_ nor fli_" % s)
        elif not re.search(r"\b%s\b" % re.escape(s), public):
            bad.append("%s: %s but declared in no public header (make it fli_)" %
                       (s, s[:s.index("_", 2) + 1]))
    for m in sorted(set(re.findall(r"\bfli_\w+", public))):
        bad.append("%s: a public header names an internal symbol" % m)
    for b in bad:
        print(b)
    print("# %d global symbols, %d problems (%d expected)" % (len(syms), len(bad), want))
    return 0 if len(bad) == want else 1


if __name__ == "__main__":
    sys.exit(main())
