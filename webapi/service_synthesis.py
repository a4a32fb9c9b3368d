"""Synthesis: themes discovered from a project's records, and representative picks per theme.

- ``theme_proposals``: candidate themes for the records a filter selects (the included ones
  by default): ``classifier.discovery.discover_themes`` over their stored vectors (never
  embedding in the request), with distinctive terms, size and representative titles.
  Proposals carry a ``key`` (a digest of the records and vectors they came from); accepting
  checks it, so that a team accepts what it saw.
- ``accept_proposals``: a maintainer makes proposals project themes (renamed, several merged
  into one, or left out), with their records stored as suggestions, not labels.
- ``theme_picks``: per theme, the most representative and varied records by maximal marginal
  relevance (``classifier.picks``), reviews first on request, each with its reason, beside
  the maintainer's selection (``select_pick``), which the export and ``selection_counts``
  report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from classifier.discovery import DEFAULT_METHOD, MIN_RECORDS, Discovery, discover_themes
from classifier.picks import N_PICKS, is_review, pick_representatives
from index.consensus import Viewer
from index.errors import ConflictError, NotFoundError, TooLargeError, ValidationError
from index.records import embedding_text
from index.store import STAGES
from index.synthesis import DiscoveredTheme

DISCOVERY_FILTERS = ("included", "all", "screened", "unscreened", "excluded")
# Discovery clusters in the request: Ward's tree and the silhouette grow with the square of
# the records (``bench/discovery.py --sizes``: 2,016 records in 5 s, 5,000 in 24 s, on 2
# shared cores at load 10). A larger set is refused with 413: narrow the filter.
MAX_DISCOVERY_RECORDS = 3000
MAX_PICKS = 50
_PROPOSALS_KEPT = 8  # (project, filter) discoveries kept in memory


class SynthesisService:
    """Theme discovery and representative picks (mixed into ``Screenwise``)."""

    def _filtered_ids(
        self, project_id: int, filter: str, stage: str = "title_abstract"
    ) -> set[int]:
        """The embedded records ``filter`` selects by their final decision at ``stage`` (what
        every member may see, so proposals are the same whoever asks)."""
        if filter not in DISCOVERY_FILTERS:
            raise ValidationError(
                f"filter must be one of {', '.join(DISCOVERY_FILTERS)}", field="filter"
            )
        if stage not in STAGES:
            raise ValidationError(f"stage must be one of {', '.join(STAGES)}", field="stage")
        state = self.vectors(project_id)  # type: ignore[attr-defined]
        embedded = {int(i) for i in state.ids}
        if filter == "all":
            return embedded
        final = self.store.final_decisions(project_id, stage)  # type: ignore[attr-defined]
        if filter == "unscreened":
            return embedded - set(final)
        label = {"included": "include", "excluded": "exclude"}.get(filter)
        return embedded & {i for i, d in final.items() if label is None or d["label"] == label}

    def _discovery(
        self, project_id: int, filter: str, stage: str, theme: str | None = None
    ) -> tuple[str, np.ndarray, Discovery]:
        """The discovery for the records ``filter`` selects (of ``theme`` alone, when
        given: its sub-themes): (key, record ids, result), computed once per state of those
        records and their vectors."""
        selected = self._filtered_ids(project_id, filter, stage)
        if theme is not None:
            if theme not in {t.name for t in self.project(project_id).themes}:  # type: ignore[attr-defined]
                raise NotFoundError(f"no theme {theme!r} in this project")
            # Labels every member may see (final records' and imported ones) and suggestions.
            selected &= self._members(project_id, None, final=True).get(theme, set())
        ids = np.array(sorted(selected), dtype=np.int64)
        if len(ids) > MAX_DISCOVERY_RECORDS:
            raise TooLargeError(
                f"theme discovery takes at most {MAX_DISCOVERY_RECORDS} records; the filter "
                f"{filter!r} selects {len(ids)}: choose a narrower filter (included records)"
            )
        if len(ids) < MIN_RECORDS:
            raise ValidationError(
                f"theme discovery needs at least {MIN_RECORDS} embedded records; the filter "
                f"{filter!r} selects {len(ids)}",
                field="filter",
            )
        state = self.vectors(project_id)  # type: ignore[attr-defined]
        rows = np.array([state.rows[int(i)] for i in ids])
        X = state.matrix[rows]
        digest = hashlib.sha256(ids.tobytes())
        digest.update(np.ascontiguousarray(X).tobytes())
        key = digest.hexdigest()[:16]
        cache = self._discoveries  # type: ignore[attr-defined]
        with self._lock:  # type: ignore[attr-defined]
            hit = cache.get((project_id, filter, stage, theme))
        if hit is not None and hit[0] == key:
            return hit
        texts = self._texts_of(project_id, ids.tolist())
        found = discover_themes(X, [texts[int(i)] for i in ids], method=DEFAULT_METHOD)
        result = (key, ids, found)
        with self._lock:  # type: ignore[attr-defined]
            cache[(project_id, filter, stage, theme)] = result
            while len(cache) > _PROPOSALS_KEPT:
                cache.pop(next(iter(cache)))
        return result

    def theme_proposals(
        self,
        project: str | int,
        *,
        filter: str = "included",
        stage: str = "title_abstract",
        theme: str | None = None,
    ) -> dict[str, Any]:
        """Candidate themes for the records ``filter`` selects by their final decision at
        ``stage`` (within ``theme``, when given), largest first."""
        target = self.project(project)  # type: ignore[attr-defined]
        key, ids, found = self._discovery(target.project_id, filter, stage, theme)
        titles = {
            r["record_id"]: r
            for r in self.store.records_by_id(  # type: ignore[attr-defined]
                target.project_id,
                sorted({int(ids[row]) for p in found.proposals for row in p.representatives}),
            )
        }
        taken = {theme.name for theme in target.themes}
        return {
            "key": key,
            "filter": filter,
            "stage": stage,
            "theme": theme,
            "records": len(ids),
            "method": found.method,
            "k": found.k,
            "silhouette": None if found.silhouette is None else round(found.silhouette, 4),
            "proposals": [
                {
                    "proposal_id": p.index,
                    "name": p.name(),
                    "name_taken": p.name() in taken,
                    "description": p.description(),
                    "size": p.size,
                    "overlapping": p.overlapping,
                    "terms": [{"term": term, "weight": weight} for term, weight in p.terms],
                    "titles": [
                        {
                            "record_id": int(ids[row]),
                            "title": titles[int(ids[row])]["title"],
                            "year": titles[int(ids[row])]["year"],
                        }
                        for row in p.representatives
                    ],
                }
                for p in found.proposals
            ],
        }

    def accept_proposals(
        self,
        project: str | int,
        *,
        key: str,
        themes: Sequence[dict[str, Any]],
        filter: str = "included",
        stage: str = "title_abstract",
        theme: str | None = None,
        actor: str = "",
    ) -> dict[str, Any]:
        """Create a theme for each entry of ``themes`` (``proposals``: the proposal ids it
        takes, merged when several; ``name`` and ``description`` default to the first
        proposal's), with the proposals' records as suggestions. A proposal left out is
        dropped. ``ConflictError`` when the records changed since ``key`` was read."""
        target = self.project(project)  # type: ignore[attr-defined]
        current, ids, found = self._discovery(target.project_id, filter, stage, theme)
        if key != current:
            raise ConflictError(
                "the records changed since these proposals were made: load them again"
            )
        by_id = {p.index: p for p in found.proposals}
        used: set[int] = set()
        accepted = []
        for entry in themes:
            chosen = list(dict.fromkeys(int(i) for i in entry["proposals"]))
            unknown = [i for i in chosen if i not in by_id]
            if not chosen or unknown:
                raise ValidationError(
                    f"no proposal {unknown[0]!r}" if unknown else "name at least one proposal",
                    field="proposals",
                )
            if used & set(chosen):
                raise ValidationError(
                    f"proposal {sorted(used & set(chosen))[0]} is accepted twice",
                    field="proposals",
                )
            used |= set(chosen)
            first = by_id[chosen[0]]
            scores: dict[int, float] = {}
            for i in chosen:
                p = by_id[i]
                for row, score in zip(p.members, p.similarity, strict=True):
                    rid = int(ids[row])
                    scores[rid] = max(scores.get(rid, -1.0), round(float(score), 4))
            name = entry.get("name") or first.name()
            description = entry.get("description")
            if description is None:
                description = (
                    first.description()
                    if len(chosen) == 1
                    else "Records about "
                    + "; ".join(", ".join(t for t, _ in by_id[i].terms[:4]) for i in chosen)
                    + "."
                )
            accepted.append(DiscoveredTheme(name, description, list(scores.items()), chosen))
        created = self.store.accept_discovered(  # type: ignore[attr-defined]
            target.project_id, accepted, actor=actor
        )
        self._themes_changed(target.project_id)  # type: ignore[attr-defined]
        return {"themes": created, "project": self.project(target.project_id).to_dict()}  # type: ignore[attr-defined]

    def discovered_for(self, project_id: int) -> dict[int, dict[str, float]]:
        """Per record: the discovered themes suggested for it, with their scores."""
        out: dict[int, dict[str, float]] = {}
        for theme, records in self.store.discovered_suggestions(project_id).items():  # type: ignore[attr-defined]
            for rid, score in records.items():
                out.setdefault(rid, {})[theme] = score
        return out

    def _members(
        self, project_id: int, viewer: Viewer | None, *, final: bool = False
    ) -> dict[str, set[int]]:
        """Per theme: the records labelled with it (as ``viewer`` may see; ``final``: as
        every member may) or suggested for it by discovery."""
        members: dict[str, set[int]] = {}
        labels = self.store.current_themes(project_id, viewer=viewer, final=final)  # type: ignore[attr-defined]
        for rid, names in labels.items():
            for name in names:
                members.setdefault(name, set()).add(rid)
        for name, records in self.store.discovered_suggestions(project_id).items():  # type: ignore[attr-defined]
            members.setdefault(name, set()).update(records)
        return members

    def _texts_of(self, project_id: int, ids: Sequence[int]) -> dict[int, str]:
        """Title + abstract of these records (as embedded): never the whole corpus."""
        records = self.store.records_by_id(project_id, list(ids))  # type: ignore[attr-defined]
        return {r["record_id"]: embedding_text(r["title"], r["abstract"]) for r in records}

    def _study_types(self, project_id: int) -> dict[int, str]:
        # The records' study types (``index.study_types``); a record not typed yet is told a
        # review by its title and abstract (``classifier.picks.REVIEW_PATTERN``).
        typed = self.store.study_types(project_id)
        return {record_id: t["study_type"] for record_id, t in typed.items()}

    def theme_picks(
        self,
        project: str | int,
        *,
        theme: str | None = None,
        n: int = N_PICKS,
        reviews_first: bool = False,
        filter: str = "included",
        stage: str = "title_abstract",
        viewer: Viewer | None = None,
    ) -> list[dict[str, Any]]:
        """Per theme (or ``theme`` alone): up to ``n`` representative records of its members
        among those ``filter`` selects, in pick order with their reasons, and the records a
        maintainer selected."""
        if not 1 <= n <= MAX_PICKS:
            raise ValidationError(f"n must be between 1 and {MAX_PICKS}", field="n")
        target = self.project(project)  # type: ignore[attr-defined]
        pid = target.project_id
        names = [t.name for t in target.themes]
        if theme is not None:
            if theme not in names:
                raise NotFoundError(f"no theme {theme!r} in project {target.name!r}")
            names = [theme]
        allowed = self._filtered_ids(pid, filter, stage)
        members = self._members(pid, viewer)
        state = self.vectors(pid)  # type: ignore[attr-defined]
        study_types = self._study_types(pid)
        selected: dict[str, list[dict[str, Any]]] = {}
        for row in self.store.selected_picks(pid):  # type: ignore[attr-defined]
            selected.setdefault(row["theme"], []).append(row)
        wanted = {i for name in names for i in members.get(name, set()) & allowed}
        wanted |= {row["record_id"] for rows in selected.values() for row in rows}
        texts = self._texts_of(pid, sorted(wanted))
        out = []
        for name in names:
            ids = sorted(members.get(name, set()) & allowed)
            X = state.matrix[[state.rows[i] for i in ids]] if ids else np.zeros((0, 1))
            reviews = is_review([texts.get(i, "") for i in ids], ids, study_types)
            picks = pick_representatives(X, n, reviews=reviews, reviews_first=reviews_first)
            picked_ids = [ids[p.row] for p in picks]
            chosen = selected.get(name, [])
            records = {
                r["record_id"]: r
                for r in self.store.records_by_id(  # type: ignore[attr-defined]
                    pid, sorted(set(picked_ids) | {s["record_id"] for s in chosen})
                )
            }
            chosen_ids = {s["record_id"] for s in chosen}
            review_of = dict(zip(ids, reviews.tolist(), strict=True))
            out.append(
                {
                    "theme": name,
                    "members": len(ids),
                    "reviews": int(reviews.sum()),
                    "picks": [
                        {
                            "record_id": rid,
                            "title": records[rid]["title"],
                            "year": records[rid]["year"],
                            "order": p.order,
                            "review": p.review,
                            "centrality": p.centrality,
                            "redundancy": p.redundancy,
                            "reason": p.reason,
                            "selected": rid in chosen_ids,
                        }
                        for p, rid in zip(picks, picked_ids, strict=True)
                    ],
                    "selected": [
                        {
                            "record_id": s["record_id"],
                            "title": records[s["record_id"]]["title"],
                            "year": records[s["record_id"]]["year"],
                            "review": bool(
                                review_of.get(s["record_id"])
                                if s["record_id"] in review_of
                                else is_review(
                                    [texts.get(s["record_id"], "")], [s["record_id"]], study_types
                                )[0]
                            ),
                            "reason": s["reason"],
                            "picked_by": s["picked_by"],
                            "picked_at": s["picked_at"],
                        }
                        for s in chosen
                    ],
                }
            )
        return out

    def select_pick(
        self, project: str | int, theme: str, record_id: int, *, reason: str = "", actor: str = ""
    ) -> dict[str, Any]:
        """Mark a record selected for a theme (again: nothing changes)."""
        pid = self.project(project).project_id  # type: ignore[attr-defined]
        self.store.select_pick(pid, theme, record_id, reason=reason, actor=actor)  # type: ignore[attr-defined]
        return self.selection_counts(pid)

    def unselect_pick(
        self, project: str | int, theme: str, record_id: int, *, actor: str = ""
    ) -> dict[str, Any]:
        pid = self.project(project).project_id  # type: ignore[attr-defined]
        self.store.unselect_pick(pid, theme, record_id, actor=actor)  # type: ignore[attr-defined]
        return self.selection_counts(pid)

    def selection_counts(self, project: str | int) -> dict[str, Any]:
        """The final selection's counts, as a synthesis reports them ("26 sources selected
        within the themes, 7 of them reviews"): per theme, and distinct records overall."""
        target = self.project(project)  # type: ignore[attr-defined]
        pid = target.project_id
        rows = self.store.selected_picks(pid)  # type: ignore[attr-defined]
        study_types = self._study_types(pid)
        distinct = sorted({r["record_id"] for r in rows})
        texts = self._texts_of(pid, distinct)
        reviews = dict(
            zip(
                distinct,
                is_review([texts.get(i, "") for i in distinct], distinct, study_types).tolist(),
                strict=True,
            )
        )
        per_theme = []
        for theme in target.themes:
            ids = [r["record_id"] for r in rows if r["theme"] == theme.name]
            per_theme.append(
                {
                    "theme": theme.name,
                    "selected": len(ids),
                    "reviews": sum(1 for i in ids if reviews[i]),
                }
            )
        return {
            "selected": len(distinct),
            "reviews": sum(1 for i in distinct if reviews[i]),
            "themes": per_theme,
        }

    def selected_themes(self, project_id: int) -> dict[int, list[str]]:
        """Per record: the themes it is a selected pick of (for the export)."""
        out: dict[int, list[str]] = {}
        for row in self.store.selected_picks(project_id):  # type: ignore[attr-defined]
            out.setdefault(row["record_id"], []).append(row["theme"])
        return out

    def with_discovered(
        self, project_id: int, record_ids: Sequence[int], theme_lists: list[list[dict[str, Any]]]
    ) -> list[list[dict[str, Any]]]:
        """Each record's theme suggestions with discovery's added: a theme discovery
        suggested for the record is ``suggested`` (and ``discovered``) whatever the theme
        model says; a theme missing from the list (a record not embedded) is added."""
        discovered = self.discovered_for(project_id)
        if not discovered:
            return theme_lists
        out = []
        for rid, themes in zip(record_ids, theme_lists, strict=True):
            found = discovered.get(int(rid), {})
            merged = [
                t | {"suggested": True, "discovered": True} if t["theme"] in found else t
                for t in themes
            ]
            listed = {t["theme"] for t in themes}
            merged += [
                {"theme": name, "score": round(score, 4), "suggested": True, "discovered": True}
                for name, score in found.items()
                if name not in listed
            ]
            out.append(merged)
        return out
