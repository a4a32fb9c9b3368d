"""The service layer: wires store, embedder, vector index and models for the API and the CLI.

Heavy objects (the embedding model, each project's vectors, FAISS index, features and fitted
models) are built once per process and rebuilt only when what they depend on changed:

- ``vectors(project)``: when the project's records change (an import);
- ``_ranking(project)``: the queue's order and the fitted models, when records, decisions or
  theme labels change (``Store.state_version``). The queue re-ranks lazily: the first
  ``queue`` call after a decision refits on all current decisions (the cheap path), under a
  per-project lock so concurrent requests fit once. ``train`` does the same fit as a job,
  saves the models as artifacts and publishes them to the queue when done.

Which models are fitted is decided in one place, ``webapi/models.py`` (``ModelSuite``). They
learn from final title/abstract decisions only (``Store.final_decisions``: single-screen,
agreed, resolved or imported); a record in conflict or awaiting its second decision trains
nothing. Reads that show decisions take a ``viewer`` (``index.consensus.Viewer``): in blind
double screening they show what that reviewer may see; ``None`` shows the final decisions.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index import Store
from index.consensus import Viewer
from index.embedder import DEFAULT_MODEL, Embedder, TextEncoder
from index.errors import ConflictError, ImportFormatError, NotFoundError, ValidationError
from index.store import Project, Theme

from .jobs import JobService, TrainingJobs
from .models import DEFAULT_SUITE, ModelSuite
from .service_evidence import StudyTypeService
from .service_ingest import SEARCH_FILTERS, IngestService, Limits, ProjectVectors
from .service_ranking import Ranking, RankingService
from .service_reports import ReportService
from .service_synthesis import SynthesisService
from .text_features import ProjectText

log = logging.getLogger(__name__)

DB_NAME = "screenwise.db"
# Projects with more records than this retrain in a background job.
SYNC_TRAIN_MAX_RECORDS = 5000
_UNSET: Any = object()


class Screenwise(
    IngestService,
    RankingService,
    ReportService,
    JobService,
    StudyTypeService,
    SynthesisService,
):
    """One home folder's screenwise: ``data/`` holds the store and indexes, ``models/`` models.

    The methods live with their concern: ``IngestService`` (import, vectors, search),
    ``JobService`` (durable jobs on the task queue),
    ``RankingService`` (queue, training, themes, review updates), ``ReportService`` (stats,
    progress, estimate, export); this class holds the shared objects, projects and decisions.
    """

    def __init__(
        self,
        home: str | Path,
        *,
        model: str = DEFAULT_MODEL,
        precision: str = "auto",
        encoder: TextEncoder | Callable[[], TextEncoder] | None = None,
        progress: bool = False,
        models: ModelSuite | None = None,
        sync_train_max_records: int = SYNC_TRAIN_MAX_RECORDS,
        ranking_refit: str = "background",
        limits: Limits | None = None,
    ) -> None:
        self.home = Path(home).resolve()
        self.data_dir = self.home / "data"
        self.models_dir = self.home / "models"
        self.model = model
        self.precision = precision
        self.progress = progress
        self.models = models or DEFAULT_SUITE()
        self.sync_train_max_records = sync_train_max_records
        self.jobs = TrainingJobs(self)
        self.tasks = None  # a TaskQueue (webapi/tasks.py); None: jobs run in the caller's thread
        self.limits = limits or Limits()
        self._encoder_source = encoder
        self._encoder: TextEncoder | None = None
        self._store: Store | None = None
        self._vectors: dict[int, ProjectVectors] = {}
        self._loading_vectors: set[int] = set()
        self._texts: dict[int, ProjectText] = {}  # each project's TF-IDF (text_features)
        self._text_locks: dict[int, threading.Lock] = {}
        self.keep_text_features = True  # False in a job worker: the server keeps its own
        self._pending: dict[int, tuple[tuple[Any, ...], int]] = {}
        self._rankings: dict[int, Ranking] = {}
        self._refitting: set[int] = set()
        self._leases: dict[tuple[int, str], dict[str, tuple[float, frozenset[int]]]] = {}
        # "background": reads answer from the last ranking while a refit runs; "inline":
        # every read refits first (deterministic, for tests).
        self.ranking_refit = ranking_refit
        self.serving = False  # set by warm_up (serve): background work may outlive a request
        self.closing = False  # set by close(): background work stops
        self._query_vectors: dict[tuple[str, ...], np.ndarray] = {}
        self._discoveries: dict[tuple[Any, ...], Any] = {}  # theme discovery per filter
        # Per project: (features object, question, its signal), see _question_signal.
        self._question_signals: dict[int, tuple[Any, str, np.ndarray, Any]] = {}
        self._lock = threading.RLock()
        self._project_locks: dict[int, threading.RLock] = {}

    # -- heavy objects, built once ----------------------------------------------------------

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.data_dir / DB_NAME)
            return self._store

    @property
    def encoder(self) -> TextEncoder:
        with self._lock:
            if self._encoder is None:
                source = self._encoder_source
                if source is None:
                    self._encoder = Embedder(self.model, precision=self.precision)  # type: ignore[arg-type]
                elif callable(source) and not hasattr(source, "encode_documents"):
                    self._encoder = source()
                else:
                    self._encoder = source  # type: ignore[assignment]
            return self._encoder

    def close(self) -> None:
        """Close the store, once this process's background refits and loads have stopped (each
        stops at its next step; a fit under way is given a few seconds)."""
        self.closing = True
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            with self._lock:
                if not self._refitting and not self._loading_vectors:
                    break
            time.sleep(0.05)
        if self._store is not None:
            self._store.close()

    def _project_lock(self, project_id: int) -> threading.RLock:
        with self._lock:
            return self._project_locks.setdefault(project_id, threading.RLock())

    def _query_vector(self, *parts: str) -> np.ndarray:
        """``encoder.encode_query`` of a question or theme text, remembered."""
        key = (self.encoder.model_id, *parts)
        with self._lock:
            vector = self._query_vectors.get(key)
        if vector is None:
            vector = self.encoder.encode_query(": ".join(p for p in parts if p))
            with self._lock:
                self._query_vectors[key] = vector
        return vector

    def _model_folder(self, project_id: int) -> Path:
        return self.models_dir / f"project-{project_id}"

    def _index_path(self, project_id: int) -> Path:
        return self.data_dir / "indexes" / f"project-{project_id}.faiss"

    # -- projects -------------------------------------------------------------------------

    def project(self, ref: int | str) -> Project:
        """A project by id (int, or a string of digits) or name."""
        # ASCII digits only: '¹' passes isdigit() but is no number int() reads.
        if isinstance(ref, str) and ref.isascii() and ref.isdigit() and int(ref) < 2**63:
            try:
                return self.store.project(int(ref))
            except NotFoundError:
                pass
        return self.store.project(ref)

    def projects(self) -> list[Project]:
        return self.store.projects()

    def create_project(
        self,
        name: str,
        question: str = "",
        themes: Sequence[Theme | str] = (),
        *,
        mode: str = "single",
        settings: dict[str, Any] | None = None,
        actor: str = "",
        maintainer: str | None = None,
    ) -> Project:
        """A new project; ``maintainer``, when given, becomes its first maintainer."""
        if name.strip().isascii() and name.strip().isdigit():
            raise ValidationError(
                "a project name cannot be a number: numbers in URLs are project ids", field="name"
            )
        project = self.store.create_project(
            name, question, themes, mode=mode, settings=settings, actor=actor
        )
        if maintainer is not None:
            self.store.set_member(project.project_id, maintainer, "maintainer", actor=actor)
        return project

    def add_theme(
        self, project: str | int, name: str, description: str = "", *, actor: str = ""
    ) -> Project:
        """Add a theme to a project; its models refit with it at the next read."""
        pid = self.project(project).project_id
        updated = self.store.add_theme(pid, name, description, actor=actor)
        self._themes_changed(pid)
        return updated

    def update_theme(
        self,
        project: str | int,
        theme: str,
        *,
        name: str | None = None,
        description: str | None = None,
        actor: str = "",
    ) -> Project:
        """Rename a theme (its labels kept) or describe it; the models refit at the next read."""
        pid = self.project(project).project_id
        updated = self.store.update_theme(
            pid, theme, name=name, description=description, actor=actor
        )
        self._themes_changed(pid)
        return updated

    def _themes_changed(self, pid: int) -> None:
        # The ranking's state key counts records, decisions and labels, not the themes'
        # names and texts: drop the cached ranking and the saved models, which would
        # otherwise come back for the same key.
        with self._project_lock(pid):
            with self._lock:
                self._rankings.pop(pid, None)
            shutil.rmtree(self._model_folder(pid), ignore_errors=True)

    def delete_project(self, project: str | int, *, actor: str = "") -> None:
        """Archive a project (its records, decisions and audit trail stay in the store) and
        drop what is derived from them: its index and saved models."""
        target = self.project(project)
        pid = target.project_id
        running = self.jobs.running(pid)
        if running is not None:
            raise ConflictError(
                f"retraining job {running.job_id} is running; delete the project when it ends",
                job=running.job_id,
            )
        with self._project_lock(pid):
            self.store.archive_project(pid, actor=actor)
            with self._lock:
                self._vectors.pop(pid, None)
                self._rankings.pop(pid, None)
                self._pending.pop(pid, None)
                self._texts.pop(pid, None)
        self.jobs.forget(pid)
        index = self._index_path(pid)
        features = self._features_path(pid)
        for path in (index, index.with_name(index.name + ".json"), features):
            path.unlink(missing_ok=True)
        shutil.rmtree(self._model_folder(pid), ignore_errors=True)

    # -- records and decisions ------------------------------------------------------------

    def record(
        self,
        project: str | int,
        record_id: int,
        *,
        stage: str = "title_abstract",
        viewer: Viewer | None = None,
    ) -> dict[str, Any]:
        return self.store.record(
            self.project(project).project_id, record_id, stage=stage, viewer=viewer
        )

    def records(
        self,
        project: str | int,
        *,
        status: str = "all",
        theme: str | None = None,
        stage: str = "title_abstract",
        limit: int = 50,
        offset: int = 0,
        viewer: Viewer | None = None,
        limits: str | None = None,
        study_type: str | None = None,
    ) -> dict[str, Any]:
        """A page of records with their current decision, themes and study type, and the
        total; ``limits``: only those within, outside or unknown to the search limits."""
        target = self.project(project)
        if theme is not None and theme not in {t.name for t in target.themes}:
            raise NotFoundError(f"no theme {theme!r} in project {target.name!r}")
        items, total = self.store.records(
            target.project_id,
            status=status,
            theme=theme,
            stage=stage,
            limit=limit,
            offset=offset,
            viewer=viewer,
            limits=limits,
            study_type=study_type,
        )
        return {"total": total, "offset": offset, "limit": limit, "items": items}

    def decide(
        self,
        project: str | int,
        record_id: int,
        *,
        label: str,
        reviewer: str,
        stage: str = "title_abstract",
        origin: str = "screen",
        reason: str = "",
        note: str = "",
        themes: Sequence[str] | None = None,
        supersedes: int | None = _UNSET,
    ) -> dict[str, Any]:
        """Append a decision; every way of deciding goes through here.

        ``supersedes`` is the decision id the reviewer saw as current (``None``: the record was
        undecided); when another decision came in between, ``ConflictError`` (409). Left out,
        the decision is appended unchecked. The queue re-ranks on its next read.
        """
        target = self.project(project)
        return self.store.add_decision(
            target.project_id,
            record_id,
            label,
            reviewer,
            stage=stage,
            origin=origin,
            reason=reason,
            note=note,
            themes=themes,
            supersedes=None if supersedes is _UNSET else (supersedes or 0),
        )

    def decisions(
        self,
        project: str | int,
        record_id: int | None = None,
        reviewer: str | None = None,
        *,
        viewer: Viewer | None = None,
    ) -> list[dict[str, Any]]:
        """Decision history, oldest first; ``NotFoundError`` for a record not in the project."""
        target = self.project(project)
        if record_id is not None:
            self.store.records_by_id(target.project_id, [record_id])
        return self.store.decisions(target.project_id, record_id, reviewer, viewer=viewer)


__all__ = ["SEARCH_FILTERS", "ImportFormatError", "ProjectVectors", "Ranking", "Screenwise"]
