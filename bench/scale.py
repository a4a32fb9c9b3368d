"""A 100,000-record review end to end over HTTP: upload, import job, first screenable records,
search and queue latency, server peak memory; and the real model's embedding rate.

The corpus is the shared screening datasets repeated with perturbed titles (a variant number
in each title, identifiers blanked after the first copy, so none is a duplicate), written as
four CSV files and uploaded in one request (one import job). The server runs in this process
(waitress, background refits, as ``screenwise serve``) and the job worker in a process of its
own (``screenwise worker``, as ``serve`` starts it), so the table gives both processes' peak
memory. The 100k part embeds with the
tests' hashing encoder (tests/fakes.py), not the real model: embedding 100k records with
MiniLM on 2 cores takes about a quarter of an hour. The real model's rate is measured apart,
on ``--real`` real records, after the server's peak memory has been read.

    nice -n 10 .venv/bin/python bench/scale.py [--data DIR] [--records 100000] [--real 2000]
        [--no-http-upload]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import default_data_dir, markdown_table, peak_rss_mib
from tests.conftest import serving
from tests.fakes import HashingEncoder
from webapi import create_app
from webapi.access import new_token, token_hash
from webapi.server import one_math_thread
from webapi.services import Screenwise

ROOT = Path(__file__).resolve().parent.parent
ENCODER = "bench.scale:encoder"
FIELDS = ("title", "abstract", "year", "doi", "pmid")
QUESTIONS = (
    "methylphenidate for attention deficit hyperactivity disorder in children",
    "proton pump inhibitors for gastro-oesophageal reflux",
    "triptans for acute migraine",
    "opioids for chronic non-cancer pain",
    "statins and cardiovascular outcomes",
    "systematic literature reviews in software engineering",
)


def encoder() -> HashingEncoder:
    """The worker process's encoder (``screenwise worker --encoder bench.scale:encoder``)."""
    return HashingEncoder(dimension=384)


