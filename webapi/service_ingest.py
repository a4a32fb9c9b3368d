"""The service layer's import, vectors and search: files stored, embedded and indexed."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from werkzeug.utils import secure_filename

from index import read_records
from index.consensus import Viewer
from index.corpus import (
    EmbedReport,
    embed_project,
    load_or_build_index,
    project_vectors,
)
from index.errors import NotFoundError, ValidationError
from index.readers import detect_format
from index.vectors import VectorIndex

log = logging.getLogger(__name__)

SEARCH_FILTERS = ("all", "unscreened", "screened", "included", "excluded")


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


class IngestService:
    """Import, the project's vectors and FAISS index, and search (a part of ``Screenwise``)."""

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
