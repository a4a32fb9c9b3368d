"""Every endpoint through ``app.test_client()``; the ``client`` fixture checks each response
against the OpenAPI document (tests/openapi.py)."""

import csv
import io
import time
from pathlib import Path

import pytest

from classifier.estimate import METHOD
from index import read_records
from tests.conftest import DATA
from webapi.tasks import TaskQueue

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
DEMO = DATA / "import" / "asreview_demo_data"
PTSD = DATA / "import" / "van_de_Schoot_2017"
QUESTION = "methylphenidate stimulant treatment for attention deficit hyperactivity disorder"


def upload(client, project, *paths, names=None, **query):
    names = names or [Path(p).name for p in paths]
    files = [(io.BytesIO(Path(p).read_bytes()), name) for p, name in zip(paths, names, strict=True)]
    return client.post(
        f"/api/projects/{project}/records",
        data={"files": files},
        query_string=query,
        content_type="multipart/form-data",
    )


def imported(response) -> list[dict]:
    """The per-file summaries of an upload's import job (202; the tests' app runs the job
    inside the request, so it is done)."""
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/jobs/{job['job_id']}"
    assert job["kind"] == "import" and job["state"] == "done", job
    return job["result"]["files"]


def failed_import(response) -> dict:
    """The failed job of an upload whose file could not be imported."""
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["state"] == "failed" and job["phase"] == "failed", job
    return job


