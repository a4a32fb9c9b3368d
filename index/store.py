"""The SQLite store: projects, imported records, decisions, theme labels, audit, vector cache,
reviewers with their tokens and project memberships.

One small class over ``schema.sql``: WAL journal, foreign keys on, and one transaction per write
(an import is all or nothing) on one write connection behind a lock. Reads of a file store use a
connection of their own per thread, so they never queue behind a writer (WAL's concurrent
readers); a ``":memory:"`` store has one connection for both. Where a record stands in screening
(unscreened, pending, conflict, final) is derived from its decisions by ``index.consensus``, once
per state of the store and shared between readers, and inside the deciding transaction when a
decision depends on it: there is no status column to drift.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import consensus
from .consensus import RecordState, Viewer
from .dedup import DedupIndex, DedupKeys, index_of
from .errors import ConflictError, NotFoundError, ValidationError
from .limits import (
    AUTOMATION_REVIEWER,
    LIMITS_REASON,
    SearchLimits,
    checked_protocol,
    is_limit_exclusion,
)
from .limits_store import SearchLimitsStore
from .records import Record
from .study_types import STUDY_TYPES, StudyTypeStore
from .synthesis import SynthesisStore

SCHEMA_VERSION = 4

DecisionLabel = Literal["include", "exclude", "maybe", "undecided"]
Stage = Literal["title_abstract", "full_text"]
# "undecided" retracts: appended like any decision, it returns the record to unscreened.
LABELS: tuple[str, ...] = ("include", "exclude", "maybe", "undecided")
RETRACT = consensus.RETRACT
STAGES: tuple[str, ...] = ("title_abstract", "full_text")
STATUSES: tuple[str, ...] = ("all", "screened", "unscreened", "included", "excluded", "maybe")
MODES: tuple[str, ...] = ("single", "double")
ROLES: tuple[str, ...] = ("reviewer", "resolver", "maintainer")  # each can do what those before can

_JSON_FIELDS = ("authors", "keywords", "extra")
# A record's study type and where it came from (index/study_types.py), read with the record.
_STUDY_TYPE_COLUMNS = "t.study_type AS study_type, t.source AS study_type_source"


def now() -> str:
    """The current UTC time as stored: ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Theme:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Project:
    project_id: int
    name: str
    question: str
    mode: str
    settings: dict[str, Any]
    created_at: str
    themes: tuple[Theme, ...] = ()
    archived_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["themes"] = [asdict(theme) for theme in self.themes]
        return data

    def exclusion_reasons(self, stage: str) -> list[str]:
        """The reasons an exclusion at ``stage`` may give; empty: any text."""
        return list(self.settings.get("exclusion_reasons", {}).get(stage, []))


@dataclass(frozen=True)
class Reviewer:
    reviewer_id: int
    name: str
    is_admin: bool
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportSummary:
    """What one file's import did: the figures a PRISMA flow and the user need."""

    file_id: int | None
    filename: str
    format: str
    read: int = 0
    added: int = 0
    duplicates: int = 0
    without_text: int = 0
    without_abstract: int = 0
    prior_labels: dict[str, int] = field(default_factory=lambda: {"include": 0, "exclude": 0})
    themes_found: int = 0
    duplicate_links: list[dict[str, Any]] = field(default_factory=list)
    already_imported: bool = False
    record_ids: list[int] = field(default_factory=list)
    # New unique records outside the project's search limits, and those whose year or language
    # a limit needs is not known (``index.limits``).
    outside_limits: int = 0
    unknown_limits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Derived:
    """One stage's derived states, each record's decisions they come from (oldest first), the
    newest decision id in the whole table when they were read (every decision up to it is in),
    and the mode and store generation they were derived under (``Store.states``). Never
    changed once made: a newer state is a new ``_Derived``."""

    generation: int
    mode: str
    newest: int
    rows: dict[int, list[dict[str, Any]]]
    states: dict[int, RecordState]


_DERIVED_KEPT = 16  # (project, stage) derivations cached; the least recently derived go first


@dataclass(eq=False)
class _Reader:
    """A thread's read connection and the ``PRAGMA data_version`` it last showed."""

    conn: sqlite3.Connection
    data_version: int | None = None


def _close_reader(
    conn: sqlite3.Connection, readers: set[sqlite3.Connection], lock: threading.RLock
) -> None:
    with lock:
        if conn in readers:
            readers.discard(conn)
            conn.close()


def _private_file(path: Path) -> None:
    """Create the store file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the same mode), in a folder only its owner may enter (0700) when the folder is new.
    The store holds token hashes, decisions and reviewers' names."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    with contextlib.suppress(OSError):  # a store someone else owns keeps its mode
        path.chmod(0o600)


@dataclass(frozen=True)
class ImportFile:
    """One parsed file of an import: its name as the user knows it, format, SHA-256, records."""

    filename: str
    format: str
    sha256: str
    records: Sequence[Record]


@dataclass(frozen=True)
class NewProject:
    """A project an import creates, in the import's own transaction."""

    name: str
    question: str = ""


