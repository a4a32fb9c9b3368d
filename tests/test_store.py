import csv
import sqlite3

import numpy as np
import pytest

from index.errors import ConflictError, NotFoundError, ValidationError
from index.records import Record
from index.store import SCHEMA_VERSION, Store
from tests.conftest import DATA


def kitchenham() -> list[Record]:
    with open(DATA / "screening" / "Kitchenham_2010.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        Record(
            title=r["title"],
            abstract=r["abstract"],
            year=int(r["year"]) if r["year"] else None,
            source_id=r["record_id"],
            label=int(r["label_included"]),
            line=i + 2,
        )
        for i, r in enumerate(rows)
    ]


@pytest.fixture
def store():
    with Store() as s:
        yield s


@pytest.fixture
def project(store):
    return store.create_project("review", "software engineering tertiary studies", ["a", "b"])


def test_schema_version_and_reopen(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as s:
        s.create_project("p")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_projects(store, project):
    assert store.project("review") == project
    assert [t.name for t in project.themes] == ["a", "b"]
    with pytest.raises(ConflictError):
        store.create_project("review")
    with pytest.raises(ValidationError) as e:
        store.create_project("x", themes=["a", "a"])
    assert e.value.field == "themes"
    with pytest.raises(NotFoundError):
        store.project(999)
    store.archive_project(project.project_id)
    assert store.projects() == []


def test_import_links_duplicates_and_priors(store, project):
    records = kitchenham()
    summary = store.import_records(
        project.project_id, records, filename="k.csv", fmt="csv", sha256="abc"
    )
    assert summary.read == 1704
    assert summary.added + summary.duplicates == 1704
    # The source marks 6 duplicates; 5 share title and year, one pair differs in year (kept).
    assert summary.duplicates == 5
    assert all(link["reason"] == "title" for link in summary.duplicate_links)
    link = summary.duplicate_links[0]
    dup = store.record(project.project_id, link["record_id"])
    assert dup["duplicate_of"] == link["duplicate_of"]
    assert summary.prior_labels == {"include": 45, "exclude": 1659 - 5}
    stats = store.stats(project.project_id)
    assert stats["records"] == 1699 and stats["duplicates"] == 5
    assert stats["included"] == 45 and stats["screened"] == 1699
    again = store.import_records(
        project.project_id, records, filename="k.csv", fmt="csv", sha256="abc"
    )
    assert again.already_imported and again.added == 0
    assert store.stats(project.project_id)["identified"] == 1704


def test_failed_import_leaves_store_unchanged(store, project):
    records = kitchenham()[:50]
    store.import_records(project.project_id, records[:10], filename="a", fmt="csv", sha256="a")
    before = store.stats(project.project_id)
    audit_before = len(store.audit(project.project_id))
    broken = records[10:]
    broken[20].authors = [object()]  # not JSON-serialisable: fails mid-file
    with pytest.raises(TypeError):
        store.import_records(project.project_id, broken, filename="b", fmt="csv", sha256="b")
    assert store.stats(project.project_id) == before
    assert len(store.audit(project.project_id)) == audit_before
    assert len(store.files(project.project_id)) == 1


def test_decisions_are_append_only(store, project):
    store.import_records(project.project_id, kitchenham()[:5], filename="k", fmt="csv", sha256="k")
    rid = store.records(project.project_id, limit=1)[0][0]["record_id"]
    store.add_decision(project.project_id, rid, "include", "ann", themes=["a"])
    store.add_decision(project.project_id, rid, "exclude", "ann", reason="wrong population")
    history = store.decisions(project.project_id, rid)
    assert [d["label"] for d in history] == ["include", "include", "exclude"]  # prior first
    assert store.record(project.project_id, rid)["decision"]["label"] == "exclude"
    assert store.record(project.project_id, rid)["themes"] == ["a"]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.transaction() as c:
        c.execute("UPDATE decisions SET label = 'include'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.transaction() as c:
        c.execute("DELETE FROM decisions")
    with pytest.raises(ValidationError) as e:
        store.add_decision(project.project_id, rid, "perhaps", "ann")
    assert e.value.field == "label"
    with pytest.raises(ValidationError) as e:
        store.add_decision(project.project_id, rid, "include", "ann", themes=["zzz"])
    assert e.value.field == "themes"
    with pytest.raises(NotFoundError):
        store.add_decision(project.project_id, 10**6, "include", "ann")


def test_a_retraction_is_appended_and_leaves_the_record_undecided(store, project):
    pid = project.project_id
    store.import_records(pid, kitchenham()[:5], filename="k", fmt="csv", sha256="k")
    rid = store.records(pid, limit=1)[0][0]["record_id"]
    prior = store.record(pid, rid)["decision"]
    assert prior["label"] == "include"
    made = store.add_decision(
        pid, rid, "exclude", "ann", themes=["a"], supersedes=prior["decision_id"]
    )
    # Undo of a decision that had one before it: the earlier label is appended again.
    back = store.add_decision(pid, rid, "include", "ann", supersedes=made["decision_id"])
    assert store.record(pid, rid)["decision"]["decision_id"] == back["decision_id"]
    # Undo all the way: the record is unscreened again, its theme labels withdrawn.
    retracted = store.add_decision(pid, rid, "undecided", "ann", supersedes=back["decision_id"])
    assert retracted["label"] == "undecided"
    record = store.record(pid, rid)
    assert record["decision"] is None and record["themes"] == []
    assert rid not in store.current_themes(pid)
    assert [r["record_id"] for r in store.records(pid, status="unscreened")[0]] == [rid]
    assert store.stats(pid)["screened"] == 4
    labels = [d["label"] for d in store.decisions(pid, rid)]
    assert labels == ["include", "exclude", "include", "undecided"]
    # After a retraction the reviewer saw "no decision": supersedes=0 is current, the old id stale.
    with pytest.raises(ConflictError):
        store.add_decision(pid, rid, "maybe", "ann", supersedes=back["decision_id"])
    again = store.add_decision(pid, rid, "maybe", "ann", supersedes=0)
    assert store.record(pid, rid)["decision"]["decision_id"] == again["decision_id"]
    # Given themes, a retraction keeps them as given.
    store.add_decision(pid, rid, "undecided", "ann", themes=["b"])
    assert store.current_themes(pid)[rid] == ["b"]


def test_schema_1_store_is_migrated_keeping_its_decisions(tmp_path):
    path = tmp_path / "v1.db"
    v1 = (DATA / "store" / "schema_v1.sql").read_text(encoding="utf-8")
    assert "'undecided'" not in v1
    conn = sqlite3.connect(path)
    conn.executescript(v1 + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO projects (name, created_at) VALUES ('p', 'now')")
    conn.execute("INSERT INTO files VALUES (1, 1, 'f', 'csv', 'x', 1, 1, 0, '', 'now')")
    conn.execute("INSERT INTO records (project_id, file_id, title) VALUES (1, 1, 'a title')")
    conn.execute(
        "INSERT INTO decisions (decision_id, project_id, record_id, label, reviewer, created_at)"
        " VALUES (7, 1, 1, 'include', 'ann', 'now')"
    )
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO decisions (project_id, record_id, label, reviewer, created_at)"
            " VALUES (1, 1, 'undecided', 'ann', 'now')"
        )
    conn.close()
    with Store(path) as store:
        assert store.decisions(1)[0]["decision_id"] == 7
        store.add_decision(1, 1, "undecided", "ann", supersedes=7)
        assert store.current_decisions(1) == {}
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.transaction() as c:
            c.execute("DELETE FROM decisions")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"decisions_record", "decisions_no_update", "decisions_no_delete"} <= names
    assert "decisions_v1" not in names
    conn.close()


def test_decision_on_duplicate_is_refused(store, project):
    summary = store.import_records(
        project.project_id, kitchenham(), filename="k", fmt="csv", sha256="k"
    )
    link = summary.duplicate_links[0]
    with pytest.raises(ConflictError, match=f"duplicate of record {link['duplicate_of']}"):
        store.add_decision(project.project_id, link["record_id"], "include", "ann")


def test_record_filters_and_paging(store, project):
    store.import_records(project.project_id, kitchenham()[:30], filename="k", fmt="csv", sha256="k")
    rows, total = store.records(project.project_id, status="all", limit=10, offset=10)
    assert total == 30 and len(rows) == 10 and rows[0]["record_id"] == 11
    included, n = store.records(project.project_id, status="included")
    assert n == sum(1 for r in kitchenham()[:30] if r.label == 1)
    assert all(r["decision"]["label"] == "include" for r in included)
    with pytest.raises(ValidationError):
        store.records(project.project_id, status="weird")


def test_vector_cache(store):
    vectors = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    store.put_vectors("m", ["h1", "h2", "h3"], vectors)
    store.put_vectors("m", ["h1"], vectors[:1] * 0)  # already cached: kept as it was
    got = store.cached_vectors("m", ["h1", "h3", "nope"])
    assert set(got) == {"h1", "h3"}
    np.testing.assert_array_equal(got["h1"], vectors[0])
    assert store.cached_vectors("other-model", ["h1"]) == {}


def test_a_version_1_store_migrates_and_keeps_its_data(tmp_path):
    """A store made with the version 1 schema (tests/data/store/schema_v1.sql, from git)."""
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "store" / "schema_v1.sql").read_text())
    conn.executescript(
        """
        INSERT INTO projects (name, question, created_at) VALUES ('old', 'q', '2024-01-01');
        INSERT INTO files (project_id, filename, format, sha256, read, added, duplicates,
                           imported_at) VALUES (1, 'a.ris', 'ris', 'x', 2, 2, 0, '2024-01-01');
        INSERT INTO records (project_id, file_id, title) VALUES (1, 1, 'one'), (1, 1, 'two');
        INSERT INTO decisions (project_id, record_id, label, reviewer, created_at)
            VALUES (1, 1, 'include', 'ann', '2024-01-02');
        INSERT INTO audit (project_id, actor, action, created_at)
            VALUES (1, 'ann', 'decision', '2024-01-02');
        PRAGMA user_version = 1;
        """
    )
    conn.commit()
    conn.close()
    with Store(path) as store:
        [project] = store.projects()
        assert project.name == "old" and project.archived_at is None
        assert store.record(1, 1)["decision"]["label"] == "include"
        assert [e["action"] for e in store.audit(1)] == ["decision"]
        assert store.stats(1)["included"] == 1 and store.stats(1)["records"] == 2
        store.create_reviewer("ann", is_admin=True)
        store.set_member(1, "ann", "maintainer")
        assert store.members(1)[0]["role"] == "maintainer"
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as c:
            c.execute("DELETE FROM projects")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    schema = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    assert conn.execute(schema).fetchall() == sqlite3.connect(fresh).execute(schema).fetchall()
    columns = "SELECT name FROM pragma_table_info('projects') ORDER BY name"
    assert conn.execute(columns).fetchall() == sqlite3.connect(fresh).execute(columns).fetchall()
    conn.close()


def test_a_version_2_store_gains_the_jobs_tables(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as s:
        s.create_project("p")
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE jobs; DROP TABLE embedding_generations; PRAGMA user_version = 2;"
    )
    conn.close()
    with Store(path) as s:
        assert s.project("p").name == "p"
        job = s.create_job("j1", "embed", project_id=None, params={"x": 1})
        assert job["state"] == "queued" and job["params"] == {"x": 1}
        assert s.claim_job("j1", "host:1")["state"] == "running"
        assert s.claim_job("j1", "host:2") is None  # a second delivery does nothing
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


def test_a_version_3_store_gains_the_synthesis_tables(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as s:
        s.create_project("p", themes=["Heart"])
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE theme_suggestions; DROP TABLE theme_picks; PRAGMA user_version = 3;"
    )
    conn.close()
    with Store(path) as s:
        assert [t.name for t in s.project("p").themes] == ["Heart"]
        assert s.discovered_suggestions(1) == {} and s.selected_picks(1) == []
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"theme_suggestions", "theme_picks"} <= names
    conn.close()
