"""The store's study types (part of ``Store``): each non-duplicate record's publication / study
type, where it came from (``metadata``, ``model``, ``reviewer``), and a reviewer's correction.

The types themselves and how they are read are ``classifier.studytype``'s; the store only
keeps them (the service fills them in the import job)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .errors import NotFoundError, ValidationError

# The same names as classifier.studytype.STUDY_TYPES (index imports no classifier); the
# table's CHECK holds them too.
STUDY_TYPES: tuple[str, ...] = (
    "review",
    "rct",
    "quantitative",
    "qualitative",
    "guideline",
    "other",
)
SOURCES: tuple[str, ...] = ("metadata", "model", "reviewer")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class StudyTypeStore:
    """Study-type reads and writes, mixed into ``Store``."""

    def study_types(self, project_id: int) -> dict[int, dict[str, str]]:
        """``record_id -> {"study_type", "source"}`` of every typed record of a project."""
        rows = self._query(
            "SELECT record_id, study_type, source FROM record_study_types WHERE project_id = ?",
            (project_id,),
        )
        return {int(r[0]): {"study_type": r[1], "source": r[2]} for r in rows}

    def study_type_counts(self, project_id: int) -> dict[str, int]:
        """Non-duplicate records per study type; ``None`` counts those not typed yet."""
        rows = self._query(
            "SELECT t.study_type, COUNT(*) FROM records r LEFT JOIN record_study_types t"
            " USING (record_id) WHERE r.project_id = ? AND r.duplicate_of IS NULL"
            " GROUP BY t.study_type",
            (project_id,),
        )
        return {r[0]: int(r[1]) for r in rows}

    def typing_inputs(self, project_id: int) -> list[dict[str, Any]]:
        """What the study-type pass reads of each non-duplicate record, by record id:
        ``record_id``, ``title``, ``abstract``, ``ref_type``, ``extra`` and its current
        ``study_type`` and ``source`` (``None`` when untyped)."""
        rows = self._query(
            "SELECT r.record_id, r.title, r.abstract, r.ref_type, r.extra, t.study_type,"
            " t.source FROM records r LEFT JOIN record_study_types t USING (record_id)"
            " WHERE r.project_id = ? AND r.duplicate_of IS NULL ORDER BY r.record_id",
            (project_id,),
        )
        return [
            {
                "record_id": int(r[0]),
                "title": r[1],
                "abstract": r[2],
                "ref_type": r[3],
                "extra": json.loads(r[4]),
                "study_type": r[5],
                "source": r[6],
            }
            for r in rows
        ]

    def put_study_types(
        self, project_id: int, types: Iterable[tuple[int, str, str]], *, replace_model: bool = False
    ) -> int:
        """Store ``(record_id, study_type, source)`` rows from a classifier pass, in one
        transaction. A record already typed keeps its type, except that ``replace_model``
        lets a new model type replace an earlier model's; a reviewer's correction is never
        replaced. Returns the rows written."""
        written = 0
        stamp = _now()
        with self.transaction() as conn:
            for record_id, study_type, source in types:
                if study_type not in STUDY_TYPES or source not in ("metadata", "model"):
                    raise ValidationError(f"bad study type {study_type!r} / source {source!r}")
                current = conn.execute(
                    "SELECT source FROM record_study_types WHERE record_id = ?", (record_id,)
                ).fetchone()
                if current is not None and not (
                    replace_model and current[0] == "model" and source == "model"
                ):
                    continue
                conn.execute(
                    "INSERT INTO record_study_types (record_id, project_id, study_type, source,"
                    " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (record_id) DO UPDATE SET"
                    " study_type = excluded.study_type, source = excluded.source,"
                    " updated_at = excluded.updated_at",
                    (record_id, project_id, study_type, source, stamp),
                )
                written += 1
        return written

    def correct_study_type(
        self, project_id: int, record_id: int, study_type: str, *, actor: str
    ) -> dict[str, str]:
        """A reviewer's study type for a record (``source`` ``reviewer``), kept over any
        classifier pass and written to the audit trail with the type it replaces."""
        if study_type not in STUDY_TYPES:
            raise ValidationError(
                f"study_type must be one of {', '.join(STUDY_TYPES)}", field="study_type"
            )
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT r.duplicate_of, t.study_type, t.source FROM records r LEFT JOIN"
                " record_study_types t USING (record_id) WHERE r.project_id = ?"
                " AND r.record_id = ?",
                (project_id, record_id),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no record {record_id!r} in project {project_id!r}")
            if row[0] is not None:
                raise ValidationError(
                    f"record {record_id} duplicates record {row[0]}: type that one",
                    field="record_id",
                )
            conn.execute(
                "INSERT INTO record_study_types (record_id, project_id, study_type, source,"
                " updated_by, updated_at) VALUES (?, ?, ?, 'reviewer', ?, ?)"
                " ON CONFLICT (record_id) DO UPDATE SET study_type = excluded.study_type,"
                " source = 'reviewer', updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                (record_id, project_id, study_type, actor, _now()),
            )
            self._audit(
                conn,
                project_id,
                actor,
                "study_type",
                {
                    "record_id": record_id,
                    "study_type": study_type,
                    "previous": row[1],
                    "previous_source": row[2],
                },
            )
        return {"study_type": study_type, "source": "reviewer"}