class Store(SearchLimitsStore, StudyTypeStore, SynthesisStore):
    """All of screenwise's durable state, in one SQLite file (``":memory:"`` for tests)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._memory = self.path == ":memory:"
        if not self._memory:
            _private_file(Path(self.path))
        self._lock = threading.RLock()  # the write connection (a memory store's only one)
        self._local = threading.local()  # per thread: its read connection, transaction depth
        self._readers: set[sqlite3.Connection] = set()
        self._readers_lock = threading.RLock()  # reentrant: a finaliser may run under it
        self._closed = False
        # Derived state shared between threads, valid while ``_generation`` stands.
        self._cache_lock = threading.Lock()
        self._generation = 0
        self._counts: dict[tuple[str, int], tuple[int, Any]] = {}  # (query, project) -> value
        self._project_ids: dict[str, int] = {}
        self._projects: dict[int, tuple[int, Project]] = {}
        self._derived: dict[tuple[int, str], _Derived] = {}
        self._conn = self._connect()
        if not self._memory:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: the write connection serves every thread (behind the lock),
        # and close() closes each thread's read connection from the thread that calls it.
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: store schema version {version} is newer than this screenwise "
                f"({SCHEMA_VERSION}); upgrade screenwise"
            )
        schema = _split_sql(
            resources.files("index").joinpath("schema.sql").read_text(encoding="utf-8")
        )
        with self.transaction() as conn:
            if version == 0:
                for statement in schema:
                    conn.execute(statement)
            if version == 1:
                _migrate_1_to_2(conn, schema)
            if version in (1, 2, 3):
                _create_missing(conn, schema)  # 2 -> 3: jobs; 3 -> 4: new tables only
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close every connection: the write connection and each thread's read connection.
        Call it once no other thread uses the store."""
        with self._lock, self._readers_lock:
            self._closed = True
            for conn in list(self._readers):
                conn.close()
            self._readers.clear()
            self._conn.close()
        with self._cache_lock:
            self._projects.clear()
            self._derived.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole on success, rolled back whole on any error.
        The thread's reads see its uncommitted writes until then (``_reading``)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._local.writing = getattr(self._local, "writing", 0) + 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._local.writing -= 1
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed commit (disk full) must not stay open
                    self._conn.execute("ROLLBACK")
                raise
            with self._cache_lock:
                self._generation += 1

    def _writing(self) -> bool:
        """Whether this thread is inside ``transaction()``."""
        return getattr(self._local, "writing", 0) > 0

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection this thread reads through: the write connection inside a transaction
        (to see its own writes) and in a memory store, else the thread's own read connection,
        which waits for no lock. Each read is one statement run to its end, so no read
        transaction stays open to hold back WAL checkpoints."""
        if self._memory or self._writing():
            with self._lock:
                yield self._conn
        else:
            yield self._reader().conn

    def _reader(self) -> _Reader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            with self._readers_lock:
                if self._closed:
                    conn.close()
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                self._readers.add(conn)
            reader = self._local.reader = _Reader(conn)
            # A thread that ends (a finished background job) takes its connection with it.
            weakref.finalize(reader, _close_reader, conn, self._readers, self._readers_lock)
        return reader

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    def _generation_now(self) -> int:
        """A number that changes whenever the store may have changed since this thread last
        asked: each commit here adds one, and so does a change of this thread's read
        connection's ``PRAGMA data_version`` (a commit by any other connection: the write
        connection, another ``Store`` on the file, another process).

        Cached derived state (projects, ``states``) is valid while the number it was read
        under stands. Correct because a cache entry's number is taken before its rows are read:
        rows read before a commit carry a number from before it, and every thread's first
        check after that commit moves the number on. No thread is trusted to have seen a
        commit it did not check for. The check is one pragma, not a table read.
        """
        if not self._memory:
            reader = self._reader()
            version = reader.conn.execute("PRAGMA data_version").fetchall()[0][0]
            if version != reader.data_version:
                reader.data_version = version
                with self._cache_lock:
                    self._generation += 1
        return self._generation

    # -- projects -------------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        question: str = "",
        themes: Iterable[Theme | str] = (),
        *,
        mode: str = "single",
        settings: dict[str, Any] | None = None,
        actor: str = "",
    ) -> Project:
        """A new project; ``ConflictError`` when the name is taken."""
        name = name.strip()
        if not name:
            raise ValidationError("a project needs a name", field="name")
        if mode not in MODES:
            raise ValidationError(f"mode must be single or double, not {mode!r}", field="mode")
        settings = _checked_settings(settings or {})
        theme_list = [t if isinstance(t, Theme) else Theme(str(t)) for t in themes]
        names = [t.name.strip() for t in theme_list]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ValidationError("theme names must be non-empty and distinct", field="themes")
        with self.transaction() as conn:
            project_id = _insert_project(conn, name, question, theme_list, mode, settings)
            self._audit(conn, project_id, actor, "project.create", {"name": name, "mode": mode})
        return self.project(project_id)

    def update_project(
        self,
        project_id: int,
        *,
        mode: str | None = None,
        settings: dict[str, Any] | None = None,
        question: str | None = None,
        actor: str = "",
    ) -> Project:
        """Change a project's question, settings (exclusion reasons per stage) or screening
        mode; the mode only while nobody has screened yet (``ConflictError``)."""
        if mode is not None and mode not in MODES:
            raise ValidationError(f"mode must be single or double, not {mode!r}", field="mode")
        checked = _checked_settings(settings) if settings is not None else None
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM projects WHERE project_id = ? AND archived_at IS NULL",
                (project_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no project {project_id!r}")
            changes: dict[str, Any] = {}
            if mode is not None and mode != row["mode"]:
                screened = conn.execute(
                    "SELECT 1 FROM decisions WHERE project_id = ? AND origin != 'prior' LIMIT 1",
                    (project_id,),
                ).fetchone()
                if screened:
                    raise ConflictError(
                        "the screening mode cannot change once screening has started"
                    )
                changes["mode"] = mode
            if checked is not None:
                # The settings given replace theirs; the others stay.
                given = set(settings or ())
                kept = {k: v for k, v in json.loads(row["settings"]).items() if k not in given}
                checked = kept | checked
                changes["settings"] = json.dumps(checked)
            if question is not None:
                changes["question"] = question
            if changes:
                conn.execute(
                    f"UPDATE projects SET {', '.join(f'{k} = ?' for k in changes)}"
                    " WHERE project_id = ?",
                    (*changes.values(), project_id),
                )
                detail = {k: (checked if k == "settings" else v) for k, v in changes.items()}
                self._audit(conn, project_id, actor, "project.update", detail)
        return self.project(project_id)

    def project(self, ref: int | str, *, archived: bool = False) -> Project:
        """A project by id or name; ``NotFoundError`` when there is none, or it is archived
        (unless ``archived``).

        Projects are cached while the store's generation stands (``_generation_now``: any
        commit, here or by another connection or process, starts a new one), so the many
        lookups of one request read the row once; a project's name never changes, so the id
        a name stands for is kept for good.
        """
        project_id = ref if isinstance(ref, int) else self._project_id(ref)
        found = None if project_id is None else self._project_by_id(project_id)
        if found is None or (found.archived_at is not None and not archived):
            raise NotFoundError(f"no project {ref!r}")
        return found

    def _project_id(self, name: str) -> int | None:
        with self._cache_lock:
            project_id = self._project_ids.get(name)
        if project_id is None:
            rows = self._query("SELECT project_id FROM projects WHERE name = ?", (name,))
            if not rows:
                return None
            project_id = int(rows[0][0])
            if not self._writing():  # an uncommitted project may yet be rolled back
                with self._cache_lock:
                    self._project_ids[name] = project_id
        return project_id

    def _project_by_id(self, project_id: int, generation: int | None = None) -> Project | None:
        """The project, cached; ``generation``: the one the caller has just read."""
        if self._writing():
            return self._load_project(project_id)
        if generation is None:
            generation = self._generation_now()
        with self._cache_lock:
            cached = self._projects.get(project_id)
        if cached is not None and cached[0] == generation:
            return cached[1]
        project = self._load_project(project_id)
        if project is not None:
            with self._cache_lock:
                self._projects[project_id] = (generation, project)
        return project

    def _load_project(self, project_id: int) -> Project | None:
        rows = self._query("SELECT * FROM projects WHERE project_id = ?", (project_id,))
        if not rows:
            return None
        row = rows[0]
        themes = self._query(
            "SELECT name, description FROM themes WHERE project_id = ? ORDER BY position",
            (project_id,),
        )
        return Project(
            project_id=row["project_id"],
            name=row["name"],
            question=row["question"],
            mode=row["mode"],
            settings=json.loads(row["settings"]),
            created_at=row["created_at"],
            themes=tuple(Theme(t["name"], t["description"]) for t in themes),
            archived_at=row["archived_at"],
        )

    def projects(self, *, archived: bool = False) -> list[Project]:
        """Every project, oldest first; archived ones too when ``archived``."""
        ids = self._query(
            "SELECT project_id FROM projects"
            + ("" if archived else " WHERE archived_at IS NULL")
            + " ORDER BY project_id"
        )
        return [self.project(int(row[0]), archived=True) for row in ids]

    def add_theme(
        self, project_id: int, name: str, description: str = "", *, actor: str = ""
    ) -> Project:
        """Add a theme after the project's others; ``ConflictError`` when the name is taken."""
        name = name.strip()
        if not name:
            raise ValidationError("a theme needs a name", field="name")
        with self.transaction() as conn:
            self._live_project(conn, project_id)
            if conn.execute(
                "SELECT 1 FROM themes WHERE project_id = ? AND name = ?", (project_id, name)
            ).fetchone():
                raise ConflictError(f"the project already has a theme named {name!r}")
            conn.execute(
                "INSERT INTO themes (project_id, name, description, position)"
                " SELECT ?, ?, ?, coalesce(max(position) + 1, 0) FROM themes WHERE project_id = ?",
                (project_id, name, description, project_id),
            )
            self._audit(
                conn, project_id, actor, "theme.add", {"name": name, "description": description}
            )
        return self.project(project_id)

    def update_theme(
        self,
        project_id: int,
        theme: str,
        *,
        name: str | None = None,
        description: str | None = None,
        actor: str = "",
    ) -> Project:
        """Rename a theme or change its description. A rename keeps the theme's labels:
        labels are rows of theme names and append-only, so every record whose current labels
        (anyone's, in double screening) name the theme gets them again under the new name,
        in the same order, by the same reviewer; the old rows stay as history."""
        new_name = name.strip() if name is not None else None
        if new_name is not None and not new_name:
            raise ValidationError("a theme needs a name", field="name")
        with self.transaction() as conn:
            self._live_project(conn, project_id)
            row = conn.execute(
                "SELECT theme_id FROM themes WHERE project_id = ? AND name = ?",
                (project_id, theme),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no theme {theme!r} in this project")
            detail: dict[str, Any] = {"theme": theme}
            if new_name is not None and new_name != theme:
                if conn.execute(
                    "SELECT 1 FROM themes WHERE project_id = ? AND name = ?",
                    (project_id, new_name),
                ).fetchone():
                    raise ConflictError(f"the project already has a theme named {new_name!r}")
                conn.execute("UPDATE themes SET name = ? WHERE theme_id = ?", (new_name, row[0]))
                detail["name"] = new_name
                detail["labels_renamed"] = self._rename_labels(conn, project_id, theme, new_name)
            if description is not None:
                conn.execute(
                    "UPDATE themes SET description = ? WHERE theme_id = ?", (description, row[0])
                )
                detail["description"] = description
            self._audit(conn, project_id, actor, "theme.update", detail)
        return self.project(project_id)

    @staticmethod
    def _live_project(conn: sqlite3.Connection, project_id: int) -> None:
        if not conn.execute(
            "SELECT 1 FROM projects WHERE project_id = ? AND archived_at IS NULL", (project_id,)
        ).fetchone():
            raise NotFoundError(f"no project {project_id!r}")

    @staticmethod
    def _rename_labels(conn: sqlite3.Connection, project_id: int, old: str, new: str) -> int:
        """Append, for each record whose labels name ``old``, the newest row of each of its
        reviewers again (in their order, ``old`` renamed ``new``): whichever rows a viewer
        may see, the newest of them says the same as before. Returns the records relabelled."""
        newest: dict[int, dict[str, tuple[int, str]]] = {}
        for label_id, record_id, themes, reviewer in conn.execute(
            "SELECT label_id, record_id, themes, reviewer FROM theme_labels"
            " WHERE project_id = ? ORDER BY label_id",
            (project_id,),
        ):
            newest.setdefault(record_id, {})[reviewer] = (label_id, themes)
        created = now()
        renamed = 0
        for record_id, rows in newest.items():
            if not any(old in (json.loads(themes) or []) for _, themes in rows.values()):
                continue
            renamed += 1
            for reviewer, (_, themes) in sorted(rows.items(), key=lambda kv: kv[1][0]):
                names = json.loads(themes)
                again = None if names is None else [new if n == old else n for n in names]
                conn.execute(
                    "INSERT INTO theme_labels (project_id, record_id, themes, reviewer, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (project_id, record_id, json.dumps(again), reviewer, created),
                )
        return renamed

    def archive_project(self, project_id: int, actor: str = "") -> None:
        """Archive a project: hidden from every list and lookup, its records, decisions and
        audit trail kept. Nothing in the store is ever deleted; the name stays taken."""
        with self.transaction() as conn:
            archived = conn.execute(
                "UPDATE projects SET archived_at = ? WHERE project_id = ? AND archived_at IS NULL",
                (now(), project_id),
            ).rowcount
            if not archived:
                raise NotFoundError(f"no project {project_id!r}")
            self._audit(conn, project_id, actor, "project.archive", {})

    # -- import ---------------------------------------------------------------------------

    def import_records(
        self,
        project_id: int,
        records: Sequence[Record],
        *,
        filename: str,
        fmt: str,
        sha256: str,
        actor: str = "",
    ) -> ImportSummary:
        """Store one file's records in one transaction (``import_files`` with one file)."""
        _, [summary] = self.import_files(
            project_id, [ImportFile(filename, fmt, sha256, records)], actor=actor
        )
        return summary

    def import_files(
        self,
        project: int | NewProject,
        files: Sequence[ImportFile],
        *,
        actor: str = "",
        job_id: str | None = None,
    ) -> tuple[int, list[ImportSummary]]:
        """Store several files' records in ONE transaction: all of them or none.

        ``project`` is a project id, or a ``NewProject`` created in the same transaction (an
        import that fails or is killed leaves no empty project behind). ``job_id``: the import
        job whose phase becomes ``embed`` (with the summaries as its result) in the same
        transaction, so a restarted job knows whether its records are stored.

        Records are linked to what they duplicate, earlier files of the same import included.
        A file whose bytes were already imported into this project is not imported again
        (``already_imported``). Labels in a file become prior decisions, themes become theme
        labels (both by ``import:<filename>``); a duplicate's label or themes go to the record
        it duplicates when that record has none yet.
        """
        with self.transaction() as conn:
            if isinstance(project, NewProject):
                name = project.name.strip()
                if not name:
                    raise ValidationError("a project needs a name", field="name")
                project_id = _insert_project(conn, name, project.question, (), "single", {})
                self._audit(
                    conn, project_id, actor, "project.create", {"name": name, "mode": "single"}
                )
            else:
                project_id = project
            summaries = [self._import_file(conn, project_id, file, actor=actor) for file in files]
            if job_id is not None:
                result = [
                    {k: v for k, v in s.to_dict().items() if k != "record_ids"} for s in summaries
                ]
                conn.execute(
                    "UPDATE jobs SET project_id = ?, phase = 'embed', result = ?, done = 0,"
                    " total = 0, updated_at = ? WHERE job_id = ?",
                    (project_id, json.dumps(result), now(), job_id),
                )
        return project_id, summaries

    def _import_file(
        self, conn: sqlite3.Connection, project_id: int, file: ImportFile, *, actor: str
    ) -> ImportSummary:
        records, filename, fmt, sha256 = file.records, file.filename, file.format, file.sha256
        summary = ImportSummary(file_id=None, filename=filename, format=fmt)
        known_themes = {
            r[0]
            for r in conn.execute("SELECT name FROM themes WHERE project_id = ?", (project_id,))
        }
        if not conn.execute(
            "SELECT 1 FROM projects WHERE project_id = ? AND archived_at IS NULL", (project_id,)
        ).fetchone():
            raise NotFoundError(f"no project {project_id!r}")
        reviewer = f"import:{filename}"
        previous = conn.execute(
            "SELECT file_id FROM files WHERE project_id = ? AND sha256 = ?",
            (project_id, sha256),
        ).fetchone()
        if previous:
            summary.file_id = int(previous[0])
            summary.already_imported = True
            summary.read = len(records)
            return summary
        file_id = int(
            conn.execute(
                "INSERT INTO files (project_id, filename, format, sha256, read, added,"
                " duplicates, imported_by, imported_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
                (project_id, filename, fmt, sha256, len(records), actor, now()),
            ).lastrowid
        )
        summary.file_id = file_id
        summary.read = len(records)
        index = _dedup_index(conn, project_id)
        labelled = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT record_id FROM decisions WHERE project_id = ?", (project_id,)
            )
        }
        themed = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT record_id FROM theme_labels WHERE project_id = ?",
                (project_id,),
            )
        }
        created = now()
        settings = conn.execute(
            "SELECT settings FROM projects WHERE project_id = ?", (project_id,)
        ).fetchone()[0]
        limits = SearchLimits.of(json.loads(settings))
        for record in records:
            keys = DedupKeys.of(record)
            match = index.match(keys)
            text = record.text
            record_id = int(
                conn.execute(
                    "INSERT INTO records (project_id, file_id, source_id, source_line, title,"
                    " abstract, authors, year, journal, doi, pmid, url, keywords, ref_type,"
                    " notes, extra, doi_key, pmid_key, title_key, text_hash, duplicate_of,"
                    " duplicate_reason)"
                    f" VALUES ({', '.join('?' * 22)})",
                    (
                        project_id,
                        file_id,
                        record.source_id,
                        record.line,
                        record.title,
                        record.abstract,
                        json.dumps(record.authors, ensure_ascii=False),
                        record.year,
                        record.journal,
                        record.doi,
                        record.pmid,
                        record.url,
                        json.dumps(record.keywords, ensure_ascii=False),
                        record.ref_type,
                        record.notes,
                        json.dumps(record.extra, ensure_ascii=False),
                        keys.doi,
                        keys.pmid,
                        keys.title,
                        _hash_or_none(text),
                        match[0] if match else None,
                        match[1] if match else None,
                    ),
                ).lastrowid
            )
            if match:
                summary.duplicates += 1
                summary.duplicate_links.append(
                    {
                        "record_id": record_id,
                        "source_id": record.source_id,
                        "line": record.line,
                        "duplicate_of": match[0],
                        "reason": match[1],
                    }
                )
                target = match[0]
            else:
                index.add(record_id, keys)
                summary.added += 1
                summary.record_ids.append(record_id)
                target = record_id
                if not text:
                    summary.without_text += 1
                if not record.abstract.strip():
                    summary.without_abstract += 1
                if limits.active:
                    status = limits.check_record({"year": record.year, "extra": record.extra})
                    summary.outside_limits += status.status == "outside"
                    summary.unknown_limits += status.status == "unknown"
            if (record.label is not None or record.maybe) and target not in labelled:
                label = "maybe" if record.maybe else "include" if record.label == 1 else "exclude"
                # A screenwise export's exclusion outside the search limits stays one (removed
                # before screening, learnt from by no model) when it is imported again.
                automated = label == "exclude" and record.decision_reason == LIMITS_REASON
                conn.execute(
                    "INSERT INTO decisions (project_id, record_id, label, reviewer, origin,"
                    " reason, note, created_at) VALUES (?, ?, ?, ?, 'prior', ?, ?, ?)",
                    (
                        project_id,
                        target,
                        label,
                        AUTOMATION_REVIEWER if automated else reviewer,
                        record.decision_reason,
                        record.decision_note,
                        created,
                    ),
                )
                labelled.add(target)
                summary.prior_labels[label] = summary.prior_labels.get(label, 0) + 1
            if record.themes and target not in themed:
                unknown = [t for t in record.themes if t not in known_themes]
                for name in unknown:
                    conn.execute(
                        "INSERT INTO themes (project_id, name, position) VALUES (?, ?, ?)",
                        (project_id, name, len(known_themes)),
                    )
                    known_themes.add(name)
                conn.execute(
                    "INSERT INTO theme_labels (project_id, record_id, themes, reviewer,"
                    " created_at) VALUES (?, ?, ?, ?, ?)",
                    (project_id, target, json.dumps(record.themes), reviewer, created),
                )
                themed.add(target)
                summary.themes_found += 1
        conn.execute(
            "UPDATE files SET added = ?, duplicates = ? WHERE file_id = ?",
            (summary.added, summary.duplicates, file_id),
        )
        self._audit(
            conn,
            project_id,
            actor,
            "import",
            {k: v for k, v in summary.to_dict().items() if k not in ("record_ids",)}
            | {"duplicate_links": len(summary.duplicate_links)},
        )
        return summary

    def files(self, project_id: int) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT * FROM files WHERE project_id = ? ORDER BY file_id", (project_id,)
        )
        return [dict(row) for row in rows]

    # -- records --------------------------------------------------------------------------

    def record(
        self,
        project_id: int,
        record_id: int,
        *,
        stage: str = "title_abstract",
        viewer: Viewer | None = None,
    ) -> dict[str, Any]:
        """One record with its current decision (as ``viewer`` may see it, see
        ``current_decisions``) and themes; ``NotFoundError`` if not in the project."""
        rows = self._query(
            "SELECT r.*, s.filename AS source_file, " + _STUDY_TYPE_COLUMNS + " FROM records r"
            " JOIN files s USING (file_id) LEFT JOIN record_study_types t USING (record_id)"
            " WHERE r.project_id = ? AND r.record_id = ?",
            (project_id, record_id),
        )
        if not rows:
            raise NotFoundError(f"no record {record_id!r} in project {project_id!r}")
        record = _record_dict(rows[0])
        record["search_limits"] = self.limits(project_id).check_record(record).to_dict()
        latest = self.current_decisions(project_id, [record_id], stage=stage, viewer=viewer)
        record["decision"] = latest.get(record_id)
        record["themes"] = self.current_themes(project_id, viewer=viewer).get(record_id, [])
        return record

    def records(
        self,
        project_id: int,
        *,
        status: str = "all",
        theme: str | None = None,
        stage: str = "title_abstract",
        limit: int | None = None,
        offset: int = 0,
        include_duplicates: bool = False,
        viewer: Viewer | None = None,
        final: bool = False,
        limits: str | None = None,
        study_type: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of records by screening status (see ``STATUSES``), theme, standing against
        the search limits (``within``, ``outside``, ``unknown``: ``index.limits``) and study
        type (``study_types.STUDY_TYPES``), and the total; the status is that of the decision
        ``viewer`` sees (``current_decisions``), or of the final decision when ``final``
        (exports)."""
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", field="status")
        if limits not in (None, "within", "outside", "unknown"):
            raise ValidationError("limits must be within, outside or unknown", field="limits")
        latest = (
            self.final_decisions(project_id, stage)
            if final
            else self.current_decisions(project_id, stage=stage, viewer=viewer)
        )
        themes = self.current_themes(project_id, viewer=viewer, final=final)
        ids = [
            int(r[0])
            for r in self._query(
                "SELECT record_id FROM records WHERE project_id = ?"
                + ("" if include_duplicates else " AND duplicate_of IS NULL")
                + " ORDER BY record_id",
                (project_id,),
            )
        ]
        wanted = {
            "all": lambda d: True,
            "screened": lambda d: d is not None,
            "unscreened": lambda d: d is None,
            "included": lambda d: d is not None and d["label"] == "include",
            "excluded": lambda d: d is not None and d["label"] == "exclude",
            "maybe": lambda d: d is not None and d["label"] == "maybe",
        }[status]
        ids = [i for i in ids if wanted(latest.get(i))]
        if theme is not None:
            ids = [i for i in ids if theme in themes.get(i, ())]
        if limits is not None:
            verdicts = self.limit_verdicts(project_id)
            ids = [i for i in ids if i in verdicts and verdicts[i].status == limits]
        if study_type is not None:
            if study_type not in STUDY_TYPES:
                raise ValidationError(
                    f"study_type must be one of {', '.join(STUDY_TYPES)}", field="study_type"
                )
            typed = self.study_types(project_id)
            ids = [i for i in ids if (typed.get(i) or {}).get("study_type") == study_type]
        total = len(ids)
        page = ids[offset : offset + limit if limit is not None else None]
        rows = self._rows_by_id(project_id, page)
        checker = self.limits(project_id)
        out = []
        for record_id in page:
            record = rows[record_id]
            record["search_limits"] = checker.check_record(record).to_dict()
            record["decision"] = latest.get(record_id)
            record["themes"] = themes.get(record_id, [])
            out.append(record)
        return out, total

    def _rows_by_id(self, project_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(list(ids), 900):
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                f"SELECT r.*, s.filename AS source_file, {_STUDY_TYPE_COLUMNS} FROM records r"
                " JOIN files s USING (file_id) LEFT JOIN record_study_types t USING (record_id)"
                f" WHERE r.project_id = ? AND r.record_id IN ({marks})",
                (project_id, *chunk),
            ):
                out[int(row["record_id"])] = _record_dict(row)
        return out

    def records_by_id(self, project_id: int, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Records in the order of ``ids``; ``NotFoundError`` names the first unknown id."""
        rows = self._rows_by_id(project_id, ids)
        for record_id in ids:
            if record_id not in rows:
                raise NotFoundError(f"no record {record_id!r} in project {project_id!r}")
        return [rows[i] for i in ids]

    def textless_records(self, project_id: int) -> tuple[int, ...]:
        """Non-duplicate records without title and abstract (never embedded), by record id."""
        rows = self._query(
            "SELECT record_id FROM records WHERE project_id = ? AND duplicate_of IS NULL"
            " AND text_hash IS NULL ORDER BY record_id",
            (project_id,),
        )
        return tuple(int(r[0]) for r in rows)

    def lexical_texts(self, project_id: int) -> list[tuple[int, str, str]]:
        """(record_id, text, lexical text) of every non-duplicate record, by record id: the
        text embedded (title and abstract) and what the relevance TF-IDF reads (with the
        keywords, ``index.records.lexical_text``)."""
        rows = self._query(
            "SELECT record_id, title, abstract, keywords FROM records"
            " WHERE project_id = ? AND duplicate_of IS NULL ORDER BY record_id",
            (project_id,),
        )
        from .records import embedding_text, lexical_text

        return [
            (
                int(r[0]),
                embedding_text(r[1], r[2]),
                lexical_text(r[1], r[2], json.loads(r[3]) if r[3] else ()),
            )
            for r in rows
        ]

    def texts(self, project_id: int) -> list[tuple[int, str | None, str]]:
        """(record_id, text_hash, text) of every non-duplicate record, by record id."""
        rows = self._query(
            "SELECT record_id, text_hash, title, abstract FROM records"
            " WHERE project_id = ? AND duplicate_of IS NULL ORDER BY record_id",
            (project_id,),
        )
        from .records import embedding_text

        return [(int(r[0]), r[1], embedding_text(r[2], r[3])) for r in rows]

    def dedup_index(self, project_id: int) -> DedupIndex:
        """The duplicate-matching keys of the project's canonical records."""
        with self._reading() as conn:
            return _dedup_index(conn, project_id)

    def _counted(self, name: str, project_id: int, read: Callable[[], Any]) -> Any:
        """``read()``, remembered while the store is unchanged (``_generation_now``): the
        version counts below scan a project's records (20 ms at 100k), and every queue read
        asks for them."""
        generation = self._generation_now()
        with self._cache_lock:
            hit = self._counts.get((name, project_id))
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = read()
        with self._cache_lock:
            self._counts[(name, project_id)] = (generation, value)
        return value

    def records_version(self, project_id: int) -> tuple[int, int]:
        """(count, highest record id) of a project's records: changes when an import adds any."""
        return self._counted("records", project_id, lambda: self._records_version(project_id))

    def _records_version(self, project_id: int) -> tuple[int, int]:
        count, last = self._query(
            "SELECT count(*), coalesce(max(record_id), 0) FROM records WHERE project_id = ?",
            (project_id,),
        )[0]
        return int(count), int(last)

    def state_version(self, project_id: int) -> tuple[int, int, int, int]:
        """(record count, last record id, last decision id, last theme label id): changes
        whenever an import, a decision or a theme label changes what a model would learn."""
        return self._counted("state", project_id, lambda: self._state_version(project_id))

    def _state_version(self, project_id: int) -> tuple[int, int, int, int]:
        row = self._query(
            "SELECT (SELECT count(*) FROM records WHERE project_id = :p),"
            " (SELECT coalesce(max(record_id), 0) FROM records WHERE project_id = :p),"
            " (SELECT coalesce(max(decision_id), 0) FROM decisions WHERE project_id = :p),"
            " (SELECT coalesce(max(label_id), 0) FROM theme_labels WHERE project_id = :p)",
            {"p": project_id},
        )[0]
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    # -- decisions ------------------------------------------------------------------------

    def add_decision(
        self,
        project_id: int,
        record_id: int,
        label: str,
        reviewer: str,
        *,
        stage: str = "title_abstract",
        origin: str = "screen",
        reason: str = "",
        note: str = "",
        themes: Sequence[str] | None = None,
        supersedes: int | None = None,
    ) -> dict[str, Any]:
        """Append a decision (and, when given, the record's themes); returns the stored row.

        The rules, checked in the writing transaction against the record's decisions:

        - a full-text decision needs the record finally included at title/abstract;
        - an exclusion's reason must be one of the project's reasons for the stage, when it
          has a list (and, at full text, is then required);
        - blind double screening: a ``screen`` decision on a final record, or by a third
          reviewer once two have decided, is a ``ConflictError``; a ``resolution`` (include
          or exclude) needs a record in conflict or final.

        ``supersedes`` is the decision id the caller saw as current (0: none yet): the record's
        newest at ``stage``, or in double screening the reviewer's own newest ``screen``
        decision; when another has come since, ``ConflictError``. ``None`` skips that check.

        ``label="undecided"`` retracts the reviewer's decision: in single screening the record
        has no current decision at ``stage`` until the next one; in double screening the
        reviewer has none. Unless ``themes`` is given, the record's theme labels are withdrawn
        too (the state before it was screened).
        """
        if label not in LABELS:
            raise ValidationError(f"label must be one of {', '.join(LABELS)}", field="label")
        if stage not in STAGES:
            raise ValidationError(f"stage must be one of {', '.join(STAGES)}", field="stage")
        if not reviewer or not reviewer.strip():
            raise ValidationError("a decision needs a reviewer", field="reviewer")
        if origin == "resolution" and label not in consensus.AGREEING:
            raise ValidationError("a resolution includes or excludes", field="label")
        project = self.project(project_id)
        if themes is not None:
            known = {t.name for t in project.themes}
            unknown = [t for t in themes if t not in known]
            if unknown:
                raise ValidationError(f"unknown theme(s): {', '.join(unknown)}", field="themes")
        _check_reason(project, stage, label, reason)
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT duplicate_of FROM records WHERE project_id = ? AND record_id = ?",
                (project_id, record_id),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no record {record_id!r} in project {project_id!r}")
            if row[0] is not None:
                raise ConflictError(
                    f"record {record_id} is a duplicate of record {row[0]}; screen that one"
                )
            mode = conn.execute(
                "SELECT mode FROM projects WHERE project_id = ?", (project_id,)
            ).fetchone()[0]
            if stage == "full_text":
                screened = _record_state(conn, project_id, record_id, "title_abstract", mode)
                if screened.final is None or screened.final["label"] != "include":
                    raise ConflictError(
                        f"record {record_id} is not included at title/abstract screening;"
                        " only included records are screened at full text"
                    )
            state = _record_state(conn, project_id, record_id, stage, mode)
            previous = consensus.check_decision(state, mode, reviewer, origin, stage)
            if supersedes is not None:
                if mode == "double" and origin == "screen":
                    current = (previous or {}).get("decision_id", 0)
                else:
                    newest = conn.execute(
                        "SELECT decision_id, label FROM decisions"
                        " WHERE project_id = ? AND record_id = ? AND stage = ?"
                        " ORDER BY decision_id DESC LIMIT 1",
                        (project_id, record_id, stage),
                    ).fetchone()
                    current = newest[0] if newest is not None and newest[1] != RETRACT else 0
                if current != supersedes:
                    raise ConflictError(
                        f"record {record_id} has decision {current or 'none'} as its current"
                        f" {stage} decision, not {supersedes or 'none'}; reload and decide again",
                        current_decision=current or None,
                    )
            created = now()
            decision_id = conn.execute(
                "INSERT INTO decisions (project_id, record_id, stage, label, reviewer, origin,"
                " reason, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project_id, record_id, stage, label, reviewer, origin, reason, note, created),
            ).lastrowid
            themes_json = json.dumps(list(themes)) if themes is not None else None
            if themes is None and label == RETRACT:
                labelled = conn.execute(
                    "SELECT themes FROM theme_labels WHERE project_id = ? AND record_id = ?"
                    " ORDER BY label_id DESC LIMIT 1",
                    (project_id, record_id),
                ).fetchone()
                if labelled is not None and labelled[0] != "null":
                    # A JSON null row withdraws the record's theme labels (see current_themes).
                    themes_json = "null"
            if themes_json is not None:
                conn.execute(
                    "INSERT INTO theme_labels (project_id, record_id, themes, reviewer, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (project_id, record_id, themes_json, reviewer, created),
                )
            action = (
                "resolution"
                if origin == "resolution"
                else "decision.change"
                if previous is not None
                else "decision"
            )
            detail = {
                "decision_id": decision_id,
                "record_id": record_id,
                "label": label,
                "stage": stage,
                "origin": origin,
                "reason": reason,
                "note": note,
            }
            if previous is not None:
                detail["replaces"] = previous["decision_id"]
            if themes is not None:
                detail["themes"] = list(themes)
            self._audit(conn, project_id, reviewer, action, detail)
            stored = conn.execute(
                "SELECT * FROM decisions WHERE decision_id = ?", (decision_id,)
            ).fetchone()
        return dict(stored)

    def decisions(
        self,
        project_id: int,
        record_id: int | None = None,
        reviewer: str | None = None,
        *,
        viewer: Viewer | None = None,
    ) -> list[dict[str, Any]]:
        """Every decision, oldest first, optionally of one record or one reviewer; in double
        screening only those ``viewer`` may see (``None``: all)."""
        sql = "SELECT * FROM decisions WHERE project_id = ?"
        params: list[Any] = [project_id]
        if record_id is not None:
            sql += " AND record_id = ?"
            params.append(record_id)
        if reviewer is not None:
            sql += " AND reviewer = ?"
            params.append(reviewer)
        rows = [dict(r) for r in self._query(sql + " ORDER BY decision_id", params)]
        if viewer is None or self.project(project_id, archived=True).mode != "double":
            return rows
        states = {stage: self.states(project_id, stage) for stage in STAGES}
        return [d for d in rows if consensus.can_see(d, states[d["stage"]][d["record_id"]], viewer)]

    def states(self, project_id: int, stage: str = "title_abstract") -> dict[int, RecordState]:
        """Where each record with a decision at ``stage`` stands (``index.consensus``).

        Derived once per state of the project's decisions and shared: the dict is the
        caller's, the ``RecordState`` objects and decision rows in it are shared with every
        other caller and must not be changed. A cached derivation is used as it is while the
        store's generation stands (``_generation_now``); after any commit, the decisions newer
        than its newest are read and only their records derived again. That is exact because
        decisions are only ever appended, and writers are serialised (``BEGIN IMMEDIATE``), so
        a decision committed later always has a higher id than every one seen before. A change
        of the project's mode derives every record again.
        """
        if self._writing():  # uncommitted decisions are never cached
            return self._derive(
                project_id, stage, self.project(project_id, archived=True).mode
            ).states
        generation = self._generation_now()
        project = self._project_by_id(project_id, generation)
        if project is None:
            raise NotFoundError(f"no project {project_id!r}")
        mode = project.mode
        key = (project_id, stage)
        with self._cache_lock:
            cached = self._derived.get(key)
        if cached is not None and cached.mode == mode and cached.generation == generation:
            return dict(cached.states)
        since = cached if cached is not None and cached.mode == mode else None
        derived = self._derive(project_id, stage, mode, since=since, generation=generation)
        with self._cache_lock:
            self._derived.pop(key, None)
            self._derived[key] = derived
            while len(self._derived) > _DERIVED_KEPT:
                del self._derived[next(iter(self._derived))]
        return dict(derived.states)

    def _derive(
        self,
        project_id: int,
        stage: str,
        mode: str,
        *,
        since: _Derived | None = None,
        generation: int = -1,
    ) -> _Derived:
        """The states of ``stage``: all derived, or ``since``'s with the records that have
        newer decisions derived again."""
        # Decisions up to the newest in the table now: a later read goes on from there.
        newest = self._query("SELECT coalesce(max(decision_id), 0) FROM decisions")[0][0]
        # All of the project's decisions through its index; the few newer ones by id ("+"
        # keeps SQLite off the project index, which would go through all of them).
        sql = (
            "SELECT * FROM decisions WHERE project_id = ? AND stage = ?"
            if since is None
            else "SELECT * FROM decisions WHERE +project_id = ? AND stage = ? AND decision_id > ?"
        )
        params = (project_id, stage) if since is None else (project_id, stage, since.newest)
        new = [
            dict(r)
            for r in self._query(
                sql + " AND decision_id <= ? ORDER BY decision_id", (*params, newest)
            )
        ]
        if since is None:
            rows: dict[int, list[dict[str, Any]]] = {}
            for row in new:
                rows.setdefault(int(row["record_id"]), []).append(row)
            return _Derived(generation, mode, newest, rows, consensus.derive(new, mode))
        if not new:
            return dataclasses.replace(since, generation=generation, newest=newest)
        rows, touched = dict(since.rows), {int(row["record_id"]) for row in new}
        for rid in touched:
            rows[rid] = list(rows.get(rid, ()))
        for row in new:
            rows[int(row["record_id"])].append(row)
        states = dict(since.states)
        states.update(consensus.derive((row for rid in touched for row in rows[rid]), mode))
        return _Derived(generation, mode, newest, rows, states)

    def final_decisions(
        self, project_id: int, stage: str = "title_abstract"
    ) -> dict[int, dict[str, Any]]:
        """The decision that settles each final record at ``stage``: the newest one in single
        screening; in double screening the agreed, resolved or imported one. What trains the
        models and what PRISMA and exports count."""
        return {
            rid: state.final
            for rid, state in self.states(project_id, stage).items()
            if state.final is not None
        }

    def closed_records(self, project_id: int, stage: str, reviewer: str | None) -> set[int]:
        """Records ``reviewer``'s queue at ``stage`` never offers (``consensus.closed_for``)."""
        mode = self.project(project_id, archived=True).mode
        return consensus.closed_for(self.states(project_id, stage), mode, reviewer)

    def included(self, project_id: int) -> set[int]:
        """Records finally included at title/abstract: those screened at full text."""
        return {
            rid
            for rid, d in self.final_decisions(project_id, "title_abstract").items()
            if d["label"] == "include"
        }

    def current_decisions(
        self,
        project_id: int,
        record_ids: Sequence[int] | None = None,
        *,
        stage: str = "title_abstract",
        viewer: Viewer | None = None,
    ) -> dict[int, dict[str, Any]]:
        """The decision shown as each record's current one at ``stage``: the newest in single
        screening; in double screening the final one, else ``viewer``'s own."""
        mode = self.project(project_id, archived=True).mode
        latest = consensus.visible_current(self.states(project_id, stage), mode, viewer)
        if record_ids is not None:
            return {i: latest[i] for i in record_ids if i in latest}
        return latest

    def current_themes(
        self, project_id: int, *, viewer: Viewer | None = None, final: bool = False
    ) -> dict[int, list[str]]:
        """The newest theme labels per record. In double screening a reviewer's themes go
        with their decision: ``viewer`` sees only their own, imported ones, and those of
        records final at title/abstract; ``final`` keeps only imported ones and those of final
        records (what every member may see: exports, shared counts). A record whose newest row
        withdrew its themes (JSON null, from a retraction) has none."""
        rows = self._query(
            "SELECT record_id, themes, reviewer FROM theme_labels WHERE project_id = ?"
            " ORDER BY label_id",
            (project_id,),
        )
        if (viewer is not None or final) and self.project(
            project_id, archived=True
        ).mode == "double":
            settled = self.final_decisions(project_id)
            mine = viewer.name if viewer is not None and not final else None
            rows = [
                r for r in rows if r[2] == mine or r[2].startswith("import:") or r[0] in settled
            ]
        themes: dict[int, list[str]] = {}
        for row in rows:
            names = json.loads(row[1])
            if names is None:
                themes.pop(int(row[0]), None)
            else:
                themes[int(row[0])] = names
        return themes

    # -- reviewers, tokens, memberships ---------------------------------------------------

    def create_reviewer(self, name: str, *, is_admin: bool = False, actor: str = "") -> Reviewer:
        """A new reviewer; ``ConflictError`` when the name is taken."""
        name = name.strip()
        if not name or len(name) > 200:
            raise ValidationError("a reviewer needs a name of 1 to 200 characters", field="name")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise ValidationError("a reviewer name cannot hold control characters", field="name")
        if name.startswith(("import:", "cli:")):
            raise ValidationError(
                "names starting import: or cli: are screenwise's own", field="name"
            )
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM reviewers WHERE name = ?", (name,)).fetchone():
                raise ConflictError(f"a reviewer named {name!r} already exists")
            conn.execute(
                "INSERT INTO reviewers (name, is_admin, created_at) VALUES (?, ?, ?)",
                (name, int(is_admin), now()),
            )
            self._audit(conn, None, actor, "reviewer.create", {"name": name, "admin": is_admin})
        return self.reviewer(name)

    def reviewer(self, ref: str | int) -> Reviewer:
        """A reviewer by name or id; ``NotFoundError`` when there is none."""
        column = "reviewer_id" if isinstance(ref, int) else "name"
        rows = self._query(f"SELECT * FROM reviewers WHERE {column} = ?", (ref,))
        if not rows:
            raise NotFoundError(f"no reviewer {ref!r}")
        return _reviewer(rows[0])

    def reviewers(self) -> list[Reviewer]:
        return [_reviewer(r) for r in self._query("SELECT * FROM reviewers ORDER BY reviewer_id")]

    def add_token(
        self, reviewer: str, token_hash: str, *, label: str = "", actor: str = ""
    ) -> dict[str, Any]:
        """Store a token's hash for ``reviewer``; returns the token's row (without the hash)."""
        person = self.reviewer(reviewer)
        with self.transaction() as conn:
            token_id = conn.execute(
                "INSERT INTO tokens (reviewer_id, token_hash, label, created_at)"
                " VALUES (?, ?, ?, ?)",
                (person.reviewer_id, token_hash, label, now()),
            ).lastrowid
            self._audit(
                conn,
                None,
                actor,
                "token.create",
                {"token_id": token_id, "reviewer": person.name, "label": label},
            )
        return self.token(int(token_id))

    def token(self, token_id: int) -> dict[str, Any]:
        rows = self._query(_TOKEN_SQL + " WHERE t.token_id = ?", (token_id,))
        if not rows:
            raise NotFoundError(f"no token {token_id!r}")
        return dict(rows[0])

    def tokens(self, reviewer: str | None = None) -> list[dict[str, Any]]:
        """Tokens (never their hashes), oldest first, optionally of one reviewer."""
        if reviewer is None:
            rows = self._query(_TOKEN_SQL + " ORDER BY t.token_id")
        else:
            rows = self._query(_TOKEN_SQL + " WHERE r.name = ? ORDER BY t.token_id", (reviewer,))
        return [dict(r) for r in rows]

    def reviewer_by_token(self, token_hash: str) -> Reviewer | None:
        """The reviewer whose unrevoked token has this hash."""
        rows = self._query(
            "SELECT r.* FROM tokens t JOIN reviewers r USING (reviewer_id)"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
            (token_hash,),
        )
        return _reviewer(rows[0]) if rows else None

    def revoke_token(self, token_id: int, *, actor: str = "") -> dict[str, Any]:
        """Revoke a token (once); ``NotFoundError`` for an unknown or already revoked one."""
        with self.transaction() as conn:
            revoked = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (now(), token_id),
            ).rowcount
            if not revoked:
                raise NotFoundError(f"no token {token_id!r} that is still valid")
            self._audit(conn, None, actor, "token.revoke", {"token_id": token_id})
        return self.token(token_id)

    def set_member(self, project_id: int, reviewer: str, role: str, *, actor: str = "") -> None:
        """Make ``reviewer`` a member of the project with ``role`` (a new membership row when
        the role changes; the old one is ended)."""
        if role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
        self.project(project_id)
        person = self.reviewer(reviewer)
        with self.transaction() as conn:
            current = _membership(conn, project_id, person.reviewer_id)
            if current is not None and current["role"] == role:
                return
            stamp = now()
            if current is not None:
                conn.execute(
                    "UPDATE memberships SET removed_at = ? WHERE membership_id = ?",
                    (stamp, current["membership_id"]),
                )
            conn.execute(
                "INSERT INTO memberships (project_id, reviewer_id, role, added_at)"
                " VALUES (?, ?, ?, ?)",
                (project_id, person.reviewer_id, role, stamp),
            )
            detail = {"reviewer": person.name, "role": role}
            if current is not None:
                detail["previous_role"] = current["role"]
            self._audit(conn, project_id, actor, "member.set", detail)

    def remove_member(self, project_id: int, reviewer: str, *, actor: str = "") -> None:
        """End ``reviewer``'s membership; their decisions stay. ``ConflictError`` when they are
        the project's last maintainer."""
        self.project(project_id)
        person = self.reviewer(reviewer)
        with self.transaction() as conn:
            current = _membership(conn, project_id, person.reviewer_id)
            if current is None:
                raise NotFoundError(f"{person.name!r} is not a member of project {project_id}")
            if current["role"] == "maintainer":
                maintainers = conn.execute(
                    "SELECT count(*) FROM memberships WHERE project_id = ?"
                    " AND role = 'maintainer' AND removed_at IS NULL",
                    (project_id,),
                ).fetchone()[0]
                if maintainers == 1:
                    raise ConflictError(
                        f"{person.name!r} is the project's last maintainer; add another first"
                    )
            conn.execute(
                "UPDATE memberships SET removed_at = ? WHERE membership_id = ?",
                (now(), current["membership_id"]),
            )
            self._audit(conn, project_id, actor, "member.remove", {"reviewer": person.name})

    def members(self, project_id: int) -> list[dict[str, Any]]:
        """The project's current members: reviewer name, role, since when."""
        rows = self._query(
            "SELECT r.name AS reviewer, m.role, m.added_at FROM memberships m"
            " JOIN reviewers r USING (reviewer_id)"
            " WHERE m.project_id = ? AND m.removed_at IS NULL ORDER BY m.membership_id",
            (project_id,),
        )
        return [dict(r) for r in rows]

    def roles(self, reviewer_id: int) -> dict[int, str]:
        """The reviewer's role in each project they belong to (archived ones left out)."""
        rows = self._query(
            "SELECT m.project_id, m.role FROM memberships m JOIN projects p USING (project_id)"
            " WHERE m.reviewer_id = ? AND m.removed_at IS NULL AND p.archived_at IS NULL",
            (reviewer_id,),
        )
        return {int(r[0]): r[1] for r in rows}

    # -- audit ----------------------------------------------------------------------------

    @staticmethod
    def _audit(
        conn: sqlite3.Connection,
        project_id: int | None,
        actor: str,
        action: str,
        detail: dict[str, Any],
    ) -> None:
        conn.execute(
            "INSERT INTO audit (project_id, actor, action, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (project_id, actor or "", action, json.dumps(detail, default=str), now()),
        )

    def log(self, project_id: int | None, actor: str, action: str, **detail: Any) -> None:
        """Record an event (retrain, export, ...) in the audit trail."""
        with self.transaction() as conn:
            self._audit(conn, project_id, actor, action, detail)

    def audit(self, project_id: int | None) -> list[dict[str, Any]]:
        """A project's audit events, oldest first; ``None``: the instance's own (reviewers,
        tokens)."""
        rows = self._query(
            "SELECT * FROM audit WHERE project_id IS ? ORDER BY event_id", (project_id,)
        )
        return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]

    # -- vector cache ---------------------------------------------------------------------

    def cached_vectors(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors of ``model`` by text hash (missing hashes are absent)."""
        out: dict[str, np.ndarray] = {}
        for chunk in _chunks(list(dict.fromkeys(hashes)), 900):
            marks = ",".join("?" * len(chunk))
            for text_hash, blob in self._query(
                "SELECT text_hash, vector FROM embeddings"
                f" WHERE model = ? AND text_hash IN ({marks})",
                (model, *chunk),
            ):
                out[text_hash] = np.frombuffer(blob, dtype="<f4")
        return out

    def project_vectors(self, project_id: int, model: str) -> tuple[np.ndarray, np.ndarray]:
        """Record ids (ascending) of the project's embedded records (not duplicates) and their
        ``model`` vectors, one row each (float32): one join, no text read."""
        rows = self._query(
            "SELECT r.record_id, e.vector FROM records r"
            " JOIN embeddings e ON e.model = ? AND e.text_hash = r.text_hash"
            " WHERE r.project_id = ? AND r.duplicate_of IS NULL ORDER BY r.record_id",
            (model, project_id),
        )
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        blob = b"".join(row[1] for row in rows)
        del rows
        return ids, np.frombuffer(blob, dtype="<f4").reshape(len(ids), -1).astype(np.float32)

    def put_vectors(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Cache vectors of ``model``; an already cached hash is left as it is."""
        if len(hashes) != len(vectors):
            raise ValueError("hashes and vectors differ in length")
        rows = [
            (model, h, np.asarray(v, dtype="<f4").tobytes())
            for h, v in zip(hashes, vectors, strict=True)
        ]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)", rows
            )

    def embedding_version(self, project_id: int, model: str) -> tuple[int, int, int]:
        """(record count, last record id, embedding generation): changes when an import adds
        records or an embedding job makes more of them embedded. One cheap query."""
        return self._counted(
            f"embedding:{model}", project_id, lambda: self._embedding_version(project_id, model)
        )

    def _embedding_version(self, project_id: int, model: str) -> tuple[int, int, int]:
        row = self._query(
            "SELECT (SELECT count(*) FROM records WHERE project_id = :p),"
            " (SELECT coalesce(max(record_id), 0) FROM records WHERE project_id = :p),"
            " (SELECT coalesce(max(generation), 0) FROM embedding_generations"
            "  WHERE project_id = :p AND model = :m)",
            {"p": project_id, "m": model},
        )[0]
        return int(row[0]), int(row[1]), int(row[2])

    def bump_embedding_generation(self, project_id: int, model: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO embedding_generations (project_id, model, generation)"
                " VALUES (?, ?, 1) ON CONFLICT (project_id, model)"
                " DO UPDATE SET generation = generation + 1",
                (project_id, model),
            )

    def missing_vectors(self, project_id: int, model: str) -> dict[str, str]:
        """Text hash -> text of the project's records that ``model`` has not embedded yet."""
        rows = self._query(
            "SELECT r.text_hash, r.title, r.abstract FROM records r"
            " WHERE r.project_id = ? AND r.duplicate_of IS NULL AND r.text_hash IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM embeddings e"
            "  WHERE e.model = ? AND e.text_hash = r.text_hash)"
            " ORDER BY r.record_id",
            (project_id, model),
        )
        from .records import embedding_text

        missing: dict[str, str] = {}
        for text_hash, title, abstract in rows:  # the same text in two records: embedded once
            if text_hash not in missing:  # (in Python: SQL's DISTINCT sorts every text, 9x slower)
                missing[text_hash] = embedding_text(title, abstract)
        return missing

    def pending_vectors(self, project_id: int, model: str) -> int:
        """How many of the project's records (with text, not duplicates) lack a vector."""
        return int(
            self._query(
                "SELECT count(*) FROM records r WHERE r.project_id = ?"
                " AND r.duplicate_of IS NULL AND r.text_hash IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM embeddings e"
                "  WHERE e.model = ? AND e.text_hash = r.text_hash)",
                (project_id, model),
            )[0][0]
        )

    # -- jobs -----------------------------------------------------------------------------

    def create_job(
        self,
        job_id: str,
        kind: str,
        *,
        project_id: int | None,
        params: dict[str, Any],
        requested_by: str = "",
        phase: str = "queued",
    ) -> dict[str, Any]:
        stamp = now()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, project_id, kind, phase, params, requested_by,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, project_id, kind, phase, json.dumps(params), requested_by, stamp, stamp),
            )
        return self.job(job_id)

    def job(self, job_id: str) -> dict[str, Any]:
        rows = self._query("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        if not rows:
            raise NotFoundError(f"no job {job_id!r}")
        return _job_dict(rows[0])

    def jobs(
        self, project_id: int | None = None, *, states: Sequence[str] = (), limit: int = 100
    ) -> list[dict[str, Any]]:
        """Jobs, newest first; of one project, in some states."""
        where, params = [], []
        if project_id is not None:
            where.append("project_id = ?")
            params.append(project_id)
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            params.extend(states)
        rows = self._query(
            "SELECT * FROM jobs"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (*params, limit),
        )
        return [_job_dict(r) for r in rows]

    def claim_job(self, job_id: str, worker: str) -> dict[str, Any] | None:
        """Take a queued job (queued -> running, ``worker`` recorded); ``None`` when it is not
        queued (done, cancelled, or another worker has it): a repeated message is harmless."""
        with self.transaction() as conn:
            claimed = conn.execute(
                "UPDATE jobs SET state = 'running', worker = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE job_id = ? AND state = 'queued' AND cancel = 0",
                (worker, now(), job_id),
            ).rowcount
        return self.job(job_id) if claimed else None

    def update_job(self, job_id: str, **fields: Any) -> None:
        """Set some columns of a job (``result``/``params`` as JSON); ``updated_at`` too."""
        for key in ("result", "params"):
            if key in fields and not isinstance(fields[key], str | None):
                fields[key] = json.dumps(fields[key])
        if fields.get("state") in ("done", "failed", "cancelled"):
            fields.setdefault("finished_at", now())
        fields["updated_at"] = now()
        unknown = set(fields) - _JOB_COLUMNS
        if unknown:
            raise ValueError(f"no job column {sorted(unknown)}")
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in fields)} WHERE job_id = ?",
                (*fields.values(), job_id),
            )

    def finish_job(self, job_id: str, state: str, *, error: str | None = None) -> bool:
        """Move a running or queued job to ``state`` (done, failed, cancelled); False when it
        had already finished."""
        with self.transaction() as conn:
            return bool(
                conn.execute(
                    "UPDATE jobs SET state = ?, error = coalesce(?, error), finished_at = ?,"
                    " updated_at = ? WHERE job_id = ? AND state IN ('queued', 'running')",
                    (state, error, now(), now(), job_id),
                ).rowcount
            )

    def request_cancel(self, job_id: str) -> dict[str, Any]:
        """Ask a job to stop: a queued one is cancelled at once, a running one stops at its
        next step (its worker sees ``cancel``). A finished job is left as it is."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET cancel = 1, updated_at = ? WHERE job_id = ?"
                " AND state IN ('queued', 'running')",
                (now(), job_id),
            )
            conn.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?, phase = 'cancelled'"
                " WHERE job_id = ? AND state = 'queued'",
                (now(), job_id),
            )
        return self.job(job_id)

    # -- figures --------------------------------------------------------------------------

    def stats(self, project_id: int, *, viewer: Viewer | None = None) -> dict[str, Any]:
        """Counts for the project's flow: identified, duplicates, then per stage the final
        decisions (what every member may see), conflicts, records awaiting a second decision,
        ``viewer``'s own counts and the agreement between reviewers. The title/abstract
        counts are also at the top level."""
        project = self.project(project_id)
        (records, duplicates, without_text) = self._query(
            "SELECT count(*), count(duplicate_of),"
            " sum(CASE WHEN duplicate_of IS NULL AND text_hash IS NULL THEN 1 ELSE 0 END)"
            " FROM records WHERE project_id = ?",
            (project_id,),
        )[0]
        unique = records - duplicates
        stages: dict[str, dict[str, Any]] = {}
        eligible: set[int] | None = None  # full text: the records included at title/abstract
        # Records the automation excluded as outside the search limits were removed before
        # screening (PRISMA 2020): they are neither screened nor awaiting screening.
        removed = {
            rid
            for rid, state in self.states(project_id, "title_abstract").items()
            if is_limit_exclusion(state.final)
        }
        for stage in STAGES:
            states = self.states(project_id, stage)
            if eligible is None:
                states = {rid: state for rid, state in states.items() if rid not in removed}
            else:
                states = {rid: state for rid, state in states.items() if rid in eligible}
            stages[stage] = _stage_counts(
                states,
                unique - len(removed) if eligible is None else len(eligible),
                project.mode,
                viewer,
            )
            eligible = {
                rid for rid, s in states.items() if s.final and s.final["label"] == "include"
            }
        return {
            "mode": project.mode,
            "records": unique,
            "identified": records,
            "duplicates": duplicates,
            "without_text": without_text or 0,
            "removed_outside_limits": len(removed),
            **{k: v for k, v in stages["title_abstract"].items() if k != "eligible"},
            "sources": [
                {k: s[k] for k in ("filename", "format", "read", "added", "duplicates")}
                for s in self.files(project_id)
            ],
            "stages": stages,
        }


def _stage_counts(
    states: dict[int, RecordState], eligible: int, mode: str, viewer: Viewer | None
) -> dict[str, Any]:
    """Final counts of one stage, with conflicts, pending records, the viewer's own counts and
    the reviewers' agreement."""
    finals = [s.final for s in states.values() if s.final is not None]
    labels = [d["label"] for d in finals]
    reasons: dict[str, int] = {}
    for d in finals:
        if d["label"] == "exclude" and d["reason"]:
            reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
    mine = None
    if viewer is not None:
        own = [
            s.current.get(viewer.name)
            if mode == "double"
            else (s.final if s.final and s.final["reviewer"] == viewer.name else None)
            for s in states.values()
        ]
        own_labels = [d["label"] for d in own if d is not None]
        mine = {"screened": len(own_labels)} | {
            key: own_labels.count(label)
            for key, label in (("included", "include"), ("excluded", "exclude"), ("maybe", "maybe"))
        }
    return {
        "eligible": eligible,
        "screened": len(labels),
        "unscreened": eligible - len(labels),
        "included": labels.count("include"),
        "excluded": labels.count("exclude"),
        "maybe": labels.count("maybe"),
        "excluded_by_reason": reasons,
        "conflicts": sum(s.status == "conflict" for s in states.values()),
        "awaiting_second": sum(s.status == "pending" for s in states.values()),
        "mine": mine,
        "agreement": consensus.agreement(states.values()),
    }


