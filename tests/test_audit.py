"""The audit trail: every decision, change, resolution, import, retrain, export and change of
people is recorded with who, when and what; readable and exportable; never changed."""

import csv
import io
import sqlite3

import pytest

from tests.conftest import DATA

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
P = "/api/projects/au"


def post_decision(client, name, record_id, label, **fields):
    response = client.post(
        f"{P}/records/{record_id}/decisions", json={"label": label, "reviewer": name, **fields}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_every_event_is_recorded_with_who_when_what(client, as_reviewer, service):
    assert client.post("/api/projects", json={"name": "au", "mode": "double"}).status_code == 201
    upload = client.post(
        f"{P}/records",
        data={"files": [(io.BytesIO(ADHD.read_bytes()), ADHD.name)]},
        query_string={"ignore_labels": "true", "actor": "someone else"},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 202 and upload.get_json()["state"] == "done"
    alice = as_reviewer("alice", project="au")
    bob = as_reviewer("bob", project="au")
    rex = as_reviewer("rex", project="au", role="resolver")
    ids = [r["record_id"] for r in client.get(f"{P}/records").get_json()["items"]]
    first = post_decision(alice, "alice", ids[0], "include")
    change = post_decision(alice, "alice", ids[0], "exclude", note="second thoughts")
    post_decision(bob, "bob", ids[0], "include")
    resolution = post_decision(rex, "rex", ids[0], "include", origin="resolution")
    post_decision(alice, "alice", ids[1], "exclude")
    post_decision(bob, "bob", ids[1], "exclude")
    assert client.post(f"{P}/training").status_code == 200
    assert client.get(f"{P}/export").status_code == 200
    assert client.put(f"{P}/members/rex", json={"role": "maintainer"}).status_code == 200
    events = client.get(f"{P}/audit").get_json()
    actions = [(e["actor"], e["action"]) for e in events]
    assert actions[:2] == [("ann", "project.create"), ("ann", "member.set")]
    assert ("ann", "import") in actions  # the caller, not the ignored actor argument
    assert actions.count(("alice", "decision")) == 2
    assert ("alice", "decision.change") in actions and ("rex", "resolution") in actions
    assert ("ann", "train") in actions and ("ann", "export") in actions
    assert actions[-1] == ("ann", "member.set")
    by_id = {e["detail"].get("decision_id"): e for e in events}
    assert by_id[change["decision_id"]]["detail"]["replaces"] == first["decision_id"]
    assert by_id[change["decision_id"]]["detail"]["note"] == "second thoughts"
    assert by_id[resolution["decision_id"]]["detail"]["label"] == "include"
    assert events[-1]["detail"] == {
        "reviewer": "rex",
        "role": "maintainer",
        "previous_role": "resolver",
    }
    assert all(e["created_at"] and e["project_id"] for e in events)
    times = [e["created_at"] for e in events]
    assert times == sorted(times)
    # Exported as CSV, with the export itself recorded.
    exported = client.get(f"{P}/audit", query_string={"format": "csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [int(r["event_id"]) for r in rows] == [e["event_id"] for e in events]
    assert client.get(f"{P}/audit").get_json()[-1]["action"] == "audit.export"


def test_blind_decisions_stay_blind_in_the_audit(client, as_reviewer, service):
    assert client.post("/api/projects", json={"name": "au", "mode": "double"}).status_code == 201
    service.import_files("au", [ADHD], ignore_labels=True)
    alice = as_reviewer("alice", project="au")
    mia = as_reviewer("mia", project="au", role="maintainer")
    record_id = client.get(f"{P}/records").get_json()["items"][0]["record_id"]
    made = post_decision(alice, "alice", record_id, "exclude", reason="adults", note="n=12")
    [event] = [e for e in mia.get(f"{P}/audit").get_json() if e["action"] == "decision"]
    assert event["detail"]["decision_id"] == made["decision_id"] and event["detail"]["redacted"]
    assert not {"label", "reason", "note"} & set(event["detail"])
    # The command line (the store's owner) reads everything.
    [stored] = [e for e in service.store.audit(1) if e["action"] == "decision"]
    assert stored["detail"]["label"] == "exclude" and stored["detail"]["reason"] == "adults"


def test_people_and_tokens_are_audited_at_instance_level(client, as_reviewer, runner):
    client.post("/api/reviewers", json={"name": "zed"})
    token = client.post("/api/reviewers/zed/tokens", json={"label": "lab"}).get_json()
    client.delete(f"/api/tokens/{token['token_id']}")
    events = client.get("/api/audit").get_json()
    assert [(e["actor"], e["action"]) for e in events[-3:]] == [
        ("ann", "reviewer.create"),
        ("ann", "token.create"),
        ("ann", "token.revoke"),
    ]
    assert all(e["project_id"] is None for e in events)
    assert "token" not in events[-2]["detail"] and events[-2]["detail"]["label"] == "lab"
    result = runner(["audit", "--json"])
    assert result.exit_code == 0 and '"token.revoke"' in result.output


def test_nothing_is_ever_updated_or_deleted(service):
    store = service.store
    project = store.create_project("au", actor="t")
    store.create_reviewer("zed")
    store.add_token("zed", "h" * 64)
    store.set_member(project.project_id, "zed", "reviewer")
    for sql in (
        "UPDATE audit SET actor = 'x'",
        "DELETE FROM audit",
        "DELETE FROM projects",
        "DELETE FROM reviewers",
        "UPDATE reviewers SET name = 'y'",
        "DELETE FROM tokens",
        "UPDATE tokens SET token_hash = 'x'",
        "DELETE FROM memberships",
        "UPDATE memberships SET role = 'maintainer'",
    ):
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
            conn.execute(sql)
    store.revoke_token(1)
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        conn.execute("UPDATE tokens SET revoked_at = 'later'")
