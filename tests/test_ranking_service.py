"""The queue the service serves is the ranking the simulator measures, and reads never wait."""

import csv
import threading

import numpy as np

from classifier.features import CorpusFeatures
from classifier.simulate import draw_priors, simulate
from index.corpus import embed_texts
from index.datasets import read_labeled
from tests.conftest import DATA
from tests.test_api import decide, records_by_source

ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


def adhd_subset(path, includes=12, excludes=108):
    """The first ``includes`` included and ``excludes`` excluded ADHD records, in file order."""
    with ADHD.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        kept, counts = [], {"1": 0, "0": 0}
        for row in reader:
            label = row["label_included"]
            if counts[label] < (includes if label == "1" else excludes):
                counts[label] += 1
                kept.append(row)
        fields = reader.fieldnames
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return path


def test_service_queue_replays_the_simulation(client, service, tmp_path):
    """Decisions posted one by one over the API, each next record taken from the top of the
    queue, give the same order as ``classifier.simulate`` on the same records and priors."""
    path = adhd_subset(tmp_path / "adhd_subset.csv")
    dataset = read_labeled(path)
    service.import_files("replay", [path], ignore_labels=True)
    by_source = records_by_source(client, "replay")
    priors = draw_priors(dataset.labels, seed=0)
    steps = 40
    for row in priors:
        label = "include" if dataset.labels[row] else "exclude"
        decide(client, "replay", by_source[dataset.ids[row]]["record_id"], label)
    source_of = {r["record_id"]: source for source, r in by_source.items()}
    label_of = dict(zip(dataset.ids, dataset.labels.tolist(), strict=True))
    served = []
    for _ in range(steps):
        queue = client.get("/api/projects/replay/queue", query_string={"n": 1}).get_json()
        assert queue["ranking"]["current"] and queue["mode"] == "model"
        top = queue["items"][0]["record_id"]
        served.append(source_of[top])
        decide(client, "replay", top, "include" if label_of[source_of[top]] else "exclude")

    vectors = embed_texts(service.store, service.encoder, dataset.texts)
    features = CorpusFeatures.build(dataset.texts, vectors, dataset.lexical)
    run = simulate(features, dataset.labels, seed=0, priors=priors, retrain="every")
    simulated = [dataset.ids[row] for row in run.order[len(priors) : len(priors) + steps]]
    assert served == simulated


def test_reads_answer_from_the_last_ranking_while_a_refit_runs(client, service, tmp_path):
    """In background mode a queue read never waits for the refit a decision started, never
    offers the decided record, and says the order is one decision old; once the refit ends the
    queue reflects the decision."""
    from webapi.models import ModelSuite

    started, release = threading.Event(), threading.Event()

    class SlowSuite(ModelSuite):
        def fit(self, *args, **kwargs):
            if threading.current_thread().name.startswith("refit-"):
                started.set()
                assert release.wait(10)
            return super().fit(*args, **kwargs)

    path = adhd_subset(tmp_path / "adhd_subset.csv")
    service.import_files("adhd", [path], ignore_labels=True, question="stimulant medication")
    first = client.get("/api/projects/adhd/queue", query_string={"n": 10}).get_json()
    assert first["ranking"]["current"]
    service.models = SlowSuite()
    service.ranking_refit = "background"
    top = first["items"][0]["record_id"]
    decision = decide(client, "adhd", top, "exclude").get_json()
    stale = client.get("/api/projects/adhd/queue", query_string={"n": 20}).get_json()
    assert started.wait(10)
    assert top not in [item["record_id"] for item in stale["items"]]
    assert stale["ranking"] == {
        "decision_id": first["ranking"]["decision_id"],
        "latest_decision_id": decision["decision_id"],
        "current": False,
        "refitting": True,
    }
    # The old order, less the decided record.
    old = [i["record_id"] for i in first["items"]]
    assert [i["record_id"] for i in stale["items"]][: len(old) - 1] == old[1:]
    release.set()
    project_id = service.project("adhd").project_id
    assert service.ranking_settled(project_id, timeout=30)
    fresh = client.get("/api/projects/adhd/queue").get_json()
    assert fresh["ranking"]["current"] and not fresh["ranking"]["refitting"]
    assert fresh["ranking"]["decision_id"] == decision["decision_id"]


def test_a_new_question_reorders_the_cold_start_at_once(client, service, tmp_path):
    """The question is part of what a ranking depends on: a PATCH changes the next read."""
    path = adhd_subset(tmp_path / "adhd_subset.csv")
    service.import_files("cold", [path], ignore_labels=True, question="stimulant medication")
    before = client.get("/api/projects/cold/queue", query_string={"n": 5}).get_json()
    assert before["mode"] == "question"
    question = "quality of life of caregivers in economic evaluations"
    patched = client.patch("/api/projects/cold", json={"question": question})
    assert patched.status_code == 200
    after = client.get("/api/projects/cold/queue", query_string={"n": 5}).get_json()
    state = service.vectors(service.project("cold").project_id)
    expected = state.ids[np.argsort(-(state.matrix @ service.encoder.encode_query(question)))]
    assert [i["record_id"] for i in after["items"]] == [int(i) for i in expected[:5]]
    assert [i["record_id"] for i in after["items"]] != [i["record_id"] for i in before["items"]]


