"""What one click costs the store: SQL statements, project lookups, derivations of screening
state (and the decision rows they go through) and wall time of one decision plus the reads a
queue request makes, at a given number of decisions; and how long a read waits while another
thread holds a write transaction.

    nice -n 10 .venv/bin/python bench/store_calls.py --decisions 1000 5000

The store is a file in a temporary folder (WAL, as the service runs it). Records come from
``DATA/screening/Cohen_2006_ADHD.csv`` (851 records), tiled with numbered titles (and no DOI or
PMID, so dedup keeps every copy) when more decisions are asked for than it has records; their
labels are ignored. Decisions are single-screening ``screen`` decisions by one reviewer.

The store is whatever ``index`` Python imports, so the same script measures another version
of it: copy an older ``index/`` to /tmp/before (``git archive <commit> index | tar -x -C
/tmp/before``), then ``PYTHONPATH=/tmp/before:$PWD .venv/bin/python bench/store_calls.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench._common import default_data_dir, markdown_table
from index import consensus
from index import store as store_module
from index.consensus import Viewer
from index.readers import read_records

REVIEWER = "bench"


class Counts:
    """Counts SQL statements (every connection the store opens), project lookups and
    derivations of a stage's decisions while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.statements = self.checks = self.projects = self.derives = self.derived = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.statements = self.checks = self.projects = self.derives = self.derived = 0

    def statement(self, sql: str) -> None:
        if self.on:
            with self._lock:
                if sql == "PRAGMA data_version":  # a check for others' commits, no table read
                    self.checks += 1
                else:
                    self.statements += 1


def instrument(counts: Counts) -> None:
    """Count through the store module's own names, so any version of it is measured alike."""
    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(counts.statement)
        return conn

    store_module.sqlite3 = _Module(sqlite3, connect=traced_connect)
    project = store_module.Store.project

    def counted_project(self, *args, **kwargs):
        if counts.on:
            counts.projects += 1
        return project(self, *args, **kwargs)

    store_module.Store.project = counted_project
    derive = consensus.derive

    def counted_derive(decisions, *args, **kwargs):
        decisions = list(decisions)
        if counts.on:
            counts.derives += 1
            counts.derived += len(decisions)
        return derive(decisions, *args, **kwargs)

    consensus.derive = counted_derive


class _Module:
    """A module with some names replaced."""

    def __init__(self, module, **replaced) -> None:
        self._module, self._replaced = module, replaced

    def __getattr__(self, name):
        return self._replaced.get(name, getattr(self._module, name))


def corpus(data: Path, size: int) -> list:
    base = [dataclasses.replace(r, label=None, themes=[]) for r in read_records(data)]
    out = list(base)
    copy = 1
    while len(out) < size:
        out += [
            dataclasses.replace(
                r,
                title=f"{r.title} [copy {copy}]",
                doi="",
                pmid="",
                source_id=f"{r.source_id}-{copy}",
            )
            for r in base
        ]
        copy += 1
    return out


def click(store, project_id: int, record_id: int) -> None:
    """One decision, then what the queue and the page read after it."""
    viewer = Viewer(REVIEWER)
    store.add_decision(project_id, record_id, "exclude", REVIEWER)
    store.final_decisions(project_id)
    store.closed_records(project_id, "title_abstract", REVIEWER)
    store.current_decisions(project_id, viewer=viewer)
    store.current_themes(project_id, viewer=viewer)
    store.stats(project_id, viewer=viewer)


def read_while_writing(store, project_id: int, hold_s: float) -> float:
    """Milliseconds one ``stats`` read takes while another thread holds a write transaction
    for ``hold_s`` seconds."""
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction():
            held.set()
            release.wait(hold_s)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait()
    start = time.perf_counter()
    store.stats(project_id)
    elapsed = time.perf_counter() - start
    release.set()
    thread.join()
    return 1000 * elapsed


def measure(data: Path, decisions: int, repeats: int, counts: Counts) -> list[object]:
    records = corpus(data, decisions + repeats)
    with tempfile.TemporaryDirectory() as folder:
        store = store_module.Store(Path(folder) / "store.sqlite")
        project_id = store.create_project("bench").project_id
        ids = store.import_records(
            project_id, records, filename="bench.csv", fmt="csv", sha256="bench"
        ).record_ids
        for record_id in ids[:decisions]:
            store.add_decision(project_id, record_id, "exclude", REVIEWER)
        times, cpu, statements, checks, projects, derives, derived = [], [], [], [], [], [], []
        for record_id in ids[decisions : decisions + repeats]:
            counts.reset()
            counts.on = True
            start, start_cpu = time.perf_counter(), time.process_time()
            click(store, project_id, record_id)
            times.append(1000 * (time.perf_counter() - start))
            cpu.append(1000 * (time.process_time() - start_cpu))
            counts.on = False
            statements.append(counts.statements)
            checks.append(counts.checks)
            projects.append(counts.projects)
            derives.append(counts.derives)
            derived.append(counts.derived)
        waited = read_while_writing(store, project_id, 0.5)
        store.close()
    return [
        decisions,
        statistics.median_low(statements),
        statistics.median_low(checks),
        statistics.median_low(projects),
        statistics.median_low(derives),
        statistics.median_low(derived),
        f"{statistics.median(times):.1f}",
        f"{statistics.median(cpu):.1f}",
        f"{waited:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--decisions", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeats", type=int, default=20, help="clicks measured per size")
    args = parser.parse_args()
    counts = Counts()
    instrument(counts)
    path = args.data / "screening" / "Cohen_2006_ADHD.csv"
    rows = [measure(path, n, args.repeats, counts) for n in args.decisions]
    print(f"store: {store_module.__file__}")
    print(
        markdown_table(
            [
                "decisions",
                "SQL statements / click",
                "data_version checks / click",
                "project lookups / click",
                "derivations / click",
                "decision rows derived / click",
                "ms / click (median)",
                "CPU ms / click (median)",
                "read during a 500 ms write (ms)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
