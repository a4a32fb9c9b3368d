"""The store's connections and shared derived state: reads of a file store never wait for a
writer, a thread inside a transaction reads its own writes, cached states and projects follow
every commit (another ``Store`` on the same file standing in for another process), and
``close`` closes every connection."""

import contextlib
import gc
import random
import sqlite3
import threading
import time

import pytest

from index import consensus
from index.consensus import Viewer
from index.errors import ConflictError
from index.records import Record
from index.store import Store


def records(n: int) -> list[Record]:
    return [
        Record(title=f"study {i}", abstract=f"abstract {i}", source_id=str(i)) for i in range(n)
    ]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.sqlite") as s:
        yield s


@pytest.fixture
def project_id(store):
    project_id = store.create_project("review").project_id
    store.import_records(project_id, records(6), filename="a.csv", fmt="csv", sha256="a")
    return project_id


def ids(store, project_id):
    return [r[0] for r in store.texts(project_id)]


def in_thread(work, timeout=5.0):
    """``work()``'s result from another thread, which must finish within ``timeout`` s."""
    out = {}

    def run():
        try:
            out["value"] = work()
        except BaseException as error:  # handed to the test's thread
            out["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the read waited for the writer"
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_reads_do_not_wait_for_a_writer(store, project_id):
    first, second = ids(store, project_id)[:2]
    store.add_decision(project_id, first, "include", "ann")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO decisions (project_id, record_id, label, reviewer, created_at)"
            " VALUES (?, ?, 'exclude', 'bob', '2026-01-01')",
            (project_id, second),
        )
        # Another thread reads at once, from the last commit: not the open write.
        assert in_thread(lambda: set(store.final_decisions(project_id))) == {first}
        assert in_thread(lambda: store.stats(project_id)["screened"]) == 1
        # This thread reads through its transaction and sees its own write.
        assert set(store.final_decisions(project_id)) == {first, second}
    assert set(store.final_decisions(project_id)) == {first, second}
    assert in_thread(lambda: set(store.final_decisions(project_id))) == {first, second}


def test_a_rolled_back_write_leaves_no_cached_trace(store, project_id):
    first = ids(store, project_id)[0]
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute(
            "INSERT INTO decisions (project_id, record_id, label, reviewer, created_at)"
            " VALUES (?, ?, 'exclude', 'bob', '2026-01-01')",
            (project_id, first),
        )
        conn.execute("UPDATE projects SET question = 'changed' WHERE project_id = ?", (project_id,))
        assert store.states(project_id)[first].final["label"] == "exclude"
        assert store.project(project_id).question == "changed"
        raise RuntimeError("abandon")
    assert store.states(project_id) == {}
    assert store.project(project_id).question == ""


def test_cached_states_follow_a_decision_from_another_store(tmp_path, store, project_id):
    first, second, third = ids(store, project_id)[:3]
    store.add_decision(project_id, first, "include", "ann")
    assert set(store.states(project_id)) == {first}
    assert store.states(project_id) is not store.states(project_id)  # each caller its own dict
    with Store(tmp_path / "store.sqlite") as other:
        other.add_decision(project_id, second, "exclude", "bob")
        assert set(store.states(project_id)) == {first, second}
        assert in_thread(lambda: set(store.final_decisions(project_id))) == {first, second}
        assert store.closed_records(project_id, "title_abstract", "carl") == {first, second}
        other.add_decision(project_id, first, "exclude", "bob")
    assert store.final_decisions(project_id)[first]["label"] == "exclude"
    store.add_decision(project_id, third, "maybe", "ann")
    viewer = Viewer("ann")
    assert store.current_decisions(project_id, viewer=viewer)[third]["label"] == "maybe"
    assert store.stats(project_id)["maybe"] == 1


def test_cached_states_are_not_changed_by_a_caller(store, project_id):
    first = ids(store, project_id)[0]
    store.add_decision(project_id, first, "include", "ann")
    store.states(project_id).clear()
    store.final_decisions(project_id).clear()
    assert set(store.states(project_id)) == {first}


def test_cached_project_follows_changes_here_and_in_another_store(tmp_path, store, project_id):
    assert store.project(project_id) is store.project("review")  # one read, shared
    store.update_project(project_id, question="stimulants")
    assert store.project(project_id).question == "stimulants"
    with Store(tmp_path / "store.sqlite") as other:
        other.update_project(project_id, mode="double")
        assert store.project("review").mode == "double"
        assert in_thread(lambda: store.project(project_id).mode) == "double"
        other.archive_project(project_id)
    assert store.projects() == []
    assert store.project(project_id, archived=True).archived_at is not None


