#!/usr/bin/env python3
"""The man pages: each renders, and each says what its program takes.

Every page docs/man/mkman.py made (in MANDIR, the build's docs/man) is
rendered by groff as man does, with every warning on: any warning or
error fails.  And every long option that a program's --help (or, for
faultline, each command's) names must be in that program's page: the
page is rendered from docs/cli.md, so an option the docs forgot shows
here.  Prints TAP lines; exit status 1 on any failure.

usage: man_test.py MANDIR FAULTLINE DRIVER STAT NODE KV
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402


def main():
    mandir = sys.argv[1]
    faultline, driver, stat, node, kv = sys.argv[2:7]
    pages = sorted(p for p in os.listdir(mandir) if re.fullmatch(r"faultline.*\.[1-8]", p))
    check(len(pages) == 7, "seven pages made", pages)
    text = {}
    for p in pages:
        path = os.path.join(mandir, p)
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        check(r.returncode == 0 and not r.stderr.strip(), "%s renders with no warning" % p,
              r.stderr)
        with open(path) as f:
            # the options as a reader sees them
            text[p] = f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
    helps = {"faultline.1": [[faultline, c, "--help"] for c in
                             ("run", "replay", "shrink", "repro", "list", "merge",
                              "check-history")],
             "faultline-driver.8": [[driver, "--help"]],
             "faultline-stat.1": [[stat, "--help"]],
             "faultline-node.1": [[node, "--help"]],
             "faultline-kv.1": [[kv, "--help"]]}
    for p, cmds in sorted(helps.items()):
        opts = set()
        for cmd in cmds:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=60)
            opts |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", r.stdout))
        missing = sorted(o for o in opts if not re.search(r"(?<![\w-])%s(?![\w-])" %
                                                          re.escape(o), text.get(p, "")))
        check(len(opts) > 0 and not missing,
              "%s names every option of its --help (%d)" % (p, len(opts)),
              "missing: %s" % missing)


main()
done()
