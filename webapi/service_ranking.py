"""The service layer's ranking: fitted models, the queue, training, themes, review updates."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

import numpy as np

from index import Record, read_records
from index.consensus import Viewer
from index.corpus import embed_texts
from index.dedup import DedupKeys
from index.errors import ValidationError
from index.store import Project

from .models import FittedModels
from .service_ingest import ProjectVectors

log = logging.getLogger(__name__)

RankingMode = Literal["model", "similarity", "question", "none"]


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


class RankingService:
    """The queue, training, theme suggestions and review updates (a part of ``Screenwise``)."""

    # -- ranking --------------------------------------------------------------------------

    def _ranking(self, project_id: int) -> Ranking:
        """The current ranking, refitted when records, decisions or theme labels changed."""
        key = self.store.state_version(project_id)
        cached = self._rankings.get(project_id)
        fresh = self._version(project_id)  # the embedded set: it grows as vectors land
        if cached is not None and cached.key == key and cached.vectors.version == fresh:
            return cached
        with self._project_lock(project_id):
            cached = self._rankings.get(project_id)
            if cached is not None and cached.key == key and cached.vectors.version == fresh:
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
