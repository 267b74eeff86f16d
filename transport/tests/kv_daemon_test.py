#!/usr/bin/env python3
"""faultline-kv as a user runs it, against a driver daemon and three
faultline-node processes: put, get, append and cas answer what the map
holds (a get of nothing and a cas of another value exit 1); `watch`
stays connected through the leader's stop (it prints the new leader)
and leaves on SIGTERM, closing its client on its own thread, exit 0,
with no session left on the nodes; no driver, no nodes and bad
arguments each exit with their status and reason.  Every wait has a
deadline (60 s: a loaded 2-core machine).
argv: DRIVER NODE KV"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from proc_util import wait_for

driver, node, kv = sys.argv[1], sys.argv[2], sys.argv[3]
ns = "t-kv-%d" % os.getpid()
run_dir = "/dev/shm/faultline-" + ns
files = tempfile.mkdtemp(prefix="faultline-kv-test-")
procs, status = {}, {}


def reader(i, p):
    for line in p.stdout:
        status[i] = json.loads(line)


def start(i):
    # Its stderr to a file, shown if the test fails (nodes(), below).
    err = open("%s/node-%d.err" % (files, i), "w")
    p = subprocess.Popen([node, "-n", ns, "--id", str(i), "--dir", "%s/node-%d" % (files, i),
                          "--election-ms", "100", "--heartbeat-ms", "20", "--status-ms", "20"],
                         stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    procs[i] = p
    threading.Thread(target=reader, args=(i, p), daemon=True).start()


def nodes():
    """Each node's exit status (None: running) and the end of its stderr,
    for a failure's message."""
    out = []
    for i, p in sorted(procs.items()):
        try:
            with open("%s/node-%d.err" % (files, i)) as f:
                err = f.read()[-800:]
        except OSError:
            err = "(no stderr file)"
        out.append("node %d: exit %s, stderr: %r" % (i, p.poll(), err))
    return "\n".join(out)


def leader_of(ids):
    ss = [status.get(i) for i in ids]
    if any(s is None for s in ss):
        return None
    l, t = ss[0]["leader"], ss[0]["term"]
    if l not in ids or any(s["leader"] != l or s["term"] != t for s in ss):
        return None
    return l if status[l]["role"] == "leader" else None


def kvc(*args, ns_=None):
    r = subprocess.run([kv, "-n", ns_ or ns, "--timeout-ms", "20000"] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


drv = subprocess.Popen([driver, "-n", ns, "--no-reqrep"], stderr=subprocess.DEVNULL)
watcher = None
try:
    assert wait_for(lambda: os.path.exists(run_dir + "/cnc.dat"), 60), "no cnc.dat"
    for i in range(3):
        start(i)
    assert wait_for(lambda: leader_of([0, 1, 2]) is not None, 60), "no leader: %s\n%s" % (
        status, nodes())
    assert kvc("put", "k", "v1")[0] == 0
    assert kvc("get", "k")[:2] == (0, "v1\n")
    assert kvc("append", "k", "+2")[0] == 0
    assert kvc("get", "k")[:2] == (0, "v1+2\n")
    rc, _, err = kvc("cas", "k", "nope", "x")
    assert rc == 1 and "another value" in err, (rc, err)
    assert kvc("cas", "k", "v1+2", "v3")[0] == 0
    assert kvc("--member", "round-robin", "get", "k")[:2] == (0, "v3\n")
    rc, _, err = kvc("get", "missing")
    assert rc == 1 and "no value" in err, (rc, err)

    # watch: connected through a failover, then SIGTERM: the flag, the
    # loop leaves, the owner closes.
    out = []
    watcher = subprocess.Popen([kv, "-n", ns, "--timeout-ms", "20000", "watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threading.Thread(target=lambda: out.extend(watcher.stdout), daemon=True).start()
    assert wait_for(lambda: any(l.startswith("connected") for l in out), 60), out
    old = leader_of([0, 1, 2])
    term = status[old]["term"]
    procs[old].send_signal(signal.SIGTERM)
    assert procs[old].wait(timeout=60) == 0
    status.pop(old)
    rest = [i for i in range(3) if i != old]
    assert wait_for(lambda: leader_of(rest) is not None and status[rest[0]]["term"] > term, 60)
    assert wait_for(lambda: any(l.startswith("new leader %d" % leader_of(rest)) for l in out),
                    60), out
    assert wait_for(lambda: all(status[i]["sessions"] == 1 for i in rest), 60), status
    watcher.send_signal(signal.SIGTERM)
    assert watcher.wait(timeout=60) == 0, (watcher.returncode, watcher.stderr.read())
    # Its CLOSE ended the session on every node still up.
    assert wait_for(lambda: all(status[i]["sessions"] == 0 for i in rest), 60), status
    start(old)
    assert kvc("get", "k")[:2] == (0, "v3\n")

    # No nodes: the connect times out (exit 3), saying what to check.
    r = subprocess.run([kv, "-n", ns, "--members", "5", "--member", "4", "--timeout-ms", "300",
                        "get", "k"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and "faultline-node" in r.stderr, (r.returncode, r.stderr)
    rc, _, err = kvc("get", "k", ns_=ns + "-none")
    assert rc == 4 and "is faultline-driver running?" in err, (rc, err)
    bad = [(["get", "k"], "-n NAMESPACE is required"),
           (["-n", ns, "get"], "expected one command"),
           (["-n", ns, "put", "k"], "expected one command"),
           (["-n", ns, "frob", "k"], "expected one command"),
           (["-n", ns, "--member", "3", "get", "k"], "--member must be below --members"),
           (["-n", ns, "--timeout-ms", "0", "get", "k"], "out-of-range option --timeout-ms"),
           (["-n", ns, "--bogus", "1", "get", "k"], "unknown")]
    for args, want in bad:
        r = subprocess.run([kv] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and want in r.stderr, (args, r.returncode, r.stderr)
    r = subprocess.run([kv, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "usage: faultline-kv" in r.stdout
    for i in list(procs):
        procs[i].send_signal(signal.SIGTERM)
        assert procs[i].wait(timeout=60) == 0
    drv.send_signal(signal.SIGTERM)
    assert drv.wait(timeout=60) == 0
    assert not os.path.exists(run_dir), "run directory left behind"
finally:
    for p in list(procs.values()) + [drv] + ([watcher] if watcher else []):
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(files, ignore_errors=True)
    if os.path.exists(run_dir):
        subprocess.run(["rm", "-rf", run_dir])
print("ok")
