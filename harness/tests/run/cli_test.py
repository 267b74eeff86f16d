#!/usr/bin/env python3
"""Tests of the faultline CLI itself.

Each case runs the faultline executable on scenario files and checks its
exit status, its reports (--json, --junit) and its traces.  Every case
writes its traces and reports into its own temporary directory and checks
that no /dev/shm/faultline-* entry of its own runs is left behind (nor, in
a sanitizer build, a run's report directory).

usage: cli_test.py FAULTLINE SOURCE_ROOT [CASE...]
(no CASE: every case but the known-bug ones, which must be named)
FL_BUILD_SANITIZE in the environment: the build's b_sanitize (meson passes
it), which the sanitizer cases need.
Exit status: 0 all passed, 1 a case failed, 77 skipped (meson: every case
named was skipped).
"""
import json
from collections import Counter
import os
import re
import resource
import signal
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FL = None
ROOT = None
TMP = None

SMOKE = "scenarios/reqrep-smoke.yaml"
FAILING = "harness/tests/run/scenarios/fail-barrier.yaml"
FAILING_PROPERTY = "operations"
# Wall-clock cap on one faultline command: every command here takes well
# under a second natively; this is only a guard against a hang.
CMD_TIMEOUT = 120


# The build's -Db_sanitize ("address,undefined", "thread", "none"), from
# meson (get_option('b_sanitize')).
SANITIZE = os.environ.get("FL_BUILD_SANITIZE", "none")


def under_sanitizer():
    """The sanitizer this faultline runs under ("AddressSanitizer",
    "ThreadSanitizer"), or None.  Their runtimes reserve terabytes of
    shadow address space (no RLIMIT_AS cap holds them) and must come first
    among preloaded libraries (libfiu's POSIX preload cannot)."""
    if os.environ.get("FL_UNDER_ASAN") or "address" in SANITIZE.split(","):
        return "AddressSanitizer"
    if "thread" in SANITIZE.split(","):
        return "ThreadSanitizer"
    return None


class Failure(Exception):
    pass


class Skip(Exception):
    """The case does not apply to this build (meson: exit 77)."""


def check(cond, fmt, *args):
    if not cond:
        raise Failure(fmt % args if args else fmt)


def src(rel):
    return os.path.join(ROOT, rel)


# --- /dev/shm bookkeeping --------------------------------------------------
# The runner names a run's directory /dev/shm/faultline-<prefix>-<pid>-<n>
# after the process that started the run (the CLI, or a --jobs worker).
# Other programs (other test suites, other users of the machine) may have
# live runs of their own at the same time, so a leak is an entry that was
# not there before the command, whose pid is the command's own or a dead
# process forked after it (its --jobs workers).

SHM = "/dev/shm"
# Every faultline here keeps the run directories dead faultline processes
# left: a test's own leak is not removed by a run of another test beside it
# before its check.  (The one case that tests the removal clears this.)
os.environ["FL_KEEP_DEAD_RUN_DIRS"] = "1"
SHM_RE = re.compile(r"^faultline-run-(\d+)-(\d+)$")  # runner.c: "run" prefix


def shm_entries():
    try:
        return set(e for e in os.listdir(SHM) if e.startswith("faultline-"))
    except FileNotFoundError:
        return set()


def pid_alive(pid):
    """Is pid a live process?  A zombie is not (its parent, or init after
    its parent died, has yet to reap it), though kill(pid, 0) finds it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rfind(")") + 2:].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def shm_leaks(before, first_pid, last_pid):
    leaks = []
    for e in sorted(shm_entries() - before):
        m = SHM_RE.match(e)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid == first_pid or (first_pid < pid <= last_pid and not pid_alive(pid)):
            # Another test running beside this one may have removed its
            # own entry and exited since the listing: a leak is an entry
            # still there once its process is gone.
            if os.path.exists(os.path.join(SHM, e)):
                leaks.append(e)
    return leaks


def last_pid_after(pid):
    """The last pid a process started at `pid` (and exited) can have
    forked: a process started now has a pid after every one it forked
    (pids wrap rarely; a wrap only narrows the window checked)."""
    probe = subprocess.Popen(["true"])
    probe.wait()
    return probe.pid if probe.pid > pid else pid + 100000


def check_no_shm_leaks(before, pid, last, what):
    """No /dev/shm entry of the exited process pid (or of what it forked,
    up to pid `last`) is left; any that is, is removed (not left on a
    shared machine) and fails."""
    leaks = shm_leaks(before, pid, last)
    for e in leaks:  # reported below; not left on a shared machine
        subprocess.call(["rm", "-rf", os.path.join(SHM, e)])
    check(not leaks, "%s: /dev/shm entries left: %s", what, leaks)


def write_text(path, text):
    """Writes text to the file path; returns path."""
    with open(path, "w") as f:
        f.write(text)
    return path


def san_dirs_left(pid):
    """A sanitizer build's per-run report directories the CLI process
    `pid` made and left (sanitizer.c: TMPDIR/faultline-san-<pid>-XXXXXX;
    each is removed when its run is over)."""
    tmp = os.environ.get("TMPDIR", "")
    if not tmp.startswith("/") or len(tmp) > 200:
        tmp = "/tmp"
    prefix = "faultline-san-%d-" % pid
    try:
        return [e for e in os.listdir(tmp) if e.startswith(prefix)]
    except OSError:
        return []


def run(args, expect=None, stdin=None, env=None, nofile=None, cwd=None, exe=None):
    """Run faultline (or exe) with args (in cwd, default the source root);
    check the exit status (expect: int or set) and that the command left no
    /dev/shm entry.  nofile: the command's soft limit on open files (ulimit
    -n).  Returns (rc, out, err)."""
    before = shm_entries()

    def limit_fds():
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

    p = subprocess.Popen([exe or FL] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=cwd or ROOT, env=dict(os.environ, **(env or {})),
                         preexec_fn=limit_fds if nofile is not None else None)
    try:
        out, err = p.communicate(timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise Failure("faultline %s: no exit within %d s\n%s%s" % (" ".join(args), CMD_TIMEOUT, out, err))
    last = last_pid_after(p.pid)
    leaks = shm_leaks(before, p.pid, last)
    if leaks and all(SHM_RE.match(e).group(1) != str(p.pid) for e in leaks):
        # Named after a dead process forked after the CLI: its own worker,
        # or another test's beside this one (a killed worker whose CLI has
        # not reaped it yet).  The other test's CLI removes its own soon.
        wait_until(lambda: not shm_leaks(before, p.pid, last), 10)
        leaks = shm_leaks(before, p.pid, last)
    check(not leaks, "faultline %s left /dev/shm entries: %s", " ".join(args), leaks)
    left = san_dirs_left(p.pid)
    check(not left, "faultline %s left sanitizer report directories: %s", " ".join(args), left)
    if expect is not None:
        ok = p.returncode in expect if isinstance(expect, (set, tuple, list)) else p.returncode == expect
        check(ok, "faultline %s: exit %d, expected %s\nstdout:\n%s\nstderr:\n%s",
              " ".join(args), p.returncode, expect, out, err)
    return p.returncode, out, err


def tdir(name):
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    return d


def run_json(scn, extra, name, expect=0, env=None, exe=None):
    d = tdir(name)
    report = os.path.join(d, "report.json")
    rc, out, err = run(["run", src(scn), "-q", "--trace-dir", os.path.join(d, "traces"),
                        "--json", report] + extra, expect, env=env, exe=exe)
    with open(report) as f:
        return json.load(f), out, err


def verdict_counts(rep):
    s = rep["summary"]
    return {k: s[k] for k in ("runs", "passed", "failed", "crashed", "hung", "deadlocked")}


# --- cases -----------------------------------------------------------------

def case_determinism():
    """Same seed twice: same trace_hash run by run; different seeds differ."""
    a, _, _ = run_json(SMOKE, ["--seed", "7", "--runs", "10"], "det-a")
    b, _, _ = run_json(SMOKE, ["--seed", "7", "--runs", "10"], "det-b")
    ha = [(r["seed"], r["trace_hash"]) for r in a["runs"]]
    hb = [(r["seed"], r["trace_hash"]) for r in b["runs"]]
    check(len(ha) == 10, "expected 10 runs, got %d", len(ha))
    check(ha == hb, "same seeds, different hashes:\n%s\n%s", ha, hb)
    hashes = set(h for _, h in ha)
    check(len(hashes) == 10, "10 seeds gave only %d distinct trace hashes: %s", len(hashes), ha)
    check("0000000000000000" not in hashes, "a passing run has a zero trace hash: %s", ha)
    # And a failing scenario: same seed, same verdict, hash and detail.
    c, _, _ = run_json(FAILING, ["--seed", "3", "--runs", "3"], "det-c", expect=1)
    d, _, _ = run_json(FAILING, ["--seed", "3", "--runs", "3"], "det-d", expect=1)
    key = lambda rep: [(r["seed"], r["verdict"], r["property"], r["trace_hash"], r["detail"])
                       for r in rep["runs"]]
    check(key(c) == key(d), "failing runs differ between two runs of the same seeds:\n%s\n%s",
          key(c), key(d))


def case_replay():
    """A failing run's trace replays to the same verdict (exit 0); a trace of
    a different scenario file is refused."""
    rep, _, _ = run_json(FAILING, ["--seed", "1", "--runs", "3"], "replay", expect=1)
    check(len(rep["runs"]) == 3, "expected 3 runs: %s", rep["runs"])
    for r in rep["runs"]:
        check(r["verdict"] == "fail" and r["property"] == FAILING_PROPERTY,
              "run %s: verdict %s property %s, expected fail %s", r["seed"], r["verdict"],
              r["property"], FAILING_PROPERTY)
        check(r["trace"] and os.path.exists(r["trace"]), "run %s: no trace file: %r", r["seed"], r["trace"])
        rc, out, err = run(["replay", r["trace"]], 0)
        check("same verdict" in out, "replay of %s does not say 'same verdict':\n%s%s", r["trace"], out, err)
        check(r["trace_hash"] in out, "replay of %s does not show trace_hash %s:\n%s",
              r["trace"], r["trace_hash"], out)
    # A trace whose recorded verdict the replay cannot reach: edit the
    # verdict to pass; the replay must say so with exit 1.
    t = rep["runs"][0]["trace"]
    with open(t) as f:
        text = f.read()
    forged = os.path.join(tdir("replay"), "forged.trace")
    write_text(forged, re.sub(r"(?m)^verdict fail$", "verdict pass", text))
    run(["replay", forged], 1)
    # A trace that cannot be read: exit 2.
    run(["replay", os.path.join(tdir("replay"), "missing.trace")], 2)
    garbage = os.path.join(tdir("replay"), "garbage.trace")
    write_text(garbage, "not a trace\n")
    run(["replay", garbage], 2)


def trace_choices(path):
    """The choice values of a trace file (the lines between 'choices N' and 'end')."""
    with open(path) as f:
        lines = f.read().splitlines()
    for i, l in enumerate(lines):
        if l.startswith("choices "):
            n = int(l.split()[1])
            vals = []
            for l2 in lines[i + 1:]:
                if l2 == "end":
                    break
                vals += [int(v) for v in l2.split()]
            check(len(vals) == n, "%s: header says %d choices, %d listed", path, n, len(vals))
            return vals
    raise Failure("%s: no choices section" % path)


def significant(vals):
    """Choices without the trailing zeros (a replayed stream that runs out
    answers 0, so trailing zeros carry nothing)."""
    n = len(vals)
    while n > 0 and vals[n - 1] == 0:
        n -= 1
    return vals[:n]


def case_shrink():
    """Shrinking a known failure: the minimal trace has no more choices than
    the original, is no larger value by value, and replays to the same
    verdict and property."""
    rep, _, _ = run_json(FAILING, ["--seed", "1", "--runs", "1"], "shrink", expect=1)
    r = rep["runs"][0]
    t = r["trace"]
    orig = trace_choices(t)
    out_path = os.path.join(tdir("shrink"), "out.min")
    rc, out, err = run(["shrink", t, "-o", out_path, "--attempts", "200"], 0)
    m = re.search(r"(\d+) choices -> (\d+)", out)
    check(m is not None, "shrink output has no 'N choices -> M':\n%s%s", out, err)
    n0, n1 = int(m.group(1)), int(m.group(2))
    check(n0 == len(orig), "shrink says %d original choices, the trace has %d", n0, len(orig))
    check(n1 <= n0, "shrink grew the trace: %d -> %d", n0, n1)
    mini = trace_choices(out_path)
    sig = significant(mini)
    check(len(sig) <= len(significant(orig)),
          "shrunk trace has %d significant choices, the original %d", len(sig), len(significant(orig)))
    check(len(sig) <= n1, "shrunk trace has %d significant choices, shrink printed %d", len(sig), n1)
    check(sum(mini) <= sum(orig), "shrunk choices sum %d > original %d", sum(mini), sum(orig))
    # The minimal run in words: each step with actor, op and line, in the
    # order the schedule ran them, then the violation; the candidate runs'
    # own output is not printed.
    check("minimal failing run:" in out, "no minimal run in words:\n%s", out)
    steps = re.findall(r"(?m)^ +\d+ (waiter|once): (\w+) \(line (\d+)\)$", out)
    check(len(steps) >= 3, "fewer than 3 steps in words:\n%s", out)
    check(("once", "request", "22") in steps or ("once", "barrier", "20") in steps,
          "the failing actor's ops are not among the steps: %s", steps)
    check(re.search(r"(?m)^  -> fail %s: " % FAILING_PROPERTY, out), "no violation line:\n%s", out)
    check(err.strip() == "", "shrink printed the candidate runs' output:\n%s", err)
    with open(out_path) as f:
        text = f.read()
    check(re.search(r"(?m)^verdict fail$", text), "shrunk trace does not record verdict fail:\n%s", text)
    check(re.search(r"(?m)^property %s$" % FAILING_PROPERTY, text),
          "shrunk trace does not record property %s:\n%s", FAILING_PROPERTY, text)
    rc, out, err = run(["replay", out_path], 0)
    check("same verdict" in out and FAILING_PROPERTY in out,
          "shrunk trace does not replay to fail %s:\n%s%s", FAILING_PROPERTY, out, err)
    # An OUT that cannot be written is said before any shrinking (it was
    # found after it: "minimal trace: (not written)", and no reason).
    rc, out, err = run(["shrink", t, "-o", os.path.join(tdir("shrink"), "no-such", "o.min")], 2)
    check("cannot be written" in err and "No such file or directory" in err and
          "shrunk" not in out, "an unwritable -o: %s%s", out, err)
    # The same failure, not another of the same property: a run that
    # failed at line 15 alone (seed 2) shrinks to one that fails at line
    # 15, never to the all-first stream that fails at line 16 only.
    tdirs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FL))), "fixtures",
                         "targets")
    env = {"FL_TARGET_PATH": tdirs}
    slip = "harness/tests/run/scenarios/shrink-same-failure.yaml"
    d = tdir("shrink-same")
    rep, _, _ = run_json(slip, ["--seed", "2", "--runs", "1"], "shrink-same", expect=1, env=env)
    r = rep["runs"][0]
    check(r["detail"] == "actor a: q_wait (line 15): q_wait: FL_ETIMEDOUT",
          "seed 2 of %s no longer fails at line 15 alone: %s", slip, r["detail"])
    rc, out, err = run(["shrink", r["trace"], "-o", os.path.join(d, "m.min")], 0, env=env)
    check(re.search(r"(?m)^  -> fail operations: actor a: q_wait \(line 15\)", out) and
          "does not depend" not in out, "shrink slipped to another failure:\n%s%s", out, err)
    # Default output name: TRACE.min.
    run(["shrink", t, "--attempts", "20"], 0)
    check(os.path.exists(t + ".min"), "shrink without -o wrote no %s.min", t)
    # A passing run cannot be shrunk... there is no trace of one; a trace
    # that cannot be read is exit 2.
    run(["shrink", os.path.join(tdir("shrink"), "missing.trace")], 2)


BAD_SCENARIOS = [
    # (name, text, line, substring of the message)
    ("unknown-impl", """name: bad
description: a lookup helper this build does not have
mode: sim
actors:
  - name: p
    ops:
      - add_publication: {channel: ipc, stream: 1, as: pub}
  - name: s
    ops:
      - add_subscription: {channel: ipc, stream: 1, as: sub}
      - lookup_image: {sub: sub, from: pub, impl: b1_nope}
""", 11, "unknown image lookup implementation 'b1_nope' (one of: b1_leaky, b1_correct, memcheck_heap_leak, sanitizer_heap_overflow, sanitizer_data_race, sanitizer_data_race_apart, sanitizer_signed_overflow)"),
    ("unknown-key", """name: bad
description: unknown key in an actor
mode: sim
actors:
  - name: a
    knd: thread
    ops:
      - wait: {ms: 1}
""", 6, "unknown key"),
    ("yaml-syntax", """name: bad
