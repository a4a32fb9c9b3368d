"""The store's synthesis tables (schema 4): themes accepted from discovery with the records
they suggest, and the representative records a maintainer selected per theme.

A mixin of ``Store``: its methods use the store's transaction, reads and audit trail.
Suggestions are not theme labels: a record keeps its labels (``theme_labels``) whatever is
suggested, and a reviewer confirms a suggestion by labelling the record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ConflictError, NotFoundError, ValidationError


@dataclass(frozen=True)
class DiscoveredTheme:
    """A theme to create from discovery: its name, description and suggested records with
    their scores (cosine to the discovered theme's centre)."""

    name: str
    description: str
    records: Sequence[tuple[int, float]]
    proposals: Sequence[int] = ()


class SynthesisStore:
    """Discovery suggestions and selected picks (mixed into ``Store``)."""

    def accept_discovered(
        self, project_id: int, themes: Sequence[DiscoveredTheme], *, actor: str = ""
    ) -> list[dict[str, Any]]:
        """Create ``themes`` after the project's others, each with its records as
        suggestions, in one transaction: a name already taken (or given twice) refuses them
        all with ``ConflictError``. Returns each theme's name and suggested records."""
        names = [theme.name.strip() for theme in themes]
        if not names:
            raise ValidationError("accept at least one proposal", field="themes")
        for name in names:
            if not name:
                raise ValidationError("a theme needs a name", field="name")
        if len(set(names)) != len(names):
            raise ConflictError("two accepted themes have the same name")
        created = _now()
        out = []
        with self.transaction() as conn:  # type: ignore[attr-defined]
            self._live_project(conn, project_id)  # type: ignore[attr-defined]
            for name, theme in zip(names, themes, strict=True):
                if conn.execute(
                    "SELECT 1 FROM themes WHERE project_id = ? AND name = ?", (project_id, name)
                ).fetchone():
                    raise ConflictError(f"the project already has a theme named {name!r}")
                theme_id = conn.execute(
                    "INSERT INTO themes (project_id, name, description, position)"
                    " SELECT ?, ?, ?, coalesce(max(position) + 1, 0) FROM themes"
                    " WHERE project_id = ?",
                    (project_id, name, theme.description, project_id),
                ).lastrowid
                known = _known_records(conn, project_id, [r for r, _ in theme.records])
                conn.executemany(
                    "INSERT INTO theme_suggestions (project_id, theme_id, record_id, score,"
                    " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (project_id, theme_id, record_id, float(score), actor, created)
                        for record_id, score in theme.records
                        if record_id in known
                    ],
                )
                self._audit(  # type: ignore[attr-defined]
                    conn,
                    project_id,
                    actor,
                    "theme.discover",
                    {
                        "name": name,
                        "description": theme.description,
                        "proposals": list(theme.proposals),
                        "suggested": len(known),
                    },
                )
                out.append(
                    {"name": name, "description": theme.description, "suggested": len(known)}
                )
        return out

    def discovered_suggestions(self, project_id: int) -> dict[str, dict[int, float]]:
        """Per theme name: the records discovery suggested for it, with their scores."""
        rows = self._query(  # type: ignore[attr-defined]
            "SELECT t.name, s.record_id, s.score FROM theme_suggestions s"
            " JOIN themes t ON t.theme_id = s.theme_id WHERE s.project_id = ?"
            " ORDER BY t.position, s.score DESC",
            (project_id,),
        )
        out: dict[str, dict[int, float]] = {}
        for name, record_id, score in rows:
            out.setdefault(name, {})[int(record_id)] = float(score)
        return out

    def selected_picks(self, project_id: int) -> list[dict[str, Any]]:
        """The selected picks, by theme (in the project's order), oldest first."""
        rows = self._query(  # type: ignore[attr-defined]
            "SELECT t.name AS theme, p.record_id, p.reason, p.picked_by, p.picked_at"
            " FROM theme_picks p JOIN themes t ON t.theme_id = p.theme_id"
            " WHERE p.project_id = ? ORDER BY t.position, p.picked_at, p.record_id",
            (project_id,),
        )
        return [dict(row) for row in rows]

    def select_pick(
        self, project_id: int, theme: str, record_id: int, *, reason: str = "", actor: str = ""
    ) -> bool:
        """Mark ``record_id`` selected for ``theme``; False when it already was."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            theme_id = _theme_id(conn, project_id, theme)
            if not _known_records(conn, project_id, [record_id]):
                raise NotFoundError(f"no record {record_id!r} in this project")
            added = conn.execute(
                "INSERT OR IGNORE INTO theme_picks (project_id, theme_id, record_id, reason,"
                " picked_by, picked_at) VALUES (?, ?, ?, ?, ?, ?)",
                (project_id, theme_id, record_id, reason, actor, _now()),
            ).rowcount
            if added:
                self._audit(  # type: ignore[attr-defined]
                    conn,
                    project_id,
                    actor,
                    "pick.select",
                    {"theme": theme, "record_id": record_id, "reason": reason},
                )
        return bool(added)

    def unselect_pick(
        self, project_id: int, theme: str, record_id: int, *, actor: str = ""
    ) -> None:
        """Unmark a selected pick; ``NotFoundError`` when it was not selected."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            theme_id = _theme_id(conn, project_id, theme)
            removed = conn.execute(
                "DELETE FROM theme_picks WHERE theme_id = ? AND record_id = ?",
                (theme_id, record_id),
            ).rowcount
            if not removed:
                raise NotFoundError(f"record {record_id!r} is not selected for theme {theme!r}")
            self._audit(  # type: ignore[attr-defined]
                conn, project_id, actor, "pick.unselect", {"theme": theme, "record_id": record_id}
            )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # as ``store.now``


def _theme_id(conn: sqlite3.Connection, project_id: int, theme: str) -> int:
    row = conn.execute(
        "SELECT theme_id FROM themes t JOIN projects p USING (project_id)"
        " WHERE t.project_id = ? AND t.name = ? AND p.archived_at IS NULL",
        (project_id, theme),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no theme {theme!r} in this project")
    return int(row[0])


def _known_records(conn: sqlite3.Connection, project_id: int, ids: Sequence[int]) -> set[int]:
    known: set[int] = set()
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        known.update(
            int(row[0])
            for row in conn.execute(
                f"SELECT record_id FROM records WHERE project_id = ? AND record_id IN ({marks})",
                (project_id, *chunk),
            )
        )
    return known
