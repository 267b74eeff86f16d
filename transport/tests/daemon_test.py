#!/usr/bin/env python3
"""faultline-driver and faultline-stat as a user runs them: start the daemon,
read its gauges with --json (request/response ones too), refuse a second
daemon and a bad --chunks, shut down on SIGTERM removing the run
directory.  argv: DRIVER STAT"""
import json
import os
import signal
import subprocess
import sys

from proc_util import wait_for

driver, stat = sys.argv[1], sys.argv[2]
ns = "t-daemon-%d" % os.getpid()
run_dir = "/dev/shm/faultline-" + ns


proc = subprocess.Popen([driver, "-n", ns, "--client-timeout-ms", "500"],
                        stderr=subprocess.PIPE, text=True)
try:
    assert wait_for(lambda: os.path.exists(run_dir + "/cnc.dat"), 10), "no cnc.dat"

    def rr_ready():
        out = subprocess.run([stat, "--json", ns], capture_output=True, text=True, timeout=10)
        return out.returncode == 0 and "rr_chunks_total" in json.loads(out.stdout)["ext"]

    # cnc.dat comes first; the request/response gauges once its chunk pools
    # (10 MiB reserved in /dev/shm) are made: waited for, not slept on.
    assert wait_for(rr_ready, 60), "no request/response gauges"
    out = subprocess.run([stat, "--json", ns], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["driver_alive"] is True, s
    assert s["driver_pid"] == proc.pid, s
    for g in ("active_clients", "publications", "subscriptions", "images", "log_files",
              "log_files_mapped", "pending_registrations", "image_refs_held"):
        assert s[g] == 0, (g, s)
    # Request/response served by default: the domain's files and gauges.
    for f in ("chunks.dat", "ports.dat"):
        assert os.path.exists(os.path.join(run_dir, f)), f
    for g in ("rr_servers_in_use", "rr_clients_in_use", "rr_chunks_loaned",
              "rr_clients_reclaimed", "rr_ports_reclaimed", "rr_chunks_reclaimed",
              "rr_queue_holes_marked", "rr_queue_cells_repaired"):
        assert s["ext"][g] == 0, (g, s["ext"])
    assert s["ext"]["rr_chunks_total"] == 8192 + 1024 + 64, s["ext"]
    plain = subprocess.run([stat, ns], capture_output=True, text=True, timeout=10)
    assert "publications 0" in plain.stdout, plain.stdout
    second = subprocess.run([driver, "-n", ns], capture_output=True, text=True, timeout=10)
    assert second.returncode == 1, second
    assert "live driver (pid %d)" % proc.pid in second.stderr, second.stderr
    bad = subprocess.run([driver, "-n", "a/b"], capture_output=True, text=True, timeout=10)
    assert bad.returncode == 1 and "FL_ENAME" in bad.stderr, bad
    badspec = subprocess.run([driver, "-n", ns + "-x", "--chunks", "128:x"], capture_output=True,
                             text=True, timeout=10)
    assert badspec.returncode == 2 and "--chunks 128:x" in badspec.stderr, badspec
    # Numbers are digits only, in range: never read as 0 (a timeout of
    # nothing) or as a part of what was typed.
    for opt, val in (("--client-timeout-ms", "abc"), ("--linger-ms", "-1"),
                     ("--client-timeout-ms", "0"), ("--linger-ms", "0"),
                     ("--term-length", "12x"), ("--mtu", "0x10"), ("--ports", "0"),
                     ("--ports", "+5"), ("--term-length", "99999999999")):
        badnum = subprocess.run([driver, "-n", ns + "-x", opt, val], capture_output=True,
                                text=True, timeout=10)
        assert badnum.returncode == 2 and "%s %s: expected a number" % (opt, val) in \
            badnum.stderr, badnum
    assert not os.path.exists(run_dir + "-x")
    missing = subprocess.run([stat, "t-no-such-ns"], capture_output=True, text=True, timeout=10)
    assert missing.returncode == 1, missing
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert not os.path.exists(run_dir), "run directory left behind"
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if os.path.exists(run_dir):
        for f in os.listdir(run_dir):
            os.unlink(os.path.join(run_dir, f))
        os.rmdir(run_dir)
print("ok")
