#!/usr/bin/env python3
"""faultline-node as a user runs it: a driver daemon and three node
processes elect one leader; the leader, stopped with SIGTERM, exits 0
and the other two elect another of a later term; started again on its
files it follows; faultline-stat shows every node (its status page) as
the node's own status line does, and the pages go with the nodes; bad
arguments exit 2 with the reason.  Every wait has a deadline (60 s: a
loaded 2-core machine; the idle run takes about a second).
argv: DRIVER NODE STAT"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from proc_util import wait_for

driver, node, stat = sys.argv[1], sys.argv[2], sys.argv[3]
ns = "t-nodes-%d" % os.getpid()
run_dir = "/dev/shm/faultline-" + ns
files = tempfile.mkdtemp(prefix="faultline-node-test-")
procs, status = {}, {}


def reader(i, p):
    for line in p.stdout:
        status[i] = json.loads(line)


def start(i):
    p = subprocess.Popen([node, "-n", ns, "--id", str(i), "--dir", "%s/node-%d" % (files, i),
                          "--election-ms", "100", "--heartbeat-ms", "20", "--status-ms", "20",
                          "--session-timeout-ms", "5000"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs[i] = p
    threading.Thread(target=reader, args=(i, p), daemon=True).start()


def agreed(ids):
    """The leader every node of ids reports, at one term, or None."""
    ss = [status.get(i) for i in ids]
    if any(s is None for s in ss):
        return None
    l, t = ss[0]["leader"], ss[0]["term"]
    if l not in ids or any(s["leader"] != l or s["term"] != t for s in ss):
        return None
    return l if status[l]["role"] == "leader" else None


def stop(i):
    procs[i].send_signal(signal.SIGTERM)
    assert procs[i].wait(timeout=60) == 0, "node %d exit %s" % (i, procs[i].returncode)


drv = subprocess.Popen([driver, "-n", ns, "--no-reqrep"], stderr=subprocess.DEVNULL)
try:
    assert wait_for(lambda: os.path.exists(run_dir + "/cnc.dat"), 60), "no cnc.dat"
    for i in range(3):
        start(i)
    assert wait_for(lambda: agreed([0, 1, 2]) is not None, 60), "no leader: %s" % status
    leader = agreed([0, 1, 2])
    term = status[leader]["term"]
    stop(leader)
    rest = [i for i in range(3) if i != leader]
    status.pop(leader)
    assert wait_for(lambda: agreed(rest) is not None and status[rest[0]]["term"] > term, 60), \
        "no new leader after %d stopped: %s" % (leader, status)
    new = agreed(rest)
    start(leader)  # from its files: it follows the new leader
    assert wait_for(lambda: agreed([0, 1, 2]) == new, 60), "restarted node: %s" % status

    def caught_up():
        # Its own term's no-op (from its files) and the new leader's,
        # applied as the leader committed them.  Agreeing on the leader
        # comes first (a heartbeat); catching up after (the appends).
        s, ls = status[leader], status[new]
        return s["log_length"] >= 2 and s["applied"] == ls["commit"] >= 2

    assert wait_for(caught_up, 60), "restarted node did not catch up: %s" % status

    def stat_agrees():
        # faultline-stat's per-node view (each node's status page in the
        # run directory) says what the nodes' own status lines say.
        r = subprocess.run([stat, "--json", ns], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        nodes = json.loads(r.stdout)["nodes"]
        if [n["id"] for n in nodes] != [0, 1, 2]:
            return False
        by = {n["id"]: n for n in nodes}
        return (all(by[i]["pid"] == procs[i].pid for i in range(3)) and
                [n["role"] for n in nodes].count("leader") == 1 and
                by[new]["role"] == "leader" and
                all(by[i]["term"] == status[new]["term"] and by[i]["leader"] == new and
                    by[i]["commit"] == status[new]["commit"] for i in range(3)))

    assert wait_for(stat_agrees, 60), "faultline-stat's nodes disagree: %s" % status
    text = subprocess.run([stat, ns], capture_output=True, text=True, timeout=60).stdout
    assert text.count("\nnode ") == 3 and "role leader" in text, text
    assert all(s["garbled"] == 0 and s["refused"] == 0 for s in status.values()), status
    assert all(s["sessions"] == 0 and s["ingress_garbled"] == 0 for s in status.values()), status
    for i in range(3):
        stop(i)
    assert not [f for f in os.listdir(run_dir) if f.endswith(".stat")], os.listdir(run_dir)
    bad = [(["--id", "0", "--dir", files + "/x"], "-n, --id and --dir are required"),
           (["-n", ns, "--id", "3", "--dir", files + "/x"], "members is 1, 3 or 5"),
           (["-n", ns, "--id", "x", "--dir", files + "/x"], "--id x: expected a number"),
           (["-n", ns, "--id", "0", "--dir", files + "/x", "--bogus"], "unknown or incomplete")]
    for args, want in bad:
        r = subprocess.run([node] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and want in r.stderr, (args, r.returncode, r.stderr)
    r = subprocess.run([node, "-n", ns + "-none", "--id", "0", "--dir", files + "/y"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "is faultline-driver running?" in r.stderr, r.stderr
    drv.send_signal(signal.SIGTERM)
    assert drv.wait(timeout=60) == 0
    assert not os.path.exists(run_dir), "run directory left behind"
finally:
    for p in list(procs.values()) + [drv]:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(files, ignore_errors=True)
    if os.path.exists(run_dir):
        subprocess.run(["rm", "-rf", run_dir])
print("ok")
