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

import contextlib
import hashlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from werkzeug.utils import secure_filename

from index import Record, Store, read_records
from index.consensus import Viewer
from index.corpus import (
    EmbedReport,
    embed_project,
    embed_texts,
    load_or_build_index,
    project_vectors,
)
from index.dedup import DedupKeys
from index.embedder import DEFAULT_MODEL, Embedder, TextEncoder
from index.errors import ConflictError, ImportFormatError, NotFoundError, ValidationError
from index.readers import detect_format
from index.store import Project, Theme
from index.vectors import VectorIndex

from . import writers
from .jobs import TrainingJobs
from .models import DEFAULT_SUITE, FittedModels, ModelSuite

log = logging.getLogger(__name__)

SEARCH_FILTERS = ("all", "unscreened", "screened", "included", "excluded")
DB_NAME = "screenwise.db"
# Projects with more records than this retrain in a background job.
SYNC_TRAIN_MAX_RECORDS = 5000
RankingMode = Literal["model", "similarity", "question", "none"]
_UNSET: Any = object()


@dataclass
class ProjectVectors:
    """A project's embedded records in memory, valid for one state of its records."""

    version: tuple[int, int, str]
    ids: np.ndarray
    matrix: np.ndarray
    index: VectorIndex
    features: Any = None
    rows: dict[int, int] | None = None  # record id -> row of ``matrix``
    textless: tuple[int, ...] = ()  # records without title and abstract: never embedded


@dataclass
class Ranking:
    """The queue's order and the models behind it, for one ``Store.state_version``.

    ``scores`` has one value per row of the project's vectors (``None`` in mode ``"none"``);
    ``decided`` holds the final title/abstract labels and ``screened`` marks their rows.
    """

    project_id: int
    key: tuple[int, int, int, int]
    mode: RankingMode
    vectors: ProjectVectors
    scores: np.ndarray | None
    fitted: FittedModels
    decided: dict[int, str]
    screened: np.ndarray
    included_rows: np.ndarray
    theme_names: tuple[str, ...]

    @property
    def open_textless(self) -> list[int]:
        """Unscreened records without title and abstract (they have no vector, no score)."""
        return [r for r in self.vectors.textless if r not in self.decided]