description: broken flow sequence
mode: sim
actors:
  - name: a
    ops:
      - request: {conn: [c, count: 1}
""", 7, None),
    ("bad-count", """name: bad
description: request count out of range
mode: sim
actors:
  - name: a
    ops:
      - connect_service: {service: s, as: c}
      - request: {conn: c, count: -3}
""", 8, "count"),
    ("unknown-object", """name: bad
description: a request on a connection never made
mode: sim
actors:
  - name: a
    ops:
      - offer_service: {service: s, as: srv}
      - request: {conn: nope, count: 1}
""", 8, "nope"),
    ("crash-self-thread", """name: bad
description: crash_self needs a process actor
mode: sim
actors:
  - name: a
    ops:
      - crash_self: {}
""", 7, "crash_self"),
    ("bad-mode", """name: bad
description: no such mode
mode: warp
actors:
  - name: a
    ops:
      - wait: {ms: 1}
""", 3, "mode"),
    ("no-actors", """name: bad
description: actors missing
mode: sim
""", None, "actors"),
    ("bad-fault-action", """name: bad
description: a fault with an unknown action
mode: sim
actors:
  - name: a
    ops:
      - wait: {ms: 1}
faults:
  - point: transport/chunk/loan
    action: explode
""", 10, "action"),
    ("bad-property", """name: bad
description: an unknown property
mode: sim
actors:
  - name: a
    ops:
      - wait: {ms: 1}
properties: [chunks_balanced, everything_fine]
""", 8, "everything_fine"),
]


def case_bad_scenario():
    """Bad scenario files: exit 2 and one 'file:line:' message on stderr."""
    d = tdir("bad")
    for name, text, line, what in BAD_SCENARIOS:
        path = os.path.join(d, name + ".yaml")
        write_text(path, text)
        for cmd in (["run", path, "--runs", "1", "-q", "--trace-dir", os.path.join(d, "tr")], ["list", path]):
            rc, out, err = run(cmd)
            check(rc == 2, "%s: %s exited %d, expected 2\nstderr:\n%s", name, cmd[0], rc, err)
            pat = re.escape(path) + r":(\d+):"
            m = re.search(pat, err)
            check(m is not None, "%s: %s: no '%s:LINE:' on stderr:\n%s", name, cmd[0], path, err)
            if line is not None:
                check(int(m.group(1)) == line, "%s: message names line %s, expected %d:\n%s",
                      name, m.group(1), line, err)
            if what is not None:
                check(what in err, "%s: message does not mention %r:\n%s", name, what, err)
    # A file that does not exist, and a directory with a bad file in it.
    rc, out, err = run(["run", os.path.join(d, "nope.yaml"), "--runs", "1", "-q"])
    check(rc == 2, "a missing scenario file: exit %d, expected 2:\n%s", rc, err)
    rc, out, err = run(["run", d, "--runs", "1", "-q", "--trace-dir", os.path.join(d, "tr")])
    check(rc == 2, "a directory with bad files: exit %d, expected 2:\n%s", rc, err)


BAD_ARGS = [
    [],
    ["frobnicate"],
    ["run", SMOKE, "--runs", "0"],
    ["run", SMOKE, "--runs", "many"],
    ["run", SMOKE, "--runs", "-1"],
    ["run", SMOKE, "--seed", "x"],
    ["run", SMOKE, "--jobs", "0"],
    ["run", SMOKE, "--jobs", "two"],
    ["run", SMOKE, "--shard", "3/2"],
    ["run", SMOKE, "--shard", "0/2"],
    ["run", SMOKE, "--shard", "1"],
    ["run", SMOKE, "--shard", "1/0"],
    ["run", SMOKE, "--mode", "warp"],
    ["run", SMOKE, "--time", "-5"],
    ["run", SMOKE, "--timeout", "soon"],
    ["run", SMOKE, "--no-such-option"],
    ["run", SMOKE, "--seed"],
    # Run k uses seed S+k: 2^64-1 with two runs would wrap to seed 0.
    ["run", SMOKE, "--seed", "18446744073709551615", "--runs", "2"],
    ["replay"],
    ["replay", "a.trace", "b.trace"],
    ["shrink"],
    ["shrink", "a.trace", "--attempts", "lots"],
]


def case_bad_args():
    """Bad command lines: exit 2 with a message on stderr, no run."""
    d = tdir("args")
    for args in BAD_ARGS:
        full = [a if a != SMOKE else src(SMOKE) for a in args]
        if full and full[0] == "run":
            full += ["-q", "--trace-dir", os.path.join(d, "tr")]
        rc, out, err = run(full)
        check(rc == 2, "faultline %s: exit %d, expected 2\nstdout:\n%s\nstderr:\n%s",
              " ".join(args), rc, out, err)
        check(err.strip() != "", "faultline %s: exit 2 without a message on stderr", " ".join(args))
        check("passed" not in out, "faultline %s: ran despite bad arguments:\n%s", " ".join(args), out)
    # --help is not an error.
    for cmd in (["--help"], ["run", "--help"], ["replay", "--help"], ["shrink", "--help"], ["list", "--help"]):
        rc, out, err = run(cmd)
        check(rc == 0, "faultline %s: exit %d, expected 0", " ".join(cmd), rc)
        check("usage" in out + err, "faultline %s: no usage text", " ".join(cmd))


RUN_FIELDS = ("scenario", "seed", "verdict", "property", "trace", "trace_hash", "seconds", "detail")
SUMMARY_FIELDS = ("runs", "passed", "failed", "crashed", "hung", "deadlocked")


def case_json():
    """--json: every run carries scenario/seed/verdict/property/trace/
    trace_hash; the summary adds up; '-' writes to stdout."""
    rep, _, _ = run_json(SMOKE, ["--seed", "11", "--runs", "5"], "json-pass")
    check(len(rep["runs"]) == 5, "expected 5 runs, got %d", len(rep["runs"]))
    for i, r in enumerate(rep["runs"]):
        for k in RUN_FIELDS:
            check(k in r, "run %d lacks %r: %s", i, k, r)
        check(r["scenario"] == "reqrep-smoke", "scenario %r", r["scenario"])
        check(r["seed"] == 11 + i, "run %d: seed %r, expected %d", i, r["seed"], 11 + i)
        check(r["verdict"] == "pass" and r["property"] is None and r["trace"] is None,
              "passing run %d: %s", i, r)
        check(re.fullmatch(r"[0-9a-f]{16}", r["trace_hash"]), "trace_hash %r", r["trace_hash"])
    for k in SUMMARY_FIELDS:
        check(k in rep["summary"], "summary lacks %r: %s", k, rep["summary"])
    check(verdict_counts(rep) == {"runs": 5, "passed": 5, "failed": 0, "crashed": 0, "hung": 0,
                                  "deadlocked": 0}, "summary %s", rep["summary"])

    rep, _, _ = run_json(FAILING, ["--seed", "1", "--runs", "2"], "json-fail", expect=1)
    for r in rep["runs"]:
        check(r["verdict"] == "fail" and r["property"] == FAILING_PROPERTY,
              "failing run: %s", r)
        check(isinstance(r["trace"], str) and os.path.exists(r["trace"]), "trace %r", r["trace"])
        check(r["trace"].startswith(os.path.join(TMP, "json-fail", "traces")),
              "trace %r is not under --trace-dir", r["trace"])
        check(r["detail"], "failing run without detail: %s", r)
    check(rep["summary"]["failed"] == 2 and rep["summary"]["runs"] == 2, "summary %s", rep["summary"])

    # --json - : the report on stdout (progress on stderr or suppressed).
    rc, out, err = run(["run", src(SMOKE), "--seed", "1", "--runs", "2", "-q", "--trace-dir",
                        os.path.join(tdir("json-stdout"), "tr"), "--json", "-"], 0)
    start = out.find("{")
    check(start >= 0, "--json - wrote no JSON on stdout:\n%s", out)
    try:
        rep = json.loads(out[start:])
    except ValueError as e:
        raise Failure("--json - output is not JSON (%s):\n%s" % (e, out))
    check(rep["summary"]["runs"] == 2, "summary %s", rep["summary"])


def case_junit():
    """--junit writes valid XML: one testcase a run, failures counted."""
    d = tdir("junit")
    path = os.path.join(d, "report.xml")
    run(["run", src(SMOKE), src(FAILING), "--seed", "1", "--runs", "3", "-q",
         "--trace-dir", os.path.join(d, "tr"), "--junit", path], 1)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise Failure("--junit output is not XML: %s" % e)
    check(root.tag in ("testsuites", "testsuite"), "root element %r", root.tag)
    cases = root.findall(".//testcase")
    check(len(cases) == 6, "expected 6 testcases, got %d", len(cases))
    failures = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    check(len(failures) == 3, "expected 3 failed testcases, got %d", len(failures))
    for c in failures:
        f = c.find("failure")
        text = (f.get("message") or "") + (f.text or "")
        check(FAILING_PROPERTY in text, "failure does not name %s: %r", FAILING_PROPERTY, text)
    if root.tag == "testsuites" and root.get("failures") is not None:
        check(int(root.get("failures")) == 3, "testsuites failures=%s", root.get("failures"))
        check(int(root.get("tests")) == 6, "testsuites tests=%s", root.get("tests"))


def case_shard():
    """--shard 1/2 and 2/2 together cover exactly the runs of an unsharded run."""
    full, _, _ = run_json(SMOKE, [src(FAILING), "--seed", "100", "--runs", "5"], "shard-all", expect=1)
    s1, _, _ = run_json(SMOKE, [src(FAILING), "--seed", "100", "--runs", "5", "--shard", "1/2"],
                        "shard-1", expect={0, 1})
    s2, _, _ = run_json(SMOKE, [src(FAILING), "--seed", "100", "--runs", "5", "--shard", "2/2"],
                        "shard-2", expect={0, 1})
    # by the run's id (its index among its scenario's runs), not totals
    key = lambda r: (r["scenario"], r["seed"], r["run_index"], r["verdict"], r["property"],
                     r["trace_hash"])
    a = sorted(key(r) for r in full["runs"])
    b1 = [key(r) for r in s1["runs"]]
    b2 = [key(r) for r in s2["runs"]]
    check(len(a) == 10, "unsharded: %d runs, expected 10", len(a))
    check(b1 and b2, "a shard is empty: %s / %s", b1, b2)
    check(not (set(b1) & set(b2)), "shards overlap: %s", set(b1) & set(b2))
    check(sorted(b1 + b2) == a, "shards do not cover the unsharded runs:\n%s\n%s\n%s", a, b1, b2)
    check(s1["summary"]["runs"] + s2["summary"]["runs"] == 10, "shard summaries %s %s",
          s1["summary"], s2["summary"])


def case_jobs():
    """--jobs 2 gives the same runs (verdict counts and trace hashes) as --jobs 1."""
    extra = [src(FAILING), "--seed", "50", "--runs", "8"]
    j1, _, _ = run_json(SMOKE, extra + ["--jobs", "1"], "jobs-1", expect=1)
    j2, _, _ = run_json(SMOKE, extra + ["--jobs", "2"], "jobs-2", expect=1)
    check(verdict_counts(j1) == verdict_counts(j2), "--jobs 1: %s, --jobs 2: %s",
          verdict_counts(j1), verdict_counts(j2))
    key = lambda r: (r["scenario"], r["seed"], r["verdict"], r["property"], r["trace_hash"])
    check(sorted(map(key, j1["runs"])) == sorted(map(key, j2["runs"])),
          "--jobs 2 runs differ from --jobs 1")
    check(verdict_counts(j1)["failed"] == 8 and verdict_counts(j1)["passed"] == 8,
          "expected 8 passed and 8 failed: %s", verdict_counts(j1))


def case_shm_clean():
    """No /dev/shm/faultline-* entry is left after passing, failing, faulted,
    crashed-actor, swept and hung (killed) runs, with --jobs 1 and 2.
    (run() checks after every command; this case runs the kinds of run.)"""
    d = tdir("shm")
    tr = os.path.join(d, "tr")
    run(["run", src(SMOKE), "--seed", "1", "--runs", "5", "-q", "--trace-dir", tr], 0)
    run(["run", src(FAILING), "--seed", "1", "--runs", "5", "-q", "--trace-dir", tr], 1)
    run(["run", src("scenarios/reqrep-crash.yaml"), "--seed", "1", "--runs", "10", "-q",
         "--trace-dir", tr], 0)
    run(["run", src("scenarios/reqrep-server-crash.yaml"), "--seed", "1", "--runs", "10", "-q",
         "--trace-dir", tr, "--jobs", "2"], 0)
    run(["run", src("scenarios/reqrep-fault-sweep.yaml"), "--seed", "1", "--runs", "1", "-q",
         "--trace-dir", tr], 0)
    # A 1 ms wall-clock deadline: runs are killed as hung mid-run.
    rep_path = os.path.join(d, "hang.json")
    run(["run", src("scenarios/reqrep-port-churn.yaml"), "--seed", "1", "--runs", "3", "-q",
         "--timeout", "1", "--trace-dir", tr, "--json", rep_path], 1)
    with open(rep_path) as f:
        rep = json.load(f)
    check(rep["summary"]["hung"] == 3, "a 1 ms timeout did not report hangs: %s", rep["summary"])
    for r in rep["runs"]:
        check(r["verdict"] == "hang" and r["property"] == "hang",
              "run %s: verdict %s, property %s, expected hang and hang", r["seed"], r["verdict"],
              r["property"])
        check("no verdict within 1 ms of wall time" in (r["detail"] or ""),
              "run %s: the detail does not name the 1 ms deadline: %s", r["seed"], r["detail"])
    run(["run", src("scenarios/reqrep-port-churn.yaml"), "--seed", "1", "--runs", "4", "-q",
         "--timeout", "1", "--trace-dir", tr, "--jobs", "2"], 1)
    # The failing runs' traces replay (and shrink) without leaving anything.
    t = os.path.join(tr, "fail-barrier-1.trace")
    run(["replay", t], 0)
    run(["shrink", t, "-o", os.path.join(d, "m.trace"), "--attempts", "10"], 0)


# A sweep's cap on the hits of a point it tries (harness/cli/main.c,
# sweep_cap): a target's allocation calls all of them up to 10,000, the
# transport's points their first 64.
def sweep_cap(point):
    return 10000 if point == "target/alloc" else 64


def sweep_promised(rep, i=0):
    """The faulted runs sweep i of a JSON report promises, as (point, k,
    persistent), from its counting run's hits: each hit up to the point's
    cap, once and from then on.  Checks the report's own sums."""
    sw = rep["sweeps"][i]
    want = []
    for point, hits in sw["hits"].items():
        check(sw["tried"][point] == min(hits, sweep_cap(point)),
              "%s hit %d times, tried %d", point, hits, sw["tried"][point])
        want += [(point, k, p) for k in range(1, min(hits, sweep_cap(point)) + 1)
                 for p in (False, True)]
    check(sw["faulted_runs"] == len(want) == 2 * sum(sw["tried"].values()),
          "the report's faulted_runs %d, its hits make %d", sw["faulted_runs"], len(want))
    return want


def case_sweep():
    """--sweep: prints the number of faulted runs; every faulted run of the
    request/response sweep scenario passes (no crash, hang or leak); a
    counting run that fails is reported and no faulted run made."""
    # (--time 3600: the whole sweep, not what the scenario's 30 s allow
    # on a loaded machine.)
    rep, out, err = run_json("scenarios/reqrep-fault-sweep.yaml",
                             ["--seed", "1", "--runs", "2", "--time", "3600"], "sweep")
    m = re.search(r"sweep: (\d+) of \d+ faulted runs", out + err)
    check(m is not None, "no 'sweep: N of M faulted runs' line:\n%s%s", out, err)
    n = int(m.group(1))
    # Exactly the runs it promises: every hit the counting run saw (at
    # most a point's cap), once and from then on, each one run.
    want = sweep_promised(rep)
    check(n == len(want), "the sweep says %d faulted runs; its counting run's hits promise %d",
          n, len(want))
    check(len(want) == 98, "the request/response sweep promises %d faulted runs, not the 98 "
          "its eleven points' hits make (a point no longer reached, or a new one?)", len(want))
    got = Counter((r["sweep_point"], r["sweep_k"], r["sweep_persistent"]) for r in rep["runs"]
                  if r["sweep_point"] is not None)
    check(got == Counter(want), "the faulted runs are not the promised ones: missing %s, "
          "extra or repeated %s", sorted(set(want) - set(got)),
          sorted(k for k, v in got.items() if v > 1 or k not in want))
    check(rep["summary"]["runs"] == n + 2, "summary %s, expected %d runs", rep["summary"], n + 2)
    check(rep["summary"]["passed"] == n + 2, "not every swept run passed: %s", rep["summary"])
    # --sweep on the command line sweeps a scenario without `sweep: true`.
    rep, out, err = run_json(SMOKE, ["--seed", "1", "--runs", "1", "--sweep"], "sweep-cli", expect={0, 1})
    check(re.search(r"sweep: (\d+) of \d+ faulted runs", out + err), "--sweep did not sweep:\n%s%s", out, err)
    # A counting run that does not pass (here a scenario whose clean run
    # fails) is reported, with its trace, and no faulted run is made
    # from its counts: a sweep of a run cut short would try part of the
    # points' hits, or none, and pass.
    rep, out, err = run_json(FAILING, ["--seed", "1", "--runs", "1", "--sweep"], "sweep-count",
                             expect=1)
    count = [r for r in rep["runs"] if r.get("sweep_k") == 0 and r.get("sweep_point") is None]
    check(len(rep["runs"]) == 2 and len(count) == 1 and count[0]["verdict"] == "fail" and
          count[0]["property"] == FAILING_PROPERTY and
          "its counting run, a clean run, did not pass: no faulted run was made" in
          count[0]["detail"] and "sweep=count" in out,
          "the failing counting run: %s\n%s", rep["runs"], out)
    rc, out2, err2 = run(["replay", count[0]["trace"]], 0)
    check("same verdict" in out2, "the counting run's trace did not replay:\n%s%s", out2, err2)
    # Never known: a baseline written from that batch knows the plain
    # run's failure, not the sweep that was not made.
    d = tdir("sweep-count")
    known = os.path.join(d, "known.json")
    run(["run", src(FAILING), "--seed", "1", "--runs", "1", "--sweep", "-q", "--trace-dir", d,
         "--baseline-write", known], expect=1)
    rc, out3, err3 = run(["run", src(FAILING), "--seed", "1", "--runs", "1", "--sweep", "-q",
                          "--trace-dir", d, "--baseline", known], expect=1)
    check("KNOWN    fail-barrier seed=1 property" in out3 and
          "FAIL     fail-barrier seed=1 sweep=count" in out3,
          "a baseline made the failed counting run pass:\n%s%s", out3, err3)


def case_tap():
    """--tap: TAP 13 on stdout, one ok / not ok a run, the plan matching,
    failures with a YAML block naming the property; progress not on stdout."""
    d = tdir("tap")
    rc, out, err = run(["run", src(SMOKE), src(FAILING), "--seed", "1", "--runs", "3", "--tap",
                        "--trace-dir", os.path.join(d, "tr")], 1)
    lines = out.splitlines()
    check(lines and lines[0] == "TAP version 13", "first line %r", lines[:1])
    results = [l for l in lines if re.match(r"^(not )?ok \d+ ", l)]
    check(len(results) == 6, "expected 6 results, got %d:\n%s", len(results), out)
    for i, l in enumerate(results):
        check(re.match(r"^(not )?ok %d " % (i + 1), l), "result %d numbered wrongly: %r", i + 1, l)
    check(sum(l.startswith("ok ") for l in results) == 3, "expected 3 ok:\n%s", out)
    plans = [l for l in lines if re.match(r"^1\.\.\d+$", l)]
    check(plans == ["1..6"], "plan lines %s, expected ['1..6']", plans)
    check(out.count("property: \"%s\"" % FAILING_PROPERTY) == 3, "YAML blocks do not name %s:\n%s",
          FAILING_PROPERTY, out)
    check("passed" not in out, "a progress/summary line on stdout under --tap:\n%s", out)


def case_time_budget():
    """--time stops a scenario near its budget: a 200000-run request with
    --time 1 ends early (well within the command timeout) and passes."""
    import time
    t0 = time.monotonic()
    rep, _, _ = run_json(SMOKE, ["--seed", "1", "--runs", "200000", "--time", "1"], "time")
    took = time.monotonic() - t0
    n = rep["summary"]["runs"]
    check(0 < n < 200000, "--time 1 ran %d of 200000 runs", n)
    check(rep["summary"]["passed"] == n, "summary %s", rep["summary"])
    check(took < 30, "--time 1 took %.1f s", took)


def proc_stats():
    """(pid, comm, fields) of every process /proc lists and still has:
    fields are /proc/PID/stat's after the comm (state ppid pgrp session
    ...)."""
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                st = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, split after ')'.
        yield int(e), st[st.find("(") + 1:st.rfind(")")], st[st.rfind(")") + 2:].split()


def children_of(pid):
    return [p for p, _, fields in proc_stats() if len(fields) > 1 and int(fields[1]) == pid]


def case_killed_runs():
    """Runs whose process dies of a signal mid-run (SIGSEGV, SIGKILL sent
    from outside to the forked run) are reported as crashed with the signal,
    the other runs are unaffected, and /dev/shm is left clean."""
    import signal
    import time
    d = tdir("killed")
    report = os.path.join(d, "report.json")
    before = shm_entries()
    # --time: the scenario's 30 s budget would cut the 100 runs short on
    # a loaded machine under ASan (70 of 100 in a CI run): bound by work.
    p = subprocess.Popen([FL, "run", src("scenarios/reqrep-port-churn.yaml"), "--seed", "1",
                          "--runs", "100", "--time", "3600", "-q", "--trace-dir",
                          os.path.join(d, "tr"), "--json", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    sent = {}
    sigs = [signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT]
    deadline = time.monotonic() + CMD_TIMEOUT
    while p.poll() is None and len(sent) < len(sigs) and time.monotonic() < deadline:
        kids = [k for k in children_of(p.pid) if k not in sent]
        if kids:
            sig = sigs[len(sent)]
            try:
                os.kill(kids[0], sig)
                sent[kids[0]] = sig
            except ProcessLookupError:
                pass
            time.sleep(0.1)  # let the next run start: one signal a run
        else:
            time.sleep(0.002)
    try:
        out, err = p.communicate(timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise Failure("faultline did not exit after its runs were killed")
    leaks = shm_leaks(before, p.pid, last_pid_after(p.pid))
    check(not leaks, "killed runs left /dev/shm entries: %s", leaks)
    check(len(sent) == len(sigs), "only %d of %d runs could be signalled", len(sent), len(sigs))
    check(p.returncode == 1, "exit %d after %d signalled runs, expected 1:\n%s%s",
          p.returncode, len(sent), out, err)
    with open(report) as f:
        rep = json.load(f)
    runs = rep["runs"]
    check(len(runs) == 100, "%d runs reported, expected 100", len(runs))
    crashed = [r for r in runs if r["verdict"] == "crash"]
    others = [r for r in runs if r["verdict"] not in ("crash", "pass")]
    check(not others, "runs neither passed nor crashed: %s", others[:3])
    # A signal can land on a run that has just exited (a zombie not yet
    # reaped): then it has no effect.  Every crash must be one of ours, and
    # at least one of three must land.
    check(1 <= len(crashed) <= len(sent), "%d signals sent to runs, %d runs crashed: %s",
          len(sent), len(crashed), [r["detail"] for r in crashed])
    names = sorted(signal.Signals(s).name for s in sent.values())
    for r in crashed:
        check(r["property"] == "no_unexpected_signal", "crashed run property %r", r["property"])
        check(any(n in r["detail"] for n in names), "crash detail %r names none of %s", r["detail"], names)
        check(r["trace"] and os.path.exists(r["trace"]), "crashed run without a trace: %s", r)
    check(rep["summary"]["crashed"] == len(crashed), "summary %s", rep["summary"])
    print("# %d runs signalled (%s); %d reported crashed" % (len(sent), ", ".join(names), len(crashed)))


def case_jobs_fd_limit():
    """--jobs under a low `ulimit -n`: pipe() or fork() failing for a
    worker must not drop its runs.  Every requested run is executed (the
    share of a worker that cannot start runs in the CLI itself) or reported
    not run, and a run not run makes the exit status 2 with a message
    saying how many and why.  (Before: 4 fds gave '0 runs', exit 0; 5 fds
    dropped half the runs.)"""
    d = tdir("fdlimit")
    want = sorted([("reqrep-smoke", 1 + i) for i in range(10)] +
                  [("fail-barrier", 1 + i) for i in range(10)])
    for nofile in (4, 5, 6, 7, 8, 16):
        report = os.path.join(d, "r%d.json" % nofile)
        rc, out, err = run(["run", src(SMOKE), src(FAILING), "--seed", "1", "--runs", "10",
                            "--jobs", "2", "-q", "--trace-dir", os.path.join(d, "tr"),
                            "--json", report], nofile=nofile)
        with open(report) as f:
            rep = json.load(f)
        got = sorted((r["scenario"], r["seed"]) for r in rep["runs"])
        check(got == want, "ulimit -n %d: runs reported %s, expected every one of %s\n%s",
              nofile, got, want, err)
        check(rep["summary"]["runs"] == 20, "ulimit -n %d: summary %s", nofile, rep["summary"])
        not_run = [r for r in rep["runs"] if r["verdict"] == "not_run"]
        check(rep["summary"].get("not_run") == len(not_run), "ulimit -n %d: summary %s, %d not_run",
              nofile, rep["summary"], len(not_run))
        ran = [r for r in rep["runs"] if r["verdict"] != "not_run"]
        for r in ran:
            want_v = ("pass", None) if r["scenario"] == "reqrep-smoke" else ("fail", FAILING_PROPERTY)
            check((r["verdict"], r["property"]) == want_v, "ulimit -n %d: run %s: %s %s: %s",
                  nofile, r["seed"], r["verdict"], r["property"], r["detail"])
        if not_run:
            check(rc == 2, "ulimit -n %d: %d runs not run, exit %d (expected 2)\n%s",
                  nofile, len(not_run), rc, err)
            check("%d of 20 runs were not run" % len(not_run) in err and "open files" in err,
                  "ulimit -n %d: no message saying how many runs were not run and why:\n%s",
                  nofile, err)
        else:
            check(rc == 1, "ulimit -n %d: exit %d, expected 1 (fail-barrier fails)\n%s",
                  nofile, rc, err)
        print("# ulimit -n %d: exit %d, %d run, %d not run" % (nofile, rc, len(ran), len(not_run)))
        if nofile == 4:
            # JSON report, stdin/out/err: no fd left for a pipe or a run.
            check(len(not_run) == 20, "ulimit -n 4: %d runs not run, expected 20", len(not_run))
        if nofile == 16:
            check(not not_run, "ulimit -n 16: %d runs not run", len(not_run))


def max_child_rss_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def case_zero_runs():
    """A huge run count under a time budget runs (> 0 runs, exit 0) with
    flat memory: runs are made a batch at a time, never an array sized by
    the count (before: --runs 10^8 or budget.runs 10^8 gave '0 runs' and
    exit 0; 10^7 reached 2.5 GB).  A batch that executes no run exits 2
    and says why."""
    d = tdir("zero")
    big = os.path.join(d, "big-budget.yaml")
    with open(src(SMOKE)) as f:
        text = f.read()
    write_text(big, re.sub(r"(?m)^budget:.*$", "budget: {runs: 100000000, seconds: 1}", text))
    for what, scn, extra in (("--runs 10^8 --time 1", src(SMOKE), ["--runs", "100000000", "--time", "1"]),
                             ("--runs 10^6 --time 1", src(SMOKE), ["--runs", "1000000", "--time", "1"]),
                             ("budget.runs 10^8, seconds 1", big, []),
                             ("--runs 10^8 --time 1 --jobs 2 --junit", src(SMOKE),
                              ["--runs", "100000000", "--time", "1", "--jobs", "2",
                               "--junit", os.path.join(d, "r.xml")])):
        report = os.path.join(d, "r.json")
        rc, out, err = run(["run", scn, "--seed", "1", "-q", "--trace-dir", os.path.join(d, "tr"),
                            "--json", report] + extra)
        with open(report) as f:
            rep = json.load(f)
        n = rep["summary"]["runs"]
        rss = max_child_rss_mb()
        print("# %s: exit %d, %d runs, peak RSS of a child so far %.1f MB" % (what, rc, n, rss))
        if n == 0:
            check(rc == 2 and "no run was executed" in err,
                  "%s: no run executed, exit %d without saying why:\n%s%s", what, rc, out, err)
        else:
            check(rc == 0, "%s: exit %d\n%s%s", what, rc, out, err)
            check(rep["summary"]["passed"] == n and n == len(rep["runs"]), "%s: %s", what,
                  rep["summary"])
            check("time budget of 1 s reached after %d of" % n in out,
                  "%s: does not say the time budget stopped it:\n%s", what, out)
        check(n > 0, "%s: executed no run", what)
        check(rss < 200, "%s: a faultline process reached %.0f MB", what, rss)
    # No run executed: every scenario skipped, or a shard with no run.
    scn = src("harness/tests/run/scenarios/posix-open-image.yaml")
    rc, out, err = run(["run", scn, "--mode", "sim", "--runs", "1", "-q"], 2)
    check("no run was executed: every scenario was skipped" in err, "skipped: %s", err)
    # A shard past the batch's last run (more shards than runs): exit 0,
    # and its report is one merge needs (and merge alone judges the batch).
    shards = []
    for i in (1, 2):
        j = os.path.join(d, "empty-shard-%d.json" % i)
        shards.append(j)
        rc, out, err = run(["run", src(SMOKE), "--runs", "1", "--shard", "%d/2" % i, "--seed", "1",
                            "-q", "--trace-dir", os.path.join(d, "tr"), "--json", j], 0)
    check("shard 2/2 holds none of the batch's 1 runs" in err and "merge" in err,
          "empty shard: %s", err)
    with open(shards[1]) as f:
        rep = json.load(f)
    check(len(rep["runs"]) == 0 and rep["batch"]["shard"] == 2, "empty shard's report: %s",
          rep)
    rc, out, err = run(["merge", shards[1]], 2)
    check("shard 1/2" in err and "missing" in err, "merge of the empty shard alone: %s", err)
    rc, out, err = run(["merge"] + shards, 0)
    check("1 runs: 1 passed" in out + err, "merge of both shards: %s%s", out, err)
    # A sharded batch whose every scenario is skipped is no run at all.
    rc, out, err = run(["run", scn, "--mode", "sim", "--runs", "1", "--shard", "2/2", "--seed",
                        "1", "-q"], 2)
    check("no run was executed" in err, "skipped, sharded: %s", err)


def case_json_stdout():
    """--json - writes the JSON report and nothing else to stdout: the
    progress, failure entries and summary go to stderr.  (Before: the
    summary and failure entries shared stdout and json.loads failed.)"""
    d = tdir("json-only")
    rc, out, err = run(["run", src(SMOKE), src(FAILING), "--seed", "1", "--runs", "3",
                        "--trace-dir", os.path.join(d, "tr"), "--json", "-"], 1)
    try:
        rep = json.loads(out)
    except ValueError as e:
        raise Failure("--json -: stdout is not one JSON document (%s):\n%s" % (e, out))
    check(rep["summary"]["runs"] == 6 and rep["summary"]["failed"] == 3, "summary %s",
          rep["summary"])
    check("6 runs: 3 passed, 3 failed" in err, "no summary on stderr:\n%s", err)
    check("FAIL " in err, "failure entries are not on stderr:\n%s", err)
    # Two machine-read streams cannot share stdout.
    for extra in (["--tap"], ["--junit", "-"]):
        rc, out, err = run(["run", src(SMOKE), "--runs", "1", "--json", "-"] + extra, 2)
        check("stdout" in err, "--json - %s: %s", " ".join(extra), err)


def case_unwritable_outputs():
    """An --json, --junit or --trace-dir that cannot be written stops the
    batch before its first run: exit 2 and a message naming the path.
    (Before: every run ran, then exit 0 with no report.)"""
    d = tdir("unwritable")
    afile = os.path.join(d, "a-file")
    write_text(afile, "x\n")
    good_tr = os.path.join(d, "tr")
    cases = [
        (["--json", os.path.join(d, "no-such-dir", "r.json"), "--trace-dir", good_tr], "r.json"),
        (["--json", d, "--trace-dir", good_tr], d),
        (["--junit", os.path.join(d, "no-such-dir", "r.xml"), "--trace-dir", good_tr], "r.xml"),
        (["--junit", os.path.join(afile, "r.xml"), "--trace-dir", good_tr], "r.xml"),
        (["--trace-dir", afile], afile),
        (["--trace-dir", os.path.join(d, "no-such-dir", "tr")], "no-such-dir"),
        (["--trace-dir", "/proc/faultline-traces"], "/proc/faultline-traces"),
    ]
    for extra, name in cases:
        rc, out, err = run(["run", src(FAILING), "--seed", "1", "--runs", "2"] + extra)
        check(rc == 2, "faultline run %s: exit %d, expected 2\nstdout:\n%s\nstderr:\n%s",
              " ".join(extra), rc, out, err)
        check(name in err, "faultline run %s: the message does not name %s:\n%s",
              " ".join(extra), name, err)
        check("runs:" not in out + err and "FAIL " not in out,
              "faultline run %s: ran despite the unwritable output:\n%s%s", " ".join(extra), out, err)
        check(not os.path.exists(good_tr) or not os.listdir(good_tr),
              "faultline run %s: wrote traces: %s", " ".join(extra),
              os.path.exists(good_tr) and os.listdir(good_tr))
    # The JSON and JUnit reports in one file (also through a link) would
    # make neither parse.
    same = os.path.join(d, "same.txt")
    link = os.path.join(d, "link.txt")
    with open(same, "w"):
        pass
    os.symlink(same, link)
    for j in (same, link):
        rc, out, err = run(["run", src(SMOKE), "--runs", "1", "--json", same, "--junit", j,
                            "--trace-dir", good_tr], 2)
        check("share one file" in err, "--json %s --junit %s: %s", same, j, err)
    # A report left by an earlier batch is never taken for this one's.
    stale = os.path.join(d, "stale.json")
    write_text(stale, '{"runs": [], "summary": {"runs": 0}}\n')
    run(["run", src(SMOKE), "--runs", "1", "--json", stale, "--junit",
         os.path.join(d, "no-such-dir", "r.xml")], 2)
    with open(stale) as f:
        check(f.read() != '{"runs": [], "summary": {"runs": 0}}\n',
              "an earlier report at the --json path survived a batch that stopped")


NUMERIC_ARGS = [
    # (option, value, what the message must say)
    ("--runs", "010", "--runs: expected a decimal integer without a leading 0 (got '010')"),
    ("--runs", "1e3", "--runs: expected a decimal integer (got '1e3')"),
    ("--runs", "0x10", "--runs: expected a decimal integer (got '0x10')"),
    ("--runs", "+5", "--runs: expected a decimal integer (got '+5')"),
    ("--runs", " 5", "--runs: expected a decimal integer (got ' 5')"),
    ("--runs", "5 ", "--runs: expected a decimal integer (got '5 ')"),
    ("--runs", "0", "--runs: must be between 1 and"),
    ("--runs", "18446744073709551616", "--runs: must be between 1 and 18446744073709551615"),
    ("--seed", "0x10", "--seed: expected a decimal integer (got '0x10')"),
    ("--seed", "010", "--seed: expected a decimal integer without a leading 0 (got '010')"),
    ("--seed", "-1", "--seed: expected a decimal integer (got '-1')"),
    ("--seed", "1e3", "--seed: expected a decimal integer (got '1e3')"),
    ("--jobs", "1e1", "--jobs: expected a decimal integer (got '1e1')"),
    ("--jobs", "02", "--jobs: expected a decimal integer without a leading 0 (got '02')"),
    ("--jobs", "0", "--jobs: must be between 1 and 64 (got '0')"),
    ("--jobs", "65", "--jobs: must be between 1 and 64 (got '65')"),
    ("--timeout", "0x10", "--timeout: expected a decimal integer (got '0x10')"),
    ("--timeout", "1e3", "--timeout: expected a decimal integer (got '1e3')"),
    ("--timeout", "0", "--timeout: must be between 1 and"),
    ("--shard", "1/0x2", "--shard: expected I/N"),
    ("--shard", "01/2", "--shard: expected I/N"),
    ("--shard", "+1/2", "--shard: expected I/N"),
    ("--shard", " 1/2", "--shard: expected I/N"),
    ("--shard", "1/2x", "--shard: expected I/N"),
    ("--shard", "1/2/3", "--shard: expected I/N"),
    ("--shard", "0/2", "--shard: expected I/N"),
    ("--shard", "3/2", "--shard: expected I/N"),
    ("--shard", "-1/2", "--shard: expected I/N"),
    ("--time", "1e3", "--time: expected seconds"),
    ("--time", "0x10", "--time: expected seconds"),
    ("--time", "inf", "--time: expected seconds"),
    ("--time", "0", "--time: expected seconds"),
]


def case_numeric_args():
    """--runs, --seed, --jobs, --timeout and --shard take decimal integers
    only, in range; anything else is exit 2 with a message naming the
    option and the value (before: '010' was 8, '0x10' 16, runs went ahead).
    Decimal values in range still work."""
    d = tdir("numeric")
    for opt, val, msg in NUMERIC_ARGS:
        rc, out, err = run(["run", src(SMOKE), opt, val, "-q", "--trace-dir", os.path.join(d, "tr")])
        check(rc == 2, "faultline run %s %r: exit %d, expected 2\nstdout:\n%s\nstderr:\n%s",
              opt, val, rc, out, err)
        first = err.strip().splitlines()[0] if err.strip() else ""
        check(msg in first, "faultline run %s %r: first line of stderr %r does not say %r",
              opt, val, first, msg)
        check("passed" not in out, "faultline run %s %r: ran:\n%s", opt, val, out)
    rc, out, err = run(["shrink", "x.trace", "--attempts", "0x10"], 2)
    check("--attempts: expected a decimal integer (got '0x10')" in err, "shrink: %s", err)
    rep, _, _ = run_json(SMOKE, ["--seed", "10", "--runs", "4", "--jobs", "2", "--timeout", "60000",
                                 "--shard", "1/1", "--time", "30.5"], "numeric-ok")
    check(sorted(r["seed"] for r in rep["runs"]) == [10, 11, 12, 13], "decimal values: %s",
          [r["seed"] for r in rep["runs"]])
    rep, _, _ = run_json(SMOKE, ["--seed", "0", "--runs", "1"], "numeric-zero")
    check([r["seed"] for r in rep["runs"]] == [0], "--seed 0: %s", rep["runs"])


def case_duplicate_names():
    """Two scenario files with the same name: in one invocation they would
    overwrite each other's traces (a replay then runs the wrong file):
    exit 2 before any run, naming both files."""
    d = tdir("dup")
    with open(src(SMOKE)) as f:
        text = f.read()
    a = os.path.join(d, "a.yaml")
    b = os.path.join(d, "b.yaml")
    write_text(a, text)
    write_text(b, text.replace("count: 10, size: 128", "count: 10, size: 64"))
    for paths in ([a, b], [d], [a, src(SMOKE)]):
        rc, out, err = run(["run"] + paths + ["--seed", "1", "--runs", "1", "-q",
                                              "--trace-dir", os.path.join(d, "tr")])
        check(rc == 2, "run %s: exit %d, expected 2\n%s%s", paths, rc, out, err)
        check("reqrep-smoke" in err and all(p in err for p in ([a, b] if paths == [d] else paths)),
              "run %s: the message does not name the scenario and both files:\n%s", paths, err)
        check("passed" not in out, "run %s: ran:\n%s", paths, out)


def case_replay_changed():
    """replay (and shrink) of a trace whose scenario file changed since it
    was recorded (the trace holds the file's hash): exit 2 with a message
    unless --force; the same file replays as before."""
    d = tdir("changed")
    scn = os.path.join(d, "fail-barrier.yaml")
    with open(src(FAILING)) as f:
        text = f.read()
    write_text(scn, text)
    rc, out, err = run(["run", scn, "--seed", "1", "--runs", "1", "-q",
                        "--trace-dir", os.path.join(d, "tr")], 1)
    t = os.path.join(d, "tr", "fail-barrier-1.trace")
    check(os.path.exists(t), "no trace %s:\n%s%s", t, out, err)
    run(["replay", t], 0)
    write_text(scn, text.replace("deadline_ms: 100", "deadline_ms: 5000"))
    rc, out, err = run(["replay", t])
    check(rc == 2, "replay of a changed scenario: exit %d, expected 2\n%s%s", rc, out, err)
    check("changed since the trace was recorded" in err and scn in err and "--force" in err,
          "replay of a changed scenario: message %r", err)
    check("replay:" not in out, "replay of a changed scenario ran it:\n%s", out)
    rc, out, err = run(["shrink", t, "-o", os.path.join(d, "m.trace")], 2)
    check("changed since the trace was recorded" in err, "shrink: %s", err)
    rc, out, err = run(["replay", "--force", t], {0, 1})
    check("replay:" in out and "warning" in err, "replay --force: %s%s", out, err)
    rc, out, err = run(["replay", t, "--force"], {0, 1})
    check("replay:" in out, "replay TRACE --force: %s%s", out, err)
    write_text(scn, text)
    run(["replay", t], 0)


def case_list():
    """list prints every scenario of a directory with its description;
    list --ops every declared operation with its arguments, read from
    the declarations (a new argument shows without a docs edit)."""
    rc, out, err = run(["list", src("scenarios")], 0)
    for name in ("reqrep-smoke", "reqrep-crash", "reqrep-fault-sweep"):
        check(name in out, "list does not show %s:\n%s", name, out)
    rc, out, err = run(["list", "--ops"], 0)
    for line in ("  add_publication: makes a publication\n",
                 "      cancel_at: integer 0..1000000 or random or none, default none; a list "
                 "draws one each run; needs async: true\n",
                 "      sizes: [min, max] within 0..16777216; not with size\n",
                 "      from: a publication named by `as:` (any actor's)\n",
                 "      on: a connection or server named by `as:` (of an actor with this "
                 "actor's client), required\n",
                 "      expect: the one FL_E* code it must fail with\n",
                 # the loader's own ops, which no target declares
                 "  wait\n      ms: milliseconds (virtual under sim), required\n",
                 "  crash_self: the actor dies here"):
        check(line in out, "list --ops does not say %r:\n%s", line, out)
    run(["list", "--ops", "extra"], 2)
    run(["list", "--target", "x.so"], 2)
    rc, out, err = run(["list", "--ops", "--target", "/nonexistent/t.so"], 2)
    check("faultline list: /nonexistent/t.so" in err, "list --ops --target: %s", err)


def case_check_each_step():
    """--check-each-step audits after every operation of every actor: the
    correct image use passes at every step (a reference held between
    take_image and release_image is the actor's own); the B1 leak fails
    with image_refs naming the actor and the step of the leaky helper, and
    its trace replays (with the step audit) to the same verdict."""
    rep, _, _ = run_json("fixtures/scenarios/b1-image-correct.yaml",
                         ["--seed", "1", "--runs", "20", "--check-each-step"], "each-ok", 0)
    check(rep["summary"]["passed"] == 20, "correct usage: %s", verdict_counts(rep))
    rep, _, _ = run_json("fixtures/scenarios/b1-image-leak.yaml",
                         ["--seed", "1", "--runs", "3", "--check-each-step"], "each-leak", 1)
    bad = [r for r in rep["runs"] if r["verdict"] != "pass"]
    check(len(bad) == 3, "leak: %s", verdict_counts(rep))
    for r in bad:
        check(r["property"] == "image_refs", "leak failed with %r: %s", r["property"], r["detail"])
        check(re.match(r"after step 3 \(lookup_image, line \d+\) of actor subscriber: its client "
                       r"holds 1 image reference", r["detail"] or ""),
              "the violation does not name the lookup step: %r", r["detail"])
    with open(bad[0]["trace"]) as f:
        check("check_each_step" in f.read(), "the trace does not record --check-each-step")
    rc, out, err = run(["replay", bad[0]["trace"]], 0)
    check("after " in out, "replay lost the step audit: %s", out)
    # Without the flag the same run fails at the end of the run instead.
    rep, _, _ = run_json("fixtures/scenarios/b1-image-leak.yaml",
                         ["--seed", "1", "--runs", "1"], "end-leak", 1)
    check(not rep["runs"][0]["detail"].startswith("after "),
          "end-of-run audit reports a step: %r", rep["runs"][0]["detail"])


def case_pct_estimate():
    """A PCT scenario spreads its change points over a clean run's length:
    the CLI prints the step count it measured, and runs stay deterministic
    (same seed, same trace hashes) with the estimate in place."""
    scn = "scenarios/reqrep-crash.yaml"
    rc, out, err = run(["run", src(scn), "--seed", "5", "--runs", "3", "--trace-dir",
                        os.path.join(tdir("pct"), "tr")], 0)
    m = re.search(r"PCT depth (\d+), change points over (\d+) steps \(a clean run's length\)", out)
    check(m and int(m.group(2)) > 0, "no step estimate in the output:\n%s", out)
    a, _, _ = run_json(scn, ["--seed", "5", "--runs", "3"], "pct-a", 0)
    b, _, _ = run_json(scn, ["--seed", "5", "--runs", "3"], "pct-b", 0)
    check([r["trace_hash"] for r in a["runs"]] == [r["trace_hash"] for r in b["runs"]],
          "PCT runs with the estimate differ between two runs of one seed")
    # A failure's printed seed reproduces it: seed 6 run alone, or in a
    # batch from seed 4, is the run it was in the batch from seed 5 (the
    # estimate is never the batch's first seed's).
    c, _, _ = run_json(scn, ["--seed", "6", "--runs", "1"], "pct-c", 0)
    e, _, _ = run_json(scn, ["--seed", "4", "--runs", "3"], "pct-e", 0)
    want = dict((r["seed"], r["trace_hash"]) for r in a["runs"])
    got = [(r["seed"], r["trace_hash"]) for r in c["runs"] + e["runs"] if r["seed"] in want]
    check(len(got) == 3 and all(want[k] == h for k, h in got),
          "a PCT run differs with the batch's first seed: %s against %s", got, want)


def case_worker():
    """Sim runs share a persistent worker process (replaced after any run
    that did not pass), which has the next run before the last ends: every
    run's trace hash and verdict are the ones a fresh forked child per run
    (--fork-each) gives, for passing, failing, crashing (b3-close-unsafe:
    the worker dies with the next run already sent) and faulted scenarios
    alike, and for a sweep's runs."""
    for scn in ("scenarios/pubsub-smoke.yaml", "scenarios/reqrep-port-churn.yaml",
                "fixtures/scenarios/b1-image-leak.yaml", FAILING,
                "fixtures/scenarios/b3-close-unsafe.yaml"):
        name = os.path.basename(scn)
        a, _, _ = run_json(scn, ["--seed", "3", "--runs", "12"], "worker-a-" + name, {0, 1})
        b, _, _ = run_json(scn, ["--seed", "3", "--runs", "12", "--fork-each"], "worker-b-" + name,
                           {0, 1})
        for x, y in zip(a["runs"], b["runs"]):
            check((x["verdict"], x["property"], x["trace_hash"]) ==
                  (y["verdict"], y["property"], y["trace_hash"]),
                  "%s seed %s: worker %s, fresh child %s", scn, x["seed"],
                  (x["verdict"], x["property"], x["trace_hash"]),
                  (y["verdict"], y["property"], y["trace_hash"]))
    # A proc run that leaves a thread in its process (a test hook's, which
    # crashes 300 ms later): the worker retires after it, its group
    # killed, and no later run inherits the crash; with a fresh child
    # each run the thread died with its run's process.
    scn = "scenarios/pubsub-smoke.yaml"
    args = ["--mode", "proc", "--seed", "1", "--runs", "40"]
    env = {"FLI_TEST_LEAVE_THREAD_SEED": "3"}
    a, _, _ = run_json(scn, args, "worker-thread-a", {0, 1}, env=env)
    b, _, _ = run_json(scn, args + ["--fork-each"], "worker-thread-b", {0, 1}, env=env)
    for x, name in ((a, "worker"), (b, "fresh child")):
        bad = [(r["seed"], r["verdict"], r["property"]) for r in x["runs"] if r["verdict"] != "pass"]
        check(len(x["runs"]) == 40 and not bad, "a run's leftover thread, %s: %d runs, not passed %s",
              name, len(x["runs"]), bad)
    # A worker that died in a run before the next was sent to it (the
    # parent paused first): the dead run's crash is its verdict, the next
    # run goes to a new worker, and every run is run (on /dev/shm a run
    # forked again would find the dead run's directory: not run).
    scn = "fixtures/scenarios/b3-close-unsafe.yaml"
    args = ["--seed", "3", "--runs", "16"]
    env = {"FLI_TEST_AHEAD_PAUSE_MS": "30", "FL_SIM_DEV_SHM": "1"}
    a, _, _ = run_json(scn, args, "worker-died-a", {0, 1}, env=env)
    b, _, _ = run_json(scn, args + ["--fork-each"], "worker-died-b", {0, 1},
                       env={"FL_SIM_DEV_SHM": "1"})
    ka = [(r["seed"], r["verdict"], r["trace_hash"]) for r in a["runs"]]
    kb = [(r["seed"], r["verdict"], r["trace_hash"]) for r in b["runs"]]
    check(ka == kb, "worker that died before the next run: %s, fresh child %s", ka, kb)
    # (A crash; under a sanitizer, its report: fail.)
    check(any(r["verdict"] != "pass" for r in a["runs"]), "every run passed: %s", ka)
    # Each of those crashes comes again alone (the worker runs a crash
    # that followed other runs once more in a fresh child): none says
    # otherwise.
    alone = [r["seed"] for r in a["runs"] if "did not crash" in (r["detail"] or "")]
    check(not alone, "crashes that came again alone said not to: %s", alone)
    # A run that leaves the worker's heap damaged (a test hook writes to
    # freed blocks after the worker's first run) passes, and the next run
    # dies in malloc.  That crash stays the verdict, but the seed it names
    # passes alone, and the detail says so and names the run before it.
    # (With the next run sent late, too: the parent paused first.)
    if SANITIZE == "none":
        scn = "fixtures/scenarios/answer-echo.yaml"
        for name, env in (("worker-damage", {"FLI_TEST_WORKER_DAMAGE": "1"}),
                          ("worker-damage-late", {"FLI_TEST_WORKER_DAMAGE": "1",
                                                  "FLI_TEST_AHEAD_PAUSE_MS": "30"})):
            a, _, _ = run_json(scn, ["--seed", "1", "--runs", "3", "--jobs", "1"], name, 1, env=env)
            got = [(r["seed"], r["verdict"]) for r in a["runs"]]
            check(got == [(1, "pass"), (2, "crash"), (3, "pass")], "%s: the runs %s", name, got)
            detail = a["runs"][1]["detail"] or ""
            check("; alone, in a fresh process, the same run did not crash: the run its worker "
                  "ran before it (seed 1) left that process damaged" in detail and
                  "`--jobs 1 --seed 1 --runs 2` runs that one before it again" in detail,
                  "%s: the crash after a damaging run: %r", name, detail)
    # A worker that dies between runs (a test hook: SIGALRM once the run
    # of the seed named has ended, before it reads the next request), as a
    # run's leftover timer or thread would kill it: never silently
    # replaced.  The run made last before it was found fails, a crash
    # naming the runs it ran; found at the batch's end too (seed 4 of 4),
    # and with the next run sent late.  Every run is still run.
    # With --jobs 2 the worker of the second job (seeds 2 and 4) has run
    # seed 2 alone.
    scn = "fixtures/scenarios/answer-echo.yaml"
    for name, env, want, jobs, runs in (
            ("worker-idle-death", {"FLI_TEST_WORKER_IDLE_DEATH": "2"}, 2, "1",
             "one of the 2 runs it ran (seeds 1 to 2)"),
            ("worker-idle-death-late", {"FLI_TEST_WORKER_IDLE_DEATH": "2",
                                        "FLI_TEST_AHEAD_PAUSE_MS": "30"}, 2, "1",
             "one of the 2 runs it ran (seeds 1 to 2)"),
            ("worker-idle-death-last", {"FLI_TEST_WORKER_IDLE_DEATH": "4"}, 4, "1",
             "one of the 4 runs it ran (seeds 1 to 4)"),
            ("worker-idle-death-jobs", {"FLI_TEST_WORKER_IDLE_DEATH": "2"}, 2, "2",
             "the run it ran (seed 2)")):
        a, _, _ = run_json(scn, ["--seed", "1", "--runs", "4", "--jobs", jobs], name, 1, env=env)
        got = sorted((r["seed"], r["verdict"], r["property"]) for r in a["runs"])
        check(got == [(k, "crash" if k == want else "pass",
                       "no_unexpected_signal" if k == want else None) for k in (1, 2, 3, 4)],
              "%s: the runs %s", name, got)
        detail = [r["detail"] for r in a["runs"] if r["seed"] == want][0] or ""
        check(detail.startswith("a persistent worker process died of SIGALRM between runs "
                                "(found after this run): %s left something behind" % runs),
              "%s: the worker's death said %r", name, detail)
    # The same death when the time budget then drops the run sent ahead
    # (the first run always runs; a budget of 1 us has passed by its end):
    # the worker never began that run, so its death is still the first
    # run's failure, not dropped with the run (it was, before).
    # And of SIGSEGV, through the crash handler (its frame comes first;
    # not in a sanitizer build, whose runtime takes SIGSEGV).
    for jobs, sig in (("1", "ALRM"), ("2", "ALRM")) + ((("1", "SEGV"),) if SANITIZE == "none"
                                                        else ()):
        env = {"FLI_TEST_WORKER_IDLE_DEATH": "1"}
        if sig == "SEGV":
            env["FLI_TEST_WORKER_IDLE_SIGNAL"] = str(signal.SIGSEGV.value)
        a, out, err = run_json(scn, ["--seed", "1", "--runs", "4", "--jobs", jobs, "--time",
                                     "0.000001"], "worker-idle-death-budget-%s-%s" % (jobs, sig),
                               1, env=env)
        first = [r for r in a["runs"] if r["seed"] == 1]
        check(len(a["runs"]) == int(jobs) and len(first) == 1 and first[0]["verdict"] == "crash" and
              (first[0]["detail"] or "").startswith(
                  "a persistent worker process died of SIG%s between runs" % sig),
              "--jobs %s, SIG%s, the budget dropping the run sent ahead: %s\n%s%s", jobs, sig,
              [(r["seed"], r["verdict"], r["detail"]) for r in a["runs"]], out, err)
    # A run sent ahead that ended while the parent was away (paused longer
    # than --timeout), its outcome larger than the socket holds: judged
    # by its own time, not hung.
    scn = "scenarios/cluster-kv-linearizable.yaml"
    args = ["--seed", "1", "--runs", "4", "--timeout", "1000"]
    a, _, _ = run_json(scn, args, "worker-late-a", 0, env={"FLI_TEST_AHEAD_PAUSE_MS": "1500"})
    check([r["verdict"] for r in a["runs"]] == ["pass"] * 4,
          "runs read late judged %s", [r["verdict"] for r in a["runs"]])
    check(all(r["seconds"] < 1.0 for r in a["runs"]), "runs read late timed %s",
          [r["seconds"] for r in a["runs"]])
    # The same runs with a 1 ms deadline, which each passes (4 to 10 ms a
    # run on a fast host, the clock's grain 1 ms; 5 ms was tried and the
    # fastest run, 4 ms, passed it): ended while the parent was away,
    # each is still a hang, judged by its own start and end (they would
    # pass unread otherwise).
    check(min(r["seconds"] for r in a["runs"]) >= 0.003,
          "runs too fast for a 1 ms deadline to catch: %s", [r["seconds"] for r in a["runs"]])
    h, _, _ = run_json(scn, ["--seed", "1", "--runs", "4", "--timeout", "1"], "worker-late-h", 1,
                       env={"FLI_TEST_AHEAD_PAUSE_MS": "300"})
    check([(r["verdict"], r["property"]) for r in h["runs"]] == [("hang", "hang")] * 4,
          "runs past a 1 ms deadline, read late, judged %s",
          [(r["verdict"], r["property"]) for r in h["runs"]])
    # A sweep's faulted runs go to the worker too, its rule sent with the
    # seed: run for run the same point, hit, verdict and hash as a fresh
    # child's, in a sweep that finds its bug (B2's leak) and one that
    # passes; and the worker found the failures.
    for scn, rc in (("fixtures/scenarios/b2-connect-sweep-leak.yaml", 1),
                    ("scenarios/pubsub-fault-sweep.yaml", 0)):
        name = os.path.basename(scn)
        args = ["--seed", "3", "--runs", "1", "--sweep-limit", "40"]
        a, _, _ = run_json(scn, args, "worker-sweep-a-" + name, rc)
        b, _, _ = run_json(scn, args + ["--fork-each"], "worker-sweep-b-" + name, rc)
        key = lambda r: (r["run_index"], r["sweep_point"], r["sweep_k"], r["sweep_persistent"],
                         r["verdict"], r["property"], r["trace_hash"])
        ka, kb = [key(r) for r in a["runs"]], [key(r) for r in b["runs"]]
        check(len(ka) == 41 and ka == kb, "%s: worker %s, fresh child %s", scn, ka, kb)
        check(sum(r["sweep_point"] is not None for r in a["runs"]) == 40,
              "%s: not 40 faulted runs: %s", scn, ka)
        failed = sum(r["verdict"] != "pass" for r in a["runs"])
        check((failed > 0) == (rc == 1), "%s: %d failed runs, exit %d expected", scn, failed, rc)


def valgrind_pace(scn):
    """A copy of scn paced for memcheck on a busy machine: its processes
    run 20-50 times slower, and a client whose heartbeat misses
    client_liveness_ms (500 ms in pubsub-proc-crash) is timed out by the
    driver, an op error no leak caused (cli_valgrind failed so in a
    loaded CI run).  Liveness at least 10 s, the driver's timeout at
    least 20 s, every op's deadline 10 times longer (a poll returns as
    soon as its messages arrived: it costs nothing)."""
    with open(os.path.join(ROOT, scn)) as f:
        text = f.read()
    text = re.sub(r"client_liveness_ms: (\d+)",
                  lambda m: "client_liveness_ms: %d" % max(int(m.group(1)), 10000), text)
    text = re.sub(r"driver_timeout_ms: (\d+)",
                  lambda m: "driver_timeout_ms: %d" % max(int(m.group(1)), 20000), text)
    text = re.sub(r"deadline_ms: (\d+)", lambda m: "deadline_ms: %d" % (int(m.group(1)) * 10),
                  text)
    out = os.path.join(tdir("vg-paced"), os.path.basename(scn))
    with open(out, "w") as f:
        f.write(text)
    return out


def case_valgrind():
    """--valgrind runs each run's process and its process actors under
    memcheck: a process actor that leaks a heap block (memcheck-heap-leak,
    which passes without --valgrind) fails with property memcheck naming
    the actor and its log (which shows the definite leak), and the trace
    replays under memcheck to the same verdict; in sim and stress mode the
    same leak fails the run's own process; a clean proc scenario with
    crashing actors passes.  Slow (valgrind): suite 'slow'."""
    import shutil
    if shutil.which("valgrind") is None:
        print("# valgrind not on PATH: case skipped")
        return
    if SANITIZE != "none":
        # memcheck cannot run a sanitizer's program, and LeakSanitizer
        # fails the planted leak without it (case sanitizer_overflow).
        raise Skip("a sanitizer build (b_sanitize=%s): valgrind cannot run it" % SANITIZE)
    scn = valgrind_pace("harness/tests/run/scenarios/memcheck-heap-leak.yaml")
    run_json(scn, ["--seed", "1", "--runs", "1"], "vg-plain", 0)
    rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "1", "--valgrind"], "vg-leak", 1)
    r = rep["runs"][0]
    check(r["property"] == "memcheck", "failed with %r: %s", r["property"], r["detail"])
    m = re.search(r"actor loner \(pid \d+\): .* see (memcheck-\S+\.log)", r["detail"] or "")
    check(m is not None, "the detail does not name the actor and its log: %r", r["detail"])
    log = os.path.join(tdir("vg-leak"), "traces", m.group(1))
    check(os.path.exists(log), "no memcheck log %s", log)
    with open(log) as f:
        text = f.read()
    check("definitely lost: 64 bytes" in text, "the log shows no 64-byte definite leak:\n%s", text[-2000:])
    rc, out, err = run(["replay", r["trace"]], 0)
    check("memcheck" in out, "replay did not run under memcheck: %s", out)
    # The same leak in sim and stress mode: the run's own process is
    # every actor's, and its leak check fails the run.
    for mode in ("sim", "stress"):
        rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "1", "--valgrind", "--mode", mode],
                             "vg-leak-" + mode, 1)
        r = rep["runs"][0]
        check(r["property"] == "memcheck" and r["mode"] == mode,
              "%s: failed with %r in mode %r: %s", mode, r["property"], r["mode"], r["detail"])
        m = re.search(r"the run's own process \(every actor's\): .* see \S+/(memcheck-\S+)-<pid>\.log",
                      r["detail"] or "")
        check(m is not None, "%s: the detail does not name the run's process and its log: %r",
              mode, r["detail"])
        logs = [f for f in os.listdir(os.path.join(tdir("vg-leak-" + mode), "traces"))
                if m is not None and f.startswith(m.group(1))]
        text = "".join(open(os.path.join(tdir("vg-leak-" + mode), "traces", f)).read()
                       for f in logs)
        check("definitely lost: 64 bytes" in text, "%s: no log shows the 64-byte definite leak: %s",
              mode, logs)
    run_json(valgrind_pace("scenarios/pubsub-proc-crash.yaml"),
             ["--seed", "1", "--runs", "1", "--valgrind"], "vg-clean", 0)
    # A sweep's faulted runs are memchecked too (they were not), and a
    # driver that fails to start (the chunk segment's creation failing)
    # leaves no harness leak to blame on the run.
    rep, _, _ = run_json("scenarios/reqrep-fault-sweep.yaml",
                         ["--seed", "1", "--runs", "1", "--valgrind", "--sweep-limit", "2"],
                         "vg-sweep", 0)
    logs = [f for f in os.listdir(os.path.join(tdir("vg-sweep"), "traces"))
            if f.startswith("memcheck-")]
    check(len(rep["runs"]) == 3 and len(logs) == 3, "%d runs, %d memcheck logs: %s",
          len(rep["runs"]), len(logs), logs)