_TOKEN_SQL = (
    "SELECT t.token_id, r.name AS reviewer, t.label, t.created_at, t.revoked_at"
    " FROM tokens t JOIN reviewers r USING (reviewer_id)"
)


def _reviewer(row: sqlite3.Row) -> Reviewer:
    return Reviewer(row["reviewer_id"], row["name"], bool(row["is_admin"]), row["created_at"])


def _membership(conn: sqlite3.Connection, project_id: int, reviewer_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM memberships WHERE project_id = ? AND reviewer_id = ? AND removed_at IS NULL",
        (project_id, reviewer_id),
    ).fetchone()


def _dedup_index(conn: sqlite3.Connection, project_id: int) -> DedupIndex:
    rows = conn.execute(
        "SELECT record_id, doi_key, pmid_key, title_key, year FROM records"
        " WHERE project_id = ? AND duplicate_of IS NULL",
        (project_id,),
    ).fetchall()
    return index_of((r[0], DedupKeys(r[1], r[2], r[3], r[4])) for r in rows)


_JOB_COLUMNS = {
    "project_id",
    "state",
    "phase",
    "done",
    "total",
    "rate",
    "error",
    "params",
    "result",
    "worker",
    "attempts",
    "cancel",
    "updated_at",
    "finished_at",
}