def test_states_follow_a_mode_change(store):
    project_id = store.create_project("priors").project_id
    labelled = [Record(title="study", abstract="text", source_id="1", label=1)]
    store.import_records(project_id, labelled, filename="a.csv", fmt="csv", sha256="a")
    [first] = ids(store, project_id)
    assert store.states(project_id)[first].how == "single"
    store.update_project(project_id, mode="double")  # allowed: nobody has screened yet
    assert store.states(project_id)[first].how == "prior"


def test_reads_from_many_threads_while_deciding(store, project_id):
    record_ids = ids(store, project_id)
    errors: list[BaseException] = []
    done = threading.Event()

    def read():
        try:
            while not done.is_set():
                final = store.final_decisions(project_id)
                assert store.stats(project_id)["screened"] >= len(final) - 1
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for record_id in record_ids:
        store.add_decision(project_id, record_id, "exclude", "ann")
    done.set()
    for thread in readers:
        thread.join(10)
    assert not errors
    assert set(store.final_decisions(project_id)) == set(record_ids)


def test_close_closes_every_connection(tmp_path):
    store = Store(tmp_path / "store.sqlite")
    project_id = store.create_project("review").project_id
    for _ in range(3):
        in_thread(lambda: store.project(project_id))
    store.project(project_id)
    connections = [store._conn, *store._readers]
    assert len(connections) >= 2
    store.close()
    for conn in connections:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    with pytest.raises(sqlite3.ProgrammingError):
        store.project(project_id)
    with pytest.raises(sqlite3.ProgrammingError):
        in_thread(lambda: store.project(project_id))


def test_a_finished_thread_takes_its_connection_with_it(store, project_id):
    in_thread(lambda: store.project(project_id))
    gc.collect()
    opened = len(store._readers)
    for _ in range(5):
        in_thread(lambda: store.stats(project_id))
    for _ in range(100):  # a finished thread's locals go with its thread state, soon after join
        gc.collect()
        if len(store._readers) == opened:
            break
        time.sleep(0.02)
    assert len(store._readers) == opened


def test_a_memory_store_keeps_one_connection_and_fresh_state():
    with Store() as store:
        project_id = store.create_project("review").project_id
        store.import_records(project_id, records(3), filename="a.csv", fmt="csv", sha256="a")
        first, second = ids(store, project_id)[:2]
        store.add_decision(project_id, first, "include", "ann")
        assert set(in_thread(lambda: store.final_decisions(project_id))) == {first}
        store.add_decision(project_id, second, "exclude", "ann")
        assert set(store.final_decisions(project_id)) == {first, second}
        assert not store._readers


@pytest.mark.parametrize("mode", ["single", "double"])
def test_cached_states_match_a_fresh_derivation_after_every_decision(tmp_path, mode):
    """Decisions of two projects interleaved, changes and retractions among them: after each,
    the cached (incrementally derived) states equal a derivation from scratch."""
    with Store(tmp_path / "store.sqlite") as store:
        projects = []
        for name in ("one", "two"):
            project_id = store.create_project(name, mode=mode).project_id
            store.import_records(project_id, records(4), filename="a.csv", fmt="csv", sha256="a")
            projects.append((project_id, ids(store, project_id)))
        rng = random.Random(7)
        for _ in range(60):
            project_id, record_ids = rng.choice(projects)
            record_id = rng.choice(record_ids)
            label = rng.choice(["include", "exclude", "maybe", "undecided"])
            reviewer = rng.choice(["ann", "bob", "carl"])
            with contextlib.suppress(ConflictError):
                store.add_decision(project_id, record_id, label, reviewer)
            for pid, _ in projects:
                rows = store.decisions(pid)
                assert store.states(pid) == consensus.derive(rows, mode)
                assert store.states(pid, "full_text") == {}


def test_a_failed_commit_leaves_no_transaction_open(store, project_id):
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")  # the check waits for COMMIT, which fails
        conn.execute(
            "INSERT INTO decisions (project_id, record_id, label, reviewer, created_at)"
            " VALUES (?, 999, 'exclude', 'bob', '2026-01-01')",
            (project_id,),
        )
    first = ids(store, project_id)[0]
    store.add_decision(project_id, first, "include", "ann")
    assert set(store.final_decisions(project_id)) == {first}
