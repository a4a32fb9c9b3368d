"""A review the size of the seed's, screened over HTTP the way the page screens: decision to
next record with one and with four reviewers, theme refit time and memory, server memory.

    .venv/bin/python -m bench.seed_scale [--data DIR] [--decisions 200] [--seconds 180]
        [--reviewers 4] [--n 1] [--encoder fake|real] [--embeddings-cache FILE]
        [--themes-with includes|every] [--quick] [--json OUT]

The corpus is the five largest Cohen 2006 reviews in ``DATA/screening`` (by records), uploaded
as they are (``ignore_labels``) into one project with the 8 themes of
``bench/seed_themes.json`` (one per drug class, three cross-cutting; how they were written is in
the file). The server is the real one, ``webapi.server.make_server`` (waitress, 4 threads) on
loopback, in a process of its own, so that its memory is its own and the reviewers' client
threads do not share its interpreter. Reviewers are API clients with a token each.

Each reviewer does what ``webapi/static/js/views/screen.js`` does per record: read the queue
(``GET queue?n=1&k=3&stage=title_abstract``; ``--n`` asks for more, reviewer ``i`` taking item
``i``) and the top record's themes (``GET records/<id>/themes``); decide it with its true label
(``POST records/<id>/decisions``), for an include with the theme of the review that included
it; then, as the page does after a decision, ask for the progress (``GET progress``, in
parallel, not awaited; like the page, no sooner than ``PROGRESS_BACKOFF`` times the last
progress answer's time after that request: a decision before then schedules one for then) and
read the queue and the next record's themes. "Decision to next
record" is the POST plus the queue GET plus the themes GET: what the reviewer waits for between
a click and the next record. Themes go with includes only (``--themes-with includes``: the page
issue 10 asks for, which sends themes when the reviewer changed them) or with every decision
(``every``: today's page, which sends the selected themes, for an exclude the suggested ones).
Reviewers click back to back (no reading time): a worst case for the server. First one
reviewer for ``--decisions`` decisions or ``--seconds``, then ``--reviewers`` (4) at once, each
up to ``--decisions``, the same time limit, going on from the first phase's decisions. With
``n=1`` and one shared ranking, concurrent reviewers are often offered the same record: the
second decision on it is a 409, counted; that reviewer then reads the record (as the page's
"changed meanwhile" does) and the queue again, outside the decision-to-next figure. A record
offered although it was decided before the queue read is counted too.

Theme refit: the theme model fitted the way the service fits it (``fit_themes_as_the_service
_does``, the one function to adapt when the theme model changes) on the project's records, with
every include labelled with its drug class as the theme labels, at the corpus's size and at
10,000 and 100,000 records (the real records tiled, vectors with a little noise, as
``bench/queue_timing.py`` does), each in a subprocess of its own (capped at
``--refit-memory-gib`` of address space and ``--refit-timeout`` seconds) whose peak resident
memory is reset before the fit: "fit peak" is that process's peak during the fit minus its
memory before it. Vectors: the real model's from ``--embeddings-cache`` when it holds every
record's text (no embedding is done for this), else those of the encoder the server used.

``--encoder fake`` (the default) is the tests' hashing encoder: this measures serving, not
embedding. ``--encoder real`` embeds with the packaged model; texts already in
``--embeddings-cache`` are copied into the project's store first, so only the others are
embedded. ``--quick``: 150 records per review, 10 decisions per reviewer, 30 s per phase, no
10k/100k refits (a smoke run). With ``--data tests/data`` the corpus is what the tests' copy
holds; the output says when it is smaller than the seed's.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    REPO,
    default_data_dir,
    default_embedding_cache,
    markdown_table,
    process_memory_mib,
)
from bench.api_latency import QUESTION, call

THEMES_FILE = REPO / "bench" / "seed_themes.json"
SEED_RECORDS = 7_406  # the seed review's corpus (issue 10)
PROJECT = "seed-scale"
STAGE = "title_abstract"
REFIT_SIZES = (10_000, 100_000)
# Issue 10's targets on the project's 2-core machine.
TARGET_NEXT_1 = 150.0  # ms, p95, one reviewer
TARGET_NEXT_4 = 400.0  # ms, p95, four reviewers at once
TARGET_REFIT = {"corpus": 1.0, 10_000: 1.5, 100_000: 15.0}  # s
TARGET_REFIT_MIB_100K = 1024.0
TARGET_SERVER_MIB = 1536.0


# -- the theme refit: ADAPT HERE when the service's theme model changes (issue 10) ----------


def fit_themes_as_the_service_does(
    suite: Any,
    features: Any,
    rows: np.ndarray,
    Y: np.ndarray,
    names: np.ndarray,
    descriptions: np.ndarray,
) -> Any:
    """One theme refit through the service's own code: what ``RankingService._fit`` passes to
    ``ModelSuite.fit`` for a project whose records' features are ``features`` (the corpus),
    with theme labels ``Y`` on ``rows`` and the themes' name and description vectors: the
    records without labels self-train, their neighbours come from a FAISS index of the
    corpus (the project's index, built here). The benchmark's only call into the theme
    model."""
    from index.vectors import VectorIndex
    from webapi.service_ingest import ProjectVectors
    from webapi.service_ranking import _index_neighbors

    ids = np.arange(1, len(features) + 1, dtype=np.int64)
    state = ProjectVectors(
        (len(ids), len(ids), "bench"),
        ids,
        features.vectors,
        VectorIndex.build(ids, features.vectors),
        features=features,
        rows={int(record_id): row for row, record_id in enumerate(ids)},
    )
    unlabeled = np.setdiff1d(np.arange(len(features)), rows)
    fitted = suite.fit(
        suite.take(features, rows[:0]),
        np.zeros(0, dtype=np.int64),
        suite.take(features, rows),
        Y,
        theme_text=(names, descriptions),
        theme_unlabeled=features.vectors[unlabeled],
        neighbors=_index_neighbors(state, np.concatenate([rows, unlabeled])),
    )
    return fitted.themes


# -- corpus and themes ----------------------------------------------------------------------


def seed_reviews(data: Path, count: int = 5) -> list[Path]:
    """The ``count`` largest Cohen 2006 reviews in ``data/screening``, by records."""
    from index import read_records

    paths = sorted((data / "screening").glob("Cohen_2006_*.csv"))
    if len(paths) < count:
        raise SystemExit(f"{data / 'screening'}: {len(paths)} Cohen 2006 reviews, need {count}")
    sizes = {path: len(read_records(path)) for path in paths}
    return sorted(paths, key=lambda path: (-sizes[path], path.name))[:count]


def truncated_copies(paths: list[Path], per_review: int, folder: Path) -> list[Path]:
    """The first ``per_review`` records of each file, as files of the same name (--quick)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [row for _, row in zip(range(per_review), reader, strict=False)]
            fields = reader.fieldnames or []
        copy = folder / path.name
        with copy.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        out.append(copy)
    return out


def load_themes() -> list[dict[str, Any]]:
    return json.loads(THEMES_FILE.read_text(encoding="utf-8"))["themes"]


def true_labels(paths: list[Path]) -> dict[tuple[str, str], int]:
    """(file name, record id in the file) -> 1 include, 0 exclude."""
    from index import read_records

    return {
        (path.name, record.source_id): int(record.label == 1)
        for path in paths
        for record in read_records(path)
    }


def truth(
    base: str,
    pid: int,
    token: str,
    paths: list[Path],
    summaries: list[dict[str, Any]],
    themes: list[dict[str, Any]],
) -> tuple[dict[int, int], dict[int, str]]:
    """Each stored record's true label (1 include) and, for an include, its theme: the drug
    class of the review that included it. A record that several reviews hold (a duplicate
    across files, stored once) is an include when any of them included it."""
    by_file = true_labels(paths)
    review_theme = {t["review"]: t["name"] for t in themes if t["review"]}
    labels: dict[int, int] = {}
    theme_of: dict[int, str] = {}
    offset = 0
    while True:
        path = f"/api/projects/{pid}/records?limit=1000&offset={offset}"
        page = checked(call(base, "GET", path, None, token), 200)
        for record in page["items"]:
            file = Path(record["source_file"]).name
            labels[record["record_id"]] = by_file[(file, str(record["source_id"]))]
            theme_of[record["record_id"]] = review_theme[Path(file).stem]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break
    for summary in summaries:
        file = Path(summary["filename"]).name
        for link in summary.get("duplicate_links") or []:
            kept = link["duplicate_of"]
            if by_file[(file, str(link["source_id"]))] == 1 and labels.get(kept) == 0:
                labels[kept] = 1
                theme_of[kept] = review_theme[Path(file).stem]
    return labels, theme_of


# -- HTTP -----------------------------------------------------------------------------------


def upload(base: str, path: str, files: list[Path], token: str) -> tuple[int, Any]:
    """A multipart POST of ``files`` (field ``files``), as the page's import sends them."""
    boundary = uuid.uuid4().hex
    body = b""
    for file in files:
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{file.name}"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        body += file.read_bytes() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": f"Bearer {token}",
    }
    request = urllib.request.Request(base + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=1800) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def checked(result: tuple[int, Any], *ok: int) -> Any:
    status, body = result
    if status not in ok:
        raise SystemExit(f"unexpected answer {status}: {json.dumps(body)[:500]}")
    return body


