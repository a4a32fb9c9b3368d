"""Serving latency of the screening loop: GET queue and POST decision on a 10,000-record
project, with several clients at once against the real waitress server on loopback.

    .venv/bin/python bench/api_latency.py [--data DIR] [--records 10000] [--clients 4]
        [--rounds 100] [--seconds 120] [--encoder fake|real]

Records are the screening datasets' real titles and abstracts in file order, deduplicated,
tiled (titles marked "[copy N]", identifiers dropped) when fewer than ``--records`` exist.
The default encoder is the tests' hashing encoder: this measures serving, not embedding, and
keeps the setup to seconds; ``--encoder real`` embeds with the packaged model (minutes, once:
later runs reuse the vector cache of the same ``--home``). Each client loops: read the queue
(10 items), decide its own item of them (client i takes item i, so clients rarely collide)
with the dataset's label; the queue re-ranks on the next read after every decision.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import default_data_dir, markdown_table, peak_rss_mib
from index import read_records
from index.dedup import DedupKeys, index_of
from webapi import create_app
from webapi.access import new_token, token_hash
from webapi.server import make_server, one_math_thread
from webapi.services import Screenwise

QUESTION = "efficacy and safety of drug treatments in randomised controlled trials"


def build_export(data: Path, count: int, folder: Path) -> Path:
    """A CSV of ``count`` distinct real records with their labels."""
    records = []
    seen = index_of([])
    for path in sorted((data / "screening").glob("*.csv")):
        for record in read_records(path):
            keys = DedupKeys.of(record)
            if record.has_text and seen.match(keys) is None:
                seen.add(len(records), keys)
                records.append(record)
    rows = []
    for n in range(count):
        record = records[n % len(records)]
        copy = n // len(records)
        rows.append(
            {
                "record_id": n + 1,
                "title": record.title + (f" [copy {copy + 1}]" if copy else ""),
                "abstract": record.abstract,
                "year": record.year or "",
                "doi": "" if copy else record.doi,
                "pmid": "" if copy else record.pmid,
                "label_included": record.label,
            }
        )
    path = folder / "bench_records.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def call(
    base: str, method: str, path: str, payload: dict | None = None, token: str = ""
) -> tuple[int, dict]:
    body = json.dumps(payload).encode() if payload is not None else None
    headers = {"Content-Type": "application/json"} if body else {}
    headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def client(
    base: str,
    number: int,
    token: str,
    labels: dict[str, int],
    rounds: int,
    deadline: float,
    timings: dict[str, list[float]],
    counts: dict[str, int],
    lock: threading.Lock,
) -> None:
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            return
        started = time.perf_counter()
        status, queue = call(base, "GET", "/api/projects/bench/queue?n=10", token=token)
        queue_ms = (time.perf_counter() - started) * 1000
        assert status == 200, queue
        if not queue["items"]:
            return  # every record is screened
        item = queue["items"][number % len(queue["items"])]
        label = "include" if labels[item["source_id"]] == 1 else "exclude"
        started = time.perf_counter()
        status, body = call(
            base,
            "POST",
            f"/api/projects/bench/records/{item['record_id']}/decisions",
            {"label": label, "reviewer": f"client-{number}", "supersedes": None},
            token=token,
        )
        decision_ms = (time.perf_counter() - started) * 1000
        assert status in (201, 409), body
        with lock:
            timings["queue"].append(queue_ms)
            timings["decision"].append(decision_ms)
            counts["conflicts"] += status == 409
            counts[queue["mode"]] = counts.get(queue["mode"], 0) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder")
    parser.add_argument("--records", type=int, default=10_000, help="records in the project")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=100, help="queue+decision loops per client")
    parser.add_argument("--seconds", type=float, default=120, help="stop the loops after this")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument("--seed", type=int, default=10, help="includes and excludes decided first")
    parser.add_argument("--encoder", choices=("fake", "real"), default="fake")
    parser.add_argument("--home", type=Path, default=None, help="home folder (default: a temp one)")
    args = parser.parse_args()

    one_math_thread()  # as `screenwise serve` does
    if args.encoder == "real":
        encoder = None
        encoder_name = "all-MiniLM-L6-v2 (real, 384-d)"
    else:
        from tests.fakes import HashingEncoder

        encoder = HashingEncoder()
        encoder_name = "fake hashing encoder (tests/fakes.py, 256-d)"

    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        export = build_export(args.data, args.records, Path(scratch))
        labels = {r.source_id: r.label for r in read_records(export)}
        service = Screenwise(home, encoder=encoder)
        # An administrator who maintains the project, and one reviewer (with a token) per client.
        service.store.create_reviewer("bench-admin", is_admin=True)
        admin_token = new_token()
        service.store.add_token("bench-admin", token_hash(admin_token))
        service.create_project("bench", QUESTION)
        pid = service.project("bench").project_id
        service.store.set_member(pid, "bench-admin", "maintainer")
        tokens = []
        for n in range(args.clients):
            service.store.create_reviewer(f"client-{n}")
            service.store.set_member(pid, f"client-{n}", "reviewer")
            tokens.append(new_token())
            service.store.add_token(f"client-{n}", token_hash(tokens[-1]))
        started = time.perf_counter()
        service.import_files("bench", [export], ignore_labels=True)
        import_s = time.perf_counter() - started
        rng = np.random.default_rng(0)
        includes = [s for s, label in labels.items() if label == 1]
        excludes = [s for s, label in labels.items() if label == 0]
        page = service.records("bench", limit=args.records)["items"]
        by_source = {r["source_id"]: r["record_id"] for r in page}
        for source_id in [*rng.choice(includes, args.seed), *rng.choice(excludes, args.seed)]:
            label = "include" if labels[source_id] == 1 else "exclude"
            service.decide("bench", by_source[source_id], label=label, reviewer="seed")

        # Retrain + re-rank directly, on the seeded decisions (median of 5).
        fits = []
        for _ in range(5):
            started = time.perf_counter()
            service._fit(service.project("bench").project_id)
            fits.append((time.perf_counter() - started) * 1000)

        app = create_app({"HOME": str(home), "SCREENWISE_SERVICE": service})
        # As screenwise serve: a job worker thread (a background retrain runs there).
        consumer = service.tasks.consumer(1)
        consumer.start()
        # Four clients on four threads keep a request waiting now and then: expected here.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        connections: dict = {}
        server = make_server(app, port=0, threads=args.threads, map=connections)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.effective_port}"
        call(base, "GET", "/api/projects/bench/queue?n=10", token=admin_token)  # warm-up

        timings: dict[str, list[float]] = {"queue": [], "decision": []}
        counts: dict[str, int] = {"conflicts": 0}
        lock = threading.Lock()
        deadline = time.perf_counter() + args.seconds
        clients = [
            threading.Thread(
                target=client,
                args=(base, n, tokens[n], labels, args.rounds, deadline, timings, counts, lock),
            )
            for n in range(args.clients)
        ]
        started = time.perf_counter()
        for worker in clients:
            worker.start()
        for worker in clients:
            worker.join()
        wall = time.perf_counter() - started

        retrain_started = time.perf_counter()
        status, job = call(base, "POST", "/api/projects/bench/training", {}, token=admin_token)
        assert status in (200, 202), job
        while job["status"] == "running":
            time.sleep(0.05)
            path = f"/api/projects/bench/training/{job['job_id']}"
            job = call(base, "GET", path, token=admin_token)[1]
        retrain_ms = (time.perf_counter() - retrain_started) * 1000
        server.close()
        thread.join(10)
        for channel in list(connections.values()):
            channel.close()
        server.task_dispatcher.shutdown()
        consumer.stop(graceful=True)
        stats = service.stats("bench")
        service.close()

    rows = []
    for name in ("queue", "decision"):
        values = np.array(timings[name])
        rows.append(
            [
                "GET queue (n=10)" if name == "queue" else "POST decision",
                len(values),
                f"{np.percentile(values, 50):.1f}",
                f"{np.percentile(values, 95):.1f}",
                f"{values.max():.1f}",
            ]
        )
    print(
        f"## API latency: {stats['records']:,} records, {args.clients} concurrent clients, "
        f"waitress {args.threads} threads, loopback\n"
    )
    print(markdown_table(["request", "count", "p50 ms", "p95 ms", "max ms"], rows))
    modes = ", ".join(
        f"{m} {counts[m]}" for m in ("model", "similarity", "question") if m in counts
    )
    print(
        f"\nencoder: {encoder_name}; import + embed {import_s:.1f} s; "
        f"{len(timings['queue'])} loops in {wall:.1f} s "
        f"({len(timings['queue']) / wall:.1f} decisions/s); queue modes: {modes}; "
        f"409 conflicts: {counts['conflicts']}; decisions at the end: {stats['screened']}"
    )
    print(
        f"retrain + re-rank in-process on {2 * args.seed} decisions: median "
        f"{np.median(fits):.0f} ms; POST training at the end ({stats['screened']} decisions, "
        f"{'background' if job['background'] else 'sync'}) {retrain_ms:.0f} ms; "
        f"peak memory {peak_rss_mib():.0f} MiB; {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