def _job_dict(row: sqlite3.Row) -> dict[str, Any]:
    job = dict(row)
    job["params"] = json.loads(job["params"])
    job["result"] = json.loads(job["result"]) if job["result"] is not None else None
    job["cancel"] = bool(job["cancel"])
    return job


def _insert_project(
    conn: sqlite3.Connection,
    name: str,
    question: str,
    themes: Sequence[Theme],
    mode: str,
    settings: dict[str, Any],
) -> int:
    if conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone():
        raise ConflictError(f"a project named {name!r} already exists")
    cursor = conn.execute(
        "INSERT INTO projects (name, question, mode, settings, created_at) VALUES (?, ?, ?, ?, ?)",
        (name, question, mode, json.dumps(settings), now()),
    )
    project_id = int(cursor.lastrowid)
    conn.executemany(
        "INSERT INTO themes (project_id, name, description, position) VALUES (?, ?, ?, ?)",
        [(project_id, t.name.strip(), t.description, i) for i, t in enumerate(themes)],
    )
    return project_id


def _split_sql(script: str) -> list[str]:
    """Statements of a schema script, keeping trigger bodies whole."""
    statements, buffer = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") and not buffer:
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            buffer = []
    if "\n".join(buffer).strip():
        raise ValueError("schema.sql ends inside a statement")
    return statements