def create(client, name="adhd", question=QUESTION, themes=()):
    response = client.post(
        "/api/projects", json={"name": name, "question": question, "themes": list(themes)}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def decide(client, project, record_id, label, **fields):
    return client.post(
        f"/api/projects/{project}/records/{record_id}/decisions",
        json={"label": label, "reviewer": "ann", **fields},
    )


@pytest.fixture
def adhd(client):
    """Project 'adhd' with the ADHD export uploaded without its labels; the true labels by
    source id."""
    create(client)
    imported(upload(client, "adhd", ADHD, ignore_labels="true"))
    return {r.source_id: r.label for r in read_records(ADHD)}


def records_by_source(client, project):
    page = client.get(f"/api/projects/{project}/records", query_string={"limit": 1000})
    return {r["source_id"]: r for r in page.get_json()["items"]}


# -- health, search (from the foundation) -----------------------------------------------------


def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["projects"] == 0


def test_search(client, service):
    [summary] = service.import_files("adhd", [ADHD])
    response = client.get(
        "/api/projects/adhd/search", query_string={"q": "methylphenidate", "k": 4}
    )
    assert response.status_code == 200
    hits = response.get_json()
    assert len(hits) == 4 and hits[0]["score"] >= hits[-1]["score"]
    by_id = client.get(
        f"/api/projects/{summary['project_id']}/search",
        query_string={"q": "methylphenidate", "k": 4},
    )
    assert by_id.get_json() == hits


def test_errors_are_problem_documents(client, service):
    service.import_files("adhd", [ADHD])
    missing = client.get("/api/projects/nope/search", query_string={"q": "x"})
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert set(missing.get_json()) >= {"type", "title", "status", "detail"}
    bad = client.get("/api/projects/adhd/search", query_string={"q": "x", "k": "many"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "k"
    no_q = client.get("/api/projects/adhd/search")
    assert no_q.status_code == 400 and no_q.get_json()["field"] == "q"
    unknown = client.get("/api/nothing-here")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    wrong_method = client.put("/api/projects")
    assert wrong_method.status_code == 405
    assert wrong_method.mimetype == "application/problem+json"


def test_unexpected_errors_are_problems_without_traceback(client, service, monkeypatch):
    create(client)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "progress_report", broken)
    response = client.get("/api/projects/adhd/progress")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_configuration_from_the_environment(monkeypatch, service):
    from webapi import create_app

    monkeypatch.setenv("SCREENWISE_MAX_CONTENT_LENGTH", "1234")
    monkeypatch.setenv("SCREENWISE_SYNC_TRAIN_MAX_RECORDS", "77")
    app = create_app({"SCREENWISE_SERVICE": service})
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert service.sync_train_max_records == 77


# -- projects ---------------------------------------------------------------------------------


def test_projects_create_list_get_delete(client, service):
    project = create(
        client, themes=["stimulants", {"name": "non-stimulants", "description": "atomoxetine"}]
    )
    assert project["question"] == QUESTION
    assert [t["name"] for t in project["themes"]] == ["stimulants", "non-stimulants"]
    assert project["themes"][1]["description"] == "atomoxetine"
    assert client.get("/api/projects").get_json() == [project]
    assert client.get(f"/api/projects/{project['project_id']}").get_json() == project
    assert client.get("/api/projects/adhd").get_json() == project
    upload(client, "adhd", DEMO / "generic_labels.csv")
    index = service.data_dir / "indexes" / f"project-{project['project_id']}.faiss"
    assert index.exists()
    assert client.delete("/api/projects/adhd").status_code == 204
    assert client.get("/api/projects/adhd").status_code == 404
    assert not index.exists()
    assert client.delete("/api/projects/adhd").status_code == 404


def test_project_errors(client):
    create(client)
    duplicate = client.post("/api/projects", json={"name": "adhd"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.get_json()["detail"]
    nameless = client.post("/api/projects", json={"question": "q"})
    assert nameless.status_code == 400 and nameless.get_json()["field"] == "name"
    number = client.post("/api/projects", json={"name": "2024"})
    assert number.status_code == 400 and number.get_json()["field"] == "name"
    themes = client.post("/api/projects", json={"name": "t", "themes": ["a", "a"]})
    assert themes.status_code == 400 and themes.get_json()["field"] == "themes"
    unknown = client.post("/api/projects", json={"name": "u", "colour": "red"})
    assert unknown.status_code == 400 and unknown.get_json()["field"] == "colour"
    garbled = client.post("/api/projects", data="{not json", content_type="application/json")
    assert garbled.status_code == 400


# -- records and uploads ----------------------------------------------------------------------


def test_upload_summarises_each_file(client):
    create(client, "demo")
    response = upload(
        client,
        "demo",
        PTSD / "schoot-lgmm-ptsd-included-2.ris",
        PTSD / "schoot-lgmm-ptsd-included-3.ris",
        DEMO / "baseline_tag-notes_labels.ris",
    )
    final, subset, labelled = imported(response)
    assert final["filename"] == "schoot-lgmm-ptsd-included-2.ris" and final["added"] == 38
    # The 8 records of the subset are all among the 38: each is linked to the one it repeats.
    assert subset["read"] == 8 and subset["duplicates"] == 8 and subset["added"] == 0
    link = subset["duplicate_links"][0]
    assert {"record_id", "duplicate_of", "reason", "line"} <= set(link)
    assert labelled["format"] == "ris" and labelled["prior_labels"]["include"] > 0
    assert labelled["without_abstract"] >= 0 and final["embedded"] > 0
    again = imported(upload(client, "demo", PTSD / "schoot-lgmm-ptsd-included-3.ris"))
    assert again[0]["already_imported"] and again[0]["added"] == 0


def test_upload_errors(client, app, tmp_path):
    create(client, "demo")
    docx = tmp_path / "notes.docx"
    docx.write_bytes(b"PK\x03\x04 not an export")
    unsupported = upload(client, "demo", docx)
    assert unsupported.status_code == 415 and "notes.docx" in unsupported.get_json()["detail"]
    assert unsupported.get_json()["field"] == "files"
    header_only = tmp_path / "empty.csv"
    header_only.write_text("title,abstract\n")
    empty = failed_import(upload(client, "demo", header_only))
    assert "empty.csv" in empty["error"]
    broken = tmp_path / "broken.csv"
    broken.write_text('title,abstract\n"a title,"an unterminated abstract\n')
    malformed = failed_import(upload(client, "demo", DEMO / "generic.csv", broken))
    assert "broken.csv" in malformed["error"] and "line" in malformed["error"]
    assert "the other 1 file(s) of this import were not imported" in malformed["error"]
    assert client.get(f"/api/jobs/{malformed['job_id']}").get_json() == malformed
    page = client.get("/api/projects/demo/records").get_json()
    assert page["total"] == 0  # the good file in the same upload was not stored either
    nothing = client.post("/api/projects/demo/records", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 400 and nothing.get_json()["field"] == "files"
    assert upload(client, "nope", DEMO / "generic.csv").status_code == 404
    app.config["MAX_CONTENT_LENGTH"] = 2000
    too_large = upload(client, "demo", ADHD)
    assert too_large.status_code == 413
    assert too_large.mimetype == "application/problem+json"


def test_records_filters_and_paging(client, adhd):
    page = client.get("/api/projects/adhd/records", query_string={"limit": 5}).get_json()
    assert page["total"] == 851 and len(page["items"]) == 5 and page["offset"] == 0
    first = page["items"][0]
    assert first["decision"] is None and first["source_file"] == ADHD.name
    second = client.get("/api/projects/adhd/records", query_string={"limit": 5, "offset": 5})
    assert second.get_json()["items"][0]["record_id"] > page["items"][-1]["record_id"]
    decide(client, "adhd", first["record_id"], "include")
    decide(client, "adhd", page["items"][1]["record_id"], "exclude", reason="wrong population")
    counts = {
        status: client.get(
            "/api/projects/adhd/records", query_string={"status": status}
        ).get_json()["total"]
        for status in ("screened", "unscreened", "included", "excluded", "maybe")
    }
    assert counts == {"screened": 2, "unscreened": 849, "included": 1, "excluded": 1, "maybe": 0}
    one = client.get(f"/api/projects/adhd/records/{first['record_id']}").get_json()
    assert one["decision"]["label"] == "include" and one["title"] == first["title"]
    assert client.get("/api/projects/adhd/records/999999").status_code == 404
    assert client.get("/api/projects/nope/records").status_code == 404
    bad = client.get("/api/projects/adhd/records", query_string={"status": "later"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "status"
    no_theme = client.get("/api/projects/adhd/records", query_string={"theme": "x"})
    assert no_theme.status_code == 404


# -- decisions --------------------------------------------------------------------------------


def test_decisions_append_and_keep_history(client, adhd):
    record_id = records_by_source(client, "adhd")["1"]["record_id"]
    first = decide(client, "adhd", record_id, "maybe", note="check the dose")
    assert first.status_code == 201
    body = first.get_json()
    assert body["label"] == "maybe" and body["stage"] == "title_abstract"
    assert body["origin"] == "screen" and body["reviewer"] == "ann"
    second = decide(
        client,
        "adhd",
        record_id,
        "exclude",
        reason="not a drug trial",
        supersedes=body["decision_id"],
    )
    assert second.status_code == 201
    history = client.get(f"/api/projects/adhd/records/{record_id}/decisions").get_json()
    assert [d["label"] for d in history] == ["maybe", "exclude"]
    record = client.get(f"/api/projects/adhd/records/{record_id}").get_json()
    assert record["decision"]["label"] == "exclude"
    assert record["decision"]["reason"] == "not a drug trial"
    # Full text screens only records included at title/abstract (tests/test_stages.py).
    assert decide(client, "adhd", record_id, "include", stage="full_text").status_code == 409
    included = records_by_source(client, "adhd")["2"]["record_id"]
    decide(client, "adhd", included, "include")
    full_text = decide(client, "adhd", included, "include", stage="full_text")
    assert full_text.get_json()["stage"] == "full_text"
    everything = client.get("/api/projects/adhd/decisions").get_json()
    assert len(everything) == 4
    by_bob = client.get("/api/projects/adhd/decisions", query_string={"reviewer": "bob"})
    assert by_bob.get_json() == []


def test_decision_conflicts_and_errors(client, adhd):
    record_id = records_by_source(client, "adhd")["2"]["record_id"]
    made = decide(client, "adhd", record_id, "include", supersedes=None).get_json()
    stale = decide(client, "adhd", record_id, "exclude", supersedes=None)
    assert stale.status_code == 409
    assert stale.get_json()["current_decision"] == made["decision_id"]
    bad_label = decide(client, "adhd", record_id, "perhaps")
    assert bad_label.status_code == 400 and bad_label.get_json()["field"] == "label"
    no_reviewer = client.post(
        f"/api/projects/adhd/records/{record_id}/decisions", json={"label": "include"}
    )
    assert no_reviewer.status_code == 400 and no_reviewer.get_json()["field"] == "reviewer"
    unknown_theme = decide(client, "adhd", record_id, "include", themes=["nope"])
    assert unknown_theme.status_code == 400 and unknown_theme.get_json()["field"] == "themes"
    assert decide(client, "adhd", 999999, "include").status_code == 404
    assert client.get("/api/projects/adhd/records/999999/decisions").status_code == 404


def test_undecided_retracts_a_decision_and_the_record_returns_to_the_queue(client, adhd):
    top = client.get("/api/projects/adhd/queue", query_string={"n": 1}).get_json()["items"][0]
    record_id = top["record_id"]
    made = decide(client, "adhd", record_id, "include", supersedes=None).get_json()
    queue = client.get("/api/projects/adhd/queue", query_string={"n": 5}).get_json()
    assert record_id not in [i["record_id"] for i in queue["items"]]
    assert client.get("/api/projects/adhd/progress").get_json()["screened"] == 1
    undo = decide(client, "adhd", record_id, "undecided", supersedes=made["decision_id"])
    assert undo.status_code == 201 and undo.get_json()["label"] == "undecided"
    assert client.get(f"/api/projects/adhd/records/{record_id}").get_json()["decision"] is None
    queue = client.get("/api/projects/adhd/queue", query_string={"n": 1}).get_json()
    assert queue["items"][0]["record_id"] == record_id
    progress = client.get("/api/projects/adhd/progress").get_json()
    assert progress["screened"] == 0 and progress["recall_curve"] == []
    history = client.get(f"/api/projects/adhd/records/{record_id}/decisions").get_json()
    assert [d["label"] for d in history] == ["include", "undecided"]
    again = decide(client, "adhd", record_id, "exclude", supersedes=None)
    assert again.status_code == 201


def test_deciding_on_a_duplicate_is_a_conflict(client):
    create(client, "demo")
    summaries = imported(
        upload(
            client,
            "demo",
            PTSD / "schoot-lgmm-ptsd-included-2.ris",
            PTSD / "schoot-lgmm-ptsd-included-3.ris",
        )
    )
    duplicate = summaries[1]["duplicate_links"][0]["record_id"]
    response = decide(client, "demo", duplicate, "include")
    assert response.status_code == 409 and "duplicate" in response.get_json()["detail"]


# -- queue ------------------------------------------------------------------------------------


def test_queue_cold_start_by_question_then_model(client, adhd):
    queue = client.get("/api/projects/adhd/queue", query_string={"n": 20}).get_json()
    assert queue["mode"] == "question" and queue["unscreened"] == 851
    items = queue["items"]
    assert [i["rank"] for i in items] == list(range(1, 21))
    assert all(i["mode"] == "question" and i["nearest_includes"] == [] for i in items)
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert "hyperactivity" in (items[0]["title"] + items[0]["abstract"]).lower()
    # One include, no exclude yet: similarity to the included record.
    included = items[0]["record_id"]
    decide(client, "adhd", included, "include")
    queue = client.get("/api/projects/adhd/queue", query_string={"n": 5, "k": 1}).get_json()
    assert queue["mode"] == "similarity" and queue["unscreened"] == 850
    assert included not in [i["record_id"] for i in queue["items"]]
    assert queue["items"][0]["nearest_includes"][0]["record_id"] == included
    # Both classes: the relevance model ranks, and explains by the nearest includes.
    decide(client, "adhd", items[1]["record_id"], "exclude")
    queue = client.get("/api/projects/adhd/queue", query_string={"n": 5, "k": 2}).get_json()
    assert queue["mode"] == "model" and queue["model"]["labels"] == {"include": 1, "exclude": 1}
    neighbours = queue["items"][0]["nearest_includes"]
    assert len(neighbours) == 1 and neighbours[0]["record_id"] == included
    assert 0 < neighbours[0]["similarity"] <= 1
    scores = [i["score"] for i in queue["items"]]
    assert scores == sorted(scores, reverse=True)


def test_queue_without_question_is_in_record_order_and_textless_records_come_last(client):
    create(client, "demo", question="")
    upload(client, "demo", DEMO / "duplicate_records.csv")
    page = client.get("/api/projects/demo/records", query_string={"limit": 100}).get_json()
    queue = client.get("/api/projects/demo/queue", query_string={"n": 100}).get_json()
    assert queue["mode"] == "none"
    ids = [i["record_id"] for i in queue["items"]]
    assert sorted(ids) == sorted(r["record_id"] for r in page["items"])
    textless = {r["record_id"] for r in page["items"] if not r["title"] and not r["abstract"]}
    assert textless and set(ids[-len(textless) :]) == textless
    assert all(i["score"] is None and i["mode"] == "none" for i in queue["items"])


def test_queue_arguments(client, adhd):
    assert client.get("/api/projects/adhd/queue", query_string={"n": 0}).status_code == 400
    assert client.get("/api/projects/adhd/queue", query_string={"k": 99}).status_code == 400
    assert client.get("/api/projects/nope/queue").status_code == 404


# -- training ---------------------------------------------------------------------------------


def screen_from_queue(client, project, labels, count):
    """Decide ``count`` records from the top of the queue with their true labels."""
    for _ in range(count):
        [item] = client.get(f"/api/projects/{project}/queue", query_string={"n": 1}).get_json()[
            "items"
        ]
        label = "include" if labels[item["source_id"]] == 1 else "exclude"
        assert decide(client, project, item["record_id"], label).status_code == 201


def test_retrain_synchronously_and_read_the_model(client, adhd, service):
    info = client.get("/api/projects/adhd/model").get_json()
    assert info["mode"] == "question" and info["saved"] is None and info["training"] is None
    screen_from_queue(client, "adhd", adhd, 15)
    records = records_by_source(client, "adhd")
    included = [s for s, label in adhd.items() if label == 1][:2]
    for source_id in included:
        decide(client, "adhd", records[source_id]["record_id"], "include")
    response = client.post("/api/projects/adhd/training", json={"requested_by": "ann"})
    assert response.status_code == 200
    job = response.get_json()
    assert job["status"] == "done" and not job["background"]
    assert job["model"]["mode"] == "model" and job["model"]["relevance_model"]
    info = client.get("/api/projects/adhd/model").get_json()
    assert info["saved"]["sha256"] and info["saved"]["state"] == info["current"]["state"]
    assert info["embedding_model"] == "test-hashing"
    for meta in (info["current"], info["saved"]):
        assert meta["embedding_model"] == "test-hashing" and meta["dimension"] == 256
        assert meta["training_seconds"] > 0 and 0 < meta["metrics"]["training_auc"] <= 1
    status = client.get(f"/api/projects/adhd/training/{job['job_id']}").get_json()
    assert status == job
    assert client.get("/api/projects/adhd/training/nope").status_code == 404
    assert client.post("/api/projects/nope/training").status_code == 404


def test_background_retrain_conflicts_then_publishes(client, adhd, service):
    import threading

    from webapi.models import ModelSuite

    started, release = threading.Event(), threading.Event()

    class SlowSuite(ModelSuite):
        def fit(self, *args, **kwargs):
            if threading.current_thread() is not threading.main_thread():  # the job's worker
                started.set()
                assert release.wait(10)
            return super().fit(*args, **kwargs)

    service.models = SlowSuite()
    service.sync_train_max_records = 100
    screen_from_queue(client, "adhd", adhd, 3)
    records = records_by_source(client, "adhd")
    decide(client, "adhd", records[next(s for s, v in adhd.items() if v)]["record_id"], "include")
    # A real queue (huey's SQLite storage under the test's home) and a consumer thread.
    service.tasks = TaskQueue(service)
    consumer = service.tasks.consumer(1)
    consumer.start()
    try:
        check_background_retrain(client, started, release)
    finally:
        release.set()
        consumer.stop(graceful=True)


def check_background_retrain(client, started, release):
    response = client.post("/api/projects/adhd/training")
    assert response.status_code == 202
    job = response.get_json()
    assert job["background"] and job["status"] == "running"
    assert response.headers["Location"].endswith(f"/training/{job['job_id']}")
    assert started.wait(10)
    again = client.post("/api/projects/adhd/training")
    assert again.status_code == 409 and again.get_json()["job"] == job["job_id"]
    assert client.delete("/api/projects/adhd").status_code == 409
    # The queue does not wait for the job: it refits cheaply on its own.
    assert client.get("/api/projects/adhd/queue").get_json()["mode"] == "model"
    assert client.get("/api/projects/adhd/model").get_json()["training"]["job_id"] == job["job_id"]
    release.set()
    for _ in range(200):
        status = client.get(f"/api/projects/adhd/training/{job['job_id']}").get_json()
        if status["status"] != "running":
            break
        time.sleep(0.05)
    assert status["status"] == "done" and status["finished_at"]
    info = client.get("/api/projects/adhd/model").get_json()
    assert info["saved"]["state"] == info["current"]["state"]


# -- themes -----------------------------------------------------------------------------------


@pytest.fixture
def themed(client, tmp_path):
    """Project 'drugs' with three themes, from real records of the Cohen theme benchmark; the
    first 10 of each theme carry their theme label, the rest none."""
    source = DATA / "themes" / "cohen_drug_classes.csv"
    wanted = {"ADHD": 0, "Opiods": 0, "Triptans": 0}
    path = tmp_path / "drug_classes.csv"
    with source.open(encoding="utf-8") as f, path.open("w", encoding="utf-8", newline="") as out:
        reader = csv.DictReader(f)
        writer = csv.DictWriter(out, fieldnames=["record_id", "title", "abstract", "theme"])
        writer.writeheader()
        for row in reader:
            theme = row["theme"]
            if theme in wanted and wanted[theme] < 25:
                wanted[theme] += 1
                labelled = theme if wanted[theme] <= 10 else ""
                writer.writerow(
                    {k: row[k] for k in ("record_id", "title", "abstract")} | {"theme": labelled}
                )
    create(client, "drugs", question="drug treatments", themes=["ADHD", "Opiods", "Triptans"])
    imported(upload(client, "drugs", path))
    return path


def test_theme_suggestions_for_records(client, themed):
    """Suggestions for one record and for a list; the supervised model once every theme has
    labelled examples."""
    page = client.get("/api/projects/drugs/records", query_string={"limit": 100}).get_json()
    unlabelled = [r for r in page["items"] if not r["themes"]]
    one = client.get(f"/api/projects/drugs/records/{unlabelled[0]['record_id']}/themes")
    body = one.get_json()
    assert body["labelled"] is None
    assert {t["theme"] for t in body["themes"]} == {"ADHD", "Opiods", "Triptans"}
    assert sum(t["suggested"] for t in body["themes"]) >= 1
    ids = [r["record_id"] for r in unlabelled]
    many = client.post("/api/projects/drugs/themes/records", json={"record_ids": ids}).get_json()
    assert [m["record_id"] for m in many] == ids
    info = client.get("/api/projects/drugs/model").get_json()
    # Ten labels per theme: the labels lead, the names still count (supervised from 20).
    assert info["current"]["theme_mode"] == "blend"
    truth = {}
    with (DATA / "themes" / "cohen_drug_classes.csv").open(encoding="utf-8", newline="") as f:
        truth = {row["record_id"]: row["theme"] for row in csv.DictReader(f)}
    source = {r["record_id"]: r["source_id"] for r in unlabelled}
    top = {m["record_id"]: m["themes"][0]["theme"] for m in many}
    right = sum(top[i] == truth[source[i]] for i in ids)
    assert right >= 0.8 * len(ids), f"{right} of {len(ids)} top suggestions right"
    assert (
        client.post("/api/projects/drugs/themes/records", json={"record_ids": []}).status_code
        == 400
    )
    missing = client.post("/api/projects/drugs/themes/records", json={"record_ids": [999999]})
    assert missing.status_code == 404
    labelled = next(r for r in page["items"] if r["themes"])
    theirs = client.get(f"/api/projects/drugs/records/{labelled['record_id']}/themes").get_json()
    assert theirs["labelled"] == labelled["themes"]


def test_theme_suggestions_follow_the_truth(client, themed):
    """Suggested best themes agree with the benchmark's themes for unlabelled records."""
    true_theme = {}
    with themed.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            true_theme[row["title"]] = row["theme"]
    source = DATA / "themes" / "cohen_drug_classes.csv"
    with source.open(encoding="utf-8") as f:
        full = {row["title"]: row["theme"] for row in csv.DictReader(f)}
    page = client.get("/api/projects/drugs/records", query_string={"limit": 100}).get_json()
    unlabelled = [r for r in page["items"] if not r["themes"]]
    suggestions = client.post(
        "/api/projects/drugs/themes/records",
        json={"record_ids": [r["record_id"] for r in unlabelled]},
    ).get_json()
    hits = sum(s["themes"][0]["theme"] == full[s["title"]] for s in suggestions)
    assert hits >= 0.6 * len(suggestions)


def test_candidates_for_a_review_update(client, adhd):
    records = read_records(ADHD)
    known = records_by_source(client, "adhd")[records[0].source_id]
    decide(client, "adhd", known["record_id"], "exclude", reason="adult population")
    decide(client, "adhd", records_by_source(client, "adhd")["3"]["record_id"], "include")
    posted = [
        {"title": records[0].title, "abstract": records[0].abstract, "pmid": records[0].pmid},
        {"title": "Methylphenidate for ADHD in school children: a randomised trial"},
        {"title": "", "abstract": ""},
    ]
    response = client.post("/api/projects/adhd/themes/candidates", json={"records": posted})
    assert response.status_code == 200
    answer = response.get_json()
    scores = [c["score"] for c in answer]
    # Best first, unscored last.
    assert scores[-1] is None and scores[:-1] == sorted(scores[:-1], reverse=True)
    repeat, new, empty = sorted(answer, key=lambda c: c["position"])
    assert repeat["duplicate_of"]["record_id"] == known["record_id"]
    assert repeat["duplicate_of"]["decision"]["label"] == "exclude"
    assert new["duplicate_of"] is None and new["mode"] == "model" and 0 < new["probability"] < 1
    assert empty["probability"] is None
    assert new["nearest_includes"]
    assert empty["score"] is None and empty["mode"] == "none"
    missing = client.post("/api/projects/adhd/themes/candidates", json={"records": []})
    assert missing.status_code == 400 and missing.get_json()["field"] == "records"
    response = client.post(
        "/api/projects/adhd/themes/candidates/file",
        data={"files": [(io.BytesIO(ADHD.read_bytes()[:20000]), "update.csv")]},
        content_type="multipart/form-data",
    )
    # The first 20,000 bytes end inside a record: the reader names the file and line.
    assert response.status_code == 400 and "update.csv" in response.get_json()["detail"]
    response = client.post(
        "/api/projects/adhd/themes/candidates/file",
        data={"files": [(io.BytesIO((DEMO / "generic_labels.csv").read_bytes()), "new.csv")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and len(response.get_json()) == 6
    assert all(c["duplicate_of"] is None for c in response.get_json())
    assert client.get("/api/projects/adhd/records").get_json()["total"] == 851


# -- progress and export ----------------------------------------------------------------------


def test_progress_flow_curve_and_estimate(client, adhd):
    progress = client.get("/api/projects/adhd/progress").get_json()
    assert progress["identified"] == 851 and progress["records"] == 851
    assert progress["sources"][0]["filename"] == ADHD.name
    assert progress["recall_curve"] == [] and progress["estimate"]["expected"] is None
    screen_from_queue(client, "adhd", adhd, 20)
    records = records_by_source(client, "adhd")
    for source_id in [s for s, label in adhd.items() if label == 1][:3]:
        decide(client, "adhd", records[source_id]["record_id"], "include")
    first_unscreened = client.get(
        "/api/projects/adhd/records", query_string={"status": "unscreened", "limit": 1}
    ).get_json()["items"][0]
    decide(client, "adhd", first_unscreened["record_id"], "exclude", reason="not ADHD")
    progress = client.get("/api/projects/adhd/progress").get_json()
    assert progress["screened"] == progress["included"] + progress["excluded"]
    assert progress["excluded_by_reason"] == {"not ADHD": 1}
    curve = progress["recall_curve"]
    assert curve[-1]["screened"] == progress["screened"]
    assert curve[-1]["included"] == progress["included"]
    estimate = progress["estimate"]
    assert estimate["method"] == METHOD and estimate["level"] == 0.9
    assert 0 <= estimate["low"] <= estimate["expected"] <= estimate["high"] <= 851
    assert estimate["unscreened"] == progress["unscreened"]
    assert 0 < estimate["estimated_recall"] <= 1


def test_csv_export_is_safe_and_reimports_with_the_same_decisions(client, adhd, tmp_path):
    records = records_by_source(client, "adhd")
    chosen = list(records.values())[:6]
    labels = ["include", "exclude", "include", "maybe", "exclude", "exclude"]
    for record, label in zip(chosen, labels, strict=True):
        decide(client, "adhd", record["record_id"], label, note='=HYPERLINK("http://x")')
    response = client.get("/api/projects/adhd/export", query_string={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 851
    by_id = {int(r["record_id"]): r for r in rows}
    assert by_id[chosen[0]["record_id"]]["note"] == '\'=HYPERLINK("http://x")'
    assert by_id[chosen[0]["record_id"]]["reviewer"] == "ann"
    assert by_id[chosen[3]["record_id"]]["label_included"] == ""
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    create(client, "again", question="")
    exported = tmp_path / "adhd.csv"
    exported.write_bytes(response.get_data())
    reimport = imported(upload(client, "again", exported))
    assert reimport[0]["prior_labels"] == {"include": 2, "exclude": 3, "maybe": 1}
    # screenwise's own export restores the records' own source ids, the decisions (maybe
    # too) and their notes without the quote the export put before a formula.
    again = records_by_source(client, "again")
    for record, label in zip(chosen, labels, strict=True):
        decision = again[record["source_id"]]["decision"]
        assert decision["label"] == label
        assert decision["note"] == '=HYPERLINK("http://x")'


def test_ris_export_reimports_with_the_same_decisions(client, adhd, tmp_path):
    records = list(records_by_source(client, "adhd").values())
    labels = {records[0]["record_id"]: "include", records[1]["record_id"]: "exclude"}
    for record_id, label in labels.items():
        decide(client, "adhd", record_id, label, note="two\nlines")
    response = client.get("/api/projects/adhd/export", query_string={"format": "ris"})
    assert response.status_code == 200
    assert response.mimetype == "application/x-research-info-systems"
    text = response.get_data(as_text=True)
    assert text.count("ER  -") == 851 and "ASReview_relevant" in text
    assert "screenwise note: two lines" in text
    create(client, "again", question="")
    exported = tmp_path / "adhd.ris"
    exported.write_bytes(response.get_data())
    imported(upload(client, "again", exported))
    assert decisions_by_old_id(client, "again") == labels
    bad = client.get("/api/projects/adhd/export", query_string={"format": "xlsx"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "format"
    assert client.get("/api/projects/nope/export").status_code == 404


def decisions_by_old_id(client, project):
    """Current labels of a re-imported export, keyed by the exported record id (which the
    export's record id / RIS ID turned into the new records' source id)."""
    page = client.get(
        f"/api/projects/{project}/records", query_string={"status": "screened", "limit": 1000}
    ).get_json()
    return {int(r["source_id"]): r["decision"]["label"] for r in page["items"]}


# -- the document itself ----------------------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document(client, app):
    from tests.openapi import openapi_path

    documented = client.operations()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (openapi_path(rule.rule), method.lower()) in documented, rule.rule


def test_every_operation_is_exercised_with_its_documented_responses(
    client, adhd, tmp_path, service
):
    """A tour of the whole API; every operation answers with a documented status and body."""
    p = "/api/projects/adhd"
    records = records_by_source(client, "adhd")
    first = records["1"]["record_id"]
    client.get("/api/health")
    client.get("/api/projects")
    client.get(p)
    client.get(f"{p}/records")
    client.get(f"{p}/records/{first}")
    decide(client, "adhd", first, "include")
    decide(client, "adhd", records["2"]["record_id"], "exclude")
    client.get(f"{p}/records/{first}/decisions")
    client.get(f"{p}/decisions")
    client.get(f"{p}/queue")
    job = client.post(f"{p}/training").get_json()
    client.get(f"{p}/training/{job['job_id']}")
    client.get(f"{p}/model")
    client.get(f"{p}/records/{first}/themes")
    client.post(f"{p}/themes/records", json={"record_ids": [first]})
    client.post(f"{p}/themes/candidates", json={"records": [{"title": "stimulants"}]})
    client.post(
        f"{p}/themes/candidates/file",
        data={"files": [(io.BytesIO((DEMO / "generic.csv").read_bytes()), "g.csv")]},
        content_type="multipart/form-data",
    )
    client.get(f"{p}/search", query_string={"q": "stimulant"})
    client.get(f"{p}/progress")
    client.get(f"{p}/export")
    client.get(f"{p}/prisma")
    # Study types and the evidence map (tests/test_studytype.py, tests/test_evidence_map.py).
    client.get(f"{p}/study-types")
    client.patch(f"{p}/records/{first}/study-type", json={"study_type": "rct"})
    client.get(f"{p}/evidence-map")
    # Team screening: people, members, conflicts, audit (tests/test_access.py and others).
    client.get("/api/me")
    client.post("/api/reviewers", json={"name": "bob"})
    client.get("/api/reviewers")
    token = client.post("/api/reviewers/bob/tokens", json={"label": "laptop"}).get_json()
    client.get("/api/reviewers/bob/tokens")
    client.put(f"{p}/members/bob", json={"role": "resolver"})
    client.get(f"{p}/members")
    client.delete(f"{p}/members/bob")
    client.delete(f"/api/tokens/{token['token_id']}")
    client.patch(p, json={"exclusion_reasons": {"full_text": ["wrong population"]}})
    client.patch(p, json={"protocol": {"years_from": 1995, "languages": ["English"]}})
    client.get(f"{p}/limits")
    client.post(f"{p}/limits/apply")
    client.post(f"{p}/themes", json={"name": "Adults", "description": "ADHD in adults"})
    client.patch(f"{p}/themes", json={"theme": "Adults", "name": "Adult ADHD"})
    # Synthesis (tests/test_synthesis_api.py): themes discovered, picks and their selection.
    found = client.get(f"{p}/themes/proposals", query_string={"filter": "all"}).get_json()
    accept = {"key": found["key"], "filter": "all", "themes": [{"proposals": [0], "name": "F"}]}
    client.post(f"{p}/themes/proposals", json=accept)
    client.get(f"{p}/picks", query_string={"filter": "all"})
    client.put(f"{p}/picks/selection/{first}", query_string={"theme": "F"}, json={})
    client.get(f"{p}/picks/selection")
    client.delete(f"{p}/picks/selection/{first}", query_string={"theme": "F"})
    client.get(f"{p}/conflicts")
    client.get(f"{p}/audit")
    client.get("/api/audit")
    job = upload(client, "adhd", DEMO / "generic.csv").get_json()
    client.get(f"/api/jobs/{job['job_id']}")
    client.get(f"{p}/jobs", query_string={"active": "false"})
    for path, method in (("/cancel", client.post), ("", client.delete)):
        queued = service._create_job("embed", project_id=job["project_id"], params={})
        assert method(f"/api/jobs/{queued['job_id']}{path}").get_json()["state"] == "cancelled"
    create(client, "gone")
    client.delete("/api/projects/gone")
    succeeded = {(path, method) for path, method, status in client.seen if status < 300}
    assert succeeded == client.operations()