def case_kv_nothing_judged():
    """linearizable fails a run whose kv ops never ran (no node ever led):
    a history with nothing in it must not pass as linearizable."""
    scn = "harness/tests/run/scenarios/kv-nothing-judged.yaml"
    rep, _, _ = run_json(scn, ["--seed", "1"], "kvnone", expect=1)
    runs = rep["runs"]
    check(len(runs) == 2, "%d runs, expected 2", len(runs))
    for r in runs:
        check(r["verdict"] == "fail" and r["property"] == "linearizable" and
              "nothing to judge: no kv operation was invoked" in r["detail"],
              "run %s: %s %s: %s", r["seed"], r["verdict"], r["property"], r["detail"])


def case_kv_values_unique():
    """Every value a run writes is its own: kv's writes and the cluster
    client's puts and appends, across actors whose names agree in the 40
    characters a value keeps, and across the rounds of a repeat:.  The
    scenario's stale read fails linearizable, so each run's history is
    written; no value may be invoked twice in it (a repeated value lets a
    stale read pass as fresh: the mutant kv-values-not-unique)."""
    scn = "harness/tests/run/scenarios/kv-values-unique.yaml"
    rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "3"], "kvuniq", expect=1)
    runs = rep["runs"]
    check(len(runs) == 3, "%d runs, expected 3", len(runs))
    inv = re.compile(r':type :invoke, :f :(put|append|write), :key "[^"]*", :value "([^"]*)"')
    for r in runs:
        hist = re.search(r"\(history: ([^)]*)\)", r["detail"])
        check(r["property"] == "linearizable" and hist,
              "run %s: %s: %s", r["seed"], r["property"], r["detail"])
        with open(os.path.join(ROOT, hist.group(1))) as f:
            values = [m.group(2) for m in map(inv.search, f) if m]
        seen = Counter(values)
        twice = sorted(v for v, n in seen.items() if n > 1)
        check(not twice, "run %s: values written more than once: %s", r["seed"], twice[:5])
        # the client invokes exactly 5 puts and 5 appends a round, two
        # rounds; kv chooses reads or writes, so of its actor only that
        # it wrote more than once (a repeat would show there too)
        mine = [v for v in values if ".1." in v]
        check(len(mine) == 20, "run %s: the client wrote %d values, expected 20", r["seed"],
              len(mine))
        mine = [v for v in values if ".0." in v]
        check(len(mine) >= 2, "run %s: the kv actor wrote %d values, expected 2 or more",
              r["seed"], len(mine))


def case_client_proc_unjudged():
    """In proc mode a process actor's cluster client records its history
    in the region the run's process shares with it, whether or not
    linearizable judges it: the run passes (it crashed the run's process
    when the history lived in the actor's own heap)."""
    scn = "harness/tests/run/scenarios/client-proc-unjudged.yaml"
    rep, out, err = run_json(scn, ["--seed", "1"], "cpu", expect=0)
    runs = rep["runs"]
    check(len(runs) == 2 and all(r["verdict"] == "pass" for r in runs),
          "runs: %s\n%s%s", [(r["verdict"], r["property"], r["detail"]) for r in runs], out, err)


def case_client_gone():
    """An op on a cluster client that is not there says why: its connect
    failed (with the error and the attempt) or an op closed it (and
    which).  A CI run once said only "its connect failed, or it is
    closed", and nothing of the connect's own error, which a fault in
    the connect had excused."""
    d = tdir("client_gone")
    head = ("name: gone\ndescription: d\nmode: sim\ncluster: {nodes: 3}\n"
            "actors:\n  - name: app\n    ops:\n      - wait_leader: {deadline_ms: 10000}\n")
    cases = [
        # the one attempt times out (a fault in the op: excused), then a put
        (head + "      - cluster_connect: {as: c, attempts: 1, deadline_ms: 2000}\n"
         "      - cluster_put: {client: c, count: 1}\n"
         "faults:\n  - {point: transport/cluster/client/create_egress_sub, action: error, "
         "when: {nth: 1}}\nproperties: [linearizable]\n",
         "actor app: cluster_put (line 10): no such client: its connect (line 9) failed: "
         "FL_ETIMEDOUT, attempt 1 of 1: FL_ENOENT"),
        (head + "      - cluster_connect: {as: c, deadline_ms: 10000}\n"
         "      - cluster_close: {client: c}\n"
         "      - cluster_put: {client: c, count: 1}\nproperties: [linearizable]\n",
         "actor app: cluster_put (line 11): no such client: cluster_close (line 10) closed "
         "it: FL_ENOENT"),
    ]
    for i, (text, want) in enumerate(cases):
        scn = os.path.join(d, "gone%d.yaml" % i)
        with open(scn, "w") as f:
            f.write(text)
        rep, out, err = run_json(scn, ["--seed", "1", "--runs", "1"], "client_gone%d" % i,
                                 expect=1)
        r = rep["runs"][0]
        check(r["verdict"] == "fail" and r["property"] == "operations" and
              r["detail"].startswith(want),
              "case %d: %s %s: %s\n(expected a detail starting %r)", i, r["verdict"],
              r["property"], r["detail"], want)


