#!/usr/bin/env python3
"""Property traces through the CLI: a planted property program saves its
minimal failure as a trace; `faultline replay TRACE` must reproduce it
(exit 0), `faultline shrink TRACE` must write TRACE.min (exit 0) and that
replays too.  usage: trace_cli_test.py FAULTLINE PROGRAM [ARGS...]"""
import glob
import subprocess
import sys
import tempfile


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=120)
    return p.returncode, p.stdout


def main():
    faultline, program, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory(prefix="fl-prop-cli-") as d:
        rc, out = run([program] + args + ["--seed", "1000", "--trace-dir", d])
        traces = sorted(glob.glob(d + "/*.trace"))
        if not traces:
            print(out)
            print("FAIL: the planted program saved no trace (exit %d)" % rc)
            return 1
        t = traces[0]
        checks = [
            (["replay", t], "replay reproduced"),
            (["shrink", t], "minimal failing run"),
            (["replay", t + ".min"], "replay reproduced"),
        ]
        for cmd, want in checks:
            rc, out = run([faultline] + cmd)
            ok = rc == 0 and want in out
            print("%s: faultline %s -> exit %d%s" % ("ok" if ok else "FAIL", " ".join(cmd), rc,
                                                    "" if ok else "\n" + out))
            if not ok:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
