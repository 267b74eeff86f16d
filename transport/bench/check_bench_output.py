#!/usr/bin/env python3
"""Output-format test of the benchmark programs.

usage: check_bench_output.py pubsub|rr|cluster|cluster-sim|history <program>

Runs the program twice with a few thousand messages (text, then --json) and
checks that every expected figure is present, numeric where it should be,
that every ratio and rate is a positive number, and that the run left
nothing in /dev/shm.  It never asserts a speed.
"""
import glob
import json
import os
import subprocess
import sys

PUBSUB = {
    "args": ["--messages", "3000", "--seconds", "1", "--repeat", "2"],
    "strings": {"faultpoints_build": ("enabled", "disabled"),
                "idle_strategy": ("spin", "yield", "backoff"),
                "pre_touch": ("yes",)},
    "numbers": ["message_bytes", "messages", "repeat", "faultline_single_thread_ns_per_msg",
                "ring_single_thread_ns_per_msg", "faultline_procs_msgs_per_poll"] + [
        f"{t}_{what}" for t in ("faultline", "ring", "nng")
        for what in ("threads_msgs_per_sec", "procs_msgs_per_sec", "pingpong_rounds",
                     "pingpong_p50_ns", "pingpong_p99_ns", "pingpong_p999_ns",
                     "pingpong_max_ns")] + ["ring_batched_procs_msgs_per_sec"] + [
        "faultline_batched_" + what
        for what in ("procs_msgs_per_sec", "procs_msgs_per_poll", "pingpong_rounds",
                     "pingpong_p50_ns", "pingpong_p99_ns", "pingpong_p999_ns",
                     "pingpong_max_ns")] + ["batch_bytes", "batch_delay_ns"],
    "ratios": ["ratio_faultline_ring_threads_throughput", "ratio_faultline_ring_procs_throughput",
               "ratio_faultline_ring_batched_procs_throughput",
               "ratio_faultline_nng_threads_throughput", "ratio_faultline_nng_procs_throughput",
               "ratio_faultline_ring_pingpong_p50", "ratio_faultline_nng_pingpong_p50",
               "ratio_faultline_batched_ring_batched_procs_throughput",
               "ratio_faultline_batched_ring_pingpong_p50"],
    "shm": "faultline-bench-",
    # An enabled build's faultline-bench-nofp beside the program: the
    # same-run enabled/disabled comparison is printed too.
    "sibling": "faultline-bench-nofp",
    "sibling_ratios": ["faultpoints_enabled_single_thread_ns_per_msg",
                       "faultpoints_disabled_single_thread_ns_per_msg",
                       "ratio_faultpoints_enabled_disabled_single_thread",
                       # the batched subscriber's (the default --batch)
                       "faultpoints_enabled_batched_procs_msgs_per_sec",
                       "faultpoints_disabled_batched_procs_msgs_per_sec",
                       "ratio_faultpoints_enabled_disabled_batched_procs_throughput",
                       "faultpoints_enabled_ring_batched_procs_msgs_per_sec",
                       "faultpoints_disabled_ring_batched_procs_msgs_per_sec",
                       "faultpoints_enabled_pingpong_p50_ns",
                       "faultpoints_disabled_pingpong_p50_ns",
                       "ratio_faultpoints_enabled_disabled_pingpong_p50"],
}

RR = {
    "args": ["--rounds", "2000", "--seconds", "1", "--repeat", "2"],
    "strings": {"faultpoints_build": ("enabled", "disabled"),
                "idle_strategy": ("spin", "yield", "backoff")},
    "numbers": ["payload_bytes", "repeat", "rr_faultline_rounds", "rr_faultline_rt_per_sec",
                "rr_faultline_p50_ns", "rr_faultline_p99_ns", "rr_nng_rounds",
                "rr_nng_ipc_rt_per_sec", "rr_nng_ipc_p50_ns", "rr_nng_ipc_p99_ns",
                "chunk_loan_release_ns", "chunk_loan_freed_elsewhere_8000_of_8192_ns",
                "chunk_loan_freed_elsewhere_8191_of_8192_ns",
                "rr_faultline_single_thread_ns_per_rt"],
    "ratios": ["rr_ratio_vs_nng"],
    "shm": "faultline-rr-bench-",
}

# Three node processes: 2000 pipelined commands, 200 one at a time (and
# 200 through the cluster client, 20 client connects), two leader kills
# (the client putting through both).  Elections take real time (a
# follower waits 300-600 ms for a silent leader), so a run takes seconds,
# longer on a loaded machine: the work is fixed, the time allowed wide.
CLUSTER = {
    "args": ["--commands", "2000", "--kills", "2", "--seconds", "5"],
    "timeout": 240,
    "strings": {"faultpoints_build": ("enabled", "disabled"),
                "idle_strategy": ("spin", "yield", "backoff")},
    "numbers": ["members", "value_bytes", "command_bytes", "window", "repeat",
                "pipelined_commands", "pipelined_commits_per_sec", "pipelined_commit_p50_ns",
                "pipelined_commit_p99_ns", "pipelined_commit_p999_ns", "commands",
                "commits_per_sec", "commit_p50_ns", "commit_p99_ns", "commit_p999_ns",
                "rr_rounds", "rr_rt_per_sec", "rr_p50_ns", "rr_p99_ns", "election_timeout_ms",
                "heartbeat_ms", "first_election_ms", "kills", "election_after_kill_p50_ms",
                "election_after_kill_max_ms", "client_connects", "client_connect_ms",
                "client_connect_max_ms", "client_puts", "client_put_p50_us", "client_put_p99_us",
                "client_failover_ms", "client_failover_max_ms"],
    "ratios": ["ratio_commit_p50_to_rtt", "ratio_pipelined_commit_p50_to_rtt",
               "ratio_client_put_p50_to_rtt"],
    # Measured, so never zero: a zero is a figure that was not taken.
    "positive": ["pipelined_commands", "commands", "commit_p50_ns", "pipelined_commit_p50_ns",
                 "rr_p50_ns", "first_election_ms", "election_after_kill_p50_ms",
                 "election_after_kill_max_ms", "client_connects", "client_connect_ms",
                 "client_puts", "client_put_p50_us", "client_failover_ms",
                 "client_failover_max_ms"],
    "shm": "faultline-cluster-bench-",
}

