"""Two stages: title/abstract, then full text of the records finally included at the first,
each with its own decisions and the project's exclusion reasons."""

import pytest

from tests.conftest import DATA

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
REASONS = {
    "title_abstract": ["wrong population", "wrong intervention", "wrong study design"],
    "full_text": ["wrong population", "wrong outcome", "report not retrieved"],
}


def decide(client, project, record_id, label, reviewer="ann", **fields):
    return client.post(
        f"/api/projects/{project}/records/{record_id}/decisions",
        json={"label": label, "reviewer": reviewer, **fields},
    )


def queue_ids(client, project, stage):
    body = client.get(
        f"/api/projects/{project}/queue", query_string={"n": 500, "stage": stage}
    ).get_json()
    return [i["record_id"] for i in body["items"]], body


@pytest.fixture
def staged(client, service):
    """Project 'st' (single screening) with exclusion reasons per stage; the ADHD records."""
    response = client.post(
        "/api/projects", json={"name": "st", "question": "ADHD drugs", "exclusion_reasons": REASONS}
    )
    assert response.status_code == 201
    assert response.get_json()["settings"] == {"exclusion_reasons": REASONS}
    service.import_files("st", [ADHD], ignore_labels=True)
    page = client.get("/api/projects/st/records", query_string={"limit": 30}).get_json()
    return [r["record_id"] for r in page["items"]]


def test_full_text_queue_is_the_records_included_at_title_abstract(client, staged):
    ids = staged
    included, excluded, maybe = ids[:4], ids[4:8], ids[8]
    for record_id in included:
        assert decide(client, "st", record_id, "include").status_code == 201
    for record_id in excluded:
        assert decide(client, "st", record_id, "exclude").status_code == 201
    assert decide(client, "st", maybe, "maybe").status_code == 201
    # One include changed to exclude: no longer eligible.
    assert (
        decide(client, "st", included[3], "exclude", reason="wrong population").status_code == 201
    )
    eligible = set(included[:3])
    full_text, body = queue_ids(client, "st", "full_text")
    assert set(full_text) == eligible and body["stage"] == "full_text"
    assert body["unscreened"] == 3
    title, _ = queue_ids(client, "st", "title_abstract")
    assert not set(title) & set(ids[:9])
    # Full-text decisions only for those records, with their own history.
    refused = decide(client, "st", excluded[0], "include", stage="full_text")
    assert refused.status_code == 409 and "not included" in refused.get_json()["detail"]
    assert decide(client, "st", maybe, "include", stage="full_text").status_code == 409
    made = decide(client, "st", included[0], "include", stage="full_text")
    assert made.status_code == 201 and made.get_json()["stage"] == "full_text"
    assert (
        decide(
            client, "st", included[1], "exclude", stage="full_text", reason="wrong outcome"
        ).status_code
        == 201
    )
    full_text, body = queue_ids(client, "st", "full_text")
    assert full_text == [included[2]] and body["unscreened"] == 1
    record = client.get(
        f"/api/projects/st/records/{included[0]}", query_string={"stage": "full_text"}
    ).get_json()
    assert record["decision"]["stage"] == "full_text"
    assert (
        client.get(f"/api/projects/st/records/{included[0]}").get_json()["decision"]["stage"]
        == "title_abstract"
    )
    stages = client.get("/api/projects/st/progress").get_json()["stages"]
    assert stages["title_abstract"]["included"] == 3
    assert stages["title_abstract"]["excluded_by_reason"] == {"wrong population": 1}
    ft = stages["full_text"]
    assert ft["eligible"] == 3 and ft["screened"] == 2 and ft["unscreened"] == 1
    assert ft["included"] == 1 and ft["excluded_by_reason"] == {"wrong outcome": 1}


