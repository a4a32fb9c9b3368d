"""The service layer's figures: stats, progress with the recall curve and the estimate, export."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import numpy as np
from werkzeug.utils import secure_filename

from classifier.stopping import stopping_test
from index.consensus import Viewer
from index.errors import ValidationError
from index.limits import is_limit_exclusion

from . import writers

log = logging.getLogger(__name__)


class ReportService:
    """Stats, progress, the estimate of relevant records left, export (part of ``Screenwise``)."""

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
        the estimate of relevant records still among the unscreened ones, and whether
        screening may stop (``classifier.stopping``; recall target and confidence from the
        project's ``stopping`` setting, 0.95 and 0.95 by default)."""
        target = self.project(project)
        pid = target.project_id
        figures = self.stats(pid, viewer=viewer)
        decisions = self.store.final_decisions(pid)
        # Theme labels go with their decision: counted only where ``viewer`` may see them.
        labelled_themes = self.store.current_themes(pid, viewer=viewer)
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
        stopping = target.settings.get("stopping") or {}
        verdict = stopping_test(
            _labels_in_order(history, decisions),
            figures["estimate"]["unscreened"],
            recall_target=float(stopping.get("recall_target", 0.95)),
            level=float(stopping.get("level", 0.95)),
        )
        figures["stopping"] = asdict(verdict) | {"confidence": verdict.confidence}
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
        labels = _labels_in_order(
            self.store.decisions(target.project_id) if history is None else history,
            self.store.final_decisions(target.project_id) if current is None else current,
        )
        evidence = estimate_evidence(labels)
        if ranking.fitted.relevance is None:
            return {
                "method": None,
                "expected": None,
                "low": None,
                "high": None,
                "unscreened": len(open_rows) + not_scored,
                "not_scored": not_scored,
                "estimated_recall": None,
            } | evidence
        estimate = self.models.estimate_remaining(len(open_rows), labels_in_order=labels)
        total = included + estimate["expected"]
        return (
            estimate
            | {
                "unscreened": len(open_rows) + not_scored,
                "not_scored": not_scored,
                "estimated_recall": round(included / total, 4) if total else None,
            }
            | evidence
        )

    def export(
        self, project: str | int, fmt: str, *, actor: str = "", study_type: str | None = None
    ) -> tuple[str, str, str]:
        """The project's records with their final title/abstract decisions, reviewer, themes
        and notes: (file name, media type, text). A record not yet final (in double screening:
        pending or in conflict) has no decision in the export. Re-importing either format
        restores the include/exclude decisions. ``study_type``: only records of that type."""
        if fmt not in writers.FORMATS:
            raise ValidationError(f"format must be one of {', '.join(writers.FORMATS)}", "format")
        target = self.project(project)
        records, _ = self.store.records(target.project_id, final=True, study_type=study_type)
        selected = self.selected_themes(target.project_id)  # type: ignore[attr-defined]
        for record in records:
            record["selected_for"] = selected.get(record["record_id"], [])
        text = writers.to_csv(records) if fmt == "csv" else writers.to_ris(records)
        self.store.log(target.project_id, actor, "export", format=fmt, records=len(records))
        filename = f"{secure_filename(target.name) or 'project'}-screenwise.{fmt}"
        return filename, writers.MEDIA_TYPES[fmt], text


# The estimate has enough evidence once this many include/exclude decisions were made (the
# depletion model reads the later half of them, so its window holds at least 50) and the last
# ones since an include show that the rate of includes has begun to fall. Before, the figure
# moves with every include found (after 33 decisions with 21 includes on the 851-record demo
# it read 319, then 218, 238 as includes came) and the page says "too early" instead.
ESTIMATE_MIN_DECISIONS = 100
ESTIMATE_MIN_SINCE_INCLUDE = 20


def estimate_evidence(labels_in_order: list[int]) -> dict[str, Any]:
    """Whether the estimate of relevant records left has enough evidence to be read, from the
    final include (1) / exclude (0) decisions in order: ``decisions`` made, ``since_include``
    (decisions after the last include), ``enough_evidence``, and ``decisions_needed``: about
    how many more decisions until it has (0 once it has; a lower bound, since every include
    found restarts the run of ``ESTIMATE_MIN_SINCE_INCLUDE``)."""
    n = len(labels_in_order)
    last_include = max((i for i, label in enumerate(labels_in_order) if label), default=-1)
    since = n - 1 - last_include
    needed = max(ESTIMATE_MIN_DECISIONS - n, ESTIMATE_MIN_SINCE_INCLUDE - since, 0)
    return {
        "decisions": n,
        "since_include": since,
        "enough_evidence": needed == 0,
        "decisions_needed": needed,
    }


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
        and not is_limit_exclusion(current[d["record_id"]])  # removed before screening
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