def case_targets():
    """A target (faultline/target.h) from a scenario's `target:`: its ops
    load with the scenario and bad ones are refused with the file, line
    and what is wrong; the planted leak fails with target_resources and
    the correct twin passes, in sim and in proc mode."""
    tdirs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FL))), "fixtures",
                         "targets")
    env = {"FL_TARGET_PATH": tdirs}
    d = tdir("targets")
    head = ("name: t\ndescription: d\nmode: sim\ntarget: faultline-target-queue.so\n"
            "actors:\n  - name: a\n    ops:\n")
    bad = [
        ("name: t\ndescription: d\nmode: sim\ntarget: nope.so\nactors:\n  - name: a\n",
         ":4: target: ", "nope.so"),
        (head + "      - q_open: {as: q, capacity: x}\n",
         ":8: actors[0].ops[0].q_open.capacity: expected a decimal integer", ""),
        (head + "      - q_open: {as: q, size: 3}\n",
         ":8: actors[0].ops[0].q_open.size: unknown key (target queue's op q_open takes "
         "capacity, as, expect)", ""),
        (head + "      - q_open: {capacity: 2}\n",
         ":8: actors[0].ops[0].q_open.as: required field missing", ""),
        (head + "      - q_push: {q: nosuch}\n",
         ":8: actors[0].ops[0].q_push.q: unknown target object 'nosuch'", ""),
        (head + "      - target_op: {}\n", ":8: actors[0].ops[0]: unknown operation 'target_op'", ""),
        (head + "      - q_frob: {}\n",
         ":8: actors[0].ops[0].q_frob: unknown operation", ""),
        # A typo of the target's own op is named.
        (head + "      - q_psh: {}\n",
         ":8: actors[0].ops[0].q_psh: unknown operation (did you mean q_push?)", ""),
        (head + "      - q_open: {as: q}\nfaults:\n  - point: target/alloc\n    action: delay\n"
         "    delay_ms: 1\n",
         ":11: faults[0]: 'target/alloc' takes action error only (the call returns NULL, "
         "ENOMEM), not delay", ""),
        # The target's own properties are named beside the built-in ones.
        (head + "      - q_open: {as: q}\nproperties: [frobs_counted]\n",
         ":9: properties[0]: unknown property 'frobs_counted' (known: target "
         "messages_conserved; built in: image_refs,", ""),
        # A typo of the target's own property is named.
        (head + "      - q_open: {as: q}\nproperties: [messages_conserve]\n",
         ":9: properties[0]: unknown property 'messages_conserve' (did you mean "
         "messages_conserved?)", ""),
        (head + "      - q_open: {as: q}\nproperties: [messages_conserved, messages_conserved]\n",
         ":9: properties[1]: property 'messages_conserved' is listed twice", ""),
    ]
    for i, (text, want, also) in enumerate(bad):
        f = os.path.join(d, "bad%d.yaml" % i)
        write_text(f, text)
        rc, out, err = run(["run", f, "--runs", "1"], expect=2, env=env)
        check(want in err and also in err, "bad%d: %r not in:\n%s", i, want, err)
    for mode in ("sim", "proc"):
        rc, out, err = run(["run", "fixtures/scenarios/target-queue-leak.yaml", "--seed", "1",
                            "--runs", "3", "--mode", mode, "-q", "--trace-dir", d], expect=1,
                           env=env)
        # Every one of the three runs leaks (the same plant each run).
        # In an ASan build LeakSanitizer may see it first (a sanitizer
        # report fails the run whatever else it found): in proc mode
        # which one reports first is the processes' timing, run by run
        # (a loaded CI saw sanitizer, target_resources, sanitizer).
        asan = "address" in os.environ.get("FL_BUILD_SANITIZE", "")
        n_res = out.count("property=target_resources")
        n_san = out.count("property=sanitizer") if asan else 0
        caught = n_res + n_san == 3 and out.count("FAIL ") == 3 and (
            n_res == 0 or "messages is 1" in out) and (
            n_san == 0 or "LeakSanitizer: detected memory leaks" in out)
        check(caught, "%s: the leak was not caught:\n%s%s", mode, out, err)
        rc, out, err = run(["run", "fixtures/scenarios/target-queue-correct.yaml", "--seed", "1",
                            "--runs", "3", "--mode", mode, "-q"], expect=0, env=env)
    # A scenario in the working directory naming a target beside it
    # without a slash (docs/targets.md's own example): found there, not
    # looked up in the library path as dlopen would a bare name.
    here = os.path.join(d, "here")
    os.makedirs(here, exist_ok=True)
    shutil.copy(os.path.join(tdirs, "faultline-target-queue.so"), here)
    write_text(os.path.join(here, "q.yaml"), head + "      - q_open: {as: q}\n"
               "      - q_push: {q: q, size: 8}\n      - q_close: {q: q}\n")
    rc, out, err = run(["run", "q.yaml", "--seed", "1", "--runs", "1", "-q", "--trace-dir",
                        os.path.join(here, "tr")], expect=0, cwd=here)
    check("1 passed" in out + err, "a target beside the scenario, by bare name: %s%s", out, err)
    # The heap a target holds, when the list of its blocks cannot be had
    # (a test hook: no memory for the copy): the counts alone fail the
    # run, in the run's process (sim) and in an actor's (proc).
    for mode in ("sim", "proc"):
        rc, out, err = run(["run", "fixtures/scenarios/target-queue-heap-leak.yaml", "--seed",
                            "1", "--runs", "2", "--mode", mode, "-q"], expect=1,
                           env=dict(env, FLI_TEST_ALLOC_LIST_FAILS="1"))
        asan = "address" in os.environ.get("FL_BUILD_SANITIZE", "")
        check(out.count("FAIL ") == 2 and (asan or (
            out.count("property=target_resources") == 2 and
            out.count("(which ones is unknown: no list of them could be had)") == 2)),
              "%s: the heap without its list:\n%s%s", mode, out, err)
    # A target's run directory (fl_target_run_dir) goes with the run,
    # however an actor ends: NNG's listener in a process that crashes
    # leaves its ipc socket there; nothing is left in TMPDIR.
    nng = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FL))), "targets",
                       "faultline-target-nng.so")
    if os.path.exists(nng):
        private = tdir("run-dirs")
        rc, out, err = run(["run", "targets/nng/scenarios/nng-proc-crash.yaml", "--seed", "1",
                            "--runs", "5", "-q", "--target", nng, "--trace-dir", d], expect=0,
                           env=dict(env, TMPDIR=private))
        check(os.listdir(private) == [], "left in TMPDIR: %s", os.listdir(private))
        # The byte model across processes: NNG's planted build changes a
        # byte of every message after recording it; in proc mode the
        # receiving process (not the sender) must fail the run with
        # target_model, and the correct build passes the same runs.
        corrupt = nng.replace("faultline-target-nng.so", "faultline-target-nng-corrupt.so")
        rc, out, err = run(["run", "targets/nng/scenarios/nng-proc-reqrep.yaml", "--seed", "1",
                            "--runs", "2", "-q", "--target", corrupt, "--trace-dir", d],
                           expect=1, env=dict(env, TMPDIR=private))
        check(out.count("property=target_model") == 2 and
              "message that differs from every one sent" in out,
              "the corrupted message was not caught across processes:\n%s%s", out, err)
        run(["run", "targets/nng/scenarios/nng-proc-reqrep.yaml", "--seed", "1", "--runs", "2",
             "-q", "--target", nng, "--trace-dir", d], expect=0, env=dict(env, TMPDIR=private))
    else:
        print("# the run directory with a crashed NNG listener, and the byte model across "
              "processes: not checked (NNG's target is not built)")
    # A property of the target's own, judged in every mode (in proc mode
    # in the actor's process): the drop-oldest build loses a message.
    for mode in ("sim", "proc", "stress"):
        rc, out, err = run(["run", "fixtures/scenarios/target-queue-drop.yaml", "--seed", "1",
                            "--runs", "2", "--mode", mode, "-q", "--trace-dir", d], expect=1,
                           env=env)
        check(out.count("property=messages_conserved") == 2 and
              "3 messages went in, 0 came out by q_pop and 2 were discarded by q_close: 1 lost"
              in out, "%s: the lost message was not caught:\n%s%s", mode, out, err)
        run(["run", "fixtures/scenarios/target-queue-drop-correct.yaml", "--seed", "1",
             "--runs", "2", "--mode", mode, "-q"], expect=0, env=env)
    # --target: the correct twin's scenario, on the leaky build, fails as
    # the leaky scenario does; its trace records the target and replays
    # to the same verdict; a missing path is refused.
    rc, out, err = run(["run", "fixtures/scenarios/target-queue-correct.yaml", "--seed", "1",
                        "--runs", "2", "-q", "--trace-dir", d, "--target",
                        os.path.join(tdirs, "faultline-target-queue-leaky.so")], expect=1)
    # (An ASan build's LeakSanitizer sees the planted leak first.)
    asan = "address" in os.environ.get("FL_BUILD_SANITIZE", "")
    check((out.count("property=target_resources") == 2 and "messages is 1" in out) or
          (asan and out.count("property=sanitizer") == 2 and "LeakSanitizer" in out),
          "--target: the leaky build was not the one run:\n%s%s", out, err)
    trace = re.search(r"trace=(\S+target-queue-correct-1\.trace)", out).group(1)
    rc, out2, err2 = run(["replay", trace], expect=0)
    check("same verdict as recorded" in out2, "--target replay:\n%s%s", out2, err2)
    # repro --c needs every op's C form: the queue target has none.
    rc, out2, err2 = run(["repro", trace, "--c", os.path.join(d, "r.c")], expect=2)
    check("op q_open (line 10) has no C form in target queue" in err2, "repro: %s", err2)
    check(not os.path.exists(os.path.join(d, "r.c")), "repro wrote a program anyway")
    rc, out, err = run(["run", "fixtures/scenarios/target-queue-correct.yaml", "--runs", "1",
                        "--target", "/nonexistent/t.so"], expect=2)
    check("--target /nonexistent/t.so: No such file or directory" in err, "%s", err)
    # Values drawn per execution: sizes either side of 128 on the library
    # whose power-of-two messages overflow, deadlines of 0, 1 and 5 ms.
    # Some runs draw 128 and fail (target_heap), the rest pass; the
    # shrunk run draws 128 and says so.
    drawn = os.path.join(d, "drawn.yaml")
    write_text(drawn, "name: drawn-sizes\ndescription: d\nmode: sim\n"
               "target: faultline-target-queue-overflow.so\nactors:\n  - name: app\n    ops:\n"
               "      - q_open: {as: q, capacity: 4}\n"
               "      - q_push: {q: q, size: [127, 129, 128], deadline_ms: [0, 1, 5]}\n"
               "      - q_pop: {q: q}\n      - q_close: {q: q}\n")
    report = os.path.join(d, "drawn.json")
    run(["run", drawn, "--seed", "1", "--runs", "30", "-q", "--trace-dir", d, "--json", report],
        expect=1, env=env)
    with open(report) as f:
        runs = json.load(f)["runs"]
    bad = [r for r in runs if r["verdict"] != "pass"]
    check(0 < len(bad) < 30 and all(r["property"] == "target_heap" for r in bad),
          "drawn sizes: %d of 30 failed: %s", len(bad), [r["property"] for r in bad])
    rc, out, err = run(["shrink", bad[0]["trace"]], expect=0, env=env)
    check("q_push (line 9): size drawn: 128" in out and "-> fail target_heap" in out,
          "the shrunk run does not draw 128:\n%s", out)
    for lst, want in [("[]", "a list to draw from holds 1 to 16 values (got 0)"),
                      ("[1, x]", "item 1: expected a decimal integer"),
                      ("[1, 2000000]", "item 1: 2000000 is out of range [0, 1048576]")]:
        write_text(drawn, "name: drawn-bad\ndescription: d\nmode: sim\n"
                   "target: faultline-target-queue.so\nactors:\n  - name: app\n    ops:\n"
                   "      - q_open: {as: q, capacity: 4}\n"
                   "      - q_push: {q: q, size: %s}\n" % lst)
        rc, out, err = run(["run", drawn, "--runs", "1"], expect=2, env=env)
        check(":9: actors[0].ops[1].q_push.size: " + want in err, "%s: %s", lst, err)
    # The allocation sweep: the library's three allocation calls (the
    # queue, its slot array, the message), each failed once and from then
    # on: exactly 6 faulted runs after the counting run, in sim and in
    # proc mode (where the calls happen in the actor's process).
    for mode in ("sim", "proc"):
        d2 = tdir("targets-sweep-" + mode)
        report = os.path.join(d2, "report.json")
        run(["run", "fixtures/scenarios/target-queue-badfree-correct.yaml", "--seed", "1",
             "--mode", mode, "-q", "--trace-dir", d2, "--json", report], expect=0, env=env)
        with open(report) as f:
            runs = json.load(f)["runs"]
        swept = sorted((r["sweep_point"], r["sweep_k"], r["sweep_persistent"])
                       for r in runs if r["sweep_point"] is not None)
        want = sorted(("target/alloc", k, p) for k in (1, 2, 3) for p in (False, True))
        check(len(runs) == 7 and swept == want, "%s: the sweep ran %d runs: %s", mode, len(runs),
              swept)
        check(all(r["verdict"] == "pass" for r in runs), "%s: the correct twin failed: %s",
              mode, [r["detail"] for r in runs if r["verdict"] != "pass"])
        # The planted double free, found by the sweep at the slot array's
        # call, and only there.
        report = os.path.join(d2, "bad.json")
        run(["run", "fixtures/scenarios/target-queue-badfree.yaml", "--seed", "1", "--mode",
             mode, "-q", "--trace-dir", d2, "--json", report], expect=1, env=env)
        with open(report) as f:
            bad = [(r["sweep_k"], r["property"]) for r in json.load(f)["runs"]
                   if r["verdict"] != "pass"]
        check(sorted(bad) == [(2, "target_heap"), (2, "target_heap")],
              "%s: the double free was found at %s, expected hit 2 (once and after)", mode, bad)


def case_baseline():
    """--baseline-write records each distinct failure once (digits N,
    paths PATH); --baseline then reports those runs KNOWN (JSON known,
    TAP TODO, JUnit skipped) and exits 0; a failure it does not know
    fails the batch, and a known one no run showed is reported FIXED; a
    malformed baseline is refused before any run."""
    tdirs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FL))), "fixtures",
                         "targets")
    env = {"FL_TARGET_PATH": tdirs}
    d = tdir("baseline")
    uaf = "fixtures/scenarios/target-queue-uaf.yaml"
    badfree = "fixtures/scenarios/target-queue-badfree.yaml"
    known = os.path.join(d, "known.json")
    # Two planted builds of one library side by side, in one batch.
    rc, out, err = run(["run", uaf, badfree, "--seed", "1", "-q", "--trace-dir", d,
                        "--baseline-write", known], expect=1, env=env)
    check("3 distinct failure(s) written to " + known in out, "no write line:\n%s", out)
    with open(known) as f:
        entries = json.load(f)["known"]
    check([(e["scenario"], e["property"]) for e in entries] ==
          [("target-queue-uaf", "target_heap")] + [("target-queue-badfree", "target_heap")] * 2,
          "entries: %s", entries)
    # Call numbers are N; where and what (the offset, the block's size)
    # stay.
    # The code that made and freed the block stays too (a hex offset into
    # the library: another site is another failure).
    check(re.fullmatch(r"target queue: use after free: written at byte 8 after the target freed "
                       r"it: the 49-byte block of its allocation call #N \(malloc\), made at "
                       r"faultline-target-queue-uaf\.so\+0x[0-9a-f]+, freed at "
                       r"faultline-target-queue-uaf\.so\+0x[0-9a-f]+", entries[0]["signature"]),
          "signature: %s", entries[0]["signature"])
    # Another seed: every failure known.
    report, junit = os.path.join(d, "r.json"), os.path.join(d, "r.xml")
    rc, out, err = run(["run", uaf, badfree, "--seed", "9", "-q", "--trace-dir", d,
                        "--baseline", known, "--json", report, "--junit", junit], expect=0,
                       env=env)
    with open(report) as f:
        rep = json.load(f)
    check(rep["summary"]["known"] == 7 and rep["summary"]["failed"] == 7 and rep["fixed"] == [],
          "summary %s fixed %s", rep["summary"], rep["fixed"])
    check(all(r["known"] == (r["verdict"] != "pass") for r in rep["runs"]), "known flags: %s",
          [(r["verdict"], r["known"]) for r in rep["runs"]])
    check(out.count("KNOWN    target-queue-") == 7 and "7 of the failures known" in out,
          "KNOWN lines:\n%s", out)
    with open(junit) as f:
        x = f.read()
    check(x.count("<skipped message=\"known failure (baseline): fail: target_heap\"/>") == 7 and
          'failures="0"' in x, "JUnit:\n%s", x)
    rc, out, err = run(["run", uaf, "--seed", "9", "--runs", "1", "--trace-dir", d,
                        "--baseline", known, "--tap"], expect=0, env=env)
    check("not ok 1 - target-queue-uaf seed=9 # TODO known failure (baseline)" in out,
          "TAP:\n%s", out)
    # One entry changed: the uaf runs fail anew, and the entry is FIXED.
    with open(known) as f:
        text = f.read()
    changed = os.path.join(d, "changed.json")
    write_text(changed, text.replace("written at byte 8", "written at byte 9"))
    rc, out, err = run(["run", uaf, "--seed", "9", "--runs", "2", "-q", "--trace-dir", d,
                        "--baseline", changed], expect=1, env=env)
    check(out.count("FAIL     target-queue-uaf") == 2 and
          "FIXED    target-queue-uaf: the known failure (fail target_heap: target queue: use "
          "after free: written at byte 9" in out, "changed:\n%s", out)
    # A known failure at one op does not cover the same failure at
    # another (its line differs), and a run whose known failure is
    # followed by a second violation is not known: the review's cases.
    base = ("name: known-ops\ndescription: d\nmode: sim\ntarget: faultline-target-queue%s.so\n"
            "actors:\n  - name: app\n    ops:\n      - q_open: {as: q, capacity: 4}\n")
    one = os.path.join(d, "one.yaml")
    write_text(one, base % "" + "      - q_pop: {q: q}\n      - q_close: {q: q}\n")
    kops = os.path.join(d, "kops.json")
    run(["run", one, "--seed", "1", "--runs", "1", "-q", "--trace-dir", d, "--baseline-write",
         kops], expect=1, env=env)
    write_text(one, base % "" + "      - q_push: {q: q, size: 1}\n      - q_pop: {q: q}\n"
               "      - q_pop: {q: q}\n      - q_close: {q: q}\n")
    rc, out, err = run(["run", one, "--seed", "1", "--runs", "1", "-q", "--trace-dir", d,
                        "--baseline", kops], expect=1, env=env)
    check("FAIL     known-ops" in out and "(line 11)" in out, "another line known:\n%s", out)
    write_text(one, base % "-overflow" + "      - q_pop: {q: q}\n      - q_push: {q: q, size: 128}\n"
               "      - q_pop: {q: q}\n      - q_close: {q: q}\n")
    rc, out, err = run(["run", one, "--seed", "1", "--runs", "1", "-q", "--trace-dir", d,
                        "--baseline", kops], expect=1, env=env)
    check("FAIL     known-ops" in out and "then target_heap: target queue: heap overflow" in out,
          "a second violation hidden behind a known first:\n%s", out)
    # Both written by --baseline-write: then the run is known.
    both = os.path.join(d, "both.json")
    run(["run", one, "--seed", "1", "--runs", "1", "-q", "--trace-dir", d, "--baseline-write",
         both], expect=1, env=env)
    rc, out, err = run(["run", one, "--seed", "2", "--runs", "1", "-q", "--trace-dir", d,
                        "--baseline", both], expect=0, env=env)
    check("KNOWN    known-ops" in out, "both violations known, yet:\n%s", out)
    # The badfree entries' scenario did not run: not judged, not FIXED.
    check("FIXED    target-queue-badfree" not in out, "badfree judged:\n%s", out)
    # An entry of another build's sanitizer ("sanitizer": "thread" here)
    # is not loaded: the failure it names fails the batch, and it is not
    # reported FIXED; in a build with that sanitizer it applies.
    sans = [x for x in SANITIZE.split(",") if x in ("address", "undefined", "thread")]
    for san in ("address", "thread"):
        marked = os.path.join(d, "marked.json")
        e = dict(entries[0], sanitizer=san)
        write_text(marked, json.dumps({"faultline_baseline": 1, "known": [e]}))
        have = san in sans
        rc, out, err = run(["run", uaf, "--seed", "9", "--runs", "2", "-q", "--trace-dir", d,
                            "--baseline", marked], expect=0 if have else 1, env=env)
        check((out.count("KNOWN    target-queue-uaf") == 2) == have and
              (out.count("FAIL     target-queue-uaf") == 2) != have and "FIXED" not in out,
              "an entry of sanitizer %s in a build of %r:\n%s", san, SANITIZE, out)
    for text, want in [("[1, 2]", "expected an object with an array \"known\""),
                       ('{"known": [{"scenario": "x", "verdict": "fail", "signature": "s", '
                        '"sanitizer": "memory"}]}',
                        "known[0].sanitizer: 'memory' is not address, undefined or thread"),
                       ('{"known": [{"scenario": "x", "verdict": "pass", "signature": "s"}]}',
                        "known[0].verdict: 'pass' is not a failing verdict"),
                       ('{"known": [{"scenario": "x", "verdict": "fail"}]}',
                        "known[0].signature: missing")]:
        bad = os.path.join(d, "bad.json")
        write_text(bad, text)
        rc, out, err = run(["run", uaf, "--runs", "1", "--baseline", bad], expect=2, env=env)
        check("faultline run: --baseline " + bad + ": " + want in err, "%r:\n%s", text, err)
    # gauges_zero lists every gauge of the driver: a baseline that knows
    # one of them left non-zero (a stale images gauge) does not know
    # another (a kept subscription, publication or log file).  With every
    # count N in the signature it did (a new user's trial: exit 0).
    planted = os.path.join(os.path.dirname(FL), "faultline-planted")
    gz = "fixtures/scenarios/log-kept-gauges.yaml"
    kg = os.path.join(d, "gauges.json")
    run(["run", gz, "--seed", "1", "--runs", "2", "-q", "--trace-dir", d, "--baseline-write",
         kg], expect=1, env={"FL_PLANT": "images_stale"}, exe=planted)
    rc, out, err = run(["run", gz, "--seed", "3", "--runs", "2", "-q", "--trace-dir", d,
                        "--baseline", kg], expect=0, env={"FL_PLANT": "images_stale"},
                       exe=planted)
    check(out.count("KNOWN    log-kept-gauges") == 2, "the known leak, not known:\n%s", out)
    for plant in ("sub_kept", "pub_kept", "log_kept"):
        rc, out, err = run(["run", gz, "--seed", "1", "--runs", "2", "-q", "--trace-dir", d,
                            "--baseline", kg], expect=1, env={"FL_PLANT": plant}, exe=planted)
        check(out.count("FAIL     log-kept-gauges") == 2 and "KNOWN" not in out,
              "%s passed as the known stale images:\n%s", plant, out)
    # An abort in this program's own code (the transport's, an assert)
    # is named by its caller, as a target library's is: it was libc's
    # abort alone ("SIGABRT at libc.so.6+0x8aeec"), one signature for
    # every assert of an actor, which a baseline would all have known.
    rep, _, _ = run_json("scenarios/pubsub-smoke.yaml", ["--seed", "1", "--runs", "1"], "abort", expect=1,
                         env={"FL_PLANT": "offer_abort"}, exe=planted)
    r = rep["runs"][0]
    check(r["verdict"] == "crash" and
          re.search(r"died of SIGABRT at (fl_publication_offer\+0x[0-9a-f]+ \(faultline-planted\)|"
                    r"faultline-planted\+0x[0-9a-f]+) <- ", r["detail"] or ""),
          "an abort in the transport: %s %s", r["verdict"], r["detail"])


def case_op_errors():
    """An op error is tolerated only when a fault fired inside that op, or
    the op declares it (expect:).  A take_image that fails for a reason no
    fault caused fails the run (property operations, naming actor, op, line
    and error) although the scenario has a fault that fires; declared with
    expect:, the same runs pass and count it as tolerated.  A rule that
    never fires gets a line and an entry of rules_never_fired."""
    scn = "harness/tests/run/scenarios/op-error-unrelated.yaml"
    rep, out, err = run_json(scn, ["--seed", "1"], "operr", expect=1)
    runs = rep["runs"]
    check(len(runs) == 3, "%d runs, expected 3", len(runs))
    for r in runs:
        check(r["verdict"] == "fail" and r["property"] == "operations",
              "run %s: %s %s, expected fail operations", r["seed"], r["verdict"], r["property"])
        check("actor sub: take_image (line 22): image: FL_ENOENT" in r["detail"],
              "detail does not name actor, op, line and error: %s", r["detail"])
        # take_image, then the release_image of what it never took.
        check(r["op_errors_fatal"] == 2 and r["op_errors_tolerated"] == 0,
              "op errors fatal %s tolerated %s, expected 2 and 0", r["op_errors_fatal"],
              r["op_errors_tolerated"])
        # Every map of the run (cnc, log buffers) is delayed: 5 (the
        # harness reads the gauges with pread, not a map).
        check(r["faults_fired"] == {"transport/shm/map": 5},
              "faults fired %s, expected transport/shm/map 5", r["faults_fired"])
    # A delay fired inside the op, but the error is not one a delay can
    # cause: still fatal, and the detail says why.
    rep, out, err = run_json("harness/tests/run/scenarios/op-error-beside-delay.yaml",
                             ["--seed", "1"], "operr-delay", expect=1)
    check(len(rep["runs"]) == 3 and all(
        r["verdict"] == "fail" and r["property"] == "operations" and
        "actor sub: take_image (line 22): image: FL_ENOENT (only delays fired in this "
        "operation" in r["detail"] and r["faults_fired"].get("transport/client/heartbeat", 0) > 0
        for r in rep["runs"]), "a delay excused an error it cannot cause: %s",
          [(r["verdict"], r["property"], r["detail"]) for r in rep["runs"]])
    # A cluster node's fault fired during the op: it excuses cluster and
    # run ops only, never a pub/sub op's FL_ENOENT.
    rep, out, err = run_json("harness/tests/run/scenarios/op-error-beside-node-fault.yaml",
                             ["--seed", "1"], "operr-node", expect=1)
    check(len(rep["runs"]) == 3 and all(
        r["verdict"] == "fail" and r["property"] == "operations" and
        "actor sub: take_image (line 17): image: FL_ENOENT (no fault fired in this "
        "operation" in r["detail"] and
        sum(v for k, v in r["faults_fired"].items() if k.startswith("transport/cluster/send/")) > 0
        for r in rep["runs"]), "a node's fault excused a pub/sub op's error: %s",
          [(r["verdict"], r["property"], r["detail"], r["faults_fired"]) for r in rep["runs"]])
    # The same in proc mode (a node's process), and under sim with a point
    # that is not the cluster's, hit in a node's own life.
    for nscn, extra, line, point in (
            ("op-error-beside-node-fault.yaml", ["--mode", "proc", "--runs", "1"], 17,
             "transport/cluster/send/"),
            ("op-error-beside-node-life-fault.yaml", [], 14, "transport/client/heartbeat")):
        rep, out, err = run_json("harness/tests/run/scenarios/" + nscn, ["--seed", "1"] + extra,
                                 "operr-" + nscn, expect=1)
        check(rep["runs"] and all(
            r["verdict"] == "fail" and r["property"] == "operations" and
            "actor sub: take_image (line %d): image: FL_ENOENT (no fault fired" % line
            in r["detail"] and
            sum(v for k, v in r["faults_fired"].items() if k.startswith(point)) > 0
            for r in rep["runs"]), "%s %s: a node's fault excused a pub/sub op's error: %s",
              nscn, extra,
              [(r["verdict"], r["property"], r["detail"], r["faults_fired"]) for r in rep["runs"]])
    # Declared: the same scenario passes, the errors counted as tolerated.
    d = tdir("operr-expect")
    with open(src(scn)) as f:
        text = f.read()
    text = text.replace("name: op-error-unrelated", "name: op-error-declared")
    text = text.replace("{sub: s, from: p, as: img}", "{sub: s, from: p, as: img, expect: FL_ENOENT}")
    text = text.replace("{img: img}", "{img: img, expect: any}")
    declared = os.path.join(d, "declared.yaml")
    write_text(declared, text)
    rep, _, _ = run_json(declared, ["--seed", "1"], "operr-expect-run", expect=0)
    for r in rep["runs"]:
        check(r["verdict"] == "pass", "declared run %s: %s %s", r["seed"], r["verdict"], r["detail"])
        check(r["op_errors_tolerated"] == 2 and r["op_errors_fatal"] == 0,
              "declared run %s: tolerated %s fatal %s", r["seed"], r["op_errors_tolerated"],
              r["op_errors_fatal"])
    # A different declared code does not cover it.
    wrong = os.path.join(d, "wrong.yaml")
    write_text(wrong, text.replace("expect: FL_ENOENT", "expect: FL_ETIMEDOUT").replace(
        "op-error-declared", "op-error-wrong-code"))
    rep, _, _ = run_json(wrong, ["--seed", "1"], "operr-wrong-run", expect=1)
    check(all(r["property"] == "operations" for r in rep["runs"]),
          "an undeclared code was tolerated: %s", [r["detail"] for r in rep["runs"]])
    # A fault inside the op tolerates its error: reqrep-crash's client dies
    # at its third send (tolerated), and every run passes.
    rep, _, _ = run_json("scenarios/reqrep-crash.yaml", ["--seed", "1", "--runs", "5"], "operr-crash")
    check(all(r["verdict"] == "pass" and r["op_errors_tolerated"] == 1 and r["op_errors_fatal"] == 0
              and r["faults_fired"] == {"transport/rr/request_send": 1} for r in rep["runs"]),
          "reqrep-crash: %s", [(r["verdict"], r["op_errors_tolerated"], r["faults_fired"])
                               for r in rep["runs"]])
    check(rep["rules_never_fired"] == [], "rules_never_fired %s", rep["rules_never_fired"])
    # A rule whose hit never comes: reported, not silent.
    nf = os.path.join(d, "never.yaml")
    write_text(nf, NEVER_FIRES)
    rep, out, err = run_json(nf, ["--seed", "1", "--runs", "4"], "operr-never", expect=0)
    check(rep["rules_never_fired"] == [{"scenario": "never-fires", "rule": 0, "line": 10,
                                        "point": "transport/shm/map", "runs": 4}],
          "rules_never_fired %s", rep["rules_never_fired"])
    check("never-fires: fault rule faults[0] (line 10, transport/shm/map) never fired "
          "in 4 runs" in out + err, "no never-fired line:\n%s%s", out, err)
    # A rule on a point of a part the scenario never runs could never
    # fire: refused when the file loads, naming what the point needs.
    nr = os.path.join(d, "unreachable.yaml")
    write_text(nr, NEVER_FIRES.replace("transport/shm/map\n    action: error\n    when: {nth: "
                                       "1000}", "transport/rr/request_send\n    action: error"))
    _, _, err = run(["run", nr, "--runs", "1"], 2)
    check(nr + ":10: faults[0].point: 'transport/rr/request_send' is never reached without "
          "request/response operations, and this scenario has none" in err,
          "an unreachable rule loads:\n%s", err)
    # A prefix is judged by the points it matches: transport/rr* reaches
    # none here, transport/* and transport/shm/* do.
    for prefix, want in (("transport/rr*", 2), ("transport/*", 0), ("transport/shm/*", 0)):
        write_text(nr, NEVER_FIRES.replace("transport/shm/map\n", prefix + "\n"))
        _, _, err = run(["run", nr, "--runs", "1", "-q"], want)
        check(want == 0 or "'transport/rr*' is never reached without request/response "
              "operations" in err, "%s: %s", prefix, err)


