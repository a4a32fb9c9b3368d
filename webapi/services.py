"""The service layer: wires store, embedder, vector index and models for the API and the CLI.

Heavy objects (the embedding model, each project's vectors and FAISS index) are built once per
process and rebuilt only when the project's records change.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import Store, read_records
from index.corpus import EmbedReport, embed_project, load_or_build_index, project_vectors
from index.embedder import DEFAULT_MODEL, Embedder, TextEncoder
from index.errors import ImportFormatError, NotFoundError, ValidationError
from index.readers import detect_format
from index.store import Project, Theme
from index.vectors import VectorIndex

log = logging.getLogger(__name__)

SEARCH_FILTERS = ("all", "unscreened", "screened", "included", "excluded")
DB_NAME = "screenwise.db"


@dataclass
class ProjectVectors:
    """A project's embedded records in memory, valid for one state of its records."""

    version: tuple[int, int, str]
    ids: np.ndarray
    matrix: np.ndarray
    index: VectorIndex


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
    ) -> None:
        self.home = Path(home).resolve()
        self.data_dir = self.home / "data"
        self.models_dir = self.home / "models"
        self.model = model
        self.precision = precision
        self.progress = progress
        self._encoder_source = encoder
        self._encoder: TextEncoder | None = None
        self._store: Store | None = None
        self._vectors: dict[int, ProjectVectors] = {}
        self._lock = threading.RLock()

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

    # -- projects -------------------------------------------------------------------------

    def project(self, ref: int | str) -> Project:
        """A project by id (int, or a string of digits) or name."""
        if isinstance(ref, str) and ref.isdigit():
            try:
                return self.store.project(int(ref))
            except NotFoundError:
                pass
        return self.store.project(ref)

    def create_project(
        self,
        name: str,
        question: str = "",
        themes: Sequence[Theme | str] = (),
        *,
        mode: str = "single",
        actor: str = "",
    ) -> Project:
        return self.store.create_project(name, question, themes, mode=mode, actor=actor)

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

    # -- vectors and search ---------------------------------------------------------------

    def ensure_vectors(self, project_id: int) -> EmbedReport:
        """Embed what the cache lacks for this project (shows a progress bar on a terminal)."""
        return embed_project(self.store, self.encoder, project_id, progress=self.progress)

    def _version(self, project_id: int) -> tuple[int, int, str]:
        return (*self.store.records_version(project_id), self.model)

    def vectors(self, project_id: int) -> ProjectVectors:
        """The project's vectors and FAISS index, rebuilt only when its records changed."""
        version = self._version(project_id)
        with self._lock:
            cached = self._vectors.get(project_id)
            if cached is not None and cached.version == version:
                return cached
            report = self.ensure_vectors(project_id)
            if report.embedded:
                log.info("embedded %d records of project %d", report.embedded, project_id)
            ids, matrix = project_vectors(self.store, self.encoder.model_id, project_id)
            index = load_or_build_index(
                self.data_dir / "indexes" / f"project-{project_id}.faiss",
                self.encoder.model_id,
                self.encoder.dimension,
                ids,
                matrix,
            )
            state = ProjectVectors(version, ids, matrix, index)
            self._vectors[project_id] = state
            return state

    def search(
        self, project: str | int, question: str, *, k: int = 10, filter: str = "all"
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
            decided = self.store.current_decisions(target.project_id)
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
        decisions = self.store.current_decisions(target.project_id, [int(i) for i in ids])
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

    def stats(self, project: str | int) -> dict[str, Any]:
        target = self.project(project)
        return {"project": target.name, "project_id": target.project_id} | self.store.stats(
            target.project_id
        )


__all__ = ["ImportFormatError", "Screenwise"]
