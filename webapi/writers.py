"""Writers of a project's records with their decisions, as RIS or CSV; both re-import with the
decisions.

RIS carries the decision as the ASReview label note (``ASReview_relevant`` / ``_irrelevant`` /
``_not_seen``) first among the N1 notes, then screenwise's own notes (decision, reviewer,
reason, note, themes). CSV has one column per field with ``label_included`` 1/0/empty, and is
safe to open in a spreadsheet: cells that would start a formula are quoted with ``'`` (OWASP
"CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import rispy

from index.readers import RIS_NOTE_LABELS

FORMATS = ("csv", "ris")
MEDIA_TYPES = {"csv": "text/csv", "ris": "application/x-research-info-systems"}

CSV_COLUMNS = (
    "record_id",
    "source_id",
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "url",
    "keywords",
    "decision",
    "label_included",
    "stage",
    "origin",
    "reviewer",
    "reason",
    "note",
    "decided_at",
    "themes",
    "source_file",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LABEL_NOTE = {label: note for note, label in RIS_NOTE_LABELS.items()}
_RIS_MAPPING = {**rispy.TAG_KEY_MAPPING, "PM": "pubmed_id"}


def csv_safe(value: Any) -> str:
    """The cell as text, with a leading ``'`` where a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _label_included(decision: dict[str, Any] | None) -> str:
    label = (decision or {}).get("label")
    return {"include": "1", "exclude": "0"}.get(label or "", "")


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    """One row per record, columns ``CSV_COLUMNS``; lists are joined with ``"; "``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        decision = record.get("decision") or {}
        row = {
            **{key: record.get(key) for key in CSV_COLUMNS},
            "authors": "; ".join(record["authors"]),
            "keywords": "; ".join(record["keywords"]),
            "decision": decision.get("label"),
            "label_included": _label_included(decision),
            "stage": decision.get("stage"),
            "origin": decision.get("origin"),
            "reviewer": decision.get("reviewer"),
            "reason": decision.get("reason"),
            "note": decision.get("note"),
            "decided_at": decision.get("created_at"),
            "themes": "; ".join(record["themes"]),
        }
        writer.writerow([csv_safe(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _ris_notes(record: dict[str, Any]) -> list[str]:
    decision = record.get("decision")
    label = _label_included(decision)
    notes = [_LABEL_NOTE[{"1": 1, "0": 0}.get(label)]]
    if decision:
        notes.append(
            f"screenwise decision: {decision['label']} ({decision['stage']}, "
            f"{decision['origin']}) by {decision['reviewer']} at {decision['created_at']}"
        )
        if decision.get("reason"):
            notes.append(f"screenwise reason: {_one_line(decision['reason'])}")
        if decision.get("note"):
            notes.append(f"screenwise note: {_one_line(decision['note'])}")
    if record["themes"]:
        notes.append(f"screenwise themes: {'; '.join(record['themes'])}")
    notes += [_one_line(note) for note in record.get("notes", "").split("\n") if note.strip()]
    return notes


def to_ris(records: Iterable[dict[str, Any]]) -> str:
    """One RIS record per record; ``ID`` is screenwise's record id."""
    entries = []
    for record in records:
        entry = {
            "type_of_reference": record.get("ref_type") or "JOUR",
            "id": str(record["record_id"]),
            "title": _one_line(record["title"]),
            "abstract": _one_line(record["abstract"]),
            "authors": record["authors"],
            "year": str(record["year"]) if record.get("year") else "",
            "journal_name": record.get("journal", ""),
            "doi": record.get("doi", ""),
            "pubmed_id": record.get("pmid", ""),
            "urls": [record["url"]] if record.get("url") else [],
            "keywords": record["keywords"],
            "notes": _ris_notes(record),
        }
        entries.append({key: value for key, value in entry.items() if value})
    return rispy.dumps(entries, mapping=_RIS_MAPPING)
