"""Study types (classifier/studytype.py, index/study_types.py, webapi/service_evidence.py): the
metadata mapping on real exports, the text classifier on real abstracts, storage, filters,
export round trip and corrections."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from classifier.studytype import (
    STUDY_TYPES,
    StudyTypeClassifier,
    from_metadata,
    metadata_values,
    rule_type,
)
from index import read_records
from index.store import Store
from tests.conftest import DATA

PUBMED_XML = DATA / "import" / "asreview_demo_data_historic" / "pubmed.xml"
PUBMED_NBIB = DATA / "import" / "rendered" / "pubmed_xml_sample.nbib"
SCOPUS = DATA / "import" / "asreview_demo_data" / "scopus.ris"
REFERENCE_TYPES = DATA / "import" / "asreview_demo_data" / "baseline_reference_types.ris"
ADHD = DATA / "screening" / "Cohen_2006_ADHD.csv"


# -- metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PUBMED_XML, PUBMED_NBIB], ids=["xml", "medline"])
def test_readers_keep_every_publication_type(path):
    records = {r.pmid: r for r in read_records(path)}
    # PMID 15472489 is indexed Case Reports, Comparative Study and Journal Article.
    record = records["15472489"]
    assert record.ref_type == "Case Reports"  # the first, as before
    assert record.extra["publication_types"] == "Case Reports; Comparative Study; Journal Article"
    assert from_metadata(metadata_values(record.ref_type, record.extra)) == "quantitative"
    types = {
        pmid: from_metadata(metadata_values(r.ref_type, r.extra)) for pmid, r in records.items()
    }
    # Journal Article alone (and Research Support) says nothing about the design.
    assert types["31690499"] is None
    assert types["25371100"] == "other"  # Case Reports
    assert sum(t is not None for t in types.values()) == 5


def test_both_pubmed_formats_map_alike():
    def mapped(path):
        return {
            r.pmid: from_metadata(metadata_values(r.ref_type, r.extra)) for r in read_records(path)
        }

    assert mapped(PUBMED_XML) == mapped(PUBMED_NBIB)


def test_ris_type_of_work_and_reference_types():
    scopus = read_records(SCOPUS)
    by_title = {r.title[:40]: from_metadata(metadata_values(r.ref_type, r.extra)) for r in scopus}
    assert by_title["Stress and the brain-gut axis in functio"] == "review"  # M3 Review
    assert by_title["Hypothesis: Mechanism of irritable bowel"] is None  # M3 Article
    types = {
        r.ref_type: from_metadata(metadata_values(r.ref_type, r.extra))
        for r in read_records(REFERENCE_TYPES)
    }
    assert types["GOVDOC"] == types["STAT"] == types["BILL"] == "guideline"
    assert types["NEWS"] == types["VIDEO"] == "other"
    assert types["JOUR"] is None and types["BOOK"] is None and types["THES"] is None


def test_precedence_and_unknown_values():
    assert from_metadata(["Meta-Analysis", "Review", "Journal Article"]) == "review"
    assert from_metadata(["Randomized Controlled Trial", "Comparative Study"]) == "rct"
    assert from_metadata(["Practice Guideline", "Review"]) == "guideline"
    assert from_metadata(["journal article", "JOUR", "Article", ""]) is None
    assert from_metadata(["randomized controlled trial"]) == "rct"  # case folded


# -- text -------------------------------------------------------------------------------------


def _adhd_rows():
    with ADHD.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_rules_read_designs_that_real_abstracts_state():
    rows = _adhd_rows()
    # Real ADHD records whose title names the design.
    for row in rows:
        title = row["title"].lower()
        kind, _ = rule_type(row["title"], row["abstract"])
        if "meta-analysis" in title or "systematic review" in title:
            assert kind == "review", row["title"]
        elif "randomized controlled trial" in title or "placebo-controlled" in title:
            assert kind == "rct", row["title"]
    # Record 1 (clonidine vs fentanyl) says "This randomized, controlled, double-blind study".
    first = rows[0]
    assert "randomized, controlled, double-blind study" in first["abstract"]
    assert rule_type(first["title"], first["abstract"]) == ("rct", True)


def test_most_systematic_reviews_of_a_tertiary_study_read_as_reviews():
    """Kitchenham 2010's included records are the systematic reviews a tertiary study kept:
    a real label of one design (bench/studytype.py: 29 of 45)."""
    with (DATA / "screening" / "Kitchenham_2010.csv").open(encoding="utf-8", newline="") as f:
        reviews = [r for r in csv.DictReader(f) if r["label_included"] == "1"]
    predicted = (
        StudyTypeClassifier()
        .fit([], [])
        .predict([r["title"] for r in reviews], [r["abstract"] for r in reviews])
    )
    assert len(reviews) == 45
    assert predicted.count("review") >= 27


def test_classifier_without_training_data_uses_rules_and_other():
    rows = _adhd_rows()[:50]
    model = StudyTypeClassifier().fit([], [])
    assert model.classes_ == ()
    predicted = model.predict([r["title"] for r in rows], [r["abstract"] for r in rows])
    assert len(predicted) == 50 and set(predicted) <= set(STUDY_TYPES)
    assert model.predict([""], [""]) == ["other"]


def test_classifier_learns_from_records_with_metadata():
    rows = _adhd_rows()
    texts = [f"{r['title']} {r['abstract']}" for r in rows]
    types = [rule_type(r["title"], r["abstract"])[0] or "other" for r in rows]
    model = StudyTypeClassifier().fit(texts, types)
    assert set(model.classes_) >= {"rct", "quantitative"}
    assert len(model.predict([r["title"] for r in rows[:5]], [""] * 5)) == 5
    with pytest.raises(ValueError, match="unknown study types"):
        StudyTypeClassifier().fit(["a"], ["case series"])
    # Typed records without text (or no word in two of them) fit no model.
    assert StudyTypeClassifier().fit([""] * 30, ["rct", "other"] * 15).classes_ == ()
    words = [f"word{i}" for i in range(30)]
    assert StudyTypeClassifier().fit(words, ["rct", "other"] * 15).classes_ == ()


# -- store, service and API -------------------------------------------------------------------


def test_import_types_every_record(service):
    service.import_files("p", [PUBMED_XML, ADHD])
    pid = service.project("p").project_id
    typed = service.store.study_types(pid)
    records, total = service.store.records(pid)
    assert total == 861 and len(typed) == 861
    by_pmid = {r["pmid"]: r for r in records}
    assert by_pmid["15472489"]["study_type"] == "quantitative"
    assert by_pmid["15472489"]["study_type_source"] == "metadata"
    assert by_pmid["31690499"]["study_type_source"] == "model"
    # A second pass types nothing new.
    assert service.classify_study_types("p")["written"] == 0
    facets = service.study_type_facets("p")
    assert [f["study_type"] for f in facets] == list(STUDY_TYPES)
    assert sum(f["records"] for f in facets) == 861


def test_filters_in_records_search_and_export(client, service):
    service.import_files("p", [PUBMED_XML, ADHD])
    listing = client.get("/api/projects/p/records", query_string={"study_type": "rct"})
    assert listing.status_code == 200
    body = listing.get_json()
    assert body["total"] > 0 and {r["study_type"] for r in body["items"]} == {"rct"}
    bad = client.get("/api/projects/p/records", query_string={"study_type": "cohort"})
    assert bad.status_code == 400
    hits = client.get(
        "/api/projects/p/search",
        query_string={"q": "methylphenidate", "k": 20, "study_type": "rct"},
    ).get_json()
    assert hits and {h["study_type"] for h in hits} == {"rct"}
    facets = client.get("/api/projects/p/study-types").get_json()
    rct = next(f for f in facets if f["study_type"] == "rct")
    assert rct["records"] == body["total"]
    export = client.get("/api/projects/p/export", query_string={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 861 and {r["study_type"] for r in rows} <= set(STUDY_TYPES)
    only = client.get(
        "/api/projects/p/export", query_string={"format": "csv", "study_type": "review"}
    )
    reviews = list(csv.DictReader(io.StringIO(only.get_data(as_text=True))))
    assert reviews and {r["study_type"] for r in reviews} == {"review"}


@pytest.mark.parametrize("fmt", ["csv", "ris"])
def test_an_export_reimported_keeps_the_types(service, tmp_path, fmt):
    service.import_files("p", [PUBMED_XML, ADHD])
    pid = service.project("p").project_id
    before = {r["title"]: r["study_type"] for r in service.store.records(pid)[0]}
    _, _, text = service.export("p", fmt)
    path = tmp_path / f"export.{fmt}"
    path.write_text(text, encoding="utf-8")
    service.import_files("q", [path])
    qid = service.project("q").project_id
    after = service.store.records(qid)[0]
    assert {r["study_type_source"] for r in after} == {"metadata"}
    assert {r["title"]: r["study_type"] for r in after} == before


def test_a_reviewer_corrects_a_type(client, service, as_reviewer):
    service.import_files("p", [PUBMED_XML])
    pid = service.project("p").project_id
    bob = as_reviewer("bob", project="p")
    record = service.store.records(pid)[0][0]
    url = f"/api/projects/p/records/{record['record_id']}/study-type"
    response = bob.patch(url, json={"study_type": "qualitative"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["study_type"] == "qualitative"
    assert response.get_json()["study_type_source"] == "reviewer"
    assert bob.patch(url, json={"study_type": "cohort"}).status_code == 400
    missing = bob.patch("/api/projects/p/records/999999/study-type", json={"study_type": "rct"})
    assert missing.status_code == 404
    # A refit of the classifier keeps it; the audit trail has it.
    service.classify_study_types("p", refit=True)
    assert service.store.study_types(pid)[record["record_id"]]["study_type"] == "qualitative"
    events = [e for e in service.store.audit(pid) if e["action"] == "study_type"]
    assert (
        events[-1]["actor"] == "bob" and events[-1]["detail"]["previous"] == (record["study_type"])
    )


def test_a_version_3_store_gains_the_table(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE record_study_types; PRAGMA user_version = 3;")
    conn.close()
    with Store(path) as store:
        assert store.study_types(1) == {}
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "record_study_types" in tables
    conn.close()


def test_a_store_from_before_study_types_is_typed_by_an_embed_job(service):
    service.import_files("p", [PUBMED_XML])
    pid = service.project("p").project_id
    with service.store.transaction() as conn:  # what a schema-3 store migrated to 4 holds
        conn.execute("DELETE FROM record_study_types")
    assert service.store.study_type_counts(pid) == {None: 10}
    [job_id] = service.resume_embedding()
    service.run_job(job_id, raise_errors=True)
    assert service.store.job(job_id)["state"] == "done"
    assert None not in service.store.study_type_counts(pid)
    assert service.resume_embedding() == []


def test_a_failing_study_type_pass_does_not_fail_the_import(service, monkeypatch, caplog):
    def broken(project, **kwargs):
        raise RuntimeError("classifier broke")

    monkeypatch.setattr(service, "classify_study_types", broken)
    [summary] = service.import_files("p", [PUBMED_XML])
    assert summary["added"] == 10
    assert "study types not assigned" in caplog.text
    pid = service.project("p").project_id
    assert service.store.study_type_counts(pid) == {None: 10}
