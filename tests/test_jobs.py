"""Long work as durable jobs on the task queue, over real HTTP: uploads answer 202 and a worker
(a thread of the server, or a separate process) imports; a worker killed mid-job leaves the
store consistent and the job resumes; a restart answers at once; limits refuse with 413/422."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import read_records
from index.store import ImportFile, NewProject
from tests.conftest import DATA, make_reviewer, serving
from tests.test_server import Http
from webapi import create_app

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
ROOT = Path(__file__).resolve().parent.parent


def worker_process(home: Path, encoder: str, *extra: str) -> subprocess.Popen:
    """``screenwise worker`` in its own process, on the home's queue and store."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SCREENWISE_QUEUE_URL", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from webapi.cli import main; main()",
            "--home",
            str(home),
            "worker",
            "--encoder",
            encoder,
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def serve_process(
    home: Path,
    port: int,
    *extra: str,
    stdout: int = subprocess.DEVNULL,
    stderr: int = subprocess.DEVNULL,
) -> subprocess.Popen:
    """``screenwise serve`` on ``home`` and ``port`` in its own process (the home's queue)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SCREENWISE_QUEUE_URL", None)
    command = [sys.executable, "-c", "from webapi.cli import main; main()", "--home", str(home)]
    return subprocess.Popen(
        [*command, "serve", "--port", str(port), *extra],
        env=env,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()


@pytest.fixture
def server(service):
    """The API with the default queue (HOME/data/queue.db) and no worker of its own: jobs wait
    for a ``screenwise worker`` process."""
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    with serving(app) as base:
        http = Http(base, make_reviewer(service, "ann", admin=True))
        http.json("POST", "/api/projects", {"name": "adhd", "question": "ADHD drugs"}, expect=201)
        yield http


def test_an_upload_is_imported_by_a_separate_worker_process(server, service):
    job = server.upload(
        "/api/projects/adhd/records?ignore_labels=true", {ADHD.name: ADHD.read_bytes()}
    )
    assert job["state"] == "queued" and job["kind"] == "import" and job["files"] == [ADHD.name]
    stored = service.data_dir / "uploads" / job["job_id"]
    assert stored.exists()  # under HOME, not the temp folder
    worker = worker_process(service.home, "tests.fakes:HashingEncoder")
    try:
        done = server.wait(job, timeout=300)  # a new process imports torch first
    finally:
        stop(worker)
    assert done["state"] == "done" and done["phase"] == "done", done
    [summary] = done["result"]["files"]
    records = read_records(ADHD)
    assert summary["read"] == len(records) and summary["added"] + summary["duplicates"] == len(
        records
    )
    assert 0 < done["result"]["embedded"] <= summary["added"]  # identical texts embed once
    vectors = service.vectors(done["project_id"])
    assert len(vectors.ids) == summary["added"] - summary["without_text"]
    assert not stored.exists()  # the stored upload goes once its job is over
    queue = server.json("GET", "/api/projects/adhd/queue?n=5")
    assert queue["embedding_pending"] == 0 and len(queue["items"]) == 5
    assert queue["unscreened"] == summary["added"] - summary["without_text"] + sum(
        1 for r in service.store.texts(done["project_id"]) if r[1] is None
    )


def test_the_worker_builds_the_tfidf_and_the_server_only_loads_it(server, service, monkeypatch):
    job = server.upload("/api/projects/adhd/records", {ADHD.name: ADHD.read_bytes()})
    # (the demo's 851 records: below the size from which jobs build it by default)
    monkeypatch.setenv("SCREENWISE_JOB_TFIDF_MIN_RECORDS", "1")
    worker = worker_process(service.home, "tests.fakes:HashingEncoder")
    try:
        done = server.wait(job, timeout=300)
    finally:
        stop(worker)
    assert done["state"] == "done", done
    pid = done["project_id"]
    assert service._features_path(pid).exists()

    def no_build(texts):
        raise AssertionError("the server built the TF-IDF the worker saved")

    monkeypatch.setattr(service.models, "text_features", no_build)
    state = service.vectors(pid)
    X = service.features(state)
    assert X.tfidf.shape[0] == len(state.ids) and X.tfidf.shape[1] > 1000
    # the labelled import trains on words at once: the queue's model reads the saved TF-IDF
    queue = server.json("GET", "/api/projects/adhd/queue?n=3")
    assert queue["mode"] == "model"  # (every imported record is decided: nothing left)
    # the vocabulary is loaded only when new records are mapped into it (a review update)
    assert X.vectorizer.transform(["methylphenidate in children"]).nnz > 0


def test_serve_runs_its_jobs_in_a_worker_process_that_dies_with_it(service, tmp_path):
    service.close()
    port = _free_port()
    process = serve_process(
        service.home, port, "--encoder", "tests.fakes:HashingEncoder", stdout=subprocess.PIPE
    )
    try:
        _wait_for_health(port, 120)
        lines = [process.stdout.readline() for _ in range(2)]
        [jobs_line] = [line for line in lines if line.startswith("jobs:")]
        assert "1 worker process(es) (pid " in jobs_line, lines
        worker_pid = int(jobs_line.split("(pid ")[1].split(")")[0])
        assert worker_pid != process.pid and _alive(worker_pid)
        reopened = type(service)(service.home)
        http = Http(f"http://127.0.0.1:{port}", make_reviewer(reopened, "ann", admin=True))
        reopened.close()
        http.json("POST", "/api/projects", {"name": "adhd"}, expect=201)
        job = http.upload("/api/projects/adhd/records", {ADHD.name: ADHD.read_bytes()})
        done = http.wait(job, timeout=300)
        assert done["state"] == "done", done
        reopened = type(service)(service.home)
        ran_in = reopened.store.job(done["job_id"])["worker"]
        reopened.close()
        assert ran_in.endswith(f":{worker_pid}")  # the job ran in the worker process
        process.kill()  # kill -9: the worker goes with the server
        process.wait()
        deadline = time.monotonic() + 30
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker_pid), "the worker outlived its server"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_worker_killed_mid_job_leaves_the_store_whole_and_the_job_resumes(server, service):
    job = server.upload(
        "/api/projects/adhd/records?ignore_labels=true", {ADHD.name: ADHD.read_bytes()}
    )
    first = worker_process(service.home, "tests.fakes:SlowHashingEncoder")
    try:
        deadline = time.monotonic() + 300
        while True:
            seen = server.json("GET", f"/api/jobs/{job['job_id']}")
            if seen["phase"] == "embed" and seen["done"] > 0:
                break
            assert time.monotonic() < deadline and seen["state"] != "failed", seen
            time.sleep(0.05)
        first.kill()  # kill -9, in the middle of embedding
        first.wait()
    finally:
        stop(first)
    pid = seen["project_id"]
    stats = service.stats(pid)
    records = read_records(ADHD)
    # The store phase was one transaction: every record is stored, once.
    assert stats["records"] + stats["duplicates"] == len(records)
    pending = service.pending_embedding(pid)
    assert 0 < pending < stats["records"]
    queue = server.json("GET", "/api/projects/adhd/queue?n=3")
    assert queue["embedding_pending"] == pending  # the embedded ones are screenable already
    assert server.json("GET", f"/api/jobs/{job['job_id']}")["state"] == "running"

    second = worker_process(service.home, "tests.fakes:HashingEncoder")
    try:
        done = server.wait(server.json("GET", f"/api/jobs/{job['job_id']}"), timeout=300)
    finally:
        stop(second)
    assert done["state"] == "done" and done["attempts"] == 2, done
    assert "stopped during phase 'embed'" in done["error"] and "resumed" in done["error"]
    assert service.stats(pid)["records"] == stats["records"]  # nothing stored twice
    assert service.pending_embedding(pid) == 0
    assert len(service.vectors(pid).ids) == stats["records"] - stats["without_text"]


def test_a_job_whose_worker_keeps_dying_fails_with_its_reason(service):
    job = service._create_job("embed", project_id=None, params={})
    for _ in range(3):
        service.store.claim_job(job["job_id"], f"{socket.gethostname()}:999999999")
        service.recover_jobs()
    failed = service.job(job["job_id"])
    assert failed["state"] == "failed" and "on each of 3 attempts" in failed["error"]


def test_the_server_listens_at_once_with_a_large_pending_import(service, tmp_path):
    """``screenwise serve`` does not embed before it listens: pending records get a job."""
    records = read_records(ADHD, ignore_labels=True)
    files = [
        ImportFile(
            f"copy-{n}.csv",
            "csv",
            f"{n:064x}",
            [dataclasses.replace(r, title=f"{r.title} ({n})", doi="", pmid="") for r in records],
        )
        for n in range(6)
    ]
    pid, _ = service.store.import_files(NewProject("big"), files)
    assert service.pending_embedding(pid) > 5000
    (service.data_dir / "tmp" / "upload-left-over").mkdir(parents=True)
    service.close()
    port = _free_port()
    started = time.monotonic()
    process = serve_process(service.home, port, "--workers", "0", stderr=subprocess.PIPE)
    try:
        health = _wait_for_health(port, 60)
        listened_after = time.monotonic() - started
    finally:
        stop(process)
    assert health["status"] == "ok"
    print(
        f"listening after {listened_after:.1f} s with {files and len(files) * len(records)} "
        "records pending"
    )
    reopened = type(service)(service.home)
    [embed] = [j for j in reopened.store.jobs(pid) if j["kind"] == "embed"]
    assert embed["state"] == "queued"  # the embedding resumes as a job
    assert not (service.data_dir / "tmp").exists()  # scratch files are cleaned at start
    reopened.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_health(port: int, timeout: float) -> dict:
    import json
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.1)


# -- limits -----------------------------------------------------------------------------------


@pytest.fixture
def limited(service, tmp_path):
    app = create_app(
        {
            "HOME": str(service.home),
            "SCREENWISE_SERVICE": service,
            "QUEUE_IMMEDIATE": True,
            "MAX_IMPORT_RECORDS": 100,
            "MAX_FIELD_BYTES": 2000,
            "MAX_HEADER_LINE_BYTES": 1000,
        }
    )
    with serving(app) as base:
        http = Http(base, make_reviewer(service, "ann", admin=True))
        http.json("POST", "/api/projects", {"name": "p"}, expect=201)
        yield http


def test_limits_answer_413_and_422_and_store_nothing(limited, service, tmp_path):
    too_many = limited.upload("/api/projects/p/records", {ADHD.name: ADHD.read_bytes()}, 413)
    assert "at most 100" in too_many["detail"] and ADHD.name in too_many["detail"]
    header = b"title,abstract," + b"x" * 2000 + b"\nA title,An abstract,\n"
    wide = limited.upload("/api/projects/p/records", {"wide.csv": header}, 422)
    assert "wide.csv, line 1" in wide["detail"] and wide["field"] == "files"
    long_abstract = b'title,abstract\nA title,"' + b"word " * 1000 + b'"\n'
    job = limited.upload("/api/projects/p/records", {"long.csv": long_abstract})
    assert job["state"] == "failed"
    assert "long.csv, line 2" in job["error"] and "abstract" in job["error"]
    assert limited.json("GET", "/api/projects/p/records")["total"] == 0
    assert service.store.jobs(states=("queued", "running")) == []
    assert not any((service.data_dir / "uploads").iterdir())


def test_redis_queue_with_a_real_redis_server(service, tmp_path):
    """The distributed option: the queue in a real redis-server, a consumer on it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it where apt-get may)")
    port = _free_port()
    redis = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        app = create_app(
            {
                "HOME": str(service.home),
                "SCREENWISE_SERVICE": service,
                "QUEUE_URL": f"redis://127.0.0.1:{port}/0",
            }
        )
        assert service.tasks.kind == "RedisHuey"
        consumer = service.tasks.consumer(1)
        consumer.start()
        try:
            with serving(app) as base:
                http = Http(base, make_reviewer(service, "ann", admin=True))
                http.json("POST", "/api/projects", {"name": "r"}, expect=201)
                [summary] = http.imported("/api/projects/r/records", {ADHD.name: ADHD.read_bytes()})
        finally:
            consumer.stop(graceful=True)
        assert summary["added"] > 0
        assert not (service.data_dir / "queue.db").exists()
    finally:
        redis.terminate()
        redis.wait(10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


# -- vectors as they land ---------------------------------------------------------------------


def test_vectors_never_embed_and_change_version_as_vectors_land(service, encoder):
    records = read_records(ADHD, ignore_labels=True)
    pid, _ = service.store.import_files(
        NewProject("lazy"), [ImportFile("a.csv", "csv", "0" * 64, records)]
    )
    empty = service.vectors(pid)
    assert len(empty.ids) == 0 and encoder.calls == 0
    pending = service.pending_embedding(pid)
    assert pending > 0
    report = service.embed_pending(pid)
    assert 0 < report.embedded <= pending and service.pending_embedding(pid) == 0
    full = service.vectors(pid)
    assert full.version != empty.version and len(full.ids) == pending


def test_a_cli_import_that_fails_leaves_no_project(runner, service, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text('title,abstract\n"a title,"an unterminated abstract\n')
    result = runner(["import", "--project", "ghost", str(ADHD), str(broken)])
    assert result.exit_code == 1 and "broken.csv" in result.output
    assert "ghost" not in {p.name for p in service.projects()}
    [job] = service.store.jobs()
    assert job["state"] == "failed" and "not imported either" in job["error"]


def test_reviewers_rank_a_limited_number_of_candidates(client, as_reviewer, service):
    service.import_files("p", [ADHD], ignore_labels=True)
    service.limits = dataclasses.replace(
        service.limits, reviewer_candidates=3, reviewer_upload_bytes=1000
    )
    bob = as_reviewer("bob", project="p")
    hits = [{"title": f"methylphenidate trial {n}", "abstract": "children"} for n in range(4)]
    refused = bob.post("/api/projects/p/themes/candidates", json={"records": hits})
    assert refused.status_code == 413 and "at most 3" in refused.get_json()["detail"]
    assert (
        bob.post("/api/projects/p/themes/candidates", json={"records": hits[:3]}).status_code == 200
    )
    assert (
        client.post("/api/projects/p/themes/candidates", json={"records": hits}).status_code == 200
    )
    big = bob.post(
        "/api/projects/p/themes/candidates/file",
        data={"files": [(io.BytesIO(ADHD.read_bytes()), ADHD.name)]},
        content_type="multipart/form-data",
    )
    assert (
        big.status_code == 413 and "a reviewer may send at most 1,000" in big.get_json()["detail"]
    )
    # A maintainer's large file is ranked in a job (the tests' app runs it in the request).
    ranked = client.post(
        "/api/projects/p/themes/candidates/file",
        data={"files": [(io.BytesIO(ADHD.read_bytes()), ADHD.name)]},
        content_type="multipart/form-data",
    )
    assert ranked.status_code == 202, ranked.get_json()
    job = ranked.get_json()
    assert job["kind"] == "candidates" and job["state"] == "done", job
    assert ranked.headers["Location"] == f"/api/jobs/{job['job_id']}"
    assert len(job["result"]) == len(read_records(ADHD))
    assert all(c["duplicate_of"] for c in job["result"])  # every hit is already in the project
    assert not any((service.data_dir / "uploads").iterdir())


def test_cancelling_a_running_import_stops_its_embedding(tmp_path):
    """Cancelled while embedding: the stored records stay, the job says cancelled, and the
    records left are embedded by the next embedding job."""
    from tests.fakes import SlowHashingEncoder
    from webapi.services import Screenwise

    service = Screenwise(tmp_path, encoder=SlowHashingEncoder(delay=1.0))
    app = create_app({"HOME": str(tmp_path), "SCREENWISE_SERVICE": service})
    consumer = service.tasks.consumer(1)
    consumer.start()
    try:
        with serving(app) as base:
            http = Http(base, make_reviewer(service, "ann", admin=True))
            http.json("POST", "/api/projects", {"name": "c"}, expect=201)
            job = http.upload(
                "/api/projects/c/records?ignore_labels=true", {ADHD.name: ADHD.read_bytes()}
            )
            deadline = time.monotonic() + 120
            while not (job["phase"] == "embed" and job["done"] > 0):
                assert time.monotonic() < deadline and job["state"] != "failed", job
                time.sleep(0.05)
                job = http.json("GET", f"/api/jobs/{job['job_id']}")
            asked = http.json("POST", f"/api/jobs/{job['job_id']}/cancel")
            assert asked["cancel_requested"]
            over = http.wait(asked)
            assert over["state"] == "cancelled", over
            again = http.call("POST", f"/api/jobs/{job['job_id']}/cancel")
            assert again[0] == 409
            pid = over["project_id"]
            pending = service.pending_embedding(pid)
            assert pending > 0 and service.stats(pid)["records"] > pending
            [resumed] = service.resume_embedding()
            done = http.wait(http.json("GET", f"/api/jobs/{resumed}"), timeout=120)
            assert done["state"] == "done" and done["kind"] == "embed"
            assert service.pending_embedding(pid) == 0
    finally:
        consumer.stop(graceful=True)
        service.close()