class Timings:
    """Milliseconds per kind of request, and counts, shared by the reviewer threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = {}
        self.counts: Counter[str] = Counter()

    def add(self, name: str, ms: float) -> None:
        with self.lock:
            self.ms.setdefault(name, []).append(ms)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n


def timed(timings: Timings, name: str, *args: Any) -> tuple[int, Any]:
    started = time.perf_counter()
    result = call(*args)
    timings.add(name, (time.perf_counter() - started) * 1000)
    return result


# The page's PROGRESS_BACKOFF (webapi/static/js/views/screen.js).
PROGRESS_BACKOFF = 4


class Reviewer:
    """One reviewer at the page: the same requests in the same order."""

    def __init__(self, base: str, pid: int, name: str, token: str, number: int, n: int) -> None:
        self.base, self.pid, self.name, self.token = base, pid, name, token
        self.number, self.n = number, n  # reviewer ``number`` takes item ``number % n``
        self.progress_lock = threading.Lock()
        self.progress_sent = -float("inf")
        self.progress_cost = 0.0
        self.progress_due: threading.Timer | None = None
        self.progress_busy = self.progress_again = False
        self.progress_timers: list[threading.Timer] = []

    def schedule_progress(self, timings: Timings) -> None:
        """The page's ``scheduleProgress``: a progress request now, or once
        ``PROGRESS_BACKOFF`` times the last one's time has passed since it was sent; while one
        is on its way, another once it is answered; nothing when one is due already."""
        with self.progress_lock:
            if self.progress_busy:
                self.progress_again = True
                return
            if self.progress_due is not None:
                return
            wait = self.progress_sent + PROGRESS_BACKOFF * self.progress_cost
            wait = max(0.0, wait - time.perf_counter())
            self.progress_due = threading.Timer(wait, self._send_progress, (timings,))
            self.progress_timers.append(self.progress_due)
            self.progress_due.start()

    def _send_progress(self, timings: Timings) -> None:
        with self.progress_lock:
            self.progress_due = None
            self.progress_busy = True
            sent = self.progress_sent = time.perf_counter()
        self.get(timings, "GET progress (parallel)", "/progress")
        with self.progress_lock:
            self.progress_cost = time.perf_counter() - sent
            self.progress_busy = False
            again, self.progress_again = self.progress_again, False
        if again:
            self.schedule_progress(timings)

    def get(self, timings: Timings, name: str, path: str) -> tuple[int, Any]:
        return timed(
            timings, name, self.base, "GET", f"/api/projects/{self.pid}{path}", None, self.token
        )

    def next_record(self, timings: Timings, decided: set[int]) -> dict[str, Any] | None:
        """``loadQueue``: the queue's top record, then its themes (the page shows the record
        once both are there). Counts a record offered though decided before the read."""
        with timings.lock:
            closed = set(decided)
        path = f"/queue?n={self.n}&k=3&stage={STAGE}"
        status, queue = self.get(timings, "GET queue", path)
        if status != 200:
            raise RuntimeError(f"queue answered {status}: {queue}")
        timings.count(f"mode {queue.get('mode')}")
        items = queue.get("items") or []
        if not items:
            return None
        item = items[self.number % len(items)]
        if item["record_id"] in closed:
            timings.count("offered a decided record")
        status, themes = self.get(timings, "GET themes", f"/records/{item['record_id']}/themes")
        if status != 200:
            raise RuntimeError(f"record themes answered {status}: {themes}")
        return item

    def screen(
        self,
        timings: Timings,
        labels: dict[int, int],
        theme_of: dict[int, str],
        decided: set[int],
        decisions: int,
        deadline: float,
        themes_with: str,
    ) -> None:
        try:
            item = self.next_record(timings, decided)
            made = 0
            while item is not None and made < decisions and time.perf_counter() < deadline:
                record_id = item["record_id"]
                include = labels[record_id] == 1
                body: dict[str, Any] = {
                    "label": "include" if include else "exclude",
                    "stage": STAGE,
                    "note": "",
                    "supersedes": None,
                    "reviewer": self.name,
                }
                if not include:
                    body["reason"] = ""
                if include:
                    body["themes"] = [theme_of[record_id]] if record_id in theme_of else []
                elif themes_with == "every":
                    body["themes"] = [
                        t["theme"] for t in item.get("themes") or [] if t.get("suggested")
                    ]
                started = time.perf_counter()
                status, answer = timed(
                    timings,
                    "POST decision",
                    self.base,
                    "POST",
                    f"/api/projects/{self.pid}/records/{record_id}/decisions",
                    body,
                    self.token,
                )
                if status == 409:
                    # Another reviewer decided it first: the page shows the record as it is
                    # now; the reviewer then goes back to the queue.
                    timings.count("409 conflicts")
                    self.get(
                        timings, "GET record (after 409)", f"/records/{record_id}?stage={STAGE}"
                    )
                    item = self.next_record(timings, decided)
                    continue
                if status != 201:
                    raise RuntimeError(f"decision answered {status}: {answer}")
                with timings.lock:
                    decided.add(record_id)
                made += 1
                timings.count("decisions")
                timings.count("with themes" if "themes" in body else "without themes")
                self.schedule_progress(timings)
                item = self.next_record(timings, decided)
                timings.add("decision to next record", (time.perf_counter() - started) * 1000)
        except (OSError, RuntimeError, ValueError) as error:  # a timeout, refused, a 5xx
            timings.count("errors")
            print(f"  {self.name}: stopped: {error}", file=sys.stderr, flush=True)
        finally:
            joined = 0  # the last refreshes included, as the page's would come
            while True:
                with self.progress_lock:
                    timers = self.progress_timers[joined:]
                if not timers:
                    break
                for timer in timers:
                    timer.join()
                joined += len(timers)


def run_phase(
    base: str,
    pid: int,
    reviewers: list[tuple[str, str]],
    labels: dict[int, int],
    theme_of: dict[int, str],
    decided: set[int],
    args: argparse.Namespace,
) -> tuple[Timings, float]:
    timings = Timings()
    deadline = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(
            target=Reviewer(base, pid, name, token, i, args.n).screen,
            args=(timings, labels, theme_of, decided, args.decisions, deadline, args.themes_with),
        )
        for i, (name, token) in enumerate(reviewers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, time.perf_counter() - started


# -- the server, in a process of its own ----------------------------------------------------


def encoder_of(name: str) -> Any:
    if name == "real":
        return None  # the service loads the packaged model
    from tests.fakes import HashingEncoder

    return HashingEncoder()


def serve_child(home: Path, encoder: str, threads: int) -> None:
    """``--serve``: the service on ``home`` behind waitress on a free loopback port (printed
    as ``PORT n``), until terminated."""
    import logging

    from webapi import create_app
    from webapi.server import make_server, one_math_thread
    from webapi.services import Screenwise

    one_math_thread()  # as `screenwise serve` does
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    service = Screenwise(home, encoder=encoder_of(encoder))
    app = create_app({"HOME": str(home), "SCREENWISE_SERVICE": service})
    # As `screenwise serve`: background refits, rankings started after imports (warm_up),
    # and one job worker thread in the server (imports, embedding).
    service.warm_up()
    service.tasks.consumer(1).start()
    server = make_server(app, port=0, threads=threads)
    print(f"PORT {server.effective_port}", flush=True)
    server.run()


class ServerProcess:
    def __init__(self, home: Path, encoder: str, threads: int) -> None:
        command = [sys.executable, "-m", "bench.seed_scale", "--serve", str(home)]
        command += ["--encoder", encoder, "--threads", str(threads)]
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=_one_thread_env()
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("PORT "):
            self.process.kill()
            raise SystemExit(f"the server did not start: {line!r}")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"
        # Whatever the server prints later is passed on, so that a full pipe never blocks it.
        threading.Thread(target=self._relay, daemon=True).start()

    def _relay(self) -> None:
        for line in self.process.stdout or ():
            print(f"  server: {line}", end="", file=sys.stderr)

    def peak_mib(self) -> float | None:
        return process_memory_mib(self.process.pid, "VmHWM")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _one_thread_env() -> dict[str, str]:
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return os.environ | dict.fromkeys(names, "1") | {"PYTHONPATH": str(REPO)}


def make_reviewers(home: Path, encoder: str, count: int) -> dict[str, str]:
    """An administrator (``bench-admin``) and ``count`` reviewers in a new home, each with a
    token (written to the store before the server starts); name -> token."""
    from webapi.access import new_token, token_hash
    from webapi.services import Screenwise

    service = Screenwise(home, encoder=encoder_of(encoder))
    tokens = {}
    try:
        for name in ["bench-admin"] + [f"reviewer-{n}" for n in range(count)]:
            service.store.create_reviewer(name, is_admin=name == "bench-admin")
            tokens[name] = new_token()
            service.store.add_token(name, token_hash(tokens[name]))
    finally:
        service.close()
    return tokens


def open_project(
    base: str, tokens: dict[str, str], themes: list[dict[str, Any]], paths: list[Path]
) -> tuple[int, list[dict[str, Any]], float]:
    """Over the API, as a new user would: the project with its themes (by the administrator),
    the reviewers as members, the files uploaded; its id, the import summaries and seconds."""
    admin = tokens["bench-admin"]
    body = {
        "name": PROJECT,
        "question": QUESTION,
        "themes": [{"name": t["name"], "description": t["description"]} for t in themes],
    }
    pid = checked(call(base, "POST", "/api/projects", body, admin), 201)["project_id"]
    for name in tokens:
        if name != "bench-admin":
            path = f"/api/projects/{pid}/members/{name}"
            checked(call(base, "PUT", path, {"role": "reviewer"}, admin), 200)
    started = time.perf_counter()
    path = f"/api/projects/{pid}/records?ignore_labels=true"
    job = checked(upload(base, path, paths, admin), 202)
    while job["state"] not in ("done", "failed", "cancelled"):
        time.sleep(0.5)
        job = checked(call(base, "GET", f"/api/jobs/{job['job_id']}", None, admin), 200)
    if job["state"] != "done":
        raise SystemExit(f"the import job ended {job['state']}: {job['error']}")
    return pid, job["result"]["files"], time.perf_counter() - started


# -- theme refit, one subprocess per size ---------------------------------------------------


def refit_child(folder: Path, size: int) -> None:
    """``--refit-child``: one theme refit at ``size`` records (the corpus's own size, or the
    corpus tiled), printed as one JSON line."""
    from threadpoolctl import threadpool_limits

    from bench.queue_timing import _features_of
    from webapi.models import DEFAULT_SUITE

    threadpool_limits(1)  # as the server (one_math_thread)
    texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
    vectors = np.load(folder / "vectors.npy")
    rows, Y = np.load(folder / "theme_rows.npy"), np.load(folder / "theme_Y.npy")
    names, descriptions = np.load(folder / "names.npy"), np.load(folder / "descriptions.npy")
    suite = DEFAULT_SUITE()
    features = suite.features(vectors, texts)  # what the service builds for the project
    if size > len(texts):
        rng = np.random.default_rng(0)
        features, _ = _features_of(texts, features, np.zeros(len(texts)), size, rng)
    gc.collect()
    before = _reset_peak_rss()
    started = time.perf_counter()
    model = fit_themes_as_the_service_does(suite, features, rows, Y, names, descriptions)
    seconds = time.perf_counter() - started
    peak = process_memory_mib(os.getpid(), "VmHWM")
    print(
        json.dumps(
            {
                "records": len(features.vectors),
                "labelled": len(rows),
                "seconds": seconds,
                "rss_before_mib": before,
                "peak_rss_mib": peak,
                "fit_peak_mib": None if peak is None or before is None else peak - before,
                "theme_mode": getattr(model, "mode_", None),
            }
        )
    )


def _reset_peak_rss() -> float | None:
    """This process's resident memory now, after resetting its peak (Linux), or ``None``."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return process_memory_mib(os.getpid(), "VmRSS")


