"""A whole review over real HTTP: waitress on a free loopback port, driven with urllib."""

import csv
import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from index import read_records
from tests.conftest import DATA, make_reviewer, serving
from webapi import create_app

EXPORT = DATA / "screening" / "Cohen_2006_OralHypoglycemics.csv"
QUESTION = "oral hypoglycaemic drugs for type 2 diabetes: efficacy and safety of sulfonylureas"


class Http:
    """A tiny JSON-over-HTTP client on ``urllib``."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.requests = 0

    def call(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers
        )
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    def json(self, method: str, path: str, payload=None, expect: int = 200):
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, data = self.call(method, path, body, headers)
        assert status == expect, data.decode()
        return json.loads(data) if data else None

    def upload(self, path: str, files: dict[str, bytes], expect: int = 202):
        boundary = uuid.uuid4().hex
        parts = []
        for name, content in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        status, _, data = self.call("POST", path, body, headers)
        assert status == expect, data.decode()
        return json.loads(data)

    def wait(self, job: dict, timeout: float = 60) -> dict:
        """Follow a job at ``/api/jobs/ID`` until it is over; returns it."""
        deadline = time.monotonic() + timeout
        while job["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
            job = self.json("GET", f"/api/jobs/{job['job_id']}")
        return job

    def imported(self, path: str, files: dict[str, bytes]) -> list[dict]:
        """Upload, follow the import job to ``done``; its per-file summaries."""
        job = self.wait(self.upload(path, files))
        assert job["state"] == "done", job
        return job["result"]["files"]


@pytest.fixture
def http(service):
    """The server as ``screenwise serve`` runs it: the queue in HOME/data/queue.db (huey's
    SQLite storage, nothing else running) and a consumer thread in the server's process."""
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    consumer = service.tasks.consumer(1)
    consumer.start()
    try:
        with serving(app) as base:
            yield Http(base, make_reviewer(service, "ann", admin=True))
    finally:
        consumer.stop(graceful=True)


def test_a_whole_review_over_http(http, caplog):
    caplog.set_level(logging.INFO, logger="screenwise.access")
    truth = {r.source_id: r.label for r in read_records(EXPORT)}

    http.json("POST", "/api/projects", {"name": "oral", "question": QUESTION}, expect=201)
    job = http.upload(
        "/api/projects/oral/records?ignore_labels=true", {EXPORT.name: EXPORT.read_bytes()}
    )
    assert job["state"] in ("queued", "running") and job["files"] == [EXPORT.name]
    [summary] = http.wait(job)["result"]["files"]
    assert summary["added"] == 503 and summary["prior_labels"] == {"include": 0, "exclude": 0}

    first = http.json("GET", "/api/projects/oral/queue?n=10")
    assert first["mode"] == "question"

    screened = {}
    for _ in range(20):
        [item] = http.json("GET", "/api/projects/oral/queue?n=1")["items"]
        label = "include" if truth[item["source_id"]] == 1 else "exclude"
        http.json(
            "POST",
            f"/api/projects/oral/records/{item['record_id']}/decisions",
            {"label": label, "reviewer": "ann", "supersedes": None},
            expect=201,
        )
        screened[item["record_id"]] = label
    assert "include" in screened.values() and "exclude" in screened.values()

    job = http.json("POST", "/api/projects/oral/training", {"requested_by": "ann"})
    assert job["status"] == "done"
    after = http.json("GET", "/api/projects/oral/queue?n=10")
    assert after["mode"] == "model"
    assert [i["record_id"] for i in after["items"]] != [i["record_id"] for i in first["items"]]
    assert not {i["record_id"] for i in after["items"]} & set(screened)

    hits = http.json("GET", "/api/projects/oral/search?q=metformin%20lactic%20acidosis&k=5")
    assert len(hits) == 5

    status, headers, data = http.call("GET", "/api/projects/oral/export?format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert sum(row["label_included"] != "" for row in rows) == 20
    status, _, ris = http.call("GET", "/api/projects/oral/export?format=ris")
    assert status == 200

    for name, content in (("oral-export.csv", data), ("oral-export.ris", ris)):
        project = Path(name).stem.replace("-", "_") + Path(name).suffix.replace(".", "_")
        http.json("POST", "/api/projects", {"name": project}, expect=201)
        http.imported(f"/api/projects/{project}/records", {name: content})
        page = http.json("GET", f"/api/projects/{project}/records?status=screened&limit=100")
        restored = {int(r["source_id"]): r["decision"]["label"] for r in page["items"]}
        assert restored == screened, name

    # The access line is written once the body is sent, so the last one may trail a little.
    for _ in range(100):
        access = [r for r in caplog.records if r.name == "screenwise.access"]
        if len(access) == http.requests:
            break
        threading.Event().wait(0.02)
    assert len(access) == http.requests
    assert any('"GET /api/projects/oral/queue?n=10" 200' in r.getMessage() for r in access)
