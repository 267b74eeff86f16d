#!/usr/bin/env python3
"""history_json: `faultline check-history --json F`, read back with json.

A kv history where only key "b" fails (hand/kv_one_key_fails.edn): the
verdict, failure.key, failure.blocked (its line, completion line, f,
answer), the prefix and the state.  Then: a register failure (key null),
`--json -` holding only JSON, --first-failure naming the first failing key
where the default names the smallest, and a history the time limit cuts
short (unknown, exit 3; or, should the search finish, not linearizable:
never linearizable).

usage: json_test.py FAULTLINE HISTORY_TEST_DIR
Exit status: 0 passed, 1 failed.
"""
import json
import os
import subprocess
import sys
import tempfile

NO_LIMIT = "1e6"  # verdicts by work, never by the machine's speed
FL = None
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run_json(args, out):
    """Runs check-history --json out ARGS; (exit status, stdout, the JSON)."""
    r = subprocess.run([FL, "check-history", "--json", out] + args, capture_output=True,
                       text=True)
    if r.stderr:
        failures.append("%s: stderr %r" % (" ".join(args), r.stderr))
    text = r.stdout if out == "-" else open(out, encoding="utf-8").read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        failures.append("%s: not JSON (%s): %r" % (" ".join(args), e, text[:300]))
        doc = {"histories": [{}], "exit": None}
    return r.returncode, r.stdout, doc


def line_of(path, needle):
    """The 1-based number of the line of path holding needle."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise AssertionError("%s: no line holds %r" % (path, needle))


def one_key_fails(here, tmp):
    path = os.path.join(here, "hand", "kv_one_key_fails.edn")
    out = os.path.join(tmp, "kv.json")
    rc, stdout, doc = run_json(["--timeout", NO_LIMIT, path], out)
    expect(rc == 1 and doc["exit"] == 1, "kv: exit %d, JSON exit %s" % (rc, doc["exit"]))
    # the JSON went to the file: the words to stdout
    expect(stdout.startswith(path + ": not linearizable ("), "kv: stdout %r" % stdout[:200])
    if not expect(len(doc["histories"]) == 1, "kv: %d histories" % len(doc["histories"])):
        return
    h = doc["histories"][0]
    expect(h.get("file") == path and h.get("verdict") == "not linearizable",
           "kv: file %r verdict %r" % (h.get("file"), h.get("verdict")))
    expect(h.get("ops") == 7 and h.get("parts") == 2 and h.get("parts_unknown") == 0,
           "kv: ops %r parts %r unknown %r" % (h.get("ops"), h.get("parts"),
                                               h.get("parts_unknown")))
    f = h.get("failure")
    if not expect(isinstance(f, dict), "kv: no failure object"):
        return
    expect(f.get("key") == '"b"', "kv: failure.key %r, want '\"b\"'" % f.get("key"))
    expect(f.get("part_ops") == 3, "kv: failure.part_ops %r, want 3" % f.get("part_ops"))
    expect(f.get("state") == '"new"', "kv: failure.state %r" % f.get("state"))
    get_b = line_of(path, '{:process 2, :type :invoke, :f :get, :key "b"')
    b = f.get("blocked") or {}
    expect(b.get("line") == get_b and b.get("completion_line") == get_b + 1 and
           b.get("process") == 2 and b.get("f") == "get" and b.get("answer") == '"old"' and
           b.get("type") == "ok",
           "kv: failure.blocked %r, want the get of \"old\" at line %d" % (b, get_b))
    puts = [line_of(path, '{:process 1, :type :invoke, :f :put, :key "b", :value "%s"' % v)
            for v in ("old", "new")]
    expect([p.get("line") for p in f.get("prefix", [])] == puts,
           "kv: failure.prefix lines %r, want %r" %
           ([p.get("line") for p in f.get("prefix", [])], puts))


def register_and_stdout(here):
    bad = os.path.join(here, "hand", "fail_cas_saw_other.edn")
    good = os.path.join(here, "hand", "sequential_ok.log")
    rc, stdout, doc = run_json(["--timeout", NO_LIMIT, good, bad], "-")
    hs = doc["histories"]
    expect(rc == 1 and doc["exit"] == 1 and len(hs) == 2, "register: exit %d, %d histories" %
           (rc, len(hs)))
    if len(hs) != 2:
        return
    expect(hs[0].get("verdict") == "linearizable" and "failure" not in hs[0],
           "register: %s: %r" % (good, hs[0]))
    f = hs[1].get("failure") or {}
    cas = line_of(bad, ":type :invoke, :f :cas")
    expect(hs[1].get("verdict") == "not linearizable" and "key" in f and f["key"] is None and
           (f.get("blocked") or {}).get("line") == cas and f.get("state") == "0",
           "register: %s: %r, want key null, blocked at line %d, state 0" % (bad, f, cas))


def first_failure(tmp):
    """Key "big" (4 ops) fails first, key "s" (2 ops) later: the default
    names the smallest, --first-failure the first."""
    path = os.path.join(tmp, "two_keys.edn")
    ops = [("put", "big", '"1"'), ("get", "big", '"1"'), ("put", "big", '"2"'),
           ("get", "big", '"1"'), ("put", "s", '"x"'), ("get", "s", "nil")]
    with open(path, "w", encoding="utf-8") as f:
        for fn, key, v in ops:
            inv = "nil" if fn == "get" else v
            f.write('{:process 0, :type :invoke, :f :%s, :key "%s", :value %s}\n' % (fn, key, inv))
            f.write('{:process 0, :type :ok, :f :%s, :key "%s", :value %s}\n' % (fn, key, v))
    for args, key, line in (([], '"s"', 11), (["--first-failure"], '"big"', 7)):
        rc, _, doc = run_json(["--timeout", NO_LIMIT] + args + [path], "-")
        f = doc["histories"][0].get("failure") or {}
        expect(rc == 1 and f.get("key") == key and (f.get("blocked") or {}).get("line") == line,
               "%s: exit %d, failure key %r blocked %r; want key %s at line %d" %
               (" ".join(args) or "default", rc, f.get("key"), f.get("blocked"), key, line))


def unknown(tmp):
    """40 info writes then a read of a value none writes: 40 * 2^39 search
    states, cut at 0.05 s.  Unknown (exit 3), or should the search finish,
    not linearizable (exit 1): never linearizable."""
    path = os.path.join(tmp, "explodes.edn")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(40):
            f.write("{:process %d, :type :invoke, :f :write, :value %d}\n" % (i, i + 1))
        f.write("{:process 40, :type :invoke, :f :read, :value nil}\n")
        f.write("{:process 40, :type :ok, :f :read, :value 999}\n")
    out = os.path.join(tmp, "unknown.json")
    rc, _, doc = run_json(["--timeout", "0.05", path], out)
    h = doc["histories"][0]
    if h.get("verdict") == "unknown":
        expect(rc == 3 and doc["exit"] == 3 and h.get("parts_unknown") == 1 and
               "failure" not in h, "unknown: exit %d, %r" % (rc, h))
    else:
        expect(rc == 1 and h.get("verdict") == "not linearizable",
               "unknown: exit %d, verdict %r: want unknown or not linearizable" %
               (rc, h.get("verdict")))


def main():
    global FL
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    FL, here = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="history_json.") as tmp:
        one_key_fails(here, tmp)
        register_and_stdout(here)
        first_failure(tmp)
        unknown(tmp)
    for f in failures:
        print("history_json: FAIL: " + f)
    print("history_json: 4 cases: %s" %
          ("%d checks failed" % len(failures) if failures else "all right"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
