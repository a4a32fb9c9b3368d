"""Blind double screening: what each reviewer sees (queue, record, records, decisions, search,
export, progress), conflicts and their resolution, agreement statistics, and what trains the
models."""

import csv
import io

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from index.consensus import Viewer, record_state
from tests.conftest import DATA

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"
P = "/api/projects/dbl"


@pytest.fixture
def team(client, as_reviewer, service):
    """Project 'dbl' in blind double screening, the ADHD export without its labels; reviewers
    alice, bob, carol; resolver rex; ann (administrator) maintains it. Returns the clients
    and the first 40 record ids."""
    response = client.post("/api/projects", json={"name": "dbl", "mode": "double"})
    assert response.status_code == 201 and response.get_json()["mode"] == "double"
    service.import_files("dbl", [ADHD], ignore_labels=True)
    clients = {name: as_reviewer(name, project="dbl") for name in ("alice", "bob", "carol")}
    clients["rex"] = as_reviewer("rex", project="dbl", role="resolver")
    clients["ann"] = client
    page = client.get(f"{P}/records", query_string={"limit": 40}).get_json()
    return clients, [r["record_id"] for r in page["items"]]


def decide(client, name, record_id, label, **fields):
    response = client.post(
        f"{P}/records/{record_id}/decisions", json={"label": label, "reviewer": name, **fields}
    )
    return response


