"""Writers of a project's records with their decisions, as RIS or CSV; both re-import with the
decisions.

RIS carries the decision as the ASReview label note (``ASReview_relevant`` / ``_irrelevant`` /
``_not_seen``) first among the N1 notes, then screenwise's own notes (decision, reviewer,
reason, note, themes), and the study type's label in ``M3``; a PMID goes in ``AN`` with
``DB  - PubMed``, as reference managers write it, and records carry no counter lines. CSV has
one column per field with ``label_included`` 1/0/empty and the record's ``study_type``, and is
safe to open in a spreadsheet: cells that would start a formula are quoted with ``'`` (OWASP
"CSV injection"). Its last column, ``screenwise_export``, tells the reader the file is
screenwise's own: the quotes it added come off, and the decision, its reason and note, the
themes and the study type are restored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import rispy

from classifier.studytype import LABELS as STUDY_TYPE_LABELS
from index.readers import EXPORT_MARKER, EXPORT_VERSION, RIS_NOTE_LABELS

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
    "study_type",
    "source_file",
    "selected_for",  # the themes whose final selection of sources holds the record
    EXPORT_MARKER,
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LABEL_NOTE = {label: note for note, label in RIS_NOTE_LABELS.items()}


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the ``1.`` line it puts before each record (no RIS tag)."""

    def set_header(self, count: int) -> str:
        return ""


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
            "study_type": record.get("study_type") or "",
            "selected_for": "; ".join(record.get("selected_for", [])),
            EXPORT_MARKER: EXPORT_VERSION,
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
    if record.get("selected_for"):
        notes.append(f"screenwise selected for: {'; '.join(record['selected_for'])}")
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
            "accession_number": record.get("pmid", ""),
            "name_of_database": "PubMed" if record.get("pmid") else "",
            "urls": [record["url"]] if record.get("url") else [],
            "keywords": record["keywords"],
            # M3, type of work: the study type's label (re-import reads it back).
            "type_of_work": STUDY_TYPE_LABELS.get(record.get("study_type") or "", ""),
            "notes": _ris_notes(record),
        }
        # A line break inside a value would end its tag: every value is one line.
        entry = {
            key: [_one_line(v) for v in value if v.strip()]
            if isinstance(value, list) and key != "notes"
            else _one_line(value)
            if isinstance(value, str)
            else value
            for key, value in entry.items()
        }
        entries.append({key: value for key, value in entry.items() if value})
    return rispy.dumps(entries, implementation=_RisWriter)
