"""The service layer's ranking: fitted models, the queue, training, themes, review updates."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from classifier.question import corpus_question_signal, question_signal
from classifier.ranking import RankingMode, pool_scores
from classifier.relevance import RelevanceModel
from classifier.themes import Neighbors
from index import Record, read_records
from index.consensus import Viewer
from index.corpus import embed_texts
from index.dedup import DedupKeys
from index.errors import ValidationError
from index.limits import SearchLimits, is_limit_exclusion, record_languages
from index.records import LEXICAL_FEATURES
from index.store import Project

from .models import FittedModels
from .service_ingest import ProjectVectors

log = logging.getLogger(__name__)

# In single screening a queue read holds its first records for the reader this long (or
# until their next read), and other readers are offered other records first.
LEASE_SECONDS = 120.0
LEASED_PER_READ = 3
# Seconds the first read of a project waits for its first ranking (then it fits itself).
FIRST_RANKING_WAIT = 600.0


@dataclass
class Ranking:
    """The queue's order and the models behind it, for one ``Store.state_version``.

    ``scores`` has one value per row of the project's vectors (``None`` in mode ``"none"``);
    ``decided`` holds the final title/abstract labels and ``screened`` marks their rows.
    """

    project_id: int
    key: tuple[tuple[int, ...], str, tuple[Any, ...]]
    mode: RankingMode
    vectors: ProjectVectors
    scores: np.ndarray | None
    fitted: FittedModels
    decided: dict[int, str]
    screened: np.ndarray
    included_rows: np.ndarray
    theme_names: tuple[str, ...]
    features: Any = None  # what the models read: TF-IDF and embeddings, or embeddings alone
    # (question text, its vector, classifier.question.QuestionReference) when the relevance
    # model weighs the question: scores a review update's hits as the queue scores records.
    question: tuple[str, np.ndarray, Any] | None = None

    @property
    def open_textless(self) -> list[int]:
        """Unscreened records without title and abstract (they have no vector, no score)."""
        return [r for r in self.vectors.textless if r not in self.decided]


class RankingService:
    """The queue, training, theme suggestions and review updates (a part of ``Screenwise``)."""

    # -- ranking --------------------------------------------------------------------------

    def _state_key(self, project_id: int) -> tuple[tuple[int, ...], str, tuple[Any, ...]]:
        """What a ranking depends on: the records, decisions and theme labels
        (``Store.state_version``), the project's question, themes and settings (a digest) and
        the embedded records (``vectors``' version: it grows as an import's vectors land)."""
        project = self.store.project(project_id)
        definition = json.dumps(
            [
                project.question,
                [[t.name, t.description] for t in project.themes],
                project.settings,
                self.models.name,
                getattr(self.models, "setting", None),
            ],
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha256(definition.encode("utf-8")).hexdigest()[:16]
        return tuple(self.store.state_version(project_id)), digest, self._version(project_id)

    def _ranking(self, project_id: int) -> Ranking:
        """The latest finished ranking of the project, at once.

        When decisions (or records, theme labels, the question, ...) changed since, a
        background refit is started (one per project; it picks up everything that arrived
        meanwhile, so bursts of decisions coalesce into few fits) and the previous ranking
        answers meanwhile: reads never wait for a fit. Only the first read of a project in
        this process fits (or loads the saved models) in the caller's thread, and so does
        every read when ``ranking_refit`` is ``"inline"`` (tests, the CLI).
        """
        key = self._state_key(project_id)
        cached = self._rankings.get(project_id)
        if cached is not None and cached.key == key:
            return cached
        if self.ranking_refit == "background":
            self._refit_later(project_id)
            if cached is not None and len(cached.vectors.ids):
                return cached
            # Nothing to answer from yet (or a ranking of no embedded record, while an
            # import's first vectors land): wait for the refit's next ranking (``warm_up``
            # starts it early), not for the refits to settle (they follow the embedding).
            deadline = time.monotonic() + FIRST_RANKING_WAIT
            while time.monotonic() < deadline:
                current = self._rankings.get(project_id)
                if current is not None and current is not cached:
                    return current
                with self._lock:
                    if project_id not in self._refitting:
                        break
                time.sleep(0.01)
            cached = self._rankings.get(project_id)
            if cached is not None:
                return cached
        with self._project_lock(project_id):
            cached = self._rankings.get(project_id)
            if cached is not None and cached.key == key:
                return cached
            ranking = self._fit(project_id, reuse_saved=cached is None)
            self._publish(project_id, ranking)
            return ranking

    def warm_up(self) -> None:
        """Start every project's first ranking in the background (``serve`` calls this), so
        that the first reader does not wait for it."""
        self.serving = True
        for project in self.store.projects():
            if project.project_id not in self._rankings:
                self._refit_later(project.project_id)

    def _refit_later(self, project_id: int) -> None:
        """Start the project's background refit unless one is running."""
        with self._lock:
            if project_id in self._refitting:
                return
            self._refitting.add(project_id)
        threading.Thread(
            target=self._refit_loop, args=(project_id,), name=f"refit-{project_id}", daemon=True
        ).start()

    def _refit_loop(self, project_id: int) -> None:
        """Refit until the published ranking matches the project's state."""
        try:
            while not self.closing:
                current = self._rankings.get(project_id)
                if current is not None and current.key == self._state_key(project_id):
                    return
                # No project lock: searches and first reads go on meanwhile (this thread is
                # the project's only refit; a concurrent fit would only publish the newer).
                ranking = self._fit(project_id, reuse_saved=current is None)
                self._publish(project_id, ranking)
        except Exception:
            # The queue keeps answering from the last ranking; the next read tries again.
            if not self.closing:
                log.exception("background refit of project %d failed", project_id)
        finally:
            with self._lock:
                self._refitting.discard(project_id)

    def ranking_settled(self, project_id: int, timeout: float = 30.0) -> bool:
        """Wait until the project's ranking reflects its state and no refit runs (tests and
        benchmarks), starting the refit when none runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                running = project_id in self._refitting
            current = self._rankings.get(project_id)
            if not running and current is not None and current.key == self._state_key(project_id):
                return True
            if not running:
                self._refit_later(project_id)
            time.sleep(0.01)
        return False

    def _publish(self, project_id: int, ranking: Ranking) -> None:
        """Make ``ranking`` the queue's, unless a ranking of a newer state is there already."""
        with self._lock:
            current = self._rankings.get(project_id)
            newer = current is None or all(
                mine >= theirs for mine, theirs in zip(ranking.key[0], current.key[0], strict=True)
            )
            if newer:
                self._rankings[project_id] = ranking

    def _fit(self, project_id: int, *, reuse_saved: bool = False) -> Ranking:
        """Fit the models on the current final decisions and theme labels, and score every
        record with ``classifier.ranking`` (the simulator's code path).

        The key is read first, so a decision arriving meanwhile only makes the next read
        refit again. ``reuse_saved`` takes the saved models when they were trained on exactly
        this state (a restarted server). The shared theme model learns only the theme labels
        everyone may see (``final=True``): imported ones and, in blind double screening, those of
        records final at title/abstract (a reviewer's themes stay theirs until then).
        """
        key = self._state_key(project_id)
        project = self.store.project(project_id)
        state = self.vectors(project_id)
        finals = self.store.final_decisions(project_id)
        decided = {record_id: d["label"] for record_id, d in finals.items()}
        # Records excluded as outside the search limits left the pool but teach nothing about
        # relevance (an old or foreign-language record may well be on topic).
        labelled = sorted(
            (state.rows[r], int(d["label"] == "include"), int(d["decision_id"]))
            for r, d in finals.items()
            if d["label"] != "maybe" and r in state.rows and not is_limit_exclusion(d)
        )
        rows = np.array([row for row, _, _ in labelled], dtype=np.int64)
        y = np.array([flag for _, flag, _ in labelled], dtype=np.int64)
        # When each label was given (decision ids grow): the tail phase and adaptive weights
        # read the latest decisions.
        order = np.array([when for _, _, when in labelled], dtype=np.int64)
        question = (
            self._query_vector(project.question)
            if project.question.strip() and len(state.ids)
            else None
        )
        theme_names = tuple(t.name for t in project.themes)
        theme_labels = sorted(
            (state.rows[r], names)
            for r, names in self.store.current_themes(project_id, final=True).items()
            if r in state.rows
        )
        theme_rows = np.array([row for row, _ in theme_labels], dtype=np.int64)
        theme_Y = np.array(
            [[name in names for name in theme_names] for _, names in theme_labels], dtype=np.int64
        ).reshape(len(theme_labels), len(theme_names))
        # Until both classes or a theme label are there, nothing learns from words: the
        # embeddings alone rank (question, nearest include), and the TF-IDF of a just-imported
        # review (built by the import's worker) is not waited for. The question signal (its
        # BM25 reads the TF-IDF) is read only by a fitted relevance model, so only then.
        both = len(set(y.tolist())) == 2
        words = both or len(theme_rows) or state.features is not None
        X = self.features(state) if words else self.embedding_features(state)
        signal, reference = (
            self._question_signal(project_id, X, project.question, question)
            if both
            else (None, None)
        )
        fitted = None
        if reuse_saved:
            saved = self.models.load(self._model_folder(project_id))
            if (
                saved is not None
                and _key_of(saved.meta) == key[:2]
                and saved.meta.get("lexical") == LEXICAL_FEATURES
            ):
                fitted = saved
        if fitted is None:
            unlabeled_rows = np.setdiff1d(np.arange(len(state.ids)), theme_rows)
            fitted = self.models.fit(
                self.models.take(X, rows),
                y,
                self.models.take(X, theme_rows),
                theme_Y,
                theme_text=self._theme_text(project),
                theme_unlabeled=X.vectors[unlabeled_rows],
                neighbors=_index_neighbors(state, np.concatenate([theme_rows, unlabeled_rows])),
                corpus=X,
                cache_key=project_id,
                order=order,
                question=signal[rows] if signal is not None else None,
            )
            fitted.meta["state"] = list(key[0])
            fitted.meta["definition"] = key[1]
            fitted.meta["lexical"] = LEXICAL_FEATURES  # what its TF-IDF columns read
            fitted.meta["embedding_model"] = self.encoder.model_id
            fitted.meta["dimension"] = self.encoder.dimension
        included_rows = rows[y == 1]
        screened = np.zeros(len(state.ids), dtype=bool)
        screened[[state.rows[r] for r in decided if r in state.rows]] = True
        # The unscreened pool and the screened records are scored apart, so that a blend of
        # scaled parts is normalised over the pool, as in the simulator (full-text screening
        # orders the screened includes by their own part).
        scores: np.ndarray | None = np.zeros(len(state.ids), dtype=np.float64)
        mode: RankingMode = "none"
        for part in (np.flatnonzero(~screened), np.flatnonzero(screened)):
            scored = pool_scores(
                X,
                part,
                model=fitted.relevance,
                include_rows=included_rows,
                question_vector=question,
                question=signal,
            )
            mode = scored.mode
            if scored.scores is None:
                scores = None
                break
            scores[part] = scored.scores
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
            X,
            (project.question, question, reference) if reference is not None else None,
        )

    def _weighs_question(self) -> bool:
        """Whether the relevance setting adds the question signal to its blend."""
        setting = getattr(self.models, "setting", None)
        return setting is not None and RelevanceModel.from_setting(setting).question_weight > 0

    def _question_signal(
        self, project_id: int, X: Any, text: str, vector: np.ndarray | None
    ) -> tuple[np.ndarray | None, Any]:
        """The question signal of every record (``classifier.question``) and its reference
        (which scores a review update's hits as these records), when the relevance setting
        weighs the question; computed once per features object and question."""
        if vector is None or not self._weighs_question():
            return None, None
        with self._lock:
            cached = self._question_signals.get(project_id)
        if cached is not None and cached[0] is X and cached[1] == text:
            return cached[2], cached[3]
        signal, reference = corpus_question_signal(X, text, vector)
        with self._lock:
            self._question_signals[project_id] = (X, text, signal, reference)
        return signal, reference

    def _theme_text(self, project: Project) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The vectors of the themes' names and of their descriptions (``None`` when no theme
        has one; a theme without one stands for its name on that side)."""
        if not project.themes:
            return None
        names = np.stack([self._query_vector(t.name) for t in project.themes])
        if not any(t.description.strip() for t in project.themes):
            return names, None
        return names, np.stack(
            [self._query_vector(t.description or t.name) for t in project.themes]
        )

    def _similarity_scores(
        self, project: Project, includes: np.ndarray, vectors: np.ndarray
    ) -> tuple[RankingMode, np.ndarray | None]:
        """Scores of records from outside the project before there is a model: the queue's
        cold start (``classifier.ranking.pool_scores``) over ``vectors`` with ``includes``."""
        corpus = np.vstack([includes, vectors]).astype(np.float32)
        features = _VectorsOnly(corpus)
        question = self._query_vector(project.question) if project.question.strip() else None
        scored = pool_scores(
            features,  # type: ignore[arg-type]
            np.arange(len(includes), len(corpus)),
            model=None,
            include_rows=np.arange(len(includes)),
            question_vector=question,
        )
        return scored.mode, scored.scores

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
        if viewer is not None and target.mode == "single":
            # Records shown to another reviewer a moment ago go after the others, so that
            # reviewers screening at once are offered different records.
            held = self._leased(target.project_id, stage, viewer.name)
            if held:
                taken = np.isin(state.ids[open_rows], np.fromiter(held, dtype=np.int64))
                open_rows = np.concatenate([open_rows[~taken], open_rows[taken]])
        top = open_rows[:n]
        textless = open_textless[: n - len(top)]
        ids = [int(i) for i in state.ids[top]] + textless
        records = self.store.records_by_id(target.project_id, ids)
        themes = self.with_discovered(  # type: ignore[attr-defined]
            target.project_id,
            [int(i) for i in state.ids[top]],
            self._theme_suggestions(ranking, self.models.take(ranking.features, top)),
        )
        nearest = self._nearest_includes(ranking, state.matrix[top], k)
        items = []
        limits = SearchLimits.of(target.settings)
        for position, record in enumerate(records):
            scored = position < len(top) and ranking.scores is not None
            items.append(
                {
                    "rank": position + 1,
                    **record,
                    "search_limits": limits.check_record(record).to_dict(),
                    "score": round(float(ranking.scores[top[position]]), 6) if scored else None,
                    "mode": ranking.mode if scored else "none",
                    "themes": themes[position] if position < len(top) else [],
                    "nearest_includes": nearest[position] if position < len(top) else [],
                }
            )
        if viewer is not None and target.mode == "single":
            self._lease(target.project_id, stage, viewer.name, ids[:LEASED_PER_READ])
        latest = self._state_key(target.project_id)
        with self._lock:
            refitting = target.project_id in self._refitting
        return {
            "project_id": target.project_id,
            "stage": stage,
            "mode": ranking.mode,
            "unscreened": len(open_rows) + len(open_textless),
            "model": ranking.fitted.meta,
            "ranking": {
                "decision_id": ranking.key[0][2],
                "latest_decision_id": latest[0][2],
                "current": ranking.key == latest,
                "refitting": refitting,
            },
            "items": items,
        }

    def _lease(self, project_id: int, stage: str, reviewer: str, record_ids: list[int]) -> None:
        """Hold ``record_ids`` for ``reviewer`` for ``LEASE_SECONDS`` (their earlier hold on
        this project and stage ends)."""
        expires = time.monotonic() + LEASE_SECONDS
        with self._lock:
            leases = self._leases.setdefault((project_id, stage), {})
            leases[reviewer] = (expires, frozenset(record_ids))

    def _leased(self, project_id: int, stage: str, reviewer: str) -> set[int]:
        """Records other reviewers hold now (``_lease``); expired holds are dropped."""
        now = time.monotonic()
        with self._lock:
            leases = self._leases.get((project_id, stage), {})
            for name in [name for name, (expires, _) in leases.items() if expires < now]:
                del leases[name]
            return {r for name, (_, ids) in leases.items() if name != reviewer for r in ids}

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
        current = ranking.fitted.meta
        saved = self.models.saved_meta(self._model_folder(target.project_id))
        if target.mode == "double":
            # Blind double screening: how many records carry theme labels is a figure of the
            # final records only, whatever a model was trained on; without any, the themes
            # rank by their text alone (zero-shot), as everyone may know.
            shared = len(self.store.current_themes(target.project_id, final=True))
            current, saved = (
                meta
                | {"theme_labelled": shared}
                | ({"theme_mode": "zero-shot"} if not shared and meta.get("theme_mode") else {})
                if meta and "theme_labelled" in meta
                else meta
                for meta in (current, saved)
            )
        return {
            "project_id": target.project_id,
            "mode": ranking.mode,
            "embedding_model": self.encoder.model_id,
            "dimension": self.encoder.dimension,
            "current": current,
            "saved": saved,
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
            self._theme_suggestions(ranking, self.models.take(ranking.features, embedded))
        )
        current = self.store.current_themes(target.project_id, viewer=viewer)
        lists = self.with_discovered(  # type: ignore[attr-defined]
            target.project_id,
            [r["record_id"] for r in records],
            [next(suggestions) if row is not None else [] for row in rows],
        )
        return [
            {
                "record_id": r["record_id"],
                "title": r["title"],
                "labelled": current.get(r["record_id"]),
                "themes": themes,
            }
            for r, themes in zip(records, lists, strict=True)
        ]

    def read_uploads(self, uploads: Sequence[tuple[str, IO[bytes]]]) -> list[Record]:
        """The records of uploaded export files, without storing anything."""
        with self._saved_uploads(uploads) as paths:
            return [record for path in paths for record in read_records(path, ignore_labels=True)]

    def candidates(self, project: str | int, records: Sequence[Record]) -> list[dict[str, Any]]:
        """Records not in the project (a review update), most likely relevant first (``score``:
        the queue's own ranking score under the project's model, scaled over the hits, else
        the similarity the queue's cold start uses; ``probability``: the model's calibrated
        P(include); ``position`` is the record's place in the input): suggested themes, and
        the screened record each one duplicates, with that record's current decision.

        Hits outside the project's search limits (``index.limits``) are not ranked: they come
        last, without a score, with the limits they break (``search_limits``); the scores are
        scaled over the hits within (or unknown to) the limits only."""
        if not records:
            raise ValidationError("no records given", field="records")
        target = self.project(project)
        ranking = self._ranking(target.project_id)
        limits = SearchLimits.of(target.settings)
        verdicts = [limits.check(r.year, record_languages(r.extra)) for r in records]
        texts = [record.text for record in records]
        if not any(texts):
            raise ValidationError("no record has a title or an abstract", field="records")
        with_text = [i for i, text in enumerate(texts) if text and verdicts[i].status != "outside"]
        if not with_text:
            return _unranked(
                records,
                verdicts,
                self.store.dedup_index(target.project_id),
                self.store.final_decisions(target.project_id),
            )
        vectors = embed_texts(self.store, self.encoder, [texts[i] for i in with_text])
        X = self.models.new_features(
            self.features(ranking.vectors),
            vectors,
            [texts[i] for i in with_text],
            [records[i].lexical_text for i in with_text],
        )
        mode = ranking.mode
        probabilities = None
        if ranking.fitted.relevance is not None:
            # The queue's own model orders the hits, with the question it weighed (bench/update.py:
            # loss 0.112 against 0.138 for the TF-IDF logistic alone); its calibrated part says
            # how likely each is.
            signal = None
            if ranking.question is not None:
                text, vector, reference = ranking.question
                signal = question_signal(X, text, vector, reference=reference)
            scores = self.models.ranking_scores(ranking.fitted, X, signal)
            probabilities = self.models.probabilities(ranking.fitted, X)
        else:
            includes = ranking.vectors.matrix[ranking.included_rows]
            mode, scores = self._similarity_scores(target, includes, vectors)
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
                    "mode": mode if scores is not None and position is not None else "none",
                    "probability": (
                        round(float(probabilities[position]), 6)
                        if probabilities is not None and position is not None
                        else None
                    ),
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
                    "search_limits": verdicts[i].to_dict(),
                }
            )
        # Best first; records without a score (no text, or no model yet) next, in input order;
        # hits outside the search limits last.
        out.sort(
            key=lambda c: (
                c["search_limits"]["status"] == "outside",
                c["score"] is None,
                -(c["score"] or 0.0),
                c["position"],
            )
        )
        return out


def _unranked(
    records: Sequence[Record], verdicts: list[Any], dedup: Any, decisions: dict[int, Any]
) -> list[dict[str, Any]]:
    """Hits of which none may be ranked (all outside the limits), in input order."""
    out = []
    for i, record in enumerate(records):
        match = dedup.match(DedupKeys.of(record))
        out.append(
            {
                "position": i,
                "title": record.title,
                "year": record.year,
                "doi": record.doi,
                "pmid": record.pmid,
                "score": None,
                "mode": "none",
                "probability": None,
                "themes": [],
                "nearest_includes": [],
                "duplicate_of": (
                    {"record_id": match[0], "reason": match[1], "decision": decisions.get(match[0])}
                    if match
                    else None
                ),
                "search_limits": verdicts[i].to_dict(),
            }
        )
    return out


def _key_of(meta: dict[str, Any]) -> tuple[tuple[int, ...], str]:
    """The part of a ranking key the models described by ``meta`` (a sidecar) were fitted
    at: the state and the definition (the embedded set is checked by the state's records)."""
    return tuple(meta.get("state") or ()), str(meta.get("definition"))


def _index_neighbors(state: ProjectVectors, rows: np.ndarray) -> Neighbors:
    """``classifier.themes.Neighbors`` from the project's FAISS index: positions are places in
    ``rows`` (rows of ``state``), which must hold every embedded record."""
    position_of = np.empty(len(state.ids), dtype=np.int64)
    position_of[rows] = np.arange(len(rows))
    by_id = state.rows or {}

    def neighbors(positions: np.ndarray, k: int) -> np.ndarray:
        queries = rows[np.asarray(positions, dtype=np.int64)]
        found = np.full((len(queries), k), -1, dtype=np.int64)
        if not len(queries) or k < 1:
            return found
        ids, _ = state.index.search_batch(state.matrix[queries], k + 1)
        for i, (query, hits) in enumerate(zip(queries, ids, strict=True)):
            near = [by_id[int(h)] for h in hits if h >= 0 and by_id.get(int(h)) != query][:k]
            found[i, : len(near)] = position_of[near]
        return found

    return neighbors


@dataclass(frozen=True)
class _VectorsOnly:
    """Embeddings standing in for ``CorpusFeatures`` where only similarity is scored."""

    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.vectors)