def test_reviewers_screening_at_once_are_offered_different_records(as_reviewer, service, tmp_path):
    """Single screening: a queue read holds its first records for the reader a while, so a
    second reviewer reading at the same moment gets the next ones instead."""
    path = adhd_subset(tmp_path / "adhd_subset.csv")
    service.import_files("team", [path], ignore_labels=True, question="stimulant medication")
    ann = as_reviewer("ann", project="team")
    bob = as_reviewer("bob", project="team")

    def top(client):
        return client.get("/api/projects/team/queue", query_string={"n": 1}).get_json()["items"]

    first, second = top(ann), top(bob)
    assert first[0]["record_id"] != second[0]["record_id"]
    assert top(ann) == first  # the reader keeps their own record on a re-read


def test_service_queue_replays_the_simulation_with_question_tail_and_adaptive_weights(
    client, service, tmp_path
):
    """A setting that reads the question, the decision order and the recent decisions
    (adaptive weights, tail phase) gives the service the simulator's order too."""
    from classifier.question import question_signal
    from webapi.models import ModelSuite

    setting = "default+question.5+adaptive50t1"
    service.models = ModelSuite(setting)
    question = "stimulant medication for attention deficit hyperactivity disorder"
    path = adhd_subset(tmp_path / "adhd_subset.csv", includes=12, excludes=78)
    dataset = read_labeled(path)
    service.import_files("q", [path], ignore_labels=True, question=question)
    by_source = records_by_source(client, "q")
    priors = draw_priors(dataset.labels, seed=1)
    for row in priors:
        label = "include" if dataset.labels[row] else "exclude"
        decide(client, "q", by_source[dataset.ids[row]]["record_id"], label)
    source_of = {r["record_id"]: source for source, r in by_source.items()}
    label_of = dict(zip(dataset.ids, dataset.labels.tolist(), strict=True))
    served = []
    for _ in range(75):
        queue = client.get("/api/projects/q/queue", query_string={"n": 1}).get_json()
        top = queue["items"][0]["record_id"]
        served.append(source_of[top])
        decide(client, "q", top, "include" if label_of[source_of[top]] else "exclude")

    vectors = embed_texts(service.store, service.encoder, dataset.texts)
    features = CorpusFeatures.build(dataset.texts, vectors, dataset.lexical)
    signal = question_signal(features, question, service.encoder.encode_query(question))
    run = simulate(
        features,
        dataset.labels,
        seed=1,
        priors=priors,
        retrain="every",
        setting=setting,
        question=signal,
        question_vector=service.encoder.encode_query(question),
    )
    simulated = [dataset.ids[row] for row in run.order[len(priors) : len(priors) + 75]]
    assert served == simulated
    # The adaptive weights were in play on the way (a window of 50 decisions with both
    # classes in it and before it).
    from classifier.ranking import fit_relevance

    adapted = []
    for n in range(55, len(priors) + 75, 5):
        known = np.asarray(run.order[:n])
        model = fit_relevance(
            features, known, dataset.labels[known], setting, order=np.arange(n), question=signal
        )
        adapted.append(not np.allclose(model.weights_, model._base_weights()))
    assert any(adapted)


def test_a_review_update_ranks_its_hits_as_the_queue_ranks_them(client, service, tmp_path):
    """One model for the queue and for review updates: posted as an update's hits, the
    unscreened records come back in the queue's own order, the question signal included
    (the hits' BM25 reads the corpus's statistics)."""
    from index.readers import read_records

    question = "stimulant medication for attention deficit hyperactivity disorder"
    path = adhd_subset(tmp_path / "adhd_subset.csv", includes=10, excludes=60)
    dataset = read_labeled(path)
    service.import_files("upd", [path], ignore_labels=True, question=question)
    by_source = records_by_source(client, "upd")
    for row in [*np.flatnonzero(dataset.labels == 1)[:4], *np.flatnonzero(dataset.labels == 0)[:8]]:
        label = "include" if dataset.labels[row] else "exclude"
        decide(client, "upd", by_source[dataset.ids[row]]["record_id"], label)
    queue = client.get("/api/projects/upd/queue", query_string={"n": 100}).get_json()
    assert queue["mode"] == "model"
    source_of = {r["record_id"]: source for source, r in by_source.items()}
    queued = [source_of[item["record_id"]] for item in queue["items"]]
    assert len(queued) == len(dataset.ids) - 12
    hits = [r for r in read_records(path) if r.source_id in set(queued)]  # corpus order
    answer = service.candidates("upd", hits)
    assert all(c["mode"] == "model" and c["duplicate_of"] for c in answer)
    assert [hits[c["position"]].source_id for c in answer] == queued
    scores = {source_of[item["record_id"]]: item["score"] for item in queue["items"]}
    assert np.allclose([c["score"] for c in answer], [scores[s] for s in queued], atol=1e-5)
    # Without a question both orders change, together.
    assert client.patch("/api/projects/upd", json={"question": ""}).status_code == 200
    queue = client.get("/api/projects/upd/queue", query_string={"n": 100}).get_json()
    plain = [source_of[item["record_id"]] for item in queue["items"]]
    assert plain != queued
    answer = service.candidates("upd", hits)
    assert [hits[c["position"]].source_id for c in answer] == plain