def case_points_reachable():
    """Every registered fault point can be made to fire by a scenario of
    the suite, and firing it changes the run (its trace hash differs from
    the same run without the rule): a point whose hit is never reached, or
    whose failure the code ignores, would pass every sweep untested.  A
    rule {nth: 1} is tried first, {after: 1} (every hit) when one failure
    changes nothing observable (a single missed heartbeat)."""
    import re
    with open(src("transport/src/fault_points.def")) as f:
        points = re.findall(r'^FL_POINT\("([^"]+)"', f.read(), re.M)
    check(len(points) >= 20, "only %d points in fault_points.def", len(points))
    hosts = ["scenarios/pubsub-churn.yaml", "scenarios/reqrep-smoke.yaml",
             "scenarios/cluster-election.yaml", "scenarios/cluster-leader-partitioned.yaml",
             "scenarios/cluster-client-session-timeout.yaml"]
    d = tdir("reach")
    scn = os.path.join(d, "reach.yaml")

    def one(text, tag):
        """The run, or None when the point is of a part the host never
        runs (refused as a rule that could never fire)."""
        write_text(scn, text)
        rd = tdir("reach-" + tag)
        report = os.path.join(rd, "report.json")
        rc, _, err = run(["run", scn, "-q", "--trace-dir", os.path.join(rd, "traces"), "--json",
                          report, "--seed", "1", "--runs", "1"], {0, 1, 2})
        if rc == 2:
            check("the rule could never fire" in err, "%s: %s", tag, err)
            return None
        with open(report) as f:
            return json.load(f)["runs"][0]

    bases = {}
    for h in hosts:
        with open(src(h)) as f:
            text = f.read()
        text = re.sub(r"^faults:\n(?:[ -].*\n)*", "", text, flags=re.M)
        text = re.sub(r"^name: .*", "name: reach", text, flags=re.M)
        bases[h] = (text, one(text, "base")["trace_hash"])
    # Liveness is heartbeat-driven: a client that waits longer than it.
    idle = ("name: reach\ndescription: a client idles past its liveness\nmode: sim\n"
            "driver: {client_liveness_ms: 100}\nactors:\n  - name: a\n    ops:\n"
            "      - add_publication: {channel: ipc, stream: 1, as: p}\n"
            "      - wait: {ms: 500}\n      - remove_publication: {pub: p, expect: any}\n")
    hosts.append("idle")
    bases["idle"] = (idle, one(idle, "base")["trace_hash"])
    unreached = []
    for p in points:
        ok = False
        for h in hosts:
            text, h0 = bases[h]
            for when in ("{nth: 1}", "{after: 1}"):
                r = one(text + "faults:\n  - point: %s\n    action: error\n    when: %s\n"
                        % (p, when), "pt")
                if r is None:
                    break
                if r["faults_fired"].get(p, 0) >= 1 and r["trace_hash"] != h0:
                    ok = True
                    break
            if ok:
                break
        if not ok:
            unreached.append(p)
    check(not unreached, "points no suite scenario can make fire with an effect: %s", unreached)


def case_take_image_proc():
    """take_image {from: PUB} in proc mode, where the publication lives in
    another process: it used to fail 'publication gone: FL_ENOENT'; the
    session id now travels through the run.  The correct use passes; the
    same scenario without release_image fails with image_refs."""
    scn = "harness/tests/run/scenarios/take-image-proc.yaml"
    rep, _, _ = run_json(scn, ["--seed", "1"], "tiproc")
    check([r["verdict"] for r in rep["runs"]] == ["pass"] * 3,
          "take_image across processes: %s", [(r["verdict"], r["detail"]) for r in rep["runs"]])
    d = tdir("tiproc-leak")
    with open(src(scn)) as f:
        text = f.read()
    leak = os.path.join(d, "leak.yaml")
    write_text(leak, text.replace("      - release_image: {img: img}\n", "").replace(
        "name: take-image-proc", "name: take-image-proc-leak"))
    rep, _, _ = run_json(leak, ["--seed", "1"], "tiproc-leak-run", expect=1)
    check(all(r["verdict"] == "fail" and r["property"] == "image_refs" for r in rep["runs"]),
          "the leak was not caught: %s", [(r["verdict"], r["property"]) for r in rep["runs"]])


def case_default_properties():
    """A scenario that names no property used to check nothing and pass a
    known leak: the B1 leak fixture with its properties: line removed now
    fails image_refs in every run (defaults that fit its operations), and
    `list` says which properties apply and that they are the defaults."""
    import re
    d = tdir("defprops")
    with open(src("fixtures/scenarios/b1-image-leak.yaml")) as f:
        text = f.read()
    text = re.sub(r"^properties:.*\n(?:  - .*\n)*", "", text, flags=re.M)
    text = re.sub(r"^name: .*", "name: b1-no-properties", text, flags=re.M)
    scn = os.path.join(d, "b1.yaml")
    write_text(scn, text)
    rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "5"], "defprops-run", expect=1)
    check(all(r["verdict"] == "fail" and r["property"] == "image_refs" for r in rep["runs"]),
          "the leak passed without properties: %s", [(r["verdict"], r["property"]) for r in rep["runs"]])
    _, out, _ = run(["list", scn], 0)
    check("properties: image_refs no_leaked_files gauges_zero no_pending_registrations "
          "no_unexpected_signal no_heap_growth (the defaults for its operations: it lists none)"
          in out,
          "list does not show the defaults:\n%s", out)


def case_long_virtual_deadline():
    """Under sim, a 1000 s virtual deadline is cheap: a poll that nothing
    answers, with deadline_ms 1000000, used to end hang/step_limit (10^6
    scheduling steps, one per 1 ms re-check); it now waits for its
    deadline and passes (the timeout declared)."""
    d = tdir("longdl")
    scn = os.path.join(d, "long.yaml")
    write_text(scn, "name: long-poll\ndescription: a poll nothing answers, 1000 s virtual\n"
                    "mode: sim\nactors:\n  - name: a\n    ops:\n"
                    "      - add_subscription: {channel: ipc, stream: 1, as: s}\n"
                    "      - poll: {sub: s, until: 1, deadline_ms: 1000000, expect: FL_ETIMEDOUT}\n"
                    "      - wait: {ms: 1000000}\n"
                    "      - remove_subscription: {sub: s}\n")
    rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "2"], "longdl-run")
    check(all(r["verdict"] == "pass" for r in rep["runs"]),
          "a 1000 s virtual deadline: %s", [(r["verdict"], r["property"], r["detail"]) for r in rep["runs"]])


    # A drawn deadline_ms of 0 is a deadline already past, also on a
    # context's aio, where a timeout of 0 means none: the request times
    # out at once instead of waiting for an answer that never comes (the
    # run's wall-clock deadline made it "hung").
    scn = os.path.join(d, "ctx0.yaml")
    write_text(scn, "name: ctx-deadline-zero\ndescription: a context request, deadline 0\n"
                    "mode: sim\nactors:\n  - name: server\n    ops:\n"
                    "      - offer_service: {service: calc, as: srv}\n"
                    "      - ctx_open: {on: srv, as: sc}\n"
                    "      - wait: {ms: 50}\n"
                    "      - close_client: {}\n"
                    "  - name: client\n    ops:\n"
                    "      - connect_service: {service: calc, as: conn}\n"
                    "      - ctx_open: {on: conn, as: qc}\n"
                    "      - request: {conn: conn, ctx: qc, count: 1, deadline_ms: [0],\n"
                    "                  expect: FL_ETIMEDOUT}\n"
                    "      - close_client: {}\n")
    rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "2", "--timeout", "20000"], "ctx0-run")
    check(all(r["verdict"] == "pass" for r in rep["runs"]),
          "a drawn deadline of 0 on a context: %s",
          [(r["verdict"], r["property"], r["detail"]) for r in rep["runs"]])


def case_barrier_deadlock():
    """Barriers no actor can complete are the deadlock verdict naming each
    actor's barrier and line, not an op error after the barrier timeout
    (it was 'operations ... FL_ETIMEDOUT'): two actors crossing barriers
    in opposite orders, and a barrier whose peer finished (repeat: 2
    against repeat: 1).  A barrier a peer timed out at is broken."""
    d = tdir("bardl")
    crossed = os.path.join(d, "crossed.yaml")
    write_text(crossed, "name: crossed\ndescription: d\nmode: sim\nactors:\n"
                        "  - name: a\n    ops:\n      - barrier: {name: x}\n      - barrier: {name: y}\n"
                        "  - name: b\n    ops:\n      - barrier: {name: y}\n      - barrier: {name: x}\n")
    rep, _, _ = run_json(crossed, ["--seed", "1", "--runs", "3"], "bardl-crossed", expect=1)
    for r in rep["runs"]:
        check(r["verdict"] == "deadlock" and r["property"] == "deadlock",
              "crossed barriers: %s %s", r["verdict"], r["property"])
        check("a waits at barrier 'x' (line 7); b waits at barrier 'y' (line 11)" in r["detail"],
              "detail: %s", r["detail"])
    finished = os.path.join(d, "finished.yaml")
    write_text(finished, "name: peer-finished\ndescription: d\nmode: sim\nactors:\n"
                         "  - name: a\n    repeat: 2\n    ops:\n      - barrier: {name: x}\n"
                         "  - name: b\n    ops:\n      - barrier: {name: x}\n")
    rep, _, _ = run_json(finished, ["--seed", "1", "--runs", "2"], "bardl-finished", expect=1)
    for r in rep["runs"]:
        check(r["verdict"] == "deadlock" and "a waits at barrier 'x' (line 8); b finished" in r["detail"],
              "peer finished: %s %s", r["verdict"], r["detail"])
    # A peer that timed out at a barrier (b waits 25 s, the driver
    # timeout is 10) breaks it: b's late arrival is an error, where it
    # was counted past the rounds and aborted the run on an assert, a
    # crash blamed on the code under test.  Tolerated (expect: any),
    # the run passes.
    late = ("name: late\ndescription: d\nmode: sim\nactors:\n"
            "  - name: a\n    repeat: 3\n    ops:\n"
            "      - barrier: {name: x, expect: any}\n      - barrier: {name: y, expect: any}\n"
            "  - name: b\n    repeat: 3\n    ops:\n      - barrier: {name: x, expect: any}\n"
            "      - wait: {ms: 25000}\n      - barrier: {name: y%s}\n")
    strict = os.path.join(d, "late.yaml")
    write_text(strict, late % "")
    rep, _, _ = run_json(strict, ["--seed", "1", "--runs", "2"], "bardl-late", expect=1)
    for r in rep["runs"]:
        check(r["verdict"] == "fail" and r["property"] == "operations" and
              "actor b: barrier (line 15): y (broken: an actor stopped waiting" in r["detail"],
              "late arrival: %s %s: %s", r["verdict"], r["property"], r["detail"])
    # A late peer whose arrival completes the round the others timed out
    # in is no error of its own: only later rounds are refused.
    third = os.path.join(d, "late-third.yaml")
    write_text(third, "name: late-third\ndescription: d\nmode: sim\nactors:\n"
                      "  - name: a\n    ops:\n      - barrier: {name: x, expect: FL_ETIMEDOUT}\n"
                      "  - name: b\n    ops:\n      - barrier: {name: x, expect: FL_ETIMEDOUT}\n"
                      "  - name: c\n    ops:\n      - wait: {ms: 15000}\n"
                      "      - barrier: {name: x}\n")
    rep, _, _ = run_json(third, ["--seed", "1", "--runs", "2"], "bardl-late-third", expect=0)
    check(rep["summary"]["passed"] == 2, "the late third: %s", verdict_counts(rep))
    tolerant = os.path.join(d, "late-any.yaml")
    write_text(tolerant, late % ", expect: any")
    rep, _, _ = run_json(tolerant, ["--seed", "1", "--runs", "2"], "bardl-late-any", expect=0)
    check(rep["summary"]["passed"] == 2, "late arrival tolerated: %s", verdict_counts(rep))


def case_posix_preload():
    """posix/ faults: a proc-mode run is re-executed with libfiu's POSIX
    preload, whose wrapped libc calls ask the run's fault engine, only in
    process actors, with the rule's errno.  The subscriber's second open()
    failing (its image never maps) fails no_loss in every run, the trace
    replays to the same verdict, and the same file without its fault
    passes.  Outside proc mode, or without the preload library, the
    scenario is skipped with the reason."""
    if under_sanitizer():
        # The sanitizer's runtime must come first among preloaded
        # libraries, and libfiu's POSIX preload is put in LD_PRELOAD by
        # the re-exec.
        print("# under %s: the POSIX preload cannot load first; case skipped" % under_sanitizer())
        return
    scn = "harness/tests/run/scenarios/posix-open-image.yaml"
    rep, _, _ = run_json(scn, ["--seed", "1", "--runs", "2"], "posix", 1)
    for r in rep["runs"]:
        check(r["verdict"] == "fail" and r["property"] == "no_loss",
              "run %s: %s %s: %s", r["seed"], r["verdict"], r["property"], r["detail"])
        check("received 0 of 5" in (r["detail"] or ""), "detail: %r", r["detail"])
    run(["replay", rep["runs"][0]["trace"]], 0)
    with open(src(scn)) as f:
        text = f.read()
    clean = os.path.join(tdir("posix-clean"), "posix-clean.yaml")
    write_text(clean, text[:text.index("faults:")] + text[text.index("properties:"):])
    rep, _, _ = run_json(clean, ["--seed", "1", "--runs", "2"], "posix-clean", 0)
    check(rep["summary"]["passed"] == 2, "without the fault: %s", verdict_counts(rep))
    _, out, err = run(["run", src(scn), "--mode", "sim", "--runs", "1"])
    check("need proc mode" in out + err, "sim mode not refused: %s%s", out, err)
    _, out, err = run(["run", src(scn), "--runs", "1"], env={"FL_FIU_POSIX_PRELOAD": "/nonexistent.so"})
    check("fiu-utils" in out + err, "a missing preload is not named: %s%s", out, err)
    # Skipped beside a scenario that runs: the batch passes, and every
    # report says what did not run (TAP, JSON, JUnit, the summary line).
    d = tdir("posix-skipped")
    rc, tap, err = run(["run", src(scn), "scenarios/pubsub-smoke.yaml", "--runs", "1", "--tap",
                        "--json", os.path.join(d, "r.json"), "--junit", os.path.join(d, "r.xml")],
                       0, env={"FL_FIU_POSIX_PRELOAD": "/nonexistent.so"})
    with open(os.path.join(d, "r.json")) as f:
        rep = json.load(f)
    with open(os.path.join(d, "r.xml")) as f:
        xml = f.read()
    check(re.search(r"^ok 1 - posix-open-image # SKIP faults on libc calls need libfiu's POSIX "
                    r"preload", tap, re.M) and "\n1..2\n" in tap and
          [s["scenario"] for s in rep["skipped"]] == ["posix-open-image"] and
          "fiu-utils" in rep["skipped"][0]["why"] and
          xml.count("<skipped message=\"faults on libc calls") == 1 and
          "1 scenario skipped" in err, "the skip is not in every report:\n%s\n%s\n%s\n%s",
          tap, rep.get("skipped"), xml, err)


def sanitizer_run(scn, extra, name):
    """Runs scn expecting every run to fail with property sanitizer; checks
    what every such failure must say (the report's path, beside the trace,
    in the text output and the detail; the trace recording the build's
    sanitizers) and returns the JSON runs."""
    rep, out, err = run_json(scn, extra, name, 1)
    check(rep["runs"], "no run: %s%s", out, err)
    for r in rep["runs"]:
        detail = r["detail"] or ""
        check(r["verdict"] == "fail" and r["property"] == "sanitizer",
              "run %s: %s %s: %s", r["seed"], r["verdict"], r["property"], detail)
        m = re.search(r"; report (\S+\.sanitizer\.log)$", detail)
        check(m is not None, "the detail does not end with the report's path: %r", detail)
        path = m.group(1)
        check(os.path.isfile(path) and os.path.getsize(path) > 0, "no report at %s", path)
        check(r["trace"] and os.path.dirname(path) == os.path.dirname(r["trace"]) and
              os.path.basename(path)[:-len(".sanitizer.log")] ==
              os.path.basename(r["trace"])[:-len(".trace")],
              "the report %s is not named after the trace %s", path, r["trace"])
        check(path in out, "the text output does not name the report %s:\n%s", path, out)
        with open(r["trace"]) as f:
            trace = f.read()
        check("\nproperty sanitizer\n" in trace and "\nsanitizer %s\n" % SANITIZE in trace,
              "the trace does not record the verdict and the build's sanitizers:\n%s", trace)
    return rep["runs"]


def clean_copy(scn, impl, name):
    """scn with its planted helper swapped for the correct one (b1_correct):
    the same run without the bug."""
    with open(src(scn)) as f:
        text = f.read()
    check(impl in text, "%s does not use %s", scn, impl)
    path = os.path.join(tdir(name), name + ".yaml")
    write_text(path, re.sub(r"(?m)^name: \S+", "name: " + name, text.replace(impl, "b1_correct")))
    return path


def sanitizer_every_mode(scn, name, complaint):
    """Runs scn twice in sim, proc and stress mode, each run a sanitizer
    verdict: complaint(detail) says what a run's detail lacks, or None.
    The last mode's runs."""
    for mode in ("sim", "proc", "stress"):
        runs = sanitizer_run(scn, ["--seed", "1", "--runs", "2", "--mode", mode],
                             "%s-%s" % (name, mode))
        for r in runs:
            what = complaint(r["detail"])
            check(what is None, "%s run %s: the detail does not name %s: %r", mode, r["seed"],
                  what, r["detail"])
    return runs


def sanitizer_replays(trace, verdict):
    """trace replays to the verdict the run had."""
    rc, out, err = run(["replay", trace], 0)
    check("fail sanitizer: " + verdict in out and "same verdict" in out,
          "replay did not reproduce the sanitizer verdict:\n%s%s", out, err)


def sanitizer_twin_passes(scn, impl, name):
    """No report, no verdict: scn with the correct helper passes 3 runs
    in each mode."""
    clean = clean_copy(scn, impl, name)
    for mode in ("sim", "proc", "stress"):
        rep, _, _ = run_json(clean, ["--seed", "1", "--runs", "3", "--mode", mode],
                             "%s-%s" % (name, mode), 0)
        check(rep["summary"]["passed"] == 3, "%s: %s", mode, verdict_counts(rep))


def case_sanitizer_overflow():
    """A sanitizer report is a verdict (AddressSanitizer build): one byte
    written past a heap block inside an op (sanitizer-heap-overflow, which
    passes in a plain build) fails every run, in sim (the worker), proc (a
    process actor) and stress mode, with property sanitizer naming
    heap-buffer-overflow, the fixture's frame, the op the actor was in and
    the report beside the trace; the trace replays to the same verdict; a
    process actor's planted leak (memcheck-heap-leak) fails with
    LeakSanitizer; the same runs without the bug pass."""
    if "address" not in SANITIZE.split(","):
        raise Skip("not an AddressSanitizer build (b_sanitize=%s)" % SANITIZE)
    scn = "harness/tests/run/scenarios/sanitizer-heap-overflow.yaml"

    def complaint(detail):
        if not (detail.startswith("AddressSanitizer: heap-buffer-overflow at "
                                  "fli_sanitizer_image_position_overflow (")
                and re.search(r"fixtures/sanitizer_helpers\.c:\d+\)", detail)):
            return "the overflow and the fixture's frame"
        if "reported in actor loner; actors: loner in lookup_image (line 18)" not in detail:
            return "the actor's op"
        with open(re.search(r"report (\S+)$", detail).group(1)) as f:
            if "ERROR: AddressSanitizer: heap-buffer-overflow" not in f.read():
                return "a report of ASan's"
        return None

    runs = sanitizer_every_mode(scn, "asan", complaint)
    sanitizer_replays(runs[0]["trace"], "AddressSanitizer: heap-buffer-overflow")
    check(os.path.isfile(runs[0]["trace"][:-len(".trace")] + ".replay.sanitizer.log"),
          "the replay's report is not beside the trace")
    # LeakSanitizer: a block a process actor leaks (checked as it exits).
    runs = sanitizer_run("harness/tests/run/scenarios/memcheck-heap-leak.yaml",
                         ["--seed", "1", "--runs", "1"], "lsan")
    check(runs[0]["detail"].startswith("LeakSanitizer: detected memory leaks at "
                                       "fli_memcheck_image_position_heap_leak (") and
          "leak check at the end of actor loner's process" in runs[0]["detail"],
          "the leak's detail: %r", runs[0]["detail"])
    sanitizer_twin_passes(scn, "sanitizer_heap_overflow", "asan-clean")


def case_sanitizer_ub():
    """A sanitizer report is a verdict (UndefinedBehaviorSanitizer build):
    a signed addition that overflows inside an op (sanitizer-signed-overflow,
    which passes in a plain build) fails every run, in sim (the worker),
    proc (a process actor) and stress mode, with property sanitizer naming
    the runtime error, the fixture's file and the op the actor was in; the
    trace replays to the same verdict; the same runs without the bug
    pass."""
    if "undefined" not in SANITIZE.split(","):
        raise Skip("not an UndefinedBehaviorSanitizer build (b_sanitize=%s)" % SANITIZE)
    scn = "harness/tests/run/scenarios/sanitizer-signed-overflow.yaml"

    def complaint(detail):
        if not (detail.startswith("UndefinedBehaviorSanitizer: runtime error: signed integer "
                                  "overflow") and "fixtures/sanitizer_helpers.c:" in detail):
            return "the overflow and the fixture's file"
        if "loner in lookup_image (line 18)" not in detail:
            return "the actor's op"
        return None

    runs = sanitizer_every_mode(scn, "ubsan", complaint)
    sanitizer_replays(runs[0]["trace"],
                      "UndefinedBehaviorSanitizer: runtime error: signed integer overflow")
    sanitizer_twin_passes(scn, "sanitizer_signed_overflow", "ubsan-clean")


def case_sanitizer_race():
    """A sanitizer report is a verdict (ThreadSanitizer build): two free
    threads (stress mode) writing one plain global in an op
    (sanitizer-data-race, which passes in a plain build) fail every run
    with property sanitizer naming a data race, the fixture's frame and
    the op the reporting actor was in, the report beside the trace; the
    trace replays to the same verdict; the same runs without the race
    pass."""
    if "thread" not in SANITIZE.split(","):
        raise Skip("not a ThreadSanitizer build (b_sanitize=%s)" % SANITIZE)
    scn = "harness/tests/run/scenarios/sanitizer-data-race.yaml"
    runs = sanitizer_run(scn, ["--seed", "1", "--runs", "3"], "tsan")
    for r in runs:
        detail = r["detail"]
        check(detail.startswith("ThreadSanitizer: data race at fli_sanitizer_image_position_race (")
              and re.search(r"fixtures/sanitizer_helpers\.c:\d+\)", detail),
              "run %s: the detail does not name the race and the fixture's frame: %r",
              r["seed"], detail)
        m = re.search(r"reported in actor (left|right); actors: (.*); report ", detail)
        check(m is not None and "%s in lookup_image (line " % m.group(1) in m.group(2),
              "run %s: the detail does not name the reporting actor's op: %r", r["seed"], detail)
    rc, out, err = run(["replay", runs[0]["trace"]], 0)
    check("fail sanitizer: ThreadSanitizer: data race" in out and "same verdict" in out,
          "replay did not reproduce the sanitizer verdict:\n%s%s", out, err)
    clean = clean_copy(scn, "sanitizer_data_race", "tsan-clean")
    rep, _, _ = run_json(clean, ["--seed", "1", "--runs", "5"], "tsan-clean", 0)
    check(rep["summary"]["passed"] == 5, "%s", verdict_counts(rep))
    # Writes 200 ms apart, ops between: keeping the timeline (--html-dir)
    # must not order them (its records once did: 10 of 10 passed).
    apart = "harness/tests/run/scenarios/sanitizer-race-apart.yaml"
    for extra in ([], ["--html-dir", os.path.join(tdir("tsan-apart"), "pages")]):
        runs = sanitizer_run(apart, ["--seed", "1", "--runs", "3"] + extra, "tsan-apart")
        check(all(r["detail"].startswith("ThreadSanitizer: data race at "
                                         "fli_sanitizer_image_position_race_apart (")
                  for r in runs), "the race 200 ms apart was not reported%s: %s",
              " with the timeline kept" if extra else "", [r["detail"][:120] for r in runs])


# --- known bugs --------------------------------------------------------------
# Each of these cases fails on the current build and is registered with
# should_fail (meson "expected fail"); once the bug is fixed the case passes,
# meson reports an unexpected pass, and its should_fail goes.

def case_known_late_response():
    """KNOWN BUG (interp.c do_request): a response that arrives after its
    request timed out is taken for the next request ("delivery")."""
    run(["run", src("harness/tests/run/scenarios/reqrep-late-response.yaml"), "--seed", "1",
         "--runs", "5", "-q", "--trace-dir", os.path.join(tdir("late"), "tr")], 0)


def case_known_sweep_trace_names():
    """KNOWN BUG (cli/main.c run_one): every failing sweep run of one seed
    writes <name>-<seed>-sweep.trace, so they overwrite each other.  Each
    failing run must have its own trace, replaying to its own verdict."""
    rep, _, _ = run_json("harness/tests/run/scenarios/reqrep-sweep-short-deadline.yaml",
                         ["--seed", "1", "--runs", "1"], "sweep-names", expect={0, 1})
    traces = [r["trace"] for r in rep["runs"] if r["verdict"] != "pass"]
    check(len(set(traces)) == len(traces), "%d failing sweep runs share %d trace file(s): %s",
          len(traces), len(set(traces)), sorted(set(traces)))
    for t in traces:
        run(["replay", t], 0)


def case_known_option_message():
    """KNOWN BUG (cli/main.c cmd_run, label bad:): a bad option value is
    always reported as "bad value for --seed", whichever option it was."""
    for opt, val in (("--shard", "3/2"), ("--time", "-5"), ("--jobs", "0"), ("--runs", "many")):
        rc, out, err = run(["run", src(SMOKE), opt, val, "-q"], 2)
        first = err.strip().splitlines()[0] if err.strip() else ""
        check(opt in first, "faultline run %s %s: message does not name %s: %r", opt, val, opt, first)


# Number fields that libcyaml would read as something else: each file
# is (name, value line, line, field, value as quoted in the message).
BAD_NUMBERS_HEAD = ("name: n\ndescription: d\nmode: sim\nactors:\n  - name: a\n    ops:\n"
                    "      - add_publication: {channel: ipc, stream: 1, as: p}\n")
BAD_NUMBERS = [
    ("exp", "      - offer: {pub: p, count: 1e3}\n", 8, "actors[0].ops[1].offer.count", "1e3"),
    ("frac", "      - offer: {pub: p, count: 2.5}\n", 8, "actors[0].ops[1].offer.count", "2.5"),
    ("underscore", "      - offer: {pub: p, count: 1_000}\n", 8, "actors[0].ops[1].offer.count", "1_000"),
    ("octal", "      - offer: {pub: p, count: 1, size: 010}\n", 8, "actors[0].ops[1].offer.size", "010"),
    ("hex", "      - wait: {ms: 0x10}\n", 8, "actors[0].ops[1].wait.ms", "0x10"),
    ("runs", "      - wait: {ms: 1}\nbudget: {runs: 1e3}\n", 9, "budget.runs", "1e3"),
]


def case_bad_numbers():
    """Integer fields take plain decimal integers: 1e3, 2.5, 1_000, 010, 0x10
    are exit 2 with 'file:line: field: expected a decimal integer (got ...)'
    (they were read as 1, 2, 1, 8 and 16, and the run went ahead)."""
    d = tdir("numbers")
    for name, line_text, line, field, got in BAD_NUMBERS:
        path = os.path.join(d, name + ".yaml")
        write_text(path, BAD_NUMBERS_HEAD + line_text)
        want = "%s:%d: %s: expected a decimal integer (got '%s')" % (path, line, field, got)
        for cmd in (["run", path, "--runs", "1", "-q", "--trace-dir", os.path.join(d, "tr")], ["list", path]):
            rc, out, err = run(cmd)
            check(rc == 2 and want in err, "%s: %s: exit %d, expected 2 and %r on stderr:\n%s",
                  name, cmd[0], rc, want, err)
    # A probability with trailing text was read as its numeric prefix.
    path = os.path.join(d, "probability.yaml")
    write_text(path, BAD_NUMBERS_HEAD + "faults:\n  - point: transport/shm/map\n    action: error\n"
                     "    when: {probability: 0.5abc}\n")
    rc, out, err = run(["list", path])
    want = "%s:11: faults[0].when.probability: expected a decimal number (got '0.5abc')" % path
    check(rc == 2 and want in err, "probability: exit %d, expected 2 and %r:\n%s", rc, want, err)


def case_bad_keys():
    """A mapping key that is not a name ([1]: 2) is exit 2 with a
    'file:line: field:' message (it was 'file: Internal error')."""
    d = tdir("keys")
    files = [
        ("top", "name: n\ndescription: d\nmode: sim\n[1]: 2\nactors:\n  - name: a\n    ops:\n"
         "      - wait: {ms: 1}\n", "4: (top): a key must be a name, not a sequence"),
        ("op", "name: n\ndescription: d\nmode: sim\nactors:\n  - name: a\n    ops:\n"
         "      - wait: {ms: 1, [1]: 2}\n", "7: actors[0].ops[0].wait: a key must be a name, not a sequence"),
    ]
    for name, text, tail in files:
        path = os.path.join(d, name + ".yaml")
        write_text(path, text)
        for cmd in (["run", path, "--runs", "1", "-q", "--trace-dir", os.path.join(d, "tr")], ["list", path]):
            rc, out, err = run(cmd)
            check(rc == 2 and (path + ":" + tail) in err, "%s: %s: exit %d, expected 2 and %r:\n%s",
                  name, cmd[0], rc, path + ":" + tail, err)


