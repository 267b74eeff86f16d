"""TAP lines for the Python glue tests of tests/: check() prints one and
remembers a failure; done() exits 1 when any check failed."""
import sys

failures = []


def check(ok, what, detail=""):
    print("%s - %s" % ("ok" if ok else "not ok", what))
    if not ok:
        failures.append(what)
        for line in str(detail).splitlines()[-30:]:
            print("#   " + line)
    return ok


def done():
    sys.exit(1 if failures else 0)
