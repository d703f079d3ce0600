"""`tfssl launch --workers N -- COMMAND`: N local worker processes with `TF_CONFIG` on 127.0.0.1.

Each worker gets the same command and a `TF_CONFIG` naming all N workers (free loopback ports)
and its own index; worker 0 is the chief. Their output is streamed, each line prefixed with
`[worker i]`. When a worker exits with an error the others are stopped (a collective would
otherwise wait for the dead worker forever) and `launch` returns that worker's exit code after
repeating its last lines; when all exit cleanly it returns 0. A command that starts with a tfssl
subcommand (`pretrain`, `finetune`, ...) runs as `python -m tfssl.cli ...`.

On a real cluster there is nothing to launch: start the same command on every node with that
node's `TF_CONFIG` (see the README).
"""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

TFSSL_COMMANDS = ("pretrain", "finetune", "experiment", "evaluate", "export", "convert", "predict")


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (all bound at once, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def worker_environments(workers, base=None):
    """One environment per worker, each with the cluster's `TF_CONFIG` and its task index."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(workers)]}
    base = dict(os.environ if base is None else base)
    return [dict(base, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
            for i in range(workers)]


def launch(workers, command, output=None, poll_seconds=0.2, grace_seconds=5.0):
    """Runs `command` (a list) as `workers` local workers; returns the exit code (see the module docstring)."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}.")
    if not command:
        raise ValueError("Nothing to launch: give a command after `--`, e.g. tfssl launch --workers 2 -- pretrain mlm.")
    if command[0] in TFSSL_COMMANDS:
        command = [sys.executable, "-m", "tfssl.cli"] + list(command)
    output = output or sys.stdout
    lock = threading.Lock()
    tails = [collections.deque(maxlen=20) for _ in range(workers)]
    processes = []
    for index, env in enumerate(worker_environments(workers)):
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True, bufsize=1, start_new_session=True))
    streams = [threading.Thread(target=_stream, args=(p, i, tails[i], output, lock), daemon=True)
               for i, p in enumerate(processes)]
    for thread in streams:
        thread.start()
    failed = None
    while failed is None and any(p.poll() is None for p in processes):
        failed = next((i for i, p in enumerate(processes) if p.poll() not in (None, 0)), None)
        time.sleep(poll_seconds)
    if failed is None:
        failed = next((i for i, p in enumerate(processes) if p.returncode != 0), None)
    if failed is not None:
        _stop(processes, grace_seconds)
    for thread in streams:
        thread.join(timeout=grace_seconds)
    if failed is None:
        return 0
    code = processes[failed].returncode
    with lock:
        output.write(f"[tfssl launch] worker {failed} exited with code {code}; stopped the other workers. "
                     f"Its last lines:\n" + "".join(f"    {line}" for line in tails[failed]))
        output.flush()
    return code if code > 0 else 1


def _stream(process, index, tail, output, lock):
    for line in process.stdout:
        tail.append(line)
        with lock:
            output.write(f"[worker {index}] {line}")
            output.flush()


def _stop(processes, grace_seconds):
    """SIGTERM every live worker's process group, then SIGKILL what is left after the grace period."""
    for p in processes:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace_seconds
    for p in processes:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
