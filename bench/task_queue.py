"""The task queue's own cost: huey with SQLite storage (the default) against Redis storage
(when ``redis-server`` is installed): time to enqueue a job, and from enqueue to a worker
starting it, with one consumer thread polling as ``screenwise serve``'s does.

    nice -n 10 .venv/bin/python bench/task_queue.py [--jobs 200]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import markdown_table
from webapi.tasks import make_huey


def measure(huey, jobs: int) -> list[object]:
    started: dict[int, float] = {}
    finished = threading.Event()

    @huey.task(name="noop")
    def noop(n: int, sent: float) -> None:
        started[n] = time.perf_counter() - sent
        if len(started) == jobs:
            finished.set()

    from huey.consumer import Consumer

    class Quiet(Consumer):
        def _set_signal_handlers(self) -> None:
            pass

    consumer = Quiet(huey, workers=1, worker_type="thread", periodic=False, max_delay=1.0)
    consumer.start()
    enqueue = []
    try:
        for n in range(jobs):
            sent = time.perf_counter()
            noop(n, sent)
            enqueue.append((time.perf_counter() - sent) * 1000)
            time.sleep(0.01)
        assert finished.wait(120)
    finally:
        consumer.stop(graceful=True)
    latency = np.array(list(started.values())) * 1000
    return [
        type(huey).__name__,
        f"{np.median(enqueue):.2f} / {np.percentile(enqueue, 95):.2f}",
        f"{np.median(latency):.1f} / {np.percentile(latency, 95):.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(measure(make_huey(Path(folder)), args.jobs))
        binary = shutil.which("redis-server")
        if binary is None:
            rows.append(["RedisHuey", "redis-server not installed", "-"])
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            redis = subprocess.Popen(
                [binary, "--port", str(port), "--save", "", "--dir", folder],
                stdout=subprocess.DEVNULL,
            )
            try:
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                rows.append(
                    measure(make_huey(Path(folder), f"redis://127.0.0.1:{port}/0"), args.jobs)
                )
            finally:
                redis.terminate()
                redis.wait(10)
    print(f"## Task queue: {args.jobs} no-op jobs, one consumer thread\n")
    print(
        markdown_table(
            ["storage", "enqueue ms (median / p95)", "enqueue -> start ms (median / p95)"], rows
        )
    )


if __name__ == "__main__":
    main()
