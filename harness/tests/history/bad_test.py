#!/usr/bin/env python3
"""history_bad: bad history files and bad command lines.

Each file in bad/ starts with `; expect-error: SUBSTRING`, SUBSTRING
holding the `:LINE:` the error must name; a leading `; args: ...` comment
adds options.  `faultline check-history [ARGS] FILE` must exit 2, print
nothing on stdout, and print `FILE` followed by SUBSTRING on stderr.  The
test also writes the files a repository should not hold (empty, a NUL
byte) and checks the usage errors: no file, --model foo, --timeout -1 / 0
/ x, a missing file, a directory, an unknown option, an unwritable --json,
a bad file among good ones.  It fails if bad/ holds fewer than BAD_FILES.

usage: bad_test.py FAULTLINE HISTORY_TEST_DIR
Exit status: 0 passed, 1 failed.
"""
import os
import re
import subprocess
import sys
import tempfile

# The files in bad/ (more is fine: raise this when adding one).
BAD_FILES = 30

FL = None
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(args):
    return subprocess.run([FL, "check-history"] + args, capture_output=True, text=True)


def header(path):
    want, args = None, []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.startswith(";"):
                break
            body = line[1:].strip()
            if i == 0 and body.startswith("expect-error:"):
                want = body[len("expect-error:"):].strip()
            elif body.startswith("args:"):
                args += body[len("args:"):].split()
    return want, args


def bad_file(path, want, args=()):
    """path must be refused: exit 2, nothing on stdout, path + want on
    stderr."""
    r = run(list(args) + [path])
    expect(r.returncode == 2 and r.stdout == "" and (path + want) in r.stderr,
           "%s: exit %d, stdout %r, stderr %r; want exit 2 and %r" %
           (path, r.returncode, r.stdout[:200], r.stderr.strip(), path + want))


def usage(args, want_in_stderr, what):
    r = run(args)
    expect(r.returncode == 2 and want_in_stderr in r.stderr,
           "%s (%s): exit %d, stderr %r; want exit 2 and %r" %
           (what, " ".join(args), r.returncode, r.stderr.strip(), want_in_stderr))


def main():
    global FL
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    FL, here = sys.argv[1], sys.argv[2]
    bad = os.path.join(here, "bad")
    good = os.path.join(here, "hand", "sequential_ok.log")
    files = sorted(os.listdir(bad))
    for name in files:
        path = os.path.join(bad, name)
        want, args = header(path)
        if expect(want is not None and re.match(r":(\d+:)? ", want),
                  "%s: no '; expect-error: :LINE: ...' first line" % path):
            bad_file(path, want, args)
    expect(len(files) >= BAD_FILES,
           "%d files in %s, at least %d expected" % (len(files), bad, BAD_FILES))

    with tempfile.TemporaryDirectory(prefix="history_bad.") as tmp:
        empty = os.path.join(tmp, "empty.edn")
        open(empty, "wb").close()
        bad_file(empty, ": no operations")
        nul = os.path.join(tmp, "nul.edn")
        with open(nul, "wb") as f:
            f.write(b"{:process 0, :type :invoke, :f :read, :value nil}\n"
                    b"{:process 0, :type :ok, :f :read,\0 :value nil}\n")
        bad_file(nul, ":2: a NUL byte")
        binary = os.path.join(tmp, "binary.log")
        with open(binary, "wb") as f:
            f.write(bytes(range(256)) * 4)
        r = run([binary])
        expect(r.returncode == 2 and r.stderr.startswith(binary + ":1: "),
               "binary file: exit %d, stderr %r" % (r.returncode, r.stderr[:300]))

        usage([], "usage: faultline check-history", "no file")
        usage(["--model", "foo", good], "'foo'", "unknown model")
        usage(["--timeout", "-1", good], "--timeout: '-1'", "negative timeout")
        usage(["--timeout", "0", good], "--timeout: '0'", "zero timeout")
        usage(["--timeout", "x", good], "--timeout: 'x'", "timeout not a number")
        usage(["--bogus", good], "usage: faultline check-history", "unknown option")
        missing = os.path.join(tmp, "missing.edn")
        usage([missing], missing + ": ", "missing file")
        usage([tmp], tmp + ": ", "a directory")
        unwritable = os.path.join(tmp, "no", "such", "dir", "out.json")
        usage(["--json", unwritable, good], unwritable, "unwritable --json")
        # a bad file among good ones: the good ones still get their verdicts
        r = run([good, missing, good])
        expect(r.returncode == 2 and r.stdout.count(good + ": linearizable (") == 2 and
               missing in r.stderr,
               "good, missing, good: exit %d, stdout %r, stderr %r" %
               (r.returncode, r.stdout, r.stderr))
        r = run(["--help"])
        expect(r.returncode == 0 and r.stdout.startswith("usage: faultline check-history"),
               "--help: exit %d, stdout %r" % (r.returncode, r.stdout[:100]))

    for f in failures:
        print("history_bad: FAIL: " + f)
    print("history_bad: %d bad files, 3 written, 11 usage cases: %s" %
          (len(files), "%d failed" % len(failures) if failures else "all refused as expected"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