def refit(folder: Path, size: int, args: argparse.Namespace) -> dict[str, Any]:
    limit = int(args.refit_memory_gib * 1024**3)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-m", "bench.seed_scale", "--refit-child", str(folder)]
    command += ["--size", str(size)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=args.refit_timeout,
            preexec_fn=cap,
            env=_one_thread_env(),
        )
    except subprocess.TimeoutExpired:
        return {"size": size, "failed": f"over {args.refit_timeout:.0f} s, stopped"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        last = re.sub(r"^[\w.]*\.(\w+:)", r"\1", last)  # numpy._core...._ArrayMemoryError:
        wall = time.perf_counter() - started
        return {
            "size": size,
            "failed": f"{last[:160]} (exit {done.returncode}, after {wall:.0f} s)",
        }
    return {"size": size} | json.loads(lines[-1])


def refit_inputs(
    home: Path,
    pid: int,
    encoder: str,
    cache: Path | None,
    labels: dict[int, int],
    theme_of: dict[int, str],
    themes: list[dict[str, Any]],
    folder: Path,
) -> str:
    """Write the refit's inputs to ``folder`` (the project's texts and vectors, the includes
    labelled with their drug class, the themes' vectors); says which vectors they are.
    ``cache``: a snapshot of the embeddings cache, or ``None``."""
    from index import Store
    from index.corpus import project_vectors
    from index.embedder import DEFAULT_MODEL
    from index.records import text_hash

    store = Store(home / "data" / "screenwise.db")
    try:
        served_model = DEFAULT_MODEL if encoder == "real" else encoder_of("fake").model_id
        ids, vectors = project_vectors(store, served_model, pid)
        text_of = {record_id: text for record_id, _, text in store.texts(pid)}
    finally:
        store.close()
    texts = [text_of[int(i)] for i in ids]
    which = f"the served encoder's ({served_model}, {vectors.shape[1]}-d)"
    real = encoder == "real"
    if not real and cache is not None:
        cached = Store(cache)
        try:
            found = cached.cached_vectors(DEFAULT_MODEL, {text_hash(t) for t in texts})
        finally:
            cached.close()
        if len(found) == len(set(texts)):
            vectors = np.stack([found[text_hash(t)] for t in texts]).astype(np.float32)
            which = f"real ({DEFAULT_MODEL}, {vectors.shape[1]}-d, from the embeddings cache)"
            real = True
        else:
            which += f"; the embeddings cache holds {len(found):,} of {len(set(texts)):,} texts"
    names = [t["name"] for t in themes]
    rows = [row for row, i in enumerate(ids) if labels.get(int(i)) == 1 and int(i) in theme_of]
    Y = np.array([[theme_of[int(ids[row])] == name for name in names] for row in rows], np.int64)
    query = encoder_of("fake") if not real else _real_encoder()
    name_vectors = np.stack([query.encode_query(t["name"]) for t in themes])
    description_vectors = np.stack(
        [query.encode_query(t["description"] or t["name"]) for t in themes]
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    np.save(folder / "vectors.npy", vectors)
    np.save(folder / "theme_rows.npy", np.array(rows, dtype=np.int64))
    np.save(folder / "theme_Y.npy", Y.reshape(len(rows), len(names)))
    np.save(folder / "names.npy", name_vectors)
    np.save(folder / "descriptions.npy", description_vectors)
    return which


def _real_encoder() -> Any:
    from index.embedder import DEFAULT_MODEL, Embedder

    return Embedder(DEFAULT_MODEL)


def cache_snapshot(cache: Path, folder: Path) -> Path | None:
    """A consistent copy of the embeddings cache in ``folder``, read without writing to it
    (another process may be filling it meanwhile); ``None`` when there is none."""
    if not cache.is_file():
        return None
    copy = folder / "embeddings-cache.sqlite"
    source = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return copy


def copy_cached_vectors(home: Path, paths: list[Path], cache: Path | None) -> int:
    """Put the vectors ``cache`` (a snapshot of the embeddings cache) holds for these files'
    texts into the project's store, so that ``--encoder real`` embeds only the others; how
    many were copied."""
    from index import Store, read_records
    from index.embedder import DEFAULT_MODEL
    from index.records import text_hash

    if cache is None:
        return 0
    hashes = {text_hash(r.text) for path in paths for r in read_records(path) if r.has_text}
    source = Store(cache)
    try:
        found = source.cached_vectors(DEFAULT_MODEL, hashes)
    finally:
        source.close()
    if found:
        target = Store(home / "data" / "screenwise.db")
        try:
            keys = sorted(found)
            target.put_vectors(DEFAULT_MODEL, keys, np.stack([found[k] for k in keys]))
        finally:
            target.close()
    return len(found)


# -- report ---------------------------------------------------------------------------------


def stats(values: list[float]) -> list[object]:
    if not values:
        return [0, "–", "–", "–"]
    array = np.array(values)
    return [
        len(array),
        f"{np.percentile(array, 50):.0f}",
        f"{np.percentile(array, 95):.0f}",
        f"{array.max():.0f}",
    ]


def p95(values: list[float]) -> float | None:
    return float(np.percentile(values, 95)) if values else None


def within(value: float | None, target: float, failed: bool = False) -> str:
    if failed:
        return "**no**"
    return "not run" if value is None else ("yes" if value < target else "**no**")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder")
    parser.add_argument("--decisions", type=int, default=200, help="decisions per reviewer")
    parser.add_argument("--seconds", type=float, default=180, help="time limit per phase")
    parser.add_argument("--reviewers", type=int, default=4, help="reviewers in the second phase")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument(
        "--n",
        type=int,
        default=1,
        help="queue items per read (the page: 1); reviewer i takes item i",
    )
    parser.add_argument("--encoder", choices=("fake", "real"), default="fake")
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--themes-with", choices=("includes", "every"), default="includes")
    parser.add_argument("--records-per-review", type=int, default=None, help="truncate each")
    parser.add_argument("--refit-timeout", type=float, default=300, help="seconds per refit")
    parser.add_argument("--refit-memory-gib", type=float, default=8, help="address-space cap")
    parser.add_argument("--quick", action="store_true", help="a smoke run (see above)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--refit-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve, args.encoder, args.threads)
        return
    if args.refit_child:
        refit_child(args.refit_child, args.size)
        return
    if args.quick:
        args.records_per_review = args.records_per_review or 150
        args.decisions, args.seconds = min(args.decisions, 10), min(args.seconds, 30)

    load_before = os.getloadavg()[0]
    themes = load_themes()
    paths = seed_reviews(args.data)
    with tempfile.TemporaryDirectory() as scratch:
        if args.records_per_review:
            paths = truncated_copies(paths, args.records_per_review, Path(scratch) / "files")
        home = Path(scratch) / "home"
        tokens = make_reviewers(home, args.encoder, args.reviewers)
        copied = (
            copy_cached_vectors(home, paths, cache_snapshot(args.embeddings_cache, Path(scratch)))
            if args.encoder == "real"
            else 0
        )

        server = ServerProcess(home, args.encoder, args.threads)
        try:
            base, admin = server.base, tokens["bench-admin"]
            pid, summaries, import_s = open_project(base, tokens, themes, paths)
            labels, theme_of = truth(base, pid, admin, paths, summaries, themes)
            records = sum(s["added"] for s in summaries)
            duplicates = sum(s["duplicates"] for s in summaries)
            includes = sum(labels.values())

            # The first read after the import builds the vectors, the index and the models.
            warm = Timings()
            for name, path in (
                ("first queue read", "queue?n=1&k=3"),
                ("first progress read", "progress"),
            ):
                timed(warm, name, base, "GET", f"/api/projects/{pid}/{path}", None, admin)
            rss_after_import = server.peak_mib()
            print(
                f"imported {records:,} records ({duplicates:,} duplicates, {includes:,} includes) "
                f"in {import_s:.1f} s; first queue read {warm.ms['first queue read'][0]:.0f} ms",
                flush=True,
            )

            decided: set[int] = set()
            reviewers = [(n, t) for n, t in tokens.items() if n != "bench-admin"]
            phases = {}
            for count in (1, args.reviewers):
                print(
                    f"{count} reviewer(s): up to {args.decisions} decisions each, "
                    f"{args.seconds:.0f} s",
                    flush=True,
                )
                timings, wall = run_phase(
                    base, pid, reviewers[:count], labels, theme_of, decided, args
                )
                phases[count] = (timings, wall, server.peak_mib())
        finally:
            server.stop()

        folder = Path(scratch) / "refit"
        snapshot = cache_snapshot(args.embeddings_cache, Path(scratch))
        vectors_used = refit_inputs(
            home, pid, args.encoder, snapshot, labels, theme_of, themes, folder
        )
        cache = args.embeddings_cache
        vectors_used += f"; cache {cache}" if snapshot else f"; no embeddings cache at {cache}"
        refits = []
        for size in [0, *([] if args.quick else REFIT_SIZES)]:
            print(f"theme refit at {size or 'the corpus size'} ...", flush=True)
            refits.append(refit(folder, size, args))

    report(
        args,
        paths,
        records,
        duplicates,
        includes,
        import_s,
        copied,
        warm,
        rss_after_import,
        phases,
        refits,
        vectors_used,
        (load_before, os.getloadavg()[0]),
    )


def report(
    args: argparse.Namespace,
    paths: list[Path],
    records: int,
    duplicates: int,
    includes: int,
    import_s: float,
    copied: int,
    warm: Timings,
    rss_after_import: float | None,
    phases: dict[int, tuple[Timings, float, float | None]],
    refits: list[dict[str, Any]],
    vectors_used: str,
    load: tuple[float, float],
) -> None:
    encoder = (
        "all-MiniLM-L6-v2 (real, 384-d)"
        if args.encoder == "real"
        else "fake hashing encoder (tests/fakes.py, 256-d)"
    )
    print(
        f"\n## Seed-sized review over HTTP: {records:,} records, "
        f"{len(load_themes())} themes, waitress {args.threads} threads, loopback\n"
    )
    reviews = ", ".join(p.stem.removeprefix("Cohen_2006_") for p in paths)
    print(
        f"corpus: {reviews} from {args.data} ({records:,} records after {duplicates:,} "
        f"duplicates, {includes:,} includes)"
    )
    if records < SEED_RECORDS:
        print(
            f"**smaller than the seed's {SEED_RECORDS:,} records**"
            + (" (--quick / --records-per-review)" if args.records_per_review else "")
        )
    print(
        f"encoder: {encoder}"
        + (
            f" ({copied:,} vectors copied from {args.embeddings_cache})"
            if args.encoder == "real"
            else ""
        )
        + f"; import over HTTP {import_s:.1f} s; first queue read after it "
        f"{warm.ms['first queue read'][0]:.0f} ms, first progress read "
        f"{warm.ms['first progress read'][0]:.0f} ms; queue n={args.n}; themes sent with "
        f"{args.themes_with}; "
        f"{os.cpu_count()} CPUs, 1-minute load average {load[0]:.1f} at the start, "
        f"{load[1]:.1f} at the end\n"
    )
    names = [
        "decision to next record",
        "POST decision",
        "GET queue",
        "GET themes",
        "GET progress (parallel)",
        "GET record (after 409)",
    ]
    rows = []
    for count, (timings, _, _) in phases.items():
        for name in names:
            if name in timings.ms:
                rows.append([name, count, *stats(timings.ms[name])])
    print(markdown_table(["request", "reviewers", "count", "p50 ms", "p95 ms", "max ms"], rows))
    print()
    for count, (timings, wall, peak) in phases.items():
        made = timings.counts["decisions"]
        other = ", ".join(
            f"{name} {n}" for name, n in sorted(timings.counts.items()) if name != "decisions"
        )
        print(
            f"- {count} reviewer(s): {made} decisions in {wall:.0f} s "
            f"({made / wall:.2f}/s); {other}; server peak RSS so far "
            f"{_mib(peak)}"
        )
    print(f"- server peak RSS after the import and the first reads: {_mib(rss_after_import)}")

    print(f"\n### Theme refit (the service's fit; vectors: {vectors_used})\n")
    rows = []
    for result in refits:
        label = "corpus" if result["size"] == 0 else f"{result['size']:,} (tiled)"
        if "failed" in result:
            rows.append([label, "–", "–", "–", "–", f"failed: {result['failed']}"])
            continue
        rows.append(
            [
                f"{result['records']:,}" + ("" if result["size"] == 0 else " (tiled)"),
                result["labelled"],
                f"{result['seconds']:.2f}",
                _mib(result["fit_peak_mib"]),
                _mib(result["peak_rss_mib"]),
                result.get("theme_mode") or "",
            ]
        )
    print(
        markdown_table(
            [
                "records",
                "theme labels",
                "fit s",
                "fit peak (RSS growth)",
                "process peak RSS",
                "mode",
            ],
            rows,
        )
    )
    print(
        f"\none subprocess per size, {args.refit_memory_gib:g} GiB address-space cap, "
        f"{args.refit_timeout:.0f} s limit; one math thread, as the server"
    )

    by_size = {r["size"]: r for r in refits}
    first = by_size.get(0, {})
    print("\n### Against issue 10's targets\n")
    next_1 = p95(phases[1][0].ms.get("decision to next record", []))
    next_4 = p95(phases[args.reviewers][0].ms.get("decision to next record", []))
    server_peak = phases[args.reviewers][2]
    rows = [
        [
            "decision to next record, 1 reviewer, p95",
            "< 150 ms",
            _ms(next_1),
            within(next_1, TARGET_NEXT_1),
        ],
        [
            f"the same with {args.reviewers} reviewers at once, p95",
            "< 400 ms",
            _ms(next_4),
            within(next_4, TARGET_NEXT_4),
        ],
        [
            f"theme refit at the corpus ({first.get('records', records):,})",
            "< 1 s",
            _s(first),
            within(first.get("seconds"), TARGET_REFIT["corpus"], "failed" in first),
        ],
    ]
    for size in REFIT_SIZES:
        result = by_size.get(size, {})
        rows.append(
            [
                f"theme refit at {size:,}",
                f"< {TARGET_REFIT[size]:g} s",
                _s(result),
                within(result.get("seconds"), TARGET_REFIT[size], "failed" in result),
            ]
        )
    big = by_size.get(100_000, {})
    rows.append(
        [
            "theme refit peak memory at 100,000",
            "< 1 GiB",
            "failed (see above)" if "failed" in big else _mib(big.get("fit_peak_mib")),
            within(big.get("fit_peak_mib"), TARGET_REFIT_MIB_100K, "failed" in big),
        ]
    )
    rows.append(
        [
            "server peak memory during the run",
            "< 1.5 GiB",
            _mib(server_peak),
            within(server_peak, TARGET_SERVER_MIB),
        ]
    )
    rows.append(
        [
            "queue p95 with 20 reviewers on the demo",
            "< 300 ms",
            "see bench/api_latency.py --clients 20",
            "–",
        ]
    )
    print(markdown_table(["figure", "target", "measured", "within"], rows))
    if records < SEED_RECORDS:
        print(
            f"\n(the corpus is smaller than the seed's {SEED_RECORDS:,} records: these figures "
            "are not the targets' case)"
        )

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "records": records,
            "encoder": args.encoder,
            "themes_with": args.themes_with,
            "phases": {
                str(count): {
                    "ms": t.ms,
                    "counts": dict(t.counts),
                    "wall_s": wall,
                    "server_peak_mib": peak,
                }
                for count, (t, wall, peak) in phases.items()
            },
            "refits": refits,
            "refit_vectors": vectors_used,
        }
        args.json.write_text(json.dumps(figures, indent=1))


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} MiB"


def _ms(value: float | None) -> str:
    return "not run" if value is None else f"{value:.0f} ms"


def _s(result: dict[str, Any]) -> str:
    if not result:
        return "not run"
    if "failed" in result:
        return "failed (see above)"
    return f"{result['seconds']:.2f} s"


if __name__ == "__main__":
    main()
