"""Team views of a review, built from the store: the conflict queue, the PRISMA 2020 counts,
and the audit trail as a member may read it. Kept out of ``services.py``, which wires models."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from index.consensus import Viewer
from index.errors import ValidationError
from index.store import STAGES, Store

from .prisma import NOT_RETRIEVED, PrismaCounts
from .writers import csv_safe

DECISION_ACTIONS = ("decision", "decision.change", "resolution")
HIDDEN = ("label", "reason", "note", "themes")


def conflicts(store: Store, project_id: int, stage: str) -> list[dict[str, Any]]:
    """Records in conflict at ``stage``, oldest first, each with both reviewers' current
    decisions (label, reason, note) and what a resolver reads of the record."""
    if stage not in STAGES:
        raise ValidationError(f"stage must be one of {', '.join(STAGES)}", field="stage")
    states = store.states(project_id, stage)
    ids = sorted(rid for rid, state in states.items() if state.status == "conflict")
    records = store.records_by_id(project_id, ids)
    return [
        {
            "record_id": record["record_id"],
            "stage": stage,
            "record": record,
            "decisions": list(states[record["record_id"]].current.values()),
        }
        for record in records
    ]


def prisma_counts(store: Store, project_id: int) -> PrismaCounts:
    """The PRISMA 2020 figures from the final decisions of both stages.

    Records screened are those with a final decision at title/abstract, as everywhere else
    (progress, stats): include, exclude or maybe; a maybe is shown apart ("marked maybe, to
    decide"), the records without one await screening; reports sought are the records
    included there; a full-text exclusion with the reason "report not retrieved" counts as not
    retrieved; reports assessed are the other full-text includes and excludes; studies
    included are the full-text includes.
    """
    stats = store.stats(project_id)
    title, full = stats["stages"]["title_abstract"], stats["stages"]["full_text"]
    reasons = dict(full["excluded_by_reason"])
    not_retrieved = reasons.pop(NOT_RETRIEVED, 0)
    unexplained = full["excluded"] - sum(full["excluded_by_reason"].values())
    if unexplained:
        reasons[""] = unexplained
    screened = title["screened"]
    assessed = full["included"] + full["excluded"] - not_retrieved
    removed = stats["removed_outside_limits"]
    return PrismaCounts(
        sources=tuple((s["filename"], s["read"]) for s in stats["sources"]),
        duplicates_removed=stats["duplicates"],
        # Outside the search limits: removed for other reasons, not by a classifier (see
        # ``PrismaCounts``); never screened, never awaiting screening.
        other_removed=removed,
        screened=screened,
        screening_excluded=title["excluded"],
        awaiting_screening=stats["records"] - removed - screened,
        screening_maybe=title["maybe"],
        sought_for_retrieval=title["included"],
        not_retrieved=not_retrieved,
        assessed=assessed,
        fulltext_excluded=reasons,
        awaiting_full_text=title["included"] - not_retrieved - assessed,
        included=full["included"],
    )


def prisma_dict(counts: PrismaCounts) -> dict[str, Any]:
    return {
        "identified": counts.identified,
        "sources": [{"filename": name, "records": n} for name, n in counts.sources],
        "duplicates_removed": counts.duplicates_removed,
        "automation_removed": counts.automation_removed,
        "other_removed": counts.other_removed,
        "other_removed_reasons": (
            {counts.other_removed_reason: counts.other_removed} if counts.other_removed else {}
        ),
        "screened": counts.screened,
        "screening_excluded": counts.screening_excluded,
        "awaiting_screening": counts.awaiting_screening,
        "screening_maybe": counts.screening_maybe,
        "sought_for_retrieval": counts.sought_for_retrieval,
        "not_retrieved": counts.not_retrieved,
        "assessed": counts.assessed,
        "fulltext_excluded": counts.fulltext_excluded,
        "awaiting_full_text": counts.awaiting_full_text,
        "included": counts.included,
    }


def audit_events(store: Store, project_id: int, viewer: Viewer | None) -> list[dict[str, Any]]:
    """The project's audit trail, oldest first. In blind double screening the label, reason,
    note and themes of a decision ``viewer`` may not see yet are left out (``redacted``)."""
    events = store.audit(project_id)
    if viewer is None or store.project(project_id, archived=True).mode != "double":
        return events
    visible = {d["decision_id"] for d in store.decisions(project_id, viewer=viewer)}
    out = []
    for event in events:
        detail = event["detail"]
        if event["action"] in DECISION_ACTIONS and detail.get("decision_id") not in visible:
            detail = {k: v for k, v in detail.items() if k not in HIDDEN} | {"redacted": True}
        out.append(event | {"detail": detail})
    return out


def audit_csv(events: list[dict[str, Any]]) -> str:
    """One row per event: id, time, actor, action, and the details as JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("event_id", "created_at", "actor", "action", "detail"))
    for e in events:
        detail = json.dumps(e["detail"], ensure_ascii=False, sort_keys=True)
        writer.writerow(
            [csv_safe(v) for v in (e["event_id"], e["created_at"], e["actor"], e["action"], detail)]
        )
    return out.getvalue()