def case_bad_trace():
    """A trace is read as written or refused (exit 2): 'signal SIG?' was read
    as signal 16, 'seed 010' as seed 8, and 'choices 268435456' in a short
    file allocated 2 GiB before finding the values missing (here, under a
    1 GiB address-space limit, it failed with no message)."""
    rep, _, _ = run_json(FAILING, ["--seed", "1", "--runs", "1"], "badtrace", expect=1)
    with open(rep["runs"][0]["trace"]) as f:
        text = f.read()
    d = tdir("badtrace")
    forged = [
        ("signal", re.sub(r"(?m)^(verdict .*)$", r"\1\nsignal SIG?", text), "signal: unknown 'SIG?'"),
        ("seed", re.sub(r"(?m)^seed \d+$", "seed 010", text), "seed: not a number '010'"),
        # Extras a replay needs, refused when they cannot be read (a
        # garbage sweep line once dropped the swept fault silently).
        ("timeout", text.replace("\nchoices ", "\ntimeout_ms soon\nchoices ", 1),
         "timeout_ms: expected a number of ms"),
        ("sweep", text.replace("\nchoices ", "\nsweep garbage\nchoices ", 1),
         "sweep: expected 'sweep: POINT hit K'"),
        ("name", re.sub(r"(?m)^name .*$", "name other", text, count=1),
         "name: not the name of the scenario at its path"),
    ]
    for name, t, want in forged:
        path = os.path.join(d, name + ".trace")
        write_text(path, t)
        rc, out, err = run(["replay", path])
        check(rc == 2 and want in err, "%s: replay exit %d, expected 2 and %r:\n%s%s", name, rc, want, out, err)
    # A cut trace (a sim run's first choices only) is not the run it
    # recorded, even when it ends in the same verdict: exit 1, said.
    m = re.search(r"(?ms)^choices (\d+)\n(.*?)\nend", text)
    vals = m.group(2).split()
    check(len(vals) > 4, "the failing trace has only %d choices", len(vals))
    path = os.path.join(d, "cut.trace")
    write_text(path, text[:m.start()] + "choices 2\n%s\nend\n" % " ".join(vals[:2]))
    rc, out, err = run(["replay", path], 1)
    check("NOT the recorded run" in out, "a cut trace replayed as the recorded run:\n%s%s", out,
          err)
    rc, out, err = run(["show", path], 1)
    check("not the recorded run" in out + err, "show of a cut trace:\n%s%s", out, err)
    path = os.path.join(d, "count.trace")
    write_text(path, re.sub(r"(?ms)^choices \d+$.*", "choices 268435456\n1 2\nend\n", text))
    if under_sanitizer():
        # ASan and TSan reserve terabytes of shadow address space: no
        # RLIMIT_AS cap can hold them.  The count check itself is the same.
        print("# under %s: no address-space cap for the count trace" % under_sanitizer())
        return
    import resource
    cap = 1 << 30
    before = shm_entries()
    p = subprocess.Popen([FL, "replay", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=ROOT, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
    out, err = p.communicate(timeout=CMD_TIMEOUT)
    leaks = shm_leaks(before, p.pid, p.pid)
    check(not leaks, "faultline replay %s left /dev/shm entries: %s", path, leaks)
    check(p.returncode == 2 and "2 choices, header says 268435456" in err,
          "count: replay exit %d, expected 2 and the count mismatch:\n%s%s", p.returncode, out, err)


def case_replay_timeout():
    """A hang under --timeout replays as a hang: the trace records the
    timeout (the replay's 60 s default let a 3 s call finish, and said
    DIFFERENT verdict).  And a trace replays from another directory."""
    tdirs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FL))), "fixtures",
                         "targets")
    env = {"FL_TARGET_PATH": tdirs}
    rep, _, _ = run_json("harness/tests/run/scenarios/slow-call.yaml",
                         ["--seed", "1", "--timeout", "1000"], "replay-timeout", expect=1, env=env)
    r = rep["runs"][0]
    check(r["verdict"] == "hang", "a 3 s call under --timeout 1000: %s", r)
    with open(r["trace"]) as f:
        check(re.search(r"(?m)^timeout_ms 1000$", f.read()), "no timeout_ms in the trace")
    rc, out, err = run(["replay", r["trace"]], 0, env=env)
    check("same verdict" in out and "hang" in out, "the hang did not replay:\n%s%s", out, err)
    # A trace replays from another directory, without FL_TARGET_PATH: it
    # holds the working directory of its relative scenario path and the
    # target file that path found (a replay elsewhere said "No such
    # file", and one with another FL_TARGET_PATH could load another
    # library of the same name).
    d = tdir("replay-elsewhere")
    scn = "harness/tests/run/scenarios/shrink-same-failure.yaml"
    rc, out, err = run(["run", scn, "--seed", "2", "--runs", "1", "-q", "--trace-dir", d], 1,
                       env=env)
    t = os.path.join(d, "shrink-same-failure-2.trace")
    with open(t) as f:
        text = f.read()
    check(re.search(r"(?m)^target /.*/faultline-target-queue\.so$", text) and
          re.search(r"(?m)^cwd /", text), "the trace lacks its target file or cwd:\n%s", text)
    rc, out, err = run(["replay", t], 0, cwd=d)
    check("same verdict as recorded" in out, "a replay from elsewhere:\n%s%s", out, err)


def case_node_crash_sim():
    """A crash fault in a cluster node under sim: the node's life dies
    holding the node, and its next life (the supervisor's restart) and
    the cluster go on: every run passes, liveness and the heap included
    (before, every run hung: the next life waited on the dead one's
    hold for ever)."""
    rep, out, err = run_json("harness/tests/run/scenarios/node-crash-sim.yaml", ["--seed", "1"],
                             "node-crash-sim")
    check(len(rep["runs"]) == 5 and all(
        r["verdict"] == "pass" and r["faults_fired"].get("transport/cluster/election") == 1
        for r in rep["runs"]), "a node crash under sim: %s",
          [(r["verdict"], r["property"], r["detail"], r["faults_fired"]) for r in rep["runs"]])


# --- interrupts --------------------------------------------------------------

def session_procs(sid, zombies=False):
    """{pid: (state, comm)} of the processes in session sid; zombies (dead,
    reparented to init, which reaps them when it gets to it) only when
    asked."""
    return {p: (fields[0], comm) for p, comm, fields in proc_stats()
            if len(fields) > 3 and int(fields[3]) == sid and (zombies or fields[0] != "Z")}


def kill_session(sid):
    """SIGKILL every process of session sid (runs sit in groups of their
    own: killpg of the leader's group would miss them)."""
    import signal
    for pid in session_procs(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(cond, limit):
    """Polls cond() until true or `limit` seconds have passed: a generous
    deadline for an event, never a measure of speed.  Returns the last
    value of cond()."""
    import time
    end = time.monotonic() + limit
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.01)


def start_session(args):
    """faultline `args` (FL first) in a session of its own, its output
    piped."""
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, start_new_session=True)


def await_session(p, want, what, whose):
    """Waits (60 s at the most) for `want` processes in p's session; if they
    do not all come, kills the session and fails."""
    if not wait_until(lambda: len(session_procs(p.pid)) >= want, 60):
        kill_session(p.pid)
        p.communicate()
        raise Failure("%s: %s processes did not all start within 60 s: %s"
                      % (what, whose, session_procs(p.pid)))


def signal_cli(p, target, sig):
    """sig to the CLI p alone (target "cli") or to its process group."""
    if target == "group":
        os.killpg(p.pid, sig)
    else:
        os.kill(p.pid, sig)


def check_session_gone(p, what, note=""):
    """After the CLI p exited: every process of its session is dead within
    10 s."""
    wait_until(lambda: not session_procs(p.pid), 10)
    left = session_procs(p.pid)
    check(not left, "%s: processes alive in the CLI's session 10 s after it exited: %s%s",
          what, left, note)


# Per kind: 6 kinds, about 0.35 s a try (0.7 s under ASan).  The default
# build makes 20 tries of each; the ASan build, which
# looks for memory errors on the same paths, 5.
INTERRUPT_TRIES = 5 if os.environ.get("FL_UNDER_ASAN") else 20

# A run that lasts a minute (two process actors waiting): an interrupt must
# cut it short, and its actors must not outlive a SIGKILLed CLI.
SLEEPER = """name: proc-sleeper
description: two process actors wait a minute each
mode: proc
driver: {client_liveness_ms: 200, driver_timeout_ms: 60000}
actors:
  - name: a
    kind: process
    ops:
      - wait: {ms: 60000}
  - name: b
    kind: process
    ops:
      - wait: {ms: 60000}
budget: {runs: 1000, seconds: 600}
"""


def case_interrupts():
    """SIGINT and SIGTERM to the CLI alone and to its process group (what
    Ctrl-C does), at random moments, with --jobs 1 and 2, over a proc-mode
    scenario, sim runs and a fault sweep, and while minute-long proc runs
    are under way: no process of the CLI's session is left, /dev/shm is
    clean, the JSON parses with "interrupted": true and only passing runs
    (a run the interrupt killed is not reported as a crash), the JUnit
    carries an 'interrupted' error testcase, the summary is printed, the
    exit status is 130 or 143.  SIGKILL to the CLI: its --jobs workers, runs
    and process actors die with it (PR_SET_PDEATHSIG), long before the
    minute the actors would otherwise wait."""
    import random
    import signal
    import time
    d = tdir("interrupts")
    long_scn = os.path.join(d, "proc-long.yaml")
    with open(src("scenarios/reqrep-proc-crash.yaml")) as f:
        text = f.read()
    text = text.replace("name: reqrep-proc-crash", "name: proc-long")
    text = re.sub(r"(?m)^budget:.*$", "budget: {runs: 100000, seconds: 600}", text)
    write_text(long_scn, text)
    sleeper = os.path.join(d, "sleeper.yaml")
    write_text(sleeper, SLEEPER)
    stages = [src("scenarios/reqrep-fault-sweep.yaml"), src(SMOKE),
              src("scenarios/reqrep-proc-crash.yaml")]
    seed = int(os.environ.get("FL_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    kinds = [("INT", "cli"), ("TERM", "cli"), ("INT", "group"), ("TERM", "group"), ("KILL", "cli"),
             ("KILL", "group")]
    stats = {"tries": 0, "max_procs": 0, "runs": 0, "early": 0, "shm_after_kill": 0}
    for n in range(INTERRUPT_TRIES * len(kinds)):
        signame, target = kinds[n % len(kinds)]
        sig = getattr(signal, "SIG" + signame)
        jobs = 2 if n % 2 == 0 else 1
        # Two tries of each kind in the middle of minute-long runs, once
        # every process of them is there: the CLI, its workers, their runs,
        # two actors each.  The others at a random moment of a batch.
        slow = (n // len(kinds)) % 4 == 3
        if slow:
            order, delay, want = [sleeper], None, 1 + jobs * 4 if jobs > 1 else 4
        else:
            order = stages[:]
            rng.shuffle(order)
            order.append(long_scn)
            delay, want = rng.uniform(0, 0.5), 0
        report = os.path.join(d, "r%d.json" % n)
        junit = os.path.join(d, "r%d.xml" % n)
        tap = n % 3 == 1  # TAP on stdout, the people's lines on stderr
        args = [FL, "run"] + order + ["--seed", str(1 + n), "--jobs", str(jobs),
                                      "--timeout", "600000", "--trace-dir", os.path.join(d, "tr"),
                                      "--json", report, "--junit", junit] + (["--tap"] if tap else [])
        what = "try %d (seed %d): SIG%s to the %s %s, --jobs %d, %s" % (
            n, seed, signame, target, "at %.3f s" % delay if delay is not None else
            "with %d processes up" % want, jobs, " ".join(os.path.basename(o) for o in order))
        before = shm_entries()
        p = start_session(args)
        if slow:
            await_session(p, want, what, "the runs'")
        else:
            time.sleep(delay)
        seen = session_procs(p.pid)  # the CLI and its descendants, before the kill
        stats["max_procs"] = max(stats["max_procs"], len(seen))
        signal_cli(p, target, sig)
        # The runs under way are stopped, not waited for: well within the
        # minute a sleeper run lasts.
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            alive = session_procs(p.pid)
            kill_session(p.pid)
            p.communicate()
            raise Failure("%s: 30 s after the signal, the CLI %s and these processes of its "
                          "session still run (holding its stdout): %s" % (
                              what, "has exited" if p.poll() is not None else "has not",
                              alive))
        stats["tries"] += 1
        # Every process of the session (the CLI's descendants, recorded or
        # forked later) is dead: for SIGINT/SIGTERM the CLI killed and
        # reaped them (an actor killed with its run's group is left to
        # init), for SIGKILL they die of PR_SET_PDEATHSIG.
        check_session_gone(p, what, " (there before the kill: %s)" % (seen,))
        last = last_pid_after(p.pid)
        if sig == signal.SIGKILL:
            check(p.returncode == -signal.SIGKILL, "%s: exit %d", what, p.returncode)
            # Nothing of the dead CLI could remove its run directories: the
            # next faultline that makes runs does (theirs pids are gone).
            left = shm_leaks(before, p.pid, last)
            stats["shm_after_kill"] += len(left)
            left = [e for e in left if os.path.lexists(os.path.join(SHM, e))]
            if left:
                q = subprocess.run([FL, "run", src(SMOKE), "--runs", "1", "--seed", "1"],
                                   capture_output=True, text=True, cwd=ROOT,
                                   env=dict(os.environ, FL_KEEP_DEAD_RUN_DIRS="0"))
                still = [e for e in left if os.path.lexists(os.path.join(SHM, e))]
                for e in still:  # reported below; not left on a shared machine
                    subprocess.call(["rm", "-rf", os.path.join(SHM, e)])
                check(q.returncode == 0 and not still and
                      re.search(r"removed \d+ run director", q.stderr),
                      "%s: the next run (exit %d) did not remove the %d run directories the "
                      "killed CLI left: %s still there\n%s", what, q.returncode, len(left), still,
                      q.stderr[-2000:])
            continue
        wait_until(lambda: not shm_leaks(before, p.pid, last), 10)
        check_no_shm_leaks(before, p.pid, last, what)
        if p.returncode == -sig and not slow:
            # The signal came before `run` set its handler (within its
            # first milliseconds): nothing was started or written.
            check(not os.path.exists(report), "%s: died of the signal but wrote %s", what, report)
            stats["early"] += 1
            continue
        check(p.returncode == 128 + sig, "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s",
              what, p.returncode, 128 + sig, out[-2000:], err[-2000:])
        try:
            with open(report) as f:
                rep = json.load(f)
        except ValueError as e:
            raise Failure("%s: the JSON report does not parse (%s)" % (what, e))
        check(rep.get("interrupted") is True, "%s: JSON interrupted = %r", what, rep.get("interrupted"))
        runs = rep["runs"]
        check(rep["summary"]["runs"] == len(runs), "%s: summary %s, %d runs listed", what,
              rep["summary"], len(runs))
        bad = [r for r in runs if r["verdict"] != "pass"]
        check(not bad, "%s: runs reported not passing (the interrupt's doing): %s", what, bad[:3])
        stats["runs"] += len(runs)
        stats["early"] += not runs
        try:
            root = ET.parse(junit).getroot()
        except ET.ParseError as e:
            raise Failure("%s: the JUnit report does not parse (%s)" % (what, e))
        intr = [c for c in root.iter("testcase") if c.get("name") == "interrupted"]
        check(len(intr) == 1 and intr[0].find("error") is not None,
              "%s: no 'interrupted' error testcase in the JUnit", what)
        check(int(root.get("tests")) == len(runs) + 1, "%s: JUnit tests=%s, %d runs", what,
              root.get("tests"), len(runs))
        people = err if tap else out
        summary = "%d runs: %d passed" % (len(runs), len(runs))
        check(summary in people and "INTERRUPTED (SIG%s)" % signame in people,
              "%s: no summary %r / INTERRUPTED line:\n%s", what, summary, people[-2000:])
        if tap:
            lines = out.splitlines()
            check(lines and lines[-1] == "Bail out! interrupted (SIG%s)" % signame and
                  not any(re.match(r"^1\.\.\d+$", l) for l in lines) and
                  sum(bool(re.match(r"^ok \d+ ", l)) for l in lines) == len(runs),
                  "%s: TAP does not end with Bail out! after %d ok lines:\n%s", what, len(runs),
                  "\n".join(lines[-5:]))
    print("# %d tries (FL_TEST_SEED=%d): %d runs reported in all, up to %d processes in the "
          "session at the signal, %d stopped before any run finished, %d run directories left "
          "by SIGKILL removed by the next run" % (stats["tries"], seed, stats["runs"],
                                             stats["max_procs"], stats["early"],
                                             stats["shm_after_kill"]))

def case_replay_interrupted():
    """SIGINT and SIGTERM to `replay` and `shrink` (alone and to their
    process group) while the run they replay is under way (a proc-mode run
    whose two actors wait a minute): the run and its actors are killed at
    once, /dev/shm is clean, no process of the session is left, the exit
    status is 128 + the signal with an INTERRUPTED line, and shrink writes
    no half-shrunk trace."""
    import signal
    d = tdir("replay_interrupted")
    sleeper = os.path.join(d, "sleeper.yaml")
    write_text(sleeper, SLEEPER)
    # The recorded run hangs at a 1 s deadline; a replay waits the
    # default 60 s deadline, far longer than the interrupt takes to come.
    rc, out, err = run(["run", sleeper, "--runs", "1", "--seed", "3", "--timeout", "1000",
                        "--trace-dir", d], 1)
    trace = os.path.join(d, "proc-sleeper-3.trace")
    check(os.path.exists(trace), "no trace %s:\n%s%s", trace, out, err)
    tries = 0
    for cmd in ("replay", "shrink"):
        for signame in ("INT", "TERM"):
            for target in ("cli", "group"):
                sig = getattr(signal, "SIG" + signame)
                what = "%s, SIG%s to the %s" % (cmd, signame, target)
                mini = os.path.join(d, "%s-%s-%s.min" % (cmd, signame, target))
                args = [FL, cmd, trace] + (["-o", mini] if cmd == "shrink" else [])
                before = shm_entries()
                p = start_session(args)
                await_session(p, 4, what, "the run's")  # the CLI, the run and its two actors
                signal_cli(p, target, sig)
                try:
                    out, err = p.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    kill_session(p.pid)
                    p.communicate()
                    raise Failure("%s: still running 30 s after the signal" % what)
                tries += 1
                check_session_gone(p, what)
                check_no_shm_leaks(before, p.pid, last_pid_after(p.pid), what)
                check(p.returncode == 128 + sig and "INTERRUPTED (SIG%s)" % signame in err,
                      "%s: exit %d (expected %d), stderr:\n%s", what, p.returncode, 128 + sig,
                      err[-2000:])
                check(not os.path.exists(mini), "%s: wrote %s", what, mini)
    print("# %d interrupts of replay and shrink" % tries)


def case_harness_failure():
    """A run the harness cannot set up is never a pass: a target whose
    init fails (faultline-target-queue-initfails) makes each of 3 runs,
    in sim, proc and stress mode, not run with property harness and the
    target's error in its detail, no trace, exit status 2; the same ops on
    the correct target pass all 3.  Nor is a run whose driver's gauges the
    pub/sub audit cannot read (a test hook), at its end or after a step,
    nor one whose actor's code calls exit(0) mid-run (a test hook), in
    sim (worker and fresh child), stress and proc mode."""
    tdirs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FL))), "fixtures",
                         "targets")
    env = {"FL_TARGET_PATH": tdirs}
    d = tdir("harness_failure")
    for mode in ("sim", "proc", "stress"):
        report = os.path.join(d, mode + ".json")
        traces = os.path.join(d, "traces-" + mode)
        _, out, err = run(["run", src("fixtures/scenarios/target-queue-init-fails.yaml"),
                           "--seed", "1", "--runs", "3", "--mode", mode, "-q", "--json", report,
                           "--trace-dir", traces], 2, env=env)
        with open(report) as f:
            rep = json.load(f)
        runs = rep["runs"]
        check(len(runs) == 3 and rep["summary"]["not_run"] == 3 and
              rep["summary"]["passed"] == 0, "%s: %s\n%s%s", mode, rep["summary"], out, err)
        for r in runs:
            check(r["verdict"] == "not_run" and r["property"] == "harness" and
                  r["detail"] == "the harness failed inside the run: target queue: init: FL_EIO"
                  and not r["trace"], "%s run %s: %r", mode, r["seed"], r)
        check(not os.path.exists(traces) or not os.listdir(traces),
              "%s: a run not run left a trace: %s", mode, traces)
        report = os.path.join(d, mode + "-twin.json")
        run(["run", src("fixtures/scenarios/target-queue-correct.yaml"), "--seed", "1", "--runs",
             "3", "--mode", mode, "-q", "--json", report, "--trace-dir", traces], 0, env=env)
        with open(report) as f:
            rep = json.load(f)
        check(rep["summary"]["passed"] == 3, "%s: the twin: %s", mode, rep["summary"])
    # The pub/sub audit's gauges unreadable (a test hook fails the read):
    # image_refs and gauges_zero cannot be checked, so no run passes, at
    # the end or after a step.
    gone = "the run's process exited (status 0) before the run ended"
    cases = [("gauges-" + mode + ("-each" if extra else ""), mode, extra,
              {"FLI_TEST_GAUGES_UNREADABLE": "1"},
              ("image_refs after a step" if extra else "the audit of image_refs and gauges_zero")
              + ": the driver's gauges of ", "cannot be read: FL_EIO")
             for mode, extra in (("sim", []), ("proc", []), ("sim", ["--check-each-step"]))]
    # An actor whose code ends its process with status 0 after its first
    # op (a test hook): the run's own process or a proc actor's ends with
    # no verdict; the run was not judged, and is no pass.
    cases += [("exit-" + mode + ("-fork" if extra else ""), mode, extra,
               {"FLI_TEST_ACTOR_EXIT": "publisher"}, want, want)
              for mode, extra, want in (
                  ("sim", [], gone), ("sim", ["--fork-each"], gone), ("stress", [], gone),
                  ("proc", [], "actor publisher's process exited (status 0) before its ops "
                   "ended"))]
    for name, mode, extra, env, want, also in cases:
        report = os.path.join(d, name + ".json")
        _, out, err = run(["run", src("scenarios/pubsub-smoke.yaml"), "--seed", "1", "--runs",
                           "2", "--mode", mode, "-q", "--json", report] + extra, 2, env=env)
        with open(report) as f:
            rep = json.load(f)
        check(len(rep["runs"]) == 2 and all(
                  r["verdict"] == "not_run" and r["property"] == "harness" and
                  want in (r["detail"] or "") and also in r["detail"] for r in rep["runs"]),
              "%s: %s\n%s%s", name,
              [(r["verdict"], r["property"], r["detail"]) for r in rep["runs"]], out, err)