def worker_process(home: str) -> subprocess.Popen:
    """``screenwise worker`` on ``home``'s queue, as ``screenwise serve`` starts it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SCREENWISE_QUEUE_URL", None)
    command = "from webapi.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", command, "--home", home, "worker", "--encoder", ENCODER],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def peak_of(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_corpus(data: Path, n: int, folder: Path, parts: int = 4) -> list[Path]:
    """``n`` records from ``data/screening/*.csv``, repeated with perturbed titles, as
    ``parts`` CSV files."""
    sources = []
    for path in sorted((data / "screening").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            sources.extend({k: row.get(k, "") for k in FIELDS} for row in csv.DictReader(f))
    paths = [folder / f"scale-{i}.csv" for i in range(parts)]
    outs = [p.open("w", encoding="utf-8", newline="") for p in paths]
    writers = [csv.DictWriter(out, fieldnames=FIELDS) for out in outs]
    for writer in writers:
        writer.writeheader()
    for i in range(n):
        row = dict(sources[i % len(sources)])
        copy = i // len(sources)
        if copy:
            row["title"] = f"{row['title']} (variant {copy})"
            row["doi"] = row["pmid"] = ""
        writers[i * parts // n].writerow(row)
    for out in outs:
        out.close()
    return paths


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")

    def json(self, method: str, path: str, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data = self.call(method, path, body, headers)
        assert status < 300, (status, data)
        return data

    def upload(self, path: str, files: list[Path]):
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{f.name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + f.read_bytes()
            + b"\r\n"
            for f in files
        ]
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.call("POST", path, body, headers)


def timed(call, *args):
    started = time.perf_counter()
    result = call(*args)
    return (time.perf_counter() - started) * 1000, result


def p95(values: list[float]) -> str:
    return f"{np.percentile(values, 95):.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=2000, help="real records to embed (0: skip)")
    parser.add_argument("--rounds", type=int, default=20, help="queue/search requests timed")
    parser.add_argument(
        "--no-http-upload",
        dest="http_upload",
        action="store_false",
        help="queue the import job directly instead of uploading the files over HTTP",
    )
    args = parser.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    rows: list[list[object]] = []
    if args.records:
        rows += scale(args)
    if args.real:
        rows.append(real_embedding(args))
    print(f"## Scale: {args.records:,} records\n")
    print(markdown_table(["what", "records", "time", "rate"], rows))


def scale(args: argparse.Namespace) -> list[list[object]]:
    """The server part: upload, import job, latency, memory."""
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as home:
        one_math_thread()  # as screenwise serve does
        service = Screenwise(home, encoder=encoder(), ranking_refit="background")
        service.store.create_reviewer("bench", is_admin=True)
        token = new_token()
        service.store.add_token("bench", token_hash(token))
        app = create_app({"HOME": home, "SCREENWISE_SERVICE": service})
        service.warm_up()  # as screenwise serve does
        worker = worker_process(home)  # started with the server, as serve does
        files = build_corpus(args.data, args.records, Path(home))
        megabytes = sum(f.stat().st_size for f in files) / 2**20
        serve = serving(app)  # waitress in a thread, stopped without racing its requests
        client = Client(serve.__enter__(), token)
        client.json("POST", "/api/projects", {"name": "scale", "question": QUESTIONS[0]})

        started = time.perf_counter()
        if args.http_upload:
            status, job = client.upload("/api/projects/scale/records?ignore_labels=true", files)
            assert status == 202, job
        else:  # the same job, queued the way an upload queues it, from files under HOME
            job = service.submit_import("scale", files, ignore_labels=True, actor="bench")
        answered = time.perf_counter() - started
        phases: dict[str, float] = {}
        first_screenable = None
        while job["state"] in ("queued", "running"):
            phases.setdefault(job["phase"], time.perf_counter() - started)
            if first_screenable is None and job["phase"] in ("embed", "index"):
                queue = client.json("GET", "/api/projects/scale/queue?n=1&k=0")
                if queue["items"]:
                    first_screenable = time.perf_counter() - started
                    pending = queue["embedding_pending"]
            time.sleep(0.25)
            job = client.json("GET", f"/api/jobs/{job['job_id']}")
        done = time.perf_counter() - started
        assert job["state"] == "done", job
        added = sum(f["added"] for f in job["result"]["files"])
        store_s = phases.get("embed", done) - phases.get("read", 0)
        embed_s = phases.get("index", done) - phases.get("embed", done)
        rows += [
            [
                "upload answered (202)" if args.http_upload else "import job queued (no HTTP)",
                f"{megabytes:.0f} MB, 4 files",
                f"{answered:.1f} s",
                "",
            ],
            [
                "import without embedding (read, dedup, store: one transaction)",
                f"{added:,}",
                f"{store_s:.1f} s",
                f"{added / store_s:,.0f} records/s",
            ],
            [
                "embedding, hashing encoder (tests/fakes.py)",
                f"{job['result']['embedded']:,}",
                f"{embed_s:.1f} s",
                f"{job['result']['embedded'] / embed_s:,.0f} records/s",
            ],
            [
                "first records screenable, after upload",
                f"({pending:,} still embedding)" if first_screenable else "",
                f"{first_screenable:.1f} s" if first_screenable else "-",
                "",
            ],
            [
                "phases began, after upload",
                ", ".join(f"{name} {at:.1f} s" for name, at in phases.items()),
                "",
                "",
            ],
            ["import job done, after upload", "", f"{done:.1f} s", ""],
        ]

        timed(client.json, "GET", "/api/projects/scale/queue?n=10")  # builds the ranking
        searches = [
            timed(client.json, "GET", f"/api/projects/scale/search?k=10&q={q.replace(' ', '%20')}")[
                0
            ]
            for q in QUESTIONS * max(1, args.rounds // len(QUESTIONS))
        ]
        reads = [
            timed(client.json, "GET", "/api/projects/scale/queue?n=10")[0]
            for _ in range(args.rounds)
        ]
        after_decision = []
        for n in range(args.rounds):
            item = client.json("GET", "/api/projects/scale/queue?n=1&k=0")["items"][0]
            label = "include" if n % 4 == 0 else "exclude"
            client.json(
                "POST",
                f"/api/projects/scale/records/{item['record_id']}/decisions",
                {"label": label, "reviewer": "bench"},
            )
            after_decision.append(timed(client.json, "GET", "/api/projects/scale/queue?n=10")[0])
        rows += [
            ["search p95 (k=10)", f"{len(searches)} requests", f"{p95(searches)} ms", ""],
            ["queue p95 (n=10), no change", f"{len(reads)} requests", f"{p95(reads)} ms", ""],
            [
                "queue p95 (n=10), right after a decision (refit)",
                f"{len(after_decision)} requests",
                f"{p95(after_decision)} ms",
                "",
            ],
            ["server peak memory (this process)", "", f"{peak_rss_mib():,.0f} MiB", ""],
            ["job worker peak memory (its own process)", "", f"{peak_of(worker.pid):,.0f} MiB", ""],
        ]
        serve.__exit__(None, None, None)
        worker.send_signal(signal.SIGINT)
        worker.wait(60)
        service.close()

    return rows


def real_embedding(args: argparse.Namespace) -> list[object]:
    """The real model's embedding rate on ``args.real`` real records (torch's own threads)."""
    from index import read_records
    from index.embedder import Embedder

    texts = [r.text for r in read_records(args.data / "screening" / "Cohen_2006_ADHD.csv")]
    texts = (texts * (args.real // len(texts) + 1))[: args.real]
    embedder = Embedder(threads=os.cpu_count())  # the server part left torch one thread
    embedder.encode_documents(texts[:64])  # warm-up
    elapsed, _ = timed(embedder.encode_documents, texts)
    return [
        f"embedding, real model (all-MiniLM-L6-v2, {embedder.precision})",
        f"{len(texts):,}",
        f"{elapsed / 1000:.1f} s",
        f"{len(texts) / elapsed * 1000:,.0f} records/s",
    ]


if __name__ == "__main__":
    main()