def _v1_decisions_take_undecided(conn: sqlite3.Connection, schema: list[str]) -> None:
    """Schema 1 -> 2: the decisions table's label check admits "undecided".

    SQLite cannot change a check constraint in place, so the table is rebuilt from the
    statements of ``schema.sql`` that define it (table, index, triggers) and its rows copied
    unchanged, ids included. Nothing references ``decisions``, so no foreign key is touched.
    """
    for name in ("decisions_no_update", "decisions_no_delete"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP INDEX decisions_record")
    conn.execute("ALTER TABLE decisions RENAME TO decisions_v1")
    for statement in schema:
        head = " ".join(statement.split()[:3])
        if head in ("CREATE TABLE decisions", "CREATE INDEX decisions_record") or (
            head.startswith("CREATE TRIGGER decisions_")
        ):
            conn.execute(statement)
    conn.execute("INSERT INTO decisions SELECT * FROM decisions_v1")
    conn.execute("DROP TABLE decisions_v1")


def _hash_or_none(text: str) -> str | None:
    from .records import text_hash

    return text_hash(text) if text else None


def _record_dict(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    for key in _JSON_FIELDS:
        record[key] = json.loads(record[key])
    for key in ("doi_key", "pmid_key", "title_key"):
        record.pop(key, None)
    return record


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _record_state(
    conn: sqlite3.Connection, project_id: int, record_id: int, stage: str, mode: str
) -> RecordState:
    rows = conn.execute(
        "SELECT * FROM decisions WHERE project_id = ? AND record_id = ? AND stage = ?"
        " ORDER BY decision_id",
        (project_id, record_id, stage),
    ).fetchall()
    return consensus.record_state(record_id, [dict(r) for r in rows], mode)


def _check_reason(project: Project, stage: str, label: str, reason: str) -> None:
    """An exclusion gives one of the project's reasons for ``stage`` (when it has a list)."""
    reasons = project.exclusion_reasons(stage)
    if label != "exclude" or not reasons:
        return
    if not reason.strip() and stage == "title_abstract":
        return
    if reason not in reasons:
        raise ValidationError(
            f"an exclusion at {stage} gives one of the project's reasons: {'; '.join(reasons)}",
            field="reason",
        )


def _checked_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Project settings as stored: ``exclusion_reasons``, a list of distinct names per stage,
    ``stopping``, the stopping test's ``recall_target`` and ``level`` (each in (0, 1)), and
    ``protocol``, the search and its limits (``index.limits.checked_protocol``)."""
    unknown = sorted(set(settings) - {"exclusion_reasons", "stopping", "protocol"})
    if unknown:
        raise ValidationError(f"unknown setting(s): {', '.join(unknown)}", field="settings")
    stopping = settings.get("stopping")
    checked_stopping = {}
    if stopping is not None:
        if not isinstance(stopping, dict) or set(stopping) - {"recall_target", "level"}:
            raise ValidationError("stopping takes recall_target and level", field="stopping")
        for name, value in stopping.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ValidationError(f"stopping {name} must be between 0 and 1", field=name)
            checked_stopping[name] = float(value)
    reasons = settings.get("exclusion_reasons") or {}
    if not isinstance(reasons, dict) or set(reasons) - set(STAGES):
        raise ValidationError(
            f"exclusion_reasons maps stages ({', '.join(STAGES)}) to lists of reasons",
            field="exclusion_reasons",
        )
    clean = {}
    for stage, names in reasons.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise ValidationError(
                f"the {stage} exclusion reasons must be non-empty texts", field="exclusion_reasons"
            )
        names = [n.strip() for n in names]
        if len(set(names)) != len(names):
            raise ValidationError(
                f"the {stage} exclusion reasons repeat a name", field="exclusion_reasons"
            )
        clean[stage] = names
    protocol = checked_protocol(settings.get("protocol"))
    return (
        ({"exclusion_reasons": clean} if clean else {})
        | ({"stopping": checked_stopping} if checked_stopping else {})
        | ({"protocol": protocol} if protocol else {})
    )


_CREATES = re.compile(
    r"^CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER)\s+(\w+)", re.IGNORECASE | re.MULTILINE
)


def _migrate_1_to_2(conn: sqlite3.Connection, schema: list[str]) -> None:
    """Version 2 lets a decision retract ("undecided") and adds project archiving, reviewers,
    tokens, memberships and the triggers that keep projects, reviewers and their history from
    being deleted. Every row stays as it was."""
    _v1_decisions_take_undecided(conn, schema)
    conn.execute("ALTER TABLE projects ADD COLUMN archived_at TEXT")
    _create_missing(conn, schema)


def _create_missing(conn: sqlite3.Connection, schema: list[str]) -> None:
    """Create the tables, indexes and triggers of ``schema.sql`` the store lacks (version 3
    only adds the ``jobs`` and ``embedding_generations`` tables)."""
    existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    for statement in schema:
        created = _CREATES.search(statement)
        if created and created.group(1) not in existing:
            conn.execute(statement)
