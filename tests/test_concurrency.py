"""Reviewers deciding at the same moment, over real HTTP (waitress on a loopback port, one
``http.client`` connection per reviewer thread): nothing is lost, nothing stored twice, and
the counts add up."""

import http.client
import json
import threading
from collections import Counter
from urllib.parse import urlsplit

import pytest

from tests.conftest import DATA, make_reviewer, serving
from webapi import create_app

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


class Reviewer(threading.Thread):
    """Posts one decision per record, after every reviewer is ready (a barrier)."""

    def __init__(self, base, token, name, project, records, label_of, barrier, supersedes):
        super().__init__(name=f"reviewer-{name}")
        self.url = urlsplit(base)
        self.token, self.reviewer, self.project = token, name, project
        self.records, self.label_of, self.barrier = records, label_of, barrier
        self.supersedes = supersedes
        self.answers: list[tuple[int, int, dict]] = []  # (record, status, body)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            self.barrier.wait(30)
            for number, record_id in enumerate(self.records):
                payload = {"label": self.label_of(number), "reviewer": self.reviewer}
                if self.supersedes:
                    payload["supersedes"] = None
                connection.request(
                    "POST",
                    f"/api/projects/{self.project}/records/{record_id}/decisions",
                    body=json.dumps(payload),
                    headers=headers,
                )
                response = connection.getresponse()
                self.answers.append((record_id, response.status, json.loads(response.read())))
            connection.close()
        except BaseException as e:  # reported by the test
            self.error = e


@pytest.fixture
def base(service):
    app = create_app({"HOME": str(service.home), "SCREENWISE_SERVICE": service})
    with serving(app, threads=8) as url:
        yield url


def test_parallel_reviewers_lose_nothing(base, service):
    store = service.store
    make_reviewer(service, "ann", admin=True)
    double = service.create_project("dbl", "ADHD drugs", mode="double", maintainer="ann")
    single = service.create_project("one", "ADHD drugs", maintainer="ann")
    service.import_files("dbl", [ADHD], ignore_labels=True)
    service.import_files("one", [ADHD], ignore_labels=True)
    tokens = {}
    for name in ("alice", "bob", "carol", "dave", "erin", "fay", "gus"):
        tokens[name] = make_reviewer(service, name)
        for project in (double, single):
            store.set_member(project.project_id, name, "reviewer")
    ids = [r["record_id"] for r in store.records(double.project_id, limit=120)[0]]
    one_ids = [r["record_id"] for r in store.records(single.project_id, limit=30)[0]]

    def include_every(k):
        return lambda number: "include" if number % k == 0 else "exclude"

    plan = [
        # Same records, double screening: alice, bob and carol race for two places each.
        ("alice", "dbl", ids[:40], include_every(3), False),
        ("bob", "dbl", ids[:40], include_every(2), False),
        ("carol", "dbl", ids[:40], include_every(1), False),
        # Different records at the same moment.
        ("dave", "dbl", ids[40:80], include_every(4), False),
        ("erin", "dbl", ids[80:120], include_every(5), False),
        # Single screening, same records, each expecting them undecided: one wins each.
        ("fay", "one", one_ids, include_every(2), True),
        ("gus", "one", one_ids, include_every(3), True),
    ]
    barrier = threading.Barrier(len(plan))
    threads = [
        Reviewer(base, tokens[name], name, project, records, label_of, barrier, supersedes)
        for name, project, records, label_of, supersedes in plan
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(t.error is None for t in threads), [t.error for t in threads]
    assert all(not t.is_alive() for t in threads)

    statuses = Counter(status for t in threads for _, status, _ in t.answers)
    assert set(statuses) <= {201, 409}
    for project, count in ((double, 120), (single, 30)):
        made = [
            (t.reviewer, record_id, body)
            for t in threads
            if t.project == project.name
            for record_id, status, body in t.answers
            if status == 201
        ]
        stored = store.decisions(project.project_id)
        # Every accepted decision is stored exactly once, and nothing else is.
        assert sorted(b["decision_id"] for _, _, b in made) == [d["decision_id"] for d in stored]
        by_id = {d["decision_id"]: d for d in stored}
        for reviewer, record_id, body in made:
            row = by_id[body["decision_id"]]
            assert (row["reviewer"], row["record_id"], row["label"]) == (
                reviewer,
                record_id,
                body["label"],
            )
        decided = Counter(d["record_id"] for d in stored)
        assert len(decided) == count
        audited = [e for e in store.audit(project.project_id) if e["action"] == "decision"]
        assert sorted(e["detail"]["decision_id"] for e in audited) == sorted(by_id)

    # Double screening: exactly two reviewers on each raced record, one on each other record.
    stored = store.decisions(double.project_id)
    reviewers_of: dict[int, dict[str, str]] = {}
    for d in stored:
        reviewers_of.setdefault(d["record_id"], {})[d["reviewer"]] = d["label"]
    assert all(len(reviewers_of[r]) == 2 for r in ids[:40])
    assert all(len(reviewers_of[r]) == 1 for r in ids[40:])
    raced = [t for t in threads if t.reviewer in ("alice", "bob", "carol")]
    assert sum(s == 201 for t in raced for _, s, _ in t.answers) == 80
    assert sum(s == 409 for t in raced for _, s, _ in t.answers) == 40
    agreed = [r for r in ids[:40] if len(set(reviewers_of[r].values())) == 1]
    figures = store.stats(double.project_id)
    assert figures["screened"] == len(agreed)
    assert figures["conflicts"] == 40 - len(agreed)
    assert figures["awaiting_second"] == 80
    assert figures["agreement"]["pairs"] == 40
    assert figures["screened"] + figures["unscreened"] == figures["records"] == 851
    assert figures["included"] + figures["excluded"] == figures["screened"]

    # Single screening: one decision per record, the loser told 409 with the winner's id.
    single_answers = [a for t in threads if t.project == "one" for a in t.answers]
    assert Counter(s for _, s, _ in single_answers) == Counter({201: 30, 409: 30})
    winners = {r: b["decision_id"] for r, s, b in single_answers if s == 201}
    for record_id, status, body in single_answers:
        if status == 409:
            assert body["current_decision"] == winners[record_id]
    assert store.stats(single.project_id)["screened"] == 30