def ok(client, name, record_id, label, **fields):
    response = decide(client, name, record_id, label, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def queue_ids(client, n=500, **query):
    return [
        i["record_id"]
        for i in client.get(f"{P}/queue", query_string={"n": n, **query}).get_json()["items"]
    ]


def shown(client, record_id):
    return client.get(f"{P}/records/{record_id}").get_json()["decision"]


def history(client, record_id):
    return client.get(f"{P}/records/{record_id}/decisions").get_json()


def exported(client):
    text = client.get(f"{P}/export").get_data(as_text=True)
    return {int(r["record_id"]): r for r in csv.DictReader(io.StringIO(text))}


def progress(client):
    return client.get(f"{P}/progress").get_json()


def test_one_decision_stays_blind_everywhere(team):
    clients, ids = team
    alice, bob, ann = clients["alice"], clients["bob"], clients["ann"]
    x = ids[0]
    mine = ok(alice, "alice", x, "include", note="dose unclear")
    # Alice sees her own decision; her queue never offers the record again.
    assert shown(alice, x)["decision_id"] == mine["decision_id"]
    assert x not in queue_ids(alice)
    # Nobody else sees it: not bob, not the maintainer, not in any view.
    for name in ("bob", "carol", "rex", "ann"):
        c = clients[name]
        assert shown(c, x) is None, name
        assert history(c, x) == [], name
        assert all(d["record_id"] != x for d in c.get(f"{P}/decisions").get_json()), name
        screened = c.get(f"{P}/records", query_string={"status": "screened"}).get_json()
        assert screened["total"] == 0, name
    assert x in queue_ids(bob)  # one decision from someone else: bob may still decide
    hits = bob.get(f"{P}/search", query_string={"q": "attention deficit", "k": 851}).get_json()
    assert next(h for h in hits if h["record_id"] == x)["decision"] is None
    assert exported(ann)[x]["decision"] == "" and exported(ann)[x]["reviewer"] == ""
    bobs = progress(bob)
    assert bobs["screened"] == 0 and bobs["included"] == 0 and bobs["mine"]["screened"] == 0
    assert bobs["awaiting_second"] == 1
    alices = progress(alice)
    assert alices["screened"] == 0 and alices["mine"] == {
        "screened": 1,
        "included": 1,
        "excluded": 0,
        "maybe": 0,
    }


def test_agreement_makes_a_record_final_and_visible_to_all(team):
    clients, ids = team
    x = ids[1]
    ok(clients["alice"], "alice", x, "exclude", reason="adults")
    second = ok(clients["bob"], "bob", x, "exclude", reason="not a trial")
    for name, c in clients.items():
        assert shown(c, x)["label"] == "exclude", name
        assert {d["reviewer"] for d in history(c, x)} == {"alice", "bob"}, name
        assert x not in queue_ids(c), name
    assert shown(clients["carol"], x)["decision_id"] == second["decision_id"]
    assert exported(clients["ann"])[x]["decision"] == "exclude"
    figures = progress(clients["carol"])
    assert figures["screened"] == 1 and figures["excluded"] == 1
    assert figures["awaiting_second"] == 0 and figures["conflicts"] == 0
    # Final: a reviewer can no longer change it, and nobody else can add a decision.
    changed = decide(clients["alice"], "alice", x, "include")
    assert changed.status_code == 409 and "final" in changed.get_json()["detail"]
    assert decide(clients["carol"], "carol", x, "include").status_code == 409


def test_conflict_goes_to_the_resolver(team):
    clients, ids = team
    alice, bob, carol, rex = (clients[n] for n in ("alice", "bob", "carol", "rex"))
    y = ids[2]
    ok(alice, "alice", y, "include", note="children 6-12")
    ok(bob, "bob", y, "exclude", reason="open-label extension", note="no control")
    # Both decided: they see each other's; a third reviewer sees nothing, and cannot decide.
    assert {d["label"] for d in history(alice, y)} == {"include", "exclude"}
    assert shown(alice, y)["label"] == "include"  # not final: her own
    assert history(carol, y) == [] and shown(carol, y) is None
    assert decide(carol, "carol", y, "include").status_code == 409
    assert carol.get(f"{P}/conflicts").status_code == 403
    assert all(y not in queue_ids(c) for c in (alice, bob, carol))
    # The resolver sees both decisions, with their reasons and notes.
    [conflict] = rex.get(f"{P}/conflicts").get_json()
    assert conflict["record_id"] == y and conflict["record"]["title"]
    first, second = conflict["decisions"]
    assert (first["reviewer"], first["label"], first["note"]) == (
        "alice",
        "include",
        "children 6-12",
    )
    assert (second["reviewer"], second["reason"], second["note"]) == (
        "bob",
        "open-label extension",
        "no control",
    )
    assert {d["reviewer"] for d in history(rex, y)} == {"alice", "bob"}
    assert progress(rex)["conflicts"] == 1 and progress(rex)["screened"] == 0
    # A reviewer may not resolve; a resolution must include or exclude.
    assert decide(alice, "alice", y, "include", origin="resolution").status_code == 403
    assert decide(rex, "rex", y, "maybe", origin="resolution").status_code == 400
    resolution = ok(rex, "rex", y, "include", origin="resolution", note="criteria 2a")
    assert rex.get(f"{P}/conflicts").get_json() == []
    for name, c in clients.items():
        assert shown(c, y)["decision_id"] == resolution["decision_id"], name
    assert exported(clients["ann"])[y]["origin"] == "resolution"
    # After resolution only a resolver changes it.
    assert decide(bob, "bob", y, "exclude").status_code == 409
    assert ok(rex, "rex", y, "exclude", origin="resolution")["label"] == "exclude"
    # A resolution needs a conflict (or a final record): not a record awaiting its second.
    z = ids[3]
    ok(alice, "alice", z, "include")
    assert decide(rex, "rex", z, "include", origin="resolution").status_code == 409


def test_maybe_never_agrees_and_a_reviewer_may_change_until_final(team):
    clients, ids = team
    alice, bob, rex = clients["alice"], clients["bob"], clients["rex"]
    m = ids[4]
    ok(alice, "alice", m, "maybe")
    ok(bob, "bob", m, "maybe")
    assert [c["record_id"] for c in rex.get(f"{P}/conflicts").get_json()] == [m]
    # In conflict, alice changes her mind: still no agreement with bob's maybe.
    mine = history(alice, m)[0]
    ok(alice, "alice", m, "include", supersedes=mine["decision_id"])
    stale = decide(alice, "alice", m, "exclude", supersedes=mine["decision_id"])
    assert stale.status_code == 409
    # bob changes his to include: they now agree, and the record is final.
    ok(bob, "bob", m, "include")
    assert shown(clients["carol"], m)["label"] == "include"
    assert rex.get(f"{P}/conflicts").get_json() == []


def test_agreement_statistics_match_sklearn(team):
    clients, ids = team
    alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
    a_labels = [
        "include",
        "include",
        "exclude",
        "exclude",
        "exclude",
        "maybe",
        "include",
        "exclude",
        "exclude",
        "include",
        "exclude",
        "exclude",
    ]
    b_labels = [
        "include",
        "exclude",
        "exclude",
        "exclude",
        "include",
        "exclude",
        "include",
        "exclude",
        "maybe",
        "include",
        "exclude",
        "exclude",
    ]
    records = ids[10:22]
    for record_id, a, b in zip(records[:6], a_labels[:6], b_labels[:6], strict=True):
        ok(alice, "alice", record_id, a)
        ok(bob, "bob", record_id, b)
    # The other half with bob deciding first, and carol instead of alice: rater A is whoever
    # decided first, so these pairs are (bob, carol).
    pairs = list(zip(a_labels[:6], b_labels[:6], strict=True))
    for record_id, a, b in zip(records[6:], a_labels[6:], b_labels[6:], strict=True):
        ok(bob, "bob", record_id, b)
        ok(carol, "carol", record_id, a)
        pairs.append((b, a))
    # A decision changed after both decided is not independent: the pair keeps the first.
    ok(alice, "alice", records[1], "exclude")
    agreement = progress(carol)["agreement"]
    first, second = zip(*pairs, strict=True)
    assert agreement["pairs"] == 12
    assert agreement["agreed"] == sum(a == b for a, b in pairs)
    assert agreement["percent_agreement"] == pytest.approx(
        100 * np.mean([a == b for a, b in pairs]), abs=0.01
    )
    assert agreement["kappa"] == pytest.approx(cohen_kappa_score(first, second), abs=1e-6)
    assert progress(carol)["stages"]["title_abstract"]["agreement"] == agreement


def test_the_pair_is_what_each_decided_before_seeing_the_other():
    rows = [
        {"decision_id": 1, "record_id": 7, "label": "include", "reviewer": "a", "origin": "screen"},
        {"decision_id": 2, "record_id": 7, "label": "exclude", "reviewer": "a", "origin": "screen"},
        {"decision_id": 3, "record_id": 7, "label": "include", "reviewer": "b", "origin": "screen"},
        {"decision_id": 4, "record_id": 7, "label": "exclude", "reviewer": "b", "origin": "screen"},
    ]
    state = record_state(7, rows, "double")
    assert [d["decision_id"] for d in state.pair] == [2, 3]
    assert state.status == "final" and state.final["decision_id"] == 4
    assert record_state(7, rows[:3], "double").status == "conflict"
    assert record_state(7, rows[:2], "double").status == "pending"
    assert Viewer("c").name == "c"


def test_training_uses_final_decisions_only(team, service):
    from webapi.models import ModelSuite

    fits = []

    class RecordingSuite(ModelSuite):
        def fit(self, X, y, *args, **kwargs):
            fits.append((np.array(X.vectors), np.array(y)))
            return super().fit(X, y, *args, **kwargs)

    service.models = RecordingSuite()
    clients, ids = team
    alice, bob, rex = clients["alice"], clients["bob"], clients["rex"]
    agreed_in, agreed_out, conflict, resolved, pending = ids[30:35]
    for record_id, a, b in (
        (agreed_in, "include", "include"),
        (agreed_out, "exclude", "exclude"),
        (conflict, "include", "exclude"),
        (resolved, "exclude", "include"),
    ):
        ok(alice, "alice", record_id, a)
        ok(bob, "bob", record_id, b)
    ok(rex, "rex", resolved, "exclude", origin="resolution")
    ok(alice, "alice", pending, "include")
    assert alice.get(f"{P}/queue").status_code == 200
    X, y = fits[-1]
    state = service.vectors(service.project("dbl").project_id)
    row_ids = [int(state.ids[np.argmax(state.matrix @ row)]) for row in X]
    assert dict(zip(row_ids, y.tolist(), strict=True)) == {
        agreed_in: 1,
        agreed_out: 0,
        resolved: 0,
    }
    model = clients["ann"].get(f"{P}/model").get_json()
    assert model["current"]["labels"] == {"include": 1, "exclude": 2}


def test_each_queue_is_ranked_but_never_offers_a_decided_record(team):
    clients, _ = team
    alice, bob = clients["alice"], clients["bob"]
    before = queue_ids(bob, n=20)
    for record_id in before[:5]:
        ok(alice, "alice", record_id, "exclude")
    ok(bob, "bob", before[0], "exclude")
    after_alice = queue_ids(alice)
    assert not set(before[:5]) & set(after_alice)
    after_bob = queue_ids(bob)
    assert before[0] not in after_bob and set(before[1:5]) <= set(after_bob)
    assert bob.get(f"{P}/queue").get_json()["unscreened"] == 850
    assert alice.get(f"{P}/queue").get_json()["unscreened"] == 846


def test_themes_given_with_a_decision_stay_blind_too(client, as_reviewer, service):
    assert (
        client.post(
            "/api/projects", json={"name": "dbl", "mode": "double", "themes": ["stimulants"]}
        ).status_code
        == 201
    )
    service.import_files("dbl", [ADHD], ignore_labels=True)
    alice = as_reviewer("alice", project="dbl")
    bob = as_reviewer("bob", project="dbl")
    x = client.get(f"{P}/records").get_json()["items"][0]["record_id"]
    ok(alice, "alice", x, "include", themes=["stimulants"])
    assert alice.get(f"{P}/records/{x}").get_json()["themes"] == ["stimulants"]
    assert bob.get(f"{P}/records/{x}").get_json()["themes"] == []
    assert bob.get(f"{P}/records/{x}/themes").get_json()["labelled"] is None
    ok(bob, "bob", x, "include")
    assert bob.get(f"{P}/records/{x}").get_json()["themes"] == ["stimulants"]