# harness/bench's faultline-cluster-sim-bench: elections in virtual time,
# 20 sims of one kill each (virtual time costs nothing: ~0.1 s).
CLUSTER_SIM = {
    "args": ["--runs", "20", "--kills", "1"],
    "strings": {},
    "numbers": ["runs", "kills_per_run", "cnc_kib", "sim_first_election_p50_virtual_ms",
                "sim_first_election_max_virtual_ms", "sim_election_after_kill_p50_virtual_ms",
                "sim_election_after_kill_max_virtual_ms", "sim_runs_per_s", "sim_steps_per_run"],
    "ratios": [],
    "positive": ["runs", "kills_per_run", "sim_first_election_p50_virtual_ms",
                 "sim_election_after_kill_p50_virtual_ms", "sim_steps_per_run"],
    "shm": "faultline-csim-",
}

# harness/bench's faultline-history-bench: the 54 shared histories once
# each (a wrong verdict exits 1) and a generated one of 2,000 ops: under
# a second.  The Porcupine figures are constants it prints as such.
HISTORY = {
    "args": ["--data", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "harness", "tests", "history", "data"),
             "--repeat", "1", "--gen-ops", "2000"],
    "strings": {},
    "numbers": ["histories", "repeat", "etcd_total_s", "etcd_slowest_s", "etcd_slowest_history",
                "kv_total_s", "states_explored", "largest_history_ops",
                "largest_history_memory_bytes", "porcupine_reference_etcd_total_s",
                "porcupine_reference_etcd_slowest_s", "generated_ops", "generated_clients",
                "generated_s", "generated_states", "generated_memory_bytes", "max_rss_kib"],
    "ratios": ["ratio_porcupine_reference_to_etcd_total",
               "ratio_porcupine_reference_to_etcd_slowest"],
    "positive": ["histories", "states_explored", "largest_history_ops", "generated_ops",
                 "generated_states"],
    "shm": "faultline-history-bench-",
}

KINDS = {"pubsub": PUBSUB, "rr": RR, "cluster": CLUSTER, "cluster-sim": CLUSTER_SIM,
         "history": HISTORY}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(prog, args, timeout):
    try:
        p = subprocess.run([prog] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{prog} {' '.join(args)} took more than {timeout} s")
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        fail(f"{prog} {' '.join(args)} exited {p.returncode}")
    return p.stdout


def check(spec, figures, how):
    for key, allowed in spec["strings"].items():
        if key not in figures:
            fail(f"{how}: missing {key}")
        if figures[key] not in allowed:
            fail(f"{how}: {key} is {figures[key]!r}, expected one of {allowed}")
    for key in spec["numbers"] + spec["ratios"]:
        if key not in figures:
            fail(f"{how}: missing {key}")
        try:
            v = float(figures[key])
        except (TypeError, ValueError):
            fail(f"{how}: {key} is {figures[key]!r}, not a number")
        if (key in spec["ratios"] or key in spec.get("positive", ()) or
                key.endswith("_per_sec") or key.endswith("_rounds")):
            if not v > 0:
                fail(f"{how}: {key} is {v}, expected a positive number")
        elif v < 0:
            fail(f"{how}: {key} is {v}, expected >= 0")
    extra = set(figures) - set(spec["strings"]) - set(spec["numbers"]) - set(spec["ratios"])
    if extra:
        fail(f"{how}: unexpected figures {sorted(extra)} (add them to this test)")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        print(__doc__)
        sys.exit(2)
    spec = KINDS[sys.argv[1]]
    timeout = spec.get("timeout", 60)
    prog = sys.argv[2]
    sibling = spec.get("sibling")
    if sibling and os.access(os.path.join(os.path.dirname(prog), sibling), os.X_OK):
        spec = dict(spec, ratios=spec["ratios"] + spec["sibling_ratios"])

    before = set(glob.glob("/dev/shm/" + spec["shm"] + "*"))
    text = run(prog, spec["args"], timeout)
    figures = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            fail(f"text: line {line!r} is not `name value`")
        if parts[0] in figures:
            fail(f"text: {parts[0]} printed twice")
        figures[parts[0]] = parts[1]
    check(spec, figures, "text")

    out = run(prog, spec["args"] + ["--json"], timeout).strip().splitlines()
    if len(out) != 1:
        fail(f"--json printed {len(out)} lines, expected one")
    try:
        obj = json.loads(out[0])
    except ValueError as e:
        fail(f"--json output is not JSON: {e}")
    check(spec, {k: v for k, v in obj.items()}, "json")
    for key in spec["numbers"] + spec["ratios"]:
        if not isinstance(obj[key], (int, float)):
            fail(f"json: {key} is {obj[key]!r}, not a JSON number")

    left = set(glob.glob("/dev/shm/" + spec["shm"] + "*")) - before
    if left:
        fail(f"left in /dev/shm: {sorted(left)}")
    print(f"ok: {len(figures)} figures, text and json")


if __name__ == "__main__":
    main()
