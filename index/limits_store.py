"""The store's part in the search limits: where each record stands against the project's limits,
and the one action that excludes the unscreened records outside them (``index.limits``).

A mixin of ``Store`` (kept apart so that ``store.py`` does not grow): it uses the store's
transaction, states and audit trail, and adds no table. The exclusions are decisions like any
other (append-only), by the automation reviewer, of origin ``prior``: final in either screening
mode, shown on the record with their reason, and withdrawn the same way (a ``prior``
``undecided``) when the limits no longer leave the record out.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .limits import AUTOMATION_REVIEWER, LIMITS_REASON, SearchLimits, Verdict, is_limit_exclusion

if TYPE_CHECKING:
    import sqlite3

    from .store import Store

_STAGE = "title_abstract"
_AUDITED = ("excluded", "excluded_ids", "restored", "restored_ids")


class SearchLimitsStore:
    """``Store`` methods for the protocol's search limits."""

    def limits(self: Store, project_id: int) -> SearchLimits:
        """The project's current limits (inactive when it has none)."""
        return SearchLimits.of(self.project(project_id, archived=True).settings)

    def limit_verdicts(self: Store, project_id: int) -> dict[int, Verdict]:
        """Each non-duplicate record's verdict against the current limits, by record id."""
        with self._reading() as conn:
            return _verdicts(conn, project_id, self.limits(project_id))

    def limits_report(self: Store, project_id: int) -> dict[str, Any]:
        """How the project's records stand against its limits: ``within``, ``outside`` and
        ``unknown`` (a limited field the record does not give: never outside on that account),
        and of those outside, how many the automation has ``removed`` (excluded before
        screening), how many wait for the maintainer's action (``to_exclude``: nobody has
        screened them) and how many reviewers have screened already (``screened``: they keep
        their decisions); ``to_restore``: exclusions the current limits no longer justify."""
        limits = self.limits(project_id)
        verdicts = self.limit_verdicts(project_id)
        states = self.states(project_id, _STAGE)
        plan = _plan(verdicts, states)
        by_reason = {"year": 0, "language": 0}
        for verdict in verdicts.values():
            for reason in verdict.reasons:
                by_reason["language" if reason.startswith("language") else "year"] += 1
        return {
            "active": limits.active,
            "limits": {
                "years_from": limits.years_from,
                "years_to": limits.years_to,
                "languages": list(limits.languages),
            },
            "records": len(verdicts),
            "within": sum(v.status == "within" for v in verdicts.values()),
            "outside": sum(v.status == "outside" for v in verdicts.values()),
            "unknown": sum(v.status == "unknown" for v in verdicts.values()),
            "unknown_year": sum("year" in v.unknown for v in verdicts.values()),
            "unknown_language": sum("language" in v.unknown for v in verdicts.values()),
            "outside_by_reason": by_reason,
            "removed": len(plan["removed"]),
            "to_exclude": len(plan["exclude"]),
            "to_exclude_ids": plan["exclude"],
            "screened": len(plan["screened"]),
            "screened_ids": plan["screened"],
            "to_restore": len(plan["restore"]),
            "to_restore_ids": plan["restore"],
            "reason": LIMITS_REASON,
        }

    def apply_limits(self: Store, project_id: int, *, actor: str = "") -> dict[str, Any]:
        """Exclude, in one transaction, every unscreened record outside the current limits
        (decisions by ``AUTOMATION_REVIEWER``, origin ``prior``, reason ``LIMITS_REASON``, the
        broken limit in the note) and withdraw the automation's exclusions the limits no longer
        justify. Idempotent: a second call changes nothing. Records a reviewer has decided are
        left as they are and counted (``screened``). One audit event, ``limits.apply``."""
        from .store import now  # store.py imports this module

        with self.transaction() as conn:
            self._live_project(conn, project_id)
            limits = SearchLimits.of(
                json.loads(
                    conn.execute(
                        "SELECT settings FROM projects WHERE project_id = ?", (project_id,)
                    ).fetchone()[0]
                )
            )
            verdicts = _verdicts(conn, project_id, limits)
            plan = _plan(verdicts, self.states(project_id, _STAGE))
            created = now()
            rows = [
                (rid, "exclude", LIMITS_REASON, "; ".join(verdicts[rid].reasons))
                for rid in plan["exclude"]
            ] + [(rid, "undecided", "", "within the search limits now") for rid in plan["restore"]]
            conn.executemany(
                "INSERT INTO decisions (project_id, record_id, stage, label, reviewer, origin,"
                " reason, note, created_at) VALUES (?, ?, ?, ?, ?, 'prior', ?, ?, ?)",
                [
                    (project_id, rid, _STAGE, label, AUTOMATION_REVIEWER, reason, note, created)
                    for rid, label, reason, note in rows
                ],
            )
            result = {
                "excluded": len(plan["exclude"]),
                "excluded_ids": plan["exclude"],
                "restored": len(plan["restore"]),
                "restored_ids": plan["restore"],
                "screened": len(plan["screened"]),
                "screened_ids": plan["screened"],
                "removed": len(plan["removed"]) + len(plan["exclude"]),
                "unknown": sum(v.status == "unknown" for v in verdicts.values()),
                "reason": LIMITS_REASON,
            }
            if rows:
                self._audit(
                    conn,
                    project_id,
                    actor,
                    "limits.apply",
                    {
                        "limits": {
                            "years_from": limits.years_from,
                            "years_to": limits.years_to,
                            "languages": list(limits.languages),
                        },
                        "reviewer": AUTOMATION_REVIEWER,
                        "reason": LIMITS_REASON,
                    }
                    | {
                        k: result[k]
                        for k in ("excluded", "excluded_ids", "restored", "restored_ids")
                    },
                )
        return result


def _verdicts(
    conn: sqlite3.Connection, project_id: int, limits: SearchLimits
) -> dict[int, Verdict]:
    rows = conn.execute(
        "SELECT record_id, year, extra FROM records WHERE project_id = ? AND duplicate_of IS NULL"
        " ORDER BY record_id",
        (project_id,),
    ).fetchall()
    if not limits.active:
        return {int(r[0]): Verdict("within") for r in rows}
    return {int(r[0]): limits.check_record({"year": r[1], "extra": json.loads(r[2])}) for r in rows}


def _plan(verdicts: dict[int, Verdict], states: dict[int, Any]) -> dict[str, list[int]]:
    """What applying the limits would do: records to ``exclude`` (outside, no decision by
    anyone), ``restore`` (excluded by the automation, not outside now), ``screened`` (outside
    but decided by a reviewer) and already ``removed`` (outside, excluded by the automation)."""
    plan: dict[str, list[int]] = {"exclude": [], "restore": [], "screened": [], "removed": []}
    for rid, verdict in verdicts.items():
        state = states.get(rid)
        automated = state is not None and is_limit_exclusion(state.final)
        if verdict.status == "outside":
            if automated:
                plan["removed"].append(rid)
            elif state is None or (state.status == "unscreened" and not state.current):
                plan["exclude"].append(rid)
            else:
                plan["screened"].append(rid)
        elif automated:
            plan["restore"].append(rid)
    return plan