class Screenwise:
    """One home folder's screenwise: ``data/`` holds the store and indexes, ``models/`` models."""

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
    ) -> None:
        self.home = Path(home).resolve()
        self.data_dir = self.home / "data"
        self.models_dir = self.home / "models"
        self.model = model
        self.precision = precision
        self.progress = progress
        self.models = models or DEFAULT_SUITE()
        self.sync_train_max_records = sync_train_max_records
        self.jobs = TrainingJobs()
        self._encoder_source = encoder
        self._encoder: TextEncoder | None = None
        self._store: Store | None = None
        self._vectors: dict[int, ProjectVectors] = {}
        self._rankings: dict[int, Ranking] = {}
        self._query_vectors: dict[tuple[str, ...], np.ndarray] = {}
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
        if isinstance(ref, str) and ref.isdigit():
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
        if name.strip().isdigit():
            raise ValidationError(
                "a project name cannot be a number: numbers in URLs are project ids", field="name"
            )
        project = self.store.create_project(
            name, question, themes, mode=mode, settings=settings, actor=actor
        )
        if maintainer is not None:
            self.store.set_member(project.project_id, maintainer, "maintainer", actor=actor)
        return project

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
        self.jobs.forget(pid)
        index = self._index_path(pid)
        for path in (index, index.with_name(index.name + ".json")):
            path.unlink(missing_ok=True)
        shutil.rmtree(self._model_folder(pid), ignore_errors=True)

    # -- import ---------------------------------------------------------------------------

    def import_files(
        self,
        project: str | int,
        paths: Sequence[str | Path],
        *,
        question: str | None = None,
        create: bool = True,
        ignore_labels: bool = False,
        actor: str = "",
        names: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Read every file, then store each in its own transaction, then embed what is new.

        All files are parsed before anything is written, so a bad file stores nothing. ``names``
        are the file names to record (an upload's original name rather than its temp path).
        """
        if not paths:
            raise ValidationError("no file to import", field="files")
        names = list(names) if names is not None else [Path(p).name for p in paths]
        parsed = []
        for path, name in zip(paths, names, strict=True):
            records = read_records(path, ignore_labels=ignore_labels)
            data = Path(path).read_bytes()
            parsed.append((name, detect_format(path), hashlib.sha256(data).hexdigest(), records))
        try:
            target = self.project(project)
        except NotFoundError:
            if not create or isinstance(project, int):
                raise
            target = self.create_project(str(project), question or "", actor=actor)
        summaries = []
        for name, fmt, digest, records in parsed:
            summary = self.store.import_records(
                target.project_id, records, filename=name, fmt=fmt, sha256=digest, actor=actor
            )
            summaries.append(summary)
        report = self.ensure_vectors(target.project_id)
        self.vectors(target.project_id)  # builds and saves the FAISS index now, not on first search
        out = []
        for summary in summaries:
            data = summary.to_dict()
            data.pop("record_ids")
            data["project"] = target.name
            data["project_id"] = target.project_id
            data["embedded"] = report.embedded
            out.append(data)
        return out

    @contextlib.contextmanager
    def _saved_uploads(self, uploads: Sequence[tuple[str, IO[bytes]]]) -> Iterator[list[Path]]:
        """Uploaded files written to a temporary folder under their (sanitised) names, so the
        readers see the extension and name the file in their messages."""
        if not uploads:
            raise ValidationError("no file uploaded", field="files")
        with tempfile.TemporaryDirectory(prefix="screenwise-upload-") as folder:
            paths = []
            for number, (filename, stream) in enumerate(uploads):
                name = secure_filename(filename or "") or "upload"
                path = Path(folder) / str(number) / name
                path.parent.mkdir()
                with path.open("wb") as out:
                    shutil.copyfileobj(stream, out)
                paths.append(path)
            yield paths

    def import_uploads(
        self,
        project: str | int,
        uploads: Sequence[tuple[str, IO[bytes]]],
        *,
        ignore_labels: bool = False,
        actor: str = "",
    ) -> list[dict[str, Any]]:
        """``import_files`` for uploaded ``(filename, stream)`` pairs, into an existing project."""
        target = self.project(project)
        with self._saved_uploads(uploads) as paths:
            return self.import_files(
                target.project_id,
                paths,
                create=False,
                ignore_labels=ignore_labels,
                actor=actor,
                names=[p.name for p in paths],
            )

    # -- vectors and search ---------------------------------------------------------------

    def ensure_vectors(self, project_id: int) -> EmbedReport:
        """Embed what the cache lacks for this project (shows a progress bar on a terminal)."""
        return embed_project(self.store, self.encoder, project_id, progress=self.progress)

    def _version(self, project_id: int) -> tuple[int, int, str]:
        return (*self.store.records_version(project_id), self.model, self.models.name)

    def vectors(self, project_id: int) -> ProjectVectors:
        """The project's vectors and FAISS index, rebuilt only when its records changed."""
        version = self._version(project_id)
        with self._project_lock(project_id):
            cached = self._vectors.get(project_id)
            if cached is not None and cached.version == version:
                return cached
            report = self.ensure_vectors(project_id)
            if report.embedded:
                log.info("embedded %d records of project %d", report.embedded, project_id)
            ids, matrix = project_vectors(self.store, self.encoder.model_id, project_id)
            index = load_or_build_index(
                self._index_path(project_id),
                self.encoder.model_id,
                self.encoder.dimension,
                ids,
                matrix,
            )
            texts = self.store.texts(project_id)
            by_id = {record_id: text for record_id, _, text in texts}
            state = ProjectVectors(
                version,
                ids,
                matrix.reshape(len(ids), self.encoder.dimension),
                index,
                rows={int(record_id): row for row, record_id in enumerate(ids)},
                textless=tuple(record_id for record_id, h, _ in texts if h is None),
            )
            state.features = self.models.features(state.matrix, [by_id[int(i)] for i in ids])
            with self._lock:
                self._vectors[project_id] = state
            return state

    def search(
        self,
        project: str | int,
        question: str,
        *,
        k: int = 10,
        filter: str = "all",
        viewer: Viewer | None = None,
    ) -> list[dict[str, Any]]:
        """Records nearest to a natural-language question, with cosine scores, best first."""
        if not question or not question.strip():
            raise ValidationError("the question is empty", field="q")
        if k < 1 or k > 1000:
            raise ValidationError("k must be between 1 and 1000", field="k")
        if filter not in SEARCH_FILTERS:
            raise ValidationError(
                f"filter must be one of {', '.join(SEARCH_FILTERS)}", field="filter"
            )
        target = self.project(project)
        state = self.vectors(target.project_id)
        allowed = None
        if filter != "all":
            decided = self.store.current_decisions(target.project_id, viewer=viewer)
            if filter == "unscreened":
                allowed = np.setdiff1d(state.ids, np.fromiter(decided, dtype=np.int64))
            else:
                label = {"included": "include", "excluded": "exclude"}.get(filter)
                allowed = np.array(
                    [i for i, d in decided.items() if label is None or d["label"] == label],
                    dtype=np.int64,
                )
        ids, scores = state.index.search(self.encoder.encode_query(question), k, allowed)
        records = self.store.records_by_id(target.project_id, [int(i) for i in ids])
        decisions = self.store.current_decisions(
            target.project_id, [int(i) for i in ids], viewer=viewer
        )
        return [
            {
                "record_id": r["record_id"],
                "source_id": r["source_id"],
                "score": round(float(score), 6),
                "title": r["title"],
                "year": r["year"],
                "decision": (decisions.get(r["record_id"]) or {}).get("label"),
            }
            for r, score in zip(records, scores, strict=True)
        ]

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
    ) -> dict[str, Any]:
        """A page of records with their current decision and themes, and the total."""
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

    # -- ranking --------------------------------------------------------------------------

    def _ranking(self, project_id: int) -> Ranking:
        """The current ranking, refitted when records, decisions or theme labels changed."""
        key = self.store.state_version(project_id)
        cached = self._rankings.get(project_id)
        if cached is not None and cached.key == key:
            return cached
        with self._project_lock(project_id):
            cached = self._rankings.get(project_id)
            if cached is not None and cached.key == key:
                return cached
            ranking = self._fit(project_id, reuse_saved=cached is None)
            self._publish(project_id, ranking)
            return ranking

    def _publish(self, project_id: int, ranking: Ranking) -> None:
        """Make ``ranking`` the queue's, unless a ranking of a newer state is there already."""
        with self._lock:
            current = self._rankings.get(project_id)
            newer = current is None or all(
                mine >= theirs for mine, theirs in zip(ranking.key, current.key, strict=True)
            )
            if newer:
                self._rankings[project_id] = ranking

    def _fit(self, project_id: int, *, reuse_saved: bool = False) -> Ranking:
        """Fit the models on the current decisions and theme labels, and score every record.

        Decisions read after ``key``, so a decision arriving meanwhile only makes the next
        read refit again. ``reuse_saved`` takes the saved models when they were trained on
        exactly this state (a restarted server).
        """
        key = self.store.state_version(project_id)
        project = self.store.project(project_id)
        state = self.vectors(project_id)
        decided = {
            record_id: d["label"] for record_id, d in self.store.final_decisions(project_id).items()
        }
        X = state.features
        labelled = [
            (state.rows[r], label == "include")
            for r, label in decided.items()
            if label != "maybe" and r in state.rows
        ]
        rows = np.array([row for row, _ in labelled], dtype=np.int64)
        y = np.array([int(flag) for _, flag in labelled], dtype=np.int64)
        theme_names = tuple(t.name for t in project.themes)
        theme_labels = [
            (state.rows[r], names)
            for r, names in self.store.current_themes(project_id).items()
            if r in state.rows
        ]
        theme_rows = np.array([row for row, _ in theme_labels], dtype=np.int64)
        theme_Y = np.array(
            [[name in names for name in theme_names] for _, names in theme_labels], dtype=np.int64
        ).reshape(len(theme_labels), len(theme_names))
        theme_vectors = theme_text = None
        if project.themes:
            theme_vectors = np.stack(
                [self._query_vector(t.name, t.description) for t in project.themes]
            )
            names = np.stack([self._query_vector(t.name) for t in project.themes])
            described = [t for t in project.themes if t.description.strip()]
            # A theme without a description stands for itself (its name) on that side.
            descriptions = (
                np.stack([self._query_vector(t.description or t.name) for t in project.themes])
                if described
                else None
            )
            theme_text = (names, descriptions)
        fitted = None
        if reuse_saved:
            saved = self.models.load(self._model_folder(project_id))
            if saved is not None and saved.meta.get("state") == list(key):
                fitted = saved
        if fitted is None:
            fitted = self.models.fit(
                self.models.take(X, rows),
                y,
                self.models.take(X, theme_rows),
                theme_Y,
                theme_vectors,
                corpus=X,
                theme_text=theme_text,
            )
            fitted.meta["state"] = list(key)
            fitted.meta["embedding_model"] = self.encoder.model_id
            fitted.meta["dimension"] = self.encoder.dimension
        included_rows = rows[y == 1]
        screened = np.zeros(len(state.ids), dtype=bool)
        screened[[state.rows[r] for r in decided if r in state.rows]] = True
        mode: RankingMode
        if fitted.relevance is not None:
            mode = "model"
        elif len(included_rows):
            mode = "similarity"
        elif project.question.strip() and len(state.ids):
            mode = "question"
        else:
            mode = "none"
        if mode == "model":
            # Scored apart, so that scores normalised over their rows (a blend of z-scores)
            # are normalised over the unscreened pool, as in the benchmark.
            scores = np.zeros(len(state.ids), dtype=np.float64)
            for part in (np.flatnonzero(~screened), np.flatnonzero(screened)):
                if len(part):
                    scores[part] = self.models.ranking_scores(fitted, self.models.take(X, part))
        else:
            scores = self._similarity_scores(
                mode, project, state.matrix[included_rows], state.matrix
            )
        return Ranking(
            project_id,
            key,
            mode,
            state,
            scores,
            fitted,
            decided,
            screened,
            included_rows,
            theme_names,
        )

    def _similarity_scores(
        self, mode: RankingMode, project: Project, includes: np.ndarray, vectors: np.ndarray
    ) -> np.ndarray | None:
        """Scores before there is a model: cosine to the nearest include, or to the question."""
        if mode == "similarity":
            return (vectors @ includes.T).max(axis=1)
        if mode == "question":
            return vectors @ self._query_vector(project.question)
        return None

    def _theme_suggestions(self, ranking: Ranking, X: np.ndarray) -> list[list[dict[str, Any]]]:
        """Per row of ``X``: every theme with its score, best first, and whether suggested."""
        if ranking.fitted.themes is None or not len(X):
            return [[] for _ in range(len(X))]
        scores = self.models.theme_scores(ranking.fitted, X)
        suggested = self.models.suggested_themes(ranking.fitted, X)
        out = []
        for row_scores, row_suggested in zip(scores, suggested, strict=True):
            order = np.argsort(-row_scores, kind="stable")
            out.append(
                [
                    {
                        "theme": ranking.theme_names[t],
                        "score": round(float(row_scores[t]), 4),
                        "suggested": bool(row_suggested[t]),
                    }
                    for t in order
                ]
            )
        return out

    def _nearest_includes(
        self, ranking: Ranking, vectors: np.ndarray, k: int
    ) -> list[list[dict[str, Any]]]:
        """Per row of ``vectors``: the ``k`` most similar included records (cosine)."""
        if k == 0 or not len(ranking.included_rows) or not len(vectors):
            return [[] for _ in range(len(vectors))]
        state = ranking.vectors
        similarity = vectors @ state.matrix[ranking.included_rows].T
        k = min(k, similarity.shape[1])
        best = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        ids = state.ids[ranking.included_rows]
        titles = {
            r["record_id"]: r["title"]
            for r in self.store.records_by_id(
                ranking.project_id, sorted({int(ids[j]) for j in best.flat})
            )
        }
        return [
            [
                {
                    "record_id": int(ids[j]),
                    "title": titles[int(ids[j])],
                    "similarity": round(float(similarity[i, j]), 4),
                }
                for j in row
            ]
            for i, row in enumerate(best)
        ]

    def queue(
        self,
        project: str | int,
        *,
        n: int = 10,
        k: int = 3,
        stage: str = "title_abstract",
        viewer: Viewer | None = None,
    ) -> dict[str, Any]:
        """The next ``n`` records for ``viewer`` to screen at ``stage`` in ranked order, each
        with its score, the mode that produced it, suggested themes and its ``k`` nearest
        included records.

        Never a final record nor one the viewer decided (``consensus.closed_for``); at full
        text only records finally included at title/abstract. Both stages rank by the same
        title/abstract model. Records without title and abstract have no vector: they come
        after all others.
        """
        if n < 1 or n > 500:
            raise ValidationError("n must be between 1 and 500", field="n")
        if k < 0 or k > 20:
            raise ValidationError("k must be between 0 and 20", field="k")
        target = self.project(project)
        ranking = self._ranking(target.project_id)
        state = ranking.vectors
        closed = self.store.closed_records(
            target.project_id, stage, viewer.name if viewer else None
        )
        offered = ~np.isin(state.ids, np.fromiter(closed, dtype=np.int64, count=len(closed)))
        open_textless = [r for r in state.textless if r not in closed]
        if stage == "full_text":
            eligible = self.store.included(target.project_id)
            offered &= np.isin(state.ids, np.fromiter(eligible, dtype=np.int64))
            open_textless = [r for r in open_textless if r in eligible]
        open_rows = np.flatnonzero(offered)
        if ranking.scores is not None:
            open_rows = open_rows[np.argsort(-ranking.scores[open_rows], kind="stable")]
        top = open_rows[:n]
        textless = open_textless[: n - len(top)]
        ids = [int(i) for i in state.ids[top]] + textless
        records = self.store.records_by_id(target.project_id, ids)
        themes = self._theme_suggestions(ranking, self.models.take(state.features, top))
        nearest = self._nearest_includes(ranking, state.matrix[top], k)
        items = []
        for position, record in enumerate(records):
            scored = position < len(top) and ranking.scores is not None
            items.append(
                {
                    "rank": position + 1,
                    **record,
                    "score": round(float(ranking.scores[top[position]]), 6) if scored else None,
                    "mode": ranking.mode if scored else "none",
                    "themes": themes[position] if position < len(top) else [],
                    "nearest_includes": nearest[position] if position < len(top) else [],
                }
            )
        return {
            "project_id": target.project_id,
            "stage": stage,
            "mode": ranking.mode,
            "unscreened": len(open_rows) + len(open_textless),
            "model": ranking.fitted.meta,
            "items": items,
        }

    # -- training -------------------------------------------------------------------------

    def train(
        self, project: str | int, *, actor: str = "", foreground: bool = False
    ) -> dict[str, Any]:
        """Retrain the project's models and save them; the queue uses them once they are ready.

        Runs in the caller's thread when ``foreground`` or the project has at most
        ``sync_train_max_records`` records, else as a background job (``training_job``
        follows it). A second call while a job runs raises ``ConflictError`` naming that job.
        """
        target = self.project(project)
        pid = target.project_id
        background = (
            not foreground and self.store.records_version(pid)[0] > self.sync_train_max_records
        )

        def work() -> dict[str, Any]:
            # No project lock: the queue keeps refitting cheaply while a slow job runs.
            ranking = self._fit(pid)
            self.models.save(self._model_folder(pid), ranking.fitted)
            self._publish(pid, ranking)
            self.store.log(pid, actor, "train", mode=ranking.mode, **ranking.fitted.meta)
            return ranking.fitted.meta | {"mode": ranking.mode}

        job = self.jobs.start(pid, work, background=background, requested_by=actor)
        return job.to_dict()

    def training_job(self, project: str | int, job_id: str) -> dict[str, Any]:
        return self.jobs.get(self.project(project).project_id, job_id).to_dict()

    def model_info(self, project: str | int) -> dict[str, Any]:
        """What ranks the queue now, what the last retrain saved, and any running job."""
        target = self.project(project)
        ranking = self._ranking(target.project_id)
        running = self.jobs.running(target.project_id)
        return {
            "project_id": target.project_id,
            "mode": ranking.mode,
            "embedding_model": self.encoder.model_id,
            "dimension": self.encoder.dimension,
            "current": ranking.fitted.meta,
            "saved": self.models.saved_meta(self._model_folder(target.project_id)),
            "training": running.to_dict() if running else None,
        }

    # -- themes ---------------------------------------------------------------------------

    def record_themes(
        self, project: str | int, record_ids: Sequence[int], *, viewer: Viewer | None = None
    ) -> list[dict[str, Any]]:
        """Suggested themes for records of the project, with the theme labels ``viewer`` may
        see (``Store.current_themes``)."""
        target = self.project(project)
        records = self.store.records_by_id(target.project_id, list(record_ids))
        ranking = self._ranking(target.project_id)
        state = ranking.vectors
        rows = [state.rows.get(r["record_id"]) for r in records]
        embedded = [row for row in rows if row is not None]
        suggestions = iter(
            self._theme_suggestions(ranking, self.models.take(state.features, embedded))
        )
        current = self.store.current_themes(target.project_id, viewer=viewer)
        return [
            {
                "record_id": r["record_id"],
                "title": r["title"],
                "labelled": current.get(r["record_id"]),
                "themes": next(suggestions) if row is not None else [],
            }
            for r, row in zip(records, rows, strict=True)
        ]

    def read_uploads(self, uploads: Sequence[tuple[str, IO[bytes]]]) -> list[Record]:
        """The records of uploaded export files, without storing anything."""
        with self._saved_uploads(uploads) as paths:
            return [record for path in paths for record in read_records(path, ignore_labels=True)]

    def candidates(self, project: str | int, records: Sequence[Record]) -> list[dict[str, Any]]:
        """Records not in the project (a review update), most likely relevant first (``score``:
        P(include) under the project's model, else the similarity the queue uses; ``position``
        is the record's place in the input): suggested themes, and the screened record each one
        duplicates, with that record's current decision."""
        if not records:
            raise ValidationError("no records given", field="records")
        target = self.project(project)
        ranking = self._ranking(target.project_id)
        texts = [record.text for record in records]
        with_text = [i for i, text in enumerate(texts) if text]
        vectors = embed_texts(self.store, self.encoder, [texts[i] for i in with_text])
        X = self.models.new_features(
            ranking.vectors.features, vectors, [texts[i] for i in with_text]
        )
        if ranking.mode == "model":
            scores = self.models.probabilities(ranking.fitted, X)
        else:
            includes = ranking.vectors.matrix[ranking.included_rows]
            scores = self._similarity_scores(ranking.mode, target, includes, vectors)
        themes = self._theme_suggestions(ranking, X)
        nearest = self._nearest_includes(ranking, vectors, 3)
        dedup = self.store.dedup_index(target.project_id)
        decisions = self.store.final_decisions(target.project_id)
        out = []
        row_of = {i: row for row, i in enumerate(with_text)}
        for i, record in enumerate(records):
            position = row_of.get(i)
            match = dedup.match(DedupKeys.of(record))
            out.append(
                {
                    "position": i,
                    "title": record.title,
                    "year": record.year,
                    "doi": record.doi,
                    "pmid": record.pmid,
                    "score": (
                        round(float(scores[position]), 6)
                        if scores is not None and position is not None
                        else None
                    ),
                    "mode": ranking.mode if scores is not None and position is not None else "none",
                    "themes": themes[position] if position is not None else [],
                    "nearest_includes": nearest[position] if position is not None else [],
                    "duplicate_of": (
                        {
                            "record_id": match[0],
                            "reason": match[1],
                            "decision": decisions.get(match[0]),
                        }
                        if match
                        else None
                    ),
                }
            )
        # Best first; records without a score (no text, or no model yet) last, in input order.
        out.sort(key=lambda c: (c["score"] is None, -(c["score"] or 0.0), c["position"]))
        return out

    # -- figures and export ---------------------------------------------------------------

    def stats(self, project: str | int, *, viewer: Viewer | None = None) -> dict[str, Any]:
        target = self.project(project)
        return {"project": target.name, "project_id": target.project_id} | self.store.stats(
            target.project_id, viewer=viewer
        )

    def progress_report(
        self, project: str | int, *, viewer: Viewer | None = None
    ) -> dict[str, Any]:
        """A PRISMA-style flow of final decisions per stage (with conflicts, the agreement
        between reviewers and ``viewer``'s own counts), the recall curve of screening so far,
        and the estimate of relevant records still among the unscreened ones."""
        target = self.project(project)
        pid = target.project_id
        figures = self.stats(pid, viewer=viewer)
        decisions = self.store.final_decisions(pid)
        labelled_themes = self.store.current_themes(pid)
        figures["themes"] = [
            {
                "theme": theme.name,
                "labelled": sum(theme.name in names for names in labelled_themes.values()),
                "included": sum(
                    theme.name in names
                    and (decisions.get(record_id) or {}).get("label") == "include"
                    for record_id, names in labelled_themes.items()
                ),
            }
            for theme in target.themes
        ]
        history = self.store.decisions(pid)
        figures["recall_curve"] = _recall_curve(history, decisions)
        figures["estimate"] = self.estimate_remaining(pid, history=history, current=decisions)
        return figures

    def estimate_remaining(
        self,
        project: str | int,
        *,
        history: list[dict[str, Any]] | None = None,
        current: dict[int, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Relevant records expected among the unscreened ones (the model suite's estimator).

        ``history`` (every decision) and ``current`` (the final ones) are read from the store
        unless the caller has them already."""
        target = self.project(project)
        ranking = self._ranking(target.project_id)
        open_rows = np.flatnonzero(~ranking.screened)
        not_scored = len(ranking.open_textless)
        included = sum(label == "include" for label in ranking.decided.values())
        if ranking.fitted.relevance is None:
            return {
                "method": None,
                "expected": None,
                "low": None,
                "high": None,
                "unscreened": len(open_rows) + not_scored,
                "not_scored": not_scored,
                "estimated_recall": None,
            }
        X = self.models.take(ranking.vectors.features, open_rows)
        estimate = self.models.estimate_remaining(
            self.models.probabilities(ranking.fitted, X),
            labels_in_order=_labels_in_order(
                self.store.decisions(target.project_id) if history is None else history,
                self.store.final_decisions(target.project_id) if current is None else current,
            ),
        )
        total = included + estimate["expected"]
        return estimate | {
            "unscreened": len(open_rows) + not_scored,
            "not_scored": not_scored,
            "estimated_recall": round(included / total, 4) if total else None,
        }

    def export(self, project: str | int, fmt: str, *, actor: str = "") -> tuple[str, str, str]:
        """The project's records with their final title/abstract decisions, reviewer, themes
        and notes: (file name, media type, text). A record not yet final (in double screening:
        pending or in conflict) has no decision in the export. Re-importing either format
        restores the include/exclude decisions."""
        if fmt not in writers.FORMATS:
            raise ValidationError(f"format must be one of {', '.join(writers.FORMATS)}", "format")
        target = self.project(project)
        records, _ = self.store.records(target.project_id, final=True)
        text = writers.to_csv(records) if fmt == "csv" else writers.to_ris(records)
        self.store.log(target.project_id, actor, "export", format=fmt, records=len(records))
        filename = f"{secure_filename(target.name) or 'project'}-screenwise.{fmt}"
        return filename, writers.MEDIA_TYPES[fmt], text


def _first_decided(
    history: list[dict[str, Any]], current: dict[int, dict[str, Any]], *, priors: bool
) -> list[int]:
    """Records with a current decision at title/abstract, in the order they were first decided;
    labels imported with the records first when ``priors``, else left out."""
    decided = [
        d
        for d in history
        if d["stage"] == "title_abstract"
        and d["record_id"] in current
        and (priors or d["origin"] != "prior")
    ]
    decided.sort(key=lambda d: d["origin"] != "prior")  # stable: time order within each
    return list(dict.fromkeys(d["record_id"] for d in decided))


def _labels_in_order(
    history: list[dict[str, Any]], current: dict[int, dict[str, Any]]
) -> list[int]:
    """Final include (1) / exclude (0) decisions in the order made, priors first; ``maybe``
    left out: what the estimate of relevant records left reads."""
    labels = (
        (current[r] or {}).get("label") for r in _first_decided(history, current, priors=True)
    )
    return [int(label == "include") for label in labels if label in ("include", "exclude")]


def _recall_curve(
    history: list[dict[str, Any]], current: dict[int, dict[str, Any]], points: int = 200
) -> list[dict[str, int]]:
    """Included records found against records screened, in the order records were first
    screened, counting final records only (prior labels from imports left out); at most
    ``points`` points plus the last."""
    order = _first_decided(history, current, priors=False)
    curve, found = [], 0
    step = max(1, len(order) // points)
    for screened, record_id in enumerate(order, 1):
        found += (current.get(record_id) or {}).get("label") == "include"
        if screened % step == 0 or screened == len(order):
            curve.append({"screened": screened, "included": found})
    return curve


__all__ = ["ImportFormatError", "Screenwise"]
