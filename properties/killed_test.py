#!/usr/bin/env python3
"""A property program killed mid-run leaves nothing in /dev/shm.

Usage: killed_test.py PROGRAM [ARGS...]

The program is started TRIES times and killed at a random moment, with
SIGTERM (meson's timeout) and SIGKILL in turn; its trials' run
directories, /dev/shm/faultline-prop-*-<pid>-*, must be gone within a
generous deadline (the reaper the program forked removes them once the
trials died with it).  The pass does not depend on where the kills land.
Without the reaper (FL_UNDER_VALGRIND=1 turns it off) 5 of 10 tries left
directories behind.
"""
import os
import random
import signal
import subprocess
import sys
import time

TRIES = 10
DEADLINE = 60.0  # seconds for the reaper to finish: a bound, not a measure


def main():
    prog = sys.argv[1:]
    seed = int(os.environ.get("FL_TEST_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    print("# seed %d (FL_TEST_SEED to repeat)" % seed)
    bad = []
    for i in range(TRIES):
        p = subprocess.Popen(prog, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.1, 0.8))
        sig = signal.SIGTERM if i % 2 else signal.SIGKILL
        p.send_signal(sig)
        p.wait()
        tag = "-%d-" % p.pid
        end = time.monotonic() + DEADLINE
        while True:
            mine = [e for e in os.listdir("/dev/shm")
                    if e.startswith("faultline-prop-") and tag in e]
            if not mine or time.monotonic() > end:
                break
            time.sleep(0.05)
        if mine:
            bad.append((i, sig.name, mine))
            for e in mine:
                subprocess.run(["rm", "-rf", "/dev/shm/" + e])
    if bad:
        for i, name, mine in bad:
            print("try %d (%s): left %s" % (i, name, mine))
        return 1
    print("%d kills, /dev/shm clean after each" % TRIES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