def test_exclusion_reasons_are_validated_per_stage(client, staged):
    ids = staged
    bad = decide(client, "st", ids[0], "exclude", reason="wrong outcome")
    assert bad.status_code == 400 and bad.get_json()["field"] == "reason"
    assert "wrong study design" in bad.get_json()["detail"]
    # At title/abstract a reason is optional; an include needs none.
    assert decide(client, "st", ids[0], "exclude").status_code == 201
    assert decide(client, "st", ids[1], "exclude", reason="wrong study design").status_code == 201
    assert decide(client, "st", ids[2], "include").status_code == 201
    # At full text an exclusion must give one of the full-text reasons.
    missing = decide(client, "st", ids[2], "exclude", stage="full_text")
    assert missing.status_code == 400 and missing.get_json()["field"] == "reason"
    wrong = decide(client, "st", ids[2], "exclude", stage="full_text", reason="wrong intervention")
    assert wrong.status_code == 400
    assert (
        decide(
            client, "st", ids[2], "exclude", stage="full_text", reason="report not retrieved"
        ).status_code
        == 201
    )
    # The list is the project's to change; the mode only before screening starts.
    patched = client.patch(
        "/api/projects/st", json={"exclusion_reasons": {"title_abstract": ["off topic"]}}
    )
    assert patched.status_code == 200
    assert patched.get_json()["settings"]["exclusion_reasons"] == {"title_abstract": ["off topic"]}
    assert decide(client, "st", ids[3], "exclude", reason="wrong study design").status_code == 400
    assert decide(client, "st", ids[3], "exclude", reason="off topic").status_code == 201
    assert client.patch("/api/projects/st", json={"mode": "double"}).status_code == 409
    bad_stage = client.patch("/api/projects/st", json={"exclusion_reasons": {"later": ["x"]}})
    assert bad_stage.status_code == 400
    repeated = client.patch(
        "/api/projects/st", json={"exclusion_reasons": {"full_text": ["a", "a"]}}
    )
    assert repeated.status_code == 400 and repeated.get_json()["field"] == "exclusion_reasons"


def test_double_screening_at_both_stages(client, as_reviewer, service):
    assert (
        client.post(
            "/api/projects", json={"name": "two", "mode": "double", "exclusion_reasons": REASONS}
        ).status_code
        == 201
    )
    service.import_files("two", [ADHD], ignore_labels=True)
    alice = as_reviewer("alice", project="two")
    bob = as_reviewer("bob", project="two")
    rex = as_reviewer("rex", project="two", role="resolver")
    ids = [r["record_id"] for r in client.get("/api/projects/two/records").get_json()["items"]]
    agreed, conflict, pending = ids[:3]
    for record_id, a, b in ((agreed, "include", "include"), (conflict, "include", "exclude")):
        assert decide(alice, "two", record_id, a, "alice").status_code == 201
        assert decide(bob, "two", record_id, b, "bob").status_code == 201
    assert decide(alice, "two", pending, "include", "alice").status_code == 201
    assert queue_ids(alice, "two", "full_text")[0] == [agreed]
    assert decide(alice, "two", conflict, "include", "alice", stage="full_text").status_code == 409
    assert decide(rex, "two", conflict, "include", "rex", origin="resolution").status_code == 201
    assert set(queue_ids(bob, "two", "full_text")[0]) == {agreed, conflict}
    # Full text is blind too, with its own conflicts and reasons.
    assert (
        decide(
            alice, "two", agreed, "exclude", "alice", stage="full_text", reason="wrong outcome"
        ).status_code
        == 201
    )
    assert queue_ids(alice, "two", "full_text")[0] == [conflict]
    assert agreed in queue_ids(bob, "two", "full_text")[0]
    assert (
        bob.get(
            f"/api/projects/two/records/{agreed}", query_string={"stage": "full_text"}
        ).get_json()["decision"]
        is None
    )
    assert decide(bob, "two", agreed, "include", "bob", stage="full_text").status_code == 201
    conflicts = rex.get("/api/projects/two/conflicts", query_string={"stage": "full_text"})
    assert [c["record_id"] for c in conflicts.get_json()] == [agreed]
    assert rex.get("/api/projects/two/conflicts").get_json() == []
    ft = client.get("/api/projects/two/progress").get_json()["stages"]["full_text"]
    assert ft["eligible"] == 2 and ft["conflicts"] == 1 and ft["agreement"]["pairs"] == 1