def case_fork_fails():
    """fork() failing (libfiu's POSIX preload over the CLI, every fork or
    a random 30%), with --jobs 1 and 2, over proc-mode and sim scenarios:
    every requested run is reported, none that could not be started or
    whose actor could not be forked gets a verdict (no false deadlock of
    the actors that did start, no trace), the exit status is 2, never 0,
    and /dev/shm is clean.  Then only the process actors' fork fails (a
    stack-bound libfiu rule): every run is not run with property harness,
    naming the actor, and passes without the rule."""
    if under_sanitizer():
        print("# under %s: libfiu's preload cannot load first; case skipped" % under_sanitizer())
        return
    import shutil
    fiu_run = shutil.which("fiu-run")
    if fiu_run is None:
        print("# fiu-run (Debian's fiu-utils) is not installed; case skipped")
        return
    d = tdir("fork_fails")
    scns = [src("scenarios/reqrep-proc-crash.yaml"), src(SMOKE)]
    tries = {"runs": 0, "not_run": 0, "passed": 0}
    random_not_run = 0
    for rule in ("enable name=posix/proc/fork",
                 "enable_random name=posix/proc/fork,probability=0.3"):
        for jobs in (1, 2):
            for seed in (1, 2):
                what = "%s, --jobs %d, --seed %d" % (rule, jobs, seed)
                report = os.path.join(d, "r.json")
                before = shm_entries()
                # fiu-run execs faultline: p.pid is the CLI's.  -f "" turns
                # off its remote-control fifos, which every forked child
                # would otherwise leave in /tmp as /tmp/fiu-ctrl-PID.*.
                p = subprocess.Popen([fiu_run, "-x", "-f", "", "-c", rule, FL, "run"] + scns +
                                     ["--runs", "4", "--seed", str(seed), "--jobs", str(jobs),
                                      "--json", report, "--trace-dir", os.path.join(d, "tr")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=ROOT)
                _, err = p.communicate(timeout=CMD_TIMEOUT)
                check_no_shm_leaks(before, p.pid, last_pid_after(p.pid), what)
                with open(report) as f:
                    rep = json.load(f)
                runs = rep["runs"]
                check(len(runs) == 8 and rep["summary"]["runs"] == 8,
                      "%s: %d runs reported of 8:\n%s", what, len(runs), err[-2000:])
                odd = [(r["verdict"], r["detail"]) for r in runs if r["verdict"] not in ("pass", "not_run")]
                check(not odd, "%s: runs judged although fork failed: %s", what, odd)
                nr = [r for r in runs if r["verdict"] == "not_run"]
                # The random rule draws from libfiu's own generator (not
                # the run's seed): one invocation may fork a few times
                # and draw no failure (1 in 5 here).  Its invocations
                # together must see one; each must report what it saw.
                randomly = rule.startswith("enable_random")
                random_not_run += len(nr) if randomly else 0
                check((nr or randomly) and all(r["trace"] is None for r in nr),
                      "%s: no run was not run, or one has a trace: %s", what, nr[:2])
                # A run the harness failed inside names the property harness;
                # one it could not start names none.
                badprop = [(r["property"], r["detail"]) for r in nr
                           if (r["property"] == "harness") !=
                           r["detail"].startswith("the harness failed inside the run")]
                check(not badprop, "%s: not_run runs with the wrong property: %s", what,
                      badprop[:2])
                want = 2 if nr else 0
                check(p.returncode == want, "%s: exit %d, expected %d\n%s", what, p.returncode,
                      want, err[-2000:])
                tries["runs"] += len(runs)
                tries["not_run"] += len(nr)
                tries["passed"] += sum(r["verdict"] == "pass" for r in runs)
    check(random_not_run > 0, "the random rule failed no fork in 4 invocations (32 runs)")
    print("# fork failing: %(runs)d runs, %(not_run)d not run, %(passed)d passed" % tries)
    # The actor's fork alone, never the run's own: libfiu fails fork()
    # only while fli_runner_child_run (the run's process's body, where
    # process actors are forked) is on the stack.  Every run is then
    # not run, property harness, naming the first actor; the same runs
    # without the fault pass (reqrep-proc-crash is in the scenario suite).
    rule = "enable_stack_by_name name=posix/proc/fork,func_name=fli_runner_child_run"
    report = os.path.join(d, "actor.json")
    before = shm_entries()
    p = subprocess.Popen([fiu_run, "-x", "-f", "", "-c", rule, FL, "run", scns[0], "--runs", "3",
                          "--seed", "1", "--json", report, "--trace-dir", os.path.join(d, "tr")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    _, err = p.communicate(timeout=CMD_TIMEOUT)
    check_no_shm_leaks(before, p.pid, last_pid_after(p.pid), "actor fork")
    with open(report) as f:
        runs = json.load(f)["runs"]
    want = "the harness failed inside the run: could not fork process actor 'server': "
    got = [(r["verdict"], r["property"], r["detail"]) for r in runs]
    check(len(runs) == 3 and all(v == "not_run" and prop == "harness" and det.startswith(want)
                                 for v, prop, det in got),
          "actor fork failing: %s\n%s", got, err[-2000:])
    check(p.returncode == 2, "actor fork failing: exit %d, expected 2", p.returncode)
    rep, _, _ = run_json(scns[0], ["--runs", "3", "--seed", "1"], "actor-fork-twin", 0)
    check(rep["summary"]["passed"] == 3, "without the fault: %s", verdict_counts(rep))


def case_stray_write():
    """A word only the driver writes, changed during a run (the version in
    cnc.dat's header, as a stray write of the transport would): the driver
    puts it back and counts it, and the run fails with property
    no_corruption, though every operation succeeded."""
    import time
    d = tdir("stray")
    scn = os.path.join(d, "stray.yaml")
    write_text(scn, """name: stray-write
description: a publisher and a subscriber in two processes, waiting 1.5 s between
mode: proc
driver: {client_liveness_ms: 10000, driver_timeout_ms: 10000}
actors:
  - name: publisher
    kind: process
    ops:
      - add_publication: {channel: ipc, stream: 1, as: pub1}
      - wait: {ms: 1500}
      - remove_publication: {pub: pub1}
      - close_client: {}
  - name: subscriber
    kind: process
    ops:
      - add_subscription: {channel: ipc, stream: 1, as: sub1}
      - wait: {ms: 1500}
      - remove_subscription: {sub: sub1}
      - close_client: {}
""")
    report = os.path.join(d, "r.json")
    p = subprocess.Popen([FL, "run", scn, "--runs", "1", "--seed", "1", "--json", report,
                          "--trace-dir", d], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT)
    cnc = os.path.join(SHM, "faultline-run-%d-0" % p.pid, "cnc.dat")
    if not wait_until(lambda: os.path.exists(cnc), 60):
        p.kill()
        p.communicate()
        raise Failure("the run's cnc.dat did not appear within 60 s: %s" % cnc)
    time.sleep(0.1)  # the driver has written its header
    with open(cnc, "r+b") as f:
        f.seek(8)  # struct fl_cnc_header: magic (8 bytes), then version
        f.write((99).to_bytes(4, "little"))
    out, err = p.communicate(timeout=CMD_TIMEOUT)
    with open(report) as f:
        rep = json.load(f)
    r = rep["runs"][0]
    check(p.returncode == 1 and r["verdict"] == "fail" and r["property"] == "no_corruption" and
          re.search(r"corrupt_reads 1, rr_layout_repaired 0, rr_corrupt_rejected 0, "
                    r"rr_strays_reclaimed 0$", r["detail"] or ""),
          "exit %d, run %s %s: %s\n%s", p.returncode, r["verdict"], r["property"], r["detail"],
          err[-2000:])


def case_run_names():
    """JUnit testcase names are unique and say what ran ('SCENARIO seed=S',
    plus ' sweep=POINT#K once|persistent' for a sweep's faulted runs: they
    all share one seed); JSON runs carry mode, run_index, sweep_point,
    sweep_k and sweep_persistent (null when not a sweep run).  (Before:
    95 of 96 testcases of a sweep were called 'seed=7'.)"""
    d = tdir("names")
    report, junit = os.path.join(d, "r.json"), os.path.join(d, "r.xml")
    run(["run", src("scenarios/reqrep-fault-sweep.yaml"), src("scenarios/reqrep-proc-crash.yaml"),
         "--seed", "7", "--runs", "2", "-q", "--jobs", "2", "--trace-dir", os.path.join(d, "tr"),
         "--json", report, "--junit", junit], 0)
    with open(report) as f:
        rep = json.load(f)
    runs = rep["runs"]
    check(len(runs) > 50, "only %d runs: the sweep did not run", len(runs))
    names = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    check(len(names) == len(runs), "%d testcases for %d runs", len(names), len(runs))
    dup = [n for n in names if names.count(n) > 1]
    check(not dup, "%d of %d testcases share their name with another: %s", len(dup), len(names),
          sorted(set(dup))[:5])
    sweeps = 0
    for r in runs:
        for k in ("mode", "run_index", "sweep_point", "sweep_k", "sweep_persistent"):
            check(k in r, "run lacks %r: %s", k, r)
        want_mode = "proc" if r["scenario"] == "reqrep-proc-crash" else "sim"
        check(r["mode"] == want_mode, "mode %r, expected %s: %s", r["mode"], want_mode, r)
        name = "%s seed=%d" % (r["scenario"], r["seed"])
        if r["sweep_point"] is None:
            check(r["sweep_k"] is None and r["sweep_persistent"] is None,
                  "not a sweep run, but sweep fields set: %s", r)
            check(r["run_index"] == r["seed"] - 7 and r["run_index"] < 2, "run_index: %s", r)
        else:
            sweeps += 1
            check(isinstance(r["sweep_k"], int) and r["sweep_k"] >= 1 and
                  isinstance(r["sweep_persistent"], bool), "sweep fields: %s", r)
            check(r["seed"] == 7 and r["run_index"] >= 3, "a sweep run's seed/run_index: %s", r)
            name += " sweep=%s#%d %s" % (r["sweep_point"], r["sweep_k"],
                                         "persistent" if r["sweep_persistent"] else "once")
        check(name in names, "no testcase named %r", name)
    check(sweeps == len(runs) - 4, "%d sweep runs of %d", sweeps, len(runs))
    idx = [(r["scenario"], r["run_index"]) for r in runs]
    check(len(set(idx)) == len(idx), "run_index repeats within a scenario")


def run_key(r):
    """What identifies a run: scenario, mode, seed and the fault a sweep
    run injects (faultline merge and ci/count.py key runs the same way)."""
    return (r["scenario"], r.get("mode"), r["seed"], r.get("sweep_point"), r.get("sweep_k"),
            r.get("sweep_persistent"))


def case_shard_sweep():
    """--shard splits a sweep's faulted runs too (before, every shard ran all
    of them: 2 shards ran the 94 faulted runs twice); --sweep-limit N keeps N
    of them, the same N in every shard; a sharded run without --seed takes
    FL_SEED or is refused (exit 2: random seeds per shard are not one batch)."""
    sweep = "scenarios/reqrep-fault-sweep.yaml"
    # --time 3600: the scenario's 30 s budget would cut a sweep short on
    # a loaded machine (a sanitizer build: 81 of 98 faulted runs seen),
    # and the batches compared here would differ by the machine's speed.
    from collections import Counter
    full, _, _ = run_json(sweep, [src(SMOKE), "--seed", "9", "--time", "3600", "--runs", "3"], "shsw-all")
    key = lambda r: run_key(r) + (r["verdict"], r["trace_hash"], r.get("run_index"))
    for n in (2, 3):
        shards = []
        for i in range(1, n + 1):
            rep, out, err = run_json(sweep, [src(SMOKE), "--seed", "9", "--time", "3600", "--runs", "3",
                                             "--shard", "%d/%d" % (i, n)], "shsw-%d-%d" % (n, i),
                                     expect={0, 2})
            shards.append(rep["runs"])
        total = sum(len(runs) for runs in shards)
        check(total == len(full["runs"]), "%d shards ran %d runs together, the unsharded run %d",
              n, total, len(full["runs"]))
        faulted = [r for r in full["runs"] if r["sweep_point"] is not None]
        check(len(faulted) == len(sweep_promised(full)),
              "the unsharded sweep made %d faulted runs, its counting run promised %d",
              len(faulted), len(sweep_promised(full)))
        for i, runs in enumerate(shards):
            mine = [r for r in runs if r["sweep_point"] is not None]
            check(0 < len(mine) < len(faulted), "shard %d/%d ran %d of the %d faulted runs",
                  i + 1, n, len(mine), len(faulted))
        union = Counter(key(r) for runs in shards for r in runs)
        check(max(union.values()) == 1, "%d shards ran %d runs twice", n,
              sum(v > 1 for v in union.values()))
        check(union == Counter(map(key, full["runs"])),
              "%d shards' runs are not the unsharded run's", n)
    # --sweep-limit: the same 10 faulted runs with and without shards.
    lim, out, err = run_json(sweep, ["--seed", "9", "--time", "3600", "--runs", "1", "--sweep-limit", "10"], "shsw-lim")
    lf = Counter(key(r) for r in lim["runs"] if r["sweep_point"] is not None)
    check(sum(lf.values()) == 10, "--sweep-limit 10 made %d faulted runs", sum(lf.values()))
    check("--sweep-limit: 10 of %d" % len(faulted) in out + err, "no --sweep-limit line:\n%s%s", out, err)
    points = set(k[3] for k in lf)
    check(len(points) > 1, "--sweep-limit kept runs of one point only: %s", points)
    parts = Counter()
    for i in (1, 2):
        rep, _, _ = run_json(sweep, ["--seed", "9", "--time", "3600", "--runs", "1", "--sweep-limit", "10",
                                     "--shard", "%d/2" % i], "shsw-lim-%d" % i, expect={0, 2})
        parts.update(key(r) for r in rep["runs"] if r["sweep_point"] is not None)
    check(parts == lf, "--sweep-limit 10 in 2 shards: %d runs, not the 10", sum(parts.values()))
    # The seed shards share.
    d = tdir("shsw-seed")
    rc, out, err = run(["run", src(SMOKE), "--runs", "4", "--shard", "1/2", "-q",
                        "--trace-dir", os.path.join(d, "tr")], 2, env={"FL_SEED": ""})
    check("--seed" in err and "FL_SEED" in err, "a shard without a seed: %s", err)
    seeds = []
    for i in (1, 2):
        report = os.path.join(d, "s%d.json" % i)
        rc, out, err = run(["run", src(SMOKE), "--runs", "4", "--shard", "%d/2" % i, "-q",
                            "--trace-dir", os.path.join(d, "tr"), "--json", report], 0,
                           env={"FL_SEED": "40"})
        check("seed 40," in out, "FL_SEED=40: the seed is not printed as 40:\n%s", out)
        with open(report) as f:
            seeds += [r["seed"] for r in json.load(f)["runs"]]
    check(sorted(seeds) == [40, 41, 42, 43], "FL_SEED=40 shards ran seeds %s", sorted(seeds))
    rc, out, err = run(["run", src(SMOKE), "--runs", "1", "-q"], 2, env={"FL_SEED": "0x10"})
    check("FL_SEED: expected a decimal integer" in err, "FL_SEED=0x10: %s", err)


NEVER_FIRES = ("name: never-fires\ndescription: d\nmode: sim\nactors:\n  - name: a\n    ops:\n"
               "      - add_publication: {channel: ipc, stream: 1, as: p}\n"
               "      - remove_publication: {pub: p}\n"
               "faults:\n  - point: transport/shm/map\n    action: error\n    when: {nth: 1000}\n"
               "properties: [no_leaked_files]\n")


def fake_run(scenario, seed, verdict="pass", **kw):
    r = {"scenario": scenario, "seed": seed, "mode": "sim", "run_index": seed,
         "sweep_point": None, "sweep_k": None, "sweep_persistent": None, "verdict": verdict,
         "property": None, "trace": None, "trace_hash": "%016x" % seed, "seconds": 0.5,
         "detail": "", "faults_fired": {}, "op_errors_tolerated": 0, "op_errors_fatal": 0}
    r.update(kw)
    return r


def fake_report(path, runs, never=(), interrupted=False, skipped=(), shard=(1, 1)):
    names = {"pass": "passed", "fail": "failed", "crash": "crashed", "hang": "hung",
             "deadlock": "deadlocked", "not_run": "not_run"}
    summary = dict((v, 0) for v in names.values())
    for r in runs:
        summary[names[r["verdict"]]] += 1
    summary["runs"] = len(runs)
    with open(path, "w") as f:
        json.dump({"runs": runs, "rules_never_fired": list(never), "skipped": list(skipped),
                   "batch": {"seed": 1, "plan": "00000000000000aa", "shard": shard[0],
                             "shards": shard[1]},
                   "interrupted": interrupted, "summary": summary}, f)
    return path


def never_entry(scenario, rule, runs):
    return {"scenario": scenario, "rule": rule, "line": 10 + rule, "point": "transport/shm/map",
            "runs": runs}


def case_merge():
    """faultline merge: the shards' reports of one batch give the unsharded
    run's runs, totals, rules_never_fired and exit status (JSON and JUnit);
    a run in two inputs (overlapping shards, a file given twice) is refused,
    exit 2, nothing written; a rule is never fired only if no shard that
    ran its scenario fired it (runs summed); an interrupted, not_run or
    empty input makes the merge exit 2; inputs that do not parse or whose
    summary disagrees with their runs are refused.  ci/count.py counts each
    scenario (and run) once, given shards and their merge together, and
    shows a failed meson test's stdout and stderr."""
    from collections import Counter
    d = tdir("merge")
    nf = os.path.join(d, "never.yaml")
    write_text(nf, NEVER_FIRES)
    scns = [src("scenarios/reqrep-fault-sweep.yaml"), src(SMOKE), src(FAILING), nf]
    # --time 3600: the sweep scenario's 30 s budget would cut it short
    # on a loaded machine, and the shards' batches would not add up to
    # the unsharded one by the machine's speed alone.
    common = ["run"] + scns + ["--seed", "21", "--runs", "4", "-q", "--time", "3600",
                               "--trace-dir", os.path.join(d, "tr")]
    full = os.path.join(d, "full.json")
    run(common + ["--json", full], 1)
    shards = []
    for i in (1, 2, 3):
        shards.append(os.path.join(d, "shard-%d.json" % i))
        run(common + ["--shard", "%d/3" % i, "--json", shards[-1]], {0, 1, 2})
    mj, mx = os.path.join(d, "merged.json"), os.path.join(d, "merged.xml")
    rc, out, err = run(["merge"] + shards + ["--json", mj, "--junit", mx], 1)
    with open(full) as f:
        a = json.load(f)
    with open(mj) as f:
        m = json.load(f)
    key = lambda r: run_key(r) + (r["verdict"], r["property"], r["trace_hash"], r["run_index"])
    check(Counter(map(key, a["runs"])) == Counter(map(key, m["runs"])),
          "merged runs differ from the unsharded run's (%d vs %d)", len(m["runs"]), len(a["runs"]))
    check(m["summary"] == a["summary"], "merged summary %s, unsharded %s", m["summary"], a["summary"])
    check(m["rules_never_fired"] == a["rules_never_fired"] and len(a["rules_never_fired"]) == 1 and
          a["rules_never_fired"][0]["runs"] == 4,
          "rules_never_fired: merged %s, unsharded %s", m["rules_never_fired"], a["rules_never_fired"])
    check(m["interrupted"] is False, "merged interrupted %r", m["interrupted"])
    # Its batch is the unsharded run's: the seed, the plan, 1 of 1, and
    # every scenario with its runs, none cut short.
    check(m["batch"] == a["batch"] and len(a["batch"].get("scenarios", ())) == 4,
          "merged batch %s, unsharded %s", m["batch"], a["batch"])
    names = [c.get("name") for c in ET.parse(mx).getroot().iter("testcase")]
    check(len(names) == len(a["runs"]) == len(set(names)), "merged JUnit: %d testcases, %d unique, "
          "%d runs", len(names), len(set(names)), len(a["runs"]))
    check("%d runs: %d passed" % (a["summary"]["runs"], a["summary"]["passed"]) in out,
          "merge does not print the summary:\n%s", out)
    # ci/count.py: shards and merge together count like the unsharded run.
    cp = subprocess.run([sys.executable, src("ci/count.py")] + shards + [mj, shards[0]],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    c1 = subprocess.run([sys.executable, src("ci/count.py"), full], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    check(cp.stdout == c1.stdout == "3 passed, 1 failed\n" and cp.returncode == 1,
          "count.py: shards + merge: %r, unsharded: %r\n%s", cp.stdout, c1.stdout, cp.stderr)
    # A failed meson test: the end of its stdout and of its stderr (where
    # cmocka and a forked child say why) both shown.
    ml = os.path.join(d, "testlog.json")
    with open(ml, "w") as f:
        f.write(json.dumps({"name": "t", "result": "FAIL", "stdout": "[ RUN ] t\n",
                            "stderr": "child: add_publication: FL_ETIMEDOUT\n"}) + "\n")
    cm = subprocess.run([sys.executable, src("ci/count.py"), ml], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    check(cm.stdout == "0 passed, 1 failed\n" and "  | [ RUN ] t\n" in cm.stderr and
          "  | child: add_publication: FL_ETIMEDOUT\n" in cm.stderr,
          "count.py on a failed meson test: %r\n%s", cm.stdout, cm.stderr)
    # Not one batch: a shard twice, shards of another split or seed, a
    # shard missing (each shard says its batch: seed, shard, shards).
    # Nothing written.
    other = os.path.join(d, "other-1of2.json")
    run(common + ["--shard", "1/2", "--json", other], {0, 1, 2})
    seed2 = os.path.join(d, "seed2-3of3.json")
    run(common[:common.index("--seed") + 1] + ["2"] + common[common.index("--seed") + 2:] +
        ["--shard", "3/3", "--json", seed2], {0, 1, 2})
    # Shard 3 of the same seed and split, but of another plan: two runs a
    # scenario, or one scenario fewer.
    runs2 = os.path.join(d, "runs2-3of3.json")
    run(common[:common.index("--runs") + 1] + ["2"] + common[common.index("--runs") + 2:] +
        ["--shard", "3/3", "--json", runs2], {0, 1, 2})
    fewer = os.path.join(d, "fewer-3of3.json")
    run([x for x in common if x != nf] + ["--shard", "3/3", "--json", fewer], {0, 1, 2})
    for inputs, want in (([shards[0], shards[1], shards[0]], "are both shard 1/3: each shard "
                          "once"),
                         ([shards[0], other], "is shard 1/2 of seed 21, the first input of "
                          "seed 21 in 3 shards: not one batch"),
                         ([shards[0], shards[1], seed2], "is shard 3/3 of seed 2, the first "
                          "input of seed 21 in 3 shards: not one batch"),
                         ([shards[0], shards[2]], "shard 2/3 of seed 21 is missing"),
                         ([shards[0], shards[1], runs2], "runs another plan than"),
                         ([shards[0], shards[1], fewer], "runs another plan than")):
        out_j = os.path.join(d, "refused.json")
        rc, out, err = run(["merge"] + inputs + ["--json", out_j], 2)
        check(want in err, "merge %s: %r not said:\n%s", inputs, want, err)
        check(not os.path.exists(out_j), "merge %s: wrote %s although refused", inputs, out_j)
    # Runs in two inputs (a report edited by hand: its batch says another
    # shard): refused, naming the run.
    with open(shards[0]) as f:
        o = json.load(f)
    o["batch"]["shard"] = 2
    twin = os.path.join(d, "twin.json")
    with open(twin, "w") as f:
        json.dump(o, f)
    rc, out, err = run(["merge", shards[0], twin, shards[2]], 2)
    check("the shards overlap" in err and re.search(r"run \S+ seed=\d+", err),
          "no overlap message naming the run:\n%s", err)
    # rules_never_fired: intersected over the inputs that ran the scenario.
    sa = fake_report(os.path.join(d, "a.json"), [fake_run("s", 1), fake_run("s", 2)],
                     [never_entry("s", 0, 2), never_entry("s", 1, 2)], shard=(1, 3))
    sb = fake_report(os.path.join(d, "b.json"), [fake_run("s", 3), fake_run("s", 4), fake_run("s", 5)],
                     [never_entry("s", 0, 3)], shard=(2, 3))
    # skipped: said once, every shard saying it.
    skip = {"scenario": "u", "why": "a cluster runs in sim or proc mode"}
    sas = fake_report(os.path.join(d, "as.json"), [fake_run("s", 1), fake_run("s", 2)],
                      [never_entry("s", 0, 2), never_entry("s", 1, 2)], skipped=[skip], shard=(1, 3))
    sbs = fake_report(os.path.join(d, "bs.json"), [fake_run("s", 3), fake_run("s", 4), fake_run("s", 5)],
                      [never_entry("s", 0, 3)], skipped=[skip], shard=(2, 3))
    sc = fake_report(os.path.join(d, "c.json"), [fake_run("t", 1)], skipped=[skip], shard=(3, 3))
    sd = fake_report(os.path.join(d, "d.json"), [fake_run("s", 6, "not_run")], shard=(3, 3))
    mj2 = os.path.join(d, "m2.json")
    _, mout, _ = run(["merge", sas, sbs, sc, "--json", mj2], 0)
    with open(mj2) as f:
        m2 = json.load(f)
    check(m2["rules_never_fired"] == [never_entry("s", 0, 5)],
          "rules_never_fired %s, expected only rule 0 with 5 runs", m2["rules_never_fired"])
    check(m2["skipped"] == [skip] and "1 scenario skipped" in mout, "skipped %s:\n%s",
          m2["skipped"], mout)
    # Skipped in one shard only: that shard made none of its runs and split
    # the batch without it (cli_merge_whole makes such shards).
    rc, out, err = run(["merge", sa, sb, sc, "--json", mj2 + ".no"], 2)
    check("u was skipped in %s (a cluster runs in sim or proc mode) but not skipped in %s: the "
          "shards ran on different machines?" % (sc, sa) in err, "a skip in one shard: %s", err)
    check(not os.path.exists(mj2 + ".no"), "a skip in one shard: a merged report written")
    ss = fake_report(os.path.join(d, "cs.json"), [fake_run("t", 1)],
                     skipped=[{"scenario": "s", "why": "w"}], shard=(3, 3))
    rc, out, err = run(["merge", sa, sb, ss], 2)
    check("s was skipped in %s (w) but run in %s" % (ss, sa) in err, "a skip in one shard: %s", err)
    # A report with no skipped key is not a run report of this build.
    with open(sa) as f:
        old = json.load(f)
    del old["skipped"]
    noskip = os.path.join(d, "noskip.json")
    with open(noskip, "w") as f:
        json.dump(old, f)
    _, _, err = run(["merge", noskip, sb], 2)
    check("skipped, interrupted and summary expected" in err, "no skipped key: %s", err)
    check(m2["summary"]["runs"] == 6 and m2["summary"]["passed"] == 6, "summary %s", m2["summary"])
    # Exit 2: a run not run, an interrupted shard, no run at all.
    run(["merge", sa, sb, sd], 2)
    si = fake_report(os.path.join(d, "i.json"), [fake_run("t", 9)], interrupted=True, shard=(3, 3))
    rc, out, err = run(["merge", sa, sb, si, "--json", mj2], 2)
    with open(mj2) as f:
        check(json.load(f)["interrupted"] is True, "an interrupted input: merged not interrupted")
    run(["merge", fake_report(os.path.join(d, "e.json"), [])], 2)
    # Inputs that cannot be merged.
    with open(shards[0]) as f:
        text = f.read()
    cut = os.path.join(d, "cut.json")
    write_text(cut, text[:len(text) // 2])
    rc, out, err = run(["merge", cut, shards[1]], 2)
    check("does not parse" in err, "a cut report: %s", err)
    lie = fake_report(os.path.join(d, "lie.json"), [fake_run("s", 1)])
    with open(lie) as f:
        o = json.load(f)
    o["summary"]["passed"] = 2
    o["summary"]["runs"] = 2
    with open(lie, "w") as f:
        json.dump(o, f)
    rc, out, err = run(["merge", lie], 2)
    check("summary" in err, "a summary that disagrees: %s", err)
    run(["merge"], 2)
    rc, out, err = run(["merge", "--help"], 0)
    check(out.startswith("usage: faultline merge"), "merge --help: %r", out[:80])


def case_merge_whole():
    """faultline merge never reads a batch with runs missing as a smaller
    green one.  A scenario one shard skipped (libfiu's POSIX preload missing
    on its machine) and another did not is refused, exit 2, nothing
    written: the skipping shard made none of its runs and split the batch
    without it (before, the merge said "1 runs: 1 passed, 1 scenario
    skipped" and exit 0, for a batch whose one run of the scenario fails).
    A run of the plan (batch.scenarios) in no report is refused, naming it,
    unless its shard says its time budget stopped it (cut_short), which the
    merge says and keeps.  Shards run with --baseline merge with their
    known failures known: the unsharded run's totals and exit 0 (before,
    FAIL, exit 1, "known": 0); shards of different baselines are not one
    batch."""
    d = tdir("merge-whole")
    env1 = {}
    # posix-open-image fails every run.  --runs 1: reqrep-smoke's run is
    # shard 1's, posix-open-image's shard 2's.
    posix = src("harness/tests/run/scenarios/posix-open-image.yaml")
    common = ["run", src(SMOKE), posix, "--seed", "1", "--runs", "1", "-q",
              "--trace-dir", os.path.join(d, "tr")]
    s1, s2 = os.path.join(d, "s1.json"), os.path.join(d, "s2.json")
    # Shard 1 holds no run of posix-open-image: it only has to find a
    # preload (any readable file; it loads none), so this case needs no
    # fiu-utils and runs under a sanitizer too.
    run(common + ["--shard", "1/2", "--json", s1], 0, env={"FL_FIU_POSIX_PRELOAD": posix})
    _, out, err = run(common + ["--shard", "2/2", "--json", s2], 0,
                      env={"FL_FIU_POSIX_PRELOAD": "/nonexistent/fiu_posix_preload.so"})
    with open(s2) as f:
        check([k["scenario"] for k in json.load(f)["skipped"]] == ["posix-open-image"],
              "shard 2 did not skip posix-open-image:\n%s%s", out, err)
    mj = os.path.join(d, "merged.json")
    rc, out, err = run(["merge", s1, s2, "--json", mj], 2)
    check("posix-open-image was skipped in %s (faults on libc calls need libfiu's POSIX preload"
          % s2 in err and "but not skipped in %s: the shards ran on different machines?" % s1 in err,
          "a scenario skipped in one shard only: %s%s", out, err)
    check(not os.path.exists(mj), "refused, yet %s written", mj)
    # A run of the plan in no report: refused, naming it; the shard's
    # time budget stopping it: said, and the merge holds what was made.
    common = ["run", src(SMOKE), "--seed", "5", "--runs", "4", "-q",
              "--trace-dir", os.path.join(d, "tr")]
    t1, t2 = os.path.join(d, "t1.json"), os.path.join(d, "t2.json")
    run(common + ["--shard", "1/2", "--json", t1], 0)
    run(common + ["--shard", "2/2", "--json", t2], 0)
    with open(t2) as f:
        o = json.load(f)
    check(o["batch"]["scenarios"] == [{"scenario": "reqrep-smoke", "runs": 4, "cut_short": None}],
          "batch.scenarios: %s", o["batch"])
    o["runs"] = [r for r in o["runs"] if r["run_index"] != 3]
    o["summary"]["runs"] -= 1
    o["summary"]["passed"] -= 1
    short = write_text(os.path.join(d, "short.json"), json.dumps(o))
    rc, out, err = run(["merge", t1, short, "--json", mj], 2)
    check("run reqrep-smoke seed=8 (run_index 3) of the batch is missing: the batch's split "
          "gives it to shard 2/2, whose report %s holds 1 of its 2 runs" % short in err,
          "a run missing: %s", err)
    check(not os.path.exists(mj), "refused, yet %s written", mj)
    o["batch"]["scenarios"][0]["cut_short"] = {"made": 1, "share": 2}
    cut = write_text(os.path.join(d, "cut.json"), json.dumps(o))
    rc, out, err = run(["merge", t1, cut, "--json", mj], 0)
    check("reqrep-smoke: the time budget stopped shard 2/2 after 1 of its 2 runs" in out,
          "a shard cut short is not said:\n%s", out)
    with open(mj) as f:
        m = json.load(f)
    check(m["summary"]["runs"] == 3 and
          m["batch"]["scenarios"][0]["cut_short"] == {"made": 3, "share": 4},
          "merged cut short: %s %s", m["summary"], m["batch"])
    # What run writes when its time budget stops it.
    tb = os.path.join(d, "tb.json")
    run(["run", src(SMOKE), "--seed", "5", "--runs", "40", "-q", "--time", "0.001",
         "--trace-dir", os.path.join(d, "tr"), "--shard", "1/2", "--json", tb], 0)
    with open(tb) as f:
        o = json.load(f)
    c = o["batch"]["scenarios"][0]["cut_short"]
    check(c is not None and c["share"] == 20 and c["made"] == len(o["runs"]) < 20,
          "--time 0.001: cut_short %s, %d runs", c, len(o["runs"]))
    # --baseline: the shards' known failures stay known.
    common = ["run", src(FAILING), src(SMOKE), "--seed", "3", "--runs", "2", "-q",
              "--trace-dir", os.path.join(d, "tr")]
    base, full = os.path.join(d, "base.json"), os.path.join(d, "full.json")
    run(common + ["--baseline-write", base], 1)
    run(common + ["--baseline", base, "--json", full], 0)
    shards = []
    for i in (1, 2):
        shards.append(os.path.join(d, "b%d.json" % i))
        run(common + ["--baseline", base, "--shard", "%d/2" % i, "--json", shards[-1]], 0)
    rc, out, err = run(["merge"] + shards + ["--json", mj], 0)
    with open(full) as f:
        a = json.load(f)
    with open(mj) as f:
        m = json.load(f)
    check(m["summary"] == a["summary"] and a["summary"]["known"] == 2,
          "merged summary %s, unsharded %s", m["summary"], a["summary"])
    check(sorted((r["seed"], r["known"]) for r in m["runs"]) ==
          sorted((r["seed"], r["known"]) for r in a["runs"]), "known runs differ")
    check("2 of the failures known (baseline)" in out and "KNOWN" in out,
          "merge does not say the known failures:\n%s", out)
    # A shard judged against no baseline beside one judged against it:
    # whether a failure merges known would depend on the shard it fell
    # in.  The baseline is part of the plan: another plan, refused.
    plain = os.path.join(d, "b1-plain.json")
    run(common + ["--shard", "1/2", "--json", plain], 1)
    rc, out, err = run(["merge", plain, shards[1], "--json", mj], 2)
    check("another plan" in err or "not one batch" in err,
          "shards of two baselines merged:\n%s%s", out, err)


FL_PATH = "build/harness/cli/faultline"  # as ci/examples spell the binary


def example_commands(path):
    """The faultline command lines of a CI file (YAML read as text: no
    PyYAML): lines holding FL_PATH, without their YAML prefix ('- ',
    'run: ')."""
    cmds = []
    with open(path) as f:
        for line in f:
            if FL_PATH + " " not in line or line.lstrip().startswith("#"):
                continue
            text = line.strip()
            for prefix in ("- ", "run: "):
                if text.startswith(prefix):
                    text = text[len(prefix):]
            check(text.startswith(FL_PATH), "%s: a faultline command that is not one line: %r",
                  path, line)
            cmds.append(text)
    return cmds


def case_ci_examples():
    """ci/examples: the GitHub Actions workflow (a matrix of shards, then a
    merge that publishes the JUnit) and the GitLab CI jobs (parallel:)
    run as written, with the CI's variables filled in, against a small
    scenario set: every shard, then the merge; the merged totals, runs,
    rules_never_fired and exit status are an unsharded run's, and the
    merged JUnit is what each file publishes."""
    import shlex
    from collections import Counter
    d = tdir("ci-examples")
    scn = os.path.join(d, "scenarios")
    os.makedirs(scn, exist_ok=True)
    for rel in ("scenarios/reqrep-fault-sweep.yaml", SMOKE, FAILING):
        with open(src(rel)) as f, open(os.path.join(scn, os.path.basename(rel)), "w") as g:
            # Bounded by runs alone: a time budget would cut the sweep
            # short on a loaded machine, and the shards would not add up
            # to the unsharded batch by the machine's speed.
            g.write(re.sub(r"(?m)^budget:.*$", "budget: {runs: 20}", f.read()))
    write_text(os.path.join(scn, "never.yaml"), NEVER_FIRES)
    seed = "4711"
    # The unsharded batch the shards must add up to.
    full = os.path.join(d, "full.json")
    rc_full, _, _ = run(["run", scn, "--seed", seed, "-q", "--trace-dir",
                         os.path.join(d, "tr-full"), "--json", full])
    with open(full) as f:
        want = json.load(f)
    key = lambda r: run_key(r) + (r["verdict"], r["trace_hash"])
    files = {
        "github-actions.yml": lambda text: (
            [int(x) for x in re.search(r"(?m)^\s+shard: \[([\d, ]+)\]$", text).group(1).split(",")],
            lambda i, n: {"${{ matrix.shard }}": str(i), "${{ github.run_id }}": seed},
            r"report_paths: faultline\.xml"),
        "gitlab-ci.yml": lambda text: (
            list(range(1, 1 + int(re.search(r"(?m)^\s+parallel: (\d+)$", text).group(1)))),
            lambda i, n: {"$CI_NODE_INDEX": str(i), "$CI_NODE_TOTAL": str(n),
                          "$CI_PIPELINE_ID": seed},
            r"reports:\s+junit: faultline\.xml"),
    }
    for name, parse in files.items():
        path = src(os.path.join("ci", "examples", name))
        with open(path) as f:
            text = f.read()
        shards, variables, publish = parse(text)
        check(re.search(publish, text), "%s: does not publish the merged JUnit (%s)", name, publish)
        cmds = example_commands(path)
        runs = [c for c in cmds if c.startswith(FL_PATH + " run ")]
        merges = [c for c in cmds if c.startswith(FL_PATH + " merge ")]
        check(len(runs) == 1 and len(merges) == 1, "%s: expected one run and one merge command: %s",
              name, cmds)
        work = os.path.join(d, name.split(".")[0])
        os.makedirs(work, exist_ok=True)

        def argv(cmd, subst):
            for var, val in subst.items():
                cmd = cmd.replace(var, val)
            check("$" not in cmd, "%s: a variable left in %r", name, cmd)
            args = shlex.split(cmd)[1:]
            return [scn if a == "scenarios/" else a for a in args]

        for i in shards:
            args = argv(runs[0], variables(i, len(shards)))
            check(args[args.index("--shard") + 1] == "%d/%d" % (i, len(shards)),
                  "%s: shard %d runs %s", name, i, args)
            run(args, {0, 1, 2}, cwd=work)
        margs = argv(merges[0], {})
        inputs = [a for a in margs[1:] if a.endswith(".json") and
                  margs[margs.index(a) - 1] != "--json"]
        check(inputs == ["shard-%d.json" % i for i in shards],
              "%s: the merge names %s, the shards write %s", name, inputs,
              ["shard-%d.json" % i for i in shards])
        rc, out, err = run(margs, cwd=work)
        check(rc == rc_full, "%s: merge exit %d, the unsharded run %d\n%s%s", name, rc, rc_full,
              out[-1500:], err)
        with open(os.path.join(work, "faultline.json")) as f:
            got = json.load(f)
        check(got["summary"] == want["summary"], "%s: merged totals %s, unsharded %s", name,
              got["summary"], want["summary"])
        check(Counter(map(key, got["runs"])) == Counter(map(key, want["runs"])),
              "%s: the merged runs are not the unsharded run's", name)
        check(got["rules_never_fired"] == want["rules_never_fired"],
              "%s: rules_never_fired %s, unsharded %s", name, got["rules_never_fired"],
              want["rules_never_fired"])
        cases = list(ET.parse(os.path.join(work, "faultline.xml")).getroot().iter("testcase"))
        check(len(cases) == want["summary"]["runs"], "%s: merged JUnit has %d testcases, %d runs",
              name, len(cases), want["summary"]["runs"])
        print("# %s: %d shards, %d runs merged, exit %d as unsharded" % (
            name, len(shards), got["summary"]["runs"], rc))


def run_pty(args, term, stdout="pipe", stderr="pty"):
    """Runs faultline with stdout and stderr each on a pipe, a
    pseudo-terminal of its own, or (stderr="same") stdout's terminal, and
    TERM=term (None: unset).  Returns (rc, stdout bytes, stderr bytes,
    seconds from start to exit); with stderr="same" all is in stdout."""
    import pty
    import threading
    import time
    env = dict(os.environ)
    env.pop("TERM", None)
    if term is not None:
        env["TERM"] = term
    ends = {}  # name -> (master, slave)
    for name, how in (("out", stdout), ("err", stderr)):
        if how == "pty":
            ends[name] = pty.openpty()
    if stderr == "same":
        ends["err"] = ends["out"]
    got = {}

    def drain(fd, key):
        chunks = []
        while True:
            try:
                b = os.read(fd, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not b:
                break
            chunks.append(b)
        got[key] = b"".join(chunks)

    before = shm_entries()
    t0 = time.monotonic()
    p = subprocess.Popen([FL] + args, cwd=ROOT, env=env,
                         stdout=ends["out"][1] if "out" in ends else subprocess.PIPE,
                         stderr=ends["err"][1] if "err" in ends else subprocess.PIPE)
    terminals = {}  # master -> (slave, the name its bytes go under)
    for name in ("err", "out"):
        if name in ends:
            terminals[ends[name][0]] = (ends[name][1], name)
    threads = []
    for master, (slave, name) in terminals.items():
        os.close(slave)
        threads.append(threading.Thread(target=drain, args=(master, name)))
    for name, f in (("out", p.stdout), ("err", p.stderr)):
        if f is not None:
            threads.append(threading.Thread(target=lambda f=f, name=name: got.__setitem__(name, f.read())))
    for t in threads:
        t.start()
    rc = p.wait(timeout=CMD_TIMEOUT)
    took = time.monotonic() - t0
    for t in threads:
        t.join(CMD_TIMEOUT)
    for master in terminals:
        os.close(master)
    leaks = shm_leaks(before, p.pid, p.pid + 100000)
    check(not leaks, "faultline %s left /dev/shm entries: %s", " ".join(args), leaks)
    return rc, got.get("out", b""), got.get("err", b""), took


def case_progress():
    """The progress line: on a terminal (stderr a tty, TERM set and not
    dumb) it is redrawn in place on stderr, at most 10 times a second,
    showing [done/total] and the scenario; no escape code is written
    anywhere else (stderr a pipe, TERM=dumb, stdout); TAP on stdout holds
    nothing but TAP, and TAP on the terminal gets no line drawn beside it.
    (Before: the line went to stdout, redrawn after every run, without the
    scenario or the total.)"""
    d = tdir("progress")
    # --time: no scenario's time budget may cut the plan short (a loaded
    # machine did: 1,273 of 1,294 runs), which the totals below compare.
    args = ["run", src(SMOKE), src("scenarios/reqrep-fault-sweep.yaml"), "--runs", "600",
            "--jobs", "2", "--seed", "3", "--time", "86400", "--trace-dir", os.path.join(d, "tr")]
    rc, out, err, took = run_pty(args, "xterm")
    check(rc == 0, "exit %d:\n%s%s", rc, out[-500:], err[-500:])
    draws = re.findall(rb"\r\x1b\[K\[(\d+)/(\d+)\] ([\w-]+): (\d+) passed, (\d+) not passed", err)
    check(draws, "no progress line drawn on the terminal (stderr):\n%r\nstdout:\n%r", err[-500:],
          out[-500:])
    redraws = err.count(b"\r\x1b[K[")
    check(redraws <= 10 * took + 2, "%d redraws in %.2f s: more than 10 a second", redraws, took)
    summary = re.search(rb"(\d+) runs: (\d+) passed", out)
    check(summary, "no summary on stdout:\n%r", out[-500:])
    runs = int(summary.group(1))
    last = 0
    for done, total, name, _, _ in draws:
        check(int(done) >= last and int(done) <= int(total) <= runs,
              "progress [%s/%s] after %d, %d runs in all", done, total, last, runs)
        check(name in (b"reqrep-smoke", b"reqrep-fault-sweep"), "progress names %r", name)
        check(int(total) >= 1200, "progress total %s: the plan lacks runs", total)
        last = int(done)
    check(b"\x1b" not in out, "escape codes on stdout (a pipe):\n%r", out[:300])
    print("# %d runs in %.2f s, %d redraws" % (runs, took, redraws))
    # No terminal that takes them, no escape codes: TERM dumb or unset,
    # stderr a pipe (stdout a terminal, or a pipe too).
    small = args[:3] + ["--runs", "50", "--seed", "3", "--trace-dir", os.path.join(d, "tr")]
    for term, where in (("dumb", {}), (None, {}), ("xterm", {"stdout": "pty", "stderr": "pipe"}),
                        ("xterm", {"stderr": "pipe"})):
        rc, out, err, _ = run_pty(small, term, **where)
        check(rc == 0 and b"runs: " in out, "TERM=%s %s: exit %d:\n%r", term, where, rc, out[-300:])
        check(b"\x1b" not in out + err, "TERM=%s %s: escape codes written:\n%r", term, where,
              (out + err)[:300])
    # --tap: stdout (a pipe) is TAP alone; the line is drawn on stderr.
    tap = ["run", src(SMOKE), "--runs", "300", "--seed", "3", "--tap", "--trace-dir",
           os.path.join(d, "tr")]
    rc, out, err, _ = run_pty(tap, "xterm")
    check(rc == 0, "--tap: exit %d", rc)
    for line in out.decode().splitlines():
        check(re.match(r"^(TAP version 13|(not )?ok \d+ - .*|1\.\.\d+|  .*)$", line),
              "--tap: a line on stdout that is not TAP: %r", line)
    check(b"\r\x1b[K[" in err, "--tap: no progress line on the terminal's stderr")
    # TAP on the terminal: no line drawn beside it.
    rc, out, err, _ = run_pty(tap, "xterm", stdout="pty", stderr="same")
    check(rc == 0 and b"ok 300 - " in out, "--tap on a terminal: exit %d:\n%r", rc, out[-300:])
    check(b"\x1b" not in out and b"not passed" not in out,
          "--tap on a terminal: a progress line drawn beside TAP:\n%r", out[-300:])


def build_dir():
    """The meson build directory FL was built in."""
    d = os.path.dirname(FL)
    while d != "/" and not os.path.isdir(os.path.join(d, "meson-info")):
        d = os.path.dirname(d)
    return d


def case_help():
    """Every program of the build takes --help: exit 0, the usage on stdout,
    nothing on stderr, nothing run (the programs come from meson's target
    list, so a new one is checked too; left out: the cmocka tests, *_test,
    and the fixtures, which take no arguments).  faultline's commands too,
    and faultline --version prints the meson project version.  (Before:
    faultline-stat, the bench programs and the planted property programs
    exited 2, the demo and pubsub_prop_b1 ran, the property programs wrote
    the usage to stderr, and --version was an unknown command.)"""
    bd = build_dir()
    with open(os.path.join(bd, "meson-info", "intro-targets.json")) as f:
        targets = json.load(f)
    with open(os.path.join(bd, "meson-info", "intro-projectinfo.json")) as f:
        version = json.load(f)["version"]
    programs = sorted(t["filename"][0] for t in targets if t["type"] == "executable" and
                      not t["name"].endswith("_test") and
                      os.path.basename(os.path.dirname(t["defined_in"])) != "fixtures")
    check(len(programs) >= 10, "only %d programs found in %s: %s", len(programs), bd, programs)
    bad = []
    for prog in programs:
        before = shm_entries()
        p = subprocess.Popen([prog, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
        out, err = p.communicate(timeout=CMD_TIMEOUT)
        leaks = shm_leaks(before, p.pid, p.pid)  # --help runs nothing
        if p.returncode != 0 or not out.startswith("usage: ") or err or leaks:
            bad.append("%s --help: exit %d, stdout %r, stderr %r%s" % (
                os.path.relpath(prog, bd), p.returncode, out[:60], err[:60],
                ", left %s" % leaks if leaks else ""))
    for cmd in ("run", "replay", "shrink", "list", "merge"):
        rc, out, err = run([cmd, "--help"])
        if rc != 0 or not out.startswith("usage: faultline " + cmd) or err:
            bad.append("faultline %s --help: exit %d, stdout %r, stderr %r" % (cmd, rc, out[:60], err[:60]))
    check(not bad, "%d of %d programs and commands fail --help:\n%s", len(bad), len(programs) + 5,
          "\n".join(bad))
    rc, out, err = run(["--version"], 0)
    check(out == "faultline %s\n" % version, "--version: %r, expected 'faultline %s'", out, version)
    rc, out, err = run([], 2)
    check(err.startswith("usage: faultline"), "no command: %r", err[:80])
    print("# %d programs and 5 commands take --help" % len(programs))


def source_names(pattern, dirs):
    """Every name the regex `pattern` (one group) finds in the .c and .h
    files under dirs (relative to the source root)."""
    names = set()
    for top in dirs:
        for dirpath, _, files in os.walk(src(top)):
            for fn in files:
                if fn.endswith((".c", ".h")):
                    with open(os.path.join(dirpath, fn), errors="replace") as f:
                        names.update(re.findall(pattern, f.read()))
    return names


def case_list_points():
    """faultline list --points prints every fault point and every
    scheduling point of the code a run executes (transport/src, harness/src,
    fixtures), one line of meaning each, and nothing else: the lists
    (fault_points.def, the two sched_points.def) match the sources."""
    rc, out, err = run(["list", "--points"], 0)
    sections, cur = {}, None
    for line in out.splitlines():
        if not line.startswith("  "):
            cur = line.split(" ")[0]
            sections[cur] = {}
            continue
        m = re.match(r"^  (.+?)\s{2,}(\S.*)$", line)
        check(m and cur, "list --points: a line that is not 'name meaning': %r", line)
        check(len(m.group(2)) > 10, "list --points: %s has no meaning: %r", m.group(1), line)
        sections[cur][m.group(1)] = m.group(2)
    check(set(sections) == {"fault", "scheduling"}, "list --points sections: %s", list(sections))
    faults = set(sections["fault"]) - {"posix/..., libc/..."}
    code = ["transport/src", "harness/src", "fixtures"]
    used = source_names(r'FL_FAULT\("([^"]+)"\)', code)
    check(used and used <= faults, "fault points used but not listed: %s", sorted(used - faults))
    with open(src("transport/src/fault_points.def")) as f:
        listed = set(re.findall(r'^FL_POINT\("([^"]+)"', f.read(), re.M))
    # The harness's own points (faults.c's harness_points), raised with
    # fl_faults_raise: each raised somewhere in harness/src.
    with open(src("harness/include/faultline/faults.h")) as f:
        own = dict(re.findall(r'^#define (FL_POINT_\w+) "([^"]+)"', f.read(), re.M))
    raised = source_names(r'fl_faults_raise\((FL_POINT_\w+)\)', ["harness/src"])
    check(own and set(own) == raised, "harness points %s, raised %s", sorted(own), sorted(raised))
    listed |= set(own.values())
    check(listed == faults, "list --points and fault_points.def differ: %s",
          sorted(listed ^ faults))
    sched = set(sections["scheduling"])
    used = source_names(r'FL_SCHED_POINT\("([^"]+)"\)', code)
    used |= source_names(r'fl_atomic_[a-z_]+\("([^"]+)"', code)
    check(len(used) > 20, "only %d scheduling points found in the sources", len(used))
    check(used == sched, "scheduling points in the sources but not listed: %s; listed but not "
          "in the sources: %s", sorted(used - sched), sorted(sched - used))
    print("# %d fault points, %d scheduling points" % (len(faults), len(sched)))


def use_after_free_case(scn, what, runs):
    """The harness finds a use-after-free window of faultline's own
    transport from a seed (sim, PCT): every run of `scn` must pass.  When
    one does not, its trace must replay to the same verdict, which must
    name the freed object (`what`, from the guarded heap); then the case
    fails with the verdict, as the window is open."""
    rep, out, err = run_json(scn, ["--seed", "1", "--runs", str(runs)], "uaf-" + what,
                             expect=None)
    bad = [r for r in rep["runs"] if r["verdict"] != "pass"]
    if not bad:
        return
    r = bad[0]
    check(r["verdict"] == "crash" and "a use after free" in r["detail"] and what in r["detail"],
          "run %s: %s %s: %s (expected a crash naming a freed %s)", r["seed"], r["verdict"],
          r["property"], r["detail"], what)
    rc, rout, rerr = run(["replay", r["trace"]], 0)
    check("same verdict" in rout and "use after free" in rout,
          "replay of %s does not reproduce the verdict:\n%s%s", r["trace"], rout, rerr)
    raise Failure("%d of %d runs found the window, first seed %s: %s" %
                  (len(bad), runs, r["seed"], r["detail"]))


def case_uaf_aio():
    """The aio worker must not write into an aio after setting it idle:
    its owner may free it at once (use after free, B5's class)."""
    use_after_free_case("harness/tests/run/scenarios/aio-free-after-idle.yaml", "fl_aio", 40)


def case_release_after_close():
    """A release_image after close_client is the scenario's own mistake, an
    op error (FL_ESTATE), in every run: the close freed the image, and the
    slot must not hand freed memory to the transport (the guarded heap made
    that a crash blamed on the transport)."""
    rep, _, _ = run_json("harness/tests/run/scenarios/release-after-close.yaml",
                         ["--seed", "1", "--runs", "10"], "release-after-close", expect=1)
    for r in rep["runs"]:
        check(r["verdict"] == "fail" and r["property"] == "operations" and
              "release_image (line 25): no image: FL_ESTATE" in r["detail"],
              "run %s: %s %s: %s", r["seed"], r["verdict"], r["property"], r["detail"])


def case_uaf_image():
    """fl_image_release must not read img->c after the CAS that dropped
    the last reference: the conductor may free the image a linger later
    (found under PCT, where a demoted actor stays preempted while the
    conductor's timer fires)."""
    use_after_free_case("harness/tests/run/scenarios/image-free-after-release.yaml",
                        "fl_image", 600)


OTHER_UID = 65534  # nobody


def case_squatted_run_dirs():
    """Run directory names are guessable (faultline-run-<pid>-<n>): names
    planted before the runs, by another user (nobody) when root (a symbolic
    link to a directory of canary files, a directory of canary files), are
    skipped, never adopted, used or emptied, and the runs pass under other
    names."""
    d = tdir("squat")
    victim = os.path.join(d, "victim")
    os.makedirs(victim, exist_ok=True)
    canaries = ["canary", "cnc.dat", "pub-1.log", "chunks.dat", "ports.dat"]
    for n in canaries:
        write_text(os.path.join(victim, n), "canary\n")
    root = os.geteuid() == 0
    for scn in ["scenarios/pubsub-smoke.yaml", SMOKE]:
        def plant():
            # In the child before exec: its pid is faultline's.
            pid = os.getpid()
            link = os.path.join(SHM, "faultline-run-%d-0" % pid)
            other = os.path.join(SHM, "faultline-run-%d-1" % pid)
            k = os.fork()
            if k == 0:
                try:
                    if root:
                        os.setgroups([])
                        os.setgid(OTHER_UID)
                        os.setuid(OTHER_UID)
                    os.symlink(victim, link)
                    os.mkdir(other, 0o700)
                    for n in canaries:
                        write_text(os.path.join(other, n), "canary\n")
                finally:
                    os._exit(0)
            os.waitpid(k, 0)

        before = shm_entries()
        p = subprocess.Popen([FL, "run", src(scn), "--seed", "1", "--runs", "3", "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             preexec_fn=plant)
        out, err = p.communicate(timeout=CMD_TIMEOUT)
        link = os.path.join(SHM, "faultline-run-%d-0" % p.pid)
        other = os.path.join(SHM, "faultline-run-%d-1" % p.pid)
        planted = [os.path.basename(link), os.path.basename(other)]
        try:
            for n in canaries:
                check(os.path.exists(os.path.join(victim, n)),
                      "%s: %s/%s, behind the link %s, was deleted\n%s%s", scn, victim, n, link, out, err)
                check(os.path.exists(os.path.join(other, n)),
                      "%s: %s/%s (another user's) was deleted\n%s%s", scn, other, n, out, err)
            check(os.path.islink(link), "%s: the link %s was removed", scn, link)
            if root:
                check(os.stat(other).st_uid == OTHER_UID, "%s: %s changed owner", scn, other)
            check(p.returncode == 0, "%s: exit %d, expected 0 (the runs under other names)\n%s%s",
                  scn, p.returncode, out, err)
            check("exists already" in err, "%s: no word of the names skipped:\n%s", scn, err)
            leaks = [e for e in shm_leaks(before, p.pid, p.pid) if e not in planted]
            check(not leaks, "%s left /dev/shm entries: %s", scn, leaks)
        finally:
            if os.path.islink(link):
                os.unlink(link)
            if os.path.isdir(other):
                for n in os.listdir(other):
                    os.unlink(os.path.join(other, n))
                os.rmdir(other)


def case_show():
    """run --html-dir writes a page for each of the first --html-max failing
    runs, named as the trace, and keeping the timeline changes no run;
    show TRACE prints the timeline, --html writes the page; bad uses
    exit 2, and a replay that does not fail as recorded exits 1."""
    d = tdir("show")
    pages = os.path.join(d, "pages")
    rep, _, _ = run_json(FAILING, ["--seed", "1", "--runs", "3", "--html-dir", pages,
                                   "--html-max", "2"], "show", expect=1)
    plain, _, _ = run_json(FAILING, ["--seed", "1", "--runs", "3"], "show-plain", expect=1)
    check([r["trace_hash"] for r in rep["runs"]] == [r["trace_hash"] for r in plain["runs"]],
          "keeping the timeline changed the runs: %s", [(r["trace_hash"], q["trace_hash"])
                                                        for r, q in zip(rep["runs"], plain["runs"])])
    with_page = [r for r in rep["runs"] if r.get("html")]
    check(len(with_page) == 2 and sorted(os.listdir(pages)) ==
          sorted(os.path.basename(r["html"]) for r in with_page),
          "--html-max 2: pages %s for runs %s", os.listdir(pages), with_page)
    for r in with_page:
        check(os.path.basename(r["html"])[:-5] == os.path.basename(r["trace"])[:-6],
              "the page %s is not named as its trace %s", r["html"], r["trace"])
        text = open(r["html"]).read()
        check('data-property="operations"' in text and "Content-Security-Policy" in text and
              "default-src 'none'" in text, "%s: no headline or no policy", r["html"])
        # The SVG namespace is a name, not a request; nothing else points out.
        outside = [u for u in re.findall(r"(?:https?:)?//[\w.-]+[^\s\"']*", text)
                   if "www.w3.org/2000/svg" not in u]
        check(not outside, "%s points outside the file: %s", r["html"], outside)
    trace = rep["runs"][0]["trace"]
    rc, out, err = run(["show", trace], 0)
    check("waiter: offer_service (line" in out and "once: barrier (line" in out and
          "-> operations" in out, "show's lines lack the ops or the violation:\n%s%s", out, err)
    page = os.path.join(d, "shown.html")
    rc, out, err = run(["show", trace, "--html", page], 0)
    check(os.path.exists(page) and 'data-property="operations"' in open(page).read(),
          "show --html wrote no page: %s%s", out, err)
    # A replay that does not fail as recorded: exit 1, the page says so.
    with open(trace) as f:
        forged = os.path.join(d, "forged.trace")
        write_text(forged, re.sub(r"(?m)^property operations$", "property ports_zero", f.read()))
    rc, out, err = run(["show", forged, "--html", page], 1)
    check("as recorded" in err and "as recorded" in open(page).read(),
          "a replay that differs is not said: %s", err)
    # A process actor that dies of a signal it did not plan cannot say so
    # itself: the run's process marks its op crashed and its lane.
    crash_pages = os.path.join(d, "crash-pages")
    rep, _, _ = run_json("fixtures/scenarios/crash-unchecked-loan.yaml",
                         ["--seed", "1", "--runs", "1", "--html-dir", crash_pages], "show-crash",
                         expect=1)
    page_text = open(rep["runs"][0]["html"]).read() if rep["runs"][0].get("html") else ""
    # A sanitizer build reports the fixture's null pointer before the
    # crash: that run must fail sanitizer (it has no crash to draw).
    if SANITIZE != "none":
        check(rep["runs"][0]["verdict"] == "fail" and rep["runs"][0]["property"] == "sanitizer",
              "a proc actor's null pointer is not a sanitizer failure: %s", rep["runs"][0])
    else:
        check(rep["runs"][0]["verdict"] == "crash" and 'class="crash"' in page_text and
              'class="op crash"' in page_text and "client@SIGSEGV" in page_text,
              "a proc actor's crash is not on its page: %s", rep["runs"][0])
        # Its detail names where it died and in which op (its own crash
        # handler wrote the site): a baseline's signature of it is then
        # that crash's, not every SIGSEGV of the actor.
        check(re.match(r"actor client died of SIGSEGV at \S+\+0x[0-9a-f]+.* in "
                       r"connect_service \(line 25\)$", rep["runs"][0]["detail"]),
              "a proc actor's crash does not say where: %s", rep["runs"][0]["detail"])
    run(["show"], 2)
    run(["show", os.path.join(d, "missing.trace")], 2)
    run(["show", trace, "--html", os.path.join(d, "no", "such", "dir.html")], 2)
    run(["run", src(FAILING), "--html-dir", pages, "--html-max", "0"], 2)
    run(["check-history", src("harness/tests/history/bad/no_operations.edn"), trace, "--html",
         page], 2)


CASES = {
    "kv_nothing_judged": case_kv_nothing_judged,
    "kv_values_unique": case_kv_values_unique,
    "determinism": case_determinism,
    "replay": case_replay,
    "show": case_show,
    "shrink": case_shrink,
    "bad_scenario": case_bad_scenario,
    "bad_args": case_bad_args,
    "json": case_json,
    "junit": case_junit,
    "shard": case_shard,
    "jobs": case_jobs,
    "shm_clean": case_shm_clean,
    "sweep": case_sweep,
    "list": case_list,
    "tap": case_tap,
    "time_budget": case_time_budget,
    "killed_runs": case_killed_runs,
    "check_each_step": case_check_each_step,
    "pct_estimate": case_pct_estimate,
    "worker": case_worker,
    "valgrind": case_valgrind,
    "posix_preload": case_posix_preload,
    "op_errors": case_op_errors,
    "barrier_deadlock": case_barrier_deadlock,
    "long_virtual_deadline": case_long_virtual_deadline,
    "default_properties": case_default_properties,
    "take_image_proc": case_take_image_proc,
    "points_reachable": case_points_reachable,
    "client_proc_unjudged": case_client_proc_unjudged,
    "client_gone": case_client_gone,
    "targets": case_targets,
    "baseline": case_baseline,
    "bad_numbers": case_bad_numbers,
    "bad_keys": case_bad_keys,
    "bad_trace": case_bad_trace,
    "jobs_fd_limit": case_jobs_fd_limit,
    "zero_runs": case_zero_runs,
    "json_stdout": case_json_stdout,
    "unwritable_outputs": case_unwritable_outputs,
    "numeric_args": case_numeric_args,
    "duplicate_names": case_duplicate_names,
    "replay_changed": case_replay_changed,
    "replay_timeout": case_replay_timeout,
    "node_crash_sim": case_node_crash_sim,
    "interrupts": case_interrupts,
    "fork_fails": case_fork_fails,
    "stray_write": case_stray_write,
    "replay_interrupted": case_replay_interrupted,
    "run_names": case_run_names,
    "shard_sweep": case_shard_sweep,
    "merge": case_merge,
    "merge_whole": case_merge_whole,
    "ci_examples": case_ci_examples,
    "progress": case_progress,
    "help": case_help,
    "list_points": case_list_points,
    "squatted_run_dirs": case_squatted_run_dirs,
    "uaf_aio": case_uaf_aio,
    "uaf_image": case_uaf_image,
    "release_after_close": case_release_after_close,
    "sanitizer_overflow": case_sanitizer_overflow,
    "sanitizer_ub": case_sanitizer_ub,
    "harness_failure": case_harness_failure,
    "sanitizer_race": case_sanitizer_race,
}

KNOWN_BUGS = {
    "known_late_response": case_known_late_response,
    "known_sweep_trace_names": case_known_sweep_trace_names,
    "known_option_message": case_known_option_message,
}


def main():
    global FL, ROOT, TMP
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    FL, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    names = sys.argv[3:] or list(CASES)
    failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="faultline-cli-test-") as tmp:
        TMP = tmp
        for name in names:
            fn = CASES.get(name) or KNOWN_BUGS.get(name)
            if fn is None:
                print("unknown case %r (cases: %s)" % (name, ", ".join(list(CASES) + list(KNOWN_BUGS))),
                      file=sys.stderr)
                return 2
            try:
                fn()
                print("ok - %s" % name)
            except Skip as e:
                skipped += 1
                print("ok - %s # SKIP %s" % (name, e))
            except Failure as e:
                failed += 1
                print("not ok - %s\n%s" % (name, e))
    if failed:
        return 1
    return 77 if skipped == len(names) else 0


if __name__ == "__main__":
    sys.exit(main())
