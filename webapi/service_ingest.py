"""The service layer's import, vectors and search: files stored, embedded and indexed."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from tqdm.auto import tqdm
from werkzeug.utils import secure_filename

from index import Record, read_records
from index.consensus import Viewer
from index.corpus import EMBED_CHUNK, EmbedReport, load_or_build_index, project_vectors
from index.errors import (
    ImportFormatError,
    LimitExceededError,
    NotFoundError,
    ScreenwiseError,
    TooLargeError,
    ValidationError,
)
from index.readers import detect_format
from index.records import LEXICAL_FEATURES
from index.store import ImportFile, NewProject
from index.vectors import VectorIndex

from .jobs import SCRATCH, new_job_id
from .limits import Limits
from .text_features import ProjectText, load_text_features, save_text_features

log = logging.getLogger(__name__)

SEARCH_FILTERS = ("all", "unscreened", "screened", "included", "excluded")
# An embedding job makes its new vectors visible (bumps the generation) at least this often.
PUBLISH_EVERY_S = 60.0
# A serving process's refit waits this long for the TF-IDF an import's worker is building
# before it builds its own.
WAIT_FOR_WORKER_FEATURES_S = 600.0
# Jobs build and save the TF-IDF of projects of at least this many records (environment
# SCREENWISE_JOB_TFIDF_MIN_RECORDS); a smaller project's server builds its own in well under a
# second, when it first ranks on words.
JOB_TFIDF_MIN_RECORDS = 2_000


def _job_tfidf_min_records() -> int:
    return int(os.environ.get("SCREENWISE_JOB_TFIDF_MIN_RECORDS", JOB_TFIDF_MIN_RECORDS))


@dataclass
class ProjectVectors:
    """A project's embedded records in memory, valid for one state of its records.

    ``features`` (the models' TF-IDF and embeddings) are built on first use by the ranking
    (``IngestService.features``), not with the vectors: search needs only the index."""

    version: tuple[Any, ...]
    ids: np.ndarray
    matrix: np.ndarray
    index: VectorIndex
    features: Any = None
    embedding_features: Any = None  # the embeddings alone, for rankings that learn no words
    rows: dict[int, int] | None = None  # record id -> row of ``matrix``
    textless: tuple[int, ...] = ()  # records without title and abstract: never embedded
    project_id: int | None = None
    building: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


# Record-start markers, to estimate a file's records before reading it (an upper bound).
_RECORD_STARTS = {
    "ris": re.compile(rb"^TY  -", re.MULTILINE),
    "medline": re.compile(rb"^PMID-", re.MULTILINE),
    "pubmed-xml": re.compile(rb"<PubmedArticle[ >]"),
    "bibtex": re.compile(rb"^\s*@\w+\s*[{(]", re.MULTILINE),
}


class IngestService:
    """Import as jobs, the project's vectors and FAISS index, and search (part of
    ``Screenwise``).

    ``vectors`` never embeds: it shows the records embedded so far. Embedding happens only in
    jobs (``embed_pending``), batch by batch, each batch committed to the vector cache; the
    project's embedding generation is bumped as batches land (first batch, then at doubling
    counts or once a minute) so that servers refresh the project's vectors and rankings.
    """

    limits: Limits = Limits()

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
        """Import files now, in this thread (the command line and tests): one import job,
        run here. Returns one summary per file; a failure is raised.

        All files are stored in one transaction or none is; a project that is new is created
        in that same transaction.
        """
        job = self.submit_import(
            project,
            paths,
            question=question,
            create=create,
            ignore_labels=ignore_labels,
            actor=actor,
            names=names,
            run_here=True,
        )
        return job["result"]["files"]

    def submit_import(
        self,
        project: str | int,
        paths: Sequence[str | Path],
        *,
        question: str | None = None,
        create: bool = True,
        ignore_labels: bool = False,
        actor: str = "",
        names: Sequence[str] | None = None,
        job_id: str | None = None,
        run_here: bool = False,
    ) -> dict[str, Any]:
        """Create an import job for files on disk and queue it (``run_here``: run it in this
        thread). Returns the job."""
        if not paths:
            raise ValidationError("no file to import", field="files")
        names = list(names) if names is not None else [Path(p).name for p in paths]
        params: dict[str, Any] = {
            "files": [
                {"path": str(Path(p).resolve()), "name": name}
                for p, name in zip(paths, names, strict=True)
            ],
            "ignore_labels": ignore_labels,
        }
        project_id = None
        try:
            project_id = self.project(project).project_id
        except NotFoundError:
            if not create or isinstance(project, int):
                raise
            params["new_project"] = {"name": str(project), "question": question or ""}
        job = self._create_job(
            "import", project_id=project_id, params=params, actor=actor, job_id=job_id
        )
        if run_here:
            self.run_job(job["job_id"], raise_errors=True)
            return self.job(job["job_id"])
        return self._submit(job)

    def import_uploads(
        self,
        project: str | int,
        uploads: Sequence[tuple[str, IO[bytes]]],
        *,
        ignore_labels: bool = False,
        actor: str = "",
    ) -> dict[str, Any]:
        """Store uploaded ``(filename, stream)`` pairs under ``HOME/data/uploads/JOB/`` and
        queue their import into an existing project; returns the job at once.

        Checked before anything is queued: the header line's length (422) and an estimate of
        the records against ``limits.import_records`` (413, read exactly only when the
        estimate is over).
        """
        target = self.project(project)
        job_id = new_job_id()
        folder = self._upload_folder(job_id)
        try:
            paths = _save_uploads(uploads, folder)
            for path in paths:
                self._check_file_limits(path)
            return self.submit_import(
                target.project_id,
                paths,
                create=False,
                ignore_labels=ignore_labels,
                actor=actor,
                names=[p.name for p in paths],
                job_id=job_id,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _check_file_limits(self, path: Path) -> None:
        """Refuse a file whose first line is too long (422) or that holds too many records
        (413), before it is queued."""
        limit = self.limits.header_line_bytes
        with path.open("rb") as stream:
            first = stream.readline(limit + 1)
        if len(first) > limit and not first.endswith(b"\n"):
            raise LimitExceededError(
                f"{path.name}, line 1: the first line is longer than {limit:,} bytes"
                " (the header line limit)"
            )
        data = path.read_bytes()
        fmt = detect_format(path)
        marker = _RECORD_STARTS.get(fmt)
        estimate = len(marker.findall(data)) if marker else data.count(b"\n")
        if estimate > self.limits.import_records:
            count = len(read_records(path, ignore_labels=True))
            if count > self.limits.import_records:
                raise TooLargeError(
                    f"{path.name}: {count:,} records; an import may hold at most "
                    f"{self.limits.import_records:,}"
                )

    def _run_import(self, job: dict[str, Any], progress: Any) -> dict[str, Any]:
        """The import job: read every file, store them all in one transaction (which moves the
        job to ``embed``), embed what is new batch by batch, build the index. Resumed after
        the store phase, it only embeds and indexes."""
        params = job["params"]
        if job["phase"] not in ("embed", "index"):
            parsed = self._read_for_import(params, progress)
            progress.phase("store", sum(len(f.records) for f in parsed))
            new = params.get("new_project")
            target = NewProject(new["name"], new["question"]) if new else job["project_id"]
            self.store.import_files(target, parsed, actor=job["requested_by"], job_id=job["job_id"])
            del parsed  # the records are stored: free them before embedding
            job = self.store.job(job["job_id"])
        project_id = job["project_id"]
        report = self._embed_and_index(project_id, progress)
        project = self.store.project(project_id)
        files = []
        for summary in job["result"]:
            files.append(
                summary
                | {
                    "project": project.name,
                    "project_id": project_id,
                    "embedded": report.embedded,
                }
            )
        return {"files": files, "embedded": report.embedded}

    def _read_for_import(self, params: dict[str, Any], progress: Any) -> list[ImportFile]:
        files = params["files"]
        progress.phase("read", len(files))
        parsed: list[ImportFile] = []
        count = 0
        for number, file in enumerate(files):
            path, name = Path(file["path"]), file["name"]
            others = len(files) - 1
            try:
                if not path.exists():
                    raise ImportFormatError(f"{name}: the uploaded file is gone")
                records = read_records(path, ignore_labels=params["ignore_labels"])
                self._check_fields(name, records)
                count += len(records)
                if count > self.limits.import_records:
                    raise TooLargeError(
                        f"{name}: the import holds more than {self.limits.import_records:,}"
                        " records (the limit per import)"
                    )
            except ScreenwiseError as error:
                if others:
                    error.args = (
                        f"{error}; nothing was imported: the other {others} file(s) of this"
                        " import were not imported either",
                    )
                raise
            data = path.read_bytes()
            parsed.append(
                ImportFile(name, detect_format(path), hashlib.sha256(data).hexdigest(), records)
            )
            progress.update(number + 1, force=True)
        return parsed

    def _check_fields(self, name: str, records: Sequence[Record]) -> None:
        limit = self.limits.field_bytes
        for record in records:
            for field_name in ("title", "abstract"):
                size = len(getattr(record, field_name).encode("utf-8"))
                if size > limit:
                    where = f", line {record.line}" if record.line else ""
                    raise LimitExceededError(
                        f"{name}{where}: the {field_name} of record {record.source_id!r} is "
                        f"{size:,} bytes; a field may hold at most {limit:,}"
                    )

    def check_candidates(self, count: int, *, maintainer: bool) -> None:
        """Refuse a review update of more records than the caller's role may send (413)."""
        limit = self.limits.maintainer_candidates if maintainer else self.limits.reviewer_candidates
        if count > limit:
            who = "a maintainer" if maintainer else "a reviewer"
            raise TooLargeError(f"{count:,} records; {who} may rank at most {limit:,} per request")

    def candidate_uploads(
        self,
        project_id: int,
        uploads: Sequence[tuple[str, IO[bytes]]],
        *,
        maintainer: bool,
        actor: str = "",
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """Rank the records of review-update files: here when they are few (the ranked list),
        else, for a maintainer, in a ``candidates`` job (the job, queued)."""
        job_id = new_job_id()
        folder = self._upload_folder(job_id)
        queued = False
        try:
            paths = _save_uploads(uploads, folder)
            records = [r for path in paths for r in read_records(path, ignore_labels=True)]
            self.check_candidates(len(records), maintainer=maintainer)
            if len(records) <= self.limits.reviewer_candidates:
                return self.candidates(project_id, records)
            params = {
                "files": [{"path": str(p), "name": p.name} for p in paths],
                "records": len(records),
            }
            job = self._create_job(
                "candidates", project_id=project_id, params=params, actor=actor, job_id=job_id
            )
            queued = True
        finally:
            if not queued:
                shutil.rmtree(folder, ignore_errors=True)
        return self._submit(job)

    def _run_candidates(self, job: dict[str, Any], progress: Any) -> list[dict[str, Any]]:
        """The ``candidates`` job: read the stored files, rank their records."""
        files = job["params"]["files"]
        progress.phase("read", len(files))
        records = [r for f in files for r in read_records(Path(f["path"]), ignore_labels=True)]
        progress.phase("rank", len(records))
        ranked = self.candidates(job["project_id"], records)
        progress.update(len(records), force=True)
        return ranked

    def check_candidate_bytes(self, size: int, *, maintainer: bool) -> None:
        """Refuse a reviewer's review-update files over their upload limit (413)."""
        limit = self.limits.reviewer_upload_bytes
        if not maintainer and size > limit:
            raise TooLargeError(
                f"the upload is {size:,} bytes; a reviewer may send at most {limit:,}"
            )

    @contextlib.contextmanager
    def _saved_uploads(self, uploads: Sequence[tuple[str, IO[bytes]]]) -> Iterator[list[Path]]:
        """Uploaded files written to a scratch folder under HOME (removed after, and at every
        start) under their (sanitised) names, so the readers see the extension."""
        scratch = self.data_dir / SCRATCH
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="upload-", dir=scratch) as folder:
            yield _save_uploads(uploads, Path(folder))

    # -- vectors and search ---------------------------------------------------------------

    @property
    def embedding_model_id(self) -> str:
        """The model id vectors are cached under, without loading the model."""
        if self._encoder is not None:
            return self._encoder.model_id
        source = self._encoder_source
        if source is not None and hasattr(source, "model_id"):
            return source.model_id
        return self.model

    def ensure_vectors(self, project_id: int) -> EmbedReport:
        """Embed what the cache lacks for this project, here and now."""
        return self.embed_pending(project_id)

    def embed_pending(
        self, project_id: int, *, progress: Any = None, first_batch: threading.Event | None = None
    ) -> EmbedReport:
        """Embed the project's records that have no vector yet, in batches committed as they
        finish; the embedding generation is bumped as they land (``first_batch`` is set when
        the first is visible). A killed run loses at most one batch; the next embeds only what
        is still missing."""
        model_id = self.embedding_model_id
        missing = self.store.missing_vectors(project_id, model_id)
        if progress is not None:
            progress.phase("embed", len(missing))
        hashes = list(missing)
        done = published = 0
        last_publish = time.monotonic()
        try:
            with tqdm(
                total=len(hashes),
                desc="embedding",
                unit="rec",
                disable=not self.progress or not hashes,
            ) as bar:
                for start in range(0, len(hashes), EMBED_CHUNK):
                    chunk = hashes[start : start + EMBED_CHUNK]
                    vectors = self.encoder.encode_documents([missing[h] for h in chunk])
                    self.store.put_vectors(self.encoder.model_id, chunk, vectors)
                    done += len(chunk)
                    bar.update(len(chunk))
                    if done - published >= max(EMBED_CHUNK, published) or (
                        time.monotonic() - last_publish > PUBLISH_EVERY_S
                    ):
                        self.store.bump_embedding_generation(project_id, model_id)
                        published, last_publish = done, time.monotonic()
                        if first_batch is not None:
                            first_batch.set()
                    if progress is not None:
                        progress.update(done)
        finally:
            if done > published:
                self.store.bump_embedding_generation(project_id, model_id)
        if progress is not None:
            progress.update(done, force=True)
        without_text = self.store.stats(project_id)["without_text"]
        return EmbedReport(embedded=done, cached=0, without_text=without_text)

    def _build_index(self, project_id: int, progress: Any = None) -> None:
        """Save the project's FAISS index now, so that the server need not build it."""
        if progress is not None:
            progress.phase("index")
        ids, matrix = project_vectors(self.store, self.embedding_model_id, project_id)
        load_or_build_index(
            self._index_path(project_id),
            self.embedding_model_id,
            self.encoder.dimension,
            ids,
            matrix,
        )

    def pending_embedding(self, project_id: int) -> int:
        """How many of the project's records are still waiting for their vector."""
        version = self._version(project_id)
        with self._lock:
            cached = self._pending.get(project_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        count = self.store.pending_vectors(project_id, self.embedding_model_id)
        with self._lock:
            self._pending[project_id] = (version, count)
        return count

    def _version(self, project_id: int) -> tuple[Any, ...]:
        model_id = self.embedding_model_id
        return (*self.store.embedding_version(project_id, model_id), model_id, self.models.name)

    def _load_vectors_later(self, project_id: int) -> None:
        with self._lock:
            if project_id in self._loading_vectors:
                return
            self._loading_vectors.add(project_id)

        def load() -> None:
            try:
                if not self.closing:
                    self.vectors(project_id)
            except Exception:
                log.exception("project %d: loading its new vectors failed", project_id)
            finally:
                with self._lock:
                    self._loading_vectors.discard(project_id)

        threading.Thread(target=load, name=f"vectors-{project_id}", daemon=True).start()

    def vectors(self, project_id: int, *, latest: bool = True) -> ProjectVectors:
        """The project's embedded records (ids, matrix, FAISS index, features), rebuilt when
        an import or an embedding job changed them. Never embeds: records still waiting for
        their vector are left out (``pending_embedding`` counts them).

        ``latest=False`` (a search in a serving process): when the project's vectors changed
        (an embedding job's new batch), answer from the ones in memory while a thread loads
        the new ones, rather than wait for them."""
        version = self._version(project_id)
        if not latest and self.serving:
            with self._lock:
                cached = self._vectors.get(project_id)
            if cached is not None and cached.version != version:
                self._load_vectors_later(project_id)
                return cached
        with self._project_lock(project_id):
            cached = self._vectors.get(project_id)
            if cached is not None and cached.version == version:
                return cached
            ids, matrix = project_vectors(self.store, self.embedding_model_id, project_id)
            dimension = self.encoder.dimension
            index = load_or_build_index(
                self._index_path(project_id), self.embedding_model_id, dimension, ids, matrix
            )
            state = ProjectVectors(
                version,
                ids,
                matrix.reshape(len(ids), dimension),
                index,
                rows={int(record_id): row for row, record_id in enumerate(ids)},
                textless=self.store.textless_records(project_id),
                project_id=project_id,
            )
            with self._lock:
                self._vectors[project_id] = state
            return state

    def _embed_and_index(self, project_id: int, progress: Any) -> EmbedReport:
        """A job's embedding phase (import or embedding job): embed what is pending, save the
        FAISS index, with the TF-IDF and study types done beside it."""
        with self._text_features_beside(project_id, progress) as first_batch:
            report = self.embed_pending(project_id, progress=progress, first_batch=first_batch)
            self._build_index(project_id, progress)
        return report

    @contextlib.contextmanager
    def _text_features_beside(
        self, project_id: int, progress: Any = None
    ) -> Iterator[threading.Event]:
        """Build and save the project's TF-IDF (``text_features``), then type its new records'
        study types, in a thread of this job while the body embeds (torch leaves the
        interpreter free), so the server only loads the TF-IDF. The
        thread starts when the body sets the event it is given (``embed_pending`` sets it once
        its first batch is visible: the first records are screenable before the TF-IDF takes
        its share of the interpreter), or when the body ends."""
        failed: list[BaseException] = []
        go = threading.Event()

        def build() -> None:
            go.wait()
            try:
                if self.store.records_version(project_id)[0] >= _job_tfidf_min_records():
                    self.text_features(project_id, keep=self.keep_text_features)
            except BaseException as error:  # reported below, in the job's thread
                failed.append(error)
            # Study types (metadata, else the text classifier: linear in the records): a
            # resumed job types only the records still untyped; a failure is only logged.
            self.type_new_records(project_id)

        thread = threading.Thread(target=build, name=f"tfidf-{project_id}", daemon=True)
        thread.start()
        try:
            yield go
        finally:
            go.set()
            if thread.is_alive() and progress is not None:
                progress.phase("features")
            thread.join()
        if failed:
            log.warning("project %d: TF-IDF not saved: %s", project_id, failed[0])

    def _features_path(self, project_id: int) -> Path:
        return self.data_dir / "features" / f"project-{project_id}.npz"

    def text_features(
        self, project_id: int, *, keep: bool = True, wait: float = 0.0
    ) -> ProjectText:
        """The TF-IDF of the project's records as they stand (one build per set of records):
        from memory, else from the file a job worker saved, else built here and saved.

        ``wait``: seconds to wait for the file while an import or embedding job of the
        project is queued or running (its worker builds it; a serving process's background
        refit waits rather than build it too). ``keep``: remember it in this process."""
        version = (*self.store.records_version(project_id), self.models.name, LEXICAL_FEATURES)
        with self._lock:
            cached = self._texts.get(project_id)
        if cached is not None and cached.version == version:
            return cached
        with self._text_lock(project_id):
            with self._lock:
                cached = self._texts.get(project_id)
            if cached is not None and cached.version == version:
                return cached
            path = self._features_path(project_id)
            text = load_text_features(path, version)
            deadline = time.monotonic() + wait
            while text is None and time.monotonic() < deadline and self._jobs_pending(project_id):
                time.sleep(1.0)
                text = load_text_features(path, version)
            if text is None:
                rows = self.store.lexical_texts(project_id)
                text = ProjectText(
                    version,
                    np.array([r[0] for r in rows], dtype=np.int64),
                    self.models.text_features([r[1] for r in rows], [r[2] for r in rows]),
                )
                del rows
                save_text_features(path, text)
            if keep:
                with self._lock:
                    self._texts[project_id] = text
            return text

    def _text_lock(self, project_id: int) -> threading.Lock:
        with self._lock:
            return self._text_locks.setdefault(project_id, threading.Lock())

    def _jobs_pending(self, project_id: int) -> bool:
        return any(
            job["kind"] in ("import", "embed") and job["state"] in ("queued", "running")
            for job in self.store.jobs(project_id)
        )

    def embedding_features(self, state: ProjectVectors) -> Any:
        """``state``'s features without the TF-IDF (for a ranking that learns no words)."""
        with state.building:
            if state.features is not None:
                return state.features
            if state.embedding_features is None:
                state.embedding_features = self.models.embedding_features(state.matrix)
            return state.embedding_features

    def features(self, state: ProjectVectors) -> Any:
        """The models' features of ``state``'s records (TF-IDF over their texts and the
        embeddings), built once per state, by the first caller (the background refit), while
        searches and queue reads go on with the vectors alone."""
        with state.building:
            if state.features is None:
                assert state.project_id is not None
                wait = WAIT_FOR_WORKER_FEATURES_S if self.serving else 0.0
                text = self.text_features(state.project_id, wait=wait)
                state.features = text.features.with_vectors(state.matrix, text.rows_of(state.ids))
            return state.features

    def search(
        self,
        project: str | int,
        question: str,
        *,
        k: int = 10,
        filter: str = "all",
        viewer: Viewer | None = None,
        limits: str | None = None,
        study_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """Records nearest to a natural-language question, with cosine scores, best first;
        ``limits``: only those within, outside or unknown to the protocol's search limits;
        ``study_type``: only records of that type."""
        if not question or not question.strip():
            raise ValidationError("the question is empty", field="q")
        if k < 1 or k > 1000:
            raise ValidationError("k must be between 1 and 1000", field="k")
        if filter not in SEARCH_FILTERS:
            raise ValidationError(
                f"filter must be one of {', '.join(SEARCH_FILTERS)}", field="filter"
            )
        target = self.project(project)
        state = self.vectors(target.project_id, latest=False)
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
        if limits is not None:
            verdicts = self.store.limit_verdicts(target.project_id)
            wanted = np.array(
                [i for i, v in verdicts.items() if v.status == limits], dtype=np.int64
            )
            allowed = wanted if allowed is None else np.intersect1d(allowed, wanted)
        if study_type is not None:
            typed = self.store.study_types(target.project_id)
            of_type = np.array(
                [i for i, t in typed.items() if t["study_type"] == study_type], dtype=np.int64
            )
            allowed = of_type if allowed is None else np.intersect1d(allowed, of_type)
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
                "study_type": r.get("study_type"),
            }
            for r, score in zip(records, scores, strict=True)
        ]


def _save_uploads(uploads: Sequence[tuple[str, IO[bytes]]], folder: Path) -> list[Path]:
    """Write uploaded ``(filename, stream)`` pairs to ``folder/N/NAME`` (names sanitised)."""
    if not uploads:
        raise ValidationError("no file uploaded", field="files")
    paths = []
    for number, (filename, stream) in enumerate(uploads):
        name = secure_filename(filename or "") or "upload"
        path = folder / str(number) / name
        path.parent.mkdir(parents=True)
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out)
        paths.append(path)
    return paths
